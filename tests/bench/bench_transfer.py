#!/usr/bin/python3
"""Transfer benchmark: one seeder and one downloader over loopback TCP moving
one file (1 GiB by default), cswarm -> cswarm and libtorrent -> libtorrent in
the same run, with the data on disk and in /dev/shm. Prints throughput, CPU
seconds and peak memory of each side and the cswarm/libtorrent ratios.

usage: bench_transfer.py [--size MiB] [--piece-size KiB] [--only disk|shm] [--rounds N]
Environment: CSWARM_BIN (default build-release/cli/cswarm next to this
source tree). Run with /usr/bin/python3 (the one with libtorrent)."""

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "interop"))
import swtest  # noqa: E402

ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
CSWARM = os.environ.get("CSWARM_BIN", os.path.join(ROOT, "build-release", "cli", "cswarm"))
swtest.CSWARM = CSWARM

LT_SEED = r"""
import libtorrent as lt, sys, time
tor, save, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
s = lt.session({'listen_interfaces': '127.0.0.1:%d' % port, 'enable_dht': False,
    'enable_lsd': False, 'enable_upnp': False, 'enable_natpmp': False,
    'dht_bootstrap_nodes': '', 'enable_outgoing_utp': False, 'enable_incoming_utp': False})
h = s.add_torrent({'ti': lt.torrent_info(tor), 'save_path': save})
while not h.status().is_seeding:
    time.sleep(0.05)
print('seeding', flush=True)
sys.stdin.read()
"""

LT_DOWNLOAD = r"""
import libtorrent as lt, sys, time
tor, save, port, peer = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
s = lt.session({'listen_interfaces': '127.0.0.1:%d' % port, 'enable_dht': False,
    'enable_lsd': False, 'enable_upnp': False, 'enable_natpmp': False,
    'dht_bootstrap_nodes': '', 'enable_outgoing_utp': False, 'enable_incoming_utp': False})
h = s.add_torrent({'ti': lt.torrent_info(tor), 'save_path': save})
while h.status().state not in (lt.torrent_status.downloading, lt.torrent_status.seeding):
    time.sleep(0.01)
h.connect_peer(('127.0.0.1', peer))
t0 = time.time()
while not h.status().is_seeding:
    time.sleep(0.01)
print('done %.3f' % (time.time() - t0), flush=True)
"""


class Sampler(threading.Thread):
    """Samples VmRSS and RssAnon of a process until it exits."""

    def __init__(self, pid):
        super().__init__(daemon=True)
        self.pid = pid
        self.rss = 0
        self.anon = 0
        self.stop = False

    def run(self):
        while not self.stop:
            try:
                with open("/proc/%d/status" % self.pid) as f:
                    for line in f:
                        if line.startswith("VmRSS:"):
                            self.rss = max(self.rss, int(line.split()[1]) * 1024)
                        elif line.startswith("RssAnon:"):
                            self.anon = max(self.anon, int(line.split()[1]) * 1024)
            except OSError:
                return
            time.sleep(0.05)


def wait_rusage(p):
    """Waits for a child and returns (exit status, CPU seconds, maxrss bytes)."""
    _, status, ru = os.wait4(p.pid, 0)
    p.returncode = os.waitstatus_to_exitcode(status)
    return p.returncode, ru.ru_utime + ru.ru_stime, ru.ru_maxrss * 1024


