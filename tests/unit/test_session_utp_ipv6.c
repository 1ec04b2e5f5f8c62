/* uTP over IPv6: sessions listening on 127.0.0.1 and [::1] open a UDP
 * socket for each family (a listen_succeeded alert of socket type UDP for
 * each, on the TCP listeners' port), and two of them with TCP off transfer
 * a torrent over uTP through [::1], in large datagrams once path MTU
 * discovery has proved them. */
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

static uint64_t now_ms(void)
{
    struct timeval tv;
    gettimeofday(&tv, NULL);
    return (uint64_t)tv.tv_sec * 1000 + (uint64_t)tv.tv_usec / 1000;
}

typedef struct tmpdir {
    char path[256];
} tmpdir;

static void tmpdir_make(tmpdir *d)
{
    snprintf(d->path, sizeof d->path, "/tmp/sw-utp6-XXXXXX");
    assert_non_null(mkdtemp(d->path));
}

static void tmpdir_remove(tmpdir *d)
{
    char cmd[320];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", d->path);
    assert_int_equal(system(cmd), 0);
}

static char *file_path(const tmpdir *d, const sw_file_entry *f)
{
    static char path[512];
    snprintf(path, sizeof path, "%s/%s", d->path, f->path);
    for (char *c = path + strlen(d->path) + 1; *c; c++) {
        if (*c == '/') {
            *c = '\0';
            mkdir(path, 0777);
            *c = '/';
        }
    }
    return path;
}

typedef struct listen_seen {
    int tcp_v4, tcp_v6, udp_v4, udp_v6;
    uint16_t udp_port_v4, udp_port_v6;
} listen_seen;

