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

/* Sessions on 127.0.0.1 (any free port) for the tests that need peers or
 * the DHT: DHT nodes fit for sharing one address, no bootstrap router. */
static const char *const loopback_prelude =
    "cswarm = require 'cswarm'\n"
    "function loopback_session(t)\n"
    "  t = t or {}\n"
    "  t.listen_interfaces = '127.0.0.1:0'\n"
    "  t.dht_bootstrap_nodes = ''\n"
    "  t.dht_restrict_routing_ips = false\n"
    "  t.dht_restrict_search_ips = false\n"
    "  t.dht_enforce_node_id = false\n"
    "  t.dht_ignore_dark_internet = false\n"
    "  t.dht_block_ratelimit = 0\n"
    "  t.dht_upload_rate_limit = 0\n"
    "  return local_session(t)\n"
    "end\n"
    "function until_true(what, fn, seconds)\n"
    "  local deadline = cswarm.now() + (seconds or 20)\n"
    "  while not fn() do\n"
    "    if cswarm.now() > deadline then error('timed out waiting for ' .. what, 2) end\n"
    "    cswarm.sleep(0.02)\n"
    "  end\n"
    "end\n";

static lua_State *new_loopback_state(void)
{
    lua_State *L = new_state();
    run_ok(L, loopback_prelude);
    return L;
}

/* The download queue: positions follow up/down/top/bottom, status agrees,
 * auto-management turns on and off. */
static void test_queue(void **state)
{
    (void)state;
    lua_State *L = new_state();
    run_ok(L, "local s <close> = local_session{ listen = false }\n"
              "local t = {}\n"
              "for i, hex in ipairs{ '01', '02', '03' } do\n"
              "  t[i] = assert(s:add_torrent{ save_path = '.',\n"
              "    magnet = 'magnet:?xt=urn:btih:' .. string.rep(hex, 20) })\n"
              "end\n"
              "local function order()\n"
              "  local o = {}\n"
              "  for i, h in ipairs(t) do\n"
              "    assert(h:status().queue_position == h:queue_position())\n"
              "    o[h:queue_position() + 1] = i\n"
              "  end\n"
              "  return table.concat(o, ',')\n"
              "end\n"
              "assert(order() == '1,2,3', order())\n"
              "assert(t[3]:queue_position_top() == t[3])\n"
              "assert(order() == '3,1,2', order())\n"
              "t[3]:queue_position_bottom()\n"
              "assert(order() == '1,2,3', order())\n"
              "t[1]:queue_position_down()\n"
              "assert(order() == '2,1,3', order())\n"
              "t[3]:queue_position_up()\n"
              "assert(order() == '2,3,1', order())\n"
              "t[2]:queue_position_up()\n"
              "assert(order() == '2,3,1', 'the front cannot move up')\n"
              "local st = t[1]:status()\n"
              "assert(st.seed_rank == 0 and st.auto_managed == false)\n"
              "assert(t[1]:set_auto_managed(true) == t[1])\n"
              "assert(t[1]:status().auto_managed == true)\n"
              "t[1]:set_auto_managed(false)\n"
              "assert(t[1]:status().auto_managed == false)\n"
              "local ok, msg = pcall(t[1].set_auto_managed, t[1], 'yes')\n"
              "assert(not ok and msg:find('boolean expected'), msg)\n"
              /* a removed torrent leaves no gap */
              "s:remove(t[2])\n"
              "assert(t[3]:queue_position() == 0 and t[1]:queue_position() == 1)\n"
              "ok, msg = pcall(t[2].queue_position, t[2])\n"
              "assert(not ok and msg:find('invalid or expired handle'), msg)\n");
    lua_close(L);
}

/* Per-torrent limits read back through the getters and the status, from
 * add_torrent's parameters and from the setters. */
static void test_torrent_limits(void **state)
{
    (void)state;
    lua_State *L = new_state();
    run_ok(L, "local s <close> = local_session{ listen = false }\n"
              "local t = assert(s:add_torrent{ save_path = '.',\n"
              "  magnet = 'magnet:?xt=urn:btih:' .. string.rep('0a', 20),\n"
              "  upload_limit = 4000, download_limit = 5000, max_uploads = 3,\n"
              "  max_connections = 7 })\n"
              "assert(t:upload_limit() == 4000, t:upload_limit())\n"
              "assert(t:download_limit() == 5000)\n"
              "assert(t:max_uploads() == 3 and t:max_connections() == 7)\n"
              "t:set_upload_limit(1000):set_download_limit(2000)\n"
              "t:set_max_uploads(5):set_max_connections(9)\n"
              "assert(t:upload_limit() == 1000 and t:download_limit() == 2000)\n"
              "assert(t:max_uploads() == 5 and t:max_connections() == 9)\n"
              "local st = t:status()\n"
              "assert(st.upload_limit == 1000 and st.download_limit == 2000)\n"
              "assert(st.max_uploads == 5 and st.max_connections == 9)\n"
              "t:set_max_connections(-1)\n"
              "assert(t:max_connections() == -1)\n"
              "local ok, msg = pcall(t.set_upload_limit, t, -5)\n"
              "assert(not ok and msg:find('out of range'), msg)\n");
    lua_close(L);
}

