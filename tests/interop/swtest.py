"""Shared helpers for cswarm's interop tests: free ports, temporary folders,
processes that are always cleaned up, test data, and factories for the real
clients (libtorrent 2.0 sessions, Transmission 3.00 daemons, cswarm CLI runs)
confined to 127.0.0.1.

Every helper that starts something registers it with a Cleanup object; use
it as a context manager so processes are killed and folders removed even
when a test fails."""

import hashlib
import json
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import traceback

CSWARM = os.environ.get("CSWARM_BIN", "cswarm")
LOOPBACK = "127.0.0.1"


def log(*args):
    print(*args, file=sys.stderr, flush=True)


# ---- ports and waiting --------------------------------------------------------

_given_ports = set()


def free_port():
    """A TCP port free on 127.0.0.1 (and not handed out before in this run)."""
    for _ in range(200):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.bind((LOOPBACK, 0))
        port = s.getsockname()[1]
        s.close()
        if port not in _given_ports:
            _given_ports.add(port)
            return port
    raise RuntimeError("no free port")


def wait_for(pred, timeout, what, interval=0.1):
    """Polls pred() until it returns a true value; fails after timeout."""
    deadline = time.time() + timeout
    while True:
        v = pred()
        if v:
            return v
        if time.time() > deadline:
            raise AssertionError("timed out after %ss waiting for %s" % (timeout, what))
        time.sleep(interval)


def port_open(port, host=LOOPBACK):
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


# ---- cleanup ------------------------------------------------------------------

class Cleanup:
    """Kills registered processes and removes registered folders on exit."""

    def __init__(self):
        self.procs = []
        self.dirs = []
        self.callbacks = []

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False

    def proc(self, p):
        self.procs.append(p)
        return p

    def tempdir(self, prefix="cswarm-test-"):
        d = tempfile.mkdtemp(prefix=prefix)
        self.dirs.append(d)
        return d

    def on_close(self, fn):
        self.callbacks.append(fn)

    def close(self):
        for fn in reversed(self.callbacks):
            try:
                fn()
            except Exception as e:  # keep cleaning up
                log("cleanup callback failed:", e)
        self.callbacks = []
        for p in self.procs:
            stop_process(p)
        self.procs = []
        for d in self.dirs:
            shutil.rmtree(d, ignore_errors=True)
        self.dirs = []


def stop_process(p, sig=signal.SIGTERM, timeout=15):
    """Stops one process we started (by its pid), escalating to SIGKILL."""
    if p.poll() is not None:
        return p.returncode
    try:
        p.send_signal(sig)
        return p.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        p.kill()
        return p.wait(timeout=timeout)


# ---- data ---------------------------------------------------------------------

def make_file(path, size, seed):
    """A file of pseudo-random bytes (reproducible from seed)."""
    os.makedirs(os.path.dirname(path), exist_ok=True)
    rng = random.Random(seed)
    with open(path, "wb") as f:
        left = size
        while left > 0:
            n = min(left, 1 << 20)
            f.write(rng.randbytes(n))
            left -= n


def make_tree(root, files, seed=1):
    """files: list of (relative path, size). Returns the paths."""
    out = []
    for i, (rel, size) in enumerate(files):
        p = os.path.join(root, rel)
        make_file(p, size, seed * 1000 + i)
        out.append(p)
    return out


def file_digest(path):
    h = hashlib.sha1()
    with open(path, "rb") as f:
        while True:
            b = f.read(1 << 20)
            if not b:
                break
            h.update(b)
    return h.hexdigest()


def assert_same_files(a_root, b_root, rels):
    """Byte-for-byte comparison of the given relative paths."""
    for rel in rels:
        a = os.path.join(a_root, rel)
        b = os.path.join(b_root, rel)
        if not os.path.exists(b):
            raise AssertionError("missing %s" % b)
        if os.path.getsize(a) != os.path.getsize(b):
            raise AssertionError("%s: size %d != %d" % (rel, os.path.getsize(a), os.path.getsize(b)))
        if file_digest(a) != file_digest(b):
            raise AssertionError("%s differs" % rel)


# ---- cswarm -------------------------------------------------------------------

def cswarm_create(path, out, piece_size=None):
    cmd = [CSWARM, "create", path, "-o", out]
    if piece_size:
        cmd += ["--piece-size", str(piece_size)]
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
    return out


def make_payload(cleanup, files, piece_size=None):
    """Test data and its .torrent: files (relative paths under "payload/",
    see make_tree) are written in a new temporary folder and cswarm makes a
    .torrent of its payload folder in another. Returns (folder, torrent)."""
    src = cleanup.tempdir()
    make_tree(src, files)
    torrent = os.path.join(cleanup.tempdir(), "t.torrent")
    cswarm_create(os.path.join(src, "payload"), torrent, piece_size)
    return src, torrent


