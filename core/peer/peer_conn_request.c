/* Downloading from a peer: interest, request pipelining sized by the peer's
 * rate, received blocks handed to the disk, rejects, choke handling,
 * snubbing and end-game cancels. */
#include <stdlib.h>
#include <string.h>

#include "peer_limits.h"

/* Requests kept outstanding before the rate is known. */
#define SW_PEER_INITIAL_QUEUE 4

static bool peer_has_piece(const sw_peer_conn *pc, int piece)
{
    return pc->avail_seed || sw__bitfield_get(&pc->have, (uint32_t)piece);
}

static bool has_any_wanted(const sw_peer_conn *pc)
{
    const sw_swarm *sw = pc->swarm;
    if (sw->finished)
        return false;
    if (pc->avail_seed)
        return true;
    uint32_t i = 0;
    while (sw__bitfield_find_next_set(&pc->have, i, &i)) {
        if (sw__picker_is_wanted(sw->picker, (int)i))
            return true;
        i++;
    }
    return false;
}

void sw__peer_update_interest(sw_peer_conn *pc)
{
    if (pc->state != SW_PEER_ACTIVE)
        return;
    bool want = !pc->swarm->cfg.upload_mode && has_any_wanted(pc);
    if (want == pc->am_interested)
        return;
    pc->am_interested = want;
    sw__peer_send_simple(pc, want ? SW_WIRE_ID_INTERESTED : SW_WIRE_ID_NOT_INTERESTED);
}

static int find_out(const sw_peer_conn *pc, uint32_t index, uint32_t begin)
{
    for (int i = 0; i < pc->num_out; i++) {
        if ((uint32_t)pc->out[i].block.piece == index && pc->out[i].begin == begin)
            return i;
    }
    return -1;
}

static void remove_out(sw_peer_conn *pc, int i)
{
    memmove(&pc->out[i], &pc->out[i + 1], (size_t)(pc->num_out - i - 1) * sizeof pc->out[0]);
    pc->num_out--;
}

static int speed_class(const sw_peer_conn *pc)
{
    int64_t r = pc->rates.payload_down.rate;
    if (r > 1024 * 1024)
        return SW_PICKER_SPEED_FAST;
    if (r > 100 * 1024)
        return SW_PICKER_SPEED_MEDIUM;
    return SW_PICKER_SPEED_SLOW;
}

static bool allowed_fast_has(const void *ctx, int piece)
{
    const sw_peer_conn *pc = ctx;
    if (!peer_has_piece(pc, piece))
        return false;
    for (int i = 0; i < pc->num_allowed_fast; i++)
        if (pc->allowed_fast[i] == (uint32_t)piece)
            return true;
    return false;
}

static int max_queue(const sw_peer_conn *pc)
{
    int q = SW_ENV_INT(pc->env, MAX_OUT_REQUEST_QUEUE);
    if (q < 1)
        q = 1;
    if (pc->reqq > 0 && (uint32_t)q > pc->reqq)
        q = (int)pc->reqq;
    return q;
}

