/* Torrent objects: creation, the state machine (checking -> downloading ->
 * finished/seeding, with paused and error on the side), file checks, the
 * swarm's callbacks, removal and freeing. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "plugin_int.h"
#include "session_int.h"
#include "torrent_trackers.h"
#include "torrent_url.h"
#include "web_seed.h"

static void maybe_free(sw_torrent *t);

const char *sw_torrent_state_name(int state)
{
    switch (state) {
    case SW_TORRENT_QUEUED_FOR_CHECKING:
        return "queued_for_checking";
    case SW_TORRENT_CHECKING_FILES:
        return "checking_files";
    case SW_TORRENT_DOWNLOADING_METADATA:
        return "downloading_metadata";
    case SW_TORRENT_DOWNLOADING:
        return "downloading";
    case SW_TORRENT_FINISHED:
        return "finished";
    case SW_TORRENT_SEEDING:
        return "seeding";
    case SW_TORRENT_ALLOCATING:
        return "allocating";
    case SW_TORRENT_CHECKING_RESUME_DATA:
        return "checking_resume_data";
    default:
        return "unknown";
    }
}

/* ---- alerts ---- */

static void post_simple(sw_torrent *t, sw_alert_type type, const char *fmt_what)
{
    sw_alert *a = sw__session_torrent_alert(t->ses, t, type, false);
    if (!a)
        return;
    sw__alert_set_message(a, "%s: %s", t->name, fmt_what);
    sw__session_post_alert(t->ses, a);
}

void sw__torrent_set_state(sw_torrent *t, sw_torrent_state st)
{
    if (t->state == st)
        return;
    sw_torrent_state prev = t->state;
    t->state = st;
    t->state_dirty = true;
    sw__queue_state_changed(t);
    sw_alert *a = sw__session_torrent_alert(t->ses, t, SW_ALERT_STATE_CHANGED, false);
    if (a) {
        a->payload.state_changed.state = st;
        a->payload.state_changed.prev_state = prev;
        sw__alert_set_message(a, "%s: state changed to %s", t->name, sw_torrent_state_name(st));
        sw__session_post_alert(t->ses, a);
    }
    sw__plugin_torrent_state(t, st);
}

static char *file_path(sw_torrent *t, int file)
{
    if (file < 0 || !t->storage)
        return NULL;
    return sw__disk_storage_file_path(t->storage, file);
}

void sw__torrent_set_error(sw_torrent *t, int error, const char *what, int file)
{
    if (t->error && error)
        return; /* keep the first error: it is the cause */
    t->error = error;
    t->error_file = file;
    t->state_dirty = true;
    char *path = file_path(t, file);
    char msg[256];
    if (path)
        snprintf(msg, sizeof msg, "%s: %s: %s", what, path, sw_strerror(error));
    else
        snprintf(msg, sizeof msg, "%s: %s", what, sw_strerror(error));
    /* Kept only while there is an error (a session may hold many torrents,
     * few with an error); out of memory, the status shows the code alone. */
    free(t->error_message);
    t->error_message = strdup(msg);
    sw_alert *a = sw__session_torrent_alert(
        t->ses, t, file >= 0 ? SW_ALERT_FILE_ERROR : SW_ALERT_TORRENT_ERROR, false);
    if (a) {
        a->error = error;
        a->payload.file.file_index = file;
        sw__alert_set_str(a, &a->payload.file.operation, what);
        sw__alert_set_str(a, &a->payload.file.path, path);
        sw__alert_set_message(a, "%s: %s", t->name, msg);
        sw__session_post_alert(t->ses, a);
    }
    free(path);
    sw__torrent_update_active(t);
}

/* ---- activity ---- */

static bool ready(const sw_torrent *t)
{
    return t->checked && t->state != SW_TORRENT_CHECKING_FILES &&
           t->state != SW_TORRENT_CHECKING_RESUME_DATA &&
           t->state != SW_TORRENT_QUEUED_FOR_CHECKING;
}

void sw__torrent_update_active(sw_torrent *t)
{
    bool active = !t->removed && !t->paused && !t->ses->paused && !t->error && ready(t) &&
                  !t->ses->shutting_down;
    if (active != t->swarm.active)
        sw__swarm_set_active(&t->swarm, active);
    sw__torrent_trackers_update(t, active);
}

