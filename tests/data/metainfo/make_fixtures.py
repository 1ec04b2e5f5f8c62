#!/usr/bin/python3
"""Regenerates the metainfo fixtures in this folder with real tools
(mktorrent 1.1, transmission-create 3.00, libtorrent 2.0 through
/usr/bin/python3) and prints the expectation table that
tests/unit/test_torrent_info.c holds. Not run by the test suite; run it by
hand when the fixture set changes:

    /usr/bin/python3 tests/data/metainfo/make_fixtures.py

The payload is small and deterministic, so every tool gives the same
info-hash on every run (creation dates live outside the info dictionary)."""
import hashlib
import os
import re
import shutil
import subprocess
import sys
import tempfile

import libtorrent as lt

HERE = os.path.dirname(os.path.abspath(__file__))
TRACKER = "http://127.0.0.1:6969/announce"

# name -> size; a small tree with an empty file and a nested folder.
PAYLOAD = {
    "a.txt": 5000,
    "empty.dat": 0,
    "sub/b.bin": 40000,
    "sub/c.dat": 1,
}
SINGLE = ("single.bin", 50000)


def fill(path, size, seed):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(bytes((i * 31 + seed) % 251 for i in range(size)))


def make_payload(root):
    folder = os.path.join(root, "payload")
    for i, (rel, size) in enumerate(sorted(PAYLOAD.items())):
        fill(os.path.join(folder, rel), size, i)
    single = os.path.join(root, SINGLE[0])
    fill(single, SINGLE[1], 99)
    return folder, single


def lt_create(src, out, flags, piece_size=16384):
    fs = lt.file_storage()
    lt.add_files(fs, src)
    ct = lt.create_torrent(fs, piece_size, flags=flags)
    ct.add_tracker(TRACKER)
    ct.set_creator("libtorrent fixture")
    lt.set_piece_hashes(ct, os.path.dirname(src))
    with open(out, "wb") as f:
        f.write(lt.bencode(ct.generate()))


def build(root, folder, single):
    made = []

    def out(name):
        path = os.path.join(HERE, name)
        if os.path.exists(path):
            os.unlink(path)  # mktorrent refuses to overwrite
        made.append(path)
        return path

    for name, src in (("mktorrent_multi.torrent", folder), ("mktorrent_single.torrent", single)):
        subprocess.run(["mktorrent", "-l", "15", "-d", "-a", TRACKER, "-o", out(name), src],
                       check=True, stdout=subprocess.DEVNULL)
    for name, src in (("transmission_multi.torrent", folder),
                      ("transmission_single.torrent", single)):
        subprocess.run(["transmission-create", "-s", "16", "-t", TRACKER, "-o", out(name), src],
                       check=True, stdout=subprocess.DEVNULL)
    lt_create(folder, out("libtorrent_v1_multi.torrent"), lt.create_torrent.v1_only)
    lt_create(folder, out("libtorrent_hybrid_multi.torrent"), 0)
    lt_create(single, out("libtorrent_hybrid_single.torrent"), 0)
    # Refused by cswarm (v2 only); kept as a fixture and fuzz seed.
    lt_create(folder, os.path.join(HERE, "libtorrent_v2_only.torrent"), lt.create_torrent.v2_only)
    return made


def transmission_hash(path):
    """The info-hash transmission-show prints, or None where Transmission 3.00
    cannot read the file (it refuses the BEP 52 hybrids)."""
    res = subprocess.run(["transmission-show", path], capture_output=True, text=True)
    m = re.search(r"Hash: ([0-9a-f]{40})", res.stdout)
    return m.group(1) if res.returncode == 0 and m else None


def describe(path):
    ti = lt.torrent_info(path)
    ih = ti.info_hashes()
    v1 = str(ih.v1)
    v2 = str(ih.v2) if ih.has_v2() else None
    fs = ti.files()
    n = fs.num_files()
    pads = sum(1 for i in range(n) if fs.file_flags(i) & lt.file_storage.flag_pad_file)
    first = fs.file_path(0)
    # Cross-check the v1 hash three ways: libtorrent, SHA-1 of the raw info
    # dictionary, and transmission-show.
    raw = lt.bdecode(open(path, "rb").read())
    info_bytes = lt.bencode(raw[b"info"])
    assert hashlib.sha1(info_bytes).hexdigest() == v1, path
    assert transmission_hash(path) in (v1, None), path
    return (os.path.basename(path), v1, v2, n, pads, fs.total_size(), ti.piece_length(),
            ti.num_pieces(), first)


def main():
    root = tempfile.mkdtemp(prefix="sw_fixtures_")
    try:
        folder, single = make_payload(root)
        made = build(root, folder, single)
        print("static const fixture fixtures[] = {")
        for path in made:
            name, v1, v2, n, pads, total, pl, np, first = describe(path)
            v2s = '"%s"' % v2 if v2 else "NULL"
            print('    {"metainfo/%s", "%s", %s, %d, %d, %d, %d, %d, "%s"},'
                  % (name, v1, v2s, n, pads, total, pl, np, first))
        print("};")
    finally:
        shutil.rmtree(root)
    return 0


if __name__ == "__main__":
    sys.exit(main())
