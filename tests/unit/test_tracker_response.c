/* Unit tests for core/tracker's pure parts: HTTP announce and scrape
 * response parsing (valid and malformed), UDP tracker packets, announce and
 * scrape URLs, and the announce-list state machine (tier shuffling,
 * fail-over, promotion, back-off, intervals, events) on a fake clock. */
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

#include "tracker/tracker.h"
#include "tracker/tracker_internal.h"

#define LIT(s) (const uint8_t *)(s), sizeof(s) - 1

static sw_announce_response parse_ok(const uint8_t *buf, size_t len)
{
    sw_announce_response r;
    char err[SW_TRACKER_ERRLEN];
    int rc = sw__tracker_parse_announce(buf, len, &r, err);
    if (rc != 0)
        fail_msg("unexpected parse failure: %s", err);
    return r;
}

static void parse_bad(const uint8_t *buf, size_t len, const char *want_in_err)
{
    sw_announce_response r;
    char err[SW_TRACKER_ERRLEN] = "";
    assert_int_equal(sw__tracker_parse_announce(buf, len, &r, err), SW_ERR_TRACKER_BAD_RESPONSE);
    assert_null(r.peers);
    assert_null(r.failure_reason);
    assert_int_equal(r.num_peers, 0);
    if (want_in_err && !strstr(err, want_in_err))
        fail_msg("error '%s' does not mention '%s'", err, want_in_err);
}

static void assert_peer4(const sw_tracker_peer *p, const char *ip, uint16_t port)
{
    uint8_t want[4];
    assert_int_equal(inet_pton(AF_INET, ip, want), 1);
    assert_int_equal(p->family, AF_INET);
    assert_memory_equal(p->addr, want, 4);
    static const uint8_t zero[12];
    assert_memory_equal(p->addr + 4, zero, 12);
    assert_int_equal(p->port, port);
}

static void assert_peer6(const sw_tracker_peer *p, const char *ip, uint16_t port)
{
    uint8_t want[16];
    assert_int_equal(inet_pton(AF_INET6, ip, want), 1);
    assert_int_equal(p->family, AF_INET6);
    assert_memory_equal(p->addr, want, 16);
    assert_int_equal(p->port, port);
}

/* ---- HTTP announce responses ------------------------------------------- */

static void test_announce_compact(void **state)
{
    (void)state;
    /* What opentracker sends: two IPv4 peers. */
    static const uint8_t body[] = "d8:completei1e10:downloadedi3e10:incompletei2e"
                                  "8:intervali1647e12:min intervali823e"
                                  "5:peers12:\x7f\x00\x00\x01\x03\xe8\x0a\x01\x02\x03\x1a\xe1"
                                  "e";
    sw_announce_response r = parse_ok(body, sizeof body - 1);
    assert_null(r.failure_reason);
    assert_int_equal(r.interval, 1647);
    assert_int_equal(r.min_interval, 823);
    assert_int_equal(r.complete, 1);
    assert_int_equal(r.incomplete, 2);
    assert_int_equal(r.downloaded, 3);
    assert_int_equal(r.num_peers, 2);
    assert_int_equal(r.num_ignored, 0);
    assert_peer4(&r.peers[0], "127.0.0.1", 1000);
    assert_peer4(&r.peers[1], "10.1.2.3", 6881);
    assert_null(r.tracker_id);
    assert_int_equal(r.external_ip.family, 0);
    sw__announce_response_free(&r);
    assert_null(r.peers);
}

static void test_announce_peers6_and_extras(void **state)
{
    (void)state;
    static const uint8_t body[] =
        "d11:external ip4:\xc0\xa8\x01\x02"
        "8:intervali900e5:peers6:\x01\x02\x03\x04\x00\x50"
        "6:peers618:\x20\x01\x0d\xb8\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x01\x1a\xe1"
        "10:tracker id3:a\x00z15:warning message11:be careful\x07"
        "e";
    sw_announce_response r = parse_ok(body, sizeof body - 1);
    assert_int_equal(r.num_peers, 2);
    assert_peer4(&r.peers[0], "1.2.3.4", 80);
    assert_peer6(&r.peers[1], "2001:db8::1", 6881);
    assert_int_equal(r.tracker_id_len, 3);
    assert_memory_equal(r.tracker_id, "a\0z", 3);
    /* Control characters never reach alerts or terminals. */
    assert_string_equal(r.warning_message, "be careful?");
    assert_int_equal(r.external_ip.family, AF_INET);
    assert_memory_equal(r.external_ip.addr, "\xc0\xa8\x01\x02", 4);
    assert_int_equal(r.complete, -1);
    assert_int_equal(r.min_interval, -1);
    sw__announce_response_free(&r);
}

static void test_announce_dict_peers(void **state)
{
    (void)state;
    static const uint8_t body[] = "d8:intervali60e5:peersl"
                                  "d2:ip9:127.0.0.17:peer id20:aaaaaaaaaaaaaaaaaaaa4:porti6881ee"
                                  "d2:ip3:::14:porti6882ee"
                                  "d2:ip15:::ffff:10.0.0.94:porti6883ee"
                                  "d2:ip11:example.com4:porti1ee" /* host names are not looked up */
                                  "d2:ip8:10.0.0.14:porti0ee"     /* port 0 */
                                  "d2:ip8:10.0.0.14:porti70000ee" /* port out of range */
                                  "d4:porti1ee"                   /* no ip */
                                  "d2:ipi5e4:porti1ee"            /* ip of the wrong type */
                                  "i42e"                          /* not a dictionary */
                                  "ee";
    sw_announce_response r = parse_ok(body, sizeof body - 1);
    assert_int_equal(r.num_peers, 3);
    assert_int_equal(r.num_ignored, 6);
    assert_peer4(&r.peers[0], "127.0.0.1", 6881);
    assert_peer6(&r.peers[1], "::1", 6882);
    assert_peer4(&r.peers[2], "10.0.0.9", 6883); /* v4-mapped becomes v4 */
    sw__announce_response_free(&r);
}

