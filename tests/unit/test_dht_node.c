/* Unit tests for one DHT node (core/dht/dht.h) behind a fake transport:
 * datagrams are handed to sw__dht_on_packet by the test and everything the
 * node sends is captured. Covers the answers to every query (tokens,
 * announce_peer, BEP 44 put/get errors, BEP 51, unknown methods), BEP 43
 * read-only behaviour, per-address rate limits and the upload budget,
 * matching of replies to our queries, timeouts, and the callback rules
 * (never synchronous, exactly once, SW_ERR_ABORTED on close). */
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
#include "dht/dht_id.h"
#include "dht/krpc.h"
#include "dht/store.h"
#include "dht_fixture.h"

#define MAX_SENT 64

typedef struct sent_pkt {
    uint8_t data[2048];
    size_t len;
    sw_endpoint to;
} sent_pkt;

typedef struct fake_net {
    sent_pkt pkts[MAX_SENT];
    size_t n;       /* captured (oldest dropped beyond MAX_SENT) */
    size_t total;   /* ever sent */
    size_t replies; /* of them, responses and errors */
} fake_net;

typedef struct fixture {
    uv_loop_t loop;
    fake_net net;
    sw_dht *dht;
    sw_sha1 self;
    bool closed;
} fixture;

static int fake_send(void *user, const uint8_t *data, size_t len, const struct sockaddr *to)
{
    fake_net *net = user;
    if (net->n == MAX_SENT) {
        memmove(&net->pkts[0], &net->pkts[1], (MAX_SENT - 1) * sizeof net->pkts[0]);
        net->n--;
    }
    sent_pkt *p = &net->pkts[net->n++];
    assert_true(len <= sizeof p->data);
    memcpy(p->data, data, len);
    p->len = len;
    assert_int_equal(sw__endpoint_from_sockaddr(&p->to, to), 0);
    net->total++;
    sw_krpc_msg m;
    assert_int_equal(sw__krpc_decode(data, len, &m), 0);
    if (m.type != SW_KRPC_QUERY)
        net->replies++;
    sw__krpc_msg_release(&m);
    return 0;
}

static fixture *fx_new(const sw_dht_settings *s, int family)
{
    fixture *f = calloc(1, sizeof *f);
    assert_non_null(f);
    assert_int_equal(uv_loop_init(&f->loop), 0);
    sw_dht_config cfg;
    sw__dht_config_init(&cfg, &f->loop, family, fake_send, &f->net);
    if (s)
        cfg.settings = *s;
    else
        dfx_loopback_settings(&cfg.settings);
    memset(f->self.v, 0x55, 20);
    cfg.node_id = &f->self;
    assert_int_equal(sw__dht_new(&cfg, &f->dht), 0);
    return f;
}

static void on_closed(void *user)
{
    ((fixture *)user)->closed = true;
}

static void fx_free(fixture *f)
{
    sw__dht_close(f->dht, on_closed, f);
    assert_false(f->closed); /* never synchronous */
    assert_int_equal(dfx_close_loop(&f->loop, 2000), 0);
    assert_true(f->closed);
    free(f);
}

static struct sockaddr_storage sa_of(const char *ip, uint16_t port)
{
    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof ss);
    if (strchr(ip, ':'))
        uv_ip6_addr(ip, port, (struct sockaddr_in6 *)&ss);
    else
        uv_ip4_addr(ip, port, (struct sockaddr_in *)&ss);
    return ss;
}

/* Feeds raw bytes from ip:port; returns sw__dht_on_packet's result. */
static int feed(fixture *f, const void *data, size_t len, const char *ip, uint16_t port)
{
    struct sockaddr_storage ss = sa_of(ip, port);
    return sw__dht_on_packet(f->dht, data, len, (const struct sockaddr *)&ss);
}

static void feed_msg(fixture *f, const sw_krpc_msg *m, const char *ip, uint16_t port)
{
    sw_buf out = {0};
    assert_int_equal(sw__krpc_encode(m, &out), 0);
    assert_int_equal(feed(f, out.data, out.len, ip, port), 0);
    sw__buf_free(&out);
}

static sw_krpc_msg query_msg(sw_krpc_method method, const char *tid, unsigned char id_byte)
{
    sw_krpc_msg q;
    memset(&q, 0, sizeof q);
    q.type = SW_KRPC_QUERY;
    q.method = method;
    q.tid = (sw_krpc_bytes){(const uint8_t *)tid, strlen(tid)};
    memset(q.id.v, id_byte, 20);
    return q;
}

/* Sends q and decodes the single reply (which must come). Besides it the
 * node may ping a newcomer. The message borrows from the fixture's capture
 * until the next packet. */
static sw_krpc_msg ask(fixture *f, const sw_krpc_msg *q, const char *ip, uint16_t port)
{
    size_t before = f->net.total, replies = f->net.replies;
    feed_msg(f, q, ip, port);
    assert_int_equal(f->net.replies, replies + 1);
    size_t fresh = f->net.total - before;
    assert_true(fresh == 1 || fresh == 2);
    sw_endpoint want;
    assert_int_equal(sw__endpoint_from_ip(&want, ip, port), 0);
    for (size_t i = f->net.n - fresh; i < f->net.n; i++) {
        sent_pkt *p = &f->net.pkts[i];
        assert_true(sw__endpoint_equal(&p->to, &want));
        sw_krpc_msg r;
        assert_int_equal(sw__krpc_decode(p->data, p->len, &r), 0);
        if (r.type == SW_KRPC_QUERY) {
            assert_int_equal(r.method, SW_KRPC_PING);
            sw__krpc_msg_release(&r);
            continue;
        }
        assert_true(r.tid.len == q->tid.len && memcmp(r.tid.p, q->tid.p, r.tid.len) == 0);
        return r;
    }
    fail();
    return (sw_krpc_msg){0};
}

