"""Web seeds (BEP 19) on 127.0.0.1: cswarm downloads single-file and
multi-file torrents from a small HTTP server that honours Range requests
(written here, counting what it is asked), alone and together with a
cswarm peer; a server serving corrupt data for one file gets backed off
after the hash failure while the peer completes the download; a 404 gives
a url_seed event and no crash."""

import http.server
import os
import sys
import threading

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import swtest  # noqa: E402
from swtest import (CSWARM, Cleanup, assert_same_files, cswarm_download, cswarm_seed,  # noqa: E402
                    free_port, log, make_tree, run_tests, wait_for)
import subprocess  # noqa: E402
import urllib.parse  # noqa: E402

PIECE = 16384


class RangeHandler(http.server.BaseHTTPRequestHandler):
    """Serves files under server.root with single byte ranges (206), whole
    files without a Range (200), 404 for anything missing. server.corrupt:
    relative paths whose bytes are served flipped. server.requests counts
    GETs per path."""

    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def do_GET(self):
        srv = self.server
        rel = urllib.parse.unquote(urllib.parse.urlparse(self.path).path).lstrip("/")
        with srv.lock:
            srv.requests[rel] = srv.requests.get(rel, 0) + 1
        if rel.startswith("moved/"):  # a permanent redirect to the same file at the root
            self.send_response(301)
            self.send_header("Location", "/" + urllib.parse.quote(rel[len("moved/"):]))
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        if rel.startswith("loop/"):  # redirects forever
            self.send_response(302)
            self.send_header("Location", "/loop/" + urllib.parse.quote(rel))
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        full = os.path.normpath(os.path.join(srv.root, rel))
        if srv.always_404 or not full.startswith(srv.root) or not os.path.isfile(full):
            self.send_response(404)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        size = os.path.getsize(full)
        first, last, status = 0, size - 1, 200
        rng = self.headers.get("Range")
        if rng and rng.startswith("bytes=") and not srv.ignore_range:
            a, b = rng[6:].split("-", 1)
            first, last, status = int(a), min(int(b), size - 1), 206
        with open(full, "rb") as f:
            f.seek(first)
            data = f.read(last - first + 1)
        if rel in srv.corrupt:
            data = bytes(x ^ 0xFF for x in data)
        self.send_response(status)
        if status == 206:
            shift = 1 if srv.wrong_range else 0  # names a range other than the one sent
            self.send_header("Content-Range",
                             "bytes %d-%d/%d" % (first + shift, last + shift, size + shift))
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


def start_server(cleanup, root, corrupt=(), always_404=False, ignore_range=False,
                 wrong_range=False):
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), RangeHandler)
    srv.daemon_threads = True
    # A client cutting a too-long reply short is expected, not an error.
    srv.handle_error = lambda request, address: None
    srv.root = os.path.realpath(root)
    srv.corrupt = set(corrupt)
    srv.always_404 = always_404
    srv.ignore_range = ignore_range
    srv.wrong_range = wrong_range
    srv.requests = {}
    srv.lock = threading.Lock()
    t = threading.Thread(target=srv.serve_forever, daemon=True)
    t.start()

    def stop():
        srv.shutdown()
        srv.server_close()
    cleanup.on_close(stop)
    return srv, "http://127.0.0.1:%d/" % srv.server_address[1]


def create(path, out, web_seed):
    subprocess.run([CSWARM, "create", path, "-o", out, "--piece-size", str(PIECE),
                    "--web-seed", web_seed], check=True, stdout=subprocess.DEVNULL)
    return out


def test_single_file_from_web_seed_alone():
    with Cleanup() as c:
        src = c.tempdir()
        make_tree(src, [("one.bin", 5 * PIECE + 1234)])
        srv, base = start_server(c, src)
        torrent = create(os.path.join(src, "one.bin"), os.path.join(c.tempdir(), "t.torrent"),
                         base)  # ends in '/': the name is appended
        out = c.tempdir()
        run = cswarm_download(c, torrent, out)
        rc = run.wait_exit(60)
        assert rc == 0, "download failed: %s" % run.stderr_text()
        assert_same_files(src, out, ["one.bin"])
        assert srv.requests.get("one.bin", 0) >= 1, srv.requests


