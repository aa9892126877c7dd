"""runs.py -- what scripts/bench/requests.py and async_client.py share: the
environment of one run of a Python child (plain, or with the shim, a fresh
private dump folder and the run's settings), and the alternating rounds
that make the side-by-side figures."""

import os
import shutil


def child_env(lib, dumps, settings=None):
    """settings None: plain.  Else LD_PRELOAD=lib, PERFTAP_DIR=dumps
    (emptied), quiet, the servers' ports as tracked ports, and settings."""
    env = dict(os.environ)
    if settings is None:
        return env
    shutil.rmtree(dumps, ignore_errors=True)
    os.makedirs(dumps, mode=0o700)
    env.update(LD_PRELOAD=lib, PERFTAP_DIR=dumps, PERFTAP_QUIET="1",
               PERFTAP_REDIS_PORTS=env["PERFTAP_REDIS_PORT"], **settings)
    if "PERFTAP_MYSQL_PORT" in env:
        env["PERFTAP_MYSQL_PORTS"] = env["PERFTAP_MYSQL_PORT"]
    return env


def alternate(rounds, variants, run, metrics):
    """Run every variant each round, in reverse order on even rounds (so
    that a drifting machine weighs on both sides), and print one
    "variant round metric value" line per metric of run(variant)'s
    tuple, in the order of metrics."""
    for r in range(1, rounds + 1):
        order = list(variants) if r % 2 else list(reversed(variants))
        for v in order:
            for name, value in zip(metrics, run(v)):
                print(v, r, name, f"{value:.1f}", flush=True)
