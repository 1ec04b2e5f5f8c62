/* Unit tests for DHT node ids (XOR distance, BEP 42 secure ids with
 * CRC32C and the BEP's test vectors, address classes) and the routing
 * table (k-buckets, splitting our own bucket, replacement cache, node
 * states and timeouts, BEP 42 enforcement, one entry per address prefix). */
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

#include "dht/dht_id.h"
#include "dht/krpc.h"
#include "dht/routing.h"

#define MIN_MS (60u * 1000u)

static sw_sha1 hex_id(const char *hex)
{
    sw_sha1 id;
    for (int i = 0; i < 20; i++) {
        unsigned b;
        sscanf(hex + 2 * i, "%2x", &b);
        id.v[i] = (uint8_t)b;
    }
    return id;
}

static sw_endpoint ep4(const char *ip, uint16_t port)
{
    sw_endpoint ep;
    assert_int_equal(sw__endpoint_from_ip(&ep, ip, port), 0);
    return ep;
}

/* An id sharing exactly `depth` leading bits with self, made unique by n. */
static sw_sha1 id_at(const sw_sha1 *self, int depth, unsigned n)
{
    sw_sha1 id = *self;
    id.v[depth / 8] ^= (uint8_t)(0x80 >> (depth % 8));
    if (depth < 144) {
        id.v[18] = (uint8_t)(n >> 8);
        id.v[19] = (uint8_t)n;
    }
    return id;
}

/* A distinct public address per n, never in one /24 with another. */
static sw_endpoint addr_n(unsigned n)
{
    char ip[32];
    snprintf(ip, sizeof ip, "%u.%u.%u.9", 20 + n / 65536, (n / 256) % 256, n % 256);
    return ep4(ip, (uint16_t)(6000 + n % 1000));
}

static void rt_new(sw_dht_routing *rt, const sw_sha1 *self, bool extended)
{
    sw_dht_routing_opts o = {.bucket_size = 8, .extended = extended, .max_fail_count = 5};
    assert_int_equal(sw__dht_routing_init(rt, self, AF_INET, &o), 0);
}

static size_t live_count(const sw_dht_routing *rt)
{
    size_t live;
    sw__dht_routing_counts(rt, 0, &live, NULL, NULL);
    return live;
}

/* Every entry sits in the bucket its id belongs in. */
static void check_placement(const sw_dht_routing *rt)
{
    for (int b = 0; b < rt->n_buckets; b++) {
        const sw_dht_bucket *bk = &rt->buckets[b];
        assert_true(bk->n_live <= sw__dht_routing_bucket_limit(rt, b));
        for (int i = 0; i < bk->n_live; i++)
            assert_int_equal(sw__dht_routing_bucket_of(rt, &bk->live[i].id), b);
        for (int i = 0; i < bk->n_repl; i++)
            assert_int_equal(sw__dht_routing_bucket_of(rt, &bk->repl[i].id), b);
    }
}

/* ---- ids ---- */

static void test_crc32c(void **state)
{
    (void)state;
    assert_int_equal(sw__crc32c((const uint8_t *)"123456789", 9), 0xE3069283u);
    assert_int_equal(sw__crc32c(NULL, 0), 0);
}