/* Status tables carry every field, the DHT and uTP figures nested. */
static void test_status_fields(void **state)
{
    (void)state;
    lua_State *L = new_state();
    run_ok(L, "local cswarm = require 'cswarm'\n"
              "local s <close> = local_session{ listen = false }\n"
              "local st = s:status()\n"
              "for _, k in ipairs{ 'upload_rate', 'download_rate', 'payload_upload_rate',\n"
              "    'payload_download_rate', 'ip_overhead_upload_rate',\n"
              "    'ip_overhead_download_rate', 'tracker_upload_rate', 'tracker_download_rate',\n"
              "    'total_download', 'total_upload', 'total_payload_download',\n"
              "    'total_payload_upload', 'total_ip_overhead_download',\n"
              "    'total_ip_overhead_upload', 'total_tracker_download', 'total_tracker_upload',\n"
              "    'total_redundant_bytes', 'total_failed_bytes', 'num_peers', 'num_half_open',\n"
              "    'num_unchoked', 'allowed_upload_slots', 'optimistic_unchoke_counter',\n"
              "    'unchoke_counter', 'disk_write_queue', 'disk_read_queue', 'disk_queued_jobs',\n"
              "    'peerlist_size', 'num_torrents', 'up_bandwidth_queue', 'down_bandwidth_queue',\n"
              "    'up_bandwidth_bytes_queue', 'down_bandwidth_bytes_queue', 'disk_queued_bytes' } do\n"
              "  assert(math.type(st[k]) == 'integer', k)\n"
              "end\n"
              "assert(type(st.has_incoming_connections) == 'boolean')\n"
              "for _, k in ipairs{ 'nodes', 'node_cache', 'torrents', 'global_nodes', 'lookups',\n"
              "    'buckets', 'total_allocations', 'upload_rate', 'download_rate',\n"
              "    'total_upload', 'total_download' } do\n"
              "  assert(st.dht[k] == 0, 'dht.' .. k .. ' of a session without DHT')\n"
              "end\n"
              "for _, k in ipairs{ 'num_idle', 'num_syn_sent', 'num_connected', 'num_fin_sent',\n"
              "    'num_close_wait', 'packets_in', 'packets_out', 'payload_pkts_in',\n"
              "    'payload_pkts_out', 'packet_loss', 'packet_resend', 'fast_retransmit',\n"
              "    'timeout', 'invalid_pkts_in', 'redundant_pkts_in', 'samples_above_target',\n"
              "    'samples_below_target', 'mtu_probes', 'mtu_probes_lost', 'mtu_probes_toobig' } do\n"
              "  assert(math.type(st.utp[k]) == 'integer', 'utp.' .. k)\n"
              "end\n"
              "local t = assert(s:add_torrent{ save_path = '.',\n"
              "  magnet = 'magnet:?xt=urn:btih:' .. string.rep('0b', 20) })\n"
              "local ts = t:status()\n"
              "assert(ts.queue_position == 0 and ts.seed_rank == 0)\n"
              "assert(ts.share_mode == false and ts.super_seeding == false)\n"
              "assert(s:status().num_torrents == 1 and ts.id == t:id())\n"
              /* state_update names each torrent; unsubscribed ones are left out */
              "local quiet = assert(s:add_torrent{ save_path = '.', update_subscribe = false,\n"
              "  magnet = 'magnet:?xt=urn:btih:' .. string.rep('0c', 20) })\n"
              "t:pause(); quiet:pause() -- a change for both to report\n"
              "s:post_torrent_updates()\n"
              "local up = s:wait_for('state_update', 10)\n"
              "assert(up and #up.status == 1, 'state_update')\n"
              "assert(up.status[1].torrent == t and up.status[1].id == t:id())\n"
              "assert(up.status[1].info_hash == string.rep('0b', 20))\n"
              /* every alert type of this build is mapped to its fields */
              "for _, name in ipairs(cswarm.alert_types) do\n"
              "  assert(type(cswarm.alert_fields[name]) == 'table', 'unmapped alert ' .. name)\n"
              "end\n"
              "assert(#cswarm.alert_types > 50)\n"
              "local f = table.concat(cswarm.alert_fields.dht_mutable_item, ',')\n"
              "assert(f:find('public_key') and f:find('signature') and f:find('seq'), f)\n"
              "assert(cswarm.alert_fields.peer_blocked[1] == 'ip')\n");
    lua_close(L);
}

