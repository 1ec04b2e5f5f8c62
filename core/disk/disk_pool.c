/* The disk/hash worker pool: a job queue (mutex + condition variable) served
 * by worker threads, per-storage fences, and a completion queue delivered on
 * the loop thread through one uv_async_t. */
#include "disk_internal.h"

#include <stdlib.h>
#include <string.h>

#define DEFAULT_THREADS 4
#define MAX_THREADS 64
#define DEFAULT_FILE_POOL_SIZE 40
#define DEFAULT_MAX_PENDING_BYTES ((int64_t)32 << 20)

void sw__disk_pool_opts_init(sw_disk_pool_opts *opts)
{
    memset(opts, 0, sizeof *opts);
}

/* ---- queues (pool->mu held) ---- */

static void list_push(sw_disk_job **head, sw_disk_job **tail, sw_disk_job *job)
{
    job->next = NULL;
    if (*tail)
        (*tail)->next = job;
    else
        *head = job;
    *tail = job;
}

static void enqueue_locked(sw_disk_pool *pool, sw_disk_job *job)
{
    job->st->inflight++;
    pool->active++;
    sw__disk_stats_enqueued_locked(pool, job);
    list_push(&pool->queue_head, &pool->queue_tail, job);
    uv_cond_signal(&pool->cv);
}

/* Sends job to the queue, or holds it behind its storage's fence. */
static void route_locked(sw_disk_pool *pool, sw_disk_job *job)
{
    sw_storage *st = job->st;
    if (st->fenced) {
        list_push(&st->held_head, &st->held_tail, job);
        return;
    }
    if (job->fence) {
        st->fenced = true;
        if (st->inflight == 0)
            enqueue_locked(pool, job);
        else
            st->fence_waiting = job;
        return;
    }
    enqueue_locked(pool, job);
}

static void release_fence_locked(sw_disk_pool *pool, sw_storage *st)
{
    st->fenced = false;
    sw_disk_job *held = st->held_head;
    st->held_head = st->held_tail = NULL;
    while (held) {
        sw_disk_job *next = held->next;
        route_locked(pool, held); /* a later fence re-holds the rest, in order */
        held = next;
    }
}

/* ---- jobs ---- */

sw_disk_job *sw__disk_job_new(sw_storage *st, int kind, sw_disk_cb cb, void *user)
{
    sw_disk_job *job = calloc(1, sizeof *job);
    if (!job)
        return NULL;
    job->kind = kind;
    job->st = st;
    job->cb = cb;
    job->user = user;
    job->file_index = -1;
    job->res.kind = (sw_disk_job_kind)kind;
    job->res.storage = st;
    job->res.file_index = -1;
    return job;
}

void sw__disk_job_free(sw_disk_job *job)
{
    if (!job)
        return;
    free(job->buf);
    free(job->path);
    free(job->blob);
    if (job->check)
        sw__disk_check_ctx_free(job->check);
    free(job->res.buffer);
    free(job->res.have);
    sw__disk_resume_free(job->res.resume);
    free(job);
}

int sw__disk_submit(sw_disk_job *job)
{
    sw_disk_pool *pool = job->st->pool;
    uv_mutex_lock(&pool->mu);
    if (pool->stopping) {
        uv_mutex_unlock(&pool->mu);
        return SW_ERR_ABORTED;
    }
    sw__disk_storage_ref(job->st);
    route_locked(pool, job);
    uv_mutex_unlock(&pool->mu);
    return 0;
}

static bool is_internal(const sw_disk_job *job)
{
    return job->kind == SW_DISK_JOB_CHECK_RUNNER;
}

