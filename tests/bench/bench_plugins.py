#!/usr/bin/python3
"""Hook dispatch benchmark: one cswarm seeder and one cswarm downloader over
loopback TCP moving one file (1 GiB by default), first with no plugin at
all, then with ten no-op C plugins loaded in both processes
(tests/plugins/noop.c built as noop0.so ... noop9.so: each implements every
hook, attaches to every torrent and peer, and does nothing). The runs
alternate over several rounds; the median and the best of each are kept
(loopback transfers on a small machine vary by several percent from run to
run, more than the effect measured, so use enough rounds). Prints both
throughputs and the ratios; the goal is less than 2% slower with the ten
plugins.

With --instructions the downloader runs under valgrind's callgrind
instead, once with each set of plugins, and the instructions it executed
are compared: a figure that does not depend on what else the machine is
doing (use a smaller --size: callgrind runs some fifty times slower).

usage: bench_plugins.py [--size MiB] [--piece-size KiB] [--rounds N] [--where disk|shm]
                        [--instructions]
Environment: CSWARM_BIN (default build-release/cli/cswarm next to this
source tree) and CSWARM_PLUGIN_DIR (default tests/plugins next to the
binary's build folder). Build Release: the figure is meaningless under
sanitizers."""

import argparse
import os
import shutil
import statistics
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "interop"))
import swtest  # noqa: E402

sys.path.insert(0, HERE)
import plugin_bench  # noqa: E402

ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
CSWARM = os.environ.get("CSWARM_BIN", os.path.join(ROOT, "build-release", "cli", "cswarm"))
PLUGIN_DIR = os.environ.get("CSWARM_PLUGIN_DIR", os.path.join(
    os.path.dirname(os.path.dirname(os.path.abspath(CSWARM))), "tests", "plugins"))
swtest.CSWARM = CSWARM


def plugin_args(n):
    args = ["--no-default-plugins"]
    for i in range(n):
        args += ["--plugin", os.path.join(PLUGIN_DIR, "noop%d.so" % i)]
    return args


def transfer(src_dir, torrent, dst_dir, nplugins, callgrind_out=None):
    return plugin_bench.transfer(CSWARM, src_dir, torrent, dst_dir, plugin_args(nplugins), callgrind_out)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--size", type=int, default=1024, help="MiB (default 1024)")
    ap.add_argument("--piece-size", type=int, default=1024, help="KiB (default 1024)")
    ap.add_argument("--rounds", type=int, default=7, help="runs of each (default 7)")
    ap.add_argument("--where", choices=["disk", "shm"], default="shm")
    ap.add_argument("--instructions", action="store_true",
                    help="count the downloader's instructions under callgrind")
    args = ap.parse_args()
    if not os.path.exists(CSWARM):
        sys.exit("no cswarm binary at %s (build a Release tree or set CSWARM_BIN)" % CSWARM)
    missing = [i for i in range(10) if not os.path.exists(os.path.join(PLUGIN_DIR,
                                                                       "noop%d.so" % i))]
    if missing:
        sys.exit("no noop plugins in %s (build the tests, or set CSWARM_PLUGIN_DIR)" % PLUGIN_DIR)
    size = args.size * 1024 * 1024
    base = tempfile.mkdtemp(prefix="cswarm-bench-",
                            dir="/dev/shm" if args.where == "shm" else "/var/tmp")
    try:
        src = os.path.join(base, "src")
        swtest.make_file(os.path.join(src, "bench.bin"), size, 42)
        torrent = os.path.join(base, "bench.torrent")
        swtest.cswarm_create(os.path.join(src, "bench.bin"), torrent, args.piece_size * 1024)
        if args.instructions:
            counts = {}
            for n in (0, 10):
                dst = os.path.join(base, "dst-%d" % n)
                out = os.path.join(base, "callgrind.%d" % n)
                secs, _ = transfer(src, torrent, dst, n, out)
                with open(out) as f:
                    counts[n] = next(int(line.split()[1]) for line in f
                                     if line.startswith("summary:") or line.startswith("totals:"))
                shutil.rmtree(dst, ignore_errors=True)
                print("%2d plugins: %d instructions in the downloader (%.1f s under callgrind)" %
                      (n, counts[n], secs), flush=True)
            print("\n%d MiB, %d KiB pieces: ten no-op plugins cost %+.2f%% instructions" % (
                args.size, args.piece_size, (counts[10] / counts[0] - 1) * 100))
            return
        runs = {0: [], 10: []}
        for r in range(args.rounds):
            # Alternate the order each round: the first run after the data
            # was made pays for page-cache work the next one does not.
            order = (0, 10) if r % 2 == 0 else (10, 0)
            for n in order:
                dst = os.path.join(base, "dst-%d" % n)
                shutil.rmtree(dst, ignore_errors=True)
                secs, cpu = transfer(src, torrent, dst, n)
                print("round %d, %2d plugins: %6.2f s, %7.1f MiB/s, downloader CPU %.2f s" %
                      (r + 1, n, secs, args.size / secs, cpu), flush=True)
                runs[n].append((secs, cpu))
                shutil.rmtree(dst, ignore_errors=True)
        print("\n%d MiB, %d KiB pieces, data on %s, %d rounds" % (
            args.size, args.piece_size, args.where, args.rounds))
        stats = {}
        for n, label in ((0, "no plugins"), (10, "ten no-op plugins")):
            secs = sorted(r[0] for r in runs[n])
            cpus = sorted(r[1] for r in runs[n])
            stats[n] = (statistics.median(secs), secs[0], statistics.median(cpus))
            print("%-18s median %5.2f s (%6.1f MiB/s), best %5.2f s (%6.1f MiB/s), "
                  "downloader CPU median %.2f s" % (label, stats[n][0], args.size / stats[n][0],
                                                     stats[n][1], args.size / stats[n][1],
                                                     stats[n][2]))
        for what, k in (("median", 0), ("best", 1)):
            ratio = stats[0][k] / stats[10][k]
            print("throughput ratio (ten plugins / none), %s: %.3f (%.1f%% %s)" % (
                what, ratio, abs(1 - ratio) * 100, "slower" if ratio < 1 else "faster"))
        print("goal: under 2% slower")
    finally:
        shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    main()
