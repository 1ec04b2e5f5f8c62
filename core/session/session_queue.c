/* Queuing and auto-managed torrents: the download queue (positions) and the
 * periodic decision of which auto-managed torrents run (see
 * session_queue.h for the rules). Network thread. */
#include <limits.h>
#include <stdlib.h>

#include "plugin_int.h"
#include "session_int.h"
#include "session_queue.h"

/* seed_rank bits, as libtorrent's. */
#define RANK_LIMITS_NOT_MET 0x40000000
#define RANK_NO_SEEDS 0x20000000
#define RANK_RECENTLY_STARTED 0x10000000
#define RANK_MASK 0x0fffffff
/* A seed started this recently keeps its slot against equal ranks. */
#define RECENT_START_MS (30u * 60u * 1000u)

static bool is_finished(const sw_torrent *t)
{
    return t->state == SW_TORRENT_FINISHED || t->state == SW_TORRENT_SEEDING;
}

static bool is_checking(const sw_torrent *t)
{
    return t->check_running || t->queue.check_waiting ||
           t->state == SW_TORRENT_QUEUED_FOR_CHECKING || t->state == SW_TORRENT_CHECKING_FILES ||
           t->state == SW_TORRENT_CHECKING_RESUME_DATA || t->state == SW_TORRENT_ALLOCATING;
}

static int setting(const sw_session *ses, sw_setting_id id)
{
    return sw__settings_int(ses->settings, id);
}

/* A limit setting: negative means none. */
static int limit_of(const sw_session *ses, sw_setting_id id)
{
    int v = setting(ses, id);
    return v < 0 ? INT_MAX : v;
}

/* ---- the download queue ---- */

static void append(sw_torrent *t)
{
    sw_queue *q = &t->ses->queue;
    t->queue.prev = q->tail;
    t->queue.next = NULL;
    if (q->tail)
        q->tail->queue.next = t;
    else
        q->head = t;
    q->tail = t;
    t->queue.queued = true;
    t->queue.pos = q->count++;
}

static void unlink_queued(sw_torrent *t)
{
    sw_queue *q = &t->ses->queue;
    /* Only those behind it move: the back leaving changes nobody. */
    if (t->queue.next)
        q->stale = true;
    if (t->queue.prev)
        t->queue.prev->queue.next = t->queue.next;
    else
        q->head = t->queue.next;
    if (t->queue.next)
        t->queue.next->queue.prev = t->queue.prev;
    else
        q->tail = t->queue.prev;
    t->queue.prev = t->queue.next = NULL;
    t->queue.queued = false;
    t->queue.pos = -1;
    q->count--;
}

static void renumber(sw_queue *q)
{
    int pos = 0;
    for (sw_torrent *t = q->head; t; t = t->queue.next)
        t->queue.pos = pos++;
    q->stale = false;
}

int sw__queue_position(sw_torrent *t)
{
    if (!t->queue.queued)
        return -1;
    if (t->ses->queue.stale)
        renumber(&t->ses->queue);
    return t->queue.pos;
}

void sw__queue_trigger(sw_session *ses)
{
    ses->queue.need_update = true;
}

void sw__queue_torrent_added(sw_torrent *t)
{
    t->queue.pos = -1;
    t->queue.last_busy_ms = t->queue.started_ms = uv_now(&t->ses->loop);
    if (!is_finished(t))
        append(t);
    sw__queue_trigger(t->ses);
}

static void check_unwait(sw_torrent *t);

void sw__queue_torrent_removed(sw_torrent *t)
{
    if (t->queue.queued)
        unlink_queued(t);
    if (t->queue.check_waiting)
        check_unwait(t);
    sw__queue_trigger(t->ses);
}

void sw__queue_state_changed(sw_torrent *t)
{
    if (t->removed)
        return;
    bool finished = is_finished(t);
    if (finished && t->queue.queued)
        unlink_queued(t);
    else if (!finished && !t->queue.queued)
        append(t);
    sw__queue_trigger(t->ses);
}

/* ---- checking ---- */

static int check_limit(const sw_session *ses)
{
    int v = setting(ses, SW_SET_ACTIVE_CHECKING);
    return v < 0 ? INT_MAX : v == 0 ? 1 : v;
}

