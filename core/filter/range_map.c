/* The range map: a sorted array of range starts searched by binary search.
 * Adding a rule replaces the starts it covers with at most two (its own and
 * the one that resumes the old flags after it) and then merges neighbours
 * with equal flags around the splice only, so rules added in ascending
 * order (the usual shape of a blocklist file) cost little more than an
 * append. */
#include <stdlib.h>
#include <string.h>

#include "filter.h"

int sw__range_key_cmp(sw_range_key a, sw_range_key b)
{
    if (a.hi != b.hi)
        return a.hi < b.hi ? -1 : 1;
    if (a.lo != b.lo)
        return a.lo < b.lo ? -1 : 1;
    return 0;
}

static sw_range_key key_inc(sw_range_key k)
{
    k.lo++;
    if (k.lo == 0)
        k.hi++;
    return k;
}

static sw_range_key key_dec(sw_range_key k)
{
    if (k.lo == 0)
        k.hi--;
    k.lo--;
    return k;
}

int sw__range_map_init(sw_range_map *m, sw_range_key max)
{
    m->v = malloc(4 * sizeof *m->v);
    if (!m->v)
        return SW_ERR_NOMEM;
    m->cap = 4;
    m->n = 1;
    m->v[0].start.hi = 0;
    m->v[0].start.lo = 0;
    m->v[0].flags = 0;
    m->max = max;
    return 0;
}

void sw__range_map_free(sw_range_map *m)
{
    free(m->v);
    m->v = NULL;
    m->n = m->cap = 0;
}

int sw__range_map_copy(sw_range_map *dst, const sw_range_map *src)
{
    size_t cap = src->n < 4 ? 4 : src->n;
    dst->v = malloc(cap * sizeof *dst->v);
    if (!dst->v)
        return SW_ERR_NOMEM;
    memcpy(dst->v, src->v, src->n * sizeof *dst->v);
    dst->n = src->n;
    dst->cap = cap;
    dst->max = src->max;
    return 0;
}

/* The first index whose start is greater than key. */
static size_t upper_bound(const sw_range_map *m, sw_range_key key)
{
    size_t lo = 0, hi = m->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (sw__range_key_cmp(m->v[mid].start, key) <= 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/* The first index whose start is not less than key. */
static size_t lower_bound(const sw_range_map *m, sw_range_key key)
{
    size_t lo = 0, hi = m->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (sw__range_key_cmp(m->v[mid].start, key) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

uint32_t sw__range_map_access(const sw_range_map *m, sw_range_key key)
{
    size_t i = upper_bound(m, key);
    /* v[0] starts at 0, so i >= 1 for any key. */
    return i > 0 ? m->v[i - 1].flags : 0;
}

sw_range_key sw__range_map_end(const sw_range_map *m, size_t i)
{
    if (i + 1 < m->n)
        return key_dec(m->v[i + 1].start);
    return m->max;
}

static void remove_at(sw_range_map *m, size_t p)
{
    memmove(&m->v[p], &m->v[p + 1], (m->n - p - 1) * sizeof m->v[0]);
    m->n--;
}

int sw__range_map_add(sw_range_map *m, sw_range_key first, sw_range_key last, uint32_t flags)
{
    if (sw__range_key_cmp(first, last) > 0 || sw__range_key_cmp(last, m->max) > 0)
        return SW_ERR_INVALID_ARG;
    sw_range_entry repl[2];
    size_t nrepl = 0;
    repl[nrepl].start = first;
    repl[nrepl++].flags = flags;
    size_t i = lower_bound(m, first);
    size_t j = upper_bound(m, last);
    bool at_max = sw__range_key_cmp(last, m->max) == 0;
    if (!at_max) {
        sw_range_key next = key_inc(last);
        /* A start right after the rule already resumes something. */
        if (j == m->n || sw__range_key_cmp(m->v[j].start, next) != 0) {
            repl[nrepl].start = next;
            repl[nrepl++].flags = sw__range_map_access(m, next);
        }
    }
    size_t removed = j - i;
    size_t n = m->n - removed + nrepl;
    if (n > m->cap) {
        size_t cap = m->cap * 2;
        while (cap < n)
            cap *= 2;
        sw_range_entry *v = realloc(m->v, cap * sizeof *v);
        if (!v)
            return SW_ERR_NOMEM;
        m->v = v;
        m->cap = cap;
    }
    memmove(&m->v[i + nrepl], &m->v[j], (m->n - j) * sizeof m->v[0]);
    memcpy(&m->v[i], repl, nrepl * sizeof repl[0]);
    m->n = n;
    /* Only the spliced entries and the one after them can now repeat their
     * predecessor's flags. */
    size_t p = i;
    for (size_t k = 0; k <= nrepl && p < m->n; k++) {
        if (p > 0 && m->v[p].flags == m->v[p - 1].flags)
            remove_at(m, p);
        else
            p++;
    }
    return 0;
}
