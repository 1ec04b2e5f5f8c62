/* The data plane of a torrent: its peer connections, its list of known
 * peers, piece picking, block transfer and the choker.
 *
 * Objects
 *   sw_peer_env    one per session: the loop, settings, disk pool, our peer
 *                  id, session-wide counters and the list of swarms. The
 *                  session fills it and keeps it alive longer than any swarm.
 *   sw_swarm       one per torrent that has metadata: the picker, the set of
 *                  verified pieces, known peers (sw_peer_list) and connected
 *                  peers. The torrent (core/session) owns it, drives its state
 *                  (active or not, checking) and hears about pieces and
 *                  errors through sw_swarm_ops.
 *   sw_peer_conn   one BitTorrent connection. Incoming ones belong to the env
 *                  until their handshake names a torrent.
 *   sw_peer_entry  one known peer address (source, failures, ban). It is the
 *                  identity the picker remembers for requests and senders, so
 *                  it outlives the connection.
 *
 * Lifetime. Closing a connection is asynchronous: its stream closes and its
 * disk jobs (reads it asked for, writes of blocks it sent) complete first.
 * A swarm being torn down (sw__swarm_close) closes every connection and
 * calls ops->released once no connection or job refers to it any more; only
 * then may the owner free it (sw__swarm_free).
 *
 * Threading: everything here runs on the network thread. */
#ifndef SW_CORE_PEER_SWARM_H
#define SW_CORE_PEER_SWARM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <uv.h>

#include <cswarm/alert.h>
#include <cswarm/settings.h>
#include <cswarm/torrent_info.h>

#include "base/base.h"
#include "disk/disk.h"
#include "net/net.h"
#include "picker.h"
#include "wire.h"

typedef struct sw_peer_env sw_peer_env;
typedef struct sw_swarm sw_swarm;
typedef struct sw_peer_conn sw_peer_conn;

/* ---- transfer counters and rates ---- */

typedef struct sw_xfer_stats {
    int64_t payload_down, payload_up;   /* block bytes */
    int64_t protocol_down, protocol_up; /* every other byte on the wire */
    int64_t redundant;                  /* blocks received twice */
    int64_t failed;                     /* bytes of pieces that failed their hash */
} sw_xfer_stats;

/* A rate in bytes per second, averaged over a few seconds. */
typedef struct sw_rate {
    int64_t last_total;
    int64_t rate;
} sw_rate;

/* Folds the growth of total since the last call (dt_ms ago) into r. */
void sw__rate_update(sw_rate *r, int64_t total, uint64_t dt_ms);

/* A token bucket for a rate limit (bandwidth.c): refilled from the time
 * elapsed since last_ns whenever quota is asked for, holding at most a
 * short burst. Taking is allowed while tokens are positive and may run
 * into debt, which later refills repay. */
typedef struct sw_bw_bucket {
    int64_t tokens;
    uint64_t last_ns; /* uv_hrtime of the last refill; 0 before the first */
} sw_bw_bucket;

/* Adds the quota earned since the last refill at limit bytes/s (limit <= 0:
 * no limit, the bucket stays empty). now_ns is uv_hrtime(). */
void sw__bw_refill(sw_bw_bucket *b, int limit, uint64_t now_ns);

typedef struct sw_xfer_rates {
    sw_rate payload_down, payload_up, down, up;
} sw_xfer_rates;

void sw__xfer_rates_update(sw_xfer_rates *r, const sw_xfer_stats *s, uint64_t dt_ms);

/* ---- known peers (peer_list.c) ---- */

/* Where a peer address came from; bit values as libtorrent's peer_info. */
enum sw_peer_source {
    SW_PEER_SRC_TRACKER = 1u << 0,
    SW_PEER_SRC_DHT = 1u << 1,
    SW_PEER_SRC_PEX = 1u << 2,
    SW_PEER_SRC_LSD = 1u << 3,
    SW_PEER_SRC_RESUME = 1u << 4,
    SW_PEER_SRC_INCOMING = 1u << 5,
    SW_PEER_SRC_MANUAL = 1u << 6, /* connect_peer */
};

