/* ses:add_torrent{...}: the torrent's source (a .torrent file or its bytes,
 * a magnet link, an http(s) URL) and add_torrent_params from a Lua table.
 * Engine objects made on the way (metainfo, magnet) sit in userdata boxes
 * while Lua may raise, so an error leaks nothing. */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "module_int.h"

/* add_torrent{url=...} waits on the script's thread for the session to
 * fetch the .torrent (the session bounds the fetch to 120 s); this is a
 * backstop in case it never says. */
#define URL_WAIT_MS 130000

#define TI_BOX_MT "cswarm.ti_box"
#define MAGNET_BOX_MT "cswarm.magnet_box"

static int ti_box_gc(lua_State *L)
{
    sw_torrent_info **p = luaL_checkudata(L, 1, TI_BOX_MT);
    sw_torrent_info_unref(*p);
    *p = NULL;
    return 0;
}

static int magnet_box_gc(lua_State *L)
{
    sw_magnet **p = luaL_checkudata(L, 1, MAGNET_BOX_MT);
    sw_magnet_free(*p);
    *p = NULL;
    return 0;
}

static void **push_box(lua_State *L, const char *mt, lua_CFunction gc)
{
    void **p = lua_newuserdatauv(L, sizeof *p, 0);
    *p = NULL;
    if (luaL_newmetatable(L, mt)) {
        lua_pushcfunction(L, gc);
        lua_setfield(L, -2, "__gc");
    }
    lua_setmetatable(L, -2);
    return p;
}

static bool field_bool(lua_State *L, int t, const char *key)
{
    lua_getfield(L, t, key);
    bool v = lua_toboolean(L, -1);
    lua_pop(L, 1);
    return v;
}

static int field_int(lua_State *L, int t, const char *key, int def)
{
    int ty = lua_getfield(L, t, key);
    lua_Integer v = def;
    if (ty != LUA_TNIL) {
        int ok = 0;
        v = lua_tointegerx(L, -1, &ok);
        if (!ok || v < -1 || v > 2147483647)
            luaL_error(L, "add_torrent: '%s' wants an integer", key);
    }
    lua_pop(L, 1);
    return (int)v;
}

static const char *field_str(lua_State *L, int t, const char *key, size_t *len)
{
    int ty = lua_getfield(L, t, key);
    const char *v = NULL;
    if (ty != LUA_TNIL) {
        if (ty != LUA_TSTRING)
            luaL_error(L, "add_torrent: '%s' wants a string", key);
        v = lua_tolstring(L, -1, len);
    }
    lua_pop(L, 1); /* the string stays reachable from the params table */
    return v;
}

static const struct {
    const char *key;
    uint64_t flag;
} add_flags[] = {
    {"seed_mode", SW_ADD_SEED_MODE},
    {"override_resume_data", SW_ADD_OVERRIDE_RESUME_DATA},
    {"upload_mode", SW_ADD_UPLOAD_MODE},
    {"paused", SW_ADD_PAUSED},
    {"auto_managed", SW_ADD_AUTO_MANAGED},
    {"sequential_download", SW_ADD_SEQUENTIAL_DOWNLOAD},
    {"use_resume_save_path", SW_ADD_USE_RESUME_SAVE_PATH},
    {"share_mode", SW_ADD_SHARE_MODE},
    {"super_seeding", SW_ADD_SUPER_SEEDING},
};

/* Flags on by default that a false value turns off. */
static const struct {
    const char *key;
    uint64_t flag;
} default_flags[] = {
    {"duplicate_is_error", SW_ADD_DUPLICATE_IS_ERROR},
    {"apply_ip_filter", SW_ADD_APPLY_IP_FILTER},
    {"update_subscribe", SW_ADD_UPDATE_SUBSCRIBE},
};

/* A URL source: waits until the session has fetched and loaded the
 * .torrent, so that the script gets a handle with its metadata as with the
 * other sources. A failed fetch removes the torrent again and returns its
 * error (the message names the URL). */
