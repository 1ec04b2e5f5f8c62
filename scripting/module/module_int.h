/* Shared by the files of the cswarm Lua module (not installed). */
#ifndef SW_LUA_MODULE_INT_H
#define SW_LUA_MODULE_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <lauxlib.h>
#include <lua.h>

#include <cswarm/cswarm.h>

#define SW_LUA_SESSION_MT "cswarm.session"
#define SW_LUA_TORRENT_MT "cswarm.torrent"
#define SW_LUA_TIMER_MT "cswarm.timer"
/* Registry key of the weak table of live sessions (for cswarm.sleep). */
#define SW_LUA_LIVE_KEY "cswarm.live_sessions"

/* The userdata behind a session object. Its user value is a table holding
 * the Lua side: callbacks (by alert type name) and timers. */
typedef struct sw_lua_feed sw_lua_feed;

typedef struct sw_lua_session {
    sw_session *ses;   /* NULL once closed */
    bool borrowed;     /* owned by a host program: closing only detaches */
    sw_lua_feed *feed; /* borrowed: alerts come from the host, not the queue */
    bool stop;         /* ses:stop() asked the running wait to return */
    uint32_t alert_mask;
    sw_alert_batch *batch; /* popped alerts not yet handed to Lua */
    size_t next;           /* index of the next alert of batch */
} sw_lua_session;

/* The userdata behind a torrent handle; its user value is the session
 * object, which it keeps alive. */
typedef struct sw_lua_torrent {
    sw_torrent_handle h;
} sw_lua_torrent;

/* A session object at idx that is still open (raises otherwise). */
sw_lua_session *sw__lua_check_session(lua_State *L, int idx);
/* Any session object at idx, open or closed. */
sw_lua_session *sw__lua_to_session(lua_State *L, int idx);
/* Pushes a new session object (the caller fills it in). */
sw_lua_session *sw__lua_new_session(lua_State *L);
void sw__lua_session_register(lua_State *L);
/* ses:add_torrent (ladd.c). */
int sw__lua_session_add_torrent(lua_State *L);
/* ses:on/off/alerts/wait_for/run/stop/every/after (levents.c). */
extern const luaL_Reg sw__lua_session_event_methods[];
/* Shuts the session of the object at idx down (idempotent). */
void sw__lua_session_close(lua_State *L, sw_lua_session *ls);
/* Raises a Lua error naming a failed engine call. */
int sw__lua_fail(lua_State *L, int rc, const char *what);
/* Pushes nil, message, code (for expected failures). */
int sw__lua_push_failure(lua_State *L, int rc, const char *message);

/* Torrent handles (ltorrent.c). */
void sw__lua_torrent_register(lua_State *L);
/* Pushes a handle of the session object at ses_idx. */
void sw__lua_push_torrent(lua_State *L, int ses_idx, uint64_t id);
/* The handle at idx; raises if it is not one or its session is closed. */
sw_torrent_handle sw__lua_check_torrent(lua_State *L, int idx);
/* Splits "ip:port" or "[v6]:port" with a numeric address. */
bool sw__lua_parse_peer(const char *text, char ip[64], uint16_t *port);
/* A status as a table (field names as sw_torrent_status). */
void sw__lua_push_torrent_status(lua_State *L, const sw_torrent_status *st);

/* Settings (lsettings.c). */
/* Sets every key of the table at idx whose name is a setting; keys listed
 * in skip (NULL-terminated) are left out; any other key raises. */
void sw__lua_settings_from_table(lua_State *L, int idx, sw_settings *s, const char *const *skip);
void sw__lua_push_settings(lua_State *L, const sw_settings *s);
/* Pushes one setting's value; raises for an unknown name. */
void sw__lua_push_setting(lua_State *L, const sw_settings *s, const char *name);
/* An alert mask from an integer or a list of category names. */
uint32_t sw__lua_check_alert_mask(lua_State *L, int idx);

/* Alerts (lalert.c). */
void sw__lua_push_alert(lua_State *L, int ses_idx, const sw_alert *a);
/* Pushes cswarm.alert_fields: each mapped type's per-type field names. */
void sw__lua_push_alert_fields(lua_State *L);

/* IP and port filters (lfilter.c): the filter types, and the constructors
 * set into the module table at the top of the stack. */
void sw__lua_filter_register(lua_State *L);
/* ses:set_ip_filter/ip_filter/set_port_filter/port_filter. */
extern const luaL_Reg sw__lua_session_filter_methods[];

/* The DHT (ldht.c): ses:start_dht ... methods, and cswarm.dht_public_key
 * set into the module table at the top of the stack. */
extern const luaL_Reg sw__lua_session_dht_methods[];
void sw__lua_dht_register(lua_State *L);

/* The wait loop (lpump.c). */
enum sw_lua_pump_result { SW_LUA_PUMP_ALERT, SW_LUA_PUMP_TIMEOUT, SW_LUA_PUMP_STOPPED };
enum sw_lua_wait_mode {
    SW_LUA_WAIT_ALERT, /* return at the first alert (its table pushed) or ses:stop() */
    SW_LUA_WAIT_RUN,   /* alerts only go to callbacks; return at ses:stop() */
    SW_LUA_WAIT_SLEEP, /* alerts only go to callbacks; ses:stop() is left for others */
};
/* Waits on the session object at ses_idx up to timeout_ms (negative:
 * forever), running due timers and handing alerts to callbacks, as mode
 * says. Returns STOPPED also when a callback closed the session. Errors
 * raised by a callback or timer propagate. */
int sw__lua_pump(lua_State *L, int ses_idx, int64_t timeout_ms, int mode);
/* Waits timeout_ms, serving every live session's callbacks and timers. */
void sw__lua_sleep_all(lua_State *L, int64_t timeout_ms);
int64_t sw__lua_now_ms(void);
void sw__lua_timer_register(lua_State *L);
/* ses:every / ses:after. */
int sw__lua_add_timer(lua_State *L, bool repeat);

/* Hosted scripts (hosted.c): the next batch the host fed, waiting up to
 * wait_ms; NULL with *stopped once the host stopped the feed and it is
 * empty. */
sw_alert_batch *sw__lua_feed_take(sw_lua_feed *f, int64_t wait_ms, bool *stopped);
bool sw__lua_feed_stopped(sw_lua_feed *f);

#endif
