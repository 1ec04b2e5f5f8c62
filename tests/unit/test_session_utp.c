/* uTP as a session transport, through the public API on 127.0.0.1: two
 * sessions with TCP off transfer a torrent over uTP (the peer_connect
 * alert names uTP, the data matches, utp_status counts the packets and its
 * sockets wind down after the peers part); a uTP-only downloader cannot
 * reach a seeder whose enable_incoming_utp was switched off at run time
 * (settings follow), and a TCP-only one cannot reach a uTP-only seeder. */
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

#define WAIT_MS 20000

typedef struct tmpdir {
    char path[256];
} tmpdir;

static void tmpdir_make(tmpdir *d)
{
    snprintf(d->path, sizeof d->path, "/tmp/sw-utp-session-XXXXXX");
    assert_non_null(mkdtemp(d->path));
}

static void tmpdir_remove(tmpdir *d)
{
    char cmd[320];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", d->path);
    assert_int_equal(system(cmd), 0);
}

static void write_whole(const char *path, const uint8_t *data, size_t len)
{
    char dir[512];
    snprintf(dir, sizeof dir, "%s", path);
    for (char *p = dir + 1; *p; p++) {
        if (*p == '/') {
            *p = '\0';
            mkdir(dir, 0777);
            *p = '/';
        }
    }
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    if (len)
        assert_int_equal(fwrite(data, 1, len, f), len);
    fclose(f);
}

static bool file_equals(const char *path, const uint8_t *data, size_t len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return false;
    uint8_t *buf = malloc(len + 1);
    size_t got = fread(buf, 1, len + 1, f);
    fclose(f);
    bool same = got == len && memcmp(buf, data, len) == 0;
    free(buf);
    return same;
}

static uint64_t now_ms(void)
{
    struct timeval tv;
    gettimeofday(&tv, NULL);
    return (uint64_t)tv.tv_sec * 1000 + (uint64_t)tv.tv_usec / 1000;
}

/* utp / tcp: which transports the session may use (both directions). */
static sw_session *new_session(bool utp, bool tcp)
{
    sw_settings *s;
    assert_int_equal(sw_settings_new(&s), 0);
    assert_int_equal(sw_settings_set_str(s, SW_SET_LISTEN_INTERFACES, "127.0.0.1:0"), 0);
    assert_int_equal(sw_settings_set_bool(s, SW_SET_ENABLE_DHT, false), 0);
    assert_int_equal(sw_settings_set_bool(s, SW_SET_ENABLE_LSD, false), 0);
    assert_int_equal(sw_settings_set_bool(s, SW_SET_ENABLE_UPNP, false), 0);
    assert_int_equal(sw_settings_set_bool(s, SW_SET_ENABLE_NATPMP, false), 0);
    assert_int_equal(sw_settings_set_bool(s, SW_SET_ENABLE_OUTGOING_UTP, utp), 0);
    assert_int_equal(sw_settings_set_bool(s, SW_SET_ENABLE_INCOMING_UTP, utp), 0);
    assert_int_equal(sw_settings_set_bool(s, SW_SET_ENABLE_OUTGOING_TCP, tcp), 0);
    assert_int_equal(sw_settings_set_bool(s, SW_SET_ENABLE_INCOMING_TCP, tcp), 0);
    sw_session_params p;
    sw_session_params_init(&p);
    p.settings = s;
    p.alert_mask = SW_ALERT_CAT_ALL;
    p.flags = 0;
    sw_session *ses = NULL;
    assert_int_equal(sw_session_new(&p, &ses), 0);
    sw_settings_free(s);
    assert_int_equal(sw_session_listen_on(ses, 0, 0, "127.0.0.1", 0), 0);
    return ses;
}

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

static sw_torrent_handle add(sw_session *ses, sw_torrent_info *ti, const char *dir)
{
    sw_add_torrent_params p;
    sw_add_torrent_params_init(&p);
    p.ti = ti;
    p.save_path = dir;
    sw_torrent_handle h;
    sw_error_detail err;
    int rc = sw_session_add_torrent(ses, &p, &h, &err);
    if (rc != 0)
        fail_msg("add_torrent: %s", err.message);
    return h;
}

static sw_torrent_status status_of(sw_torrent_handle h)
{
    sw_torrent_status st;
    assert_int_equal(sw_torrent_get_status(h, &st), 0);
    return st;
}

static bool wait_state(sw_torrent_handle h, sw_torrent_state state, int timeout_ms)
{
    uint64_t deadline = now_ms() + (uint64_t)timeout_ms;
    while (now_ms() < deadline) {
        sw_torrent_status st = status_of(h);
        if (st.state == state && !st.error)
            return true;
        usleep(20000);
    }
    return false;
}

static uint16_t port_of(sw_session *ses)
{
    uint16_t port = 0;
    assert_int_equal(sw_session_listen_port(ses, &port), 0);
    assert_true(port > 0);
    return port;
}

static sw_utp_status utp_of(sw_session *ses)
{
    sw_session_status st;
    assert_int_equal(sw_session_get_status(ses, &st), 0);
    return st.utp_status;
}

static const fx_file one_file[] = {{"data.bin", 3 * 1024 * 1024 + 77, false}};

typedef struct pair {
    fx_torrent t;
    tmpdir seed_dir, dl_dir;
    sw_session *seeder, *leecher;
    sw_torrent_handle hs, hl;
} pair;

