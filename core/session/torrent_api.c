/* The public torrent handle functions: each runs on the network thread
 * against the torrent its handle names (SW_ERR_INVALID_HANDLE once the
 * torrent is gone). */
#include <stdlib.h>
#include <string.h>

#include "plugin_int.h"
#include "session_int.h"

typedef int (*torrent_fn)(sw_torrent *t, void *arg);

typedef struct torrent_call {
    uint64_t id;
    torrent_fn fn;
    void *arg;
} torrent_call;

static int run_torrent_call(sw_session *ses, void *arg)
{
    torrent_call *c = arg;
    sw_torrent *t = sw__session_find(ses, c->id);
    if (!t)
        return SW_ERR_INVALID_HANDLE;
    ses->env.now_ms = uv_now(&ses->loop);
    return c->fn(t, c->arg);
}

static int call(sw_torrent_handle h, torrent_fn fn, void *arg)
{
    if (!h.session || h.id == 0)
        return SW_ERR_INVALID_HANDLE;
    torrent_call c = {h.id, fn, arg};
    return sw__session_run(h.session, run_torrent_call, &c);
}

/* For what a torrent added from a magnet link cannot do before it has its
 * metadata. */
#define NEED_METADATA(t)                                                                           \
    do {                                                                                           \
        if (!(t)->ti)                                                                              \
            return SW_ERR_NOT_READY;                                                               \
    } while (0)

static int nop(sw_torrent *t, void *arg)
{
    (void)t;
    (void)arg;
    return 0;
}

bool sw_torrent_is_valid(sw_torrent_handle h)
{
    return call(h, nop, NULL) == 0;
}

static int do_status(sw_torrent *t, void *arg)
{
    sw__torrent_status(t, arg);
    return 0;
}

int sw_torrent_get_status(sw_torrent_handle h, sw_torrent_status *status_out)
{
    if (!status_out)
        return SW_ERR_INVALID_ARG;
    sw_torrent_status st;
    int rc = call(h, do_status, &st);
    if (rc == 0)
        *status_out = st;
    return rc;
}

typedef struct bytes_result {
    uint8_t *data;
    size_t len;
} bytes_result;

static int do_pieces(sw_torrent *t, void *arg)
{
    bytes_result *o = arg;
    o->len = sw__bitfield_raw_len(t->swarm.have.size);
    o->data = malloc(o->len ? o->len : 1);
    if (!o->data)
        return SW_ERR_NOMEM;
    if (o->len)
        sw__bitfield_to_raw(&t->swarm.have, o->data);
    return 0;
}

int sw_torrent_get_pieces(sw_torrent_handle h, uint8_t **bits_out, size_t *len_out)
{
    if (!bits_out || !len_out)
        return SW_ERR_INVALID_ARG;
    bytes_result o = {0};
    int rc = call(h, do_pieces, &o);
    if (rc == 0) {
        *bits_out = o.data;
        *len_out = o.len;
    }
    return rc;
}

typedef struct progress_result {
    int64_t *v;
    size_t n;
} progress_result;

static int do_file_progress(sw_torrent *t, void *arg)
{
    NEED_METADATA(t);
    progress_result *o = arg;
    o->n = (size_t)t->num_files;
    o->v = calloc(o->n ? o->n : 1, sizeof *o->v);
    if (!o->v)
        return SW_ERR_NOMEM;
    return sw__torrent_file_progress(t, o->v);
}

int sw_torrent_get_file_progress(sw_torrent_handle h, int64_t **bytes_out, size_t *count_out)
{
    if (!bytes_out || !count_out)
        return SW_ERR_INVALID_ARG;
    progress_result o = {0};
    int rc = call(h, do_file_progress, &o);
    if (rc == 0) {
        *bytes_out = o.v;
        *count_out = o.n;
    } else {
        free(o.v);
    }
    return rc;
}

static int do_info(sw_torrent *t, void *arg)
{
    NEED_METADATA(t);
    *(sw_torrent_info **)arg = sw_torrent_info_ref(t->ti);
    return 0;
}

int sw_torrent_get_info(sw_torrent_handle h, sw_torrent_info **ti_out)
{
    if (!ti_out)
        return SW_ERR_INVALID_ARG;
    return call(h, do_info, ti_out);
}