static void finished_state(sw_torrent *t)
{
    sw__torrent_set_state(t, sw__picker_is_seed(t->swarm.picker) ? SW_TORRENT_SEEDING
                                                                 : SW_TORRENT_FINISHED);
}

/* ---- swarm callbacks ---- */

static void on_piece_passed(void *owner, int piece)
{
    sw_torrent *t = owner;
    t->need_save_resume = true;
    t->state_dirty = true;
    sw_alert *a = sw__session_torrent_alert(t->ses, t, SW_ALERT_PIECE_FINISHED, false);
    if (a) {
        a->payload.piece.piece = piece;
        sw__alert_set_message(a, "%s: piece %d passed", t->name, piece);
        sw__session_post_alert(t->ses, a);
    }
    sw__plugin_torrent_piece(t, piece, true);
}

static void on_piece_failed(void *owner, int piece)
{
    sw_torrent *t = owner;
    sw_alert *a = sw__session_torrent_alert(t->ses, t, SW_ALERT_HASH_FAILED, false);
    if (a) {
        a->error = SW_ERR_HASH_FAILED;
        a->payload.piece.piece = piece;
        sw__alert_set_message(a, "%s: piece %d failed its hash check", t->name, piece);
        sw__session_post_alert(t->ses, a);
    }
    sw__plugin_torrent_piece(t, piece, false);
}

static void on_finished(void *owner)
{
    sw_torrent *t = owner;
    if (!t->completed_time)
        t->completed_time = (int64_t)time(NULL);
    finished_state(t);
    post_simple(t, SW_ALERT_TORRENT_FINISHED, "finished");
    sw__torrent_trackers_finished(t);
}

static void on_disk_error(void *owner, int error, sw_disk_op op, int file)
{
    sw_torrent *t = owner;
    if (sw__torrent_modes_disk_error(t, error, op, file))
        return; /* a full disk: upload mode, not an error */
    sw__torrent_set_error(t, error, sw__disk_op_name(op), file);
}

static void on_released(void *owner)
{
    sw_torrent *t = owner;
    t->swarm_released = true;
    maybe_free(t);
}

static void on_seed_mode_failed(void *owner, int piece)
{
    sw_torrent *t = owner;
    t->seed_mode = false;
    on_piece_failed(owner, piece);
    /* The files are not what seed mode assumed: find out what is there. */
    sw__torrent_start_check(t, false);
}

static void on_peer_added(void *owner, const sw_endpoint *ep, uint8_t source)
{
    sw__plugin_torrent_add_peer(owner, ep, source);
}

const sw_swarm_ops sw__torrent_swarm_ops = {
    .piece_passed = on_piece_passed,
    .piece_failed = on_piece_failed,
    .finished = on_finished,
    .disk_error = on_disk_error,
    .released = on_released,
    .seed_mode_failed = on_seed_mode_failed,
    .peer_added = on_peer_added,
};

/* ---- checking ---- */

static void on_check_progress(int done, int total, void *user)
{
    sw_torrent *t = user;
    t->check_done = done;
    t->check_total = total;
}

static void on_checked(sw_disk_result *res, void *user)
{
    sw_torrent *t = user;
    t->pending_jobs--;
    t->check_running = false;
    sw__queue_check_done(t);
    if (t->removed) {
        maybe_free(t);
        return;
    }
    if (res->error < 0) {
        if (res->error != SW_ERR_ABORTED)
            sw__torrent_set_error(t, res->error, sw__disk_op_name(res->op), res->file_index);
        return;
    }
    sw__swarm_checked(&t->swarm, res->have, res->have_len);
    t->checked = true;
    t->need_save_resume = !res->resume_accepted;
    free(t->resume);
    t->resume = NULL;
    t->resume_len = 0;
    if (t->recheck_queued) {
        t->recheck_queued = false;
        sw__torrent_start_check(t, false);
        return;
    }
    bool finished = t->swarm.finished;
    if (finished)
        finished_state(t);
    else
        sw__torrent_set_state(t, SW_TORRENT_DOWNLOADING);
    post_simple(t, SW_ALERT_TORRENT_CHECKED, "files checked");
    sw__plugin_torrent_files_checked(t);
    if (finished) {
        if (!t->completed_time)
            t->completed_time = (int64_t)time(NULL);
        post_simple(t, SW_ALERT_TORRENT_FINISHED, "finished");
    }
    sw__torrent_update_active(t);
    sw__torrent_modes_update(t);
}

