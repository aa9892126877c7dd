"""test_stacks_austin.py -- perftap's Python call sites checked against an
independent sampler.  austin (built by scripts/build-austin.sh: Debian 12's
own austin predates CPython 3.11) attaches to the workload while the shim
records it; every call site perftap reports for a slow operation must be a
frame austin saw in that process's sampled stacks, with the same function,
file and line, and seen often enough to be the operation in flight, not a
passing sample."""

import http.server
import subprocess
import threading
import time
from collections import Counter

import ptenv
from test_stacks import _report_json, _sites_of

AUSTIN = ptenv.BUILD / "tools" / "austin"
WORKLOAD = ptenv.REPO / "tests" / "integration" / "austin_workload.py"
ROUNDS = 8  # austin_workload.ROUNDS (not imported: it imports the drivers)
SLOW_S = 0.05


class _SlowHandler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        time.sleep(SLOW_S)
        body = b"slow"
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *a):
        pass


def _austin_frames(path, pid):
    """Counter of (function, file, line) over every frame of every sample
    austin wrote for pid (collapsed stacks: P<pid>;T<tid>;file:func:line;...
    metric)."""
    frames = Counter()
    with open(path, encoding="utf-8", errors="replace") as fh:
        for line in fh:
            if line.startswith("#") or not line.strip():
                continue
            stack, _, _metric = line.rstrip("\n").rpartition(" ")
            parts = stack.split(";")
            if parts[0] != "P%d" % pid:
                continue
            for fr in parts[2:]:
                file, func, lineno = (fr.rsplit(":", 2) + ["", ""])[:3]
                if lineno.isdigit():
                    frames[(func, file, int(lineno))] += 1
    return frames


def _record_while_sampled(dump_dir, tmp_path):
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _SlowHandler)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    port = srv.server_address[1]
    out = tmp_path / "austin.txt"
    env = ptenv.traced_env(dump_dir, {"PERFTAP_HTTP_PORTS": port})
    wl = subprocess.Popen([ptenv.PYTHON, str(WORKLOAD), str(port)], env=env,
                          stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, text=True)
    austin = None
    try:
        assert wl.stdout.readline() == "ready\n", wl.stderr.read()
        # Not traced: austin runs without the shim's environment.
        austin = subprocess.Popen(
            [str(AUSTIN), "-i", "1ms", "-p", str(wl.pid), "-o", str(out)],
            env=ptenv.plain_env(), stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE, text=True)
        time.sleep(0.5)  # attached and sampling before the first operation
        assert austin.poll() is None, austin.stderr.read()
        wl.stdin.write("go\n")
        wl.stdin.flush()
        rest, err = wl.communicate(timeout=120)
        assert wl.returncode == 0 and rest.strip() == "done", err
        # austin ends with the process it sampled.
        assert austin.wait(timeout=30) == 0, austin.stderr.read()
    finally:
        srv.shutdown()
        for p in (wl, austin):
            if p and p.poll() is None:
                p.kill()
                p.wait()
    return _austin_frames(out, wl.pid)


# (kind, text in the operation, the function perftap must name)
SLOW_OPS = [
    ("mysql", "stk_austin_pymysql", "slow_query"),
    ("mysql", "stk_austin_mysqldb", "mysqldb_sleep"),
    ("redis", "BLPOP", "redis_block"),
    ("http_out", "/stk/austin/slow", "http_slow"),
]


def test_python_call_sites_agree_with_austin(servers, dump_dir, tmp_path):
    assert AUSTIN.is_file(), f"{AUSTIN} not built: scripts/build-austin.sh"
    seen = _record_while_sampled(dump_dir, tmp_path)
    assert seen, "austin sampled no Python frame of the workload"
    doc = _report_json(dump_dir)
    for kind, needle, func in SLOW_OPS:
        row = _sites_of(doc, kind, needle)
        assert row["calls"] == row["stacks"] == ROUNDS, row
        sites = [(s["function"], s["file"], s["line"]) for s in row["sites"]]
        assert [s[:2] for s in sites] == [(func, str(WORKLOAD))], sites
        for site in sites:
            # In flight 8 x 50 ms at a 1 ms interval: hundreds of samples
            # show the frame; 20 rules out one that merely passed by.
            assert seen[site] >= 20, (needle, site, seen.most_common(8))
