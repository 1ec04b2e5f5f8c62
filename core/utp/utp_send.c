/* uTP send path: the send ring, packetizing queued writes (with Nagle-style
 * coalescing), the congestion and receive windows, retransmissions, control
 * packets with selective ACKs, and the per-socket timers. */
#include <stdlib.h>
#include <string.h>

#include "utp_internal.h"

/* ---- parameters ---- */

void sw__utp_cc_params(const sw_utp_socket *s, sw_utp_cc_params *p)
{
    const sw_utp_config *c = &s->ctx->cfg;
    p->target_delay_us = c->target_delay_ms * 1000u;
    p->gain_bytes = c->gain_factor;
    p->loss_percent = c->loss_multiplier;
    p->packet_bytes = s->max_payload;
    uint64_t max = (uint64_t)UTP_MAX_OUT_PACKETS * s->max_payload;
    p->max_window = max > (1u << 30) ? (1u << 30) : (uint32_t)max;
}

uint32_t sw__utp_packet_timeout_ms(const sw_utp_socket *s)
{
    uint32_t t = sw__utp_rtt_timeout_ms(&s->rtt, s->ctx->cfg.min_timeout_ms);
    /* Back off exponentially over consecutive timeouts, capped at a minute. */
    for (uint32_t i = 0; i < s->num_timeouts && t < 60000; i++)
        t *= 2;
    return t > 60000 ? 60000 : t;
}

static uint32_t syn_interval_ms(const sw_utp_socket *s)
{
    uint32_t n = s->ctx->cfg.syn_resends + 1;
    uint32_t t = s->ctx->cfg.connect_timeout_ms / n;
    return t ? t : 1;
}

static bool has_outstanding(const sw_utp_socket *s)
{
    return s->seq_nr != (uint16_t)(s->acked_seq_nr + 1);
}

/* ---- the send ring ---- */

utp_out_pkt *sw__utp_out_at(const sw_utp_socket *s, uint16_t seq)
{
    if (!s->out)
        return NULL;
    utp_out_pkt *p = s->out[seq & s->out_mask];
    return p && p->seq == seq ? p : NULL;
}

void sw__utp_out_remove(sw_utp_socket *s, uint16_t seq)
{
    utp_out_pkt *p = sw__utp_out_at(s, seq);
    if (!p)
        return;
    if (p->in_flight)
        s->in_flight -= p->payload_len;
    if (p->need_resend)
        s->resend_count--;
    s->out[seq & s->out_mask] = NULL;
    free(p);
}

void sw__utp_mark_lost(sw_utp_socket *s, utp_out_pkt *p)
{
    if (p->in_flight) {
        s->in_flight -= p->payload_len;
        p->in_flight = false;
    }
    if (!p->need_resend) {
        if (s->resend_count == 0 || sw__utp_seq_less(p->seq, s->resend_from))
            s->resend_from = p->seq;
        p->need_resend = true;
        s->resend_count++;
    }
}

/* Room in the ring for one more packet (the ring grows up to the cap). */
static bool out_reserve(sw_utp_socket *s)
{
    uint32_t need = (uint16_t)(s->seq_nr - s->acked_seq_nr); /* outstanding + 1 */
    if (need > UTP_MAX_OUT_PACKETS)
        return false;
    uint32_t cap = s->out ? s->out_mask + 1 : 0;
    if (need <= cap)
        return true;
    uint32_t ncap = cap ? cap * 2 : 16;
    while (ncap < need)
        ncap *= 2;
    utp_out_pkt **ring = calloc(ncap, sizeof *ring);
    if (!ring)
        return false;
    for (uint16_t seq = (uint16_t)(s->acked_seq_nr + 1); seq != s->seq_nr; seq++) {
        utp_out_pkt *p = sw__utp_out_at(s, seq);
        if (p)
            ring[seq & (ncap - 1)] = p;
    }
    free(s->out);
    s->out = ring;
    s->out_mask = ncap - 1;
    return true;
}

