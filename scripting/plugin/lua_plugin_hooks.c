/* The Lua plugin adapter's torrent and peer levels: the C trampolines the
 * engine calls, each turning its arguments into Lua values and calling the
 * script's function of the same name, and the contexts (lp_obj) they run
 * on. A hook returning true claims the event (SW_HANDLED) where the C hook
 * may claim it. */
#include <stdlib.h>
#include <string.h>

#include <lauxlib.h>
#include <lua.h>

#include "lua_plugin.h"

/* ---- contexts ---- */

static int new_view_protected(lua_State *L)
{
    lp_obj *o = lua_touserdata(L, 1);
    lua_settop(L, 0);
    lp_view_new(o->st, o);
    o->view_ref = luaL_ref(L, LUA_REGISTRYINDEX);
    return 0;
}

lp_obj *lp_obj_new(lp_state *st, void *handle, lp_obj *parent, bool is_peer)
{
    if (st->dead)
        return NULL;
    lp_obj *o = calloc(1, sizeof *o);
    if (!o)
        return NULL;
    o->st = st;
    o->handle = handle;
    o->parent = parent;
    o->is_peer = is_peer;
    o->view_ref = LUA_NOREF;
    if (lp_protected(st, new_view_protected, o, 0) != 0) {
        free(o);
        return NULL;
    }
    return o;
}

void lp_obj_free(lp_obj *o)
{
    if (!o)
        return;
    lua_State *L = o->st->L;
    if (o->view_ref != LUA_NOREF) {
        /* The script may keep the view: it must find the object gone. */
        lua_rawgeti(L, LUA_REGISTRYINDEX, o->view_ref);
        lp_view *v = lua_touserdata(L, -1);
        if (v)
            v->obj = NULL;
        lua_pop(L, 1);
        luaL_unref(L, LUA_REGISTRYINDEX, o->view_ref);
    }
    free(o);
}

void lp_obj_push(lp_obj *o)
{
    lua_rawgeti(o->st->L, LUA_REGISTRYINDEX, o->view_ref);
}

/* ---- argument pushers ---- */

typedef struct id_bytes {
    bool has_id;
    lua_Integer id;
    const uint8_t *data;
    size_t len;
} id_bytes;

static int push_id_bytes(lua_State *L, void *data)
{
    const id_bytes *a = data;
    if (a->has_id)
        lua_pushinteger(L, a->id);
    lua_pushlstring(L, (const char *)a->data, a->len);
    return a->has_id ? 2 : 1;
}

static int push_obj(lua_State *L, void *data)
{
    (void)L;
    lp_obj_push(data);
    return 1;
}

/* The first result as a claim; pops it. */
static int claim(lp_state *st, int rc)
{
    if (rc != 0)
        return SW_OK;
    bool handled = lua_toboolean(st->L, -1);
    lua_pop(st->L, 1);
    return handled ? SW_HANDLED : SW_OK;
}

static int call0(lp_obj *o, int ref)
{
    return claim(o->st, lp_invoke_ints(o->st, ref, o, 0, NULL, 1));
}

static int call_ints(lp_obj *o, int ref, int n, lua_Integer a, lua_Integer b, lua_Integer c)
{
    const lua_Integer v[3] = {a, b, c};
    return claim(o->st, lp_invoke_ints(o->st, ref, o, n, v, 1));
}

/* ---- torrent level ---- */

#define TREF(o, name) ((o)->st->tref[LP_T_##name])

static void t_destroy(void *ctx)
{
    lp_obj *o = ctx;
    lp_invoke(o->st, TREF(o, destroy), o, NULL, NULL, 0);
    lp_obj_free(o);
}

static bool has_peer_hooks(const lp_state *st)
{
    for (int i = 0; i < LP_P_COUNT; i++)
        if (st->pref[i] != LUA_NOREF)
            return true;
    return false;
}

static int t_new_connection(void *ctx, sw_plugin_torrent *t, sw_plugin_peer *p, void **out)
{
    (void)t;
    lp_obj *o = ctx;
    lp_state *st = o->st;
    bool has_hook = TREF(o, new_connection) != LUA_NOREF;
    if (st->dead || (!has_hook && !has_peer_hooks(st)))
        return SW_OK;
    lp_obj *po = lp_obj_new(st, p, o, true);
    if (!po)
        return SW_OK;
    bool attach = true;
    if (has_hook) {
        int rc = lp_invoke(st, TREF(o, new_connection), o, push_obj, po, 1);
        attach = rc == 0 && lua_toboolean(st->L, -1);
        if (rc == 0)
            lua_pop(st->L, 1);
        /* Without peer hooks a peer context would only cost memory. */
        attach = attach && has_peer_hooks(st);
    }
    if (!attach || po->handle == NULL) {
        lp_obj_free(po);
        return SW_OK;
    }
    *out = po;
    return SW_OK;
}

