"""test_demo.py -- the main job end to end: a short `scripts/demo.sh` run.

The demo profiles an AFIRGen-shaped FastAPI backend (real MariaDB, Redis,
SQLite and a model-server stub over HTTP) under Locust load, with perftap
recording the backend.  Each configuration below is run once (about 20 s)
and then checked from several sides: Locust's own counts, the dump's events,
the JSON report, and the raw dump bytes (no literal of the seeded data or
of any request body may be in them).

Both driver switches (PyMySQL, pure Python; MySQLdb, C over libmariadb) and
both server switches (uvicorn with asyncio + h11; with uvloop + httptools)
are exercised.
"""

import csv
import json
import os
import re
import socket
import subprocess
from collections import Counter

import pytest

import ptenv

LOAD_SECONDS = 12
MODEL_DELAY = 0.3  # seconds the model stub waits before answering
N_FIRS = 1500

ROUTES = {
    "POST /process", "POST /validate", "GET /session/{session_id}/status",
    "GET /fir/{fir_number}", "GET /fir/{fir_number}/content", "GET /list_firs",
    "GET /metrics", "GET /search", "POST /authenticate", "GET /health",
}
SQL_CLASSES = {"point_select", "join", "aggregation", "pagination", "fulltext",
               "bulk_insert"}
MODEL_ROUTES = {"/inference", "/asr", "/ocr"}


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class DemoRun:
    """One demo run and everything it left in its output folder."""

    def __init__(self, out, proc):
        self.out = out
        self.proc = proc
        self.events = [json.loads(line) for line in open(os.path.join(out, "events.jsonl"))]
        with open(os.path.join(out, "report.json")) as f:
            self.report = json.load(f)
        with open(os.path.join(out, "seed.json")) as f:
            self.seed = json.load(f)

    def of_kind(self, kind):
        return [e for e in self.events if e.get("type") == "event" and e["kind"] == kind]

    def dump_bytes(self):
        blobs = []
        dumps = os.path.join(self.out, "dumps")
        for name in sorted(os.listdir(dumps)):
            with open(os.path.join(dumps, name), "rb") as f:
                blobs.append(f.read())
        return b"".join(blobs)


@pytest.fixture(scope="module", params=[("pymysql", "h11"), ("mysqldb", "httptools")],
                ids=["pymysql-h11", "mysqldb-httptools"])
