/* Routing table: bucket placement, splitting of our own bucket, the
 * replacement cache and node states. See routing.h for the rules. */
#include <stdlib.h>
#include <string.h>

#include "dht/krpc.h"
#include "dht/routing.h"

static int k_of(const sw_dht_routing *rt)
{
    return rt->opts.bucket_size > 0 ? rt->opts.bucket_size : SW_DHT_K;
}

int sw__dht_routing_bucket_limit(const sw_dht_routing *rt, int i)
{
    static const int wide[] = {16, 8, 4, 2};
    int k = k_of(rt);
    if (rt->opts.extended && i >= 0 && i < 4)
        return k * wide[i];
    return k;
}

static int bucket_alloc(sw_dht_routing *rt, int i)
{
    sw_dht_bucket *b = &rt->buckets[i];
    memset(b, 0, sizeof *b);
    b->cap_live = sw__dht_routing_bucket_limit(rt, i);
    b->live = calloc((size_t)b->cap_live, sizeof *b->live);
    b->repl = calloc((size_t)k_of(rt), sizeof *b->repl);
    if (!b->live || !b->repl) {
        free(b->live);
        free(b->repl);
        memset(b, 0, sizeof *b);
        return SW_ERR_NOMEM;
    }
    return 0;
}

int sw__dht_routing_init(sw_dht_routing *rt, const sw_sha1 *self, int family,
                         const sw_dht_routing_opts *opts)
{
    memset(rt, 0, sizeof *rt);
    rt->self = *self;
    rt->family = family;
    if (opts)
        rt->opts = *opts;
    int rc = bucket_alloc(rt, 0);
    if (rc != 0)
        return rc;
    rt->n_buckets = 1;
    return 0;
}

void sw__dht_routing_free(sw_dht_routing *rt)
{
    for (int i = 0; i < rt->n_buckets; i++) {
        free(rt->buckets[i].live);
        free(rt->buckets[i].repl);
    }
    memset(rt, 0, sizeof *rt);
}

void sw__dht_routing_set_opts(sw_dht_routing *rt, const sw_dht_routing_opts *opts)
{
    /* The bucket geometry (k, extended) is fixed at init; capacities of
     * existing buckets were allocated for it. */
    rt->opts.restrict_ips = opts->restrict_ips;
    rt->opts.enforce_node_id = opts->enforce_node_id;
    rt->opts.max_fail_count = opts->max_fail_count;
}

int sw__dht_routing_bucket_of(const sw_dht_routing *rt, const sw_sha1 *id)
{
    int bits = sw__dht_id_common_bits(&rt->self, id);
    return bits < rt->n_buckets - 1 ? bits : rt->n_buckets - 1;
}

sw_dht_node_state sw__dht_routing_state(const sw_dht_contact *e, uint64_t now_ms)
{
    if (e->fail_count >= SW_DHT_BAD_FAILS)
        return SW_DHT_NODE_BAD;
    if (e->last_response_ms == 0 || e->fail_count > 0 ||
        now_ms - e->last_seen_ms >= SW_DHT_NODE_TIMEOUT_MS)
        return SW_DHT_NODE_QUESTIONABLE;
    return SW_DHT_NODE_GOOD;
}

static int max_fails(const sw_dht_routing *rt)
{
    return rt->opts.max_fail_count > 0 ? rt->opts.max_fail_count : 20;
}

static void remove_at(sw_dht_contact *arr, int *n, int i)
{
    memmove(&arr[i], &arr[i + 1], (size_t)(*n - i - 1) * sizeof *arr);
    (*n)--;
}

/* The replacement entry to promote: answered most recently, else seen most
 * recently; -1 if the cache is empty. */
static int best_replacement(const sw_dht_bucket *b)
{
    int best = -1;
    for (int i = 0; i < b->n_repl; i++) {
        const sw_dht_contact *e = &b->repl[i];
        if (e->fail_count >= SW_DHT_BAD_FAILS)
            continue;
        if (best < 0 || e->last_response_ms > b->repl[best].last_response_ms ||
            (e->last_response_ms == b->repl[best].last_response_ms &&
             e->last_seen_ms > b->repl[best].last_seen_ms))
            best = i;
    }
    return best;
}

/* Fills free live slots from the replacement cache. */
static void promote(sw_dht_bucket *b, uint64_t now_ms)
{
    while (b->n_live < b->cap_live) {
        int r = best_replacement(b);
        if (r < 0)
            return;
        b->live[b->n_live++] = b->repl[r];
        remove_at(b->repl, &b->n_repl, r);
        b->last_changed_ms = now_ms;
    }
}

