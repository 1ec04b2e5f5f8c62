/* Torrents added by info-hash alone, without ut_metadata: a probe plugin
 * hands the metadata over through the host (sw_plugin_torrent_set_metadata)
 * and the checks are the engine's: bytes that do not hash to the
 * info-hash, or larger than max_metadata_size, are refused with a
 * metadata_failed alert; the right bytes are taken once (then
 * SW_ERR_EXISTS), the torrent checks its files and downloads from a seed.
 * Before that the torrent reports no metadata and refuses what needs it.
 * Then ut_metadata between two sessions: a magnet download, and one whose
 * max_metadata_size is too small to fetch. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <uv.h>

#define SW_PLUGIN_BUILTIN 1
#include <cswarm/cswarm.h>
#include <cswarm/plugin.h>

#include "plugin_fixture.h"
#include "session_fixture.h"

/* ---- a probe that sets metadata from its tick ---- */

typedef struct probe {
    uv_mutex_t mu;
    const uint8_t *info; /* the right dictionary */
    size_t info_len;
    int next;            /* the try the next tick makes, -1: none */
    int results[4];      /* set_metadata's results, in order */
    int had_metadata[4]; /* has_metadata before each try */
    int metadata_hooks;
} probe;

static probe g_probe;
static int g_marker;

static int p_new_torrent(void *ctx, sw_plugin_torrent *t, void **out)
{
    (void)ctx;
    (void)t;
    *out = &g_marker;
    return SW_OK;
}

static int p_tick(void *ctx, sw_plugin_torrent *t)
{
    (void)ctx;
    probe *p = &g_probe;
    uv_mutex_lock(&p->mu);
    int step = p->next;
    uv_mutex_unlock(&p->mu);
    if (step < 0 || step > 3)
        return SW_OK;
    int rc;
    bool had = sw_plugin_torrent_has_metadata(t);
    if (step == 0) {
        /* One byte changed inside the piece hashes. */
        uint8_t *bad = malloc(g_probe.info_len);
        memcpy(bad, g_probe.info, g_probe.info_len);
        bad[g_probe.info_len - 10] ^= 1;
        rc = sw_plugin_torrent_set_metadata(t, bad, g_probe.info_len);
        free(bad);
    } else if (step == 1) {
        /* Larger than max_metadata_size (set to the size minus one). */
        rc = sw_plugin_torrent_set_metadata(t, g_probe.info, g_probe.info_len);
    } else {
        rc = sw_plugin_torrent_set_metadata(t, g_probe.info, g_probe.info_len);
    }
    uv_mutex_lock(&p->mu);
    p->results[step] = rc;
    p->had_metadata[step] = had;
    p->next = -1;
    uv_mutex_unlock(&p->mu);
    return SW_OK;
}

static int p_on_metadata(void *ctx, sw_plugin_torrent *t)
{
    (void)ctx;
    (void)t;
    __atomic_add_fetch(&g_probe.metadata_hooks, 1, __ATOMIC_SEQ_CST);
    return SW_OK;
}

static void p_destroy(void *ctx)
{
    (void)ctx;
}

static const sw_session_hooks probe_session = {
    .struct_size = sizeof(sw_session_hooks),
    .new_torrent = p_new_torrent,
};
static const sw_torrent_hooks probe_torrent = {
    .struct_size = sizeof(sw_torrent_hooks),
    .destroy = p_destroy,
    .on_tick = p_tick,
    .on_metadata = p_on_metadata,
};

SW_PLUGIN_ENTRY(probe)
{
    SW_PLUGIN_INIT2(host, errmsg);
    SW_PLUGIN_DESC_INIT(out, "probe", "1.0");
    out->session_hooks = &probe_session;
    out->torrent_hooks = &probe_torrent;
    return SW_OK;
}

/* Has the probe try `step` at its next tick and waits until it did. */
static void probe_try(int step)
{
    uv_mutex_lock(&g_probe.mu);
    g_probe.next = step;
    uv_mutex_unlock(&g_probe.mu);
    uint64_t deadline = sfx_now_ms() + SFX_WAIT_MS;
    for (;;) {
        uv_mutex_lock(&g_probe.mu);
        int next = g_probe.next;
        uv_mutex_unlock(&g_probe.mu);
        if (next < 0)
            return;
        assert_true(sfx_now_ms() < deadline);
        usleep(10000);
    }
}

