/* The session: the object that owns every torrent, the listen sockets, the
 * network thread and the disk/hash pool (libtorrent's session; see
 * specs' reference-Session for the semantics followed).
 *
 * Threads. sw_session_new starts one network thread running a libuv loop:
 * every torrent, peer and timer lives there. Every function in this header
 * may be called from any thread: it is posted to the network thread (a queue
 * and uv_async_send) and the caller waits for its result, except where a
 * comment says it returns at once. Called from the network thread itself
 * (inside an alert dispatch callback) a function runs inline. Alerts are
 * popped from any thread without a round trip.
 *
 * Shutdown. sw_session_free shuts the session down and waits for it. To
 * avoid waiting, call sw_session_abort first: it starts the shutdown and
 * returns a proxy; sw_session_free then returns at once, and
 * sw_session_proxy_free (or sw_session_proxy_wait) waits for the end. After
 * abort, calls on the session or its torrents return SW_ERR_ABORTED.
 *
 * Ownership. The session copies everything it is given (settings, params,
 * resume data) except where a comment says otherwise; results returned
 * through pointers are the caller's (free() unless stated). */
#ifndef CSWARM_SESSION_H
#define CSWARM_SESSION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "alert.h"
#include "error.h"
#include "settings.h"
#include "torrent.h"
#include "torrent_info.h"
#include "version.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct sw_session_proxy sw_session_proxy;

/* Identifies the client in its peer id (BEP 20, Azureus style):
 * "-" id[0] id[1] then one character per version part ("-SW0100-"). */
typedef struct sw_fingerprint {
    char id[2];
    int major, minor, revision, tag; /* 0..35 each (0-9, then A-Z) */
} sw_fingerprint;

/* cswarm's own fingerprint ("SW" and the library version). */
SW_API void sw_fingerprint_init(sw_fingerprint *fp);
/* The 8-character prefix ("-SW0100-") into out (9 bytes with the NUL). */
SW_API int sw_fingerprint_format(const sw_fingerprint *fp, char out[9]);

enum sw_session_flags {
    /* Load the standard plugins from the built-in registry: ut_metadata,
     * ut_pex, smart_ban and lt_tex (see sw_session_add_builtin_plugin). */
    SW_SESSION_ADD_DEFAULT_PLUGINS = 1u << 0,
    /* Start the DHT (enable_dht), LSD, UPnP and NAT-PMP as settings allow
     * (UPnP does not exist yet). */
    SW_SESSION_START_DEFAULT_FEATURES = 1u << 1,
};

typedef struct sw_session_params {
    uint32_t struct_size;
    sw_fingerprint fingerprint;
    unsigned flags;              /* SW_SESSION_* */
    uint32_t alert_mask;         /* SW_ALERT_CAT_* bits; overrides the setting */
    const sw_settings *settings; /* copied; NULL = defaults */
} sw_session_params;

/* cswarm's fingerprint, flags ADD_DEFAULT_PLUGINS | START_DEFAULT_FEATURES,
 * alert mask SW_ALERT_CAT_ERROR, default settings. */
SW_API void sw_session_params_init(sw_session_params *p);
/* Creates a session and starts its network thread. It does not listen until
 * sw_session_listen_on. p may be NULL for defaults. */
SW_API int sw_session_new(const sw_session_params *p, sw_session **ses_out);
/* Shuts down (waiting for it unless sw_session_abort was called) and frees.
 * Must not be called from the network thread. NULL is ok. */
SW_API void sw_session_free(sw_session *ses);
/* Starts shutting down and returns at once with a proxy that can wait for
 * the end. Torrents are closed, peers disconnected, pending disk writes
 * finished. A second call fails with SW_ERR_ABORTED. */
SW_API int sw_session_abort(sw_session *ses, sw_session_proxy **proxy_out);
/* Waits up to timeout_ms (negative: forever) for the shutdown to finish:
 * 0 when finished, SW_ERR_TIMEOUT otherwise. */
