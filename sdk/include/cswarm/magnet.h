/* Magnet links (BEP 9, BEP 53).
 *
 *   magnet:?xt=urn:btih:<hash>&xt=urn:btmh:1220<hash>&dn=<name>&tr=<tracker>
 *          &ws=<web seed>&x.pe=<host:port>&so=<file indices>
 *
 * An sw_magnet is an owned value: sw_magnet_parse, sw_magnet_new and
 * sw_magnet_from_torrent_info hand the caller one that it frees with
 * sw_magnet_free. Strings and structs returned by accessors borrow from it
 * and stay valid until it is freed or modified. There is no shared or global
 * state: one thread at a time may use a given sw_magnet; distinct ones may be
 * used concurrently.
 *
 * What a magnet holds:
 *   - info-hashes: v1 (SHA-1, from "urn:btih:" as 40 hex or 32 base32
 *     characters) and/or v2 (SHA-256, from "urn:btmh:" as the hex multihash
 *     1220<64 hex>). A hybrid torrent's link carries both. Other xt kinds are
 *     ignored.
 *   - display name (dn): the first non-empty one, or NULL;
 *   - trackers (tr) and web seeds (ws, BEP 19), in link order, duplicates
 *     dropped;
 *   - peers (x.pe): "host:port", "a.b.c.d:port" or "[ipv6]:port";
 *   - BEP 53 "select only" file indices (so=0,2,4-6) as inclusive ranges,
 *     kept sorted with overlapping and adjacent ranges merged.
 * Indexed keys (tr.1, xt.2, ...) are read like plain ones; keys match case
 * insensitively; unknown parameters are ignored.
 *
 * Every value is percent-decoded, and a malformed escape (%zz, a lone %, a
 * decoded NUL) fails the parse. '+' means a space in dn only; elsewhere it is
 * a literal '+'. Raw control characters are refused anywhere in the link.
 * dn is kept as the decoded bytes (usually, but not necessarily, UTF-8).
 *
 * The writer (sw_magnet_to_string) is canonical: xt, dn, tr, ws, x.pe, so in
 * that order; hex in lower case; dn, tr, ws and x.pe values percent-encoded
 * outside RFC 3986's unreserved characters. For any magnet m the writer
 * accepts, parsing its output gives a magnet equal to m (sw_magnet_equal). */
#ifndef CSWARM_MAGNET_H
#define CSWARM_MAGNET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "torrent_info.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Limits, enforced by the parser and the builder functions alike
 * (SW_ERR_LIMIT). The length limit holds for the link given to the parser and
 * for the canonical form of the result, so whatever parses can be written and
 * read back. */
#define SW_MAGNET_MAX_LEN 65536
#define SW_MAGNET_MAX_TRACKERS 256
#define SW_MAGNET_MAX_WEB_SEEDS 256
#define SW_MAGNET_MAX_PEERS 256
#define SW_MAGNET_MAX_SELECT_RANGES 1024 /* after merging */
#define SW_MAGNET_MAX_FILE_INDEX 2147483646

typedef enum sw_magnet_peer_kind {
    SW_MAGNET_PEER_IPV4 = 1,
    SW_MAGNET_PEER_IPV6 = 2,
    SW_MAGNET_PEER_HOSTNAME = 3,
} sw_magnet_peer_kind;

typedef struct sw_magnet_peer {
    const char *host; /* IP literal (IPv6 without brackets) or host name */
    int port;         /* 1..65535 */
    sw_magnet_peer_kind kind;
} sw_magnet_peer;

/* Files first..last (inclusive, zero-based) selected by BEP 53 "so". */
typedef struct sw_magnet_file_range {
    int first;
    int last;
} sw_magnet_file_range;

typedef struct sw_magnet sw_magnet;

/* Parses link[0..len). On success the caller owns *m_out. err may be NULL; on
 * failure it receives the code, the byte offset in link where the problem is
 * and a one-line message. Errors: SW_ERR_MAGNET_NOT_MAGNET (no "magnet:?"),
 * SW_ERR_MAGNET_NO_HASH, SW_ERR_MAGNET_BAD_HASH (wrong length or digit,
 * unsupported multihash, two different hashes of one kind),
 * SW_ERR_MAGNET_BAD_ESCAPE, SW_ERR_MAGNET_BAD_PEER, SW_ERR_MAGNET_BAD_SELECT,
 * SW_ERR_LIMIT, SW_ERR_INVALID_ARG (NULL link), SW_ERR_NOMEM. */