typedef struct sw_peer_entry {
    sw_endpoint ep;
    uint8_t source;    /* SW_PEER_SRC_* bits */
    uint8_t failcount; /* failed connection attempts in a row */
    uint8_t hashfails; /* pieces it sent that failed their hash check */
    bool banned;
    bool seed;        /* last seen as a seed */
    bool connectable; /* ep is a listen port we may dial */
    bool no_utp;      /* a uTP connect to it failed: dial it over TCP */
    bool no_mse;      /* an encrypted handshake to it failed: dial it in plaintext */
    uint64_t next_try_ms;
    sw_peer_conn *conn; /* the live connection, if any */
    size_t index_;      /* internal: position in the list's vector */
    struct sw_peer_entry *hnext_;
} sw_peer_entry;

typedef struct sw_peer_list {
    sw_peer_entry **v;
    size_t count, cap;
    sw_peer_entry **buckets;
    size_t nbuckets;
    size_t cursor; /* where the next candidate search starts */
} sw_peer_list;

void sw__peer_list_init(sw_peer_list *pl);
/* Frees every entry; call sw__picker_forget_peer for them first if needed. */
void sw__peer_list_free(sw_peer_list *pl);
sw_peer_entry *sw__peer_list_find(const sw_peer_list *pl, const sw_endpoint *ep);
/* Finds or adds ep; *added_out (may be NULL) says which. SW_ERR_LIMIT when
 * the list holds max entries and none can be evicted (evict_cb, if given,
 * is told about an entry before it is freed to make room). */
int sw__peer_list_add(sw_peer_list *pl, const sw_endpoint *ep, uint8_t source, size_t max,
                      void (*evict_cb)(void *ctx, sw_peer_entry *e), void *ctx,
                      sw_peer_entry **e_out, bool *added_out);
/* Removes and frees e (it must not have a connection). */
void sw__peer_list_remove(sw_peer_list *pl, sw_peer_entry *e);
/* Changes e's endpoint (an incoming peer told us its listen port).
 * SW_ERR_EXISTS if another entry has that endpoint. */
int sw__peer_list_rekey(sw_peer_list *pl, sw_peer_entry *e, const sw_endpoint *ep);
/* The next entry worth dialling at now_ms (not connected, connectable, not
 * banned, fewer than max_failcount failures, back-off over), or NULL. */
sw_peer_entry *sw__peer_list_candidate(sw_peer_list *pl, uint64_t now_ms, int max_failcount);
/* Counts entries that are candidates ignoring back-off (for status). */
size_t sw__peer_list_connect_candidates(const sw_peer_list *pl, int max_failcount);

/* ---- the session-wide environment ---- */

/* Hooks the extension protocol dispatches to (plugins, later). All may be
 * NULL. */
typedef struct sw_peer_ext_hooks {
    /* Adds keys to the BEP 10 handshake dictionary that enc has open. */
    void (*add_handshake)(void *ctx, sw_peer_conn *pc, sw_bencoder *enc);
    /* The peer's handshake dictionary was received. Return < 0 to disconnect. */
    int (*on_handshake)(void *ctx, sw_peer_conn *pc, sw_bnode dict);
    /* An extended message other than the handshake; return > 0 if handled,
     * 0 to ignore it, < 0 to disconnect. */
    int (*on_extended)(void *ctx, sw_peer_conn *pc, uint8_t id, const uint8_t *data, size_t len);
    /* The BitTorrent handshake completed, before our greeting is sent.
     * Return < 0 to refuse the peer. */
    int (*on_connect)(void *ctx, sw_peer_conn *pc);
    /* A checked message of a connection that has plugin state
     * (sw__peer_conn_plugins), before the engine handles it: > 0 claims it
     * (the engine skips it), < 0 disconnects. */
    int (*on_message)(void *ctx, sw_peer_conn *pc, const sw_wire_msg *m);
    /* The connection is closing (once; only for connections with plugin
     * state). */
    void (*on_disconnect)(void *ctx, sw_peer_conn *pc, int error);
    /* The connection is about to be freed: release its plugin state. */
    void (*on_free)(void *ctx, sw_peer_conn *pc);
    /* Fills the "m" entries of our extension handshake to pc (names stay
     * valid until the handshake is encoded); returns how many. */
    size_t (*ext_names)(void *ctx, sw_peer_conn *pc, sw_wire_ext_entry *out, size_t max);
} sw_peer_ext_hooks;

