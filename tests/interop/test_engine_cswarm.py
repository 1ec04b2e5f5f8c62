"""cswarm <-> cswarm over TCP on 127.0.0.1: single and multi-file torrents,
short last pieces, zero-byte files, 16 KiB and 16 MiB pieces, IPv6, a second
run that resumes without downloading, SIGINT and kill -9 mid-download then
resume. Every result is compared byte for byte."""

import os
import signal
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import swtest  # noqa: E402
from swtest import Cleanup, assert_same_files, cswarm_create, cswarm_download, cswarm_seed  # noqa


def transfer(c, files, piece_size, seed_sets=(), dl_sets=(), ipv6=False):
    src = c.tempdir()
    name = "payload"
    rels = [os.path.join(name, f) for f, _ in files]
    swtest.make_tree(src, [(r, s) for r, (_, s) in zip(rels, files)])
    torrent = os.path.join(c.tempdir(), "t.torrent")
    cswarm_create(os.path.join(src, name), torrent, piece_size)
    seed_extra = list(seed_sets)
    host = "127.0.0.1"
    if ipv6:
        seed_extra.append("listen_interfaces=::1")
        host = "[::1]"
    seeder = cswarm_seed(c, torrent, src, extra_sets=seed_extra) if not ipv6 else None
    if ipv6:
        seeder = swtest.CswarmRun(c, ["seed", torrent, "-d", src], None, seed_extra)
        swtest.wait_for(lambda: seeder.has_event("seeding"), 30, "seeder ready")
    out = c.tempdir()
    dl = cswarm_download(c, torrent, out, peers=["%s:%d" % (host, seeder.port)],
                         extra_sets=dl_sets)
    rc = dl.wait_exit(120)
    assert rc == 0, "download exited %s: %s" % (rc, dl.stderr_text())
    assert_same_files(src, out, rels)
    assert seeder.stop() == 0, seeder.stderr_text()
    return src, out, torrent, rels, dl


def test_single_file_short_last_piece_16k():
    with Cleanup() as c:
        transfer(c, [("one.bin", 3 * 1024 * 1024 + 1234)], 16384)


def test_multi_file_with_empty_files():
    with Cleanup() as c:
        src, out, _, rels, _ = transfer(c, [
            ("a.bin", 1_000_003),
            ("empty1.txt", 0),
            ("sub/b.bin", 2_500_000),
            ("sub/deeper/empty2", 0),
            ("sub/deeper/c.bin", 65536),
            ("z.bin", 77),
        ], 65536)
        for r in rels:
            assert os.path.exists(os.path.join(out, r)), r


def test_16mib_pieces():
    with Cleanup() as c:
        transfer(c, [("big.bin", 40 * 1024 * 1024 + 5)], 16 * 1024 * 1024)


def test_ipv6_peer():
    with Cleanup() as c:
        transfer(c, [("v6.bin", 2 * 1024 * 1024 + 99)], 32768, ipv6=True)


def test_second_run_resumes_without_download():
    with Cleanup() as c:
        src, out, torrent, rels, _ = transfer(c, [("r.bin", 5 * 1024 * 1024 + 7)], 65536)
        again = cswarm_download(c, torrent, out)
        assert again.wait_exit(60) == 0, again.stderr_text()
        last = again.last()
        assert last and last["total_download"] == 0, last
        assert last["num_pieces"] == last["total_pieces"]
        assert_same_files(src, out, rels)


def interrupted_then_resumed(sig):
    with Cleanup() as c:
        rels = ["payload/x.bin", "payload/y.bin"]
        size = 24 * 1024 * 1024
        src, torrent = swtest.make_payload(c, [(rels[0], size), (rels[1], 3_000_001)], 262144)
        total = size + 3_000_001
        # A slow seeder, so the download is caught half-way.
        seeder = cswarm_seed(c, torrent, src, extra_sets=["upload_rate_limit=4000000"])
        out = c.tempdir()
        peer = ["127.0.0.1:%d" % seeder.port]
        dl = cswarm_download(c, torrent, out, peers=peer)
        swtest.wait_for(lambda: (dl.last() or {}).get("total_wanted_done", 0) > total // 4, 60,
                        "a quarter downloaded")
        dl.stop(sig)
        assert dl.p.returncode != 0
        if sig == signal.SIGINT:
            resume = os.path.join(out, ".cswarm", swtest.info_hash_hex(torrent) + ".resume")
            assert os.path.exists(resume), "no resume data after SIGINT"
        seeder.stop()
        seeder = cswarm_seed(c, torrent, src)
        dl2 = cswarm_download(c, torrent, out, peers=["127.0.0.1:%d" % seeder.port])
        assert dl2.wait_exit(120) == 0, dl2.stderr_text()
        first = next(o for o in dl2.lines if "state" in o)
        last = dl2.last()
        assert last["total_download"] < total * 0.9, \
            "downloaded %d of %d again" % (last["total_download"], total)
        if sig == signal.SIGINT:
            assert first["state"] in ("checking_resume_data", "downloading", "seeding"), first
        assert_same_files(src, out, rels)
        seeder.stop()


def test_sigint_then_resume():
    interrupted_then_resumed(signal.SIGINT)


def test_kill9_then_resume():
    interrupted_then_resumed(signal.SIGKILL)


def main():
    return swtest.run_tests(swtest.tests_in(globals()), sys.argv[1:])


if __name__ == "__main__":
    sys.exit(main())
