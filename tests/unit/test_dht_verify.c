/* Unit tests for when a DHT node sends its own queries, behind a fake
 * transport (datagrams handed to sw__dht_on_packet, everything sent is
 * captured): a node known only from its queries is pinged at once when it
 * is a neighbour of ours, else only after SW_DHT_VERIFY_DELAY_MS and only
 * if it has not confirmed itself (announce_peer with our token); a
 * lookup's first query goes alone, the branching opening once it answers;
 * and dht_privacy_lookups masks the target until the lookup nears it. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <arpa/inet.h>
#include <sys/socket.h>

#include <cmocka.h>

#include "dht/dht.h"
#include "dht/dht_internal.h"
#include "dht/krpc.h"
#include "dht_fixture.h"

#define MAX_SENT 64

typedef struct sent_pkt {
    uint8_t data[1500];
    size_t len;
    sw_endpoint to;
} sent_pkt;

typedef struct fixture {
    uv_loop_t loop;
    sent_pkt pkts[MAX_SENT];
    size_t n;
    sw_dht *dht;
    sw_sha1 self;
} fixture;

static int fake_send(void *user, const uint8_t *data, size_t len, const struct sockaddr *to)
{
    fixture *f = user;
    assert_true(f->n < MAX_SENT);
    sent_pkt *p = &f->pkts[f->n++];
    assert_true(len <= sizeof p->data);
    memcpy(p->data, data, len);
    p->len = len;
    assert_int_equal(sw__endpoint_from_sockaddr(&p->to, to), 0);
    return 0;
}

static fixture *fx_new(void)
{
    fixture *f = calloc(1, sizeof *f);
    assert_non_null(f);
    assert_int_equal(uv_loop_init(&f->loop), 0);
    sw_dht_config cfg;
    sw__dht_config_init(&cfg, &f->loop, AF_INET, fake_send, f);
    dfx_loopback_settings(&cfg.settings);
    cfg.settings.search_branching = 5;
    memset(f->self.v, 0x55, 20);
    cfg.node_id = &f->self;
    assert_int_equal(sw__dht_new(&cfg, &f->dht), 0);
    return f;
}

static void fx_free(fixture *f)
{
    sw__dht_close(f->dht, NULL, NULL);
    assert_int_equal(dfx_close_loop(&f->loop, 2000), 0);
    free(f);
}

static void feed_msg(fixture *f, const sw_krpc_msg *m, const char *ip, uint16_t port)
{
    sw_buf out = {0};
    assert_int_equal(sw__krpc_encode(m, &out), 0);
    struct sockaddr_in sa;
    uv_ip4_addr(ip, port, &sa);
    assert_int_equal(sw__dht_on_packet(f->dht, out.data, out.len, (const struct sockaddr *)&sa), 0);
    sw__buf_free(&out);
}

/* Answers the query captured as pkts[i] from its destination, as node id. */
static void answer(fixture *f, size_t i, const sw_sha1 *id)
{
    sw_krpc_msg q;
    assert_int_equal(sw__krpc_decode(f->pkts[i].data, f->pkts[i].len, &q), 0);
    assert_int_equal(q.type, SW_KRPC_QUERY);
    sw_krpc_msg r;
    memset(&r, 0, sizeof r);
    r.type = SW_KRPC_RESPONSE;
    r.tid = q.tid;
    r.id = *id;
    char ip[64];
    sw__endpoint_format_ip(&f->pkts[i].to, ip, sizeof ip);
    feed_msg(f, &r, ip, f->pkts[i].to.port);
    sw__krpc_msg_release(&q);
}

/* An id sharing `bits` leading bits with self (the next bit differs). */
static sw_sha1 id_at(const sw_sha1 *self, int bits, uint8_t tail)
{
    sw_sha1 id = *self;
    id.v[bits / 8] ^= (uint8_t)(0x80u >> (bits % 8));
    id.v[19] ^= tail;
    return id;
}

/* Makes n nodes (10.0.0.1..n) good: added, pinged, answered. Node i
 * shares 100 + i leading bits with us. */
