/* Lua plugins (scripting/plugin, loaded through sw_session_load_plugin):
 * hooks at the three levels fire with the right arguments on a real
 * transfer between two sessions (views of torrents and peers, an extension
 * of the script's own with bencoded messages, block and piece hooks); a
 * runtime error disables only that plugin with a plugin_error alert naming
 * file, line and message; the instruction limit stops a runaway hook even
 * when the script catches errors; the memory limit stops a hungry one; the
 * sandbox removes io, os, package, debug and load; a view kept past its
 * peer raises instead of touching freed memory; malformed files are
 * refused with clear messages. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include <cswarm/cswarm.h>

#include "plugin_fixture.h"
#include "session_fixture.h"

/* ---- helpers ---- */

static char *write_script(const sfx_dir *dir, const char *name, const char *text)
{
    char *path = fx_path(dir->path, name);
    sfx_write_file(path, text, strlen(text));
    return path;
}

static void load_ok(sw_session *ses, const char *path)
{
    sw_error_detail err;
    memset(&err, 0, sizeof err);
    int rc = sw_session_load_plugin(ses, path, &err);
    if (rc != 0)
        fail_msg("loading %s: %d %s", path, rc, err.message);
}

static void expect_refused(sw_session *ses, const char *path, int code, const char *needle)
{
    sw_error_detail err;
    memset(&err, 0, sizeof err);
    int rc = sw_session_load_plugin(ses, path, &err);
    if (rc != code || !strstr(err.message, needle))
        fail_msg("%s: got %d \"%s\", expected %d with \"%s\"", path, rc, err.message, code, needle);
}

static bool has_plugin(sw_session *ses, const char *name)
{
    char *names = NULL;
    assert_int_equal(sw_session_plugin_names(ses, &names), 0);
    bool found = false;
    for (char *save = NULL, *tok = strtok_r(names, ",", &save); tok && !found;
         tok = strtok_r(NULL, ",", &save))
        found = strcmp(tok, name) == 0;
    free(names);
    return found;
}

/* The plugin_alert messages a session posted, in order, kept as popped. */
#define MAX_MSGS 4000
typedef struct msg_log {
    char *v[MAX_MSGS];
    int n;
} msg_log;

static void log_free(msg_log *l)
{
    for (int i = 0; i < l->n; i++)
        free(l->v[i]);
    l->n = 0;
}

static const char *log_find(const msg_log *l, const char *needle)
{
    for (int i = 0; i < l->n; i++)
        if (strstr(l->v[i], needle))
            return l->v[i];
    return NULL;
}

/* Pops alerts of type into l until one contains needle; returns it. */
static const char *wait_type_msg(sw_session *ses, msg_log *l, sw_alert_type type,
                                 const char *needle)
{
    const char *found = log_find(l, needle);
    uint64_t deadline = sfx_now_ms() + SFX_WAIT_MS;
    while (!found && sfx_now_ms() < deadline) {
        sw_alert *a = sfx_wait_alert(ses, type, 0, 500);
        if (!a)
            continue;
        if (l->n < MAX_MSGS)
            l->v[l->n++] = strdup(a->message);
        if (strstr(a->message, needle))
            found = l->v[l->n - 1];
        sw_alert_free(a);
    }
    if (!found) {
        for (int i = 0; i < l->n && i < 60; i++)
            fprintf(stderr, "  [%d] %s\n", i, l->v[i]);
        fail_msg("no alert with \"%s\"", needle);
    }
    return found;
}

/* The same for plugin_alert alerts (sw.alert, t:alert). */
static const char *wait_msg(sw_session *ses, msg_log *l, const char *needle)
{
    return wait_type_msg(ses, l, SW_ALERT_PLUGIN_ALERT, needle);
}

/* Waits for a plugin_error alert and checks its message and path. */
static void expect_disabled(sw_session *ses, const char *needle, const char *path)
{
    sw_alert *a = sfx_wait_alert(ses, SW_ALERT_PLUGIN_ERROR, 0, SFX_WAIT_MS);
    assert_non_null(a);
    if (!strstr(a->message, needle))
        fail_msg("plugin_error \"%s\" lacks \"%s\"", a->message, needle);
    assert_true(a->error < 0);
    assert_non_null(a->payload.plugin.path);
    assert_string_equal(a->payload.plugin.path, path);
    sw_alert_free(a);
}