static int t_on_piece_pass(void *ctx, sw_plugin_torrent *t, int piece)
{
    (void)t;
    return call_ints(ctx, TREF((lp_obj *)ctx, on_piece_pass), 1, piece, 0, 0), SW_OK;
}

static int t_on_piece_failed(void *ctx, sw_plugin_torrent *t, int piece)
{
    (void)t;
    return call_ints(ctx, TREF((lp_obj *)ctx, on_piece_failed), 1, piece, 0, 0), SW_OK;
}

static int t_on_tick(void *ctx, sw_plugin_torrent *t)
{
    (void)t;
    return call0(ctx, TREF((lp_obj *)ctx, on_tick)), SW_OK;
}

static int t_on_pause(void *ctx, sw_plugin_torrent *t)
{
    (void)t;
    return call0(ctx, TREF((lp_obj *)ctx, on_pause));
}

static int t_on_resume(void *ctx, sw_plugin_torrent *t)
{
    (void)t;
    return call0(ctx, TREF((lp_obj *)ctx, on_resume));
}

static int t_on_files_checked(void *ctx, sw_plugin_torrent *t)
{
    (void)t;
    return call0(ctx, TREF((lp_obj *)ctx, on_files_checked)), SW_OK;
}

static int t_on_metadata(void *ctx, sw_plugin_torrent *t)
{
    (void)t;
    return call0(ctx, TREF((lp_obj *)ctx, on_metadata)), SW_OK;
}

static int push_state(lua_State *L, void *data)
{
    int state = *(int *)data;
    lua_pushstring(L, lp_state_name(state));
    return 1;
}

static int t_on_state(void *ctx, sw_plugin_torrent *t, int state)
{
    (void)t;
    lp_obj *o = ctx;
    lp_invoke(o->st, TREF(o, on_state), o, push_state, &state, 0);
    return SW_OK;
}

typedef struct add_peer_arg {
    const sw_plugin_endpoint *ep;
    unsigned source;
} add_peer_arg;

static int push_add_peer(lua_State *L, void *data)
{
    const add_peer_arg *a = data;
    lp_push_endpoint(L, a->ep);
    lua_pushinteger(L, a->source);
    return 3;
}

static int t_on_add_peer(void *ctx, sw_plugin_torrent *t, const sw_plugin_endpoint *ep,
                         unsigned source)
{
    (void)t;
    lp_obj *o = ctx;
    add_peer_arg a = {ep, source};
    lp_invoke(o->st, TREF(o, on_add_peer), o, push_add_peer, &a, 0);
    return SW_OK;
}

/* ---- peer level ---- */

#define PREF(o, name) ((o)->st->pref[LP_P_##name])

static void p_destroy(void *ctx)
{
    lp_obj *o = ctx;
    lp_invoke(o->st, PREF(o, destroy), o, NULL, NULL, 0);
    lp_obj_free(o);
}

typedef struct disconnect_arg {
    int error;
} disconnect_arg;

static int push_disconnect(lua_State *L, void *data)
{
    int error = ((disconnect_arg *)data)->error;
    lua_pushinteger(L, error);
    if (error)
        lua_pushstring(L, sw_strerror(error));
    else
        lua_pushnil(L);
    return 2;
}

static int p_on_disconnect(void *ctx, sw_plugin_peer *p, int error)
{
    (void)p;
    lp_obj *o = ctx;
    disconnect_arg a = {error};
    lp_invoke(o->st, PREF(o, on_disconnect), o, push_disconnect, &a, 0);
    return SW_OK;
}

typedef struct handshake_arg {
    lp_obj *o;
    sw_bencoder *enc;
} handshake_arg;

static int add_handshake_protected(lua_State *L)
{
    handshake_arg *a = lua_touserdata(L, 1);
    lua_settop(L, 0);
    lua_rawgeti(L, LUA_REGISTRYINDEX, PREF(a->o, add_handshake));
    lp_obj_push(a->o);
    lua_call(L, 1, 1);
    if (lua_isnil(L, 1))
        return 0;
    if (!lua_istable(L, 1))
        return luaL_error(L, "%s: add_handshake must return a table of keys or nil",
                          a->o->st->path);
    if (lp_encode_dict_items(L, 1, a->enc, 0) < 0)
        return lua_error(L);
    return 0;
}

static int p_add_handshake(void *ctx, sw_plugin_peer *p, sw_bencoder *enc)
{
    (void)p;
    lp_obj *o = ctx;
    handshake_arg a = {o, enc};
    lp_protected(o->st, add_handshake_protected, &a, 0);
    return SW_OK;
}

static int push_bnode(lua_State *L, void *data)
{
    lp_push_bnode(L, *(sw_bnode *)data, 0);
    return 1;
}

static int p_on_extension_handshake(void *ctx, sw_plugin_peer *p, sw_bnode dict)
{
    (void)p;
    lp_obj *o = ctx;
    lp_invoke(o->st, PREF(o, on_extension_handshake), o, push_bnode, &dict, 0);
    return SW_OK;
}