/* Peer events the session turns into alerts. */
typedef struct sw_peer_event {
    sw_alert_type type; /* PEER_CONNECT, PEER_DISCONNECTED, PEER_ERROR, PEER_BAN,
                           PEER_SNUBBED, PEER_UNSNUBBED, INCOMING_CONNECTION,
                           BLOCK_FINISHED */
    sw_swarm *swarm;    /* NULL before the handshake named a torrent */
    const sw_endpoint *ep;
    const sw_peer_id *peer_id; /* NULL if not known */
    sw_socket_type socket_type;
    int error;
    const char *operation;
    int piece, block; /* BLOCK_FINISHED */
    int reason;       /* PEER_BLOCKED: SW_BLOCKED_* */
} sw_peer_event;

struct sw_peer_env {
    uv_loop_t *loop;
    const sw_settings *settings; /* the session's copy; may change between calls */
    sw_disk_pool *disk;
    sw_peer_id peer_id;
    uint16_t listen_port; /* advertised in the extension handshake; 0 if none */
    uint64_t now_ms;      /* uv_now of the current tick */

    /* Finds the swarm for an incoming handshake's info-hash; NULL refuses
     * the peer. */
    sw_swarm *(*find_swarm)(void *ctx, const sw_sha1 *info_hash);
    /* An event worth an alert; cheap to ignore. */
    void (*on_event)(void *ctx, const sw_peer_event *ev);
    /* Whether on_event wants events of this alert type at all (so costly
     * details are built only when needed). */
    bool (*wants_event)(void *ctx, sw_alert_type type);
    void *ctx;
    const sw_peer_ext_hooks *ext;
    void *ext_ctx;

    sw_swarm *swarms;         /* every swarm, linked through next/prev */
    sw_peer_conn *unattached; /* incoming connections before their handshake */
    int num_conns;            /* every open connection, connecting ones too */
    int num_half_open;        /* outgoing connections still connecting */
    int num_unchoked;
    sw_xfer_stats stats; /* session totals */
    sw_xfer_rates rates;
    bool has_incoming;           /* an incoming connection completed a handshake */
    uint64_t last_optimistic_ms; /* when optimistic unchokes were last rotated */
    uint64_t last_unchoke_ms;    /* when the choker last ran */
    uint32_t next_conn_id;
    int live_conns; /* allocated and not yet freed */
    uint64_t last_tick_ms;
    uint64_t tick_dt_ms;         /* time since the previous tick */
    sw_bw_bucket up_bw, down_bw; /* upload_rate_limit / download_rate_limit */
    struct sw_bw_timer *bw_timer;       /* wakes the bandwidth queue (bandwidth.c) */
    struct sw_ip_filter *ip_filter;     /* NULL: none (peer_filter.c) */
    struct sw_port_filter *port_filter; /* NULL: none */
    struct sw_utp_ctx *utp;      /* the session's uTP context; NULL: TCP only */
    sw_endpoint utp_local;       /* the UDP socket's address (uTP streams' local end) */
    /* mixed_mode_algorithm (mixed_mode.c): the TCP peers' limits, 0 = none */
    int mixed_tcp_limit_up, mixed_tcp_limit_down;
    sw_bw_bucket mixed_tcp_up_bw, mixed_tcp_down_bw;
};

/* Initialises what the session does not fill. */
void sw__peer_env_init(sw_peer_env *env);
/* Once a tick (about every second): timeouts, rates, keep-alives, the
 * choker, new outgoing connections. */
void sw__peer_env_tick(sw_peer_env *env);
/* Whether outgoing connections are possible at all (TCP, or uTP with a
 * context). */
bool sw__peer_env_can_connect(const sw_peer_env *env);
/* A new incoming stream (from a listener): the env owns it now. */
void sw__peer_env_accept(sw_peer_env *env, sw_stream *s);
/* Closes every connection (shutdown). */
void sw__peer_env_close_all(sw_peer_env *env);
/* Connections not yet freed (shutdown waits for 0). */
int sw__peer_env_live_conns(const sw_peer_env *env);
/* Runs the choker now (also run from the tick every unchoke_interval). */
void sw__choker_run(sw_peer_env *env, bool rotate_optimistic);
/* A peer became interested or a slot opened: unchoke at once if there is a
 * free slot. */
void sw__choker_trigger(sw_peer_env *env);

/* ---- a torrent's swarm ---- */

