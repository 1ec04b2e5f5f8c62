/* Torrent modes on loopback through the public API: super seeding (BEP 16)
 * watched by raw peers that record every HAVE, and cswarm leechers
 * completing from a super seeder; upload mode (no request reaches a raw seed
 * while in it, and a full disk enters it); share mode (fetches one piece
 * that enough peers lack, serves it, and only then another); sequential
 * download (a raw seed sees requests in piece order). */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include <cmocka.h>

#include <cswarm/cswarm.h>

#include "disk_fixture.h"

#define WAIT_MS 20000
#define PIECE 16384
#define NPIECES 8

/* ---- helpers ---- */

typedef struct tmpdir {
    char path[256];
} tmpdir;

static void tmpdir_make(tmpdir *d)
{
    snprintf(d->path, sizeof d->path, "/tmp/sw-modes-test-XXXXXX");
    assert_non_null(mkdtemp(d->path));
}

static void tmpdir_remove(tmpdir *d)
{
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", d->path);
    assert_int_equal(system(cmd), 0);
}

static uint64_t now_ms(void)
{
    struct timeval tv;
    gettimeofday(&tv, NULL);
    return (uint64_t)tv.tv_sec * 1000 + (uint64_t)tv.tv_usec / 1000;
}

static void write_file(const char *path, const uint8_t *data, size_t len)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(data, 1, len, f), len);
    fclose(f);
}

static bool file_equals(const char *path, const uint8_t *data, size_t len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return false;
    uint8_t *buf = malloc(len + 1);
    size_t got = fread(buf, 1, len + 1, f);
    fclose(f);
    bool same = got == len && memcmp(buf, data, len) == 0;
    free(buf);
    return same;
}

static sw_session *new_session(void)
{
    sw_settings *s;
    assert_int_equal(sw_settings_new(&s), 0);
    assert_int_equal(sw_settings_set_str(s, SW_SET_LISTEN_INTERFACES, "127.0.0.1:0"), 0);
    assert_int_equal(sw_settings_set_bool(s, SW_SET_ENABLE_DHT, false), 0);
    assert_int_equal(sw_settings_set_bool(s, SW_SET_ENABLE_LSD, false), 0);
    assert_int_equal(sw_settings_set_bool(s, SW_SET_ENABLE_UPNP, false), 0);
    assert_int_equal(sw_settings_set_bool(s, SW_SET_ENABLE_NATPMP, false), 0);
    assert_int_equal(sw_settings_set_int(s, SW_SET_AIO_THREADS, 2), 0);
    sw_session_params p;
    sw_session_params_init(&p);
    p.settings = s;
    p.alert_mask = SW_ALERT_CAT_ALL;
    p.flags = 0;
    sw_session *ses = NULL;
    assert_int_equal(sw_session_new(&p, &ses), 0);
    sw_settings_free(s);
    assert_int_equal(sw_session_listen_on(ses, 0, 0, "127.0.0.1", 0), 0);
    return ses;
}

static void set_int(sw_session *ses, sw_setting_id id, int v)
{
    sw_settings *s;
    assert_int_equal(sw_session_get_settings(ses, &s), 0);
    assert_int_equal(sw_settings_set_int(s, id, v), 0);
    assert_int_equal(sw_session_apply_settings(ses, s), 0);
    sw_settings_free(s);
}

static void set_bool(sw_session *ses, sw_setting_id id, bool v)
{
    sw_settings *s;
    assert_int_equal(sw_session_get_settings(ses, &s), 0);
    assert_int_equal(sw_settings_set_bool(s, id, v), 0);
    assert_int_equal(sw_session_apply_settings(ses, s), 0);
    sw_settings_free(s);
}

static sw_alert *wait_alert(sw_session *ses, sw_alert_type type, uint64_t id, int timeout_ms)
{
    uint64_t deadline = now_ms() + (uint64_t)timeout_ms;
    while (now_ms() < deadline) {
        sw_session_wait_for_alert(ses, 50);
        sw_alert *a;
        while (sw_session_pop_alert(ses, &a) == 0 && a) {
            if (a->type == type && (id == 0 || a->torrent_id == id))
                return a;
            sw_alert_free(a);
        }
    }
    return NULL;
}

static sw_torrent_handle add_flags(sw_session *ses, sw_torrent_info *ti, const char *dir,
                                   uint64_t flags)
{
    sw_add_torrent_params p;
    sw_add_torrent_params_init(&p);
    p.ti = ti;
    p.save_path = dir;
    p.flags |= flags;
    sw_torrent_handle h;
    sw_error_detail err;
    int rc = sw_session_add_torrent(ses, &p, &h, &err);
    if (rc != 0)
        fail_msg("add_torrent: %s", err.message);
    return h;
}

