/* lt_tex between cswarm sessions on loopback (each running only lt_tex, so
 * peers meet only as the test connects them). Two .torrent files of the
 * same info dictionary with different trackers:
 *   A: an unreachable tracker X and a real opentracker T;
 *   B: an unreachable tracker Z.
 * A and B exchange trackers (B learns X and T, A learns Z, marked as learned
 * from a peer). B announces to what it learned (announce_to_all_tiers): T
 * answers, X does not. A third session C that meets only B then learns Z
 * (from B's .torrent) and T (answered), never X. A private torrent exchanges
 * nothing. */
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

#include "plugin_fixture.h"
#include "session_fixture.h"
#include "tracker_fixture.h"

#define TEX_SOURCE 8 /* sw_tracker_status.source: tracker exchange */

/* A .torrent of t's info dictionary announcing to urls (one tier each). */
static sw_torrent_info *with_trackers(const fx_torrent *t, const char *const *urls, int n,
                                      bool private_flag)
{
    size_t info_len;
    const uint8_t *info = sw_torrent_info_info_section(t->ti, &info_len);
    sw_bencoder *enc;
    assert_int_equal(sw_benc_new(&enc), 0);
    assert_int_equal(sw_benc_dict_begin(enc), 0);
    if (n > 0) {
        assert_int_equal(sw_benc_ckey(enc, "announce"), 0);
        assert_int_equal(sw_benc_cstr(enc, urls[0]), 0);
        assert_int_equal(sw_benc_ckey(enc, "announce-list"), 0);
        assert_int_equal(sw_benc_list_begin(enc), 0);
        for (int i = 0; i < n; i++) {
            assert_int_equal(sw_benc_list_begin(enc), 0);
            assert_int_equal(sw_benc_cstr(enc, urls[i]), 0);
            assert_int_equal(sw_benc_end(enc), 0);
        }
        assert_int_equal(sw_benc_end(enc), 0);
    }
    assert_int_equal(sw_benc_ckey(enc, "info"), 0);
    if (private_flag) {
        /* The same dictionary with "private": 1 (a different info-hash). */
        sw_bdoc *doc;
        assert_int_equal(sw_bdecode(info, info_len, NULL, &doc, NULL), 0);
        sw_bnode root = sw_bdoc_root(doc);
        assert_int_equal(sw_benc_dict_begin(enc), 0);
        for (size_t i = 0; i < sw_bnode_len(root); i++) {
            sw_bnode k, v;
            sw_bnode_dict_at(root, i, &k, &v);
            size_t klen;
            const char *key = sw_bnode_str(k, &klen);
            assert_int_equal(sw_benc_key(enc, key, klen), 0);
            assert_int_equal(sw_benc_node(enc, v), 0);
        }
        assert_int_equal(sw_benc_ckey(enc, "private"), 0);
        assert_int_equal(sw_benc_int(enc, 1), 0);
        assert_int_equal(sw_benc_end(enc), 0);
        sw_bdoc_free(doc);
    } else {
        assert_int_equal(sw_benc_raw(enc, info, info_len), 0);
    }
    assert_int_equal(sw_benc_end(enc), 0);
    uint8_t *buf;
    size_t len;
    assert_int_equal(sw_benc_finish(enc, &buf, &len), 0);
    sw_benc_free(enc);
    sw_torrent_info *ti;
    sw_error_detail err;
    if (sw_torrent_info_load(buf, len, NULL, &ti, &err) != 0)
        fail_msg("load: %s", err.message);
    free(buf);
    return ti;
}

static sw_session *tex_session(void)
{
    sw_session *ses = sfx_session(0, SW_ALERT_CAT_ERROR | SW_ALERT_CAT_STATUS);
    sw_error_detail err;
    assert_int_equal(sw_session_add_builtin_plugin(ses, "lt_tex", &err), 0);
    sw_settings *s;
    assert_int_equal(sw_session_get_settings(ses, &s), 0);
    assert_int_equal(sw_settings_set_bool(s, SW_SET_ANNOUNCE_TO_ALL_TIERS, true), 0);
    /* The tests slow a peer down with a rate limit on loopback. */
    assert_int_equal(sw_settings_set_bool(s, SW_SET_IGNORE_LIMITS_ON_LOCAL_NETWORK, false), 0);
    assert_int_equal(sw_session_apply_settings(ses, s), 0);
    sw_settings_free(s);
    return ses;
}