def test_multi_file_from_web_seed_alone():
    with Cleanup() as c:
        src = c.tempdir()
        files = [("pay load/a.bin", 3 * PIECE + 100), ("pay load/sub/b c.bin", 2 * PIECE - 7),
                 ("pay load/tiny", 5), ("pay load/z.bin", 4 * PIECE)]
        make_tree(src, files)
        srv, base = start_server(c, src)
        torrent = create(os.path.join(src, "pay load"), os.path.join(c.tempdir(), "t.torrent"),
                         base.rstrip("/"))  # no '/': one is added before the name
        out = c.tempdir()
        run = cswarm_download(c, torrent, out)
        rc = run.wait_exit(60)
        assert rc == 0, "download failed: %s" % run.stderr_text()
        assert_same_files(src, out, [f for f, _ in files])
        for f, _ in files:
            assert srv.requests.get(f, 0) >= 1, (f, srv.requests)


def test_web_seed_and_peer_together():
    with Cleanup() as c:
        src = c.tempdir()
        files = [("both/a.bin", 20 * PIECE + 5), ("both/b.bin", 9 * PIECE)]
        make_tree(src, files)
        srv, base = start_server(c, src)
        torrent = create(os.path.join(src, "both"), os.path.join(c.tempdir(), "t.torrent"), base)
        seeder = cswarm_seed(c, torrent, src)
        out = c.tempdir()
        run = cswarm_download(c, torrent, out, peers=["127.0.0.1:%d" % seeder.port])
        rc = run.wait_exit(60)
        assert rc == 0, "download failed: %s" % run.stderr_text()
        assert_same_files(src, out, [f for f, _ in files])


def test_corrupt_web_seed_backed_off_peer_completes():
    with Cleanup() as c:
        src = c.tempdir()
        files = [("bad/good.bin", 6 * PIECE), ("bad/evil.bin", 6 * PIECE)]
        make_tree(src, files)
        srv, base = start_server(c, src, corrupt={"bad/evil.bin"})
        torrent = create(os.path.join(src, "bad"), os.path.join(c.tempdir(), "t.torrent"), base)
        # The peer is slowed down so that the web seed surely serves some
        # of the corrupt file before the peer has everything.
        seeder = cswarm_seed(c, torrent, src, extra_sets=["upload_rate_limit=32768"])
        out = c.tempdir()
        run = cswarm_download(c, torrent, out, peers=["127.0.0.1:%d" % seeder.port],
                              extra_sets=["urlseed_wait_retry=600"])
        rc = run.wait_exit(90)
        assert rc == 0, "download failed: %s" % run.stderr_text()
        assert_same_files(src, out, [f for f, _ in files])
        events = [o for o in run.lines if o.get("event") == "url_seed"]
        assert srv.requests.get("bad/evil.bin", 0) >= 1, srv.requests
        assert any("hash" in o.get("message", "") for o in events), (events, srv.requests)
        log("corrupt test: server requests %s, url_seed events %d" % (srv.requests, len(events)))


def test_404_gives_alert_no_crash():
    with Cleanup() as c:
        src = c.tempdir()
        files = [("gone/x.bin", 4 * PIECE)]
        make_tree(src, files)
        srv, base = start_server(c, src, always_404=True)
        torrent = create(os.path.join(src, "gone"), os.path.join(c.tempdir(), "t.torrent"), base)
        out = c.tempdir()
        run = cswarm_download(c, torrent, out, extra_sets=["urlseed_wait_retry=1"])
        wait_for(lambda: len([o for o in run.lines if o.get("event") == "url_seed"]) >= 2
                 or run.p.poll() is not None, 30, "two url_seed events")
        assert run.p.poll() is None, "cswarm exited: %s" % run.stderr_text()
        ev = [o for o in run.lines if o.get("event") == "url_seed"][0]
        assert ev["status"] == 404, ev
        assert ev["url"] == base, ev
        rc = run.stop()
        err = run.stderr_text()
        assert rc in (0, 130), "cswarm did not exit cleanly (%s): %s" % (rc, err)
        assert "Sanitizer" not in err and "runtime error" not in err, err


