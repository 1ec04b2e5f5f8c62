/* uTP streams (core/net/stream_utp.c): the sw_stream contract over core/utp
 * sockets, between two uTP nodes on 127.0.0.1 in one loop: connect and
 * accept, ordered write callbacks, back-pressure through read_stop (the
 * writer's queue grows while the reader is stopped), EOF after the remote
 * closes, refused connects, close cancelling queued writes before the close
 * callback, and the NULL-context refusal. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "net/net.h"
#include "utp_fixture.h"

typedef struct side {
    sw_stream *s;
    uint8_t *expect;
    size_t expect_len;
    size_t received;
    bool mismatch;
    bool eof;
    int read_error;
    bool closed;
    int connect_status;
    int connect_calls;
    int writes_done;
    int write_order_errors;
    int last_write_status;
    int cancelled;
    bool close_after_write_cb; /* a write callback came after the close callback */
    char rbuf[65536];
} side;

typedef struct env {
    uv_loop_t loop;
    utp_node a, b;
    side ca, cb; /* a's outgoing stream, b's accepted one */
    int accepted;
} env;

static void on_closed(sw_stream *s)
{
    side *d = s->data;
    d->closed = true;
    d->s = NULL;
}

static void on_alloc(sw_stream *s, size_t suggested, uv_buf_t *buf)
{
    (void)suggested;
    side *d = s->data;
    *buf = uv_buf_init(d->rbuf, sizeof d->rbuf);
}

static void on_read(sw_stream *s, ssize_t nread, const uv_buf_t *buf)
{
    side *d = s->data;
    if (nread > 0) {
        if (d->received + (size_t)nread > d->expect_len ||
            memcmp(d->expect + d->received, buf->base, (size_t)nread) != 0)
            d->mismatch = true;
        d->received += (size_t)nread;
        return;
    }
    if (nread == UV_EOF) {
        d->eof = true;
        sw__stream_close(s, on_closed);
        return;
    }
    if (nread < 0) {
        d->read_error = (int)nread;
        sw__stream_close(s, on_closed);
    }
}

static void on_write(sw_stream *s, int status, void *user)
{
    side *d = s->data;
    int index = (int)(intptr_t)user;
    if (d->closed)
        d->close_after_write_cb = true;
    if (index != d->writes_done)
        d->write_order_errors++;
    d->writes_done++;
    d->last_write_status = status;
    if (status == UV_ECANCELED)
        d->cancelled++;
}

static void on_accept(utp_node *n, sw_utp_socket *sock)
{
    env *e = n->user;
    sw_stream *s;
    assert_int_equal(sw__stream_utp_wrap(sock, NULL, &s), 0);
    e->accepted++;
    e->cb.s = s;
    s->data = &e->cb;
    s->alloc_cb = on_alloc;
    s->read_cb = on_read;
    assert_int_equal(sw__stream_read_start(s), 0);
}

static void on_connect(sw_stream *s, int status)
{
    side *d = s->data;
    d->connect_calls++;
    d->connect_status = status;
}

static void env_init(env *e, bool b_accepts)
{
    memset(e, 0, sizeof *e);
    assert_int_equal(uv_loop_init(&e->loop), 0);
    assert_int_equal(utp_node_init(&e->a, &e->loop, NULL, NULL), 0);
    assert_int_equal(utp_node_init(&e->b, &e->loop, NULL, b_accepts ? on_accept : NULL), 0);
    e->a.user = e;
    e->b.user = e;
}

static bool nodes_closed(void *arg)
{
    env *e = arg;
    return utp_node_closed(&e->a) && utp_node_closed(&e->b);
}

static void env_done(env *e)
{
    utp_node_close(&e->a);
    utp_node_close(&e->b);
    assert_true(utp_run_until(&e->loop, nodes_closed, e, 5000));
    assert_true(utp_loop_done(&e->loop));
}

static bool connected(void *arg)
{
    env *e = arg;
    return e->ca.connect_calls > 0 && e->accepted > 0;
}

static void connect_a_to_b(env *e)
{
    sw_stream *s;
    assert_int_equal(sw__stream_utp_connect(e->a.ctx, &e->b.ep, NULL, on_connect, &e->ca, &s), 0);
    e->ca.s = s;
    assert_int_equal(s->type, SW_SOCKET_UTP);
    assert_true(s->outgoing);
    assert_true(sw__endpoint_equal(&s->remote, &e->b.ep));
    assert_true(utp_run_until(&e->loop, connected, e, 5000));
    assert_int_equal(e->ca.connect_status, 0);
    assert_int_equal(e->cb.s->type, SW_SOCKET_UTP);
    assert_false(e->cb.s->outgoing);
}

static bool got_all(void *arg)
{
    env *e = arg;
    return e->cb.received == e->cb.expect_len;
}

static bool both_closed(void *arg)
{
    env *e = arg;
    return e->ca.closed && e->cb.closed;
}

static bool writes_done3(void *arg)
{
    env *e = arg;
    return e->ca.writes_done == 3;
}

