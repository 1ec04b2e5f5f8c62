#!/usr/bin/python3
"""A local DHT on 127.0.0.1, cswarm nodes against libtorrent nodes.

    tests/bench/bench_dht.py [--nodes 200] [--lookups 20] [--lt-nodes N] [--seed 1]

Two DHTs of the same size are built in one run, one of cswarm nodes
(tests/tools/dht_bench: every node its own UDP socket, one process, one
event loop) and one of libtorrent 2.0 sessions (python3-libtorrent, one
process; each session has its own threads). In both, every node joins
through node 0, the routing tables are left to settle, then each round
announces a fresh info-hash from one random node and looks it up with
get_peers from another, and records:
  - the get_peers queries the searching node sent (libtorrent's
    dht_get_peers_out counter; cswarm's lookup statistics), and every
    datagram it sent meanwhile (dht_messages_out / packets out: answers to
    other nodes' queries included);
  - the time to the first peer. cswarm reports peers as each answer
    arrives; libtorrent's session API reports them when the lookup ends
    (dht_get_peers_reply_alert), so its figure is the time to the end of
    the lookup; cswarm's time to the end is printed too.
It prints medians over the rounds and the ratios libtorrent / cswarm (above
1: cswarm sends fewer messages or is faster).

Nothing leaves 127.0.0.1: no bootstrap routers, no UPnP/NAT-PMP/LSD.
The cswarm tool is taken from CSWARM_BUILD_DIR (default build-release/,
configured as Release and built on demand)."""

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import time
import warnings

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE = os.path.abspath(os.path.join(HERE, "..", ".."))


def build_tool():
    build = os.environ.get("CSWARM_BUILD_DIR", os.path.join(SOURCE, "build-release"))
    tool = os.path.join(build, "tests", "dht_bench")
    if not os.environ.get("NO_BUILD"):
        if not os.path.exists(os.path.join(build, "CMakeCache.txt")):
            subprocess.run(["cmake", "-S", SOURCE, "-B", build, "-DCMAKE_BUILD_TYPE=Release"],
                           check=True, stdout=subprocess.DEVNULL)
        subprocess.run(["cmake", "--build", build, "-j2", "--target", "dht_bench"], check=True,
                       stdout=subprocess.DEVNULL)
    return tool


def run_cswarm(nodes, lookups, seed):
    tool = build_tool()
    out = subprocess.run([tool, str(nodes), str(lookups), str(seed)], check=True,
                         capture_output=True, text=True, timeout=600)
    sys.stderr.write(out.stderr)
    rounds, summary = [], None
    for line in out.stdout.splitlines():
        obj = json.loads(line)
        if "summary" in obj:
            summary = obj["summary"]
        else:
            rounds.append(obj)
    found = [r for r in rounds if r["first_peer_ms"] >= 0]
    return {
        "nodes": nodes,
        "found": len(found), "rounds": len(rounds),
        "first_peer_ms": statistics.median([r["first_peer_ms"] for r in found]) if found else -1,
        "done_ms": statistics.median([r["done_ms"] for r in found]) if found else -1,
        "get_peers_out": statistics.median([r["queried"] for r in found]) if found else -1,
        "messages_out": statistics.median([r["messages"] for r in found]) if found else -1,
        "bootstrap_s": summary["bootstrap_s"] if summary else -1,
    }


# ---- libtorrent -----------------------------------------------------------------

