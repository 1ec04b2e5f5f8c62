/* Test helpers for plugins: the paths of the plugins built for the tests
 * (<build>/tests/plugins/NAME.so) and of the standard plugins' modules
 * (<build>/plugins/NAME.so). The session helpers (pfx_session, pfx_add, ...)
 * are the session fixture's under the names the plugin tests know; see
 * session_fixture.h for what they do, their threading and ownership. */
#ifndef SW_TEST_PLUGIN_FIXTURE_H
#define SW_TEST_PLUGIN_FIXTURE_H

#include <stdbool.h>
#include <stdint.h>

#include <cswarm/cswarm.h>

#include "disk_fixture.h"
#include "session_fixture.h"

#define PFX_WAIT_MS SFX_WAIT_MS

typedef sfx_dir pfx_dir;

static inline void pfx_dir_make(pfx_dir *d)
{
    sfx_dir_make(d);
}

static inline void pfx_dir_remove(pfx_dir *d)
{
    sfx_dir_remove(d);
}

static inline uint64_t pfx_now_ms(void)
{
    return sfx_now_ms();
}

static inline sw_session *pfx_session(unsigned flags, uint32_t mask)
{
    return sfx_session(flags, mask);
}

static inline uint16_t pfx_port(sw_session *ses)
{
    return sfx_listen_port(ses);
}

static inline sw_alert *pfx_wait_alert(sw_session *ses, sw_alert_type type, uint64_t id,
                                       int timeout_ms)
{
    return sfx_wait_alert(ses, type, id, timeout_ms);
}

static inline void pfx_drain(sw_session *ses)
{
    sfx_drain(ses);
}

static inline sw_torrent_handle pfx_add(sw_session *ses, sw_torrent_info *ti, const char *dir)
{
    return sfx_add(ses, ti, dir);
}

static inline sw_torrent_handle pfx_add_hash(sw_session *ses, const sw_sha1 *ih, const char *dir)
{
    return sfx_add_hash(ses, ih, dir);
}

static inline bool pfx_wait_state(sw_torrent_handle h, sw_torrent_state state, int timeout_ms)
{
    return sfx_wait_state(h, state, timeout_ms);
}

static inline bool pfx_wait_finished(sw_torrent_handle h, int timeout_ms)
{
    return sfx_wait_finished(h, timeout_ms);
}

static inline void pfx_write_data(const fx_torrent *t, const char *root)
{
    sfx_write_torrent_data(t, root);
}

static inline bool pfx_data_equals(const fx_torrent *t, const char *root)
{
    return sfx_torrent_data_equals(t, root);
}

/* Path of a test plugin (tests/plugins/NAME.c) or a standard plugin's
 * module; static buffer. */
const char *pfx_test_plugin(const char *name);
const char *pfx_std_plugin(const char *name);

#endif