SW_API int sw_session_proxy_wait(sw_session_proxy *proxy, int timeout_ms);
/* Waits for the shutdown to finish and frees the proxy. NULL is ok. */
SW_API void sw_session_proxy_free(sw_session_proxy *proxy);

/* ---- listening ---- */

enum sw_listen_flags {
    /* Fail instead of falling back to a port the OS picks when the whole
     * range is taken (libtorrent's listen_no_system_port). */
    SW_LISTEN_NO_SYSTEM_PORT = 1u << 1,
};

/* Listens for peers on the first port of [port_min, port_max] free on every
 * interface. interfaces is a comma-separated list of numeric addresses
 * ("0.0.0.0,::", "127.0.0.1"); NULL takes the addresses of the
 * listen_interfaces setting. An interface whose address does not exist on
 * this host is skipped. If no port of the range works, a port chosen by the
 * OS is used unless SW_LISTEN_NO_SYSTEM_PORT. Posts listen_succeeded /
 * listen_failed alerts. Replaces any previous listen sockets. Returns 0 if
 * at least one socket listens, else the error of the last attempt. */
SW_API int sw_session_listen_on(sw_session *ses, int port_min, int port_max, const char *interfaces,
                                unsigned flags);
SW_API bool sw_session_is_listening(sw_session *ses);
/* The port listened on (0 if none). */
SW_API int sw_session_listen_port(sw_session *ses, uint16_t *port_out);

SW_API int sw_session_get_peer_id(sw_session *ses, uint8_t id_out[20]);
/* Used for connections made from now on. */
SW_API int sw_session_set_peer_id(sw_session *ses, const uint8_t id[20]);
/* The key sent to trackers (recorded for trackers to come). */
SW_API int sw_session_set_key(sw_session *ses, uint32_t key);

/* ---- torrents ---- */

/* add_torrent_params flags; values as libtorrent's add_torrent_params. */
enum sw_add_torrent_flags {
    /* Assume the files are complete: no check on add; each piece is
     * hashed from disk before its first upload, and one that fails ends
     * seed mode with a full recheck. */
    SW_ADD_SEED_MODE = 1u << 0,
    /* Flags and save path here win over those in the resume data. */
    SW_ADD_OVERRIDE_RESUME_DATA = 1u << 1,
    /* Request nothing; only upload. */
    SW_ADD_UPLOAD_MODE = 1u << 2,
    /* Fetch only pieces that enough connected peers lack, while the upload
     * keeps share_mode_target times ahead of the download (never a normal
     * download: the torrent stays finished). */
    SW_ADD_SHARE_MODE = 1u << 3,
    /* Subject to the session's IP and port filters (ip_filter.h); without
     * it the torrent is exempt. */
    SW_ADD_APPLY_IP_FILTER = 1u << 4,
    SW_ADD_PAUSED = 1u << 5,
    /* Queued, started and paused by the session (sw_torrent_queue_*);
     * usually added with SW_ADD_PAUSED too, so that it starts when the
     * queue says. */
    SW_ADD_AUTO_MANAGED = 1u << 6,
    /* Adding a torrent already in the session fails with
     * SW_ERR_DUPLICATE_TORRENT; without it the existing handle is
     * returned. */
    SW_ADD_DUPLICATE_IS_ERROR = 1u << 7,
    SW_ADD_MERGE_RESUME_TRACKERS = 1u << 8, /* accepted (no trackers yet) */
    /* Include the torrent in post_torrent_updates. */
    SW_ADD_UPDATE_SUBSCRIBE = 1u << 9,
    /* Super seeding (BEP 16) once the torrent is a seed. */
    SW_ADD_SUPER_SEEDING = 1u << 10,
    SW_ADD_SEQUENTIAL_DOWNLOAD = 1u << 11,
    /* Use the save path stored in the resume data. */
    SW_ADD_USE_RESUME_SAVE_PATH = 1u << 12,
};

