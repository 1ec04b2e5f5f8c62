/* core/tracker against a real opentracker on 127.0.0.1, over HTTP and over
 * UDP: two fake peers of one torrent (different ports) announce through
 * their tracker managers on a libuv loop and find each other in the compact
 * peer lists; scrape counts follow; a completed event is counted; a stopped
 * event removes a peer from what the other is told; a torrent the tracker
 * does not know gets its refusal as a tracker error. opentracker is started
 * by the group setup and killed by the group teardown (and by the kernel if
 * this process dies first). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "tracker/tracker.h"
#include "tracker_fixture.h"

#define WAIT_MS 15000

static const uint8_t hash_http[20] = "cswarm-http-swarm-01";
static const uint8_t hash_udp[20] = "cswarm-udp--swarm-02";
static const uint8_t hash_unknown[20] = "cswarm-not-listed-03";

static tfx_opentracker ot;

static int group_setup(void **state)
{
    (void)state;
    if (!tfx_opentracker_available()) {
        fprintf(stderr, "test_tracker_live: opentracker is not installed; skipping\n");
        return 0;
    }
    uint8_t hashes[2][20];
    memcpy(hashes[0], hash_http, 20);
    memcpy(hashes[1], hash_udp, 20);
    return tfx_opentracker_start(&ot, (const uint8_t(*)[20])hashes, 2);
}

static int group_teardown(void **state)
{
    (void)state;
    tfx_opentracker_stop(&ot);
    return 0;
}

/* A loop, a settings object and a client with its own UDP sockets. */
typedef struct env {
    uv_loop_t loop;
    sw_settings *settings;
    sw_tracker_client *client;
    tfx_peer a, b;
    bool client_closed;
} env;

static void env_open(env *e)
{
    memset(e, 0, sizeof *e);
    assert_int_equal(uv_loop_init(&e->loop), 0);
    assert_int_equal(sw_settings_new(&e->settings), 0);
    sw_tracker_client_config cfg = {.loop = &e->loop, .settings = e->settings};
    assert_int_equal(sw__tracker_client_new(&cfg, &e->client), 0);
}

static void on_client_closed(void *user)
{
    ((env *)user)->client_closed = true;
}

static void env_close(env *e)
{
    if (e->a.m)
        sw__tracker_manager_close(e->a.m, NULL, NULL);
    if (e->b.m)
        sw__tracker_manager_close(e->b.m, NULL, NULL);
    sw__tracker_client_close(e->client, on_client_closed, e);
    assert_int_equal(tfx_close_loop(&e->loop, 5000), 0);
    assert_true(e->client_closed);
    sw_settings_free(e->settings);
}

static bool replies_at_least(void *arg)
{
    tfx_peer *p = ((tfx_peer **)arg)[0];
    intptr_t n = (intptr_t)((tfx_peer **)arg)[1];
    return p->replies + p->errors >= n;
}

static void wait_replies(env *e, tfx_peer *p, int n)
{
    void *arg[2] = {p, (void *)(intptr_t)n};
    if (!tfx_run_until(&e->loop, replies_at_least, arg, WAIT_MS))
        fail_msg("no tracker reply within %d ms (replies %d, errors %d: %s)", WAIT_MS, p->replies,
                 p->errors, p->last_message);
    if (p->errors)
        fail_msg("tracker error: %s (%s)", p->last_message, sw_err_name(p->last_error));
}

static bool scrapes_at_least(void *arg)
{
    tfx_peer *p = ((tfx_peer **)arg)[0];
    intptr_t n = (intptr_t)((tfx_peer **)arg)[1];
    return p->scrapes + p->scrape_failures >= n;
}

static void scrape(env *e, tfx_peer *p, int64_t complete, int64_t incomplete, int64_t downloaded)
{
    int before = p->scrapes;
    assert_int_equal(sw__tracker_manager_scrape(p->m, -1), 0);
    void *arg[2] = {p, (void *)(intptr_t)(before + 1)};
    assert_true(tfx_run_until(&e->loop, scrapes_at_least, arg, WAIT_MS));
    if (p->scrape_failures)
        fail_msg("scrape failed: %s", p->last_message);
    assert_int_equal(p->complete, complete);
    assert_int_equal(p->incomplete, incomplete);
    if (downloaded >= 0)
        assert_int_equal(p->downloaded, downloaded);
}

static bool stopped(void *arg)
{
    return ((tfx_peer *)arg)->stops_done > 0;
}

static void on_stop_done(void *user)
{
    ((tfx_peer *)user)->stops_done++;
}

