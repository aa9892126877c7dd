"""test_capture_http_servers.py -- HTTP through the shim with the
servers' own request counts as ground truth: uvicorn serving FastAPI
(uvloop + httptools) driven by curl and by httpx, a threaded http.server
driven by httpx, a prefork server (one dump per worker), and outbound
HTTP from Python (httpx) to a local stub.  Each request's wall time as
the client measured it bounds the matching event (by order on its
connection)."""

import collections
import os
import signal
import subprocess

import capture_truth as ct
import ptenv

# FastAPI on uvicorn, on a socket bound here (port 0) so that the port is
# known; counts its requests in a middleware; prints the count on exit.
FASTAPI = r"""
import asyncio, socket, sys
import uvicorn
from fastapi import FastAPI, Response
app = FastAPI()
count = 0
@app.middleware("http")
async def counter(request, call_next):
    global count
    count += 1
    return await call_next(request)
@app.get("/fir/{fir_id}")
async def fir(fir_id: str):
    return {"id": fir_id, "body": "x" * 200}
@app.post("/fir")
async def create(response: Response):
    response.status_code = 201
    return {"ok": True}
@app.get("/slow")
async def slow():
    await asyncio.sleep(0.02)
    return {"slow": True}
sock = socket.socket()
sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
sock.bind(("127.0.0.1", 0))
print(sock.getsockname()[1], flush=True)
cfg = uvicorn.Config(app, loop="uvloop", http="httptools",
                     log_level="error", access_log=False)
uvicorn.Server(cfg).run(sockets=[sock])
print("served", count, flush=True)
"""

# httpx driving BASE with one keep-alive connection: every request timed.
HTTPX_DRIVER = r"""
import sys, time, httpx
base, n = sys.argv[1], int(sys.argv[2])
ops = []
with httpx.Client(base_url=base, timeout=10) as c:
    for i in range(n):
        t = time.monotonic_ns()
        if i % 5 == 4:
            r = c.post("/fir", json={"i": i})
        elif i % 7 == 6:
            r = c.get(f"/nope/{i}")
        else:
            r = c.get(f"/fir/FIR-{i:04d}?full=1")
        r.read()
        ops.append((t, time.monotonic_ns() - t, r.status_code))
for t, lat, code in ops:
    print(code, t, lat)
"""


def _start(script, dump_dir, traced, args=()):
    argv = [ptenv.PYTHON, "-c", script, *map(str, args)]
    env = ptenv.traced_env(dump_dir) if traced else ptenv.plain_env()
    p = subprocess.Popen(argv, env=env, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True)
    return p, int(p.stdout.readline())


def _stop(proc, sig=signal.SIGTERM):
    proc.send_signal(sig)
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    served = [ln for ln in out.splitlines() if ln.startswith("served")]
    assert served, out + err
    return int(served[-1].split()[1]), out


def _httpx(base, n):
    p = ptenv.run_plain([ptenv.PYTHON, "-c", HTTPX_DRIVER, base, str(n)],
                        timeout=60)
    assert p.returncode == 0, ptenv.describe(p)
    return [tuple(map(int, ln.split())) for ln in p.stdout.splitlines()]


def _assert_in_order(evs, ops):
    """Server events of one keep-alive connection, in order, against the
    client's timing of the same requests.

    Note: across two processes only causality is certain.  The server's
    event starts after its read returned, so after the client began
    sending, and before the client had its response (the server wrote it
    after that read).  Its end is read after the server's last write
    returned, which a descheduled server thread may do after the client
    already holds the response, so bounding it by the client's clock
    would be a timing assertion; the in-process tests
    (capture_truth.assert_within_ops) bound client events fully."""
    evs = sorted(evs, key=lambda e: e["start_ns"])
    assert len(evs) == len(ops), (len(evs), len(ops))
    for ev, (code, t, lat) in zip(evs, ops):
        assert ev["status"] == code, (ev, code)
        assert t <= ev["start_ns"] < t + lat, (ev, t, lat)


