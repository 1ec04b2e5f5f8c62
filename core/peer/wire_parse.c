/* The message stream parser: <length prefix><id><payload>, fed in spans of
 * any size. A message that lies whole inside one span is decoded in place;
 * one split across spans is accumulated in the parser's buffer. Every length
 * is checked against its id's rule before any payload byte is kept, so a peer
 * cannot make us buffer more than the limits allow. */
#include "wire.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

enum parse_state {
    ST_LENGTH = 0, /* reading the 4-byte length prefix */
    ST_ID,         /* length known (non-zero), reading the id byte */
    ST_PAYLOAD,    /* reading msg_len - 1 payload bytes into p->payload */
};

/* A buffer that grew past this for one large message is released once that
 * message has been handed out, so idle connections stay small. */
#define KEEP_BUFFER_MAX (64u * 1024u)

void sw__wire_parser_opts_init(sw_wire_parser_opts *o)
{
    o->max_block = SW_WIRE_DEFAULT_MAX_BLOCK;
    o->max_message = SW_WIRE_DEFAULT_MAX_MESSAGE;
    o->num_pieces = 0;
}

int sw__wire_parser_init(sw_wire_parser *p, const sw_wire_parser_opts *opts)
{
    memset(p, 0, sizeof *p);
    if (opts) {
        if (opts->max_block == 0 || opts->max_message == 0)
            return SW_ERR_INVALID_ARG;
        p->opts = *opts;
    } else {
        sw__wire_parser_opts_init(&p->opts);
    }
    p->state = ST_LENGTH;
    sw__buf_init(&p->payload);
    return 0;
}

void sw__wire_parser_free(sw_wire_parser *p)
{
    sw__buf_free(&p->payload);
}

void sw__wire_parser_set_num_pieces(sw_wire_parser *p, uint32_t num_pieces)
{
    p->opts.num_pieces = num_pieces;
}

const char *sw__wire_parser_error(const sw_wire_parser *p)
{
    return p->reason;
}

bool sw__wire_parser_at_boundary(const sw_wire_parser *p)
{
    return p->state == ST_LENGTH && p->hdr_have == 0;
}

const char *sw__wire_msg_kind_name(sw_wire_msg_kind kind)
{
    switch (kind) {
    case SW_WIRE_MSG_NONE:
        return "none";
    case SW_WIRE_MSG_KEEPALIVE:
        return "keepalive";
    case SW_WIRE_MSG_CHOKE:
        return "choke";
    case SW_WIRE_MSG_UNCHOKE:
        return "unchoke";
    case SW_WIRE_MSG_INTERESTED:
        return "interested";
    case SW_WIRE_MSG_NOT_INTERESTED:
        return "not_interested";
    case SW_WIRE_MSG_HAVE:
        return "have";
    case SW_WIRE_MSG_BITFIELD:
        return "bitfield";
    case SW_WIRE_MSG_REQUEST:
        return "request";
    case SW_WIRE_MSG_PIECE:
        return "piece";
    case SW_WIRE_MSG_CANCEL:
        return "cancel";
    case SW_WIRE_MSG_PORT:
        return "port";
    case SW_WIRE_MSG_SUGGEST:
        return "suggest";
    case SW_WIRE_MSG_HAVE_ALL:
        return "have_all";
    case SW_WIRE_MSG_HAVE_NONE:
        return "have_none";
    case SW_WIRE_MSG_REJECT:
        return "reject";
    case SW_WIRE_MSG_ALLOWED_FAST:
        return "allowed_fast";
    case SW_WIRE_MSG_EXTENDED:
        return "extended";
    case SW_WIRE_MSG_UNKNOWN:
        return "unknown";
    }
    return "invalid";
}

__attribute__((format(printf, 3, 4))) static int fail(sw_wire_parser *p, int code, const char *fmt,
                                                      ...)
{
    p->error = code;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(p->reason, sizeof p->reason, fmt, ap);
    va_end(ap);
    return code;
}

static uint32_t bitfield_msg_len(uint32_t num_pieces)
{
    return 1u + (uint32_t)sw__bitfield_raw_len(num_pieces);
}

