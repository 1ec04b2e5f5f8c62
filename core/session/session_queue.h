/* Private to core/session: queuing and auto-managed torrents
 * (session_queue.c), as libtorrent 1.0's manual describes them.
 *
 * The download queue. Every torrent that is not finished (state other than
 * finished and seeding) has a place in the download queue, in the order
 * torrents were added unless moved; positions run from 0 without gaps. A
 * torrent that finishes leaves the queue (position -1) and the ones behind
 * it move up; one that stops being finished (it wants more pieces, or is
 * rechecked) goes to the back.
 *
 * Auto-management. At most every auto_manage_interval seconds, and at the
 * next tick after anything that matters (a torrent added, removed, finished,
 * paused or resumed, its auto_managed flag or queue position changed, the
 * settings changed), the session decides which auto-managed torrents run:
 * - running torrents that are not auto-managed use up slots first: each
 *   takes one of active_limit, and one of active_downloads or active_seeds
 *   unless it is inactive (below);
 * - auto-managed downloading torrents, front of the queue first, then
 *   auto-managed seeds, best seed rank first (auto_manage_prefer_seeds
 *   swaps the two groups), get the slots left and are resumed; the rest are
 *   paused (the paused flag of an auto-managed torrent belongs to the
 *   queue, as in libtorrent);
 * - with dont_count_slow_torrents, a running torrent whose payload rates
 *   have stayed under inactive_down_rate and inactive_up_rate for
 *   auto_manage_startup seconds (a newly started one gets that long to get
 *   going) keeps running without using a download or seed slot, only one of
 *   active_limit;
 * - a seed that met one of its limits (share_ratio_limit: uploaded /
 *   max(downloaded, size) in percent; seed_time_ratio_limit: seconds
 *   finished / seconds downloading in percent; seed_time_limit: seconds
 *   finished) ranks behind every seed that has not, so it gives its slot
 *   to them; a limit <= 0 is off. Among equals, a seed started in the
 *   last 30 minutes keeps its slot (no flapping), then seeds with fewer
 *   seeds per downloader in their swarm come first.
 * Torrents checking their files (or waiting to), torrents in error and
 * everything while the session is paused are left alone. Limits of -1 mean
 * no limit.
 *
 * Network thread only. */
#ifndef SW_CORE_SESSION_QUEUE_H
#define SW_CORE_SESSION_QUEUE_H

#include <stdbool.h>
#include <stdint.h>

struct sw_torrent;
struct sw_session;

/* What the queue keeps in each torrent. */
typedef struct sw_queue_link {
    struct sw_torrent *prev, *next; /* the download queue, front first */
    int pos;                        /* cached position; valid unless the queue is stale */
    bool queued;                    /* in the download queue */
    bool was_running;               /* its swarm was active at the last tick */
    uint64_t started_ms;            /* loop time it last started running */
    uint64_t last_busy_ms;          /* last tick its rates were not "inactive" */
    /* checking */
    struct sw_torrent *check_next; /* waiting for a checking slot */
    uint64_t check_seq;            /* arrival order among those waiting */
    bool check_waiting;            /* in a checking queue */
    bool check_waiting_auto;       /* ... the auto-managed one */
    bool check_use_resume;         /* how it asked to be checked */
    bool check_slot;               /* holds a checking slot */
    bool check_slot_auto;          /* ... one of active_checking */
} sw_queue_link;

/* The session's download queue. */
typedef struct sw_queue {
    struct sw_torrent *head, *tail;
    int count;
    bool stale;       /* positions need renumbering */
    bool need_update; /* decide at the next tick */
    uint64_t last_update_ms;
    /* Waiting to check, first come first: torrents that are not
     * auto-managed, and auto-managed ones. */
    struct sw_torrent *check_head, *check_tail;
    struct sw_torrent *acheck_head, *acheck_tail;
    uint64_t check_seq;
    int checks_running;      /* every check */
    int auto_checks_running; /* checks of auto-managed torrents */
} sw_queue;

/* The torrent joined the session (sw__session_link) or left it
 * (sw__session_unlink). */
void sw__queue_torrent_added(struct sw_torrent *t);
void sw__queue_torrent_removed(struct sw_torrent *t);
/* The torrent's state changed: it leaves or joins the download queue. */
void sw__queue_state_changed(struct sw_torrent *t);
/* Something the decision depends on changed: decide at the next tick. */
void sw__queue_trigger(struct sw_session *ses);
/* Each session tick: follows the torrents' activity and decides when due. */
void sw__queue_tick(struct sw_session *ses);

/* Checking. At most active_checking auto-managed torrents check their
 * files at once (a check of resume data included), as in libtorrent; a
 * torrent that is not auto-managed is not subject to it. Whatever the kind,
 * at most SW_QUEUE_CHECKS_IN_FLIGHT checks are handed to the disk pool at
 * once: enough to keep its workers busy with small torrents, while ten
 * thousand torrents added at once do not all hold a check's memory. Those
 * over a limit wait in state queued_for_checking, first come first served.
 * sw__torrent_start_check asks for a slot: false means the torrent now
 * waits and its check starts later (with use_resume as last asked). */
#define SW_QUEUE_CHECKS_IN_FLIGHT 32
bool sw__queue_check_admit(struct sw_torrent *t, bool use_resume);
/* A check ended (its slot frees; waiting torrents start). */
void sw__queue_check_done(struct sw_torrent *t);

/* Position in the download queue, -1 if the torrent is not in it. */
int sw__queue_position(struct sw_torrent *t);
/* libtorrent's seed_rank (0 for a torrent that is not finished). */
int sw__queue_seed_rank(struct sw_torrent *t);
/* Whether a finished torrent met one of its seed limits. */
bool sw__queue_seed_limits_met(struct sw_torrent *t);

#endif
