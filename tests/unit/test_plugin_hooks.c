/* Plugin hooks on a real transfer between two sessions on loopback: each
 * session runs a recording plugin (compiled in, added from its descriptor)
 * and the test checks that the hooks fire in the documented order with the
 * documented arguments: session, torrent and peer levels; the extension
 * handshake and an extension message of the plugin's own; message hooks;
 * piece hooks with reads of the data; state, files-checked, add-peer and
 * alert hooks; save/load state; destroy order. Then claims (a claimed pause,
 * a claimed message), a failing peer hook (the peer is disconnected, the
 * plugin stays), a refused connection and a plugin added to a session that
 * already has a torrent. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <uv.h>

#define SW_PLUGIN_BUILTIN 1
#include <cswarm/cswarm.h>
#include <cswarm/plugin.h>

#include "plugin_fixture.h"
#include "session_fixture.h"

/* ---- the recording plugin ---- */

#define MAX_EVENTS 20000

typedef struct recorder {
    const char *role;
    uv_mutex_t mu;
    char *events[MAX_EVENTS];
    int n;
    sw_plugin_session *s;
    /* behaviour switches, set before the plugin is added */
    bool claim_pause;
    bool claim_interested;
    bool fail_ext_handshake;
    bool refuse_connections;
    /* facts checked after the run (under mu) */
    int64_t piece_bytes;
    int reads_ok, reads_bad;
    int loaded_state;
    const fx_torrent *t;
} recorder;

static recorder g_seed, g_leech;

static void rec(recorder *r, const char *fmt, ...)
{
    char buf[160];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    uv_mutex_lock(&r->mu);
    if (r->n < MAX_EVENTS)
        r->events[r->n++] = strdup(buf);
    uv_mutex_unlock(&r->mu);
}

static void rec_reset(recorder *r, const char *role)
{
    for (int i = 0; i < r->n; i++)
        free(r->events[i]);
    memset(r, 0, sizeof *r);
    r->role = role;
    uv_mutex_init(&r->mu);
}

static void rec_free(recorder *r)
{
    for (int i = 0; i < r->n; i++)
        free(r->events[i]);
    r->n = 0;
    uv_mutex_destroy(&r->mu);
}

/* Index of the first event starting with prefix at or after from, or -1. */
static int find_from(recorder *r, const char *prefix, int from)
{
    uv_mutex_lock(&r->mu);
    int found = -1;
    for (int i = from < 0 ? 0 : from; i < r->n && found < 0; i++)
        if (strncmp(r->events[i], prefix, strlen(prefix)) == 0)
            found = i;
    uv_mutex_unlock(&r->mu);
    return found;
}

static int find(recorder *r, const char *prefix)
{
    return find_from(r, prefix, 0);
}

static int count(recorder *r, const char *prefix)
{
    int n = 0;
    for (int i = find(r, prefix); i >= 0; i = find_from(r, prefix, i + 1))
        n++;
    return n;
}

/* Asserts that the events start in this order (each found after the
 * previous one). */
static void assert_order(recorder *r, const char *const *prefixes, int n)
{
    int at = -1;
    for (int i = 0; i < n; i++) {
        int next = find_from(r, prefixes[i], at + 1);
        if (next < 0) {
            uv_mutex_lock(&r->mu);
            for (int k = 0; k < r->n && k < 80; k++)
                fprintf(stderr, "  %s[%d] %s\n", r->role, k, r->events[k]);
            uv_mutex_unlock(&r->mu);
            fail_msg("%s: no \"%s\" after event %d", r->role, prefixes[i], at);
        }
        at = next;
    }
}

static bool wait_event(recorder *r, const char *prefix, int timeout_ms)
{
    uint64_t deadline = sfx_now_ms() + (uint64_t)timeout_ms;
    while (sfx_now_ms() < deadline) {
        if (find(r, prefix) >= 0)
            return true;
        usleep(10000);
    }
    return false;
}

typedef struct rec_torrent {
    recorder *r;
    sw_plugin_torrent *t;
} rec_torrent;

typedef struct rec_peer {
    recorder *r;
    sw_plugin_peer *p;
    uint8_t remote_id;
} rec_peer;

