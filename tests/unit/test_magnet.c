/* Magnet links: parsing (hash forms, parameters, percent-encoding, peers,
 * BEP 53 selections, malformed input), the canonical writer, the builder
 * API, the magnet of a loaded torrent, and the base32 codec under them. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <cswarm/magnet.h>

#include "base/base.h"

/* Expected values computed outside cswarm (Python's hashlib/base64). */
#define HASH_HEX "c12fe1c06bba254a9dc9f519b335aa7c1367a88a"
#define HASH_B32 "YEX6DQDLXISUVHOJ6UM3GNNKPQJWPKEK"
#define OTHER_HEX "3d6381085fc185f779db6a178fc04c36e1af084e"
#define V2_HEX "dc48666f88d576dc5346b9b91df793e94bff19738fcd5be1998b08cb0462f797"
#define BTIH "xt=urn:btih:" HASH_HEX
#define BTMH "xt=urn:btmh:1220" V2_HEX

static sw_magnet *parse_ok(const char *link)
{
    sw_magnet *m = NULL;
    sw_error_detail err;
    int rc = sw_magnet_parse(link, strlen(link), &m, &err);
    if (rc != 0)
        fail_msg("parse of \"%s\" failed: %s (%s at %lld)", link, sw_err_name(rc), err.message,
                 (long long)err.offset);
    assert_int_equal(err.code, 0);
    assert_non_null(m);
    return m;
}

/* Parses an invalid link and checks the code; returns the error detail. */
static sw_error_detail parse_fails(const char *link, int code)
{
    sw_magnet *m = (sw_magnet *)(uintptr_t)1; /* must stay untouched */
    sw_error_detail err;
    int rc = sw_magnet_parse(link, strlen(link), &m, &err);
    if (rc != code)
        fail_msg("\"%s\": expected %s, got %s (%s)", link, sw_err_name(code), sw_err_name(rc),
                 err.message);
    assert_int_equal(err.code, code);
    assert_ptr_equal(m, (sw_magnet *)(uintptr_t)1);
    /* One line of text that says something. */
    assert_true(strlen(err.message) > 5);
    assert_null(strchr(err.message, '\n'));
    assert_true(err.offset >= -1 && err.offset <= (int64_t)strlen(link));
    return err;
}

static void assert_hash_v1(const sw_magnet *m, const char *hex)
{
    uint8_t want[SW_SHA1_LEN];
    assert_true(sw_hex_decode(hex, strlen(hex), want, sizeof want));
    const sw_info_hashes *h = sw_magnet_hashes(m);
    assert_true(h->has_v1);
    assert_memory_equal(h->v1.v, want, sizeof want);
}

static char *emit(const sw_magnet *m)
{
    char *s = NULL;
    size_t len = 0;
    assert_int_equal(sw_magnet_to_string(m, &s, &len), 0);
    assert_int_equal(strlen(s), len);
    return s;
}

/* Emits m, parses the result and checks it equals m. */
static void assert_round_trip(const sw_magnet *m)
{
    char *s = emit(m);
    sw_magnet *back = parse_ok(s);
    assert_true(sw_magnet_equal(m, back));
    char *again = emit(back);
    assert_string_equal(s, again);
    free(again);
    sw_magnet_free(back);
    free(s);
}

/* ---- base32 ---- */

static void test_base32_rfc4648_vectors(void **state)
{
    (void)state;
    static const char *plain[] = {"", "f", "fo", "foo", "foob", "fooba", "foobar"};
    static const char *padded[] = {
        "", "MY======", "MZXQ====", "MZXW6===", "MZXW6YQ=", "MZXW6YTB", "MZXW6YTBOI======"};
    for (size_t i = 0; i < sizeof plain / sizeof plain[0]; i++) {
        size_t n = strlen(plain[i]);
        char enc[32];
        sw__base32_encode((const uint8_t *)plain[i], n, true, enc);
        assert_string_equal(enc, padded[i]);
        assert_int_equal(sw__base32_encoded_len(n, true), strlen(padded[i]));

        /* Unpadded and lower-case spellings decode too. */
        char unpadded[32];
        sw__base32_encode((const uint8_t *)plain[i], n, false, unpadded);
        assert_int_equal(strlen(unpadded), sw__base32_encoded_len(n, false));
        assert_int_equal(strspn(unpadded, "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"), strlen(unpadded));
        char lower[32];
        for (size_t j = 0;; j++) {
            lower[j] =
                (char)(unpadded[j] >= 'A' && unpadded[j] <= 'Z' ? unpadded[j] + 32 : unpadded[j]);
            if (!unpadded[j])
                break;
        }
        const char *forms[] = {padded[i], unpadded, lower};
        for (size_t f = 0; f < 3; f++) {
            uint8_t out[16];
            size_t got = 99;
            assert_int_equal(sw__base32_decode(forms[f], strlen(forms[f]), out, sizeof out, &got),
                             0);
            assert_int_equal(got, n);
            assert_memory_equal(out, plain[i], n);
        }
    }
}

