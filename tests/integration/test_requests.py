"""test_requests.py -- the tagged-request check: every operation a request
causes carries that request's tag (in a Redis key, an SQL literal, an
outbound path), recorded with PERFTAP_RAW=1 for this test only, so each
attribution the shim made can be judged: right, wrong, or none.

15 concurrent clients, a mix of routes, one backend per server model.
Wrong attributions must be 0 everywhere; every model reaches 99%:
threads (threaded http.server, gunicorn sync and gthread workers, by
thread: request.c) and uvicorn's asyncio loop (by the task's context:
shim/task.c, joined by report/task_join.c), for operations on the loop
thread, outbound httpx calls and asyncio.to_thread jobs; with uvloop, by
the context of the task the request's head created (shim/task_create.c).  Requests served
equal the clients' count, Redis GETs equal the server's commandstats."""

import json
import os
import random
import re
import socket
import subprocess
import threading
import time

import pytest

import capture_truth as ct
import ptenv

CLIENTS = 15
PER_CLIENT = 12
TAG = re.compile(r"T([0-9]+)x([0-9]+)Z")

# The work of one request: every operation carries the tag.
WORK = r"""
import os, threading, pymysql, redis
R = redis.Redis(host=os.environ["PERFTAP_REDIS_HOST"],
                port=int(os.environ["PERFTAP_REDIS_PORT"]))
_local = threading.local()
def db():
    c = getattr(_local, "c", None)
    if c is None:
        c = _local.c = pymysql.connect(
            host=os.environ["PERFTAP_MYSQL_HOST"],
            port=int(os.environ["PERFTAP_MYSQL_PORT"]),
            user=os.environ["PERFTAP_MYSQL_USER"],
            password=os.environ["PERFTAP_MYSQL_PASSWORD"],
            database=os.environ["PERFTAP_MYSQL_DB"], autocommit=True)
    return c
def work(route, tag):
    R.get("t:" + tag)
    if route != "c":
        cur = db().cursor()
        cur.execute("SELECT '%s'" % tag)
        cur.fetchall()
    if route == "b":
        R.setex("t:" + tag, 5, "1")
    return b"ok " + tag.encode()
def split(path):
    _, route, tag = path.split("/")[:3]
    return route, tag
"""

THREADED = WORK + r"""
import sys
from http.server import ThreadingHTTPServer, BaseHTTPRequestHandler
count = 0
lock = threading.Lock()
class H(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def do_GET(self):
        global count
        body = work(*split(self.path))
        with lock:
            count += 1
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *a):
        pass
srv = ThreadingHTTPServer(("127.0.0.1", 0), H)
print(srv.server_address[1], flush=True)
import signal
signal.signal(signal.SIGTERM, lambda *a: threading.Thread(target=srv.shutdown).start())
srv.serve_forever()
print("served", count, flush=True)
"""

WSGI = WORK + r"""
def app(environ, start_response):
    body = work(*split(environ["PATH_INFO"]))
    start_response("200 OK", [("Content-Length", str(len(body)))])
    return [body]
"""

# ASGI without a framework; MODE picks where the work runs.
ASGI = WORK + r"""
import asyncio, sys
import httpx
MODE = os.environ["TAGTEST_MODE"]
STUB = os.environ.get("TAGTEST_STUB", "")
count = 0
client = None
async def app(scope, receive, send):
    global count, client
    if scope["type"] != "http":
        return
    route, tag = split(scope["path"])
    if MODE == "to_thread":
        body = await asyncio.to_thread(work, route, tag)
    elif MODE == "loop_redis":
        R.get("t:" + tag)
        body = b"ok"
    else:
        if client is None:
            client = httpx.AsyncClient()
        r = await client.get(STUB + "/echo/" + tag)
        body = r.content
    count += 1
    await send({"type": "http.response.start", "status": 200,
                "headers": [(b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})
import socket, uvicorn
sock = socket.socket()
sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
sock.bind(("127.0.0.1", 0))
sock.listen(128)  # before the port is told: no client is ever refused
print(sock.getsockname()[1], flush=True)
loop, http = sys.argv[1], sys.argv[2]
cfg = uvicorn.Config(app, loop=loop, http=http, log_level="error",
                     access_log=False)
uvicorn.Server(cfg).run(sockets=[sock])
print("served", count, flush=True)
"""

