/* Session objects: cswarm.session{...} and the ses:... methods. The
 * userdata holds the sw_session; its user value holds the Lua side
 * (callbacks and timers), so the garbage collector sees all of it and a
 * dropped session frees everything with it. */
#include <stdlib.h>
#include <string.h>

#include "module_int.h"

/* Alerts a script sees unless it says otherwise. */
#define DEFAULT_ALERT_MASK                                                                         \
    (SW_ALERT_CAT_ERROR | SW_ALERT_CAT_STATUS | SW_ALERT_CAT_STORAGE | SW_ALERT_CAT_TRACKER |      \
     SW_ALERT_CAT_PEER)

int sw__lua_fail(lua_State *L, int rc, const char *what)
{
    return luaL_error(L, "%s: %s", what, sw_strerror(rc));
}

int sw__lua_push_failure(lua_State *L, int rc, const char *message)
{
    lua_pushnil(L);
    lua_pushstring(L, message && message[0] ? message : sw_strerror(rc));
    lua_pushinteger(L, rc);
    return 3;
}

sw_lua_session *sw__lua_to_session(lua_State *L, int idx)
{
    return luaL_checkudata(L, idx, SW_LUA_SESSION_MT);
}

sw_lua_session *sw__lua_check_session(lua_State *L, int idx)
{
    sw_lua_session *ls = sw__lua_to_session(L, idx);
    if (!ls->ses)
        luaL_error(L, "session is closed");
    return ls;
}

sw_lua_session *sw__lua_new_session(lua_State *L)
{
    /* Created closed, so a failure before the session exists leaves a
     * consistent object for the collector. */
    sw_lua_session *ls = lua_newuserdatauv(L, sizeof *ls, 1);
    memset(ls, 0, sizeof *ls);
    luaL_setmetatable(L, SW_LUA_SESSION_MT);
    lua_createtable(L, 0, 2);
    lua_newtable(L);
    lua_setfield(L, -2, "callbacks");
    lua_newtable(L);
    lua_setfield(L, -2, "timers");
    lua_setiuservalue(L, -2, 1);
    /* Known to cswarm.sleep() while it lives (a weak-keyed set). */
    if (lua_getfield(L, LUA_REGISTRYINDEX, SW_LUA_LIVE_KEY) != LUA_TTABLE) {
        lua_pop(L, 1);
        lua_newtable(L);
        lua_createtable(L, 0, 1);
        lua_pushliteral(L, "k");
        lua_setfield(L, -2, "__mode");
        lua_setmetatable(L, -2);
        lua_pushvalue(L, -1);
        lua_setfield(L, LUA_REGISTRYINDEX, SW_LUA_LIVE_KEY);
    }
    lua_pushvalue(L, -2);
    lua_pushboolean(L, 1);
    lua_rawset(L, -3);
    lua_pop(L, 1);
    return ls;
}

void sw__lua_session_close(lua_State *L, sw_lua_session *ls)
{
    (void)L;
    sw_alert_batch_free(ls->batch);
    ls->batch = NULL;
    sw_session *ses = ls->ses;
    ls->ses = NULL;
    if (ses && !ls->borrowed)
        sw_session_free(ses);
}

/* Port to listen on from listen_interfaces ("127.0.0.1:6881,[::]:6881"):
 * that of the first entry that has one, else -1. */
static int port_of_interfaces(const char *ifs)
{
    while (ifs && *ifs) {
        const char *end = strchr(ifs, ',');
        size_t n = end ? (size_t)(end - ifs) : strlen(ifs);
        const char *colon = NULL, *bracket = NULL;
        for (size_t i = 0; i < n; i++) {
            if (ifs[i] == ':')
                colon = ifs + i;
            if (ifs[i] == ']')
                bracket = ifs + i;
        }
        bool v6_without_port = ifs[0] != '[' && colon && memchr(ifs, ':', (size_t)(colon - ifs));
        if (colon && (!bracket || colon > bracket) && !v6_without_port)
            return atoi(colon + 1);
        ifs = end ? end + 1 : NULL;
    }
    return -1;
}

