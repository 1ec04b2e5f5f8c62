/* Private to the magnet link code in core/torrent: the sw_magnet layout and
 * the helpers its parser and writer share. */
#ifndef SW_CORE_TORRENT_MAGNET_INT_H
#define SW_CORE_TORRENT_MAGNET_INT_H

#ifndef SW_BUILDING_CORE
#error "core/torrent/magnet_int.h is internal to cswarm"
#endif

#include <stdbool.h>
#include <stddef.h>

#include <cswarm/magnet.h>

typedef struct sw__strlist {
    char **items;
    int count;
    int cap;
} sw__strlist;

struct sw_magnet {
    sw_info_hashes hashes;
    char *name; /* NULL when absent; never "" */
    sw__strlist trackers;
    sw__strlist web_seeds;
    sw_magnet_peer *peers; /* each host is heap-owned */
    int num_peers;
    int cap_peers;
    sw_magnet_file_range *ranges; /* sorted, disjoint, non-adjacent */
    int num_ranges;
    int cap_ranges;
};

/* True for RFC 3986 unreserved characters, the only ones written unescaped in
 * dn, tr, ws and x.pe values. */
bool sw__magnet_is_unreserved(unsigned char c);
/* Length of s[0..len) once percent-encoded. */
size_t sw__magnet_escaped_len(const char *s, size_t len);
/* The exact length sw_magnet_to_string would produce (without the NUL), or 0
 * if m has no info-hash. */
size_t sw__magnet_link_len(const sw_magnet *m);

#endif