static void test_bep42_vectors(void **state)
{
    (void)state;
    static const struct {
        const char *ip;
        uint8_t rand;
        const char *id;
    } v[] = {
        {"124.31.75.21", 1, "5fbfbff10c5d6a4ec8a88e4c6ab4c28b95eee401"},
        {"21.75.31.124", 86, "5a3ce9c14e7a08645677bbd1cfe7d8f956d53256"},
        {"65.23.51.170", 22, "a5d43220bc8f112a3d426c84764f8c2a1150e616"},
        {"84.124.73.14", 65, "1b0321dd1bb1fe518101ceef99462b947a01ff41"},
        {"43.213.53.83", 90, "e56f6cbf5b7c4be0237986d5243b87aa6d5130 5a"},
    };
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
        char hex[41];
        /* (the last vector is written with a gap, as in the BEP's table) */
        size_t n = 0;
        for (const char *p = v[i].id; *p; p++)
            if (*p != ' ')
                hex[n++] = *p;
        hex[n] = 0;
        sw_sha1 id = hex_id(hex);
        sw_endpoint ip = ep4(v[i].ip, 1);
        assert_true(sw__dht_id_verify(&ip, &id));
        /* Our own generator gives the same 21-bit prefix for that r. */
        sw_sha1 mine;
        sw__dht_id_secure(&ip, v[i].rand & 7, &mine);
        assert_memory_equal(mine.v, id.v, 2);
        assert_int_equal(mine.v[2] & 0xf8, id.v[2] & 0xf8);
        assert_int_equal(mine.v[19] & 7, v[i].rand & 7);
        assert_true(sw__dht_id_verify(&ip, &mine));
        /* One bit off in the prefix, or another r, fails. */
        id.v[1] ^= 0x04;
        assert_false(sw__dht_id_verify(&ip, &id));
        id.v[1] ^= 0x04;
        id.v[19] ^= 0x01;
        assert_false(sw__dht_id_verify(&ip, &id));
        /* The same id is wrong for another address. */
        id.v[19] ^= 0x01;
        sw_endpoint other = ep4("1.2.3.4", 1);
        assert_false(sw__dht_id_verify(&other, &id));
    }
    /* IPv6 ids round-trip through the generator too. */
    sw_endpoint ip6;
    assert_int_equal(sw__endpoint_from_ip(&ip6, "2001:db8:1234:5678::1", 1), 0);
    for (uint8_t r = 0; r < 8; r++) {
        sw_sha1 id;
        sw__dht_id_secure(&ip6, r, &id);
        assert_true(sw__dht_id_verify(&ip6, &id));
    }
}

static void test_distance(void **state)
{
    (void)state;
    sw_sha1 t = hex_id("8000000000000000000000000000000000000000");
    sw_sha1 a = hex_id("8000000000000000000000000000000000000001");
    sw_sha1 b = hex_id("0000000000000000000000000000000000000000");
    assert_true(sw__dht_id_closer(&t, &a, &b) < 0);
    assert_true(sw__dht_id_closer(&t, &b, &a) > 0);
    assert_int_equal(sw__dht_id_closer(&t, &a, &a), 0);
    assert_int_equal(sw__dht_id_common_bits(&t, &b), 0);
    assert_int_equal(sw__dht_id_common_bits(&t, &a), 159);
    assert_int_equal(sw__dht_id_common_bits(&t, &t), 160);
    for (int d = 0; d < 160; d++) {
        sw_sha1 r;
        sw__dht_id_random_at_depth(&t, d, &r);
        assert_int_equal(sw__dht_id_common_bits(&t, &r), d);
    }
}

static void test_address_classes(void **state)
{
    (void)state;
    const char *local[] = {"10.1.2.3",     "127.0.0.1",   "172.16.0.1",
                           "172.31.255.1", "192.168.7.7", "169.254.1.1"};
    for (size_t i = 0; i < sizeof local / sizeof local[0]; i++) {
        sw_endpoint ep = ep4(local[i], 1);
        assert_true(sw__dht_addr_is_local(&ep));
    }
    const char *global[] = {"172.32.0.1", "8.8.8.8", "192.169.0.1", "11.0.0.1"};
    for (size_t i = 0; i < sizeof global / sizeof global[0]; i++) {
        sw_endpoint ep = ep4(global[i], 1);
        assert_false(sw__dht_addr_is_local(&ep));
        assert_false(sw__dht_addr_is_dark(&ep));
    }
    const char *dark[] = {"0.0.0.0",   "0.1.2.3",         "224.0.0.1",
                          "239.1.1.1", "255.255.255.255", "240.0.0.1"};
    for (size_t i = 0; i < sizeof dark / sizeof dark[0]; i++) {
        sw_endpoint ep = ep4(dark[i], 1);
        assert_true(sw__dht_addr_is_dark(&ep));
    }
    sw_endpoint v6;
    assert_int_equal(sw__endpoint_from_ip(&v6, "::1", 1), 0);
    assert_true(sw__dht_addr_is_local(&v6));
    assert_int_equal(sw__endpoint_from_ip(&v6, "fe80::1", 1), 0);
    assert_true(sw__dht_addr_is_local(&v6));
    assert_int_equal(sw__endpoint_from_ip(&v6, "ff02::1", 1), 0);
    assert_true(sw__dht_addr_is_dark(&v6));
    assert_int_equal(sw__endpoint_from_ip(&v6, "2001:db8::1", 1), 0);
    assert_false(sw__dht_addr_is_local(&v6));
    assert_false(sw__dht_addr_is_dark(&v6));
    sw_endpoint a = ep4("1.2.3.4", 1), b = ep4("1.2.3.200", 2), c = ep4("1.2.4.4", 1);
    assert_true(sw__dht_addr_same_prefix(&a, &b));
    assert_false(sw__dht_addr_same_prefix(&a, &c));
}