static int do_save_path(sw_torrent *t, void *arg)
{
    char *p = t->storage ? sw__disk_storage_save_path(t->storage) : strdup(t->save_path);
    if (!p)
        return SW_ERR_NOMEM;
    *(char **)arg = p;
    return 0;
}

int sw_torrent_get_save_path(sw_torrent_handle h, char **path_out)
{
    if (!path_out)
        return SW_ERR_INVALID_ARG;
    return call(h, do_save_path, path_out);
}

typedef struct peers_result {
    sw_peer_info *v;
    size_t n;
} peers_result;

static int do_peer_info(sw_torrent *t, void *arg)
{
    peers_result *o = arg;
    return sw__torrent_peer_info(t, &o->v, &o->n);
}

int sw_torrent_get_peer_info(sw_torrent_handle h, sw_peer_info **peers_out, size_t *count_out)
{
    if (!peers_out || !count_out)
        return SW_ERR_INVALID_ARG;
    peers_result o = {0};
    int rc = call(h, do_peer_info, &o);
    if (rc == 0) {
        *peers_out = o.v;
        *count_out = o.n;
    }
    return rc;
}

static int do_pause(sw_torrent *t, void *arg)
{
    bool pause = *(bool *)arg;
    /* A plugin may take the event over (libtorrent's on_pause/on_resume). */
    bool changes = pause ? !t->paused : (t->paused || t->error);
    if (changes)
        sw__queue_trigger(t->ses);
    if (changes && sw__plugin_torrent_pause(t, pause) == SW_HANDLED)
        return 0;
    if (pause) {
        if (!t->paused) {
            t->paused = true;
            t->state_dirty = true;
            t->need_save_resume = true;
            sw__torrent_update_active(t);
            sw_alert *a = sw__session_torrent_alert(t->ses, t, SW_ALERT_TORRENT_PAUSED, false);
            if (a) {
                sw__alert_set_message(a, "%s: paused", t->name);
                sw__session_post_alert(t->ses, a);
            }
        }
        return 0;
    }
    bool changed = t->paused || t->error;
    t->paused = false;
    if (t->error) {
        /* Resuming clears the error; a torrent that failed before its check
         * completed checks again. */
        t->error = 0;
        t->error_file = -1;
        free(t->error_message);
        t->error_message = NULL;
        if (!t->checked && !t->check_running)
            sw__torrent_start_check(t, true);
    }
    if (changed) {
        t->state_dirty = true;
        t->need_save_resume = true;
        sw__torrent_update_active(t);
        sw_alert *a = sw__session_torrent_alert(t->ses, t, SW_ALERT_TORRENT_RESUMED, false);
        if (a) {
            sw__alert_set_message(a, "%s: resumed", t->name);
            sw__session_post_alert(t->ses, a);
        }
    }
    return 0;
}

int sw_torrent_pause(sw_torrent_handle h)
{
    bool p = true;
    return call(h, do_pause, &p);
}

int sw_torrent_resume(sw_torrent_handle h)
{
    bool p = false;
    return call(h, do_pause, &p);
}

static int do_recheck(sw_torrent *t, void *arg)
{
    NEED_METADATA(t);
    (void)arg;
    t->error = 0;
    t->error_file = -1;
    free(t->error_message);
    t->error_message = NULL;
    free(t->resume);
    t->resume = NULL;
    t->resume_len = 0;
    sw__torrent_start_check(t, false);
    return 0;
}

int sw_torrent_force_recheck(sw_torrent_handle h)
{
    return call(h, do_recheck, NULL);
}

static int do_save_resume(sw_torrent *t, void *arg)
{
    (void)arg;
    return sw__torrent_save_resume(t);
}

int sw_torrent_save_resume_data(sw_torrent_handle h, unsigned flags)
{
    (void)flags;
    return call(h, do_save_resume, NULL);
}

static int do_connect(sw_torrent *t, void *arg)
{
    const sw_endpoint *ep = arg;
    return sw__swarm_add_peer(&t->swarm, ep, SW_PEER_SRC_MANUAL, true);
}

int sw_torrent_connect_peer(sw_torrent_handle h, const char *ip, uint16_t port)
{
    if (!ip || port == 0)
        return SW_ERR_INVALID_ARG;
    sw_endpoint ep;
    if (sw__endpoint_from_ip(&ep, ip, port) < 0)
        return SW_ERR_INVALID_ARG;
    return call(h, do_connect, &ep);
}

