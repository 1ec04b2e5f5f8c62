/* What a Lua plugin sees of the engine: torrent and peer views (userdata
 * with methods; fields the script sets are kept in the view's own table)
 * and the global "sw" library of host functions. Every method checks that
 * its object still exists: a view kept past its object's end raises an
 * error instead of reaching freed memory. */
#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

#include <lauxlib.h>
#include <lua.h>

#include "lua_plugin.h"

#define LP_TORRENT_MT "cswarm.torrent"
#define LP_PEER_MT "cswarm.peer"

lp_state *lp_state_of(lua_State *L)
{
    return *(lp_state **)lua_getextraspace(L);
}

const char *lp_state_name(int state)
{
    static const char *const names[] = {"queued_for_checking",
                                        "checking_files",
                                        "downloading_metadata",
                                        "downloading",
                                        "finished",
                                        "seeding",
                                        "allocating",
                                        "checking_resume_data"};
    return state >= 0 && state < (int)(sizeof names / sizeof names[0]) ? names[state] : "unknown";
}

void lp_push_endpoint(lua_State *L, const sw_plugin_endpoint *ep)
{
    char buf[INET6_ADDRSTRLEN];
    int af = ep->family == SW_PLUGIN_IPV6 ? AF_INET6 : AF_INET;
    if ((ep->family != SW_PLUGIN_IPV4 && ep->family != SW_PLUGIN_IPV6) ||
        !inet_ntop(af, ep->addr, buf, sizeof buf)) {
        lua_pushnil(L);
        lua_pushnil(L);
        return;
    }
    lua_pushstring(L, buf);
    lua_pushinteger(L, ep->port);
}

/* Reads an address and port argument pair into ep, or raises. */
static void check_endpoint(lua_State *L, int idx, sw_plugin_endpoint *ep)
{
    const char *addr = luaL_checkstring(L, idx);
    lua_Integer port = luaL_checkinteger(L, idx + 1);
    memset(ep, 0, sizeof *ep);
    if (port < 1 || port > 65535)
        luaL_argerror(L, idx + 1, "port out of range");
    if (inet_pton(AF_INET, addr, ep->addr) == 1)
        ep->family = SW_PLUGIN_IPV4;
    else if (inet_pton(AF_INET6, addr, ep->addr) == 1)
        ep->family = SW_PLUGIN_IPV6;
    else
        luaL_argerror(L, idx, "not a numeric IPv4 or IPv6 address");
    ep->port = (uint16_t)port;
}

static void push_hex(lua_State *L, const uint8_t *v, size_t n)
{
    static const char digits[] = "0123456789abcdef";
    char buf[64];
    for (size_t i = 0; i < n && i < 32; i++) {
        buf[2 * i] = digits[v[i] >> 4];
        buf[2 * i + 1] = digits[v[i] & 15];
    }
    lua_pushlstring(L, buf, 2 * (n < 32 ? n : 32));
}

static sw_plugin_session *need_session(lua_State *L)
{
    lp_state *st = lp_state_of(L);
    if (!st->s)
        luaL_error(L, "not available while the script loads (use session.added)");
    return st->s;
}

/* ---- views ---- */

static lp_obj *check_obj(lua_State *L, const char *mt)
{
    lp_view *v = luaL_checkudata(L, 1, mt);
    if (!v->obj || !v->obj->handle)
        luaL_error(L, "this %s is gone", strcmp(mt, LP_PEER_MT) == 0 ? "peer" : "torrent");
    return v->obj;
}

static sw_plugin_torrent *check_torrent(lua_State *L)
{
    return check_obj(L, LP_TORRENT_MT)->handle;
}

static sw_plugin_peer *check_peer(lua_State *L)
{
    return check_obj(L, LP_PEER_MT)->handle;
}

/* __index: methods first, then the script's own fields. */
static int view_index(lua_State *L)
{
    lua_pushvalue(L, 2);
    if (lua_rawget(L, lua_upvalueindex(1)) != LUA_TNIL)
        return 1;
    if (lua_getiuservalue(L, 1, 1) != LUA_TTABLE)
        return 0;
    lua_pushvalue(L, 2);
    lua_rawget(L, -2);
    return 1;
}

