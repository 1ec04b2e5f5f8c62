/* Listen sockets: one per interface address, all on the same port, picked
 * from a range with a fallback to a port the OS chooses. */
#include <stdlib.h>
#include <string.h>

#include "session_dht.h"
#include "session_int.h"
#include "session_udp.h"
#include "torrent_trackers.h"

#define MAX_IFACES SW_MAX_LISTENERS

static void on_accept(void *user, sw_stream *s)
{
    sw_session *ses = user;
    if (ses->shutting_down) {
        sw__stream_close(s, NULL);
        return;
    }
    ses->env.now_ms = uv_now(&ses->loop);
    sw__peer_env_accept(&ses->env, s);
}

static void on_accept_error(void *user, int error)
{
    sw_session *ses = user;
    sw_alert *a = sw__session_torrent_alert(ses, NULL, SW_ALERT_LISTEN_FAILED, false);
    if (!a)
        return;
    a->error = error;
    sw__alert_set_str(a, &a->payload.listen.operation, "accept");
    sw__alert_set_message(a, "accepting a connection failed: %s", sw_strerror(error));
    sw__session_post_alert(ses, a);
}

void sw__session_close_listeners(sw_session *ses)
{
    for (int i = 0; i < ses->num_listeners; i++)
        sw__listener_close(ses->listeners[i], NULL, NULL);
    ses->num_listeners = 0;
    ses->env.listen_port = 0;
}

/* Splits "a,b,c" (from the argument) or "ADDR:PORT,..." (from the setting,
 * ports ignored) into endpoints. */
static int parse_ifaces(const char *list, bool from_setting, sw_endpoint *out, int max)
{
    int n = 0;
    const char *p = list;
    while (*p && n < max) {
        const char *end = strchr(p, ',');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        char item[96];
        while (len > 0 && *p == ' ') {
            p++;
            len--;
        }
        while (len > 0 && p[len - 1] == ' ')
            len--;
        if (len > 0 && len < sizeof item) {
            memcpy(item, p, len);
            item[len] = '\0';
            sw_endpoint ep;
            int rc =
                from_setting ? sw__endpoint_parse(&ep, item) : sw__endpoint_from_ip(&ep, item, 0);
            if (rc < 0 && from_setting)
                rc = sw__endpoint_from_ip(&ep, item, 0);
            if (rc < 0)
                return SW_ERR_INVALID_ARG;
            ep.port = 0;
            out[n++] = ep;
        } else if (len > 0) {
            return SW_ERR_INVALID_ARG;
        }
        if (!end)
            break;
        p = end + 1;
    }
    return n;
}

static void post_listen_alert_type(sw_session *ses, const sw_endpoint *ep, int error,
                                   const char *op, sw_socket_type type);

static void post_listen_alert(sw_session *ses, const sw_endpoint *ep, int error, const char *op)
{
    post_listen_alert_type(ses, ep, error, op, SW_SOCKET_TCP);
}

static void post_listen_alert_type(sw_session *ses, const sw_endpoint *ep, int error,
                                   const char *op, sw_socket_type type)
{
    sw_alert *a = sw__session_torrent_alert(
        ses, NULL, error ? SW_ALERT_LISTEN_FAILED : SW_ALERT_LISTEN_SUCCEEDED, false);
    if (!a)
        return;
    a->error = error;
    sw__endpoint_format_ip(ep, a->payload.listen.ip, sizeof a->payload.listen.ip);
    a->payload.listen.port = ep->port;
    a->payload.listen.socket_type = type;
    char text[SW_ENDPOINT_STRLEN];
    sw__endpoint_format(ep, text, sizeof text);
    if (error) {
        sw__alert_set_str(a, &a->payload.listen.operation, op);
        sw__alert_set_message(a, "listening on %s failed: %s: %s", text, op, sw_strerror(error));
    } else {
        sw__alert_set_message(a, "listening on %s (%s)", text,
                              type == SW_SOCKET_UDP ? "UDP: uTP, DHT, trackers" : "TCP");
    }
    sw__session_post_alert(ses, a);
}

/* Tries every interface on one port. Returns how many listen; on failure
 * of all, *err_out is the last error. An interface whose address is not on
 * this host (or whose family is unsupported) is skipped. */
static int try_port(sw_session *ses, sw_endpoint *ifs, int nifs, uint16_t port, int *err_out,
                    sw_listener **got)
{
    int ok = 0;
    for (int i = 0; i < nifs; i++) {
        sw_endpoint ep = ifs[i];
        ep.port = port;
        /* With port 0 the first socket picks; the others follow it. */
        if (port == 0 && ok > 0)
            ep.port = sw__listener_endpoint(got[0])->port;
        const char *op = NULL;
        int rc = sw__listener_new(&ses->loop, &ep, on_accept, on_accept_error, ses, &got[ok], &op);
        if (rc == 0) {
            ok++;
            continue;
        }
        if (rc == UV_EADDRNOTAVAIL || rc == UV_EAFNOSUPPORT)
            continue;
        *err_out = rc;
        for (int k = 0; k < ok; k++)
            sw__listener_close(got[k], NULL, NULL);
        return 0;
    }
    if (ok == 0 && *err_out == 0)
        *err_out = UV_EADDRNOTAVAIL;
    return ok;
}

