/* Unit tests for the KRPC codec (core/dht/krpc.h): BEP 5's example packets
 * byte for byte, BEP 32/42/43/44/51 fields, compact encodings, and
 * malformed input. */
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

#include "dht/krpc.h"

#define LIT(s) (const uint8_t *)(s), sizeof(s) - 1

static sw_krpc_msg decode_ok(const uint8_t *buf, size_t len)
{
    sw_krpc_msg m;
    int rc = sw__krpc_decode(buf, len, &m);
    if (rc != 0)
        fail_msg("decode failed (%d) for %.*s", rc, (int)len, (const char *)buf);
    return m;
}

static void decode_bad(const uint8_t *buf, size_t len, bool expect_query)
{
    sw_krpc_msg m;
    assert_int_equal(sw__krpc_decode(buf, len, &m), SW_ERR_DHT_MALFORMED);
    assert_null(m.doc_);
    assert_null(m.values);
    if (expect_query) {
        assert_int_equal(m.type, SW_KRPC_QUERY);
        assert_non_null(m.tid.p);
        /* The tid points into the input, so it survives the failure. */
        assert_true(m.tid.p >= buf && m.tid.p + m.tid.len <= buf + len);
    } else {
        assert_int_equal(m.type, 0);
    }
}

static bool bytes_eq(sw_krpc_bytes b, const char *s)
{
    return b.len == strlen(s) && memcmp(b.p, s, b.len) == 0;
}

static sw_sha1 id_of(const char *s20)
{
    sw_sha1 id;
    memcpy(id.v, s20, 20);
    return id;
}

/* Encodes m and compares with the expected bencoding. */
static void encode_eq_n(const sw_krpc_msg *m, const char *want, size_t want_len)
{
    sw_buf out = {0};
    assert_int_equal(sw__krpc_encode(m, &out), 0);
    bool same = out.len == want_len && memcmp(out.data, want, out.len) == 0;
    if (!same) {
        fprintf(stderr, "encoded  %.*s\nexpected %.*s\n", (int)out.len, (const char *)out.data,
                (int)want_len, want);
        sw__buf_free(&out);
        fail();
    }
    sw__buf_free(&out);
}
#define encode_eq(m, lit) encode_eq_n((m), (lit), sizeof(lit) - 1)

/* ---- BEP 5 examples ---- */

static void test_ping(void **state)
{
    (void)state;
    static const char q[] = "d1:ad2:id20:abcdefghij0123456789e1:q4:ping1:t2:aa1:y1:qe";
    sw_krpc_msg m = decode_ok(LIT(q));
    assert_int_equal(m.type, SW_KRPC_QUERY);
    assert_int_equal(m.method, SW_KRPC_PING);
    assert_true(bytes_eq(m.tid, "aa"));
    assert_memory_equal(m.id.v, "abcdefghij0123456789", 20);
    assert_int_equal(m.has, 0);
    assert_false(m.read_only);
    sw__krpc_msg_release(&m);

    sw_krpc_msg e = {0};
    e.type = SW_KRPC_QUERY;
    e.method = SW_KRPC_PING;
    e.tid = (sw_krpc_bytes){(const uint8_t *)"aa", 2};
    e.id = id_of("abcdefghij0123456789");
    encode_eq(&e, q);

    static const char r[] = "d1:rd2:id20:mnopqrstuvwxyz123456e1:t2:aa1:y1:re";
    m = decode_ok(LIT(r));
    assert_int_equal(m.type, SW_KRPC_RESPONSE);
    assert_memory_equal(m.id.v, "mnopqrstuvwxyz123456", 20);
    sw__krpc_msg_release(&m);
    e.type = SW_KRPC_RESPONSE;
    e.id = id_of("mnopqrstuvwxyz123456");
    encode_eq(&e, r);
}

