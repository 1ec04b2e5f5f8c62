"""Protocol encryption (MSE/PE) on 127.0.0.1: cswarm <-> cswarm with
encryption forced (RC4 and plaintext level), cswarm <-> libtorrent in both
directions with libtorrent forcing encryption at each allowed_enc_level
(libtorrent's peer flags must show the encrypted handshake, and RC4 where
only RC4 is allowed), a plaintext-only libtorrent still reached with
cswarm's default policy (the encrypted attempt fails, cswarm retries in
plaintext), and a peer that sends garbage instead of a handshake is
dropped while cswarm keeps serving."""

import os
import random
import socket
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import swtest  # noqa: E402
from swtest import Cleanup, assert_same_files, cswarm_download, cswarm_seed  # noqa: E402

import libtorrent as lt  # noqa: E402

FILES = [("payload/a.bin", 700_001), ("payload/b.bin", 123_457)]
RELS = [f for f, _ in FILES]
TIMEOUT = 90
# libtorrent's peer_info flags (2.0 moved them from 1.0's bits).
LT_RC4_ENCRYPTED = int(lt.peer_info.rc4_encrypted)
LT_PLAINTEXT_ENCRYPTED = int(lt.peer_info.plaintext_encrypted)


def forced(level):
    return ["out_enc_policy=0", "in_enc_policy=0", "allowed_enc_level=%d" % level]


def payload(c):
    return swtest.make_payload(c, FILES, 16384)


def lt_enc(ses, policy, level):
    ses.apply_settings({"out_enc_policy": policy, "in_enc_policy": policy,
                        "allowed_enc_level": level, "prefer_rc4": level != 1})


LT_NOT_READY = int(lt.peer_info.handshake) | int(lt.peer_info.connecting)
# A transfer slow enough (~3 s) that libtorrent lists the peer after its
# handshake, when the encryption flags are set, more than once.
SLOW = ["upload_rate_limit=262144", "download_rate_limit=262144"]


def lt_peer_flags(h):
    """Flags of the peers past their handshake (before it, libtorrent has
    not set the encryption flags yet)."""
    return [p.flags for p in h.get_peer_info() if not p.flags & LT_NOT_READY]


def cswarm_pair(level):
    with Cleanup() as c:
        src, torrent = payload(c)
        seeder = cswarm_seed(c, torrent, src, extra_sets=forced(level))
        out = c.tempdir()
        dl = cswarm_download(c, torrent, out, peers=["127.0.0.1:%d" % seeder.port],
                             extra_sets=forced(level))
        rc = dl.wait_exit(TIMEOUT)
        assert rc == 0, dl.stderr_text()
        assert_same_files(src, out, RELS)
        assert seeder.stop() == 0, seeder.stderr_text()


def test_cswarm_pair_forced_rc4():
    cswarm_pair(2)


def test_cswarm_pair_forced_plaintext_level():
    cswarm_pair(1)


def cswarm_from_libtorrent(level, cswarm_sets=()):
    """cswarm dials a libtorrent seed that only takes encrypted peers."""
    with Cleanup() as c:
        src, torrent = payload(c)
        ses, h, port = swtest.lt_seed(c, torrent, src)
        lt_enc(ses, 0, level)
        out = c.tempdir()
        dl = cswarm_download(c, torrent, out, peers=["127.0.0.1:%d" % port],
                             extra_sets=list(cswarm_sets) + SLOW)
        seen = []
        swtest.wait_for(lambda: seen.extend(lt_peer_flags(h)) or dl.p.poll() is not None,
                        TIMEOUT, "cswarm to finish downloading from libtorrent")
        rc = dl.wait_exit(TIMEOUT)
        assert rc == 0, dl.stderr_text()
        assert_same_files(src, out, RELS)
        assert h.status().total_payload_upload > 0
        return seen


