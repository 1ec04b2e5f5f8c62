/* Checking a torrent's files: on add (possibly from resume data) and on
 * force_recheck. The check job is a fence on its storage. Its kickoff either
 * accepts resume data or spawns one runner per worker; runners claim pieces
 * one at a time, read and hash them, and put themselves back at the end of
 * the queue after every few MiB so other torrents' jobs keep moving. The last
 * runner to stop completes the check job (and so releases the fence).
 * Progress goes to the loop as one coalesced note. */
#include "disk_internal.h"

#include <stdlib.h>
#include <string.h>

/* A runner yields its worker after hashing this much. */
#define RUNNER_SLICE_BYTES ((int64_t)8 << 20)

struct sw_check_ctx {
    uv_mutex_t mu; /* guards the fields below note_pending */
    sw_disk_progress_cb progress;
    void *user;
    sw_disk_job note;
    atomic_bool note_pending;

    sw_disk_job *kickoff;
    int num_pieces;
    int next_piece;
    int checked;
    int runners;
    uint8_t *have;
    int num_have;
    bool failed;
    bool aborted;
    sw_disk_error err;
};

sw_check_ctx *sw__disk_check_ctx_new(sw_disk_progress_cb progress, void *user)
{
    sw_check_ctx *ctx = calloc(1, sizeof *ctx);
    if (!ctx)
        return NULL;
    if (uv_mutex_init(&ctx->mu) != 0) {
        free(ctx);
        return NULL;
    }
    ctx->progress = progress;
    ctx->user = user;
    ctx->note.kind = SW_DISK_JOB_PROGRESS;
    ctx->note.check = ctx;
    atomic_init(&ctx->note_pending, false);
    return ctx;
}

void sw__disk_check_ctx_free(sw_check_ctx *ctx)
{
    if (!ctx)
        return;
    free(ctx->have);
    uv_mutex_destroy(&ctx->mu);
    free(ctx);
}

void sw__disk_check_deliver_progress(sw_disk_job *note)
{
    sw_check_ctx *ctx = note->check;
    /* Cleared first: a count that moves on from here posts a new note. */
    atomic_store(&ctx->note_pending, false);
    uv_mutex_lock(&ctx->mu);
    int checked = ctx->checked;
    int n = ctx->num_pieces;
    uv_mutex_unlock(&ctx->mu);
    if (ctx->progress)
        ctx->progress(checked, n, ctx->user);
}

static int popcount_bytes(const uint8_t *b, size_t n)
{
    int c = 0;
    for (size_t i = 0; i < n; i++)
        c += __builtin_popcount(b[i]);
    return c;
}

bool sw__disk_check_start(sw_disk_worker *w, sw_disk_job *job)
{
    sw_check_ctx *ctx = job->check;
    sw_storage *st = job->st;
    int n = sw_torrent_info_num_pieces(st->ti);
    size_t bflen = sw__disk_bitfield_len(n);

    if (job->blob) {
        uint8_t *have = NULL;
        int rc = sw__disk_resume_validate(st, job->blob, job->blob_len, &have);
        if (rc == 0) {
            job->res.have = have;
            job->res.have_len = bflen;
            job->res.num_have = popcount_bytes(have, bflen);
            job->res.resume_accepted = true;
            return true;
        }
        job->res.resume_error = rc; /* fall back to hashing everything */
    }

    ctx->kickoff = job;
    ctx->num_pieces = n;
    ctx->have = calloc(bflen ? bflen : 1, 1);
    int want = w->pool->nworkers < n ? w->pool->nworkers : n;
    sw_disk_job *runners[64];
    int made = 0;
    for (; ctx->have && made < want && made < 64; made++) {
        runners[made] = sw__disk_job_new(st, SW_DISK_JOB_CHECK_RUNNER, NULL, NULL);
        if (!runners[made])
            break;
        runners[made]->check = ctx;
    }
    if (made == 0) {
        job->res.error = n == 0 ? 0 : SW_ERR_NOMEM;
        if (n == 0) {
            job->res.have = ctx->have;
            ctx->have = NULL;
        }
        return true;
    }
    ctx->runners = made;
    for (int i = 0; i < made; i++)
        sw__disk_job_spawn(w->pool, runners[i]);
    return false; /* the last runner completes the job */
}