static void add_good_nodes(fixture *f, int n)
{
    for (int i = 0; i < n; i++) {
        char ip[32];
        snprintf(ip, sizeof ip, "10.0.0.%d", i + 1);
        struct sockaddr_in sa;
        uv_ip4_addr(ip, 6881, &sa);
        size_t before = f->n;
        assert_int_equal(sw__dht_add_node(f->dht, (const struct sockaddr *)&sa), 0);
        assert_int_equal(f->n, before + 1);
        sw_sha1 id = id_at(&f->self, 100 + i, 0);
        answer(f, before, &id);
    }
    sw_dht_stats st;
    sw__dht_get_stats(f->dht, &st);
    assert_int_equal(st.good_nodes, (size_t)n);
}

static sw_krpc_method method_of(const sent_pkt *p, sw_krpc_type *type)
{
    sw_krpc_msg m;
    assert_int_equal(sw__krpc_decode(p->data, p->len, &m), 0);
    sw_krpc_method method = m.method;
    *type = m.type;
    sw__krpc_msg_release(&m);
    return method;
}

/* Pings sent to ip:port among the captured packets from index `from`. */
static int pings_to(const fixture *f, size_t from, const char *ip, uint16_t port)
{
    sw_endpoint want;
    assert_int_equal(sw__endpoint_from_ip(&want, ip, port), 0);
    int n = 0;
    for (size_t i = from; i < f->n; i++) {
        sw_krpc_type type;
        sw_krpc_method m = method_of(&f->pkts[i], &type);
        if (type == SW_KRPC_QUERY && m == SW_KRPC_PING && sw__endpoint_equal(&f->pkts[i].to, &want))
            n++;
    }
    return n;
}

static sw_krpc_msg query_from(sw_krpc_method method, const sw_sha1 *id, const sw_sha1 *target)
{
    sw_krpc_msg q;
    memset(&q, 0, sizeof q);
    q.type = SW_KRPC_QUERY;
    q.method = method;
    q.tid = (sw_krpc_bytes){(const uint8_t *)"qq", 2};
    q.id = *id;
    q.target = *target;
    q.has = SW_KRPC_HAS_TARGET;
    return q;
}

static void noop(uv_timer_t *t)
{
    (void)t;
}

/* Runs the node's loop for ms of wall-clock time (its timers included). */
static void run_ms(fixture *f, uint64_t ms)
{
    uint64_t end = uv_hrtime() + ms * 1000000u;
    uv_timer_t keep;
    uv_timer_init(&f->loop, &keep);
    uv_timer_start(&keep, noop, 5, 5);
    while (uv_hrtime() < end)
        uv_run(&f->loop, UV_RUN_ONCE);
    uv_close((uv_handle_t *)&keep, NULL);
    uv_run(&f->loop, UV_RUN_NOWAIT);
}

static void test_far_querier_waits(void **state)
{
    (void)state;
    fixture *f = fx_new();
    add_good_nodes(f, SW_DHT_K);
    sw_sha1 target;
    memset(target.v, 0x11, 20);
    /* Two far nodes ask: only the answers go out, no ping yet. */
    sw_sha1 far = id_at(&f->self, 0, 1), far2 = id_at(&f->self, 1, 2);
    size_t before = f->n;
    sw_krpc_msg q = query_from(SW_KRPC_GET_PEERS, &far, &target);
    feed_msg(f, &q, "10.0.1.1", 7000);
    q = query_from(SW_KRPC_GET_PEERS, &far2, &target);
    feed_msg(f, &q, "10.0.1.2", 7000);
    assert_int_equal(f->n, before + 2);
    sw_dht_stats st;
    sw__dht_get_stats(f->dht, &st);
    assert_int_equal(st.nodes, SW_DHT_K + 2);
    /* The second one announces with our token: that confirms it. */
    sw_krpc_msg r;
    assert_int_equal(sw__krpc_decode(f->pkts[f->n - 1].data, f->pkts[f->n - 1].len, &r), 0);
    assert_true(r.has & SW_KRPC_HAS_TOKEN);
    uint8_t tok[SW_KRPC_MAX_TOKEN];
    size_t tok_len = r.token.len;
    memcpy(tok, r.token.p, tok_len);
    sw__krpc_msg_release(&r);
    q = query_from(SW_KRPC_ANNOUNCE_PEER, &far2, &target);
    q.token = (sw_krpc_bytes){tok, tok_len};
    q.port = 7001;
    q.has |= SW_KRPC_HAS_TOKEN | SW_KRPC_HAS_PORT;
    feed_msg(f, &q, "10.0.1.2", 7000);
    sw__dht_get_stats(f->dht, &st);
    assert_int_equal(st.good_nodes, SW_DHT_K + 1);
    /* After the delay the first is pinged, the confirmed one is not. */
    run_ms(f, SW_DHT_VERIFY_DELAY_MS / 2);
    assert_int_equal(pings_to(f, before, "10.0.1.1", 7000), 0);
    run_ms(f, SW_DHT_VERIFY_DELAY_MS / 2 + 400);
    assert_int_equal(pings_to(f, before, "10.0.1.1", 7000), 1);
    assert_int_equal(pings_to(f, before, "10.0.1.2", 7000), 0);
    fx_free(f);
}

