/* The receive side of a peer connection: reading with back-pressure, the
 * handshake (including the torrent lookup for incoming connections), and
 * dispatching parsed messages. */
#include <stdlib.h>
#include <string.h>

#include "peer_conn_int.h"

static void on_alloc(sw_stream *s, size_t suggested, uv_buf_t *buf)
{
    (void)suggested;
    sw_peer_conn *pc = s->data;
    if (!pc->rbuf)
        pc->rbuf = malloc(SW_PEER_RECV_BUF);
    *buf = uv_buf_init((char *)pc->rbuf, pc->rbuf ? SW_PEER_RECV_BUF : 0);
}

static void process(sw_peer_conn *pc, const uint8_t *data, size_t len);

static void on_read(sw_stream *s, ssize_t nread, const uv_buf_t *buf)
{
    sw_peer_conn *pc = s->data;
    if (pc->state == SW_PEER_CLOSING)
        return;
    if (nread < 0) {
        sw__peer_conn_close(pc, (int)nread, nread == UV_EOF ? "eof" : "read");
        return;
    }
    if (nread == 0)
        return;
    sw_peer_env *env = pc->env;
    pc->last_recv_ms = env->now_ms = uv_now(env->loop);
    pc->stats.protocol_down += nread;
    if (pc->swarm)
        pc->swarm->stats.protocol_down += nread;
    env->stats.protocol_down += nread;
    process(pc, (const uint8_t *)buf->base, (size_t)nread);
    if (pc->state == SW_PEER_ACTIVE) {
        sw__peer_request_more(pc);
        sw__peer_send_flush(pc);
    }
}

void sw__peer_conn_start_reading(sw_peer_conn *pc)
{
    pc->stream->data = pc;
    pc->stream->alloc_cb = on_alloc;
    pc->stream->read_cb = on_read;
    int rc = sw__stream_read_start(pc->stream);
    if (rc < 0)
        sw__peer_conn_close(pc, rc, "read");
}

void sw__peer_conn_resume_reading(sw_peer_conn *pc)
{
    if (!pc->read_paused || pc->state == SW_PEER_CLOSING || !pc->stream)
        return;
    pc->read_paused = false;
    int rc = sw__stream_read_start(pc->stream);
    if (rc < 0)
        sw__peer_conn_close(pc, rc, "read");
}

/* ---- availability ---- */

void sw__peer_uncount(sw_peer_conn *pc)
{
    if (!pc->counted)
        return;
    sw_picker *p = pc->swarm->picker;
    if (pc->avail_seed)
        sw__picker_dec_have_all(p);
    else if (pc->have.bits)
        sw__picker_dec_bitfield(p, pc->have.bits);
    pc->counted = false;
    pc->avail_seed = false;
}

static void count(sw_peer_conn *pc)
{
    sw_picker *p = pc->swarm->picker;
    if (sw__bitfield_all(&pc->have)) {
        sw__picker_inc_have_all(p);
        pc->avail_seed = true;
    } else {
        sw__picker_inc_bitfield(p, pc->have.bits);
        pc->avail_seed = false;
    }
    pc->counted = true;
}

/* The peer's whole set changed (bitfield, have_all, have_none). */
static void set_changed(sw_peer_conn *pc)
{
    count(pc);
    if (pc->entry)
        pc->entry->seed = pc->avail_seed;
    sw__peer_update_interest(pc);
}

static void on_have(sw_peer_conn *pc, uint32_t index)
{
    if (sw__bitfield_get(&pc->have, index))
        return;
    sw__bitfield_set(&pc->have, index);
    sw_swarm *sw = pc->swarm;
    if (pc->counted && !pc->avail_seed) {
        if (sw__bitfield_all(&pc->have)) {
            /* The peer completed its set: count it as a seed (O(1) later). */
            sw__bitfield_clear(&pc->have, index);
            sw__picker_dec_bitfield(sw->picker, pc->have.bits);
            sw__bitfield_set(&pc->have, index);
            sw__picker_inc_have_all(sw->picker);
            pc->avail_seed = true;
            if (pc->entry)
                pc->entry->seed = true;
        } else {
            sw__picker_inc_have(sw->picker, (int)index);
        }
    }
    if (sw->super_seeding)
        sw__super_seed_on_have(pc, index);
    if (!pc->am_interested && sw__picker_is_wanted(sw->picker, (int)index) &&
        !sw->cfg.upload_mode) {
        pc->am_interested = true;
        sw__peer_send_simple(pc, SW_WIRE_ID_INTERESTED);
    }
    if (pc->avail_seed && sw__swarm_upload_only(sw))
        sw__peer_conn_close(pc, 0, "both seeds");
}

/* ---- handshake ---- */

