/* uTP receive path: acknowledgements (cumulative and selective), loss
 * detection, delay samples for LEDBAT, and payload reassembly with a bounded
 * reorder buffer. */
#include <stdlib.h>
#include <string.h>

#include "utp_internal.h"

/* Reorder ring sizes: it starts small and doubles up to the most packets a
 * sender may have in flight. */
#define REORDER_MIN 64u

static uint64_t now_ms(const sw_utp_socket *s)
{
    return uv_now(s->ctx->loop);
}

/* ---- acknowledgements ---- */

typedef struct ack_tally {
    uint32_t acked_bytes;
    uint64_t min_rtt_us; /* of packets acked here that were sent once */
    bool any;            /* some packet left the send ring */
} ack_tally;

static void ack_packet(sw_utp_socket *s, uint16_t seq, uint64_t now_us, ack_tally *t)
{
    utp_out_pkt *p = sw__utp_out_at(s, seq);
    if (!p)
        return;
    if (p->transmissions == 1 && !p->need_resend) {
        uint64_t rtt = now_us > p->sent_us ? now_us - p->sent_us : 0;
        if (rtt > UINT32_MAX)
            rtt = UINT32_MAX;
        sw__utp_rtt_sample(&s->rtt, (uint32_t)rtt);
        if (rtt < t->min_rtt_us)
            t->min_rtt_us = rtt;
    }
    if (p->type == SW_UTP_ST_FIN)
        s->fin_acked = true;
    if (p->mtu_probe)
        sw__utp_mtu_probe_acked(s, p);
    t->acked_bytes += p->payload_len;
    t->any = true;
    sw__utp_out_remove(s, seq);
}

/* A loss found by duplicate ACKs or a selective ACK: resend the packet and,
 * once per window of packets, shrink the congestion window. */
static void fast_retransmit(sw_utp_socket *s, utp_out_pkt *p)
{
    sw_utp_ctx *ctx = s->ctx;
    if (p->need_resend || p->transmissions == 0)
        return;
    ctx->stats.fast_retransmit++;
    if (p->mtu_probe) {
        /* Too large for the path, not a sign of congestion. */
        sw__utp_mtu_probe_failed(s, p, false);
        sw__utp_mark_lost(s, p);
        return;
    }
    ctx->stats.packet_loss++;
    if (sw__utp_seq_less(s->loss_seq_nr, p->seq)) {
        sw_utp_cc_params cp;
        sw__utp_cc_params(s, &cp);
        sw__utp_cc_on_loss(&s->cc, &cp);
        s->loss_seq_nr = (uint16_t)(s->seq_nr - 1);
    }
    sw__utp_mark_lost(s, p);
}

/* Bits of a selective ACK: bit i acknowledges ack_nr + 2 + i. A packet is
 * lost when at least three packets sent after it (after its last
 * transmission, for a resent one) were acknowledged: so a resend that is lost
 * again is found the same way, without waiting for the timer. */
static void handle_sack(sw_utp_socket *s, uint16_t ack_nr, const uint8_t *mask, size_t len,
                        uint64_t now_us, ack_tally *t)
{
    uint16_t last_sent = (uint16_t)(s->seq_nr - 1);
    size_t nbits = len * 8;
    /* above[i]: acknowledged bits at index >= i (bits past what we sent are
     * ignored). */
    uint16_t above[SW_UTP_SACK_MAX_BYTES * 8 + 1];
    size_t limit = 0;
    while (limit < nbits && !sw__utp_seq_less(last_sent, (uint16_t)(ack_nr + 2 + limit)))
        limit++;
    above[limit] = 0;
    for (size_t i = limit; i-- > 0;) {
        bool set = sw__utp_sack_bit(mask, i);
        above[i] = (uint16_t)(above[i + 1] + set);
        if (set)
            ack_packet(s, (uint16_t)(ack_nr + 2 + i), now_us, t);
    }
    if (above[0] < UTP_DUP_ACK_LIMIT)
        return;
    /* Candidates: ack_nr + 1 (reported missing) and every unset bit. */
    for (size_t k = 0; k <= limit; k++) {
        if (k > 0 && sw__utp_sack_bit(mask, k - 1))
            continue;
        uint16_t seq = (uint16_t)(ack_nr + 1 + k);
        utp_out_pkt *p = sw__utp_out_at(s, seq);
        if (!p || p->need_resend || p->transmissions == 0)
            continue;
        /* Index of the first bit sent after p's last transmission. */
        uint16_t from = (uint16_t)(p->next_seq_at_send - (uint16_t)(ack_nr + 2));
        size_t idx = from < k ? k : from; /* k is the bit just above p */
        if (idx > limit || above[idx] < UTP_DUP_ACK_LIMIT)
            continue;
        if (seq == s->fast_resend_seq_nr)
            s->fast_resend_seq_nr = (uint16_t)(seq + 1);
        fast_retransmit(s, p);
    }
}

