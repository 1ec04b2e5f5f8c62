/* IP and port filters in Lua: cswarm.ip_filter(), cswarm.port_filter() and
 * the session's set_ip_filter / ip_filter / set_port_filter / port_filter.
 * A filter object owns its sw_ip_filter (freed by the collector); the
 * session copies a filter it is given, so a script may go on changing its
 * object without touching the session's filter until it sets it again. */
#include <stdlib.h>
#include <string.h>

#include "module_int.h"

#define IP_FILTER_MT "cswarm.ip_filter"
#define PORT_FILTER_MT "cswarm.port_filter"

typedef struct {
    sw_ip_filter *f;
} ip_box;

typedef struct {
    sw_port_filter *f;
} port_box;

static int ip_gc(lua_State *L)
{
    ip_box *b = luaL_checkudata(L, 1, IP_FILTER_MT);
    sw_ip_filter_free(b->f);
    b->f = NULL;
    return 0;
}

static int port_gc(lua_State *L)
{
    port_box *b = luaL_checkudata(L, 1, PORT_FILTER_MT);
    sw_port_filter_free(b->f);
    b->f = NULL;
    return 0;
}

/* A new empty box on the stack: filled after it exists, so that a failure
 * leaks nothing. */
static ip_box *push_ip_box(lua_State *L)
{
    ip_box *b = lua_newuserdatauv(L, sizeof *b, 0);
    b->f = NULL;
    luaL_setmetatable(L, IP_FILTER_MT);
    return b;
}

static port_box *push_port_box(lua_State *L)
{
    port_box *b = lua_newuserdatauv(L, sizeof *b, 0);
    b->f = NULL;
    luaL_setmetatable(L, PORT_FILTER_MT);
    return b;
}

static sw_ip_filter *check_ip(lua_State *L, int idx)
{
    return ((ip_box *)luaL_checkudata(L, idx, IP_FILTER_MT))->f;
}

static sw_port_filter *check_port(lua_State *L, int idx)
{
    return ((port_box *)luaL_checkudata(L, idx, PORT_FILTER_MT))->f;
}

/* Rule flags: an integer, or a boolean for "blocked". */
static uint32_t check_flags(lua_State *L, int idx)
{
    if (lua_isboolean(L, idx))
        return lua_toboolean(L, idx) ? SW_FILTER_BLOCKED : 0;
    lua_Integer v = luaL_checkinteger(L, idx);
    luaL_argcheck(L, v >= 0 && v <= 0xffffffff, idx, "flags out of range");
    return (uint32_t)v;
}

/* ---- IP filter ---- */

static int ip_add(lua_State *L, int first_idx, uint32_t flags)
{
    sw_ip_filter *f = check_ip(L, 1);
    const char *first = luaL_checkstring(L, first_idx);
    const char *last = luaL_optstring(L, first_idx + 1, first);
    int rc = sw_ip_filter_add_rule(f, first, last, flags);
    if (rc < 0)
        return luaL_error(L, "bad address range %s - %s: %s", first, last, sw_strerror(rc));
    lua_settop(L, 1);
    return 1;
}

/* f:add_rule(first, last, flags) */
static int ip_add_rule(lua_State *L)
{
    luaL_checkstring(L, 3);
    return ip_add(L, 2, check_flags(L, 4));
}

/* f:block(first [, last]), f:allow(first [, last]) */
static int ip_block(lua_State *L)
{
    return ip_add(L, 2, SW_FILTER_BLOCKED);
}

static int ip_allow(lua_State *L)
{
    return ip_add(L, 2, 0);
}

static uint32_t ip_flags_of(lua_State *L)
{
    sw_ip_filter *f = check_ip(L, 1);
    const char *addr = luaL_checkstring(L, 2);
    uint32_t flags = 0;
    if (sw_ip_filter_access(f, addr, &flags) < 0)
        luaL_argerror(L, 2, lua_pushfstring(L, "'%s' is not a numeric address", addr));
    return flags;
}

static int ip_access(lua_State *L)
{
    lua_pushinteger(L, ip_flags_of(L));
    return 1;
}

static int ip_is_blocked(lua_State *L)
{
    lua_pushboolean(L, (ip_flags_of(L) & SW_FILTER_BLOCKED) != 0);
    return 1;
}

/* f:load(text) -> {rules =, malformed =, first_bad_line =} */
static int ip_load(lua_State *L)
{
    sw_ip_filter *f = check_ip(L, 1);
    size_t len;
    const char *text = luaL_checklstring(L, 2, &len);
    sw_ip_filter_load_result res;
    memset(&res, 0, sizeof res);
    int rc = sw_ip_filter_load(f, text, len, &res);
    if (rc < 0)
        return sw__lua_fail(L, rc, "ip_filter:load");
    lua_createtable(L, 0, 3);
    lua_pushinteger(L, (lua_Integer)res.rules);
    lua_setfield(L, -2, "rules");
    lua_pushinteger(L, (lua_Integer)res.malformed);
    lua_setfield(L, -2, "malformed");
    lua_pushinteger(L, (lua_Integer)res.first_bad_line);
    lua_setfield(L, -2, "first_bad_line");
    return 1;
}

