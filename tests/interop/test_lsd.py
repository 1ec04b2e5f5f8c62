"""Local service discovery (BEP 14) between two cswarm processes: with no
tracker, no DHT and no --peer, a downloader finds a seeder only through the
LSD multicast announces and downloads the payload.

Multicast must not leave the machine, so both processes run inside a
network namespace the test creates, whose only interface is its loopback
(multicast on, 239.0.0.0/8 routed to it). Creating a namespace needs root;
without it the test skips with a message."""
import os
import subprocess
import sys
import time

import swtest
from swtest import CSWARM, LOOPBACK_SETS, Cleanup, assert_same_files, wait_for

NS = "cswarm-lsd-%d" % os.getpid()


def ip(*args):
    return subprocess.run(["ip"] + list(args), capture_output=True, text=True)


def make_namespace(cleanup):
    """Creates the namespace (removed at cleanup); returns an error text
    or None."""
    r = ip("netns", "add", NS)
    if r.returncode != 0:
        return (r.stderr or r.stdout).strip()
    cleanup.on_close(lambda: ip("netns", "delete", NS))
    for cmd in (["link", "set", "lo", "up"], ["link", "set", "lo", "multicast", "on"],
                ["route", "add", "239.0.0.0/8", "dev", "lo"]):
        r = ip("netns", "exec", NS, "ip", *cmd)
        if r.returncode != 0:
            return "ip %s: %s" % (" ".join(cmd), r.stderr.strip())
    return None


class NsRun(swtest.CswarmRun):
    """A cswarm command run in the namespace with LSD on (the loopback
    settings turn it off; a later --set wins)."""

    def __init__(self, cleanup, args, port, lsd=True):
        cmd = ["ip", "netns", "exec", NS, CSWARM] + list(args) + [
            "--listen", str(port), "--json-progress"]
        for s in list(LOOPBACK_SETS) + ["enable_lsd=%s" % ("true" if lsd else "false")]:
            cmd += ["--set", s]
        self.port = port
        self.cmd = cmd
        self.lines = []
        self.stderr_path = os.path.join(cleanup.tempdir("cswarm-log-"), "stderr.txt")
        self.stderr = open(self.stderr_path, "wb")
        self.p = cleanup.proc(subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=self.stderr))
        cleanup.on_close(self.stderr.close)
        self.thread = swtest.collect_json_lines(self.p.stdout, self.lines)

    def wait_status(self, what):
        wait_for(lambda: self.last() is not None or self.p.poll() is not None, 30, what)
        if self.p.poll() is not None:
            raise AssertionError("%s: cswarm exited: %s" % (what, self.stderr_text()))


def run_pair(c, lsd):
    rels = ["payload/a.bin", "payload/sub/b.bin"]
    src, torrent = swtest.make_payload(c, [(rels[0], 700_001), (rels[1], 300_000)], 65536)
    out = c.tempdir()
    # The downloader listens first: the seeder's announce when its torrent
    # is added then reaches it (either side finding the other is enough).
    dl = NsRun(c, ["download", torrent, "-o", out], 46001, lsd)
    dl.wait_status("downloader up")
    seeder = NsRun(c, ["seed", torrent, "-d", src], 46002, lsd)
    seeder.wait_status("seeder up")
    return dl, src, out, rels


def test_lsd_finds_seeder(c):
    dl, src, out, rels = run_pair(c, True)
    rc = dl.wait_exit(60)
    assert rc == 0, dl.stderr_text()
    assert_same_files(src, out, rels)


def test_no_lsd_no_peers(c):
    """The control: the same pair with LSD off stays apart (so the first
    case could only have found its peer through LSD). A case about
    something not happening has to wait; the LSD case finds its peer
    within a second or two."""
    dl, _, _, _ = run_pair(c, False)
    deadline = time.time() + 6
    while time.time() < deadline and dl.p.poll() is None:
        time.sleep(0.2)
    assert dl.p.poll() is None, "downloader ended without LSD: %s" % dl.stderr_text()
    last = dl.last()
    assert last is not None and last["peers"] == 0 and last["total_done"] == 0, last


def test_announce_format_and_foreign_peer(c):
    """A seeder's announce as another client hears it (port, info-hash,
    cookie, Host), sent once on add and not again right after (one message
    a minute); the announce of another client, after a malformed one, makes
    the seeder connect to that client's port."""
    _, torrent = swtest.make_payload(c, [("payload/a.bin", 100_000)], 32768)
    src = os.path.dirname(os.path.dirname(torrent))
    ih = swtest.info_hash_hex(torrent)
    probe_cmd = ["ip", "netns", "exec", NS, sys.executable,
                 os.path.join(os.path.dirname(os.path.abspath(__file__)), "lsd_probe.py"),
                 ih, "46003", "20"]
    probe = c.proc(subprocess.Popen(probe_cmd, stdout=subprocess.PIPE, text=True))
    events = []
    swtest.collect_json_lines(probe.stdout, events)
    wait_for(lambda: events, 10, "probe ready")
    seeder = NsRun(c, ["seed", torrent, "-d", src], 46002, True)
    wait_for(lambda: any("connect" in e for e in events) and any("announce" in e for e in events)
             or probe.poll() is not None, 25, "LSD announce and connection")
    announces = [e for e in events if "announce" in e]
    assert announces, "no announce heard: %s" % events
    assert any("connect" in e for e in events), "seeder did not connect: %s" % events
    text = announces[0]["announce"]
    assert text.startswith("BT-SEARCH * HTTP/1.1\r\n"), text
    assert "Host: 239.192.152.143:6771\r\n" in text, text
    assert "Port: 46002\r\n" in text, text
    assert "infohash: %s\r\n" % ih.lower() in text.lower(), text
    assert "cookie: " in text and text.endswith("\r\n\r\n"), text
    # The copies heard all come from the one send on add.
    probe.wait(timeout=30)
    copies = [e for e in events if "announce" in e and e["announce"] == text]
    assert all(e["t"] - announces[0]["t"] < 0.5 for e in copies), events
    seeder.stop()


def main():
    with Cleanup() as c:
        err = make_namespace(c)
    if err:
        swtest.log("SKIP cannot create network namespace %s (root needed): %s" % (NS, err))
        return 0

    def in_namespace(fn):
        def run():
            with Cleanup() as c:
                err = make_namespace(c)
                assert err is None, err
                fn(c)
        run.__name__ = fn.__name__
        return run
    return swtest.run_tests([in_namespace(f) for f in (test_lsd_finds_seeder,
                                                       test_no_lsd_no_peers,
                                                       test_announce_format_and_foreign_peer)])


if __name__ == "__main__":
    sys.exit(main())
