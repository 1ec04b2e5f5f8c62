/* uTP streams: an sw_stream over a core/utp socket, for outgoing connects
 * and for connections the session's uTP context accepted. The uTP socket
 * already behaves like a libuv stream (ordered writes by reference,
 * back-pressure through read_stop, an asynchronous close that cancels
 * queued writes first), so this file only forwards and re-labels. */
#include <stdlib.h>
#include <string.h>

#include "net.h"
#include "utp/utp.h"

typedef struct sw_utp_stream {
    sw_stream base;
    sw_utp_socket *sock;
    sw_stream_connect_cb connect_cb;
    sw_stream_close_cb close_cb;
} sw_utp_stream;

typedef struct utp_write_req {
    sw_stream_write_cb cb;
    void *user;
} utp_write_req;

static void on_alloc(sw_utp_socket *sock, size_t suggested, uv_buf_t *buf)
{
    sw_utp_stream *us = sw__utp_socket_data(sock);
    us->base.alloc_cb(&us->base, suggested, buf);
}

static void on_read(sw_utp_socket *sock, ssize_t nread, const uv_buf_t *buf)
{
    sw_utp_stream *us = sw__utp_socket_data(sock);
    if (us->base.closing)
        return;
    us->base.read_cb(&us->base, nread, buf);
}

static int utp_read_start(sw_stream *s)
{
    sw_utp_stream *us = (sw_utp_stream *)s;
    return sw__utp_read_start(us->sock, on_alloc, on_read);
}

static int utp_read_stop(sw_stream *s)
{
    sw_utp_stream *us = (sw_utp_stream *)s;
    return sw__utp_read_stop(us->sock);
}

static void on_write(sw_utp_socket *sock, int status, void *user)
{
    sw_utp_stream *us = sw__utp_socket_data(sock);
    utp_write_req w = *(utp_write_req *)user;
    free(user);
    w.cb(&us->base, status, w.user);
}

static int utp_write(sw_stream *s, const uv_buf_t *bufs, unsigned nbufs, sw_stream_write_cb cb,
                     void *user)
{
    sw_utp_stream *us = (sw_utp_stream *)s;
    utp_write_req *w = malloc(sizeof *w);
    if (!w)
        return SW_ERR_NOMEM;
    w->cb = cb;
    w->user = user;
    int rc = sw__utp_write(us->sock, bufs, nbufs, on_write, w);
    if (rc < 0)
        free(w);
    return rc;
}

static void on_closed(sw_utp_socket *sock)
{
    sw_utp_stream *us = sw__utp_socket_data(sock);
    if (us->close_cb)
        us->close_cb(&us->base);
    free(us);
}

static void utp_close(sw_stream *s, sw_stream_close_cb cb)
{
    sw_utp_stream *us = (sw_utp_stream *)s;
    us->close_cb = cb;
    /* A connection refused before a byte moved (a filtered or unwanted
     * peer) is reset, as TCP resets an accepted socket closed with unread
     * data: the remote learns at once instead of timing out. */
    sw_utp_socket_info info;
    sw__utp_socket_info(us->sock, &info);
    if (!us->base.outgoing && info.state == SW_UTP_STATE_CONNECTED && info.bytes_sent == 0 &&
        info.bytes_received == 0)
        sw__utp_abort(us->sock, on_closed);
    else
        sw__utp_close(us->sock, on_closed);
}

static size_t utp_write_queue_size(const sw_stream *s)
{
    const sw_utp_stream *us = (const sw_utp_stream *)s;
    return sw__utp_write_queue_size(us->sock);
}

static const sw_stream_ops utp_ops = {
    .read_start = utp_read_start,
    .read_stop = utp_read_stop,
    .write = utp_write,
    .close = utp_close,
    .write_queue_size = utp_write_queue_size,
};

static sw_utp_stream *stream_new(sw_utp_socket *sock, const sw_endpoint *local)
{
    sw_utp_stream *us = calloc(1, sizeof *us);
    if (!us)
        return NULL;
    us->sock = sock;
    us->base.ops = &utp_ops;
    us->base.type = SW_SOCKET_UTP;
    us->base.remote = *sw__utp_socket_remote(sock);
    if (local)
        us->base.local = *local;
    sw__utp_socket_set_data(sock, us);
    return us;
}

int sw__stream_utp_wrap(sw_utp_socket *sock, const sw_endpoint *local, sw_stream **s_out)
{
    sw_utp_stream *us = stream_new(sock, local);
    if (!us)
        return SW_ERR_NOMEM;
    us->base.outgoing = sw__utp_socket_outgoing(sock);
    *s_out = &us->base;
    return 0;
}

/* Datagrams to another cswarm over loopback: sixteen times fewer packets
 * than 1400-byte ones, while a loss still costs little to resend. This is
 * the ceiling of the socket's path MTU search (its first probe tries it),
 * so a path that does not carry it keeps a smaller size. */
#define UTP_LOOPBACK_LARGE_PACKET 16384u

void sw__stream_utp_remote_reads_large(sw_stream *s)
{
    s = sw__stream_transport(s); /* under an MSE wrapper, the uTP stream */
    if (s->type != SW_SOCKET_UTP || s->ops != &utp_ops)
        return;
    sw_utp_stream *us = (sw_utp_stream *)s;
    sw__utp_socket_raise_loopback_packet_size(us->sock, UTP_LOOPBACK_LARGE_PACKET);
}

static void on_connect(sw_utp_socket *sock, int status)
{
    sw_utp_stream *us = sw__utp_socket_data(sock);
    if (us->base.closing)
        return; /* the owner gave up; the close callback follows */
    us->connect_cb(&us->base, status);
}

int sw__stream_utp_connect(sw_utp_ctx *ctx, const sw_endpoint *to, const sw_endpoint *local,
                           sw_stream_connect_cb cb, void *data, sw_stream **s_out)
{
    if (!ctx)
        return SW_ERR_NOT_SUPPORTED;
    sw_utp_socket *sock;
    int rc = sw__utp_connect(ctx, to, on_connect, NULL, &sock);
    if (rc < 0)
        return rc;
    sw_utp_stream *us = stream_new(sock, local);
    if (!us) {
        /* No callback has run yet (they are deferred), so nobody is told. */
        sw__utp_abort(sock, NULL);
        return SW_ERR_NOMEM;
    }
    us->base.data = data;
    us->base.outgoing = true;
    us->connect_cb = cb;
    *s_out = &us->base;
    return 0;
}
