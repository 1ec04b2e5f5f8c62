/* Unit tests for the settings registry (core/base/settings*.c): the table,
 * typed access by id and by name, text parsing, bencode save/load and the
 * generated reference in docs/settings.md.
 *
 * With SW_REGEN_DOCS=1 in the environment, the docs test rewrites
 * docs/settings.md from the table instead of comparing. */
#include <ctype.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <cswarm/settings.h>

#include "base/base.h"

#define DOCS_PATH SW_TEST_DATA_DIR "/../../docs/settings.md"

static sw_settings *new_settings(void)
{
    sw_settings *s = NULL;
    assert_int_equal(sw_settings_new(&s), 0);
    assert_non_null(s);
    return s;
}

static void test_table_is_well_formed(void **state)
{
    (void)state;
    assert_null(sw_setting_info_get(SW_SETTINGS_COUNT));
    assert_null(sw_setting_info_get((sw_setting_id)-1));
    const uint32_t known = SW_SETTINGS_CAT_SESSION | SW_SETTINGS_CAT_DHT | SW_SETTINGS_CAT_PROXY |
                           SW_SETTINGS_CAT_ENCRYPTION;
    for (int i = 0; i < SW_SETTINGS_COUNT; i++) {
        const sw_setting_info *info = sw_setting_info_get((sw_setting_id)i);
        assert_non_null(info);
        assert_int_equal(info->id, i);
        /* Names are lower-case identifiers (they are also Lua keys and
         * bencode keys). */
        assert_true(strlen(info->name) > 0);
        for (const char *p = info->name; *p; p++)
            assert_true(islower((unsigned char)*p) || isdigit((unsigned char)*p) || *p == '_');
        assert_true(info->type == SW_SETTING_STR || info->type == SW_SETTING_INT ||
                    info->type == SW_SETTING_BOOL);
        assert_true(info->category != 0);
        assert_int_equal(info->category & ~known, 0);
        if (info->type == SW_SETTING_STR)
            assert_non_null(info->str_default);
        /* One line, a sentence. */
        size_t doc_len = strlen(info->doc);
        assert_true(doc_len > 10);
        assert_null(strchr(info->doc, '\n'));
        assert_true(info->doc[doc_len - 1] == '.');
        /* Names are unique and found again. */
        sw_setting_id found;
        assert_int_equal(sw_setting_find(info->name, &found), 0);
        assert_int_equal(found, i);
    }
}

/* The settings the engine relies on, under libtorrent's names. */
static void test_required_names_exist(void **state)
{
    (void)state;
    static const char *const names[] = {"user_agent",
                                        "peer_fingerprint",
                                        "listen_interfaces",
                                        "enable_outgoing_tcp",
                                        "enable_incoming_tcp",
                                        "enable_outgoing_utp",
                                        "enable_incoming_utp",
                                        "enable_dht",
                                        "enable_lsd",
                                        "enable_upnp",
                                        "enable_natpmp",
                                        "dht_bootstrap_nodes",
                                        "alert_mask",
                                        "alert_queue_size",
                                        "connections_limit",
                                        "unchoke_slots_limit",
                                        "max_out_request_queue",
                                        "max_allowed_in_request_queue",
                                        "request_timeout",
                                        "peer_timeout",
                                        "inactivity_timeout",
                                        "handshake_timeout",
                                        "piece_timeout",
                                        "request_queue_time",
                                        "choking_algorithm",
                                        "seed_choking_algorithm",
                                        "optimistic_unchoke_interval",
                                        "unchoke_interval",
                                        "aio_threads",
                                        "hashing_threads",
                                        "file_pool_size",
                                        "max_queued_disk_bytes",
                                        "cache_size",
                                        "active_downloads",
                                        "active_seeds",
                                        "active_limit",
                                        "active_checking",
                                        "dont_count_slow_torrents",
                                        "auto_manage_interval",
                                        "share_ratio_limit",
                                        "seed_time_ratio_limit",
                                        "seed_time_limit",
                                        "upload_rate_limit",
                                        "download_rate_limit",
                                        "max_peerlist_size",
                                        "max_paused_peerlist_size",
                                        "min_reconnect_time",
                                        "max_failcount",
                                        "connection_speed",
                                        "allow_multiple_connections_per_ip",
                                        "prefer_udp_trackers",
                                        "announce_to_all_tiers",
                                        "announce_to_all_trackers",
                                        "tracker_completion_timeout",
                                        "tracker_receive_timeout",
                                        "stop_tracker_timeout",
                                        "num_want",
                                        "allowed_fast_set_size",
                                        "suggest_mode",
                                        "close_redundant_connections",
                                        "strict_end_game_mode",
                                        "mixed_mode_algorithm",
                                        "rate_limit_ip_overhead",
                                        "auto_scrape_interval",
                                        "peer_connect_timeout",
                                        "urlseed_timeout",
                                        "send_buffer_watermark",
                                        "recv_socket_buffer_size",
                                        "send_socket_buffer_size",
                                        "anonymous_mode",
                                        "out_enc_policy",
                                        "in_enc_policy",
                                        "allowed_enc_level",
                                        "plugin_search_path"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        sw_setting_id id;
        if (sw_setting_find(names[i], &id) != 0)
            fail_msg("missing setting %s", names[i]);
    }
}

