/* Checks of parsed messages against what the torrent and the handshake say:
 * the parser only knows framing, these know piece geometry and features. */
#include "wire.h"

#include <stdarg.h>
#include <stdio.h>

void sw__wire_facts_init(sw_wire_torrent_facts *f, uint32_t num_pieces, uint32_t piece_length,
                         uint32_t last_piece_length)
{
    f->num_pieces = num_pieces;
    f->piece_length = piece_length;
    f->last_piece_length = last_piece_length;
    f->max_request = SW_WIRE_BLOCK_SIZE;
    f->features = 0;
}

uint32_t sw__wire_piece_size(const sw_wire_torrent_facts *f, uint32_t index)
{
    if (index >= f->num_pieces)
        return 0;
    return index + 1 == f->num_pieces ? f->last_piece_length : f->piece_length;
}

bool sw__wire_valid_piece_index(const sw_wire_torrent_facts *f, uint32_t index)
{
    return f->num_pieces == 0 || index < f->num_pieces;
}

bool sw__wire_valid_block(const sw_wire_torrent_facts *f, uint32_t index, uint32_t begin,
                          uint32_t length, uint32_t max_length)
{
    if (index >= f->num_pieces || length == 0 || length > max_length)
        return false;
    /* 64-bit sum: begin + length can wrap in 32 bits. */
    return (uint64_t)begin + length <= sw__wire_piece_size(f, index);
}

__attribute__((format(printf, 3, 4))) static int reject(char *reason, size_t reason_len,
                                                        const char *fmt, ...)
{
    if (reason && reason_len > 0) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(reason, reason_len, fmt, ap);
        va_end(ap);
    }
    return SW_ERR_PROTOCOL;
}

static bool is_fast_message(sw_wire_msg_kind kind)
{
    switch (kind) {
    case SW_WIRE_MSG_SUGGEST:
    case SW_WIRE_MSG_HAVE_ALL:
    case SW_WIRE_MSG_HAVE_NONE:
    case SW_WIRE_MSG_REJECT:
    case SW_WIRE_MSG_ALLOWED_FAST:
        return true;
    default:
        return false;
    }
}

/* A request, cancel or reject names a block: it must lie inside a piece.
 * Requests are also bounded by what we serve. */
static int check_block(const sw_wire_msg *m, const sw_wire_torrent_facts *f, char *reason,
                       size_t reason_len)
{
    const char *what = sw__wire_msg_kind_name(m->kind);
    if (f->num_pieces == 0)
        return reject(reason, reason_len, "%s before the torrent's metadata is known", what);
    if (m->index >= f->num_pieces)
        return reject(reason, reason_len, "%s for piece %u of %u", what, m->index, f->num_pieces);
    if (m->kind == SW_WIRE_MSG_REQUEST && m->length > f->max_request)
        return reject(reason, reason_len, "request of %u bytes exceeds %u", m->length,
                      f->max_request);
    if (!sw__wire_valid_block(f, m->index, m->begin, m->length, UINT32_MAX))
        return reject(reason, reason_len, "%s %u+%u outside piece %u of %u bytes", what, m->begin,
                      m->length, m->index, sw__wire_piece_size(f, m->index));
    return 0;
}

int sw__wire_msg_check(const sw_wire_msg *m, const sw_wire_torrent_facts *f, char *reason,
                       size_t reason_len)
{
    if (is_fast_message(m->kind) && !(f->features & SW_WIRE_FEATURE_FAST))
        return reject(reason, reason_len, "%s without the fast extension",
                      sw__wire_msg_kind_name(m->kind));
    if (m->kind == SW_WIRE_MSG_EXTENDED && !(f->features & SW_WIRE_FEATURE_EXTENSION))
        return reject(reason, reason_len, "extended message without the extension protocol");

    switch (m->kind) {
    case SW_WIRE_MSG_HAVE:
    case SW_WIRE_MSG_SUGGEST:
    case SW_WIRE_MSG_ALLOWED_FAST:
        if (!sw__wire_valid_piece_index(f, m->index))
            return reject(reason, reason_len, "%s for piece %u of %u",
                          sw__wire_msg_kind_name(m->kind), m->index, f->num_pieces);
        return 0;
    case SW_WIRE_MSG_REQUEST:
    case SW_WIRE_MSG_CANCEL:
    case SW_WIRE_MSG_REJECT:
        return check_block(m, f, reason, reason_len);
    case SW_WIRE_MSG_PIECE:
        if (f->num_pieces == 0)
            return reject(reason, reason_len, "piece before the torrent's metadata is known");
        if (!sw__wire_valid_block(f, m->index, m->begin, m->length, UINT32_MAX))
            return reject(reason, reason_len, "piece block %u+%u outside piece %u (%u bytes)",
                          m->begin, m->length, m->index, sw__wire_piece_size(f, m->index));
        return 0;
    case SW_WIRE_MSG_BITFIELD:
        if (f->num_pieces > 0 && m->len != sw__bitfield_raw_len(f->num_pieces))
            return reject(reason, reason_len, "bitfield of %zu bytes for %u pieces", m->len,
                          f->num_pieces);
        if (f->num_pieces > 0 && f->num_pieces % 8 != 0 &&
            (m->data[m->len - 1] & (0xFF >> (f->num_pieces % 8))))
            return reject(reason, reason_len, "bitfield has spare bits set");
        return 0;
    default:
        return 0;
    }
}
