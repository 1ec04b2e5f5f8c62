#!/usr/bin/env bash
# Torrent creation speed: `cswarm create` against `mktorrent -t 2` on the same
# file, with the same piece size, in one run, both with the file in the page
# cache. Also measures the machine's SHA-1 limit with `openssl speed` and
# prints cswarm's throughput as a share of the 2-core limit.
#
#   tests/bench/bench_create.sh            # 2 GiB file, 1 MiB pieces
#   SIZE=$((512<<20)) RUNS=5 tests/bench/bench_create.sh
#
# Environment:
#   SIZE       bytes of test data (default 2 GiB)
#   EXP        piece size 2^EXP for both tools (default 20 = 1 MiB, what
#              cswarm picks on its own for 2 GiB)
#   RUNS       timed runs per tool, alternating; the best is reported (default 3)
#   THREADS    hashing threads for both tools (default 2)
#   BENCH_DIR  where the data files (one per SIZE) are kept (default build-release/bench)
#   BUILD_DIR  Release build of cswarm (default build-release; built if needed)
#   NO_BUILD   set to use the cswarm already built in BUILD_DIR as it is
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
SIZE=${SIZE:-$((2 << 30))}
EXP=${EXP:-20}
RUNS=${RUNS:-3}
THREADS=${THREADS:-2}
BUILD_DIR=${BUILD_DIR:-$ROOT/build-release}
BENCH_DIR=${BENCH_DIR:-$BUILD_DIR/bench}
DATA=$BENCH_DIR/create-data-$SIZE.bin
OUT=$BENCH_DIR/out

need() { command -v "$1" >/dev/null || { echo "bench_create: $1 is needed ($2)" >&2; exit 2; }; }
need mktorrent "apt-get install mktorrent"
need openssl "apt-get install openssl"
need transmission-show "apt-get install transmission-cli"

# ---- the cswarm binary (Release; warnings are policed by the test build) ----
if [ -n "${NO_BUILD:-}" ]; then
    : # use the binary already in BUILD_DIR as it is
elif [ ! -x "$BUILD_DIR/cli/cswarm" ] || [ -n "${REBUILD:-}" ]; then
    cmake -S "$ROOT" -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=Release -DCSWARM_TESTS=OFF \
        -DCSWARM_WERROR=OFF >/dev/null
fi
mkdir -p "$BUILD_DIR"
if [ -z "${NO_BUILD:-}" ] && ! cmake --build "$BUILD_DIR" -j "$(nproc)" --target cswarm >"$BUILD_DIR/bench-build.log" 2>&1; then
    tail -30 "$BUILD_DIR/bench-build.log" >&2
    exit 2
fi
CSWARM=$BUILD_DIR/cli/cswarm

# ---- the data: real bytes (not sparse), made once and kept ----
mkdir -p "$BENCH_DIR" "$OUT"
if [ ! -f "$DATA" ] || [ "$(stat -c %s "$DATA")" != "$SIZE" ]; then
    avail=$(df -P -B1 "$BENCH_DIR" | awk 'NR==2 {print $4}')
    if [ "$avail" -lt $((SIZE + (1 << 30))) ]; then
        echo "bench_create: not enough disk space in $BENCH_DIR for $SIZE bytes" >&2
        exit 2
    fi
    echo "making $SIZE bytes of data in $DATA ..."
    # AES-CTR of zeros: incompressible bytes at GB/s, the same every time.
    # (openssl dies of SIGPIPE when head has enough: not an error here.)
    (openssl enc -aes-128-ctr -nosalt -pbkdf2 -pass pass:cswarm-bench </dev/zero 2>/dev/null ||
        true) | head -c "$SIZE" >"$DATA.tmp"
    if [ "$(stat -c %s "$DATA.tmp")" != "$SIZE" ]; then
        echo "bench_create: could not make the data file" >&2
        exit 2
    fi
    mv "$DATA.tmp" "$DATA"
fi

# ---- SHA-1 limit ----
# The sha1 row's last column is the largest block size, in 1000s of bytes/s.
sha1_rate() { awk '/^sha1 / {v=$NF; sub(/k$/, "", v); print v * 1000}'; }
SHA1_1=$(openssl speed -evp sha1 -seconds 3 2>/dev/null | sha1_rate)
SHA1_2=$(openssl speed -evp sha1 -seconds 3 -multi 2 2>/dev/null | sha1_rate)
LIMIT2=$(awk -v a="$SHA1_1" -v b="$SHA1_2" 'BEGIN {print (b > 2 * a ? b : 2 * a)}')

# ---- timed runs, page cache warm ----
cat "$DATA" >/dev/null
now() { date +%s.%N; }
best_cswarm=999999
best_mk=999999
for i in $(seq 1 "$RUNS"); do
    rm -f "$OUT/c.torrent" "$OUT/m.torrent"
    t0=$(now)
    "$CSWARM" create "$DATA" -o "$OUT/c.torrent" --piece-size $((1 << EXP)) >/dev/null
    t1=$(now)
    mktorrent -l "$EXP" -d -t "$THREADS" -o "$OUT/m.torrent" "$DATA" >/dev/null
    t2=$(now)
    c=$(awk -v a="$t0" -v b="$t1" 'BEGIN {print b - a}')
    m=$(awk -v a="$t1" -v b="$t2" 'BEGIN {print b - a}')
    printf 'run %d: cswarm %.3f s, mktorrent %.3f s\n' "$i" "$c" "$m"
    best_cswarm=$(awk -v a="$best_cswarm" -v b="$c" 'BEGIN {print (b < a ? b : a)}')
    best_mk=$(awk -v a="$best_mk" -v b="$m" 'BEGIN {print (b < a ? b : a)}')
done

hash_of() { transmission-show "$1" | awk '/^ *Hash:/ {print $2}'; }
hc=$(hash_of "$OUT/c.torrent")
hm=$(hash_of "$OUT/m.torrent")
if [ "$hc" != "$hm" ]; then
    echo "bench_create: info-hashes differ: cswarm $hc, mktorrent $hm" >&2
    exit 1
fi

awk -v size="$SIZE" -v e="$EXP" -v c="$best_cswarm" -v m="$best_mk" -v s1="$SHA1_1" \
    -v s2="$SHA1_2" -v lim="$LIMIT2" -v th="$THREADS" -v h="$hc" 'BEGIN {
    mib = 1048576
    printf "\ncreate %.0f MiB, piece 2^%d, %d threads, warm cache (best of runs); info-hash %s (equal)\n", size / mib, e, th, h
    printf "  cswarm create     %7.3f s  %8.1f MiB/s\n", c, size / c / mib
    printf "  mktorrent -t %d    %7.3f s  %8.1f MiB/s\n", th, m, size / m / mib
    printf "  ratio mktorrent/cswarm: %.2fx\n", m / c
    printf "  openssl speed -evp sha1: 1 core %.1f MiB/s, -multi 2 %.1f MiB/s; 2-core limit %.1f MiB/s\n", s1 / mib, s2 / mib, lim / mib
    printf "  cswarm at %.1f%% of the 2-core SHA-1 limit (%.1f%% of the -multi 2 rate)\n", 100 * size / c / lim, 100 * size / c / s2
}'
