/* The MSE stream: an sw_stream over another one (TCP or uTP) that runs the
 * MSE handshake (mse_hs.c) first, then encrypts or passes through. Incoming
 * streams first look at the opening bytes: "\x13BitTorrent protocol" is a
 * plaintext peer (let through untouched when allowed), anything else is an
 * MSE handshake.
 *
 * Reads. While the handshake runs the wrapper reads the inner stream into
 * its own buffer whatever the owner asked. Afterwards the inner stream reads
 * straight into the owner's buffers (decrypted in place), except for payload
 * that arrived with the handshake, which is copied out first. Data or an
 * error due when the owner (re)starts reading is delivered from a zero
 * timer, never from inside read_start.
 *
 * Writes. Before the handshake completes the owner's bytes are copied and
 * queued; afterwards RC4 writes are encrypted into a copy (the caller's
 * buffers stay untouched) and plaintext ones go through as they are. */
#include <stdlib.h>
#include <string.h>

#include "mse.h"
#include "net.h"

#define MSE_HS_READ_BUF 4096
#define MSE_DELIVER_CHUNK 65536
/* "\x13BitTorrent protocol": a plaintext BitTorrent handshake's start. */
#define BT_PROTO_LEN 20

enum mse_mode { MODE_DETECT, MODE_HANDSHAKE, MODE_PLAIN, MODE_RC4, MODE_FAILED };

typedef struct queued_write {
    struct queued_write *next;
    uint8_t *data;
    size_t len;
    sw_stream_write_cb cb;
    void *user;
} queued_write;

typedef struct mse_write_req {
    struct sw_mse_stream *ms;
    sw_stream_write_cb cb; /* NULL: a handshake write of the wrapper's own */
    void *user;
    uint8_t *data; /* freed when the write completes */
} mse_write_req;

typedef struct sw_mse_stream {
    sw_stream base;
    sw_stream *inner;
    sw_stream_mse_params params;
    enum mse_mode mode;
    sw_mse_hs *hs;
    bool did_mse;     /* the remote completed an MSE handshake */
    uint8_t skey[20]; /* its torrent's info-hash, once did_mse */
    bool want_read;
    bool inner_reading;
    bool delivering;
    int error; /* a failure not yet reported to the owner */
    sw_mse_rc4 send, recv;
    uint8_t detect[BT_PROTO_LEN];
    size_t detect_len;
    uint8_t *pending; /* payload waiting for the owner */
    size_t pending_len, pending_off;
    queued_write *qhead, **qtail;
    size_t queued_bytes;
    uv_timer_t timer;
    sw_stream_close_cb close_cb;
    int closes_pending;
    uint8_t rbuf[MSE_HS_READ_BUF];
} sw_mse_stream;

static const sw_stream_ops mse_ops;

static bool passthrough(const sw_mse_stream *ms)
{
    return (ms->mode == MODE_PLAIN || ms->mode == MODE_RC4) && ms->pending_len == 0;
}

static void inner_alloc(sw_stream *inner, size_t suggested, uv_buf_t *buf)
{
    sw_mse_stream *ms = inner->data;
    if (passthrough(ms)) {
        ms->base.alloc_cb(&ms->base, suggested, buf);
        return;
    }
    *buf = uv_buf_init((char *)ms->rbuf, sizeof ms->rbuf);
}

static void set_inner_reading(sw_mse_stream *ms, bool on)
{
    if (on == ms->inner_reading || ms->base.closing)
        return;
    int rc = on ? sw__stream_read_start(ms->inner) : sw__stream_read_stop(ms->inner);
    if (rc < 0 && on) {
        ms->error = rc;
        return;
    }
    ms->inner_reading = on;
}

/* Hands pending payload, then a pending error, to the owner while it reads.
 * The owner may stop reading or close the stream from its callback. */
