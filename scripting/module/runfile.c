/* Running a script file the way lua5.4 does, for `cswarm run`. */
#include <signal.h>
#include <stdbool.h>
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
    int status;
    char *err;
} run_args;

/* ---- signals (SW_LUA_RUN_HANDLE_SIGNALS) ---- */

static lua_State *volatile signal_state;
static volatile sig_atomic_t signal_caught;

static void signal_hook(lua_State *L, lua_Debug *ar)
{
    (void)ar;
    lua_sethook(L, NULL, 0, 0);
    luaL_error(L, "interrupted by %s", signal_caught == SIGINT ? "SIGINT" : "SIGTERM");
}

/* As lua5.4's laction: only sets a hook, which raises an error at the next
 * Lua instruction or call (the module's wait loop makes a call at every
 * turn, so a waiting script is reached too). */
static void on_signal(int sig)
{
    signal_caught = sig;
    signal(sig, SIG_DFL);
    lua_State *L = signal_state;
    if (L)
        lua_sethook(L, signal_hook, LUA_MASKCALL | LUA_MASKRET | LUA_MASKCOUNT, 1);
}

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

int sw_lua_run_file(const char *path, int argc, char **argv, unsigned flags, char **err_out)
{
    *err_out = NULL;
    lua_State *L = luaL_newstate();
    if (!L) {
        *err_out = strdup("cannot create a Lua state (out of memory)");
        return 1;
    }
    run_args a = {path, argc, argv, 0, NULL};
    struct sigaction sa, old_int, old_term;
    bool signals = (flags & SW_LUA_RUN_HANDLE_SIGNALS) != 0;
    if (signals) {
        signal_caught = 0;
        signal_state = L;
        memset(&sa, 0, sizeof sa);
        sa.sa_handler = on_signal;
        sigemptyset(&sa.sa_mask);
        sigaction(SIGINT, &sa, &old_int);
        sigaction(SIGTERM, &sa, &old_term);
    }
    lua_pushcfunction(L, run_protected);
    lua_pushlightuserdata(L, &a);
    if (lua_pcall(L, 1, 0, 0) != LUA_OK) {
        free(a.err);
        a.err = dup_top(L);
        a.status = 1;
    }
    if (signals) {
        sigaction(SIGINT, &old_int, NULL);
        sigaction(SIGTERM, &old_term, NULL);
        signal_state = NULL;
        lua_sethook(L, NULL, 0, 0);
        if (signal_caught) {
            a.status = 128 + signal_caught;
            free(a.err);
            a.err = strdup(signal_caught == SIGINT ? "interrupted by SIGINT"
                                                   : "interrupted by SIGTERM");
        }
    }
    /* Closing the state collects every session the script left open. */
    lua_close(L);
    *err_out = a.err;
    return a.status;
}