static void test_transfer_backpressure_and_eof(void **state)
{
    (void)state;
    env e;
    env_init(&e, true);
    size_t len = 6u << 20;
    uint8_t *data = malloc(len);
    assert_non_null(data);
    utp_fill_pattern(data, len, 0, 9);
    e.cb.expect = data;
    e.cb.expect_len = len;
    connect_a_to_b(&e);

    /* The reader stops: the writer's queue must back up instead of the
     * receiver buffering without bound. */
    assert_int_equal(sw__stream_read_stop(e.cb.s), 0);
    size_t third = len / 3;
    for (int i = 0; i < 3; i++) {
        uv_buf_t b = uv_buf_init((char *)data + (size_t)i * third,
                                 (unsigned)(i == 2 ? len - 2 * third : third));
        assert_int_equal(sw__stream_write(e.ca.s, &b, 1, on_write, (void *)(intptr_t)i), 0);
    }
    utp_run_for(&e.loop, 300);
    size_t stalled = e.cb.received;
    assert_true(stalled < len);
    assert_true(sw__stream_write_queue_size(e.ca.s) > 0);
    assert_true(e.ca.writes_done < 3);
    utp_run_for(&e.loop, 100);
    assert_int_equal(e.cb.received, stalled); /* nothing delivered while stopped */

    assert_int_equal(sw__stream_read_start(e.cb.s), 0);
    assert_true(utp_run_until(&e.loop, got_all, &e, 20000));
    assert_true(utp_run_until(&e.loop, writes_done3, &e, 5000));
    assert_false(e.cb.mismatch);
    assert_int_equal(e.ca.write_order_errors, 0);
    assert_int_equal(e.ca.last_write_status, 0);
    assert_int_equal(sw__stream_write_queue_size(e.ca.s), 0);

    /* a closes: b reads EOF (and closes in its read callback). */
    sw__stream_close(e.ca.s, on_closed);
    sw__stream_close(e.ca.s, on_closed); /* idempotent */
    assert_true(utp_run_until(&e.loop, both_closed, &e, 10000));
    assert_true(e.cb.eof);
    assert_int_equal(e.cb.read_error, 0);
    env_done(&e);
    free(data);
}

static bool connect_answered(void *arg)
{
    env *e = arg;
    return e->ca.connect_calls > 0;
}

static void test_refused_connect(void **state)
{
    (void)state;
    env e;
    env_init(&e, false);
    sw_stream *s;
    assert_int_equal(sw__stream_utp_connect(e.a.ctx, &e.b.ep, NULL, on_connect, &e.ca, &s), 0);
    e.ca.s = s;
    assert_true(utp_run_until(&e.loop, connect_answered, &e, 10000));
    assert_true(e.ca.connect_status < 0);
    assert_int_equal(e.ca.connect_calls, 1);
    sw__stream_close(s, on_closed);
    assert_true(utp_run_until(&e.loop, connect_answered, &e, 100));
    utp_run_for(&e.loop, 50);
    assert_true(e.ca.closed);
    env_done(&e);
}

static bool a_closed(void *arg)
{
    env *e = arg;
    return e->ca.closed;
}

static void test_close_cancels_queued_writes(void **state)
{
    (void)state;
    env e;
    env_init(&e, true);
    size_t len = 8u << 20;
    uint8_t *data = calloc(1, len);
    assert_non_null(data);
    e.cb.expect = data;
    e.cb.expect_len = len;
    connect_a_to_b(&e);
    assert_int_equal(sw__stream_read_stop(e.cb.s), 0);
    uv_buf_t b = uv_buf_init((char *)data, (unsigned)len);
    assert_int_equal(sw__stream_write(e.ca.s, &b, 1, on_write, (void *)(intptr_t)0), 0);
    utp_run_for(&e.loop, 50);
    assert_int_equal(e.ca.writes_done, 0); /* far more than the windows hold */
    sw__stream_close(e.ca.s, on_closed);
    /* A closing stream refuses new writes. */
    assert_int_equal(sw__stream_write(e.ca.s, &b, 1, on_write, (void *)(intptr_t)1),
                     SW_ERR_ABORTED);
    assert_true(utp_run_until(&e.loop, a_closed, &e, 5000));
    assert_int_equal(e.ca.writes_done, 1);
    assert_int_equal(e.ca.cancelled, 1);
    assert_false(e.ca.close_after_write_cb);
    sw__stream_close(e.cb.s, on_closed);
    assert_true(utp_run_until(&e.loop, both_closed, &e, 10000));
    env_done(&e);
    free(data);
}

static void test_no_context(void **state)
{
    (void)state;
    sw_endpoint ep;
    assert_int_equal(sw__endpoint_parse(&ep, "127.0.0.1:9"), 0);
    sw_stream *s = NULL;
    assert_int_equal(sw__stream_utp_connect(NULL, &ep, NULL, on_connect, NULL, &s),
                     SW_ERR_NOT_SUPPORTED);
    assert_null(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_transfer_backpressure_and_eof),
        cmocka_unit_test(test_refused_connect),
        cmocka_unit_test(test_close_cancels_queued_writes),
        cmocka_unit_test(test_no_context),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
