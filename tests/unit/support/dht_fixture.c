/* DHT test nodes on loopback UDP sockets; see dht_fixture.h. */
#include "dht_fixture.h"

#include <stdlib.h>
#include <string.h>

#include <arpa/inet.h>

void dfx_loopback_settings(sw_dht_settings *s)
{
    sw__dht_settings_init(s);
    s->restrict_routing_ips = false;
    s->restrict_search_ips = false;
    s->enforce_node_id = false;
    s->ignore_dark_internet = false;
    s->upload_rate_limit = 0;
    s->block_ratelimit = 0;
    /* Generous: many nodes share one loop, and a loaded test machine must
     * not turn slow answers into lost ones. */
    s->query_timeout_ms = 10000;
    s->short_timeout_ms = 2000;
}

typedef struct send_req {
    uv_udp_send_t req;
    uint8_t data[];
} send_req;

static void on_sent(uv_udp_send_t *req, int status)
{
    (void)status;
    free(req);
}

static int node_send(void *user, const uint8_t *data, size_t len, const struct sockaddr *to)
{
    dfx_node *n = user;
    if (n->closing)
        return UV_ECANCELED;
    uv_buf_t buf = uv_buf_init((char *)data, (unsigned)len);
    int rc = uv_udp_try_send(&n->udp, &buf, 1, to);
    if (rc == UV_EAGAIN || rc == UV_ENOSYS) {
        /* Kernel queue full: fall back to a queued send with a copy. */
        send_req *r = malloc(sizeof *r + len);
        if (!r)
            return UV_ENOMEM;
        memcpy(r->data, data, len);
        buf = uv_buf_init((char *)r->data, (unsigned)len);
        rc = uv_udp_send(&r->req, &n->udp, &buf, 1, to, on_sent);
        if (rc != 0)
            free(r);
    }
    if (rc >= 0)
        n->sent++;
    return rc < 0 ? rc : 0;
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    (void)h;
    (void)suggested;
    static char space[65536];
    *buf = uv_buf_init(space, sizeof space);
}

static void on_recv(uv_udp_t *udp, ssize_t nread, const uv_buf_t *buf, const struct sockaddr *addr,
                    unsigned flags)
{
    (void)flags;
    dfx_node *n = udp->data;
    if (nread <= 0 || !addr || n->closing)
        return;
    n->received++;
    sw__dht_on_packet(n->dht, (const uint8_t *)buf->base, (size_t)nread, addr);
}

int dfx_node_start(dfx_node *n, uv_loop_t *loop, int family, const sw_dht_settings *s,
                   const sw_sha1 *id)
{
    memset(n, 0, sizeof *n);
    n->family = family;
    if (family == AF_INET6)
        uv_ip6_addr("::1", 0, (struct sockaddr_in6 *)&n->addr);
    else
        uv_ip4_addr("127.0.0.1", 0, (struct sockaddr_in *)&n->addr);
    int rc = uv_udp_init(loop, &n->udp);
    if (rc != 0)
        return rc;
    n->udp.data = n;
    rc = uv_udp_bind(&n->udp, (const struct sockaddr *)&n->addr, 0);
    int len = sizeof n->addr;
    if (rc == 0)
        rc = uv_udp_getsockname(&n->udp, (struct sockaddr *)&n->addr, &len);
    if (rc != 0) {
        n->closing = true;
        uv_close((uv_handle_t *)&n->udp, NULL);
        return rc;
    }
    n->port = ntohs(family == AF_INET6 ? ((struct sockaddr_in6 *)&n->addr)->sin6_port
                                       : ((struct sockaddr_in *)&n->addr)->sin_port);
    sw_dht_config cfg;
    sw__dht_config_init(&cfg, loop, family, node_send, n);
    if (s)
        cfg.settings = *s;
    else
        dfx_loopback_settings(&cfg.settings);
    cfg.node_id = id;
    rc = sw__dht_new(&cfg, &n->dht);
    if (rc == 0)
        rc = uv_udp_recv_start(&n->udp, on_alloc, on_recv);
    if (rc != 0) {
        n->closing = true;
        uv_close((uv_handle_t *)&n->udp, NULL);
        if (n->dht)
            sw__dht_close(n->dht, NULL, NULL);
        return rc;
    }
    return 0;
}

static void on_dht_closed(void *user)
{
    dfx_node *n = user;
    n->dht = NULL;
    n->closed++;
}

static void on_udp_closed(uv_handle_t *h)
{
    dfx_node *n = h->data;
    n->closed++;
}

void dfx_node_close(dfx_node *n)
{
    if (n->closing)
        return;
    /* The node first (its final callbacks may still send), then the
     * socket, which refuses sends from then on. */
    sw__dht_close(n->dht, on_dht_closed, n);
    n->closing = true;
    uv_udp_recv_stop(&n->udp);
    uv_close((uv_handle_t *)&n->udp, on_udp_closed);
}

bool dfx_node_closed(const dfx_node *n)
{
    return n->closed == 2;
}

size_t dfx_node_table_size(const dfx_node *n)
{
    sw_dht_stats st;
    sw__dht_get_stats(n->dht, &st);
    return st.nodes;
}

static void keep_turning(uv_timer_t *t)
{
    (void)t;
}

bool dfx_run_until(uv_loop_t *loop, bool (*cond)(void *arg), void *arg, int timeout_ms)
{
    uv_timer_t t;
    uv_timer_init(loop, &t);
    uv_timer_start(&t, keep_turning, 5, 5);
    uint64_t deadline = uv_hrtime() + (uint64_t)timeout_ms * 1000000u;
    bool ok;
    while (!(ok = cond(arg)) && uv_hrtime() < deadline)
        uv_run(loop, UV_RUN_ONCE);
    uv_close((uv_handle_t *)&t, NULL);
    uv_run(loop, UV_RUN_NOWAIT);
    return ok;
}

static void close_any(uv_handle_t *h, void *arg)
{
    (void)arg;
    if (!uv_is_closing(h))
        uv_close(h, NULL);
}

int dfx_close_loop(uv_loop_t *loop, int timeout_ms)
{
    uint64_t deadline = uv_hrtime() + (uint64_t)timeout_ms * 1000000u;
    while (uv_loop_alive(loop) && uv_hrtime() < deadline)
        uv_run(loop, UV_RUN_NOWAIT);
    int rc = uv_loop_close(loop);
    if (rc == UV_EBUSY) {
        /* Report it, but leave nothing behind for the sanitizers. */
        uv_walk(loop, close_any, NULL);
        uv_run(loop, UV_RUN_DEFAULT);
        uv_loop_close(loop);
    }
    return rc;
}
