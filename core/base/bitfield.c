#include "bitfield.h"

#include <stdlib.h>
#include <string.h>

#include <cswarm/error.h>

/* Mask of the bits of the last byte that lie inside `size` bits. */
static uint8_t last_byte_mask(uint32_t size)
{
    unsigned used = size % 8;
    return used == 0 ? 0xFF : (uint8_t)(0xFF << (8 - used));
}

static uint32_t popcount_bytes(const uint8_t *p, size_t n)
{
    uint32_t total = 0;
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        uint64_t w;
        memcpy(&w, p + i, sizeof w);
        total += (uint32_t)__builtin_popcountll(w);
    }
    for (; i < n; i++)
        total += (uint32_t)__builtin_popcount(p[i]);
    return total;
}

void sw__bitfield_init(sw_bitfield *bf)
{
    memset(bf, 0, sizeof *bf);
}

int sw__bitfield_init_size(sw_bitfield *bf, uint32_t size)
{
    sw__bitfield_init(bf);
    return sw__bitfield_resize(bf, size);
}

void sw__bitfield_free(sw_bitfield *bf)
{
    free(bf->bits);
    sw__bitfield_init(bf);
}

int sw__bitfield_resize(sw_bitfield *bf, uint32_t size)
{
    if (size == bf->size)
        return 0;
    size_t old_len = sw__bitfield_raw_len(bf->size);
    size_t new_len = sw__bitfield_raw_len(size);
    uint8_t *bits = NULL;
    if (new_len > 0) {
        bits = calloc(new_len, 1);
        if (!bits)
            return SW_ERR_NOMEM;
        size_t keep = old_len < new_len ? old_len : new_len;
        if (keep > 0)
            memcpy(bits, bf->bits, keep);
    }
    uint8_t hint = bf->hint;
    bool was_unknown = bf->size == 0;
    free(bf->bits);
    bf->bits = bits;
    bf->size = size;
    bf->hint = SW_BITFIELD_HINT_NONE_KNOWN;
    if (new_len > 0)
        bits[new_len - 1] &= last_byte_mask(size);
    bf->count = popcount_bytes(bits, new_len);
    if (was_unknown && size > 0 && hint == SW_BITFIELD_HINT_HAVE_ALL)
        sw__bitfield_set_all(bf);
    else if (size == 0)
        bf->hint = hint;
    return 0;
}

int sw__bitfield_copy(sw_bitfield *dst, const sw_bitfield *src)
{
    if (dst == src)
        return 0;
    size_t len = sw__bitfield_raw_len(src->size);
    uint8_t *bits = NULL;
    if (len > 0) {
        bits = malloc(len);
        if (!bits)
            return SW_ERR_NOMEM;
        memcpy(bits, src->bits, len);
    }
    free(dst->bits);
    *dst = *src;
    dst->bits = bits;
    return 0;
}

bool sw__bitfield_get(const sw_bitfield *bf, uint32_t index)
{
    if (bf->size == 0)
        return bf->hint == SW_BITFIELD_HINT_HAVE_ALL;
    if (index >= bf->size)
        return false;
    return (bf->bits[index / 8] & (0x80 >> (index % 8))) != 0;
}

void sw__bitfield_set(sw_bitfield *bf, uint32_t index)
{
    if (index >= bf->size)
        return;
    uint8_t bit = (uint8_t)(0x80 >> (index % 8));
    if (!(bf->bits[index / 8] & bit)) {
        bf->bits[index / 8] |= bit;
        bf->count++;
    }
}

void sw__bitfield_clear(sw_bitfield *bf, uint32_t index)
{
    if (index >= bf->size)
        return;
    uint8_t bit = (uint8_t)(0x80 >> (index % 8));
    if (bf->bits[index / 8] & bit) {
        bf->bits[index / 8] &= (uint8_t)~bit;
        bf->count--;
    }
}

void sw__bitfield_set_all(sw_bitfield *bf)
{
    if (bf->size == 0) {
        bf->hint = SW_BITFIELD_HINT_HAVE_ALL;
        return;
    }
    size_t len = sw__bitfield_raw_len(bf->size);
    memset(bf->bits, 0xFF, len);
    bf->bits[len - 1] = last_byte_mask(bf->size);
    bf->count = bf->size;
}

