/* The picker's rarity order: every piece sits in a bucket keyed by
 * (priority, availability), so the pick walks pieces best-first without
 * sorting, and a HAVE moves one piece by one bucket with a single swap. The
 * layout is described in picker_internal.h. Also the tie-break generator. */
#include <stdlib.h>

#include "picker_internal.h"

uint64_t sw__picker_rand(sw_picker *p)
{
    /* splitmix64: any seed, including 0, gives a good sequence. */
    uint64_t z = (p->rng += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

uint32_t sw__picker_rand_below(sw_picker *p, uint32_t n)
{
    /* Multiply-shift: the bias is below 2^-32 for our bucket sizes. */
    return (uint32_t)(((sw__picker_rand(p) >> 32) * (uint64_t)n) >> 32);
}

int sw__picker_order_key(const sw_picker *p, int i)
{
    const sw__picker_piece *pc = &p->pieces[i];
    if (pc->have || pc->prio == 0)
        return SW__PICKER_EXCLUDED(p);
    if (pc->avail >= (uint32_t)p->stride)
        return -1;
    return (SW_PICKER_PRIORITY_MAX - pc->prio) * p->stride + (int)pc->avail;
}

static void swap_slots(sw_picker *p, int32_t a, int32_t b)
{
    int32_t pa = p->order[a], pb = p->order[b];
    p->order[a] = pb;
    p->order[b] = pa;
    p->pos[pb] = a;
    p->pos[pa] = b;
}

void sw__picker_order_move(sw_picker *p, int i, int old_key)
{
    if (p->order_dirty)
        return;
    int key = sw__picker_order_key(p, i);
    if (key < 0) {
        /* Availability outgrew the bucket range: rebuild with a wider one. */
        p->order_dirty = true;
        return;
    }
    int32_t *bs = p->bucket_start;
    /* Step across one bucket boundary at a time: swapping with the edge
     * element of the current bucket and moving that boundary keeps every
     * other piece in its bucket. Costs |key - old_key| steps, at most the
     * number of buckets (7 * stride, small). */
    for (int k = old_key; k < key; k++) {
        swap_slots(p, p->pos[i], bs[k + 1] - 1);
        bs[k + 1]--;
    }
    for (int k = old_key; k > key; k--) {
        swap_slots(p, p->pos[i], bs[k]);
        bs[k]++;
    }
}

static int rebuild(sw_picker *p)
{
    int n = p->num_pieces;
    uint32_t max_avail = 0;
    for (int i = 0; i < n; i++) {
        const sw__picker_piece *pc = &p->pieces[i];
        if (!pc->have && pc->prio > 0 && pc->avail > max_avail)
            max_avail = pc->avail;
    }
    /* Room for the counts to double before the next rebuild. */
    int stride = 16;
    while ((uint32_t)stride < 2 * (max_avail + 1))
        stride *= 2;
    int num_buckets = SW__PICKER_LEVELS * stride + 1;
    if (num_buckets != p->num_buckets || !p->bucket_start) {
        int32_t *bs = realloc(p->bucket_start, (size_t)(num_buckets + 1) * sizeof *bs);
        if (!bs)
            return SW_ERR_NOMEM;
        p->bucket_start = bs;
        p->num_buckets = num_buckets;
    }
    p->stride = stride;

    /* Counting sort: bs[k + 1] counts bucket k, then prefix sums give each
     * bucket's start, used as a fill cursor, then shifted back. */
    int32_t *bs = p->bucket_start;
    for (int k = 0; k <= num_buckets; k++)
        bs[k] = 0;
    for (int i = 0; i < n; i++)
        bs[sw__picker_order_key(p, i) + 1]++;
    for (int k = 0; k < num_buckets; k++)
        bs[k + 1] += bs[k];
    for (int i = 0; i < n; i++)
        p->order[bs[sw__picker_order_key(p, i)]++] = i;
    for (int k = num_buckets; k > 0; k--)
        bs[k] = bs[k - 1];
    bs[0] = 0;

    /* Shuffle within each bucket so equally rare pieces come in random
     * order; the pick also starts each bucket at a random slot. */
    for (int k = 0; k < num_buckets - 1; k++) {
        for (int32_t j = bs[k + 1] - 1; j > bs[k]; j--) {
            int32_t r = bs[k] + (int32_t)sw__picker_rand_below(p, (uint32_t)(j - bs[k] + 1));
            int32_t t = p->order[j];
            p->order[j] = p->order[r];
            p->order[r] = t;
        }
    }
    for (int j = 0; j < n; j++)
        p->pos[p->order[j]] = j;
    p->order_dirty = false;
    return 0;
}

int sw__picker_order_ensure(sw_picker *p)
{
    return p->order_dirty ? rebuild(p) : 0;
}