static void test_neighbour_pinged_at_once(void **state)
{
    (void)state;
    fixture *f = fx_new();
    sw_sha1 target;
    memset(target.v, 0x11, 20);
    /* With fewer than k confirmed nodes everyone is a neighbour. */
    sw_sha1 far = id_at(&f->self, 0, 1);
    sw_krpc_msg q = query_from(SW_KRPC_FIND_NODE, &far, &target);
    feed_msg(f, &q, "10.0.2.1", 7000);
    assert_int_equal(pings_to(f, 0, "10.0.2.1", 7000), 1);
    add_good_nodes(f, SW_DHT_K);
    /* Closer to us than our k closest: pinged at once. */
    sw_sha1 near = id_at(&f->self, 150, 0);
    size_t before = f->n;
    q = query_from(SW_KRPC_FIND_NODE, &near, &target);
    feed_msg(f, &q, "10.0.2.2", 7000);
    assert_int_equal(pings_to(f, before, "10.0.2.2", 7000), 1);
    /* A node already known is not pinged again. */
    before = f->n;
    feed_msg(f, &q, "10.0.2.2", 7000);
    assert_int_equal(f->n, before + 1);
    fx_free(f);
}

typedef struct done_rec {
    int calls;
    sw_dht_lookup_stats stats;
} done_rec;

static void on_done(void *user, int status, const sw_dht_lookup_stats *stats)
{
    (void)status;
    done_rec *d = user;
    d->calls++;
    d->stats = *stats;
}

static void test_first_query_alone(void **state)
{
    (void)state;
    fixture *f = fx_new();
    add_good_nodes(f, SW_DHT_K);
    size_t before = f->n;
    done_rec d = {0};
    /* The target is our own id: node 8 (sharing the most bits) is the
     * closest and is asked alone. */
    assert_int_equal(sw__dht_get_peers(f->dht, &f->self, NULL, on_done, &d), 0);
    assert_int_equal(f->n, before + 1);
    sw_endpoint closest;
    assert_int_equal(sw__endpoint_from_ip(&closest, "10.0.0.8", 6881), 0);
    assert_true(sw__endpoint_equal(&f->pkts[before].to, &closest));
    /* Its answer (no closer nodes) opens the branching: five in flight. */
    sw_sha1 id8 = id_at(&f->self, 107, 0);
    answer(f, before, &id8);
    assert_int_equal(f->n, before + 1 + 5);
    /* Each answer lets one more out, to the last of the k. */
    for (size_t i = before + 1; i < before + 6; i++) {
        sw_krpc_type type;
        assert_int_equal(method_of(&f->pkts[i], &type), SW_KRPC_GET_PEERS);
    }
    char ip[32];
    size_t asked = f->n;
    for (size_t i = before + 1; i < asked; i++) {
        sw__endpoint_format_ip(&f->pkts[i].to, ip, sizeof ip);
        int k = atoi(strrchr(ip, '.') + 1) - 1;
        sw_sha1 id = id_at(&f->self, 100 + k, 0);
        answer(f, i, &id);
    }
    assert_int_equal(f->n, before + SW_DHT_K);
    for (size_t i = asked; i < before + SW_DHT_K; i++) {
        sw__endpoint_format_ip(&f->pkts[i].to, ip, sizeof ip);
        int k = atoi(strrchr(ip, '.') + 1) - 1;
        sw_sha1 id = id_at(&f->self, 100 + k, 0);
        answer(f, i, &id);
    }
    run_ms(f, 50);
    assert_int_equal(d.calls, 1);
    assert_int_equal(d.stats.queried, SW_DHT_K);
    assert_int_equal(d.stats.responses, SW_DHT_K);
    fx_free(f);
}