static utp_out_pkt *new_packet(uint32_t capacity)
{
    utp_out_pkt *p = malloc(sizeof *p + SW_UTP_HEADER_SIZE + capacity);
    if (!p)
        return NULL;
    memset(p, 0, sizeof *p);
    p->capacity = (uint16_t)capacity;
    return p;
}

/* Gives p the next sequence number and puts it in the ring (reserved). */
static void out_insert(sw_utp_socket *s, utp_out_pkt *p, uint8_t type)
{
    p->type = type;
    p->seq = s->seq_nr;
    s->seq_nr++;
    s->out[p->seq & s->out_mask] = p;
}

/* ---- transmission ---- */

static void note_sent(sw_utp_socket *s, uint32_t wnd)
{
    s->last_send_ms = uv_now(s->ctx->loop);
    s->last_wnd_sent = wnd;
    /* The packet carried our ack_nr; a selective ACK still needs a STATE. */
    if (s->reorder_count == 0)
        s->ack_needed = false;
}

static bool transmit(sw_utp_socket *s, utp_out_pkt *p)
{
    sw_utp_ctx *ctx = s->ctx;
    uint64_t now_us = sw__utp_now_us();
    uint32_t wnd = sw__utp_recv_window(s);
    sw_utp_header h = {
        .type = p->type,
        .conn_id = s->send_id,
        .timestamp_us = (uint32_t)now_us,
        .timestamp_diff_us = s->reply_micro,
        .wnd_size = wnd,
        .seq_nr = p->seq,
        .ack_nr = s->ack_nr,
    };
    sw__utp_header_write(p->buf, &h, NULL, 0);
    const struct sockaddr *to = (const struct sockaddr *)&s->remote_sa;
    size_t len = SW_UTP_HEADER_SIZE + p->payload_len;
    int rc;
    if (p->mtu_probe && p->transmissions == 0 && ctx->cfg.send_probe) {
        rc = sw__utp_send_raw_probe(ctx, s, to, p->buf, len);
        if (rc == UV_EMSGSIZE) {
            /* Larger than the kernel lets out with don't-fragment: the
             * ceiling drops, and the data goes now as an ordinary packet
             * (fragmented if the IP layer must). */
            sw__utp_mtu_probe_failed(s, p, true);
            rc = sw__utp_send_raw(ctx, s, to, p->buf, len);
        }
    } else {
        rc = sw__utp_send_raw(ctx, s, to, p->buf, len);
    }
    if (rc == UV_EAGAIN || rc == UV_ENOBUFS) {
        /* The UDP socket is full: not lost, just not sent; it goes first
         * when the socket drains. */
        if (!p->need_resend) {
            if (s->resend_count == 0 || sw__utp_seq_less(p->seq, s->resend_from))
                s->resend_from = p->seq;
            p->need_resend = true;
            s->resend_count++;
        }
        return false;
    }
    if (p->need_resend) {
        p->need_resend = false;
        s->resend_count--;
    }
    if (p->transmissions > 0) {
        s->packets_resent++;
        ctx->stats.packet_resend++;
    } else {
        if (p->type == SW_UTP_ST_DATA)
            ctx->stats.payload_pkts_out++;
        s->bytes_sent += p->payload_len;
    }
    if (p->transmissions < UINT8_MAX)
        p->transmissions++;
    p->sent_us = now_us;
    p->next_seq_at_send = s->seq_nr;
    if (!p->in_flight) {
        p->in_flight = true;
        s->in_flight += p->payload_len;
    }
    note_sent(s, wnd);
    if (!s->timeout_at)
        s->timeout_at = uv_now(ctx->loop) + sw__utp_packet_timeout_ms(s);
    return true;
}

/* Whether a packet of size payload bytes may go now. */
static bool can_send(sw_utp_socket *s, uint32_t size)
{
    uint32_t cwnd = sw__utp_cc_window(&s->cc);
    uint32_t win = cwnd < s->adv_wnd ? cwnd : s->adv_wnd;
    if (s->in_flight + size <= win)
        return true;
    /* A window shrunk below one packet still lets one packet be in flight
     * (BEP 29 lets the sender exceed it if it paces). */
    if (s->in_flight == 0 && size <= s->adv_wnd)
        return true;
    if (s->probe) { /* the receive window is closed: ask again */
        s->probe = false;
        return true;
    }
    return false;
}