static void test_base32_rejects_malformed(void **state)
{
    (void)state;
    static const char *bad[] = {
        "M",         /* 1 char: no byte count encodes to this */
        "MZX",       /* 3 chars */
        "MZXW6Y",    /* 6 chars */
        "MZXW6YR",   /* "foob" with a non-zero unused bit */
        "MY=====",   /* padding short of a whole group */
        "MY=======", /* padding past a group */
        "========",  /* padding only */
        "MZ=W6===",  /* '=' inside the data */
        "MZXW1===",  /* '1' is not in the alphabet */
        "MZXW8===",  /* nor is '8' */
        "MZXW6 ==",  /* nor is a space */
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        uint8_t out[16];
        size_t got;
        if (sw__base32_decode(bad[i], strlen(bad[i]), out, sizeof out, &got) != SW_ERR_INVALID_ARG)
            fail_msg("accepted bad base32 \"%s\"", bad[i]);
    }
    uint8_t small[3];
    size_t got;
    assert_int_equal(sw__base32_decode("MZXW6YQ", 7, small, sizeof small, &got), SW_ERR_LIMIT);
}

/* ---- info-hashes ---- */

static void test_hex_and_base32_give_same_hash(void **state)
{
    (void)state;
    const char *links[] = {
        "magnet:?xt=urn:btih:" HASH_HEX,
        "magnet:?xt=urn:btih:C12FE1C06BBA254A9DC9F519B335AA7C1367A88A",
        "magnet:?xt=urn:btih:" HASH_B32,
        "magnet:?xt=urn:btih:yex6dqdlxisuvhoj6um3gnnkpqjwpkek",
        "MAGNET:?XT=URN:BTIH:" HASH_B32,
        /* The same hash twice, once in each form, is not a conflict. */
        "magnet:?xt=urn:btih:" HASH_HEX "&xt.1=urn:btih:" HASH_B32,
        /* A percent-encoded urn still decodes. */
        "magnet:?xt=urn%3Abtih%3A" HASH_HEX,
    };
    for (size_t i = 0; i < sizeof links / sizeof links[0]; i++) {
        sw_magnet *m = parse_ok(links[i]);
        assert_hash_v1(m, HASH_HEX);
        assert_false(sw_magnet_hashes(m)->has_v2);
        assert_null(sw_magnet_name(m));
        assert_int_equal(sw_magnet_num_trackers(m), 0);
        sw_magnet_free(m);
    }
}

static void test_v2_and_hybrid_hashes(void **state)
{
    (void)state;
    uint8_t v2[SW_SHA256_LEN];
    assert_true(sw_hex_decode(V2_HEX, 64, v2, sizeof v2));

    sw_magnet *m = parse_ok("magnet:?" BTMH "&dn=v2");
    const sw_info_hashes *h = sw_magnet_hashes(m);
    assert_false(h->has_v1);
    assert_true(h->has_v2);
    assert_memory_equal(h->v2.v, v2, sizeof v2);
    char *s = emit(m);
    assert_string_equal(s, "magnet:?" BTMH "&dn=v2");
    free(s);
    sw_magnet_free(m);

    m = parse_ok("magnet:?" BTMH "&" BTIH);
    h = sw_magnet_hashes(m);
    assert_true(h->has_v1 && h->has_v2);
    assert_hash_v1(m, HASH_HEX);
    assert_memory_equal(h->v2.v, v2, sizeof v2);
    s = emit(m);
    assert_string_equal(s, "magnet:?" BTIH "&" BTMH); /* canonical order: btih first */
    free(s);
    sw_magnet_free(m);

    /* Exact topics of other networks are not ours and are skipped. */
    m = parse_ok("magnet:?xt=urn:sha1:" HASH_B32 "&xt=urn:ed2k:abc&" BTIH);
    assert_hash_v1(m, HASH_HEX);
    sw_magnet_free(m);
}

static void test_bad_hashes(void **state)
{
    (void)state;
    /* Offsets point at the hash (after "urn:btih:"). */
    sw_error_detail e = parse_fails("magnet:?xt=urn:btih:" HASH_HEX "0", SW_ERR_MAGNET_BAD_HASH);
    assert_int_equal(e.offset, 20);
    assert_non_null(strstr(e.message, "41"));
    parse_fails("magnet:?xt=urn:btih:c12fe1c06bba254a9dc9f519b335aa7c1367a88", // 39
                SW_ERR_MAGNET_BAD_HASH);
    parse_fails("magnet:?xt=urn:btih:g12fe1c06bba254a9dc9f519b335aa7c1367a88a",
                SW_ERR_MAGNET_BAD_HASH);
    parse_fails("magnet:?xt=urn:btih:1EX6DQDLXISUVHOJ6UM3GNNKPQJWPKEK", SW_ERR_MAGNET_BAD_HASH);
    parse_fails("magnet:?xt=urn:btih:YEX6DQDLXISUVHOJ6UM3GNNKPQJWPKE", SW_ERR_MAGNET_BAD_HASH);
    parse_fails("magnet:?xt=urn:btih:", SW_ERR_MAGNET_BAD_HASH);
    /* Two different v1 hashes: which torrent is meant? */
    e = parse_fails("magnet:?" BTIH "&xt.2=urn:btih:" OTHER_HEX, SW_ERR_MAGNET_BAD_HASH);
    assert_int_equal(e.offset, (int64_t)strlen("magnet:?" BTIH "&xt.2=urn:btih:"));
    assert_non_null(strstr(e.message, "different"));
    /* btmh must be a SHA2-256 multihash. */
    parse_fails("magnet:?xt=urn:btmh:1114" OTHER_HEX, SW_ERR_MAGNET_BAD_HASH); /* sha1 mh */
    parse_fails("magnet:?xt=urn:btmh:" V2_HEX, SW_ERR_MAGNET_BAD_HASH);        /* no prefix */
    parse_fails("magnet:?xt=urn:btmh:1220" V2_HEX "00", SW_ERR_MAGNET_BAD_HASH);
    parse_fails("magnet:?xt=urn:btmh:1220xc48666f88d576dc5346b9b91df793e94bff19738fcd5be1998b08cb04"
                "62f797",
                SW_ERR_MAGNET_BAD_HASH);
    parse_fails("magnet:?" BTMH "&xt=urn:btmh:1220" OTHER_HEX "000000000000000000000000",
                SW_ERR_MAGNET_BAD_HASH);
}

