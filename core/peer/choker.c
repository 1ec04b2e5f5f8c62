/* The choker: decides which interested peers we upload to. It runs over
 * every torrent of the session every unchoke_interval seconds, with
 * unchoke_slots_limit slots of which a few are optimistic (rotated every
 * optimistic_unchoke_interval to discover better peers). Downloading
 * torrents rank peers by what they give us (tit-for-tat); seeding torrents
 * by seed_choking_algorithm: round robin (a fair turn for everyone) or
 * fastest upload. */
#include <stdlib.h>
#include <string.h>

#include "peer_conn_int.h"

typedef struct ranked {
    sw_peer_conn *pc;
    int64_t score;
} ranked;

static int by_score_desc(const void *a, const void *b)
{
    const ranked *x = a, *y = b;
    if (x->score != y->score)
        return x->score < y->score ? 1 : -1;
    return x->pc->id < y->pc->id ? -1 : x->pc->id > y->pc->id;
}

static bool eligible(const sw_peer_conn *pc)
{
    return pc->state == SW_PEER_ACTIVE && pc->peer_interested && pc->swarm->active &&
           !pc->swarm->checking;
}

static int64_t score(const sw_peer_env *env, const sw_peer_conn *pc)
{
    if (!pc->swarm->finished)
        return pc->rates.payload_down.rate;
    if (SW_ENV_INT(env, SEED_CHOKING_ALGORITHM) == SW_SEED_CHOKER_FASTEST_UPLOAD)
        return pc->rates.payload_up.rate;
    /* Round robin: an unchoked peer keeps its slot for a while, then the
     * peers that waited longest get their turn. */
    uint64_t hold = (uint64_t)SW_ENV_INT(env, UNCHOKE_INTERVAL) * 1000 * 4;
    uint64_t since = pc->last_unchoke_ms ? pc->last_unchoke_ms : pc->connected_ms;
    uint64_t waited = env->now_ms - since;
    if (!pc->am_choking && waited < hold)
        return INT64_MAX / 2 - (int64_t)waited;
    return pc->am_choking ? (int64_t)waited : 0;
}

static int slot_counts(const sw_peer_env *env, int *optimistic_out)
{
    int slots = SW_ENV_INT(env, UNCHOKE_SLOTS_LIMIT);
    if (slots < 0) {
        *optimistic_out = 0;
        return -1;
    }
    int opt = SW_ENV_INT(env, NUM_OPTIMISTIC_UNCHOKE_SLOTS);
    if (opt <= 0)
        opt = slots / 5 > 0 ? slots / 5 : (slots > 1 ? 1 : 0);
    if (opt > slots)
        opt = slots;
    *optimistic_out = opt;
    return slots;
}

static bool torrent_full(const sw_peer_conn *pc)
{
    int max = pc->swarm->cfg.max_uploads;
    return max >= 0 && pc->swarm->num_unchoked >= max;
}

void sw__choker_run(sw_peer_env *env, bool rotate_optimistic)
{
    env->last_unchoke_ms = env->now_ms;
    if (rotate_optimistic)
        env->last_optimistic_ms = env->now_ms;
    int opt_slots;
    int slots = slot_counts(env, &opt_slots);

    size_t n = 0, cap = 0;
    ranked *v = NULL;
    for (sw_swarm *sw = env->swarms; sw; sw = sw->next) {
        for (sw_peer_conn *pc = sw->conns; pc; pc = pc->next) {
            if (pc->state != SW_PEER_ACTIVE)
                continue;
            if (!eligible(pc)) {
                sw__peer_choke(pc);
                continue;
            }
            if (n == cap) {
                cap = cap ? cap * 2 : 32;
                ranked *nv = realloc(v, cap * sizeof *nv);
                if (!nv) {
                    free(v);
                    return;
                }
                v = nv;
            }
            v[n++] = (ranked){pc, score(env, pc)};
        }
    }
    if (n == 0)
        return;
    if (slots < 0) {
        for (size_t i = 0; i < n; i++)
            sw__peer_unchoke(v[i].pc);
        free(v);
        return;
    }
    qsort(v, n, sizeof *v, by_score_desc);

    /* Optimistic peers first: kept unless it is time to rotate. */
    bool *keep = calloc(n ? n : 1, sizeof *keep);
    if (!keep) {
        free(v);
        return;
    }
    int opt_used = 0;
    if (!rotate_optimistic) {
        for (size_t i = 0; i < n && opt_used < opt_slots; i++) {
            if (v[i].pc->optimistic) {
                keep[i] = true;
                opt_used++;
            }
        }
    }
    int regular = slots - opt_slots;
    int used = 0;
    for (size_t i = 0; i < n && used < regular; i++) {
        if (keep[i])
            continue;
        keep[i] = true;
        v[i].pc->optimistic = false;
        used++;
    }
    /* Fill the optimistic slots with the peers that waited longest. */
    while (opt_used < opt_slots) {
        size_t best = n;
        for (size_t i = 0; i < n; i++) {
            if (keep[i])
                continue;
            if (best == n || v[i].pc->last_optimistic_ms < v[best].pc->last_optimistic_ms)
                best = i;
        }
        if (best == n)
            break;
        keep[best] = true;
        v[best].pc->optimistic = true;
        v[best].pc->last_optimistic_ms = env->now_ms;
        opt_used++;
    }
    /* Choke first so per-torrent upload limits see the freed slots. */
    for (size_t i = 0; i < n; i++)
        if (!keep[i])
            sw__peer_choke(v[i].pc);
    for (size_t i = 0; i < n; i++) {
        if (keep[i] && v[i].pc->am_choking && !torrent_full(v[i].pc))
            sw__peer_unchoke(v[i].pc);
    }
    free(keep);
    free(v);
}

void sw__choker_trigger(sw_peer_env *env)
{
    int opt_slots;
    int slots = slot_counts(env, &opt_slots);
    if (slots >= 0 && env->num_unchoked >= slots)
        return;
    /* A free slot: hand it to the best choked, interested peer now rather
     * than at the next choker round. */
    for (;;) {
        if (slots >= 0 && env->num_unchoked >= slots)
            return;
        sw_peer_conn *best = NULL;
        int64_t best_score = 0;
        for (sw_swarm *sw = env->swarms; sw; sw = sw->next) {
            for (sw_peer_conn *pc = sw->conns; pc; pc = pc->next) {
                if (!pc->am_choking || !eligible(pc) || torrent_full(pc))
                    continue;
                int64_t s = score(env, pc);
                if (!best || s > best_score) {
                    best = pc;
                    best_score = s;
                }
            }
        }
        if (!best)
            return;
        sw__peer_unchoke(best);
    }
}
