/* Torrents in a session: handles, status, and what can be done to one
 * torrent (libtorrent's torrent_handle and torrent_status).
 *
 * Handles. An sw_torrent_handle is a small value (the session and a torrent
 * id) that may be copied freely and used from any thread. It is weak: once
 * the torrent is removed every function taking the handle returns
 * SW_ERR_INVALID_HANDLE (never a crash), and ids are never reused within a
 * session. A handle must not be used after its session was freed.
 *
 * Threading. Every function here may be called from any thread. It runs on
 * the session's network thread and the caller waits for its result; called
 * from the network thread itself (an alert dispatch callback) it runs
 * inline. Results are snapshots: by the time the caller reads them the
 * torrent may have moved on.
 *
 * Asynchronous results. save_resume_data, move_storage and rename_file
 * return once the work is queued; the outcome arrives as an alert
 * (save_resume_data / save_resume_data_failed, storage_moved /
 * storage_moved_failed, file_renamed / file_rename_failed). */
#ifndef CSWARM_TORRENT_H
#define CSWARM_TORRENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "alert.h"
#include "error.h"
#include "torrent_info.h"
#include "version.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct sw_session sw_session;

typedef struct sw_torrent_handle {
    sw_session *session;
    uint64_t id; /* 0: refers to no torrent */
} sw_torrent_handle;

/* Torrent states, numbered as libtorrent's torrent_status::state_t. Whether
 * a torrent is paused or stopped by an error is reported separately
 * (sw_torrent_status.paused, .error), so a paused seed still says SEEDING. */
typedef enum sw_torrent_state {
    SW_TORRENT_QUEUED_FOR_CHECKING = 0,
    SW_TORRENT_CHECKING_FILES = 1,
    SW_TORRENT_DOWNLOADING_METADATA = 2,
    SW_TORRENT_DOWNLOADING = 3,
    SW_TORRENT_FINISHED = 4, /* every wanted piece is had; some are not wanted */
    SW_TORRENT_SEEDING = 5,  /* every piece is had */
    SW_TORRENT_ALLOCATING = 6,
    SW_TORRENT_CHECKING_RESUME_DATA = 7,
} sw_torrent_state;

/* "checking_files", "downloading", ...; static strings. */
SW_API const char *sw_torrent_state_name(int state);

/* One torrent's status (a plain value: no pointers, nothing to free). */
typedef struct sw_torrent_status {
    uint32_t struct_size;
    sw_torrent_handle handle;
    sw_sha1 info_hash;
    char name[256];
    sw_torrent_state state;
    bool paused;       /* paused by the user (the session's pause is separate) */
    bool auto_managed; /* the session's queue starts and pauses it */
    bool sequential_download;
    bool upload_mode;
    bool seed_mode;
    bool is_finished; /* state FINISHED or SEEDING */
    bool is_seeding;
    bool has_metadata;
    bool need_save_resume; /* pieces changed since resume data was last saved */
    bool has_incoming;     /* a peer connected to us for this torrent */
    int error;             /* 0, or what stopped the torrent (SW_ERR_*, UV_E*) */
    char error_message[256];
    int error_file; /* file index the error is about, -1 if none */

    float progress;            /* of the wanted bytes, 0..1 */
    int progress_ppm;          /* the same in millionths */
    int64_t total_size;        /* every byte of the torrent (pad files excluded) */
    int64_t total_done;        /* bytes of verified pieces (pad files excluded) */
    int64_t total_wanted;      /* bytes of pieces with priority > 0 */
    int64_t total_wanted_done; /* ... of them verified */

    /* Since the torrent was added to this session. */
    int64_t total_download, total_upload;                 /* everything on the wire */
    int64_t total_payload_download, total_payload_upload; /* block bytes */
    int64_t total_redundant_bytes, total_failed_bytes;
    /* Since it was first added (carried in resume data). */
    int64_t all_time_download, all_time_upload;
    int download_rate, upload_rate; /* bytes/s, protocol included */
    int download_payload_rate, upload_payload_rate;

    int num_peers;   /* connected peers */
    int num_seeds;   /* connected seeds */
    int num_uploads; /* peers we unchoke */
    int list_peers;  /* known peer addresses */
    int connect_candidates;
    int num_pieces;            /* verified pieces */
    int num_pieces_total;      /* pieces in the torrent */
    int checking_progress_ppm; /* while checking files */

    int max_uploads, max_connections, upload_limit, download_limit; /* -1 = none */
    int64_t added_time, completed_time; /* Unix seconds; 0 if never completed */
    int64_t active_seconds, seeding_seconds, finished_seconds;
    bool share_mode;    /* fetching only pieces worth passing on */
    bool super_seeding; /* BEP 16 super seeding now (only while a seed) */
    int queue_position; /* in the download queue (0 = front); -1 once finished */
    int seed_rank;      /* libtorrent's seed_rank: higher seeds first; 0 unless finished */
    uint64_t reserved[8];
} sw_torrent_status;

