/* Resume data: the disk layer's record (verified pieces, file sizes and
 * mtimes, save path) plus the torrent's own keys (priorities, flags,
 * all-time totals and times), saved as one bencoded dictionary. */
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "session_int.h"

static int write_extras(sw_bencoder *enc, sw_torrent *t)
{
    int rc = 0;
#define KEY_INT(k, v)                                                                              \
    do {                                                                                           \
        if (rc == 0)                                                                               \
            rc = sw_benc_ckey(enc, k);                                                             \
        if (rc == 0)                                                                               \
            rc = sw_benc_int(enc, (v));                                                            \
    } while (0)
    KEY_INT("paused", t->paused);
    KEY_INT("auto_managed", t->auto_managed);
    KEY_INT("sequential_download", t->sequential);
    KEY_INT("upload_mode", t->upload_mode);
    KEY_INT("share_mode", t->modes.share_mode);
    KEY_INT("super_seeding", t->modes.super_seeding);
    KEY_INT("total_downloaded", t->prev_download + t->swarm.stats.payload_down);
    KEY_INT("total_uploaded", t->prev_upload + t->swarm.stats.payload_up);
    KEY_INT("added_time", t->added_time);
    KEY_INT("completed_time", t->completed_time);
    KEY_INT("active_time", (int64_t)(t->active_ms / 1000));
    KEY_INT("seeding_time", (int64_t)(t->seeding_ms / 1000));
    KEY_INT("finished_time", (int64_t)(t->finished_ms / 1000));
    KEY_INT("max_uploads", t->cfg.max_uploads);
    KEY_INT("max_connections", t->cfg.max_connections);
    KEY_INT("upload_rate_limit", t->cfg.upload_limit);
    KEY_INT("download_rate_limit", t->cfg.download_limit);
#undef KEY_INT
    if (rc == 0)
        rc = sw_benc_ckey(enc, "file_priority");
    if (rc == 0)
        rc = sw_benc_list_begin(enc);
    for (int i = 0; rc == 0 && i < t->num_files; i++)
        rc = sw_benc_int(enc, t->file_prio[i]);
    if (rc == 0)
        rc = sw_benc_end(enc);
    uint8_t *prio = malloc((size_t)t->swarm.num_pieces);
    if (!prio)
        return rc ? rc : SW_ERR_NOMEM;
    sw__picker_get_priorities(t->swarm.picker, prio);
    if (rc == 0)
        rc = sw_benc_ckey(enc, "piece_priority");
    if (rc == 0)
        rc = sw_benc_str(enc, prio, (size_t)t->swarm.num_pieces);
    free(prio);
    /* Peers we could dial again (compact: 6 bytes IPv4, 18 bytes IPv6). */
    if (rc == 0)
        rc = sw_benc_ckey(enc, "peers");
    if (rc == 0)
        rc = sw_benc_list_begin(enc);
    const sw_peer_list *pl = &t->swarm.peers;
    for (size_t i = 0; rc == 0 && i < pl->count && i < 200; i++) {
        const sw_peer_entry *e = pl->v[i];
        if (!e->connectable || e->banned)
            continue;
        uint8_t c[18];
        size_t n = e->ep.family == AF_INET6 ? 16 : 4;
        memcpy(c, e->ep.addr, n);
        sw__store_be16(c + n, e->ep.port);
        rc = sw_benc_str(enc, c, n + 2);
    }
    if (rc == 0)
        rc = sw_benc_end(enc);
    return rc;
}

static void on_saved(sw_disk_result *res, void *user)
{
    sw_torrent *t = user;
    t->pending_jobs--;
    sw_session *ses = t->ses;
    int rc = res->error;
    uint8_t *buf = NULL;
    size_t len = 0;
    if (rc == 0) {
        sw_bencoder *enc;
        rc = sw_benc_new(&enc);
        if (rc == 0) {
            rc = sw_benc_dict_begin(enc);
            if (rc == 0)
                rc = sw__disk_resume_write(enc, res->resume);
            if (rc == 0)
                rc = write_extras(enc, t);
            if (rc == 0)
                rc = sw_benc_end(enc);
            if (rc == 0)
                rc = sw_benc_finish(enc, &buf, &len);
            sw_benc_free(enc);
        }
    }
    sw_alert *a = sw__session_torrent_alert(
        ses, t, rc == 0 ? SW_ALERT_SAVE_RESUME_DATA : SW_ALERT_SAVE_RESUME_DATA_FAILED, true);
    if (a) {
        a->error = rc;
        if (rc == 0) {
            a->payload.resume.data = buf;
            a->payload.resume.len = len;
            if (sw__alert_attach(a, buf, free) < 0) {
                a->payload.resume.data = NULL;
                a->payload.resume.len = 0;
                a->error = SW_ERR_NOMEM;
                a->type = SW_ALERT_SAVE_RESUME_DATA_FAILED;
            }
            buf = NULL;
            sw__alert_set_message(a, "%s: resume data saved", t->name);
            t->need_save_resume = false;
        } else {
            sw__alert_set_message(a, "%s: saving resume data failed: %s", t->name, sw_strerror(rc));
        }
        sw__session_post_alert(ses, a);
    }
    free(buf);
    sw__torrent_job_done(t);
}

