/* Piece picker: choosing blocks to request from one peer. The order is
 * described in picker.h: priority, then partial pieces, then rarest (or
 * lowest index) new pieces, then end-game duplicates. */
#include <stdlib.h>

#include "picker_internal.h"

typedef struct pick_ctx {
    sw_picker *p;
    const sw_pick_params *pp;
    sw_picker_block *out;
    int max_out;
    int want;
    int got;
    bool whole;
    bool partials_first; /* partials were handled before the new-piece walk */
} pick_ctx;

typedef struct partial_cand {
    uint64_t key; /* larger is better */
    int piece;
} partial_cand;

void sw__pick_params_init(sw_pick_params *params)
{
    *params = (sw_pick_params){
        .flags = SW_PICK_PRIORITIZE_PARTIALS,
        .speed = SW_PICKER_SPEED_NONE,
        .max_requesters = SW_PICKER_DEFAULT_MAX_REQUESTERS,
    };
}

static bool peer_has(const pick_ctx *c, int i)
{
    const sw_pick_params *pp = c->pp;
    if (pp->has_all)
        return true;
    if (pp->has_fn)
        return pp->has_fn(pp->has_ctx, i);
    return (pp->bits[i >> 3] >> (7 - (i & 7))) & 1;
}

static bool done(const pick_ctx *c)
{
    return c->got >= c->want || c->got >= c->max_out;
}

static void emit(pick_ctx *c, int piece, int block)
{
    c->out[c->got++] = (sw_picker_block){piece, block};
}

/* In whole-piece mode a started piece is taken completely (room allowing),
 * even past num_blocks; otherwise stop at num_blocks. */
static bool block_room(const pick_ctx *c)
{
    return c->got < c->max_out && (c->whole || c->got < c->want);
}

/* No peer but this one has requested or sent any block of the piece. */
static bool exclusive_to(const sw__picker_dl *d, const void *peer)
{
    for (int j = 0; j < d->num_blocks; j++) {
        const sw__picker_blk *blk = &d->blocks[j];
        if (blk->sender && blk->sender != peer)
            return false;
        for (int r = 0; r < blk->num_requesters; r++)
            if (blk->requesters[r] != peer)
                return false;
    }
    return true;
}

static void take_free_blocks(pick_ctx *c, const sw__picker_dl *d)
{
    for (int j = 0; j < d->num_blocks && block_room(c); j++)
        if (d->blocks[j].state == SW_PICKER_BLOCK_NONE)
            emit(c, d->piece, j);
}

static void take_new_piece(pick_ctx *c, int i)
{
    int nb = sw__picker_pblocks(c->p, i);
    for (int j = 0; j < nb && block_room(c); j++)
        emit(c, i, j);
}

/* A piece met by the new-piece walk (rarity buckets or index scan). */
static void consider(pick_ctx *c, int i)
{
    const sw__picker_piece *pc = &c->p->pieces[i];
    if (!sw__picker_wanted(pc))
        return;
    const sw__picker_dl *d = sw__picker_dl_of(c->p, i);
    if (d && (c->partials_first || d->state != SW_PICKER_PIECE_DOWNLOADING))
        return;
    if (d && c->whole && !exclusive_to(d, c->pp->peer))
        return;
    if (!peer_has(c, i))
        return;
    if (d)
        take_free_blocks(c, d);
    else
        take_new_piece(c, i);
}

static int cmp_cand(const void *a, const void *b)
{
    const partial_cand *x = a, *y = b;
    if (x->key != y->key)
        return x->key > y->key ? -1 : 1;
    return (x->piece > y->piece) - (x->piece < y->piece);
}

/* Partial pieces this peer can help with, best first: priority, then same
 * speed class, most blocks already in flight or done, rarest; or, in
 * sequential mode, lowest (reversed: highest) index. */
static int collect_partials(pick_ctx *c, partial_cand **cands_out, int *n_out)
{
    sw_picker *p = c->p;
    partial_cand *cands;
    int rc = sw__picker_scratch(p, (size_t)p->num_dl * sizeof *cands + 1, (void **)&cands);
    if (rc < 0)
        return rc;
    int n = 0;
    for (int k = 0; k < p->num_dl; k++) {
        const sw__picker_dl *d = &p->dl[k];
        const sw__picker_piece *pc = &p->pieces[d->piece];
        if (d->state != SW_PICKER_PIECE_DOWNLOADING || pc->prio == 0)
            continue;
        uint64_t busy = (uint64_t)(d->requested + d->writing + d->finished);
        if ((int)busy == d->num_blocks)
            continue;
        if (c->whole && !exclusive_to(d, c->pp->peer))
            continue;
        if (!peer_has(c, d->piece))
            continue;
        uint64_t rest;
        if (c->pp->flags & SW_PICK_SEQUENTIAL) {
            uint64_t idx = (uint64_t)d->piece;
            rest = (c->pp->flags & SW_PICK_REVERSE) ? idx : UINT32_MAX - idx;
        } else {
            bool same_speed = c->pp->speed != SW_PICKER_SPEED_NONE && d->speed == c->pp->speed;
            rest = (uint64_t)same_speed << 59 | (busy < (1u << 27) ? busy : (1u << 27) - 1) << 32 |
                   (UINT32_MAX - (uint64_t)pc->avail);
        }
        cands[n].key = (uint64_t)pc->prio << 60 | rest;
        cands[n].piece = d->piece;
        n++;
    }
    qsort(cands, (size_t)n, sizeof *cands, cmp_cand);
    *cands_out = cands;
    *n_out = n;
    return 0;
}