static void test_defaults(void **state)
{
    (void)state;
    sw_settings *s = new_settings();
    for (int i = 0; i < SW_SETTINGS_COUNT; i++) {
        sw_setting_id id = (sw_setting_id)i;
        const sw_setting_info *info = sw_setting_info_get(id);
        assert_true(sw_settings_is_default(s, id));
        if (info->type == SW_SETTING_INT) {
            int v = -12345;
            assert_int_equal(sw_settings_get_int(s, id, &v), 0);
            assert_int_equal(v, info->int_default);
        } else if (info->type == SW_SETTING_BOOL) {
            bool v = !info->bool_default;
            assert_int_equal(sw_settings_get_bool(s, id, &v), 0);
            assert_int_equal(v, info->bool_default);
        } else {
            const char *v = NULL;
            assert_int_equal(sw_settings_get_str(s, id, &v), 0);
            assert_string_equal(v, info->str_default);
        }
    }
    /* A few defaults spelled out (libtorrent 2.0's, or cswarm's own). */
    int v;
    assert_int_equal(sw_settings_get_int(s, SW_SET_CONNECTIONS_LIMIT, &v), 0);
    assert_int_equal(v, 200);
    assert_int_equal(sw_settings_get_int(s, SW_SET_ALERT_QUEUE_SIZE, &v), 0);
    assert_int_equal(v, 2000);
    assert_int_equal(sw_settings_get_int(s, SW_SET_ALERT_MASK, &v), 0);
    assert_int_equal(v, 1);
    assert_int_equal(sw_settings_get_int(s, SW_SET_ACTIVE_DOWNLOADS, &v), 0);
    assert_int_equal(v, 3);
    assert_int_equal(sw_settings_get_int(s, SW_SET_OUT_ENC_POLICY, &v), 0);
    assert_int_equal(v, SW_PE_ENABLED);
    bool b;
    assert_int_equal(sw_settings_get_bool(s, SW_SET_ENABLE_DHT, &b), 0);
    assert_true(b);
    assert_int_equal(sw_settings_get_bool(s, SW_SET_ALLOW_MULTIPLE_CONNECTIONS_PER_IP, &b), 0);
    assert_false(b);
    const char *str;
    assert_int_equal(sw_settings_get_str(s, SW_SET_USER_AGENT, &str), 0);
    assert_string_equal(str, "cswarm/" SW_VERSION_STRING);
    assert_int_equal(sw_settings_get_str(s, SW_SET_PEER_FINGERPRINT, &str), 0);
    assert_int_equal(strlen(str), 8);
    assert_int_equal(sw_settings_get_str(s, SW_SET_PLUGIN_SEARCH_PATH, &str), 0);
    assert_string_equal(str, "");
    sw_settings_free(s);
    sw_settings_free(NULL);
}