/* ---- routing table ---- */

static void test_split_own_bucket(void **state)
{
    (void)state;
    sw_sha1 self = hex_id("0123456789abcdef0123456789abcdef01234567");
    sw_dht_routing rt;
    rt_new(&rt, &self, false);
    unsigned n = 0;
    /* Eight far nodes fill the single bucket. */
    for (int i = 0; i < 8; i++, n++) {
        sw_sha1 id = id_at(&self, 0, n);
        sw_endpoint ep = addr_n(n);
        assert_int_equal(sw__dht_routing_heard(&rt, &id, &ep, true, 1000), SW_DHT_ADD_LIVE);
    }
    assert_int_equal(rt.n_buckets, 1);
    /* A ninth far node splits our bucket, but its own half stays full of
     * good nodes: it goes to the replacement cache. */
    sw_sha1 id9 = id_at(&self, 0, n);
    sw_endpoint ep9 = addr_n(n++);
    assert_int_equal(sw__dht_routing_heard(&rt, &id9, &ep9, true, 1000), SW_DHT_ADD_REPLACEMENT);
    assert_int_equal(rt.n_buckets, 2);
    assert_int_equal(rt.buckets[0].n_live, 8);
    assert_int_equal(rt.buckets[0].n_repl, 1);
    /* Nodes ever closer to us keep splitting the last bucket. */
    for (int depth = 1; depth < 40; depth++) {
        for (int j = 0; j < 3; j++, n++) {
            sw_sha1 id = id_at(&self, depth, n);
            sw_endpoint ep = addr_n(n);
            assert_int_equal(sw__dht_routing_heard(&rt, &id, &ep, true, 1000), SW_DHT_ADD_LIVE);
        }
    }
    check_placement(&rt);
    assert_true(rt.n_buckets > 10);
    assert_int_equal(live_count(&rt), 8 + 39 * 3);
    /* Known nodes are updated, not duplicated. */
    sw_sha1 again = id_at(&self, 0, 0);
    sw_endpoint ep0 = addr_n(0);
    assert_int_equal(sw__dht_routing_heard(&rt, &again, &ep0, true, 2000), SW_DHT_ADD_UPDATED);
    assert_int_equal(live_count(&rt), 8 + 39 * 3);
    /* Our own id never enters. */
    sw_endpoint epx = addr_n(9999);
    assert_int_equal(sw__dht_routing_heard(&rt, &self, &epx, true, 1000), SW_DHT_ADD_REJECTED);
    sw__dht_routing_free(&rt);
}

static void test_extended_buckets(void **state)
{
    (void)state;
    sw_sha1 self = hex_id("fedcba9876543210fedcba9876543210fedcba98");
    sw_dht_routing rt;
    rt_new(&rt, &self, true);
    assert_int_equal(sw__dht_routing_bucket_limit(&rt, 0), 128);
    assert_int_equal(sw__dht_routing_bucket_limit(&rt, 1), 64);
    assert_int_equal(sw__dht_routing_bucket_limit(&rt, 3), 16);
    assert_int_equal(sw__dht_routing_bucket_limit(&rt, 4), 8);
    for (unsigned n = 0; n < 100; n++) {
        sw_sha1 id = id_at(&self, 0, n);
        sw_endpoint ep = addr_n(n);
        assert_int_equal(sw__dht_routing_heard(&rt, &id, &ep, true, 1000), SW_DHT_ADD_LIVE);
    }
    assert_int_equal(rt.n_buckets, 1);
    assert_int_equal(live_count(&rt), 100);
    sw__dht_routing_free(&rt);
}

