"""cswarm <-> Transmission 3.00 over TCP on 127.0.0.1, both directions.
Transmission only dials peers it is told about, and its RPC cannot add a
peer, so cswarm opens the connection in both cases: to a Transmission seed
when downloading, to a Transmission downloader when seeding. Transmission
waits about 10 s before it sends to a new peer, so the data is tens of MiB
and the timeouts generous. Compared byte for byte."""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import swtest  # noqa: E402
from swtest import Cleanup, assert_same_files, cswarm_create, cswarm_download, cswarm_seed  # noqa

FILES = [("payload/big.bin", 24 * 1024 * 1024 + 4321), ("payload/empty.txt", 0),
         ("payload/sub/small.bin", 700_001)]


def make_payload(c):
    src, torrent = swtest.make_payload(c, FILES, 262144)
    return src, torrent, [f for f, _ in FILES]


def test_cswarm_downloads_from_transmission():
    with Cleanup() as c:
        src, torrent, rels = make_payload(c)
        tr = swtest.Transmission(c, src)
        tr.add(torrent)
        swtest.wait_for(lambda: tr.percent_done() >= 100.0, 60, "transmission to verify its data")
        out = c.tempdir()
        dl = cswarm_download(c, torrent, out, peers=["127.0.0.1:%d" % tr.peer_port])
        rc = dl.wait_exit(180)
        assert rc == 0, "%s\n%s" % (dl.stderr_text(), tr.log_text())
        assert_same_files(src, out, rels)


def test_transmission_downloads_from_cswarm():
    with Cleanup() as c:
        src, torrent, rels = make_payload(c)
        out = c.tempdir()
        tr = swtest.Transmission(c, out)
        tr.add(torrent)
        seeder = cswarm_seed(c, torrent, src, peers=["127.0.0.1:%d" % tr.peer_port])
        swtest.wait_for(lambda: tr.percent_done() >= 100.0, 180,
                        "transmission to complete (last status %s)" % seeder.last())
        # Transmission 3.00 does not create zero-byte files.
        assert_same_files(src, out, [f for f, s in FILES if s > 0])
        assert seeder.stop() == 0, seeder.stderr_text()
        assert seeder.last()["total_upload"] >= sum(s for _, s in FILES)


def main():
    return swtest.run_tests(swtest.tests_in(globals()), sys.argv[1:])


if __name__ == "__main__":
    sys.exit(main())
