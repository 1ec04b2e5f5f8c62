/* Torrents added by the URL of their .torrent (add_torrent_params url),
 * against a small HTTP server run by the test on 127.0.0.1: a good URL
 * downloads the file and then the content from a seed; a 404, a body that
 * is not a torrent, a body over max_metadata_size, a redirect loop and a
 * refused connection each leave the torrent in the error state with a
 * torrent_error alert naming the URL; a torrent already in the session is
 * a duplicate; removing the torrent or freeing the session during a slow
 * download cancels it. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <sys/socket.h>

#include <cmocka.h>

#include <cswarm/cswarm.h>

#include "session_fixture.h"

/* ---- a tiny HTTP/1.0 server ---- */

#define MAX_HELD 8

typedef struct http_server {
    int fd;
    uint16_t port;
    pthread_t thread;
    atomic_bool stop;
    atomic_int requests; /* requests read so far */
    atomic_int held;     /* /slow connections held open without an answer */
    atomic_int proxied;  /* requests that came as to an HTTP proxy */
    int held_fds[MAX_HELD];
    const uint8_t *torrent; /* served at /good.torrent */
    size_t torrent_len;
} http_server;

static void send_all(int fd, const void *data, size_t len)
{
    const char *p = data;
    while (len > 0) {
        ssize_t n = send(fd, p, len, MSG_NOSIGNAL);
        if (n <= 0)
            return;
        p += n;
        len -= (size_t)n;
    }
}

static void respond(int fd, const char *status, const char *extra, const void *body, size_t len)
{
    char head[512];
    int n = snprintf(head, sizeof head,
                     "HTTP/1.0 %s\r\nContent-Length: %zu\r\n%sConnection: close\r\n\r\n", status,
                     len, extra ? extra : "");
    send_all(fd, head, (size_t)n);
    if (len)
        send_all(fd, body, len);
}

/* Reads up to the end of the headers; the path goes to path. */
static bool read_request(int fd, char *path, size_t path_len)
{
    char buf[2048];
    size_t got = 0;
    while (got < sizeof buf - 1) {
        struct pollfd pfd = {fd, POLLIN, 0};
        if (poll(&pfd, 1, 5000) <= 0)
            return false;
        ssize_t n = recv(fd, buf + got, sizeof buf - 1 - got, 0);
        if (n <= 0)
            return false;
        got += (size_t)n;
        buf[got] = '\0';
        if (strstr(buf, "\r\n\r\n"))
            break;
    }
    char method[16];
    char fmt[32];
    snprintf(fmt, sizeof fmt, "%%15s %%%zus", path_len - 1);
    return sscanf(buf, fmt, method, path) == 2;
}

static void serve_one(http_server *s, int fd)
{
    char path[256];
    if (!read_request(fd, path, sizeof path)) {
        close(fd);
        return;
    }
    atomic_fetch_add(&s->requests, 1);
    /* Asked as a proxy: the request line holds the whole URL. */
    if (strncmp(path, "http://", 7) == 0) {
        atomic_fetch_add(&s->proxied, 1);
        char *slash = strchr(path + 7, '/');
        memmove(path, slash ? slash : "/", strlen(slash ? slash : "/") + 1);
    }
    if (strcmp(path, "/good.torrent") == 0) {
        respond(fd, "200 OK", "Content-Type: application/x-bittorrent\r\n", s->torrent,
                s->torrent_len);
    } else if (strcmp(path, "/garbage") == 0) {
        static const char junk[] = "<html>this is not a torrent</html>";
        respond(fd, "200 OK", NULL, junk, sizeof junk - 1);
    } else if (strcmp(path, "/big") == 0) {
        size_t len = 64 * 1024;
        char *big = malloc(len);
        if (big) {
            memset(big, 'x', len);
            respond(fd, "200 OK", NULL, big, len);
            free(big);
        }
    } else if (strcmp(path, "/loop") == 0) {
        respond(fd, "302 Found", "Location: /loop\r\n", NULL, 0);
    } else if (strcmp(path, "/to-file") == 0) {
        respond(fd, "302 Found", "Location: file:///etc/hostname\r\n", NULL, 0);
    } else if (strcmp(path, "/slow") == 0) {
        int i = atomic_load(&s->held);
        if (i < MAX_HELD) {
            s->held_fds[i] = fd;
            atomic_store(&s->held, i + 1);
            return; /* never answered; closed when the server stops */
        }
    } else {
        respond(fd, "404 Not Found", NULL, "not here", 8);
    }
    close(fd);
}