def demo(request, servers, tmp_path_factory):
    driver, server = request.param
    out = str(tmp_path_factory.mktemp("demo-%s-%s" % (driver, server)))
    env = dict(os.environ)
    env.update({
        "BUILD": str(ptenv.BUILD), "PERFTAP_BUILD": str(ptenv.BUILD),
        "PERFTAP_SERVERS_DIR": str(ptenv.SERVERS_DIR),
        "OUT": out, "DURATION": str(LOAD_SECONDS), "DRIVER": driver,
        "SERVER": server, "MODEL_DELAY": str(MODEL_DELAY), "N_FIRS": str(N_FIRS),
        "BACKEND_PORT": str(_free_port()), "MODEL_PORT": str(_free_port()),
        "NO_COLOR": "1",
    })
    proc = subprocess.run(["bash", str(ptenv.REPO / "scripts" / "demo.sh")],
                          env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, ptenv.describe(proc)
    return DemoRun(out, proc)


def test_every_endpoint_appears_as_a_route(demo):
    routes = {e["text"] for e in demo.of_kind("http_in")}
    assert ROUTES <= routes, "missing: %s" % (ROUTES - routes)
    # Ids never stand in a route: every path is one of the templates.
    assert routes <= ROUTES, "unexpected routes: %s" % (routes - ROUTES)


def test_http_counts_equal_locust_counts(demo):
    want = Counter()
    with open(os.path.join(demo.out, "locust_stats.csv"), newline="") as f:
        for row in csv.DictReader(f):
            if row["Name"] != "Aggregated":
                want["%s %s" % (row["Type"], row["Name"])] += int(row["Request Count"])
    got = Counter(e["text"] for e in demo.of_kind("http_in"))
    assert sum(want.values()) > 100, "too little load to compare"
    assert got == want
    assert "HTTP requests per route" in demo.proc.stdout


def test_sql_classes_all_appear(demo):
    classes = {row["key"].split(":", 1)[1]: row["count"]
               for row in demo.report["sql_classes"]}
    missing = {c for c in SQL_CLASSES if classes.get(c, 0) == 0}
    assert not missing, "classes seen: %s" % classes


def test_redis_hit_rate_is_computed_per_pattern(demo):
    patterns = {p["pattern"]: p for p in demo.report["cache"]["patterns"]}
    record = patterns["fir:record:*"]
    assert record["hits"] > 0 and record["misses"] > 0
    assert record["hit_rate"] == pytest.approx(
        record["hits"] / (record["hits"] + record["misses"]))
    # The demo's cache-aside reads: a hit is much cheaper than a miss (which
    # goes to MariaDB and then SETEX); the summary prints both.
    fir = [op for op in demo.report["operations"]
           if op["kind"] == "get_or_fetch" and op["text"] == "fir:record:*"]
    assert fir and fir[0]["cache"]["hit"]["count"] > 0 and fir[0]["cache"]["miss"]["count"] > 0
    assert "Cached versus uncached reads" in demo.proc.stdout


def test_model_calls_appear_with_their_delay(demo):
    calls = demo.of_kind("http_out")
    seen = Counter(e["text"].split("/", 1)[1] for e in calls)
    assert {"/" + r for r in seen} >= MODEL_ROUTES, seen
    for e in calls:
        # The stub sleeps MODEL_DELAY before it answers, and on loopback no
        # call should take a second longer.  Event-loop timers may fire up
        # to a millisecond early (uvloop rounds to ms), hence the 1% slack.
        assert 0.99 * MODEL_DELAY * 1e9 <= e["duration_ns"] < (MODEL_DELAY + 1.0) * 1e9, e
        assert e["status"] == 200


def test_process_spends_most_of_its_time_upstream(demo):
    process = [e for e in demo.of_kind("http_in") if e["text"] == "POST /process"]
    upstream = [e for e in demo.of_kind("http_out")]
    assert process and upstream
    slow = [e for e in process if e["duration_ns"] >= 0.99 * MODEL_DELAY * 1e9]
    # Half the prompts repeat, so some /process calls hit the model cache
    # and skip the upstream call; the others wait for it.
    assert len(slow) >= len(process) // 4


def test_no_literal_of_the_seed_or_the_requests_reaches_the_dump(demo):
    data = demo.dump_bytes()
    assert len(data) > 4096
    # Body canaries are random per request; every one starts with "cnry".
    assert b"cnry" not in data
    leaked = [s for s in demo.seed["firs"] + demo.seed["sessions"] + demo.seed["canaries"]
              if s.encode() in data]
    assert not leaked, leaked[:5]
    # User ids travel in query strings, SQL literals and cache keys.
    users = [u for u in demo.seed["users"] if u.encode() in data]
    assert not users, users[:5]
    assert not re.search(rb"FIR-[0-9a-f]{8}-\d{14}", data)
    header = [e for e in demo.events if e.get("type") == "dump"]
    assert header and not any(h["raw"] for h in header)


def test_sessions_sqlite_statements_appear(demo):
    # The sessions live in SQLite (scripts/demo/backend.py): its reads,
    # writes and commits are events and report rows of their own.
    texts = Counter(e["text"] for e in demo.of_kind("sqlite"))
    read = "select session_id,step,user_id,status from sessions where session_id=?"
    assert texts[read] > 0, texts
    assert texts["commit"] > 0
    assert any(t.startswith("update sessions set step=?") for t in texts), texts
    rows = [op for op in demo.report["operations"] if op["kind"] == "sqlite"]
    assert {op["text"] for op in rows} >= {read, "commit"}
    assert sum(op["count"] for op in rows) == sum(texts.values())
