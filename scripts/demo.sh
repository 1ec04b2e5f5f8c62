#!/bin/sh
# Local demo: generates data, makes a torrent of it and shows what cswarm
# reads back. Everything stays in a temporary folder; nothing leaves the host.
set -eu
CSWARM=${1:?usage: demo.sh PATH_TO_CSWARM}
DIR=$(mktemp -d /tmp/cswarm-demo.XXXXXX)
trap 'rm -rf "$DIR"' EXIT INT TERM
mkdir -p "$DIR/data/demo/sub"
head -c 48000000 /dev/urandom >"$DIR/data/demo/big.bin"
head -c 1234567 /dev/urandom >"$DIR/data/demo/sub/small.bin"
: >"$DIR/data/demo/sub/empty.txt"
echo "== cswarm create"
"$CSWARM" create "$DIR/data/demo" -o "$DIR/demo.torrent" -t http://127.0.0.1:6969/announce \
    --comment "cswarm demo"
echo "== cswarm info"
"$CSWARM" info "$DIR/demo.torrent"
echo "== cswarm magnet"
"$CSWARM" magnet "$DIR/demo.torrent"
