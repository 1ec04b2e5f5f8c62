/* Unit tests for the IP and port filters (core/filter): rules that overlap,
 * split and merge ranges, IPv4 and IPv6 kept apart, IPv4-mapped lookups,
 * the minimal export, cloning, the port filter, and the range-list loader
 * with valid lines of each format and malformed ones. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <cswarm/ip_filter.h>

#include "filter/filter.h"

static uint32_t access_of(const sw_ip_filter *f, const char *addr)
{
    uint32_t flags = 0xdead;
    assert_int_equal(sw_ip_filter_access(f, addr, &flags), 0);
    return flags;
}

static sw_ip_filter *new_filter(void)
{
    sw_ip_filter *f = NULL;
    assert_int_equal(sw_ip_filter_new(&f), 0);
    return f;
}

/* Exports family and checks it against "first-last=flags" strings. */
static void expect_export(const sw_ip_filter *f, int family, const char *const *want, size_t n)
{
    sw_ip_range *r = NULL;
    size_t count = 0;
    assert_int_equal(sw_ip_filter_export(f, family, &r, &count), 0);
    assert_int_equal(count, n);
    for (size_t i = 0; i < n; i++) {
        char buf[128];
        snprintf(buf, sizeof buf, "%s-%s=%u", r[i].first_str, r[i].last_str, r[i].flags);
        assert_string_equal(buf, want[i]);
        assert_int_equal(r[i].family, family);
    }
    free(r);
}

static void test_default_allows_all(void **state)
{
    (void)state;
    sw_ip_filter *f = new_filter();
    assert_int_equal(access_of(f, "0.0.0.0"), 0);
    assert_int_equal(access_of(f, "255.255.255.255"), 0);
    assert_int_equal(access_of(f, "::"), 0);
    assert_true(sw__ip_filter_is_empty(f));
    static const char *const v4[] = {"0.0.0.0-255.255.255.255=0"};
    expect_export(f, 4, v4, 1);
    static const char *const v6[] = {"::-ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff=0"};
    expect_export(f, 6, v6, 1);
    sw_ip_filter_free(f);
}

static void test_overlaps_and_merges(void **state)
{
    (void)state;
    sw_ip_filter *f = new_filter();
    assert_int_equal(sw_ip_filter_add_rule(f, "10.0.0.0", "10.0.0.255", SW_FILTER_BLOCKED), 0);
    assert_int_equal(access_of(f, "9.255.255.255"), 0);
    assert_int_equal(access_of(f, "10.0.0.0"), SW_FILTER_BLOCKED);
    assert_int_equal(access_of(f, "10.0.0.255"), SW_FILTER_BLOCKED);
    assert_int_equal(access_of(f, "10.0.1.0"), 0);
    assert_false(sw__ip_filter_is_empty(f));

    /* A hole punched in the middle splits the range in two. */
    assert_int_equal(sw_ip_filter_add_rule(f, "10.0.0.100", "10.0.0.199", 0), 0);
    static const char *const split[] = {
        "0.0.0.0-9.255.255.255=0", "10.0.0.0-10.0.0.99=1",       "10.0.0.100-10.0.0.199=0",
        "10.0.0.200-10.0.0.255=1", "10.0.1.0-255.255.255.255=0",
    };
    expect_export(f, 4, split, 5);

    /* Overlapping the hole and beyond, blocked again: all merges back. */
    assert_int_equal(sw_ip_filter_add_rule(f, "10.0.0.50", "10.0.0.220", SW_FILTER_BLOCKED), 0);
    static const char *const merged[] = {"0.0.0.0-9.255.255.255=0", "10.0.0.0-10.0.0.255=1",
                                         "10.0.1.0-255.255.255.255=0"};
    expect_export(f, 4, merged, 3);

    /* Adjacent ranges with the same flags become one. */
    assert_int_equal(sw_ip_filter_add_rule(f, "10.0.1.0", "10.0.1.255", SW_FILTER_BLOCKED), 0);
    static const char *const adjacent[] = {"0.0.0.0-9.255.255.255=0", "10.0.0.0-10.0.1.255=1",
                                           "10.0.2.0-255.255.255.255=0"};
    expect_export(f, 4, adjacent, 3);

    /* A rule covering everything replaces every range; the last rule wins. */
    assert_int_equal(sw_ip_filter_add_rule(f, "0.0.0.0", "255.255.255.255", 0), 0);
    static const char *const all[] = {"0.0.0.0-255.255.255.255=0"};
    expect_export(f, 4, all, 1);
    assert_true(sw__ip_filter_is_empty(f));

    /* Edges: the very first and last addresses. */
    assert_int_equal(sw_ip_filter_add_rule(f, "255.255.255.255", "255.255.255.255", 1), 0);
    assert_int_equal(sw_ip_filter_add_rule(f, "0.0.0.0", "0.0.0.0", 1), 0);
    assert_int_equal(access_of(f, "255.255.255.255"), 1);
    assert_int_equal(access_of(f, "255.255.255.254"), 0);
    assert_int_equal(access_of(f, "0.0.0.0"), 1);
    assert_int_equal(access_of(f, "0.0.0.1"), 0);
    sw_ip_filter_free(f);
}

