"""`cswarm download URL`: the session fetches the .torrent over HTTP from a
local http.server on 127.0.0.1, then downloads the content from a cswarm
seed; the files match byte for byte and resume data is saved under the
info-hash. A URL that answers 404 ends the download with an error naming
the URL."""

import http.server
import os
import sys
import threading

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "interop"))
import swtest  # noqa: E402
from swtest import Cleanup, assert_same_files, cswarm_download, cswarm_seed  # noqa


class TorrentServer:
    """Serves one file at /t.torrent (404 for anything else) and counts the
    requests."""

    def __init__(self, cleanup, body):
        outer = self
        self.requests = []

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                outer.requests.append(self.path)
                if self.path == "/t.torrent":
                    self.send_response(200)
                    self.send_header("Content-Type", "application/x-bittorrent")
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                else:
                    self.send_error(404)

            def log_message(self, *args):
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()
        cleanup.on_close(self.close)

    def url(self, path):
        return "http://127.0.0.1:%d%s" % (self.port, path)

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


FILES = [("payload/a.bin", 700_001), ("payload/sub/b.bin", 1_300_000)]
RELS = [rel for rel, _ in FILES]


def payload_and_body(c):
    """The test payload (swtest.make_payload), its .torrent and that file's
    bytes, which the server hands out."""
    src, torrent = swtest.make_payload(c, FILES, 32768)
    with open(torrent, "rb") as f:
        body = f.read()
    return src, torrent, body


def test_download_from_url():
    with Cleanup() as c:
        src, torrent, body = payload_and_body(c)
        server = TorrentServer(c, body)
        seeder = cswarm_seed(c, torrent, src)
        out = c.tempdir()
        dl = cswarm_download(c, server.url("/t.torrent"), out,
                             peers=["127.0.0.1:%d" % seeder.port])
        rc = dl.wait_exit(120)
        assert rc == 0, "download exited %s: %s" % (rc, dl.stderr_text())
        assert_same_files(src, out, RELS)
        assert dl.has_event("fetching"), dl.lines[:5]
        assert dl.has_event("metadata_received"), dl.lines[:5]
        fetching = [o for o in dl.lines if o.get("event") == "fetching"][0]
        assert fetching["url"] == server.url("/t.torrent"), fetching
        assert server.requests == ["/t.torrent"], server.requests
        resume = os.path.join(out, ".cswarm", swtest.info_hash_hex(torrent) + ".resume")
        assert os.path.exists(resume), os.listdir(os.path.join(out, ".cswarm"))
        assert seeder.stop() == 0, seeder.stderr_text()


def test_url_not_found_is_an_error():
    with Cleanup() as c:
        _, _, body = payload_and_body(c)
        server = TorrentServer(c, body)
        url = server.url("/missing.torrent")
        dl = cswarm_download(c, url, c.tempdir())
        rc = dl.wait_exit(60)
        err = dl.stderr_text()
        assert rc == 1, "exit %s: %s" % (rc, err)
        assert url in err and "404" in err, err


def main():
    return swtest.run_tests(swtest.tests_in(globals()), sys.argv[1:])


if __name__ == "__main__":
    sys.exit(main())
