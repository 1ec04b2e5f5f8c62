/* A session's torrent and its trackers, through the public API, against a
 * real opentracker on 127.0.0.1: trackers added at run time (bad URL,
 * duplicate), the tracker alerts of "started", a reply, a scrape and a
 * forced re-announce, the tracker list, and the "stopped" a pause sends. */
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
#include "tracker_fixture.h"

static const fx_file files[] = {{"a.bin", 200000, false}};

static void test_trackers_added_at_run_time(void **state)
{
    (void)state;
    if (!tfx_opentracker_available())
        skip();
    fx_torrent ft;
    assert_int_equal(fx_make_torrent(&ft, "trk", files, 1, 32768, 7, false), 0);
    uint8_t hashes[1][20];
    memcpy(hashes[0], sw_torrent_info_hashes(ft.ti)->v1.v, 20);
    tfx_opentracker ot;
    assert_int_equal(tfx_opentracker_start(&ot, (const uint8_t(*)[20])hashes, 1), 0);
    sfx_dir dir;
    sfx_dir_make(&dir);
    sfx_write_torrent_data(&ft, dir.path);

    sw_session *ses = sfx_session(0, SW_ALERT_CAT_ALL);
    sw_torrent_handle h = sfx_add(ses, ft.ti, dir.path);

    /* No trackers in the .torrent: an empty list, nothing to scrape. */
    sw_tracker_status *list = NULL;
    size_t n = 99;
    assert_int_equal(sw_torrent_get_trackers(h, &list, &n), 0);
    assert_int_equal(n, 0);
    assert_null(list);
    assert_int_equal(sw_torrent_scrape_tracker(h, -1), SW_ERR_NOT_FOUND);

    assert_int_equal(sw_torrent_add_tracker(h, "ftp://127.0.0.1/announce", 0),
                     SW_ERR_TRACKER_BAD_URL);
    char url[128];
    snprintf(url, sizeof url, "http://127.0.0.1:%u/announce", (unsigned)ot.port);
    assert_int_equal(sw_torrent_add_tracker(h, url, 0), 0);
    assert_int_equal(sw_torrent_add_tracker(h, url, 0), SW_ERR_EXISTS);

    /* Once the check is over the torrent seeds and announces "started". */
    sw_alert *a = sfx_wait_alert(ses, SW_ALERT_TRACKER_ANNOUNCE, 0, SFX_WAIT_MS);
    assert_non_null(a);
    assert_string_equal(a->payload.tracker.url, url);
    assert_int_equal(a->payload.tracker.event, 2);
    assert_int_equal(a->torrent_id, h.id);
    sw_alert_free(a);
    a = sfx_wait_alert(ses, SW_ALERT_TRACKER_REPLY, 0, SFX_WAIT_MS);
    assert_non_null(a);
    assert_string_equal(a->payload.tracker.url, url);
    /* opentracker lists the announcing peer back to itself. */
    assert_int_equal(a->payload.tracker.num_peers, 1);
    sw_alert_free(a);

    assert_int_equal(sw_torrent_get_trackers(h, &list, &n), 0);
    assert_int_equal(n, 1);
    assert_string_equal(list[0].url, url);
    assert_int_equal(list[0].tier, 0);
    assert_int_equal(list[0].source, 2);
    assert_true(list[0].verified);
    assert_int_equal(list[0].fails, 0);
    assert_true(list[0].next_announce_ms > 0);
    free(list);

    /* Tracker traffic shows in the session's totals. */
    sw_session_status sst;
    assert_int_equal(sw_session_get_status(ses, &sst), 0);
    assert_true(sst.total_tracker_upload > 0);
    assert_true(sst.total_tracker_download > 0);

    /* The tracker counts us as a seed. */
    assert_int_equal(sw_torrent_scrape_tracker(h, 0), 0);
    a = sfx_wait_alert(ses, SW_ALERT_SCRAPE_REPLY, 0, SFX_WAIT_MS);
    assert_non_null(a);
    assert_int_equal(a->payload.tracker.complete, 1);
    assert_int_equal(a->payload.tracker.incomplete, 0);
    sw_alert_free(a);

    assert_int_equal(sw_torrent_force_reannounce(h, 5), SW_ERR_INVALID_ARG);
    assert_int_equal(sw_torrent_force_reannounce(h, -1), 0);
    a = sfx_wait_alert(ses, SW_ALERT_TRACKER_REPLY, 0, SFX_WAIT_MS);
    assert_non_null(a);
    sw_alert_free(a);

    /* A pause sends "stopped": the tracker forgets us. */
    assert_int_equal(sw_torrent_pause(h), 0);
    a = sfx_wait_alert(ses, SW_ALERT_TRACKER_ANNOUNCE, 0, SFX_WAIT_MS);
    assert_non_null(a);
    assert_int_equal(a->payload.tracker.event, 3);
    sw_alert_free(a);
    assert_int_equal(sw_torrent_force_reannounce(h, -1), SW_ERR_NOT_READY);
    bool gone = false;
    uint64_t deadline = sfx_now_ms() + SFX_WAIT_MS;
    while (!gone && sfx_now_ms() < deadline) {
        assert_int_equal(sw_torrent_scrape_tracker(h, 0), 0);
        a = sfx_wait_alert(ses, SW_ALERT_SCRAPE_REPLY, 0, SFX_WAIT_MS);
        assert_non_null(a);
        gone = a->payload.tracker.complete == 0;
        sw_alert_free(a);
        if (!gone)
            usleep(50000);
    }
    assert_true(gone);

    sw_session_free(ses);
    tfx_opentracker_stop(&ot);
    sfx_dir_remove(&dir);
    fx_torrent_free(&ft);
}