static void *server_main(void *arg)
{
    http_server *s = arg;
    while (!atomic_load(&s->stop)) {
        struct pollfd pfd = {s->fd, POLLIN, 0};
        if (poll(&pfd, 1, 20) <= 0)
            continue;
        int c = accept(s->fd, NULL, NULL);
        if (c >= 0)
            serve_one(s, c);
    }
    return NULL;
}

static int listen_loopback(uint16_t *port_out)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    struct sockaddr_in a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
    assert_int_equal(listen(fd, 16), 0);
    socklen_t len = sizeof a;
    assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &len), 0);
    *port_out = ntohs(a.sin_port);
    return fd;
}

/* Heap-allocated: if an assertion ends a test early, the thread keeps
 * running on memory that stays valid. */
static http_server *server_start(const uint8_t *torrent, size_t len)
{
    http_server *s = calloc(1, sizeof *s);
    assert_non_null(s);
    s->torrent = torrent;
    s->torrent_len = len;
    s->fd = listen_loopback(&s->port);
    assert_int_equal(pthread_create(&s->thread, NULL, server_main, s), 0);
    return s;
}

static void server_stop(http_server *s)
{
    atomic_store(&s->stop, true);
    pthread_join(s->thread, NULL);
    for (int i = 0; i < atomic_load(&s->held); i++)
        close(s->held_fds[i]);
    close(s->fd);
    free(s);
}

static void url_of(char *out, size_t len, const http_server *s, const char *path)
{
    snprintf(out, len, "http://127.0.0.1:%u%s", (unsigned)s->port, path);
}

/* ---- helpers ---- */

typedef struct content {
    sfx_dir dir;
    uint8_t *data;
    size_t len;
    uint8_t *torrent; /* the bencoded .torrent */
    size_t torrent_len;
    sw_torrent_info *ti;
} content;

/* A 300000-byte file "url.bin" in a fresh folder and its .torrent. */
static void content_make(content *c)
{
    memset(c, 0, sizeof *c);
    sfx_dir_make(&c->dir);
    c->len = 300000;
    c->data = malloc(c->len);
    assert_non_null(c->data);
    uint32_t x = 12345;
    for (size_t i = 0; i < c->len; i++) {
        x = x * 1103515245u + 12345u;
        c->data[i] = (uint8_t)(x >> 16);
    }
    char path[512];
    snprintf(path, sizeof path, "%s/url.bin", c->dir.path);
    sfx_write_file(path, c->data, c->len);
    sw_create_params cp;
    sw_create_params_init(&cp);
    cp.path = path;
    cp.piece_size = 32768;
    cp.num_threads = 1;
    assert_int_equal(sw_create_torrent(&cp, &c->torrent, &c->torrent_len, NULL), 0);
    assert_int_equal(sw_torrent_info_load(c->torrent, c->torrent_len, NULL, &c->ti, NULL), 0);
}

static void content_free(content *c)
{
    sw_torrent_info_unref(c->ti);
    free(c->torrent);
    free(c->data);
    sfx_dir_remove(&c->dir);
}

static sw_torrent_handle add_url(sw_session *ses, const char *url, const char *dir)
{
    sw_add_torrent_params p;
    sw_add_torrent_params_init(&p);
    p.url = url;
    p.save_path = dir;
    return sfx_add_params(ses, &p);
}

/* Waits for the torrent_error alert of torrent id and checks it. */
static void expect_error(sw_session *ses, sw_torrent_handle h, int error, const char *url)
{
    sw_alert *a = sfx_wait_alert(ses, SW_ALERT_TORRENT_ERROR, h.id, SFX_WAIT_MS);
    assert_non_null(a);
    if (a->error != error)
        fail_msg("%s: error %d (%s), expected %d", url, a->error, a->message, error);
    if (!strstr(a->message, url))
        fail_msg("the message does not name the URL: %s", a->message);
    static const sw_sha1 zero;
    /* No info-hash is known: the alert and the status show none. */
    assert_memory_equal(a->info_hash.v, zero.v, SW_SHA1_LEN);
    sw_alert_free(a);
    sw_torrent_status st = sfx_status(h);
    assert_memory_equal(st.info_hash.v, zero.v, SW_SHA1_LEN);
    assert_int_equal(st.error, error);
    assert_int_equal(st.state, SW_TORRENT_DOWNLOADING_METADATA);
    assert_false(st.is_finished);
}

