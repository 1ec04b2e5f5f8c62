/* Private to core/net: the TCP stream's layout, shared by the stream code
 * and the listener that accepts into it. */
#ifndef SW_CORE_NET_INTERNAL_H
#define SW_CORE_NET_INTERNAL_H

#include "net.h"

typedef struct sw_tcp_stream {
    sw_stream base;
    uv_tcp_t tcp;
    uv_connect_t connect_req;
    sw_stream_connect_cb connect_cb;
    sw_stream_close_cb close_cb;
} sw_tcp_stream;

/* A TCP stream with an initialised (unconnected) handle on loop. */
int sw__tcp_stream_new(uv_loop_t *loop, sw_tcp_stream **ts_out);
/* Frees a stream whose handle was never initialised. */
void sw__tcp_stream_free_raw(sw_tcp_stream *ts);
/* Fills base.local and base.remote from the connected socket. */
void sw__tcp_stream_fill_endpoints(sw_tcp_stream *ts);

#endif
