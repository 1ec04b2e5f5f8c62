/* Internal layout of a decoded bencode document, shared by the decoder, the
 * node accessors and the encoder's sw_benc_node(). Not part of any API. */
#ifndef SW_CORE_BASE_BENCODE_INTERNAL_H
#define SW_CORE_BASE_BENCODE_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include <cswarm/bencode.h>

/* One node of the flat array. Nodes are stored in pre-order: a container is
 * followed by its items (a dict by key, value, key, value, ...), so the node
 * after a whole subtree is at index + skip. */
typedef struct sw__bnode_rec {
    size_t start; /* offset of the node's first byte in the input */
    size_t len;   /* length of the node's whole encoding */
    union {
        int64_t ival; /* SW_BNODE_INT: the value */
        size_t count; /* SW_BNODE_LIST: items; SW_BNODE_DICT: entries */
        size_t hdr;   /* SW_BNODE_STR: length of the "N:" prefix */
    } u;
    uint32_t skip; /* nodes in this subtree, itself included (>= 1) */
    uint8_t type;  /* sw_bnode_type */
} sw__bnode_rec;

struct sw_bdoc {
    const uint8_t *buf;
    sw__bnode_rec *nodes;
    size_t count;
    sw_bdecode_error violation;
    /* Position cache: the item at ordinal cache_ordinal of container
     * cache_parent is node cache_node. Makes in-order list_at()/dict_at()
     * loops linear instead of quadratic. -1 when empty. */
    int32_t cache_parent;
    int32_t cache_node;
    size_t cache_ordinal;
};

/* The record behind n, or NULL for a none node or an out-of-range index. */
static inline const sw__bnode_rec *sw__bnode_rec_of(sw_bnode n)
{
    if (!n.doc || n.index < 0 || (size_t)n.index >= n.doc->count)
        return NULL;
    return &n.doc->nodes[n.index];
}

#endif