/* ---- tests ---- */

static void test_url_downloads_and_completes(void **state)
{
    (void)state;
    content c;
    content_make(&c);
    http_server *srv = server_start(c.torrent, c.torrent_len);
    sfx_dir dl;
    sfx_dir_make(&dl);

    sw_session *seeder = sfx_session(0, SW_ALERT_CAT_ALL);
    sfx_add_seeding(seeder, c.ti, c.dir.path);

    sw_session *ses = sfx_session(0, SW_ALERT_CAT_ALL);
    char url[128];
    url_of(url, sizeof url, srv, "/good.torrent");
    sw_torrent_handle h = add_url(ses, url, dl.path);
    assert_true(h.id != 0);

    sw_alert *a = sfx_wait_alert(ses, SW_ALERT_METADATA_RECEIVED, h.id, SFX_WAIT_MS);
    assert_non_null(a);
    /* From here on the torrent carries the file's info-hash and name. */
    assert_memory_equal(a->info_hash.v, sw_torrent_info_hashes(c.ti)->v1.v, SW_SHA1_LEN);
    sw_alert_free(a);
    sw_torrent_status st = sfx_status(h);
    assert_string_equal(st.name, "url.bin");
    assert_int_equal(st.error, 0);
    assert_memory_equal(st.info_hash.v, sw_torrent_info_hashes(c.ti)->v1.v, SW_SHA1_LEN);
    sw_torrent_handle found;
    assert_int_equal(sw_session_find_torrent(ses, &sw_torrent_info_hashes(c.ti)->v1, &found), 0);
    assert_int_equal(found.id, h.id);

    assert_true(sfx_wait_state(h, SW_TORRENT_DOWNLOADING, SFX_WAIT_MS));
    sfx_connect(h, seeder);
    assert_true(sfx_wait_finished(h, SFX_WAIT_MS));
    char path[512];
    snprintf(path, sizeof path, "%s/url.bin", dl.path);
    assert_true(sfx_file_equals(path, c.data, c.len));
    assert_int_equal(atomic_load(&srv->requests), 1);

    sw_session_free(ses);
    sw_session_free(seeder);
    server_stop(srv);
    sfx_dir_remove(&dl);
    content_free(&c);
}

static bool add_alert_for(const sw_alert *a, void *url)
{
    return a->type == SW_ALERT_ADD_TORRENT && a->payload.add_torrent.name &&
           strcmp(a->payload.add_torrent.name, url) == 0;
}

