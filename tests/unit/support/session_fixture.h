/* Test helpers for whole sessions driven through the public API on
 * loopback: temporary folders, sessions that listen on 127.0.0.1 with
 * nothing that could leave the machine (no DHT, LSD, UPnP or NAT-PMP),
 * adding torrents, waiting for an alert or a torrent state with a deadline,
 * and writing / comparing a test torrent's files (fx_torrent, see
 * disk_fixture.h).
 *
 * Threading: call these from the test's own thread only. They check their
 * calls with cmocka assertions, which end the test by a longjmp that must
 * not cross another thread. The sessions run their own threads; these
 * helpers only wait on them (polling status, popping alerts).
 *
 * Ownership: the caller frees what it is handed (sessions with
 * sw_session_free, alerts with sw_alert_free) and removes the folders it
 * made; sfx_session_from is the one helper that takes something over (its
 * settings). Deadlines are on a monotonic clock. */
#ifndef SW_TEST_SESSION_FIXTURE_H
#define SW_TEST_SESSION_FIXTURE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cswarm/cswarm.h>

#include "disk_fixture.h"

/* How long a test waits for anything that should happen on loopback. */
#define SFX_WAIT_MS 20000

/* ---- time ---- */

uint64_t sfx_now_ms(void); /* monotonic */
void sfx_sleep_ms(int ms);

/* ---- temporary folders ---- */

typedef struct sfx_dir {
    char path[256];
} sfx_dir;

/* A fresh empty folder under /tmp. */
void sfx_dir_make(sfx_dir *d);
/* Removes the folder and everything below it. */
void sfx_dir_remove(sfx_dir *d);

/* A test torrent (see fx_make_torrent) with a folder holding its complete
 * data, for a seed, and an empty one, for a download. */
typedef struct sfx_payload {
    fx_torrent t;
    sfx_dir seed_dir, dl_dir;
} sfx_payload;

/* Builds the torrent (the arguments are fx_make_torrent's), makes both
 * folders and writes the data into seed_dir. */
void sfx_payload_make(sfx_payload *p, const char *name, const fx_file *files, int nfiles,
                      int piece_length, uint32_t seed, bool single);
/* Removes both folders and frees the torrent. */
void sfx_payload_free(sfx_payload *p);

/* ---- sessions ---- */

/* New settings (free with sw_settings_free) for a session on loopback:
 * listen_interfaces 127.0.0.1:0, DHT, LSD, UPnP and NAT-PMP off, two disk
 * threads. */
sw_settings *sfx_loopback_settings(void);
/* A session made from s (which this frees) with the given session flags
 * and alert mask; with listen, it is also told to listen on 127.0.0.1 on
 * a port the OS picks. */
sw_session *sfx_session_from(sw_settings *s, unsigned flags, uint32_t alert_mask, bool listen);
/* The usual case: loopback settings, listening. */
sw_session *sfx_session(unsigned flags, uint32_t alert_mask);
/* The port the session listens on (checked to be non-zero). */
uint16_t sfx_listen_port(sw_session *ses);
/* Sets one bool or int setting (by its type; bools take value != 0) on a
 * running session. */
void sfx_apply_setting(sw_session *ses, sw_setting_id id, int value);

/* ---- alerts ---- */

typedef bool (*sfx_alert_pred)(const sw_alert *a, void *arg);

/* Pops alerts, dropping those pred rejects, until one is accepted; returns
 * it, or NULL once timeout_ms passed. */
sw_alert *sfx_wait_alert_if(sw_session *ses, sfx_alert_pred pred, void *arg, int timeout_ms);
/* The same for the first alert of type about torrent_id (0: any). */
sw_alert *sfx_wait_alert(sw_session *ses, sw_alert_type type, uint64_t torrent_id, int timeout_ms);
/* Drops every pending alert, so later waits see only new ones. */
void sfx_drain(sw_session *ses);

/* ---- torrents ---- */

/* Adds a torrent; a failure fails the test with the session's message. */
sw_torrent_handle sfx_add_params(sw_session *ses, const sw_add_torrent_params *p);
/* Adds ti (default flags) saving under dir. */
sw_torrent_handle sfx_add(sw_session *ses, sw_torrent_info *ti, const char *dir);
/* Adds ti saving under dir with these SW_ADD_* flags on top of the
 * defaults (a mode such as upload or share mode from the start). */
sw_torrent_handle sfx_add_flags(sw_session *ses, sw_torrent_info *ti, const char *dir,
                                uint64_t flags);
/* Adds ti saving under dir, which holds its complete data, and waits until
 * it seeds (SFX_WAIT_MS; longer fails the test). */
sw_torrent_handle sfx_add_seeding(sw_session *ses, sw_torrent_info *ti, const char *dir);
/* Adds by info-hash alone, as a magnet link does. */
sw_torrent_handle sfx_add_hash(sw_session *ses, const sw_sha1 *info_hash, const char *dir);

/* Makes a .torrent as cp says (sw_create_torrent) and loads it; free with
 * sw_torrent_info_unref. */
sw_torrent_info *sfx_create_torrent(const sw_create_params *cp);

sw_torrent_status sfx_status(sw_torrent_handle h);

typedef bool (*sfx_status_pred)(const sw_torrent_status *st, void *arg);

/* Polls the torrent's status until pred accepts it; false on timeout. */
bool sfx_wait_status(sw_torrent_handle h, sfx_status_pred pred, void *arg, int timeout_ms);
/* Until the torrent is in state, with no error. */
bool sfx_wait_state(sw_torrent_handle h, sw_torrent_state state, int timeout_ms);
/* Until the torrent is finished (or seeding), with no error. */
bool sfx_wait_finished(sw_torrent_handle h, int timeout_ms);
/* Until the torrent's paused flag is paused. */
bool sfx_wait_paused(sw_torrent_handle h, bool paused, int timeout_ms);

/* Has h connect to the session other on 127.0.0.1 (its listen port). */
void sfx_connect(sw_torrent_handle h, sw_session *other);

/* ---- files ---- */

/* Writes len bytes to path, making its missing parent folders. */
void sfx_write_file(const char *path, const void *data, size_t len);
/* Whether path holds exactly these len bytes. */
bool sfx_file_equals(const char *path, const void *data, size_t len);
/* Writes t's files (pad files left out) under root. */
void sfx_write_torrent_data(const fx_torrent *t, const char *root);
/* Whether every file of t (pads left out) under root holds its bytes. */
bool sfx_torrent_data_equals(const fx_torrent *t, const char *root);

#endif