/* A session with one torrent (so torrent hooks run), data on disk. */
typedef struct solo {
    sfx_payload p;
    sfx_dir scripts;
    sw_session *ses;
} solo;

static const fx_file small_files[] = {{"s.bin", 40000, false}};

static void solo_setup(solo *w)
{
    memset(w, 0, sizeof *w);
    sfx_payload_make(&w->p, "solo", small_files, 1, 16384, 5, true);
    sfx_dir_make(&w->scripts);
    w->ses = sfx_session(0, SW_ALERT_CAT_ALL);
}

static void solo_add_torrent(solo *w)
{
    sfx_add_seeding(w->ses, w->p.t.ti, w->p.seed_dir.path);
}

static void solo_teardown(solo *w)
{
    sw_session_free(w->ses);
    sfx_payload_free(&w->p);
    sfx_dir_remove(&w->scripts);
}

/* ---- hooks and views on a transfer ---- */

static const char recorder_lua[] =
    "local bytes, blocks, passes = 0, 0, 0\n"
    "return {\n"
    "  name = 'rec',\n"
    "  version = '1.0',\n"
    "  extensions = { 'x_lua_test' },\n"
    "  session = {\n"
    "    added = function() sw.alert('added id=' .. sw.extension_id('x_lua_test')) end,\n"
    "    on_alert = function(a)\n"
    "      if a.name == 'torrent_finished' then\n"
    "        sw.alert('saw torrent_finished id=' .. a.torrent_id .. ' type=' .. a.type)\n"
    "      end\n"
    "    end,\n"
    "    new_torrent = function(t)\n"
    "      sw.alert('new_torrent ' .. t:info_hash() .. ' ' .. t:name() .. ' pieces=' ..\n"
    "               t:num_pieces())\n"
    "      local info = assert(t:metadata())\n"
    "      sw.alert('metadata ok=' .. tostring(sw.hex(sw.sha1(info)) == t:info_hash()) ..\n"
    "               ' name=' .. sw.bdecode(info).name)\n"
    "      return true\n"
    "    end,\n"
    "  },\n"
    "  torrent = {\n"
    "    new_connection = function(t, p)\n"
    "      sw.alert('new_connection ' .. p:address() .. ' torrent=' .. t:name())\n"
    "      return true\n"
    "    end,\n"
    "    on_piece_pass = function(t, piece)\n"
    "      passes = passes + 1\n"
    "      t:alert(string.format('pass %d passes=%d have=%d progress=%.2f bytes=%d blocks=%d',\n"
    "                            piece, passes, t:num_have(), t:progress(), bytes, blocks))\n"
    "    end,\n"
    "    on_state = function(t, state) sw.alert('state ' .. state) end,\n"
    "  },\n"
    "  peer = {\n"
    "    add_handshake = function(p) return { x_lua_hello = 'hi from lua' } end,\n"
    "    on_extension_handshake = function(p, d)\n"
    "      p.remote = d.m and d.m.x_lua_test\n"
    "      sw.alert('handshake ' .. tostring(d.x_lua_hello) .. ' remote=' ..\n"
    "               tostring(p.remote) .. ' client=' .. p:client() .. ' same_torrent=' ..\n"
    "               tostring(p:torrent():info_hash() == p:torrent():info_hash()))\n"
    "      if p.remote then\n"
    "        assert(p:send_extended(p.remote, sw.bencode({ msg = 'ping', n = 7,\n"
    "                                                      l = { 1, 'two' } })))\n"
    "      end\n"
    "    end,\n"
    "    on_extended = function(p, id, payload)\n"
    "      if id ~= sw.extension_id('x_lua_test') then return false end\n"
    "      local m = assert(sw.bdecode(payload))\n"
    "      sw.alert('extended ' .. m.msg .. ' ' .. m.n .. ' ' .. m.l[2] .. ' from ' ..\n"
    "               p:address() .. ':' .. p:port())\n"
    "      return true\n"
    "    end,\n"
    "    on_piece = function(p, index, begin, len)\n"
    "      bytes = bytes + len\n"
    "      blocks = blocks + 1\n"
    "    end,\n"
    "    on_request = function(p, index, begin, len)\n"
    "      if len ~= 16384 and begin % 16384 ~= 0 then error('odd request') end\n"
    "    end,\n"
    "  },\n"
    "}\n";

