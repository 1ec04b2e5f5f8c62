/* Job submission (loop thread) and execution of the block jobs (workers):
 * write, read, hash; the dispatcher sends the others to their files. */
#include "disk_internal.h"

#include <stdlib.h>
#include <string.h>

static bool block_in_piece(const sw_storage *st, int piece, int64_t offset, size_t len)
{
    if (piece < 0 || piece >= sw_torrent_info_num_pieces(st->ti) || offset < 0 || len == 0)
        return false;
    int64_t size = sw_torrent_info_piece_size(st->ti, piece);
    return offset < size && (int64_t)len <= size - offset;
}

static int submit_or_free(sw_disk_job *job)
{
    int rc = sw__disk_submit(job);
    if (rc) {
        job->buf = NULL; /* the caller keeps its buffer when the submit fails */
        sw__disk_job_free(job);
    }
    return rc;
}

int sw__disk_write(sw_storage *st, int piece, int64_t offset, uint8_t *buf, size_t len,
                   sw_disk_cb cb, void *user)
{
    if (!st || !buf || !block_in_piece(st, piece, offset, len))
        return SW_ERR_INVALID_ARG;
    sw_disk_job *job = sw__disk_job_new(st, SW_DISK_JOB_WRITE, cb, user);
    if (!job)
        return SW_ERR_NOMEM;
    job->piece = job->res.piece = piece;
    job->offset = job->res.offset = offset;
    job->len = job->res.length = len;
    job->buf = buf;
    /* Counted before the submit: a worker may run the job (and take the
     * bytes off again) before sw__disk_submit returns. */
    atomic_fetch_add_explicit(&st->pool->timing.queued_write_bytes, (int_fast64_t)len,
                              memory_order_relaxed);
    int rc = submit_or_free(job);
    if (rc)
        atomic_fetch_sub_explicit(&st->pool->timing.queued_write_bytes, (int_fast64_t)len,
                                  memory_order_relaxed);
    return rc;
}

int sw__disk_read(sw_storage *st, int piece, int64_t offset, size_t len, sw_disk_cb cb, void *user)
{
    if (!st || !block_in_piece(st, piece, offset, len))
        return SW_ERR_INVALID_ARG;
    sw_disk_job *job = sw__disk_job_new(st, SW_DISK_JOB_READ, cb, user);
    if (!job)
        return SW_ERR_NOMEM;
    job->piece = job->res.piece = piece;
    job->offset = job->res.offset = offset;
    job->len = job->res.length = len;
    return submit_or_free(job);
}

int sw__disk_hash(sw_storage *st, int piece, sw_disk_cb cb, void *user)
{
    if (!st || piece < 0 || piece >= sw_torrent_info_num_pieces(st->ti))
        return SW_ERR_INVALID_ARG;
    sw_disk_job *job = sw__disk_job_new(st, SW_DISK_JOB_HASH, cb, user);
    if (!job)
        return SW_ERR_NOMEM;
    job->piece = job->res.piece = piece;
    return submit_or_free(job);
}

static uint8_t *copy_bytes(const void *p, size_t n)
{
    uint8_t *c = malloc(n ? n : 1);
    if (c && n)
        memcpy(c, p, n);
    return c;
}

int sw__disk_check(sw_storage *st, const void *resume, size_t resume_len,
                   sw_disk_progress_cb progress, sw_disk_cb cb, void *user)
{
    if (!st || (resume_len && !resume))
        return SW_ERR_INVALID_ARG;
    sw_disk_job *job = sw__disk_job_new(st, SW_DISK_JOB_CHECK, cb, user);
    if (!job)
        return SW_ERR_NOMEM;
    job->fence = true;
    job->check = sw__disk_check_ctx_new(progress, user);
    if (resume && resume_len) {
        job->blob = copy_bytes(resume, resume_len);
        job->blob_len = resume_len;
    }
    if (!job->check || (resume_len && !job->blob)) {
        sw__disk_job_free(job);
        return SW_ERR_NOMEM;
    }
    return submit_or_free(job);
}

int sw__disk_save_resume(sw_storage *st, const uint8_t *have, size_t have_len, sw_disk_cb cb,
                         void *user)
{
    if (!st || !have || have_len != sw__disk_bitfield_len(sw_torrent_info_num_pieces(st->ti)))
        return SW_ERR_INVALID_ARG;
    sw_disk_job *job = sw__disk_job_new(st, SW_DISK_JOB_SAVE_RESUME, cb, user);
    if (!job)
        return SW_ERR_NOMEM;
    job->fence = true;
    job->blob = copy_bytes(have, have_len);
    job->blob_len = have_len;
    if (!job->blob) {
        sw__disk_job_free(job);
        return SW_ERR_NOMEM;
    }
    return submit_or_free(job);
}

int sw__disk_move_storage(sw_storage *st, const char *new_save_path, sw_move_flags flags,
                          sw_disk_cb cb, void *user)
{
    if (!st || !new_save_path || !*new_save_path ||
        (flags != SW_MOVE_ALWAYS_REPLACE && flags != SW_MOVE_FAIL_IF_EXIST &&
         flags != SW_MOVE_DONT_REPLACE))
        return SW_ERR_INVALID_ARG;
    sw_disk_job *job = sw__disk_job_new(st, SW_DISK_JOB_MOVE, cb, user);
    if (!job)
        return SW_ERR_NOMEM;
    job->fence = true;
    job->flags = (int)flags;
    job->path = strdup(new_save_path);
    if (!job->path) {
        sw__disk_job_free(job);
        return SW_ERR_NOMEM;
    }
    return submit_or_free(job);
}