static void test_set_get_by_id(void **state)
{
    (void)state;
    sw_settings *s = new_settings();
    assert_int_equal(sw_settings_set_int(s, SW_SET_ACTIVE_DOWNLOADS, 7), 0);
    assert_int_equal(sw_settings_set_bool(s, SW_SET_ENABLE_DHT, false), 0);
    assert_int_equal(sw_settings_set_str(s, SW_SET_USER_AGENT, "test/1.0"), 0);
    assert_false(sw_settings_is_default(s, SW_SET_ACTIVE_DOWNLOADS));
    assert_false(sw_settings_is_default(s, SW_SET_ENABLE_DHT));
    assert_false(sw_settings_is_default(s, SW_SET_USER_AGENT));

    int v;
    bool b;
    const char *str;
    assert_int_equal(sw_settings_get_int(s, SW_SET_ACTIVE_DOWNLOADS, &v), 0);
    assert_int_equal(v, 7);
    assert_int_equal(sw_settings_get_bool(s, SW_SET_ENABLE_DHT, &b), 0);
    assert_false(b);
    assert_int_equal(sw_settings_get_str(s, SW_SET_USER_AGENT, &str), 0);
    assert_string_equal(str, "test/1.0");
    /* The engine-side getters see the same values. */
    assert_int_equal(sw__settings_int(s, SW_SET_ACTIVE_DOWNLOADS), 7);
    assert_false(sw__settings_bool(s, SW_SET_ENABLE_DHT));
    assert_string_equal(sw__settings_str(s, SW_SET_USER_AGENT), "test/1.0");

    /* A copy is independent. */
    sw_settings *c = NULL;
    assert_int_equal(sw_settings_copy(s, &c), 0);
    assert_true(sw__settings_same(s, c, SW_SET_USER_AGENT));
    assert_int_equal(sw_settings_set_str(s, SW_SET_USER_AGENT, "other"), 0);
    assert_int_equal(sw_settings_set_int(s, SW_SET_ACTIVE_DOWNLOADS, 9), 0);
    assert_false(sw__settings_same(s, c, SW_SET_USER_AGENT));
    assert_false(sw__settings_same(s, c, SW_SET_ACTIVE_DOWNLOADS));
    assert_true(sw__settings_same(s, c, SW_SET_ENABLE_DHT));
    assert_int_equal(sw_settings_get_str(c, SW_SET_USER_AGENT, &str), 0);
    assert_string_equal(str, "test/1.0");
    assert_int_equal(sw_settings_get_int(c, SW_SET_ACTIVE_DOWNLOADS, &v), 0);
    assert_int_equal(v, 7);

    /* Setting a value equal to the default counts as default. */
    assert_int_equal(sw_settings_set_int(c, SW_SET_ACTIVE_DOWNLOADS, 3), 0);
    assert_true(sw_settings_is_default(c, SW_SET_ACTIVE_DOWNLOADS));
    assert_int_equal(sw_settings_set_str(c, SW_SET_USER_AGENT, "cswarm/" SW_VERSION_STRING), 0);
    assert_true(sw_settings_is_default(c, SW_SET_USER_AGENT));

    /* Reset. */
    assert_int_equal(sw_settings_reset(s, SW_SET_USER_AGENT), 0);
    assert_int_equal(sw_settings_reset(s, SW_SET_ENABLE_DHT), 0);
    assert_true(sw_settings_is_default(s, SW_SET_USER_AGENT));
    assert_true(sw_settings_is_default(s, SW_SET_ENABLE_DHT));
    assert_int_equal(sw_settings_reset(s, SW_SETTINGS_COUNT), SW_ERR_UNKNOWN_SETTING);

    sw_settings_free(c);
    sw_settings_free(s);
}

static void test_type_errors(void **state)
{
    (void)state;
    sw_settings *s = new_settings();
    int v = 99;
    bool b = true;
    const char *str = "unchanged";
    assert_int_equal(sw_settings_get_int(s, SW_SET_ENABLE_DHT, &v), SW_ERR_SETTING_TYPE);
    assert_int_equal(sw_settings_get_int(s, SW_SET_USER_AGENT, &v), SW_ERR_SETTING_TYPE);
    assert_int_equal(v, 99);
    assert_int_equal(sw_settings_get_bool(s, SW_SET_CONNECTIONS_LIMIT, &b), SW_ERR_SETTING_TYPE);
    assert_int_equal(sw_settings_get_str(s, SW_SET_CONNECTIONS_LIMIT, &str), SW_ERR_SETTING_TYPE);
    assert_string_equal(str, "unchanged");
    assert_int_equal(sw_settings_set_int(s, SW_SET_ENABLE_DHT, 1), SW_ERR_SETTING_TYPE);
    assert_int_equal(sw_settings_set_bool(s, SW_SET_CONNECTIONS_LIMIT, true), SW_ERR_SETTING_TYPE);
    assert_int_equal(sw_settings_set_str(s, SW_SET_CONNECTIONS_LIMIT, "5"), SW_ERR_SETTING_TYPE);
    assert_true(sw_settings_is_default(s, SW_SET_CONNECTIONS_LIMIT));
    assert_true(sw_settings_is_default(s, SW_SET_ENABLE_DHT));

    assert_int_equal(sw_settings_set_int(s, SW_SETTINGS_COUNT, 1), SW_ERR_UNKNOWN_SETTING);
    assert_int_equal(sw_settings_get_int(s, (sw_setting_id)-1, &v), SW_ERR_UNKNOWN_SETTING);
    assert_int_equal(sw_settings_set_str(s, SW_SET_USER_AGENT, NULL), SW_ERR_INVALID_ARG);
    assert_int_equal(sw_settings_get_int(NULL, SW_SET_CONNECTIONS_LIMIT, &v), SW_ERR_INVALID_ARG);
    assert_false(sw_settings_is_default(s, SW_SETTINGS_COUNT));
    sw_settings_free(s);
}