void sw__peer_request_more(sw_peer_conn *pc)
{
    sw_swarm *sw = pc->swarm;
    if (pc->state != SW_PEER_ACTIVE || !pc->am_interested || sw->cfg.upload_mode || sw->checking ||
        !sw->active)
        return;
    bool choked = pc->peer_choking;
    if (choked && pc->num_allowed_fast == 0)
        return;
    int want = pc->desired_queue - pc->num_out;
    if (want <= 0)
        return;
    if (pc->num_out + want > pc->cap_out) {
        int cap = pc->cap_out ? pc->cap_out : 16;
        while (cap < pc->num_out + want)
            cap *= 2;
        sw_out_req *o = realloc(pc->out, (size_t)cap * sizeof *o);
        if (!o)
            return;
        pc->out = o;
        pc->cap_out = cap;
    }
    sw_picker_block *blocks = malloc((size_t)want * sizeof *blocks);
    if (!blocks)
        return;
    sw_pick_params pp;
    sw__pick_params_init(&pp);
    pp.peer = pc->entry;
    pp.num_blocks = want;
    pp.speed = speed_class(pc);
    if (sw->cfg.sequential)
        pp.flags |= SW_PICK_SEQUENTIAL;
    if (pc->snubbed)
        pp.flags |= SW_PICK_REVERSE;
    if (choked) {
        pp.has_fn = allowed_fast_has;
        pp.has_ctx = pc;
    } else if (pc->avail_seed) {
        pp.has_all = true;
    } else {
        pp.bits = pc->have.bits;
    }
    int n = 0;
    if (sw__picker_pick(sw->picker, &pp, blocks, want, &n) < 0)
        n = 0;
    int sent = 0;
    for (int i = 0; i < n; i++) {
        sw_picker_block b = blocks[i];
        if (!sw__peer_bw_take(pc, false, sw__picker_block_size(sw->picker, b)))
            break; /* the bandwidth queue calls again once there is quota */
        if (sw__picker_mark_requested(sw->picker, b, pc->entry, pp.speed) < 0)
            continue;
        uint32_t len = (uint32_t)sw__picker_block_size(sw->picker, b);
        uint32_t begin = (uint32_t)b.block * SW_PICKER_BLOCK_SIZE;
        if (sw__peer_send_request(pc, (uint32_t)b.piece, begin, len) < 0) {
            sw__picker_abort_request(sw->picker, b, pc->entry);
            break;
        }
        sw_out_req *r = &pc->out[pc->num_out++];
        r->block = b;
        r->begin = begin;
        r->length = len;
        r->sent_ms = pc->env->now_ms;
        sent++;
    }
    free(blocks);
    if (sent == 0 && pc->num_out == 0 && !choked)
        sw__peer_update_interest(pc);
}

/* Bytes received but not yet written before reading pauses: the setting,
 * but always room for a few whole write batches so batching does not stall
 * the connection. */
static int64_t disk_queue_limit(const sw_peer_conn *pc)
{
    int64_t limit = SW_ENV_INT(pc->env, MAX_QUEUED_DISK_BYTES);
    return limit > 4 * SW_PEER_WRITE_BATCH ? limit : 4 * SW_PEER_WRITE_BATCH;
}

static void on_batch_written(sw_disk_result *res, void *user)
{
    sw_peer_conn *pc = user;
    sw_swarm *sw = pc->swarm;
    pc->queued_disk_bytes -= (int64_t)res->length;
    int first = (int)(res->offset / SW_PICKER_BLOCK_SIZE);
    int last = (int)((res->offset + (int64_t)res->length - 1) / SW_PICKER_BLOCK_SIZE);
    for (int k = first; k <= last; k++) {
        sw_picker_block b = {res->piece, k};
        sw__swarm_block_written(sw, b, res->error, res->op, res->file_index);
    }
    if (pc->read_paused && pc->queued_disk_bytes <= disk_queue_limit(pc) / 2)
        sw__peer_conn_resume_reading(pc);
    pc->pending_jobs--;
    sw__peer_conn_maybe_free(pc);
}

void sw__peer_flush_writes(sw_peer_conn *pc)
{
    sw_write_batch *w = &pc->wbatch;
    if (!w->buf)
        return;
    sw_swarm *sw = pc->swarm;
    uint8_t *buf = w->buf;
    size_t len = w->len;
    w->buf = NULL;
    int rc = sw__disk_write(sw->storage, w->piece, w->begin, buf, len, on_batch_written, pc);
    if (rc == 0) {
        pc->pending_jobs++;
        return;
    }
    free(buf);
    pc->queued_disk_bytes -= (int64_t)len;
    int first = (int)(w->begin / SW_PICKER_BLOCK_SIZE);
    int last = (int)((w->begin + len - 1) / SW_PICKER_BLOCK_SIZE);
    for (int k = first; k <= last; k++) {
        sw_picker_block b = {w->piece, k};
        if (rc == SW_ERR_ABORTED)
            sw__picker_mark_write_failed(sw->picker, b);
        else
            sw__swarm_block_written(sw, b, rc, SW_DISK_OP_WRITE, -1);
    }
}

/* Appends a received block to the write batch, flushing first when it does
 * not continue the batch, and after when the batch is full. */