SW_API int sw_magnet_parse(const char *link, size_t len, sw_magnet **m_out, sw_error_detail *err);

/* Writes the canonical link into a NUL-terminated heap string the caller
 * frees with free(). len_out may be NULL. Fails with SW_ERR_MAGNET_NO_HASH if
 * m has no info-hash and SW_ERR_LIMIT if the link would be longer than
 * SW_MAGNET_MAX_LEN. */
SW_API int sw_magnet_to_string(const sw_magnet *m, char **link_out, size_t *len_out);

/* Builds the magnet of a loaded torrent: its info-hashes (both for a
 * hybrid), name, trackers (all tiers, in order) and web seeds. Trackers and
 * web seeds beyond what fits the limits are left out, so the result can
 * always be written. The caller owns *m_out. */
SW_API int sw_magnet_from_torrent_info(const sw_torrent_info *ti, sw_magnet **m_out);

/* An empty magnet (no hash yet) to fill with the setters below. */
SW_API int sw_magnet_new(sw_magnet **m_out);
/* NULL is ok. */
SW_API void sw_magnet_free(sw_magnet *m);
/* A deep copy. */
SW_API int sw_magnet_clone(const sw_magnet *m, sw_magnet **m_out);
/* Same hashes, name, trackers, web seeds, peers and file selection. */
SW_API bool sw_magnet_equal(const sw_magnet *a, const sw_magnet *b);

/* ---- reading ---- */

SW_API const sw_info_hashes *sw_magnet_hashes(const sw_magnet *m);
/* The display name, or NULL. */
SW_API const char *sw_magnet_name(const sw_magnet *m);
SW_API int sw_magnet_num_trackers(const sw_magnet *m);
/* NULL if i is out of range (likewise for the other indexed accessors). */
SW_API const char *sw_magnet_tracker(const sw_magnet *m, int i);
SW_API int sw_magnet_num_web_seeds(const sw_magnet *m);
SW_API const char *sw_magnet_web_seed(const sw_magnet *m, int i);
SW_API int sw_magnet_num_peers(const sw_magnet *m);
SW_API const sw_magnet_peer *sw_magnet_peer_at(const sw_magnet *m, int i);
/* 0 when the link selects nothing in particular (download everything). */
SW_API int sw_magnet_num_select_ranges(const sw_magnet *m);
SW_API const sw_magnet_file_range *sw_magnet_select_range(const sw_magnet *m, int i);
/* True if file_index is wanted: the link has no "so", or a range holds it. */
SW_API bool sw_magnet_file_selected(const sw_magnet *m, int file_index);

/* ---- building ---- (each returns 0 or a negative code; on error m is
 * unchanged) */

/* Sets the info-hashes; at least one of has_v1/has_v2 must be true. */
SW_API int sw_magnet_set_hashes(sw_magnet *m, const sw_info_hashes *hashes);
/* Copies name; NULL or "" removes it. */
SW_API int sw_magnet_set_name(sw_magnet *m, const char *name);
/* Appends a copy of url unless it is already there (then 0). url must be
 * non-empty. */
SW_API int sw_magnet_add_tracker(sw_magnet *m, const char *url);
SW_API int sw_magnet_add_web_seed(sw_magnet *m, const char *url);
/* Appends a peer unless already there. host is an IPv4 literal, an IPv6
 * literal without brackets, or a host name (letters, digits, '-', '_', '.');
 * port 1..65535. SW_ERR_MAGNET_BAD_PEER otherwise. */
SW_API int sw_magnet_add_peer(sw_magnet *m, const char *host, int port);
/* Selects files first..last (0 <= first <= last <= SW_MAGNET_MAX_FILE_INDEX,
 * else SW_ERR_MAGNET_BAD_SELECT). */
SW_API int sw_magnet_add_select_range(sw_magnet *m, int first, int last);

#ifdef __cplusplus
}
#endif
#endif
