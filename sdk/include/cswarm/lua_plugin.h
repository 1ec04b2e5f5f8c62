/* The Lua plugin adapter's entry point: the contract between the plugin
 * loader and the module that runs .lua plugins.
 *
 * A Lua plugin is a .lua file returning a table of hooks named as the C
 * hook tables' members (see scripting/README.md). The engine does not link
 * Lua: sw_session_load_plugin, given a path ending in ".lua", reads the file
 * on the caller's thread, opens the adapter module SW_LUA_PLUGIN_MODULE
 * (looked up in the plugin_search_path folders, then where it was installed,
 * then in the build tree) and, on the network thread, calls its exported
 * SW_LUA_PLUGIN_ENTRY once per session the plugin joins. The entry runs the
 * script in a new lua_State and fills the descriptor with the same C hook
 * tables a C plugin has, so the registry cannot tell the two apart.
 *
 * Ownership: params and everything it points to are borrowed for the call;
 * the adapter copies the source into its Lua state. The module handle
 * belongs to the registry (closed when the session ends). Threading: the
 * entry and every hook run on the session's network thread. */
#ifndef CSWARM_LUA_PLUGIN_H
#define CSWARM_LUA_PLUGIN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "plugin.h"

#ifdef __cplusplus
extern "C" {
#endif

#define SW_LUA_PLUGIN_MODULE "libcswarm_lua_plugin.so"
#define SW_LUA_PLUGIN_ENTRY "sw_lua_plugin_init"

/* What the loader tells the adapter about one script. */
typedef struct sw_lua_plugin_params {
    uint32_t struct_size; /* sizeof(sw_lua_plugin_params) as the loader was built */
    const char *path;     /* the script's path: the chunk name in error messages */
    const char *source;   /* its text (not NUL-terminated) */
    size_t source_len;
    /* From the session settings lua_instruction_limit, lua_memory_limit
     * and lua_plugin_sandbox. 0 = no limit. */
    int64_t instruction_limit; /* per hook call */
    int64_t memory_limit;      /* bytes, for the whole lua_State */
    bool sandbox;              /* only the safe standard libraries */
} sw_lua_plugin_params;

/* The entry (named SW_LUA_PLUGIN_ENTRY): like a C plugin's init, plus the
 * script. A negative return refuses the plugin, *errmsg (allocated with
 * host->malloc) saying why, e.g. "x.lua:3: unexpected symbol near 'end'". */
typedef int (*sw_lua_plugin_init_fn)(const sw_host *host, const sw_lua_plugin_params *params,
                                     sw_plugin_desc *out, char **errmsg);

#ifdef __cplusplus
}
#endif
#endif
