"""test_stacks.py -- call sites and stacks (PERFTAP_STACKS): the report
names the function, file and line of the program's own code that issued
each operation, through PyMySQL, MySQLdb, redis-py and httpx, directly and
through a shared helper layer; `perftap events` shows the stacks.
Expected lines come from the workload's source (inspect), never numbers."""

import http.server
import inspect
import json
import threading

import ptenv
import stacks_async_workload as awl
import stacks_workload as wl

WORKLOAD = ptenv.REPO / "tests" / "integration" / "stacks_workload.py"


def site_line(func, tag):
    """The line of `# site:TAG` inside func, from its source."""
    lines, first = inspect.getsourcelines(func)
    hits = [first + i for i, l in enumerate(lines) if f"# site:{tag}" in l]
    assert len(hits) == 1, (func, tag)
    return hits[0]


class _Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        body = b"ok"
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self):
        # the streamed upload of stacks_async_workload: chunked
        while True:
            size = int(self.rfile.readline().split(b";")[0], 16)
            self.rfile.read(size + 2)
            if size == 0:
                break
        self.do_GET()

    def log_message(self, *a):
        pass


def _http_server():
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    return srv


def _record(servers, dump_dir, env):
    srv = _http_server()
    port = srv.server_address[1]
    try:
        p = ptenv.run_traced(
            [ptenv.PYTHON, WORKLOAD, port], dump_dir,
            env={"PERFTAP_HTTP_PORTS": port, **env}, timeout=120)
    finally:
        srv.shutdown()
    assert p.returncode == 0 and p.stdout.strip() == "done", ptenv.describe(p)
    return port


def _report_json(dump_dir, *args):
    p = ptenv.run_plain([ptenv.CMD, "report", "-f", "json", *args,
                         *ptenv.dumps(dump_dir)])
    assert p.returncode == 0, ptenv.describe(p)
    return json.loads(p.stdout)


def _sites_of(doc, kind, needle):
    rows = [c for c in doc["call_sites"]
            if c["kind"] == kind and needle in c["operation"]]
    assert len(rows) == 1, (kind, needle, doc["call_sites"])
    return rows[0]


EXPECTED = [
    # (kind, text in the operation, function, its site tag)
    ("mysql", "stk_pymysql_direct", wl.pymysql_direct, "pymysql_direct"),
    ("mysql", "stk_pymysql_layered", wl.repo_query, "repo_query"),
    ("mysql", "stk_mysqldb_direct", wl.mysqldb_direct, "mysqldb_direct"),
    ("mysql", "stk_mysqldb_layered", wl.repo_query, "repo_query"),
    ("redis", "SET stk:direct", wl.redis_direct, "redis_direct"),
    ("redis", "GET stk:layered", wl.cache_get, "cache_get"),
    ("http_out", "/stk/direct", wl.http_direct, "http_direct"),
]


def test_call_sites_name_function_file_line(servers, dump_dir):
    _record(servers, dump_dir, {"PERFTAP_STACKS": "all"})
    doc = _report_json(dump_dir)
    for kind, needle, func, tag in EXPECTED:
        row = _sites_of(doc, kind, needle)
        want = (func.__qualname__, str(WORKLOAD), site_line(func, tag))
        got = [(s["function"], s["file"], s["line"]) for s in row["sites"]]
        assert got == [want], (needle, got, want)
        site = row["sites"][0]
        assert site["count"] == wl.ROUNDS == row["stacks"] == row["calls"]
        assert abs(site["share"] - 1.0) < 1e-9


ASYNC_WORKLOAD = ptenv.REPO / "tests" / "integration" / "stacks_async_workload.py"

ASYNC_EXPECTED = [
    ("mysql", "stk_aiomysql_direct", awl.aiomysql_direct, "aiomysql_direct",
     awl.ROUNDS * awl.TASKS),
    ("mysql", "stk_aiomysql_layered", awl.repo_fetch, "repo_fetch",
     awl.ROUNDS * awl.TASKS),
    ("redis", "SET astk:direct", awl.aredis_direct, "aredis_direct",
     awl.ROUNDS * awl.TASKS),
    ("redis", "GET astk:layered", awl.cache_fetch, "cache_fetch",
     awl.ROUNDS * awl.TASKS),
    ("http_out", "/astk/direct", awl.ahttp_direct, "ahttp_direct",
     awl.ROUNDS * awl.TASKS),
    ("redis", "GET astk:blocking", awl.blocking_in_coroutine,
     "blocking_in_coroutine", awl.ROUNDS),
]