typedef enum sw_storage_mode_t {
    SW_STORAGE_MODE_SPARSE = 0,   /* files grow as data arrives (holes) */
    SW_STORAGE_MODE_ALLOCATE = 1, /* files are fully allocated up front */
} sw_storage_mode_t;

typedef struct sw_add_torrent_params {
    uint32_t struct_size;
    sw_torrent_info *ti; /* borrowed; the session takes its own reference */
    /* Only the info-hash (ti NULL), as from a magnet link: the torrent
     * starts in state downloading_metadata and needs a plugin that fetches
     * the metadata from peers (ut_metadata), then checks its files and goes
     * on as if added from a .torrent (a metadata_received alert). */
    sw_sha1 info_hash;
    const char *name;        /* optional */
    const char *save_path;   /* required */
    const void *resume_data; /* bencoded, from a save_resume_data alert; copied */
    size_t resume_data_len;
    sw_storage_mode_t storage_mode;
    const uint8_t *file_priorities; /* copied; extra entries ignored, missing ones are 1 */
    size_t num_file_priorities;
    uint64_t flags;                                                 /* SW_ADD_* */
    int max_uploads, max_connections, upload_limit, download_limit; /* -1 = none */
    void *userdata;                                                 /* for plugins (none yet) */
    /* With ti NULL: an http(s) URL of the .torrent file (copied). The
     * handle exists at once, in state downloading_metadata, while the
     * session downloads the file on its network thread (through the
     * tracker proxy settings, user agent and certificate check, at most
     * max_metadata_size bytes, 5 redirects, 120 seconds in all and
     * tracker_receive_timeout seconds of silence, a SW_ERR_TIMEOUT). Then
     * the torrent goes on as if added from
     * the file (a metadata_received alert, a file check). A failed
     * download, a file that does not load, or a torrent already in the
     * session puts the torrent in the error state with a torrent_error
     * alert naming the URL and the reason (SW_ERR_HTTP_*,
     * SW_ERR_METAINFO_*, SW_ERR_DUPLICATE_TORRENT); removing it cancels
     * the download. Until the file is taken (and after a failure) its
     * status and alerts show an all-zero info-hash. info_hash is ignored. */
    const char *url;
} sw_add_torrent_params;

/* Flags SW_ADD_UPDATE_SUBSCRIBE | SW_ADD_APPLY_IP_FILTER |
 * SW_ADD_DUPLICATE_IS_ERROR, sparse storage, no limits (-1). */
SW_API void sw_add_torrent_params_init(sw_add_torrent_params *p);

/* Adds a torrent and waits until it is in the session (its files are then
 * being checked). err_out (may be NULL) says what went wrong. */
SW_API int sw_session_add_torrent(sw_session *ses, const sw_add_torrent_params *p,
                                  sw_torrent_handle *h_out, sw_error_detail *err_out);
/* The same, returning at once; the result is an add_torrent alert (status
 * category) whose torrent_id names the handle and whose error is set on
 * failure. */
SW_API int sw_session_async_add_torrent(sw_session *ses, const sw_add_torrent_params *p);
/* SW_ERR_NOT_FOUND if no torrent has this v1 info-hash. */
SW_API int sw_session_find_torrent(sw_session *ses, const sw_sha1 *info_hash,
                                   sw_torrent_handle *h_out);
/* Every torrent; *handles_out is malloc'd (NULL when there are none). */
SW_API int sw_session_get_torrents(sw_session *ses, sw_torrent_handle **handles_out,
                                   size_t *count_out);

enum sw_remove_flags {
    SW_REMOVE_DELETE_FILES = 1u << 0,
};
/* Removes a torrent: its handle is invalid when this returns. A
 * torrent_removed alert follows, and with SW_REMOVE_DELETE_FILES a
 * torrent_deleted (or torrent_delete_failed) alert once the files are gone. */
SW_API int sw_session_remove_torrent(sw_session *ses, sw_torrent_handle h, unsigned flags);

/* Pauses every torrent without touching their own paused flag; resume
 * restores what each torrent's own state allows. */