static int r_added(void *ctx, sw_plugin_session *s)
{
    recorder *r = ctx;
    r->s = s;
    rec(r, "added ext_id=%d", sw_plugin_extension_id(s, "sw_rec"));
    return SW_OK;
}

static void r_destroy(void *ctx)
{
    rec(ctx, "session_destroy");
}

static int r_new_torrent(void *ctx, sw_plugin_torrent *t, void **out)
{
    recorder *r = ctx;
    uint8_t ih[20];
    sw_plugin_torrent_info_hash(t, ih);
    const sw_info_hashes *h = sw_torrent_info_hashes(r->t->ti);
    rec(r, "new_torrent hash_ok=%d meta=%d pieces=%d", memcmp(ih, h->v1.v, 20) == 0,
        sw_plugin_torrent_has_metadata(t), sw_plugin_torrent_num_pieces(t));
    rec_torrent *rt = calloc(1, sizeof *rt);
    rt->r = r;
    rt->t = t;
    *out = rt;
    return SW_OK;
}

static int r_tick(void *ctx)
{
    (void)ctx;
    return SW_OK;
}

static int r_on_alert(void *ctx, const sw_alert *a)
{
    recorder *r = ctx;
    if (a->type == SW_ALERT_ADD_TORRENT || a->type == SW_ALERT_TORRENT_FINISHED)
        rec(r, "alert %s", sw_alert_type_name(a->type));
    return SW_OK;
}

static int r_save_state(void *ctx, sw_bencoder *enc)
{
    recorder *r = ctx;
    rec(r, "save_state");
    int rc = sw_benc_ckey(enc, "n");
    if (rc == 0)
        rc = sw_benc_int(enc, 42);
    return rc;
}

static int r_load_state(void *ctx, sw_bnode dict)
{
    recorder *r = ctx;
    int64_t n = 0;
    sw_bnode_dict_get_int(dict, "n", &n);
    uv_mutex_lock(&r->mu);
    r->loaded_state = (int)n;
    uv_mutex_unlock(&r->mu);
    rec(r, "load_state n=%lld", (long long)n);
    return SW_OK;
}

/* torrent level */

static void r_torrent_destroy(void *ctx)
{
    rec_torrent *rt = ctx;
    rec(rt->r, "torrent_destroy");
    free(rt);
}

static int r_new_connection(void *ctx, sw_plugin_torrent *t, sw_plugin_peer *p, void **out)
{
    rec_torrent *rt = ctx;
    sw_plugin_endpoint ep;
    sw_plugin_peer_endpoint(p, &ep);
    unsigned f = sw_plugin_peer_flags(p);
    rec(rt->r, "new_connection same_torrent=%d v4=%d lo=%d outgoing=%d ext=%d fast=%d",
        sw_plugin_peer_torrent(p) == t, ep.family == SW_PLUGIN_IPV4,
        ep.addr[0] == 127 && ep.addr[3] == 1, (f & SW_PLUGIN_PEER_OUTGOING) != 0,
        (f & SW_PLUGIN_PEER_EXTENSIONS) != 0, (f & SW_PLUGIN_PEER_FAST) != 0);
    if (rt->r->refuse_connections)
        return SW_ERR_BANNED;
    rec_peer *rp = calloc(1, sizeof *rp);
    rp->r = rt->r;
    rp->p = p;
    *out = rp;
    return SW_OK;
}

static void on_read(void *user, int error, const uint8_t *data, size_t len)
{
    recorder *r = user;
    /* user carries the recorder; the offset is recovered from a tag the
     * read was issued with (piece 0, offset 0 here). */
    uv_mutex_lock(&r->mu);
    if (error == 0 && len > 0 && memcmp(data, r->t->data, len) == 0)
        r->reads_ok++;
    else
        r->reads_bad++;
    uv_mutex_unlock(&r->mu);
}