static sw_torrent_status status_of(sw_torrent_handle h)
{
    sw_torrent_status st;
    assert_int_equal(sw_torrent_get_status(h, &st), 0);
    return st;
}

static bool wait_state(sw_torrent_handle h, sw_torrent_state state, int timeout_ms)
{
    uint64_t deadline = now_ms() + (uint64_t)timeout_ms;
    while (now_ms() < deadline) {
        sw_torrent_status st = status_of(h);
        if (st.state == state && !st.error)
            return true;
        usleep(20000);
    }
    return false;
}

static bool wait_pieces(sw_torrent_handle h, int n, int timeout_ms)
{
    uint64_t deadline = now_ms() + (uint64_t)timeout_ms;
    while (now_ms() < deadline) {
        if (status_of(h).num_pieces >= n)
            return true;
        usleep(20000);
    }
    return false;
}

static uint16_t port_of(sw_session *ses)
{
    uint16_t port = 0;
    assert_int_equal(sw_session_listen_port(ses, &port), 0);
    assert_true(port > 0);
    return port;
}

/* One 8-piece single-file torrent and a folder holding its data. */
typedef struct fixture {
    fx_torrent t;
    tmpdir seed_dir;
    char file[300];
} fixture;

static const fx_file one_file[] = {{"blob.bin", (int64_t)NPIECES *PIECE, false}};

static void fixture_setup(fixture *f)
{
    memset(f, 0, sizeof *f);
    assert_int_equal(fx_make_torrent(&f->t, "blob.bin", one_file, 1, PIECE, 11, true), 0);
    tmpdir_make(&f->seed_dir);
    snprintf(f->file, sizeof f->file, "%s/blob.bin", f->seed_dir.path);
    write_file(f->file, f->t.data, (size_t)f->t.total);
}

static void fixture_teardown(fixture *f)
{
    tmpdir_remove(&f->seed_dir);
    fx_torrent_free(&f->t);
}

/* ---- a raw peer speaking just enough of the wire protocol ---- */

enum {
    MSG_CHOKE = 0,
    MSG_UNCHOKE = 1,
    MSG_INTERESTED = 2,
    MSG_HAVE = 4,
    MSG_BITFIELD = 5,
    MSG_REQUEST = 6,
    MSG_PIECE = 7,
    MSG_HAVE_ALL = 14,
    MSG_HAVE_NONE = 15,
    MSG_REJECT = 16,
};

typedef struct raw_msg {
    int id; /* -1: timeout or closed */
    uint8_t data[PIECE + 16];
    uint32_t len;
} raw_msg;

static void set_timeout(int fd, int ms)
{
    struct timeval tv = {ms / 1000, (ms % 1000) * 1000};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
}

static bool read_full(int fd, void *buf, size_t n)
{
    uint8_t *p = buf;
    while (n > 0) {
        ssize_t r = recv(fd, p, n, 0);
        if (r <= 0)
            return false;
        p += r;
        n -= (size_t)r;
    }
    return true;
}

static void send_full(int fd, const void *buf, size_t n)
{
    assert_int_equal(send(fd, buf, n, MSG_NOSIGNAL), (ssize_t)n);
}

static void put32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

static uint32_t get32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void send_handshake(int fd, const sw_torrent_info *ti, char tag)
{
    uint8_t hs[68] = {19};
    memcpy(hs + 1, "BitTorrent protocol", 19);
    hs[27] = 0x04; /* fast extension */
    memcpy(hs + 28, sw_torrent_info_hashes(ti)->v1.v, 20);
    memcpy(hs + 48, "-RW0001-raw-peer-000", 20);
    hs[67] = (uint8_t)tag;
    send_full(fd, hs, sizeof hs);
}

static void read_handshake(int fd)
{
    uint8_t hs[68];
    assert_true(read_full(fd, hs, sizeof hs));
    assert_int_equal(hs[0], 19);
}

/* Connects to a session as a peer of ti and exchanges handshakes. */
static int raw_connect(uint16_t port, const sw_torrent_info *ti, char tag)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(port)};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof sa), 0);
    set_timeout(fd, 5000);
    send_handshake(fd, ti, tag);
    read_handshake(fd);
    return fd;
}

