#!/usr/bin/python3
"""uTP transfer benchmark: one seeder and one downloader on 127.0.0.1 with TCP
switched off on both sides, moving one file (1 GiB by default) from /dev/shm,
cswarm -> cswarm and libtorrent -> libtorrent in the same run. Prints
throughput, CPU seconds of each process, CPU per GiB and the cswarm/libtorrent
ratios. Then the same through tests/tools/udp_impair adding 20 ms each way
(no loss), where the window, not the CPU, limits both, and its throughput
ratio.

usage: bench_utp.py [--size MiB] [--relay-size MiB] [--delay-ms MS] [--rounds N]
                    [--skip-relay]
Environment: CSWARM_BIN (default build-release/cli/cswarm), UDP_IMPAIR
(default build-release/tests/udp_impair). Run with /usr/bin/python3 (the one
with libtorrent)."""

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "interop"))
import swtest  # noqa: E402

ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
CSWARM = os.environ.get("CSWARM_BIN", os.path.join(ROOT, "build-release", "cli", "cswarm"))
IMPAIR = os.environ.get("UDP_IMPAIR", os.path.join(ROOT, "build-release", "tests", "udp_impair"))
swtest.CSWARM = CSWARM

LT_SETTINGS = r"""
import libtorrent as lt, sys, time
def session(port, accept_only=False):
    return lt.session({'listen_interfaces': '127.0.0.1:%d' % port, 'enable_dht': False,
        'enable_lsd': False, 'enable_upnp': False, 'enable_natpmp': False,
        'dht_bootstrap_nodes': '', 'enable_outgoing_tcp': False, 'enable_incoming_tcp': False,
        'enable_outgoing_utp': not accept_only, 'enable_incoming_utp': True})
"""

LT_SEED = LT_SETTINGS + r"""
tor, save, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
s = session(port, accept_only=True)
h = s.add_torrent({'ti': lt.torrent_info(tor), 'save_path': save})
while not h.status().is_seeding:
    time.sleep(0.05)
print('seeding', flush=True)
sys.stdin.read()
"""

LT_DOWNLOAD = LT_SETTINGS + r"""
tor, save, port, peer = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
s = session(port)
h = s.add_torrent({'ti': lt.torrent_info(tor), 'save_path': save})
while h.status().state not in (lt.torrent_status.downloading, lt.torrent_status.seeding):
    time.sleep(0.01)
h.connect_peer(('127.0.0.1', peer))
t0 = time.time()
while not h.status().is_seeding:
    time.sleep(0.01)
print('done %.3f' % (time.time() - t0), flush=True)
"""

CSWARM_SETS = ["listen_interfaces=127.0.0.1", "enable_dht=false", "enable_lsd=false",
               "enable_upnp=false", "enable_natpmp=false"]


def wait_rusage(p):
    """Waits for a child and returns (exit status, CPU seconds)."""
    _, status, ru = os.wait4(p.pid, 0)
    p.returncode = os.waitstatus_to_exitcode(status)
    return p.returncode, ru.ru_utime + ru.ru_stime


def start_relay(target_port, delay_ms):
    relay = subprocess.Popen([IMPAIR, "--target", "127.0.0.1:%d" % target_port,
                              "--delay-ms", str(delay_ms), "--seed", "1"],
                             stdout=subprocess.PIPE, text=True)
    line = relay.stdout.readline().split()
    if not line or line[0] != "ready":
        relay.kill()
        raise RuntimeError("udp_impair did not start")
    return relay, int(line[1])


def stop(p):
    if p and p.poll() is None:
        p.kill()
        p.wait()