static void test_node_states(void **state)
{
    (void)state;
    sw_sha1 self = hex_id("0000000000000000000000000000000000000000");
    sw_dht_routing rt;
    rt_new(&rt, &self, false);
    sw_sha1 a = id_at(&self, 0, 1), b = id_at(&self, 0, 2);
    sw_endpoint ea = addr_n(1), eb = addr_n(2);
    /* a answered us; b only sent us a query. */
    assert_int_equal(sw__dht_routing_heard(&rt, &a, &ea, true, 1000), SW_DHT_ADD_LIVE);
    assert_int_equal(sw__dht_routing_heard(&rt, &b, &eb, false, 1000), SW_DHT_ADD_LIVE);
    const sw_dht_contact *ca = sw__dht_routing_find(&rt, &a);
    const sw_dht_contact *cb = sw__dht_routing_find(&rt, &b);
    assert_int_equal(sw__dht_routing_state(ca, 2000), SW_DHT_NODE_GOOD);
    assert_int_equal(sw__dht_routing_state(cb, 2000), SW_DHT_NODE_QUESTIONABLE);
    /* 15 minutes of silence make a good node questionable... */
    assert_int_equal(sw__dht_routing_state(ca, 1000 + 15 * MIN_MS), SW_DHT_NODE_QUESTIONABLE);
    /* ...and a query from it within that time keeps it good (BEP 5). */
    assert_int_equal(sw__dht_routing_heard(&rt, &a, &ea, false, 10 * MIN_MS), SW_DHT_ADD_UPDATED);
    assert_int_equal(sw__dht_routing_state(ca, 20 * MIN_MS), SW_DHT_NODE_GOOD);
    /* Failures: questionable after one, bad after two. */
    assert_false(sw__dht_routing_failed(&rt, &a, &ea, 21 * MIN_MS));
    assert_int_equal(sw__dht_routing_state(ca, 21 * MIN_MS), SW_DHT_NODE_QUESTIONABLE);
    assert_false(sw__dht_routing_failed(&rt, &a, &ea, 21 * MIN_MS));
    assert_int_equal(sw__dht_routing_state(ca, 21 * MIN_MS), SW_DHT_NODE_BAD);
    /* An answer heals it. */
    assert_int_equal(sw__dht_routing_heard(&rt, &a, &ea, true, 22 * MIN_MS), SW_DHT_ADD_UPDATED);
    assert_int_equal(sw__dht_routing_state(ca, 22 * MIN_MS), SW_DHT_NODE_GOOD);
    /* A failure reported for another address of that id is not its own. */
    sw_endpoint wrong = addr_n(77);
    assert_false(sw__dht_routing_failed(&rt, &a, &wrong, 22 * MIN_MS));
    assert_int_equal(ca->fail_count, 0);
    /* max_fail_count (5) failures remove a node even with no replacement. */
    for (int i = 0; i < 4; i++)
        assert_false(sw__dht_routing_failed(&rt, &b, &eb, 23 * MIN_MS));
    assert_true(sw__dht_routing_failed(&rt, &b, &eb, 23 * MIN_MS));
    assert_null(sw__dht_routing_find(&rt, &b));
    assert_int_equal(live_count(&rt), 1);
    sw__dht_routing_free(&rt);
}

