/* Piece picker: lifetime, geometry, availability, priorities, counters and
 * queries. Block events live in picker_blocks.c, the pick itself in
 * picker_pick.c, the rarity order in picker_order.c. */
#include <stdlib.h>
#include <string.h>

#include "picker_internal.h"

/* A count this high means a caller bug (peers are counted once each); it also
 * keeps the rarity order's bucket array small. */
#define SW__PICKER_AVAIL_MAX (1u << 24)

int sw__picker_new(int num_pieces, int piece_length, int64_t total_size, uint64_t seed,
                   sw_picker **picker_out)
{
    if (!picker_out || num_pieces < 1 || piece_length < 1 || total_size < 1)
        return SW_ERR_INVALID_ARG;
    int64_t before_last = (int64_t)(num_pieces - 1) * piece_length;
    if (total_size <= before_last || total_size - before_last > piece_length)
        return SW_ERR_INVALID_ARG;

    sw_picker *p = calloc(1, sizeof *p);
    if (!p)
        return SW_ERR_NOMEM;
    p->num_pieces = num_pieces;
    p->piece_length = piece_length;
    p->last_piece_size = (int)(total_size - before_last);
    p->blocks_per_piece = (piece_length + SW_PICKER_BLOCK_SIZE - 1) / SW_PICKER_BLOCK_SIZE;
    p->total_size = total_size;
    p->rng = seed;
    p->stride = 16;
    p->order_dirty = true; /* built on the first pick, after resume and bitfields */

    p->pieces = malloc((size_t)num_pieces * sizeof *p->pieces);
    p->order = malloc((size_t)num_pieces * sizeof *p->order);
    p->pos = malloc((size_t)num_pieces * sizeof *p->pos);
    if (!p->pieces || !p->order || !p->pos) {
        sw__picker_free(p);
        return SW_ERR_NOMEM;
    }
    for (int i = 0; i < num_pieces; i++) {
        p->pieces[i] = (sw__picker_piece){.avail = 0, .dl = -1, .prio = SW_PICKER_PRIORITY_DEFAULT};
        p->free_blocks += sw__picker_pblocks(p, i);
    }
    p->num_wanted = num_pieces;
    *picker_out = p;
    return 0;
}

void sw__picker_free(sw_picker *p)
{
    if (!p)
        return;
    for (int k = 0; k < p->num_dl; k++)
        free(p->dl[k].blocks);
    for (int k = 0; k < p->pool_count; k++)
        free(p->blk_pool[k]);
    free(p->blk_pool);
    free(p->dl);
    free(p->bucket_start);
    free(p->pos);
    free(p->order);
    free(p->pieces);
    free(p->scratch);
    free(p);
}

/* ---- counters ------------------------------------------------------------ */

static void account(sw_picker *p, int i, int sign)
{
    const sw__picker_piece *pc = &p->pieces[i];
    if (pc->have)
        p->num_have += sign;
    if (pc->prio == 0)
        return;
    p->num_wanted += sign;
    if (pc->have)
        p->num_wanted_have += sign;
    else
        p->free_blocks += (int64_t)sign * sw__picker_free_in(p, i);
}

int sw__picker_piece_begin(sw_picker *p, int i)
{
    account(p, i, -1);
    return sw__picker_order_key(p, i);
}

void sw__picker_piece_end(sw_picker *p, int i, int old_key)
{
    account(p, i, +1);
    sw__picker_order_move(p, i, old_key);
    if (!p->pieces[i].have && i < p->cursor)
        p->cursor = i;
    while (p->cursor < p->num_pieces && p->pieces[p->cursor].have)
        p->cursor++;
}

/* ---- geometry ------------------------------------------------------------ */

static bool piece_ok(const sw_picker *p, int piece)
{
    return piece >= 0 && piece < p->num_pieces;
}

int sw__picker_num_pieces(const sw_picker *p)
{
    return p->num_pieces;
}

int sw__picker_piece_size(const sw_picker *p, int piece)
{
    return piece_ok(p, piece) ? sw__picker_psize(p, piece) : 0;
}

int sw__picker_blocks_in_piece(const sw_picker *p, int piece)
{
    return piece_ok(p, piece) ? sw__picker_pblocks(p, piece) : 0;
}

int sw__picker_block_size(const sw_picker *p, sw_picker_block b)
{
    if (!piece_ok(p, b.piece) || b.block < 0 || b.block >= sw__picker_pblocks(p, b.piece))
        return 0;
    return sw__picker_bsize(p, b.piece, b.block);
}

