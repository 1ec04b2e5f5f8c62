/* The wait loop: the only place where alerts reach Lua. It runs on the
 * script's thread, inside ses:alerts(), ses:run(), ses:wait_for() and
 * cswarm.sleep(): due timers run, popped alerts go to the callbacks
 * registered with ses:on(), then (for the iterator) to the script. Nothing
 * here runs on a session's network thread, so Lua code can call any
 * session function, including blocking ones.
 *
 * Alerts popped in a batch stay in the session object until handed out, so
 * an error raised by a callback loses none and leaks nothing. */
#include <limits.h>
#include <time.h>

#include "module_int.h"

/* Longest single wait: a wait comes back this often to check the clock
 * and to give an interrupting hook (Ctrl-C in lua5.4) its chance. */
#define MAX_WAIT_MS 250

int64_t sw__lua_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- timers ---- */

/* A timer is a table {fn=, interval_ms=, due_ms=, repeating=, active=}
 * kept in the session state's `timers` set while active. */

static int timer_cancel(lua_State *L)
{
    luaL_checktype(L, 1, LUA_TTABLE);
    lua_pushboolean(L, 0);
    lua_setfield(L, 1, "active");
    lua_getfield(L, 1, "session");
    if (lua_type(L, -1) == LUA_TUSERDATA) {
        lua_getiuservalue(L, -1, 1);
        if (lua_type(L, -1) == LUA_TTABLE && lua_getfield(L, -1, "timers") == LUA_TTABLE) {
            lua_pushvalue(L, 1);
            lua_pushnil(L);
            lua_rawset(L, -3);
        }
    }
    return 0;
}

void sw__lua_timer_register(lua_State *L)
{
    if (luaL_newmetatable(L, SW_LUA_TIMER_MT)) {
        lua_createtable(L, 0, 1);
        lua_pushcfunction(L, timer_cancel);
        lua_setfield(L, -2, "cancel");
        lua_setfield(L, -2, "__index");
    }
    lua_pop(L, 1);
}

static void push_state_field(lua_State *L, int ses_idx, const char *field)
{
    lua_getiuservalue(L, ses_idx, 1);
    lua_getfield(L, -1, field);
    lua_remove(L, -2);
}

/* ses:every(seconds, fn) / ses:after(seconds, fn) */
int sw__lua_add_timer(lua_State *L, bool repeat)
{
    sw__lua_check_session(L, 1);
    lua_Number secs = luaL_checknumber(L, 2);
    luaL_checktype(L, 3, LUA_TFUNCTION);
    luaL_argcheck(L, secs >= 0 && secs < 1e9, 2, "seconds out of range");
    int64_t ms = (int64_t)(secs * 1000.0 + 0.5);
    if (repeat && ms < 1)
        ms = 1;
    lua_createtable(L, 0, 6);
    lua_pushvalue(L, 3);
    lua_setfield(L, -2, "fn");
    lua_pushinteger(L, ms);
    lua_setfield(L, -2, "interval_ms");
    lua_pushinteger(L, sw__lua_now_ms() + ms);
    lua_setfield(L, -2, "due_ms");
    lua_pushboolean(L, repeat);
    lua_setfield(L, -2, "repeating");
    lua_pushboolean(L, 1);
    lua_setfield(L, -2, "active");
    lua_pushvalue(L, 1);
    lua_setfield(L, -2, "session");
    luaL_setmetatable(L, SW_LUA_TIMER_MT);
    push_state_field(L, 1, "timers");
    lua_pushvalue(L, -2);
    lua_pushboolean(L, 1);
    lua_rawset(L, -3);
    lua_pop(L, 1);
    return 1;
}

/* The earliest due time of the session's timers, or -1. */
static int64_t next_due(lua_State *L, int ses_idx)
{
    int64_t best = -1;
    push_state_field(L, ses_idx, "timers");
    lua_pushnil(L);
    while (lua_next(L, -2)) {
        lua_pop(L, 1);
        lua_getfield(L, -1, "due_ms");
        int64_t due = (int64_t)lua_tointeger(L, -1);
        lua_pop(L, 1);
        if (best < 0 || due < best)
            best = due;
    }
    lua_pop(L, 1);
    return best;
}

/* Runs every timer due now. The due ones are collected first, since a
 * callback may add or cancel timers. */