/* With a range's first and last on the stack above the export array,
 * stores {first=, last=, flags=, blocked=} as its row i + 1. */
static void set_range_row(lua_State *L, size_t i, uint32_t flags)
{
    lua_createtable(L, 0, 4);
    lua_rotate(L, -3, 1); /* row below first and last */
    lua_setfield(L, -3, "last");
    lua_setfield(L, -2, "first");
    lua_pushinteger(L, flags);
    lua_setfield(L, -2, "flags");
    lua_pushboolean(L, (flags & SW_FILTER_BLOCKED) != 0);
    lua_setfield(L, -2, "blocked");
    lua_rawseti(L, -2, (lua_Integer)i + 1);
}

/* f:export([family]) -> {{first=, last=, flags=, blocked=}, ...} */
static int ip_export(lua_State *L)
{
    sw_ip_filter *f = check_ip(L, 1);
    lua_Integer family = luaL_optinteger(L, 2, 4);
    luaL_argcheck(L, family == 4 || family == 6, 2, "family is 4 or 6");
    sw_ip_range *r = NULL;
    size_t n = 0;
    int rc = sw_ip_filter_export(f, (int)family, &r, &n);
    if (rc < 0)
        return sw__lua_fail(L, rc, "ip_filter:export");
    /* Copied into a userdata first: pushing may raise, and r must not leak. */
    sw_ip_range *copy = lua_newuserdatauv(L, n * sizeof *r + 1, 0);
    if (n)
        memcpy(copy, r, n * sizeof *r);
    free(r);
    lua_createtable(L, (int)n, 0);
    for (size_t i = 0; i < n; i++) {
        lua_pushstring(L, copy[i].first_str);
        lua_pushstring(L, copy[i].last_str);
        set_range_row(L, i, copy[i].flags);
    }
    return 1;
}

static int ip_clone(lua_State *L)
{
    sw_ip_filter *f = check_ip(L, 1);
    ip_box *b = push_ip_box(L);
    int rc = sw_ip_filter_clone(f, &b->f);
    if (rc < 0)
        return sw__lua_fail(L, rc, "ip_filter:clone");
    return 1;
}

/* cswarm.ip_filter([text]): a filter allowing everything, with the rules
 * of a range list when text is given (malformed lines are skipped, as
 * f:load counts them). */
static int l_ip_filter(lua_State *L)
{
    size_t len = 0;
    const char *text = luaL_optlstring(L, 1, NULL, &len);
    lua_settop(L, 1);
    ip_box *b = push_ip_box(L);
    int rc = sw_ip_filter_new(&b->f);
    if (rc < 0)
        return sw__lua_fail(L, rc, "cswarm.ip_filter");
    if (text) {
        rc = sw_ip_filter_load(b->f, text, len, NULL);
        if (rc < 0)
            return sw__lua_fail(L, rc, "cswarm.ip_filter");
    }
    return 1;
}

/* ---- port filter ---- */

static int port_arg(lua_State *L, int idx)
{
    lua_Integer p = luaL_checkinteger(L, idx);
    luaL_argcheck(L, p >= 0 && p <= 65535, idx, "port out of range");
    return (int)p;
}

static int port_add(lua_State *L, uint32_t flags)
{
    sw_port_filter *f = check_port(L, 1);
    int first = port_arg(L, 2);
    int last = lua_isnoneornil(L, 3) ? first : port_arg(L, 3);
    luaL_argcheck(L, last >= first, 3, "last port before first");
    int rc = sw_port_filter_add_rule(f, (uint16_t)first, (uint16_t)last, flags);
    if (rc < 0)
        return sw__lua_fail(L, rc, "port_filter");
    lua_settop(L, 1);
    return 1;
}

static int port_add_rule(lua_State *L)
{
    port_arg(L, 3);
    return port_add(L, check_flags(L, 4));
}

static int port_block(lua_State *L)
{
    return port_add(L, SW_FILTER_BLOCKED);
}

static int port_allow(lua_State *L)
{
    return port_add(L, 0);
}

static uint32_t port_flags_of(lua_State *L)
{
    sw_port_filter *f = check_port(L, 1);
    uint32_t flags = 0;
    int rc = sw_port_filter_access(f, (uint16_t)port_arg(L, 2), &flags);
    if (rc < 0)
        sw__lua_fail(L, rc, "port_filter:access");
    return flags;
}

static int port_access(lua_State *L)
{
    lua_pushinteger(L, port_flags_of(L));
    return 1;
}

static int port_is_blocked(lua_State *L)
{
    lua_pushboolean(L, (port_flags_of(L) & SW_FILTER_BLOCKED) != 0);
    return 1;
}

