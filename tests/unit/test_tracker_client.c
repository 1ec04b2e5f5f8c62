/* The tracker client and manager against scripted fake trackers on
 * 127.0.0.1 in the same libuv loop: a UDP tracker that drops, delays, errs
 * or answers with the wrong transaction id (retransmission, connection-id
 * caching and sharing, timeouts, the shared-socket routing), and an HTTP
 * tracker that answers by path (status errors, oversized and silent
 * replies, refusals, warnings, tracker ids, redirects, fail-over between
 * trackers of a tier, and the stopped announce bounded by
 * stop_tracker_timeout). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "tracker/tracker.h"
#include "tracker/tracker_internal.h"
#include "tracker_fixture.h"

#define WAIT_MS 10000

static const uint8_t test_hash[20] = "cswarm-client-test-1";

/* ======================================================================= */
/* A fake UDP tracker                                                      */

typedef struct fake_udp {
    uv_udp_t sock;
    uint16_t port;
    int connects, announces, scrapes;
    int drop_connects;    /* ignore this many connect requests */
    int drop_announces;   /* ignore this many announces */
    bool error_reply;     /* answer announces with an error packet */
    bool wrong_tid_first; /* answer the first announce with another tid, then right */
    bool silent;          /* answer nothing */
    uint64_t conn_id;
    uint64_t connect_times[8];
    /* What the last announce said. */
    uint32_t last_event, last_key;
    int32_t last_num_want;
    uint16_t last_port;
    struct sockaddr_storage last_from;
} fake_udp;

static uint64_t load_be64(const uint8_t *p)
{
    return (uint64_t)sw__load_be32(p) << 32 | sw__load_be32(p + 4);
}

static void store_be64(uint8_t *p, uint64_t v)
{
    sw__store_be32(p, (uint32_t)(v >> 32));
    sw__store_be32(p + 4, (uint32_t)v);
}

static void fake_send(fake_udp *f, const struct sockaddr *to, const uint8_t *buf, size_t len)
{
    uv_buf_t b = uv_buf_init((char *)buf, (unsigned)len);
    assert_true(uv_udp_try_send(&f->sock, &b, 1, to) >= 0);
}

static void fake_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    (void)h;
    static char storage[4096];
    (void)suggested;
    *buf = uv_buf_init(storage, sizeof storage);
}

static void fake_recv(uv_udp_t *h, ssize_t nread, const uv_buf_t *buf, const struct sockaddr *addr,
                      unsigned flags)
{
    (void)flags;
    fake_udp *f = h->data;
    if (nread < 16 || !addr)
        return;
    const uint8_t *p = (const uint8_t *)buf->base;
    memcpy(&f->last_from, addr, sizeof(struct sockaddr_in));
    uint32_t action = sw__load_be32(p + 8);
    uint32_t tid = sw__load_be32(p + 12);
    uint8_t out[64];
    if (action == 0) {
        assert_true(load_be64(p) == SW_UDP_TRACKER_PROTOCOL_ID);
        if (f->connects < 8)
            f->connect_times[f->connects] = uv_now(h->loop);
        f->connects++;
        if (f->silent || f->drop_connects > 0) {
            f->drop_connects--;
            return;
        }
        sw__store_be32(out, 0);
        sw__store_be32(out + 4, tid);
        store_be64(out + 8, f->conn_id);
        fake_send(f, addr, out, 16);
        return;
    }
    if (load_be64(p) != f->conn_id)
        return; /* a real tracker ignores an unknown connection id */
    if (action == 1 && nread >= 98) {
        f->announces++;
        f->last_event = sw__load_be32(p + 80);
        f->last_key = sw__load_be32(p + 88);
        f->last_num_want = (int32_t)sw__load_be32(p + 92);
        f->last_port = sw__load_be16(p + 96);
        if (f->silent || f->drop_announces > 0) {
            f->drop_announces--;
            return;
        }
        if (f->error_reply) {
            sw__store_be32(out, 3);
            sw__store_be32(out + 4, tid);
            memcpy(out + 8, "go away", 7);
            fake_send(f, addr, out, 15);
            return;
        }
        if (f->wrong_tid_first) {
            f->wrong_tid_first = false;
            sw__store_be32(out, 1);
            sw__store_be32(out + 4, tid + 1);
            fake_send(f, addr, out, 20);
        }
        sw__store_be32(out, 1);
        sw__store_be32(out + 4, tid);
        sw__store_be32(out + 8, 900); /* interval */
        sw__store_be32(out + 12, 4);  /* leechers */
        sw__store_be32(out + 16, 5);  /* seeders */
        memcpy(out + 20, "\x0a\x00\x00\x01\x1a\xe1", 6);
        memcpy(out + 26, "\x0a\x00\x00\x02\x1a\xe2", 6);
        fake_send(f, addr, out, 32);
        return;
    }
    if (action == 2 && nread >= 36) {
        f->scrapes++;
        sw__store_be32(out, 2);
        sw__store_be32(out + 4, tid);
        sw__store_be32(out + 8, 7);  /* seeders */
        sw__store_be32(out + 12, 8); /* completed */
        sw__store_be32(out + 16, 9); /* leechers */
        fake_send(f, addr, out, 20);
    }
}

static void fake_udp_open(uv_loop_t *loop, fake_udp *f)
{
    memset(f, 0, sizeof *f);
    f->conn_id = 0x1234567890abcdefull;
    assert_int_equal(uv_udp_init(loop, &f->sock), 0);
    f->sock.data = f;
    struct sockaddr_in a;
    uv_ip4_addr("127.0.0.1", 0, &a);
    assert_int_equal(uv_udp_bind(&f->sock, (const struct sockaddr *)&a, 0), 0);
    int len = sizeof a;
    uv_udp_getsockname(&f->sock, (struct sockaddr *)&a, &len);
    f->port = ntohs(a.sin_port);
    assert_int_equal(uv_udp_recv_start(&f->sock, fake_alloc, fake_recv), 0);
}