static void list_remove(sw_torrent **head, sw_torrent **tail, sw_torrent *t)
{
    sw_torrent **pp = head, *prev = NULL;
    while (*pp && *pp != t) {
        prev = *pp;
        pp = &(*pp)->queue.check_next;
    }
    if (*pp) {
        *pp = t->queue.check_next;
        if (*tail == t)
            *tail = prev;
    }
    t->queue.check_next = NULL;
}

static void check_unwait(sw_torrent *t)
{
    sw_queue *q = &t->ses->queue;
    if (t->queue.check_waiting_auto)
        list_remove(&q->acheck_head, &q->acheck_tail, t);
    else
        list_remove(&q->check_head, &q->check_tail, t);
    t->queue.check_waiting = false;
}

static void check_wait(sw_torrent *t)
{
    sw_queue *q = &t->ses->queue;
    sw_torrent **head = t->auto_managed ? &q->acheck_head : &q->check_head;
    sw_torrent **tail = t->auto_managed ? &q->acheck_tail : &q->check_tail;
    t->queue.check_waiting = true;
    t->queue.check_waiting_auto = t->auto_managed;
    t->queue.check_seq = q->check_seq++;
    t->queue.check_next = NULL;
    if (*tail)
        (*tail)->queue.check_next = t;
    else
        *head = t;
    *tail = t;
}

static bool may_check(const sw_session *ses, bool auto_managed)
{
    const sw_queue *q = &ses->queue;
    if (q->checks_running >= SW_QUEUE_CHECKS_IN_FLIGHT)
        return false;
    return !auto_managed || q->auto_checks_running < check_limit(ses);
}

bool sw__queue_check_admit(sw_torrent *t, bool use_resume)
{
    sw_queue *q = &t->ses->queue;
    if (t->queue.check_waiting) {
        t->queue.check_use_resume = use_resume;
        return false;
    }
    if (t->queue.check_slot)
        return true;
    if (may_check(t->ses, t->auto_managed)) {
        t->queue.check_slot = true;
        t->queue.check_slot_auto = t->auto_managed;
        q->checks_running++;
        q->auto_checks_running += t->auto_managed;
        return true;
    }
    t->queue.check_use_resume = use_resume;
    check_wait(t);
    sw__torrent_set_state(t, SW_TORRENT_QUEUED_FOR_CHECKING);
    sw__torrent_update_active(t); /* a rechecked torrent stops meanwhile */
    return false;
}

/* Gives free slots to waiting torrents, first come first. */
static void start_waiting_checks(sw_session *ses)
{
    sw_queue *q = &ses->queue;
    while (!ses->shutting_down) {
        sw_torrent *other = may_check(ses, false) ? q->check_head : NULL;
        sw_torrent *managed = may_check(ses, true) ? q->acheck_head : NULL;
        sw_torrent *t = other && managed
                            ? (other->queue.check_seq < managed->queue.check_seq ? other : managed)
                        : other ? other
                                : managed;
        if (!t)
            return;
        check_unwait(t);
        sw__torrent_start_check(t, t->queue.check_use_resume);
    }
}

static void release_slot(sw_session *ses, sw_torrent *t)
{
    if (!t->queue.check_slot)
        return;
    t->queue.check_slot = false;
    ses->queue.checks_running--;
    ses->queue.auto_checks_running -= t->queue.check_slot_auto;
    t->queue.check_slot_auto = false;
}

void sw__queue_check_done(sw_torrent *t)
{
    release_slot(t->ses, t);
    start_waiting_checks(t->ses);
}

/* A start that failed before its check ran (out of memory, a disk error)
 * left its slot taken: hand it back. */
static void reclaim_check_slots(sw_session *ses)
{
    for (sw_torrent *t = ses->torrents; t; t = t->next)
        if (t->queue.check_slot && !t->check_running)
            release_slot(ses, t);
    start_waiting_checks(ses);
}

/* ---- moving in the queue ---- */

typedef enum queue_move { MOVE_UP, MOVE_DOWN, MOVE_TOP, MOVE_BOTTOM } queue_move;

static void insert_before(sw_torrent *t, sw_torrent *at)
{
    sw_queue *q = &t->ses->queue;
    if (!at) {
        append(t);
        return;
    }
    t->queue.next = at;
    t->queue.prev = at->queue.prev;
    if (at->queue.prev)
        at->queue.prev->queue.next = t;
    else
        q->head = t;
    at->queue.prev = t;
    t->queue.queued = true;
    q->count++;
}

