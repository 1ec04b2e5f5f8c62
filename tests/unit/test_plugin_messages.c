/* The standard plugins' message codecs, as pure functions: BEP 9
 * ut_metadata messages, BEP 11 ut_pex messages and BEP 28 tracker exchange
 * messages, valid and malformed. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#define SW_PLUGIN_BUILTIN 1
#include <cswarm/cswarm.h>
#include <cswarm/plugin.h>

#include "../../plugins/lt_tex/tex_msg.h"
#include "../../plugins/ut_metadata/ut_metadata_msg.h"
#include "../../plugins/ut_pex/pex_msg.h"

#define S(lit) (const uint8_t *)(lit), sizeof(lit) - 1

/* ---- ut_metadata ---- */

static void test_ut_metadata_parse(void **state)
{
    (void)state;
    ut_metadata_msg m;
    assert_int_equal(ut_metadata_msg_parse(S("d8:msg_typei0e5:piecei3ee"), &m), 0);
    assert_int_equal(m.type, UT_METADATA_REQUEST);
    assert_int_equal(m.piece, 3);
    assert_int_equal(m.total_size, -1);
    assert_int_equal(m.data_len, 0);

    assert_int_equal(ut_metadata_msg_parse(S("d8:msg_typei1e5:piecei0e10:total_sizei5eeHELLO"), &m),
                     0);
    assert_int_equal(m.type, UT_METADATA_DATA);
    assert_int_equal(m.total_size, 5);
    assert_int_equal(m.data_len, 5);
    assert_memory_equal(m.data, "HELLO", 5);

    /* An unknown type parses (and is ignored by the plugin). */
    assert_int_equal(ut_metadata_msg_parse(S("d8:msg_typei7e5:piecei0ee"), &m), 0);
    assert_int_equal(m.type, 7);

    /* Malformed. */
    assert_int_equal(ut_metadata_msg_parse(S(""), &m), SW_ERR_PROTOCOL);
    assert_int_equal(ut_metadata_msg_parse(S("garbage"), &m), SW_ERR_PROTOCOL);
    assert_int_equal(ut_metadata_msg_parse(S("li1ee"), &m), SW_ERR_PROTOCOL);
    assert_int_equal(ut_metadata_msg_parse(S("d5:piecei0ee"), &m), SW_ERR_PROTOCOL);
    assert_int_equal(ut_metadata_msg_parse(S("d8:msg_typei0ee"), &m), SW_ERR_PROTOCOL);
    assert_int_equal(ut_metadata_msg_parse(S("d8:msg_typei0e5:piecei-1ee"), &m), SW_ERR_PROTOCOL);
    assert_int_equal(ut_metadata_msg_parse(S("d8:msg_typei0e5:piecei4294967296ee"), &m),
                     SW_ERR_PROTOCOL);
    assert_int_equal(ut_metadata_msg_parse(S("d8:msg_type1:05:piecei0ee"), &m), SW_ERR_PROTOCOL);
    assert_int_equal(ut_metadata_msg_parse(S("d8:msg_typei0e5:piecei0e"), &m), SW_ERR_PROTOCOL);
    /* Deep nesting is refused before it costs anything. */
    assert_int_equal(ut_metadata_msg_parse(S("d1:xd1:xd1:xdeeee8:msg_typei0e5:piecei0ee"), &m),
                     SW_ERR_PROTOCOL);
}

static void test_ut_metadata_piece_len(void **state)
{
    (void)state;
    assert_int_equal(ut_metadata_piece_len(16384, 0), 16384);
    assert_int_equal(ut_metadata_piece_len(16384, 1), 0);
    assert_int_equal(ut_metadata_piece_len(16385, 1), 1);
    assert_int_equal(ut_metadata_piece_len(100, 0), 100);
    assert_int_equal(ut_metadata_piece_len(100, -1), 0);
    assert_int_equal(ut_metadata_piece_len(0, 0), 0);
}

