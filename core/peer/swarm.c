/* A torrent's swarm: its lifetime, piece completion (hash jobs, HAVE
 * broadcast, hash failures), connecting to known peers, and the per-tick
 * work of its connections. */
#include <stdlib.h>
#include <string.h>

#include "mixed_mode.h"
#include "peer_limits.h"

void sw__rate_update(sw_rate *r, int64_t total, uint64_t dt_ms)
{
    if (dt_ms == 0)
        return;
    int64_t delta = total - r->last_total;
    r->last_total = total;
    int64_t inst = delta * 1000 / (int64_t)dt_ms;
    /* An exponential average over about three samples: quick to follow a
     * change, smooth enough for the choker and the request queue. */
    r->rate = (r->rate * 2 + inst) / 3;
    if (inst == 0 && r->rate < 16)
        r->rate = 0;
}

void sw__xfer_rates_update(sw_xfer_rates *r, const sw_xfer_stats *s, uint64_t dt_ms)
{
    sw__rate_update(&r->payload_down, s->payload_down, dt_ms);
    sw__rate_update(&r->payload_up, s->payload_up, dt_ms);
    sw__rate_update(&r->down, s->payload_down + s->protocol_down, dt_ms);
    sw__rate_update(&r->up, s->payload_up + s->protocol_up, dt_ms);
}

void sw__peer_env_init(sw_peer_env *env)
{
    env->swarms = NULL;
    env->unattached = NULL;
    env->num_conns = 0;
    env->num_half_open = 0;
    env->num_unchoked = 0;
    memset(&env->stats, 0, sizeof env->stats);
    memset(&env->rates, 0, sizeof env->rates);
}

int sw__swarm_init(sw_swarm *sw, sw_peer_env *env, sw_torrent_info *ti, sw_storage *st,
                   const sw_swarm_ops *ops, void *owner)
{
    memset(sw, 0, sizeof *sw);
    sw->env = env;
    sw->ops = ops;
    sw->owner = owner;
    sw->num_pieces = sw_torrent_info_num_pieces(ti);
    int plen = sw_torrent_info_piece_length(ti);
    int last = sw_torrent_info_piece_size(ti, sw->num_pieces - 1);
    sw__wire_facts_init(&sw->facts, (uint32_t)sw->num_pieces, (uint32_t)plen, (uint32_t)last);
    uint64_t seed = uv_hrtime() ^ (uintptr_t)sw;
    int rc =
        sw__picker_new(sw->num_pieces, plen, sw_torrent_info_total_size(ti), seed, &sw->picker);
    if (rc < 0)
        return rc;
    rc = sw__bitfield_init_size(&sw->have, (uint32_t)sw->num_pieces);
    if (rc < 0) {
        sw__picker_free(sw->picker);
        return rc;
    }
    sw->ti = sw_torrent_info_ref(ti);
    sw->storage = sw__disk_storage_ref(st);
    sw->info_hash = sw_torrent_info_hashes(ti)->v1;
    sw->cfg.max_connections = -1;
    sw->cfg.max_uploads = -1;
    sw__peer_list_init(&sw->peers);
    sw->next = env->swarms;
    if (env->swarms)
        env->swarms->prev = sw;
    env->swarms = sw;
    return 0;
}

static void forget_entry(void *ctx, sw_peer_entry *e)
{
    sw_swarm *sw = ctx;
    if (sw->picker)
        sw__picker_forget_peer(sw->picker, e);
}

void sw__swarm_free(sw_swarm *sw)
{
    sw_peer_env *env = sw->env;
    if (sw->prev)
        sw->prev->next = sw->next;
    else if (env->swarms == sw)
        env->swarms = sw->next;
    if (sw->next)
        sw->next->prev = sw->prev;
    sw__peer_list_free(&sw->peers);
    sw__picker_free(sw->picker);
    sw__bitfield_free(&sw->have);
    sw__bitfield_free(&sw->verified);
    sw__bitfield_free(&sw->verifying);
    free(sw->ss_shown);
    sw__disk_storage_unref(sw->storage);
    sw_torrent_info_unref(sw->ti);
    memset(sw, 0, sizeof *sw);
}