/* Trackers hear of a new port at once rather than at their next regular
 * announce (libtorrent re-announces when its listen port changes). */
static void reannounce_all(sw_session *ses)
{
    for (sw_torrent *t = ses->torrents; t; t = t->next)
        (void)sw__torrent_trackers_reannounce(t, -1); /* not announcing: nothing to do */
}

int sw__session_listen(sw_session *ses, int port_min, int port_max, const char *interfaces,
                       unsigned flags)
{
    if (port_min < 0 || port_min > 65535 || port_max > 65535)
        return SW_ERR_INVALID_ARG;
    uint16_t old_port = ses->env.listen_port;
    if (port_max < port_min)
        port_max = port_min;
    sw_endpoint ifs[MAX_IFACES];
    int nifs;
    if (interfaces)
        nifs = parse_ifaces(interfaces, false, ifs, MAX_IFACES);
    else
        nifs = parse_ifaces(sw__settings_str(ses->settings, SW_SET_LISTEN_INTERFACES), true, ifs,
                            MAX_IFACES);
    if (nifs < 0)
        return nifs;
    if (nifs == 0) {
        sw__endpoint_from_ip(&ifs[0], "0.0.0.0", 0);
        sw__endpoint_from_ip(&ifs[1], "::", 0);
        nifs = 2;
    }
    sw__session_close_listeners(ses);
    sw_listener *got[MAX_IFACES];
    int err = 0, ok = 0;
    for (int port = port_min; port <= port_max && ok == 0; port++) {
        err = 0;
        ok = try_port(ses, ifs, nifs, (uint16_t)port, &err, got);
        if (port == 0)
            break;
    }
    if (ok == 0 && port_min != 0 && !(flags & SW_LISTEN_NO_SYSTEM_PORT)) {
        err = 0;
        ok = try_port(ses, ifs, nifs, 0, &err, got);
    }
    if (ok == 0) {
        sw_endpoint ep = ifs[0];
        ep.port = (uint16_t)port_min;
        post_listen_alert(ses, &ep, err, "bind");
        return err;
    }
    for (int i = 0; i < ok; i++) {
        ses->listeners[i] = got[i];
        post_listen_alert(ses, sw__listener_endpoint(got[i]), 0, NULL);
    }
    ses->num_listeners = ok;
    ses->env.listen_port = sw__listener_endpoint(got[0])->port;
    /* UDP (uTP, the DHT, trackers) on the same address and port, and on the
     * first listener of the other address family; TCP works without. */
    if (sw__session_udp_open(ses, sw__listener_endpoint(got[0])) == 0) {
        for (int i = 1; i < ok; i++) {
            const sw_endpoint *ep = sw__listener_endpoint(got[i]);
            if (ep->family != sw__listener_endpoint(got[0])->family) {
                (void)sw__session_udp_open_other(ses, ep);
                break;
            }
        }
        sw_endpoint udp_eps[2];
        int n = sw__session_udp_endpoints(ses, udp_eps, 2);
        for (int i = 0; i < n; i++)
            post_listen_alert_type(ses, &udp_eps[i], 0, NULL, SW_SOCKET_UDP);
    }
    sw__session_dht_udp_ready(ses);
    if (ses->env.listen_port != old_port)
        reannounce_all(ses);
    return 0;
}

/* The port of the first ADDRESS:PORT of a listen_interfaces value, or -1. */
static int first_port(const char *list)
{
    const char *end = strchr(list, ',');
    size_t len = end ? (size_t)(end - list) : strlen(list);
    while (len > 0 && *list == ' ') {
        list++;
        len--;
    }
    while (len > 0 && list[len - 1] == ' ')
        len--;
    char item[96];
    if (len == 0 || len >= sizeof item)
        return -1;
    memcpy(item, list, len);
    item[len] = '\0';
    sw_endpoint ep;
    if (sw__endpoint_parse(&ep, item) < 0)
        return -1;
    return ep.port;
}

void sw__session_listen_settings_changed(sw_session *ses, const char *before)
{
    const char *now = sw__settings_str(ses->settings, SW_SET_LISTEN_INTERFACES);
    /* A session that does not listen yet takes the setting when it does. */
    if (!before || strcmp(before, now) == 0 || ses->num_listeners == 0 || ses->shutting_down)
        return;
    int port = first_port(now);
    if (port < 0)
        port = ses->env.listen_port; /* no port given: keep ours */
    /* Failure is reported by a listen_failed alert, as for listen_on. */
    (void)sw__session_listen(ses, port, port, NULL, 0);
}
