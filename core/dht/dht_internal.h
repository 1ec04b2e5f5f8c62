/* Internals shared by the DHT node's files: the node object, outgoing
 * queries (transactions), lookups (traversals) and the query handlers.
 * Not included by other modules. Everything runs on the node's loop. */
#ifndef SW_CORE_DHT_INTERNAL_H
#define SW_CORE_DHT_INTERNAL_H

#include "dht/dht.h"
#include "dht/dht_id.h"
#include "dht/krpc.h"
#include "dht/routing.h"
#include "dht/store.h"

#include "base/buffer.h"

/* Housekeeping period: query timeouts, token rotation, maintenance. A
 * tick this much later than due means the loop was held up. */
#define SW_DHT_TICK_MS 100
#define SW_DHT_STALL_MS 400
/* Maintenance: at most one ping per this period, a node pinged at most once
 * per SW_DHT_PING_GAP_MS, buckets refreshed after 15 minutes (BEP 5). */
#define SW_DHT_MAINT_MS 1000
#define SW_DHT_PING_GAP_MS 60000
/* A node known only from its queries is pinged this long after it entered
 * the table, unless it confirmed itself meanwhile (answered one of our
 * queries, or announced with our token): it is most likely in the middle
 * of a lookup, which a ping would only add to. At most
 * SW_DHT_VERIFY_QUEUE wait; maintenance pings the others later. */
#define SW_DHT_VERIFY_DELAY_MS 3000
#define SW_DHT_VERIFY_QUEUE 256
#define SW_DHT_REFRESH_MS (15u * 60u * 1000u)
/* With an empty table and known routers, bootstrap again this often; with
 * fewer than k nodes, look up our own id again this often. */
#define SW_DHT_REBOOTSTRAP_MS 30000
#define SW_DHT_SMALL_TABLE_MS 5000
/* The "v" key of our messages: BEP 20 client code and a 2-byte version. */
#define SW_DHT_VERSION "SW\x00\x01"
#define SW_DHT_VERSION_LEN 4
/* Replies are kept below this size (BEP 32 asks for 1024 over IPv6). */
#define SW_DHT_REPLY_BUDGET_V4 1400
#define SW_DHT_REPLY_BUDGET_V6 1024
#define SW_DHT_TXN_BUCKETS 64
#define SW_DHT_BLOCKER_SIZE 256
/* Entries a lookup keeps (closest first). */
#define SW_DHT_TRAV_MAX_NODES 128
/* Nodes from the routing table a lookup starts with. */
#define SW_DHT_TRAV_SEEDS 16
#define SW_DHT_MAX_ROUTERS 32

/* ---- transactions (dht_rpc.c) ---- */

typedef struct sw_dht_txn sw_dht_txn;

/* A query's answer became late: it still counts if it comes. */
#define SW_DHT_TXN_SLOW 1
/* status: 0 with a response, SW_ERR_DHT_REMOTE_ERROR with an error
 * message, SW_DHT_TXN_SLOW (reply NULL, still pending), SW_ERR_TIMEOUT or
 * SW_ERR_ABORTED (reply NULL, final). The transaction is freed after the
 * final call returns. */
typedef void (*sw_dht_txn_cb)(sw_dht *dht, sw_dht_txn *txn, const sw_krpc_msg *reply, int status);

struct sw_dht_txn {
    sw_dht_txn *next; /* hash chain */
    uint16_t tid;
    sw_krpc_method method;
    sw_endpoint to;
    sw_sha1 to_id;
    bool has_to_id;
    bool slow;
    uint64_t sent_ms;
    sw_dht_txn_cb cb; /* NULL once detached: the answer only feeds the routing table */
    void *ctx, *ctx2;
};

/* Sends query q (type, method and arguments set; tid, id, version and ro
 * are filled in here) to `to`. to_id is the node's id if known. Returns the
 * transaction, or NULL (nothing sent, cb never called). */