void sw__disk_job_finished(sw_disk_pool *pool, sw_disk_job *job)
{
    sw_storage *st = job->st;
    bool post = !is_internal(job);
    uv_mutex_lock(&pool->mu);
    st->inflight--;
    pool->active--;
    if (job->fence)
        release_fence_locked(pool, st);
    else if (st->fence_waiting && st->inflight == 0) {
        sw_disk_job *fence = st->fence_waiting;
        st->fence_waiting = NULL;
        enqueue_locked(pool, fence);
    }
    if (post)
        list_push(&pool->done_head, &pool->done_tail, job);
    if (pool->stopping && pool->active == 0)
        uv_cond_broadcast(&pool->cv); /* idle workers may exit now */
    uv_mutex_unlock(&pool->mu);
    if (post)
        uv_async_send(&pool->async);
    else
        free(job); /* internal jobs own nothing else and hold no reference */
}

void sw__disk_job_requeue(sw_disk_pool *pool, sw_disk_job *job)
{
    uv_mutex_lock(&pool->mu);
    sw__disk_stats_enqueued_locked(pool, job);
    list_push(&pool->queue_head, &pool->queue_tail, job);
    uv_cond_signal(&pool->cv);
    uv_mutex_unlock(&pool->mu);
}

void sw__disk_job_spawn(sw_disk_pool *pool, sw_disk_job *job)
{
    uv_mutex_lock(&pool->mu);
    enqueue_locked(pool, job);
    uv_mutex_unlock(&pool->mu);
}

void sw__disk_post_progress(sw_disk_pool *pool, sw_disk_job *note, atomic_bool *pending)
{
    if (atomic_exchange(pending, true))
        return; /* one note in flight reports the latest count when delivered */
    uv_mutex_lock(&pool->mu);
    list_push(&pool->done_head, &pool->done_tail, note);
    uv_mutex_unlock(&pool->mu);
    uv_async_send(&pool->async);
}

bool sw__disk_should_abort(const sw_storage *st)
{
    return atomic_load(&st->pool->stop_flag) || atomic_load(&st->aborted);
}

/* Jobs that only read may be dropped on abort; ones that change the disk run. */
static bool abortable(int kind)
{
    return kind == SW_DISK_JOB_READ || kind == SW_DISK_JOB_HASH || kind == SW_DISK_JOB_CHECK ||
           kind == SW_DISK_JOB_SAVE_RESUME;
}

/* ---- workers ---- */

static void worker_main(void *arg)
{
    sw_disk_worker *w = arg;
    sw_disk_pool *pool = w->pool;
    uv_mutex_lock(&pool->mu);
    for (;;) {
        while ((!pool->queue_head || (pool->paused && !pool->stopping)) &&
               !(pool->stopping && pool->active == 0))
            uv_cond_wait(&pool->cv, &pool->mu);
        sw_disk_job *job = pool->queue_head;
        if (!job)
            break;
        pool->queue_head = job->next;
        if (!pool->queue_head)
            pool->queue_tail = NULL;
        job->next = NULL;
        sw__disk_stats_dequeued_locked(pool, job);
        uv_mutex_unlock(&pool->mu);

        bool done;
        if (abortable(job->kind) && sw__disk_should_abort(job->st)) {
            job->res.error = SW_ERR_ABORTED;
            done = true;
        } else {
            /* A job that lives on (a requeued check runner) may already be
             * another worker's, so what the figures need is read first. */
            int kind = job->kind;
            size_t len = job->len;
            uint64_t start = uv_hrtime();
            done = sw__disk_run_job(w, job);
            sw__disk_stats_job_ran(pool, kind, len, done ? job->res.error : 0, uv_hrtime() - start);
        }
        if (done)
            sw__disk_job_finished(pool, job);

        uv_mutex_lock(&pool->mu);
    }
    pool->workers_exited++;
    bool last = pool->workers_exited == pool->nworkers;
    uv_mutex_unlock(&pool->mu);
    if (last)
        uv_async_send(&pool->async); /* the loop joins the threads */
}

/* ---- loop side ---- */

static void deliver(sw_disk_job *job)
{
    if (job->kind == SW_DISK_JOB_PROGRESS) {
        sw__disk_check_deliver_progress(job);
        return;
    }
    sw_storage *st = job->st;
    if (job->cb)
        job->cb(&job->res, job->user);
    sw__disk_job_free(job);
    sw__disk_storage_unref(st);
}