static int view_newindex(lua_State *L)
{
    lua_pushvalue(L, 2);
    if (lua_rawget(L, lua_upvalueindex(1)) != LUA_TNIL)
        return luaL_error(L, "cannot replace the method %s", lua_tostring(L, 2));
    lua_pop(L, 1);
    if (lua_getiuservalue(L, 1, 1) != LUA_TTABLE) {
        lua_pop(L, 1);
        lua_newtable(L);
        lua_pushvalue(L, -1);
        lua_setiuservalue(L, 1, 1);
    }
    lua_pushvalue(L, 2);
    lua_pushvalue(L, 3);
    lua_rawset(L, -3);
    return 0;
}

void lp_view_new(lp_state *st, lp_obj *o)
{
    lua_State *L = st->L;
    lp_view *v = lua_newuserdatauv(L, sizeof *v, 1);
    v->obj = o;
    luaL_setmetatable(L, o->is_peer ? LP_PEER_MT : LP_TORRENT_MT);
}

/* ---- torrent methods ---- */

static int t_id(lua_State *L)
{
    lua_pushinteger(L, (lua_Integer)sw_plugin_torrent_id(check_torrent(L)));
    return 1;
}

static int t_info_hash(lua_State *L)
{
    uint8_t ih[20];
    sw_plugin_torrent_info_hash(check_torrent(L), ih);
    push_hex(L, ih, 20);
    return 1;
}

static int t_name(lua_State *L)
{
    const char *name = sw_plugin_torrent_name(check_torrent(L));
    lua_pushstring(L, name ? name : "");
    return 1;
}

static int t_state(lua_State *L)
{
    lua_pushstring(L, lp_state_name(sw_plugin_torrent_state(check_torrent(L))));
    return 1;
}

static int t_has_metadata(lua_State *L)
{
    lua_pushboolean(L, sw_plugin_torrent_has_metadata(check_torrent(L)));
    return 1;
}

static int t_is_private(lua_State *L)
{
    lua_pushboolean(L, sw_plugin_torrent_is_private(check_torrent(L)));
    return 1;
}

static int t_num_pieces(lua_State *L)
{
    lua_pushinteger(L, sw_plugin_torrent_num_pieces(check_torrent(L)));
    return 1;
}

static int num_have(sw_plugin_torrent *t)
{
    if (sw_plugin_host_->abi_minor < 1 || !sw_plugin_host_->torrent_num_have)
        return 0;
    return sw_plugin_torrent_num_have(t);
}

static int t_num_have(lua_State *L)
{
    lua_pushinteger(L, num_have(check_torrent(L)));
    return 1;
}

static int t_progress(lua_State *L)
{
    sw_plugin_torrent *t = check_torrent(L);
    int n = sw_plugin_torrent_num_pieces(t);
    lua_pushnumber(L, n > 0 ? (lua_Number)num_have(t) / n : 0.0);
    return 1;
}

static int t_piece_size(lua_State *L)
{
    sw_plugin_torrent *t = check_torrent(L);
    lua_pushinteger(L, sw_plugin_torrent_piece_size(t, (int)luaL_checkinteger(L, 2)));
    return 1;
}

static int t_metadata(lua_State *L)
{
    const uint8_t *data = NULL;
    size_t len = 0;
    int rc = sw_plugin_torrent_metadata(check_torrent(L), &data, &len);
    if (rc < 0) {
        lua_pushnil(L);
        lua_pushstring(L, sw_strerror(rc));
        return 2;
    }
    lua_pushlstring(L, (const char *)data, len);
    return 1;
}

static int t_num_peers(lua_State *L)
{
    lua_pushinteger(L, (lua_Integer)sw_plugin_torrent_peers(check_torrent(L), NULL, 0));
    return 1;
}