/* ---- ut_pex ---- */

static sw_plugin_endpoint v4(uint8_t a, uint8_t b, uint8_t c, uint8_t d, uint16_t port)
{
    sw_plugin_endpoint ep;
    memset(&ep, 0, sizeof ep);
    ep.family = SW_PLUGIN_IPV4;
    ep.addr[0] = a;
    ep.addr[1] = b;
    ep.addr[2] = c;
    ep.addr[3] = d;
    ep.port = port;
    return ep;
}

static void test_ut_pex_round_trip(void **state)
{
    (void)state;
    ut_pex_contact added[3];
    memset(added, 0, sizeof added);
    added[0].ep = v4(10, 0, 0, 1, 6881);
    added[0].flags = UT_PEX_SEED | UT_PEX_REACHABLE;
    added[1].ep.family = SW_PLUGIN_IPV6;
    added[1].ep.addr[15] = 1;
    added[1].ep.port = 51413;
    added[1].flags = UT_PEX_UTP;
    added[2].ep = v4(192, 168, 1, 2, 1);
    sw_plugin_endpoint dropped[1] = {v4(127, 0, 0, 1, 80)};
    uint8_t *buf;
    size_t len;
    assert_int_equal(ut_pex_msg_build(added, 3, dropped, 1, &buf, &len), 0);
    ut_pex_msg *m = malloc(sizeof *m);
    assert_int_equal(ut_pex_msg_parse(buf, len, m), 0);
    free(buf);
    assert_int_equal(m->num_added, 3);
    /* IPv4 first, then IPv6. */
    assert_true(ut_pex_same_endpoint(&m->added[0].ep, &added[0].ep));
    assert_int_equal(m->added[0].flags, UT_PEX_SEED | UT_PEX_REACHABLE);
    assert_true(ut_pex_same_endpoint(&m->added[1].ep, &added[2].ep));
    assert_int_equal(m->added[1].flags, 0);
    assert_true(ut_pex_same_endpoint(&m->added[2].ep, &added[1].ep));
    assert_int_equal(m->added[2].flags, UT_PEX_UTP);
    assert_int_equal(m->num_dropped, 1);
    assert_true(ut_pex_same_endpoint(&m->dropped[0], &dropped[0]));
    free(m);
}

static void test_ut_pex_malformed(void **state)
{
    (void)state;
    ut_pex_msg *m = malloc(sizeof *m);
    /* A contact list that is not whole contacts. */
    assert_int_equal(ut_pex_msg_parse(S("d5:added5:abcdee"), m), SW_ERR_PROTOCOL);
    assert_int_equal(ut_pex_msg_parse(S("d6:added67:1234567e"), m), SW_ERR_PROTOCOL);
    assert_int_equal(ut_pex_msg_parse(S("d5:addedi1ee"), m), SW_ERR_PROTOCOL);
    assert_int_equal(ut_pex_msg_parse(S("l5:addede"), m), SW_ERR_PROTOCOL);
    assert_int_equal(ut_pex_msg_parse(S("d5:added"), m), SW_ERR_PROTOCOL);
    /* Flags of the wrong length are ignored; a port of 0 is skipped. */
    assert_int_equal(ut_pex_msg_parse(S("d5:added12:\x0a\0\0\x01\x1a\xe1\x0a\0\0\x02\0\0"
                                        "7:added.f3:\x02\x02\x02"
                                        "e"),
                                      m),
                     0);
    assert_int_equal(m->num_added, 1);
    assert_int_equal(m->added[0].ep.port, 6881);
    assert_int_equal(m->added[0].flags, 0);
    /* Empty is fine. */
    assert_int_equal(ut_pex_msg_parse(S("de"), m), 0);
    assert_int_equal(m->num_added, 0);
    assert_int_equal(m->num_dropped, 0);
    free(m);
}