static void test_replacement_cache(void **state)
{
    (void)state;
    sw_sha1 self = hex_id("0000000000000000000000000000000000000000");
    sw_dht_routing rt;
    rt_new(&rt, &self, false);
    /* Force a split so bucket 0 (far half) is no longer ours. */
    for (unsigned n = 0; n < 8; n++) {
        sw_sha1 id = id_at(&self, 0, n);
        sw_endpoint ep = addr_n(n);
        sw__dht_routing_heard(&rt, &id, &ep, true, 1000);
    }
    sw_sha1 extra = id_at(&self, 0, 100);
    sw_endpoint eextra = addr_n(100);
    assert_int_equal(sw__dht_routing_heard(&rt, &extra, &eextra, true, 1000),
                     SW_DHT_ADD_REPLACEMENT);
    /* A bad live node is replaced by the cached one. */
    sw_sha1 victim = id_at(&self, 0, 3);
    sw_endpoint ev = addr_n(3);
    assert_false(sw__dht_routing_failed(&rt, &victim, &ev, 2000));
    assert_true(sw__dht_routing_failed(&rt, &victim, &ev, 2000));
    assert_null(sw__dht_routing_find(&rt, &victim));
    assert_int_equal(rt.buckets[0].n_live, 8);
    assert_int_equal(rt.buckets[0].n_repl, 0);
    bool in_live = false;
    for (int i = 0; i < rt.buckets[0].n_live; i++)
        in_live |= memcmp(rt.buckets[0].live[i].id.v, extra.v, 20) == 0;
    assert_true(in_live);

    /* Unconfirmed nodes (queries only) give way to nodes that answered. */
    sw_dht_routing rt2;
    rt_new(&rt2, &self, false);
    for (unsigned n = 0; n < 8; n++) {
        sw_sha1 id = id_at(&self, 0, n);
        sw_endpoint ep = addr_n(n);
        sw__dht_routing_heard(&rt2, &id, &ep, false, 1000);
    }
    sw_sha1 near = id_at(&self, 5, 50); /* forces the split */
    sw_endpoint enear = addr_n(50);
    assert_int_equal(sw__dht_routing_heard(&rt2, &near, &enear, true, 1000), SW_DHT_ADD_LIVE);
    sw_sha1 good = id_at(&self, 0, 60);
    sw_endpoint egood = addr_n(60);
    assert_int_equal(sw__dht_routing_heard(&rt2, &good, &egood, true, 1000), SW_DHT_ADD_LIVE);
    assert_int_equal(rt2.buckets[0].n_live, 8);
    /* Another query-only node cannot displace anything: it is cached. */
    sw_sha1 q = id_at(&self, 0, 61);
    sw_endpoint eq = addr_n(61);
    assert_int_equal(sw__dht_routing_heard(&rt2, &q, &eq, false, 1000), SW_DHT_ADD_REPLACEMENT);
    /* A cached node that answers displaces one that never did. */
    assert_int_equal(sw__dht_routing_heard(&rt2, &q, &eq, true, 1100), SW_DHT_ADD_LIVE);
    check_placement(&rt2);
    sw__dht_routing_free(&rt2);
    sw__dht_routing_free(&rt);
}

