"""A stand-in LSD client for test_lsd.py, run inside the test's network
namespace: it joins the LSD group and reports every announce it hears,
listens for BitTorrent connections on a TCP port, and announces an
info-hash for that port (after a malformed datagram, which must be
ignored) once a second until a peer connects.

usage: lsd_probe.py INFOHASH_HEX TCP_PORT SECONDS
Prints JSON lines: {"announce": text, "t": seconds} and {"connect": true,
"t": seconds}; exits after SECONDS or once it has both heard an announce
and been connected to."""
import json
import select
import socket
import struct
import sys
import time

GROUP, PORT = "239.192.152.143", 6771


def main():
    ih, tcp_port, seconds = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    u.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    u.bind(("0.0.0.0", PORT))
    u.setsockopt(socket.IPPROTO_IP, socket.IP_ADD_MEMBERSHIP,
                 struct.pack("4s4s", socket.inet_aton(GROUP), socket.inet_aton("0.0.0.0")))
    u.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_LOOP, 1)
    t = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    t.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    t.bind(("127.0.0.1", tcp_port))
    t.listen(4)
    ours = ("BT-SEARCH * HTTP/1.1\r\nHost: %s:%d\r\nPort: %d\r\nInfohash: %s\r\n"
            "cookie: probe\r\n\r\n\r\n" % (GROUP, PORT, tcp_port, ih)).encode()
    start = time.time()
    heard = connected = False
    next_send = start
    conns = []
    print(json.dumps({"ready": True}), flush=True)
    while time.time() - start < seconds and not (heard and connected):
        now = time.time()
        if now >= next_send and not connected:
            u.sendto(b"BT-SEARCH * HTTP/1.1\r\nPort: 99999\r\n\r\n", (GROUP, PORT))
            u.sendto(ours, (GROUP, PORT))
            next_send = now + 1.0
        r, _, _ = select.select([u, t], [], [], 0.1)
        if u in r:
            data, _ = u.recvfrom(2048)
            text = data.decode(errors="replace")
            if "cookie: probe" not in text and "Port: 99999" not in text:
                heard = True
                print(json.dumps({"announce": text, "t": time.time() - start}), flush=True)
        if t in r:
            c, _ = t.accept()
            conns.append(c)
            connected = True
            print(json.dumps({"connect": True, "t": time.time() - start}), flush=True)
    for c in conns:
        c.close()


if __name__ == "__main__":
    main()