static const fx_file files[] = {{"a.bin", 200000, false}, {"b.bin", 70001, false}};

static void test_hooks_on_a_transfer(void **state)
{
    (void)state;
    sfx_payload p;
    sfx_payload_make(&p, "luahooks", files, 2, 32768, 11, false);
    sfx_dir scripts;
    sfx_dir_make(&scripts);
    char *script = write_script(&scripts, "recorder_plugin.lua", recorder_lua);
    sw_session *seeder = sfx_session(0, SW_ALERT_CAT_ALL);
    sw_session *leecher = sfx_session(0, SW_ALERT_CAT_ALL);
    load_ok(seeder, script);
    load_ok(leecher, script);
    assert_true(has_plugin(seeder, "rec"));
    msg_log sl = {0}, ll = {0};
    /* The message is the script's text alone (nothing of the stack). */
    assert_null(strstr(wait_msg(seeder, &sl, "added id="), "userdata"));
    wait_msg(leecher, &ll, "added id=");

    sfx_add_seeding(seeder, p.t.ti, p.seed_dir.path);
    sw_torrent_handle hl = sfx_add(leecher, p.t.ti, p.dl_dir.path);
    assert_true(sfx_wait_state(hl, SW_TORRENT_DOWNLOADING, SFX_WAIT_MS));
    assert_int_equal(sw_torrent_connect_peer(hl, "127.0.0.1", sfx_listen_port(seeder)), 0);
    assert_true(sfx_wait_finished(hl, SFX_WAIT_MS));
    assert_true(sfx_torrent_data_equals(&p.t, p.dl_dir.path));

    /* The torrent view: info-hash in hex, name, piece count. */
    char hex[41];
    const sw_sha1 *ih = &sw_torrent_info_hashes(p.t.ti)->v1;
    for (int i = 0; i < 20; i++)
        snprintf(hex + 2 * i, 3, "%02x", ih->v[i]);
    char expect[128];
    snprintf(expect, sizeof expect, "new_torrent %s luahooks pieces=%d", hex,
             sw_torrent_info_num_pieces(p.t.ti));
    wait_msg(leecher, &ll, expect);
    wait_msg(seeder, &sl, expect);
    wait_msg(leecher, &ll, "metadata ok=true name=luahooks");
    wait_msg(leecher, &ll, "new_connection 127.0.0.1 torrent=luahooks");
    /* The extension handshake carried the script's key and extension,
     * and each side's bencoded message arrived at the other's hook. */
    wait_msg(leecher, &ll, "handshake hi from lua remote=");
    const char *hs_msg = log_find(&ll, "handshake hi from lua remote=");
    assert_null(strstr(hs_msg, "remote=nil"));
    assert_non_null(strstr(hs_msg, "same_torrent=true"));
    wait_msg(leecher, &ll, "extended ping 7 two from 127.0.0.1:");
    wait_msg(seeder, &sl, "extended ping 7 two from 127.0.0.1:");
    wait_msg(leecher, &ll, "state downloading");
    snprintf(expect, sizeof expect, "saw torrent_finished id=%llu type=%d",
             (unsigned long long)hl.id, (int)SW_ALERT_TORRENT_FINISHED);
    wait_msg(leecher, &ll, expect);
    /* Every block arrived through on_piece with its length: the last pass
     * saw the whole torrent (one peer, no duplicates). */
    int np = sw_torrent_info_num_pieces(p.t.ti);
    snprintf(expect, sizeof expect, "passes=%d have=%d progress=1.00 bytes=270001 blocks=", np, np);
    wait_msg(leecher, &ll, expect);
    /* The seeder's request hook saw only well-formed requests (no error
     * disabled it). */
    assert_true(has_plugin(seeder, "rec"));
    assert_true(has_plugin(leecher, "rec"));

    sw_session_free(leecher);
    sw_session_free(seeder);
    log_free(&sl);
    log_free(&ll);
    free(script);
    sfx_dir_remove(&scripts);
    sfx_payload_free(&p);
}

