/* Bencode decoding: one pass over the input into a flat pre-order node array,
 * plus the read-only node accessors. No recursion and no allocation per node:
 * the only allocations are the document and its node array, which grows by
 * doubling up to the node limit. */
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/bencode_internal.h"

#define SW_BDECODE_DEFAULT_DEPTH 100
#define SW_BDECODE_DEFAULT_NODES 2000000
/* sw_bnode.index is an int32_t, so no document can hold more nodes. */
#define SW_BDECODE_NODES_CAP INT32_MAX
#define SW_BDECODE_INITIAL_CAP 16

/* While a container is open its record doubles as parser state:
 *   skip    = index of the enclosing open container + 1 (0 at top level),
 *   u.count = items started so far (a dict's keys and values both count),
 *   len     = for a dict, index of its latest key + 1 (0 before any key).
 * The final values are written when the container's 'e' is read. */
typedef struct bparser {
    const uint8_t *buf;
    size_t len;
    size_t pos;
    bool strict;
    int max_depth;
    size_t max_nodes;
    sw__bnode_rec *nodes;
    size_t count;
    size_t cap;
    sw_bdecode_error violation; /* first canonical-form violation (lenient) */
    sw_bdecode_error error;
} bparser;

static int fail(bparser *p, int code, size_t offset)
{
    p->error.code = code;
    p->error.offset = offset;
    return code;
}

/* A canonical-form violation: fatal in strict mode, remembered otherwise. */
static int violate(bparser *p, int code, size_t offset)
{
    if (p->strict)
        return fail(p, code, offset);
    if (p->violation.code == 0) {
        p->violation.code = code;
        p->violation.offset = offset;
    }
    return 0;
}

static bool is_digit(uint8_t c)
{
    return c >= '0' && c <= '9';
}

/* Appends an uninitialised node for the value starting at p->pos. */
static int push_node(bparser *p, sw__bnode_rec **node_out)
{
    if (p->count >= p->max_nodes)
        return fail(p, SW_ERR_BENCODE_TOO_MANY_NODES, p->pos);
    if (p->count == p->cap) {
        size_t cap = p->cap ? p->cap * 2 : SW_BDECODE_INITIAL_CAP;
        if (cap > p->max_nodes)
            cap = p->max_nodes;
        if (cap > SIZE_MAX / sizeof *p->nodes)
            return fail(p, SW_ERR_NOMEM, p->pos);
        sw__bnode_rec *nodes = realloc(p->nodes, cap * sizeof *nodes);
        if (!nodes)
            return fail(p, SW_ERR_NOMEM, p->pos);
        p->nodes = nodes;
        p->cap = cap;
    }
    sw__bnode_rec *n = &p->nodes[p->count++];
    n->start = p->pos;
    n->skip = 1;
    *node_out = n;
    return 0;
}

/* "i" ["-"] digits "e". A negative number may not start with 0 (that would
 * be a negative zero or a leading zero on a negative): always an error. */
static int parse_int(bparser *p, sw__bnode_rec *n)
{
    const uint8_t *b = p->buf;
    size_t start = p->pos;
    size_t pos = start + 1;
    bool neg = false;
    if (pos < p->len && b[pos] == '-') {
        neg = true;
        pos++;
    }
    if (pos >= p->len)
        return fail(p, SW_ERR_BENCODE_EOF, p->len);
    if (!is_digit(b[pos]))
        return fail(p, SW_ERR_BENCODE_BAD_INT, pos);
    if (neg && b[pos] == '0')
        return fail(p, SW_ERR_BENCODE_LEADING_ZERO, pos);

    size_t first = pos;
    uint64_t limit = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
    uint64_t mag = 0;
    while (pos < p->len && is_digit(b[pos])) {
        unsigned d = b[pos] - '0';
        if (mag > (limit - d) / 10)
            return fail(p, SW_ERR_BENCODE_INT_OVERFLOW, start);
        mag = mag * 10 + d;
        pos++;
    }
    if (pos >= p->len)
        return fail(p, SW_ERR_BENCODE_EOF, p->len);
    if (b[pos] != 'e')
        return fail(p, SW_ERR_BENCODE_BAD_INT, pos);
    if (b[first] == '0' && pos - first > 1) {
        int rc = violate(p, SW_ERR_BENCODE_LEADING_ZERO, first);
        if (rc)
            return rc;
    }

    n->type = SW_BNODE_INT;
    if (!neg)
        n->u.ival = (int64_t)mag;
    else if (mag == (uint64_t)INT64_MAX + 1)
        n->u.ival = INT64_MIN;
    else
        n->u.ival = -(int64_t)mag;
    p->pos = pos + 1;
    n->len = p->pos - start;
    return 0;
}

