/* A plugin built (so it says) for another data model: the loader must
 * refuse it, naming both signatures. */
#include <cswarm/plugin.h>

SW_PLUGIN_INIT1

SW_PLUGIN_ENTRY(bad_signature)
{
    SW_PLUGIN_INIT2(host, errmsg);
    SW_PLUGIN_DESC_INIT(out, "bad_signature", "1.0");
    out->signature = "abi1-p4-l4-i4-le";
    return SW_OK;
}
