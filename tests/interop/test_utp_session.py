"""cswarm's uTP as a session transport on 127.0.0.1, with TCP switched off
wherever the test says "uTP only" (so a finished transfer proves uTP carried
it):

- cswarm <-> cswarm, both with --utp-only;
- cswarm <-> libtorrent 2.0 (TCP off in libtorrent), data both ways, each side
  dialing; libtorrent's peer list must show the connection as uTP;
- mixed: a cswarm downloader with both transports gets pieces from a
  uTP-only libtorrent seed and a TCP-only cswarm seed at once;
- fallback: a cswarm that tries uTP first reaches a TCP-only peer over TCP;
- impaired: 64 MiB cswarm -> cswarm over uTP through tests/tools/udp_impair
  (2% loss, 20 ms delay, 5% of packets up to 10 ms later so they reorder,
  fixed seed); at 2% loss and a 40 ms round trip any AIMD window is small
  (about 1.2/sqrt(0.02) packets per round trip), so this takes minutes;
  and the same through `tc qdisc netem` in a network namespace when this
  kernel has netem (it is skipped with the reason otherwise).

Every result is compared byte for byte."""

import os
import shutil
import subprocess
import sys
import time
import traceback

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import swtest  # noqa: E402
from swtest import Cleanup, assert_same_files, cswarm_create  # noqa: E402

import libtorrent as lt  # noqa: E402

# libtorrent 2.0's peer_info flag for a uTP connection (not exported by the
# Python binding).
LT_UTP_SOCKET = getattr(lt.peer_info, "utp_socket", 1 << 17)
TIMEOUT = 180
SLOW = 3 * 1024 * 1024  # bytes/s, where a test watches libtorrent's peer list


def payload(c, size, piece_size=262144, seed=7):
    src = c.tempdir()
    swtest.make_file(os.path.join(src, "payload", "data.bin"), size, seed)
    torrent = os.path.join(c.tempdir(), "t.torrent")
    cswarm_create(os.path.join(src, "payload"), torrent, piece_size)
    return src, torrent, ["payload/data.bin"]


def cswarm_run(c, args, mode, sets=()):
    return swtest.CswarmRun(c, list(args) + [mode], None, list(sets))


def cswarm_seed(c, torrent, src, mode, peers=(), sets=()):
    args = ["seed", torrent, "-d", src]
    for p in peers:
        args += ["--peer", p]
    run = cswarm_run(c, args, mode, sets)
    swtest.wait_for(lambda: run.has_event("seeding") or (run.last() or {}).get("state") in
                    ("seeding", "finished") or run.p.poll() is not None, 30, "cswarm seed ready")
    if run.p.poll() is not None:
        raise AssertionError("cswarm seed exited: " + run.stderr_text())
    return run


def cswarm_download(c, torrent, out, mode, peers=(), sets=()):
    args = ["download", torrent, "-o", out]
    for p in peers:
        args += ["--peer", p]
    return cswarm_run(c, args, mode, sets)


def lt_utp_only(c, port):
    ses = swtest.lt_session(port, utp=True)
    ses.apply_settings({"enable_outgoing_tcp": False, "enable_incoming_tcp": False})
    return ses


def lt_saw_utp(h):
    peers = h.get_peer_info()
    return any(p.flags & LT_UTP_SOCKET for p in peers)


def test_cswarm_to_cswarm_utp_only():
    with Cleanup() as c:
        src, torrent, rels = payload(c, 8 * 1024 * 1024 + 4321)
        seeder = cswarm_seed(c, torrent, src, "--utp-only")
        out = c.tempdir()
        dl = cswarm_download(c, torrent, out, "--utp-only",
                             peers=["127.0.0.1:%d" % seeder.port])
        rc = dl.wait_exit(TIMEOUT)
        assert rc == 0, dl.stderr_text()
        assert_same_files(src, out, rels)
        assert seeder.stop() == 0, seeder.stderr_text()


def cswarm_from_libtorrent(cswarm_dials):
    with Cleanup() as c:
        src, torrent, rels = payload(c, 6 * 1024 * 1024 + 77)
        port = swtest.free_port()
        ses = lt_utp_only(c, port)
        h = swtest.lt_add(ses, torrent, src)
        c.on_close(lambda: ses.remove_torrent(h))
        swtest.lt_wait_state(h, (lt.torrent_status.seeding,), 30, "libtorrent to seed")
        h.set_upload_limit(SLOW)  # long enough to see the connection in the peer list
        out = c.tempdir()
        dl = cswarm_download(c, torrent, out, "--utp-only",
                             peers=["127.0.0.1:%d" % port] if cswarm_dials else [])
        saw_utp = []
        if not cswarm_dials:
            swtest.wait_for(lambda: (dl.last() or {}).get("state") == "downloading", 30,
                            "cswarm to finish checking")
            h.connect_peer(("127.0.0.1", dl.port))

        def done():
            if lt_saw_utp(h):
                saw_utp.append(True)
            return dl.p.poll() is not None
        swtest.wait_for(done, TIMEOUT, "cswarm download over uTP from libtorrent")
        assert dl.p.returncode == 0, dl.stderr_text()
        assert_same_files(src, out, rels)
        assert h.status().total_payload_upload > 0
        assert saw_utp, "libtorrent never listed a uTP peer"