static void fake_udp_close(fake_udp *f)
{
    uv_close((uv_handle_t *)&f->sock, NULL);
}

/* ======================================================================= */
/* A fake HTTP tracker                                                     */

typedef struct fake_http fake_http;

typedef struct http_conn {
    uv_tcp_t tcp;
    fake_http *server;
    char req[4096];
    size_t len;
    bool answered;
    struct http_conn *next;
} http_conn;

/* Returns the full HTTP response for a request line, or NULL to never
 * answer (the connection stays open until the server closes). */
typedef const char *(*http_handler)(fake_http *s, const char *request_line);

struct fake_http {
    uv_tcp_t listener;
    uint16_t port;
    http_handler handler;
    int requests;
    char last_request[4096]; /* request line and headers of the last request */
    http_conn *conns;
    char scratch[8192];
};

static void conn_closed(uv_handle_t *h)
{
    free(h->data);
}

static void conn_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    (void)suggested;
    http_conn *c = h->data;
    *buf = uv_buf_init(c->req + c->len, (unsigned)(sizeof c->req - 1 - c->len));
}

static void unlink_conn(http_conn *c)
{
    for (http_conn **p = &c->server->conns; *p; p = &(*p)->next) {
        if (*p == c) {
            *p = c->next;
            return;
        }
    }
}

static void close_conn(http_conn *c)
{
    if (uv_is_closing((uv_handle_t *)&c->tcp))
        return;
    unlink_conn(c);
    uv_close((uv_handle_t *)&c->tcp, conn_closed);
}

typedef struct write_ctx {
    uv_write_t req;
    http_conn *conn;
    char *data;
} write_ctx;

static void on_written(uv_write_t *w, int status)
{
    (void)status;
    write_ctx *ctx = w->data;
    close_conn(ctx->conn);
    free(ctx->data);
    free(ctx);
}

static void conn_read(uv_stream_t *st, ssize_t nread, const uv_buf_t *buf)
{
    (void)buf;
    http_conn *c = st->data;
    if (nread < 0) {
        close_conn(c);
        return;
    }
    c->len += (size_t)nread;
    c->req[c->len] = '\0';
    if (c->answered || !strstr(c->req, "\r\n\r\n"))
        return;
    c->answered = true;
    fake_http *s = c->server;
    s->requests++;
    snprintf(s->last_request, sizeof s->last_request, "%s", c->req);
    char line[2048];
    size_t n = strcspn(c->req, "\r\n");
    if (n >= sizeof line)
        n = sizeof line - 1;
    memcpy(line, c->req, n);
    line[n] = '\0';
    const char *resp = s->handler(s, line);
    if (!resp)
        return; /* hang */
    write_ctx *ctx = malloc(sizeof *ctx);
    ctx->conn = c;
    ctx->data = strdup(resp);
    ctx->req.data = ctx;
    uv_buf_t b = uv_buf_init(ctx->data, (unsigned)strlen(ctx->data));
    assert_int_equal(uv_write(&ctx->req, st, &b, 1, on_written), 0);
}

static void on_connection(uv_stream_t *l, int status)
{
    assert_int_equal(status, 0);
    fake_http *s = l->data;
    http_conn *c = calloc(1, sizeof *c);
    c->server = s;
    uv_tcp_init(l->loop, &c->tcp);
    c->tcp.data = c;
    assert_int_equal(uv_accept(l, (uv_stream_t *)&c->tcp), 0);
    c->next = s->conns;
    s->conns = c;
    uv_read_start((uv_stream_t *)&c->tcp, conn_alloc, conn_read);
}

static void fake_http_open(uv_loop_t *loop, fake_http *s, http_handler h)
{
    memset(s, 0, sizeof *s);
    s->handler = h;
    assert_int_equal(uv_tcp_init(loop, &s->listener), 0);
    s->listener.data = s;
    struct sockaddr_in a;
    uv_ip4_addr("127.0.0.1", 0, &a);
    assert_int_equal(uv_tcp_bind(&s->listener, (const struct sockaddr *)&a, 0), 0);
    assert_int_equal(uv_listen((uv_stream_t *)&s->listener, 16, on_connection), 0);
    int len = sizeof a;
    uv_tcp_getsockname(&s->listener, (struct sockaddr *)&a, &len);
    s->port = ntohs(a.sin_port);
}

static void fake_http_close(fake_http *s)
{
    while (s->conns)
        close_conn(s->conns);
    uv_close((uv_handle_t *)&s->listener, NULL);
}

/* Formats a 200 response around a bencoded body (binary-safe bodies are
 * not needed here: every body is text). */
static const char *ok_body(fake_http *s, const char *body)
{
    snprintf(s->scratch, sizeof s->scratch,
             "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: %zu\r\n"
             "Connection: close\r\n\r\n%s",
             strlen(body), body);
    return s->scratch;
}