static void test_by_name(void **state)
{
    (void)state;
    sw_settings *s = new_settings();
    assert_int_equal(sw_settings_set_int_by_name(s, "active_seeds", 11), 0);
    assert_int_equal(sw_settings_set_bool_by_name(s, "enable_lsd", false), 0);
    assert_int_equal(sw_settings_set_str_by_name(s, "listen_interfaces", "127.0.0.1:0"), 0);
    int v;
    bool b;
    const char *str;
    assert_int_equal(sw_settings_get_int_by_name(s, "active_seeds", &v), 0);
    assert_int_equal(v, 11);
    assert_int_equal(sw_settings_get_int(s, SW_SET_ACTIVE_SEEDS, &v), 0);
    assert_int_equal(v, 11);
    assert_int_equal(sw_settings_get_bool_by_name(s, "enable_lsd", &b), 0);
    assert_false(b);
    assert_int_equal(sw_settings_get_str_by_name(s, "listen_interfaces", &str), 0);
    assert_string_equal(str, "127.0.0.1:0");

    /* Unknown names, near misses and wrong types. */
    assert_int_equal(sw_settings_set_int_by_name(s, "no_such_setting", 1), SW_ERR_UNKNOWN_SETTING);
    assert_int_equal(sw_settings_get_int_by_name(s, "Active_seeds", &v), SW_ERR_UNKNOWN_SETTING);
    assert_int_equal(sw_settings_get_int_by_name(s, "active_seeds ", &v), SW_ERR_UNKNOWN_SETTING);
    assert_int_equal(sw_settings_get_int_by_name(s, "", &v), SW_ERR_UNKNOWN_SETTING);
    assert_int_equal(sw_settings_get_int_by_name(s, NULL, &v), SW_ERR_UNKNOWN_SETTING);
    assert_int_equal(sw_settings_get_bool_by_name(s, "active_seeds", &b), SW_ERR_SETTING_TYPE);
    assert_int_equal(sw_settings_set_str_by_name(s, "enable_lsd", "x"), SW_ERR_SETTING_TYPE);
    sw_setting_id id = SW_SET_USER_AGENT;
    assert_int_equal(sw_setting_find("bogus", &id), SW_ERR_UNKNOWN_SETTING);
    assert_int_equal(id, SW_SET_USER_AGENT);
    sw_settings_free(s);
}

static void expect_text(sw_settings *s, const char *name, const char *text, int rc)
{
    int got = sw_settings_set_text(s, name, text);
    if (got != rc)
        fail_msg("%s=\"%s\": expected %s, got %s", name, text, sw_err_name(rc), sw_err_name(got));
}

