/* Message builders: each appends one framed message <length><id><payload>
 * to a caller's buffer, all or nothing. */
#include "wire.h"

#include <string.h>

/* Reserves room for the whole message first so a failed allocation leaves
 * `out` exactly as it was. */
static int frame(sw_buf *out, uint8_t id, size_t payload_len, uint8_t **payload_out)
{
    if (payload_len > UINT32_MAX - 1)
        return SW_ERR_INVALID_ARG;
    uint8_t *p;
    int rc = sw__buf_extend(out, 5 + payload_len, &p);
    if (rc < 0)
        return rc;
    sw__store_be32(p, (uint32_t)(payload_len + 1));
    p[4] = id;
    *payload_out = p + 5;
    return 0;
}

static int build_u32(sw_buf *out, uint8_t id, uint32_t a)
{
    uint8_t *p;
    int rc = frame(out, id, 4, &p);
    if (rc < 0)
        return rc;
    sw__store_be32(p, a);
    return 0;
}

static int build_block_ref(sw_buf *out, uint8_t id, uint32_t index, uint32_t begin, uint32_t length)
{
    uint8_t *p;
    int rc = frame(out, id, 12, &p);
    if (rc < 0)
        return rc;
    sw__store_be32(p, index);
    sw__store_be32(p + 4, begin);
    sw__store_be32(p + 8, length);
    return 0;
}

int sw__wire_build_keepalive(sw_buf *out)
{
    return sw__buf_append_be32(out, 0);
}

int sw__wire_build_simple(sw_buf *out, uint8_t id)
{
    uint8_t *p;
    return frame(out, id, 0, &p);
}

int sw__wire_build_choke(sw_buf *out)
{
    return sw__wire_build_simple(out, SW_WIRE_ID_CHOKE);
}

int sw__wire_build_unchoke(sw_buf *out)
{
    return sw__wire_build_simple(out, SW_WIRE_ID_UNCHOKE);
}

int sw__wire_build_interested(sw_buf *out)
{
    return sw__wire_build_simple(out, SW_WIRE_ID_INTERESTED);
}

int sw__wire_build_not_interested(sw_buf *out)
{
    return sw__wire_build_simple(out, SW_WIRE_ID_NOT_INTERESTED);
}

int sw__wire_build_have_all(sw_buf *out)
{
    return sw__wire_build_simple(out, SW_WIRE_ID_HAVE_ALL);
}

int sw__wire_build_have_none(sw_buf *out)
{
    return sw__wire_build_simple(out, SW_WIRE_ID_HAVE_NONE);
}

int sw__wire_build_have(sw_buf *out, uint32_t index)
{
    return build_u32(out, SW_WIRE_ID_HAVE, index);
}

int sw__wire_build_suggest(sw_buf *out, uint32_t index)
{
    return build_u32(out, SW_WIRE_ID_SUGGEST, index);
}

int sw__wire_build_allowed_fast(sw_buf *out, uint32_t index)
{
    return build_u32(out, SW_WIRE_ID_ALLOWED_FAST, index);
}

int sw__wire_build_bitfield_raw(sw_buf *out, const uint8_t *raw, size_t len)
{
    return sw__wire_build_raw(out, SW_WIRE_ID_BITFIELD, raw, len);
}

int sw__wire_build_bitfield(sw_buf *out, const sw_bitfield *bf)
{
    if (bf->size == 0)
        return SW_ERR_INVALID_ARG;
    return sw__wire_build_bitfield_raw(out, sw__bitfield_bytes(bf), sw__bitfield_raw_len(bf->size));
}

int sw__wire_build_request(sw_buf *out, uint32_t index, uint32_t begin, uint32_t length)
{
    return build_block_ref(out, SW_WIRE_ID_REQUEST, index, begin, length);
}

int sw__wire_build_cancel(sw_buf *out, uint32_t index, uint32_t begin, uint32_t length)
{
    return build_block_ref(out, SW_WIRE_ID_CANCEL, index, begin, length);
}

int sw__wire_build_reject(sw_buf *out, uint32_t index, uint32_t begin, uint32_t length)
{
    return build_block_ref(out, SW_WIRE_ID_REJECT, index, begin, length);
}

