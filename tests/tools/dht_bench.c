/* dht_bench: a local DHT of cswarm nodes (core/dht) on 127.0.0.1 in one
 * process and one event loop, for tests/bench/bench_dht.py.
 *
 *   dht_bench NODES LOOKUPS [SEED]
 *
 * Every node binds its own UDP socket; node 0 is the bootstrap router of
 * all the others. Once every bootstrap is over and the maintenance lookups
 * have settled, each round announces a fresh info-hash from one random
 * node, then looks it up (get_peers) from another and records: the time to
 * the first peer, the time to the end of the lookup, and the datagrams the
 * searching node sent meanwhile. One JSON object per round on stdout, then
 * a summary line {"summary": ...} with the medians. Nothing leaves
 * 127.0.0.1. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dht/dht.h"
#include "dht/dht_internal.h"

typedef struct node {
    uv_udp_t udp;
    sw_dht *dht;
    uint16_t port;
    char buf[2048];
    uint64_t sent;
} node;

static node *nodes;
static int num_nodes;
static int pending; /* callbacks the current phase waits for */

static int node_send(void *user, const uint8_t *data, size_t len, const struct sockaddr *to)
{
    node *n = user;
    uv_buf_t b = uv_buf_init((char *)data, (unsigned)len);
    int rc = uv_udp_try_send(&n->udp, &b, 1, to);
    if (rc >= 0)
        n->sent++;
    return rc < 0 ? rc : 0; /* a full kernel queue is a lost datagram */
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *out)
{
    (void)suggested;
    node *n = h->data;
    *out = uv_buf_init(n->buf, sizeof n->buf);
}

static void on_recv(uv_udp_t *h, ssize_t nread, const uv_buf_t *buf, const struct sockaddr *from,
                    unsigned flags)
{
    node *n = h->data;
    if (nread <= 0 || !from || (flags & UV_UDP_PARTIAL) || !n->dht)
        return;
    (void)sw__dht_on_packet(n->dht, (const uint8_t *)buf->base, (size_t)nread, from);
}

static int start_node(uv_loop_t *loop, node *n)
{
    int rc = uv_udp_init(loop, &n->udp);
    if (rc < 0)
        return rc;
    n->udp.data = n;
    struct sockaddr_in sa;
    uv_ip4_addr("127.0.0.1", 0, &sa);
    rc = uv_udp_bind(&n->udp, (const struct sockaddr *)&sa, 0);
    if (rc < 0)
        return rc;
    struct sockaddr_storage got;
    int len = sizeof got;
    uv_udp_getsockname(&n->udp, (struct sockaddr *)&got, &len);
    n->port = ntohs(((struct sockaddr_in *)&got)->sin_port);
    sw_dht_config cfg;
    sw__dht_config_init(&cfg, loop, AF_INET, node_send, n);
    /* One address for every node: the per-address rules off. */
    cfg.settings.restrict_routing_ips = false;
    cfg.settings.restrict_search_ips = false;
    cfg.settings.enforce_node_id = false;
    cfg.settings.ignore_dark_internet = false;
    cfg.settings.block_ratelimit = 0;
    cfg.settings.upload_rate_limit = 0;
    rc = sw__dht_new(&cfg, &n->dht);
    if (rc == 0)
        rc = uv_udp_recv_start(&n->udp, on_alloc, on_recv);
    return rc;
}

static void on_tick(uv_timer_t *t)
{
    (void)t; /* keeps uv_run turning while a phase waits */
}

/* Runs the loop until pending reaches 0 or timeout_ms passes. */
static bool run_until_done(uv_loop_t *loop, uint64_t timeout_ms)
{
    uint64_t end = uv_hrtime() + timeout_ms * 1000000u;
    while (pending > 0 && uv_hrtime() < end)
        uv_run(loop, UV_RUN_ONCE);
    return pending == 0;
}

static void run_for(uv_loop_t *loop, uint64_t ms)
{
    uint64_t end = uv_hrtime() + ms * 1000000u;
    while (uv_hrtime() < end)
        uv_run(loop, UV_RUN_ONCE);
}

static size_t running_lookups(void)
{
    size_t n = 0;
    for (int i = 0; i < num_nodes; i++) {
        sw_dht_stats st;
        sw__dht_get_stats(nodes[i].dht, &st);
        n += st.lookups;
    }
    return n;
}

static void on_done(void *user, int status, const sw_dht_lookup_stats *stats)
{
    (void)user;
    (void)status;
    (void)stats;
    pending--;
}

typedef struct lookup {
    uint64_t start_ns, first_peer_ns, done_ns;
    sw_dht_lookup_stats stats;
    int status;
    int peers;
} lookup;

static void on_peers(void *user, const sw_sha1 *ih, const sw_endpoint *peers, size_t n)
{
    (void)ih;
    (void)peers;
    lookup *l = user;
    if (n > 0 && l->first_peer_ns == 0)
        l->first_peer_ns = uv_hrtime();
    l->peers += (int)n;
}