static void test_find_node(void **state)
{
    (void)state;
    static const char q[] = "d1:ad2:id20:abcdefghij01234567896:target20:mnopqrstuvwxyz123456e"
                            "1:q9:find_node1:t2:aa1:y1:qe";
    sw_krpc_msg m = decode_ok(LIT(q));
    assert_int_equal(m.method, SW_KRPC_FIND_NODE);
    assert_true(m.has & SW_KRPC_HAS_TARGET);
    assert_memory_equal(m.target.v, "mnopqrstuvwxyz123456", 20);
    sw__krpc_msg_release(&m);

    sw_krpc_msg e = {0};
    e.type = SW_KRPC_QUERY;
    e.method = SW_KRPC_FIND_NODE;
    e.tid = (sw_krpc_bytes){(const uint8_t *)"aa", 2};
    e.id = id_of("abcdefghij0123456789");
    e.target = id_of("mnopqrstuvwxyz123456");
    e.has = SW_KRPC_HAS_TARGET;
    encode_eq(&e, q);
}

static void test_get_peers(void **state)
{
    (void)state;
    static const char q[] = "d1:ad2:id20:abcdefghij01234567899:info_hash20:mnopqrstuvwxyz123456e"
                            "1:q9:get_peers1:t2:aa1:y1:qe";
    sw_krpc_msg m = decode_ok(LIT(q));
    assert_int_equal(m.method, SW_KRPC_GET_PEERS);
    assert_memory_equal(m.target.v, "mnopqrstuvwxyz123456", 20);
    sw__krpc_msg_release(&m);

    sw_krpc_msg e = {0};
    e.type = SW_KRPC_QUERY;
    e.method = SW_KRPC_GET_PEERS;
    e.tid = (sw_krpc_bytes){(const uint8_t *)"aa", 2};
    e.id = id_of("abcdefghij0123456789");
    e.target = id_of("mnopqrstuvwxyz123456");
    e.has = SW_KRPC_HAS_TARGET;
    encode_eq(&e, q);

    /* Response with peers: "axje.u" and "idhtnm" are compact IPv4 peers. */
    static const char r[] = "d1:rd2:id20:abcdefghij01234567895:token8:aoeusnth6:valuesl6:axje.u"
                            "6:idhtnmee1:t2:aa1:y1:re";
    m = decode_ok(LIT(r));
    assert_int_equal(m.type, SW_KRPC_RESPONSE);
    assert_true(bytes_eq(m.token, "aoeusnth"));
    assert_int_equal(m.num_values, 2);
    assert_int_equal(m.values[0].family, AF_INET);
    assert_memory_equal(m.values[0].addr, "axje", 4);
    assert_int_equal(m.values[0].port, ('.' << 8) | 'u');
    assert_memory_equal(m.values[1].addr, "idht", 4);
    /* Re-encoding the decoded message gives the same bytes. */
    m.has &= ~SW_KRPC_HAS_VERSION;
    encode_eq(&m, r);
    sw__krpc_msg_release(&m);

    /* Response with nodes: 9 bytes is not one whole 26-byte node. */
    static const char rn[] = "d1:rd2:id20:abcdefghij01234567895:nodes9:def456...5:token8:aoeusnth"
                             "e1:t2:aa1:y1:re";
    m = decode_ok(LIT(rn));
    assert_true(m.has & SW_KRPC_HAS_NODES);
    assert_int_equal(m.nodes.len, 0);
    assert_int_equal(sw__krpc_node_count(m.nodes, AF_INET), 0);
    sw__krpc_msg_release(&m);
}

static void test_announce_peer(void **state)
{
    (void)state;
    static const char q[] = "d1:ad2:id20:abcdefghij012345678912:implied_porti1e9:info_hash20:"
                            "mnopqrstuvwxyz1234564:porti6881e5:token8:aoeusnthe1:q13:announce_peer"
                            "1:t2:aa1:y1:qe";
    sw_krpc_msg m = decode_ok(LIT(q));
    assert_int_equal(m.method, SW_KRPC_ANNOUNCE_PEER);
    assert_true(m.implied_port);
    assert_int_equal(m.port, 6881);
    assert_true(bytes_eq(m.token, "aoeusnth"));
    assert_memory_equal(m.target.v, "mnopqrstuvwxyz123456", 20);
    encode_eq(&m, q);
    sw__krpc_msg_release(&m);

    /* implied_port without a port is fine; neither is not. */
    static const char implied[] = "d1:ad2:id20:abcdefghij012345678912:implied_porti1e9:info_hash20:"
                                  "mnopqrstuvwxyz1234565:token1:xe1:q13:announce_peer1:t1:a1:y1:qe";
    m = decode_ok(LIT(implied));
    assert_false(m.has & SW_KRPC_HAS_PORT);
    sw__krpc_msg_release(&m);
    static const char noport[] = "d1:ad2:id20:abcdefghij01234567899:info_hash20:"
                                 "mnopqrstuvwxyz1234565:token1:xe1:q13:announce_peer1:t1:a1:y1:qe";
    decode_bad(LIT(noport), true);
}

