/* Internal layout of the piece picker, shared by its source files
 * (picker.c, picker_order.c, picker_blocks.c, picker_pick.c,
 * picker_check.c). Not part of any API: use core/peer/picker.h. */
#ifndef SW_CORE_PEER_PICKER_INTERNAL_H
#define SW_CORE_PEER_PICKER_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>

#include "picker.h"

/* One block of a piece that has a download record. */
typedef struct sw__picker_blk {
    void *requesters[SW_PICKER_MAX_REQUESTERS]; /* first num_requesters are valid */
    void *sender;                               /* peer whose data we got, or NULL */
    uint8_t state;                              /* sw_picker_block_state */
    uint8_t num_requesters;                     /* non-zero only when REQUESTED */
} sw__picker_blk;

/* The download record of a piece in state DOWNLOADING, HASH_PENDING or
 * FAILED. Records live in a dense array; a piece finds its own through
 * sw__picker_piece.dl. */
typedef struct sw__picker_dl {
    int piece;
    uint8_t state; /* sw_picker_piece_state: DOWNLOADING, HASH_PENDING, FAILED */
    uint8_t speed; /* sw_picker_speed of the peer that started the piece */
    int num_blocks;
    int requested; /* blocks in each state */
    int writing;
    int finished;
    sw__picker_blk *blocks;
} sw__picker_dl;

typedef struct sw__picker_piece {
    uint32_t avail; /* peers that have it, not counting seeds */
    int32_t dl;     /* index of its record in sw_picker.dl, or -1 */
    uint8_t prio;   /* 0..7 */
    uint8_t have;
    uint8_t fails; /* hash failures, saturating */
} sw__picker_piece;

#define SW__PICKER_LEVELS SW_PICKER_PRIORITY_MAX /* priorities 1..7 */

struct sw_picker {
    int num_pieces;
    int piece_length;
    int last_piece_size;
    int blocks_per_piece;
    int64_t total_size;
    sw__picker_piece *pieces;
    uint32_t num_seeds;

    /* Rarity order. order[] holds every piece index, grouped in buckets by
     * key = (7 - prio) * stride + avail for wanted pieces; pieces we have or
     * with priority 0 sit in the last bucket (key SW__PICKER_EXCLUDED).
     * Bucket k is order[bucket_start[k] .. bucket_start[k + 1]); pos[i] is
     * piece i's slot. A one-step change of avail moves a piece to the
     * neighbouring bucket with one swap. While order_dirty, order/pos/buckets
     * are stale and rebuilt before the next pick. Invariant when clean: every
     * non-excluded piece has avail < stride. */
    int32_t *order;
    int32_t *pos;
    int32_t *bucket_start;
    int stride;
    int num_buckets; /* SW__PICKER_LEVELS * stride + 1 */
    bool order_dirty;

    sw__picker_dl *dl; /* download records, dense */
    int num_dl;
    int cap_dl;
    sw__picker_blk **blk_pool; /* released block arrays (blocks_per_piece each) */
    int pool_count;
    int pool_cap;

    int num_have;
    int num_wanted;      /* prio > 0 */
    int num_wanted_have; /* prio > 0 && have */
    int64_t free_blocks; /* NONE blocks of wanted pieces we lack (end-game when 0) */
    int cursor;          /* every piece below it is had */
    uint64_t rng;

    /* Scratch for picks and sender lists, grown on demand. */
    void *scratch;
    size_t scratch_size;
};

#define SW__PICKER_EXCLUDED(p) (SW__PICKER_LEVELS * (p)->stride)

static inline int sw__picker_psize(const sw_picker *p, int i)
{
    return i == p->num_pieces - 1 ? p->last_piece_size : p->piece_length;
}

static inline int sw__picker_pblocks(const sw_picker *p, int i)
{
    return (sw__picker_psize(p, i) + SW_PICKER_BLOCK_SIZE - 1) / SW_PICKER_BLOCK_SIZE;
}

static inline int sw__picker_bsize(const sw_picker *p, int i, int b)
{
    int rest = sw__picker_psize(p, i) - b * SW_PICKER_BLOCK_SIZE;
    return rest < SW_PICKER_BLOCK_SIZE ? rest : SW_PICKER_BLOCK_SIZE;
}

static inline bool sw__picker_wanted(const sw__picker_piece *pc)
{
    return pc->prio > 0 && !pc->have;
}

static inline sw__picker_dl *sw__picker_dl_of(const sw_picker *p, int i)
{
    int32_t d = p->pieces[i].dl;
    return d < 0 ? (sw__picker_dl *)0 : &p->dl[d];
}

/* Blocks of piece i in state NONE. */
static inline int sw__picker_free_in(const sw_picker *p, int i)
{
    const sw__picker_dl *d = sw__picker_dl_of(p, i);
    if (!d)
        return sw__picker_pblocks(p, i);
    return d->num_blocks - d->requested - d->writing - d->finished;
}

/* Every change to a piece's have flag, priority, or block record goes
 * between these two: begin takes the piece out of the counters and returns
 * its rarity key; end puts it back and moves it in the order. */
int sw__picker_piece_begin(sw_picker *p, int i);
void sw__picker_piece_end(sw_picker *p, int i, int old_key);

/* picker_order.c */
int sw__picker_order_key(const sw_picker *p, int i); /* -1 if avail >= stride */
/* Moves piece i from bucket old_key to its current key (or marks the order
 * dirty if that is cheaper or impossible). */
void sw__picker_order_move(sw_picker *p, int i, int old_key);
/* Rebuilds the order if dirty. Returns 0 or SW_ERR_NOMEM. */
int sw__picker_order_ensure(sw_picker *p);
uint64_t sw__picker_rand(sw_picker *p);
/* Uniform in [0, n), n > 0. */
uint32_t sw__picker_rand_below(sw_picker *p, uint32_t n);

/* picker_blocks.c */
void sw__picker_dl_release(sw_picker *p, int i);
/* Grows the scratch area to at least size bytes. */
int sw__picker_scratch(sw_picker *p, size_t size, void **out);

#endif
