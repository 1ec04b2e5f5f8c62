/* mixed_mode_algorithm: the TCP peers' share by peer count (the formula),
 * and its effect on a torrent downloading from a TCP seed and a uTP seed at
 * once on 127.0.0.1 (limits apply to local peers here, with
 * ignore_limits_on_local_network off). The TCP seed uploads at most four
 * times as fast as the uTP seed: under prefer_tcp the downloader takes what
 * each gives (TCP about four fifths), under peer_proportional it holds the
 * TCP peer to half its download rate, so TCP's share falls towards one
 * half. */
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
#include "peer/mixed_mode.h"

#define WAIT_MS 30000
#define UTP_SEED_RATE (256 * 1024)
#define TCP_SEED_RATE (1024 * 1024)

static void test_tcp_limit_formula(void **state)
{
    (void)state;
    /* prefer_tcp: never a limit. */
    assert_int_equal(sw__mixed_mode_tcp_limit(SW_MIXED_PREFER_TCP, 1, 1, 1000000, 5000), 0);
    /* No uTP peer active: no limit. */
    assert_int_equal(sw__mixed_mode_tcp_limit(SW_MIXED_PEER_PROPORTIONAL, 3, 0, 1000000, 5000), 0);
    /* By peer count. */
    assert_int_equal(sw__mixed_mode_tcp_limit(SW_MIXED_PEER_PROPORTIONAL, 1, 1, 1000000, 5000),
                     500000);
    assert_int_equal(sw__mixed_mode_tcp_limit(SW_MIXED_PEER_PROPORTIONAL, 1, 3, 1000000, 5000),
                     250000);
    assert_int_equal(sw__mixed_mode_tcp_limit(SW_MIXED_PEER_PROPORTIONAL, 3, 1, 1000000, 5000),
                     750000);
    /* No TCP peer active counts as one (a TCP peer may start any time). */
    assert_int_equal(sw__mixed_mode_tcp_limit(SW_MIXED_PEER_PROPORTIONAL, 0, 1, 1000000, 5000),
                     500000);
    /* Never below the floor, however slow the session is now. */
    assert_int_equal(sw__mixed_mode_tcp_limit(SW_MIXED_PEER_PROPORTIONAL, 1, 1, 0, 30000), 30000);
    assert_int_equal(sw__mixed_mode_tcp_limit(SW_MIXED_PEER_PROPORTIONAL, 1, 9, -5, 5000), 5000);
    /* Large rates do not overflow. */
    assert_int_equal(
        sw__mixed_mode_tcp_limit(SW_MIXED_PEER_PROPORTIONAL, 1000, 1, INT64_C(1) << 40, 0),
        INT32_MAX);
}

/* ---- sessions ---- */

typedef struct tmpdir {
    char path[256];
} tmpdir;

static void tmpdir_make(tmpdir *d)
{
    snprintf(d->path, sizeof d->path, "/tmp/sw-mixed-XXXXXX");
    assert_non_null(mkdtemp(d->path));
}

static void tmpdir_remove(tmpdir *d)
{
    char cmd[320];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", d->path);
    assert_int_equal(system(cmd), 0);
}

static uint64_t now_ms(void)
{
    struct timeval tv;
    gettimeofday(&tv, NULL);
    return (uint64_t)tv.tv_sec * 1000 + (uint64_t)tv.tv_usec / 1000;
}

static void put_file(const tmpdir *d, const sw_file_entry *f, const uint8_t *data)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", d->path, f->path);
    for (char *c = path + strlen(d->path) + 1; *c; c++) {
        if (*c == '/') {
            *c = '\0';
            mkdir(path, 0777);
            *c = '/';
        }
    }
    FILE *fp = fopen(path, "wb");
    assert_non_null(fp);
    assert_int_equal(fwrite(data, 1, (size_t)f->size, fp), (size_t)f->size);
    fclose(fp);
}

static sw_session *new_session(bool utp, bool tcp, int mixed_mode, int upload_limit,
                               bool rate_limit_utp)
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
    assert_int_equal(sw_settings_set_bool(s, SW_SET_IGNORE_LIMITS_ON_LOCAL_NETWORK, false), 0);
    assert_int_equal(sw_settings_set_int(s, SW_SET_MIXED_MODE_ALGORITHM, mixed_mode), 0);
    assert_int_equal(sw_settings_set_int(s, SW_SET_UPLOAD_RATE_LIMIT, upload_limit), 0);
    assert_int_equal(sw_settings_set_bool(s, SW_SET_RATE_LIMIT_UTP, rate_limit_utp), 0);
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

