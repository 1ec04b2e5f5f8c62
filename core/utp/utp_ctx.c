/* The uTP context: configuration, the socket table keyed by (remote, receive
 * connection id), demultiplexing of incoming datagrams, the dispatch that
 * runs sends and owner callbacks once per loop iteration, and the tick that
 * drives timeouts. */
#include <stdlib.h>
#include <string.h>

#include <openssl/rand.h>

#include "base/base.h"
#include "utp_internal.h"

/* ---- configuration ---- */

void sw__utp_config_init(sw_utp_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->target_delay_ms = 100;
    cfg->gain_factor = 3000;
    cfg->min_timeout_ms = 500;
    cfg->syn_resends = 2;
    cfg->fin_resends = 2;
    cfg->num_resends = 3;
    cfg->connect_timeout_ms = 3000;
    cfg->loss_multiplier = 50;
    cfg->packet_size = 1400;
    cfg->loopback_packet_size = 1400;
    cfg->max_packet_size = 1472; /* 1500-byte frame less IPv4 and UDP headers */
    cfg->mtu_discovery = true;
    cfg->recv_buffer_size = 2u << 20;
    cfg->nagle = true;
    cfg->keepalive_ms = 29000;
    cfg->max_sockets = 4096;
}

static uint32_t non_negative(int v)
{
    return v > 0 ? (uint32_t)v : 0;
}

void sw__utp_config_from_settings(sw_utp_config *cfg, const sw_settings *s)
{
    cfg->target_delay_ms = non_negative(sw__settings_int(s, SW_SET_UTP_TARGET_DELAY));
    cfg->gain_factor = non_negative(sw__settings_int(s, SW_SET_UTP_GAIN_FACTOR));
    cfg->min_timeout_ms = non_negative(sw__settings_int(s, SW_SET_UTP_MIN_TIMEOUT));
    cfg->syn_resends = non_negative(sw__settings_int(s, SW_SET_UTP_SYN_RESENDS));
    cfg->fin_resends = non_negative(sw__settings_int(s, SW_SET_UTP_FIN_RESENDS));
    cfg->num_resends = non_negative(sw__settings_int(s, SW_SET_UTP_NUM_RESENDS));
    cfg->connect_timeout_ms = non_negative(sw__settings_int(s, SW_SET_UTP_CONNECT_TIMEOUT));
    cfg->loss_multiplier = non_negative(sw__settings_int(s, SW_SET_UTP_LOSS_MULTIPLIER));
}

static uint32_t clamp_packet(uint32_t size)
{
    if (size < UTP_MIN_PACKET_SIZE)
        return UTP_MIN_PACKET_SIZE;
    return size > UTP_MAX_PACKET_SIZE ? UTP_MAX_PACKET_SIZE : size;
}

static void sanitize(sw_utp_config *c)
{
    c->packet_size = clamp_packet(c->packet_size);
    c->loopback_packet_size = clamp_packet(c->loopback_packet_size);
    c->max_packet_size = clamp_packet(c->max_packet_size);
    if (c->loss_multiplier > 100)
        c->loss_multiplier = 100;
    /* A buffer that cannot hold two full packets would stall the stream. */
    uint32_t biggest =
        c->packet_size > c->loopback_packet_size ? c->packet_size : c->loopback_packet_size;
    if (c->max_packet_size > biggest)
        biggest = c->max_packet_size;
    if (c->recv_buffer_size < 2 * biggest)
        c->recv_buffer_size = 2 * biggest;
    if (c->connect_timeout_ms == 0)
        c->connect_timeout_ms = 1;
}

/* ---- randomness and time ---- */