/* Filter objects by themselves: rules, lookups, range lists, export, and
 * the session's copies. */
static void test_filter_objects(void **state)
{
    (void)state;
    lua_State *L = new_state();
    run_ok(L, "local cswarm = require 'cswarm'\n"
              "local f = cswarm.ip_filter()\n"
              "assert(not f:is_blocked('10.1.2.3') and f:access('10.1.2.3') == 0)\n"
              "assert(f:block('10.0.0.0', '10.255.255.255') == f)\n"
              "f:allow('10.0.0.7')\n"
              "f:add_rule('fe80::', 'fe80::ffff', cswarm.FILTER_BLOCKED)\n"
              "assert(f:is_blocked('10.1.2.3') and not f:is_blocked('10.0.0.7'))\n"
              "assert(f:access('10.1.2.3') == cswarm.FILTER_BLOCKED)\n"
              "assert(f:is_blocked('fe80::1') and not f:is_blocked('::1'))\n"
              "local r = f:load('# a comment\\n1.2.3.0 - 1.2.3.255 , 0 , x\\nnot a rule\\n'\n"
              "                 .. 'bad:5.6.7.8-5.6.7.9\\n')\n"
              "assert(r.rules == 2 and r.malformed == 1 and r.first_bad_line == 3)\n"
              "assert(f:is_blocked('1.2.3.4') and f:is_blocked('5.6.7.9'))\n"
              "local ranges = f:export(4)\n"
              "local blocked = {}\n"
              "for _, x in ipairs(ranges) do\n"
              "  if x.blocked then blocked[#blocked + 1] = x.first .. '-' .. x.last end\n"
              "end\n"
              "assert(table.concat(blocked, ' ') == '1.2.3.0-1.2.3.255 5.6.7.8-5.6.7.9 '\n"
              "  .. '10.0.0.0-10.0.0.6 10.0.0.8-10.255.255.255', table.concat(blocked, ' '))\n"
              "assert(ranges[1].first == '0.0.0.0' and ranges[#ranges].last == '255.255.255.255')\n"
              "assert(#f:export(6) == 3)\n"
              "local g = f:clone(); g:allow('1.2.3.4')\n"
              "assert(f:is_blocked('1.2.3.4') and not g:is_blocked('1.2.3.4'))\n"
              "assert(cswarm.ip_filter('1.1.1.1 - 1.1.1.2'):is_blocked('1.1.1.2'))\n"
              "local ok, msg = pcall(f.block, f, 'nonsense')\n"
              "assert(not ok and msg:find('bad address range'), msg)\n"
              "ok, msg = pcall(f.block, f, '10.0.0.9', '10.0.0.1')\n"
              "assert(not ok, 'first > last')\n"
              "ok, msg = pcall(f.block, f, '10.0.0.1', '::1')\n"
              "assert(not ok, 'mixed families')\n"
              "ok, msg = pcall(f.access, f, 'x')\n"
              "assert(not ok and msg:find('not a numeric address'), msg)\n"
              "local p = cswarm.port_filter()\n"
              "assert(p:block(1, 1023) == p and p:is_blocked(80) and not p:is_blocked(1024))\n"
              "p:allow(443)\n"
              "assert(not p:is_blocked(443) and p:access(22) == cswarm.FILTER_BLOCKED)\n"
              "assert(#p:export() == 5 and p:export()[2].first == 1 and p:export()[2].blocked)\n"
              "ok, msg = pcall(p.block, p, 70000)\n"
              "assert(not ok and msg:find('port out of range'), msg)\n"
              "local s <close> = local_session{ listen = false }\n"
              "assert(not s:ip_filter():is_blocked('1.2.3.4'))\n"
              "s:set_ip_filter(f)\n"
              "f:allow('1.2.3.4')\n"
              "assert(s:ip_filter():is_blocked('1.2.3.4'), 'the session keeps its own copy')\n"
              "s:set_ip_filter(nil)\n"
              "assert(not s:ip_filter():is_blocked('1.2.3.4'))\n"
              "s:set_port_filter(p)\n"
              "assert(s:port_filter():is_blocked(80))\n"
              "s:set_port_filter()\n"
              "assert(not s:port_filter():is_blocked(80))\n"
              "ok, msg = pcall(s.set_ip_filter, s, p)\n"
              "assert(not ok and msg:find('cswarm.ip_filter expected'), msg)\n");
    lua_close(L);
}