/* The next message other than a keep-alive, waiting up to ms. */
static void raw_next(int fd, int ms, raw_msg *m)
{
    set_timeout(fd, ms);
    m->id = -1;
    for (;;) {
        uint8_t hdr[4];
        if (!read_full(fd, hdr, 4))
            return;
        uint32_t len = get32(hdr);
        if (len == 0)
            continue;
        uint8_t id;
        if (!read_full(fd, &id, 1))
            return;
        len--;
        if (len > sizeof m->data)
            return;
        if (len && !read_full(fd, m->data, len))
            return;
        m->id = id;
        m->len = len;
        return;
    }
}

/* Waits up to ms for a message of kind id, skipping others; false on
 * timeout. HAVEs seen on the way are appended to haves (may be NULL). */
static bool raw_wait(int fd, int id, int ms, raw_msg *m, int *haves, int *nhaves)
{
    uint64_t deadline = now_ms() + (uint64_t)ms;
    while (now_ms() < deadline) {
        raw_next(fd, (int)(deadline - now_ms()) + 1, m);
        if (m->id < 0)
            return false;
        if (m->id == MSG_HAVE && haves)
            haves[(*nhaves)++] = (int)get32(m->data);
        if (m->id == id)
            return true;
    }
    return false;
}

static void raw_send_index(int fd, int id, uint32_t index)
{
    uint8_t b[9];
    put32(b, 5);
    b[4] = (uint8_t)id;
    put32(b + 5, index);
    send_full(fd, b, sizeof b);
}

static void raw_send_simple(int fd, int id)
{
    uint8_t b[5];
    put32(b, 1);
    b[4] = (uint8_t)id;
    send_full(fd, b, sizeof b);
}

static void raw_send_request(int fd, uint32_t index, uint32_t begin, uint32_t len)
{
    uint8_t b[17];
    put32(b, 13);
    b[4] = MSG_REQUEST;
    put32(b + 5, index);
    put32(b + 9, begin);
    put32(b + 13, len);
    send_full(fd, b, sizeof b);
}

/* ---- super seeding ---- */

typedef struct watcher {
    int fd;
    int haves[64];
    int nhaves;
} watcher;

/* A raw peer joins a super seeder: it must be greeted with have_none and
 * shown exactly one piece. */
static void watcher_join(watcher *w, uint16_t port, const sw_torrent_info *ti, char tag)
{
    memset(w, 0, sizeof *w);
    w->fd = raw_connect(port, ti, tag);
    raw_msg *m = malloc(sizeof *m);
    bool saw_none = false;
    for (;;) {
        raw_next(w->fd, 5000, m);
        assert_true(m->id >= 0);
        assert_int_not_equal(m->id, MSG_BITFIELD);
        assert_int_not_equal(m->id, MSG_HAVE_ALL);
        if (m->id == MSG_HAVE_NONE)
            saw_none = true;
        if (m->id == MSG_HAVE) {
            w->haves[w->nhaves++] = (int)get32(m->data);
            break;
        }
    }
    assert_true(saw_none);
    /* One piece only: nothing more comes unprompted. */
    raw_next(w->fd, 300, m);
    assert_true(m->id != MSG_HAVE);
    free(m);
}

/* Reads for ms and appends any HAVE. */
static void watcher_listen(watcher *w, int ms)
{
    raw_msg *m = malloc(sizeof *m);
    uint64_t deadline = now_ms() + (uint64_t)ms;
    while (now_ms() < deadline) {
        raw_next(w->fd, (int)(deadline - now_ms()) + 1, m);
        if (m->id < 0)
            break;
        if (m->id == MSG_HAVE)
            w->haves[w->nhaves++] = (int)get32(m->data);
    }
    free(m);
}

static bool wait_super_seeding(sw_torrent_handle h)
{
    uint64_t deadline = now_ms() + WAIT_MS;
    while (now_ms() < deadline) {
        if (status_of(h).super_seeding)
            return true;
        usleep(20000);
    }
    return false;
}

