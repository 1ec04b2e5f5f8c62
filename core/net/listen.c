/* Listen sockets: one TCP listener per bound address. Accepted sockets
 * become TCP streams handed to the owner. */
#include <stdlib.h>
#include <string.h>

#include "net_internal.h"

struct sw_listener {
    uv_tcp_t tcp;
    sw_endpoint ep;
    sw_listener_accept_cb accept_cb;
    sw_listener_error_cb error_cb;
    void *user;
    void (*close_cb)(void *user);
    void *close_user;
};

static void on_connection(uv_stream_t *server, int status)
{
    sw_listener *l = server->data;
    if (status < 0) {
        if (l->error_cb)
            l->error_cb(l->user, status);
        return;
    }
    sw_tcp_stream *ts;
    int rc = sw__tcp_stream_new(server->loop, &ts);
    if (rc < 0) {
        if (l->error_cb)
            l->error_cb(l->user, rc);
        return;
    }
    rc = uv_accept(server, (uv_stream_t *)&ts->tcp);
    if (rc < 0) {
        sw__stream_close(&ts->base, NULL);
        if (l->error_cb)
            l->error_cb(l->user, rc);
        return;
    }
    sw__tcp_stream_fill_endpoints(ts);
    ts->base.outgoing = false;
    l->accept_cb(l->user, &ts->base);
}

static void on_close(uv_handle_t *h)
{
    sw_listener *l = h->data;
    if (l->close_cb)
        l->close_cb(l->close_user);
    free(l);
}

int sw__listener_new(uv_loop_t *loop, const sw_endpoint *ep, sw_listener_accept_cb accept_cb,
                     sw_listener_error_cb error_cb, void *user, sw_listener **l_out,
                     const char **op_out)
{
    sw_listener *l = calloc(1, sizeof *l);
    if (!l)
        return SW_ERR_NOMEM;
    const char *op = "socket";
    int rc = uv_tcp_init(loop, &l->tcp);
    if (rc < 0) {
        free(l);
        if (op_out)
            *op_out = op;
        return rc;
    }
    l->tcp.data = l;
    l->accept_cb = accept_cb;
    l->error_cb = error_cb;
    l->user = user;
    struct sockaddr_storage ss;
    sw__endpoint_to_sockaddr(ep, &ss);
    op = "bind";
    rc = uv_tcp_bind(&l->tcp, (struct sockaddr *)&ss, ep->family == AF_INET6 ? UV_TCP_IPV6ONLY : 0);
    if (rc == 0) {
        op = "listen";
        rc = uv_listen((uv_stream_t *)&l->tcp, 128, on_connection);
    }
    if (rc == 0) {
        int len = sizeof ss;
        op = "getsockname";
        rc = uv_tcp_getsockname(&l->tcp, (struct sockaddr *)&ss, &len);
        if (rc == 0)
            rc = sw__endpoint_from_sockaddr(&l->ep, (struct sockaddr *)&ss);
    }
    if (rc < 0) {
        if (op_out)
            *op_out = op;
        uv_close((uv_handle_t *)&l->tcp, on_close);
        return rc;
    }
    *l_out = l;
    return 0;
}

const sw_endpoint *sw__listener_endpoint(const sw_listener *l)
{
    return &l->ep;
}

void sw__listener_close(sw_listener *l, void (*cb)(void *user), void *user)
{
    l->close_cb = cb;
    l->close_user = user;
    uv_close((uv_handle_t *)&l->tcp, on_close);
}
