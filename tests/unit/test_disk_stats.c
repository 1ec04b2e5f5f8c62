/* Disk figures: the pool's queue and timing counters (a worker held up so
 * jobs pile up in the queue), sw_session_get_cache_status and the session
 * status's disk fields after a loopback transfer and while the disk stalls
 * (the pool paused), and the peer read/write wait states. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "disk/disk_internal.h"
#include "disk_fixture.h"
#include "peer/peer_conn_int.h"
#include "session/session_int.h"
#include "session_fixture.h"

#define BLOCK 16384

static void stats(fx_env *e, sw_disk_stats *s)
{
    sw__disk_pool_stats(e->pool, s);
}

/* Waits (without running the loop: completions stay undelivered) until the
 * one worker has taken a job and the rest wait in the queue. */
static bool wait_queue_length(fx_env *e, int64_t n)
{
    uint64_t end = sfx_now_ms() + SFX_WAIT_MS;
    sw_disk_stats s;
    do {
        stats(e, &s);
        if (s.queue_length == n)
            return true;
        sfx_sleep_ms(1);
    } while (sfx_now_ms() < end);
    return false;
}

/* With the storage's lock held by the test, the pool's one worker stops in
 * the first write (opening the file needs it), so every later job is seen
 * waiting: queue lengths, queued write bytes and queued jobs are exact.
 * Once released, the queue drains to 0 and the timings show the wait. */
static void test_pool_queue_and_timing(void **state)
{
    (void)state;
    const fx_file files[] = {{"q.bin", 8 * BLOCK, false}};
    fx_torrent t;
    assert_int_equal(fx_make_torrent(&t, "q", files, 1, 4 * BLOCK, 5, true), 0);
    fx_env e;
    assert_int_equal(fx_env_init(&e, 1, 0, 0), 0);
    sw_storage *st = NULL;
    assert_int_equal(sw__disk_storage_new(e.pool, t.ti, e.dir, SW_STORAGE_SPARSE, &st), 0);

    sw_disk_stats s;
    stats(&e, &s);
    assert_int_equal(s.queued_jobs, 0);
    assert_int_equal(s.queue_length, 0);
    assert_int_equal(s.queued_write_bytes, 0);
    assert_int_equal(s.job_samples, 0);

    int done = 0;
    uv_mutex_lock(&st->mu);
    /* 8 single-block writes, then 2 reads of the first piece. */
    for (int b = 0; b < 8; b++) {
        int piece = b / 4;
        int64_t off = (int64_t)(b % 4) * BLOCK;
        uint8_t *buf = fx_dup(t.data + (int64_t)b * BLOCK, BLOCK);
        assert_int_equal(sw__disk_write(st, piece, off, buf, BLOCK, fx_count_cb, &done), 0);
    }
    assert_true(wait_queue_length(&e, 7)); /* the first write is on the worker */
    stats(&e, &s);
    assert_int_equal(s.queued_jobs, 8);
    assert_int_equal(s.queued_write_bytes, 8 * BLOCK);
    assert_int_equal(s.read_queue_length, 0);
    /* Reads wait behind them (the worker is still held). */
    assert_int_equal(sw__disk_read(st, 0, 0, BLOCK, fx_count_cb, &done), 0);
    assert_int_equal(sw__disk_read(st, 0, BLOCK, 2 * BLOCK, fx_count_cb, &done), 0);
    stats(&e, &s);
    assert_int_equal(s.queue_length, 9);
    assert_int_equal(s.read_queue_length, 2);
    assert_int_equal(s.queued_jobs, 10);
    sfx_sleep_ms(20); /* every queued job waits at least this long */
    uv_mutex_unlock(&st->mu);

    assert_true(fx_run_until(&e, &done, 10, SFX_WAIT_MS));
    stats(&e, &s);
    assert_int_equal(s.queued_jobs, 0);
    assert_int_equal(s.queue_length, 0);
    assert_int_equal(s.read_queue_length, 0);
    assert_int_equal(s.queued_write_bytes, 0);
    assert_int_equal(s.blocks_written, 8); /* write jobs */
    assert_int_equal(s.write_blocks, 8);   /* 16 KiB blocks */
    assert_int_equal(s.blocks_read, 2);
    assert_int_equal(s.read_blocks, 3); /* a one-block and a two-block read */
    assert_int_equal(s.write_samples, 8);
    assert_int_equal(s.read_samples, 2);
    assert_int_equal(s.job_samples, 10);
    assert_int_equal(s.queue_samples, 10);
    /* Nine jobs waited over 20 ms in the queue. */
    assert_true(s.queue_us >= 9 * 20000);
    assert_true(s.write_us >= 8 && s.read_us >= 2);
    assert_true(s.job_us >= s.write_us + s.read_us);
    /* The first write also waited for the lock, inside its run. */
    assert_true(s.write_us >= 20000);

    /* A hash job is timed as one. */
    assert_int_equal(fx_hash_all(&e, st, &t), 2);
    stats(&e, &s);
    assert_int_equal(s.hash_samples, 2);
    assert_true(s.hash_us >= 2);
    assert_int_equal(s.queued_jobs, 0);

    sw__disk_storage_unref(st);
    assert_true(fx_env_done(&e));
    fx_torrent_free(&t);
}

