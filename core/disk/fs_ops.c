/* Whole-storage file-system operations, each run as a fence job (nothing else
 * of the storage runs meanwhile): move_storage, rename_file, delete_files,
 * and the stat used by resume data. Every path goes through the walk in
 * fs_path.c, so nothing outside the save path is touched. */
#include "disk_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static bool is_real_file(const sw_file_entry *fe)
{
    return !(fe->flags & (SW_FILE_PAD | SW_FILE_SYMLINK));
}

static void job_error(sw_disk_job *job, int code, sw_disk_op op, int file)
{
    job->res.error = code;
    job->res.op = op;
    job->res.file_index = file;
}

static bool missing(int rc)
{
    return rc == UV_ENOENT || rc == UV_ENOTDIR;
}

/* Copies (paths under the storage's lock, so a concurrent reader sees a
 * consistent pair). */
static char *copy_root(sw_storage *st)
{
    return sw__disk_storage_save_path(st);
}

int sw__disk_stat_file(sw_storage *st, int index, bool *exists_out, int64_t *size_out,
                       int64_t *mtime_out, sw_disk_error *err)
{
    char *root = copy_root(st);
    char *rel = sw__disk_storage_file_path(st, index);
    int rc = root && rel ? 0 : SW_ERR_NOMEM;
    int rootfd = -1, parent = -1;
    const char *leaf = NULL;
    sw_disk_op op = SW_DISK_OP_STAT;
    *exists_out = false;
    if (rc == 0)
        rc = sw__disk_open_root(root, false, &rootfd, &op);
    if (rc == 0)
        rc = sw__disk_walk_parent(rootfd, rel, false, &parent, &leaf, &op);
    if (rc == 0) {
        struct stat sb;
        if (fstatat(parent, leaf, &sb, AT_SYMLINK_NOFOLLOW) != 0) {
            rc = uv_translate_sys_error(errno);
            op = SW_DISK_OP_STAT;
        } else if (S_ISREG(sb.st_mode)) {
            *exists_out = true;
            *size_out = (int64_t)sb.st_size;
            *mtime_out = (int64_t)sb.st_mtim.tv_sec;
        }
    }
    if (missing(rc))
        rc = 0;
    if (rc)
        sw__disk_set_error(err, rc, op, index);
    if (parent >= 0)
        close(parent);
    if (rootfd >= 0)
        close(rootfd);
    free(root);
    free(rel);
    return rc;
}

/* ---- move_storage ---- */

enum move_action { ACT_NONE, ACT_RENAMED, ACT_COPIED, ACT_KEPT };

/* Copies src to dst (created or truncated), syncs it and gives it src's
 * times, so resume data stays valid. Removes a partial dst on failure. */
static int copy_file(sw_disk_worker *w, int sp, const char *sleaf, int dp, const char *dleaf,
                     sw_disk_op *op_out)
{
    *op_out = SW_DISK_OP_COPY;
    int in = openat(sp, sleaf, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (in < 0)
        return uv_translate_sys_error(errno);
    struct stat sb;
    if (fstat(in, &sb) != 0) {
        int rc = uv_translate_sys_error(errno);
        close(in);
        return rc;
    }
    int out =
        openat(dp, dleaf, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, sb.st_mode & 0777);
    if (out < 0) {
        int rc = uv_translate_sys_error(errno);
        close(in);
        return rc;
    }
    int rc = 0;
    for (;;) {
        ssize_t r = read(in, w->scratch, SW_DISK_SCRATCH_SIZE);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            rc = uv_translate_sys_error(errno);
            break;
        }
        if (r == 0)
            break;
        for (ssize_t off = 0; off < r;) {
            ssize_t k = write(out, w->scratch + off, (size_t)(r - off));
            if (k < 0 && errno == EINTR)
                continue;
            if (k <= 0) {
                rc = k < 0 ? uv_translate_sys_error(errno) : UV_EIO;
                break;
            }
            off += k;
        }
        if (rc)
            break;
    }
    if (rc == 0 && fsync(out) != 0) {
        rc = uv_translate_sys_error(errno);
        *op_out = SW_DISK_OP_FSYNC;
    }
    if (rc == 0) {
        struct timespec ts[2] = {sb.st_atim, sb.st_mtim};
        (void)futimens(out, ts); /* best effort: a stale mtime only costs a recheck */
    }
    close(in);
    if (close(out) != 0 && rc == 0)
        rc = uv_translate_sys_error(errno);
    if (rc)
        unlinkat(dp, dleaf, 0);
    return rc;
}

