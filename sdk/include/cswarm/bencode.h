/* Bencode: a one-pass decoder into a flat node array, and a builder that
 * writes canonical bencode.
 *
 * Decoding. sw_bdecode() parses a buffer into an sw_bdoc: one array of nodes
 * that point into the caller's buffer (nothing is copied). The buffer must
 * outlive the document. Nodes are small values (sw_bnode) that borrow from the
 * document; they stay valid until sw_bdoc_free(). A lookup that misses returns
 * a node whose type is SW_BNODE_NONE, so lookups chain safely:
 *     sw_bnode name = sw_bnode_dict_get(sw_bnode_dict_get(root, "info"), "name");
 *
 * Limits: nesting depth and node count are bounded (sw_bdecode_opts); integers
 * must fit int64_t. On failure the error code (SW_ERR_BENCODE_*) and the byte
 * offset of the problem are reported through err_out.
 *
 * Strictness: without SW_BDECODE_STRICT, non-canonical input that is still
 * unambiguous (leading zeros in lengths, unsorted or duplicate keys, trailing
 * bytes) is accepted and the first such issue is recorded
 * (sw_bdoc_first_violation); with it, the same issues are errors.
 *
 * Encoding. sw_bencoder builds into a growing heap buffer. Dictionary keys may
 * be added in any order: each dictionary is sorted when it is closed, so the
 * output is always canonical. A duplicate key in one dictionary is an error.
 * Errors are sticky: the first one is returned by sw_benc_finish().
 *
 * Threading: no global state; a document or encoder is used by one thread at a
 * time; distinct objects may be used concurrently. */
#ifndef CSWARM_BENCODE_H
#define CSWARM_BENCODE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum sw_bnode_type {
    SW_BNODE_NONE = 0, /* a lookup that missed, or a wrong-type access */
    SW_BNODE_DICT,
    SW_BNODE_LIST,
    SW_BNODE_STR,
    SW_BNODE_INT
} sw_bnode_type;

enum {
    SW_BDECODE_STRICT = 1u << 0,
};

typedef struct sw_bdecode_opts {
    unsigned flags;    /* SW_BDECODE_* */
    int max_depth;     /* 0 = default (100) */
    int64_t max_nodes; /* 0 = default (2,000,000) */
} sw_bdecode_opts;

typedef struct sw_bdecode_error {
    int code;      /* SW_ERR_BENCODE_*, or 0 */
    size_t offset; /* byte offset in the input where the problem was found */
} sw_bdecode_error;

typedef struct sw_bdoc sw_bdoc;

typedef struct sw_bnode {
    const sw_bdoc *doc;
    int32_t index; /* -1 for a none node */
} sw_bnode;

/* Parses buf[0..len). On success *doc_out owns the node array (free with
 * sw_bdoc_free) and borrows buf. opts may be NULL for defaults; err_out may be
 * NULL. Returns 0 or a negative SW_ERR_BENCODE_* / SW_ERR_NOMEM code. */
SW_API int sw_bdecode(const void *buf, size_t len, const sw_bdecode_opts *opts, sw_bdoc **doc_out,
                      sw_bdecode_error *err_out);
SW_API void sw_bdoc_free(sw_bdoc *doc);
SW_API sw_bnode sw_bdoc_root(const sw_bdoc *doc);
SW_API size_t sw_bdoc_node_count(const sw_bdoc *doc);
/* In lenient mode: the first canonical-form violation found (code 0 if none). */
SW_API sw_bdecode_error sw_bdoc_first_violation(const sw_bdoc *doc);

SW_API sw_bnode_type sw_bnode_type_of(sw_bnode n);
SW_API bool sw_bnode_is(sw_bnode n, sw_bnode_type t);
/* The exact bytes of the encoded node in the input (e.g. to hash "info"). */
SW_API bool sw_bnode_raw(sw_bnode n, const uint8_t **data_out, size_t *len_out);
/* Byte offset of the node in the input (for error messages). */
SW_API size_t sw_bnode_offset(sw_bnode n);

/* Strings: pointer into the input (not NUL-terminated) and length. Returns
 * NULL with *len_out = 0 if n is not a string. len_out may be NULL. */
SW_API const char *sw_bnode_str(sw_bnode n, size_t *len_out);
/* True if n is a string equal to the NUL-terminated s. */
SW_API bool sw_bnode_str_eq(sw_bnode n, const char *s);
/* Integer value, or 0 if n is not an integer. */
SW_API int64_t sw_bnode_int(sw_bnode n);

/* Lists and dicts: number of items (entries for a dict), 0 otherwise. */
SW_API size_t sw_bnode_len(sw_bnode n);
SW_API sw_bnode sw_bnode_list_at(sw_bnode list, size_t i);
/* The i-th entry of a dict in input order. */
SW_API bool sw_bnode_dict_at(sw_bnode dict, size_t i, sw_bnode *key_out, sw_bnode *value_out);
/* Lookup by key (binary-safe / NUL-terminated). Returns a none node on miss.
 * With duplicate keys (lenient mode) the first one wins. */
SW_API sw_bnode sw_bnode_dict_find(sw_bnode dict, const void *key, size_t key_len);
SW_API sw_bnode sw_bnode_dict_get(sw_bnode dict, const char *key);
/* Typed lookups: true and *out set only if the key exists with that type. */
SW_API bool sw_bnode_dict_get_int(sw_bnode dict, const char *key, int64_t *out);
SW_API bool sw_bnode_dict_get_str(sw_bnode dict, const char *key, const char **str_out,
                                  size_t *len_out);

/* ---- encoding ---- */

typedef struct sw_bencoder sw_bencoder;

SW_API int sw_benc_new(sw_bencoder **enc_out);
/* Frees the encoder and any buffer not taken by sw_benc_finish. NULL is ok. */
SW_API void sw_benc_free(sw_bencoder *enc);
SW_API int sw_benc_int(sw_bencoder *enc, int64_t v);
SW_API int sw_benc_str(sw_bencoder *enc, const void *s, size_t len);
SW_API int sw_benc_cstr(sw_bencoder *enc, const char *s);
SW_API int sw_benc_list_begin(sw_bencoder *enc);
SW_API int sw_benc_dict_begin(sw_bencoder *enc);
/* Closes the innermost list or dict (sorting a dict's entries). */
SW_API int sw_benc_end(sw_bencoder *enc);
/* Inside a dict: the key for the next value. */
SW_API int sw_benc_key(sw_bencoder *enc, const void *key, size_t len);
SW_API int sw_benc_ckey(sw_bencoder *enc, const char *key);
/* Copies an already-encoded value verbatim (e.g. a parsed info dict). The
 * caller vouches that raw is one complete bencoded value. */
SW_API int sw_benc_raw(sw_bencoder *enc, const void *raw, size_t len);
/* Copies a decoded node (re-encoding it canonically). */
SW_API int sw_benc_node(sw_bencoder *enc, sw_bnode n);
/* Ends encoding: every container must be closed and exactly one top-level
 * value written. On success the caller owns *buf_out (free with free()). */
SW_API int sw_benc_finish(sw_bencoder *enc, uint8_t **buf_out, size_t *len_out);

#ifdef __cplusplus
}
#endif
#endif