static void close_all(sw_swarm *sw, int error, const char *op)
{
    while (sw->conns)
        sw__peer_conn_close(sw->conns, error, op);
}

void sw__swarm_release_ref(sw_swarm *sw)
{
    if (--sw->refs == 0 && sw->closing && sw->ops->released)
        sw->ops->released(sw->owner);
}

void sw__swarm_close(sw_swarm *sw)
{
    if (sw->closing)
        return;
    sw->closing = true;
    sw->active = false;
    close_all(sw, SW_ERR_ABORTED, "torrent removed");
    if (sw->refs == 0 && sw->ops->released)
        sw->ops->released(sw->owner);
}

void sw__swarm_set_active(sw_swarm *sw, bool active)
{
    if (sw->closing)
        return;
    sw->active = active;
    if (!active)
        close_all(sw, SW_ERR_ABORTED, "torrent stopped");
    else
        sw->next_connect_ms = 0;
}

int sw__swarm_reset(sw_swarm *sw)
{
    close_all(sw, SW_ERR_ABORTED, "recheck");
    sw__swarm_set_seed_mode(sw, false);
    sw__swarm_set_super_seeding(sw, false); /* not a seed any more */
    sw_picker *p;
    uint64_t seed = uv_hrtime() ^ (uintptr_t)sw;
    int rc = sw__picker_new(sw->num_pieces, sw_torrent_info_piece_length(sw->ti),
                            sw_torrent_info_total_size(sw->ti), seed, &p);
    if (rc < 0)
        return rc;
    uint8_t *prio = malloc((size_t)sw->num_pieces);
    if (prio) {
        sw__picker_get_priorities(sw->picker, prio);
        sw__picker_set_priorities(p, prio);
        free(prio);
    }
    sw__picker_free(sw->picker);
    sw->picker = p;
    sw__bitfield_clear_all(&sw->have);
    sw->checking = true;
    sw->finished = false;
    return 0;
}

void sw__swarm_set_have(sw_swarm *sw, int piece)
{
    if (piece < 0 || piece >= sw->num_pieces)
        return;
    sw__picker_we_have(sw->picker, piece);
    sw__bitfield_set(&sw->have, (uint32_t)piece);
}

int sw__swarm_set_seed_mode(sw_swarm *sw, bool on)
{
    sw__bitfield_free(&sw->verified);
    sw__bitfield_free(&sw->verifying);
    sw->num_verified = 0;
    sw->seed_mode = false;
    if (!on)
        return 0;
    int rc = sw__bitfield_init_size(&sw->verified, (uint32_t)sw->num_pieces);
    if (rc == 0)
        rc = sw__bitfield_init_size(&sw->verifying, (uint32_t)sw->num_pieces);
    if (rc < 0) {
        sw__bitfield_free(&sw->verified);
        return rc;
    }
    for (int i = 0; i < sw->num_pieces; i++)
        sw__swarm_set_have(sw, i);
    sw->finished = true;
    sw->seed_mode = true;
    return 0;
}

static void on_verified(sw_disk_result *res, void *user)
{
    sw_swarm *sw = user;
    if (sw->seed_mode && !sw->closing && !sw->checking) {
        sw__bitfield_clear(&sw->verifying, (uint32_t)res->piece);
        if (res->error < 0) {
            sw__swarm_disk_error(sw, res->error, res->op, res->file_index);
        } else if (res->hash_passed) {
            sw__bitfield_set(&sw->verified, (uint32_t)res->piece);
            if (++sw->num_verified == sw->num_pieces)
                sw__swarm_set_seed_mode(sw, false); /* all checked: a plain seed now */
            for (sw_peer_conn *pc = sw->conns; pc; pc = pc->next) {
                if (pc->state != SW_PEER_ACTIVE)
                    continue;
                sw__peer_serve_more(pc);
                sw__peer_send_flush(pc);
            }
        } else {
            sw__swarm_set_seed_mode(sw, false);
            if (sw->ops->seed_mode_failed)
                sw->ops->seed_mode_failed(sw->owner, res->piece);
        }
    }
    sw__swarm_release_ref(sw);
}

