/* The `cswarm` Lua module: the session API for automation scripts
 * (documented for script authors in scripting/README.md).
 *
 * Threads. Every Lua function of the module runs on the thread that runs the
 * script, never on a session's network thread: alerts are popped and handed
 * to Lua callbacks and timers only while the script waits inside the module
 * (ses:alerts(), ses:run(), ses:wait_for(), cswarm.sleep()). A lua_State is
 * used by one thread at a time, as Lua requires.
 *
 * Ownership. Sessions made by cswarm.session() belong to their Lua userdata:
 * ses:close(), a to-be-closed variable or garbage collection shuts them down
 * (closing the lua_State closes them all). */
#ifndef SW_LUA_CSWARM_H
#define SW_LUA_CSWARM_H

#include <lua.h>

#include <cswarm/session.h>

#if defined(__GNUC__)
#define SW_LUA_EXPORT __attribute__((visibility("default")))
#else
#define SW_LUA_EXPORT
#endif

/* The entry point `require "cswarm"` calls: returns the module table. */
SW_LUA_EXPORT int luaopen_cswarm(lua_State *L);

/* Runs a script file with arg set as lua5.4 does (argv[0] is the script,
 * argv[1..] its arguments) in a fresh state with the standard libraries and
 * the cswarm module preloaded. Before it runs, setup (may be NULL) is called
 * with the state, e.g. to define globals. On failure *err_out (malloc'd,
 * the caller frees it) holds "file:line: message" and a traceback. The exit
 * status of the script: 0, or the integer it returned, or 1 on error. */
int sw_lua_run_file(const char *path, int argc, char **argv, void (*setup)(lua_State *, void *),
                    void *user, char **err_out);

#endif
