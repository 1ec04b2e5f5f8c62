/* Unit tests for BEP 33 DHT scrapes: the bloom filters
 * (core/dht/scrape_bloom.c) against the BEP's test vector (192.0.2.0-255
 * and 2001:db8::-2001:db8::3e7 give a known filter and an estimate of
 * 1224.9308), ports ignored, unions, the bounds of the estimate; a node
 * answering scrape=1 with the filters of the seeds and downloaders
 * announced to it; and a scrape lookup merging the filters of its answers
 * (one node behind a fake transport). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <arpa/inet.h>

#include <cmocka.h>

#include "dht/dht_internal.h"
#include "dht/krpc.h"
#include "dht_fixture.h"

/* BEP 33, "Test Vectors". */
static const char *const expected_hex =
    "F6C3F5EAA07FFD91BDE89F777F26FB2BFF37BDB8FB2BBAA2FD3DDDE7BACFFF75"
    "EE7CCBAEFE5EEDB1FBFAFF67F6ABFF5E43DDBCA3FD9B9FFDF4FFD3E9DFF12D1B"
    "DF59DB53DBE9FA5B7FF3B8FDFCDE1AFB8BEDD7BE2F3EE71EBBBFE93BCDEEFE14"
    "8246C2BC5DBFF7E7EFDCF24FD8DC7ADFFD8FFFDFDDFFF7A4BBEEDF5CB95CE81F"
    "C7FCFF1FF4FFFFDFE5F7FDCBB7FD79B3FA1FC77BFE07FFF905B7B7FFC7FEFEFF"
    "E0B8370BB0CD3F5B7F2BD93FEB4386CFDD6F7FD5BFAF2E9EBFFFFEECD67ADBF7"
    "C67F17EFD5D75EBA6FFEBA7FFF47A91EB1BFBB53E8ABFB5762ABE8FF237279BF"
    "EFBFEEF5FFC5FEBFDFE5ADFFADFEE1FB737FFFFBFD9F6AEFFEEE76B6FD8F72EF";

static void from_hex(const char *hex, uint8_t *out, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        unsigned b;
        assert_int_equal(sscanf(hex + 2 * i, "%2x", &b), 1);
        out[i] = (uint8_t)b;
    }
}

static void fill_test_vector(uint8_t bloom[SW_DHT_BLOOM_LEN])
{
    memset(bloom, 0, SW_DHT_BLOOM_LEN);
    for (int i = 0; i < 256; i++) {
        sw_endpoint ep;
        char ip[32];
        snprintf(ip, sizeof ip, "192.0.2.%d", i);
        assert_int_equal(sw__endpoint_from_ip(&ep, ip, 6881), 0);
        sw__dht_bloom_insert(bloom, &ep);
    }
    for (int i = 0; i <= 0x3e7; i++) {
        sw_endpoint ep;
        char ip[64];
        snprintf(ip, sizeof ip, "2001:db8::%x", i);
        assert_int_equal(sw__endpoint_from_ip(&ep, ip, 6881), 0);
        sw__dht_bloom_insert(bloom, &ep);
    }
}

static void test_vector(void **state)
{
    (void)state;
    uint8_t bloom[SW_DHT_BLOOM_LEN], want[SW_DHT_BLOOM_LEN];
    fill_test_vector(bloom);
    from_hex(expected_hex, want, sizeof want);
    assert_memory_equal(bloom, want, sizeof want);
    double est = sw__dht_bloom_estimate(bloom);
    assert_true(est > 1224.930 && est < 1224.932);
}

static void test_ports_and_unions(void **state)
{
    (void)state;
    uint8_t a[SW_DHT_BLOOM_LEN] = {0}, b[SW_DHT_BLOOM_LEN] = {0};
    assert_true(sw__dht_bloom_estimate(a) == 0.0);
    sw_endpoint p1, p2, q;
    assert_int_equal(sw__endpoint_from_ip(&p1, "10.1.2.3", 1), 0);
    assert_int_equal(sw__endpoint_from_ip(&p2, "10.1.2.3", 2), 0);
    assert_int_equal(sw__endpoint_from_ip(&q, "10.1.2.4", 1), 0);
    sw__dht_bloom_insert(a, &p1);
    sw__dht_bloom_insert(b, &p2); /* the same address on another port */
    assert_memory_equal(a, b, sizeof a);
    double one = sw__dht_bloom_estimate(a);
    assert_true(one > 0.99 && one < 1.01);
    sw__dht_bloom_insert(b, &q);
    sw__dht_bloom_union(a, b);
    double two = sw__dht_bloom_estimate(a);
    assert_true(two > 1.99 && two < 2.01);
    /* Full: the estimate stops at its ceiling instead of overflowing. */
    memset(a, 0xff, sizeof a);
    double full = sw__dht_bloom_estimate(a);
    assert_true(full > 7000 && full < 8000);
}

