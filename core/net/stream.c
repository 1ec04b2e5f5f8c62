/* The stream dispatch: every call goes through the stream's ops table, so a
 * peer connection works the same over any transport. */
#include "net.h"

int sw__stream_read_start(sw_stream *s)
{
    if (s->closing)
        return SW_ERR_ABORTED;
    return s->ops->read_start(s);
}

int sw__stream_read_stop(sw_stream *s)
{
    if (s->closing)
        return 0;
    return s->ops->read_stop(s);
}

int sw__stream_write(sw_stream *s, const uv_buf_t *bufs, unsigned nbufs, sw_stream_write_cb cb,
                     void *user)
{
    if (s->closing)
        return SW_ERR_ABORTED;
    return s->ops->write(s, bufs, nbufs, cb, user);
}

void sw__stream_close(sw_stream *s, sw_stream_close_cb cb)
{
    if (s->closing)
        return;
    s->closing = true;
    s->ops->close(s, cb);
}

size_t sw__stream_write_queue_size(const sw_stream *s)
{
    return s->ops->write_queue_size(s);
}
