/* The session methods that wait or react: ses:alerts(), ses:wait_for(),
 * ses:run(), ses:stop(), callbacks (ses:on/off) and timers (ses:every/
 * after). The waiting itself is lpump.c's. */
#include <string.h>

#include "module_int.h"

static int alert_type_of(const char *name)
{
    for (int t = 1; t < SW_ALERT_TYPE_COUNT; t++)
        if (!strcmp(sw_alert_type_name(t), name))
            return t;
    return 0;
}

/* ses:on(type, fn): fn(alert) for every alert of that type ("*": all).
 * The type's categories join the alert mask, so the alerts come. */
static int s_on(lua_State *L)
{
    sw_lua_session *ls = sw__lua_check_session(L, 1);
    const char *type = luaL_checkstring(L, 2);
    luaL_checktype(L, 3, LUA_TFUNCTION);
    int t = 0;
    if (strcmp(type, "*") != 0 && !(t = alert_type_of(type)))
        return luaL_argerror(L, 2, lua_pushfstring(L, "unknown alert type '%s'", type));
    if (t) {
        uint32_t cat = sw_alert_type_category(t);
        if ((ls->alert_mask & cat) == 0 &&
            sw_session_set_alert_mask(ls->ses, ls->alert_mask | cat) == 0)
            ls->alert_mask |= cat;
    }
    lua_getiuservalue(L, 1, 1);
    lua_getfield(L, -1, "callbacks");
    if (lua_getfield(L, -1, type) != LUA_TTABLE) {
        lua_pop(L, 1);
        lua_newtable(L);
        lua_pushvalue(L, -1);
        lua_setfield(L, -3, type);
    }
    lua_pushvalue(L, 3);
    lua_rawseti(L, -2, luaL_len(L, -2) + 1);
    lua_pushvalue(L, 3);
    return 1;
}

/* ses:off(type, fn): removes fn (every registration of it). */
static int s_off(lua_State *L)
{
    sw__lua_to_session(L, 1);
    const char *type = luaL_checkstring(L, 2);
    luaL_checktype(L, 3, LUA_TFUNCTION);
    lua_getiuservalue(L, 1, 1);
    lua_getfield(L, -1, "callbacks");
    if (lua_getfield(L, -1, type) != LUA_TTABLE)
        return 0;
    int list = lua_gettop(L);
    lua_newtable(L);
    lua_Integer n = luaL_len(L, list), k = 0;
    for (lua_Integer i = 1; i <= n; i++) {
        lua_rawgeti(L, list, i);
        if (lua_rawequal(L, -1, 3))
            lua_pop(L, 1);
        else
            lua_rawseti(L, -2, ++k);
    }
    lua_setfield(L, list - 1, type);
    return 0;
}

static int64_t opt_timeout_ms(lua_State *L, int idx)
{
    if (lua_isnoneornil(L, idx))
        return -1;
    lua_Number s = luaL_checknumber(L, idx);
    luaL_argcheck(L, s >= 0 && s < 1e9, idx, "seconds out of range");
    return (int64_t)(s * 1000.0 + 0.5);
}

/* The iterator behind `for a in ses:alerts(timeout)`: upvalue 1 is the
 * session object, 2 the timeout in ms. */
static int alerts_next(lua_State *L)
{
    lua_settop(L, 0);
    lua_pushvalue(L, lua_upvalueindex(1));
    if (!sw__lua_to_session(L, 1)->ses)
        return 0;
    int64_t timeout = (int64_t)lua_tointeger(L, lua_upvalueindex(2));
    if (sw__lua_pump(L, 1, timeout, SW_LUA_WAIT_ALERT) == SW_LUA_PUMP_ALERT)
        return 1;
    return 0;
}

/* for a in ses:alerts([timeout]) do ... end: each alert as it comes; the
 * loop ends after timeout seconds without one (nil: never), when a callback
 * calls ses:stop(), or when the session is closed. */
static int s_alerts(lua_State *L)
{
    sw__lua_check_session(L, 1);
    int64_t timeout = opt_timeout_ms(L, 2);
    lua_pushvalue(L, 1);
    lua_pushinteger(L, timeout);
    lua_pushcclosure(L, alerts_next, 2);
    return 1;
}

/* ses:wait_for(type, [timeout]): the next alert of that type (others go to
 * callbacks only), or nil after timeout seconds. */
static int s_wait_for(lua_State *L)
{
    sw__lua_check_session(L, 1);
    const char *type = luaL_checkstring(L, 2);
    if (!alert_type_of(type))
        return luaL_argerror(L, 2, lua_pushfstring(L, "unknown alert type '%s'", type));
    int64_t timeout = opt_timeout_ms(L, 3);
    int64_t deadline = timeout < 0 ? -1 : sw__lua_now_ms() + timeout;
    lua_settop(L, 2);
    for (;;) {
        int64_t left = deadline < 0 ? -1 : deadline - sw__lua_now_ms();
        if (deadline >= 0 && left < 0)
            left = 0;
        if (sw__lua_pump(L, 1, left, SW_LUA_WAIT_ALERT) != SW_LUA_PUMP_ALERT)
            break;
        lua_getfield(L, -1, "type");
        bool match = !strcmp(lua_tostring(L, -1), type);
        lua_pop(L, 1);
        if (match)
            return 1;
        lua_pop(L, 1);
        if (deadline >= 0 && sw__lua_now_ms() >= deadline)
            break;
    }
    lua_pushnil(L);
    return 1;
}

/* ses:run([seconds]): serves callbacks and timers until ses:stop() (true)
 * or the time is up (false). */
static int s_run(lua_State *L)
{
    sw__lua_check_session(L, 1);
    int64_t timeout = opt_timeout_ms(L, 2);
    lua_settop(L, 1);
    lua_pushboolean(L, sw__lua_pump(L, 1, timeout, SW_LUA_WAIT_RUN) == SW_LUA_PUMP_STOPPED);
    return 1;
}

static int s_stop(lua_State *L)
{
    sw__lua_to_session(L, 1)->stop = true;
    return 0;
}

static int s_every(lua_State *L)
{
    return sw__lua_add_timer(L, true);
}

static int s_after(lua_State *L)
{
    return sw__lua_add_timer(L, false);
}

const luaL_Reg sw__lua_session_event_methods[] = {
    {"on", s_on},   {"off", s_off},   {"alerts", s_alerts}, {"wait_for", s_wait_for},
    {"run", s_run}, {"stop", s_stop}, {"every", s_every},   {"after", s_after},
    {NULL, NULL},
};
