/* Answers to other nodes' queries: ping, find_node, get_peers,
 * announce_peer (BEP 5), get and put (BEP 44), sample_infohashes (BEP 51),
 * and unknown methods that name a target (answered like find_node, so new
 * methods travel through nodes that do not know them). Every reply carries
 * the asker's address as "ip" (BEP 42) and stays within the size budget of
 * its family. */
#include <stdlib.h>
#include <string.h>

#include "dht/dht_internal.h"

int sw__dht_closest_compact(sw_dht *dht, const sw_sha1 *target, sw_buf *out)
{
    sw_dht_contact near[SW_DHT_K];
    size_t n = sw__dht_routing_closest(&dht->rt, target, SW_DHT_K, SW_DHT_CLOSEST_CONFIRMED,
                                       sw__dht_now(dht), near);
    for (size_t i = 0; i < n; i++) {
        int rc = sw__krpc_node_append(out, &near[i].id, &near[i].ep);
        if (rc != 0)
            return rc;
    }
    return 0;
}

void sw__dht_send_error(sw_dht *dht, sw_krpc_bytes tid, int code, const char *text,
                        const sw_endpoint *to)
{
    sw_krpc_msg e;
    memset(&e, 0, sizeof e);
    e.type = SW_KRPC_ERROR;
    e.tid = tid;
    e.error_code = code;
    e.error_msg = (sw_krpc_bytes){(const uint8_t *)text, strlen(text)};
    e.version = (sw_krpc_bytes){(const uint8_t *)SW_DHT_VERSION, SW_DHT_VERSION_LEN};
    e.ip = *to;
    e.has = SW_KRPC_HAS_VERSION | SW_KRPC_HAS_IP;
    if (sw__dht_send_msg(dht, &e, to) == 0)
        dht->upload_budget -= (int64_t)dht->out.len;
}

static void send_reply(sw_dht *dht, const sw_krpc_msg *q, sw_krpc_msg *r, const sw_endpoint *to)
{
    r->type = SW_KRPC_RESPONSE;
    r->tid = q->tid;
    r->id = dht->self;
    r->version = (sw_krpc_bytes){(const uint8_t *)SW_DHT_VERSION, SW_DHT_VERSION_LEN};
    r->ip = *to;
    r->has |= SW_KRPC_HAS_VERSION | SW_KRPC_HAS_IP;
    if (sw__dht_send_msg(dht, r, to) == 0) {
        dht->upload_budget -= (int64_t)dht->out.len;
        dht->st.queries_in++;
    }
}

/* Adds our family's node list when the asker wants it (BEP 32: by "want",
 * else by the family the query came over, which is ours). */
static void add_nodes(sw_dht *dht, const sw_krpc_msg *q, sw_krpc_msg *r, sw_buf *nodes)
{
    unsigned ours = dht->family == AF_INET6 ? SW_KRPC_WANT_N6 : SW_KRPC_WANT_N4;
    if ((q->has & SW_KRPC_HAS_WANT) && !(q->want & ours))
        return;
    if (sw__dht_closest_compact(dht, &q->target, nodes) != 0)
        return;
    if (dht->family == AF_INET6) {
        r->nodes6 = (sw_krpc_bytes){nodes->data, nodes->len};
        r->has |= SW_KRPC_HAS_NODES6;
    } else {
        r->nodes = (sw_krpc_bytes){nodes->data, nodes->len};
        r->has |= SW_KRPC_HAS_NODES;
    }
}

static void add_token(sw_dht *dht, const sw_endpoint *from, sw_krpc_msg *r, uint8_t *buf)
{
    sw__dht_token_make(&dht->tokens, from, buf);
    r->token = (sw_krpc_bytes){buf, SW_DHT_TOKEN_LEN};
    r->has |= SW_KRPC_HAS_TOKEN;
}

static size_t reply_budget(const sw_dht *dht)
{
    return dht->family == AF_INET6 ? SW_DHT_REPLY_BUDGET_V6 : SW_DHT_REPLY_BUDGET_V4;
}

/* Bytes of a reply without its peer list or samples: fixed keys, id, ip,
 * token, version, and the node list. Generous by a few bytes. */
static size_t base_size(const sw_krpc_msg *r)
{
    return 120 + r->nodes.len + r->nodes6.len + r->bf_seeds.len + r->bf_peers.len + 16;
}

