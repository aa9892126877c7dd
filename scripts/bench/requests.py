"""requests.py -- what request attribution costs: a threaded backend
(http.server, one Redis GET and one SQL query per request, as the tagged
test's) driven by 15 keep-alive clients, plain / shim with
PERFTAP_REQUESTS=off / shim with PERFTAP_REQUESTS=on, alternating.

Prints one line per run: variant round metric value (rps, cpu_us_per_req:
the server's user+system CPU over the requests it served).

Usage: python3 requests.py LIB DUMPDIR ROUNDS SECONDS [BACKEND [KNOB]]
(servers' PERFTAP_* variables in the environment).  BACKEND: threaded
(default), or asgi: the tagged test's uvicorn h11 backend doing its work
with asyncio.to_thread, as AFIRGen does (attribution by task context).
KNOB: requests (default: the variants off/on are PERFTAP_REQUESTS), or
stacks (off/on are PERFTAP_STACKS=off/all: a stack with every event)."""

import os
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "tests", "integration"))
import test_requests as tr  # the tagged backend, reused as is
from runs import alternate, child_env

LIB, DUMPS, ROUNDS, SECONDS = sys.argv[1], sys.argv[2], int(sys.argv[3]), \
    float(sys.argv[4])
BACKEND = sys.argv[5] if len(sys.argv) > 5 else "threaded"
KNOB = sys.argv[6] if len(sys.argv) > 6 else "requests"


def cpu_ticks(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])


def run(variant):
    settings = None
    if variant != "plain":
        settings = ({"PERFTAP_STACKS": "all" if variant == "on" else "off"}
                    if KNOB == "stacks" else {"PERFTAP_REQUESTS": variant})
    env = child_env(LIB, DUMPS, settings)
    if BACKEND == "asgi":
        env["TAGTEST_MODE"] = "to_thread"
        argv = [sys.executable, "-c", tr.ASGI, "asyncio", "h11"]
    else:
        argv = [sys.executable, "-c", tr.THREADED]
    p = subprocess.Popen(argv, env=env, stdout=subprocess.PIPE, text=True)
    port = int(p.stdout.readline())
    import httpx
    done = [0] * 15
    stop = time.monotonic() + SECONDS
    def client(i):
        with httpx.Client(base_url=f"http://127.0.0.1:{port}") as c:
            j = 0
            while time.monotonic() < stop:
                c.get(f"/a/T{i}x{j}Z")
                done[i] += 1
                j += 1
    c0 = cpu_ticks(p.pid)
    t0 = time.monotonic()
    ts = [threading.Thread(target=client, args=(i,)) for i in range(15)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    wall = time.monotonic() - t0
    c1 = cpu_ticks(p.pid)
    p.terminate()
    p.wait()
    n = sum(done)
    tick = os.sysconf("SC_CLK_TCK")
    return n / wall, (c1 - c0) / tick * 1e6 / max(n, 1)


alternate(ROUNDS, ["plain", "off", "on"], run, ["rps", "cpu_us_per_req"])
