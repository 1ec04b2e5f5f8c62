/* Settings between Lua tables and sw_settings, by libtorrent name. */
#include <string.h>

#include "module_int.h"

static bool skipped(const char *name, const char *const *skip)
{
    for (size_t i = 0; skip && skip[i]; i++)
        if (!strcmp(skip[i], name))
            return true;
    return false;
}

static void set_one(lua_State *L, sw_settings *s, const char *name, int vidx)
{
    sw_setting_id id;
    if (sw_setting_find(name, &id) < 0)
        luaL_error(L, "unknown setting '%s'", name);
    const sw_setting_info *info = sw_setting_info_get(id);
    int rc = 0;
    switch (info->type) {
    case SW_SETTING_BOOL:
        if (!lua_isboolean(L, vidx))
            luaL_error(L, "setting '%s' wants a boolean, got %s", name, luaL_typename(L, vidx));
        rc = sw_settings_set_bool(s, id, lua_toboolean(L, vidx));
        break;
    case SW_SETTING_INT: {
        int isnum = 0;
        lua_Integer v = lua_tointegerx(L, vidx, &isnum);
        if (!isnum)
            luaL_error(L, "setting '%s' wants an integer, got %s", name, luaL_typename(L, vidx));
        if (v < -2147483647 - 1 || v > 2147483647)
            luaL_error(L, "setting '%s': %I is out of range", name, v);
        rc = sw_settings_set_int(s, id, (int)v);
        break;
    }
    case SW_SETTING_STR: {
        if (lua_type(L, vidx) != LUA_TSTRING)
            luaL_error(L, "setting '%s' wants a string, got %s", name, luaL_typename(L, vidx));
        size_t len;
        const char *v = lua_tolstring(L, vidx, &len);
        if (strlen(v) != len)
            luaL_error(L, "setting '%s': a string with a NUL byte", name);
        rc = sw_settings_set_str(s, id, v);
        break;
    }
    }
    if (rc < 0)
        luaL_error(L, "setting '%s': %s", name, sw_strerror(rc));
}

void sw__lua_settings_from_table(lua_State *L, int idx, sw_settings *s, const char *const *skip)
{
    idx = lua_absindex(L, idx);
    luaL_checktype(L, idx, LUA_TTABLE);
    lua_pushnil(L);
    while (lua_next(L, idx)) {
        if (lua_type(L, -2) != LUA_TSTRING)
            luaL_error(L, "settings are named by strings, got a %s key", luaL_typename(L, -2));
        const char *name = lua_tostring(L, -2);
        if (!skipped(name, skip))
            set_one(L, s, name, lua_gettop(L));
        lua_pop(L, 1);
    }
}

static void push_value(lua_State *L, const sw_settings *s, sw_setting_id id)
{
    const sw_setting_info *info = sw_setting_info_get(id);
    switch (info->type) {
    case SW_SETTING_BOOL: {
        bool v = false;
        sw_settings_get_bool(s, id, &v);
        lua_pushboolean(L, v);
        break;
    }
    case SW_SETTING_INT: {
        int v = 0;
        sw_settings_get_int(s, id, &v);
        lua_pushinteger(L, v);
        break;
    }
    default: {
        const char *v = "";
        sw_settings_get_str(s, id, &v);
        lua_pushstring(L, v);
        break;
    }
    }
}

void sw__lua_push_settings(lua_State *L, const sw_settings *s)
{
    lua_createtable(L, 0, SW_SETTINGS_COUNT);
    for (int i = 0; i < SW_SETTINGS_COUNT; i++) {
        const sw_setting_info *info = sw_setting_info_get((sw_setting_id)i);
        if (!info)
            continue;
        push_value(L, s, info->id);
        lua_setfield(L, -2, info->name);
    }
}

void sw__lua_push_setting(lua_State *L, const sw_settings *s, const char *name)
{
    sw_setting_id id;
    if (sw_setting_find(name, &id) < 0)
        luaL_error(L, "unknown setting '%s'", name);
    push_value(L, s, id);
}

uint32_t sw__lua_check_alert_mask(lua_State *L, int idx)
{
    if (lua_type(L, idx) == LUA_TNUMBER) {
        lua_Integer v = luaL_checkinteger(L, idx);
        if (v < 0 || v > (lua_Integer)UINT32_MAX)
            luaL_error(L, "alert mask out of range");
        return (uint32_t)v;
    }
    /* "error,status" or { "error", "status" } */
    uint32_t mask = 0;
    if (lua_type(L, idx) == LUA_TSTRING) {
        if (sw_alert_category_parse(lua_tostring(L, idx), &mask) < 0)
            luaL_error(L, "unknown alert category in '%s'", lua_tostring(L, idx));
        return mask;
    }
    luaL_checktype(L, idx, LUA_TTABLE);
    lua_Integer n = luaL_len(L, idx);
    for (lua_Integer i = 1; i <= n; i++) {
        lua_geti(L, idx, i);
        uint32_t bit = 0;
        const char *name = luaL_checkstring(L, -1);
        if (sw_alert_category_parse(name, &bit) < 0)
            luaL_error(L, "unknown alert category '%s'", name);
        mask |= bit;
        lua_pop(L, 1);
    }
    return mask;
}
