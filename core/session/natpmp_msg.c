/* NAT-PMP (RFC 6886) wire format: version 0, big-endian fields. */
#include <string.h>

#include "base/base.h"
#include "natpmp_msg.h"

static void put16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

static void put32(uint8_t *p, uint32_t v)
{
    put16(p, (uint16_t)(v >> 16));
    put16(p + 2, (uint16_t)v);
}

static uint16_t get16(const uint8_t *p)
{
    return (uint16_t)((p[0] << 8) | p[1]);
}

static uint32_t get32(const uint8_t *p)
{
    return ((uint32_t)get16(p) << 16) | get16(p + 2);
}

size_t sw__natpmp_external_request(uint8_t out[2])
{
    out[0] = 0;
    out[1] = SW_NATPMP_OP_EXTERNAL;
    return 2;
}

size_t sw__natpmp_map_request(uint8_t out[12], uint8_t op, uint16_t internal_port,
                              uint16_t external_port, uint32_t lifetime)
{
    out[0] = 0;
    out[1] = op;
    put16(out + 2, 0); /* reserved */
    put16(out + 4, internal_port);
    put16(out + 6, external_port);
    put32(out + 8, lifetime);
    return 12;
}

int sw__natpmp_parse_reply(const uint8_t *data, size_t len, sw_natpmp_reply *out)
{
    if (!data || !out)
        return SW_ERR_INVALID_ARG;
    memset(out, 0, sizeof *out);
    /* Every reply has version, op, result and epoch. */
    if (len < 8 || data[0] != 0 || data[1] < 128)
        return SW_ERR_PROTOCOL;
    uint8_t op = (uint8_t)(data[1] - 128);
    if (op > SW_NATPMP_OP_MAP_TCP)
        return SW_ERR_PROTOCOL;
    out->op = op;
    out->result = get16(data + 2);
    out->epoch = get32(data + 4);
    if (op == SW_NATPMP_OP_EXTERNAL) {
        if (len < 12) {
            /* An error reply may stop after the epoch (RFC 6886 3.5). */
            return out->result != 0 && len == 8 ? 0 : SW_ERR_PROTOCOL;
        }
        memcpy(out->external_ip, data + 8, 4);
        return 0;
    }
    if (len < 16)
        return out->result != 0 && len == 8 ? 0 : SW_ERR_PROTOCOL;
    out->internal_port = get16(data + 8);
    out->external_port = get16(data + 10);
    out->lifetime = get32(data + 12);
    return 0;
}

const char *sw__natpmp_result_text(uint16_t result)
{
    switch (result) {
    case 0:
        return "success";
    case 1:
        return "unsupported version";
    case 2:
        return "not authorized or refused";
    case 3:
        return "network failure";
    case 4:
        return "out of resources";
    case 5:
        return "unsupported opcode";
    default:
        return "unknown result code";
    }
}
