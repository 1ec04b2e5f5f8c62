/* A shared object without any cswarm entry point. */
#include <cswarm/plugin.h>

SW_PLUGIN_EXPORT int no_entry_here(void);

SW_PLUGIN_EXPORT int no_entry_here(void)
{
    return 42;
}