/* The newest reply (response or error) the node sent. */
static const sent_pkt *last_reply(fixture *f)
{
    for (size_t i = f->net.n; i-- > 0;) {
        sw_krpc_msg m;
        assert_int_equal(sw__krpc_decode(f->net.pkts[i].data, f->net.pkts[i].len, &m), 0);
        bool reply = m.type != SW_KRPC_QUERY;
        sw__krpc_msg_release(&m);
        if (reply)
            return &f->net.pkts[i];
    }
    fail();
    return NULL;
}

static void expect_error(fixture *f, const sw_krpc_msg *q, int code)
{
    sw_krpc_msg r = ask(f, q, "10.0.0.2", 7000);
    assert_int_equal(r.type, SW_KRPC_ERROR);
    assert_int_equal(r.error_code, code);
    sw__krpc_msg_release(&r);
}

/* A token for 10.0.0.2 through get_peers. */
static void get_token(fixture *f, const sw_sha1 *target, uint8_t *tok, size_t *len)
{
    sw_krpc_msg q = query_msg(SW_KRPC_GET_PEERS, "tk", 0x22);
    q.target = *target;
    q.has = SW_KRPC_HAS_TARGET;
    sw_krpc_msg r = ask(f, &q, "10.0.0.2", 7000);
    assert_true(r.has & SW_KRPC_HAS_TOKEN);
    memcpy(tok, r.token.p, r.token.len);
    *len = r.token.len;
    sw__krpc_msg_release(&r);
}

/* ---- answering ---- */

static void test_ping_reply(void **state)
{
    (void)state;
    fixture *f = fx_new(NULL, AF_INET);
    sw_krpc_msg q = query_msg(SW_KRPC_PING, "p1", 0x11);
    sw_krpc_msg r = ask(f, &q, "10.0.0.1", 6881);
    assert_int_equal(r.type, SW_KRPC_RESPONSE);
    assert_memory_equal(r.id.v, f->self.v, 20);
    /* BEP 42: the asker's address comes back as "ip". */
    assert_true(r.has & SW_KRPC_HAS_IP);
    sw_endpoint want;
    sw__endpoint_from_ip(&want, "10.0.0.1", 6881);
    assert_true(sw__endpoint_equal(&r.ip, &want));
    assert_true(r.has & SW_KRPC_HAS_VERSION);
    assert_memory_equal(r.version.p, "SW", 2);
    sw__krpc_msg_release(&r);
    /* The asker entered the routing table (unconfirmed). */
    sw_dht_stats st;
    sw__dht_get_stats(f->dht, &st);
    assert_int_equal(st.nodes, 1);
    assert_int_equal(st.good_nodes, 0);
    assert_int_equal(st.queries_in, 1);
    fx_free(f);
}

static void test_peers_and_tokens(void **state)
{
    (void)state;
    fixture *f = fx_new(NULL, AF_INET);
    sw_sha1 ih;
    memset(ih.v, 0xab, 20);
    uint8_t tok[64];
    size_t tok_len;
    get_token(f, &ih, tok, &tok_len);

    /* Wrong token: 203. */
    sw_krpc_msg a = query_msg(SW_KRPC_ANNOUNCE_PEER, "a1", 0x22);
    a.target = ih;
    a.token = (sw_krpc_bytes){(const uint8_t *)"nope", 4};
    a.port = 5000;
    a.has = SW_KRPC_HAS_TARGET | SW_KRPC_HAS_TOKEN | SW_KRPC_HAS_PORT;
    expect_error(f, &a, SW_KRPC_E_PROTOCOL);
    /* A token given to another address is wrong too. */
    a.token = (sw_krpc_bytes){tok, tok_len};
    sw_krpc_msg r = ask(f, &a, "10.0.0.3", 7000);
    assert_int_equal(r.type, SW_KRPC_ERROR);
    sw__krpc_msg_release(&r);
    /* The right one stores 10.0.0.2:5000. */
    r = ask(f, &a, "10.0.0.2", 7000);
    assert_int_equal(r.type, SW_KRPC_RESPONSE);
    sw__krpc_msg_release(&r);
    /* implied_port stores the UDP source port instead. */
    a.implied_port = true;
    a.has |= SW_KRPC_HAS_IMPLIED_PORT;
    r = ask(f, &a, "10.0.0.2", 7001);
    assert_int_equal(r.type, SW_KRPC_RESPONSE);
    sw__krpc_msg_release(&r);

    sw_krpc_msg g = query_msg(SW_KRPC_GET_PEERS, "g1", 0x33);
    g.target = ih;
    g.has = SW_KRPC_HAS_TARGET;
    r = ask(f, &g, "10.0.0.9", 9);
    assert_true(r.has & SW_KRPC_HAS_VALUES);
    assert_int_equal(r.num_values, 2);
    bool p5000 = false, p7001 = false;
    for (size_t i = 0; i < r.num_values; i++) {
        p5000 |= r.values[i].port == 5000;
        p7001 |= r.values[i].port == 7001;
    }
    assert_true(p5000 && p7001);
    assert_true(r.has & SW_KRPC_HAS_NODES); /* always, as libtorrent does */
    sw__krpc_msg_release(&r);
    sw_dht_stats st;
    sw__dht_get_stats(f->dht, &st);
    assert_int_equal(st.torrents, 1);
    assert_int_equal(st.peers, 2);
    fx_free(f);
}