static const char *http_routes(fake_http *s, const char *line)
{
    if (strstr(line, "/notfound/"))
        return "HTTP/1.1 404 Not Found\r\nContent-Length: 9\r\nConnection: close\r\n\r\nnot found";
    if (strstr(line, "/big/")) {
        char body[2100];
        memset(body, 'x', 2000);
        body[2000] = '\0';
        return ok_body(s, body);
    }
    if (strstr(line, "/silent/"))
        return NULL;
    if (strstr(line, "/refuse/"))
        return ok_body(s, "d14:failure reason11:banned heree");
    if (strstr(line, "/garbage/"))
        return ok_body(s, "<html>hello</html>");
    if (strstr(line, "/warn/"))
        return ok_body(s, "d8:intervali600e5:peers0:15:warning message9:slow downe");
    if (strstr(line, "/tid/"))
        return ok_body(s, "d8:intervali600e5:peers6:AAAA\x1a\xe1"
                          "10:tracker id5:T-123e");
    if (strstr(line, "/moved/"))
        return "HTTP/1.1 302 Found\r\nLocation: /ok/announce?x=1\r\nContent-Length: 0\r\n"
               "Connection: close\r\n\r\n";
    if (strstr(line, "/nostop/") && strstr(line, "event=stopped"))
        return NULL;
    if (strstr(line, "/scrape"))
        return ok_body(s, "d5:filesd20:cswarm-client-test-1d8:completei3e10:downloadedi4e"
                          "10:incompletei5eeee");
    return ok_body(s, "d8:intervali1800e12:min intervali60e8:completei2e10:incompletei1e"
                      "5:peers12:\x7f\x01\x01\x01\x1a\xe1\x7f\x01\x01\x01\x1a\xe2"
                      "e");
}

/* ======================================================================= */
/* Plumbing                                                                */

typedef struct env {
    uv_loop_t loop;
    sw_settings *settings;
    sw_tracker_client *client;
    fake_udp udp;
    fake_http http;
} env;

static void env_open(env *e, bool own_sockets)
{
    memset(e, 0, sizeof *e);
    assert_int_equal(uv_loop_init(&e->loop), 0);
    assert_int_equal(sw_settings_new(&e->settings), 0);
    fake_udp_open(&e->loop, &e->udp);
    fake_http_open(&e->loop, &e->http, http_routes);
    if (own_sockets) {
        sw_tracker_client_config cfg = {.loop = &e->loop, .settings = e->settings};
        assert_int_equal(sw__tracker_client_new(&cfg, &e->client), 0);
    }
}

static void env_close(env *e)
{
    if (e->client)
        sw__tracker_client_close(e->client, NULL, NULL);
    fake_udp_close(&e->udp);
    fake_http_close(&e->http);
    assert_int_equal(tfx_close_loop(&e->loop, 5000), 0);
    sw_settings_free(e->settings);
}

typedef struct outcome {
    int done;
    int error, http_status;
    char message[256];
    size_t num_peers;
    sw_tracker_peer peers[8];
    int64_t interval, complete, incomplete, downloaded, retry_after;
    char tracker_id[32];
    uint64_t at_ms;
} outcome;

static void on_done(void *user, sw_tracker_job *job, const sw_tracker_result *r)
{
    (void)job;
    outcome *o = user;
    o->done++;
    o->error = r->error;
    o->http_status = r->http_status;
    o->retry_after = r->retry_after_s;
    snprintf(o->message, sizeof o->message, "%s", r->message ? r->message : "");
    if (r->announce) {
        o->num_peers = r->announce->num_peers;
        if (o->num_peers > 8)
            o->num_peers = 8;
        if (o->num_peers)
            memcpy(o->peers, r->announce->peers, o->num_peers * sizeof o->peers[0]);
        o->interval = r->announce->interval;
        o->complete = r->announce->complete;
        o->incomplete = r->announce->incomplete;
        if (r->announce->tracker_id)
            snprintf(o->tracker_id, sizeof o->tracker_id, "%s", r->announce->tracker_id);
    }
    if (r->scrape) {
        o->complete = r->scrape->complete;
        o->incomplete = r->scrape->incomplete;
        o->downloaded = r->scrape->downloaded;
    }
    o->at_ms = uv_now(job->client->loop);
}

static bool is_done(void *arg)
{
    return ((outcome *)arg)->done > 0;
}

static void request(env *e, sw_tracker_request_kind kind, const char *url, int timeout_s,
                    outcome *o)
{
    memset(o, 0, sizeof *o);
    sw_tracker_request req;
    memset(&req, 0, sizeof req);
    req.kind = kind;
    req.url = url;
    req.timeout_s = timeout_s;
    memcpy(req.params.info_hash, test_hash, 20);
    memcpy(req.params.peer_id, "-SW0100-client-test-", 20);
    req.params.port = 6881;
    req.params.left = 100;
    req.params.event = SW_TRACKER_EVENT_STARTED;
    req.params.num_want = 30;
    req.params.key = 0x5eed;
    sw_tracker_job *job;
    assert_int_equal(sw__tracker_client_request(e->client, &req, on_done, o, &job), 0);
    /* Never called back from inside the request call. */
    assert_int_equal(o->done, 0);
}

static void wait_done(env *e, outcome *o)
{
    if (!tfx_run_until(&e->loop, is_done, o, WAIT_MS))
        fail_msg("request did not finish");
    assert_int_equal(o->done, 1);
}

static void udp_url(env *e, char *url, size_t len, const char *host)
{
    snprintf(url, len, "udp://%s:%u/announce", host, (unsigned)e->udp.port);
}

static void http_url(env *e, char *url, size_t len, const char *path)
{
    snprintf(url, len, "http://127.0.0.1:%u/%s/announce", (unsigned)e->http.port, path);
}

/* ======================================================================= */
/* UDP                                                                     */

