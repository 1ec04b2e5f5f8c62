"""A small BitTorrent peer for tests that need one that misbehaves on purpose.

It listens on 127.0.0.1 and serves one torrent to whoever connects:

  EvilSeed(torrent, data_dir, corrupt_pieces=1)
      a seed (bitfield of every piece, unchoke on interest, serves requests)
      that sends one corrupted block (every byte flipped; never a piece's
      first block) in each of the first `corrupt_pieces` distinct pieces it
      is asked for, once; asked again, it sends the right data.

  EvilMetadata(info_bytes, info_hash, corrupt=True, claimed_size=None)
      a peer without pieces that speaks BEP 10/BEP 9 and answers ut_metadata
      requests with the info dictionary (one byte changed when corrupt), or
      advertises claimed_size as metadata_size.

Both record what they did (self.events, a list of strings) and stop with
close(). Only the standard library is used; connections are handled on
threads, one per peer."""

import hashlib
import os
import socket
import struct
import threading

PSTR = b"BitTorrent protocol"


def bdecode(data, i=0):
    """Minimal bencode decoder: returns (value, next index)."""
    c = data[i:i + 1]
    if c == b"i":
        j = data.index(b"e", i)
        return int(data[i + 1:j]), j + 1
    if c == b"l":
        i += 1
        out = []
        while data[i:i + 1] != b"e":
            v, i = bdecode(data, i)
            out.append(v)
        return out, i + 1
    if c == b"d":
        i += 1
        out = {}
        while data[i:i + 1] != b"e":
            k, i = bdecode(data, i)
            v, i = bdecode(data, i)
            out[k] = v
        return out, i + 1
    j = data.index(b":", i)
    n = int(data[i:j])
    return data[j + 1:j + 1 + n], j + 1 + n


def bencode(v):
    if isinstance(v, int):
        return b"i%de" % v
    if isinstance(v, bytes):
        return b"%d:%s" % (len(v), v)
    if isinstance(v, str):
        return bencode(v.encode())
    if isinstance(v, list):
        return b"l" + b"".join(bencode(x) for x in v) + b"e"
    if isinstance(v, dict):
        items = sorted((k.encode() if isinstance(k, str) else k, x) for k, x in v.items())
        return b"d" + b"".join(bencode(k) + bencode(x) for k, x in items) + b"e"
    raise TypeError(type(v))


def load_torrent(path):
    """(info dict, raw info bytes, info-hash) of a .torrent file."""
    with open(path, "rb") as f:
        data = f.read()
    top, _ = bdecode(data)
    # The raw bytes of "info" as they appear in the file.
    start = data.index(b"4:info") + len(b"4:info")
    _, end = bdecode(data, start)
    raw = data[start:end]
    return top[b"info"], raw, hashlib.sha1(raw).digest()


class _Conn:
    def __init__(self, sock):
        self.sock = sock
        self.buf = b""

    def read_exact(self, n):
        while len(self.buf) < n:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise EOFError
            self.buf += chunk
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def read_msg(self):
        n = struct.unpack(">I", self.read_exact(4))[0]
        if n > 4 << 20:
            raise ValueError("message too large")
        return self.read_exact(n) if n else b""

    def send(self, payload):
        self.sock.sendall(struct.pack(">I", len(payload)) + payload)


class _Server:
    def __init__(self, info_hash, reserved):
        self.info_hash = info_hash
        self.reserved = reserved
        self.peer_id = b"-EV0001-" + os.urandom(6).hex().encode()[:12]
        self.events = []
        self.lock = threading.Lock()
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        self.closed = False
        self.conns = []
        threading.Thread(target=self._accept, daemon=True).start()

    def log(self, what):
        with self.lock:
            self.events.append(what)

    def has(self, prefix):
        with self.lock:
            return any(e.startswith(prefix) for e in self.events)

    def count(self, prefix):
        with self.lock:
            return sum(1 for e in self.events if e.startswith(prefix))

    def _accept(self):
        while not self.closed:
            try:
                s, _ = self.sock.accept()
            except OSError:
                return
            self.conns.append(s)
            threading.Thread(target=self._serve, args=(s,), daemon=True).start()

    def _serve(self, s):
        c = _Conn(s)
        try:
            hs = c.read_exact(68)
            if hs[1:20] != PSTR or hs[28:48] != self.info_hash:
                self.log("bad handshake")
                return
            s.sendall(bytes([19]) + PSTR + self.reserved + self.info_hash + self.peer_id)
            self.log("connected")
            self.session(c, hs[20:28])
        except (EOFError, OSError, ValueError):
            pass
        finally:
            self.log("disconnected")
            try:
                s.close()
            except OSError:
                pass

    def close(self):
        self.closed = True
        try:
            self.sock.close()
        except OSError:
            pass
        for s in self.conns:
            try:
                s.shutdown(socket.SHUT_RDWR)
                s.close()
            except OSError:
                pass


