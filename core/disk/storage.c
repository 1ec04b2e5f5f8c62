/* A torrent's storage: its save path and file paths, lazily created files
 * (sparse or fully allocated), and byte-range I/O that splits a block across
 * the files it spans with preadv/pwritev. */
#include "disk_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define SLICES_ON_STACK 16
#define IOV_ON_STACK 8

int sw__disk_storage_new(sw_disk_pool *pool, sw_torrent_info *ti, const char *save_path,
                         sw_storage_mode mode, sw_storage **st_out)
{
    if (!pool || !ti || !save_path || !*save_path ||
        (mode != SW_STORAGE_SPARSE && mode != SW_STORAGE_ALLOCATE))
        return SW_ERR_INVALID_ARG;
    int nfiles = sw_torrent_info_num_files(ti);
    if (nfiles <= 0)
        return SW_ERR_INVALID_ARG;

    sw_storage *st = calloc(1, sizeof *st);
    if (!st)
        return SW_ERR_NOMEM;
    if (uv_mutex_init(&st->mu)) {
        free(st);
        return SW_ERR_NOMEM;
    }
    st->pool = pool;
    st->mode = mode;
    atomic_init(&st->refs, 1);
    atomic_init(&st->aborted, false);
    atomic_init(&st->empty_files_done, false);
    st->save_path = strdup(save_path);
    st->paths = calloc((size_t)nfiles, sizeof *st->paths);
    /* The table of pieces being hashed is made on first use
     * (piece_hash.c). */
    int rc = st->save_path && st->paths ? 0 : SW_ERR_NOMEM;
    for (int i = 0; rc == 0 && i < nfiles; i++) {
        const sw_file_entry *fe = sw_torrent_info_file(ti, i);
        if (fe->flags & SW_FILE_PAD)
            st->has_pad = true;
        st->paths[i] = strdup(fe->path);
        if (!st->paths[i])
            rc = SW_ERR_NOMEM;
    }
    if (rc) {
        for (int i = 0; st->paths && i < nfiles; i++)
            free(st->paths[i]);
        free(st->paths);
        free(st->pieces);
        free(st->save_path);
        uv_mutex_destroy(&st->mu);
        free(st);
        return rc;
    }
    st->ti = sw_torrent_info_ref(ti);
    *st_out = st;
    return 0;
}

sw_storage *sw__disk_storage_ref(sw_storage *st)
{
    atomic_fetch_add(&st->refs, 1);
    return st;
}

void sw__disk_storage_unref(sw_storage *st)
{
    if (!st || atomic_fetch_sub(&st->refs, 1) != 1)
        return;
    sw_disk_pool *pool = st->pool;
    /* No job holds st any more, so none of its descriptors is in use. */
    sw__disk_fpool_close(pool->files, st, -1);
    sw__disk_hash_free_all(st);
    int nfiles = sw_torrent_info_num_files(st->ti);
    for (int i = 0; i < nfiles; i++)
        free(st->paths[i]);
    free(st->paths);
    free(st->pieces);
    free(st->save_path);
    sw_torrent_info_unref(st->ti);
    uv_mutex_destroy(&st->mu);
    free(st);
}

void sw__disk_storage_abort(sw_storage *st)
{
    atomic_store(&st->aborted, true);
}

char *sw__disk_storage_save_path(sw_storage *st)
{
    uv_mutex_lock(&st->mu);
    char *p = strdup(st->save_path);
    uv_mutex_unlock(&st->mu);
    return p;
}

char *sw__disk_storage_file_path(sw_storage *st, int index)
{
    if (index < 0 || index >= sw_torrent_info_num_files(st->ti))
        return NULL;
    uv_mutex_lock(&st->mu);
    char *p = strdup(st->paths[index]);
    uv_mutex_unlock(&st->mu);
    return p;
}

sw_torrent_info *sw__disk_storage_info(const sw_storage *st)
{
    return st->ti;
}

/* ---- opening files ---- */

/* Brings a freshly opened read-write file to its full size: a hole in sparse
 * mode, allocated blocks in allocate mode. Never shrinks a file. */