static void test_udp_announce_and_cache(void **state)
{
    (void)state;
    env e;
    env_open(&e, true);
    char url[128];
    udp_url(&e, url, sizeof url, "127.0.0.1");
    outcome o;
    request(&e, SW_TRACKER_REQ_ANNOUNCE, url, 0, &o);
    wait_done(&e, &o);
    assert_int_equal(o.error, 0);
    assert_int_equal(o.num_peers, 2);
    assert_int_equal(o.peers[1].port, 6882);
    assert_int_equal(o.interval, 900);
    assert_int_equal(o.complete, 5);
    assert_int_equal(o.incomplete, 4);
    assert_int_equal(e.udp.connects, 1);
    assert_int_equal(e.udp.announces, 1);
    assert_int_equal(e.udp.last_event, SW_TRACKER_EVENT_STARTED);
    assert_int_equal(e.udp.last_key, 0x5eed);
    assert_int_equal(e.udp.last_num_want, 30);
    assert_int_equal(e.udp.last_port, 6881);

    /* Within a minute the connection id is reused: no second connect. */
    request(&e, SW_TRACKER_REQ_SCRAPE, url, 0, &o);
    wait_done(&e, &o);
    assert_int_equal(o.error, 0);
    assert_int_equal(o.complete, 7);
    assert_int_equal(o.downloaded, 8);
    assert_int_equal(o.incomplete, 9);
    assert_int_equal(e.udp.connects, 1);
    assert_int_equal(e.udp.scrapes, 1);

    /* Three at once to a host name: one lookup each, one shared connect. */
    e.udp.conn_id++;                                /* the tracker forgot the old id... */
    sw__tracker_client_close(e.client, NULL, NULL); /* ...and so do we */
    sw_tracker_client_config cfg = {.loop = &e.loop, .settings = e.settings};
    assert_int_equal(sw__tracker_client_new(&cfg, &e.client), 0);
    udp_url(&e, url, sizeof url, "localhost");
    outcome three[3];
    for (int i = 0; i < 3; i++)
        request(&e, SW_TRACKER_REQ_ANNOUNCE, url, 0, &three[i]);
    for (int i = 0; i < 3; i++) {
        wait_done(&e, &three[i]);
        assert_int_equal(three[i].error, 0);
        assert_int_equal(three[i].num_peers, 2);
    }
    assert_int_equal(e.udp.connects, 2);
    assert_int_equal(e.udp.announces, 4);
    uint64_t sent, received;
    sw__tracker_client_counters(e.client, &sent, &received);
    assert_int_equal(sent, 16 + 3 * 98);
    assert_int_equal(received, 16 + 3 * 32);
    env_close(&e);
}

static void test_udp_retransmit(void **state)
{
    (void)state;
    env e;
    env_open(&e, true);
    /* Retransmit after 1 s instead of 15. */
    sw_settings_set_int(e.settings, SW_SET_TRACKER_RECEIVE_TIMEOUT, 1);
    char url[128];
    udp_url(&e, url, sizeof url, "127.0.0.1");
    e.udp.drop_connects = 1;
    e.udp.drop_announces = 1;
    e.udp.wrong_tid_first = true;
    outcome o;
    uint64_t start = uv_now(&e.loop);
    request(&e, SW_TRACKER_REQ_ANNOUNCE, url, 10, &o);
    wait_done(&e, &o);
    assert_int_equal(o.error, 0);
    assert_int_equal(o.num_peers, 2);
    assert_int_equal(e.udp.connects, 2);
    assert_int_equal(e.udp.announces, 2);
    /* The second connect came after about a second, not at once. */
    uint64_t gap = e.udp.connect_times[1] - e.udp.connect_times[0];
    assert_true(gap >= 900 && gap < 6000);
    /* connect, 1 s, connect, announce, 1 s, announce: about 2 s. */
    assert_true(o.at_ms - start >= 1800);
    env_close(&e);
}

static void test_udp_timeout_and_error(void **state)
{
    (void)state;
    env e;
    env_open(&e, true);
    sw_settings_set_int(e.settings, SW_SET_TRACKER_RECEIVE_TIMEOUT, 1);
    char url[128];
    udp_url(&e, url, sizeof url, "127.0.0.1");
    e.udp.silent = true;
    outcome o;
    uint64_t start = uv_now(&e.loop);
    request(&e, SW_TRACKER_REQ_ANNOUNCE, url, 2, &o);
    wait_done(&e, &o);
    assert_int_equal(o.error, SW_ERR_TIMEOUT);
    assert_true(o.at_ms - start >= 1900 && o.at_ms - start < 8000);
    /* t = 0 and t = 1 s; at t = 3 s the deadline has passed. */
    assert_int_equal(e.udp.connects, 2);

    e.udp.silent = false;
    e.udp.error_reply = true;
    request(&e, SW_TRACKER_REQ_ANNOUNCE, url, 0, &o);
    wait_done(&e, &o);
    assert_int_equal(o.error, SW_ERR_TRACKER_FAILURE);
    assert_string_equal(o.message, "go away");
    assert_int_equal(e.udp.connects, 3);
    /* The error dropped the cached connection id: the next one connects. */
    e.udp.error_reply = false;
    request(&e, SW_TRACKER_REQ_ANNOUNCE, url, 0, &o);
    wait_done(&e, &o);
    assert_int_equal(o.error, 0);
    assert_int_equal(e.udp.connects, 4);

    /* A port nobody answers on, and a name that does not resolve. */
    sw_tracker_request req;
    memset(&req, 0, sizeof req);
    req.url = "udp://no-such-host.invalid:6969/announce";
    req.timeout_s = 3;
    sw_tracker_job *job;
    memset(&o, 0, sizeof o);
    assert_int_equal(sw__tracker_client_request(e.client, &req, on_done, &o, &job), 0);
    wait_done(&e, &o);
    if (o.error != SW_ERR_TIMEOUT) {                 /* a resolver that never answers */
        assert_true(o.error < 0 && o.error > -4096); /* a libuv UV_EAI_* code */
        assert_non_null(strstr(o.message, "resolve"));
    }

    /* Cancelled requests never call back. */
    memset(&o, 0, sizeof o);
    assert_int_equal(sw__tracker_client_request(e.client, &req, on_done, &o, &job), 0);
    sw__tracker_job_cancel(job);
    req.url = url;
    assert_int_equal(sw__tracker_client_request(e.client, &req, on_done, &o, &job), 0);
    sw__tracker_job_cancel(job);
    outcome sentinel;
    request(&e, SW_TRACKER_REQ_ANNOUNCE, url, 0, &sentinel);
    wait_done(&e, &sentinel);
    assert_int_equal(o.done, 0);

    /* Bad requests fail at once. */
    req.url = "ftp://x/announce";
    assert_int_equal(sw__tracker_client_request(e.client, &req, on_done, &o, &job),
                     SW_ERR_TRACKER_BAD_URL);
    req.url = "udp://[::1:6969/announce";
    assert_int_equal(sw__tracker_client_request(e.client, &req, on_done, &o, &job),
                     SW_ERR_TRACKER_BAD_URL);
    /* A proxy set for trackers is never bypassed by UDP. */
    sw_settings_set_int(e.settings, SW_SET_PROXY_TYPE, SW_PROXY_SOCKS5);
    sw_settings_set_str(e.settings, SW_SET_PROXY_HOSTNAME, "127.0.0.1");
    req.url = url;
    assert_int_equal(sw__tracker_client_request(e.client, &req, on_done, &o, &job),
                     SW_ERR_NOT_SUPPORTED);
    env_close(&e);
}