static const fx_file files[] = {{"a.bin", 250000, false}, {"b/c.bin", 33333, false}};

static void test_engine_checks_metadata(void **state)
{
    (void)state;
    fx_torrent t;
    assert_int_equal(fx_make_torrent(&t, "meta", files, 2, 16384, 9, false), 0);
    memset(&g_probe, 0, sizeof g_probe);
    uv_mutex_init(&g_probe.mu);
    g_probe.info = sw_torrent_info_info_section(t.ti, &g_probe.info_len);
    sfx_dir sd, ld;
    sfx_dir_make(&sd);
    sfx_dir_make(&ld);
    sfx_write_torrent_data(&t, sd.path);
    sw_session *seeder = sfx_session(0, SW_ALERT_CAT_ALL);
    sw_session *leecher = sfx_session(0, SW_ALERT_CAT_ALL);
    sfx_add_seeding(seeder, t.ti, sd.path);

    g_probe.next = -1; /* the probe waits until the test says */
    sw_error_detail err;
    assert_int_equal(sw_session_add_extension(leecher, sw_plugin_probe_init, &err), 0);
    sw_torrent_handle hl = sfx_add_hash(leecher, &sw_torrent_info_hashes(t.ti)->v1, ld.path);
    sw_torrent_status st;
    assert_int_equal(sw_torrent_get_status(hl, &st), 0);
    assert_int_equal(st.state, SW_TORRENT_DOWNLOADING_METADATA);
    assert_false(st.has_metadata);
    assert_int_equal(st.num_pieces_total, 0);
    /* Without metadata there is nothing to prioritise or save yet. */
    sw_torrent_info *ti = NULL;
    assert_int_equal(sw_torrent_get_info(hl, &ti), SW_ERR_NOT_READY);
    assert_int_equal(sw_torrent_set_piece_priority(hl, 0, 4), SW_ERR_NOT_READY);
    assert_int_equal(sw_torrent_force_recheck(hl), SW_ERR_NOT_READY);
    char *save = NULL;
    assert_int_equal(sw_torrent_get_save_path(hl, &save), 0);
    assert_string_equal(save, ld.path);
    free(save);
    /* It already talks to peers (handshakes only). */
    assert_int_equal(sw_torrent_connect_peer(hl, "127.0.0.1", sfx_listen_port(seeder)), 0);

    /* A bad dictionary, one too large, then the right one twice. */
    probe_try(0);
    sw_alert *a = sfx_wait_alert(leecher, SW_ALERT_METADATA_FAILED, hl.id, SFX_WAIT_MS);
    assert_non_null(a);
    assert_int_equal(a->error, SW_ERR_METAINFO_HASH_MISMATCH);
    sw_alert_free(a);
    sfx_apply_setting(leecher, SW_SET_MAX_METADATA_SIZE, (int)g_probe.info_len - 1);
    probe_try(1);
    a = sfx_wait_alert(leecher, SW_ALERT_METADATA_FAILED, hl.id, SFX_WAIT_MS);
    assert_non_null(a);
    assert_int_equal(a->error, SW_ERR_METAINFO_TOO_LARGE);
    sw_alert_free(a);
    sfx_apply_setting(leecher, SW_SET_MAX_METADATA_SIZE, 1 << 20);
    probe_try(2);
    a = sfx_wait_alert(leecher, SW_ALERT_METADATA_RECEIVED, hl.id, SFX_WAIT_MS);
    assert_non_null(a);
    sw_alert_free(a);
    probe_try(3);
    uv_mutex_lock(&g_probe.mu);
    assert_int_equal(g_probe.results[0], SW_ERR_METAINFO_HASH_MISMATCH);
    assert_int_equal(g_probe.results[1], SW_ERR_METAINFO_TOO_LARGE);
    assert_int_equal(g_probe.results[2], 0);
    assert_int_equal(g_probe.results[3], SW_ERR_EXISTS);
    assert_false(g_probe.had_metadata[2]);
    assert_true(g_probe.had_metadata[3]);
    uv_mutex_unlock(&g_probe.mu);
    assert_int_equal(__atomic_load_n(&g_probe.metadata_hooks, __ATOMIC_SEQ_CST), 1);

    /* Now a torrent like any other: it downloads from the seed. */
    assert_true(sfx_wait_finished(hl, SFX_WAIT_MS));
    assert_true(sfx_torrent_data_equals(&t, ld.path));
    assert_int_equal(sw_torrent_get_status(hl, &st), 0);
    assert_true(st.has_metadata);
    assert_string_equal(st.name, "meta");
    assert_int_equal(sw_torrent_get_info(hl, &ti), 0);
    assert_memory_equal(sw_torrent_info_hashes(ti)->v1.v, sw_torrent_info_hashes(t.ti)->v1.v, 20);
    sw_torrent_info_unref(ti);

    sw_session_free(leecher);
    sw_session_free(seeder);
    uv_mutex_destroy(&g_probe.mu);
    sfx_dir_remove(&sd);
    sfx_dir_remove(&ld);
    fx_torrent_free(&t);
}

