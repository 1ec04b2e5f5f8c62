/* Super seeding (BEP 16). A seed in this mode greets a new peer as if it had
 * nothing (have_none, or no bitfield without the fast extension) and then
 * reveals one piece to it with a HAVE: the piece fewest peers have or were
 * shown. It shows the peer another piece only once the last one is out in
 * the swarm:
 *   - by default (libtorrent's strict_super_seeding = false) as soon as the
 *     peer itself announces the piece;
 *   - with strict_super_seeding, once another peer announces it, so the
 *     piece must have been passed on before the seed spends more on it.
 * The peer's last two missing pieces are shown together (see reveal_next).
 * Requests for pieces never shown to a peer are refused, so each piece goes
 * out to one peer first. Connections greeted before super seeding began keep
 * seeing everything. Turning it off shows every peer the rest of the pieces
 * with HAVE messages.
 *
 * Threading: network thread only, like the rest of core/peer. */
#include <stdlib.h>

#include "peer_conn_int.h"

static uint32_t next_random(sw_swarm *sw)
{
    /* xorshift32: tie-breaks only, no need for anything stronger. */
    uint32_t x = sw->ss_rand ? sw->ss_rand : 0x9e3779b9u;
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    sw->ss_rand = x;
    return x;
}

static bool is_active(const sw_peer_conn *pc)
{
    return pc->state == SW_PEER_ACTIVE && pc->ss_revealed.bits;
}

/* The piece to show pc next: one it neither has nor was shown, held by the
 * fewest peers (counting those it is shown to and do not have yet), ties
 * broken at random. -1 if there is none. */
static int pick_piece(sw_swarm *sw, const sw_peer_conn *pc)
{
    int best = -1;
    uint32_t best_score = UINT32_MAX;
    uint32_t ties = 0;
    for (int i = 0; i < sw->num_pieces; i++) {
        if (sw__bitfield_get(&pc->have, (uint32_t)i) ||
            sw__bitfield_get(&pc->ss_revealed, (uint32_t)i))
            continue;
        uint32_t score = sw__picker_availability(sw->picker, i) + sw->ss_shown[i];
        if (score < best_score) {
            best_score = score;
            best = i;
            ties = 1;
        } else if (score == best_score) {
            /* Reservoir sampling: each of the tied pieces equally likely. */
            ties++;
            if (next_random(sw) % ties == 0)
                best = i;
        }
    }
    return best;
}

static void clear_shown(sw_swarm *sw, sw_peer_conn *pc)
{
    if (pc->ss_counted && sw->ss_shown && sw->ss_shown[pc->ss_piece] > 0)
        sw->ss_shown[pc->ss_piece]--;
    pc->ss_counted = false;
    pc->ss_piece = -1;
}

static void reveal_next(sw_peer_conn *pc)
{
    sw_swarm *sw = pc->swarm;
    clear_shown(sw, pc);
    int piece = pick_piece(sw, pc);
    if (piece < 0)
        return;
    pc->ss_piece = piece;
    pc->ss_counted = true;
    sw->ss_shown[piece]++;
    sw__bitfield_set(&pc->ss_revealed, (uint32_t)piece);
    sw__peer_send_have(pc, (uint32_t)piece);
    /* The peer's last missing piece goes with its second last: a HAVE that
     * completes our set while the peer wants nothing of us would look like
     * a seed it has no use for (libtorrent drops such a peer before
     * noticing it wants the piece). */
    int last = pick_piece(sw, pc);
    if (last >= 0) {
        sw__bitfield_set(&pc->ss_revealed, (uint32_t)last);
        if (pick_piece(sw, pc) >= 0)
            sw__bitfield_clear(&pc->ss_revealed, (uint32_t)last); /* more to come */
        else
            sw__peer_send_have(pc, (uint32_t)last);
    }
}

