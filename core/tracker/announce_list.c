/* Announce-list tiers and per-tracker announce state (see announce_list.h). */
#include "announce_list.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

static uint64_t next_random(sw_announce_list *l)
{
    /* splitmix64: tiny, and good enough to shuffle a handful of URLs. */
    uint64_t z = (l->rng += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

void sw__announce_list_init(sw_announce_list *l, uint64_t seed)
{
    memset(l, 0, sizeof *l);
    l->rng = seed;
    l->next_id = 1;
}

static void entry_free(sw_tracker_entry *e)
{
    free(e->url);
    free(e->last_message);
    free(e->warning);
    free(e->tracker_id);
}

void sw__announce_list_free(sw_announce_list *l)
{
    for (size_t i = 0; i < l->n; i++)
        entry_free(&l->v[i]);
    free(l->v);
    memset(l, 0, sizeof *l);
}

/* [lo, hi) of the entries of `tier` (empty range at the insertion point if
 * the tier has none yet). */
static void tier_range(const sw_announce_list *l, int tier, size_t *lo, size_t *hi)
{
    size_t a = 0;
    while (a < l->n && l->v[a].tier < tier)
        a++;
    size_t b = a;
    while (b < l->n && l->v[b].tier == tier)
        b++;
    *lo = a;
    *hi = b;
}

/* Moves entry `from` to index `to`, shifting the ones in between. */
static void move_entry(sw_announce_list *l, size_t from, size_t to)
{
    if (from == to)
        return;
    sw_tracker_entry e = l->v[from];
    if (from < to)
        memmove(&l->v[from], &l->v[from + 1], (to - from) * sizeof e);
    else
        memmove(&l->v[to + 1], &l->v[to], (from - to) * sizeof e);
    l->v[to] = e;
}

static bool same_host(const char *a, const char *b)
{
    char ha[256], hb[256];
    uint16_t pa, pb;
    return sw__tracker_url_host_port(a, 1, ha, sizeof ha, &pa) == 0 &&
           sw__tracker_url_host_port(b, 1, hb, sizeof hb, &pb) == 0 && strcasecmp(ha, hb) == 0;
}

/* With prefer_udp_trackers, puts the new entry at pos ahead of (udp) or
 * behind (http) its same-host siblings of the other protocol. */
static size_t apply_prefer_udp(sw_announce_list *l, size_t pos, size_t lo, size_t hi)
{
    const sw_tracker_entry *e = &l->v[pos];
    if (e->kind == SW_TRACKER_URL_UDP) {
        for (size_t i = lo; i < pos; i++) {
            if (l->v[i].kind != SW_TRACKER_URL_UDP && same_host(l->v[i].url, e->url)) {
                move_entry(l, pos, i);
                return i;
            }
        }
    } else {
        for (size_t i = hi; i-- > pos + 1;) {
            if (l->v[i].kind == SW_TRACKER_URL_UDP && same_host(l->v[i].url, e->url)) {
                move_entry(l, pos, i);
                return i;
            }
        }
    }
    return pos;
}

int sw__announce_list_add(sw_announce_list *l, const char *url, int tier, unsigned source,
                          bool prefer_udp, size_t *index_out)
{
    sw_tracker_url_kind kind;
    if (sw__tracker_url_kind(url, &kind) != 0)
        return SW_ERR_TRACKER_BAD_URL;
    if (sw__announce_list_find_url(l, url) >= 0)
        return SW_ERR_EXISTS;
    if (tier < 0)
        tier = 0;
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 4;
        sw_tracker_entry *v = realloc(l->v, cap * sizeof *v);
        if (!v)
            return SW_ERR_NOMEM;
        l->v = v;
        l->cap = cap;
    }
    char *copy = strdup(url);
    if (!copy)
        return SW_ERR_NOMEM;

    size_t lo, hi;
    tier_range(l, tier, &lo, &hi);
    size_t pos = lo + (size_t)(next_random(l) % (hi - lo + 1));
    memmove(&l->v[pos + 1], &l->v[pos], (l->n - pos) * sizeof l->v[0]);
    l->n++;
    sw_tracker_entry *e = &l->v[pos];
    memset(e, 0, sizeof *e);
    e->url = copy;
    e->id = l->next_id++;
    if (l->next_id == 0)
        l->next_id = 1;
    e->tier = tier;
    e->kind = (uint8_t)kind;
    e->source = (uint8_t)source;
    e->interval = e->min_interval = -1;
    e->complete = e->incomplete = e->downloaded = -1;
    e->last_num_peers = -1;
    if (prefer_udp)
        pos = apply_prefer_udp(l, pos, lo, hi + 1);
    if (index_out)
        *index_out = pos;
    return 0;
}

void sw__announce_list_remove(sw_announce_list *l, size_t i)
{
    if (i >= l->n)
        return;
    entry_free(&l->v[i]);
    memmove(&l->v[i], &l->v[i + 1], (l->n - i - 1) * sizeof l->v[0]);
    l->n--;
}

ptrdiff_t sw__announce_list_find_id(const sw_announce_list *l, uint32_t id)
{
    for (size_t i = 0; i < l->n; i++)
        if (l->v[i].id == id)
            return (ptrdiff_t)i;
    return -1;
}

ptrdiff_t sw__announce_list_find_url(const sw_announce_list *l, const char *url)
{
    for (size_t i = 0; i < l->n; i++)
        if (strcmp(l->v[i].url, url) == 0)
            return (ptrdiff_t)i;
    return -1;
}

static bool exhausted(const sw_tracker_entry *e)
{
    return e->fail_limit != 0 && e->fails >= e->fail_limit;
}

/* When e becomes announceable, ignoring whether it is busy. */
static int64_t eligible_at(const sw_tracker_entry *e)
{
    if (e->complete_pending || e->next_announce > e->min_announce)
        return e->next_announce;
    return e->min_announce;
}

bool sw__tracker_entry_can_announce(const sw_tracker_entry *e, int64_t now)
{
    return !e->updating && !exhausted(e) && now >= eligible_at(e);
}

sw_tracker_event sw__tracker_entry_next_event(const sw_tracker_entry *e)
{
    if (!e->start_sent)
        return SW_TRACKER_EVENT_STARTED;
    if (e->complete_pending)
        return SW_TRACKER_EVENT_COMPLETED;
    return SW_TRACKER_EVENT_NONE;
}

size_t sw__announce_list_plan(const sw_announce_list *l, const sw_announce_policy *p, int64_t now,
                              size_t *out, int64_t *wake_out)
{
    size_t count = 0;
    int64_t wake = INT64_MAX;
    size_t i = 0;
    while (i < l->n) {
        int tier = l->v[i].tier;
        bool tier_working = false, tier_done = false;
        for (; i < l->n && l->v[i].tier == tier; i++) {
            const sw_tracker_entry *e = &l->v[i];
            if (tier_done || exhausted(e))
                continue;
            if (sw__tracker_entry_can_announce(e, now))
                out[count++] = i;
            else if (!e->updating && eligible_at(e) < wake)
                wake = eligible_at(e);
            if (e->fails == 0) {
                /* The tracker this tier uses (or is trying for the first
                 * time): the ones after it are backups. */
                tier_working = true;
                if (!p->all_trackers)
                    tier_done = true;
            }
        }
        if (tier_working && !p->all_tiers)
            break;
    }
    if (wake_out)
        *wake_out = wake;
    return count;
}

void sw__announce_list_sent(sw_announce_list *l, size_t i, sw_tracker_event event)
{
    l->v[i].updating = true;
    l->v[i].sent_event = (uint8_t)event;
}

size_t sw__announce_list_succeeded(sw_announce_list *l, size_t i, int64_t now, int64_t interval_s,
                                   int64_t min_interval_s)
{
    sw_tracker_entry *e = &l->v[i];
    e->updating = false;
    e->fails = 0;
    e->verified = true;
    e->last_error = 0;
    e->last_status = 0;
    free(e->last_message);
    e->last_message = NULL;
    switch ((sw_tracker_event)e->sent_event) {
    case SW_TRACKER_EVENT_STARTED:
        e->start_sent = true;
        break;
    case SW_TRACKER_EVENT_COMPLETED:
        e->complete_pending = false;
        break;
    case SW_TRACKER_EVENT_STOPPED:
        e->start_sent = false;
        e->complete_pending = false;
        break;
    case SW_TRACKER_EVENT_NONE:
        break;
    }
    e->sent_event = SW_TRACKER_EVENT_NONE;
    if (interval_s < 0)
        interval_s = 0;
    if (min_interval_s < 0)
        min_interval_s = 0;
    e->next_announce = now + interval_s * 1000;
    e->min_announce = now + min_interval_s * 1000;
    if (e->force_pending) {
        /* The reply was to what we said before the force (an old listen
         * port, say): say it again now. */
        e->force_pending = false;
        e->next_announce = e->min_announce = now;
    }

    size_t lo, hi;
    tier_range(l, e->tier, &lo, &hi);
    move_entry(l, i, lo);
    return lo;
}

int64_t sw__announce_backoff_s(unsigned fails, int backoff_percent)
{
    if (backoff_percent < 0)
        backoff_percent = 0;
    /* Clamp before squaring so that nothing overflows. */
    uint64_t f = fails > 1000 ? 1000 : fails;
    uint64_t delay = 5 + 5 * f * f * (uint64_t)backoff_percent / 100;
    return delay > SW_TRACKER_MAX_BACKOFF ? SW_TRACKER_MAX_BACKOFF : (int64_t)delay;
}

size_t sw__announce_list_failed(sw_announce_list *l, size_t i, int64_t now, int64_t retry_after_s,
                                int backoff_percent)
{
    sw_tracker_entry *e = &l->v[i];
    e->updating = false;
    e->sent_event = SW_TRACKER_EVENT_NONE;
    e->force_pending = false; /* the back-off decides when to try again */
    if (e->fails < UINT16_MAX)
        e->fails++;
    int64_t delay = sw__announce_backoff_s(e->fails, backoff_percent);
    if (retry_after_s > delay)
        delay = retry_after_s > SW_TRACKER_MAX_INTERVAL ? SW_TRACKER_MAX_INTERVAL : retry_after_s;
    e->next_announce = now + delay * 1000;

    size_t lo, hi;
    tier_range(l, e->tier, &lo, &hi);
    move_entry(l, i, hi - 1);
    return hi - 1;
}

void sw__announce_list_abandoned(sw_announce_list *l, size_t i)
{
    l->v[i].updating = false;
    l->v[i].sent_event = SW_TRACKER_EVENT_NONE;
}

void sw__announce_list_start(sw_announce_list *l)
{
    for (size_t i = 0; i < l->n; i++) {
        sw_tracker_entry *e = &l->v[i];
        e->start_sent = false;
        e->complete_pending = false;
        e->next_announce = 0;
        e->min_announce = 0;
    }
}

void sw__announce_list_completed(sw_announce_list *l, int64_t now)
{
    for (size_t i = 0; i < l->n; i++) {
        sw_tracker_entry *e = &l->v[i];
        if (!e->start_sent)
            continue;
        e->complete_pending = true;
        /* A failing tracker keeps its back-off; the others hear it now. */
        if (e->fails == 0 && e->next_announce > now)
            e->next_announce = now;
    }
}

void sw__announce_list_force(sw_announce_list *l, ptrdiff_t i, int64_t now)
{
    for (size_t k = 0; k < l->n; k++) {
        if (i >= 0 && (size_t)i != k)
            continue;
        l->v[k].next_announce = now;
        l->v[k].min_announce = now;
        /* A request in flight carries what was true before; its reply
         * would push the next announce back by a whole interval. */
        if (l->v[k].updating)
            l->v[k].force_pending = true;
    }
}

bool sw__tracker_entry_wants_stopped(const sw_tracker_entry *e)
{
    return e->start_sent || (e->updating && e->sent_event == SW_TRACKER_EVENT_STARTED);
}
