/* uTP sockets: creation, the owner-facing stream API (connect, read, write,
 * close), the per-socket share of the dispatch that runs the owner's
 * callbacks, and freeing. */
#include <stdlib.h>
#include <string.h>

#include "utp_internal.h"

/* ---- creation and freeing ---- */

sw_utp_socket *sw__utp_socket_new(sw_utp_ctx *ctx, const sw_endpoint *remote)
{
    sw_utp_socket *s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    s->ctx = ctx;
    s->remote = *remote;
    sw__endpoint_to_sockaddr(remote, &s->remote_sa);
    sw__utp_mtu_init(s);
    s->attached = true;
    s->adv_wnd = s->max_payload; /* until the remote tells us */
    sw__utp_cc_init(&s->cc, 2 * s->max_payload);
    sw__utp_delay_hist_init(&s->delay_hist);
    for (unsigned i = 0; i < 3; i++)
        s->recent_delay[i] = UINT32_MAX;
    s->last_send_ms = uv_now(ctx->loop);
    return s;
}

static void free_write_list(utp_write_req *r)
{
    while (r) {
        utp_write_req *next = r->next;
        free(r);
        r = next;
    }
}

static void free_in_list(utp_in_pkt *c)
{
    while (c) {
        utp_in_pkt *next = c->next;
        free(c);
        c = next;
    }
}

/* Drops every packet we hold for sending. */
static void drop_output(sw_utp_socket *s)
{
    if (s->out) {
        for (uint32_t i = 0; i <= s->out_mask; i++) {
            free(s->out[i]);
            s->out[i] = NULL;
        }
    }
    s->in_flight = 0;
    s->resend_count = 0;
    s->acked_seq_nr = (uint16_t)(s->seq_nr - 1);
    free(s->partial);
    s->partial = NULL;
    s->timeout_at = 0;
}

void sw__utp_socket_free(sw_utp_socket *s)
{
    if (s->ctx && (s->prev || s->next || s->ctx->all == s))
        sw__utp_unregister(s->ctx, s);
    drop_output(s);
    free(s->out);
    free_write_list(s->wq_head);
    free_write_list(s->done_head);
    free_in_list(s->rq_head);
    if (s->reorder) {
        for (uint32_t i = 0; i <= s->reorder_mask; i++)
            free(s->reorder[i]);
        free(s->reorder);
    }
    free(s);
}

/* ---- write queue helpers ---- */

static void push_done(sw_utp_socket *s, utp_write_req *r)
{
    r->next = NULL;
    if (s->done_tail)
        s->done_tail->next = r;
    else
        s->done_head = r;
    s->done_tail = r;
}

/* Completes every queued write with status (callbacks run in the dispatch). */
void sw__utp_cancel_writes(sw_utp_socket *s, int status)
{
    utp_write_req *r = s->wq_head;
    s->wq_head = s->wq_tail = NULL;
    s->wq_bytes = 0;
    while (r) {
        utp_write_req *next = r->next;
        r->status = status;
        push_done(s, r);
        r = next;
    }
}

/* Copies up to max queued bytes to dst; writes that are fully copied move to
 * the completed list. Used by the packetizer. */
size_t sw__utp_take_write_bytes(sw_utp_socket *s, uint8_t *dst, size_t max)
{
    size_t done = 0;
    while (done < max && s->wq_head) {
        utp_write_req *r = s->wq_head;
        while (done < max && r->idx < r->nbufs) {
            const uv_buf_t *b = &r->bufs[r->idx];
            size_t n = b->len - r->off;
            if (n > max - done)
                n = max - done;
            memcpy(dst + done, b->base + r->off, n);
            done += n;
            r->off += n;
            r->remaining -= n;
            if (r->off == b->len) {
                r->idx++;
                r->off = 0;
            }
        }
        if (r->remaining == 0) {
            s->wq_head = r->next;
            if (!s->wq_head)
                s->wq_tail = NULL;
            r->status = 0;
            push_done(s, r);
        }
    }
    s->wq_bytes -= done;
    return done;
}

/* ---- failure ---- */

