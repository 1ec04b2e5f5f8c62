/* Peers announced to this node (announce_peer), per info-hash, with the
 * dht_max_torrents / dht_max_peers limits and expiry. Torrents live in an
 * array sorted by info-hash (a few thousand at most). */
#include <stdlib.h>
#include <string.h>

#include "dht/dht_id.h"
#include "dht/dht_internal.h"
#include "dht/store.h"

void sw__dht_peers_init(sw_dht_peer_store *s, int max_torrents, int max_peers)
{
    memset(s, 0, sizeof *s);
    s->max_torrents = max_torrents > 0 ? max_torrents : 1;
    s->max_peers = max_peers > 0 ? max_peers : 1;
}

static void torrent_free(sw_dht_torrent_rec *t)
{
    if (t) {
        free(t->peers);
        free(t);
    }
}

void sw__dht_peers_free(sw_dht_peer_store *s)
{
    for (size_t i = 0; i < s->n; i++)
        torrent_free(s->torrents[i]);
    free(s->torrents);
    memset(s, 0, sizeof *s);
}

/* Index of info_hash, or where it would go (with *found false). */
static size_t find(const sw_dht_peer_store *s, const sw_sha1 *ih, bool *found)
{
    size_t lo = 0, hi = s->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = memcmp(s->torrents[mid]->info_hash.v, ih->v, sizeof ih->v);
        if (c == 0) {
            *found = true;
            return mid;
        }
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    *found = false;
    return lo;
}

static void remove_torrent(sw_dht_peer_store *s, size_t i)
{
    torrent_free(s->torrents[i]);
    memmove(&s->torrents[i], &s->torrents[i + 1], (s->n - i - 1) * sizeof *s->torrents);
    s->n--;
}

/* Makes room for one more torrent; false if the newcomer should lose. */
static bool evict_one(sw_dht_peer_store *s)
{
    size_t victim = 0;
    for (size_t i = 1; i < s->n; i++) {
        const sw_dht_torrent_rec *a = s->torrents[i], *b = s->torrents[victim];
        if (a->n_peers < b->n_peers ||
            (a->n_peers == b->n_peers && a->last_announce_ms < b->last_announce_ms))
            victim = i;
    }
    /* A newcomer has one peer; it only displaces a torrent that has one
     * peer too and has been quiet longer. */
    if (s->n == 0 || s->torrents[victim]->n_peers > 1)
        return false;
    remove_torrent(s, victim);
    return true;
}

int sw__dht_peers_announce(sw_dht_peer_store *s, const sw_sha1 *info_hash, const sw_endpoint *ep,
                           uint64_t now_ms)
{
    bool found;
    size_t at = find(s, info_hash, &found);
    sw_dht_torrent_rec *t;
    if (found) {
        t = s->torrents[at];
    } else {
        if (s->n >= (size_t)s->max_torrents) {
            if (!evict_one(s))
                return SW_ERR_LIMIT;
            at = find(s, info_hash, &found);
        }
        if (s->n == s->cap) {
            size_t cap = s->cap ? s->cap * 2 : 16;
            sw_dht_torrent_rec **nt = realloc(s->torrents, cap * sizeof *nt);
            if (!nt)
                return SW_ERR_NOMEM;
            s->torrents = nt;
            s->cap = cap;
        }
        t = calloc(1, sizeof *t);
        if (!t)
            return SW_ERR_NOMEM;
        t->info_hash = *info_hash;
        memmove(&s->torrents[at + 1], &s->torrents[at], (s->n - at) * sizeof *s->torrents);
        s->torrents[at] = t;
        s->n++;
    }
    t->last_announce_ms = now_ms;
    for (int i = 0; i < t->n_peers; i++)
        if (sw__endpoint_equal(&t->peers[i].ep, ep)) {
            t->peers[i].added_ms = now_ms;
            return 0;
        }
    if (t->n_peers >= s->max_peers) {
        int oldest = 0;
        for (int i = 1; i < t->n_peers; i++)
            if (t->peers[i].added_ms < t->peers[oldest].added_ms)
                oldest = i;
        t->peers[oldest] = (sw_dht_peer_rec){*ep, now_ms, false};
        return 0;
    }
    if (t->n_peers == t->cap_peers) {
        int cap = t->cap_peers ? t->cap_peers * 2 : 4;
        if (cap > s->max_peers)
            cap = s->max_peers;
        sw_dht_peer_rec *np = realloc(t->peers, (size_t)cap * sizeof *np);
        if (!np)
            return SW_ERR_NOMEM;
        t->peers = np;
        t->cap_peers = cap;
    }
    t->peers[t->n_peers++] = (sw_dht_peer_rec){*ep, now_ms, false};
    return 0;
}

