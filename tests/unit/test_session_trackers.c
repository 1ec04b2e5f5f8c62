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
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include <cmocka.h>

#include <cswarm/cswarm.h>

#include "disk_fixture.h"
#include "tracker_fixture.h"

#define WAIT_MS 20000

static uint64_t now_ms(void)
{
    struct timeval tv;
    gettimeofday(&tv, NULL);
    return (uint64_t)tv.tv_sec * 1000 + (uint64_t)tv.tv_usec / 1000;
}

/* Pops alerts until one of type arrives; NULL on timeout. */
static sw_alert *wait_alert(sw_session *ses, sw_alert_type type, int timeout_ms)
{
    uint64_t deadline = now_ms() + (uint64_t)timeout_ms;
    while (now_ms() < deadline) {
        sw_session_wait_for_alert(ses, 50);
        sw_alert *a;
        while (sw_session_pop_alert(ses, &a) == 0 && a) {
            if (a->type == type)
                return a;
            sw_alert_free(a);
        }
    }
    return NULL;
}

static sw_session *new_session_flags(unsigned flags)
{
    sw_settings *s;
    assert_int_equal(sw_settings_new(&s), 0);
    assert_int_equal(sw_settings_set_str(s, SW_SET_LISTEN_INTERFACES, "127.0.0.1:0"), 0);
    assert_int_equal(sw_settings_set_bool(s, SW_SET_ENABLE_DHT, false), 0);
    assert_int_equal(sw_settings_set_bool(s, SW_SET_ENABLE_LSD, false), 0);
    assert_int_equal(sw_settings_set_bool(s, SW_SET_ENABLE_UPNP, false), 0);
    assert_int_equal(sw_settings_set_bool(s, SW_SET_ENABLE_NATPMP, false), 0);
    sw_session_params p;
    sw_session_params_init(&p);
    p.settings = s;
    p.alert_mask = SW_ALERT_CAT_ALL;
    p.flags = flags;
    sw_session *ses = NULL;
    assert_int_equal(sw_session_new(&p, &ses), 0);
    sw_settings_free(s);
    assert_int_equal(sw_session_listen_on(ses, 0, 0, "127.0.0.1", 0), 0);
    return ses;
}

static sw_session *new_session(void)
{
    return new_session_flags(0);
}

static void write_data(const fx_torrent *t, const char *root)
{
    int n = sw_torrent_info_num_files(t->ti);
    for (int i = 0; i < n; i++) {
        const sw_file_entry *f = sw_torrent_info_file(t->ti, i);
        char path[512];
        snprintf(path, sizeof path, "%s/%s", root, f->path);
        char *slash = strrchr(path, '/');
        *slash = '\0';
        mkdir(path, 0755);
        *slash = '/';
        FILE *fp = fopen(path, "wb");
        assert_non_null(fp);
        assert_int_equal(fwrite(t->data + f->offset, 1, (size_t)f->size, fp), (size_t)f->size);
        fclose(fp);
    }
}

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
    char dir[256];
    assert_int_equal(tfx_make_temp_dir(dir, sizeof dir), 0);
    char sub[300];
    snprintf(sub, sizeof sub, "%s/trk", dir);
    mkdir(sub, 0755);
    write_data(&ft, dir);

    sw_session *ses = new_session();
    sw_add_torrent_params p;
    sw_add_torrent_params_init(&p);
    p.ti = ft.ti;
    p.save_path = dir;
    sw_torrent_handle h;
    assert_int_equal(sw_session_add_torrent(ses, &p, &h, NULL), 0);

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
    sw_alert *a = wait_alert(ses, SW_ALERT_TRACKER_ANNOUNCE, WAIT_MS);
    assert_non_null(a);
    assert_string_equal(a->payload.tracker.url, url);
    assert_int_equal(a->payload.tracker.event, 2);
    assert_int_equal(a->torrent_id, h.id);
    sw_alert_free(a);
    a = wait_alert(ses, SW_ALERT_TRACKER_REPLY, WAIT_MS);
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
    a = wait_alert(ses, SW_ALERT_SCRAPE_REPLY, WAIT_MS);
    assert_non_null(a);
    assert_int_equal(a->payload.tracker.complete, 1);
    assert_int_equal(a->payload.tracker.incomplete, 0);
    sw_alert_free(a);

    assert_int_equal(sw_torrent_force_reannounce(h, 5), SW_ERR_INVALID_ARG);
    assert_int_equal(sw_torrent_force_reannounce(h, -1), 0);
    a = wait_alert(ses, SW_ALERT_TRACKER_REPLY, WAIT_MS);
    assert_non_null(a);
    sw_alert_free(a);

    /* A pause sends "stopped": the tracker forgets us. */
    assert_int_equal(sw_torrent_pause(h), 0);
    a = wait_alert(ses, SW_ALERT_TRACKER_ANNOUNCE, WAIT_MS);
    assert_non_null(a);
    assert_int_equal(a->payload.tracker.event, 3);
    sw_alert_free(a);
    assert_int_equal(sw_torrent_force_reannounce(h, -1), SW_ERR_NOT_READY);
    bool gone = false;
    uint64_t deadline = now_ms() + WAIT_MS;
    while (!gone && now_ms() < deadline) {
        assert_int_equal(sw_torrent_scrape_tracker(h, 0), 0);
        a = wait_alert(ses, SW_ALERT_SCRAPE_REPLY, WAIT_MS);
        assert_non_null(a);
        gone = a->payload.tracker.complete == 0;
        sw_alert_free(a);
        if (!gone)
            usleep(50000);
    }
    assert_true(gone);

    sw_session_free(ses);
    tfx_opentracker_stop(&ot);
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    assert_int_equal(system(cmd), 0);
    fx_torrent_free(&ft);
}