int sw__picker_block_from_wire(const sw_picker *p, int piece, int64_t begin, int64_t length,
                               sw_picker_block *block_out)
{
    if (!piece_ok(p, piece) || begin < 0 || begin % SW_PICKER_BLOCK_SIZE != 0 ||
        begin >= sw__picker_psize(p, piece))
        return SW_ERR_INVALID_ARG;
    int block = (int)(begin / SW_PICKER_BLOCK_SIZE);
    if (length != sw__picker_bsize(p, piece, block))
        return SW_ERR_INVALID_ARG;
    block_out->piece = piece;
    block_out->block = block;
    return 0;
}

/* ---- availability -------------------------------------------------------- */

int sw__picker_inc_have(sw_picker *p, int piece)
{
    if (!piece_ok(p, piece))
        return SW_ERR_INVALID_ARG;
    sw__picker_piece *pc = &p->pieces[piece];
    if (pc->avail >= SW__PICKER_AVAIL_MAX)
        return SW_ERR_LIMIT;
    int old = sw__picker_order_key(p, piece);
    pc->avail++;
    sw__picker_order_move(p, piece, old);
    return 0;
}

int sw__picker_dec_have(sw_picker *p, int piece)
{
    if (!piece_ok(p, piece) || p->pieces[piece].avail == 0)
        return SW_ERR_INVALID_ARG;
    int old = sw__picker_order_key(p, piece);
    p->pieces[piece].avail--;
    sw__picker_order_move(p, piece, old);
    return 0;
}

static inline uint32_t bit_at(const uint8_t *bits, int i)
{
    return (bits[i >> 3] >> (7 - (i & 7))) & 1u;
}

/* Whole-set changes touch most pieces: rather than moving each piece in the
 * rarity order, mark it dirty and let the next pick rebuild it once. The
 * loops are branch-free on the bit value: peer sets look random, and a
 * mispredicted branch per piece would cost more than the arithmetic. */
static int apply_bitfield(sw_picker *p, const uint8_t *bits, int delta)
{
    if (!bits)
        return SW_ERR_INVALID_ARG;
    int n = p->num_pieces;
    /* A count of 0 cannot go down, SW__PICKER_AVAIL_MAX cannot go up. */
    uint32_t limit = delta < 0 ? 0 : SW__PICKER_AVAIL_MAX;
    uint32_t bad = 0, any = 0;
    for (int i = 0; i < n; i++)
        bad |= bit_at(bits, i) & (p->pieces[i].avail == limit);
    if (bad)
        return delta < 0 ? SW_ERR_INVALID_ARG : SW_ERR_LIMIT;
    for (int i = 0; i < n; i++) {
        uint32_t bit = bit_at(bits, i);
        p->pieces[i].avail += delta < 0 ? 0u - bit : bit;
        any |= bit;
    }
    if (any)
        p->order_dirty = true;
    return 0;
}

int sw__picker_inc_bitfield(sw_picker *p, const uint8_t *bits)
{
    return apply_bitfield(p, bits, +1);
}

int sw__picker_dec_bitfield(sw_picker *p, const uint8_t *bits)
{
    return apply_bitfield(p, bits, -1);
}

void sw__picker_inc_have_all(sw_picker *p)
{
    p->num_seeds++;
}

int sw__picker_dec_have_all(sw_picker *p)
{
    if (p->num_seeds == 0)
        return SW_ERR_INVALID_ARG;
    p->num_seeds--;
    return 0;
}

uint32_t sw__picker_availability(const sw_picker *p, int piece)
{
    return piece_ok(p, piece) ? p->pieces[piece].avail + p->num_seeds : 0;
}

uint32_t sw__picker_num_seeds(const sw_picker *p)
{
    return p->num_seeds;
}

/* ---- priorities ---------------------------------------------------------- */

int sw__picker_set_piece_priority(sw_picker *p, int piece, int priority)
{
    if (!piece_ok(p, piece) || priority < 0 || priority > SW_PICKER_PRIORITY_MAX)
        return SW_ERR_INVALID_ARG;
    if (p->pieces[piece].prio == priority)
        return 0;
    int old = sw__picker_piece_begin(p, piece);
    p->pieces[piece].prio = (uint8_t)priority;
    sw__picker_piece_end(p, piece, old);
    return 0;
}

int sw__picker_piece_priority(const sw_picker *p, int piece)
{
    return piece_ok(p, piece) ? p->pieces[piece].prio : -1;
}

