/* The DHT node object: creation and closing, the incoming packet path
 * (address checks, per-address query limits, the reply byte budget), the
 * housekeeping timer (timeouts, token rotation, pings of questionable
 * nodes, bucket refresh, expiry) and its figures. */
#include <stdlib.h>
#include <string.h>

#include "dht/dht_internal.h"

void sw__dht_config_init(sw_dht_config *cfg, uv_loop_t *loop, int family, sw_dht_send_fn send,
                         void *send_user)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->loop = loop;
    cfg->family = family;
    cfg->send = send;
    cfg->send_user = send_user;
    sw__dht_settings_init(&cfg->settings);
}

static void routing_opts(const sw_dht_settings *s, sw_dht_routing_opts *o)
{
    memset(o, 0, sizeof *o);
    o->bucket_size = SW_DHT_K;
    o->extended = s->extended_routing_table;
    o->restrict_ips = s->restrict_routing_ips;
    o->enforce_node_id = s->enforce_node_id;
    o->max_fail_count = s->max_fail_count;
}

static void tick_cb(uv_timer_t *timer);

static void kick_cb(uv_timer_t *timer)
{
    sw__dht_trav_deliver_finished(timer->data);
}

void sw__dht_kick(sw_dht *dht)
{
    if (!dht->closing)
        uv_timer_start(&dht->kick, kick_cb, 0, 0);
}

int sw__dht_new(const sw_dht_config *cfg, sw_dht **dht_out)
{
    if (!cfg || !dht_out || !cfg->loop || !cfg->send ||
        (cfg->family != AF_INET && cfg->family != AF_INET6))
        return SW_ERR_INVALID_ARG;
    sw_dht *dht = calloc(1, sizeof *dht);
    if (!dht)
        return SW_ERR_NOMEM;
    dht->loop = cfg->loop;
    dht->family = cfg->family;
    dht->send = cfg->send;
    dht->send_user = cfg->send_user;
    dht->on_incoming = cfg->on_incoming;
    dht->incoming_user = cfg->incoming_user;
    dht->set = cfg->settings;
    if (cfg->node_id) {
        dht->self = *cfg->node_id;
    } else if (cfg->external_ip && cfg->external_ip->family == cfg->family) {
        uint8_t r;
        sw__dht_random_bytes(&r, 1);
        sw__dht_id_secure(cfg->external_ip, r & 7, &dht->self);
    } else {
        sw__dht_id_random(&dht->self);
    }
    sw__dht_random_bytes(&dht->next_tid, sizeof dht->next_tid);

    sw_dht_routing_opts ro;
    routing_opts(&dht->set, &ro);
    int rc = sw__dht_routing_init(&dht->rt, &dht->self, dht->family, &ro);
    if (rc != 0) {
        free(dht);
        return rc;
    }
    uint64_t now = uv_now(dht->loop);
    dht->rt.buckets[0].last_changed_ms = now;
    sw__dht_tokens_init(&dht->tokens, now);
    sw__dht_peers_init(&dht->peers, dht->set.max_torrents, dht->set.max_peers);
    sw__dht_items_init(&dht->items, dht->set.max_dht_items);
    dht->budget_ms = now;
    dht->upload_budget = dht->set.upload_rate_limit;
    dht->last_maint_ms = now;
    dht->last_expire_ms = now;
    dht->last_tick_ms = now;

    uv_timer_init(dht->loop, &dht->tick);
    uv_timer_init(dht->loop, &dht->kick);
    dht->tick.data = dht;
    dht->kick.data = dht;
    dht->handles_open = 2;
    uv_timer_start(&dht->tick, tick_cb, SW_DHT_TICK_MS, SW_DHT_TICK_MS);
    *dht_out = dht;
    return 0;
}

static void free_node(sw_dht *dht)
{
    sw__dht_routing_free(&dht->rt);
    sw__dht_peers_free(&dht->peers);
    sw__dht_items_free(&dht->items);
    sw__buf_free(&dht->out);
    free(dht->sample);
    free(dht);
}

static void on_handle_closed(uv_handle_t *h)
{
    sw_dht *dht = h->data;
    if (--dht->handles_open > 0)
        return;
    /* Lookups were ended with SW_ERR_ABORTED in sw__dht_close; their final
     * callbacks run now, then the single-query callbacks. */
    sw__dht_trav_deliver_finished(dht);
    sw__dht_txns_abort_all(dht);
    void (*cb)(void *) = dht->close_cb;
    void *user = dht->close_user;
    free_node(dht);
    if (cb)
        cb(user);
}

