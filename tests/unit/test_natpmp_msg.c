/* NAT-PMP messages: requests as RFC 6886 lays them out, replies parsed
 * with bounds, malformed replies refused. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "session/natpmp_msg.h"

static int parse(const uint8_t *b, size_t n, sw_natpmp_reply *r)
{
    uint8_t *copy = malloc(n ? n : 1); /* exact size: ASan sees overreads */
    assert_non_null(copy);
    memcpy(copy, b, n);
    int rc = sw__natpmp_parse_reply(copy, n, r);
    free(copy);
    return rc;
}

static void test_requests(void **state)
{
    (void)state;
    uint8_t b[12];
    assert_int_equal(sw__natpmp_external_request(b), 2);
    assert_int_equal(b[0], 0);
    assert_int_equal(b[1], 0);
    assert_int_equal(sw__natpmp_map_request(b, SW_NATPMP_OP_MAP_TCP, 6881, 6882, 7200), 12);
    static const uint8_t want[12] = {0, 2, 0, 0, 0x1a, 0xe1, 0x1a, 0xe2, 0, 0, 0x1c, 0x20};
    assert_memory_equal(b, want, 12);
}

static void test_replies(void **state)
{
    (void)state;
    sw_natpmp_reply r;
    static const uint8_t ext[12] = {0, 128, 0, 0, 0, 0, 1, 0, 192, 0, 2, 1};
    assert_int_equal(parse(ext, 12, &r), 0);
    assert_int_equal(r.op, 0);
    assert_int_equal(r.result, 0);
    assert_int_equal(r.epoch, 256);
    assert_int_equal(r.external_ip[0], 192);
    assert_int_equal(r.external_ip[3], 1);
    static const uint8_t map[16] = {0, 129, 0, 0, 0, 0, 0, 9, 0x1a, 0xe1, 0x1a, 0xe2, 0, 0, 0, 60};
    assert_int_equal(parse(map, 16, &r), 0);
    assert_int_equal(r.op, 1);
    assert_int_equal(r.internal_port, 6881);
    assert_int_equal(r.external_port, 6882);
    assert_int_equal(r.lifetime, 60);
    /* An error reply may end after the epoch. */
    static const uint8_t err[8] = {0, 130, 0, 3, 0, 0, 0, 1};
    assert_int_equal(parse(err, 8, &r), 0);
    assert_int_equal(r.op, 2);
    assert_int_equal(r.result, 3);
    assert_string_equal(sw__natpmp_result_text(3), "network failure");
    assert_string_equal(sw__natpmp_result_text(99), "unknown result code");
}

static void test_malformed(void **state)
{
    (void)state;
    sw_natpmp_reply r;
    static const uint8_t cases[][16] = {
        {0, 128, 0, 0, 0, 0, 0, 0, 1, 2, 3, 4},          /* version 1 below */
        {0, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0},            /* a request, not a reply */
        {0, 131, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}, /* unknown op */
    };
    uint8_t v1[12];
    memcpy(v1, cases[0], 12);
    v1[0] = 1;
    assert_int_equal(parse(v1, 12, &r), SW_ERR_PROTOCOL);
    assert_int_equal(parse(cases[1], 12, &r), SW_ERR_PROTOCOL);
    assert_int_equal(parse(cases[2], 16, &r), SW_ERR_PROTOCOL);
    static const uint8_t ok_ext[12] = {0, 128, 0, 0, 0, 0, 0, 0, 1, 2, 3, 4};
    static const uint8_t ok_map[16] = {0, 129, 0, 0, 0, 0, 0, 0, 0, 1, 0, 1, 0, 0, 0, 1};
    /* Every truncation of a success reply is refused. */
    for (size_t n = 0; n < 12; n++)
        assert_int_equal(parse(ok_ext, n, &r), SW_ERR_PROTOCOL);
    for (size_t n = 0; n < 16; n++)
        assert_int_equal(parse(ok_map, n, &r), SW_ERR_PROTOCOL);
    /* An error reply cut inside its optional fields is refused too. */
    static const uint8_t err_map[12] = {0, 129, 0, 2, 0, 0, 0, 0, 0, 1, 0, 1};
    assert_int_equal(parse(err_map, 12, &r), SW_ERR_PROTOCOL);
    assert_int_equal(sw__natpmp_parse_reply(NULL, 0, &r), SW_ERR_INVALID_ARG);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_requests),
        cmocka_unit_test(test_replies),
        cmocka_unit_test(test_malformed),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
