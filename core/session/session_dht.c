/* The session's DHT: one node (core/dht) on the shared UDP socket, its
 * routers and added nodes, torrents announced and their peers fed into the
 * swarms, the item functions of session.h turned into alerts, the DHT part
 * of the session status and of the saved state. Network thread only, except
 * the public functions, which marshal onto it.
 *
 * Ownership. ses->dht lives from the first DHT call (or the session's own
 * start) to shutdown. Every lookup carries its own heap context naming the
 * session (alive until the loop ends) and, for torrents, the torrent's id
 * (never the pointer: a torrent may be removed while its lookup runs); a
 * final callback finds the state again through ses->dht, which is NULL once
 * it was freed. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dht/dht.h"
#include "session_dht.h"
#include "session_udp.h"

/* How often torrents, settings and the socket are looked at. */
#define SCAN_INTERVAL_MS 500
/* A download that found no peers asks again after this, doubling up to
 * dht_announce_interval. */
#define RETRY_FIRST_MS 5000
/* An empty routing table bootstraps again after this. */
#define REBOOTSTRAP_MS 5000
#define MAX_ROUTERS 32

typedef struct dht_torrent {
    uint64_t id;
    uint64_t next_ms;  /* next announce */
    uint64_t retry_ms; /* current back-off while nothing is found */
    bool busy;         /* an announce is running */
} dht_torrent;

typedef struct resolve_req resolve_req;

struct sw_session_dht {
    sw_session *ses;
    resolve_req *resolving;  /* names being resolved (cancelled at shutdown) */
    sw_dht *node;            /* NULL while stopped or waiting for the UDP socket */
    int family;              /* the node's address family */
    uint16_t announced_port; /* the listen port torrents were announced with */
    bool wanted;             /* started (by hand or as a default feature) */
    bool enable_seen;
    uv_timer_t timer;
    bool timer_open;
    sw_dht_settings applied;
    uint8_t *saved; /* "dht state" from load_state, bencoded */
    size_t saved_len;
    sw_endpoint routers[MAX_ROUTERS];
    int num_routers;
    /* Nodes added by hand, pinged again while the table is empty (an
     * answer may have been lost, or the node was not up yet). */
    sw_endpoint added[MAX_ROUTERS];
    int num_added;
    sw_endpoint *queued; /* nodes to ping once the node runs */
    size_t num_queued, cap_queued;
    dht_torrent *torrents;
    size_t num_torrents, cap_torrents;
    bool bootstrapping;
    bool want_bootstrap;
    uint64_t last_bootstrap_ms;
    /* Traffic of nodes already closed, so totals survive stop/start. */
    uint64_t old_in, old_out;
    uint64_t rate_prev_in, rate_prev_out, rate_prev_ms;
    int rate_in, rate_out;
};

static uint64_t now_ms(sw_session *ses)
{
    return uv_now(&ses->loop);
}

/* ---- state object ---- */

static void on_timer(uv_timer_t *t);

static struct sw_session_dht *get_state(sw_session *ses)
{
    if (ses->dht)
        return ses->dht;
    if (ses->shutting_down)
        return NULL;
    struct sw_session_dht *d = calloc(1, sizeof *d);
    if (!d)
        return NULL;
    d->ses = ses;
    d->enable_seen = sw__settings_bool(ses->settings, SW_SET_ENABLE_DHT);
    if (uv_timer_init(&ses->loop, &d->timer) < 0) {
        free(d);
        return NULL;
    }
    d->timer.data = d;
    d->timer_open = true;
    uv_timer_start(&d->timer, on_timer, SCAN_INTERVAL_MS, SCAN_INTERVAL_MS);
    ses->dht = d;
    return d;
}

static void free_state(uv_handle_t *h)
{
    struct sw_session_dht *d = h->data;
    free(d->saved);
    free(d->queued);
    free(d->torrents);
    free(d);
}

/* ---- alerts ---- */

static sw_alert *dht_alert(sw_session *ses, sw_alert_type type)
{
    return sw__session_torrent_alert(ses, NULL, type, false);
}

static const uint8_t *alert_copy(sw_alert *a, const void *data, size_t len)
{
    if (!data || len == 0)
        return NULL;
    uint8_t *p = sw__alert_alloc(a, len);
    if (p)
        memcpy(p, data, len);
    return p;
}

static void hex_of(const uint8_t *v, size_t n, char *out)
{
    sw_hex_encode(v, n, out);
}

/* ---- sending and the node's life ---- */

static int send_datagram(void *user, const uint8_t *data, size_t len, const struct sockaddr *to)
{
    return sw__session_udp_send(user, to, data, len);
}

static int listen_family(sw_session *ses)
{
    if (ses->num_listeners <= 0 || !ses->udp)
        return 0;
    return sw__listener_endpoint(ses->listeners[0])->family;
}

static void add_endpoint_to_node(struct sw_session_dht *d, const sw_endpoint *ep, bool router)
{
    struct sockaddr_storage ss;
    sw__endpoint_to_sockaddr(ep, &ss);
    if (router)
        (void)sw__dht_add_router(d->node, (const struct sockaddr *)&ss);
    else
        (void)sw__dht_add_node(d->node, (const struct sockaddr *)&ss);
}

static void bootstrap_done(void *user, int status, const sw_dht_lookup_stats *stats)
{
    (void)stats;
    sw_session *ses = user;
    struct sw_session_dht *d = ses->dht;
    if (!d)
        return;
    d->bootstrapping = false;
    /* Nobody to ask yet is no news: the next node added bootstraps. */
    if (status == SW_ERR_ABORTED || status == SW_ERR_DHT_NO_NODES || !d->node)
        return;
    sw_dht_stats st;
    sw__dht_get_stats(d->node, &st);
    sw_alert *a = dht_alert(ses, SW_ALERT_DHT_BOOTSTRAP);
    if (!a)
        return;
    a->error = status;
    a->payload.dht.num_nodes = (int)st.nodes;
    sw__alert_set_message(a, "DHT bootstrap %s: %zu nodes in the routing table",
                          status == 0 ? "done" : sw_strerror(status), st.nodes);
    sw__session_post_alert(ses, a);
}