/* The largest length prefix any id could have under the current options;
 * anything longer is rejected as soon as the prefix is read. */
static uint32_t largest_allowed(const sw_wire_parser *p)
{
    uint32_t max = p->opts.max_message;
    uint32_t piece = p->opts.max_block > UINT32_MAX - 9 ? UINT32_MAX : 9 + p->opts.max_block;
    if (piece > max)
        max = piece;
    if (p->opts.num_pieces > 0 && bitfield_msg_len(p->opts.num_pieces) > max)
        max = bitfield_msg_len(p->opts.num_pieces);
    return max;
}

static const char *id_name(uint8_t id)
{
    switch (id) {
    case SW_WIRE_ID_CHOKE:
        return "choke";
    case SW_WIRE_ID_UNCHOKE:
        return "unchoke";
    case SW_WIRE_ID_INTERESTED:
        return "interested";
    case SW_WIRE_ID_NOT_INTERESTED:
        return "not_interested";
    case SW_WIRE_ID_HAVE:
        return "have";
    case SW_WIRE_ID_BITFIELD:
        return "bitfield";
    case SW_WIRE_ID_REQUEST:
        return "request";
    case SW_WIRE_ID_PIECE:
        return "piece";
    case SW_WIRE_ID_CANCEL:
        return "cancel";
    case SW_WIRE_ID_PORT:
        return "port";
    case SW_WIRE_ID_SUGGEST:
        return "suggest";
    case SW_WIRE_ID_HAVE_ALL:
        return "have_all";
    case SW_WIRE_ID_HAVE_NONE:
        return "have_none";
    case SW_WIRE_ID_REJECT:
        return "reject";
    case SW_WIRE_ID_ALLOWED_FAST:
        return "allowed_fast";
    case SW_WIRE_ID_EXTENDED:
        return "extended";
    }
    return NULL;
}

static int fail_exact(sw_wire_parser *p, uint8_t id, uint32_t got, uint32_t want)
{
    return fail(p, SW_ERR_PROTOCOL, "%s message length %u, expected %u", id_name(id), got, want);
}

/* The per-id length rule, applied as soon as the id byte is known. */
static int check_length(sw_wire_parser *p, uint32_t len, uint8_t id)
{
    uint32_t want;
    switch (id) {
    case SW_WIRE_ID_CHOKE:
    case SW_WIRE_ID_UNCHOKE:
    case SW_WIRE_ID_INTERESTED:
    case SW_WIRE_ID_NOT_INTERESTED:
    case SW_WIRE_ID_HAVE_ALL:
    case SW_WIRE_ID_HAVE_NONE:
        want = 1;
        break;
    case SW_WIRE_ID_HAVE:
    case SW_WIRE_ID_SUGGEST:
    case SW_WIRE_ID_ALLOWED_FAST:
        want = 5;
        break;
    case SW_WIRE_ID_REQUEST:
    case SW_WIRE_ID_CANCEL:
    case SW_WIRE_ID_REJECT:
        want = 13;
        break;
    case SW_WIRE_ID_PORT:
        want = 3;
        break;
    case SW_WIRE_ID_PIECE:
        if (len < 9)
            return fail(p, SW_ERR_PROTOCOL, "piece message length %u, expected at least 9", len);
        if (len - 9 > p->opts.max_block)
            return fail(p, SW_ERR_MESSAGE_TOO_LARGE, "piece block of %u bytes exceeds %u", len - 9,
                        p->opts.max_block);
        return 0;
    case SW_WIRE_ID_BITFIELD:
        if (p->opts.num_pieces > 0) {
            want = bitfield_msg_len(p->opts.num_pieces);
            break;
        }
        if (len < 2)
            return fail(p, SW_ERR_PROTOCOL, "bitfield message length %u, expected at least 2", len);
        if (len > p->opts.max_message)
            return fail(p, SW_ERR_MESSAGE_TOO_LARGE, "bitfield message length %u exceeds %u", len,
                        p->opts.max_message);
        return 0;
    case SW_WIRE_ID_EXTENDED:
        if (len < 2)
            return fail(p, SW_ERR_PROTOCOL, "extended message length %u, expected at least 2", len);
        if (len > p->opts.max_message)
            return fail(p, SW_ERR_MESSAGE_TOO_LARGE, "extended message length %u exceeds %u", len,
                        p->opts.max_message);
        return 0;
    default:
        if (len > p->opts.max_message)
            return fail(p, SW_ERR_MESSAGE_TOO_LARGE, "message length %u exceeds %u", len,
                        p->opts.max_message);
        return 0;
    }
    if (len != want)
        return fail_exact(p, id, len, want);
    return 0;
}

