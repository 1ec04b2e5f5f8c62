/* Node ids and addresses in the DHT: XOR distance (BEP 5), secure node ids
 * derived from the node's IP with CRC32C (BEP 42), and address classes
 * (local networks, exempt from BEP 42; unroutable "dark" addresses).
 * Pure functions; any thread. */
#ifndef SW_CORE_DHT_DHT_ID_H
#define SW_CORE_DHT_DHT_ID_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cswarm/torrent_info.h>

#include "net/net.h"

#define SW_DHT_ID_BITS 160

/* <0 if a is closer to target than b, >0 if farther, 0 if a == b. */
int sw__dht_id_closer(const sw_sha1 *target, const sw_sha1 *a, const sw_sha1 *b);
/* The number of leading bits a and b share (160 if equal). */
int sw__dht_id_common_bits(const sw_sha1 *a, const sw_sha1 *b);
/* Bit i (0 = most significant) of id. */
static inline int sw__dht_id_bit(const sw_sha1 *id, int i)
{
    return (id->v[i / 8] >> (7 - i % 8)) & 1;
}
/* Random bytes from OpenSSL (falls back to a time-seeded generator only if
 * OpenSSL fails, which it does not on a working system). */
void sw__dht_random_bytes(void *out, size_t len);
void sw__dht_id_random(sw_sha1 *out);
/* A random id sharing exactly `bits` leading bits with `self` (0..159):
 * the target of a refresh of the bucket at that depth. */
void sw__dht_id_random_at_depth(const sw_sha1 *self, int bits, sw_sha1 *out);

/* CRC32C (Castagnoli), as BEP 42 uses it. */
uint32_t sw__crc32c(const uint8_t *data, size_t len);
/* A BEP 42 node id for an external address: the first 21 bits come from
 * the CRC32C of the masked address with r (0..7) mixed in, the last byte
 * carries r in its low 3 bits, the rest is random. */
void sw__dht_id_secure(const sw_endpoint *ip, uint8_t r, sw_sha1 *out);
/* Whether id satisfies BEP 42 for ip (the port is ignored). */
bool sw__dht_id_verify(const sw_endpoint *ip, const sw_sha1 *id);

/* Local addresses, exempt from BEP 42: 10/8, 172.16/12, 192.168/16,
 * 169.254/16, 127/8, and for IPv6 ::1, fe80::/10 and fc00::/7. */
bool sw__dht_addr_is_local(const sw_endpoint *ep);
/* Addresses no DHT node on the Internet can have: unspecified, 0/8,
 * multicast and the reserved 240/4 (broadcast included); for IPv6 the
 * unspecified address and multicast ff00::/8. */
bool sw__dht_addr_is_dark(const sw_endpoint *ep);
/* Whether a and b fall in the same /24 (IPv4) or /64 (IPv6), the unit of
 * dht_restrict_routing_ips. */
bool sw__dht_addr_same_prefix(const sw_endpoint *a, const sw_endpoint *b);

#endif