static int r_piece_pass(void *ctx, sw_plugin_torrent *t, int piece)
{
    rec_torrent *rt = ctx;
    rec(rt->r, "piece_pass %d", piece);
    if (piece == 0) {
        int len = sw_plugin_torrent_piece_size(t, 0);
        /* (No cmocka asserts here: this is the network thread.) */
        int rc1 = sw_plugin_torrent_read(t, 0, 0, len, on_read, rt->r);
        /* Out of range reads are refused at once, without a callback. */
        int rc2 = sw_plugin_torrent_read(t, 0, 1, len, on_read, rt->r);
        rec(rt->r, "read rc=%d out_of_range=%d", rc1, rc2 == SW_ERR_INVALID_ARG);
    }
    return SW_OK;
}

static int r_tick_t(void *ctx, sw_plugin_torrent *t)
{
    (void)ctx;
    (void)t;
    return SW_OK;
}

static int r_pause(void *ctx, sw_plugin_torrent *t)
{
    (void)t;
    rec_torrent *rt = ctx;
    rec(rt->r, "on_pause");
    return rt->r->claim_pause ? SW_HANDLED : SW_OK;
}

static int r_resume(void *ctx, sw_plugin_torrent *t)
{
    (void)t;
    rec(((rec_torrent *)ctx)->r, "on_resume");
    return SW_OK;
}

static int r_files_checked(void *ctx, sw_plugin_torrent *t)
{
    (void)t;
    rec(((rec_torrent *)ctx)->r, "files_checked");
    return SW_OK;
}

static int r_state(void *ctx, sw_plugin_torrent *t, int state)
{
    (void)t;
    rec(((rec_torrent *)ctx)->r, "state %s", sw_torrent_state_name(state));
    return SW_OK;
}

static int r_add_peer(void *ctx, sw_plugin_torrent *t, const sw_plugin_endpoint *ep,
                      unsigned source)
{
    (void)t;
    rec(((rec_torrent *)ctx)->r, "add_peer port=%u manual=%d", ep->port,
        (source & SW_PLUGIN_SRC_MANUAL) != 0);
    return SW_OK;
}

/* peer level */

static int r_disconnect(void *ctx, sw_plugin_peer *p, int error)
{
    (void)p;
    rec(((rec_peer *)ctx)->r, "disconnect %s", sw_err_name(error));
    return SW_OK;
}

static void r_peer_destroy(void *ctx)
{
    rec_peer *rp = ctx;
    rec(rp->r, "peer_destroy");
    free(rp);
}

static int r_add_handshake(void *ctx, sw_plugin_peer *p, sw_bencoder *enc)
{
    (void)p;
    rec_peer *rp = ctx;
    rec(rp->r, "add_handshake");
    int rc = sw_benc_ckey(enc, "sw_rec_role");
    if (rc == 0)
        rc = sw_benc_cstr(enc, rp->r->role);
    return rc;
}

static int r_ext_handshake(void *ctx, sw_plugin_peer *p, sw_bnode dict)
{
    rec_peer *rp = ctx;
    int64_t id = 0;
    sw_bnode_dict_get_int(sw_bnode_dict_get(dict, "m"), "sw_rec", &id);
    size_t len;
    const char *role = sw_bnode_str(sw_bnode_dict_get(dict, "sw_rec_role"), &len);
    rec(rp->r, "ext_handshake id=%d role=%.*s", (int)id, role ? (int)len : 0, role ? role : "");
    if (rp->r->fail_ext_handshake)
        return SW_ERR_PROTOCOL;
    rp->remote_id = (uint8_t)id;
    char msg[32];
    int n = snprintf(msg, sizeof msg, "ping:%s", rp->r->role);
    return sw_plugin_peer_send_extended(p, rp->remote_id, (const uint8_t *)msg, (size_t)n);
}

static int r_extended(void *ctx, sw_plugin_peer *p, uint8_t id, const uint8_t *data, size_t len)
{
    (void)p;
    rec_peer *rp = ctx;
    if (id != sw_plugin_extension_id(rp->r->s, "sw_rec"))
        return SW_OK;
    rec(rp->r, "extended %.*s", (int)len, (const char *)data);
    return SW_HANDLED;
}

static int r_have_all(void *ctx, sw_plugin_peer *p)
{
    (void)p;
    rec(((rec_peer *)ctx)->r, "have_all");
    return SW_OK;
}

