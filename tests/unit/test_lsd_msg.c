/* BEP 14 announce messages: what we format parses back, announces as
 * other clients write them are read, and malformed datagrams are refused
 * without reading past their end. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <cmocka.h>

#include "session/lsd_msg.h"

#define HASH_A "0123456789abcdef0123456789abcdef01234567"
#define HASH_B "FEDCBA9876543210FEDCBA9876543210FEDCBA98"

static int parse_text(const char *text, sw_lsd_msg *m)
{
    /* An exact-size heap copy, so ASan catches a read past the end. */
    size_t n = strlen(text);
    uint8_t *copy = malloc(n ? n : 1);
    assert_non_null(copy);
    memcpy(copy, text, n);
    int rc = sw__lsd_parse(copy, n, m);
    free(copy);
    return rc;
}

static void test_round_trip(void **state)
{
    (void)state;
    sw_sha1 hashes[3];
    for (int i = 0; i < 3; i++)
        memset(hashes[i].v, 0x11 * (i + 1), 20);
    char buf[SW_LSD_MAX_MESSAGE];
    size_t len;
    assert_int_equal(sw__lsd_format(buf, sizeof buf, AF_INET, 6881, hashes, 3, "c00k1e", &len), 0);
    assert_non_null(strstr(buf, "Host: 239.192.152.143:6771\r\n"));
    sw_lsd_msg m;
    assert_int_equal(sw__lsd_parse((const uint8_t *)buf, len, &m), 0);
    assert_int_equal(m.port, 6881);
    assert_int_equal(m.num_hashes, 3);
    for (int i = 0; i < 3; i++)
        assert_memory_equal(m.hashes[i].v, hashes[i].v, 20);
    assert_true(m.has_cookie);
    assert_string_equal(m.cookie, "c00k1e");

    assert_int_equal(sw__lsd_format(buf, sizeof buf, AF_INET6, 1, hashes, 1, NULL, &len), 0);
    assert_non_null(strstr(buf, "Host: [ff15::efc0:988f]:6771\r\n"));
    assert_int_equal(sw__lsd_parse((const uint8_t *)buf, len, &m), 0);
    assert_false(m.has_cookie);
    assert_int_equal(m.port, 1);
}

static void test_most_hashes_fit(void **state)
{
    (void)state;
    sw_sha1 hashes[SW_LSD_MAX_HASHES];
    memset(hashes, 0xab, sizeof hashes);
    char cookie[SW_LSD_MAX_COOKIE + 1];
    memset(cookie, 'z', SW_LSD_MAX_COOKIE);
    cookie[SW_LSD_MAX_COOKIE] = '\0';
    char buf[SW_LSD_MAX_MESSAGE];
    size_t len;
    assert_int_equal(
        sw__lsd_format(buf, sizeof buf, AF_INET6, 65535, hashes, SW_LSD_MAX_HASHES, cookie, &len),
        0);
    assert_true(len <= SW_LSD_MAX_MESSAGE);
    sw_lsd_msg m;
    assert_int_equal(sw__lsd_parse((const uint8_t *)buf, len, &m), 0);
    assert_int_equal(m.num_hashes, SW_LSD_MAX_HASHES);
    /* Formatting refuses what it cannot send. */
    assert_int_equal(
        sw__lsd_format(buf, sizeof buf, AF_INET, 1, hashes, SW_LSD_MAX_HASHES + 1, NULL, &len),
        SW_ERR_INVALID_ARG);
    assert_int_equal(sw__lsd_format(buf, sizeof buf, AF_INET, 0, hashes, 1, NULL, &len),
                     SW_ERR_INVALID_ARG);
    assert_int_equal(sw__lsd_format(buf, sizeof buf, AF_INET, 1, hashes, 1, "a b", &len),
                     SW_ERR_INVALID_ARG);
    assert_int_equal(sw__lsd_format(buf, 40, AF_INET, 1, hashes, 1, NULL, &len), SW_ERR_LIMIT);
}

static void test_other_clients(void **state)
{
    (void)state;
    sw_lsd_msg m;
    /* Bare LF line ends, lower-case names, spaces, unknown headers, two
     * hashes in mixed case. */
    assert_int_equal(parse_text("BT-SEARCH * HTTP/1.1\n"
                                "host: 239.192.152.143:6771\n"
                                "X-Extra: whatever: it: says\n"
                                "port:   51413  \n"
                                "infohash: " HASH_A "\n"
                                "INFOHASH: " HASH_B "\n"
                                "\n\n",
                                &m),
                     0);
    assert_int_equal(m.port, 51413);
    assert_int_equal(m.num_hashes, 2);
    assert_int_equal(m.hashes[0].v[0], 0x01);
    assert_int_equal(m.hashes[1].v[0], 0xfe);
    assert_false(m.has_cookie);
    /* Only the first blank line matters. */
    assert_int_equal(parse_text("BT-SEARCH * HTTP/1.1\r\nPort: 1\r\nInfohash: " HASH_A
                                "\r\n\r\ngarbage after the headers",
                                &m),
                     0);
}

