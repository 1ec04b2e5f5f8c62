/* A plugin whose entry point refuses to start, with a message allocated
 * through the host (the host frees it). */
#include <string.h>

#include <cswarm/plugin.h>

SW_PLUGIN_INIT1

SW_PLUGIN_ENTRY(failing_init)
{
    SW_PLUGIN_INIT2(host, errmsg);
    (void)out;
    static const char text[] = "this plugin refuses to start";
    char *msg = sw_plugin_malloc(sizeof text);
    if (msg) {
        memcpy(msg, text, sizeof text);
        *errmsg = msg;
    }
    return SW_ERR_INVALID_ARG;
}