/* ---- whole sessions ---- */

static sw_cache_status cache_status(sw_session *ses)
{
    sw_cache_status cs;
    memset(&cs, 0xff, sizeof cs);
    assert_int_equal(sw_session_get_cache_status(ses, &cs), 0);
    assert_int_equal(cs.struct_size, sizeof cs);
    /* cswarm keeps no block cache: these are 0 by design. */
    assert_int_equal(cs.cache_size, 0);
    assert_int_equal(cs.read_cache_size, 0);
    assert_int_equal(cs.blocks_read_hit, 0);
    assert_int_equal(cs.average_sort_time, 0);
    assert_int_equal(cs.cumulative_sort_time, 0);
    return cs;
}

static bool idle(sw_session *ses)
{
    sw_cache_status cs = cache_status(ses);
    sw_session_status ss;
    assert_int_equal(sw_session_get_status(ses, &ss), 0);
    return cs.queued_jobs == 0 && cs.job_queue_length == 0 && cs.read_queue_size == 0 &&
           cs.queued_bytes == 0 && cs.total_used_buffers == 0 && ss.disk_queued_jobs == 0 &&
           ss.disk_write_queue == 0 && ss.disk_read_queue == 0 && ss.disk_queued_bytes == 0;
}

static bool wait_idle(sw_session *ses)
{
    uint64_t end = sfx_now_ms() + SFX_WAIT_MS;
    do {
        if (idle(ses))
            return true;
        sfx_sleep_ms(10);
    } while (sfx_now_ms() < end);
    return false;
}

/* A sane average: measured (> 0) and under 10 s. */
static void assert_sane_us(int us)
{
    assert_true(us > 0);
    assert_true(us < 10 * 1000 * 1000);
}

