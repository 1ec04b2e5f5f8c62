/* Piece picker: download records and the block/piece events that move
 * blocks through NONE -> REQUESTED -> WRITING -> FINISHED and pieces through
 * DOWNLOADING -> HASH_PENDING -> HAVE or FAILED. */
#include <stdlib.h>
#include <string.h>

#include "picker_internal.h"

/* Released block arrays kept for reuse: pieces start and finish all the
 * time, and the arrays are all the same size. */
#define SW__PICKER_POOL_MAX 64

int sw__picker_scratch(sw_picker *p, size_t size, void **out)
{
    if (size > p->scratch_size) {
        void *s = realloc(p->scratch, size);
        if (!s)
            return SW_ERR_NOMEM;
        p->scratch = s;
        p->scratch_size = size;
    }
    *out = p->scratch;
    return 0;
}

static int dl_create(sw_picker *p, int i, int speed, sw__picker_dl **out)
{
    if (p->num_dl == p->cap_dl) {
        int cap = p->cap_dl ? p->cap_dl * 2 : 16;
        sw__picker_dl *dl = realloc(p->dl, (size_t)cap * sizeof *dl);
        if (!dl)
            return SW_ERR_NOMEM;
        p->dl = dl;
        p->cap_dl = cap;
    }
    int nb = sw__picker_pblocks(p, i);
    sw__picker_blk *blocks;
    if (p->pool_count > 0) {
        blocks = p->blk_pool[--p->pool_count];
    } else {
        blocks = malloc((size_t)p->blocks_per_piece * sizeof *blocks);
        if (!blocks)
            return SW_ERR_NOMEM;
    }
    memset(blocks, 0, (size_t)nb * sizeof *blocks);
    sw__picker_dl *d = &p->dl[p->num_dl];
    *d = (sw__picker_dl){
        .piece = i,
        .state = SW_PICKER_PIECE_DOWNLOADING,
        .speed =
            (uint8_t)(speed >= SW_PICKER_SPEED_NONE && speed <= SW_PICKER_SPEED_FAST ? speed : 0),
        .num_blocks = nb,
        .blocks = blocks,
    };
    p->pieces[i].dl = p->num_dl++;
    *out = d;
    return 0;
}

void sw__picker_dl_release(sw_picker *p, int i)
{
    int32_t k = p->pieces[i].dl;
    sw__picker_blk *blocks = p->dl[k].blocks;
    if (p->pool_count < SW__PICKER_POOL_MAX) {
        if (p->pool_count == p->pool_cap) {
            int cap = p->pool_cap ? p->pool_cap * 2 : 8;
            sw__picker_blk **pool = realloc(p->blk_pool, (size_t)cap * sizeof *pool);
            if (pool) {
                p->blk_pool = pool;
                p->pool_cap = cap;
            }
        }
        if (p->pool_count < p->pool_cap)
            p->blk_pool[p->pool_count++] = blocks;
        else
            free(blocks);
    } else {
        free(blocks);
    }
    int32_t last = p->num_dl - 1;
    if (k != last) {
        p->dl[k] = p->dl[last];
        p->pieces[p->dl[k].piece].dl = k;
    }
    p->num_dl--;
    p->pieces[i].dl = -1;
}

/* A DOWNLOADING record with every block free again is dropped, so the piece
 * counts as not started. */
static void drop_if_empty(sw_picker *p, int i)
{
    const sw__picker_dl *d = sw__picker_dl_of(p, i);
    if (d && d->state == SW_PICKER_PIECE_DOWNLOADING &&
        d->requested + d->writing + d->finished == 0)
        sw__picker_dl_release(p, i);
}

static bool block_ok(const sw_picker *p, sw_picker_block b)
{
    return b.piece >= 0 && b.piece < p->num_pieces && b.block >= 0 &&
           b.block < sw__picker_pblocks(p, b.piece);
}

static int find_requester(const sw__picker_blk *blk, const void *peer)
{
    for (int r = 0; r < blk->num_requesters; r++)
        if (blk->requesters[r] == peer)
            return r;
    return -1;
}