/* The session's own socket: the client sends through a function, and the
 * session offers it every datagram first. */
typedef struct session_sock {
    uv_udp_t sock;
    sw_tracker_client *client;
    int not_for_tracker;
} session_sock;

static int session_send(void *user, const struct sockaddr *to, const uint8_t *buf, size_t len)
{
    session_sock *s = user;
    uv_buf_t b = uv_buf_init((char *)buf, (unsigned)len);
    int rc = uv_udp_try_send(&s->sock, &b, 1, to);
    return rc < 0 ? rc : 0;
}

static void session_recv(uv_udp_t *h, ssize_t nread, const uv_buf_t *buf,
                         const struct sockaddr *addr, unsigned flags)
{
    (void)flags;
    session_sock *s = h->data;
    if (nread <= 0 || !addr)
        return;
    if (!sw__tracker_client_on_udp_packet(s->client, addr, (const uint8_t *)buf->base,
                                          (size_t)nread))
        s->not_for_tracker++;
}

static bool got_other(void *arg)
{
    return ((session_sock *)arg)->not_for_tracker > 0;
}

static void test_udp_shared_socket(void **state)
{
    (void)state;
    env e;
    env_open(&e, false);
    session_sock s;
    memset(&s, 0, sizeof s);
    assert_int_equal(uv_udp_init(&e.loop, &s.sock), 0);
    s.sock.data = &s;
    struct sockaddr_in a;
    uv_ip4_addr("127.0.0.1", 0, &a);
    assert_int_equal(uv_udp_bind(&s.sock, (const struct sockaddr *)&a, 0), 0);
    assert_int_equal(uv_udp_recv_start(&s.sock, fake_alloc, session_recv), 0);

    sw_tracker_client_config cfg = {.loop = &e.loop,
                                    .settings = e.settings,
                                    .udp_send = session_send,
                                    .udp_user = &s,
                                    .udp_families = SW_TRACKER_FAMILY_V4};
    assert_int_equal(sw__tracker_client_new(&cfg, &e.client), 0);
    s.client = e.client;
    char url[128];
    udp_url(&e, url, sizeof url, "127.0.0.1");
    outcome o;
    request(&e, SW_TRACKER_REQ_ANNOUNCE, url, 0, &o);
    wait_done(&e, &o);
    assert_int_equal(o.error, 0);
    assert_int_equal(o.num_peers, 2);
    assert_int_equal(s.not_for_tracker, 0);

    /* A DHT message and a stale tracker reply are not the tracker's. */
    fake_send(&e.udp, (const struct sockaddr *)&e.udp.last_from,
              (const uint8_t *)"d1:ad2:id20:", 12);
    assert_true(tfx_run_until(&e.loop, got_other, &s, WAIT_MS));
    fake_send(&e.udp, (const struct sockaddr *)&e.udp.last_from,
              (const uint8_t *)"\0\0\0\x01\0\0\0\x07\0\0\0\0\0\0\0\0\0\0\0\0", 20);
    s.not_for_tracker = 0;
    assert_true(tfx_run_until(&e.loop, got_other, &s, WAIT_MS));

    /* No IPv6 transport: an IPv6 tracker is refused at once. */
    sw_tracker_request req;
    memset(&req, 0, sizeof req);
    req.url = "udp://[::1]:6969/announce";
    sw_tracker_job *job;
    assert_int_equal(sw__tracker_client_request(e.client, &req, on_done, &o, &job),
                     SW_ERR_NOT_SUPPORTED);

    /* The same with the session's uv_udp_t handed over directly. */
    sw__tracker_client_close(e.client, NULL, NULL);
    sw_tracker_client_config cfg2 = {.loop = &e.loop, .settings = e.settings, .udp = &s.sock};
    assert_int_equal(sw__tracker_client_new(&cfg2, &e.client), 0);
    s.client = e.client;
    int connects = e.udp.connects;
    request(&e, SW_TRACKER_REQ_SCRAPE, url, 0, &o);
    wait_done(&e, &o);
    assert_int_equal(o.error, 0);
    assert_int_equal(o.complete, 7);
    assert_int_equal(e.udp.connects, connects + 1); /* a new client has no cached id */
    uint64_t sent, received;
    sw__tracker_client_counters(e.client, &sent, &received);
    assert_int_equal(sent, 16 + 36);
    assert_int_equal(received, 16 + 20);

    sw__tracker_client_close(e.client, NULL, NULL);
    e.client = NULL;
    uv_close((uv_handle_t *)&s.sock, NULL);
    env_close(&e);
}