static void move(sw_torrent *t, queue_move how)
{
    if (!t->queue.queued)
        return; /* a finished torrent has no place to move (libtorrent: a no-op) */
    sw_queue *q = &t->ses->queue;
    sw_torrent *at;
    switch (how) {
    case MOVE_UP:
        at = t->queue.prev;
        if (!at)
            return;
        break;
    case MOVE_DOWN:
        if (!t->queue.next)
            return;
        at = t->queue.next->queue.next; /* may be NULL: the back */
        break;
    case MOVE_TOP:
        at = q->head;
        if (at == t)
            return;
        break;
    case MOVE_BOTTOM:
    default:
        if (q->tail == t)
            return;
        at = NULL;
        break;
    }
    unlink_queued(t);
    insert_before(t, at);
    q->stale = true;
    t->state_dirty = true;
    t->need_save_resume = true;
    sw__queue_trigger(t->ses);
}

/* ---- seeds ---- */

bool sw__queue_seed_limits_met(sw_torrent *t)
{
    const sw_session *ses = t->ses;
    int ratio = setting(ses, SW_SET_SHARE_RATIO_LIMIT);
    int time_ratio = setting(ses, SW_SET_SEED_TIME_RATIO_LIMIT);
    int time_limit = setting(ses, SW_SET_SEED_TIME_LIMIT);
    int64_t finished_s = (int64_t)(t->finished_ms / 1000);
    int64_t downloading_s =
        (int64_t)(t->active_ms > t->finished_ms ? (t->active_ms - t->finished_ms) / 1000 : 0);
    if (time_limit > 0 && finished_s >= time_limit)
        return true;
    /* A torrent added complete never downloaded: the time ratio has no
     * meaning for it. */
    if (time_ratio > 0 && downloading_s > 0 && finished_s * 100 / downloading_s >= time_ratio)
        return true;
    int64_t downloaded = t->prev_download + t->swarm.stats.payload_down;
    int64_t size = t->ti ? sw_torrent_info_total_size(t->ti) : 0;
    if (downloaded < size)
        downloaded = size;
    int64_t uploaded = t->prev_upload + t->swarm.stats.payload_up;
    if (ratio > 0 && downloaded > 0 && uploaded * 100 / downloaded >= ratio)
        return true;
    return false;
}

int sw__queue_seed_rank(sw_torrent *t)
{
    if (!is_finished(t))
        return 0;
    int rank = 0;
    if (!sw__queue_seed_limits_met(t))
        rank |= RANK_LIMITS_NOT_MET;
    uint64_t now = uv_now(&t->ses->loop);
    if (t->swarm.active && now - t->queue.started_ms < RECENT_START_MS)
        rank |= RANK_RECENTLY_STARTED;
    sw_swarm_counts c;
    sw__swarm_counts(&t->swarm, &c);
    int seeds = c.seeds;
    int downloaders = c.connections - c.seeds;
    if (downloaders < 0)
        downloaders = 0;
    int scale = sw__picker_is_seed(t->swarm.picker) ? 1000 : 500;
    if (seeds == 0)
        rank |= RANK_NO_SEEDS | (downloaders & RANK_MASK);
    else
        rank |= (int)(((int64_t)(1 + downloaders) * scale / seeds) & RANK_MASK);
    return rank;
}

/* ---- pausing and resuming for the queue ---- */

static void post_simple(sw_torrent *t, sw_alert_type type, const char *what)
{
    sw_alert *a = sw__session_torrent_alert(t->ses, t, type, false);
    if (!a)
        return;
    sw__alert_set_message(a, "%s: %s", t->name, what);
    sw__session_post_alert(t->ses, a);
}

static void set_paused(sw_torrent *t, bool pause, uint64_t now)
{
    /* Plugins see the queue's pauses as any other (and may take one
     * over). */
    if (sw__plugin_torrent_pause(t, pause) == SW_HANDLED)
        return;
    t->paused = pause;
    t->state_dirty = true;
    t->need_save_resume = true;
    if (!pause)
        t->queue.started_ms = t->queue.last_busy_ms = now;
    sw__torrent_update_active(t);
    post_simple(t, pause ? SW_ALERT_TORRENT_PAUSED : SW_ALERT_TORRENT_RESUMED,
                pause ? "paused by the queue" : "started by the queue");
}

/* ---- deciding ---- */

