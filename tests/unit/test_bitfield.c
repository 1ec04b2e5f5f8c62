/* Unit tests for core/base/bitfield: bit access, cached count, wire bytes
 * and their spare-bit check, have-all/have-none hints, searches. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "base/base.h"

static void test_set_get_count(void **state)
{
    (void)state;
    sw_bitfield bf;
    assert_int_equal(sw__bitfield_init_size(&bf, 21), 0);
    assert_int_equal(bf.size, 21);
    assert_true(sw__bitfield_none(&bf));
    assert_false(sw__bitfield_all(&bf));
    sw__bitfield_set(&bf, 0);
    sw__bitfield_set(&bf, 7);
    sw__bitfield_set(&bf, 8);
    sw__bitfield_set(&bf, 20);
    sw__bitfield_set(&bf, 20); /* again: count must not change */
    sw__bitfield_set(&bf, 21); /* out of range: ignored */
    assert_int_equal(sw__bitfield_count(&bf), 4);
    assert_true(sw__bitfield_get(&bf, 0));
    assert_true(sw__bitfield_get(&bf, 7));
    assert_true(sw__bitfield_get(&bf, 8));
    assert_false(sw__bitfield_get(&bf, 9));
    assert_true(sw__bitfield_get(&bf, 20));
    assert_false(sw__bitfield_get(&bf, 21));
    /* Wire layout: high bit first. */
    assert_int_equal(bf.bits[0], 0x81);
    assert_int_equal(bf.bits[1], 0x80);
    assert_int_equal(bf.bits[2], 0x08);
    sw__bitfield_clear(&bf, 7);
    sw__bitfield_clear(&bf, 7);
    assert_int_equal(sw__bitfield_count(&bf), 3);
    assert_true(sw__bitfield_is_valid(&bf));
    sw__bitfield_set_all(&bf);
    assert_true(sw__bitfield_all(&bf));
    assert_int_equal(sw__bitfield_count(&bf), 21);
    assert_int_equal(bf.bits[2], 0xF8); /* spare bits stay zero */
    assert_true(sw__bitfield_is_valid(&bf));
    sw__bitfield_clear_all(&bf);
    assert_true(sw__bitfield_none(&bf));
    assert_true(sw__bitfield_is_valid(&bf));
    sw__bitfield_free(&bf);
    assert_null(bf.bits);
}

static void test_raw_roundtrip_and_spare_bits(void **state)
{
    (void)state;
    sw_bitfield bf;
    sw__bitfield_init(&bf);
    const uint8_t good[2] = {0xA5, 0xC0}; /* 10 pieces: last byte uses 2 bits */
    assert_int_equal(sw__bitfield_from_raw(&bf, good, 2, 10), 0);
    assert_int_equal(bf.size, 10);
    assert_int_equal(sw__bitfield_count(&bf), 6);
    assert_true(sw__bitfield_get(&bf, 9));
    uint8_t out[2];
    sw__bitfield_to_raw(&bf, out);
    assert_memory_equal(out, good, 2);

    /* Spare bit set: protocol error, bitfield untouched. */
    const uint8_t spare[2] = {0xA5, 0xE0};
    assert_int_equal(sw__bitfield_from_raw(&bf, spare, 2, 10), SW_ERR_PROTOCOL);
    const uint8_t lowest_spare[2] = {0x00, 0x01};
    assert_int_equal(sw__bitfield_from_raw(&bf, lowest_spare, 2, 10), SW_ERR_PROTOCOL);
    assert_int_equal(sw__bitfield_count(&bf), 6);
    /* Wrong length either way. */
    assert_int_equal(sw__bitfield_from_raw(&bf, good, 1, 10), SW_ERR_PROTOCOL);
    const uint8_t three[3] = {0, 0, 0};
    assert_int_equal(sw__bitfield_from_raw(&bf, three, 3, 10), SW_ERR_PROTOCOL);
    assert_int_equal(sw__bitfield_from_raw(&bf, good, 2, 0), SW_ERR_INVALID_ARG);
    /* A multiple of 8 has no spare bits. */
    const uint8_t full[2] = {0xFF, 0xFF};
    assert_int_equal(sw__bitfield_from_raw(&bf, full, 2, 16), 0);
    assert_true(sw__bitfield_all(&bf));
    assert_true(sw__bitfield_is_valid(&bf));
    sw__bitfield_free(&bf);
}

static void test_hints_before_size(void **state)
{
    (void)state;
    sw_bitfield bf;
    sw__bitfield_init(&bf);
    /* Nothing known yet. */
    assert_true(sw__bitfield_none(&bf));
    assert_false(sw__bitfield_all(&bf));
    sw__bitfield_set_all(&bf); /* HaveAll from a magnet peer */
    assert_true(sw__bitfield_all(&bf));
    assert_false(sw__bitfield_none(&bf));
    assert_true(sw__bitfield_get(&bf, 12345));
    assert_int_equal(sw__bitfield_resize(&bf, 13), 0);
    assert_int_equal(sw__bitfield_count(&bf), 13);
    assert_true(sw__bitfield_all(&bf));
    assert_true(sw__bitfield_is_valid(&bf));
    sw__bitfield_free(&bf);

    sw__bitfield_init(&bf);
    sw__bitfield_clear_all(&bf); /* HaveNone */
    assert_true(sw__bitfield_none(&bf));
    assert_false(sw__bitfield_get(&bf, 0));
    assert_int_equal(bf.hint, SW_BITFIELD_HINT_HAVE_NONE);
    assert_int_equal(sw__bitfield_resize(&bf, 9), 0);
    assert_true(sw__bitfield_none(&bf));
    assert_int_equal(bf.hint, SW_BITFIELD_HINT_NONE_KNOWN);
    sw__bitfield_free(&bf);
}