static void test_announce_truncated_compact(void **state)
{
    (void)state;
    /* 13 bytes: two whole entries and one stray byte. */
    static const uint8_t body[] =
        "d8:intervali60e5:peers13:\x01\x01\x01\x01\x00\x01\x02\x02\x02\x02\x00\x02\x03"
        "e";
    sw_announce_response r = parse_ok(body, sizeof body - 1);
    assert_int_equal(r.num_peers, 2);
    assert_int_equal(r.num_ignored, 1);
    assert_peer4(&r.peers[1], "2.2.2.2", 2);
    sw__announce_response_free(&r);

    /* Fewer bytes than one entry: no peers, one ignored. */
    static const uint8_t tiny[] = "d8:intervali60e5:peers5:\x01\x01\x01\x01\x00"
                                  "e";
    r = parse_ok(tiny, sizeof tiny - 1);
    assert_int_equal(r.num_peers, 0);
    assert_int_equal(r.num_ignored, 1);
    assert_null(r.peers);
    sw__announce_response_free(&r);

    /* peers6 of 20 bytes: one entry and two stray bytes; port-0 entries
     * are dropped. */
    static const uint8_t v6[] = "d5:peers6:\x09\x09\x09\x09\x00\x00"
                                "6:peers620:\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00"
                                "\x00\x00\x00\x01\x00\x07zze";
    r = parse_ok(v6, sizeof v6 - 1);
    assert_int_equal(r.num_peers, 1);
    assert_peer6(&r.peers[0], "::1", 7);
    assert_int_equal(r.num_ignored, 2);
    assert_int_equal(r.interval, -1);
    sw__announce_response_free(&r);

    /* The bencoded string itself cut short is not bencode at all. */
    parse_bad(LIT("d8:intervali60e5:peers12:\x01\x01\x01\x01\x00\x01"), "not bencoded");
}

static void test_announce_failure_reason(void **state)
{
    (void)state;
    static const uint8_t body[] = "d14:failure reason63:Requested download is not "
                                  "authorized for use with this tracker.e";
    sw_announce_response r = parse_ok(body, sizeof body - 1);
    assert_string_equal(r.failure_reason,
                        "Requested download is not authorized for use with this tracker.");
    assert_int_equal(r.num_peers, 0);
    assert_int_equal(r.interval, -1);
    sw__announce_response_free(&r);

    /* A retry hint next to the reason is kept; peers are not looked at. */
    static const uint8_t hint[] = "d14:failure reason4:busy12:min intervali120e5:peersi3ee";
    r = parse_ok(hint, sizeof hint - 1);
    assert_string_equal(r.failure_reason, "busy");
    assert_int_equal(r.min_interval, 120);
    sw__announce_response_free(&r);

    /* A very long reason is cut to SW_TRACKER_MAX_MESSAGE bytes. */
    size_t n = 5000;
    char *big = malloc(n + 64);
    int off = snprintf(big, 64, "d14:failure reason%zu:", n);
    memset(big + off, 'x', n);
    memcpy(big + off + n, "e", 1);
    r = parse_ok((const uint8_t *)big, (size_t)off + n + 1);
    assert_int_equal(strlen(r.failure_reason), SW_TRACKER_MAX_MESSAGE);
    sw__announce_response_free(&r);
    free(big);

    parse_bad(LIT("d14:failure reasoni1ee"), "failure reason");
}

static void test_announce_intervals(void **state)
{
    (void)state;
    sw_announce_response r = parse_ok(LIT("d8:intervali99999999999e12:min intervali-5ee"));
    assert_int_equal(r.interval, SW_TRACKER_MAX_INTERVAL);
    assert_int_equal(r.min_interval, -1);
    sw__announce_response_free(&r);

    r = parse_ok(LIT("d8:completei-1e8:intervali0e10:incompletei9999999999999ee"));
    assert_int_equal(r.interval, 0);
    assert_int_equal(r.complete, -1);
    assert_int_equal(r.incomplete, INT32_MAX);
    sw__announce_response_free(&r);

    /* Beyond int64: the bencode decoder refuses it. */
    parse_bad(LIT("d8:intervali99999999999999999999ee"), "not bencoded");
}

static void test_announce_malformed(void **state)
{
    (void)state;
    parse_bad(LIT(""), "not bencoded");
    parse_bad(LIT("<html>404</html>"), "not bencoded");
    parse_bad(LIT("le"), "not a dictionary");
    parse_bad(LIT("i5e"), "not a dictionary");
    parse_bad(LIT("d8:intervali60e"), "not bencoded");
    parse_bad(LIT("d8:interval2:60e"), "interval");
    parse_bad(LIT("d12:min intervalleee"), "min interval");
    parse_bad(LIT("d8:completed1:ai1eee"), "complete");
    parse_bad(LIT("d5:peersi7ee"), "peers");
    parse_bad(LIT("d5:peersdee"), "peers");
    parse_bad(LIT("d6:peers6le5:peers0:e"), "peers6");
    parse_bad(LIT("d10:tracker idi1ee"), "tracker id");
    parse_bad(LIT("d15:warning messagelee"), "warning message");
    parse_bad(LIT("d11:external ipi1ee"), "external ip");
    /* Unknown keys of any type are fine, and a missing peer list is empty. */
    sw_announce_response r = parse_ok(LIT("d3:fooi1e3:zzzlee"));
    assert_int_equal(r.num_peers, 0);
    sw__announce_response_free(&r);
    /* An external ip of an odd size is ignored. */
    r = parse_ok(LIT("d11:external ip3:abce"));
    assert_int_equal(r.external_ip.family, 0);
    sw__announce_response_free(&r);
}

/* ---- scrape responses -------------------------------------------------- */

static const uint8_t hash_x[20] = "xxxxxxxxxxxxxxxxxxxx";
static const uint8_t hash_y[20] = "yyyyyyyyyyyyyyyyyyyy";