/* One user pointer serves both callbacks: done_rec first. */
typedef struct peer_rec {
    done_rec d;
    int real, other;
} peer_rec;

static void on_peers(void *user, const sw_sha1 *ih, const sw_endpoint *peers, size_t n)
{
    (void)ih;
    peer_rec *p = user;
    sw_endpoint real;
    assert_int_equal(sw__endpoint_from_ip(&real, "10.9.9.9", 999), 0);
    for (size_t i = 0; i < n; i++) {
        if (sw__endpoint_equal(&peers[i], &real))
            p->real++;
        else
            p->other++;
    }
}

static void test_privacy_lookup(void **state)
{
    (void)state;
    fixture *f = fx_new();
    sw_dht_settings s;
    dfx_loopback_settings(&s);
    s.search_branching = 5;
    s.privacy_lookups = true;
    sw__dht_apply_settings(f->dht, &s);
    add_good_nodes(f, SW_DHT_K);
    /* Far from every node we know: they share no leading bit with it. */
    sw_sha1 target = f->self;
    target.v[0] ^= 0x80;
    peer_rec peers = {0};
    size_t first = f->n;
    assert_int_equal(sw__dht_get_peers(f->dht, &target, on_peers, on_done, &peers), 0);
    int masked = 0, real = 0;
    /* Every node answers with a peer: the real target's one (10.9.9.9),
     * or, to a masked query, another that must not be reported. */
    for (size_t i = first; i < f->n && i < first + 40; i++) {
        sw_krpc_msg q;
        assert_int_equal(sw__krpc_decode(f->pkts[i].data, f->pkts[i].len, &q), 0);
        assert_int_equal(q.method, SW_KRPC_GET_PEERS);
        bool is_real = memcmp(q.target.v, target.v, 20) == 0;
        if (is_real) {
            real++;
        } else {
            masked++;
            /* The three leading bits it needs, not more. */
            assert_int_equal(q.target.v[0] & 0xe0, target.v[0] & 0xe0);
        }
        char ip[32];
        sw__endpoint_format_ip(&f->pkts[i].to, ip, sizeof ip);
        int k = atoi(strrchr(ip, '.') + 1) - 1;
        sw_krpc_msg r;
        memset(&r, 0, sizeof r);
        r.type = SW_KRPC_RESPONSE;
        r.tid = q.tid;
        r.id = id_at(&f->self, 100 + k, 0);
        sw_endpoint peer;
        assert_int_equal(
            sw__endpoint_from_ip(&peer, is_real ? "10.9.9.9" : "10.8.8.8", is_real ? 999 : 888), 0);
        r.values = &peer;
        r.num_values = 1;
        r.has = SW_KRPC_HAS_VALUES;
        feed_msg(f, &r, ip, f->pkts[i].to.port);
        sw__krpc_msg_release(&q);
    }
    run_ms(f, 50);
    assert_int_equal(peers.d.calls, 1);
    /* Masked first, then the closest asked again with the target. */
    assert_int_equal(masked, SW_DHT_K);
    assert_int_equal(real, SW_DHT_K);
    assert_int_equal(peers.real, SW_DHT_K);
    assert_int_equal(peers.other, 0);
    fx_free(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_far_querier_waits),
        cmocka_unit_test(test_neighbour_pinged_at_once),
        cmocka_unit_test(test_first_query_alone),
        cmocka_unit_test(test_privacy_lookup),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
