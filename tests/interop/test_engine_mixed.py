"""One cswarm downloading from three seeds of different clients at once: a
cswarm seed, a libtorrent seed and a Transmission seed, all on 127.0.0.1.
The cswarm and libtorrent seeds are rate-limited so the transfer lasts long
enough for Transmission (which waits about 10 s before it sends) to take
part; each seed must have sent data and the result must match byte for
byte."""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import swtest  # noqa: E402
from swtest import Cleanup, assert_same_files, cswarm_create, cswarm_download, cswarm_seed  # noqa

import libtorrent as lt  # noqa: E402

FILES = [("payload/a.bin", 30 * 1024 * 1024 + 17), ("payload/b.bin", 5 * 1024 * 1024)]
LIMIT = 1_000_000  # bytes/s for the cswarm and libtorrent seeds


def parse_size(text):
    """'12.34 MB' (Transmission's units are powers of 1000) -> bytes."""
    parts = text.split()
    if not parts:
        return 0
    try:
        v = float(parts[0].replace(",", ""))
    except ValueError:
        return 0
    unit = parts[1] if len(parts) > 1 else "B"
    scale = {"B": 1, "bytes": 1, "kB": 1e3, "KB": 1e3, "MB": 1e6, "GB": 1e9}.get(unit, 1)
    return int(v * scale)


def test_three_seeds_of_mixed_clients():
    with Cleanup() as c:
        src, torrent = swtest.make_payload(c, FILES, 262144)
        rels = [f for f, _ in FILES]
        total = sum(s for _, s in FILES)

        tr = swtest.Transmission(c, src)
        tr.add(torrent)
        ses, h, lt_port = swtest.lt_start(c, torrent, src)
        h.set_upload_limit(LIMIT)
        seeder = cswarm_seed(c, torrent, src, extra_sets=["upload_rate_limit=%d" % LIMIT])
        swtest.lt_wait_state(h, (lt.torrent_status.seeding,), 30, "libtorrent to seed")
        swtest.wait_for(lambda: tr.percent_done() >= 100.0, 60, "transmission to verify")
        swtest.wait_for(lambda: seeder.has_event("seeding"), 30, "cswarm to seed")

        out = c.tempdir()
        dl = cswarm_download(c, torrent, out, peers=[
            "127.0.0.1:%d" % seeder.port, "127.0.0.1:%d" % lt_port,
            "127.0.0.1:%d" % tr.peer_port])
        rc = dl.wait_exit(240)
        assert rc == 0, dl.stderr_text()
        assert_same_files(src, out, rels)
        assert dl.last()["total_download"] >= total

        from_lt = h.status().total_payload_upload
        from_tr = parse_size(tr.info().get("Uploaded", "0 B"))
        seeder.stop()
        from_cswarm = seeder.last()["total_upload"]
        swtest.log("sent: cswarm %d, libtorrent %d, transmission %d" %
                   (from_cswarm, from_lt, from_tr))
        assert from_cswarm > 0, "the cswarm seed sent nothing"
        assert from_lt > 0, "the libtorrent seed sent nothing"
        assert from_tr > 0, "the Transmission seed sent nothing"


def main():
    return swtest.run_tests([test_three_seeds_of_mixed_clients])


if __name__ == "__main__":
    sys.exit(main())
