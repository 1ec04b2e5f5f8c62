/* The public session functions other than creation and shutdown: adding,
 * finding and removing torrents, pausing, status, alerts, listening,
 * settings and saved state. Each runs on the network thread. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "plugin_int.h"
#include "session_dht.h"
#include "session_int.h"
#include "session_utp.h"
#include "torrent_trackers.h"

/* ---- the torrent table ---- */

static size_t id_bucket(const sw_session *ses, uint64_t id)
{
    return (size_t)(id * 0x9E3779B97F4A7C15ull >> 17) & (ses->id_nbuckets - 1);
}

sw_torrent *sw__session_find(sw_session *ses, uint64_t id)
{
    if (ses->id_nbuckets == 0)
        return NULL;
    for (sw_torrent *t = ses->id_buckets[id_bucket(ses, id)]; t; t = t->id_next)
        if (t->id == id)
            return t;
    return NULL;
}

sw_torrent *sw__session_find_hash(sw_session *ses, const sw_sha1 *ih)
{
    return sw__session_index_find(ses, ih);
}

static void rehash(sw_session *ses)
{
    size_t n = ses->id_nbuckets ? ses->id_nbuckets * 2 : 64;
    sw_torrent **b = calloc(n, sizeof *b);
    if (!b)
        return; /* keep the old table: lookups still work, just longer chains */
    free(ses->id_buckets);
    ses->id_buckets = b;
    ses->id_nbuckets = n;
    for (sw_torrent *t = ses->torrents; t; t = t->next) {
        size_t k = id_bucket(ses, t->id);
        t->id_next = b[k];
        b[k] = t;
    }
}

void sw__session_link(sw_session *ses, sw_torrent *t)
{
    t->prev = NULL;
    t->next = ses->torrents;
    if (ses->torrents)
        ses->torrents->prev = t;
    ses->torrents = t;
    ses->num_torrents++;
    if ((size_t)ses->num_torrents > ses->id_nbuckets) {
        rehash(ses);
    } else {
        size_t k = id_bucket(ses, t->id);
        t->id_next = ses->id_buckets[k];
        ses->id_buckets[k] = t;
    }
    sw__session_index_add(ses, t);
    sw__queue_torrent_added(t);
}

void sw__session_unlink(sw_session *ses, sw_torrent *t)
{
    if (t->prev)
        t->prev->next = t->next;
    else
        ses->torrents = t->next;
    if (t->next)
        t->next->prev = t->prev;
    t->next = t->prev = NULL;
    sw_torrent **pp = &ses->id_buckets[id_bucket(ses, t->id)];
    while (*pp && *pp != t)
        pp = &(*pp)->id_next;
    if (*pp)
        *pp = t->id_next;
    t->id_next = NULL;
    ses->num_torrents--;
    sw__session_index_remove(ses, t);
    sw__queue_torrent_removed(t);
}

/* ---- adding ---- */

void sw_add_torrent_params_init(sw_add_torrent_params *p)
{
    memset(p, 0, sizeof *p);
    p->struct_size = sizeof *p;
    p->flags = SW_ADD_UPDATE_SUBSCRIBE | SW_ADD_APPLY_IP_FILTER | SW_ADD_DUPLICATE_IS_ERROR;
    p->storage_mode = SW_STORAGE_MODE_SPARSE;
    p->max_uploads = -1;
    p->max_connections = -1;
    p->upload_limit = -1;
    p->download_limit = -1;
}

static void post_add_alert(sw_session *ses, sw_torrent *t, const sw_add_torrent_params *p, int rc,
                           const sw_error_detail *err)
{
    sw_alert *a = sw__session_torrent_alert(ses, rc == 0 ? t : NULL, SW_ALERT_ADD_TORRENT, false);
    if (!a)
        return;
    a->error = rc;
    if (rc < 0 && p->ti)
        a->info_hash = sw_torrent_info_hashes(p->ti)->v1;
    const char *name = t         ? t->name
                       : p->ti   ? sw_torrent_info_name(p->ti)
                       : p->name ? p->name
                                 : p->url;
    sw__alert_set_str(a, &a->payload.add_torrent.name, name);
    if (rc < 0)
        sw__alert_set_message(a, "adding %s failed: %s", name ? name : "torrent",
                              err && err->message[0] ? err->message : sw_strerror(rc));
    else
        sw__alert_set_message(a, "%s: added", t->name);
    sw__session_post_alert(ses, a);
}

