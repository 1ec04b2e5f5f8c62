/* The alert queue: a mutex-protected ring of alert pointers, filled by the
 * network thread and drained by any thread, with a condition variable for
 * waiters. The mask is atomic so producers can test it without the lock. */
#include <stdatomic.h>
#include <stdlib.h>

#include <uv.h>

#include "alert_queue.h"

struct sw_alert_queue {
    uv_mutex_t lock;
    uv_cond_t nonempty; /* signalled when an alert is queued */
    _Atomic uint32_t mask;

    /* Guarded by lock. */
    sw_alert **ring; /* cap slots; count alerts from head, wrapping */
    size_t cap, head, count;
    size_t limit;
    uint64_t dropped_total;
    uint64_t dropped_since_batch;
    sw_alert_dispatch_fn dispatch;
    void *dispatch_user;
};

int sw__alert_queue_new(size_t limit, uint32_t mask, sw_alert_queue **q_out)
{
    if (!q_out)
        return SW_ERR_INVALID_ARG;
    sw_alert_queue *q = calloc(1, sizeof *q);
    if (!q)
        return SW_ERR_NOMEM;
    int rc = uv_mutex_init(&q->lock);
    if (rc != 0) {
        free(q);
        return rc;
    }
    rc = uv_cond_init(&q->nonempty);
    if (rc != 0) {
        uv_mutex_destroy(&q->lock);
        free(q);
        return rc;
    }
    atomic_init(&q->mask, mask);
    q->limit = limit;
    *q_out = q;
    return 0;
}

static sw_alert *ring_at(const sw_alert_queue *q, size_t i)
{
    return q->ring[(q->head + i) % q->cap];
}

void sw__alert_queue_free(sw_alert_queue *q)
{
    if (!q)
        return;
    for (size_t i = 0; i < q->count; i++)
        sw_alert_free(ring_at(q, i));
    free(q->ring);
    uv_cond_destroy(&q->nonempty);
    uv_mutex_destroy(&q->lock);
    free(q);
}

void sw__alert_queue_set_mask(sw_alert_queue *q, uint32_t mask)
{
    atomic_store_explicit(&q->mask, mask, memory_order_relaxed);
}

uint32_t sw__alert_queue_mask(const sw_alert_queue *q)
{
    return atomic_load_explicit(&q->mask, memory_order_relaxed);
}

bool sw__alert_queue_wants(const sw_alert_queue *q, uint32_t category)
{
    return (sw__alert_queue_mask(q) & category) != 0;
}

void sw__alert_queue_set_limit(sw_alert_queue *q, size_t limit)
{
    uv_mutex_lock(&q->lock);
    q->limit = limit;
    uv_mutex_unlock(&q->lock);
}

/* Appends under the lock, growing the ring (doubling, unwrapped into the new
 * array). False only when out of memory. */
static bool ring_push(sw_alert_queue *q, sw_alert *a)
{
    if (q->count == q->cap) {
        size_t cap = q->cap ? q->cap * 2 : 16;
        if (cap < q->cap || cap > SIZE_MAX / sizeof(sw_alert *))
            return false;
        sw_alert **ring = malloc(cap * sizeof *ring);
        if (!ring)
            return false;
        for (size_t i = 0; i < q->count; i++)
            ring[i] = ring_at(q, i);
        free(q->ring);
        q->ring = ring;
        q->cap = cap;
        q->head = 0;
    }
    q->ring[(q->head + q->count) % q->cap] = a;
    q->count++;
    return true;
}

static sw_alert *ring_pop(sw_alert_queue *q)
{
    sw_alert *a = q->ring[q->head];
    q->head = (q->head + 1) % q->cap;
    q->count--;
    return a;
}

