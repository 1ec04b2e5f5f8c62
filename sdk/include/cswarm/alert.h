/* Alerts: how a session reports events and errors (libtorrent's alerts).
 *
 * Production. The session posts alerts on its network thread. An alert is
 * posted only if its category shares a bit with the session's alert mask
 * (setting alert_mask); save_resume_data and save_resume_data_failed are
 * always posted whatever the mask, since every save_resume_data request must
 * be answered. At most alert_queue_size alerts wait to be popped; further
 * ones are dropped and counted (resume-data alerts are never dropped).
 *
 * Consumption. Any thread may pop alerts (one at a time, or all pending in a
 * batch) or wait for one with a timeout. Alternatively a dispatch callback
 * (sw_alert_dispatch_fn) receives each alert on the network thread as it is
 * posted, instead of it being queued.
 *
 * Ownership. Every sw_alert is allocated by cswarm and handed out by pointer.
 * A popped batch (sw_alert_batch) owns its alerts until the caller frees it
 * with sw_alert_batch_free(); an alert popped alone or passed to a dispatch
 * callback belongs to the receiver, who frees it with sw_alert_free(). So a
 * batch stays valid however many other threads pop meanwhile. Every string
 * and array an alert points to is owned by the alert and lives exactly as
 * long as it does.
 *
 * Growth. Alert types and categories are appended only. sw_alert's fixed
 * fields never move; new generic facts go into the reserved slots, new
 * per-type facts are appended to that type's payload struct. Since callers
 * never allocate an sw_alert, a program built against an older header keeps
 * working; a program built against a newer header than the library it runs
 * with can check struct_size before reading newer payload members. */
