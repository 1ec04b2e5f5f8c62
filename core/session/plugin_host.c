/* The host function table plugins receive, and the session-level host
 * functions (memory, time, hashing, logging, settings, extension ids, work
 * on the pool). Torrent and peer functions are in plugin_host_objects.c. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "plugin_int.h"

void *sw_plugin_malloc(size_t n)
{
    return malloc(n);
}

void *sw_plugin_realloc(void *p, size_t n)
{
    return realloc(p, n);
}

void sw_plugin_free(void *p)
{
    free(p);
}

uint64_t sw_plugin_now_ms(void)
{
    return uv_hrtime() / 1000000u;
}

void sw_plugin_sha1(const void *data, size_t len, uint8_t out[20])
{
    sw_sha1 h;
    if (sw__sha1(data, len, &h) < 0)
        memset(&h, 0, sizeof h);
    memcpy(out, h.v, 20);
}

void sw_plugin_log(sw_plugin_session *s, sw_plugin_torrent *pt, const char *fmt, ...)
{
    sw_session *ses = s->ses;
    uint32_t cat = pt ? SW_ALERT_CAT_TORRENT_LOG : SW_ALERT_CAT_SESSION_LOG;
    if (!sw__alert_queue_wants(ses->alerts, cat))
        return;
    sw_alert *a =
        sw__session_torrent_alert(ses, pt ? sw__torrent_of(pt) : NULL, SW_ALERT_LOG, true);
    if (!a)
        return;
    a->category = cat;
    char line[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    sw__alert_set_message(a, "[%s] %s", s->name, line);
    sw__session_post_alert(ses, a);
}

int sw_plugin_setting_int(sw_plugin_session *s, const char *name, int *value_out)
{
    return sw_settings_get_int_by_name(s->ses->settings, name, value_out);
}

int sw_plugin_setting_bool(sw_plugin_session *s, const char *name, bool *value_out)
{
    return sw_settings_get_bool_by_name(s->ses->settings, name, value_out);
}

int sw_plugin_setting_str(sw_plugin_session *s, const char *name, const char **value_out)
{
    return sw_settings_get_str_by_name(s->ses->settings, name, value_out);
}

int sw_plugin_extension_id(sw_plugin_session *s, const char *name)
{
    sw_plugin_registry *reg = s->ses->plugins;
    for (int i = 0; reg && name && i < reg->num_ext; i++)
        if (strcmp(reg->ext_names[i], name) == 0)
            return i + 1;
    return 0;
}

/* ---- work on the pool ---- */

typedef struct plugin_work {
    uv_work_t req;
    sw_session *ses;
    sw_plugin_work_fn work;
    sw_plugin_done_fn done;
    void *user;
    int result;
} plugin_work;

static void run_work(uv_work_t *req)
{
    plugin_work *w = req->data;
    w->result = w->work(w->user);
}

static void after_work(uv_work_t *req, int status)
{
    plugin_work *w = req->data;
    w->ses->plugins->pending_work--;
    w->done(w->user, status == UV_ECANCELED ? SW_ERR_ABORTED : w->result);
    free(w);
}

int sw_plugin_queue_work(sw_plugin_session *s, sw_plugin_work_fn work, sw_plugin_done_fn done,
                         void *user)
{
    if (!work || !done)
        return SW_ERR_INVALID_ARG;
    if (s->ses->shutting_down)
        return SW_ERR_ABORTED;
    plugin_work *w = calloc(1, sizeof *w);
    if (!w)
        return SW_ERR_NOMEM;
    w->req.data = w;
    w->ses = s->ses;
    w->work = work;
    w->done = done;
    w->user = user;
    int rc = uv_queue_work(&s->ses->loop, &w->req, run_work, after_work);
    if (rc < 0) {
        free(w);
        return rc;
    }
    s->ses->plugins->pending_work++;
    return 0;
}

bool sw__plugin_busy(sw_session *ses)
{
    return ses->plugins && ses->plugins->pending_work > 0;
}

/* ---- endpoints ---- */

void sw__plugin_endpoint_from(const sw_endpoint *ep, sw_plugin_endpoint *out)
{
    memset(out, 0, sizeof *out);
    if (ep->family == AF_INET) {
        out->family = SW_PLUGIN_IPV4;
        memcpy(out->addr, ep->addr, 4);
    } else if (ep->family == AF_INET6) {
        out->family = SW_PLUGIN_IPV6;
        memcpy(out->addr, ep->addr, 16);
    } else {
        return;
    }
    out->port = ep->port;
}

