/* The send side of a peer connection: a queue of chunks written in batches
 * (one uv_write of up to SW_PEER_SEND_BATCH buffers at a time). Small
 * messages are packed into growable chunks; block data read from disk is
 * queued as its own chunk and written without a copy. */
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include "peer_conn_int.h"

#define SMALL_CHUNK_MIN 1024

void sw__shared_buf_unref(sw_shared_buf *b)
{
    if (--b->refs == 0) {
        free(b->data);
        free(b);
    }
}

static void chunk_free(sw_send_chunk *c)
{
    if (c->shared)
        sw__shared_buf_unref(c->shared);
    else
        free(c->data);
    free(c);
}

static void chunk_list_free(sw_send_chunk *c)
{
    while (c) {
        sw_send_chunk *next = c->next;
        chunk_free(c);
        c = next;
    }
}

void sw__peer_send_free_all(sw_peer_conn *pc)
{
    chunk_list_free(pc->send_head);
    pc->send_head = pc->send_tail = NULL;
    pc->send_bytes = 0;
    chunk_list_free(pc->writing);
    pc->writing = NULL;
}

static void chunk_append(sw_peer_conn *pc, sw_send_chunk *c)
{
    c->next = NULL;
    if (pc->send_tail)
        pc->send_tail->next = c;
    else
        pc->send_head = c;
    pc->send_tail = c;
}

int sw__peer_send_reserve(sw_peer_conn *pc, size_t n, uint8_t **space_out)
{
    if (pc->state == SW_PEER_CLOSING)
        return SW_ERR_ABORTED;
    sw_send_chunk *t = pc->send_tail;
    if (t && t->cap > 0) {
        if (t->cap - t->len < n) {
            size_t cap = t->cap * 2;
            while (cap - t->len < n)
                cap *= 2;
            uint8_t *d = realloc(t->data, cap);
            if (!d)
                return SW_ERR_NOMEM;
            t->data = d;
            t->cap = cap;
        }
    } else {
        t = calloc(1, sizeof *t);
        if (!t)
            return SW_ERR_NOMEM;
        t->cap = n > SMALL_CHUNK_MIN ? n : SMALL_CHUNK_MIN;
        t->data = malloc(t->cap);
        if (!t->data) {
            free(t);
            return SW_ERR_NOMEM;
        }
        chunk_append(pc, t);
    }
    *space_out = t->data + t->len;
    t->len += n;
    pc->send_bytes += n;
    pc->stats.protocol_up += (int64_t)n;
    if (pc->swarm)
        pc->swarm->stats.protocol_up += (int64_t)n;
    pc->env->stats.protocol_up += (int64_t)n;
    return 0;
}

int sw__peer_send_buf(sw_peer_conn *pc, const sw_buf *b)
{
    uint8_t *p;
    int rc = sw__peer_send_reserve(pc, b->len, &p);
    if (rc == 0)
        memcpy(p, b->data, b->len);
    return rc;
}

static int queue_payload(sw_peer_conn *pc, uint8_t *data, size_t len, sw_shared_buf *shared)
{
    if (pc->state == SW_PEER_CLOSING)
        return SW_ERR_ABORTED;
    sw_send_chunk *c = calloc(1, sizeof *c);
    if (!c)
        return SW_ERR_NOMEM;
    c->data = data;
    c->len = len;
    c->shared = shared;
    if (shared)
        shared->refs++;
    chunk_append(pc, c);
    pc->send_bytes += len;
    pc->stats.payload_up += (int64_t)len;
    if (pc->swarm)
        pc->swarm->stats.payload_up += (int64_t)len;
    pc->env->stats.payload_up += (int64_t)len;
    pc->last_payload_ms = pc->env->now_ms;
    return 0;
}

int sw__peer_send_owned(sw_peer_conn *pc, uint8_t *data, size_t len)
{
    return queue_payload(pc, data, len, NULL);
}

int sw__peer_send_slice(sw_peer_conn *pc, sw_shared_buf *shared, uint8_t *data, size_t len)
{
    return queue_payload(pc, data, len, shared);
}