static void swarm_flow(const char *scheme, const uint8_t hash[20])
{
    if (!tfx_opentracker_available())
        skip();
    env e;
    env_open(&e);
    char url[128];
    snprintf(url, sizeof url, "%s://127.0.0.1:%u/announce", scheme, (unsigned)ot.port);

    /* a is downloading (port 41001), b seeds (port 41002). */
    assert_int_equal(tfx_peer_init(&e.a, e.client, hash, 41001, 5000, 1), 0);
    assert_int_equal(tfx_peer_init(&e.b, e.client, hash, 41002, 0, 2), 0);
    assert_int_equal(sw__tracker_manager_add_tracker(e.a.m, url, 0, SW_TRACKER_SOURCE_TORRENT), 0);
    assert_int_equal(sw__tracker_manager_add_tracker(e.b.m, url, 0, SW_TRACKER_SOURCE_TORRENT), 0);

    sw__tracker_manager_start(e.a.m);
    wait_replies(&e, &e.a, 1);
    assert_int_equal(e.a.announces, 1);
    assert_int_equal(e.a.last_event, SW_TRACKER_EVENT_STARTED);
    assert_int_equal(e.a.last_reply_event, SW_TRACKER_EVENT_STARTED);
    assert_false(tfx_peer_sees(&e.a, 41002));

    sw__tracker_manager_start(e.b.m);
    wait_replies(&e, &e.b, 1);
    assert_true(tfx_peer_sees(&e.b, 41001));
    assert_int_equal(e.b.complete, 1);
    assert_int_equal(e.b.incomplete, 1);

    /* The tracker state the manager keeps. */
    const sw_announce_list *l = sw__tracker_manager_list(e.b.m);
    assert_int_equal(l->n, 1);
    assert_true(l->v[0].verified);
    assert_true(l->v[0].start_sent);
    assert_int_equal(l->v[0].fails, 0);
    assert_true(l->v[0].interval >= 300);
    assert_true(l->v[0].next_announce > (int64_t)uv_now(&e.loop));

    /* a announces again (forced: its interval is long) and now sees b. */
    sw__tracker_manager_force_reannounce(e.a.m, -1);
    wait_replies(&e, &e.a, 2);
    assert_int_equal(e.a.last_event, SW_TRACKER_EVENT_NONE);
    assert_true(tfx_peer_sees(&e.a, 41002));

    scrape(&e, &e.a, 1, 1, -1);

    /* a finishes: "completed" is counted as a download. */
    e.a.stats.left = 0;
    e.a.stats.downloaded = 5000;
    sw__tracker_manager_completed(e.a.m);
    wait_replies(&e, &e.a, 3);
    assert_int_equal(e.a.last_event, SW_TRACKER_EVENT_COMPLETED);
    scrape(&e, &e.b, 2, 0, 1);

    /* a stops: the tracker forgets it. */
    assert_int_equal(sw__tracker_manager_stop(e.a.m, on_stop_done, &e.a), 0);
    assert_true(tfx_run_until(&e.loop, stopped, &e.a, WAIT_MS));
    assert_int_equal(e.a.last_event, SW_TRACKER_EVENT_STOPPED);
    assert_int_equal(e.a.errors, 0);
    assert_false(sw__tracker_manager_list(e.a.m)->v[0].start_sent);
    sw__tracker_manager_force_reannounce(e.b.m, -1);
    wait_replies(&e, &e.b, 2);
    assert_false(tfx_peer_sees(&e.b, 41001));
    scrape(&e, &e.b, 1, 0, -1);

    uint64_t sent, received;
    sw__tracker_client_counters(e.client, &sent, &received);
    assert_true(sent > 0 && received > 0);
    env_close(&e);
}

static void test_http_swarm(void **state)
{
    (void)state;
    swarm_flow("http", hash_http);
}

static void test_udp_swarm(void **state)
{
    (void)state;
    swarm_flow("udp", hash_udp);
}

static bool errored(void *arg)
{
    return ((tfx_peer *)arg)->errors > 0;
}

/* The tracker refuses a torrent it does not list: a tracker error with its
 * text, over both protocols. */
static void test_refused_torrent(void **state)
{
    (void)state;
    if (!tfx_opentracker_available())
        skip();
    env e;
    env_open(&e);
    char url[128];
    snprintf(url, sizeof url, "http://127.0.0.1:%u/announce", (unsigned)ot.port);
    assert_int_equal(tfx_peer_init(&e.a, e.client, hash_unknown, 41003, 10, 3), 0);
    assert_int_equal(sw__tracker_manager_add_tracker(e.a.m, url, 0, SW_TRACKER_SOURCE_CLIENT), 0);
    sw__tracker_manager_start(e.a.m);
    assert_true(tfx_run_until(&e.loop, errored, &e.a, WAIT_MS));
    assert_int_equal(e.a.last_error, SW_ERR_TRACKER_FAILURE);
    assert_int_equal(e.a.last_status, 200);
    assert_int_equal(e.a.times_in_row, 1);
    assert_non_null(strstr(e.a.last_message, "not authorized"));
    const sw_announce_list *l = sw__tracker_manager_list(e.a.m);
    assert_int_equal(l->v[0].fails, 1);
    assert_int_equal(l->v[0].last_error, SW_ERR_TRACKER_FAILURE);
    assert_non_null(strstr(l->v[0].last_message, "not authorized"));
    /* Backing off: the next try is later. */
    assert_true(l->v[0].next_announce >= (int64_t)uv_now(&e.loop) + 16000);

    snprintf(url, sizeof url, "udp://127.0.0.1:%u/announce", (unsigned)ot.port);
    assert_int_equal(tfx_peer_init(&e.b, e.client, hash_unknown, 41004, 10, 4), 0);
    assert_int_equal(sw__tracker_manager_add_tracker(e.b.m, url, 0, SW_TRACKER_SOURCE_CLIENT), 0);
    sw__tracker_manager_start(e.b.m);
    assert_true(tfx_run_until(&e.loop, errored, &e.b, WAIT_MS));
    /* opentracker refuses over UDP with a bare 8-byte announce header. */
    assert_int_equal(e.b.last_error, SW_ERR_TRACKER_BAD_RESPONSE);
    assert_int_equal(e.b.last_status, 0);
    assert_non_null(strstr(e.b.last_message, "shorter than 20 bytes"));
    env_close(&e);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_http_swarm),
        cmocka_unit_test(test_udp_swarm),
        cmocka_unit_test(test_refused_torrent),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
