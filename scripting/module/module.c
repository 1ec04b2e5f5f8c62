/* luaopen_cswarm: the module table and its free functions. */
#include <dirent.h>
#include <errno.h>
#include <string.h>

#include "lua_cswarm.h"
#include "module_int.h"

/* cswarm.sleep(seconds): waits, serving every open session's callbacks and
 * timers meanwhile. */
static int l_sleep(lua_State *L)
{
    lua_Number s = luaL_checknumber(L, 1);
    luaL_argcheck(L, s >= 0 && s < 1e9, 1, "seconds out of range");
    lua_settop(L, 0);
    sw__lua_sleep_all(L, (int64_t)(s * 1000.0 + 0.5));
    return 0;
}

/* cswarm.now(): seconds on a monotonic clock (for measuring intervals). */
static int l_now(lua_State *L)
{
    lua_pushnumber(L, (lua_Number)sw__lua_now_ms() / 1000.0);
    return 1;
}

static int l_strerror(lua_State *L)
{
    lua_pushstring(L, sw_strerror((int)luaL_checkinteger(L, 1)));
    return 1;
}

/* cswarm.torrent_info(path | {data = bencoded}): what a .torrent holds, or
 * nil, message, code. */
static int l_torrent_info(lua_State *L)
{
    sw_torrent_info *ti = NULL;
    sw_error_detail err;
    memset(&err, 0, sizeof err);
    int rc;
    if (lua_istable(L, 1)) {
        lua_getfield(L, 1, "data");
        size_t len;
        const char *data = luaL_checklstring(L, -1, &len);
        rc = sw_torrent_info_load(data, len, NULL, &ti, &err);
    } else {
        rc = sw_torrent_info_load_file(luaL_checkstring(L, 1), NULL, &ti, &err);
    }
    if (rc < 0)
        return sw__lua_push_failure(L, rc, err.message);
    char hex[2 * SW_SHA1_LEN + 1];
    sw_hex_encode(sw_torrent_info_hashes(ti)->v1.v, SW_SHA1_LEN, hex);
    lua_createtable(L, 0, 6);
    lua_pushstring(L, hex);
    lua_setfield(L, -2, "info_hash");
    lua_pushstring(L, sw_torrent_info_name(ti));
    lua_setfield(L, -2, "name");
    lua_pushinteger(L, sw_torrent_info_total_size(ti));
    lua_setfield(L, -2, "total_size");
    lua_pushinteger(L, sw_torrent_info_piece_length(ti));
    lua_setfield(L, -2, "piece_length");
    lua_pushinteger(L, sw_torrent_info_num_pieces(ti));
    lua_setfield(L, -2, "num_pieces");
    int nf = sw_torrent_info_num_files(ti);
    lua_createtable(L, nf, 0);
    for (int i = 0; i < nf; i++) {
        const sw_file_entry *fe = sw_torrent_info_file(ti, i);
        lua_createtable(L, 0, 2);
        lua_pushstring(L, fe->path);
        lua_setfield(L, -2, "path");
        lua_pushinteger(L, fe->size);
        lua_setfield(L, -2, "size");
        lua_rawseti(L, -2, i + 1);
    }
    lua_setfield(L, -2, "files");
    sw_torrent_info_unref(ti);
    return 1;
}

/* cswarm.settings_defaults(): every setting's default, by name. */
static int l_settings_defaults(lua_State *L)
{
    sw_settings *s = NULL;
    int rc = sw_settings_new(&s);
    if (rc < 0)
        return sw__lua_fail(L, rc, "settings_defaults");
    /* Pushing cannot fail but for memory; a leak then is the lesser evil
     * against wrapping one short-lived object in a userdata. */
    sw__lua_push_settings(L, s);
    sw_settings_free(s);
    return 1;
}

static int dir_box_gc(lua_State *L)
{
    DIR **box = lua_touserdata(L, 1);
    if (box && *box) {
        closedir(*box);
        *box = NULL;
    }
    return 0;
}

