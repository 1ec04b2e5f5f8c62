/* Unit tests for alerts (core/session/alert.c) and the alert queue
 * (core/session/alert_queue.c): tables, building, mask filtering, the size
 * limit and its drop count, resume-data alerts, popping, waiting, threads
 * and the dispatch callback. */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include <cswarm/alert.h>

#include "session/alert_queue.h"

static sw_alert_queue *new_queue(size_t limit, uint32_t mask)
{
    sw_alert_queue *q = NULL;
    assert_int_equal(sw__alert_queue_new(limit, mask, &q), 0);
    assert_non_null(q);
    return q;
}

static sw_alert *make(sw_alert_type type, uint64_t torrent_id)
{
    sw_alert *a = sw__alert_new(type);
    assert_non_null(a);
    a->torrent_id = torrent_id;
    return a;
}

static void test_type_table(void **state)
{
    (void)state;
    for (int t = SW_ALERT_NONE + 1; t < SW_ALERT_TYPE_COUNT; t++) {
        const char *name = sw_alert_type_name(t);
        assert_string_not_equal(name, "unknown");
        assert_true(sw_alert_type_category(t) != 0);
        assert_int_equal(sw_alert_type_category(t) & ~(uint32_t)SW_ALERT_CAT_ALL, 0);
        for (int u = SW_ALERT_NONE + 1; u < t; u++)
            assert_string_not_equal(name, sw_alert_type_name(u));
    }
    assert_string_equal(sw_alert_type_name(SW_ALERT_NONE), "unknown");
    assert_string_equal(sw_alert_type_name(SW_ALERT_TYPE_COUNT), "unknown");
    assert_string_equal(sw_alert_type_name(-3), "unknown");
    assert_int_equal(sw_alert_type_category(SW_ALERT_TYPE_COUNT), 0);
    assert_string_equal(sw_alert_type_name(SW_ALERT_SAVE_RESUME_DATA), "save_resume_data");
    assert_string_equal(sw_alert_type_name(SW_ALERT_PEER_UNSNUBBED), "peer_unsnubbed");
    assert_int_equal(sw_alert_type_category(SW_ALERT_TRACKER_ERROR),
                     SW_ALERT_CAT_TRACKER | SW_ALERT_CAT_ERROR);
    assert_int_equal(sw_alert_type_category(SW_ALERT_ADD_TORRENT), SW_ALERT_CAT_STATUS);
    /* The numbering is part of the ABI: the first type is 1. */
    assert_int_equal(SW_ALERT_ADD_TORRENT, 1);
}

static void test_categories(void **state)
{
    (void)state;
    assert_string_equal(sw_alert_category_name(SW_ALERT_CAT_ERROR), "error");
    assert_string_equal(sw_alert_category_name(SW_ALERT_CAT_PICKER_LOG), "picker_log");
    assert_null(sw_alert_category_name(1u << 12));
    assert_null(sw_alert_category_name(SW_ALERT_CAT_ERROR | SW_ALERT_CAT_PEER));
    /* libtorrent 2.0's bit values. */
    assert_int_equal(SW_ALERT_CAT_STATUS, 64);
    assert_int_equal(SW_ALERT_CAT_SESSION_LOG, 8192);
    assert_int_equal(SW_ALERT_CAT_PICKER_LOG, 1 << 20);

    uint32_t mask = 0xdead;
    assert_int_equal(sw_alert_category_parse("error,peer", &mask), 0);
    assert_int_equal(mask, SW_ALERT_CAT_ERROR | SW_ALERT_CAT_PEER);
    assert_int_equal(sw_alert_category_parse(" status , dht_log ", &mask), 0);
    assert_int_equal(mask, SW_ALERT_CAT_STATUS | SW_ALERT_CAT_DHT_LOG);
    assert_int_equal(sw_alert_category_parse("all", &mask), 0);
    assert_int_equal(mask, SW_ALERT_CAT_ALL);
    assert_int_equal(sw_alert_category_parse("none", &mask), 0);
    assert_int_equal(mask, 0);
    mask = 7;
    assert_int_equal(sw_alert_category_parse("error,bogus", &mask), SW_ERR_INVALID_ARG);
    assert_int_equal(sw_alert_category_parse("", &mask), SW_ERR_INVALID_ARG);
    assert_int_equal(sw_alert_category_parse("error,", &mask), SW_ERR_INVALID_ARG);
    assert_int_equal(sw_alert_category_parse("err", &mask), SW_ERR_INVALID_ARG);
    assert_int_equal(sw_alert_category_parse("errors", &mask), SW_ERR_INVALID_ARG);
    assert_int_equal(mask, 7);
}

