/* The built-in registry: the standard plugins compiled into libcswarm from
 * plugins/<name>/ (with SW_PLUGIN_BUILTIN), found by name without dlopen. */
#include "plugin_int.h"

int sw_plugin_ut_metadata_init(const sw_host *host, sw_plugin_desc *out, char **errmsg);
int sw_plugin_ut_pex_init(const sw_host *host, sw_plugin_desc *out, char **errmsg);
int sw_plugin_smart_ban_init(const sw_host *host, sw_plugin_desc *out, char **errmsg);
int sw_plugin_lt_tex_init(const sw_host *host, sw_plugin_desc *out, char **errmsg);

const sw_builtin_plugin sw__builtin_plugins[] = {
    {"ut_metadata", sw_plugin_ut_metadata_init},
    {"ut_pex", sw_plugin_ut_pex_init},
    {"smart_ban", sw_plugin_smart_ban_init},
    {"lt_tex", sw_plugin_lt_tex_init},
};
const size_t sw__builtin_plugin_count = sizeof sw__builtin_plugins / sizeof sw__builtin_plugins[0];