int sw__wire_build_piece_header(sw_buf *out, uint32_t index, uint32_t begin, size_t len)
{
    if (len > UINT32_MAX - 9)
        return SW_ERR_INVALID_ARG;
    uint8_t *p;
    int rc = sw__buf_extend(out, 13, &p);
    if (rc < 0)
        return rc;
    sw__store_be32(p, (uint32_t)(9 + len));
    p[4] = SW_WIRE_ID_PIECE;
    sw__store_be32(p + 5, index);
    sw__store_be32(p + 9, begin);
    return 0;
}

int sw__wire_build_piece(sw_buf *out, uint32_t index, uint32_t begin, const uint8_t *block,
                         size_t len)
{
    if (len > UINT32_MAX - 9)
        return SW_ERR_INVALID_ARG;
    int rc = sw__buf_reserve(out, 13 + len);
    if (rc < 0)
        return rc;
    rc = sw__wire_build_piece_header(out, index, begin, len);
    if (rc < 0)
        return rc;
    return sw__buf_append(out, block, len);
}

int sw__wire_build_port(sw_buf *out, uint16_t port)
{
    uint8_t *p;
    int rc = frame(out, SW_WIRE_ID_PORT, 2, &p);
    if (rc < 0)
        return rc;
    sw__store_be16(p, port);
    return 0;
}

int sw__wire_build_extended(sw_buf *out, uint8_t ext_id, const uint8_t *payload, size_t len)
{
    if (len > UINT32_MAX - 2)
        return SW_ERR_INVALID_ARG;
    uint8_t *p;
    int rc = frame(out, SW_WIRE_ID_EXTENDED, 1 + len, &p);
    if (rc < 0)
        return rc;
    p[0] = ext_id;
    if (len > 0)
        memcpy(p + 1, payload, len);
    return 0;
}

int sw__wire_build_raw(sw_buf *out, uint8_t id, const uint8_t *payload, size_t len)
{
    uint8_t *p;
    int rc = frame(out, id, len, &p);
    if (rc < 0)
        return rc;
    if (len > 0)
        memcpy(p, payload, len);
    return 0;
}

int sw__wire_build_msg(sw_buf *out, const sw_wire_msg *m)
{
    switch (m->kind) {
    case SW_WIRE_MSG_NONE:
        return SW_ERR_INVALID_ARG;
    case SW_WIRE_MSG_KEEPALIVE:
        return sw__wire_build_keepalive(out);
    case SW_WIRE_MSG_CHOKE:
        return sw__wire_build_choke(out);
    case SW_WIRE_MSG_UNCHOKE:
        return sw__wire_build_unchoke(out);
    case SW_WIRE_MSG_INTERESTED:
        return sw__wire_build_interested(out);
    case SW_WIRE_MSG_NOT_INTERESTED:
        return sw__wire_build_not_interested(out);
    case SW_WIRE_MSG_HAVE_ALL:
        return sw__wire_build_have_all(out);
    case SW_WIRE_MSG_HAVE_NONE:
        return sw__wire_build_have_none(out);
    case SW_WIRE_MSG_HAVE:
        return sw__wire_build_have(out, m->index);
    case SW_WIRE_MSG_SUGGEST:
        return sw__wire_build_suggest(out, m->index);
    case SW_WIRE_MSG_ALLOWED_FAST:
        return sw__wire_build_allowed_fast(out, m->index);
    case SW_WIRE_MSG_BITFIELD:
        return sw__wire_build_bitfield_raw(out, m->data, m->len);
    case SW_WIRE_MSG_REQUEST:
        return sw__wire_build_request(out, m->index, m->begin, m->length);
    case SW_WIRE_MSG_CANCEL:
        return sw__wire_build_cancel(out, m->index, m->begin, m->length);
    case SW_WIRE_MSG_REJECT:
        return sw__wire_build_reject(out, m->index, m->begin, m->length);
    case SW_WIRE_MSG_PIECE:
        return sw__wire_build_piece(out, m->index, m->begin, m->data, m->len);
    case SW_WIRE_MSG_PORT:
        return sw__wire_build_port(out, m->port);
    case SW_WIRE_MSG_EXTENDED:
        return sw__wire_build_extended(out, m->ext_id, m->data, m->len);
    case SW_WIRE_MSG_UNKNOWN:
        return sw__wire_build_raw(out, m->id, m->data, m->len);
    }
    return SW_ERR_INVALID_ARG;
}