static void on_written(sw_stream *s, int status, void *user)
{
    (void)s;
    sw_peer_conn *pc = user;
    pc->write_in_flight = false;
    pc->write_bytes = 0;
    chunk_list_free(pc->writing);
    pc->writing = NULL;
    if (status < 0) {
        sw__peer_conn_close(pc, status, "write");
        sw__peer_conn_maybe_free(pc);
        return;
    }
    if (pc->state == SW_PEER_CLOSING) {
        sw__peer_conn_maybe_free(pc);
        return;
    }
    if (pc->state == SW_PEER_ACTIVE)
        sw__peer_serve_more(pc);
    sw__peer_send_flush(pc);
}

void sw__peer_send_flush(sw_peer_conn *pc)
{
    if (pc->write_in_flight || !pc->send_head || !pc->stream || pc->state == SW_PEER_CLOSING ||
        pc->state == SW_PEER_CONNECTING)
        return;
    uv_buf_t bufs[SW_PEER_SEND_BATCH];
    unsigned n = 0;
    size_t total = 0;
    sw_send_chunk *first = pc->send_head, *last = NULL;
    for (sw_send_chunk *c = first; c && n < SW_PEER_SEND_BATCH; c = c->next) {
        bufs[n++] = uv_buf_init((char *)c->data, (unsigned)c->len);
        total += c->len;
        last = c;
    }
    pc->send_head = last->next;
    if (!pc->send_head)
        pc->send_tail = NULL;
    last->next = NULL;
    pc->writing = first;
    pc->send_bytes -= total;
    pc->write_bytes = total;
    pc->write_in_flight = true;
    pc->last_send_ms = pc->env->now_ms;
    int rc = sw__stream_write(pc->stream, bufs, n, on_written, pc);
    if (rc < 0) {
        pc->write_in_flight = false;
        chunk_list_free(pc->writing);
        pc->writing = NULL;
        sw__peer_conn_close(pc, rc, "write");
    }
}

static int queue_built(sw_peer_conn *pc, sw_buf *b)
{
    int rc = sw__peer_send_buf(pc, b);
    sw__buf_free(b);
    return rc;
}

int sw__peer_send_simple(sw_peer_conn *pc, uint8_t id)
{
    uint8_t *p;
    int rc = sw__peer_send_reserve(pc, 5, &p);
    if (rc == 0) {
        sw__store_be32(p, 1);
        p[4] = id;
    }
    return rc;
}

static int send_index_msg(sw_peer_conn *pc, uint8_t id, uint32_t index)
{
    uint8_t *p;
    int rc = sw__peer_send_reserve(pc, 9, &p);
    if (rc == 0) {
        sw__store_be32(p, 5);
        p[4] = id;
        sw__store_be32(p + 5, index);
    }
    return rc;
}

static int send_block_msg(sw_peer_conn *pc, uint8_t id, uint32_t index, uint32_t begin,
                          uint32_t length)
{
    uint8_t *p;
    int rc = sw__peer_send_reserve(pc, 17, &p);
    if (rc == 0) {
        sw__store_be32(p, 13);
        p[4] = id;
        sw__store_be32(p + 5, index);
        sw__store_be32(p + 9, begin);
        sw__store_be32(p + 13, length);
    }
    return rc;
}

int sw__peer_send_have(sw_peer_conn *pc, uint32_t index)
{
    return send_index_msg(pc, SW_WIRE_ID_HAVE, index);
}

int sw__peer_send_request(sw_peer_conn *pc, uint32_t index, uint32_t begin, uint32_t length)
{
    return send_block_msg(pc, SW_WIRE_ID_REQUEST, index, begin, length);
}

int sw__peer_send_cancel(sw_peer_conn *pc, uint32_t index, uint32_t begin, uint32_t length)
{
    return send_block_msg(pc, SW_WIRE_ID_CANCEL, index, begin, length);
}

int sw__peer_send_reject(sw_peer_conn *pc, uint32_t index, uint32_t begin, uint32_t length)
{
    return send_block_msg(pc, SW_WIRE_ID_REJECT, index, begin, length);
}