/* digits ":" bytes. The length must fit in the rest of the input. */
static int parse_str(bparser *p, sw__bnode_rec *n)
{
    const uint8_t *b = p->buf;
    size_t start = p->pos;
    size_t pos = start;
    uint64_t slen = 0;
    while (pos < p->len && is_digit(b[pos])) {
        unsigned d = b[pos] - '0';
        if (slen > ((uint64_t)INT64_MAX - d) / 10)
            return fail(p, SW_ERR_BENCODE_BAD_STRING_LENGTH, start);
        slen = slen * 10 + d;
        pos++;
    }
    if (pos >= p->len)
        return fail(p, SW_ERR_BENCODE_EOF, p->len);
    if (b[pos] != ':')
        return fail(p, SW_ERR_BENCODE_BAD_STRING_LENGTH, pos);
    if (b[start] == '0' && pos - start > 1) {
        int rc = violate(p, SW_ERR_BENCODE_LEADING_ZERO, start);
        if (rc)
            return rc;
    }
    pos++; /* the colon */
    if (slen > (uint64_t)(p->len - pos))
        return fail(p, SW_ERR_BENCODE_EOF, start);

    n->type = SW_BNODE_STR;
    n->u.hdr = pos - start;
    p->pos = pos + (size_t)slen;
    n->len = p->pos - start;
    return 0;
}

/* Raw byte order: memcmp over the common prefix, then the shorter first. */
static int key_cmp(const uint8_t *buf, const sw__bnode_rec *a, const sw__bnode_rec *b)
{
    size_t alen = a->len - a->u.hdr, blen = b->len - b->u.hdr;
    int c = memcmp(buf + a->start + a->u.hdr, buf + b->start + b->u.hdr, alen < blen ? alen : blen);
    if (c)
        return c;
    return alen < blen ? -1 : alen > blen;
}

/* Checks a dict's newest key against the one before it. */
static int check_key_order(bparser *p, size_t dict_idx, size_t key_idx)
{
    sw__bnode_rec *dict = &p->nodes[dict_idx];
    if (dict->len != 0) {
        const sw__bnode_rec *prev = &p->nodes[dict->len - 1];
        const sw__bnode_rec *key = &p->nodes[key_idx];
        int c = key_cmp(p->buf, prev, key);
        if (c == 0)
            return violate(p, SW_ERR_BENCODE_DUPLICATE_KEY, key->start);
        if (c > 0)
            return violate(p, SW_ERR_BENCODE_KEY_ORDER, key->start);
    }
    dict->len = key_idx + 1;
    return 0;
}

static int parse(bparser *p)
{
    const uint8_t *b = p->buf;
    size_t open = 0; /* index of the innermost open container + 1; 0 = none */
    int depth = 0;
    for (;;) {
        if (p->pos >= p->len)
            return fail(p, SW_ERR_BENCODE_EOF, p->len);
        uint8_t c = b[p->pos];
        sw__bnode_rec *parent = open ? &p->nodes[open - 1] : NULL;
        bool want_key = parent && parent->type == SW_BNODE_DICT && (parent->u.count & 1) == 0;

        if (c == 'e') {
            if (!parent)
                return fail(p, SW_ERR_BENCODE_SYNTAX, p->pos);
            if (parent->type == SW_BNODE_DICT) {
                if (!want_key) /* a key without a value */
                    return fail(p, SW_ERR_BENCODE_SYNTAX, p->pos);
                parent->u.count /= 2;
            }
            size_t idx = open - 1;
            open = parent->skip;
            parent->skip = (uint32_t)(p->count - idx);
            p->pos++;
            parent->len = p->pos - parent->start;
            depth--;
            if (!open)
                return 0;
            continue;
        }

        if (want_key && !is_digit(c)) {
            bool value_start = c == 'i' || c == 'l' || c == 'd';
            return fail(p, value_start ? SW_ERR_BENCODE_KEY_NOT_STRING : SW_ERR_BENCODE_SYNTAX,
                        p->pos);
        }
        if (c != 'i' && c != 'l' && c != 'd' && !is_digit(c))
            return fail(p, SW_ERR_BENCODE_SYNTAX, p->pos);

        sw__bnode_rec *n;
        int rc = push_node(p, &n);
        if (rc)
            return rc;
        size_t idx = p->count - 1;
        if (open) /* the array may have moved */
            p->nodes[open - 1].u.count++;

        if (c == 'l' || c == 'd') {
            if (depth >= p->max_depth)
                return fail(p, SW_ERR_BENCODE_DEPTH, p->pos);
            depth++;
            n->type = c == 'l' ? SW_BNODE_LIST : SW_BNODE_DICT;
            n->u.count = 0;
            n->len = 0;
            n->skip = (uint32_t)open;
            open = idx + 1;
            p->pos++;
            continue;
        }
        rc = c == 'i' ? parse_int(p, n) : parse_str(p, n);
        if (rc)
            return rc;
        if (want_key) {
            rc = check_key_order(p, open - 1, idx);
            if (rc)
                return rc;
        }
        if (!open)
            return 0;
    }
}