/* uTP only (TCP off both ways), listening on 127.0.0.1 and [::1]. */
static sw_session *new_session(listen_seen *seen)
{
    sw_settings *s;
    assert_int_equal(sw_settings_new(&s), 0);
    assert_int_equal(sw_settings_set_str(s, SW_SET_LISTEN_INTERFACES, "127.0.0.1:0"), 0);
    assert_int_equal(sw_settings_set_bool(s, SW_SET_ENABLE_DHT, false), 0);
    assert_int_equal(sw_settings_set_bool(s, SW_SET_ENABLE_LSD, false), 0);
    assert_int_equal(sw_settings_set_bool(s, SW_SET_ENABLE_UPNP, false), 0);
    assert_int_equal(sw_settings_set_bool(s, SW_SET_ENABLE_NATPMP, false), 0);
    assert_int_equal(sw_settings_set_bool(s, SW_SET_ENABLE_OUTGOING_TCP, false), 0);
    assert_int_equal(sw_settings_set_bool(s, SW_SET_ENABLE_INCOMING_TCP, false), 0);
    sw_session_params p;
    sw_session_params_init(&p);
    p.settings = s;
    p.alert_mask = SW_ALERT_CAT_ALL;
    p.flags = 0;
    sw_session *ses = NULL;
    assert_int_equal(sw_session_new(&p, &ses), 0);
    sw_settings_free(s);
    assert_int_equal(sw_session_listen_on(ses, 0, 0, "127.0.0.1,::1", 0), 0);
    memset(seen, 0, sizeof *seen);
    uint64_t deadline = now_ms() + WAIT_MS;
    while (now_ms() < deadline && (seen->udp_v4 == 0 || seen->udp_v6 == 0)) {
        sw_session_wait_for_alert(ses, 50);
        sw_alert *a;
        while (sw_session_pop_alert(ses, &a) == 0 && a) {
            if (a->type == SW_ALERT_LISTEN_SUCCEEDED) {
                bool v6 = strchr(a->payload.listen.ip, ':') != NULL;
                if (a->payload.listen.socket_type == SW_SOCKET_UDP) {
                    if (v6) {
                        seen->udp_v6++;
                        seen->udp_port_v6 = a->payload.listen.port;
                    } else {
                        seen->udp_v4++;
                        seen->udp_port_v4 = a->payload.listen.port;
                    }
                } else if (a->payload.listen.socket_type == SW_SOCKET_TCP) {
                    if (v6)
                        seen->tcp_v6++;
                    else
                        seen->tcp_v4++;
                }
            }
            sw_alert_free(a);
        }
    }
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

static const fx_file one_file[] = {{"data.bin", 2 * 1024 * 1024 + 333, false}};

static void test_utp_over_ipv6_loopback(void **state)
{
    (void)state;
    fx_torrent t;
    assert_int_equal(fx_make_torrent(&t, "utp6", one_file, 1, 65536, 3, false), 0);
    tmpdir seed_dir, dl_dir;
    tmpdir_make(&seed_dir);
    tmpdir_make(&dl_dir);
    const sw_file_entry *f = sw_torrent_info_file(t.ti, 0);
    FILE *fp = fopen(file_path(&seed_dir, f), "wb");
    assert_non_null(fp);
    assert_int_equal(fwrite(t.data, 1, (size_t)f->size, fp), (size_t)f->size);
    fclose(fp);

    listen_seen ls, ld;
    sw_session *seeder = new_session(&ls);
    sw_session *leecher = new_session(&ld);
    uint16_t port = 0;
    assert_int_equal(sw_session_listen_port(seeder, &port), 0);
    /* One TCP listener and one UDP socket per family, the UDP ones on the
     * TCP port (it was free on both). */
    assert_int_equal(ls.tcp_v4, 1);
    assert_int_equal(ls.tcp_v6, 1);
    assert_int_equal(ls.udp_v4, 1);
    assert_int_equal(ls.udp_v6, 1);
    assert_int_equal(ls.udp_port_v4, port);
    assert_int_equal(ls.udp_port_v6, port);
    assert_int_equal(ld.udp_v6, 1);

    sw_torrent_handle hs = add(seeder, t.ti, seed_dir.path);
    assert_true(wait_state(hs, SW_TORRENT_SEEDING, WAIT_MS));
    sw_torrent_handle hl = add(leecher, t.ti, dl_dir.path);
    assert_true(wait_state(hl, SW_TORRENT_DOWNLOADING, WAIT_MS));
    assert_int_equal(sw_torrent_connect_peer(hl, "::1", port), 0);

    bool utp_v6_peer = false;
    uint64_t deadline = now_ms() + WAIT_MS;
    while (now_ms() < deadline) {
        sw_peer_info *peers = NULL;
        size_t n = 0;
        assert_int_equal(sw_torrent_get_peer_info(hl, &peers, &n), 0);
        for (size_t i = 0; i < n; i++)
            if (peers[i].connection_type == SW_SOCKET_UTP && strcmp(peers[i].ip, "::1") == 0 &&
                peers[i].total_download > 0)
                utp_v6_peer = true;
        free(peers);
        sw_torrent_status st;
        assert_int_equal(sw_torrent_get_status(hl, &st), 0);
        if (st.is_finished)
            break;
        usleep(10000);
    }
    assert_true(utp_v6_peer);
    assert_true(wait_state(hl, SW_TORRENT_SEEDING, WAIT_MS));
    sw_session_status ss;
    assert_int_equal(sw_session_get_status(leecher, &ss), 0);
    assert_true(ss.utp_status.payload_pkts_in > 0);
    /* Another cswarm on ::1: the seeder's probes (IPV6_MTU_DISCOVER with
     * don't-fragment) proved 16 KiB datagrams, so the payload came in far
     * fewer packets than 1400-byte ones would take. */
    printf("  %llu payload packets for %llu bytes\n",
           (unsigned long long)ss.utp_status.payload_pkts_in, (unsigned long long)f->size);
    assert_true(ss.utp_status.payload_pkts_in < (uint64_t)f->size / 4096);
    assert_int_equal(ss.utp_status.invalid_pkts_in, 0);

    /* The file arrived whole. */
    FILE *in = fopen(file_path(&dl_dir, f), "rb");
    assert_non_null(in);
    uint8_t *buf = malloc((size_t)f->size + 1);
    assert_int_equal(fread(buf, 1, (size_t)f->size + 1, in), (size_t)f->size);
    fclose(in);
    assert_memory_equal(buf, t.data, (size_t)f->size);
    free(buf);

    sw_session_free(leecher);
    sw_session_free(seeder);
    tmpdir_remove(&seed_dir);
    tmpdir_remove(&dl_dir);
    fx_torrent_free(&t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_utp_over_ipv6_loopback),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