static int prepare_size(sw_storage *st, int fd, int64_t size, sw_disk_op *op_out)
{
    struct stat sb;
    if (fstat(fd, &sb) != 0) {
        *op_out = SW_DISK_OP_STAT;
        return uv_translate_sys_error(errno);
    }
    if (st->mode == SW_STORAGE_ALLOCATE) {
        if (sb.st_blocks * 512 >= size)
            return 0;
        int e = posix_fallocate(fd, 0, (off_t)size);
        if (e != 0) {
            *op_out = SW_DISK_OP_ALLOCATE;
            return uv_translate_sys_error(e);
        }
        return 0;
    }
    if (sb.st_size >= size)
        return 0;
    if (ftruncate(fd, (off_t)size) != 0) {
        *op_out = SW_DISK_OP_TRUNCATE;
        return uv_translate_sys_error(errno);
    }
    return 0;
}

int sw__disk_storage_open_file(sw_storage *st, int index, bool write, int *fd_out,
                               sw_disk_error *err)
{
    const sw_file_entry *fe = sw_torrent_info_file(st->ti, index);
    uv_mutex_lock(&st->mu);
    char *rel = strdup(st->paths[index]);
    char *root = strdup(st->save_path);
    uv_mutex_unlock(&st->mu);
    int rc = 0;
    sw_disk_op op = SW_DISK_OP_OPEN;
    int rootfd = -1, parent = -1, fd = -1;
    const char *leaf = NULL;
    if (!rel || !root) {
        rc = SW_ERR_NOMEM;
        goto out;
    }
    if (!sw__disk_path_is_safe(rel)) {
        rc = SW_ERR_STORAGE;
        goto out;
    }
    rc = sw__disk_open_root(root, write, &rootfd, &op);
    if (rc)
        goto out;
    rc = sw__disk_walk_parent(rootfd, rel, write, &parent, &leaf, &op);
    if (rc)
        goto out;
    op = SW_DISK_OP_OPEN;
    int flags = O_CLOEXEC | O_NOFOLLOW | (write ? O_RDWR | O_CREAT : O_RDONLY);
    mode_t mode = (fe->flags & SW_FILE_EXECUTABLE) ? 0755 : 0644;
    fd = openat(parent, leaf, flags, mode);
    if (fd < 0) {
        rc = uv_translate_sys_error(errno);
        goto out;
    }
    struct stat sb;
    if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
        rc = SW_ERR_STORAGE; /* a folder or device where a file belongs */
        goto out;
    }
    if (write && fe->size > 0)
        rc = prepare_size(st, fd, fe->size, &op);
out:
    if (rc == 0) {
        *fd_out = fd;
    } else {
        if (fd >= 0)
            close(fd);
        sw__disk_set_error(err, rc, op, index);
    }
    if (parent >= 0)
        close(parent);
    if (rootfd >= 0)
        close(rootfd);
    free(rel);
    free(root);
    return rc;
}

int sw__disk_storage_create_empty_files(sw_storage *st, sw_disk_error *err)
{
    if (atomic_exchange(&st->empty_files_done, true))
        return 0;
    int n = sw_torrent_info_num_files(st->ti);
    for (int i = 0; i < n; i++) {
        const sw_file_entry *fe = sw_torrent_info_file(st->ti, i);
        if (fe->size != 0 || (fe->flags & (SW_FILE_PAD | SW_FILE_SYMLINK)))
            continue;
        int fd = -1;
        int rc = sw__disk_storage_open_file(st, i, true, &fd, err);
        if (rc)
            return rc;
        close(fd);
    }
    return 0;
}

/* ---- byte-range I/O ---- */

/* Fills out[] with the entries of iov that cover [from, from + len) of the
 * byte stream iov describes; returns the count (at most max). */
static int sub_iov(const struct iovec *iov, int iovcnt, size_t from, size_t len, struct iovec *out,
                   int max)
{
    int n = 0;
    size_t pos = 0;
    for (int i = 0; i < iovcnt && len > 0 && n < max; i++) {
        size_t l = iov[i].iov_len;
        if (pos + l <= from) {
            pos += l;
            continue;
        }
        size_t skip = from > pos ? from - pos : 0;
        size_t take = l - skip < len ? l - skip : len;
        out[n].iov_base = (uint8_t *)iov[i].iov_base + skip;
        out[n].iov_len = take;
        n++;
        len -= take;
        from += take;
        pos += l;
    }
    return n;
}