bool sw__alert_queue_post(sw_alert_queue *q, sw_alert *a)
{
    if (!q || !a) {
        sw_alert_free(a);
        return false;
    }
    bool always = sw__alert_type_always_posted(a->type);
    if (!always && !sw__alert_queue_wants(q, a->category)) {
        sw_alert_free(a);
        return false;
    }

    uv_mutex_lock(&q->lock);
    if (q->dispatch) {
        sw_alert_dispatch_fn fn = q->dispatch;
        void *user = q->dispatch_user;
        uv_mutex_unlock(&q->lock);
        /* Outside the lock: the callback may pop or post. */
        fn(user, a);
        return true;
    }
    if ((!always && q->count >= q->limit) || !ring_push(q, a)) {
        q->dropped_total++;
        q->dropped_since_batch++;
        uv_mutex_unlock(&q->lock);
        sw_alert_free(a);
        return false;
    }
    /* Broadcast: waiters do not pop, so every one of them may proceed. */
    uv_cond_broadcast(&q->nonempty);
    uv_mutex_unlock(&q->lock);
    return true;
}

int sw__alert_queue_pop_all(sw_alert_queue *q, sw_alert_batch **batch_out)
{
    if (!q || !batch_out)
        return SW_ERR_INVALID_ARG;
    uv_mutex_lock(&q->lock);
    sw_alert **slots;
    sw_alert_batch *batch = sw__alert_batch_new(q->count, &slots);
    if (!batch) {
        uv_mutex_unlock(&q->lock);
        return SW_ERR_NOMEM;
    }
    for (size_t i = 0; i < batch->count; i++)
        slots[i] = ring_pop(q);
    batch->dropped = q->dropped_since_batch;
    q->dropped_since_batch = 0;
    uv_mutex_unlock(&q->lock);
    *batch_out = batch;
    return 0;
}

bool sw__alert_queue_pop_one(sw_alert_queue *q, sw_alert **alert_out)
{
    if (!q || !alert_out)
        return false;
    uv_mutex_lock(&q->lock);
    sw_alert *a = q->count > 0 ? ring_pop(q) : NULL;
    uv_mutex_unlock(&q->lock);
    if (!a)
        return false;
    *alert_out = a;
    return true;
}

int sw__alert_queue_wait(sw_alert_queue *q, int timeout_ms)
{
    if (!q)
        return SW_ERR_INVALID_ARG;
    uv_mutex_lock(&q->lock);
    if (timeout_ms < 0) {
        while (q->count == 0)
            uv_cond_wait(&q->nonempty, &q->lock);
    } else {
        /* Loop on a deadline: wake-ups may be spurious, or another thread
         * may pop the alert that woke us. */
        uint64_t deadline = uv_hrtime() + (uint64_t)timeout_ms * 1000000u;
        while (q->count == 0) {
            uint64_t now = uv_hrtime();
            if (now >= deadline)
                break;
            uv_cond_timedwait(&q->nonempty, &q->lock, deadline - now);
        }
    }
    int rc = q->count > 0 ? 0 : SW_ERR_TIMEOUT;
    uv_mutex_unlock(&q->lock);
    return rc;
}

size_t sw__alert_queue_size(sw_alert_queue *q)
{
    uv_mutex_lock(&q->lock);
    size_t n = q->count;
    uv_mutex_unlock(&q->lock);
    return n;
}

uint64_t sw__alert_queue_dropped(sw_alert_queue *q)
{
    uv_mutex_lock(&q->lock);
    uint64_t n = q->dropped_total;
    uv_mutex_unlock(&q->lock);
    return n;
}

void sw__alert_queue_set_dispatch(sw_alert_queue *q, sw_alert_dispatch_fn fn, void *user)
{
    uv_mutex_lock(&q->lock);
    q->dispatch = fn;
    q->dispatch_user = fn ? user : NULL;
    /* Hand what is already queued to the new callback, oldest first. The
     * ring is taken whole so the callback runs without the lock. */
    sw_alert **ring = NULL;
    size_t cap = 0, head = 0, count = 0;
    if (fn && q->count > 0) {
        ring = q->ring;
        cap = q->cap;
        head = q->head;
        count = q->count;
        q->ring = NULL;
        q->cap = q->head = q->count = 0;
    }
    uv_mutex_unlock(&q->lock);
    for (size_t i = 0; i < count; i++)
        fn(user, ring[(head + i) % cap]);
    free(ring);
}
