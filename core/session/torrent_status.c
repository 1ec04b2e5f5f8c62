/* What a torrent reports: its status, its peers, per-file progress, and
 * mapping file priorities onto piece priorities. Network thread. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "session_int.h"
#include "web_seed.h"

static int64_t piece_bytes(const sw_torrent *t, int piece)
{
    int64_t n = sw_torrent_info_piece_size(t->ti, piece);
    if (t->pad_in_piece)
        n -= t->pad_in_piece[piece];
    return n;
}

void sw__torrent_status(sw_torrent *t, sw_torrent_status *st)
{
    memset(st, 0, sizeof *st);
    st->struct_size = sizeof *st;
    st->handle.session = t->ses;
    st->handle.id = t->id;
    /* A torrent still fetched by URL has no info-hash yet (its key in the
     * index is a stand-in): all zero, as libtorrent shows it. */
    if (!t->url_fetch)
        st->info_hash = t->info_hash;
    size_t n = strlen(t->name);
    if (n >= sizeof st->name)
        n = sizeof st->name - 1;
    memcpy(st->name, t->name, n);
    st->state = t->state;
    st->paused = t->paused;
    st->auto_managed = t->auto_managed;
    st->queue_position = sw__queue_position(t);
    st->seed_rank = sw__queue_seed_rank(t);
    st->sequential_download = t->sequential;
    st->upload_mode = t->upload_mode;
    st->seed_mode = t->seed_mode && t->swarm.seed_mode;
    sw__torrent_modes_status(t, st);
    st->is_finished = t->state == SW_TORRENT_FINISHED || t->state == SW_TORRENT_SEEDING;
    st->is_seeding = t->state == SW_TORRENT_SEEDING;
    st->has_metadata = t->ti != NULL;
    st->need_save_resume = t->need_save_resume;
    st->error = t->error;
    st->error_file = t->error ? t->error_file : -1;
    if (t->error_message)
        snprintf(st->error_message, sizeof st->error_message, "%s", t->error_message);

    const sw_swarm *sw = &t->swarm;
    st->num_pieces_total = sw->num_pieces;
    st->total_size = t->ti ? sw_torrent_info_total_size(t->ti) - t->pad_total : 0;
    for (int i = 0; i < sw->num_pieces; i++) {
        bool have = sw__bitfield_get(&sw->have, (uint32_t)i);
        bool wanted = sw__picker_piece_priority(sw->picker, i) > 0;
        if (!have && !wanted)
            continue;
        int64_t b = piece_bytes(t, i);
        if (have) {
            st->num_pieces++;
            st->total_done += b;
        }
        if (wanted) {
            st->total_wanted += b;
            if (have)
                st->total_wanted_done += b;
        }
    }
    if (t->check_running) {
        int total = t->check_total > 0 ? t->check_total : 1;
        st->checking_progress_ppm = (int)((int64_t)t->check_done * 1000000 / total);
        st->progress_ppm = st->checking_progress_ppm;
    } else if (st->total_wanted > 0) {
        st->progress_ppm = (int)(st->total_wanted_done * 1000000 / st->total_wanted);
    } else {
        st->progress_ppm = t->checked && t->ti ? 1000000 : 0;
    }
    st->progress = (float)st->progress_ppm / 1000000.0f;

    st->total_payload_download = sw->stats.payload_down;
    st->total_payload_upload = sw->stats.payload_up;
    st->total_download = sw->stats.payload_down + sw->stats.protocol_down;
    st->total_upload = sw->stats.payload_up + sw->stats.protocol_up;
    st->total_redundant_bytes = sw->stats.redundant;
    st->total_failed_bytes = sw->stats.failed;
    st->all_time_download = t->prev_download + sw->stats.payload_down;
    st->all_time_upload = t->prev_upload + sw->stats.payload_up;
    st->download_rate = (int)sw->rates.down.rate;
    st->upload_rate = (int)sw->rates.up.rate;
    st->download_payload_rate = (int)sw->rates.payload_down.rate;
    st->upload_payload_rate = (int)sw->rates.payload_up.rate;

    sw_swarm_counts c;
    sw__swarm_counts(sw, &c);
    st->num_peers = c.connections;
    st->num_seeds = c.seeds;
    /* A web seed fetching now counts as a connected seed, as in libtorrent. */
    int web = sw__web_seeds_active(t);
    st->num_peers += web;
    st->num_seeds += web;
    st->num_uploads = c.uploads;
    st->list_peers = c.list_peers;
    st->connect_candidates = c.connect_candidates;
    st->has_incoming = c.has_incoming;

    st->max_uploads = t->cfg.max_uploads;
    st->max_connections = t->cfg.max_connections;
    st->upload_limit = t->cfg.upload_limit;
    st->download_limit = t->cfg.download_limit;
    st->added_time = t->added_time;
    st->completed_time = t->completed_time;
    st->active_seconds = (int64_t)(t->active_ms / 1000);
    st->seeding_seconds = (int64_t)(t->seeding_ms / 1000);
    st->finished_seconds = (int64_t)(t->finished_ms / 1000);
}