static void on_get_peers(sw_dht *dht, const sw_krpc_msg *q, const sw_endpoint *from)
{
    sw_krpc_msg r;
    memset(&r, 0, sizeof r);
    sw_buf nodes = {0};
    uint8_t token[SW_DHT_TOKEN_LEN];
    add_token(dht, from, &r, token);
    /* Nodes always, peers too if we have some: being asked does not mean
     * we are among the closest, so the asker should keep looking. */
    add_nodes(dht, q, &r, &nodes);
    /* BEP 33: a scrape gets the seed and downloader filters of what we
     * store (none when we store nothing), sent before any peer list. */
    uint8_t bf_seeds[SW_KRPC_BLOOM_LEN], bf_peers[SW_KRPC_BLOOM_LEN];
    if (q->scrape) {
        memset(bf_seeds, 0, sizeof bf_seeds);
        memset(bf_peers, 0, sizeof bf_peers);
        if (sw__dht_peers_bloom(&dht->peers, &q->target, dht->family, bf_seeds, bf_peers)) {
            r.bf_seeds = (sw_krpc_bytes){bf_seeds, sizeof bf_seeds};
            r.bf_peers = (sw_krpc_bytes){bf_peers, sizeof bf_peers};
            r.has |= SW_KRPC_HAS_BFSD | SW_KRPC_HAS_BFPE;
        }
    }
    size_t per = (dht->family == AF_INET6 ? 3 : 2) + sw__krpc_peer_len(dht->family);
    size_t room = reply_budget(dht) > base_size(&r) ? (reply_budget(dht) - base_size(&r)) / per : 0;
    size_t max = (size_t)(dht->set.max_peers_reply > 0 ? dht->set.max_peers_reply : 0);
    if (max > room)
        max = room;
    sw_endpoint *peers = max ? malloc(max * sizeof *peers) : NULL;
    if (peers) {
        r.num_values = sw__dht_peers_get(&dht->peers, &q->target, dht->family, max, peers);
        if (r.num_values) {
            r.values = peers;
            r.has |= SW_KRPC_HAS_VALUES;
        }
    }
    send_reply(dht, q, &r, from);
    free(peers);
    sw__buf_free(&nodes);
    if (dht->on_incoming)
        dht->on_incoming(dht->incoming_user, SW_DHT_IN_GET_PEERS, &q->target, from, 0);
}

static void on_announce_peer(sw_dht *dht, const sw_krpc_msg *q, const sw_endpoint *from)
{
    if (!sw__dht_token_check(&dht->tokens, from, q->token.p, q->token.len)) {
        sw__dht_send_error(dht, q->tid, SW_KRPC_E_PROTOCOL, "invalid token", from);
        return;
    }
    /* A valid token proves the announcer got our get_peers reply at this
     * address: as good as an answer to a ping, so it is not pinged. */
    if (!q->read_only)
        (void)sw__dht_routing_heard(&dht->rt, &q->id, from, true, sw__dht_now(dht));
    sw_endpoint peer = *from;
    if (!q->implied_port)
        peer.port = q->port;
    /* A full store still answers: the announcer did nothing wrong. */
    if (sw__dht_peers_announce(&dht->peers, &q->target, &peer, sw__dht_now(dht)) == 0)
        sw__dht_peers_set_seed(&dht->peers, &q->target, &peer, q->seed);
    dht->sample_valid = false;
    sw_krpc_msg r;
    memset(&r, 0, sizeof r);
    send_reply(dht, q, &r, from);
    if (dht->on_incoming)
        dht->on_incoming(dht->incoming_user, SW_DHT_IN_ANNOUNCE, &q->target, from, peer.port);
}

static void on_get(sw_dht *dht, const sw_krpc_msg *q, const sw_endpoint *from)
{
    sw_krpc_msg r;
    memset(&r, 0, sizeof r);
    sw_buf nodes = {0};
    uint8_t token[SW_DHT_TOKEN_LEN];
    add_token(dht, from, &r, token);
    add_nodes(dht, q, &r, &nodes);
    const sw_dht_item_rec *it = sw__dht_items_find(&dht->items, &q->target);
    if (it && !it->is_mutable) {
        r.v = (sw_krpc_bytes){it->v, it->v_len};
        r.has |= SW_KRPC_HAS_V;
    } else if (it) {
        r.seq = it->seq;
        r.has |= SW_KRPC_HAS_SEQ;
        /* BEP 44: with "seq" the asker already has that version or newer. */
        if (!(q->has & SW_KRPC_HAS_SEQ) || q->seq < it->seq) {
            r.v = (sw_krpc_bytes){it->v, it->v_len};
            r.k = (sw_krpc_bytes){it->k, SW_DHT_PK_LEN};
            r.sig = (sw_krpc_bytes){it->sig, SW_DHT_SIG_LEN};
            r.has |= SW_KRPC_HAS_V | SW_KRPC_HAS_K | SW_KRPC_HAS_SIG;
        }
    }
    send_reply(dht, q, &r, from);
    sw__buf_free(&nodes);
}

