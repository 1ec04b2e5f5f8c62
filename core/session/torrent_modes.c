/* Torrent modes beyond plain downloading and seeding:
 *
 * Share mode. The torrent wants no piece of its own accord (every priority
 * 0) and only fetches pieces it can expect to pass on: one at a time, a piece
 * that at least share_mode_target connected peers still lack (the one the
 * most of them lack, ties at random), and only while what it uploaded is at
 * least share_mode_target times what it downloaded — the first piece is a
 * bet, every further one needs the earlier ones to have paid off. Seeds stay
 * connected (they are where pieces come from) and the torrent never says
 * upload_only. Its state stays finished: it never counts as a download.
 *
 * Super seeding. Wanted through the add flag or sw_torrent_super_seeding;
 * the swarm does it (core/peer/super_seed.c) whenever the torrent is a seed.
 * It ends when the torrent stops being a seed (a recheck).
 *
 * Upload mode on a full disk. A write that fails with ENOSPC (or EDQUOT)
 * does not stop the torrent: it posts a file_error alert and enters upload
 * mode, so it keeps serving what it has. An auto-managed torrent tries
 * writing again after optimistic_disk_retry seconds; otherwise
 * sw_torrent_set_upload_mode(h, false) does it.
 *
 * Threading: network thread, except the public functions at the end, which
 * marshal to it. */
#include <errno.h>
#include <stdlib.h>

#include "session_int.h"
#include "torrent_modes.h"

/* How often share mode looks at the swarm. */
#define SW_SHARE_MODE_INTERVAL_MS 2000

static int setting_int(const sw_torrent *t, sw_setting_id id)
{
    return sw__settings_int(t->ses->settings, id);
}

/* Applies piece priorities; the state follows (finished or not) unless share
 * mode keeps it finished. */
static int set_priorities(sw_torrent *t, const uint8_t *prio)
{
    int rc = sw__swarm_set_priorities(&t->swarm, prio);
    if (rc == 0) {
        t->need_save_resume = true;
        t->state_dirty = true;
    }
    return rc;
}

/* Share mode on: nothing is wanted except pieces already had. */
static int share_mode_clear(sw_torrent *t)
{
    sw_swarm *sw = &t->swarm;
    if (!sw->picker || sw->num_pieces <= 0)
        return 0;
    uint8_t *prio = malloc((size_t)sw->num_pieces);
    if (!prio)
        return SW_ERR_NOMEM;
    for (int i = 0; i < sw->num_pieces; i++)
        prio[i] = sw__picker_have(sw->picker, i) ? SW_PICKER_PRIORITY_DEFAULT : 0;
    int rc = set_priorities(t, prio);
    free(prio);
    t->modes.share_piece = -1;
    return rc;
}

static void set_share_config(sw_torrent *t, bool on)
{
    t->modes.share_mode = on;
    t->cfg.share_mode = on;
    sw__swarm_set_config(&t->swarm, &t->cfg);
}

void sw__torrent_modes_load_resume(sw_torrent *t, int share_mode, int super_seeding, bool override)
{
    t->modes.resume_share = (uint8_t)(override ? 0 : share_mode + 1);
    t->modes.resume_super = (uint8_t)(override ? 0 : super_seeding + 1);
}

void sw__torrent_modes_init(sw_torrent *t, const sw_add_torrent_params *p)
{
    bool share = (p->flags & SW_ADD_SHARE_MODE) != 0;
    bool super = (p->flags & SW_ADD_SUPER_SEEDING) != 0;
    if (t->modes.resume_share)
        share = t->modes.resume_share == 2;
    if (t->modes.resume_super)
        super = t->modes.resume_super == 2;
    t->modes.share_piece = -1;
    t->modes.super_seeding = super;
    t->modes.rand = (uint32_t)uv_hrtime() | 1u;
    if (share) {
        set_share_config(t, true);
        sw__torrent_modes_metadata(t);
    }
}

void sw__torrent_modes_metadata(sw_torrent *t)
{
    sw_swarm *sw = &t->swarm;
    if (!t->modes.share_mode || !sw->picker || sw->num_pieces <= 0)
        return;
    /* Straight into the picker: the check that follows sets the finished
     * flag and the state. */
    uint8_t *prio = calloc((size_t)sw->num_pieces, 1);
    if (prio) {
        sw__picker_set_priorities(sw->picker, prio);
        free(prio);
    }
}