static void test_error(void **state)
{
    (void)state;
    static const char e[] = "d1:eli201e23:A Generic Error Ocurrede1:t2:aa1:y1:ee";
    sw_krpc_msg m = decode_ok(LIT(e));
    assert_int_equal(m.type, SW_KRPC_ERROR);
    assert_int_equal(m.error_code, 201);
    assert_true(bytes_eq(m.error_msg, "A Generic Error Ocurred"));
    encode_eq(&m, e);
    sw__krpc_msg_release(&m);
    /* The message text is optional. */
    m = decode_ok(LIT("d1:eli204ee1:t1:x1:y1:ee"));
    assert_int_equal(m.error_code, 204);
    assert_null(m.error_msg.p);
    sw__krpc_msg_release(&m);
}

/* ---- extensions ---- */

static void test_top_level_fields(void **state)
{
    (void)state;
    /* BEP 42 "ip" (IPv4), BEP 43 "ro", client version. */
    static const char q[] = "d1:ad2:id20:abcdefghij0123456789e2:ip6:\x7f\x00\x00\x01\x1a\xe1"
                            "1:q4:ping2:roi1e1:t2:aa1:v4:SW\x00\x01"
                            "1:y1:qe";
    sw_krpc_msg m = decode_ok(LIT(q));
    assert_true(m.read_only);
    assert_true(m.has & SW_KRPC_HAS_IP);
    assert_int_equal(m.ip.family, AF_INET);
    assert_memory_equal(m.ip.addr, "\x7f\x00\x00\x01", 4);
    assert_int_equal(m.ip.port, 6881);
    assert_true(m.has & SW_KRPC_HAS_VERSION);
    assert_int_equal(m.version.len, 4);
    encode_eq(&m, "d1:ad2:id20:abcdefghij0123456789e2:ip6:\x7f\x00\x00\x01\x1a\xe1"
                  "1:q4:ping2:roi1e1:t2:aa1:v4:SW\x00\x01"
                  "1:y1:qe");
    sw__krpc_msg_release(&m);

    /* "ro" other than 1 is not the flag; an "ip" of another length is ignored. */
    m = decode_ok(LIT("d1:ad2:id20:abcdefghij0123456789e2:ip5:abcde1:q4:ping2:roi2e1:t1:a1:y1:qe"));
    assert_false(m.read_only);
    assert_false(m.has & SW_KRPC_HAS_IP);
    sw__krpc_msg_release(&m);

    /* IPv6 "ip", and an encoded response carries it. */
    uint8_t v6[18] = {0x20, 0x01, 0x0d, 0xb8, [15] = 1, [16] = 0x1a, [17] = 0xe1};
    sw_krpc_msg e = {0};
    e.type = SW_KRPC_RESPONSE;
    e.tid = (sw_krpc_bytes){(const uint8_t *)"zz", 2};
    e.id = id_of("mnopqrstuvwxyz123456");
    assert_true(sw__krpc_peer_read(v6, 18, &e.ip));
    e.has = SW_KRPC_HAS_IP;
    sw_buf out = {0};
    assert_int_equal(sw__krpc_encode(&e, &out), 0);
    m = decode_ok(out.data, out.len);
    assert_int_equal(m.ip.family, AF_INET6);
    assert_memory_equal(m.ip.addr, v6, 16);
    assert_int_equal(m.ip.port, 6881);
    sw__krpc_msg_release(&m);
    sw__buf_free(&out);
}