sw_dht_txn *sw__dht_query(sw_dht *dht, sw_krpc_msg *q, const sw_endpoint *to, const sw_sha1 *to_id,
                          sw_dht_txn_cb cb, void *ctx, void *ctx2);
static inline void sw__dht_txn_detach(sw_dht_txn *txn)
{
    txn->cb = NULL;
}
/* Timeouts (from the tick). */
void sw__dht_txns_tick(sw_dht *dht, uint64_t now_ms);
/* Handles a response or error message from `from`. */
void sw__dht_txns_on_reply(sw_dht *dht, const sw_krpc_msg *m, const sw_endpoint *from);
/* Ends every transaction with SW_ERR_ABORTED (closing). */
void sw__dht_txns_abort_all(sw_dht *dht);

/* Encodes m and sends it; counts bytes and packets. */
int sw__dht_send_msg(sw_dht *dht, const sw_krpc_msg *m, const sw_endpoint *to);

/* ---- lookups (traversal.c) ---- */

typedef enum sw_dht_trav_state {
    SW_TRAV_NEW = 0,
    SW_TRAV_PENDING, /* query in flight */
    SW_TRAV_SLOW,    /* query in flight past the short timeout */
    SW_TRAV_ALIVE,   /* answered */
    SW_TRAV_FAILED,  /* timed out or answered with an error */
} sw_dht_trav_state;

typedef struct sw_dht_trav_node {
    sw_sha1 id;
    sw_endpoint ep;
    uint8_t state; /* sw_dht_trav_state */
    bool id_known; /* false for routers until they answer */
    bool id_ok;    /* satisfies BEP 42 (or is on a local network) */
    bool stored;   /* store phase: query sent to it */
    bool masked;   /* dht_privacy_lookups: asked with a masked target */
    uint8_t token_len;
    uint8_t token[SW_KRPC_MAX_TOKEN];
    sw_dht_txn *txn;
} sw_dht_trav_node;

typedef struct sw_dht_traversal sw_dht_traversal;

typedef struct sw_dht_trav_ops {
    sw_krpc_method method;
    /* Adds the method's arguments to a lookup query (target is set). */
    void (*fill_query)(sw_dht_traversal *t, sw_krpc_msg *q);
    /* A node answered; returns true to end the lookup now. May be NULL. */
    bool (*on_reply)(sw_dht_traversal *t, sw_dht_trav_node *n, const sw_krpc_msg *r);
    /* The lookup phase ended (status 0): starts a store phase with
     * sw__dht_trav_store or finishes. NULL finishes. */
    void (*on_lookup_done)(sw_dht_traversal *t);
    /* Calls the user's final callback (t->status is set). */
    void (*deliver)(sw_dht_traversal *t);
} sw_dht_trav_ops;

enum { SW_TRAV_LOOKUP = 0, SW_TRAV_STORE, SW_TRAV_DONE };

struct sw_dht_traversal {
    sw_dht *dht;
    sw_dht_traversal *prev, *next; /* running list, or the finished queue */
    const sw_dht_trav_ops *ops;
    sw_sha1 target;
    sw_dht_trav_node **nodes; /* sorted by distance to target */
    size_t n, cap;
    int pending, slow;
    int settled;  /* queries answered, failed or gone slow */
    bool masking; /* dht_privacy_lookups: the target not yet revealed */
    int phase;
    int store_pending;
    int status;
    sw_dht_lookup_stats stats;
    void *user;

    /* get_peers / announce / bootstrap */
    sw_dht_peers_cb on_peers;
    sw_dht_done_cb done;
    bool announce;
    bool internal; /* a maintenance lookup with no user */
    uint16_t port;
    bool implied_port;
    bool announce_seed; /* announce: BEP 33 "seed" */

    /* BEP 33 scrape: the union of the filters so far (2 x 256 bytes) */
    sw_dht_scrape_cb scrape_done;
    uint8_t *bloom;