void sw__torrent_start_check(sw_torrent *t, bool use_resume)
{
    if (t->check_running) {
        t->recheck_queued = true;
        return;
    }
    if (!sw__queue_check_admit(t, use_resume))
        return; /* it waits for a checking slot (active_checking) */
    if (sw__swarm_reset(&t->swarm) < 0) {
        sw__torrent_set_error(t, SW_ERR_NOMEM, "check", -1);
        return;
    }
    t->checked = false;
    t->check_done = 0;
    t->check_total = t->swarm.num_pieces;
    sw__torrent_update_active(t);
    bool with_resume = use_resume && t->resume;
    sw__torrent_set_state(t, with_resume ? SW_TORRENT_CHECKING_RESUME_DATA
                                         : SW_TORRENT_CHECKING_FILES);
    t->pending_jobs++;
    t->check_running = true;
    int rc = sw__disk_check(t->storage, with_resume ? t->resume : NULL,
                            with_resume ? t->resume_len : 0, on_check_progress, on_checked, t);
    if (rc < 0) {
        t->pending_jobs--;
        t->check_running = false;
        sw__torrent_set_error(t, rc, "check", -1);
    }
}

/* ---- creation ---- */

static int fail(sw_error_detail *err, int code, const char *msg)
{
    if (err) {
        err->code = code;
        err->offset = -1;
        snprintf(err->message, sizeof err->message, "%s", msg);
    }
    return code;
}

/* What every new torrent takes from its add parameters, with or without
 * metadata: flags, limits, user data and a copy of the resume data. */
int sw__torrent_apply_add_params(sw_torrent *t, const sw_add_torrent_params *p)
{
    t->paused = (p->flags & SW_ADD_PAUSED) != 0;
    t->auto_managed = (p->flags & SW_ADD_AUTO_MANAGED) != 0;
    t->upload_mode = (p->flags & SW_ADD_UPLOAD_MODE) != 0;
    t->sequential = (p->flags & SW_ADD_SEQUENTIAL_DOWNLOAD) != 0;
    t->update_subscribe = (p->flags & SW_ADD_UPDATE_SUBSCRIBE) != 0;
    t->cfg.max_uploads = p->max_uploads;
    t->cfg.max_connections = p->max_connections;
    t->cfg.upload_limit = p->upload_limit;
    t->cfg.download_limit = p->download_limit;
    t->cfg.ip_filter_exempt = !(p->flags & SW_ADD_APPLY_IP_FILTER);
    t->userdata = p->userdata;
    t->added_time = (int64_t)time(NULL);
    if (p->resume_data && p->resume_data_len > 0) {
        t->resume = malloc(p->resume_data_len);
        if (!t->resume)
            return SW_ERR_NOMEM;
        memcpy(t->resume, p->resume_data, p->resume_data_len);
        t->resume_len = p->resume_data_len;
        sw__torrent_load_resume_extras(t, t->resume, t->resume_len,
                                       (p->flags & SW_ADD_OVERRIDE_RESUME_DATA) != 0);
    }
    return 0;
}

void sw__torrent_compute_padding(sw_torrent *t)
{
    const sw_torrent_info *ti = t->ti;
    int nfiles = sw_torrent_info_num_files(ti);
    int plen = sw_torrent_info_piece_length(ti);
    for (int i = 0; i < nfiles; i++) {
        const sw_file_entry *f = sw_torrent_info_file(ti, i);
        if (!(f->flags & SW_FILE_PAD) || f->size <= 0)
            continue;
        if (!t->pad_in_piece) {
            t->pad_in_piece = calloc((size_t)t->swarm.num_pieces, sizeof *t->pad_in_piece);
            if (!t->pad_in_piece)
                return;
        }
        int64_t off = f->offset, end = f->offset + f->size;
        while (off < end) {
            int64_t piece = off / plen;
            int64_t piece_end = (piece + 1) * (int64_t)plen;
            int64_t n = (end < piece_end ? end : piece_end) - off;
            t->pad_in_piece[piece] += (int32_t)n;
            t->pad_total += n;
            off += n;
        }
    }
}