static void test_want_and_nodes6(void **state)
{
    (void)state;
    sw_krpc_msg e = {0};
    e.type = SW_KRPC_QUERY;
    e.method = SW_KRPC_FIND_NODE;
    e.tid = (sw_krpc_bytes){(const uint8_t *)"aa", 2};
    e.id = id_of("abcdefghij0123456789");
    e.target = id_of("mnopqrstuvwxyz123456");
    e.want = SW_KRPC_WANT_N4 | SW_KRPC_WANT_N6;
    e.has = SW_KRPC_HAS_TARGET | SW_KRPC_HAS_WANT;
    encode_eq(&e, "d1:ad2:id20:abcdefghij01234567896:target20:mnopqrstuvwxyz1234564:wantl2:n42:n6ee"
                  "1:q9:find_node1:t2:aa1:y1:qe");
    /* Unknown want strings and non-strings are ignored. */
    sw_krpc_msg m = decode_ok(LIT("d1:ad2:id20:abcdefghij01234567896:target20:mnopqrstuvwxyz123456"
                                  "4:wantl2:n62:n9i4eee1:q9:find_node1:t2:aa1:y1:qe"));
    assert_int_equal(m.want, SW_KRPC_WANT_N6);
    sw__krpc_msg_release(&m);

    /* A response with one IPv4 and two IPv6 nodes. */
    sw_buf n4 = {0}, n6 = {0};
    sw_sha1 a = id_of("AAAAAAAAAAAAAAAAAAAA"), b = id_of("BBBBBBBBBBBBBBBBBBBB");
    sw_endpoint ep4, ep6;
    assert_int_equal(sw__endpoint_from_ip(&ep4, "10.1.2.3", 6881), 0);
    assert_int_equal(sw__endpoint_from_ip(&ep6, "2001:db8::7", 51413), 0);
    assert_int_equal(sw__krpc_node_append(&n4, &a, &ep4), 0);
    assert_int_equal(sw__krpc_node_append(&n6, &a, &ep6), 0);
    assert_int_equal(sw__krpc_node_append(&n6, &b, &ep6), 0);
    assert_int_equal(n4.len, SW_KRPC_NODE4_LEN);
    assert_int_equal(n6.len, 2 * SW_KRPC_NODE6_LEN);
    sw_krpc_msg r = {0};
    r.type = SW_KRPC_RESPONSE;
    r.tid = (sw_krpc_bytes){(const uint8_t *)"aa", 2};
    r.id = b;
    r.nodes = (sw_krpc_bytes){n4.data, n4.len};
    r.nodes6 = (sw_krpc_bytes){n6.data, n6.len};
    r.has = SW_KRPC_HAS_NODES | SW_KRPC_HAS_NODES6;
    sw_buf out = {0};
    assert_int_equal(sw__krpc_encode(&r, &out), 0);
    m = decode_ok(out.data, out.len);
    assert_int_equal(sw__krpc_node_count(m.nodes, AF_INET), 1);
    assert_int_equal(sw__krpc_node_count(m.nodes6, AF_INET6), 2);
    sw_sha1 id;
    sw_endpoint ep;
    sw__krpc_node_at(m.nodes, AF_INET, 0, &id, &ep);
    assert_memory_equal(id.v, a.v, 20);
    assert_true(sw__endpoint_equal(&ep, &ep4));
    sw__krpc_node_at(m.nodes6, AF_INET6, 1, &id, &ep);
    assert_memory_equal(id.v, b.v, 20);
    assert_true(sw__endpoint_equal(&ep, &ep6));
    sw__krpc_msg_release(&m);
    sw__buf_free(&out);
    sw__buf_free(&n4);
    sw__buf_free(&n6);
}