def test_asyncio_clients_name_the_awaiting_coroutine(servers, dump_dir):
    """aiomysql, redis.asyncio and httpx.AsyncClient read their replies in
    the event loop's callback, with tasks of five different coroutines in
    flight at once: each operation's call site is still the coroutine
    that awaited it (its stack is the send's), never the loop's, never
    another task's; and a blocking client inside a coroutine too."""
    srv = _http_server()
    port = srv.server_address[1]
    try:
        p = ptenv.run_traced(
            [ptenv.PYTHON, ASYNC_WORKLOAD, port], dump_dir,
            env={"PERFTAP_HTTP_PORTS": port, "PERFTAP_STACKS": "all"},
            timeout=120)
    finally:
        srv.shutdown()
    assert p.returncode == 0 and p.stdout.strip() == "done", ptenv.describe(p)
    doc = _report_json(dump_dir)
    for kind, needle, func, tag, calls in ASYNC_EXPECTED:
        row = _sites_of(doc, kind, needle)
        want = (func.__qualname__, str(ASYNC_WORKLOAD), site_line(func, tag))
        got = [(s["function"], s["file"], s["line"]) for s in row["sites"]]
        assert got == [want], (needle, got, want)
        assert row["sites"][0]["count"] == calls == row["stacks"] == row["calls"]
    recs = ptenv.read_events(dump_dir)
    dump = [r for r in recs if r["type"] == "dump"][0]
    # The streamed upload's first send fell out of the ring: no stack for
    # it (counted), rather than the loop's or a neighbour's.
    assert not [c for c in doc["call_sites"] if "/astk/streamed" in c["key"]]
    streamed = [e for e in ptenv.events(recs, "http_out")
                if "/astk/streamed" in e["text"]]
    assert len(streamed) == awl.ROUNDS
    assert not any("stack" in e for e in streamed), streamed
    assert dump["counters"]["stack_unsent"] == awl.ROUNDS, dump["counters"]
    p = ptenv.run_plain([ptenv.CMD, "report", *ptenv.dumps(dump_dir)])
    assert p.returncode == 0, ptenv.describe(p)
    assert (f"{awl.ROUNDS} asyncio client operations have no stack"
            in p.stdout), p.stdout
    assert dump["problems"]["unresolved_stacks"] == 0


def test_callsite_skip_rule_is_the_users(servers, dump_dir):
    """An empty --callsite-skip skips nothing: the innermost frame is the
    driver's own (redis-py's socket read), not the program's."""
    _record(servers, dump_dir, {"PERFTAP_STACKS": "all"})
    doc = _report_json(dump_dir, "--callsite-skip", "")
    row = _sites_of(doc, "redis", "SET stk:direct")
    assert all("/redis/" in s["file"] for s in row["sites"]), row
    # A bad pattern: one line, exit 2.
    p = ptenv.run_plain([ptenv.CMD, "report", "--callsite-skip", "([",
                         *ptenv.dumps(dump_dir)])
    assert p.returncode == 2 and p.stderr.count("\n") == 1, ptenv.describe(p)


def test_events_show_python_and_native_frames(servers, dump_dir):
    _record(servers, dump_dir, {"PERFTAP_STACKS": "all"})
    recs = ptenv.read_events(dump_dir)
    dump = [r for r in recs if r["type"] == "dump"][0]
    assert dump["problems"]["bad_stacks"] == 0
    assert dump["problems"]["unresolved_stacks"] == 0
    sets = [e for e in ptenv.events(recs, "redis")
            if e["text"].startswith("SET stk:direct")]
    assert len(sets) == wl.ROUNDS
    for e in sets:
        py = e["stack"]["python"]
        names = [f["func"] for f in py]
        # innermost first: redis-py inside, then the workload, then main
        assert names[-2:] == ["main", "<module>"], names
        assert "redis_direct" in names
        nat = e["stack"]["native"]
        assert 0 < len(nat) <= 32
        # the shim drops its own frames; libc's start is symbolized
        assert not any("libperftap" in f.get("module", "") for f in nat)
        assert any(f.get("func", "").startswith("__libc_start")
                   for f in nat), nat
    # one call site, one interned stack per chunk: the ids repeat
    assert len({e["stack_id"] for e in sets}) == 1