void sw__utp_socket_fail(sw_utp_socket *s, int err)
{
    if (s->state == SW_UTP_STATE_ERROR || s->state == SW_UTP_STATE_DONE)
        return;
    if (s->state == SW_UTP_STATE_SYN_SENT && s->connect_pending) {
        s->connect_ready = true;
        s->connect_status = err;
    }
    s->state = SW_UTP_STATE_ERROR;
    s->error = err;
    drop_output(s);
    sw__utp_cancel_writes(s, err);
    sw__utp_mark_dirty(s);
}

bool sw__utp_socket_finished(const sw_utp_socket *s)
{
    return s->state == SW_UTP_STATE_ERROR || s->state == SW_UTP_STATE_DONE;
}

uint32_t sw__utp_recv_window(const sw_utp_socket *s)
{
    uint32_t used = s->rq_bytes + s->reorder_bytes;
    uint32_t cap = s->ctx->cfg.recv_buffer_size;
    return used >= cap ? 0 : cap - used;
}

/* ---- dispatch: the owner's callbacks ---- */

static size_t copy_received(sw_utp_socket *s, char *dst, size_t max)
{
    size_t done = 0;
    while (done < max && s->rq_head) {
        utp_in_pkt *c = s->rq_head;
        size_t n = c->len - c->off;
        if (n > max - done)
            n = max - done;
        memcpy(dst + done, c->data + c->off, n);
        c->off += (uint32_t)n;
        done += n;
        if (c->off == c->len) {
            s->rq_head = c->next;
            if (!s->rq_head)
                s->rq_tail = NULL;
            free(c);
        }
    }
    s->rq_bytes -= (uint32_t)done;
    return done;
}

static bool owner_can_read(const sw_utp_socket *s)
{
    return s->attached && s->reading && !s->close_requested;
}

static void deliver_reads(sw_utp_socket *s)
{
    while (owner_can_read(s) && s->rq_bytes > 0) {
        uv_buf_t b = uv_buf_init(NULL, 0);
        size_t suggested = s->rq_bytes < 65536 ? s->rq_bytes : 65536;
        s->alloc_cb(s, suggested, &b);
        if (!owner_can_read(s))
            return;
        if (!b.base || b.len == 0) {
            s->reading = false;
            s->read_cb(s, UV_ENOBUFS, &b);
            return;
        }
        size_t n = copy_received(s, b.base, b.len);
        /* The window opened: say so if the remote may be waiting on it. */
        uint32_t wnd = sw__utp_recv_window(s);
        uint32_t half = s->ctx->cfg.recv_buffer_size / 2;
        if ((s->last_wnd_sent < half && wnd >= half) ||
            (s->last_wnd_sent < s->max_payload && wnd >= s->max_payload)) {
            s->ack_needed = true;
            sw__utp_mark_dirty(s);
        }
        s->read_cb(s, (ssize_t)n, &b);
    }
    if (!owner_can_read(s) || s->rq_bytes > 0 || s->eof_delivered || s->error_delivered)
        return;
    uv_buf_t none = uv_buf_init(NULL, 0);
    if (s->eof_reached) {
        s->eof_delivered = true;
        s->read_cb(s, UV_EOF, &none);
    } else if (s->error) {
        s->error_delivered = true;
        s->read_cb(s, s->error, &none);
    }
}

static void complete_writes(sw_utp_socket *s)
{
    while (s->done_head) {
        utp_write_req *r = s->done_head;
        s->done_head = r->next;
        if (!s->done_head)
            s->done_tail = NULL;
        if (r->cb)
            r->cb(s, r->status, r->user);
        free(r);
    }
}

static void run_close_callback(sw_utp_socket *s)
{
    sw__utp_cancel_writes(s, UV_ECANCELED);
    complete_writes(s);
    s->close_cb_done = true;
    s->attached = false;
    if (s->close_cb)
        s->close_cb(s);
}