void sw__dht_close(sw_dht *dht, void (*cb)(void *user), void *user)
{
    if (!dht || dht->closing)
        return;
    dht->close_cb = cb;
    dht->close_user = user;
    while (dht->running)
        sw__dht_trav_finish(dht->running, SW_ERR_ABORTED);
    dht->closing = true;
    uv_timer_stop(&dht->tick);
    uv_timer_stop(&dht->kick);
    uv_close((uv_handle_t *)&dht->tick, on_handle_closed);
    uv_close((uv_handle_t *)&dht->kick, on_handle_closed);
}

void sw__dht_apply_settings(sw_dht *dht, const sw_dht_settings *s)
{
    dht->set = *s;
    sw_dht_routing_opts ro;
    routing_opts(s, &ro);
    sw__dht_routing_set_opts(&dht->rt, &ro);
    dht->peers.max_torrents = s->max_torrents > 0 ? s->max_torrents : 1;
    dht->peers.max_peers = s->max_peers > 0 ? s->max_peers : 1;
    dht->items.max_items = s->max_dht_items > 0 ? s->max_dht_items : 1;
    dht->sample_valid = false;
}

const sw_sha1 *sw__dht_node_id(const sw_dht *dht)
{
    return &dht->self;
}

/* ---- incoming packets ---- */

/* dht_block_ratelimit: an address sending more queries per second than
 * that is ignored for dht_block_timeout seconds. Local addresses are
 * exempt: they are ours or our network's, never a remote flood. */
static bool blocked(sw_dht *dht, const sw_endpoint *from, uint64_t now)
{
    if (dht->set.block_ratelimit <= 0 || sw__dht_addr_is_local(from))
        return false;
    sw_endpoint ip = *from;
    ip.port = 0;
    sw_dht_blocker_entry *e = &dht->blocker[sw__endpoint_hash(&ip) % SW_DHT_BLOCKER_SIZE];
    if (!sw__endpoint_equal(&e->ip, &ip)) {
        if (e->blocked_until_ms > now)
            return false; /* keep the blocked entry; this one goes untracked */
        memset(e, 0, sizeof *e);
        e->ip = ip;
        e->window_ms = now;
    }
    if (e->blocked_until_ms > now)
        return true;
    if (now - e->window_ms >= 1000) {
        e->window_ms = now;
        e->count = 0;
    }
    if (++e->count > (uint32_t)dht->set.block_ratelimit) {
        e->blocked_until_ms = now + (uint64_t)dht->set.block_timeout * 1000;
        return true;
    }
    return false;
}

/* dht_upload_rate_limit: replies spend a byte budget refilled at that rate
 * (at most one second's worth saved up); with none left, queries go
 * unanswered. */
static bool budget_ok(sw_dht *dht, uint64_t now)
{
    int64_t rate = dht->set.upload_rate_limit;
    if (rate <= 0)
        return true;
    uint64_t elapsed = now - dht->budget_ms;
    dht->budget_ms = now;
    dht->upload_budget += (int64_t)(elapsed * (uint64_t)rate / 1000);
    if (dht->upload_budget > rate)
        dht->upload_budget = rate;
    return dht->upload_budget > 0;
}

int sw__dht_on_packet(sw_dht *dht, const uint8_t *data, size_t len, const struct sockaddr *from_sa)
{
    if (!dht || dht->closing || !from_sa)
        return 0;
    sw_endpoint from;
    if (sw__endpoint_from_sockaddr(&from, from_sa) != 0)
        return SW_ERR_INVALID_ARG;
    dht->st.packets_in++;
    dht->st.bytes_in += len;
    if (from.family != dht->family || from.port == 0 ||
        (dht->set.ignore_dark_internet && sw__dht_addr_is_dark(&from))) {
        dht->st.dropped++;
        return 0;
    }
    uint64_t now = sw__dht_now(dht);
    sw_krpc_msg m;
    int rc = sw__krpc_decode(data, len, &m);
    if (rc != 0) {
        dht->st.malformed++;
        dht->st.dropped++;
        if (m.type == SW_KRPC_QUERY && !dht->set.read_only && !blocked(dht, &from, now) &&
            budget_ok(dht, now))
            sw__dht_send_error(dht, m.tid, SW_KRPC_E_PROTOCOL, "malformed query", &from);
        return SW_ERR_DHT_MALFORMED;
    }
    switch (m.type) {
    case SW_KRPC_QUERY:
        /* BEP 43: a read-only node answers nothing. */
        if (dht->set.read_only || blocked(dht, &from, now) || !budget_ok(dht, now)) {
            dht->st.dropped++;
            break;
        }
        sw__dht_handle_query(dht, &m, &from);
        /* BEP 43: read-only senders are served but never routed to. A new
         * node enters the table questionable, without a ping now: it is
         * most likely in the middle of a lookup, and it may answer one of
         * our queries (or announce with our token) before long, which
         * confirms it for free. Until then replies to others do not name
         * it (see verify.c for when a live one is pinged); one in a
         * replacement cache is pinged only once promoted (maintenance
         * pings questionable live nodes). */
        if (!m.read_only &&
            sw__dht_routing_heard(&dht->rt, &m.id, &from, false, now) == SW_DHT_ADD_LIVE)
            sw__dht_verify_new(dht, &m.id, &from, now);
        break;
    case SW_KRPC_RESPONSE:
    case SW_KRPC_ERROR:
        sw__dht_txns_on_reply(dht, &m, &from);
        break;
    }
    sw__krpc_msg_release(&m);
    return 0;
}