int sw__disk_rename_file(sw_storage *st, int index, const char *new_path, sw_disk_cb cb, void *user)
{
    if (!st || index < 0 || index >= sw_torrent_info_num_files(st->ti) ||
        !sw__disk_path_is_safe(new_path))
        return SW_ERR_INVALID_ARG;
    sw_disk_job *job = sw__disk_job_new(st, SW_DISK_JOB_RENAME, cb, user);
    if (!job)
        return SW_ERR_NOMEM;
    job->fence = true;
    job->file_index = index;
    job->path = strdup(new_path);
    if (!job->path) {
        sw__disk_job_free(job);
        return SW_ERR_NOMEM;
    }
    return submit_or_free(job);
}

static int submit_fence(sw_storage *st, int kind, sw_disk_cb cb, void *user)
{
    if (!st)
        return SW_ERR_INVALID_ARG;
    sw_disk_job *job = sw__disk_job_new(st, kind, cb, user);
    if (!job)
        return SW_ERR_NOMEM;
    job->fence = true;
    return submit_or_free(job);
}

int sw__disk_delete_files(sw_storage *st, sw_disk_cb cb, void *user)
{
    return submit_fence(st, SW_DISK_JOB_DELETE, cb, user);
}

int sw__disk_release_files(sw_storage *st, sw_disk_cb cb, void *user)
{
    return submit_fence(st, SW_DISK_JOB_RELEASE, cb, user);
}

int sw__disk_fence(sw_storage *st, sw_disk_cb cb, void *user)
{
    return submit_fence(st, SW_DISK_JOB_FENCE, cb, user);
}

/* ---- running ---- */

static void set_result_error(sw_disk_job *job, const sw_disk_error *e)
{
    job->res.error = e->code;
    job->res.op = e->op;
    job->res.file_index = e->file;
}

static void do_write(sw_disk_worker *w, sw_disk_job *job)
{
    sw_storage *st = job->st;
    sw_disk_pool *pool = st->pool;
    sw_disk_error e = {0};
    struct iovec v = {.iov_base = job->buf, .iov_len = job->len};
    int rc = sw__disk_storage_io(st, true, job->piece, job->offset, &v, 1, job->len, &e);
    if (rc == 0)
        rc = sw__disk_storage_create_empty_files(st, &e);
    if (rc) {
        set_result_error(job, &e);
        return;
    }
    atomic_fetch_add(&pool->n_blocks_written, 1);
    atomic_fetch_add(&pool->n_bytes_written, (int_fast64_t)job->len);
    /* Only data that reached the file feeds the hash. */
    sw__disk_hash_on_write(w, st, job->piece, job->offset, &job->buf, job->len);
}

static void do_read(sw_disk_job *job)
{
    sw_storage *st = job->st;
    sw_disk_error e = {0};
    uint8_t *buf = malloc(job->len);
    if (!buf) {
        sw__disk_set_error(&e, SW_ERR_NOMEM, SW_DISK_OP_READ, -1);
        set_result_error(job, &e);
        return;
    }
    struct iovec v = {.iov_base = buf, .iov_len = job->len};
    int rc = sw__disk_storage_io(st, false, job->piece, job->offset, &v, 1, job->len, &e);
    if (rc) {
        free(buf);
        set_result_error(job, &e);
        return;
    }
    atomic_fetch_add(&st->pool->n_blocks_read, 1);
    atomic_fetch_add(&st->pool->n_bytes_read, (int_fast64_t)job->len);
    job->res.buffer = buf;
}

static void do_hash(sw_disk_worker *w, sw_disk_job *job)
{
    sw_storage *st = job->st;
    sw_disk_error e = {0};
    bool complete = true;
    int rc = sw__disk_hash_finish(w, st, job->piece, &job->res.digest, &job->res.hash_read_back,
                                  &complete, &e);
    atomic_fetch_add(&st->pool->n_hash_jobs, 1);
    if (rc) {
        set_result_error(job, &e);
        return;
    }
    const uint8_t *expected = sw_torrent_info_piece_hash(st->ti, job->piece);
    job->res.hash_passed =
        complete && expected && memcmp(expected, job->res.digest.v, SW_SHA1_LEN) == 0;
    if (!job->res.hash_passed)
        atomic_fetch_add(&st->pool->n_hash_failures, 1);
}

bool sw__disk_run_job(sw_disk_worker *w, sw_disk_job *job)
{
    switch (job->kind) {
    case SW_DISK_JOB_WRITE:
        do_write(w, job);
        return true;
    case SW_DISK_JOB_READ:
        do_read(job);
        return true;
    case SW_DISK_JOB_HASH:
        do_hash(w, job);
        return true;
    case SW_DISK_JOB_CHECK:
        return sw__disk_check_start(w, job);
    case SW_DISK_JOB_CHECK_RUNNER:
        return sw__disk_check_run(w, job);
    case SW_DISK_JOB_SAVE_RESUME:
        sw__disk_do_save_resume(job);
        return true;
    case SW_DISK_JOB_MOVE:
        sw__disk_do_move(w, job);
        return true;
    case SW_DISK_JOB_RENAME:
        sw__disk_do_rename(w, job);
        return true;
    case SW_DISK_JOB_DELETE:
        sw__disk_do_delete(w, job);
        return true;
    case SW_DISK_JOB_RELEASE:
        sw__disk_fpool_close(job->st->pool->files, job->st, -1);
        return true;
    case SW_DISK_JOB_FENCE:
        return true;
    }
    return true;
}
