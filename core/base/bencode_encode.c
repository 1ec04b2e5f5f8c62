/* Bencode encoding into a growing heap buffer. Dictionary entries are
 * written in the order given and put in canonical order when the dict ends:
 * each entry (key + value) is a contiguous byte range of the buffer, so
 * sorting moves ranges, never re-encodes them. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/bencode_internal.h"

#define SW_BENC_INITIAL_CAP 256

typedef struct benc_frame {
    size_t entry_base; /* a dict's first entry in sw_bencoder.entries */
    bool is_dict;
    bool have_key; /* a key was written; its value has not been completed */
} benc_frame;

/* One dict entry: buf[start, end) holds the encoded key then the value. */
typedef struct benc_entry {
    size_t start;
    size_t key_data; /* offset of the key's bytes (after its "N:") */
    size_t key_len;
    size_t end; /* set when the value is complete */
} benc_entry;

struct sw_bencoder {
    uint8_t *buf;
    size_t len;
    size_t cap;
    benc_frame *frames;
    size_t depth;
    size_t frames_cap;
    benc_entry *entries; /* entries of every open dict, innermost last */
    size_t nentries;
    size_t entries_cap;
    size_t top_values; /* complete values written at the top level */
    bool finished;
    int err; /* first error; sticky */
};

static int set_err(sw_bencoder *enc, int code)
{
    if (!enc->err)
        enc->err = code;
    return enc->err;
}

/* Grows *arr (of *cap items of size item) to hold at least need items. */
static int grow(void **arr, size_t *cap, size_t item, size_t need, size_t initial)
{
    if (need <= *cap)
        return 0;
    size_t ncap = *cap ? *cap : initial;
    while (ncap < need) {
        if (ncap > SIZE_MAX / 2)
            return SW_ERR_NOMEM;
        ncap *= 2;
    }
    if (ncap > SIZE_MAX / item)
        return SW_ERR_NOMEM;
    void *p = realloc(*arr, ncap * item);
    if (!p)
        return SW_ERR_NOMEM;
    *arr = p;
    *cap = ncap;
    return 0;
}

static int append(sw_bencoder *enc, const void *data, size_t n)
{
    if (n > SIZE_MAX - enc->len)
        return set_err(enc, SW_ERR_NOMEM);
    void *buf = enc->buf;
    if (grow(&buf, &enc->cap, 1, enc->len + n, SW_BENC_INITIAL_CAP))
        return set_err(enc, SW_ERR_NOMEM);
    enc->buf = buf;
    if (n)
        memcpy(enc->buf + enc->len, data, n);
    enc->len += n;
    return 0;
}

