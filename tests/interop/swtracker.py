"""An opentracker on 127.0.0.1 for interop tests, plus a small bdecoder and
HTTP announce/scrape helpers to look at what the tracker knows.

Debian's opentracker is whitelist-only: every info-hash a test uses must be
given to start_opentracker. One port serves HTTP and UDP."""

import os
import subprocess
import time
import urllib.parse
import urllib.request

from swtest import LOOPBACK, free_port, log, wait_for


def bdecode(data):
    """Decodes one bencoded value (bytes keys and strings)."""

    def dec(i):
        c = data[i:i + 1]
        if c == b"i":
            end = data.index(b"e", i)
            return int(data[i + 1:end]), end + 1
        if c == b"l":
            i += 1
            out = []
            while data[i:i + 1] != b"e":
                v, i = dec(i)
                out.append(v)
            return out, i + 1
        if c == b"d":
            i += 1
            out = {}
            while data[i:i + 1] != b"e":
                k, i = dec(i)
                v, i = dec(i)
                out[k] = v
            return out, i + 1
        colon = data.index(b":", i)
        n = int(data[i:colon])
        return data[colon + 1:colon + 1 + n], colon + 1 + n

    v, end = dec(0)
    if end != len(data):
        raise ValueError("trailing bytes after bencoded value")
    return v


class Opentracker:
    """A running opentracker; stop() (registered with the cleanup) ends it."""

    def __init__(self, cleanup, info_hashes_hex, port=None):
        """port: the port to use (a .torrent may already name it); by
        default a free one, retried if another process takes it first."""
        self.dir = cleanup.tempdir("opentracker-")
        # opentracker drops privileges before reading its folder.
        os.chmod(self.dir, 0o755)
        with open(os.path.join(self.dir, "whitelist.txt"), "w") as f:
            for h in info_hashes_hex:
                f.write(h.lower() + "\n")
        self.log_path = os.path.join(self.dir, "opentracker.log")
        self.hashes = list(info_hashes_hex)
        self.p = None
        for _ in range(1 if port else 5):
            self.port = port or free_port()
            logf = open(self.log_path, "wb")
            p = cleanup.proc(subprocess.Popen(
                ["opentracker", "-i", LOOPBACK, "-p", str(self.port), "-P", str(self.port),
                 "-w", "whitelist.txt", "-d", self.dir],
                cwd=self.dir, stdout=logf, stderr=logf))
            logf.close()
            if self._wait_ready(p):
                self.p = p
                break
            log("opentracker did not come up on port %d; retrying" % self.port)
        if self.p is None:
            raise AssertionError("opentracker would not start (see %s)" % self.log_path)

    @property
    def http_url(self):
        return "http://%s:%d/announce" % (LOOPBACK, self.port)

    @property
    def udp_url(self):
        return "udp://%s:%d/announce" % (LOOPBACK, self.port)

    def _get(self, path, timeout=5):
        # No proxy from the environment: the tracker is on loopback.
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        with opener.open("http://%s:%d%s" % (LOOPBACK, self.port, path), timeout=timeout) as r:
            return r.read()

    def _wait_ready(self, p):
        # The whitelist is read on a thread after the port opens: wait until
        # a "stopped" announce for a listed hash is accepted.
        deadline = time.time() + 15
        while time.time() < deadline:
            if p.poll() is not None:
                return False
            try:
                body = self.announce(self.hashes[0], "-SW0000-readyprobe00", 1, left=0,
                                     event="stopped")
                if b"failure reason" not in body:
                    return True
            except Exception:
                pass
            time.sleep(0.05)
        return False

    def announce(self, info_hash_hex, peer_id, port, left, event=None):
        """Announces over HTTP; returns the raw body."""
        q = "info_hash=%s&peer_id=%s&port=%d&uploaded=0&downloaded=0&left=%d&compact=1" % (
            urllib.parse.quote(bytes.fromhex(info_hash_hex)), urllib.parse.quote(peer_id),
            port, left)
        if event:
            q += "&event=" + event
        return self._get("/announce?" + q)

    def scrape(self, info_hash_hex):
        """(complete, incomplete, downloaded) for the torrent, as the tracker
        counts them now."""
        body = self._get("/scrape?info_hash=" + urllib.parse.quote(bytes.fromhex(info_hash_hex)))
        files = bdecode(body).get(b"files", {})
        f = files.get(bytes.fromhex(info_hash_hex), {})
        return (f.get(b"complete", 0), f.get(b"incomplete", 0), f.get(b"downloaded", 0))

    def wait_counts(self, info_hash_hex, pred, timeout, what):
        return wait_for(lambda: pred(*self.scrape(info_hash_hex)), timeout, what, interval=0.2)
