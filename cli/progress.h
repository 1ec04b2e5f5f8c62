/* Progress output for transfers: a bar on a terminal, a status line every
 * few seconds otherwise, or one JSON object per second. */
#ifndef SW_CLI_PROGRESS_H
#define SW_CLI_PROGRESS_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include <cswarm/session.h>
#include <cswarm/torrent.h>

typedef enum sw_progress_mode {
    SW_PROGRESS_QUIET = 0,
    SW_PROGRESS_BAR,   /* redrawn in place on a terminal */
    SW_PROGRESS_LINES, /* one line every few seconds */
    SW_PROGRESS_JSON,  /* one JSON object per second on stdout */
} sw_progress_mode;

typedef struct sw_progress {
    sw_progress_mode mode;
    uint64_t last_ms;
    bool bar_drawn;
    FILE *out;
    sw_session *ses; /* when set, JSON lines carry its disk queue (not owned) */
} sw_progress;

void sw_progress_init(sw_progress *p, sw_progress_mode mode);
/* Prints the status if it is time to (now_ms: a monotonic clock in ms);
 * force prints regardless. Returns whether it printed. */
bool sw_progress_update(sw_progress *p, const sw_torrent_status *st, uint64_t now_ms, bool force);
/* Ends a bar line so other messages start on a fresh line. */
void sw_progress_break(sw_progress *p);
/* A JSON event line {"event": name, ...extra} (extra: already-formatted
 * members, may be NULL) in JSON mode; nothing otherwise. */
void sw_progress_event(sw_progress *p, const char *name, const char *extra);
/* "12.3 MiB" etc. into buf. */
void sw_format_bytes(char *buf, size_t len, double bytes);

#endif