uint32_t sw__utp_random(sw_utp_ctx *ctx)
{
    /* splitmix64: ids and initial sequence numbers only need to be hard to
     * guess for an off-path sender, and the seed comes from the system. */
    uint64_t z = (ctx->rng += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return (uint32_t)((z ^ (z >> 31)) >> 16);
}

uint64_t sw__utp_now_us(void)
{
    return uv_hrtime() / 1000;
}

/* ---- the socket table ---- */

static uint32_t key_hash(const sw_endpoint *ep, uint16_t id)
{
    uint32_t h = sw__endpoint_hash(ep) ^ ((uint32_t)id * 0x9e3779b1u);
    return h ^ (h >> 15);
}

sw_utp_socket *sw__utp_lookup(sw_utp_ctx *ctx, const sw_endpoint *ep, uint16_t recv_id)
{
    sw_utp_socket *s = ctx->buckets[key_hash(ep, recv_id) & ctx->bucket_mask];
    for (; s; s = s->hash_next)
        if (s->recv_id == recv_id && sw__endpoint_equal(&s->remote, ep))
            return s;
    return NULL;
}

static int grow_table(sw_utp_ctx *ctx)
{
    uint32_t n = (ctx->bucket_mask + 1) * 2;
    sw_utp_socket **b = calloc(n, sizeof *b);
    if (!b)
        return SW_ERR_NOMEM;
    for (uint32_t i = 0; i <= ctx->bucket_mask; i++) {
        sw_utp_socket *s = ctx->buckets[i];
        while (s) {
            sw_utp_socket *next = s->hash_next;
            uint32_t j = key_hash(&s->remote, s->recv_id) & (n - 1);
            s->hash_next = b[j];
            b[j] = s;
            s = next;
        }
    }
    free(ctx->buckets);
    ctx->buckets = b;
    ctx->bucket_mask = n - 1;
    return 0;
}

static void on_tick(uv_timer_t *t);

int sw__utp_register(sw_utp_ctx *ctx, sw_utp_socket *s)
{
    if (ctx->count + 1 > (ctx->bucket_mask + 1) * 2) {
        int rc = grow_table(ctx);
        if (rc < 0)
            return rc;
    }
    uint32_t i = key_hash(&s->remote, s->recv_id) & ctx->bucket_mask;
    s->hash_next = ctx->buckets[i];
    ctx->buckets[i] = s;
    s->next = ctx->all;
    if (ctx->all)
        ctx->all->prev = s;
    ctx->all = s;
    ctx->count++;
    if (!ctx->tick_active) {
        uv_timer_start(&ctx->tick, on_tick, UTP_TICK_MS, UTP_TICK_MS);
        ctx->tick_active = true;
    }
    return 0;
}

void sw__utp_unregister(sw_utp_ctx *ctx, sw_utp_socket *s)
{
    sw_utp_socket **pp = &ctx->buckets[key_hash(&s->remote, s->recv_id) & ctx->bucket_mask];
    for (; *pp; pp = &(*pp)->hash_next) {
        if (*pp == s) {
            *pp = s->hash_next;
            break;
        }
    }
    if (s->prev)
        s->prev->next = s->next;
    else if (ctx->all == s)
        ctx->all = s->next;
    if (s->next)
        s->next->prev = s->prev;
    s->prev = s->next = NULL;
    ctx->count--;
    if (ctx->count == 0 && ctx->tick_active) {
        uv_timer_stop(&ctx->tick);
        ctx->tick_active = false;
    }
}

/* ---- dispatch ---- */

static void on_idle(uv_idle_t *h);
static void finish_close(sw_utp_ctx *ctx);

void sw__utp_mark_dirty(sw_utp_socket *s)
{
    sw_utp_ctx *ctx = s->ctx;
    if (s->dirty)
        return;
    s->dirty = true;
    s->dirty_next = NULL;
    if (ctx->dirty_tail)
        ctx->dirty_tail->dirty_next = s;
    else
        ctx->dirty_head = s;
    ctx->dirty_tail = s;
    if (!ctx->idle_active) {
        uv_idle_start(&ctx->idle, on_idle);
        ctx->idle_active = true;
    }
}

static void flush_sends(sw_utp_ctx *ctx)
{
    if (ctx->unflushed && ctx->cfg.flush) {
        ctx->unflushed = false;
        ctx->cfg.flush(ctx->cfg.user);
    }
}

static void on_idle(uv_idle_t *h)
{
    sw_utp_ctx *ctx = h->data;
    ctx->in_dispatch = true;
    /* Take the current list; sockets dirtied while it runs wait for the next
     * pass, so an owner that writes from every callback cannot keep us here. */
    sw_utp_socket *s = ctx->dirty_head;
    ctx->dirty_head = ctx->dirty_tail = NULL;
    while (s) {
        sw_utp_socket *next = s->dirty_next;
        s->dirty_next = NULL;
        s->dirty = false;
        sw__utp_socket_dispatch(s);
        s = next;
    }
    ctx->in_dispatch = false;
    flush_sends(ctx);
    if (!ctx->dirty_head && ctx->idle_active) {
        uv_idle_stop(&ctx->idle);
        ctx->idle_active = false;
    }
    if (ctx->closing && ctx->count == 0)
        finish_close(ctx);
}

static void on_tick(uv_timer_t *t)
{
    sw_utp_ctx *ctx = t->data;
    uint64_t now = uv_now(ctx->loop);
    ctx->in_dispatch = true;
    for (sw_utp_socket *s = ctx->all; s; s = s->next)
        sw__utp_socket_tick(s, now);
    ctx->in_dispatch = false;
    flush_sends(ctx);
}

static void on_retry(uv_timer_t *t)
{
    sw_utp_ctx *ctx = t->data;
    ctx->retry_active = false;
    sw__utp_ctx_writable(ctx);
}

void sw__utp_ctx_writable(sw_utp_ctx *ctx)
{
    if (ctx->retry_active) {
        uv_timer_stop(&ctx->retry);
        ctx->retry_active = false;
    }
    if (!ctx->any_stalled)
        return;
    ctx->any_stalled = false;
    for (sw_utp_socket *s = ctx->all; s; s = s->next) {
        if (s->stalled) {
            s->stalled = false;
            sw__utp_mark_dirty(s);
        }
    }
}

/* ---- sending ---- */

static int after_send(sw_utp_ctx *ctx, sw_utp_socket *s, int rc);

int sw__utp_send_raw(sw_utp_ctx *ctx, sw_utp_socket *s, const struct sockaddr *to,
                     const uint8_t *data, size_t len)
{
    return after_send(ctx, s, ctx->cfg.send(ctx->cfg.user, to, data, len));
}

int sw__utp_send_raw_probe(sw_utp_ctx *ctx, sw_utp_socket *s, const struct sockaddr *to,
                           const uint8_t *data, size_t len)
{
    int rc = ctx->cfg.send_probe(ctx->cfg.user, to, data, len);
    if (rc == UV_EMSGSIZE)
        return rc; /* nothing went out; the caller sends it the ordinary way */
    return after_send(ctx, s, rc);
}

static int after_send(sw_utp_ctx *ctx, sw_utp_socket *s, int rc)
{
    if (rc == UV_EAGAIN || rc == UV_ENOBUFS) {
        ctx->stats.send_stalls++;
        if (s) {
            s->stalled = true;
            ctx->any_stalled = true;
            if (!ctx->retry_active && !ctx->closing) {
                uv_timer_start(&ctx->retry, on_retry, UTP_STALL_RETRY_MS, 0);
                ctx->retry_active = true;
            }
        }
        return rc;
    }
    ctx->stats.packets_out++;
    if (rc < 0)
        ctx->stats.send_failures++;
    if (ctx->cfg.flush && !ctx->unflushed) {
        ctx->unflushed = true;
        /* Sent from outside the dispatch (an answer to a received datagram,
         * an abort): the next idle pass flushes it. */
        if (!ctx->in_dispatch && !ctx->idle_active && !ctx->closing) {
            uv_idle_start(&ctx->idle, on_idle);
            ctx->idle_active = true;
        }
    }
    return rc;
}

/* Refuses a SYN, or answers a packet for a connection we do not have. The
 * connection id is the one the SYN carried: the initiator receives on it. */
static void send_reset_reply(sw_utp_ctx *ctx, const struct sockaddr *to, const sw_utp_packet *p)
{
    uint8_t buf[SW_UTP_HEADER_SIZE];
    uint32_t now = (uint32_t)sw__utp_now_us();
    sw_utp_header h = {
        .type = SW_UTP_ST_RESET,
        .conn_id = p->h.conn_id,
        .timestamp_us = now,
        .timestamp_diff_us = p->h.timestamp_us ? now - p->h.timestamp_us : 0,
        .wnd_size = 0,
        .seq_nr = (uint16_t)sw__utp_random(ctx),
        .ack_nr = p->h.seq_nr,
    };
    size_t n = sw__utp_header_write(buf, &h, NULL, 0);
    sw__utp_send_raw(ctx, NULL, to, buf, n);
}

/* ---- incoming ---- */

static void incoming_syn(sw_utp_ctx *ctx, const sw_endpoint *ep, const struct sockaddr *from,
                         const sw_utp_packet *p)
{
    /* The initiator receives on conn_id and sends on conn_id + 1, which is
     * the id we receive on. A socket already keyed so is this SYN resent
     * (our answer was lost): answer again. */
    uint16_t our_recv = (uint16_t)(p->h.conn_id + 1);
    sw_utp_socket *dup = sw__utp_lookup(ctx, ep, our_recv);
    if (dup) {
        if (!dup->outgoing && dup->send_id == p->h.conn_id &&
            dup->state == SW_UTP_STATE_CONNECTED) {
            dup->ack_needed = true;
            sw__utp_mark_dirty(dup);
        } else {
            ctx->stats.redundant_pkts_in++;
        }
        return;
    }
    if (!ctx->cfg.on_accept) {
        send_reset_reply(ctx, from, p);
        return;
    }
    if (ctx->count >= ctx->cfg.max_sockets) {
        ctx->stats.redundant_pkts_in++; /* a SYN flood, or simply full */
        return;
    }
    sw_utp_socket *s = sw__utp_socket_new(ctx, ep);
    if (!s)
        return;
    s->recv_id = our_recv;
    s->send_id = p->h.conn_id;
    /* Answer to the exact address the SYN came from (an IPv4-mapped IPv6
     * sender stays in its family). */
    size_t salen =
        from->sa_family == AF_INET6 ? sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in);
    memcpy(&s->remote_sa, from, salen);
    if (sw__utp_register(ctx, s) < 0) {
        sw__utp_socket_free(s);
        return;
    }
    sw__utp_socket_accept_syn(s, p);
}