def libtorrent_from_cswarm(cswarm_dials):
    with Cleanup() as c:
        src, torrent, rels = payload(c, 6 * 1024 * 1024 + 77)
        port = swtest.free_port()
        ses = lt_utp_only(c, port)
        out = c.tempdir()
        h = swtest.lt_add(ses, torrent, out)
        h.set_download_limit(SLOW)  # long enough to see the connection in the peer list
        c.on_close(lambda: ses.remove_torrent(h))
        seeder = cswarm_seed(c, torrent, src, "--utp-only",
                             peers=["127.0.0.1:%d" % port] if cswarm_dials else [])
        if not cswarm_dials:
            swtest.lt_wait_state(h, (lt.torrent_status.downloading,), 30, "libtorrent ready")
            h.connect_peer(("127.0.0.1", seeder.port))
        saw_utp = []

        def done():
            if lt_saw_utp(h):
                saw_utp.append(True)
            return h.status().is_seeding
        swtest.wait_for(done, TIMEOUT, "libtorrent download over uTP from cswarm")
        assert_same_files(src, out, rels)
        assert saw_utp, "libtorrent never listed a uTP peer"
        assert seeder.stop() == 0, seeder.stderr_text()


def test_cswarm_downloads_from_libtorrent_utp_cswarm_dials():
    cswarm_from_libtorrent(cswarm_dials=True)


def test_cswarm_downloads_from_libtorrent_utp_libtorrent_dials():
    cswarm_from_libtorrent(cswarm_dials=False)


def test_libtorrent_downloads_from_cswarm_utp_libtorrent_dials():
    libtorrent_from_cswarm(cswarm_dials=False)


def test_libtorrent_downloads_from_cswarm_utp_cswarm_dials():
    libtorrent_from_cswarm(cswarm_dials=True)


def test_mixed_tcp_and_utp_peers_at_once():
    """One downloader, two seeds: libtorrent over uTP only and cswarm over TCP
    only. Both seeds are slowed so that neither finishes alone, and both must
    have uploaded a part."""
    with Cleanup() as c:
        size = 12 * 1024 * 1024
        src, torrent, rels = payload(c, size, piece_size=65536)
        port = swtest.free_port()
        ses = lt_utp_only(c, port)
        h = swtest.lt_add(ses, torrent, src)
        c.on_close(lambda: ses.remove_torrent(h))
        swtest.lt_wait_state(h, (lt.torrent_status.seeding,), 30, "libtorrent to seed")
        h.set_upload_limit(2 * 1024 * 1024)
        tcp_seed = cswarm_seed(c, torrent, src, "--no-utp", sets=["upload_rate_limit=2097152"])
        out = c.tempdir()
        dl = cswarm_download(c, torrent, out, "--utp",
                             peers=["127.0.0.1:%d" % port, "127.0.0.1:%d" % tcp_seed.port])
        saw_utp = []

        def done():
            if lt_saw_utp(h):
                saw_utp.append(True)
            return dl.p.poll() is not None
        swtest.wait_for(done, TIMEOUT, "mixed download")
        assert dl.p.returncode == 0, dl.stderr_text()
        assert_same_files(src, out, rels)
        lt_up = h.status().total_payload_upload
        swtest.wait_for(lambda: (tcp_seed.last() or {}).get("total_upload", 0) > 0, 10,
                        "TCP seed's upload counter")
        tcp_up = tcp_seed.last()["total_upload"]
        swtest.log("mixed: libtorrent (uTP) sent %d, cswarm (TCP) sent %d" % (lt_up, tcp_up))
        assert saw_utp, "libtorrent's peer was not on uTP"
        assert lt_up > size // 8 and tcp_up > size // 8, (lt_up, tcp_up)
        assert tcp_seed.stop() == 0, tcp_seed.stderr_text()


def test_utp_first_falls_back_to_tcp():
    """A downloader with both transports dials a seed that accepts TCP only:
    the uTP attempt gets no answer and the connection is made over TCP."""
    with Cleanup() as c:
        src, torrent, rels = payload(c, 2 * 1024 * 1024)
        seeder = cswarm_seed(c, torrent, src, "--no-utp")
        out = c.tempdir()
        t0 = time.time()
        dl = cswarm_download(c, torrent, out, "--utp", peers=["127.0.0.1:%d" % seeder.port],
                             sets=["utp_connect_timeout=1000"])
        rc = dl.wait_exit(TIMEOUT)
        assert rc == 0, dl.stderr_text()
        assert_same_files(src, out, rels)
        swtest.log("fallback download took %.1fs" % (time.time() - t0))
        assert seeder.stop() == 0, seeder.stderr_text()


def impair_tool():
    build = os.environ.get("CSWARM_BUILD_DIR")
    path = os.path.join(build, "tests", "udp_impair") if build else None
    if not path or not os.path.exists(path):
        raise AssertionError("udp_impair not built (CSWARM_BUILD_DIR=%s)" % build)
    return path


