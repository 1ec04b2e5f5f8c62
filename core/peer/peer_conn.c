/* Peer connections: creation (outgoing connects and accepted sockets),
 * attaching to a swarm, closing and freeing, timeouts. */
#include <stdlib.h>
#include <string.h>

#include "peer_limits.h"
#include "peer_mse.h"

/* Seconds an outgoing TCP connect may take (libtorrent's
 * peer_connect_timeout). */
#define SW_PEER_CONNECT_TIMEOUT_MS 15000
/* Send a keep-alive after this long without sending anything. */
#define SW_PEER_KEEPALIVE_MS 60000

sw_peer_conn *sw__peer_conn_alloc(sw_peer_env *env)
{
    sw_peer_conn *pc = calloc(1, sizeof *pc);
    if (!pc)
        return NULL;
    pc->env = env;
    pc->id = ++env->next_conn_id;
    env->live_conns++;
    sw__wire_hs_reader_init(&pc->hs);
    sw_wire_parser_opts po;
    sw__wire_parser_opts_init(&po);
    /* A bitfield of the largest piece count a torrent may have fits. */
    po.max_message = 1u << 21;
    if (sw__wire_parser_init(&pc->parser, &po) < 0) {
        env->live_conns--;
        free(pc);
        return NULL;
    }
    sw__bitfield_init(&pc->have);
    pc->peer_choking = true;
    pc->am_choking = true;
    pc->suggested = -1;
    pc->slow_start = true;
    pc->desired_queue = 4;
    pc->reqq = 250;
    pc->connected_ms = env->now_ms;
    pc->last_recv_ms = env->now_ms;
    pc->last_send_ms = env->now_ms;
    return pc;
}

static void list_unlink(sw_peer_conn **head, sw_peer_conn *pc)
{
    if (pc->prev)
        pc->prev->next = pc->next;
    else if (*head == pc)
        *head = pc->next;
    if (pc->next)
        pc->next->prev = pc->prev;
    pc->prev = pc->next = NULL;
}

static void list_push(sw_peer_conn **head, sw_peer_conn *pc)
{
    pc->prev = NULL;
    pc->next = *head;
    if (*head)
        (*head)->prev = pc;
    *head = pc;
}

void sw__peer_conn_maybe_free(sw_peer_conn *pc)
{
    if (pc->state != SW_PEER_CLOSING || pc->stream || pc->pending_jobs > 0 || pc->write_in_flight)
        return;
    sw_swarm *sw = pc->swarm;
    if (pc->plugins && pc->env->ext && pc->env->ext->on_free)
        pc->env->ext->on_free(pc->env->ext_ctx, pc);
    sw__peer_send_free_all(pc);
    free(pc->wbatch.buf);
    sw__wire_parser_free(&pc->parser);
    sw__bitfield_free(&pc->have);
    free(pc->out);
    free(pc->in);
    free(pc->rbuf);
    pc->env->live_conns--;
    free(pc);
    if (sw)
        sw__swarm_release_ref(sw);
}

static void on_stream_closed(sw_stream *s)
{
    sw_peer_conn *pc = s->data;
    pc->stream = NULL;
    sw__peer_conn_maybe_free(pc);
}

bool sw__peer_conn_is_seed(const sw_peer_conn *pc)
{
    return pc->avail_seed || (pc->have.size > 0 && sw__bitfield_all(&pc->have));
}