static void deliver(sw_mse_stream *ms)
{
    if (ms->delivering)
        return;
    ms->delivering = true;
    while (!ms->base.closing && ms->want_read && ms->pending_off < ms->pending_len) {
        uv_buf_t buf = uv_buf_init(NULL, 0);
        ms->base.alloc_cb(&ms->base, MSE_DELIVER_CHUNK, &buf);
        if (!buf.base || buf.len == 0) {
            ms->base.read_cb(&ms->base, UV_ENOBUFS, &buf);
            break;
        }
        size_t n = ms->pending_len - ms->pending_off;
        if (n > buf.len)
            n = buf.len;
        memcpy(buf.base, ms->pending + ms->pending_off, n);
        ms->pending_off += n;
        ms->base.read_cb(&ms->base, (ssize_t)n, &buf);
    }
    if (ms->pending_off >= ms->pending_len && ms->pending) {
        free(ms->pending);
        ms->pending = NULL;
        ms->pending_len = ms->pending_off = 0;
    }
    if (!ms->base.closing && ms->want_read && ms->error && ms->pending_len == 0) {
        int err = ms->error;
        ms->error = 0;
        uv_buf_t none = uv_buf_init(NULL, 0);
        ms->base.read_cb(&ms->base, err, &none);
    }
    ms->delivering = false;
    if (ms->base.closing)
        return;
    /* After the handshake the inner stream reads only while the owner
     * does; during it, always. */
    bool hs_running = ms->mode == MODE_DETECT || ms->mode == MODE_HANDSHAKE;
    if (ms->mode != MODE_FAILED)
        set_inner_reading(ms, hs_running || (ms->want_read && ms->pending_len == 0));
}

static void on_timer(uv_timer_t *t)
{
    deliver(t->data);
}

static void write_done(sw_stream *inner, int status, void *user)
{
    (void)inner;
    mse_write_req *w = user;
    sw_mse_stream *ms = w->ms;
    free(w->data);
    sw_stream_write_cb cb = w->cb;
    void *cb_user = w->user;
    free(w);
    if (cb)
        cb(&ms->base, status, cb_user);
    else if (status < 0 && !ms->base.closing && !ms->error)
        ms->error = status;
}

/* Writes len bytes of `data` (taking ownership when own is set) to inner. */
static int inner_write(sw_mse_stream *ms, uint8_t *data, size_t len, bool own,
                       sw_stream_write_cb cb, void *user)
{
    mse_write_req *w = malloc(sizeof *w);
    if (!w) {
        if (own)
            free(data);
        return SW_ERR_NOMEM;
    }
    w->ms = ms;
    w->cb = cb;
    w->user = user;
    w->data = own ? data : NULL;
    uv_buf_t b = uv_buf_init((char *)data, (unsigned)len);
    int rc = sw__stream_write(ms->inner, &b, 1, write_done, w);
    if (rc < 0) {
        free(w->data);
        free(w);
    }
    return rc;
}

static void fail(sw_mse_stream *ms, int err)
{
    ms->mode = MODE_FAILED;
    if (!ms->error)
        ms->error = err;
    sw__mse_hs_free(ms->hs);
    ms->hs = NULL;
    deliver(ms);
}

static int send_hs_output(sw_mse_stream *ms)
{
    const uint8_t *out;
    size_t len;
    sw__mse_hs_output(ms->hs, &out, &len);
    if (len == 0)
        return 0;
    uint8_t *copy = malloc(len);
    if (!copy)
        return SW_ERR_NOMEM;
    memcpy(copy, out, len);
    return inner_write(ms, copy, len, true, NULL, NULL);
}

/* Sends the writes held during the handshake, in order. */
static int flush_queue(sw_mse_stream *ms)
{
    while (ms->qhead) {
        queued_write *q = ms->qhead;
        ms->qhead = q->next;
        if (!ms->qhead)
            ms->qtail = &ms->qhead;
        ms->queued_bytes -= q->len;
        if (ms->mode == MODE_RC4)
            sw__mse_rc4_apply(&ms->send, q->data, q->data, q->len);
        int rc = inner_write(ms, q->data, q->len, true, q->cb, q->user);
        free(q);
        if (rc < 0)
            return rc;
    }
    return 0;
}

static int set_pending(sw_mse_stream *ms, const uint8_t *data, size_t len)
{
    if (len == 0)
        return 0;
    ms->pending = malloc(len);
    if (!ms->pending)
        return SW_ERR_NOMEM;
    memcpy(ms->pending, data, len);
    ms->pending_len = len;
    ms->pending_off = 0;
    return 0;
}