static void test_url_errors(void **state)
{
    (void)state;
    content c;
    content_make(&c);
    http_server *srv = server_start(c.torrent, c.torrent_len);
    sfx_dir dl;
    sfx_dir_make(&dl);
    sw_settings *s = sfx_loopback_settings();
    /* Far below the 64 KiB /big serves, above the good torrent. */
    assert_int_equal(sw_settings_set_int(s, SW_SET_MAX_METADATA_SIZE, 16384), 0);
    sw_session *ses = sfx_session_from(s, 0, SW_ALERT_CAT_ALL, true);

    /* A port nobody listens on: bound, then closed. */
    uint16_t dead_port;
    close(listen_loopback(&dead_port));

    char u404[128], ugarbage[128], ubig[128], uloop[128], urefused[128];
    url_of(u404, sizeof u404, srv, "/missing.torrent");
    url_of(ugarbage, sizeof ugarbage, srv, "/garbage");
    url_of(ubig, sizeof ubig, srv, "/big");
    url_of(uloop, sizeof uloop, srv, "/loop");
    snprintf(urefused, sizeof urefused, "http://127.0.0.1:%u/x.torrent", (unsigned)dead_port);

    sw_torrent_handle h = add_url(ses, u404, dl.path);
    expect_error(ses, h, SW_ERR_HTTP_STATUS, u404);
    assert_non_null(strstr(sfx_status(h).error_message, "404"));
    h = add_url(ses, ugarbage, dl.path);
    expect_error(ses, h, SW_ERR_BENCODE_SYNTAX, ugarbage);
    h = add_url(ses, ubig, dl.path);
    expect_error(ses, h, SW_ERR_HTTP_TOO_LARGE, ubig);
    h = add_url(ses, uloop, dl.path);
    expect_error(ses, h, SW_ERR_HTTP_TOO_MANY_REDIRECTS, uloop);
    h = add_url(ses, urefused, dl.path);
    expect_error(ses, h, SW_ERR_HTTP_CONNECT, urefused);

    /* A redirect may lead only to http or https. */
    char ufile[128];
    url_of(ufile, sizeof ufile, srv, "/to-file");
    h = add_url(ses, ufile, dl.path);
    expect_error(ses, h, SW_ERR_HTTP_BAD_URL, ufile);

    /* The first request plus SW_FETCH_MAX_REDIRECTS (5) follow-ups, and
     * the redirect to file. */
    int before_loop_and_after = atomic_load(&srv->requests);
    assert_int_equal(before_loop_and_after, 3 + 6 + 1);

    /* The same through an asynchronous add: the add_torrent alert names
     * the URL and the handle, the error follows. */
    sw_add_torrent_params ap;
    sw_add_torrent_params_init(&ap);
    ap.url = u404;
    ap.save_path = dl.path;
    assert_int_equal(sw_session_async_add_torrent(ses, &ap), 0);
    sw_alert *added = sfx_wait_alert_if(ses, add_alert_for, u404, SFX_WAIT_MS);
    assert_non_null(added);
    assert_int_equal(added->error, 0);
    sw_torrent_handle ah = {ses, added->torrent_id};
    sw_alert_free(added);
    expect_error(ses, ah, SW_ERR_HTTP_STATUS, u404);

    /* Not http(s): refused at once, nothing added. */
    sw_add_torrent_params p;
    sw_add_torrent_params_init(&p);
    p.url = "ftp://127.0.0.1/x.torrent";
    p.save_path = dl.path;
    sw_torrent_handle bad;
    sw_error_detail err;
    assert_int_equal(sw_session_add_torrent(ses, &p, &bad, &err), SW_ERR_HTTP_BAD_URL);

    /* Every failed torrent can still be removed. */
    sw_torrent_handle *all = NULL;
    size_t n = 0;
    assert_int_equal(sw_session_get_torrents(ses, &all, &n), 0);
    assert_int_equal(n, 7);
    for (size_t i = 0; i < n; i++)
        assert_int_equal(sw_session_remove_torrent(ses, all[i], 0), 0);
    free(all);

    sw_session_free(ses);
    server_stop(srv);
    sfx_dir_remove(&dl);
    content_free(&c);
}

static void test_url_duplicate_is_error(void **state)
{
    (void)state;
    content c;
    content_make(&c);
    http_server *srv = server_start(c.torrent, c.torrent_len);
    sw_session *ses = sfx_session(0, SW_ALERT_CAT_ALL);
    sw_torrent_handle first = sfx_add(ses, c.ti, c.dir.path);
    char url[128];
    url_of(url, sizeof url, srv, "/good.torrent");
    sw_torrent_handle h = add_url(ses, url, c.dir.path);
    assert_true(h.id != first.id);
    expect_error(ses, h, SW_ERR_DUPLICATE_TORRENT, url);
    /* The first one is untouched. */
    assert_true(sfx_wait_state(first, SW_TORRENT_SEEDING, SFX_WAIT_MS));
    sw_session_free(ses);
    server_stop(srv);
    content_free(&c);
}

static bool held_at_least(http_server *s, int n)
{
    uint64_t deadline = sfx_now_ms() + SFX_WAIT_MS;
    while (sfx_now_ms() < deadline) {
        if (atomic_load(&s->held) >= n)
            return true;
        sfx_sleep_ms(5);
    }
    return false;
}