static int split_last(sw_dht_routing *rt, uint64_t now_ms)
{
    int n = rt->n_buckets;
    int rc = bucket_alloc(rt, n);
    if (rc != 0)
        return rc;
    rt->n_buckets = n + 1;
    sw_dht_bucket *old = &rt->buckets[n - 1], *nb = &rt->buckets[n];
    int k = k_of(rt);
    for (int i = 0; i < old->n_live;) {
        if (sw__dht_id_common_bits(&rt->self, &old->live[i].id) >= n) {
            if (nb->n_live < nb->cap_live)
                nb->live[nb->n_live++] = old->live[i];
            else if (nb->n_repl < k)
                nb->repl[nb->n_repl++] = old->live[i];
            remove_at(old->live, &old->n_live, i);
        } else {
            i++;
        }
    }
    for (int i = 0; i < old->n_repl;) {
        if (sw__dht_id_common_bits(&rt->self, &old->repl[i].id) >= n) {
            if (nb->n_repl < k)
                nb->repl[nb->n_repl++] = old->repl[i];
            remove_at(old->repl, &old->n_repl, i);
        } else {
            i++;
        }
    }
    nb->last_changed_ms = now_ms;
    old->last_changed_ms = now_ms;
    promote(old, now_ms);
    promote(nb, now_ms);
    return 0;
}

static sw_dht_contact *find_in(sw_dht_contact *arr, int n, const sw_sha1 *id, int *idx)
{
    for (int i = 0; i < n; i++)
        if (memcmp(arr[i].id.v, id->v, SW_DHT_ID_LEN) == 0) {
            *idx = i;
            return &arr[i];
        }
    return NULL;
}

const sw_dht_contact *sw__dht_routing_find(const sw_dht_routing *rt, const sw_sha1 *id)
{
    sw_dht_bucket *b = (sw_dht_bucket *)&rt->buckets[sw__dht_routing_bucket_of(rt, id)];
    int idx;
    const sw_dht_contact *e = find_in(b->live, b->n_live, id, &idx);
    return e ? e : find_in(b->repl, b->n_repl, id, &idx);
}

static void touch(sw_dht_contact *e, bool responded, uint64_t now_ms)
{
    e->last_seen_ms = now_ms;
    if (responded) {
        e->last_response_ms = now_ms;
        e->fail_count = 0;
    }
}

/* A known id from a (possibly) new address: move it only if the old one
 * had stopped answering, so an id cannot be hijacked by a spoofer. */
static bool accept_address(sw_dht_contact *e, const sw_endpoint *ep, uint64_t now_ms)
{
    if (sw__endpoint_equal(&e->ep, ep))
        return true;
    if (sw__dht_routing_state(e, now_ms) == SW_DHT_NODE_GOOD)
        return false;
    e->ep = *ep;
    return true;
}

/* Another entry with the same endpoint (a node that changed its id) or,
 * with restrict_ips, the same address prefix. Returns false to reject. */
static bool check_conflicts(sw_dht_routing *rt, const sw_endpoint *ep, bool responded,
                            uint64_t now_ms)
{
    for (int bi = 0; bi < rt->n_buckets; bi++) {
        sw_dht_bucket *b = &rt->buckets[bi];
        for (int pass = 0; pass < 2; pass++) {
            sw_dht_contact *arr = pass ? b->repl : b->live;
            int *n = pass ? &b->n_repl : &b->n_live;
            for (int i = 0; i < *n;) {
                if (sw__endpoint_equal(&arr[i].ep, ep)) {
                    /* Same address, new id: the node restarted. Believe it
                     * only once it answers us from there. */
                    if (!responded)
                        return false;
                    remove_at(arr, n, i);
                    if (!pass)
                        promote(b, now_ms);
                    continue;
                }
                if (rt->opts.restrict_ips && sw__dht_addr_same_prefix(&arr[i].ep, ep))
                    return false;
                i++;
            }
        }
    }
    return true;
}

static int add_replacement(sw_dht_routing *rt, sw_dht_bucket *b, const sw_dht_contact *ne)
{
    if (b->n_repl < k_of(rt)) {
        b->repl[b->n_repl++] = *ne;
        return SW_DHT_ADD_REPLACEMENT;
    }
    /* Evict the stalest entry that never answered; an answered newcomer may
     * also evict the stalest answered one. */
    int victim = -1;
    for (int i = 0; i < b->n_repl; i++) {
        const sw_dht_contact *e = &b->repl[i];
        bool weak = e->last_response_ms == 0 || e->fail_count > 0;
        if (!weak && ne->last_response_ms == 0)
            continue;
        if (victim < 0 || e->last_seen_ms < b->repl[victim].last_seen_ms)
            victim = i;
    }
    if (victim < 0)
        return SW_DHT_ADD_REJECTED;
    b->repl[victim] = *ne;
    return SW_DHT_ADD_REPLACEMENT;
}