SW_API int sw_session_pause(sw_session *ses);
SW_API int sw_session_resume(sw_session *ses);
SW_API bool sw_session_is_paused(sw_session *ses);

/* Called once per torrent on the network thread; true keeps it. */
typedef bool (*sw_torrent_status_pred)(void *user, const sw_torrent_status *status);
/* The status of every torrent the predicate keeps (NULL keeps all);
 * *statuses_out is malloc'd (NULL when empty). */
SW_API int sw_session_get_torrent_status(sw_session *ses, sw_torrent_status_pred pred, void *user,
                                         sw_torrent_status **statuses_out, size_t *count_out);
/* Refreshes each entry from its handle member; entries whose handle is no
 * longer valid are left as they were. */
SW_API int sw_session_refresh_torrent_status(sw_session *ses, sw_torrent_status *statuses,
                                             size_t count);
/* Posts a state_update alert with the status of every subscribed torrent
 * that changed since the previous call (returns at once). */
SW_API int sw_session_post_torrent_updates(sw_session *ses);

/* uTP sockets and packets (libtorrent's utp_status and its uTP counters);
 * socket counts are now, packet counts since the session started. */
typedef struct sw_utp_status {
    int num_idle;      /* connected, nothing in flight */
    int num_syn_sent;  /* connecting */
    int num_connected; /* connected with data in flight */
    int num_fin_sent;
    int num_close_wait; /* closed locally, finishing the FIN exchange */
    uint64_t packets_in, packets_out;
    uint64_t payload_pkts_in, payload_pkts_out;
    uint64_t packet_loss;     /* packets found lost */
    uint64_t packet_resend;   /* packets sent again */
    uint64_t fast_retransmit; /* resent on duplicate/selective ACKs */
    uint64_t timeout;         /* retransmission timeouts */
    uint64_t invalid_pkts_in; /* malformed or unexpected, dropped */
    uint64_t redundant_pkts_in;
    uint64_t samples_above_target, samples_below_target; /* LEDBAT delay samples */
    uint64_t mtu_probes;        /* path MTU probes sent */
    uint64_t mtu_probes_lost;   /* of them, lost (not counted in packet_loss) */
    uint64_t mtu_probes_toobig; /* of them, refused locally as too large */
} sw_utp_status;

/* Session-wide counters (libtorrent's session_status). Rates are bytes per
 * second averaged over a few seconds; totals count since the session
 * started. */
typedef struct sw_session_status {
    uint32_t struct_size;
    bool has_incoming_connections;
    int upload_rate, download_rate; /* protocol and payload */
    int payload_upload_rate, payload_download_rate;
    int ip_overhead_upload_rate, ip_overhead_download_rate; /* estimated TCP/IP headers */
    int dht_upload_rate, dht_download_rate;                 /* KRPC traffic */
    int tracker_upload_rate, tracker_download_rate;         /* 0: not measured yet */
    int64_t total_download, total_upload;
    int64_t total_payload_download, total_payload_upload;
    int64_t total_ip_overhead_download, total_ip_overhead_upload;
    int64_t total_dht_download, total_dht_upload;
    int64_t total_tracker_download, total_tracker_upload;
    int64_t total_redundant_bytes; /* blocks received more than once */
    int64_t total_failed_bytes;    /* bytes of pieces that failed their hash */
    int num_peers;                 /* open connections, half-open ones included */
    int num_half_open;
    int num_unchoked; /* peers we upload to */
    int allowed_upload_slots;
    int optimistic_unchoke_counter;        /* seconds to the next optimistic unchoke */
    int unchoke_counter;                   /* seconds to the next choker round */
    int disk_write_queue, disk_read_queue; /* connections waiting on the disk */
    int64_t disk_queued_jobs;
    int peerlist_size; /* known peers over all torrents */
    int num_torrents;
    int dht_nodes, dht_node_cache, dht_torrents; /* 0: DHT not running */
    sw_utp_status utp_status;
    int dht_global_nodes;      /* estimated size of the whole DHT */
    int dht_lookups;           /* lookups running */
    int dht_buckets;           /* routing table buckets (sw_session_dht_routing_table) */
    int dht_total_allocations; /* queries awaiting an answer */
    /* Connections waiting for rate-limit quota, and the bytes they wait
     * for (libtorrent's up/down_bandwidth_queue and _bytes_queue). */
    int up_bandwidth_queue, down_bandwidth_queue;
    int64_t up_bandwidth_bytes_queue, down_bandwidth_bytes_queue;
    int64_t disk_queued_bytes; /* received bytes waiting to be written */
    uint64_t reserved[5];
} sw_session_status;