def check_flags(seen, level):
    """libtorrent marks an MSE connection rc4_encrypted or, when plaintext
    was selected, plaintext_encrypted (never both)."""
    assert seen, "libtorrent never listed cswarm as a peer"
    want = LT_PLAINTEXT_ENCRYPTED if level == 1 else LT_RC4_ENCRYPTED
    if level == 3:
        want = LT_PLAINTEXT_ENCRYPTED | LT_RC4_ENCRYPTED
    assert any(f & want for f in seen), (level, [hex(f) for f in seen])


def test_cswarm_dials_libtorrent_forced_each_level():
    for level in (1, 2, 3):
        check_flags(cswarm_from_libtorrent(level), level)


def test_libtorrent_dials_cswarm_forced_each_level():
    for level in (1, 2, 3):
        with Cleanup() as c:
            src, torrent = payload(c)
            out = c.tempdir()
            ses, h, port = swtest.lt_start(c, torrent, out)
            lt_enc(ses, 0, level)
            # cswarm's defaults: incoming encryption enabled, both levels.
            seeder = cswarm_seed(c, torrent, src, extra_sets=SLOW)
            swtest.wait_for(lambda: seeder.has_event("seeding"), 30, "cswarm to seed")
            swtest.lt_wait_state(h, (lt.torrent_status.downloading,), 30, "libtorrent ready")
            h.connect_peer(("127.0.0.1", seeder.port))
            seen = []
            swtest.wait_for(lambda: seen.extend(lt_peer_flags(h)) or h.status().is_seeding,
                            TIMEOUT, "libtorrent to complete (level %d)" % level)
            assert_same_files(src, out, RELS)
            check_flags(seen, level)
            assert seeder.stop() == 0, seeder.stderr_text()


def test_plaintext_only_libtorrent_with_default_policy():
    """libtorrent refuses encryption; cswarm (out_enc_policy 1) tries MSE,
    fails, and downloads in plaintext on its retry."""
    with Cleanup() as c:
        src, torrent = payload(c)
        ses, h, port = swtest.lt_seed(c, torrent, src)
        lt_enc(ses, 2, 3)
        out = c.tempdir()
        dl = cswarm_download(c, torrent, out, peers=["127.0.0.1:%d" % port])
        seen = []
        swtest.wait_for(lambda: seen.extend(lt_peer_flags(h)) or dl.p.poll() is not None,
                        TIMEOUT, "cswarm to download from a plaintext-only libtorrent")
        rc = dl.wait_exit(TIMEOUT)
        assert rc == 0, dl.stderr_text()
        assert_same_files(src, out, RELS)
        assert not any(f & LT_PLAINTEXT_ENCRYPTED for f in seen), seen


def test_garbage_instead_of_handshake_is_dropped():
    with Cleanup() as c:
        src, torrent = payload(c)
        seeder = cswarm_seed(c, torrent, src, extra_sets=["in_enc_policy=1"])
        rnd = random.Random(7)
        for size in (5, 95, 96, 700, 5000):
            s = socket.create_connection(("127.0.0.1", seeder.port), timeout=20)
            try:
                s.sendall(bytes(rnd.getrandbits(8) for _ in range(size)))
                if size >= 700:
                    # Past the 628-byte sync limit: cswarm hangs up.
                    s.settimeout(20)
                    got = b""
                    try:
                        while True:
                            chunk = s.recv(4096)
                            if not chunk:
                                break
                            got += chunk
                    except ConnectionResetError:
                        pass
                    # At most Yb and PadB came back before the drop.
                    assert len(got) <= 96 + 512, len(got)
            finally:
                s.close()
        assert seeder.p.poll() is None, seeder.stderr_text()
        out = c.tempdir()
        dl = cswarm_download(c, torrent, out, peers=["127.0.0.1:%d" % seeder.port])
        rc = dl.wait_exit(TIMEOUT)
        assert rc == 0, dl.stderr_text()
        assert_same_files(src, out, RELS)
        assert seeder.stop() == 0, seeder.stderr_text()


def main():
    return swtest.run_tests(swtest.tests_in(globals()), sys.argv[1:])


if __name__ == "__main__":
    sys.exit(main())