int sw__dht_routing_heard(sw_dht_routing *rt, const sw_sha1 *id, const sw_endpoint *ep,
                          bool responded, uint64_t now_ms)
{
    if (ep->family != rt->family || ep->port == 0 || memcmp(id->v, rt->self.v, SW_DHT_ID_LEN) == 0)
        return SW_DHT_ADD_REJECTED;
    if (rt->opts.enforce_node_id && !sw__dht_addr_is_local(ep) && !sw__dht_id_verify(ep, id))
        return SW_DHT_ADD_REJECTED;

    sw_dht_bucket *b = &rt->buckets[sw__dht_routing_bucket_of(rt, id)];
    int idx;
    sw_dht_contact *e = find_in(b->live, b->n_live, id, &idx);
    if (e) {
        if (!accept_address(e, ep, now_ms))
            return SW_DHT_ADD_REJECTED;
        touch(e, responded, now_ms);
        if (responded)
            b->last_changed_ms = now_ms;
        return SW_DHT_ADD_UPDATED;
    }
    e = find_in(b->repl, b->n_repl, id, &idx);
    sw_dht_contact ne;
    if (e) {
        if (!accept_address(e, ep, now_ms))
            return SW_DHT_ADD_REJECTED;
        touch(e, responded, now_ms);
        if (!responded)
            return SW_DHT_ADD_UPDATED;
        /* It answered: try to move it into the bucket proper. */
        ne = *e;
        remove_at(b->repl, &b->n_repl, idx);
    } else {
        if (!check_conflicts(rt, ep, responded, now_ms))
            return SW_DHT_ADD_REJECTED;
        memset(&ne, 0, sizeof ne);
        ne.id = *id;
        ne.ep = *ep;
        ne.first_seen_ms = now_ms;
        touch(&ne, responded, now_ms);
    }

    for (;;) {
        int bi = sw__dht_routing_bucket_of(rt, id);
        b = &rt->buckets[bi];
        if (b->n_live < b->cap_live) {
            b->live[b->n_live++] = ne;
            b->last_changed_ms = now_ms;
            return SW_DHT_ADD_LIVE;
        }
        if (bi == rt->n_buckets - 1 && rt->n_buckets < SW_DHT_ID_BITS) {
            int rc = split_last(rt, now_ms);
            if (rc != 0)
                return rc;
            continue;
        }
        if (responded) {
            /* A node that answered us displaces a bad one, else one that
             * never answered. */
            int victim = -1;
            for (int i = 0; i < b->n_live && victim < 0; i++)
                if (b->live[i].fail_count >= SW_DHT_BAD_FAILS)
                    victim = i;
            for (int i = 0; i < b->n_live && victim < 0; i++)
                if (b->live[i].last_response_ms == 0)
                    victim = i;
            if (victim >= 0) {
                b->live[victim] = ne;
                b->last_changed_ms = now_ms;
                return SW_DHT_ADD_LIVE;
            }
        }
        return add_replacement(rt, b, &ne);
    }
}

bool sw__dht_routing_failed(sw_dht_routing *rt, const sw_sha1 *id, const sw_endpoint *ep,
                            uint64_t now_ms)
{
    sw_dht_bucket *b = &rt->buckets[sw__dht_routing_bucket_of(rt, id)];
    int idx;
    sw_dht_contact *e = find_in(b->live, b->n_live, id, &idx);
    if (e) {
        if (!sw__endpoint_equal(&e->ep, ep))
            return false;
        e->fail_count++;
        bool replace = e->fail_count >= SW_DHT_BAD_FAILS && best_replacement(b) >= 0;
        if (replace || (int)e->fail_count >= max_fails(rt)) {
            remove_at(b->live, &b->n_live, idx);
            promote(b, now_ms);
            return true;
        }
        return false;
    }
    e = find_in(b->repl, b->n_repl, id, &idx);
    if (e && sw__endpoint_equal(&e->ep, ep)) {
        e->fail_count++;
        if (e->fail_count >= SW_DHT_BAD_FAILS) {
            remove_at(b->repl, &b->n_repl, idx);
            return true;
        }
    }
    return false;
}

void sw__dht_routing_queried(sw_dht_routing *rt, const sw_sha1 *id, uint64_t now_ms)
{
    sw_dht_bucket *b = &rt->buckets[sw__dht_routing_bucket_of(rt, id)];
    int idx;
    sw_dht_contact *e = find_in(b->live, b->n_live, id, &idx);
    if (!e)
        e = find_in(b->repl, b->n_repl, id, &idx);
    if (e)
        e->last_queried_ms = now_ms;
}