/* ======================================================================= */
/* HTTP                                                                    */

static void test_http_errors(void **state)
{
    (void)state;
    env e;
    env_open(&e, true);
    char url[128];
    outcome o;

    http_url(&e, url, sizeof url, "ok");
    request(&e, SW_TRACKER_REQ_ANNOUNCE, url, 0, &o);
    wait_done(&e, &o);
    assert_int_equal(o.error, 0);
    assert_int_equal(o.http_status, 200);
    assert_int_equal(o.num_peers, 2);
    assert_non_null(strstr(e.http.last_request, "GET /ok/announce?info_hash=cswarm-client-test-1"
                                                "&peer_id=-SW0100-client-test-&port=6881"));
    assert_non_null(strstr(e.http.last_request, "&event=started&numwant=30&key=00005EED "));
    assert_non_null(strstr(e.http.last_request, "User-Agent: cswarm/"));

    http_url(&e, url, sizeof url, "notfound");
    request(&e, SW_TRACKER_REQ_ANNOUNCE, url, 0, &o);
    wait_done(&e, &o);
    assert_int_equal(o.error, SW_ERR_TRACKER_HTTP_STATUS);
    assert_int_equal(o.http_status, 404);

    http_url(&e, url, sizeof url, "refuse");
    request(&e, SW_TRACKER_REQ_ANNOUNCE, url, 0, &o);
    wait_done(&e, &o);
    assert_int_equal(o.error, SW_ERR_TRACKER_FAILURE);
    assert_int_equal(o.http_status, 200);
    assert_string_equal(o.message, "banned here");

    http_url(&e, url, sizeof url, "garbage");
    request(&e, SW_TRACKER_REQ_ANNOUNCE, url, 0, &o);
    wait_done(&e, &o);
    assert_int_equal(o.error, SW_ERR_TRACKER_BAD_RESPONSE);
    assert_non_null(strstr(o.message, "not bencoded"));

    sw_settings_set_int(e.settings, SW_SET_TRACKER_MAXIMUM_RESPONSE_LENGTH, 1000);
    http_url(&e, url, sizeof url, "big");
    request(&e, SW_TRACKER_REQ_ANNOUNCE, url, 0, &o);
    wait_done(&e, &o);
    assert_int_equal(o.error, SW_ERR_TRACKER_RESPONSE_TOO_LARGE);

    sw_settings_set_int(e.settings, SW_SET_TRACKER_RECEIVE_TIMEOUT, 1);
    http_url(&e, url, sizeof url, "silent");
    uint64_t start = uv_now(&e.loop);
    request(&e, SW_TRACKER_REQ_ANNOUNCE, url, 0, &o);
    wait_done(&e, &o);
    assert_int_equal(o.error, SW_ERR_TIMEOUT);
    assert_true(o.at_ms - start < 8000);

    http_url(&e, url, sizeof url, "moved");
    request(&e, SW_TRACKER_REQ_ANNOUNCE, url, 0, &o);
    wait_done(&e, &o);
    assert_int_equal(o.error, 0);
    assert_int_equal(o.num_peers, 2);
    assert_non_null(strstr(e.http.last_request, "GET /ok/announce?x=1 "));

    http_url(&e, url, sizeof url, "tid");
    request(&e, SW_TRACKER_REQ_ANNOUNCE, url, 0, &o);
    wait_done(&e, &o);
    assert_int_equal(o.error, 0);
    assert_string_equal(o.tracker_id, "T-123");

    http_url(&e, url, sizeof url, "ok");
    request(&e, SW_TRACKER_REQ_SCRAPE, url, 0, &o);
    wait_done(&e, &o);
    assert_int_equal(o.error, 0);
    assert_int_equal(o.complete, 3);
    assert_int_equal(o.downloaded, 4);
    assert_int_equal(o.incomplete, 5);
    assert_non_null(strstr(e.http.last_request, "GET /ok/scrape?info_hash=cswarm-client-test-1 "));

    /* Nobody listening: the port of a closed listener. */
    uv_tcp_t probe;
    uv_tcp_init(&e.loop, &probe);
    struct sockaddr_in a;
    uv_ip4_addr("127.0.0.1", 0, &a);
    uv_tcp_bind(&probe, (const struct sockaddr *)&a, 0);
    int alen = sizeof a;
    uv_tcp_getsockname(&probe, (struct sockaddr *)&a, &alen);
    uv_close((uv_handle_t *)&probe, NULL);
    snprintf(url, sizeof url, "http://127.0.0.1:%u/announce", (unsigned)ntohs(a.sin_port));
    request(&e, SW_TRACKER_REQ_ANNOUNCE, url, 0, &o);
    wait_done(&e, &o);
    assert_int_equal(o.error, SW_ERR_TRACKER_CONNECT);
    assert_true(strlen(o.message) > 0);

    /* An announce URL with no scrape counterpart. */
    sw_tracker_request req;
    memset(&req, 0, sizeof req);
    req.kind = SW_TRACKER_REQ_SCRAPE;
    req.url = "http://127.0.0.1:1/tracker.php";
    sw_tracker_job *job;
    assert_int_equal(sw__tracker_client_request(e.client, &req, on_done, &o, &job),
                     SW_ERR_TRACKER_NO_SCRAPE);

    /* Closing the client with requests in flight calls nobody back. */
    http_url(&e, url, sizeof url, "silent");
    request(&e, SW_TRACKER_REQ_ANNOUNCE, url, 0, &o);
    udp_url(&e, url, sizeof url, "localhost");
    outcome o2;
    request(&e, SW_TRACKER_REQ_ANNOUNCE, url, 0, &o2);
    env_close(&e);
    assert_int_equal(o.done + o2.done, 0);
}