bool sw__utp_on_packet(sw_utp_ctx *ctx, const uint8_t *data, size_t len,
                       const struct sockaddr *from)
{
    if (!sw__utp_packet_looks_like_utp(data, len))
        return false;
    if (ctx->closing)
        return true;
    ctx->stats.packets_in++;
    sw_utp_packet p;
    sw_endpoint ep;
    if (sw__utp_packet_parse(data, len, &p, NULL) != 0 ||
        sw__endpoint_from_sockaddr(&ep, from) != 0) {
        ctx->stats.invalid_pkts_in++;
        return true;
    }
    uint64_t now_us = sw__utp_now_us();
    if (p.h.type == SW_UTP_ST_SYN) {
        incoming_syn(ctx, &ep, from, &p);
        return true;
    }
    sw_utp_socket *s = sw__utp_lookup(ctx, &ep, p.h.conn_id);
    if (s) {
        sw__utp_socket_incoming(s, &p, now_us);
        return true;
    }
    /* No such connection: a stray packet of one we forgot, or a guess. Not
     * answered with a reset (a spoofed source would make us a reflector). */
    ctx->stats.redundant_pkts_in++;
    return true;
}

/* ---- lifetime ---- */

int sw__utp_ctx_new(uv_loop_t *loop, const sw_utp_config *cfg, sw_utp_ctx **ctx_out)
{
    if (!loop || !cfg || !cfg->send || !ctx_out)
        return SW_ERR_INVALID_ARG;
    sw_utp_ctx *ctx = calloc(1, sizeof *ctx);
    if (!ctx)
        return SW_ERR_NOMEM;
    ctx->buckets = calloc(64, sizeof *ctx->buckets);
    if (!ctx->buckets) {
        free(ctx);
        return SW_ERR_NOMEM;
    }
    ctx->bucket_mask = 63;
    ctx->loop = loop;
    ctx->cfg = *cfg;
    sanitize(&ctx->cfg);
    ctx->rng = cfg->rng_seed;
    if (ctx->rng == 0 && RAND_bytes((unsigned char *)&ctx->rng, sizeof ctx->rng) != 1)
        ctx->rng = uv_hrtime() ^ (uint64_t)(uintptr_t)ctx;
    uv_timer_init(loop, &ctx->tick);
    uv_idle_init(loop, &ctx->idle);
    uv_timer_init(loop, &ctx->retry);
    ctx->tick.data = ctx;
    ctx->idle.data = ctx;
    ctx->retry.data = ctx;
    ctx->open_handles = 3;
    *ctx_out = ctx;
    return 0;
}

