/* A plugin that changes a session's behaviour in two observable ways:
 *   - it refuses peers whose IPv4 address lies in a range (from the
 *     environment variable SW_TEST_REFUSE_RANGE, "A.B.C.D-E.F.G.H"; by
 *     default 127.0.0.2-127.0.0.254, so 127.0.0.1 is accepted);
 *   - it adds the key "x_cswarm_test" (a string) to every extension
 *     handshake, and advertises an extension named "x_cswarm_test".
 * It counts refusals and logs them. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cswarm/plugin.h>

SW_PLUGIN_INIT1

typedef struct refuse_ctx {
    sw_plugin_session *s;
    uint32_t lo, hi; /* host byte order */
    int refused;
} refuse_ctx;

static int parse_ip(const char *s, uint32_t *out)
{
    unsigned a, b, c, d;
    char tail;
    if (sscanf(s, "%u.%u.%u.%u%c", &a, &b, &c, &d, &tail) < 4 || a > 255 || b > 255 || c > 255 ||
        d > 255)
        return -1;
    *out = (a << 24) | (b << 16) | (c << 8) | d;
    return 0;
}

static int parse_range(const char *text, uint32_t *lo, uint32_t *hi)
{
    char buf[64];
    snprintf(buf, sizeof buf, "%s", text);
    char *dash = strchr(buf, '-');
    if (!dash)
        return -1;
    *dash = '\0';
    return parse_ip(buf, lo) == 0 && parse_ip(dash + 1, hi) == 0 && *lo <= *hi ? 0 : -1;
}

static int r_added(void *ctx, sw_plugin_session *s)
{
    ((refuse_ctx *)ctx)->s = s;
    return SW_OK;
}

static void r_destroy(void *ctx)
{
    sw_plugin_free(ctx);
}

static int r_new_torrent(void *ctx, sw_plugin_torrent *t, void **out)
{
    (void)t;
    *out = ctx; /* the session context serves every torrent */
    return SW_OK;
}

static void r_torrent_destroy(void *ctx)
{
    (void)ctx;
}

static int r_new_connection(void *ctx, sw_plugin_torrent *t, sw_plugin_peer *p, void **out)
{
    refuse_ctx *rc = ctx;
    sw_plugin_endpoint ep;
    sw_plugin_peer_endpoint(p, &ep);
    if (ep.family == SW_PLUGIN_IPV4) {
        uint32_t ip = ((uint32_t)ep.addr[0] << 24) | ((uint32_t)ep.addr[1] << 16) |
                      ((uint32_t)ep.addr[2] << 8) | ep.addr[3];
        if (ip >= rc->lo && ip <= rc->hi) {
            rc->refused++;
            sw_plugin_log(rc->s, t, "refused %u.%u.%u.%u:%u", ep.addr[0], ep.addr[1], ep.addr[2],
                          ep.addr[3], ep.port);
            return SW_ERR_BANNED;
        }
    }
    *out = ctx;
    return SW_OK;
}

static void r_peer_destroy(void *ctx)
{
    (void)ctx;
}

static int r_add_handshake(void *ctx, sw_plugin_peer *p, sw_bencoder *enc)
{
    (void)ctx;
    (void)p;
    int rc = sw_benc_ckey(enc, "x_cswarm_test");
    if (rc == 0)
        rc = sw_benc_cstr(enc, "hello from a plugin");
    return rc;
}

static const sw_session_hooks session_hooks = {
    .struct_size = sizeof(sw_session_hooks),
    .added = r_added,
    .destroy = r_destroy,
    .new_torrent = r_new_torrent,
};
static const sw_torrent_hooks torrent_hooks = {
    .struct_size = sizeof(sw_torrent_hooks),
    .destroy = r_torrent_destroy,
    .new_connection = r_new_connection,
};
static const sw_peer_hooks peer_hooks = {
    .struct_size = sizeof(sw_peer_hooks),
    .destroy = r_peer_destroy,
    .add_handshake = r_add_handshake,
};
static const char *const extensions[] = {"x_cswarm_test", NULL};

SW_PLUGIN_ENTRY(test_refuse)
{
    SW_PLUGIN_INIT2(host, errmsg);
    refuse_ctx *ctx = sw_plugin_malloc(sizeof *ctx);
    if (!ctx)
        return SW_ERR_NOMEM;
    memset(ctx, 0, sizeof *ctx);
    const char *range = getenv("SW_TEST_REFUSE_RANGE");
    if (parse_range(range && *range ? range : "127.0.0.2-127.0.0.254", &ctx->lo, &ctx->hi) < 0) {
        sw_plugin_free(ctx);
        return SW_ERR_INVALID_ARG;
    }
    SW_PLUGIN_DESC_INIT(out, "test_refuse", "1.0");
    out->ctx = ctx;
    out->extensions = extensions;
    out->session_hooks = &session_hooks;
    out->torrent_hooks = &torrent_hooks;
    out->peer_hooks = &peer_hooks;
    return SW_OK;
}