static bool opt_bool(lua_State *L, int idx, const char *key, bool def)
{
    int t = lua_getfield(L, idx, key);
    bool v = t == LUA_TNIL ? def : lua_toboolean(L, -1);
    if (t != LUA_TNIL && t != LUA_TBOOLEAN)
        luaL_error(L, "'%s' wants a boolean", key);
    lua_pop(L, 1);
    return v;
}

static const char *const session_keys[] = {
    "alert_mask", "default_plugins", "start_default_features", "listen", "plugins", NULL,
};

#define SETTINGS_BOX_MT "cswarm.settings_box"

static int settings_box_gc(lua_State *L)
{
    sw_settings **sp = luaL_checkudata(L, 1, SETTINGS_BOX_MT);
    sw_settings_free(*sp);
    *sp = NULL;
    return 0;
}

/* A settings object owned by a userdata on the stack, so a Lua error while
 * it is filled leaks nothing. */
static sw_settings *push_settings_box(lua_State *L, sw_settings *from)
{
    sw_settings **sp = lua_newuserdatauv(L, sizeof *sp, 0);
    *sp = NULL;
    if (luaL_newmetatable(L, SETTINGS_BOX_MT)) {
        lua_pushcfunction(L, settings_box_gc);
        lua_setfield(L, -2, "__gc");
    }
    lua_setmetatable(L, -2);
    int rc = from ? sw_settings_copy(from, sp) : sw_settings_new(sp);
    if (rc < 0)
        sw__lua_fail(L, rc, "settings");
    return *sp;
}

/* cswarm.session{ setting = value..., alert_mask =, default_plugins =,
 *                 start_default_features =, listen =, plugins = {...} } */
static int l_session(lua_State *L)
{
    if (lua_isnoneornil(L, 1)) {
        lua_settop(L, 0);
        lua_newtable(L);
    }
    luaL_checktype(L, 1, LUA_TTABLE);
    lua_settop(L, 1);
    sw_lua_session *ls = sw__lua_new_session(L);        /* 2 */
    sw_settings *settings = push_settings_box(L, NULL); /* 3 */
    sw__lua_settings_from_table(L, 1, settings, session_keys);

    sw_session_params p;
    sw_session_params_init(&p);
    p.settings = settings;
    p.alert_mask = DEFAULT_ALERT_MASK;
    if (lua_getfield(L, 1, "alert_mask") != LUA_TNIL)
        p.alert_mask = sw__lua_check_alert_mask(L, -1);
    lua_pop(L, 1);
    if (!opt_bool(L, 1, "default_plugins", true))
        p.flags &= ~(unsigned)SW_SESSION_ADD_DEFAULT_PLUGINS;
    if (!opt_bool(L, 1, "start_default_features", true))
        p.flags &= ~(unsigned)SW_SESSION_START_DEFAULT_FEATURES;
    bool listen = opt_bool(L, 1, "listen", true);
    if (lua_getfield(L, 1, "plugins") != LUA_TNIL)
        luaL_checktype(L, -1, LUA_TTABLE);
    lua_pop(L, 1);

    int rc = sw_session_new(&p, &ls->ses);
    if (rc < 0)
        return sw__lua_fail(L, rc, "cswarm.session");
    ls->alert_mask = p.alert_mask;

    if (lua_getfield(L, 1, "plugins") == LUA_TTABLE) {
        lua_Integer n = luaL_len(L, -1);
        for (lua_Integer i = 1; i <= n; i++) {
            lua_geti(L, -1, i);
            const char *path = luaL_checkstring(L, -1);
            sw_error_detail err;
            memset(&err, 0, sizeof err);
            rc = sw_session_load_plugin(ls->ses, path, &err);
            if (rc < 0)
                return luaL_error(L, "plugin %s: %s", path,
                                  err.message[0] ? err.message : sw_strerror(rc));
            lua_pop(L, 1);
        }
    }
    lua_pop(L, 1);

    if (listen) {
        const char *ifs = "";
        sw_settings_get_str(settings, SW_SET_LISTEN_INTERFACES, &ifs);
        int port = port_of_interfaces(ifs);
        rc = sw_session_listen_on(ls->ses, port < 0 ? 6881 : port, port < 0 ? 6889 : port, NULL,
                                  port > 0 ? SW_LISTEN_NO_SYSTEM_PORT : 0);
        if (rc < 0)
            return luaL_error(L, "cannot listen on %s: %s", ifs, sw_strerror(rc));
    }
    lua_settop(L, 2);
    return 1;
}

