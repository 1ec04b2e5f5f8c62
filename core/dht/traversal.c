/* The iterative lookup of Kademlia as BEP 5 uses it: keep the candidates
 * sorted by distance to the target, keep `search_branching` queries in
 * flight to the closest ones not yet asked, add the nodes every answer
 * names, and stop when the k closest candidates have all answered (or
 * failed). A query slower than the short timeout stops counting against
 * the branching factor, so one slow node does not stall the lookup; the
 * lookup still waits for it if it is among the k closest. */
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "dht/dht_internal.h"

static void step(sw_dht_traversal *t);

sw_dht_traversal *sw__dht_trav_new(sw_dht *dht, const sw_dht_trav_ops *ops, const sw_sha1 *target,
                                   void *user)
{
    sw_dht_traversal *t = calloc(1, sizeof *t);
    if (!t)
        return NULL;
    t->dht = dht;
    t->ops = ops;
    t->target = *target;
    t->user = user;
    return t;
}

void sw__dht_trav_free(sw_dht_traversal *t)
{
    if (!t)
        return;
    for (size_t i = 0; i < t->n; i++)
        free(t->nodes[i]);
    free(t->nodes);
    free(t->v);
    free(t->put_v);
    free(t->bloom);
    OPENSSL_cleanse(t->seed, sizeof t->seed);
    free(t);
}

bool sw__dht_node_id_ok(const sw_dht *dht, const sw_sha1 *id, const sw_endpoint *ep)
{
    return !dht->set.enforce_node_id || sw__dht_addr_is_local(ep) || sw__dht_id_verify(ep, id);
}

void sw__dht_trav_add(sw_dht_traversal *t, const sw_sha1 *id, const sw_endpoint *ep, bool id_known)
{
    sw_dht *dht = t->dht;
    if (ep->family != dht->family || ep->port == 0)
        return;
    if (id_known && memcmp(id->v, dht->self.v, SW_DHT_ID_LEN) == 0)
        return;
    if (dht->set.ignore_dark_internet && sw__dht_addr_is_dark(ep))
        return;
    for (size_t i = 0; i < t->n; i++) {
        const sw_dht_trav_node *n = t->nodes[i];
        if (sw__endpoint_equal(&n->ep, ep))
            return;
        if (id_known && n->id_known && memcmp(n->id.v, id->v, SW_DHT_ID_LEN) == 0)
            return;
        if (dht->set.restrict_search_ips && sw__endpoint_same_ip(&n->ep, ep))
            return;
    }
    sw_sha1 key = *id;
    if (!id_known) {
        /* Unknown ids (routers) sort last: farthest possible from target. */
        for (int i = 0; i < SW_DHT_ID_LEN; i++)
            key.v[i] = (uint8_t)~t->target.v[i];
    }
    size_t pos = t->n;
    while (pos > 0 && sw__dht_id_closer(&t->target, &key, &t->nodes[pos - 1]->id) < 0)
        pos--;
    if (t->n >= SW_DHT_TRAV_MAX_NODES) {
        if (pos == t->n)
            return;
        /* Drop the farthest entry that has no query in flight. */
        size_t drop = t->n;
        while (drop > 0) {
            uint8_t st = t->nodes[drop - 1]->state;
            if (st != SW_TRAV_PENDING && st != SW_TRAV_SLOW && !t->nodes[drop - 1]->stored)
                break;
            drop--;
        }
        if (drop == 0 || drop - 1 < pos)
            return;
        free(t->nodes[drop - 1]);
        memmove(&t->nodes[drop - 1], &t->nodes[drop], (t->n - drop) * sizeof *t->nodes);
        t->n--;
    }
    if (t->n == t->cap) {
        size_t cap = t->cap ? t->cap * 2 : 32;
        sw_dht_trav_node **nn = realloc(t->nodes, cap * sizeof *nn);
        if (!nn)
            return;
        t->nodes = nn;
        t->cap = cap;
    }
    sw_dht_trav_node *n = calloc(1, sizeof *n);
    if (!n)
        return;
    n->id = key;
    n->ep = *ep;
    n->id_known = id_known;
    n->id_ok = id_known && sw__dht_node_id_ok(dht, id, ep);
    memmove(&t->nodes[pos + 1], &t->nodes[pos], (t->n - pos) * sizeof *t->nodes);
    t->nodes[pos] = n;
    t->n++;
}

