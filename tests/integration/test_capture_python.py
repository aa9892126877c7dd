"""test_capture_python.py -- Python clients under Debian's /usr/bin/python3
through the shim: MySQLdb (libmariadb underneath) and redis-py pipelines,
transactions and pub/sub.  Counts equal the servers' own (Questions /
Com_*, INFO commandstats, keyspace hits and misses); each operation's
wall time, measured by the script around the call, bounds its events."""

import capture_truth as ct
import ptenv

# Timing helper shared by the workloads: "op TID NAME START LAT" on stderr,
# the format of tests/clients/oplog.h (time.monotonic_ns is
# CLOCK_MONOTONIC, the shim's clock).
TIMED = r"""
import os, sys, threading, time
_ops = []
def timed(name, f, *a, **kw):
    t = time.monotonic_ns()
    try:
        return f(*a, **kw)
    finally:  # a call that raises is timed too
        _ops.append((threading.get_native_id(), name, t,
                     time.monotonic_ns() - t))
def print_ops():
    for o in _ops:
        print("op %d %s %d %d" % o, file=sys.stderr)
"""

MYSQLDB = TIMED + r"""
import MySQLdb
unix = sys.argv[1] == "unix"
""" + ptenv.MYSQL_CONNECT_KW + r"""
c = timed("connect", MySQLdb.connect, **kw)
cur = c.cursor()
timed("drop", cur.execute, "DROP TABLE IF EXISTS capp_t")
timed("create", cur.execute, "CREATE TABLE capp_t (id INT PRIMARY KEY, v TEXT)")
for i in range(30):
    timed("insert", cur.execute, "INSERT INTO capp_t VALUES (%s, %s)",
          (i, "v" * i))
    timed("select", cur.execute, "SELECT v FROM capp_t WHERE id = %s", (i,))
    print(len(cur.fetchall()[0][0]))
timed("executemany", cur.executemany, "INSERT INTO capp_t VALUES (%s, %s)",
      [(100 + i, "x") for i in range(10)])
print(cur.rowcount)
try:
    timed("bad", cur.execute, "SELECT * FROM capp_no_such")
except MySQLdb.Error as e:
    print("error", e.args[0])
timed("drop", cur.execute, "DROP TABLE capp_t")
c.close()
print_ops()
"""


def test_mysqldb_counts_match_server_status(servers, dump_dir):
    for mode in ("tcp", "unix"):
        d = ct.fresh_dir(dump_dir, mode)
        before = ptenv.mysql_status(servers)
        p = ptenv.run_traced([ptenv.PYTHON, "-c", MYSQLDB, mode], d,
                             timeout=60)
        assert p.returncode == 0, ptenv.describe(p)
        after = ptenv.mysql_status(servers)
        recs = ptenv.read_events(d)
        evs = ct.assert_mysql_truth(before, after, recs)
        ct.assert_within_ops(evs, ct.oplog(p.stderr))
        assert p.stdout.splitlines()[-2:] == ["10", "error 1146"], p.stdout
        bulk = [e for e in evs if e["text"].startswith("insert")
                and e["rows"] == 10]
        assert len(bulk) == 1, "executemany: one multi-row INSERT"
        assert [e["status"] for e in evs if e["outcome"] == "error"] == [
            1146]


REDISPY = TIMED + r"""
import redis
unix = sys.argv[1] == "unix"
if unix:
    mk = lambda: redis.Redis(unix_socket_path=os.environ["PERFTAP_REDIS_SOCKET"])
else:
    mk = lambda: redis.Redis(host=os.environ["PERFTAP_REDIS_HOST"],
                             port=int(os.environ["PERFTAP_REDIS_PORT"]))
r, sub = mk(), mk()
p = r.pipeline(transaction=False)
for i in range(100):
    p.set(f"capp:{i}", i)
    p.get(f"capp:{i}")
    p.get(f"capp:none:{i}")
print(len(timed("pipeline", p.execute)))
print(timed("mget", r.mget, [f"capp:{i}" for i in range(5)] + ["capp:x"]))
t = r.pipeline(transaction=True)
t.set("capp:tx", 1)
t.incr("capp:tx")
t.expire("capp:tx", 60)
print(timed("transaction", t.execute))
ps = sub.pubsub()
def sub_and_confirm(*chans):
    ps.subscribe(*chans)
    return [ps.get_message(timeout=5)["type"] for _ in chans]
print(timed("subscribe", sub_and_confirm, "capp:a", "capp:b"))
for i in range(10):
    print(timed("publish", r.publish, "capp:a" if i % 2 else "capp:b",
                f"m{i}"))
    print(ps.get_message(timeout=5)["data"])
def unsub_and_confirm():
    ps.unsubscribe()
    return sorted(ps.get_message(timeout=5)["type"] for _ in range(2))
print(timed("unsubscribe", unsub_and_confirm))
timed("delete", r.delete, *[f"capp:{i}" for i in range(100)], "capp:tx")
print_ops()
"""


def test_redis_py_pipelines_transactions_pubsub_match_server(servers,
                                                             dump_dir):
    for mode in ("tcp", "unix"):
        d = ct.fresh_dir(dump_dir, mode)
        snap = ct.redis_snapshot(servers)
        p = ptenv.run_traced([ptenv.PYTHON, "-c", REDISPY, mode], d,
                             timeout=60)
        assert p.returncode == 0, ptenv.describe(p)
        recs = ptenv.read_events(d)
        evs = ct.redis_truth_after(servers, snap, recs)
        ct.assert_within_ops(evs, ct.oplog(p.stderr))
        out = p.stdout.splitlines()
        assert out[0] == "300" and out[2] == "[True, 2, True]", out
        assert out.count("1") == 10, "each PUBLISH reached one subscriber"
        pubs = [e for e in evs if e["text"].startswith("PUBLISH")]
        assert len(pubs) == 10 and all(e["rows"] >= 0 for e in pubs)
        ex = [e for e in evs if e["text"].startswith("EXEC")]
        assert len(ex) == 1 and ex[0]["flags"] & 32, ex
