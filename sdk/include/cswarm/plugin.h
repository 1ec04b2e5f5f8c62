/* Plugins: the hook tables a plugin fills, the host function table the
 * engine hands it, and the entry point that ties the two together. A plugin
 * includes only this header (and standard C headers).
 *
 * Shape. A plugin is a descriptor (sw_plugin_desc) with three optional hook
 * tables, one per level, as in libtorrent's extensions:
 *   session   one context per session the plugin is added to;
 *   torrent   new_torrent gives a context per torrent (or opts out);
 *   peer      new_connection gives a context per peer connection.
 * Every member of a hook table may be NULL ("not implemented"); NULL hooks
 * cost nothing: when a plugin is added the engine copies its tables and files
 * each implemented hook into a per-hook dispatch list, so an event walks only
 * the plugins that asked for it.
 *
 * Entry point. A loadable plugin exports one function,
 *
 *     int sw_plugin_<name>_init(const sw_host *host, sw_plugin_desc *out,
 *                               char **errmsg);
 *
 * where <name> is the file name without a "lib" prefix and the extension
 * (ut_pex.so -> sw_plugin_ut_pex_init); the loader falls back to
 * sw_plugin_init. It runs once for each session the plugin is added to:
 *
 *     #include <cswarm/plugin.h>
 *     SW_PLUGIN_INIT1
 *
 *     SW_PLUGIN_ENTRY(hello)    // sw_plugin_hello_init(host, out, errmsg)
 *     {
 *         SW_PLUGIN_INIT2(host, errmsg);   // ABI check, stores host
 *         SW_PLUGIN_DESC_INIT(out, "hello", "1.0");
 *         out->torrent_hooks = &my_torrent_hooks;
 *         return SW_OK;
 *     }
 *
 * A negative return refuses the plugin; *errmsg may then hold a message
 * allocated with sw_plugin_malloc (the host frees it).
 *
 * Calling the engine. A plugin calls the engine only through the host table
 * (sw_host). SW_PLUGIN_INIT1 defines the pointer the table is kept in and the
 * macros below map the usual names onto it (sw_bdecode(...) becomes
 * sw_plugin_host_->bdecode(...)), so a plugin .so has no link-time dependency
 * on libcswarm (build it with -Wl,--no-undefined to prove it). When the same
 * source is compiled into libcswarm with SW_PLUGIN_BUILTIN defined, the
 * macros vanish and the calls go straight to the engine's functions.
 *
 * Versions. SW_PLUGIN_ABI_MAJOR changes when anything breaks and must match
 * exactly; SW_PLUGIN_ABI_MINOR only grows: new host functions and hooks are
 * appended at the end of their struct, grouped by the minor that added them.
 * Every struct that crosses the boundary starts with a version or a size, so
 * the engine reads a plugin's tables only up to the size the plugin was built
 * with, and a plugin that wants a newer host function checks
 * host->abi_minor (or the pointer for NULL) first. SW_PLUGIN_SIGNATURE adds
 * the build choices that change layouts (pointer, long and int sizes, byte
 * order); a mismatch is refused with a message naming both values.
 *
 * Return codes. Hooks return SW_OK (0) to let the event continue to the next
 * plugin and the engine's own handling, SW_HANDLED (> 0) to claim it (the
 * chain stops and the engine skips its default handling, where the hook says
 * it may), or a negative SW_ERR_* code for a failure. A failing peer hook
 * disconnects that peer; a failing session or torrent hook disables the
 * plugin in that session with a plugin_error alert, and the session goes on.
 *
 * Threading. Every hook runs on the session's network thread, and host
 * functions may be called only from there (inside a hook or a completion the
 * host runs). Hooks must not block: slow work goes through sw_plugin_queue_work.
 *
 * Ownership. Engine objects reach plugins as opaque handles valid for the
 * lifetime the hook documentation states (a peer from new_connection to its
 * destroy hook, a torrent from new_torrent to its destroy hook). Hook
 * arguments (buffers, bencode nodes, endpoints) are borrowed for the call:
 * copy what you keep. Memory crossing the boundary uses sw_plugin_malloc/sw_plugin_free.
 * Destroy hooks run before the engine frees the object, peers before their
 * torrent, torrents before the session level, the session level last. */
#ifndef CSWARM_PLUGIN_H
#define CSWARM_PLUGIN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "alert.h"
#include "bencode.h"
#include "error.h"
#include "torrent_info.h"
#include "version.h"

