/* The list of known peers of a torrent: a vector for iteration plus a hash
 * table by endpoint. Entries carry where the address came from, connection
 * failures (for back-off) and bans. */
#include <stdlib.h>
#include <string.h>

#include "swarm.h"

void sw__peer_list_init(sw_peer_list *pl)
{
    memset(pl, 0, sizeof *pl);
}

void sw__peer_list_free(sw_peer_list *pl)
{
    for (size_t i = 0; i < pl->count; i++)
        free(pl->v[i]);
    free(pl->v);
    free(pl->buckets);
    memset(pl, 0, sizeof *pl);
}

static size_t bucket_of(const sw_peer_list *pl, const sw_endpoint *ep)
{
    return sw__endpoint_hash(ep) & (pl->nbuckets - 1);
}

sw_peer_entry *sw__peer_list_find(const sw_peer_list *pl, const sw_endpoint *ep)
{
    if (pl->nbuckets == 0)
        return NULL;
    for (sw_peer_entry *e = pl->buckets[bucket_of(pl, ep)]; e; e = e->hnext_) {
        if (sw__endpoint_equal(&e->ep, ep))
            return e;
    }
    return NULL;
}

static int grow_buckets(sw_peer_list *pl)
{
    size_t n = pl->nbuckets ? pl->nbuckets * 2 : 64;
    sw_peer_entry **b = calloc(n, sizeof *b);
    if (!b)
        return SW_ERR_NOMEM;
    free(pl->buckets);
    pl->buckets = b;
    pl->nbuckets = n;
    for (size_t i = 0; i < pl->count; i++) {
        sw_peer_entry *e = pl->v[i];
        size_t k = bucket_of(pl, &e->ep);
        e->hnext_ = b[k];
        b[k] = e;
    }
    return 0;
}

static void unhash(sw_peer_list *pl, sw_peer_entry *e)
{
    sw_peer_entry **pp = &pl->buckets[bucket_of(pl, &e->ep)];
    while (*pp && *pp != e)
        pp = &(*pp)->hnext_;
    if (*pp)
        *pp = e->hnext_;
    e->hnext_ = NULL;
}

void sw__peer_list_remove(sw_peer_list *pl, sw_peer_entry *e)
{
    unhash(pl, e);
    size_t i = e->index_;
    pl->v[i] = pl->v[--pl->count];
    pl->v[i]->index_ = i;
    if (pl->cursor >= pl->count)
        pl->cursor = 0;
    free(e);
}

/* The entry least worth keeping: unconnected, most failures first. */
static sw_peer_entry *eviction_victim(const sw_peer_list *pl)
{
    sw_peer_entry *best = NULL;
    for (size_t i = 0; i < pl->count; i++) {
        sw_peer_entry *e = pl->v[i];
        if (e->conn || e->banned)
            continue;
        if (!best || e->failcount > best->failcount || (!e->connectable && best->connectable))
            best = e;
    }
    return best;
}

int sw__peer_list_add(sw_peer_list *pl, const sw_endpoint *ep, uint8_t source, size_t max,
                      void (*evict_cb)(void *ctx, sw_peer_entry *e), void *ctx,
                      sw_peer_entry **e_out, bool *added_out)
{
    sw_peer_entry *e = sw__peer_list_find(pl, ep);
    if (e) {
        e->source |= source;
        *e_out = e;
        if (added_out)
            *added_out = false;
        return 0;
    }
    if (max > 0 && pl->count >= max) {
        sw_peer_entry *victim = eviction_victim(pl);
        if (!victim)
            return SW_ERR_LIMIT;
        if (evict_cb)
            evict_cb(ctx, victim);
        sw__peer_list_remove(pl, victim);
    }
    if (pl->count == pl->cap) {
        size_t cap = pl->cap ? pl->cap * 2 : 16;
        sw_peer_entry **v = realloc(pl->v, cap * sizeof *v);
        if (!v)
            return SW_ERR_NOMEM;
        pl->v = v;
        pl->cap = cap;
    }
    if (pl->count + 1 > pl->nbuckets && grow_buckets(pl) < 0)
        return SW_ERR_NOMEM;
    e = calloc(1, sizeof *e);
    if (!e)
        return SW_ERR_NOMEM;
    e->ep = *ep;
    e->source = source;
    e->connectable = !(source == SW_PEER_SRC_INCOMING);
    e->index_ = pl->count;
    pl->v[pl->count++] = e;
    size_t k = bucket_of(pl, ep);
    e->hnext_ = pl->buckets[k];
    pl->buckets[k] = e;
    *e_out = e;
    if (added_out)
        *added_out = true;
    return 0;
}

int sw__peer_list_rekey(sw_peer_list *pl, sw_peer_entry *e, const sw_endpoint *ep)
{
    if (sw__peer_list_find(pl, ep))
        return SW_ERR_EXISTS;
    unhash(pl, e);
    e->ep = *ep;
    size_t k = bucket_of(pl, ep);
    e->hnext_ = pl->buckets[k];
    pl->buckets[k] = e;
    return 0;
}

static bool is_candidate(const sw_peer_entry *e, int max_failcount)
{
    return !e->conn && e->connectable && !e->banned && e->failcount < max_failcount;
}

sw_peer_entry *sw__peer_list_candidate(sw_peer_list *pl, uint64_t now_ms, int max_failcount)
{
    for (size_t n = 0; n < pl->count; n++) {
        if (pl->cursor >= pl->count)
            pl->cursor = 0;
        sw_peer_entry *e = pl->v[pl->cursor++];
        if (is_candidate(e, max_failcount) && e->next_try_ms <= now_ms)
            return e;
    }
    return NULL;
}

size_t sw__peer_list_connect_candidates(const sw_peer_list *pl, int max_failcount)
{
    size_t n = 0;
    for (size_t i = 0; i < pl->count; i++)
        n += is_candidate(pl->v[i], max_failcount);
    return n;
}
