/* Piece picker: invariant checker used by the unit tests. */
#include "picker_internal.h"

#define FAIL(msg)                                                                                  \
    do {                                                                                           \
        if (what_out)                                                                              \
            *what_out = (msg);                                                                     \
        return SW_ERR_INVALID_ARG;                                                                 \
    } while (0)

static int check_record(const sw_picker *p, int k, const char **what_out)
{
    const sw__picker_dl *d = &p->dl[k];
    if (d->piece < 0 || d->piece >= p->num_pieces || p->pieces[d->piece].dl != k)
        FAIL("record and piece do not point at each other");
    if (p->pieces[d->piece].have)
        FAIL("a had piece has a download record");
    if (d->num_blocks != sw__picker_pblocks(p, d->piece))
        FAIL("record block count");
    int counts[4] = {0, 0, 0, 0};
    for (int j = 0; j < d->num_blocks; j++) {
        const sw__picker_blk *blk = &d->blocks[j];
        if (blk->state > SW_PICKER_BLOCK_FINISHED)
            FAIL("block state out of range");
        counts[blk->state]++;
        bool requested = blk->state == SW_PICKER_BLOCK_REQUESTED;
        if (requested != (blk->num_requesters > 0) ||
            blk->num_requesters > SW_PICKER_MAX_REQUESTERS)
            FAIL("requester count does not match block state");
        for (int r = 0; r < blk->num_requesters; r++) {
            if (!blk->requesters[r])
                FAIL("NULL requester");
            for (int q = 0; q < r; q++)
                if (blk->requesters[q] == blk->requesters[r])
                    FAIL("duplicate requester");
        }
        if (blk->state == SW_PICKER_BLOCK_NONE && blk->sender)
            FAIL("free block remembers a sender");
    }
    if (counts[1] != d->requested || counts[2] != d->writing || counts[3] != d->finished)
        FAIL("record block counters");
    bool all_finished = d->finished == d->num_blocks;
    switch (d->state) {
    case SW_PICKER_PIECE_DOWNLOADING:
        if (all_finished || d->requested + d->writing + d->finished == 0)
            FAIL("downloading record is complete or empty");
        break;
    case SW_PICKER_PIECE_HASH_PENDING:
    case SW_PICKER_PIECE_FAILED:
        if (!all_finished)
            FAIL("hash pending or failed record is not complete");
        break;
    default:
        FAIL("record state");
    }
    return 0;
}

static int check_order(const sw_picker *p, const char **what_out)
{
    const int32_t *bs = p->bucket_start;
    if (p->num_buckets != SW__PICKER_LEVELS * p->stride + 1)
        FAIL("bucket count");
    if (bs[0] != 0 || bs[p->num_buckets] != p->num_pieces)
        FAIL("bucket bounds");
    for (int k = 0; k < p->num_buckets; k++) {
        if (bs[k] > bs[k + 1])
            FAIL("buckets out of order");
        for (int32_t j = bs[k]; j < bs[k + 1]; j++) {
            int32_t i = p->order[j];
            if (i < 0 || i >= p->num_pieces || p->pos[i] != j)
                FAIL("order and pos are not inverse");
            if (sw__picker_order_key(p, i) != k)
                FAIL("piece in the wrong bucket");
        }
    }
    return 0;
}

int sw__picker_check_invariants(const sw_picker *p, const char **what_out)
{
    int num_have = 0, num_wanted = 0, num_wanted_have = 0, with_dl = 0;
    int64_t free_blocks = 0;
    for (int i = 0; i < p->num_pieces; i++) {
        const sw__picker_piece *pc = &p->pieces[i];
        if (pc->prio > SW_PICKER_PRIORITY_MAX)
            FAIL("priority out of range");
        if (pc->dl >= p->num_dl)
            FAIL("piece points past the records");
        with_dl += pc->dl >= 0;
        num_have += pc->have;
        if (pc->prio > 0) {
            num_wanted++;
            num_wanted_have += pc->have;
            if (!pc->have)
                free_blocks += sw__picker_free_in(p, i);
        }
        if (i < p->cursor && !pc->have)
            FAIL("cursor passed a piece we lack");
    }
    if (p->cursor < p->num_pieces && p->pieces[p->cursor].have)
        FAIL("cursor not at the first piece we lack");
    if (num_have != p->num_have || num_wanted != p->num_wanted ||
        num_wanted_have != p->num_wanted_have)
        FAIL("piece counters");
    if (free_blocks != p->free_blocks)
        FAIL("free block counter");
    if (with_dl != p->num_dl)
        FAIL("records without a piece");
    for (int k = 0; k < p->num_dl; k++) {
        int rc = check_record(p, k, what_out);
        if (rc < 0)
            return rc;
    }
    return p->order_dirty ? 0 : check_order(p, what_out);
}