/* ---- methods ---- */

static int s_close(lua_State *L)
{
    sw_lua_session *ls = sw__lua_to_session(L, 1);
    sw__lua_session_close(L, ls);
    /* Timers of a closed session never fire again. */
    if (lua_getiuservalue(L, 1, 1) == LUA_TTABLE) {
        lua_newtable(L);
        lua_setfield(L, -2, "timers");
    }
    return 0;
}

static int s_tostring(lua_State *L)
{
    sw_lua_session *ls = sw__lua_to_session(L, 1);
    lua_pushfstring(L, "cswarm.session(%s)", ls->ses ? "open" : "closed");
    return 1;
}

static int s_is_open(lua_State *L)
{
    lua_pushboolean(L, sw__lua_to_session(L, 1)->ses != NULL);
    return 1;
}

static int s_listen_port(lua_State *L)
{
    sw_lua_session *ls = sw__lua_check_session(L, 1);
    uint16_t port = 0;
    int rc = sw_session_listen_port(ls->ses, &port);
    if (rc < 0)
        return sw__lua_fail(L, rc, "listen_port");
    lua_pushinteger(L, port);
    return 1;
}

static int s_listen_on(lua_State *L)
{
    sw_lua_session *ls = sw__lua_check_session(L, 1);
    lua_Integer lo = luaL_checkinteger(L, 2);
    lua_Integer hi = luaL_optinteger(L, 3, lo);
    const char *ifs = luaL_optstring(L, 4, NULL);
    luaL_argcheck(L, lo >= 0 && lo <= 65535, 2, "port out of range");
    luaL_argcheck(L, hi >= lo && hi <= 65535, 3, "port out of range");
    int rc =
        sw_session_listen_on(ls->ses, (int)lo, (int)hi, ifs, lo ? SW_LISTEN_NO_SYSTEM_PORT : 0);
    if (rc < 0)
        return sw__lua_push_failure(L, rc, NULL);
    lua_pushboolean(L, 1);
    return 1;
}

static int s_remove(lua_State *L)
{
    sw_lua_session *ls = sw__lua_check_session(L, 1);
    sw_torrent_handle h = sw__lua_check_torrent(L, 2);
    unsigned flags = 0;
    if (lua_istable(L, 3)) {
        lua_getfield(L, 3, "delete_files");
        if (lua_toboolean(L, -1))
            flags |= SW_REMOVE_DELETE_FILES;
        lua_pop(L, 1);
    }
    int rc = sw_session_remove_torrent(ls->ses, h, flags);
    if (rc < 0)
        return luaL_error(L, "%s", sw_strerror(rc));
    return 0;
}

static int s_torrents(lua_State *L)
{
    sw_lua_session *ls = sw__lua_check_session(L, 1);
    sw_torrent_handle *hs = NULL;
    size_t n = 0;
    int rc = sw_session_get_torrents(ls->ses, &hs, &n);
    if (rc < 0)
        return sw__lua_fail(L, rc, "torrents");
    lua_createtable(L, (int)n, 0);
    for (size_t i = 0; i < n; i++) {
        sw__lua_push_torrent(L, 1, hs[i].id);
        lua_rawseti(L, -2, (lua_Integer)i + 1);
    }
    free(hs);
    return 1;
}

