"""Torrent modes against libtorrent on 127.0.0.1:

- super seeding: a cswarm super seeder (tests/tools/modes_seed) shows a
  raw peer one piece at a time (one HAVE after have_none, the next only once
  the peer announced the last); three libtorrent downloaders, trading with
  each other, all complete from it, with the default rule and with
  strict_super_seeding (then the seeder uploads at most twice the torrent);
  a libtorrent downloader held to a slow rate sees the super seeder with
  only one or two pieces at first.
- seed mode: a seed_mode cswarm seed serves correct data without a check;
  on a corrupted file the bad piece is found when first read, seed mode
  ends and the recheck leaves the seed without that piece.
- the modes through the cswarm Lua module (add flags, status fields,
  t:super_seeding, t:set_share_mode)."""

import os
import socket
import struct
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import swtest  # noqa: E402
from swtest import LOOPBACK, free_port, log, wait_for  # noqa: E402

PIECE = 16384
NPIECES = 24


class ModesSeed:
    """tests/tools/modes_seed: one torrent in a chosen mode, status as JSON."""

    def __init__(self, cleanup, torrent, data_dir, *modes):
        tool = os.path.join(os.environ["CSWARM_BUILD_DIR"], "tests", "modes_seed")
        self.port = free_port()
        self.lines = []
        self.p = cleanup.proc(subprocess.Popen(
            [tool, torrent, data_dir, str(self.port)] + list(modes),
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE))
        swtest.collect_json_lines(self.p.stdout, self.lines)
        wait_for(lambda: self.ready() or self.p.poll() is not None, 30, "modes_seed ready")
        if self.p.poll() is not None:
            raise AssertionError("modes_seed exited: %s" % self.p.stderr.read())

    def ready(self):
        return any(o.get("ready") for o in list(self.lines))

    def last(self):
        for o in reversed(list(self.lines)):
            if "up" in o:
                return o
        return {}

    def alerts(self):
        return [o["alert"] for o in list(self.lines) if "alert" in o]


def make_torrent(c, name, seed):
    src = c.tempdir("modes-src-")
    path = os.path.join(src, name)
    swtest.make_file(path, PIECE * NPIECES, seed)
    torrent = os.path.join(c.tempdir("modes-t-"), name + ".torrent")
    swtest.lt_create_v1(path, torrent, PIECE)
    return src, path, torrent


# ---- a raw peer ----------------------------------------------------------------

def recv_exact(s, n):
    buf = b""
    while len(buf) < n:
        chunk = s.recv(n - len(buf))
        if not chunk:
            raise EOFError
        buf += chunk
    return buf


def raw_peer(port, info_hash):
    s = socket.create_connection((LOOPBACK, port), timeout=10)
    reserved = bytes(7) + b"\x04"  # fast extension
    s.sendall(b"\x13BitTorrent protocol" + reserved + info_hash + b"-RW0001-raw-python-1")
    hs = recv_exact(s, 68)
    assert hs[28:48] == info_hash
    return s


def next_msg(s, timeout):
    """(id, payload) of the next message other than a keep-alive, or None."""
    s.settimeout(timeout)
    try:
        while True:
            (n,) = struct.unpack(">I", recv_exact(s, 4))
            if n == 0:
                continue
            body = recv_exact(s, n)
            return body[0], body[1:]
    except (socket.timeout, EOFError):
        return None


def haves_within(s, timeout, seen):
    """Reads for timeout seconds; returns the pieces of the HAVEs read and
    records every message id in seen."""
    import time
    out = []
    end = time.time() + timeout
    while time.time() < end:
        m = next_msg(s, max(0.05, end - time.time()))
        if m is None:
            break
        seen.append(m[0])
        if m[0] == 4:
            out.append(struct.unpack(">I", m[1])[0])
    return out


# ---- tests ---------------------------------------------------------------------