/* The example plugins of sdk/examples/lua load and work together on a
 * transfer (no C plugins): hello's extension messages cross both ways. */
static void test_example_plugins(void **state)
{
    (void)state;
    static const char *const examples[] = {"hello_plugin.lua", "wire_stats_plugin.lua",
                                           "ut_pex_plugin.lua"};
    sfx_payload p;
    sfx_payload_make(&p, "examples", files, 2, 32768, 12, false);
    sw_session *seeder = sfx_session(0, SW_ALERT_CAT_ALL);
    sw_session *leecher = sfx_session(0, SW_ALERT_CAT_ALL);
    for (size_t i = 0; i < sizeof examples / sizeof examples[0]; i++) {
        char path[512];
        snprintf(path, sizeof path, "%s/../../sdk/examples/lua/%s", SW_TEST_DATA_DIR, examples[i]);
        load_ok(seeder, path);
        load_ok(leecher, path);
    }
    sfx_add_seeding(seeder, p.t.ti, p.seed_dir.path);
    sw_torrent_handle hl = sfx_add(leecher, p.t.ti, p.dl_dir.path);
    assert_true(sfx_wait_state(hl, SW_TORRENT_DOWNLOADING, SFX_WAIT_MS));
    assert_int_equal(sw_torrent_connect_peer(hl, "127.0.0.1", sfx_listen_port(seeder)), 0);
    assert_true(sfx_wait_finished(hl, SFX_WAIT_MS));
    assert_true(sfx_torrent_data_equals(&p.t, p.dl_dir.path));
    msg_log sl = {0}, ll = {0};
    wait_type_msg(seeder, &sl, SW_ALERT_LOG, "[hello] 127.0.0.1 says hello");
    wait_type_msg(leecher, &ll, SW_ALERT_LOG, "[hello] 127.0.0.1 says hello");
    char *names = NULL;
    assert_int_equal(sw_session_plugin_names(leecher, &names), 0);
    assert_string_equal(names, "hello,wire_stats,ut_pex_lua");
    free(names);
    sw_session_free(leecher);
    sw_session_free(seeder);
    log_free(&sl);
    log_free(&ll);
    sfx_payload_free(&p);
}

/* ---- failures ---- */

static void test_runtime_error_disables_only_that_plugin(void **state)
{
    (void)state;
    solo w;
    solo_setup(&w);
    char *bad = write_script(&w.scripts, "bad_plugin.lua",
                             "local ticks = 0\n"
                             "return {\n"
                             "  torrent = {\n"
                             "    on_tick = function(t)\n"
                             "      ticks = ticks + 1\n"
                             "      if ticks == 2 then error('boom at tick ' .. ticks) end\n"
                             "    end,\n"
                             "  },\n"
                             "}\n");
    char *good = write_script(&w.scripts, "good_plugin.lua",
                              "local n = 0\n"
                              "return { torrent = { on_tick = function(t)\n"
                              "  n = n + 1\n"
                              "  if n == 6 then t:alert('still ticking') end\n"
                              "end } }\n");
    load_ok(w.ses, bad);
    load_ok(w.ses, good);
    assert_true(has_plugin(w.ses, "bad"));
    solo_add_torrent(&w);
    expect_disabled(w.ses, "bad disabled: bad_plugin.lua:6: boom at tick 2", bad);
    assert_false(has_plugin(w.ses, "bad"));
    /* The other plugin and the session go on. */
    msg_log l = {0};
    wait_msg(w.ses, &l, "[good] still ticking");
    assert_true(has_plugin(w.ses, "good"));
    log_free(&l);
    free(bad);
    free(good);
    solo_teardown(&w);
}