void sw__utp_ctx_set_config(sw_utp_ctx *ctx, const sw_utp_config *cfg)
{
    uint64_t rng = ctx->rng;
    ctx->cfg = *cfg;
    sanitize(&ctx->cfg);
    ctx->rng = rng;
}

void sw__utp_ctx_stats(const sw_utp_ctx *ctx, sw_utp_stats *out)
{
    *out = ctx->stats;
    out->num_idle = out->num_syn_sent = out->num_connected = 0;
    out->num_fin_sent = out->num_close_wait = 0;
    out->num_sockets = ctx->count;
    for (const sw_utp_socket *s = ctx->all; s; s = s->next) {
        if (!s->attached && !sw__utp_socket_finished(s)) {
            out->num_close_wait++;
            continue;
        }
        switch (s->state) {
        case SW_UTP_STATE_SYN_SENT:
            out->num_syn_sent++;
            break;
        case SW_UTP_STATE_CONNECTED:
            if (s->seq_nr == (uint16_t)(s->acked_seq_nr + 1))
                out->num_idle++;
            else
                out->num_connected++;
            break;
        case SW_UTP_STATE_FIN_SENT:
            out->num_fin_sent++;
            break;
        case SW_UTP_STATE_DONE:
        case SW_UTP_STATE_ERROR:
            break;
        }
    }
}