static int s_find_torrent(lua_State *L)
{
    sw_lua_session *ls = sw__lua_check_session(L, 1);
    size_t len;
    const char *hex = luaL_checklstring(L, 2, &len);
    sw_sha1 ih;
    if (!sw_hex_decode(hex, len, ih.v, sizeof ih.v))
        return luaL_argerror(L, 2, "expected a 40-digit hex info-hash");
    sw_torrent_handle h;
    int rc = sw_session_find_torrent(ls->ses, &ih, &h);
    if (rc == SW_ERR_NOT_FOUND) {
        lua_pushnil(L);
        return 1;
    }
    if (rc < 0)
        return sw__lua_fail(L, rc, "find_torrent");
    sw__lua_push_torrent(L, 1, h.id);
    return 1;
}

#define SIMPLE(name, call)                                                                         \
    static int name(lua_State *L)                                                                  \
    {                                                                                              \
        sw_lua_session *ls = sw__lua_check_session(L, 1);                                          \
        int rc = call(ls->ses);                                                                    \
        if (rc < 0)                                                                                \
            return luaL_error(L, "%s", sw_strerror(rc));                                           \
        return 0;                                                                                  \
    }
SIMPLE(s_pause, sw_session_pause)
SIMPLE(s_resume, sw_session_resume)
SIMPLE(s_post_torrent_updates, sw_session_post_torrent_updates)
#undef SIMPLE

static int s_is_paused(lua_State *L)
{
    lua_pushboolean(L, sw_session_is_paused(sw__lua_check_session(L, 1)->ses));
    return 1;
}

#define SETI(key, v) (lua_pushinteger(L, (lua_Integer)(v)), lua_setfield(L, -2, key))