int sw_bdecode(const void *buf, size_t len, const sw_bdecode_opts *opts, sw_bdoc **doc_out,
               sw_bdecode_error *err_out)
{
    sw_bdecode_error none = {0, 0};
    if (err_out)
        *err_out = none;
    if (!doc_out || (!buf && len))
        return SW_ERR_INVALID_ARG;
    int max_depth = opts && opts->max_depth ? opts->max_depth : SW_BDECODE_DEFAULT_DEPTH;
    int64_t max_nodes = opts && opts->max_nodes ? opts->max_nodes : SW_BDECODE_DEFAULT_NODES;
    if (max_depth < 0 || max_nodes < 0)
        return SW_ERR_INVALID_ARG;
    if (max_nodes > SW_BDECODE_NODES_CAP)
        max_nodes = SW_BDECODE_NODES_CAP;

    bparser p = {
        .buf = buf,
        .len = len,
        .strict = opts && (opts->flags & SW_BDECODE_STRICT),
        .max_depth = max_depth,
        .max_nodes = (size_t)max_nodes,
    };
    /* Every node takes at least two bytes, so len / 2 + 1 is an upper bound;
     * start near a fraction of it to save most of the doubling steps. */
    size_t guess = len / 16 + 1;
    if (guess > p.max_nodes)
        guess = p.max_nodes;
    if (guess > SW_BDECODE_INITIAL_CAP) {
        p.nodes = malloc(guess * sizeof *p.nodes);
        if (!p.nodes)
            return SW_ERR_NOMEM;
        p.cap = guess;
    }

    int rc = parse(&p);
    if (rc == 0 && p.pos < len)
        rc = violate(&p, SW_ERR_BENCODE_TRAILING, p.pos);
    sw_bdoc *doc = NULL;
    if (rc == 0) {
        doc = malloc(sizeof *doc);
        if (!doc)
            rc = fail(&p, SW_ERR_NOMEM, p.pos);
    }
    if (rc) {
        free(p.nodes);
        if (err_out)
            *err_out = p.error;
        return rc;
    }
    doc->buf = buf;
    doc->nodes = p.nodes;
    doc->count = p.count;
    doc->violation = p.violation;
    doc->cache_parent = -1;
    doc->cache_node = -1;
    doc->cache_ordinal = 0;
    *doc_out = doc;
    return 0;
}

void sw_bdoc_free(sw_bdoc *doc)
{
    if (!doc)
        return;
    free(doc->nodes);
    free(doc);
}

sw_bnode sw_bdoc_root(const sw_bdoc *doc)
{
    sw_bnode n = {doc, doc && doc->count ? 0 : -1};
    return n;
}

size_t sw_bdoc_node_count(const sw_bdoc *doc)
{
    return doc ? doc->count : 0;
}

sw_bdecode_error sw_bdoc_first_violation(const sw_bdoc *doc)
{
    sw_bdecode_error none = {0, 0};
    return doc ? doc->violation : none;
}

/* ---- node accessors ---- */

static sw_bnode none_node(const sw_bdoc *doc)
{
    sw_bnode n = {doc, -1};
    return n;
}

static sw_bnode node_at(const sw_bdoc *doc, size_t index)
{
    sw_bnode n = {doc, (int32_t)index};
    return n;
}

sw_bnode_type sw_bnode_type_of(sw_bnode n)
{
    const sw__bnode_rec *r = sw__bnode_rec_of(n);
    return r ? (sw_bnode_type)r->type : SW_BNODE_NONE;
}

bool sw_bnode_is(sw_bnode n, sw_bnode_type t)
{
    return sw_bnode_type_of(n) == t;
}

bool sw_bnode_raw(sw_bnode n, const uint8_t **data_out, size_t *len_out)
{
    const sw__bnode_rec *r = sw__bnode_rec_of(n);
    if (data_out)
        *data_out = r ? n.doc->buf + r->start : NULL;
    if (len_out)
        *len_out = r ? r->len : 0;
    return r != NULL;
}

size_t sw_bnode_offset(sw_bnode n)
{
    const sw__bnode_rec *r = sw__bnode_rec_of(n);
    return r ? r->start : 0;
}

const char *sw_bnode_str(sw_bnode n, size_t *len_out)
{
    const sw__bnode_rec *r = sw__bnode_rec_of(n);
    if (!r || r->type != SW_BNODE_STR) {
        if (len_out)
            *len_out = 0;
        return NULL;
    }
    if (len_out)
        *len_out = r->len - r->u.hdr;
    return (const char *)n.doc->buf + r->start + r->u.hdr;
}

