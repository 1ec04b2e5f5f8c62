/* Outgoing queries and their answers: transaction ids, matching replies to
 * queries (same id and same address), short and full timeouts, and the
 * routing-table updates every answer or timeout implies. */
#include <stdlib.h>
#include <string.h>

#include "dht/dht_internal.h"

int sw__dht_send_msg(sw_dht *dht, const sw_krpc_msg *m, const sw_endpoint *to)
{
    sw__buf_clear(&dht->out);
    int rc = sw__krpc_encode(m, &dht->out);
    if (rc != 0)
        return rc;
    struct sockaddr_storage ss;
    sw__endpoint_to_sockaddr(to, &ss);
    rc = dht->send(dht->send_user, dht->out.data, dht->out.len, (const struct sockaddr *)&ss);
    if (rc == 0) {
        dht->st.packets_out++;
        dht->st.bytes_out += dht->out.len;
    }
    return rc;
}

static size_t bucket_of(uint16_t tid)
{
    return tid % SW_DHT_TXN_BUCKETS;
}

sw_dht_txn *sw__dht_query(sw_dht *dht, sw_krpc_msg *q, const sw_endpoint *to, const sw_sha1 *to_id,
                          sw_dht_txn_cb cb, void *ctx, void *ctx2)
{
    if (dht->closing || to->family != dht->family || to->port == 0)
        return NULL;
    sw_dht_txn *txn = calloc(1, sizeof *txn);
    if (!txn)
        return NULL;
    uint8_t tid[2];
    txn->tid = dht->next_tid++;
    sw__store_be16(tid, txn->tid);
    q->type = SW_KRPC_QUERY;
    q->tid = (sw_krpc_bytes){tid, 2};
    q->id = dht->self;
    q->version = (sw_krpc_bytes){(const uint8_t *)SW_DHT_VERSION, SW_DHT_VERSION_LEN};
    q->has |= SW_KRPC_HAS_VERSION;
    q->read_only = dht->set.read_only;
    if (sw__dht_send_msg(dht, q, to) != 0) {
        free(txn);
        return NULL;
    }
    txn->method = q->method;
    txn->to = *to;
    if (to_id) {
        txn->to_id = *to_id;
        txn->has_to_id = true;
        sw__dht_routing_queried(&dht->rt, to_id, sw__dht_now(dht));
    }
    txn->sent_ms = sw__dht_now(dht);
    txn->cb = cb;
    txn->ctx = ctx;
    txn->ctx2 = ctx2;
    size_t b = bucket_of(txn->tid);
    txn->next = dht->txns[b];
    dht->txns[b] = txn;
    dht->n_txns++;
    return txn;
}

static sw_dht_txn *unlink_txn(sw_dht *dht, uint16_t tid, const sw_endpoint *from)
{
    sw_dht_txn **pp = &dht->txns[bucket_of(tid)];
    for (; *pp; pp = &(*pp)->next) {
        sw_dht_txn *t = *pp;
        if (t->tid == tid && sw__endpoint_equal(&t->to, from)) {
            *pp = t->next;
            dht->n_txns--;
            return t;
        }
    }
    return NULL;
}

void sw__dht_txns_on_reply(sw_dht *dht, const sw_krpc_msg *m, const sw_endpoint *from)
{
    if (m->tid.len != 2) {
        dht->st.dropped++;
        return;
    }
    sw_dht_txn *txn = unlink_txn(dht, sw__load_be16(m->tid.p), from);
    if (!txn) {
        dht->st.dropped++;
        return;
    }
    if (m->type == SW_KRPC_RESPONSE) {
        /* It answered us: the strongest evidence a node is good. A node that
         * says it is read-only never enters the table (BEP 43). */
        if (!m->read_only)
            sw__dht_routing_heard(&dht->rt, &m->id, from, true, sw__dht_now(dht));
        if (m->has & SW_KRPC_HAS_IP)
            sw__dht_vote_ip(dht, from, &m->ip);
        if (txn->cb)
            txn->cb(dht, txn, m, 0);
    } else {
        if (txn->cb)
            txn->cb(dht, txn, m, SW_ERR_DHT_REMOTE_ERROR);
    }
    free(txn);
}

void sw__dht_txns_tick(sw_dht *dht, uint64_t now_ms)
{
    uint64_t full = (uint64_t)(dht->set.query_timeout_ms > 0 ? dht->set.query_timeout_ms : 5000);
    uint64_t shrt = (uint64_t)(dht->set.short_timeout_ms > 0 ? dht->set.short_timeout_ms : 1000);
    sw_dht_txn *expired = NULL;
    for (size_t b = 0; b < SW_DHT_TXN_BUCKETS; b++) {
        sw_dht_txn **pp = &dht->txns[b];
        while (*pp) {
            sw_dht_txn *t = *pp;
            if (now_ms - t->sent_ms >= full) {
                *pp = t->next;
                dht->n_txns--;
                t->next = expired;
                expired = t;
                continue;
            }
            pp = &t->next;
        }
    }
    /* Late answers first: callbacks may send new queries, which only ever
     * go to the heads of the chains, and nothing here frees a transaction. */
    for (size_t b = 0; b < SW_DHT_TXN_BUCKETS; b++) {
        for (sw_dht_txn *t = dht->txns[b], *next; t; t = next) {
            next = t->next;
            if (!t->slow && now_ms - t->sent_ms >= shrt) {
                t->slow = true;
                if (t->cb)
                    t->cb(dht, t, NULL, SW_DHT_TXN_SLOW);
            }
        }
    }
    while (expired) {
        sw_dht_txn *t = expired;
        expired = t->next;
        dht->st.timeouts++;
        if (t->has_to_id)
            sw__dht_routing_failed(&dht->rt, &t->to_id, &t->to, now_ms);
        if (t->cb)
            t->cb(dht, t, NULL, SW_ERR_TIMEOUT);
        free(t);
    }
}

void sw__dht_txns_abort_all(sw_dht *dht)
{
    for (size_t b = 0; b < SW_DHT_TXN_BUCKETS; b++) {
        while (dht->txns[b]) {
            sw_dht_txn *t = dht->txns[b];
            dht->txns[b] = t->next;
            dht->n_txns--;
            if (t->cb)
                t->cb(dht, t, NULL, SW_ERR_ABORTED);
            free(t);
        }
    }
}