static int r_bitfield(void *ctx, sw_plugin_peer *p, const uint8_t *bits, size_t len)
{
    (void)p;
    (void)bits;
    rec(((rec_peer *)ctx)->r, "bitfield %zu", len);
    return SW_OK;
}

static int r_interested(void *ctx, sw_plugin_peer *p)
{
    (void)p;
    rec_peer *rp = ctx;
    rec(rp->r, "interested");
    return rp->r->claim_interested ? SW_HANDLED : SW_OK;
}

static int r_unchoke(void *ctx, sw_plugin_peer *p)
{
    (void)p;
    rec(((rec_peer *)ctx)->r, "unchoke");
    return SW_OK;
}

static int r_request(void *ctx, sw_plugin_peer *p, uint32_t index, uint32_t begin, uint32_t length)
{
    (void)p;
    rec_peer *rp = ctx;
    const fx_torrent *t = rp->r->t;
    int64_t off = (int64_t)index * t->piece_length + begin;
    bool ok = begin % 16384 == 0 && length > 0 && length <= 16384 && off + length <= t->total;
    rec(rp->r, "request ok=%d", ok);
    return SW_OK;
}

static int r_piece(void *ctx, sw_plugin_peer *p, uint32_t index, uint32_t begin,
                   const uint8_t *data, size_t len)
{
    (void)p;
    rec_peer *rp = ctx;
    const fx_torrent *t = rp->r->t;
    int64_t off = (int64_t)index * t->piece_length + begin;
    bool ok = off + (int64_t)len <= t->total && memcmp(data, t->data + off, len) == 0;
    uv_mutex_lock(&rp->r->mu);
    rp->r->piece_bytes += (int64_t)len;
    uv_mutex_unlock(&rp->r->mu);
    rec(rp->r, "piece ok=%d", ok);
    return SW_OK;
}

static int r_peer_piece_pass(void *ctx, sw_plugin_peer *p, int piece)
{
    (void)p;
    rec(((rec_peer *)ctx)->r, "peer_piece_pass %d", piece);
    return SW_OK;
}

static const sw_session_hooks rec_session = {
    .struct_size = sizeof(sw_session_hooks),
    .added = r_added,
    .destroy = r_destroy,
    .new_torrent = r_new_torrent,
    .on_tick = r_tick,
    .on_alert = r_on_alert,
    .save_state = r_save_state,
    .load_state = r_load_state,
};
static const sw_torrent_hooks rec_torrent_hooks = {
    .struct_size = sizeof(sw_torrent_hooks),
    .destroy = r_torrent_destroy,
    .new_connection = r_new_connection,
    .on_piece_pass = r_piece_pass,
    .on_tick = r_tick_t,
    .on_pause = r_pause,
    .on_resume = r_resume,
    .on_files_checked = r_files_checked,
    .on_state = r_state,
    .on_add_peer = r_add_peer,
};
static const sw_peer_hooks rec_peer_hooks = {
    .struct_size = sizeof(sw_peer_hooks),
    .on_disconnect = r_disconnect,
    .destroy = r_peer_destroy,
    .add_handshake = r_add_handshake,
    .on_extension_handshake = r_ext_handshake,
    .on_extended = r_extended,
    .on_unchoke = r_unchoke,
    .on_interested = r_interested,
    .on_have_all = r_have_all,
    .on_bitfield = r_bitfield,
    .on_request = r_request,
    .on_piece = r_piece,
    .on_piece_pass = r_peer_piece_pass,
};
static const char *const rec_extensions[] = {"sw_rec", NULL};

static void fill(sw_plugin_desc *out, recorder *r)
{
    SW_PLUGIN_DESC_INIT(out, "rec", "1.0");
    out->ctx = r;
    out->extensions = rec_extensions;
    out->session_hooks = &rec_session;
    out->torrent_hooks = &rec_torrent_hooks;
    out->peer_hooks = &rec_peer_hooks;
}

SW_PLUGIN_ENTRY(rec_seed)
{
    SW_PLUGIN_INIT2(host, errmsg);
    fill(out, &g_seed);
    return SW_OK;
}

