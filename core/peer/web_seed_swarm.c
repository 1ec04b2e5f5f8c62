/* A web seed feeding a swarm: picking runs of blocks for it, writing what
 * it delivers through the same disk path as a peer's blocks; see
 * web_seed.h. */
#include "web_seed.h"

#include <stdlib.h>
#include <string.h>

#include "disk/disk.h"
#include "peer_conn_int.h"

bool sw__swarm_web_wants(const sw_swarm *sw)
{
    return sw->picker && sw->storage && sw->active && !sw->checking && !sw->closing &&
           !sw->finished && !sw->cfg.upload_mode;
}

static bool has_all(const void *ctx, int piece)
{
    (void)ctx;
    (void)piece;
    return true;
}

int sw__swarm_web_pick(sw_swarm *sw, sw_peer_entry *peer, int max_blocks, int *piece_out,
                       int *first_block_out, int *n_out)
{
    *n_out = 0;
    if (!sw__swarm_web_wants(sw) || max_blocks <= 0)
        return 0;
    sw_pick_params pp;
    sw__pick_params_init(&pp);
    pp.peer = peer;
    pp.has_fn = has_all;
    pp.has_all = true;
    pp.num_blocks = max_blocks;
    pp.flags |= SW_PICK_WHOLE_PIECES;
    if (sw->cfg.sequential)
        pp.flags |= SW_PICK_SEQUENTIAL;
    sw_picker_block *picked = malloc((size_t)max_blocks * sizeof *picked);
    if (!picked)
        return SW_ERR_NOMEM;
    int n = 0;
    int rc = sw__picker_pick(sw->picker, &pp, picked, max_blocks, &n);
    if (rc < 0 || n == 0) {
        free(picked);
        return rc < 0 ? rc : 0;
    }
    /* The longest run of consecutive blocks of the first piece picked,
     * starting at its lowest block: one HTTP range per file it crosses. */
    int piece = picked[0].piece;
    int nblocks = sw__picker_blocks_in_piece(sw->picker, piece);
    uint8_t *mark = calloc((size_t)nblocks, 1);
    if (!mark) {
        free(picked);
        return SW_ERR_NOMEM;
    }
    int lo = nblocks;
    for (int i = 0; i < n; i++) {
        if (picked[i].piece == piece && picked[i].block >= 0 && picked[i].block < nblocks) {
            mark[picked[i].block] = 1;
            if (picked[i].block < lo)
                lo = picked[i].block;
        }
    }
    free(picked);
    int count = 0;
    for (int k = lo; k < nblocks && mark[k]; k++) {
        sw_picker_block b = {piece, k};
        if (sw__picker_mark_requested(sw->picker, b, peer, SW_PICKER_SPEED_FAST) < 0)
            break;
        count++;
    }
    free(mark);
    *piece_out = piece;
    *first_block_out = lo;
    *n_out = count;
    return 0;
}

void sw__swarm_web_abort(sw_swarm *sw, sw_peer_entry *peer, int piece, int first_block, int n)
{
    if (!sw->picker)
        return;
    for (int k = 0; k < n; k++) {
        sw_picker_block b = {piece, first_block + k};
        sw__picker_abort_request(sw->picker, b, peer);
    }
}

static void on_block_written(sw_disk_result *res, void *user)
{
    sw_swarm *sw = user;
    if (res->error != SW_ERR_ABORTED && !sw->closing) {
        sw_picker_block b = {res->piece, (int)(res->offset / SW_PICKER_BLOCK_SIZE)};
        sw__swarm_block_written(sw, b, res->error, res->op, res->file_index);
    } else if (sw->picker) {
        sw_picker_block b = {res->piece, (int)(res->offset / SW_PICKER_BLOCK_SIZE)};
        sw__picker_mark_write_failed(sw->picker, b);
    }
    sw__swarm_release_ref(sw);
}

void sw__swarm_web_deliver(sw_swarm *sw, sw_peer_entry *peer, int piece, int first_block,
                           const uint8_t *buf, size_t len)
{
    if (!sw->picker || sw->checking || sw->closing)
        return;
    size_t at = 0;
    for (int k = first_block; at < len; k++) {
        sw_picker_block b = {piece, k};
        int bsize = sw__picker_block_size(sw->picker, b);
        if (bsize <= 0 || (size_t)bsize > len - at)
            break;
        void *others[SW_PICKER_MAX_REQUESTERS];
        int n_others = 0;
        int64_t n = bsize;
        sw->stats.payload_down += n;
        sw->env->stats.payload_down += n;
        if (sw__picker_mark_received(sw->picker, b, peer, others, &n_others) < 0) {
            sw->stats.redundant += n;
            sw->env->stats.redundant += n;
            at += (size_t)bsize;
            continue;
        }
        for (int i = 0; i < n_others; i++) {
            sw_peer_entry *e = others[i];
            if (e && e->conn)
                sw__peer_cancel_block(e->conn, b);
        }
        uint8_t *copy = malloc((size_t)bsize);
        int rc = copy ? 0 : SW_ERR_NOMEM;
        if (copy) {
            memcpy(copy, buf + at, (size_t)bsize);
            sw->refs++;
            rc = sw__disk_write(sw->storage, piece, (int64_t)k * SW_PICKER_BLOCK_SIZE, copy,
                                (size_t)bsize, on_block_written, sw);
            if (rc < 0) {
                sw->refs--;
                free(copy);
            }
        }
        if (rc < 0) {
            if (rc == SW_ERR_ABORTED || rc == SW_ERR_NOMEM)
                sw__picker_mark_write_failed(sw->picker, b);
            else
                sw__swarm_block_written(sw, b, rc, SW_DISK_OP_WRITE, -1);
        }
        at += (size_t)bsize;
    }
}

void sw__swarm_web_forget(sw_swarm *sw, sw_peer_entry *peer)
{
    if (sw->picker)
        sw__picker_forget_peer(sw->picker, peer);
}