static void test_reply_size_budget(void **state)
{
    (void)state;
    fixture *f = fx_new(NULL, AF_INET);
    sw_sha1 ih;
    memset(ih.v, 0x0f, 20);
    uint8_t tok[64];
    size_t tok_len;
    get_token(f, &ih, tok, &tok_len);
    /* 300 peers from 300 addresses, each with its own token. */
    for (unsigned i = 0; i < 300; i++) {
        char ip[32];
        snprintf(ip, sizeof ip, "10.1.%u.%u", i / 200, i % 200 + 1);
        sw_krpc_msg g = query_msg(SW_KRPC_GET_PEERS, "gt", 0x40);
        g.target = ih;
        g.has = SW_KRPC_HAS_TARGET;
        sw_krpc_msg r = ask(f, &g, ip, 6881);
        sw_krpc_msg a = query_msg(SW_KRPC_ANNOUNCE_PEER, "an", 0x40);
        a.target = ih;
        a.token = r.token;
        a.port = 6881;
        a.has = SW_KRPC_HAS_TARGET | SW_KRPC_HAS_TOKEN | SW_KRPC_HAS_PORT;
        sw_krpc_msg ok = ask(f, &a, ip, 6881);
        assert_int_equal(ok.type, SW_KRPC_RESPONSE);
        sw__krpc_msg_release(&ok);
        sw__krpc_msg_release(&r);
    }
    sw_krpc_msg g = query_msg(SW_KRPC_GET_PEERS, "gz", 0x41);
    g.target = ih;
    g.has = SW_KRPC_HAS_TARGET;
    sw_krpc_msg r = ask(f, &g, "10.9.9.9", 1);
    /* dht_max_peers_reply (100) and the datagram budget both hold. */
    assert_int_equal(r.num_values, 100);
    assert_true(last_reply(f)->len <= 1400);
    sw__krpc_msg_release(&r);
    fx_free(f);
}