typedef struct add_arg {
    const sw_add_torrent_params *p;
    sw_torrent_handle h;
    sw_error_detail err;
} add_arg;

static int add_on_loop(sw_session *ses, add_arg *a)
{
    sw_torrent *t = NULL;
    memset(&a->err, 0, sizeof a->err);
    ses->env.now_ms = uv_now(&ses->loop);
    int rc = sw__torrent_new(ses, a->p, &t, &a->err);
    if (rc == SW_ERR_EXISTS) {
        a->h = (sw_torrent_handle){ses, t->id};
        return 0;
    }
    post_add_alert(ses, t, a->p, rc, &a->err);
    if (rc == 0) {
        a->h = (sw_torrent_handle){ses, t->id};
        if (ses->paused)
            sw__torrent_update_active(t);
    }
    return rc;
}

static int add_fn(sw_session *ses, void *arg)
{
    return add_on_loop(ses, arg);
}

int sw_session_add_torrent(sw_session *ses, const sw_add_torrent_params *p,
                           sw_torrent_handle *h_out, sw_error_detail *err_out)
{
    if (!ses || !p || !h_out)
        return SW_ERR_INVALID_ARG;
    add_arg a = {.p = p};
    int rc = sw__session_run(ses, add_fn, &a);
    if (rc == 0)
        *h_out = a.h;
    else if (err_out)
        *err_out = a.err;
    if (rc < 0 && err_out && err_out->code == 0) {
        err_out->code = rc;
        err_out->offset = -1;
        snprintf(err_out->message, sizeof err_out->message, "%s", sw_strerror(rc));
    }
    return rc;
}

/* An asynchronous add keeps its own copy of everything the params point
 * to. */
typedef struct async_add {
    sw_cmd base;
    sw_add_torrent_params p;
} async_add;

static void async_add_destroy(sw_cmd *cmd)
{
    async_add *c = (async_add *)cmd;
    sw_torrent_info_unref(c->p.ti);
    free((void *)c->p.name);
    free((void *)c->p.save_path);
    free((void *)c->p.resume_data);
    free((void *)c->p.file_priorities);
    free((void *)c->p.url);
    free(c);
}

static void async_add_run(sw_session *ses, sw_cmd *cmd)
{
    async_add *c = (async_add *)cmd;
    add_arg a = {.p = &c->p};
    cmd->result = add_on_loop(ses, &a);
}

static void *dup_bytes(const void *p, size_t n, bool *fail)
{
    if (!p)
        return NULL;
    void *d = malloc(n ? n : 1);
    if (!d) {
        *fail = true;
        return NULL;
    }
    memcpy(d, p, n);
    return d;
}

int sw_session_async_add_torrent(sw_session *ses, const sw_add_torrent_params *p)
{
    if (!ses || !p)
        return SW_ERR_INVALID_ARG;
    async_add *c = calloc(1, sizeof *c);
    if (!c)
        return SW_ERR_NOMEM;
    c->base.fn = async_add_run;
    c->base.destroy = async_add_destroy;
    c->p = *p;
    bool fail = false;
    c->p.ti = p->ti ? sw_torrent_info_ref(p->ti) : NULL;
    c->p.name = p->name ? dup_bytes(p->name, strlen(p->name) + 1, &fail) : NULL;
    c->p.save_path = p->save_path ? dup_bytes(p->save_path, strlen(p->save_path) + 1, &fail) : NULL;
    c->p.resume_data = dup_bytes(p->resume_data, p->resume_data_len, &fail);
    c->p.file_priorities = dup_bytes(p->file_priorities, p->num_file_priorities, &fail);
    c->p.url = p->url ? dup_bytes(p->url, strlen(p->url) + 1, &fail) : NULL;
    if (fail) {
        async_add_destroy(&c->base);
        return SW_ERR_NOMEM;
    }
    return sw__session_post(ses, &c->base);
}