static void test_text_parsing(void **state)
{
    (void)state;
    sw_settings *s = new_settings();
    int v;
    expect_text(s, "connections_limit", "42", 0);
    assert_int_equal(sw__settings_int(s, SW_SET_CONNECTIONS_LIMIT), 42);
    expect_text(s, "unchoke_slots_limit", "-1", 0);
    assert_int_equal(sw__settings_int(s, SW_SET_UNCHOKE_SLOTS_LIMIT), -1);
    expect_text(s, "num_want", "+7", 0);
    assert_int_equal(sw__settings_int(s, SW_SET_NUM_WANT), 7);
    expect_text(s, "download_rate_limit", "2147483647", 0);
    assert_int_equal(sw__settings_int(s, SW_SET_DOWNLOAD_RATE_LIMIT), INT_MAX);
    expect_text(s, "upload_rate_limit", "-2147483648", 0);
    assert_int_equal(sw__settings_int(s, SW_SET_UPLOAD_RATE_LIMIT), INT_MIN);

    /* Text an int cannot hold leaves the setting unchanged. */
    static const char *const bad_ints[] = {"2147483648", "-2147483649", "99999999999999999999",
                                           "",           " 5",          "5 ",
                                           "0x10",       "1e3",         "abc",
                                           "4k",         "+",           "-",
                                           "--1",        "1.5",         "true"};
    for (size_t i = 0; i < sizeof bad_ints / sizeof bad_ints[0]; i++)
        expect_text(s, "connections_limit", bad_ints[i], SW_ERR_SETTING_TYPE);
    assert_int_equal(sw_settings_get_int(s, SW_SET_CONNECTIONS_LIMIT, &v), 0);
    assert_int_equal(v, 42);

    expect_text(s, "enable_dht", "false", 0);
    assert_false(sw__settings_bool(s, SW_SET_ENABLE_DHT));
    expect_text(s, "enable_dht", "true", 0);
    assert_true(sw__settings_bool(s, SW_SET_ENABLE_DHT));
    expect_text(s, "enable_dht", "0", 0);
    assert_false(sw__settings_bool(s, SW_SET_ENABLE_DHT));
    expect_text(s, "enable_dht", "1", 0);
    assert_true(sw__settings_bool(s, SW_SET_ENABLE_DHT));
    static const char *const bad_bools[] = {"yes", "no", "TRUE", "False", "2", "", " 1", "on"};
    for (size_t i = 0; i < sizeof bad_bools / sizeof bad_bools[0]; i++)
        expect_text(s, "enable_dht", bad_bools[i], SW_ERR_SETTING_TYPE);
    assert_true(sw__settings_bool(s, SW_SET_ENABLE_DHT));

    expect_text(s, "dht_bootstrap_nodes", "", 0);
    assert_string_equal(sw__settings_str(s, SW_SET_DHT_BOOTSTRAP_NODES), "");
    expect_text(s, "user_agent", " spaced out ", 0);
    assert_string_equal(sw__settings_str(s, SW_SET_USER_AGENT), " spaced out ");
    expect_text(s, "nonexistent", "1", SW_ERR_UNKNOWN_SETTING);

    /* name=value assignments, as given to --set. */
    assert_int_equal(sw_settings_apply_assignment(s, "active_downloads=12"), 0);
    assert_int_equal(sw__settings_int(s, SW_SET_ACTIVE_DOWNLOADS), 12);
    assert_int_equal(sw_settings_apply_assignment(s, "user_agent=a=b"), 0);
    assert_string_equal(sw__settings_str(s, SW_SET_USER_AGENT), "a=b");
    assert_int_equal(sw_settings_apply_assignment(s, "proxy_hostname="), 0);
    assert_string_equal(sw__settings_str(s, SW_SET_PROXY_HOSTNAME), "");
    assert_int_equal(sw_settings_apply_assignment(s, "enable_upnp=false"), 0);
    assert_false(sw__settings_bool(s, SW_SET_ENABLE_UPNP));
    assert_int_equal(sw_settings_apply_assignment(s, "active_downloads"), SW_ERR_INVALID_ARG);
    assert_int_equal(sw_settings_apply_assignment(s, "=5"), SW_ERR_INVALID_ARG);
    assert_int_equal(sw_settings_apply_assignment(s, ""), SW_ERR_INVALID_ARG);
    assert_int_equal(sw_settings_apply_assignment(s, "active_downloadz=1"), SW_ERR_UNKNOWN_SETTING);
    assert_int_equal(sw_settings_apply_assignment(s, "active_downloads =1"),
                     SW_ERR_UNKNOWN_SETTING);
    assert_int_equal(sw_settings_apply_assignment(s, "active_downloads=x"), SW_ERR_SETTING_TYPE);
    assert_int_equal(sw__settings_int(s, SW_SET_ACTIVE_DOWNLOADS), 12);
    assert_int_equal(sw_settings_apply_assignment(NULL, "a=1"), SW_ERR_INVALID_ARG);
    sw_settings_free(s);
}

/* Decodes buf and returns how many keys its root dictionary has, failing if
 * any key is not a setting or is outside categories. */
static size_t count_saved_keys(const uint8_t *buf, size_t len, uint32_t categories)
{
    sw_bdoc *doc = NULL;
    assert_int_equal(sw_bdecode(buf, len, NULL, &doc, NULL), 0);
    sw_bnode root = sw_bdoc_root(doc);
    assert_true(sw_bnode_is(root, SW_BNODE_DICT));
    size_t n = sw_bnode_len(root);
    for (size_t i = 0; i < n; i++) {
        sw_bnode key, value;
        assert_true(sw_bnode_dict_at(root, i, &key, &value));
        size_t klen;
        const char *k = sw_bnode_str(key, &klen);
        char name[128];
        assert_true(klen < sizeof name);
        memcpy(name, k, klen);
        name[klen] = '\0';
        sw_setting_id id;
        if (sw_setting_find(name, &id) != 0)
            fail_msg("saved key %s is not a setting", name);
        assert_true((sw_setting_info_get(id)->category & categories) != 0);
    }
    sw_bdoc_free(doc);
    return n;
}