void sw__bitfield_clear_all(sw_bitfield *bf)
{
    if (bf->size == 0) {
        bf->hint = SW_BITFIELD_HINT_HAVE_NONE;
        return;
    }
    memset(bf->bits, 0, sw__bitfield_raw_len(bf->size));
    bf->count = 0;
}

uint32_t sw__bitfield_count(const sw_bitfield *bf)
{
    return bf->count;
}

uint32_t sw__bitfield_count_range(const sw_bitfield *bf, uint32_t begin, uint32_t end)
{
    if (end > bf->size)
        end = bf->size;
    if (begin >= end)
        return 0;
    if (begin == 0 && end == bf->size)
        return bf->count;
    uint32_t total = 0;
    /* Leading bits up to a byte boundary, whole bytes, then trailing bits. */
    while (begin < end && begin % 8 != 0) {
        total += sw__bitfield_get(bf, begin) ? 1u : 0u;
        begin++;
    }
    uint32_t whole_end = end - end % 8;
    if (begin < whole_end) {
        total += popcount_bytes(bf->bits + begin / 8, (whole_end - begin) / 8);
        begin = whole_end;
    }
    while (begin < end) {
        total += sw__bitfield_get(bf, begin) ? 1u : 0u;
        begin++;
    }
    return total;
}

bool sw__bitfield_all(const sw_bitfield *bf)
{
    if (bf->size == 0)
        return bf->hint == SW_BITFIELD_HINT_HAVE_ALL;
    return bf->count == bf->size;
}

bool sw__bitfield_none(const sw_bitfield *bf)
{
    if (bf->size == 0)
        return bf->hint != SW_BITFIELD_HINT_HAVE_ALL;
    return bf->count == 0;
}

/* Scans for the first bit equal to `want` at or after `from`. Bytes that are
 * all the other value are skipped whole. */
static bool find_next(const sw_bitfield *bf, uint32_t from, bool want, uint32_t *index_out)
{
    if (from >= bf->size)
        return false;
    if (want && bf->count == 0)
        return false;
    if (!want && bf->count == bf->size)
        return false;
    uint8_t skip = want ? 0x00 : 0xFF;
    uint32_t i = from;
    while (i < bf->size) {
        if (i % 8 == 0 && bf->bits[i / 8] == skip) {
            i += 8;
            continue;
        }
        if (sw__bitfield_get(bf, i) == want) {
            *index_out = i;
            return true;
        }
        i++;
    }
    return false;
}

bool sw__bitfield_find_next_set(const sw_bitfield *bf, uint32_t from, uint32_t *index_out)
{
    return find_next(bf, from, true, index_out);
}

bool sw__bitfield_find_next_clear(const sw_bitfield *bf, uint32_t from, uint32_t *index_out)
{
    return find_next(bf, from, false, index_out);
}

int sw__bitfield_from_raw(sw_bitfield *bf, const uint8_t *raw, size_t len, uint32_t size)
{
    if (size == 0)
        return SW_ERR_INVALID_ARG;
    if (len != sw__bitfield_raw_len(size))
        return SW_ERR_PROTOCOL;
    if (raw[len - 1] & (uint8_t)~last_byte_mask(size))
        return SW_ERR_PROTOCOL;
    uint8_t *bits = malloc(len);
    if (!bits)
        return SW_ERR_NOMEM;
    memcpy(bits, raw, len);
    free(bf->bits);
    bf->bits = bits;
    bf->size = size;
    bf->hint = SW_BITFIELD_HINT_NONE_KNOWN;
    bf->count = popcount_bytes(bits, len);
    return 0;
}

void sw__bitfield_to_raw(const sw_bitfield *bf, uint8_t *out)
{
    size_t len = sw__bitfield_raw_len(bf->size);
    if (len > 0)
        memcpy(out, bf->bits, len);
}

bool sw__bitfield_is_valid(const sw_bitfield *bf)
{
    size_t len = sw__bitfield_raw_len(bf->size);
    if (len == 0)
        return bf->bits == NULL && bf->count == 0;
    if (!bf->bits)
        return false;
    if (bf->bits[len - 1] & (uint8_t)~last_byte_mask(bf->size))
        return false;
    return bf->count == popcount_bytes(bf->bits, len) && bf->count <= bf->size;
}