static void test_items(void **state)
{
    (void)state;
    fixture *f = fx_new(NULL, AF_INET);
    sw_sha1 any;
    memset(any.v, 1, 20);
    uint8_t tok[64];
    size_t tok_len;
    get_token(f, &any, tok, &tok_len);
    sw_krpc_bytes token = {tok, tok_len};

    /* Immutable put and get. */
    const char *val = "d4:spam4:eggse";
    sw_krpc_msg p = query_msg(SW_KRPC_PUT, "p1", 0x22);
    p.token = token;
    p.v = (sw_krpc_bytes){(const uint8_t *)val, strlen(val)};
    p.has = SW_KRPC_HAS_TOKEN | SW_KRPC_HAS_V;
    sw_krpc_msg r = ask(f, &p, "10.0.0.2", 7000);
    assert_int_equal(r.type, SW_KRPC_RESPONSE);
    sw__krpc_msg_release(&r);
    sw_krpc_msg g = query_msg(SW_KRPC_GET, "g1", 0x22);
    sw__dht_item_target_immutable((const uint8_t *)val, strlen(val), &g.target);
    g.has = SW_KRPC_HAS_TARGET;
    r = ask(f, &g, "10.0.0.4", 1);
    assert_true(r.has & SW_KRPC_HAS_V);
    assert_true(r.v.len == strlen(val) && memcmp(r.v.p, val, r.v.len) == 0);
    assert_true(r.has & SW_KRPC_HAS_TOKEN);
    sw__krpc_msg_release(&r);

    /* Bad token, oversized value. */
    p.token = (sw_krpc_bytes){(const uint8_t *)"bad", 3};
    expect_error(f, &p, SW_KRPC_E_PROTOCOL);
    p.token = token;
    static char big[1100];
    int n = snprintf(big, sizeof big, "1001:");
    memset(big + n, 'x', 1001);
    p.v = (sw_krpc_bytes){(const uint8_t *)big, (size_t)n + 1001};
    expect_error(f, &p, SW_KRPC_E_TOO_BIG);

    /* Mutable: signed with our own key. */
    uint8_t seed[32], pk[32], sig[64];
    memset(seed, 9, sizeof seed);
    assert_int_equal(sw__dht_item_public_key(seed, pk), 0);
    const char *mv = "5:hello";
    assert_int_equal(sw__dht_item_sign(seed, (const uint8_t *)"salt", 4, 3, (const uint8_t *)mv,
                                       strlen(mv), sig),
                     0);
    sw_krpc_msg m = query_msg(SW_KRPC_PUT, "m1", 0x22);
    m.token = token;
    m.v = (sw_krpc_bytes){(const uint8_t *)mv, strlen(mv)};
    m.k = (sw_krpc_bytes){pk, 32};
    m.sig = (sw_krpc_bytes){sig, 64};
    m.seq = 3;
    m.salt = (sw_krpc_bytes){(const uint8_t *)"salt", 4};
    m.has = SW_KRPC_HAS_TOKEN | SW_KRPC_HAS_V | SW_KRPC_HAS_K | SW_KRPC_HAS_SIG | SW_KRPC_HAS_SEQ |
            SW_KRPC_HAS_SALT;
    /* Wrong signature (another seq): 206. */
    m.seq = 4;
    expect_error(f, &m, SW_KRPC_E_SIGNATURE);
    m.seq = 3;
    r = ask(f, &m, "10.0.0.2", 7000);
    assert_int_equal(r.type, SW_KRPC_RESPONSE);
    sw__krpc_msg_release(&r);
    /* The same seq with the same value is fine; an older one is 302. */
    r = ask(f, &m, "10.0.0.2", 7000);
    assert_int_equal(r.type, SW_KRPC_RESPONSE);
    sw__krpc_msg_release(&r);
    uint8_t sig2[64];
    assert_int_equal(sw__dht_item_sign(seed, (const uint8_t *)"salt", 4, 2, (const uint8_t *)mv,
                                       strlen(mv), sig2),
                     0);
    m.seq = 2;
    m.sig = (sw_krpc_bytes){sig2, 64};
    expect_error(f, &m, SW_KRPC_E_SEQ);
    /* CAS mismatch: 301. */
    uint8_t sig5[64];
    assert_int_equal(sw__dht_item_sign(seed, (const uint8_t *)"salt", 4, 5, (const uint8_t *)mv,
                                       strlen(mv), sig5),
                     0);
    m.seq = 5;
    m.sig = (sw_krpc_bytes){sig5, 64};
    m.cas = 1;
    m.has |= SW_KRPC_HAS_CAS;
    expect_error(f, &m, SW_KRPC_E_CAS);
    m.cas = 3;
    r = ask(f, &m, "10.0.0.2", 7000);
    assert_int_equal(r.type, SW_KRPC_RESPONSE);
    sw__krpc_msg_release(&r);
    /* Salt over 64 bytes: 207. */
    static uint8_t longsalt[65];
    m.salt = (sw_krpc_bytes){longsalt, sizeof longsalt};
    m.has &= ~(unsigned)SW_KRPC_HAS_CAS;
    expect_error(f, &m, SW_KRPC_E_SALT);

    /* get of the mutable item: k, v, sig, seq; with "seq" >= ours only seq. */
    g = query_msg(SW_KRPC_GET, "g2", 0x22);
    sw__dht_item_target_mutable(pk, (const uint8_t *)"salt", 4, &g.target);
    g.has = SW_KRPC_HAS_TARGET;
    r = ask(f, &g, "10.0.0.4", 1);
    assert_int_equal(r.seq, 5);
    assert_true((r.has & (SW_KRPC_HAS_K | SW_KRPC_HAS_SIG | SW_KRPC_HAS_V)) ==
                (SW_KRPC_HAS_K | SW_KRPC_HAS_SIG | SW_KRPC_HAS_V));
    assert_true(
        sw__dht_item_verify(r.k.p, r.sig.p, (const uint8_t *)"salt", 4, r.seq, r.v.p, r.v.len));
    sw__krpc_msg_release(&r);
    g.seq = 5;
    g.has |= SW_KRPC_HAS_SEQ;
    r = ask(f, &g, "10.0.0.4", 1);
    assert_true(r.has & SW_KRPC_HAS_SEQ);
    assert_false(r.has & (SW_KRPC_HAS_K | SW_KRPC_HAS_SIG | SW_KRPC_HAS_V));
    sw__krpc_msg_release(&r);
    sw_dht_stats st;
    sw__dht_get_stats(f->dht, &st);
    assert_int_equal(st.items, 2);
    fx_free(f);
}

static void test_sample_and_unknown(void **state)
{
    (void)state;
    fixture *f = fx_new(NULL, AF_INET);
    sw_sha1 ih;
    memset(ih.v, 0x77, 20);
    uint8_t tok[64];
    size_t tok_len;
    get_token(f, &ih, tok, &tok_len);
    sw_krpc_msg a = query_msg(SW_KRPC_ANNOUNCE_PEER, "a1", 0x22);
    a.target = ih;
    a.token = (sw_krpc_bytes){tok, tok_len};
    a.port = 1234;
    a.has = SW_KRPC_HAS_TARGET | SW_KRPC_HAS_TOKEN | SW_KRPC_HAS_PORT;
    sw_krpc_msg r = ask(f, &a, "10.0.0.2", 7000);
    sw__krpc_msg_release(&r);

    sw_krpc_msg s = query_msg(SW_KRPC_SAMPLE_INFOHASHES, "s1", 0x23);
    memset(s.target.v, 0, 20);
    s.has = SW_KRPC_HAS_TARGET;
    r = ask(f, &s, "10.0.0.5", 1);
    assert_int_equal(r.type, SW_KRPC_RESPONSE);
    assert_int_equal(r.samples.len, 20);
    assert_memory_equal(r.samples.p, ih.v, 20);
    assert_int_equal(r.num, 1);
    assert_int_equal(r.interval, 300);
    sw__krpc_msg_release(&r);

    /* Unknown methods: with a target, answered like find_node... */
    static const char unk[] = "d1:ad2:id20:abcdefghij01234567896:target20:mnopqrstuvwxyz123456e"
                              "1:q8:vote_foo1:t2:uu1:y1:qe";
    size_t before = f->net.replies;
    assert_int_equal(feed(f, unk, sizeof unk - 1, "10.0.0.6", 1), 0);
    assert_int_equal(f->net.replies, before + 1);
    sw_krpc_msg u;
    const sent_pkt *p = last_reply(f);
    assert_int_equal(sw__krpc_decode(p->data, p->len, &u), 0);
    assert_int_equal(u.type, SW_KRPC_RESPONSE);
    assert_true(u.has & SW_KRPC_HAS_NODES);
    sw__krpc_msg_release(&u);
    /* ...without one, error 204. */
    static const char bare[] = "d1:ad2:id20:abcdefghij0123456789e1:q8:vote_foo1:t2:uv1:y1:qe";
    assert_int_equal(feed(f, bare, sizeof bare - 1, "10.0.0.6", 1), 0);
    p = last_reply(f);
    assert_int_equal(sw__krpc_decode(p->data, p->len, &u), 0);
    assert_int_equal(u.type, SW_KRPC_ERROR);
    assert_int_equal(u.error_code, SW_KRPC_E_METHOD);
    sw__krpc_msg_release(&u);
    fx_free(f);
}

