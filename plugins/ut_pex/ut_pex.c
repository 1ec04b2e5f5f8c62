/* ut_pex (BEP 11): tells peers which peers we are connected to, and learns
 * theirs.
 *
 * Sending: once a tick, each peer that speaks ut_pex and was last told
 * something a minute ago or more (or never) gets the changes since: the
 * connected peers whose listen address is known (minus itself) that it was
 * not told yet ("added", with flags: seed/upload-only, uTP, reachable for
 * connections we opened) and those it was told that are gone ("dropped").
 * The first message carries up to 200 contacts, later ones at most 50 per
 * list. Nothing is sent when nothing changed.
 *
 * Receiving: added contacts (IPv4 and IPv6) join the torrent's known peers
 * with source PEX, at most 400 per peer per minute. Dropped contacts are
 * not acted on (the engine drops addresses that stop answering).
 *
 * Never for private torrents (BEP 27). */
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include <cswarm/plugin.h>

#include "pex_msg.h"

SW_PLUGIN_INIT1

#define PEX_INTERVAL_MS 60000
#define PEX_FIRST_MAX 200
#define PEX_LATER_MAX 50
#define PEX_RECV_BUDGET 400 /* contacts accepted per peer per interval */

typedef struct pex_session {
    sw_plugin_session *s;
    uint8_t our_id;
} pex_session;

typedef struct pex_peer pex_peer;

typedef struct pex_torrent {
    pex_session *ps;
    sw_plugin_torrent *t;
    pex_peer *peers;
} pex_torrent;

struct pex_peer {
    pex_torrent *pt;
    sw_plugin_peer *p;
    pex_peer *next;
    uint8_t remote_id;
    sw_plugin_endpoint *told; /* contacts this peer was told are connected */
    int num_told, cap_told;
    bool sent_any;
    uint64_t last_sent_ms;
    uint64_t budget_start_ms;
    int budget_used;
};

/* ---- the snapshot of connected peers ---- */

typedef struct snapshot {
    ut_pex_contact *v;
    uint8_t (*ids)[20]; /* the peer id behind each contact */
    int n;
} snapshot;

static void snapshot_free(snapshot *s)
{
    sw_plugin_free(s->v);
    sw_plugin_free(s->ids);
}

static uint8_t contact_flags(unsigned f)
{
    uint8_t out = 0;
    if (f & (SW_PLUGIN_PEER_SEED | SW_PLUGIN_PEER_UPLOAD_ONLY))
        out |= UT_PEX_SEED;
    if (f & SW_PLUGIN_PEER_UTP)
        out |= UT_PEX_UTP;
    if (f & SW_PLUGIN_PEER_OUTGOING)
        out |= UT_PEX_REACHABLE;
    return out;
}

static bool in_snapshot(const snapshot *s, const sw_plugin_endpoint *ep);

static int take_snapshot(sw_plugin_torrent *t, snapshot *s)
{
    s->v = NULL;
    s->ids = NULL;
    s->n = 0;
    size_t n = sw_plugin_torrent_peers(t, NULL, 0);
    if (n == 0)
        return 0;
    sw_plugin_peer **peers = sw_plugin_malloc(n * sizeof *peers);
    s->v = sw_plugin_malloc(n * sizeof *s->v);
    s->ids = sw_plugin_malloc(n * sizeof *s->ids);
    if (!peers || !s->v || !s->ids) {
        sw_plugin_free(peers);
        snapshot_free(s);
        return SW_ERR_NOMEM;
    }
    n = sw_plugin_torrent_peers(t, peers, n);
    for (size_t i = 0; i < n; i++) {
        ut_pex_contact c;
        memset(&c, 0, sizeof c);
        if (!sw_plugin_peer_listen_endpoint(peers[i], &c.ep))
            continue; /* where it listens is unknown: nothing to tell */
        if (in_snapshot(s, &c.ep))
            continue; /* no duplicates in a message */
        c.flags = contact_flags(sw_plugin_peer_flags(peers[i]));
        sw_plugin_peer_id(peers[i], s->ids[s->n]);
        s->v[s->n++] = c;
    }
    sw_plugin_free(peers);
    return 0;
}

static bool told(const pex_peer *pp, const sw_plugin_endpoint *ep)
{
    for (int i = 0; i < pp->num_told; i++)
        if (ut_pex_same_endpoint(&pp->told[i], ep))
            return true;
    return false;
}

