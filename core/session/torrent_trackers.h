/* Private to core/session: announcing torrents to their trackers
 * (torrent_trackers.c). Network thread only. */
#ifndef SW_CORE_SESSION_TORRENT_TRACKERS_H
#define SW_CORE_SESSION_TORRENT_TRACKERS_H

#include <stdbool.h>

#include "session_int.h"

/* Creates the session's tracker client (at session creation). On failure
 * the session runs without trackers. */
int sw__session_trackers_open(sw_session *ses);
/* Whether stopped announces of removed torrents are still out (shutdown
 * waits for them; each is bounded by stop_tracker_timeout). */
bool sw__session_trackers_busy(const sw_session *ses);
/* Closes the client (at shutdown, once no manager is left); its handles
 * close while the loop keeps running. */
void sw__session_trackers_close(sw_session *ses);

/* Bytes sent to and received from trackers (session status). */
void sw__session_trackers_totals(sw_session *ses, int64_t *sent_out, int64_t *received_out);

/* The torrent became active (announce "started", creating its tracker
 * manager from the .torrent's trackers the first time) or inactive
 * (announce "stopped"). */
void sw__torrent_trackers_update(sw_torrent *t, bool active);
/* The download finished: announce "completed" (not for a torrent that
 * started as a seed). */
void sw__torrent_trackers_finished(sw_torrent *t);
/* A magnet's metadata arrived: the .torrent's trackers join those added
 * before. */
void sw__torrent_trackers_metadata(sw_torrent *t);
/* The torrent is removed: "stopped" goes out and the manager closes on its
 * own; the torrent may be freed right away. */
void sw__torrent_trackers_detach(sw_torrent *t);

/* For the public tracker functions (torrent_trackers_api.c). */
int sw__torrent_trackers_add(sw_torrent *t, const char *url, int tier);
/* The same, saying where the URL came from (SW_TRACKER_SOURCE_*). */
int sw__torrent_trackers_add_from(sw_torrent *t, const char *url, int tier, unsigned source);
int sw__torrent_trackers_reannounce(sw_torrent *t, int index);
int sw__torrent_trackers_scrape(sw_torrent *t, int index);
/* A snapshot as sw_torrent_get_trackers returns it. */
int sw__torrent_trackers_list(sw_torrent *t, sw_tracker_status **out, size_t *count_out);

#endif
