"""Torrent creation against mktorrent, libtorrent and Transmission.

The same content and options must give the same v1 info-hash from
`cswarm create`, from mktorrent 1.1 and from libtorrent 2.0's create_torrent
(v1_only, files in the same order), and cswarm's torrents must load in
libtorrent and transmission-show with the info-hash computed here over the
raw info dictionary. With --pad-files the layout (file order and BEP 47 pad
files) and info-hash must equal libtorrent's v1_only +
canonical_files_no_tail_padding torrent.

Runs with Debian's /usr/bin/python3 (the one with the libtorrent module);
ctest passes CSWARM_BIN and CSWARM_BUILD_DIR.
"""

import hashlib
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
import unittest

TIMEOUT = 300

# Folder content: odd sizes, nesting, hidden and empty files, names whose
# order differs between whole-path and per-component sorting ("a-b/", "a.txt",
# "a/"), upper case, spaces and UTF-8.
TREE = [
    ("a.txt", 5),
    ("a-b/x.bin", 70001),
    ("a/y.bin", 16384),
    ("a/b/c/deep.bin", 300007),
    ("a/b/empty2", 0),
    ("B/upper", 12345),
    (".hidden", 33),
    (".dir/inner", 1000),
    ("empty.dat", 0),
    ("sub dir/with space.txt", 4097),
    ("\u00fcn\u00ef/c\u00f4de.bin", 65537),
    ("z", 1),
    ("big.bin", 1500001),
]
SINGLE_SIZE = 1234567


def bdecode(data, i=0):
    """Minimal bencode decoder returning (value, end); dict values are kept
    with the raw byte span of each, so the info dict can be hashed as is."""
    c = data[i:i + 1]
    if c == b"i":
        end = data.index(b"e", i)
        return int(data[i + 1:end]), end + 1
    if c == b"l":
        i += 1
        out = []
        while data[i:i + 1] != b"e":
            v, i = bdecode(data, i)
            out.append(v)
        return out, i + 1
    if c == b"d":
        i += 1
        out = {}
        while data[i:i + 1] != b"e":
            k, i = bdecode(data, i)
            start = i
            v, i = bdecode(data, i)
            out[k] = (v, data[start:i])
        return out, i + 1
    colon = data.index(b":", i)
    n = int(data[i:colon])
    return data[colon + 1:colon + 1 + n], colon + 1 + n


def load_torrent(path):
    with open(path, "rb") as f:
        data = f.read()
    root, end = bdecode(data)
    assert end == len(data), "trailing bytes in %s" % path
    return root


def own_info_hash(path):
    """SHA-1 of the info dictionary's bytes exactly as written."""
    return hashlib.sha1(load_torrent(path)[b"info"][1]).hexdigest()


def lt_info_hash(path):
    import libtorrent as lt
    return str(lt.torrent_info(path).info_hashes().v1)


def transmission_hash(path):
    out = subprocess.run(["transmission-show", path], capture_output=True, text=True,
                         timeout=TIMEOUT, check=True).stdout
    m = re.search(r"^\s*Hash:\s*([0-9a-f]{40})\s*$", out, re.M)
    assert m, "no Hash: line in transmission-show output:\n" + out
    return m.group(1)


def run(cmd):
    res = subprocess.run(cmd, capture_output=True, timeout=TIMEOUT)
    if res.returncode != 0:
        raise AssertionError("%s failed (%d):\n%s%s" % (
            " ".join(cmd), res.returncode, res.stdout.decode(errors="replace"),
            res.stderr.decode(errors="replace")))
    return res


def write_content(root):
    rng = random.Random(20240611)
    single = os.path.join(root, "single.bin")
    with open(single, "wb") as f:
        f.write(rng.randbytes(SINGLE_SIZE))
    tree = os.path.join(root, "tree")
    for rel, size in TREE:
        p = os.path.join(tree, rel)
        os.makedirs(os.path.dirname(p), exist_ok=True)
        with open(p, "wb") as f:
            f.write(rng.randbytes(size))
    os.makedirs(os.path.join(tree, "empty folder", "inside"), exist_ok=True)
    return single, tree


def files_of(path):
    """(relative path components, size) of each file in a torrent, in order;
    a single-file torrent gives one entry named after the torrent."""
    info = load_torrent(path)[b"info"][0]
    if b"files" not in info:
        return [([info[b"name"][0]], info[b"length"][0])]
    return [(list(f[b"path"][0]), f[b"length"][0]) for f in info[b"files"][0]]


def lt_create_v1(src, piece_size, order_from, private=False, flags=0):
    """libtorrent's v1-only torrent for src, files added in the order of
    order_from (a torrent file), as bytes."""
    import libtorrent as lt
    fs = lt.file_storage()
    name = os.path.basename(src)
    if os.path.isdir(src):
        for comps, size in files_of(order_from):
            fs.add_file("/".join([name] + [c.decode() for c in comps]), size)
    else:
        fs.add_file(name, os.path.getsize(src))
    ct = lt.create_torrent(fs, piece_size, flags=lt.create_torrent.v1_only | flags)
    ct.set_priv(private)
    lt.set_piece_hashes(ct, os.path.dirname(src))
    return lt.bencode(ct.generate())