static int dtor_calls;
static void count_dtor(void *obj)
{
    dtor_calls++;
    free(obj);
}

static void test_build_alert(void **state)
{
    (void)state;
    sw_alert *a = sw__alert_new(SW_ALERT_TRACKER_ERROR);
    assert_non_null(a);
    assert_int_equal(a->struct_size, sizeof(sw_alert));
    assert_int_equal(a->type, SW_ALERT_TRACKER_ERROR);
    assert_int_equal(a->category, SW_ALERT_CAT_TRACKER | SW_ALERT_CAT_ERROR);
    assert_true(a->timestamp_us > 0);
    assert_int_equal(a->torrent_id, 0);
    assert_string_equal(a->message, "tracker_error"); /* never NULL */

    a->error = SW_ERR_TIMEOUT;
    assert_int_equal(sw__alert_set_str(a, &a->payload.tracker.url, "http://t.example/a"), 0);
    a->payload.tracker.times_in_row = 3;
    assert_int_equal(sw__alert_set_message(a, "%s: %s (%d in a row)", a->payload.tracker.url,
                                           sw_strerror(a->error), a->payload.tracker.times_in_row),
                     0);
    assert_string_equal(a->message, "http://t.example/a: timed out (3 in a row)");
    assert_int_equal(sw__alert_set_str(a, &a->payload.tracker.text, NULL), 0);
    assert_null(a->payload.tracker.text);

    /* Owned memory and attached objects go with the alert. */
    int64_t *values = sw__alert_alloc(a, 4 * sizeof *values);
    assert_non_null(values);
    assert_int_equal(values[3], 0);
    dtor_calls = 0;
    assert_int_equal(sw__alert_attach(a, malloc(32), count_dtor), 0);
    assert_int_equal(dtor_calls, 0);
    sw_alert_free(a);
    assert_int_equal(dtor_calls, 1);
    sw_alert_free(NULL);

    assert_null(sw__alert_new(SW_ALERT_NONE));
    assert_null(sw__alert_new(SW_ALERT_TYPE_COUNT));
}

static void test_mask_filtering(void **state)
{
    (void)state;
    sw_alert_queue *q = new_queue(100, SW_ALERT_CAT_ERROR);
    assert_true(sw__alert_queue_wants(q, SW_ALERT_CAT_ERROR));
    assert_false(sw__alert_queue_wants(q, SW_ALERT_CAT_STATUS));
    assert_true(sw__alert_queue_wants(q, SW_ALERT_CAT_STATUS | SW_ALERT_CAT_ERROR));

    assert_false(sw__alert_queue_post(q, make(SW_ALERT_TORRENT_PAUSED, 1))); /* status */
    assert_false(sw__alert_queue_post(q, make(SW_ALERT_PIECE_FINISHED, 1))); /* progress */
    assert_true(sw__alert_queue_post(q, make(SW_ALERT_TORRENT_ERROR, 2)));   /* error|status */
    assert_true(sw__alert_queue_post(q, make(SW_ALERT_TRACKER_WARNING, 3))); /* tracker|error */
    assert_int_equal(sw__alert_queue_size(q), 2);
    assert_int_equal(sw__alert_queue_dropped(q), 0); /* filtering is not dropping */

    sw__alert_queue_set_mask(q, SW_ALERT_CAT_STATUS | SW_ALERT_CAT_PROGRESS);
    assert_int_equal(sw__alert_queue_mask(q), SW_ALERT_CAT_STATUS | SW_ALERT_CAT_PROGRESS);
    assert_true(sw__alert_queue_post(q, make(SW_ALERT_TORRENT_PAUSED, 4)));
    assert_true(sw__alert_queue_post(q, make(SW_ALERT_PIECE_FINISHED, 5)));
    assert_false(sw__alert_queue_post(q, make(SW_ALERT_TRACKER_WARNING, 6)));

    /* A log alert is filtered by the category it carries. */
    sw__alert_queue_set_mask(q, SW_ALERT_CAT_SESSION_LOG);
    sw_alert *log = make(SW_ALERT_LOG, 7);
    log->category = SW_ALERT_CAT_PEER_LOG;
    assert_false(sw__alert_queue_post(q, log));
    assert_true(sw__alert_queue_post(q, make(SW_ALERT_LOG, 8)));

    sw__alert_queue_set_mask(q, 0);
    assert_false(sw__alert_queue_post(q, make(SW_ALERT_TORRENT_ERROR, 9)));

    sw_alert_batch *b = NULL;
    assert_int_equal(sw__alert_queue_pop_all(q, &b), 0);
    assert_int_equal(b->count, 5);
    const uint64_t expect[] = {2, 3, 4, 5, 8};
    for (size_t i = 0; i < 5; i++)
        assert_int_equal(b->alerts[i]->torrent_id, expect[i]);
    assert_int_equal(b->dropped, 0);
    sw_alert_batch_free(b);
    assert_false(sw__alert_queue_post(NULL, make(SW_ALERT_LOG, 1)));
    assert_false(sw__alert_queue_post(q, NULL));
    sw__alert_queue_free(q);
}