static bool on_info_hash(sw_peer_conn *pc)
{
    const sw_wire_handshake *hs = sw__wire_hs_reader_result(&pc->hs);
    if (pc->outgoing) {
        if (memcmp(&hs->info_hash, &pc->swarm->info_hash, sizeof hs->info_hash) != 0) {
            sw__peer_conn_close(pc, SW_ERR_INFO_HASH_MISMATCH, "handshake");
            return false;
        }
        return true;
    }
    sw_peer_env *env = pc->env;
    sw_swarm *sw = env->find_swarm ? env->find_swarm(env->ctx, &hs->info_hash) : NULL;
    /* After MSE, the torrent named by its SKEY and no other. */
    if (sw && !sw__stream_mse_allows_info_hash(pc->stream, (const uint8_t *)&hs->info_hash))
        sw = NULL;
    if (!sw || !sw__peer_conn_attach(pc, sw)) {
        sw__peer_conn_close(pc, SW_ERR_INFO_HASH_MISMATCH, "handshake");
        return false;
    }
    sw__peer_send_handshake(pc);
    return pc->state != SW_PEER_CLOSING;
}

/* Two connections to the same peer: keep the one opened by the peer with
 * the lower id, so both ends drop the same connection. */
static bool keep_new_over(const sw_peer_conn *newc, const sw_peer_conn *old)
{
    if (newc->outgoing == old->outgoing)
        return false;
    bool we_are_lower = memcmp(&newc->env->peer_id, &newc->peer_id, sizeof newc->peer_id) < 0;
    /* The connection opened by the lower id survives. */
    return newc->outgoing == we_are_lower;
}

static bool on_handshake_done(sw_peer_conn *pc)
{
    const sw_wire_handshake *hs = sw__wire_hs_reader_result(&pc->hs);
    sw_peer_env *env = pc->env;
    sw_swarm *sw = pc->swarm;
    pc->got_handshake = true;
    pc->peer_id = hs->peer_id;
    if (memcmp(&pc->peer_id, &env->peer_id, sizeof pc->peer_id) == 0) {
        if (pc->outgoing && pc->entry)
            pc->entry->banned = true; /* our own address: never dial it again */
        sw__peer_conn_close(pc, SW_ERR_SELF_CONNECTION, "handshake");
        return false;
    }
    for (sw_peer_conn *o = sw->conns; o; o = o->next) {
        if (o == pc || o->state != SW_PEER_ACTIVE ||
            memcmp(&o->peer_id, &pc->peer_id, sizeof pc->peer_id) != 0)
            continue;
        if (keep_new_over(pc, o)) {
            sw__peer_conn_close(o, SW_ERR_DUPLICATE_PEER, "handshake");
            break;
        }
        sw__peer_conn_close(pc, SW_ERR_DUPLICATE_PEER, "handshake");
        return false;
    }
    unsigned ours = SW_WIRE_FEATURE_EXTENSION | SW_WIRE_FEATURE_FAST;
    pc->features = ours & sw__wire_reserved_features(hs->reserved);
    sw__peer_id_client_name(&pc->peer_id, pc->client, sizeof pc->client);
    /* cswarm reads datagrams of any size (its peer ids start "-SW"). */
    if (pc->stream && memcmp(pc->peer_id.v, "-SW", 3) == 0)
        sw__stream_utp_remote_reads_large(pc->stream);
    pc->state = SW_PEER_ACTIVE;
    pc->connected_ms = env->now_ms;
    if (pc->entry)
        pc->entry->failcount = 0;
    if (!pc->outgoing)
        env->has_incoming = true;
    if (env->ext && env->ext->on_connect) {
        int rc = env->ext->on_connect(env->ext_ctx, pc);
        if (rc < 0 || pc->state != SW_PEER_ACTIVE) {
            sw__peer_conn_close(pc, rc < 0 ? rc : 0, "refused by a plugin");
            return false;
        }
    }
    if (sw->picker)
        set_changed(pc); /* an empty set until it says otherwise */
    sw__swarm_emit(sw, pc, SW_ALERT_PEER_CONNECT, 0, NULL);
    sw__peer_send_greeting(pc);
    return pc->state == SW_PEER_ACTIVE;
}

/* ---- messages ---- */

static void on_bitfield(sw_peer_conn *pc, const sw_wire_msg *m)
{
    sw__peer_uncount(pc);
    int rc = sw__bitfield_from_raw(&pc->have, m->data, m->len, (uint32_t)pc->swarm->num_pieces);
    if (rc < 0) {
        sw__peer_conn_close(pc, rc, "bitfield");
        return;
    }
    set_changed(pc);
    if (pc->avail_seed && sw__swarm_upload_only(pc->swarm))
        sw__peer_conn_close(pc, 0, "both seeds");
}

static void on_have_all(sw_peer_conn *pc, bool all)
{
    sw__peer_uncount(pc);
    if (all)
        sw__bitfield_set_all(&pc->have);
    else
        sw__bitfield_clear_all(&pc->have);
    set_changed(pc);
    if (pc->avail_seed && sw__swarm_upload_only(pc->swarm))
        sw__peer_conn_close(pc, 0, "both seeds");
}