def test_redirect_followed():
    with Cleanup() as c:
        src = c.tempdir()
        files = [("r/a.bin", 3 * PIECE + 1)]
        make_tree(src, files)
        srv, base = start_server(c, src)
        torrent = create(os.path.join(src, "r"), os.path.join(c.tempdir(), "t.torrent"),
                         base + "moved/")
        out = c.tempdir()
        run = cswarm_download(c, torrent, out)
        rc = run.wait_exit(60)
        assert rc == 0, "download failed: %s" % run.stderr_text()
        assert_same_files(src, out, [f for f, _ in files])
        assert srv.requests.get("moved/r/a.bin", 0) >= 1, srv.requests


def wait_url_seed_events(run, n):
    wait_for(lambda: len([o for o in run.lines if o.get("event") == "url_seed"]) >= n
             or run.p.poll() is not None, 30, "%d url_seed events" % n)
    assert run.p.poll() is None, "cswarm exited: %s" % run.stderr_text()
    return [o for o in run.lines if o.get("event") == "url_seed"]


def stop_clean(run):
    rc = run.stop()
    err = run.stderr_text()
    assert rc in (0, 130), "cswarm did not exit cleanly (%s): %s" % (rc, err)
    assert "Sanitizer" not in err and "runtime error" not in err, err


def test_redirect_loop_and_ignored_range_fail_bounded():
    """A redirect loop stops at the redirect limit; a server that ignores
    Range and sends a whole 8-piece file is cut off at the requested length
    (nothing beyond it is buffered); a 206 naming another range than the
    one asked for is refused. Each gives url_seed events."""
    with Cleanup() as c:
        src = c.tempdir()
        make_tree(src, [("big.bin", 8 * PIECE)])
        srv, base = start_server(c, src)
        torrent = create(os.path.join(src, "big.bin"), os.path.join(c.tempdir(), "t.torrent"),
                         base + "loop/big.bin")
        run = cswarm_download(c, torrent, c.tempdir(), extra_sets=["urlseed_wait_retry=1"])
        ev = wait_url_seed_events(run, 1)[0]
        assert "redirect" in ev["message"].lower(), ev
        stop_clean(run)

        srv2, base2 = start_server(c, src, ignore_range=True)
        torrent2 = create(os.path.join(src, "big.bin"), os.path.join(c.tempdir(), "t2.torrent"),
                          base2)
        run2 = cswarm_download(c, torrent2, c.tempdir(), extra_sets=["urlseed_wait_retry=1"])
        ev = wait_url_seed_events(run2, 2)[0]
        assert ev["status"] == 200, ev
        stop_clean(run2)

        srv3, base3 = start_server(c, src, wrong_range=True)
        torrent3 = create(os.path.join(src, "big.bin"), os.path.join(c.tempdir(), "t3.torrent"),
                          base3)
        run3 = cswarm_download(c, torrent3, c.tempdir(), extra_sets=["urlseed_wait_retry=1"])
        ev = wait_url_seed_events(run3, 1)[0]
        assert ev["status"] == 206 and "asked for bytes" in ev["message"], ev
        stop_clean(run3)


def test_magnet_ws_web_seed():
    """A magnet link's ws= web seed is used once the metadata came from the
    (slow) peer."""
    with Cleanup() as c:
        src = c.tempdir()
        files = [("m/a.bin", 12 * PIECE + 3)]
        make_tree(src, files)
        srv, base = start_server(c, src)
        torrent = create(os.path.join(src, "m"), os.path.join(c.tempdir(), "t.torrent"),
                         base + "unused/")
        seeder = cswarm_seed(c, torrent, src, extra_sets=["upload_rate_limit=16384"])
        magnet = "magnet:?xt=urn:btih:%s&ws=%s&x.pe=127.0.0.1:%d" % (
            swtest.info_hash_hex(torrent), urllib.parse.quote(base, safe=""), seeder.port)
        out = c.tempdir()
        run = cswarm_download(c, magnet, out)
        rc = run.wait_exit(60)
        assert rc == 0, "download failed: %s" % run.stderr_text()
        assert_same_files(src, out, [f for f, _ in files])
        assert srv.requests.get("m/a.bin", 0) >= 1, srv.requests


if __name__ == "__main__":
    sys.exit(run_tests(swtest.tests_in(globals()), sys.argv[1:]))