def test_uvicorn_fastapi_driven_by_curl_and_httpx(servers, dump_dir):
    srv, port = _start(FASTAPI, dump_dir, traced=True)
    base = f"http://127.0.0.1:{port}"
    try:
        ops = _httpx(base, 40)
        curl = ptenv.run_plain(
            ["curl", "-s", "--max-time", "10", "-w", "%{http_code}\n",
             "-o", "/dev/null", f"{base}/fir/1", "-o", "/dev/null",
             f"{base}/slow", "-o", "/dev/null", f"{base}/fir/2?q=secret"],
            timeout=30)
        assert curl.returncode == 0, ptenv.describe(curl)
    finally:
        served, _ = _stop(srv, signal.SIGINT)
    assert served == 43
    evs = ptenv.events(ptenv.read_events(dump_dir), "http_in")
    assert len(evs) == served, evs
    by_conn = collections.defaultdict(list)
    for e in evs:
        by_conn[e["conn_id"]].append(e)
    assert sorted(map(len, by_conn.values())) == [3, 40], by_conn.keys()
    httpx_conn = max(by_conn.values(), key=len)
    _assert_in_order(httpx_conn, ops)
    texts = collections.Counter(e["text"] for e in evs)
    assert texts["POST /fir"] == 8 and texts["GET /slow"] == 1, texts
    assert all("secret" not in t and "?" not in t for t in texts)
    slow = [e for e in evs if e["text"] == "GET /slow"][0]
    assert slow["duration_ns"] >= 20_000_000, slow


THREADED = r"""
import sys, threading
from http.server import ThreadingHTTPServer, BaseHTTPRequestHandler
count = 0
lock = threading.Lock()
class H(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def _reply(self):
        global count
        n = int(self.headers.get("Content-Length") or 0)
        self.rfile.read(n)
        code = 404 if self.path.startswith("/nope") else (
            201 if self.command == "POST" else 200)
        body = b"y" * 300
        self.send_response(code)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
        with lock:
            count += 1
    do_GET = do_POST = _reply
    def log_message(self, *a):
        pass
srv = ThreadingHTTPServer(("127.0.0.1", 0), H)
print(srv.server_address[1], flush=True)
import signal
signal.signal(signal.SIGTERM, lambda *a: threading.Thread(
    target=srv.shutdown).start())
srv.serve_forever()
srv.server_close()
print("served", count, flush=True)
"""


def test_threaded_http_server_driven_by_httpx(servers, dump_dir):
    srv, port = _start(THREADED, dump_dir, traced=True)
    try:
        ops = _httpx(f"http://127.0.0.1:{port}", 60)
    finally:
        served, _ = _stop(srv)
    assert served == 60
    evs = ptenv.events(ptenv.read_events(dump_dir), "http_in")
    assert len(evs) == served
    _assert_in_order(evs, ops)
    assert {e["bytes_out"] > 300 for e in evs} == {True}


# gunicorn-style prefork: the master binds, forks WORKERS processes that
# each accept on the shared socket; every worker counts what it served
# and reports "worker PID COUNT" when told to stop.
PREFORK = r"""
import os, signal, socket, sys
from http.server import BaseHTTPRequestHandler
WORKERS = int(sys.argv[1])
class H(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.0"
    def do_GET(self):
        body = b"z" * 50
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *a):
        pass
sock = socket.socket()
sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
sock.bind(("127.0.0.1", 0))
sock.listen(64)
r, w = os.pipe()
pids = []
for _ in range(WORKERS):
    pid = os.fork()
    if pid == 0:
        os.close(r)
        stop = False
        def on_term(*a):
            global stop
            stop = True
        signal.signal(signal.SIGTERM, on_term)
        served = 0
        sock.settimeout(0.05)
        while not stop:
            try:
                conn, addr = sock.accept()
            except (socket.timeout, InterruptedError):
                continue
            conn.settimeout(None)
            H(conn, addr, None)
            conn.close()
            served += 1
        os.write(w, f"worker {os.getpid()} {served}\n".encode())
        os._exit(0)
    pids.append(pid)
os.close(w)
print(sock.getsockname()[1], flush=True)
done = [False]
signal.signal(signal.SIGTERM, lambda *a: done.__setitem__(0, True))
while not done[0]:
    signal.pause()
for pid in pids:
    os.kill(pid, signal.SIGTERM)
for pid in pids:
    os.waitpid(pid, 0)
report = os.read(r, 65536).decode()
print(report, end="")
print("served", sum(int(l.split()[2]) for l in report.splitlines()),
      flush=True)
"""