/* An IP filter set from Lua refuses a peer dialling in and a peer the
 * session would dial; a port filter refuses the dial too; the script sees
 * each refusal as a peer_blocked alert. */
static void test_filter_blocks_peers(void **state)
{
    (void)state;
    lua_State *L = new_loopback_state();
    run_ok(L, "local a <close> = loopback_session{ alert_mask = 'error' }\n"
              "local b <close> = loopback_session{ alert_mask = 'error' }\n"
              "local seen = {}\n"
              "a:on('peer_blocked', function(al) seen[#seen + 1] = al end)\n"
              "assert(a:alert_mask() & cswarm.alert_category.ip_block ~= 0)\n"
              "a:set_ip_filter(cswarm.ip_filter():block('127.0.0.1'))\n"
              "local link = 'magnet:?xt=urn:btih:' .. string.rep('cd', 20)\n"
              /* b dials a: a closes the connection at accept */
              "assert(b:add_torrent{ magnet = link, save_path = '.',\n"
              "  peers = { '127.0.0.1:' .. a:listen_port() } })\n"
              "local al = a:wait_for('peer_blocked', 20)\n"
              "assert(al, 'no peer_blocked for the incoming peer')\n"
              "assert(al.ip == '127.0.0.1' and al.reason == 0, al.message)\n"
              "assert(al.category & cswarm.alert_category.ip_block ~= 0)\n"
              "assert(#seen >= 1 and seen[1].ip == '127.0.0.1', 'callback not called')\n"
              /* a dials b: refused before dialling, with a's torrent named */
              "local t = assert(a:add_torrent{ magnet = link, save_path = '.' })\n"
              "t:connect_peer('127.0.0.1', b:listen_port())\n"
              "repeat al = a:wait_for('peer_blocked', 20)\n"
              "until al == nil or al.torrent == t\n"
              "assert(al and al.port == b:listen_port() and al.reason == 0)\n"
              "assert(al.info_hash == string.rep('cd', 20))\n"
              "assert(#t:peers() == 0)\n"
              /* a port filter instead: reason 1 (port_filter) */
              "a:set_ip_filter(nil)\n"
              "a:set_port_filter(cswarm.port_filter():block(b:listen_port()))\n"
              "t:connect_peer('127.0.0.1:' .. b:listen_port())\n"
              "repeat al = a:wait_for('peer_blocked', 20)\n"
              "until al == nil or al.reason == 1\n"
              "assert(al and al.port == b:listen_port(), 'no port_filter refusal')\n");
    lua_close(L);
}

/* Three sessions on 127.0.0.1 form a DHT (explicit nodes only); one puts
 * an immutable and a mutable item, another gets both, all from one
 * script through the item methods and their alerts. */