static void test_malformed_input(void **state)
{
    (void)state;
    fixture *f = fx_new(NULL, AF_INET);
    /* A query with bad arguments gets 203; garbage gets nothing. */
    static const char badq[] = "d1:ad2:id3:abce1:q4:ping1:t2:bq1:y1:qe";
    size_t before = f->net.total;
    assert_int_equal(feed(f, badq, sizeof badq - 1, "10.0.0.7", 1), SW_ERR_DHT_MALFORMED);
    assert_int_equal(f->net.total, before + 1);
    sw_krpc_msg e;
    const sent_pkt *p = last_reply(f);
    assert_int_equal(sw__krpc_decode(p->data, p->len, &e), 0);
    assert_int_equal(e.type, SW_KRPC_ERROR);
    assert_int_equal(e.error_code, SW_KRPC_E_PROTOCOL);
    assert_true(e.tid.len == 2 && memcmp(e.tid.p, "bq", 2) == 0);
    sw__krpc_msg_release(&e);
    before = f->net.total;
    assert_int_equal(feed(f, "hello", 5, "10.0.0.7", 1), SW_ERR_DHT_MALFORMED);
    assert_int_equal(feed(f, "d1:xe", 5, "10.0.0.7", 1), SW_ERR_DHT_MALFORMED);
    /* A reply to nothing we asked is dropped silently. */
    static const char stray[] = "d1:rd2:id20:mnopqrstuvwxyz123456e1:t2:aa1:y1:re";
    assert_int_equal(feed(f, stray, sizeof stray - 1, "10.0.0.7", 1), 0);
    /* The wrong family and port 0 are dropped. */
    static const char ping[] = "d1:ad2:id20:abcdefghij0123456789e1:q4:ping1:t2:aa1:y1:qe";
    assert_int_equal(feed(f, ping, sizeof ping - 1, "::1", 5), 0);
    assert_int_equal(feed(f, ping, sizeof ping - 1, "10.0.0.7", 0), 0);
    assert_int_equal(f->net.total, before);
    sw_dht_stats st;
    sw__dht_get_stats(f->dht, &st);
    assert_int_equal(st.malformed, 3);
    assert_int_equal(st.dropped, 6);
    assert_int_equal(st.nodes, 0);
    fx_free(f);
}

static void test_dark_addresses(void **state)
{
    (void)state;
    sw_dht_settings s;
    dfx_loopback_settings(&s);
    s.ignore_dark_internet = true;
    fixture *f = fx_new(&s, AF_INET);
    static const char ping[] = "d1:ad2:id20:abcdefghij0123456789e1:q4:ping1:t2:aa1:y1:qe";
    assert_int_equal(feed(f, ping, sizeof ping - 1, "224.0.0.5", 1), 0);
    assert_int_equal(feed(f, ping, sizeof ping - 1, "0.1.2.3", 1), 0);
    assert_int_equal(f->net.replies, 0);
    assert_int_equal(feed(f, ping, sizeof ping - 1, "8.8.4.4", 1), 0);
    assert_int_equal(f->net.replies, 1);
    fx_free(f);
}

static void test_read_only(void **state)
{
    (void)state;
    /* A read-only node answers nothing and flags its own queries. */
    sw_dht_settings s;
    dfx_loopback_settings(&s);
    s.read_only = true;
    fixture *f = fx_new(&s, AF_INET);
    static const char ping[] = "d1:ad2:id20:abcdefghij0123456789e1:q4:ping1:t2:aa1:y1:qe";
    assert_int_equal(feed(f, ping, sizeof ping - 1, "10.0.0.8", 1), 0);
    assert_int_equal(f->net.total, 0);
    struct sockaddr_storage ss = sa_of("10.0.0.8", 6881);
    assert_int_equal(sw__dht_add_node(f->dht, (const struct sockaddr *)&ss), 0);
    assert_int_equal(f->net.total, 1);
    sw_krpc_msg q;
    assert_int_equal(sw__krpc_decode(f->net.pkts[0].data, f->net.pkts[0].len, &q), 0);
    assert_true(q.read_only);
    assert_int_equal(q.method, SW_KRPC_PING);
    sw__krpc_msg_release(&q);
    fx_free(f);

    /* A normal node serves read-only askers but never routes to them. */
    f = fx_new(NULL, AF_INET);
    static const char ro[] = "d1:ad2:id20:abcdefghij0123456789e1:q4:ping2:roi1e1:t2:aa1:y1:qe";
    assert_int_equal(feed(f, ro, sizeof ro - 1, "10.0.0.8", 1), 0);
    assert_int_equal(f->net.total, 1);
    sw_dht_stats st;
    sw__dht_get_stats(f->dht, &st);
    assert_int_equal(st.nodes, 0);
    assert_int_equal(feed(f, ping, sizeof ping - 1, "10.0.0.8", 1), 0);
    sw__dht_get_stats(f->dht, &st);
    assert_int_equal(st.nodes, 1);
    fx_free(f);
}

