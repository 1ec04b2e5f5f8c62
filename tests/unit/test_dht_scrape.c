/* Unit tests for the BEP 33 scrape bloom filters (core/dht/scrape_bloom.c):
 * the BEP's test vector (192.0.2.0-255 and 2001:db8::-2001:db8::3e7 give
 * a known filter and an estimate of 1224.9308), ports ignored, unions, and
 * the bounds of the estimate (empty and full filters). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <arpa/inet.h>

#include <cmocka.h>

#include "dht/dht_internal.h"

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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_vector),
        cmocka_unit_test(test_ports_and_unions),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
