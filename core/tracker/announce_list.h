/* A torrent's trackers and what it knows about each: the announce-list tiers
 * of BEP 12 and the per-tracker state that decides when to announce where.
 *
 * Order. Entries are kept sorted by tier; inside a tier the order is the
 * order trackers are tried in. A tracker added to a tier is inserted at a
 * uniformly random position among that tier's entries, which shuffles each
 * tier as BEP 12 asks (adding one by one with random insertion is the
 * inside-out Fisher-Yates shuffle). With prefer_udp, a udp:// tracker is
 * kept ahead of http(s):// trackers of the same host. A tracker that answers
 * moves to the front of its tier; one that fails moves to the back.
 *
 * Timing. Each entry has next_announce (the tracker's interval, or the
 * back-off after a failure) and min_announce (its "min interval": the
 * earliest a re-announce may go out, ignored for a completed event). Times
 * are milliseconds on the caller's monotonic clock, passed in as `now`, so
 * the whole state machine runs on a fake clock in tests.
 *
 * Choosing trackers (sw__announce_list_plan), libtorrent's rules:
 *   - default (BEP 12): the first tracker in list order that is not failing
 *     is the one used; failing trackers before it are retried as their
 *     back-off ends; later tiers are used only while every tracker of the
 *     earlier tiers is failing.
 *   - announce_to_all_trackers: every tracker of a tier is used; the next
 *     tier only while a whole tier is failing.
 *   - announce_to_all_tiers: one tracker (the first not failing) of every
 *     tier.
 *   - both: every tracker.
 * A tracker that has never been tried counts as not failing.
 *
 * Threading: a plain value used by one thread at a time (the network thread
 * for a live torrent). No clocks, no I/O. */
#ifndef SW_CORE_TRACKER_ANNOUNCE_LIST_H
#define SW_CORE_TRACKER_ANNOUNCE_LIST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tracker_proto.h"

/* Where a tracker came from (bits, as libtorrent's announce_entry source). */
enum sw_tracker_source {
    SW_TRACKER_SOURCE_TORRENT = 1, /* the .torrent's announce / announce-list */
    SW_TRACKER_SOURCE_CLIENT = 2,  /* added through the API */
    SW_TRACKER_SOURCE_MAGNET = 4,  /* a magnet link's tr= */
    SW_TRACKER_SOURCE_TEX = 8      /* tracker exchange */
};

/* Interval used when a tracker does not send one (seconds). */
#define SW_TRACKER_DEFAULT_INTERVAL 1800
/* libtorrent's tracker_backoff default: delay = 5 + 5 * x/100 * fails^2. */
#define SW_TRACKER_DEFAULT_BACKOFF 250
/* Longest back-off after failures (seconds). */
#define SW_TRACKER_MAX_BACKOFF 3600

typedef struct sw_tracker_entry {
    char *url;             /* owned */
    uint32_t id;           /* stable while entries move around; never 0 */
    int tier;              /* 0 first */
    uint8_t kind;          /* sw_tracker_url_kind */
    uint8_t source;        /* sw_tracker_source bits */
    uint8_t fail_limit;    /* stop trying after this many failures in a row; 0 = never */
    uint16_t fails;        /* failures in a row */
    bool updating;         /* a request is in flight */
    bool verified;         /* answered at least once */
    bool start_sent;       /* the tracker has our "started" */
    bool complete_pending; /* we owe it a "completed" */
    bool force_pending;    /* forced while a request was out: announce again when it ends */
    uint8_t sent_event;    /* sw_tracker_event of the request in flight */
    int64_t next_announce; /* ms */
    int64_t min_announce;  /* ms */
    int64_t interval;      /* seconds, from the last reply; -1 before */
    int64_t min_interval;  /* seconds, from the last reply; -1 before */
    /* Last outcome. */
    int last_error;     /* 0 or SW_ERR_* / libuv code of the last failure */
    int last_status;    /* HTTP status of the last failure, 0 if none */
    char *last_message; /* failure text of the last failure, or NULL; owned */
    char *warning;      /* last warning message, or NULL; owned */
    char *tracker_id;   /* from its replies, sent back with announces; owned */
    size_t tracker_id_len;
    int64_t complete, incomplete, downloaded; /* last counts (announce or scrape), -1 unknown */
    int last_num_peers;                       /* peers in the last reply, -1 before */
    void *job;        /* the announce in flight; the list never touches it */
    void *scrape_job; /* the scrape in flight; the list never touches it */
} sw_tracker_entry;