static bool in_snapshot(const snapshot *s, const sw_plugin_endpoint *ep)
{
    for (int i = 0; i < s->n; i++)
        if (ut_pex_same_endpoint(&s->v[i].ep, ep))
            return true;
    return false;
}

/* Whether contact i of the snapshot is the recipient itself (by address,
 * or by peer id when it has another connection to us). */
static bool is_recipient(pex_peer *pp, const snapshot *s, int i)
{
    uint8_t id[20];
    sw_plugin_peer_id(pp->p, id);
    if (memcmp(id, s->ids[i], 20) == 0)
        return true;
    const sw_plugin_endpoint *ep = &s->v[i].ep;
    sw_plugin_endpoint mine;
    sw_plugin_peer_endpoint(pp->p, &mine);
    if (ut_pex_same_endpoint(&mine, ep))
        return true;
    return sw_plugin_peer_listen_endpoint(pp->p, &mine) && ut_pex_same_endpoint(&mine, ep);
}

/* Sends pp what changed since it was last told, within the limits. */
static int update_peer(pex_peer *pp, const snapshot *s, uint64_t now)
{
    int max = pp->sent_any ? PEX_LATER_MAX : PEX_FIRST_MAX;
    ut_pex_contact added[PEX_FIRST_MAX];
    sw_plugin_endpoint dropped[PEX_LATER_MAX];
    int na = 0, nd = 0;
    for (int i = 0; i < s->n && na < max; i++) {
        if (!told(pp, &s->v[i].ep) && !is_recipient(pp, s, i))
            added[na++] = s->v[i];
    }
    for (int i = 0; i < pp->num_told && nd < PEX_LATER_MAX; i++) {
        if (!in_snapshot(s, &pp->told[i]))
            dropped[nd++] = pp->told[i];
    }
    if (na == 0 && nd == 0)
        return 0;
    uint8_t *msg;
    size_t len;
    int rc = ut_pex_msg_build(added, na, dropped, nd, &msg, &len);
    if (rc < 0)
        return rc;
    rc = sw_plugin_peer_send_extended(pp->p, pp->remote_id, msg, len);
    sw_plugin_free(msg);
    if (rc < 0)
        return rc == SW_ERR_INVALID_HANDLE ? 0 : rc;
    pp->sent_any = true;
    pp->last_sent_ms = now;
    /* What it was told: the old set minus the dropped, plus the added. */
    int kept = 0;
    for (int i = 0; i < pp->num_told; i++) {
        bool gone = false;
        for (int k = 0; k < nd && !gone; k++)
            gone = ut_pex_same_endpoint(&pp->told[i], &dropped[k]);
        if (!gone)
            pp->told[kept++] = pp->told[i];
    }
    pp->num_told = kept;
    if (pp->num_told + na > pp->cap_told) {
        int cap = pp->num_told + na + 16;
        sw_plugin_endpoint *v = sw_plugin_realloc(pp->told, (size_t)cap * sizeof *v);
        if (!v)
            return SW_ERR_NOMEM;
        pp->told = v;
        pp->cap_told = cap;
    }
    for (int i = 0; i < na; i++)
        pp->told[pp->num_told++] = added[i].ep;
    return 0;
}

static int pex_on_tick(void *ctx, sw_plugin_torrent *t)
{
    pex_torrent *pt = ctx;
    uint64_t now = sw_plugin_now_ms();
    bool due = false;
    for (pex_peer *pp = pt->peers; pp && !due; pp = pp->next)
        due = pp->remote_id && (!pp->sent_any || now - pp->last_sent_ms >= PEX_INTERVAL_MS);
    if (!due)
        return SW_OK;
    snapshot s;
    if (take_snapshot(t, &s) < 0)
        return SW_OK; /* no memory: try again next tick */
    for (pex_peer *pp = pt->peers; pp; pp = pp->next) {
        if (!pp->remote_id || (pp->sent_any && now - pp->last_sent_ms < PEX_INTERVAL_MS))
            continue;
        if (update_peer(pp, &s, now) < 0)
            break;
    }
    snapshot_free(&s);
    return SW_OK;
}

/* ---- receiving ---- */

