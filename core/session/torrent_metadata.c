/* Torrents added by info-hash alone (magnet links): they start in state
 * downloading_metadata with a swarm that only talks (handshakes and
 * extension messages), until a plugin (ut_metadata) hands over the info
 * dictionary. Verified against the info-hash and the max_metadata_size
 * setting, it becomes the torrent's metadata: storage is set up, the swarm
 * gets its pieces, the files are checked, and the torrent goes on as if it
 * had been added from a .torrent file. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "plugin_int.h"
#include "torrent_trackers.h"
#include "torrent_url.h"

static int fail(sw_error_detail *err, int code, const char *msg)
{
    if (err) {
        err->code = code;
        err->offset = -1;
        snprintf(err->message, sizeof err->message, "%s", msg);
    }
    return code;
}

static bool all_zero(const sw_sha1 *h)
{
    for (size_t i = 0; i < sizeof h->v; i++)
        if (h->v[i])
            return false;
    return true;
}

static void hex_name(const sw_sha1 *h, char out[2 * SW_SHA1_LEN + 1])
{
    sw_hex_encode(h->v, SW_SHA1_LEN, out);
}

static int new_without_metadata(sw_session *ses, const sw_add_torrent_params *p, bool fetching,
                                sw_torrent **t_out, sw_error_detail *err);

int sw__torrent_new_magnet(sw_session *ses, const sw_add_torrent_params *p, sw_torrent **t_out,
                           sw_error_detail *err)
{
    if (p->url && *p->url)
        return sw__torrent_new_url(ses, p, t_out, err);
    return new_without_metadata(ses, p, false, t_out, err);
}

int sw__torrent_new_placeholder(sw_session *ses, const sw_add_torrent_params *p, sw_torrent **t_out,
                                sw_error_detail *err)
{
    return new_without_metadata(ses, p, true, t_out, err);
}

/* fetching: the metadata comes from elsewhere (a URL), not from peers, and
 * p->info_hash is a stand-in: the swarm stays inactive until then. */
static int new_without_metadata(sw_session *ses, const sw_add_torrent_params *p, bool fetching,
                                sw_torrent **t_out, sw_error_detail *err)
{
    if (all_zero(&p->info_hash))
        return fail(err, SW_ERR_INVALID_ARG, "neither metadata nor an info-hash");
    if (!p->save_path || !*p->save_path)
        return fail(err, SW_ERR_INVALID_ARG, "no save path");
    sw_torrent *dup = sw__session_find_hash(ses, &p->info_hash);
    if (dup) {
        if (p->flags & SW_ADD_DUPLICATE_IS_ERROR)
            return fail(err, SW_ERR_DUPLICATE_TORRENT, "the torrent is already in the session");
        *t_out = dup;
        return SW_ERR_EXISTS;
    }
    sw_torrent *t = calloc(1, sizeof *t);
    if (!t)
        return fail(err, SW_ERR_NOMEM, "out of memory");
    char hex[2 * SW_SHA1_LEN + 1];
    hex_name(&p->info_hash, hex);
    t->ses = ses;
    t->info_hash = p->info_hash;
    t->name = strdup(p->name && *p->name ? p->name : hex);
    t->save_path = strdup(p->save_path);
    t->error_file = -1;
    if (!t->name || !t->save_path)
        goto nomem;
    /* Resume data is kept for the check that follows the metadata. */
    if (sw__torrent_apply_add_params(t, p) < 0)
        goto nomem;
    t->cfg.sequential = t->sequential;
    t->cfg.upload_mode = t->upload_mode;
    int rc =
        sw__swarm_init_no_metadata(&t->swarm, &ses->env, &t->info_hash, &sw__torrent_swarm_ops, t);
    if (rc < 0) {
        fail(err, rc, "out of memory");
        goto fail_free;
    }
    t->swarm_ready = true;
    sw__swarm_set_config(&t->swarm, &t->cfg);
    sw__torrent_modes_init(t, p);
    if (t->resume)
        sw__torrent_load_resume_peers(t, t->resume, t->resume_len);
    t->id = ses->next_torrent_id++;
    t->state = SW_TORRENT_DOWNLOADING_METADATA;
    /* Nothing to check until the metadata arrives: ready to talk now
     * (unless it is fetched by URL: nobody to talk to under a stand-in
     * info-hash). */
    t->checked = !fetching;
    sw__session_link(ses, t);
    ses->live_torrents++;
    sw__plugin_torrent_added(t);
    sw__torrent_update_active(t);
    *t_out = t;
    return 0;
nomem:
    rc = fail(err, SW_ERR_NOMEM, "out of memory");
fail_free:
    free(t->name);
    free(t->save_path);
    free(t->resume);
    free(t);
    return rc;
}

