/* core/dht: a mainline DHT node (BEP 5) with IPv6 (BEP 32, one node per
 * address family), secure node ids (BEP 42), read-only mode (BEP 43),
 * item storage (BEP 44) and infohash sampling (BEP 51). This is the
 * module's one public face inside core/. Not for embedders or plugins.
 *
 * How it plugs into a session:
 *   - The node runs entirely on one uv_loop_t (the network thread). It owns
 *     two timers on that loop and nothing else: no sockets.
 *   - Datagrams go out through config.send (the owner's shared UDP socket)
 *     and come in through sw__dht_on_packet(), which the owner calls for
 *     every datagram that looks like KRPC (it starts with 'd').
 *   - Results come back through callbacks given to each call. Every
 *     function that takes a callback either returns an error and never
 *     calls it, or returns 0 and calls its final callback exactly once,
 *     never from inside the call itself. Progress callbacks (peers found)
 *     may run several times before the final one.
 *   - sw__dht_close() ends every lookup (final callbacks get
 *     SW_ERR_ABORTED), closes the timers and frees the node; its callback
 *     runs last.
 *
 * One sw_dht serves one address family (AF_INET or AF_INET6), as BEP 32
 * describes two independent DHTs; a dual-stack owner runs two, usually with
 * the same node id.
 *
 * Threading: every function here runs on the loop's thread, including the
 * send callback and all result callbacks. */
#ifndef SW_CORE_DHT_H
#define SW_CORE_DHT_H

#ifndef SW_BUILDING_CORE
#ifndef SW_INTERNAL_OK
#error "core/dht/dht.h is internal to cswarm"
#endif
#endif

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <uv.h>

#include <cswarm/bencode.h>
#include <cswarm/settings.h>
#include <cswarm/torrent_info.h>

#include "net/net.h"

typedef struct sw_dht sw_dht;

/* ---- configuration ---- */

/* The node's tunables. The first group mirrors the dht_* settings of
 * <cswarm/settings.h> (same names and meaning); the rest are timing knobs
 * with no setting. */
typedef struct sw_dht_settings {
    int max_peers_reply;          /* dht_max_peers_reply */
    int search_branching;         /* dht_search_branching: queries in flight per lookup */
    bool aggressive_lookups;      /* dht_aggressive_lookups: the branching counts only queries
                                     to nodes closer than the next one to ask */
    bool privacy_lookups;         /* dht_privacy_lookups: get_peers shows a node only the
                                     target's bits it needs until the lookup nears it */
    int max_fail_count;           /* dht_max_fail_count */
    int max_torrents;             /* dht_max_torrents */
    int max_dht_items;            /* dht_max_dht_items */
    int max_peers;                /* dht_max_peers */
    int max_torrent_search_reply; /* dht_max_torrent_search_reply: BEP 51 samples per reply */
    bool restrict_routing_ips;    /* dht_restrict_routing_ips */
    bool restrict_search_ips;     /* dht_restrict_search_ips */
    bool extended_routing_table;  /* dht_extended_routing_table */
    bool enforce_node_id;         /* dht_enforce_node_id */
    bool ignore_dark_internet;    /* dht_ignore_dark_internet */
    int block_timeout;            /* dht_block_timeout, seconds */
    int block_ratelimit;          /* dht_block_ratelimit, queries per second per address */
    bool read_only;               /* dht_read_only */
    int item_lifetime;            /* dht_item_lifetime, seconds; 0 = two hours */
    int upload_rate_limit;        /* dht_upload_rate_limit, bytes/s for replies; 0 = none */

    int query_timeout_ms;  /* a query fails without an answer after this (5000) */
    int short_timeout_ms;  /* a lookup stops waiting for a slow node after this (1000) */
    int sample_interval_s; /* BEP 51 "interval" we advertise (300) */
} sw_dht_settings;