bool sw__utp_socket_dispatch(sw_utp_socket *s)
{
    sw_utp_ctx *ctx = s->ctx;
    if (ctx->closing) {
        if (s->attached) {
            if (!s->close_requested)
                s->close_cb = NULL; /* the owner never asked: no close callback */
            s->close_requested = true;
            run_close_callback(s);
        }
        if (s->dirty)
            return true; /* re-queued by a callback; freed on the next pass */
        sw__utp_socket_free(s);
        return false;
    }

    if (!sw__utp_socket_finished(s))
        sw__utp_socket_flush(s);
    else if (s->state == SW_UTP_STATE_DONE && s->ack_needed)
        sw__utp_send_control(s, SW_UTP_ST_STATE); /* the ACK of their FIN */

    if (s->attached && s->accept_pending) {
        s->accept_pending = false;
        if (ctx->cfg.on_accept)
            ctx->cfg.on_accept(ctx->cfg.user, s);
        else
            sw__utp_close(s, NULL); /* accepting was switched off meanwhile */
    }
    if (s->attached && s->connect_pending && s->connect_ready && !s->close_requested) {
        s->connect_pending = false;
        s->connect_cb(s, s->connect_status);
    }
    if (s->attached) {
        deliver_reads(s);
        complete_writes(s);
        if (s->close_requested && !s->close_cb_done)
            run_close_callback(s);
    }

    if (!s->attached && sw__utp_socket_finished(s) && !s->dirty) {
        sw__utp_socket_free(s);
        return false;
    }
    return true;
}

/* ---- the owner's API ---- */

int sw__utp_connect(sw_utp_ctx *ctx, const sw_endpoint *to, sw_utp_connect_cb cb, void *data,
                    sw_utp_socket **s_out)
{
    if (!ctx || !to || !cb || !s_out || (to->family != AF_INET && to->family != AF_INET6))
        return SW_ERR_INVALID_ARG;
    if (ctx->closing)
        return SW_ERR_ABORTED;
    if (ctx->count >= ctx->cfg.max_sockets)
        return SW_ERR_LIMIT;
    sw_utp_socket *s = sw__utp_socket_new(ctx, to);
    if (!s)
        return SW_ERR_NOMEM;
    /* A receive id no socket to this remote uses. */
    uint16_t id = 0;
    for (int tries = 0;; tries++) {
        if (tries == 64) {
            free(s);
            return SW_ERR_LIMIT;
        }
        id = (uint16_t)sw__utp_random(ctx);
        if (!sw__utp_lookup(ctx, to, id))
            break;
    }
    s->recv_id = id;
    s->send_id = (uint16_t)(id + 1);
    s->outgoing = true;
    s->state = SW_UTP_STATE_SYN_SENT;
    s->syn_seq = (uint16_t)sw__utp_random(ctx);
    s->seq_nr = (uint16_t)(s->syn_seq + 1);
    s->acked_seq_nr = s->syn_seq;
    s->fast_resend_seq_nr = s->seq_nr;
    s->loss_seq_nr = s->syn_seq;
    s->connect_cb = cb;
    s->connect_pending = true;
    s->data = data;
    s->connect_started_ms = uv_now(ctx->loop);
    int rc = sw__utp_register(ctx, s);
    if (rc < 0) {
        free(s);
        return rc;
    }
    sw__utp_mark_dirty(s); /* the SYN goes out from the dispatch */
    *s_out = s;
    return 0;
}

int sw__utp_read_start(sw_utp_socket *s, sw_utp_alloc_cb alloc_cb, sw_utp_read_cb read_cb)
{
    if (!alloc_cb || !read_cb)
        return SW_ERR_INVALID_ARG;
    if (s->close_requested)
        return SW_ERR_ABORTED;
    s->alloc_cb = alloc_cb;
    s->read_cb = read_cb;
    s->reading = true;
    if (s->rq_bytes || s->eof_reached || s->error)
        sw__utp_mark_dirty(s);
    return 0;
}

int sw__utp_read_stop(sw_utp_socket *s)
{
    s->reading = false;
    return 0;
}

