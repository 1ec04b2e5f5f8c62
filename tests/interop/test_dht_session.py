"""The DHT of `cswarm download`/`cswarm seed` with libtorrent, on 127.0.0.1
only (no public bootstrap: dht_bootstrap_nodes is empty on both sides and
nodes are given by address):
- cswarm seeds a torrent that has no tracker; libtorrent, given the
  .torrent and one DHT node, finds the seed through the DHT alone and
  downloads it;
- cswarm downloads a magnet link holding only the info-hash from a
  libtorrent seed it finds through the DHT (metadata by ut_metadata);
- --no-dht keeps the DHT off (a --dht-node is then never contacted).

A third libtorrent session runs only a DHT node, so that every announce has
a node other than the announcer's own to land on."""

import os
import socket
import sys
import time
import traceback
import warnings

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import swtest  # noqa: E402
from swtest import Cleanup  # noqa: E402

import libtorrent as lt  # noqa: E402

FILES = [("payload/a.bin", 1_500_001), ("payload/d/b.bin", 300_000)]

# cswarm's DHT on one address: libtorrent's per-address rules off, the
# announce interval short so nothing waits a quarter of an hour.
CSWARM_DHT_SETS = ["enable_dht=true", "dht_bootstrap_nodes=", "dht_restrict_routing_ips=false",
                   "dht_restrict_search_ips=false", "dht_ignore_dark_internet=false",
                   "dht_enforce_node_id=false", "dht_block_ratelimit=0",
                   "dht_upload_rate_limit=0"]


def lt_dht_session(port):
    return lt.session({
        "listen_interfaces": "%s:%d" % (swtest.LOOPBACK, port),
        "enable_dht": True, "enable_lsd": False, "enable_upnp": False,
        "enable_natpmp": False, "dht_bootstrap_nodes": "",
        "dht_restrict_routing_ips": False, "dht_restrict_search_ips": False,
        "dht_enforce_node_id": False, "dht_ignore_dark_internet": False,
        "enable_outgoing_utp": False, "enable_incoming_utp": False,
        "alert_mask": lt.alert.category_t.error_notification
        | lt.alert.category_t.status_notification,
    })


def make_payload(c):
    src = c.tempdir()
    swtest.make_tree(src, FILES)
    torrent = os.path.join(c.tempdir(), "t.torrent")
    swtest.cswarm_create(os.path.join(src, "payload"), torrent, 32768)
    return src, torrent, [f for f, _ in FILES]


def lt_dht_nodes(ses):
    # session.status() is deprecated in libtorrent 2.0 but still the short
    # way to the routing table size.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        return ses.status().dht_nodes


def wait_lt_dht(ses, n, what):
    swtest.wait_for(lambda: lt_dht_nodes(ses) >= n, 60, what)


def test_libtorrent_downloads_from_cswarm_through_dht():
    with Cleanup() as c:
        src, torrent, rels = make_payload(c)
        hub_port, lt_port = swtest.free_port(), swtest.free_port()
        hub = lt_dht_session(hub_port)
        dl = lt_dht_session(lt_port)
        c.on_close(lambda: (hub.pause(), dl.pause()))
        dl.add_dht_node((swtest.LOOPBACK, hub_port))
        # The seed learns the hub through --dht-node; no tracker anywhere.
        seed = swtest.CswarmRun(c, ["seed", torrent, "-d", src, "--dht-node",
                                    "%s:%d" % (swtest.LOOPBACK, hub_port)],
                                extra_sets=CSWARM_DHT_SETS)
        seed.wait_event("listening", 20)
        wait_lt_dht(dl, 1, "libtorrent to join the DHT")
        wait_lt_dht(hub, 2, "the hub to know both")
        out = c.tempdir()
        h = swtest.lt_add(dl, torrent, out)
        assert not h.trackers()
        last = 0
        deadline = time.monotonic() + 120
        while h.status().state not in (lt.torrent_status.seeding, lt.torrent_status.finished):
            assert time.monotonic() < deadline, "libtorrent never found the seed: %s" % (
                seed.stderr_text(),)
            if time.monotonic() - last > 5:
                h.force_dht_announce()
                last = time.monotonic()
            time.sleep(0.2)
        swtest.assert_same_files(src, out, rels)
        assert seed.p.poll() is None, seed.stderr_text()


def test_cswarm_magnet_from_libtorrent_through_dht():
    with Cleanup() as c:
        src, torrent, rels = make_payload(c)
        hub_port, seed_port = swtest.free_port(), swtest.free_port()
        hub = lt_dht_session(hub_port)
        seeder = lt_dht_session(seed_port)
        c.on_close(lambda: (hub.pause(), seeder.pause()))
        seeder.add_dht_node((swtest.LOOPBACK, hub_port))
        wait_lt_dht(seeder, 1, "the libtorrent seed to join the DHT")
        h = swtest.lt_add(seeder, torrent, src)
        swtest.lt_wait_state(h, (lt.torrent_status.seeding,), 30, "libtorrent to seed")
        h.force_dht_announce()
        link = "magnet:?xt=urn:btih:" + swtest.info_hash_hex(torrent)
        out = c.tempdir()
        dl = swtest.CswarmRun(c, ["download", link, "-o", out, "--dht-node",
                                  "%s:%d" % (swtest.LOOPBACK, hub_port)],
                              extra_sets=CSWARM_DHT_SETS)
        rc = dl.wait_exit(120)
        assert rc == 0, dl.stderr_text()
        assert dl.has_event("metadata_received"), dl.lines[-3:]
        swtest.assert_same_files(src, out, rels)


def test_no_dht_sends_nothing():
    with Cleanup() as c:
        src, torrent, _ = make_payload(c)
        # A UDP socket standing in for a DHT node: with --no-dht nothing
        # may arrive on it.
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        c.on_close(sock.close)
        sock.bind((swtest.LOOPBACK, 0))
        sock.settimeout(0.2)
        node = "%s:%d" % (swtest.LOOPBACK, sock.getsockname()[1])
        seed = swtest.CswarmRun(c, ["seed", torrent, "-d", src, "--no-dht", "--dht-node", node],
                                extra_sets=CSWARM_DHT_SETS)
        seed.wait_event("listening", 20)
        end = time.monotonic() + 3
        while time.monotonic() < end:
            try:
                data, _ = sock.recvfrom(2048)
                raise AssertionError("--no-dht sent a datagram: %r" % data[:40])
            except socket.timeout:
                pass
        assert seed.p.poll() is None, seed.stderr_text()
        # Without --no-dht the same node is pinged at once (bencoded KRPC).
        seed.stop()
        seed2 = swtest.CswarmRun(c, ["seed", torrent, "-d", src, "--dht-node", node],
                                 extra_sets=CSWARM_DHT_SETS)
        sock.settimeout(20)
        data, _ = sock.recvfrom(2048)
        assert data.startswith(b"d") and b"1:y1:q" in data, data[:60]
        seed2.stop()


def main():
    tests = [test_libtorrent_downloads_from_cswarm_through_dht,
             test_cswarm_magnet_from_libtorrent_through_dht,
             test_no_dht_sends_nothing]
    failed = 0
    for t in tests:
        start = time.monotonic()
        try:
            t()
            print("PASS %s (%.1fs)" % (t.__name__, time.monotonic() - start), flush=True)
        except Exception:
            failed += 1
            print("FAIL %s" % t.__name__, flush=True)
            traceback.print_exc()
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