static void test_scrape(void **state)
{
    (void)state;
    static const uint8_t body[] =
        "d5:filesd20:xxxxxxxxxxxxxxxxxxxxd8:completei11e10:downloadedi13772e10:incompletei19ee"
        "20:yyyyyyyyyyyyyyyyyyyyd8:completei21e10:downloadedi206e10:incompletei20eeee";
    sw_scrape_response s;
    char err[SW_TRACKER_ERRLEN];
    assert_int_equal(sw__tracker_parse_scrape(body, sizeof body - 1, hash_x, &s, err), 0);
    assert_int_equal(s.complete, 11);
    assert_int_equal(s.downloaded, 13772);
    assert_int_equal(s.incomplete, 19);
    assert_null(s.failure_reason);
    assert_int_equal(sw__tracker_parse_scrape(body, sizeof body - 1, hash_y, &s, err), 0);
    assert_int_equal(s.complete, 21);

    static const uint8_t other[20] = "zzzzzzzzzzzzzzzzzzzz";
    assert_int_equal(sw__tracker_parse_scrape(body, sizeof body - 1, other, &s, err),
                     SW_ERR_TRACKER_BAD_RESPONSE);
    assert_non_null(strstr(err, "no entry"));

    assert_int_equal(sw__tracker_parse_scrape(LIT("d14:failure reason6:no wayee"), hash_x, &s, err),
                     0);
    assert_string_equal(s.failure_reason, "no way");
    sw__scrape_response_free(&s);
    assert_null(s.failure_reason);

    assert_int_equal(sw__tracker_parse_scrape(LIT("d5:filesle"), hash_x, &s, err),
                     SW_ERR_TRACKER_BAD_RESPONSE);
    assert_int_equal(sw__tracker_parse_scrape(LIT("de"), hash_x, &s, err),
                     SW_ERR_TRACKER_BAD_RESPONSE);
    assert_int_equal(sw__tracker_parse_scrape(
                         LIT("d5:filesd20:xxxxxxxxxxxxxxxxxxxxd8:complete1:1eee"), hash_x, &s, err),
                     SW_ERR_TRACKER_BAD_RESPONSE);
    assert_int_equal(
        sw__tracker_parse_scrape(LIT("d5:filesd20:xxxxxxxxxxxxxxxxxxxxi1eee"), hash_x, &s, err),
        SW_ERR_TRACKER_BAD_RESPONSE);
    /* Missing counts read as unknown. */
    assert_int_equal(
        sw__tracker_parse_scrape(LIT("d5:filesd20:xxxxxxxxxxxxxxxxxxxxdeee"), hash_x, &s, err), 0);
    assert_int_equal(s.complete, -1);
    assert_int_equal(s.downloaded, -1);
}

/* ---- UDP packets ------------------------------------------------------- */

static void test_udp_build(void **state)
{
    (void)state;
    uint8_t c[16];
    sw__udp_tracker_build_connect(c, 0xdeadbeef);
    assert_memory_equal(c, "\x00\x00\x04\x17\x27\x10\x19\x80\x00\x00\x00\x00\xde\xad\xbe\xef", 16);

    sw_announce_params p;
    memset(&p, 0, sizeof p);
    memset(p.info_hash, 0xaa, 20);
    memset(p.peer_id, 0xbb, 20);
    p.downloaded = 0x0102030405060708;
    p.left = -5; /* negative is sent as 0 */
    p.uploaded = 7;
    p.event = SW_TRACKER_EVENT_STOPPED;
    p.key = 0x11223344;
    p.num_want = -1;
    p.port = 6881;
    p.ip = "10.0.0.1";
    uint8_t a[98];
    sw__udp_tracker_build_announce(a, 0x0123456789abcdefull, 42, &p);
    assert_memory_equal(a, "\x01\x23\x45\x67\x89\xab\xcd\xef\x00\x00\x00\x01\x00\x00\x00\x2a", 16);
    assert_int_equal(a[16], 0xaa);
    assert_int_equal(a[36], 0xbb);
    assert_memory_equal(a + 56, "\x01\x02\x03\x04\x05\x06\x07\x08", 8);
    assert_memory_equal(a + 64, "\0\0\0\0\0\0\0\0", 8);
    assert_memory_equal(a + 72, "\0\0\0\0\0\0\0\x07", 8);
    assert_memory_equal(a + 80, "\0\0\0\x03", 4);
    assert_memory_equal(a + 84, "\x0a\x00\x00\x01", 4);
    assert_memory_equal(a + 88, "\x11\x22\x33\x44", 4);
    assert_memory_equal(a + 92, "\xff\xff\xff\xff", 4);
    assert_memory_equal(a + 96, "\x1a\xe1", 2);
    p.ip = "example.com"; /* not numeric: the IP field stays 0 */
    p.num_want = 50;
    sw__udp_tracker_build_announce(a, 1, 2, &p);
    assert_memory_equal(a + 84, "\0\0\0\0", 4);
    assert_memory_equal(a + 92, "\0\0\0\x32", 4);

    uint8_t s[16 + 40];
    const uint8_t hashes[2][20] = {"xxxxxxxxxxxxxxxxxxxx", "yyyyyyyyyyyyyyyyyyyy"};
    assert_int_equal(sw__udp_tracker_build_scrape(s, 5, 6, hashes, 2), 56);
    assert_memory_equal(s + 8, "\0\0\0\x02\0\0\0\x06", 8);
    assert_memory_equal(s + 36, hashes[1], 20);
    assert_int_equal(sw__udp_tracker_build_scrape(s, 5, 6, hashes, 0), 0);
    assert_int_equal(sw__udp_tracker_build_scrape(s, 5, 6, hashes, SW_UDP_TRACKER_MAX_SCRAPE + 1),
                     0);
}