int sw__picker_set_priorities(sw_picker *p, const uint8_t *prio)
{
    if (!prio)
        return SW_ERR_INVALID_ARG;
    for (int i = 0; i < p->num_pieces; i++)
        if (prio[i] > SW_PICKER_PRIORITY_MAX)
            return SW_ERR_INVALID_ARG;
    for (int i = 0; i < p->num_pieces; i++) {
        if (p->pieces[i].prio == prio[i])
            continue;
        account(p, i, -1);
        p->pieces[i].prio = prio[i];
        account(p, i, +1);
        p->order_dirty = true;
    }
    return 0;
}

void sw__picker_get_priorities(const sw_picker *p, uint8_t *prio_out)
{
    for (int i = 0; i < p->num_pieces; i++)
        prio_out[i] = p->pieces[i].prio;
}

/* ---- have ---------------------------------------------------------------- */

int sw__picker_we_have(sw_picker *p, int piece)
{
    if (!piece_ok(p, piece))
        return SW_ERR_INVALID_ARG;
    if (p->pieces[piece].have)
        return 0;
    int old = sw__picker_piece_begin(p, piece);
    if (p->pieces[piece].dl >= 0)
        sw__picker_dl_release(p, piece);
    p->pieces[piece].have = 1;
    sw__picker_piece_end(p, piece, old);
    return 0;
}

int sw__picker_we_dont_have(sw_picker *p, int piece)
{
    if (!piece_ok(p, piece))
        return SW_ERR_INVALID_ARG;
    if (!p->pieces[piece].have)
        return 0;
    int old = sw__picker_piece_begin(p, piece);
    p->pieces[piece].have = 0;
    sw__picker_piece_end(p, piece, old);
    return 0;
}

/* ---- queries ------------------------------------------------------------- */

sw_picker_piece_state sw__picker_piece_state(const sw_picker *p, int piece)
{
    if (!piece_ok(p, piece))
        return SW_PICKER_PIECE_NONE;
    if (p->pieces[piece].have)
        return SW_PICKER_PIECE_HAVE;
    const sw__picker_dl *d = sw__picker_dl_of(p, piece);
    return d ? (sw_picker_piece_state)d->state : SW_PICKER_PIECE_NONE;
}

bool sw__picker_have(const sw_picker *p, int piece)
{
    return piece_ok(p, piece) && p->pieces[piece].have;
}

bool sw__picker_is_wanted(const sw_picker *p, int piece)
{
    return piece_ok(p, piece) && sw__picker_wanted(&p->pieces[piece]);
}

int sw__picker_piece_fail_count(const sw_picker *p, int piece)
{
    return piece_ok(p, piece) ? p->pieces[piece].fails : 0;
}

int sw__picker_num_have(const sw_picker *p)
{
    return p->num_have;
}

int sw__picker_num_wanted(const sw_picker *p)
{
    return p->num_wanted;
}

bool sw__picker_is_finished(const sw_picker *p)
{
    return p->num_wanted_have == p->num_wanted;
}

bool sw__picker_is_seed(const sw_picker *p)
{
    return p->num_have == p->num_pieces;
}

bool sw__picker_in_end_game(const sw_picker *p)
{
    return p->free_blocks == 0;
}

/* Bytes of `count` pieces where `last_in` says whether the short last piece
 * is one of them. */
static int64_t pieces_bytes(const sw_picker *p, int count, bool last_in)
{
    int64_t bytes = (int64_t)count * p->piece_length;
    return last_in ? bytes - (p->piece_length - p->last_piece_size) : bytes;
}

static int64_t finished_bytes(const sw_picker *p, const sw__picker_dl *d)
{
    int64_t bytes = (int64_t)d->finished * SW_PICKER_BLOCK_SIZE;
    int last = d->num_blocks - 1;
    if (d->blocks[last].state == SW_PICKER_BLOCK_FINISHED)
        bytes -= SW_PICKER_BLOCK_SIZE - sw__picker_bsize(p, d->piece, last);
    return bytes;
}

void sw__picker_progress(const sw_picker *p, sw_picker_progress *out)
{
    const sw__picker_piece *last = &p->pieces[p->num_pieces - 1];
    out->total_bytes = p->total_size;
    out->have_bytes = pieces_bytes(p, p->num_have, last->have);
    out->wanted_bytes = pieces_bytes(p, p->num_wanted, last->prio > 0);
    out->wanted_have_bytes = pieces_bytes(p, p->num_wanted_have, last->prio > 0 && last->have);
    out->done_bytes = out->have_bytes;
    out->wanted_done_bytes = out->wanted_have_bytes;
    for (int k = 0; k < p->num_dl; k++) {
        int64_t b = finished_bytes(p, &p->dl[k]);
        out->done_bytes += b;
        if (p->pieces[p->dl[k].piece].prio > 0)
            out->wanted_done_bytes += b;
    }
}