typedef struct sw_swarm_ops {
    /* A piece passed its hash check: it is had now and announced. */
    void (*piece_passed)(void *owner, int piece);
    /* A piece failed its hash check (it will be downloaded again). */
    void (*piece_failed)(void *owner, int piece);
    /* Every wanted piece is had (called once per transition). */
    void (*finished)(void *owner);
    /* A disk job failed: the torrent should stop with an error. */
    void (*disk_error)(void *owner, int error, sw_disk_op op, int file);
    /* After sw__swarm_close: nothing refers to the swarm any more. */
    void (*released)(void *owner);
    /* Seed mode: a piece failed its check before upload, so the files are
     * not what seed mode assumed; the swarm has left seed mode. */
    void (*seed_mode_failed)(void *owner, int piece);
    /* A new address joined the peer list through sw__swarm_add_peer. */
    void (*peer_added)(void *owner, const sw_endpoint *ep, uint8_t source);
} sw_swarm_ops;

/* Per-torrent limits and switches the torrent sets. */
typedef struct sw_swarm_config {
    int max_connections; /* -1 = no limit */
    int max_uploads;     /* unchoked peers; -1 = no limit */
    int upload_limit;    /* bytes/s of payload, 0 or -1 = none */
    int download_limit;
    bool sequential;
    bool upload_mode; /* request nothing */
    /* Share mode: finished most of the time by design, yet it keeps trading
     * with seeds and never says upload_only. */
    bool share_mode;
    /* Not subject to the IP and port filters (added without
     * SW_ADD_APPLY_IP_FILTER). */
    bool ip_filter_exempt;
} sw_swarm_config;

struct sw_swarm {
    sw_peer_env *env;
    sw_swarm *prev, *next;
    const sw_swarm_ops *ops;
    void *owner;

    sw_torrent_info *ti; /* holds a reference */
    sw_sha1 info_hash;
    sw_storage *storage; /* holds a reference */
    sw_picker *picker;
    sw_bitfield have; /* verified pieces */
    sw_wire_torrent_facts facts;
    int num_pieces;
    sw_swarm_config cfg;

    sw_peer_list peers;
    sw_peer_conn *conns; /* attached connections, linked through next/prev */
    int num_conns;       /* attached and not yet closing */
    int num_unchoked;

    bool active;   /* may connect to peers and transfer */
    bool checking; /* files being (re)checked: disk completions are ignored */
    bool closing;  /* sw__swarm_close was called */
    bool finished; /* every wanted piece had */
    int refs;      /* connections not yet freed + pending hash jobs */
    /* Seed mode: every piece is assumed had, and each is hashed from disk
     * before its first block is uploaded. */
    bool seed_mode;
    sw_bitfield verified, verifying;
    int num_verified;

    sw_xfer_stats stats;
    sw_xfer_rates rates;
    uint64_t next_connect_ms;
    sw_bw_bucket up_bw, down_bw;

    /* Failed pieces kept from being downloaded again while their data is
     * read (swarm_metadata.c). */
    struct sw_piece_hold *holds;
    int num_holds, cap_holds;

    /* Super seeding (super_seed.c): per piece, the peers it is shown to
     * that do not have it yet. */
    bool super_seeding;
    uint16_t *ss_shown;
    uint32_t ss_rand;
};

/* ---- filters and the bandwidth queue (peer_filter.c, bandwidth.c) ---- */

struct sw_ip_filter;
struct sw_port_filter;
/* Installs a filter (taking it; NULL for none): connections and known
 * peers it refuses are dropped at once, with peer_blocked events. */
void sw__peer_env_set_ip_filter(sw_peer_env *env, struct sw_ip_filter *f);
void sw__peer_env_set_port_filter(sw_peer_env *env, struct sw_port_filter *f);
void sw__peer_env_free_filters(sw_peer_env *env);

/* Connections waiting for rate-limit quota, and the bytes they wait for. */
typedef struct sw_bw_queue_stats {
    int up_peers, down_peers;
    int64_t up_bytes, down_bytes;
} sw_bw_queue_stats;
void sw__peer_env_bw_queue(const sw_peer_env *env, sw_bw_queue_stats *out);

/* Connections waiting on the disk (peer_disk_state.c): write_waiters stopped
 * reading until their received blocks are written, read_waiters wait for
 * blocks to be read with nothing else to send; queued_bytes were received
 * and not yet written. */
