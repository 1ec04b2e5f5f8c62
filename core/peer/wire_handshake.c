/* The BEP 3 handshake: <19><"BitTorrent protocol"><8 reserved><info-hash>
 * <peer id>, and the feature bits of the reserved bytes. */
#include "wire.h"

#include <stdio.h>
#include <string.h>

/* Byte and mask of each feature bit in the reserved bytes. */
static const struct {
    unsigned feature;
    unsigned byte;
    uint8_t mask;
} reserved_bits[] = {
    {SW_WIRE_FEATURE_EXTENSION, 5, 0x10},
    {SW_WIRE_FEATURE_FAST, 7, 0x04},
    {SW_WIRE_FEATURE_DHT, 7, 0x01},
};

void sw__wire_reserved_set(uint8_t reserved[8], unsigned features)
{
    for (size_t i = 0; i < sizeof reserved_bits / sizeof reserved_bits[0]; i++) {
        if (features & reserved_bits[i].feature)
            reserved[reserved_bits[i].byte] |= reserved_bits[i].mask;
    }
}

unsigned sw__wire_reserved_features(const uint8_t reserved[8])
{
    unsigned features = 0;
    for (size_t i = 0; i < sizeof reserved_bits / sizeof reserved_bits[0]; i++) {
        if (reserved[reserved_bits[i].byte] & reserved_bits[i].mask)
            features |= reserved_bits[i].feature;
    }
    return features;
}

void sw__wire_handshake_write(const sw_wire_handshake *hs, uint8_t out[SW_WIRE_HANDSHAKE_LEN])
{
    out[0] = SW_WIRE_PSTRLEN;
    memcpy(out + 1, SW_WIRE_PSTR, SW_WIRE_PSTRLEN);
    memcpy(out + 20, hs->reserved, 8);
    memcpy(out + 28, hs->info_hash.v, SW_SHA1_LEN);
    memcpy(out + 48, hs->peer_id.v, SW_PEER_ID_LEN);
}

int sw__wire_build_handshake(sw_buf *out, const sw_wire_handshake *hs)
{
    uint8_t *p;
    int rc = sw__buf_extend(out, SW_WIRE_HANDSHAKE_LEN, &p);
    if (rc < 0)
        return rc;
    sw__wire_handshake_write(hs, p);
    return 0;
}

void sw__wire_hs_reader_init(sw_wire_hs_reader *r)
{
    memset(r, 0, sizeof *r);
}

static int hs_fail(sw_wire_hs_reader *r, const char *why, size_t offset, uint8_t byte)
{
    r->error = SW_ERR_HANDSHAKE;
    snprintf(r->reason, sizeof r->reason, "%s (byte %zu is 0x%02x)", why, offset, byte);
    return r->error;
}

int sw__wire_hs_reader_feed(sw_wire_hs_reader *r, const uint8_t *data, size_t len,
                            size_t *consumed_out, sw_wire_hs_state *state_out)
{
    if (r->error)
        return r->error;
    size_t used = 0;
    /* Each stop point is reported once: the caller resumes from there. */
    size_t stop = r->have < SW_WIRE_HANDSHAKE_INFO_HASH_END ? SW_WIRE_HANDSHAKE_INFO_HASH_END
                                                            : SW_WIRE_HANDSHAKE_LEN;
    while (used < len && r->have < stop) {
        uint8_t b = data[used++];
        size_t at = r->have;
        r->bytes[r->have++] = b;
        if (at == 0 && b != SW_WIRE_PSTRLEN)
            return hs_fail(r, "protocol string length is not 19", at, b);
        if (at >= 1 && at <= SW_WIRE_PSTRLEN && b != (uint8_t)SW_WIRE_PSTR[at - 1])
            return hs_fail(r, "protocol string is not \"BitTorrent protocol\"", at, b);
    }
    *consumed_out = used;
    if (r->have == stop) {
        if (stop == SW_WIRE_HANDSHAKE_INFO_HASH_END) {
            memcpy(r->hs.reserved, r->bytes + 20, 8);
            memcpy(r->hs.info_hash.v, r->bytes + 28, SW_SHA1_LEN);
            *state_out = SW_WIRE_HS_HAVE_INFO_HASH;
        } else {
            memcpy(r->hs.peer_id.v, r->bytes + 48, SW_PEER_ID_LEN);
            *state_out = SW_WIRE_HS_COMPLETE;
        }
        /* Further feeds after COMPLETE consume nothing and say COMPLETE. */
        return 0;
    }
    *state_out = r->have == SW_WIRE_HANDSHAKE_LEN ? SW_WIRE_HS_COMPLETE : SW_WIRE_HS_NEED_MORE;
    return 0;
}

const sw_wire_handshake *sw__wire_hs_reader_result(const sw_wire_hs_reader *r)
{
    return &r->hs;
}

const char *sw__wire_hs_reader_error(const sw_wire_hs_reader *r)
{
    return r->reason;
}