static bool wait_state(sw_torrent_handle h, sw_torrent_state state, int timeout_ms)
{
    uint64_t deadline = now_ms() + (uint64_t)timeout_ms;
    while (now_ms() < deadline) {
        sw_torrent_status st;
        assert_int_equal(sw_torrent_get_status(h, &st), 0);
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
    return port;
}

static const fx_file one_file[] = {{"data.bin", 4 * 1024 * 1024, false}};

/* Downloads from a TCP-only seed and a uTP-only seed (uploading at most
 * TCP_SEED_RATE and UTP_SEED_RATE); returns the fraction of the payload the TCP seed sent. */
static double tcp_share(int mixed_mode)
{
    fx_torrent t;
    assert_int_equal(fx_make_torrent(&t, "mixed", one_file, 1, 16384, 5, false), 0);
    tmpdir tcp_dir, utp_dir, dl_dir;
    tmpdir_make(&tcp_dir);
    tmpdir_make(&utp_dir);
    tmpdir_make(&dl_dir);
    const sw_file_entry *f = sw_torrent_info_file(t.ti, 0);
    put_file(&tcp_dir, f, t.data);
    put_file(&utp_dir, f, t.data);
    sw_session *tcp_seed = new_session(false, true, SW_MIXED_PREFER_TCP, TCP_SEED_RATE, true);
    sw_session *utp_seed = new_session(true, false, SW_MIXED_PREFER_TCP, UTP_SEED_RATE, true);
    sw_session *dl = new_session(true, true, mixed_mode, 0, true);
    sw_torrent_handle ht = add(tcp_seed, t.ti, tcp_dir.path);
    sw_torrent_handle hu = add(utp_seed, t.ti, utp_dir.path);
    assert_true(wait_state(ht, SW_TORRENT_SEEDING, WAIT_MS));
    assert_true(wait_state(hu, SW_TORRENT_SEEDING, WAIT_MS));
    sw_torrent_handle hd = add(dl, t.ti, dl_dir.path);
    assert_true(wait_state(hd, SW_TORRENT_DOWNLOADING, WAIT_MS));
    /* The uTP seed first, so it is carrying data when the TCP seed joins. */
    assert_int_equal(sw_torrent_connect_peer(hd, "127.0.0.1", port_of(utp_seed)), 0);
    int64_t by_type[2] = {0, 0};
    bool tcp_added = false;
    uint64_t deadline = now_ms() + WAIT_MS;
    bool finished = false;
    while (now_ms() < deadline) {
        sw_peer_info *peers = NULL;
        size_t n = 0;
        assert_int_equal(sw_torrent_get_peer_info(hd, &peers, &n), 0);
        for (size_t i = 0; i < n; i++) {
            int k = peers[i].connection_type == SW_SOCKET_UTP ? 1 : 0;
            if (peers[i].total_download > by_type[k])
                by_type[k] = peers[i].total_download;
            if (k == 1 && peers[i].total_download > 0 && !tcp_added) {
                assert_int_equal(sw_torrent_connect_peer(hd, "127.0.0.1", port_of(tcp_seed)), 0);
                tcp_added = true;
            }
        }
        free(peers);
        sw_torrent_status st;
        assert_int_equal(sw_torrent_get_status(hd, &st), 0);
        if (st.is_finished) {
            finished = true;
            break;
        }
        usleep(10000);
    }
    assert_true(finished);
    sw_session_free(dl);
    sw_session_free(utp_seed);
    sw_session_free(tcp_seed);
    tmpdir_remove(&tcp_dir);
    tmpdir_remove(&utp_dir);
    tmpdir_remove(&dl_dir);
    fx_torrent_free(&t);
    int64_t total = by_type[0] + by_type[1];
    printf("  mixed_mode_algorithm %d: TCP %lld, uTP %lld bytes\n", mixed_mode,
           (long long)by_type[0], (long long)by_type[1]);
    assert_true(total > 0);
    assert_true(by_type[0] > 0); /* both seeds took part */
    assert_true(by_type[1] > 0);
    return (double)by_type[0] / (double)total;
}

static void test_prefer_tcp_against_peer_proportional(void **state)
{
    (void)state;
    double prefer = tcp_share(SW_MIXED_PREFER_TCP);
    double proportional = tcp_share(SW_MIXED_PEER_PROPORTIONAL);
    printf("  TCP share: prefer_tcp %.2f, peer_proportional %.2f\n", prefer, proportional);
    assert_true(prefer > 0.7);
    assert_true(proportional < 0.7);
    assert_true(proportional < prefer - 0.1);
}

/* Seconds a uTP-only download of the torrent takes from a seed whose
 * session upload limit is UTP_SEED_RATE. */
static double utp_download_seconds(bool rate_limit_utp)
{
    fx_torrent t;
    assert_int_equal(fx_make_torrent(&t, "utp-limit", one_file, 1, 16384, 9, false), 0);
    tmpdir seed_dir, dl_dir;
    tmpdir_make(&seed_dir);
    tmpdir_make(&dl_dir);
    put_file(&seed_dir, sw_torrent_info_file(t.ti, 0), t.data);
    sw_session *seed = new_session(true, false, SW_MIXED_PREFER_TCP, UTP_SEED_RATE, rate_limit_utp);
    sw_session *dl = new_session(true, false, SW_MIXED_PREFER_TCP, 0, true);
    sw_torrent_handle hs = add(seed, t.ti, seed_dir.path);
    assert_true(wait_state(hs, SW_TORRENT_SEEDING, WAIT_MS));
    sw_torrent_handle hd = add(dl, t.ti, dl_dir.path);
    assert_true(wait_state(hd, SW_TORRENT_DOWNLOADING, WAIT_MS));
    uint64_t start = now_ms();
    assert_int_equal(sw_torrent_connect_peer(hd, "127.0.0.1", port_of(seed)), 0);
    assert_true(wait_state(hd, SW_TORRENT_SEEDING, WAIT_MS));
    double secs = (double)(now_ms() - start) / 1000.0;
    sw_session_free(dl);
    sw_session_free(seed);
    tmpdir_remove(&seed_dir);
    tmpdir_remove(&dl_dir);
    fx_torrent_free(&t);
    return secs;
}

/* rate_limit_utp: on, a uTP peer is held to the session's upload limit
 * (4 MiB at 256 KiB/s: about 16 s; the test stops waiting well before);
 * off, it passes. */
static void test_rate_limit_utp(void **state)
{
    (void)state;
    double free_secs = utp_download_seconds(false);
    printf("  rate_limit_utp off: %.2f s\n", free_secs);
    assert_true(free_secs < 5.0);
    fx_torrent t;
    assert_int_equal(fx_make_torrent(&t, "utp-limit", one_file, 1, 16384, 9, false), 0);
    tmpdir seed_dir, dl_dir;
    tmpdir_make(&seed_dir);
    tmpdir_make(&dl_dir);
    put_file(&seed_dir, sw_torrent_info_file(t.ti, 0), t.data);
    sw_session *seed = new_session(true, false, SW_MIXED_PREFER_TCP, UTP_SEED_RATE, true);
    sw_session *dl = new_session(true, false, SW_MIXED_PREFER_TCP, 0, true);
    sw_torrent_handle hs = add(seed, t.ti, seed_dir.path);
    assert_true(wait_state(hs, SW_TORRENT_SEEDING, WAIT_MS));
    sw_torrent_handle hd = add(dl, t.ti, dl_dir.path);
    assert_true(wait_state(hd, SW_TORRENT_DOWNLOADING, WAIT_MS));
    assert_int_equal(sw_torrent_connect_peer(hd, "127.0.0.1", port_of(seed)), 0);
    /* After two seconds at most about 2.2 s * 256 KiB/s (plus a 200 ms
     * burst) has arrived. */
    usleep(2000 * 1000);
    sw_torrent_status st;
    assert_int_equal(sw_torrent_get_status(hd, &st), 0);
    printf("  rate_limit_utp on: %lld bytes after 2 s\n", (long long)st.total_payload_download);
    assert_true(st.total_payload_download > 0);
    assert_true(st.total_payload_download < 1024 * 1024);
    sw_session_free(dl);
    sw_session_free(seed);
    tmpdir_remove(&seed_dir);
    tmpdir_remove(&dl_dir);
    fx_torrent_free(&t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tcp_limit_formula),
        cmocka_unit_test(test_prefer_tcp_against_peer_proportional),
        cmocka_unit_test(test_rate_limit_utp),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