static void test_overflow_counts_drops(void **state)
{
    (void)state;
    sw_alert_queue *q = new_queue(3, SW_ALERT_CAT_ALL);
    for (uint64_t i = 1; i <= 5; i++)
        assert_int_equal(sw__alert_queue_post(q, make(SW_ALERT_STATS, i)), i <= 3);
    assert_int_equal(sw__alert_queue_size(q), 3);
    assert_int_equal(sw__alert_queue_dropped(q), 2);

    sw_alert_batch *b = NULL;
    assert_int_equal(sw__alert_queue_pop_all(q, &b), 0);
    assert_int_equal(b->count, 3);
    assert_int_equal(b->dropped, 2);
    for (size_t i = 0; i < 3; i++) /* the oldest are kept, in order */
        assert_int_equal(b->alerts[i]->torrent_id, i + 1);
    sw_alert_batch_free(b);

    /* The next batch reports only newer drops; the total keeps counting. */
    assert_int_equal(sw__alert_queue_pop_all(q, &b), 0);
    assert_int_equal(b->count, 0);
    assert_int_equal(b->dropped, 0);
    sw_alert_batch_free(b);
    for (uint64_t i = 0; i < 4; i++)
        sw__alert_queue_post(q, make(SW_ALERT_STATS, i));
    assert_int_equal(sw__alert_queue_dropped(q), 3);

    /* A larger limit makes room; a smaller one keeps what is queued. */
    sw__alert_queue_set_limit(q, 4);
    assert_true(sw__alert_queue_post(q, make(SW_ALERT_STATS, 10)));
    assert_false(sw__alert_queue_post(q, make(SW_ALERT_STATS, 11)));
    sw__alert_queue_set_limit(q, 1);
    assert_int_equal(sw__alert_queue_size(q), 4);
    assert_int_equal(sw__alert_queue_pop_all(q, &b), 0);
    assert_int_equal(b->count, 4);
    assert_int_equal(b->dropped, 2);
    sw_alert_batch_free(b);
    assert_int_equal(sw__alert_queue_dropped(q), 4);
    sw_alert_batch_free(NULL);
    sw__alert_queue_free(q);
}

static void test_resume_alerts_always_posted(void **state)
{
    (void)state;
    /* Mask 0 and room for one alert. */
    sw_alert_queue *q = new_queue(1, 0);
    assert_false(sw__alert_queue_post(q, make(SW_ALERT_TORRENT_ERROR, 1)));
    for (uint64_t i = 1; i <= 3; i++) {
        sw_alert *a = make(SW_ALERT_SAVE_RESUME_DATA, i);
        uint8_t *data = sw__alert_alloc(a, 2);
        assert_non_null(data);
        memcpy(data, "de", 2);
        a->payload.resume.data = data;
        a->payload.resume.len = 2;
        assert_true(sw__alert_queue_post(q, a));
    }
    sw_alert *failed = make(SW_ALERT_SAVE_RESUME_DATA_FAILED, 4);
    failed->error = SW_ERR_IO;
    assert_true(sw__alert_queue_post(q, failed));
    assert_int_equal(sw__alert_queue_size(q), 4);
    assert_int_equal(sw__alert_queue_dropped(q), 0);

    /* The queue is over its limit, so an ordinary alert is dropped. */
    sw__alert_queue_set_mask(q, SW_ALERT_CAT_ALL);
    assert_false(sw__alert_queue_post(q, make(SW_ALERT_TORRENT_ERROR, 5)));
    assert_int_equal(sw__alert_queue_dropped(q), 1);

    sw_alert *a = NULL;
    for (uint64_t i = 1; i <= 4; i++) {
        assert_true(sw__alert_queue_pop_one(q, &a));
        assert_int_equal(a->torrent_id, i);
        if (i < 4) {
            assert_int_equal(a->type, SW_ALERT_SAVE_RESUME_DATA);
            assert_memory_equal(a->payload.resume.data, "de", 2);
        } else {
            assert_int_equal(a->type, SW_ALERT_SAVE_RESUME_DATA_FAILED);
            assert_int_equal(a->error, SW_ERR_IO);
        }
        sw_alert_free(a);
    }
    assert_false(sw__alert_queue_pop_one(q, &a));
    sw__alert_queue_free(q);
}

