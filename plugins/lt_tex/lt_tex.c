/* lt_tex: tracker exchange (BEP 28, libtorrent's lt_trackers extension).
 *
 * The list we share holds only verified trackers, as BEP 28 defines them:
 * those of the .torrent file (or magnet link), and those learned from peers
 * that have since answered an announce. Its hash goes into our extension
 * handshake ("tr"). A peer whose hash differs gets the whole list in its
 * first message; afterwards (at most every two minutes) only trackers added
 * to the list since. Trackers received ("added") join the torrent's list as
 * learned from a peer: unverified, so they are not passed on until they
 * answer.
 *
 * Never for private torrents. */
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include <cswarm/plugin.h>

#include "tex_msg.h"

SW_PLUGIN_INIT1

#define TEX_INTERVAL_MS 120000
#define TEX_MAX_SHARED 64

typedef struct tex_session {
    sw_plugin_session *s;
    uint8_t our_id;
} tex_session;

typedef struct tex_peer tex_peer;

typedef struct tex_torrent {
    tex_session *ts;
    sw_plugin_torrent *t;
    tex_peer *peers;
} tex_torrent;

struct tex_peer {
    tex_torrent *tt;
    sw_plugin_peer *p;
    tex_peer *next;
    uint8_t remote_id;
    bool has_hash;
    uint8_t their_hash[20];
    char **sent; /* URLs this peer has (told by us, or assumed equal) */
    int num_sent;
    bool started;
    uint64_t last_sent_ms;
};

/* The shareable URLs (borrowed from the engine for this hook). */
static int shareable(sw_plugin_torrent *t, const char **out, int max)
{
    int n = 0, total = sw_plugin_torrent_num_trackers(t);
    for (int i = 0; i < total && n < max; i++) {
        const char *url;
        unsigned flags;
        if (sw_plugin_torrent_tracker(t, i, &url, &flags) < 0)
            continue;
        if (!(flags & (SW_PLUGIN_TRACKER_FROM_TORRENT | SW_PLUGIN_TRACKER_ANSWERED)))
            continue;
        if (!lt_tex_url_ok(url, strlen(url)))
            continue;
        bool dup = false;
        for (int k = 0; k < n && !dup; k++)
            dup = strcmp(out[k], url) == 0;
        if (!dup)
            out[n++] = url;
    }
    return n;
}

static bool was_sent(const tex_peer *tp, const char *url)
{
    for (int i = 0; i < tp->num_sent; i++)
        if (strcmp(tp->sent[i], url) == 0)
            return true;
    return false;
}

static int remember_sent(tex_peer *tp, const char *url)
{
    char **v = sw_plugin_realloc(tp->sent, (size_t)(tp->num_sent + 1) * sizeof *v);
    if (!v)
        return SW_ERR_NOMEM;
    tp->sent = v;
    size_t len = strlen(url);
    char *copy = sw_plugin_malloc(len + 1);
    if (!copy)
        return SW_ERR_NOMEM;
    memcpy(copy, url, len + 1);
    tp->sent[tp->num_sent++] = copy;
    return 0;
}

/* ---- handshake ---- */

static int tex_add_handshake(void *ctx, sw_plugin_peer *p, sw_bencoder *enc)
{
    (void)p;
    tex_peer *tp = ctx;
    const char *urls[TEX_MAX_SHARED];
    int n = shareable(tp->tt->t, urls, TEX_MAX_SHARED);
    uint8_t hash[20];
    lt_tex_list_hash(urls, n, hash);
    int rc = sw_benc_ckey(enc, "tr");
    if (rc == 0)
        rc = sw_benc_str(enc, hash, sizeof hash);
    return rc;
}

static int tex_on_extension_handshake(void *ctx, sw_plugin_peer *p, sw_bnode dict)
{
    (void)p;
    tex_peer *tp = ctx;
    int64_t id = 0;
    if (sw_bnode_dict_get_int(sw_bnode_dict_get(dict, "m"), "lt_tex", &id) && id > 0 && id <= 255)
        tp->remote_id = (uint8_t)id;
    else
        tp->remote_id = 0;
    const char *tr;
    size_t len;
    tp->has_hash = sw_bnode_dict_get_str(dict, "tr", &tr, &len) && len == 20;
    if (tp->has_hash)
        memcpy(tp->their_hash, tr, 20);
    return SW_OK;
}

/* ---- sending ---- */

static void update_peer(tex_peer *tp, const char **urls, int n, const uint8_t hash[20],
                        uint64_t now)
{
    if (!tp->started) {
        tp->started = true;
        /* The same list on both sides: nothing to say until ours grows. */
        if (tp->has_hash && memcmp(tp->their_hash, hash, 20) == 0) {
            for (int i = 0; i < n; i++)
                remember_sent(tp, urls[i]);
            tp->last_sent_ms = now;
            return;
        }
    } else if (now - tp->last_sent_ms < TEX_INTERVAL_MS) {
        return;
    }
    const char *fresh[TEX_MAX_SHARED];
    int nf = 0;
    for (int i = 0; i < n; i++)
        if (!was_sent(tp, urls[i]))
            fresh[nf++] = urls[i];
    if (nf == 0)
        return; /* a message without new trackers is not sent */
    uint8_t *msg;
    size_t len;
    if (lt_tex_msg_build(fresh, nf, &msg, &len) < 0)
        return;
    int rc = sw_plugin_peer_send_extended(tp->p, tp->remote_id, msg, len);
    sw_plugin_free(msg);
    if (rc < 0)
        return;
    tp->last_sent_ms = now;
    for (int i = 0; i < nf; i++)
        remember_sent(tp, fresh[i]);
}

