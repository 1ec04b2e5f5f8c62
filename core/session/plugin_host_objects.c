/* Host functions on torrents and peer connections: facts, metadata, peers,
 * bans, block senders, reads of torrent data, extended messages. */
#include <stdlib.h>
#include <string.h>

#include "plugin_int.h"

/* ---- torrents ---- */

uint64_t sw_plugin_torrent_id(sw_plugin_torrent *pt)
{
    return sw__torrent_of(pt)->id;
}

void sw_plugin_torrent_info_hash(sw_plugin_torrent *pt, uint8_t out[20])
{
    memcpy(out, sw__torrent_of(pt)->info_hash.v, 20);
}

const char *sw_plugin_torrent_name(sw_plugin_torrent *pt)
{
    return sw__torrent_of(pt)->name;
}

int sw_plugin_torrent_state(sw_plugin_torrent *pt)
{
    return (int)sw__torrent_of(pt)->state;
}

bool sw_plugin_torrent_has_metadata(sw_plugin_torrent *pt)
{
    return sw__torrent_of(pt)->ti != NULL;
}

bool sw_plugin_torrent_is_private(sw_plugin_torrent *pt)
{
    sw_torrent *t = sw__torrent_of(pt);
    return t->ti && sw_torrent_info_is_private(t->ti);
}

int sw_plugin_torrent_num_pieces(sw_plugin_torrent *pt)
{
    sw_torrent *t = sw__torrent_of(pt);
    return t->ti ? sw_torrent_info_num_pieces(t->ti) : 0;
}

int sw_plugin_torrent_piece_size(sw_plugin_torrent *pt, int piece)
{
    sw_torrent *t = sw__torrent_of(pt);
    if (!t->ti || piece < 0 || piece >= sw_torrent_info_num_pieces(t->ti))
        return 0;
    return sw_torrent_info_piece_size(t->ti, piece);
}

int sw_plugin_torrent_metadata(sw_plugin_torrent *pt, const uint8_t **data_out, size_t *len_out)
{
    sw_torrent *t = sw__torrent_of(pt);
    if (!t->ti)
        return SW_ERR_NOT_READY;
    size_t len = 0;
    const uint8_t *data = sw_torrent_info_info_section(t->ti, &len);
    if (!data)
        return SW_ERR_NOT_READY;
    *data_out = data;
    *len_out = len;
    return 0;
}

int sw_plugin_torrent_set_metadata(sw_plugin_torrent *pt, const uint8_t *info, size_t len)
{
    if (!info || len == 0)
        return SW_ERR_INVALID_ARG;
    return sw__torrent_set_metadata(sw__torrent_of(pt), info, len);
}

int sw_plugin_torrent_add_peer(sw_plugin_torrent *pt, const sw_plugin_endpoint *pep,
                               unsigned source)
{
    sw_torrent *t = sw__torrent_of(pt);
    sw_endpoint ep;
    if (sw__plugin_endpoint_to(pep, &ep) < 0)
        return SW_ERR_INVALID_ARG;
    if (t->removed || !t->swarm_ready)
        return SW_ERR_INVALID_HANDLE;
    return sw__swarm_add_peer(&t->swarm, &ep, (uint8_t)source, false);
}

size_t sw_plugin_torrent_peers(sw_plugin_torrent *pt, sw_plugin_peer **out, size_t max)
{
    sw_torrent *t = sw__torrent_of(pt);
    if (!t->swarm_ready)
        return 0;
    /* sw_plugin_peer is the connection itself: the array converts in place. */
    return sw__swarm_active_conns(&t->swarm, (sw_peer_conn **)(void *)out, out ? max : 0);
}

int sw_plugin_torrent_ban_peer(sw_plugin_torrent *pt, const sw_plugin_endpoint *pep,
                               const char *reason)
{
    sw_torrent *t = sw__torrent_of(pt);
    sw_endpoint ep;
    if (sw__plugin_endpoint_to(pep, &ep) < 0)
        return SW_ERR_INVALID_ARG;
    if (t->removed || !t->swarm_ready)
        return SW_ERR_INVALID_HANDLE;
    return sw__swarm_ban(&t->swarm, &ep, reason && *reason ? reason : "banned by a plugin");
}

int sw_plugin_torrent_block_senders(sw_plugin_torrent *pt, int piece, sw_plugin_endpoint *out,
                                    int max)
{
    sw_torrent *t = sw__torrent_of(pt);
    if (!t->ti || !t->swarm_ready)
        return SW_ERR_NOT_READY;
    if (max < 0 || (max > 0 && !out))
        return SW_ERR_INVALID_ARG;
    sw_endpoint *eps = max > 0 ? calloc((size_t)max, sizeof *eps) : NULL;
    if (max > 0 && !eps)
        return SW_ERR_NOMEM;
    int n = sw__swarm_block_senders(&t->swarm, piece, eps, max);
    for (int i = 0; n > 0 && i < n && i < max; i++)
        sw__plugin_endpoint_from(&eps[i], &out[i]);
    free(eps);
    return n;
}

typedef struct plugin_read {
    sw_torrent *t;
    int piece;
    bool held;
    sw_plugin_read_cb cb;
    void *user;
} plugin_read;