def test_slow_mode_only_slow_events_carry_stacks(servers, dump_dir):
    """Default mode `slow` with a threshold no event here reaches: no
    stacks at all; with 1ns every event has one."""
    _record(servers, dump_dir, {"PERFTAP_STACK_MIN": "100s"})
    evs = ptenv.events(ptenv.read_events(dump_dir))
    assert evs and all(e["stack_id"] == 0 and "stack" not in e for e in evs)
    d2 = dump_dir.parent / "dumps_1ns"  # the shim creates it 0700
    _record(servers, d2, {"PERFTAP_STACK_MIN": "1ns"})
    evs = ptenv.events(ptenv.read_events(d2))
    assert evs and all(e["stack_id"] > 0 for e in evs)


def _c_line(src, needle):
    hits = [n for n, l in enumerate(src.read_text().splitlines(), 1)
            if needle in l]
    assert len(hits) == 1, needle
    return hits[0]


def test_c_program_native_call_sites(servers, dump_dir):
    """libmariadb and hiredis from C: the native call site (symbolized
    with libdwfl from the recorded modules) is the program's function,
    with its file:line from the debug info."""
    exe = ptenv.CLIENTS / "stack_client"
    src = ptenv.REPO / "tests" / "clients" / "stack_client.c"
    p = ptenv.run_traced([exe, 4], dump_dir, env={"PERFTAP_STACKS": "all"})
    assert p.returncode == 0 and p.stdout.strip() == "done", ptenv.describe(p)
    doc = _report_json(dump_dir)
    for kind, needle, func, call in (
            # Through libmariadb's API (api_mysql.c) a statement ends when
            # the program has its rows: the stack is taken there.
            ("mysql", "stk_c_fetch_record", "fetch_record",
             "mysql_store_result(m)"),
            ("redis", "GET stk:c:lookup", "cache_lookup", "redisCommand(c,")):
        row = _sites_of(doc, kind, needle)
        assert row["calls"] == row["stacks"] == 4
        got = [(s["function"], s["file"].endswith("tests/clients/"
                                                  "stack_client.c"),
                s["line"], s["native"], s["module"]) for s in row["sites"]]
        assert got == [(func, True, _c_line(src, call), True, str(exe))], got


THREADS_AND_FORK = r"""
import os, sys, threading
import redis

def mk():
    return redis.Redis(host=os.environ["PERFTAP_REDIS_HOST"],
                       port=int(os.environ["PERFTAP_REDIS_PORT"]))

def short_lived(i, out):
    r = mk()
    for k in range(20):
        r.set("stk:thr:%d" % i, k)
        out.append(int(r.get("stk:thr:%d" % i)))
    r.close()

def child_work():
    r = mk()
    r.set("stk:child", "c")
    v = r.get("stk:child")  # site:child
    os._exit(0 if v == b"c" else 3)

results = []
for wave in range(5):  # threads exit while the others still capture
    ts = [threading.Thread(target=short_lived, args=(wave * 8 + i, results))
          for i in range(8)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
pid = os.fork()
if pid == 0:
    child_work()
_, st = os.waitpid(pid, 0)
print(len(results), sum(results), os.WEXITSTATUS(st))
"""


