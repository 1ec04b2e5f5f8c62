/* The cswarm Lua module as lua5.4 loads it (require "cswarm" finds
 * <build>/lua/cswarm.so), in a lua_State of this test: settings conversion
 * and errors, timers and the wait loop (ordering, cancel, stop, timeouts),
 * callbacks and the alert mask, closed sessions, add_torrent's expected
 * failures. No peers: sessions listen on nothing or on 127.0.0.1. (Running
 * script files, `cswarm run`, is tested by tests/interop/test_lua_scripts.py.) */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <lauxlib.h>
#include <lualib.h>

/* <build>/lua/?.so, from this program's path <build>/tests/test_lua_module. */
static char module_cpath[4096];

static void find_module(void)
{
    char exe[4000];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    assert_true(n > 0);
    exe[n] = '\0';
    for (int i = 0; i < 2; i++) {
        char *slash = strrchr(exe, '/');
        assert_non_null(slash);
        *slash = '\0';
    }
    snprintf(module_cpath, sizeof module_cpath, "%s/lua/?.so", exe);
}

static lua_State *new_state(void)
{
    lua_State *L = luaL_newstate();
    assert_non_null(L);
    luaL_openlibs(L);
    lua_getglobal(L, "package");
    lua_pushstring(L, module_cpath);
    lua_setfield(L, -2, "cpath");
    lua_pop(L, 1);
    /* local_session{...}: cswarm.session with DHT, LSD, UPnP and NAT-PMP
     * off, so nothing leaves the machine. */
    if (luaL_dostring(L, "local cswarm = require 'cswarm'\n"
                         "function local_session(t)\n"
                         "  t.start_default_features = false\n"
                         "  for _, k in ipairs{'enable_dht', 'enable_lsd', 'enable_upnp',\n"
                         "                     'enable_natpmp'} do\n"
                         "    if t[k] == nil then t[k] = false end\n"
                         "  end\n"
                         "  return cswarm.session(t)\n"
                         "end\n") != LUA_OK)
        fail_msg("require: %s", lua_tostring(L, -1));
    return L;
}

/* Runs chunk; returns NULL on success or the error text (static copy). */
static const char *run(lua_State *L, const char *chunk)
{
    static char err[1024];
    if (luaL_loadbuffer(L, chunk, strlen(chunk), "=chunk") != LUA_OK ||
        lua_pcall(L, 0, 0, 0) != LUA_OK) {
        snprintf(err, sizeof err, "%s", lua_tostring(L, -1));
        lua_pop(L, 1);
        return err;
    }
    return NULL;
}

static void run_ok(lua_State *L, const char *chunk)
{
    const char *err = run(L, chunk);
    if (err)
        fail_msg("%s", err);
}

static void run_fails(lua_State *L, const char *chunk, const char *expect)
{
    const char *err = run(L, chunk);
    assert_non_null(err);
    if (!strstr(err, expect))
        fail_msg("'%s' not in '%s'", expect, err);
}

static void test_settings(void **state)
{
    (void)state;
    lua_State *L = new_state();
    run_ok(L, "local cswarm = require 'cswarm'\n"
              "local s = local_session{ listen = false, enable_dht = false,\n"
              "  upload_rate_limit = 1000, user_agent = 'x/1' }\n"
              "assert(s:settings('upload_rate_limit') == 1000)\n"
              "assert(s:settings('enable_dht') == false)\n"
              "local all = s:settings()\n"
              "assert(all.user_agent == 'x/1' and all.download_rate_limit == 0)\n"
              "s:apply_settings{ download_rate_limit = 5 }\n"
              "assert(s:settings().download_rate_limit == 5)\n"
              "assert(s:settings('upload_rate_limit') == 1000, 'others keep their values')\n"
              "local saved = s:save_state()\n"
              "assert(saved:find('upload_rate_limit', 1, true))\n"
              "local t = local_session{ listen = false }\n"
              "assert(t:load_state(saved))\n"
              "assert(t:settings('download_rate_limit') == 5)\n"
              "local ok, msg, code = t:load_state('not bencode')\n"
              "assert(ok == nil and type(msg) == 'string' and code < 0)\n"
              "assert(cswarm.settings_defaults().upload_rate_limit == 0)\n"
              "s:close(); t:close()\n");
    run_fails(L, "local_session{ listen = false, enable_dht = 'no' }",
              "setting 'enable_dht' wants a boolean, got string");
    run_fails(L, "local_session{ listen = false, upload_rate_limit = 1.5 }",
              "setting 'upload_rate_limit' wants an integer");
    run_fails(L, "local_session{ listen = false, user_agent = 3 }",
              "setting 'user_agent' wants a string");
    run_fails(L, "local_session{ listen = false, nope = 1 }", "unknown setting 'nope'");
    run_fails(L, "local_session{ listen = false, [1] = true }", "settings are named by strings");
    run_fails(L, "local_session{ listen = false, alert_mask = 'bogus' }", "unknown alert category");
    lua_close(L);
}