/* Fills *m from a complete message whose length already passed
 * check_length. payload holds the plen bytes after the id. */
static int decode(sw_wire_parser *p, uint8_t id, const uint8_t *payload, size_t plen,
                  sw_wire_msg *m)
{
    memset(m, 0, sizeof *m);
    m->id = id;
    switch (id) {
    case SW_WIRE_ID_CHOKE:
        m->kind = SW_WIRE_MSG_CHOKE;
        break;
    case SW_WIRE_ID_UNCHOKE:
        m->kind = SW_WIRE_MSG_UNCHOKE;
        break;
    case SW_WIRE_ID_INTERESTED:
        m->kind = SW_WIRE_MSG_INTERESTED;
        break;
    case SW_WIRE_ID_NOT_INTERESTED:
        m->kind = SW_WIRE_MSG_NOT_INTERESTED;
        break;
    case SW_WIRE_ID_HAVE_ALL:
        m->kind = SW_WIRE_MSG_HAVE_ALL;
        break;
    case SW_WIRE_ID_HAVE_NONE:
        m->kind = SW_WIRE_MSG_HAVE_NONE;
        break;
    case SW_WIRE_ID_HAVE:
    case SW_WIRE_ID_SUGGEST:
    case SW_WIRE_ID_ALLOWED_FAST:
        m->kind = id == SW_WIRE_ID_HAVE      ? SW_WIRE_MSG_HAVE
                  : id == SW_WIRE_ID_SUGGEST ? SW_WIRE_MSG_SUGGEST
                                             : SW_WIRE_MSG_ALLOWED_FAST;
        m->index = sw__load_be32(payload);
        break;
    case SW_WIRE_ID_REQUEST:
    case SW_WIRE_ID_CANCEL:
    case SW_WIRE_ID_REJECT:
        m->kind = id == SW_WIRE_ID_REQUEST  ? SW_WIRE_MSG_REQUEST
                  : id == SW_WIRE_ID_CANCEL ? SW_WIRE_MSG_CANCEL
                                            : SW_WIRE_MSG_REJECT;
        m->index = sw__load_be32(payload);
        m->begin = sw__load_be32(payload + 4);
        m->length = sw__load_be32(payload + 8);
        break;
    case SW_WIRE_ID_PORT:
        m->kind = SW_WIRE_MSG_PORT;
        m->port = sw__load_be16(payload);
        break;
    case SW_WIRE_ID_PIECE:
        m->kind = SW_WIRE_MSG_PIECE;
        m->index = sw__load_be32(payload);
        m->begin = sw__load_be32(payload + 4);
        m->data = payload + 8;
        m->len = plen - 8;
        m->length = (uint32_t)m->len;
        break;
    case SW_WIRE_ID_BITFIELD:
        /* The length matched num_pieces (when known) at header time; the
         * spare bits can only be checked now. */
        if (p->opts.num_pieces > 0 && plen == sw__bitfield_raw_len(p->opts.num_pieces)) {
            unsigned used = p->opts.num_pieces % 8;
            uint8_t spare = used == 0 ? 0 : (uint8_t)(0xFF >> used);
            if (payload[plen - 1] & spare)
                return fail(p, SW_ERR_PROTOCOL,
                            "bitfield has spare bits set past piece %u (last byte 0x%02x)",
                            p->opts.num_pieces, payload[plen - 1]);
        }
        m->kind = SW_WIRE_MSG_BITFIELD;
        m->data = payload;
        m->len = plen;
        break;
    case SW_WIRE_ID_EXTENDED:
        m->kind = SW_WIRE_MSG_EXTENDED;
        m->ext_id = payload[0];
        m->data = payload + 1;
        m->len = plen - 1;
        break;
    default:
        m->kind = SW_WIRE_MSG_UNKNOWN;
        m->data = plen > 0 ? payload : NULL;
        m->len = plen;
        break;
    }
    if (m->len == 0)
        m->data = NULL;
    return 0;
}