static void test_address_rules(void **state)
{
    (void)state;
    sw_sha1 self = hex_id("0000000000000000000000000000000000000000");
    sw_dht_routing rt;
    sw_dht_routing_opts o = {.bucket_size = 8, .restrict_ips = true, .enforce_node_id = true};
    assert_int_equal(sw__dht_routing_init(&rt, &self, AF_INET, &o), 0);

    /* BEP 42: a public address needs a matching id. */
    sw_endpoint pub = ep4("124.31.75.21", 6881);
    sw_sha1 good = hex_id("5fbfbff10c5d6a4ec8a88e4c6ab4c28b95eee401");
    sw_sha1 bad = hex_id("5fbfbff10c5d6a4ec8a88e4c6ab4c28b95eee402");
    assert_int_equal(sw__dht_routing_heard(&rt, &bad, &pub, true, 1000), SW_DHT_ADD_REJECTED);
    assert_int_equal(sw__dht_routing_heard(&rt, &good, &pub, true, 1000), SW_DHT_ADD_LIVE);
    /* Local addresses are exempt. */
    sw_endpoint lan = ep4("192.168.1.5", 6881);
    assert_int_equal(sw__dht_routing_heard(&rt, &bad, &lan, true, 1000), SW_DHT_ADD_LIVE);
    /* One node per /24: a second address in 192.168.1.x is refused. */
    sw_sha1 other = id_at(&self, 0, 9);
    sw_endpoint lan2 = ep4("192.168.1.6", 6881);
    assert_int_equal(sw__dht_routing_heard(&rt, &other, &lan2, true, 1000), SW_DHT_ADD_REJECTED);
    /* Turning both rules off admits them. */
    sw_dht_routing_opts off = {.bucket_size = 8};
    sw__dht_routing_set_opts(&rt, &off);
    assert_int_equal(sw__dht_routing_heard(&rt, &other, &lan2, true, 1000), SW_DHT_ADD_LIVE);
    sw_sha1 bad2 = id_at(&self, 0, 10);
    sw_endpoint pub2 = ep4("8.8.8.8", 53);
    assert_int_equal(sw__dht_routing_heard(&rt, &bad2, &pub2, true, 1000), SW_DHT_ADD_LIVE);

    /* A good node's id cannot be taken over from another address... */
    sw_endpoint thief = ep4("9.9.9.9", 1);
    assert_int_equal(sw__dht_routing_heard(&rt, &other, &thief, true, 2000), SW_DHT_ADD_REJECTED);
    assert_true(sw__endpoint_equal(&sw__dht_routing_find(&rt, &other)->ep, &lan2));
    /* ...and a new id from a known address only counts once it answers. */
    sw_sha1 renamed = id_at(&self, 0, 11);
    assert_int_equal(sw__dht_routing_heard(&rt, &renamed, &lan2, false, 2000), SW_DHT_ADD_REJECTED);
    assert_int_equal(sw__dht_routing_heard(&rt, &renamed, &lan2, true, 2000), SW_DHT_ADD_LIVE);
    assert_null(sw__dht_routing_find(&rt, &other));
    /* Wrong family and port 0 are refused. */
    sw_endpoint v6;
    assert_int_equal(sw__endpoint_from_ip(&v6, "2001:db8::1", 1), 0);
    sw_sha1 x = id_at(&self, 0, 12);
    assert_int_equal(sw__dht_routing_heard(&rt, &x, &v6, true, 1000), SW_DHT_ADD_REJECTED);
    sw_endpoint zero = ep4("7.7.7.7", 0);
    assert_int_equal(sw__dht_routing_heard(&rt, &x, &zero, true, 1000), SW_DHT_ADD_REJECTED);
    sw__dht_routing_free(&rt);
}

static void test_closest(void **state)
{
    (void)state;
    sw_sha1 self = hex_id("0000000000000000000000000000000000000000");
    sw_dht_routing rt;
    rt_new(&rt, &self, true);
    for (unsigned n = 0; n < 60; n++) {
        sw_sha1 id;
        sw__dht_id_random(&id);
        sw_endpoint ep = addr_n(n);
        sw__dht_routing_heard(&rt, &id, &ep, n % 3 != 0, 1000);
    }
    sw_sha1 target;
    sw__dht_id_random(&target);
    sw_dht_contact out[8];
    size_t n = sw__dht_routing_closest(&rt, &target, 8, 0, 2000, out);
    assert_int_equal(n, 8);
    for (size_t i = 1; i < n; i++)
        assert_true(sw__dht_id_closer(&target, &out[i - 1].id, &out[i].id) < 0);
    /* Nothing in the table is closer than the last one returned. */
    for (int b = 0; b < rt.n_buckets; b++)
        for (int i = 0; i < rt.buckets[b].n_live; i++) {
            const sw_dht_contact *c = &rt.buckets[b].live[i];
            bool listed = false;
            for (size_t j = 0; j < n; j++)
                listed |= memcmp(out[j].id.v, c->id.v, 20) == 0;
            if (!listed)
                assert_true(sw__dht_id_closer(&target, &c->id, &out[n - 1].id) > 0);
        }
    /* Confirmed only: the query-only nodes are left out. */
    n = sw__dht_routing_closest(&rt, &target, 8, SW_DHT_CLOSEST_CONFIRMED, 2000, out);
    for (size_t i = 0; i < n; i++)
        assert_int_not_equal(out[i].last_response_ms, 0);
    assert_int_equal(sw__dht_routing_closest(&rt, &target, 0, 0, 2000, out), 0);
    sw__dht_routing_free(&rt);
}