static utp_out_pkt *first_resend(sw_utp_socket *s)
{
    uint16_t seq = s->resend_from;
    if (sw__utp_seq_less(seq, (uint16_t)(s->acked_seq_nr + 1)))
        seq = (uint16_t)(s->acked_seq_nr + 1);
    for (; seq != s->seq_nr; seq++) {
        utp_out_pkt *p = sw__utp_out_at(s, seq);
        if (p && p->need_resend) {
            s->resend_from = seq;
            return p;
        }
    }
    return NULL;
}

/* Copies what is queued into the partial packet without sending it, so the
 * writes complete while the bytes wait for the in-flight data's ACK. */
static void hold_partial(sw_utp_socket *s)
{
    if (!s->partial) {
        s->partial = new_packet(s->max_payload);
        if (!s->partial)
            return;
    }
    utp_out_pkt *p = s->partial;
    p->payload_len += (uint16_t)sw__utp_take_write_bytes(
        s, p->buf + SW_UTP_HEADER_SIZE + p->payload_len, p->capacity - p->payload_len);
}

static void send_data(sw_utp_socket *s)
{
    for (unsigned burst = 0;; burst++) {
        if (burst == UTP_MAX_BURST) {
            /* Let the loop read (ACKs, other sockets) before going on; the
             * next dispatch pass continues from here. */
            sw__utp_mark_dirty(s);
            return;
        }
        if (s->resend_count) {
            utp_out_pkt *p = first_resend(s);
            if (!p) {
                s->resend_count = 0; /* cannot happen; never spin on it */
                continue;
            }
            if (!can_send(s, p->payload_len) || !transmit(s, p))
                return;
            continue;
        }
        size_t held = s->partial ? s->partial->payload_len : 0;
        if (s->wq_bytes || held) {
            size_t avail = s->wq_bytes + held;
            if (avail < s->max_payload && s->ctx->cfg.nagle && has_outstanding(s) &&
                !s->fin_wanted) {
                hold_partial(s);
                return;
            }
            uint32_t size = (uint32_t)(avail < s->max_payload ? avail : s->max_payload);
            /* A partial packet made before the packet size was raised
             * holds less. */
            if (s->partial && size > s->partial->capacity)
                size = s->partial->capacity;
            /* A path MTU probe: a full packet of the size being tried, made
             * only from data that fills it. */
            uint32_t probe = s->partial ? 0 : sw__utp_mtu_probe_size(s, uv_now(s->ctx->loop));
            uint32_t probe_payload = probe ? probe - SW_UTP_HEADER_SIZE : 0;
            if (probe && s->wq_bytes >= probe_payload && can_send(s, probe_payload))
                size = probe_payload;
            else
                probe = 0;
            if (!can_send(s, size) || !out_reserve(s))
                return;
            utp_out_pkt *p =
                s->partial ? s->partial : new_packet(probe ? probe_payload : s->max_payload);
            if (!p)
                return;
            s->partial = NULL;
            p->payload_len += (uint16_t)sw__utp_take_write_bytes(
                s, p->buf + SW_UTP_HEADER_SIZE + p->payload_len, size - p->payload_len);
            out_insert(s, p, SW_UTP_ST_DATA);
            if (probe)
                sw__utp_mtu_probe_sent(s, p);
            if (!transmit(s, p))
                return;
            continue;
        }
        if (s->fin_wanted && !s->fin_sent) {
            if (!out_reserve(s))
                return;
            utp_out_pkt *p = new_packet(0);
            if (!p)
                return;
            out_insert(s, p, SW_UTP_ST_FIN);
            s->fin_sent = true;
            s->fin_seq = p->seq;
            s->state = SW_UTP_STATE_FIN_SENT;
            if (!transmit(s, p))
                return;
            continue;
        }
        return;
    }
}