SW_PLUGIN_ENTRY(rec_leech)
{
    SW_PLUGIN_INIT2(host, errmsg);
    fill(out, &g_leech);
    return SW_OK;
}

/* ---- the setup ---- */

static const fx_file files[] = {{"a.bin", 200000, false}, {"b.bin", 70001, false}};

typedef struct world {
    fx_torrent t;
    sfx_dir seed_dir, leech_dir;
    sw_session *seeder, *leecher;
    sw_torrent_handle hs, hl;
} world;

static void world_setup(world *w)
{
    memset(w, 0, sizeof *w);
    assert_int_equal(fx_make_torrent(&w->t, "hooks", files, 2, 32768, 11, false), 0);
    rec_reset(&g_seed, "seed");
    rec_reset(&g_leech, "leech");
    g_seed.t = g_leech.t = &w->t;
    sfx_dir_make(&w->seed_dir);
    sfx_dir_make(&w->leech_dir);
    sfx_write_torrent_data(&w->t, w->seed_dir.path);
    w->seeder = sfx_session(0, SW_ALERT_CAT_ALL);
    w->leecher = sfx_session(0, SW_ALERT_CAT_ALL);
}

static void add_plugins(world *w)
{
    sw_error_detail err;
    assert_int_equal(sw_session_add_extension(w->seeder, sw_plugin_rec_seed_init, &err), 0);
    assert_int_equal(sw_session_add_extension(w->leecher, sw_plugin_rec_leech_init, &err), 0);
}

static void start_transfer(world *w)
{
    w->hs = sfx_add(w->seeder, w->t.ti, w->seed_dir.path);
    assert_true(sfx_wait_state(w->hs, SW_TORRENT_SEEDING, SFX_WAIT_MS));
    w->hl = sfx_add(w->leecher, w->t.ti, w->leech_dir.path);
    assert_true(sfx_wait_state(w->hl, SW_TORRENT_DOWNLOADING, SFX_WAIT_MS));
    assert_int_equal(sw_torrent_connect_peer(w->hl, "127.0.0.1", sfx_listen_port(w->seeder)), 0);
}

static void world_teardown(world *w)
{
    sw_session_free(w->leecher);
    sw_session_free(w->seeder);
    sfx_dir_remove(&w->seed_dir);
    sfx_dir_remove(&w->leech_dir);
    fx_torrent_free(&w->t);
    rec_free(&g_seed);
    rec_free(&g_leech);
}

/* ---- tests ---- */