static void handshake_done(sw_mse_stream *ms)
{
    ms->did_mse = true;
    memcpy(ms->skey, sw__mse_hs_skey(ms->hs), sizeof ms->skey);
    ms->mode = sw__mse_hs_method(ms->hs) == SW_MSE_RC4 ? MODE_RC4 : MODE_PLAIN;
    sw__mse_hs_ciphers(ms->hs, &ms->send, &ms->recv);
    const uint8_t *left;
    size_t left_len;
    sw__mse_hs_leftover(ms->hs, &left, &left_len);
    int rc = set_pending(ms, left, left_len);
    sw__mse_hs_free(ms->hs);
    ms->hs = NULL;
    if (rc == 0)
        rc = flush_queue(ms);
    if (rc < 0) {
        fail(ms, rc);
        return;
    }
    deliver(ms);
}

static void feed_handshake(sw_mse_stream *ms, const uint8_t *data, size_t len)
{
    int rc = sw__mse_hs_input(ms->hs, data, len);
    if (rc == 0)
        rc = send_hs_output(ms);
    if (rc < 0) {
        fail(ms, rc);
        return;
    }
    if (sw__mse_hs_done(ms->hs))
        handshake_done(ms);
}

static bool find_thunk(void *user, const uint8_t req2[20], uint8_t skey_out[20])
{
    sw_mse_stream *ms = user;
    return ms->params.find && ms->params.find(ms->params.find_user, req2, skey_out);
}

static uint32_t allowed_bits(int level)
{
    uint32_t bits = 0;
    if (level & 1)
        bits |= SW_MSE_PLAINTEXT;
    if (level & 2)
        bits |= SW_MSE_RC4;
    return bits ? bits : SW_MSE_PLAINTEXT | SW_MSE_RC4;
}

static int start_handshake(sw_mse_stream *ms)
{
    sw_mse_hs_config cfg = {
        .initiator = ms->params.outgoing,
        .allowed = allowed_bits(ms->params.allowed_level),
        .prefer_rc4 = ms->params.prefer_rc4,
        .find_skey = find_thunk,
        .find_user = ms,
        .max_pad = SW_MSE_MAX_PAD,
    };
    memcpy(cfg.skey, ms->params.info_hash, 20);
    int rc = sw__mse_hs_new(&cfg, &ms->hs);
    if (rc < 0)
        return rc;
    ms->mode = MODE_HANDSHAKE;
    return send_hs_output(ms);
}

/* Incoming: the first bytes tell a plaintext peer from an MSE one. */
static void detect(sw_mse_stream *ms, const uint8_t *data, size_t len)
{
    static const char bt_proto[BT_PROTO_LEN] = "\x13"
                                               "BitTorrent protocol";
    size_t take = BT_PROTO_LEN - ms->detect_len;
    if (take > len)
        take = len;
    memcpy(ms->detect + ms->detect_len, data, take);
    ms->detect_len += take;
    bool plain = memcmp(ms->detect, bt_proto, ms->detect_len) == 0;
    if (plain && ms->detect_len < BT_PROTO_LEN)
        return; /* could still be either */
    if (plain) {
        if (!ms->params.accept_plaintext) {
            fail(ms, SW_ERR_HANDSHAKE);
            return;
        }
        ms->mode = MODE_PLAIN;
        int rc = set_pending(ms, ms->detect, ms->detect_len);
        if (rc == 0 && len > take) {
            uint8_t *more = realloc(ms->pending, ms->pending_len + len - take);
            if (!more) {
                rc = SW_ERR_NOMEM;
            } else {
                memcpy(more + ms->pending_len, data + take, len - take);
                ms->pending = more;
                ms->pending_len += len - take;
            }
        }
        if (rc == 0)
            rc = flush_queue(ms);
        if (rc < 0) {
            fail(ms, rc);
            return;
        }
        deliver(ms);
        return;
    }
    int rc = start_handshake(ms);
    if (rc < 0) {
        fail(ms, rc);
        return;
    }
    size_t seen = ms->detect_len;
    feed_handshake(ms, ms->detect, seen);
    if (ms->mode == MODE_FAILED || ms->base.closing || len == take)
        return;
    if (ms->hs)
        feed_handshake(ms, data + take, len - take);
    else
        ms->error = SW_ERR_HANDSHAKE; /* cannot happen: the handshake needs more */
}