static void assert_same_settings(const sw_settings *a, const sw_settings *b)
{
    for (int i = 0; i < SW_SETTINGS_COUNT; i++) {
        if (!sw__settings_same(a, b, (sw_setting_id)i))
            fail_msg("setting %s differs", sw_setting_info_get((sw_setting_id)i)->name);
    }
}

static sw_settings *changed_settings(void)
{
    sw_settings *s = new_settings();
    assert_int_equal(sw_settings_set_int(s, SW_SET_ACTIVE_DOWNLOADS, 8), 0);
    assert_int_equal(sw_settings_set_int(s, SW_SET_UPLOAD_RATE_LIMIT, -5), 0);
    assert_int_equal(sw_settings_set_bool(s, SW_SET_ENABLE_LSD, false), 0);
    assert_int_equal(sw_settings_set_str(s, SW_SET_USER_AGENT, "round/trip \xc3\xa9"), 0);
    assert_int_equal(sw_settings_set_str(s, SW_SET_DHT_BOOTSTRAP_NODES, ""), 0);
    assert_int_equal(sw_settings_set_bool(s, SW_SET_DHT_READ_ONLY, true), 0);
    assert_int_equal(sw_settings_set_str(s, SW_SET_PROXY_HOSTNAME, "proxy.example"), 0);
    assert_int_equal(sw_settings_set_int(s, SW_SET_OUT_ENC_POLICY, SW_PE_FORCED), 0);
    return s;
}

static void test_save_load_round_trip(void **state)
{
    (void)state;
    sw_settings *s = changed_settings();
    uint8_t *buf = NULL;
    size_t len = 0;

    /* Only the eight changed settings are written. */
    assert_int_equal(sw_settings_save_buf(s, SW_SETTINGS_CAT_ALL, 0, &buf, &len), 0);
    assert_int_equal(count_saved_keys(buf, len, SW_SETTINGS_CAT_ALL), 8);
    sw_settings *t = new_settings();
    sw_error_detail err = {0};
    assert_int_equal(sw_settings_load_buf(t, buf, len, SW_SETTINGS_CAT_ALL, &err), 0);
    assert_same_settings(s, t);
    free(buf);
    sw_settings_free(t);

    /* With SW_SETTINGS_SAVE_ALL, every setting is written. */
    assert_int_equal(sw_settings_save_buf(s, SW_SETTINGS_CAT_ALL, SW_SETTINGS_SAVE_ALL, &buf, &len),
                     0);
    assert_int_equal(count_saved_keys(buf, len, SW_SETTINGS_CAT_ALL), SW_SETTINGS_COUNT);
    /* Loading everything onto a differently changed object restores s. */
    t = new_settings();
    assert_int_equal(sw_settings_set_int(t, SW_SET_CONNECTIONS_LIMIT, 1), 0);
    assert_int_equal(sw_settings_load_buf(t, buf, len, SW_SETTINGS_CAT_ALL, NULL), 0);
    assert_same_settings(s, t);
    free(buf);
    sw_settings_free(t);

    /* Nested in a larger document through the encoder. */
    sw_bencoder *enc = NULL;
    assert_int_equal(sw_benc_new(&enc), 0);
    assert_int_equal(sw_benc_dict_begin(enc), 0);
    assert_int_equal(sw_benc_ckey(enc, "settings"), 0);
    assert_int_equal(sw_settings_save(s, SW_SETTINGS_CAT_ALL, 0, enc), 0);
    assert_int_equal(sw_benc_end(enc), 0);
    assert_int_equal(sw_benc_finish(enc, &buf, &len), 0);
    sw_benc_free(enc);
    sw_bdoc *doc = NULL;
    assert_int_equal(sw_bdecode(buf, len, NULL, &doc, NULL), 0);
    t = new_settings();
    assert_int_equal(sw_settings_load(t, sw_bnode_dict_get(sw_bdoc_root(doc), "settings"),
                                      SW_SETTINGS_CAT_ALL, NULL),
                     0);
    assert_same_settings(s, t);
    sw_bdoc_free(doc);
    free(buf);
    sw_settings_free(t);
    sw_settings_free(s);
}