static void pair_setup(pair *p, bool seed_utp, bool seed_tcp, bool dl_utp, bool dl_tcp)
{
    memset(p, 0, sizeof *p);
    assert_int_equal(fx_make_torrent(&p->t, "utp", one_file, 1, 65536, 11, false), 0);
    tmpdir_make(&p->seed_dir);
    tmpdir_make(&p->dl_dir);
    const sw_file_entry *f = sw_torrent_info_file(p->t.ti, 0);
    char path[512];
    snprintf(path, sizeof path, "%s/%s", p->seed_dir.path, f->path);
    write_whole(path, p->t.data, (size_t)f->size);
    p->seeder = new_session(seed_utp, seed_tcp);
    p->leecher = new_session(dl_utp, dl_tcp);
    p->hs = add(p->seeder, p->t.ti, p->seed_dir.path);
    assert_true(wait_state(p->hs, SW_TORRENT_SEEDING, WAIT_MS));
    p->hl = add(p->leecher, p->t.ti, p->dl_dir.path);
    assert_true(wait_state(p->hl, SW_TORRENT_DOWNLOADING, WAIT_MS));
}

static void pair_teardown(pair *p)
{
    sw_session_free(p->leecher);
    sw_session_free(p->seeder);
    tmpdir_remove(&p->seed_dir);
    tmpdir_remove(&p->dl_dir);
    fx_torrent_free(&p->t);
}

static bool utp_sockets_gone(sw_session *ses)
{
    sw_utp_status u = utp_of(ses);
    return u.num_idle + u.num_syn_sent + u.num_connected + u.num_fin_sent + u.num_close_wait == 0;
}

static void test_transfer_over_utp_only(void **state)
{
    (void)state;
    pair p;
    pair_setup(&p, true, false, true, false);
    assert_int_equal(sw_torrent_connect_peer(p.hl, "127.0.0.1", port_of(p.seeder)), 0);
    sw_alert *a = wait_alert(p.leecher, SW_ALERT_PEER_CONNECT, WAIT_MS);
    assert_non_null(a);
    assert_int_equal(a->payload.peer.socket_type, SW_SOCKET_UTP);
    sw_alert_free(a);
    a = wait_alert(p.leecher, SW_ALERT_TORRENT_FINISHED, WAIT_MS);
    assert_non_null(a);
    sw_alert_free(a);
    const sw_file_entry *f = sw_torrent_info_file(p.t.ti, 0);
    char path[512];
    snprintf(path, sizeof path, "%s/%s", p.dl_dir.path, f->path);
    assert_true(file_equals(path, p.t.data, (size_t)f->size));

    sw_utp_status dl = utp_of(p.leecher), up = utp_of(p.seeder);
    size_t size = (size_t)f->size;
    /* The payload came in uTP packets: at most 16 KiB each, so at least
     * size / 16 KiB of them. */
    assert_true(dl.payload_pkts_in >= size / 16384);
    assert_true(up.payload_pkts_out >= size / 16384);
    assert_true(dl.packets_out > 0 && up.packets_in > 0);
    /* The sender probed the path for larger packets; none was refused. */
    assert_true(up.mtu_probes > 0);
    assert_int_equal(up.mtu_probes_toobig, 0);
    assert_int_equal(dl.invalid_pkts_in, 0);
    assert_int_equal(up.invalid_pkts_in, 0);
    /* Both are seeds now and part; the sockets finish their FINs. */
    uint64_t deadline = now_ms() + WAIT_MS;
    while (now_ms() < deadline && !(utp_sockets_gone(p.leecher) && utp_sockets_gone(p.seeder)))
        usleep(50000);
    assert_true(utp_sockets_gone(p.leecher));
    assert_true(utp_sockets_gone(p.seeder));
    pair_teardown(&p);
}

/* The leecher dials for a while; nothing may arrive. */
static void expect_no_transfer(pair *p)
{
    for (int i = 0; i < 3; i++) {
        assert_int_equal(sw_torrent_connect_peer(p->hl, "127.0.0.1", port_of(p->seeder)), 0);
        usleep(700000);
    }
    sw_torrent_status st = status_of(p->hl);
    assert_int_equal(st.total_payload_download, 0);
    assert_int_equal(status_of(p->hs).num_peers, 0);
}

static void test_incoming_utp_switched_off(void **state)
{
    (void)state;
    pair p;
    pair_setup(&p, true, false, true, false);
    sw_settings *s;
    assert_int_equal(sw_session_get_settings(p.seeder, &s), 0);
    assert_int_equal(sw_settings_set_bool(s, SW_SET_ENABLE_INCOMING_UTP, false), 0);
    assert_int_equal(sw_session_apply_settings(p.seeder, s), 0);
    sw_settings_free(s);
    expect_no_transfer(&p);
    pair_teardown(&p);
}

static void test_tcp_only_cannot_reach_utp_only(void **state)
{
    (void)state;
    pair p;
    pair_setup(&p, true, false, false, true);
    expect_no_transfer(&p);
    assert_int_equal(utp_of(p.leecher).packets_out, 0);
    pair_teardown(&p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_transfer_over_utp_only),
        cmocka_unit_test(test_incoming_utp_switched_off),
        cmocka_unit_test(test_tcp_only_cannot_reach_utp_only),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
