/* Test helpers for plugins: the paths of the plugins built for the tests
 * (<build>/tests/plugins/NAME.so) and of the standard plugins' modules
 * (<build>/plugins/NAME.so). Sessions, torrents and alert waits for plugin
 * tests come from session_fixture.h. */
#ifndef SW_TEST_PLUGIN_FIXTURE_H
#define SW_TEST_PLUGIN_FIXTURE_H

/* Path of a test plugin (tests/plugins/NAME.c) or a standard plugin's
 * module; static buffer. */
const char *pfx_test_plugin(const char *name);
const char *pfx_std_plugin(const char *name);

#endif