/* The defaults of the settings registry plus the timing defaults. */
void sw__dht_settings_init(sw_dht_settings *s);
/* Reads the dht_* settings of a registry object (timing knobs untouched). */
void sw__dht_settings_from(sw_dht_settings *s, const sw_settings *reg);

/* Sends one datagram to `to` (a sockaddr_in or sockaddr_in6). data is
 * borrowed for the call only. Returns 0 or a negative code; a failed send
 * is treated as a lost packet. */
typedef int (*sw_dht_send_fn)(void *user, const uint8_t *data, size_t len,
                              const struct sockaddr *to);

/* What other nodes ask of this one, for the owner's alerts. */
typedef enum sw_dht_incoming {
    SW_DHT_IN_GET_PEERS = 1, /* port 0 */
    SW_DHT_IN_ANNOUNCE = 2,  /* port: the peer's port as stored */
} sw_dht_incoming;
/* A get_peers or a valid announce_peer was received from `from`. */
typedef void (*sw_dht_incoming_fn)(void *user, sw_dht_incoming kind, const sw_sha1 *info_hash,
                                   const sw_endpoint *from, uint16_t port);

typedef struct sw_dht_config {
    uv_loop_t *loop;
    int family; /* AF_INET or AF_INET6 */
    sw_dht_send_fn send;
    void *send_user;
    /* Our node id; NULL picks one (BEP 42-conforming when external_ip is
     * set, random otherwise). */
    const sw_sha1 *node_id;
    /* Our address as the Internet sees it, if known (BEP 42); NULL = not. */
    const sw_endpoint *external_ip;
    sw_dht_settings settings;
    /* Optional (NULL): told of incoming get_peers and announce_peer. */
    sw_dht_incoming_fn on_incoming;
    void *incoming_user;
} sw_dht_config;

void sw__dht_config_init(sw_dht_config *cfg, uv_loop_t *loop, int family, sw_dht_send_fn send,
                         void *send_user);

/* ---- lifecycle ---- */

int sw__dht_new(const sw_dht_config *cfg, sw_dht **dht_out);
/* Ends all lookups (SW_ERR_ABORTED), stops answering, closes the timers,
 * then calls cb (may be NULL) and frees the node. Idempotent. */
void sw__dht_close(sw_dht *dht, void (*cb)(void *user), void *user);
/* New settings; the routing table's bucket geometry (extended table) is
 * kept until the node is recreated. */
void sw__dht_apply_settings(sw_dht *dht, const sw_dht_settings *s);

/* One incoming datagram from `from`. Returns 0 if it was a KRPC message
 * (answered, matched or dropped by the rules), SW_ERR_DHT_MALFORMED if it
 * was not one (counted). Never keeps a pointer to data. */
int sw__dht_on_packet(sw_dht *dht, const uint8_t *data, size_t len, const struct sockaddr *from);

/* ---- joining ---- */

/* Pings a node (the PORT message, a saved node, add_dht_node); it enters
 * the routing table when it answers. */
int sw__dht_add_node(sw_dht *dht, const struct sockaddr *addr);
/* A bootstrap router: asked when the routing table is empty, never put in
 * it (BEP 5 asks not to). */
int sw__dht_add_router(sw_dht *dht, const struct sockaddr *addr);

/* What a finished lookup did. */
typedef struct sw_dht_lookup_stats {
    int queried;   /* nodes asked during the lookup */
    int responses; /* of them, nodes that answered */
    int timeouts;
    int stored;  /* announce/put: nodes that accepted the store */
    int peers;   /* get_peers/announce: peers reported (with repeats) */
    int64_t seq; /* mutable put: the seq the item was stored with */
} sw_dht_lookup_stats;

/* The final callback of a lookup: status 0, SW_ERR_DHT_NO_NODES (nobody to
 * ask), SW_ERR_ABORTED (node closing) or another negative code. */
typedef void (*sw_dht_done_cb)(void *user, int status, const sw_dht_lookup_stats *stats);

/* Looks up our own id, starting from the routing table, the routers and
 * added nodes: this fills the routing table. */