bool sw_bnode_str_eq(sw_bnode n, const char *s)
{
    size_t len;
    const char *str = sw_bnode_str(n, &len);
    if (!str || !s)
        return false;
    size_t slen = strlen(s);
    return slen == len && memcmp(str, s, len) == 0;
}

int64_t sw_bnode_int(sw_bnode n)
{
    const sw__bnode_rec *r = sw__bnode_rec_of(n);
    return r && r->type == SW_BNODE_INT ? r->u.ival : 0;
}

size_t sw_bnode_len(sw_bnode n)
{
    const sw__bnode_rec *r = sw__bnode_rec_of(n);
    if (!r || (r->type != SW_BNODE_LIST && r->type != SW_BNODE_DICT))
        return 0;
    return r->u.count;
}

/* Index of the item with the given ordinal among container's children
 * (a dict's keys and values both count). The caller checks the range. Walks
 * from the cached position when it is at or before the target. */
static size_t child_index(const sw_bdoc *doc, int32_t container, size_t ordinal)
{
    /* The cache is an optimisation only; documents are used by one thread at
     * a time (see bencode.h), and the object is never const itself. */
    sw_bdoc *mut = (sw_bdoc *)doc;
    size_t idx = (size_t)container + 1;
    size_t at = 0;
    if (doc->cache_parent == container && doc->cache_ordinal <= ordinal) {
        idx = (size_t)doc->cache_node;
        at = doc->cache_ordinal;
    }
    for (; at < ordinal; at++)
        idx += doc->nodes[idx].skip;
    mut->cache_parent = container;
    mut->cache_node = (int32_t)idx;
    mut->cache_ordinal = ordinal;
    return idx;
}

sw_bnode sw_bnode_list_at(sw_bnode list, size_t i)
{
    const sw__bnode_rec *r = sw__bnode_rec_of(list);
    if (!r || r->type != SW_BNODE_LIST || i >= r->u.count)
        return none_node(list.doc);
    return node_at(list.doc, child_index(list.doc, list.index, i));
}

bool sw_bnode_dict_at(sw_bnode dict, size_t i, sw_bnode *key_out, sw_bnode *value_out)
{
    const sw__bnode_rec *r = sw__bnode_rec_of(dict);
    if (!r || r->type != SW_BNODE_DICT || i >= r->u.count) {
        if (key_out)
            *key_out = none_node(dict.doc);
        if (value_out)
            *value_out = none_node(dict.doc);
        return false;
    }
    size_t k = child_index(dict.doc, dict.index, 2 * i);
    if (key_out)
        *key_out = node_at(dict.doc, k);
    if (value_out)
        *value_out = node_at(dict.doc, k + dict.doc->nodes[k].skip);
    return true;
}

sw_bnode sw_bnode_dict_find(sw_bnode dict, const void *key, size_t key_len)
{
    const sw__bnode_rec *r = sw__bnode_rec_of(dict);
    if (!r || r->type != SW_BNODE_DICT || (!key && key_len))
        return none_node(dict.doc);
    const sw__bnode_rec *nodes = dict.doc->nodes;
    const uint8_t *buf = dict.doc->buf;
    size_t k = (size_t)dict.index + 1;
    for (size_t i = 0; i < r->u.count; i++) {
        const sw__bnode_rec *kr = &nodes[k];
        size_t v = k + kr->skip;
        if (kr->len - kr->u.hdr == key_len &&
            (key_len == 0 || memcmp(buf + kr->start + kr->u.hdr, key, key_len) == 0))
            return node_at(dict.doc, v);
        k = v + nodes[v].skip;
    }
    return none_node(dict.doc);
}

sw_bnode sw_bnode_dict_get(sw_bnode dict, const char *key)
{
    if (!key)
        return none_node(dict.doc);
    return sw_bnode_dict_find(dict, key, strlen(key));
}

bool sw_bnode_dict_get_int(sw_bnode dict, const char *key, int64_t *out)
{
    sw_bnode v = sw_bnode_dict_get(dict, key);
    if (!sw_bnode_is(v, SW_BNODE_INT))
        return false;
    if (out)
        *out = sw_bnode_int(v);
    return true;
}

bool sw_bnode_dict_get_str(sw_bnode dict, const char *key, const char **str_out, size_t *len_out)
{
    size_t len;
    const char *s = sw_bnode_str(sw_bnode_dict_get(dict, key), &len);
    if (!s)
        return false;
    if (str_out)
        *str_out = s;
    if (len_out)
        *len_out = len;
    return true;
}