static void test_udp_parse(void **state)
{
    (void)state;
    sw_udp_tracker_reply r;
    char err[SW_TRACKER_ERRLEN];

    static const uint8_t conn[] = "\0\0\0\0\0\0\0\x09\x11\x22\x33\x44\x55\x66\x77\x88";
    assert_int_equal(sw__udp_tracker_parse(conn, 16, AF_INET, 9, SW_UDP_ACTION_CONNECT, &r, err),
                     0);
    assert_true(r.connection_id == 0x1122334455667788ull);
    /* Short. */
    assert_int_equal(sw__udp_tracker_parse(conn, 15, AF_INET, 9, SW_UDP_ACTION_CONNECT, &r, err),
                     SW_ERR_TRACKER_BAD_RESPONSE);
    assert_int_equal(sw__udp_tracker_parse(conn, 7, AF_INET, 9, SW_UDP_ACTION_CONNECT, &r, err),
                     SW_ERR_TRACKER_BAD_RESPONSE);
    assert_int_equal(sw__udp_tracker_parse(NULL, 0, AF_INET, 9, SW_UDP_ACTION_CONNECT, &r, err),
                     SW_ERR_TRACKER_BAD_RESPONSE);
    /* Wrong transaction id. */
    assert_int_equal(sw__udp_tracker_parse(conn, 16, AF_INET, 10, SW_UDP_ACTION_CONNECT, &r, err),
                     SW_ERR_TRACKER_BAD_RESPONSE);
    assert_non_null(strstr(err, "transaction"));
    /* Wrong action. */
    assert_int_equal(sw__udp_tracker_parse(conn, 16, AF_INET, 9, SW_UDP_ACTION_ANNOUNCE, &r, err),
                     SW_ERR_TRACKER_BAD_RESPONSE);
    assert_non_null(strstr(err, "action"));

    /* Announce reply from an IPv4 sender: 2 peers and 3 stray bytes; a
     * port-0 entry is skipped when decoding. */
    static const uint8_t ann[] = "\0\0\0\x01\0\0\0\x09\0\0\x07\x08\0\0\0\x02\0\0\0\x03"
                                 "\x7f\0\0\x01\x1a\xe1"
                                 "\x7f\0\0\x02\0\0"
                                 "abc";
    assert_int_equal(
        sw__udp_tracker_parse(ann, sizeof ann - 1, AF_INET, 9, SW_UDP_ACTION_ANNOUNCE, &r, err), 0);
    assert_int_equal(r.interval, 1800);
    assert_int_equal(r.leechers, 2);
    assert_int_equal(r.seeders, 3);
    assert_int_equal(r.peers_len, 12);
    assert_int_equal(r.peers_trailing, 3);
    sw_tracker_peer peers[2];
    assert_int_equal(sw__tracker_decode_compact(r.peers, r.peers_len, r.peer_family, peers), 1);
    assert_peer4(&peers[0], "127.0.0.1", 6881);
    /* From an IPv6 sender entries are 18 bytes: 15 bytes make none. */
    assert_int_equal(
        sw__udp_tracker_parse(ann, sizeof ann - 1, AF_INET6, 9, SW_UDP_ACTION_ANNOUNCE, &r, err),
        0);
    assert_int_equal(r.peer_family, AF_INET6);
    assert_int_equal(r.peers_len, 0);
    assert_int_equal(r.peers_trailing, 15);
    /* An announce reply shorter than 20 bytes. */
    assert_int_equal(sw__udp_tracker_parse(ann, 19, AF_INET, 9, SW_UDP_ACTION_ANNOUNCE, &r, err),
                     SW_ERR_TRACKER_BAD_RESPONSE);

    /* Error reply. */
    static const uint8_t e[] = "\0\0\0\x03\0\0\0\x09unknown torrent";
    assert_int_equal(
        sw__udp_tracker_parse(e, sizeof e - 1, AF_INET, 9, SW_UDP_ACTION_ANNOUNCE, &r, err),
        SW_ERR_TRACKER_FAILURE);
    assert_int_equal(r.message_len, 15);
    assert_memory_equal(r.message, "unknown torrent", 15);
    /* An error reply for someone else's transaction. */
    assert_int_equal(
        sw__udp_tracker_parse(e, sizeof e - 1, AF_INET, 8, SW_UDP_ACTION_ANNOUNCE, &r, err),
        SW_ERR_TRACKER_BAD_RESPONSE);

    /* Scrape reply with one entry and a partial second. */
    static const uint8_t s[] = "\0\0\0\x02\0\0\0\x09\0\0\0\x05\0\0\0\x06\0\0\0\x07\0\0";
    assert_int_equal(
        sw__udp_tracker_parse(s, sizeof s - 1, AF_INET, 9, SW_UDP_ACTION_SCRAPE, &r, err), 0);
    assert_int_equal(r.num_scrape, 1);
    assert_int_equal(sw__load_be32(r.scrape + 8), 7);

    uint32_t action, tid;
    assert_true(sw__udp_tracker_peek(e, sizeof e - 1, &action, &tid));
    assert_int_equal(action, 3);
    assert_int_equal(tid, 9);
    assert_false(sw__udp_tracker_peek(e, 7, &action, &tid));
    assert_false(sw__udp_tracker_peek((const uint8_t *)"\0\0\0\x04\0\0\0\x09", 8, &action, &tid));
    /* A DHT message is not a tracker reply. */
    assert_false(sw__udp_tracker_peek((const uint8_t *)"d1:ad2:id20:", 12, &action, &tid));
}

static void test_udp_retransmit_schedule(void **state)
{
    (void)state;
    /* BEP 15: 15 * 2^n seconds, n up to 8. */
    assert_int_equal(sw__udp_tracker_retransmit_ms(0, 0), 15000);
    assert_int_equal(sw__udp_tracker_retransmit_ms(1, 0), 30000);
    assert_int_equal(sw__udp_tracker_retransmit_ms(3, 60), 120000);
    assert_int_equal(sw__udp_tracker_retransmit_ms(8, 0), 3840000);
    assert_int_equal(sw__udp_tracker_retransmit_ms(20, 0), 3840000);
    /* A shorter tracker_receive_timeout shortens the base. */
    assert_int_equal(sw__udp_tracker_retransmit_ms(0, 10), 10000);
    assert_int_equal(sw__udp_tracker_retransmit_ms(2, 1), 4000);
}

/* ---- URLs -------------------------------------------------------------- */

static void base_params(sw_announce_params *p)
{
    memset(p, 0, sizeof *p);
    for (int i = 0; i < 20; i++)
        p->info_hash[i] = (uint8_t)(i * 13);
    memcpy(p->peer_id, "-SW0100-ab~c.d_e-f 9", 20);
    p->port = 6881;
    p->uploaded = 100;
    p->downloaded = 200;
    p->left = 300;
    p->corrupt = 0;
    p->num_want = 50;
    p->key = 0xabc;
}

