/* Lookups for nodes and peers: bootstrap (find_node on our own id),
 * get_peers, and announce (get_peers, then announce_peer to the k closest
 * nodes that handed out a token). */
#include <string.h>

#include "dht/dht_internal.h"

static void deliver_done(sw_dht_traversal *t)
{
    if (t->done)
        t->done(t->user, t->status, &t->stats);
}

/* Our neighbourhood is known now; the farther regions come next (they
 * are looked into one after another while the caller hears we are done). */
static void deliver_bootstrap(sw_dht_traversal *t)
{
    if (t->status == 0)
        sw__dht_refresh_regions(t->dht);
    deliver_done(t);
}

static const sw_dht_trav_ops bootstrap_ops = {
    .method = SW_KRPC_FIND_NODE,
    .deliver = deliver_bootstrap,
};

int sw__dht_bootstrap(sw_dht *dht, sw_dht_done_cb done, void *user)
{
    if (dht->closing)
        return SW_ERR_ABORTED;
    sw_dht_traversal *t = sw__dht_trav_new(dht, &bootstrap_ops, &dht->self, user);
    if (!t)
        return SW_ERR_NOMEM;
    t->done = done;
    dht->last_bootstrap_ms = sw__dht_now(dht);
    sw__dht_trav_start(t);
    return 0;
}

static bool peers_reply(sw_dht_traversal *t, sw_dht_trav_node *n, const sw_krpc_msg *r)
{
    (void)n;
    if ((r->has & SW_KRPC_HAS_VALUES) && r->num_values > 0) {
        t->stats.peers += (int)r->num_values;
        if (t->on_peers)
            t->on_peers(t->user, &t->target, r->values, r->num_values);
    }
    return false;
}

static void fill_announce(sw_dht_traversal *t, sw_dht_trav_node *n, sw_krpc_msg *q)
{
    (void)n;
    q->method = SW_KRPC_ANNOUNCE_PEER;
    q->target = t->target;
    q->port = t->port;
    q->has |= SW_KRPC_HAS_TARGET | SW_KRPC_HAS_PORT;
    if (t->implied_port) {
        q->implied_port = true;
        q->has |= SW_KRPC_HAS_IMPLIED_PORT;
    }
    if (t->announce_seed) {
        q->seed = true;
        q->has |= SW_KRPC_HAS_SEED;
    }
}

static void peers_lookup_done(sw_dht_traversal *t)
{
    if (t->announce && !t->dht->set.read_only)
        sw__dht_trav_store(t, fill_announce);
    else
        sw__dht_trav_finish(t, 0);
}

static const sw_dht_trav_ops get_peers_ops = {
    .method = SW_KRPC_GET_PEERS,
    .on_reply = peers_reply,
    .on_lookup_done = peers_lookup_done,
    .deliver = deliver_done,
};

static int start_peers(sw_dht *dht, const sw_sha1 *info_hash, bool announce, uint16_t port,
                       unsigned flags, sw_dht_peers_cb on_peers, sw_dht_done_cb done, void *user)
{
    if (!info_hash)
        return SW_ERR_INVALID_ARG;
    if (dht->closing)
        return SW_ERR_ABORTED;
    sw_dht_traversal *t = sw__dht_trav_new(dht, &get_peers_ops, info_hash, user);
    if (!t)
        return SW_ERR_NOMEM;
    t->on_peers = on_peers;
    t->done = done;
    t->announce = announce;
    t->port = port;
    t->implied_port = (flags & SW_DHT_ANNOUNCE_IMPLIED_PORT) != 0;
    t->announce_seed = (flags & SW_DHT_ANNOUNCE_SEED) != 0;
    sw__dht_trav_start(t);
    return 0;
}

int sw__dht_get_peers(sw_dht *dht, const sw_sha1 *info_hash, sw_dht_peers_cb on_peers,
                      sw_dht_done_cb done, void *user)
{
    return start_peers(dht, info_hash, false, 0, 0, on_peers, done, user);
}

int sw__dht_announce(sw_dht *dht, const sw_sha1 *info_hash, uint16_t port, unsigned flags,
                     sw_dht_peers_cb on_peers, sw_dht_done_cb done, void *user)
{
    if (port == 0 && !(flags & SW_DHT_ANNOUNCE_IMPLIED_PORT))
        return SW_ERR_INVALID_ARG;
    return start_peers(dht, info_hash, true, port, flags, on_peers, done, user);
}