static int port_export(lua_State *L)
{
    sw_port_filter *f = check_port(L, 1);
    sw_port_range *r = NULL;
    size_t n = 0;
    int rc = sw_port_filter_export(f, &r, &n);
    if (rc < 0)
        return sw__lua_fail(L, rc, "port_filter:export");
    sw_port_range *copy = lua_newuserdatauv(L, n * sizeof *r + 1, 0);
    if (n)
        memcpy(copy, r, n * sizeof *r);
    free(r);
    lua_createtable(L, (int)n, 0);
    for (size_t i = 0; i < n; i++) {
        lua_pushinteger(L, copy[i].first);
        lua_pushinteger(L, copy[i].last);
        set_range_row(L, i, copy[i].flags);
    }
    return 1;
}

static int port_clone(lua_State *L)
{
    sw_port_filter *f = check_port(L, 1);
    port_box *b = push_port_box(L);
    int rc = sw_port_filter_clone(f, &b->f);
    if (rc < 0)
        return sw__lua_fail(L, rc, "port_filter:clone");
    return 1;
}

static int l_port_filter(lua_State *L)
{
    port_box *b = push_port_box(L);
    int rc = sw_port_filter_new(&b->f);
    if (rc < 0)
        return sw__lua_fail(L, rc, "cswarm.port_filter");
    return 1;
}

/* ---- the session's filters ---- */

/* ses:set_ip_filter(f | nil) */
static int s_set_ip_filter(lua_State *L)
{
    sw_lua_session *ls = sw__lua_check_session(L, 1);
    const sw_ip_filter *f = lua_isnoneornil(L, 2) ? NULL : check_ip(L, 2);
    int rc = sw_session_set_ip_filter(ls->ses, f);
    if (rc < 0)
        return sw__lua_fail(L, rc, "set_ip_filter");
    return 0;
}

/* ses:ip_filter(): a copy of the session's filter. */
static int s_ip_filter(lua_State *L)
{
    sw_lua_session *ls = sw__lua_check_session(L, 1);
    ip_box *b = push_ip_box(L);
    int rc = sw_session_get_ip_filter(ls->ses, &b->f);
    if (rc < 0)
        return sw__lua_fail(L, rc, "ip_filter");
    return 1;
}

static int s_set_port_filter(lua_State *L)
{
    sw_lua_session *ls = sw__lua_check_session(L, 1);
    const sw_port_filter *f = lua_isnoneornil(L, 2) ? NULL : check_port(L, 2);
    int rc = sw_session_set_port_filter(ls->ses, f);
    if (rc < 0)
        return sw__lua_fail(L, rc, "set_port_filter");
    return 0;
}

static int s_port_filter(lua_State *L)
{
    sw_lua_session *ls = sw__lua_check_session(L, 1);
    port_box *b = push_port_box(L);
    int rc = sw_session_get_port_filter(ls->ses, &b->f);
    if (rc < 0)
        return sw__lua_fail(L, rc, "port_filter");
    return 1;
}

const luaL_Reg sw__lua_session_filter_methods[] = {
    {"set_ip_filter", s_set_ip_filter},
    {"ip_filter", s_ip_filter},
    {"set_port_filter", s_set_port_filter},
    {"port_filter", s_port_filter},
    {NULL, NULL},
};

static int ip_tostring(lua_State *L)
{
    check_ip(L, 1);
    lua_pushliteral(L, "cswarm.ip_filter");
    return 1;
}

static int port_tostring(lua_State *L)
{
    check_port(L, 1);
    lua_pushliteral(L, "cswarm.port_filter");
    return 1;
}

static const luaL_Reg ip_methods[] = {
    {"add_rule", ip_add_rule}, {"block", ip_block},           {"allow", ip_allow},
    {"access", ip_access},     {"is_blocked", ip_is_blocked}, {"load", ip_load},
    {"export", ip_export},     {"clone", ip_clone},           {NULL, NULL},
};

static const luaL_Reg port_methods[] = {
    {"add_rule", port_add_rule},     {"block", port_block},
    {"allow", port_allow},           {"access", port_access},
    {"is_blocked", port_is_blocked}, {"export", port_export},
    {"clone", port_clone},           {NULL, NULL},
};

static void register_mt(lua_State *L, const char *name, const luaL_Reg *methods, lua_CFunction gc,
                        lua_CFunction tostring)
{
    if (luaL_newmetatable(L, name)) {
        lua_newtable(L);
        luaL_setfuncs(L, methods, 0);
        lua_setfield(L, -2, "__index");
        lua_pushcfunction(L, gc);
        lua_setfield(L, -2, "__gc");
        lua_pushcfunction(L, tostring);
        lua_setfield(L, -2, "__tostring");
    }
    lua_pop(L, 1);
}

void sw__lua_filter_register(lua_State *L)
{
    register_mt(L, IP_FILTER_MT, ip_methods, ip_gc, ip_tostring);
    register_mt(L, PORT_FILTER_MT, port_methods, port_gc, port_tostring);
    lua_pushcfunction(L, l_ip_filter);
    lua_setfield(L, -2, "ip_filter");
    lua_pushcfunction(L, l_port_filter);
    lua_setfield(L, -2, "port_filter");
    lua_pushinteger(L, SW_FILTER_BLOCKED);
    lua_setfield(L, -2, "FILTER_BLOCKED");
}