/* Hashes piece from disk; *passed if every byte was there and matches. */
static int check_piece(sw_disk_worker *w, sw_storage *st, sw_hasher *h, int piece, bool *passed,
                       sw_disk_error *err)
{
    bool complete = true;
    int64_t size = sw_torrent_info_piece_size(st->ti, piece);
    int rc = sw__disk_hash_range_from_disk(w, st, piece, 0, size, h, &complete, err);
    sw_sha1 d;
    int frc = sw__hasher_final(h, d.v); /* also resets h after a partial read */
    if (rc)
        return rc;
    if (frc) {
        sw__disk_set_error(err, frc, SW_DISK_OP_HASH, -1);
        return frc;
    }
    const uint8_t *expected = sw_torrent_info_piece_hash(st->ti, piece);
    *passed = complete && expected && memcmp(expected, d.v, SW_SHA1_LEN) == 0;
    return 0;
}

static void runner_stop(sw_disk_worker *w, sw_disk_job *runner)
{
    sw_check_ctx *ctx = runner->check;
    sw_disk_pool *pool = w->pool;
    uv_mutex_lock(&ctx->mu);
    bool last = --ctx->runners == 0;
    uv_mutex_unlock(&ctx->mu);
    sw__disk_job_finished(pool, runner);
    if (!last)
        return;
    sw_disk_job *job = ctx->kickoff;
    /* No runner is left; ctx is ours alone. */
    if (ctx->aborted) {
        job->res.error = SW_ERR_ABORTED;
    } else if (ctx->failed) {
        job->res.error = ctx->err.code;
        job->res.op = ctx->err.op;
        job->res.file_index = ctx->err.file;
    } else {
        job->res.have = ctx->have;
        job->res.have_len = sw__disk_bitfield_len(ctx->num_pieces);
        job->res.num_have = ctx->num_have;
        ctx->have = NULL;
    }
    sw__disk_job_finished(pool, job);
}

bool sw__disk_check_run(sw_disk_worker *w, sw_disk_job *runner)
{
    sw_check_ctx *ctx = runner->check;
    sw_storage *st = runner->st;
    sw_hasher *h = NULL;
    int64_t done_bytes = 0;
    if (sw__hasher_new_sha1(&h) != 0) {
        uv_mutex_lock(&ctx->mu);
        if (!ctx->failed) {
            ctx->failed = true;
            sw__disk_set_error(&ctx->err, SW_ERR_NOMEM, SW_DISK_OP_HASH, -1);
        }
        uv_mutex_unlock(&ctx->mu);
        runner_stop(w, runner);
        return false;
    }
    for (;;) {
        bool abort_now = sw__disk_should_abort(st);
        uv_mutex_lock(&ctx->mu);
        if (abort_now)
            ctx->aborted = true;
        bool stop = ctx->aborted || ctx->failed || ctx->next_piece >= ctx->num_pieces;
        int piece = stop ? -1 : ctx->next_piece++;
        uv_mutex_unlock(&ctx->mu);
        if (stop)
            break;

        bool passed = false;
        sw_disk_error e = {0};
        int rc = check_piece(w, st, h, piece, &passed, &e);
        uv_mutex_lock(&ctx->mu);
        if (rc && !ctx->failed) {
            ctx->failed = true;
            ctx->err = e;
        } else if (rc == 0 && passed) {
            sw__disk_bit_set(ctx->have, piece);
            ctx->num_have++;
        }
        ctx->checked++;
        uv_mutex_unlock(&ctx->mu);
        if (ctx->progress)
            sw__disk_post_progress(w->pool, &ctx->note, &ctx->note_pending);

        done_bytes += sw_torrent_info_piece_size(st->ti, piece);
        if (done_bytes >= RUNNER_SLICE_BYTES) {
            sw__hasher_free(h);
            sw__disk_job_requeue(w->pool, runner);
            return false;
        }
    }
    sw__hasher_free(h);
    runner_stop(w, runner);
    return false;
}
