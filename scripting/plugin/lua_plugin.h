/* The Lua plugin adapter (libcswarm_lua_plugin.so): internal interfaces
 * shared by its files.
 *
 * One lp_state per script per session: its own lua_State (with a capped
 * allocator and an instruction limit per hook call), the Lua functions the
 * script's table gives for each hook (registry references), and the C hook
 * tables handed to the engine, holding a trampoline for every hook the
 * script implements and NULL for the others (so unimplemented hooks cost
 * nothing, as for a C plugin).
 *
 * Contexts. The torrent and peer contexts given to the engine are lp_obj:
 * the handle, a full userdata "view" the script sees (kept in the Lua
 * registry) and the owning state. A view whose object is gone raises a Lua
 * error when used, never touches freed memory.
 *
 * Failure. A Lua error in any hook (including the instruction and memory
 * limits) marks the state dead and disables the plugin through the host
 * (plugin_error alert "file:line: message"); a dead state runs no more Lua
 * code, and its objects are freed as the engine destroys them. The
 * lua_State is closed by the session-level destroy hook.
 *
 * Threading: everything runs on the session's network thread. */
#ifndef SW_SCRIPTING_LUA_PLUGIN_H
#define SW_SCRIPTING_LUA_PLUGIN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <lua.h>

#include <cswarm/lua_plugin.h>
#include <cswarm/plugin.h>

SW_PLUGIN_INIT3

/* Hook names per level, as the members of the C tables (destroy aside). */
#define LP_SESSION_HOOKS(X)                                                                        \
    X(added) X(new_torrent) X(on_tick) X(on_alert) X(save_state) X(load_state)
#define LP_TORRENT_HOOKS(X)                                                                        \
    X(new_connection)                                                                              \
    X(on_piece_pass)                                                                               \
    X(on_piece_failed)                                                                             \
    X(on_tick)                                                                                     \
    X(on_pause) X(on_resume) X(on_files_checked) X(on_state) X(on_add_peer) X(on_metadata)
#define LP_PEER_HOOKS(X)                                                                           \
    X(on_disconnect)                                                                               \
    X(add_handshake)                                                                               \
    X(on_extension_handshake)                                                                      \
    X(on_extended)                                                                                 \
    X(on_choke) X(on_unchoke) X(on_interested) X(on_not_interested) X(on_have) X(on_bitfield)      \
        X(on_have_all) X(on_have_none) X(on_allowed_fast) X(on_suggest) X(on_request) X(on_cancel) \
            X(on_reject) X(on_piece) X(on_unknown_message) X(on_piece_pass) X(on_piece_failed)     \
                X(on_tick)

#define LP_ENUM_S_(n) LP_S_##n,
#define LP_ENUM_T_(n) LP_T_##n,
#define LP_ENUM_P_(n) LP_P_##n,
enum { LP_SESSION_HOOKS(LP_ENUM_S_) LP_S_destroy, LP_S_COUNT };
enum { LP_TORRENT_HOOKS(LP_ENUM_T_) LP_T_destroy, LP_T_COUNT };
enum { LP_PEER_HOOKS(LP_ENUM_P_) LP_P_destroy, LP_P_COUNT };
#undef LP_ENUM_S_
#undef LP_ENUM_T_
#undef LP_ENUM_P_

#define LP_MAX_EXTENSIONS 8

typedef struct lp_state lp_state;

/* A torrent or peer context. */
typedef struct lp_obj {
    lp_state *st;
    void *handle;          /* sw_plugin_torrent * or sw_plugin_peer *; NULL once gone */
    struct lp_obj *parent; /* a peer's torrent */
    int view_ref;          /* the view in the Lua registry */
    bool is_peer;
} lp_obj;

/* The userdata behind a view: points at its lp_obj (NULL once gone). Its
 * single user value is the script's own table of fields. */
typedef struct lp_view {
    lp_obj *obj;
} lp_view;