/* ---- parameters ---- */

static void test_trackers_in_order_deduped(void **state)
{
    (void)state;
    sw_magnet *m = parse_ok("magnet:?" BTIH "&tr=udp%3A%2F%2Fa.example%3A6969"
                            "&tr.1=http://b.example/announce&tr=&tr.2=udp://a.example:6969"
                            "&tr=http%3A%2F%2Fc.example%2Fann%3Fk%3Da%2Bb%26x%3D1"
                            "&ws=http%3A%2F%2Fseed.example%2Ffiles%2F&ws=http://seed.example/files/"
                            "&TR=http://d.example/a+b");
    assert_int_equal(sw_magnet_num_trackers(m), 4);
    assert_string_equal(sw_magnet_tracker(m, 0), "udp://a.example:6969");
    assert_string_equal(sw_magnet_tracker(m, 1), "http://b.example/announce");
    /* %26 and %3D stay inside the tracker URL instead of splitting the link. */
    assert_string_equal(sw_magnet_tracker(m, 2), "http://c.example/ann?k=a+b&x=1");
    /* '+' is a plain '+' outside dn. */
    assert_string_equal(sw_magnet_tracker(m, 3), "http://d.example/a+b");
    assert_null(sw_magnet_tracker(m, 4));
    assert_null(sw_magnet_tracker(m, -1));
    assert_int_equal(sw_magnet_num_web_seeds(m), 1);
    assert_string_equal(sw_magnet_web_seed(m, 0), "http://seed.example/files/");
    assert_null(sw_magnet_web_seed(m, 1));
    assert_round_trip(m);
    sw_magnet_free(m);
}

