#!/usr/bin/python3
"""Lua plugin benchmark: one cswarm seeder and one cswarm downloader over
loopback TCP moving one file (1 GiB by default), with no plugin at all and
with a Lua plugin that hooks every wire message in both processes
(sdk/examples/lua/wire_stats_plugin.lua: each message of each peer goes
through a Lua function; blocks are counted with their length). The runs
alternate over several rounds; the median and the best of each are kept
(loopback transfers on a small machine vary by several percent from run to
run). Prints both throughputs and the ratio; the goal is less than 10%
slower with the Lua plugin.

With --instructions the downloader runs under valgrind's callgrind
instead, once with and once without the plugin, and the instructions it
executed are compared: a figure that does not depend on what else the
machine is doing (use a smaller --size: callgrind runs some fifty times
slower).

usage: bench_lua_plugin.py [--size MiB] [--piece-size KiB] [--rounds N] [--where disk|shm]
                           [--instructions]
Environment: CSWARM_BIN (default build-release/cli/cswarm next to this
source tree); the Lua adapter module is found next to the binary's build
tree (or through CSWARM_LUA_PLUGIN_DIR, passed as plugin_search_path).
Build Release: the figure is meaningless under sanitizers."""

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
SCRIPT = os.path.join(ROOT, "sdk", "examples", "lua", "wire_stats_plugin.lua")
ADAPTER_DIR = os.environ.get("CSWARM_LUA_PLUGIN_DIR", os.path.join(
    os.path.dirname(os.path.dirname(os.path.abspath(CSWARM))), "scripting", "plugin"))
swtest.CSWARM = CSWARM

LABELS = {False: "no plugin", True: "Lua plugin on every message"}


def plugin_args(lua):
    args = ["--no-default-plugins", "--set", "plugin_search_path=" + ADAPTER_DIR]
    if lua:
        args += ["--plugin", SCRIPT]
    return args


def transfer(src_dir, torrent, dst_dir, lua, callgrind_out=None):
    return plugin_bench.transfer(CSWARM, src_dir, torrent, dst_dir, plugin_args(lua), callgrind_out)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--size", type=int, default=1024, help="MiB (default 1024)")
    ap.add_argument("--piece-size", type=int, default=1024, help="KiB (default 1024)")
    ap.add_argument("--rounds", type=int, default=5, help="runs of each (default 5)")
    ap.add_argument("--where", choices=["disk", "shm"], default="shm")
    ap.add_argument("--instructions", action="store_true",
                    help="count the downloader's instructions under callgrind")
    args = ap.parse_args()
    if not os.path.exists(CSWARM):
        sys.exit("no cswarm binary at %s (build a Release tree or set CSWARM_BIN)" % CSWARM)
    if not os.path.exists(os.path.join(ADAPTER_DIR, "libcswarm_lua_plugin.so")):
        sys.exit("no Lua adapter in %s (build it, or set CSWARM_LUA_PLUGIN_DIR)" % ADAPTER_DIR)
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
            for lua in (False, True):
                dst = os.path.join(base, "dst-%d" % lua)
                out = os.path.join(base, "callgrind.%d" % lua)
                secs, _ = transfer(src, torrent, dst, lua, out)
                with open(out) as f:
                    counts[lua] = next(int(line.split()[1]) for line in f
                                       if line.startswith("summary:") or
                                       line.startswith("totals:"))
                shutil.rmtree(dst, ignore_errors=True)
                print("%-28s %d instructions in the downloader (%.1f s under callgrind)" %
                      (LABELS[lua] + ":", counts[lua], secs), flush=True)
            print("\n%d MiB, %d KiB pieces: the Lua plugin costs %+.2f%% instructions" % (
                args.size, args.piece_size, (counts[True] / counts[False] - 1) * 100))
            return
        runs = {False: [], True: []}
        for r in range(args.rounds):
            # Alternate the order each round: the first run after the data
            # was made pays for page-cache work the next one does not.
            order = (False, True) if r % 2 == 0 else (True, False)
            for lua in order:
                dst = os.path.join(base, "dst-%d" % lua)
                shutil.rmtree(dst, ignore_errors=True)
                secs, cpu = transfer(src, torrent, dst, lua)
                print("round %d, %-28s %6.2f s, %7.1f MiB/s, downloader CPU %.2f s" %
                      (r + 1, LABELS[lua] + ":", secs, args.size / secs, cpu), flush=True)
                runs[lua].append((secs, cpu))
                shutil.rmtree(dst, ignore_errors=True)
        print("\n%d MiB, %d KiB pieces, data on %s, %d rounds" % (
            args.size, args.piece_size, args.where, args.rounds))
        stats = {}
        for lua in (False, True):
            secs = sorted(r[0] for r in runs[lua])
            cpus = sorted(r[1] for r in runs[lua])
            stats[lua] = (statistics.median(secs), secs[0], statistics.median(cpus))
            print("%-28s median %5.2f s (%6.1f MiB/s), best %5.2f s (%6.1f MiB/s), "
                  "downloader CPU median %.2f s" % (LABELS[lua], stats[lua][0],
                                                     args.size / stats[lua][0], stats[lua][1],
                                                     args.size / stats[lua][1], stats[lua][2]))
        for what, k in (("median", 0), ("best", 1)):
            ratio = stats[False][k] / stats[True][k]
            print("throughput ratio (Lua plugin / none), %s: %.3f (%.1f%% %s)" % (
                what, ratio, abs(1 - ratio) * 100, "slower" if ratio < 1 else "faster"))
        print("downloader CPU ratio (Lua plugin / none), median: %.3f" % (
            stats[True][2] / stats[False][2]))
        print("goal: under 10% slower")
    finally:
        shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    main()
