#!/bin/sh
# Installs everything cswarm needs to build, test and benchmark on Debian 12:
# the build dependencies and the real clients the interop tests run against.
# Idempotent; run as root (or through sudo).
set -eu
SUDO=""
if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi
PKGS="build-essential cmake pkg-config git
      libuv1-dev libssl-dev libcurl4-openssl-dev liblua5.4-dev lua5.4 libcmocka-dev
      clang libclang-rt-14-dev
      python3 python3-libtorrent transmission-cli transmission-daemon opentracker mktorrent aria2
      iproute2 valgrind"
missing=""
for p in $PKGS; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
if [ -n "$missing" ]; then
    echo "install-deps: installing:$missing"
    $SUDO apt-get update
    # shellcheck disable=SC2086
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y --no-install-recommends $missing
else
    echo "install-deps: all packages present"
fi