static void start_bootstrap(struct sw_session_dht *d)
{
    if (!d->node || d->bootstrapping)
        return;
    d->want_bootstrap = false;
    d->last_bootstrap_ms = now_ms(d->ses);
    if (sw__dht_bootstrap(d->node, bootstrap_done, d->ses) == 0)
        d->bootstrapping = true;
}

static void close_node(struct sw_session_dht *d)
{
    if (!d->node)
        return;
    sw_dht_stats st;
    sw__dht_get_stats(d->node, &st);
    d->old_in += st.bytes_in;
    d->old_out += st.bytes_out;
    sw_dht *node = d->node;
    d->node = NULL;
    d->bootstrapping = false;
    for (size_t i = 0; i < d->num_torrents; i++)
        d->torrents[i].next_ms = 0;
    sw__dht_close(node, NULL, NULL);
}

static void resolve_bootstrap_setting(struct sw_session_dht *d);

/* Other nodes' get_peers and announce_peer (libtorrent's dht_get_peers
 * and dht_announce alerts). */
static void on_incoming(void *user, sw_dht_incoming kind, const sw_sha1 *info_hash,
                        const sw_endpoint *from, uint16_t port)
{
    sw_session *ses = user;
    sw_alert_type type =
        kind == SW_DHT_IN_ANNOUNCE ? SW_ALERT_DHT_ANNOUNCE : SW_ALERT_DHT_GET_PEERS;
    if (!sw__session_wants(ses, type))
        return;
    sw_alert *a = dht_alert(ses, type);
    if (!a)
        return;
    a->info_hash = *info_hash;
    sw_endpoint ep = *from;
    if (kind == SW_DHT_IN_ANNOUNCE)
        ep.port = port;
    sw__endpoint_to_alert_peer(&ep, &a->payload.dht.peer);
    char hex[41], addr[SW_ENDPOINT_STRLEN];
    hex_of(info_hash->v, 20, hex);
    sw__endpoint_format(&ep, addr, sizeof addr);
    sw__alert_set_message(a, "DHT %s %s from %s",
                          kind == SW_DHT_IN_ANNOUNCE ? "announce of" : "get_peers for", hex, addr);
    sw__session_post_alert(ses, a);
}
static sw_dht *running_node(sw_session *ses);

/* Creates the node once the session has a UDP socket. */
static int open_node(struct sw_session_dht *d)
{
    sw_session *ses = d->ses;
    int family = listen_family(ses);
    if (!family)
        return 0; /* waits for sw_session_listen_on */
    sw_dht_config cfg;
    sw__dht_config_init(&cfg, &ses->loop, family, send_datagram, ses);
    sw__dht_settings_from(&cfg.settings, ses->settings);
    cfg.on_incoming = on_incoming;
    cfg.incoming_user = ses;
    sw_bdoc *doc = NULL;
    sw_sha1 id;
    if (d->saved && sw_bdecode(d->saved, d->saved_len, NULL, &doc, NULL) == 0 &&
        sw__dht_state_node_id(sw_bdoc_root(doc), &id))
        cfg.node_id = &id;
    int rc = sw__dht_new(&cfg, &d->node);
    if (rc < 0) {
        sw_bdoc_free(doc);
        return rc;
    }
    d->applied = cfg.settings;
    d->family = family;
    if (doc)
        (void)sw__dht_load_nodes(d->node, sw_bdoc_root(doc));
    sw_bdoc_free(doc);
    for (int i = 0; i < d->num_routers; i++)
        add_endpoint_to_node(d, &d->routers[i], true);
    for (size_t i = 0; i < d->num_queued; i++)
        add_endpoint_to_node(d, &d->queued[i], false);
    d->num_queued = 0;
    resolve_bootstrap_setting(d);
    start_bootstrap(d);
    return 0;
}

/* ---- routers and nodes by name ---- */

struct resolve_req {
    uv_getaddrinfo_t req;
    sw_session *ses;
    uint16_t port;
    bool router;
    resolve_req *prev, *next; /* the state's list; unlinked at shutdown */
    bool linked;
};

static void add_resolved(struct sw_session_dht *d, const sw_endpoint *ep, bool router)
{
    if (!router) {
        bool known = false;
        for (int i = 0; i < d->num_added; i++)
            known = known || sw__endpoint_equal(&d->added[i], ep);
        if (!known && d->num_added < MAX_ROUTERS)
            d->added[d->num_added++] = *ep;
    }
    if (router) {
        for (int i = 0; i < d->num_routers; i++)
            if (sw__endpoint_equal(&d->routers[i], ep))
                return;
        if (d->num_routers >= MAX_ROUTERS)
            return;
        d->routers[d->num_routers++] = *ep;
    }
    if (d->node) {
        add_endpoint_to_node(d, ep, router);
        d->want_bootstrap = true;
        return;
    }
    if (router)
        return; /* added when the node opens */
    if (d->num_queued == d->cap_queued) {
        size_t cap = d->cap_queued ? d->cap_queued * 2 : 8;
        if (cap > 1024)
            return;
        sw_endpoint *q = realloc(d->queued, cap * sizeof *q);
        if (!q)
            return;
        d->queued = q;
        d->cap_queued = cap;
    }
    d->queued[d->num_queued++] = *ep;
}

static void on_resolved(uv_getaddrinfo_t *req, int status, struct addrinfo *res)
{
    resolve_req *r = req->data;
    struct sw_session_dht *d = r->ses->dht;
    if (r->linked && d) {
        if (r->prev)
            r->prev->next = r->next;
        else
            d->resolving = r->next;
        if (r->next)
            r->next->prev = r->prev;
    }
    if (status == 0 && d && !r->ses->shutting_down) {
        for (struct addrinfo *ai = res; ai; ai = ai->ai_next) {
            sw_endpoint ep;
            if (sw__endpoint_from_sockaddr(&ep, ai->ai_addr) < 0)
                continue;
            ep.port = r->port;
            add_resolved(d, &ep, r->router);
        }
    }
    uv_freeaddrinfo(res);
    free(r);
}