void sw__peer_conn_close(sw_peer_conn *pc, int error, const char *op)
{
    if (pc->state == SW_PEER_CLOSING)
        return;
    sw_peer_env *env = pc->env;
    int prev_state = pc->state;
    pc->state = SW_PEER_CLOSING;
    pc->close_error = error;
    pc->close_op = op;
    if (pc->plugins && env->ext && env->ext->on_disconnect)
        env->ext->on_disconnect(env->ext_ctx, pc, error);
    env->num_conns--;
    if (pc->counted_half_open) {
        pc->counted_half_open = false;
        env->num_half_open--;
    }
    bool was_unchoked = !pc->am_choking;
    if (was_unchoked) {
        pc->am_choking = true;
        env->num_unchoked--;
        if (pc->swarm)
            pc->swarm->num_unchoked--;
    }
    sw_swarm *sw = pc->swarm;
    if (sw) {
        sw_peer_entry *e = pc->entry;
        if (e) {
            uint64_t backoff = (uint64_t)SW_ENV_INT(env, MIN_RECONNECT_TIME) * 1000;
            if (prev_state == SW_PEER_HANDSHAKE && sw__peer_mse_failed_retry_plain(pc)) {
                /* Encryption failed, not the peer: retry in plaintext now. */
                e->next_try_ms = env->now_ms;
            } else if (prev_state != SW_PEER_ACTIVE) {
                if (e->failcount < 255)
                    e->failcount++;
                e->next_try_ms = env->now_ms + backoff * e->failcount;
            } else {
                e->next_try_ms = env->now_ms + backoff;
            }
            e->seed = sw__peer_conn_is_seed(pc);
            e->conn = NULL;
        }
        /* Blocks already received still go to disk. */
        sw__peer_flush_writes(pc);
        sw__peer_abort_requests(pc, false);
        sw__swarm_conn_closed(sw, pc);
        list_unlink(&sw->conns, pc);
        sw->num_conns--;
        if (prev_state == SW_PEER_ACTIVE)
            sw__swarm_emit(sw, pc, SW_ALERT_PEER_DISCONNECTED, error, op);
        else if (pc->outgoing)
            sw__swarm_emit(sw, pc, SW_ALERT_PEER_ERROR, error, op);
    } else {
        list_unlink(&env->unattached, pc);
    }
    /* Queued requests are dropped; reads in flight finish and are freed. */
    for (int i = 0; i < pc->num_in; i++)
        pc->in[i].cancelled = true;
    if (pc->stream)
        sw__stream_close(pc->stream, on_stream_closed);
    if (was_unchoked)
        sw__choker_trigger(env);
    sw__peer_conn_maybe_free(pc);
}

bool sw__peer_env_can_connect(const sw_peer_env *env)
{
    return SW_ENV_BOOL(env, ENABLE_OUTGOING_TCP) ||
           (env->utp && SW_ENV_BOOL(env, ENABLE_OUTGOING_UTP));
}

/* Opens pc's stream to e: over uTP first when outgoing uTP is on and the
 * peer has not failed it (as libtorrent does), else over TCP. */
static int open_stream(sw_peer_conn *pc, sw_peer_entry *e, sw_stream_connect_cb cb)
{
    sw_peer_env *env = pc->env;
    bool tcp = SW_ENV_BOOL(env, ENABLE_OUTGOING_TCP);
    bool utp = env->utp && SW_ENV_BOOL(env, ENABLE_OUTGOING_UTP);
    if (utp && (!e->no_utp || !tcp))
        return sw__stream_utp_connect(env->utp, &e->ep, &env->utp_local, cb, pc, &pc->stream);
    if (tcp)
        return sw__stream_tcp_connect(env->loop, &e->ep, NULL, cb, pc, &pc->stream);
    return SW_ERR_NOT_SUPPORTED;
}

static void on_connected(sw_stream *s, int status);

/* A uTP connect failed: the peer may speak TCP only. Remember that and try
 * TCP on the same connection. Returns true if a TCP connect started. */
static bool fall_back_to_tcp(sw_peer_conn *pc, sw_stream *s)
{
    sw_peer_env *env = pc->env;
    if (s->type != SW_SOCKET_UTP || !pc->entry)
        return false;
    pc->entry->no_utp = true;
    if (!SW_ENV_BOOL(env, ENABLE_OUTGOING_TCP))
        return false;
    pc->stream = NULL;
    sw__stream_close(s, NULL);
    if (open_stream(pc, pc->entry, on_connected) < 0) {
        pc->stream = NULL;
        return false;
    }
    pc->connected_ms = env->now_ms; /* the TCP connect gets its own time */
    return true;
}

static void on_connected(sw_stream *s, int status)
{
    sw_peer_conn *pc = s->data;
    if (status < 0 && fall_back_to_tcp(pc, s))
        return;
    if (pc->counted_half_open) {
        pc->counted_half_open = false;
        pc->env->num_half_open--;
    }
    if (status < 0) {
        sw__peer_conn_close(pc, status, "connect");
        return;
    }
    pc->state = SW_PEER_HANDSHAKE;
    pc->connected_ms = pc->env->now_ms;
    int mse_rc = sw__peer_mse_outgoing(pc);
    if (mse_rc < 0) {
        sw__peer_conn_close(pc, mse_rc, "encryption");
        return;
    }
    sw__peer_send_handshake(pc);
    sw__peer_conn_start_reading(pc);
}