void sw__dht_routing_remove(sw_dht_routing *rt, const sw_sha1 *id)
{
    sw_dht_bucket *b = &rt->buckets[sw__dht_routing_bucket_of(rt, id)];
    int idx;
    if (find_in(b->live, b->n_live, id, &idx)) {
        remove_at(b->live, &b->n_live, idx);
        return;
    }
    if (find_in(b->repl, b->n_repl, id, &idx))
        remove_at(b->repl, &b->n_repl, idx);
}

size_t sw__dht_routing_closest(const sw_dht_routing *rt, const sw_sha1 *target, size_t max,
                               unsigned flags, uint64_t now_ms, sw_dht_contact *out)
{
    size_t n = 0;
    if (max == 0)
        return 0;
    for (int bi = 0; bi < rt->n_buckets; bi++) {
        const sw_dht_bucket *b = &rt->buckets[bi];
        for (int i = 0; i < b->n_live; i++) {
            const sw_dht_contact *e = &b->live[i];
            sw_dht_node_state st = sw__dht_routing_state(e, now_ms);
            if (st == SW_DHT_NODE_BAD ||
                ((flags & SW_DHT_CLOSEST_CONFIRMED) && e->last_response_ms == 0))
                continue;
            if (n == max && sw__dht_id_closer(target, &e->id, &out[n - 1].id) >= 0)
                continue;
            /* Insertion into the sorted prefix; the farthest drops off. */
            size_t pos = n < max ? n : max - 1;
            while (pos > 0 && sw__dht_id_closer(target, &e->id, &out[pos - 1].id) < 0) {
                out[pos] = out[pos - 1];
                pos--;
            }
            out[pos] = *e;
            if (n < max)
                n++;
        }
    }
    return n;
}

void sw__dht_routing_counts(const sw_dht_routing *rt, uint64_t now_ms, size_t *live_out,
                            size_t *good_out, size_t *replacements_out)
{
    size_t live = 0, good = 0, repl = 0;
    for (int bi = 0; bi < rt->n_buckets; bi++) {
        const sw_dht_bucket *b = &rt->buckets[bi];
        live += (size_t)b->n_live;
        repl += (size_t)b->n_repl;
        for (int i = 0; i < b->n_live; i++)
            if (sw__dht_routing_state(&b->live[i], now_ms) == SW_DHT_NODE_GOOD)
                good++;
    }
    if (live_out)
        *live_out = live;
    if (good_out)
        *good_out = good;
    if (replacements_out)
        *replacements_out = repl;
}

int sw__dht_routing_depth_counts(const sw_dht_routing *rt, uint32_t counts[SW_DHT_ID_BITS])
{
    memset(counts, 0, SW_DHT_ID_BITS * sizeof counts[0]);
    int deepest = -1;
    for (int bi = 0; bi < rt->n_buckets; bi++) {
        const sw_dht_bucket *b = &rt->buckets[bi];
        for (int i = 0; i < b->n_live; i++) {
            int d = sw__dht_id_common_bits(&rt->self, &b->live[i].id);
            if (d >= SW_DHT_ID_BITS)
                continue;
            counts[d]++;
            if (d > deepest)
                deepest = d;
        }
    }
    return deepest;
}

bool sw__dht_routing_next_ping(const sw_dht_routing *rt, uint64_t now_ms, uint64_t min_gap_ms,
                               uint64_t min_age_ms, sw_dht_contact *out)
{
    const sw_dht_contact *pick = NULL;
    for (int bi = 0; bi < rt->n_buckets; bi++) {
        const sw_dht_bucket *b = &rt->buckets[bi];
        for (int i = 0; i < b->n_live; i++) {
            const sw_dht_contact *e = &b->live[i];
            if (sw__dht_routing_state(e, now_ms) == SW_DHT_NODE_GOOD)
                continue;
            if (e->last_queried_ms != 0 && now_ms - e->last_queried_ms < min_gap_ms)
                continue;
            if (e->last_response_ms == 0 && now_ms - e->first_seen_ms < min_age_ms)
                continue;
            if (!pick || e->last_queried_ms < pick->last_queried_ms)
                pick = e;
        }
    }
    if (!pick)
        return false;
    *out = *pick;
    return true;
}

bool sw__dht_routing_next_refresh(sw_dht_routing *rt, uint64_t now_ms, uint64_t stale_ms,
                                  sw_sha1 *target_out)
{
    for (int bi = 0; bi < rt->n_buckets; bi++) {
        sw_dht_bucket *b = &rt->buckets[bi];
        if (now_ms - b->last_changed_ms < stale_ms)
            continue;
        sw__dht_id_random_at_depth(&rt->self, bi, target_out);
        b->last_changed_ms = now_ms;
        return true;
    }
    return false;
}
