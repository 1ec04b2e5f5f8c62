/* The sw_magnet value: construction, copying, comparison, accessors and the
 * checked setters that both the parser and embedders go through, so a parsed
 * magnet and a hand-built one obey the same rules. */
#include "magnet_int.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <arpa/inet.h>

int sw_magnet_new(sw_magnet **m_out)
{
    if (!m_out)
        return SW_ERR_INVALID_ARG;
    sw_magnet *m = calloc(1, sizeof *m);
    if (!m)
        return SW_ERR_NOMEM;
    *m_out = m;
    return 0;
}

static void strlist_free(sw__strlist *l)
{
    for (int i = 0; i < l->count; i++)
        free(l->items[i]);
    free(l->items);
}

void sw_magnet_free(sw_magnet *m)
{
    if (!m)
        return;
    free(m->name);
    strlist_free(&m->trackers);
    strlist_free(&m->web_seeds);
    for (int i = 0; i < m->num_peers; i++)
        free((char *)m->peers[i].host);
    free(m->peers);
    free(m->ranges);
    free(m);
}

/* Grows *items (of elem_size bytes each) so it can hold one more than count. */
static int grow(void **items, int *cap, int count, size_t elem_size)
{
    if (count < *cap)
        return 0;
    int ncap = *cap ? *cap * 2 : 4;
    void *p = realloc(*items, (size_t)ncap * elem_size);
    if (!p)
        return SW_ERR_NOMEM;
    *items = p;
    *cap = ncap;
    return 0;
}

static int strlist_add(sw__strlist *l, const char *s, int max)
{
    if (!s || !*s)
        return SW_ERR_INVALID_ARG;
    for (int i = 0; i < l->count; i++) {
        if (strcmp(l->items[i], s) == 0)
            return 0;
    }
    if (l->count >= max)
        return SW_ERR_LIMIT;
    void *items = l->items;
    int rc = grow(&items, &l->cap, l->count, sizeof *l->items);
    l->items = items;
    if (rc < 0)
        return rc;
    char *copy = strdup(s);
    if (!copy)
        return SW_ERR_NOMEM;
    l->items[l->count++] = copy;
    return 0;
}

static bool strlist_equal(const sw__strlist *a, const sw__strlist *b)
{
    if (a->count != b->count)
        return false;
    for (int i = 0; i < a->count; i++) {
        if (strcmp(a->items[i], b->items[i]) != 0)
            return false;
    }
    return true;
}

int sw_magnet_set_hashes(sw_magnet *m, const sw_info_hashes *hashes)
{
    if (!m || !hashes || (!hashes->has_v1 && !hashes->has_v2))
        return SW_ERR_INVALID_ARG;
    sw_info_hashes h = {.has_v1 = hashes->has_v1, .has_v2 = hashes->has_v2};
    /* Only the present hashes are copied, so absent ones compare as zero. */
    if (h.has_v1)
        h.v1 = hashes->v1;
    if (h.has_v2)
        h.v2 = hashes->v2;
    m->hashes = h;
    return 0;
}

int sw_magnet_set_name(sw_magnet *m, const char *name)
{
    if (!m)
        return SW_ERR_INVALID_ARG;
    char *copy = NULL;
    if (name && *name) {
        copy = strdup(name);
        if (!copy)
            return SW_ERR_NOMEM;
    }
    free(m->name);
    m->name = copy;
    return 0;
}

int sw_magnet_add_tracker(sw_magnet *m, const char *url)
{
    if (!m)
        return SW_ERR_INVALID_ARG;
    return strlist_add(&m->trackers, url, SW_MAGNET_MAX_TRACKERS);
}

int sw_magnet_add_web_seed(sw_magnet *m, const char *url)
{
    if (!m)
        return SW_ERR_INVALID_ARG;
    return strlist_add(&m->web_seeds, url, SW_MAGNET_MAX_WEB_SEEDS);
}

static bool is_host_name(const char *host)
{
    size_t len = strlen(host);
    if (len == 0 || len > 253)
        return false;
    char prev = '.'; /* so a leading dot counts as an empty label */
    for (size_t i = 0; i < len; i++) {
        char c = host[i];
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  c == '-' || c == '_' || c == '.';
        if (!ok || (c == '.' && prev == '.'))
            return false;
        prev = c;
    }
    return prev != '.';
}