/* A plain table of a connection's facts (no handle: it is a snapshot). */
static void push_peer_facts(lua_State *L, sw_plugin_peer *p)
{
    sw_plugin_endpoint ep;
    lua_createtable(L, 0, 7);
    sw_plugin_peer_endpoint(p, &ep);
    lp_push_endpoint(L, &ep);
    lua_setfield(L, -3, "port");
    lua_setfield(L, -2, "address");
    if (sw_plugin_peer_listen_endpoint(p, &ep)) {
        lp_push_endpoint(L, &ep);
        lua_setfield(L, -3, "listen_port");
        lua_setfield(L, -2, "listen_address");
    }
    uint8_t id[20];
    sw_plugin_peer_id(p, id);
    push_hex(L, id, 20);
    lua_setfield(L, -2, "id");
    const char *client = sw_plugin_peer_client(p);
    lua_pushstring(L, client ? client : "");
    lua_setfield(L, -2, "client");
    lua_pushinteger(L, sw_plugin_peer_flags(p));
    lua_setfield(L, -2, "flags");
}

static int t_peers(lua_State *L)
{
    sw_plugin_torrent *t = check_torrent(L);
    size_t n = sw_plugin_torrent_peers(t, NULL, 0);
    if (n > 100000)
        n = 100000;
    sw_plugin_peer **v = lua_newuserdatauv(L, (n ? n : 1) * sizeof *v, 0);
    n = sw_plugin_torrent_peers(t, v, n);
    lua_createtable(L, (int)n, 0);
    for (size_t i = 0; i < n; i++) {
        push_peer_facts(L, v[i]);
        lua_rawseti(L, -2, (lua_Integer)i + 1);
    }
    return 1;
}

static int push_result(lua_State *L, int rc)
{
    if (rc >= 0) {
        lua_pushboolean(L, 1);
        return 1;
    }
    lua_pushnil(L);
    lua_pushstring(L, sw_strerror(rc));
    return 2;
}

static int t_add_peer(lua_State *L)
{
    sw_plugin_torrent *t = check_torrent(L);
    sw_plugin_endpoint ep;
    check_endpoint(L, 2, &ep);
    lua_Integer source = luaL_optinteger(L, 4, SW_PLUGIN_SRC_MANUAL);
    return push_result(L, sw_plugin_torrent_add_peer(t, &ep, (unsigned)source));
}

static int t_ban_peer(lua_State *L)
{
    sw_plugin_torrent *t = check_torrent(L);
    sw_plugin_endpoint ep;
    check_endpoint(L, 2, &ep);
    const char *reason = luaL_optstring(L, 4, "banned by a Lua plugin");
    return push_result(L, sw_plugin_torrent_ban_peer(t, &ep, reason));
}

static int t_trackers(lua_State *L)
{
    sw_plugin_torrent *t = check_torrent(L);
    int n = sw_plugin_torrent_num_trackers(t);
    lua_createtable(L, n > 0 ? n : 0, 0);
    for (int i = 0; i < n; i++) {
        const char *url = NULL;
        unsigned flags = 0;
        if (sw_plugin_torrent_tracker(t, i, &url, &flags) < 0 || !url)
            continue;
        lua_createtable(L, 0, 2);
        lua_pushstring(L, url);
        lua_setfield(L, -2, "url");
        lua_pushinteger(L, flags);
        lua_setfield(L, -2, "flags");
        lua_rawseti(L, -2, (lua_Integer)lua_rawlen(L, -2) + 1);
    }
    return 1;
}

static int t_add_tracker(lua_State *L)
{
    sw_plugin_torrent *t = check_torrent(L);
    const char *url = luaL_checkstring(L, 2);
    lua_Integer flags = luaL_optinteger(L, 3, 0);
    return push_result(L, sw_plugin_torrent_add_tracker(t, url, (unsigned)flags));
}

/* Joins the arguments from idx on with tostring and spaces. */
static const char *join_args(lua_State *L, int idx)
{
    /* The top is read first: in Lua 5.4 luaL_buffinit pushes a placeholder,
     * which must not be joined as an argument. */
    int top = lua_gettop(L);
    luaL_Buffer b;
    luaL_buffinit(L, &b);
    for (int i = idx; i <= top; i++) {
        if (i > idx)
            luaL_addchar(&b, ' ');
        luaL_tolstring(L, i, NULL);
        luaL_addvalue(&b);
    }
    luaL_pushresult(&b);
    return lua_tostring(L, -1);
}

