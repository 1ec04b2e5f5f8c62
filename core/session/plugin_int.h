/* Private to core/session: the plugin registry of a session, per-torrent and
 * per-connection plugin state, and the dispatch functions the session,
 * torrent and peer code call at their hook points.
 *
 * Registry. Each plugin added to a session gets a slot (sw_plugin_session,
 * the handle the plugin sees) with copies of its descriptor and hook tables,
 * zero-extended to this build's sizes. For every hook, a dispatch list holds
 * the slot indexes of the plugins that implement it, in the order they were
 * added. A plugin that fails is marked disabled at once (dispatch skips it)
 * and torn down at the next tick: its contexts are destroyed and it leaves
 * the lists. Slots are never reused within a session, so a slot index is a
 * stable "ctx index" into per-object context arrays.
 *
 * Lifetime. Contexts are destroyed peers first (when a connection is
 * freed), then torrents (when a torrent is freed), then the session level
 * (when the session has closed every torrent); modules are dlclosed when the
 * session is freed.
 *
 * Threading: network thread only, except loading (dlopen runs on the
 * caller's thread before the slot is registered on the network thread). */
#ifndef SW_CORE_SESSION_PLUGIN_INT_H
#define SW_CORE_SESSION_PLUGIN_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Core code calls the host functions by their built-in names. */
#ifndef SW_PLUGIN_BUILTIN
#define SW_PLUGIN_BUILTIN 1
#endif
#include <cswarm/plugin.h>

#include "session_int.h"

/* Hook lists, X(name) per hook of each level (the dispatch order of a
 * level's hooks is irrelevant; the names match the hook table members). */
#define SW_PLUGIN_SESSION_HOOK_LIST(X)                                                             \
    X(new_torrent) X(on_tick) X(on_alert) X(save_state) X(load_state)
#define SW_PLUGIN_TORRENT_HOOK_LIST(X)                                                             \
    X(new_connection)                                                                              \
    X(on_piece_pass) X(on_piece_failed) X(on_tick) X(on_pause) X(on_resume) X(on_files_checked)    \
        X(on_state) X(on_add_peer) X(on_metadata)
#define SW_PLUGIN_PEER_HOOK_LIST(X)                                                                \
    X(on_disconnect)                                                                               \
    X(add_handshake) X(on_extension_handshake) X(on_extended) X(on_choke) X(on_unchoke)            \
        X(on_interested) X(on_not_interested) X(on_have) X(on_bitfield) X(on_have_all)             \
            X(on_have_none) X(on_allowed_fast) X(on_suggest) X(on_request) X(on_cancel)            \
                X(on_reject) X(on_piece) X(on_unknown_message) X(on_piece_pass) X(on_piece_failed) \
                    X(on_tick)

#define SW_SH_ENUM_(name) SW_SH_##name,
#define SW_TH_ENUM_(name) SW_TH_##name,
#define SW_PH_ENUM_(name) SW_PH_##name,
enum sw_plugin_session_hook { SW_PLUGIN_SESSION_HOOK_LIST(SW_SH_ENUM_) SW_SH_COUNT };
enum sw_plugin_torrent_hook { SW_PLUGIN_TORRENT_HOOK_LIST(SW_TH_ENUM_) SW_TH_COUNT };
enum sw_plugin_peer_hook { SW_PLUGIN_PEER_HOOK_LIST(SW_PH_ENUM_) SW_PH_COUNT };
#undef SW_SH_ENUM_
#undef SW_TH_ENUM_
#undef SW_PH_ENUM_

/* Extensions a session can advertise in total. */
#define SW_PLUGIN_MAX_EXTENSIONS 32

/* One plugin in one session: the handle plugins see. */
struct sw_plugin_session {
    sw_session *ses;
    int index; /* slot index: the ctx index in per-object arrays */
    sw_plugin_desc desc;
    sw_session_hooks sh;
    sw_torrent_hooks th;
    sw_peer_hooks ph;
    char *name;
    char *path;   /* NULL when built in or added from a descriptor */
    void *module; /* dlopen handle, NULL if none */
    bool disabled;
    bool torn_down; /* its contexts were destroyed after disabling */
    bool session_destroyed;
    uint8_t ext_ids[SW_PLUGIN_MAX_EXTENSIONS]; /* our id per desc.extensions entry */
    int num_ext;
};

typedef struct sw_plugin_list {
    int *v;
    int n;
} sw_plugin_list;

typedef struct sw_plugin_registry {
    sw_plugin_session **slots;
    int count, cap;
    sw_plugin_list sh[SW_SH_COUNT], th[SW_TH_COUNT], ph[SW_PH_COUNT];
    const char *ext_names[SW_PLUGIN_MAX_EXTENSIONS]; /* id = index + 1 */
    int num_ext;
    bool dispatching_alert; /* plugins' own alerts are not fed back */
    bool pending_teardown;  /* a plugin was disabled since the last tick */
    bool closed;            /* session-level contexts destroyed */
    int pending_work;       /* sw_plugin_queue_work jobs not yet done */
} sw_plugin_registry;

