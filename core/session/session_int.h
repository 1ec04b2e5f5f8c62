/* Private to core/session: the session and torrent objects and the command
 * marshalling between caller threads and the network thread. */
#ifndef SW_CORE_SESSION_INT_H
#define SW_CORE_SESSION_INT_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include <uv.h>

#include <cswarm/session.h>
#include <cswarm/torrent.h>

#include "alert_queue.h"
#include "base/base.h"
#include "disk/disk.h"
#include "net/net.h"
#include "peer/peer.h"
#include "session_index.h"
#include "session_queue.h"
#include "torrent_modes.h"

/* ---- commands ---- */

typedef struct sw_cmd sw_cmd;
typedef void (*sw_cmd_fn)(sw_session *ses, sw_cmd *cmd);

/* A request for the network thread. A caller that waits keeps the command
 * on its stack; a fire-and-forget command is heap-allocated and freed by
 * its destroy function after it ran (or was refused at shutdown). */
struct sw_cmd {
    sw_cmd *next;
    sw_cmd_fn fn;
    void (*destroy)(sw_cmd *cmd); /* NULL: a waited-for command */
    int result;
    bool done;
};

/* Runs cmd on the network thread and waits for it (inline when called from
 * the network thread). Returns cmd->result, or SW_ERR_ABORTED if the
 * session is shutting down. */
int sw__session_call(sw_session *ses, sw_cmd *cmd);
/* Queues a heap command without waiting. On SW_ERR_ABORTED the command was
 * destroyed without running. */
int sw__session_post(sw_session *ses, sw_cmd *cmd);
/* Network thread: runs queued commands (from the async handle). */
void sw__session_run_commands(sw_session *ses);
/* Network thread, at the very end: refuses whatever is still queued. */
void sw__session_refuse_commands(sw_session *ses);
bool sw__session_on_net_thread(sw_session *ses);

/* Runs fn(ses, arg) on the network thread and returns its result. */
int sw__session_run(sw_session *ses, int (*fn)(sw_session *ses, void *arg), void *arg);

/* ---- torrents ---- */

typedef struct sw_torrent sw_torrent;

struct sw_torrent {
    sw_session *ses;
    uint64_t id;
    sw_torrent *next, *prev; /* the session's list */
    sw_torrent *id_next;     /* id hash chain */
    sw_torrent *ih_next;     /* info-hash index chain (session_index.h) */

    sw_torrent_info *ti;
    sw_sha1 info_hash;
    char *name;
    char *save_path;
    sw_storage *storage;
    sw_swarm swarm;
    bool swarm_ready;

    sw_torrent_state state;
    bool paused;
    bool auto_managed;
    bool seed_mode;
    bool upload_mode;
    bool sequential;
    bool update_subscribe;
    bool removed;        /* out of the session; freed once released */
    bool swarm_released; /* the swarm let go after removal */
    bool checked;        /* files checked at least once */
    bool check_running;  /* a check job is in flight */
    bool recheck_queued; /* a force_recheck arrived during a check */
    bool need_save_resume;
    bool state_dirty; /* changed since the last post_torrent_updates */
    bool has_incoming;
    int pending_jobs; /* disk jobs naming this torrent */
    int check_done, check_total;

    int error;
    int error_file;
    char *error_message; /* what stopped it (malloc'd); NULL without an error */

    uint8_t *file_prio; /* per file */
    int num_files;
    sw_swarm_config cfg;

    int32_t *pad_in_piece; /* pad bytes per piece; NULL without pad files */
    int64_t pad_total;
    int64_t last_payload_total; /* for post_torrent_updates */

    uint8_t *resume; /* resume data until the first check */
    size_t resume_len;

    int64_t added_time, completed_time;
    int64_t prev_download, prev_upload; /* all-time totals from resume data */
    uint64_t active_ms, seeding_ms, finished_ms;
    uint64_t last_time_tick;
    void *userdata;
    struct sw_plugin_attach *plugins;     /* plugin contexts (plugin_int.h) */
    struct sw_plugin_trackers *plugin_trackers; /* plugins' view of the trackers */
    struct sw_torrent_tracking *tracking; /* announcing (torrent_trackers.c); NULL if none */
    sw_torrent_modes modes; /* share mode, super seeding, upload mode on a full disk */
    sw_queue_link queue; /* its place in the download queue (session_queue.h) */
    struct sw_torrent_url *url_fetch; /* the .torrent download (torrent_url.h); NULL if none */
    struct sw_web_seeds *web_seeds;   /* web seeds (web_seed.h); NULL until first used */
};

/* The swarm callbacks of every torrent (torrent.c). */
extern const sw_swarm_ops sw__torrent_swarm_ops;
/* Sums pad-file bytes per piece once the metadata is known. */
void sw__torrent_compute_padding(sw_torrent *t);
/* Creates a torrent (network thread). On failure err (may be NULL) says
 * why. */
int sw__torrent_new(sw_session *ses, const sw_add_torrent_params *p, sw_torrent **t_out,
                    sw_error_detail *err);