static void test_cache_status_after_transfer(void **state)
{
    (void)state;
    const fx_file files[] = {{"big.bin", 3 * 1024 * 1024 + 1000, false}};
    sfx_payload d;
    sfx_payload_make(&d, "big", files, 1, 65536, 11, true);
    sw_session *seeder = sfx_session(0, SW_ALERT_CAT_ALL);
    sw_session *leecher = sfx_session(0, SW_ALERT_CAT_ALL);

    assert_int_equal(sw_session_get_cache_status(NULL, NULL), SW_ERR_INVALID_ARG);
    assert_int_equal(sw_session_get_cache_status(seeder, NULL), SW_ERR_INVALID_ARG);
    sw_cache_status fresh = cache_status(leecher);
    assert_int_equal(fresh.blocks_written, 0);
    assert_int_equal(fresh.writes, 0);
    assert_int_equal(fresh.average_write_time, 0);

    sw_torrent_handle hs = sfx_add(seeder, d.t.ti, d.seed_dir.path);
    assert_true(sfx_wait_state(hs, SW_TORRENT_SEEDING, SFX_WAIT_MS));
    sw_torrent_handle hl = sfx_add(leecher, d.t.ti, d.dl_dir.path);
    assert_true(sfx_wait_state(hl, SW_TORRENT_DOWNLOADING, SFX_WAIT_MS));
    sfx_connect(hl, seeder);
    sw_alert *a = sfx_wait_alert(leecher, SW_ALERT_TORRENT_FINISHED, hl.id, SFX_WAIT_MS);
    assert_non_null(a);
    sw_alert_free(a);
    assert_true(sfx_torrent_data_equals(&d.t, d.dl_dir.path));

    /* Queues drain to 0 once nothing moves. */
    assert_true(wait_idle(leecher));
    assert_true(wait_idle(seeder));

    int64_t pieces = (d.t.total + 65535) / 65536;
    sw_cache_status lc = cache_status(leecher);
    assert_true(lc.blocks_written * BLOCK >= d.t.total);
    assert_true(lc.blocks_written <= (d.t.total + BLOCK - 1) / BLOCK + 64); /* few repeats */
    assert_true(lc.writes > 0);
    assert_true(lc.writes <= lc.blocks_written);
    assert_true(lc.hash_jobs >= pieces);
    assert_int_equal(lc.hash_failures, 0);
    assert_sane_us(lc.average_write_time);
    assert_sane_us(lc.average_hash_time);
    assert_sane_us(lc.average_job_time);
    assert_true(lc.average_queue_time >= 0 && lc.average_queue_time < 10 * 1000 * 1000);
    /* Cumulative times are the same measurements in milliseconds. */
    assert_true((int64_t)lc.cumulative_write_time * 1000 <=
                (int64_t)lc.average_write_time * lc.writes + lc.writes * 1000);
    assert_true(lc.cumulative_job_time >= lc.cumulative_write_time);

    sw_cache_status sc = cache_status(seeder);
    assert_true(sc.reads > 0);
    assert_true(sc.blocks_read * BLOCK >= d.t.total);
    assert_true(sc.reads <= sc.blocks_read);
    assert_sane_us(sc.average_read_time);
    assert_sane_us(sc.average_hash_time); /* the seeder's check */
    assert_int_equal(sc.blocks_written, 0);
    assert_int_equal(sc.writes, 0);

    sw_session_free(leecher);
    sw_session_free(seeder);
    sfx_payload_free(&d);
}

/* The leecher's disk pool held (as behind a stalled disk): its jobs pile
 * up, the connection stops reading once too much waits to be written, and
 * every figure shows it; released, the download finishes and they drain. */
typedef struct busy_seen {
    sw_cache_status cs;
    sw_session_status ss;
    bool peer_waits_on_disk;
} busy_seen;

static busy_seen sample(sw_session *ses, sw_torrent_handle h)
{
    busy_seen b;
    memset(&b, 0, sizeof b);
    b.cs = cache_status(ses);
    assert_int_equal(sw_session_get_status(ses, &b.ss), 0);
    sw_peer_info *peers = NULL;
    size_t n = 0;
    assert_int_equal(sw_torrent_get_peer_info(h, &peers, &n), 0);
    for (size_t i = 0; i < n; i++)
        b.peer_waits_on_disk |= (peers[i].read_state & SW_BW_DISK) != 0;
    free(peers);
    return b;
}

static bool backed_up(const busy_seen *b)
{
    return b->cs.queued_jobs > 0 && b->cs.job_queue_length > 0 && b->cs.queued_bytes > 0 &&
           b->cs.total_used_buffers > 0 && b->ss.disk_queued_jobs > 0 &&
           b->ss.disk_write_queue == 1 && b->ss.disk_queued_bytes > 0 && b->peer_waits_on_disk;
}