/* Classifies host, or returns 0 if it is none of the accepted forms. Text
 * that looks like an address literal must be a valid one: "1.2.3" is not
 * taken for a host name. */
static int peer_kind(const char *host)
{
    unsigned char addr[16];
    if (strchr(host, ':'))
        return inet_pton(AF_INET6, host, addr) == 1 ? SW_MAGNET_PEER_IPV6 : 0;
    if (host[0] != '\0' && strspn(host, "0123456789.") == strlen(host))
        return inet_pton(AF_INET, host, addr) == 1 ? SW_MAGNET_PEER_IPV4 : 0;
    return is_host_name(host) ? SW_MAGNET_PEER_HOSTNAME : 0;
}

int sw_magnet_add_peer(sw_magnet *m, const char *host, int port)
{
    if (!m || !host)
        return SW_ERR_INVALID_ARG;
    int kind = peer_kind(host);
    if (kind == 0 || port < 1 || port > 65535)
        return SW_ERR_MAGNET_BAD_PEER;
    for (int i = 0; i < m->num_peers; i++) {
        const sw_magnet_peer *p = &m->peers[i];
        if (p->port == port && (int)p->kind == kind && strcasecmp(p->host, host) == 0)
            return 0;
    }
    if (m->num_peers >= SW_MAGNET_MAX_PEERS)
        return SW_ERR_LIMIT;
    void *items = m->peers;
    int rc = grow(&items, &m->cap_peers, m->num_peers, sizeof *m->peers);
    m->peers = items;
    if (rc < 0)
        return rc;
    char *copy = strdup(host);
    if (!copy)
        return SW_ERR_NOMEM;
    m->peers[m->num_peers++] =
        (sw_magnet_peer){.host = copy, .port = port, .kind = (sw_magnet_peer_kind)kind};
    return 0;
}

int sw_magnet_add_select_range(sw_magnet *m, int first, int last)
{
    if (!m)
        return SW_ERR_INVALID_ARG;
    if (first < 0 || last < first || last > SW_MAGNET_MAX_FILE_INDEX)
        return SW_ERR_MAGNET_BAD_SELECT;
    /* ranges[lo..hi) are the ones that overlap or touch [first, last]; they
     * collapse into one. The +1s cannot overflow: indices stop below INT_MAX. */
    int lo = 0, end = m->num_ranges;
    while (lo < end) { /* binary search: the first range not wholly before */
        int mid = lo + (end - lo) / 2;
        if (m->ranges[mid].last + 1 < first)
            lo = mid + 1;
        else
            end = mid;
    }
    int hi = lo;
    while (hi < m->num_ranges && m->ranges[hi].first <= last + 1)
        hi++;
    if (lo == hi) {
        if (m->num_ranges >= SW_MAGNET_MAX_SELECT_RANGES)
            return SW_ERR_LIMIT;
        void *items = m->ranges;
        int rc = grow(&items, &m->cap_ranges, m->num_ranges, sizeof *m->ranges);
        m->ranges = items;
        if (rc < 0)
            return rc;
        memmove(&m->ranges[lo + 1], &m->ranges[lo],
                (size_t)(m->num_ranges - lo) * sizeof *m->ranges);
        m->ranges[lo] = (sw_magnet_file_range){first, last};
        m->num_ranges++;
        return 0;
    }
    sw_magnet_file_range merged = {
        .first = m->ranges[lo].first < first ? m->ranges[lo].first : first,
        .last = m->ranges[hi - 1].last > last ? m->ranges[hi - 1].last : last,
    };
    m->ranges[lo] = merged;
    memmove(&m->ranges[lo + 1], &m->ranges[hi], (size_t)(m->num_ranges - hi) * sizeof *m->ranges);
    m->num_ranges -= hi - lo - 1;
    return 0;
}