static void test_values_mixed(void **state)
{
    (void)state;
    /* BEP 32: lists may mix 6- and 18-byte entries; other lengths, other
     * types and port 0 are skipped. */
    static const char r[] = "d1:rd2:id20:abcdefghij01234567896:valuesl6:\x01\x02\x03\x04\x00\x50"
                            "18:\x20\x01\x0d\xb8\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x01"
                            "\x1a\xe1"
                            "5:short"
                            "i7e"
                            "6:\x05\x06\x07\x08\x00\x00"
                            "ee1:t2:aa1:y1:re";
    sw_krpc_msg m = decode_ok(LIT(r));
    assert_int_equal(m.num_values, 2);
    assert_int_equal(m.values[0].family, AF_INET);
    assert_int_equal(m.values[0].port, 80);
    assert_int_equal(m.values[1].family, AF_INET6);
    assert_int_equal(m.values[1].port, 6881);
    sw__krpc_msg_release(&m);

    /* At most SW_KRPC_MAX_VALUES are kept from a huge list. */
    sw_buf big = {0};
    assert_int_equal(sw__buf_append(&big, LIT("d1:rd2:id20:abcdefghij01234567896:valuesl")), 0);
    for (int i = 0; i < SW_KRPC_MAX_VALUES + 50; i++)
        assert_int_equal(sw__buf_append(&big, LIT("6:\x01\x02\x03\x04\x00\x50")), 0);
    assert_int_equal(sw__buf_append(&big, LIT("ee1:t2:aa1:y1:re")), 0);
    m = decode_ok(big.data, big.len);
    assert_int_equal(m.num_values, SW_KRPC_MAX_VALUES);
    sw__krpc_msg_release(&m);
    sw__buf_free(&big);
}

static void test_bep44_messages(void **state)
{
    (void)state;
    uint8_t k[32], sig[64];
    memset(k, 0x4b, sizeof k);
    memset(sig, 0x53, sizeof sig);
    sw_krpc_msg e = {0};
    e.type = SW_KRPC_QUERY;
    e.method = SW_KRPC_PUT;
    e.tid = (sw_krpc_bytes){(const uint8_t *)"pt", 2};
    e.id = id_of("abcdefghij0123456789");
    e.token = (sw_krpc_bytes){(const uint8_t *)"tok", 3};
    e.v = (sw_krpc_bytes){(const uint8_t *)"12:Hello World!", 15};
    e.k = (sw_krpc_bytes){k, 32};
    e.sig = (sw_krpc_bytes){sig, 64};
    e.seq = 4;
    e.cas = 3;
    e.salt = (sw_krpc_bytes){(const uint8_t *)"foobar", 6};
    e.has = SW_KRPC_HAS_TOKEN | SW_KRPC_HAS_V | SW_KRPC_HAS_K | SW_KRPC_HAS_SIG | SW_KRPC_HAS_SEQ |
            SW_KRPC_HAS_CAS | SW_KRPC_HAS_SALT;
    sw_buf out = {0};
    assert_int_equal(sw__krpc_encode(&e, &out), 0);
    sw_krpc_msg m = decode_ok(out.data, out.len);
    assert_int_equal(m.method, SW_KRPC_PUT);
    assert_true(bytes_eq(m.v, "12:Hello World!"));
    assert_memory_equal(m.k.p, k, 32);
    assert_memory_equal(m.sig.p, sig, 64);
    assert_int_equal(m.seq, 4);
    assert_int_equal(m.cas, 3);
    assert_true(bytes_eq(m.salt, "foobar"));
    assert_true(bytes_eq(m.token, "tok"));
    sw__krpc_msg_release(&m);
    sw__buf_free(&out);

    /* get with seq; a dict value keeps its raw bytes. */
    m = decode_ok(LIT("d1:ad2:id20:abcdefghij01234567893:seqi9e6:target20:mnopqrstuvwxyz123456e"
                      "1:q3:get1:t2:gg1:y1:qe"));
    assert_int_equal(m.method, SW_KRPC_GET);
    assert_int_equal(m.seq, 9);
    sw__krpc_msg_release(&m);
    m = decode_ok(
        LIT("d1:rd2:id20:abcdefghij01234567895:token2:tk1:vd1:ai1e1:bl1:xeee1:t2:gg1:y1:re"));
    assert_true(bytes_eq(m.v, "d1:ai1e1:bl1:xee"));
    sw__krpc_msg_release(&m);

    /* put of a non-canonical value (unsorted keys) is malformed (BEP 44). */
    decode_bad(LIT("d1:ad2:id20:abcdefghij01234567895:token2:tk1:vd1:bi1e1:ai2eee1:q3:put1:t2:pp"
                   "1:y1:qe"),
               true);
    /* ... and so is a mutable put missing its signature, or a negative seq. */
    static char nosig[256];
    snprintf(nosig, sizeof nosig,
             "d1:ad2:id20:abcdefghij01234567891:k32:%.32s3:seqi1e5:token2:tk1:v1:xe1:q3:put"
             "1:t2:pp1:y1:qe",
             "KKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKK");
    decode_bad((const uint8_t *)nosig, strlen(nosig), true);
    static char negseq[256];
    snprintf(negseq, sizeof negseq,
             "d1:ad2:id20:abcdefghij01234567891:k32:%.32s3:seqi-1e3:sig64:%.64s5:token2:tk1:v1:xe"
             "1:q3:put1:t2:pp1:y1:qe",
             "KKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKK",
             "SSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSS");
    decode_bad((const uint8_t *)negseq, strlen(negseq), true);
    /* A salt longer than 64 bytes is decoded: the node answers 207. */
    static char longsalt[400];
    snprintf(longsalt, sizeof longsalt,
             "d1:ad2:id20:abcdefghij01234567891:k32:%.32s4:salt70:%070d3:seqi1e3:sig64:%.64s"
             "5:token2:tk1:v1:xe1:q3:put1:t2:pp1:y1:qe",
             "KKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKK", 0,
             "SSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSS");
    m = decode_ok((const uint8_t *)longsalt, strlen(longsalt));
    assert_int_equal(m.salt.len, 70);
    sw__krpc_msg_release(&m);
}