static void test_save_load_by_category(void **state)
{
    (void)state;
    sw_settings *s = changed_settings();
    uint8_t *buf = NULL;
    size_t len = 0;

    /* Saving the DHT category writes only the two changed DHT settings. */
    assert_int_equal(sw_settings_save_buf(s, SW_SETTINGS_CAT_DHT, 0, &buf, &len), 0);
    assert_int_equal(count_saved_keys(buf, len, SW_SETTINGS_CAT_DHT), 2);
    free(buf);
    assert_int_equal(
        sw_settings_save_buf(s, SW_SETTINGS_CAT_PROXY | SW_SETTINGS_CAT_ENCRYPTION, 0, &buf, &len),
        0);
    assert_int_equal(count_saved_keys(buf, len, SW_SETTINGS_CAT_PROXY | SW_SETTINGS_CAT_ENCRYPTION),
                     2);
    free(buf);
    assert_int_equal(sw_settings_save_buf(s, 0, SW_SETTINGS_SAVE_ALL, &buf, &len), 0);
    assert_int_equal(len, 2); /* "de" */
    assert_memory_equal(buf, "de", 2);
    free(buf);

    /* Loading with a category filter applies only that category. */
    assert_int_equal(sw_settings_save_buf(s, SW_SETTINGS_CAT_ALL, 0, &buf, &len), 0);
    sw_settings *t = new_settings();
    assert_int_equal(sw_settings_load_buf(t, buf, len, SW_SETTINGS_CAT_SESSION, NULL), 0);
    assert_int_equal(sw__settings_int(t, SW_SET_ACTIVE_DOWNLOADS), 8);
    assert_false(sw__settings_bool(t, SW_SET_ENABLE_LSD));
    assert_true(sw_settings_is_default(t, SW_SET_DHT_BOOTSTRAP_NODES));
    assert_true(sw_settings_is_default(t, SW_SET_DHT_READ_ONLY));
    assert_true(sw_settings_is_default(t, SW_SET_PROXY_HOSTNAME));
    assert_true(sw_settings_is_default(t, SW_SET_OUT_ENC_POLICY));
    free(buf);
    sw_settings_free(t);
    sw_settings_free(s);
}

static void expect_load_error(const char *bencode, int code, const char *detail_contains)
{
    sw_settings *s = new_settings();
    assert_int_equal(sw_settings_set_int(s, SW_SET_ACTIVE_SEEDS, 77), 0);
    sw_settings *before = NULL;
    assert_int_equal(sw_settings_copy(s, &before), 0);
    sw_error_detail err = {0};
    int rc = sw_settings_load_buf(s, bencode, strlen(bencode), SW_SETTINGS_CAT_ALL, &err);
    if (rc != code)
        fail_msg("loading %s: expected %s, got %s", bencode, sw_err_name(code), sw_err_name(rc));
    assert_int_equal(err.code, code);
    if (detail_contains && !strstr(err.message, detail_contains))
        fail_msg("detail \"%s\" lacks \"%s\"", err.message, detail_contains);
    /* All or nothing: nothing changed, even the valid keys. */
    assert_same_settings(s, before);
    sw_settings_free(before);
    sw_settings_free(s);
}

static void test_load_rejects_bad_values(void **state)
{
    (void)state;
    /* Valid active_downloads first, then a wrong-typed key. */
    expect_load_error("d16:active_downloadsi9e10:user_agenti5ee", SW_ERR_SETTING_TYPE,
                      "user_agent");
    expect_load_error("d16:active_downloads1:9e", SW_ERR_SETTING_TYPE, "active_downloads");
    expect_load_error("d16:active_downloadsli1eee", SW_ERR_SETTING_TYPE, "active_downloads");
    expect_load_error("d16:active_downloadsi2147483648ee", SW_ERR_SETTING_TYPE, "active_downloads");
    expect_load_error("d16:active_downloadsi-2147483649ee", SW_ERR_SETTING_TYPE,
                      "active_downloads");
    expect_load_error("d10:enable_dhti2ee", SW_ERR_SETTING_TYPE, "enable_dht");
    expect_load_error("d10:enable_dhti-1ee", SW_ERR_SETTING_TYPE, "enable_dht");
    expect_load_error("d10:enable_dht4:truee", SW_ERR_SETTING_TYPE, "enable_dht");
    expect_load_error("d10:user_agentdee", SW_ERR_SETTING_TYPE, "user_agent");
    /* A NUL byte inside a string value. */
    sw_settings *s = new_settings();
    static const char nul[] = "d10:user_agent3:a\0be";
    assert_int_equal(sw_settings_load_buf(s, nul, sizeof nul - 1, SW_SETTINGS_CAT_ALL, NULL),
                     SW_ERR_SETTING_TYPE);
    assert_true(sw_settings_is_default(s, SW_SET_USER_AGENT));
    sw_settings_free(s);

    /* Not a dictionary, or not bencode at all. */
    expect_load_error("li1ee", SW_ERR_INVALID_ARG, NULL);
    expect_load_error("4:spam", SW_ERR_INVALID_ARG, NULL);
    expect_load_error("d16:active_downloads", SW_ERR_BENCODE_EOF, NULL);
    expect_load_error("", SW_ERR_BENCODE_EOF, NULL);
    expect_load_error("x", SW_ERR_BENCODE_SYNTAX, NULL);
}