typedef struct decide {
    sw_session *ses;
    uint64_t now;
    uint64_t startup_ms;
    bool dont_count_slow;
    int down_rate, up_rate; /* inactive below both */
    int hard;               /* active_limit left */
} decide;

/* Whether a running torrent uses a download or seed slot. */
static bool counts_as_active(const decide *d, const sw_torrent *t)
{
    if (!d->dont_count_slow)
        return true;
    uint64_t since =
        t->queue.started_ms > t->queue.last_busy_ms ? t->queue.started_ms : t->queue.last_busy_ms;
    return d->now - since <= d->startup_ms;
}

static bool is_busy(const decide *d, const sw_torrent *t)
{
    return (int64_t)t->swarm.rates.payload_down.rate >= d->down_rate ||
           (int64_t)t->swarm.rates.payload_up.rate >= d->up_rate;
}

static void manage(decide *d, sw_torrent *t, int *limit)
{
    if (!t->paused && !counts_as_active(d, t) && d->hard > 0) {
        d->hard--;
        return;
    }
    if (*limit > 0 && d->hard > 0) {
        d->hard--;
        (*limit)--;
        if (t->paused)
            set_paused(t, false, d->now);
    } else if (!t->paused) {
        set_paused(t, true, d->now);
    }
}

static bool managed(const sw_torrent *t)
{
    return t->auto_managed && !t->error && !t->removed && !is_checking(t);
}

/* Decisions are made over a list of ids, each looked up again before it is
 * acted on: pausing or resuming runs plugin hooks, which may remove
 * torrents. */
typedef struct ranked {
    uint64_t id;
    int rank;
} ranked;

static int by_rank(const void *a, const void *b)
{
    const ranked *x = a, *y = b;
    if (x->rank != y->rank)
        return x->rank > y->rank ? -1 : 1;
    /* Equal ranks: the one added first. */
    return x->id < y->id ? -1 : x->id > y->id;
}

static void manage_all(decide *d, const ranked *v, size_t n, bool seeds, int *limit)
{
    for (size_t i = 0; i < n; i++) {
        sw_torrent *t = sw__session_find(d->ses, v[i].id);
        if (t && managed(t) && is_finished(t) == seeds)
            manage(d, t, limit);
    }
}

static void update(sw_session *ses, uint64_t now)
{
    decide d = {
        .ses = ses,
        .now = now,
        .startup_ms = (uint64_t)(setting(ses, SW_SET_AUTO_MANAGE_STARTUP) > 0
                                     ? setting(ses, SW_SET_AUTO_MANAGE_STARTUP)
                                     : 0) *
                      1000u,
        .dont_count_slow = sw__settings_bool(ses->settings, SW_SET_DONT_COUNT_SLOW_TORRENTS),
        .hard = limit_of(ses, SW_SET_ACTIVE_LIMIT),
    };
    int downloads = limit_of(ses, SW_SET_ACTIVE_DOWNLOADS);
    int seeds_left = limit_of(ses, SW_SET_ACTIVE_SEEDS);
    size_t nseeds = 0, ndownloads = 0;
    for (sw_torrent *t = ses->torrents; t; t = t->next) {
        if (t->auto_managed && !t->error) {
            if (managed(t)) {
                nseeds += is_finished(t);
                ndownloads += !is_finished(t);
            }
            continue;
        }
        /* Running torrents that are not auto-managed use slots first. */
        if (t->paused || t->error || is_checking(t))
            continue;
        if (d.hard > 0 && d.hard != INT_MAX)
            d.hard--;
        if (!counts_as_active(&d, t))
            continue;
        int *slot = is_finished(t) ? &seeds_left : &downloads;
        if (*slot > 0 && *slot != INT_MAX)
            (*slot)--;
    }
    if (nseeds + ndownloads == 0)
        return;
    ranked *v = malloc((nseeds + ndownloads) * sizeof *v);
    if (!v)
        return; /* try again at the next tick */
    /* Downloads in queue order, then seeds best rank first. */
    ranked *dl = v, *seeds = v + ndownloads;
    size_t i = 0, k = 0;
    for (sw_torrent *t = ses->queue.head; t && i < ndownloads; t = t->queue.next)
        if (managed(t) && !is_finished(t))
            dl[i++] = (ranked){t->id, 0};
    for (sw_torrent *t = ses->torrents; t && k < nseeds; t = t->next)
        if (managed(t) && is_finished(t))
            seeds[k++] = (ranked){t->id, sw__queue_seed_rank(t)};
    qsort(seeds, k, sizeof *seeds, by_rank);
    if (sw__settings_bool(ses->settings, SW_SET_AUTO_MANAGE_PREFER_SEEDS)) {
        manage_all(&d, seeds, k, true, &seeds_left);
        manage_all(&d, dl, i, false, &downloads);
    } else {
        manage_all(&d, dl, i, false, &downloads);
        manage_all(&d, seeds, k, true, &seeds_left);
    }
    free(v);
}