/* ---- priorities ---- */

typedef struct prio_arg {
    int index;
    int priority;
    const uint8_t *v;
    size_t n;
    uint8_t *out;
} prio_arg;

static int do_piece_priority(sw_torrent *t, void *arg)
{
    NEED_METADATA(t);
    prio_arg *a = arg;
    int p = sw__picker_piece_priority(t->swarm.picker, a->index);
    if (p < 0)
        return SW_ERR_INVALID_ARG;
    a->priority = p;
    return 0;
}

int sw_torrent_piece_priority(sw_torrent_handle h, int piece, int *priority_out)
{
    if (!priority_out)
        return SW_ERR_INVALID_ARG;
    prio_arg a = {.index = piece};
    int rc = call(h, do_piece_priority, &a);
    if (rc == 0)
        *priority_out = a.priority;
    return rc;
}

static int after_piece_priorities(sw_torrent *t)
{
    t->need_save_resume = true;
    t->state_dirty = true;
    if (t->checked && !t->check_running && !t->error) {
        if (t->swarm.finished)
            sw__torrent_set_state(t, sw__picker_is_seed(t->swarm.picker) ? SW_TORRENT_SEEDING
                                                                         : SW_TORRENT_FINISHED);
        else
            sw__torrent_set_state(t, SW_TORRENT_DOWNLOADING);
    }
    return 0;
}

static int do_set_piece_priority(sw_torrent *t, void *arg)
{
    NEED_METADATA(t);
    prio_arg *a = arg;
    if (a->priority < 0 || a->priority > 7 || a->index < 0 || a->index >= t->swarm.num_pieces)
        return SW_ERR_INVALID_ARG;
    int rc = sw__picker_set_piece_priority(t->swarm.picker, a->index, a->priority);
    if (rc < 0)
        return rc;
    sw__swarm_update_finished(&t->swarm);
    return after_piece_priorities(t);
}

int sw_torrent_set_piece_priority(sw_torrent_handle h, int piece, int priority)
{
    prio_arg a = {.index = piece, .priority = priority};
    return call(h, do_set_piece_priority, &a);
}

static int do_prioritize_pieces(sw_torrent *t, void *arg)
{
    NEED_METADATA(t);
    prio_arg *a = arg;
    if (a->n != (size_t)t->swarm.num_pieces)
        return SW_ERR_INVALID_ARG;
    int rc = sw__swarm_set_priorities(&t->swarm, a->v);
    if (rc < 0)
        return rc;
    return after_piece_priorities(t);
}

int sw_torrent_prioritize_pieces(sw_torrent_handle h, const uint8_t *priorities, size_t count)
{
    if (!priorities)
        return SW_ERR_INVALID_ARG;
    prio_arg a = {.v = priorities, .n = count};
    return call(h, do_prioritize_pieces, &a);
}

static int do_get_piece_priorities(sw_torrent *t, void *arg)
{
    NEED_METADATA(t);
    prio_arg *a = arg;
    a->n = (size_t)t->swarm.num_pieces;
    a->out = malloc(a->n);
    if (!a->out)
        return SW_ERR_NOMEM;
    sw__picker_get_priorities(t->swarm.picker, a->out);
    return 0;
}

int sw_torrent_get_piece_priorities(sw_torrent_handle h, uint8_t **priorities_out,
                                    size_t *count_out)
{
    if (!priorities_out || !count_out)
        return SW_ERR_INVALID_ARG;
    prio_arg a = {0};
    int rc = call(h, do_get_piece_priorities, &a);
    if (rc == 0) {
        *priorities_out = a.out;
        *count_out = a.n;
    }
    return rc;
}

static int do_file_priority(sw_torrent *t, void *arg)
{
    prio_arg *a = arg;
    if (a->index < 0 || a->index >= t->num_files)
        return SW_ERR_INVALID_ARG;
    a->priority = t->file_prio[a->index];
    return 0;
}

int sw_torrent_file_priority(sw_torrent_handle h, int file, int *priority_out)
{
    if (!priority_out)
        return SW_ERR_INVALID_ARG;
    prio_arg a = {.index = file};
    int rc = call(h, do_file_priority, &a);
    if (rc == 0)
        *priority_out = a.priority;
    return rc;
}