/* The tracker with url in h's list, or NULL; *list_out to free. */
static const sw_tracker_status *tracker(sw_torrent_handle h, const char *url,
                                        sw_tracker_status **list_out)
{
    size_t n = 0;
    *list_out = NULL;
    assert_int_equal(sw_torrent_get_trackers(h, list_out, &n), 0);
    for (size_t i = 0; i < n; i++)
        if (strcmp((*list_out)[i].url, url) == 0)
            return &(*list_out)[i];
    return NULL;
}

static bool has_tracker(sw_torrent_handle h, const char *url, bool want_tex, bool want_verified)
{
    sw_tracker_status *list;
    const sw_tracker_status *st = tracker(h, url, &list);
    bool ok = st && (!want_tex || (st->source & TEX_SOURCE)) && (!want_verified || st->verified);
    free(list);
    return ok;
}

static bool wait_tracker(sw_torrent_handle h, const char *url, bool tex, bool verified,
                         int timeout_ms)
{
    uint64_t deadline = sfx_now_ms() + (uint64_t)timeout_ms;
    while (sfx_now_ms() < deadline) {
        if (has_tracker(h, url, tex, verified))
            return true;
        usleep(50000);
    }
    return false;
}

static int num_trackers(sw_torrent_handle h)
{
    sw_tracker_status *list;
    size_t n;
    assert_int_equal(sw_torrent_get_trackers(h, &list, &n), 0);
    free(list);
    return (int)n;
}

static void dead_url(char *out, size_t len, const char *path)
{
    /* A port nothing listens on: connections are refused at once. */
    snprintf(out, len, "http://127.0.0.1:%u/%s", (unsigned)tfx_free_port(), path);
}

static void test_exchange_shares_only_verified(void **state)
{
    (void)state;
    if (!tfx_opentracker_available())
        skip();
    fx_torrent t;
    static const fx_file files[] = {{"a.bin", 300000, false}};
    assert_int_equal(fx_make_torrent(&t, "tex", files, 1, 32768, 5, true), 0);
    const sw_sha1 *ih = &sw_torrent_info_hashes(t.ti)->v1;
    uint8_t hashes[1][20];
    memcpy(hashes[0], ih->v, 20);
    tfx_opentracker ot;
    assert_int_equal(tfx_opentracker_start(&ot, (const uint8_t(*)[20])hashes, 1), 0);
    char x[96], z[96], tr[96];
    dead_url(x, sizeof x, "x/announce");
    dead_url(z, sizeof z, "z/announce");
    snprintf(tr, sizeof tr, "http://127.0.0.1:%u/announce", (unsigned)ot.port);
    const char *a_urls[] = {x, tr};
    const char *b_urls[] = {z};
    sw_torrent_info *ta = with_trackers(&t, a_urls, 2, false);
    sw_torrent_info *tb = with_trackers(&t, b_urls, 1, false);
    sw_torrent_info *tc = with_trackers(&t, NULL, 0, false);

    sfx_dir da, db, dc;
    sfx_dir_make(&da);
    sfx_dir_make(&db);
    sfx_dir_make(&dc);
    sfx_write_torrent_data(&t, da.path);
    sw_session *A = tex_session(), *B = tex_session(), *C = tex_session();
    sw_torrent_handle ha = sfx_add(A, ta, da.path);
    sw_torrent_handle hb = sfx_add(B, tb, db.path);
    assert_true(sfx_wait_state(ha, SW_TORRENT_SEEDING, SFX_WAIT_MS));
    assert_true(sfx_wait_state(hb, SW_TORRENT_DOWNLOADING, SFX_WAIT_MS));
    /* Slow B down so it is still downloading when C comes. */
    assert_int_equal(sw_torrent_set_download_limit(hb, 20000), 0);
    assert_int_equal(sw_torrent_connect_peer(hb, "127.0.0.1", sfx_listen_port(A)), 0);

    /* A and B learn each other's trackers, marked as learned from a peer. */
    assert_true(wait_tracker(hb, x, true, false, SFX_WAIT_MS));
    assert_true(wait_tracker(hb, tr, true, false, SFX_WAIT_MS));
    assert_true(wait_tracker(ha, z, true, false, SFX_WAIT_MS));
    /* B announces to what it learned: T answers, X never does. */
    assert_true(wait_tracker(hb, tr, true, true, SFX_WAIT_MS));
    assert_false(has_tracker(hb, x, true, true));

    /* C meets B only (one connection at most: through T it could find A,
     * which shares X rightly, X being in A's .torrent). C learns B's own
     * tracker and the one that answered. */
    sw_settings *cs;
    assert_int_equal(sw_session_get_settings(C, &cs), 0);
    assert_int_equal(sw_settings_set_int(cs, SW_SET_CONNECTIONS_LIMIT, 1), 0);
    assert_int_equal(sw_session_apply_settings(C, cs), 0);
    sw_settings_free(cs);
    sw_torrent_handle hc = sfx_add(C, tc, dc.path);
    assert_true(sfx_wait_state(hc, SW_TORRENT_DOWNLOADING, SFX_WAIT_MS));
    assert_int_equal(sw_torrent_connect_peer(hc, "127.0.0.1", sfx_listen_port(B)), 0);
    assert_true(wait_tracker(hc, z, true, false, SFX_WAIT_MS));
    assert_true(wait_tracker(hc, tr, true, false, SFX_WAIT_MS));
    /* Whatever B's first message held, X was not in it. */
    usleep(1500000);
    assert_false(has_tracker(hc, x, false, false));
    assert_int_equal(num_trackers(hc), 2);

    sw_session_free(C);
    sw_session_free(B);
    sw_session_free(A);
    tfx_opentracker_stop(&ot);
    sw_torrent_info_unref(ta);
    sw_torrent_info_unref(tb);
    sw_torrent_info_unref(tc);
    sfx_dir_remove(&da);
    sfx_dir_remove(&db);
    sfx_dir_remove(&dc);
    fx_torrent_free(&t);
}