static int s_status(lua_State *L)
{
    sw_lua_session *ls = sw__lua_check_session(L, 1);
    sw_session_status st;
    memset(&st, 0, sizeof st);
    st.struct_size = sizeof st;
    int rc = sw_session_get_status(ls->ses, &st);
    if (rc < 0)
        return sw__lua_fail(L, rc, "status");
    lua_createtable(L, 0, 48);
    lua_pushboolean(L, st.has_incoming_connections);
    lua_setfield(L, -2, "has_incoming_connections");
    SETI("upload_rate", st.upload_rate);
    SETI("download_rate", st.download_rate);
    SETI("payload_upload_rate", st.payload_upload_rate);
    SETI("payload_download_rate", st.payload_download_rate);
    SETI("ip_overhead_upload_rate", st.ip_overhead_upload_rate);
    SETI("ip_overhead_download_rate", st.ip_overhead_download_rate);
    SETI("tracker_upload_rate", st.tracker_upload_rate);
    SETI("tracker_download_rate", st.tracker_download_rate);
    SETI("total_download", st.total_download);
    SETI("total_upload", st.total_upload);
    SETI("total_payload_download", st.total_payload_download);
    SETI("total_payload_upload", st.total_payload_upload);
    SETI("total_ip_overhead_download", st.total_ip_overhead_download);
    SETI("total_ip_overhead_upload", st.total_ip_overhead_upload);
    SETI("total_tracker_download", st.total_tracker_download);
    SETI("total_tracker_upload", st.total_tracker_upload);
    SETI("total_redundant_bytes", st.total_redundant_bytes);
    SETI("total_failed_bytes", st.total_failed_bytes);
    SETI("num_peers", st.num_peers);
    SETI("num_half_open", st.num_half_open);
    SETI("num_unchoked", st.num_unchoked);
    SETI("allowed_upload_slots", st.allowed_upload_slots);
    SETI("optimistic_unchoke_counter", st.optimistic_unchoke_counter);
    SETI("unchoke_counter", st.unchoke_counter);
    SETI("disk_write_queue", st.disk_write_queue);
    SETI("disk_read_queue", st.disk_read_queue);
    SETI("disk_queued_jobs", st.disk_queued_jobs);
    SETI("disk_queued_bytes", st.disk_queued_bytes);
    SETI("peerlist_size", st.peerlist_size);
    SETI("num_torrents", st.num_torrents);
    SETI("up_bandwidth_queue", st.up_bandwidth_queue);
    SETI("down_bandwidth_queue", st.down_bandwidth_queue);
    SETI("up_bandwidth_bytes_queue", st.up_bandwidth_bytes_queue);
    SETI("down_bandwidth_bytes_queue", st.down_bandwidth_bytes_queue);
    /* The DHT's figures (0 while it does not run) and its KRPC traffic. */
    lua_createtable(L, 0, 12);
    SETI("nodes", st.dht_nodes);
    SETI("node_cache", st.dht_node_cache);
    SETI("torrents", st.dht_torrents);
    SETI("global_nodes", st.dht_global_nodes);
    SETI("lookups", st.dht_lookups);
    SETI("buckets", st.dht_buckets);
    SETI("total_allocations", st.dht_total_allocations);
    SETI("upload_rate", st.dht_upload_rate);
    SETI("download_rate", st.dht_download_rate);
    SETI("total_upload", st.total_dht_upload);
    SETI("total_download", st.total_dht_download);
    lua_setfield(L, -2, "dht");
    /* uTP sockets now and packets since the session started. */
    const sw_utp_status *u = &st.utp_status;
    lua_createtable(L, 0, 17);
    SETI("num_idle", u->num_idle);
    SETI("num_syn_sent", u->num_syn_sent);
    SETI("num_connected", u->num_connected);
    SETI("num_fin_sent", u->num_fin_sent);
    SETI("num_close_wait", u->num_close_wait);
    SETI("packets_in", u->packets_in);
    SETI("packets_out", u->packets_out);
    SETI("payload_pkts_in", u->payload_pkts_in);
    SETI("payload_pkts_out", u->payload_pkts_out);
    SETI("packet_loss", u->packet_loss);
    SETI("packet_resend", u->packet_resend);
    SETI("fast_retransmit", u->fast_retransmit);
    SETI("timeout", u->timeout);
    SETI("invalid_pkts_in", u->invalid_pkts_in);
    SETI("redundant_pkts_in", u->redundant_pkts_in);
    SETI("samples_above_target", u->samples_above_target);
    SETI("samples_below_target", u->samples_below_target);
    SETI("mtu_probes", u->mtu_probes);
    SETI("mtu_probes_lost", u->mtu_probes_lost);
    SETI("mtu_probes_toobig", u->mtu_probes_toobig);
    lua_setfield(L, -2, "utp");
    return 1;
}

/* ---- settings and state ---- */

static int s_settings(lua_State *L)
{
    sw_lua_session *ls = sw__lua_check_session(L, 1);
    const char *name = luaL_optstring(L, 2, NULL);
    lua_settop(L, 2);
    sw_settings **box = lua_newuserdatauv(L, sizeof *box, 0); /* frees the copy, even on error */
    *box = NULL;
    if (luaL_newmetatable(L, SETTINGS_BOX_MT)) {
        lua_pushcfunction(L, settings_box_gc);
        lua_setfield(L, -2, "__gc");
    }
    lua_setmetatable(L, -2);
    int rc = sw_session_get_settings(ls->ses, box);
    if (rc < 0)
        return sw__lua_fail(L, rc, "settings");
    if (name)
        sw__lua_push_setting(L, *box, name);
    else
        sw__lua_push_settings(L, *box);
    return 1;
}

/* Changes the settings named in the table; others keep their values. */
static int s_apply_settings(lua_State *L)
{
    sw_lua_session *ls = sw__lua_check_session(L, 1);
    luaL_checktype(L, 2, LUA_TTABLE);
    sw_settings *cur = NULL;
    int rc = sw_session_get_settings(ls->ses, &cur);
    if (rc < 0)
        return sw__lua_fail(L, rc, "apply_settings");
    sw_settings *s = push_settings_box(L, cur);
    sw_settings_free(cur);
    sw__lua_settings_from_table(L, 2, s, NULL);
    rc = sw_session_apply_settings(ls->ses, s);
    if (rc < 0)
        return sw__lua_fail(L, rc, "apply_settings");
    return 0;
}

