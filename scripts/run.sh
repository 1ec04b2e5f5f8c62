#!/bin/sh
# The main job: installs what cswarm needs, builds it (Release), then
#   with no argument: runs a local demo on 127.0.0.1 with generated data;
#   with arguments:   runs `cswarm download ARGS...` (a .torrent, magnet or URL).
set -eu
cd "$(dirname "$0")/.."
./scripts/install-deps.sh
BUILD=${CSWARM_BUILD:-build-release}
cmake -S . -B "$BUILD" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$BUILD" -j "$(nproc)" --target cswarm
CSWARM="$BUILD/cli/cswarm"
if [ $# -gt 0 ]; then
    exec "$CSWARM" download "$@"
fi
exec ./scripts/demo.sh "$CSWARM"