/* Connected peer facts (libtorrent's peer_info). */
enum sw_peer_info_flags {
    SW_PEER_INTERESTING = 1u << 0,       /* we are interested in it */
    SW_PEER_CHOKED = 1u << 1,            /* it chokes us */
    SW_PEER_REMOTE_INTERESTED = 1u << 2, /* it is interested in us */
    SW_PEER_REMOTE_CHOKED = 1u << 3,     /* we choke it */
    SW_PEER_SUPPORTS_EXTENSIONS = 1u << 4,
    SW_PEER_LOCAL_CONNECTION = 1u << 5, /* we opened the connection */
    SW_PEER_SNUBBED = 1u << 12,
    SW_PEER_SEED = 1u << 10,
    SW_PEER_SUPPORTS_FAST = 1u << 20,
    /* The connection began with an MSE (protocol encryption) handshake;
     * libtorrent's plaintext_encrypted. */
    SW_PEER_PLAINTEXT_ENCRYPTED = 1u << 21,
    /* Its payload is RC4-encrypted (libtorrent's rc4_encrypted, whose bit
     * cswarm already uses for SUPPORTS_FAST). */
    SW_PEER_RC4_ENCRYPTED = 1u << 22,
};

/* sw_peer_info read_state / write_state bits (values as libtorrent's
 * peer_info::bw_state). */
enum sw_bw_state {
    SW_BW_IDLE = 0,    /* waiting for nothing (not connected yet, or closing) */
    SW_BW_LIMIT = 1,   /* waiting for rate-limit quota */
    SW_BW_NETWORK = 2, /* reading from / writing to the socket */
    /* read_state: stopped reading until received blocks are written (the
     * disk queue is full); write_state: waiting for disk reads of blocks
     * it asked for, with nothing else to send. */
    SW_BW_DISK = 4,
};

typedef struct sw_peer_info {
    char ip[48];
    uint16_t port;
    uint8_t peer_id[20];
    char client[64]; /* from the extension handshake or guessed from the id */
    uint32_t flags;  /* SW_PEER_* */
    uint32_t source; /* 1 tracker, 2 DHT, 4 PEX, 8 LSD, 16 resume data, 32 incoming,
                        64 added by connect_peer */
    sw_socket_type connection_type;
    int download_rate, upload_rate;       /* payload bytes/s */
    int64_t total_download, total_upload; /* payload bytes */
    int num_pieces;
    float progress;
    int download_queue_length; /* our requests outstanding */
    int upload_queue_length;   /* its requests we hold */
    int target_queue;          /* requests we aim to keep outstanding */
    int64_t connected_seconds;
    /* What the connection waits for to receive (read_state) and to send
     * (write_state): SW_BW_* bits, libtorrent's bw_state. */
    uint8_t read_state, write_state;
    uint64_t reserved[3];
} sw_peer_info;

SW_API bool sw_torrent_is_valid(sw_torrent_handle h);
SW_API int sw_torrent_get_status(sw_torrent_handle h, sw_torrent_status *status_out);
/* The verified pieces as a bitfield in wire order (piece 0 is the high bit of
 * byte 0); *bits_out is malloc'd (free() it), *len_out = ceil(pieces / 8). */
SW_API int sw_torrent_get_pieces(sw_torrent_handle h, uint8_t **bits_out, size_t *len_out);
/* Bytes of each file verified so far (pad files report 0): an array of
 * sw_torrent_info_num_files entries, malloc'd. */
SW_API int sw_torrent_get_file_progress(sw_torrent_handle h, int64_t **bytes_out,
                                        size_t *count_out);
/* The metainfo (a new reference: sw_torrent_info_unref it). */
SW_API int sw_torrent_get_info(sw_torrent_handle h, sw_torrent_info **ti_out);
/* The current save path (malloc'd). */
SW_API int sw_torrent_get_save_path(sw_torrent_handle h, char **path_out);
/* The connected peers; *peers_out is malloc'd (free() it; NULL if none). */
SW_API int sw_torrent_get_peer_info(sw_torrent_handle h, sw_peer_info **peers_out,
                                    size_t *count_out);

/* Stops the torrent (peers disconnect); resume starts it again and clears
 * an error state. */
