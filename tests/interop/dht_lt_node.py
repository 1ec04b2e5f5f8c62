#!/usr/bin/python3
"""libtorrent DHT nodes on 127.0.0.1, driven line by line over stdin/stdout.

Run by tests/unit/test_dht_libtorrent.c, which runs a cswarm DHT node in its
own event loop while this process answers. One command per line, one reply
line each: "OK ..." or "ERR ...". Hex is used for every binary argument,
and "-" for an empty one.

  start N                          N sessions; replies with their ports
  add_node I PORT                  session I pings 127.0.0.1:PORT
  nodes I                          nodes in session I's routing table
  add_torrent I IH                 a magnet-style torrent; libtorrent announces
                                   it on the DHT itself (its Python binding
                                   cannot pass dht_announce's flags)
  get_peers I IH SECS              peers found, as ip:port words
  put_immutable I BENC             target and nodes that stored it
  get_immutable I TARGET SECS      the value, bencoded
  put_mutable I SK PK SALT DATA    stores the string DATA; seq and successes
  get_mutable I PK SALT SECS       seq and the value, bencoded
  quit

Only Debian's /usr/bin/python3 has the libtorrent module; without it the
script prints "SKIP" and exits, and the test skips."""
import shutil
import sys
import tempfile
import time

try:
    import libtorrent as lt
except ImportError:
    print("SKIP libtorrent python module not available", flush=True)
    sys.exit(0)

SESSIONS = []
TEMP_DIRS = []


def make_session():
    return lt.session({
        "listen_interfaces": "127.0.0.1:0",
        "enable_dht": True,
        "enable_lsd": False,
        "enable_upnp": False,
        "enable_natpmp": False,
        "dht_bootstrap_nodes": "",
        # One address for every node: libtorrent's per-address rules off.
        "dht_restrict_routing_ips": False,
        "dht_restrict_search_ips": False,
        "dht_enforce_node_id": False,
        "dht_ignore_dark_internet": False,
        "alert_mask": lt.alert.category_t.dht_notification
        | lt.alert.category_t.dht_operation_notification
        | lt.alert.category_t.status_notification,
    })


def wait_for(ses, pick, secs):
    """Pops alerts until pick(alert) returns something other than None."""
    deadline = time.monotonic() + secs
    while time.monotonic() < deadline:
        ses.wait_for_alert(100)
        for a in ses.pop_alerts():
            got = pick(a)
            if got is not None:
                return got
    return None


def unhex(s):
    return b"" if s == "-" else bytes.fromhex(s)


def sha1(hexstr):
    return lt.sha1_hash(unhex(hexstr))


def cmd_start(n):
    for _ in range(int(n)):
        SESSIONS.append(make_session())
    return " ".join(str(s.listen_port()) for s in SESSIONS)


def cmd_add_node(i, port):
    SESSIONS[int(i)].add_dht_node(("127.0.0.1", int(port)))
    return ""


def cmd_nodes(i):
    ses = SESSIONS[int(i)]
    ses.post_dht_stats()

    def pick(a):
        if isinstance(a, lt.dht_stats_alert):
            return sum(b["num_nodes"] for b in a.routing_table)
        return None

    n = wait_for(ses, pick, 5)
    if n is None:
        raise RuntimeError("no dht_stats_alert")
    return str(n)


def cmd_add_torrent(i, ih):
    atp = lt.add_torrent_params()
    atp.info_hashes = lt.info_hash_t(sha1(ih))
    atp.save_path = tempfile.mkdtemp(prefix="cswarm-dht-lt-")
    TEMP_DIRS.append(atp.save_path)
    SESSIONS[int(i)].add_torrent(atp)
    return ""


def cmd_get_peers(i, ih, secs):
    ses = SESSIONS[int(i)]
    target = sha1(ih)
    ses.dht_get_peers(target)

    def pick(a):
        if isinstance(a, lt.dht_get_peers_reply_alert) and a.info_hash == target:
            return a.peers()
        return None

    peers = wait_for(ses, pick, float(secs))
    if peers is None:
        raise RuntimeError("no dht_get_peers_reply_alert")
    return " ".join("%s:%d" % (ip, port) for ip, port in peers)


def cmd_put_immutable(i, benc):
    ses = SESSIONS[int(i)]
    target = ses.dht_put_immutable_item(lt.bdecode(unhex(benc)))

    def pick(a):
        if isinstance(a, lt.dht_put_alert) and a.target == target:
            return a.num_success
        return None

    n = wait_for(ses, pick, 20)
    if n is None:
        raise RuntimeError("no dht_put_alert")
    return "%s %d" % (str(target), n)


def cmd_get_immutable(i, target_hex, secs):
    ses = SESSIONS[int(i)]
    target = sha1(target_hex)
    ses.dht_get_immutable_item(target)

    def pick(a):
        if isinstance(a, lt.dht_immutable_item_alert) and a.target == target:
            return a.item
        return None

    item = wait_for(ses, pick, float(secs))
    if item is None:
        raise RuntimeError("no dht_immutable_item_alert")
    value = item["value"] if isinstance(item, dict) and "value" in item else item
    return lt.bencode(value).hex()


def cmd_put_mutable(i, sk, pk, salt, data):
    ses = SESSIONS[int(i)]
    key = unhex(pk)
    ses.dht_put_mutable_item(unhex(sk), key, unhex(data), unhex(salt))

    def pick(a):
        if isinstance(a, lt.dht_put_alert) and bytes(a.public_key) == key:
            return (a.num_success, a.seq)
        return None

    got = wait_for(ses, pick, 20)
    if got is None:
        raise RuntimeError("no dht_put_alert")
    return "%d %d" % got


def cmd_get_mutable(i, pk, salt, secs):
    ses = SESSIONS[int(i)]
    key = unhex(pk)
    ses.dht_get_mutable_item(key, unhex(salt))
    best = []

    def pick(a):
        if isinstance(a, lt.dht_mutable_item_alert) and bytes(a.key) == key:
            best[:] = [a.seq, a.item]
            if a.authoritative:
                return True
        return None

    wait_for(ses, pick, float(secs))
    if not best:
        raise RuntimeError("no dht_mutable_item_alert")
    seq, item = best
    value = item["value"] if isinstance(item, dict) and "value" in item else item
    return "%d %s" % (seq, lt.bencode(value).hex())


COMMANDS = {
    "start": cmd_start,
    "add_node": cmd_add_node,
    "nodes": cmd_nodes,
    "add_torrent": cmd_add_torrent,
    "get_peers": cmd_get_peers,
    "put_immutable": cmd_put_immutable,
    "get_immutable": cmd_get_immutable,
    "put_mutable": cmd_put_mutable,
    "get_mutable": cmd_get_mutable,
}


def main():
    print("READY", flush=True)
    for line in sys.stdin:
        words = line.split()
        if not words:
            continue
        if words[0] == "quit":
            break
        try:
            reply = "OK " + COMMANDS[words[0]](*words[1:])
        except Exception as e:  # reported to the test, which fails on it
            reply = "ERR %s: %s" % (type(e).__name__, " ".join(str(e).split()))
        print(reply.rstrip(), flush=True)
    for s in SESSIONS:
        s.pause()
    del SESSIONS[:]
    for d in TEMP_DIRS:
        shutil.rmtree(d, ignore_errors=True)


if __name__ == "__main__":
    main()
