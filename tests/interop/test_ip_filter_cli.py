"""--ip-filter with libtorrent on 127.0.0.1.

A cswarm seeder loads a blocklist that covers 127.0.0.1 (eMule/DAT and P2P
lines, plus one malformed line it warns about): a libtorrent downloader
that dials it gets nothing. A second cswarm seeder whose list covers other
ranges only serves the same libtorrent downloader completely. A cswarm
downloader whose list covers 127.0.0.1 never connects to a libtorrent seed
it is told about (--peer), while the same download without the list
completes."""

import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import swtest  # noqa: E402

import libtorrent as lt  # noqa: E402

FILES = [("payload/a.bin", 3 * 1024 * 1024 + 17), ("payload/b.bin", 700_001)]

BLOCK_LOOPBACK = """# test blocklist
010.000.000.000 - 010.255.255.255 , 000 , private net
127.000.000.000 - 127.000.000.255 , 050 , loopback
this line is not a range
Example:192.0.2.0-192.0.2.255
"""

BLOCK_OTHERS = """Example:192.0.2.0-192.0.2.255
10.0.0.0 - 10.255.255.255 , 0 , private net
127.0.0.0 - 127.0.0.255 , 200 , allowed by its level
"""


def write(c, text):
    path = os.path.join(c.tempdir(), "filter.dat")
    with open(path, "w") as f:
        f.write(text)
    return path


def seed_with_filter(c, torrent, src, filter_path):
    run = swtest.CswarmRun(c, ["seed", torrent, "-d", src, "--ip-filter", filter_path])
    swtest.wait_for(lambda: swtest.port_open(run.port) or run.p.poll() is not None, 20,
                    "cswarm seed to listen")
    assert run.p.poll() is None, run.stderr_text()
    swtest.wait_for(lambda: (run.last() or {}).get("state") == "seeding", 30, "cswarm to seed")
    return run


def lt_downloader(c, torrent, seeder_port):
    out = c.tempdir()
    # TCP only: over uTP the blocked seed's refusals reach libtorrent as
    # resets, which it counts as failed connects to 127.0.0.1 and backs off
    # from before it dials the second seed on the same address.
    ses, h, _ = swtest.lt_start(c, torrent, out, utp=False)
    h.connect_peer((swtest.LOOPBACK, seeder_port))
    return ses, h, out


def test_seeder_refuses_blocked_libtorrent():
    with swtest.Cleanup() as c:
        src, torrent = swtest.make_payload(c, FILES, 65536)

        blocked = seed_with_filter(c, torrent, src, write(c, BLOCK_LOOPBACK))
        err = blocked.stderr_text()
        assert "1 malformed line(s) skipped (first: line 4)" in err, err
        assert "ip filter: 3 rule(s)" in err, err
        ses, h, _ = lt_downloader(c, torrent, blocked.port)
        # Several connection attempts' worth of time: nothing gets through.
        deadline = time.time() + 6
        while time.time() < deadline:
            h.connect_peer((swtest.LOOPBACK, blocked.port))
            st = h.status()
            assert st.total_payload_download == 0, st.total_payload_download
            assert (blocked.last() or {}).get("peers", 0) == 0
            time.sleep(0.5)
        assert (blocked.last() or {}).get("total_upload", 0) == 0

        allowed = seed_with_filter(c, torrent, src, write(c, BLOCK_OTHERS))
        h.connect_peer((swtest.LOOPBACK, allowed.port))
        swtest.lt_wait_state(h, (lt.torrent_status.seeding,), 60, "libtorrent to download")
        assert (blocked.last() or {}).get("total_upload", 0) == 0


def test_downloader_never_dials_blocked():
    with swtest.Cleanup() as c:
        src, torrent = swtest.make_payload(c, FILES, 65536)
        ses, h, lt_port = swtest.lt_seed(c, torrent, src)

        out = c.tempdir()
        dl = swtest.CswarmRun(c, ["download", torrent, "-o", out, "--ip-filter",
                                  write(c, BLOCK_LOOPBACK), "--peer",
                                  "127.0.0.1:%d" % lt_port])
        swtest.wait_for(lambda: dl.last() is not None, 30, "cswarm to report")
        time.sleep(4)
        assert dl.p.poll() is None, dl.stderr_text()
        last = dl.last()
        assert last["peers"] == 0 and last["total_wanted_done"] == 0, last
        assert h.status().num_peers == 0
        assert h.status().total_payload_upload == 0
        dl.stop()

        out2 = c.tempdir()
        ok = swtest.cswarm_download(c, torrent, out2, peers=["127.0.0.1:%d" % lt_port])
        assert ok.wait_exit(60) == 0, ok.stderr_text()
        swtest.assert_same_files(src, out2, [f for f, _ in FILES])


def main():
    return swtest.run_tests(swtest.tests_in(globals()), sys.argv[1:])


if __name__ == "__main__":
    sys.exit(main())