static void test_pop_one_and_free_with_pending(void **state)
{
    (void)state;
    sw_alert_queue *q = new_queue(1000, SW_ALERT_CAT_ALL);
    sw_alert *a = (sw_alert *)0x1;
    assert_false(sw__alert_queue_pop_one(q, &a));
    assert_ptr_equal(a, (sw_alert *)0x1);
    /* Enough to grow and wrap the ring. */
    uint64_t next_out = 0;
    for (uint64_t i = 0; i < 100; i++) {
        assert_true(sw__alert_queue_post(q, make(SW_ALERT_PEER_CONNECT, i)));
        if (i % 3 == 0) {
            assert_true(sw__alert_queue_pop_one(q, &a));
            assert_int_equal(a->torrent_id, next_out++);
            sw_alert_free(a);
        }
    }
    assert_int_equal(sw__alert_queue_size(q), 100 - next_out);
    /* Pending alerts are freed with the queue (ASan checks for leaks). */
    sw_alert *big = make(SW_ALERT_STATE_UPDATE, 1);
    dtor_calls = 0;
    assert_int_equal(sw__alert_attach(big, malloc(64), count_dtor), 0);
    assert_true(sw__alert_queue_post(q, big));
    sw__alert_queue_free(q);
    assert_int_equal(dtor_calls, 1);
    sw__alert_queue_free(NULL);
}

static void test_wait_timeout(void **state)
{
    (void)state;
    sw_alert_queue *q = new_queue(10, SW_ALERT_CAT_ALL);
    assert_int_equal(sw__alert_queue_wait(q, 50), SW_ERR_TIMEOUT);
    assert_int_equal(sw__alert_queue_wait(q, 0), SW_ERR_TIMEOUT);
    assert_true(sw__alert_queue_post(q, make(SW_ALERT_DHT_BOOTSTRAP, 0)));
    assert_int_equal(sw__alert_queue_wait(q, 50), 0);
    assert_int_equal(sw__alert_queue_wait(q, -1), 0);
    /* Waiting pops nothing. */
    assert_int_equal(sw__alert_queue_size(q), 1);
    sw_alert *a = NULL;
    assert_true(sw__alert_queue_pop_one(q, &a));
    sw_alert_free(a);
    assert_int_equal(sw__alert_queue_wait(q, 10), SW_ERR_TIMEOUT);
    sw__alert_queue_free(q);
}

typedef struct late_post {
    sw_alert_queue *q;
    int delay_ms;
} late_post;

static void *post_later(void *arg)
{
    late_post *lp = arg;
    struct timespec ts = {0, (long)lp->delay_ms * 1000000L};
    nanosleep(&ts, NULL);
    sw__alert_queue_post(lp->q, sw__alert_new(SW_ALERT_TORRENT_FINISHED));
    return NULL;
}

static void test_wait_wakes_on_post(void **state)
{
    (void)state;
    sw_alert_queue *q = new_queue(10, SW_ALERT_CAT_ALL);
    late_post lp = {q, 20};
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, post_later, &lp), 0);
    /* Generous timeout: the post comes long before it (no wall-time
     * assertion; only that the wait saw the alert). */
    assert_int_equal(sw__alert_queue_wait(q, 10000), 0);
    assert_int_equal(pthread_join(t, NULL), 0);
    assert_int_equal(sw__alert_queue_size(q), 1);

    /* An infinite wait is woken the same way. */
    sw_alert_batch *b = NULL;
    assert_int_equal(sw__alert_queue_pop_all(q, &b), 0);
    sw_alert_batch_free(b);
    assert_int_equal(pthread_create(&t, NULL, post_later, &lp), 0);
    assert_int_equal(sw__alert_queue_wait(q, -1), 0);
    assert_int_equal(pthread_join(t, NULL), 0);
    sw__alert_queue_free(q);
}