#ifdef __cplusplus
extern "C" {
#endif

#define SW_PLUGIN_ABI_MAJOR 1
#define SW_PLUGIN_ABI_MINOR 1

#define SW_PLUGIN_STR2_(x) #x
#define SW_PLUGIN_STR_(x) SW_PLUGIN_STR2_(x)
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
#define SW_PLUGIN_ENDIAN_ "be"
#else
#define SW_PLUGIN_ENDIAN_ "le"
#endif
/* Build choices that change struct layouts across the boundary. */
#define SW_PLUGIN_SIGNATURE                                                                        \
    "abi" SW_PLUGIN_STR_(SW_PLUGIN_ABI_MAJOR) "-p" SW_PLUGIN_STR_(                                 \
        __SIZEOF_POINTER__) "-l" SW_PLUGIN_STR_(__SIZEOF_LONG__) "-i" SW_PLUGIN_STR_(__SIZEOF_INT__) "-" SW_PLUGIN_ENDIAN_

/* A hook claimed the event (see "Return codes" above). */
#define SW_HANDLED 1

/* Opaque engine objects. An sw_plugin_session is this plugin's place in one
 * session (it knows which plugin is calling); torrents and peers are the
 * engine's own objects, shared by every plugin. */
typedef struct sw_plugin_session sw_plugin_session;
typedef struct sw_plugin_torrent sw_plugin_torrent;
typedef struct sw_plugin_peer sw_plugin_peer;

/* A peer address. */
typedef struct sw_plugin_endpoint {
    uint8_t family;   /* SW_PLUGIN_IPV4 or SW_PLUGIN_IPV6; 0 = none */
    uint8_t addr[16]; /* network byte order; IPv4 uses the first 4 bytes */
    uint16_t port;    /* host byte order */
} sw_plugin_endpoint;

enum { SW_PLUGIN_IPV4 = 4, SW_PLUGIN_IPV6 = 6 };

/* Where a peer address came from (bit values as libtorrent's peer_info). */
enum sw_plugin_peer_source {
    SW_PLUGIN_SRC_TRACKER = 1u << 0,
    SW_PLUGIN_SRC_DHT = 1u << 1,
    SW_PLUGIN_SRC_PEX = 1u << 2,
    SW_PLUGIN_SRC_LSD = 1u << 3,
    SW_PLUGIN_SRC_RESUME = 1u << 4,
    SW_PLUGIN_SRC_INCOMING = 1u << 5,
    SW_PLUGIN_SRC_MANUAL = 1u << 6,
};

/* Facts about a connection (sw_plugin_peer_flags). */
enum sw_plugin_peer_flag {
    SW_PLUGIN_PEER_OUTGOING = 1u << 0,    /* we opened the connection */
    SW_PLUGIN_PEER_SEED = 1u << 1,        /* it has every piece */
    SW_PLUGIN_PEER_UPLOAD_ONLY = 1u << 2, /* BEP 21 upload_only */
    SW_PLUGIN_PEER_EXTENSIONS = 1u << 3,  /* both sides speak BEP 10 */
    SW_PLUGIN_PEER_FAST = 1u << 4,        /* both sides speak BEP 6 */
    SW_PLUGIN_PEER_CONNECTABLE = 1u << 5, /* its listen endpoint is known */
    SW_PLUGIN_PEER_UTP = 1u << 6,         /* carried over uTP */
};

/* Flags of a torrent's tracker entry (sw_plugin_torrent_tracker). */
enum sw_plugin_tracker_flag {
    SW_PLUGIN_TRACKER_FROM_TORRENT = 1u << 0, /* in the .torrent file or magnet link */
    SW_PLUGIN_TRACKER_FROM_PEER = 1u << 1,    /* learned from a peer (tracker exchange) */
    SW_PLUGIN_TRACKER_ANSWERED = 1u << 2,     /* it has answered an announce */
    SW_PLUGIN_TRACKER_FROM_USER = 1u << 3,    /* added through the API */
};

/* ---- hook tables ------------------------------------------------------ */

/* Peer level. ctx is what new_connection returned. The peer handle is valid
 * until destroy. */
typedef struct sw_peer_hooks {
    uint32_t struct_size; /* sizeof(sw_peer_hooks) as the plugin was built */

    /* The connection is closing (error 0 or why). Messages no longer flow;
     * host calls on p still answer. */
    int (*on_disconnect)(void *ctx, sw_plugin_peer *p, int error);
    /* Last call for ctx, when the engine frees the connection. */
    void (*destroy)(void *ctx);

    /* BEP 10. enc has the handshake dictionary open: add keys (not "m":
     * extension names come from sw_plugin_desc.extensions). */
    int (*add_handshake)(void *ctx, sw_plugin_peer *p, sw_bencoder *enc);
    /* The peer's handshake dictionary (borrowed). */
    int (*on_extension_handshake)(void *ctx, sw_plugin_peer *p, sw_bnode dict);
    /* An extended message: msg_id is the id we gave the extension in our
     * handshake (sw_plugin_extension_id), data the payload after it. Every plugin
     * that implements it sees the message until one claims it. */
    int (*on_extended)(void *ctx, sw_plugin_peer *p, uint8_t msg_id, const uint8_t *data,
                       size_t len);

    /* Incoming messages, before the engine handles them (already checked
     * against the torrent). SW_HANDLED makes the engine skip its handling:
     * only claim a message whose effect you take over. */
    int (*on_choke)(void *ctx, sw_plugin_peer *p);
    int (*on_unchoke)(void *ctx, sw_plugin_peer *p);
    int (*on_interested)(void *ctx, sw_plugin_peer *p);
    int (*on_not_interested)(void *ctx, sw_plugin_peer *p);
    int (*on_have)(void *ctx, sw_plugin_peer *p, uint32_t index);
    int (*on_bitfield)(void *ctx, sw_plugin_peer *p, const uint8_t *bits, size_t len);
    int (*on_have_all)(void *ctx, sw_plugin_peer *p);
    int (*on_have_none)(void *ctx, sw_plugin_peer *p);
    int (*on_allowed_fast)(void *ctx, sw_plugin_peer *p, uint32_t index);
    int (*on_suggest)(void *ctx, sw_plugin_peer *p, uint32_t index);
    int (*on_request)(void *ctx, sw_plugin_peer *p, uint32_t index, uint32_t begin,
                      uint32_t length);
    int (*on_cancel)(void *ctx, sw_plugin_peer *p, uint32_t index, uint32_t begin, uint32_t length);
    int (*on_reject)(void *ctx, sw_plugin_peer *p, uint32_t index, uint32_t begin, uint32_t length);
    int (*on_piece)(void *ctx, sw_plugin_peer *p, uint32_t index, uint32_t begin,
                    const uint8_t *data, size_t len);
    /* A message id the engine does not know. */
    int (*on_unknown_message)(void *ctx, sw_plugin_peer *p, uint8_t id, const uint8_t *data,
                              size_t len);

    /* Torrent events, told to each connected peer's plugin. */
    int (*on_piece_pass)(void *ctx, sw_plugin_peer *p, int piece);
    int (*on_piece_failed)(void *ctx, sw_plugin_peer *p, int piece);
    /* About once a second (setting tick_interval). */
    int (*on_tick)(void *ctx, sw_plugin_peer *p);
} sw_peer_hooks;

/* Torrent level. ctx is what new_torrent returned. The torrent handle is
 * valid until destroy. */
typedef struct sw_torrent_hooks {
    uint32_t struct_size;

    /* The torrent was removed and is being freed (its peers' destroy hooks
     * ran first). Last call for ctx. */
    void (*destroy)(void *ctx);
    /* A peer finished the BitTorrent handshake, before anything is sent
     * beyond it. Set *peer_ctx_out to attach (any non-NULL pointer), leave it
     * NULL to ignore the peer. A negative return refuses the peer: it is
     * disconnected (no other hook sees it). */
    int (*new_connection)(void *ctx, sw_plugin_torrent *t, sw_plugin_peer *p, void **peer_ctx_out);
    /* A piece passed / failed its hash check. During on_piece_failed the
     * piece's blocks still name their senders (sw_plugin_torrent_block_senders) and
     * its data is still on disk (sw_plugin_torrent_read holds it until the read
     * completes). */
    int (*on_piece_pass)(void *ctx, sw_plugin_torrent *t, int piece);
    int (*on_piece_failed)(void *ctx, sw_plugin_torrent *t, int piece);
    int (*on_tick)(void *ctx, sw_plugin_torrent *t);
    /* The user pauses / resumes the torrent. SW_HANDLED overrides the
     * engine's handling (and later plugins'). */
    int (*on_pause)(void *ctx, sw_plugin_torrent *t);
    int (*on_resume)(void *ctx, sw_plugin_torrent *t);
    /* The files were checked: the torrent can transfer now. */
    int (*on_files_checked)(void *ctx, sw_plugin_torrent *t);
    /* The state changed (sw_plugin_torrent_state values, torrent.h). */
    int (*on_state)(void *ctx, sw_plugin_torrent *t, int state);
    /* A new address joined the torrent's list of known peers (source:
     * SW_PLUGIN_SRC_* bits). */
    int (*on_add_peer)(void *ctx, sw_plugin_torrent *t, const sw_plugin_endpoint *ep,
                       unsigned source);
    /* A torrent added without metadata (magnet) received and verified it.
     * Its connections were closed to start over with the full torrent. */
    int (*on_metadata)(void *ctx, sw_plugin_torrent *t);
} sw_torrent_hooks;

/* Session level. ctx is sw_plugin_desc.ctx. */
typedef struct sw_session_hooks {
    uint32_t struct_size;

    /* The plugin joined session s (first hook called; s is valid until
     * destroy). */
    int (*added)(void *ctx, sw_plugin_session *s);
    /* The session ends or the plugin was disabled: every torrent and peer
     * context is already destroyed. Last call for ctx. */
    void (*destroy)(void *ctx);
    /* A torrent joined the session (or was there when the plugin was
     * added). Set *torrent_ctx_out (non-NULL) to attach, leave it NULL to
     * opt out. */
    int (*new_torrent)(void *ctx, sw_plugin_torrent *t, void **torrent_ctx_out);
    int (*on_tick)(void *ctx);
    /* Every alert the session posts (those the alert mask lets through),
     * borrowed for the call. */
    int (*on_alert)(void *ctx, const sw_alert *a);
    /* sw_session_save_state: enc has the plugin's own dictionary open (under
     * "plugins" -> name); add keys to it. */
    int (*save_state)(void *ctx, sw_bencoder *enc);
    /* sw_session_load_state found the plugin's dictionary (borrowed). */
    int (*load_state)(void *ctx, sw_bnode dict);
} sw_session_hooks;

enum sw_plugin_desc_flags {
    /* Never dlclose the module (it left threads, atexit handlers, ...). */
    SW_PLUGIN_KEEP_LOADED = 1u << 0,
};

/* What the entry point fills. The host zeroes it first. */
typedef struct sw_plugin_desc {
    uint32_t abi_major;    /* SW_PLUGIN_ABI_MAJOR the plugin was built with */
    uint32_t abi_minor;    /* SW_PLUGIN_ABI_MINOR the plugin was built with */
    uint32_t struct_size;  /* sizeof(sw_plugin_desc) as the plugin was built */
    const char *signature; /* SW_PLUGIN_SIGNATURE */
    const char *name;      /* static; letters, digits, '_' and '-' */
    const char *version;   /* static; may be NULL */
    unsigned flags;        /* SW_PLUGIN_KEEP_LOADED */
    /* BEP 10 extension names the plugin speaks (NULL-terminated, static),
     * advertised in the "m" dictionary to peers the plugin attached to. */
    const char *const *extensions;
    void *ctx; /* the session-level context */
    const sw_session_hooks *session_hooks;
    const sw_torrent_hooks *torrent_hooks;
    const sw_peer_hooks *peer_hooks;
} sw_plugin_desc;

/* ---- the host table --------------------------------------------------- */

/* A read of torrent data finished: error 0 and len bytes at data (borrowed
 * for the call), or an error (SW_ERR_ABORTED when the torrent went away; do
 * not touch torrent state then). Called exactly once, on the network
 * thread, never from inside sw_plugin_torrent_read itself. */
typedef void (*sw_plugin_read_cb)(void *user, int error, const uint8_t *data, size_t len);
/* sw_plugin_queue_work: work runs on a worker thread (no host calls there); done
 * runs on the network thread afterwards with the work's result, or
 * SW_ERR_ABORTED if the session shut down before it could run. */
typedef int (*sw_plugin_work_fn)(void *user);
typedef void (*sw_plugin_done_fn)(void *user, int result);

typedef struct sw_host {
    uint32_t abi_major;
    uint32_t abi_minor;
    uint32_t struct_size; /* sizeof(sw_host) in the engine */
    const char *signature;
    const char *engine_version; /* "0.1.0" */

    /* ---- 1.0 ---- */

    /* Memory that crosses the boundary (errmsg, buffers the host frees). */
    void *(*malloc)(size_t n);
    void *(*realloc)(void *p, size_t n);
    void (*free)(void *p);
    const char *(*strerror)(int err);
    /* Monotonic milliseconds. */
    uint64_t (*now_ms)(void);
    /* SHA-1 of data into out. */
    void (*sha1)(const void *data, size_t len, uint8_t out[20]);

    /* A log line as a log alert (session_log, or torrent_log when t is
     * given), prefixed with the plugin's name. */
    void (*log)(sw_plugin_session *s, sw_plugin_torrent *t, const char *fmt, ...)
#if defined(__GNUC__)
        __attribute__((format(printf, 3, 4)))
#endif
        ;
    /* Settings by libtorrent-style name: 0, SW_ERR_UNKNOWN_SETTING or
     * SW_ERR_SETTING_TYPE. A string is borrowed until the hook returns. */
    int (*setting_int)(sw_plugin_session *s, const char *name, int *value_out);
    int (*setting_bool)(sw_plugin_session *s, const char *name, bool *value_out);
    int (*setting_str)(sw_plugin_session *s, const char *name, const char **value_out);
    /* The id we give a BEP 10 extension name in our handshakes (0 if no
     * plugin of the session declared it). */
    int (*extension_id)(sw_plugin_session *s, const char *name);
    /* Runs work on a worker thread, then done on the network thread. */
    int (*queue_work)(sw_plugin_session *s, sw_plugin_work_fn work, sw_plugin_done_fn done,
                      void *user);

    /* Bencode (see bencode.h). */
    int (*bdecode)(const void *buf, size_t len, const sw_bdecode_opts *opts, sw_bdoc **doc_out,
                   sw_bdecode_error *err_out);
    void (*bdoc_free)(sw_bdoc *doc);
    sw_bnode (*bdoc_root)(const sw_bdoc *doc);
    sw_bnode_type (*bnode_type_of)(sw_bnode n);
    bool (*bnode_is)(sw_bnode n, sw_bnode_type t);
    bool (*bnode_raw)(sw_bnode n, const uint8_t **data_out, size_t *len_out);
    const char *(*bnode_str)(sw_bnode n, size_t *len_out);
    bool (*bnode_str_eq)(sw_bnode n, const char *s);
    int64_t (*bnode_int)(sw_bnode n);
    size_t (*bnode_len)(sw_bnode n);
    sw_bnode (*bnode_list_at)(sw_bnode list, size_t i);
    bool (*bnode_dict_at)(sw_bnode dict, size_t i, sw_bnode *key_out, sw_bnode *value_out);
    sw_bnode (*bnode_dict_find)(sw_bnode dict, const void *key, size_t key_len);
    sw_bnode (*bnode_dict_get)(sw_bnode dict, const char *key);
    bool (*bnode_dict_get_int)(sw_bnode dict, const char *key, int64_t *out);
    bool (*bnode_dict_get_str)(sw_bnode dict, const char *key, const char **str_out,
                               size_t *len_out);
    int (*benc_new)(sw_bencoder **enc_out);
    void (*benc_free)(sw_bencoder *enc);
    int (*benc_int)(sw_bencoder *enc, int64_t v);
    int (*benc_str)(sw_bencoder *enc, const void *s, size_t len);
    int (*benc_cstr)(sw_bencoder *enc, const char *s);
    int (*benc_list_begin)(sw_bencoder *enc);
    int (*benc_dict_begin)(sw_bencoder *enc);
    int (*benc_end)(sw_bencoder *enc);
    int (*benc_key)(sw_bencoder *enc, const void *key, size_t len);
    int (*benc_ckey)(sw_bencoder *enc, const char *key);
    int (*benc_raw)(sw_bencoder *enc, const void *raw, size_t len);
    int (*benc_node)(sw_bencoder *enc, sw_bnode n);
    /* The result is freed with sw_plugin_free. */
    int (*benc_finish)(sw_bencoder *enc, uint8_t **buf_out, size_t *len_out);

    /* Torrents. */
    uint64_t (*torrent_id)(sw_plugin_torrent *t); /* its handle id (never reused) */
    void (*torrent_info_hash)(sw_plugin_torrent *t, uint8_t out[20]);
    const char *(*torrent_name)(sw_plugin_torrent *t);
    int (*torrent_state)(sw_plugin_torrent *t);
    bool (*torrent_has_metadata)(sw_plugin_torrent *t);
    /* False until the metadata is known. */
    bool (*torrent_is_private)(sw_plugin_torrent *t);
    int (*torrent_num_pieces)(sw_plugin_torrent *t);            /* 0 without metadata */
    int (*torrent_piece_size)(sw_plugin_torrent *t, int piece); /* 0 if out of range */
    /* The bencoded info dictionary (borrowed while the torrent lives), or
     * SW_ERR_NOT_READY without metadata. */
    int (*torrent_metadata)(sw_plugin_torrent *t, const uint8_t **data_out, size_t *len_out);
    /* Gives a torrent added without metadata its info dictionary (copied).
     * It must hash to the info-hash (SW_ERR_METAINFO_HASH_MISMATCH), be at
     * most max_metadata_size bytes (SW_ERR_METAINFO_TOO_LARGE) and load as
     * a torrent (the loader's SW_ERR_METAINFO_* codes). On success the
     * torrent's connections close, it checks its files and goes on as if
     * added from a .torrent; on_metadata hooks run before this returns.
     * SW_ERR_EXISTS if it already has metadata. */
    int (*torrent_set_metadata)(sw_plugin_torrent *t, const uint8_t *info, size_t len);
    /* Adds a known peer address (source: one SW_PLUGIN_SRC_* bit). */
    int (*torrent_add_peer)(sw_plugin_torrent *t, const sw_plugin_endpoint *ep, unsigned source);
    /* The active connections: writes up to max handles to out, returns how
     * many there are (may exceed max). Handles are valid during this hook. */
    size_t (*torrent_peers)(sw_plugin_torrent *t, sw_plugin_peer **out, size_t max);
    /* Bans an address (never connected again) and drops its connection,
     * with a peer_ban alert carrying reason. */
    int (*torrent_ban_peer)(sw_plugin_torrent *t, const sw_plugin_endpoint *ep, const char *reason);
    /* Who sent each block of a piece that is downloading or just failed:
     * out[i] for block i (family 0 if unknown), up to max entries; returns
     * the number of blocks in the piece, or a negative code. */
    int (*torrent_block_senders)(sw_plugin_torrent *t, int piece, sw_plugin_endpoint *out, int max);
    /* Reads len bytes at offset of piece from disk (asynchronously; see
     * sw_plugin_read_cb). A piece that just failed its hash check is not
     * downloaded again until such reads complete. */
    int (*torrent_read)(sw_plugin_torrent *t, int piece, int offset, int len, sw_plugin_read_cb cb,
                        void *user);
    /* The torrent's trackers in the order they are tried, as the engine
     * announces to them. num_trackers takes a snapshot that tracker(i)
     * reads: call it first; url and flags (SW_PLUGIN_TRACKER_*) are
     * borrowed until the next num_trackers call or the end of the hook. */
    int (*torrent_num_trackers)(sw_plugin_torrent *t);
    int (*torrent_tracker)(sw_plugin_torrent *t, int i, const char **url_out, unsigned *flags_out);
    /* Adds an http(s):// or udp:// tracker URL in a tier after the existing
     * ones (flags: SW_PLUGIN_TRACKER_FROM_PEER for one learned from a peer).
     * 0, SW_ERR_EXISTS if already there, SW_ERR_TRACKER_BAD_URL. */
    int (*torrent_add_tracker)(sw_plugin_torrent *t, const char *url, unsigned flags);

    /* Peers. */
    sw_plugin_torrent *(*peer_torrent)(sw_plugin_peer *p);
    /* The remote address of the connection. */
    void (*peer_endpoint)(sw_plugin_peer *p, sw_plugin_endpoint *out);
    /* Where the peer accepts connections (its listen port), if known. */
    bool (*peer_listen_endpoint)(sw_plugin_peer *p, sw_plugin_endpoint *out);
    void (*peer_id)(sw_plugin_peer *p, uint8_t out[20]);
    const char *(*peer_client)(sw_plugin_peer *p); /* borrowed until the hook returns */
    unsigned (*peer_flags)(sw_plugin_peer *p);     /* SW_PLUGIN_PEER_* */
    /* Sends an extended message: msg_id is the id the peer gave the
     * extension in its handshake. The payload is copied. */
    int (*peer_send_extended)(sw_plugin_peer *p, uint8_t msg_id, const uint8_t *payload,
                              size_t len);
    /* Closes the connection (error 0 or why; reason for alerts). Hooks of
     * this peer see on_disconnect and then nothing more but destroy. */
    void (*peer_disconnect)(sw_plugin_peer *p, int error, const char *reason);

    /* ---- 1.1 ---- */

    /* Posts a plugin_alert whose message is "[name] message" (copied),
     * about torrent t when given (may be NULL). */
    int (*post_alert)(sw_plugin_session *s, sw_plugin_torrent *t, const char *message);
    /* Disables the calling plugin in this session, as a failing session
     * hook does: a plugin_error alert carrying message (error 0 reports
     * SW_ERR_PLUGIN_FAILED), no more hooks, contexts destroyed at the next
     * tick. Callable from any hook; the hook's return value still counts. */
    void (*disable)(sw_plugin_session *s, int error, const char *message);
    /* Pieces downloaded and verified (0 without metadata). */
    int (*torrent_num_have)(sw_plugin_torrent *t);
} sw_host;

/* ---- entry point and macros ------------------------------------------- */

typedef int (*sw_plugin_init_fn)(const sw_host *host, sw_plugin_desc *out, char **errmsg);

/* Marks the entry point of a loadable module (the only symbol it exports;
 * build with -fvisibility=hidden). Empty when built into libcswarm. */
#if defined(__GNUC__) && !defined(SW_PLUGIN_BUILTIN)
#define SW_PLUGIN_EXPORT __attribute__((visibility("default")))
#else
#define SW_PLUGIN_EXPORT
#endif

/* Declares and opens the definition of the entry point of plugin NAME,
 * with parameters host, out and errmsg:
 *     SW_PLUGIN_ENTRY(hello) { SW_PLUGIN_INIT2(host, errmsg); ... } */
#define SW_PLUGIN_ENTRY(name)                                                                      \
    SW_PLUGIN_EXPORT int sw_plugin_##name##_init(const sw_host *host, sw_plugin_desc *out,         \
                                                 char **errmsg);                                   \
    SW_PLUGIN_EXPORT int sw_plugin_##name##_init(const sw_host *host, sw_plugin_desc *out,         \
                                                 char **errmsg)