static void on_handle_closed(uv_handle_t *h)
{
    sw_utp_ctx *ctx = h->data;
    if (--ctx->open_handles > 0)
        return;
    void (*cb)(void *) = ctx->close_cb;
    void *user = ctx->close_user;
    free(ctx->buckets);
    free(ctx);
    if (cb)
        cb(user);
}

static void finish_close(sw_utp_ctx *ctx)
{
    if (ctx->open_handles != 3 || uv_is_closing((uv_handle_t *)&ctx->tick))
        return;
    flush_sends(ctx);
    uv_close((uv_handle_t *)&ctx->tick, on_handle_closed);
    uv_close((uv_handle_t *)&ctx->idle, on_handle_closed);
    uv_close((uv_handle_t *)&ctx->retry, on_handle_closed);
}

void sw__utp_ctx_close(sw_utp_ctx *ctx, void (*cb)(void *user), void *user)
{
    if (ctx->closing)
        return;
    ctx->closing = true;
    ctx->close_cb = cb;
    ctx->close_user = user;
    if (ctx->count == 0) {
        finish_close(ctx);
        return;
    }
    /* The dispatch cancels what owners still have queued and frees every
     * socket; the last one out closes the handles. */
    for (sw_utp_socket *s = ctx->all; s; s = s->next)
        sw__utp_mark_dirty(s);
}