bool sw__swarm_piece_verified(sw_swarm *sw, int piece)
{
    if (!sw->seed_mode || sw__bitfield_get(&sw->verified, (uint32_t)piece))
        return true;
    if (sw__bitfield_get(&sw->verifying, (uint32_t)piece))
        return false;
    sw->refs++;
    int rc = sw__disk_hash(sw->storage, piece, on_verified, sw);
    if (rc < 0) {
        sw->refs--;
        sw__swarm_disk_error(sw, rc, SW_DISK_OP_HASH, -1);
        return false;
    }
    sw__bitfield_set(&sw->verifying, (uint32_t)piece);
    return false;
}

void sw__swarm_checked(sw_swarm *sw, const uint8_t *have, size_t have_len)
{
    sw->checking = false;
    if (have && have_len >= sw__bitfield_raw_len((uint32_t)sw->num_pieces)) {
        for (int i = 0; i < sw->num_pieces; i++) {
            if (have[i >> 3] & (0x80u >> (i & 7)))
                sw__swarm_set_have(sw, i);
        }
    }
    sw->finished = sw__picker_is_finished(sw->picker);
}

void sw__swarm_update_finished(sw_swarm *sw)
{
    bool was = sw->finished;
    sw->finished = sw__picker_is_finished(sw->picker);
    for (sw_peer_conn *pc = sw->conns; pc; pc = pc->next)
        sw__peer_update_interest(pc);
    if (sw->finished && !was && sw->ops->finished)
        sw->ops->finished(sw->owner);
    if (sw->finished)
        sw__swarm_disconnect_seeds(sw);
}

void sw__swarm_set_config(sw_swarm *sw, const sw_swarm_config *cfg)
{
    bool upload_mode_changed = cfg->upload_mode != sw->cfg.upload_mode;
    bool exempt_changed = cfg->ip_filter_exempt != sw->cfg.ip_filter_exempt;
    sw->cfg = *cfg;
    sw__swarm_enforce_limits(sw, exempt_changed);
    if (upload_mode_changed) {
        for (sw_peer_conn *pc = sw->conns; pc; pc = pc->next) {
            if (cfg->upload_mode)
                sw__peer_abort_requests(pc, true);
            sw__peer_update_interest(pc);
            sw__peer_send_flush(pc);
        }
    }
}

int sw__swarm_set_priorities(sw_swarm *sw, const uint8_t *prio)
{
    int rc = sw__picker_set_priorities(sw->picker, prio);
    if (rc == 0)
        sw__swarm_update_finished(sw);
    return rc;
}

bool sw__swarm_upload_only(const sw_swarm *sw)
{
    return sw->finished && !sw->cfg.share_mode;
}

void sw__swarm_disconnect_seeds(sw_swarm *sw)
{
    if (!sw__swarm_upload_only(sw))
        return;
    sw_peer_conn *pc = sw->conns;
    while (pc) {
        sw_peer_conn *next = pc->next;
        if (pc->state == SW_PEER_ACTIVE && (sw__peer_conn_is_seed(pc) || pc->upload_only))
            sw__peer_conn_close(pc, 0, "both seeds");
        pc = next;
    }
}

/* ---- events ---- */