/* Writes the decimal digits of v into the end of tmp; returns the start. */
static char *format_u64(uint64_t v, char *end)
{
    char *p = end;
    do {
        *--p = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    return p;
}

/* Appends "N:" + bytes. */
static int append_str(sw_bencoder *enc, const void *s, size_t len)
{
    char tmp[24];
    tmp[sizeof tmp - 1] = ':';
    char *p = format_u64((uint64_t)len, tmp + sizeof tmp - 1);
    int rc = append(enc, p, (size_t)(tmp + sizeof tmp - p));
    return rc ? rc : append(enc, s, len);
}

static benc_frame *top(sw_bencoder *enc)
{
    return enc->depth ? &enc->frames[enc->depth - 1] : NULL;
}

/* Whether a value may start here: at the top level only once, in a dict only
 * after a key. */
static int before_value(sw_bencoder *enc)
{
    if (!enc)
        return SW_ERR_INVALID_ARG;
    if (enc->err)
        return enc->err;
    if (enc->finished)
        return set_err(enc, SW_ERR_INVALID_ARG);
    benc_frame *f = top(enc);
    if (!f && enc->top_values > 0)
        return set_err(enc, SW_ERR_INVALID_ARG);
    if (f && f->is_dict && !f->have_key)
        return set_err(enc, SW_ERR_INVALID_ARG);
    return 0;
}

static void after_value(sw_bencoder *enc)
{
    benc_frame *f = top(enc);
    if (!f) {
        enc->top_values++;
    } else if (f->is_dict) {
        enc->entries[enc->nentries - 1].end = enc->len;
        f->have_key = false;
    }
}

int sw_benc_new(sw_bencoder **enc_out)
{
    if (!enc_out)
        return SW_ERR_INVALID_ARG;
    sw_bencoder *enc = calloc(1, sizeof *enc);
    if (!enc)
        return SW_ERR_NOMEM;
    *enc_out = enc;
    return 0;
}

void sw_benc_free(sw_bencoder *enc)
{
    if (!enc)
        return;
    free(enc->buf);
    free(enc->frames);
    free(enc->entries);
    free(enc);
}

int sw_benc_int(sw_bencoder *enc, int64_t v)
{
    int rc = before_value(enc);
    if (rc)
        return rc;
    char tmp[24];
    char *end = tmp + sizeof tmp;
    *--end = 'e';
    /* The magnitude as unsigned, so INT64_MIN needs no special case. */
    uint64_t mag = v < 0 ? 0 - (uint64_t)v : (uint64_t)v;
    char *p = format_u64(mag, end);
    if (v < 0)
        *--p = '-';
    *--p = 'i';
    rc = append(enc, p, (size_t)(tmp + sizeof tmp - p));
    if (rc)
        return rc;
    after_value(enc);
    return 0;
}

int sw_benc_str(sw_bencoder *enc, const void *s, size_t len)
{
    int rc = before_value(enc);
    if (rc)
        return rc;
    if (!s && len)
        return set_err(enc, SW_ERR_INVALID_ARG);
    rc = append_str(enc, s, len);
    if (rc)
        return rc;
    after_value(enc);
    return 0;
}

int sw_benc_cstr(sw_bencoder *enc, const char *s)
{
    if (enc && !s)
        return set_err(enc, SW_ERR_INVALID_ARG);
    return sw_benc_str(enc, s, s ? strlen(s) : 0);
}

static int begin(sw_bencoder *enc, bool is_dict)
{
    int rc = before_value(enc);
    if (rc)
        return rc;
    void *frames = enc->frames;
    if (grow(&frames, &enc->frames_cap, sizeof *enc->frames, enc->depth + 1, 8))
        return set_err(enc, SW_ERR_NOMEM);
    enc->frames = frames;
    rc = append(enc, is_dict ? "d" : "l", 1);
    if (rc)
        return rc;
    benc_frame *f = &enc->frames[enc->depth++];
    f->entry_base = enc->nentries;
    f->is_dict = is_dict;
    f->have_key = false;
    return 0;
}

int sw_benc_list_begin(sw_bencoder *enc)
{
    return begin(enc, false);
}

int sw_benc_dict_begin(sw_bencoder *enc)
{
    return begin(enc, true);
}

int sw_benc_key(sw_bencoder *enc, const void *key, size_t len)
{
    if (!enc)
        return SW_ERR_INVALID_ARG;
    if (enc->err)
        return enc->err;
    benc_frame *f = top(enc);
    if (enc->finished || !f || !f->is_dict || f->have_key || (!key && len))
        return set_err(enc, SW_ERR_INVALID_ARG);
    void *entries = enc->entries;
    if (grow(&entries, &enc->entries_cap, sizeof *enc->entries, enc->nentries + 1, 16))
        return set_err(enc, SW_ERR_NOMEM);
    enc->entries = entries;
    size_t start = enc->len;
    int rc = append_str(enc, key, len);
    if (rc)
        return rc;
    benc_entry *e = &enc->entries[enc->nentries++];
    e->start = start;
    e->key_data = enc->len - len;
    e->key_len = len;
    e->end = enc->len;
    f->have_key = true;
    return 0;
}

int sw_benc_ckey(sw_bencoder *enc, const char *key)
{
    if (enc && !key)
        return set_err(enc, SW_ERR_INVALID_ARG);
    return sw_benc_key(enc, key, key ? strlen(key) : 0);
}

/* An entry with its key resolved to a pointer, for sorting; the buffer does
 * not move while a dict is sorted. */
typedef struct sort_item {
    const uint8_t *key;
    size_t key_len;
    size_t start;
    size_t end;
} sort_item;

static int raw_cmp(const uint8_t *a, size_t alen, const uint8_t *b, size_t blen)
{
    int c = memcmp(a, b, alen < blen ? alen : blen);
    if (c)
        return c;
    return alen < blen ? -1 : alen > blen;
}

static int sort_item_cmp(const void *pa, const void *pb)
{
    const sort_item *a = pa, *b = pb;
    return raw_cmp(a->key, a->key_len, b->key, b->key_len);
}

/* Puts the entries [base, nentries) into canonical key order. */
static int sort_dict(sw_bencoder *enc, size_t base)
{
    size_t n = enc->nentries - base;
    if (n < 2) /* (entries may still be NULL) */
        return 0;
    const benc_entry *e = enc->entries + base;
    bool sorted = true;
    for (size_t i = 1; i < n; i++) {
        int c = raw_cmp(enc->buf + e[i - 1].key_data, e[i - 1].key_len, enc->buf + e[i].key_data,
                        e[i].key_len);
        if (c == 0)
            return set_err(enc, SW_ERR_INVALID_ARG);
        if (c > 0)
            sorted = false;
    }
    if (sorted)
        return 0;

    size_t region = e[0].start;
    size_t region_len = e[n - 1].end - region;
    sort_item *items = malloc(n * sizeof *items);
    uint8_t *tmp = malloc(region_len);
    if (!items || !tmp) {
        free(items);
        free(tmp);
        return set_err(enc, SW_ERR_NOMEM);
    }
    for (size_t i = 0; i < n; i++) {
        items[i].key = enc->buf + e[i].key_data;
        items[i].key_len = e[i].key_len;
        items[i].start = e[i].start;
        items[i].end = e[i].end;
    }
    qsort(items, n, sizeof *items, sort_item_cmp);
    int rc = 0;
    size_t at = 0;
    for (size_t i = 0; i < n; i++) {
        if (i > 0 && sort_item_cmp(&items[i - 1], &items[i]) == 0) {
            rc = set_err(enc, SW_ERR_INVALID_ARG);
            break;
        }
        size_t len = items[i].end - items[i].start;
        memcpy(tmp + at, enc->buf + items[i].start, len);
        at += len;
    }
    if (rc == 0)
        memcpy(enc->buf + region, tmp, region_len);
    free(items);
    free(tmp);
    return rc;
}

int sw_benc_end(sw_bencoder *enc)
{
    if (!enc)
        return SW_ERR_INVALID_ARG;
    if (enc->err)
        return enc->err;
    benc_frame *f = top(enc);
    if (enc->finished || !f || f->have_key)
        return set_err(enc, SW_ERR_INVALID_ARG);
    if (f->is_dict) {
        int rc = sort_dict(enc, f->entry_base);
        if (rc)
            return rc;
        enc->nentries = f->entry_base;
    }
    int rc = append(enc, "e", 1);
    if (rc)
        return rc;
    enc->depth--;
    after_value(enc);
    return 0;
}

int sw_benc_raw(sw_bencoder *enc, const void *raw, size_t len)
{
    int rc = before_value(enc);
    if (rc)
        return rc;
    if (!raw || !len)
        return set_err(enc, SW_ERR_INVALID_ARG);
    rc = append(enc, raw, len);
    if (rc)
        return rc;
    after_value(enc);
    return 0;
}

/* An open container while re-encoding a decoded subtree. */
typedef struct node_frame {
    size_t end; /* index of the first node after the container's subtree */
    size_t children;
    bool is_dict;
} node_frame;

int sw_benc_node(sw_bencoder *enc, sw_bnode n)
{
    int rc = before_value(enc);
    if (rc)
        return rc;
    const sw__bnode_rec *r = sw__bnode_rec_of(n);
    if (!r)
        return set_err(enc, SW_ERR_INVALID_ARG);

    /* Nodes are in pre-order, so a loop over the subtree's index range with a
     * stack of open containers replaces recursion (depth is caller-chosen). */
    const sw__bnode_rec *nodes = n.doc->nodes;
    const uint8_t *buf = n.doc->buf;
    size_t first = (size_t)n.index, end = first + r->skip;
    node_frame *stack = NULL;
    size_t sp = 0, stack_cap = 0;
    for (size_t i = first; i < end && rc == 0; i++) {
        while (sp > 0 && stack[sp - 1].end == i && rc == 0) {
            rc = sw_benc_end(enc);
            sp--;
        }
        if (rc)
            break;
        const sw__bnode_rec *c = &nodes[i];
        node_frame *parent = sp ? &stack[sp - 1] : NULL;
        bool is_key = parent && parent->is_dict && parent->children % 2 == 0;
        if (parent)
            parent->children++;
        switch ((sw_bnode_type)c->type) {
        case SW_BNODE_INT:
            rc = sw_benc_int(enc, c->u.ival);
            break;
        case SW_BNODE_STR:
            if (is_key)
                rc = sw_benc_key(enc, buf + c->start + c->u.hdr, c->len - c->u.hdr);
            else
                rc = sw_benc_str(enc, buf + c->start + c->u.hdr, c->len - c->u.hdr);
            break;
        case SW_BNODE_LIST:
        case SW_BNODE_DICT: {
            bool is_dict = c->type == SW_BNODE_DICT;
            rc = is_dict ? sw_benc_dict_begin(enc) : sw_benc_list_begin(enc);
            if (rc)
                break;
            void *s = stack;
            if (grow(&s, &stack_cap, sizeof *stack, sp + 1, 16)) {
                rc = set_err(enc, SW_ERR_NOMEM);
                break;
            }
            stack = s;
            stack[sp].end = i + c->skip;
            stack[sp].children = 0;
            stack[sp].is_dict = is_dict;
            sp++;
            break;
        }
        case SW_BNODE_NONE:
            rc = set_err(enc, SW_ERR_INVALID_ARG);
            break;
        }
    }
    while (rc == 0 && sp > 0) {
        rc = sw_benc_end(enc);
        sp--;
    }
    free(stack);
    return rc;
}

int sw_benc_finish(sw_bencoder *enc, uint8_t **buf_out, size_t *len_out)
{
    if (!enc || !buf_out)
        return SW_ERR_INVALID_ARG;
    if (enc->err)
        return enc->err;
    /* Not sticky: the encoder is still usable if this was called early. */
    if (enc->finished || enc->depth > 0 || enc->top_values != 1)
        return SW_ERR_INVALID_ARG;
    *buf_out = enc->buf;
    if (len_out)
        *len_out = enc->len;
    enc->buf = NULL;
    enc->len = enc->cap = 0;
    enc->finished = true;
    return 0;
}