void sw__queue_tick(sw_session *ses)
{
    uint64_t now = uv_now(&ses->loop);
    decide d = {
        .down_rate = setting(ses, SW_SET_INACTIVE_DOWN_RATE),
        .up_rate = setting(ses, SW_SET_INACTIVE_UP_RATE),
    };
    reclaim_check_slots(ses);
    for (sw_torrent *t = ses->torrents; t; t = t->next) {
        bool running = t->swarm.active;
        if (running && !t->queue.was_running)
            t->queue.started_ms = t->queue.last_busy_ms = now;
        else if (running && is_busy(&d, t))
            t->queue.last_busy_ms = now;
        t->queue.was_running = running;
    }
    if (ses->paused || ses->shutting_down)
        return; /* a paused session is left as it is (libtorrent) */
    int interval = setting(ses, SW_SET_AUTO_MANAGE_INTERVAL);
    uint64_t interval_ms = (uint64_t)(interval > 0 ? interval : 1) * 1000u;
    if (!ses->queue.need_update && now - ses->queue.last_update_ms < interval_ms)
        return;
    ses->queue.need_update = false;
    ses->queue.last_update_ms = now;
    update(ses, now);
}

/* ---- the public functions ---- */

typedef struct queue_call {
    uint64_t id;
    int op; /* a queue_move, or OP_GET / OP_AUTO */
    int value;
} queue_call;

enum { OP_GET = 100, OP_AUTO = 101 };

static int run_queue_call(sw_session *ses, void *arg)
{
    queue_call *c = arg;
    sw_torrent *t = sw__session_find(ses, c->id);
    if (!t)
        return SW_ERR_INVALID_HANDLE;
    switch (c->op) {
    case OP_GET:
        c->value = sw__queue_position(t);
        return 0;
    case OP_AUTO:
        if (t->auto_managed != (c->value != 0)) {
            t->auto_managed = c->value != 0;
            if (t->queue.check_waiting) {
                /* Now subject to the other limit: wait in the other line. */
                check_unwait(t);
                check_wait(t);
                start_waiting_checks(ses);
            }
            t->state_dirty = true;
            t->need_save_resume = true;
            sw__queue_trigger(ses);
        }
        return 0;
    default:
        move(t, (queue_move)c->op);
        return 0;
    }
}

static int queue_call_run(sw_torrent_handle h, int op, int *value)
{
    if (!h.session || h.id == 0)
        return SW_ERR_INVALID_HANDLE;
    queue_call c = {h.id, op, value ? *value : 0};
    int rc = sw__session_run(h.session, run_queue_call, &c);
    if (rc == 0 && value)
        *value = c.value;
    return rc;
}

int sw_torrent_queue_position_get(sw_torrent_handle h, int *position_out)
{
    if (!position_out)
        return SW_ERR_INVALID_ARG;
    int v = -1;
    int rc = queue_call_run(h, OP_GET, &v);
    if (rc == 0)
        *position_out = v;
    return rc;
}

int sw_torrent_queue_position_up(sw_torrent_handle h)
{
    return queue_call_run(h, MOVE_UP, NULL);
}

int sw_torrent_queue_position_down(sw_torrent_handle h)
{
    return queue_call_run(h, MOVE_DOWN, NULL);
}

int sw_torrent_queue_position_top(sw_torrent_handle h)
{
    return queue_call_run(h, MOVE_TOP, NULL);
}

int sw_torrent_queue_position_bottom(sw_torrent_handle h)
{
    return queue_call_run(h, MOVE_BOTTOM, NULL);
}

int sw_torrent_auto_managed(sw_torrent_handle h, bool auto_managed)
{
    int v = auto_managed;
    return queue_call_run(h, OP_AUTO, &v);
}