static void on_read(sw_disk_result *res, void *user)
{
    plugin_read *r = user;
    sw_torrent *t = r->t;
    t->pending_jobs--;
    /* The torrent's plugin contexts live until its jobs are done, so the
     * callback is safe to run even for a removed torrent. */
    int err = t->removed ? SW_ERR_ABORTED : res->error;
    r->cb(r->user, err, err == 0 ? res->buffer : NULL, err == 0 ? res->length : 0);
    if (r->held && !t->removed && t->swarm_ready)
        sw__swarm_release_piece(&t->swarm, r->piece);
    free(r);
    sw__torrent_job_done(t);
}

int sw_plugin_torrent_read(sw_plugin_torrent *pt, int piece, int offset, int len,
                           sw_plugin_read_cb cb, void *user)
{
    sw_torrent *t = sw__torrent_of(pt);
    if (!cb)
        return SW_ERR_INVALID_ARG;
    if (!t->ti || !t->storage)
        return SW_ERR_NOT_READY;
    if (t->removed)
        return SW_ERR_INVALID_HANDLE;
    int size = sw_plugin_torrent_piece_size(pt, piece);
    if (size <= 0 || offset < 0 || len <= 0 || offset > size - len)
        return SW_ERR_INVALID_ARG;
    plugin_read *r = calloc(1, sizeof *r);
    if (!r)
        return SW_ERR_NOMEM;
    r->t = t;
    r->piece = piece;
    r->cb = cb;
    r->user = user;
    t->pending_jobs++;
    int rc = sw__disk_read(t->storage, piece, offset, (size_t)len, on_read, r);
    if (rc < 0) {
        t->pending_jobs--;
        free(r);
        return rc;
    }
    /* A failed piece waits for its reads before it is downloaded again. */
    if (t->swarm.picker &&
        sw__picker_piece_state(t->swarm.picker, piece) == SW_PICKER_PIECE_FAILED) {
        sw__swarm_hold_piece(&t->swarm, piece);
        r->held = sw__swarm_piece_held(&t->swarm, piece);
    }
    return 0;
}

/* ---- peers ---- */

sw_plugin_torrent *sw_plugin_peer_torrent(sw_plugin_peer *p)
{
    sw_swarm *sw = sw__peer_conn_swarm(sw__conn_of(p));
    return sw ? sw__ptorrent(sw->owner) : NULL;
}

void sw_plugin_peer_endpoint(sw_plugin_peer *p, sw_plugin_endpoint *out)
{
    sw__plugin_endpoint_from(sw__peer_conn_remote(sw__conn_of(p)), out);
}

bool sw_plugin_peer_listen_endpoint(sw_plugin_peer *p, sw_plugin_endpoint *out)
{
    sw_endpoint ep;
    if (!sw__peer_conn_listen_endpoint(sw__conn_of(p), &ep))
        return false;
    sw__plugin_endpoint_from(&ep, out);
    return out->family != 0;
}

void sw_plugin_peer_id(sw_plugin_peer *p, uint8_t out[20])
{
    memcpy(out, sw__peer_conn_peer_id(sw__conn_of(p))->v, 20);
}

const char *sw_plugin_peer_client(sw_plugin_peer *p)
{
    return sw__peer_conn_client(sw__conn_of(p));
}

unsigned sw_plugin_peer_flags(sw_plugin_peer *p)
{
    sw_peer_conn *pc = sw__conn_of(p);
    unsigned f = 0;
    unsigned features = sw__peer_conn_features(pc);
    sw_endpoint ep;
    if (sw__peer_conn_outgoing(pc))
        f |= SW_PLUGIN_PEER_OUTGOING;
    if (sw__peer_conn_is_seed(pc))
        f |= SW_PLUGIN_PEER_SEED;
    if (sw__peer_conn_upload_only(pc))
        f |= SW_PLUGIN_PEER_UPLOAD_ONLY;
    if (features & SW_WIRE_FEATURE_EXTENSION)
        f |= SW_PLUGIN_PEER_EXTENSIONS;
    if (features & SW_WIRE_FEATURE_FAST)
        f |= SW_PLUGIN_PEER_FAST;
    if (sw__peer_conn_listen_endpoint(pc, &ep))
        f |= SW_PLUGIN_PEER_CONNECTABLE;
    if (sw__peer_conn_socket_type(pc) == SW_SOCKET_UTP)
        f |= SW_PLUGIN_PEER_UTP;
    return f;
}

int sw_plugin_peer_send_extended(sw_plugin_peer *p, uint8_t msg_id, const uint8_t *payload,
                                 size_t len)
{
    if (msg_id == 0 || (len > 0 && !payload))
        return SW_ERR_INVALID_ARG;
    return sw__peer_conn_send_extended(sw__conn_of(p), msg_id, payload, len);
}

void sw_plugin_peer_disconnect(sw_plugin_peer *p, int error, const char *reason)
{
    (void)reason; /* the close reason must outlive the call: a fixed text */
    sw_peer_conn *pc = sw__conn_of(p);
    if (sw__peer_conn_is_active(pc))
        sw__peer_conn_close(pc, error, "closed by a plugin");
}