/* A numeric address is added at once; a name goes through the resolver. */
static int add_host(struct sw_session_dht *d, const char *host, int port, bool router)
{
    if (!host || !*host || port <= 0 || port > 65535)
        return SW_ERR_INVALID_ARG;
    sw_endpoint ep;
    if (sw__endpoint_from_ip(&ep, host, (uint16_t)port) == 0) {
        add_resolved(d, &ep, router);
        return 0;
    }
    resolve_req *r = calloc(1, sizeof *r);
    if (!r)
        return SW_ERR_NOMEM;
    r->ses = d->ses;
    r->port = (uint16_t)port;
    r->router = router;
    r->req.data = r;
    struct addrinfo hints;
    memset(&hints, 0, sizeof hints);
    hints.ai_socktype = SOCK_DGRAM;
    int rc = uv_getaddrinfo(&d->ses->loop, &r->req, on_resolved, host, NULL, &hints);
    if (rc < 0) {
        free(r);
        return rc;
    }
    r->next = d->resolving;
    if (r->next)
        r->next->prev = r;
    d->resolving = r;
    r->linked = true;
    return 0;
}

/* dht_bootstrap_nodes: "host:port,host:port" ("[v6]:port" too). */
static void resolve_bootstrap_setting(struct sw_session_dht *d)
{
    const char *list = sw__settings_str(d->ses->settings, SW_SET_DHT_BOOTSTRAP_NODES);
    while (list && *list) {
        const char *end = strchr(list, ',');
        size_t len = end ? (size_t)(end - list) : strlen(list);
        char item[300];
        while (len > 0 && *list == ' ') {
            list++;
            len--;
        }
        while (len > 0 && list[len - 1] == ' ')
            len--;
        if (len > 0 && len < sizeof item) {
            memcpy(item, list, len);
            item[len] = '\0';
            char *colon = strrchr(item, ':');
            if (colon) {
                *colon = '\0';
                char *host = item;
                size_t hl = strlen(host);
                if (hl >= 2 && host[0] == '[' && host[hl - 1] == ']') {
                    host[hl - 1] = '\0';
                    host++;
                }
                (void)add_host(d, host, atoi(colon + 1), true);
            }
        }
        if (!end)
            break;
        list = end + 1;
    }
}

/* ---- torrents ---- */

typedef struct announce_ctx {
    sw_session *ses;
    uint64_t id;
    int peers;
} announce_ctx;

static dht_torrent *find_entry(struct sw_session_dht *d, uint64_t id)
{
    for (size_t i = 0; i < d->num_torrents; i++)
        if (d->torrents[i].id == id)
            return &d->torrents[i];
    return NULL;
}

static dht_torrent *add_entry(struct sw_session_dht *d, uint64_t id)
{
    if (d->num_torrents == d->cap_torrents) {
        size_t cap = d->cap_torrents ? d->cap_torrents * 2 : 16;
        dht_torrent *n = realloc(d->torrents, cap * sizeof *n);
        if (!n)
            return NULL;
        d->torrents = n;
        d->cap_torrents = cap;
    }
    dht_torrent *e = &d->torrents[d->num_torrents++];
    memset(e, 0, sizeof *e);
    e->id = id;
    e->retry_ms = RETRY_FIRST_MS;
    return e;
}

static bool is_own(sw_session *ses, const sw_endpoint *ep)
{
    if (ep->port != ses->env.listen_port)
        return false;
    for (int i = 0; i < ses->num_listeners; i++)
        if (sw__endpoint_same_ip(sw__listener_endpoint(ses->listeners[i]), ep))
            return true;
    return ep->family == AF_INET && ep->addr[0] == 127;
}

static void on_torrent_peers(void *user, const sw_sha1 *info_hash, const sw_endpoint *peers,
                             size_t n)
{
    (void)info_hash;
    announce_ctx *c = user;
    sw_torrent *t = sw__session_find(c->ses, c->id);
    if (!t || t->removed || !t->swarm_ready)
        return;
    for (size_t i = 0; i < n; i++) {
        if (is_own(c->ses, &peers[i]))
            continue;
        /* Counted even when already known: the DHT found it. */
        c->peers++;
        (void)sw__swarm_add_peer(&t->swarm, &peers[i], SW_PEER_SRC_DHT, false);
    }
}

static bool torrent_done(const sw_torrent *t)
{
    return t->state == SW_TORRENT_SEEDING || t->state == SW_TORRENT_FINISHED;
}

static void on_torrent_announced(void *user, int status, const sw_dht_lookup_stats *stats)
{
    (void)stats;
    announce_ctx *c = user;
    sw_session *ses = c->ses;
    struct sw_session_dht *d = ses->dht;
    sw_torrent *t = sw__session_find(ses, c->id);
    dht_torrent *e = d ? find_entry(d, c->id) : NULL;
    if (e) {
        e->busy = false;
        int64_t interval = (int64_t)sw__settings_int(ses->settings, SW_SET_DHT_ANNOUNCE_INTERVAL);
        uint64_t full = (uint64_t)(interval > 0 ? interval : 1) * 1000;
        uint64_t wait = full;
        if (status != 0 || (c->peers == 0 && t && !torrent_done(t))) {
            /* Nothing yet: ask again soon, backing off. */
            wait = e->retry_ms < full ? e->retry_ms : full;
            if (e->retry_ms < full)
                e->retry_ms *= 2;
        } else {
            e->retry_ms = RETRY_FIRST_MS;
        }
        e->next_ms = now_ms(ses) + wait;
        if (status == SW_ERR_ABORTED)
            e->next_ms = 0;
    }
    if (t && !t->removed && status != SW_ERR_ABORTED) {
        sw_alert *a = sw__session_torrent_alert(ses, t, SW_ALERT_DHT_REPLY, false);
        if (a) {
            a->error = status;
            a->payload.dht.num_peers = c->peers;
            if (status == 0)
                sw__alert_set_message(a, "%s: DHT announce: %d peers", t->name, c->peers);
            else
                sw__alert_set_message(a, "%s: DHT announce failed: %s", t->name,
                                      sw_strerror(status));
            sw__session_post_alert(ses, a);
        }
    }
    free(c);
}