/* Removes requester r; the caller keeps the piece's counters in step. */
static void remove_requester(sw__picker_dl *d, sw__picker_blk *blk, int r)
{
    for (int j = r + 1; j < blk->num_requesters; j++)
        blk->requesters[j - 1] = blk->requesters[j];
    blk->requesters[--blk->num_requesters] = NULL;
    if (blk->num_requesters == 0) {
        blk->state = SW_PICKER_BLOCK_NONE;
        d->requested--;
    }
}

int sw__picker_mark_requested(sw_picker *p, sw_picker_block b, void *peer, int speed)
{
    if (!block_ok(p, b) || !peer || p->pieces[b.piece].have)
        return SW_ERR_INVALID_ARG;
    sw__picker_dl *d = sw__picker_dl_of(p, b.piece);
    if (d) {
        if (d->state != SW_PICKER_PIECE_DOWNLOADING)
            return SW_ERR_INVALID_ARG;
        const sw__picker_blk *blk = &d->blocks[b.block];
        if (blk->state == SW_PICKER_BLOCK_WRITING || blk->state == SW_PICKER_BLOCK_FINISHED)
            return SW_ERR_EXISTS;
        if (find_requester(blk, peer) >= 0)
            return SW_ERR_EXISTS;
        if (blk->num_requesters >= SW_PICKER_MAX_REQUESTERS)
            return SW_ERR_LIMIT;
    } else {
        int rc = dl_create(p, b.piece, speed, &d);
        if (rc < 0)
            return rc;
    }
    int old = sw__picker_piece_begin(p, b.piece);
    sw__picker_blk *blk = &d->blocks[b.block];
    if (blk->state == SW_PICKER_BLOCK_NONE) {
        blk->state = SW_PICKER_BLOCK_REQUESTED;
        d->requested++;
    }
    blk->requesters[blk->num_requesters++] = peer;
    sw__picker_piece_end(p, b.piece, old);
    return 0;
}

int sw__picker_abort_request(sw_picker *p, sw_picker_block b, void *peer)
{
    if (!block_ok(p, b) || !peer)
        return SW_ERR_INVALID_ARG;
    sw__picker_dl *d = sw__picker_dl_of(p, b.piece);
    if (!d)
        return SW_ERR_NOT_FOUND;
    sw__picker_blk *blk = &d->blocks[b.block];
    int r = find_requester(blk, peer);
    if (r < 0)
        return SW_ERR_NOT_FOUND;
    int old = sw__picker_piece_begin(p, b.piece);
    remove_requester(d, blk, r);
    drop_if_empty(p, b.piece);
    sw__picker_piece_end(p, b.piece, old);
    return 0;
}

/* Walks records from the end, so releasing record k (which moves the last
 * record, already visited, into slot k) never skips one. */
static int sweep_peer(sw_picker *p, const void *peer, bool forget_sender)
{
    int aborted = 0;
    for (int k = p->num_dl - 1; k >= 0; k--) {
        sw__picker_dl *d = &p->dl[k];
        int piece = d->piece;
        int old = sw__picker_piece_begin(p, piece);
        for (int j = 0; j < d->num_blocks; j++) {
            sw__picker_blk *blk = &d->blocks[j];
            int r = find_requester(blk, peer);
            if (r >= 0) {
                remove_requester(d, blk, r);
                aborted++;
            }
            if (forget_sender && blk->sender == peer)
                blk->sender = NULL;
        }
        drop_if_empty(p, piece);
        sw__picker_piece_end(p, piece, old);
    }
    return aborted;
}

void sw__picker_abort_peer(sw_picker *p, void *peer, int *n_out)
{
    int n = peer ? sweep_peer(p, peer, false) : 0;
    if (n_out)
        *n_out = n;
}

void sw__picker_forget_peer(sw_picker *p, void *peer)
{
    if (peer)
        sweep_peer(p, peer, true);
}

