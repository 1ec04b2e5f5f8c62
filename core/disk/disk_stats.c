/* The disk pool's queue and timing figures (libtorrent's cache_status):
 * how long jobs wait for a worker and how long they run, by kind.
 *
 * Threads. Queue lengths change with pool->mu held (the same lock that
 * guards the queue itself), so they always match the queue. The totals are
 * atomics: a worker adds to them after each run and any thread reads them.
 * Each total is independent, so relaxed ordering is enough; a reader may see
 * a sample count one run ahead of its time total, which moves an average by
 * at most one sample. */
#include "disk_internal.h"

#define BLOCK_SIZE 16384

void sw__disk_timing_init(sw_disk_timing *t)
{
    atomic_init(&t->queued_write_bytes, 0);
    atomic_init(&t->write_blocks, 0);
    atomic_init(&t->read_blocks, 0);
    atomic_init(&t->queue_samples, 0);
    atomic_init(&t->queue_us, 0);
    atomic_init(&t->job_samples, 0);
    atomic_init(&t->job_us, 0);
    atomic_init(&t->read_samples, 0);
    atomic_init(&t->read_us, 0);
    atomic_init(&t->write_samples, 0);
    atomic_init(&t->write_us, 0);
    atomic_init(&t->hash_samples, 0);
    atomic_init(&t->hash_us, 0);
}

static void add(atomic_int_fast64_t *v, int64_t n)
{
    atomic_fetch_add_explicit(v, (int_fast64_t)n, memory_order_relaxed);
}

static int64_t get(atomic_int_fast64_t *v)
{
    return (int64_t)atomic_load_explicit(v, memory_order_relaxed);
}

void sw__disk_stats_enqueued_locked(sw_disk_pool *pool, sw_disk_job *job)
{
    job->queued_ns = uv_hrtime();
    pool->queue_len++;
    if (job->kind == SW_DISK_JOB_READ)
        pool->read_queue_len++;
}

void sw__disk_stats_dequeued_locked(sw_disk_pool *pool, sw_disk_job *job)
{
    pool->queue_len--;
    if (job->kind == SW_DISK_JOB_READ)
        pool->read_queue_len--;
    uint64_t now = uv_hrtime();
    uint64_t waited = now > job->queued_ns ? now - job->queued_ns : 0;
    add(&pool->timing.queue_samples, 1);
    add(&pool->timing.queue_us, (int64_t)(waited / 1000));
}

/* A run counts at least 1 us, so a job that ran is never reported as free. */
static int64_t run_us(uint64_t ns)
{
    int64_t us = (int64_t)(ns / 1000);
    return us > 0 ? us : 1;
}

static int64_t blocks_of(size_t len)
{
    return (int64_t)((len + BLOCK_SIZE - 1) / BLOCK_SIZE);
}

void sw__disk_stats_job_ran(sw_disk_pool *pool, int kind, size_t len, int error, uint64_t run_ns)
{
    sw_disk_timing *t = &pool->timing;
    int64_t us = run_us(run_ns);
    add(&t->job_samples, 1);
    add(&t->job_us, us);
    switch (kind) {
    case SW_DISK_JOB_WRITE:
        add(&t->queued_write_bytes, -(int64_t)len);
        add(&t->write_samples, 1);
        add(&t->write_us, us);
        if (error == 0)
            add(&t->write_blocks, blocks_of(len));
        break;
    case SW_DISK_JOB_READ:
        add(&t->read_samples, 1);
        add(&t->read_us, us);
        if (error == 0)
            add(&t->read_blocks, blocks_of(len));
        break;
    case SW_DISK_JOB_HASH:
    case SW_DISK_JOB_CHECK:
    case SW_DISK_JOB_CHECK_RUNNER:
        add(&t->hash_samples, 1);
        add(&t->hash_us, us);
        break;
    default:
        break;
    }
}

void sw__disk_pool_timing_stats(sw_disk_pool *pool, sw_disk_stats *out)
{
    sw_disk_timing *t = &pool->timing;
    uv_mutex_lock(&pool->mu);
    out->queue_length = pool->queue_len;
    out->read_queue_length = pool->read_queue_len;
    uv_mutex_unlock(&pool->mu);
    out->queued_write_bytes = get(&t->queued_write_bytes);
    out->write_blocks = get(&t->write_blocks);
    out->read_blocks = get(&t->read_blocks);
    out->queue_samples = get(&t->queue_samples);
    out->queue_us = get(&t->queue_us);
    out->job_samples = get(&t->job_samples);
    out->job_us = get(&t->job_us);
    out->read_samples = get(&t->read_samples);
    out->read_us = get(&t->read_us);
    out->write_samples = get(&t->write_samples);
    out->write_us = get(&t->write_us);
    out->hash_samples = get(&t->hash_samples);
    out->hash_us = get(&t->hash_us);
}
