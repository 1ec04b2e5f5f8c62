/* The session object: creation, the network thread and its loop, the tick,
 * and shutdown (abort, proxy, free). */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "plugin_int.h"
#include "session_dht.h"
#include "session_lsd.h"
#include "session_natpmp.h"
#include "session_int.h"
#include "session_udp.h"
#include "torrent_trackers.h"

static const char digits36[] = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ";

void sw_fingerprint_init(sw_fingerprint *fp)
{
    memset(fp, 0, sizeof *fp);
    fp->id[0] = 'S';
    fp->id[1] = 'W';
    fp->major = SW_VERSION_MAJOR;
    fp->minor = SW_VERSION_MINOR;
    fp->revision = SW_VERSION_PATCH;
    fp->tag = 0;
}

int sw_fingerprint_format(const sw_fingerprint *fp, char out[9])
{
    int parts[4] = {fp->major, fp->minor, fp->revision, fp->tag};
    for (int i = 0; i < 4; i++)
        if (parts[i] < 0 || parts[i] > 35)
            return SW_ERR_INVALID_ARG;
    for (int i = 0; i < 2; i++)
        if (fp->id[i] < 0x21 || fp->id[i] > 0x7e)
            return SW_ERR_INVALID_ARG;
    out[0] = '-';
    out[1] = fp->id[0];
    out[2] = fp->id[1];
    for (int i = 0; i < 4; i++)
        out[3 + i] = digits36[parts[i]];
    out[7] = '-';
    out[8] = '\0';
    return 0;
}

void sw_session_params_init(sw_session_params *p)
{
    memset(p, 0, sizeof *p);
    p->struct_size = sizeof *p;
    sw_fingerprint_init(&p->fingerprint);
    p->flags = SW_SESSION_ADD_DEFAULT_PLUGINS | SW_SESSION_START_DEFAULT_FEATURES;
    p->alert_mask = SW_ALERT_CAT_ERROR;
}

/* ---- the network thread ---- */

static void close_handle_if(uv_handle_t *h)
{
    if (h->loop && !uv_is_closing(h))
        uv_close(h, NULL);
}

static void begin_shutdown(sw_session *ses);

static void on_wake(uv_async_t *a)
{
    sw_session *ses = a->data;
    sw__session_run_commands(ses);
    uv_mutex_lock(&ses->mu);
    bool abort = !ses->accepting;
    uv_mutex_unlock(&ses->mu);
    if (abort && !ses->shutting_down)
        begin_shutdown(ses);
}

static void on_tick(uv_timer_t *t)
{
    sw_session *ses = t->data;
    uint64_t now = uv_now(&ses->loop);
    uint64_t dt = now - ses->last_tick_ms;
    ses->last_tick_ms = now;
    sw__peer_env_tick(&ses->env);
    for (sw_torrent *tor = ses->torrents; tor; tor = tor->next)
        sw__torrent_tick(tor, dt);
    sw__queue_tick(ses);
    sw__plugin_tick(ses);
}

static void on_disk_closed(void *user)
{
    sw_session *ses = user;
    ses->disk = NULL;
    close_handle_if((uv_handle_t *)&ses->wake);
    close_handle_if((uv_handle_t *)&ses->shutdown_poll);
}

/* Shutdown proceeds in steps, re-checked every few milliseconds: peers and
 * torrents wind down (streams close, disk jobs finish), then the disk pool
 * closes, then the last handles. */
static void shutdown_step(sw_session *ses)
{
    if (ses->disk_closing)
        return;
    if (ses->live_torrents > 0 || sw__peer_env_live_conns(&ses->env) > 0 || sw__plugin_busy(ses) ||
        sw__session_trackers_busy(ses))
        return;
    sw__session_trackers_close(ses);
    sw__session_udp_close(ses);
    /* Every torrent and connection is gone: the plugins' session level
     * ends last. */
    sw__plugin_session_close(ses);
    ses->disk_closing = true;
    uv_timer_stop(&ses->shutdown_poll);
    sw__disk_pool_close(ses->disk, on_disk_closed, ses);
}

static void on_shutdown_poll(uv_timer_t *t)
{
    shutdown_step(t->data);
}

void sw__session_torrent_freed(sw_session *ses)
{
    if (ses->shutting_down)
        shutdown_step(ses);
}

static void begin_shutdown(sw_session *ses)
{
    ses->shutting_down = true;
    uv_timer_stop(&ses->tick);
    close_handle_if((uv_handle_t *)&ses->tick);
    sw__session_close_listeners(ses);
    sw__session_dht_shutdown(ses);
    sw__session_lsd_shutdown(ses);
    sw__session_natpmp_shutdown(ses);
    sw_torrent *t = ses->torrents;
    while (t) {
        sw_torrent *next = t->next;
        sw__torrent_remove(t, 0);
        t = next;
    }
    sw__peer_env_close_all(&ses->env);
    uv_timer_start(&ses->shutdown_poll, on_shutdown_poll, 5, 5);
    shutdown_step(ses);
}