void sw__torrent_modes_update(sw_torrent *t)
{
    sw_swarm *sw = &t->swarm;
    if (!t->swarm_ready || !sw->picker)
        return;
    if (t->modes.super_seed_applied && !sw->super_seeding) {
        /* The swarm dropped it (no longer a seed): super seeding is over. */
        t->modes.super_seeding = false;
        t->modes.super_seed_applied = false;
        t->state_dirty = true;
    }
    if (t->modes.super_seeding && !sw->super_seeding && t->checked && !t->check_running &&
        sw__picker_is_seed(sw->picker)) {
        if (sw__swarm_set_super_seeding(sw, true) == 0) {
            t->modes.super_seed_applied = true;
            t->state_dirty = true;
        }
    }
}

/* ---- share mode ---- */

static uint32_t next_random(sw_torrent *t)
{
    uint32_t x = t->modes.rand ? t->modes.rand : 0x2545f491u;
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    t->modes.rand = x;
    return x;
}

/* The piece worth fetching now, or -1. */
static int share_mode_pick(sw_torrent *t)
{
    sw_swarm *sw = &t->swarm;
    int target = setting_int(t, SW_SET_SHARE_MODE_TARGET);
    if (target < 1)
        target = 1;
    /* Only once the pieces fetched so far went out target times over. */
    int64_t down = sw->stats.payload_down, up = sw->stats.payload_up;
    if (down > 0 && up < (int64_t)target * down)
        return -1;
    sw_swarm_counts c;
    sw__swarm_counts(sw, &c);
    int downloaders = c.connections - c.seeds;
    if (downloaders < target)
        return -1;
    uint32_t seeds = sw__picker_num_seeds(sw->picker);
    int best = -1, best_lacking = 0;
    uint32_t ties = 0;
    for (int i = 0; i < sw->num_pieces; i++) {
        if (sw__picker_have(sw->picker, i) ||
            sw__picker_piece_state(sw->picker, i) != SW_PICKER_PIECE_NONE)
            continue;
        uint32_t avail = sw__picker_availability(sw->picker, i);
        if (avail == 0)
            continue; /* nobody to fetch it from */
        int holders = (int)(avail - (avail >= seeds ? seeds : avail));
        int lacking = downloaders - holders;
        if (lacking < target || lacking < best_lacking)
            continue;
        if (lacking > best_lacking) {
            best_lacking = lacking;
            best = i;
            ties = 1;
        } else if (next_random(t) % ++ties == 0) {
            best = i;
        }
    }
    return best;
}

static void share_mode_tick(sw_torrent *t)
{
    sw_swarm *sw = &t->swarm;
    uint64_t now = uv_now(&t->ses->loop);
    if (now < t->modes.share_next_ms)
        return;
    t->modes.share_next_ms = now + SW_SHARE_MODE_INTERVAL_MS;
    if (!sw->active || sw->checking || t->upload_mode || !t->checked || t->error)
        return;
    if (sw__picker_is_seed(sw->picker))
        return;
    int cur = t->modes.share_piece;
    if (cur >= 0 && !sw__picker_have(sw->picker, cur))
        return; /* one piece at a time */
    t->modes.share_piece = -1;
    int piece = share_mode_pick(t);
    if (piece < 0)
        return;
    if (sw__picker_set_piece_priority(sw->picker, piece, SW_PICKER_PRIORITY_DEFAULT) < 0)
        return;
    t->modes.share_piece = piece;
    /* Interest and the finished flag follow; the state stays finished. */
    sw__swarm_update_finished(sw);
    t->state_dirty = true;
}

/* ---- upload mode after a full disk ---- */

static bool disk_full(int error)
{
#ifdef EDQUOT
    if (error == -EDQUOT)
        return true;
#endif
    return error == UV_ENOSPC;
}