static void send_syn(sw_utp_socket *s)
{
    uint8_t buf[SW_UTP_HEADER_SIZE];
    uint64_t now_us = sw__utp_now_us();
    sw_utp_header h = {
        .type = SW_UTP_ST_SYN,
        .conn_id = s->recv_id, /* the SYN names the id we receive on */
        .timestamp_us = (uint32_t)now_us,
        .timestamp_diff_us = 0,
        .wnd_size = sw__utp_recv_window(s),
        .seq_nr = s->syn_seq,
        .ack_nr = 0,
    };
    size_t n = sw__utp_header_write(buf, &h, NULL, 0);
    int rc = sw__utp_send_raw(s->ctx, s, (const struct sockaddr *)&s->remote_sa, buf, n);
    if (rc == UV_EAGAIN || rc == UV_ENOBUFS)
        return; /* stalled: the dispatch tries again */
    s->syn_sends++;
    s->syn_sent_us = now_us;
    s->last_send_ms = uv_now(s->ctx->loop);
    s->timeout_at = s->last_send_ms + syn_interval_ms(s);
}

/* The selective ACK for what waits in the reorder ring; returns its length. */
static size_t build_sack(const sw_utp_socket *s, uint8_t *mask)
{
    if (!s->reorder_count)
        return 0;
    uint16_t first = (uint16_t)(s->ack_nr + 2);
    uint32_t bits = (uint32_t)(uint16_t)(s->reorder_max - first) + 1;
    size_t bytes = ((bits + 7) / 8 + 3) & ~(size_t)3;
    if (bytes > UTP_SACK_SEND_MAX)
        bytes = UTP_SACK_SEND_MAX;
    if (bits > bytes * 8)
        bits = (uint32_t)(bytes * 8);
    memset(mask, 0, bytes);
    for (uint32_t i = 0; i < bits; i++) {
        uint16_t seq = (uint16_t)(first + i);
        if (s->reorder[seq & s->reorder_mask])
            sw__utp_sack_set(mask, i);
    }
    return bytes;
}

static void send_header_only(sw_utp_socket *s, uint8_t type, uint16_t ack_nr)
{
    uint8_t buf[SW_UTP_HEADER_SIZE + 2 + UTP_SACK_SEND_MAX];
    uint8_t sack[UTP_SACK_SEND_MAX];
    size_t sack_len = type == SW_UTP_ST_STATE && ack_nr == s->ack_nr ? build_sack(s, sack) : 0;
    uint32_t wnd = sw__utp_recv_window(s);
    sw_utp_header h = {
        .type = type,
        .conn_id = s->send_id,
        .timestamp_us = (uint32_t)sw__utp_now_us(),
        .timestamp_diff_us = s->reply_micro,
        .wnd_size = wnd,
        .seq_nr = s->seq_nr, /* the next we will use (STATE consumes none) */
        .ack_nr = ack_nr,
    };
    size_t n = sw__utp_header_write(buf, &h, sack, sack_len);
    int rc = sw__utp_send_raw(s->ctx, s, (const struct sockaddr *)&s->remote_sa, buf, n);
    if (rc == UV_EAGAIN || rc == UV_ENOBUFS)
        return;
    s->ack_needed = false;
    s->last_wnd_sent = wnd;
    s->last_send_ms = uv_now(s->ctx->loop);
}

void sw__utp_send_control(sw_utp_socket *s, uint8_t type)
{
    send_header_only(s, type, s->ack_nr);
}

void sw__utp_socket_flush(sw_utp_socket *s)
{
    if (s->stalled)
        return;
    if (s->state == SW_UTP_STATE_SYN_SENT) {
        if (s->syn_sends == 0 && !s->close_requested)
            send_syn(s);
        return;
    }
    if (s->state != SW_UTP_STATE_CONNECTED && s->state != SW_UTP_STATE_FIN_SENT)
        return;
    send_data(s);
    if (s->ack_needed && !s->stalled)
        sw__utp_send_control(s, SW_UTP_ST_STATE);
}

/* ---- timers ---- */

