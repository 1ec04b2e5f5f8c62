/* Rate limits between two cswarm sessions on loopback (with
 * ignore_limits_on_local_network off so they apply to 127.0.0.1): a
 * session download limit and a torrent upload limit each hold within 10%
 * over a 10-second window taken after a warm-up, and the session status
 * shows the connection waiting in the bandwidth queue while it does. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include <cswarm/cswarm.h>

#include "session_fixture.h"

#define LIMIT (2 * 1024 * 1024)
#define WARMUP_MS 2000
#define WINDOW_MS 10000

static sw_session *session(int upload_limit, int download_limit)
{
    sw_session *ses = sfx_session(0, SW_ALERT_CAT_ERROR | SW_ALERT_CAT_STATUS);
    sfx_apply_setting(ses, SW_SET_IGNORE_LIMITS_ON_LOCAL_NETWORK, false);
    sfx_apply_setting(ses, SW_SET_UPLOAD_RATE_LIMIT, upload_limit);
    sfx_apply_setting(ses, SW_SET_DOWNLOAD_RATE_LIMIT, download_limit);
    return ses;
}

static int64_t downloaded(sw_torrent_handle h)
{
    return sfx_status(h).total_payload_download;
}

typedef struct queue_seen {
    int samples, up_waiting, down_waiting;
    int64_t up_bytes, down_bytes;
} queue_seen;

static void sample_queue(sw_session *ses, queue_seen *q)
{
    sw_session_status st;
    assert_int_equal(sw_session_get_status(ses, &st), 0);
    q->samples++;
    if (st.up_bandwidth_queue > 0 && st.up_bandwidth_bytes_queue > 0)
        q->up_waiting++;
    if (st.down_bandwidth_queue > 0 && st.down_bandwidth_bytes_queue > 0)
        q->down_waiting++;
    q->up_bytes += st.up_bandwidth_bytes_queue;
    q->down_bytes += st.down_bandwidth_bytes_queue;
}

/* Seeds a torrent larger than the window can move from S to D, and returns
 * the rate measured at D over the window after the warm-up (bytes/s). */
static double measure(bool limit_download, queue_seen *qs, queue_seen *qd)
{
    /* More than the warm-up and the window can move at the limit. */
    static const fx_file files[] = {{"big.bin", 40 * 1024 * 1024, false}};
    sfx_payload d;
    sfx_payload_make(&d, "rate", files, 1, 256 * 1024, 21, true);
    sw_session *S = session(0, 0);
    sw_session *D = session(0, limit_download ? LIMIT : 0);
    sw_torrent_handle hs = sfx_add(S, d.t.ti, d.seed_dir.path);
    assert_true(sfx_wait_state(hs, SW_TORRENT_SEEDING, SFX_WAIT_MS * 3));
    if (!limit_download)
        assert_int_equal(sw_torrent_set_upload_limit(hs, LIMIT), 0);
    sw_torrent_handle hd = sfx_add(D, d.t.ti, d.dl_dir.path);
    assert_true(sfx_wait_state(hd, SW_TORRENT_DOWNLOADING, SFX_WAIT_MS));
    sfx_connect(hd, S);

    /* Warm-up: from the first payload byte. */
    uint64_t deadline = sfx_now_ms() + SFX_WAIT_MS;
    while (downloaded(hd) == 0 && sfx_now_ms() < deadline)
        usleep(10000);
    assert_true(downloaded(hd) > 0);
    usleep(WARMUP_MS * 1000);

    uint64_t t0 = sfx_now_ms();
    int64_t b0 = downloaded(hd);
    while (sfx_now_ms() - t0 < WINDOW_MS) {
        usleep(200000);
        sample_queue(S, qs);
        sample_queue(D, qd);
    }
    int64_t b1 = downloaded(hd);
    uint64_t t1 = sfx_now_ms();
    double rate = (double)(b1 - b0) * 1000.0 / (double)(t1 - t0);
    print_message("limit %d B/s, measured %.0f B/s over %llu ms (%.1f%%)\n", LIMIT, rate,
                  (unsigned long long)(t1 - t0), 100.0 * rate / LIMIT);
    /* Not finished: the window was all limited transfer. */
    assert_true(b1 < d.t.total);

    sw_session_free(D);
    sw_session_free(S);
    sfx_payload_free(&d);
    return rate;
}

static void test_session_download_limit(void **state)
{
    (void)state;
    queue_seen qs = {0}, qd = {0};
    double rate = measure(true, &qs, &qd);
    assert_true(rate >= LIMIT * 0.9 && rate <= LIMIT * 1.1);
    /* The downloader waited for quota most of the time; the seeder never. */
    assert_true(qd.down_waiting > qd.samples / 4);
    assert_int_equal(qs.up_waiting, 0);
    assert_int_equal(qd.up_waiting, 0);
}

static void test_torrent_upload_limit(void **state)
{
    (void)state;
    queue_seen qs = {0}, qd = {0};
    double rate = measure(false, &qs, &qd);
    assert_true(rate >= LIMIT * 0.9 && rate <= LIMIT * 1.1);
    assert_true(qs.up_waiting > qs.samples / 4);
    assert_int_equal(qd.down_waiting, 0);
}

/* Loopback is exempt by default (libtorrent's ignore_limits_on_local_network):
 * the same upload limit does not slow a transfer to 127.0.0.1. */
static void test_local_peers_exempt_by_default(void **state)
{
    (void)state;
    static const fx_file files[] = {{"quick.bin", 8 * 1024 * 1024, false}};
    sfx_payload d;
    sfx_payload_make(&d, "exempt", files, 1, 256 * 1024, 22, true);
    sw_session *S = sfx_session(0, SW_ALERT_CAT_ERROR);
    sw_session *D = sfx_session(0, SW_ALERT_CAT_ERROR);
    sw_torrent_handle hs = sfx_add(S, d.t.ti, d.seed_dir.path);
    assert_true(sfx_wait_state(hs, SW_TORRENT_SEEDING, SFX_WAIT_MS));
    /* 8 MiB at 256 KiB/s would take 32 s if the limit applied. */
    assert_int_equal(sw_torrent_set_upload_limit(hs, 256 * 1024), 0);
    sw_torrent_handle hd = sfx_add(D, d.t.ti, d.dl_dir.path);
    assert_true(sfx_wait_state(hd, SW_TORRENT_DOWNLOADING, SFX_WAIT_MS));
    uint64_t t0 = sfx_now_ms();
    sfx_connect(hd, S);
    assert_true(sfx_wait_finished(hd, SFX_WAIT_MS));
    assert_true(sfx_now_ms() - t0 < 16000);
    sw_session_free(D);
    sw_session_free(S);
    sfx_payload_free(&d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_session_download_limit),
        cmocka_unit_test(test_torrent_upload_limit),
        cmocka_unit_test(test_local_peers_exempt_by_default),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
