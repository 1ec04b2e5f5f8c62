"""uTP wire compatibility with libtorrent 2.0, below the session.

tests/tools/utp_probe is a minimal BitTorrent peer on cswarm's uTP sockets
(core/utp) and nothing else. Against a libtorrent session that speaks uTP
only (TCP off both ways):

- fetch: the probe connects to a seeding libtorrent over uTP, exchanges
  handshakes and downloads the whole torrent block by block, comparing every
  byte; then it closes and the FIN exchange must complete.
- serve: a downloading libtorrent is told to connect to the probe, so
  libtorrent's uTP SYN reaches cswarm's accept path; the probe serves every
  piece and libtorrent must finish with verified pieces.

Runs with Debian's /usr/bin/python3; ctest passes CSWARM_BUILD_DIR.
"""

import json
import os
import subprocess
import sys
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import swtest  # noqa: E402

import libtorrent as lt  # noqa: E402

PIECE = 256 * 1024
SIZE = 8 * 1024 * 1024 + 12345  # a short last piece and a short last block
TIMEOUT = 120


def probe_path():
    build = os.environ.get("CSWARM_BUILD_DIR")
    if not build:
        raise unittest.SkipTest("CSWARM_BUILD_DIR not set")
    p = os.path.join(build, "tests", "utp_probe")
    if not os.path.exists(p):
        raise AssertionError("utp_probe not built at %s" % p)
    return p


def utp_only_session(port):
    ses = swtest.lt_session(port, utp=True)
    # The probe speaks plaintext BitTorrent only (libtorrent would open its
    # outgoing connections with an MSE handshake).
    ses.apply_settings({"enable_outgoing_tcp": False, "enable_incoming_tcp": False,
                        "allow_multiple_connections_per_ip": True,
                        "out_enc_policy": 2, "in_enc_policy": 2})
    return ses


class ProbeRun:
    """The probe as a child process, its JSON lines collected by a thread."""

    def __init__(self, cleanup, args):
        self.events = []
        self.p = cleanup.proc(subprocess.Popen([probe_path()] + args, stdin=subprocess.PIPE,
                                               stdout=subprocess.PIPE, stderr=subprocess.PIPE))
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()
        cleanup.on_close(self._close_pipes)

    def _close_pipes(self):
        swtest.stop_process(self.p)
        self.thread.join(timeout=5)
        for f in (self.p.stdin, self.p.stdout, self.p.stderr):
            if not f.closed:
                f.close()

    def _read(self):
        for line in self.p.stdout:
            try:
                self.events.append(json.loads(line))
            except ValueError:
                pass

    def event(self, name):
        for e in self.events:
            if e.get("event") == name:
                return e
        return None

    def wait_event(self, name, timeout):
        return swtest.wait_for(lambda: self.event(name) or
                               (self.p.poll() is not None and self.event(name)),
                               timeout, "probe event %s (events so far: %s)" % (name, self.events))

    def wait_exit(self, timeout):
        rc = self.p.wait(timeout=timeout)
        self.thread.join(timeout=5)
        return rc


class UtpLibtorrentTest(unittest.TestCase):
    def setUp(self):
        self.cleanup = swtest.Cleanup()
        self.dir = self.cleanup.tempdir()
        self.data = os.path.join(self.dir, "seed", "payload.bin")
        swtest.make_file(self.data, SIZE, 29)
        self.torrent = swtest.lt_create_v1(self.data, os.path.join(self.dir, "t.torrent"), PIECE)
        self.info_hash = str(lt.torrent_info(self.torrent).info_hashes().v1)

    def tearDown(self):
        self.cleanup.close()

    def test_fetch_from_libtorrent(self):
        port = swtest.free_port()
        ses = utp_only_session(port)
        self.cleanup.on_close(lambda: ses.pause())
        h = swtest.lt_add(ses, self.torrent, os.path.dirname(self.data))
        swtest.lt_wait_state(h, (lt.torrent_status.seeding,), 60, "libtorrent to seed")
        run = ProbeRun(self.cleanup, ["fetch", str(port), self.info_hash, self.data, str(PIECE)])
        rc = run.wait_exit(TIMEOUT)
        err = run.p.stderr.read().decode(errors="replace")
        self.assertEqual(rc, 0, "probe failed: %s %s" % (run.events, err))
        hs = run.event("handshake")
        self.assertIsNotNone(hs, run.events)
        # libtorrent's peer id starts with its client code.
        self.assertTrue(bytes.fromhex(hs["peer_id"]).startswith(b"-LT"), hs)
        done = run.event("done")
        self.assertEqual(done["bytes"], SIZE)
        self.assertTrue(done["fin_exchanged"], done)
        self.assertEqual(done["invalid_in"], 0, done)
        self.assertEqual(run.event("stats")["invalid_in"], 0, run.events)
        swtest.log("fetched %d bytes from libtorrent over uTP in %.2f s (%.1f MiB/s)"
                   % (SIZE, done["seconds"], SIZE / done["seconds"] / 2**20))

    def test_serve_to_libtorrent(self):
        port = swtest.free_port()
        ses = utp_only_session(port)
        self.cleanup.on_close(lambda: ses.pause())
        leech_dir = self.cleanup.tempdir()
        h = swtest.lt_add(ses, self.torrent, leech_dir)
        run = ProbeRun(self.cleanup, ["serve", self.info_hash, self.data, str(PIECE)])
        listening = run.wait_event("listening", 20)
        start = time.time()
        swtest.wait_for(lambda: h.status().state not in (lt.torrent_status.checking_files,
                                                         lt.torrent_status.checking_resume_data),
                        60, "libtorrent to check its (empty) files")
        h.connect_peer(("127.0.0.1", listening["port"]))

        def finished():
            st = h.status()
            if st.state == lt.torrent_status.seeding:
                return True
            if not run.event("accepted") and time.time() - start > 5:
                h.connect_peer(("127.0.0.1", listening["port"]))  # retry a raced attempt
            return False
        swtest.wait_for(finished, TIMEOUT, "libtorrent to download from the probe")
        secs = time.time() - start
        self.assertIsNotNone(run.event("handshake"))
        self.assertEqual(h.status().num_pieces, (SIZE + PIECE - 1) // PIECE)
        swtest.assert_same_files(os.path.dirname(self.data), leech_dir, ["payload.bin"])
        run.p.stdin.close()
        self.assertEqual(run.wait_exit(30), 0, run.events)
        # Every datagram libtorrent sent parsed (its selective ACKs included).
        self.assertEqual(run.event("stats")["invalid_in"], 0, run.events)
        # Path MTU discovery ran while serving: the probe tried a full
        # Ethernet-sized datagram (1472 bytes) and libtorrent acknowledged it.
        self.assertGreaterEqual(run.event("stats")["mtu_probes"], 1, run.events)
        self.assertEqual(run.event("stats")["mtu_probes_lost"], 0, run.events)
        swtest.log("libtorrent fetched %d bytes from the probe over uTP in %.2f s" % (SIZE, secs))


if __name__ == "__main__":
    unittest.main(verbosity=2)
