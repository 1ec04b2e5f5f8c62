"""The torrent-mode options of `cswarm seed` and `cswarm download` reach the
torrent: --seed-mode and --super-seed on a seeder, --sequential on a
downloader (each shown in the --json-progress "modes" list), the transfer
completes byte for byte, and a seed-mode seeder with a corrupted piece
starts seeding without a check, then leaves seed mode once a peer asks
for data and the bad piece is found."""

import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "interop"))
import swtest  # noqa: E402
from swtest import (Cleanup, CswarmRun, assert_same_files, cswarm_create,  # noqa: E402
                    cswarm_download, port_open, wait_for)

PIECE = 32768


def make_payload(c):
    src = c.tempdir()
    rels = ["payload/a.bin", "payload/b.bin"]
    swtest.make_tree(src, [(rels[0], 900_001), (rels[1], 400_000)])
    torrent = os.path.join(c.tempdir(), "t.torrent")
    cswarm_create(os.path.join(src, "payload"), torrent, PIECE)
    return src, rels, torrent


def seed_with(c, torrent, data_dir, options):
    run = CswarmRun(c, ["seed", torrent, "-d", data_dir] + options)
    wait_for(lambda: port_open(run.port) or run.p.poll() is not None, 20, "cswarm seed to listen")
    assert run.p.poll() is None, run.stderr_text()
    return run


def modes_seen(run):
    return {m for line in run.lines for m in line.get("modes", [])}


def test_modes_reach_the_torrent():
    with Cleanup() as c:
        src, rels, torrent = make_payload(c)
        seeder = seed_with(c, torrent, src, ["--seed-mode", "--super-seed"])
        out = c.tempdir()
        dl = CswarmRun(c, ["download", torrent, "-o", out, "--sequential",
                           "--peer", "127.0.0.1:%d" % seeder.port])
        rc = dl.wait_exit(120)
        assert rc == 0, "download exited %s: %s" % (rc, dl.stderr_text())
        assert_same_files(src, out, rels)
        assert "sequential" in modes_seen(dl), dl.lines[-3:]
        wait_for(lambda: {"seed_mode", "super_seeding"} <= modes_seen(seeder), 20,
                 "the seeder's status to list its modes")
        assert seeder.stop() == 0, seeder.stderr_text()


def test_seed_mode_finds_a_bad_piece_when_it_is_read():
    with Cleanup() as c:
        src, _, torrent = make_payload(c)
        # One byte wrong in the first piece: a check would find it at once.
        path = os.path.join(src, "payload/a.bin")
        with open(path, "r+b") as f:
            f.seek(100)
            b = f.read(1)
            f.seek(100)
            f.write(bytes([b[0] ^ 0xFF]))
        seeder = seed_with(c, torrent, src, ["--seed-mode"])
        wait_for(lambda: any(line.get("state") == "seeding" and "seed_mode" in line.get("modes", [])
                             for line in seeder.lines), 20, "seeding in seed mode, unchecked")
        out = c.tempdir()
        dl = cswarm_download(c, torrent, out, peers=["127.0.0.1:%d" % seeder.port])
        # Serving the first piece finds it bad: seed mode ends and the
        # recheck leaves the seeder short of that piece.
        wait_for(lambda: any("seed_mode" not in line.get("modes", ["seed_mode"]) and
                             line.get("num_pieces", -1) < line.get("total_pieces", 0)
                             for line in seeder.lines), 60, "seed mode to end with a piece missing")
        assert dl.p.poll() is None or dl.p.returncode != 0, "download completed from bad data"
        dl.stop()
        seeder.stop()


def main():
    return swtest.run_tests(swtest.tests_in(globals()), sys.argv[1:])


if __name__ == "__main__":
    sys.exit(main())