static void test_announce_url(void **state)
{
    (void)state;
    sw_announce_params p;
    base_params(&p);
    p.event = SW_TRACKER_EVENT_STARTED;
    char *url = NULL;
    assert_int_equal(sw__tracker_announce_url("http://t.example:80/announce", &p, &url), 0);
    assert_string_equal(url, "http://t.example:80/announce"
                             "?info_hash=%00%0D%1A%274AN%5Bhu%82%8F%9C%A9%B6%C3%D0%DD%EA%F7"
                             "&peer_id=-SW0100-ab~c.d_e-f%209&port=6881&uploaded=100&downloaded=200"
                             "&left=300&corrupt=0&compact=1&no_peer_id=1&event=started&numwant=50"
                             "&key=00000ABC");
    free(url);

    /* An existing query string is kept; optional parameters appear. */
    p.event = SW_TRACKER_EVENT_NONE;
    p.num_want = -1;
    p.tracker_id = "id&1";
    p.tracker_id_len = 4;
    p.support_crypto = true;
    p.ip = "10.0.0.1";
    p.ipv6 = "::1";
    p.left = -1;
    assert_int_equal(sw__tracker_announce_url("https://t/a.php?passkey=x#frag", &p, &url), 0);
    assert_non_null(strstr(url, "https://t/a.php?passkey=x&info_hash="));
    assert_null(strstr(url, "event="));
    assert_null(strstr(url, "numwant"));
    assert_null(strstr(url, "frag"));
    assert_non_null(strstr(url, "&left=0&"));
    assert_non_null(strstr(url, "&trackerid=id%261"));
    assert_non_null(strstr(url, "&supportcrypto=1"));
    assert_null(strstr(url, "requirecrypto"));
    assert_non_null(strstr(url, "&ip=10.0.0.1"));
    assert_non_null(strstr(url, "&ipv6=%3A%3A1"));
    free(url);

    p.require_crypto = true;
    p.event = SW_TRACKER_EVENT_STOPPED;
    assert_int_equal(sw__tracker_announce_url("http://t/announce?", &p, &url), 0);
    assert_non_null(strstr(url, "/announce?info_hash="));
    assert_non_null(strstr(url, "&event=stopped"));
    assert_non_null(strstr(url, "&supportcrypto=1&requirecrypto=1"));
    free(url);
    p.event = SW_TRACKER_EVENT_COMPLETED;
    assert_int_equal(sw__tracker_announce_url("http://t/announce?a=1&", &p, &url), 0);
    assert_non_null(strstr(url, "?a=1&info_hash="));
    assert_non_null(strstr(url, "&event=completed"));
    free(url);
}

static void check_scrape(const char *announce, const char *want_prefix)
{
    char *url = NULL;
    assert_int_equal(sw__tracker_scrape_url(announce, hash_x, &url), 0);
    size_t n = strlen(want_prefix);
    if (strncmp(url, want_prefix, n) != 0)
        fail_msg("scrape URL '%s' does not start with '%s'", url, want_prefix);
    assert_string_equal(url + n, "xxxxxxxxxxxxxxxxxxxx");
    free(url);
}

static void test_scrape_url(void **state)
{
    (void)state;
    check_scrape("http://t/announce", "http://t/scrape?info_hash=");
    check_scrape("http://t:99/x/announce.php?pk=1", "http://t:99/x/scrape.php?pk=1&info_hash=");
    check_scrape("https://t/announce?", "https://t/scrape?info_hash=");
    check_scrape("http://t/announce#top", "http://t/scrape?info_hash=");
    char *url = NULL;
    assert_int_equal(sw__tracker_scrape_url("http://t/a", hash_x, &url), SW_ERR_TRACKER_NO_SCRAPE);
    assert_int_equal(sw__tracker_scrape_url("http://t/announce/x", hash_x, &url),
                     SW_ERR_TRACKER_NO_SCRAPE);
    assert_int_equal(sw__tracker_scrape_url("http://t/x?announce", hash_x, &url),
                     SW_ERR_TRACKER_NO_SCRAPE);
    assert_int_equal(sw__tracker_scrape_url("http://t", hash_x, &url), SW_ERR_TRACKER_NO_SCRAPE);
    assert_int_equal(sw__tracker_scrape_url("udp://t:1/announce", hash_x, &url),
                     SW_ERR_TRACKER_NO_SCRAPE);
    assert_null(url);
}

