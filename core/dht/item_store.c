/* BEP 44 items stored on this node: immutable ones under SHA-1(v), mutable
 * ones under SHA-1(k || salt), with the sequence-number and CAS rules,
 * dht_max_dht_items and expiry. Sorted array of records by target. */
#include <stdlib.h>
#include <string.h>

#include "dht/store.h"

void sw__dht_items_init(sw_dht_item_store *s, int max_items)
{
    memset(s, 0, sizeof *s);
    s->max_items = max_items > 0 ? max_items : 1;
}

static void rec_free(sw_dht_item_rec *r)
{
    if (r) {
        free(r->v);
        free(r);
    }
}

void sw__dht_items_free(sw_dht_item_store *s)
{
    for (size_t i = 0; i < s->n; i++)
        rec_free(s->items[i]);
    free(s->items);
    memset(s, 0, sizeof *s);
}

static size_t find(const sw_dht_item_store *s, const sw_sha1 *target, bool *found)
{
    size_t lo = 0, hi = s->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = memcmp(s->items[mid]->target.v, target->v, sizeof target->v);
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

const sw_dht_item_rec *sw__dht_items_find(const sw_dht_item_store *s, const sw_sha1 *target)
{
    bool found;
    size_t i = find(s, target, &found);
    return found ? s->items[i] : NULL;
}

static void remove_at(sw_dht_item_store *s, size_t i)
{
    rec_free(s->items[i]);
    memmove(&s->items[i], &s->items[i + 1], (s->n - i - 1) * sizeof *s->items);
    s->n--;
}

/* A new, empty record inserted at target's place (evicting the oldest item
 * when full), or NULL on allocation failure. */
static sw_dht_item_rec *insert(sw_dht_item_store *s, const sw_sha1 *target)
{
    if (s->n >= (size_t)s->max_items && s->n > 0) {
        size_t oldest = 0;
        for (size_t i = 1; i < s->n; i++)
            if (s->items[i]->stored_ms < s->items[oldest]->stored_ms)
                oldest = i;
        remove_at(s, oldest);
    }
    if (s->n == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 16;
        sw_dht_item_rec **ni = realloc(s->items, cap * sizeof *ni);
        if (!ni)
            return NULL;
        s->items = ni;
        s->cap = cap;
    }
    sw_dht_item_rec *r = calloc(1, sizeof *r);
    if (!r)
        return NULL;
    r->target = *target;
    bool found;
    size_t at = find(s, target, &found);
    memmove(&s->items[at + 1], &s->items[at], (s->n - at) * sizeof *s->items);
    s->items[at] = r;
    s->n++;
    return r;
}

static int set_value(sw_dht_item_rec *r, const uint8_t *v, size_t v_len)
{
    uint8_t *copy = malloc(v_len ? v_len : 1);
    if (!copy)
        return SW_ERR_NOMEM;
    memcpy(copy, v, v_len);
    free(r->v);
    r->v = copy;
    r->v_len = v_len;
    return 0;
}

int sw__dht_items_put_immutable(sw_dht_item_store *s, const sw_sha1 *target, const uint8_t *v,
                                size_t v_len, uint64_t now_ms)
{
    if (v_len > SW_DHT_ITEM_MAX)
        return SW_ERR_DHT_ITEM_TOO_LARGE;
    bool found;
    size_t at = find(s, target, &found);
    if (found) {
        s->items[at]->stored_ms = now_ms;
        return 0;
    }
    sw_dht_item_rec *r = insert(s, target);
    if (!r)
        return SW_ERR_NOMEM;
    r->stored_ms = now_ms;
    int rc = set_value(r, v, v_len);
    if (rc != 0)
        remove_at(s, find(s, target, &found));
    return rc;
}

int sw__dht_items_put_mutable(sw_dht_item_store *s, const sw_sha1 *target, const uint8_t *k,
                              const uint8_t *sig, int64_t seq, const uint8_t *salt, size_t salt_len,
                              const uint8_t *v, size_t v_len, bool has_cas, int64_t cas,
                              uint64_t now_ms)
{
    if (v_len > SW_DHT_ITEM_MAX)
        return SW_ERR_DHT_ITEM_TOO_LARGE;
    if (salt_len > SW_DHT_SALT_MAX)
        return SW_ERR_DHT_SALT_TOO_LARGE;
    bool found;
    size_t at = find(s, target, &found);
    sw_dht_item_rec *r;
    if (found) {
        r = s->items[at];
        if (has_cas && cas != r->seq)
            return SW_ERR_DHT_CAS_MISMATCH;
        if (seq < r->seq)
            return SW_ERR_DHT_SEQ_OUTDATED;
        if (seq == r->seq) {
            if (r->v_len != v_len || memcmp(r->v, v, v_len) != 0)
                return SW_ERR_DHT_SEQ_OUTDATED;
            r->stored_ms = now_ms; /* same item again: keep it alive */
            return 0;
        }
        int rc = set_value(r, v, v_len);
        if (rc != 0)
            return rc;
    } else {
        r = insert(s, target);
        if (!r)
            return SW_ERR_NOMEM;
        int rc = set_value(r, v, v_len);
        if (rc != 0) {
            remove_at(s, find(s, target, &found));
            return rc;
        }
    }
    r->is_mutable = true;
    memcpy(r->k, k, SW_DHT_PK_LEN);
    memcpy(r->sig, sig, SW_DHT_SIG_LEN);
    r->seq = seq;
    if (salt_len)
        memcpy(r->salt, salt, salt_len);
    r->salt_len = salt_len;
    r->stored_ms = now_ms;
    return 0;
}

void sw__dht_items_expire(sw_dht_item_store *s, uint64_t now_ms, uint64_t lifetime_ms)
{
    for (size_t i = 0; i < s->n;) {
        if (now_ms - s->items[i]->stored_ms >= lifetime_ms)
            remove_at(s, i);
        else
            i++;
    }
}