static void test_super_seed_raw_peers(void **state)
{
    (void)state;
    fixture f;
    fixture_setup(&f);
    sw_session *ses = new_session();
    sw_torrent_handle h = add_flags(ses, f.t.ti, f.seed_dir.path, SW_ADD_SUPER_SEEDING);
    assert_true(wait_state(h, SW_TORRENT_SEEDING, WAIT_MS));
    assert_true(wait_super_seeding(h));
    uint16_t port = port_of(ses);

    /* Three peers, three different pieces: each piece goes to one peer. */
    watcher w[3];
    for (int i = 0; i < 3; i++)
        watcher_join(&w[i], port, f.t.ti, (char)('a' + i));
    int pa = w[0].haves[0], pb = w[1].haves[0], pc = w[2].haves[0];
    assert_true(pa != pb && pb != pc && pa != pc);

    /* A piece it was not shown is refused; the shown one is served. */
    raw_msg *m = malloc(sizeof *m);
    raw_send_simple(w[0].fd, MSG_INTERESTED);
    assert_true(raw_wait(w[0].fd, MSG_UNCHOKE, 5000, m, NULL, NULL));
    int hidden = (pa + 1) % NPIECES;
    while (hidden == pb || hidden == pc)
        hidden = (hidden + 1) % NPIECES;
    raw_send_request(w[0].fd, (uint32_t)hidden, 0, PIECE);
    assert_true(raw_wait(w[0].fd, MSG_REJECT, 5000, m, NULL, NULL));
    assert_int_equal(get32(m->data), (uint32_t)hidden);
    raw_send_request(w[0].fd, (uint32_t)pa, 0, PIECE);
    assert_true(raw_wait(w[0].fd, MSG_PIECE, 5000, m, NULL, NULL));
    assert_int_equal(get32(m->data), (uint32_t)pa);
    assert_int_equal(m->len, 8 + PIECE);
    assert_memory_equal(m->data + 8, f.t.data + (size_t)pa * PIECE, PIECE);

    /* Default rule: once the peer has its piece it is shown a new one,
     * never shown to anyone before; the others are shown nothing new. */
    raw_send_index(w[0].fd, MSG_HAVE, (uint32_t)pa);
    watcher_listen(&w[0], 1000);
    assert_int_equal(w[0].nhaves, 2);
    int pa2 = w[0].haves[1];
    assert_true(pa2 != pa && pa2 != pb && pa2 != pc);
    watcher_listen(&w[1], 300);
    watcher_listen(&w[2], 300);
    assert_int_equal(w[1].nhaves, 1);
    assert_int_equal(w[2].nhaves, 1);

    /* Strict rule (BEP 16): B having its piece is not enough; only when
     * another peer (C) announces B's piece is B shown a new one. */
    set_bool(ses, SW_SET_STRICT_SUPER_SEEDING, true);
    raw_send_index(w[1].fd, MSG_HAVE, (uint32_t)pb);
    watcher_listen(&w[1], 1000);
    assert_int_equal(w[1].nhaves, 1);
    raw_send_index(w[2].fd, MSG_HAVE, (uint32_t)pb);
    watcher_listen(&w[1], 1000);
    assert_int_equal(w[1].nhaves, 2);
    int pb2 = w[1].haves[1];
    assert_true(pb2 != pa && pb2 != pb && pb2 != pc && pb2 != pa2);
    watcher_listen(&w[2], 300);
    assert_int_equal(w[2].nhaves, 1); /* C's own piece is not out yet */

    /* Super seeding off: every peer learns the rest of the pieces. */
    assert_int_equal(sw_torrent_super_seeding(h, false), 0);
    assert_false(status_of(h).super_seeding);
    watcher_listen(&w[0], 1000);
    bool told[NPIECES] = {false};
    for (int i = 0; i < w[0].nhaves; i++)
        told[w[0].haves[i]] = true;
    for (int i = 0; i < NPIECES; i++)
        assert_true(told[i]);
    raw_send_request(w[0].fd, (uint32_t)hidden, 0, PIECE);
    assert_true(raw_wait(w[0].fd, MSG_PIECE, 5000, m, NULL, NULL));
    assert_int_equal(get32(m->data), (uint32_t)hidden);

    free(m);
    for (int i = 0; i < 3; i++)
        close(w[i].fd);
    sw_session_free(ses);
    fixture_teardown(&f);
}

