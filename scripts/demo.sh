#!/bin/sh
# Local demo: a real two-peer swarm on 127.0.0.1. Generates data, makes a
# torrent of it, seeds it from one cswarm in the background and downloads it
# with another (progress bar on a terminal), then compares the copies.
# Everything stays in a temporary folder and on loopback; the seeder is
# stopped on exit.
set -eu
CSWARM=${1:?usage: demo.sh PATH_TO_CSWARM}
DIR=$(mktemp -d /tmp/cswarm-demo.XXXXXX)
SEED_PID=
cleanup() {
    if [ -n "$SEED_PID" ]; then
        kill "$SEED_PID" 2>/dev/null || true
        wait "$SEED_PID" 2>/dev/null || true
    fi
    rm -rf "$DIR"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# A free TCP port on 127.0.0.1, asked from the OS.
free_port() {
    if command -v python3 >/dev/null 2>&1; then
        python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
    else
        echo $((20000 + $$ % 20000))
    fi
}

LOOPBACK="--set listen_interfaces=127.0.0.1 --set enable_dht=false --set enable_lsd=false"
LOOPBACK="$LOOPBACK --set enable_upnp=false --set enable_natpmp=false"

mkdir -p "$DIR/data/demo/sub"
head -c 200000000 /dev/urandom >"$DIR/data/demo/big.bin"
head -c 1234567 /dev/urandom >"$DIR/data/demo/sub/small.bin"
: >"$DIR/data/demo/sub/empty.txt"

echo "== cswarm create"
"$CSWARM" create "$DIR/data/demo" -o "$DIR/demo.torrent" --comment "cswarm demo"
"$CSWARM" info "$DIR/demo.torrent"

PORT=$(free_port)
echo "== cswarm seed (background, port $PORT)"
# shellcheck disable=SC2086
"$CSWARM" seed "$DIR/demo.torrent" -d "$DIR/data" --listen "$PORT" $LOOPBACK \
    >"$DIR/seed.log" 2>&1 &
SEED_PID=$!

# Wait until the seeder has checked its data and listens.
i=0
until grep -q seeding "$DIR/seed.log" 2>/dev/null; do
    i=$((i + 1))
    if [ $i -gt 300 ] || ! kill -0 "$SEED_PID" 2>/dev/null; then
        echo "the seeder did not start:" >&2
        cat "$DIR/seed.log" >&2
        exit 1
    fi
    sleep 0.1
done

echo "== cswarm download --peer 127.0.0.1:$PORT"
# shellcheck disable=SC2086
"$CSWARM" download "$DIR/demo.torrent" -o "$DIR/out" --peer "127.0.0.1:$PORT" \
    --listen "$(free_port)" $LOOPBACK

echo "== compare"
for f in big.bin sub/small.bin sub/empty.txt; do
    cmp "$DIR/data/demo/$f" "$DIR/out/demo/$f"
    echo "  demo/$f: identical"
done
echo "== done"