static void test_sample_infohashes(void **state)
{
    (void)state;
    sw_krpc_msg m = decode_ok(LIT("d1:ad2:id20:abcdefghij01234567896:target20:mnopqrstuvwxyz123456"
                                  "e1:q17:sample_infohashes1:t2:ss1:y1:qe"));
    assert_int_equal(m.method, SW_KRPC_SAMPLE_INFOHASHES);
    sw__krpc_msg_release(&m);
    /* 45 bytes of samples: two whole info-hashes. */
    m = decode_ok(LIT("d1:rd2:id20:abcdefghij01234567898:intervali300e3:numi7e7:samples45:"
                      "0123456789012345678901234567890123456789abcdee1:t2:ss1:y1:re"));
    assert_int_equal(m.samples.len, 40);
    assert_int_equal(m.num, 7);
    assert_int_equal(m.interval, 300);
    sw__krpc_msg_release(&m);
}

static void test_unknown_method(void **state)
{
    (void)state;
    sw_krpc_msg m = decode_ok(LIT("d1:ad2:id20:abcdefghij01234567896:target20:mnopqrstuvwxyz123456"
                                  "e1:q8:vote_foo1:t2:uu1:y1:qe"));
    assert_int_equal(m.method, SW_KRPC_UNKNOWN);
    assert_true(bytes_eq(m.method_name, "vote_foo"));
    assert_true(m.has & SW_KRPC_HAS_TARGET);
    sw__krpc_msg_release(&m);
}

/* ---- malformed input ---- */