static void test_super_seed_leechers_complete(void **state)
{
    (void)state;
    fixture f;
    fixture_setup(&f);
    sw_session *seeder = new_session();
    sw_torrent_handle hs = add_flags(seeder, f.t.ti, f.seed_dir.path, 0);
    assert_true(wait_state(hs, SW_TORRENT_SEEDING, WAIT_MS));
    /* Not a seed yet while checking; switched on through the handle. */
    assert_int_equal(sw_torrent_super_seeding(hs, true), 0);
    assert_true(wait_super_seeding(hs));

    tmpdir dl[2];
    sw_session *leech[2];
    sw_torrent_handle hl[2];
    for (int i = 0; i < 2; i++) {
        tmpdir_make(&dl[i]);
        leech[i] = new_session();
        hl[i] = add_flags(leech[i], f.t.ti, dl[i].path, 0);
        assert_true(wait_state(hl[i], SW_TORRENT_DOWNLOADING, WAIT_MS));
    }
    /* The leechers trade with each other too, as super seeding expects. */
    assert_int_equal(sw_torrent_connect_peer(hl[0], "127.0.0.1", port_of(leech[1])), 0);
    for (int i = 0; i < 2; i++)
        assert_int_equal(sw_torrent_connect_peer(hl[i], "127.0.0.1", port_of(seeder)), 0);
    for (int i = 0; i < 2; i++) {
        sw_alert *a = wait_alert(leech[i], SW_ALERT_TORRENT_FINISHED, hl[i].id, 60000);
        assert_non_null(a);
        sw_alert_free(a);
        char path[600];
        snprintf(path, sizeof path, "%s/blob.bin", dl[i].path);
        assert_true(file_equals(path, f.t.data, (size_t)f.t.total));
    }
    /* Still super seeding; a recheck (no longer a seed while it runs) ends
     * it. */
    assert_true(status_of(hs).super_seeding);
    assert_int_equal(sw_torrent_force_recheck(hs), 0);
    assert_true(wait_state(hs, SW_TORRENT_SEEDING, WAIT_MS));
    usleep(1500000);
    assert_false(status_of(hs).super_seeding);

    for (int i = 0; i < 2; i++) {
        sw_session_free(leech[i]);
        tmpdir_remove(&dl[i]);
    }
    sw_session_free(seeder);
    fixture_teardown(&f);
}

/* ---- a raw seed that records what a leecher asks of it ---- */

typedef struct raw_seed {
    int lfd, fd;
    uint16_t port;
} raw_seed;

static void raw_seed_listen(raw_seed *s)
{
    s->lfd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(s->lfd >= 0);
    struct sockaddr_in sa = {.sin_family = AF_INET};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(bind(s->lfd, (struct sockaddr *)&sa, sizeof sa), 0);
    assert_int_equal(listen(s->lfd, 4), 0);
    socklen_t sl = sizeof sa;
    assert_int_equal(getsockname(s->lfd, (struct sockaddr *)&sa, &sl), 0);
    s->port = ntohs(sa.sin_port);
}

/* Accepts the leecher, answers its handshake, says have_all and unchokes. */
static void raw_seed_accept(raw_seed *s, const sw_torrent_info *ti)
{
    set_timeout(s->lfd, 10000); /* bounds accept() too */
    s->fd = accept(s->lfd, NULL, NULL);
    assert_true(s->fd >= 0);
    set_timeout(s->fd, 5000);
    read_handshake(s->fd);
    send_handshake(s->fd, ti, 's');
    raw_send_simple(s->fd, MSG_HAVE_ALL);
    raw_send_simple(s->fd, MSG_UNCHOKE);
}

static void raw_seed_close(raw_seed *s)
{
    close(s->fd);
    close(s->lfd);
}

static void test_upload_mode_requests_nothing(void **state)
{
    (void)state;
    fixture f;
    fixture_setup(&f);
    tmpdir dl;
    tmpdir_make(&dl);
    sw_session *ses = new_session();
    sw_torrent_handle h = add_flags(ses, f.t.ti, dl.path, SW_ADD_UPLOAD_MODE);
    assert_true(wait_state(h, SW_TORRENT_DOWNLOADING, WAIT_MS));
    assert_true(status_of(h).upload_mode);
    raw_seed s;
    raw_seed_listen(&s);
    assert_int_equal(sw_torrent_connect_peer(h, "127.0.0.1", s.port), 0);
    raw_seed_accept(&s, f.t.ti);

    /* In upload mode: neither interested nor a single request. */
    raw_msg *m = malloc(sizeof *m);
    uint64_t until = now_ms() + 2500;
    while (now_ms() < until) {
        raw_next(s.fd, 200, m);
        assert_true(m->id != MSG_REQUEST && m->id != MSG_INTERESTED);
    }
    /* Leaving it: interest and requests follow. */
    assert_int_equal(sw_torrent_set_upload_mode(h, false), 0);
    assert_false(status_of(h).upload_mode);
    assert_true(raw_wait(s.fd, MSG_REQUEST, 5000, m, NULL, NULL));
    /* Entering it again drops interest. */
    assert_int_equal(sw_torrent_set_upload_mode(h, true), 0);
    assert_true(raw_wait(s.fd, 3 /* not interested */, 5000, m, NULL, NULL));
    free(m);
    raw_seed_close(&s);
    sw_session_free(ses);
    tmpdir_remove(&dl);
    fixture_teardown(&f);
}