def test_host_unchanged_threads_exiting_and_fork_child(servers, dump_dir):
    p = ptenv.run_same([ptenv.PYTHON, "-c", THREADS_AND_FORK], dump_dir,
                       env={"PERFTAP_STACKS": "all"})
    assert p.stdout.split() == ["800", str(5 * 8 * sum(range(20))), "0"]
    recs = ptenv.read_events(dump_dir)
    dumps = [r for r in recs if r["type"] == "dump"]
    assert len(dumps) == 2, "parent and forked child each have a dump"
    for dm in dumps:
        assert dm["problems"]["bad_stacks"] == 0
    parent = [d["pid"] for d in dumps if d["ppid"] != dumps[0]["pid"]
              and d["ppid"] != dumps[1]["pid"]][0]
    evs = ptenv.events(recs, "redis")
    assert all("stack" in e for e in evs)
    thr = [e for e in evs if e["pid"] == parent
           and e["text"].startswith(("SET stk:thr", "GET stk:thr"))]
    assert len(thr) == 1600
    assert all(any(f["func"] == "short_lived" for f in e["stack"]["python"])
               for e in thr)
    child = [e for e in evs if e["pid"] != parent]
    gets = [e for e in child if e["text"].startswith("GET stk:child")]
    assert len(gets) == 1
    inner = [f for f in gets[0]["stack"]["python"]
             if f["func"] == "child_work"]
    assert len(inner) == 1
    line = [n for n, l in enumerate(THREADS_AND_FORK.splitlines(), 1)
            if "# site:child" in l]
    assert inner[0]["line"] == line[0]


def _folded(dump_dir, *args):
    p = ptenv.run_plain([ptenv.CMD, "stacks", *args, *ptenv.dumps(dump_dir)])
    assert p.returncode == 0, ptenv.describe(p)
    out = []
    for line in p.stdout.splitlines():
        stack, weight = line.rsplit(" ", 1)
        out.append((stack.split(";"), int(weight)))
    return out


def test_stacks_folded_weighted_by_count_and_time(servers, dump_dir):
    _record(servers, dump_dir, {"PERFTAP_STACKS": "all"})
    sel = ["--filter", "redis SET stk:direct*"]
    by_count = _folded(dump_dir, "--weight", "count", *sel)
    assert by_count and all(f[-1].startswith("redis SET stk:direct")
                            for f, _ in by_count)
    assert sum(w for _, w in by_count) == wl.ROUNDS
    want = "redis_direct (stacks_workload.py:%d)" % site_line(
        wl.redis_direct, "redis_direct")
    for frames, _ in by_count:
        assert frames[0].startswith("<module> (stacks_workload.py:")
        assert want in frames, frames
    # time: the events' own durations, summed
    evs = [e for e in ptenv.events(ptenv.read_events(dump_dir), "redis")
           if e["text"].startswith("SET stk:direct")]
    assert sum(w for _, w in _folded(dump_dir, *sel)) == sum(
        e["duration_ns"] for e in evs)
    p = ptenv.run_plain([ptenv.CMD, "stacks", "--weight", "bytes",
                         *ptenv.dumps(dump_dir)])
    assert p.returncode == 2 and p.stderr.count("\n") == 1


def _stack_records(data):
    """(offset, n_native, n_python) of every committed stack record of
    every chunk (dump_format.h layout, little-endian x86_64)."""
    import struct
    hs, cs = struct.unpack_from("<II", data, 16)
    out = []
    for base in range(hs, len(data) - cs + 1, cs):
        if data[base:base + 4] != b"PHCK":
            continue
        seq = struct.unpack_from("<Q", data, base + 8)[0]
        off = base + 64  # struct pt_chunk_header
        while off + 16 <= base + cs:
            commit, typ = struct.unpack_from("<QH", data, off)
            size = commit & 0xffffffff
            if commit == 0 or commit >> 32 != seq & 0xffffffff or size < 8:
                break
            if typ == 4:  # PT_REC_STACK
                nn, sid, npy = struct.unpack_from("<HIH", data, off + 10)
                out.append((off, nn, npy))
            off += size
    return out


