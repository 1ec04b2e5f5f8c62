/* Calling plugins' hooks: each event walks only the dispatch list of its
 * hook, skipping plugins that are disabled or not attached to the object.
 * Session and torrent hook failures disable the plugin; peer hook failures
 * close the connection. */
#include <stdlib.h>
#include <string.h>

#include "plugin_int.h"

/* Per-connection plugin state: the attach array plus a failure a hook
 * reported where the connection could not be closed at once. */
typedef struct peer_state {
    int fail;
    sw_plugin_attach *attach;
} peer_state;

static sw_plugin_attach *attach_new(int n)
{
    sw_plugin_attach *a = calloc(1, sizeof *a + (size_t)(n > 0 ? n : 1) * sizeof(void *));
    if (a)
        a->n = n;
    return a;
}

/* Grows an attach array to n slots (new slots NULL). */
static sw_plugin_attach *attach_grow(sw_plugin_attach *a, int n)
{
    if (a && a->n >= n)
        return a;
    sw_plugin_attach *b = realloc(a, sizeof *b + (size_t)n * sizeof(void *));
    if (!b)
        return NULL;
    int old = a ? b->n : 0;
    for (int i = old; i < n; i++)
        b->ctx[i] = NULL;
    b->n = n;
    return b;
}

static void *ctx_at(const sw_plugin_attach *a, int index)
{
    return a && index < a->n ? a->ctx[index] : NULL;
}

static sw_plugin_registry *reg_of(void *ses)
{
    return ((sw_session *)ses)->plugins;
}

/* ---- torrents ---- */

void sw__plugin_torrent_added(sw_torrent *t)
{
    sw_plugin_registry *reg = reg_of(t->ses);
    if (!reg)
        return;
    const sw_plugin_list *l = &reg->sh[SW_SH_new_torrent];
    for (int k = 0; k < l->n; k++) {
        sw_plugin_session *ps = reg->slots[l->v[k]];
        if (ps->disabled || ctx_at(t->plugins, ps->index))
            continue;
        sw_plugin_attach *grown = attach_grow(t->plugins, reg->count);
        if (!grown) {
            sw__plugin_fail(ps, SW_ERR_NOMEM, "new_torrent");
            continue;
        }
        t->plugins = grown;
        void *tctx = NULL;
        int rc = ps->sh.new_torrent(ps->desc.ctx, sw__ptorrent(t), &tctx);
        if (rc < 0)
            sw__plugin_fail(ps, rc, "new_torrent");
        else
            t->plugins->ctx[ps->index] = tctx;
    }
}

void sw__plugin_torrent_free(sw_torrent *t)
{
    sw_plugin_attach *ta = t->plugins;
    sw_plugin_registry *reg = reg_of(t->ses);
    if (ta && reg) {
        for (int i = ta->n - 1; i >= 0; i--) {
            void *ctx = ta->ctx[i];
            ta->ctx[i] = NULL;
            if (ctx && i < reg->count && reg->slots[i]->th.destroy)
                reg->slots[i]->th.destroy(ctx);
        }
    }
    free(ta);
    t->plugins = NULL;
}

/* Calls one torrent hook on every attached plugin. CALL is the call on
 * (ps, ctx); a positive result stops when claim is set. */