SW_API int sw_torrent_pause(sw_torrent_handle h);
SW_API int sw_torrent_resume(sw_torrent_handle h);
/* Hashes every piece on disk again, ignoring resume data. */
SW_API int sw_torrent_force_recheck(sw_torrent_handle h);

enum sw_save_resume_flags {
    SW_SAVE_RESUME_FLUSH_CACHE = 1u << 0, /* accepted; writes are never cached */
};
/* Answered by a save_resume_data alert (data owned by the alert) or a
 * save_resume_data_failed alert; both are posted whatever the alert mask. */
SW_API int sw_torrent_save_resume_data(sw_torrent_handle h, unsigned flags);

/* Connects to a peer (numeric IPv4 or IPv6 address) now; the address is kept
 * as a known peer. */
SW_API int sw_torrent_connect_peer(sw_torrent_handle h, const char *ip, uint16_t port);

/* Priorities 0 (skip) to 7; 1 is the default. */
SW_API int sw_torrent_piece_priority(sw_torrent_handle h, int piece, int *priority_out);
SW_API int sw_torrent_set_piece_priority(sw_torrent_handle h, int piece, int priority);
/* count must equal the number of pieces. */
SW_API int sw_torrent_prioritize_pieces(sw_torrent_handle h, const uint8_t *priorities,
                                        size_t count);
SW_API int sw_torrent_get_piece_priorities(sw_torrent_handle h, uint8_t **priorities_out,
                                           size_t *count_out);
SW_API int sw_torrent_file_priority(sw_torrent_handle h, int file, int *priority_out);
SW_API int sw_torrent_set_file_priority(sw_torrent_handle h, int file, int priority);
/* count must equal the number of files. Sets every piece's priority from
 * the files it touches (the highest of them). */
SW_API int sw_torrent_prioritize_files(sw_torrent_handle h, const uint8_t *priorities,
                                       size_t count);
SW_API int sw_torrent_get_file_priorities(sw_torrent_handle h, uint8_t **priorities_out,
                                          size_t *count_out);

SW_API int sw_torrent_set_sequential_download(sw_torrent_handle h, bool sequential);
/* -1 (or 0 for the rate limits) means no limit. Rate limits count payload
 * bytes and apply to every peer, local ones included (so do the session's
 * upload_rate_limit and download_rate_limit settings). */
SW_API int sw_torrent_set_upload_limit(sw_torrent_handle h, int bytes_per_second);
SW_API int sw_torrent_set_download_limit(sw_torrent_handle h, int bytes_per_second);
SW_API int sw_torrent_set_max_uploads(sw_torrent_handle h, int max);
SW_API int sw_torrent_set_max_connections(sw_torrent_handle h, int max);
/* The torrent's limits as set (-1: none). */
SW_API int sw_torrent_upload_limit(sw_torrent_handle h, int *bytes_per_second_out);
SW_API int sw_torrent_download_limit(sw_torrent_handle h, int *bytes_per_second_out);
SW_API int sw_torrent_max_uploads(sw_torrent_handle h, int *max_out);
SW_API int sw_torrent_max_connections(sw_torrent_handle h, int *max_out);
/* Upload mode: request nothing, keep serving. A write failing for lack of
 * disk space enters it too (with a file_error alert); an auto-managed
 * torrent then leaves it after optimistic_disk_retry seconds to try again. */
SW_API int sw_torrent_set_upload_mode(sw_torrent_handle h, bool upload_mode);
/* Super seeding (BEP 16): peers see one piece at a time, each piece going
 * to one peer first (see strict_super_seeding). Takes effect while the
 * torrent is a seed and ends when it stops being one. */
SW_API int sw_torrent_super_seeding(sw_torrent_handle h, bool on);
/* Share mode: no piece is wanted except those worth passing on (see
 * share_mode_target); off, the file priorities decide again.
 * SW_ERR_NOT_READY before the metadata is known. */
SW_API int sw_torrent_set_share_mode(sw_torrent_handle h, bool on);

enum sw_move_storage_flags {
    SW_MOVE_STORAGE_ALWAYS_REPLACE = 0,
    SW_MOVE_STORAGE_FAIL_IF_EXIST = 1,
    SW_MOVE_STORAGE_DONT_REPLACE = 2,
};
SW_API int sw_torrent_move_storage(sw_torrent_handle h, const char *save_path, int flags);
/* new_name is relative to the save path, '/'-separated. */
SW_API int sw_torrent_rename_file(sw_torrent_handle h, int file, const char *new_name);