/* Picks `want` of n indices at random into idx (a partial shuffle). */
static void pick_random(size_t *idx, size_t n, size_t want)
{
    for (size_t i = 0; i < n; i++)
        idx[i] = i;
    for (size_t i = 0; i < want && i < n; i++) {
        uint32_t r;
        sw__dht_random_bytes(&r, sizeof r);
        size_t j = i + r % (n - i);
        size_t tmp = idx[i];
        idx[i] = idx[j];
        idx[j] = tmp;
    }
}

size_t sw__dht_peers_get(const sw_dht_peer_store *s, const sw_sha1 *info_hash, int family,
                         size_t max, sw_endpoint *out)
{
    bool found;
    size_t at = find(s, info_hash, &found);
    if (!found || max == 0)
        return 0;
    const sw_dht_torrent_rec *t = s->torrents[at];
    size_t n = (size_t)t->n_peers;
    size_t *idx = malloc((n ? n : 1) * sizeof *idx);
    if (!idx)
        return 0;
    pick_random(idx, n, n > max ? max : n);
    size_t got = 0;
    for (size_t i = 0; i < n && got < max; i++) {
        const sw_endpoint *ep = &t->peers[idx[i]].ep;
        if (ep->family == family)
            out[got++] = *ep;
    }
    free(idx);
    return got;
}

void sw__dht_peers_expire(sw_dht_peer_store *s, uint64_t now_ms, uint64_t lifetime_ms)
{
    for (size_t i = 0; i < s->n;) {
        sw_dht_torrent_rec *t = s->torrents[i];
        for (int p = 0; p < t->n_peers;) {
            if (now_ms - t->peers[p].added_ms >= lifetime_ms)
                t->peers[p] = t->peers[--t->n_peers];
            else
                p++;
        }
        if (t->n_peers == 0)
            remove_torrent(s, i);
        else
            i++;
    }
}

size_t sw__dht_peers_sample(const sw_dht_peer_store *s, size_t max, sw_sha1 *out)
{
    size_t n = s->n;
    if (n == 0 || max == 0)
        return 0;
    size_t *idx = malloc(n * sizeof *idx);
    if (!idx)
        return 0;
    size_t want = n > max ? max : n;
    pick_random(idx, n, want);
    for (size_t i = 0; i < want; i++)
        out[i] = s->torrents[idx[i]]->info_hash;
    free(idx);
    return want;
}

void sw__dht_peers_set_seed(sw_dht_peer_store *s, const sw_sha1 *info_hash, const sw_endpoint *ep,
                            bool seed)
{
    bool found;
    size_t at = find(s, info_hash, &found);
    if (!found)
        return;
    sw_dht_torrent_rec *t = s->torrents[at];
    for (int i = 0; i < t->n_peers; i++)
        if (sw__endpoint_equal(&t->peers[i].ep, ep))
            t->peers[i].seed = seed;
}

bool sw__dht_peers_bloom(const sw_dht_peer_store *s, const sw_sha1 *info_hash, int family,
                         uint8_t *bf_seeds, uint8_t *bf_peers)
{
    bool found;
    size_t at = find(s, info_hash, &found);
    if (!found)
        return false;
    const sw_dht_torrent_rec *t = s->torrents[at];
    bool any = false;
    for (int i = 0; i < t->n_peers; i++) {
        if (t->peers[i].ep.family != family)
            continue;
        sw__dht_bloom_insert(t->peers[i].seed ? bf_seeds : bf_peers, &t->peers[i].ep);
        any = true;
    }
    return any;
}