static uint32_t opt_state_flags(lua_State *L, int idx)
{
    lua_Integer v = luaL_optinteger(L, idx, (lua_Integer)SW_SAVE_ALL);
    return (uint32_t)v;
}

static int s_save_state(lua_State *L)
{
    sw_lua_session *ls = sw__lua_check_session(L, 1);
    uint8_t *buf = NULL;
    size_t len = 0;
    int rc = sw_session_save_state(ls->ses, opt_state_flags(L, 2), &buf, &len);
    if (rc < 0)
        return sw__lua_fail(L, rc, "save_state");
    lua_pushlstring(L, (const char *)buf, len);
    free(buf);
    return 1;
}

static int s_load_state(lua_State *L)
{
    sw_lua_session *ls = sw__lua_check_session(L, 1);
    size_t len;
    const char *buf = luaL_checklstring(L, 2, &len);
    int rc = sw_session_load_state(ls->ses, buf, len, opt_state_flags(L, 3));
    if (rc < 0)
        return sw__lua_push_failure(L, rc, NULL);
    lua_pushboolean(L, 1);
    return 1;
}

static int s_set_alert_mask(lua_State *L)
{
    sw_lua_session *ls = sw__lua_check_session(L, 1);
    uint32_t mask = sw__lua_check_alert_mask(L, 2);
    int rc = sw_session_set_alert_mask(ls->ses, mask);
    if (rc < 0)
        return sw__lua_fail(L, rc, "set_alert_mask");
    ls->alert_mask = mask;
    return 0;
}

static int s_alert_mask(lua_State *L)
{
    lua_pushinteger(L, sw__lua_check_session(L, 1)->alert_mask);
    return 1;
}

static int s_load_plugin(lua_State *L)
{
    sw_lua_session *ls = sw__lua_check_session(L, 1);
    const char *path = luaL_checkstring(L, 2);
    sw_error_detail err;
    memset(&err, 0, sizeof err);
    int rc = sw_session_load_plugin(ls->ses, path, &err);
    if (rc < 0)
        return sw__lua_push_failure(L, rc, err.message);
    lua_pushboolean(L, 1);
    return 1;
}

static const luaL_Reg methods[] = {
    {"close", s_close},
    {"is_open", s_is_open},
    {"listen_port", s_listen_port},
    {"listen_on", s_listen_on},
    {"add_torrent", sw__lua_session_add_torrent},
    {"remove", s_remove},
    {"remove_torrent", s_remove},
    {"torrents", s_torrents},
    {"find_torrent", s_find_torrent},
    {"pause", s_pause},
    {"resume", s_resume},
    {"is_paused", s_is_paused},
    {"post_torrent_updates", s_post_torrent_updates},
    {"status", s_status},
    {"settings", s_settings},
    {"apply_settings", s_apply_settings},
    {"save_state", s_save_state},
    {"load_state", s_load_state},
    {"set_alert_mask", s_set_alert_mask},
    {"alert_mask", s_alert_mask},
    {"load_plugin", s_load_plugin},
    {NULL, NULL},
};

void sw__lua_session_register(lua_State *L)
{
    if (luaL_newmetatable(L, SW_LUA_SESSION_MT)) {
        luaL_newlib(L, methods);
        luaL_setfuncs(L, sw__lua_session_event_methods, 0);
        luaL_setfuncs(L, sw__lua_session_filter_methods, 0);
        luaL_setfuncs(L, sw__lua_session_dht_methods, 0);
        lua_setfield(L, -2, "__index");
        lua_pushcfunction(L, s_close);
        lua_setfield(L, -2, "__gc");
        lua_pushcfunction(L, s_close);
        lua_setfield(L, -2, "__close");
        lua_pushcfunction(L, s_tostring);
        lua_setfield(L, -2, "__tostring");
    }
    lua_pop(L, 1);
    lua_pushcfunction(L, l_session);
    lua_setfield(L, -2, "session");
}
