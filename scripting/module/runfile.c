/* Running a script file the way lua5.4 does, for `cswarm run`. */
#include <stdlib.h>
#include <string.h>

#include <lualib.h>

#include "lua_cswarm.h"
#include "module_int.h"

/* Message handler: the error text ("file:line: message" for errors raised
 * with a position) followed by a traceback. */
static int traceback(lua_State *L)
{
    const char *msg = lua_tostring(L, 1);
    if (!msg) {
        if (luaL_callmeta(L, 1, "__tostring") && lua_type(L, -1) == LUA_TSTRING)
            return 1;
        msg = lua_pushfstring(L, "(error object is a %s value)", luaL_typename(L, 1));
    }
    luaL_traceback(L, L, msg, 1);
    return 1;
}

static char *dup_top(lua_State *L)
{
    const char *s = lua_tostring(L, -1);
    return strdup(s ? s : "(no message)");
}

typedef struct run_args {
    const char *path;
    int argc;
    char **argv;
    void (*setup)(lua_State *, void *);
    void *user;
    int status;
    char *err;
} run_args;

/* Runs protected, so that a memory error while setting up is caught too. */
static int run_protected(lua_State *L)
{
    run_args *a = lua_touserdata(L, 1);
    luaL_openlibs(L);
    luaL_requiref(L, "cswarm", luaopen_cswarm, 0);
    lua_pop(L, 1);
    /* arg: [0] the script, [1..] its arguments (lua5.4's layout). */
    lua_createtable(L, a->argc, 1);
    for (int i = 0; i < a->argc; i++) {
        lua_pushstring(L, a->argv[i]);
        lua_rawseti(L, -2, i);
    }
    lua_setglobal(L, "arg");
    if (a->setup)
        a->setup(L, a->user);
    lua_pushcfunction(L, traceback);
    int msgh = lua_gettop(L);
    if (luaL_loadfile(L, a->path) != LUA_OK) {
        a->err = dup_top(L);
        a->status = 1;
        return 0;
    }
    luaL_checkstack(L, a->argc + 1, "too many arguments");
    for (int i = 1; i < a->argc; i++)
        lua_pushstring(L, a->argv[i]);
    if (lua_pcall(L, a->argc > 0 ? a->argc - 1 : 0, 1, msgh) != LUA_OK) {
        a->err = dup_top(L);
        a->status = 1;
        return 0;
    }
    a->status = lua_isinteger(L, -1) ? (int)lua_tointeger(L, -1) : 0;
    if (lua_isboolean(L, -1))
        a->status = lua_toboolean(L, -1) ? 0 : 1;
    return 0;
}

int sw_lua_run_file(const char *path, int argc, char **argv, void (*setup)(lua_State *, void *),
                    void *user, char **err_out)
{
    *err_out = NULL;
    lua_State *L = luaL_newstate();
    if (!L) {
        *err_out = strdup("cannot create a Lua state (out of memory)");
        return 1;
    }
    run_args a = {path, argc, argv, setup, user, 0, NULL};
    lua_pushcfunction(L, run_protected);
    lua_pushlightuserdata(L, &a);
    if (lua_pcall(L, 1, 0, 0) != LUA_OK) {
        free(a.err);
        a.err = dup_top(L);
        a.status = 1;
    }
    /* Closing the state collects every session the script left open. */
    lua_close(L);
    *err_out = a.err;
    return a.status;
}