int sw__plugin_endpoint_to(const sw_plugin_endpoint *in, sw_endpoint *out)
{
    memset(out, 0, sizeof *out);
    if (!in || in->port == 0)
        return SW_ERR_INVALID_ARG;
    if (in->family == SW_PLUGIN_IPV4) {
        out->family = AF_INET;
        memcpy(out->addr, in->addr, 4);
    } else if (in->family == SW_PLUGIN_IPV6) {
        out->family = AF_INET6;
        memcpy(out->addr, in->addr, 16);
    } else {
        return SW_ERR_INVALID_ARG;
    }
    out->port = in->port;
    return 0;
}

/* ---- the table ---- */

const sw_host sw__plugin_host = {
    .abi_major = SW_PLUGIN_ABI_MAJOR,
    .abi_minor = SW_PLUGIN_ABI_MINOR,
    .struct_size = (uint32_t)sizeof(sw_host),
    .signature = SW_PLUGIN_SIGNATURE,
    .engine_version = SW_VERSION_STRING,

    .malloc = sw_plugin_malloc,
    .realloc = sw_plugin_realloc,
    .free = sw_plugin_free,
    .strerror = sw_strerror,
    .now_ms = sw_plugin_now_ms,
    .sha1 = sw_plugin_sha1,
    .log = sw_plugin_log,
    .setting_int = sw_plugin_setting_int,
    .setting_bool = sw_plugin_setting_bool,
    .setting_str = sw_plugin_setting_str,
    .extension_id = sw_plugin_extension_id,
    .queue_work = sw_plugin_queue_work,

    .bdecode = sw_bdecode,
    .bdoc_free = sw_bdoc_free,
    .bdoc_root = sw_bdoc_root,
    .bnode_type_of = sw_bnode_type_of,
    .bnode_is = sw_bnode_is,
    .bnode_raw = sw_bnode_raw,
    .bnode_str = sw_bnode_str,
    .bnode_str_eq = sw_bnode_str_eq,
    .bnode_int = sw_bnode_int,
    .bnode_len = sw_bnode_len,
    .bnode_list_at = sw_bnode_list_at,
    .bnode_dict_at = sw_bnode_dict_at,
    .bnode_dict_find = sw_bnode_dict_find,
    .bnode_dict_get = sw_bnode_dict_get,
    .bnode_dict_get_int = sw_bnode_dict_get_int,
    .bnode_dict_get_str = sw_bnode_dict_get_str,
    .benc_new = sw_benc_new,
    .benc_free = sw_benc_free,
    .benc_int = sw_benc_int,
    .benc_str = sw_benc_str,
    .benc_cstr = sw_benc_cstr,
    .benc_list_begin = sw_benc_list_begin,
    .benc_dict_begin = sw_benc_dict_begin,
    .benc_end = sw_benc_end,
    .benc_key = sw_benc_key,
    .benc_ckey = sw_benc_ckey,
    .benc_raw = sw_benc_raw,
    .benc_node = sw_benc_node,
    .benc_finish = sw_benc_finish,

    .torrent_id = sw_plugin_torrent_id,
    .torrent_info_hash = sw_plugin_torrent_info_hash,
    .torrent_name = sw_plugin_torrent_name,
    .torrent_state = sw_plugin_torrent_state,
    .torrent_has_metadata = sw_plugin_torrent_has_metadata,
    .torrent_is_private = sw_plugin_torrent_is_private,
    .torrent_num_pieces = sw_plugin_torrent_num_pieces,
    .torrent_piece_size = sw_plugin_torrent_piece_size,
    .torrent_metadata = sw_plugin_torrent_metadata,
    .torrent_set_metadata = sw_plugin_torrent_set_metadata,
    .torrent_add_peer = sw_plugin_torrent_add_peer,
    .torrent_peers = sw_plugin_torrent_peers,
    .torrent_ban_peer = sw_plugin_torrent_ban_peer,
    .torrent_block_senders = sw_plugin_torrent_block_senders,
    .torrent_read = sw_plugin_torrent_read,
    .torrent_num_trackers = sw_plugin_torrent_num_trackers,
    .torrent_tracker = sw_plugin_torrent_tracker,
    .torrent_add_tracker = sw_plugin_torrent_add_tracker,

    .peer_torrent = sw_plugin_peer_torrent,
    .peer_endpoint = sw_plugin_peer_endpoint,
    .peer_listen_endpoint = sw_plugin_peer_listen_endpoint,
    .peer_id = sw_plugin_peer_id,
    .peer_client = sw_plugin_peer_client,
    .peer_flags = sw_plugin_peer_flags,
    .peer_send_extended = sw_plugin_peer_send_extended,
    .peer_disconnect = sw_plugin_peer_disconnect,

    .post_alert = sw_plugin_post_alert,
    .disable = sw_plugin_disable,
    .torrent_num_have = sw_plugin_torrent_num_have,
};