/* Fills the version fields of a descriptor. */
#define SW_PLUGIN_DESC_INIT(desc, plugin_name, plugin_version)                                     \
    do {                                                                                           \
        (desc)->abi_major = SW_PLUGIN_ABI_MAJOR;                                                   \
        (desc)->abi_minor = SW_PLUGIN_ABI_MINOR;                                                   \
        (desc)->struct_size = (uint32_t)sizeof(sw_plugin_desc);                                    \
        (desc)->signature = SW_PLUGIN_SIGNATURE;                                                   \
        (desc)->name = (plugin_name);                                                              \
        (desc)->version = (plugin_version);                                                        \
    } while (0)

#ifdef SW_PLUGIN_BUILTIN

/* Compiled into libcswarm: the host functions are called directly. */
#define SW_PLUGIN_INIT1
#define SW_PLUGIN_INIT3
#define SW_PLUGIN_INIT2(host, errmsg)                                                              \
    do {                                                                                           \
        (void)(host);                                                                              \
        (void)(errmsg);                                                                            \
    } while (0)

void *sw_plugin_malloc(size_t n);
void *sw_plugin_realloc(void *p, size_t n);
void sw_plugin_free(void *p);
uint64_t sw_plugin_now_ms(void);
void sw_plugin_sha1(const void *data, size_t len, uint8_t out[20]);
void sw_plugin_log(sw_plugin_session *s, sw_plugin_torrent *t, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;
int sw_plugin_setting_int(sw_plugin_session *s, const char *name, int *value_out);
int sw_plugin_setting_bool(sw_plugin_session *s, const char *name, bool *value_out);
int sw_plugin_setting_str(sw_plugin_session *s, const char *name, const char **value_out);
int sw_plugin_extension_id(sw_plugin_session *s, const char *name);
int sw_plugin_queue_work(sw_plugin_session *s, sw_plugin_work_fn work, sw_plugin_done_fn done,
                         void *user);
uint64_t sw_plugin_torrent_id(sw_plugin_torrent *t);
void sw_plugin_torrent_info_hash(sw_plugin_torrent *t, uint8_t out[20]);
const char *sw_plugin_torrent_name(sw_plugin_torrent *t);
int sw_plugin_torrent_state(sw_plugin_torrent *t);
bool sw_plugin_torrent_has_metadata(sw_plugin_torrent *t);
bool sw_plugin_torrent_is_private(sw_plugin_torrent *t);
int sw_plugin_torrent_num_pieces(sw_plugin_torrent *t);
int sw_plugin_torrent_piece_size(sw_plugin_torrent *t, int piece);
int sw_plugin_torrent_metadata(sw_plugin_torrent *t, const uint8_t **data_out, size_t *len_out);
int sw_plugin_torrent_set_metadata(sw_plugin_torrent *t, const uint8_t *info, size_t len);
int sw_plugin_torrent_add_peer(sw_plugin_torrent *t, const sw_plugin_endpoint *ep, unsigned source);
size_t sw_plugin_torrent_peers(sw_plugin_torrent *t, sw_plugin_peer **out, size_t max);
int sw_plugin_torrent_ban_peer(sw_plugin_torrent *t, const sw_plugin_endpoint *ep,
                               const char *reason);
int sw_plugin_torrent_block_senders(sw_plugin_torrent *t, int piece, sw_plugin_endpoint *out,
                                    int max);
int sw_plugin_torrent_read(sw_plugin_torrent *t, int piece, int offset, int len,
                           sw_plugin_read_cb cb, void *user);
int sw_plugin_torrent_num_trackers(sw_plugin_torrent *t);
int sw_plugin_torrent_tracker(sw_plugin_torrent *t, int i, const char **url_out,
                              unsigned *flags_out);
int sw_plugin_torrent_add_tracker(sw_plugin_torrent *t, const char *url, unsigned flags);
sw_plugin_torrent *sw_plugin_peer_torrent(sw_plugin_peer *p);
void sw_plugin_peer_endpoint(sw_plugin_peer *p, sw_plugin_endpoint *out);
bool sw_plugin_peer_listen_endpoint(sw_plugin_peer *p, sw_plugin_endpoint *out);
void sw_plugin_peer_id(sw_plugin_peer *p, uint8_t out[20]);
const char *sw_plugin_peer_client(sw_plugin_peer *p);
unsigned sw_plugin_peer_flags(sw_plugin_peer *p);
int sw_plugin_peer_send_extended(sw_plugin_peer *p, uint8_t msg_id, const uint8_t *payload,
                                 size_t len);
void sw_plugin_peer_disconnect(sw_plugin_peer *p, int error, const char *reason);
int sw_plugin_post_alert(sw_plugin_session *s, sw_plugin_torrent *t, const char *message);
void sw_plugin_disable(sw_plugin_session *s, int error, const char *message);
int sw_plugin_torrent_num_have(sw_plugin_torrent *t);

#else /* a loadable module */

/* Defines the host pointer (once per module; weak, so a module whose files
 * all say INIT1 still links). INIT3 declares it in further files. */
#define SW_PLUGIN_INIT1                                                                            \
    __attribute__((weak, visibility("hidden"))) const sw_host *sw_plugin_host_ = 0;
#define SW_PLUGIN_INIT3 extern const sw_host *sw_plugin_host_;
/* First statement of the entry point: refuses a host of another major ABI
 * version or build signature, then keeps the table. */
#define SW_PLUGIN_INIT2(host, errmsg)                                                              \
    do {                                                                                           \
        int sw_plugin_rc_ = sw_plugin_check_host_((host), (errmsg));                               \
        if (sw_plugin_rc_ < 0)                                                                     \
            return sw_plugin_rc_;                                                                  \
        sw_plugin_host_ = (host);                                                                  \
    } while (0)

static inline int sw_plugin_check_host_(const sw_host *host, char **errmsg)
{
    (void)errmsg;
    if (!host || host->abi_major != SW_PLUGIN_ABI_MAJOR ||
        host->struct_size < (uint32_t)sizeof(uint32_t) * 3)
        return SW_ERR_NOT_SUPPORTED;
    const char *a = host->signature, *b = SW_PLUGIN_SIGNATURE;
    while (*a && *a == *b) {
        a++;
        b++;
    }
    return *a == *b ? SW_OK : SW_ERR_NOT_SUPPORTED;
}

#define sw_plugin_malloc sw_plugin_host_->malloc
#define sw_plugin_realloc sw_plugin_host_->realloc
#define sw_plugin_free sw_plugin_host_->free
#define sw_strerror sw_plugin_host_->strerror
#define sw_plugin_now_ms sw_plugin_host_->now_ms
#define sw_plugin_sha1 sw_plugin_host_->sha1
#define sw_plugin_log sw_plugin_host_->log
#define sw_plugin_setting_int sw_plugin_host_->setting_int
#define sw_plugin_setting_bool sw_plugin_host_->setting_bool
#define sw_plugin_setting_str sw_plugin_host_->setting_str
#define sw_plugin_extension_id sw_plugin_host_->extension_id
#define sw_plugin_queue_work sw_plugin_host_->queue_work
#define sw_bdecode sw_plugin_host_->bdecode
#define sw_bdoc_free sw_plugin_host_->bdoc_free
#define sw_bdoc_root sw_plugin_host_->bdoc_root
#define sw_bnode_type_of sw_plugin_host_->bnode_type_of
#define sw_bnode_is sw_plugin_host_->bnode_is
#define sw_bnode_raw sw_plugin_host_->bnode_raw
#define sw_bnode_str sw_plugin_host_->bnode_str
#define sw_bnode_str_eq sw_plugin_host_->bnode_str_eq
#define sw_bnode_int sw_plugin_host_->bnode_int
#define sw_bnode_len sw_plugin_host_->bnode_len
#define sw_bnode_list_at sw_plugin_host_->bnode_list_at
#define sw_bnode_dict_at sw_plugin_host_->bnode_dict_at
#define sw_bnode_dict_find sw_plugin_host_->bnode_dict_find
#define sw_bnode_dict_get sw_plugin_host_->bnode_dict_get
#define sw_bnode_dict_get_int sw_plugin_host_->bnode_dict_get_int
#define sw_bnode_dict_get_str sw_plugin_host_->bnode_dict_get_str
#define sw_benc_new sw_plugin_host_->benc_new
#define sw_benc_free sw_plugin_host_->benc_free
#define sw_benc_int sw_plugin_host_->benc_int
#define sw_benc_str sw_plugin_host_->benc_str
#define sw_benc_cstr sw_plugin_host_->benc_cstr
#define sw_benc_list_begin sw_plugin_host_->benc_list_begin
#define sw_benc_dict_begin sw_plugin_host_->benc_dict_begin
#define sw_benc_end sw_plugin_host_->benc_end
#define sw_benc_key sw_plugin_host_->benc_key
#define sw_benc_ckey sw_plugin_host_->benc_ckey
#define sw_benc_raw sw_plugin_host_->benc_raw
#define sw_benc_node sw_plugin_host_->benc_node
#define sw_benc_finish sw_plugin_host_->benc_finish
#define sw_plugin_torrent_id sw_plugin_host_->torrent_id
#define sw_plugin_torrent_info_hash sw_plugin_host_->torrent_info_hash
#define sw_plugin_torrent_name sw_plugin_host_->torrent_name
#define sw_plugin_torrent_state sw_plugin_host_->torrent_state
#define sw_plugin_torrent_has_metadata sw_plugin_host_->torrent_has_metadata
#define sw_plugin_torrent_is_private sw_plugin_host_->torrent_is_private
#define sw_plugin_torrent_num_pieces sw_plugin_host_->torrent_num_pieces
#define sw_plugin_torrent_piece_size sw_plugin_host_->torrent_piece_size
#define sw_plugin_torrent_metadata sw_plugin_host_->torrent_metadata
#define sw_plugin_torrent_set_metadata sw_plugin_host_->torrent_set_metadata
#define sw_plugin_torrent_add_peer sw_plugin_host_->torrent_add_peer
#define sw_plugin_torrent_peers sw_plugin_host_->torrent_peers
#define sw_plugin_torrent_ban_peer sw_plugin_host_->torrent_ban_peer
#define sw_plugin_torrent_block_senders sw_plugin_host_->torrent_block_senders
#define sw_plugin_torrent_read sw_plugin_host_->torrent_read
#define sw_plugin_torrent_num_trackers sw_plugin_host_->torrent_num_trackers
#define sw_plugin_torrent_tracker sw_plugin_host_->torrent_tracker
#define sw_plugin_torrent_add_tracker sw_plugin_host_->torrent_add_tracker
#define sw_plugin_peer_torrent sw_plugin_host_->peer_torrent
#define sw_plugin_peer_endpoint sw_plugin_host_->peer_endpoint
#define sw_plugin_peer_listen_endpoint sw_plugin_host_->peer_listen_endpoint
#define sw_plugin_peer_id sw_plugin_host_->peer_id
#define sw_plugin_peer_client sw_plugin_host_->peer_client
#define sw_plugin_peer_flags sw_plugin_host_->peer_flags
#define sw_plugin_peer_send_extended sw_plugin_host_->peer_send_extended
#define sw_plugin_peer_disconnect sw_plugin_host_->peer_disconnect
/* 1.1: check sw_plugin_host_->abi_minor >= 1 before calling these. */
#define sw_plugin_post_alert sw_plugin_host_->post_alert
#define sw_plugin_disable sw_plugin_host_->disable
#define sw_plugin_torrent_num_have sw_plugin_host_->torrent_num_have

#endif /* SW_PLUGIN_BUILTIN */

#ifdef __cplusplus
}
#endif
#endif