void sw__peer_send_handshake(sw_peer_conn *pc)
{
    if (pc->sent_handshake)
        return;
    sw_wire_handshake hs;
    memset(&hs, 0, sizeof hs);
    sw__wire_reserved_set(hs.reserved, SW_WIRE_FEATURE_EXTENSION | SW_WIRE_FEATURE_FAST);
    hs.info_hash = pc->swarm->info_hash;
    hs.peer_id = pc->env->peer_id;
    uint8_t *p;
    if (sw__peer_send_reserve(pc, SW_WIRE_HANDSHAKE_LEN, &p) < 0)
        return;
    sw__wire_handshake_write(&hs, p);
    pc->sent_handshake = true;
    sw__peer_send_flush(pc);
}

static void send_have_set(sw_peer_conn *pc)
{
    sw_swarm *sw = pc->swarm;
    if (sw->super_seeding && sw__super_seed_greet(pc))
        return;
    uint32_t have = sw__bitfield_count(&sw->have);
    bool fast = (pc->features & SW_WIRE_FEATURE_FAST) != 0;
    if (fast && sw->num_pieces > 0 && have == (uint32_t)sw->num_pieces) {
        sw__peer_send_simple(pc, SW_WIRE_ID_HAVE_ALL);
    } else if (have == 0) {
        if (fast)
            sw__peer_send_simple(pc, SW_WIRE_ID_HAVE_NONE);
    } else {
        sw_buf b;
        sw__buf_init(&b);
        if (sw__wire_build_bitfield(&b, &sw->have) == 0)
            queue_built(pc, &b);
        else
            sw__buf_free(&b);
    }
}

static void send_allowed_fast(sw_peer_conn *pc)
{
    sw_swarm *sw = pc->swarm;
    if (!(pc->features & SW_WIRE_FEATURE_FAST) || pc->remote.family != AF_INET)
        return;
    if (sw__bitfield_count(&sw->have) == 0 || sw__bitfield_all(&sw->have))
        return; /* nothing to offer, or the peer may ask for anything once unchoked */
    uint32_t set[10];
    size_t n = 0;
    if (sw__wire_allowed_fast_set(&sw->info_hash, sw__endpoint_ipv4(&pc->remote),
                                  (uint32_t)sw->num_pieces, 10, set, &n) < 0)
        return;
    for (size_t i = 0; i < n; i++) {
        if (sw__bitfield_get(&sw->have, set[i]) && pc->num_af_out < 10) {
            send_index_msg(pc, SW_WIRE_ID_ALLOWED_FAST, set[i]);
            pc->af_out[pc->num_af_out++] = set[i];
        }
    }
    pc->sent_allowed_fast = true;
}

void sw__peer_send_greeting(sw_peer_conn *pc)
{
    if (pc->features & SW_WIRE_FEATURE_EXTENSION)
        sw__peer_send_ext_handshake(pc);
    send_have_set(pc);
    send_allowed_fast(pc);
    sw__peer_send_flush(pc);
}

void sw__peer_choke(sw_peer_conn *pc)
{
    if (pc->am_choking || pc->state != SW_PEER_ACTIVE)
        return;
    pc->am_choking = true;
    pc->optimistic = false;
    pc->env->num_unchoked--;
    pc->swarm->num_unchoked--;
    sw__peer_send_simple(pc, SW_WIRE_ID_CHOKE);
    sw__peer_drop_requests(pc);
    sw__peer_send_flush(pc);
}

void sw__peer_unchoke(sw_peer_conn *pc)
{
    if (!pc->am_choking || pc->state != SW_PEER_ACTIVE)
        return;
    pc->am_choking = false;
    pc->env->num_unchoked++;
    pc->swarm->num_unchoked++;
    pc->last_unchoke_ms = pc->env->now_ms;
    sw__peer_send_simple(pc, SW_WIRE_ID_UNCHOKE);
    sw__peer_send_flush(pc);
    sw__peer_serve_more(pc);
}
