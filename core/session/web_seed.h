/* Web seeds of a torrent (BEP 19 url-list): each one is a source of whole
 * piece runs fetched with HTTP range requests through the session's tracker
 * client (curl multi on the network thread), written and hashed like a
 * peer's blocks (core/peer/web_seed.h). The torrent's url-list is used
 * automatically once its metadata is known; add_url_seed / remove_url_seed
 * change the set. A failed request posts a url_seed alert and the seed
 * waits urlseed_wait_retry seconds; a seed whose data fails a hash check
 * waits too, and one banned by the swarm (repeated failures) is dropped.
 * Everything here runs on the network thread. */
#ifndef SW_CORE_SESSION_WEB_SEED_H
#define SW_CORE_SESSION_WEB_SEED_H

#include "session_int.h"

/* Longest web seed URL kept (and longest file URL built from it). */
#define SW_WEB_SEED_MAX_URL 4096

/* Starts requests of idle seeds, notices hash failures; from the tick. */
void sw__web_seeds_tick(sw_torrent *t);
/* Adds a seed (no-op if the URL is already one). SW_ERR_INVALID_ARG for
 * an empty, too long, or non-http(s) URL. */
int sw__web_seeds_add(sw_torrent *t, const char *url);
/* Removes a seed, cancelling its request. SW_ERR_NOT_FOUND if unknown. */
int sw__web_seeds_remove(sw_torrent *t, const char *url);
/* The seeds' URLs, newline-separated, into a malloc'd string (*out; ""
 * when none); *count_out (may be NULL) how many. */
int sw__web_seeds_list(sw_torrent *t, char **out, int *count_out);
/* How many seeds are fetching now (for the status peer count). */
int sw__web_seeds_active(const sw_torrent *t);
/* Cancels every request and frees the seeds (removal, shutdown). */
void sw__web_seeds_free(sw_torrent *t);

#endif
