#!/usr/bin/python3
"""Many-torrents benchmark: COUNT torrents (default 10,000) of one 64 KiB
file each, whose data is already on disk, are added to one session; the
figure is the time from the first add until every torrent is seeding, and
the peak resident memory the session grew by. cswarm
(tests/tools/many_torrents.c, a C program on the public API) and libtorrent
(python3-libtorrent) do the same in the same run, each in its own process,
alternating over --rounds rounds; the best time and the smallest growth of
each are kept. Prints both figures and the ratios cswarm / libtorrent (the
goal: under 0.5 for both time and memory per torrent).

Both sides load the same .torrent files from disk and check the data the
usual way (each piece hashed) unless --seed-mode, which asks both to trust
the files (libtorrent's and cswarm's seed_mode). Neither side runs DHT, LSD,
UPnP or NAT-PMP; both listen on 127.0.0.1 and keep their default plugins.

Memory: peak RSS (VmHWM) at the end minus RSS just before the first add,
divided by COUNT.

usage: bench_many_torrents.py [--count N] [--size KiB] [--rounds N]
                              [--seed-mode] [--where disk|shm]
                              [--no-default-plugins]
Environment: CSWARM_BUILD_DIR (default build-release next to this source
tree; the driver is built there as tests/many_torrents). Build Release: the figure
is meaningless under sanitizers."""

import argparse
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
BUILD = os.environ.get("CSWARM_BUILD_DIR", os.path.join(ROOT, "build-release"))
DRIVER = os.path.join(BUILD, "tests", "many_torrents")

LT_SIDE = r'''
import json, os, sys, time
import libtorrent as lt

tdir, ddir, count, seed_mode = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4] == "1"

def kib(field):
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return -1

ses = lt.session({"listen_interfaces": "127.0.0.1:0", "enable_dht": False, "enable_lsd": False,
                  "enable_upnp": False, "enable_natpmp": False, "dht_bootstrap_nodes": "",
                  "alert_mask": lt.alert.category_t.status_notification
                  | lt.alert.category_t.error_notification,
                  "alert_queue_size": 4 * count + 1000})
rss_before = kib("VmRSS")
t0 = time.monotonic()
flags_off = lt.torrent_flags.auto_managed | lt.torrent_flags.paused
for i in range(count):
    p = lt.add_torrent_params()
    p.ti = lt.torrent_info(os.path.join(tdir, "t%05d.torrent" % i))
    p.save_path = ddir
    p.flags &= ~flags_off
    if seed_mode:
        p.flags |= lt.torrent_flags.seed_mode
    ses.async_add_torrent(p)
t_added = time.monotonic()
seeding = failed = 0
while seeding < count and time.monotonic() - t0 < 120:
    ses.wait_for_alert(100)
    for a in ses.pop_alerts():
        if isinstance(a, lt.state_changed_alert) and a.state == lt.torrent_status.seeding:
            seeding += 1
        elif isinstance(a, (lt.torrent_error_alert, lt.file_error_alert)) or (
                isinstance(a, lt.add_torrent_alert) and a.error.value()):
            failed += 1
    if failed:
        break
t1 = time.monotonic()
print(json.dumps({"seconds": t1 - t0, "add_seconds": t_added - t0, "seeding": seeding,
                  "rss_before_kib": rss_before, "rss_peak_kib": kib("VmHWM"),
                  "rss_end_kib": kib("VmRSS")}), flush=True)
sys.exit(0 if seeding == count else 1)
'''


def bencode(v):
    if isinstance(v, int):
        return b"i%de" % v
    if isinstance(v, str):
        v = v.encode()
    if isinstance(v, bytes):
        return b"%d:%s" % (len(v), v)
    if isinstance(v, dict):
        out = b"d"
        for k in sorted(v):
            out += bencode(k) + bencode(v[k])
        return out + b"e"
    raise TypeError(type(v))