static void keepalive(sw_wire_msg *m)
{
    memset(m, 0, sizeof *m);
    m->kind = SW_WIRE_MSG_KEEPALIVE;
}

int sw__wire_parser_next(sw_wire_parser *p, const uint8_t *data, size_t len, size_t *consumed_out,
                         sw_wire_msg *msg_out)
{
    if (p->error)
        return p->error;
    memset(msg_out, 0, sizeof *msg_out);
    if (p->state == ST_LENGTH && p->payload.cap > KEEP_BUFFER_MAX)
        sw__buf_free(&p->payload);

    /* Fast path: at a message boundary with the whole message in this span,
     * decode in place without copying the payload. */
    if (p->state == ST_LENGTH && p->hdr_have == 0 && len >= 4) {
        uint32_t mlen = sw__load_be32(data);
        if (mlen == 0) {
            keepalive(msg_out);
            *consumed_out = 4;
            return 0;
        }
        if (mlen > largest_allowed(p))
            return fail(p, SW_ERR_MESSAGE_TOO_LARGE, "message length %u exceeds %u", mlen,
                        largest_allowed(p));
        if (len >= 5) {
            int rc = check_length(p, mlen, data[4]);
            if (rc < 0)
                return rc;
            if (len - 4 >= mlen) {
                rc = decode(p, data[4], data + 5, mlen - 1, msg_out);
                if (rc < 0)
                    return rc;
                *consumed_out = 4 + (size_t)mlen;
                return 0;
            }
        }
    }

    size_t pos = 0;
    while (pos < len) {
        switch (p->state) {
        case ST_LENGTH: {
            size_t n = 4 - p->hdr_have;
            if (n > len - pos)
                n = len - pos;
            memcpy(p->hdr + p->hdr_have, data + pos, n);
            p->hdr_have += n;
            pos += n;
            if (p->hdr_have < 4)
                break;
            p->hdr_have = 0;
            p->msg_len = sw__load_be32(p->hdr);
            if (p->msg_len == 0) {
                keepalive(msg_out);
                *consumed_out = pos;
                return 0;
            }
            if (p->msg_len > largest_allowed(p))
                return fail(p, SW_ERR_MESSAGE_TOO_LARGE, "message length %u exceeds %u", p->msg_len,
                            largest_allowed(p));
            p->state = ST_ID;
            break;
        }
        case ST_ID: {
            p->id = data[pos++];
            int rc = check_length(p, p->msg_len, p->id);
            if (rc < 0)
                return rc;
            sw__buf_clear(&p->payload);
            if (p->msg_len == 1) {
                p->state = ST_LENGTH;
                rc = decode(p, p->id, NULL, 0, msg_out);
                if (rc < 0)
                    return rc;
                *consumed_out = pos;
                return 0;
            }
            p->state = ST_PAYLOAD;
            break;
        }
        case ST_PAYLOAD: {
            size_t want = (size_t)p->msg_len - 1 - p->payload.len;
            size_t n = want < len - pos ? want : len - pos;
            int rc = sw__buf_append(&p->payload, data + pos, n);
            if (rc < 0)
                return fail(p, rc, "out of memory buffering a %u-byte message", p->msg_len);
            pos += n;
            if (p->payload.len < (size_t)p->msg_len - 1)
                break;
            p->state = ST_LENGTH;
            rc = decode(p, p->id, p->payload.data, p->payload.len, msg_out);
            if (rc < 0)
                return rc;
            *consumed_out = pos;
            return 0;
        }
        }
    }
    *consumed_out = pos;
    return 0;
}