static void on_put(sw_dht *dht, const sw_krpc_msg *q, const sw_endpoint *from)
{
    if (!sw__dht_token_check(&dht->tokens, from, q->token.p, q->token.len)) {
        sw__dht_send_error(dht, q->tid, SW_KRPC_E_PROTOCOL, "invalid token", from);
        return;
    }
    if (q->v.len > SW_DHT_ITEM_MAX) {
        sw__dht_send_error(dht, q->tid, SW_KRPC_E_TOO_BIG, "message (v field) too big", from);
        return;
    }
    uint64_t now = sw__dht_now(dht);
    int rc;
    if (q->has & SW_KRPC_HAS_K) {
        if (q->salt.len > SW_DHT_SALT_MAX) {
            sw__dht_send_error(dht, q->tid, SW_KRPC_E_SALT, "salt (salt field) too big", from);
            return;
        }
        if (!sw__dht_item_verify(q->k.p, q->sig.p, q->salt.p, q->salt.len, q->seq, q->v.p,
                                 q->v.len)) {
            sw__dht_send_error(dht, q->tid, SW_KRPC_E_SIGNATURE, "invalid signature", from);
            return;
        }
        sw_sha1 target;
        sw__dht_item_target_mutable(q->k.p, q->salt.p, q->salt.len, &target);
        rc = sw__dht_items_put_mutable(&dht->items, &target, q->k.p, q->sig.p, q->seq, q->salt.p,
                                       q->salt.len, q->v.p, q->v.len,
                                       (q->has & SW_KRPC_HAS_CAS) != 0, q->cas, now);
    } else {
        sw_sha1 target;
        sw__dht_item_target_immutable(q->v.p, q->v.len, &target);
        rc = sw__dht_items_put_immutable(&dht->items, &target, q->v.p, q->v.len, now);
    }
    switch (rc) {
    case 0:
        break;
    case SW_ERR_DHT_CAS_MISMATCH:
        sw__dht_send_error(dht, q->tid, SW_KRPC_E_CAS, "CAS mismatch, re-read and try again", from);
        return;
    case SW_ERR_DHT_SEQ_OUTDATED:
        sw__dht_send_error(dht, q->tid, SW_KRPC_E_SEQ, "sequence number less than current", from);
        return;
    default:
        sw__dht_send_error(dht, q->tid, SW_KRPC_E_SERVER, "cannot store the item", from);
        return;
    }
    sw_krpc_msg r;
    memset(&r, 0, sizeof r);
    send_reply(dht, q, &r, from);
}

/* BEP 51: the sample is recomputed at most once per interval, so asking
 * again early yields nothing new. */
static void refresh_sample(sw_dht *dht, uint64_t now)
{
    uint64_t interval = (uint64_t)dht->set.sample_interval_s * 1000;
    if (dht->sample_valid && now - dht->sample_ms < interval)
        return;
    size_t max =
        (size_t)(dht->set.max_torrent_search_reply > 0 ? dht->set.max_torrent_search_reply : 20);
    /* Keep the reply within one datagram next to 8 nodes. */
    size_t room = (reply_budget(dht) - 120 - SW_DHT_K * SW_KRPC_NODE6_LEN) / SW_DHT_ID_LEN;
    if (max > room)
        max = room;
    sw_sha1 *s = realloc(dht->sample, (max ? max : 1) * sizeof *s);
    if (!s)
        return;
    dht->sample = s;
    dht->n_sample = sw__dht_peers_sample(&dht->peers, max, s);
    dht->sample_ms = now;
    dht->sample_valid = true;
}

static void on_sample(sw_dht *dht, const sw_krpc_msg *q, const sw_endpoint *from)
{
    refresh_sample(dht, sw__dht_now(dht));
    sw_krpc_msg r;
    memset(&r, 0, sizeof r);
    sw_buf nodes = {0};
    add_nodes(dht, q, &r, &nodes);
    r.samples = (sw_krpc_bytes){(const uint8_t *)dht->sample, dht->n_sample * SW_DHT_ID_LEN};
    r.num = (int64_t)dht->peers.n;
    r.interval = dht->set.sample_interval_s;
    r.has |= SW_KRPC_HAS_SAMPLES | SW_KRPC_HAS_NUM | SW_KRPC_HAS_INTERVAL;
    send_reply(dht, q, &r, from);
    sw__buf_free(&nodes);
}

static void on_find_node(sw_dht *dht, const sw_krpc_msg *q, const sw_endpoint *from)
{
    sw_krpc_msg r;
    memset(&r, 0, sizeof r);
    sw_buf nodes = {0};
    add_nodes(dht, q, &r, &nodes);
    send_reply(dht, q, &r, from);
    sw__buf_free(&nodes);
}

void sw__dht_handle_query(sw_dht *dht, const sw_krpc_msg *q, const sw_endpoint *from)
{
    switch (q->method) {
    case SW_KRPC_PING: {
        sw_krpc_msg r;
        memset(&r, 0, sizeof r);
        send_reply(dht, q, &r, from);
        return;
    }
    case SW_KRPC_FIND_NODE:
        on_find_node(dht, q, from);
        return;
    case SW_KRPC_GET_PEERS:
        on_get_peers(dht, q, from);
        return;
    case SW_KRPC_ANNOUNCE_PEER:
        on_announce_peer(dht, q, from);
        return;
    case SW_KRPC_GET:
        on_get(dht, q, from);
        return;
    case SW_KRPC_PUT:
        on_put(dht, q, from);
        return;
    case SW_KRPC_SAMPLE_INFOHASHES:
        on_sample(dht, q, from);
        return;
    case SW_KRPC_UNKNOWN:
        if (q->has & SW_KRPC_HAS_TARGET)
            on_find_node(dht, q, from);
        else
            sw__dht_send_error(dht, q->tid, SW_KRPC_E_METHOD, "method unknown", from);
        return;
    }
}