/* Where a received block of len bytes at (index, begin) goes in the write
 * batch: a batch that it does not continue is flushed first. The slot is
 * not part of the batch until sw__peer_block_commit. NULL when out of
 * memory. */
uint8_t *sw__peer_block_slot(sw_peer_conn *pc, uint32_t index, uint32_t begin, size_t len)
{
    sw_write_batch *w = &pc->wbatch;
    if (w->buf && (w->piece != (int)index || w->begin + w->len != begin || w->len + len > w->cap))
        sw__peer_flush_writes(pc);
    if (!w->buf) {
        int64_t limit = SW_PEER_WRITE_BATCH;
        if (limit < (int64_t)len)
            limit = (int64_t)len;
        int64_t rest =
            (int64_t)sw_torrent_info_piece_size(pc->swarm->ti, (int)index) - (int64_t)begin;
        w->cap = (size_t)(rest < limit ? rest : limit);
        w->buf = malloc(w->cap);
        if (!w->buf)
            return NULL;
        w->piece = (int)index;
        w->begin = begin;
        w->len = 0;
    }
    return w->buf + w->len;
}

/* The block in the slot is complete: it joins the batch (flushed when
 * full), and reading pauses if too much waits for the disk. */
void sw__peer_block_commit(sw_peer_conn *pc, sw_picker_block b, size_t len)
{
    sw_peer_env *env = pc->env;
    sw_write_batch *w = &pc->wbatch;
    w->len += len;
    pc->queued_disk_bytes += (int64_t)len;
    if (w->len == w->cap)
        sw__peer_flush_writes(pc);
    if (!pc->read_paused && pc->queued_disk_bytes > disk_queue_limit(pc)) {
        pc->read_paused = true;
        sw__stream_read_stop(pc->stream);
    }
    if (env->wants_event && env->wants_event(env->ctx, SW_ALERT_BLOCK_FINISHED)) {
        sw_peer_event ev = {.type = SW_ALERT_BLOCK_FINISHED,
                            .swarm = pc->swarm,
                            .ep = &pc->remote,
                            .peer_id = &pc->peer_id,
                            .piece = b.piece,
                            .block = b.block};
        env->on_event(env->ctx, &ev);
    }
}

static void count_payload(sw_peer_conn *pc, size_t len)
{
    int64_t n = (int64_t)len;
    pc->stats.protocol_down -= n;
    pc->stats.payload_down += n;
    pc->swarm->stats.protocol_down -= n;
    pc->swarm->stats.payload_down += n;
    pc->env->stats.protocol_down -= n;
    pc->env->stats.payload_down += n;
}

static void count_redundant(sw_peer_conn *pc, size_t len)
{
    pc->swarm->stats.redundant += (int64_t)len;
    pc->env->stats.redundant += (int64_t)len;
}

bool sw__peer_block_arrived(sw_peer_conn *pc, uint32_t index, uint32_t begin, size_t len,
                            sw_picker_block *b_out)
{
    sw_peer_env *env = pc->env;
    sw_swarm *sw = pc->swarm;
    count_payload(pc, len);
    pc->last_payload_ms = env->now_ms;
    int i = find_out(pc, index, begin);
    if (i >= 0)
        remove_out(pc, i);
    if (pc->snubbed) {
        pc->snubbed = false;
        sw__swarm_emit(sw, pc, SW_ALERT_PEER_UNSNUBBED, 0, NULL);
    }
    pc->last_block_ms = env->now_ms;
    if (pc->slow_start && pc->desired_queue < max_queue(pc))
        pc->desired_queue++;
    sw_picker_block b;
    if (sw->checking || !sw->picker ||
        sw__picker_block_from_wire(sw->picker, (int)index, begin, (int64_t)len, &b) < 0) {
        count_redundant(pc, len);
        return false;
    }
    void *others[SW_PICKER_MAX_REQUESTERS];
    int n_others = 0;
    if (sw__picker_mark_received(sw->picker, b, pc->entry, others, &n_others) < 0) {
        count_redundant(pc, len);
        return false;
    }
    for (int k = 0; k < n_others; k++) {
        sw_peer_entry *e = others[k];
        if (e && e->conn && e->conn != pc)
            sw__peer_cancel_block(e->conn, b);
    }
    *b_out = b;
    return true;
}