static bool exists_at(int dirfd, const char *leaf)
{
    struct stat sb;
    return fstatat(dirfd, leaf, &sb, AT_SYMLINK_NOFOLLOW) == 0;
}

typedef struct move_state {
    int oldfd, newfd;
    int nfiles;
    char **rel; /* per file, or NULL for files not moved */
    enum move_action *act;
} move_state;

/* Undoes phase one: renamed files go back, copies are removed. */
static void move_rollback(move_state *m)
{
    for (int i = 0; i < m->nfiles; i++) {
        if (m->act[i] != ACT_RENAMED && m->act[i] != ACT_COPIED)
            continue;
        int sp = -1, dp = -1;
        const char *sl = NULL, *dl = NULL;
        sw_disk_op op;
        if (sw__disk_walk_parent(m->oldfd, m->rel[i], true, &sp, &sl, &op) == 0 &&
            sw__disk_walk_parent(m->newfd, m->rel[i], false, &dp, &dl, &op) == 0) {
            if (m->act[i] == ACT_RENAMED)
                renameat(dp, dl, sp, sl);
            else
                unlinkat(dp, dl, 0);
        }
        if (sp >= 0)
            close(sp);
        if (dp >= 0)
            close(dp);
        sw__disk_remove_empty_parents(m->newfd, m->rel[i]);
    }
}

/* Moves or copies file i (phase one). */
static int move_one(sw_disk_worker *w, move_state *m, int i, int flags, sw_disk_op *op)
{
    int sp = -1, dp = -1;
    const char *sl = NULL, *dl = NULL;
    int rc = sw__disk_walk_parent(m->oldfd, m->rel[i], false, &sp, &sl, op);
    if (rc == 0 && !exists_at(sp, sl))
        rc = UV_ENOENT;
    if (missing(rc)) {
        rc = 0; /* nothing on disk for this file */
        goto out;
    }
    if (rc == 0)
        rc = sw__disk_walk_parent(m->newfd, m->rel[i], true, &dp, &dl, op);
    if (rc)
        goto out;
    if (flags == SW_MOVE_DONT_REPLACE && exists_at(dp, dl)) {
        m->act[i] = ACT_KEPT;
        goto out;
    }
    if (renameat(sp, sl, dp, dl) == 0) {
        m->act[i] = ACT_RENAMED;
    } else if (errno == EXDEV) {
        rc = copy_file(w, sp, sl, dp, dl, op);
        if (rc == 0)
            m->act[i] = ACT_COPIED;
    } else {
        rc = uv_translate_sys_error(errno);
        *op = SW_DISK_OP_RENAME;
    }
out:
    if (sp >= 0)
        close(sp);
    if (dp >= 0)
        close(dp);
    return rc;
}

/* With fail_if_exist: is any of the torrent's files already in the target? */
static int first_existing_target(move_state *m)
{
    for (int i = 0; i < m->nfiles; i++) {
        if (!m->rel[i])
            continue;
        int dp = -1;
        const char *dl;
        sw_disk_op op;
        bool found = sw__disk_walk_parent(m->newfd, m->rel[i], false, &dp, &dl, &op) == 0 &&
                     exists_at(dp, dl);
        if (dp >= 0)
            close(dp);
        if (found)
            return i;
    }
    return -1;
}