static bool file_matches(const char *path, const uint8_t *want, size_t len)
{
    FILE *fp = fopen(path, "rb");
    if (!fp)
        return false;
    uint8_t *got = malloc(len + 1);
    size_t n = fread(got, 1, len + 1, fp);
    fclose(fp);
    bool same = n == len && memcmp(got, want, len) == 0;
    free(got);
    return same;
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
    char seed_dir[256], leech_dir[256];
    assert_int_equal(tfx_make_temp_dir(seed_dir, sizeof seed_dir), 0);
    assert_int_equal(tfx_make_temp_dir(leech_dir, sizeof leech_dir), 0);
    char sub[300];
    snprintf(sub, sizeof sub, "%s/mag", seed_dir);
    mkdir(sub, 0755);
    write_data(&ft, seed_dir);

    sw_session *seeder = new_session_flags(SW_SESSION_ADD_DEFAULT_PLUGINS);
    sw_add_torrent_params p;
    sw_add_torrent_params_init(&p);
    p.ti = ft.ti;
    p.save_path = seed_dir;
    sw_torrent_handle hs;
    assert_int_equal(sw_session_add_torrent(seeder, &p, &hs, NULL), 0);
    char url[128];
    snprintf(url, sizeof url, "http://127.0.0.1:%u/announce", (unsigned)ot.port);
    assert_int_equal(sw_torrent_add_tracker(hs, url, 0), 0);
    sw_alert *a = wait_alert(seeder, SW_ALERT_TRACKER_REPLY, WAIT_MS);
    assert_non_null(a);
    sw_alert_free(a);

    sw_session *leecher = new_session_flags(SW_SESSION_ADD_DEFAULT_PLUGINS);
    sw_add_torrent_params_init(&p);
    memcpy(p.info_hash.v, hashes[0], 20);
    p.save_path = leech_dir;
    sw_torrent_handle hl;
    assert_int_equal(sw_session_add_torrent(leecher, &p, &hl, NULL), 0);
    snprintf(url, sizeof url, "udp://127.0.0.1:%u/announce", (unsigned)ot.port);
    assert_int_equal(sw_torrent_add_tracker(hl, url, 0), 0);
    a = wait_alert(leecher, SW_ALERT_TORRENT_FINISHED, WAIT_MS);
    assert_non_null(a);
    sw_alert_free(a);
    char path[600];
    snprintf(path, sizeof path, "%s/mag/a.bin", leech_dir);
    assert_true(file_matches(path, ft.data, (size_t)ft.total));

    sw_session_free(leecher);
    sw_session_free(seeder);
    tfx_opentracker_stop(&ot);
    char cmd[700];
    snprintf(cmd, sizeof cmd, "rm -rf '%s' '%s'", seed_dir, leech_dir);
    assert_int_equal(system(cmd), 0);
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
