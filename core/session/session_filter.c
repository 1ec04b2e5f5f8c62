/* The session's IP and port filters (public API in <cswarm/ip_filter.h>).
 * Filters are copied on the caller's thread and swapped in on the network
 * thread, where core/peer applies them. */
#include <stdlib.h>

#include "filter/filter.h"
#include "session_int.h"

typedef struct filter_arg {
    sw_ip_filter *ip;
    sw_port_filter *port;
    bool set_ip, set_port;
} filter_arg;

static int set_fn(sw_session *ses, void *arg)
{
    filter_arg *a = arg;
    ses->env.now_ms = uv_now(&ses->loop);
    if (a->set_ip) {
        sw__peer_env_set_ip_filter(&ses->env, a->ip);
        a->ip = NULL; /* taken */
    }
    if (a->set_port) {
        sw__peer_env_set_port_filter(&ses->env, a->port);
        a->port = NULL;
    }
    return 0;
}

static int set_filters(sw_session *ses, filter_arg *a)
{
    int rc = sw__session_run(ses, set_fn, a);
    /* Not taken when the session was shutting down. */
    sw_ip_filter_free(a->ip);
    sw_port_filter_free(a->port);
    return rc;
}

int sw_session_set_ip_filter(sw_session *ses, const sw_ip_filter *f)
{
    if (!ses)
        return SW_ERR_INVALID_ARG;
    filter_arg a = {.set_ip = true};
    if (f) {
        int rc = sw_ip_filter_clone(f, &a.ip);
        if (rc < 0)
            return rc;
    }
    return set_filters(ses, &a);
}

int sw_session_set_port_filter(sw_session *ses, const sw_port_filter *f)
{
    if (!ses)
        return SW_ERR_INVALID_ARG;
    filter_arg a = {.set_port = true};
    if (f) {
        int rc = sw_port_filter_clone(f, &a.port);
        if (rc < 0)
            return rc;
    }
    return set_filters(ses, &a);
}

static int get_fn(sw_session *ses, void *arg)
{
    filter_arg *a = arg;
    if (a->set_ip)
        return ses->env.ip_filter ? sw_ip_filter_clone(ses->env.ip_filter, &a->ip)
                                  : sw_ip_filter_new(&a->ip);
    return ses->env.port_filter ? sw_port_filter_clone(ses->env.port_filter, &a->port)
                                : sw_port_filter_new(&a->port);
}

int sw_session_get_ip_filter(sw_session *ses, sw_ip_filter **f_out)
{
    if (!ses || !f_out)
        return SW_ERR_INVALID_ARG;
    filter_arg a = {.set_ip = true};
    int rc = sw__session_run(ses, get_fn, &a);
    if (rc < 0) {
        sw_ip_filter_free(a.ip);
        return rc;
    }
    *f_out = a.ip;
    return 0;
}

int sw_session_get_port_filter(sw_session *ses, sw_port_filter **f_out)
{
    if (!ses || !f_out)
        return SW_ERR_INVALID_ARG;
    filter_arg a = {.set_port = true};
    int rc = sw__session_run(ses, get_fn, &a);
    if (rc < 0) {
        sw_port_filter_free(a.port);
        return rc;
    }
    *f_out = a.port;
    return 0;
}
