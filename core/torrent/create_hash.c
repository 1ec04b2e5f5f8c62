/* Torrent creation: parallel piece hashing.
 *
 * Every thread (the caller included) repeatedly claims the next run of whole
 * pieces (about CLAIM_BYTES of data) from a shared counter and hashes it on
 * its own: it pread()s the run chunk by chunk into a private buffer small
 * enough to stay in the core's cache, so SHA-1 reads the bytes while they are
 * still hot, and feeds each piece to its own hasher. Runs are claimed in
 * order, so the threads together read the data front to back and the kernel's
 * read-ahead (hinted with POSIX_FADV_SEQUENTIAL) keeps up. No reader thread,
 * no queue, no locks on the hot path: a run's hashes go straight into their
 * slots of the output array. */
#include "create_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cswarm/error.h>

#include "base/base.h"

/* Bytes read per pread (a power of two): large enough that system calls cost
 * nothing, small enough that the chunk is still in L2 when it is hashed. */
#define CHUNK_BYTES (256 * 1024)
/* Bytes claimed at once: big enough for long sequential reads, small enough
 * that threads finish close together and progress moves smoothly. */
#define CLAIM_BYTES (4 * 1024 * 1024)
#define MAX_THREADS 64

typedef struct hash_job {
    const sw__create_layout *layout;
    int64_t piece_size;
    int64_t num_pieces;
    int64_t pieces_per_claim;
    uint8_t *pieces_out;

    atomic_int_fast64_t next_piece;
    atomic_int_fast64_t pieces_done;
    atomic_bool stop;

    pthread_mutex_t err_lock;
    int rc; /* first failure */
    sw_error_detail err;
} hash_job;

typedef struct hash_worker {
    hash_job *job;
    pthread_t thread;
    uint8_t *buf;
    sw_hasher *hasher;
    int fd;         /* open file, or -1 */
    size_t fd_file; /* its index in the layout */
    sw_error_detail err;
} hash_worker;

static void job_record_failure(hash_job *job, int rc, const sw_error_detail *err)
{
    pthread_mutex_lock(&job->err_lock);
    if (job->rc == 0) {
        job->rc = rc;
        job->err = *err;
    }
    pthread_mutex_unlock(&job->err_lock);
    atomic_store(&job->stop, true);
}

static int check_size(hash_worker *w, size_t index, int fd)
{
    const sw__create_file *f = &w->job->layout->files[index];
    struct stat st;
    if (fstat(fd, &st) != 0) {
        int rc = -errno;
        return sw__create_fail(&w->err, rc, "create: cannot stat '%s': %s", f->disk_path,
                               sw_strerror(rc));
    }
    if ((int64_t)st.st_size != f->size)
        return sw__create_fail(&w->err, SW_ERR_CREATE_FILE_CHANGED,
                               "create: '%s' changed size while hashing (%lld -> %lld bytes)",
                               f->disk_path, (long long)f->size, (long long)st.st_size);
    return 0;
}

/* Closes the open file, checking that its size did not change meanwhile. */
static int close_current(hash_worker *w)
{
    if (w->fd < 0)
        return 0;
    int rc = check_size(w, w->fd_file, w->fd);
    close(w->fd);
    w->fd = -1;
    return rc;
}

static int open_file(hash_worker *w, size_t index)
{
    if (w->fd >= 0 && w->fd_file == index)
        return 0;
    int rc = close_current(w);
    if (rc)
        return rc;
    const sw__create_file *f = &w->job->layout->files[index];
    int fd = open(f->disk_path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        rc = -errno;
        return sw__create_fail(&w->err, rc, "create: cannot open '%s': %s", f->disk_path,
                               sw_strerror(rc));
    }
    rc = check_size(w, index, fd);
    if (rc) {
        close(fd);
        return rc;
    }
    (void)posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
    w->fd = fd;
    w->fd_file = index;
    return 0;
}