@swtest.with_cleanup
def test_super_seed_raw_peer(c):
    src, _, torrent = make_torrent(c, "super-raw.bin", 3)
    seeder = ModesSeed(c, torrent, src, "super")
    import libtorrent as lt
    ih = lt.torrent_info(torrent).info_hashes().v1.to_bytes()
    s = raw_peer(seeder.port, ih)
    try:
        seen = []
        first = haves_within(s, 1.5, seen)
        assert 15 in seen, "no have_none in %r" % seen
        assert 5 not in seen and 14 not in seen, "bitfield or have_all sent: %r" % seen
        assert len(first) == 1, "expected one piece shown, got %r" % first
        shown = set(first)
        # Each time it announces the piece it was shown, it is shown one more.
        for _ in range(3):
            s.sendall(struct.pack(">IBI", 5, 4, first[-1]))
            more = haves_within(s, 1.0, seen)
            assert len(more) == 1 and more[0] not in shown, more
            shown.add(more[0])
            first = more
        log("raw peer was shown pieces", sorted(shown))
    finally:
        s.close()


def lt_swarm(c, torrent, n):
    """n libtorrent sessions with the torrent; they may all sit on 127.0.0.1
    (libtorrent allows one connection per address unless told otherwise)."""
    sessions, handles, dirs = [], [], []
    for _ in range(n):
        d = c.tempdir("modes-lt-")
        ses, h, port = swtest.lt_start(c, torrent, d)
        ses.apply_settings({"allow_multiple_connections_per_ip": True})
        sessions.append((ses, port))
        handles.append(h)
        dirs.append(d)
    return sessions, handles, dirs


def super_seed_to_libtorrent(c, name, strict):
    src, path, torrent = make_torrent(c, name, 4)
    seeder = ModesSeed(c, torrent, src, "super", *(["strict"] if strict else []))
    import libtorrent as lt
    import time
    sessions, handles, dirs = lt_swarm(c, torrent, 3)
    if not strict:
        # The first one, slowed down, sees the super seeder with one piece
        # or two (the next shows up as it finishes one), never the whole set.
        handles[0].set_download_limit(4000)

        def seeder_pieces():
            for p in handles[0].get_peer_info():
                if p.ip[1] == seeder.port:
                    return sum(1 for b in p.pieces if b)
            handles[0].connect_peer((LOOPBACK, seeder.port))  # again if it raced the check
            return None

        wait_for(lambda: seeder_pieces(), 30, "libtorrent to see a piece of the super seeder")
        most = 0
        end = time.time() + 3
        while time.time() < end:
            most = max(most, seeder_pieces() or 0)
            time.sleep(0.1)
        log("slow libtorrent peer saw the super seeder with at most", most, "pieces")
        assert 1 <= most <= 3, most
        handles[0].set_download_limit(-1)

    # All three trade with each other and with the seeder (connections are
    # asked for again until they hold: the first may race the file check).
    def connected_all():
        ok = True
        for i, h in enumerate(handles):
            if h.status().state == lt.torrent_status.seeding:
                continue
            seen = {p.ip[1] for p in h.get_peer_info()}
            for j, (_, port) in enumerate(sessions):
                if j != i and port not in seen and \
                        handles[j].status().state != lt.torrent_status.seeding:
                    h.connect_peer((LOOPBACK, port))
                    ok = False
            if seeder.port not in seen:
                h.connect_peer((LOOPBACK, seeder.port))
                ok = False
        return all(h.status().state == lt.torrent_status.seeding for h in handles) or ok

    wait_for(connected_all, 30, "libtorrent peers connected to each other and the seeder",
             interval=0.3)
    for h in handles:
        swtest.lt_wait_state(h, (lt.torrent_status.seeding,), 120,
                             "libtorrent download from a super seeder")
    for d in dirs:
        swtest.assert_same_files(src, d, [name])
    time.sleep(0.6)  # the seeder's status lines come every 200 ms
    up = seeder.last().get("up", 0)
    log("%s super seeder uploaded %d bytes for a %d-byte torrent to 3 trading peers"
        % ("strict" if strict else "default", up, PIECE * NPIECES))
    assert seeder.last().get("super") is True
    return up


@swtest.with_cleanup
def test_super_seed_libtorrent(c):
    super_seed_to_libtorrent(c, "super-lt.bin", False)


@swtest.with_cleanup
def test_strict_super_seed_libtorrent(c):
    # Strictly, a piece is shown again only once passed on: the seeder
    # sends little more than one copy of the torrent.
    up = super_seed_to_libtorrent(c, "super-strict.bin", True)
    assert up <= 2 * PIECE * NPIECES, up