static int wait_for_url(sw_torrent_handle h, char *msg, size_t msg_len)
{
    struct timespec pause = {0, 10 * 1000 * 1000};
    for (int waited = 0; waited < URL_WAIT_MS; waited += 10) {
        sw_torrent_status st;
        int rc = sw_torrent_get_status(h, &st);
        if (rc < 0) {
            snprintf(msg, msg_len, "%s", sw_strerror(rc));
            return rc;
        }
        if (st.error) {
            snprintf(msg, msg_len, "%s",
                     st.error_message[0] ? st.error_message : sw_strerror(st.error));
            sw_session_remove_torrent(h.session, h, 0);
            return st.error;
        }
        if (st.has_metadata)
            return 0;
        nanosleep(&pause, NULL);
    }
    sw_session_remove_torrent(h.session, h, 0);
    snprintf(msg, msg_len, "fetching the .torrent took too long");
    return SW_ERR_TIMEOUT;
}

/* ses:add_torrent{ ti = path | torrent_data = bencoded | magnet = uri |
 *                  url = http(s) URL, save_path = ..., ... }
 * Returns a handle, or nil, message, code. */
int sw__lua_session_add_torrent(lua_State *L)
{
    sw_lua_session *ls = sw__lua_check_session(L, 1);
    luaL_checktype(L, 2, LUA_TTABLE);
    lua_settop(L, 2);
    sw_torrent_info **ti = (sw_torrent_info **)push_box(L, TI_BOX_MT, ti_box_gc); /* 3 */
    sw_magnet **mag = (sw_magnet **)push_box(L, MAGNET_BOX_MT, magnet_box_gc);    /* 4 */

    size_t data_len = 0;
    const char *path = field_str(L, 2, "ti", NULL);
    const char *data = field_str(L, 2, "torrent_data", &data_len);
    const char *magnet = field_str(L, 2, "magnet", NULL);
    const char *url = field_str(L, 2, "url", NULL);
    int sources = !!path + !!data + !!magnet + !!url;
    if (sources != 1)
        return luaL_error(L, "add_torrent: give exactly one of ti, torrent_data, magnet, url");
    const char *save_path = field_str(L, 2, "save_path", NULL);
    if (!save_path)
        return luaL_error(L, "add_torrent: save_path is required");

    sw_error_detail err;
    memset(&err, 0, sizeof err);
    int rc = 0;
    if (url) {
        /* The session fetches it (add_torrent_params url); see
         * wait_for_url below. */
    } else if (data) {
        rc = sw_torrent_info_load(data, data_len, NULL, ti, &err);
    } else if (path) {
        rc = sw_torrent_info_load_file(path, NULL, ti, &err);
    } else {
        rc = sw_magnet_parse(magnet, strlen(magnet), mag, &err);
        if (rc == 0 && !sw_magnet_hashes(*mag)->has_v1) {
            rc = SW_ERR_NOT_SUPPORTED;
            snprintf(err.message, sizeof err.message, "only v1 (btih) magnet links are supported");
        }
    }
    if (rc < 0)
        return sw__lua_push_failure(L, rc, err.message);

    sw_add_torrent_params p;
    sw_add_torrent_params_init(&p);
    p.ti = *ti;
    p.url = url;
    if (*mag) {
        p.info_hash = sw_magnet_hashes(*mag)->v1;
        p.name = sw_magnet_name(*mag);
    }
    p.save_path = save_path;
    const char *name = field_str(L, 2, "name", NULL);
    if (name)
        p.name = name;
    p.resume_data = field_str(L, 2, "resume_data", &p.resume_data_len);
    for (size_t i = 0; i < sizeof add_flags / sizeof add_flags[0]; i++)
        if (field_bool(L, 2, add_flags[i].key))
            p.flags |= add_flags[i].flag;
    for (size_t i = 0; i < sizeof default_flags / sizeof default_flags[0]; i++) {
        lua_getfield(L, 2, default_flags[i].key);
        if (lua_isboolean(L, -1) && !lua_toboolean(L, -1))
            p.flags &= ~default_flags[i].flag;
        lua_pop(L, 1);
    }
    const char *storage = field_str(L, 2, "storage_mode", NULL);
    if (storage && !strcmp(storage, "allocate"))
        p.storage_mode = SW_STORAGE_MODE_ALLOCATE;
    else if (storage && strcmp(storage, "sparse") != 0)
        return luaL_error(L, "add_torrent: storage_mode is \"sparse\" or \"allocate\"");
    p.upload_limit = field_int(L, 2, "upload_limit", -1);
    p.download_limit = field_int(L, 2, "download_limit", -1);
    p.max_uploads = field_int(L, 2, "max_uploads", -1);
    p.max_connections = field_int(L, 2, "max_connections", -1);
    if (lua_getfield(L, 2, "file_priorities") == LUA_TTABLE) {
        lua_Integer n = luaL_len(L, -1);
        if (n < 0 || n > 1000000)
            return luaL_error(L, "add_torrent: too many file_priorities");
        uint8_t *prio = lua_newuserdatauv(L, (size_t)n + 1, 0);
        for (lua_Integer i = 1; i <= n; i++) {
            lua_geti(L, -2, i);
            lua_Integer v = lua_tointeger(L, -1);
            if (v < 0 || v > 7)
                return luaL_error(L, "add_torrent: file priorities are 0 to 7");
            prio[i - 1] = (uint8_t)v;
            lua_pop(L, 1);
        }
        p.file_priorities = prio;
        p.num_file_priorities = (size_t)n;
    }

    /* Misuse is raised before anything is added. */
    if (lua_getfield(L, 2, "peers") != LUA_TNIL) {
        luaL_checktype(L, -1, LUA_TTABLE);
        lua_Integer n = luaL_len(L, -1);
        for (lua_Integer i = 1; i <= n; i++) {
            lua_geti(L, -1, i);
            char ip[64];
            uint16_t port;
            if (lua_type(L, -1) != LUA_TSTRING ||
                !sw__lua_parse_peer(lua_tostring(L, -1), ip, &port))
                return luaL_error(
                    L, "add_torrent: peers[%I] is not \"ip:port\" with a numeric address", i);
            lua_pop(L, 1);
        }
    }
    lua_pop(L, 1);
    if (lua_getfield(L, 2, "trackers") != LUA_TNIL) {
        luaL_checktype(L, -1, LUA_TTABLE);
        lua_Integer n = luaL_len(L, -1);
        for (lua_Integer i = 1; i <= n; i++) {
            const char *tr = lua_geti(L, -1, i) == LUA_TSTRING ? lua_tostring(L, -1) : "";
            if (strncmp(tr, "http://", 7) && strncmp(tr, "https://", 8) && strncmp(tr, "udp://", 6))
                return luaL_error(L, "add_torrent: trackers[%I] is not an http(s) or udp URL", i);
            lua_pop(L, 1);
        }
    }
    lua_pop(L, 1);

    sw_torrent_handle h;
    memset(&err, 0, sizeof err);
    rc = sw_session_add_torrent(ls->ses, &p, &h, &err);
    if (rc < 0)
        return sw__lua_push_failure(L, rc, err.message);
    if (url) {
        rc = wait_for_url(h, err.message, sizeof err.message);
        if (rc < 0)
            return sw__lua_push_failure(L, rc, err.message);
    }
    lua_settop(L, 4);
    sw__lua_push_torrent(L, 1, h.id); /* 5 */

    /* A magnet link's trackers (one tier each) and peers, then extra ones. */
    for (int i = 0; *mag && i < sw_magnet_num_trackers(*mag); i++)
        sw_torrent_add_tracker(h, sw_magnet_tracker(*mag, i), i);
    for (int i = 0; *mag && i < sw_magnet_num_peers(*mag); i++) {
        const sw_magnet_peer *mp = sw_magnet_peer_at(*mag, i);
        if (mp->kind != SW_MAGNET_PEER_HOSTNAME)
            sw_torrent_connect_peer(h, mp->host, (uint16_t)mp->port);
    }
    if (lua_getfield(L, 2, "trackers") == LUA_TTABLE) {
        lua_Integer n = luaL_len(L, -1);
        for (lua_Integer i = 1; i <= n; i++) {
            lua_geti(L, -1, i);
            rc = sw_torrent_add_tracker(h, luaL_checkstring(L, -1), 0);
            if (rc < 0 && rc != SW_ERR_EXISTS)
                return luaL_error(L, "add_torrent: tracker %s: %s", lua_tostring(L, -1),
                                  sw_strerror(rc));
            lua_pop(L, 1);
        }
    }
    lua_pop(L, 1);
    /* Peers were checked before adding; a failed dial is not the add's. */
    if (lua_getfield(L, 2, "peers") == LUA_TTABLE) {
        lua_Integer n = luaL_len(L, -1);
        for (lua_Integer i = 1; i <= n; i++) {
            lua_geti(L, -1, i);
            char ip[64];
            uint16_t port;
            if (sw__lua_parse_peer(lua_tostring(L, -1), ip, &port))
                (void)sw_torrent_connect_peer(h, ip, port);
            lua_pop(L, 1);
        }
    }
    lua_settop(L, 5);
    return 1;
}