static void test_v4_v6_apart(void **state)
{
    (void)state;
    sw_ip_filter *f = new_filter();
    assert_int_equal(sw_ip_filter_add_rule(f, "2001:db8::", "2001:db8::ffff", 1), 0);
    assert_int_equal(sw_ip_filter_add_rule(f, "127.0.0.2", "127.0.0.2", 1), 0);
    assert_int_equal(access_of(f, "2001:db8::1"), 1);
    assert_int_equal(access_of(f, "2001:db8::1:0"), 0);
    assert_int_equal(access_of(f, "2001:db7:ffff:ffff:ffff:ffff:ffff:ffff"), 0);
    assert_int_equal(access_of(f, "127.0.0.2"), 1);
    assert_int_equal(access_of(f, "127.0.0.1"), 0);
    /* An IPv4-mapped IPv6 address is the IPv4 address. */
    assert_int_equal(access_of(f, "::ffff:127.0.0.2"), 1);
    assert_int_equal(access_of(f, "::ffff:127.0.0.1"), 0);
    static const char *const v6[] = {"::-2001:db7:ffff:ffff:ffff:ffff:ffff:ffff=0",
                                     "2001:db8::-2001:db8::ffff=1",
                                     "2001:db8::1:0-ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff=0"};
    expect_export(f, 6, v6, 3);
    /* A rule carrying into the high word of the key. */
    assert_int_equal(sw_ip_filter_add_rule(f, "::ffff:ffff:ffff:ffff", "::1:0:0:0:0", 1), 0);
    assert_int_equal(access_of(f, "::1:0:0:0:0"), 1);
    assert_int_equal(access_of(f, "::ffff:ffff:ffff:fffe"), 0);
    assert_int_equal(access_of(f, "::1:0:0:0:1"), 0);

    /* Mixed families, reversed and bad addresses are refused. */
    assert_int_equal(sw_ip_filter_add_rule(f, "1.2.3.4", "::1", 1), SW_ERR_INVALID_ARG);
    assert_int_equal(sw_ip_filter_add_rule(f, "1.2.3.5", "1.2.3.4", 1), SW_ERR_INVALID_ARG);
    assert_int_equal(sw_ip_filter_add_rule(f, "1.2.3", "1.2.3.4", 1), SW_ERR_INVALID_ARG);
    assert_int_equal(sw_ip_filter_add_rule(NULL, "1.2.3.4", "1.2.3.4", 1), SW_ERR_INVALID_ARG);
    uint32_t fl;
    assert_int_equal(sw_ip_filter_access(f, "nonsense", &fl), SW_ERR_INVALID_ARG);
    uint8_t a[4] = {1, 2, 3, 4};
    assert_int_equal(sw_ip_filter_add_rule_bytes(f, 5, a, a, 1), SW_ERR_INVALID_ARG);

    /* A clone is independent. */
    sw_ip_filter *c = NULL;
    assert_int_equal(sw_ip_filter_clone(f, &c), 0);
    assert_int_equal(sw_ip_filter_add_rule(c, "127.0.0.2", "127.0.0.2", 0), 0);
    assert_int_equal(access_of(c, "127.0.0.2"), 0);
    assert_int_equal(access_of(f, "127.0.0.2"), 1);
    assert_int_equal(access_of(c, "2001:db8::1"), 1);
    sw_ip_filter_free(c);
    sw_ip_filter_free(f);
}