static void test_hook_order_and_arguments(void **state)
{
    (void)state;
    world w;
    world_setup(&w);
    add_plugins(&w);
    start_transfer(&w);
    assert_true(sfx_wait_finished(w.hl, SFX_WAIT_MS));
    assert_true(sfx_torrent_data_equals(&w.t, w.leech_dir.path));
    assert_true(wait_event(&g_leech, "extended ping:seed", SFX_WAIT_MS));
    assert_true(wait_event(&g_seed, "extended ping:leech", SFX_WAIT_MS));
    int num_pieces = sw_torrent_info_num_pieces(w.t.ti);

    /* save_state / load_state round trip through the plugin. */
    uint8_t *st;
    size_t st_len;
    assert_int_equal(sw_session_save_state(w.leecher, SW_SAVE_ALL, &st, &st_len), 0);
    assert_non_null(memmem(st, st_len, "7:pluginsd3:recd1:ni42eee", 25));
    assert_int_equal(sw_session_load_state(w.leecher, st, st_len, SW_SAVE_ALL), 0);
    free(st);
    assert_int_equal(g_leech.loaded_state, 42);

    /* The end of the connection, the torrent and the session. */
    assert_int_equal(sw_session_remove_torrent(w.leecher, w.hl, 0), 0);
    assert_true(wait_event(&g_leech, "torrent_destroy", SFX_WAIT_MS));
    sw_session_free(w.leecher);
    w.leecher = sfx_session(0, SW_ALERT_CAT_ALL); /* for teardown */

    static const char *const leech_order[] = {
        "added ext_id=",
        "new_torrent hash_ok=1 meta=1 pieces=",
        "state checking",
        "alert add_torrent",
        "state downloading",
        "files_checked",
        "add_peer port=",
        "new_connection same_torrent=1 v4=1 lo=1 outgoing=1 ext=1 fast=1",
        "add_handshake",
        "ext_handshake id=",
        "have_all",
        "unchoke",
        "piece ok=1",
        "piece_pass ",
        "peer_piece_pass ",
        "state seeding",
        "alert torrent_finished",
        "disconnect SW_OK", /* both are seeds now */
        "peer_destroy",
        "torrent_destroy",
        "session_destroy",
    };
    static const char *const state_order[] = {"save_state", "load_state n=42", "torrent_destroy"};
    assert_order(&g_leech, state_order, 3);
    assert_order(&g_leech, leech_order, sizeof leech_order / sizeof leech_order[0]);
    assert_true(find(&g_leech, "added ext_id=1") == 0);
    assert_true(find(&g_leech, "ext_handshake id=1 role=seed") >= 0);
    assert_true(find(&g_leech, "add_peer port=") >= 0);
    /* Every piece passed exactly once, every block arrived intact. */
    assert_int_equal(count(&g_leech, "piece_pass "), num_pieces);
    assert_int_equal(count(&g_leech, "peer_piece_pass "), num_pieces);
    for (int i = 0; i < num_pieces; i++) {
        char ev[32];
        snprintf(ev, sizeof ev, "piece_pass %d", i);
        assert_true(find(&g_leech, ev) >= 0);
    }
    assert_int_equal(count(&g_leech, "piece ok=0"), 0);
    assert_int_equal(g_leech.piece_bytes, w.t.total);
    assert_true(find(&g_leech, "read rc=0 out_of_range=1") >= 0);
    assert_int_equal(g_leech.reads_ok, 1);
    assert_int_equal(g_leech.reads_bad, 0);
    /* Each context ends once, and the session level last. */
    assert_int_equal(count(&g_leech, "peer_destroy"), 1);
    assert_int_equal(count(&g_leech, "torrent_destroy"), 1);
    assert_int_equal(count(&g_leech, "session_destroy"), 1);
    assert_int_equal(g_leech.n - 1, find(&g_leech, "session_destroy"));

    static const char *const seed_order[] = {
        "added ext_id=",
        "new_torrent hash_ok=1 meta=1",
        "state seeding",
        "files_checked",
        "new_connection same_torrent=1 v4=1 lo=1 outgoing=0 ext=1 fast=1",
        "add_handshake",
        "ext_handshake id=1 role=leech",
        "interested",
        "request ok=1",
    };
    assert_order(&g_seed, seed_order, sizeof seed_order / sizeof seed_order[0]);
    assert_int_equal(count(&g_seed, "request ok=0"), 0);
    assert_true(count(&g_seed, "request ok=1") >= 17); /* 270001 bytes in 16 KiB blocks */
    world_teardown(&w);
}

static void test_claimed_pause_and_message(void **state)
{
    (void)state;
    world w;
    world_setup(&w);
    g_seed.claim_interested = true; /* the seeder never hears of interest */
    g_leech.claim_pause = true;
    add_plugins(&w);
    start_transfer(&w);
    assert_true(wait_event(&g_seed, "interested", SFX_WAIT_MS));
    /* Interest claimed: no unchoke, so nothing comes down. */
    usleep(1500000);
    sw_torrent_status st;
    assert_int_equal(sw_torrent_get_status(w.hl, &st), 0);
    assert_int_equal(st.total_payload_download, 0);
    assert_true(find(&g_leech, "unchoke") < 0);
    /* A claimed pause leaves the torrent running; resume is not claimed. */
    assert_int_equal(sw_torrent_pause(w.hl), 0);
    assert_true(wait_event(&g_leech, "on_pause", SFX_WAIT_MS));
    assert_int_equal(sw_torrent_get_status(w.hl, &st), 0);
    assert_false(st.paused);
    /* Unclaimed, the pause happens, and so does the resume. */
    __atomic_store_n(&g_leech.claim_pause, false, __ATOMIC_SEQ_CST);
    assert_int_equal(sw_torrent_pause(w.hl), 0);
    assert_int_equal(sw_torrent_get_status(w.hl, &st), 0);
    assert_true(st.paused);
    assert_int_equal(count(&g_leech, "on_pause"), 2);
    assert_int_equal(sw_torrent_resume(w.hl), 0);
    assert_true(wait_event(&g_leech, "on_resume", SFX_WAIT_MS));
    assert_int_equal(sw_torrent_get_status(w.hl, &st), 0);
    assert_false(st.paused);
    world_teardown(&w);
}