/* Mounts a tmpfs of size bytes on dir (or changes its size); false where
 * mounting is not allowed (not root). */
static bool mount_tmpfs(const char *dir, const char *size, bool remount)
{
    char cmd[512];
    snprintf(cmd, sizeof cmd, "mount -t tmpfs -o %ssize=%s tmpfs '%s' 2>/dev/null",
             remount ? "remount," : "", size, dir);
    return system(cmd) == 0;
}

static void test_upload_mode_on_full_disk(void **state)
{
    (void)state;
    fixture f;
    fixture_setup(&f);
    /* The leecher saves to a tmpfs of one page: the first block it writes
     * fills it. */
    tmpdir dl;
    tmpdir_make(&dl);
    if (!mount_tmpfs(dl.path, "4k", false)) {
        tmpdir_remove(&dl);
        fixture_teardown(&f);
        skip(); /* needs root to mount a small file system */
    }
    sw_session *seeder = new_session();
    sw_torrent_handle hs = add_flags(seeder, f.t.ti, f.seed_dir.path, 0);
    assert_true(wait_state(hs, SW_TORRENT_SEEDING, WAIT_MS));
    sw_session *leech = new_session();
    sw_torrent_handle hl = add_flags(leech, f.t.ti, dl.path, 0);
    assert_true(wait_state(hl, SW_TORRENT_DOWNLOADING, WAIT_MS));
    assert_int_equal(sw_torrent_connect_peer(hl, "127.0.0.1", port_of(seeder)), 0);
    sw_alert *a = wait_alert(leech, SW_ALERT_FILE_ERROR, hl.id, WAIT_MS);
    assert_non_null(a);
    assert_int_equal(a->error, UV_ENOSPC);
    sw_alert_free(a);
    /* Not stopped: in upload mode, still connected, no error. */
    sw_torrent_status st = status_of(hl);
    assert_true(st.upload_mode);
    assert_int_equal(st.error, 0);
    assert_false(st.paused);
    assert_int_equal(st.num_peers, 1);

    /* Leaving it tries again: the disk is still full, so it comes back. */
    usleep(300000);
    while (sw_session_pop_alert(leech, &a) == 0 && a)
        sw_alert_free(a);
    assert_int_equal(sw_torrent_set_upload_mode(hl, false), 0);
    a = wait_alert(leech, SW_ALERT_FILE_ERROR, hl.id, WAIT_MS);
    assert_non_null(a);
    assert_int_equal(a->error, UV_ENOSPC);
    sw_alert_free(a);
    st = status_of(hl);
    assert_true(st.upload_mode);
    assert_int_equal(st.error, 0);

    /* An auto-managed torrent tries again by itself after
     * optimistic_disk_retry seconds (and is back in upload mode). */
    set_int(leech, SW_SET_OPTIMISTIC_DISK_RETRY, 1);
    usleep(300000);
    while (sw_session_pop_alert(leech, &a) == 0 && a)
        sw_alert_free(a);
    a = wait_alert(leech, SW_ALERT_FILE_ERROR, hl.id, 2500); /* not auto-managed: stays */
    assert_null(a);
    assert_int_equal(sw_torrent_auto_managed(hl, true), 0);
    a = wait_alert(leech, SW_ALERT_FILE_ERROR, hl.id, WAIT_MS);
    assert_non_null(a);
    assert_int_equal(a->error, UV_ENOSPC);
    sw_alert_free(a);
    assert_int_equal(sw_torrent_auto_managed(hl, false), 0);
    assert_true(status_of(hl).upload_mode);

    /* Room made: out of upload mode the download completes. */
    assert_true(mount_tmpfs(dl.path, "1m", true));
    assert_int_equal(sw_torrent_set_upload_mode(hl, false), 0);
    assert_true(wait_state(hl, SW_TORRENT_SEEDING, WAIT_MS));
    char path[300];
    snprintf(path, sizeof path, "%s/blob.bin", dl.path);
    assert_true(file_equals(path, f.t.data, (size_t)f.t.total));
    assert_false(status_of(hl).upload_mode);

    sw_session_free(leech);
    sw_session_free(seeder);
    char cmd[600];
    snprintf(cmd, sizeof cmd, "umount '%s'", dl.path);
    assert_int_equal(system(cmd), 0);
    tmpdir_remove(&dl);
    fixture_teardown(&f);
}

/* ---- share mode ---- */

