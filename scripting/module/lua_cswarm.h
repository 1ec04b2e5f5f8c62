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

#include <stdbool.h>
#include <stdint.h>

#include <lua.h>

#include <cswarm/session.h>

#if defined(__GNUC__)
#define SW_LUA_EXPORT __attribute__((visibility("default")))
#else
#define SW_LUA_EXPORT
#endif

/* The entry point `require "cswarm"` calls: returns the module table. */
SW_LUA_EXPORT int luaopen_cswarm(lua_State *L);

enum sw_lua_run_flags {
    /* While the script runs, SIGINT and SIGTERM interrupt it (as lua5.4
     * does on SIGINT): the state is closed, so its sessions shut down
     * cleanly, and the status is 128 + the signal. A second signal has the
     * default effect. */
    SW_LUA_RUN_HANDLE_SIGNALS = 1u << 0,
};

/* Runs a script file with arg set as lua5.4 does (argv[0] is the script,
 * argv[1..] its arguments) in a fresh state with the standard libraries and
 * the cswarm module preloaded. On failure *err_out (malloc'd, the caller
 * frees it) holds "file:line: message" and a traceback. Returns the exit
 * status of the script: 0, or the integer it returned (true 0, false 1),
 * or 1 on error. */
int sw_lua_run_file(const char *path, int argc, char **argv, unsigned flags, char **err_out);

/* A script running alongside a program's own use of a session (cswarm
 * download --script). It runs on a thread of its own with the globals
 * `session` (the host's session: closing it only detaches the script) and
 * `torrent` (a handle, when torrent.id is not 0). The host keeps popping
 * alerts and hands every batch to sw_lua_script_post, which takes it over;
 * the script's waits see those alerts. */
typedef struct sw_lua_script sw_lua_script;

int sw_lua_script_start(const char *path, sw_session *ses, sw_torrent_handle torrent,
                        uint32_t alert_mask, sw_lua_script **out);
/* Takes ownership of batch (NULL is ok). Any thread. */
void sw_lua_script_post(sw_lua_script *s, sw_alert_batch *batch);
/* Whether the script has ended with an error (it keeps the message for
 * sw_lua_script_finish). */
bool sw_lua_script_failed(sw_lua_script *s);
/* Stops feeding the script: its waits return once the alerts fed so far
 * are delivered; a script still running after grace_ms is interrupted
 * (which is not an error: status 0, no message).
 * Joins its thread and frees everything. Returns the script's status (as
 * sw_lua_run_file); *err_out (malloc'd, may be NULL) is its error. The
 * session must stay alive until this returns. */
int sw_lua_script_finish(sw_lua_script *s, int grace_ms, char **err_out);

#endif