int sw__picker_mark_received(sw_picker *p, sw_picker_block b, void *peer,
                             void *others_out[SW_PICKER_MAX_REQUESTERS], int *n_others_out)
{
    if (!block_ok(p, b) || !peer || !n_others_out)
        return SW_ERR_INVALID_ARG;
    *n_others_out = 0;
    if (p->pieces[b.piece].have)
        return SW_ERR_EXISTS;
    sw__picker_dl *d = sw__picker_dl_of(p, b.piece);
    if (d && d->state != SW_PICKER_PIECE_DOWNLOADING)
        return SW_ERR_EXISTS; /* every block is already written */
    if (d) {
        const sw__picker_blk *blk = &d->blocks[b.block];
        if (blk->state == SW_PICKER_BLOCK_WRITING || blk->state == SW_PICKER_BLOCK_FINISHED)
            return SW_ERR_EXISTS;
    } else {
        int rc = dl_create(p, b.piece, SW_PICKER_SPEED_NONE, &d);
        if (rc < 0)
            return rc;
    }
    int old = sw__picker_piece_begin(p, b.piece);
    sw__picker_blk *blk = &d->blocks[b.block];
    int n = 0;
    for (int r = 0; r < blk->num_requesters; r++) {
        if (blk->requesters[r] != peer)
            others_out[n++] = blk->requesters[r];
        blk->requesters[r] = NULL;
    }
    if (blk->state == SW_PICKER_BLOCK_REQUESTED)
        d->requested--;
    blk->num_requesters = 0;
    blk->state = SW_PICKER_BLOCK_WRITING;
    blk->sender = peer;
    d->writing++;
    sw__picker_piece_end(p, b.piece, old);
    *n_others_out = n;
    return 0;
}

int sw__picker_mark_write_failed(sw_picker *p, sw_picker_block b)
{
    if (!block_ok(p, b))
        return SW_ERR_INVALID_ARG;
    sw__picker_dl *d = sw__picker_dl_of(p, b.piece);
    if (!d || d->blocks[b.block].state != SW_PICKER_BLOCK_WRITING)
        return SW_ERR_INVALID_ARG;
    int old = sw__picker_piece_begin(p, b.piece);
    sw__picker_blk *blk = &d->blocks[b.block];
    blk->state = SW_PICKER_BLOCK_NONE;
    blk->sender = NULL;
    d->writing--;
    drop_if_empty(p, b.piece);
    sw__picker_piece_end(p, b.piece, old);
    return 0;
}

int sw__picker_mark_finished(sw_picker *p, sw_picker_block b, bool *piece_complete_out)
{
    if (!block_ok(p, b) || p->pieces[b.piece].have)
        return SW_ERR_INVALID_ARG;
    sw__picker_dl *d = sw__picker_dl_of(p, b.piece);
    if (d) {
        if (d->state != SW_PICKER_PIECE_DOWNLOADING)
            return SW_ERR_INVALID_ARG;
        uint8_t st = d->blocks[b.block].state;
        if (st == SW_PICKER_BLOCK_FINISHED)
            return SW_ERR_EXISTS;
        if (st == SW_PICKER_BLOCK_REQUESTED)
            return SW_ERR_INVALID_ARG;
    } else {
        int rc = dl_create(p, b.piece, SW_PICKER_SPEED_NONE, &d);
        if (rc < 0)
            return rc;
    }
    int old = sw__picker_piece_begin(p, b.piece);
    sw__picker_blk *blk = &d->blocks[b.block];
    if (blk->state == SW_PICKER_BLOCK_WRITING)
        d->writing--;
    blk->state = SW_PICKER_BLOCK_FINISHED;
    d->finished++;
    bool complete = d->finished == d->num_blocks;
    if (complete)
        d->state = SW_PICKER_PIECE_HASH_PENDING;
    sw__picker_piece_end(p, b.piece, old);
    if (piece_complete_out)
        *piece_complete_out = complete;
    return 0;
}

static sw__picker_dl *dl_in_state(const sw_picker *p, int piece, int state)
{
    if (piece < 0 || piece >= p->num_pieces)
        return NULL;
    sw__picker_dl *d = sw__picker_dl_of(p, piece);
    return d && d->state == state ? d : NULL;
}

int sw__picker_piece_passed(sw_picker *p, int piece)
{
    if (!dl_in_state(p, piece, SW_PICKER_PIECE_HASH_PENDING))
        return SW_ERR_INVALID_ARG;
    int old = sw__picker_piece_begin(p, piece);
    sw__picker_dl_release(p, piece);
    p->pieces[piece].have = 1;
    sw__picker_piece_end(p, piece, old);
    return 0;
}

static int cmp_ptr(const void *a, const void *b)
{
    uintptr_t x = (uintptr_t) * (void *const *)a, y = (uintptr_t) * (void *const *)b;
    return x < y ? -1 : x > y;
}