/* ---- finding and removing ---- */

typedef struct find_arg {
    const sw_sha1 *ih;
    sw_torrent_handle h;
} find_arg;

static int find_fn(sw_session *ses, void *arg)
{
    find_arg *a = arg;
    sw_torrent *t = sw__session_find_hash(ses, a->ih);
    if (!t)
        return SW_ERR_NOT_FOUND;
    a->h = (sw_torrent_handle){ses, t->id};
    return 0;
}

int sw_session_find_torrent(sw_session *ses, const sw_sha1 *info_hash, sw_torrent_handle *h_out)
{
    if (!ses || !info_hash || !h_out)
        return SW_ERR_INVALID_ARG;
    find_arg a = {info_hash, {0}};
    int rc = sw__session_run(ses, find_fn, &a);
    if (rc == 0)
        *h_out = a.h;
    return rc;
}

typedef struct list_arg {
    sw_torrent_handle *v;
    size_t n;
} list_arg;

static int list_fn(sw_session *ses, void *arg)
{
    list_arg *a = arg;
    a->n = (size_t)ses->num_torrents;
    a->v = NULL;
    if (a->n == 0)
        return 0;
    a->v = malloc(a->n * sizeof *a->v);
    if (!a->v)
        return SW_ERR_NOMEM;
    size_t i = 0;
    for (sw_torrent *t = ses->torrents; t && i < a->n; t = t->next)
        a->v[i++] = (sw_torrent_handle){ses, t->id};
    a->n = i;
    return 0;
}

int sw_session_get_torrents(sw_session *ses, sw_torrent_handle **handles_out, size_t *count_out)
{
    if (!ses || !handles_out || !count_out)
        return SW_ERR_INVALID_ARG;
    list_arg a = {0};
    int rc = sw__session_run(ses, list_fn, &a);
    if (rc == 0) {
        *handles_out = a.v;
        *count_out = a.n;
    }
    return rc;
}

typedef struct remove_arg {
    uint64_t id;
    unsigned flags;
} remove_arg;

static int remove_fn(sw_session *ses, void *arg)
{
    remove_arg *a = arg;
    sw_torrent *t = sw__session_find(ses, a->id);
    if (!t)
        return SW_ERR_INVALID_HANDLE;
    ses->env.now_ms = uv_now(&ses->loop);
    sw__torrent_remove(t, a->flags);
    return 0;
}

int sw_session_remove_torrent(sw_session *ses, sw_torrent_handle h, unsigned flags)
{
    if (!ses || h.session != ses || h.id == 0)
        return SW_ERR_INVALID_HANDLE;
    remove_arg a = {h.id, flags};
    return sw__session_run(ses, remove_fn, &a);
}

/* ---- pause ---- */

static int pause_fn(sw_session *ses, void *arg)
{
    bool pause = *(bool *)arg;
    if (ses->paused == pause)
        return 0;
    ses->paused = pause;
    sw__queue_trigger(ses);
    for (sw_torrent *t = ses->torrents; t; t = t->next) {
        t->state_dirty = true;
        sw__torrent_update_active(t);
    }
    return 0;
}

int sw_session_pause(sw_session *ses)
{
    bool p = true;
    return sw__session_run(ses, pause_fn, &p);
}

int sw_session_resume(sw_session *ses)
{
    bool p = false;
    return sw__session_run(ses, pause_fn, &p);
}

static int is_paused_fn(sw_session *ses, void *arg)
{
    *(bool *)arg = ses->paused;
    return 0;
}

bool sw_session_is_paused(sw_session *ses)
{
    bool p = false;
    if (sw__session_run(ses, is_paused_fn, &p) < 0)
        return false;
    return p;
}

/* ---- torrent status ---- */

typedef struct status_arg {
    sw_torrent_status_pred pred;
    void *user;
    sw_torrent_status *v;
    size_t n;
} status_arg;

