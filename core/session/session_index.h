/* Private to core/session: the session's torrents by v1 info-hash
 * (session_index.c), so finding a torrent (an incoming handshake, an add
 * that may be a duplicate) costs the same with ten thousand torrents as with
 * one. Network thread only. */
#ifndef SW_CORE_SESSION_INDEX_H
#define SW_CORE_SESSION_INDEX_H

#include <stdbool.h>
#include <stddef.h>

#include "base/base.h"

struct sw_torrent;
struct sw_session;

typedef struct sw_hash_index {
    struct sw_torrent **buckets; /* chains through sw_torrent.ih_next */
    size_t nbuckets;             /* a power of two, or 0 before the first torrent */
    size_t count;
    bool partial; /* a torrent could not be indexed (out of memory): find scans */
} sw_hash_index;

/* Adds t, already in the session's list, under t->info_hash (which must
 * not change while it is indexed). */
void sw__session_index_add(struct sw_session *ses, struct sw_torrent *t);
void sw__session_index_remove(struct sw_session *ses, struct sw_torrent *t);
/* The torrent with this info-hash, or NULL. */
struct sw_torrent *sw__session_index_find(struct sw_session *ses, const sw_sha1 *ih);
void sw__session_index_free(struct sw_session *ses);

#endif