static void test_malformed(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "",
        "BT-SEARCH * HTTP/1.1",
        "BT-SEARCH * HTTP/1.1\r\n",
        "M-SEARCH * HTTP/1.1\r\nPort: 1\r\nInfohash: " HASH_A "\r\n\r\n",
        "BT-SEARCH * HTTP/1.0\r\nPort: 1\r\nInfohash: " HASH_A "\r\n\r\n",
        /* no end of the header block */
        "BT-SEARCH * HTTP/1.1\r\nPort: 1\r\nInfohash: " HASH_A "\r\n",
        "BT-SEARCH * HTTP/1.1\r\nPort: 1\r\nInfohash: " HASH_A,
        /* port missing, zero, too large, not a number, twice */
        "BT-SEARCH * HTTP/1.1\r\nInfohash: " HASH_A "\r\n\r\n",
        "BT-SEARCH * HTTP/1.1\r\nPort: 0\r\nInfohash: " HASH_A "\r\n\r\n",
        "BT-SEARCH * HTTP/1.1\r\nPort: 65536\r\nInfohash: " HASH_A "\r\n\r\n",
        "BT-SEARCH * HTTP/1.1\r\nPort: 999999\r\nInfohash: " HASH_A "\r\n\r\n",
        "BT-SEARCH * HTTP/1.1\r\nPort: -1\r\nInfohash: " HASH_A "\r\n\r\n",
        "BT-SEARCH * HTTP/1.1\r\nPort: 6a\r\nInfohash: " HASH_A "\r\n\r\n",
        "BT-SEARCH * HTTP/1.1\r\nPort:\r\nInfohash: " HASH_A "\r\n\r\n",
        "BT-SEARCH * HTTP/1.1\r\nPort: 1\r\nPort: 2\r\nInfohash: " HASH_A "\r\n\r\n",
        /* hash missing, short, long, not hex */
        "BT-SEARCH * HTTP/1.1\r\nPort: 1\r\n\r\n",
        "BT-SEARCH * HTTP/1.1\r\nPort: 1\r\nInfohash: 0123\r\n\r\n",
        "BT-SEARCH * HTTP/1.1\r\nPort: 1\r\nInfohash: " HASH_A "00\r\n\r\n",
        "BT-SEARCH * HTTP/1.1\r\nPort: 1\r\nInfohash: "
        "0123456789abcdef0123456789abcdef0123456g\r\n\r\n",
        /* a header line without a colon */
        "BT-SEARCH * HTTP/1.1\r\nPort 1\r\nInfohash: " HASH_A "\r\n\r\n",
        /* two cookies, an overlong cookie */
        "BT-SEARCH * HTTP/1.1\r\nPort: 1\r\nInfohash: " HASH_A "\r\ncookie: a\r\ncookie: b\r\n\r\n",
        "BT-SEARCH * HTTP/1.1\r\nPort: 1\r\nInfohash: " HASH_A
        "\r\ncookie: 0123456789012345678901234567890123456789012345678901234567890123456789"
        "\r\n\r\n",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        sw_lsd_msg m;
        int rc = parse_text(bad[i], &m);
        if (rc != SW_ERR_PROTOCOL)
            fail_msg("case %zu parsed (rc %d)", i, rc);
    }
}

static void test_limits(void **state)
{
    (void)state;
    sw_lsd_msg m;
    /* One hash more than a message may carry. */
    char text[SW_LSD_MAX_MESSAGE * 2];
    size_t used = (size_t)snprintf(text, sizeof text, "BT-SEARCH * HTTP/1.1\r\nPort: 1\r\n");
    for (int i = 0; i < SW_LSD_MAX_HASHES + 1; i++)
        used += (size_t)snprintf(text + used, sizeof text - used, "Infohash: " HASH_A "\r\n");
    snprintf(text + used, sizeof text - used, "\r\n");
    assert_int_equal(parse_text(text, &m), SW_ERR_PROTOCOL);
    /* A header line longer than any real one. */
    used = (size_t)snprintf(text, sizeof text, "BT-SEARCH * HTTP/1.1\r\nX: ");
    memset(text + used, 'x', 400);
    snprintf(text + used + 400, sizeof text - used - 400,
             "\r\nPort: 1\r\nInfohash: " HASH_A "\r\n\r\n");
    assert_int_equal(parse_text(text, &m), SW_ERR_PROTOCOL);
    /* A datagram larger than any announce. */
    uint8_t *big = calloc(1, SW_LSD_MAX_MESSAGE + 1);
    assert_non_null(big);
    assert_int_equal(sw__lsd_parse(big, SW_LSD_MAX_MESSAGE + 1, &m), SW_ERR_PROTOCOL);
    free(big);
    assert_int_equal(sw__lsd_parse(NULL, 0, &m), SW_ERR_INVALID_ARG);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip),    cmocka_unit_test(test_most_hashes_fit),
        cmocka_unit_test(test_other_clients), cmocka_unit_test(test_malformed),
        cmocka_unit_test(test_limits),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
