/* The session's IP and port filters and per-torrent connection limits
 * between cswarm sessions on loopback. Two distinct addresses come from the
 * loopback network: seeders listen on every address, so a peer may dial
 * 127.0.0.2, while every connection is made from 127.0.0.1. Shown: a
 * filtered address is never dialled and never accepted (peer_blocked alerts
 * with the reason, no handshake), an exempt torrent still connects both
 * ways, a new filter drops a live connection, the port filter refuses
 * dialling a blocked port, filters read back, and max_connections and
 * max_uploads hold and are enforced when lowered. */
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

#define MASK                                                                                       \
    (SW_ALERT_CAT_ERROR | SW_ALERT_CAT_STATUS | SW_ALERT_CAT_IP_BLOCK | SW_ALERT_CAT_PEER |        \
     SW_ALERT_CAT_DEBUG)

/* A seeder that accepts on every loopback address. */
static sw_session *seeder_session(void)
{
    sw_session *ses = sfx_session(0, MASK);
    assert_int_equal(sw_session_listen_on(ses, 0, 0, "0.0.0.0", 0), 0);
    return ses;
}

/* A downloader whose rate limits hold on loopback too. */
static sw_session *downloader_session(void)
{
    sw_session *ses = sfx_session(0, MASK);
    sfx_apply_setting(ses, SW_SET_IGNORE_LIMITS_ON_LOCAL_NETWORK, false);
    return ses;
}

static sw_torrent_handle add(sw_session *ses, sw_torrent_info *ti, const char *dir, bool apply)
{
    sw_add_torrent_params p;
    sw_add_torrent_params_init(&p);
    p.ti = ti;
    p.save_path = dir;
    if (!apply)
        p.flags &= ~(uint64_t)SW_ADD_APPLY_IP_FILTER;
    return sfx_add_params(ses, &p);
}

static void block_ip(sw_session *ses, const char *ip)
{
    sw_ip_filter *f;
    assert_int_equal(sw_ip_filter_new(&f), 0);
    assert_int_equal(sw_ip_filter_add_rule(f, ip, ip, SW_FILTER_BLOCKED), 0);
    assert_int_equal(sw_session_set_ip_filter(ses, f), 0);
    sw_ip_filter_free(f);
}

/* What a session's alerts showed while waiting. */
typedef struct seen {
    int blocked;       /* peer_blocked alerts matching */
    int connects;      /* peer_connect alerts */
    int incoming;      /* incoming_connection alerts */
    uint64_t tid;      /* torrent id of the last matching peer_blocked */
    int last_reason;   /* of the last matching peer_blocked */
    uint64_t want_tid; /* count peer_blocked alerts about this torrent ... */
    int blocked_for;   /* ... here */
} seen;

/* Pops alerts for ms milliseconds (or until a peer_blocked for ip arrives
 * when stop_on_block), counting what matters. */
static void watch(sw_session *ses, const char *ip, int ms, bool stop_on_block, seen *s)
{
    uint64_t deadline = sfx_now_ms() + (uint64_t)ms;
    while (sfx_now_ms() < deadline) {
        sw_session_wait_for_alert(ses, 50);
        sw_alert *a;
        while (sw_session_pop_alert(ses, &a) == 0 && a) {
            if (a->type == SW_ALERT_PEER_BLOCKED && strcmp(a->payload.peer.peer.ip, ip) == 0) {
                s->blocked++;
                s->tid = a->torrent_id;
                s->last_reason = a->payload.peer.reason;
                if (s->want_tid && a->torrent_id == s->want_tid)
                    s->blocked_for++;
            } else if (a->type == SW_ALERT_PEER_CONNECT) {
                s->connects++;
            } else if (a->type == SW_ALERT_INCOMING_CONNECTION) {
                s->incoming++;
            }
            sw_alert_free(a);
        }
        if (stop_on_block && s->blocked > 0)
            return;
    }
}

static int session_peers(sw_session *ses)
{
    sw_session_status st;
    assert_int_equal(sw_session_get_status(ses, &st), 0);
    return st.num_peers;
}

