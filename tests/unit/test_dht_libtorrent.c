/* Interop of cswarm's DHT with libtorrent's on 127.0.0.1: a cswarm node in
 * this process's loop and two libtorrent nodes in a child /usr/bin/python3
 * (tests/interop/dht_lt_node.py, driven over its stdin/stdout while our
 * loop keeps serving). The nodes bootstrap from each other; torrents
 * announced on one side are found on the other; immutable and mutable
 * items put on one side are got on the other. Skips when the libtorrent
 * Python module is missing. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <arpa/inet.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "dht/dht.h"
#include "dht_fixture.h"

#define PYTHON "/usr/bin/python3"
#define SCRIPT SW_TEST_DATA_DIR "/../interop/dht_lt_node.py"
#define LT_NODES 2

typedef struct lt_child {
    uv_process_t proc;
    uv_pipe_t in, out;
    bool exited;
    int64_t exit_status;
    char buf[65536];
    size_t len;
    int closes;
} lt_child;

typedef struct world {
    uv_loop_t loop;
    dfx_node node;
    lt_child lt;
    uint16_t lt_ports[LT_NODES];
    bool skip;
} world;

static void on_exit_cb(uv_process_t *p, int64_t status, int sig)
{
    (void)sig;
    lt_child *c = p->data;
    c->exited = true;
    c->exit_status = status;
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    (void)suggested;
    lt_child *c = h->data;
    *buf = uv_buf_init(c->buf + c->len, (unsigned)(sizeof c->buf - 1 - c->len));
}

static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
    (void)buf;
    lt_child *c = s->data;
    if (nread > 0)
        c->len += (size_t)nread;
    else if (nread < 0)
        uv_read_stop(s);
}

typedef struct line_wait {
    lt_child *c;
    char *line;
    size_t cap;
} line_wait;

/* True once a whole line is buffered; moves it to w->line. */
static bool have_line(void *arg)
{
    line_wait *w = arg;
    lt_child *c = w->c;
    char *nl = memchr(c->buf, '\n', c->len);
    if (!nl)
        return c->exited;
    size_t n = (size_t)(nl - c->buf);
    size_t copy = n < w->cap - 1 ? n : w->cap - 1;
    memcpy(w->line, c->buf, copy);
    w->line[copy] = 0;
    memmove(c->buf, nl + 1, c->len - n - 1);
    c->len -= n + 1;
    return true;
}

static bool read_line(world *w, char *line, size_t cap, int timeout_ms)
{
    line_wait lw = {&w->lt, line, cap};
    line[0] = 0;
    return dfx_run_until(&w->loop, have_line, &lw, timeout_ms) && line[0];
}

/* Sends one command and waits for its reply line, which must start with
 * "OK"; returns what follows. Our node keeps running meanwhile. */
static char *lt_cmd(world *w, char *reply, size_t cap, const char *fmt, ...)
{
    char cmd[4096];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(cmd, sizeof cmd - 1, fmt, ap);
    va_end(ap);
    assert_true(n > 0 && (size_t)n < sizeof cmd - 1);
    cmd[n++] = '\n';
    uv_buf_t b = uv_buf_init(cmd, (unsigned)n);
    assert_int_equal(uv_try_write((uv_stream_t *)&w->lt.in, &b, 1), n);
    if (!read_line(w, reply, cap, 60000))
        fail_msg("libtorrent helper gave no reply to: %.*s", n - 1, cmd);
    if (strncmp(reply, "OK", 2) != 0)
        fail_msg("libtorrent helper: %s (command: %.*s)", reply, n - 1, cmd);
    return reply[2] == ' ' ? reply + 3 : reply + 2;
}

static void hex(const uint8_t *p, size_t n, char *out)
{
    static const char digits[] = "0123456789abcdef";
    if (n == 0) {
        strcpy(out, "-");
        return;
    }
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = digits[p[i] >> 4];
        out[2 * i + 1] = digits[p[i] & 15];
    }
    out[2 * n] = 0;
}

static size_t unhex(const char *s, uint8_t *out, size_t cap)
{
    size_t n = 0;
    while (s[0] && s[1] && n < cap) {
        unsigned b;
        if (sscanf(s, "%2x", &b) != 1)
            break;
        out[n++] = (uint8_t)b;
        s += 2;
    }
    return n;
}