static int t_log(lua_State *L)
{
    sw_plugin_torrent *t = check_torrent(L);
    sw_plugin_log(need_session(L), t, "%s", join_args(L, 2));
    return 0;
}

static int post_alert(lua_State *L, sw_plugin_torrent *t, int idx)
{
    sw_plugin_session *s = need_session(L);
    const char *msg = join_args(L, idx);
    if (sw_plugin_host_->abi_minor < 1 || !sw_plugin_host_->post_alert)
        sw_plugin_log(s, t, "%s", msg); /* an older engine: the closest thing */
    else
        sw_plugin_post_alert(s, t, msg);
    return 0;
}

static int t_alert(lua_State *L)
{
    return post_alert(L, check_torrent(L), 2);
}

static int t_tostring(lua_State *L)
{
    lp_view *v = luaL_checkudata(L, 1, LP_TORRENT_MT);
    if (!v->obj || !v->obj->handle)
        lua_pushliteral(L, "torrent (gone)");
    else
        lua_pushfstring(L, "torrent %s", sw_plugin_torrent_name(v->obj->handle));
    return 1;
}

static const luaL_Reg torrent_methods[] = {
    {"id", t_id},
    {"info_hash", t_info_hash},
    {"name", t_name},
    {"state", t_state},
    {"has_metadata", t_has_metadata},
    {"is_private", t_is_private},
    {"num_pieces", t_num_pieces},
    {"num_have", t_num_have},
    {"progress", t_progress},
    {"piece_size", t_piece_size},
    {"metadata", t_metadata},
    {"num_peers", t_num_peers},
    {"peers", t_peers},
    {"add_peer", t_add_peer},
    {"ban_peer", t_ban_peer},
    {"trackers", t_trackers},
    {"add_tracker", t_add_tracker},
    {"log", t_log},
    {"alert", t_alert},
    {NULL, NULL},
};

/* ---- peer methods ---- */

static int p_address(lua_State *L)
{
    sw_plugin_endpoint ep;
    sw_plugin_peer_endpoint(check_peer(L), &ep);
    lp_push_endpoint(L, &ep);
    lua_pop(L, 1);
    return 1;
}

static int p_port(lua_State *L)
{
    sw_plugin_endpoint ep;
    sw_plugin_peer_endpoint(check_peer(L), &ep);
    lua_pushinteger(L, ep.port);
    return 1;
}

static int p_endpoint(lua_State *L)
{
    sw_plugin_endpoint ep;
    sw_plugin_peer_endpoint(check_peer(L), &ep);
    lp_push_endpoint(L, &ep);
    return 2;
}

static int p_listen_endpoint(lua_State *L)
{
    sw_plugin_endpoint ep;
    if (!sw_plugin_peer_listen_endpoint(check_peer(L), &ep))
        return 0;
    lp_push_endpoint(L, &ep);
    return 2;
}

static int p_id(lua_State *L)
{
    uint8_t id[20];
    sw_plugin_peer_id(check_peer(L), id);
    push_hex(L, id, 20);
    return 1;
}

static int p_client(lua_State *L)
{
    const char *c = sw_plugin_peer_client(check_peer(L));
    lua_pushstring(L, c ? c : "");
    return 1;
}

static int p_flags(lua_State *L)
{
    lua_pushinteger(L, sw_plugin_peer_flags(check_peer(L)));
    return 1;
}

static int p_torrent(lua_State *L)
{
    lp_obj *o = check_obj(L, LP_PEER_MT);
    if (!o->parent || !o->parent->handle)
        return 0;
    lp_obj_push(o->parent);
    return 1;
}

static int p_send_extended(lua_State *L)
{
    sw_plugin_peer *p = check_peer(L);
    lua_Integer id = luaL_checkinteger(L, 2);
    size_t len;
    const char *payload = luaL_checklstring(L, 3, &len);
    luaL_argcheck(L, id >= 1 && id <= 255, 2, "extended message id out of range (1 to 255)");
    return push_result(L,
                       sw_plugin_peer_send_extended(p, (uint8_t)id, (const uint8_t *)payload, len));
}

