/* IP and port filters (libtorrent's ip_filter and port_filter).
 *
 * An IP filter gives every IPv4 and IPv6 address a set of flags. It starts
 * with one rule allowing everything; each rule added sets the flags of a
 * range of addresses, so where ranges overlap the rule added last wins. The
 * filter keeps the fewest non-overlapping ranges that describe it, and a
 * lookup is a binary search over them (O(log n)). A port filter does the same
 * for the ports 0..65535.
 *
 * A session applies its IP filter to peers of every source (trackers, DHT,
 * peer exchange, connect_peer, incoming connections) and its port filter to
 * the peers it would connect to; see sw_session_set_ip_filter.
 *
 * Ownership: a filter belongs to whoever created it and is freed with the
 * matching _free function. The session copies the filters it is given.
 * Threading: a filter is plain data with no locking; use one from one thread
 * at a time (reading it from several threads at once is fine). */
#ifndef CSWARM_IP_FILTER_H
#define CSWARM_IP_FILTER_H

#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "torrent.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct sw_ip_filter sw_ip_filter;
typedef struct sw_port_filter sw_port_filter;

/* Rule flags (libtorrent's ip_filter::blocked and port_filter::blocked). */
enum sw_filter_flags {
    SW_FILTER_BLOCKED = 1u << 0,
};

/* ---- IP filter ---- */

/* A new filter that allows every address. */
SW_API int sw_ip_filter_new(sw_ip_filter **f_out);
SW_API void sw_ip_filter_free(sw_ip_filter *f); /* NULL is ok */
SW_API int sw_ip_filter_clone(const sw_ip_filter *f, sw_ip_filter **f_out);

/* Gives every address from first to last (inclusive, numeric text such as
 * "10.0.0.0" or "fe80::1", both of one family, first <= last) the flags.
 * SW_ERR_INVALID_ARG for a bad address, mixed families or first > last. */
SW_API int sw_ip_filter_add_rule(sw_ip_filter *f, const char *first, const char *last,
                                 uint32_t flags);
/* The same with binary addresses in network byte order: family 4 takes 4
 * bytes, family 6 takes 16. */
SW_API int sw_ip_filter_add_rule_bytes(sw_ip_filter *f, int family, const uint8_t *first,
                                       const uint8_t *last, uint32_t flags);
/* The flags of one address (numeric text). IPv4-mapped IPv6 addresses
 * (::ffff:a.b.c.d) are looked up in the IPv4 rules, as peers' addresses
 * are, so IPv6 rules over that block never match. */
SW_API int sw_ip_filter_access(const sw_ip_filter *f, const char *addr, uint32_t *flags_out);

/* One range of an exported filter. */
typedef struct sw_ip_range {
    int family;        /* 4 or 6 */
    uint8_t first[16]; /* network byte order; IPv4 uses the first 4 bytes */
    uint8_t last[16];
    char first_str[46]; /* the same as numeric text */
    char last_str[46];
    uint32_t flags;
} sw_ip_range;

/* The filter as the fewest ranges covering every address of the family (4
 * or 6), in ascending order, neighbours with different flags. *ranges_out
 * is malloc'd (free() it); a new filter exports one range with flags 0. */
SW_API int sw_ip_filter_export(const sw_ip_filter *f, int family, sw_ip_range **ranges_out,
                               size_t *count_out);

/* What sw_ip_filter_load found. */
typedef struct sw_ip_filter_load_result {
    size_t rules;          /* lines that became rules */
    size_t malformed;      /* lines skipped because they could not be read */
    size_t first_bad_line; /* 1-based number of the first malformed line, 0 if none */
} sw_ip_filter_load_result;

/* Adds the rules of a range list (the text of a file, len bytes, need not
 * be NUL-terminated). One rule per line, in either of the common formats:
 *   eMule/DAT:  "1.2.3.0 - 1.2.3.255 , 0 , description" (the access level
 *               after the first comma: 127 or less blocks, more allows;
 *               IPv4 or IPv6; octets may have leading zeros)
 *   P2P:        "description:1.2.3.0-1.2.3.255" (blocks; IPv4)
 * and bare "FIRST - LAST" lines (block). Blank lines and lines starting
 * with '#' or "//" are skipped. Lines of more than 1024 bytes or that do
 * not parse are counted as malformed and skipped; the rest still apply, in
 * file order (a later line wins where ranges overlap). res_out may be NULL.
 * Returns 0 (even when lines were malformed), or SW_ERR_NOMEM. */
SW_API int sw_ip_filter_load(sw_ip_filter *f, const char *text, size_t len,
                             sw_ip_filter_load_result *res_out);

/* ---- port filter ---- */

/* A new filter that allows every port. */
SW_API int sw_port_filter_new(sw_port_filter **f_out);
SW_API void sw_port_filter_free(sw_port_filter *f); /* NULL is ok */
SW_API int sw_port_filter_clone(const sw_port_filter *f, sw_port_filter **f_out);
/* Gives the ports first..last (inclusive) the flags. */
SW_API int sw_port_filter_add_rule(sw_port_filter *f, uint16_t first, uint16_t last,
                                   uint32_t flags);
SW_API int sw_port_filter_access(const sw_port_filter *f, uint16_t port, uint32_t *flags_out);

typedef struct sw_port_range {
    uint16_t first, last; /* inclusive */
    uint32_t flags;
} sw_port_range;

/* The filter as the fewest ranges covering 0..65535 in ascending order;
 * *ranges_out is malloc'd (free() it). */
SW_API int sw_port_filter_export(const sw_port_filter *f, sw_port_range **ranges_out,
                                 size_t *count_out);

/* ---- the session's filters ---- */

/* Replaces the session's IP filter with a copy of f (NULL: allow every
 * address). It applies to every torrent added with SW_ADD_APPLY_IP_FILTER
 * (the default): peers it blocks are not added from any source (tracker,
 * DHT, peer exchange, resume data, connect_peer), are not dialled, and
 * their incoming connections are closed at accept, before any handshake
 * byte (or, while some torrent is exempt, once the handshake names a torrent
 * that is not). Connections and known peers the new filter blocks are
 * dropped at once. Each refusal posts a peer_blocked alert (ip_block
 * category) with reason SW_BLOCKED_IP_FILTER. */
SW_API int sw_session_set_ip_filter(sw_session *ses, const sw_ip_filter *f);
/* A copy of the session's IP filter (a filter allowing everything if none
 * was set); sw_ip_filter_free it. */
SW_API int sw_session_get_ip_filter(sw_session *ses, sw_ip_filter **f_out);
/* Replaces the session's port filter with a copy of f (NULL: none). It
 * keeps the session from dialling peers on blocked ports (incoming
 * connections are not affected); a refusal posts peer_blocked with reason
 * SW_BLOCKED_PORT_FILTER. Exempt torrents are not filtered. */
SW_API int sw_session_set_port_filter(sw_session *ses, const sw_port_filter *f);
/* A copy of the session's port filter; sw_port_filter_free it. */
SW_API int sw_session_get_port_filter(sw_session *ses, sw_port_filter **f_out);

#ifdef __cplusplus
}
#endif
#endif