class EvilSeed(_Server):
    def __init__(self, torrent, data_dir, corrupt_pieces=1):
        info, _, ih = load_torrent(torrent)
        super().__init__(ih, bytes(8))
        self.piece_length = info[b"piece length"]
        self.num_pieces = len(info[b"pieces"]) // 20
        files = info.get(b"files")
        name = info[b"name"].decode()
        if files is None:
            self.files = [(os.path.join(data_dir, name), info[b"length"])]
        else:
            self.files = [(os.path.join(data_dir, name, *[p.decode() for p in f[b"path"]]),
                           f[b"length"]) for f in files]
        self.total = sum(n for _, n in self.files)
        self.corrupt_budget = corrupt_pieces
        self.corrupted = set()  # pieces chosen for corruption
        self.sent_bad = set()   # (piece, begin) already sent corrupted

    def _read(self, offset, length):
        out = b""
        pos = 0
        for path, size in self.files:
            if offset < pos + size and offset + length > pos:
                start = max(offset, pos)
                end = min(offset + length, pos + size)
                with open(path, "rb") as f:
                    f.seek(start - pos)
                    out += f.read(end - start)
            pos += size
        return out

    def session(self, c, reserved):
        nbytes = (self.num_pieces + 7) // 8
        bits = bytearray(b"\xff" * nbytes)
        if self.num_pieces % 8:
            bits[-1] = (0xff << (8 - self.num_pieces % 8)) & 0xff
        c.send(b"\x05" + bytes(bits))
        while True:
            m = c.read_msg()
            if not m:
                continue
            mid = m[0]
            if mid == 2:  # interested
                c.send(b"\x01")
            elif mid == 6:  # request
                index, begin, length = struct.unpack(">III", m[1:13])
                data = self._read(index * self.piece_length + begin, length)
                with self.lock:
                    # One block (not the first) of each chosen piece, once.
                    bad = (index not in self.corrupted and self.corrupt_budget > 0 and
                           begin > 0)
                    if bad:
                        self.corrupted.add(index)
                        self.corrupt_budget -= 1
                        self.sent_bad.add((index, begin))
                if bad:
                    data = bytes(b ^ 0xff for b in data)
                    self.log("sent bad piece %d begin %d" % (index, begin))
                else:
                    self.log("sent piece %d begin %d" % (index, begin))
                c.send(b"\x07" + struct.pack(">II", index, begin) + data)


class EvilMetadata(_Server):
    def __init__(self, info_bytes, info_hash, corrupt=True, claimed_size=None):
        reserved = bytearray(8)
        reserved[5] |= 0x10  # BEP 10
        super().__init__(info_hash, bytes(reserved))
        self.info = bytearray(info_bytes)
        if corrupt:
            # Inside a piece hash: the dictionary stays valid, the hash does not.
            self.info[len(self.info) // 2] ^= 0x01
        self.size = claimed_size if claimed_size is not None else len(self.info)

    def session(self, c, reserved):
        c.send(b"\x14\x00" + bencode({"m": {"ut_metadata": 3}, "metadata_size": self.size,
                                      "v": "evil-metadata"}))
        # No bitfield: a peer with no pieces may leave it out (BEP 3).
        their_id = None
        while True:
            m = c.read_msg()
            if not m or m[0] != 20:
                continue
            ext = m[1]
            if ext == 0:
                d, _ = bdecode(m[2:])
                their_id = d.get(b"m", {}).get(b"ut_metadata")
                self.log("ext handshake ut_metadata=%s" % their_id)
                continue
            if ext != 3 or their_id is None:
                continue
            d, end = bdecode(m[2:])
            if d.get(b"msg_type") != 0:
                continue
            piece = d[b"piece"]
            self.log("metadata request %d" % piece)
            chunk = bytes(self.info[piece * 16384:(piece + 1) * 16384])
            c.send(bytes([20, their_id]) +
                   bencode({"msg_type": 1, "piece": piece, "total_size": len(self.info)}) + chunk)
            self.log("metadata sent %d" % piece)