static int p_disconnect(lua_State *L)
{
    sw_plugin_peer *p = check_peer(L);
    const char *reason = luaL_optstring(L, 2, "disconnected by a Lua plugin");
    sw_plugin_peer_disconnect(p, 0, reason);
    return 0;
}

static int p_ban(lua_State *L)
{
    sw_plugin_peer *p = check_peer(L);
    const char *reason = luaL_optstring(L, 2, "banned by a Lua plugin");
    sw_plugin_endpoint ep;
    sw_plugin_peer_endpoint(p, &ep);
    return push_result(L, sw_plugin_torrent_ban_peer(sw_plugin_peer_torrent(p), &ep, reason));
}

static int p_info(lua_State *L)
{
    push_peer_facts(L, check_peer(L));
    return 1;
}

static int p_tostring(lua_State *L)
{
    lp_view *v = luaL_checkudata(L, 1, LP_PEER_MT);
    if (!v->obj || !v->obj->handle) {
        lua_pushliteral(L, "peer (gone)");
        return 1;
    }
    sw_plugin_endpoint ep;
    sw_plugin_peer_endpoint(v->obj->handle, &ep);
    lp_push_endpoint(L, &ep);
    lua_pushfstring(L, "peer %s:%d", lua_isnil(L, -2) ? "?" : lua_tostring(L, -2),
                    (int)lua_tointeger(L, -1));
    return 1;
}

static const luaL_Reg peer_methods[] = {
    {"address", p_address},
    {"port", p_port},
    {"endpoint", p_endpoint},
    {"listen_endpoint", p_listen_endpoint},
    {"id", p_id},
    {"client", p_client},
    {"flags", p_flags},
    {"info", p_info},
    {"torrent", p_torrent},
    {"send_extended", p_send_extended},
    {"disconnect", p_disconnect},
    {"ban", p_ban},
    {NULL, NULL},
};

/* ---- the sw library ---- */

static int lsw_log(lua_State *L)
{
    lp_state *st = lp_state_of(L);
    const char *msg = join_args(L, 1);
    if (st->s)
        sw_plugin_log(st->s, NULL, "%s", msg);
    return 0;
}

static int lsw_alert(lua_State *L)
{
    return post_alert(L, NULL, 1);
}

static int lsw_now_ms(lua_State *L)
{
    lua_pushinteger(L, (lua_Integer)sw_plugin_now_ms());
    return 1;
}

static int lsw_sha1(lua_State *L)
{
    size_t len;
    const char *s = luaL_checklstring(L, 1, &len);
    uint8_t out[20];
    sw_plugin_sha1(s, len, out);
    lua_pushlstring(L, (const char *)out, 20);
    return 1;
}

static int lsw_hex(lua_State *L)
{
    size_t len;
    const char *s = luaL_checklstring(L, 1, &len);
    luaL_Buffer b;
    char *p = luaL_buffinitsize(L, &b, 2 * len);
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < len; i++) {
        p[2 * i] = digits[(unsigned char)s[i] >> 4];
        p[2 * i + 1] = digits[(unsigned char)s[i] & 15];
    }
    luaL_pushresultsize(&b, 2 * len);
    return 1;
}

static int lsw_extension_id(lua_State *L)
{
    sw_plugin_session *s = need_session(L);
    lua_pushinteger(L, sw_plugin_extension_id(s, luaL_checkstring(L, 1)));
    return 1;
}

static int lsw_setting(lua_State *L)
{
    sw_plugin_session *s = need_session(L);
    const char *name = luaL_checkstring(L, 1);
    int i;
    bool b;
    const char *str;
    if (sw_plugin_setting_int(s, name, &i) == 0)
        lua_pushinteger(L, i);
    else if (sw_plugin_setting_bool(s, name, &b) == 0)
        lua_pushboolean(L, b);
    else if (sw_plugin_setting_str(s, name, &str) == 0)
        lua_pushstring(L, str ? str : "");
    else
        lua_pushnil(L);
    return 1;
}

