/* Unit tests for the peer list (core/peer/peer_list.c) and endpoints
 * (core/net/addr.c): finding and adding, sources, eviction through a
 * callback, re-keying an incoming peer to its listen port, connect
 * candidates with back-off, failures and bans; endpoint parsing and
 * formatting for IPv4 and IPv6. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "net/net.h"
#include "peer/peer.h"

static sw_endpoint ep(const char *text)
{
    sw_endpoint e;
    assert_int_equal(sw__endpoint_parse(&e, text), 0);
    return e;
}

static void test_endpoints(void **state)
{
    (void)state;
    sw_endpoint a = ep("127.0.0.1:6881");
    char buf[SW_ENDPOINT_STRLEN];
    sw__endpoint_format(&a, buf, sizeof buf);
    assert_string_equal(buf, "127.0.0.1:6881");
    assert_int_equal(sw__endpoint_ipv4(&a), 0x7f000001);
    sw_endpoint b = ep("[::1]:80");
    sw__endpoint_format(&b, buf, sizeof buf);
    assert_string_equal(buf, "[::1]:80");
    assert_int_equal(sw__endpoint_ipv4(&b), 0);
    /* IPv4-mapped IPv6 becomes IPv4. */
    sw_endpoint c = ep("[::ffff:10.0.0.1]:1");
    assert_int_equal(c.family, a.family);
    sw__endpoint_format_ip(&c, buf, sizeof buf);
    assert_string_equal(buf, "10.0.0.1");
    assert_true(sw__endpoint_equal(&a, &a));
    assert_false(sw__endpoint_equal(&a, &b));
    sw_endpoint d = ep("127.0.0.1:1");
    assert_true(sw__endpoint_same_ip(&a, &d));
    assert_false(sw__endpoint_equal(&a, &d));
    /* Round trip through a socket address. */
    struct sockaddr_storage ss;
    sw__endpoint_to_sockaddr(&b, &ss);
    sw_endpoint back;
    assert_int_equal(sw__endpoint_from_sockaddr(&back, (struct sockaddr *)&ss), 0);
    assert_true(sw__endpoint_equal(&back, &b));
    /* Malformed input. */
    sw_endpoint bad;
    const char *bads[] = {"",        ":1",      "1.2.3.4", "1.2.3.4:",   "1.2.3.4:65536", "::1:80",
                          "[::1:80", "[::1]80", "host:80", "1.2.3.4:-1", "1.2.3.4:8a"};
    for (size_t i = 0; i < sizeof bads / sizeof bads[0]; i++)
        assert_int_equal(sw__endpoint_parse(&bad, bads[i]), SW_ERR_INVALID_ARG);
    assert_int_equal(sw__endpoint_from_ip(&bad, "999.1.1.1", 1), SW_ERR_INVALID_ARG);
}

static int evicted;

static void on_evict(void *ctx, sw_peer_entry *e)
{
    (void)ctx;
    assert_false(e->conn != NULL);
    evicted++;
}

static void test_add_find_evict(void **state)
{
    (void)state;
    sw_peer_list pl;
    sw__peer_list_init(&pl);
    sw_peer_entry *e;
    bool added;
    char text[32];
    for (int i = 0; i < 100; i++) {
        snprintf(text, sizeof text, "10.0.%d.%d:%d", i / 10, i % 10, 1000 + i);
        sw_endpoint x = ep(text);
        assert_int_equal(sw__peer_list_add(&pl, &x, SW_PEER_SRC_TRACKER, 0, NULL, NULL, &e, &added),
                         0);
        assert_true(added);
        assert_true(e->connectable);
    }
    assert_int_equal(pl.count, 100);
    sw_endpoint x = ep("10.0.4.2:1042");
    e = sw__peer_list_find(&pl, &x);
    assert_non_null(e);
    assert_true(sw__endpoint_equal(&e->ep, &x));
    /* Adding again merges sources. */
    sw_peer_entry *again;
    assert_int_equal(sw__peer_list_add(&pl, &x, SW_PEER_SRC_PEX, 0, NULL, NULL, &again, &added), 0);
    assert_false(added);
    assert_ptr_equal(again, e);
    assert_int_equal(e->source, SW_PEER_SRC_TRACKER | SW_PEER_SRC_PEX);
    /* A full list evicts (the entry with most failures) to make room. */
    e->failcount = 9;
    sw_endpoint y = ep("192.168.1.1:1");
    evicted = 0;
    assert_int_equal(sw__peer_list_add(&pl, &y, SW_PEER_SRC_DHT, 100, on_evict, NULL, &e, &added),
                     0);
    assert_int_equal(evicted, 1);
    assert_int_equal(pl.count, 100);
    assert_null(sw__peer_list_find(&pl, &x));
    assert_non_null(sw__peer_list_find(&pl, &y));
    /* Every entry still findable after the swap-remove. */
    for (size_t i = 0; i < pl.count; i++)
        assert_ptr_equal(sw__peer_list_find(&pl, &pl.v[i]->ep), pl.v[i]);
    /* Nothing evictable: all connected (a fake non-NULL connection). */
    for (size_t i = 0; i < pl.count; i++)
        pl.v[i]->conn = (sw_peer_conn *)1;
    sw_endpoint z = ep("192.168.1.2:1");
    assert_int_equal(sw__peer_list_add(&pl, &z, SW_PEER_SRC_DHT, 100, on_evict, NULL, &e, NULL),
                     SW_ERR_LIMIT);
    for (size_t i = 0; i < pl.count; i++)
        pl.v[i]->conn = NULL;
    sw__peer_list_free(&pl);
}