static int setup(void **state)
{
    world *w = calloc(1, sizeof *w);
    *state = w;
    if (access(PYTHON, X_OK) != 0) {
        w->skip = true;
        return 0;
    }
    assert_int_equal(uv_loop_init(&w->loop), 0);
    assert_int_equal(dfx_node_start(&w->node, &w->loop, AF_INET, NULL, NULL), 0);

    lt_child *c = &w->lt;
    uv_pipe_init(&w->loop, &c->in, 0);
    uv_pipe_init(&w->loop, &c->out, 0);
    c->in.data = c;
    c->out.data = c;
    c->proc.data = c;
    uv_stdio_container_t stdio[3];
    stdio[0].flags = UV_CREATE_PIPE | UV_READABLE_PIPE;
    stdio[0].data.stream = (uv_stream_t *)&c->in;
    stdio[1].flags = UV_CREATE_PIPE | UV_WRITABLE_PIPE;
    stdio[1].data.stream = (uv_stream_t *)&c->out;
    stdio[2].flags = UV_INHERIT_FD;
    stdio[2].data.fd = 2;
    char *args[] = {PYTHON, SCRIPT, NULL};
    uv_process_options_t opts;
    memset(&opts, 0, sizeof opts);
    opts.file = PYTHON;
    opts.args = args;
    opts.exit_cb = on_exit_cb;
    opts.stdio = stdio;
    opts.stdio_count = 3;
    assert_int_equal(uv_spawn(&w->loop, &c->proc, &opts), 0);
    assert_int_equal(uv_read_start((uv_stream_t *)&c->out, on_alloc, on_read), 0);

    char line[512];
    assert_true(read_line(w, line, sizeof line, 30000));
    if (strncmp(line, "SKIP", 4) == 0) {
        w->skip = true;
        return 0;
    }
    assert_string_equal(line, "READY");
    char reply[512];
    char *ports = lt_cmd(w, reply, sizeof reply, "start %d", LT_NODES);
    for (int i = 0; i < LT_NODES; i++) {
        w->lt_ports[i] = (uint16_t)strtoul(ports, &ports, 10);
        assert_true(w->lt_ports[i] != 0);
    }
    return 0;
}

static void on_child_closed(uv_handle_t *h)
{
    lt_child *c = h->data;
    c->closes++;
}

static bool child_gone(void *arg)
{
    lt_child *c = arg;
    return c->exited;
}

static int teardown(void **state)
{
    world *w = *state;
    if (w->lt.proc.data) {
        uv_buf_t b = uv_buf_init("quit\n", 5);
        uv_try_write((uv_stream_t *)&w->lt.in, &b, 1);
        if (!dfx_run_until(&w->loop, child_gone, &w->lt, 15000))
            uv_process_kill(&w->lt.proc, SIGKILL);
        dfx_run_until(&w->loop, child_gone, &w->lt, 5000);
        uv_close((uv_handle_t *)&w->lt.proc, on_child_closed);
        uv_close((uv_handle_t *)&w->lt.in, on_child_closed);
        uv_close((uv_handle_t *)&w->lt.out, on_child_closed);
        dfx_node_close(&w->node);
        int rc = dfx_close_loop(&w->loop, 5000);
        assert_int_equal(rc, 0);
        assert_true(dfx_node_closed(&w->node));
        assert_int_equal(w->lt.closes, 3);
    }
    free(w);
    return 0;
}

/* ---- helpers over our node ---- */

typedef struct done_rec {
    int calls;
    int status;
    sw_dht_lookup_stats stats;
} done_rec;

static void on_done(void *user, int status, const sw_dht_lookup_stats *stats)
{
    done_rec *d = user;
    d->calls++;
    d->status = status;
    d->stats = *stats;
}

static bool one_done(void *arg)
{
    return ((done_rec *)arg)->calls > 0;
}

typedef struct peers_lookup {
    uint16_t want_port;
    bool found;
    done_rec done;
} peers_lookup;

static void on_peers(void *user, const sw_sha1 *ih, const sw_endpoint *peers, size_t n)
{
    (void)ih;
    peers_lookup *p = user;
    for (size_t i = 0; i < n; i++)
        if (peers[i].port == p->want_port && sw__endpoint_ipv4(&peers[i]) == 0x7f000001u)
            p->found = true;
}

static void on_lookup_done(void *user, int status, const sw_dht_lookup_stats *stats)
{
    on_done(&((peers_lookup *)user)->done, status, stats);
}

typedef struct item_rec {
    int calls;
    int status;
    bool found;
    uint8_t v[1000];
    size_t v_len;
    int64_t seq;
} item_rec;

static void on_item(void *user, int status, const sw_dht_item *item,
                    const sw_dht_lookup_stats *stats)
{
    (void)stats;
    item_rec *r = user;
    r->calls++;
    r->status = status;
    r->found = item != NULL;
    if (item) {
        memcpy(r->v, item->v, item->v_len);
        r->v_len = item->v_len;
        r->seq = item->seq;
    }
}

static bool item_done(void *arg)
{
    return ((item_rec *)arg)->calls > 0;
}

static struct sockaddr_in lt_addr(const world *w, int i)
{
    struct sockaddr_in a;
    uv_ip4_addr("127.0.0.1", w->lt_ports[i], &a);
    return a;
}

/* ---- scenarios (run in order, sharing the nodes) ---- */

