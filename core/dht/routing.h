/* The DHT routing table (BEP 5): buckets of k nodes indexed by how many
 * leading bits a node id shares with our own, where only the bucket that
 * holds our own id splits; a replacement cache per bucket; node states;
 * and the admission rules of BEP 42 (ids tied to addresses), BEP 43 (the
 * caller never offers read-only nodes) and dht_restrict_routing_ips.
 *
 * Node states. A node is *good* when it has answered one of our queries
 * and neither SW_DHT_NODE_TIMEOUT_MS has passed since we last heard from it
 * nor has it failed since; *questionable* when it never answered (nodes we
 * only know from their queries) or has been quiet that long; *bad* after
 * SW_DHT_BAD_FAILS failed queries in a row. Bad nodes are replaced by
 * nodes from the replacement cache (or by new nodes that answered us), and
 * leave the table after max_fail_count failures even without a
 * replacement.
 *
 * Pure data structure: time is passed in (milliseconds, any origin), no
 * I/O. One thread at a time. */
#ifndef SW_CORE_DHT_ROUTING_H
#define SW_CORE_DHT_ROUTING_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cswarm/torrent_info.h>

#include "dht/dht_id.h"
#include "net/net.h"

/* BEP 5: a node not heard from for 15 minutes becomes questionable. */
#define SW_DHT_NODE_TIMEOUT_MS (15u * 60u * 1000u)
/* Failed queries in a row after which a node is bad. */
#define SW_DHT_BAD_FAILS 2

typedef struct sw_dht_contact {
    sw_sha1 id;
    sw_endpoint ep;
    uint64_t first_seen_ms;
    uint64_t last_seen_ms;     /* last query or response from it */
    uint64_t last_response_ms; /* last response to our query; 0 = never */
    uint64_t last_queried_ms;  /* last query we sent it (maintenance pings) */
    uint32_t fail_count;       /* our queries it failed to answer, in a row */
} sw_dht_contact;

typedef enum sw_dht_node_state {
    SW_DHT_NODE_GOOD = 0,
    SW_DHT_NODE_QUESTIONABLE,
    SW_DHT_NODE_BAD,
} sw_dht_node_state;

typedef struct sw_dht_bucket {
    sw_dht_contact *live; /* cap_live entries allocated */
    int n_live, cap_live;
    sw_dht_contact *repl; /* replacement cache, bucket_size entries */
    int n_repl;
    uint64_t last_changed_ms;
} sw_dht_bucket;

typedef struct sw_dht_routing_opts {
    int bucket_size;      /* k; 0 = SW_DHT_K */
    bool extended;        /* dht_extended_routing_table: the farthest four
                             buckets hold 16, 8, 4 and 2 times k */
    bool restrict_ips;    /* dht_restrict_routing_ips */
    bool enforce_node_id; /* dht_enforce_node_id (BEP 42) */
    int max_fail_count;   /* dht_max_fail_count; 0 = 20 */
} sw_dht_routing_opts;

typedef struct sw_dht_routing {
    sw_sha1 self;
    int family; /* AF_INET or AF_INET6: the only family this table holds */
    sw_dht_routing_opts opts;
    /* buckets[i] for i < n_buckets - 1 holds ids sharing exactly i leading
     * bits with self; the last one holds the rest (our own region). */
    sw_dht_bucket buckets[SW_DHT_ID_BITS];
    int n_buckets;
} sw_dht_routing;

typedef enum sw_dht_add_result {
    SW_DHT_ADD_REJECTED = 0, /* not admitted (rules, or no room) */
    SW_DHT_ADD_UPDATED,      /* already known; timestamps refreshed */
    SW_DHT_ADD_LIVE,         /* now in a bucket */
    SW_DHT_ADD_REPLACEMENT,  /* now in a replacement cache */
} sw_dht_add_result;

int sw__dht_routing_init(sw_dht_routing *rt, const sw_sha1 *self, int family,
                         const sw_dht_routing_opts *opts);
void sw__dht_routing_free(sw_dht_routing *rt);
/* New admission options (existing entries stay). */
void sw__dht_routing_set_opts(sw_dht_routing *rt, const sw_dht_routing_opts *opts);

/* We heard from (id, ep): it answered one of our queries when `responded`,
 * otherwise it sent us a query. Returns what happened; SW_ERR_NOMEM if a
 * split could not allocate. */
int sw__dht_routing_heard(sw_dht_routing *rt, const sw_sha1 *id, const sw_endpoint *ep,
                          bool responded, uint64_t now_ms);
/* One of our queries to (id, ep) timed out. Bad nodes are replaced from the
 * replacement cache. Returns true if the node left the table. */
bool sw__dht_routing_failed(sw_dht_routing *rt, const sw_sha1 *id, const sw_endpoint *ep,
                            uint64_t now_ms);
/* We sent a query to (id, ep) now (for maintenance scheduling). */
void sw__dht_routing_queried(sw_dht_routing *rt, const sw_sha1 *id, uint64_t now_ms);
void sw__dht_routing_remove(sw_dht_routing *rt, const sw_sha1 *id);

sw_dht_node_state sw__dht_routing_state(const sw_dht_contact *e, uint64_t now_ms);
const sw_dht_contact *sw__dht_routing_find(const sw_dht_routing *rt, const sw_sha1 *id);

enum {
    /* Only nodes that have answered us at least once (for replies to
     * others: a node we only know from its queries may be unreachable).
     * Without it, every node that is not bad (for starting lookups). */
    SW_DHT_CLOSEST_CONFIRMED = 1u << 0,
};
/* Up to max entries closest to target, closest first; returns the count. */
size_t sw__dht_routing_closest(const sw_dht_routing *rt, const sw_sha1 *target, size_t max,
                               unsigned flags, uint64_t now_ms, sw_dht_contact *out);

/* Live nodes, good live nodes, and replacement-cache entries. */
void sw__dht_routing_counts(const sw_dht_routing *rt, uint64_t now_ms, size_t *live_out,
                            size_t *good_out, size_t *replacements_out);
/* The bucket an id belongs in. */
int sw__dht_routing_bucket_of(const sw_dht_routing *rt, const sw_sha1 *id);
/* The live capacity of bucket i. */
int sw__dht_routing_bucket_limit(const sw_dht_routing *rt, int i);

/* Live nodes by how many leading bits they share with us: counts[d] for
 * d < SW_DHT_ID_BITS. Returns the deepest d with a node, or -1. */
int sw__dht_routing_depth_counts(const sw_dht_routing *rt, uint32_t counts[SW_DHT_ID_BITS]);

/* Maintenance: the live node most in need of a ping (questionable and not
 * queried within min_gap_ms), or false. A node that never answered us is
 * left alone until it has been known for min_age_ms: it may answer one of
 * our own queries meanwhile, which confirms it without a ping. */
bool sw__dht_routing_next_ping(const sw_dht_routing *rt, uint64_t now_ms, uint64_t min_gap_ms,
                               uint64_t min_age_ms, sw_dht_contact *out);
/* Maintenance: a bucket not changed within stale_ms, and a random target in
 * it to look up (the bucket is marked changed so it is not picked again at
 * once), or false. */
bool sw__dht_routing_next_refresh(sw_dht_routing *rt, uint64_t now_ms, uint64_t stale_ms,
                                  sw_sha1 *target_out);

#endif