int sw__torrent_save_resume(sw_torrent *t)
{
    sw_session *ses = t->ses;
    int rc = 0;
    if (!t->checked || t->check_running || !t->storage)
        rc = SW_ERR_NOT_READY;
    if (rc == 0) {
        t->pending_jobs++;
        rc = sw__disk_save_resume(t->storage, sw__bitfield_bytes(&t->swarm.have),
                                  sw__bitfield_raw_len(t->swarm.have.size), on_saved, t);
        if (rc < 0)
            t->pending_jobs--;
    }
    if (rc < 0) {
        /* Every request is answered by an alert. */
        sw_alert *a = sw__session_torrent_alert(ses, t, SW_ALERT_SAVE_RESUME_DATA_FAILED, true);
        if (a) {
            a->error = rc;
            sw__alert_set_message(a, "%s: saving resume data failed: %s", t->name, sw_strerror(rc));
            sw__session_post_alert(ses, a);
        }
    }
    return 0;
}

static bool dict_int(sw_bnode d, const char *k, int64_t *v)
{
    return sw_bnode_dict_get_int(d, k, v);
}

void sw__torrent_load_resume_extras(sw_torrent *t, const void *buf, size_t len, bool override)
{
    sw_bdecode_opts opts = {0, 32, 1000000};
    sw_bdoc *doc;
    if (sw_bdecode(buf, len, &opts, &doc, NULL) < 0)
        return;
    sw_bnode d = sw_bdoc_root(doc);
    int64_t v;
    if (!override) {
        if (dict_int(d, "paused", &v))
            t->paused = v != 0;
        if (dict_int(d, "auto_managed", &v))
            t->auto_managed = v != 0;
    }
    if (dict_int(d, "sequential_download", &v))
        t->sequential = v != 0;
    if (dict_int(d, "upload_mode", &v))
        t->upload_mode = v != 0;
    sw__torrent_modes_load_resume(t, dict_int(d, "share_mode", &v) ? (int)(v != 0) : -1,
                                  dict_int(d, "super_seeding", &v) ? (int)(v != 0) : -1, override);
    if (dict_int(d, "total_downloaded", &v) && v >= 0)
        t->prev_download = v;
    if (dict_int(d, "total_uploaded", &v) && v >= 0)
        t->prev_upload = v;
    if (dict_int(d, "added_time", &v) && v > 0)
        t->added_time = v;
    if (dict_int(d, "completed_time", &v) && v >= 0)
        t->completed_time = v;
    if (dict_int(d, "active_time", &v) && v >= 0)
        t->active_ms = (uint64_t)v * 1000;
    if (dict_int(d, "seeding_time", &v) && v >= 0)
        t->seeding_ms = (uint64_t)v * 1000;
    if (dict_int(d, "finished_time", &v) && v >= 0)
        t->finished_ms = (uint64_t)v * 1000;
    if (dict_int(d, "max_uploads", &v) && v >= -1 && v <= INT32_MAX)
        t->cfg.max_uploads = (int)v;
    if (dict_int(d, "max_connections", &v) && v >= -1 && v <= INT32_MAX)
        t->cfg.max_connections = (int)v;
    if (dict_int(d, "upload_rate_limit", &v) && v >= -1 && v <= INT32_MAX)
        t->cfg.upload_limit = (int)v;
    if (dict_int(d, "download_rate_limit", &v) && v >= -1 && v <= INT32_MAX)
        t->cfg.download_limit = (int)v;
    sw_bnode fp = sw_bnode_dict_get(d, "file_priority");
    if (sw_bnode_len(fp) == (size_t)t->num_files) {
        for (int i = 0; i < t->num_files; i++) {
            int64_t p = sw_bnode_int(sw_bnode_list_at(fp, (size_t)i));
            t->file_prio[i] = (uint8_t)(p < 0 ? 0 : p > 7 ? 7 : p);
        }
    }
    sw_bdoc_free(doc);
}

void sw__torrent_load_resume_peers(sw_torrent *t, const void *buf, size_t len)
{
    sw_bdecode_opts opts = {0, 32, 1000000};
    sw_bdoc *doc;
    if (sw_bdecode(buf, len, &opts, &doc, NULL) < 0)
        return;
    sw_bnode peers = sw_bnode_dict_get(sw_bdoc_root(doc), "peers");
    size_t n = sw_bnode_len(peers);
    for (size_t i = 0; i < n && i < 200; i++) {
        size_t l;
        const char *c = sw_bnode_str(sw_bnode_list_at(peers, i), &l);
        if (!c || (l != 6 && l != 18))
            continue;
        sw_endpoint ep;
        memset(&ep, 0, sizeof ep);
        ep.family = l == 6 ? AF_INET : AF_INET6;
        memcpy(ep.addr, c, l - 2);
        ep.port = sw__load_be16((const uint8_t *)c + l - 2);
        if (ep.port)
            sw__swarm_add_peer(&t->swarm, &ep, SW_PEER_SRC_RESUME, false);
    }
    sw_bdoc_free(doc);
}