static bool dht_wanted_for(const sw_torrent *t)
{
    if (t->removed || !t->swarm_ready || !t->swarm.active)
        return false;
    return !(t->ti && sw_torrent_info_is_private(t->ti));
}

static void announce_torrents(struct sw_session_dht *d)
{
    sw_session *ses = d->ses;
    uint64_t now = now_ms(ses);
    /* Forget torrents that left the session. */
    for (size_t i = 0; i < d->num_torrents;) {
        if (!d->torrents[i].busy && !sw__session_find(ses, d->torrents[i].id))
            d->torrents[i] = d->torrents[--d->num_torrents];
        else
            i++;
    }
    if (!d->node || ses->env.listen_port == 0)
        return;
    if (ses->env.listen_port != d->announced_port) {
        /* A new listen port: every torrent tells the DHT at once. */
        d->announced_port = ses->env.listen_port;
        for (size_t i = 0; i < d->num_torrents; i++)
            d->torrents[i].next_ms = 0;
    }
    for (sw_torrent *t = ses->torrents; t; t = t->next) {
        if (!dht_wanted_for(t))
            continue;
        dht_torrent *e = find_entry(d, t->id);
        if (!e)
            e = add_entry(d, t->id);
        if (!e || e->busy || e->next_ms > now)
            continue;
        announce_ctx *c = calloc(1, sizeof *c);
        if (!c)
            return;
        c->ses = ses;
        c->id = t->id;
        /* BEP 33: a torrent with every piece counts among the seeds of
         * DHT scrapes (one that only has the files it wants does not). */
        unsigned flags = t->state == SW_TORRENT_SEEDING ? SW_DHT_ANNOUNCE_SEED : 0;
        int rc = sw__dht_announce(d->node, &t->info_hash, ses->env.listen_port, flags,
                                  on_torrent_peers, on_torrent_announced, c);
        if (rc < 0) {
            free(c);
            e->next_ms = now + RETRY_FIRST_MS;
            continue;
        }
        e->busy = true;
        /* Peers announced to our own node count too (the lookup skips it). */
        sw_endpoint local[64];
        size_t n = sw__dht_local_peers(d->node, &t->info_hash, local, 64);
        if (n)
            on_torrent_peers(c, &t->info_hash, local, n);
    }
}

/* ---- the periodic scan ---- */

static void follow_settings(struct sw_session_dht *d)
{
    sw_session *ses = d->ses;
    bool enable = sw__settings_bool(ses->settings, SW_SET_ENABLE_DHT);
    if (enable != d->enable_seen) {
        d->enable_seen = enable;
        d->wanted = enable;
        if (!enable)
            close_node(d);
    }
    if (d->node) {
        sw_dht_settings s = d->applied;
        sw__dht_settings_from(&s, ses->settings);
        if (memcmp(&s, &d->applied, sizeof s) != 0) {
            d->applied = s;
            sw__dht_apply_settings(d->node, &s);
        }
    }
}

static void update_rates(struct sw_session_dht *d)
{
    uint64_t now = now_ms(d->ses);
    uint64_t in = d->old_in, out = d->old_out;
    if (d->node) {
        sw_dht_stats st;
        sw__dht_get_stats(d->node, &st);
        in += st.bytes_in;
        out += st.bytes_out;
    }
    if (d->rate_prev_ms && now > d->rate_prev_ms) {
        uint64_t dt = now - d->rate_prev_ms;
        d->rate_in = (int)((in - d->rate_prev_in) * 1000 / dt);
        d->rate_out = (int)((out - d->rate_prev_out) * 1000 / dt);
    }
    d->rate_prev_ms = now;
    d->rate_prev_in = in;
    d->rate_prev_out = out;
}

static void scan(struct sw_session_dht *d)
{
    sw_session *ses = d->ses;
    if (ses->shutting_down)
        return;
    follow_settings(d);
    if (d->wanted && !d->node)
        (void)open_node(d);
    if (d->node) {
        sw_dht_stats st;
        sw__dht_get_stats(d->node, &st);
        bool empty = st.nodes == 0 && now_ms(ses) - d->last_bootstrap_ms >= REBOOTSTRAP_MS;
        if (empty)
            for (int i = 0; i < d->num_added; i++)
                add_endpoint_to_node(d, &d->added[i], false);
        if (!d->bootstrapping && (d->want_bootstrap || empty))
            start_bootstrap(d);
    }
    announce_torrents(d);
    update_rates(d);
}

static void on_timer(uv_timer_t *t)
{
    scan(t->data);
}

/* ---- hooks from the rest of the session ---- */

void sw__session_dht_udp_ready(sw_session *ses)
{
    struct sw_session_dht *d = ses->dht;
    if (!d || !d->wanted)
        return;
    /* Listening again on another address family: a node serves one
     * family (BEP 32), so it starts over on the new one. */
    if (d->node && d->family != listen_family(ses))
        close_node(d);
    if (!d->node)
        (void)open_node(d);
}

bool sw__session_dht_on_udp(sw_session *ses, const struct sockaddr *from, const uint8_t *data,
                            size_t len)
{
    struct sw_session_dht *d = ses->dht;
    if (!d || !d->node || len == 0 || data[0] != 'd')
        return false;
    (void)sw__dht_on_packet(d->node, data, len, from);
    return true;
}