static void test_queue_rises_while_disk_stalls(void **state)
{
    (void)state;
    const fx_file files[] = {{"busy.bin", 16 * 1024 * 1024, false}};
    sfx_payload d;
    sfx_payload_make(&d, "busy", files, 1, 262144, 12, true);
    sw_session *seeder = sfx_session(0, SW_ALERT_CAT_ERROR);
    sw_settings *s = sfx_loopback_settings();
    assert_int_equal(sw_settings_set_int(s, SW_SET_AIO_THREADS, 1), 0);
    sw_session *leecher = sfx_session_from(s, 0, SW_ALERT_CAT_ERROR, true);

    sw_torrent_handle hs = sfx_add(seeder, d.t.ti, d.seed_dir.path);
    assert_true(sfx_wait_state(hs, SW_TORRENT_SEEDING, SFX_WAIT_MS));
    sw_torrent_handle hl = sfx_add(leecher, d.t.ti, d.dl_dir.path);
    assert_true(sfx_wait_state(hl, SW_TORRENT_DOWNLOADING, SFX_WAIT_MS));
    /* The pool pointer is set when the session is made and never changes;
     * pausing is safe from any thread. */
    sw_disk_pool *pool = leecher->disk;
    sw__disk_pool_set_paused(pool, true);
    sfx_connect(hl, seeder);

    busy_seen b;
    uint64_t end = sfx_now_ms() + SFX_WAIT_MS;
    for (;;) {
        b = sample(leecher, hl);
        if (backed_up(&b))
            break;
        assert_true(sfx_now_ms() < end);
        sfx_sleep_ms(5);
    }
    /* Nothing ran: the received bytes all wait, within the back-pressure
     * limit plus the blocks in flight. */
    assert_int_equal(b.cs.blocks_written, 0);
    assert_true(b.ss.disk_queued_bytes >= b.cs.queued_bytes);
    assert_true(b.ss.disk_queued_bytes <= 32 * 1024 * 1024);
    assert_true(sfx_status(hl).state == SW_TORRENT_DOWNLOADING);

    sw__disk_pool_set_paused(pool, false);
    assert_true(sfx_wait_finished(hl, SFX_WAIT_MS));
    assert_true(wait_idle(leecher));
    b = sample(leecher, hl);
    assert_false(b.peer_waits_on_disk);
    assert_true(b.cs.blocks_written * BLOCK >= d.t.total);
    /* The jobs waited while the pool was held. */
    assert_true(b.cs.average_queue_time > 0);
    assert_true(sfx_torrent_data_equals(&d.t, d.dl_dir.path));

    sw_session_free(leecher);
    sw_session_free(seeder);
    sfx_payload_free(&d);
}

/* ---- peer wait states ---- */

static void test_peer_bw_states(void **state)
{
    (void)state;
    sw_peer_conn pc;
    memset(&pc, 0, sizeof pc);
    uint8_t r, w;
    sw__peer_conn_bw_states(&pc, &r, &w); /* no stream: not connected */
    assert_int_equal(r, SW_BW_IDLE);
    assert_int_equal(w, SW_BW_IDLE);

    sw_stream *fake = (sw_stream *)&pc; /* only tested against NULL */
    pc.stream = fake;
    pc.state = SW_PEER_ACTIVE;
    sw__peer_conn_bw_states(&pc, &r, &w);
    assert_int_equal(r, SW_BW_NETWORK);
    assert_int_equal(w, SW_BW_IDLE);

    pc.read_paused = true; /* the disk queue is full */
    pc.reads_in_flight = 2;
    sw__peer_conn_bw_states(&pc, &r, &w);
    assert_int_equal(r, SW_BW_DISK);
    assert_int_equal(w, SW_BW_DISK);

    pc.send_bytes = 100; /* has something to send: not waiting on the disk */
    pc.write_in_flight = true;
    pc.bw_wait_down = 5;
    pc.bw_wait_up = 7;
    sw__peer_conn_bw_states(&pc, &r, &w);
    assert_int_equal(r, SW_BW_LIMIT | SW_BW_DISK);
    assert_int_equal(w, SW_BW_LIMIT | SW_BW_NETWORK);

    pc.state = SW_PEER_CLOSING;
    sw__peer_conn_bw_states(&pc, &r, &w);
    assert_int_equal(r, SW_BW_IDLE);
    assert_int_equal(w, SW_BW_IDLE);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pool_queue_and_timing),
        cmocka_unit_test(test_cache_status_after_transfer),
        cmocka_unit_test(test_queue_rises_while_disk_stalls),
        cmocka_unit_test(test_peer_bw_states),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