def test_impaired_64mib_through_relay():
    with Cleanup() as c:
        size = 64 * 1024 * 1024
        src, torrent, rels = payload(c, size, piece_size=1 << 20)
        # The seed only accepts: its one connection is the one through the relay.
        seeder = cswarm_seed(c, torrent, src, "--utp-only", sets=["enable_outgoing_utp=false"])
        relay = c.proc(subprocess.Popen(
            [impair_tool(), "--target", "127.0.0.1:%d" % seeder.port, "--loss", "2",
             "--delay-ms", "20", "--jitter-ms", "10", "--reorder", "5", "--seed", "12345"],
            stdout=subprocess.PIPE, text=True))
        line = relay.stdout.readline().split()
        assert line and line[0] == "ready", line
        relay_port = int(line[1])
        out = c.tempdir()
        t0 = time.time()
        dl = cswarm_download(c, torrent, out, "--utp-only",
                             peers=["127.0.0.1:%d" % relay_port])
        rc = dl.wait_exit(600)
        secs = time.time() - t0
        assert rc == 0, dl.stderr_text()
        assert_same_files(src, out, rels)
        swtest.stop_process(relay)
        stats = relay.stdout.read().strip()
        swtest.log("64 MiB through the relay in %.1fs (%.1f MiB/s); relay %s"
                   % (secs, size / secs / 1048576, stats))
        assert '"dropped":0,' not in stats, "the relay dropped nothing: " + stats
        assert '"reordered":0}' not in stats, "the relay reordered nothing: " + stats
        assert seeder.stop() == 0, seeder.stderr_text()


def netem_available():
    """Whether tc netem works in a fresh network namespace; (ok, reason)."""
    if not shutil.which("ip") or not shutil.which("tc"):
        return False, "ip or tc is not installed"
    ns = "cswarm-netem-probe-%d" % os.getpid()
    r = subprocess.run(["ip", "netns", "add", ns], capture_output=True, text=True)
    if r.returncode != 0:
        return False, "ip netns add failed: " + r.stderr.strip()
    try:
        subprocess.run(["ip", "netns", "exec", ns, "ip", "link", "set", "lo", "up"],
                       capture_output=True)
        r = subprocess.run(["ip", "netns", "exec", ns, "tc", "qdisc", "add", "dev", "lo", "root",
                            "netem", "delay", "20ms"], capture_output=True, text=True)
        if r.returncode != 0:
            return False, "tc qdisc add netem failed: " + (r.stderr.strip() or r.stdout.strip())
        return True, ""
    finally:
        subprocess.run(["ip", "netns", "del", ns], capture_output=True)


def test_impaired_64mib_netem():
    ok, why = netem_available()
    if not ok:
        swtest.log("SKIP netem variant: %s (the relay variant covers loss, delay and "
                   "reordering)" % why)
        return
    ns = "cswarm-netem-%d" % os.getpid()
    subprocess.run(["ip", "netns", "add", ns], check=True)
    try:
        subprocess.run(["ip", "netns", "exec", ns, "ip", "link", "set", "lo", "up"], check=True)
        subprocess.run(["ip", "netns", "exec", ns, "tc", "qdisc", "add", "dev", "lo", "root",
                        "netem", "loss", "2%", "delay", "20ms", "10ms", "reorder", "25%", "50%"],
                       check=True)
        with Cleanup() as c:
            size = 64 * 1024 * 1024
            src, torrent, rels = payload(c, size, piece_size=1 << 20)
            sets = [s for s in swtest.LOOPBACK_SETS]
            base = ["ip", "netns", "exec", ns, swtest.CSWARM]
            sport, dport = swtest.free_port(), swtest.free_port()
            common = ["--utp-only", "--quiet"]
            for s in sets:
                common += ["--set", s]
            seed = c.proc(subprocess.Popen(base + ["seed", torrent, "-d", src, "--listen",
                                                   str(sport)] + common))
            time.sleep(2)  # no port probe into the namespace; the seed checks 64 MiB
            out = c.tempdir()
            dl = subprocess.run(base + ["download", torrent, "-o", out, "--listen", str(dport),
                                        "--peer", "127.0.0.1:%d" % sport] + common,
                                timeout=600)
            assert dl.returncode == 0
            assert_same_files(src, out, rels)
            swtest.stop_process(seed)
    finally:
        subprocess.run(["ip", "netns", "del", ns], capture_output=True)


def main():
    tests = [(n, f) for n, f in sorted(globals().items()) if n.startswith("test_") and callable(f)]
    only = sys.argv[1:]
    failed = 0
    for name, fn in tests:
        if only and name not in only:
            continue
        t0 = time.time()
        try:
            fn()
            swtest.log("PASS %s (%.1fs)" % (name, time.time() - t0))
        except Exception as e:  # report and go on with the next case
            failed += 1
            swtest.log("FAIL %s: %r" % (name, e))
            traceback.print_exc()
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