/* Many random rules against a plain array model of a small key space. */
static void test_random_against_model(void **state)
{
    (void)state;
    sw_range_key max = {0, 255};
    sw_range_map m;
    assert_int_equal(sw__range_map_init(&m, max), 0);
    uint32_t model[256] = {0};
    srand(12345);
    for (int round = 0; round < 3000; round++) {
        unsigned a = (unsigned)rand() % 256, b = (unsigned)rand() % 256;
        if (a > b) {
            unsigned t = a;
            a = b;
            b = t;
        }
        uint32_t flags = (uint32_t)rand() % 3;
        sw_range_key ka = {0, a}, kb = {0, b};
        assert_int_equal(sw__range_map_add(&m, ka, kb, flags), 0);
        for (unsigned k = a; k <= b; k++)
            model[k] = flags;
        /* Canonical: starts ascending from 0, neighbours differ. */
        assert_true(m.v[0].start.lo == 0 && m.v[0].start.hi == 0);
        for (size_t i = 1; i < m.n; i++) {
            assert_true(sw__range_key_cmp(m.v[i - 1].start, m.v[i].start) < 0);
            assert_true(m.v[i - 1].flags != m.v[i].flags);
        }
        if (round % 50 == 0) {
            for (unsigned k = 0; k < 256; k++) {
                sw_range_key kk = {0, k};
                assert_int_equal(sw__range_map_access(&m, kk), model[k]);
            }
        }
    }
    sw_range_key past = {0, 256}, zero = {0, 0};
    assert_int_equal(sw__range_map_add(&m, zero, past, 1), SW_ERR_INVALID_ARG);
    sw__range_map_free(&m);
}

static void test_port_filter(void **state)
{
    (void)state;
    sw_port_filter *p = NULL;
    assert_int_equal(sw_port_filter_new(&p), 0);
    uint32_t fl = 9;
    assert_int_equal(sw_port_filter_access(p, 25, &fl), 0);
    assert_int_equal(fl, 0);
    assert_int_equal(sw_port_filter_add_rule(p, 0, 1023, SW_FILTER_BLOCKED), 0);
    assert_int_equal(sw_port_filter_add_rule(p, 80, 80, 0), 0);
    assert_int_equal(sw_port_filter_access(p, 25, &fl), 0);
    assert_int_equal(fl, SW_FILTER_BLOCKED);
    assert_int_equal(sw_port_filter_access(p, 80, &fl), 0);
    assert_int_equal(fl, 0);
    assert_int_equal(sw_port_filter_access(p, 1024, &fl), 0);
    assert_int_equal(fl, 0);
    assert_int_equal(sw_port_filter_add_rule(p, 65535, 65535, 1), 0);
    assert_int_equal(sw_port_filter_access(p, 65535, &fl), 0);
    assert_int_equal(fl, 1);
    assert_int_equal(sw_port_filter_add_rule(p, 10, 9, 1), SW_ERR_INVALID_ARG);
    sw_port_range *r = NULL;
    size_t n = 0;
    assert_int_equal(sw_port_filter_export(p, &r, &n), 0);
    assert_int_equal(n, 5);
    static const uint16_t want[5][3] = {
        {0, 79, 1}, {80, 80, 0}, {81, 1023, 1}, {1024, 65534, 0}, {65535, 65535, 1}};
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(r[i].first, want[i][0]);
        assert_int_equal(r[i].last, want[i][1]);
        assert_int_equal(r[i].flags, want[i][2]);
    }
    free(r);
    sw_port_filter *c = NULL;
    assert_int_equal(sw_port_filter_clone(p, &c), 0);
    assert_int_equal(sw_port_filter_access(c, 25, &fl), 0);
    assert_int_equal(fl, 1);
    sw_port_filter_free(c);
    sw_port_filter_free(p);
}

static int parse(const char *line, sw_ip_rule *r)
{
    return sw__ip_filter_parse_line(line, strlen(line), r);
}

