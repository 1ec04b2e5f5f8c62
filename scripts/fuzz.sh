#!/bin/sh
# Builds the libFuzzer targets with clang and runs each for SECONDS seconds,
# starting from its seed corpus (copied, so the repository stays clean).
set -eu
cd "$(dirname "$0")/.."
SECONDS_EACH=${1:-60}
BUILD=build-fuzz
CC=clang cmake -S . -B "$BUILD" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCSWARM_FUZZ=ON >/dev/null
cmake --build "$BUILD" -j "$(nproc)" --target cswarm_fuzzers >/dev/null
for bin in "$BUILD"/tests/fuzz_*; do
    [ -x "$bin" ] || continue
    name=$(basename "$bin")
    seeds="tests/fuzz/corpus/${name#fuzz_}"
    work="$BUILD/corpus/$name"
    mkdir -p "$work"
    [ -d "$seeds" ] && cp -r "$seeds"/. "$work"/
    echo "fuzz.sh: $name for ${SECONDS_EACH}s"
    "$bin" -artifact_prefix="$BUILD/$name-" -max_total_time="$SECONDS_EACH" -rss_limit_mb=2048 -max_len=65536 "$work" \
        >"$BUILD/$name.log" 2>&1 || { tail -50 "$BUILD/$name.log"; exit 1; }
done
echo "fuzz.sh: no crashes"
