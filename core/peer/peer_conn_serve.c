/* Uploading to a peer: its requests are queued, read from disk a few at a
 * time while the send queue has room, and sent as piece messages whose
 * block data is the disk buffer itself. */
#include <stdlib.h>
#include <string.h>

#include "peer_limits.h"

/* Disk reads in flight per connection. */
#define SW_PEER_MAX_READS 8
/* Bytes queued for sending (or being read for it) before reads pause. */
#define SW_PEER_SEND_WATERMARK (4u << 20)

static bool offered_fast(const sw_peer_conn *pc, uint32_t index)
{
    for (int i = 0; i < pc->num_af_out; i++)
        if (pc->af_out[i] == index)
            return true;
    return false;
}

static int find_in(const sw_peer_conn *pc, uint32_t index, uint32_t begin, uint32_t length)
{
    for (int i = 0; i < pc->num_in; i++) {
        const sw_in_req *r = &pc->in[i];
        if (r->index == index && r->begin == begin && r->length == length)
            return i;
    }
    return -1;
}

static void remove_in(sw_peer_conn *pc, int i)
{
    memmove(&pc->in[i], &pc->in[i + 1], (size_t)(pc->num_in - i - 1) * sizeof pc->in[0]);
    pc->num_in--;
}

static void refuse(sw_peer_conn *pc, const sw_wire_msg *m)
{
    if (pc->features & SW_WIRE_FEATURE_FAST)
        sw__peer_send_reject(pc, m->index, m->begin, m->length);
}

void sw__peer_on_request(sw_peer_conn *pc, const sw_wire_msg *m)
{
    sw_swarm *sw = pc->swarm;
    if (!sw__bitfield_get(&sw->have, m->index) || sw->checking ||
        !sw__super_seed_allows(pc, m->index)) {
        refuse(pc, m);
        return;
    }
    if (pc->am_choking && !offered_fast(pc, m->index)) {
        refuse(pc, m);
        return;
    }
    int limit = SW_ENV_INT(pc->env, MAX_ALLOWED_IN_REQUEST_QUEUE);
    if (pc->num_in >= limit) {
        refuse(pc, m);
        return;
    }
    if (find_in(pc, m->index, m->begin, m->length) >= 0)
        return; /* a duplicate: the first one will be answered */
    if (pc->num_in == pc->cap_in) {
        int cap = pc->cap_in ? pc->cap_in * 2 : 64;
        sw_in_req *in = realloc(pc->in, (size_t)cap * sizeof *in);
        if (!in) {
            refuse(pc, m);
            return;
        }
        pc->in = in;
        pc->cap_in = cap;
    }
    pc->in[pc->num_in++] = (sw_in_req){m->index, m->begin, m->length, false, false};
    sw__peer_serve_more(pc);
}

void sw__peer_on_cancel(sw_peer_conn *pc, const sw_wire_msg *m)
{
    int i = find_in(pc, m->index, m->begin, m->length);
    if (i < 0)
        return;
    bool fast = (pc->features & SW_WIRE_FEATURE_FAST) != 0;
    if (pc->in[i].reading) {
        /* A fast peer gets either the block or a reject: the block is on its
         * way, so let it go. A plain peer wants nothing more. */
        if (!fast)
            pc->in[i].cancelled = true;
        return;
    }
    remove_in(pc, i);
    if (fast)
        sw__peer_send_reject(pc, m->index, m->begin, m->length);
}

void sw__peer_drop_requests(sw_peer_conn *pc)
{
    bool fast = (pc->features & SW_WIRE_FEATURE_FAST) != 0;
    int j = 0;
    for (int i = 0; i < pc->num_in; i++) {
        sw_in_req r = pc->in[i];
        if (!r.cancelled && offered_fast(pc, r.index)) {
            pc->in[j++] = r;
            continue;
        }
        if (fast && !r.cancelled)
            sw__peer_send_reject(pc, r.index, r.begin, r.length);
        if (r.reading) {
            r.cancelled = true;
            pc->in[j++] = r; /* the read completes later and finds it */
        }
    }
    pc->num_in = j;
}