/* Contexts of the plugins attached to one torrent or connection, indexed by
 * slot; NULL = not attached. */
typedef struct sw_plugin_attach {
    int n;
    void *ctx[];
} sw_plugin_attach;

/* ---- registry (plugin_registry.c) ---- */

/* Runs init on the network thread and registers the plugin. path and module
 * (may be NULL) are taken over even on failure (the module is closed).
 * Posts plugin_loaded or plugin_error; err (may be NULL, 256 bytes) gets a
 * message on failure. */
int sw__plugin_register(sw_session *ses, sw_plugin_init_fn init, const char *path, void *module,
                        char *err, size_t err_len);
/* Disables a plugin after a failure (alert now, teardown at the next tick). */
void sw__plugin_fail(sw_plugin_session *ps, int error, const char *what);
/* The same with the alert's whole detail given (the plugin's own words). */
void sw__plugin_fail_detail(sw_plugin_session *ps, int error, const char *detail);
/* Destroys every session-level context (shutdown, torrents already gone). */
void sw__plugin_session_close(sw_session *ses);
/* After the network thread ended: closes modules and frees the registry. */
void sw__plugin_registry_free(sw_session *ses);
/* Tears down plugins disabled since the last call. */
void sw__plugin_teardown_disabled(sw_session *ses);
sw_plugin_registry *sw__plugin_registry(sw_session *ses);
/* The peer-extension hooks the session installs in its sw_peer_env. */
extern const sw_peer_ext_hooks sw__plugin_peer_ext_hooks;

/* ---- loading (plugin_loader.c) ---- */

/* Names and entry points compiled into libcswarm (plugins/builtin.c). */
typedef struct sw_builtin_plugin {
    const char *name;
    sw_plugin_init_fn init;
} sw_builtin_plugin;
extern const sw_builtin_plugin sw__builtin_plugins[];
extern const size_t sw__builtin_plugin_count;

/* Loads ut_metadata, ut_pex, smart_ban and lt_tex from the built-in
 * registry (SW_SESSION_ADD_DEFAULT_PLUGINS). */
int sw__plugin_add_defaults(sw_session *ses);

/* ---- dispatch (plugin_dispatch.c) ---- */

void sw__plugin_torrent_added(sw_torrent *t);
/* Runs destroy hooks and frees t->plugins. */
void sw__plugin_torrent_free(sw_torrent *t);
void sw__plugin_torrent_piece(sw_torrent *t, int piece, bool passed);
/* SW_HANDLED if a plugin claimed the pause / resume. */
int sw__plugin_torrent_pause(sw_torrent *t, bool pause);
void sw__plugin_torrent_files_checked(sw_torrent *t);
void sw__plugin_torrent_state(sw_torrent *t, int state);
void sw__plugin_torrent_add_peer(sw_torrent *t, const sw_endpoint *ep, uint8_t source);
void sw__plugin_torrent_metadata(sw_torrent *t);
void sw__plugin_tick(sw_session *ses);
void sw__plugin_on_alert(sw_session *ses, const sw_alert *a);
int sw__plugin_save_state(sw_session *ses, sw_bencoder *enc);
void sw__plugin_load_state(sw_session *ses, sw_bnode root);

/* ---- host (plugin_host*.c) ---- */

extern const sw_host sw__plugin_host;
/* Work queued by plugins is still running (shutdown waits for it). */
bool sw__plugin_busy(sw_session *ses);
/* Handle conversions: the plugin-facing opaque types are the engine's own
 * objects. */
static inline sw_plugin_torrent *sw__ptorrent(sw_torrent *t)
{
    return (sw_plugin_torrent *)(void *)t;
}
static inline sw_torrent *sw__torrent_of(sw_plugin_torrent *t)
{
    return (sw_torrent *)(void *)t;
}
static inline sw_plugin_peer *sw__ppeer(sw_peer_conn *pc)
{
    return (sw_plugin_peer *)(void *)pc;
}
static inline sw_peer_conn *sw__conn_of(sw_plugin_peer *p)
{
    return (sw_peer_conn *)(void *)p;
}
void sw__plugin_endpoint_from(const sw_endpoint *ep, sw_plugin_endpoint *out);
int sw__plugin_endpoint_to(const sw_plugin_endpoint *in, sw_endpoint *out);

/* ---- trackers known to plugins (plugin_trackers.c) ---- */

/* Frees the snapshot of t's trackers kept for plugins. */
void sw__plugin_trackers_free(sw_torrent *t);

/* ---- torrents without metadata (torrent_metadata.c) ---- */

/* Creates a torrent from an info-hash alone (p->ti NULL). */
int sw__torrent_new_magnet(sw_session *ses, const sw_add_torrent_params *p, sw_torrent **t_out,
                           sw_error_detail *err);
/* Verifies and installs metadata (see sw_plugin_torrent_set_metadata). */
int sw__torrent_set_metadata(sw_torrent *t, const uint8_t *info, size_t len);

#endif
