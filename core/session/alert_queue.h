/* Alerts inside the engine: building them and queueing them for the caller
 * (the public side is <cswarm/alert.h>).
 *
 * Building. sw__alert_new() makes an alert of a type with its static
 * category, the current time and the type's name as message; the producer
 * then fills fields and payload. Everything it attaches (message, payload
 * strings, arrays, objects with a destructor) is owned by the alert and
 * freed with it, so sw_alert_free() is the only cleanup. Attach helpers
 * return SW_ERR_NOMEM on failure and leave the alert valid (the field keeps
 * its previous value), so a producer may ignore their result.
 *
 * Queueing. An sw_alert_queue is filled on the network thread and drained
 * from any thread; every function here is thread-safe unless it says
 * otherwise. Posting filters by mask, enforces the size limit (counting
 * drops) and either queues the alert or hands it to the dispatch callback.
 * sw__alert_queue_free must not race with any other call. */
#ifndef SW_CORE_SESSION_ALERT_QUEUE_H
#define SW_CORE_SESSION_ALERT_QUEUE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cswarm/alert.h>

/* ---- building ---- */

/* A new alert of type (must be a valid SW_ALERT_* type), or NULL when out of
 * memory. */
sw_alert *sw__alert_new(sw_alert_type type);
/* Formats the message (a copy owned by the alert). */
__attribute__((format(printf, 2, 3))) int sw__alert_set_message(sw_alert *a, const char *fmt, ...);
/* Sets *field (a string member of a) to a copy of s owned by the alert; a
 * NULL s sets it to NULL. */
int sw__alert_set_str(sw_alert *a, const char **field, const char *s);
/* size zeroed bytes owned by the alert, or NULL when out of memory. */
void *sw__alert_alloc(sw_alert *a, size_t size);
/* Gives obj to the alert: dtor(obj) runs when the alert is freed, or at once
 * if attaching fails (then SW_ERR_NOMEM is returned). */
int sw__alert_attach(sw_alert *a, void *obj, void (*dtor)(void *));
/* A batch with count empty slots, written to *slots_out for the caller to
 * fill before handing it out; NULL when out of memory. */
sw_alert_batch *sw__alert_batch_new(size_t count, sw_alert ***slots_out);
/* Whether alerts of this type ignore the mask and the size limit. */
bool sw__alert_type_always_posted(sw_alert_type type);

/* ---- queueing ---- */

typedef struct sw_alert_queue sw_alert_queue;

/* limit: most alerts waiting (setting alert_queue_size); mask: SW_ALERT_CAT_*
 * bits to post (setting alert_mask). */
int sw__alert_queue_new(size_t limit, uint32_t mask, sw_alert_queue **q_out);
/* Frees the queue and every alert still in it. NULL is ok. */
void sw__alert_queue_free(sw_alert_queue *q);

void sw__alert_queue_set_mask(sw_alert_queue *q, uint32_t mask);
uint32_t sw__alert_queue_mask(const sw_alert_queue *q);
/* A smaller limit does not discard alerts already queued. */
void sw__alert_queue_set_limit(sw_alert_queue *q, size_t limit);

/* Whether an alert with these categories would pass the mask: a cheap check
 * (no lock) before building an alert that is costly to format. */
bool sw__alert_queue_wants(const sw_alert_queue *q, uint32_t category);

/* Posts a (taking ownership, always). Returns true if it was queued or
 * dispatched; false if the mask filtered it out or the queue was full (then
 * the drop is counted). The alert's category is the one it carries, so a
 * LOG alert may be posted under any *_LOG bit. Resume-data alerts bypass the
 * mask and the limit. */
bool sw__alert_queue_post(sw_alert_queue *q, sw_alert *a);

/* Pops every queued alert into a new batch (possibly empty), which the
 * caller frees with sw_alert_batch_free. The batch's dropped field counts
 * drops since the previous sw__alert_queue_pop_all. Returns 0, or
 * SW_ERR_NOMEM (nothing popped). */
int sw__alert_queue_pop_all(sw_alert_queue *q, sw_alert_batch **batch_out);
/* Pops the oldest alert; false if none. The caller frees it with
 * sw_alert_free. */
bool sw__alert_queue_pop_one(sw_alert_queue *q, sw_alert **alert_out);
/* Blocks until at least one alert is queued or timeout_ms passes (a negative
 * timeout waits forever). Pops nothing. Returns 0 if an alert is waiting,
 * SW_ERR_TIMEOUT otherwise. */
int sw__alert_queue_wait(sw_alert_queue *q, int timeout_ms);

/* Alerts queued now. */
size_t sw__alert_queue_size(sw_alert_queue *q);
/* Alerts dropped for a full queue since the queue was made. */
uint64_t sw__alert_queue_dropped(sw_alert_queue *q);

/* Sets (or with fn NULL, clears) the dispatch callback. Call it on the
 * network thread, the one that posts: alerts already queued are handed to
 * the new callback at once, in order, before it returns. */
void sw__alert_queue_set_dispatch(sw_alert_queue *q, sw_alert_dispatch_fn fn, void *user);

#endif