static void test_maintenance(void **state)
{
    (void)state;
    sw_sha1 self = hex_id("0000000000000000000000000000000000000000");
    sw_dht_routing rt;
    rt_new(&rt, &self, false);
    sw_sha1 a = id_at(&self, 0, 1), b = id_at(&self, 3, 2);
    sw_endpoint ea = addr_n(1), eb = addr_n(2);
    sw__dht_routing_heard(&rt, &a, &ea, true, 1000);
    sw__dht_routing_heard(&rt, &b, &eb, false, 1000);
    /* b never answered: it needs a ping; a is good. */
    sw_dht_contact c;
    /* Not while it is new: it may confirm itself without a ping. */
    assert_false(sw__dht_routing_next_ping(&rt, 2000, 60000, 5000, &c));
    assert_true(sw__dht_routing_next_ping(&rt, 6000, 60000, 5000, &c));
    assert_memory_equal(c.id.v, b.v, 20);
    assert_true(sw__dht_routing_next_ping(&rt, 2000, 60000, 0, &c));
    assert_memory_equal(c.id.v, b.v, 20);
    sw__dht_routing_queried(&rt, &b, 2000);
    assert_false(sw__dht_routing_next_ping(&rt, 3000, 60000, 0, &c));
    /* Much later both need one. */
    assert_true(sw__dht_routing_next_ping(&rt, 1000 + 16 * MIN_MS, 60000, 0, &c));
    /* Refresh: nothing stale at first, then a target inside the stale
     * bucket. */
    sw_sha1 target;
    for (int i = 0; i < rt.n_buckets; i++)
        rt.buckets[i].last_changed_ms = 1000;
    assert_false(sw__dht_routing_next_refresh(&rt, 2000, 15 * MIN_MS, &target));
    assert_true(sw__dht_routing_next_refresh(&rt, 1000 + 15 * MIN_MS, 15 * MIN_MS, &target));
    assert_int_equal(sw__dht_routing_bucket_of(&rt, &target), 0);
    sw__dht_routing_remove(&rt, &a);
    assert_null(sw__dht_routing_find(&rt, &a));
    sw__dht_routing_free(&rt);
}

static void test_depth_counts(void **state)
{
    (void)state;
    sw_sha1 self = hex_id("00000000000000000000000000000000000000ff");
    sw_dht_routing rt;
    rt_new(&rt, &self, true);
    uint32_t counts[SW_DHT_ID_BITS];
    assert_int_equal(sw__dht_routing_depth_counts(&rt, counts), -1);
    unsigned n = 0;
    for (int i = 0; i < 5; i++, n++) {
        sw_sha1 id = id_at(&self, 0, n);
        sw_endpoint ep = addr_n(n);
        sw__dht_routing_heard(&rt, &id, &ep, true, 1);
    }
    for (int i = 0; i < 2; i++, n++) {
        sw_sha1 id = id_at(&self, 7, n);
        sw_endpoint ep = addr_n(n);
        sw__dht_routing_heard(&rt, &id, &ep, true, 1);
    }
    assert_int_equal(sw__dht_routing_depth_counts(&rt, counts), 7);
    assert_int_equal(counts[0], 5);
    assert_int_equal(counts[7], 2);
    assert_int_equal(counts[1], 0);
    sw__dht_routing_free(&rt);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_crc32c),           cmocka_unit_test(test_bep42_vectors),
        cmocka_unit_test(test_distance),         cmocka_unit_test(test_address_classes),
        cmocka_unit_test(test_split_own_bucket), cmocka_unit_test(test_extended_buckets),
        cmocka_unit_test(test_node_states),      cmocka_unit_test(test_replacement_cache),
        cmocka_unit_test(test_address_rules),    cmocka_unit_test(test_closest),
        cmocka_unit_test(test_maintenance),      cmocka_unit_test(test_depth_counts),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