class CreateInterop(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.bin = os.environ.get("CSWARM_BIN")
        if not cls.bin or not os.access(cls.bin, os.X_OK):
            raise unittest.SkipTest("CSWARM_BIN is not set to the cswarm binary")
        cls.tmp = tempfile.mkdtemp(prefix="sw_create_interop_")
        cls.single, cls.tree = write_content(cls.tmp)
        cls.counter = 0

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def out(self, tag):
        CreateInterop.counter += 1
        return os.path.join(self.tmp, "%s-%d.torrent" % (tag, CreateInterop.counter))

    def cswarm_create(self, src, exp, extra=()):
        out = self.out("cswarm")
        run([self.bin, "create", src, "-o", out, "--piece-size", str(1 << exp)] + list(extra))
        return out

    def mktorrent(self, src, exp, extra=()):
        out = self.out("mktorrent")
        # -d: no creation date; -t 1: keep the reference simple and quiet.
        run(["mktorrent", "-l", str(exp), "-d", "-t", "1", "-o", out] + list(extra) + [src])
        return out

    def check_same(self, src, exp, cswarm_extra=(), mk_extra=(), private=False):
        ours = self.cswarm_create(src, exp, cswarm_extra)
        ref = self.mktorrent(src, exp, mk_extra)
        want = own_info_hash(ref)
        got = own_info_hash(ours)
        self.assertEqual(files_of(ours), files_of(ref), "file list differs from mktorrent's")
        self.assertEqual(got, want, "info-hash differs from mktorrent's for %s 2^%d" % (src, exp))
        # libtorrent and Transmission read the same info-hash from our file.
        self.assertEqual(lt_info_hash(ours), got)
        self.assertEqual(transmission_hash(ours), got)
        # libtorrent's own creator gives it too.
        lt_path = self.out("libtorrent")
        with open(lt_path, "wb") as f:
            f.write(lt_create_v1(src, 1 << exp, ref, private=private))
        self.assertEqual(own_info_hash(lt_path), got, "info-hash differs from libtorrent's")
        return ours

    def test_single_file(self):
        for exp in (15, 16, 18):
            with self.subTest(exp=exp):
                self.check_same(self.single, exp)

    def test_folder(self):
        for exp in (15, 16, 17):
            with self.subTest(exp=exp):
                self.check_same(self.tree, exp)

    def test_folder_with_options(self):
        trackers = ["http://127.0.0.1:6969/announce", "udp://127.0.0.1:6969/announce"]
        seeds = ["http://127.0.0.1:8080/files/"]
        ours = self.check_same(
            self.tree, 15,
            cswarm_extra=["-t", trackers[0], "-t", trackers[1], "--private",
                          "--web-seed", seeds[0], "--comment", "made by a test"],
            mk_extra=["-a", trackers[0], "-a", trackers[1], "-p", "-w", seeds[0],
                      "-c", "made by a test"],
            private=True)
        import libtorrent as lt
        ti = lt.torrent_info(ours)
        self.assertTrue(ti.priv())
        self.assertEqual([t.url for t in ti.trackers()], trackers)
        self.assertEqual([w["url"] for w in ti.web_seeds()], seeds)
        self.assertEqual(ti.comment(), "made by a test")
        self.assertEqual(ti.num_files(), len(TREE))
        # Private changes the info-hash (it lives in the info dict).
        plain = self.cswarm_create(self.tree, 15)
        self.assertNotEqual(own_info_hash(plain), own_info_hash(ours))

    def test_single_file_private(self):
        self.check_same(self.single, 16, cswarm_extra=["--private"], mk_extra=["-p"],
                        private=True)

    def test_pad_files_match_libtorrent(self):
        import libtorrent as lt
        for exp in (14, 16):
            with self.subTest(exp=exp):
                ours = self.cswarm_create(self.tree, exp, ["--pad-files"])
                ref = self.out("libtorrent-pad")
                fs = lt.file_storage()
                lt.add_files(fs, self.tree)
                ct = lt.create_torrent(
                    fs, 1 << exp,
                    flags=lt.create_torrent.v1_only
                    | lt.create_torrent.canonical_files_no_tail_padding)
                lt.set_piece_hashes(ct, self.tmp)
                with open(ref, "wb") as f:
                    f.write(lt.bencode(ct.generate()))
                self.assertEqual(files_of(ours), files_of(ref))
                h = own_info_hash(ours)
                self.assertEqual(h, own_info_hash(ref), "pad layout differs from libtorrent's")
                self.assertEqual(lt_info_hash(ours), h)
                self.assertEqual(transmission_hash(ours), h)
                # Every real, non-empty file starts on a piece boundary.
                ti = lt.torrent_info(ours)
                st = ti.files()
                pads = 0
                for i in range(st.num_files()):
                    if st.file_flags(i) & lt.file_storage.flag_pad_file:
                        pads += 1
                    elif st.file_size(i) > 0:
                        self.assertEqual(st.file_offset(i) % (1 << exp), 0)
                self.assertGreater(pads, 0)


if __name__ == "__main__":
    unittest.main(verbosity=2)