static void test_ut_metadata_between_sessions(void **state)
{
    (void)state;
    fx_torrent t;
    /* Enough pieces for metadata of more than one 16 KiB piece. */
    static const fx_file big[] = {{"big.bin", 20000000, false}};
    assert_int_equal(fx_make_torrent(&t, "big", big, 1, 16384, 4, true), 0);
    size_t info_len;
    sw_torrent_info_info_section(t.ti, &info_len);
    assert_true(info_len > 16384); /* two metadata pieces */
    sfx_dir sd, ld, tiny;
    sfx_dir_make(&sd);
    sfx_dir_make(&ld);
    sfx_dir_make(&tiny);
    sfx_write_torrent_data(&t, sd.path);
    sw_session *seeder = sfx_session(SW_SESSION_ADD_DEFAULT_PLUGINS, SW_ALERT_CAT_ERROR);
    sw_session *leecher = sfx_session(SW_SESSION_ADD_DEFAULT_PLUGINS, SW_ALERT_CAT_ALL);
    sw_session *small = sfx_session(SW_SESSION_ADD_DEFAULT_PLUGINS, SW_ALERT_CAT_ALL);
    sfx_apply_setting(small, SW_SET_MAX_METADATA_SIZE, (int)info_len - 1);
    sfx_add_seeding(seeder, t.ti, sd.path);
    const sw_sha1 *ih = &sw_torrent_info_hashes(t.ti)->v1;
    sw_torrent_handle hl = sfx_add_hash(leecher, ih, ld.path);
    sw_torrent_handle hsmall = sfx_add_hash(small, ih, tiny.path);
    assert_int_equal(sw_torrent_connect_peer(hl, "127.0.0.1", sfx_listen_port(seeder)), 0);
    assert_int_equal(sw_torrent_connect_peer(hsmall, "127.0.0.1", sfx_listen_port(seeder)), 0);
    sw_alert *a = sfx_wait_alert(leecher, SW_ALERT_METADATA_RECEIVED, hl.id, SFX_WAIT_MS);
    assert_non_null(a);
    sw_alert_free(a);
    assert_true(sfx_wait_finished(hl, 60000));
    assert_true(sfx_torrent_data_equals(&t, ld.path));
    /* Too large for the other session: never fetched. */
    sw_torrent_status st;
    assert_int_equal(sw_torrent_get_status(hsmall, &st), 0);
    assert_int_equal(st.state, SW_TORRENT_DOWNLOADING_METADATA);
    assert_int_equal(st.total_payload_download, 0);
    sw_session_free(small);
    sw_session_free(leecher);
    sw_session_free(seeder);
    sfx_dir_remove(&sd);
    sfx_dir_remove(&ld);
    sfx_dir_remove(&tiny);
    fx_torrent_free(&t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_engine_checks_metadata),
        cmocka_unit_test(test_ut_metadata_between_sessions),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
