/* my_plugin: the smallest useful shape of a cswarm plugin. It attaches to
 * every torrent, counts the peers that complete a handshake, and logs each
 * one (log lines are alerts of the session_log / torrent_log categories).
 * Rename it: the file name, the entry point (SW_PLUGIN_ENTRY(name)) and the
 * descriptor name go together. */
#include <stdio.h>
#include <string.h>

#include <cswarm/plugin.h>

SW_PLUGIN_INIT1

typedef struct my_session {
    sw_plugin_session *s;
} my_session;

typedef struct my_torrent {
    my_session *ms;
    sw_plugin_torrent *t;
    int peers_seen;
} my_torrent;

static int my_added(void *ctx, sw_plugin_session *s)
{
    ((my_session *)ctx)->s = s;
    return SW_OK;
}

static void my_session_destroy(void *ctx)
{
    sw_plugin_free(ctx);
}

static int my_new_torrent(void *ctx, sw_plugin_torrent *t, void **out)
{
    my_torrent *mt = sw_plugin_malloc(sizeof *mt);
    if (!mt)
        return SW_ERR_NOMEM;
    memset(mt, 0, sizeof *mt);
    mt->ms = ctx;
    mt->t = t;
    *out = mt; /* attach to this torrent */
    return SW_OK;
}

static void my_torrent_destroy(void *ctx)
{
    my_torrent *mt = ctx;
    sw_plugin_log(mt->ms->s, NULL, "%s: %d peers seen", sw_plugin_torrent_name(mt->t),
                  mt->peers_seen);
    sw_plugin_free(mt);
}

static int my_new_connection(void *ctx, sw_plugin_torrent *t, sw_plugin_peer *p, void **out)
{
    my_torrent *mt = ctx;
    sw_plugin_endpoint ep;
    sw_plugin_peer_endpoint(p, &ep);
    mt->peers_seen++;
    if (ep.family == SW_PLUGIN_IPV4)
        sw_plugin_log(mt->ms->s, t, "peer %u.%u.%u.%u:%u (%s)", ep.addr[0], ep.addr[1],
                      ep.addr[2], ep.addr[3], ep.port, sw_plugin_peer_client(p));
    *out = NULL; /* no per-peer state: the plugin's peer hooks are not needed */
    return SW_OK;
}

static const sw_session_hooks session_hooks = {
    .struct_size = sizeof(sw_session_hooks),
    .added = my_added,
    .destroy = my_session_destroy,
    .new_torrent = my_new_torrent,
};

static const sw_torrent_hooks torrent_hooks = {
    .struct_size = sizeof(sw_torrent_hooks),
    .destroy = my_torrent_destroy,
    .new_connection = my_new_connection,
};

SW_PLUGIN_ENTRY(my_plugin)
{
    SW_PLUGIN_INIT2(host, errmsg); /* first: checks the host's ABI */
    my_session *ms = sw_plugin_malloc(sizeof *ms);
    if (!ms)
        return SW_ERR_NOMEM;
    memset(ms, 0, sizeof *ms);
    SW_PLUGIN_DESC_INIT(out, "my_plugin", "0.1");
    out->ctx = ms;
    out->session_hooks = &session_hooks;
    out->torrent_hooks = &torrent_hooks;
    return SW_OK;
}
