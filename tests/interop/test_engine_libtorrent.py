"""cswarm <-> libtorrent 2.0 over TCP on 127.0.0.1, both directions, with
each side opening the connection: cswarm downloads from a libtorrent seed and
libtorrent downloads from a cswarm seed. Covers v1 torrents made by cswarm,
a hybrid v1+v2 torrent with pad files made by libtorrent, multi-file data
with an empty file and a short last piece. Compared byte for byte."""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import swtest  # noqa: E402
from swtest import Cleanup, assert_same_files, cswarm_create, cswarm_download, cswarm_seed  # noqa

import libtorrent as lt  # noqa: E402

FILES = [("payload/a.bin", 6_000_001), ("payload/empty", 0), ("payload/d/b.bin", 1_234_567)]


def make_payload(c, piece_size=65536, hybrid=False):
    src = c.tempdir()
    swtest.make_tree(src, FILES)
    torrent = os.path.join(c.tempdir(), "t.torrent")
    if hybrid:
        fs = lt.file_storage()
        lt.add_files(fs, os.path.join(src, "payload"))
        ct = lt.create_torrent(fs, piece_size)
        lt.set_piece_hashes(ct, src)
        with open(torrent, "wb") as f:
            f.write(lt.bencode(ct.generate()))
    else:
        cswarm_create(os.path.join(src, "payload"), torrent, piece_size)
    return src, torrent, [f for f, _ in FILES]


def cswarm_from_libtorrent(hybrid=False, cswarm_dials=True):
    with Cleanup() as c:
        src, torrent, rels = make_payload(c, hybrid=hybrid)
        ses, h, lt_port = swtest.lt_seed(c, torrent, src)
        out = c.tempdir()
        peers = ["127.0.0.1:%d" % lt_port] if cswarm_dials else []
        dl = cswarm_download(c, torrent, out, peers=peers)
        if not cswarm_dials:
            swtest.wait_for(lambda: swtest.port_open(dl.port), 20, "cswarm to listen")
            swtest.wait_for(lambda: (dl.last() or {}).get("state") == "downloading", 30,
                            "cswarm to finish checking")
            h.connect_peer(("127.0.0.1", dl.port))
        rc = dl.wait_exit(120)
        assert rc == 0, dl.stderr_text()
        assert_same_files(src, out, rels)
        assert h.status().total_payload_upload > 0


def libtorrent_from_cswarm(cswarm_dials=False, hybrid=False):
    with Cleanup() as c:
        src, torrent, rels = make_payload(c, hybrid=hybrid)
        out = c.tempdir()
        ses, h, port = swtest.lt_start(c, torrent, out)
        seeder = cswarm_seed(c, torrent, src,
                             peers=["127.0.0.1:%d" % port] if cswarm_dials else [])
        swtest.wait_for(lambda: seeder.has_event("seeding"), 30, "cswarm to seed")
        if not cswarm_dials:
            swtest.lt_wait_state(h, (lt.torrent_status.downloading,), 30, "libtorrent ready")
            h.connect_peer(("127.0.0.1", seeder.port))
        swtest.wait_for(lambda: h.status().is_seeding, 120,
                        "libtorrent to complete (status %s)" % h.status().state)
        assert_same_files(src, out, rels)
        assert seeder.stop() == 0, seeder.stderr_text()


def test_cswarm_downloads_from_libtorrent_cswarm_dials():
    cswarm_from_libtorrent(cswarm_dials=True)


def test_cswarm_downloads_from_libtorrent_libtorrent_dials():
    cswarm_from_libtorrent(cswarm_dials=False)


def test_cswarm_downloads_hybrid_with_pad_files_from_libtorrent():
    cswarm_from_libtorrent(hybrid=True)


def test_libtorrent_downloads_from_cswarm_libtorrent_dials():
    libtorrent_from_cswarm(cswarm_dials=False)


def test_libtorrent_downloads_from_cswarm_cswarm_dials():
    libtorrent_from_cswarm(cswarm_dials=True)


def test_libtorrent_downloads_hybrid_from_cswarm():
    libtorrent_from_cswarm(hybrid=True)


def main():
    return swtest.run_tests(swtest.tests_in(globals()), sys.argv[1:])


if __name__ == "__main__":
    sys.exit(main())