static bool has_peers(const sw_torrent_status *st, void *n)
{
    return st->num_peers == *(int *)n;
}

static bool wait_peers(sw_torrent_handle h, int n, int ms)
{
    return sfx_wait_status(h, has_peers, &n, ms);
}

typedef sfx_payload world;

/* One file of size bytes, from seed. */
static void world_make(world *w, int64_t size, uint32_t seed)
{
    fx_file files[1] = {{"f.bin", size, false}};
    sfx_payload_make(w, "filter", files, 1, 65536, seed, true);
}

/* w's torrent added to S from the complete copy, once it seeds. */
static sw_torrent_handle add_seed(world *w, sw_session *S, bool apply_filter)
{
    sw_torrent_handle h = add(S, w->t.ti, w->seed_dir.path, apply_filter);
    assert_true(sfx_wait_state(h, SW_TORRENT_SEEDING, SFX_WAIT_MS));
    return h;
}

/* w's torrent added to D with no data, once it is checked and wants it. */
static sw_torrent_handle add_download(world *w, sw_session *D, bool apply_filter)
{
    sw_torrent_handle h = add(D, w->t.ti, w->dl_dir.path, apply_filter);
    assert_true(sfx_wait_state(h, SW_TORRENT_DOWNLOADING, SFX_WAIT_MS));
    return h;
}

static void test_outgoing_blocked(void **state)
{
    (void)state;
    world w;
    world_make(&w, 512 * 1024, 11);
    sw_session *S = seeder_session(), *D = downloader_session();
    add_seed(&w, S, true);
    block_ip(D, "127.0.0.2");
    sw_torrent_handle hd = add_download(&w, D, true);

    /* connect_peer to the blocked address: refused before any dialling. */
    assert_int_equal(sw_torrent_connect_peer(hd, "127.0.0.2", sfx_listen_port(S)), 0);
    seen sd = {0};
    watch(D, "127.0.0.2", SFX_WAIT_MS, true, &sd);
    assert_int_equal(sd.blocked, 1);
    assert_int_equal(sd.last_reason, SW_BLOCKED_IP_FILTER);
    assert_int_equal(sd.tid, hd.id);
    seen ss = {0};
    watch(S, "-", 1000, false, &ss);
    assert_int_equal(ss.incoming, 0);
    assert_int_equal(session_peers(S), 0);
    assert_int_equal(sfx_status(hd).num_peers, 0);
    assert_int_equal(sfx_status(hd).list_peers, 0); /* never joined the list */

    /* The filter reads back. */
    sw_ip_filter *f;
    assert_int_equal(sw_session_get_ip_filter(D, &f), 0);
    uint32_t flags;
    assert_int_equal(sw_ip_filter_access(f, "127.0.0.2", &flags), 0);
    assert_int_equal(flags, SW_FILTER_BLOCKED);
    assert_int_equal(sw_ip_filter_access(f, "127.0.0.1", &flags), 0);
    assert_int_equal(flags, 0);
    sw_ip_filter_free(f);

    /* The same seeder at an address the filter allows. */
    sfx_connect(hd, S);
    assert_true(sfx_wait_finished(hd, SFX_WAIT_MS));
    assert_true(sfx_torrent_data_equals(&w.t, w.dl_dir.path));

    /* Cleared: 127.0.0.2 may be dialled again. */
    assert_int_equal(sw_session_set_ip_filter(D, NULL), 0);
    assert_int_equal(sw_session_get_ip_filter(D, &f), 0);
    assert_int_equal(sw_ip_filter_access(f, "127.0.0.2", &flags), 0);
    assert_int_equal(flags, 0);
    sw_ip_filter_free(f);

    sw_session_free(D);
    sw_session_free(S);
    sfx_payload_free(&w);
}

