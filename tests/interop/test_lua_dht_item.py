"""The DHT item example (sdk/examples/lua/dht_item.lua) under `cswarm run`,
against two libtorrent DHT nodes on 127.0.0.1 (no bootstrap router; each
script is a fresh cswarm node that starts from them):
- an immutable put prints the target BEP 44 gives (SHA-1 of the bencoded
  text) and reaches the libtorrent nodes, which return the text to
  libtorrent's own lookup; a second script gets it back by target;
- a mutable put with a key and salt prints the public key and seq 1, and a
  second script (and libtorrent) reads that value and seq under key and
  salt; a put with --seq 7 replaces it (as libtorrent reads it);
- a target nobody stored is "not found" with exit status 1."""

import hashlib
import os
import re
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import swtest  # noqa: E402
from swtest import Cleanup  # noqa: E402
from test_lua_scripts import EXAMPLES, LOCAL, Script  # noqa: E402

import libtorrent as lt  # noqa: E402

SCRIPT = os.path.join(EXAMPLES, "dht_item.lua")
# One address for every node: the per-address DHT rules off, as in
# libtorrent's sessions below.
DHT_SETS = ["dht_bootstrap_nodes=", "dht_restrict_routing_ips=false",
            "dht_restrict_search_ips=false", "dht_enforce_node_id=false",
            "dht_ignore_dark_internet=false", "dht_block_ratelimit=0",
            # Read-only (BEP 43): the nodes do not keep each script's node, which is
            # gone when the next script asks them (a lookup would wait for it).
            "dht_read_only=true"]


def lt_dht_session():
    return lt.session({
        "listen_interfaces": "127.0.0.1:0",
        "enable_dht": True,
        "enable_lsd": False,
        "enable_upnp": False,
        "enable_natpmp": False,
        "dht_bootstrap_nodes": "",
        "dht_restrict_routing_ips": False,
        "dht_restrict_search_ips": False,
        "dht_enforce_node_id": False,
        "dht_ignore_dark_internet": False,
        # Every query comes from 127.0.0.1: no per-address rate limit.
        "dht_block_ratelimit": 1000000,
        "alert_mask": lt.alert.category_t.dht_notification
        | lt.alert.category_t.status_notification,
    })


def lt_wait(ses, pick, secs):
    deadline = time.monotonic() + secs
    while time.monotonic() < deadline:
        ses.wait_for_alert(100)
        for a in ses.pop_alerts():
            got = pick(a)
            if got is not None:
                return got
    return None


def lt_get_immutable(ses, target_hex):
    target = lt.sha1_hash(bytes.fromhex(target_hex))
    ses.dht_get_immutable_item(target)
    item = lt_wait(ses, lambda a: a.item if isinstance(a, lt.dht_immutable_item_alert)
                   and a.target == target else None, 30)
    return item


def lt_get_mutable(ses, pk_hex, salt, seq):
    """libtorrent's lookup of a mutable item, until it reports seq (or the
    lookup is over): [seq, item] of the newest it saw."""
    key = bytes.fromhex(pk_hex)
    ses.dht_get_mutable_item(key, salt)
    best = []

    def pick(a):
        if isinstance(a, lt.dht_mutable_item_alert) and bytes(a.key) == key:
            best[:] = [a.seq, a.item]
            if a.authoritative or a.seq == seq:
                return True
        return None
    lt_wait(ses, pick, 30)
    return best


def as_bytes(v):
    """An item's value from libtorrent's binding: {"value": ...} or the
    value itself, str or bytes."""
    if isinstance(v, dict) and "value" in v:
        v = v["value"]
    return v.encode() if isinstance(v, str) else bytes(v)


def run(c, nodes, args):
    sets = []
    for s in DHT_SETS + LOCAL[1::2]:
        sets += ["--set", s]
    node_args = []
    for port in nodes:
        node_args += ["--dht-node", "127.0.0.1:%d" % port]
    s = Script(c, SCRIPT, args + node_args + ["--listen", "127.0.0.1:%d" % swtest.free_port()]
               + sets)
    rc = s.wait_exit(90)
    s.assert_clean()
    return rc, s.text(), s.stderr()


def lt_pair():
    """Two libtorrent DHT nodes that know each other. Each part of the test
    takes a fresh pair: the nodes remember the nodes of scripts that have
    exited, and a lookup waits for those to time out."""
    lts = [lt_dht_session(), lt_dht_session()]
    ports = [x.listen_port() for x in lts]
    lts[0].add_dht_node(("127.0.0.1", ports[1]))
    lts[1].add_dht_node(("127.0.0.1", ports[0]))
    return lts, ports


def test_immutable():
    with Cleanup() as c:
        lts, ports = lt_pair()
        text = "hello from lua"
        rc, out, err = run(c, ports, ["put", text])
        assert rc == 0, out + err
        want = hashlib.sha1(("%d:%s" % (len(text), text)).encode()).hexdigest()
        assert re.search(r"^target %s$" % want, out, re.M), out
        assert re.search(r"^stored on [1-9]\d* nodes$", out, re.M), out
        rc, out, err = run(c, ports[:1], ["get", want])
        assert rc == 0, out + err
        assert re.search(r"^value hello from lua$", out, re.M), out
        item = lt_get_immutable(lts[0], want)
        assert item is not None and as_bytes(item) == text.encode(), item


def test_mutable():
    with Cleanup() as c:
        lts, ports = lt_pair()
        seed = "07" * 32
        rc, out, err = run(c, ports, ["put", "v1", "--key", seed, "--salt", "s1"])
        assert rc == 0, out + err
        m = re.search(r"^public key ([0-9a-f]{64})$", out, re.M)
        assert m, out
        pk = m.group(1)
        # No --seq: the first version of the item is stored at seq 1.
        assert re.search(r"^stored on [1-9]\d* nodes \(seq 1\)$", out, re.M), out
        rc, out, err = run(c, ports[1:], ["get", "--key", pk, "--salt", "s1"])
        assert rc == 0, out + err
        assert re.search(r"^seq 1$", out, re.M) and re.search(r"^value v1$", out, re.M), out
        got = lt_get_mutable(lts[1], pk, b"s1", 1)
        assert got and got[0] == 1 and as_bytes(got[1]) == b"v1", got

        rc, out, err = run(c, ports, ["put", "v3", "--key", seed, "--salt", "s1", "--seq", "7"])
        assert rc == 0 and re.search(r"^stored on [1-9]\d* nodes \(seq 7\)$", out, re.M), \
            out + err
        got = lt_get_mutable(lts[0], pk, b"s1", 7)
        assert got and got[0] == 7 and as_bytes(got[1]) == b"v3", got


def test_not_found():
    with Cleanup() as c:
        _, ports = lt_pair()
        rc, out, err = run(c, ports, ["get", "42" * 20])
        assert rc == 1 and re.search(r"^not found$", out, re.M), out + err


def main():
    return swtest.run_tests(swtest.tests_in(globals()), sys.argv[1:])


if __name__ == "__main__":
    sys.exit(main())