/* ---- payload ---- */

static utp_in_pkt *make_chunk(const uint8_t *data, size_t len)
{
    utp_in_pkt *c = malloc(sizeof *c + len);
    if (!c)
        return NULL;
    c->next = NULL;
    c->len = (uint32_t)len;
    c->off = 0;
    memcpy(c->data, data, len);
    return c;
}

static void queue_in_order(sw_utp_socket *s, utp_in_pkt *c)
{
    if (c->len == 0 || !s->attached || s->close_requested) {
        /* Nobody will read it: acknowledge and drop. */
        free(c);
        return;
    }
    if (s->rq_tail)
        s->rq_tail->next = c;
    else
        s->rq_head = c;
    s->rq_tail = c;
    s->rq_bytes += c->len;
}

static bool reorder_grow(sw_utp_socket *s, uint32_t need)
{
    uint32_t cap = s->reorder ? s->reorder_mask + 1 : REORDER_MIN;
    while (cap < need)
        cap *= 2;
    if (cap > UTP_MAX_OUT_PACKETS)
        return false;
    if (s->reorder && cap == s->reorder_mask + 1)
        return true;
    utp_in_pkt **ring = calloc(cap, sizeof *ring);
    if (!ring)
        return false;
    /* Entries sit at seq & mask; re-place them for the new mask. */
    if (s->reorder) {
        for (uint32_t d = 2; d <= s->reorder_mask + 1; d++) {
            uint16_t seq = (uint16_t)(s->ack_nr + d);
            utp_in_pkt *c = s->reorder[seq & s->reorder_mask];
            if (c) {
                ring[seq & (cap - 1)] = c;
                s->reorder[seq & s->reorder_mask] = NULL;
            }
        }
        free(s->reorder);
    }
    s->reorder = ring;
    s->reorder_mask = cap - 1;
    return true;
}

/* Advances ack_nr over packets waiting in the reorder ring and over the FIN. */
static void pull_in_order(sw_utp_socket *s)
{
    while (s->reorder_count) {
        uint16_t seq = (uint16_t)(s->ack_nr + 1);
        utp_in_pkt **slot = &s->reorder[seq & s->reorder_mask];
        if (!*slot)
            break;
        utp_in_pkt *c = *slot;
        *slot = NULL;
        s->reorder_count--;
        s->reorder_bytes -= c->len;
        s->ack_nr = seq;
        queue_in_order(s, c);
    }
    if (s->got_fin && !s->eof_reached) {
        if ((uint16_t)(s->ack_nr + 1) == s->eof_seq)
            s->ack_nr = s->eof_seq; /* the FIN carries no payload */
        if (s->ack_nr == s->eof_seq)
            s->eof_reached = true;
    }
}

static void incoming_payload(sw_utp_socket *s, const sw_utp_packet *p)
{
    sw_utp_ctx *ctx = s->ctx;
    uint16_t seq = p->h.seq_nr;
    s->ack_needed = true; /* even a duplicate: our last ACK may have been lost */
    if (!sw__utp_seq_less(s->ack_nr, seq)) {
        ctx->stats.redundant_pkts_in++;
        return;
    }
    if (s->got_fin && sw__utp_seq_less(s->eof_seq, seq)) {
        ctx->stats.redundant_pkts_in++; /* past the end of the stream */
        return;
    }
    size_t len = p->h.type == SW_UTP_ST_DATA ? p->payload_len : 0;
    if (len) {
        /* Bounded memory: what is buffered plus this may not exceed the
         * receive buffer (a sender respecting our window never gets here). */
        size_t used = (size_t)s->rq_bytes + s->reorder_bytes;
        if (used + len > ctx->cfg.recv_buffer_size) {
            ctx->stats.redundant_pkts_in++;
            return;
        }
    }
    if (seq == (uint16_t)(s->ack_nr + 1)) {
        if (len) {
            utp_in_pkt *c = make_chunk(p->payload, len);
            if (!c)
                return; /* not acknowledged: it comes again */
            s->bytes_received += len;
            queue_in_order(s, c);
        }
        s->ack_nr = seq;
        pull_in_order(s);
        return;
    }
    if (p->h.type == SW_UTP_ST_FIN)
        return; /* remembered in got_fin; reached when the gap fills */
    uint32_t dist = (uint16_t)(seq - s->ack_nr); /* >= 2 */
    if (dist - 1 > UTP_MAX_OUT_PACKETS || !reorder_grow(s, dist)) {
        ctx->stats.redundant_pkts_in++;
        return;
    }
    utp_in_pkt **slot = &s->reorder[seq & s->reorder_mask];
    if (*slot) {
        ctx->stats.redundant_pkts_in++;
        return;
    }
    utp_in_pkt *c = make_chunk(p->payload, len);
    if (!c)
        return;
    *slot = c;
    s->reorder_count++;
    s->reorder_bytes += (uint32_t)len;
    s->bytes_received += len;
    if (s->reorder_count == 1 || sw__utp_seq_less(s->reorder_max, seq))
        s->reorder_max = seq;
}