/* ---- producer / consumers on threads ---- */

enum { PRODUCED = 20000, CONSUMERS = 3 };

typedef struct mt_shared {
    sw_alert_queue *q;
    pthread_mutex_t lock;
    uint64_t consumed; /* alerts popped, all consumers */
    uint64_t dropped;  /* from batches */
    bool producer_done;
    unsigned char seen[PRODUCED];
    int errors;
} mt_shared;

typedef struct mt_consumer {
    mt_shared *sh;
    int index;
} mt_consumer;

static void *producer_main(void *arg)
{
    mt_shared *sh = arg;
    for (uint64_t i = 0; i < PRODUCED; i++) {
        sw_alert *a = sw__alert_new(i % 2 ? SW_ALERT_PIECE_FINISHED : SW_ALERT_STATS);
        if (!a)
            abort();
        a->torrent_id = i;
        a->payload.piece.piece = (int)i;
        sw__alert_set_message(a, "alert %llu", (unsigned long long)i);
        sw__alert_queue_post(sh->q, a);
    }
    pthread_mutex_lock(&sh->lock);
    sh->producer_done = true;
    pthread_mutex_unlock(&sh->lock);
    return NULL;
}

/* Records an alert; each consumer sees ids in increasing order, since the
 * queue is FIFO and each pop is atomic. */
static void consume(mt_shared *sh, const sw_alert *a, uint64_t *last, bool *any)
{
    char expect[32];
    snprintf(expect, sizeof expect, "alert %llu", (unsigned long long)a->torrent_id);
    pthread_mutex_lock(&sh->lock);
    if (a->torrent_id >= PRODUCED || sh->seen[a->torrent_id] || strcmp(a->message, expect) != 0 ||
        (*any && a->torrent_id <= *last))
        sh->errors++;
    else
        sh->seen[a->torrent_id] = 1;
    sh->consumed++;
    pthread_mutex_unlock(&sh->lock);
    *last = a->torrent_id;
    *any = true;
}

static void *consumer_main(void *arg)
{
    mt_consumer *c = arg;
    mt_shared *sh = c->sh;
    uint64_t last = 0;
    bool any = false;
    for (;;) {
        /* Mix the ways of consuming: batches and single pops. */
        if (sw__alert_queue_wait(sh->q, 5) == 0) {
            if (c->index == 0) {
                sw_alert *a;
                while (sw__alert_queue_pop_one(sh->q, &a)) {
                    consume(sh, a, &last, &any);
                    sw_alert_free(a);
                }
            } else {
                sw_alert_batch *b;
                if (sw__alert_queue_pop_all(sh->q, &b) != 0)
                    abort();
                for (size_t i = 0; i < b->count; i++)
                    consume(sh, b->alerts[i], &last, &any);
                pthread_mutex_lock(&sh->lock);
                sh->dropped += b->dropped;
                pthread_mutex_unlock(&sh->lock);
                sw_alert_batch_free(b);
            }
        }
        pthread_mutex_lock(&sh->lock);
        bool done = sh->producer_done && sh->consumed + sh->dropped >= PRODUCED;
        bool producer_done = sh->producer_done;
        pthread_mutex_unlock(&sh->lock);
        if (done)
            break;
        /* Drops since the last batch are only reported by a batch pop, so
         * once production ends one batch collects them. */
        if (producer_done && sw__alert_queue_size(sh->q) == 0) {
            sw_alert_batch *b;
            if (sw__alert_queue_pop_all(sh->q, &b) != 0)
                abort();
            pthread_mutex_lock(&sh->lock);
            for (size_t i = 0; i < b->count; i++)
                sh->errors++; /* nothing should be left at this point */
            sh->dropped += b->dropped;
            pthread_mutex_unlock(&sh->lock);
            sw_alert_batch_free(b);
        }
    }
    return NULL;
}