static void test_malformed(void **state)
{
    (void)state;
    decode_bad(NULL, 0, false);
    decode_bad(LIT(""), false);
    decode_bad(LIT("le"), false);
    decode_bad(LIT("i42e"), false);
    decode_bad(LIT("d1:ad2:id20:abcdefghij0123456789e1:q4:ping1:t2:aa1:y1:q"), false); /* cut */
    decode_bad(LIT("d1:ad2:id20:abcdefghij0123456789e1:q4:ping1:y1:qe"), false);       /* no t */
    decode_bad(LIT("d1:ad2:id20:abcdefghij0123456789e1:q4:ping1:t0:1:y1:qe"), false);  /* empty t */
    decode_bad(LIT("d1:ad2:id20:abcdefghij0123456789e1:q4:ping1:ti1e1:y1:qe"), false); /* int t */
    decode_bad(LIT("d1:ad2:id20:abcdefghij0123456789e1:q4:ping1:t33:"
                   "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa1:y1:qe"),
               false);                                                            /* long t */
    decode_bad(LIT("d1:ad2:id20:abcdefghij0123456789e1:q4:ping1:t2:aae"), false); /* no y */
    decode_bad(LIT("d1:t2:aa1:y1:xe"), false);                                    /* bad y */
    decode_bad(LIT("d1:t2:aa1:y2:qqe"), false);
    decode_bad(LIT("d1:ad2:id20:abcdefghij0123456789e1:t2:aa1:y1:qe"), false); /* no q */
    /* Recognised queries with bad arguments: answerable with 203. */
    decode_bad(LIT("d1:q4:ping1:t2:aa1:y1:qe"), true);               /* no a */
    decode_bad(LIT("d1:ali1ee1:q4:ping1:t2:aa1:y1:qe"), true);       /* a not dict */
    decode_bad(LIT("d1:ad2:id3:abce1:q4:ping1:t2:aa1:y1:qe"), true); /* short id */
    decode_bad(LIT("d1:ad2:idi5ee1:q4:ping1:t2:aa1:y1:qe"), true);   /* int id */
    decode_bad(LIT("d1:ad2:id20:abcdefghij0123456789e1:q9:find_node1:t2:aa1:y1:qe"), true);
    decode_bad(LIT("d1:ad2:id20:abcdefghij01234567896:target5:shorte1:q9:find_node1:t2:aa1:y1:qe"),
               true);
    decode_bad(LIT("d1:ad2:id20:abcdefghij0123456789e1:q9:get_peers1:t2:aa1:y1:qe"), true);
    decode_bad(LIT("d1:ad2:id20:abcdefghij0123456789e1:q3:get1:t2:aa1:y1:qe"), true);
    decode_bad(LIT("d1:ad2:id20:abcdefghij0123456789e1:q17:sample_infohashes1:t2:aa1:y1:qe"), true);
    decode_bad(LIT("d1:ad2:id20:abcdefghij01234567899:info_hash20:mnopqrstuvwxyz1234564:porti0e"
                   "5:token1:xe1:q13:announce_peer1:t2:aa1:y1:qe"),
               true); /* port 0 */
    decode_bad(LIT("d1:ad2:id20:abcdefghij01234567899:info_hash20:mnopqrstuvwxyz1234564:porti70000e"
                   "5:token1:xe1:q13:announce_peer1:t2:aa1:y1:qe"),
               true); /* port out of range */
    decode_bad(LIT("d1:ad2:id20:abcdefghij01234567899:info_hash20:mnopqrstuvwxyz1234564:porti1e"
                   "e1:q13:announce_peer1:t2:aa1:y1:qe"),
               true); /* no token */
    decode_bad(LIT("d1:ad2:id20:abcdefghij01234567891:v1:xe1:q3:put1:t2:aa1:y1:qe"), true);
    decode_bad(LIT("d1:ad2:id20:abcdefghij01234567895:token2:tke1:q3:put1:t2:aa1:y1:qe"), true);
    /* Responses and errors. */
    decode_bad(LIT("d1:t2:aa1:y1:re"), false);              /* no r */
    decode_bad(LIT("d1:rd2:id2:abe1:t2:aa1:y1:re"), false); /* short id */
    decode_bad(LIT("d1:rde1:t2:aa1:y1:re"), false);         /* no id */
    decode_bad(LIT("d1:e3:abc1:t2:aa1:y1:ee"), false);      /* e not a list */
    decode_bad(LIT("d1:el3:abce1:t2:aa1:y1:ee"), false);    /* code not an int */
    decode_bad(LIT("d1:t2:aa1:y1:ee"), false);              /* no e */
    /* Bounds. */
    uint8_t *huge = malloc(SW_KRPC_MAX_PACKET + 1);
    memset(huge, 'd', SW_KRPC_MAX_PACKET + 1);
    decode_bad(huge, SW_KRPC_MAX_PACKET + 1, false);
    free(huge);
    char deep[400];
    size_t n = 0;
    n += (size_t)snprintf(deep, sizeof deep, "d1:rd2:id20:abcdefghij01234567891:v");
    for (int i = 0; i < SW_KRPC_MAX_DEPTH + 2; i++)
        deep[n++] = 'l';
    for (int i = 0; i < SW_KRPC_MAX_DEPTH + 2; i++)
        deep[n++] = 'e';
    n += (size_t)snprintf(deep + n, sizeof deep - n, "e1:t2:aa1:y1:re");
    decode_bad((const uint8_t *)deep, n, false);
}