static void test_incoming_blocked(void **state)
{
    (void)state;
    world w;
    world_make(&w, 512 * 1024, 12);
    sw_session *S = seeder_session(), *D = downloader_session();
    block_ip(S, "127.0.0.1");
    sw_torrent_handle hs = add_seed(&w, S, true);
    sw_torrent_handle hd = add_download(&w, D, true);

    /* D dials 127.0.0.2 from 127.0.0.1: S refuses at accept, before the
     * handshake names the torrent (no torrent in the alert). */
    assert_int_equal(sw_torrent_connect_peer(hd, "127.0.0.2", sfx_listen_port(S)), 0);
    seen ss = {0};
    watch(S, "127.0.0.1", SFX_WAIT_MS, true, &ss);
    assert_int_equal(ss.blocked, 1);
    assert_int_equal(ss.last_reason, SW_BLOCKED_IP_FILTER);
    assert_int_equal(ss.tid, 0);
    watch(S, "127.0.0.1", 1500, false, &ss);
    assert_int_equal(ss.incoming, 0);
    assert_int_equal(ss.connects, 0);
    assert_int_equal(session_peers(S), 0);
    sw_torrent_status st = sfx_status(hd);
    assert_int_equal(st.num_peers, 0);
    assert_int_equal(st.total_payload_download, 0);
    assert_int_equal(sfx_status(hs).total_upload, 0);

    sw_session_free(D);
    sw_session_free(S);
    sfx_payload_free(&w);
}

static void test_exempt_torrent_connects(void **state)
{
    (void)state;
    world w;
    world_make(&w, 512 * 1024, 13);
    sw_session *S = seeder_session(), *D = downloader_session();
    /* Each blocks the other's address; both torrents are exempt. */
    block_ip(S, "127.0.0.1");
    block_ip(D, "127.0.0.2");
    add_seed(&w, S, false);
    sw_torrent_handle hd = add_download(&w, D, false);
    assert_int_equal(sw_torrent_connect_peer(hd, "127.0.0.2", sfx_listen_port(S)), 0);
    assert_true(sfx_wait_finished(hd, SFX_WAIT_MS));
    assert_true(sfx_torrent_data_equals(&w.t, w.dl_dir.path));
    sw_session_free(D);
    sw_session_free(S);
    sfx_payload_free(&w);
}

static void test_new_filter_drops_connection(void **state)
{
    (void)state;
    world w;
    world_make(&w, 2 * 1024 * 1024, 14);
    sw_session *S = seeder_session(), *D = downloader_session();
    sw_torrent_handle hs = add_seed(&w, S, true);
    sw_torrent_handle hd = add_download(&w, D, true);
    /* Slow, so the transfer is still going when the filter comes. */
    assert_int_equal(sw_torrent_set_download_limit(hd, 64 * 1024), 0);
    sfx_connect(hd, S);
    assert_true(wait_peers(hs, 1, SFX_WAIT_MS));
    sfx_drain(S);

    block_ip(S, "127.0.0.1");
    seen ss = {0};
    watch(S, "127.0.0.1", SFX_WAIT_MS, true, &ss);
    assert_int_equal(ss.blocked, 1);
    assert_int_equal(ss.tid, hs.id);
    assert_true(wait_peers(hs, 0, SFX_WAIT_MS));
    assert_true(wait_peers(hd, 0, SFX_WAIT_MS));
    /* It stays out, and the download stays unfinished. */
    usleep(1500000);
    assert_int_equal(sfx_status(hs).num_peers, 0);
    assert_false(sfx_status(hd).is_finished);

    sw_session_free(D);
    sw_session_free(S);
    sfx_payload_free(&w);
}