int sw__peer_conn_connect(sw_swarm *sw, sw_peer_entry *e)
{
    sw_peer_env *env = sw->env;
    /* The filters may have changed since the peer was listed. */
    if (sw__peer_filter_blocks(env, sw, &e->ep, true, SW_SOCKET_TCP)) {
        e->next_try_ms = UINT64_MAX;
        return SW_ERR_BLOCKED_BY_IP_FILTER;
    }
    sw_peer_conn *pc = sw__peer_conn_alloc(env);
    if (!pc)
        return SW_ERR_NOMEM;
    pc->swarm = sw;
    pc->entry = e;
    pc->outgoing = true;
    pc->remote = e->ep;
    pc->state = SW_PEER_CONNECTING;
    sw__wire_parser_set_num_pieces(&pc->parser, (uint32_t)sw->num_pieces);
    int rc = sw__bitfield_init_size(&pc->have, (uint32_t)sw->num_pieces);
    if (rc == 0)
        rc = open_stream(pc, e, on_connected);
    if (rc < 0) {
        sw__wire_parser_free(&pc->parser);
        sw__bitfield_free(&pc->have);
        env->live_conns--;
        free(pc);
        if (e->failcount < 255)
            e->failcount++;
        e->next_try_ms = env->now_ms + (uint64_t)SW_ENV_INT(env, MIN_RECONNECT_TIME) * 1000;
        return rc;
    }
    e->conn = pc;
    list_push(&sw->conns, pc);
    sw->num_conns++;
    sw->refs++;
    env->num_conns++;
    env->num_half_open++;
    pc->counted_half_open = true;
    return 0;
}

void sw__peer_env_accept(sw_peer_env *env, sw_stream *s)
{
    int limit = SW_ENV_INT(env, CONNECTIONS_LIMIT);
    bool enabled = s->type == SW_SOCKET_UTP ? SW_ENV_BOOL(env, ENABLE_INCOMING_UTP)
                                            : SW_ENV_BOOL(env, ENABLE_INCOMING_TCP);
    if (!enabled) {
        /* As libtorrent does, a refused transport is a blocked peer. */
        sw__peer_filter_emit(env, NULL, &s->remote, s->type,
                             s->type == SW_SOCKET_UTP ? SW_BLOCKED_UTP_DISABLED
                                                      : SW_BLOCKED_TCP_DISABLED);
        sw__stream_close(s, NULL);
        return;
    }
    if (limit >= 0 && env->num_conns >= limit) {
        sw__stream_close(s, NULL);
        return;
    }
    /* Refused before a byte of the handshake is read or sent. */
    if (sw__peer_filter_blocks(env, NULL, &s->remote, false, s->type)) {
        sw__stream_close(s, NULL);
        return;
    }
    if (sw__peer_mse_incoming(env, &s) < 0) {
        sw__stream_close(s, NULL);
        return;
    }
    sw_peer_conn *pc = sw__peer_conn_alloc(env);
    if (!pc) {
        sw__stream_close(s, NULL);
        return;
    }
    s->data = pc;
    pc->stream = s;
    pc->remote = s->remote;
    pc->state = SW_PEER_HANDSHAKE;
    list_push(&env->unattached, pc);
    env->num_conns++;
    sw__env_emit(env, pc, SW_ALERT_INCOMING_CONNECTION, 0, NULL);
    sw__peer_conn_start_reading(pc);
}

bool sw__peer_conn_attach(sw_peer_conn *pc, sw_swarm *sw)
{
    sw_peer_env *env = pc->env;
    if (!sw->active || sw->closing || sw->checking)
        return false;
    if (sw__swarm_at_max_connections(sw))
        return false;
    if (sw__peer_filter_blocks(env, sw, &pc->remote, false,
                               pc->stream ? pc->stream->type : SW_SOCKET_TCP))
        return false;
    sw_peer_entry *e;
    int rc = sw__swarm_entry(sw, &pc->remote, SW_PEER_SRC_INCOMING, &e);
    if (rc < 0 || e->banned || e->conn)
        return false;
    if (sw__bitfield_init_size(&pc->have, (uint32_t)sw->num_pieces) < 0)
        return false;
    e->source |= SW_PEER_SRC_INCOMING;
    list_unlink(&env->unattached, pc);
    list_push(&sw->conns, pc);
    sw->num_conns++;
    sw->refs++;
    pc->swarm = sw;
    pc->entry = e;
    e->conn = pc;
    e->failcount = 0;
    sw__wire_parser_set_num_pieces(&pc->parser, (uint32_t)sw->num_pieces);
    return true;
}