def run_cswarm(src_dir, torrent, dst_dir, delay_ms=None):
    seed_port, dl_port = swtest.free_port(), swtest.free_port()
    sets = []
    for s in CSWARM_SETS:
        sets += ["--set", s]
    seeder = subprocess.Popen([CSWARM, "seed", torrent, "-d", src_dir, "--listen",
                               str(seed_port), "--utp-only", "--json-progress",
                               "--set", "enable_outgoing_utp=false"] + sets,
                              stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    relay = None
    try:
        for line in seeder.stdout:
            if '"seeding"' in line:
                break
        peer_port = seed_port
        if delay_ms is not None:
            relay, peer_port = start_relay(seed_port, delay_ms)
        t0 = time.time()
        dl = subprocess.Popen([CSWARM, "download", torrent, "-o", dst_dir, "--listen",
                               str(dl_port), "--peer", "127.0.0.1:%d" % peer_port,
                               "--utp-only", "--quiet"] + sets)
        rc, cpu = wait_rusage(dl)
        elapsed = time.time() - t0
        if rc != 0:
            raise RuntimeError("cswarm download failed (%d)" % rc)
        seeder.send_signal(2)
        seeder.stdout.close()
        _, seed_cpu = wait_rusage(seeder)
        return dict(seconds=elapsed, cpu=cpu, seed_cpu=seed_cpu)
    finally:
        stop(relay)
        stop(seeder)


def run_libtorrent(src_dir, torrent, dst_dir, delay_ms=None):
    seed_port, dl_port = swtest.free_port(), swtest.free_port()
    seeder = subprocess.Popen(["/usr/bin/python3", "-c", LT_SEED, torrent, src_dir,
                               str(seed_port)], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                              text=True)
    relay = None
    try:
        seeder.stdout.readline()
        peer_port = seed_port
        if delay_ms is not None:
            relay, peer_port = start_relay(seed_port, delay_ms)
        t0 = time.time()
        dl = subprocess.Popen(["/usr/bin/python3", "-c", LT_DOWNLOAD, torrent, dst_dir,
                               str(dl_port), str(peer_port)], stdout=subprocess.PIPE, text=True)
        out = dl.stdout.read()
        rc, cpu = wait_rusage(dl)
        elapsed = time.time() - t0
        if rc != 0 or not out.startswith("done"):
            raise RuntimeError("libtorrent download failed")
        seeder.stdin.close()
        _, seed_cpu = wait_rusage(seeder)
        return dict(seconds=elapsed, cpu=cpu, seed_cpu=seed_cpu)
    finally:
        stop(relay)
        stop(seeder)


def mib(n):
    return n / (1024.0 * 1024.0)


def report(title, size, cs, lt):
    gib = size / float(1 << 30)
    print("\n== %s, %.0f MiB over uTP only" % (title, mib(size)))
    print("%-11s %8s %9s %9s %10s %14s" % ("", "seconds", "MiB/s", "dl CPU s", "seed CPU s",
                                           "CPU s/GiB d+s"))
    for name, r in (("cswarm", cs), ("libtorrent", lt)):
        print("%-11s %8.2f %9.1f %9.2f %10.2f %14.2f" % (
            name, r["seconds"], mib(size) / r["seconds"], r["cpu"], r["seed_cpu"],
            (r["cpu"] + r["seed_cpu"]) / gib))
    print("ratios cswarm/libtorrent: throughput %.1fx, downloader CPU per byte %.2fx, "
          "seeder CPU per byte %.2fx" % (
              lt["seconds"] / cs["seconds"], cs["cpu"] / max(lt["cpu"], 1e-9),
              cs["seed_cpu"] / max(lt["seed_cpu"], 1e-9)))
    sys.stdout.flush()


def bench(title, base, size, rounds, delay_ms=None):
    src = os.path.join(base, "src-%d" % size)
    if not os.path.exists(src):
        swtest.make_file(os.path.join(src, "bench.bin"), size, 42)
    torrent = os.path.join(base, "bench-%d.torrent" % size)
    if not os.path.exists(torrent):
        swtest.cswarm_create(os.path.join(src, "bench.bin"), torrent, 1 << 20)
    results = {}
    for _ in range(rounds):
        for name, fn in (("cswarm", run_cswarm), ("libtorrent", run_libtorrent)):
            dst = os.path.join(base, "dst")
            shutil.rmtree(dst, ignore_errors=True)
            os.makedirs(dst)
            r = fn(src, torrent, dst, delay_ms)
            if swtest.file_digest(os.path.join(dst, "bench.bin")) != \
                    swtest.file_digest(os.path.join(src, "bench.bin")):
                raise RuntimeError("%s delivered different data" % name)
            shutil.rmtree(dst, ignore_errors=True)
            print("  %s: %.2f s, downloader CPU %.2f s, seeder CPU %.2f s"
                  % (name, r["seconds"], r["cpu"], r["seed_cpu"]), flush=True)
            if name not in results or r["seconds"] < results[name]["seconds"]:
                results[name] = r
    report(title, size, results["cswarm"], results["libtorrent"])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--size", type=int, default=1024, help="MiB (default 1024)")
    ap.add_argument("--relay-size", type=int, default=128,
                    help="MiB through the delay relay (default 128)")
    ap.add_argument("--delay-ms", type=int, default=20, help="relay delay each way (default 20)")
    ap.add_argument("--rounds", type=int, default=1, help="runs of each client (best kept)")
    ap.add_argument("--skip-relay", action="store_true")
    args = ap.parse_args()
    if not os.path.exists(CSWARM):
        sys.exit("no cswarm binary at %s (build build-release or set CSWARM_BIN)" % CSWARM)
    if not args.skip_relay and not os.path.exists(IMPAIR):
        sys.exit("no udp_impair at %s (build build-release or set UDP_IMPAIR)" % IMPAIR)
    base = tempfile.mkdtemp(prefix="cswarm-bench-utp-", dir="/dev/shm")
    try:
        bench("loopback", base, args.size * 1024 * 1024, args.rounds)
        if not args.skip_relay:
            bench("through udp_impair, %d ms each way" % args.delay_ms, base,
                  args.relay_size * 1024 * 1024, args.rounds, args.delay_ms)
    finally:
        shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    main()
