/* BEP 33 scrape bloom filters: 256 bytes (2048 bits), two bits per
 * address taken from the SHA-1 of the address bytes (4 for IPv4, 16 for
 * IPv6; never the port), and the population estimate from the count of
 * zero bits. The estimate of a union is that of the filters ORed. */
#include <math.h>
#include <string.h>

#include "base/sha.h"
#include "dht/dht_internal.h"

#define BLOOM_BITS (SW_DHT_BLOOM_LEN * 8)

void sw__dht_bloom_insert(uint8_t bloom[SW_DHT_BLOOM_LEN], const sw_endpoint *ep)
{
    sw_sha1 h;
    size_t len = ep->family == AF_INET6 ? 16 : 4;
    if (sw__sha1(ep->addr, len, &h) != 0)
        return;
    unsigned i1 = ((unsigned)h.v[0] | (unsigned)h.v[1] << 8) % BLOOM_BITS;
    unsigned i2 = ((unsigned)h.v[2] | (unsigned)h.v[3] << 8) % BLOOM_BITS;
    bloom[i1 / 8] |= (uint8_t)(1u << (i1 % 8));
    bloom[i2 / 8] |= (uint8_t)(1u << (i2 % 8));
}

void sw__dht_bloom_union(uint8_t into[SW_DHT_BLOOM_LEN], const uint8_t *other)
{
    for (size_t i = 0; i < SW_DHT_BLOOM_LEN; i++)
        into[i] |= other[i];
}

double sw__dht_bloom_estimate(const uint8_t bloom[SW_DHT_BLOOM_LEN])
{
    unsigned zeros = 0;
    for (size_t i = 0; i < SW_DHT_BLOOM_LEN; i++)
        zeros += 8u - (unsigned)__builtin_popcount(bloom[i]);
    if (zeros == BLOOM_BITS)
        return 0; /* the formula's c = m - 1 would say 0.5 */
    /* A full filter says "about 8000 or more": c stops at m - 1. */
    double c = zeros < BLOOM_BITS - 1 ? zeros : BLOOM_BITS - 1;
    if (c < 1)
        c = 1;
    const double m = BLOOM_BITS, k = 2;
    return log(c / m) / (k * log(1 - 1 / m));
}