static void on_lookup_done(void *user, int status, const sw_dht_lookup_stats *stats)
{
    lookup *l = user;
    l->done_ns = uv_hrtime();
    l->status = status;
    l->stats = *stats;
    pending--;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double median(double *v, int n)
{
    if (n == 0)
        return 0;
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static void closed_cb(uv_handle_t *h)
{
    (void)h;
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: dht_bench NODES LOOKUPS [SEED]\n");
        return 2;
    }
    num_nodes = atoi(argv[1]);
    int rounds = atoi(argv[2]);
    srand(argc > 3 ? (unsigned)atoi(argv[3]) : 1u);
    if (num_nodes < 3 || rounds < 1)
        return 2;
    uv_loop_t loop;
    uv_loop_init(&loop);
    uv_timer_t tick;
    uv_timer_init(&loop, &tick);
    uv_timer_start(&tick, on_tick, 5, 5);
    nodes = calloc((size_t)num_nodes, sizeof *nodes);
    for (int i = 0; i < num_nodes; i++) {
        int rc = start_node(&loop, &nodes[i]);
        if (rc < 0) {
            fprintf(stderr, "node %d: %s\n", i, uv_strerror(rc));
            return 1;
        }
    }
    /* Everyone joins through node 0, a few at a time as a real DHT grows. */
    uint64_t t0 = uv_hrtime();
    struct sockaddr_in router;
    uv_ip4_addr("127.0.0.1", nodes[0].port, &router);
    for (int i = 1; i < num_nodes; i++) {
        sw__dht_add_router(nodes[i].dht, (const struct sockaddr *)&router);
        if (sw__dht_bootstrap(nodes[i].dht, on_done, NULL) == 0)
            pending++;
        if (i % 20 == 0)
            run_until_done(&loop, 30000);
    }
    run_until_done(&loop, 60000);
    /* Let the post-bootstrap refreshes finish, then the delayed pings of
     * nodes known only from their queries (SW_DHT_VERIFY_DELAY_MS) and the
     * lookups their answers start. */
    uint64_t settle_end = uv_hrtime() + 60000ull * 1000000u;
    while (running_lookups() > 0 && uv_hrtime() < settle_end)
        run_for(&loop, 50);
    run_for(&loop, SW_DHT_VERIFY_DELAY_MS + 500);
    while (running_lookups() > 0 && uv_hrtime() < settle_end)
        run_for(&loop, 50);
    double boot_s = (double)(uv_hrtime() - t0) / 1e9;
    size_t total_nodes = 0;
    for (int i = 0; i < num_nodes; i++) {
        sw_dht_stats st;
        sw__dht_get_stats(nodes[i].dht, &st);
        total_nodes += st.nodes;
    }
    fprintf(stderr, "dht_bench: %d nodes up in %.1f s, %.1f routing entries each\n", num_nodes,
            boot_s, (double)total_nodes / num_nodes);

    double *first = calloc((size_t)rounds, sizeof *first);
    double *done = calloc((size_t)rounds, sizeof *done);
    double *msgs = calloc((size_t)rounds, sizeof *msgs);
    int found = 0;
    for (int r = 0; r < rounds; r++) {
        sw_sha1 ih;
        for (int k = 0; k < 20; k++)
            ih.v[k] = (uint8_t)rand();
        int a = rand() % num_nodes, s;
        do
            s = rand() % num_nodes;
        while (s == a);
        pending = 1;
        if (sw__dht_announce(nodes[a].dht, &ih, (uint16_t)(10000 + r), 0, NULL, on_done, NULL) < 0)
            pending = 0;
        run_until_done(&loop, 30000);
        run_for(&loop, 200);
        lookup l;
        memset(&l, 0, sizeof l);
        uint64_t sent_before = nodes[s].sent;
        l.start_ns = uv_hrtime();
        pending = 1;
        if (sw__dht_get_peers(nodes[s].dht, &ih, on_peers, on_lookup_done, &l) < 0)
            pending = 0;
        run_until_done(&loop, 30000);
        double f = l.first_peer_ns ? (double)(l.first_peer_ns - l.start_ns) / 1e6 : -1;
        double d = (double)(l.done_ns - l.start_ns) / 1e6;
        uint64_t m = nodes[s].sent - sent_before;
        printf("{\"round\": %d, \"first_peer_ms\": %.2f, \"done_ms\": %.2f, \"messages\": %" PRIu64
               ", \"queried\": %d, \"responses\": %d, \"peers\": %d}\n",
               r, f, d, m, l.stats.queried, l.stats.responses, l.peers);
        if (f >= 0) {
            first[found] = f;
            done[found] = d;
            msgs[found] = (double)m;
            found++;
        }
    }
    printf("{\"summary\": {\"nodes\": %d, \"rounds\": %d, \"found\": %d, \"first_peer_ms\": %.2f, "
           "\"done_ms\": %.2f, \"messages\": %.1f, \"bootstrap_s\": %.1f}}\n",
           num_nodes, rounds, found, median(first, found), median(done, found), median(msgs, found),
           boot_s);
    fflush(stdout);
    free(first);
    free(done);
    free(msgs);
    for (int i = 0; i < num_nodes; i++) {
        sw__dht_close(nodes[i].dht, NULL, NULL);
        nodes[i].dht = NULL;
        uv_close((uv_handle_t *)&nodes[i].udp, closed_cb);
    }
    uv_close((uv_handle_t *)&tick, closed_cb);
    uv_run(&loop, UV_RUN_DEFAULT);
    int rc = uv_loop_close(&loop);
    free(nodes);
    return rc == 0 ? 0 : 1;
}