static void test_private_torrents_exchange_nothing(void **state)
{
    (void)state;
    fx_torrent t;
    static const fx_file files[] = {{"a.bin", 100000, false}};
    assert_int_equal(fx_make_torrent(&t, "priv", files, 1, 32768, 6, true), 0);
    char x[96], z[96];
    dead_url(x, sizeof x, "x/announce");
    dead_url(z, sizeof z, "z/announce");
    const char *a_urls[] = {x};
    const char *b_urls[] = {z};
    sw_torrent_info *ta = with_trackers(&t, a_urls, 1, true);
    sw_torrent_info *tb = with_trackers(&t, b_urls, 1, true);
    assert_true(sw_torrent_info_is_private(ta));
    sfx_dir da, db;
    sfx_dir_make(&da);
    sfx_dir_make(&db);
    sfx_write_torrent_data(&t, da.path);
    sw_session *A = tex_session(), *B = tex_session();
    sw_torrent_handle ha = sfx_add(A, ta, da.path);
    sw_torrent_handle hb = sfx_add(B, tb, db.path);
    assert_true(sfx_wait_state(ha, SW_TORRENT_SEEDING, SFX_WAIT_MS));
    assert_true(sfx_wait_state(hb, SW_TORRENT_DOWNLOADING, SFX_WAIT_MS));
    assert_int_equal(sw_torrent_connect_peer(hb, "127.0.0.1", sfx_listen_port(A)), 0);
    /* They do meet (B downloads the data)... */
    assert_true(sfx_wait_finished(hb, SFX_WAIT_MS));
    usleep(1500000);
    /* ...but each keeps its own trackers. */
    assert_false(has_tracker(hb, x, false, false));
    assert_false(has_tracker(ha, z, false, false));
    assert_int_equal(num_trackers(ha), 1);
    assert_int_equal(num_trackers(hb), 1);
    sw_session_free(B);
    sw_session_free(A);
    sw_torrent_info_unref(ta);
    sw_torrent_info_unref(tb);
    sfx_dir_remove(&da);
    sfx_dir_remove(&db);
    fx_torrent_free(&t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_exchange_shares_only_verified),
        cmocka_unit_test(test_private_torrents_exchange_nothing),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