/* Queued for delivery on the next loop turn. */
void sw__dht_trav_finish(sw_dht_traversal *t, int status)
{
    if (t->phase == SW_TRAV_DONE)
        return;
    sw_dht *dht = t->dht;
    t->phase = SW_TRAV_DONE;
    t->status = status;
    for (size_t i = 0; i < t->n; i++) {
        if (t->nodes[i]->txn) {
            sw__dht_txn_detach(t->nodes[i]->txn);
            t->nodes[i]->txn = NULL;
        }
    }
    /* running list -> finished queue */
    if (t->prev)
        t->prev->next = t->next;
    else if (dht->running == t)
        dht->running = t->next;
    if (t->next)
        t->next->prev = t->prev;
    dht->n_running--;
    t->prev = NULL;
    t->next = NULL;
    if (dht->finished_tail)
        dht->finished_tail->next = t;
    else
        dht->finished = t;
    dht->finished_tail = t;
    sw__dht_kick(dht);
}

void sw__dht_trav_deliver_finished(sw_dht *dht)
{
    while (dht->finished) {
        sw_dht_traversal *t = dht->finished;
        dht->finished = t->next;
        if (!dht->finished)
            dht->finished_tail = NULL;
        t->ops->deliver(t);
        sw__dht_trav_free(t);
    }
}

static void absorb_nodes(sw_dht_traversal *t, const sw_krpc_msg *r)
{
    sw_krpc_bytes nodes = t->dht->family == AF_INET6 ? r->nodes6 : r->nodes;
    size_t count = sw__krpc_node_count(nodes, t->dht->family);
    for (size_t i = 0; i < count; i++) {
        sw_sha1 id;
        sw_endpoint ep;
        sw__krpc_node_at(nodes, t->dht->family, i, &id, &ep);
        sw__dht_trav_add(t, &id, &ep, true);
    }
}

static void on_store_answer(sw_dht_traversal *t, int status)
{
    if (status == 0)
        t->stats.stored++;
    else if (status == SW_ERR_TIMEOUT)
        t->stats.timeouts++;
    if (--t->store_pending == 0)
        sw__dht_trav_finish(t, 0);
}

static void txn_cb(sw_dht *dht, sw_dht_txn *txn, const sw_krpc_msg *r, int status)
{
    (void)dht;
    sw_dht_traversal *t = txn->ctx;
    sw_dht_trav_node *n = txn->ctx2;
    if (status == SW_DHT_TXN_SLOW) {
        if (n->state == SW_TRAV_PENDING) {
            n->state = SW_TRAV_SLOW;
            t->pending--;
            t->slow++;
            t->settled++;
            step(t);
        }
        return;
    }
    n->txn = NULL;
    if (t->phase == SW_TRAV_STORE) {
        on_store_answer(t, status);
        return;
    }
    if (n->state == SW_TRAV_PENDING) {
        t->pending--;
        t->settled++;
    } else if (n->state == SW_TRAV_SLOW)
        t->slow--;
    if (status != 0) {
        n->state = SW_TRAV_FAILED;
        if (status == SW_ERR_TIMEOUT)
            t->stats.timeouts++;
        step(t);
        return;
    }
    n->state = SW_TRAV_ALIVE;
    t->stats.responses++;
    if ((r->has & SW_KRPC_HAS_TOKEN) && r->token.len <= SW_KRPC_MAX_TOKEN) {
        memcpy(n->token, r->token.p, r->token.len);
        n->token_len = (uint8_t)r->token.len;
    }
    absorb_nodes(t, r);
    /* A masked query's values belong to another hash; one answered after
     * the target was revealed is asked again. */
    if (n->masked && !t->masking)
        n->state = SW_TRAV_NEW;
    if (!n->masked && t->ops->on_reply && t->ops->on_reply(t, n, r)) {
        sw__dht_trav_finish(t, 0);
        return;
    }
    step(t);
}