def run_libtorrent(nodes, lookups, seed):
    import libtorrent as lt
    rng = random.Random(seed)
    pack = {
        "listen_interfaces": "127.0.0.1:0",
        "enable_dht": True, "enable_lsd": False, "enable_upnp": False, "enable_natpmp": False,
        "dht_bootstrap_nodes": "",
        # One address for every node: the per-address rules off, and no
        # rate limit that would take 200 nodes on one address for a flood.
        "dht_restrict_routing_ips": False, "dht_restrict_search_ips": False,
        "dht_enforce_node_id": False, "dht_ignore_dark_internet": False,
        "dht_block_ratelimit": 1000000, "dht_upload_rate_limit": 100000000,
        "enable_outgoing_utp": False, "enable_incoming_utp": False,
        "aio_threads": 1, "hashing_threads": 1,
        "alert_mask": lt.alert.category_t.dht_notification
        | lt.alert.category_t.dht_operation_notification,
    }
    t0 = time.monotonic()
    sessions = [lt.session(pack) for _ in range(nodes)]
    ports = [s.listen_port() for s in sessions]
    # libtorrent only pings a node given by add_dht_node (its bootstrap
    # lookup runs when the DHT starts, from dht_bootstrap_nodes, and a
    # router on 127.0.0.1 taught it nothing here). So each node is given
    # node 0 and a few random others, then runs one get_peers of a random
    # hash: a lookup that fills its table as a bootstrap would.
    for i, s in enumerate(sessions[1:], 1):
        s.add_dht_node(("127.0.0.1", ports[0]))
        for j in rng.sample(range(nodes), min(8, nodes)):
            if j != i:
                s.add_dht_node(("127.0.0.1", ports[j]))
    time.sleep(2)
    for s in sessions:
        s.dht_get_peers(lt.sha1_hash(bytes(rng.randrange(256) for _ in range(20))))

    def table_sizes():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            return [s.status().dht_nodes for s in sessions]

    # Settled: every node knows others and the total stopped growing.
    last_total, stable_since = -1, time.monotonic()
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        for s in sessions:
            s.pop_alerts()
        sizes = table_sizes()
        total = sum(sizes)
        if total != last_total:
            last_total, stable_since = total, time.monotonic()
        elif min(sizes[1:]) >= min(8, nodes - 2) and time.monotonic() - stable_since > 3:
            break
        time.sleep(0.5)
    boot_s = time.monotonic() - t0
    sys.stderr.write("libtorrent: %d nodes up in %.1f s, %.1f routing entries each\n"
                     % (nodes, boot_s, last_total / nodes))

    def counters(ses):
        ses.post_session_stats()
        end = time.monotonic() + 10
        while time.monotonic() < end:
            ses.wait_for_alert(100)
            for a in ses.pop_alerts():
                if isinstance(a, lt.session_stats_alert):
                    v = a.values  # by counter name
                    return (v["dht.dht_get_peers_out"], v["dht.dht_messages_out"])
        raise RuntimeError("no session_stats_alert")

    rounds = []
    save = "/tmp"
    for r in range(lookups):
        ih = lt.sha1_hash(bytes(rng.randrange(256) for _ in range(20)))
        a = rng.randrange(nodes)
        s = rng.randrange(nodes)
        while s == a:
            s = rng.randrange(nodes)
        # libtorrent announces a torrent it has; its Python binding cannot
        # call dht_announce (no way to pass the flags type).
        atp = lt.add_torrent_params()
        atp.info_hashes = lt.info_hash_t(ih)
        atp.save_path = save
        h = sessions[a].add_torrent(atp)
        # Wait for the announce to land on some node.
        landed = False
        end = time.monotonic() + 30
        while not landed and time.monotonic() < end:
            for ses in sessions:
                for al in ses.pop_alerts():
                    if isinstance(al, lt.dht_announce_alert) and al.info_hash == ih:
                        landed = True
            time.sleep(0.05)
        time.sleep(0.3)  # the other stores of the same announce
        for ses in sessions:
            ses.pop_alerts()
        gp0, out0 = counters(sessions[s])
        start = time.monotonic()
        sessions[s].dht_get_peers(ih)
        result = None
        end = time.monotonic() + 30
        while result is None and time.monotonic() < end:
            sessions[s].wait_for_alert(50)
            for al in sessions[s].pop_alerts():
                if isinstance(al, lt.dht_get_peers_reply_alert) and al.info_hash == ih:
                    n = al.num_peers() if callable(al.num_peers) else al.num_peers
                    result = (time.monotonic() - start, n)
        gp1, out1 = counters(sessions[s])
        sessions[a].remove_torrent(h)
        if result is None:
            print(json.dumps({"round": r, "libtorrent": "no reply"}), flush=True)
            continue
        row = {"round": r, "done_ms": round(result[0] * 1000, 2), "peers": result[1],
               "get_peers_out": gp1 - gp0, "messages_out": out1 - out0}
        print(json.dumps({"libtorrent": row}), flush=True)
        rounds.append(row)
    found = [x for x in rounds if x["peers"] > 0]
    for ses in sessions:
        ses.pause()
    del sessions

    def med(key):
        return statistics.median([x[key] for x in found]) if found else -1
    return {"nodes": nodes, "found": len(found), "rounds": lookups,
            "first_peer_ms": med("done_ms"), "done_ms": med("done_ms"),
            "get_peers_out": med("get_peers_out"), "messages_out": med("messages_out"),
            "bootstrap_s": round(boot_s, 1)}


def ratio(a, b):
    return a / b if b and b > 0 and a >= 0 else float("nan")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--nodes", type=int, default=200)
    ap.add_argument("--lt-nodes", type=int, default=None,
                    help="libtorrent sessions (default: --nodes)")
    ap.add_argument("--lookups", type=int, default=20)
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    cs = run_cswarm(args.nodes, args.lookups, args.seed)
    ltr = run_libtorrent(args.lt_nodes or args.nodes, args.lookups, args.seed)
    print()
    print("%-34s %12s %12s %10s" % ("median per lookup", "cswarm", "libtorrent", "lt/cswarm"))
    print("%-34s %12d %12d" % ("DHT nodes", cs["nodes"], ltr["nodes"]))
    print("%-34s %12s %12s" % ("lookups that found the peer", "%d/%d" % (cs["found"], cs["rounds"]),
                               "%d/%d" % (ltr["found"], ltr["rounds"])))
    for key, label in (("get_peers_out", "get_peers queries sent"),
                       ("messages_out", "datagrams sent by the searcher"),
                       ("first_peer_ms", "time to first peer (ms) [1]"),
                       ("done_ms", "time to end of lookup (ms)")):
        print("%-34s %12.2f %12.2f %10.2f" % (label, cs[key], ltr[key], ratio(ltr[key], cs[key])))
    print("%-34s %12.1f %12.1f" % ("bootstrap + settle (s)", cs["bootstrap_s"], ltr["bootstrap_s"]))
    print("[1] libtorrent reports a lookup's peers when it ends: its figure is the end.")
    return 0 if cs["found"] and ltr["found"] else 1


if __name__ == "__main__":
    sys.exit(main())