/* ---- joining ---- */

static int endpoint_of(const sw_dht *dht, const struct sockaddr *addr, sw_endpoint *ep)
{
    if (!addr || sw__endpoint_from_sockaddr(ep, addr) != 0 || ep->family != dht->family ||
        ep->port == 0)
        return SW_ERR_INVALID_ARG;
    return 0;
}

void sw__dht_send_ping(sw_dht *dht, const sw_endpoint *ep, const sw_sha1 *id)
{
    sw_krpc_msg q;
    memset(&q, 0, sizeof q);
    q.method = SW_KRPC_PING;
    /* No callback: the answer enters the routing table on its own. */
    sw__dht_query(dht, &q, ep, id, NULL, NULL, NULL);
}

int sw__dht_add_node(sw_dht *dht, const struct sockaddr *addr)
{
    if (dht->closing)
        return SW_ERR_ABORTED;
    sw_endpoint ep;
    int rc = endpoint_of(dht, addr, &ep);
    if (rc != 0)
        return rc;
    sw__dht_send_ping(dht, &ep, NULL);
    return 0;
}

int sw__dht_add_router(sw_dht *dht, const struct sockaddr *addr)
{
    sw_endpoint ep;
    int rc = endpoint_of(dht, addr, &ep);
    if (rc != 0)
        return rc;
    for (size_t i = 0; i < dht->n_routers; i++)
        if (sw__endpoint_equal(&dht->routers[i], &ep))
            return 0;
    if (dht->n_routers == SW_DHT_MAX_ROUTERS)
        return SW_ERR_LIMIT;
    dht->routers[dht->n_routers++] = ep;
    return 0;
}

/* ---- housekeeping ---- */

static void internal_done(sw_dht_traversal *t)
{
    sw_dht *dht = t->dht;
    dht->refresh_running = false;
    /* One region after another until each is covered. */
    if (!dht->closing && t->status == 0)
        sw__dht_refresh_regions(dht);
}

static const sw_dht_trav_ops refresh_ops = {
    .method = SW_KRPC_FIND_NODE,
    .deliver = internal_done,
};

static void start_refresh(sw_dht *dht, const sw_sha1 *target)
{
    sw_dht_traversal *t = sw__dht_trav_new(dht, &refresh_ops, target, NULL);
    if (!t)
        return;
    t->internal = true;
    dht->refresh_running = true;
    sw__dht_trav_start(t);
}

/* A node knows the ids near its own best, from its own lookups and from
 * the nodes that ask it; regions farther away stay thin unless we look
 * into them. A lookup needs at least one node in the target's region to
 * get there, so every region nearer the root than our deepest known node
 * gets k nodes if it has them (a bucket refresh, done by region because
 * the extended routing table keeps far regions in one bucket). */
bool sw__dht_refresh_regions(sw_dht *dht)
{
    if (dht->refresh_running || dht->closing || dht->set.read_only)
        return false;
    uint32_t counts[SW_DHT_ID_BITS];
    int deepest = sw__dht_routing_depth_counts(&dht->rt, counts);
    uint64_t now = sw__dht_now(dht);
    for (int d = 0; d < deepest; d++) {
        uint64_t last = dht->region_refreshed_ms[d];
        if (counts[d] >= SW_DHT_K || (last != 0 && now - last < SW_DHT_REFRESH_MS))
            continue;
        dht->region_refreshed_ms[d] = now;
        sw_sha1 target;
        sw__dht_id_random_at_depth(&dht->self, d, &target);
        start_refresh(dht, &target);
        return true;
    }
    return false;
}