int sw_magnet_clone(const sw_magnet *m, sw_magnet **m_out)
{
    if (!m || !m_out)
        return SW_ERR_INVALID_ARG;
    sw_magnet *c;
    int rc = sw_magnet_new(&c);
    if (rc < 0)
        return rc;
    c->hashes = m->hashes;
    rc = sw_magnet_set_name(c, m->name);
    for (int i = 0; rc == 0 && i < m->trackers.count; i++)
        rc = sw_magnet_add_tracker(c, m->trackers.items[i]);
    for (int i = 0; rc == 0 && i < m->web_seeds.count; i++)
        rc = sw_magnet_add_web_seed(c, m->web_seeds.items[i]);
    for (int i = 0; rc == 0 && i < m->num_peers; i++)
        rc = sw_magnet_add_peer(c, m->peers[i].host, m->peers[i].port);
    for (int i = 0; rc == 0 && i < m->num_ranges; i++)
        rc = sw_magnet_add_select_range(c, m->ranges[i].first, m->ranges[i].last);
    if (rc < 0) {
        sw_magnet_free(c);
        return rc;
    }
    *m_out = c;
    return 0;
}

static bool hashes_equal(const sw_info_hashes *a, const sw_info_hashes *b)
{
    if (a->has_v1 != b->has_v1 || a->has_v2 != b->has_v2)
        return false;
    if (a->has_v1 && memcmp(a->v1.v, b->v1.v, sizeof a->v1.v) != 0)
        return false;
    if (a->has_v2 && memcmp(a->v2.v, b->v2.v, sizeof a->v2.v) != 0)
        return false;
    return true;
}

bool sw_magnet_equal(const sw_magnet *a, const sw_magnet *b)
{
    if (!a || !b)
        return a == b;
    if (!hashes_equal(&a->hashes, &b->hashes))
        return false;
    if ((a->name == NULL) != (b->name == NULL) || (a->name && strcmp(a->name, b->name) != 0))
        return false;
    if (!strlist_equal(&a->trackers, &b->trackers) || !strlist_equal(&a->web_seeds, &b->web_seeds))
        return false;
    if (a->num_peers != b->num_peers || a->num_ranges != b->num_ranges)
        return false;
    for (int i = 0; i < a->num_peers; i++) {
        const sw_magnet_peer *p = &a->peers[i], *q = &b->peers[i];
        if (p->port != q->port || p->kind != q->kind || strcmp(p->host, q->host) != 0)
            return false;
    }
    for (int i = 0; i < a->num_ranges; i++) {
        if (a->ranges[i].first != b->ranges[i].first || a->ranges[i].last != b->ranges[i].last)
            return false;
    }
    return true;
}

const sw_info_hashes *sw_magnet_hashes(const sw_magnet *m)
{
    return &m->hashes;
}

const char *sw_magnet_name(const sw_magnet *m)
{
    return m->name;
}

int sw_magnet_num_trackers(const sw_magnet *m)
{
    return m->trackers.count;
}

const char *sw_magnet_tracker(const sw_magnet *m, int i)
{
    return i >= 0 && i < m->trackers.count ? m->trackers.items[i] : NULL;
}

int sw_magnet_num_web_seeds(const sw_magnet *m)
{
    return m->web_seeds.count;
}

const char *sw_magnet_web_seed(const sw_magnet *m, int i)
{
    return i >= 0 && i < m->web_seeds.count ? m->web_seeds.items[i] : NULL;
}

int sw_magnet_num_peers(const sw_magnet *m)
{
    return m->num_peers;
}

const sw_magnet_peer *sw_magnet_peer_at(const sw_magnet *m, int i)
{
    return i >= 0 && i < m->num_peers ? &m->peers[i] : NULL;
}

int sw_magnet_num_select_ranges(const sw_magnet *m)
{
    return m->num_ranges;
}

const sw_magnet_file_range *sw_magnet_select_range(const sw_magnet *m, int i)
{
    return i >= 0 && i < m->num_ranges ? &m->ranges[i] : NULL;
}

bool sw_magnet_file_selected(const sw_magnet *m, int file_index)
{
    if (m->num_ranges == 0)
        return file_index >= 0;
    int lo = 0, hi = m->num_ranges; /* binary search over sorted ranges */
    while (lo < hi) {
        int mid = lo + (hi - lo) / 2;
        if (m->ranges[mid].last < file_index)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < m->num_ranges && m->ranges[lo].first <= file_index;
}