@swtest.with_cleanup
def test_seed_mode(c):
    src, path, torrent = make_torrent(c, "seedmode.bin", 5)
    import libtorrent as lt
    # Correct data: seeding at once, no check, libtorrent completes.
    seeder = ModesSeed(c, torrent, src, "seed_mode")
    assert "torrent_checked" not in seeder.alerts()
    assert seeder.last().get("seed_mode") is True
    ses = swtest.lt_session(free_port())
    d = c.tempdir("modes-sm-")
    h = swtest.lt_add(ses, torrent, d)
    h.connect_peer((LOOPBACK, seeder.port))
    swtest.lt_wait_state(h, (lt.torrent_status.seeding,), 60, "download from a seed_mode seed")
    swtest.assert_same_files(src, d, ["seedmode.bin"])
    assert "hash_failed" not in seeder.alerts()
    ses.remove_torrent(h)
    seeder.p.stdin.close()
    seeder.p.wait(timeout=20)

    # One corrupted byte in piece 7: found when libtorrent asks for it.
    with open(path, "r+b") as f:
        f.seek(7 * PIECE + 100)
        b = f.read(1)
        f.seek(7 * PIECE + 100)
        f.write(bytes([b[0] ^ 0xFF]))
    seeder = ModesSeed(c, torrent, src, "seed_mode")
    d2 = c.tempdir("modes-sm2-")
    h2 = swtest.lt_add(ses, torrent, d2)
    h2.connect_peer((LOOPBACK, seeder.port))
    wait_for(lambda: "hash_failed" in seeder.alerts(), 60, "the bad piece found on first read")
    wait_for(lambda: "torrent_checked" in seeder.alerts(), 60, "the recheck after seed mode")
    wait_for(lambda: seeder.last().get("pieces") == NPIECES - 1, 30, "recheck result")
    last = seeder.last()
    assert last.get("seed_mode") is False, last
    assert last.get("state") == "downloading", last
    # libtorrent never got the bad piece, nor a bad block of any other.
    st = h2.status()
    log("libtorrent got %d pieces before the recheck closed the connection" % st.num_pieces)
    assert not st.pieces[7]
    assert st.total_failed_bytes == 0, st.total_failed_bytes


LUA_MODES = r"""
local cswarm = require "cswarm"
local torrent, dir, empty = arg[1], arg[2], arg[3]
local ses <close> = cswarm.session({ listen_interfaces = "127.0.0.1:0", enable_dht = false,
                                     enable_lsd = false, enable_upnp = false,
                                     enable_natpmp = false })
local function wait(pred, what)
  local deadline = cswarm.now() + 20
  while not pred() do
    if cswarm.now() > deadline then error("timed out waiting for " .. what) end
    cswarm.sleep(0.05)
  end
end
local h = assert(ses:add_torrent{ ti = torrent, save_path = dir, super_seeding = true })
wait(function()
  local st = h:status()
  return st.state == "seeding" and st.super_seeding
end, "super seeding")
assert(h:super_seeding(false) == h)
assert(not h:status().super_seeding)
ses:remove_torrent(h)
local s = assert(ses:add_torrent{ ti = torrent, save_path = empty, share_mode = true })
wait(function() return s:status().state == "finished" end, "share mode to finish")
local st = s:status()
assert(st.share_mode and st.total_wanted == 0)
s:set_share_mode(false)
assert(not s:status().share_mode)
print("modes ok")
"""


@swtest.with_cleanup
def test_lua_bindings(c):
    # The modes through the cswarm Lua module (cswarm run).
    src, _, torrent = make_torrent(c, "lua-modes.bin", 6)
    script = os.path.join(c.tempdir("modes-lua-"), "modes.lua")
    with open(script, "w") as f:
        f.write(LUA_MODES)
    out = subprocess.run([swtest.CSWARM, "run", script, torrent, src, c.tempdir("modes-lua-dl-")],
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0 and "modes ok" in out.stdout, (out.stdout, out.stderr)


def main():
    return swtest.run_tests(swtest.tests_in(globals()), sys.argv[1:])


if __name__ == "__main__":
    sys.exit(main())