static void run_threads(size_t limit, uint64_t *dropped_out)
{
    static mt_shared sh;
    memset(&sh, 0, sizeof sh);
    sh.q = new_queue(limit, SW_ALERT_CAT_STATS | SW_ALERT_CAT_PROGRESS);
    assert_int_equal(pthread_mutex_init(&sh.lock, NULL), 0);
    pthread_t producer, consumers[CONSUMERS];
    mt_consumer args[CONSUMERS];
    for (int i = 0; i < CONSUMERS; i++) {
        args[i] = (mt_consumer){&sh, i};
        assert_int_equal(pthread_create(&consumers[i], NULL, consumer_main, &args[i]), 0);
    }
    assert_int_equal(pthread_create(&producer, NULL, producer_main, &sh), 0);
    assert_int_equal(pthread_join(producer, NULL), 0);
    for (int i = 0; i < CONSUMERS; i++)
        assert_int_equal(pthread_join(consumers[i], NULL), 0);

    assert_int_equal(sh.errors, 0);
    assert_int_equal(sh.consumed + sh.dropped, PRODUCED);
    assert_int_equal(sh.dropped, sw__alert_queue_dropped(sh.q));
    assert_int_equal(sw__alert_queue_size(sh.q), 0);
    *dropped_out = sh.dropped;
    pthread_mutex_destroy(&sh.lock);
    sw__alert_queue_free(sh.q);
}

static void test_threads_no_drops(void **state)
{
    (void)state;
    uint64_t dropped = 1;
    run_threads(PRODUCED, &dropped);
    assert_int_equal(dropped, 0);
}

static void test_threads_with_drops(void **state)
{
    (void)state;
    /* A tiny queue: drops are likely but not certain; the accounting must
     * add up either way. */
    uint64_t dropped = 0;
    run_threads(4, &dropped);
    print_message("  (%llu of %d dropped)\n", (unsigned long long)dropped, PRODUCED);
}

/* ---- dispatch ---- */

typedef struct dispatch_log {
    uint64_t ids[16];
    int count;
    pthread_t thread;
} dispatch_log;

static void record_dispatch(void *user, sw_alert *a)
{
    dispatch_log *log = user;
    if (log->count < 16)
        log->ids[log->count] = a->torrent_id;
    log->count++;
    log->thread = pthread_self();
    sw_alert_free(a); /* the callback owns it */
}

static void test_dispatch_callback(void **state)
{
    (void)state;
    sw_alert_queue *q = new_queue(2, SW_ALERT_CAT_STATUS);
    assert_true(sw__alert_queue_post(q, make(SW_ALERT_TORRENT_PAUSED, 1)));
    assert_true(sw__alert_queue_post(q, make(SW_ALERT_TORRENT_RESUMED, 2)));

    /* Setting the callback delivers what was queued, in order. */
    dispatch_log log = {.count = 0};
    sw__alert_queue_set_dispatch(q, record_dispatch, &log);
    assert_int_equal(log.count, 2);
    assert_int_equal(log.ids[0], 1);
    assert_int_equal(log.ids[1], 2);
    assert_int_equal(sw__alert_queue_size(q), 0);

    /* Later posts go to the callback on the posting thread; the mask still
     * applies, the size limit does not (nothing is queued). */
    for (uint64_t i = 3; i <= 6; i++)
        assert_true(sw__alert_queue_post(q, make(SW_ALERT_TORRENT_CHECKED, i)));
    assert_false(sw__alert_queue_post(q, make(SW_ALERT_PEER_BAN, 7)));
    assert_true(sw__alert_queue_post(q, make(SW_ALERT_SAVE_RESUME_DATA, 8)));
    assert_int_equal(log.count, 7);
    assert_int_equal(log.ids[6], 8);
    assert_true(pthread_equal(log.thread, pthread_self()));
    assert_int_equal(sw__alert_queue_size(q), 0);
    assert_int_equal(sw__alert_queue_dropped(q), 0);
    assert_int_equal(sw__alert_queue_wait(q, 1), SW_ERR_TIMEOUT);

    /* Clearing it queues again. */
    sw__alert_queue_set_dispatch(q, NULL, NULL);
    assert_true(sw__alert_queue_post(q, make(SW_ALERT_TORRENT_PAUSED, 9)));
    assert_int_equal(log.count, 7);
    assert_int_equal(sw__alert_queue_size(q), 1);
    sw__alert_queue_free(q);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_type_table),
        cmocka_unit_test(test_categories),
        cmocka_unit_test(test_build_alert),
        cmocka_unit_test(test_mask_filtering),
        cmocka_unit_test(test_overflow_counts_drops),
        cmocka_unit_test(test_resume_alerts_always_posted),
        cmocka_unit_test(test_pop_one_and_free_with_pending),
        cmocka_unit_test(test_wait_timeout),
        cmocka_unit_test(test_wait_wakes_on_post),
        cmocka_unit_test(test_threads_no_drops),
        cmocka_unit_test(test_threads_with_drops),
        cmocka_unit_test(test_dispatch_callback),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