int sw__torrent_apply_file_priorities(sw_torrent *t)
{
    int np = t->swarm.num_pieces;
    sw_picker_file_range *fr = malloc((size_t)(t->num_files ? t->num_files : 1) * sizeof *fr);
    uint8_t *prio = malloc((size_t)np);
    int rc = (fr && prio) ? 0 : SW_ERR_NOMEM;
    if (rc == 0) {
        for (int i = 0; i < t->num_files; i++) {
            const sw_file_entry *f = sw_torrent_info_file(t->ti, i);
            fr[i].offset = f->offset;
            fr[i].size = f->size;
            fr[i].priority = t->file_prio[i];
            fr[i].pad = (f->flags & SW_FILE_PAD) != 0;
        }
        rc = sw__picker_file_priorities(fr, t->num_files, sw_torrent_info_piece_length(t->ti), np,
                                        prio);
    }
    if (rc == 0)
        rc = sw__swarm_set_priorities(&t->swarm, prio);
    free(fr);
    free(prio);
    if (rc == 0) {
        t->need_save_resume = true;
        t->state_dirty = true;
        if (t->checked && !t->check_running && !t->error) {
            /* Wanting more pieces turns a finished torrent back into a
             * download; wanting fewer may finish it. */
            if (t->swarm.finished)
                sw__torrent_set_state(t, sw__picker_is_seed(t->swarm.picker) ? SW_TORRENT_SEEDING
                                                                             : SW_TORRENT_FINISHED);
            else
                sw__torrent_set_state(t, SW_TORRENT_DOWNLOADING);
        }
    }
    return rc;
}

int sw__torrent_file_progress(sw_torrent *t, int64_t *out)
{
    const sw_swarm *sw = &t->swarm;
    int plen = sw_torrent_info_piece_length(t->ti);
    for (int i = 0; i < t->num_files; i++) {
        const sw_file_entry *f = sw_torrent_info_file(t->ti, i);
        out[i] = 0;
        int first, last;
        if ((f->flags & SW_FILE_PAD) || !sw_torrent_info_file_pieces(t->ti, i, &first, &last))
            continue;
        for (int p = first; p <= last; p++) {
            if (!sw__bitfield_get(&sw->have, (uint32_t)p))
                continue;
            int64_t ps = (int64_t)p * plen;
            int64_t pe = ps + sw_torrent_info_piece_size(t->ti, p);
            int64_t s = ps > f->offset ? ps : f->offset;
            int64_t e = pe < f->offset + f->size ? pe : f->offset + f->size;
            if (e > s)
                out[i] += e - s;
        }
    }
    return 0;
}

static uint32_t peer_flags(const sw_peer_conn_info *ci)
{
    uint32_t f = 0;
    if (ci->am_interested)
        f |= SW_PEER_INTERESTING;
    if (ci->peer_choking)
        f |= SW_PEER_CHOKED;
    if (ci->peer_interested)
        f |= SW_PEER_REMOTE_INTERESTED;
    if (ci->am_choking)
        f |= SW_PEER_REMOTE_CHOKED;
    if (ci->extension)
        f |= SW_PEER_SUPPORTS_EXTENSIONS;
    if (ci->outgoing)
        f |= SW_PEER_LOCAL_CONNECTION;
    if (ci->snubbed)
        f |= SW_PEER_SNUBBED;
    if (ci->seed)
        f |= SW_PEER_SEED;
    if (ci->fast)
        f |= SW_PEER_SUPPORTS_FAST;
    if (ci->mse)
        f |= SW_PEER_PLAINTEXT_ENCRYPTED;
    if (ci->mse && ci->mse_rc4)
        f |= SW_PEER_RC4_ENCRYPTED;
    return f;
}

int sw__torrent_peer_info(sw_torrent *t, sw_peer_info **out, size_t *count_out)
{
    sw_peer_conn_info *infos;
    size_t n;
    *out = NULL;
    *count_out = 0;
    int rc = sw__swarm_conn_infos(&t->swarm, &infos, &n);
    if (rc < 0 || n == 0)
        return rc;
    sw_peer_info *v = calloc(n, sizeof *v);
    if (!v) {
        free(infos);
        return SW_ERR_NOMEM;
    }
    size_t i = 0;
    for (; i < n; i++) {
        const sw_peer_conn_info ci = infos[i];
        sw_peer_info *p = &v[i];
        sw__endpoint_format_ip(&ci.ep, p->ip, sizeof p->ip);
        p->port = ci.ep.port;
        memcpy(p->peer_id, ci.peer_id.v, 20);
        memcpy(p->client, ci.client, sizeof p->client);
        p->flags = peer_flags(&ci);
        p->source = ci.source;
        p->connection_type = ci.utp ? SW_SOCKET_UTP : SW_SOCKET_TCP;
        p->download_rate = (int)ci.rate_down;
        p->upload_rate = (int)ci.rate_up;
        p->total_download = ci.payload_down;
        p->total_upload = ci.payload_up;
        p->num_pieces = ci.num_pieces;
        p->progress = t->swarm.num_pieces ? (float)ci.num_pieces / (float)t->swarm.num_pieces : 0;
        p->download_queue_length = ci.requests_out;
        p->upload_queue_length = ci.requests_in;
        p->target_queue = ci.desired_queue;
        p->connected_seconds = ci.connected_ms / 1000;
        p->read_state = ci.read_state;
        p->write_state = ci.write_state;
    }
    free(infos);
    *out = v;
    *count_out = i;
    return 0;
}