static void post_metadata_alert(sw_torrent *t, sw_alert_type type, int error, const char *why)
{
    sw_alert *a = sw__session_torrent_alert(t->ses, t, type, false);
    if (!a)
        return;
    a->error = error;
    if (error)
        sw__alert_set_message(a, "%s: metadata refused: %s", t->name, why);
    else
        sw__alert_set_message(a, "%s: metadata received", t->name);
    sw__session_post_alert(t->ses, a);
}

int sw__torrent_set_metadata(sw_torrent *t, const uint8_t *info, size_t len)
{
    if (t->ti)
        return SW_ERR_EXISTS;
    if (t->removed || !t->swarm_ready)
        return SW_ERR_INVALID_HANDLE;
    sw_session *ses = t->ses;
    int max = sw__settings_int(ses->settings, SW_SET_MAX_METADATA_SIZE);
    if (max > 0 && len > (size_t)max) {
        post_metadata_alert(t, SW_ALERT_METADATA_FAILED, SW_ERR_METAINFO_TOO_LARGE,
                            "larger than max_metadata_size");
        return SW_ERR_METAINFO_TOO_LARGE;
    }
    sw_torrent_info *ti;
    sw_error_detail err;
    int rc = sw_torrent_info_from_info_dict(info, len, &t->info_hash, NULL, &ti, &err);
    if (rc < 0) {
        post_metadata_alert(t, SW_ALERT_METADATA_FAILED, rc, err.message);
        return rc;
    }
    return sw__torrent_adopt_metadata(t, ti);
}

int sw__torrent_adopt_metadata(sw_torrent *t, sw_torrent_info *ti)
{
    sw_session *ses = t->ses;
    int rc;
    int nfiles = sw_torrent_info_num_files(ti);
    uint8_t *prio = malloc((size_t)(nfiles > 0 ? nfiles : 1));
    if (!prio) {
        sw_torrent_info_unref(ti);
        return SW_ERR_NOMEM;
    }
    memset(prio, SW_PICKER_PRIORITY_DEFAULT, (size_t)(nfiles > 0 ? nfiles : 1));
    sw_storage *st;
    rc = sw__disk_storage_new(ses->disk, ti, t->save_path, SW_STORAGE_SPARSE, &st);
    if (rc < 0) {
        free(prio);
        sw_torrent_info_unref(ti);
        post_metadata_alert(t, SW_ALERT_METADATA_FAILED, rc, "cannot set up storage");
        return rc;
    }
    rc = sw__swarm_set_metadata(&t->swarm, ti, st);
    if (rc < 0) {
        sw__disk_storage_unref(st);
        free(prio);
        sw_torrent_info_unref(ti);
        return rc;
    }
    t->ti = ti;
    t->storage = st;
    t->file_prio = prio;
    t->num_files = nfiles;
    char hex[2 * SW_SHA1_LEN + 1];
    hex_name(&t->info_hash, hex);
    if (strcmp(t->name, hex) == 0) {
        char *name = strdup(sw_torrent_info_name(ti));
        if (name) {
            free(t->name);
            t->name = name;
        }
    }
    sw__torrent_compute_padding(t);
    t->checked = false; /* the check below decides what is had */
    if (t->resume)
        sw__torrent_load_resume_extras(t, t->resume, t->resume_len, true);
    sw__torrent_apply_file_priorities(t);
    sw__torrent_modes_metadata(t);
    t->need_save_resume = true;
    t->state_dirty = true;
    post_metadata_alert(t, SW_ALERT_METADATA_RECEIVED, 0, NULL);
    sw__torrent_trackers_metadata(t);
    sw__plugin_torrent_metadata(t);
    /* Whatever is already on disk counts (resume data too, if given). */
    sw__torrent_start_check(t, true);
    return 0;
}