static void run_timers(lua_State *L, int ses_idx)
{
    int64_t now = sw__lua_now_ms();
    push_state_field(L, ses_idx, "timers");
    int timers = lua_gettop(L);
    lua_newtable(L);
    int due = lua_gettop(L);
    lua_Integer n = 0;
    lua_pushnil(L);
    while (lua_next(L, timers)) {
        lua_pop(L, 1);
        lua_getfield(L, -1, "due_ms");
        int64_t when = (int64_t)lua_tointeger(L, -1);
        lua_pop(L, 1);
        if (when <= now) {
            /* Insert in due order (a timer table's set order is arbitrary):
             * shift later ones up, then place this one. */
            lua_Integer at = ++n;
            while (at > 1) {
                lua_rawgeti(L, due, at - 1);
                lua_getfield(L, -1, "due_ms");
                int64_t prev = (int64_t)lua_tointeger(L, -1);
                lua_pop(L, 1);
                if (prev <= when) {
                    lua_pop(L, 1);
                    break;
                }
                lua_rawseti(L, due, at--);
            }
            lua_pushvalue(L, -1);
            lua_rawseti(L, due, at);
        }
    }
    for (lua_Integer i = 1; i <= n; i++) {
        lua_rawgeti(L, due, i);
        int t = lua_gettop(L);
        lua_getfield(L, t, "active");
        bool active = lua_toboolean(L, -1);
        lua_pop(L, 1);
        if (!active) {
            lua_pop(L, 1);
            continue;
        }
        lua_getfield(L, t, "repeating");
        bool repeat = lua_toboolean(L, -1);
        lua_pop(L, 1);
        if (repeat) {
            lua_getfield(L, t, "interval_ms");
            lua_getfield(L, t, "due_ms");
            int64_t next = (int64_t)lua_tointeger(L, -1) + (int64_t)lua_tointeger(L, -2);
            lua_pop(L, 2);
            if (next <= now) /* fell behind (a long callback): no burst of catch-up calls */
                next = now + 1;
            lua_pushinteger(L, next);
            lua_setfield(L, t, "due_ms");
        } else {
            lua_pushboolean(L, 0);
            lua_setfield(L, t, "active");
            lua_pushvalue(L, t);
            lua_pushnil(L);
            lua_rawset(L, timers);
        }
        lua_getfield(L, t, "fn");
        lua_pushvalue(L, t);
        lua_call(L, 1, 0);
        lua_pop(L, 1);
    }
    lua_settop(L, timers - 1);
}

/* ---- alerts ---- */

/* Calls the callbacks for the alert table on top (type, then "*"). */
static void dispatch(lua_State *L, int ses_idx)
{
    int alert = lua_gettop(L);
    push_state_field(L, ses_idx, "callbacks");
    int cbs = lua_gettop(L);
    const char *keys[2];
    lua_getfield(L, alert, "type");
    keys[0] = lua_tostring(L, -1);
    keys[1] = "*";
    for (int k = 0; k < 2; k++) {
        if (lua_getfield(L, cbs, keys[k]) != LUA_TTABLE) {
            lua_pop(L, 1);
            continue;
        }
        /* A snapshot of the list: a callback may add or remove others. */
        int list = lua_gettop(L);
        lua_Integer n = luaL_len(L, list);
        lua_createtable(L, (int)n, 0);
        int snap = lua_gettop(L);
        for (lua_Integer i = 1; i <= n; i++) {
            lua_rawgeti(L, list, i);
            lua_rawseti(L, snap, i);
        }
        for (lua_Integer i = 1; i <= n; i++) {
            lua_rawgeti(L, snap, i);
            lua_pushvalue(L, alert);
            lua_call(L, 1, 0);
        }
        lua_settop(L, list - 1);
    }
    lua_settop(L, alert);
}

static int safe_point(lua_State *L)
{
    (void)L;
    return 0;
}