int sw__picker_piece_failed(sw_picker *p, int piece, void **peers_out, int max, int *n_out)
{
    sw__picker_dl *d = dl_in_state(p, piece, SW_PICKER_PIECE_HASH_PENDING);
    if (!d || max < 0 || (max > 0 && !peers_out))
        return SW_ERR_INVALID_ARG;
    void **senders;
    int rc = sw__picker_scratch(p, (size_t)d->num_blocks * sizeof *senders, (void **)&senders);
    if (rc < 0)
        return rc;
    int n = 0;
    for (int j = 0; j < d->num_blocks; j++)
        if (d->blocks[j].sender)
            senders[n++] = d->blocks[j].sender;
    qsort(senders, (size_t)n, sizeof *senders, cmp_ptr);
    int distinct = 0;
    for (int j = 0; j < n; j++) {
        if (j > 0 && senders[j] == senders[j - 1])
            continue;
        if (distinct < max)
            peers_out[distinct] = senders[j];
        distinct++;
    }
    /* Blocks stay FINISHED (nothing to pick, senders kept) until restore. */
    d->state = SW_PICKER_PIECE_FAILED;
    if (p->pieces[piece].fails < UINT8_MAX)
        p->pieces[piece].fails++;
    if (n_out)
        *n_out = distinct;
    return 0;
}

int sw__picker_restore_piece(sw_picker *p, int piece)
{
    if (!dl_in_state(p, piece, SW_PICKER_PIECE_FAILED))
        return SW_ERR_INVALID_ARG;
    int old = sw__picker_piece_begin(p, piece);
    sw__picker_dl_release(p, piece);
    sw__picker_piece_end(p, piece, old);
    return 0;
}

/* ---- block queries ------------------------------------------------------- */

int sw__picker_block_state(const sw_picker *p, sw_picker_block b, sw_picker_block_state *state_out,
                           int *num_requesters_out)
{
    if (!block_ok(p, b))
        return SW_ERR_INVALID_ARG;
    const sw__picker_dl *d = sw__picker_dl_of(p, b.piece);
    sw_picker_block_state st = SW_PICKER_BLOCK_NONE;
    int nreq = 0;
    if (p->pieces[b.piece].have) {
        st = SW_PICKER_BLOCK_FINISHED;
    } else if (d) {
        st = (sw_picker_block_state)d->blocks[b.block].state;
        nreq = d->blocks[b.block].num_requesters;
    }
    if (state_out)
        *state_out = st;
    if (num_requesters_out)
        *num_requesters_out = nreq;
    return 0;
}

int sw__picker_requesters(const sw_picker *p, sw_picker_block b,
                          void *out[SW_PICKER_MAX_REQUESTERS], int *n_out)
{
    if (!block_ok(p, b) || !n_out)
        return SW_ERR_INVALID_ARG;
    const sw__picker_dl *d = sw__picker_dl_of(p, b.piece);
    int n = 0;
    if (d)
        for (; n < d->blocks[b.block].num_requesters; n++)
            out[n] = d->blocks[b.block].requesters[n];
    *n_out = n;
    return 0;
}

int sw__picker_get_downloaders(const sw_picker *p, int piece, void **out, int max)
{
    if (piece < 0 || piece >= p->num_pieces || max < 0 || (max > 0 && !out))
        return SW_ERR_INVALID_ARG;
    const sw__picker_dl *d = sw__picker_dl_of(p, piece);
    int nb = sw__picker_pblocks(p, piece);
    for (int j = 0; j < nb && j < max; j++)
        out[j] = d ? d->blocks[j].sender : NULL;
    return 0;
}

int sw__picker_num_partial(const sw_picker *p)
{
    return p->num_dl;
}

int sw__picker_partial_info(const sw_picker *p, int index, sw_picker_partial_info *info_out)
{
    if (index < 0 || index >= p->num_dl || !info_out)
        return SW_ERR_INVALID_ARG;
    const sw__picker_dl *d = &p->dl[index];
    *info_out = (sw_picker_partial_info){
        .piece = d->piece,
        .state = (sw_picker_piece_state)d->state,
        .speed = d->speed,
        .blocks = d->num_blocks,
        .requested = d->requested,
        .writing = d->writing,
        .finished = d->finished,
    };
    return 0;
}