/* ---- one node behind a fake transport ---- */

#define MAX_SENT 64

typedef struct fixture {
    uv_loop_t loop;
    struct {
        uint8_t data[1500];
        size_t len;
        sw_endpoint to;
    } pkts[MAX_SENT];
    size_t n;
    sw_dht *dht;
} fixture;

static int fake_send(void *user, const uint8_t *data, size_t len, const struct sockaddr *to)
{
    fixture *f = user;
    assert_true(f->n < MAX_SENT && len <= sizeof f->pkts[0].data);
    memcpy(f->pkts[f->n].data, data, len);
    f->pkts[f->n].len = len;
    assert_int_equal(sw__endpoint_from_sockaddr(&f->pkts[f->n].to, to), 0);
    f->n++;
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
    sw_sha1 self;
    memset(self.v, 0x55, 20);
    cfg.node_id = &self;
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

static sw_krpc_msg query(sw_krpc_method method, const sw_sha1 *target, uint8_t id_byte)
{
    sw_krpc_msg q;
    memset(&q, 0, sizeof q);
    q.type = SW_KRPC_QUERY;
    q.method = method;
    q.tid = (sw_krpc_bytes){(const uint8_t *)"sc", 2};
    memset(q.id.v, id_byte, 20);
    q.target = *target;
    q.has = SW_KRPC_HAS_TARGET;
    return q;
}

/* The newest packet, decoded (a response to ip). */
static sw_krpc_msg last_response(fixture *f)
{
    sw_krpc_msg r;
    assert_true(f->n > 0);
    for (size_t i = f->n; i-- > 0;) {
        assert_int_equal(sw__krpc_decode(f->pkts[i].data, f->pkts[i].len, &r), 0);
        if (r.type == SW_KRPC_RESPONSE)
            return r;
        sw__krpc_msg_release(&r);
    }
    fail();
    return r;
}

/* ip announces ih (seed or not), with a token fetched by get_peers. */
static void announce_from(fixture *f, const sw_sha1 *ih, const char *ip, bool seed)
{
    sw_krpc_msg q = query(SW_KRPC_GET_PEERS, ih, 0x21);
    feed_msg(f, &q, ip, 7000);
    sw_krpc_msg r = last_response(f);
    assert_true(r.has & SW_KRPC_HAS_TOKEN);
    uint8_t tok[SW_KRPC_MAX_TOKEN];
    size_t tok_len = r.token.len;
    memcpy(tok, r.token.p, tok_len);
    sw__krpc_msg_release(&r);
    q = query(SW_KRPC_ANNOUNCE_PEER, ih, 0x21);
    q.token = (sw_krpc_bytes){tok, tok_len};
    q.port = 7001;
    q.has |= SW_KRPC_HAS_TOKEN | SW_KRPC_HAS_PORT;
    if (seed) {
        q.seed = true;
        q.has |= SW_KRPC_HAS_SEED;
    }
    feed_msg(f, &q, ip, 7000);
    r = last_response(f);
    assert_false(r.has & SW_KRPC_HAS_TOKEN); /* the announce's empty answer */
    sw__krpc_msg_release(&r);
}

static void test_scrape_answer(void **state)
{
    (void)state;
    fixture *f = fx_new();
    sw_sha1 ih;
    memset(ih.v, 0x33, 20);
    /* Nothing stored: no filters. */
    sw_krpc_msg q = query(SW_KRPC_GET_PEERS, &ih, 0x44);
    q.scrape = true;
    q.has |= SW_KRPC_HAS_SCRAPE;
    feed_msg(f, &q, "10.0.5.1", 7000);
    sw_krpc_msg r = last_response(f);
    assert_false(r.has & (SW_KRPC_HAS_BFSD | SW_KRPC_HAS_BFPE));
    sw__krpc_msg_release(&r);
    /* Three seeds and two downloaders; one seed announces twice. */
    announce_from(f, &ih, "10.0.6.1", true);
    announce_from(f, &ih, "10.0.6.2", true);
    announce_from(f, &ih, "10.0.6.3", true);
    announce_from(f, &ih, "10.0.6.3", true);
    announce_from(f, &ih, "10.0.7.1", false);
    announce_from(f, &ih, "10.0.7.2", false);
    feed_msg(f, &q, "10.0.5.1", 7000);
    r = last_response(f);
    assert_true(r.has & SW_KRPC_HAS_BFSD);
    assert_true(r.has & SW_KRPC_HAS_BFPE);
    double seeds = sw__dht_bloom_estimate(r.bf_seeds.p);
    double peers = sw__dht_bloom_estimate(r.bf_peers.p);
    assert_true(seeds > 2.9 && seeds < 3.1);
    assert_true(peers > 1.9 && peers < 2.1);
    assert_true(r.has & SW_KRPC_HAS_VALUES); /* the peers still come */
    sw__krpc_msg_release(&r);
    /* A seed that announces again as a downloader moves over. */
    announce_from(f, &ih, "10.0.6.1", false);
    feed_msg(f, &q, "10.0.5.1", 7000);
    r = last_response(f);
    seeds = sw__dht_bloom_estimate(r.bf_seeds.p);
    peers = sw__dht_bloom_estimate(r.bf_peers.p);
    assert_true(seeds > 1.9 && seeds < 2.1);
    assert_true(peers > 2.9 && peers < 3.1);
    sw__krpc_msg_release(&r);
    /* Without scrape=1 no filters. */
    q.scrape = false;
    q.has &= ~(uint32_t)SW_KRPC_HAS_SCRAPE;
    feed_msg(f, &q, "10.0.5.1", 7000);
    r = last_response(f);
    assert_false(r.has & (SW_KRPC_HAS_BFSD | SW_KRPC_HAS_BFPE));
    sw__krpc_msg_release(&r);
    fx_free(f);
}

typedef struct scrape_rec {
    int calls, status;
    double seeds, downloaders;
} scrape_rec;

static void on_scrape(void *user, int status, double seeds, double downloaders,
                      const sw_dht_lookup_stats *stats)
{
    (void)stats;
    scrape_rec *s = user;
    s->calls++;
    s->status = status;
    s->seeds = seeds;
    s->downloaders = downloaders;
}

static bool scrape_done(void *arg)
{
    return ((scrape_rec *)arg)->calls > 0;
}

static void test_scrape_lookup(void **state)
{
    (void)state;
    fixture *f = fx_new();
    /* Two nodes we know (answering a ping of ours makes them good). */
    const char *ips[2] = {"10.0.8.1", "10.0.8.2"};
    for (int i = 0; i < 2; i++) {
        struct sockaddr_in sa;
        uv_ip4_addr(ips[i], 6881, &sa);
        size_t before = f->n;
        assert_int_equal(sw__dht_add_node(f->dht, (const struct sockaddr *)&sa), 0);
        sw_krpc_msg p;
        assert_int_equal(sw__krpc_decode(f->pkts[before].data, f->pkts[before].len, &p), 0);
        sw_krpc_msg r;
        memset(&r, 0, sizeof r);
        r.type = SW_KRPC_RESPONSE;
        r.tid = p.tid;
        memset(r.id.v, 0x60 + i, 20);
        feed_msg(f, &r, ips[i], 6881);
        sw__krpc_msg_release(&p);
    }
    sw_sha1 ih;
    memset(ih.v, 0x61, 20);
    scrape_rec res = {0};
    size_t before = f->n;
    assert_int_equal(sw__dht_scrape(f->dht, &ih, on_scrape, &res), 0);
    /* Each node holds two seeds and one downloader; one seed is on both. */
    const char *seeds[2][2] = {{"192.0.2.1", "192.0.2.2"}, {"192.0.2.2", "192.0.2.3"}};
    const char *dls[2] = {"192.0.2.10", "192.0.2.11"};
    for (size_t i = before; i < f->n && i < before + 8; i++) {
        sw_krpc_msg q;
        assert_int_equal(sw__krpc_decode(f->pkts[i].data, f->pkts[i].len, &q), 0);
        assert_int_equal(q.method, SW_KRPC_GET_PEERS);
        assert_true(q.scrape);
        char ip[64];
        sw__endpoint_format_ip(&f->pkts[i].to, ip, sizeof ip);
        int k = strcmp(ip, ips[0]) == 0 ? 0 : 1;
        uint8_t bs[SW_DHT_BLOOM_LEN] = {0}, bp[SW_DHT_BLOOM_LEN] = {0};
        for (int j = 0; j < 2; j++) {
            sw_endpoint ep;
            assert_int_equal(sw__endpoint_from_ip(&ep, seeds[k][j], 1), 0);
            sw__dht_bloom_insert(bs, &ep);
        }
        sw_endpoint ep;
        assert_int_equal(sw__endpoint_from_ip(&ep, dls[k], 1), 0);
        sw__dht_bloom_insert(bp, &ep);
        sw_krpc_msg r;
        memset(&r, 0, sizeof r);
        r.type = SW_KRPC_RESPONSE;
        r.tid = q.tid;
        memset(r.id.v, 0x60 + k, 20);
        r.bf_seeds = (sw_krpc_bytes){bs, sizeof bs};
        r.bf_peers = (sw_krpc_bytes){bp, sizeof bp};
        r.has = SW_KRPC_HAS_BFSD | SW_KRPC_HAS_BFPE;
        feed_msg(f, &r, ip, 6881);
        sw__krpc_msg_release(&q);
    }
    assert_true(dfx_run_until(&f->loop, scrape_done, &res, 2000));
    assert_int_equal(res.calls, 1);
    assert_int_equal(res.status, 0);
    assert_true(res.seeds > 2.9 && res.seeds < 3.1);
    assert_true(res.downloaders > 1.9 && res.downloaders < 2.1);
    fx_free(f);
}

static void test_filter_fields(void **state)
{
    (void)state;
    /* Filters of another length are ignored, not an error. */
    static const char bad[] = "d1:rd4:BFsd3:abc2:id20:cccccccccccccccccccce1:t2:aa1:y1:re";
    sw_krpc_msg m;
    assert_int_equal(sw__krpc_decode((const uint8_t *)bad, sizeof bad - 1, &m), 0);
    assert_false(m.has & SW_KRPC_HAS_BFSD);
    sw__krpc_msg_release(&m);
    /* And an encoder refuses to write one. */
    uint8_t small[10] = {0};
    memset(&m, 0, sizeof m);
    m.type = SW_KRPC_RESPONSE;
    m.tid = (sw_krpc_bytes){(const uint8_t *)"aa", 2};
    m.bf_seeds = (sw_krpc_bytes){small, sizeof small};
    m.has = SW_KRPC_HAS_BFSD;
    sw_buf out = {0};
    assert_int_equal(sw__krpc_encode(&m, &out), SW_ERR_INVALID_ARG);
    /* scrape and seed round-trip. */
    memset(&m, 0, sizeof m);
    m.type = SW_KRPC_QUERY;
    m.method = SW_KRPC_ANNOUNCE_PEER;
    m.tid = (sw_krpc_bytes){(const uint8_t *)"aa", 2};
    m.token = (sw_krpc_bytes){(const uint8_t *)"tok", 3};
    m.port = 1;
    m.seed = true;
    m.has = SW_KRPC_HAS_TARGET | SW_KRPC_HAS_TOKEN | SW_KRPC_HAS_PORT | SW_KRPC_HAS_SEED;
    assert_int_equal(sw__krpc_encode(&m, &out), 0);
    sw_krpc_msg back;
    assert_int_equal(sw__krpc_decode(out.data, out.len, &back), 0);
    assert_true(back.has & SW_KRPC_HAS_SEED);
    assert_true(back.seed);
    sw__krpc_msg_release(&back);
    sw__buf_free(&out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_vector),        cmocka_unit_test(test_ports_and_unions),
        cmocka_unit_test(test_filter_fields), cmocka_unit_test(test_scrape_answer),
        cmocka_unit_test(test_scrape_lookup),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
