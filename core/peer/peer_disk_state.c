/* What connections wait for: the disk (back-pressure on receiving, reads
 * of requested blocks), rate-limit quota or the socket. Feeds the session
 * status's disk queue figures and peer_info's read/write states.
 *
 * Threading: network thread only, like the rest of core/peer; the fields
 * read here are the connection's own. */
#include "peer_conn_int.h"

#include <string.h>

#include <cswarm/torrent.h>

/* Waiting for blocks it asked for to be read, with nothing else to send. */
static bool waits_on_disk_read(const sw_peer_conn *pc)
{
    return pc->reads_in_flight > 0 && pc->send_bytes == 0 && !pc->write_in_flight;
}

void sw__peer_conn_bw_states(const sw_peer_conn *pc, uint8_t *read_out, uint8_t *write_out)
{
    uint8_t r = SW_BW_IDLE, w = SW_BW_IDLE;
    if (pc->stream && pc->state != SW_PEER_CLOSING) {
        if (pc->bw_wait_down > 0)
            r |= SW_BW_LIMIT;
        if (pc->read_paused)
            r |= SW_BW_DISK;
        if (!r)
            r = SW_BW_NETWORK; /* the socket is being read */
        if (pc->bw_wait_up > 0)
            w |= SW_BW_LIMIT;
        if (pc->write_in_flight)
            w |= SW_BW_NETWORK;
        if (waits_on_disk_read(pc))
            w |= SW_BW_DISK;
    }
    *read_out = r;
    *write_out = w;
}

void sw__peer_env_disk_waits(const sw_peer_env *env, sw_disk_wait_stats *out)
{
    memset(out, 0, sizeof *out);
    for (const sw_swarm *sw = env->swarms; sw; sw = sw->next) {
        for (const sw_peer_conn *pc = sw->conns; pc; pc = pc->next) {
            if (pc->read_paused)
                out->write_waiters++;
            if (waits_on_disk_read(pc))
                out->read_waiters++;
            out->queued_bytes += pc->queued_disk_bytes;
        }
    }
}
