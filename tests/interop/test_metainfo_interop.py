"""Loading torrents made by other tools: `cswarm info --json` must agree with
what libtorrent 2.0 (and, where it can read the file, transmission-show)
reports for torrents made by mktorrent 1.1, transmission-create 3.00 and
libtorrent's create_torrent (v1_only, and the default hybrid v1+v2 with BEP 47
pad files): v1 info-hash (also checked as the SHA-1 of the raw info
dictionary), v2 info-hash for hybrids, name, file list (paths, sizes, pad
files flagged), total size, piece length and count, trackers, private flag.
A v2-only torrent must be refused with a message saying so.

Runs with Debian's /usr/bin/python3 (the one with the libtorrent module);
ctest passes CSWARM_BIN.
"""

import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import unittest

import libtorrent as lt

TIMEOUT = 120
TRACKERS = ["http://127.0.0.1:6969/announce", "udp://127.0.0.1:6969/announce"]

# Small but varied: nesting, an empty file, sizes off piece boundaries,
# UTF-8 and spaces in names.
TREE = [
    ("a.txt", 5000),
    ("empty.dat", 0),
    ("sub/b.bin", 40000),
    ("sub/c.dat", 1),
    ("\u00fcn\u00ef c\u00f4de/\u65e5\u672c.txt", 20001),
]
SINGLE = ("single file.bin", 70000)


def fill(path, size, seed):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(bytes((i * 31 + seed) % 251 for i in range(size)))


def run(cmd, **kw):
    return subprocess.run(cmd, capture_output=True, timeout=TIMEOUT, **kw)


def info_dict_span(data):
    """The raw bytes of the top-level "info" value, found by walking the
    bencoding (no re-encoding, so the hash is over the file's own bytes)."""

    def skip(i):
        c = data[i:i + 1]
        if c == b"i":
            return data.index(b"e", i) + 1
        if c in (b"l", b"d"):
            i += 1
            while data[i:i + 1] != b"e":
                i = skip(i)
            return i + 1
        colon = data.index(b":", i)
        return colon + 1 + int(data[i:colon])

    assert data[:1] == b"d"
    i = 1
    while data[i:i + 1] != b"e":
        kend = skip(i)
        key = data[data.index(b":", i) + 1:kend]
        vend = skip(kend)
        if key == b"info":
            return data[kend:vend]
        i = vend
    raise AssertionError("no info dictionary")


def transmission_hash(path):
    res = run(["transmission-show", path], text=True)
    m = re.search(r"Hash: ([0-9a-f]{40})", res.stdout)
    return m.group(1) if res.returncode == 0 and m else None


def reference(path):
    """What libtorrent reports for the torrent at path."""
    ti = lt.torrent_info(path)
    ih = ti.info_hashes()
    fs = ti.files()
    files = []
    for i in range(fs.num_files()):
        pad = bool(fs.file_flags(i) & lt.file_storage.flag_pad_file)
        files.append({"path": fs.file_path(i).replace(os.sep, "/"), "size": fs.file_size(i),
                      "pad": pad})
    return {
        "name": ti.name(),
        "info_hash": str(ih.v1),
        "info_hash_v2": str(ih.v2) if ih.has_v2() else None,
        "total_size": fs.total_size(),
        "piece_length": ti.piece_length(),
        "num_pieces": ti.num_pieces(),
        "files": files,
        "trackers": [t.url for t in ti.trackers()],
        "private": ti.priv(),
    }