/* One bucket, starting at a random slot so peers spread over equally rare
 * pieces. */
static void walk_bucket(pick_ctx *c, int k)
{
    sw_picker *p = c->p;
    int32_t s = p->bucket_start[k], e = p->bucket_start[k + 1];
    if (e <= s)
        return;
    int32_t r = s + (int32_t)sw__picker_rand_below(p, (uint32_t)(e - s));
    for (int32_t j = r; j < e && !done(c); j++)
        consider(c, p->order[j]);
    for (int32_t j = s; j < r && !done(c); j++)
        consider(c, p->order[j]);
}

static void rarest_level(pick_ctx *c, int prio)
{
    sw_picker *p = c->p;
    int first = (SW_PICKER_PRIORITY_MAX - prio) * p->stride;
    int last = first + p->stride - 1;
    if (c->pp->flags & SW_PICK_REVERSE) {
        for (int k = last; k >= first && !done(c); k--)
            walk_bucket(c, k);
    } else {
        for (int k = first; k <= last && !done(c); k++)
            walk_bucket(c, k);
    }
}

/* Lowest (or, reversed, highest) index first among this priority's pieces.
 * The level's size, read off the bucket bounds, ends the scan early. */
static void sequential_level(pick_ctx *c, int prio)
{
    sw_picker *p = c->p;
    int first = (SW_PICKER_PRIORITY_MAX - prio) * p->stride;
    int32_t left = p->bucket_start[first + p->stride] - p->bucket_start[first];
    if (c->pp->flags & SW_PICK_REVERSE) {
        for (int i = p->num_pieces - 1; i >= p->cursor && left > 0 && !done(c); i--) {
            if (p->pieces[i].prio == prio && !p->pieces[i].have) {
                left--;
                consider(c, i);
            }
        }
    } else {
        for (int i = p->cursor; i < p->num_pieces && left > 0 && !done(c); i++) {
            if (p->pieces[i].prio == prio && !p->pieces[i].have) {
                left--;
                consider(c, i);
            }
        }
    }
}

static bool requested_by(const sw__picker_blk *blk, const void *peer)
{
    for (int r = 0; r < blk->num_requesters; r++)
        if (blk->requesters[r] == peer)
            return true;
    return false;
}

/* End-game: blocks other peers are already fetching, least-duplicated
 * first, starting at a random record so peers spread out. */
static void end_game(pick_ctx *c)
{
    sw_picker *p = c->p;
    if (p->num_dl == 0)
        return;
    int start = (int)sw__picker_rand_below(p, (uint32_t)p->num_dl);
    for (int nreq = 1; nreq < c->pp->max_requesters && !done(c); nreq++) {
        for (int step = 0; step < p->num_dl && !done(c); step++) {
            const sw__picker_dl *d = &p->dl[(start + step) % p->num_dl];
            if (d->state != SW_PICKER_PIECE_DOWNLOADING || d->requested == 0 ||
                p->pieces[d->piece].prio == 0)
                continue;
            if (c->whole && !exclusive_to(d, c->pp->peer))
                continue;
            if (!peer_has(c, d->piece))
                continue;
            for (int j = 0; j < d->num_blocks && !done(c); j++) {
                const sw__picker_blk *blk = &d->blocks[j];
                if (blk->state == SW_PICKER_BLOCK_REQUESTED && blk->num_requesters == nreq &&
                    !requested_by(blk, c->pp->peer))
                    emit(c, d->piece, j);
            }
        }
    }
}

int sw__picker_pick(sw_picker *p, const sw_pick_params *params, sw_picker_block *out, int max_out,
                    int *n_out)
{
    if (!p || !params || !n_out || !params->peer || max_out < 0 || (max_out > 0 && !out) ||
        params->num_blocks < 0 || params->max_requesters < 1 ||
        params->max_requesters > SW_PICKER_MAX_REQUESTERS ||
        (!params->has_all && !params->has_fn && !params->bits))
        return SW_ERR_INVALID_ARG;
    *n_out = 0;
    pick_ctx c = {
        .p = p,
        .pp = params,
        .out = out,
        .max_out = max_out,
        .want = params->num_blocks,
        .whole = (params->flags & SW_PICK_WHOLE_PIECES) != 0,
        .partials_first = (params->flags & SW_PICK_PRIORITIZE_PARTIALS) != 0,
    };
    if (done(&c))
        return 0;
    int rc = sw__picker_order_ensure(p);
    if (rc < 0)
        return rc;

    partial_cand *cands = NULL;
    int num_cands = 0, next = 0;
    if (c.partials_first) {
        rc = collect_partials(&c, &cands, &num_cands);
        if (rc < 0)
            return rc;
    }
    for (int prio = SW_PICKER_PRIORITY_MAX; prio >= 1 && !done(&c); prio--) {
        for (; next < num_cands && !done(&c); next++) {
            if ((int)(cands[next].key >> 60) != prio)
                break;
            take_free_blocks(&c, sw__picker_dl_of(p, cands[next].piece));
        }
        if (done(&c))
            break;
        if (params->flags & SW_PICK_SEQUENTIAL)
            sequential_level(&c, prio);
        else
            rarest_level(&c, prio);
    }

    if (!done(&c) &&
        (p->free_blocks == 0 || ((params->flags & SW_PICK_NONSTRICT_END_GAME) && c.got == 0)))
        end_game(&c);
    *n_out = c.got;
    return 0;
}