static bool table_has_lt(void *arg)
{
    world *w = arg;
    return dfx_node_table_size(&w->node) >= LT_NODES;
}

static void test_bootstrap_each_other(void **state)
{
    world *w = *state;
    if (w->skip)
        skip();
    char reply[512];
    /* libtorrent learns of us; we learn of libtorrent and bootstrap. */
    for (int i = 0; i < LT_NODES; i++) {
        lt_cmd(w, reply, sizeof reply, "add_node %d %u", i, w->node.port);
        struct sockaddr_in a = lt_addr(w, i);
        assert_int_equal(sw__dht_add_node(w->node.dht, (const struct sockaddr *)&a), 0);
    }
    assert_true(dfx_run_until(&w->loop, table_has_lt, w, 20000));
    done_rec boot = {0};
    assert_int_equal(sw__dht_bootstrap(w->node.dht, on_done, &boot), 0);
    assert_true(dfx_run_until(&w->loop, one_done, &boot, 20000));
    assert_int_equal(boot.status, 0);
    assert_true(boot.stats.responses >= LT_NODES);
    /* Both libtorrent nodes have us (and each other) in their tables. */
    for (int i = 0; i < LT_NODES; i++) {
        int n = 0;
        for (int tries = 0; tries < 50 && n < 1; tries++)
            n = atoi(lt_cmd(w, reply, sizeof reply, "nodes %d", i));
        assert_true(n >= 1);
    }
    sw_dht_stats st;
    sw__dht_get_stats(w->node.dht, &st);
    assert_int_equal(st.good_nodes, LT_NODES);
}

static void test_we_announce_libtorrent_finds(void **state)
{
    world *w = *state;
    if (w->skip)
        skip();
    sw_sha1 ih;
    memset(ih.v, 0xc5, 20);
    done_rec ann = {0};
    assert_int_equal(sw__dht_announce(w->node.dht, &ih, 47111, 0, NULL, on_done, &ann), 0);
    assert_true(dfx_run_until(&w->loop, one_done, &ann, 20000));
    assert_int_equal(ann.status, 0);
    assert_int_equal(ann.stats.stored, LT_NODES);
    char ihx[41], reply[4096];
    hex(ih.v, 20, ihx);
    char *peers = lt_cmd(w, reply, sizeof reply, "get_peers 0 %s 20", ihx);
    assert_non_null(strstr(peers, "127.0.0.1:47111"));
}

static bool never(void *arg)
{
    (void)arg;
    return false;
}

static void test_libtorrent_announces_we_find(void **state)
{
    world *w = *state;
    if (w->skip)
        skip();
    sw_sha1 ih;
    memset(ih.v, 0x7e, 20);
    char ihx[41], reply[512];
    hex(ih.v, 20, ihx);
    /* libtorrent announces a torrent it has on its listen port. */
    lt_cmd(w, reply, sizeof reply, "add_torrent 1 %s", ihx);
    bool found = false;
    for (int tries = 0; tries < 80 && !found; tries++) {
        peers_lookup pl = {.want_port = w->lt_ports[1]};
        assert_int_equal(sw__dht_get_peers(w->node.dht, &ih, on_peers, on_lookup_done, &pl), 0);
        assert_true(dfx_run_until(&w->loop, one_done, &pl.done, 20000));
        assert_int_equal(pl.done.status, 0);
        found = pl.found;
        if (!found)
            dfx_run_until(&w->loop, never, NULL, 250); /* keep serving, then ask again */
    }
    assert_true(found);
}

static void test_immutable_we_put(void **state)
{
    world *w = *state;
    if (w->skip)
        skip();
    /* A string: libtorrent's Python binding hands out string items only. */
    static const char value[] = "17:from cswarm's DHT";
    sw_sha1 target;
    done_rec put = {0};
    assert_int_equal(sw__dht_put_immutable(w->node.dht, (const uint8_t *)value, sizeof value - 1,
                                           &target, on_done, &put),
                     0);
    assert_true(dfx_run_until(&w->loop, one_done, &put, 20000));
    assert_int_equal(put.status, 0);
    assert_int_equal(put.stats.stored, LT_NODES);
    char tx[41], reply[4096], want[200];
    hex(target.v, 20, tx);
    hex((const uint8_t *)value, sizeof value - 1, want);
    char *got = lt_cmd(w, reply, sizeof reply, "get_immutable 0 %s 20", tx);
    assert_string_equal(got, want);
}

