/* Swarms of torrents added without metadata (magnet links), their switch to
 * a full torrent once the metadata arrives, and holds on failed pieces whose
 * data a plugin is still reading. */
#include <stdlib.h>
#include <string.h>

#include "peer_conn_int.h"

struct sw_piece_hold {
    int piece;
    int count;
};

int sw__swarm_init_no_metadata(sw_swarm *sw, sw_peer_env *env, const sw_sha1 *info_hash,
                               const sw_swarm_ops *ops, void *owner)
{
    memset(sw, 0, sizeof *sw);
    sw->env = env;
    sw->ops = ops;
    sw->owner = owner;
    sw->info_hash = *info_hash;
    /* A piece count of 0 means "unknown" to the wire checks: bitfields of
     * any length parse, and index checks are skipped. */
    sw__wire_facts_init(&sw->facts, 0, 0, 0);
    sw__bitfield_init(&sw->have);
    sw->cfg.max_connections = -1;
    sw->cfg.max_uploads = -1;
    sw__peer_list_init(&sw->peers);
    sw->next = env->swarms;
    if (env->swarms)
        env->swarms->prev = sw;
    env->swarms = sw;
    return 0;
}

bool sw__swarm_has_metadata(const sw_swarm *sw)
{
    return sw->ti != NULL;
}

int sw__swarm_set_metadata(sw_swarm *sw, sw_torrent_info *ti, sw_storage *st)
{
    if (sw->ti)
        return SW_ERR_EXISTS;
    /* Connections made without a piece count cannot carry on: the peers'
     * bitfields were not kept and ours was never sent. */
    while (sw->conns)
        sw__peer_conn_close(sw->conns, 0, "metadata received");
    int num_pieces = sw_torrent_info_num_pieces(ti);
    int plen = sw_torrent_info_piece_length(ti);
    int last = sw_torrent_info_piece_size(ti, num_pieces - 1);
    sw_picker *picker;
    uint64_t seed = uv_hrtime() ^ (uintptr_t)sw;
    int rc = sw__picker_new(num_pieces, plen, sw_torrent_info_total_size(ti), seed, &picker);
    if (rc < 0)
        return rc;
    sw_bitfield have;
    rc = sw__bitfield_init_size(&have, (uint32_t)num_pieces);
    if (rc < 0) {
        sw__picker_free(picker);
        return rc;
    }
    sw__bitfield_free(&sw->have);
    sw->have = have;
    sw->picker = picker;
    sw->num_pieces = num_pieces;
    sw__wire_facts_init(&sw->facts, (uint32_t)num_pieces, (uint32_t)plen, (uint32_t)last);
    sw->ti = sw_torrent_info_ref(ti);
    sw->storage = sw__disk_storage_ref(st);
    sw->finished = false;
    /* The peers just left are worth dialling again right away. */
    for (size_t i = 0; i < sw->peers.count; i++) {
        sw_peer_entry *e = sw->peers.v[i];
        e->failcount = 0;
        e->next_try_ms = 0;
    }
    sw->next_connect_ms = 0;
    return 0;
}

/* ---- holds ---- */

static struct sw_piece_hold *find_hold(const sw_swarm *sw, int piece)
{
    for (int i = 0; i < sw->num_holds; i++)
        if (sw->holds[i].piece == piece)
            return &sw->holds[i];
    return NULL;
}

void sw__swarm_hold_piece(sw_swarm *sw, int piece)
{
    struct sw_piece_hold *h = find_hold(sw, piece);
    if (h) {
        h->count++;
        return;
    }
    if (sw->num_holds == sw->cap_holds) {
        int cap = sw->cap_holds ? sw->cap_holds * 2 : 4;
        struct sw_piece_hold *v = realloc(sw->holds, (size_t)cap * sizeof *v);
        if (!v)
            return; /* unheld: the piece may be downloaded again sooner */
        sw->holds = v;
        sw->cap_holds = cap;
    }
    sw->holds[sw->num_holds].piece = piece;
    sw->holds[sw->num_holds].count = 1;
    sw->num_holds++;
}

void sw__swarm_release_piece(sw_swarm *sw, int piece)
{
    struct sw_piece_hold *h = find_hold(sw, piece);
    if (!h || --h->count > 0)
        return;
    *h = sw->holds[--sw->num_holds];
    if (sw->num_holds == 0) {
        free(sw->holds);
        sw->holds = NULL;
        sw->cap_holds = 0;
    }
    /* Only a piece still failed goes back to the picker: a recheck or a
     * removal may have replaced it meanwhile. */
    if (sw->picker && !sw->closing && !sw->checking &&
        sw__picker_piece_state(sw->picker, piece) == SW_PICKER_PIECE_FAILED)
        sw__picker_restore_piece(sw->picker, piece);
    for (sw_peer_conn *pc = sw->conns; pc; pc = pc->next) {
        if (pc->state == SW_PEER_ACTIVE) {
            sw__peer_update_interest(pc);
            sw__peer_request_more(pc);
            sw__peer_send_flush(pc);
        }
    }
}

bool sw__swarm_piece_held(const sw_swarm *sw, int piece)
{
    return find_hold(sw, piece) != NULL;
}