static void test_candidates_backoff_bans_rekey(void **state)
{
    (void)state;
    sw_peer_list pl;
    sw__peer_list_init(&pl);
    sw_peer_entry *a, *b, *in;
    sw_endpoint ea = ep("1.1.1.1:1"), eb = ep("2.2.2.2:2"), ei = ep("3.3.3.3:40000");
    assert_int_equal(sw__peer_list_add(&pl, &ea, SW_PEER_SRC_MANUAL, 0, NULL, NULL, &a, NULL), 0);
    assert_int_equal(sw__peer_list_add(&pl, &eb, SW_PEER_SRC_TRACKER, 0, NULL, NULL, &b, NULL), 0);
    assert_int_equal(sw__peer_list_add(&pl, &ei, SW_PEER_SRC_INCOMING, 0, NULL, NULL, &in, NULL),
                     0);
    /* An incoming peer's ephemeral port is not worth dialling. */
    assert_false(in->connectable);
    assert_int_equal(sw__peer_list_connect_candidates(&pl, 3), 2);
    /* Back-off: a's next attempt is later; b is the only candidate now. */
    a->failcount = 1;
    a->next_try_ms = 5000;
    sw_peer_entry *c = sw__peer_list_candidate(&pl, 1000, 3);
    assert_ptr_equal(c, b);
    b->conn = (sw_peer_conn *)1; /* now connected */
    assert_null(sw__peer_list_candidate(&pl, 1000, 3));
    assert_ptr_equal(sw__peer_list_candidate(&pl, 6000, 3), a);
    /* Too many failures, or a ban, and it is never tried. */
    a->failcount = 3;
    assert_null(sw__peer_list_candidate(&pl, 6000, 3));
    a->failcount = 0;
    a->banned = true;
    assert_null(sw__peer_list_candidate(&pl, 6000, 3));
    assert_int_equal(sw__peer_list_connect_candidates(&pl, 3), 0);
    b->conn = NULL;
    /* The incoming peer told us its listen port. */
    sw_endpoint listen = ep("3.3.3.3:6881");
    assert_int_equal(sw__peer_list_rekey(&pl, in, &listen), 0);
    assert_ptr_equal(sw__peer_list_find(&pl, &listen), in);
    assert_null(sw__peer_list_find(&pl, &ei));
    /* Re-keying onto an existing entry is refused. */
    assert_int_equal(sw__peer_list_rekey(&pl, in, &eb), SW_ERR_EXISTS);
    sw__peer_list_remove(&pl, b);
    assert_null(sw__peer_list_find(&pl, &eb));
    assert_int_equal(pl.count, 2);
    sw__peer_list_free(&pl);
}

static void test_rates_and_buckets(void **state)
{
    (void)state;
    sw_rate r = {0, 0};
    int64_t total = 0;
    for (int i = 0; i < 20; i++) {
        total += 1000000;
        sw__rate_update(&r, total, 1000);
    }
    assert_true(r.rate > 990000 && r.rate <= 1000000);
    for (int i = 0; i < 30; i++)
        sw__rate_update(&r, total, 1000);
    assert_int_equal(r.rate, 0);
    /* A bucket refills by limit per second of elapsed time, at most 200 ms
     * worth (and at least a block). */
    const uint64_t s = 1000000000ull, t0 = 5 * s;
    sw_bw_bucket b = {0};
    sw__bw_refill(&b, 1000000, t0); /* the first call only starts the clock */
    assert_int_equal(b.tokens, 0);
    sw__bw_refill(&b, 1000000, t0 + s / 20);
    assert_int_equal(b.tokens, 50000);
    sw__bw_refill(&b, 1000000, t0 + 5 * s);
    assert_int_equal(b.tokens, 200000);
    sw__bw_refill(&b, 0, t0 + 6 * s); /* no limit */
    assert_int_equal(b.tokens, 0);
    /* Refills too short for a whole byte keep their time: 1000 B/s asked
     * every 0.1 ms for a second still gives 1000 bytes (capped at a block
     * is far above). */
    sw_bw_bucket c = {0};
    sw__bw_refill(&c, 1000, t0);
    for (int i = 1; i <= 10000; i++)
        sw__bw_refill(&c, 1000, t0 + (uint64_t)i * (s / 10000));
    assert_int_equal(c.tokens, 1000);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_endpoints),
        cmocka_unit_test(test_add_find_evict),
        cmocka_unit_test(test_candidates_backoff_bans_rekey),
        cmocka_unit_test(test_rates_and_buckets),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
