"""The Lua automation examples (sdk/examples/lua/) and the cswarm Lua module,
driven by `cswarm run` against local swarms on 127.0.0.1:
- seed_to_ratio.lua seeds to two cswarm downloaders, keeps going after the
  first copy and removes the torrent (torrent_removed) after the second;
- watch_folder.lua adds .torrent files dropped into a folder (and nothing
  else) and completes them from a libtorrent seed;
- bandwidth_schedule.lua switches the session's rate limits at the scheduled
  times of an injected clock, as read back from the session's settings, also
  across midnight;
- download_verify.lua downloads from libtorrent (from a .torrent, an http URL
  of it, and a magnet link), rechecks and reports every piece good; on data
  corrupted afterwards its check-only mode reports the bad piece and fails;
- `cswarm download --script` runs a script beside the download: it sees the
  download's torrent and alerts (torrent_finished with every piece), an
  error in it stops the download with "file:line: message", and one that
  never ends is interrupted after the transfer;
- the module loads in a plain lua5.4 with require "cswarm", from the build
  and from where `cmake --install` puts it;
- script errors: syntax and runtime errors print "file:line: message" and
  exit 1; a removed torrent's handle raises "invalid or expired handle"; an
  error inside a callback, a script that leaves sessions open, SIGINT or
  SIGTERM while it waits (exit 130/143): no crash and, in the sanitizer
  build, no leak or undefined behaviour reported."""

import http.server
import os
import re
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import swtest  # noqa: E402
from swtest import Cleanup  # noqa: E402

import libtorrent as lt  # noqa: E402

