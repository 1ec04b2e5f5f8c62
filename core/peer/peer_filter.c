/* Applying the session's IP and port filters to peers: at accept (before a
 * byte of handshake is read or sent), when a peer joins a torrent's list
 * from any source (tracker, DHT, PEX, resume data, connect_peer), before
 * dialling, and to every existing connection and known peer when a filter
 * changes. A torrent added without SW_ADD_APPLY_IP_FILTER is exempt from
 * both filters, as in libtorrent. */
#include <stdlib.h>

#include "filter/filter.h"
#include "peer_limits.h"

static int family_of(const sw_endpoint *ep)
{
    return ep->family == AF_INET ? 4 : ep->family == AF_INET6 ? 6 : 0;
}

static bool ip_blocked(const sw_peer_env *env, const sw_endpoint *ep)
{
    return env->ip_filter &&
           (sw__ip_filter_access_raw(env->ip_filter, family_of(ep), ep->addr) & SW_FILTER_BLOCKED);
}

static bool port_blocked(const sw_peer_env *env, const sw_endpoint *ep)
{
    uint32_t flags = 0;
    return env->port_filter && sw_port_filter_access(env->port_filter, ep->port, &flags) == 0 &&
           (flags & SW_FILTER_BLOCKED);
}

static bool any_exempt(const sw_peer_env *env)
{
    for (const sw_swarm *sw = env->swarms; sw; sw = sw->next)
        if (sw->cfg.ip_filter_exempt)
            return true;
    return false;
}

bool sw__peer_filter_refuses(sw_peer_env *env, sw_swarm *sw, const sw_endpoint *ep, bool outgoing,
                             int *reason_out)
{
    if (sw && sw->cfg.ip_filter_exempt)
        return false;
    if (ip_blocked(env, ep)) {
        /* Before the handshake names a torrent, an exempt torrent may be
         * the one asked for: the check waits for the handshake. */
        if (!sw && any_exempt(env))
            return false;
        *reason_out = SW_BLOCKED_IP_FILTER;
        return true;
    }
    if (outgoing && port_blocked(env, ep)) {
        *reason_out = SW_BLOCKED_PORT_FILTER;
        return true;
    }
    return false;
}

void sw__peer_filter_emit(sw_peer_env *env, sw_swarm *sw, const sw_endpoint *ep,
                          sw_socket_type type, int reason)
{
    if (!env->on_event || (env->wants_event && !env->wants_event(env->ctx, SW_ALERT_PEER_BLOCKED)))
        return;
    sw_peer_event ev = {
        .type = SW_ALERT_PEER_BLOCKED,
        .swarm = sw,
        .ep = ep,
        .socket_type = type,
        .reason = reason,
    };
    env->on_event(env->ctx, &ev);
}

bool sw__peer_filter_blocks(sw_peer_env *env, sw_swarm *sw, const sw_endpoint *ep, bool outgoing,
                            sw_socket_type type)
{
    int reason;
    if (!sw__peer_filter_refuses(env, sw, ep, outgoing, &reason))
        return false;
    sw__peer_filter_emit(env, sw, ep, type, reason);
    return true;
}

static int reason_error(int reason)
{
    return reason == SW_BLOCKED_PORT_FILTER ? SW_ERR_BLOCKED_BY_PORT_FILTER
                                            : SW_ERR_BLOCKED_BY_IP_FILTER;
}

/* A filter changed: connections and known peers it now refuses go. */
static void apply_to_swarm(sw_peer_env *env, sw_swarm *sw)
{
    sw_peer_conn *pc = sw->conns;
    while (pc) {
        sw_peer_conn *next = pc->next;
        int reason;
        if (pc->state != SW_PEER_CLOSING &&
            sw__peer_filter_refuses(env, sw, &pc->remote, pc->outgoing, &reason)) {
            sw__peer_filter_emit(env, sw, &pc->remote,
                                 pc->stream ? pc->stream->type : SW_SOCKET_TCP, reason);
            /* The close reason outlives this call: static strings. */
            sw__peer_conn_close(pc, reason_error(reason),
                                reason == SW_BLOCKED_PORT_FILTER ? "port_filter" : "ip_filter");
        }
        pc = next;
    }
    /* Entries go from the back so removal (which moves the last entry into
     * the hole) never skips one. */
    for (size_t i = sw->peers.count; i > 0; i--) {
        sw_peer_entry *e = sw->peers.v[i - 1];
        int reason;
        if (e->conn || !sw__peer_filter_refuses(env, sw, &e->ep, e->connectable, &reason))
            continue;
        if (sw->picker)
            sw__picker_forget_peer(sw->picker, e);
        sw__peer_list_remove(&sw->peers, e);
    }
}

static void apply_all(sw_peer_env *env)
{
    sw_peer_conn *pc = env->unattached;
    while (pc) {
        sw_peer_conn *next = pc->next;
        if (sw__peer_filter_blocks(env, NULL, &pc->remote, false,
                                   pc->stream ? pc->stream->type : SW_SOCKET_TCP))
            sw__peer_conn_close(pc, SW_ERR_BLOCKED_BY_IP_FILTER, "ip_filter");
        pc = next;
    }
    for (sw_swarm *sw = env->swarms; sw; sw = sw->next)
        apply_to_swarm(env, sw);
}

void sw__peer_env_set_ip_filter(sw_peer_env *env, sw_ip_filter *f)
{
    sw_ip_filter_free(env->ip_filter);
    /* A filter that blocks nothing costs nothing per peer. */
    if (f && sw__ip_filter_is_empty(f)) {
        sw_ip_filter_free(f);
        f = NULL;
    }
    env->ip_filter = f;
    apply_all(env);
}

void sw__peer_env_set_port_filter(sw_peer_env *env, sw_port_filter *f)
{
    sw_port_filter_free(env->port_filter);
    env->port_filter = f;
    apply_all(env);
}

void sw__peer_env_free_filters(sw_peer_env *env)
{
    sw_ip_filter_free(env->ip_filter);
    env->ip_filter = NULL;
    sw_port_filter_free(env->port_filter);
    env->port_filter = NULL;
}

void sw__swarm_apply_filters(sw_swarm *sw)
{
    apply_to_swarm(sw->env, sw);
}