static void net_thread(void *arg)
{
    /* A peer that closes while we write would raise SIGPIPE and kill the
     * embedding process. Blocked on this thread, the write fails with EPIPE
     * instead and the connection is closed like any other error. */
    sigset_t pipe_only;
    sigemptyset(&pipe_only);
    sigaddset(&pipe_only, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &pipe_only, NULL);
    sw_session *ses = arg;
    uv_mutex_lock(&ses->mu);
    ses->net_tid = uv_thread_self();
    ses->started = true;
    uv_cond_broadcast(&ses->cv);
    uv_mutex_unlock(&ses->mu);

    uv_run(&ses->loop, UV_RUN_DEFAULT);

    sw__session_refuse_commands(ses);
    int rc = uv_loop_close(&ses->loop);
    if (rc != 0) {
        /* A handle was left open: a bug. Say so rather than leak quietly. */
        fprintf(stderr, "cswarm: session loop closed with open handles (%s)\n", sw_err_name(rc));
    }
    uv_mutex_lock(&ses->mu);
    ses->loop_done = true;
    uv_cond_broadcast(&ses->cv);
    uv_mutex_unlock(&ses->mu);
}

/* ---- creation ---- */

static sw_swarm *find_swarm(void *ctx, const sw_sha1 *ih)
{
    sw_session *ses = ctx;
    sw_torrent *t = sw__session_find_hash(ses, ih);
    if (!t || !t->swarm_ready) {
        return NULL;
    }
    return &t->swarm;
}

static int init_loop(sw_session *ses)
{
    int rc = uv_loop_init(&ses->loop);
    if (rc < 0)
        return rc;
    rc = uv_async_init(&ses->loop, &ses->wake, on_wake);
    if (rc < 0)
        goto fail_loop;
    ses->wake.data = ses;
    uv_timer_init(&ses->loop, &ses->tick);
    ses->tick.data = ses;
    uv_timer_init(&ses->loop, &ses->shutdown_poll);
    ses->shutdown_poll.data = ses;
    sw_disk_pool_opts dopts;
    sw__disk_pool_opts_init(&dopts);
    dopts.aio_threads = sw__settings_int(ses->settings, SW_SET_AIO_THREADS);
    dopts.file_pool_size = sw__settings_int(ses->settings, SW_SET_FILE_POOL_SIZE);
    rc = sw__disk_pool_new(&ses->loop, &dopts, &ses->disk);
    if (rc < 0)
        goto fail_handles;
    int interval = sw__settings_int(ses->settings, SW_SET_TICK_INTERVAL);
    if (interval < 50)
        interval = 50;
    if (interval > 1000)
        interval = 1000;
    ses->last_tick_ms = uv_now(&ses->loop);
    uv_timer_start(&ses->tick, on_tick, (uint64_t)interval, (uint64_t)interval);
    return 0;
fail_handles:
    uv_close((uv_handle_t *)&ses->wake, NULL);
    uv_close((uv_handle_t *)&ses->tick, NULL);
    uv_close((uv_handle_t *)&ses->shutdown_poll, NULL);
    uv_run(&ses->loop, UV_RUN_DEFAULT);
fail_loop:
    uv_loop_close(&ses->loop);
    return rc;
}

static void free_session(sw_session *ses)
{
    sw__plugin_registry_free(ses);
    sw__alert_queue_free(ses->alerts);
    sw_settings_free(ses->settings);
    free(ses->id_buckets);
    sw__session_index_free(ses);
    uv_cond_destroy(&ses->cv);
    uv_mutex_destroy(&ses->mu);
    free(ses);
}