static int get_status_fn(sw_session *ses, void *arg)
{
    status_arg *a = arg;
    a->n = 0;
    a->v = NULL;
    if (ses->num_torrents == 0)
        return 0;
    a->v = malloc((size_t)ses->num_torrents * sizeof *a->v);
    if (!a->v)
        return SW_ERR_NOMEM;
    for (sw_torrent *t = ses->torrents; t; t = t->next) {
        sw__torrent_status(t, &a->v[a->n]);
        if (!a->pred || a->pred(a->user, &a->v[a->n]))
            a->n++;
    }
    if (a->n == 0) {
        free(a->v);
        a->v = NULL;
    }
    return 0;
}

int sw_session_get_torrent_status(sw_session *ses, sw_torrent_status_pred pred, void *user,
                                  sw_torrent_status **statuses_out, size_t *count_out)
{
    if (!ses || !statuses_out || !count_out)
        return SW_ERR_INVALID_ARG;
    status_arg a = {pred, user, NULL, 0};
    int rc = sw__session_run(ses, get_status_fn, &a);
    if (rc == 0) {
        *statuses_out = a.v;
        *count_out = a.n;
    }
    return rc;
}

static int refresh_fn(sw_session *ses, void *arg)
{
    status_arg *a = arg;
    for (size_t i = 0; i < a->n; i++) {
        if (a->v[i].handle.session != ses)
            continue;
        sw_torrent *t = sw__session_find(ses, a->v[i].handle.id);
        if (t)
            sw__torrent_status(t, &a->v[i]);
    }
    return 0;
}

int sw_session_refresh_torrent_status(sw_session *ses, sw_torrent_status *statuses, size_t count)
{
    if (!ses || (!statuses && count))
        return SW_ERR_INVALID_ARG;
    status_arg a = {NULL, NULL, statuses, count};
    return sw__session_run(ses, refresh_fn, &a);
}

static void free_status_array(void *p)
{
    free(p);
}

static int updates_fn(sw_session *ses, void *arg)
{
    (void)arg;
    size_t n = 0;
    for (sw_torrent *t = ses->torrents; t; t = t->next)
        n += t->update_subscribe && t->state_dirty;
    sw_alert *a = sw__session_torrent_alert(ses, NULL, SW_ALERT_STATE_UPDATE, false);
    if (!a)
        return 0;
    sw_torrent_status *v = NULL;
    if (n > 0) {
        v = malloc(n * sizeof *v);
        if (!v) {
            sw_alert_free(a);
            return SW_ERR_NOMEM;
        }
    }
    size_t i = 0;
    for (sw_torrent *t = ses->torrents; t && i < n; t = t->next) {
        if (!t->update_subscribe || !t->state_dirty)
            continue;
        sw__torrent_status(t, &v[i++]);
        t->state_dirty = false;
    }
    if (v && sw__alert_attach(a, v, free_status_array) < 0) {
        sw_alert_free(a);
        return SW_ERR_NOMEM;
    }
    a->payload.state_update.status = v;
    a->payload.state_update.count = i;
    sw__alert_set_message(a, "%zu torrents changed", i);
    sw__session_post_alert(ses, a);
    return 0;
}

int sw_session_post_torrent_updates(sw_session *ses)
{
    return sw__session_run(ses, updates_fn, NULL);
}

/* ---- session status ---- */

/* TCP/IP headers per full segment, estimated as libtorrent does: 40 bytes
 * (IPv4 + TCP) for every 1460 bytes carried. */
static int64_t ip_overhead(int64_t bytes)
{
    return bytes / 1460 * 40 + (bytes % 1460 ? 40 : 0);
}