void sw__env_emit(sw_peer_env *env, sw_peer_conn *pc, sw_alert_type type, int error, const char *op)
{
    if (!env->on_event || (env->wants_event && !env->wants_event(env->ctx, type)))
        return;
    sw_peer_event ev = {
        .type = type,
        .swarm = pc->swarm,
        .ep = &pc->remote,
        .peer_id = pc->got_handshake ? &pc->peer_id : NULL,
        .socket_type = pc->stream ? pc->stream->type : SW_SOCKET_TCP,
        .error = error,
        .operation = op,
    };
    env->on_event(env->ctx, &ev);
}

void sw__swarm_emit(sw_swarm *sw, sw_peer_conn *pc, sw_alert_type type, int error, const char *op)
{
    (void)sw;
    sw__env_emit(pc->env, pc, type, error, op);
}

/* ---- pieces ---- */

void sw__swarm_disk_error(sw_swarm *sw, int error, sw_disk_op op, int file)
{
    if (error == SW_ERR_ABORTED || sw->closing || sw->checking)
        return;
    if (sw->ops->disk_error)
        sw->ops->disk_error(sw->owner, error, op, file);
}

static void piece_passed(sw_swarm *sw, int piece)
{
    if (sw__picker_piece_passed(sw->picker, piece) < 0)
        return;
    sw__bitfield_set(&sw->have, (uint32_t)piece);
    for (sw_peer_conn *pc = sw->conns; pc; pc = pc->next) {
        if (pc->state != SW_PEER_ACTIVE)
            continue;
        /* A peer that says it has the piece hears of it too (unless
         * send_redundant_have is off): a super seeder learns this way
         * that what it showed us was passed on. */
        if (!pc->avail_seed && (!sw__bitfield_get(&pc->have, (uint32_t)piece) ||
                                SW_ENV_BOOL(sw->env, SEND_REDUNDANT_HAVE)))
            sw__peer_send_have(pc, (uint32_t)piece);
    }
    if (sw->ops->piece_passed)
        sw->ops->piece_passed(sw->owner, piece);
    if (!sw->finished && sw__picker_is_finished(sw->picker)) {
        sw->finished = true;
        for (sw_peer_conn *pc = sw->conns; pc; pc = pc->next)
            sw__peer_update_interest(pc);
        if (sw->ops->finished)
            sw->ops->finished(sw->owner);
        sw__swarm_disconnect_seeds(sw);
    }
    for (sw_peer_conn *pc = sw->conns; pc; pc = pc->next)
        sw__peer_send_flush(pc);
}

static void piece_failed(sw_swarm *sw, int piece)
{
    void *senders[16];
    int n = 0;
    if (sw__picker_piece_failed(sw->picker, piece, senders, 16, &n) < 0)
        return;
    int64_t size = sw_torrent_info_piece_size(sw->ti, piece);
    sw->stats.failed += size;
    sw->env->stats.failed += size;
    if (n > 16)
        n = 16;
    for (int i = 0; i < n; i++) {
        sw_peer_entry *e = senders[i];
        if (!e)
            continue;
        if (e->hashfails < 255)
            e->hashfails++;
        /* A peer that sent every block of a bad piece, or took part in
         * several, is not trusted again. */
        if ((n == 1 && e->hashfails >= 2) || e->hashfails >= 5) {
            e->banned = true;
            if (e->conn) {
                sw__swarm_emit(sw, e->conn, SW_ALERT_PEER_BAN, SW_ERR_HASH_FAILED, "hash");
                sw__peer_conn_close(e->conn, SW_ERR_BANNED, "hash");
            }
        }
    }
    /* The owner (and its plugins) hear of it while the blocks still name
     * their senders; one reading the bad data holds the piece until done. */
    if (sw->ops->piece_failed)
        sw->ops->piece_failed(sw->owner, piece);
    if (!sw__swarm_piece_held(sw, piece))
        sw__picker_restore_piece(sw->picker, piece);
}

static void on_hashed(sw_disk_result *res, void *user)
{
    sw_swarm *sw = user;
    if (!sw->checking && !sw->closing) {
        if (res->error < 0)
            sw__swarm_disk_error(sw, res->error, res->op, res->file_index);
        else if (res->hash_passed)
            piece_passed(sw, res->piece);
        else
            piece_failed(sw, res->piece);
    }
    sw__swarm_release_ref(sw);
}