typedef struct sw_disk_wait_stats {
    int write_waiters, read_waiters;
    int64_t queued_bytes;
} sw_disk_wait_stats;
void sw__peer_env_disk_waits(const sw_peer_env *env, sw_disk_wait_stats *out);

/* Sets the swarm up for a torrent (taking references to ti and storage) with
 * an empty picker. Call sw__swarm_set_have for pieces found on disk. */
int sw__swarm_init(sw_swarm *sw, sw_peer_env *env, sw_torrent_info *ti, sw_storage *st,
                   const sw_swarm_ops *ops, void *owner);
/* Frees the picker, peer list and references. Only after ops->released (or
 * when it was never activated and has no connections). */
void sw__swarm_free(sw_swarm *sw);
/* Closes every connection; ops->released follows once refs reach 0 (maybe
 * at once, from inside this call). */
void sw__swarm_close(sw_swarm *sw);

/* Starts or stops transferring. Stopping closes every connection. */
void sw__swarm_set_active(sw_swarm *sw, bool active);
/* Forgets every piece (a recheck is starting): closes connections, makes a
 * fresh picker and sets checking, so completions of older disk jobs are
 * ignored until sw__swarm_checked. */
int sw__swarm_reset(sw_swarm *sw);
/* The check found these pieces (bitfield in wire order, may be NULL). */
void sw__swarm_checked(sw_swarm *sw, const uint8_t *have, size_t have_len);
/* Marks one piece had without hashing (seed mode, resume). */
void sw__swarm_set_have(sw_swarm *sw, int piece);
/* Seed mode on: every piece had, none verified yet. Off: pieces are
 * uploaded without a check first. */
int sw__swarm_set_seed_mode(sw_swarm *sw, bool on);
/* Seed mode: true if piece may be uploaded now; otherwise its check has
 * been started and connections are asked to serve again once it passes. */
bool sw__swarm_piece_verified(sw_swarm *sw, int piece);

void sw__swarm_set_config(sw_swarm *sw, const sw_swarm_config *cfg);
/* Applies piece priorities (num_pieces bytes, 0..7); interest is updated. */
int sw__swarm_set_priorities(sw_swarm *sw, const uint8_t *prio);
/* Re-evaluates finished/seed after a priority change. */
void sw__swarm_update_finished(sw_swarm *sw);

/* Adds a peer address; with connect_now an attempt starts at once (its
 * back-off is cleared). */
int sw__swarm_add_peer(sw_swarm *sw, const sw_endpoint *ep, uint8_t source, bool connect_now);
/* Drops connections to peers that ask nothing of each other (both seeds). */
void sw__swarm_disconnect_seeds(sw_swarm *sw);
/* We want nothing from peers (finished, and not in share mode): seeds and
 * upload-only peers are of no use, and we say upload_only. */
bool sw__swarm_upload_only(const sw_swarm *sw);

/* Super seeding (BEP 16, super_seed.c). On: only for a seed
 * (SW_ERR_NOT_READY otherwise); peers greeted from now on see one piece at a
 * time. Off: every peer is shown the rest. */
int sw__swarm_set_super_seeding(sw_swarm *sw, bool on);

/* Counts for status. */
typedef struct sw_swarm_counts {
    int connections, seeds, peers_interested, unchoked, connect_candidates, list_peers;
    int peers_with_pieces; /* "num_complete"-like: connected seeds */
    int uploads;           /* unchoked by us */
    bool has_incoming;     /* an active connection was opened by the peer */
} sw_swarm_counts;
void sw__swarm_counts(const sw_swarm *sw, sw_swarm_counts *out);

/* ---- connections ---- */

/* Facts about one connection for the peer list API. */
typedef struct sw_peer_conn_info {
    sw_endpoint ep;
    sw_peer_id peer_id;
    char client[64];
    bool outgoing, seed, snubbed;
    bool am_choking, am_interested, peer_choking, peer_interested;
    bool fast, extension;
    uint8_t source;
    int num_pieces;
    int requests_out, requests_in, desired_queue;
    int64_t rate_down, rate_up, payload_down, payload_up;
    int64_t connected_ms;
    bool utp; /* the connection runs over uTP */
    bool mse, mse_rc4; /* an MSE handshake obfuscated it; RC4 encrypts its payload */
    uint8_t read_state, write_state; /* SW_BW_* */
} sw_peer_conn_info;

