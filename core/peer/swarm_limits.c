/* A torrent's connection and upload slot limits (max_connections,
 * max_uploads) when they are lowered below what is in use: libtorrent drops
 * the surplus at once rather than waiting for peers to leave. */
#include <stdlib.h>

#include "peer_limits.h"

bool sw__swarm_at_max_connections(const sw_swarm *sw)
{
    return sw->cfg.max_connections >= 0 && sw->num_conns >= sw->cfg.max_connections;
}

/* What a connection is worth keeping: not yet talking is worth least, then
 * by the payload it moves. */
static int64_t worth(const sw_peer_conn *pc)
{
    if (pc->state != SW_PEER_ACTIVE)
        return -1;
    return pc->rates.payload_down.rate + pc->rates.payload_up.rate;
}

static sw_peer_conn *least_worth(sw_swarm *sw, bool unchoked_only)
{
    sw_peer_conn *best = NULL;
    int64_t best_worth = 0;
    for (sw_peer_conn *pc = sw->conns; pc; pc = pc->next) {
        if (pc->state == SW_PEER_CLOSING || (unchoked_only && pc->am_choking))
            continue;
        int64_t w = unchoked_only ? pc->rates.payload_up.rate : worth(pc);
        if (!best || w < best_worth) {
            best = pc;
            best_worth = w;
        }
    }
    return best;
}

void sw__swarm_enforce_limits(sw_swarm *sw, bool refilter)
{
    if (refilter)
        sw__swarm_apply_filters(sw);
    while (sw->cfg.max_connections >= 0 && sw->num_conns > sw->cfg.max_connections) {
        sw_peer_conn *pc = least_worth(sw, false);
        if (!pc)
            break;
        sw__peer_conn_close(pc, SW_ERR_LIMIT, "max_connections");
    }
    while (sw->cfg.max_uploads >= 0 && sw->num_unchoked > sw->cfg.max_uploads) {
        sw_peer_conn *pc = least_worth(sw, true);
        if (!pc)
            break;
        int before = sw->num_unchoked;
        sw__peer_choke(pc);
        if (sw->num_unchoked == before)
            break;
    }
}
