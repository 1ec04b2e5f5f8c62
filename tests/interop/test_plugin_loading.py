"""Plugins loaded at run time by the cswarm command change what it does, as
seen by libtorrent peers on loopback:
- `cswarm seed --plugin test_refuse.so` refuses peers from 127.0.0.2-254: a
  libtorrent peer bound to 127.0.0.5 gets nothing while one on 127.0.0.1
  completes; without the plugin the 127.0.0.5 peer completes too;
- the same plugin adds "x_cswarm_test" to the extension handshake (and an
  extension of that name to "m"), which libtorrent receives (its peer log
  prints the handshake it got);
- bad plugins are refused with a clear message and exit status: a Lua file
  (a malformed one), a module built for another ABI, a missing file."""

import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import swtest  # noqa: E402
from swtest import Cleanup  # noqa: E402

import libtorrent as lt  # noqa: E402

BUILD = os.environ.get("CSWARM_BUILD_DIR", "")
TEST_PLUGINS = os.path.join(BUILD, "tests", "plugins")
FILES = [("payload/a.bin", 1_500_000)]


def lt_session_on(ip, port):
    """A libtorrent session listening on and dialling from ip."""
    return lt.session({
        "listen_interfaces": "%s:%d" % (ip, port), "outgoing_interfaces": ip,
        "enable_dht": False, "enable_lsd": False, "enable_upnp": False,
        "enable_natpmp": False, "dht_bootstrap_nodes": "",
        "enable_outgoing_utp": False, "enable_incoming_utp": False,
        "alert_mask": lt.alert.category_t.all_categories,
    })


def downloader(c, ip, torrent, seed_port):
    ses = lt_session_on(ip, swtest.free_port())
    out = c.tempdir()
    h = ses.add_torrent({"ti": lt.torrent_info(torrent), "save_path": out})
    c.on_close(lambda: ses.remove_torrent(h))
    h.connect_peer(("127.0.0.1", seed_port))
    return ses, h, out


def seed(c, torrent, src, plugins):
    args = ["seed", torrent, "-d", src]
    for p in plugins:
        args += ["--plugin", p]
    run = swtest.CswarmRun(c, args)
    swtest.wait_for(lambda: run.has_event("seeding") or run.p.poll() is not None, 30,
                    "cswarm to seed")
    assert run.p.poll() is None, run.stderr_text()
    return run


def extension_handshakes(ses):
    out = []
    for a in ses.pop_alerts():
        m = a.message()
        if "<== EXTENDED_HANDSHAKE" in m:
            out.append(m)
    return out


def run_refusal(plugins):
    """(bytes the 127.0.0.5 peer got, handshakes the 127.0.0.1 peer saw)."""
    with Cleanup() as c:
        src, torrent = swtest.make_payload(c, FILES, 32768)
        s = seed(c, torrent, src, plugins)
        ses_ok, ok, ok_out = downloader(c, "127.0.0.1", torrent, s.port)
        ses_far, far, far_out = downloader(c, "127.0.0.5", torrent, s.port)
        handshakes = []

        def done():
            handshakes.extend(extension_handshakes(ses_ok))
            extension_handshakes(ses_far)
            return ok.status().is_seeding
        swtest.wait_for(done, 60, "the 127.0.0.1 peer to complete")
        swtest.assert_same_files(src, ok_out, [f for f, _ in FILES])
        # Give the other one every chance (it retries on its own).
        deadline = time.time() + 4
        while time.time() < deadline and not far.status().is_seeding:
            far.connect_peer(("127.0.0.1", s.port))
            time.sleep(0.5)
        got = far.status().total_payload_download
        if far.status().is_seeding:
            swtest.assert_same_files(src, far_out, [f for f, _ in FILES])
        return got, far.status().is_seeding, handshakes


def test_refuses_range_and_extends_handshake():
    got, done, handshakes = run_refusal([os.path.join(TEST_PLUGINS, "test_refuse.so")])
    assert got == 0 and not done, "the refused peer downloaded %d bytes" % got
    assert handshakes, "no extension handshake seen"
    assert any("'x_cswarm_test': 'hello from a plugin'" in h for h in handshakes), handshakes
    assert any("'x_cswarm_test': " in h.split("'m': {", 1)[1].split("}", 1)[0]
               for h in handshakes), handshakes


def test_control_without_plugin():
    got, done, handshakes = run_refusal([])
    assert done, "without the plugin the 127.0.0.5 peer should complete (got %d)" % got
    assert not any("x_cswarm_test" in h for h in handshakes), handshakes


def cli_refusal(path, status, needle):
    with Cleanup() as c:
        src, torrent = swtest.make_payload(c, FILES, 32768)
        # The session exists before the plugin is refused: nothing of it
        # may leave the machine (no DHT, LSD, UPnP or NAT-PMP).
        local = [a for s in swtest.LOOPBACK_SETS for a in ("--set", s)]
        r = subprocess.run([swtest.CSWARM, "download", torrent, "-o", c.tempdir(), "--plugin", path]
                           + local + ["--set", "listen_interfaces=127.0.0.1:0"],
                           capture_output=True, text=True, timeout=60)
        assert r.returncode == status, (r.returncode, r.stderr)
        assert needle in r.stderr, r.stderr


def test_cli_refuses_bad_plugins():
    with Cleanup() as c:
        lua = os.path.join(c.tempdir(), "automation.lua")
        with open(lua, "w") as f:
            f.write("return {\n  session = 42,\n}\n")
        cli_refusal(lua, 1, "\"session\" must be a table of hook functions")
    cli_refusal(os.path.join(TEST_PLUGINS, "bad_abi.so"), 1, "engine ABI 1.1")
    cli_refusal(os.path.join(TEST_PLUGINS, "no_entry.so"), 1, "no entry point")
    cli_refusal("/nonexistent/x.so", 1, "cannot open /nonexistent/x.so")


def main():
    sys.exit(swtest.run_tests((test_refuses_range_and_extends_handshake, test_control_without_plugin,
              test_cli_refuses_bad_plugins)))


if __name__ == "__main__":
    main()