/* ---- queuing (libtorrent's queue_position_* and auto_managed) ---- */

/* Every torrent that is not finished has a place in the session's download
 * queue: 0 is the front, positions have no gaps, new torrents go to the
 * back, and a torrent leaves the queue (-1) once finished. Auto-managed
 * torrents are started and paused by the session following the queue and
 * the active_* settings (see docs/settings.md: active_downloads,
 * active_seeds, active_limit, dont_count_slow_torrents, share_ratio_limit,
 * seed_time_ratio_limit, seed_time_limit); the paused flag of an
 * auto-managed torrent is the queue's to change, so pausing one by hand
 * lasts until the queue decides again: to keep one paused, turn
 * auto-management off first. */
SW_API int sw_torrent_queue_position_get(sw_torrent_handle h, int *position_out);
/* Moves the torrent one place towards the front / back, or to the very
 * front / back. No-ops for a finished torrent. */
SW_API int sw_torrent_queue_position_up(sw_torrent_handle h);
SW_API int sw_torrent_queue_position_down(sw_torrent_handle h);
SW_API int sw_torrent_queue_position_top(sw_torrent_handle h);
SW_API int sw_torrent_queue_position_bottom(sw_torrent_handle h);
/* Turns auto-management on or off (SW_ADD_AUTO_MANAGED at add time). */
SW_API int sw_torrent_auto_managed(sw_torrent_handle h, bool auto_managed);

/* ---- trackers ---- */

/* One of a torrent's trackers, in the order they are tried. */
typedef struct sw_tracker_status {
    const char *url; /* in the same allocation as the array */
    int tier;        /* 0-based BEP 12 tier */
    unsigned
        source;    /* bits: 1 the .torrent, 2 added through the API, 4 magnet, 8 tracker exchange */
    bool verified; /* it answered at least once */
    bool updating; /* a request to it is out */
    int fails;     /* failures in a row */
    int last_error; /* 0 or the error of its last failure */
    /* Its last failure or warning text, or NULL (same allocation). */
    const char *message;
    int64_t next_announce_ms; /* until the next regular announce; 0 if due, -1 if none planned */
    int64_t complete, incomplete, downloaded; /* its last counts; -1 unknown */
    int last_num_peers;                       /* peers in its last reply; -1 before one */
} sw_tracker_status;

/* The torrent's trackers; *trackers_out is one malloc'd block holding the
 * array and its strings (free() it; NULL when there are none). */
SW_API int sw_torrent_get_trackers(sw_torrent_handle h, sw_tracker_status **trackers_out,
                                   size_t *count_out);
/* Adds an http(s):// or udp:// tracker to tier (a running torrent announces
 * to it at once if the tier rules pick it). SW_ERR_TRACKER_BAD_URL for
 * another scheme, SW_ERR_EXISTS if it is listed already, SW_ERR_NOT_READY
 * for a torrent added by URL whose .torrent has not arrived. */
SW_API int sw_torrent_add_tracker(sw_torrent_handle h, const char *url, int tier);
/* Announces now, ignoring intervals: to the tracker at index, or (index < 0)
 * to those the tier rules pick. Only while the torrent runs
 * (SW_ERR_NOT_READY otherwise). */
SW_API int sw_torrent_force_reannounce(sw_torrent_handle h, int index);
/* Asks the tracker at index (index < 0: the first that is not failing) for
 * its counts; the answer is a scrape_reply or scrape_failed alert. */
SW_API int sw_torrent_scrape_tracker(sw_torrent_handle h, int index);

/* ---- web seeds (BEP 19 url-list) ---- */

/* Adds a web seed: an http(s) URL serving the torrent's file (single-file;
 * a URL ending in '/' gets the name appended) or the folder holding its
 * name folder (multi-file). The torrent's own url-list is used without
 * this. Adding a listed URL again does nothing. SW_ERR_INVALID_ARG for
 * another scheme or a URL over 4096 bytes. Failures show as url_seed
 * alerts (payload.tracker: url, text, status_code). */
SW_API int sw_torrent_add_url_seed(sw_torrent_handle h, const char *url);
/* Stops using a web seed (its request in flight is cancelled).
 * SW_ERR_NOT_FOUND if it is not one. */
SW_API int sw_torrent_remove_url_seed(sw_torrent_handle h, const char *url);
/* The web seeds in use, one URL per line in *urls_out (malloc'd, free()
 * it; "" when none), *count_out how many (may be NULL). */
SW_API int sw_torrent_url_seeds(sw_torrent_handle h, char **urls_out, int *count_out);

#ifdef __cplusplus
}
#endif
#endif