static void test_ut_pex_caps_contacts(void **state)
{
    (void)state;
    /* 300 contacts arrive; at most UT_PEX_MAX_PARSED are kept. */
    size_t n = 300;
    size_t len = 0;
    uint8_t *buf = malloc(32 + n * 6);
    len += (size_t)sprintf((char *)buf, "d5:added%zu:", n * 6);
    for (size_t i = 0; i < n; i++) {
        uint8_t c[6] = {10, 1, (uint8_t)(i >> 8), (uint8_t)i, 0x1a, 0xe1};
        memcpy(buf + len, c, 6);
        len += 6;
    }
    buf[len++] = 'e';
    ut_pex_msg *m = malloc(sizeof *m);
    assert_int_equal(ut_pex_msg_parse(buf, len, m), 0);
    assert_int_equal(m->num_added, UT_PEX_MAX_PARSED);
    free(m);
    free(buf);
}

/* ---- lt_tex ---- */

static void test_lt_tex_parse_and_build(void **state)
{
    (void)state;
    const char *urls[] = {"http://a.example/announce", "udp://b.example:80"};
    uint8_t *buf;
    size_t len;
    assert_int_equal(lt_tex_msg_build(urls, 2, &buf, &len), 0);
    lt_tex_msg m;
    assert_int_equal(lt_tex_msg_parse(buf, len, &m), 0);
    free(buf);
    assert_int_equal(m.num_urls, 2);
    assert_string_equal(m.urls[0], urls[0]);
    assert_string_equal(m.urls[1], urls[1]);
    lt_tex_msg_free(&m);

    /* Strings that are not usable URLs are skipped. */
    assert_int_equal(
        lt_tex_msg_parse(
            S("d5:addedl9:ftp://x/y3:abci3e13:http://ok/ann13:https://a b/c15:https://ok2/annee"),
            &m),
        0);
    assert_int_equal(m.num_urls, 2);
    assert_string_equal(m.urls[0], "http://ok/ann");
    assert_string_equal(m.urls[1], "https://ok2/ann");
    lt_tex_msg_free(&m);

    assert_int_equal(lt_tex_msg_parse(S("d5:added3:abce"), &m), SW_ERR_PROTOCOL);
    lt_tex_msg_free(&m);
    assert_int_equal(lt_tex_msg_parse(S("l5:addede"), &m), SW_ERR_PROTOCOL);
    lt_tex_msg_free(&m);
    assert_int_equal(lt_tex_msg_parse(S("d5:addedl"), &m), SW_ERR_PROTOCOL);
    lt_tex_msg_free(&m);
    assert_int_equal(lt_tex_msg_parse(S("de"), &m), 0);
    assert_int_equal(m.num_urls, 0);
}

static void test_lt_tex_hash(void **state)
{
    (void)state;
    /* SHA-1 of the sorted URLs concatenated. */
    const char *urls[] = {"udp://b/", "http://a/"};
    uint8_t h[20], expect[20];
    lt_tex_list_hash(urls, 2, h);
    sw_plugin_sha1("http://a/udp://b/", 17, expect);
    assert_memory_equal(h, expect, 20);
    /* The empty list hashes the empty string. */
    lt_tex_list_hash(urls, 0, h);
    sw_plugin_sha1("", 0, expect);
    assert_memory_equal(h, expect, 20);
    assert_true(lt_tex_url_ok("udp://x:1", 9));
    assert_false(lt_tex_url_ok("udp://", 6));
    assert_false(lt_tex_url_ok("http://a\x01", 9));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ut_metadata_parse),    cmocka_unit_test(test_ut_metadata_piece_len),
        cmocka_unit_test(test_ut_pex_round_trip),    cmocka_unit_test(test_ut_pex_malformed),
        cmocka_unit_test(test_ut_pex_caps_contacts), cmocka_unit_test(test_lt_tex_parse_and_build),
        cmocka_unit_test(test_lt_tex_hash),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