    /* items */
    sw_dht_item_cb item_cb;
    bool want_mutable;
    uint8_t pk[SW_DHT_PK_LEN];
    uint8_t salt[SW_DHT_SALT_MAX];
    size_t salt_len;
    bool found; /* best item so far */
    uint8_t *v;
    size_t v_len;
    uint8_t sig[SW_DHT_SIG_LEN];
    int64_t seq;
    bool put, put_mutable;
    uint8_t seed[32];
    int64_t put_seq;
    uint8_t *put_v;
    size_t put_v_len;
    uint8_t put_sig[SW_DHT_SIG_LEN];
};

sw_dht_traversal *sw__dht_trav_new(sw_dht *dht, const sw_dht_trav_ops *ops, const sw_sha1 *target,
                                   void *user);
/* Seeds the lookup from the routing table (and routers) and sends the
 * first queries. With nobody to ask it finishes with SW_ERR_DHT_NO_NODES
 * (delivered later, like every result). Always takes ownership of t. */
void sw__dht_trav_start(sw_dht_traversal *t);
/* Adds a candidate. */
void sw__dht_trav_add(sw_dht_traversal *t, const sw_sha1 *id, const sw_endpoint *ep, bool id_known);
/* Store phase: sends the query that fill() builds to each of the k closest
 * nodes that answered with a token (and pass BEP 42 when enforced);
 * finishes at once if there is none. */
void sw__dht_trav_store(sw_dht_traversal *t,
                        void (*fill)(sw_dht_traversal *t, sw_dht_trav_node *n, sw_krpc_msg *q));
/* Ends the lookup: pending queries are detached and the final callback is
 * queued for the next loop turn. */
void sw__dht_trav_finish(sw_dht_traversal *t, int status);
/* Runs queued final callbacks and frees those lookups. */
void sw__dht_trav_deliver_finished(sw_dht *dht);
void sw__dht_trav_free(sw_dht_traversal *t);

/* ---- the node ---- */

/* BEP 42 "ip" votes: distinct recent voters, candidate addresses. */
#define SW_DHT_IP_VOTERS 64
#define SW_DHT_IP_CANDIDATES 8
#define SW_DHT_IP_MIN_VOTES 3

typedef struct sw_dht_ip_vote {
    sw_endpoint ip; /* port 0 */
    uint32_t votes;
} sw_dht_ip_vote;

typedef struct sw_dht_blocker_entry {
    sw_endpoint ip; /* port 0 */
    uint64_t window_ms;
    uint32_t count;
    uint64_t blocked_until_ms;
} sw_dht_blocker_entry;

typedef struct sw_dht_verify_entry {
    sw_sha1 id;
    sw_endpoint ep;
    uint64_t due_ms;
} sw_dht_verify_entry;

/* Nodes to ping once due, oldest first (a ring). */
typedef struct sw_dht_verify_queue {
    sw_dht_verify_entry e[SW_DHT_VERIFY_QUEUE];
    size_t head, n;
} sw_dht_verify_queue;

/* ---- BEP 33 scrape bloom filters (scrape_bloom.c) ---- */
#define SW_DHT_BLOOM_LEN SW_KRPC_BLOOM_LEN
/* Adds ep's address (not its port) to the filter. */
void sw__dht_bloom_insert(uint8_t bloom[SW_DHT_BLOOM_LEN], const sw_endpoint *ep);
/* into |= other (SW_DHT_BLOOM_LEN bytes each). */
void sw__dht_bloom_union(uint8_t into[SW_DHT_BLOOM_LEN], const uint8_t *other);
/* The number of addresses the filter holds, estimated (BEP 33). */
double sw__dht_bloom_estimate(const uint8_t bloom[SW_DHT_BLOOM_LEN]);

/* (id, ep) just entered the table (live) from a query of its own: a
 * neighbour of ours is pinged now, any other node after
 * SW_DHT_VERIFY_DELAY_MS if it is still unconfirmed then. */