int sw__utp_write(sw_utp_socket *s, const uv_buf_t *bufs, unsigned nbufs, sw_utp_write_cb cb,
                  void *user)
{
    if (s->close_requested)
        return SW_ERR_ABORTED;
    if (nbufs && !bufs)
        return SW_ERR_INVALID_ARG;
    if (s->state == SW_UTP_STATE_ERROR)
        return s->error ? s->error : UV_EPIPE;
    if (s->state == SW_UTP_STATE_DONE || s->fin_wanted || s->fin_sent)
        return UV_EPIPE;
    utp_write_req *r = malloc(sizeof *r + (size_t)nbufs * sizeof(uv_buf_t));
    if (!r)
        return SW_ERR_NOMEM;
    r->next = NULL;
    r->cb = cb;
    r->user = user;
    r->status = 0;
    r->nbufs = nbufs;
    r->idx = 0;
    r->off = 0;
    r->remaining = 0;
    for (unsigned i = 0; i < nbufs; i++) {
        r->bufs[i] = bufs[i];
        r->remaining += bufs[i].len;
    }
    /* Skip empty buffers up front so the packetizer never stalls on one. */
    while (r->idx < r->nbufs && r->bufs[r->idx].len == 0)
        r->idx++;
    if (r->remaining == 0) {
        push_done(s, r);
    } else {
        if (s->wq_tail)
            s->wq_tail->next = r;
        else
            s->wq_head = r;
        s->wq_tail = r;
        s->wq_bytes += r->remaining;
    }
    sw__utp_mark_dirty(s);
    return 0;
}

size_t sw__utp_write_queue_size(const sw_utp_socket *s)
{
    return s->wq_bytes;
}

void sw__utp_close(sw_utp_socket *s, sw_utp_close_cb cb)
{
    if (s->close_requested)
        return;
    s->close_requested = true;
    s->close_cb = cb;
    s->reading = false;
    sw__utp_cancel_writes(s, UV_ECANCELED);
    switch (s->state) {
    case SW_UTP_STATE_SYN_SENT:
        /* Nothing to tell the remote: a reset could not name a sequence
         * number it would accept. An accepted socket there that never hears
         * from us fails on its first timeout. */
        s->state = SW_UTP_STATE_ERROR;
        s->error = UV_ECANCELED;
        drop_output(s);
        break;
    case SW_UTP_STATE_CONNECTED:
        s->fin_wanted = true; /* after the data already in packets */
        break;
    case SW_UTP_STATE_FIN_SENT:
    case SW_UTP_STATE_DONE:
    case SW_UTP_STATE_ERROR:
        break;
    }
    sw__utp_mark_dirty(s);
}

void sw__utp_abort(sw_utp_socket *s, sw_utp_close_cb cb)
{
    if (s->close_requested)
        return;
    if (s->state == SW_UTP_STATE_CONNECTED || s->state == SW_UTP_STATE_FIN_SENT) {
        sw__utp_send_control(s, SW_UTP_ST_RESET);
        s->state = SW_UTP_STATE_ERROR;
        s->error = UV_ECONNABORTED;
        drop_output(s);
    }
    sw__utp_close(s, cb);
}

void sw__utp_socket_raise_loopback_packet_size(sw_utp_socket *s, uint32_t size)
{
    sw__utp_mtu_raise_ceiling(s, size);
}

void *sw__utp_socket_data(const sw_utp_socket *s)
{
    return s->data;
}

void sw__utp_socket_set_data(sw_utp_socket *s, void *data)
{
    s->data = data;
}

const sw_endpoint *sw__utp_socket_remote(const sw_utp_socket *s)
{
    return &s->remote;
}

bool sw__utp_socket_outgoing(const sw_utp_socket *s)
{
    return s->outgoing;
}

void sw__utp_socket_info(const sw_utp_socket *s, sw_utp_socket_info *out)
{
    memset(out, 0, sizeof *out);
    out->state = s->state;
    out->recv_id = s->recv_id;
    out->send_id = s->send_id;
    out->cwnd = sw__utp_cc_window(&s->cc);
    out->ssthresh = s->cc.ssthresh;
    out->slow_start = s->cc.slow_start;
    out->remote_window = s->adv_wnd;
    out->in_flight = s->in_flight;
    out->rtt_us = s->rtt.rtt_us;
    out->rtt_var_us = s->rtt.var_us;
    out->timeout_ms = sw__utp_packet_timeout_ms(s);
    out->queuing_delay_us = s->last_delay_us;
    out->packet_size = s->packet_size;
    out->mtu_ceiling = s->mtu_ceiling;
    out->mtu_searching = s->ctx->cfg.mtu_discovery && s->mtu_ceiling >= s->packet_size + 16u;
    out->recv_buffered = s->rq_bytes + s->reorder_bytes;
    out->bytes_sent = s->bytes_sent;
    out->bytes_received = s->bytes_received;
    out->packets_resent = s->packets_resent;
}
