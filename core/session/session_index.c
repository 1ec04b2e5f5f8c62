/* The session's torrents by v1 info-hash: a chained hash table that doubles
 * as it fills. An info-hash is already uniformly distributed, so its first
 * bytes are the hash. */
#include <stdlib.h>
#include <string.h>

#include "session_index.h"
#include "session_int.h"

static size_t bucket_of(const sw_hash_index *ix, const sw_sha1 *ih)
{
    uint64_t h;
    memcpy(&h, ih->v, sizeof h);
    return (size_t)h & (ix->nbuckets - 1);
}

/* Makes a table of n buckets holding every torrent of the session's list;
 * false (the old table kept) when out of memory. */
static bool rebuild(sw_session *ses, size_t n)
{
    sw_hash_index *ix = &ses->by_hash;
    sw_torrent **b = calloc(n, sizeof *b);
    if (!b)
        return false;
    free(ix->buckets);
    ix->buckets = b;
    ix->nbuckets = n;
    ix->count = 0;
    for (sw_torrent *t = ses->torrents; t; t = t->next) {
        size_t k = bucket_of(ix, &t->info_hash);
        t->ih_next = b[k];
        b[k] = t;
        ix->count++;
    }
    ix->partial = false;
    return true;
}

void sw__session_index_add(sw_session *ses, sw_torrent *t)
{
    sw_hash_index *ix = &ses->by_hash;
    if (ix->count + 1 > ix->nbuckets && rebuild(ses, ix->nbuckets ? ix->nbuckets * 2 : 64))
        return; /* the new table holds t too */
    if (ix->nbuckets == 0) {
        t->ih_next = NULL;
        ix->partial = true;
        return;
    }
    size_t k = bucket_of(ix, &t->info_hash);
    t->ih_next = ix->buckets[k];
    ix->buckets[k] = t;
    ix->count++;
}

void sw__session_index_remove(sw_session *ses, sw_torrent *t)
{
    sw_hash_index *ix = &ses->by_hash;
    if (ix->nbuckets == 0)
        return;
    sw_torrent **pp = &ix->buckets[bucket_of(ix, &t->info_hash)];
    while (*pp && *pp != t)
        pp = &(*pp)->ih_next;
    if (*pp) {
        *pp = t->ih_next;
        ix->count--;
    }
    t->ih_next = NULL;
}

sw_torrent *sw__session_index_find(sw_session *ses, const sw_sha1 *ih)
{
    sw_hash_index *ix = &ses->by_hash;
    if (ix->partial || ix->nbuckets == 0) {
        /* Not every torrent is in the table: the list knows them all. */
        for (sw_torrent *t = ses->torrents; t; t = t->next)
            if (memcmp(&t->info_hash, ih, sizeof *ih) == 0)
                return t;
        return NULL;
    }
    for (sw_torrent *t = ix->buckets[bucket_of(ix, ih)]; t; t = t->ih_next)
        if (memcmp(&t->info_hash, ih, sizeof *ih) == 0)
            return t;
    return NULL;
}

void sw__session_index_free(sw_session *ses)
{
    free(ses->by_hash.buckets);
    ses->by_hash.buckets = NULL;
    ses->by_hash.nbuckets = 0;
    ses->by_hash.count = 0;
}
