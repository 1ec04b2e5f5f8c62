#include "base32.h"

#include <cswarm/error.h>

static const char base32_alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

/* The value of one base32 character, or -1. */
static int base32_value(char c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a';
    if (c >= '2' && c <= '7')
        return c - '2' + 26;
    return -1;
}

size_t sw__base32_encoded_len(size_t len, bool pad)
{
    if (pad)
        return (len + 4) / 5 * 8;
    return (len * 8 + 4) / 5;
}

void sw__base32_encode(const uint8_t *data, size_t len, bool pad, char *out)
{
    size_t n = 0;
    uint32_t bits = 0; /* pending bits, right-aligned */
    int nbits = 0;
    for (size_t i = 0; i < len; i++) {
        bits = (bits << 8) | data[i];
        nbits += 8;
        while (nbits >= 5) {
            nbits -= 5;
            out[n++] = base32_alphabet[(bits >> nbits) & 31];
        }
    }
    if (nbits > 0)
        out[n++] = base32_alphabet[(bits << (5 - nbits)) & 31];
    if (pad) {
        while (n % 8 != 0)
            out[n++] = '=';
    }
    out[n] = '\0';
}

/* Characters in the last, partial 8-character group that a canonical encoder
 * writes for 1..4 trailing bytes; any other remainder is impossible. */
static bool valid_tail_chars(size_t rem)
{
    return rem == 0 || rem == 2 || rem == 4 || rem == 5 || rem == 7;
}

int sw__base32_decode(const char *in, size_t in_len, uint8_t *out, size_t out_cap, size_t *len_out)
{
    size_t data_len = in_len;
    while (data_len > 0 && in[data_len - 1] == '=')
        data_len--;
    if (data_len != in_len) {
        /* Padded input must be whole groups, padded exactly to the group. */
        if (in_len % 8 != 0 || in_len - data_len >= 8)
            return SW_ERR_INVALID_ARG;
    }
    if (!valid_tail_chars(data_len % 8))
        return SW_ERR_INVALID_ARG;
    size_t need = data_len * 5 / 8;
    if (need > out_cap)
        return SW_ERR_LIMIT;

    size_t n = 0;
    uint32_t bits = 0;
    int nbits = 0;
    for (size_t i = 0; i < data_len; i++) {
        int v = base32_value(in[i]);
        if (v < 0)
            return SW_ERR_INVALID_ARG;
        bits = (bits << 5) | (uint32_t)v;
        nbits += 5;
        if (nbits >= 8) {
            nbits -= 8;
            out[n++] = (uint8_t)(bits >> nbits);
        }
    }
    /* Leftover bits are the encoder's zero fill; anything else means a second
     * spelling of the same bytes, which we refuse. */
    if (nbits > 0 && (bits & ((1u << nbits) - 1)) != 0)
        return SW_ERR_INVALID_ARG;
    *len_out = n;
    return 0;
}