/* ---- dht_privacy_lookups ----
 * A get_peers lookup shows each node only the leading bits of the target
 * it shares with that node's id, plus three (enough for its answer to
 * lead closer), the rest random, until it reaches a node within four bits
 * of our table's depth: the nodes there are near the target and must see
 * it to name its peers. Then every node that answered a masked query is
 * asked again with the real target; a lookup that ends still masked does
 * the same with the closest ones. */

static int shared_bits(const sw_sha1 *a, const sw_sha1 *b)
{
    for (int i = 0; i < SW_DHT_ID_LEN; i++) {
        uint8_t x = a->v[i] ^ b->v[i];
        if (x) {
            int bits = i * 8;
            while (!(x & 0x80)) {
                x = (uint8_t)(x << 1);
                bits++;
            }
            return bits;
        }
    }
    return SW_DHT_ID_BITS;
}

static void reveal_target(sw_dht_traversal *t)
{
    t->masking = false;
    for (size_t i = 0; i < t->n; i++) {
        sw_dht_trav_node *n = t->nodes[i];
        if (n->masked && n->state == SW_TRAV_ALIVE)
            n->state = SW_TRAV_NEW;
    }
}

/* The target to send n; false when the lookup reveals it from now on. */
static bool masked_target(sw_dht_traversal *t, const sw_dht_trav_node *n, sw_sha1 *out)
{
    int shared = n->id_known ? shared_bits(&n->id, &t->target) : 0;
    uint32_t counts[SW_DHT_ID_BITS];
    int depth = sw__dht_routing_depth_counts(&t->dht->rt, counts);
    if (shared > depth - 4)
        return false;
    int keep = shared + 3;
    sw__dht_id_random(out);
    for (int b = 0; b < keep; b++) {
        uint8_t bit = (uint8_t)(0x80u >> (b % 8));
        out->v[b / 8] = (uint8_t)((out->v[b / 8] & ~bit) | (t->target.v[b / 8] & bit));
    }
    return true;
}

static bool send_lookup_query(sw_dht_traversal *t, sw_dht_trav_node *n)
{
    sw_krpc_msg q;
    memset(&q, 0, sizeof q);
    q.method = t->ops->method;
    q.target = t->target;
    q.has = SW_KRPC_HAS_TARGET;
    if (t->ops->fill_query)
        t->ops->fill_query(t, &q);
    n->masked = false;
    if (t->masking) {
        if (masked_target(t, n, &q.target))
            n->masked = true;
        else
            reveal_target(t);
    }
    n->txn = sw__dht_query(t->dht, &q, &n->ep, n->id_known ? &n->id : NULL, txn_cb, t, n);
    if (!n->txn) {
        n->state = SW_TRAV_FAILED;
        return false;
    }
    n->state = SW_TRAV_PENDING;
    t->pending++;
    t->stats.queried++;
    return true;
}

static int branching(const sw_dht_traversal *t)
{
    int b = t->dht->set.search_branching;
    b = b > 0 ? b : 3;
    /* The first query goes alone to the closest node we know. Its answer
     * names nodes near the target, closer than the rest of our own seeds,
     * so queries sent to those seeds beside it would mostly be overtaken:
     * one message each for nothing (about three per lookup in the 200-node
     * bench). The full branching applies once it has answered, failed or
     * gone past the short timeout, so a dead first node costs at most the
     * short timeout. */
    return t->settled == 0 ? 1 : b;
}

static void end_lookup(sw_dht_traversal *t)
{
    if (t->masking) {
        /* Ended without nearing the target: ask the closest that
         * answered again, now with it. */
        reveal_target(t);
        step(t);
        return;
    }
    for (size_t i = 0; i < t->n; i++) {
        sw_dht_trav_node *n = t->nodes[i];
        if (n->txn) {
            sw__dht_txn_detach(n->txn);
            n->txn = NULL;
        }
    }
    t->pending = 0;
    t->slow = 0;
    if (t->ops->on_lookup_done)
        t->ops->on_lookup_done(t);
    else
        sw__dht_trav_finish(t, 0);
}