/* The index of the file holding torrent byte pos (never a zero-length one). */
static size_t file_at(const sw__create_layout *layout, int64_t pos)
{
    size_t lo = 0, hi = layout->num_files;
    while (hi - lo > 1) { /* last file with offset <= pos */
        size_t mid = lo + (hi - lo) / 2;
        if (layout->files[mid].offset <= pos)
            lo = mid;
        else
            hi = mid;
    }
    /* Zero-length files share the offset of the next file. */
    while (lo + 1 < layout->num_files && layout->files[lo].size == 0)
        lo++;
    return lo;
}

/* Reads torrent bytes [pos, pos + len) into w->buf. */
static int read_span(hash_worker *w, int64_t pos, size_t len)
{
    const sw__create_layout *layout = w->job->layout;
    size_t index = file_at(layout, pos);
    size_t done = 0;
    while (done < len) {
        if (index >= layout->num_files)
            return sw__create_fail(&w->err, SW_ERR_CREATE_FILE_CHANGED,
                                   "create: read past the end of the content");
        const sw__create_file *f = &layout->files[index];
        int64_t in_file = pos + (int64_t)done - f->offset;
        int64_t left_in_file = f->size - in_file;
        size_t n = len - done;
        if ((int64_t)n > left_in_file)
            n = (size_t)left_in_file;
        if (f->pad) {
            memset(w->buf + done, 0, n);
        } else if (n > 0) {
            int rc = open_file(w, index);
            if (rc)
                return rc;
            size_t got = 0;
            while (got < n) {
                ssize_t r = pread(w->fd, w->buf + done + got, n - got, (off_t)(in_file + got));
                if (r < 0 && errno == EINTR)
                    continue;
                if (r < 0) {
                    rc = -errno;
                    return sw__create_fail(&w->err, rc, "create: cannot read '%s': %s",
                                           f->disk_path, sw_strerror(rc));
                }
                if (r == 0)
                    return sw__create_fail(&w->err, SW_ERR_CREATE_FILE_CHANGED,
                                           "create: '%s' ended early while hashing (shrunk)",
                                           f->disk_path);
                got += (size_t)r;
            }
        }
        done += n;
        index++;
    }
    return 0;
}

/* Hashes pieces [first, last). */
static int hash_run(hash_worker *w, int64_t first, int64_t last)
{
    const hash_job *job = w->job;
    const int64_t total = job->layout->total_size;
    int64_t pos = first * job->piece_size;
    int64_t end = last * job->piece_size;
    if (end > total)
        end = total;
    while (pos < end) {
        if (atomic_load_explicit(&w->job->stop, memory_order_relaxed))
            return 0;
        size_t len = CHUNK_BYTES;
        if (end - pos < (int64_t)len)
            len = (size_t)(end - pos);
        int rc = read_span(w, pos, len);
        if (rc)
            return rc;
        /* Chunks start on piece boundaries and hold whole pieces or whole
         * fractions of one (both are powers of two). */
        size_t off = 0;
        while (off < len) {
            int64_t at = pos + (int64_t)off;
            int64_t piece = at / job->piece_size;
            int64_t piece_end = (piece + 1) * job->piece_size;
            if (piece_end > total)
                piece_end = total;
            size_t n = len - off;
            if ((int64_t)n > piece_end - at)
                n = (size_t)(piece_end - at);
            rc = sw__hasher_update(w->hasher, w->buf + off, n);
            if (!rc && at + (int64_t)n == piece_end)
                rc = sw__hasher_final(w->hasher, job->pieces_out + piece * SW_SHA1_LEN);
            if (rc)
                return sw__create_fail(&w->err, rc, "create: SHA-1 failed");
            off += n;
        }
        pos += (int64_t)len;
    }
    return 0;
}

/* Claims and hashes one run. Returns 1 when there is nothing left. */
static int hash_next_run(hash_worker *w, int *rc_out)
{
    hash_job *job = w->job;
    *rc_out = 0;
    if (atomic_load(&job->stop))
        return 1;
    int64_t first = atomic_fetch_add(&job->next_piece, job->pieces_per_claim);
    if (first >= job->num_pieces)
        return 1;
    int64_t last = first + job->pieces_per_claim;
    if (last > job->num_pieces)
        last = job->num_pieces;
    *rc_out = hash_run(w, first, last);
    if (*rc_out)
        return 1;
    atomic_fetch_add(&job->pieces_done, last - first);
    return 0;
}