static int tex_on_tick(void *ctx, sw_plugin_torrent *t)
{
    tex_torrent *tt = ctx;
    if (!tt->peers)
        return SW_OK;
    const char *urls[TEX_MAX_SHARED];
    int n = shareable(t, urls, TEX_MAX_SHARED);
    const char *sorted[TEX_MAX_SHARED];
    memcpy(sorted, urls, (size_t)n * sizeof *urls);
    uint8_t hash[20];
    lt_tex_list_hash(sorted, n, hash);
    uint64_t now = sw_plugin_now_ms();
    for (tex_peer *tp = tt->peers; tp; tp = tp->next)
        if (tp->remote_id)
            update_peer(tp, urls, n, hash, now);
    return SW_OK;
}

/* ---- receiving ---- */

static int tex_on_extended(void *ctx, sw_plugin_peer *p, uint8_t msg_id, const uint8_t *data,
                           size_t len)
{
    (void)p;
    tex_peer *tp = ctx;
    tex_torrent *tt = tp->tt;
    if (msg_id != tt->ts->our_id)
        return SW_OK;
    lt_tex_msg m;
    int rc = lt_tex_msg_parse(data, len, &m);
    if (rc == SW_ERR_PROTOCOL) {
        lt_tex_msg_free(&m);
        return rc; /* garbage: the connection closes */
    }
    int added = 0;
    for (int i = 0; i < m.num_urls; i++) {
        if (sw_plugin_torrent_add_tracker(tt->t, m.urls[i], SW_PLUGIN_TRACKER_FROM_PEER) == 0) {
            added++;
            sw_plugin_log(tt->ts->s, tt->t, "learned tracker %s", m.urls[i]);
        }
        /* The sender has it: never worth telling it back. */
        if (!was_sent(tp, m.urls[i]))
            remember_sent(tp, m.urls[i]);
    }
    lt_tex_msg_free(&m);
    return SW_HANDLED;
}

/* ---- lifetimes ---- */

static int tex_new_connection(void *ctx, sw_plugin_torrent *t, sw_plugin_peer *p, void **out)
{
    tex_torrent *tt = ctx;
    if (sw_plugin_torrent_is_private(t))
        return SW_OK;
    tex_peer *tp = sw_plugin_malloc(sizeof *tp);
    if (!tp)
        return SW_ERR_NOMEM;
    memset(tp, 0, sizeof *tp);
    tp->tt = tt;
    tp->p = p;
    tp->next = tt->peers;
    tt->peers = tp;
    *out = tp;
    return SW_OK;
}

static void tex_peer_destroy(void *ctx)
{
    tex_peer *tp = ctx;
    for (tex_peer **link = &tp->tt->peers; *link; link = &(*link)->next) {
        if (*link == tp) {
            *link = tp->next;
            break;
        }
    }
    for (int i = 0; i < tp->num_sent; i++)
        sw_plugin_free(tp->sent[i]);
    sw_plugin_free(tp->sent);
    sw_plugin_free(tp);
}

static int tex_new_torrent(void *ctx, sw_plugin_torrent *t, void **out)
{
    if (sw_plugin_torrent_is_private(t))
        return SW_OK;
    tex_torrent *tt = sw_plugin_malloc(sizeof *tt);
    if (!tt)
        return SW_ERR_NOMEM;
    memset(tt, 0, sizeof *tt);
    tt->ts = ctx;
    tt->t = t;
    *out = tt;
    return SW_OK;
}

static void tex_torrent_destroy(void *ctx)
{
    sw_plugin_free(ctx);
}

static int tex_added(void *ctx, sw_plugin_session *s)
{
    tex_session *ts = ctx;
    ts->s = s;
    int id = sw_plugin_extension_id(s, "lt_tex");
    if (id <= 0 || id > 255)
        return SW_ERR_NOT_FOUND;
    ts->our_id = (uint8_t)id;
    return SW_OK;
}

static void tex_destroy(void *ctx)
{
    sw_plugin_free(ctx);
}

static const sw_session_hooks session_hooks = {
    .struct_size = sizeof(sw_session_hooks),
    .added = tex_added,
    .destroy = tex_destroy,
    .new_torrent = tex_new_torrent,
};

static const sw_torrent_hooks torrent_hooks = {
    .struct_size = sizeof(sw_torrent_hooks),
    .destroy = tex_torrent_destroy,
    .new_connection = tex_new_connection,
    .on_tick = tex_on_tick,
};

static const sw_peer_hooks peer_hooks = {
    .struct_size = sizeof(sw_peer_hooks),
    .destroy = tex_peer_destroy,
    .add_handshake = tex_add_handshake,
    .on_extension_handshake = tex_on_extension_handshake,
    .on_extended = tex_on_extended,
};

static const char *const extensions[] = {"lt_tex", NULL};

SW_PLUGIN_ENTRY(lt_tex)
{
    SW_PLUGIN_INIT2(host, errmsg);
    tex_session *ts = sw_plugin_malloc(sizeof *ts);
    if (!ts)
        return SW_ERR_NOMEM;
    memset(ts, 0, sizeof *ts);
    SW_PLUGIN_DESC_INIT(out, "lt_tex", "1.0");
    out->extensions = extensions;
    out->ctx = ts;
    out->session_hooks = &session_hooks;
    out->torrent_hooks = &torrent_hooks;
    out->peer_hooks = &peer_hooks;
    return SW_OK;
}