int sw__dht_bootstrap(sw_dht *dht, sw_dht_done_cb done, void *user);

/* ---- peers (BEP 5) ---- */

/* Peers found for info_hash; may run several times per lookup. peers is
 * borrowed for the call. */
typedef void (*sw_dht_peers_cb)(void *user, const sw_sha1 *info_hash, const sw_endpoint *peers,
                                size_t n);

int sw__dht_get_peers(sw_dht *dht, const sw_sha1 *info_hash, sw_dht_peers_cb on_peers,
                      sw_dht_done_cb done, void *user);

enum {
    /* Ask nodes to store the UDP source port of the announce instead of
     * `port` (BEP 5 implied_port). */
    SW_DHT_ANNOUNCE_IMPLIED_PORT = 1u << 0,
    /* We seed the torrent (BEP 33 "seed": counted among the seeds of a
     * DHT scrape). */
    SW_DHT_ANNOUNCE_SEED = 1u << 1,
};
/* get_peers, then announce_peer(port) to the k closest nodes that gave us a
 * token. on_peers may be NULL. stats->stored counts accepted announces. */
int sw__dht_announce(sw_dht *dht, const sw_sha1 *info_hash, uint16_t port, unsigned flags,
                     sw_dht_peers_cb on_peers, sw_dht_done_cb done, void *user);

/* BEP 33 scrape: the estimated numbers of seeds and of downloaders that
 * announced info_hash to the nodes closest to it (the union of their bloom
 * filters), or status < 0 (then both are 0). */
typedef void (*sw_dht_scrape_cb)(void *user, int status, double seeds, double downloaders,
                                 const sw_dht_lookup_stats *stats);
/* A get_peers lookup with scrape=1. done is called exactly once, never
 * from inside this call. */
int sw__dht_scrape(sw_dht *dht, const sw_sha1 *info_hash, sw_dht_scrape_cb done, void *user);

/* Peers other nodes announced to this very node for info_hash (up to
 * max, into out); lookups never ask their own node. */
size_t sw__dht_local_peers(const sw_dht *dht, const sw_sha1 *info_hash, sw_endpoint *out,
                           size_t max);

/* ---- items (BEP 44) ---- */

/* An item as received. All pointers are borrowed for the callback. */
typedef struct sw_dht_item {
    const uint8_t *v; /* the bencoded value */
    size_t v_len;
    bool is_mutable;
    const uint8_t *k;   /* mutable: public key (32 bytes) */
    const uint8_t *sig; /* mutable: signature (64 bytes) */
    int64_t seq;        /* mutable */
    const uint8_t *salt;
    size_t salt_len;
} sw_dht_item;

/* item is NULL when none was found (status is still 0 then). Immutable
 * lookups end at the first value whose hash matches; mutable lookups ask
 * the whole neighbourhood and report the valid item with the highest seq. */
typedef void (*sw_dht_item_cb)(void *user, int status, const sw_dht_item *item,
                               const sw_dht_lookup_stats *stats);

int sw__dht_get_immutable(sw_dht *dht, const sw_sha1 *target, sw_dht_item_cb cb, void *user);
int sw__dht_get_mutable(sw_dht *dht, const uint8_t pk[32], const uint8_t *salt, size_t salt_len,
                        sw_dht_item_cb cb, void *user);

/* The Ed25519 public key of a 32-byte private key (seed): what readers of
 * a mutable item need. SW_ERR_CRYPTO on failure. */
int sw__dht_item_public_key(const uint8_t seed[32], uint8_t pk_out[32]);

/* Stores a bencoded value (canonical, at most 1000 bytes) under its SHA-1,
 * written to *target_out at once. stats->stored counts nodes that took it. */
int sw__dht_put_immutable(sw_dht *dht, const uint8_t *v, size_t v_len, sw_sha1 *target_out,
                          sw_dht_done_cb done, void *user);