static void inner_read(sw_stream *inner, ssize_t nread, const uv_buf_t *buf)
{
    sw_mse_stream *ms = inner->data;
    if (ms->base.closing)
        return;
    bool own_buf = buf && buf->base == (char *)ms->rbuf;
    if (!own_buf) {
        /* Passthrough: the owner's buffer. */
        if (nread > 0 && ms->mode == MODE_RC4)
            sw__mse_rc4_apply(&ms->recv, (uint8_t *)buf->base, (uint8_t *)buf->base, (size_t)nread);
        ms->base.read_cb(&ms->base, nread, buf);
        return;
    }
    if (nread < 0) {
        if (ms->mode == MODE_DETECT || ms->mode == MODE_HANDSHAKE)
            fail(ms, (int)nread);
        else if (!ms->error)
            ms->error = (int)nread;
        deliver(ms);
        return;
    }
    if (nread == 0)
        return;
    const uint8_t *data = ms->rbuf;
    size_t len = (size_t)nread;
    switch (ms->mode) {
    case MODE_DETECT:
        detect(ms, data, len);
        break;
    case MODE_HANDSHAKE:
        feed_handshake(ms, data, len);
        break;
    case MODE_PLAIN:
    case MODE_RC4: {
        /* Arrived while earlier payload still waits: append it. */
        uint8_t *more = realloc(ms->pending, ms->pending_len + len);
        if (!more) {
            fail(ms, SW_ERR_NOMEM);
            return;
        }
        memcpy(more + ms->pending_len, data, len);
        if (ms->mode == MODE_RC4)
            sw__mse_rc4_apply(&ms->recv, more + ms->pending_len, more + ms->pending_len, len);
        ms->pending = more;
        ms->pending_len += len;
        deliver(ms);
        break;
    }
    case MODE_FAILED:
        break;
    }
}

static int mse_read_start(sw_stream *s)
{
    sw_mse_stream *ms = (sw_mse_stream *)s;
    ms->want_read = true;
    if (ms->pending_len > 0 || ms->error)
        return uv_timer_start(&ms->timer, on_timer, 0, 0);
    if (passthrough(ms))
        set_inner_reading(ms, true);
    return 0;
}

static int mse_read_stop(sw_stream *s)
{
    sw_mse_stream *ms = (sw_mse_stream *)s;
    ms->want_read = false;
    if (passthrough(ms))
        set_inner_reading(ms, false);
    return 0;
}

static int mse_write(sw_stream *s, const uv_buf_t *bufs, unsigned nbufs, sw_stream_write_cb cb,
                     void *user)
{
    sw_mse_stream *ms = (sw_mse_stream *)s;
    if (ms->mode == MODE_FAILED)
        return ms->error ? ms->error : SW_ERR_HANDSHAKE;
    if (ms->mode == MODE_PLAIN && !ms->qhead) {
        mse_write_req *w = malloc(sizeof *w);
        if (!w)
            return SW_ERR_NOMEM;
        *w = (mse_write_req){.ms = ms, .cb = cb, .user = user};
        int rc = sw__stream_write(ms->inner, bufs, nbufs, write_done, w);
        if (rc < 0)
            free(w);
        return rc;
    }
    size_t total = 0;
    for (unsigned k = 0; k < nbufs; k++)
        total += bufs[k].len;
    uint8_t *copy = malloc(total ? total : 1);
    if (!copy)
        return SW_ERR_NOMEM;
    size_t off = 0;
    for (unsigned k = 0; k < nbufs; k++) {
        memcpy(copy + off, bufs[k].base, bufs[k].len);
        off += bufs[k].len;
    }
    if (ms->mode == MODE_RC4) {
        sw__mse_rc4_apply(&ms->send, copy, copy, total);
        return inner_write(ms, copy, total, true, cb, user);
    }
    queued_write *q = malloc(sizeof *q);
    if (!q) {
        free(copy);
        return SW_ERR_NOMEM;
    }
    *q = (queued_write){.data = copy, .len = total, .cb = cb, .user = user};
    *ms->qtail = q;
    ms->qtail = &q->next;
    ms->queued_bytes += total;
    return 0;
}

/* The wrapper is freed once both its timer and the inner stream closed. */
static void close_step_done(sw_mse_stream *ms)
{
    if (--ms->closes_pending > 0)
        return;
    if (ms->close_cb)
        ms->close_cb(&ms->base);
    sw__mse_hs_free(ms->hs);
    free(ms->pending);
    free(ms);
}