static void maintenance(sw_dht *dht, uint64_t now)
{
    sw__dht_tokens_tick(&dht->tokens, now);
    if (now - dht->last_expire_ms >= 10000) {
        dht->last_expire_ms = now;
        sw__dht_peers_expire(&dht->peers, now, SW_DHT_PEER_LIFETIME_MS);
        uint64_t life = dht->set.item_lifetime > 0 ? (uint64_t)dht->set.item_lifetime * 1000
                                                   : SW_DHT_ITEM_LIFETIME_MS;
        sw__dht_items_expire(&dht->items, now, life);
    }
    if (dht->set.read_only)
        return; /* no pings or refreshes keep a read-only node in others' tables */
    sw_dht_contact c;
    if (sw__dht_routing_next_ping(&dht->rt, now, SW_DHT_PING_GAP_MS, SW_DHT_VERIFY_DELAY_MS, &c))
        sw__dht_send_ping(dht, &c.ep, &c.id);

    size_t live;
    sw__dht_routing_counts(&dht->rt, now, &live, NULL, NULL);
    if (dht->refresh_running)
        return;
    sw_sha1 target;
    if (live < SW_DHT_K) {
        /* A small table (nodes that joined together all found an empty
         * router) looks for our neighbours again soon; an empty one asks
         * the routers now and then. */
        uint64_t gap = live == 0 ? SW_DHT_REBOOTSTRAP_MS : SW_DHT_SMALL_TABLE_MS;
        if ((live > 0 || dht->n_routers > 0) && now - dht->last_bootstrap_ms >= gap) {
            dht->last_bootstrap_ms = now;
            start_refresh(dht, &dht->self);
        }
        return;
    }
    if (sw__dht_refresh_regions(dht))
        return;
    if (sw__dht_routing_next_refresh(&dht->rt, now, SW_DHT_REFRESH_MS, &target))
        start_refresh(dht, &target);
}

static void tick_cb(uv_timer_t *timer)
{
    sw_dht *dht = timer->data;
    uint64_t now = uv_now(dht->loop);
    /* After the loop was held up (a stalled process), the answers to our
     * queries may be waiting in the socket: timers run before I/O, so give
     * them one turn before judging anything late. */
    bool stalled = now - dht->last_tick_ms > SW_DHT_STALL_MS;
    dht->last_tick_ms = now;
    if (stalled)
        return;
    sw__dht_txns_tick(dht, now);
    if (dht->closing)
        return;
    sw__dht_verify_tick(dht, now);
    if (now - dht->last_maint_ms >= SW_DHT_MAINT_MS) {
        dht->last_maint_ms = now;
        maintenance(dht, now);
    }
}

/* ---- our address (BEP 42) ---- */

void sw__dht_vote_ip(sw_dht *dht, const sw_endpoint *voter, const sw_endpoint *ip)
{
    if (ip->family != dht->family)
        return;
    sw_endpoint who = *voter, what = *ip;
    who.port = 0;
    what.port = 0;
    /* One vote per address among the recent voters. */
    for (size_t i = 0; i < dht->n_voters; i++)
        if (sw__endpoint_equal(&dht->voters[i], &who))
            return;
    dht->voters[dht->voter_pos] = who;
    dht->voter_pos = (dht->voter_pos + 1) % SW_DHT_IP_VOTERS;
    if (dht->n_voters < SW_DHT_IP_VOTERS)
        dht->n_voters++;
    sw_dht_ip_vote *least = &dht->ip_votes[0];
    for (size_t i = 0; i < SW_DHT_IP_CANDIDATES; i++) {
        sw_dht_ip_vote *c = &dht->ip_votes[i];
        if (c->votes > 0 && sw__endpoint_equal(&c->ip, &what)) {
            c->votes++;
            return;
        }
        if (c->votes < least->votes)
            least = c;
    }
    least->ip = what;
    least->votes = 1;
}

bool sw__dht_external_address(const sw_dht *dht, sw_endpoint *out)
{
    const sw_dht_ip_vote *best = NULL;
    uint32_t total = 0;
    for (size_t i = 0; i < SW_DHT_IP_CANDIDATES; i++) {
        const sw_dht_ip_vote *c = &dht->ip_votes[i];
        total += c->votes;
        if (c->votes > 0 && (!best || c->votes > best->votes))
            best = c;
    }
    if (!best || best->votes < SW_DHT_IP_MIN_VOTES || best->votes * 2 <= total)
        return false;
    *out = best->ip;
    return true;
}

/* ---- figures ---- */

void sw__dht_get_stats(const sw_dht *dht, sw_dht_stats *out)
{
    *out = dht->st;
    sw__dht_routing_counts(&dht->rt, uv_now(dht->loop), &out->nodes, &out->good_nodes,
                           &out->node_cache);
    out->buckets = (size_t)dht->rt.n_buckets;
    out->torrents = dht->peers.n;
    size_t peers = 0;
    for (size_t i = 0; i < dht->peers.n; i++)
        peers += (size_t)dht->peers.torrents[i]->n_peers;
    out->peers = peers;
    out->items = dht->items.n;
    out->lookups = dht->n_running;
    out->pending = dht->n_txns;
}

int sw__dht_bucket_nodes(const sw_dht *dht, int i, int *live_out, int *cache_out)
{
    if (i < 0 || i >= dht->rt.n_buckets)
        return SW_ERR_INVALID_ARG;
    if (live_out)
        *live_out = dht->rt.buckets[i].n_live;
    if (cache_out)
        *cache_out = dht->rt.buckets[i].n_repl;
    return 0;
}
