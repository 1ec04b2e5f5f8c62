"""ut_pex (BEP 11) with libtorrent on 127.0.0.1, both directions. PEX lists
the peers a client is connected to, and two seeds do not stay connected, so
each scenario goes through a peer that is still downloading (its seed is
slowed down by an upload limit):
- cswarm learns of a libtorrent seed from a libtorrent downloader's PEX
  message and connects to it (the seed sees an incoming cswarm connection);
- libtorrent learns of a libtorrent seed from cswarm's PEX message (the
  downloader's peer list has the seed with source pex)."""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import swtest  # noqa: E402
from swtest import Cleanup  # noqa: E402

import libtorrent as lt  # noqa: E402

FILES = [("payload/a.bin", 6_000_000)]
SLOW = 150_000  # bytes/s from the seed: the others stay downloading


def make_payload(c):
    src, torrent = swtest.make_payload(c, FILES, 65536)
    return src, torrent


def lt_peer(c, torrent, save_path, seed=False):
    port = swtest.free_port()
    # The seed runs without libtorrent's default plugins (no PEX): it must
    # not learn of the others and connect to them first.
    ses = lt.session({
        "listen_interfaces": "127.0.0.1:%d" % port,
        "enable_dht": False, "enable_lsd": False, "enable_upnp": False,
        "enable_natpmp": False, "dht_bootstrap_nodes": "",
        "enable_outgoing_utp": False, "enable_incoming_utp": False,
        # Every peer here is 127.0.0.1: more than one connection per address.
        "allow_multiple_connections_per_ip": True,
    }, 0 if seed else lt.session_flags_t.add_default_plugins)
    h = swtest.lt_add(ses, torrent, save_path)
    if seed:
        swtest.lt_wait_state(h, (lt.torrent_status.seeding,), 30, "libtorrent to seed")
        h.set_upload_limit(SLOW)
    c.on_close(lambda: ses.remove_torrent(h))
    return ses, h, port


def is_cswarm(p):
    return p.pid.to_bytes()[:3] in (b"-SW", b"-CW")


def test_cswarm_learns_from_libtorrent():
    with Cleanup() as c:
        src, torrent = make_payload(c)
        _, seed, seed_port = lt_peer(c, torrent, src, seed=True)
        _, mid, mid_port = lt_peer(c, torrent, c.tempdir())
        mid.connect_peer(("127.0.0.1", seed_port))
        swtest.wait_for(lambda: mid.status().num_peers >= 1 and
                        mid.status().total_payload_download > 0, 30,
                        "the libtorrent downloader to start")
        # cswarm is told only of the downloader.
        dl = swtest.cswarm_download(c, torrent, c.tempdir(), peers=["127.0.0.1:%d" % mid_port])

        def seed_sees_cswarm():
            return [p for p in seed.get_peer_info()
                    if is_cswarm(p) and not (p.flags & lt.peer_info.local_connection)]
        swtest.wait_for(seed_sees_cswarm, 60,
                        "cswarm to connect to the seed it learned of through PEX")
        assert mid.status().state == lt.torrent_status.downloading
        assert dl.p.poll() is None, dl.stderr_text()


def test_libtorrent_learns_from_cswarm():
    with Cleanup() as c:
        src, torrent = make_payload(c)
        _, seed, seed_port = lt_peer(c, torrent, src, seed=True)
        # cswarm downloads from the seed...
        dl = swtest.cswarm_download(c, torrent, c.tempdir(), peers=["127.0.0.1:%d" % seed_port])
        swtest.wait_for(lambda: (dl.last() or {}).get("total_done", 0) > 0, 30,
                        "cswarm to start downloading")
        # ...and a libtorrent peer that knows only cswarm joins.
        _, late, _ = lt_peer(c, torrent, c.tempdir())
        late.connect_peer(("127.0.0.1", dl.port))

        def learned_seed():
            return [p for p in late.get_peer_info()
                    if p.ip[1] == seed_port and p.source & lt.peer_info.pex]
        swtest.wait_for(learned_seed, 60, "libtorrent to learn of the seed through cswarm's PEX")
        assert dl.p.poll() is None, dl.stderr_text()


def main():
    sys.exit(swtest.run_tests((test_cswarm_learns_from_libtorrent, test_libtorrent_learns_from_cswarm)))


if __name__ == "__main__":
    main()