int sw__torrent_new(sw_session *ses, const sw_add_torrent_params *p, sw_torrent **t_out,
                    sw_error_detail *err)
{
    if (!p->ti)
        return sw__torrent_new_magnet(ses, p, t_out, err);
    if (!p->save_path || !*p->save_path)
        return fail(err, SW_ERR_INVALID_ARG, "no save path");
    const sw_info_hashes *hashes = sw_torrent_info_hashes(p->ti);
    if (!hashes->has_v1)
        return fail(err, SW_ERR_NOT_SUPPORTED, "v2-only torrents are not supported");
    sw_torrent *dup = sw__session_find_hash(ses, &hashes->v1);
    if (dup) {
        if (p->flags & SW_ADD_DUPLICATE_IS_ERROR)
            return fail(err, SW_ERR_DUPLICATE_TORRENT, "the torrent is already in the session");
        *t_out = dup;
        return SW_ERR_EXISTS;
    }
    sw_torrent *t = calloc(1, sizeof *t);
    if (!t)
        return fail(err, SW_ERR_NOMEM, "out of memory");
    t->ses = ses;
    t->ti = sw_torrent_info_ref(p->ti);
    t->info_hash = hashes->v1;
    t->name = strdup(p->name && *p->name ? p->name : sw_torrent_info_name(p->ti));
    t->save_path = strdup(p->save_path);
    t->num_files = sw_torrent_info_num_files(p->ti);
    t->file_prio = malloc((size_t)t->num_files);
    t->error_file = -1;
    if (!t->name || !t->save_path || !t->file_prio)
        goto nomem;
    memset(t->file_prio, SW_PICKER_PRIORITY_DEFAULT, (size_t)t->num_files);
    for (size_t i = 0; i < p->num_file_priorities && i < (size_t)t->num_files; i++)
        t->file_prio[i] = p->file_priorities[i] > 7 ? 7 : p->file_priorities[i];
    t->seed_mode = (p->flags & SW_ADD_SEED_MODE) != 0;
    if (sw__torrent_apply_add_params(t, p) < 0)
        goto nomem;
    if (t->resume) {
        if (p->flags & SW_ADD_USE_RESUME_SAVE_PATH) {
            sw_disk_resume *r;
            if (sw__disk_resume_decode(t->resume, t->resume_len, &r) == 0) {
                if (r->save_path && *r->save_path) {
                    char *sp = strdup(r->save_path);
                    if (sp) {
                        free(t->save_path);
                        t->save_path = sp;
                    }
                }
                sw__disk_resume_free(r);
            }
        }
    }
    t->cfg.sequential = t->sequential;
    t->cfg.upload_mode = t->upload_mode;
    int rc = sw__disk_storage_new(ses->disk, t->ti, t->save_path,
                                  p->storage_mode == SW_STORAGE_MODE_ALLOCATE ? SW_STORAGE_ALLOCATE
                                                                              : SW_STORAGE_SPARSE,
                                  &t->storage);
    if (rc < 0) {
        fail(err, rc, "cannot set up storage");
        goto fail_free;
    }
    rc = sw__swarm_init(&t->swarm, &ses->env, t->ti, t->storage, &sw__torrent_swarm_ops, t);
    if (rc < 0) {
        fail(err, rc, "out of memory");
        goto fail_free;
    }
    t->swarm_ready = true;
    sw__swarm_set_config(&t->swarm, &t->cfg);
    if (t->resume)
        sw__torrent_load_resume_peers(t, t->resume, t->resume_len);
    sw__torrent_compute_padding(t);
    sw__torrent_apply_file_priorities(t);
    sw__torrent_modes_init(t, p);
    t->id = ses->next_torrent_id++;
    t->state = SW_TORRENT_QUEUED_FOR_CHECKING;
    sw__session_link(ses, t);
    ses->live_torrents++;
    sw__plugin_torrent_added(t);
    if (t->seed_mode && sw__swarm_set_seed_mode(&t->swarm, true) == 0) {
        t->checked = true;
        t->completed_time = t->added_time;
        finished_state(t);
        sw__torrent_update_active(t);
        sw__torrent_modes_update(t);
    } else {
        t->seed_mode = false;
        sw__torrent_start_check(t, true);
    }
    *t_out = t;
    return 0;
nomem:
    fail(err, SW_ERR_NOMEM, "out of memory");
    rc = SW_ERR_NOMEM;
fail_free:
    if (t->storage)
        sw__disk_storage_unref(t->storage);
    sw_torrent_info_unref(t->ti);
    free(t->name);
    free(t->save_path);
    free(t->file_prio);
    free(t->resume);
    free(t->pad_in_piece);
    free(t->error_message);
    free(t);
    return rc;
}

