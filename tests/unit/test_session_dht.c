/* The session's DHT through the public API, sessions on 127.0.0.1 only
 * (no public bootstrap: dht_bootstrap_nodes is empty and nodes are added
 * by address): three sessions bootstrap from each other; a torrent without
 * trackers and a magnet link with only its info-hash download through the
 * DHT; immutable and mutable items (with a read-modify-write update) go
 * through the item functions and their alerts; the saved state keeps the
 * node id. */
#define _XOPEN_SOURCE 700
#include <ftw.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <unistd.h>

#include <cmocka.h>

#include <cswarm/cswarm.h>

#include "disk_fixture.h"

#define WAIT_MS 30000

static uint64_t now_ms(void)
{
    struct timeval tv;
    gettimeofday(&tv, NULL);
    return (uint64_t)tv.tv_sec * 1000 + (uint64_t)tv.tv_usec / 1000;
}

/* Pops alerts until one of type arrives (and pred, if given, accepts it);
 * NULL on timeout. */
static sw_alert *wait_alert_if(sw_session *ses, sw_alert_type type,
                               bool (*pred)(const sw_alert *a, void *arg), void *arg,
                               int timeout_ms)
{
    uint64_t deadline = now_ms() + (uint64_t)timeout_ms;
    while (now_ms() < deadline) {
        sw_session_wait_for_alert(ses, 50);
        sw_alert *a;
        while (sw_session_pop_alert(ses, &a) == 0 && a) {
            if (a->type == type && (!pred || pred(a, arg)))
                return a;
            sw_alert_free(a);
        }
    }
    return NULL;
}

static sw_alert *wait_alert(sw_session *ses, sw_alert_type type, int timeout_ms)
{
    return wait_alert_if(ses, type, NULL, NULL, timeout_ms);
}

/* DHT on, and fit for nodes sharing one address; nothing else that could
 * leave the machine. */
static sw_settings *loopback_settings(bool dht)
{
    sw_settings *s;
    assert_int_equal(sw_settings_new(&s), 0);
    assert_int_equal(sw_settings_set_str(s, SW_SET_LISTEN_INTERFACES, "127.0.0.1:0"), 0);
    assert_int_equal(sw_settings_set_bool(s, SW_SET_ENABLE_DHT, dht), 0);
    assert_int_equal(sw_settings_set_str(s, SW_SET_DHT_BOOTSTRAP_NODES, ""), 0);
    assert_int_equal(sw_settings_set_bool(s, SW_SET_DHT_RESTRICT_ROUTING_IPS, false), 0);
    assert_int_equal(sw_settings_set_bool(s, SW_SET_DHT_RESTRICT_SEARCH_IPS, false), 0);
    assert_int_equal(sw_settings_set_bool(s, SW_SET_DHT_ENFORCE_NODE_ID, false), 0);
    assert_int_equal(sw_settings_set_bool(s, SW_SET_DHT_IGNORE_DARK_INTERNET, false), 0);
    assert_int_equal(sw_settings_set_int(s, SW_SET_DHT_BLOCK_RATELIMIT, 0), 0);
    assert_int_equal(sw_settings_set_int(s, SW_SET_DHT_UPLOAD_RATE_LIMIT, 0), 0);
    assert_int_equal(sw_settings_set_bool(s, SW_SET_ENABLE_LSD, false), 0);
    assert_int_equal(sw_settings_set_bool(s, SW_SET_ENABLE_UPNP, false), 0);
    assert_int_equal(sw_settings_set_bool(s, SW_SET_ENABLE_NATPMP, false), 0);
    return s;
}

static sw_session *new_session_flags(unsigned flags, bool dht)
{
    sw_settings *s = loopback_settings(dht);
    sw_session_params p;
    sw_session_params_init(&p);
    p.settings = s;
    p.alert_mask = SW_ALERT_CAT_ALL & ~(SW_ALERT_CAT_STATS | SW_ALERT_CAT_PROGRESS);
    p.flags = flags;
    sw_session *ses = NULL;
    assert_int_equal(sw_session_new(&p, &ses), 0);
    sw_settings_free(s);
    assert_int_equal(sw_session_listen_on(ses, 0, 0, "127.0.0.1", 0), 0);
    return ses;
}