/* HTTPS through an openssl s_server with a self-signed certificate: refused
 * while validate_https_trackers is on, reached when it is off (s_server's
 * status page then is not a tracker response). */
typedef struct tls_server {
    char dir[128];
    tfx_process proc;
    uint16_t port;
} tls_server;

static int tls_setup(void **state)
{
    if (!tfx_have_program("openssl"))
        return 0; /* the test skips */
    tls_server *t = calloc(1, sizeof *t);
    *state = t;
    if (tfx_make_temp_dir(t->dir, sizeof t->dir) != 0)
        return -1;
    char *gen[] = {"openssl",
                   "req",
                   "-x509",
                   "-newkey",
                   "ec",
                   "-pkeyopt",
                   "ec_paramgen_curve:prime256v1",
                   "-nodes",
                   "-keyout",
                   "key.pem",
                   "-out",
                   "cert.pem",
                   "-days",
                   "1",
                   "-subj",
                   "/CN=127.0.0.1",
                   NULL};
    if (tfx_run(t->dir, gen) != 0)
        return -1;
    for (int tries = 0; tries < 5; tries++) {
        t->port = tfx_free_port();
        char accept[32];
        snprintf(accept, sizeof accept, "127.0.0.1:%u", (unsigned)t->port);
        char *srv[] = {"openssl", "s_server", "-accept", accept,   "-cert", "cert.pem",
                       "-key",    "key.pem",  "-www",    "-quiet", NULL};
        if (t->port && tfx_spawn(&t->proc, t->dir, srv, t->port) == 0)
            return 0;
    }
    return -1;
}

static int tls_teardown(void **state)
{
    tls_server *t = *state;
    if (t) {
        tfx_kill(&t->proc);
        tfx_remove_dir(t->dir);
        free(t);
    }
    return 0;
}

static void test_https_validation(void **state)
{
    tls_server *t = *state;
    if (!t)
        skip();
    env e;
    env_open(&e, true);
    char url[128];
    snprintf(url, sizeof url, "https://127.0.0.1:%u/announce", (unsigned)t->port);
    outcome o;
    request(&e, SW_TRACKER_REQ_ANNOUNCE, url, 0, &o);
    wait_done(&e, &o);
    assert_int_equal(o.error, SW_ERR_TRACKER_CONNECT);
    assert_non_null(strstr(o.message, "certificate"));

    sw_settings_set_bool(e.settings, SW_SET_VALIDATE_HTTPS_TRACKERS, false);
    request(&e, SW_TRACKER_REQ_ANNOUNCE, url, 0, &o);
    wait_done(&e, &o);
    assert_int_equal(o.error, SW_ERR_TRACKER_BAD_RESPONSE);
    assert_int_equal(o.http_status, 200);
    assert_non_null(strstr(o.message, "not bencoded"));
    env_close(&e);
}

/* ======================================================================= */
/* The manager with fake trackers                                          */

static bool http_requested(void *arg)
{
    void **a = arg;
    return ((fake_http *)a[0])->requests >= (intptr_t)a[1];
}

static bool replied(void *arg)
{
    return ((tfx_peer *)arg)->replies > 0;
}

static bool replied_twice(void *arg)
{
    return ((tfx_peer *)arg)->replies >= 2;
}

static void test_manager_failover_and_warning(void **state)
{
    (void)state;
    env e;
    env_open(&e, true);
    char bad[128], good[128], warn[128];
    http_url(&e, bad, sizeof bad, "notfound");
    http_url(&e, good, sizeof good, "tid");
    http_url(&e, warn, sizeof warn, "warn");
    tfx_peer p;
    assert_int_equal(tfx_peer_init(&p, e.client, test_hash, 7000, 10, 1), 0);
    assert_int_equal(sw__tracker_manager_add_tracker(p.m, bad, 0, SW_TRACKER_SOURCE_TORRENT), 0);
    assert_int_equal(sw__tracker_manager_add_tracker(p.m, good, 0, SW_TRACKER_SOURCE_TORRENT), 0);
    assert_int_equal(sw__tracker_manager_add_tracker(p.m, warn, 1, SW_TRACKER_SOURCE_TORRENT), 0);
    assert_int_equal(sw__tracker_manager_add_tracker(p.m, good, 1, SW_TRACKER_SOURCE_TORRENT),
                     SW_ERR_EXISTS);
    /* Put the failing one first, whatever the shuffle did. */
    sw_announce_list *l = (sw_announce_list *)sw__tracker_manager_list(p.m);
    if (strcmp(l->v[0].url, bad) != 0) {
        sw_tracker_entry t = l->v[0];
        l->v[0] = l->v[1];
        l->v[1] = t;
    }
    sw__tracker_manager_start(p.m);
    assert_int_equal(p.announces, 0); /* nothing from inside start() */
    assert_true(tfx_run_until(&e.loop, replied, &p, WAIT_MS));
    /* bad failed, good was tried right after and answered; tier 1 idle. */
    assert_int_equal(p.errors, 1);
    assert_int_equal(p.last_error, SW_ERR_TRACKER_HTTP_STATUS);
    assert_int_equal(p.last_status, 404);
    assert_int_equal(p.times_in_row, 1);
    assert_int_equal(p.announces, 2);
    assert_int_equal(p.warnings, 0);
    assert_string_equal(l->v[0].url, good);
    assert_string_equal(l->v[1].url, bad);
    assert_string_equal(l->v[0].tracker_id, "T-123");
    assert_int_equal(l->v[0].interval, 600);
    assert_int_equal(l->v[1].fails, 1);
    assert_int_equal(l->v[1].last_status, 404);
    assert_int_equal(l->v[2].last_num_peers, -1);
    assert_int_equal(p.num_peers, 1);

    /* The tracker id goes back with the next announce. */
    sw__tracker_manager_force_reannounce(p.m, 0);
    p.replies = 0;
    assert_true(tfx_run_until(&e.loop, replied, &p, WAIT_MS));
    assert_non_null(strstr(e.http.last_request, "&trackerid=T-123"));
    assert_null(strstr(e.http.last_request, "event="));

    /* With announce_to_all_tiers the tier-1 tracker is used too; its
     * warning comes as a notice before the reply. */
    sw_settings_set_bool(e.settings, SW_SET_ANNOUNCE_TO_ALL_TIERS, true);
    p.replies = 0;
    sw__tracker_manager_force_reannounce(p.m, -1);
    assert_true(tfx_run_until(&e.loop, replied_twice, &p, WAIT_MS));
    assert_int_equal(p.warnings, 1);
    assert_string_equal(p.last_message, "slow down");
    assert_string_equal(l->v[2].warning, "slow down");

    /* Removing a tracker with a request in flight: no callback for it. */
    char silent[128];
    http_url(&e, silent, sizeof silent, "silent");
    assert_int_equal(sw__tracker_manager_add_tracker(p.m, silent, 2, SW_TRACKER_SOURCE_CLIENT), 0);
    int requests = e.http.requests;
    int announces = p.announces;
    sw__tracker_manager_force_reannounce(p.m, 3);
    void *arg[2] = {&e.http, (void *)(intptr_t)(requests + 1)};
    assert_true(tfx_run_until(&e.loop, http_requested, arg, WAIT_MS));
    assert_int_equal(p.announces, announces + 1);
    assert_true(l->v[3].updating);
    int errors = p.errors;
    assert_int_equal(sw__tracker_manager_remove_tracker(p.m, 3), 0);
    assert_int_equal(l->n, 3);
    assert_int_equal(sw__tracker_manager_remove_tracker(p.m, 3), SW_ERR_INVALID_ARG);
    sw_settings_set_int(e.settings, SW_SET_TRACKER_RECEIVE_TIMEOUT, 1);
    outcome o;
    request(&e, SW_TRACKER_REQ_ANNOUNCE, silent, 2, &o); /* outlives the old one's timeout */
    wait_done(&e, &o);
    assert_int_equal(p.errors, errors);

    sw__tracker_manager_close(p.m, NULL, NULL);
    env_close(&e);
}