static void free_pool(sw_disk_pool *pool)
{
    sw__disk_fpool_free(pool->files);
    for (int i = 0; i < pool->nworkers; i++)
        free(pool->workers[i].scratch);
    free(pool->workers);
    uv_cond_destroy(&pool->cv);
    uv_mutex_destroy(&pool->mu);
    free(pool);
}

static void on_async_closed(uv_handle_t *h)
{
    sw_disk_pool *pool = h->data;
    sw_disk_pool_close_cb cb = pool->close_cb;
    void *user = pool->close_user;
    free_pool(pool);
    if (cb)
        cb(user);
}

static void on_async(uv_async_t *async)
{
    sw_disk_pool *pool = async->data;
    for (;;) {
        uv_mutex_lock(&pool->mu);
        sw_disk_job *list = pool->done_head;
        pool->done_head = pool->done_tail = NULL;
        bool all_exited = pool->stopping && pool->workers_exited == pool->nworkers;
        uv_mutex_unlock(&pool->mu);
        if (!list) {
            if (all_exited && !pool->joined) {
                /* Every worker has left its loop; joining does not block. */
                for (int i = 0; i < pool->nworkers; i++)
                    uv_thread_join(&pool->workers[i].thread);
                pool->joined = true;
                uv_close((uv_handle_t *)&pool->async, on_async_closed);
            }
            return;
        }
        while (list) {
            sw_disk_job *next = list->next;
            list->next = NULL;
            deliver(list);
            list = next;
        }
    }
}

int sw__disk_pool_new(uv_loop_t *loop, const sw_disk_pool_opts *opts, sw_disk_pool **pool_out)
{
    sw_disk_pool_opts o;
    if (opts)
        o = *opts;
    else
        sw__disk_pool_opts_init(&o);
    int nthreads = o.aio_threads > 0 ? o.aio_threads : DEFAULT_THREADS;
    if (nthreads > MAX_THREADS)
        nthreads = MAX_THREADS;
    int fps = o.file_pool_size > 0 ? o.file_pool_size : DEFAULT_FILE_POOL_SIZE;

    sw_disk_pool *pool = calloc(1, sizeof *pool);
    if (!pool)
        return SW_ERR_NOMEM;
    pool->loop = loop;
    pool->max_pending_bytes = o.max_pending_bytes == 0  ? DEFAULT_MAX_PENDING_BYTES
                              : o.max_pending_bytes < 0 ? 0
                                                        : o.max_pending_bytes;
    atomic_init(&pool->stop_flag, false);
    atomic_init(&pool->pending_bytes, 0);
    atomic_init(&pool->n_blocks_written, 0);
    atomic_init(&pool->n_blocks_read, 0);
    atomic_init(&pool->n_bytes_written, 0);
    atomic_init(&pool->n_bytes_read, 0);
    atomic_init(&pool->n_hash_jobs, 0);
    atomic_init(&pool->n_hash_failures, 0);
    atomic_init(&pool->n_hashed_incremental, 0);
    atomic_init(&pool->n_hashed_read_back, 0);
    sw__disk_timing_init(&pool->timing);

    int rc = uv_mutex_init(&pool->mu);
    if (rc) {
        free(pool);
        return rc;
    }
    rc = uv_cond_init(&pool->cv);
    if (rc) {
        uv_mutex_destroy(&pool->mu);
        free(pool);
        return rc;
    }
    pool->workers = calloc((size_t)nthreads, sizeof *pool->workers);
    rc = pool->workers ? sw__disk_fpool_new(fps, &pool->files) : SW_ERR_NOMEM;
    for (int i = 0; rc == 0 && i < nthreads; i++) {
        pool->workers[i].pool = pool;
        pool->workers[i].scratch = malloc(SW_DISK_SCRATCH_SIZE);
        if (!pool->workers[i].scratch)
            rc = SW_ERR_NOMEM;
    }
    if (rc == 0)
        rc = uv_async_init(loop, &pool->async, on_async);
    if (rc) {
        if (pool->workers)
            pool->nworkers = nthreads; /* free every scratch buffer */
        free_pool(pool);
        return rc;
    }
    pool->async.data = pool;

    for (int i = 0; i < nthreads; i++) {
        rc = uv_thread_create(&pool->workers[i].thread, worker_main, &pool->workers[i]);
        if (rc) {
            /* Stop the threads already running; the pool then closes like
             * any other (the caller's loop frees it). */
            uv_mutex_lock(&pool->mu);
            pool->nworkers = i;
            pool->stopping = true;
            atomic_store(&pool->stop_flag, true);
            uv_cond_broadcast(&pool->cv);
            uv_mutex_unlock(&pool->mu);
            for (int j = 0; j < i; j++)
                uv_thread_join(&pool->workers[j].thread);
            pool->joined = true;
            for (int j = i; j < nthreads; j++)
                free(pool->workers[j].scratch);
            uv_close((uv_handle_t *)&pool->async, on_async_closed);
            return rc;
        }
        uv_mutex_lock(&pool->mu);
        pool->nworkers = i + 1;
        uv_mutex_unlock(&pool->mu);
    }
    *pool_out = pool;
    return 0;
}