static void test_port_filter(void **state)
{
    (void)state;
    world w;
    world_make(&w, 256 * 1024, 15);
    sw_session *S = seeder_session(), *D = downloader_session();
    add_seed(&w, S, true);
    uint16_t port = sfx_listen_port(S);
    sw_port_filter *pf;
    assert_int_equal(sw_port_filter_new(&pf), 0);
    assert_int_equal(sw_port_filter_add_rule(pf, port, port, SW_FILTER_BLOCKED), 0);
    assert_int_equal(sw_session_set_port_filter(D, pf), 0);
    sw_port_filter_free(pf);
    sw_torrent_handle hd = add_download(&w, D, true);
    assert_int_equal(sw_torrent_connect_peer(hd, "127.0.0.1", port), 0);
    seen sd = {0};
    watch(D, "127.0.0.1", SFX_WAIT_MS, true, &sd);
    assert_int_equal(sd.blocked, 1);
    assert_int_equal(sd.last_reason, SW_BLOCKED_PORT_FILTER);
    usleep(500000);
    assert_int_equal(session_peers(S), 0);

    /* Read back; cleared, the same peer connects. */
    assert_int_equal(sw_session_get_port_filter(D, &pf), 0);
    uint32_t flags;
    assert_int_equal(sw_port_filter_access(pf, port, &flags), 0);
    assert_int_equal(flags, SW_FILTER_BLOCKED);
    sw_port_filter_free(pf);
    assert_int_equal(sw_session_set_port_filter(D, NULL), 0);
    assert_int_equal(sw_torrent_connect_peer(hd, "127.0.0.1", port), 0);
    assert_true(sfx_wait_finished(hd, SFX_WAIT_MS));
    sw_session_free(D);
    sw_session_free(S);
    sfx_payload_free(&w);
}

/* An incoming connection over a transport that is off is a blocked peer
 * too (reason tcp_disabled), as in libtorrent. */
static void test_disabled_transport_blocked(void **state)
{
    (void)state;
    world w;
    world_make(&w, 128 * 1024, 18);
    sw_session *S = seeder_session(), *D = downloader_session();
    sfx_apply_setting(S, SW_SET_ENABLE_INCOMING_TCP, false);
    sfx_apply_setting(D, SW_SET_ENABLE_OUTGOING_UTP, false);
    add_seed(&w, S, true);
    sw_torrent_handle hd = add_download(&w, D, true);
    sfx_connect(hd, S);
    seen ss = {0};
    watch(S, "127.0.0.1", SFX_WAIT_MS, true, &ss);
    assert_int_equal(ss.blocked, 1);
    assert_int_equal(ss.last_reason, SW_BLOCKED_TCP_DISABLED);
    assert_int_equal(sfx_status(hd).total_payload_download, 0);
    sw_session_free(D);
    sw_session_free(S);
    sfx_payload_free(&w);
}

/* Peers from a tracker go through the same filter: D blocks 127.0.0.1,
 * learns S from opentracker, and never lists or dials it; S, which learned
 * D the same way, is refused at D's accept. */
static void test_tracker_peers_blocked(void **state)
{
    (void)state;
    if (!tfx_opentracker_available())
        skip();
    world w;
    world_make(&w, 256 * 1024, 17);
    uint8_t hashes[1][20];
    memcpy(hashes[0], sw_torrent_info_hashes(w.t.ti)->v1.v, 20);
    tfx_opentracker ot;
    assert_int_equal(tfx_opentracker_start(&ot, (const uint8_t(*)[20])hashes, 1), 0);
    char url[96];
    snprintf(url, sizeof url, "http://127.0.0.1:%u/announce", (unsigned)ot.port);
    sw_session *S = seeder_session(), *D = downloader_session();
    block_ip(D, "127.0.0.1");
    sw_torrent_handle hs = add_seed(&w, S, true);
    assert_int_equal(sw_torrent_add_tracker(hs, url, 0), 0);
    sw_torrent_handle hd = add_download(&w, D, true);
    assert_int_equal(sw_torrent_add_tracker(hd, url, 0), 0);
    /* Announce until the tracker has handed D the seeder (S may announce
     * after D's first announce). */
    seen sd = {.want_tid = hd.id};
    uint64_t deadline = sfx_now_ms() + SFX_WAIT_MS;
    while (sd.blocked_for == 0 && sfx_now_ms() < deadline) {
        sw_torrent_force_reannounce(hs, -1);
        sw_torrent_force_reannounce(hd, -1);
        watch(D, "127.0.0.1", 1000, false, &sd);
    }
    /* Listed by the tracker for D's torrent (S dialling D is refused at
     * accept, before any torrent is named). */
    assert_true(sd.blocked_for > 0);
    assert_int_equal(sd.last_reason, SW_BLOCKED_IP_FILTER);
    watch(D, "127.0.0.1", 1000, false, &sd);
    sw_torrent_status st = sfx_status(hd);
    assert_int_equal(st.num_peers, 0);
    assert_int_equal(st.list_peers, 0);
    assert_int_equal(st.total_payload_download, 0);
    assert_int_equal(sd.connects, 0);
    assert_int_equal(sfx_status(hs).total_payload_upload, 0);
    sw_session_free(D);
    sw_session_free(S);
    tfx_opentracker_stop(&ot);
    sfx_payload_free(&w);
}