static void on_allowed_fast(sw_peer_conn *pc, uint32_t index)
{
    for (int i = 0; i < pc->num_allowed_fast; i++)
        if (pc->allowed_fast[i] == index)
            return;
    if (pc->num_allowed_fast < SW_PEER_MAX_ALLOWED_FAST)
        pc->allowed_fast[pc->num_allowed_fast++] = index;
}

static void handle(sw_peer_conn *pc, const sw_wire_msg *m)
{
    sw_swarm *sw = pc->swarm;
    sw_wire_torrent_facts facts = sw->facts;
    facts.features = pc->features;
    char reason[128];
    if (sw__wire_msg_check(m, &facts, reason, sizeof reason) < 0) {
        sw__peer_conn_close(pc, SW_ERR_PROTOCOL, sw__wire_msg_kind_name(m->kind));
        return;
    }
    if (pc->plugins && pc->env->ext->on_message) {
        int rc = pc->env->ext->on_message(pc->env->ext_ctx, pc, m);
        if (rc < 0 && pc->state == SW_PEER_ACTIVE)
            sw__peer_conn_close(pc, rc, "plugin");
        if (rc != 0 || pc->state != SW_PEER_ACTIVE)
            return;
    }
    if (!sw->picker && sw__wire_msg_needs_metadata(m->kind))
        return; /* no piece count yet (magnet): nothing to do with it */
    switch (m->kind) {
    case SW_WIRE_MSG_NONE:
    case SW_WIRE_MSG_KEEPALIVE:
    case SW_WIRE_MSG_PORT:
    case SW_WIRE_MSG_UNKNOWN:
        break;
    case SW_WIRE_MSG_CHOKE:
        if (!pc->peer_choking) {
            pc->peer_choking = true;
            sw__peer_on_choked(pc);
        }
        break;
    case SW_WIRE_MSG_UNCHOKE:
        pc->peer_choking = false;
        break;
    case SW_WIRE_MSG_INTERESTED:
        if (!pc->peer_interested) {
            pc->peer_interested = true;
            sw__choker_trigger(pc->env);
        }
        break;
    case SW_WIRE_MSG_NOT_INTERESTED:
        if (pc->peer_interested) {
            pc->peer_interested = false;
            if (!pc->am_choking) {
                sw__peer_choke(pc);
                sw__choker_trigger(pc->env);
            }
        }
        break;
    case SW_WIRE_MSG_HAVE:
        on_have(pc, m->index);
        break;
    case SW_WIRE_MSG_BITFIELD:
        on_bitfield(pc, m);
        break;
    case SW_WIRE_MSG_REQUEST:
        sw__peer_on_request(pc, m);
        break;
    case SW_WIRE_MSG_PIECE:
        sw__peer_on_piece(pc, m);
        break;
    case SW_WIRE_MSG_CANCEL:
        sw__peer_on_cancel(pc, m);
        break;
    case SW_WIRE_MSG_SUGGEST:
        pc->suggested = (int)m->index;
        break;
    case SW_WIRE_MSG_HAVE_ALL:
        on_have_all(pc, true);
        break;
    case SW_WIRE_MSG_HAVE_NONE:
        on_have_all(pc, false);
        break;
    case SW_WIRE_MSG_REJECT:
        sw__peer_on_reject(pc, m);
        break;
    case SW_WIRE_MSG_ALLOWED_FAST:
        on_allowed_fast(pc, m->index);
        break;
    case SW_WIRE_MSG_EXTENDED:
        sw__peer_on_extended(pc, m);
        break;
    }
}

static void process(sw_peer_conn *pc, const uint8_t *data, size_t len)
{
    size_t off = 0;
    while (!pc->got_handshake && off < len) {
        size_t used = 0;
        sw_wire_hs_state st;
        int rc = sw__wire_hs_reader_feed(&pc->hs, data + off, len - off, &used, &st);
        off += used;
        if (rc < 0) {
            sw__peer_conn_close(pc, SW_ERR_HANDSHAKE, "handshake");
            return;
        }
        if (st == SW_WIRE_HS_HAVE_INFO_HASH) {
            if (!on_info_hash(pc))
                return;
        } else if (st == SW_WIRE_HS_COMPLETE) {
            if (!on_handshake_done(pc))
                return;
        } else {
            return; /* everything consumed; wait for more */
        }
    }
    while (off < len && pc->state == SW_PEER_ACTIVE) {
        size_t used = 0;
        sw_wire_msg m;
        int rc = sw__wire_parser_next(&pc->parser, data + off, len - off, &used, &m);
        if (rc < 0) {
            sw__peer_conn_close(pc, rc, "parse");
            return;
        }
        off += used;
        if (m.kind != SW_WIRE_MSG_NONE)
            handle(pc, &m);
    }
}
