"""The blocklist example (sdk/examples/lua/blocklist_seed.lua) under
`cswarm run` on 127.0.0.1: it loads a range list into the session's IP
filter from Lua (reporting the rules read and the first malformed line),
then
- with 127.0.0.0/24 on the list, a cswarm downloader dialling it is refused:
  the script sees the peer_blocked alert, names the address and the reason
  (ip_filter) and exits, and the downloader got no data;
- with only other ranges on the list, the same downloader completes from it
  and nothing is reported blocked.
Both runs are checked for sanitizer reports (in the sanitizer build)."""

import os
import re
import signal
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import swtest  # noqa: E402
from swtest import Cleanup  # noqa: E402
from test_lua_scripts import EXAMPLES, Script, loopback, make_torrent  # noqa: E402

SCRIPT = os.path.join(EXAMPLES, "blocklist_seed.lua")


def write_list(c, text):
    path = os.path.join(c.tempdir("lua-bl-"), "blocklist.dat")
    with open(path, "w") as f:
        f.write(text)
    return path


def test_blocklist_refuses_peer():
    with Cleanup() as c:
        src, torrent = make_torrent(c, 300_000, 41)
        blocklist = write_list(c, "# loopback peers\n"
                                  "127.0.0.0 - 127.0.0.255 , 0 , loopback\n"
                                  "this line is not a rule\n"
                                  "badguys:10.0.0.0-10.0.0.255\n")
        port = swtest.free_port()
        s = Script(c, SCRIPT, [torrent, src, "--blocklist", blocklist,
                               "--exit-after-blocked", "1"] + loopback(port))
        s.wait_line(r"^seeding payload\.bin on port %d \(complete\)$" % port, 60)
        out = c.tempdir("lua-dl-")
        d = swtest.cswarm_download(c, torrent, out, peers=["127.0.0.1:%d" % port])
        s.wait_line(r"^blocked 127\.0\.0\.1:\d+ \(ip_filter\)$", 60)
        assert s.wait_exit(30) == 0, s.text() + s.stderr()
        text = s.text()
        assert re.search(r"^loaded 2 rules, 1 malformed$", text, re.M), text
        assert re.search(r"^first malformed line: 3$", text, re.M), text
        assert re.search(r"^[1-9]\d* peers blocked$", text, re.M), text
        last = d.last()
        assert d.p.poll() is None, "the refused downloader finished: " + d.stderr_text()
        assert last is None or last.get("total_done", 0) == 0, last
        s.assert_clean()


def test_blocklist_lets_others_through():
    with Cleanup() as c:
        src, torrent = make_torrent(c, 300_000, 42)
        blocklist = write_list(c, "10.0.0.0 - 10.255.255.255 , 0 , private\n")
        port = swtest.free_port()
        s = Script(c, SCRIPT, [torrent, src, "--blocklist", blocklist] + loopback(port))
        s.wait_line(r"^seeding payload\.bin on port %d \(complete\)$" % port, 60)
        out = c.tempdir("lua-dl-")
        d = swtest.cswarm_download(c, torrent, out, peers=["127.0.0.1:%d" % port])
        assert d.wait_exit(120) == 0, d.stderr_text()
        swtest.assert_same_files(src, out, ["payload.bin"])
        assert "blocked" not in s.text(), s.text()
        assert re.search(r"^loaded 1 rules, 0 malformed$", s.text(), re.M), s.text()
        s.p.send_signal(signal.SIGTERM)
        assert s.wait_exit(15) == 143, s.stderr()
        s.assert_clean()


def main():
    return swtest.run_tests(swtest.tests_in(globals()), sys.argv[1:])


if __name__ == "__main__":
    sys.exit(main())