static void test_max_connections_and_uploads(void **state)
{
    (void)state;
    world w;
    world_make(&w, 4 * 1024 * 1024, 16);
    sw_session *S = seeder_session();
    sw_torrent_handle hs = add_seed(&w, S, true);
    assert_int_equal(sw_torrent_set_max_connections(hs, 2), 0);
    int v = 0;
    assert_int_equal(sw_torrent_max_connections(hs, &v), 0);
    assert_int_equal(v, 2);
    assert_int_equal(sw_torrent_max_uploads(hs, &v), 0);
    assert_int_equal(v, -1);

    enum { N = 3 };
    sw_session *D[N];
    sw_torrent_handle hd[N];
    sfx_dir dirs[N];
    for (int i = 0; i < N; i++) {
        D[i] = downloader_session();
        sfx_dir_make(&dirs[i]);
        hd[i] = add(D[i], w.t.ti, dirs[i].path, true);
        assert_true(sfx_wait_state(hd[i], SW_TORRENT_DOWNLOADING, SFX_WAIT_MS));
        assert_int_equal(sw_torrent_set_download_limit(hd[i], 100 * 1024), 0);
        assert_int_equal(sw_torrent_download_limit(hd[i], &v), 0);
        assert_int_equal(v, 100 * 1024);
    }
    for (int i = 0; i < N; i++)
        sfx_connect(hd[i], S);
    /* Two get in and the third never does. */
    assert_true(wait_peers(hs, 2, SFX_WAIT_MS));
    int most = 0;
    for (int k = 0; k < 60; k++) {
        int n = sfx_status(hs).num_peers;
        most = n > most ? n : most;
        usleep(25000);
    }
    assert_int_equal(most, 2);
    int connected = 0;
    for (int i = 0; i < N; i++)
        connected += sfx_status(hd[i]).num_peers;
    assert_int_equal(connected, 2);

    /* Fewer upload slots: the surplus peer is choked at once. */
    assert_int_equal(sw_torrent_set_max_uploads(hs, 1), 0);
    assert_int_equal(sw_torrent_max_uploads(hs, &v), 0);
    assert_int_equal(v, 1);
    assert_int_equal(sfx_status(hs).num_uploads, 1);
    /* Fewer connections: one is dropped at once. */
    assert_int_equal(sw_torrent_set_max_connections(hs, 1), 0);
    assert_true(wait_peers(hs, 1, SFX_WAIT_MS));
    usleep(500000);
    assert_int_equal(sfx_status(hs).num_peers, 1);

    for (int i = 0; i < N; i++) {
        sw_session_free(D[i]);
        sfx_dir_remove(&dirs[i]);
    }
    sw_session_free(S);
    sfx_payload_free(&w);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_outgoing_blocked),
        cmocka_unit_test(test_incoming_blocked),
        cmocka_unit_test(test_exempt_torrent_connects),
        cmocka_unit_test(test_new_filter_drops_connection),
        cmocka_unit_test(test_port_filter),
        cmocka_unit_test(test_tracker_peers_blocked),
        cmocka_unit_test(test_disabled_transport_blocked),
        cmocka_unit_test(test_max_connections_and_uploads),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
