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
 * A none node answers every accessor with an empty result (type NONE, int 0,
 * str NULL, len 0, raw false, offset 0), so no accessor needs a type check
 * first. Every node (containers and dict keys included) counts as one node.
 *
 * Limits: nesting depth and node count are bounded (sw_bdecode_opts); integers
 * must fit int64_t. On failure the error code (SW_ERR_BENCODE_*) and the byte
 * offset of the problem are reported through err_out:
 *   EOF                 input ended inside a value: offset = input length; for
 *                       a string longer than the rest of the input, the
 *                       offset of its length prefix
 *   SYNTAX              the unexpected byte (also 'e' after a key with no
 *                       value)
 *   BAD_INT             the first byte that cannot continue the integer
 *                       ("ie", "i-e", "i1xe", "i+1e")
 *   INT_OVERFLOW        the integer's 'i'
 *   BAD_STRING_LENGTH   the byte where ':' was expected, or the length's
 *                       first digit if the length exceeds INT64_MAX
 *   LEADING_ZERO        the first digit; "i-0e" and any "i-0..." are always
 *                       errors (negative zero), other leading zeros only in
 *                       strict mode
 *   KEY_NOT_STRING      the key that is a list, dict or integer
 *   KEY_ORDER, DUPLICATE_KEY  the second of the two keys compared
 *   TRAILING            the first byte after the value
 *   DEPTH               the 'l' or 'd' one level too deep
 *   TOO_MANY_NODES      the first byte of the node one past the limit
 *
 * Strictness: without SW_BDECODE_STRICT, non-canonical input that is still
 * unambiguous (leading zeros in integers and string lengths, unsorted or
 * duplicate keys, trailing bytes) is accepted and the first such issue is
 * recorded (sw_bdoc_first_violation); with it, the same issues are errors,
 * reported with exactly that code and offset. Key order is raw byte order
 * (memcmp, then the shorter key first). Trailing bytes in lenient mode are
 * not part of the document (the root's raw span ends before them).
 *
 * Encoding. sw_bencoder builds into a growing heap buffer. Dictionary keys may
 * be added in any order: each dictionary is sorted when it is closed, so the
 * output is always canonical. A duplicate key in one dictionary is an error
 * (SW_ERR_INVALID_ARG from sw_benc_end). Misuse is SW_ERR_INVALID_ARG too: a
 * key outside a dict or twice in a row, a value in a dict without its key, a
 * second top-level value, sw_benc_end with nothing open or a key pending.
 * Errors are sticky: once one happens every call returns it, and so does
 * sw_benc_finish().
 *
 * Threading: no global state; a document or encoder is used by one thread at a
 * time (this includes reads: list_at/dict_at keep a position cache in the
 * document); distinct objects may be used concurrently. */
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
    int max_depth;     /* 0 = default (100); nested lists/dicts allowed */
    int64_t max_nodes; /* 0 = default (2,000,000); at most INT32_MAX */
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
 * sw_bdoc_free) and borrows buf; on failure *doc_out is not written. opts may
 * be NULL for defaults; err_out may be NULL, and is set to {0, 0} on success.
 * Empty input is SW_ERR_BENCODE_EOF at offset 0. Returns 0 or a negative
 * SW_ERR_BENCODE_* / SW_ERR_NOMEM code, or SW_ERR_INVALID_ARG (doc_out NULL,
 * buf NULL with len > 0, a negative limit). */
SW_API int sw_bdecode(const void *buf, size_t len, const sw_bdecode_opts *opts, sw_bdoc **doc_out,
                      sw_bdecode_error *err_out);
SW_API void sw_bdoc_free(sw_bdoc *doc);
SW_API sw_bnode sw_bdoc_root(const sw_bdoc *doc);
SW_API size_t sw_bdoc_node_count(const sw_bdoc *doc);
/* In lenient mode: the first canonical-form violation found (code 0 if none). */
SW_API sw_bdecode_error sw_bdoc_first_violation(const sw_bdoc *doc);

SW_API sw_bnode_type sw_bnode_type_of(sw_bnode n);
SW_API bool sw_bnode_is(sw_bnode n, sw_bnode_type t);
/* The exact bytes of the encoded node in the input (e.g. to hash "info"),
 * as written there, even if not canonical. False, NULL and 0 for a none node.
 * Either out pointer may be NULL. */
SW_API bool sw_bnode_raw(sw_bnode n, const uint8_t **data_out, size_t *len_out);
/* Byte offset of the node in the input (for error messages); 0 for none. */
SW_API size_t sw_bnode_offset(sw_bnode n);

/* Strings: pointer into the input (not NUL-terminated) and length. Returns
 * NULL with *len_out = 0 if n is not a string. len_out may be NULL. */
SW_API const char *sw_bnode_str(sw_bnode n, size_t *len_out);
/* True if n is a string equal to the NUL-terminated s. */
SW_API bool sw_bnode_str_eq(sw_bnode n, const char *s);
/* Integer value, or 0 if n is not an integer. */
SW_API int64_t sw_bnode_int(sw_bnode n);

/* Lists and dicts: number of items (entries for a dict), 0 otherwise.
 * list_at/dict_at walk from the previous position when called with the same
 * container and an index not below the last one, so a loop over all items is
 * linear; other access is linear in the index. Out of range: a none node. */
SW_API size_t sw_bnode_len(sw_bnode n);
SW_API sw_bnode sw_bnode_list_at(sw_bnode list, size_t i);
/* The i-th entry of a dict in input order. On a miss returns false and sets
 * the outputs (either may be NULL) to none nodes. */
SW_API bool sw_bnode_dict_at(sw_bnode dict, size_t i, sw_bnode *key_out, sw_bnode *value_out);
/* Lookup by key (binary-safe / NUL-terminated). Returns a none node on miss.
 * With duplicate keys (lenient mode) the first one wins. */
SW_API sw_bnode sw_bnode_dict_find(sw_bnode dict, const void *key, size_t key_len);
SW_API sw_bnode sw_bnode_dict_get(sw_bnode dict, const char *key);
/* Typed lookups: true and *out set only if the key exists with that type.
 * Output pointers may be NULL. */
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
 * caller vouches that raw is one complete bencoded value (len > 0). */
SW_API int sw_benc_raw(sw_bencoder *enc, const void *raw, size_t len);
/* Copies a decoded node (re-encoding it canonically: keys sorted, leading
 * zeros dropped). A dict with duplicate keys (lenient decoding) fails with
 * SW_ERR_INVALID_ARG, as does a none node. Not recursive: any depth works. */
SW_API int sw_benc_node(sw_bencoder *enc, sw_bnode n);
/* Ends encoding: every container must be closed and exactly one top-level
 * value written. On success the caller owns *buf_out (free with free()),
 * len_out may be NULL, and the encoder accepts nothing more (free it). An
 * early call (SW_ERR_INVALID_ARG, nothing open or written yet) is not
 * sticky; the sticky error, if any, is returned instead. */
SW_API int sw_benc_finish(sw_bencoder *enc, uint8_t **buf_out, size_t *len_out);

#ifdef __cplusplus
}
#endif
#endif