static void test_share_mode(void **state)
{
    (void)state;
    fixture f;
    fixture_setup(&f);
    sw_session *seeder = new_session();
    sw_torrent_handle hs = add_flags(seeder, f.t.ti, f.seed_dir.path, 0);
    assert_true(wait_state(hs, SW_TORRENT_SEEDING, WAIT_MS));

    /* The share-mode torrent: nothing wanted, so finished at once. */
    tmpdir mdir;
    tmpdir_make(&mdir);
    sw_session *ms = new_session();
    set_int(ms, SW_SET_SHARE_MODE_TARGET, 2);
    sw_torrent_handle hm = add_flags(ms, f.t.ti, mdir.path, SW_ADD_SHARE_MODE);
    assert_true(wait_state(hm, SW_TORRENT_FINISHED, WAIT_MS));
    assert_true(status_of(hm).share_mode);
    assert_int_equal(sw_torrent_connect_peer(hm, "127.0.0.1", port_of(seeder)), 0);

    /* With only a seed around nobody needs anything: nothing fetched. */
    usleep(3000000);
    assert_int_equal(status_of(hm).num_pieces, 0);
    assert_int_equal(status_of(hm).total_payload_download, 0);

    /* Two peers that lack everything (in upload mode for now, so they take
     * nothing yet) make one piece worth fetching — one only: nothing went
     * out yet to pay for a second. */
    tmpdir dl[2];
    sw_session *peer[2];
    sw_torrent_handle hp[2];
    for (int i = 0; i < 2; i++) {
        tmpdir_make(&dl[i]);
        peer[i] = new_session();
        hp[i] = add_flags(peer[i], f.t.ti, dl[i].path, SW_ADD_UPLOAD_MODE);
        assert_true(wait_state(hp[i], SW_TORRENT_DOWNLOADING, WAIT_MS));
        assert_int_equal(sw_torrent_connect_peer(hp[i], "127.0.0.1", port_of(ms)), 0);
    }
    assert_true(wait_pieces(hm, 1, WAIT_MS));
    usleep(4500000);
    sw_torrent_status st = status_of(hm);
    assert_int_equal(st.num_pieces, 1);
    assert_int_equal(st.state, SW_TORRENT_FINISHED);
    assert_int_equal(st.total_payload_download, PIECE);

    /* The peers take that piece from it; having uploaded it twice, it
     * fetches another piece. */
    for (int i = 0; i < 2; i++)
        assert_int_equal(sw_torrent_set_upload_mode(hp[i], false), 0);
    for (int i = 0; i < 2; i++)
        assert_true(wait_pieces(hp[i], 1, WAIT_MS));
    assert_true(wait_pieces(hm, 2, WAIT_MS));
    st = status_of(hm);
    assert_true(st.total_payload_upload >= 2 * PIECE);
    assert_true(st.total_payload_download <= st.total_payload_upload / 2 + PIECE);
    assert_true(st.num_pieces < NPIECES);
    assert_true(st.share_mode);

    /* Out of share mode it is a plain download and completes. */
    assert_int_equal(sw_torrent_set_share_mode(hm, false), 0);
    assert_true(wait_state(hm, SW_TORRENT_SEEDING, WAIT_MS));
    assert_false(status_of(hm).share_mode);

    for (int i = 0; i < 2; i++) {
        sw_session_free(peer[i]);
        tmpdir_remove(&dl[i]);
    }
    sw_session_free(ms);
    sw_session_free(seeder);
    tmpdir_remove(&mdir);
    fixture_teardown(&f);
}

/* ---- sequential download ---- */

/* The pieces of the first n requests a leecher sends to a raw seed. */
static void first_requests(const fixture *f, uint64_t flags, int n, int *pieces)
{
    tmpdir dl;
    tmpdir_make(&dl);
    sw_session *ses = new_session();
    sw_torrent_handle h = add_flags(ses, f->t.ti, dl.path, flags);
    assert_true(wait_state(h, SW_TORRENT_DOWNLOADING, WAIT_MS));
    raw_seed s;
    raw_seed_listen(&s);
    assert_int_equal(sw_torrent_connect_peer(h, "127.0.0.1", s.port), 0);
    raw_seed_accept(&s, f->t.ti);
    raw_msg *m = malloc(sizeof *m);
    for (int i = 0; i < n; i++) {
        assert_true(raw_wait(s.fd, MSG_REQUEST, 5000, m, NULL, NULL));
        pieces[i] = (int)get32(m->data);
    }
    free(m);
    raw_seed_close(&s);
    sw_session_free(ses);
    tmpdir_remove(&dl);
}