static void test_runaway_hook_is_stopped(void **state)
{
    (void)state;
    solo w;
    solo_setup(&w);
    sfx_apply_setting(w.ses, SW_SET_LUA_INSTRUCTION_LIMIT, 200000);
    /* The script even catches the error: the stop must still hold. */
    char *path = write_script(&w.scripts, "loop_plugin.lua",
                              "return { session = { on_tick = function()\n"
                              "  while true do\n"
                              "    pcall(function() while true do end end)\n"
                              "  end\n"
                              "end } }\n");
    load_ok(w.ses, path);
    uint64_t t0 = sfx_now_ms();
    expect_disabled(w.ses, "loop_plugin.lua:3: instruction limit exceeded", path);
    assert_true(sfx_now_ms() - t0 < 10000);
    assert_false(has_plugin(w.ses, "loop"));
    /* Coroutines share the call's budget: many short-lived ones, each
     * below the limit, are stopped too. */
    char *co = write_script(&w.scripts, "coro_plugin.lua",
                            "return { session = { on_tick = function()\n"
                            "  while true do\n"
                            "    coroutine.wrap(function() for i = 1, 150000 do end end)()\n"
                            "  end\n"
                            "end } }\n");
    load_ok(w.ses, co);
    t0 = sfx_now_ms();
    expect_disabled(w.ses, "coro_plugin.lua:3: instruction limit exceeded", co);
    assert_true(sfx_now_ms() - t0 < 10000);
    free(co);
    /* The network thread is free again: a torrent still checks. */
    solo_add_torrent(&w);
    free(path);
    solo_teardown(&w);
}

static void test_memory_limit(void **state)
{
    (void)state;
    solo w;
    solo_setup(&w);
    sfx_apply_setting(w.ses, SW_SET_LUA_MEMORY_LIMIT, 1 << 20);
    char *path = write_script(&w.scripts, "hungry_plugin.lua",
                              "local keep = {}\n"
                              "return { session = { on_tick = function()\n"
                              "  for i = 1, 1e7 do keep[i] = string.rep('x', 1000) .. i end\n"
                              "end } }\n");
    load_ok(w.ses, path);
    expect_disabled(w.ses, "out of memory", path);
    assert_false(has_plugin(w.ses, "hungry"));
    free(path);
    solo_teardown(&w);
}

static void test_sandbox(void **state)
{
    (void)state;
    solo w;
    solo_setup(&w);
    static const char probe[] =
        "local closed = io == nil and os == nil and package == nil and debug == nil and\n"
        "  load == nil and dofile == nil and loadfile == nil and require == nil\n"
        "local usable = string.format and table.concat and math.floor and coroutine.wrap\n"
        "return { name = (closed and usable) and 'sandboxed' or\n"
        "  ((io and os and debug) and 'open' or 'neither') }\n";
    char *a = write_script(&w.scripts, "probe_a.lua", probe);
    char *b = write_script(&w.scripts, "probe_b.lua", probe);
    load_ok(w.ses, a); /* lua_plugin_sandbox is on by default */
    assert_true(has_plugin(w.ses, "sandboxed"));
    sfx_apply_setting(w.ses, SW_SET_LUA_PLUGIN_SANDBOX, false);
    load_ok(w.ses, b);
    assert_true(has_plugin(w.ses, "open"));
    free(a);
    free(b);
    solo_teardown(&w);
}

/* A view kept in a global outlives its peer: using it raises (and
 * disables the plugin) rather than touching a freed connection. */
static void test_stale_view_raises(void **state)
{
    (void)state;
    solo w;
    solo_setup(&w);
    char *path =
        write_script(&w.scripts, "stale_plugin.lua",
                     "local kept\n"
                     "return {\n"
                     "  peer = {\n"
                     "    on_extension_handshake = function(p) kept = p; p:disconnect() end,\n"
                     "  },\n"
                     "  session = { on_tick = function()\n"
                     "    if kept then return kept:client() end\n"
                     "  end },\n"
                     "}\n");
    load_ok(w.ses, path);
    solo_add_torrent(&w);
    sw_session *other = sfx_session(0, SW_ALERT_CAT_ALL);
    sfx_dir dir;
    sfx_dir_make(&dir);
    sw_torrent_handle h = sfx_add(other, w.p.t.ti, dir.path);
    assert_true(sfx_wait_state(h, SW_TORRENT_DOWNLOADING, SFX_WAIT_MS));
    assert_int_equal(sw_torrent_connect_peer(h, "127.0.0.1", sfx_listen_port(w.ses)), 0);
    expect_disabled(w.ses, "stale_plugin.lua:7: this peer is gone", path);
    sw_session_free(other);
    sfx_dir_remove(&dir);
    free(path);
    solo_teardown(&w);
}