static int do_set_file_priority(sw_torrent *t, void *arg)
{
    NEED_METADATA(t);
    prio_arg *a = arg;
    if (a->index < 0 || a->index >= t->num_files || a->priority < 0 || a->priority > 7)
        return SW_ERR_INVALID_ARG;
    t->file_prio[a->index] = (uint8_t)a->priority;
    return sw__torrent_apply_file_priorities(t);
}

int sw_torrent_set_file_priority(sw_torrent_handle h, int file, int priority)
{
    prio_arg a = {.index = file, .priority = priority};
    return call(h, do_set_file_priority, &a);
}

static int do_prioritize_files(sw_torrent *t, void *arg)
{
    NEED_METADATA(t);
    prio_arg *a = arg;
    if (a->n != (size_t)t->num_files)
        return SW_ERR_INVALID_ARG;
    for (size_t i = 0; i < a->n; i++)
        if (a->v[i] > 7)
            return SW_ERR_INVALID_ARG;
    memcpy(t->file_prio, a->v, a->n);
    return sw__torrent_apply_file_priorities(t);
}

int sw_torrent_prioritize_files(sw_torrent_handle h, const uint8_t *priorities, size_t count)
{
    if (!priorities)
        return SW_ERR_INVALID_ARG;
    prio_arg a = {.v = priorities, .n = count};
    return call(h, do_prioritize_files, &a);
}

static int do_get_file_priorities(sw_torrent *t, void *arg)
{
    prio_arg *a = arg;
    a->n = (size_t)t->num_files;
    a->out = malloc(a->n ? a->n : 1);
    if (!a->out)
        return SW_ERR_NOMEM;
    memcpy(a->out, t->file_prio, a->n);
    return 0;
}

int sw_torrent_get_file_priorities(sw_torrent_handle h, uint8_t **priorities_out, size_t *count_out)
{
    if (!priorities_out || !count_out)
        return SW_ERR_INVALID_ARG;
    prio_arg a = {0};
    int rc = call(h, do_get_file_priorities, &a);
    if (rc == 0) {
        *priorities_out = a.out;
        *count_out = a.n;
    }
    return rc;
}

/* ---- limits and modes ---- */

typedef enum cfg_field {
    CFG_SEQUENTIAL,
    CFG_UPLOAD_LIMIT,
    CFG_DOWNLOAD_LIMIT,
    CFG_MAX_UPLOADS,
    CFG_MAX_CONNECTIONS,
    CFG_UPLOAD_MODE,
} cfg_field;

typedef struct cfg_arg {
    cfg_field field;
    int value;
} cfg_arg;

static int do_cfg(sw_torrent *t, void *arg)
{
    cfg_arg *a = arg;
    int v = a->value < -1 ? -1 : a->value;
    switch (a->field) {
    case CFG_SEQUENTIAL:
        t->sequential = a->value != 0;
        t->cfg.sequential = t->sequential;
        break;
    case CFG_UPLOAD_MODE:
        t->upload_mode = a->value != 0;
        t->cfg.upload_mode = t->upload_mode;
        break;
    case CFG_UPLOAD_LIMIT:
        t->cfg.upload_limit = v <= 0 ? -1 : v;
        break;
    case CFG_DOWNLOAD_LIMIT:
        t->cfg.download_limit = v <= 0 ? -1 : v;
        break;
    case CFG_MAX_UPLOADS:
        t->cfg.max_uploads = v == 0 ? -1 : v;
        break;
    case CFG_MAX_CONNECTIONS:
        t->cfg.max_connections = v == 0 ? -1 : v;
        break;
    }
    sw__swarm_set_config(&t->swarm, &t->cfg);
    t->need_save_resume = true;
    t->state_dirty = true;
    return 0;
}

static int set_cfg(sw_torrent_handle h, cfg_field f, int v)
{
    cfg_arg a = {f, v};
    return call(h, do_cfg, &a);
}

int sw_torrent_set_sequential_download(sw_torrent_handle h, bool sequential)
{
    return set_cfg(h, CFG_SEQUENTIAL, sequential);
}

int sw_torrent_set_upload_mode(sw_torrent_handle h, bool upload_mode)
{
    return set_cfg(h, CFG_UPLOAD_MODE, upload_mode);
}

int sw_torrent_set_upload_limit(sw_torrent_handle h, int bytes_per_second)
{
    return set_cfg(h, CFG_UPLOAD_LIMIT, bytes_per_second);
}

