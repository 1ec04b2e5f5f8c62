/* BEP 6 allowed-fast set generation. The set depends only on the peer's /24
 * network, the info-hash and the piece count, so both ends compute the same
 * pieces and a peer cannot collect more sets by taking more addresses in
 * one network. */
#include "wire.h"

#include <string.h>

static bool contains(const uint32_t *set, size_t n, uint32_t v)
{
    for (size_t i = 0; i < n; i++) {
        if (set[i] == v)
            return true;
    }
    return false;
}

int sw__wire_allowed_fast_set(const sw_sha1 *info_hash, uint32_t ipv4, uint32_t num_pieces,
                              uint32_t k, uint32_t *set_out, size_t *count_out)
{
    /* More than num_pieces distinct indices do not exist: the loop below
     * would never end. */
    if (k > num_pieces)
        k = num_pieces;
    if (k > SW_WIRE_ALLOWED_FAST_MAX)
        k = SW_WIRE_ALLOWED_FAST_MAX;

    /* x = (ip & 0xFFFFFF00) in network order, followed by the info-hash;
     * each round replaces x by SHA1(x). */
    uint8_t x[4 + SW_SHA1_LEN];
    sw__store_be32(x, ipv4 & 0xFFFFFF00u);
    memcpy(x + 4, info_hash->v, SW_SHA1_LEN);
    size_t x_len = sizeof x;

    size_t n = 0;
    while (n < k) {
        sw_sha1 digest;
        int rc = sw__sha1(x, x_len, &digest);
        if (rc < 0)
            return rc;
        memcpy(x, digest.v, SW_SHA1_LEN);
        x_len = SW_SHA1_LEN;
        for (size_t i = 0; i < 5 && n < k; i++) {
            uint32_t index = sw__load_be32(x + i * 4) % num_pieces;
            if (!contains(set_out, n, index))
                set_out[n++] = index;
        }
    }
    *count_out = n;
    return 0;
}