void sw__peer_on_piece(sw_peer_conn *pc, const sw_wire_msg *m)
{
    sw_picker_block b;
    if (!sw__peer_block_arrived(pc, m->index, m->begin, m->len, &b))
        return;
    uint8_t *slot = sw__peer_block_slot(pc, m->index, m->begin, m->len);
    if (!slot) {
        sw__picker_mark_write_failed(pc->swarm->picker, b);
        return;
    }
    memcpy(slot, m->data, m->len);
    sw__peer_block_commit(pc, b, m->len);
}

void sw__peer_on_reject(sw_peer_conn *pc, const sw_wire_msg *m)
{
    int i = find_out(pc, m->index, m->begin);
    if (i < 0)
        return;
    sw_picker_block b = pc->out[i].block;
    remove_out(pc, i);
    sw__picker_abort_request(pc->swarm->picker, b, pc->entry);
}

void sw__peer_on_choked(sw_peer_conn *pc)
{
    /* A fast peer rejects what it will not send; a plain one drops every
     * request silently when it chokes. */
    if (!(pc->features & SW_WIRE_FEATURE_FAST))
        sw__peer_abort_requests(pc, false);
}

void sw__peer_abort_requests(sw_peer_conn *pc, bool send_cancel)
{
    sw_swarm *sw = pc->swarm;
    for (int i = 0; i < pc->num_out; i++) {
        sw_out_req *r = &pc->out[i];
        if (!sw->checking)
            sw__picker_abort_request(sw->picker, r->block, pc->entry);
        if (send_cancel)
            sw__peer_send_cancel(pc, (uint32_t)r->block.piece, r->begin, r->length);
    }
    pc->num_out = 0;
}

void sw__peer_cancel_block(sw_peer_conn *pc, sw_picker_block b)
{
    int i = find_out(pc, (uint32_t)b.piece, (uint32_t)b.block * SW_PICKER_BLOCK_SIZE);
    if (i < 0)
        return;
    sw_out_req r = pc->out[i];
    remove_out(pc, i);
    if (pc->state == SW_PEER_ACTIVE) {
        sw__peer_send_cancel(pc, (uint32_t)r.block.piece, r.begin, r.length);
        sw__peer_send_flush(pc);
    }
}

void sw__peer_request_tick(sw_peer_conn *pc)
{
    sw_peer_env *env = pc->env;
    int64_t rate = pc->rates.payload_down.rate;
    int qt = SW_ENV_INT(env, REQUEST_QUEUE_TIME);
    int64_t target = rate * (qt > 0 ? qt : 1) / SW_PICKER_BLOCK_SIZE;
    int maxq = max_queue(pc);
    if (pc->slow_start) {
        /* Leave slow start once the rate stops growing and the queue
         * already covers what the rate asks for. */
        if (rate > 0 && rate <= pc->prev_rate + pc->prev_rate / 10 && target <= pc->desired_queue)
            pc->slow_start = false;
        pc->prev_rate = rate;
    }
    if (!pc->slow_start && !pc->snubbed) {
        if (target < 2)
            target = 2;
        pc->desired_queue = target > maxq ? maxq : (int)target;
    }
    if (pc->desired_queue > maxq)
        pc->desired_queue = maxq;
    /* Snubbed: requests outstanding and no block for piece_timeout. */
    if (pc->num_out > 0 && !pc->snubbed) {
        uint64_t since =
            pc->last_block_ms > pc->out[0].sent_ms ? pc->last_block_ms : pc->out[0].sent_ms;
        if (env->now_ms - since > (uint64_t)SW_ENV_INT(env, PIECE_TIMEOUT) * 1000) {
            pc->snubbed = true;
            pc->slow_start = false;
            pc->desired_queue = 1;
            sw__swarm_emit(pc->swarm, pc, SW_ALERT_PEER_SNUBBED, 0, NULL);
            sw__peer_abort_requests(pc, true);
        }
    }
    sw__peer_request_more(pc);
    sw__peer_send_flush(pc);
}