static void test_url_removed_or_shut_down_while_fetching(void **state)
{
    (void)state;
    http_server *srv = server_start(NULL, 0);
    sfx_dir dl;
    sfx_dir_make(&dl);
    sw_session *ses = sfx_session(0, SW_ALERT_CAT_ALL);
    char url[128];
    url_of(url, sizeof url, srv, "/slow");

    sw_torrent_handle h = add_url(ses, url, dl.path);
    sw_torrent_status st = sfx_status(h);
    assert_int_equal(st.state, SW_TORRENT_DOWNLOADING_METADATA);
    assert_int_equal(st.error, 0);
    assert_string_equal(st.name, url);
    static const sw_sha1 zero;
    assert_memory_equal(st.info_hash.v, zero.v, SW_SHA1_LEN);
    assert_true(held_at_least(srv, 1));
    /* No info-hash to announce under yet. */
    assert_int_equal(sw_torrent_add_tracker(h, "http://127.0.0.1:1/announce", 0), SW_ERR_NOT_READY);
    /* Pause and resume while fetching change nothing about the fetch. */
    assert_int_equal(sw_torrent_pause(h), 0);
    assert_int_equal(sw_torrent_resume(h), 0);
    assert_int_equal(sw_session_remove_torrent(ses, h, 0), 0);
    sw_alert *a = sfx_wait_alert(ses, SW_ALERT_TORRENT_REMOVED, h.id, SFX_WAIT_MS);
    assert_non_null(a);
    sw_alert_free(a);
    assert_int_equal(sw_torrent_get_status(h, &st), SW_ERR_INVALID_HANDLE);

    /* A second one is still fetching when the session goes away. */
    h = add_url(ses, url, dl.path);
    assert_true(held_at_least(srv, 2));
    sw_session_free(ses);
    server_stop(srv);
    sfx_dir_remove(&dl);
}

static void test_url_timeout_and_proxy(void **state)
{
    (void)state;
    content c;
    content_make(&c);
    http_server *srv = server_start(c.torrent, c.torrent_len);
    sfx_dir dl;
    sfx_dir_make(&dl);
    sw_settings *s = sfx_loopback_settings();
    /* A second of silence ends the fetch. */
    assert_int_equal(sw_settings_set_int(s, SW_SET_TRACKER_RECEIVE_TIMEOUT, 1), 0);
    sw_session *ses = sfx_session_from(s, 0, SW_ALERT_CAT_ALL, true);
    char url[128];
    url_of(url, sizeof url, srv, "/slow");
    uint64_t t0 = sfx_now_ms();
    sw_torrent_handle h = add_url(ses, url, dl.path);
    expect_error(ses, h, SW_ERR_TIMEOUT, url);
    assert_true(sfx_now_ms() - t0 < 10000);

    /* The tracker proxy settings apply: a host name that cannot resolve
     * works through the (test server as an) HTTP proxy. */
    sw_settings *p = NULL;
    assert_int_equal(sw_session_get_settings(ses, &p), 0);
    assert_int_equal(sw_settings_set_int(p, SW_SET_PROXY_TYPE, SW_PROXY_HTTP), 0);
    assert_int_equal(sw_settings_set_str(p, SW_SET_PROXY_HOSTNAME, "127.0.0.1"), 0);
    assert_int_equal(sw_settings_set_int(p, SW_SET_PROXY_PORT, srv->port), 0);
    assert_int_equal(sw_settings_set_bool(p, SW_SET_PROXY_TRACKER_CONNECTIONS, true), 0);
    assert_int_equal(sw_session_apply_settings(ses, p), 0);
    sw_settings_free(p);
    h = add_url(ses, "http://cswarm-test.invalid/good.torrent", dl.path);
    sw_alert *a = sfx_wait_alert(ses, SW_ALERT_METADATA_RECEIVED, h.id, SFX_WAIT_MS);
    assert_non_null(a);
    sw_alert_free(a);
    assert_int_equal(atomic_load(&srv->proxied), 1);
    assert_string_equal(sfx_status(h).name, "url.bin");

    sw_session_free(ses);
    server_stop(srv);
    sfx_dir_remove(&dl);
    content_free(&c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_url_downloads_and_completes),
        cmocka_unit_test(test_url_errors),
        cmocka_unit_test(test_url_duplicate_is_error),
        cmocka_unit_test(test_url_removed_or_shut_down_while_fetching),
        cmocka_unit_test(test_url_timeout_and_proxy),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