void sw__dht_verify_new(sw_dht *dht, const sw_sha1 *id, const sw_endpoint *ep, uint64_t now);
/* Pings the due entries (from the housekeeping tick). */
void sw__dht_verify_tick(sw_dht *dht, uint64_t now);
/* A ping with no callback: its answer enters the routing table. */
void sw__dht_send_ping(sw_dht *dht, const sw_endpoint *ep, const sw_sha1 *id);

struct sw_dht {
    uv_loop_t *loop;
    uv_timer_t tick;
    uv_timer_t kick; /* runs queued final callbacks on the next loop turn */
    int handles_open;
    bool closing;
    void (*close_cb)(void *user);
    void *close_user;

    sw_dht_verify_queue verify;
    int family;
    sw_dht_send_fn send;
    void *send_user;
    sw_dht_incoming_fn on_incoming; /* may be NULL */
    void *incoming_user;
    sw_dht_settings set;
    sw_sha1 self;

    sw_dht_routing rt;
    sw_dht_tokens tokens;
    sw_dht_peer_store peers;
    sw_dht_item_store items;

    sw_dht_txn *txns[SW_DHT_TXN_BUCKETS];
    size_t n_txns;
    uint16_t next_tid;

    sw_dht_traversal *running;  /* doubly linked */
    sw_dht_traversal *finished; /* singly linked queue (next), oldest first */
    sw_dht_traversal *finished_tail;
    size_t n_running;

    sw_endpoint routers[SW_DHT_MAX_ROUTERS];
    size_t n_routers;

    sw_dht_blocker_entry blocker[SW_DHT_BLOCKER_SIZE];
    int64_t upload_budget;
    uint64_t budget_ms;

    /* BEP 51: the sample we hand out, recomputed every sample_interval_s */
    sw_sha1 *sample;
    size_t n_sample;
    uint64_t sample_ms;
    bool sample_valid;

    /* when each region (ids sharing d leading bits with ours) was last
     * looked into on purpose; 0 = never */
    uint64_t region_refreshed_ms[SW_DHT_ID_BITS];
    uint64_t last_tick_ms;
    uint64_t last_maint_ms;
    uint64_t last_bootstrap_ms;
    uint64_t last_expire_ms;
    bool refresh_running;

    sw_endpoint voters[SW_DHT_IP_VOTERS]; /* ring of addresses that voted */
    size_t n_voters, voter_pos;
    sw_dht_ip_vote ip_votes[SW_DHT_IP_CANDIDATES];

    sw_dht_stats st;
    sw_buf out; /* encoding scratch */
};

static inline uint64_t sw__dht_now(const sw_dht *dht)
{
    return uv_now(dht->loop);
}

/* Answers a query (dht_incoming.c). */
void sw__dht_handle_query(sw_dht *dht, const sw_krpc_msg *q, const sw_endpoint *from);
/* Sends a KRPC error reply. */
void sw__dht_send_error(sw_dht *dht, sw_krpc_bytes tid, int code, const char *text,
                        const sw_endpoint *to);
/* The compact "nodes"/"nodes6" string of our k closest good nodes to
 * target, appended to out. */
int sw__dht_closest_compact(sw_dht *dht, const sw_sha1 *target, sw_buf *out);
/* Starts a lookup into the first region of the id space where we know
 * fewer than k nodes (and have not looked for 15 minutes), unless a
 * maintenance lookup is running. Returns whether one started. */
bool sw__dht_refresh_regions(sw_dht *dht);
/* A responder told us how it sees our address (BEP 42 "ip"). */
void sw__dht_vote_ip(sw_dht *dht, const sw_endpoint *voter, const sw_endpoint *ip);
/* Starts the kick timer so queued results are delivered. */
void sw__dht_kick(sw_dht *dht);
/* Whether (id, ep) passes BEP 42 for storing (always true when not
 * enforced or for local addresses). */
bool sw__dht_node_id_ok(const sw_dht *dht, const sw_sha1 *id, const sw_endpoint *ep);

#endif