SOURCE = os.environ.get("CSWARM_SOURCE_DIR",
                        os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
BUILD = os.environ.get("CSWARM_BUILD_DIR", "")
EXAMPLES = os.path.join(SOURCE, "sdk", "examples", "lua")
LOCAL = ["--set", "enable_dht=false", "--set", "enable_lsd=false", "--set", "enable_upnp=false",
         "--set", "enable_natpmp=false"]
SANITIZER_MARKS = ("AddressSanitizer", "LeakSanitizer", "runtime error:", "UndefinedBehavior")


class Script:
    """A `cswarm run` process whose stdout lines are collected with the time
    each arrived."""

    def __init__(self, c, script, args):
        self.cmd = [swtest.CSWARM, "run", script] + list(args)
        self.lines = []
        self.err_path = os.path.join(c.tempdir("lua-log-"), "stderr.txt")
        self.err = open(self.err_path, "wb")
        c.on_close(self.err.close)
        self.p = c.proc(subprocess.Popen(self.cmd, stdout=subprocess.PIPE, stderr=self.err))
        self.t = threading.Thread(target=self._read, daemon=True)
        self.t.start()

    def _read(self):
        for line in self.p.stdout:
            self.lines.append((time.time(), line.decode(errors="replace").rstrip("\n")))

    def text(self):
        return "\n".join(l for _, l in self.lines)

    def stderr(self):
        self.err.flush()
        with open(self.err_path, "rb") as f:
            return f.read().decode(errors="replace")

    def wait_line(self, pattern, timeout):
        rx = re.compile(pattern)

        def found():
            for when, l in self.lines:
                if rx.search(l):
                    return (when, l)
            if self.p.poll() is not None:
                self.t.join(2)
                for when, l in self.lines:
                    if rx.search(l):
                        return (when, l)
                raise AssertionError("script exited %s before printing /%s/:\n%s\n%s" %
                                     (self.p.returncode, pattern, self.text(), self.stderr()))
            return None
        return swtest.wait_for(found, timeout, "script line /%s/" % pattern)

    def wait_exit(self, timeout):
        try:
            rc = self.p.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            raise AssertionError("script still running after %ss:\n%s\n%s" %
                                 (timeout, self.text(), self.stderr()))
        self.t.join(5)
        return rc

    def assert_clean(self):
        err = self.stderr()
        for mark in SANITIZER_MARKS:
            assert mark not in err, err


def make_torrent(c, size, seed, name="payload.bin"):
    src = c.tempdir("lua-src-")
    swtest.make_file(os.path.join(src, name), size, seed)
    torrent = os.path.join(c.tempdir("lua-t-"), name + ".torrent")
    swtest.cswarm_create(os.path.join(src, name), torrent, piece_size=32768)
    return src, torrent


def loopback(port):
    return ["--listen", "127.0.0.1:%d" % port] + LOCAL


# ---- seed_to_ratio ------------------------------------------------------------

def test_seed_to_ratio():
    with Cleanup() as c:
        size = 400_000
        src, torrent = make_torrent(c, size, 11)
        port = swtest.free_port()
        s = Script(c, os.path.join(EXAMPLES, "seed_to_ratio.lua"),
                   [torrent, src, "--ratio", "2"] + loopback(port))
        s.wait_line(r"^ratio 0\.00", 60)
        ih = swtest.info_hash_hex(torrent)
        for n in (1, 2):
            out = c.tempdir("lua-dl-")
            d = swtest.cswarm_download(c, torrent, out, peers=["127.0.0.1:%d" % port])
            assert d.wait_exit(120) == 0, d.stderr_text()
            swtest.assert_same_files(src, out, ["payload.bin"])
            if n == 1:
                s.wait_line(r"^ratio 1\.\d\d", 30)
                time.sleep(1.0)  # a few more ratio checks: one copy must not be enough
                assert s.p.poll() is None, "removed after one copy:\n" + s.text()
        assert s.wait_exit(60) == 0, s.text() + s.stderr()
        out = s.text()
        assert re.search(r"^ratio 2\.\d\d reached: removing payload\.bin$", out, re.M), out
        assert "removed " + ih in out, out
        s.assert_clean()


# ---- watch_folder -------------------------------------------------------------

def drop(torrent, folder, name):
    """Writes the file under a hidden name and renames it, as the script's
    usage asks."""
    tmp = os.path.join(folder, ".incoming")
    with open(torrent, "rb") as f, open(tmp, "wb") as g:
        g.write(f.read())
    os.rename(tmp, os.path.join(folder, name))


def test_watch_folder():
    with Cleanup() as c:
        src_a, t_a = make_torrent(c, 700_000, 21, "alpha.bin")
        src_b, t_b = make_torrent(c, 300_000, 22, "beta.bin")
        ses, _, seed_port = swtest.lt_seed(c, t_a, src_a)
        h_b = swtest.lt_add(ses, t_b, src_b)
        c.on_close(lambda: ses.remove_torrent(h_b))
        swtest.lt_wait_state(h_b, (lt.torrent_status.seeding,), 30, "libtorrent to seed")
        watch = c.tempdir("lua-watch-")
        save = c.tempdir("lua-save-")
        with open(os.path.join(watch, "notes.txt"), "w") as f:
            f.write("not a torrent\n")
        s = Script(c, os.path.join(EXAMPLES, "watch_folder.lua"),
                   [watch, save, "--peer", "127.0.0.1:%d" % seed_port, "--interval", "0.3",
                    "--exit-after", "2"] + loopback(swtest.free_port()))
        s.wait_line(r"^watching ", 30)
        time.sleep(0.5)
        assert "added" not in s.text(), s.text()
        drop(t_a, watch, "first.torrent")
        s.wait_line(r"^added first\.torrent$", 30)
        s.wait_line(r"^finished first\.torrent$", 60)
        swtest.assert_same_files(src_a, save, ["alpha.bin"])
        assert not os.path.exists(os.path.join(save, "beta.bin"))
        drop(t_b, watch, "second.torrent")
        s.wait_line(r"^finished second\.torrent$", 60)
        assert s.wait_exit(30) == 0, s.text() + s.stderr()
        swtest.assert_same_files(src_b, save, ["beta.bin"])
        out = s.text()
        assert out.count("added ") == 2 and "notes.txt" not in out, out
        s.assert_clean()


# ---- bandwidth_schedule -------------------------------------------------------

LIMIT_LINE = r"^(\d\d:\d\d:\d\d) rule (\d\d:\d\d:\d\d): upload_rate_limit=(\d+) " \
             r"download_rate_limit=(\d+)$"


def schedule_lines(s, count):
    got = []
    rx = re.compile(LIMIT_LINE)
    for i in range(count):
        swtest.wait_for(lambda: len([1 for _, l in s.lines if rx.match(l)]) > i, 30,
                        "limit change %d" % (i + 1))
    for when, l in s.lines:
        m = rx.match(l)
        if m:
            got.append((when, m.group(1), m.group(2), int(m.group(3)), int(m.group(4))))
    return got


def test_bandwidth_schedule():
    with Cleanup() as c:
        src, torrent = make_torrent(c, 200_000, 31)
        s = Script(c, os.path.join(EXAMPLES, "bandwidth_schedule.lua"),
                   ["--clock", "07:59:58", "--rule", "00:00=50000/60k", "--rule", "08:00=0/0",
                    "--rule", "08:00:03=100k/2m", "--exit-after-changes", "3",
                    "--torrent", torrent, "--data", src] + loopback(swtest.free_port()))
        got = schedule_lines(s, 3)
        assert s.wait_exit(30) == 0, s.text() + s.stderr()
        (t0, clk0, r0, up0, dn0), (t1, clk1, r1, up1, dn1), (t2, clk2, r2, up2, dn2) = got[:3]
        assert (clk0, r0, up0, dn0) == ("07:59:58", "00:00:00", 50000, 61440), got
        assert (r1, up1, dn1) == ("08:00:00", 0, 0), got
        assert (r2, up2, dn2) == ("08:00:03", 100 * 1024, 2 * 1024 * 1024), got
        # At the scheduled times of the injected clock (checked 4 times a
        # second), which runs at the wall clock's pace.
        assert clk1 in ("08:00:00", "08:00:01") and clk2 in ("08:00:03", "08:00:04"), got
        assert 1.0 <= t1 - t0 <= 4.0, got
        assert 2.0 <= t2 - t1 <= 5.0, got
        s.assert_clean()

    # Across midnight: before the day's first rule the previous day's last holds.
    with Cleanup() as c:
        s = Script(c, os.path.join(EXAMPLES, "bandwidth_schedule.lua"),
                   ["--clock", "23:59:59", "--clock-speed", "2", "--rule", "08:00=1000/2000",
                    "--rule", "00:00:01=0/0", "--exit-after-changes", "2"] +
                   loopback(swtest.free_port()))
        got = schedule_lines(s, 2)
        assert s.wait_exit(30) == 0, s.text() + s.stderr()
        assert got[0][2:] == ("08:00:00", 1000, 2000), got
        assert got[1][2:] == ("00:00:01", 0, 0), got
        assert got[1][1].startswith("00:00:0"), got
        s.assert_clean()


# ---- download_verify ----------------------------------------------------------

class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


def serve_folder(c, folder):
    handler = lambda *a, **k: QuietHandler(*a, directory=folder, **k)  # noqa: E731
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    c.on_close(httpd.server_close)
    c.on_close(httpd.shutdown)
    return httpd.server_address[1]


def magnet_of(torrent):
    return subprocess.run([swtest.CSWARM, "magnet", torrent], check=True, capture_output=True,
                          text=True).stdout.strip()


def test_download_verify():
    with Cleanup() as c:
        src, torrent = make_torrent(c, 900_000, 41)
        _, _, seed_port = swtest.lt_seed(c, torrent, src)
        http_port = serve_folder(c, os.path.dirname(torrent))
        url = "http://127.0.0.1:%d/%s" % (http_port, os.path.basename(torrent))
        pieces = (900_000 + 32767) // 32768
        for source in (torrent, url, magnet_of(torrent)):
            out = c.tempdir("lua-verify-")
            s = Script(c, os.path.join(EXAMPLES, "download_verify.lua"),
                       [source, out, "--peer", "127.0.0.1:%d" % seed_port, "--timeout", "120"] +
                       loopback(swtest.free_port()))
            assert s.wait_exit(150) == 0, source + "\n" + s.text() + s.stderr()
            assert "verified %d/%d pieces of payload.bin" % (pieces, pieces) in s.text(), s.text()
            swtest.assert_same_files(src, out, ["payload.bin"])
            s.assert_clean()

        # Corrupt one byte in piece 5 of the last copy: the check finds it.
        with open(os.path.join(out, "payload.bin"), "r+b") as f:
            f.seek(5 * 32768 + 100)
            b = f.read(1)
            f.seek(5 * 32768 + 100)
            f.write(bytes([b[0] ^ 0xFF]))
        s = Script(c, os.path.join(EXAMPLES, "download_verify.lua"),
                   [torrent, out, "--check-only"] + loopback(swtest.free_port()))
        assert s.wait_exit(60) == 1, s.text() + s.stderr()
        assert "FAILED: %d/%d pieces" % (pieces - 1, pieces) in s.text(), s.text()
        s.assert_clean()

        # A URL that does not serve a torrent is an expected failure.
        s = Script(c, os.path.join(EXAMPLES, "download_verify.lua"),
                   [url + ".missing", c.tempdir(), "--timeout", "5"] +
                   loopback(swtest.free_port()))
        assert s.wait_exit(60) == 1, s.text() + s.stderr()
        assert "404" in s.stderr(), s.stderr()
        s.assert_clean()


# ---- cswarm download --script ---------------------------------------------------

HOOK_SCRIPT = r'''
local cswarm = require "cswarm"
print("script sees " .. torrent:torrent_file().name .. " " .. tostring(session:listen_port() > 0))
session:on("torrent_finished", function(a)
  print("script: finished " .. tostring(a.torrent == torrent) .. " " .. torrent:status().num_pieces)
end)
local checked = 0
for a in session:alerts() do
  if a.type == "torrent_checked" then checked = checked + 1 end
end
print("script: alerts loop ended after " .. checked .. " check")
'''

BAD_HOOK = r'''
session:on("torrent_checked", function(a)
  error("bad hook")
end)
require("cswarm").sleep(60)
'''


def download_with_script(c, torrent, seed_port, script):
    out = c.tempdir("lua-dlscript-")
    cmd = [swtest.CSWARM, "download", torrent, "-o", out, "--peer", "127.0.0.1:%d" % seed_port,
           "--listen", str(swtest.free_port()), "--set", "listen_interfaces=127.0.0.1", "--quiet",
           "--script", script] + LOCAL
    t0 = time.time()
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    for mark in SANITIZER_MARKS:
        assert mark not in r.stderr, r.stderr
    return r, out, time.time() - t0


def test_download_script():
    with Cleanup() as c:
        src, torrent = make_torrent(c, 600_000, 71)
        _, _, seed_port = swtest.lt_seed(c, torrent, src)
        folder = c.tempdir("lua-hooks-")
        scripts = {}
        for name, text in (("hook.lua", HOOK_SCRIPT), ("bad.lua", BAD_HOOK),
                           ("spin.lua", "while true do end\n")):
            scripts[name] = os.path.join(folder, name)
            with open(scripts[name], "w") as f:
                f.write(text)
        pieces = (600_000 + 32767) // 32768

        r, out, _ = download_with_script(c, torrent, seed_port, scripts["hook.lua"])
        assert r.returncode == 0, r.stdout + r.stderr
        swtest.assert_same_files(src, out, ["payload.bin"])
        lines = r.stdout.splitlines()
        assert lines[0] == "script sees payload.bin true", r.stdout
        assert "script: finished true %d" % pieces in lines, r.stdout
        assert lines[-1] == "script: alerts loop ended after 1 check", r.stdout

        r, out, _ = download_with_script(c, torrent, seed_port, scripts["bad.lua"])
        assert r.returncode == 1, r.stdout + r.stderr
        assert re.search(r"cswarm download: .*bad\.lua:3: bad hook", r.stderr), r.stderr

        r, out, took = download_with_script(c, torrent, seed_port, scripts["spin.lua"])
        assert r.returncode == 0, r.stdout + r.stderr
        swtest.assert_same_files(src, out, ["payload.bin"])
        assert took < 60, took


# ---- plain lua5.4 -------------------------------------------------------------

PLAIN_SCRIPT = r'''
local cswarm = require "cswarm"
local torrent, data = ...
local ses <close> = cswarm.session{ listen_interfaces = "127.0.0.1:0", enable_dht = false,
  enable_lsd = false, enable_upnp = false, enable_natpmp = false, download_rate_limit = 7000,
  start_default_features = false }
assert(ses:listen_port() > 0)
assert(ses:settings("download_rate_limit") == 7000)
local h = assert(ses:add_torrent{ ti = torrent, save_path = data })
local ticks = 0
ses:every(0.05, function() ticks = ticks + 1 end)
local seen = {}
ses:on("torrent_checked", function(a) seen.callback = a.torrent == h end)
for a in ses:alerts(10) do
  if a.type == "torrent_checked" then seen.iterator = true; break end
end
assert(seen.callback and seen.iterator, "alert not seen")
cswarm.sleep(0.3)
assert(ticks >= 3, "timer ticks: " .. ticks)
assert(h:status().state == "seeding", h:status().state)
local state = ses:save_state()
local other = cswarm.session{ listen = false, start_default_features = false,
  enable_dht = false, enable_lsd = false, enable_upnp = false, enable_natpmp = false }
assert(other:load_state(state))
assert(other:settings("download_rate_limit") == 7000)
other = nil
collectgarbage()
print("plain lua ok " .. cswarm.version)
'''


def sanitized_build():
    try:
        with open(os.path.join(BUILD, "CMakeCache.txt")) as f:
            return any(l.strip() == "CSWARM_SANITIZE:BOOL=ON" for l in f)
    except OSError:
        return False


def plain_lua_env(cpath_dir):
    """The environment for lua5.4 loading cswarm.so from cpath_dir, or None
    (after saying why) when that cannot work in this build."""
    env = dict(os.environ, LUA_CPATH=os.path.join(cpath_dir, "?.so"))
    if sanitized_build():
        # The module is instrumented but lua5.4 is not: the ASan runtime has
        # to be loaded first, which only a preload can do.
        cc = "gcc"
        try:
            with open(os.path.join(BUILD, "CMakeCache.txt")) as f:
                for l in f:
                    if l.startswith("CMAKE_C_COMPILER:"):
                        cc = l.split("=", 1)[1].strip()
        except OSError:
            pass
        asan = subprocess.run([cc, "-print-file-name=libasan.so"], capture_output=True,
                              text=True).stdout.strip()
        if not os.path.isabs(asan) or not os.path.exists(asan):
            swtest.log("SKIP plain lua5.4: sanitizer build with %s has no shared "
                       "ASan runtime to preload into lua5.4" % cc)
            return None
        env["LD_PRELOAD"] = asan
    return env


def run_plain_lua(env):
    with Cleanup() as c:
        src, torrent = make_torrent(c, 100_000, 51)
        script = os.path.join(c.tempdir(), "plain.lua")
        with open(script, "w") as f:
            f.write(PLAIN_SCRIPT)
        r = subprocess.run(["lua5.4", script, torrent, src], env=env, capture_output=True,
                           text=True, timeout=120)
        assert r.returncode == 0 and "plain lua ok" in r.stdout, r.stdout + r.stderr
        for mark in SANITIZER_MARKS:
            assert mark not in r.stderr, r.stderr


def test_plain_lua_require():
    module = os.path.join(BUILD, "lua", "cswarm.so")
    assert os.path.exists(module), module
    env = plain_lua_env(os.path.join(BUILD, "lua"))
    if env:
        run_plain_lua(env)


def test_installed_module():
    """`cmake --install --prefix P` puts cswarm.so into P/<libdir>/lua/5.4
    (beside libcswarm in P/<libdir>), where lua5.4 finds it."""
    with Cleanup() as c:
        prefix = c.tempdir("lua-prefix-")
        subprocess.run(["cmake", "--install", BUILD, "--prefix", prefix], check=True,
                       stdout=subprocess.DEVNULL)
        found = [os.path.join(d, "cswarm.so") for d, _, files in os.walk(prefix)
                 if "cswarm.so" in files]
        assert len(found) == 1, found
        moddir = os.path.dirname(found[0])
        libdir = os.path.dirname(os.path.dirname(moddir))
        assert moddir.endswith(os.path.join("lua", "5.4")), moddir
        assert os.path.exists(os.path.join(libdir, "libcswarm.so")), os.listdir(libdir)
        env = plain_lua_env(moddir)
        if env:
            env["LD_LIBRARY_PATH"] = libdir
            run_plain_lua(env)


# ---- errors -------------------------------------------------------------------

ERROR_SCRIPTS = {
    # name: (source, expected exit status, expected text on stderr or stdout)
    "syntax.lua": ("local x = = 1\n", 1, r"syntax\.lua:1: unexpected symbol near '='"),
    "runtime.lua": ("local t = nil\n\nprint(t.field)\n", 1,
                    r"runtime\.lua:3: attempt to index a nil value \(local 't'\)"),
    "raise.lua": ("error('custom failure')\n", 1, r"raise\.lua:1: custom failure"),
    "removed.lua": (r'''
local cswarm = require "cswarm"
local torrent, data = ...
local ses = cswarm.session{ listen_interfaces = "127.0.0.1:0",
  enable_dht = false, enable_lsd = false, enable_upnp = false, enable_natpmp = false }
local h = assert(ses:add_torrent{ ti = torrent, save_path = data })
ses:remove(h)
assert(ses:wait_for("torrent_removed", 10))
assert(not h:is_valid())
local ok, msg = pcall(function() return h:status() end)
assert(not ok and msg:match("removed%.lua:10: invalid or expired handle"), msg)
h:pause()
''', 1, r"removed\.lua:12: invalid or expired handle"),
    "callback.lua": (r'''
local cswarm = require "cswarm"
local torrent, data = ...
local ses = cswarm.session{ listen_interfaces = "127.0.0.1:0",
  enable_dht = false, enable_lsd = false, enable_upnp = false, enable_natpmp = false }
ses:on("torrent_checked", function(a)
  error("from the callback")
end)
ses:add_torrent{ ti = torrent, save_path = data }
ses:run(20)
''', 1, r"callback\.lua:7: from the callback"),
    "timer.lua": (r'''
local cswarm = require "cswarm"
local ses = cswarm.session{ listen_interfaces = "127.0.0.1:0",
  enable_dht = false, enable_lsd = false, enable_upnp = false, enable_natpmp = false }
ses:after(0.05, function() local n = nil; return n + 1 end)
cswarm.sleep(5)
''', 1, r"timer\.lua:5: attempt to perform arithmetic on a nil value"),
    "closed.lua": (r'''
local cswarm = require "cswarm"
local torrent, data = ...
local h
do
  local ses <close> = cswarm.session{ listen_interfaces = "127.0.0.1:0",
    enable_dht = false, enable_lsd = false, enable_upnp = false, enable_natpmp = false }
  h = ses:add_torrent{ ti = torrent, save_path = data }
end
h:status()
''', 1, r"closed\.lua:10: torrent handle of a closed session"),
    "badsetting.lua": (r'''
local cswarm = require "cswarm"
cswarm.session{ listen = false, enable_dht = 1 }
''', 1, r"badsetting\.lua:3: setting 'enable_dht' wants a boolean, got number"),
    "unknown.lua": (r'''
local cswarm = require "cswarm"
local ses = cswarm.session{ listen = false, start_default_features = false,
  enable_dht = false, enable_lsd = false, enable_upnp = false, enable_natpmp = false }
ses:apply_settings{ no_such_setting = 1 }
''', 1, r"unknown\.lua:5: unknown setting 'no_such_setting'"),
    # The life of a torrent: pause, resume, remove with its files.
    "lifecycle.lua": (r'''
local cswarm = require "cswarm"
local torrent, data = ...
local info = assert(cswarm.torrent_info(torrent))
local copy = os.tmpname()
os.remove(copy)
assert(os.execute("mkdir -p '" .. copy .. "' && cp '" .. data .. "/" .. info.name .. "' '" .. copy .. "/'"))
local ses <close> = cswarm.session{ listen_interfaces = "127.0.0.1:0",
  enable_dht = false, enable_lsd = false, enable_upnp = false, enable_natpmp = false }
local h = assert(ses:add_torrent{ ti = torrent, save_path = copy })
assert(ses:add_torrent{ ti = torrent, save_path = copy } == nil, "a duplicate is refused")
assert(ses:add_torrent{ ti = torrent, save_path = copy, duplicate_is_error = false } == h)
assert(ses:wait_for("torrent_checked", 30))
assert(h:status().is_seeding and h:save_path() == copy)
assert(ses:find_torrent(info.info_hash) == h and #ses:torrents() == 1)
h:pause()
assert(ses:wait_for("torrent_paused", 10) and h:status().paused)
h:resume()
assert(ses:wait_for("torrent_resumed", 10) and not h:status().paused)
ses:remove(h, { delete_files = true })
local a = ses:wait_for("torrent_deleted", 30)
assert(a and a.info_hash == info.info_hash, "no torrent_deleted alert")
assert(io.open(copy .. "/" .. info.name) == nil, "the file is still there")
os.remove(copy)
assert(#ses:torrents() == 0 and ses:find_torrent(info.info_hash) == nil)
print("lifecycle ok")
''', 0, r"lifecycle ok"),
    # Sessions left open (one busy) and os.exit closing the state: clean exit.
    "leftopen.lua": (r'''
local cswarm = require "cswarm"
local torrent, data = ...
local a = cswarm.session{ listen_interfaces = "127.0.0.1:0",
  enable_dht = false, enable_lsd = false, enable_upnp = false, enable_natpmp = false }
local b = cswarm.session{ listen_interfaces = "127.0.0.1:0",
  enable_dht = false, enable_lsd = false, enable_upnp = false, enable_natpmp = false }
a:add_torrent{ ti = torrent, save_path = data }
a:every(0.01, function() end)
b:on("*", function() end)
cswarm.sleep(0.2)
print("leaving")
os.exit(3, true)
''', 3, r"leaving"),
}


def test_script_errors():
    with Cleanup() as c:
        src, torrent = make_torrent(c, 100_000, 61)
        folder = c.tempdir("lua-err-")
        for name, (text, status, expect) in sorted(ERROR_SCRIPTS.items()):
            path = os.path.join(folder, name)
            with open(path, "w") as f:
                f.write(text)
            r = subprocess.run([swtest.CSWARM, "run", name, torrent, src], cwd=folder,
                               capture_output=True, text=True, timeout=120)
            both = r.stdout + r.stderr
            assert r.returncode == status, "%s: exit %s\n%s" % (name, r.returncode, both)
            assert re.search(expect, both), "%s: /%s/ not in\n%s" % (name, expect, both)
            if status == 1:
                assert "cswarm run: " + name in r.stderr, both
            for mark in SANITIZER_MARKS:
                assert mark not in r.stderr, "%s:\n%s" % (name, r.stderr)
        # A missing script is an error, not a crash.
        r = subprocess.run([swtest.CSWARM, "run", os.path.join(folder, "nothere.lua")],
                           capture_output=True, text=True, timeout=60)
        assert r.returncode == 1 and "cannot open" in r.stderr, r.stderr


WAITING_SCRIPT = r'''
local cswarm = require "cswarm"
local torrent, data = ...
local ses = cswarm.session{ listen_interfaces = "127.0.0.1:0",
  enable_dht = false, enable_lsd = false, enable_upnp = false, enable_natpmp = false }
ses:add_torrent{ ti = torrent, save_path = data }
ses:every(30, function() end)
print("ready")
io.stdout:flush()
ses:run()
'''


def test_signal_stops_script():
    import signal
    with Cleanup() as c:
        src, torrent = make_torrent(c, 100_000, 81)
        script = os.path.join(c.tempdir("lua-sig-"), "wait.lua")
        with open(script, "w") as f:
            f.write(WAITING_SCRIPT)
        for sig, status, name in ((signal.SIGINT, 130, "SIGINT"), (signal.SIGTERM, 143, "SIGTERM")):
            s = Script(c, script, [torrent, src])
            s.wait_line(r"^ready$", 30)
            time.sleep(0.3)
            s.p.send_signal(sig)
            assert s.wait_exit(15) == status, s.stderr()
            assert "interrupted by " + name in s.stderr(), s.stderr()
            s.assert_clean()


def main():
    return swtest.run_tests(swtest.tests_in(globals()), sys.argv[1:])


if __name__ == "__main__":
    sys.exit(main())