bool sw__torrent_modes_disk_error(sw_torrent *t, int error, sw_disk_op op, int file)
{
    if (op != SW_DISK_OP_WRITE || !disk_full(error))
        return false;
    sw_alert *a = sw__session_torrent_alert(t->ses, t, SW_ALERT_FILE_ERROR, false);
    if (a) {
        char *path = file >= 0 && t->storage ? sw__disk_storage_file_path(t->storage, file) : NULL;
        a->error = error;
        a->payload.file.file_index = file;
        sw__alert_set_str(a, &a->payload.file.operation, sw__disk_op_name(op));
        sw__alert_set_str(a, &a->payload.file.path, path);
        sw__alert_set_message(a, "%s: %s: %s (upload mode until it is fixed)", t->name,
                              path ? path : "write", sw_strerror(error));
        sw__session_post_alert(t->ses, a);
        free(path);
    }
    if (!t->upload_mode) {
        t->upload_mode = true;
        t->cfg.upload_mode = true;
        t->modes.upload_mode_by_disk = true;
        t->modes.upload_mode_since_ms = uv_now(&t->ses->loop);
        t->state_dirty = true;
        sw__swarm_set_config(&t->swarm, &t->cfg);
    }
    return true;
}

static void upload_mode_tick(sw_torrent *t)
{
    uint64_t now = uv_now(&t->ses->loop);
    if (!t->upload_mode) {
        t->modes.upload_mode_since_ms = 0;
        t->modes.upload_mode_by_disk = false;
        return;
    }
    if (t->modes.upload_mode_since_ms == 0)
        t->modes.upload_mode_since_ms = now; /* entered through the API */
    if (!t->auto_managed)
        return;
    uint64_t retry = (uint64_t)setting_int(t, SW_SET_OPTIMISTIC_DISK_RETRY) * 1000;
    if (now - t->modes.upload_mode_since_ms < retry)
        return;
    /* Try writing again: a new failure puts it back. */
    t->upload_mode = false;
    t->cfg.upload_mode = false;
    t->modes.upload_mode_by_disk = false;
    t->modes.upload_mode_since_ms = 0;
    t->state_dirty = true;
    sw__swarm_set_config(&t->swarm, &t->cfg);
}

void sw__torrent_modes_tick(sw_torrent *t)
{
    if (!t->swarm_ready || !t->swarm.picker || t->removed)
        return;
    sw__torrent_modes_update(t);
    if (t->modes.share_mode)
        share_mode_tick(t);
    upload_mode_tick(t);
}

void sw__torrent_modes_status(const sw_torrent *t, sw_torrent_status *st)
{
    st->share_mode = t->modes.share_mode;
    st->super_seeding = t->swarm.super_seeding;
}

/* ---- public API ---- */

typedef struct mode_call {
    uint64_t id;
    bool on;
    int (*fn)(sw_torrent *t, bool on);
} mode_call;

static int run_mode_call(sw_session *ses, void *arg)
{
    mode_call *c = arg;
    sw_torrent *t = sw__session_find(ses, c->id);
    if (!t)
        return SW_ERR_INVALID_HANDLE;
    ses->env.now_ms = uv_now(&ses->loop);
    return c->fn(t, c->on);
}

static int mode_call_run(sw_torrent_handle h, int (*fn)(sw_torrent *t, bool on), bool on)
{
    if (!h.session || h.id == 0)
        return SW_ERR_INVALID_HANDLE;
    mode_call c = {h.id, on, fn};
    return sw__session_run(h.session, run_mode_call, &c);
}

static int do_super_seeding(sw_torrent *t, bool on)
{
    t->modes.super_seeding = on;
    t->state_dirty = true;
    t->need_save_resume = true;
    if (!on) {
        t->modes.super_seed_applied = false;
        if (t->swarm_ready && t->swarm.picker)
            sw__swarm_set_super_seeding(&t->swarm, false);
        return 0;
    }
    sw__torrent_modes_update(t);
    return 0;
}

static int do_share_mode(sw_torrent *t, bool on)
{
    if (!t->ti || !t->swarm.picker)
        return SW_ERR_NOT_READY;
    if (on == t->modes.share_mode)
        return 0;
    set_share_config(t, on);
    t->state_dirty = true;
    if (on)
        return share_mode_clear(t);
    /* A normal download again: every piece the files ask for. */
    t->modes.share_piece = -1;
    return sw__torrent_apply_file_priorities(t);
}

int sw_torrent_super_seeding(sw_torrent_handle h, bool on)
{
    return mode_call_run(h, do_super_seeding, on);
}

int sw_torrent_set_share_mode(sw_torrent_handle h, bool on)
{
    return mode_call_run(h, do_share_mode, on);
}
