"""async_client.py -- what call stacks cost an asyncio client: four tasks
of redis.asyncio GETs in one event loop, the replies read by the loop's
callback, so that with stacks on the shim takes each operation's Python
frames at its send (shim/stack.h, "asyncio clients").  Variants, in
alternating order: plain; shim with PERFTAP_STACKS=off; =slow (the
default: every send's stack is taken, kept only for a slow reply); =all.

Prints one line per run: variant round metric value (ops: GETs per second;
cpu_us_per_op: the process's user+system CPU per GET).

Usage: python3 async_client.py LIB DUMPDIR ROUNDS SECONDS
(the servers' PERFTAP_* variables in the environment)."""

import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from runs import alternate, child_env  # noqa: E402

LIB, DUMPS, ROUNDS, SECONDS = sys.argv[1], sys.argv[2], int(sys.argv[3]), \
    float(sys.argv[4])

CLIENT = r'''
import asyncio, os, sys, time
import redis.asyncio

async def worker(r, stop, done, i):
    key = "bench:async:%d" % i
    await r.set(key, "v" * 64)
    n = 0
    while time.monotonic() < stop:
        await r.get(key)
        n += 1
    done.append(n)

async def main(seconds):
    r = redis.asyncio.Redis(host=os.environ["PERFTAP_REDIS_HOST"],
                            port=int(os.environ["PERFTAP_REDIS_PORT"]))
    await r.ping()
    done = []
    c0, t0 = time.process_time(), time.monotonic()
    stop = t0 + seconds
    await asyncio.gather(*(worker(r, stop, done, i) for i in range(4)))
    wall, cpu = time.monotonic() - t0, time.process_time() - c0
    await r.close()
    n = sum(done)
    print(n / wall, cpu * 1e6 / max(n, 1))

asyncio.run(main(float(sys.argv[1])))
'''


def run(variant):
    env = child_env(LIB, DUMPS, None if variant == "plain"
                    else {"PERFTAP_STACKS": variant})
    out = subprocess.run([sys.executable, "-c", CLIENT, str(SECONDS)],
                         env=env, capture_output=True, text=True, check=True)
    ops, cpu = map(float, out.stdout.split())
    return ops, cpu


alternate(ROUNDS, ["plain", "off", "slow", "all"], run, ["ops", "cpu_us_per_op"])