void sw__session_dht_shutdown(sw_session *ses)
{
    struct sw_session_dht *d = ses->dht;
    if (!d)
        return;
    close_node(d);
    /* A name still queued for the resolver need not hold the shutdown up
     * (one already being resolved finishes, and is ignored). */
    for (resolve_req *r = d->resolving; r; r = r->next) {
        r->linked = false;
        uv_cancel((uv_req_t *)&r->req);
    }
    d->resolving = NULL;
    ses->dht = NULL;
    uv_timer_stop(&d->timer);
    uv_close((uv_handle_t *)&d->timer, free_state);
}

/* libtorrent's estimate: the deepest bucket covers 2^-(depth) of the id
 * space, so the nodes in it times 2^depth is the size of the whole DHT. */
static int global_estimate(const sw_dht *node, size_t buckets)
{
    if (buckets == 0)
        return 0;
    int live = 0, cache = 0;
    if (sw__dht_bucket_nodes(node, (int)buckets - 1, &live, &cache) < 0)
        return 0;
    int depth = (int)buckets - 1;
    if (depth > 20)
        depth = 20;
    int64_t est = (int64_t)live << depth;
    return est > 0x7fffffff ? 0x7fffffff : (int)est;
}

void sw__session_dht_status(sw_session *ses, sw_session_status *st)
{
    struct sw_session_dht *d = ses->dht;
    if (!d)
        return;
    (void)running_node(ses);
    st->total_dht_download = (int64_t)d->old_in;
    st->total_dht_upload = (int64_t)d->old_out;
    st->dht_download_rate = d->rate_in;
    st->dht_upload_rate = d->rate_out;
    if (!d->node)
        return;
    sw_dht_stats s;
    sw__dht_get_stats(d->node, &s);
    st->dht_nodes = (int)s.nodes;
    st->dht_node_cache = (int)s.node_cache;
    st->dht_torrents = (int)s.torrents;
    st->total_dht_download += (int64_t)s.bytes_in;
    st->total_dht_upload += (int64_t)s.bytes_out;
    st->dht_global_nodes = global_estimate(d->node, s.buckets);
    st->dht_lookups = (int)s.lookups;
    st->dht_buckets = (int)s.buckets;
    st->dht_total_allocations = (int)s.pending;
}

int sw__session_dht_save_state(sw_session *ses, sw_bencoder *enc)
{
    struct sw_session_dht *d = ses->dht;
    if (!d || (!d->node && !d->saved))
        return 0;
    int rc = sw_benc_ckey(enc, "dht state");
    if (rc < 0)
        return rc;
    if (d->node)
        return sw__dht_save_state(d->node, enc);
    return sw_benc_raw(enc, d->saved, d->saved_len);
}

void sw__session_dht_load_state(sw_session *ses, sw_bnode root)
{
    sw_bnode state = sw_bnode_dict_get(root, "dht state");
    const uint8_t *raw;
    size_t len;
    if (!sw_bnode_is(state, SW_BNODE_DICT) || !sw_bnode_raw(state, &raw, &len))
        return;
    struct sw_session_dht *d = get_state(ses);
    if (!d)
        return;
    uint8_t *copy = malloc(len);
    if (!copy)
        return;
    memcpy(copy, raw, len);
    free(d->saved);
    d->saved = copy;
    d->saved_len = len;
    if (!d->node)
        return;
    sw_sha1 id;
    if (sw__dht_state_node_id(state, &id) &&
        memcmp(id.v, sw__dht_node_id(d->node)->v, sizeof id.v) != 0) {
        /* A node id is fixed for a node's life: start over with the saved
         * one. */
        close_node(d);
        (void)open_node(d);
    } else {
        (void)sw__dht_load_nodes(d->node, state);
    }
}

/* ---- public functions ---- */

static int start_fn(sw_session *ses, void *arg)
{
    (void)arg;
    struct sw_session_dht *d = get_state(ses);
    if (!d)
        return ses->shutting_down ? SW_ERR_ABORTED : SW_ERR_NOMEM;
    d->wanted = true;
    if (!sw__settings_bool(ses->settings, SW_SET_ENABLE_DHT)) {
        sw_settings_set_bool(ses->settings, SW_SET_ENABLE_DHT, true);
    }
    d->enable_seen = true;
    if (!d->node)
        return open_node(d);
    return 0;
}

int sw_session_start_dht(sw_session *ses)
{
    if (!ses)
        return SW_ERR_INVALID_ARG;
    return sw__session_run(ses, start_fn, NULL);
}

static int stop_fn(sw_session *ses, void *arg)
{
    (void)arg;
    struct sw_session_dht *d = ses->dht;
    sw_settings_set_bool(ses->settings, SW_SET_ENABLE_DHT, false);
    if (!d)
        return 0;
    d->wanted = false;
    d->enable_seen = false;
    close_node(d);
    return 0;
}

int sw_session_stop_dht(sw_session *ses)
{
    if (!ses)
        return SW_ERR_INVALID_ARG;
    return sw__session_run(ses, stop_fn, NULL);
}

static int running_fn(sw_session *ses, void *arg)
{
    (void)arg;
    return ses->dht && ses->dht->wanted ? 1 : 0;
}

bool sw_session_is_dht_running(sw_session *ses)
{
    return ses && sw__session_run(ses, running_fn, NULL) == 1;
}

typedef struct host_arg {
    const char *host;
    int port;
    bool router;
} host_arg;

static int add_host_fn(sw_session *ses, void *arg)
{
    host_arg *a = arg;
    struct sw_session_dht *d = get_state(ses);
    if (!d)
        return ses->shutting_down ? SW_ERR_ABORTED : SW_ERR_NOMEM;
    (void)running_node(ses);
    return add_host(d, a->host, a->port, a->router);
}

int sw_session_add_dht_router(sw_session *ses, const char *host, int port)
{
    if (!ses || !host)
        return SW_ERR_INVALID_ARG;
    host_arg a = {host, port, true};
    return sw__session_run(ses, add_host_fn, &a);
}

int sw_session_add_dht_node(sw_session *ses, const char *host, int port)
{
    if (!ses || !host)
        return SW_ERR_INVALID_ARG;
    host_arg a = {host, port, false};
    return sw__session_run(ses, add_host_fn, &a);
}