SW_API int sw_session_get_status(sw_session *ses, sw_session_status *status_out);

/* The disk/hash pool's figures (libtorrent's cache_status). cswarm keeps no
 * block cache of its own: reads and writes go straight to the files and the
 * OS page cache does the caching, so cache_size, read_cache_size and
 * blocks_read_hit are always 0, and so is average_sort_time (jobs are not
 * sorted by disk offset). Everything else is measured. Totals count since
 * the session started; averages are over the same span, in microseconds;
 * cumulative times are in milliseconds. */
typedef struct sw_cache_status {
    uint32_t struct_size;    /* sizeof(sw_cache_status), set by the session */
    int64_t blocks_written;  /* 16 KiB blocks written (a partial block counts as one) */
    int64_t writes;          /* write operations (one carries up to 1 MiB of a piece) */
    int64_t blocks_read;     /* 16 KiB blocks read for peers */
    int64_t blocks_read_hit; /* 0: no read cache */
    int64_t reads;           /* read operations for peers */
    int64_t queued_bytes;    /* bytes in write jobs not yet written */
    int cache_size;          /* 0: no block cache */
    int read_cache_size;     /* 0: no block cache */
    /* 16 KiB buffers the disk layer holds now: write jobs' data plus blocks
     * kept out of order for hashing. */
    int total_used_buffers;
    int average_queue_time; /* a job's wait for a worker */
    int average_read_time;
    int average_write_time;
    int average_hash_time; /* piece hashes and file checking */
    int average_job_time;  /* every kind of job */
    int average_sort_time; /* 0: jobs are not sorted */
    int job_queue_length;  /* jobs waiting for a worker */
    int read_queue_size;   /* read jobs among them */
    int64_t queued_jobs;   /* jobs submitted and not finished (waiting, held, running) */
    uint32_t cumulative_job_time, cumulative_read_time; /* ms */
    uint32_t cumulative_write_time, cumulative_hash_time;
    uint32_t cumulative_sort_time; /* 0 */
    int total_read_back;           /* 16 KiB blocks read back from disk to hash pieces */
    int64_t hash_jobs, hash_failures;
    uint64_t reserved[6];
} sw_cache_status;

/* Fills *status_out from the disk pool's live counters (a snapshot taken on
 * the network thread). Any thread. */
SW_API int sw_session_get_cache_status(sw_session *ses, sw_cache_status *status_out);

/* ---- alerts (see alert.h) ---- */

/* Pops every pending alert (the batch may be empty); free with
 * sw_alert_batch_free. Does not wait for the network thread. */
SW_API int sw_session_pop_alerts(sw_session *ses, sw_alert_batch **batch_out);
/* Pops the oldest alert into *alert_out (NULL if none); free with
 * sw_alert_free. */
SW_API int sw_session_pop_alert(sw_session *ses, sw_alert **alert_out);
/* Waits up to timeout_ms (negative: forever) until an alert is pending;
 * pops nothing. 0 when one is, SW_ERR_TIMEOUT otherwise. */
SW_API int sw_session_wait_for_alert(sw_session *ses, int timeout_ms);
SW_API int sw_session_set_alert_mask(sw_session *ses, uint32_t mask);
/* Delivers alerts to fn on the network thread instead of queueing them
 * (NULL restores queueing). Alerts already queued are delivered at once. */