/* cswarm.list_dir(path): the names in a folder ("." and ".." left out),
 * sorted, or nil, message, errno. For watch folders: plain Lua cannot list
 * one. */
static int l_list_dir(lua_State *L)
{
    const char *path = luaL_checkstring(L, 1);
    DIR *d = opendir(path);
    if (!d) {
        int e = errno;
        lua_pushnil(L);
        lua_pushfstring(L, "%s: %s", path, strerror(e));
        lua_pushinteger(L, e);
        return 3;
    }
    /* Names are collected into a table first: a Lua error while pushing
     * must not leave the DIR open, so pushing is the only thing that can
     * fail and the handle sits in a closing userdata. */
    DIR **box = lua_newuserdatauv(L, sizeof *box, 0);
    *box = d;
    lua_createtable(L, 0, 1);
    lua_pushcfunction(L, dir_box_gc);
    lua_setfield(L, -2, "__gc");
    lua_setmetatable(L, -2);
    lua_newtable(L);
    lua_Integer n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
            continue;
        lua_pushstring(L, e->d_name);
        lua_rawseti(L, -2, ++n);
    }
    closedir(d);
    *box = NULL;
    /* table.sort(list) */
    lua_getglobal(L, "table");
    if (lua_istable(L, -1) && lua_getfield(L, -1, "sort") == LUA_TFUNCTION) {
        lua_pushvalue(L, -3);
        lua_call(L, 1, 0);
        lua_pop(L, 1);
    } else {
        lua_pop(L, 2);
    }
    return 1;
}

static const luaL_Reg functions[] = {
    {"list_dir", l_list_dir},
    {"sleep", l_sleep},
    {"now", l_now},
    {"strerror", l_strerror},
    {"torrent_info", l_torrent_info},
    {"settings_defaults", l_settings_defaults},
    {NULL, NULL},
};

static void set_int(lua_State *L, const char *key, lua_Integer v)
{
    lua_pushinteger(L, v);
    lua_setfield(L, -2, key);
}

SW_LUA_EXPORT int luaopen_cswarm(lua_State *L)
{
    luaL_checkversion(L);
    sw__lua_timer_register(L);
    sw__lua_torrent_register(L);
    luaL_newlib(L, functions);
    sw__lua_session_register(L); /* also sets .session */
    sw__lua_filter_register(L);  /* .ip_filter, .port_filter */
    sw__lua_dht_register(L);     /* .dht_public_key */
    lua_pushstring(L, sw_version());
    lua_setfield(L, -2, "version");
    /* Constants: ses:save_state flags and alert categories. */
    set_int(L, "SAVE_SETTINGS", SW_SAVE_SETTINGS);
    set_int(L, "SAVE_ALL", SW_SAVE_ALL);
    lua_newtable(L);
#define SW_LUA_CAT_(NAME, name, bit) set_int(L, #name, bit);
    SW_ALERT_CATEGORY_MAP(SW_LUA_CAT_)
#undef SW_LUA_CAT_
    lua_setfield(L, -2, "alert_category");
    lua_createtable(L, SW_ALERT_TYPE_COUNT, 0);
    for (int t = 1; t < SW_ALERT_TYPE_COUNT; t++) {
        lua_pushstring(L, sw_alert_type_name(t));
        lua_rawseti(L, -2, t);
    }
    lua_setfield(L, -2, "alert_types");
    sw__lua_push_alert_fields(L);
    lua_setfield(L, -2, "alert_fields");
    /* Error codes by name (cswarm.errors.INVALID_HANDLE), as returned third
     * by functions that give nil, message, code. */
    lua_newtable(L);
#define SW_LUA_ERR_(name, code, msg) set_int(L, #name, code);
    SW_ERRNO_MAP(SW_LUA_ERR_)
#undef SW_LUA_ERR_
    lua_setfield(L, -2, "errors");
    return 1;
}
