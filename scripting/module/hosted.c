/* A script hosted by a program that runs a session itself (cswarm download
 * --script): the script gets its own thread and lua_State, and the host
 * hands it every alert batch it pops, so the host keeps its own alert loop
 * and the script sees the same alerts. The script's waits (ses:alerts(),
 * ses:run(), cswarm.sleep(), ...) wait on that feed instead of the session's
 * queue. Ending: the host stops the feed; waits then return once what was
 * fed has been delivered; a script still running after a grace period is
 * interrupted by a hook. */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <lualib.h>

#include "lua_cswarm.h"
#include "module_int.h"

#define INTERRUPTED_MSG "interrupted: the transfer ended"

struct sw_lua_feed {
    pthread_mutex_t mu;
    pthread_cond_t cond; /* a batch arrived, stop was asked, or the script ended */
    sw_alert_batch **queue;
    size_t head, count, cap;
    bool stop;
};

struct sw_lua_script {
    sw_lua_feed feed;
    pthread_t thread;
    char *path;
    sw_session *ses;
    sw_torrent_handle torrent;
    uint32_t alert_mask;
    lua_State *L; /* while the script runs; guarded by feed.mu */
    bool done;    /* the thread has finished (guarded by feed.mu) */
    bool interrupted;
    int status;
    char *err;
};

static void abs_deadline(struct timespec *ts, int64_t ms)
{
    clock_gettime(CLOCK_MONOTONIC, ts);
    ts->tv_sec += ms / 1000;
    ts->tv_nsec += (long)(ms % 1000) * 1000000L;
    if (ts->tv_nsec >= 1000000000L) {
        ts->tv_sec++;
        ts->tv_nsec -= 1000000000L;
    }
}

sw_alert_batch *sw__lua_feed_take(sw_lua_feed *f, int64_t wait_ms, bool *stopped)
{
    struct timespec until;
    abs_deadline(&until, wait_ms);
    pthread_mutex_lock(&f->mu);
    while (f->count == 0 && !f->stop) {
        if (pthread_cond_timedwait(&f->cond, &f->mu, &until) == ETIMEDOUT)
            break;
    }
    sw_alert_batch *b = NULL;
    if (f->count > 0) {
        b = f->queue[f->head];
        f->head = (f->head + 1) % f->cap;
        f->count--;
    }
    *stopped = f->stop && !b;
    pthread_mutex_unlock(&f->mu);
    return b;
}

bool sw__lua_feed_stopped(sw_lua_feed *f)
{
    pthread_mutex_lock(&f->mu);
    bool stopped = f->stop && f->count == 0;
    pthread_mutex_unlock(&f->mu);
    return stopped;
}

static int traceback(lua_State *L)
{
    const char *msg = lua_tostring(L, 1);
    if (!msg)
        msg = lua_pushfstring(L, "(error object is a %s value)", luaL_typename(L, 1));
    luaL_traceback(L, L, msg, 1);
    return 1;
}

static int run_protected(lua_State *L)
{
    sw_lua_script *s = lua_touserdata(L, 1);
    luaL_openlibs(L);
    luaL_requiref(L, "cswarm", luaopen_cswarm, 0);
    lua_pop(L, 1);
    sw_lua_session *ls = sw__lua_new_session(L);
    ls->ses = s->ses;
    ls->borrowed = true;
    ls->feed = &s->feed;
    ls->alert_mask = s->alert_mask;
    int ses_idx = lua_gettop(L);
    lua_pushvalue(L, ses_idx);
    lua_setglobal(L, "session");
    if (s->torrent.id) {
        sw__lua_push_torrent(L, ses_idx, s->torrent.id);
        lua_setglobal(L, "torrent");
    }
    lua_createtable(L, 0, 1);
    lua_pushstring(L, s->path);
    lua_rawseti(L, -2, 0);
    lua_setglobal(L, "arg");
    lua_pushcfunction(L, traceback);
    int msgh = lua_gettop(L);
    if (luaL_loadfile(L, s->path) != LUA_OK || lua_pcall(L, 0, 1, msgh) != LUA_OK) {
        s->err = strdup(lua_tostring(L, -1) ? lua_tostring(L, -1) : "(no message)");
        s->status = 1;
        return 0;
    }
    if (lua_isinteger(L, -1))
        s->status = (int)lua_tointeger(L, -1);
    else if (lua_isboolean(L, -1))
        s->status = lua_toboolean(L, -1) ? 0 : 1;
    return 0;
}