static int status_fn(sw_session *ses, void *arg)
{
    sw_session_status *st = arg;
    const sw_peer_env *env = &ses->env;
    memset(st, 0, sizeof *st);
    st->struct_size = sizeof *st;
    st->has_incoming_connections = env->has_incoming;
    st->upload_rate = (int)env->rates.up.rate;
    st->download_rate = (int)env->rates.down.rate;
    st->payload_upload_rate = (int)env->rates.payload_up.rate;
    st->payload_download_rate = (int)env->rates.payload_down.rate;
    st->ip_overhead_upload_rate = (int)ip_overhead(env->rates.up.rate);
    st->ip_overhead_download_rate = (int)ip_overhead(env->rates.down.rate);
    st->total_payload_download = env->stats.payload_down;
    st->total_payload_upload = env->stats.payload_up;
    st->total_download = env->stats.payload_down + env->stats.protocol_down;
    st->total_upload = env->stats.payload_up + env->stats.protocol_up;
    st->total_ip_overhead_download = ip_overhead(st->total_download);
    st->total_ip_overhead_upload = ip_overhead(st->total_upload);
    st->total_redundant_bytes = env->stats.redundant;
    st->total_failed_bytes = env->stats.failed;
    st->num_peers = env->num_conns;
    st->num_half_open = env->num_half_open;
    st->num_unchoked = env->num_unchoked;
    st->allowed_upload_slots = sw__settings_int(ses->settings, SW_SET_UNCHOKE_SLOTS_LIMIT);
    uint64_t now = uv_now(&ses->loop);
    int64_t unchoke = (int64_t)sw__settings_int(ses->settings, SW_SET_UNCHOKE_INTERVAL) * 1000 -
                      (int64_t)(now - env->last_unchoke_ms);
    int64_t opt =
        (int64_t)sw__settings_int(ses->settings, SW_SET_OPTIMISTIC_UNCHOKE_INTERVAL) * 1000 -
        (int64_t)(now - env->last_optimistic_ms);
    st->unchoke_counter = unchoke > 0 ? (int)(unchoke / 1000) : 0;
    st->optimistic_unchoke_counter = opt > 0 ? (int)(opt / 1000) : 0;
    sw_disk_stats ds;
    sw__disk_pool_stats(ses->disk, &ds);
    st->disk_queued_jobs = ds.queued_jobs;
    sw_disk_wait_stats dw;
    sw__peer_env_disk_waits(env, &dw);
    st->disk_write_queue = dw.write_waiters;
    st->disk_read_queue = dw.read_waiters;
    st->disk_queued_bytes = dw.queued_bytes;
    sw__session_trackers_totals(ses, &st->total_tracker_upload, &st->total_tracker_download);
    for (sw_torrent *t = ses->torrents; t; t = t->next) {
        st->peerlist_size += (int)t->swarm.peers.count;
        st->num_torrents++;
    }
    sw_bw_queue_stats bq;
    sw__peer_env_bw_queue(env, &bq);
    st->up_bandwidth_queue = bq.up_peers;
    st->down_bandwidth_queue = bq.down_peers;
    st->up_bandwidth_bytes_queue = bq.up_bytes;
    st->down_bandwidth_bytes_queue = bq.down_bytes;
    sw__session_dht_status(ses, st);
    sw__session_utp_status(ses, &st->utp_status);
    return 0;
}

int sw_session_get_status(sw_session *ses, sw_session_status *status_out)
{
    if (!ses || !status_out)
        return SW_ERR_INVALID_ARG;
    sw_session_status st;
    int rc = sw__session_run(ses, status_fn, &st);
    if (rc == 0)
        *status_out = st;
    return rc;
}

/* ---- listening and identity ---- */

typedef struct listen_arg {
    int min, max;
    const char *ifaces;
    unsigned flags;
    uint16_t port;
} listen_arg;

static int listen_fn(sw_session *ses, void *arg)
{
    listen_arg *a = arg;
    return sw__session_listen(ses, a->min, a->max, a->ifaces, a->flags);
}

int sw_session_listen_on(sw_session *ses, int port_min, int port_max, const char *interfaces,
                         unsigned flags)
{
    listen_arg a = {port_min, port_max, interfaces, flags, 0};
    return sw__session_run(ses, listen_fn, &a);
}

static int port_fn(sw_session *ses, void *arg)
{
    *(uint16_t *)arg = ses->num_listeners > 0 ? ses->env.listen_port : 0;
    return 0;
}

bool sw_session_is_listening(sw_session *ses)
{
    uint16_t port = 0;
    return sw__session_run(ses, port_fn, &port) == 0 && port != 0;
}

int sw_session_listen_port(sw_session *ses, uint16_t *port_out)
{
    if (!port_out)
        return SW_ERR_INVALID_ARG;
    uint16_t port = 0;
    int rc = sw__session_run(ses, port_fn, &port);
    if (rc == 0)
        *port_out = port;
    return rc;
}

