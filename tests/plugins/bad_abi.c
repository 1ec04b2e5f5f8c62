/* A plugin that claims a plugin ABI major version from the future: the
 * loader must refuse it without calling any of its hooks. */
#include <cswarm/plugin.h>

SW_PLUGIN_INIT1

SW_PLUGIN_ENTRY(bad_abi)
{
    SW_PLUGIN_INIT2(host, errmsg);
    SW_PLUGIN_DESC_INIT(out, "bad_abi", "1.0");
    out->abi_major = SW_PLUGIN_ABI_MAJOR + 98;
    return SW_OK;
}
