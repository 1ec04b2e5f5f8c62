/* Building the alerts the session and its torrents post, including the
 * ones for peer events reported by core/peer. */
#include <stdio.h>
#include <string.h>

#include "plugin_int.h"
#include "session_int.h"

bool sw__session_wants(sw_session *ses, sw_alert_type type)
{
    return sw__alert_type_always_posted(type) ||
           sw__alert_queue_wants(ses->alerts, sw_alert_type_category(type));
}

void sw__session_post_alert(sw_session *ses, sw_alert *a)
{
    if (ses->plugins)
        sw__plugin_on_alert(ses, a);
    sw__alert_queue_post(ses->alerts, a);
}

sw_alert *sw__session_torrent_alert(sw_session *ses, sw_torrent *t, sw_alert_type type, bool force)
{
    if (!force && !sw__session_wants(ses, type))
        return NULL;
    sw_alert *a = sw__alert_new(type);
    if (!a)
        return NULL;
    if (t) {
        a->torrent_id = t->id;
        if (!t->url_fetch) /* a URL torrent's stand-in info-hash is not shown */
            a->info_hash = t->info_hash;
    }
    return a;
}

bool sw__session_wants_event(void *ctx, sw_alert_type type)
{
    return sw__session_wants(ctx, type);
}

static const char *event_text(sw_alert_type type)
{
    switch (type) {
    case SW_ALERT_PEER_CONNECT:
        return "connected";
    case SW_ALERT_PEER_DISCONNECTED:
        return "disconnected";
    case SW_ALERT_PEER_ERROR:
        return "error";
    case SW_ALERT_PEER_BAN:
        return "banned";
    case SW_ALERT_PEER_SNUBBED:
        return "snubbed";
    case SW_ALERT_PEER_UNSNUBBED:
        return "no longer snubbed";
    case SW_ALERT_INCOMING_CONNECTION:
        return "incoming connection";
    default:
        return sw_alert_type_name(type);
    }
}

static const char *blocked_reason_text(int reason)
{
    switch (reason) {
    case SW_BLOCKED_IP_FILTER:
        return "IP filter";
    case SW_BLOCKED_PORT_FILTER:
        return "port filter";
    case SW_BLOCKED_UTP_DISABLED:
        return "incoming uTP disabled";
    case SW_BLOCKED_TCP_DISABLED:
        return "incoming TCP disabled";
    default:
        return "refused";
    }
}

void sw__session_peer_event(void *ctx, const sw_peer_event *ev)
{
    sw_session *ses = ctx;
    sw_torrent *t = ev->swarm ? ev->swarm->owner : NULL;
    sw_alert *a = sw__session_torrent_alert(ses, t, ev->type, false);
    if (!a)
        return;
    a->error = ev->error;
    char ep[SW_ENDPOINT_STRLEN];
    sw__endpoint_format(ev->ep, ep, sizeof ep);
    if (ev->type == SW_ALERT_BLOCK_FINISHED) {
        a->payload.piece.piece = ev->piece;
        a->payload.piece.block = ev->block;
        sw__endpoint_to_alert_peer(ev->ep, &a->payload.piece.peer);
        sw__alert_set_message(a, "peer %s: block %d of piece %d received", ep, ev->block,
                              ev->piece);
        sw__session_post_alert(ses, a);
        return;
    }
    sw__endpoint_to_alert_peer(ev->ep, &a->payload.peer.peer);
    if (ev->type == SW_ALERT_PEER_BLOCKED) {
        a->payload.peer.reason = ev->reason;
        a->payload.peer.socket_type = ev->socket_type;
        sw__alert_set_message(a, "peer %s: blocked (%s)", ep, blocked_reason_text(ev->reason));
        sw__session_post_alert(ses, a);
        return;
    }
    if (ev->peer_id) {
        a->payload.peer.peer.has_peer_id = true;
        memcpy(a->payload.peer.peer.peer_id, ev->peer_id->v, 20);
    }
    a->payload.peer.socket_type = ev->socket_type;
    if (ev->operation)
        sw__alert_set_str(a, &a->payload.peer.operation, ev->operation);
    if (ev->error)
        sw__alert_set_message(a, "peer %s: %s (%s: %s)", ep, event_text(ev->type),
                              ev->operation ? ev->operation : "-", sw_strerror(ev->error));
    else if (ev->operation)
        sw__alert_set_message(a, "peer %s: %s (%s)", ep, event_text(ev->type), ev->operation);
    else
        sw__alert_set_message(a, "peer %s: %s", ep, event_text(ev->type));
    sw__session_post_alert(ses, a);
}