void sw__peer_conn_info(const sw_peer_conn *pc, sw_peer_conn_info *out);
/* The connection's receive and send waits as SW_BW_* bits (peer_disk_state.c). */
void sw__peer_conn_bw_states(const sw_peer_conn *pc, uint8_t *read_out, uint8_t *write_out);

/* ---- torrents without metadata, piece holds (swarm_metadata.c) ---- */

/* Sets a swarm up for a torrent known only by its info-hash (a magnet):
 * no pieces, no picker, no storage. Its connections exchange handshakes and
 * extension messages only (piece messages are ignored) until
 * sw__swarm_set_metadata. */
int sw__swarm_init_no_metadata(sw_swarm *sw, sw_peer_env *env, const sw_sha1 *info_hash,
                               const sw_swarm_ops *ops, void *owner);
bool sw__swarm_has_metadata(const sw_swarm *sw);
/* Gives a swarm from sw__swarm_init_no_metadata its torrent (taking
 * references to ti and st) with an empty picker: every connection is closed
 * (they spoke without a piece count) and the known peers may be dialled
 * again at once. The caller starts the file check next. */
int sw__swarm_set_metadata(sw_swarm *sw, sw_torrent_info *ti, sw_storage *st);
/* While a failed piece is held it is not made pickable again; the last
 * release restores it (if it is still failed). */
void sw__swarm_hold_piece(sw_swarm *sw, int piece);
void sw__swarm_release_piece(sw_swarm *sw, int piece);
bool sw__swarm_piece_held(const sw_swarm *sw, int piece);

/* ---- what plugins see of connections (peer_conn_plugin.c) ---- */

/* The plugin state of a connection (owned by the session's plugin code;
 * NULL if none). */
void *sw__peer_conn_plugins(const sw_peer_conn *pc);
void sw__peer_conn_set_plugins(sw_peer_conn *pc, void *state);
sw_swarm *sw__peer_conn_swarm(const sw_peer_conn *pc);
const sw_endpoint *sw__peer_conn_remote(const sw_peer_conn *pc);
/* Where the peer listens, if known (the connection's address for outgoing
 * connections, the extension handshake's port for incoming ones). */
bool sw__peer_conn_listen_endpoint(const sw_peer_conn *pc, sw_endpoint *out);
const sw_peer_id *sw__peer_conn_peer_id(const sw_peer_conn *pc);
const char *sw__peer_conn_client(const sw_peer_conn *pc);
bool sw__peer_conn_outgoing(const sw_peer_conn *pc);
bool sw__peer_conn_upload_only(const sw_peer_conn *pc);
unsigned sw__peer_conn_features(const sw_peer_conn *pc);
bool sw__peer_conn_is_active(const sw_peer_conn *pc);
/* It has every piece (or said have_all). */
bool sw__peer_conn_is_seed(const sw_peer_conn *pc);
sw_socket_type sw__peer_conn_socket_type(const sw_peer_conn *pc);
/* Queues an extended message (ext_id as the peer gave it) and sends it. */
int sw__peer_conn_send_extended(sw_peer_conn *pc, uint8_t ext_id, const uint8_t *payload,
                                size_t len);
/* The active connections of a swarm: up to max into out; returns how many
 * there are. */
size_t sw__swarm_active_conns(const sw_swarm *sw, sw_peer_conn **out, size_t max);
/* Bans an address: its entry (added if needed) is never dialled again and a
 * live connection is closed with SW_ERR_BANNED after a peer_ban event. */
int sw__swarm_ban(sw_swarm *sw, const sw_endpoint *ep, const char *op);
/* The senders of each block of a piece being downloaded or just failed
 * (family 0 where unknown); returns the block count or a negative code. */
int sw__swarm_block_senders(const sw_swarm *sw, int piece, sw_endpoint *out, int max);
/* Messages about pieces, which a swarm without metadata ignores. */
bool sw__wire_msg_needs_metadata(sw_wire_msg_kind kind);
/* Facts about every active connection of a swarm; *out is malloc'd (NULL
 * when there are none). */
int sw__swarm_conn_infos(const sw_swarm *sw, sw_peer_conn_info **out, size_t *count_out);
/* Closes a connection with a reason (error code and the failing operation). */
void sw__peer_conn_close(sw_peer_conn *pc, int error, const char *op);

#endif
