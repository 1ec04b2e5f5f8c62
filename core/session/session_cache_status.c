/* sw_session_get_cache_status: the disk pool's counters in the shape of
 * libtorrent's cache_status. The pool's counters are atomics written by its
 * workers (see core/disk/disk_stats.c); the snapshot is taken on the network
 * thread, which owns the pool pointer. */
#include <string.h>

#include "session_int.h"

#define BLOCK_SIZE 16384

static int64_t blocks(int64_t bytes)
{
    return bytes > 0 ? (bytes + BLOCK_SIZE - 1) / BLOCK_SIZE : 0;
}

static int clamp_int(int64_t v)
{
    return v < 0 ? 0 : v > INT32_MAX ? INT32_MAX : (int)v;
}

static int average(int64_t total_us, int64_t samples)
{
    return samples > 0 ? clamp_int(total_us / samples) : 0;
}

static uint32_t ms(int64_t us)
{
    /* libtorrent's cumulative times are 32-bit milliseconds; they wrap. */
    return (uint32_t)((uint64_t)(us < 0 ? 0 : us) / 1000);
}

static void fill(sw_cache_status *cs, const sw_disk_stats *ds)
{
    memset(cs, 0, sizeof *cs);
    cs->struct_size = sizeof *cs;
    cs->blocks_written = ds->write_blocks;
    cs->writes = ds->blocks_written; /* write jobs */
    cs->blocks_read = ds->read_blocks;
    cs->reads = ds->blocks_read; /* read jobs */
    cs->queued_bytes = ds->queued_write_bytes > 0 ? ds->queued_write_bytes : 0;
    cs->total_used_buffers = clamp_int(blocks(cs->queued_bytes + ds->pending_bytes));
    cs->average_queue_time = average(ds->queue_us, ds->queue_samples);
    cs->average_read_time = average(ds->read_us, ds->read_samples);
    cs->average_write_time = average(ds->write_us, ds->write_samples);
    cs->average_hash_time = average(ds->hash_us, ds->hash_samples);
    cs->average_job_time = average(ds->job_us, ds->job_samples);
    cs->job_queue_length = clamp_int(ds->queue_length);
    cs->read_queue_size = clamp_int(ds->read_queue_length);
    cs->queued_jobs = ds->queued_jobs;
    cs->cumulative_job_time = ms(ds->job_us);
    cs->cumulative_read_time = ms(ds->read_us);
    cs->cumulative_write_time = ms(ds->write_us);
    cs->cumulative_hash_time = ms(ds->hash_us);
    cs->total_read_back = clamp_int(blocks(ds->bytes_hashed_read_back));
    cs->hash_jobs = ds->hash_jobs;
    cs->hash_failures = ds->hash_failures;
}

static int cache_status_fn(sw_session *ses, void *arg)
{
    sw_disk_stats ds;
    sw__disk_pool_stats(ses->disk, &ds);
    fill(arg, &ds);
    return 0;
}

int sw_session_get_cache_status(sw_session *ses, sw_cache_status *status_out)
{
    if (!ses || !status_out)
        return SW_ERR_INVALID_ARG;
    sw_cache_status cs;
    int rc = sw__session_run(ses, cache_status_fn, &cs);
    if (rc == 0)
        *status_out = cs;
    return rc;
}
