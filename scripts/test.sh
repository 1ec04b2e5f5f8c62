#!/bin/sh
# The full test suite: installs dependencies, builds with AddressSanitizer and
# UndefinedBehaviorSanitizer, runs every ctest (unit, interop, fuzz-corpus
# replay) and then fuzzes each parser briefly with libFuzzer.
set -eu
cd "$(dirname "$0")/.."
./scripts/install-deps.sh
BUILD=${CSWARM_TEST_BUILD:-build-asan}
JOBS=$(nproc)
cmake -S . -B "$BUILD" -DCMAKE_BUILD_TYPE=Debug -DCSWARM_SANITIZE=ON -DCSWARM_WERROR=ON
cmake --build "$BUILD" -j "$JOBS"
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:strict_string_checks=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
ctest --test-dir "$BUILD" --output-on-failure -j "$JOBS" --timeout 600
# Brief coverage-guided fuzzing of every parser (clang's libFuzzer).
if [ "${CSWARM_SKIP_FUZZ:-0}" != 1 ]; then
    ./scripts/fuzz.sh "${CSWARM_FUZZ_SECONDS:-10}"
fi
echo "test.sh: all tests passed"