static int p_on_extended(void *ctx, sw_plugin_peer *p, uint8_t msg_id, const uint8_t *data,
                         size_t len)
{
    (void)p;
    lp_obj *o = ctx;
    id_bytes a = {true, msg_id, data, len};
    return claim(o->st, lp_invoke(o->st, PREF(o, on_extended), o, push_id_bytes, &a, 1));
}

static int p_on_unknown_message(void *ctx, sw_plugin_peer *p, uint8_t id, const uint8_t *data,
                                size_t len)
{
    (void)p;
    lp_obj *o = ctx;
    id_bytes a = {true, id, data, len};
    return claim(o->st, lp_invoke(o->st, PREF(o, on_unknown_message), o, push_id_bytes, &a, 1));
}

static int p_on_bitfield(void *ctx, sw_plugin_peer *p, const uint8_t *bits, size_t len)
{
    (void)p;
    lp_obj *o = ctx;
    id_bytes a = {false, 0, bits, len};
    return claim(o->st, lp_invoke(o->st, PREF(o, on_bitfield), o, push_id_bytes, &a, 1));
}

/* Messages without arguments. */
#define LP_P0_(name)                                                                               \
    static int p_##name(void *ctx, sw_plugin_peer *p)                                              \
    {                                                                                              \
        (void)p;                                                                                   \
        return call0(ctx, PREF((lp_obj *)ctx, name));                                              \
    }
LP_P0_(on_choke)
LP_P0_(on_unchoke)
LP_P0_(on_interested)
LP_P0_(on_not_interested)
LP_P0_(on_have_all)
LP_P0_(on_have_none)
LP_P0_(on_tick)
#undef LP_P0_

/* Messages with a piece index. */
#define LP_P1_(name, type)                                                                         \
    static int p_##name(void *ctx, sw_plugin_peer *p, type index)                                  \
    {                                                                                              \
        (void)p;                                                                                   \
        return call_ints(ctx, PREF((lp_obj *)ctx, name), 1, (lua_Integer)index, 0, 0);             \
    }
LP_P1_(on_have, uint32_t)
LP_P1_(on_allowed_fast, uint32_t)
LP_P1_(on_suggest, uint32_t)
LP_P1_(on_piece_pass, int)
LP_P1_(on_piece_failed, int)
#undef LP_P1_

/* Block messages. */
#define LP_P3_(name)                                                                               \
    static int p_##name(void *ctx, sw_plugin_peer *p, uint32_t index, uint32_t begin,              \
                        uint32_t length)                                                           \
    {                                                                                              \
        (void)p;                                                                                   \
        return call_ints(ctx, PREF((lp_obj *)ctx, name), 3, index, begin, length);                 \
    }
LP_P3_(on_request)
LP_P3_(on_cancel)
LP_P3_(on_reject)
#undef LP_P3_

/* The block's data is not copied into Lua: a hook on every block must stay
 * cheap. The script gets where the block is and how long. */
static int p_on_piece(void *ctx, sw_plugin_peer *p, uint32_t index, uint32_t begin,
                      const uint8_t *data, size_t len)
{
    (void)p;
    (void)data;
    return call_ints(ctx, PREF((lp_obj *)ctx, on_piece), 3, index, begin, (lua_Integer)len);
}

/* ---- the tables ---- */

void lp_hooks_fill(lp_state *st)
{
    sw_torrent_hooks *th = &st->th;
    th->struct_size = sizeof *th;
    th->destroy = t_destroy;
    /* Peers are attached by new_connection, which the adapter needs when
     * the script has it or any peer hook. */
    th->new_connection = t_new_connection;
#define LP_FILL_T_(name)                                                                           \
    if (st->tref[LP_T_##name] != LUA_NOREF)                                                        \
        th->name = t_##name;
    LP_FILL_T_(on_piece_pass)
    LP_FILL_T_(on_piece_failed)
    LP_FILL_T_(on_tick)
    LP_FILL_T_(on_pause)
    LP_FILL_T_(on_resume)
    LP_FILL_T_(on_files_checked)
    LP_FILL_T_(on_state)
    LP_FILL_T_(on_add_peer)
    LP_FILL_T_(on_metadata)
#undef LP_FILL_T_
    if (st->tref[LP_T_new_connection] == LUA_NOREF && !has_peer_hooks(st))
        th->new_connection = NULL;

    sw_peer_hooks *ph = &st->ph;
    ph->struct_size = sizeof *ph;
    ph->destroy = p_destroy;
#define LP_FILL_P_(name)                                                                           \
    if (st->pref[LP_P_##name] != LUA_NOREF)                                                        \
        ph->name = p_##name;
    LP_PEER_HOOKS(LP_FILL_P_)
#undef LP_FILL_P_
}