int sw__lua_pump(lua_State *L, int ses_idx, int64_t timeout_ms, int mode)
{
    ses_idx = lua_absindex(L, ses_idx);
    sw_lua_session *ls = sw__lua_check_session(L, ses_idx);
    int64_t deadline = timeout_ms < 0 ? -1 : sw__lua_now_ms() + timeout_ms;
    /* At least one poll for alerts, and timers run after every wait, so
     * whatever fell due before the deadline is served before returning,
     * however late the thread woke up. */
    bool polled = false;
    for (;;) {
        /* A call at every turn: a hook set asynchronously (lua5.4's SIGINT
         * handler, cswarm run's) fires here even when no Lua code runs. */
        lua_pushcfunction(L, safe_point);
        lua_call(L, 0, 0);
        if (!ls->ses)
            return SW_LUA_PUMP_STOPPED; /* closed by a callback */
        run_timers(L, ses_idx);
        if (!ls->ses)
            return SW_LUA_PUMP_STOPPED;
        if (ls->stop && mode != SW_LUA_WAIT_SLEEP) {
            ls->stop = false;
            return SW_LUA_PUMP_STOPPED;
        }
        if (ls->batch && ls->next < ls->batch->count) {
            sw__lua_push_alert(L, ses_idx, ls->batch->alerts[ls->next++]);
            if (ls->next == ls->batch->count) {
                sw_alert_batch_free(ls->batch);
                ls->batch = NULL;
            }
            dispatch(L, ses_idx);
            if (mode == SW_LUA_WAIT_ALERT && ls->ses)
                return SW_LUA_PUMP_ALERT;
            lua_pop(L, 1);
            continue;
        }
        int64_t now = sw__lua_now_ms();
        if (deadline >= 0 && now >= deadline && polled)
            return SW_LUA_PUMP_TIMEOUT;
        polled = true;
        int64_t wait = deadline < 0 ? MAX_WAIT_MS : deadline - now;
        int64_t due = next_due(L, ses_idx);
        if (due >= 0 && due - now < wait)
            wait = due - now;
        if (wait < 0)
            wait = 0;
        if (wait > MAX_WAIT_MS)
            wait = MAX_WAIT_MS;
        if (ls->feed) {
            bool stopped = false;
            sw_alert_batch *batch = sw__lua_feed_take(ls->feed, wait, &stopped);
            if (batch && batch->count > 0) {
                ls->batch = batch;
                ls->next = 0;
                continue;
            }
            sw_alert_batch_free(batch);
            if (stopped)
                return SW_LUA_PUMP_STOPPED; /* the host has ended: waits are over */
        } else if (sw_session_wait_for_alert(ls->ses, (int)wait) == 0) {
            sw_alert_batch *batch = NULL;
            if (sw_session_pop_alerts(ls->ses, &batch) == 0 && batch && batch->count > 0) {
                ls->batch = batch;
                ls->next = 0;
                continue;
            }
            sw_alert_batch_free(batch);
        }
    }
}

/* ---- cswarm.sleep ---- */

/* Pushes a list of the open sessions (a snapshot); returns its length. */
static int live_sessions(lua_State *L)
{
    lua_newtable(L);
    int list = lua_gettop(L);
    int n = 0;
    if (lua_getfield(L, LUA_REGISTRYINDEX, SW_LUA_LIVE_KEY) == LUA_TTABLE) {
        lua_pushnil(L);
        while (lua_next(L, -2)) {
            lua_pop(L, 1);
            sw_lua_session *ls = luaL_testudata(L, -1, SW_LUA_SESSION_MT);
            if (ls && ls->ses) {
                lua_pushvalue(L, -1);
                lua_rawseti(L, list, ++n);
            }
        }
    }
    lua_settop(L, list);
    return n;
}

void sw__lua_sleep_all(lua_State *L, int64_t timeout_ms)
{
    int64_t deadline = sw__lua_now_ms() + (timeout_ms < 0 ? 0 : timeout_ms);
    for (;;) {
        int64_t left = deadline - sw__lua_now_ms();
        int n = live_sessions(L);
        int list = lua_gettop(L);
        if (n == 1) {
            /* One session: wait on it directly. */
            lua_rawgeti(L, list, 1);
            sw_lua_session *ls = sw__lua_to_session(L, -1);
            sw__lua_pump(L, -1, left < 0 ? 0 : left, SW_LUA_WAIT_SLEEP);
            lua_settop(L, list - 1);
            /* The host ended a hosted script's feed: sleeping is over. */
            if (sw__lua_now_ms() >= deadline || (ls->feed && sw__lua_feed_stopped(ls->feed)))
                return;
            continue; /* or a callback closed it */
        }
        if (n == 0) {
            lua_pop(L, 1);
            if (left <= 0)
                return;
            int64_t step = left < MAX_WAIT_MS ? left : MAX_WAIT_MS;
            struct timespec ts = {step / 1000, (long)(step % 1000) * 1000000L};
            nanosleep(&ts, NULL);
            lua_pushcfunction(L, safe_point);
            lua_call(L, 0, 0);
            continue;
        }
        /* Several sessions: serve each in turn in short slices. */
        int64_t slice = left < 20 ? (left < 0 ? 0 : left) : 20;
        for (int i = 1; i <= n; i++) {
            lua_rawgeti(L, list, i);
            sw_lua_session *ls = sw__lua_to_session(L, -1);
            if (ls->feed && sw__lua_feed_stopped(ls->feed)) {
                lua_settop(L, list - 1);
                return;
            }
            if (ls->ses)
                sw__lua_pump(L, -1, i == 1 ? slice : 0, SW_LUA_WAIT_SLEEP);
            lua_pop(L, 1);
        }
        lua_pop(L, 1);
        if (sw__lua_now_ms() >= deadline)
            return;
    }
}
