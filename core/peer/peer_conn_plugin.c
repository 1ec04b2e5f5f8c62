/* What the session's plugin code may read and do on connections and swarms,
 * without knowing the connection's layout. */
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include "peer_conn_int.h"

void *sw__peer_conn_plugins(const sw_peer_conn *pc)
{
    return pc->plugins;
}

void sw__peer_conn_set_plugins(sw_peer_conn *pc, void *state)
{
    pc->plugins = state;
}

sw_swarm *sw__peer_conn_swarm(const sw_peer_conn *pc)
{
    return pc->swarm;
}

const sw_endpoint *sw__peer_conn_remote(const sw_peer_conn *pc)
{
    return &pc->remote;
}

bool sw__peer_conn_listen_endpoint(const sw_peer_conn *pc, sw_endpoint *out)
{
    if (pc->outgoing) {
        *out = pc->remote;
        return true;
    }
    /* An incoming peer's entry is re-keyed to its listen port once its
     * extension handshake names one. */
    if (pc->entry && pc->entry->connectable) {
        *out = pc->entry->ep;
        return true;
    }
    return false;
}

const sw_peer_id *sw__peer_conn_peer_id(const sw_peer_conn *pc)
{
    return &pc->peer_id;
}

const char *sw__peer_conn_client(const sw_peer_conn *pc)
{
    return pc->client;
}

bool sw__peer_conn_outgoing(const sw_peer_conn *pc)
{
    return pc->outgoing;
}

bool sw__peer_conn_upload_only(const sw_peer_conn *pc)
{
    return pc->upload_only;
}

unsigned sw__peer_conn_features(const sw_peer_conn *pc)
{
    return pc->features;
}

bool sw__peer_conn_is_active(const sw_peer_conn *pc)
{
    return pc->state == SW_PEER_ACTIVE;
}

sw_socket_type sw__peer_conn_socket_type(const sw_peer_conn *pc)
{
    return pc->stream ? pc->stream->type : SW_SOCKET_TCP;
}

int sw__peer_conn_send_extended(sw_peer_conn *pc, uint8_t ext_id, const uint8_t *payload,
                                size_t len)
{
    if (pc->state != SW_PEER_ACTIVE)
        return SW_ERR_INVALID_HANDLE;
    if (!(pc->features & SW_WIRE_FEATURE_EXTENSION))
        return SW_ERR_NOT_SUPPORTED;
    if (len > SW_WIRE_DEFAULT_MAX_MESSAGE)
        return SW_ERR_LIMIT;
    sw_buf b;
    sw__buf_init(&b);
    int rc = sw__wire_build_extended(&b, ext_id, payload, len);
    if (rc == 0)
        rc = sw__peer_send_buf(pc, &b);
    sw__buf_free(&b);
    if (rc == 0)
        sw__peer_send_flush(pc);
    return rc;
}

size_t sw__swarm_active_conns(const sw_swarm *sw, sw_peer_conn **out, size_t max)
{
    size_t n = 0;
    for (sw_peer_conn *pc = sw->conns; pc; pc = pc->next) {
        if (pc->state != SW_PEER_ACTIVE)
            continue;
        if (n < max)
            out[n] = pc;
        n++;
    }
    return n;
}

int sw__swarm_ban(sw_swarm *sw, const sw_endpoint *ep, const char *op)
{
    sw_peer_entry *e = sw__peer_list_find(&sw->peers, ep);
    /* An incoming connection's entry may still hold its ephemeral port. */
    sw_peer_conn *conn = NULL;
    for (sw_peer_conn *pc = sw->conns; pc; pc = pc->next) {
        if (pc->state == SW_PEER_ACTIVE && sw__endpoint_equal(&pc->remote, ep)) {
            conn = pc;
            break;
        }
    }
    if (!e && conn)
        e = conn->entry;
    if (!e) {
        int rc = sw__swarm_entry(sw, ep, 0, &e);
        if (rc < 0)
            return rc;
    }
    e->banned = true;
    if (!conn)
        conn = e->conn;
    if (conn && conn->state != SW_PEER_CLOSING) {
        sw__swarm_emit(sw, conn, SW_ALERT_PEER_BAN, SW_ERR_BANNED, op);
        /* The close reason outlives this call: a static string. */
        sw__peer_conn_close(conn, SW_ERR_BANNED, "banned");
    }
    return 0;
}

int sw__swarm_block_senders(const sw_swarm *sw, int piece, sw_endpoint *out, int max)
{
    if (!sw->picker)
        return SW_ERR_NOT_READY;
    int nblocks = sw__picker_blocks_in_piece(sw->picker, piece);
    if (nblocks <= 0)
        return SW_ERR_INVALID_ARG;
    int n = nblocks < max ? nblocks : max;
    if (n <= 0)
        return nblocks;
    void **who = calloc((size_t)n, sizeof *who);
    if (!who)
        return SW_ERR_NOMEM;
    sw__picker_get_downloaders(sw->picker, piece, who, n);
    for (int i = 0; i < n; i++) {
        const sw_peer_entry *e = who[i];
        if (e)
            out[i] = e->ep;
        else
            memset(&out[i], 0, sizeof out[i]);
    }
    free(who);
    return nblocks;
}

bool sw__wire_msg_needs_metadata(sw_wire_msg_kind kind)
{
    switch (kind) {
    case SW_WIRE_MSG_HAVE:
    case SW_WIRE_MSG_BITFIELD:
    case SW_WIRE_MSG_REQUEST:
    case SW_WIRE_MSG_PIECE:
    case SW_WIRE_MSG_CANCEL:
    case SW_WIRE_MSG_HAVE_ALL:
    case SW_WIRE_MSG_HAVE_NONE:
    case SW_WIRE_MSG_REJECT:
    case SW_WIRE_MSG_SUGGEST:
    case SW_WIRE_MSG_ALLOWED_FAST:
        return true;
    default:
        return false;
    }
}