void sw__disk_do_move(sw_disk_worker *w, sw_disk_job *job)
{
    sw_storage *st = job->st;
    char *old_root = copy_root(st);
    move_state m = {.oldfd = -1, .newfd = -1, .nfiles = sw_torrent_info_num_files(st->ti)};
    m.rel = calloc((size_t)m.nfiles, sizeof *m.rel);
    m.act = calloc((size_t)m.nfiles, sizeof *m.act);
    sw_disk_op op = SW_DISK_OP_OPEN;
    int rc = old_root && m.rel && m.act ? 0 : SW_ERR_NOMEM;
    for (int i = 0; rc == 0 && i < m.nfiles; i++) {
        if (!is_real_file(sw_torrent_info_file(st->ti, i)))
            continue;
        m.rel[i] = sw__disk_storage_file_path(st, i);
        if (!m.rel[i])
            rc = SW_ERR_NOMEM;
    }
    if (rc) {
        job_error(job, rc, SW_DISK_OP_NONE, -1);
        goto out;
    }
    if (strcmp(old_root, job->path) == 0)
        goto out;

    sw__disk_fpool_close(st->pool->files, st, -1);
    rc = sw__disk_open_root(old_root, false, &m.oldfd, &op);
    if (rc == UV_ENOENT) {
        rc = 0; /* nothing was ever written: only the path changes */
        goto commit;
    }
    if (rc == 0)
        rc = sw__disk_open_root(job->path, true, &m.newfd, &op);
    if (rc) {
        job_error(job, rc, op, -1);
        goto out;
    }
    if (job->flags == SW_MOVE_FAIL_IF_EXIST) {
        int i = first_existing_target(&m);
        if (i >= 0) {
            job_error(job, SW_ERR_EXISTS, SW_DISK_OP_RENAME, i);
            goto out;
        }
    }
    for (int i = 0; i < m.nfiles; i++) {
        if (!m.rel[i])
            continue;
        rc = move_one(w, &m, i, job->flags, &op);
        if (rc) {
            job_error(job, rc, op, i);
            move_rollback(&m);
            goto out;
        }
    }
    /* Phase two: the sources of copies (and of files the target kept). */
    for (int i = 0; i < m.nfiles; i++) {
        if (m.act[i] != ACT_COPIED && m.act[i] != ACT_KEPT)
            continue;
        int sp = -1;
        const char *sl;
        if (sw__disk_walk_parent(m.oldfd, m.rel[i], false, &sp, &sl, &op) == 0)
            unlinkat(sp, sl, 0);
        if (sp >= 0)
            close(sp);
    }
    for (int i = 0; i < m.nfiles; i++)
        if (m.rel[i])
            sw__disk_remove_empty_parents(m.oldfd, m.rel[i]);
commit : {
    char *np = strdup(job->path);
    if (!np) {
        job_error(job, SW_ERR_NOMEM, SW_DISK_OP_NONE, -1);
        goto out;
    }
    uv_mutex_lock(&st->mu);
    free(st->save_path);
    st->save_path = np;
    uv_mutex_unlock(&st->mu);
}
out:
    if (m.oldfd >= 0)
        close(m.oldfd);
    if (m.newfd >= 0)
        close(m.newfd);
    for (int i = 0; m.rel && i < m.nfiles; i++)
        free(m.rel[i]);
    free(m.rel);
    free(m.act);
    free(old_root);
}

/* ---- rename_file ---- */