#ifndef CSWARM_ALERT_H
#define CSWARM_ALERT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "torrent_info.h"
#include "version.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Categories: XX(NAME, name, bit). Bits as in libtorrent 2.0's alert_category
 * (bit 12 was libtorrent 1.0's rss_notification and stays unused). */
#define SW_ALERT_CATEGORY_MAP(XX)                                                                  \
    XX(ERROR, error, 1u << 0)                        /* failures of any kind */                    \
    XX(PEER, peer, 1u << 1)                          /* peers banned, snubbed, misbehaving */      \
    XX(PORT_MAPPING, port_mapping, 1u << 2)          /* UPnP and NAT-PMP results */                \
    XX(STORAGE, storage, 1u << 3)                    /* files moved, renamed, deleted */           \
    XX(TRACKER, tracker, 1u << 4)                    /* announces, replies, errors */              \
    XX(DEBUG, debug, 1u << 5)                        /* peers connecting and disconnecting */      \
    XX(STATUS, status, 1u << 6)                      /* torrent and session state changes */       \
    XX(PROGRESS, progress, 1u << 7)                  /* pieces and blocks completed */             \
    XX(IP_BLOCK, ip_block, 1u << 8)                  /* peers refused by a filter */               \
    XX(PERFORMANCE, performance, 1u << 9)            /* a limit is holding transfers back */       \
    XX(DHT, dht, 1u << 10)                           /* DHT events */                              \
    XX(STATS, stats, 1u << 11)                       /* per-second transfer counters */            \
    XX(SESSION_LOG, session_log, 1u << 13)           /* session debug log lines */                 \
    XX(TORRENT_LOG, torrent_log, 1u << 14)           /* torrent debug log lines */                 \
    XX(PEER_LOG, peer_log, 1u << 15)                 /* peer debug log lines */                    \
    XX(INCOMING_REQUEST, incoming_request, 1u << 16) /* every block request received */            \
    XX(DHT_LOG, dht_log, 1u << 17)                   /* DHT debug log lines */                     \
    XX(DHT_OPERATION, dht_operation, 1u << 18)       /* DHT lookups and their results */           \
    XX(PORT_MAPPING_LOG, port_mapping_log, 1u << 19) /* UPnP/NAT-PMP debug log lines */            \
    XX(PICKER_LOG, picker_log, 1u << 20)             /* why pieces were picked */

enum sw_alert_category {
#define SW_ALERT_CAT_DEFINE_(NAME, name, bit) SW_ALERT_CAT_##NAME = (bit),
    SW_ALERT_CATEGORY_MAP(SW_ALERT_CAT_DEFINE_)
#undef SW_ALERT_CAT_DEFINE_
        SW_ALERT_CAT_ALL = 0x7fffffff
};

/* Alert types: XX(NAME, name, categories). The numbering is the order of
 * this list, which is appended only. The comment says which payload member
 * (sw_alert.payload.*) the type fills. */
#define SW_ALERT_TYPE_MAP(XX)                                                                      \
    XX(ADD_TORRENT, add_torrent, SW_ALERT_CAT_STATUS)          /* add_torrent; error if failed */  \
    XX(TORRENT_REMOVED, torrent_removed, SW_ALERT_CAT_STATUS)  /* - */                             \
    XX(TORRENT_DELETED, torrent_deleted, SW_ALERT_CAT_STORAGE) /* - */                             \
    XX(TORRENT_DELETE_FAILED, torrent_delete_failed,                                               \
       SW_ALERT_CAT_STORAGE | SW_ALERT_CAT_ERROR)                              /* error */         \
    XX(STATE_CHANGED, state_changed, SW_ALERT_CAT_STATUS)                      /* state_changed */ \
    XX(STATE_UPDATE, state_update, SW_ALERT_CAT_STATUS)                        /* state_update */  \
    XX(TORRENT_FINISHED, torrent_finished, SW_ALERT_CAT_STATUS)                /* - */             \
    XX(TORRENT_PAUSED, torrent_paused, SW_ALERT_CAT_STATUS)                    /* - */             \
    XX(TORRENT_RESUMED, torrent_resumed, SW_ALERT_CAT_STATUS)                  /* - */             \
    XX(TORRENT_CHECKED, torrent_checked, SW_ALERT_CAT_STATUS)                  /* - */             \
    XX(TORRENT_ERROR, torrent_error, SW_ALERT_CAT_ERROR | SW_ALERT_CAT_STATUS) /* file */          \
    XX(FILE_ERROR, file_error,                                                                     \
       SW_ALERT_CAT_ERROR | SW_ALERT_CAT_STATUS | SW_ALERT_CAT_STORAGE) /* file */                 \
    XX(HASH_FAILED, hash_failed, SW_ALERT_CAT_STATUS)                   /* piece */                \
    XX(PIECE_FINISHED, piece_finished, SW_ALERT_CAT_PROGRESS)           /* piece */                \
    XX(BLOCK_FINISHED, block_finished, SW_ALERT_CAT_PROGRESS)           /* piece (with peer) */    \
    XX(SAVE_RESUME_DATA, save_resume_data, SW_ALERT_CAT_STORAGE)        /* resume */               \
    XX(SAVE_RESUME_DATA_FAILED, save_resume_data_failed,                                           \
       SW_ALERT_CAT_STORAGE | SW_ALERT_CAT_ERROR)                                   /* error */    \
    XX(METADATA_RECEIVED, metadata_received, SW_ALERT_CAT_STATUS)                   /* - */        \
    XX(METADATA_FAILED, metadata_failed, SW_ALERT_CAT_ERROR)                        /* error */    \
    XX(PEER_CONNECT, peer_connect, SW_ALERT_CAT_DEBUG)                              /* peer */     \
    XX(PEER_DISCONNECTED, peer_disconnected, SW_ALERT_CAT_DEBUG)                    /* peer */     \
    XX(PEER_ERROR, peer_error, SW_ALERT_CAT_PEER)                                   /* peer */     \
    XX(PEER_BAN, peer_ban, SW_ALERT_CAT_PEER)                                       /* peer */     \
    XX(PEER_BLOCKED, peer_blocked, SW_ALERT_CAT_IP_BLOCK)                           /* peer */     \
    XX(PEER_SNUBBED, peer_snubbed, SW_ALERT_CAT_PEER)                               /* peer */     \
    XX(PEER_UNSNUBBED, peer_unsnubbed, SW_ALERT_CAT_PEER)                           /* peer */     \
    XX(INCOMING_CONNECTION, incoming_connection, SW_ALERT_CAT_PEER)                 /* peer */     \
    XX(LISTEN_SUCCEEDED, listen_succeeded, SW_ALERT_CAT_STATUS)                     /* listen */   \
    XX(LISTEN_FAILED, listen_failed, SW_ALERT_CAT_STATUS | SW_ALERT_CAT_ERROR)      /* listen */   \
    XX(TRACKER_ANNOUNCE, tracker_announce, SW_ALERT_CAT_TRACKER)                    /* tracker */  \
    XX(TRACKER_REPLY, tracker_reply, SW_ALERT_CAT_TRACKER)                          /* tracker */  \
    XX(TRACKER_ERROR, tracker_error, SW_ALERT_CAT_TRACKER | SW_ALERT_CAT_ERROR)     /* tracker */  \
    XX(TRACKER_WARNING, tracker_warning, SW_ALERT_CAT_TRACKER | SW_ALERT_CAT_ERROR) /* tracker */  \
    XX(SCRAPE_REPLY, scrape_reply, SW_ALERT_CAT_TRACKER)                            /* tracker */  \
    XX(SCRAPE_FAILED, scrape_failed, SW_ALERT_CAT_TRACKER | SW_ALERT_CAT_ERROR)     /* tracker */  \
    XX(DHT_BOOTSTRAP, dht_bootstrap, SW_ALERT_CAT_DHT)                              /* - */        \
    XX(DHT_REPLY, dht_reply, SW_ALERT_CAT_DHT | SW_ALERT_CAT_TRACKER)               /* dht */      \
    XX(STORAGE_MOVED, storage_moved, SW_ALERT_CAT_STORAGE)                          /* file */     \
    XX(STORAGE_MOVED_FAILED, storage_moved_failed, SW_ALERT_CAT_STORAGE)            /* file */     \
    XX(FILE_RENAMED, file_renamed, SW_ALERT_CAT_STORAGE)                            /* file */     \
    XX(FILE_RENAME_FAILED, file_rename_failed, SW_ALERT_CAT_STORAGE)                /* file */     \
    XX(PERFORMANCE, performance, SW_ALERT_CAT_PERFORMANCE) /* performance */                       \
    XX(STATS, stats, SW_ALERT_CAT_STATS)                   /* stats */                             \
    XX(SESSION_STATS, session_stats, SW_ALERT_CAT_STATS)   /* session_stats */                     \
    XX(PLUGIN_ERROR, plugin_error, SW_ALERT_CAT_ERROR)     /* plugin */                            \
    XX(PLUGIN_LOADED, plugin_loaded, SW_ALERT_CAT_STATUS)  /* plugin */                            \
    XX(LOG, log, SW_ALERT_CAT_SESSION_LOG) /* - ; category is one of the *_LOG bits */             \
    XX(PLUGIN_ALERT, plugin_alert, SW_ALERT_CAT_STATUS) /* plugin; a plugin's own message */       \
    XX(DHT_IMMUTABLE_ITEM, dht_immutable_item, SW_ALERT_CAT_DHT) /* dht (target, value) */         \
    XX(DHT_MUTABLE_ITEM, dht_mutable_item, SW_ALERT_CAT_DHT)     /* dht (key, salt, seq, value) */ \
    XX(DHT_PUT, dht_put, SW_ALERT_CAT_DHT)                       /* dht (target, num_success) */   \
    XX(DHT_ANNOUNCE, dht_announce, SW_ALERT_CAT_DHT)   /* dht (peer: who announced; info_hash) */  \
    XX(DHT_GET_PEERS, dht_get_peers, SW_ALERT_CAT_DHT) /* dht (peer: who asked; info_hash) */      \
    XX(URL_SEED, url_seed,                                                                         \
       SW_ALERT_CAT_PEER | SW_ALERT_CAT_ERROR)      /* tracker (url, text, status_code) */         \
    XX(LSD_PEER, lsd_peer, SW_ALERT_CAT_PEER)       /* peer (the address LSD announced) */         \
    XX(PORTMAP, portmap, SW_ALERT_CAT_PORT_MAPPING) /* portmap (a mapping made) */                 \
    XX(PORTMAP_ERROR, portmap_error,                                                               \
       SW_ALERT_CAT_PORT_MAPPING | SW_ALERT_CAT_ERROR) /* portmap; error says why */               \
    XX(EXTERNAL_IP, external_ip, SW_ALERT_CAT_STATUS)  /* portmap (external_ip) */                 \
    XX(DHT_SCRAPE, dht_scrape,                                                                     \
       SW_ALERT_CAT_DHT) /* dht (target, scrape_seeds, scrape_downloaders) */

typedef enum sw_alert_type {
    SW_ALERT_NONE = 0, /* never posted */
#define SW_ALERT_TYPE_DEFINE_(NAME, name, cat) SW_ALERT_##NAME,
    SW_ALERT_TYPE_MAP(SW_ALERT_TYPE_DEFINE_)
#undef SW_ALERT_TYPE_DEFINE_
        SW_ALERT_TYPE_COUNT /* not a type: one more than the last type of this build */
} sw_alert_type;

/* How a connection is carried (peer and listen payloads). */
typedef enum sw_socket_type {
    SW_SOCKET_TCP = 0,
    SW_SOCKET_UTP = 1,
    SW_SOCKET_UDP = 2 /* the shared UDP socket (DHT, uTP, UDP trackers) */
} sw_socket_type;

/* Why peer_blocked refused a peer (numbered as in libtorrent). */
typedef enum sw_peer_blocked_reason {
    SW_BLOCKED_IP_FILTER = 0,
    SW_BLOCKED_PORT_FILTER = 1,
    SW_BLOCKED_I2P_MIXED = 2,
    SW_BLOCKED_PRIVILEGED_PORTS = 3,
    SW_BLOCKED_UTP_DISABLED = 4,
    SW_BLOCKED_TCP_DISABLED = 5,
    SW_BLOCKED_INVALID_LOCAL_INTERFACE = 6
} sw_peer_blocked_reason;

/* What limit a performance alert is about (numbered as in libtorrent). */
typedef enum sw_performance_warning {
    SW_PERF_OUTSTANDING_DISK_BUFFER_LIMIT = 0,
    SW_PERF_OUTSTANDING_REQUEST_LIMIT = 1,
    SW_PERF_UPLOAD_LIMIT_TOO_LOW = 2,
    SW_PERF_DOWNLOAD_LIMIT_TOO_LOW = 3,
    SW_PERF_SEND_BUFFER_WATERMARK_TOO_LOW = 4,
    SW_PERF_TOO_MANY_OPTIMISTIC_UNCHOKE_SLOTS = 5,
    SW_PERF_TOO_HIGH_DISK_QUEUE_LIMIT = 6,
    SW_PERF_TOO_FEW_OUTGOING_PORTS = 8,
    SW_PERF_TOO_FEW_FILE_DESCRIPTORS = 9
} sw_performance_warning;

/* Port mapping payloads (portmap, portmap_error, external_ip). */
enum { SW_PORTMAP_TCP = 0, SW_PORTMAP_UDP = 1 };
enum { SW_PORTMAP_NATPMP = 0, SW_PORTMAP_UPNP = 1 };

/* A remote peer. */
typedef struct sw_alert_peer {
    char ip[48]; /* numeric address, NUL-terminated ("" if none) */
    uint16_t port;
    bool has_peer_id;
    uint8_t peer_id[20];
} sw_alert_peer;

struct sw_torrent_status; /* session.h: one torrent's status */

typedef struct sw_alert {
    uint32_t struct_size; /* sizeof(sw_alert) in the library that made it */
    sw_alert_type type;   /* SW_ALERT_* */
    uint32_t category;    /* SW_ALERT_CAT_* bits this alert was posted under */
    int error;            /* 0, or the negative SW_ERR_* / UV_E* code it reports */
    int64_t timestamp_us; /* monotonic clock (uv_hrtime) in microseconds */
    uint64_t torrent_id;  /* the torrent's handle id, 0 if not about a torrent */
    sw_sha1 info_hash;    /* the torrent's v1 info-hash (all zero if none) */
    const char *message;  /* one human-readable line; never NULL */
    uint64_t reserved[4]; /* room for generic fields; zero */

    /* Per-type facts; the type list says which member a type fills. Strings
     * are NUL-terminated, NULL when absent. */
    union {
        struct {
            const char *name; /* the torrent's name, if known */
        } add_torrent;
        struct {
            int state; /* torrent.h's torrent states */
            int prev_state;
        } state_changed;
        struct {
            const struct sw_torrent_status *status; /* count entries */
            size_t count;
        } state_update;
        struct {
            const char *path;      /* file or folder concerned (new path when moved) */
            const char *operation; /* what failed, e.g. "open", "write", "rename" */
            int file_index;        /* -1 if not about one file of the torrent */
            const char *new_name;  /* file_renamed: the new name */
        } file;
        struct {
            int piece;
            int block;          /* block_finished only */
            sw_alert_peer peer; /* block_finished: the sender */
        } piece;
        struct {
            const uint8_t *data; /* bencoded resume data (save_resume_data) */
            size_t len;
        } resume;
        struct {
            sw_alert_peer peer;
            sw_socket_type socket_type;
            const char *operation; /* peer_error, peer_disconnected */
            int reason;            /* peer_blocked: sw_peer_blocked_reason */
        } peer;
        struct {
            char ip[48]; /* the local address */
            uint16_t port;
            sw_socket_type socket_type;
            const char *operation; /* listen_failed: "bind", "listen", ... */
        } listen;
        struct {
            const char *url;
            int event;        /* announce: 0 none, 1 completed, 2 started, 3 stopped (BEP 15) */
            int num_peers;    /* tracker_reply */
            int times_in_row; /* tracker_error: consecutive failures */
            int status_code;  /* tracker_error: HTTP status, 0 if none */
            int complete;     /* scrape_reply: seeds, -1 if unknown */
            int incomplete;   /* scrape_reply: downloaders, -1 if unknown */
            int downloaded;   /* scrape_reply: completed downloads, -1 if unknown */
            const char *text; /* tracker_warning / failure reason sent by the tracker */
        } tracker;
        struct {
            int num_peers; /* dht_reply: peers a torrent's DHT announce found */
            /* dht_bootstrap: routing table entries after it */
            int num_nodes;
            /* Items (dht_immutable_item, dht_mutable_item, dht_put): where
             * the item lives, its bencoded value (NULL if none was found),
             * and for mutable items the key, signature, seq and salt. */
            sw_sha1 target;
            const uint8_t *value;
            size_t value_len;
            const uint8_t *public_key; /* 32 bytes */
            const uint8_t *signature;  /* 64 bytes (items found) */
            int64_t seq;
            const uint8_t *salt;
            size_t salt_len;
            int num_success; /* dht_put: nodes that stored the item */
            /* dht_announce, dht_get_peers (incoming queries): the node
             * that asked (for dht_announce the port it announced). */
            sw_alert_peer peer;
            /* dht_scrape (BEP 33): target is the info-hash; the estimated
             * numbers of seeds and downloaders that announced it to the
             * nodes closest to it, rounded. */
            int scrape_seeds;
            int scrape_downloaders;
        } dht;
        struct {
            sw_performance_warning warning;
        } performance;
        struct {
            int interval_ms; /* the span the counters cover */
            int64_t upload_payload, upload_protocol;
            int64_t download_payload, download_protocol;
            int64_t upload_ip_overhead, download_ip_overhead;
            int64_t upload_dht, download_dht;
            int64_t upload_tracker, download_tracker;
        } stats;
        struct {
            const int64_t *values; /* session counters, indexed as session.h lists them */
            size_t count;
        } session_stats;
        struct {
            const char *name; /* the plugin's name */
            const char *path; /* where it was loaded from; NULL if built in */
        } plugin;
        struct {
            int mapping;          /* which mapping: 0 the TCP listen port, 1 the UDP one */
            int external_port;    /* portmap: the port the gateway opened */
            int protocol;         /* SW_PORTMAP_TCP / SW_PORTMAP_UDP */
            int map_type;         /* SW_PORTMAP_NATPMP / SW_PORTMAP_UPNP */
            char external_ip[48]; /* external_ip: the gateway's external address */
        } portmap;
    } payload;
} sw_alert;

/* All alerts pending at the time of a pop, oldest first. */
typedef struct sw_alert_batch {
    size_t count;
    sw_alert *const *alerts;
    /* Alerts dropped because the queue was full since the previous batch
     * pop (so the caller knows it missed some). */
    uint64_t dropped;
} sw_alert_batch;

/* Receives each posted alert on the network thread, instead of the queue,
 * and owns it (free with sw_alert_free). It must not block and must not call
 * session functions that wait for the network thread (that would deadlock);
 * it is meant to wake another thread (a pipe, an eventfd, a condition). */
typedef void (*sw_alert_dispatch_fn)(void *user, sw_alert *alert);

/* Frees an alert received alone (pop one, dispatch). NULL is ok. Never call
 * it on an alert inside a batch. */
SW_API void sw_alert_free(sw_alert *alert);
/* Frees a batch and every alert in it. NULL is ok. */
SW_API void sw_alert_batch_free(sw_alert_batch *batch);

/* "add_torrent" etc., or "unknown". Static strings. */
SW_API const char *sw_alert_type_name(int type);
/* The categories a type is posted under (0 for an unknown type). */
SW_API uint32_t sw_alert_type_category(int type);
/* The name of one category bit ("error", "peer", ...), or NULL. */
SW_API const char *sw_alert_category_name(uint32_t bit);
/* Parses a comma-separated list of category names, or "all", or "none",
 * into a mask. Unknown names give SW_ERR_INVALID_ARG. */
SW_API int sw_alert_category_parse(const char *list, uint32_t *mask_out);

#ifdef __cplusplus
}
#endif
#endif