void sw__swarm_block_written(sw_swarm *sw, sw_picker_block b, int error, sw_disk_op op, int file)
{
    if (sw->checking)
        return;
    if (error < 0) {
        sw__picker_mark_write_failed(sw->picker, b);
        sw__swarm_disk_error(sw, error, op, file);
        return;
    }
    bool complete = false;
    if (sw__picker_mark_finished(sw->picker, b, &complete) < 0 || !complete)
        return;
    sw->refs++;
    int rc = sw__disk_hash(sw->storage, b.piece, on_hashed, sw);
    if (rc < 0) {
        sw->refs--;
        sw__swarm_disk_error(sw, rc, SW_DISK_OP_HASH, -1);
    }
}

void sw__swarm_conn_closed(sw_swarm *sw, sw_peer_conn *pc)
{
    sw__super_seed_conn_closed(pc);
    if (!sw->checking && sw->picker) {
        sw__peer_uncount(pc);
        if (pc->entry)
            sw__picker_abort_peer(sw->picker, pc->entry, NULL);
    } else {
        pc->counted = false;
    }
}

/* ---- peers ---- */

int sw__swarm_entry(sw_swarm *sw, const sw_endpoint *ep, uint8_t source, sw_peer_entry **e_out)
{
    /* An evicted entry may still be remembered by the picker as a sender:
     * it is forgotten there first. */
    return sw__peer_list_add(&sw->peers, ep, source, (size_t)SW_ENV_INT(sw->env, MAX_PEERLIST_SIZE),
                             forget_entry, sw, e_out, NULL);
}

int sw__swarm_add_peer(sw_swarm *sw, const sw_endpoint *ep, uint8_t source, bool connect_now)
{
    sw_peer_env *env = sw->env;
    sw_peer_entry *e;
    /* Refused peers never join the list, whatever their source. */
    if (sw__peer_filter_blocks(env, sw, ep, true, SW_SOCKET_TCP))
        return 0;
    bool known = sw__peer_list_find(&sw->peers, ep) != NULL;
    int rc = sw__swarm_entry(sw, ep, source, &e);
    if (rc < 0)
        return rc;
    e->connectable = true;
    if (connect_now) {
        e->failcount = 0;
        e->next_try_ms = 0;
        if (sw->active && !e->conn && !e->banned && sw__peer_env_can_connect(env) &&
            !sw__swarm_at_max_connections(sw))
            rc = sw__peer_conn_connect(sw, e);
    }
    /* Last: the owner's plugins may change the peer list. */
    if (!known && sw->ops->peer_added)
        sw->ops->peer_added(sw->owner, ep, source);
    return rc;
}

static void connect_some(sw_swarm *sw, int budget)
{
    sw_peer_env *env = sw->env;
    int limit = SW_ENV_INT(env, CONNECTIONS_LIMIT);
    int max_fail = SW_ENV_INT(env, MAX_FAILCOUNT);
    if (!sw__peer_env_can_connect(env))
        return;
    while (budget-- > 0) {
        if (limit >= 0 && env->num_conns >= limit)
            return;
        if (sw->cfg.max_connections >= 0 && sw->num_conns >= sw->cfg.max_connections)
            return;
        sw_peer_entry *e = sw__peer_list_candidate(&sw->peers, env->now_ms, max_fail);
        if (!e)
            return;
        if (sw__swarm_upload_only(sw) && e->seed)
            continue; /* nothing to trade with a seed */
        sw__peer_conn_connect(sw, e);
    }
}