/* ---- items ---- */

typedef struct item_ctx {
    sw_session *ses;
    sw_sha1 target;
    uint8_t key[32];
    uint8_t seed[32];
    uint8_t salt[64];
    size_t salt_len;
    int64_t seq;
    sw_dht_item_update_fn update;
    void *user;
} item_ctx;

static void post_item(item_ctx *c, int status, const sw_dht_item *item, bool is_mutable)
{
    sw_alert *a =
        dht_alert(c->ses, is_mutable ? SW_ALERT_DHT_MUTABLE_ITEM : SW_ALERT_DHT_IMMUTABLE_ITEM);
    if (!a)
        return;
    a->error = status;
    a->payload.dht.target = c->target;
    if (item) {
        a->payload.dht.value = alert_copy(a, item->v, item->v_len);
        a->payload.dht.value_len = a->payload.dht.value ? item->v_len : 0;
        a->payload.dht.seq = item->seq;
        if (is_mutable)
            a->payload.dht.signature = alert_copy(a, item->sig, 64);
    }
    if (is_mutable) {
        a->payload.dht.public_key = alert_copy(a, c->key, 32);
        a->payload.dht.salt = alert_copy(a, c->salt, c->salt_len);
        a->payload.dht.salt_len = a->payload.dht.salt ? c->salt_len : 0;
    }
    char hex[41];
    hex_of(c->target.v, 20, hex);
    if (status)
        sw__alert_set_message(a, "DHT item %s: %s", hex, sw_strerror(status));
    else if (!item)
        sw__alert_set_message(a, "DHT item %s: not found", hex);
    else
        sw__alert_set_message(a, "DHT item %s: %zu bytes (seq %lld)", hex, item->v_len,
                              (long long)item->seq);
    sw__session_post_alert(c->ses, a);
}

static void on_immutable(void *user, int status, const sw_dht_item *item,
                         const sw_dht_lookup_stats *stats)
{
    (void)stats;
    item_ctx *c = user;
    if (status != SW_ERR_ABORTED)
        post_item(c, status, item, false);
    free(c);
}

static void on_mutable(void *user, int status, const sw_dht_item *item,
                       const sw_dht_lookup_stats *stats)
{
    (void)stats;
    item_ctx *c = user;
    if (status != SW_ERR_ABORTED)
        post_item(c, status, item, true);
    free(c);
}

/* The node, opened now if it was started before the session listened. */
static sw_dht *running_node(sw_session *ses)
{
    struct sw_session_dht *d = ses->dht;
    if (!d || ses->shutting_down)
        return NULL;
    if (d->wanted && !d->node)
        (void)open_node(d);
    return d->node;
}

/* A lookup for one 20-byte key whose only state is the session and the
 * key (immutable gets, scrapes): start(node, ctx) begins it with ctx as
 * its callback's user data, freed here if it does not start. */
typedef struct keyed_lookup {
    const sw_sha1 *key;
    int (*start)(sw_dht *node, item_ctx *c);
} keyed_lookup;

static int keyed_lookup_fn(sw_session *ses, void *arg)
{
    const keyed_lookup *k = arg;
    sw_dht *node = running_node(ses);
    if (!node)
        return SW_ERR_DHT_NOT_RUNNING;
    item_ctx *c = calloc(1, sizeof *c);
    if (!c)
        return SW_ERR_NOMEM;
    c->ses = ses;
    c->target = *k->key;
    int rc = k->start(node, c);
    if (rc < 0)
        free(c);
    return rc;
}

static int run_keyed_lookup(sw_session *ses, const sw_sha1 *key,
                            int (*start)(sw_dht *node, item_ctx *c))
{
    if (!ses || !key)
        return SW_ERR_INVALID_ARG;
    keyed_lookup k = {key, start};
    return sw__session_run(ses, keyed_lookup_fn, &k);
}

static int start_get_immutable(sw_dht *node, item_ctx *c)
{
    return sw__dht_get_immutable(node, &c->target, on_immutable, c);
}

int sw_session_dht_get_immutable_item(sw_session *ses, const sw_sha1 *target)
{
    return run_keyed_lookup(ses, target, start_get_immutable);
}

/* ---- BEP 33 scrape ---- */

static int round_estimate(double v)
{
    return v <= 0 ? 0 : v >= 1e9 ? 1000000000 : (int)(v + 0.5);
}

static void on_scrape(void *user, int status, double seeds, double downloaders,
                      const sw_dht_lookup_stats *stats)
{
    (void)stats;
    item_ctx *c = user; /* target is the info-hash */
    sw_alert *a = status == SW_ERR_ABORTED ? NULL : dht_alert(c->ses, SW_ALERT_DHT_SCRAPE);
    if (a) {
        a->error = status;
        a->payload.dht.target = c->target;
        a->payload.dht.scrape_seeds = round_estimate(seeds);
        a->payload.dht.scrape_downloaders = round_estimate(downloaders);
        char hex[41];
        hex_of(c->target.v, 20, hex);
        if (status)
            sw__alert_set_message(a, "DHT scrape %s: %s", hex, sw_strerror(status));
        else
            sw__alert_set_message(a, "DHT scrape %s: ~%d seeds, ~%d downloaders", hex,
                                  a->payload.dht.scrape_seeds, a->payload.dht.scrape_downloaders);
        sw__session_post_alert(c->ses, a);
    }
    free(c);
}

static int start_scrape(sw_dht *node, item_ctx *c)
{
    return sw__dht_scrape(node, &c->target, on_scrape, c);
}

int sw_session_dht_scrape(sw_session *ses, const sw_sha1 *info_hash)
{
    return run_keyed_lookup(ses, info_hash, start_scrape);
}

/* SHA-1(key || salt): where a mutable item lives (BEP 44). */
static void mutable_target(const uint8_t key[32], const uint8_t *salt, size_t salt_len,
                           sw_sha1 *out)
{
    uint8_t buf[32 + 64];
    memcpy(buf, key, 32);
    if (salt_len)
        memcpy(buf + 32, salt, salt_len);
    (void)sw__sha1(buf, 32 + salt_len, out);
}