int sw_torrent_set_download_limit(sw_torrent_handle h, int bytes_per_second)
{
    return set_cfg(h, CFG_DOWNLOAD_LIMIT, bytes_per_second);
}

int sw_torrent_set_max_uploads(sw_torrent_handle h, int max)
{
    return set_cfg(h, CFG_MAX_UPLOADS, max);
}

int sw_torrent_set_max_connections(sw_torrent_handle h, int max)
{
    return set_cfg(h, CFG_MAX_CONNECTIONS, max);
}

/* ---- storage ---- */

typedef struct storage_arg {
    const char *path;
    int flags;
    int index;
} storage_arg;

static void on_moved(sw_disk_result *res, void *user)
{
    sw_torrent *t = user;
    t->pending_jobs--;
    char *path = sw__disk_storage_save_path(res->storage);
    if (res->error == 0 && path && !t->removed) {
        char *dup = strdup(path);
        if (dup) {
            free(t->save_path);
            t->save_path = dup;
        }
        t->need_save_resume = true;
    }
    sw_alert *a = sw__session_torrent_alert(
        t->ses, t, res->error ? SW_ALERT_STORAGE_MOVED_FAILED : SW_ALERT_STORAGE_MOVED, false);
    if (a) {
        a->error = res->error;
        a->payload.file.file_index = res->file_index;
        sw__alert_set_str(a, &a->payload.file.path, path);
        if (res->error) {
            sw__alert_set_str(a, &a->payload.file.operation, sw__disk_op_name(res->op));
            sw__alert_set_message(a, "%s: moving storage failed: %s: %s", t->name,
                                  sw__disk_op_name(res->op), sw_strerror(res->error));
        } else {
            sw__alert_set_message(a, "%s: storage moved to %s", t->name, path ? path : "?");
        }
        sw__session_post_alert(t->ses, a);
    }
    free(path);
    sw__torrent_job_done(t);
}

static int do_move(sw_torrent *t, void *arg)
{
    NEED_METADATA(t);
    storage_arg *a = arg;
    t->pending_jobs++;
    int rc = sw__disk_move_storage(t->storage, a->path, (sw_move_flags)a->flags, on_moved, t);
    if (rc < 0)
        t->pending_jobs--;
    return rc;
}

int sw_torrent_move_storage(sw_torrent_handle h, const char *save_path, int flags)
{
    if (!save_path || !*save_path || flags < 0 || flags > 2)
        return SW_ERR_INVALID_ARG;
    storage_arg a = {save_path, flags, 0};
    return call(h, do_move, &a);
}

static void on_renamed(sw_disk_result *res, void *user)
{
    sw_torrent *t = user;
    t->pending_jobs--;
    char *path = sw__disk_storage_file_path(res->storage, res->file_index);
    sw_alert *a = sw__session_torrent_alert(
        t->ses, t, res->error ? SW_ALERT_FILE_RENAME_FAILED : SW_ALERT_FILE_RENAMED, false);
    if (a) {
        a->error = res->error;
        a->payload.file.file_index = res->file_index;
        sw__alert_set_str(a, &a->payload.file.path, path);
        sw__alert_set_str(a, &a->payload.file.new_name, path);
        if (res->error)
            sw__alert_set_message(a, "%s: renaming file %d failed: %s", t->name, res->file_index,
                                  sw_strerror(res->error));
        else
            sw__alert_set_message(a, "%s: file %d renamed to %s", t->name, res->file_index,
                                  path ? path : "?");
        sw__session_post_alert(t->ses, a);
    }
    if (res->error == 0)
        t->need_save_resume = true;
    free(path);
    sw__torrent_job_done(t);
}

static int do_rename(sw_torrent *t, void *arg)
{
    NEED_METADATA(t);
    storage_arg *a = arg;
    if (a->index < 0 || a->index >= t->num_files)
        return SW_ERR_INVALID_ARG;
    t->pending_jobs++;
    int rc = sw__disk_rename_file(t->storage, a->index, a->path, on_renamed, t);
    if (rc < 0)
        t->pending_jobs--;
    return rc;
}

int sw_torrent_rename_file(sw_torrent_handle h, int file, const char *new_name)
{
    if (!new_name || !*new_name)
        return SW_ERR_INVALID_ARG;
    storage_arg a = {new_name, 0, file};
    return call(h, do_rename, &a);
}
