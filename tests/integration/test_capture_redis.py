"""test_capture_redis.py -- Redis traffic through the shim: redis-cli and
redis-py over TCP and over the Unix socket; the events the dump holds
match what Redis itself counted (INFO commandstats)."""

import capture_truth as ct
import ptenv

WORKLOAD = r"""
import sys, redis
unix = sys.argv[1] == "unix"
n = int(sys.argv[2])
import os
if unix:
    r = redis.Redis(unix_socket_path=os.environ["PERFTAP_REDIS_SOCKET"])
else:
    r = redis.Redis(host=os.environ["PERFTAP_REDIS_HOST"],
                    port=int(os.environ["PERFTAP_REDIS_PORT"]))
out = []
for i in range(n):
    r.set(f"cap:item:{i}", i)
    out.append(r.get(f"cap:item:{i}"))
    out.append(r.get(f"cap:missing:{i}"))
    r.incr("cap:counter")
out.append(r.mget([f"cap:item:{i}" for i in range(3)] + ["cap:nope"]))
p = r.pipeline(transaction=False)
for i in range(5):
    p.exists(f"cap:item:{i}")
out.append(p.execute())
r.delete(*[f"cap:item:{i}" for i in range(n)], "cap:counter")
print(out)
r.close()
"""


def _run_and_compare(servers, dump_dir, argv, env=None):
    """Run argv traced into dump_dir (fresh, empty) and compare."""
    ptenv.redis_reset_stats(servers)
    before = ptenv.redis_commandstats(servers)
    traced = ptenv.run_traced(argv, dump_dir, env=env, timeout=60)
    assert traced.returncode == 0, ptenv.describe(traced)
    after = ptenv.redis_commandstats(servers)
    truth = {k: v for k, v in ptenv.delta(before, after).items()
             if v and k != "info"}
    seen = ct.redis_words(ptenv.read_events(dump_dir))
    assert dict(seen) == truth, (seen, truth)
    return traced


def test_redis_py_tcp_counts_match_commandstats(servers, dump_dir):
    _run_and_compare(servers, dump_dir,
                     [ptenv.PYTHON, "-c", WORKLOAD, "tcp", "20"])


def test_redis_py_unix_socket_counts_match_commandstats(servers, dump_dir):
    # No port to go by: the protocol is recognised from the first bytes.
    _run_and_compare(servers, dump_dir,
                     [ptenv.PYTHON, "-c", WORKLOAD, "unix", "20"])


def test_redis_cli_tcp_and_unix(servers, dump_dir):
    host, port = servers["PERFTAP_REDIS_HOST"], servers["PERFTAP_REDIS_PORT"]
    _run_and_compare(servers, ct.fresh_dir(dump_dir, "tcp"),
                     ["redis-cli", "-h", host, "-p", port, "set", "cap:k",
                      "v"])
    unix = ct.fresh_dir(dump_dir, "unix")
    _run_and_compare(servers, unix,
                     ["redis-cli", "-s", servers["PERFTAP_REDIS_SOCKET"],
                      "get", "cap:k"])
    recs = ptenv.read_events(unix)
    gets = ptenv.events(recs, "redis", text="GET cap:k")
    assert len(gets) == 1 and gets[0]["cache_hits"] == 1, gets


def test_redis_sniffed_without_port_list(servers, dump_dir):
    _run_and_compare(servers, dump_dir,
                     [ptenv.PYTHON, "-c", WORKLOAD, "tcp", "5"],
                     env={"PERFTAP_REDIS_PORTS": ""})


def test_events_are_timed_and_attributed_to_their_connection(servers,
                                                             dump_dir):
    _run_and_compare(servers, dump_dir,
                     [ptenv.PYTHON, "-c", WORKLOAD, "tcp", "3"])
    recs = ptenv.read_events(dump_dir)
    opens = {c["conn_id"]: c for c in recs
             if c.get("type") == "conn" and c["event"] == "open"}
    evs = ptenv.events(recs, "redis")
    assert evs
    for ev in evs:
        assert ev["conn_id"] in opens, ev
        assert opens[ev["conn_id"]]["proto"] == "redis"
        assert ev["duration_ns"] > 0, ev
        assert ev["start_ns"] >= opens[ev["conn_id"]]["time_ns"], ev
        assert ev["bytes_out"] > 0 and ev["bytes_in"] > 0, ev