static bool stop_done(void *arg)
{
    return ((tfx_peer *)arg)->stops_done > 0;
}

static void count_stop(void *user)
{
    ((tfx_peer *)user)->stops_done++;
}

static void test_manager_stop_timeout(void **state)
{
    (void)state;
    env e;
    env_open(&e, true);
    sw_settings_set_int(e.settings, SW_SET_STOP_TRACKER_TIMEOUT, 1);
    char url[128], udp[128];
    http_url(&e, url, sizeof url, "nostop");
    udp_url(&e, udp, sizeof udp, "127.0.0.1");
    tfx_peer p;
    assert_int_equal(tfx_peer_init(&p, e.client, test_hash, 7001, 10, 2), 0);
    assert_int_equal(sw__tracker_manager_add_tracker(p.m, url, 0, SW_TRACKER_SOURCE_TORRENT), 0);
    assert_int_equal(sw__tracker_manager_add_tracker(p.m, udp, 0, SW_TRACKER_SOURCE_TORRENT), 0);
    sw_settings_set_bool(e.settings, SW_SET_ANNOUNCE_TO_ALL_TRACKERS, true);
    sw__tracker_manager_start(p.m);
    assert_true(tfx_run_until(&e.loop, replied_twice, &p, WAIT_MS)); /* both answered */

    /* The HTTP tracker never answers "stopped": the wait ends after
     * stop_tracker_timeout; the UDP one hears it. */
    uint64_t start = uv_now(&e.loop);
    assert_int_equal(sw__tracker_manager_stop(p.m, count_stop, &p), 0);
    assert_int_equal(p.stops_done, 0);
    assert_true(tfx_run_until(&e.loop, stop_done, &p, WAIT_MS));
    uint64_t took = uv_now(&e.loop) - start;
    assert_true(took >= 900 && took < 6000);
    assert_int_equal(e.udp.last_event, SW_TRACKER_EVENT_STOPPED);
    assert_int_equal(e.udp.last_num_want, 0);
    assert_non_null(strstr(e.http.last_request, "event=stopped"));

    /* Nothing owed: a second stop finishes on the next loop turn. */
    p.stops_done = 0;
    assert_int_equal(sw__tracker_manager_stop(p.m, count_stop, &p), 0);
    assert_int_equal(p.stops_done, 0);
    assert_true(tfx_run_until(&e.loop, stop_done, &p, WAIT_MS));

    /* Start again: "started" again. */
    int before = e.udp.announces;
    p.replies = 0;
    sw__tracker_manager_start(p.m);
    assert_true(tfx_run_until(&e.loop, replied, &p, WAIT_MS));
    assert_true(e.udp.announces > before);

    /* Closing while stopping: done is never called. */
    p.stops_done = 0;
    assert_int_equal(sw__tracker_manager_stop(p.m, count_stop, &p), 0);
    sw__tracker_manager_close(p.m, NULL, NULL);
    env_close(&e);
    assert_int_equal(p.stops_done, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_udp_announce_and_cache),
        cmocka_unit_test(test_udp_retransmit),
        cmocka_unit_test(test_udp_timeout_and_error),
        cmocka_unit_test(test_udp_shared_socket),
        cmocka_unit_test(test_http_errors),
        cmocka_unit_test_setup_teardown(test_https_validation, tls_setup, tls_teardown),
        cmocka_unit_test(test_manager_failover_and_warning),
        cmocka_unit_test(test_manager_stop_timeout),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