static void *script_thread(void *arg)
{
    sw_lua_script *s = arg;
    lua_State *L = luaL_newstate();
    if (!L) {
        s->err = strdup("cannot create a Lua state (out of memory)");
        s->status = 1;
    } else {
        pthread_mutex_lock(&s->feed.mu);
        s->L = L;
        pthread_mutex_unlock(&s->feed.mu);
        lua_pushcfunction(L, run_protected);
        lua_pushlightuserdata(L, s);
        if (lua_pcall(L, 1, 0, 0) != LUA_OK && !s->err) {
            const char *m = lua_tostring(L, -1);
            s->err = strdup(m ? m : "(no message)");
            s->status = 1;
        }
        pthread_mutex_lock(&s->feed.mu);
        s->L = NULL;
        pthread_mutex_unlock(&s->feed.mu);
        lua_close(L); /* the session object only detaches: the host owns it */
    }
    pthread_mutex_lock(&s->feed.mu);
    s->done = true;
    pthread_cond_broadcast(&s->feed.cond);
    pthread_mutex_unlock(&s->feed.mu);
    return NULL;
}

int sw_lua_script_start(const char *path, sw_session *ses, sw_torrent_handle torrent,
                        uint32_t alert_mask, sw_lua_script **out)
{
    *out = NULL;
    sw_lua_script *s = calloc(1, sizeof *s);
    if (!s)
        return SW_ERR_NOMEM;
    s->path = strdup(path);
    s->ses = ses;
    s->torrent = torrent;
    s->alert_mask = alert_mask;
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_mutex_init(&s->feed.mu, NULL);
    pthread_cond_init(&s->feed.cond, &ca);
    pthread_condattr_destroy(&ca);
    if (!s->path || pthread_create(&s->thread, NULL, script_thread, s) != 0) {
        pthread_cond_destroy(&s->feed.cond);
        pthread_mutex_destroy(&s->feed.mu);
        free(s->path);
        free(s);
        return SW_ERR_NOMEM;
    }
    *out = s;
    return 0;
}

void sw_lua_script_post(sw_lua_script *s, sw_alert_batch *batch)
{
    if (!batch)
        return;
    pthread_mutex_lock(&s->feed.mu);
    if (s->done || s->feed.stop) {
        pthread_mutex_unlock(&s->feed.mu);
        sw_alert_batch_free(batch);
        return;
    }
    if (s->feed.count == s->feed.cap) {
        size_t cap = s->feed.cap ? s->feed.cap * 2 : 16;
        sw_alert_batch **q = malloc(cap * sizeof *q);
        if (!q) {
            pthread_mutex_unlock(&s->feed.mu);
            sw_alert_batch_free(batch); /* the script misses these alerts */
            return;
        }
        for (size_t i = 0; i < s->feed.count; i++)
            q[i] = s->feed.queue[(s->feed.head + i) % s->feed.cap];
        free(s->feed.queue);
        s->feed.queue = q;
        s->feed.head = 0;
        s->feed.cap = cap;
    }
    s->feed.queue[(s->feed.head + s->feed.count) % s->feed.cap] = batch;
    s->feed.count++;
    pthread_cond_broadcast(&s->feed.cond);
    pthread_mutex_unlock(&s->feed.mu);
}

bool sw_lua_script_failed(sw_lua_script *s)
{
    pthread_mutex_lock(&s->feed.mu);
    bool failed = s->done && s->err != NULL;
    pthread_mutex_unlock(&s->feed.mu);
    return failed;
}

static void stop_hook(lua_State *L, lua_Debug *ar)
{
    (void)ar;
    luaL_error(L, "%s", INTERRUPTED_MSG);
}

int sw_lua_script_finish(sw_lua_script *s, int grace_ms, char **err_out)
{
    struct timespec until;
    abs_deadline(&until, grace_ms);
    pthread_mutex_lock(&s->feed.mu);
    s->feed.stop = true;
    pthread_cond_broadcast(&s->feed.cond);
    while (!s->done) {
        if (pthread_cond_timedwait(&s->feed.cond, &s->feed.mu, &until) == ETIMEDOUT)
            break;
    }
    /* Still running: interrupt it between two instructions, as lua5.4 does
     * on SIGINT. */
    if (!s->done && s->L) {
        s->interrupted = true;
        lua_sethook(s->L, stop_hook, LUA_MASKCALL | LUA_MASKRET | LUA_MASKCOUNT, 1);
    }
    pthread_mutex_unlock(&s->feed.mu);
    pthread_join(s->thread, NULL);
    /* Stopping a script that outlived the transfer is not its failure. */
    if (s->interrupted && s->err && strstr(s->err, INTERRUPTED_MSG)) {
        free(s->err);
        s->err = NULL;
        s->status = 0;
    }
    for (size_t i = 0; i < s->feed.count; i++)
        sw_alert_batch_free(s->feed.queue[(s->feed.head + i) % s->feed.cap]);
    free(s->feed.queue);
    pthread_cond_destroy(&s->feed.cond);
    pthread_mutex_destroy(&s->feed.mu);
    int status = s->status;
    if (err_out)
        *err_out = s->err;
    else
        free(s->err);
    free(s->path);
    free(s);
    return status;
}