/* ---- state ---- */

static void after_fin_progress(sw_utp_socket *s)
{
    if (s->eof_reached && !s->fin_wanted && !s->fin_sent && s->state == SW_UTP_STATE_CONNECTED) {
        /* The remote finished: answer with our FIN (as libtorrent does; uTP
         * connections are not half-closed). Writes not yet in packets would
         * only be discarded by the remote. */
        s->fin_wanted = true;
        sw__utp_cancel_writes(s, UV_EPIPE);
    }
    if (s->fin_acked && s->state == SW_UTP_STATE_FIN_SENT) {
        if (s->eof_reached)
            s->state = SW_UTP_STATE_DONE;
        else if (!s->linger_until)
            s->linger_until = now_ms(s) + 2ull * sw__utp_packet_timeout_ms(s);
    }
}

void sw__utp_socket_accept_syn(sw_utp_socket *s, const sw_utp_packet *p)
{
    sw_utp_ctx *ctx = s->ctx;
    s->state = SW_UTP_STATE_CONNECTED;
    s->ack_nr = p->h.seq_nr;
    s->seq_nr = (uint16_t)sw__utp_random(ctx);
    s->acked_seq_nr = (uint16_t)(s->seq_nr - 1);
    s->fast_resend_seq_nr = s->seq_nr;
    s->loss_seq_nr = s->acked_seq_nr;
    s->adv_wnd = p->h.wnd_size;
    if (p->h.timestamp_us)
        s->reply_micro = (uint32_t)sw__utp_now_us() - p->h.timestamp_us;
    s->ack_needed = true;
    s->accept_pending = true;
    s->confirmed = false;
    sw__utp_mark_dirty(s);
}

