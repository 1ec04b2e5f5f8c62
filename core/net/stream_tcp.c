/* TCP streams over libuv: outgoing connects and accepted sockets. */
#include <stdlib.h>
#include <string.h>

#include "net_internal.h"

typedef struct tcp_write_req {
    uv_write_t req;
    sw_stream_write_cb cb;
    void *user;
} tcp_write_req;

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    sw_tcp_stream *ts = h->data;
    ts->base.alloc_cb(&ts->base, suggested, buf);
}

static void on_read(uv_stream_t *st, ssize_t nread, const uv_buf_t *buf)
{
    sw_tcp_stream *ts = st->data;
    if (ts->base.closing)
        return;
    ts->base.read_cb(&ts->base, nread, buf);
}

static int tcp_read_start(sw_stream *s)
{
    sw_tcp_stream *ts = (sw_tcp_stream *)s;
    return uv_read_start((uv_stream_t *)&ts->tcp, on_alloc, on_read);
}

static int tcp_read_stop(sw_stream *s)
{
    sw_tcp_stream *ts = (sw_tcp_stream *)s;
    return uv_read_stop((uv_stream_t *)&ts->tcp);
}

static void on_write(uv_write_t *req, int status)
{
    tcp_write_req *w = (tcp_write_req *)req;
    sw_tcp_stream *ts = req->handle->data;
    w->cb(&ts->base, status, w->user);
    free(w);
}

static int tcp_write(sw_stream *s, const uv_buf_t *bufs, unsigned nbufs, sw_stream_write_cb cb,
                     void *user)
{
    sw_tcp_stream *ts = (sw_tcp_stream *)s;
    tcp_write_req *w = malloc(sizeof *w);
    if (!w)
        return SW_ERR_NOMEM;
    w->cb = cb;
    w->user = user;
    int rc = uv_write(&w->req, (uv_stream_t *)&ts->tcp, bufs, nbufs, on_write);
    if (rc < 0)
        free(w);
    return rc;
}

static void on_close(uv_handle_t *h)
{
    sw_tcp_stream *ts = h->data;
    if (ts->close_cb)
        ts->close_cb(&ts->base);
    free(ts);
}

static void tcp_close(sw_stream *s, sw_stream_close_cb cb)
{
    sw_tcp_stream *ts = (sw_tcp_stream *)s;
    ts->close_cb = cb;
    uv_close((uv_handle_t *)&ts->tcp, on_close);
}

static size_t tcp_write_queue_size(const sw_stream *s)
{
    const sw_tcp_stream *ts = (const sw_tcp_stream *)s;
    return ts->tcp.write_queue_size;
}

static const sw_stream_ops tcp_ops = {
    .read_start = tcp_read_start,
    .read_stop = tcp_read_stop,
    .write = tcp_write,
    .close = tcp_close,
    .write_queue_size = tcp_write_queue_size,
};

int sw__tcp_stream_new(uv_loop_t *loop, sw_tcp_stream **ts_out)
{
    sw_tcp_stream *ts = calloc(1, sizeof *ts);
    if (!ts)
        return SW_ERR_NOMEM;
    int rc = uv_tcp_init(loop, &ts->tcp);
    if (rc < 0) {
        free(ts);
        return rc;
    }
    ts->tcp.data = ts;
    ts->base.ops = &tcp_ops;
    ts->base.type = SW_SOCKET_TCP;
    *ts_out = ts;
    return 0;
}

void sw__tcp_stream_free_raw(sw_tcp_stream *ts)
{
    free(ts);
}

void sw__tcp_stream_fill_endpoints(sw_tcp_stream *ts)
{
    struct sockaddr_storage ss;
    int len = sizeof ss;
    if (uv_tcp_getpeername(&ts->tcp, (struct sockaddr *)&ss, &len) == 0)
        sw__endpoint_from_sockaddr(&ts->base.remote, (struct sockaddr *)&ss);
    len = sizeof ss;
    if (uv_tcp_getsockname(&ts->tcp, (struct sockaddr *)&ss, &len) == 0)
        sw__endpoint_from_sockaddr(&ts->base.local, (struct sockaddr *)&ss);
    /* Peer messages are batched before they are written; Nagle would only
     * delay the small ones (requests, haves). */
    uv_tcp_nodelay(&ts->tcp, 1);
}

static void on_connect(uv_connect_t *req, int status)
{
    sw_tcp_stream *ts = req->data;
    if (ts->base.closing)
        return; /* the owner gave up; the close callback follows */
    if (status == 0)
        sw__tcp_stream_fill_endpoints(ts);
    ts->connect_cb(&ts->base, status);
}

int sw__stream_tcp_connect(uv_loop_t *loop, const sw_endpoint *to, const sw_endpoint *bind_to,
                           sw_stream_connect_cb cb, void *data, sw_stream **s_out)
{
    sw_tcp_stream *ts;
    int rc = sw__tcp_stream_new(loop, &ts);
    if (rc < 0)
        return rc;
    ts->base.data = data;
    ts->base.remote = *to;
    ts->base.outgoing = true;
    ts->connect_cb = cb;
    ts->connect_req.data = ts;
    struct sockaddr_storage ss;
    if (bind_to) {
        sw__endpoint_to_sockaddr(bind_to, &ss);
        rc = uv_tcp_bind(&ts->tcp, (struct sockaddr *)&ss, 0);
        if (rc < 0)
            goto fail;
    }
    sw__endpoint_to_sockaddr(to, &ss);
    rc = uv_tcp_connect(&ts->connect_req, &ts->tcp, (struct sockaddr *)&ss, on_connect);
    if (rc < 0)
        goto fail;
    *s_out = &ts->base;
    return 0;
fail:
    /* The handle was initialised, so it must be closed; nobody is told. */
    ts->base.closing = true;
    ts->close_cb = NULL;
    uv_close((uv_handle_t *)&ts->tcp, on_close);
    return rc;
}
