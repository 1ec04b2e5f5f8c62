/* ext_logger: logs every BEP 10 extended message a peer sends (which
 * extension, how long) and counts bytes per peer: extended-message bytes
 * and block bytes received, written as one summary line when the peer
 * leaves.
 *
 * Lines go to the file named by the EXT_LOGGER_FILE environment variable
 * (appended), or to standard error, and also out as log alerts. Load it
 * before other plugins (cswarm's --plugin modules come before the standard
 * ones) so that it sees the messages they claim. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cswarm/plugin.h>

SW_PLUGIN_INIT1

#define MAX_NAMES 32

typedef struct lg_session {
    sw_plugin_session *s;
    FILE *out;
} lg_session;

typedef struct lg_peer {
    lg_session *ls;
    char who[64];
    char client[64];
    /* the extension names the peer speaks (from its handshake "m") */
    char names[MAX_NAMES][32];
    int num_names;
    uint64_t ext_messages, ext_bytes, piece_bytes;
} lg_peer;

static void say(lg_session *ls, const char *fmt, ...)
{
    char line[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    fprintf(ls->out, "ext_logger: %s\n", line);
    fflush(ls->out);
    sw_plugin_log(ls->s, NULL, "%s", line);
}

static void format_peer(sw_plugin_peer *p, char *out, size_t len)
{
    sw_plugin_endpoint ep;
    sw_plugin_peer_endpoint(p, &ep);
    if (ep.family == SW_PLUGIN_IPV4)
        snprintf(out, len, "%u.%u.%u.%u:%u", ep.addr[0], ep.addr[1], ep.addr[2], ep.addr[3],
                 ep.port);
    else
        snprintf(out, len, "[ipv6]:%u", ep.port);
}

/* The name of the extension a message with our id `id` belongs to: one the
 * peer also named, that we gave this id. */
static const char *name_of(lg_peer *lp, uint8_t id)
{
    for (int i = 0; i < lp->num_names; i++)
        if (sw_plugin_extension_id(lp->ls->s, lp->names[i]) == id)
            return lp->names[i];
    return "?";
}

static int lg_on_extension_handshake(void *ctx, sw_plugin_peer *p, sw_bnode dict)
{
    (void)p;
    lg_peer *lp = ctx;
    sw_bnode m = sw_bnode_dict_get(dict, "m");
    char list[256] = "";
    size_t used = 0;
    lp->num_names = 0;
    for (size_t i = 0; i < sw_bnode_len(m) && lp->num_names < MAX_NAMES; i++) {
        sw_bnode k, v;
        size_t klen;
        if (!sw_bnode_dict_at(m, i, &k, &v))
            continue;
        const char *key = sw_bnode_str(k, &klen);
        if (!key || klen == 0 || klen >= sizeof lp->names[0])
            continue;
        memcpy(lp->names[lp->num_names], key, klen);
        lp->names[lp->num_names][klen] = '\0';
        if (used + klen + 2 < sizeof list)
            used += (size_t)snprintf(list + used, sizeof list - used, "%s%s", used ? "," : "",
                                     lp->names[lp->num_names]);
        lp->num_names++;
    }
    size_t vlen = 0;
    const char *v = sw_bnode_str(sw_bnode_dict_get(dict, "v"), &vlen);
    if (v && vlen < sizeof lp->client) {
        memcpy(lp->client, v, vlen);
        lp->client[vlen] = '\0';
    }
    say(lp->ls, "%s (%s) speaks: %s", lp->who, lp->client, list);
    return SW_OK;
}

static int lg_on_extended(void *ctx, sw_plugin_peer *p, uint8_t id, const uint8_t *data,
                          size_t len)
{
    (void)p;
    (void)data;
    lg_peer *lp = ctx;
    lp->ext_messages++;
    lp->ext_bytes += len;
    say(lp->ls, "%s sent extended message %u (%s), %zu bytes", lp->who, id, name_of(lp, id), len);
    return SW_OK; /* observe only: the plugin it belongs to still gets it */
}

static int lg_on_piece(void *ctx, sw_plugin_peer *p, uint32_t index, uint32_t begin,
                       const uint8_t *data, size_t len)
{
    (void)p;
    (void)index;
    (void)begin;
    (void)data;
    ((lg_peer *)ctx)->piece_bytes += len;
    return SW_OK;
}

static int lg_on_disconnect(void *ctx, sw_plugin_peer *p, int error)
{
    (void)p;
    lg_peer *lp = ctx;
    say(lp->ls, "%s left (%s): %llu extended messages, %llu extended bytes, %llu block bytes",
        lp->who, error ? sw_strerror(error) : "closed", (unsigned long long)lp->ext_messages,
        (unsigned long long)lp->ext_bytes, (unsigned long long)lp->piece_bytes);
    return SW_OK;
}

static void lg_peer_destroy(void *ctx)
{
    sw_plugin_free(ctx);
}

static int lg_new_connection(void *ctx, sw_plugin_torrent *t, sw_plugin_peer *p, void **out)
{
    (void)t;
    lg_peer *lp = sw_plugin_malloc(sizeof *lp);
    if (!lp)
        return SW_ERR_NOMEM;
    memset(lp, 0, sizeof *lp);
    lp->ls = ctx;
    format_peer(p, lp->who, sizeof lp->who);
    snprintf(lp->client, sizeof lp->client, "%s", sw_plugin_peer_client(p));
    *out = lp;
    return SW_OK;
}

static int lg_new_torrent(void *ctx, sw_plugin_torrent *t, void **out)
{
    (void)t;
    *out = ctx; /* the session context serves every torrent */
    return SW_OK;
}

static void lg_torrent_destroy(void *ctx)
{
    (void)ctx;
}

static int lg_added(void *ctx, sw_plugin_session *s)
{
    ((lg_session *)ctx)->s = s;
    return SW_OK;
}

static void lg_destroy(void *ctx)
{
    lg_session *ls = ctx;
    if (ls->out != stderr)
        fclose(ls->out);
    sw_plugin_free(ls);
}

static const sw_session_hooks session_hooks = {
    .struct_size = sizeof(sw_session_hooks),
    .added = lg_added,
    .destroy = lg_destroy,
    .new_torrent = lg_new_torrent,
};

static const sw_torrent_hooks torrent_hooks = {
    .struct_size = sizeof(sw_torrent_hooks),
    .destroy = lg_torrent_destroy,
    .new_connection = lg_new_connection,
};

static const sw_peer_hooks peer_hooks = {
    .struct_size = sizeof(sw_peer_hooks),
    .on_disconnect = lg_on_disconnect,
    .destroy = lg_peer_destroy,
    .on_extension_handshake = lg_on_extension_handshake,
    .on_extended = lg_on_extended,
    .on_piece = lg_on_piece,
};

SW_PLUGIN_ENTRY(ext_logger)
{
    SW_PLUGIN_INIT2(host, errmsg);
    lg_session *ls = sw_plugin_malloc(sizeof *ls);
    if (!ls)
        return SW_ERR_NOMEM;
    memset(ls, 0, sizeof *ls);
    const char *path = getenv("EXT_LOGGER_FILE");
    ls->out = path && *path ? fopen(path, "a") : stderr;
    if (!ls->out) {
        static const char text[] = "ext_logger: cannot open EXT_LOGGER_FILE";
        char *msg = sw_plugin_malloc(sizeof text);
        if (msg) {
            memcpy(msg, text, sizeof text);
            *errmsg = msg;
        }
        sw_plugin_free(ls);
        return SW_ERR_IO;
    }
    SW_PLUGIN_DESC_INIT(out, "ext_logger", "1.0");
    out->ctx = ls;
    out->session_hooks = &session_hooks;
    out->torrent_hooks = &torrent_hooks;
    out->peer_hooks = &peer_hooks;
    return SW_OK;
}