static void test_display_name_decoding(void **state)
{
    (void)state;
    struct {
        const char *dn;
        const char *want;
    } cases[] = {
        {"Ubuntu+22.04", "Ubuntu 22.04"},
        {"a%2Bb", "a+b"},
        {"%C3%A9t%C3%A9%202024", "\xC3\xA9t\xC3\xA9 2024"},       /* UTF-8 */
        {"%c3%a9", "\xC3\xA9"},                                   /* lower-case hex digits */
        {"\xE6\x97\xA5\xE6\x9C\xAC", "\xE6\x97\xA5\xE6\x9C\xAC"}, /* raw UTF-8 in the link */
        {"x%2Fy%26z%3D", "x/y&z="},
        {"100%25", "100%"},
        {"sp ace", "sp ace"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char link[256];
        snprintf(link, sizeof link, "magnet:?" BTIH "&dn=%s&dn=second", cases[i].dn);
        sw_magnet *m = parse_ok(link);
        assert_string_equal(sw_magnet_name(m), cases[i].want);
        assert_round_trip(m);
        sw_magnet_free(m);
    }
    /* An empty dn is no name. */
    sw_magnet *m = parse_ok("magnet:?dn=&" BTIH);
    assert_null(sw_magnet_name(m));
    sw_magnet_free(m);
}

static void test_bad_escapes(void **state)
{
    (void)state;
    sw_error_detail e = parse_fails("magnet:?" BTIH "&dn=a%zzb", SW_ERR_MAGNET_BAD_ESCAPE);
    assert_int_equal(e.offset, (int64_t)strlen("magnet:?" BTIH "&dn=a"));
    e = parse_fails("magnet:?" BTIH "&tr=http%3", SW_ERR_MAGNET_BAD_ESCAPE);
    assert_int_equal(e.offset, (int64_t)strlen("magnet:?" BTIH "&tr=http"));
    parse_fails("magnet:?" BTIH "&tr=http%", SW_ERR_MAGNET_BAD_ESCAPE);
    parse_fails("magnet:?" BTIH "&tr=%3&tr=x", SW_ERR_MAGNET_BAD_ESCAPE); /* no borrowing from
                                                                              the next param */
    parse_fails("magnet:?xt=urn:btih:%G1" HASH_HEX, SW_ERR_MAGNET_BAD_ESCAPE);
    e = parse_fails("magnet:?" BTIH "&dn=a%00b", SW_ERR_MAGNET_BAD_ESCAPE);
    assert_non_null(strstr(e.message, "NUL"));
    /* Raw control characters anywhere (a pasted newline, a tab). */
    e = parse_fails("magnet:?" BTIH "&dn=a\nb", SW_ERR_MAGNET_BAD_ESCAPE);
    assert_int_equal(e.offset, (int64_t)strlen("magnet:?" BTIH "&dn=a"));
    parse_fails("magnet:?" BTIH "\t", SW_ERR_MAGNET_BAD_ESCAPE);

    /* Unknown parameters are not looked at, even when malformed. */
    sw_magnet *m = parse_ok("magnet:?" BTIH "&xl=%zz&kt=a%&&=x&novalue&x.pe.z=1");
    assert_int_equal(sw_magnet_num_peers(m), 0);
    sw_magnet_free(m);
}

static void test_peers(void **state)
{
    (void)state;
    sw_magnet *m = parse_ok("magnet:?" BTIH "&x.pe=10.0.0.1:6881&x.pe=[2001:db8::1]:51413"
                            "&x.pe.1=peer.example.org:80&x.pe=%5B%3A%3A1%5D%3A1"
                            "&x.pe=10.0.0.1:6881&x.pe=10.0.0.1:6882&x.pe=127.0.0.1:65535");
    assert_int_equal(sw_magnet_num_peers(m), 6);
    const sw_magnet_peer *p = sw_magnet_peer_at(m, 0);
    assert_string_equal(p->host, "10.0.0.1");
    assert_int_equal(p->port, 6881);
    assert_int_equal(p->kind, SW_MAGNET_PEER_IPV4);
    p = sw_magnet_peer_at(m, 1);
    assert_string_equal(p->host, "2001:db8::1");
    assert_int_equal(p->port, 51413);
    assert_int_equal(p->kind, SW_MAGNET_PEER_IPV6);
    p = sw_magnet_peer_at(m, 2);
    assert_string_equal(p->host, "peer.example.org");
    assert_int_equal(p->kind, SW_MAGNET_PEER_HOSTNAME);
    p = sw_magnet_peer_at(m, 3);
    assert_string_equal(p->host, "::1");
    assert_int_equal(p->port, 1);
    assert_int_equal(sw_magnet_peer_at(m, 4)->port, 6882);
    assert_int_equal(sw_magnet_peer_at(m, 5)->port, 65535);
    assert_null(sw_magnet_peer_at(m, 6));
    assert_round_trip(m);
    sw_magnet_free(m);

    static const char *bad[] = {
        "10.0.0.1",          /* no port */
        "10.0.0.1:",         /* empty port */
        "10.0.0.1:0",        /* port 0 */
        "10.0.0.1:65536",    /* too big */
        "10.0.0.1:123456",   /* far too big */
        "10.0.0.1:-1",       /* sign */
        "10.0.0.1:80a",      /* junk */
        "10.0.0.1:+80",      /* sign */
        "2001:db8::1:80",    /* IPv6 without brackets */
        "[2001:db8::1]",     /* no port */
        "[2001:db8::1]80",   /* no colon */
        "[2001:db8::1:80",   /* no closing bracket */
        "[2001:db8::zz]:80", /* not an address */
        "[10.0.0.1]:80",     /* brackets are for IPv6 */
        "1.2.3:80",          /* looks like IPv4 but is not */
        "256.1.1.1:80",      /* octet out of range */
        "bad!host:80",       /* not a host name */
        "a..b:80",           /* empty label */
        ".a:80",             /* empty label */
        ":80",               /* no host */
        "",                  /* nothing */
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char link[256];
        snprintf(link, sizeof link, "magnet:?" BTIH "&x.pe=%s", bad[i]);
        parse_fails(link, SW_ERR_MAGNET_BAD_PEER);
    }
    /* The offset points at a bad port when it can. */
    sw_error_detail e = parse_fails("magnet:?" BTIH "&x.pe=10.0.0.1:0", SW_ERR_MAGNET_BAD_PEER);
    assert_int_equal(e.offset, (int64_t)strlen("magnet:?" BTIH "&x.pe=10.0.0.1:"));
}

static void test_select_only(void **state)
{
    (void)state;
    sw_magnet *m = parse_ok("magnet:?" BTIH "&so=0,2,4,6-8");
    assert_int_equal(sw_magnet_num_select_ranges(m), 4);
    const int want[4][2] = {{0, 0}, {2, 2}, {4, 4}, {6, 8}};
    for (int i = 0; i < 4; i++) {
        const sw_magnet_file_range *r = sw_magnet_select_range(m, i);
        assert_int_equal(r->first, want[i][0]);
        assert_int_equal(r->last, want[i][1]);
    }
    assert_null(sw_magnet_select_range(m, 4));
    const bool selected[] = {true, false, true, false, true, false, true, true, true, false};
    for (int i = 0; i < 10; i++)
        assert_int_equal(sw_magnet_file_selected(m, i), selected[i]);
    assert_false(sw_magnet_file_selected(m, -1));
    char *s = emit(m);
    assert_string_equal(s, "magnet:?" BTIH "&so=0,2,4,6-8");
    free(s);
    sw_magnet_free(m);

    /* Overlapping, adjacent and unordered items merge; several so= add up. */
    m = parse_ok("magnet:?" BTIH "&so=9,1-3,2-5,7&so.1=6,20-20,0,8");
    assert_int_equal(sw_magnet_num_select_ranges(m), 2);
    assert_int_equal(sw_magnet_select_range(m, 0)->first, 0);
    assert_int_equal(sw_magnet_select_range(m, 0)->last, 9);
    assert_int_equal(sw_magnet_select_range(m, 1)->first, 20);
    assert_int_equal(sw_magnet_select_range(m, 1)->last, 20);
    assert_round_trip(m);
    sw_magnet_free(m);

    /* No so= selects everything. */
    m = parse_ok("magnet:?" BTIH);
    assert_true(sw_magnet_file_selected(m, 0));
    assert_true(sw_magnet_file_selected(m, 123456));
    sw_magnet_free(m);

    /* The largest index. */
    m = parse_ok("magnet:?" BTIH "&so=2147483646");
    assert_int_equal(sw_magnet_select_range(m, 0)->first, SW_MAGNET_MAX_FILE_INDEX);
    sw_magnet_free(m);

    static const char *bad[] = {
        "",
        "a",
        "1-",
        "-1",
        "3-1",
        "1,,2",
        "1,",
        ",1",
        "1 2",
        "1-2-3",
        "2147483647",
        "99999999999999999999",
        "0-2147483647",
        "1;2",
        "%2C1",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char link[256];
        snprintf(link, sizeof link, "magnet:?" BTIH "&so=%s", bad[i]);
        parse_fails(link, SW_ERR_MAGNET_BAD_SELECT);
    }
    sw_error_detail e = parse_fails("magnet:?" BTIH "&so=0,3-1", SW_ERR_MAGNET_BAD_SELECT);
    assert_int_equal(e.offset, (int64_t)strlen("magnet:?" BTIH "&so=0,"));
}

static void test_select_only_bounded(void **state)
{
    (void)state;
    /* 1025 separate ranges exceed the limit... */
    size_t cap = 16 * 1024;
    char *link = malloc(cap);
    assert_non_null(link);
    int n = snprintf(link, cap, "magnet:?" BTIH "&so=0");
    for (int i = 1; i <= SW_MAGNET_MAX_SELECT_RANGES; i++)
        n += snprintf(link + n, cap - (size_t)n, ",%d", 2 * i);
    parse_fails(link, SW_ERR_LIMIT);
    /* ...but adjacent indices merge into one range and fit. */
    n = snprintf(link, cap, "magnet:?" BTIH "&so=0");
    for (int i = 1; i <= 2000; i++)
        n += snprintf(link + n, cap - (size_t)n, ",%d", i);
    sw_magnet *m = parse_ok(link);
    assert_int_equal(sw_magnet_num_select_ranges(m), 1);
    assert_int_equal(sw_magnet_select_range(m, 0)->last, 2000);
    sw_magnet_free(m);
    free(link);
}

/* ---- whole links ---- */

static void test_malformed_links(void **state)
{
    (void)state;
    sw_error_detail e = parse_fails("", SW_ERR_MAGNET_NOT_MAGNET);
    assert_int_equal(e.offset, 0);
    parse_fails("http://example.com/a.torrent", SW_ERR_MAGNET_NOT_MAGNET);
    parse_fails("magnet", SW_ERR_MAGNET_NOT_MAGNET);
    e = parse_fails("magnet:", SW_ERR_MAGNET_NOT_MAGNET);
    assert_int_equal(e.offset, 7);
    parse_fails("magnet:" BTIH, SW_ERR_MAGNET_NOT_MAGNET);
    parse_fails(" magnet:?" BTIH, SW_ERR_MAGNET_NOT_MAGNET);
    e = parse_fails("magnet:?", SW_ERR_MAGNET_NO_HASH);
    assert_int_equal(e.offset, -1);
    parse_fails("magnet:?dn=x&tr=udp://t:1", SW_ERR_MAGNET_NO_HASH);
    parse_fails("magnet:?xt=urn:sha1:" HASH_B32, SW_ERR_MAGNET_NO_HASH);
    parse_fails("magnet:?xtx=urn:btih:" HASH_HEX, SW_ERR_MAGNET_NO_HASH); /* not an xt key */
    parse_fails("magnet:?xt.=urn:btih:" HASH_HEX, SW_ERR_MAGNET_NO_HASH); /* nor this */

    /* A NUL inside the given length is a raw control character. */
    sw_magnet *m = NULL;
    sw_error_detail err;
    const char with_nul[] = "magnet:?" BTIH "\0&dn=x";
    assert_int_equal(sw_magnet_parse(with_nul, sizeof with_nul - 1, &m, &err),
                     SW_ERR_MAGNET_BAD_ESCAPE);
    assert_int_equal(err.offset, (int64_t)strlen("magnet:?" BTIH));
    /* Only len bytes are read: the same link cut before the NUL is fine. */
    assert_int_equal(sw_magnet_parse(with_nul, strlen(with_nul), &m, &err), 0);
    sw_magnet_free(m);

    assert_int_equal(sw_magnet_parse(NULL, 0, &m, &err), SW_ERR_INVALID_ARG);
    assert_int_equal(sw_magnet_parse("magnet:?" BTIH, 8 + 52, NULL, NULL), SW_ERR_INVALID_ARG);
    /* err may be NULL. */
    assert_int_equal(sw_magnet_parse("nope", 4, &m, NULL), SW_ERR_MAGNET_NOT_MAGNET);
}

static void test_length_limit(void **state)
{
    (void)state;
    size_t cap = SW_MAGNET_MAX_LEN + 64;
    char *link = malloc(cap + 1);
    assert_non_null(link);
    int head = snprintf(link, cap, "magnet:?" BTIH "&xl=");
    /* Exactly at the limit: fine. */
    memset(link + head, 'a', SW_MAGNET_MAX_LEN - (size_t)head);
    link[SW_MAGNET_MAX_LEN] = '\0';
    sw_magnet *m = parse_ok(link);
    sw_magnet_free(m);
    /* One byte more: refused before anything else is read. */
    link[SW_MAGNET_MAX_LEN] = 'a';
    link[SW_MAGNET_MAX_LEN + 1] = '\0';
    parse_fails(link, SW_ERR_LIMIT);

    /* A link that fits but whose canonical form would not (raw bytes in dn
     * triple in size when escaped) is refused too, so every parsed magnet
     * can be written back. */
    head = snprintf(link, cap, "magnet:?" BTIH "&dn=");
    memset(link + head, '/', 30000);
    link[head + 30000] = '\0';
    sw_error_detail e = parse_fails(link, SW_ERR_LIMIT);
    assert_non_null(strstr(e.message, "re-encoded"));
    free(link);
}

static void test_tracker_count_limit(void **state)
{
    (void)state;
    char *link = malloc(SW_MAGNET_MAX_LEN);
    assert_non_null(link);
    int n = snprintf(link, SW_MAGNET_MAX_LEN, "magnet:?" BTIH);
    for (int i = 0; i <= SW_MAGNET_MAX_TRACKERS; i++)
        n += snprintf(link + n, SW_MAGNET_MAX_LEN - (size_t)n, "&tr=udp://t%d:1", i);
    sw_error_detail e = parse_fails(link, SW_ERR_LIMIT);
    assert_non_null(strstr(e.message, "trackers"));
    free(link);
}

/* ---- writer and builder ---- */

static sw_magnet *build_rich_magnet(void)
{
    sw_magnet *m;
    assert_int_equal(sw_magnet_new(&m), 0);
    sw_info_hashes h = {.has_v1 = true, .has_v2 = true};
    assert_true(sw_hex_decode(HASH_HEX, 40, h.v1.v, sizeof h.v1.v));
    assert_true(sw_hex_decode(V2_HEX, 64, h.v2.v, sizeof h.v2.v));
    assert_int_equal(sw_magnet_set_hashes(m, &h), 0);
    assert_int_equal(sw_magnet_set_name(m, "Caf\xC3\xA9 & Co: 100% +/~"), 0);
    assert_int_equal(sw_magnet_add_tracker(m, "udp://tracker.example:6969/announce"), 0);
    assert_int_equal(sw_magnet_add_tracker(m, "http://t.example/a?x=1&y=2"), 0);
    assert_int_equal(sw_magnet_add_tracker(m, "udp://tracker.example:6969/announce"), 0);
    assert_int_equal(sw_magnet_add_web_seed(m, "https://s.example/dir with space/"), 0);
    assert_int_equal(sw_magnet_add_peer(m, "192.0.2.7", 6881), 0);
    assert_int_equal(sw_magnet_add_peer(m, "2001:db8::7", 443), 0);
    assert_int_equal(sw_magnet_add_peer(m, "seed.example", 1), 0);
    assert_int_equal(sw_magnet_add_select_range(m, 5, 9), 0);
    assert_int_equal(sw_magnet_add_select_range(m, 0, 0), 0);
    return m;
}

static void test_canonical_writer(void **state)
{
    (void)state;
    sw_magnet *m = build_rich_magnet();
    assert_int_equal(sw_magnet_num_trackers(m), 2);
    char *s = emit(m);
    assert_string_equal(s, "magnet:?" BTIH "&" BTMH "&dn=Caf%C3%A9%20%26%20Co%3A%20100%25%20%2B%2F~"
                           "&tr=udp%3A%2F%2Ftracker.example%3A6969%2Fannounce"
                           "&tr=http%3A%2F%2Ft.example%2Fa%3Fx%3D1%26y%3D2"
                           "&ws=https%3A%2F%2Fs.example%2Fdir%20with%20space%2F"
                           "&x.pe=192.0.2.7%3A6881&x.pe=%5B2001%3Adb8%3A%3A7%5D%3A443"
                           "&x.pe=seed.example%3A1&so=0,5-9");
    free(s);
    assert_round_trip(m);

    sw_magnet *c;
    assert_int_equal(sw_magnet_clone(m, &c), 0);
    assert_true(sw_magnet_equal(m, c));
    assert_int_equal(sw_magnet_add_peer(c, "192.0.2.8", 6881), 0);
    assert_false(sw_magnet_equal(m, c));
    sw_magnet_free(c);
    assert_int_equal(sw_magnet_clone(m, &c), 0);
    assert_int_equal(sw_magnet_set_name(c, NULL), 0);
    assert_null(sw_magnet_name(c));
    assert_false(sw_magnet_equal(m, c));
    sw_magnet_free(c);
    sw_magnet_free(m);
}

static void test_builder_validation(void **state)
{
    (void)state;
    sw_magnet *m;
    assert_int_equal(sw_magnet_new(&m), 0);
    char *s = NULL;
    assert_int_equal(sw_magnet_to_string(m, &s, NULL), SW_ERR_MAGNET_NO_HASH);
    assert_null(s);
    sw_info_hashes none = {0};
    assert_int_equal(sw_magnet_set_hashes(m, &none), SW_ERR_INVALID_ARG);
    assert_int_equal(sw_magnet_add_tracker(m, ""), SW_ERR_INVALID_ARG);
    assert_int_equal(sw_magnet_add_tracker(m, NULL), SW_ERR_INVALID_ARG);
    assert_int_equal(sw_magnet_add_peer(m, "10.0.0.1", 0), SW_ERR_MAGNET_BAD_PEER);
    assert_int_equal(sw_magnet_add_peer(m, "10.0.0.1", 65536), SW_ERR_MAGNET_BAD_PEER);
    assert_int_equal(sw_magnet_add_peer(m, "[::1]", 80), SW_ERR_MAGNET_BAD_PEER);
    assert_int_equal(sw_magnet_add_peer(m, "", 80), SW_ERR_MAGNET_BAD_PEER);
    assert_int_equal(sw_magnet_add_select_range(m, -1, 2), SW_ERR_MAGNET_BAD_SELECT);
    assert_int_equal(sw_magnet_add_select_range(m, 3, 2), SW_ERR_MAGNET_BAD_SELECT);
    assert_int_equal(sw_magnet_num_peers(m), 0);
    assert_int_equal(sw_magnet_num_select_ranges(m), 0);
    assert_int_equal(sw_magnet_set_name(m, ""), 0);
    assert_null(sw_magnet_name(m));

    /* v1 only: the btmh part is absent, and an unused v2 field is ignored. */
    sw_info_hashes h = {.has_v1 = true};
    assert_true(sw_hex_decode(OTHER_HEX, 40, h.v1.v, sizeof h.v1.v));
    memset(h.v2.v, 0xAB, sizeof h.v2.v);
    assert_int_equal(sw_magnet_set_hashes(m, &h), 0);
    s = emit(m);
    assert_string_equal(s, "magnet:?xt=urn:btih:" OTHER_HEX);
    free(s);
    assert_round_trip(m);

    /* Count limits hold for the builder as for the parser. */
    for (int i = 0; i < SW_MAGNET_MAX_PEERS; i++)
        assert_int_equal(sw_magnet_add_peer(m, "10.0.0.1", 1 + i), 0);
    assert_int_equal(sw_magnet_add_peer(m, "10.0.0.1", 1000), SW_ERR_LIMIT);
    assert_int_equal(sw_magnet_add_peer(m, "10.0.0.1", 1), 0); /* a duplicate is not new */
    assert_int_equal(sw_magnet_num_peers(m), SW_MAGNET_MAX_PEERS);

    /* A link too long to be read back is not written. */
    char url[400];
    memset(url, 'u', sizeof url - 1);
    url[sizeof url - 1] = '\0';
    for (int i = 0; i < 200; i++) {
        snprintf(url, 12, "http://%03d", i);
        url[10] = '/';
        assert_int_equal(sw_magnet_add_tracker(m, url), 0);
    }
    assert_int_equal(sw_magnet_to_string(m, &s, NULL), SW_ERR_LIMIT);
    sw_magnet_free(m);
    sw_magnet_free(NULL);
}

/* ---- from a loaded torrent ---- */

static const char single_file_torrent[] =
    "d8:announce21:udp://a.example:6969/"
    "13:announce-listll21:udp://a.example:6969/el22:http://b.example/a?x=1"
    "21:udp://a.example:6969/ee"
    "4:infod6:lengthi5e4:name9:hello.txt12:piece lengthi16384e"
    "6:pieces20:\x01\x02\x03\x04\x05\x06\x07\x08\x09\x0a\x0b\x0c\x0d\x0e\x0f\x10\x11\x12\x13\x14"
    "e"
    "8:url-listl20:http://ws.example/a/ee";

static void test_from_torrent_info(void **state)
{
    (void)state;
    sw_torrent_info *ti = NULL;
    sw_error_detail err;
    int rc =
        sw_torrent_info_load(single_file_torrent, sizeof single_file_torrent - 1, NULL, &ti, &err);
    if (rc != 0)
        fail_msg("load: %s %s", sw_err_name(rc), err.message);

    /* The info-hash, computed here over the exact info bytes. */
    const char *info = strstr(single_file_torrent, "4:infod") + 6;
    const char *info_end = strstr(info, "e8:url-list") + 1;
    sw_sha1 want;
    assert_int_equal(sw__sha1(info, (size_t)(info_end - info), &want), 0);
    char want_hex[41];
    sw_hex_encode(want.v, sizeof want.v, want_hex);

    sw_magnet *m;
    assert_int_equal(sw_magnet_from_torrent_info(ti, &m), 0);
    assert_hash_v1(m, want_hex);
    assert_false(sw_magnet_hashes(m)->has_v2);
    assert_string_equal(sw_magnet_name(m), "hello.txt");
    assert_int_equal(sw_magnet_num_trackers(m), 2);
    assert_string_equal(sw_magnet_tracker(m, 0), "udp://a.example:6969/");
    assert_string_equal(sw_magnet_tracker(m, 1), "http://b.example/a?x=1");
    assert_int_equal(sw_magnet_num_web_seeds(m), 1);
    assert_string_equal(sw_magnet_web_seed(m, 0), "http://ws.example/a/");
    assert_int_equal(sw_magnet_num_peers(m), 0);
    assert_int_equal(sw_magnet_num_select_ranges(m), 0);

    char *s = emit(m);
    char expect[512];
    snprintf(expect, sizeof expect,
             "magnet:?xt=urn:btih:%s&dn=hello.txt&tr=udp%%3A%%2F%%2Fa.example%%3A6969%%2F"
             "&tr=http%%3A%%2F%%2Fb.example%%2Fa%%3Fx%%3D1&ws=http%%3A%%2F%%2Fws.example%%2Fa%%2F",
             want_hex);
    assert_string_equal(s, expect);
    free(s);
    assert_round_trip(m);
    sw_magnet_free(m);
    sw_torrent_info_unref(ti);
}

static void test_from_hybrid_torrent(void **state)
{
    (void)state;
    sw_torrent_info *ti = NULL;
    sw_error_detail err;
    int rc = sw_torrent_info_load_file(SW_TEST_DATA_DIR "/magnet/hybrid.torrent", NULL, &ti, &err);
    if (rc != 0)
        fail_msg("load: %s %s", sw_err_name(rc), err.message);
    const sw_info_hashes *th = sw_torrent_info_hashes(ti);
    assert_true(th->has_v1 && th->has_v2);
    /* libtorrent 2.0 made this torrent and wrote this link for it
     * (make_magnet_uri, lower-case escapes). */
    static const char lt_link[] =
        "magnet:?xt=urn:btih:64a59170e48c71e73bc0871c6e8ae1b564f73ba9"
        "&xt=urn:btmh:122060202602f21c60169315fc18aa55c7ba339a915ac2da9b0bc30354b78fb64bde"
        "&dn=content&tr=udp%3a%2f%2ftracker.example%3a6969%2fannounce&ws=http%3a%2f%2fws.example%"
        "2f";
    sw_magnet *from_lt = parse_ok(lt_link);

    sw_magnet *m;
    assert_int_equal(sw_magnet_from_torrent_info(ti, &m), 0);
    const sw_info_hashes *h = sw_magnet_hashes(m);
    assert_true(h->has_v1 && h->has_v2);
    assert_memory_equal(h->v1.v, th->v1.v, SW_SHA1_LEN);
    assert_memory_equal(h->v2.v, th->v2.v, SW_SHA256_LEN);
    assert_true(sw_magnet_equal(m, from_lt));
    sw_magnet_free(from_lt);
    char *s = emit(m);
    char v1[41], v2[65];
    sw_hex_encode(th->v1.v, SW_SHA1_LEN, v1);
    sw_hex_encode(th->v2.v, SW_SHA256_LEN, v2);
    char prefix[160];
    snprintf(prefix, sizeof prefix, "magnet:?xt=urn:btih:%s&xt=urn:btmh:1220%s&dn=", v1, v2);
    assert_memory_equal(s, prefix, strlen(prefix));
    free(s);
    assert_round_trip(m);
    sw_magnet_free(m);
    sw_torrent_info_unref(ti);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_base32_rfc4648_vectors),
        cmocka_unit_test(test_base32_rejects_malformed),
        cmocka_unit_test(test_hex_and_base32_give_same_hash),
        cmocka_unit_test(test_v2_and_hybrid_hashes),
        cmocka_unit_test(test_bad_hashes),
        cmocka_unit_test(test_trackers_in_order_deduped),
        cmocka_unit_test(test_display_name_decoding),
        cmocka_unit_test(test_bad_escapes),
        cmocka_unit_test(test_peers),
        cmocka_unit_test(test_select_only),
        cmocka_unit_test(test_select_only_bounded),
        cmocka_unit_test(test_malformed_links),
        cmocka_unit_test(test_length_limit),
        cmocka_unit_test(test_tracker_count_limit),
        cmocka_unit_test(test_canonical_writer),
        cmocka_unit_test(test_builder_validation),
        cmocka_unit_test(test_from_torrent_info),
        cmocka_unit_test(test_from_hybrid_torrent),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