/* ---- removal ---- */

static void maybe_free(sw_torrent *t)
{
    if (!t->removed || !t->swarm_released || t->pending_jobs > 0)
        return;
    sw_session *ses = t->ses;
    sw__plugin_torrent_free(t);
    sw__plugin_trackers_free(t);
    sw__swarm_free(&t->swarm);
    if (t->storage) /* NULL for a magnet that never got its metadata */
        sw__disk_storage_unref(t->storage);
    sw_torrent_info_unref(t->ti);
    free(t->name);
    free(t->save_path);
    free(t->file_prio);
    free(t->resume);
    free(t->pad_in_piece);
    free(t->error_message);
    free(t);
    ses->live_torrents--;
    sw__session_torrent_freed(ses);
}

void sw__torrent_job_done(sw_torrent *t)
{
    maybe_free(t);
}

static void on_deleted(sw_disk_result *res, void *user)
{
    sw_torrent *t = user;
    t->pending_jobs--;
    sw_alert *a = sw__session_torrent_alert(
        t->ses, t, res->error < 0 ? SW_ALERT_TORRENT_DELETE_FAILED : SW_ALERT_TORRENT_DELETED,
        false);
    if (a) {
        a->error = res->error;
        if (res->error < 0)
            sw__alert_set_message(a, "%s: deleting files failed: %s: %s", t->name,
                                  sw__disk_op_name(res->op), sw_strerror(res->error));
        else
            sw__alert_set_message(a, "%s: files deleted", t->name);
        sw__session_post_alert(t->ses, a);
    }
    maybe_free(t);
}

void sw__torrent_remove(sw_torrent *t, unsigned flags)
{
    if (t->removed)
        return;
    sw_session *ses = t->ses;
    t->removed = true;
    sw__session_unlink(ses, t);
    sw_alert *a = sw__session_torrent_alert(ses, t, SW_ALERT_TORRENT_REMOVED, false);
    if (a) {
        sw__alert_set_message(a, "%s: removed", t->name);
        sw__session_post_alert(ses, a);
    }
    if (t->storage)
        sw__disk_storage_abort(t->storage);
    if ((flags & SW_REMOVE_DELETE_FILES) && t->storage) {
        t->pending_jobs++;
        int rc = sw__disk_delete_files(t->storage, on_deleted, t);
        if (rc < 0) {
            t->pending_jobs--;
            sw_alert *f = sw__session_torrent_alert(ses, t, SW_ALERT_TORRENT_DELETE_FAILED, false);
            if (f) {
                f->error = rc;
                sw__alert_set_message(f, "%s: deleting files failed: %s", t->name, sw_strerror(rc));
                sw__session_post_alert(ses, f);
            }
        }
    }
    sw__torrent_trackers_detach(t);
    sw__torrent_url_cancel(t);
    sw__web_seeds_free(t);
    /* Last: the swarm may release (and so free) the torrent right away. */
    sw__swarm_close(&t->swarm);
}

/* ---- tick ---- */

void sw__torrent_tick(sw_torrent *t, uint64_t dt_ms)
{
    if (t->swarm.active) {
        t->active_ms += dt_ms;
        if (t->state == SW_TORRENT_SEEDING)
            t->seeding_ms += dt_ms;
        if (t->state == SW_TORRENT_SEEDING || t->state == SW_TORRENT_FINISHED)
            t->finished_ms += dt_ms;
    }
    int64_t total = t->swarm.stats.payload_down + t->swarm.stats.payload_up;
    if (total != t->last_payload_total) {
        t->last_payload_total = total;
        t->state_dirty = true;
    }
    if (t->state == SW_TORRENT_CHECKING_FILES || t->state == SW_TORRENT_CHECKING_RESUME_DATA)
        t->state_dirty = true;
    sw__torrent_modes_tick(t);
    sw__web_seeds_tick(t);
}
