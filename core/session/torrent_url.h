/* Torrents added by the URL of their .torrent file (add_torrent_params
 * url): the session downloads the file through the tracker client's HTTP
 * machinery, on the network thread. Until it arrives the torrent waits in
 * downloading_metadata under a random stand-in info-hash (so that it has a
 * place in the info-hash index; status and alerts show all zeros), its
 * swarm inactive; then it takes the file's info-hash and metadata and goes
 * on like any other torrent. A failed download leaves it in the error
 * state, still without an info-hash, until it is removed.
 * Everything here runs on the network thread. */
#ifndef SW_CORE_SESSION_TORRENT_URL_H
#define SW_CORE_SESSION_TORRENT_URL_H

#include "session_int.h"

/* Whole-download bound for a .torrent, in seconds. */
#define SW_TORRENT_URL_TIMEOUT_S 120

/* Creates the torrent for p->url and starts the download. */
int sw__torrent_new_url(sw_session *ses, const sw_add_torrent_params *p, sw_torrent **t_out,
                        sw_error_detail *err);
/* Creates a torrent without metadata whose swarm stays inactive
 * (torrent_metadata.c); p->info_hash is its stand-in info-hash. */
int sw__torrent_new_placeholder(sw_session *ses, const sw_add_torrent_params *p, sw_torrent **t_out,
                                sw_error_detail *err);
/* Gives a torrent without metadata its torrent_info (the reference passes
 * to the torrent, also on failure) and starts the file check
 * (torrent_metadata.c). */
int sw__torrent_adopt_metadata(sw_torrent *t, sw_torrent_info *ti);
/* Cancels a download in progress (removal, shutdown); nothing if none. */
void sw__torrent_url_cancel(sw_torrent *t);

#endif