/* A magnet-style add (info-hash only) with a UDP tracker added through the
 * API finds the seed through the tracker, fetches the metadata from it and
 * downloads; the seed announces over HTTP to the same tracker. */
static void test_magnet_finds_seed_through_udp_tracker(void **state)
{
    (void)state;
    if (!tfx_opentracker_available())
        skip();
    fx_torrent ft;
    assert_int_equal(fx_make_torrent(&ft, "mag", files, 1, 32768, 9, false), 0);
    uint8_t hashes[1][20];
    memcpy(hashes[0], sw_torrent_info_hashes(ft.ti)->v1.v, 20);
    tfx_opentracker ot;
    assert_int_equal(tfx_opentracker_start(&ot, (const uint8_t(*)[20])hashes, 1), 0);
    sfx_dir seed_dir, leech_dir;
    sfx_dir_make(&seed_dir);
    sfx_dir_make(&leech_dir);
    sfx_write_torrent_data(&ft, seed_dir.path);

    sw_session *seeder = sfx_session(SW_SESSION_ADD_DEFAULT_PLUGINS, SW_ALERT_CAT_ALL);
    sw_torrent_handle hs = sfx_add(seeder, ft.ti, seed_dir.path);
    char url[128];
    snprintf(url, sizeof url, "http://127.0.0.1:%u/announce", (unsigned)ot.port);
    assert_int_equal(sw_torrent_add_tracker(hs, url, 0), 0);
    sw_alert *a = sfx_wait_alert(seeder, SW_ALERT_TRACKER_REPLY, 0, SFX_WAIT_MS);
    assert_non_null(a);
    sw_alert_free(a);

    sw_session *leecher = sfx_session(SW_SESSION_ADD_DEFAULT_PLUGINS, SW_ALERT_CAT_ALL);
    sw_sha1 info_hash;
    memcpy(info_hash.v, hashes[0], 20);
    sw_torrent_handle hl = sfx_add_hash(leecher, &info_hash, leech_dir.path);
    snprintf(url, sizeof url, "udp://127.0.0.1:%u/announce", (unsigned)ot.port);
    assert_int_equal(sw_torrent_add_tracker(hl, url, 0), 0);
    a = sfx_wait_alert(leecher, SW_ALERT_TORRENT_FINISHED, 0, SFX_WAIT_MS);
    assert_non_null(a);
    sw_alert_free(a);
    char path[600];
    snprintf(path, sizeof path, "%s/mag/a.bin", leech_dir.path);
    assert_true(sfx_file_equals(path, ft.data, (size_t)ft.total));

    sw_session_free(leecher);
    sw_session_free(seeder);
    tfx_opentracker_stop(&ot);
    sfx_dir_remove(&seed_dir);
    sfx_dir_remove(&leech_dir);
    fx_torrent_free(&ft);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_trackers_added_at_run_time),
        cmocka_unit_test(test_magnet_finds_seed_through_udp_tracker),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