bool sw__super_seed_greet(sw_peer_conn *pc)
{
    sw_swarm *sw = pc->swarm;
    if (!sw->super_seeding || !sw->ss_shown)
        return false;
    if (sw__bitfield_init_size(&pc->ss_revealed, (uint32_t)sw->num_pieces) < 0)
        return false; /* out of memory: this peer is served as by a plain seed */
    pc->ss_piece = -1;
    if (pc->features & SW_WIRE_FEATURE_FAST)
        sw__peer_send_simple(pc, SW_WIRE_ID_HAVE_NONE);
    reveal_next(pc);
    return true;
}

bool sw__super_seed_allows(const sw_peer_conn *pc, uint32_t piece)
{
    if (!pc->ss_revealed.bits)
        return true;
    return sw__bitfield_get(&pc->ss_revealed, piece);
}

/* Some connection other than o has piece. */
static bool held_elsewhere(const sw_swarm *sw, const sw_peer_conn *o, uint32_t piece)
{
    for (const sw_peer_conn *c = sw->conns; c; c = c->next) {
        if (c != o && c->state == SW_PEER_ACTIVE &&
            (c->avail_seed || sw__bitfield_get(&c->have, piece)))
            return true;
    }
    return false;
}

/* Whether o may be shown a new piece now that `from` announced piece (o's
 * current one). Strictly, the piece must be out at another peer: that peer
 * announcing it now, or o announcing it when another peer had it already
 * (that peer's HAVE came earlier and will not come again). */
static bool may_move_on(const sw_swarm *sw, const sw_peer_conn *o, const sw_peer_conn *from,
                        uint32_t piece)
{
    if (!SW_ENV_BOOL(sw->env, STRICT_SUPER_SEEDING))
        return from == o;
    return from != o || held_elsewhere(sw, o, piece);
}

void sw__super_seed_on_have(sw_peer_conn *pc, uint32_t piece)
{
    sw_swarm *sw = pc->swarm;
    if (!sw->super_seeding || !sw->ss_shown)
        return;
    if (is_active(pc) && pc->ss_piece == (int)piece && pc->ss_counted) {
        /* Shown and now had: the picker's availability counts it from here. */
        sw->ss_shown[piece]--;
        pc->ss_counted = false;
    }
    for (sw_peer_conn *o = sw->conns; o; o = o->next) {
        if (!is_active(o) || o->ss_piece != (int)piece || !may_move_on(sw, o, pc, piece))
            continue;
        reveal_next(o);
        sw__peer_send_flush(o);
    }
}

void sw__super_seed_conn_closed(sw_peer_conn *pc)
{
    if (pc->swarm)
        clear_shown(pc->swarm, pc);
    sw__bitfield_free(&pc->ss_revealed);
}

/* Ends super seeding for one connection: it learns every piece it was not
 * shown. */
static void show_the_rest(sw_peer_conn *pc)
{
    sw_swarm *sw = pc->swarm;
    if (pc->state == SW_PEER_ACTIVE) {
        for (int i = 0; i < sw->num_pieces; i++) {
            if (sw__bitfield_get(&sw->have, (uint32_t)i) &&
                !sw__bitfield_get(&pc->ss_revealed, (uint32_t)i) &&
                !sw__bitfield_get(&pc->have, (uint32_t)i))
                sw__peer_send_have(pc, (uint32_t)i);
        }
        sw__peer_send_flush(pc);
    }
    sw__super_seed_conn_closed(pc);
}

int sw__swarm_set_super_seeding(sw_swarm *sw, bool on)
{
    if (on == sw->super_seeding)
        return 0;
    if (on) {
        if (!sw->picker || !sw__picker_is_seed(sw->picker))
            return SW_ERR_NOT_READY; /* only a seed can hide what it has */
        sw->ss_shown = calloc((size_t)sw->num_pieces, sizeof *sw->ss_shown);
        if (!sw->ss_shown)
            return SW_ERR_NOMEM;
        sw->ss_rand = (uint32_t)(uv_hrtime() ^ (uintptr_t)sw) | 1u;
        sw->super_seeding = true;
        return 0;
    }
    sw->super_seeding = false;
    for (sw_peer_conn *pc = sw->conns; pc; pc = pc->next) {
        if (pc->ss_revealed.bits)
            show_the_rest(pc);
    }
    free(sw->ss_shown);
    sw->ss_shown = NULL;
    return 0;
}