SW_API int sw_session_set_alert_dispatch(sw_session *ses, sw_alert_dispatch_fn fn, void *user);

/* ---- settings and state ---- */

/* Replaces the session's settings with a copy of s. */
SW_API int sw_session_apply_settings(sw_session *ses, const sw_settings *s);
/* A copy of the current settings (sw_settings_free it). */
SW_API int sw_session_get_settings(sw_session *ses, sw_settings **s_out);

/* save_state flags; values as libtorrent's session::save_state_flags_t and
 * SW_SETTINGS_CAT_*. */
enum sw_save_state_flags {
    SW_SAVE_SETTINGS = 1u << 0,
    SW_SAVE_DHT_SETTINGS = 1u << 1,
    SW_SAVE_DHT_STATE = 1u << 2,
    SW_SAVE_PROXY = 1u << 3,
    SW_SAVE_I2P_PROXY = 1u << 4,
    SW_SAVE_ENCRYPTION_SETTINGS = 1u << 5,
    SW_SAVE_FEEDS = 1u << 7,
    SW_SAVE_ALL = 0xffffffffu,
};
/* The session state as a bencoded dictionary ({"settings": {...}} holding
 * the settings whose category is in flags, non-default values only);
 * *buf_out is malloc'd. */
SW_API int sw_session_save_state(sw_session *ses, uint32_t flags, uint8_t **buf_out,
                                 size_t *len_out);
/* Loads state saved by sw_session_save_state (settings of other categories
 * than flags are ignored) and applies it. */
SW_API int sw_session_load_state(sw_session *ses, const void *buf, size_t len, uint32_t flags);

/* ---- plugins (writing one: plugin.h) ---- */

struct sw_host;
struct sw_plugin_desc;
/* A plugin's entry point (plugin.h's sw_plugin_init_fn). */
typedef int (*sw_session_plugin_init_fn)(const struct sw_host *host, struct sw_plugin_desc *out,
                                         char **errmsg);

/* Adds a plugin compiled into the program: init is called on the network
 * thread and the plugin joins the session (and its torrents). On failure
 * (init refused, ABI mismatch, duplicate name) nothing is added, err_out
 * (may be NULL) says why and a plugin_error alert is posted; on success a
 * plugin_loaded alert. */
SW_API int sw_session_add_extension(sw_session *ses, sw_session_plugin_init_fn init,
                                    sw_error_detail *err_out);
/* Loads a plugin from a file: a shared object (dlopen with RTLD_NOW |
 * RTLD_LOCAL; entry point sw_plugin_<name>_init from the file name, else
 * sw_plugin_init). A name without '/' is looked up in the folders of the
 * plugin_search_path setting (as NAME, NAME.so and libNAME.so). A ".lua"
 * file is a Lua plugin, run by the Lua adapter module (lua_plugin.h; a bare
 * name may also be in the current folder); SW_ERR_NOT_SUPPORTED if the
 * adapter is not found, SW_ERR_PLUGIN_INIT with "file:line: message" if
 * the script fails to load. Errors: SW_ERR_PLUGIN_OPEN,
 * SW_ERR_PLUGIN_NO_ENTRY, SW_ERR_PLUGIN_ABI,
 * SW_ERR_PLUGIN_INIT, SW_ERR_NOT_FOUND, SW_ERR_EXISTS, as for
 * sw_session_add_extension. */
SW_API int sw_session_load_plugin(sw_session *ses, const char *path, sw_error_detail *err_out);
/* Adds a plugin of the built-in registry by name (no dlopen). */
SW_API int sw_session_add_builtin_plugin(sw_session *ses, const char *name,
                                         sw_error_detail *err_out);
/* The names in the built-in registry: the i-th, or NULL past the end. */
SW_API const char *sw_builtin_plugin_name(size_t i);
/* The names of the plugins active in the session, in the order they were
 * added, as one malloc'd comma-separated string. */
SW_API int sw_session_plugin_names(sw_session *ses, char **names_out);

