/* Node-id arithmetic, BEP 42 secure ids and address classes. */
#include <string.h>

#include <openssl/rand.h>
#include <sys/socket.h>
#include <uv.h>

#include "dht/dht_id.h"

int sw__dht_id_closer(const sw_sha1 *target, const sw_sha1 *a, const sw_sha1 *b)
{
    for (int i = 0; i < SW_DHT_ID_BITS / 8; i++) {
        uint8_t da = a->v[i] ^ target->v[i];
        uint8_t db = b->v[i] ^ target->v[i];
        if (da != db)
            return da < db ? -1 : 1;
    }
    return 0;
}

int sw__dht_id_common_bits(const sw_sha1 *a, const sw_sha1 *b)
{
    for (int i = 0; i < SW_DHT_ID_BITS / 8; i++) {
        uint8_t x = a->v[i] ^ b->v[i];
        if (x) {
            int n = 0;
            while (!(x & 0x80)) {
                x <<= 1;
                n++;
            }
            return i * 8 + n;
        }
    }
    return SW_DHT_ID_BITS;
}

void sw__dht_random_bytes(void *out, size_t len)
{
    if (RAND_bytes(out, (int)len) == 1)
        return;
    /* Not expected; ids only need to be unpredictable-ish, tokens use the
     * same source, so keep going with a weak generator rather than fail. */
    static uint64_t x;
    x ^= uv_hrtime();
    uint8_t *p = out;
    for (size_t i = 0; i < len; i++) {
        x = x * 6364136223846793005ULL + 1442695040888963407ULL;
        p[i] = (uint8_t)(x >> 56);
    }
}

void sw__dht_id_random(sw_sha1 *out)
{
    sw__dht_random_bytes(out->v, sizeof out->v);
}

void sw__dht_id_random_at_depth(const sw_sha1 *self, int bits, sw_sha1 *out)
{
    sw__dht_id_random(out);
    if (bits < 0)
        bits = 0;
    if (bits > SW_DHT_ID_BITS - 1)
        bits = SW_DHT_ID_BITS - 1;
    int whole = bits / 8, rest = bits % 8;
    memcpy(out->v, self->v, (size_t)whole);
    uint8_t keep = (uint8_t)(0xff00 >> rest); /* the top `rest` bits */
    out->v[whole] = (uint8_t)((self->v[whole] & keep) | (out->v[whole] & ~keep));
    /* Bit `bits` must differ from ours. */
    uint8_t flip = (uint8_t)(0x80 >> rest);
    out->v[whole] = (uint8_t)((out->v[whole] & ~flip) | (~self->v[whole] & flip));
}

static uint32_t crc32c_table[256];
static uv_once_t crc32c_once = UV_ONCE_INIT;

static void crc32c_init(void)
{
    for (uint32_t i = 0; i < 256; i++) {
        uint32_t c = i;
        for (int k = 0; k < 8; k++)
            c = (c & 1) ? (c >> 1) ^ 0x82F63B78u : c >> 1;
        crc32c_table[i] = c;
    }
}

uint32_t sw__crc32c(const uint8_t *data, size_t len)
{
    uv_once(&crc32c_once, crc32c_init);
    uint32_t c = 0xFFFFFFFFu;
    for (size_t i = 0; i < len; i++)
        c = crc32c_table[(c ^ data[i]) & 0xff] ^ (c >> 8);
    return c ^ 0xFFFFFFFFu;
}

/* The CRC32C of the masked address with r in its top bits (BEP 42). */
static uint32_t secure_prefix(const sw_endpoint *ip, uint8_t r)
{
    static const uint8_t v4_mask[] = {0x03, 0x0f, 0x3f, 0xff};
    static const uint8_t v6_mask[] = {0x01, 0x03, 0x07, 0x0f, 0x1f, 0x3f, 0x7f, 0xff};
    uint8_t buf[8];
    size_t n = ip->family == AF_INET6 ? 8 : 4;
    const uint8_t *mask = n == 8 ? v6_mask : v4_mask;
    for (size_t i = 0; i < n; i++)
        buf[i] = ip->addr[i] & mask[i];
    buf[0] |= (uint8_t)((r & 7) << 5);
    return sw__crc32c(buf, n);
}

void sw__dht_id_secure(const sw_endpoint *ip, uint8_t r, sw_sha1 *out)
{
    sw__dht_id_random(out);
    uint32_t crc = secure_prefix(ip, r);
    out->v[0] = (uint8_t)(crc >> 24);
    out->v[1] = (uint8_t)(crc >> 16);
    out->v[2] = (uint8_t)(((crc >> 8) & 0xf8) | (out->v[2] & 0x07));
    out->v[19] = (uint8_t)((out->v[19] & 0xf8) | (r & 7));
}

bool sw__dht_id_verify(const sw_endpoint *ip, const sw_sha1 *id)
{
    uint32_t crc = secure_prefix(ip, id->v[19] & 7);
    return id->v[0] == (uint8_t)(crc >> 24) && id->v[1] == (uint8_t)(crc >> 16) &&
           (id->v[2] & 0xf8) == ((crc >> 8) & 0xf8);
}

bool sw__dht_addr_is_local(const sw_endpoint *ep)
{
    const uint8_t *a = ep->addr;
    if (ep->family == AF_INET)
        return a[0] == 10 || a[0] == 127 || (a[0] == 172 && (a[1] & 0xf0) == 16) ||
               (a[0] == 192 && a[1] == 168) || (a[0] == 169 && a[1] == 254);
    static const uint8_t loop6[16] = {[15] = 1};
    return memcmp(a, loop6, 16) == 0 || (a[0] == 0xfe && (a[1] & 0xc0) == 0x80) ||
           (a[0] & 0xfe) == 0xfc;
}

bool sw__dht_addr_is_dark(const sw_endpoint *ep)
{
    const uint8_t *a = ep->addr;
    if (ep->family == AF_INET)
        return a[0] == 0 || a[0] >= 224;
    static const uint8_t zero[16];
    return memcmp(a, zero, 16) == 0 || a[0] == 0xff;
}

bool sw__dht_addr_same_prefix(const sw_endpoint *a, const sw_endpoint *b)
{
    if (a->family != b->family)
        return false;
    return memcmp(a->addr, b->addr, a->family == AF_INET6 ? 8 : 3) == 0;
}