def make_data(where, count, size):
    """COUNT files of SIZE bytes (distinct contents) and a single-file v1
    .torrent for each, one piece per 64 KiB."""
    tdir = os.path.join(where, "torrents")
    ddir = os.path.join(where, "data")
    os.makedirs(tdir)
    os.makedirs(ddir)
    piece = 65536
    seed = hashlib.sha256(b"cswarm many torrents").digest()
    block = (seed * (size // len(seed) + 1))[:size]
    for i in range(count):
        data = b"%08d" % i + block[8:]
        name = "f%05d.bin" % i
        with open(os.path.join(ddir, name), "wb") as f:
            f.write(data)
        pieces = b"".join(hashlib.sha1(data[o:o + piece]).digest()
                          for o in range(0, size, piece))
        meta = {"info": {"length": size, "name": name, "piece length": piece, "pieces": pieces}}
        with open(os.path.join(tdir, "t%05d.torrent" % i), "wb") as f:
            f.write(bencode(meta))
    return tdir, ddir


def run(cmd):
    out = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                         timeout=300)
    if out.returncode != 0:
        sys.exit("%s failed (%d): %s" % (cmd[0], out.returncode, out.stderr.strip()[-2000:]))
    return json.loads(out.stdout.strip().splitlines()[-1])


def ensure_driver():
    if os.environ.get("NO_BUILD"):
        return
    if not os.path.exists(os.path.join(BUILD, "CMakeCache.txt")):
        subprocess.run(["cmake", "-S", ROOT, "-B", BUILD, "-DCMAKE_BUILD_TYPE=Release"],
                       check=True, stdout=subprocess.DEVNULL)
    subprocess.run(["cmake", "--build", BUILD, "-j2", "--target", "many_torrents"], check=True,
                   stdout=subprocess.DEVNULL)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--count", type=int, default=10000)
    ap.add_argument("--size", type=int, default=64, help="KiB per torrent")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--seed-mode", action="store_true")
    ap.add_argument("--where", choices=["disk", "shm"], default="disk")
    ap.add_argument("--no-default-plugins", action="store_true")
    args = ap.parse_args()
    ensure_driver()
    base = "/dev/shm" if args.where == "shm" else None
    work = tempfile.mkdtemp(prefix="sw-many-", dir=base)
    try:
        tdir, ddir = make_data(work, args.count, args.size * 1024)
        lt_script = os.path.join(work, "lt_side.py")
        with open(lt_script, "w") as f:
            f.write(LT_SIDE)
        sw_cmd = [DRIVER, tdir, ddir, str(args.count)]
        if args.seed_mode:
            sw_cmd.append("--seed-mode")
        if args.no_default_plugins:
            sw_cmd.append("--no-default-plugins")
        lt_cmd = ["/usr/bin/python3", lt_script, tdir, ddir, str(args.count),
                  "1" if args.seed_mode else "0"]
        best = {"cswarm": None, "libtorrent": None}
        for r in range(args.rounds):
            for name, cmd in (("libtorrent", lt_cmd), ("cswarm", sw_cmd)):
                res = run(cmd)
                grow = res["rss_peak_kib"] - res["rss_before_kib"]
                print("round %d %-10s %7.3f s (adding %6.3f s)  +%7.1f MiB peak RSS  "
                      "%5.2f KiB/torrent" % (r + 1, name, res["seconds"], res["add_seconds"],
                                             grow / 1024, grow / args.count), flush=True)
                b = best[name]
                if b is None:
                    best[name] = {"seconds": res["seconds"], "grow": grow}
                else:
                    b["seconds"] = min(b["seconds"], res["seconds"])
                    b["grow"] = min(b["grow"], grow)
        sw, lt = best["cswarm"], best["libtorrent"]
        print("best: cswarm %.3f s, %.2f KiB/torrent; libtorrent %.3f s, %.2f KiB/torrent" %
              (sw["seconds"], sw["grow"] / args.count, lt["seconds"], lt["grow"] / args.count))
        print("ratio cswarm/libtorrent: time %.3f, memory per torrent %.3f (goal: both < 0.5)" %
              (sw["seconds"] / lt["seconds"], sw["grow"] / max(lt["grow"], 1)))
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
