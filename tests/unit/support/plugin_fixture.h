/* Test helpers for plugins: sessions on loopback, temporary folders,
 * torrents with known content, waiting for alerts and states, and the paths
 * of the plugins built for the tests (<build>/tests/plugins/NAME.so) and of
 * the standard plugins' modules (<build>/plugins/NAME.so). */
#ifndef SW_TEST_PLUGIN_FIXTURE_H
#define SW_TEST_PLUGIN_FIXTURE_H

#include <stdbool.h>
#include <stdint.h>

#include <cswarm/cswarm.h>

#include "disk_fixture.h"

#define PFX_WAIT_MS 20000

typedef struct pfx_dir {
    char path[256];
} pfx_dir;

void pfx_dir_make(pfx_dir *d);
void pfx_dir_remove(pfx_dir *d);

uint64_t pfx_now_ms(void);
/* A session listening on 127.0.0.1 (an OS-chosen port) with DHT, LSD and
 * port mapping off, the given session flags and alert mask. */
sw_session *pfx_session(unsigned flags, uint32_t mask);
uint16_t pfx_port(sw_session *ses);
/* Pops alerts until one of type (for torrent id, 0 = any) arrives; returns
 * it (sw_alert_free it) or NULL on timeout. */
sw_alert *pfx_wait_alert(sw_session *ses, sw_alert_type type, uint64_t id, int timeout_ms);
/* Pops and drops every pending alert. */
void pfx_drain(sw_session *ses);

sw_torrent_handle pfx_add(sw_session *ses, sw_torrent_info *ti, const char *dir);
/* Adds by info-hash alone (as a magnet link does). */
sw_torrent_handle pfx_add_hash(sw_session *ses, const sw_sha1 *ih, const char *dir);
bool pfx_wait_state(sw_torrent_handle h, sw_torrent_state state, int timeout_ms);
/* Waits until the torrent is finished or seeding. */
bool pfx_wait_finished(sw_torrent_handle h, int timeout_ms);

/* Writes t's files under root / compares them. */
void pfx_write_data(const fx_torrent *t, const char *root);
bool pfx_data_equals(const fx_torrent *t, const char *root);

/* Path of a test plugin (tests/plugins/NAME.c) or a standard plugin's
 * module; static buffer. */
const char *pfx_test_plugin(const char *name);
const char *pfx_std_plugin(const char *name);

#endif