static void zero_iov(struct iovec *v, int n)
{
    for (int i = 0; i < n; i++)
        memset(v[i].iov_base, 0, v[i].iov_len);
}

/* Drops done bytes from the front of v[0..*n). */
static struct iovec *advance_iov(struct iovec *v, int *n, size_t done)
{
    while (*n > 0 && done >= v->iov_len) {
        done -= v->iov_len;
        v++;
        (*n)--;
    }
    if (*n > 0) {
        v->iov_base = (uint8_t *)v->iov_base + done;
        v->iov_len -= done;
    }
    return v;
}

/* All of one slice's bytes to or from one file. */
static int slice_io(int fd, bool write, int64_t off, struct iovec *v, int n, size_t len,
                    sw_disk_op *op_out)
{
    while (len > 0) {
        int cnt = n < IOV_MAX ? n : IOV_MAX;
        ssize_t r = write ? pwritev(fd, v, cnt, (off_t)off) : preadv(fd, v, cnt, (off_t)off);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            *op_out = write ? SW_DISK_OP_WRITE : SW_DISK_OP_READ;
            return uv_translate_sys_error(errno);
        }
        if (r == 0) {
            *op_out = write ? SW_DISK_OP_WRITE : SW_DISK_OP_READ;
            return write ? UV_EIO : UV_EOF; /* a read past the end: file too short */
        }
        len -= (size_t)r;
        off += r;
        v = advance_iov(v, &n, (size_t)r);
    }
    return 0;
}

int sw__disk_storage_io(sw_storage *st, bool write, int piece, int64_t offset,
                        const struct iovec *iov, int iovcnt, size_t len, sw_disk_error *err)
{
    sw_file_slice stack_slices[SLICES_ON_STACK];
    sw_file_slice *slices = stack_slices;
    int n = sw_torrent_info_map_block(st->ti, piece, offset, (int64_t)len, slices, SLICES_ON_STACK);
    if (n < 0) {
        sw__disk_set_error(err, n, write ? SW_DISK_OP_WRITE : SW_DISK_OP_READ, -1);
        return n;
    }
    if (n > SLICES_ON_STACK) {
        slices = malloc((size_t)n * sizeof *slices);
        if (!slices) {
            sw__disk_set_error(err, SW_ERR_NOMEM, SW_DISK_OP_NONE, -1);
            return SW_ERR_NOMEM;
        }
        int again = sw_torrent_info_map_block(st->ti, piece, offset, (int64_t)len, slices, n);
        if (again != n) {
            free(slices);
            sw__disk_set_error(err, SW_ERR_STORAGE, SW_DISK_OP_NONE, -1);
            return SW_ERR_STORAGE;
        }
    }

    int rc = 0;
    size_t done = 0;
    int iov_cap = iovcnt < IOV_ON_STACK ? IOV_ON_STACK : iovcnt;
    struct iovec stack_iov[IOV_ON_STACK];
    struct iovec *v = iov_cap > IOV_ON_STACK ? malloc((size_t)iov_cap * sizeof *v) : stack_iov;
    if (!v) {
        rc = SW_ERR_NOMEM;
        sw__disk_set_error(err, rc, SW_DISK_OP_NONE, -1);
    }
    for (int i = 0; rc == 0 && i < n; i++) {
        const sw_file_slice *s = &slices[i];
        const sw_file_entry *fe = sw_torrent_info_file(st->ti, s->file_index);
        int vn = sub_iov(iov, iovcnt, done, (size_t)s->size, v, iov_cap);
        done += (size_t)s->size;
        if (fe->flags & SW_FILE_PAD) {
            if (!write)
                zero_iov(v, vn); /* pad files are zeros and never on disk */
            continue;
        }
        sw_file_handle *h = NULL;
        int fd = -1;
        rc = sw__disk_fpool_acquire(st->pool->files, st, s->file_index, write, &h, &fd, err);
        if (rc)
            break;
        sw_disk_op op = SW_DISK_OP_NONE;
        rc = slice_io(fd, write, s->offset, v, vn, (size_t)s->size, &op);
        sw__disk_fpool_release(st->pool->files, h);
        if (rc)
            sw__disk_set_error(err, rc, op, s->file_index);
    }
    if (v != stack_iov)
        free(v);
    if (slices != stack_slices)
        free(slices);
    return rc;
}