static int get_mutable_fn(sw_session *ses, void *arg)
{
    item_ctx *in = arg;
    sw_dht *node = running_node(ses);
    if (!node)
        return SW_ERR_DHT_NOT_RUNNING;
    item_ctx *c = malloc(sizeof *c);
    if (!c)
        return SW_ERR_NOMEM;
    *c = *in;
    c->ses = ses;
    mutable_target(c->key, c->salt, c->salt_len, &c->target);
    int rc = sw__dht_get_mutable(node, c->key, c->salt, c->salt_len, on_mutable, c);
    if (rc < 0)
        free(c);
    return rc;
}

int sw_session_dht_get_mutable_item(sw_session *ses, const uint8_t public_key[32], const void *salt,
                                    size_t salt_len)
{
    if (!ses || !public_key || (salt_len && !salt))
        return SW_ERR_INVALID_ARG;
    if (salt_len > 64)
        return SW_ERR_DHT_SALT_TOO_LARGE;
    item_ctx c;
    memset(&c, 0, sizeof c);
    memcpy(c.key, public_key, 32);
    if (salt_len)
        memcpy(c.salt, salt, salt_len);
    c.salt_len = salt_len;
    return sw__session_run(ses, get_mutable_fn, &c);
}

typedef struct put_ctx {
    item_ctx item;
    bool is_mutable;
    uint8_t *value; /* the value stored, for the alert */
    size_t value_len;
} put_ctx;

static void on_put(void *user, int status, const sw_dht_lookup_stats *stats)
{
    put_ctx *c = user;
    if (status != SW_ERR_ABORTED) {
        sw_alert *a = dht_alert(c->item.ses, SW_ALERT_DHT_PUT);
        if (a) {
            a->error = status;
            a->payload.dht.target = c->item.target;
            a->payload.dht.num_success = stats ? stats->stored : 0;
            a->payload.dht.value = alert_copy(a, c->value, c->value_len);
            a->payload.dht.value_len = a->payload.dht.value ? c->value_len : 0;
            if (c->is_mutable) {
                a->payload.dht.public_key = alert_copy(a, c->item.key, 32);
                a->payload.dht.salt = alert_copy(a, c->item.salt, c->item.salt_len);
                a->payload.dht.salt_len = a->payload.dht.salt ? c->item.salt_len : 0;
                /* A put without a seq learns the one used (highest + 1). */
                a->payload.dht.seq = stats && c->item.seq < 0 ? stats->seq : c->item.seq;
            }
            char hex[41];
            hex_of(c->item.target.v, 20, hex);
            if (status)
                sw__alert_set_message(a, "DHT put %s failed: %s", hex, sw_strerror(status));
            else
                sw__alert_set_message(a, "DHT put %s: stored on %d nodes", hex,
                                      a->payload.dht.num_success);
            sw__session_post_alert(c->item.ses, a);
        }
    }
    free(c->value);
    free(c);
}

typedef struct put_arg {
    const void *value;
    size_t len;
    sw_sha1 target;
} put_arg;

static int put_immutable_fn(sw_session *ses, void *arg)
{
    put_arg *a = arg;
    sw_dht *node = running_node(ses);
    if (!node)
        return SW_ERR_DHT_NOT_RUNNING;
    put_ctx *c = calloc(1, sizeof *c);
    if (!c)
        return SW_ERR_NOMEM;
    c->item.ses = ses;
    c->value = malloc(a->len);
    if (!c->value) {
        free(c);
        return SW_ERR_NOMEM;
    }
    memcpy(c->value, a->value, a->len);
    c->value_len = a->len;
    int rc = sw__dht_put_immutable(node, c->value, c->value_len, &c->item.target, on_put, c);
    if (rc < 0) {
        free(c->value);
        free(c);
        return rc;
    }
    a->target = c->item.target;
    return 0;
}

int sw_session_dht_put_immutable_item(sw_session *ses, const void *value, size_t len,
                                      sw_sha1 *target_out)
{
    if (!ses || !value || len == 0)
        return SW_ERR_INVALID_ARG;
    put_arg a = {value, len, {{0}}};
    int rc = sw__session_run(ses, put_immutable_fn, &a);
    if (rc == 0 && target_out)
        *target_out = a.target;
    return rc;
}

void sw_dht_mutable_put_init(sw_dht_mutable_put *p)
{
    memset(p, 0, sizeof *p);
    p->struct_size = sizeof *p;
    p->seq = -1;
}

int sw_dht_public_key(const uint8_t private_key[32], uint8_t public_key_out[32])
{
    if (!private_key || !public_key_out)
        return SW_ERR_INVALID_ARG;
    return sw__dht_item_public_key(private_key, public_key_out);
}

static int start_mutable_put(sw_dht *node, put_ctx *c)
{
    return sw__dht_put_mutable(node, c->item.seed, c->item.salt, c->item.salt_len, c->value,
                               c->value_len, c->item.seq, on_put, c);
}

/* The update function's turn: the current item was looked up. */
static void on_current(void *user, int status, const sw_dht_item *item,
                       const sw_dht_lookup_stats *stats)
{
    (void)stats;
    put_ctx *c = user;
    sw_dht *node = running_node(c->item.ses);
    if (status == SW_ERR_ABORTED || !node) {
        free(c);
        return;
    }
    int rc = status;
    if (rc == 0) {
        int64_t cur_seq = item ? item->seq : 0;
        uint8_t *nv = NULL;
        size_t nlen = 0;
        rc = c->item.update(c->item.user, item ? item->v : NULL, item ? item->v_len : 0, cur_seq,
                            &nv, &nlen);
        if (rc == 0 && (!nv || nlen == 0))
            rc = SW_ERR_INVALID_ARG;
        if (rc < 0) {
            free(nv);
        } else {
            c->value = nv;
            c->value_len = nlen;
            c->item.seq = cur_seq + 1;
            rc = start_mutable_put(node, c);
            if (rc == 0)
                return;
        }
    }
    on_put(c, rc, NULL);
}