static void test_rate_limits(void **state)
{
    (void)state;
    sw_dht_settings s;
    dfx_loopback_settings(&s);
    s.block_ratelimit = 5;
    s.block_timeout = 300;
    fixture *f = fx_new(&s, AF_INET);
    static const char ping[] = "d1:ad2:id20:abcdefghij0123456789e1:q4:ping1:t2:aa1:y1:qe";
    /* The clock stands still: 20 queries in the same instant. */
    for (int i = 0; i < 20; i++)
        feed(f, ping, sizeof ping - 1, "8.8.8.8", 1);
    assert_int_equal(f->net.replies, 5);
    /* Another address is unaffected; local addresses are exempt. */
    feed(f, ping, sizeof ping - 1, "8.8.8.9", 1);
    assert_int_equal(f->net.replies, 6);
    for (int i = 0; i < 20; i++)
        feed(f, ping, sizeof ping - 1, "192.168.1.1", 1);
    assert_int_equal(f->net.replies, 26);
    fx_free(f);

    /* The upload budget: 200 bytes/s lets about one reply through. */
    dfx_loopback_settings(&s);
    s.upload_rate_limit = 200;
    f = fx_new(&s, AF_INET);
    for (int i = 0; i < 10; i++)
        feed(f, ping, sizeof ping - 1, "10.0.0.9", 1);
    assert_true(f->net.replies >= 1 && f->net.replies <= 3);
    sw_dht_stats st;
    sw__dht_get_stats(f->dht, &st);
    assert_true(st.dropped >= 7);
    fx_free(f);
}

static void test_want_nodes(void **state)
{
    (void)state;
    fixture *f = fx_new(NULL, AF_INET);
    /* Give the node one confirmed contact through a ping it sent. */
    struct sockaddr_storage ss = sa_of("10.0.0.10", 6881);
    assert_int_equal(sw__dht_add_node(f->dht, (const struct sockaddr *)&ss), 0);
    sw_krpc_msg q;
    assert_int_equal(sw__krpc_decode(f->net.pkts[0].data, f->net.pkts[0].len, &q), 0);
    sw_krpc_msg r;
    memset(&r, 0, sizeof r);
    r.type = SW_KRPC_RESPONSE;
    r.tid = q.tid;
    memset(r.id.v, 0x99, 20);
    feed_msg(f, &r, "10.0.0.10", 6881);
    sw__krpc_msg_release(&q);

    sw_krpc_msg fn = query_msg(SW_KRPC_FIND_NODE, "f1", 0x12);
    memset(fn.target.v, 0x98, 20);
    fn.has = SW_KRPC_HAS_TARGET;
    sw_krpc_msg a = ask(f, &fn, "10.0.0.11", 1);
    assert_int_equal(sw__krpc_node_count(a.nodes, AF_INET), 1);
    sw_sha1 id;
    sw_endpoint ep;
    sw__krpc_node_at(a.nodes, AF_INET, 0, &id, &ep);
    assert_memory_equal(id.v, r.id.v, 20);
    sw__krpc_msg_release(&a);
    /* want: n6 only, from an IPv4 node that has no IPv6 table: no nodes. */
    fn.want = SW_KRPC_WANT_N6;
    fn.has |= SW_KRPC_HAS_WANT;
    a = ask(f, &fn, "10.0.0.11", 1);
    assert_false(a.has & (SW_KRPC_HAS_NODES | SW_KRPC_HAS_NODES6));
    sw__krpc_msg_release(&a);
    fx_free(f);
}

/* ---- our own queries ---- */

typedef struct done_rec {
    int calls;
    int status;
    sw_dht_lookup_stats stats;
} done_rec;

static void on_done(void *user, int status, const sw_dht_lookup_stats *stats)
{
    done_rec *d = user;
    d->calls++;
    d->status = status;
    d->stats = *stats;
}

static bool done_called(void *arg)
{
    return ((done_rec *)arg)->calls > 0;
}

static void test_reply_matching(void **state)
{
    (void)state;
    fixture *f = fx_new(NULL, AF_INET);
    struct sockaddr_storage ss = sa_of("10.0.0.20", 6881);
    assert_int_equal(sw__dht_add_node(f->dht, (const struct sockaddr *)&ss), 0);
    sw_krpc_msg q;
    assert_int_equal(sw__krpc_decode(f->net.pkts[0].data, f->net.pkts[0].len, &q), 0);
    assert_int_equal(q.method, SW_KRPC_PING);
    assert_memory_equal(q.id.v, f->self.v, 20);
    sw_krpc_msg r;
    memset(&r, 0, sizeof r);
    r.type = SW_KRPC_RESPONSE;
    r.tid = q.tid;
    memset(r.id.v, 0x42, 20);
    /* From another address or port, or with another tid: not a reply. */
    feed_msg(f, &r, "10.0.0.21", 6881);
    feed_msg(f, &r, "10.0.0.20", 6882);
    uint8_t other_tid[2] = {(uint8_t)(q.tid.p[0] ^ 1), q.tid.p[1]};
    r.tid = (sw_krpc_bytes){other_tid, 2};
    feed_msg(f, &r, "10.0.0.20", 6881);
    sw_dht_stats st;
    sw__dht_get_stats(f->dht, &st);
    assert_int_equal(st.nodes, 0);
    assert_int_equal(st.pending, 1);
    /* The real one: the node is now good. */
    r.tid = q.tid;
    feed_msg(f, &r, "10.0.0.20", 6881);
    sw__dht_get_stats(f->dht, &st);
    assert_int_equal(st.nodes, 1);
    assert_int_equal(st.good_nodes, 1);
    assert_int_equal(st.pending, 0);
    /* The same reply again matches nothing. */
    feed_msg(f, &r, "10.0.0.20", 6881);
    sw__dht_get_stats(f->dht, &st);
    assert_int_equal(st.dropped, 4);
    sw__krpc_msg_release(&q);
    assert_int_equal(sw__dht_add_node(f->dht, NULL), SW_ERR_INVALID_ARG);
    struct sockaddr_storage v6 = sa_of("::1", 1);
    assert_int_equal(sw__dht_add_node(f->dht, (const struct sockaddr *)&v6), SW_ERR_INVALID_ARG);
    fx_free(f);
}