static void test_url_kind_and_host(void **state)
{
    (void)state;
    sw_tracker_url_kind k;
    assert_int_equal(sw__tracker_url_kind("http://a/announce", &k), 0);
    assert_int_equal(k, SW_TRACKER_URL_HTTP);
    assert_int_equal(sw__tracker_url_kind("HTTPS://a/announce", &k), 0);
    assert_int_equal(k, SW_TRACKER_URL_HTTPS);
    assert_int_equal(sw__tracker_url_kind("udp://[::1]:6969/announce", &k), 0);
    assert_int_equal(k, SW_TRACKER_URL_UDP);
    const char *bad[] = {"",
                         "ftp://a/x",
                         "http:/a",
                         "http://",
                         "http:///announce",
                         "http://a b/announce",
                         "wss://t/announce",
                         "http://a:0/",
                         "http://a:65536/",
                         "http://a:x/",
                         "http://[::1/"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        if (sw__tracker_url_kind(bad[i], &k) != SW_ERR_TRACKER_BAD_URL)
            fail_msg("'%s' accepted", bad[i]);

    char host[64];
    uint16_t port;
    assert_int_equal(
        sw__tracker_url_host_port("udp://[::1]:6969/announce", 80, host, sizeof host, &port), 0);
    assert_string_equal(host, "::1");
    assert_int_equal(port, 6969);
    assert_int_equal(
        sw__tracker_url_host_port("http://u:p@Tracker.Example?x", 80, host, sizeof host, &port), 0);
    assert_string_equal(host, "Tracker.Example");
    assert_int_equal(port, 80);
    assert_int_equal(sw__tracker_url_host_port("udp://1.2.3.4:1", 80, host, 4, &port),
                     SW_ERR_TRACKER_BAD_URL); /* does not fit */
}

static void test_url_escape(void **state)
{
    (void)state;
    sw_buf b;
    sw__buf_init(&b);
    const uint8_t all[] = {0x00, 'A', 'z', '9', '-', '.', '_', '~', ' ', '%', '+', 0xff, '/'};
    assert_int_equal(sw__tracker_url_escape(&b, all, sizeof all), 0);
    assert_int_equal(b.len, strlen("%00Az9-._~%20%25%2B%FF%2F"));
    assert_memory_equal(b.data, "%00Az9-._~%20%25%2B%FF%2F", b.len);
    sw__buf_free(&b);
}

/* ---- announce list ----------------------------------------------------- */

static const sw_announce_policy bep12 = {false, false};

static ptrdiff_t idx_of(const sw_announce_list *l, const char *url)
{
    return sw__announce_list_find_url(l, url);
}

static size_t plan(const sw_announce_list *l, const sw_announce_policy *p, int64_t now, size_t *out,
                   int64_t *wake)
{
    return sw__announce_list_plan(l, p, now, out, wake);
}

/* The URLs a plan picks, as one space-separated string in list order. */
static const char *plan_urls(const sw_announce_list *l, const sw_announce_policy *p, int64_t now)
{
    static char text[512];
    size_t out[16];
    size_t n = plan(l, p, now, out, NULL);
    text[0] = '\0';
    for (size_t i = 0; i < n; i++) {
        strcat(text, i ? " " : "");
        strcat(text, l->v[out[i]].url);
    }
    return text;
}

static void sent_all(sw_announce_list *l, const sw_announce_policy *p, int64_t now)
{
    size_t out[16];
    size_t n = plan(l, p, now, out, NULL);
    for (size_t i = 0; i < n; i++)
        sw__announce_list_sent(l, out[i], sw__tracker_entry_next_event(&l->v[out[i]]));
}

static void test_list_tiers_and_shuffle(void **state)
{
    (void)state;
    /* Tier order always holds; inside a tier every order shows up. */
    int seen[6] = {0};
    for (uint64_t seed = 1; seed <= 600; seed++) {
        sw_announce_list l;
        sw__announce_list_init(&l, seed);
        assert_int_equal(sw__announce_list_add(&l, "http://c/announce", 1, 1, false, NULL), 0);
        assert_int_equal(sw__announce_list_add(&l, "http://a1/announce", 0, 1, false, NULL), 0);
        assert_int_equal(sw__announce_list_add(&l, "http://a2/announce", 0, 1, false, NULL), 0);
        assert_int_equal(sw__announce_list_add(&l, "http://a3/announce", 0, 1, false, NULL), 0);
        assert_int_equal(sw__announce_list_add(&l, "http://d/announce", 2, 1, false, NULL), 0);
        assert_int_equal(l.n, 5);
        for (size_t i = 0; i < 3; i++)
            assert_int_equal(l.v[i].tier, 0);
        assert_string_equal(l.v[3].url, "http://c/announce");
        assert_string_equal(l.v[4].url, "http://d/announce");
        /* Which permutation of a1 a2 a3: encode as a small number. */
        int code = (l.v[0].url[8] - '1') * 2 + (l.v[1].url[8] > l.v[2].url[8]);
        seen[code]++;
        sw__announce_list_free(&l);
    }
    for (int i = 0; i < 6; i++)
        assert_true(seen[i] > 60); /* 100 expected each */

    sw_announce_list l;
    sw__announce_list_init(&l, 7);
    assert_int_equal(sw__announce_list_add(&l, "http://a/announce", 0, 1, false, NULL), 0);
    assert_int_equal(sw__announce_list_add(&l, "http://a/announce", 3, 1, false, NULL),
                     SW_ERR_EXISTS);
    assert_int_equal(sw__announce_list_add(&l, "ftp://a/announce", 0, 1, false, NULL),
                     SW_ERR_TRACKER_BAD_URL);
    assert_int_equal(sw__announce_list_add(&l, "udp://b:1", -4, 2, false, NULL), 0);
    assert_int_equal(l.v[idx_of(&l, "udp://b:1")].tier, 0);
    assert_int_equal(l.v[idx_of(&l, "udp://b:1")].source, 2);
    assert_true(l.v[0].id != l.v[1].id && l.v[0].id && l.v[1].id);
    sw__announce_list_remove(&l, 0);
    assert_int_equal(l.n, 1);
    sw__announce_list_free(&l);
}

static void test_list_prefer_udp(void **state)
{
    (void)state;
    for (uint64_t seed = 1; seed <= 50; seed++) {
        sw_announce_list l;
        sw__announce_list_init(&l, seed);
        sw__announce_list_add(&l, "http://t.example/announce", 0, 1, true, NULL);
        sw__announce_list_add(&l, "http://other/announce", 0, 1, true, NULL);
        sw__announce_list_add(&l, "udp://T.example:6969", 0, 1, true, NULL);
        sw__announce_list_add(&l, "https://t.example/announce", 0, 1, true, NULL);
        ptrdiff_t u = idx_of(&l, "udp://T.example:6969");
        assert_true(u < idx_of(&l, "http://t.example/announce"));
        assert_true(u < idx_of(&l, "https://t.example/announce"));
        sw__announce_list_free(&l);
    }
}

static void test_list_failover_bep12(void **state)
{
    (void)state;
    sw_announce_list l;
    sw__announce_list_init(&l, 3);
    sw__announce_list_add(&l, "A", 0, 1, false, NULL); /* not a URL */
    assert_int_equal(l.n, 0);
    /* Tier 0: a, b; tier 1: c. Fix the shuffled order for the test. */
    sw__announce_list_add(&l, "http://a/announce", 0, 1, false, NULL);
    sw__announce_list_add(&l, "http://b/announce", 0, 1, false, NULL);
    sw__announce_list_add(&l, "http://c/announce", 1, 1, false, NULL);
    if (strcmp(l.v[0].url, "http://a/announce") != 0) {
        sw_tracker_entry t = l.v[0];
        l.v[0] = l.v[1];
        l.v[1] = t;
    }
    int64_t now = 1000;
    /* Only the first tracker is used. */
    assert_string_equal(plan_urls(&l, &bep12, now), "http://a/announce");
    assert_int_equal(sw__tracker_entry_next_event(&l.v[0]), SW_TRACKER_EVENT_STARTED);
    sent_all(&l, &bep12, now);
    /* While it is in flight nothing else goes out. */
    int64_t wake;
    size_t out[8];
    assert_int_equal(plan(&l, &bep12, now, out, &wake), 0);
    assert_true(wake == INT64_MAX);

    /* a fails: it moves behind b, and b is tried at once. */
    size_t k = sw__announce_list_failed(&l, 0, now, -1, SW_TRACKER_DEFAULT_BACKOFF);
    assert_int_equal(k, 1);
    assert_string_equal(l.v[0].url, "http://b/announce");
    assert_int_equal(l.v[1].fails, 1);
    assert_int_equal(l.v[1].next_announce, now + 17 * 1000);
    assert_false(l.v[1].start_sent);
    assert_string_equal(plan_urls(&l, &bep12, now), "http://b/announce");
    sent_all(&l, &bep12, now);

    /* b fails too: the whole tier is failing, tier 1 is used. */
    now += 500;
    k = sw__announce_list_failed(&l, 0, now, -1, SW_TRACKER_DEFAULT_BACKOFF);
    assert_int_equal(k, 1);
    assert_string_equal(plan_urls(&l, &bep12, now), "http://c/announce");
    sent_all(&l, &bep12, now);
    k = sw__announce_list_succeeded(&l, (size_t)idx_of(&l, "http://c/announce"), now, 1800, 60);
    assert_int_equal(k, 2);
    assert_true(l.v[2].start_sent);
    assert_true(l.v[2].verified);
    assert_int_equal(sw__tracker_entry_next_event(&l.v[2]), SW_TRACKER_EVENT_NONE);

    /* Next wake-up: a's back-off ends (17 s after its failure). */
    assert_int_equal(plan(&l, &bep12, now, out, &wake), 0);
    assert_int_equal(wake, 1000 + 17000);
    now = wake;
    assert_string_equal(plan_urls(&l, &bep12, now), "http://a/announce");
    sent_all(&l, &bep12, now);
    /* a answers: it goes to the front of tier 0, which works again, so
     * tier 1 is left alone from now on. */
    k = sw__announce_list_succeeded(&l, (size_t)idx_of(&l, "http://a/announce"), now, 1800, 0);
    assert_int_equal(k, 0);
    assert_string_equal(l.v[0].url, "http://a/announce");
    assert_int_equal(l.v[0].fails, 0);
    assert_int_equal(plan(&l, &bep12, now, out, &wake), 0);
    /* Next: a's interval (b's back-off is shadowed: a works). */
    assert_int_equal(wake, now + 1800 * 1000);
    assert_string_equal(plan_urls(&l, &bep12, now + 1800 * 1000), "http://a/announce");
    sw__announce_list_free(&l);
}

static void make_two_tiers(sw_announce_list *l)
{
    sw__announce_list_init(l, 11);
    sw__announce_list_add(l, "http://a/announce", 0, 1, false, NULL);
    sw__announce_list_add(l, "http://b/announce", 0, 1, false, NULL);
    sw__announce_list_add(l, "http://c/announce", 1, 1, false, NULL);
    sw__announce_list_add(l, "http://d/announce", 1, 1, false, NULL);
    /* Sort each tier by name for predictable expectations. */
    for (size_t i = 0; i + 1 < l->n; i++)
        for (size_t j = i + 1; j < l->n; j++)
            if (l->v[i].tier == l->v[j].tier && strcmp(l->v[i].url, l->v[j].url) > 0) {
                sw_tracker_entry t = l->v[i];
                l->v[i] = l->v[j];
                l->v[j] = t;
            }
}

static void test_list_policies(void **state)
{
    (void)state;
    sw_announce_list l;
    const sw_announce_policy all_trackers = {false, true};
    const sw_announce_policy all_tiers = {true, false};
    const sw_announce_policy both = {true, true};

    make_two_tiers(&l);
    assert_string_equal(plan_urls(&l, &bep12, 0), "http://a/announce");
    assert_string_equal(plan_urls(&l, &all_trackers, 0), "http://a/announce http://b/announce");
    assert_string_equal(plan_urls(&l, &all_tiers, 0), "http://a/announce http://c/announce");
    assert_string_equal(plan_urls(&l, &both, 0),
                        "http://a/announce http://b/announce http://c/announce http://d/announce");

    /* announce_to_all_trackers: tier 1 only once every tracker of tier 0
     * fails. */
    sent_all(&l, &all_trackers, 0);
    sw__announce_list_failed(&l, 0, 0, -1, 250);
    assert_string_equal(plan_urls(&l, &all_trackers, 0), "");
    sw__announce_list_failed(&l, (size_t)idx_of(&l, "http://b/announce"), 0, -1, 250);
    assert_string_equal(plan_urls(&l, &all_trackers, 0), "http://c/announce http://d/announce");
    sw__announce_list_free(&l);

    /* announce_to_all_tiers: the first working tracker of each tier, and
     * failing ones ahead of it when their back-off ends. */
    make_two_tiers(&l);
    sent_all(&l, &all_tiers, 0);
    sw__announce_list_failed(&l, (size_t)idx_of(&l, "http://c/announce"), 0, -1, 250);
    assert_string_equal(plan_urls(&l, &all_tiers, 0), "http://d/announce");
    sent_all(&l, &all_tiers, 0);
    sw__announce_list_failed(&l, (size_t)idx_of(&l, "http://d/announce"), 1000, -1, 250);
    sw__announce_list_succeeded(&l, (size_t)idx_of(&l, "http://a/announce"), 0, 60, 0);
    assert_string_equal(plan_urls(&l, &all_tiers, 16999), "");
    assert_string_equal(plan_urls(&l, &all_tiers, 17000), "http://c/announce");
    assert_string_equal(plan_urls(&l, &all_tiers, 18000), "http://c/announce http://d/announce");
    assert_string_equal(plan_urls(&l, &all_tiers, 60000),
                        "http://a/announce http://c/announce http://d/announce");
    sw__announce_list_free(&l);
}

static void test_list_intervals_and_events(void **state)
{
    (void)state;
    sw_announce_list l;
    sw__announce_list_init(&l, 1);
    sw__announce_list_add(&l, "udp://a:1", 0, 1, false, NULL);
    sw_tracker_entry *e = &l.v[0];
    int64_t t = 5000;
    assert_true(sw__tracker_entry_can_announce(e, t));
    sw__announce_list_sent(&l, 0, SW_TRACKER_EVENT_STARTED);
    assert_true(sw__tracker_entry_wants_stopped(e)); /* a started is on its way */
    assert_false(sw__tracker_entry_can_announce(e, t));
    sw__announce_list_succeeded(&l, 0, t, 1800, 300);
    assert_true(e->start_sent);
    assert_true(sw__tracker_entry_wants_stopped(e));
    /* Not before the interval... */
    assert_false(sw__tracker_entry_can_announce(e, t + 1799 * 1000));
    assert_true(sw__tracker_entry_can_announce(e, t + 1800 * 1000));

    /* ...unless the download completes: the completed event ignores the
     * min interval. */
    sw__announce_list_completed(&l, t + 10000);
    assert_true(e->complete_pending);
    assert_true(sw__tracker_entry_can_announce(e, t + 10000));
    assert_int_equal(sw__tracker_entry_next_event(e), SW_TRACKER_EVENT_COMPLETED);
    sw__announce_list_sent(&l, 0, SW_TRACKER_EVENT_COMPLETED);
    sw__announce_list_succeeded(&l, 0, t + 10000, 1800, 300);
    assert_false(e->complete_pending);
    assert_int_equal(sw__tracker_entry_next_event(e), SW_TRACKER_EVENT_NONE);

    /* A forced re-announce ignores both. */
    assert_false(sw__tracker_entry_can_announce(e, t + 20000));
    sw__announce_list_force(&l, -1, t + 20000);
    assert_true(sw__tracker_entry_can_announce(e, t + 20000));
    /* The min interval also bounds the next regular announce when it is
     * later than the interval. */
    sw__announce_list_sent(&l, 0, SW_TRACKER_EVENT_NONE);
    sw__announce_list_succeeded(&l, 0, t, 10, 100);
    assert_false(sw__tracker_entry_can_announce(e, t + 50 * 1000));
    assert_true(sw__tracker_entry_can_announce(e, t + 100 * 1000));

    /* A stopped reply clears start_sent; start makes it owed again. */
    sw__announce_list_sent(&l, 0, SW_TRACKER_EVENT_STOPPED);
    sw__announce_list_succeeded(&l, 0, t, 10, 0);
    assert_false(e->start_sent);
    assert_false(sw__tracker_entry_wants_stopped(e));
    sw__announce_list_start(&l);
    assert_int_equal(sw__tracker_entry_next_event(e), SW_TRACKER_EVENT_STARTED);
    assert_true(sw__tracker_entry_can_announce(e, 0));
    /* Completion while a tracker never heard "started" owes it nothing. */
    sw__announce_list_completed(&l, 0);
    assert_false(e->complete_pending);

    /* abandoned: idle again with nothing changed. */
    sw__announce_list_sent(&l, 0, SW_TRACKER_EVENT_STARTED);
    sw__announce_list_abandoned(&l, 0);
    assert_false(e->updating);
    assert_int_equal(e->fails, 0);
    sw__announce_list_free(&l);
}

static void test_list_backoff(void **state)
{
    (void)state;
    /* delay = 5 + 5 * fails^2 * 250 / 100, at most an hour. */
    assert_int_equal(sw__announce_backoff_s(1, 250), 17);
    assert_int_equal(sw__announce_backoff_s(2, 250), 55);
    assert_int_equal(sw__announce_backoff_s(3, 250), 117);
    assert_int_equal(sw__announce_backoff_s(16, 250), 3205);
    assert_int_equal(sw__announce_backoff_s(17, 250), SW_TRACKER_MAX_BACKOFF);
    assert_int_equal(sw__announce_backoff_s(60000, 250), SW_TRACKER_MAX_BACKOFF);
    assert_int_equal(sw__announce_backoff_s(3, 0), 5);
    assert_int_equal(sw__announce_backoff_s(3, -10), 5);

    sw_announce_list l;
    sw__announce_list_init(&l, 1);
    sw__announce_list_add(&l, "http://a/announce", 0, 1, false, NULL);
    int64_t t = 0;
    int64_t want[] = {17, 55, 117, 205};
    for (int i = 0; i < 4; i++) {
        assert_true(sw__tracker_entry_can_announce(&l.v[0], t));
        sw__announce_list_sent(&l, 0, SW_TRACKER_EVENT_STARTED);
        sw__announce_list_failed(&l, 0, t, -1, 250);
        assert_int_equal(l.v[0].fails, i + 1);
        assert_int_equal(l.v[0].next_announce, t + want[i] * 1000);
        assert_false(sw__tracker_entry_can_announce(&l.v[0], t + want[i] * 1000 - 1));
        t += want[i] * 1000;
    }
    /* A retry hint from the tracker wins when longer (and is bounded). */
    sw__announce_list_sent(&l, 0, SW_TRACKER_EVENT_STARTED);
    sw__announce_list_failed(&l, 0, t, 5000, 250);
    assert_int_equal(l.v[0].next_announce, t + 5000 * 1000);
    sw__announce_list_sent(&l, 0, SW_TRACKER_EVENT_STARTED);
    sw__announce_list_failed(&l, 0, t, INT64_MAX / 4, 250);
    assert_int_equal(l.v[0].next_announce, t + (int64_t)SW_TRACKER_MAX_INTERVAL * 1000);

    /* A fail limit takes the tracker out for good. */
    l.v[0].fail_limit = 3;
    size_t out[4];
    int64_t wake;
    assert_int_equal(plan(&l, &bep12, INT64_MAX / 2, out, &wake), 0);
    assert_true(wake == INT64_MAX);
    /* Success resets the count. */
    sw__announce_list_succeeded(&l, 0, t, 60, 0);
    assert_int_equal(l.v[0].fails, 0);
    sw__announce_list_free(&l);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_announce_compact),
        cmocka_unit_test(test_announce_peers6_and_extras),
        cmocka_unit_test(test_announce_dict_peers),
        cmocka_unit_test(test_announce_truncated_compact),
        cmocka_unit_test(test_announce_failure_reason),
        cmocka_unit_test(test_announce_intervals),
        cmocka_unit_test(test_announce_malformed),
        cmocka_unit_test(test_scrape),
        cmocka_unit_test(test_udp_build),
        cmocka_unit_test(test_udp_parse),
        cmocka_unit_test(test_udp_retransmit_schedule),
        cmocka_unit_test(test_announce_url),
        cmocka_unit_test(test_scrape_url),
        cmocka_unit_test(test_url_kind_and_host),
        cmocka_unit_test(test_url_escape),
        cmocka_unit_test(test_list_tiers_and_shuffle),
        cmocka_unit_test(test_list_prefer_udp),
        cmocka_unit_test(test_list_failover_bep12),
        cmocka_unit_test(test_list_policies),
        cmocka_unit_test(test_list_intervals_and_events),
        cmocka_unit_test(test_list_backoff),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