static void test_dht_items(void **state)
{
    (void)state;
    lua_State *L = new_loopback_state();
    run_ok(L, "local mask = 'error,status,dht'\n"
              "local a <close> = loopback_session{ alert_mask = mask }\n"
              "local b <close> = loopback_session{ alert_mask = mask }\n"
              "local c <close> = loopback_session{ alert_mask = mask }\n"
              "assert(not a:is_dht_running())\n"
              "local ok, msg, code = a:dht_put_immutable('1:x')\n"
              "assert(ok == nil and code == cswarm.errors.DHT_NOT_RUNNING, msg)\n"
              "for _, s in ipairs{ a, b, c } do assert(s:start_dht()) end\n"
              "assert(a:is_dht_running())\n"
              "b:add_dht_node('127.0.0.1:' .. a:listen_port())\n"
              "c:add_dht_node('127.0.0.1', a:listen_port())\n"
              "for _, s in ipairs{ a, b, c } do\n"
              "  until_true('DHT nodes', function() return s:status().dht.nodes >= 2 end)\n"
              "end\n"
              "local st = a:status()\n"
              "assert(st.dht.buckets >= 1 and st.dht.total_upload > 0)\n"
              "local nodes = 0\n"
              "for _, bk in ipairs(a:dht_routing_table()) do nodes = nodes + bk.num_nodes end\n"
              "assert(nodes == st.dht.nodes)\n"
              "assert(type(a:dht_lookups()) == 'table')\n"
              /* immutable: BEP 44's test vector */
              "local target = assert(a:dht_put_immutable('12:Hello World!'))\n"
              "assert(target == 'e5f96f6f38320f0f33959cb4d3d656452117aadb', target)\n"
              "local put\n"
              "repeat put = a:wait_for('dht_put', 20)\n"
              "until put == nil or put.target == target\n"
              "assert(put and put.num_success > 0 and put.public_key == nil)\n"
              "assert(c:dht_get_immutable(target))\n"
              "local got = c:wait_for('dht_immutable_item', 20)\n"
              "assert(got and got.target == target and got.value == '12:Hello World!')\n"
              "assert(c:dht_get_immutable(string.rep('42', 20)))\n"
              "got = c:wait_for('dht_immutable_item', 20)\n"
              "assert(got and got.value == nil, 'found an item nobody stored')\n"
              /* BEP 33 scrape of a torrent nobody announced: zero estimates */
              "assert(c:dht_scrape(string.rep('42', 20)))\n"
              "local sc = c:wait_for('dht_scrape', 20)\n"
              "assert(sc and sc.target == string.rep('42', 20), sc and sc.message)\n"
              "assert(sc.seeds == 0 and sc.downloaders == 0, sc.message)\n"
              /* mutable, with a salt */
              "local sk = string.rep('07', 32)\n"
              "local pk = cswarm.dht_public_key(sk)\n"
              "assert(#pk == 64 and pk == cswarm.dht_public_key(('\\7'):rep(32)))\n"
              "assert(b:dht_put_mutable{ private_key = sk, salt = 'foobar', value = '4:abcd',\n"
              "                          seq = 1 })\n"
              "repeat put = b:wait_for('dht_put', 20)\n"
              "until put == nil or put.public_key\n"
              "assert(put and put.public_key == pk and put.salt == 'foobar' and put.seq == 1)\n"
              "assert(put.num_success > 0, put.message)\n"
              "assert(c:dht_get_mutable(pk, 'foobar'))\n"
              "got = c:wait_for('dht_mutable_item', 20)\n"
              "assert(got and got.value == '4:abcd' and got.seq == 1, got and got.message)\n"
              "assert(got.public_key == pk and got.salt == 'foobar' and #got.signature == 128)\n"
              /* misuse raises; an oversized salt is the engine's refusal */
              "ok, msg = pcall(c.dht_get_mutable, c, 'abc')\n"
              "assert(not ok and msg:find('64 hex digits'), msg)\n"
              "ok, msg = pcall(b.dht_put_mutable, b, { private_key = sk })\n"
              "assert(not ok and msg:find('value'), msg)\n"
              "ok, msg, code = c:dht_get_mutable(pk, string.rep('s', 65))\n"
              "assert(ok == nil and code == cswarm.errors.DHT_SALT_TOO_LARGE, msg)\n"
              "ok, msg = pcall(c.add_dht_node, c, 'nonsense')\n"
              "assert(not ok and msg:find('host:port'), msg)\n"
              "c:stop_dht()\n"
              "assert(not c:is_dht_running() and c:status().dht.nodes == 0)\n");
    lua_close(L);
}

/* A plugin's own alert (plugin_alert) reaches the script with the
 * plugin's name and path. */
static void test_plugin_alert(void **state)
{
    (void)state;
    lua_State *L = new_state();
    run_ok(L, "local path = os.tmpname() .. '.lua'\n"
              "local f = assert(io.open(path, 'w'))\n"
              "f:write('return { name = \"pinger\", session = { added = function()\\n',\n"
              "        '  sw.alert(\"hello\") end } }\\n')\n"
              "f:close()\n"
              "local s <close> = local_session{ listen = false, alert_mask = 'error' }\n"
              "local seen\n"
              "s:on('plugin_alert', function(a) seen = a end)\n"
              "local ok, msg = s:load_plugin(path)\n"
              "os.remove(path)\n"
              "assert(ok, msg)\n"
              "local a = s:wait_for('plugin_alert', 10)\n"
              "assert(a and a.name == 'pinger' and a.path == path, a and a.message)\n"
              "assert(a.message:find('[pinger] hello', 1, true), a.message)\n"
              "assert(seen and seen.name == 'pinger')\n");
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
        cmocka_unit_test(test_queue),
        cmocka_unit_test(test_torrent_limits),
        cmocka_unit_test(test_status_fields),
        cmocka_unit_test(test_filter_objects),
        cmocka_unit_test(test_filter_blocks_peers),
        cmocka_unit_test(test_dht_items),
        cmocka_unit_test(test_plugin_alert),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
