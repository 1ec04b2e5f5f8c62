"""The cswarm command's create/info/magnet contract (DESIGN.md), errors included.

Runs the built binary only; no network. Exits non-zero on the first failure."""
import json
import os
import subprocess
import sys
import tempfile
import unittest

CSWARM = os.environ.get("CSWARM_BIN", "cswarm")


def run(*args, check=True):
    p = subprocess.run([CSWARM, *args], capture_output=True, text=True, timeout=120)
    if check and p.returncode != 0:
        raise AssertionError(f"cswarm {' '.join(args)} failed ({p.returncode}): {p.stderr}")
    return p


class CliMetainfo(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory(prefix="cswarm-cli-")
        self.dir = self.tmp.name
        root = os.path.join(self.dir, "content")
        os.makedirs(os.path.join(root, "sub"))
        with open(os.path.join(root, "a.bin"), "wb") as f:
            f.write(os.urandom(100_000))
        with open(os.path.join(root, "sub", "b.txt"), "wb") as f:
            f.write(b"hello\n" * 1000)
        open(os.path.join(root, "sub", "empty"), "wb").close()
        self.content = root
        self.torrent = os.path.join(self.dir, "c.torrent")

    def tearDown(self):
        self.tmp.cleanup()

    def create(self, *extra):
        run("create", self.content, "-o", self.torrent, *extra)
        return json.loads(run("info", "--json", self.torrent).stdout)

    def test_info_json_fields(self):
        info = self.create("-t", "http://127.0.0.1:1/announce", "-t", "udp://127.0.0.1:2",
                           "--piece-size", "16K", "--comment", "c\u00e9", "--web-seed",
                           "http://127.0.0.1:3/")
        self.assertEqual(info["name"], "content")
        self.assertEqual(len(info["info_hash"]), 40)
        self.assertEqual(info["total_size"], 106_000)
        self.assertEqual(info["piece_length"], 16384)
        self.assertEqual(info["num_pieces"], (106_000 + 16383) // 16384)
        self.assertEqual([(f["path"], f["size"]) for f in info["files"]],
                         [("content/a.bin", 100_000), ("content/sub/b.txt", 6000),
                          ("content/sub/empty", 0)])
        self.assertEqual([(t["url"], t["tier"]) for t in info["trackers"]],
                         [("http://127.0.0.1:1/announce", 0), ("udp://127.0.0.1:2", 1)])
        self.assertEqual(info["web_seeds"], ["http://127.0.0.1:3/"])
        self.assertEqual(info["comment"], "c\u00e9")
        self.assertFalse(info["private"])

    def test_same_input_same_hash_and_private_changes_it(self):
        a = self.create()["info_hash"]
        self.assertEqual(self.create()["info_hash"], a)
        self.assertNotEqual(self.create("--private")["info_hash"], a)

    def test_magnet_round_trip(self):
        info = self.create("-t", "http://127.0.0.1:1/announce?a=1&b=2")
        link = run("magnet", self.torrent).stdout.strip()
        self.assertTrue(link.startswith("magnet:?xt=urn:btih:" + info["info_hash"]))
        m = json.loads(run("info", "--json", link).stdout)
        self.assertEqual(m["info_hash"], info["info_hash"])
        self.assertEqual(m["name"], "content")
        self.assertEqual([t["url"] for t in m["trackers"]], ["http://127.0.0.1:1/announce?a=1&b=2"])

    def test_text_info(self):
        self.create()
        out = run("info", self.torrent).stdout
        self.assertIn("content/sub/b.txt", out)
        self.assertIn("Info-hash:", out)

    def one_line_error(self, p):
        self.assertNotEqual(p.returncode, 0)
        lines = p.stderr.strip().splitlines()
        self.assertEqual(len(lines), 1, p.stderr)
        return lines[0]

    def test_missing_file(self):
        msg = self.one_line_error(run("info", os.path.join(self.dir, "nope.torrent"), check=False))
        self.assertIn("nope.torrent", msg)

    def test_truncated_torrent_names_offset(self):
        self.create()
        with open(self.torrent, "rb") as f:
            data = f.read()
        bad = os.path.join(self.dir, "bad.torrent")
        with open(bad, "wb") as f:
            f.write(data[: len(data) // 2])
        msg = self.one_line_error(run("info", bad, check=False))
        self.assertIn("bad.torrent", msg)
        self.assertRegex(msg, r"offset \d+|byte \d+")

    def test_garbage_torrent(self):
        bad = os.path.join(self.dir, "garbage.torrent")
        with open(bad, "wb") as f:
            f.write(b"this is not bencode")
        msg = self.one_line_error(run("info", "--json", bad, check=False))
        self.assertIn("garbage.torrent", msg)

    def test_bad_magnets(self):
        for link in ["magnet:?dn=x", "magnet:?xt=urn:btih:zz", "magnet:?xt=urn:btih:" + "a" * 39,
                     "magnet:?xt=urn:btih:" + "a" * 40 + "&tr=%zz"]:
            self.one_line_error(run("info", link, check=False))

    def test_create_errors(self):
        self.one_line_error(run("create", os.path.join(self.dir, "missing"), "-o",
                                self.torrent, check=False))
        self.one_line_error(run("create", self.content, "-o", self.torrent, "--piece-size",
                                "1000", check=False))
        empty = os.path.join(self.dir, "emptydir")
        os.mkdir(empty)
        self.one_line_error(run("create", empty, "-o", self.torrent, check=False))
        self.assertFalse(os.path.exists(self.torrent))
        p = run("create", self.content, check=False)
        self.assertEqual(p.returncode, 2)

    def test_unknown_command_and_option(self):
        self.assertEqual(run("frobnicate", check=False).returncode, 2)
        self.assertEqual(run("info", "--bogus", self.torrent, check=False).returncode, 2)


if __name__ == "__main__":
    unittest.main(verbosity=2)