struct lp_state {
    lua_State *L;
    sw_plugin_session *s; /* from the added hook on */
    char *path;           /* the script's path */
    char *name, *version;
    char *ext_names[LP_MAX_EXTENSIONS];
    const char *ext_ptrs[LP_MAX_EXTENSIONS + 1];

    int sref[LP_S_COUNT], tref[LP_T_COUNT], pref[LP_P_COUNT]; /* LUA_NOREF if absent */
    sw_session_hooks sh;
    sw_torrent_hooks th;
    sw_peer_hooks ph;

    int64_t instruction_limit;
    int64_t instructions_used; /* in the current call */
    size_t memory_limit, memory_used;
    int depth;            /* nested hook calls (a host call may run hooks) */
    bool exceeded;        /* the instruction limit fired in this call */
    bool dead;            /* a Lua error: no more Lua code runs */
    char last_error[400]; /* the error that killed the state */
};

/* ---- lua_plugin.c ---- */

/* Pushes a hook's arguments (after the view); returns how many. Runs in
 * protected mode: it may allocate, and raise. */
typedef int (*lp_push_fn)(lua_State *L, void *data);
/* Calls the script's hook ref with self's view (if self), then push's
 * arguments, under the instruction limit, leaving nresults results on the
 * stack. Returns 0 (results pushed), 1 if there is nothing to call (no such
 * hook, or the state is dead; nothing pushed) or -1 after a Lua error,
 * which disabled the plugin (nothing pushed). */
int lp_invoke(lp_state *st, int ref, lp_obj *self, lp_push_fn push, void *data, int nresults);
/* The same for a hook whose arguments are self's view and n integers,
 * without the protected trampoline (nothing pushed allocates). */
int lp_invoke_ints(lp_state *st, int ref, lp_obj *self, int n, const lua_Integer *v, int nresults);
/* Runs fn(L) in protected mode with data as a light userdata argument,
 * under the instruction limit; nresults as for lp_invoke. */
int lp_protected(lp_state *st, lua_CFunction fn, void *data, int nresults);
/* Reports an error found outside a Lua call (bad return values). */
void lp_fail(lp_state *st, const char *msg);

/* ---- lua_plugin_hooks.c ---- */

/* Fills st->th and st->ph with trampolines for the hooks the script has. */
void lp_hooks_fill(lp_state *st);
/* Creates an lp_obj and its view (a torrent, or a peer of torrent parent);
 * NULL without memory. */
lp_obj *lp_obj_new(lp_state *st, void *handle, lp_obj *parent, bool is_peer);
/* Invalidates the view and frees the object. */
void lp_obj_free(lp_obj *o);
/* Pushes the object's view. */
void lp_obj_push(lp_obj *o);

/* ---- lua_plugin_views.c ---- */

/* Installs the global "sw" library and the view metatables. */
void lp_views_open(lp_state *st);
/* Creates a view userdata for o on the stack. */
void lp_view_new(lp_state *st, lp_obj *o);
/* The state of the lua_State (kept in its extra space). */
lp_state *lp_state_of(lua_State *L);
/* "downloading", ... for a torrent state number. */
const char *lp_state_name(int state);
/* Pushes an endpoint as two values: address string (nil if none) and
 * port. */
void lp_push_endpoint(lua_State *L, const sw_plugin_endpoint *ep);

/* ---- lua_plugin_bencode.c ---- */

/* Pushes a bencoded node as Lua values: dictionaries as tables with string
 * keys, lists as sequences, integers, strings. Depth-limited. */
void lp_push_bnode(lua_State *L, sw_bnode n, int depth);
/* Encodes the Lua value at idx into enc. Returns 0, or a negative code with
 * an error message pushed. */
int lp_encode_value(lua_State *L, int idx, sw_bencoder *enc, int depth);
/* Adds the keys of the table at idx to an open dictionary of enc. */
int lp_encode_dict_items(lua_State *L, int idx, sw_bencoder *enc, int depth);
/* sw.bencode / sw.bdecode. */
int lp_lua_bencode(lua_State *L);
int lp_lua_bdecode(lua_State *L);

#endif