void sw__utp_socket_incoming(sw_utp_socket *s, const sw_utp_packet *p, uint64_t now_us)
{
    sw_utp_ctx *ctx = s->ctx;
    const sw_utp_header *h = &p->h;

    if (sw__utp_socket_finished(s)) {
        /* Our answer to their FIN was lost: acknowledge it again. */
        if (s->state == SW_UTP_STATE_DONE && h->type == SW_UTP_ST_FIN)
            sw__utp_send_control(s, SW_UTP_ST_STATE);
        ctx->stats.redundant_pkts_in++;
        return;
    }

    uint16_t last_sent = (uint16_t)(s->seq_nr - 1);
    if (s->state == SW_UTP_STATE_SYN_SENT) {
        if (h->ack_nr != s->syn_seq) {
            ctx->stats.redundant_pkts_in++;
            return;
        }
    } else if (sw__utp_seq_less(last_sent, h->ack_nr) ||
               sw__utp_seq_less(h->ack_nr, (uint16_t)(s->acked_seq_nr - UTP_DUP_ACK_LIMIT))) {
        /* Acknowledges what we never sent, or is far behind: injected or
         * stale, and not worth breaking the connection over. */
        ctx->stats.redundant_pkts_in++;
        return;
    }

    if (h->type == SW_UTP_ST_RESET) {
        sw__utp_socket_fail(s, s->state == SW_UTP_STATE_SYN_SENT ? UV_ECONNREFUSED : UV_ECONNRESET);
        return;
    }

    /* A data or FIN packet too far ahead cannot be buffered; it also carries
     * nothing we trust enough to act on. */
    if ((h->type == SW_UTP_ST_DATA || h->type == SW_UTP_ST_FIN) &&
        s->state != SW_UTP_STATE_SYN_SENT &&
        (uint16_t)(h->seq_nr - s->ack_nr) > UTP_MAX_OUT_PACKETS + 1 &&
        sw__utp_seq_less(s->ack_nr, h->seq_nr)) {
        ctx->stats.redundant_pkts_in++;
        return;
    }

    if (h->type == SW_UTP_ST_DATA)
        ctx->stats.payload_pkts_in++;
    if (h->timestamp_us)
        s->reply_micro = (uint32_t)now_us - h->timestamp_us;

    if (s->state == SW_UTP_STATE_SYN_SENT) {
        /* The answer to our SYN. A STATE carries the remote's next seq_nr,
         * a DATA packet its first: either way ack_nr is one before. */
        s->state = SW_UTP_STATE_CONNECTED;
        s->ack_nr = (uint16_t)(h->seq_nr - 1);
        if (s->syn_sends == 1) {
            uint64_t rtt = now_us > s->syn_sent_us ? now_us - s->syn_sent_us : 0;
            sw__utp_rtt_sample(&s->rtt, rtt > UINT32_MAX ? UINT32_MAX : (uint32_t)rtt);
        }
        s->timeout_at = 0;
        s->connect_ready = true;
        s->connect_status = 0;
    }
    s->confirmed = true;
    s->num_timeouts = 0;
    s->adv_wnd = h->wnd_size;

    ack_tally t = {.min_rtt_us = UINT64_MAX};
    uint32_t in_flight_before = s->in_flight;
    bool had_outstanding = s->seq_nr != (uint16_t)(s->acked_seq_nr + 1);
    if (sw__utp_seq_less(s->acked_seq_nr, h->ack_nr)) {
        for (uint16_t seq = (uint16_t)(s->acked_seq_nr + 1);; seq++) {
            ack_packet(s, seq, now_us, &t);
            if (seq == h->ack_nr)
                break;
        }
        s->acked_seq_nr = h->ack_nr;
        s->dup_acks = 0;
        if (sw__utp_seq_less(s->fast_resend_seq_nr, (uint16_t)(h->ack_nr + 1)))
            s->fast_resend_seq_nr = (uint16_t)(h->ack_nr + 1);
    } else if (h->ack_nr == s->acked_seq_nr && h->type == SW_UTP_ST_STATE && had_outstanding) {
        s->dup_acks++;
    }
    if (p->sack)
        handle_sack(s, h->ack_nr, p->sack, p->sack_len, now_us, &t);

    /* Delay: what the remote measured for our packets, relative to the
     * lowest it measured in the last minutes. */
    uint64_t ms = now_ms(s);
    if (h->timestamp_diff_us != 0 && h->timestamp_diff_us != (uint32_t)INT32_MAX) {
        uint32_t d = sw__utp_delay_hist_add(&s->delay_hist, h->timestamp_diff_us, ms);
        s->recent_delay[s->recent_idx] = d;
        s->recent_idx = (s->recent_idx + 1) % 3;
        if (t.acked_bytes && in_flight_before) {
            /* The minimum of the last three filters noise; a one-way delay
             * cannot exceed the round trip. */
            uint32_t delay = s->recent_delay[0];
            for (unsigned i = 1; i < 3; i++)
                if (s->recent_delay[i] < delay)
                    delay = s->recent_delay[i];
            if (t.min_rtt_us < delay)
                delay = (uint32_t)t.min_rtt_us;
            s->last_delay_us = delay;
            sw_utp_cc_params cp;
            sw__utp_cc_params(s, &cp);
            if (sw__utp_cc_on_ack(&s->cc, &cp, t.acked_bytes, delay, in_flight_before,
                                  s->in_flight))
                ctx->stats.samples_above_target++;
            else
                ctx->stats.samples_below_target++;
        }
    }

    /* Three duplicate ACKs: the packet after ack_nr is lost. */
    if (s->dup_acks >= UTP_DUP_ACK_LIMIT) {
        uint16_t seq = (uint16_t)(s->acked_seq_nr + 1);
        utp_out_pkt *lost = sw__utp_out_at(s, seq);
        if (lost && seq == s->fast_resend_seq_nr) {
            s->fast_resend_seq_nr = (uint16_t)(seq + 1);
            fast_retransmit(s, lost);
        }
    }

    if (t.any) {
        /* Progress restarts the retransmission timer. */
        bool outstanding = s->seq_nr != (uint16_t)(s->acked_seq_nr + 1);
        s->timeout_at = outstanding ? ms + sw__utp_packet_timeout_ms(s) : 0;
    }

    if (h->type == SW_UTP_ST_FIN && !s->got_fin) {
        s->got_fin = true;
        s->eof_seq = h->seq_nr;
    }
    if (h->type == SW_UTP_ST_DATA || h->type == SW_UTP_ST_FIN)
        incoming_payload(s, p);
    after_fin_progress(s);
    sw__utp_mark_dirty(s);
}