STUB = r"""
from http.server import ThreadingHTTPServer, BaseHTTPRequestHandler
class H(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def do_GET(self):
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")
    def log_message(self, *a):
        pass
srv = ThreadingHTTPServer(("127.0.0.1", 0), H)
print(srv.server_address[1], flush=True)
srv.serve_forever()
"""


def _drive(port):
    """15 clients, keep-alive where the server allows it; returns the
    number of 200 responses."""
    import httpx
    ok = [0] * CLIENTS
    # A fresh prefix per run: the SETEX keys of an earlier run (they live
    # 5 s) must not turn this run's first reads into hits.
    run = random.randrange(10**5, 10**6)
    def client(i):
        with httpx.Client(base_url=f"http://127.0.0.1:{port}",
                          timeout=30) as c:
            for j in range(PER_CLIENT):
                route = "abc"[(i + j) % 3]
                r = c.get(f"/{route}/T{run}{i:02d}x{j}Z")
                if r.status_code == 200:
                    ok[i] += 1
    ts = [threading.Thread(target=client, args=(i,)) for i in range(CLIENTS)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    return sum(ok)


def _judge(records):
    """(right, wrong, unattributed, http_in) over tagged child ops."""
    reqs = {}
    http_in = 0
    for e in ptenv.events(records, "http_in"):
        http_in += 1
        m = TAG.search(e.get("text", ""))
        if e.get("request_id"):
            reqs[(e["pid"], e["request_id"])] = m.group(0) if m else None
    right = wrong = none = 0
    bad = []
    for e in ptenv.events(records):
        if e["kind"] == "http_in":
            continue
        m = TAG.search(e.get("text", ""))
        if not m:
            continue
        rid = e.get("request_id") or 0
        if not rid:
            none += 1
        elif reqs.get((e["pid"], rid)) == m.group(0):
            right += 1
        else:
            wrong += 1
            bad.append(e)
    return right, wrong, none, http_in, bad[:5]


def _popen(argv, dump_dir, env=None, traced=True):
    e = ptenv.traced_env(dump_dir, env) if traced else ptenv.plain_env(env)
    p = subprocess.Popen(argv, env=e, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True)
    return p


def _stop(p):
    p.terminate()
    out, err = p.communicate(timeout=30)
    served = [ln for ln in out.splitlines() if ln.startswith("served")]
    return int(served[-1].split()[1]) if served else None, out + err


def _check(servers, dump_dir, start, expect_attributed):
    snap = ptenv.redis_commandstats(servers)
    proc, port = start()
    try:
        done = _drive(port)
    finally:
        served, out = _stop(proc)
    after = ptenv.redis_commandstats(servers)
    recs = ptenv.read_events(dump_dir)
    right, wrong, none, http_in, bad = _judge(recs)
    total = right + wrong + none
    print(f"attribution: {right} right, {wrong} wrong, {none} unattributed "
          f"of {total} tagged ops ({100.0 * right / max(total, 1):.1f}% "
          f"attributed)")
    assert done == CLIENTS * PER_CLIENT, out
    if served is not None:
        assert served == done, out
    assert http_in == done
    gets = len([e for e in ptenv.events(recs, "redis")
                if e["text"].upper().startswith("GET t:".upper())])
    assert gets == ptenv.delta(snap, after).get("get", 0)
    assert total > 0
    assert wrong == 0, bad
    if expect_attributed:
        assert right >= 0.99 * total, (right, total)
    return right, none, total


def _read_port(p):
    line = p.stdout.readline()
    assert line.strip().isdigit(), line + p.stderr.read()
    return int(line)


RAW = {"PERFTAP_RAW": "1"}


def test_threaded_http_server_attributes_every_op(servers, dump_dir,
                                                  tmp_path):
    def start():
        p = _popen([ptenv.PYTHON, "-c", THREADED], dump_dir, RAW)
        return p, _read_port(p)
    right, none, total = _check(servers, dump_dir, start, True)
    _check_report(dump_dir, tmp_path, right, total)


def _check_report(dump_dir, tmp_path, right, total):
    """The report's breakdown agrees with the tagged count: every request
    a route, every op of route b counted; every key a miss (each tag is
    read once), so every request with a cache read is uncached."""
    th = tmp_path / "th.json"
    th.write_text(json.dumps({"http GET /* uncached": ["p(95)<60s"],
                              "http GET /* cached": ["p(95)<60s"]}))
    p = ptenv.run_plain([ptenv.CMD, "report", "--format", "json",
                         "--thresholds", th, *ptenv.dumps(dump_dir)])
    assert p.returncode == 0, ptenv.describe(p)
    rep = json.loads(p.stdout)["requests"]
    routes = rep["routes"]
    assert sum(r["requests"] for r in routes) == CLIENTS * PER_CLIENT
    assert rep["attribution"]["attributed"] >= right
    per = {r["route"].split("/")[1]: r for r in routes}
    b = next(r for r in routes if r["route"].startswith("GET /b/"))
    assert [o["per_request"] for o in b["operations_per_request"]] == [1, 1, 1]
    assert b["cache"]["uncached"]["requests"] == b["requests"]
    assert b["slowest"] and len(b["slowest"][0]["waterfall"]) == 3
    res = {t["selector"]: t for t in json.loads(p.stdout)["thresholds"]}
    # A request is uncached when its cache read (GET t:) is its own.
    reads = sum(1 for e in ptenv.events(ptenv.read_events(dump_dir), "redis")
                if e["text"].startswith("GET t:") and e.get("request_id"))
    assert reads >= 0.99 * CLIENTS * PER_CLIENT
    assert res["http GET /* uncached"]["samples"] == reads
    assert res["http GET /* uncached"]["status"] == "pass"
    assert res["http GET /* cached"]["samples"] == 0
    # The same requests as OTLP traces: one per request, children inside.
    p = ptenv.run_plain([ptenv.CMD, "report", "--format", "otlp",
                         *ptenv.dumps(dump_dir)])
    traces = [json.loads(ln) for ln in p.stdout.splitlines()
              if ln.startswith('{"resourceSpans"')]
    assert len(traces) == CLIENTS * PER_CLIENT
    kids = 0
    for t in traces:
        spans = t["resourceSpans"][0]["scopeSpans"][0]["spans"]
        root = spans[0]
        assert "parentSpanId" not in root and root["status"]["code"] == 0
        tag = TAG.search(root["name"]).group(0)
        for c in spans[1:]:
            assert c["parentSpanId"] == root["spanId"]
            assert c["traceId"] == root["traceId"]
            assert tag in c["name"]
            kids += 1
    assert kids == right


def _free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


@pytest.mark.parametrize("worker", [["-k", "sync"],
                                    ["-k", "gthread", "--threads", "4"]])
def test_gunicorn_three_workers_attributes_every_op(servers, dump_dir,
                                                   tmp_path, worker):
    (tmp_path / "tagapp.py").write_text(WSGI)
    port = _free_port()
    def start():
        p = _popen(["/usr/bin/gunicorn", "-w", "3", *worker,
                    "--chdir", str(tmp_path), "-b", f"127.0.0.1:{port}",
                    "tagapp:app"], dump_dir, RAW)
        for _ in range(200):
            try:
                socket.create_connection(("127.0.0.1", port), 0.2).close()
                break
            except OSError:
                time.sleep(0.05)
        return p, port
    right, none, total = _check(servers, dump_dir, start, True)
    pids = {e["pid"] for e in ptenv.events(ptenv.read_events(dump_dir),
                                          "http_in")}
    if worker[1] == "sync":  # one request at a time each: spread out
        assert len(pids) >= 2


def _asgi(servers, dump_dir, loop, http, mode):
    """Run the ASGI backend under MODE; (right, none, total, records)."""
    stub = None
    env = dict(RAW, TAGTEST_MODE=mode)
    if mode == "httpx":
        stub = subprocess.Popen([ptenv.PYTHON, "-c", STUB],
                                env=ptenv.plain_env(),
                                stdout=subprocess.PIPE, text=True)
        env["TAGTEST_STUB"] = f"http://127.0.0.1:{_read_port(stub)}"
    def start():
        p = _popen([ptenv.PYTHON, "-c", ASGI, loop, http], dump_dir, env)
        return p, _read_port(p)
    try:
        return _check(servers, dump_dir, start, False)
    finally:
        if stub:
            stub.kill()
            stub.wait()


@pytest.mark.parametrize("mode", ["to_thread", "loop_redis", "httpx"])
def test_uvicorn_h11_attributes_every_op(servers, dump_dir, tmp_path, mode):
    """The task's own operations (Redis on the loop thread, httpx), and the
    jobs it hands to the thread pool (asyncio.to_thread: PyMySQL and
    redis-py on pool threads, fresh ones included)."""
    right, none, total = _asgi(servers, dump_dir, "asyncio", "h11", mode)
    assert right >= 0.99 * total, (right, total)
    recs = ptenv.read_events(dump_dir)
    attrs = {e["attribution"] for e in ptenv.events(recs)
             if e["kind"] != "http_in" and e.get("request_id")}
    assert attrs == ({"handoff"} if mode == "to_thread" else {"task"})
    if mode == "to_thread":  # the report makes the same join
        _check_report(dump_dir, tmp_path, right, total)


@pytest.mark.parametrize("mode", ["to_thread", "loop_redis", "httpx"])
def test_uvloop_httptools_attributes_every_op(servers, dump_dir, mode):
    """uvloop flushes responses outside every task, so the request's key
    is the context of the task its head created (shim/task_create.c):
    the jobs it hands to the pool, its Redis calls on the loop thread and
    its outbound httpx calls."""
    right, none, total = _asgi(servers, dump_dir, "uvloop", "httptools",
                               mode)
    print(f"uvloop/httptools/{mode}: right {right} of {total}, "
          f"unattributed {none}")
    assert right >= 0.99 * total, (right, total)


# A request hands work to a task of its own that outlives the response:
# that task's context is a copy, so its operations (bg: keys) must stay
# unattributed, while the request's own (t: keys) are attributed.
BACKGROUND = ASGI.replace(
    "    if MODE == \"to_thread\":",
    """    if MODE == "background":
        async def later():
            await asyncio.sleep(0.002)
            R.get("bg:" + tag)
        tasks.add(asyncio.get_running_loop().create_task(later()))
        R.get("t:" + tag)
        body = b"ok"
    elif MODE == "to_thread":""").replace("count = 0\n", "count = 0\ntasks = set()\n", 1)


def test_background_task_is_not_the_request(servers, dump_dir):
    env = dict(RAW, TAGTEST_MODE="background")
    proc = _popen([ptenv.PYTHON, "-c", BACKGROUND, "asyncio", "h11"],
                  dump_dir, env)
    port = _read_port(proc)
    try:
        done = _drive(port)
    finally:
        _stop(proc)
    assert done == CLIENTS * PER_CLIENT
    recs = ptenv.read_events(dump_dir)
    own = [e for e in ptenv.events(recs, "redis")
           if e["text"].startswith("GET t:")]
    bg = [e for e in ptenv.events(recs, "redis")
          if e["text"].startswith("GET bg:")]
    assert len(own) == len(bg) == done
    assert all(e.get("request_id") for e in own)
    assert not any(e.get("request_id") for e in bg)