static void test_resize_keeps_bits(void **state)
{
    (void)state;
    sw_bitfield bf;
    assert_int_equal(sw__bitfield_init_size(&bf, 16), 0);
    sw__bitfield_set(&bf, 3);
    sw__bitfield_set(&bf, 10);
    sw__bitfield_set(&bf, 15);
    assert_int_equal(sw__bitfield_resize(&bf, 11), 0); /* drops bit 15 */
    assert_int_equal(sw__bitfield_count(&bf), 2);
    assert_true(sw__bitfield_get(&bf, 10));
    assert_true(sw__bitfield_is_valid(&bf));
    assert_int_equal(sw__bitfield_resize(&bf, 40), 0);
    assert_int_equal(sw__bitfield_count(&bf), 2);
    assert_false(sw__bitfield_get(&bf, 15)); /* cleared by the shrink */
    assert_true(sw__bitfield_is_valid(&bf));

    sw_bitfield copy;
    sw__bitfield_init(&copy);
    assert_int_equal(sw__bitfield_copy(&copy, &bf), 0);
    assert_int_equal(copy.size, 40);
    assert_int_equal(sw__bitfield_count(&copy), 2);
    sw__bitfield_set(&copy, 39);
    assert_false(sw__bitfield_get(&bf, 39)); /* deep copy */
    sw__bitfield_free(&copy);
    sw__bitfield_free(&bf);
}

static void test_find_next(void **state)
{
    (void)state;
    sw_bitfield bf;
    assert_int_equal(sw__bitfield_init_size(&bf, 100), 0);
    uint32_t at = 0;
    assert_false(sw__bitfield_find_next_set(&bf, 0, &at));
    assert_true(sw__bitfield_find_next_clear(&bf, 0, &at));
    assert_int_equal(at, 0);
    sw__bitfield_set(&bf, 42);
    sw__bitfield_set(&bf, 99);
    assert_true(sw__bitfield_find_next_set(&bf, 0, &at));
    assert_int_equal(at, 42);
    assert_true(sw__bitfield_find_next_set(&bf, 42, &at));
    assert_int_equal(at, 42);
    assert_true(sw__bitfield_find_next_set(&bf, 43, &at));
    assert_int_equal(at, 99);
    assert_false(sw__bitfield_find_next_set(&bf, 100, &at));
    sw__bitfield_set_all(&bf);
    assert_false(sw__bitfield_find_next_clear(&bf, 0, &at));
    sw__bitfield_clear(&bf, 64);
    sw__bitfield_clear(&bf, 97);
    assert_true(sw__bitfield_find_next_clear(&bf, 1, &at));
    assert_int_equal(at, 64);
    assert_true(sw__bitfield_find_next_clear(&bf, 65, &at));
    assert_int_equal(at, 97);
    assert_false(sw__bitfield_find_next_clear(&bf, 98, &at));
    sw__bitfield_free(&bf);
}

static void test_count_range_matches_naive(void **state)
{
    (void)state;
    sw_bitfield bf;
    assert_int_equal(sw__bitfield_init_size(&bf, 203), 0);
    uint32_t seed = 12345;
    for (uint32_t i = 0; i < 203; i++) {
        seed = seed * 1103515245u + 12345u;
        if ((seed >> 16) & 1)
            sw__bitfield_set(&bf, i);
    }
    for (uint32_t b = 0; b <= 203; b += 3) {
        for (uint32_t e = b; e <= 210; e += 5) {
            uint32_t naive = 0;
            for (uint32_t i = b; i < e && i < 203; i++)
                naive += sw__bitfield_get(&bf, i) ? 1 : 0;
            assert_int_equal(sw__bitfield_count_range(&bf, b, e), naive);
        }
    }
    assert_int_equal(sw__bitfield_count_range(&bf, 0, 203), sw__bitfield_count(&bf));
    assert_int_equal(sw__bitfield_count_range(&bf, 50, 10), 0);
    sw__bitfield_free(&bf);
}

static void test_is_valid_detects_corruption(void **state)
{
    (void)state;
    sw_bitfield bf;
    assert_int_equal(sw__bitfield_init_size(&bf, 12), 0);
    assert_true(sw__bitfield_is_valid(&bf));
    bf.bits[1] |= 0x01; /* a spare bit */
    assert_false(sw__bitfield_is_valid(&bf));
    bf.bits[1] = 0x80;
    assert_false(sw__bitfield_is_valid(&bf)); /* count not updated */
    bf.count = 1;
    assert_true(sw__bitfield_is_valid(&bf));
    sw__bitfield_free(&bf);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_set_get_count),
        cmocka_unit_test(test_raw_roundtrip_and_spare_bits),
        cmocka_unit_test(test_hints_before_size),
        cmocka_unit_test(test_resize_keeps_bits),
        cmocka_unit_test(test_find_next),
        cmocka_unit_test(test_count_range_matches_naive),
        cmocka_unit_test(test_is_valid_detects_corruption),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