static void test_timers_and_waits(void **state)
{
    (void)state;
    lua_State *L = new_state();
    run_ok(L,
           "local cswarm = require 'cswarm'\n"
           "local s <close> = local_session{ listen = false, alert_mask = 'error' }\n"
           "local log = {}\n"
           "s:after(0.06, function() log[#log + 1] = 'b' end)\n"
           "s:after(0.02, function() log[#log + 1] = 'a' end)\n"
           "local n = 0\n"
           "local every = s:every(0.01, function(t) n = n + 1; if n == 3 then t:cancel() end end)\n"
           "local never = s:after(0.03, function() error('cancelled timer ran') end)\n"
           "never:cancel()\n"
           "cswarm.sleep(0.15)\n"
           "assert(table.concat(log) == 'ab', table.concat(log))\n"
           "assert(n == 3, 'every ran ' .. n)\n"
           /* ses:run ends at ses:stop() from a timer, or at its timeout */
           "s:after(0.02, function() s:stop() end)\n"
           "local t0 = cswarm.now()\n"
           "assert(s:run(5) == true)\n"
           "assert(cswarm.now() - t0 < 2)\n"
           "t0 = cswarm.now()\n"
           "assert(s:run(0.1) == false)\n"
           "assert(cswarm.now() - t0 >= 0.09)\n"
           /* the iterator ends after its timeout without alerts */
           "t0 = cswarm.now()\n"
           "local count = 0\n"
           "for a in s:alerts(0.1) do count = count + 1 end\n"
           "assert(count == 0 and cswarm.now() - t0 >= 0.09)\n"
           "assert(s:wait_for('torrent_finished', 0.05) == nil)\n"
           /* a stop asked before sleeping is kept for run() */
           "s:stop(); cswarm.sleep(0.01)\n"
           "assert(s:run(5) == true)\n");
    lua_close(L);
}

static void test_callbacks(void **state)
{
    (void)state;
    lua_State *L = new_state();
    /* listen_succeeded is a status alert: on() must get it delivered even
     * with a mask that has no status bit. */
    run_ok(L, "local cswarm = require 'cswarm'\n"
              "local s <close> = local_session{ listen = false, alert_mask = 'error' }\n"
              "local got, all = nil, 0\n"
              "local fn = s:on('listen_succeeded', function(a) got = a end)\n"
              "s:on('*', function(a) all = all + 1 end)\n"
              "assert(s:alert_mask() & cswarm.alert_category.status ~= 0)\n"
              "assert(s:listen_on(0, 0, '127.0.0.1'))\n"
              "local a = s:wait_for('listen_succeeded', 10)\n"
              "assert(a and a.type == 'listen_succeeded' and a.ip == '127.0.0.1')\n"
              "assert(a.port == s:listen_port())\n"
              "assert(got and got.port == a.port and all >= 1)\n"
              "s:off('listen_succeeded', fn)\n"
              "got = nil\n"
              "assert(s:listen_on(0, 0, '127.0.0.1'))\n"
              "assert(s:wait_for('listen_succeeded', 10))\n"
              "assert(got == nil, 'removed callback ran')\n");
    run_fails(L,
              "local s = local_session{ listen = false }\n"
              "s:on('no_such_alert', print)",
              "unknown alert type 'no_such_alert'");
    lua_close(L);
}