#define TORRENT_DISPATCH(t, hook, claim, CALL)                                                     \
    do {                                                                                           \
        sw_plugin_registry *reg_ = reg_of((t)->ses);                                               \
        if (!reg_ || !(t)->plugins)                                                                \
            break;                                                                                 \
        const sw_plugin_list *l_ = &reg_->th[SW_TH_##hook];                                        \
        for (int k_ = 0; k_ < l_->n; k_++) {                                                       \
            sw_plugin_session *ps = reg_->slots[l_->v[k_]];                                        \
            void *ctx = ctx_at((t)->plugins, ps->index);                                           \
            if (!ctx || ps->disabled)                                                              \
                continue;                                                                          \
            int rc_ = (CALL);                                                                      \
            if (rc_ < 0)                                                                           \
                sw__plugin_fail(ps, rc_, #hook);                                                   \
            else if (rc_ > 0 && (claim)) {                                                         \
                result_ = SW_HANDLED;                                                              \
                break;                                                                             \
            }                                                                                      \
        }                                                                                          \
    } while (0)

/* Calls one peer hook on every plugin attached to pc; a failure closes the
 * connection. Stops at a claim when claim is set, and when pc closes. */
#define PEER_DISPATCH(reg, pc, st, hook, claim, CALL)                                              \
    do {                                                                                           \
        sw_plugin_registry *reg_ = (reg);                                                          \
        const sw_plugin_list *l_ = &reg_->ph[SW_PH_##hook];                                        \
        for (int k_ = 0; k_ < l_->n; k_++) {                                                       \
            sw_plugin_session *ps = reg_->slots[l_->v[k_]];                                        \
            void *ctx = ctx_at((st)->attach, ps->index);                                           \
            if (!ctx || ps->disabled)                                                              \
                continue;                                                                          \
            int rc_ = (CALL);                                                                      \
            if (rc_ < 0) {                                                                         \
                result_ = rc_;                                                                     \
                break;                                                                             \
            }                                                                                      \
            if (rc_ > 0 && (claim)) {                                                              \
                result_ = SW_HANDLED;                                                              \
                break;                                                                             \
            }                                                                                      \
            if (!sw__peer_conn_is_active(pc)) {                                                    \
                result_ = SW_HANDLED;                                                              \
                break;                                                                             \
            }                                                                                      \
        }                                                                                          \
    } while (0)

/* Every peer of t that has plugin state: on_piece_pass / on_piece_failed /
 * on_tick. */
static void peers_event(sw_torrent *t, int hook, int piece);

void sw__plugin_torrent_piece(sw_torrent *t, int piece, bool passed)
{
    int result_ = 0;
    if (passed)
        TORRENT_DISPATCH(t, on_piece_pass, false,
                         ps->th.on_piece_pass(ctx, sw__ptorrent(t), piece));
    else
        TORRENT_DISPATCH(t, on_piece_failed, false,
                         ps->th.on_piece_failed(ctx, sw__ptorrent(t), piece));
    peers_event(t, passed ? SW_PH_on_piece_pass : SW_PH_on_piece_failed, piece);
    (void)result_;
}

int sw__plugin_torrent_pause(sw_torrent *t, bool pause)
{
    int result_ = 0;
    if (pause)
        TORRENT_DISPATCH(t, on_pause, true, ps->th.on_pause(ctx, sw__ptorrent(t)));
    else
        TORRENT_DISPATCH(t, on_resume, true, ps->th.on_resume(ctx, sw__ptorrent(t)));
    return result_;
}

void sw__plugin_torrent_files_checked(sw_torrent *t)
{
    int result_ = 0;
    TORRENT_DISPATCH(t, on_files_checked, false, ps->th.on_files_checked(ctx, sw__ptorrent(t)));
    (void)result_;
}

void sw__plugin_torrent_state(sw_torrent *t, int state)
{
    int result_ = 0;
    TORRENT_DISPATCH(t, on_state, false, ps->th.on_state(ctx, sw__ptorrent(t), state));
    (void)result_;
}

void sw__plugin_torrent_add_peer(sw_torrent *t, const sw_endpoint *ep, uint8_t source)
{
    sw_plugin_endpoint pep;
    sw__plugin_endpoint_from(ep, &pep);
    int result_ = 0;
    TORRENT_DISPATCH(t, on_add_peer, false,
                     ps->th.on_add_peer(ctx, sw__ptorrent(t), &pep, (unsigned)source));
    (void)result_;
}

void sw__plugin_torrent_metadata(sw_torrent *t)
{
    int result_ = 0;
    TORRENT_DISPATCH(t, on_metadata, false, ps->th.on_metadata(ctx, sw__ptorrent(t)));
    (void)result_;
}

/* ---- peers ---- */

static peer_state *state_of(const sw_peer_conn *pc)
{
    return sw__peer_conn_plugins(pc);
}

/* A hook failed: the connection closes (now, if it is safe here). */
static void peer_failed(sw_peer_conn *pc, int rc)
{
    if (sw__peer_conn_is_active(pc))
        sw__peer_conn_close(pc, rc, "plugin");
}

static void peers_event(sw_torrent *t, int hook, int piece)
{
    sw_plugin_registry *reg = reg_of(t->ses);
    if (!reg || reg->ph[hook].n == 0 || !t->swarm_ready)
        return;
    size_t n = sw__swarm_active_conns(&t->swarm, NULL, 0);
    if (n == 0)
        return;
    sw_peer_conn **conns = malloc(n * sizeof *conns);
    if (!conns)
        return;
    n = sw__swarm_active_conns(&t->swarm, conns, n);
    for (size_t i = 0; i < n; i++) {
        sw_peer_conn *pc = conns[i];
        /* An earlier peer's hook may have closed this one (a ban). */
        if (!sw__peer_conn_is_active(pc))
            continue;
        peer_state *st = state_of(pc);
        if (!st)
            continue;
        if (st->fail < 0) {
            peer_failed(pc, st->fail);
            continue;
        }
        sw_plugin_peer *p = sw__ppeer(pc);
        int result_ = 0;
        if (hook == SW_PH_on_piece_pass)
            PEER_DISPATCH(reg, pc, st, on_piece_pass, false, ps->ph.on_piece_pass(ctx, p, piece));
        else if (hook == SW_PH_on_piece_failed)
            PEER_DISPATCH(reg, pc, st, on_piece_failed, false,
                          ps->ph.on_piece_failed(ctx, p, piece));
        else
            PEER_DISPATCH(reg, pc, st, on_tick, false, ps->ph.on_tick(ctx, p));
        if (result_ < 0)
            peer_failed(pc, result_);
    }
    free(conns);
}

static int on_connect(void *env_ctx, sw_peer_conn *pc)
{
    sw_plugin_registry *reg = reg_of(env_ctx);
    sw_swarm *sw = sw__peer_conn_swarm(pc);
    if (!reg || !sw)
        return 0;
    sw_torrent *t = sw->owner;
    const sw_plugin_list *l = &reg->th[SW_TH_new_connection];
    if (!t->plugins || l->n == 0)
        return 0;
    sw_plugin_attach *pa = NULL;
    int rc = 0;
    for (int k = 0; k < l->n; k++) {
        sw_plugin_session *ps = reg->slots[l->v[k]];
        void *tctx = ctx_at(t->plugins, ps->index);
        if (!tctx || ps->disabled)
            continue;
        void *pctx = NULL;
        rc = ps->th.new_connection(tctx, sw__ptorrent(t), sw__ppeer(pc), &pctx);
        if (rc < 0 || !sw__peer_conn_is_active(pc)) {
            if (pctx && ps->ph.destroy)
                ps->ph.destroy(pctx);
            break;
        }
        if (!pctx)
            continue;
        if (!pa)
            pa = attach_new(reg->count);
        if (!pa) {
            if (ps->ph.destroy)
                ps->ph.destroy(pctx);
            rc = SW_ERR_NOMEM;
            break;
        }
        pa->ctx[ps->index] = pctx;
    }
    if (rc < 0 || !sw__peer_conn_is_active(pc)) {
        /* Refused: no other hook sees the peer. */
        for (int i = pa ? pa->n - 1 : -1; i >= 0; i--)
            if (pa->ctx[i] && reg->slots[i]->ph.destroy)
                reg->slots[i]->ph.destroy(pa->ctx[i]);
        free(pa);
        return rc < 0 ? rc : SW_ERR_ABORTED;
    }
    if (!pa)
        return 0;
    peer_state *st = calloc(1, sizeof *st);
    if (!st) {
        for (int i = pa->n - 1; i >= 0; i--)
            if (pa->ctx[i] && reg->slots[i]->ph.destroy)
                reg->slots[i]->ph.destroy(pa->ctx[i]);
        free(pa);
        return SW_ERR_NOMEM;
    }
    st->attach = pa;
    sw__peer_conn_set_plugins(pc, st);
    return 0;
}

static int on_message(void *env_ctx, sw_peer_conn *pc, const sw_wire_msg *m)
{
    sw_plugin_registry *reg = reg_of(env_ctx);
    peer_state *st = state_of(pc);
    if (st->fail < 0)
        return st->fail;
    sw_plugin_peer *p = sw__ppeer(pc);
    int result_ = 0;
    switch (m->kind) {
    case SW_WIRE_MSG_CHOKE:
        PEER_DISPATCH(reg, pc, st, on_choke, true, ps->ph.on_choke(ctx, p));
        break;
    case SW_WIRE_MSG_UNCHOKE:
        PEER_DISPATCH(reg, pc, st, on_unchoke, true, ps->ph.on_unchoke(ctx, p));
        break;
    case SW_WIRE_MSG_INTERESTED:
        PEER_DISPATCH(reg, pc, st, on_interested, true, ps->ph.on_interested(ctx, p));
        break;
    case SW_WIRE_MSG_NOT_INTERESTED:
        PEER_DISPATCH(reg, pc, st, on_not_interested, true, ps->ph.on_not_interested(ctx, p));
        break;
    case SW_WIRE_MSG_HAVE:
        PEER_DISPATCH(reg, pc, st, on_have, true, ps->ph.on_have(ctx, p, m->index));
        break;
    case SW_WIRE_MSG_BITFIELD:
        PEER_DISPATCH(reg, pc, st, on_bitfield, true, ps->ph.on_bitfield(ctx, p, m->data, m->len));
        break;
    case SW_WIRE_MSG_HAVE_ALL:
        PEER_DISPATCH(reg, pc, st, on_have_all, true, ps->ph.on_have_all(ctx, p));
        break;
    case SW_WIRE_MSG_HAVE_NONE:
        PEER_DISPATCH(reg, pc, st, on_have_none, true, ps->ph.on_have_none(ctx, p));
        break;
    case SW_WIRE_MSG_ALLOWED_FAST:
        PEER_DISPATCH(reg, pc, st, on_allowed_fast, true, ps->ph.on_allowed_fast(ctx, p, m->index));
        break;
    case SW_WIRE_MSG_SUGGEST:
        PEER_DISPATCH(reg, pc, st, on_suggest, true, ps->ph.on_suggest(ctx, p, m->index));
        break;
    case SW_WIRE_MSG_REQUEST:
        PEER_DISPATCH(reg, pc, st, on_request, true,
                      ps->ph.on_request(ctx, p, m->index, m->begin, m->length));
        break;
    case SW_WIRE_MSG_CANCEL:
        PEER_DISPATCH(reg, pc, st, on_cancel, true,
                      ps->ph.on_cancel(ctx, p, m->index, m->begin, m->length));
        break;
    case SW_WIRE_MSG_REJECT:
        PEER_DISPATCH(reg, pc, st, on_reject, true,
                      ps->ph.on_reject(ctx, p, m->index, m->begin, m->length));
        break;
    case SW_WIRE_MSG_PIECE:
        PEER_DISPATCH(reg, pc, st, on_piece, true,
                      ps->ph.on_piece(ctx, p, m->index, m->begin, m->data, m->len));
        break;
    case SW_WIRE_MSG_UNKNOWN:
        PEER_DISPATCH(reg, pc, st, on_unknown_message, true,
                      ps->ph.on_unknown_message(ctx, p, m->id, m->data, m->len));
        break;
    default:
        break; /* extended messages go through on_extended */
    }
    return result_;
}

static void on_disconnect(void *env_ctx, sw_peer_conn *pc, int error)
{
    peer_state *st = state_of(pc);
    sw_plugin_registry *reg = reg_of(env_ctx);
    if (!reg)
        return;
    const sw_plugin_list *l = &reg->ph[SW_PH_on_disconnect];
    for (int k = 0; k < l->n; k++) {
        sw_plugin_session *ps = reg->slots[l->v[k]];
        void *pctx = ctx_at(st->attach, ps->index);
        if (pctx && !ps->disabled)
            ps->ph.on_disconnect(pctx, sw__ppeer(pc), error);
    }
}

static void on_free(void *env_ctx, sw_peer_conn *pc)
{
    peer_state *st = state_of(pc);
    sw__peer_conn_set_plugins(pc, NULL);
    sw_plugin_registry *reg = reg_of(env_ctx);
    sw_plugin_attach *pa = st->attach;
    for (int i = pa->n - 1; reg && i >= 0; i--) {
        void *pctx = pa->ctx[i];
        if (pctx && i < reg->count && reg->slots[i]->ph.destroy)
            reg->slots[i]->ph.destroy(pctx);
    }
    free(pa);
    free(st);
}

static void add_handshake(void *env_ctx, sw_peer_conn *pc, sw_bencoder *enc)
{
    sw_plugin_registry *reg = reg_of(env_ctx);
    peer_state *st = state_of(pc);
    if (!st)
        return;
    sw_plugin_peer *p = sw__ppeer(pc);
    int result_ = 0;
    PEER_DISPATCH(reg, pc, st, add_handshake, false, ps->ph.add_handshake(ctx, p, enc));
    /* The handshake is being built: close once it is out of the way. */
    if (result_ < 0)
        st->fail = result_;
}

static int on_ext_handshake(void *env_ctx, sw_peer_conn *pc, sw_bnode dict)
{
    sw_plugin_registry *reg = reg_of(env_ctx);
    peer_state *st = state_of(pc);
    if (!st)
        return 0;
    if (st->fail < 0)
        return st->fail;
    sw_plugin_peer *p = sw__ppeer(pc);
    int result_ = 0;
    PEER_DISPATCH(reg, pc, st, on_extension_handshake, false,
                  ps->ph.on_extension_handshake(ctx, p, dict));
    return result_ < 0 ? result_ : 0;
}

static int on_extended(void *env_ctx, sw_peer_conn *pc, uint8_t id, const uint8_t *data, size_t len)
{
    sw_plugin_registry *reg = reg_of(env_ctx);
    peer_state *st = state_of(pc);
    if (!st)
        return 0;
    if (st->fail < 0)
        return st->fail;
    sw_plugin_peer *p = sw__ppeer(pc);
    int result_ = 0;
    PEER_DISPATCH(reg, pc, st, on_extended, true, ps->ph.on_extended(ctx, p, id, data, len));
    return result_;
}

static size_t ext_names(void *env_ctx, sw_peer_conn *pc, sw_wire_ext_entry *out, size_t max)
{
    sw_plugin_registry *reg = reg_of(env_ctx);
    peer_state *st = state_of(pc);
    if (!st || !reg)
        return 0;
    size_t n = 0;
    for (int i = 0; i < reg->count; i++) {
        sw_plugin_session *ps = reg->slots[i];
        if (ps->disabled || !ctx_at(st->attach, i))
            continue;
        for (int e = 0; e < ps->num_ext && n < max; e++) {
            out[n].name = reg->ext_names[ps->ext_ids[e] - 1];
            out[n].id = ps->ext_ids[e];
            n++;
        }
    }
    return n;
}

const sw_peer_ext_hooks sw__plugin_peer_ext_hooks = {
    .add_handshake = add_handshake,
    .on_handshake = on_ext_handshake,
    .on_extended = on_extended,
    .on_connect = on_connect,
    .on_message = on_message,
    .on_disconnect = on_disconnect,
    .on_free = on_free,
    .ext_names = ext_names,
};

/* ---- session ---- */

void sw__plugin_tick(sw_session *ses)
{
    sw_plugin_registry *reg = reg_of(ses);
    if (!reg)
        return;
    sw__plugin_teardown_disabled(ses);
    const sw_plugin_list *l = &reg->sh[SW_SH_on_tick];
    for (int k = 0; k < l->n; k++) {
        sw_plugin_session *ps = reg->slots[l->v[k]];
        if (ps->disabled)
            continue;
        int rc = ps->sh.on_tick(ps->desc.ctx);
        if (rc < 0)
            sw__plugin_fail(ps, rc, "on_tick");
    }
    bool torrent_ticks = reg->th[SW_TH_on_tick].n > 0;
    for (sw_torrent *t = ses->torrents; t; t = t->next) {
        if (!t->plugins)
            continue;
        if (torrent_ticks) {
            int result_ = 0;
            TORRENT_DISPATCH(t, on_tick, false, ps->th.on_tick(ctx, sw__ptorrent(t)));
            (void)result_;
        }
        peers_event(t, SW_PH_on_tick, -1);
    }
}

void sw__plugin_on_alert(sw_session *ses, const sw_alert *a)
{
    sw_plugin_registry *reg = reg_of(ses);
    if (!reg || reg->sh[SW_SH_on_alert].n == 0 || reg->dispatching_alert)
        return;
    /* Alerts the hooks post themselves are not fed back to them. */
    reg->dispatching_alert = true;
    const sw_plugin_list *l = &reg->sh[SW_SH_on_alert];
    for (int k = 0; k < l->n; k++) {
        sw_plugin_session *ps = reg->slots[l->v[k]];
        if (ps->disabled)
            continue;
        int rc = ps->sh.on_alert(ps->desc.ctx, a);
        if (rc < 0)
            sw__plugin_fail(ps, rc, "on_alert");
    }
    reg->dispatching_alert = false;
}

int sw__plugin_save_state(sw_session *ses, sw_bencoder *enc)
{
    sw_plugin_registry *reg = reg_of(ses);
    if (!reg || reg->sh[SW_SH_save_state].n == 0)
        return 0;
    int rc = sw_benc_ckey(enc, "plugins");
    if (rc == 0)
        rc = sw_benc_dict_begin(enc);
    const sw_plugin_list *l = &reg->sh[SW_SH_save_state];
    for (int k = 0; rc == 0 && k < l->n; k++) {
        sw_plugin_session *ps = reg->slots[l->v[k]];
        if (ps->disabled)
            continue;
        rc = sw_benc_ckey(enc, ps->name);
        if (rc == 0)
            rc = sw_benc_dict_begin(enc);
        int prc = rc == 0 ? ps->sh.save_state(ps->desc.ctx, enc) : 0;
        if (rc == 0)
            rc = sw_benc_end(enc);
        if (prc < 0)
            sw__plugin_fail(ps, prc, "save_state");
    }
    if (rc == 0)
        rc = sw_benc_end(enc);
    return rc;
}

void sw__plugin_load_state(sw_session *ses, sw_bnode root)
{
    sw_plugin_registry *reg = reg_of(ses);
    sw_bnode all = sw_bnode_dict_get(root, "plugins");
    if (!reg || !sw_bnode_is(all, SW_BNODE_DICT))
        return;
    const sw_plugin_list *l = &reg->sh[SW_SH_load_state];
    for (int k = 0; k < l->n; k++) {
        sw_plugin_session *ps = reg->slots[l->v[k]];
        sw_bnode mine = sw_bnode_dict_get(all, ps->name);
        if (ps->disabled || !sw_bnode_is(mine, SW_BNODE_DICT))
            continue;
        int rc = ps->sh.load_state(ps->desc.ctx, mine);
        if (rc < 0)
            sw__plugin_fail(ps, rc, "load_state");
    }
}