static int get_id_fn(sw_session *ses, void *arg)
{
    memcpy(arg, ses->env.peer_id.v, 20);
    return 0;
}

int sw_session_get_peer_id(sw_session *ses, uint8_t id_out[20])
{
    if (!id_out)
        return SW_ERR_INVALID_ARG;
    return sw__session_run(ses, get_id_fn, id_out);
}

static int set_id_fn(sw_session *ses, void *arg)
{
    memcpy(ses->env.peer_id.v, arg, 20);
    return 0;
}

int sw_session_set_peer_id(sw_session *ses, const uint8_t id[20])
{
    if (!id)
        return SW_ERR_INVALID_ARG;
    uint8_t copy[20];
    memcpy(copy, id, 20);
    return sw__session_run(ses, set_id_fn, copy);
}

static int set_key_fn(sw_session *ses, void *arg)
{
    ses->key = *(uint32_t *)arg;
    return 0;
}

int sw_session_set_key(sw_session *ses, uint32_t key)
{
    return sw__session_run(ses, set_key_fn, &key);
}

/* ---- alerts ---- */

int sw_session_pop_alerts(sw_session *ses, sw_alert_batch **batch_out)
{
    if (!ses || !batch_out)
        return SW_ERR_INVALID_ARG;
    return sw__alert_queue_pop_all(ses->alerts, batch_out);
}

int sw_session_pop_alert(sw_session *ses, sw_alert **alert_out)
{
    if (!ses || !alert_out)
        return SW_ERR_INVALID_ARG;
    if (!sw__alert_queue_pop_one(ses->alerts, alert_out))
        *alert_out = NULL;
    return 0;
}

int sw_session_wait_for_alert(sw_session *ses, int timeout_ms)
{
    if (!ses)
        return SW_ERR_INVALID_ARG;
    return sw__alert_queue_wait(ses->alerts, timeout_ms);
}

static int mask_fn(sw_session *ses, void *arg)
{
    uint32_t mask = *(uint32_t *)arg;
    sw__alert_queue_set_mask(ses->alerts, mask);
    sw_settings_set_int(ses->settings, SW_SET_ALERT_MASK, (int)mask);
    return 0;
}

int sw_session_set_alert_mask(sw_session *ses, uint32_t mask)
{
    return sw__session_run(ses, mask_fn, &mask);
}

typedef struct dispatch_arg {
    sw_alert_dispatch_fn fn;
    void *user;
} dispatch_arg;

static int dispatch_fn(sw_session *ses, void *arg)
{
    dispatch_arg *a = arg;
    sw__alert_queue_set_dispatch(ses->alerts, a->fn, a->user);
    return 0;
}

int sw_session_set_alert_dispatch(sw_session *ses, sw_alert_dispatch_fn fn, void *user)
{
    dispatch_arg a = {fn, user};
    return sw__session_run(ses, dispatch_fn, &a);
}

/* ---- settings and state ---- */

static void settings_changed(sw_session *ses)
{
    sw__alert_queue_set_mask(ses->alerts,
                             (uint32_t)sw__settings_int(ses->settings, SW_SET_ALERT_MASK));
    int q = sw__settings_int(ses->settings, SW_SET_ALERT_QUEUE_SIZE);
    sw__alert_queue_set_limit(ses->alerts, q > 0 ? (size_t)q : 1);
    sw__choker_trigger(&ses->env);
    sw__queue_trigger(ses);
    sw__session_utp_settings_changed(ses);
}

static int apply_fn(sw_session *ses, void *arg)
{
    sw_settings *copy;
    int rc = sw_settings_copy(arg, &copy);
    if (rc < 0)
        return rc;
    /* The fingerprint is fixed at creation: keep it. */
    sw_settings_set_str(copy, SW_SET_PEER_FINGERPRINT,
                        sw__settings_str(ses->settings, SW_SET_PEER_FINGERPRINT));
    char *listen_before = strdup(sw__settings_str(ses->settings, SW_SET_LISTEN_INTERFACES));
    sw__settings_swap(ses->settings, copy);
    sw_settings_free(copy);
    settings_changed(ses);
    sw__session_listen_settings_changed(ses, listen_before);
    free(listen_before);
    return 0;
}