static void test_lookup_without_nodes(void **state)
{
    (void)state;
    fixture *f = fx_new(NULL, AF_INET);
    sw_sha1 ih;
    memset(ih.v, 3, 20);
    done_rec d = {0};
    assert_int_equal(sw__dht_get_peers(f->dht, &ih, NULL, on_done, &d), 0);
    assert_int_equal(d.calls, 0); /* never from inside the call */
    assert_true(dfx_run_until(&f->loop, done_called, &d, 2000));
    assert_int_equal(d.calls, 1);
    assert_int_equal(d.status, SW_ERR_DHT_NO_NODES);
    assert_int_equal(f->net.total, 0);
    /* Bad arguments fail at once and never call back. */
    assert_int_equal(sw__dht_announce(f->dht, &ih, 0, 0, NULL, on_done, &d), SW_ERR_INVALID_ARG);
    uint8_t big[1001];
    memset(big, 'x', sizeof big);
    assert_int_equal(sw__dht_put_immutable(f->dht, big, sizeof big, NULL, on_done, &d),
                     SW_ERR_DHT_ITEM_TOO_LARGE);
    assert_int_equal(
        sw__dht_put_immutable(f->dht, (const uint8_t *)"d1:be1:ae", 9, NULL, on_done, &d),
        SW_ERR_INVALID_ARG); /* not canonical bencode */
    assert_int_equal(d.calls, 1);
    fx_free(f);
}

static bool one_timeout(void *arg)
{
    sw_dht_stats st;
    sw__dht_get_stats(arg, &st);
    return st.timeouts == 1;
}

static void test_timeouts_and_close(void **state)
{
    (void)state;
    sw_dht_settings s;
    dfx_loopback_settings(&s);
    s.query_timeout_ms = 300;
    s.short_timeout_ms = 100;
    fixture *f = fx_new(&s, AF_INET);
    /* A router that never answers. */
    struct sockaddr_storage ss = sa_of("10.0.0.30", 6881);
    assert_int_equal(sw__dht_add_router(f->dht, (const struct sockaddr *)&ss), 0);
    sw_sha1 ih;
    memset(ih.v, 4, 20);
    done_rec d = {0};
    assert_int_equal(sw__dht_get_peers(f->dht, &ih, NULL, on_done, &d), 0);
    assert_int_equal(f->net.total, 1);
    assert_true(dfx_run_until(&f->loop, done_called, &d, 3000));
    assert_int_equal(d.status, 0);
    assert_int_equal(d.stats.queried, 1);
    assert_int_equal(d.stats.responses, 0);
    /* The query itself times out (the lookup may have stopped waiting at
     * the short timeout already). */
    assert_true(dfx_run_until(&f->loop, one_timeout, f->dht, 3000));
    sw_dht_stats st;
    sw__dht_get_stats(f->dht, &st);
    assert_int_equal(st.lookups, 0);
    assert_int_equal(st.pending, 0);

    /* Closing ends running lookups with SW_ERR_ABORTED, before the close
     * callback. */
    done_rec d2 = {0};
    assert_int_equal(sw__dht_get_peers(f->dht, &ih, NULL, on_done, &d2), 0);
    sw__dht_close(f->dht, on_closed, f);
    assert_int_equal(d2.calls, 0);
    assert_int_equal(dfx_close_loop(&f->loop, 2000), 0);
    assert_int_equal(d2.calls, 1);
    assert_int_equal(d2.status, SW_ERR_ABORTED);
    assert_true(f->closed);
    free(f);
}

static void test_state_round_trip(void **state)
{
    (void)state;
    fixture *f = fx_new(NULL, AF_INET);
    struct sockaddr_storage ss = sa_of("10.0.0.40", 6881);
    assert_int_equal(sw__dht_add_node(f->dht, (const struct sockaddr *)&ss), 0);
    sw_krpc_msg q;
    assert_int_equal(sw__krpc_decode(f->net.pkts[0].data, f->net.pkts[0].len, &q), 0);
    sw_krpc_msg r;
    memset(&r, 0, sizeof r);
    r.type = SW_KRPC_RESPONSE;
    r.tid = q.tid;
    memset(r.id.v, 0x61, 20);
    feed_msg(f, &r, "10.0.0.40", 6881);
    sw__krpc_msg_release(&q);

    sw_bencoder *enc;
    assert_int_equal(sw_benc_new(&enc), 0);
    assert_int_equal(sw__dht_save_state(f->dht, enc), 0);
    uint8_t *buf;
    size_t len;
    assert_int_equal(sw_benc_finish(enc, &buf, &len), 0);
    sw_benc_free(enc);
    sw_bdoc *doc;
    assert_int_equal(sw_bdecode(buf, len, NULL, &doc, NULL), 0);
    sw_sha1 id;
    assert_true(sw__dht_state_node_id(sw_bdoc_root(doc), &id));
    assert_memory_equal(id.v, f->self.v, 20);
    fx_free(f);

    /* A new node pings the saved node. */
    f = fx_new(NULL, AF_INET);
    assert_int_equal(sw__dht_load_nodes(f->dht, sw_bdoc_root(doc)), 1);
    assert_int_equal(f->net.total, 1);
    sw_endpoint want;
    sw__endpoint_from_ip(&want, "10.0.0.40", 6881);
    assert_true(sw__endpoint_equal(&f->net.pkts[0].to, &want));
    sw_bdoc_free(doc);
    free(buf);
    fx_free(f);
}

