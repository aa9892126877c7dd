"""test_capture_http.py -- HTTP through the shim: a threaded Python
http.server traced (http_in events), curl traced (http_out events); the
counts match the server's own request count."""

import subprocess

import ptenv

SERVER = r"""
import sys, threading
from http.server import ThreadingHTTPServer, BaseHTTPRequestHandler
want = int(sys.argv[1])
count = 0
lock = threading.Lock()
done = threading.Event()

class H(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def do_GET(self):
        global count
        body = (b"x" * 100) if not self.path.startswith("/missing") else b""
        self.send_response(404 if self.path.startswith("/missing") else 200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
        with lock:
            count += 1
            if count >= want:
                done.set()
    do_POST = do_GET
    def log_message(self, *a):
        pass

srv = ThreadingHTTPServer(("127.0.0.1", 0), H)
print(srv.server_address[1], flush=True)
t = threading.Thread(target=srv.serve_forever, daemon=True)
t.start()
done.wait(60)
srv.shutdown()
srv.server_close()
print("served", count, flush=True)
"""


def _serve(dump_dir, n, traced):
    argv = [ptenv.PYTHON, "-c", SERVER, str(n)]
    env = (ptenv.traced_env(dump_dir) if traced
           else ptenv._child_env(None, None))
    return subprocess.Popen(argv, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def _curl(*urls, extra=()):
    """One curl for several URLs: it keeps one connection for them."""
    argv = ["curl", "-s", "-w", "%{http_code}\n", "--max-time", "10",
            *extra]
    for u in urls:
        argv += ["-o", "/dev/null", u]
    return argv


def _finish(proc):
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    return int(out.split()[-1])


def test_traced_threaded_server_counts_every_request(dump_dir):
    srv = _serve(dump_dir, 12, traced=True)
    try:
        port = int(srv.stdout.readline())
        base = f"http://127.0.0.1:{port}"
        codes = []
        for i in range(5):  # curl keeps one connection for several URLs
            p = ptenv.run_plain(_curl(f"{base}/fir/{i}",
                                      f"{base}/fir/{i}/content?x=1"),
                                timeout=30)
            codes += p.stdout.split()
        p = ptenv.run_plain(_curl(f"{base}/missing", extra=["-d", "a=1"]),
                            timeout=30)
        codes += p.stdout.split()
        p = ptenv.run_plain(_curl(f"{base}/fir/9"), timeout=30)
        codes += p.stdout.split()
    finally:
        served = _finish(srv)
    assert served == 12 and len(codes) == 12, (served, codes)
    evs = ptenv.events(ptenv.read_events(dump_dir), "http_in")
    assert len(evs) == served, evs
    assert sorted(e["status"] for e in evs) == sorted(map(int, codes))
    posts = [e for e in evs if e["text"].startswith("POST ")]
    assert len(posts) == 1 and posts[0]["status"] == 404, posts
    assert all("?" not in e["text"] for e in evs), "query strings dropped"


def test_traced_curl_records_outbound_requests(dump_dir):
    srv = _serve(dump_dir / "..", 3, traced=False)
    try:
        port = int(srv.stdout.readline())
        url = f"http://127.0.0.1:{port}/model/asr"
        p = ptenv.run_traced(_curl(url, url, url), dump_dir, timeout=30)
        assert p.returncode == 0, ptenv.describe(p)
    finally:
        served = _finish(srv)
    evs = ptenv.events(ptenv.read_events(dump_dir), "http_out")
    assert len(evs) == served == 3, evs
    assert all(e["status"] == 200 for e in evs)