void sw__disk_pool_close(sw_disk_pool *pool, sw_disk_pool_close_cb cb, void *user)
{
    uv_mutex_lock(&pool->mu);
    pool->close_cb = cb;
    pool->close_user = user;
    pool->stopping = true;
    atomic_store(&pool->stop_flag, true);
    uv_cond_broadcast(&pool->cv);
    uv_mutex_unlock(&pool->mu);
    /* The last worker to exit sends the async; the loop joins and closes. */
}

void sw__disk_pool_set_paused(sw_disk_pool *pool, bool paused)
{
    uv_mutex_lock(&pool->mu);
    pool->paused = paused;
    uv_cond_broadcast(&pool->cv);
    uv_mutex_unlock(&pool->mu);
}

void sw__disk_pool_stats(sw_disk_pool *pool, sw_disk_stats *out)
{
    memset(out, 0, sizeof *out);
    uv_mutex_lock(&pool->mu);
    out->queued_jobs = pool->active;
    uv_mutex_unlock(&pool->mu);
    out->blocks_written = atomic_load(&pool->n_blocks_written);
    out->blocks_read = atomic_load(&pool->n_blocks_read);
    out->bytes_written = atomic_load(&pool->n_bytes_written);
    out->bytes_read = atomic_load(&pool->n_bytes_read);
    out->hash_jobs = atomic_load(&pool->n_hash_jobs);
    out->hash_failures = atomic_load(&pool->n_hash_failures);
    out->bytes_hashed_incremental = atomic_load(&pool->n_hashed_incremental);
    out->bytes_hashed_read_back = atomic_load(&pool->n_hashed_read_back);
    out->pending_bytes = atomic_load(&pool->pending_bytes);
    sw__disk_fpool_counts(pool->files, &out->open_files, &out->max_open_files);
    sw__disk_pool_timing_stats(pool, out);
}

const char *sw__disk_op_name(sw_disk_op op)
{
    switch (op) {
    case SW_DISK_OP_NONE:
        return "none";
    case SW_DISK_OP_OPEN:
        return "open";
    case SW_DISK_OP_READ:
        return "read";
    case SW_DISK_OP_WRITE:
        return "write";
    case SW_DISK_OP_TRUNCATE:
        return "truncate";
    case SW_DISK_OP_ALLOCATE:
        return "allocate";
    case SW_DISK_OP_MKDIR:
        return "mkdir";
    case SW_DISK_OP_STAT:
        return "stat";
    case SW_DISK_OP_RENAME:
        return "rename";
    case SW_DISK_OP_COPY:
        return "copy";
    case SW_DISK_OP_REMOVE:
        return "remove";
    case SW_DISK_OP_FSYNC:
        return "fsync";
    case SW_DISK_OP_HASH:
        return "hash";
    }
    return "unknown";
}
