"""Peers finding each other through a tracker only (no --peer, no DHT):
cswarm seeds and cswarm downloads through opentracker over HTTP and over
UDP; libtorrent downloads from a cswarm seed it learned from the tracker;
and a cswarm seed interrupted with SIGINT sends "stopped", so the tracker
forgets it. Data is compared byte for byte."""

import os
import signal
import socket
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import swtest  # noqa: E402
from swtest import Cleanup, assert_same_files, cswarm_create, cswarm_download, cswarm_seed  # noqa
from swtracker import Opentracker  # noqa: E402

FILES = [("payload/a.bin", 3_000_001), ("payload/d/b.bin", 777_777)]
RELS = [f for f, _ in FILES]


def make_payload(c, trackers):
    """Data plus a .torrent naming the given trackers; returns
    (data folder, torrent path, info-hash hex)."""
    src = c.tempdir()
    swtest.make_tree(src, FILES)
    torrent = os.path.join(c.tempdir(), "t.torrent")
    cmd = [swtest.CSWARM, "create", os.path.join(src, "payload"), "-o", torrent,
           "--piece-size", "65536"]
    for t in trackers:
        cmd += ["-t", t]
    import subprocess
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
    return src, torrent, swtest.info_hash_hex(torrent)


def start_tracker_and_payload(c, scheme):
    # The whitelist needs the info-hash, which depends on the announce URL,
    # which names the tracker's port: pick the port first, then start it.
    port = swtest.free_port()
    url = "%s://127.0.0.1:%d/announce" % (scheme, port)
    src, torrent, ih = make_payload(c, [url])
    tracker = Opentracker(c, [ih], port=port)
    return tracker, src, torrent, ih


def seed_registered(tracker, ih, seeder):
    """Waits until the tracker counts the cswarm seed."""
    tracker.wait_counts(ih, lambda complete, incomplete, downloaded: complete >= 1, 60,
                        "the tracker to list the cswarm seed (seeder stderr: %s)"
                        % seeder.stderr_text())


def udp_port_taken(port):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        s.bind(("127.0.0.1", port))
        return False
    except OSError:
        return True
    finally:
        s.close()


def cswarm_to_cswarm(scheme):
    with Cleanup() as c:
        tracker, src, torrent, ih = start_tracker_and_payload(c, scheme)
        seeder = cswarm_seed(c, torrent, src)
        seed_registered(tracker, ih, seeder)
        if scheme == "udp":
            assert udp_port_taken(seeder.port), \
                "UDP trackers should go through the session's socket on its listen port"
        out = c.tempdir()
        dl = cswarm_download(c, torrent, out)
        rc = dl.wait_exit(120)
        assert rc == 0, dl.stderr_text()
        assert_same_files(src, out, RELS)
        # The downloader announced "completed" before it exited, then
        # "stopped": the tracker counts one download and no downloader.
        complete, incomplete, downloaded = tracker.scrape(ih)
        assert downloaded == 1 and incomplete == 0, (complete, incomplete, downloaded)
        assert seeder.stop() == 0, seeder.stderr_text()


def test_magnet_download_finds_seed_through_its_tr():
    """cswarm download 'magnet:?xt=...&tr=...' with no --peer: the link's
    tracker leads to the seed, ut_metadata fetches the metadata."""
    import subprocess
    with Cleanup() as c:
        tracker, src, torrent, ih = start_tracker_and_payload(c, "http")
        seeder = cswarm_seed(c, torrent, src)
        seed_registered(tracker, ih, seeder)
        link = subprocess.run([swtest.CSWARM, "magnet", torrent], check=True,
                              capture_output=True, text=True).stdout.strip()
        assert "&tr=" in link, link
        out = c.tempdir()
        dl = cswarm_download(c, link, out)
        rc = dl.wait_exit(120)
        assert rc == 0, dl.stderr_text()
        assert_same_files(src, out, RELS)
        assert seeder.stop() == 0, seeder.stderr_text()


def test_cswarm_finds_cswarm_over_http_tracker():
    cswarm_to_cswarm("http")


def test_cswarm_finds_cswarm_over_udp_tracker():
    cswarm_to_cswarm("udp")


def test_libtorrent_finds_cswarm_seed_through_tracker():
    import libtorrent as lt
    with Cleanup() as c:
        tracker, src, torrent, ih = start_tracker_and_payload(c, "http")
        seeder = cswarm_seed(c, torrent, src)
        seed_registered(tracker, ih, seeder)
        out = c.tempdir()
        ses, h, port = swtest.lt_start(c, torrent, out)
        swtest.wait_for(lambda: h.status().is_seeding, 120,
                        "libtorrent to complete (state %s)" % h.status().state)
        assert_same_files(src, out, RELS)
        # libtorrent learned the seed only from the tracker.
        assert any(p.source & lt.peer_info.tracker for p in h.get_peer_info()) or \
            h.status().total_payload_download > 0
        assert seeder.stop() == 0, seeder.stderr_text()


def stopped_announce_on_sigint(scheme):
    with Cleanup() as c:
        tracker, src, torrent, ih = start_tracker_and_payload(c, scheme)
        seeder = cswarm_seed(c, torrent, src)
        seed_registered(tracker, ih, seeder)
        t0 = time.time()
        rc = seeder.stop(signal.SIGINT)
        assert rc == 0, seeder.stderr_text()
        # The stopped announce went out before the process ended.
        complete, incomplete, _ = tracker.scrape(ih)
        assert complete == 0 and incomplete == 0, \
            "tracker still lists the seed: %r (stopped after %.1fs)" % (
                (complete, incomplete), time.time() - t0)


def test_stopped_announce_on_sigint_http():
    stopped_announce_on_sigint("http")


def test_stopped_announce_on_sigint_udp():
    stopped_announce_on_sigint("udp")


def main():
    return swtest.run_tests(swtest.tests_in(globals()), sys.argv[1:])


if __name__ == "__main__":
    sys.exit(main())