int sw_session_apply_settings(sw_session *ses, const sw_settings *s)
{
    if (!ses || !s)
        return SW_ERR_INVALID_ARG;
    return sw__session_run(ses, apply_fn, (void *)s);
}

static int get_settings_fn(sw_session *ses, void *arg)
{
    return sw_settings_copy(ses->settings, arg);
}

int sw_session_get_settings(sw_session *ses, sw_settings **s_out)
{
    if (!ses || !s_out)
        return SW_ERR_INVALID_ARG;
    return sw__session_run(ses, get_settings_fn, s_out);
}

typedef struct state_arg {
    uint32_t flags;
    uint8_t *buf;
    size_t len;
    const void *in;
} state_arg;

static int save_state_fn(sw_session *ses, void *arg)
{
    state_arg *a = arg;
    sw_bencoder *enc;
    int rc = sw_benc_new(&enc);
    if (rc < 0)
        return rc;
    rc = sw_benc_dict_begin(enc);
    if (rc == 0)
        rc = sw_benc_ckey(enc, "settings");
    if (rc == 0)
        rc = sw_settings_save(ses->settings, a->flags, 0, enc);
    if (rc == 0)
        rc = sw__plugin_save_state(ses, enc);
    if (rc == 0 && (a->flags & SW_SAVE_DHT_STATE))
        rc = sw__session_dht_save_state(ses, enc);
    if (rc == 0)
        rc = sw_benc_end(enc);
    if (rc == 0)
        rc = sw_benc_finish(enc, &a->buf, &a->len);
    sw_benc_free(enc);
    return rc;
}

int sw_session_save_state(sw_session *ses, uint32_t flags, uint8_t **buf_out, size_t *len_out)
{
    if (!ses || !buf_out || !len_out)
        return SW_ERR_INVALID_ARG;
    state_arg a = {flags, NULL, 0, NULL};
    int rc = sw__session_run(ses, save_state_fn, &a);
    if (rc == 0) {
        *buf_out = a.buf;
        *len_out = a.len;
    }
    return rc;
}

static int load_state_fn(sw_session *ses, void *arg)
{
    state_arg *a = arg;
    sw_bdoc *doc;
    int rc = sw_bdecode(a->in, a->len, NULL, &doc, NULL);
    if (rc < 0)
        return rc;
    sw_bnode settings = sw_bnode_dict_get(sw_bdoc_root(doc), "settings");
    if (sw_bnode_is(settings, SW_BNODE_DICT)) {
        sw_settings *copy;
        rc = sw_settings_copy(ses->settings, &copy);
        if (rc == 0) {
            rc = sw_settings_load(copy, settings, a->flags, NULL);
            if (rc == 0) {
                sw_settings_set_str(copy, SW_SET_PEER_FINGERPRINT,
                                    sw__settings_str(ses->settings, SW_SET_PEER_FINGERPRINT));
                char *listen_before =
                    strdup(sw__settings_str(ses->settings, SW_SET_LISTEN_INTERFACES));
                sw__settings_swap(ses->settings, copy);
                settings_changed(ses);
                sw__session_listen_settings_changed(ses, listen_before);
                free(listen_before);
            }
            sw_settings_free(copy);
        }
    } else if (!sw_bnode_is(sw_bdoc_root(doc), SW_BNODE_DICT)) {
        rc = SW_ERR_INVALID_ARG;
    }
    if (rc == 0)
        sw__plugin_load_state(ses, sw_bdoc_root(doc));
    if (rc == 0 && (a->flags & SW_SAVE_DHT_STATE))
        sw__session_dht_load_state(ses, sw_bdoc_root(doc));
    sw_bdoc_free(doc);
    return rc;
}

int sw_session_load_state(sw_session *ses, const void *buf, size_t len, uint32_t flags)
{
    if (!ses || !buf)
        return SW_ERR_INVALID_ARG;
    state_arg a = {flags, NULL, len, buf};
    return sw__session_run(ses, load_state_fn, &a);
}