static void test_parse_valid_lines(void **state)
{
    (void)state;
    sw_ip_rule r;
    assert_int_equal(parse("001.009.096.105 - 001.009.096.105 , 000 , Some Org", &r), 1);
    assert_int_equal(r.family, 4);
    assert_int_equal(r.flags, SW_FILTER_BLOCKED);
    assert_memory_equal(r.first, ((uint8_t[]){1, 9, 96, 105}), 4);
    assert_int_equal(parse("1.2.3.0-1.2.3.255,200,allowed", &r), 1);
    assert_int_equal(r.flags, 0);
    assert_int_equal(parse("1.2.3.0 - 1.2.3.255 , 127", &r), 1);
    assert_int_equal(r.flags, SW_FILTER_BLOCKED);
    assert_int_equal(parse("2001:db8:: - 2001:db8::ff , 0 , v6 range\r", &r), 1);
    assert_int_equal(r.family, 6);
    assert_int_equal(parse("Evil Corp: sub:net:1.2.4.0-1.2.4.255", &r), 1);
    assert_int_equal(r.family, 4);
    assert_memory_equal(r.first, ((uint8_t[]){1, 2, 4, 0}), 4);
    assert_memory_equal(r.last, ((uint8_t[]){1, 2, 4, 255}), 4);
    assert_int_equal(r.flags, SW_FILTER_BLOCKED);
    assert_int_equal(parse("  10.0.0.1 - 10.0.0.9  ", &r), 1);
    assert_int_equal(parse("::1-::2", &r), 1);
    assert_int_equal(r.family, 6);
    assert_int_equal(parse("", &r), 0);
    assert_int_equal(parse("   \t\r", &r), 0);
    assert_int_equal(parse("# comment 1.2.3.4 - 1.2.3.5", &r), 0);
    assert_int_equal(parse("// comment", &r), 0);
}

static void test_parse_malformed_lines(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "1.2.3.4",                     /* no range */
        "1.2.3.4 -",                   /* no last */
        "- 1.2.3.4",                   /* no first */
        "1.2.3.256 - 1.2.3.4",         /* octet too large */
        "1.2.3.4 - 1.2.3.0",           /* reversed */
        "1.2.3 - 1.2.3.4",             /* three octets */
        "1.2.3.4.5 - 1.2.3.6",         /* five octets */
        "0001.2.3.4 - 1.2.3.5",        /* four digits */
        "1..3.4 - 1.2.3.5",            /* empty octet */
        "1.2.3.4 - ::1",               /* mixed families */
        "1.2.3.4 - 1.2.3.5 , abc , x", /* level not a number */
        "1.2.3.4 - 1.2.3.5 , 256 , x", /* level out of range */
        "1.2.3.4 - 1.2.3.5 , , x",     /* empty level */
        "1.2.3.4 - 1.2.3.5 , -1",      /* negative level */
        "name:1.2.3.4",                /* P2P without a range */
        "name:::1-::2",                /* P2P is IPv4 only */
        "name:1.2.3.4-1.2.3.x",        /* bad last */
        ":",                           /* only a colon */
        ",",                           /* only a comma */
        "-",                           /* only a dash */
        "1.2.3.4 + 1.2.3.5",           /* wrong separator */
        "gggg::1 - gggg::2",           /* bad IPv6 */
        "1.2.3.4\0 - 1.2.3.5",         /* stops at the NUL: no range */
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        sw_ip_rule r;
        int rc = parse(bad[i], &r);
        if (rc != SW_ERR_INVALID_ARG)
            fail_msg("line accepted: \"%s\" (%d)", bad[i], rc);
    }
    /* Too long, and an IPv6 text longer than any address. */
    char big[SW_IP_FILTER_MAX_LINE + 2];
    memset(big, ' ', sizeof big);
    memcpy(big, "1.2.3.4-1.2.3.5", 15);
    sw_ip_rule r;
    assert_int_equal(sw__ip_filter_parse_line(big, sizeof big, &r), SW_ERR_INVALID_ARG);
    assert_int_equal(sw__ip_filter_parse_line(big, SW_IP_FILTER_MAX_LINE, &r), 1);
    char v6[200];
    snprintf(v6, sizeof v6, "%s - ::1", "0000:0000:0000:0000:0000:0000:0000:0000:0000:0000:0000");
    assert_int_equal(parse(v6, &r), SW_ERR_INVALID_ARG);
    /* Not NUL-terminated: only len bytes are read. */
    const char text[] = "1.2.3.4-1.2.3.59";
    assert_int_equal(sw__ip_filter_parse_line(text, 15, &r), 1);
    assert_int_equal(r.last[3], 5);
}