static void on_timeout(sw_utp_socket *s, uint64_t now)
{
    sw_utp_ctx *ctx = s->ctx;
    if (!has_outstanding(s)) {
        if (s->wq_bytes || s->partial) {
            /* Data waits on a closed receive window: probe it. */
            s->probe = true;
            s->timeout_at = now + sw__utp_packet_timeout_ms(s);
            sw__utp_mark_dirty(s);
        } else {
            s->timeout_at = 0;
        }
        return;
    }
    utp_out_pkt *first = sw__utp_out_at(s, (uint16_t)(s->acked_seq_nr + 1));
    if (first && first->mtu_probe && first->in_flight) {
        /* The oldest packet is the path MTU probe, with too few packets
         * after it to be found lost by ACKs: it was too large for the path,
         * which says nothing about congestion. Only it goes again, the
         * window stays. */
        sw__utp_mtu_probe_failed(s, first, false);
        sw__utp_mark_lost(s, first);
        s->timeout_at = now + sw__utp_packet_timeout_ms(s);
        sw__utp_mark_dirty(s);
        return;
    }
    s->num_timeouts++;
    ctx->stats.timeout++;
    bool only_fin = first && first->type == SW_UTP_ST_FIN;
    if (s->num_timeouts > ctx->cfg.num_resends ||
        (only_fin && s->num_timeouts > ctx->cfg.fin_resends) || !s->confirmed) {
        /* An accepted socket that never heard back from its initiator may
         * have answered a spoofed SYN: it fails on its first timeout. */
        sw__utp_socket_fail(s, UV_ETIMEDOUT);
        return;
    }
    sw_utp_cc_params cp;
    sw__utp_cc_params(s, &cp);
    sw__utp_cc_on_timeout(&s->cc, &cp, s->in_flight == 0);
    for (uint16_t seq = (uint16_t)(s->acked_seq_nr + 1); seq != s->seq_nr; seq++) {
        utp_out_pkt *p = sw__utp_out_at(s, seq);
        if (p)
            sw__utp_mark_lost(s, p);
    }
    /* Losses already covered by this timeout do not cut the window again. */
    s->loss_seq_nr = (uint16_t)(s->seq_nr - 1);
    s->timeout_at = now + sw__utp_packet_timeout_ms(s);
    sw__utp_mark_dirty(s);
}

void sw__utp_socket_tick(sw_utp_socket *s, uint64_t now)
{
    sw_utp_ctx *ctx = s->ctx;
    if (s->state == SW_UTP_STATE_SYN_SENT) {
        if (s->close_requested)
            return;
        if (now - s->connect_started_ms >= ctx->cfg.connect_timeout_ms) {
            ctx->stats.timeout++;
            sw__utp_socket_fail(s, UV_ETIMEDOUT);
            return;
        }
        if (s->syn_sends > 0 && s->syn_sends <= ctx->cfg.syn_resends && s->timeout_at &&
            now >= s->timeout_at)
            send_syn(s);
        return;
    }
    if (s->state != SW_UTP_STATE_CONNECTED && s->state != SW_UTP_STATE_FIN_SENT)
        return;
    if (s->timeout_at && now >= s->timeout_at) {
        on_timeout(s, now);
        if (sw__utp_socket_finished(s))
            return;
    }
    if (!s->timeout_at && !has_outstanding(s) && (s->wq_bytes || s->partial))
        s->timeout_at = now + sw__utp_packet_timeout_ms(s); /* window probe timer */
    if (s->state == SW_UTP_STATE_CONNECTED && ctx->cfg.keepalive_ms &&
        now - s->last_send_ms >= ctx->cfg.keepalive_ms) {
        /* One less than our ack_nr, so the remote does not count it as a
         * duplicate ACK. */
        send_header_only(s, SW_UTP_ST_STATE, (uint16_t)(s->ack_nr - 1));
    }
    if (s->state == SW_UTP_STATE_FIN_SENT && s->linger_until && now >= s->linger_until) {
        s->state = SW_UTP_STATE_DONE; /* their FIN never came */
        sw__utp_mark_dirty(s);
    }
}