int sw_session_new(const sw_session_params *p, sw_session **ses_out)
{
    if (!ses_out)
        return SW_ERR_INVALID_ARG;
    sw_session_params defaults;
    if (!p) {
        sw_session_params_init(&defaults);
        p = &defaults;
    }
    char prefix[9];
    if (sw_fingerprint_format(&p->fingerprint, prefix) < 0)
        return SW_ERR_INVALID_ARG;
    sw_session *ses = calloc(1, sizeof *ses);
    if (!ses)
        return SW_ERR_NOMEM;
    atomic_init(&ses->refs, 1);
    ses->fingerprint = p->fingerprint;
    ses->flags = p->flags;
    ses->accepting = true;
    ses->next_torrent_id = 1;
    if (uv_mutex_init(&ses->mu) < 0) {
        free(ses);
        return SW_ERR_NOMEM;
    }
    if (uv_cond_init(&ses->cv) < 0) {
        uv_mutex_destroy(&ses->mu);
        free(ses);
        return SW_ERR_NOMEM;
    }
    int rc = p->settings ? sw_settings_copy(p->settings, &ses->settings)
                         : sw_settings_new(&ses->settings);
    if (rc < 0)
        goto fail;
    sw_settings_set_int(ses->settings, SW_SET_ALERT_MASK, (int)p->alert_mask);
    sw_settings_set_str(ses->settings, SW_SET_PEER_FINGERPRINT, prefix);
    int qsize = sw__settings_int(ses->settings, SW_SET_ALERT_QUEUE_SIZE);
    rc = sw__alert_queue_new(qsize > 0 ? (size_t)qsize : 1, p->alert_mask, &ses->alerts);
    if (rc < 0)
        goto fail;
    /* A peer id: the fingerprint, then random characters. */
    sw_peer_id pid;
    rc = sw__peer_id_generate(&pid);
    if (rc < 0)
        goto fail;
    memcpy(pid.v, prefix, 8);
    rc = init_loop(ses);
    if (rc < 0)
        goto fail;
    sw__peer_env_init(&ses->env);
    ses->env.loop = &ses->loop;
    ses->env.settings = ses->settings;
    ses->env.disk = ses->disk;
    ses->env.peer_id = pid;
    ses->env.now_ms = uv_now(&ses->loop);
    ses->env.find_swarm = find_swarm;
    ses->env.on_event = sw__session_peer_event;
    ses->env.wants_event = sw__session_wants_event;
    ses->env.ctx = ses;
    ses->env.ext = &sw__plugin_peer_ext_hooks;
    ses->env.ext_ctx = ses;
    ses->env.last_unchoke_ms = ses->env.now_ms;
    ses->env.last_optimistic_ms = ses->env.now_ms;
    /* Without a tracker client the session still works (DHT, PEX, peers
     * added by hand). */
    (void)sw__session_trackers_open(ses);
    rc = uv_thread_create(&ses->thread, net_thread, ses);
    if (rc < 0) {
        sw__session_trackers_close(ses);
        uv_close((uv_handle_t *)&ses->wake, NULL);
        uv_close((uv_handle_t *)&ses->tick, NULL);
        uv_close((uv_handle_t *)&ses->shutdown_poll, NULL);
        sw__disk_pool_close(ses->disk, NULL, NULL);
        uv_run(&ses->loop, UV_RUN_DEFAULT);
        uv_loop_close(&ses->loop);
        goto fail;
    }
    uv_mutex_lock(&ses->mu);
    while (!ses->started)
        uv_cond_wait(&ses->cv, &ses->mu);
    uv_mutex_unlock(&ses->mu);
    /* A default plugin that fails is disabled with an alert; the session
     * goes on without it. */
    if (p->flags & SW_SESSION_ADD_DEFAULT_PLUGINS)
        sw__plugin_add_defaults(ses);
    if (p->flags & SW_SESSION_START_DEFAULT_FEATURES) {
        (void)sw__session_dht_start_default(ses);
        (void)sw__session_lsd_start_default(ses);
        (void)sw__session_natpmp_start_default(ses);
    }
    *ses_out = ses;
    return 0;
fail:
    free_session(ses);
    return rc;
}

/* ---- shutdown ---- */

static void request_abort(sw_session *ses)
{
    uv_mutex_lock(&ses->mu);
    if (ses->accepting) {
        ses->accepting = false;
        uv_async_send(&ses->wake);
    }
    uv_mutex_unlock(&ses->mu);
}

static int wait_done(sw_session *ses, int timeout_ms)
{
    int rc = 0;
    uv_mutex_lock(&ses->mu);
    if (timeout_ms < 0) {
        while (!ses->loop_done)
            uv_cond_wait(&ses->cv, &ses->mu);
    } else {
        uint64_t deadline = uv_hrtime() + (uint64_t)timeout_ms * 1000000u;
        while (!ses->loop_done) {
            uint64_t now = uv_hrtime();
            if (now >= deadline) {
                rc = SW_ERR_TIMEOUT;
                break;
            }
            uv_cond_timedwait(&ses->cv, &ses->mu, deadline - now);
        }
    }
    uv_mutex_unlock(&ses->mu);
    return rc;
}

static void release(sw_session *ses)
{
    if (atomic_fetch_sub(&ses->refs, 1) != 1)
        return;
    wait_done(ses, -1);
    uv_thread_join(&ses->thread);
    free_session(ses);
}

int sw_session_abort(sw_session *ses, sw_session_proxy **proxy_out)
{
    if (!ses || !proxy_out)
        return SW_ERR_INVALID_ARG;
    sw_session_proxy *proxy = calloc(1, sizeof *proxy);
    if (!proxy)
        return SW_ERR_NOMEM;
    uv_mutex_lock(&ses->mu);
    bool taken = ses->proxy_taken;
    ses->proxy_taken = true;
    uv_mutex_unlock(&ses->mu);
    if (taken) {
        free(proxy);
        return SW_ERR_ABORTED;
    }
    atomic_fetch_add(&ses->refs, 1);
    proxy->ses = ses;
    request_abort(ses);
    *proxy_out = proxy;
    return 0;
}

int sw_session_proxy_wait(sw_session_proxy *proxy, int timeout_ms)
{
    if (!proxy)
        return SW_ERR_INVALID_ARG;
    return wait_done(proxy->ses, timeout_ms);
}

void sw_session_proxy_free(sw_session_proxy *proxy)
{
    if (!proxy)
        return;
    release(proxy->ses);
    free(proxy);
}

void sw_session_free(sw_session *ses)
{
    if (!ses)
        return;
    request_abort(ses);
    release(ses);
}