static void test_failing_peer_hook_disconnects(void **state)
{
    (void)state;
    world w;
    world_setup(&w);
    g_leech.fail_ext_handshake = true;
    add_plugins(&w);
    start_transfer(&w);
    sw_alert *a = sfx_wait_alert(w.leecher, SW_ALERT_PEER_DISCONNECTED, w.hl.id, SFX_WAIT_MS);
    assert_non_null(a);
    assert_int_equal(a->error, SW_ERR_PROTOCOL);
    sw_alert_free(a);
    assert_true(wait_event(&g_leech, "disconnect SW_ERR_PROTOCOL", SFX_WAIT_MS));
    assert_true(wait_event(&g_leech, "peer_destroy", SFX_WAIT_MS));
    /* The plugin itself stays. */
    char *names = NULL;
    assert_int_equal(sw_session_plugin_names(w.leecher, &names), 0);
    assert_string_equal(names, "rec");
    free(names);
    world_teardown(&w);
}

static bool wait_peer_gone(sw_session *ses, uint64_t torrent_id)
{
    uint64_t deadline = sfx_now_ms() + SFX_WAIT_MS;
    while (sfx_now_ms() < deadline) {
        sw_session_wait_for_alert(ses, 50);
        sw_alert *a;
        while (sw_session_pop_alert(ses, &a) == 0 && a) {
            bool gone = a->torrent_id == torrent_id &&
                        (a->type == SW_ALERT_PEER_DISCONNECTED || a->type == SW_ALERT_PEER_ERROR);
            sw_alert_free(a);
            if (gone)
                return true;
        }
    }
    return false;
}

static void test_refused_connection(void **state)
{
    (void)state;
    world w;
    world_setup(&w);
    g_seed.refuse_connections = true;
    add_plugins(&w);
    start_transfer(&w);
    assert_true(wait_event(&g_seed, "new_connection", SFX_WAIT_MS));
    /* The leecher sees the peer go: peer_disconnected if the seeder's
     * handshake reached it first (TCP sends it before the refusal), else
     * peer_error (over uTP a close cancels the queued handshake). */
    assert_true(wait_peer_gone(w.leecher, w.hl.id));
    /* The refused peer got no further hook on the seeder. */
    assert_true(find(&g_seed, "add_handshake") < 0);
    assert_true(find(&g_seed, "disconnect") < 0);
    assert_true(find(&g_seed, "peer_destroy") < 0);
    sw_torrent_status st;
    assert_int_equal(sw_torrent_get_status(w.hl, &st), 0);
    assert_int_equal(st.total_payload_download, 0);
    world_teardown(&w);
}

static void test_plugin_added_after_torrent(void **state)
{
    (void)state;
    world w;
    world_setup(&w);
    w.hs = sfx_add(w.seeder, w.t.ti, w.seed_dir.path);
    assert_true(sfx_wait_state(w.hs, SW_TORRENT_SEEDING, SFX_WAIT_MS));
    add_plugins(&w);
    /* new_torrent for the torrent already there, right after added. */
    static const char *const order[] = {"added", "new_torrent hash_ok=1 meta=1"};
    assert_order(&g_seed, order, 2);
    assert_int_equal(find(&g_seed, "new_torrent"), 1);
    world_teardown(&w);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hook_order_and_arguments),
        cmocka_unit_test(test_claimed_pause_and_message),
        cmocka_unit_test(test_failing_peer_hook_disconnects),
        cmocka_unit_test(test_refused_connection),
        cmocka_unit_test(test_plugin_added_after_torrent),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