/* Settings, saved state, peers added and banned, trackers. */
static void test_state_peers_and_bans(void **state)
{
    (void)state;
    solo w;
    solo_setup(&w);
    char *path = write_script(
        &w.scripts, "misc_plugin.lua",
        "local ticked = false\n"
        "return {\n"
        "  name = 'misc',\n"
        "  session = {\n"
        "    added = function()\n"
        "      sw.alert('setting tick=' .. tostring(sw.setting('tick_interval')) ..\n"
        "               ' sandbox=' .. tostring(sw.setting('lua_plugin_sandbox')) ..\n"
        "               ' none=' .. tostring(sw.setting('no_such_setting')))\n"
        "    end,\n"
        "    save_state = function() return { count = 42, list = { 1, 2, 'x' } } end,\n"
        "    load_state = function(d)\n"
        "      sw.alert('loaded count=' .. d.count .. ' list3=' .. d.list[3])\n"
        "    end,\n"
        "  },\n"
        "  torrent = {\n"
        "    on_tick = function(t)\n"
        "      if ticked then return end\n"
        "      ticked = true\n"
        "      assert(t:add_peer('127.0.0.9', 6999, sw.SRC_PEX))\n"
        "      local ok, err = pcall(t.add_peer, t, 'not an address', 1)\n"
        "      sw.alert('bad address ' .. tostring(ok) .. ' ' .. tostring(err))\n"
        "      assert(t:add_tracker('http://127.0.0.1:1/announce'))\n"
        "      local urls = {}\n"
        "      for _, tr in ipairs(t:trackers()) do urls[#urls + 1] = tr.url end\n"
        "      sw.alert('trackers ' .. table.concat(urls, ','))\n"
        "    end,\n"
        "    on_add_peer = function(t, addr, port, src)\n"
        "      sw.alert('add_peer ' .. addr .. ':' .. port .. ' pex=' ..\n"
        "               tostring(src == sw.SRC_PEX))\n"
        "    end,\n"
        "  },\n"
        "  peer = {\n"
        "    on_extension_handshake = function(p)\n"
        "      sw.alert('banning ' .. p:address() .. ' incoming=' ..\n"
        "               tostring(p:flags() & sw.PEER_OUTGOING == 0))\n"
        "      assert(p:ban('testing bans'))\n"
        "    end,\n"
        "  },\n"
        "}\n");
    load_ok(w.ses, path);
    msg_log l = {0};
    wait_msg(w.ses, &l, "setting tick=500 sandbox=true none=nil");
    solo_add_torrent(&w);
    wait_msg(w.ses, &l, "add_peer 127.0.0.9:6999 pex=true");
    wait_msg(w.ses, &l, "bad address false");
    assert_non_null(strstr(log_find(&l, "bad address false"), "not a numeric IPv4 or IPv6"));
    wait_msg(w.ses, &l, "trackers http://127.0.0.1:1/announce");

    /* save_state puts the script's table under plugins -> misc, and
     * load_state gives it back. */
    uint8_t *buf = NULL;
    size_t len = 0;
    assert_int_equal(sw_session_save_state(w.ses, SW_SAVE_ALL, &buf, &len), 0);
    assert_non_null(memmem(buf, len, "4:misc", 6));
    assert_int_equal(sw_session_load_state(w.ses, buf, len, SW_SAVE_ALL), 0);
    free(buf);
    wait_msg(w.ses, &l, "loaded count=42 list3=x");

    /* A peer that connects is banned by the script: a peer_ban alert. */
    sw_session *other = sfx_session(0, SW_ALERT_CAT_ALL);
    sfx_dir dir;
    sfx_dir_make(&dir);
    sw_torrent_handle h = sfx_add(other, w.p.t.ti, dir.path);
    assert_true(sfx_wait_state(h, SW_TORRENT_DOWNLOADING, SFX_WAIT_MS));
    assert_int_equal(sw_torrent_connect_peer(h, "127.0.0.1", sfx_listen_port(w.ses)), 0);
    wait_msg(w.ses, &l, "banning 127.0.0.1 incoming=true");
    sw_alert *a = sfx_wait_alert(w.ses, SW_ALERT_PEER_BAN, 0, SFX_WAIT_MS);
    assert_non_null(a);
    assert_non_null(strstr(a->message, "testing bans"));
    sw_alert_free(a);
    assert_true(has_plugin(w.ses, "misc"));
    sw_session_free(other);
    sfx_dir_remove(&dir);
    log_free(&l);
    free(path);
    solo_teardown(&w);
}