void sw__disk_do_rename(sw_disk_worker *w, sw_disk_job *job)
{
    (void)w;
    sw_storage *st = job->st;
    int idx = job->file_index;
    int n = sw_torrent_info_num_files(st->ti);
    char *root = copy_root(st);
    char *old_rel = sw__disk_storage_file_path(st, idx);
    int rootfd = -1, sp = -1, dp = -1;
    const char *sl = NULL, *dl = NULL;
    sw_disk_op op = SW_DISK_OP_RENAME;
    int rc = root && old_rel ? 0 : SW_ERR_NOMEM;
    if (rc)
        goto fail;
    if (strcmp(old_rel, job->path) == 0)
        goto out;
    for (int i = 0; i < n; i++) {
        char *other = i == idx ? NULL : sw__disk_storage_file_path(st, i);
        bool clash = other && strcmp(other, job->path) == 0;
        free(other);
        if (clash) {
            rc = SW_ERR_EXISTS; /* two files of the torrent cannot share a path */
            goto fail;
        }
    }
    sw__disk_fpool_close(st->pool->files, st, idx);
    rc = sw__disk_open_root(root, false, &rootfd, &op);
    if (rc == 0)
        rc = sw__disk_walk_parent(rootfd, old_rel, false, &sp, &sl, &op);
    if (rc == 0 && !exists_at(sp, sl))
        rc = UV_ENOENT;
    if (missing(rc)) {
        rc = 0; /* not on disk yet: only the name changes */
        goto commit;
    }
    if (rc)
        goto fail;
    rc = sw__disk_walk_parent(rootfd, job->path, true, &dp, &dl, &op);
    if (rc)
        goto fail;
    if (exists_at(dp, dl)) {
        rc = SW_ERR_EXISTS; /* never clobber a file that is not the torrent's */
        op = SW_DISK_OP_RENAME;
        goto fail;
    }
    if (renameat(sp, sl, dp, dl) != 0) {
        rc = uv_translate_sys_error(errno);
        op = SW_DISK_OP_RENAME;
        goto fail;
    }
    sw__disk_remove_empty_parents(rootfd, old_rel);
commit : {
    char *np = strdup(job->path);
    if (!np) {
        rc = SW_ERR_NOMEM;
        goto fail;
    }
    uv_mutex_lock(&st->mu);
    free(st->paths[idx]);
    st->paths[idx] = np;
    uv_mutex_unlock(&st->mu);
    goto out;
}
fail:
    job_error(job, rc, op, idx);
out:
    if (sp >= 0)
        close(sp);
    if (dp >= 0)
        close(dp);
    if (rootfd >= 0)
        close(rootfd);
    free(root);
    free(old_rel);
}

/* ---- delete_files ---- */

void sw__disk_do_delete(sw_disk_worker *w, sw_disk_job *job)
{
    (void)w;
    sw_storage *st = job->st;
    int n = sw_torrent_info_num_files(st->ti);
    sw__disk_fpool_close(st->pool->files, st, -1);
    /* Incremental hashes describe data that is about to disappear. No other
     * job of this storage runs during the fence, so the table is ours. */
    uv_mutex_lock(&st->mu);
    sw__disk_hash_free_all(st);
    uv_mutex_unlock(&st->mu);
    char *root = copy_root(st);
    int rootfd = -1;
    sw_disk_op op = SW_DISK_OP_OPEN;
    int rc = root ? sw__disk_open_root(root, false, &rootfd, &op) : SW_ERR_NOMEM;
    free(root);
    if (missing(rc))
        return; /* nothing was ever written */
    if (rc) {
        job_error(job, rc, op, -1);
        return;
    }
    for (int pass = 0; pass < 2; pass++) {
        for (int i = 0; i < n; i++) {
            if (!is_real_file(sw_torrent_info_file(st->ti, i)))
                continue;
            char *rel = sw__disk_storage_file_path(st, i);
            if (!rel) {
                if (job->res.error == 0)
                    job_error(job, SW_ERR_NOMEM, SW_DISK_OP_REMOVE, i);
                continue;
            }
            if (pass == 1) {
                /* Folders go only once every file is gone, and only if empty. */
                sw__disk_remove_empty_parents(rootfd, rel);
                free(rel);
                continue;
            }
            int parent = -1;
            const char *leaf;
            int r = sw__disk_walk_parent(rootfd, rel, false, &parent, &leaf, &op);
            if (r == 0 && unlinkat(parent, leaf, 0) != 0) {
                /* unlinkat without AT_REMOVEDIR never removes a folder */
                r = uv_translate_sys_error(errno);
                op = SW_DISK_OP_REMOVE;
            }
            if (parent >= 0)
                close(parent);
            if (r && !missing(r) && job->res.error == 0)
                job_error(job, r, op, i);
            free(rel);
        }
    }
    close(rootfd);
}
