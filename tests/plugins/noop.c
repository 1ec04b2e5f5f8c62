/* A plugin that implements every hook and does nothing in them: loaded ten
 * times (noop0.so ... noop9.so, one name each) it measures what hook
 * dispatch costs a transfer. Its entry point is the fallback name
 * sw_plugin_init. */
#include <string.h>

#include <cswarm/plugin.h>

#ifndef NOOP_NAME
#define NOOP_NAME "noop"
#endif

SW_PLUGIN_INIT1

static int marker;

static int s_added(void *c, sw_plugin_session *s)
{
    (void)c;
    (void)s;
    return SW_OK;
}
static void destroy(void *c)
{
    (void)c;
}
static int new_torrent(void *c, sw_plugin_torrent *t, void **out)
{
    (void)c;
    (void)t;
    *out = &marker;
    return SW_OK;
}
static int s_void(void *c)
{
    (void)c;
    return SW_OK;
}
static int on_alert(void *c, const sw_alert *a)
{
    (void)c;
    (void)a;
    return SW_OK;
}
static int new_connection(void *c, sw_plugin_torrent *t, sw_plugin_peer *p, void **out)
{
    (void)c;
    (void)t;
    (void)p;
    *out = &marker;
    return SW_OK;
}
static int t_piece(void *c, sw_plugin_torrent *t, int piece)
{
    (void)c;
    (void)t;
    (void)piece;
    return SW_OK;
}
static int t_void(void *c, sw_plugin_torrent *t)
{
    (void)c;
    (void)t;
    return SW_OK;
}
static int p_void(void *c, sw_plugin_peer *p)
{
    (void)c;
    (void)p;
    return SW_OK;
}
static int p_index(void *c, sw_plugin_peer *p, uint32_t index)
{
    (void)c;
    (void)p;
    (void)index;
    return SW_OK;
}
static int p_block(void *c, sw_plugin_peer *p, uint32_t index, uint32_t begin, uint32_t length)
{
    (void)c;
    (void)p;
    (void)index;
    (void)begin;
    (void)length;
    return SW_OK;
}
static int p_piece(void *c, sw_plugin_peer *p, uint32_t index, uint32_t begin, const uint8_t *d,
                   size_t n)
{
    (void)c;
    (void)p;
    (void)index;
    (void)begin;
    (void)d;
    (void)n;
    return SW_OK;
}
static int p_bits(void *c, sw_plugin_peer *p, const uint8_t *d, size_t n)
{
    (void)c;
    (void)p;
    (void)d;
    (void)n;
    return SW_OK;
}
static int p_msg(void *c, sw_plugin_peer *p, uint8_t id, const uint8_t *d, size_t n)
{
    (void)c;
    (void)p;
    (void)id;
    (void)d;
    (void)n;
    return SW_OK;
}
static int p_int(void *c, sw_plugin_peer *p, int v)
{
    (void)c;
    (void)p;
    (void)v;
    return SW_OK;
}

static const sw_session_hooks session_hooks = {
    .struct_size = sizeof(sw_session_hooks),
    .added = s_added,
    .destroy = destroy,
    .new_torrent = new_torrent,
    .on_tick = s_void,
    .on_alert = on_alert,
};
static const sw_torrent_hooks torrent_hooks = {
    .struct_size = sizeof(sw_torrent_hooks),
    .destroy = destroy,
    .new_connection = new_connection,
    .on_piece_pass = t_piece,
    .on_piece_failed = t_piece,
    .on_tick = t_void,
};
static const sw_peer_hooks peer_hooks = {
    .struct_size = sizeof(sw_peer_hooks),
    .on_disconnect = p_int,
    .destroy = destroy,
    .on_choke = p_void,
    .on_unchoke = p_void,
    .on_interested = p_void,
    .on_not_interested = p_void,
    .on_have = p_index,
    .on_bitfield = p_bits,
    .on_have_all = p_void,
    .on_have_none = p_void,
    .on_allowed_fast = p_index,
    .on_suggest = p_index,
    .on_request = p_block,
    .on_cancel = p_block,
    .on_reject = p_block,
    .on_piece = p_piece,
    .on_extended = p_msg,
    .on_unknown_message = p_msg,
    .on_piece_pass = p_int,
    .on_piece_failed = p_int,
    .on_tick = p_void,
};

SW_PLUGIN_EXPORT int sw_plugin_init(const sw_host *host, sw_plugin_desc *out, char **errmsg);

SW_PLUGIN_EXPORT int sw_plugin_init(const sw_host *host, sw_plugin_desc *out, char **errmsg)
{
    SW_PLUGIN_INIT2(host, errmsg);
    SW_PLUGIN_DESC_INIT(out, NOOP_NAME, "1.0");
    out->session_hooks = &session_hooks;
    out->torrent_hooks = &torrent_hooks;
    out->peer_hooks = &peer_hooks;
    return SW_OK;
}