def info_hash_hex(torrent):
    out = subprocess.run([CSWARM, "info", torrent, "--json"], check=True, capture_output=True,
                         text=True).stdout
    return json.loads(out)["info_hash"]


# Rate limits set by tests must hold between loopback peers too.
LOOPBACK_SETS = ["listen_interfaces=127.0.0.1", "enable_dht=false", "enable_lsd=false",
                 "enable_upnp=false", "enable_natpmp=false", "ignore_limits_on_local_network=false"]


def collect_json_lines(stream, out):
    """Starts a daemon thread that appends each line of stream that parses as
    JSON to the list out (other lines are skipped) until the stream ends;
    returns the thread."""
    import threading

    def read():
        for line in stream:
            try:
                out.append(json.loads(line))
            except ValueError:
                pass
    t = threading.Thread(target=read, daemon=True)
    t.start()
    return t


class CswarmRun:
    """A `cswarm download` or `cswarm seed` process with --json-progress,
    its JSON lines collected by a reader thread."""

    def __init__(self, cleanup, args, port=None, extra_sets=()):
        self.port = port or free_port()
        cmd = [CSWARM] + list(args) + ["--listen", str(self.port), "--json-progress"]
        for s in list(LOOPBACK_SETS) + list(extra_sets):
            cmd += ["--set", s]
        self.cmd = cmd
        self.lines = []
        self.stderr_path = os.path.join(cleanup.tempdir("cswarm-log-"), "stderr.txt")
        self.stderr = open(self.stderr_path, "wb")
        self.p = cleanup.proc(subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=self.stderr))
        cleanup.on_close(self.stderr.close)
        self.thread = collect_json_lines(self.p.stdout, self.lines)

    def last(self):
        for obj in reversed(self.lines):
            if "state" in obj:
                return obj
        return None

    def has_event(self, name):
        return any(o.get("event") == name for o in self.lines)

    def wait_event(self, name, timeout):
        return wait_for(lambda: self.has_event(name) or self.p.poll() is not None and
                        self.has_event(name), timeout, "cswarm event %s" % name)

    def wait_exit(self, timeout):
        try:
            return self.p.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            raise AssertionError("cswarm did not finish within %ss; last status %s; stderr: %s"
                                 % (timeout, self.last(), self.stderr_text()))

    def stderr_text(self):
        self.stderr.flush()
        with open(self.stderr_path, "rb") as f:
            return f.read().decode(errors="replace")[-2000:]

    def stop(self, sig=signal.SIGINT, timeout=20):
        return stop_process(self.p, sig, timeout)


def cswarm_seed(cleanup, torrent, data_dir, peers=(), port=None, extra_sets=()):
    args = ["seed", torrent, "-d", data_dir]
    for p in peers:
        args += ["--peer", p]
    run = CswarmRun(cleanup, args, port, extra_sets)
    wait_for(lambda: port_open(run.port) or run.p.poll() is not None, 20, "cswarm seed to listen")
    if run.p.poll() is not None:
        raise AssertionError("cswarm seed exited: " + run.stderr_text())
    return run


def cswarm_download(cleanup, torrent, out_dir, peers=(), port=None, seed=False, extra_sets=()):
    args = ["download", torrent, "-o", out_dir]
    for p in peers:
        args += ["--peer", p]
    if seed:
        args.append("--seed")
    return CswarmRun(cleanup, args, port, extra_sets)


# ---- libtorrent ---------------------------------------------------------------

def lt_session(port, utp=True):
    """A libtorrent session on 127.0.0.1:port with DHT, LSD, UPnP and NAT-PMP
    off. uTP and TCP are on, as by default (libtorrent dials uTP first, and
    cswarm answers it); utp=False keeps a session on TCP only."""
    import libtorrent as lt
    return lt.session({
        "listen_interfaces": "%s:%d" % (LOOPBACK, port),
        "enable_dht": False, "enable_lsd": False, "enable_upnp": False,
        "enable_natpmp": False, "dht_bootstrap_nodes": "",
        "enable_outgoing_utp": utp, "enable_incoming_utp": utp,
        "alert_mask": lt.alert.category_t.error_notification | lt.alert.category_t.status_notification,
    })


def lt_add(ses, torrent, save_path):
    import libtorrent as lt
    return ses.add_torrent({"ti": lt.torrent_info(torrent), "save_path": save_path})


def lt_wait_state(handle, states, timeout, what):
    return wait_for(lambda: handle.status().state in states, timeout, what)


def lt_start(cleanup, torrent, save_path, port=None, utp=True):
    """A libtorrent session (see lt_session) on port, a free one unless given,
    with torrent added to save into save_path; the torrent is removed when
    cleanup closes. Returns (session, handle, port)."""
    port = port or free_port()
    ses = lt_session(port, utp=utp)
    h = lt_add(ses, torrent, save_path)
    cleanup.on_close(lambda: ses.remove_torrent(h))
    return ses, h, port