/* ---- DHT (BEP 5; items: BEP 44) ----
 *
 * The session runs one DHT node on its UDP socket (bound when it listens,
 * on the first listen address's family). With
 * SW_SESSION_START_DEFAULT_FEATURES and enable_dht the session starts it by
 * itself; sw_session_start_dht / stop_dht do it by hand (and set
 * enable_dht). Its tunables are the dht_* settings (libtorrent's
 * set_dht_settings is sw_session_apply_settings with those names); the
 * routers of dht_bootstrap_nodes are asked when the node starts (set it to
 * "" to keep a session off the public DHT). Every active torrent that is not
 * private announces itself and gets peers through the DHT every
 * dht_announce_interval seconds (sooner while a download has found no
 * peers); found peers join its swarm with source DHT and a dht_reply alert
 * says how many. Results of item functions come as alerts (category dht).
 * The node's id and good nodes are saved with SW_SAVE_DHT_STATE. */

/* Starts the node (once the session listens, if it does not yet). */
SW_API int sw_session_start_dht(sw_session *ses);
/* Stops it: lookups end, the node forgets its routing table. */
SW_API int sw_session_stop_dht(sw_session *ses);
/* True from start to stop (also while the node waits for the session to
 * listen). */
SW_API bool sw_session_is_dht_running(sw_session *ses);
/* A bootstrap router: asked when the routing table is empty, never added
 * to it. host is a name or numeric address; a name is resolved in the
 * background, so the call does not wait for DNS. Kept across stop/start.
 * SW_ERR_INVALID_ARG for an empty host or a port outside 1-65535. */
SW_API int sw_session_add_dht_router(sw_session *ses, const char *host, int port);
/* Pings a node; it joins the routing table if it answers (queued until the
 * node runs; pinged again while the table is empty). Names as for
 * sw_session_add_dht_router. */
SW_API int sw_session_add_dht_node(sw_session *ses, const char *host, int port);

/* Looks up an immutable item by its target (SHA-1 of the bencoded value):
 * a dht_immutable_item alert follows (value NULL if none was found).
 * These item functions return once the lookup has started, or
 * SW_ERR_DHT_NOT_RUNNING when the node does not run. */
SW_API int sw_session_dht_get_immutable_item(sw_session *ses, const sw_sha1 *target);
/* BEP 33 scrape: a get_peers lookup with scrape=1 for info_hash; a
 * dht_scrape alert follows with the estimated seeds and downloaders (from
 * the bloom filters of the nodes closest to it), or an error. */
SW_API int sw_session_dht_scrape(sw_session *ses, const sw_sha1 *info_hash);
/* Looks up a mutable item under an Ed25519 public key and an optional salt
 * (at most 64 bytes): a dht_mutable_item alert with the newest valid value
 * (value NULL if none was found). */
SW_API int sw_session_dht_get_mutable_item(sw_session *ses, const uint8_t public_key[32],
                                           const void *salt, size_t salt_len);
/* Stores a bencoded value (canonical, at most 1000 bytes) as an immutable
 * item; *target_out (may be NULL) is its target. A dht_put alert follows
 * with the number of nodes that stored it. */
SW_API int sw_session_dht_put_immutable_item(sw_session *ses, const void *value, size_t len,
                                             sw_sha1 *target_out);

/* Read-modify-write of a mutable item (libtorrent's dht_put_item callback),
 * on the network thread once the current item was looked up: value is the
 * current bencoded value (NULL if none; seq is then 0). It writes a
 * malloc'd new bencoded value (the session frees it) and returns 0, or
 * returns a negative code to store nothing (the dht_put alert carries it).
 * The new item's seq is the current one plus one, so a writer that raced
 * us makes our store fail rather than be lost silently (compare and swap).
 * It must not block or call session functions. */
typedef int (*sw_dht_item_update_fn)(void *user, const uint8_t *value, size_t len, int64_t seq,
                                     uint8_t **new_value_out, size_t *new_len_out);