/* Answers the newest captured ping from `ip`, reporting `seen` as our
 * address. */
static void answer_ping(fixture *f, const char *ip, const char *seen, unsigned char id_byte)
{
    const sent_pkt *p = &f->net.pkts[f->net.n - 1];
    sw_krpc_msg q;
    assert_int_equal(sw__krpc_decode(p->data, p->len, &q), 0);
    assert_int_equal(q.method, SW_KRPC_PING);
    sw_krpc_msg r;
    memset(&r, 0, sizeof r);
    r.type = SW_KRPC_RESPONSE;
    r.tid = q.tid;
    memset(r.id.v, id_byte, 20);
    assert_int_equal(sw__endpoint_from_ip(&r.ip, seen, 40000), 0);
    r.has = SW_KRPC_HAS_IP;
    feed_msg(f, &r, ip, 6881);
    sw__krpc_msg_release(&q);
}

static void test_external_address(void **state)
{
    (void)state;
    fixture *f = fx_new(NULL, AF_INET);
    sw_endpoint ext;
    const char *voters[] = {"10.0.1.1", "10.0.1.2", "10.0.1.3", "10.0.1.4"};
    for (int i = 0; i < 4; i++) {
        struct sockaddr_storage ss = sa_of(voters[i], 6881);
        assert_int_equal(sw__dht_add_node(f->dht, (const struct sockaddr *)&ss), 0);
        /* The second voter disagrees. */
        answer_ping(f, voters[i], i == 1 ? "198.51.100.7" : "203.0.113.5", (unsigned char)(i + 1));
        if (i < 3)
            assert_false(sw__dht_external_address(f->dht, &ext));
        /* The same voter again does not count twice. */
        assert_int_equal(sw__dht_add_node(f->dht, (const struct sockaddr *)&ss), 0);
        answer_ping(f, voters[i], "203.0.113.5", (unsigned char)(i + 1));
    }
    assert_true(sw__dht_external_address(f->dht, &ext));
    sw_endpoint want;
    sw__endpoint_from_ip(&want, "203.0.113.5", 0);
    assert_true(sw__endpoint_equal(&ext, &want));
    fx_free(f);
}

static void test_ipv6_node(void **state)
{
    (void)state;
    fixture *f = fx_new(NULL, AF_INET6);
    sw_sha1 ih;
    memset(ih.v, 0xcd, 20);
    sw_krpc_msg g = query_msg(SW_KRPC_GET_PEERS, "g6", 0x22);
    g.target = ih;
    g.has = SW_KRPC_HAS_TARGET;
    sw_krpc_msg r = ask(f, &g, "2001:db8::5", 6881);
    sw_krpc_msg a = query_msg(SW_KRPC_ANNOUNCE_PEER, "a6", 0x22);
    a.target = ih;
    a.token = r.token;
    a.port = 4242;
    a.has = SW_KRPC_HAS_TARGET | SW_KRPC_HAS_TOKEN | SW_KRPC_HAS_PORT;
    sw_krpc_msg ok = ask(f, &a, "2001:db8::5", 6881);
    assert_int_equal(ok.type, SW_KRPC_RESPONSE);
    assert_int_equal(ok.ip.family, AF_INET6);
    sw__krpc_msg_release(&ok);
    sw__krpc_msg_release(&r);
    r = ask(f, &g, "2001:db8::6", 1);
    assert_int_equal(r.num_values, 1);
    assert_int_equal(r.values[0].family, AF_INET6);
    assert_int_equal(r.values[0].port, 4242);
    /* The asker is in the IPv6 table: nodes6, not nodes. */
    assert_true(r.has & SW_KRPC_HAS_NODES6);
    assert_false(r.has & SW_KRPC_HAS_NODES);
    sw__krpc_msg_release(&r);
    fx_free(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ping_reply),         cmocka_unit_test(test_peers_and_tokens),
        cmocka_unit_test(test_reply_size_budget),  cmocka_unit_test(test_items),
        cmocka_unit_test(test_sample_and_unknown), cmocka_unit_test(test_malformed_input),
        cmocka_unit_test(test_dark_addresses),     cmocka_unit_test(test_read_only),
        cmocka_unit_test(test_rate_limits),        cmocka_unit_test(test_want_nodes),
        cmocka_unit_test(test_reply_matching),     cmocka_unit_test(test_lookup_without_nodes),
        cmocka_unit_test(test_timeouts_and_close), cmocka_unit_test(test_state_round_trip),
        cmocka_unit_test(test_external_address),   cmocka_unit_test(test_ipv6_node),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