/* Takes the torrent out of the session and tears it down. */
void sw__torrent_remove(sw_torrent *t, unsigned flags);
/* Starts the file check (after creation or for force_recheck). */
void sw__torrent_start_check(sw_torrent *t, bool use_resume);
/* Whether it should transfer now, and makes the swarm match. */
void sw__torrent_update_active(sw_torrent *t);
void sw__torrent_set_state(sw_torrent *t, sw_torrent_state st);
void sw__torrent_set_error(sw_torrent *t, int error, const char *what, int file);
void sw__torrent_status(sw_torrent *t, sw_torrent_status *st);
void sw__torrent_tick(sw_torrent *t, uint64_t dt_ms);
int sw__torrent_save_resume(sw_torrent *t);
/* Applies file priorities to piece priorities. */
int sw__torrent_apply_file_priorities(sw_torrent *t);
/* Bytes verified per file (out holds num_files entries). */
int sw__torrent_file_progress(sw_torrent *t, int64_t *out);
/* The connected peers (malloc'd array). */
int sw__torrent_peer_info(sw_torrent *t, sw_peer_info **out, size_t *count_out);
/* A job naming t finished (pending_jobs already decremented): frees a
 * removed torrent once nothing refers to it. */
void sw__torrent_job_done(sw_torrent *t);
/* Peers saved in resume data become known peers. */
void sw__torrent_load_resume_peers(sw_torrent *t, const void *buf, size_t len);
/* Reads our own keys from resume data (priorities, flags, totals). */
void sw__torrent_load_resume_extras(sw_torrent *t, const void *buf, size_t len, bool override);
int sw__torrent_apply_add_params(sw_torrent *t, const sw_add_torrent_params *p);

/* ---- the session ---- */

#define SW_MAX_LISTENERS 8

struct sw_session {
    /* Shared with caller threads (under mu unless atomic). */
    atomic_int refs;
    uv_mutex_t mu;
    uv_cond_t cv;
    sw_cmd *cmd_head, *cmd_tail;
    bool accepting; /* commands are accepted (false once aborting) */
    bool loop_done; /* the network thread finished */
    bool proxy_taken;
    bool started;
    uv_thread_t thread;
    uv_thread_t net_tid;
    sw_alert_queue *alerts;

    /* Network thread only. */
    uv_loop_t loop;
    uv_async_t wake;
    uv_timer_t tick;
    uv_timer_t shutdown_poll;
    bool shutting_down;
    bool disk_closing;
    sw_settings *settings;
    sw_disk_pool *disk;
    sw_peer_env env;
    sw_listener *listeners[SW_MAX_LISTENERS];
    int num_listeners;
    sw_torrent *torrents;
    int num_torrents;  /* in the session */
    int live_torrents; /* allocated: removed ones wait for their jobs */
    sw_torrent **id_buckets;
    sw_hash_index by_hash; /* torrents by info-hash (session_index.h) */
    size_t id_nbuckets;
    uint64_t next_torrent_id;
    bool paused;
    uint32_t key;
    uint64_t last_tick_ms;
    sw_fingerprint fingerprint;
    unsigned flags;
    struct sw_plugin_registry *plugins;       /* plugin_int.h; NULL until one is added */
    struct sw_tracker_client *tracker_client; /* NULL if it could not be created */
    int live_tracker_managers;                /* including those still sending "stopped" */
    struct sw_session_udp *udp;               /* session_udp.h; NULL until listening */
    struct sw_session_dht *dht;               /* session_dht.h; NULL until the DHT is used */
    sw_queue queue; /* the download queue and auto-management (session_queue.h) */
    struct sw_session_utp *utp;               /* session_utp.h; NULL until the UDP socket opens */
    struct sw_session_lsd *lsd;               /* session_lsd.h; NULL until LSD starts */
    struct sw_session_natpmp *natpmp;         /* session_natpmp.h; NULL until NAT-PMP starts */
};

struct sw_session_proxy {
    sw_session *ses;
};

/* Looks a handle up (network thread); NULL if invalid or removed. */
sw_torrent *sw__session_find(sw_session *ses, uint64_t id);
sw_torrent *sw__session_find_hash(sw_session *ses, const sw_sha1 *ih);
void sw__session_link(sw_session *ses, sw_torrent *t);
void sw__session_unlink(sw_session *ses, sw_torrent *t);
/* Called when a removed torrent has been freed (shutdown may be waiting). */
void sw__session_torrent_freed(sw_session *ses);

/* Alerts (network thread). */
bool sw__session_wants(sw_session *ses, sw_alert_type type);
void sw__session_post_alert(sw_session *ses, sw_alert *a);
/* A new alert about torrent t (may be NULL), or NULL when the mask filters
 * it out (unless forced) or memory runs out. */
sw_alert *sw__session_torrent_alert(sw_session *ses, sw_torrent *t, sw_alert_type type, bool force);

/* Listening (session_listen.c). */
int sw__session_listen(sw_session *ses, int port_min, int port_max, const char *interfaces,
                       unsigned flags);
void sw__session_close_listeners(sw_session *ses);
/* The settings changed (before: listen_interfaces as it was): a session
 * that listens moves to the port the setting now names. */
void sw__session_listen_settings_changed(sw_session *ses, const char *before);

/* Peer env callbacks (session_alerts.c). */
void sw__session_peer_event(void *ctx, const sw_peer_event *ev);
bool sw__session_wants_event(void *ctx, sw_alert_type type);

#endif