def run_cswarm(src_dir, torrent, dst_dir):
    seed_port, dl_port = swtest.free_port(), swtest.free_port()
    common = ["--set", "listen_interfaces=127.0.0.1", "--quiet"]
    seeder = subprocess.Popen([CSWARM, "seed", torrent, "-d", src_dir, "--listen",
                               str(seed_port), "--json-progress"] + common[:2],
                              stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        for line in seeder.stdout:
            if '"seeding"' in line:
                break
        seed_sampler = Sampler(seeder.pid)
        seed_sampler.start()
        t0 = time.time()
        dl = subprocess.Popen([CSWARM, "download", torrent, "-o", dst_dir, "--listen",
                               str(dl_port), "--peer", "127.0.0.1:%d" % seed_port] + common)
        sampler = Sampler(dl.pid)
        sampler.start()
        rc, cpu, maxrss = wait_rusage(dl)
        elapsed = time.time() - t0
        sampler.stop = True
        if rc != 0:
            raise RuntimeError("cswarm download failed (%d)" % rc)
        seeder.send_signal(2)
        seeder.stdout.close()
        _, seed_cpu, seed_rss = wait_rusage(seeder)
        seed_sampler.stop = True
        return dict(seconds=elapsed, cpu=cpu, rss=maxrss, anon=sampler.anon, seed_cpu=seed_cpu,
                    seed_rss=seed_rss, seed_anon=seed_sampler.anon)
    finally:
        if seeder.poll() is None:
            seeder.kill()
            seeder.wait()


def run_libtorrent(src_dir, torrent, dst_dir):
    seed_port, dl_port = swtest.free_port(), swtest.free_port()
    seeder = subprocess.Popen(["/usr/bin/python3", "-c", LT_SEED, torrent, src_dir,
                               str(seed_port)], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                              text=True)
    try:
        seeder.stdout.readline()
        seed_sampler = Sampler(seeder.pid)
        seed_sampler.start()
        t0 = time.time()
        dl = subprocess.Popen(["/usr/bin/python3", "-c", LT_DOWNLOAD, torrent, dst_dir,
                               str(dl_port), str(seed_port)], stdout=subprocess.PIPE, text=True)
        sampler = Sampler(dl.pid)
        sampler.start()
        out = dl.stdout.read()
        rc, cpu, maxrss = wait_rusage(dl)
        elapsed = time.time() - t0
        sampler.stop = True
        if rc != 0 or not out.startswith("done"):
            raise RuntimeError("libtorrent download failed")
        seeder.stdin.close()
        _, seed_cpu, seed_rss = wait_rusage(seeder)
        seed_sampler.stop = True
        return dict(seconds=elapsed, cpu=cpu, rss=maxrss, anon=sampler.anon, seed_cpu=seed_cpu,
                    seed_rss=seed_rss, seed_anon=seed_sampler.anon)
    finally:
        if seeder.poll() is None:
            seeder.kill()
            seeder.wait()


def mib(n):
    return n / (1024.0 * 1024.0)


def report(where, size, cs, lt):
    print("\n== data on %s, %.0f MiB" % (where, mib(size)))
    print("%-11s %8s %9s %9s %10s %10s %9s %10s %10s" % (
        "", "seconds", "MiB/s", "dl CPU s", "dl RSS", "dl anon", "seed CPU", "seed RSS",
        "seed anon"))
    for name, r in (("cswarm", cs), ("libtorrent", lt)):
        print("%-11s %8.2f %9.1f %9.2f %8.1fMi %8.1fMi %9.2f %8.1fMi %8.1fMi" % (
            name, r["seconds"], mib(size) / r["seconds"], r["cpu"], mib(r["rss"]),
            mib(r["anon"]), r["seed_cpu"], mib(r["seed_rss"]), mib(r["seed_anon"])))
    print("ratios cswarm/libtorrent: throughput %.2fx, downloader CPU per byte %.2fx, "
          "seeder CPU per byte %.2fx, downloader anon memory %.2fx" % (
              lt["seconds"] / cs["seconds"], cs["cpu"] / lt["cpu"],
              cs["seed_cpu"] / max(lt["seed_cpu"], 1e-9), cs["anon"] / max(lt["anon"], 1)))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--size", type=int, default=1024, help="MiB (default 1024)")
    ap.add_argument("--piece-size", type=int, default=1024, help="KiB (default 1024)")
    ap.add_argument("--only", choices=["disk", "shm"])
    ap.add_argument("--rounds", type=int, default=2, help="runs of each client (best kept)")
    args = ap.parse_args()
    if not os.path.exists(CSWARM):
        sys.exit("no cswarm binary at %s (build build-release or set CSWARM_BIN)" % CSWARM)
    size = args.size * 1024 * 1024
    places = []
    if args.only != "shm":
        places.append(("disk", tempfile.mkdtemp(prefix="cswarm-bench-", dir="/var/tmp")))
    if args.only != "disk":
        places.append(("/dev/shm", tempfile.mkdtemp(prefix="cswarm-bench-", dir="/dev/shm")))
    try:
        for where, base in places:
            src = os.path.join(base, "src")
            swtest.make_file(os.path.join(src, "bench.bin"), size, 42)
            torrent = os.path.join(base, "bench.torrent")
            swtest.cswarm_create(os.path.join(src, "bench.bin"), torrent, args.piece_size * 1024)
            results = {}
            # Alternating runs, best of each: the first transfer after the
            # data was made pays for page-cache reclaim and writeback that
            # the next one does not, so a single run in a fixed order is
            # biased against whichever goes first.
            for _ in range(args.rounds):
                for name, fn in (("cswarm", run_cswarm), ("libtorrent", run_libtorrent)):
                    dst = os.path.join(base, "dst-" + name)
                    # Start with no dirty pages from the run before.
                    os.sync()
                    time.sleep(1)
                    r = fn(src, torrent, dst)
                    swtest.assert_same_files(src, dst, ["bench.bin"])
                    shutil.rmtree(dst)
                    print("  %s: %.2f s, downloader CPU %.2f s" % (name, r["seconds"], r["cpu"]),
                          flush=True)
                    if name not in results or r["seconds"] < results[name]["seconds"]:
                        results[name] = r
            report(where, size, results["cswarm"], results["libtorrent"])
    finally:
        for _, base in places:
            shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    main()