def lt_seed(cleanup, torrent, data_dir, port=None, utp=True, timeout=30):
    """lt_start on the complete data in data_dir, once libtorrent has checked
    it and seeds."""
    import libtorrent as lt
    ses, h, port = lt_start(cleanup, torrent, data_dir, port, utp)
    lt_wait_state(h, (lt.torrent_status.seeding,), timeout, "libtorrent to seed")
    return ses, h, port


def lt_create_v1(path, out, piece_size):
    """A v1-only .torrent made by libtorrent (for cross-checking cswarm's)."""
    import libtorrent as lt
    fs = lt.file_storage()
    lt.add_files(fs, path)
    ct = lt.create_torrent(fs, piece_size, flags=lt.create_torrent.v1_only)
    lt.set_piece_hashes(ct, os.path.dirname(os.path.abspath(path)))
    with open(out, "wb") as f:
        f.write(lt.bencode(ct.generate()))
    return out


# ---- Transmission -------------------------------------------------------------

class Transmission:
    """A transmission-daemon on 127.0.0.1 with its own config folder: no
    port mapping, DHT, LPD, PEX or uTP; encryption tolerated."""

    def __init__(self, cleanup, download_dir):
        self.cleanup = cleanup
        self.dir = cleanup.tempdir("cswarm-tr-")
        self.peer_port = free_port()
        self.rpc_port = free_port()
        self.download_dir = download_dir
        settings = {
            "port-forwarding-enabled": False, "dht-enabled": False, "lpd-enabled": False,
            "pex-enabled": False, "utp-enabled": False, "encryption": 0,
            "bind-address-ipv4": LOOPBACK, "bind-address-ipv6": "::1",
            "peer-port": self.peer_port, "peer-port-random-on-start": False,
            "rpc-bind-address": LOOPBACK, "rpc-port": self.rpc_port,
            "rpc-whitelist": LOOPBACK, "rpc-authentication-required": False,
            "download-dir": download_dir, "incomplete-dir-enabled": False,
            "start-added-torrents": True, "message-level": 2,
            "ratio-limit-enabled": False, "idle-seeding-limit-enabled": False,
        }
        with open(os.path.join(self.dir, "settings.json"), "w") as f:
            json.dump(settings, f)
        self.p = cleanup.proc(subprocess.Popen(
            ["transmission-daemon", "-f", "-g", self.dir, "-M",
             "-e", os.path.join(self.dir, "log.txt")],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        wait_for(lambda: port_open(self.rpc_port) or self.p.poll() is not None, 20,
                 "transmission RPC")
        if self.p.poll() is not None:
            raise AssertionError("transmission-daemon exited")

    def remote(self, *args):
        return subprocess.run(["transmission-remote", str(self.rpc_port)] + list(args),
                              capture_output=True, text=True, timeout=30)

    def add(self, torrent):
        r = self.remote("-a", torrent)
        if r.returncode != 0 or "success" not in r.stdout:
            raise AssertionError("transmission-remote -a failed: %s %s" % (r.stdout, r.stderr))

    def info(self):
        """Percent done, ... of torrent 1 from `-t 1 -i`."""
        r = self.remote("-t", "1", "-i")
        out = {}
        for line in r.stdout.splitlines():
            if ":" in line:
                k, v = line.split(":", 1)
                out[k.strip()] = v.strip()
        return out

    def percent_done(self):
        v = self.info().get("Percent Done", "0%").rstrip("%")
        try:
            return float(v)
        except ValueError:
            return 0.0

    def log_text(self):
        try:
            with open(os.path.join(self.dir, "log.txt"), errors="replace") as f:
                return f.read()[-3000:]
        except OSError:
            return ""


# ---- running a file's tests ---------------------------------------------------

def with_cleanup(fn):
    """A test written as fn(cleanup) made into one run_tests can call: each
    run gets a fresh Cleanup, closed when fn returns or raises."""
    def run():
        with Cleanup() as c:
            return fn(c)
    run.__name__ = fn.__name__
    run.__doc__ = fn.__doc__
    return run


def tests_in(namespace):
    """The test functions (test_*) of a module's globals(), sorted by name."""
    return [f for n, f in sorted(namespace.items()) if n.startswith("test_") and callable(f)]


def run_tests(tests, only=()):
    """Runs each test function in turn and goes on after a failure, logging
    PASS with its time or FAIL with the traceback. only: the names to run
    (all when empty). Returns the exit status: 1 if any failed, else 0."""
    failed = 0
    for fn in tests:
        if only and fn.__name__ not in only:
            continue
        t0 = time.time()
        try:
            fn()
            log("PASS %s (%.1fs)" % (fn.__name__, time.time() - t0))
        except Exception as e:  # report and go on with the next case
            failed += 1
            log("FAIL %s: %r" % (fn.__name__, e))
            traceback.print_exc()
    return 1 if failed else 0