static void test_wrong_types_ignored(void **state)
{
    (void)state;
    /* Optional response fields of the wrong type count as absent. */
    sw_krpc_msg m =
        decode_ok(LIT("d1:rd2:id20:abcdefghij01234567895:nodesi5e5:tokeni1e6:values3:abc"
                      "1:k3:abc3:sig2:ab3:seq1:xe1:t2:aa1:y1:re"));
    assert_int_equal(m.has, 0);
    sw__krpc_msg_release(&m);
    /* Lenient bencode: unsorted keys at the top level still decode. */
    m = decode_ok(LIT("d1:y1:r1:t2:aa1:rd2:id20:abcdefghij0123456789ee"));
    assert_int_equal(m.type, SW_KRPC_RESPONSE);
    sw__krpc_msg_release(&m);
}

static void test_encode_rejects(void **state)
{
    (void)state;
    sw_buf out = {0};
    sw_krpc_msg e = {0};
    e.type = SW_KRPC_QUERY;
    e.method = SW_KRPC_PING;
    assert_int_equal(sw__krpc_encode(&e, &out), SW_ERR_INVALID_ARG); /* no tid */
    e.tid = (sw_krpc_bytes){(const uint8_t *)"aa", 2};
    e.method = SW_KRPC_UNKNOWN;
    assert_int_equal(sw__krpc_encode(&e, &out), SW_ERR_INVALID_ARG);
    e.method = SW_KRPC_PUT;
    e.k = (sw_krpc_bytes){(const uint8_t *)"short", 5};
    e.has = SW_KRPC_HAS_K;
    assert_int_equal(sw__krpc_encode(&e, &out), SW_ERR_INVALID_ARG);
    e.has = SW_KRPC_HAS_NODES;
    e.nodes = (sw_krpc_bytes){(const uint8_t *)"x", 1};
    assert_int_equal(sw__krpc_encode(&e, &out), SW_ERR_INVALID_ARG);
    e.type = 0;
    e.has = 0;
    assert_int_equal(sw__krpc_encode(&e, &out), SW_ERR_INVALID_ARG);
    assert_int_equal(out.len, 0);
    sw__buf_free(&out);
}

static void test_compact(void **state)
{
    (void)state;
    sw_endpoint ep;
    assert_false(sw__krpc_peer_read((const uint8_t *)"12345", 5, &ep));
    assert_false(sw__krpc_peer_read((const uint8_t *)"1234567", 7, &ep));
    assert_true(sw__krpc_peer_read((const uint8_t *)"\xc0\xa8\x01\x02\x1a\xe1", 6, &ep));
    char text[SW_ENDPOINT_STRLEN];
    sw__endpoint_format(&ep, text, sizeof text);
    assert_string_equal(text, "192.168.1.2:6881");
    uint8_t out[18];
    assert_int_equal(sw__krpc_peer_write(out, &ep), 6);
    assert_memory_equal(out, "\xc0\xa8\x01\x02\x1a\xe1", 6);
    assert_int_equal(sw__krpc_node_len(AF_INET), 26);
    assert_int_equal(sw__krpc_node_len(AF_INET6), 38);
    assert_int_equal(sw__krpc_peer_len(AF_INET6), 18);
    assert_int_equal(sw__krpc_node_count((sw_krpc_bytes){NULL, 0}, AF_INET), 0);
    assert_string_equal(sw__krpc_method_name(SW_KRPC_SAMPLE_INFOHASHES), "sample_infohashes");
    assert_null(sw__krpc_method_name(SW_KRPC_UNKNOWN));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ping),
        cmocka_unit_test(test_find_node),
        cmocka_unit_test(test_get_peers),
        cmocka_unit_test(test_announce_peer),
        cmocka_unit_test(test_error),
        cmocka_unit_test(test_top_level_fields),
        cmocka_unit_test(test_want_and_nodes6),
        cmocka_unit_test(test_values_mixed),
        cmocka_unit_test(test_bep44_messages),
        cmocka_unit_test(test_sample_infohashes),
        cmocka_unit_test(test_unknown_method),
        cmocka_unit_test(test_malformed),
        cmocka_unit_test(test_wrong_types_ignored),
        cmocka_unit_test(test_encode_rejects),
        cmocka_unit_test(test_compact),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