static void swarm_tick(sw_swarm *sw, int connect_budget, uint64_t dt)
{
    sw_peer_conn *pc = sw->conns;
    while (pc) {
        sw_peer_conn *next = pc->next;
        sw__peer_conn_tick(pc);
        pc = next;
    }
    sw__xfer_rates_update(&sw->rates, &sw->stats, dt);
    if (sw->active && !sw->checking)
        connect_some(sw, connect_budget);
}

void sw__peer_env_tick(sw_peer_env *env)
{
    env->now_ms = uv_now(env->loop);
    uint64_t dt = env->last_tick_ms ? env->now_ms - env->last_tick_ms : 1000;
    if (dt == 0)
        dt = 1;
    env->last_tick_ms = env->now_ms;
    env->tick_dt_ms = dt;
    int nswarms = 0;
    for (sw_swarm *sw = env->swarms; sw; sw = sw->next)
        nswarms++;
    int speed = SW_ENV_INT(env, CONNECTION_SPEED);
    int budget = nswarms ? (speed + nswarms - 1) / nswarms : 0;
    if (budget < 1)
        budget = 1;
    for (sw_swarm *sw = env->swarms; sw; sw = sw->next)
        swarm_tick(sw, budget, dt);
    sw_peer_conn *pc = env->unattached;
    while (pc) {
        sw_peer_conn *next = pc->next;
        sw__peer_conn_tick(pc);
        pc = next;
    }
    sw__xfer_rates_update(&env->rates, &env->stats, dt);
    sw__mixed_mode_update(env);
    uint64_t interval = (uint64_t)SW_ENV_INT(env, UNCHOKE_INTERVAL) * 1000;
    if (env->now_ms - env->last_unchoke_ms >= interval) {
        uint64_t opt = (uint64_t)SW_ENV_INT(env, OPTIMISTIC_UNCHOKE_INTERVAL) * 1000;
        bool rotate = env->now_ms - env->last_optimistic_ms >= opt;
        sw__choker_run(env, rotate);
    }
}

void sw__peer_env_close_all(sw_peer_env *env)
{
    for (sw_swarm *sw = env->swarms; sw; sw = sw->next)
        close_all(sw, SW_ERR_ABORTED, "shutdown");
    while (env->unattached)
        sw__peer_conn_close(env->unattached, SW_ERR_ABORTED, "shutdown");
    sw__peer_bw_close(env);
    sw__peer_env_free_filters(env);
}

void sw__swarm_counts(const sw_swarm *sw, sw_swarm_counts *out)
{
    memset(out, 0, sizeof *out);
    for (const sw_peer_conn *pc = sw->conns; pc; pc = pc->next) {
        if (pc->state != SW_PEER_ACTIVE)
            continue;
        out->connections++;
        if (sw__peer_conn_is_seed(pc))
            out->seeds++;
        if (pc->peer_interested)
            out->peers_interested++;
        if (!pc->peer_choking)
            out->unchoked++;
        if (!pc->am_choking)
            out->uploads++;
        if (!pc->outgoing)
            out->has_incoming = true;
    }
    out->list_peers = (int)sw->peers.count;
    out->connect_candidates =
        (int)sw__peer_list_connect_candidates(&sw->peers, SW_ENV_INT(sw->env, MAX_FAILCOUNT));
}

int sw__swarm_conn_infos(const sw_swarm *sw, sw_peer_conn_info **out, size_t *count_out)
{
    size_t n = 0;
    for (const sw_peer_conn *pc = sw->conns; pc; pc = pc->next)
        n += pc->state == SW_PEER_ACTIVE;
    *out = NULL;
    *count_out = 0;
    if (n == 0)
        return 0;
    sw_peer_conn_info *v = malloc(n * sizeof *v);
    if (!v)
        return SW_ERR_NOMEM;
    size_t i = 0;
    for (const sw_peer_conn *pc = sw->conns; pc && i < n; pc = pc->next) {
        if (pc->state == SW_PEER_ACTIVE)
            sw__peer_conn_info(pc, &v[i++]);
    }
    *out = v;
    *count_out = i;
    return 0;
}