static int pex_on_extended(void *ctx, sw_plugin_peer *p, uint8_t msg_id, const uint8_t *data,
                           size_t len)
{
    (void)p;
    pex_peer *pp = ctx;
    pex_torrent *pt = pp->pt;
    if (msg_id != pt->ps->our_id)
        return SW_OK;
    ut_pex_msg *m = sw_plugin_malloc(sizeof *m);
    if (!m)
        return SW_HANDLED;
    int rc = ut_pex_msg_parse(data, len, m);
    if (rc < 0) {
        sw_plugin_free(m);
        return rc; /* garbage: the connection closes */
    }
    uint64_t now = sw_plugin_now_ms();
    if (now - pp->budget_start_ms >= PEX_INTERVAL_MS) {
        pp->budget_start_ms = now;
        pp->budget_used = 0;
    }
    for (int i = 0; i < m->num_added && pp->budget_used < PEX_RECV_BUDGET; i++, pp->budget_used++)
        sw_plugin_torrent_add_peer(pt->t, &m->added[i].ep, SW_PLUGIN_SRC_PEX);
    sw_plugin_free(m);
    return SW_HANDLED;
}

static int pex_on_extension_handshake(void *ctx, sw_plugin_peer *p, sw_bnode dict)
{
    (void)p;
    pex_peer *pp = ctx;
    int64_t id = 0;
    if (sw_bnode_dict_get_int(sw_bnode_dict_get(dict, "m"), "ut_pex", &id) && id > 0 && id <= 255)
        pp->remote_id = (uint8_t)id;
    else
        pp->remote_id = 0;
    return SW_OK;
}

/* ---- lifetimes ---- */

static int pex_new_connection(void *ctx, sw_plugin_torrent *t, sw_plugin_peer *p, void **out)
{
    pex_torrent *pt = ctx;
    if (sw_plugin_torrent_is_private(t))
        return SW_OK;
    pex_peer *pp = sw_plugin_malloc(sizeof *pp);
    if (!pp)
        return SW_ERR_NOMEM;
    memset(pp, 0, sizeof *pp);
    pp->pt = pt;
    pp->p = p;
    pp->next = pt->peers;
    pt->peers = pp;
    *out = pp;
    return SW_OK;
}

static void pex_peer_destroy(void *ctx)
{
    pex_peer *pp = ctx;
    for (pex_peer **link = &pp->pt->peers; *link; link = &(*link)->next) {
        if (*link == pp) {
            *link = pp->next;
            break;
        }
    }
    sw_plugin_free(pp->told);
    sw_plugin_free(pp);
}

static int pex_new_torrent(void *ctx, sw_plugin_torrent *t, void **out)
{
    if (sw_plugin_torrent_is_private(t))
        return SW_OK;
    pex_torrent *pt = sw_plugin_malloc(sizeof *pt);
    if (!pt)
        return SW_ERR_NOMEM;
    memset(pt, 0, sizeof *pt);
    pt->ps = ctx;
    pt->t = t;
    *out = pt;
    return SW_OK;
}

static void pex_torrent_destroy(void *ctx)
{
    sw_plugin_free(ctx);
}

static int pex_added(void *ctx, sw_plugin_session *s)
{
    pex_session *ps = ctx;
    ps->s = s;
    int id = sw_plugin_extension_id(s, "ut_pex");
    if (id <= 0 || id > 255)
        return SW_ERR_NOT_FOUND;
    ps->our_id = (uint8_t)id;
    return SW_OK;
}

static void pex_destroy(void *ctx)
{
    sw_plugin_free(ctx);
}

static const sw_session_hooks session_hooks = {
    .struct_size = sizeof(sw_session_hooks),
    .added = pex_added,
    .destroy = pex_destroy,
    .new_torrent = pex_new_torrent,
};

static const sw_torrent_hooks torrent_hooks = {
    .struct_size = sizeof(sw_torrent_hooks),
    .destroy = pex_torrent_destroy,
    .new_connection = pex_new_connection,
    .on_tick = pex_on_tick,
};

static const sw_peer_hooks peer_hooks = {
    .struct_size = sizeof(sw_peer_hooks),
    .destroy = pex_peer_destroy,
    .on_extension_handshake = pex_on_extension_handshake,
    .on_extended = pex_on_extended,
};

static const char *const extensions[] = {"ut_pex", NULL};

SW_PLUGIN_ENTRY(ut_pex)
{
    SW_PLUGIN_INIT2(host, errmsg);
    pex_session *ps = sw_plugin_malloc(sizeof *ps);
    if (!ps)
        return SW_ERR_NOMEM;
    memset(ps, 0, sizeof *ps);
    SW_PLUGIN_DESC_INIT(out, "ut_pex", "1.0");
    out->extensions = extensions;
    out->ctx = ps;
    out->session_hooks = &session_hooks;
    out->torrent_hooks = &torrent_hooks;
    out->peer_hooks = &peer_hooks;
    return SW_OK;
}