static void worker_finish(hash_worker *w, int rc)
{
    int close_rc = close_current(w);
    if (!rc)
        rc = close_rc;
    if (rc)
        job_record_failure(w->job, rc, &w->err);
}

static void *worker_main(void *arg)
{
    hash_worker *w = arg;
    int rc = 0;
    while (!hash_next_run(w, &rc)) {
    }
    worker_finish(w, rc);
    return NULL;
}

static int worker_init(hash_worker *w, hash_job *job)
{
    memset(w, 0, sizeof *w);
    w->job = job;
    w->fd = -1;
    w->buf = malloc(CHUNK_BYTES);
    if (!w->buf)
        return SW_ERR_NOMEM;
    return sw__hasher_new_sha1(&w->hasher);
}

static void worker_free(hash_worker *w)
{
    free(w->buf);
    sw__hasher_free(w->hasher);
}

static int thread_count(int requested, int64_t claims)
{
    long n = requested;
    if (n <= 0) {
        n = sysconf(_SC_NPROCESSORS_ONLN);
        if (n < 1)
            n = 1;
    }
    if (n > MAX_THREADS)
        n = MAX_THREADS;
    if (n > claims)
        n = (long)claims;
    return n < 1 ? 1 : (int)n;
}

int sw__create_hash(const sw__create_layout *layout, int64_t piece_size, int num_threads,
                    sw_create_progress_cb progress, void *progress_user, uint8_t *pieces_out,
                    sw_error_detail *err)
{
    hash_job job = {
        .layout = layout,
        .piece_size = piece_size,
        .num_pieces = (layout->total_size + piece_size - 1) / piece_size,
        .pieces_out = pieces_out,
    };
    job.pieces_per_claim = piece_size >= CLAIM_BYTES ? 1 : CLAIM_BYTES / piece_size;
    atomic_init(&job.next_piece, 0);
    atomic_init(&job.pieces_done, 0);
    atomic_init(&job.stop, false);
    if (pthread_mutex_init(&job.err_lock, NULL) != 0)
        return sw__create_fail(err, SW_ERR_NOMEM, "create: cannot create a mutex");

    int64_t claims = (job.num_pieces + job.pieces_per_claim - 1) / job.pieces_per_claim;
    int n = thread_count(num_threads, claims);
    hash_worker *workers = calloc((size_t)n, sizeof *workers);
    int rc = workers ? 0 : SW_ERR_NOMEM;
    int inited = 0, started = 1; /* workers[0] is the calling thread */
    for (; !rc && inited < n; inited++)
        rc = worker_init(&workers[inited], &job);
    if (rc) {
        sw__create_fail(err, rc, "create: out of memory");
        goto out;
    }
    for (; started < n; started++) {
        if (pthread_create(&workers[started].thread, NULL, worker_main, &workers[started]) != 0)
            break; /* fewer threads than asked is still correct, only slower */
    }

    /* The calling thread hashes too, and reports progress between its runs. */
    hash_worker *self = &workers[0];
    int self_rc = 0;
    while (!hash_next_run(self, &self_rc)) {
        if (progress &&
            progress(progress_user, (int)atomic_load(&job.pieces_done), (int)job.num_pieces) != 0) {
            sw_error_detail abort_err;
            sw__create_fail(&abort_err, SW_ERR_ABORTED, "create: cancelled by the caller");
            job_record_failure(&job, SW_ERR_ABORTED, &abort_err);
        }
    }
    worker_finish(self, self_rc);
    for (int i = 1; i < started; i++)
        pthread_join(workers[i].thread, NULL);

    rc = job.rc;
    if (rc) {
        if (err)
            *err = job.err;
    } else if (progress && progress(progress_user, (int)job.num_pieces, (int)job.num_pieces)) {
        rc = sw__create_fail(err, SW_ERR_ABORTED, "create: cancelled by the caller");
    }
out:
    for (int i = 0; i < inited; i++)
        worker_free(&workers[i]);
    free(workers);
    pthread_mutex_destroy(&job.err_lock);
    return rc;
}