static void on_block_read(sw_disk_result *res, void *user)
{
    sw_peer_conn *pc = user;
    pc->reads_in_flight--;
    pc->reading_bytes -= res->length;
    if (pc->state == SW_PEER_CLOSING) {
        pc->pending_jobs--;
        sw__peer_conn_maybe_free(pc);
        return;
    }
    sw_shared_buf *sb = NULL;
    int error = res->error;
    if (error == 0) {
        sb = malloc(sizeof *sb);
        if (sb) {
            sb->refs = 1;
            sb->data = res->buffer;
            res->buffer = NULL; /* the slices own it now */
        } else {
            error = SW_ERR_NOMEM;
        }
    }
    bool fast = (pc->features & SW_WIRE_FEATURE_FAST) != 0;
    uint32_t off = (uint32_t)res->offset;
    uint32_t end = off + (uint32_t)res->length;
    /* Every request this read covered (a run of contiguous blocks). */
    for (int i = 0; i < pc->num_in;) {
        sw_in_req r = pc->in[i];
        if (!r.reading || r.index != (uint32_t)res->piece || r.begin < off ||
            r.begin + r.length > end) {
            i++;
            continue;
        }
        remove_in(pc, i);
        if (r.cancelled)
            continue;
        if (error < 0) {
            if (fast && error != SW_ERR_ABORTED)
                sw__peer_send_reject(pc, r.index, r.begin, r.length);
            continue;
        }
        uint8_t *p;
        if (sw__peer_send_reserve(pc, 13, &p) < 0)
            continue;
        sw__store_be32(p, 9 + r.length);
        p[4] = SW_WIRE_ID_PIECE;
        sw__store_be32(p + 5, r.index);
        sw__store_be32(p + 9, r.begin);
        sw__peer_send_slice(pc, sb, sb->data + (r.begin - off), r.length);
    }
    if (sb)
        sw__shared_buf_unref(sb);
    if (error < 0 && error != SW_ERR_ABORTED && error != SW_ERR_NOMEM)
        sw__swarm_disk_error(pc->swarm, error, res->op, res->file_index);
    pc->pending_jobs--;
    if (pc->state == SW_PEER_ACTIVE) {
        sw__peer_serve_more(pc);
        sw__peer_send_flush(pc);
    }
    sw__peer_conn_maybe_free(pc);
}

void sw__peer_serve_more(sw_peer_conn *pc)
{
    sw_swarm *sw = pc->swarm;
    bool fast = (pc->features & SW_WIRE_FEATURE_FAST) != 0;
    for (int i = 0; i < pc->num_in && pc->reads_in_flight < SW_PEER_MAX_READS; i++) {
        sw_in_req *r = &pc->in[i];
        if (r->reading)
            continue;
        if (!sw__swarm_piece_verified(sw, (int)r->index))
            continue; /* served once its check passes */
        size_t backlog = pc->send_bytes + pc->write_bytes + pc->reading_bytes;
        if (backlog >= SW_PEER_SEND_WATERMARK)
            break;
        /* One read for the run of contiguous requests that follows (a
         * shorter run under an upload limit, to keep it smooth). */
        size_t batch = sw__peer_bw_batch(pc, SW_PEER_READ_BATCH);
        uint32_t len = r->length;
        int j = i + 1;
        while (j < pc->num_in && !pc->in[j].reading && pc->in[j].index == r->index &&
               pc->in[j].begin == r->begin + len && len + pc->in[j].length <= batch) {
            len += pc->in[j].length;
            j++;
        }
        if (!sw__peer_bw_take(pc, true, len))
            break; /* the bandwidth queue calls again once there is quota */
        int rc = sw__disk_read(sw->storage, (int)r->index, r->begin, len, on_block_read, pc);
        if (rc < 0) {
            for (int k = i; k < j; k++)
                if (fast)
                    sw__peer_send_reject(pc, pc->in[k].index, pc->in[k].begin, pc->in[k].length);
            memmove(&pc->in[i], &pc->in[j], (size_t)(pc->num_in - j) * sizeof pc->in[0]);
            pc->num_in -= j - i;
            i--;
            continue;
        }
        for (int k = i; k < j; k++)
            pc->in[k].reading = true;
        pc->reads_in_flight++;
        pc->reading_bytes += len;
        pc->pending_jobs++;
        i = j - 1;
    }
}