static void inner_closed(sw_stream *inner)
{
    sw_mse_stream *ms = inner->data;
    /* Writes never handed to the inner stream complete as cancelled. */
    while (ms->qhead) {
        queued_write *q = ms->qhead;
        ms->qhead = q->next;
        free(q->data);
        if (q->cb)
            q->cb(&ms->base, UV_ECANCELED, q->user);
        free(q);
    }
    ms->qtail = &ms->qhead;
    close_step_done(ms);
}

static void timer_closed(uv_handle_t *h)
{
    close_step_done(h->data);
}

static void mse_close(sw_stream *s, sw_stream_close_cb cb)
{
    sw_mse_stream *ms = (sw_mse_stream *)s;
    ms->close_cb = cb;
    ms->closes_pending = 2;
    uv_close((uv_handle_t *)&ms->timer, timer_closed);
    /* At once, as closing the transport itself would be. */
    sw__stream_close(ms->inner, inner_closed);
}

static size_t mse_write_queue_size(const sw_stream *s)
{
    const sw_mse_stream *ms = (const sw_mse_stream *)s;
    return sw__stream_write_queue_size(ms->inner) + ms->queued_bytes;
}

static const sw_stream_ops mse_ops = {
    .read_start = mse_read_start,
    .read_stop = mse_read_stop,
    .write = mse_write,
    .close = mse_close,
    .write_queue_size = mse_write_queue_size,
};

static void free_after_timer(uv_handle_t *h)
{
    free(h->data);
}

int sw__stream_mse_wrap(sw_stream *inner, const sw_stream_mse_params *p, sw_stream **s_out)
{
    sw_mse_stream *ms = calloc(1, sizeof *ms);
    if (!ms)
        return SW_ERR_NOMEM;
    ms->params = *p;
    ms->qtail = &ms->qhead;
    ms->inner = inner;
    ms->base.ops = &mse_ops;
    ms->base.remote = inner->remote;
    ms->base.local = inner->local;
    ms->base.type = inner->type;
    ms->base.outgoing = inner->outgoing;
    ms->mode = p->outgoing ? MODE_HANDSHAKE : MODE_DETECT;
    int rc = uv_timer_init(p->loop, &ms->timer);
    if (rc < 0) {
        free(ms);
        return rc;
    }
    ms->timer.data = ms;
    void *old_data = inner->data;
    sw_stream_alloc_cb old_alloc = inner->alloc_cb;
    sw_stream_read_cb old_read = inner->read_cb;
    inner->data = ms;
    inner->alloc_cb = inner_alloc;
    inner->read_cb = inner_read;
    /* Reading first: once the handshake's first message is queued on
     * inner, its completion refers to the wrapper, which then must live. */
    rc = sw__stream_read_start(inner);
    if (rc == 0 && p->outgoing)
        rc = start_handshake(ms);
    if (rc < 0) {
        /* No write is pending on inner (a failed write is not queued). */
        inner->data = old_data;
        inner->alloc_cb = old_alloc;
        inner->read_cb = old_read;
        sw__mse_hs_free(ms->hs);
        uv_close((uv_handle_t *)&ms->timer, free_after_timer);
        return rc;
    }
    ms->inner_reading = true;
    *s_out = &ms->base;
    return 0;
}

bool sw__stream_mse_encrypted(const sw_stream *s, bool *rc4_out)
{
    if (!s || s->ops != &mse_ops)
        return false;
    const sw_mse_stream *ms = (const sw_mse_stream *)s;
    if (rc4_out)
        *rc4_out = ms->mode == MODE_RC4;
    return ms->did_mse;
}

bool sw__stream_mse_pending(const sw_stream *s)
{
    if (!s || s->ops != &mse_ops)
        return false;
    const sw_mse_stream *ms = (const sw_mse_stream *)s;
    return ms->mode == MODE_HANDSHAKE || ms->mode == MODE_FAILED;
}

sw_stream *sw__stream_transport(sw_stream *s)
{
    if (s && s->ops == &mse_ops)
        return ((sw_mse_stream *)s)->inner;
    return s;
}

bool sw__stream_mse_allows_info_hash(const sw_stream *s, const uint8_t info_hash[20])
{
    if (!s || s->ops != &mse_ops)
        return true;
    const sw_mse_stream *ms = (const sw_mse_stream *)s;
    return !ms->did_mse || memcmp(ms->skey, info_hash, sizeof ms->skey) == 0;
}