def test_prefork_server_gives_one_dump_per_worker(servers, dump_dir):
    srv, port = _start(PREFORK, dump_dir, traced=True, args=[4])
    try:
        for i in range(6):  # curl keeps one connection per run: HTTP/1.0
            p = ptenv.run_plain(  # closes it, so each URL is a new accept
                ["curl", "-s", "--max-time", "10", "-o", "/dev/null",
                 "-o", "/dev/null", "-o", "/dev/null",
                 f"http://127.0.0.1:{port}/a/{i}",
                 f"http://127.0.0.1:{port}/b/{i}",
                 f"http://127.0.0.1:{port}/c/{i}"], timeout=30)
            assert p.returncode == 0, ptenv.describe(p)
    finally:
        served, out = _stop(srv)
    assert served == 18
    workers = {int(ln.split()[1]): int(ln.split()[2])
               for ln in out.splitlines() if ln.startswith("worker ")}
    assert len(workers) == 4, out
    recs = ptenv.read_events(dump_dir)
    evs = ptenv.events(recs, "http_in")
    per_pid = collections.Counter(e["pid"] for e in evs)
    assert per_pid == {pid: n for pid, n in workers.items() if n}, (
        per_pid, workers)
    heads = [r for r in recs if r.get("type") == "dump"]
    # One dump per worker that served; the master served nothing and,
    # with no traffic of its own, has none.
    assert sorted(h["pid"] for h in heads) == sorted(per_pid), heads
    assert all(os.path.basename(h["dump"]).count(str(h["pid"])) == 1
               for h in heads)


STUB = r"""
import sys, threading
from http.server import ThreadingHTTPServer, BaseHTTPRequestHandler
count = 0
class H(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def do_POST(self):
        global count
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        count += 1
        body = b'{"text": "transcript"}'
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *a):
        pass
srv = ThreadingHTTPServer(("127.0.0.1", 0), H)
print(srv.server_address[1], flush=True)
import signal
signal.signal(signal.SIGTERM, lambda *a: threading.Thread(
    target=srv.shutdown).start())
srv.serve_forever()
print("served", count, flush=True)
"""

OUTBOUND = r"""
import sys, threading, time, httpx, urllib.request
port = int(sys.argv[1])
ops = []
def timed(name, f):
    t = time.monotonic_ns()
    r = f()
    ops.append((threading.get_native_id(), name, t, time.monotonic_ns() - t))
    return r
with httpx.Client(timeout=10) as c:
    for i in range(10):
        r = timed("httpx", lambda: c.post(f"http://127.0.0.1:{port}/asr",
                                          content=b"a" * 1000 * (i + 1)))
        print(r.status_code)
for i in range(3):
    req = urllib.request.Request(f"http://127.0.0.1:{port}/llm",
                                 data=b"q", method="POST")
    r = timed("urllib", lambda: urllib.request.urlopen(req).read())
    print(len(r))
for o in ops:
    print("op %d %s %d %d" % o, file=sys.stderr)
"""


def test_outbound_http_from_python_to_a_stub(servers, dump_dir):
    stub, port = _start(STUB, dump_dir / "..", traced=False)
    try:
        p = ptenv.run_traced([ptenv.PYTHON, "-c", OUTBOUND, port],
                             dump_dir, timeout=60)
        assert p.returncode == 0, ptenv.describe(p)
    finally:
        served, _ = _stop(stub)
    assert served == 13
    evs = ptenv.events(ptenv.read_events(dump_dir), "http_out")
    assert len(evs) == served, evs
    ct.assert_within_ops(evs, ct.oplog(p.stderr))
    texts = collections.Counter(e["text"] for e in evs)
    assert texts == {f"POST 127.0.0.1:{port}/asr": 10,
                     f"POST 127.0.0.1:{port}/llm": 3}, texts
    asr = sorted((e for e in evs if e["text"].endswith("/asr")),
                 key=lambda e: e["start_ns"])
    assert all(b["bytes_out"] - a["bytes_out"] >= 1000
               for a, b in zip(asr, asr[1:])), "bodies grow by 1000"