static int put_mutable_fn(sw_session *ses, void *arg)
{
    const sw_dht_mutable_put *p = arg;
    sw_dht *node = running_node(ses);
    if (!node)
        return SW_ERR_DHT_NOT_RUNNING;
    put_ctx *c = calloc(1, sizeof *c);
    if (!c)
        return SW_ERR_NOMEM;
    c->is_mutable = true;
    c->item.ses = ses;
    memcpy(c->item.seed, p->private_key, 32);
    int rc = sw__dht_item_public_key(c->item.seed, c->item.key);
    if (rc < 0) {
        free(c);
        return rc;
    }
    if (p->salt_len)
        memcpy(c->item.salt, p->salt, p->salt_len);
    c->item.salt_len = p->salt_len;
    c->item.seq = p->seq;
    c->item.update = p->update;
    c->item.user = p->user;
    mutable_target(c->item.key, c->item.salt, c->item.salt_len, &c->item.target);
    if (p->update) {
        rc = sw__dht_get_mutable(node, c->item.key, c->item.salt, c->item.salt_len, on_current, c);
        if (rc < 0)
            free(c);
        return rc;
    }
    c->value = malloc(p->value_len);
    if (!c->value) {
        free(c);
        return SW_ERR_NOMEM;
    }
    memcpy(c->value, p->value, p->value_len);
    c->value_len = p->value_len;
    rc = start_mutable_put(node, c);
    if (rc < 0) {
        free(c->value);
        free(c);
    }
    return rc;
}

int sw_session_dht_put_mutable_item(sw_session *ses, const sw_dht_mutable_put *p)
{
    if (!ses || !p || p->struct_size < sizeof *p || (p->salt_len && !p->salt))
        return SW_ERR_INVALID_ARG;
    if (p->salt_len > 64)
        return SW_ERR_DHT_SALT_TOO_LARGE;
    if (!p->update && (!p->value || p->value_len == 0))
        return SW_ERR_INVALID_ARG;
    return sw__session_run(ses, put_mutable_fn, (void *)p);
}

/* ---- routing table ---- */

typedef struct table_arg {
    sw_dht_routing_bucket *buckets;
    size_t count;
} table_arg;

static int table_fn(sw_session *ses, void *arg)
{
    table_arg *a = arg;
    sw_dht *node = running_node(ses);
    if (!node)
        return 0;
    sw_dht_stats st;
    sw__dht_get_stats(node, &st);
    if (st.buckets == 0)
        return 0;
    a->buckets = calloc(st.buckets, sizeof *a->buckets);
    if (!a->buckets)
        return SW_ERR_NOMEM;
    for (size_t i = 0; i < st.buckets; i++) {
        int live = 0, cache = 0;
        (void)sw__dht_bucket_nodes(node, (int)i, &live, &cache);
        a->buckets[i].num_nodes = live;
        a->buckets[i].num_replacements = cache;
    }
    a->count = st.buckets;
    return 0;
}

int sw_session_dht_routing_table(sw_session *ses, sw_dht_routing_bucket **buckets_out,
                                 size_t *count_out)
{
    if (!ses || !buckets_out || !count_out)
        return SW_ERR_INVALID_ARG;
    table_arg a = {NULL, 0};
    int rc = sw__session_run(ses, table_fn, &a);
    if (rc < 0) {
        free(a.buckets);
        return rc;
    }
    *buckets_out = a.buckets;
    *count_out = a.count;
    return 0;
}

/* The session's own start (SW_SESSION_START_DEFAULT_FEATURES). */
static int start_default_fn(sw_session *ses, void *arg)
{
    if (!sw__settings_bool(ses->settings, SW_SET_ENABLE_DHT))
        return 0;
    return start_fn(ses, arg);
}

int sw__session_dht_start_default(sw_session *ses)
{
    /* The settings belong to the network thread: read them there. */
    return sw__session_run(ses, start_default_fn, NULL);
}

/* ---- running lookups ---- */

typedef struct lookups_arg {
    sw_dht_lookup *lookups;
    size_t count;
} lookups_arg;

static int lookups_fn(sw_session *ses, void *arg)
{
    lookups_arg *a = arg;
    sw_dht *node = running_node(ses);
    if (!node)
        return 0;
    sw_dht_stats st;
    sw__dht_get_stats(node, &st);
    if (st.lookups == 0)
        return 0;
    sw_dht_lookup_info *info = calloc(st.lookups, sizeof *info);
    a->lookups = calloc(st.lookups, sizeof *a->lookups);
    if (!info || !a->lookups) {
        free(info);
        return SW_ERR_NOMEM;
    }
    size_t n = sw__dht_lookups_info(node, info, st.lookups);
    for (size_t i = 0; i < n; i++) {
        sw_dht_lookup *l = &a->lookups[i];
        l->type = info[i].type;
        l->outstanding_requests = info[i].outstanding_requests;
        l->timeouts = info[i].timeouts;
        l->responses = info[i].responses;
        l->branch_factor = info[i].branch_factor;
        l->nodes_left = info[i].nodes_left;
        l->first_timeout = info[i].first_timeout;
    }
    free(info);
    a->count = n;
    return 0;
}

int sw_session_dht_lookups(sw_session *ses, sw_dht_lookup **lookups_out, size_t *count_out)
{
    if (!ses || !lookups_out || !count_out)
        return SW_ERR_INVALID_ARG;
    lookups_arg a = {NULL, 0};
    int rc = sw__session_run(ses, lookups_fn, &a);
    if (rc < 0 || a.count == 0) {
        free(a.lookups);
        a.lookups = NULL;
        a.count = 0;
    }
    if (rc < 0)
        return rc;
    *lookups_out = a.lookups;
    *count_out = a.count;
    return 0;
}