void sw__peer_conn_tick(sw_peer_conn *pc)
{
    sw_peer_env *env = pc->env;
    uint64_t now = env->now_ms;
    switch (pc->state) {
    case SW_PEER_CONNECTING:
        if (now - pc->connected_ms > SW_PEER_CONNECT_TIMEOUT_MS)
            sw__peer_conn_close(pc, SW_ERR_TIMEOUT, "connect");
        return;
    case SW_PEER_HANDSHAKE:
        if (now - pc->connected_ms > (uint64_t)SW_ENV_INT(env, HANDSHAKE_TIMEOUT) * 1000)
            sw__peer_conn_close(pc, SW_ERR_TIMEOUT, "handshake");
        return;
    case SW_PEER_ACTIVE:
        break;
    default:
        return;
    }
    if (now - pc->last_recv_ms > (uint64_t)SW_ENV_INT(env, PEER_TIMEOUT) * 1000) {
        sw__peer_conn_close(pc, SW_ERR_TIMEOUT, "receive");
        return;
    }
    uint64_t last_payload =
        pc->last_payload_ms > pc->connected_ms ? pc->last_payload_ms : pc->connected_ms;
    if (!pc->am_interested && !pc->peer_interested &&
        now - last_payload > (uint64_t)SW_ENV_INT(env, INACTIVITY_TIMEOUT) * 1000) {
        sw__peer_conn_close(pc, SW_ERR_TIMEOUT, "inactivity");
        return;
    }
    sw__xfer_rates_update(&pc->rates, &pc->stats, env->tick_dt_ms ? env->tick_dt_ms : 1000);
    if (now - pc->last_send_ms > SW_PEER_KEEPALIVE_MS && pc->send_bytes == 0 &&
        !pc->write_in_flight) {
        uint8_t *p;
        if (sw__peer_send_reserve(pc, 4, &p) == 0) {
            memset(p, 0, 4);
            sw__peer_send_flush(pc);
        }
    }
    /* A batch of received blocks does not wait longer than a tick. */
    sw__peer_flush_writes(pc);
    sw__peer_request_tick(pc);
    if (pc->state == SW_PEER_ACTIVE)
        sw__peer_serve_more(pc);
}

void sw__peer_conn_info(const sw_peer_conn *pc, sw_peer_conn_info *out)
{
    memset(out, 0, sizeof *out);
    out->ep = pc->remote;
    out->peer_id = pc->peer_id;
    memcpy(out->client, pc->client, sizeof out->client);
    out->outgoing = pc->outgoing;
    out->seed = sw__peer_conn_is_seed(pc);
    out->snubbed = pc->snubbed;
    out->am_choking = pc->am_choking;
    out->am_interested = pc->am_interested;
    out->peer_choking = pc->peer_choking;
    out->peer_interested = pc->peer_interested;
    out->utp = pc->stream && pc->stream->type == SW_SOCKET_UTP;
    out->mse = sw__stream_mse_encrypted(pc->stream, &out->mse_rc4);
    out->fast = (pc->features & SW_WIRE_FEATURE_FAST) != 0;
    out->extension = (pc->features & SW_WIRE_FEATURE_EXTENSION) != 0;
    out->source = pc->entry ? pc->entry->source : 0;
    out->num_pieces = (int)sw__bitfield_count(&pc->have);
    out->requests_out = pc->num_out;
    out->requests_in = pc->num_in;
    out->desired_queue = pc->desired_queue;
    out->rate_down = pc->rates.payload_down.rate;
    out->rate_up = pc->rates.payload_up.rate;
    out->payload_down = pc->stats.payload_down;
    out->payload_up = pc->stats.payload_up;
    out->connected_ms = (int64_t)(pc->env->now_ms - pc->connected_ms);
    sw__peer_conn_bw_states(pc, &out->read_state, &out->write_state);
}

int sw__peer_env_live_conns(const sw_peer_env *env)
{
    return env->live_conns;
}