static void step(sw_dht_traversal *t)
{
    if (t->phase != SW_TRAV_LOOKUP)
        return;
    bool enforce = t->dht->set.enforce_node_id;
    bool aggressive = t->dht->set.aggressive_lookups;
    int limit = branching(t);
    int alive = 0;
    int asked = 0;     /* queries in flight inside the window */
    bool more = false; /* candidates left inside the window */
    bool slow = false; /* late answers still due from inside the window */
    /* The window is the k closest candidates that answered or are being
     * asked: a node beyond it is asked only once one inside fails, not
     * while the closer ones may still answer (every such query would be
     * one more message for nothing when they do). Within it, the branching
     * limits the queries in flight: all of them, or with
     * dht_aggressive_lookups only those to nodes closer than the candidate
     * at hand, so a closer node just learnt of is asked at once even while
     * queries to farther ones are still out. */
    for (size_t i = 0; i < t->n && alive + asked < SW_DHT_K; i++) {
        sw_dht_trav_node *n = t->nodes[i];
        switch (n->state) {
        case SW_TRAV_ALIVE:
            /* BEP 42: nodes with a wrong id do not end a lookup. */
            if (!enforce || n->id_ok)
                alive++;
            break;
        case SW_TRAV_PENDING:
            asked++;
            break;
        case SW_TRAV_NEW:
            if ((aggressive ? asked : t->pending) < limit && send_lookup_query(t, n))
                asked++;
            else if (n->state == SW_TRAV_NEW)
                more = true;
            break;
        case SW_TRAV_SLOW:
            slow = true;
            break;
        default:
            break;
        }
        if (t->phase != SW_TRAV_LOOKUP)
            return;
    }
    /* A slow node among the closest is waited for (to its full timeout):
     * it may be one of the nodes that hold what we look for. */
    if (t->pending == 0 && !more && !slow)
        end_lookup(t);
}

void sw__dht_trav_start(sw_dht_traversal *t)
{
    sw_dht *dht = t->dht;
    t->next = dht->running;
    if (dht->running)
        dht->running->prev = t;
    dht->running = t;
    dht->n_running++;

    t->masking = dht->set.privacy_lookups && t->ops->method == SW_KRPC_GET_PEERS && !t->internal;
    sw_dht_contact seeds[SW_DHT_TRAV_SEEDS];
    size_t n = sw__dht_routing_closest(&dht->rt, &t->target, SW_DHT_TRAV_SEEDS, 0, sw__dht_now(dht),
                                       seeds);
    for (size_t i = 0; i < n; i++)
        sw__dht_trav_add(t, &seeds[i].id, &seeds[i].ep, true);
    if (n < SW_DHT_K) {
        sw_sha1 none;
        memset(&none, 0, sizeof none);
        for (size_t i = 0; i < dht->n_routers; i++)
            sw__dht_trav_add(t, &none, &dht->routers[i], false);
    }
    if (t->n == 0) {
        sw__dht_trav_finish(t, SW_ERR_DHT_NO_NODES);
        return;
    }
    step(t);
    /* Every send failed: nothing will ever answer. */
    if (t->phase == SW_TRAV_LOOKUP && t->pending == 0 && t->slow == 0)
        sw__dht_trav_finish(t, SW_ERR_DHT_NO_NODES);
}

void sw__dht_trav_store(sw_dht_traversal *t,
                        void (*fill)(sw_dht_traversal *t, sw_dht_trav_node *n, sw_krpc_msg *q))
{
    t->phase = SW_TRAV_STORE;
    bool enforce = t->dht->set.enforce_node_id;
    int picked = 0;
    for (size_t i = 0; i < t->n && picked < SW_DHT_K; i++) {
        sw_dht_trav_node *n = t->nodes[i];
        if (n->state != SW_TRAV_ALIVE || n->token_len == 0 || (enforce && !n->id_ok))
            continue;
        picked++;
        sw_krpc_msg q;
        memset(&q, 0, sizeof q);
        q.token = (sw_krpc_bytes){n->token, n->token_len};
        q.has = SW_KRPC_HAS_TOKEN;
        fill(t, n, &q);
        n->stored = true;
        n->txn = sw__dht_query(t->dht, &q, &n->ep, n->id_known ? &n->id : NULL, txn_cb, t, n);
        if (n->txn)
            t->store_pending++;
    }
    if (t->store_pending == 0)
        sw__dht_trav_finish(t, 0);
}