/* Signs and stores a mutable item under SHA-1(pk || salt), pk being the
 * public key of the 32-byte Ed25519 private key `seed`. seq < 0 means one
 * more than the highest seq found in the DHT (1 if none). */
int sw__dht_put_mutable(sw_dht *dht, const uint8_t seed[32], const uint8_t *salt, size_t salt_len,
                        const uint8_t *v, size_t v_len, int64_t seq, sw_dht_done_cb done,
                        void *user);

/* ---- BEP 51 ---- */

typedef struct sw_dht_samples {
    const sw_sha1 *samples; /* borrowed for the callback */
    size_t n;
    int64_t num;      /* info-hashes the node stores */
    int64_t interval; /* seconds before asking it again */
    size_t nodes;     /* nodes it returned (added to our lookup knowledge) */
} sw_dht_samples;

/* Asks one node for a sample of its info-hashes. result is NULL on failure
 * (timeout, error reply). */
typedef void (*sw_dht_samples_cb)(void *user, int status, const sw_dht_samples *result);
int sw__dht_sample_infohashes(sw_dht *dht, const struct sockaddr *node, const sw_sha1 *target,
                              sw_dht_samples_cb cb, void *user);

/* ---- state and figures ---- */

const sw_sha1 *sw__dht_node_id(const sw_dht *dht);

/* Our address as most nodes that answered us report it (BEP 42 "ip"; at
 * least three distinct nodes and a majority of the votes), port 0. False
 * while unknown. An owner may use it to pick a BEP 42 node id
 * (config.external_ip) when it next creates the node. */
bool sw__dht_external_address(const sw_dht *dht, sw_endpoint *out);

typedef struct sw_dht_stats {
    size_t nodes; /* live routing table entries (dht_nodes) */
    size_t good_nodes;
    size_t node_cache; /* replacement cache entries (dht_node_cache) */
    size_t buckets;
    size_t torrents; /* info-hashes with stored peers (dht_torrents) */
    size_t peers;    /* stored peers */
    size_t items;    /* stored BEP 44 items */
    size_t lookups;  /* running lookups (dht_lookup) */
    size_t pending;  /* queries awaiting an answer */
    uint64_t packets_in, packets_out;
    uint64_t bytes_in, bytes_out;
    uint64_t queries_in; /* queries answered */
    uint64_t dropped;    /* malformed, unmatched, blocked, rate-limited */
    uint64_t malformed;
    uint64_t timeouts;
} sw_dht_stats;

void sw__dht_get_stats(const sw_dht *dht, sw_dht_stats *out);

/* One running lookup (libtorrent's dht_lookup). */
typedef struct sw_dht_lookup_info {
    const char *type;         /* the query it sends: "get_peers", "find_node", "get" (static) */
    int outstanding_requests; /* queries in flight */
    int timeouts, responses;
    int branch_factor; /* queries it may keep in flight now (grows with slow ones) */
    int nodes_left;    /* candidates not asked yet */
    int first_timeout; /* queries in flight past the short timeout */
    bool storing;      /* announce/put: in the store phase */
} sw_dht_lookup_info;
/* Up to max running lookups into out; returns how many. */
size_t sw__dht_lookups_info(const sw_dht *dht, sw_dht_lookup_info *out, size_t max);

/* Live nodes of bucket i (i < stats.buckets), for dht_routing_bucket. */
int sw__dht_bucket_nodes(const sw_dht *dht, int i, int *live_out, int *cache_out);

/* Writes the node's state as a bencoded dict: "node-id" and "nodes" (or
 * "nodes6"): compact entries of the good nodes. */
int sw__dht_save_state(const sw_dht *dht, sw_bencoder *enc);
/* Reads a saved state's node id (false if absent or malformed). */
bool sw__dht_state_node_id(sw_bnode state, sw_sha1 *id_out);
/* Pings the saved nodes of our family (as sw__dht_add_node). Returns how
 * many were queued. */
int sw__dht_load_nodes(sw_dht *dht, sw_bnode state);

#endif