static const luaL_Reg sw_funcs[] = {
    {"log", lsw_log},
    {"alert", lsw_alert},
    {"now_ms", lsw_now_ms},
    {"sha1", lsw_sha1},
    {"hex", lsw_hex},
    {"extension_id", lsw_extension_id},
    {"setting", lsw_setting},
    {"bencode", lp_lua_bencode},
    {"bdecode", lp_lua_bdecode},
    {NULL, NULL},
};

static void set_int(lua_State *L, const char *name, lua_Integer v)
{
    lua_pushinteger(L, v);
    lua_setfield(L, -2, name);
}

static void new_view_metatable(lua_State *L, const char *name, const luaL_Reg *methods,
                               lua_CFunction tostring)
{
    luaL_newmetatable(L, name);
    lua_newtable(L);
    luaL_setfuncs(L, methods, 0);
    lua_pushvalue(L, -1);
    lua_pushcclosure(L, view_index, 1);
    lua_setfield(L, -3, "__index");
    lua_pushcclosure(L, view_newindex, 1);
    lua_setfield(L, -2, "__newindex");
    lua_pushcfunction(L, tostring);
    lua_setfield(L, -2, "__tostring");
    lua_pushliteral(L, "locked");
    lua_setfield(L, -2, "__metatable");
    lua_pop(L, 1);
}

void lp_views_open(lp_state *st)
{
    lua_State *L = st->L;
    new_view_metatable(L, LP_TORRENT_MT, torrent_methods, t_tostring);
    new_view_metatable(L, LP_PEER_MT, peer_methods, p_tostring);

    luaL_newlib(L, sw_funcs);
    set_int(L, "SRC_TRACKER", SW_PLUGIN_SRC_TRACKER);
    set_int(L, "SRC_DHT", SW_PLUGIN_SRC_DHT);
    set_int(L, "SRC_PEX", SW_PLUGIN_SRC_PEX);
    set_int(L, "SRC_LSD", SW_PLUGIN_SRC_LSD);
    set_int(L, "SRC_RESUME", SW_PLUGIN_SRC_RESUME);
    set_int(L, "SRC_INCOMING", SW_PLUGIN_SRC_INCOMING);
    set_int(L, "SRC_MANUAL", SW_PLUGIN_SRC_MANUAL);
    set_int(L, "PEER_OUTGOING", SW_PLUGIN_PEER_OUTGOING);
    set_int(L, "PEER_SEED", SW_PLUGIN_PEER_SEED);
    set_int(L, "PEER_UPLOAD_ONLY", SW_PLUGIN_PEER_UPLOAD_ONLY);
    set_int(L, "PEER_EXTENSIONS", SW_PLUGIN_PEER_EXTENSIONS);
    set_int(L, "PEER_FAST", SW_PLUGIN_PEER_FAST);
    set_int(L, "PEER_CONNECTABLE", SW_PLUGIN_PEER_CONNECTABLE);
    set_int(L, "PEER_UTP", SW_PLUGIN_PEER_UTP);
    set_int(L, "TRACKER_FROM_TORRENT", SW_PLUGIN_TRACKER_FROM_TORRENT);
    set_int(L, "TRACKER_FROM_PEER", SW_PLUGIN_TRACKER_FROM_PEER);
    set_int(L, "TRACKER_ANSWERED", SW_PLUGIN_TRACKER_ANSWERED);
    set_int(L, "TRACKER_FROM_USER", SW_PLUGIN_TRACKER_FROM_USER);
    lua_pushstring(L, st->path);
    lua_setfield(L, -2, "path");
    lua_pushstring(L, sw_plugin_host_->engine_version ? sw_plugin_host_->engine_version : "");
    lua_setfield(L, -2, "engine_version");
    lua_setglobal(L, "sw");
    /* print goes to the session log: the engine's stdout is its host's. */
    lua_pushcfunction(L, lsw_log);
    lua_setglobal(L, "print");
}
