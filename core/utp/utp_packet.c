/* uTP packet codec: header v1, extension chain, selective ACK. */
#include <string.h>

#include <cswarm/error.h>

#include "utp_packet.h"

static uint16_t rd16(const uint8_t *p)
{
    return (uint16_t)((p[0] << 8) | p[1]);
}

static uint32_t rd32(const uint8_t *p)
{
    return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}

static void wr16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

static void wr32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

bool sw__utp_packet_looks_like_utp(const uint8_t *data, size_t len)
{
    return len >= SW_UTP_HEADER_SIZE && (data[0] & 0x0f) == SW_UTP_VERSION &&
           (data[0] >> 4) < SW_UTP_ST_COUNT;
}

static int fail(sw_utp_parse_error why, sw_utp_parse_error *why_out)
{
    if (why_out)
        *why_out = why;
    return SW_ERR_PROTOCOL;
}

int sw__utp_packet_parse(const uint8_t *data, size_t len, sw_utp_packet *out,
                         sw_utp_parse_error *why_out)
{
    if (len < SW_UTP_HEADER_SIZE)
        return fail(SW_UTP_PARSE_SHORT, why_out);
    sw_utp_packet p;
    memset(&p, 0, sizeof p);
    p.h.type = data[0] >> 4;
    p.h.version = data[0] & 0x0f;
    if (p.h.version != SW_UTP_VERSION)
        return fail(SW_UTP_PARSE_VERSION, why_out);
    if (p.h.type >= SW_UTP_ST_COUNT)
        return fail(SW_UTP_PARSE_TYPE, why_out);
    p.h.extension = data[1];
    p.h.conn_id = rd16(data + 2);
    p.h.timestamp_us = rd32(data + 4);
    p.h.timestamp_diff_us = rd32(data + 8);
    p.h.wnd_size = rd32(data + 12);
    p.h.seq_nr = rd16(data + 16);
    p.h.ack_nr = rd16(data + 18);

    size_t pos = SW_UTP_HEADER_SIZE;
    uint8_t ext = p.h.extension;
    while (ext != SW_UTP_EXT_NONE) {
        if (p.num_extensions == SW_UTP_MAX_EXTENSIONS)
            return fail(SW_UTP_PARSE_EXT_TOO_MANY, why_out);
        if (len - pos < 2)
            return fail(SW_UTP_PARSE_EXT_TRUNCATED, why_out);
        uint8_t next = data[pos];
        size_t ext_len = data[pos + 1];
        pos += 2;
        if (len - pos < ext_len)
            return fail(SW_UTP_PARSE_EXT_TRUNCATED, why_out);
        if (ext == SW_UTP_EXT_SACK) {
            /* BEP 29 asks for a multiple of 4 bytes, but libtorrent sends
             * just the bytes its bitmask needs; only an empty one is wrong. */
            if (ext_len == 0)
                return fail(SW_UTP_PARSE_SACK_LENGTH, why_out);
            if (!p.sack) { /* a second bitmask adds nothing; keep the first */
                p.sack = data + pos;
                p.sack_len = ext_len;
            }
        }
        pos += ext_len;
        p.num_extensions++;
        ext = next;
    }
    p.payload = data + pos;
    p.payload_len = len - pos;
    *out = p;
    if (why_out)
        *why_out = SW_UTP_PARSE_OK;
    return 0;
}

size_t sw__utp_header_size(size_t sack_len)
{
    return SW_UTP_HEADER_SIZE + (sack_len ? 2 + sack_len : 0);
}

size_t sw__utp_header_write(uint8_t *out, const sw_utp_header *h, const uint8_t *sack,
                            size_t sack_len)
{
    out[0] = (uint8_t)((h->type << 4) | SW_UTP_VERSION);
    out[1] = sack_len ? SW_UTP_EXT_SACK : SW_UTP_EXT_NONE;
    wr16(out + 2, h->conn_id);
    wr32(out + 4, h->timestamp_us);
    wr32(out + 8, h->timestamp_diff_us);
    wr32(out + 12, h->wnd_size);
    wr16(out + 16, h->seq_nr);
    wr16(out + 18, h->ack_nr);
    if (!sack_len)
        return SW_UTP_HEADER_SIZE;
    out[20] = SW_UTP_EXT_NONE;
    out[21] = (uint8_t)sack_len;
    memcpy(out + 22, sack, sack_len);
    return SW_UTP_HEADER_SIZE + 2 + sack_len;
}

const char *sw__utp_type_name(unsigned type)
{
    static const char *const names[] = {"ST_DATA", "ST_FIN", "ST_STATE", "ST_RESET", "ST_SYN"};
    return type < SW_UTP_ST_COUNT ? names[type] : "?";
}