static void test_immutable_libtorrent_puts(void **state)
{
    world *w = *state;
    if (w->skip)
        skip();
    static const char value[] = "l15:from libtorrenti42ee";
    char vx[100], reply[512];
    hex((const uint8_t *)value, sizeof value - 1, vx);
    char *r = lt_cmd(w, reply, sizeof reply, "put_immutable 1 %s", vx);
    uint8_t t[20];
    assert_int_equal(unhex(r, t, 20), 20);
    assert_true(atoi(r + 41) >= 1);
    sw_sha1 target;
    memcpy(target.v, t, 20);
    item_rec got = {0};
    assert_int_equal(sw__dht_get_immutable(w->node.dht, &target, on_item, &got), 0);
    assert_true(dfx_run_until(&w->loop, item_done, &got, 20000));
    assert_int_equal(got.status, 0);
    assert_true(got.found);
    assert_int_equal(got.v_len, sizeof value - 1);
    assert_memory_equal(got.v, value, got.v_len);
}

/* BEP 44 test vector 1: libtorrent takes the 64-byte expanded secret key. */
#define VEC_SK                                                                                     \
    "e06d3183d14159228433ed599221b80bd0a5ce8352e4bdf0262f76786ef1c74d"                             \
    "b7e7a9fea2c0eb269d61e3b38e450a22e754941ac78479d6c54e1faf6037881d"
#define VEC_PK "77ff84905a91936367c01360803104f92432fcd904a43511876df5cdf3e7e548"

static void test_mutable_libtorrent_puts(void **state)
{
    world *w = *state;
    if (w->skip)
        skip();
    char dx[64], reply[512];
    hex((const uint8_t *)"Hello World!", 12, dx);
    char *r = lt_cmd(w, reply, sizeof reply, "put_mutable 0 %s %s - %s", VEC_SK, VEC_PK, dx);
    int stored = 0, seq = 0;
    assert_int_equal(sscanf(r, "%d %d", &stored, &seq), 2);
    assert_true(stored >= 1);
    assert_int_equal(seq, 1);
    uint8_t pk[32];
    unhex(VEC_PK, pk, 32);
    item_rec got = {0};
    assert_int_equal(sw__dht_get_mutable(w->node.dht, pk, NULL, 0, on_item, &got), 0);
    assert_true(dfx_run_until(&w->loop, item_done, &got, 20000));
    assert_true(got.found);
    assert_int_equal(got.seq, 1);
    assert_int_equal(got.v_len, 15);
    assert_memory_equal(got.v, "12:Hello World!", 15);
}

static void test_mutable_we_put(void **state)
{
    world *w = *state;
    if (w->skip)
        skip();
    uint8_t seed[32], pk[32];
    for (int i = 0; i < 32; i++)
        seed[i] = (uint8_t)(3 * i + 11);
    assert_int_equal(sw__dht_item_public_key(seed, pk), 0);
    static const char salt[] = "cswarm", v1[] = "11:first value", v2[] = "5:again";
    done_rec put = {0};
    assert_int_equal(sw__dht_put_mutable(w->node.dht, seed, (const uint8_t *)salt, 6,
                                         (const uint8_t *)v1, sizeof v1 - 1, -1, on_done, &put),
                     0);
    assert_true(dfx_run_until(&w->loop, one_done, &put, 20000));
    assert_int_equal(put.stats.stored, LT_NODES);
    char pkx[65], saltx[13], reply[512], want[64];
    hex(pk, 32, pkx);
    hex((const uint8_t *)salt, 6, saltx);
    char *r = lt_cmd(w, reply, sizeof reply, "get_mutable 1 %s %s 20", pkx, saltx);
    int seq = 0;
    char vx[200];
    assert_int_equal(sscanf(r, "%d %199s", &seq, vx), 2);
    assert_int_equal(seq, 1);
    hex((const uint8_t *)v1, sizeof v1 - 1, want);
    assert_string_equal(vx, want);
    /* An update: our put reads seq 1 back from libtorrent and writes 2. */
    done_rec put2 = {0};
    assert_int_equal(sw__dht_put_mutable(w->node.dht, seed, (const uint8_t *)salt, 6,
                                         (const uint8_t *)v2, sizeof v2 - 1, -1, on_done, &put2),
                     0);
    assert_true(dfx_run_until(&w->loop, one_done, &put2, 20000));
    assert_int_equal(put2.stats.stored, LT_NODES);
    r = lt_cmd(w, reply, sizeof reply, "get_mutable 0 %s %s 20", pkx, saltx);
    assert_int_equal(sscanf(r, "%d %199s", &seq, vx), 2);
    assert_int_equal(seq, 2);
    hex((const uint8_t *)v2, sizeof v2 - 1, want);
    assert_string_equal(vx, want);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bootstrap_each_other),
        cmocka_unit_test(test_we_announce_libtorrent_finds),
        cmocka_unit_test(test_libtorrent_announces_we_find),
        cmocka_unit_test(test_immutable_we_put),
        cmocka_unit_test(test_immutable_libtorrent_puts),
        cmocka_unit_test(test_mutable_libtorrent_puts),
        cmocka_unit_test(test_mutable_we_put),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
