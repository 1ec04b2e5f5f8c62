"""ut_metadata (BEP 9) with real clients on 127.0.0.1:
- `cswarm download MAGNET --peer` completes against a libtorrent seed and
  against a Transmission seed (metadata first, then the data);
- libtorrent, given only a magnet link, fetches the metadata from a cswarm
  seed and downloads;
- metadata that does not match the info-hash is refused (a Python peer
  serves a dictionary with one byte changed) and the download completes
  once an honest peer appears;
- a metadata_size above max_metadata_size is never fetched."""

import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import swtest  # noqa: E402
from evil_peer import EvilMetadata, load_torrent  # noqa: E402
from swtest import Cleanup  # noqa: E402

import libtorrent as lt  # noqa: E402

FILES = [("payload/a.bin", 2_500_001), ("payload/d/b.bin", 600_000), ("payload/empty", 0)]


def make_payload(c, piece_size=32768, files=FILES):
    src, torrent = swtest.make_payload(c, files, piece_size)
    return src, torrent, [f for f, _ in files]


def magnet(torrent, name=None):
    link = "magnet:?xt=urn:btih:" + swtest.info_hash_hex(torrent)
    return link + ("&dn=" + name if name else "")


def test_magnet_from_libtorrent():
    with Cleanup() as c:
        src, torrent, rels = make_payload(c)
        ses, h, port = swtest.lt_seed(c, torrent, src)
        out = c.tempdir()
        dl = swtest.cswarm_download(c, magnet(torrent), out, peers=["127.0.0.1:%d" % port])
        rc = dl.wait_exit(120)
        assert rc == 0, dl.stderr_text()
        assert dl.has_event("metadata_received"), dl.lines[-3:]
        swtest.assert_same_files(src, out, rels)


def test_magnet_from_transmission():
    with Cleanup() as c:
        src, torrent, rels = make_payload(c)
        tr = swtest.Transmission(c, src)
        tr.add(torrent)
        swtest.wait_for(lambda: tr.percent_done() >= 100.0, 60, "Transmission to verify")
        out = c.tempdir()
        dl = swtest.cswarm_download(c, magnet(torrent, "named"), out,
                                    peers=["127.0.0.1:%d" % tr.peer_port])
        rc = dl.wait_exit(180)
        assert rc == 0, dl.stderr_text() + tr.log_text()
        assert dl.has_event("metadata_received")
        swtest.assert_same_files(src, out, rels)


def test_libtorrent_fetches_from_cswarm():
    with Cleanup() as c:
        src, torrent, rels = make_payload(c)
        seeder = swtest.cswarm_seed(c, torrent, src)
        swtest.wait_for(lambda: seeder.has_event("seeding"), 30, "cswarm to seed")
        port = swtest.free_port()
        ses = swtest.lt_session(port)
        out = c.tempdir()
        p = lt.parse_magnet_uri(magnet(torrent))
        p.save_path = out
        h = ses.add_torrent(p)
        c.on_close(lambda: ses.remove_torrent(h))
        h.connect_peer(("127.0.0.1", seeder.port))
        swtest.wait_for(lambda: h.status().has_metadata, 60, "libtorrent to get the metadata")
        assert h.torrent_file().info_hashes().v1 == lt.torrent_info(torrent).info_hashes().v1
        swtest.wait_for(lambda: h.status().is_seeding, 120,
                        "libtorrent to complete (%s)" % h.status().state)
        swtest.assert_same_files(src, out, rels)


def test_bad_metadata_refused():
    with Cleanup() as c:
        # Enough pieces that the info dictionary spans two metadata pieces.
        src, torrent, rels = make_payload(c, 16384, [("payload/big.bin", 17_000_000)])
        _, raw, ih = load_torrent(torrent)
        assert len(raw) > 16384
        evil = EvilMetadata(raw, ih, corrupt=True)
        c.on_close(evil.close)
        # The honest seed's port is known now; it starts listening later.
        lt_port = swtest.free_port()
        out = c.tempdir()
        dl = swtest.cswarm_download(c, magnet(torrent), out,
                                    peers=["127.0.0.1:%d" % evil.port, "127.0.0.1:%d" % lt_port])
        swtest.wait_for(lambda: dl.has_event("metadata_failed"), 60,
                        "cswarm to refuse the bad metadata")
        assert evil.count("metadata sent") >= 2, evil.events
        assert not dl.has_event("metadata_received")
        ses, h, _ = swtest.lt_start(c, torrent, src, lt_port)
        rc = dl.wait_exit(180)
        assert rc == 0, dl.stderr_text()
        assert dl.has_event("metadata_received")
        swtest.assert_same_files(src, out, rels)
        # The liar was not asked again once refused.
        asked = evil.count("metadata request")
        assert asked == evil.count("metadata sent") and asked <= 4, evil.events


def test_oversized_metadata_not_fetched():
    with Cleanup() as c:
        src, torrent, rels = make_payload(c)
        _, raw, ih = load_torrent(torrent)
        evil = EvilMetadata(raw, ih, corrupt=False, claimed_size=50_000_000)
        c.on_close(evil.close)
        out = c.tempdir()
        dl = swtest.cswarm_download(c, magnet(torrent), out, peers=["127.0.0.1:%d" % evil.port],
                                    extra_sets=["max_metadata_size=10000000"])
        swtest.wait_for(lambda: evil.has("ext handshake"), 30, "the extension handshake")
        time.sleep(3)
        assert not evil.has("metadata request"), evil.events
        assert (dl.last() or {}).get("state") == "downloading_metadata", dl.last()


def main():
    sys.exit(swtest.run_tests((test_magnet_from_libtorrent, test_magnet_from_transmission,
              test_libtorrent_fetches_from_cswarm, test_bad_metadata_refused,
              test_oversized_metadata_not_fetched)))


if __name__ == "__main__":
    main()