static sw_session *new_session(void)
{
    return new_session_flags(SW_SESSION_ADD_DEFAULT_PLUGINS | SW_SESSION_START_DEFAULT_FEATURES,
                             true);
}

static int port_of(sw_session *ses)
{
    uint16_t port = 0;
    assert_int_equal(sw_session_listen_port(ses, &port), 0);
    assert_true(port > 0);
    return port;
}

static int dht_nodes(sw_session *ses)
{
    sw_session_status st;
    assert_int_equal(sw_session_get_status(ses, &st), 0);
    return st.dht_nodes;
}

static bool wait_nodes(sw_session *ses, int min, int timeout_ms)
{
    uint64_t deadline = now_ms() + (uint64_t)timeout_ms;
    while (now_ms() < deadline) {
        if (dht_nodes(ses) >= min)
            return true;
        usleep(50 * 1000);
    }
    return false;
}

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static void make_dir(char *out, size_t len)
{
    snprintf(out, len, "/tmp/sw_sdht_XXXXXX");
    assert_non_null(mkdtemp(out));
}

static void remove_dir(const char *dir)
{
    nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

static void write_data(const fx_torrent *t, const char *root)
{
    int n = sw_torrent_info_num_files(t->ti);
    for (int i = 0; i < n; i++) {
        const sw_file_entry *f = sw_torrent_info_file(t->ti, i);
        char path[512];
        snprintf(path, sizeof path, "%s/%s", root, f->path);
        char *slash = strrchr(path, '/');
        *slash = '\0';
        mkdir(path, 0755);
        *slash = '/';
        FILE *fp = fopen(path, "wb");
        assert_non_null(fp);
        assert_int_equal(fwrite(t->data + f->offset, 1, (size_t)f->size, fp), (size_t)f->size);
        fclose(fp);
    }
}

static bool same_bytes_on_disk(const fx_torrent *t, const char *root)
{
    const sw_file_entry *f = sw_torrent_info_file(t->ti, 0);
    char path[512];
    snprintf(path, sizeof path, "%s/%s", root, f->path);
    FILE *fp = fopen(path, "rb");
    if (!fp)
        return false;
    uint8_t *buf = malloc((size_t)f->size);
    size_t got = fread(buf, 1, (size_t)f->size, fp);
    fclose(fp);
    bool same = got == (size_t)f->size && memcmp(buf, t->data + f->offset, got) == 0;
    free(buf);
    return same;
}

static bool wait_finished(sw_torrent_handle h, int timeout_ms)
{
    uint64_t deadline = now_ms() + (uint64_t)timeout_ms;
    while (now_ms() < deadline) {
        sw_torrent_status st;
        if (sw_torrent_get_status(h, &st) == 0 && st.is_finished)
            return true;
        usleep(100 * 1000);
    }
    return false;
}

/* ---- bootstrapping ---- */

static void test_three_sessions_bootstrap(void **state)
{
    (void)state;
    sw_session *a = new_session();
    sw_session *b = new_session();
    sw_session *c = new_session();
    assert_true(sw_session_is_dht_running(a));
    /* b and c know only a; a knows nobody. */
    assert_int_equal(sw_session_add_dht_node(b, "127.0.0.1", port_of(a)), 0);
    /* A name goes through the resolver ("localhost": /etc/hosts). */
    assert_int_equal(sw_session_add_dht_router(c, "localhost", port_of(a)), 0);
    assert_int_equal(sw_session_add_dht_node(b, "127.0.0.1", 0), SW_ERR_INVALID_ARG);

    sw_alert *al = wait_alert_if(b, SW_ALERT_DHT_BOOTSTRAP, NULL, NULL, WAIT_MS);
    assert_non_null(al);
    assert_int_equal(al->error, 0);
    sw_alert_free(al);
    /* Everyone ends up knowing the two others. */
    assert_true(wait_nodes(a, 2, WAIT_MS));
    assert_true(wait_nodes(b, 2, WAIT_MS));
    assert_true(wait_nodes(c, 2, WAIT_MS));

    sw_session_status st;
    assert_int_equal(sw_session_get_status(c, &st), 0);
    assert_true(st.dht_buckets >= 1);
    assert_true(st.total_dht_upload > 0 && st.total_dht_download > 0);
    assert_true(st.dht_global_nodes >= 2);
    sw_dht_routing_bucket *buckets = NULL;
    size_t nb = 0;
    assert_int_equal(sw_session_dht_routing_table(c, &buckets, &nb), 0);
    assert_int_equal((int)nb, st.dht_buckets);
    int total = 0;
    for (size_t i = 0; i < nb; i++)
        total += buckets[i].num_nodes;
    assert_int_equal(total, st.dht_nodes);
    free(buckets);

    /* Stopped, it forgets the table and refuses item calls. */
    assert_int_equal(sw_session_stop_dht(c), 0);
    assert_false(sw_session_is_dht_running(c));
    assert_int_equal(dht_nodes(c), 0);
    sw_sha1 t;
    memset(&t, 7, sizeof t);
    assert_int_equal(sw_session_dht_get_immutable_item(c, &t), SW_ERR_DHT_NOT_RUNNING);
    /* Started again, it finds its way back through the router. */
    assert_int_equal(sw_session_start_dht(c), 0);
    assert_true(sw_session_is_dht_running(c));
    assert_true(wait_nodes(c, 1, WAIT_MS));

    sw_session_free(c);
    sw_session_free(b);
    sw_session_free(a);
}

/* A session without START_DEFAULT_FEATURES runs no DHT until asked. */
static void test_not_started_without_default_features(void **state)
{
    (void)state;
    sw_session *s = new_session_flags(0, true);
    assert_false(sw_session_is_dht_running(s));
    sw_session_status st;
    assert_int_equal(sw_session_get_status(s, &st), 0);
    assert_int_equal(st.dht_nodes, 0);
    /* A node added now waits for the start. */
    assert_int_equal(sw_session_add_dht_node(s, "127.0.0.1", 9), 0);
    assert_int_equal(sw_session_start_dht(s), 0);
    assert_true(sw_session_is_dht_running(s));
    sw_settings *cur;
    assert_int_equal(sw_session_get_settings(s, &cur), 0);
    bool on = false;
    assert_int_equal(sw_settings_get_bool(cur, SW_SET_ENABLE_DHT, &on), 0);
    assert_true(on);
    sw_settings_free(cur);
    sw_session_free(s);
}

/* ---- torrents ---- */

static const fx_file files[] = {{"a.bin", 300000, false}};

static bool reply_with_peers(const sw_alert *a, void *arg)
{
    (void)arg;
    return a->error == 0 && a->payload.dht.num_peers > 0;
}

static void test_trackerless_download(void **state)
{
    (void)state;
    fx_torrent ft;
    assert_int_equal(fx_make_torrent(&ft, "dl", files, 1, 32768, 11, false), 0);
    char seed_dir[64], dl_dir[64];
    make_dir(seed_dir, sizeof seed_dir);
    make_dir(dl_dir, sizeof dl_dir);
    char sub[128];
    snprintf(sub, sizeof sub, "%s/dl", seed_dir);
    mkdir(sub, 0755);
    write_data(&ft, seed_dir);

    sw_session *seed = new_session();
    sw_session *dl = new_session();
    assert_int_equal(sw_session_add_dht_node(dl, "127.0.0.1", port_of(seed)), 0);
    assert_true(wait_nodes(dl, 1, WAIT_MS));

    sw_add_torrent_params p;
    sw_add_torrent_params_init(&p);
    p.ti = ft.ti;
    p.save_path = seed_dir;
    sw_torrent_handle hs, hd;
    assert_int_equal(sw_session_add_torrent(seed, &p, &hs, NULL), 0);
    assert_true(wait_finished(hs, WAIT_MS));
    p.save_path = dl_dir;
    assert_int_equal(sw_session_add_torrent(dl, &p, &hd, NULL), 0);

    /* The downloader's announce finds the seed... */
    sw_alert *a = wait_alert_if(dl, SW_ALERT_DHT_REPLY, reply_with_peers, NULL, WAIT_MS);
    assert_non_null(a);
    assert_int_equal(a->torrent_id, hd.id);
    sw_alert_free(a);
    /* The seed's node saw the downloader ask (or announce) for it. */
    a = wait_alert_if(seed, SW_ALERT_DHT_GET_PEERS, NULL, NULL, WAIT_MS);
    assert_non_null(a);
    assert_memory_equal(a->info_hash.v, sw_torrent_info_hashes(ft.ti)->v1.v, 20);
    assert_string_equal(a->payload.dht.peer.ip, "127.0.0.1");
    sw_alert_free(a);
    a = wait_alert_if(seed, SW_ALERT_DHT_ANNOUNCE, NULL, NULL, WAIT_MS);
    assert_non_null(a);
    assert_int_equal(a->payload.dht.peer.port, port_of(dl));
    sw_alert_free(a);
    /* ...and the data comes from it. */
    assert_true(wait_finished(hd, WAIT_MS));
    assert_true(same_bytes_on_disk(&ft, dl_dir));
    sw_session_status st;
    assert_int_equal(sw_session_get_status(seed, &st), 0);
    assert_true(st.dht_torrents >= 1 || dht_nodes(dl) >= 1);

    /* BEP 33: the seed's scrape asks the downloader's node, which holds the
     * seed's announce as a seed (a repeat covers an announce in flight). */
    const sw_sha1 *ih = &sw_torrent_info_hashes(ft.ti)->v1;
    int seeds = 0;
    uint64_t deadline = now_ms() + WAIT_MS;
    while (seeds < 1 && now_ms() < deadline) {
        assert_int_equal(sw_session_dht_scrape(seed, ih), 0);
        a = wait_alert(seed, SW_ALERT_DHT_SCRAPE, WAIT_MS);
        assert_non_null(a);
        assert_int_equal(a->error, 0);
        assert_memory_equal(a->payload.dht.target.v, ih->v, 20);
        seeds = a->payload.dht.scrape_seeds;
        sw_alert_free(a);
    }
    assert_int_equal(seeds, 1);

    sw_session_free(dl);
    sw_session_free(seed);
    remove_dir(seed_dir);
    remove_dir(dl_dir);
    fx_torrent_free(&ft);
}

static void test_magnet_through_dht(void **state)
{
    (void)state;
    fx_torrent ft;
    assert_int_equal(fx_make_torrent(&ft, "mg", files, 1, 32768, 13, false), 0);
    char seed_dir[64], dl_dir[64];
    make_dir(seed_dir, sizeof seed_dir);
    make_dir(dl_dir, sizeof dl_dir);
    char sub[128];
    snprintf(sub, sizeof sub, "%s/mg", seed_dir);
    mkdir(sub, 0755);
    write_data(&ft, seed_dir);

    sw_session *seed = new_session();
    sw_session *dl = new_session();
    assert_int_equal(sw_session_add_dht_node(seed, "127.0.0.1", port_of(dl)), 0);
    assert_true(wait_nodes(seed, 1, WAIT_MS));

    sw_add_torrent_params p;
    sw_add_torrent_params_init(&p);
    p.ti = ft.ti;
    p.save_path = seed_dir;
    sw_torrent_handle hs, hd;
    assert_int_equal(sw_session_add_torrent(seed, &p, &hs, NULL), 0);
    assert_true(wait_finished(hs, WAIT_MS));

    sw_add_torrent_params m;
    sw_add_torrent_params_init(&m);
    m.info_hash = sw_torrent_info_hashes(ft.ti)->v1;
    m.save_path = dl_dir;
    assert_int_equal(sw_session_add_torrent(dl, &m, &hd, NULL), 0);
    sw_alert *a = wait_alert(dl, SW_ALERT_METADATA_RECEIVED, WAIT_MS);
    assert_non_null(a);
    sw_alert_free(a);
    assert_true(wait_finished(hd, WAIT_MS));
    assert_true(same_bytes_on_disk(&ft, dl_dir));

    sw_session_free(dl);
    sw_session_free(seed);
    remove_dir(seed_dir);
    remove_dir(dl_dir);
    fx_torrent_free(&ft);
}

static sw_torrent_info *create_ti(const char *path, bool is_private)
{
    sw_create_params cp;
    sw_create_params_init(&cp);
    cp.path = path;
    cp.is_private = is_private;
    cp.num_threads = 1;
    uint8_t *buf;
    size_t len;
    assert_int_equal(sw_create_torrent(&cp, &buf, &len, NULL), 0);
    sw_torrent_info *ti;
    assert_int_equal(sw_torrent_info_load(buf, len, NULL, &ti, NULL), 0);
    free(buf);
    return ti;
}

/* A private torrent (BEP 27) never uses the DHT; a public one beside it in
 * the same session does, which shows the announce round ran. */
static void test_private_torrent_stays_off(void **state)
{
    (void)state;
    char dir[64];
    make_dir(dir, sizeof dir);
    char path[128];
    snprintf(path, sizeof path, "%s/data.bin", dir);
    FILE *fp = fopen(path, "wb");
    assert_non_null(fp);
    for (int i = 0; i < 100000; i++)
        fputc((i * 31 + 7) & 0xff, fp);
    fclose(fp);
    sw_torrent_info *priv = create_ti(path, true);
    sw_torrent_info *pub = create_ti(path, false);
    assert_true(sw_torrent_info_is_private(priv));

    sw_session *other = new_session();
    sw_session *s = new_session();
    assert_int_equal(sw_session_add_dht_node(s, "127.0.0.1", port_of(other)), 0);
    assert_true(wait_nodes(s, 1, WAIT_MS));
    sw_add_torrent_params p;
    sw_add_torrent_params_init(&p);
    p.save_path = dir;
    p.ti = priv;
    sw_torrent_handle hp, hu;
    assert_int_equal(sw_session_add_torrent(s, &p, &hp, NULL), 0);
    assert_true(wait_finished(hp, WAIT_MS));
    p.ti = pub;
    assert_int_equal(sw_session_add_torrent(s, &p, &hu, NULL), 0);
    assert_true(wait_finished(hu, WAIT_MS));
    /* Pop until the public torrent's announce is back; the private one
     * must not have had one meanwhile. */
    uint64_t deadline = now_ms() + WAIT_MS;
    bool public_done = false;
    while (!public_done && now_ms() < deadline) {
        sw_session_wait_for_alert(s, 50);
        sw_alert *a;
        while (sw_session_pop_alert(s, &a) == 0 && a) {
            if (a->type == SW_ALERT_DHT_REPLY) {
                assert_int_not_equal(a->torrent_id, hp.id);
                public_done = public_done || a->torrent_id == hu.id;
            }
            sw_alert_free(a);
        }
    }
    assert_true(public_done);
    /* The other node heard of the public torrent only. */
    const sw_sha1 *pub_ih = &sw_torrent_info_hashes(pub)->v1;
    const sw_sha1 *priv_ih = &sw_torrent_info_hashes(priv)->v1;
    sw_alert *a;
    bool heard_public = false;
    while (sw_session_pop_alert(other, &a) == 0 && a) {
        if (a->type == SW_ALERT_DHT_GET_PEERS || a->type == SW_ALERT_DHT_ANNOUNCE) {
            assert_memory_not_equal(a->info_hash.v, priv_ih->v, 20);
            heard_public = heard_public || memcmp(a->info_hash.v, pub_ih->v, 20) == 0;
        }
        sw_alert_free(a);
    }
    assert_true(heard_public);

    sw_session_free(s);
    sw_session_free(other);
    sw_torrent_info_unref(priv);
    sw_torrent_info_unref(pub);
    remove_dir(dir);
}

static bool announce_on_port(const sw_alert *a, void *arg)
{
    return a->payload.dht.peer.port == *(int *)arg;
}

/* Listening on a new port: the torrent is announced again with it at once
 * (not after dht_announce_interval). */
static void test_new_port_announced(void **state)
{
    (void)state;
    fx_torrent ft;
    assert_int_equal(fx_make_torrent(&ft, "np", files, 1, 32768, 17, false), 0);
    char dir[64];
    make_dir(dir, sizeof dir);
    char sub[128];
    snprintf(sub, sizeof sub, "%s/np", dir);
    mkdir(sub, 0755);
    write_data(&ft, dir);
    sw_session *other = new_session();
    sw_session *s = new_session();
    assert_int_equal(sw_session_add_dht_node(s, "127.0.0.1", port_of(other)), 0);
    assert_true(wait_nodes(s, 1, WAIT_MS));
    sw_add_torrent_params p;
    sw_add_torrent_params_init(&p);
    p.ti = ft.ti;
    p.save_path = dir;
    sw_torrent_handle h;
    assert_int_equal(sw_session_add_torrent(s, &p, &h, NULL), 0);
    int first = port_of(s);
    sw_alert *a = wait_alert_if(other, SW_ALERT_DHT_ANNOUNCE, announce_on_port, &first, WAIT_MS);
    assert_non_null(a);
    sw_alert_free(a);
    assert_int_equal(sw_session_listen_on(s, 0, 0, "127.0.0.1", 0), 0);
    int second = port_of(s);
    assert_int_not_equal(first, second);
    a = wait_alert_if(other, SW_ALERT_DHT_ANNOUNCE, announce_on_port, &second, WAIT_MS);
    assert_non_null(a);
    sw_alert_free(a);
    sw_session_free(s);
    sw_session_free(other);
    remove_dir(dir);
    fx_torrent_free(&ft);
}

/* ---- items ---- */

static bool put_stored(const sw_alert *a, void *arg)
{
    (void)arg;
    return a->error == 0 && a->payload.dht.num_success > 0;
}

static bool mutable_seq(const sw_alert *a, void *arg)
{
    return a->error == 0 && a->payload.dht.value && a->payload.dht.seq == *(int64_t *)arg;
}

/* Appends "+" to the string value it finds (a read-modify-write). */
static int append_plus(void *user, const uint8_t *value, size_t len, int64_t seq, uint8_t **new_out,
                       size_t *new_len_out)
{
    int *calls = user;
    (*calls)++;
    if (!value || seq < 1)
        return SW_ERR_NOT_FOUND;
    /* "N:text" -> "N+1:text+" */
    const uint8_t *colon = memchr(value, ':', len);
    if (!colon)
        return SW_ERR_INVALID_ARG;
    size_t slen = len - (size_t)(colon + 1 - value);
    char *out = malloc(slen + 24);
    int n = snprintf(out, slen + 24, "%zu:", slen + 1);
    memcpy(out + n, colon + 1, slen);
    out[n + (int)slen] = '+';
    *new_out = (uint8_t *)out;
    *new_len_out = (size_t)n + slen + 1;
    return 0;
}

static void test_items(void **state)
{
    (void)state;
    sw_session *a = new_session();
    sw_session *b = new_session();
    sw_session *c = new_session();
    assert_int_equal(sw_session_add_dht_node(b, "127.0.0.1", port_of(a)), 0);
    assert_int_equal(sw_session_add_dht_node(c, "127.0.0.1", port_of(a)), 0);
    assert_true(wait_nodes(a, 2, WAIT_MS));
    assert_true(wait_nodes(b, 2, WAIT_MS));
    assert_true(wait_nodes(c, 2, WAIT_MS));

    /* Immutable: put by a, got by c under the SHA-1 of the value. */
    const char *v = "12:Hello World!";
    sw_sha1 target;
    assert_int_equal(sw_session_dht_put_immutable_item(a, v, strlen(v), &target), 0);
    static const uint8_t expect[20] = {0xe5, 0xf9, 0x6f, 0x6f, 0x38, 0x32, 0x0f, 0x0f, 0x33, 0x95,
                                       0x9c, 0xb4, 0xd3, 0xd6, 0x56, 0x45, 0x21, 0x17, 0xaa, 0xdb};
    assert_memory_equal(target.v, expect, 20); /* BEP 44's test vector */
    sw_alert *al = wait_alert_if(a, SW_ALERT_DHT_PUT, put_stored, NULL, WAIT_MS);
    assert_non_null(al);
    assert_memory_equal(al->payload.dht.target.v, expect, 20);
    sw_alert_free(al);
    assert_int_equal(sw_session_dht_get_immutable_item(c, &target), 0);
    al = wait_alert(c, SW_ALERT_DHT_IMMUTABLE_ITEM, WAIT_MS);
    assert_non_null(al);
    assert_int_equal(al->error, 0);
    assert_int_equal(al->payload.dht.value_len, strlen(v));
    assert_memory_equal(al->payload.dht.value, v, strlen(v));
    sw_alert_free(al);
    /* Something nobody stored: the alert says so with no value. */
    sw_sha1 none;
    memset(&none, 0x42, sizeof none);
    assert_int_equal(sw_session_dht_get_immutable_item(c, &none), 0);
    al = wait_alert(c, SW_ALERT_DHT_IMMUTABLE_ITEM, WAIT_MS);
    assert_non_null(al);
    assert_null(al->payload.dht.value);
    sw_alert_free(al);

    /* Mutable with a salt: put by b at seq 1, got by c. */
    uint8_t sk[32], pk[32];
    for (int i = 0; i < 32; i++)
        sk[i] = (uint8_t)(i * 7 + 1);
    assert_int_equal(sw_dht_public_key(sk, pk), 0);
    sw_dht_mutable_put mp;
    sw_dht_mutable_put_init(&mp);
    memcpy(mp.private_key, sk, 32);
    mp.salt = "foobar";
    mp.salt_len = 6;
    mp.value = "4:abcd";
    mp.value_len = 6;
    mp.seq = 1;
    assert_int_equal(sw_session_dht_put_mutable_item(b, &mp), 0);
    al = wait_alert_if(b, SW_ALERT_DHT_PUT, put_stored, NULL, WAIT_MS);
    assert_non_null(al);
    assert_int_equal(al->payload.dht.seq, 1);
    assert_memory_equal(al->payload.dht.public_key, pk, 32);
    sw_alert_free(al);
    int64_t want = 1;
    assert_int_equal(sw_session_dht_get_mutable_item(c, pk, "foobar", 6), 0);
    al = wait_alert_if(c, SW_ALERT_DHT_MUTABLE_ITEM, mutable_seq, &want, WAIT_MS);
    assert_non_null(al);
    assert_int_equal(al->payload.dht.value_len, 6);
    assert_memory_equal(al->payload.dht.value, "4:abcd", 6);
    assert_int_equal(al->payload.dht.salt_len, 6);
    assert_non_null(al->payload.dht.signature);
    sw_alert_free(al);

    /* Read-modify-write from another session: seq 2 holds "abcd+". */
    int calls = 0;
    sw_dht_mutable_put up;
    sw_dht_mutable_put_init(&up);
    memcpy(up.private_key, sk, 32);
    up.salt = "foobar";
    up.salt_len = 6;
    up.update = append_plus;
    up.user = &calls;
    assert_int_equal(sw_session_dht_put_mutable_item(c, &up), 0);
    al = wait_alert_if(c, SW_ALERT_DHT_PUT, put_stored, NULL, WAIT_MS);
    assert_non_null(al);
    assert_int_equal(al->payload.dht.seq, 2);
    sw_alert_free(al);
    assert_int_equal(calls, 1);
    want = 2;
    assert_int_equal(sw_session_dht_get_mutable_item(a, pk, "foobar", 6), 0);
    al = wait_alert_if(a, SW_ALERT_DHT_MUTABLE_ITEM, mutable_seq, &want, WAIT_MS);
    assert_non_null(al);
    assert_int_equal(al->payload.dht.value_len, 7);
    assert_memory_equal(al->payload.dht.value, "5:abcd+", 7);
    sw_alert_free(al);

    /* A plain put without a seq stores at the highest seq + 1 and says so. */
    mp.value = "2:xy";
    mp.value_len = 4;
    mp.seq = -1;
    assert_int_equal(sw_session_dht_put_mutable_item(b, &mp), 0);
    al = wait_alert_if(b, SW_ALERT_DHT_PUT, put_stored, NULL, WAIT_MS);
    assert_non_null(al);
    assert_int_equal(al->payload.dht.seq, 3);
    sw_alert_free(al);

    /* Bad arguments are refused at once. */
    assert_int_equal(sw_session_dht_get_mutable_item(a, pk, "x", 65), SW_ERR_DHT_SALT_TOO_LARGE);
    sw_dht_mutable_put bad;
    sw_dht_mutable_put_init(&bad);
    assert_int_equal(sw_session_dht_put_mutable_item(a, &bad), SW_ERR_INVALID_ARG);

    sw_session_free(c);
    sw_session_free(b);
    sw_session_free(a);
}

/* ---- state ---- */

static bool state_node_id(const uint8_t *buf, size_t len, uint8_t id_out[20])
{
    sw_bdoc *doc;
    if (sw_bdecode(buf, len, NULL, &doc, NULL) < 0)
        return false;
    sw_bnode st = sw_bnode_dict_get(sw_bdoc_root(doc), "dht state");
    const char *s;
    size_t n;
    bool ok = sw_bnode_dict_get_str(st, "node-id", &s, &n) && n == 20;
    if (ok)
        memcpy(id_out, s, 20);
    sw_bdoc_free(doc);
    return ok;
}

static void test_state_keeps_node_id(void **state)
{
    (void)state;
    sw_session *a = new_session();
    sw_session *b = new_session();
    assert_int_equal(sw_session_add_dht_node(b, "127.0.0.1", port_of(a)), 0);
    assert_true(wait_nodes(b, 1, WAIT_MS));
    assert_true(wait_nodes(a, 1, WAIT_MS));
    uint8_t *buf;
    size_t len;
    assert_int_equal(sw_session_save_state(b, SW_SAVE_DHT_STATE, &buf, &len), 0);
    uint8_t id[20];
    assert_true(state_node_id(buf, len, id));
    /* Without the flag there is no DHT state. */
    uint8_t *other;
    size_t olen;
    assert_int_equal(sw_session_save_state(b, SW_SAVE_SETTINGS, &other, &olen), 0);
    uint8_t unused[20];
    assert_false(state_node_id(other, olen, unused));
    free(other);
    sw_session_free(b);

    /* A new session loads it before starting: same id, and the saved node
     * (a) is pinged, so the table fills without any node added by hand. */
    sw_session *c = new_session_flags(SW_SESSION_ADD_DEFAULT_PLUGINS, true);
    assert_int_equal(sw_session_load_state(c, buf, len, SW_SAVE_DHT_STATE), 0);
    free(buf);
    assert_int_equal(sw_session_start_dht(c), 0);
    assert_true(wait_nodes(c, 1, WAIT_MS));
    assert_int_equal(sw_session_save_state(c, SW_SAVE_ALL, &buf, &len), 0);
    uint8_t id2[20];
    assert_true(state_node_id(buf, len, id2));
    assert_memory_equal(id, id2, 20);
    free(buf);

    /* Loaded into a running node with another id: the node restarts with
     * the saved id. */
    sw_session *d = new_session();
    assert_true(sw_session_is_dht_running(d));
    assert_int_equal(sw_session_save_state(c, SW_SAVE_DHT_STATE, &buf, &len), 0);
    assert_int_equal(sw_session_load_state(d, buf, len, SW_SAVE_DHT_STATE), 0);
    free(buf);
    assert_int_equal(sw_session_save_state(d, SW_SAVE_DHT_STATE, &buf, &len), 0);
    assert_true(state_node_id(buf, len, id2));
    assert_memory_equal(id, id2, 20);
    free(buf);

    sw_session_free(d);
    sw_session_free(c);
    sw_session_free(a);
}

/* A router that never answers keeps lookups running long enough to list
 * them. */
static void test_running_lookups_listed(void **state)
{
    (void)state;
    int fd = socket(AF_INET, SOCK_DGRAM, 0);
    assert_true(fd >= 0);
    struct sockaddr_in sa;
    memset(&sa, 0, sizeof sa);
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof sa), 0);
    socklen_t len = sizeof sa;
    assert_int_equal(getsockname(fd, (struct sockaddr *)&sa, &len), 0);
    sw_session *s = new_session();
    assert_int_equal(sw_session_add_dht_router(s, "127.0.0.1", ntohs(sa.sin_port)), 0);
    sw_sha1 target;
    memset(&target, 0x33, sizeof target);
    assert_int_equal(sw_session_dht_get_immutable_item(s, &target), 0);
    sw_dht_lookup *lookups = NULL;
    size_t n = 0;
    assert_int_equal(sw_session_dht_lookups(s, &lookups, &n), 0);
    bool found_get = false;
    for (size_t i = 0; i < n; i++) {
        if (strcmp(lookups[i].type, "get") == 0) {
            found_get = true;
            assert_true(lookups[i].outstanding_requests >= 1);
            assert_int_equal(lookups[i].responses, 0);
            assert_true(lookups[i].branch_factor >= 1);
        }
    }
    assert_true(found_get);
    free(lookups);
    sw_session_status st;
    assert_int_equal(sw_session_get_status(s, &st), 0);
    assert_true(st.dht_lookups >= 1);
    assert_true(st.dht_total_allocations >= 1);
    sw_session_free(s);
    close(fd);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_three_sessions_bootstrap),
        cmocka_unit_test(test_not_started_without_default_features),
        cmocka_unit_test(test_trackerless_download),
        cmocka_unit_test(test_magnet_through_dht),
        cmocka_unit_test(test_items),
        cmocka_unit_test(test_state_keeps_node_id),
        cmocka_unit_test(test_running_lookups_listed),
        cmocka_unit_test(test_private_torrent_stays_off),
        cmocka_unit_test(test_new_port_announced),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