static void test_bad_files_refused(void **state)
{
    (void)state;
    solo w;
    solo_setup(&w);
    sfx_apply_setting(w.ses, SW_SET_LUA_INSTRUCTION_LIMIT, 100000);
    char *missing = fx_path(w.scripts.path, "missing.lua");
    expect_refused(w.ses, missing, SW_ERR_PLUGIN_OPEN, "cannot open");
    static const struct {
        const char *file, *text, *needle;
    } cases[] = {
        {"syntax.lua", "return {\n  session = { added = function( end }\n}\n",
         "syntax.lua:2: <name> or '...' expected"},
        {"number.lua", "return 42\n", "must return a table of hooks (it returned number)"},
        {"nothing.lua", "", "must return a table of hooks (it returned nil)"},
        {"raises.lua", "local x\n\nreturn x.y\n", "raises.lua:3: attempt to index a nil value"},
        {"unknown_hook.lua", "return { peer = { on_hav = function() end } }\n",
         "peer has no hook named \"on_hav\""},
        {"not_function.lua", "return { torrent = { on_tick = 5 } }\n",
         "torrent.on_tick must be a function, not a number"},
        {"unknown_field.lua", "return { sesion = {} }\n", "unknown field \"sesion\""},
        {"bad_name.lua", "return { name = 'no spaces allowed' }\n", "must be 1 to 64 letters"},
        {"bad_ext.lua", "return { extensions = { 'ok', 7 } }\n",
         "extensions must be a list of names"},
        {"forever.lua", "while true do end\n", "instruction limit exceeded"},
        /* Precompiled chunks are refused (text mode only). */
        {"bytecode.lua", "\x1bLua\x54\x00garbage", "attempt to load a binary chunk"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *path = write_script(&w.scripts, cases[i].file, cases[i].text);
        expect_refused(w.ses, path, SW_ERR_PLUGIN_INIT, cases[i].needle);
        free(path);
    }
    /* An error in session.added fails the load; the alert has the line. */
    char *added = write_script(&w.scripts, "added_fails.lua",
                               "return { session = { added = function()\n"
                               "  error('cannot start')\n"
                               "end } }\n");
    sfx_drain(w.ses);
    expect_refused(w.ses, added, SW_ERR_PLUGIN_INIT, "its added hook failed");
    expect_disabled(w.ses, "added_fails disabled: added_fails.lua:2: cannot start", added);
    free(added);
    /* Two plugins of one name: the second is refused. */
    char *one = write_script(&w.scripts, "one.lua", "return { name = 'twin' }\n");
    char *two = write_script(&w.scripts, "two.lua", "return { name = 'twin' }\n");
    load_ok(w.ses, one);
    expect_refused(w.ses, two, SW_ERR_EXISTS, "already in the session");
    /* None of the refused ones stayed. */
    char *names = NULL;
    assert_int_equal(sw_session_plugin_names(w.ses, &names), 0);
    assert_string_equal(names, "twin");
    free(names);
    free(one);
    free(two);
    free(missing);
    solo_teardown(&w);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hooks_on_a_transfer),
        cmocka_unit_test(test_example_plugins),
        cmocka_unit_test(test_runtime_error_disables_only_that_plugin),
        cmocka_unit_test(test_runaway_hook_is_stopped),
        cmocka_unit_test(test_memory_limit),
        cmocka_unit_test(test_sandbox),
        cmocka_unit_test(test_stale_view_raises),
        cmocka_unit_test(test_state_peers_and_bans),
        cmocka_unit_test(test_bad_files_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