static void test_load_file(void **state)
{
    (void)state;
    const char text[] = "# a blocklist\n"
                        "010.000.000.000 - 010.255.255.255 , 000 , private\r\n"
                        "10.1.0.0 - 10.1.255.255 , 200 , allowed hole\n"
                        "garbage line\n"
                        "Bad People:192.168.5.0-192.168.5.255\n"
                        "\n"
                        "fe80:: - fe80::ffff , 50 , link local\n"
                        "1.2.3.4 - 1.2.3.3 , 0 , reversed\n"
                        "172.16.0.1 - 172.16.0.9"; /* no final newline */
    sw_ip_filter *f = new_filter();
    sw_ip_filter_load_result res;
    assert_int_equal(sw_ip_filter_load(f, text, sizeof text - 1, &res), 0);
    assert_int_equal(res.rules, 5);
    assert_int_equal(res.malformed, 2);
    assert_int_equal(res.first_bad_line, 4);
    assert_int_equal(access_of(f, "10.0.0.1"), 1);
    assert_int_equal(access_of(f, "10.1.2.3"), 0); /* the later line wins */
    assert_int_equal(access_of(f, "10.2.0.0"), 1);
    assert_int_equal(access_of(f, "192.168.5.77"), 1);
    assert_int_equal(access_of(f, "192.168.6.0"), 0);
    assert_int_equal(access_of(f, "fe80::abcd"), 1);
    assert_int_equal(access_of(f, "172.16.0.9"), 1);
    assert_int_equal(access_of(f, "172.16.0.10"), 0);
    assert_int_equal(access_of(f, "1.2.3.4"), 0);
    assert_int_equal(sw_ip_filter_load(f, NULL, 0, NULL), 0);
    assert_int_equal(sw_ip_filter_load(f, NULL, 3, NULL), SW_ERR_INVALID_ARG);
    sw_ip_filter_free(f);
}

/* A large, unordered list of blocked ranges loads quickly and merges. */
static void test_load_many(void **state)
{
    (void)state;
    size_t n = 100000;
    char *text = malloc(n * 40);
    assert_non_null(text);
    size_t len = 0;
    for (size_t i = 0; i < n; i++) {
        size_t k = (i * 7919) % n; /* every k once, out of order */
        unsigned a = (unsigned)(k * 4);
        len += (size_t)sprintf(text + len, "x:%u.%u.%u.%u-%u.%u.%u.%u\n", 20 + (a >> 16),
                               (a >> 8) & 255, a & 255, 0, 20 + (a >> 16), (a >> 8) & 255, a & 255,
                               127);
    }
    sw_ip_filter *f = new_filter();
    sw_ip_filter_load_result res;
    assert_int_equal(sw_ip_filter_load(f, text, len, &res), 0);
    assert_int_equal(res.rules, n);
    assert_int_equal(res.malformed, 0);
    /* Each line blocks the lower half of a /24: none merge. */
    assert_int_equal(f->v4.n, 2 * n + 1);
    assert_int_equal(access_of(f, "20.0.0.5"), 1);
    assert_int_equal(access_of(f, "20.0.0.128"), 0);
    free(text);
    sw_ip_filter_free(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_default_allows_all),
        cmocka_unit_test(test_overlaps_and_merges),
        cmocka_unit_test(test_v4_v6_apart),
        cmocka_unit_test(test_random_against_model),
        cmocka_unit_test(test_port_filter),
        cmocka_unit_test(test_parse_valid_lines),
        cmocka_unit_test(test_parse_malformed_lines),
        cmocka_unit_test(test_load_file),
        cmocka_unit_test(test_load_many),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