typedef struct sw_dht_mutable_put {
    uint32_t struct_size;
    uint8_t private_key[32]; /* the Ed25519 seed (see sw_dht_public_key) */
    const void *salt;        /* copied; at most 64 bytes */
    size_t salt_len;
    /* Without update: the bencoded value to store (copied) and its seq
     * (negative: one more than the newest found in the DHT). */
    const void *value;
    size_t value_len;
    int64_t seq;
    sw_dht_item_update_fn update; /* NULL: store value as is */
    void *user;
} sw_dht_mutable_put;

/* No salt, no value, seq -1, no update function. */
SW_API void sw_dht_mutable_put_init(sw_dht_mutable_put *p);
/* Signs and stores a mutable item; a dht_put alert (key, salt, seq, nodes
 * that stored it) follows. */
SW_API int sw_session_dht_put_mutable_item(sw_session *ses, const sw_dht_mutable_put *p);
/* The Ed25519 public key of a 32-byte private key (what readers need). */
SW_API int sw_dht_public_key(const uint8_t private_key[32], uint8_t public_key_out[32]);

/* One bucket of the routing table (libtorrent's dht_routing_bucket). */
typedef struct sw_dht_routing_bucket {
    int num_nodes;
    int num_replacements;
} sw_dht_routing_bucket;
/* The routing table, nearest-last as libtorrent lists it; *buckets_out is
 * malloc'd (NULL and 0 when the DHT is not running). */
SW_API int sw_session_dht_routing_table(sw_session *ses, sw_dht_routing_bucket **buckets_out,
                                        size_t *count_out);

/* One running DHT lookup (libtorrent's dht_lookup). */
typedef struct sw_dht_lookup {
    const char *type;         /* the query it sends ("get_peers", "find_node", "get"); static */
    int outstanding_requests; /* queries in flight (stores, in the store phase) */
    int timeouts, responses;  /* so far */
    int branch_factor;        /* queries it may keep in flight now */
    int nodes_left;           /* candidates not asked yet */
    int first_timeout;        /* queries past the short timeout (they widened the branch) */
} sw_dht_lookup;
/* The running lookups; *lookups_out is malloc'd (NULL and 0 when none). */
SW_API int sw_session_dht_lookups(sw_session *ses, sw_dht_lookup **lookups_out,
                                  size_t *count_out);

/* ---- local service discovery (BEP 14) ----
 *
 * LSD announces every active torrent that is not private to the multicast
 * groups 239.192.152.143:6771 and [ff15::efc0:988f]:6771 when it is added
 * and then every 5 minutes (at most one message a minute, several
 * info-hashes to a message), and adds the peers announced there for our
 * torrents with source LSD, each with an lsd_peer alert. With
 * SW_SESSION_START_DEFAULT_FEATURES and enable_lsd the session starts it by
 * itself; start_lsd / stop_lsd do it by hand (and set enable_lsd), and
 * turning enable_lsd off stops it. */
SW_API int sw_session_start_lsd(sw_session *ses);
SW_API int sw_session_stop_lsd(sw_session *ses);
/* Whether LSD runs with a socket joined to a group. */
SW_API bool sw_session_is_lsd_running(sw_session *ses);

/* ---- NAT-PMP (RFC 6886) ----
 *
 * NAT-PMP maps the listen port for TCP and UDP on the default gateway
 * (port 5351), renews the mappings at half their lifetime and deletes them
 * when stopped; results come as portmap / portmap_error alerts (category
 * port_mapping) and the gateway's address as an external_ip alert. With
 * SW_SESSION_START_DEFAULT_FEATURES and enable_natpmp the session starts it
 * by itself; start_natpmp / stop_natpmp do it by hand (and set
 * enable_natpmp), and turning enable_natpmp off stops it. */
SW_API int sw_session_start_natpmp(sw_session *ses);
SW_API int sw_session_stop_natpmp(sw_session *ses);

#ifdef __cplusplus
}
#endif
#endif