static void test_load_ignores_unknown_and_unselected(void **state)
{
    (void)state;
    sw_settings *s = new_settings();
    /* Unknown keys of any type, a wrong-typed key of an unselected category
     * (DHT while loading SESSION) and a known good key. */
    static const char doc[] = "d16:active_downloadsi4e19:dht_bootstrap_nodesi5e"
                              "12:future_thingli1ee3:zzz3:abce";
    assert_int_equal(sw_settings_load_buf(s, doc, sizeof doc - 1, SW_SETTINGS_CAT_SESSION, NULL),
                     0);
    assert_int_equal(sw__settings_int(s, SW_SET_ACTIVE_DOWNLOADS), 4);
    assert_true(sw_settings_is_default(s, SW_SET_DHT_BOOTSTRAP_NODES));
    /* The same document with the DHT category selected is rejected. */
    assert_int_equal(sw_settings_load_buf(s, doc, sizeof doc - 1, SW_SETTINGS_CAT_ALL, NULL),
                     SW_ERR_SETTING_TYPE);

    /* Unsorted and duplicate keys (lenient bencode): the first one wins. */
    static const char dup[] = "d16:active_downloadsi1e10:enable_dhti0e16:active_downloadsi2ee";
    assert_int_equal(sw_settings_load_buf(s, dup, sizeof dup - 1, SW_SETTINGS_CAT_ALL, NULL), 0);
    assert_int_equal(sw__settings_int(s, SW_SET_ACTIVE_DOWNLOADS), 1);
    assert_false(sw__settings_bool(s, SW_SET_ENABLE_DHT));

    /* An empty dictionary changes nothing. */
    assert_int_equal(sw_settings_load_buf(s, "de", 2, SW_SETTINGS_CAT_ALL, NULL), 0);
    assert_int_equal(sw__settings_int(s, SW_SET_ACTIVE_DOWNLOADS), 1);
    sw_settings_free(s);
}

static char *read_file(const char *path, size_t *len_out)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    size_t cap = 1 << 16, len = 0;
    char *buf = malloc(cap);
    assert_non_null(buf);
    size_t n;
    while ((n = fread(buf + len, 1, cap - len, f)) > 0) {
        len += n;
        if (len == cap) {
            cap *= 2;
            buf = realloc(buf, cap);
            assert_non_null(buf);
        }
    }
    fclose(f);
    *len_out = len;
    return buf;
}

static void test_markdown_matches_docs(void **state)
{
    (void)state;
    char *md = NULL;
    size_t md_len = 0;
    assert_int_equal(sw_settings_markdown(&md, &md_len), 0);
    assert_int_equal(strlen(md), md_len);

    /* Every setting is one table row. */
    size_t rows = 0;
    for (const char *p = md; (p = strstr(p, "\n| `")) != NULL; p++)
        rows++;
    assert_int_equal(rows, SW_SETTINGS_COUNT);
    assert_non_null(strstr(md, "| `active_downloads` | int | `3` |"));
    assert_non_null(strstr(md, "| `enable_dht` | bool | `true` |"));
    assert_non_null(strstr(md, "| `plugin_search_path` | string | `\"\"` |"));

    const char *regen = getenv("SW_REGEN_DOCS");
    if (regen && strcmp(regen, "1") == 0) {
        FILE *f = fopen(DOCS_PATH, "wb");
        assert_non_null(f);
        assert_int_equal(fwrite(md, 1, md_len, f), md_len);
        assert_int_equal(fclose(f), 0);
    }
    size_t doc_len = 0;
    char *doc = read_file(DOCS_PATH, &doc_len);
    if (!doc)
        fail_msg("cannot read %s", DOCS_PATH);
    if (doc_len != md_len || memcmp(doc, md, md_len) != 0)
        fail_msg("docs/settings.md is out of date: run test_settings with SW_REGEN_DOCS=1");
    free(doc);
    free(md);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_table_is_well_formed),
        cmocka_unit_test(test_required_names_exist),
        cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_set_get_by_id),
        cmocka_unit_test(test_type_errors),
        cmocka_unit_test(test_by_name),
        cmocka_unit_test(test_text_parsing),
        cmocka_unit_test(test_save_load_round_trip),
        cmocka_unit_test(test_save_load_by_category),
        cmocka_unit_test(test_load_rejects_bad_values),
        cmocka_unit_test(test_load_ignores_unknown_and_unselected),
        cmocka_unit_test(test_markdown_matches_docs),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