static void test_closed_session(void **state)
{
    (void)state;
    lua_State *L = new_state();
    run_ok(L, "local cswarm = require 'cswarm'\n"
              "local s = local_session{ listen = false }\n"
              "assert(s:is_open())\n"
              "s:close(); s:close()\n"
              "assert(not s:is_open() and tostring(s) == 'cswarm.session(closed)')\n"
              "local ok, msg = pcall(s.torrents, s)\n"
              "assert(not ok and msg:find('session is closed'))\n"
              "local it = s.alerts\n"
              /* sessions dropped without close are collected */
              "local fired = false\n"
              "local s2 = local_session{ listen = false }\n"
              "s2:after(0, function() fired = true end)\n"
              "s2:close()\n"
              "cswarm.sleep(0.05)\n"
              "assert(not fired, 'a closed session ran a timer')\n"
              "for i = 1, 3 do local_session{ listen = false } end\n"
              "collectgarbage(); collectgarbage()\n");
    run_fails(L,
              "local s = local_session{ listen = false }\n"
              "s:close()\n"
              "s:add_torrent{ ti = 'x', save_path = '.' }",
              "session is closed");
    run_fails(L,
              "local s <close> = local_session{ listen = false }\n"
              "s:add_torrent{ save_path = '.' }",
              "give exactly one of ti, torrent_data, magnet, url");
    run_fails(L,
              "local s <close> = local_session{ listen = false }\n"
              "s:add_torrent{ ti = 'x' }",
              "save_path is required");
    run_ok(
        L,
        "local s <close> = local_session{ listen = false }\n"
        "local h, msg, code = s:add_torrent{ magnet = 'magnet:?xt=urn:btih:zz', save_path = '.' }\n"
        "assert(h == nil and msg and code < 0)\n"
        "h, msg, code = s:add_torrent{ url = 'ftp://example/x.torrent', save_path = '.' }\n"
        "assert(h == nil and msg:find('only http', 1, true))\n"
        "h, msg = s:add_torrent{ torrent_data = 'd4:infoe', save_path = '.' }\n"
        "assert(h == nil and msg)\n");
    /* Bad peers or trackers are refused before anything is added. */
    run_ok(L, "local s <close> = local_session{ listen = false }\n"
              "local link = 'magnet:?xt=urn:btih:' .. string.rep('ab', 20)\n"
              "local ok, msg = pcall(s.add_torrent, s, { magnet = link, save_path = '.',\n"
              "                                          peers = { 'example.org:80' } })\n"
              "assert(not ok and msg:find('numeric address'), msg)\n"
              "ok, msg = pcall(s.add_torrent, s, { magnet = link, save_path = '.',\n"
              "                                    trackers = { 'ftp://x/announce' } })\n"
              "assert(not ok and msg:find('udp URL'), msg)\n"
              "assert(#s:torrents() == 0, 'added anyway')\n"
              "local h = assert(s:add_torrent{ magnet = link, save_path = '.',\n"
              "  peers = { '127.0.0.1:1', '[::1]:2' }, trackers = { 'udp://127.0.0.1:1/a' } })\n"
              "assert(#s:torrents() == 1 and h:status().state == 'downloading_metadata')\n"
              "assert(h:torrent_file() == nil)\n"
              "assert(h:trackers()[1].url == 'udp://127.0.0.1:1/a')\n"
              "ok, msg = pcall(h.connect_peer, h, 'nonsense')\n"
              "assert(not ok and msg:find('numeric address'), msg)\n"
              "s:remove(h)\n");
    lua_close(L);
}

int main(void)
{
    find_module();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_settings),
        cmocka_unit_test(test_timers_and_waits),
        cmocka_unit_test(test_callbacks),
        cmocka_unit_test(test_closed_session),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