def test_corrupt_stack_record_is_skipped_and_counted(servers, dump_dir):
    _record(servers, dump_dir, {"PERFTAP_STACKS": "all"})
    path = ptenv.dumps(dump_dir)[0]
    before = ptenv.read_events(dump_dir)
    n_events = len(ptenv.events(before))
    data = bytearray(path.read_bytes())
    stacks = _stack_records(data)
    assert len(stacks) >= 3
    import struct
    # a frame count past the record, and one past PT_STACK_MAX_PYTHON
    struct.pack_into("<H", data, stacks[0][0] + 16, 60000)
    struct.pack_into("<H", data, stacks[1][0] + 10, 33)  # n_native > 32
    path.write_bytes(bytes(data))
    recs = ptenv.read_events(dump_dir)
    dump = [r for r in recs if r["type"] == "dump"][0]
    assert dump["problems"]["bad_stacks"] == 2
    evs = ptenv.events(recs)
    assert len(evs) == n_events, "every event still read"
    lost = [e for e in evs if e["stack_id"] and "stack" not in e]
    assert lost, "events naming the bad stacks print without one"
    assert dump["problems"]["unresolved_stacks"] >= 1
    p = ptenv.run_plain([ptenv.CMD, "report", path])
    assert p.returncode == 0, ptenv.describe(p)


def test_call_sites_in_text_markdown_and_html(servers, dump_dir):
    _record(servers, dump_dir, {"PERFTAP_STACKS": "all"})
    where = "%s:%d" % (WORKLOAD, site_line(wl.cache_get, "cache_get"))
    for fmt in ("text", "markdown", "html"):
        p = ptenv.run_plain([ptenv.CMD, "report", "-f", fmt,
                             *ptenv.dumps(dump_dir)])
        assert p.returncode == 0, ptenv.describe(p)
        assert "Call sites" in p.stdout, fmt
        line = [l for l in p.stdout.splitlines() if where in l]
        assert line and "cache_get" in line[0], (fmt, where)


SIGNALS = r"""
import os, signal
import redis
hits = [0]
def on_alarm(sig, frame):
    hits[0] += 1
signal.signal(signal.SIGALRM, on_alarm)
signal.setitimer(signal.ITIMER_REAL, 0.0005, 0.0005)  # interrupts recv
r = redis.Redis(host=os.environ["PERFTAP_REDIS_HOST"],
                port=int(os.environ["PERFTAP_REDIS_PORT"]))
total = 0
for i in range(2000):
    r.set("stk:sig", i)
    total += int(r.get("stk:sig"))
signal.setitimer(signal.ITIMER_REAL, 0)
print(total, hits[0] > 0)
"""


def test_host_unchanged_under_signals_with_stacks(servers, dump_dir):
    p = ptenv.run_same([ptenv.PYTHON, "-c", SIGNALS], dump_dir,
                       env={"PERFTAP_STACKS": "all"})
    assert p.stdout.split() == [str(sum(range(2000))), "True"]
    evs = [e for e in ptenv.events(ptenv.read_events(dump_dir), "redis")
           if "stk:sig" in e["text"]]
    assert len(evs) == 4000 and all("stack" in e for e in evs)


def test_deep_pipeline_replies_carry_their_own_callers_stack(servers,
                                                              dump_dir):
    """A read that ends thousands of pipelined replies captures the stack
    once for all of them (stack.h, pt_stack_batch): every reply still
    names the function that sent its pipeline, never the other one's."""
    import stacks_pipeline as sp
    script = ptenv.REPO / "tests" / "integration" / "stacks_pipeline.py"
    p = ptenv.run_traced([ptenv.PYTHON, script], dump_dir,
                         env={"PERFTAP_STACKS": "all"}, timeout=120)
    assert p.returncode == 0 and p.stdout.strip() == "done", ptenv.describe(p)
    doc = _report_json(dump_dir)
    for needle, func, tag in (("GET stk:deepa", sp.pipeline_a, "pipeline_a"),
                              ("GET stk:deepb", sp.pipeline_b, "pipeline_b")):
        row = _sites_of(doc, "redis", needle)
        n = sp.DEPTH * sp.ROUNDS
        assert row["calls"] == row["stacks"] == n, row
        got = [(s["function"], s["file"], s["line"], s["count"])
               for s in row["sites"]]
        assert got == [(func.__qualname__, str(script), site_line(func, tag),
                        n)], got