class MetainfoInterop(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.bin = os.environ.get("CSWARM_BIN", "")
        cls.tmp = tempfile.mkdtemp(prefix="sw_metainfo_interop_")
        cls.folder = os.path.join(cls.tmp, "payload")
        for i, (rel, size) in enumerate(TREE):
            fill(os.path.join(cls.folder, rel), size, i)
        cls.single = os.path.join(cls.tmp, SINGLE[0])
        fill(cls.single, SINGLE[1], 77)
        cls.out = os.path.join(cls.tmp, "torrents")
        os.makedirs(cls.out)

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp, ignore_errors=True)

    # ---- makers ----

    def mktorrent(self, src, name, extra=()):
        out = os.path.join(self.out, name)
        cmd = ["mktorrent", "-l", "15", "-o", out]
        for t in TRACKERS:
            cmd += ["-a", t]
        res = run(cmd + list(extra) + [src])
        self.assertEqual(res.returncode, 0, res.stderr)
        return out

    def transmission(self, src, name):
        out = os.path.join(self.out, name)
        cmd = ["transmission-create", "-s", "16", "-o", out]
        for t in TRACKERS:
            cmd += ["-t", t]
        res = run(cmd + [src])
        self.assertEqual(res.returncode, 0, res.stderr)
        return out

    def libtorrent(self, src, name, flags):
        fs = lt.file_storage()
        lt.add_files(fs, src)
        ct = lt.create_torrent(fs, 16384, flags=flags)
        for tier, t in enumerate(TRACKERS):
            ct.add_tracker(t, tier)
        lt.set_piece_hashes(ct, os.path.dirname(src))
        out = os.path.join(self.out, name)
        with open(out, "wb") as f:
            f.write(lt.bencode(ct.generate()))
        return out

    # ---- checks ----

    def cswarm_info(self, path):
        if not self.bin or not os.access(self.bin, os.X_OK):
            self.skipTest("CSWARM_BIN is not set to the cswarm binary")
        res = run([self.bin, "info", "--json", path])
        self.assertEqual(res.returncode, 0, res.stderr.decode(errors="replace"))
        return json.loads(res.stdout.decode("utf-8"))

    def compare(self, path, want_hybrid=False):
        ref = reference(path)
        with open(path, "rb") as f:
            raw_hash = hashlib.sha1(info_dict_span(f.read())).hexdigest()
        self.assertEqual(raw_hash, ref["info_hash"], "libtorrent's v1 hash vs the raw info dict")
        tr = transmission_hash(path)
        if not want_hybrid:
            self.assertEqual(tr, ref["info_hash"], "transmission-show's hash")
        self.assertEqual(ref["info_hash_v2"] is not None, want_hybrid)

        got = self.cswarm_info(path)
        self.assertEqual(got["info_hash"], ref["info_hash"])
        self.assertEqual(got.get("info_hash_v2"), ref["info_hash_v2"])
        self.assertEqual(got["name"], ref["name"])
        self.assertEqual(got["total_size"], ref["total_size"])
        self.assertEqual(got["piece_length"], ref["piece_length"])
        self.assertEqual(got["num_pieces"], ref["num_pieces"])
        self.assertEqual(got["private"], ref["private"])
        self.assertEqual(len(got["files"]), len(ref["files"]))
        for g, r in zip(got["files"], ref["files"]):
            self.assertEqual(g["size"], r["size"], g)
            self.assertEqual(bool(g.get("pad")), r["pad"], g)
            if not r["pad"]:  # pad file paths are never written; naming may differ
                self.assertEqual(g["path"], r["path"])
        urls = [t["url"] if isinstance(t, dict) else t for t in got["trackers"]]
        self.assertEqual(urls, ref["trackers"])
        return got

    # ---- tests ----

    def test_mktorrent(self):
        self.compare(self.mktorrent(self.folder, "mk_multi.torrent"))
        self.compare(self.mktorrent(self.single, "mk_single.torrent"))

    def test_mktorrent_private(self):
        got = self.compare(self.mktorrent(self.folder, "mk_private.torrent", ["-p"]))
        self.assertTrue(got["private"])

    def test_transmission(self):
        self.compare(self.transmission(self.folder, "tr_multi.torrent"))
        self.compare(self.transmission(self.single, "tr_single.torrent"))

    def test_libtorrent_v1_only(self):
        flags = lt.create_torrent.v1_only
        self.compare(self.libtorrent(self.folder, "lt_v1_multi.torrent", flags))
        self.compare(self.libtorrent(self.single, "lt_v1_single.torrent", flags))

    def test_libtorrent_hybrid(self):
        got = self.compare(self.libtorrent(self.folder, "lt_hybrid_multi.torrent", 0),
                           want_hybrid=True)
        self.assertTrue(any(f.get("pad") for f in got["files"]), "hybrid has pad files")
        self.compare(self.libtorrent(self.single, "lt_hybrid_single.torrent", 0),
                     want_hybrid=True)

    def test_libtorrent_v2_only_refused(self):
        path = self.libtorrent(self.folder, "lt_v2.torrent", lt.create_torrent.v2_only)
        if not self.bin or not os.access(self.bin, os.X_OK):
            self.skipTest("CSWARM_BIN is not set to the cswarm binary")
        res = run([self.bin, "info", "--json", path])
        self.assertNotEqual(res.returncode, 0)
        self.assertIn("v2", res.stderr.decode(errors="replace"))
        self.assertIn("lt_v2.torrent", res.stderr.decode(errors="replace"))


if __name__ == "__main__":
    unittest.main(verbosity=2)