static void test_sequential_requests(void **state)
{
    (void)state;
    fixture f;
    fixture_setup(&f);
    int got[4];
    first_requests(&f, SW_ADD_SEQUENTIAL_DOWNLOAD, 4, got);
    for (int i = 0; i < 4; i++)
        assert_int_equal(got[i], i);
    /* Rarest first with every piece equally rare goes at random: across a
     * few torrents the first four requests are not always 0, 1, 2, 3. */
    bool in_order = true;
    for (int run = 0; run < 3 && in_order; run++) {
        first_requests(&f, 0, 4, got);
        for (int i = 0; i < 4; i++)
            in_order = in_order && got[i] == i;
    }
    assert_false(in_order);
    fixture_teardown(&f);
}

/* ---- resume data ---- */

static uint8_t *save_resume(sw_session *ses, sw_torrent_handle h, size_t *len_out)
{
    assert_int_equal(sw_torrent_save_resume_data(h, 0), 0);
    sw_alert *a = wait_alert(ses, SW_ALERT_SAVE_RESUME_DATA, h.id, WAIT_MS);
    assert_non_null(a);
    *len_out = a->payload.resume.len;
    uint8_t *buf = malloc(*len_out);
    memcpy(buf, a->payload.resume.data, *len_out);
    sw_alert_free(a);
    return buf;
}

static sw_torrent_handle add_resume(sw_session *ses, sw_torrent_info *ti, const char *dir,
                                    const uint8_t *resume, size_t len, uint64_t flags)
{
    sw_add_torrent_params p;
    sw_add_torrent_params_init(&p);
    p.ti = ti;
    p.save_path = dir;
    p.resume_data = resume;
    p.resume_data_len = len;
    p.flags |= flags;
    sw_torrent_handle h;
    assert_int_equal(sw_session_add_torrent(ses, &p, &h, NULL), 0);
    return h;
}

static void test_modes_in_resume_data(void **state)
{
    (void)state;
    fixture f;
    fixture_setup(&f);
    sw_session *ses = new_session();
    /* A super seeder keeps super seeding through its resume data... */
    sw_torrent_handle h = add_flags(ses, f.t.ti, f.seed_dir.path, SW_ADD_SUPER_SEEDING);
    assert_true(wait_state(h, SW_TORRENT_SEEDING, WAIT_MS));
    assert_true(wait_super_seeding(h));
    size_t len;
    uint8_t *resume = save_resume(ses, h, &len);
    assert_int_equal(sw_session_remove_torrent(ses, h, 0), 0);
    h = add_resume(ses, f.t.ti, f.seed_dir.path, resume, len, 0);
    assert_true(wait_super_seeding(h));
    /* ... unless the add flags override it. */
    assert_int_equal(sw_session_remove_torrent(ses, h, 0), 0);
    h = add_resume(ses, f.t.ti, f.seed_dir.path, resume, len, SW_ADD_OVERRIDE_RESUME_DATA);
    assert_true(wait_state(h, SW_TORRENT_SEEDING, WAIT_MS));
    usleep(1500000);
    assert_false(status_of(h).super_seeding);
    free(resume);
    assert_int_equal(sw_session_remove_torrent(ses, h, 0), 0);

    /* Share mode too: back in share mode, nothing wanted, finished. */
    tmpdir dl;
    tmpdir_make(&dl);
    h = add_flags(ses, f.t.ti, dl.path, SW_ADD_SHARE_MODE);
    assert_true(wait_state(h, SW_TORRENT_FINISHED, WAIT_MS));
    resume = save_resume(ses, h, &len);
    assert_int_equal(sw_session_remove_torrent(ses, h, 0), 0);
    h = add_resume(ses, f.t.ti, dl.path, resume, len, 0);
    assert_true(wait_state(h, SW_TORRENT_FINISHED, WAIT_MS));
    sw_torrent_status st = status_of(h);
    assert_true(st.share_mode);
    assert_int_equal(st.total_wanted, 0);
    free(resume);

    sw_session_free(ses);
    tmpdir_remove(&dl);
    fixture_teardown(&f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_super_seed_raw_peers),
        cmocka_unit_test(test_super_seed_leechers_complete),
        cmocka_unit_test(test_upload_mode_requests_nothing),
        cmocka_unit_test(test_upload_mode_on_full_disk),
        cmocka_unit_test(test_share_mode),
        cmocka_unit_test(test_sequential_requests),
        cmocka_unit_test(test_modes_in_resume_data),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