typedef struct sw_announce_list {
    sw_tracker_entry *v;
    size_t n, cap;
    uint64_t rng; /* shuffle state */
    uint32_t next_id;
} sw_announce_list;

typedef struct sw_announce_policy {
    bool all_tiers;    /* announce_to_all_tiers */
    bool all_trackers; /* announce_to_all_trackers */
} sw_announce_policy;

/* seed drives the tier shuffle (tests pass a fixed one). */
void sw__announce_list_init(sw_announce_list *l, uint64_t seed);
void sw__announce_list_free(sw_announce_list *l);

/* Adds url to tier (a negative tier is 0), shuffled in as described above.
 * Returns SW_ERR_TRACKER_BAD_URL for a URL that is not http(s) or udp,
 * SW_ERR_EXISTS if the URL is already listed (its entry is left as it is),
 * or SW_ERR_NOMEM. *index_out (may be NULL) is where it landed. */
int sw__announce_list_add(sw_announce_list *l, const char *url, int tier, unsigned source,
                          bool prefer_udp, size_t *index_out);
/* Removes entry i; the caller has cancelled its jobs. */
void sw__announce_list_remove(sw_announce_list *l, size_t i);
/* Index of the entry with this id / url, or -1. */
ptrdiff_t sw__announce_list_find_id(const sw_announce_list *l, uint32_t id);
ptrdiff_t sw__announce_list_find_url(const sw_announce_list *l, const char *url);

/* Whether entry e may be announced to at now. */
bool sw__tracker_entry_can_announce(const sw_tracker_entry *e, int64_t now);
/* The event entry e should carry in its next regular announce. */
sw_tracker_event sw__tracker_entry_next_event(const sw_tracker_entry *e);

/* Which entries to announce to now, by the rules above: writes their
 * indexes to out (room for l->n) and returns how many. *wake_out (may be
 * NULL) is the earliest time another entry the rules consider becomes
 * announceable (INT64_MAX if none): the caller's next timer. */
size_t sw__announce_list_plan(const sw_announce_list *l, const sw_announce_policy *p, int64_t now,
                              size_t *out, int64_t *wake_out);

/* Marks entry i as having a request with this event in flight. */
void sw__announce_list_sent(sw_announce_list *l, size_t i, sw_tracker_event event);
/* Entry i answered (for the event recorded by _sent). interval_s and
 * min_interval_s are the times to honour (the caller has applied defaults
 * and the min_announce_interval setting). The entry moves to the front of
 * its tier; returns its new index. */
size_t sw__announce_list_succeeded(sw_announce_list *l, size_t i, int64_t now, int64_t interval_s,
                                   int64_t min_interval_s);
/* Entry i failed. The next try waits sw__announce_backoff_s(fails) seconds,
 * or retry_after_s if the tracker asked for longer. The entry moves to the
 * back of its tier; returns its new index. */
size_t sw__announce_list_failed(sw_announce_list *l, size_t i, int64_t now, int64_t retry_after_s,
                                int backoff_percent);
/* The request of entry i ended without an outcome (cancelled): it becomes
 * idle again with no change to its state. */
void sw__announce_list_abandoned(sw_announce_list *l, size_t i);

/* Seconds to wait after `fails` failures in a row:
 * min(5 + 5 * fails^2 * backoff_percent / 100, SW_TRACKER_MAX_BACKOFF). */
int64_t sw__announce_backoff_s(unsigned fails, int backoff_percent);

/* The torrent starts (or resumes): every tracker is owed a "started" and
 * may be announced to at once. Failure counts are kept. */
void sw__announce_list_start(sw_announce_list *l);
/* The download finished: every tracker that has our "started" is owed a
 * "completed", sent now to those in use. */
void sw__announce_list_completed(sw_announce_list *l, int64_t now);
/* Re-announce now, ignoring interval and min interval: entry i, or all
 * entries when i is negative. */
void sw__announce_list_force(sw_announce_list *l, ptrdiff_t i, int64_t now);
/* Whether a "stopped" should go to entry i: it has our "started", or a
 * "started" to it is in flight. */
bool sw__tracker_entry_wants_stopped(const sw_tracker_entry *e);

#endif
