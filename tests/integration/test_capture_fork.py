"""test_capture_fork.py -- a forked child's commands on a connection it
inherited from its parent (issue 9 section 3): the child goes on decoding
its copy, into its own dump, when the parent was between operations at the
fork; parent-then-child and child-only use, Redis and MySQL, counted
exactly as the servers count them."""

import capture_truth as ct
import ptenv

REDIS = r"""
import os, socket, sys
mode = sys.argv[1]
s = socket.create_connection((os.environ["PERFTAP_REDIS_HOST"],
                              int(os.environ["PERFTAP_REDIS_PORT"])))
def ping():
    s.sendall(b"*1\r\n$4\r\nPING\r\n")
    assert s.recv(64) == b"+PONG\r\n"
if mode == "parent-then-child":
    ping()
pid = os.fork()
if pid == 0:
    ping()
    s.sendall(b"*2\r\n$3\r\nGET\r\n$8\r\nfork:key\r\n")
    assert s.recv(64) == b"$-1\r\n"
    os._exit(0)
_, st = os.waitpid(pid, 0)
assert st == 0, st
if mode == "parent-then-child":
    ping()
s.close()
"""

MYSQL = r"""
import os, sys
import pymysql
mode = sys.argv[1]
c = pymysql.connect(host=os.environ["PERFTAP_MYSQL_HOST"],
                    port=int(os.environ["PERFTAP_MYSQL_PORT"]),
                    user=os.environ["PERFTAP_MYSQL_USER"],
                    password=os.environ["PERFTAP_MYSQL_PASSWORD"],
                    database=os.environ["PERFTAP_MYSQL_DB"], autocommit=True)
cur = c.cursor()
if mode == "parent-then-child":
    cur.execute("SELECT 1")
pid = os.fork()
if pid == 0:
    cur.execute("SELECT 2")
    cur.execute("SELECT 3")
    os._exit(0)
_, st = os.waitpid(pid, 0)
assert st == 0, st
if mode == "parent-then-child":
    cur.execute("SELECT 4")
c.close()
"""


def _head_counts(recs, name):
    return sum(r["counters"].get(name, 0) for r in recs
               if r.get("type") == "dump")


def _drops(recs):
    return sum(sum(r["drops"].values()) for r in recs
               if r.get("type") == "dump")


def _redis(servers, dump_dir, mode):
    snap = ct.redis_snapshot(servers)
    p = ptenv.run_traced([ptenv.PYTHON, "-c", REDIS, mode], dump_dir)
    assert p.returncode == 0, ptenv.describe(p)
    assert len(ptenv.dumps(dump_dir)) == 2, "parent's and child's dumps"
    recs = ptenv.read_events(dump_dir)
    evs = ct.redis_truth_after(servers, snap, recs)
    assert _drops(recs) == 0
    return evs


def test_redis_parent_then_child(servers, dump_dir):
    evs = _redis(servers, dump_dir, "parent-then-child")
    assert sorted(e["text"].split()[0] for e in evs) == [
        "GET", "PING", "PING", "PING"]


def test_redis_child_only(servers, dump_dir):
    evs = _redis(servers, dump_dir, "child-only")
    assert len(evs) == 2, evs


def _mysql(servers, dump_dir, mode, selects):
    before = ptenv.mysql_status(servers)
    p = ptenv.run_traced([ptenv.PYTHON, "-c", MYSQL, mode], dump_dir)
    assert p.returncode == 0, ptenv.describe(p)
    after = ptenv.mysql_status(servers)
    recs = ptenv.read_events(dump_dir)
    evs = [e for e in ptenv.events(recs, "mysql")
           if e["text"].lower().startswith("select")]
    d = ptenv.delta(before, after)
    # the server's own count, less the SHOW GLOBAL STATUS of `after`
    assert len(evs) == d["Com_select"] == selects, (evs, d["Com_select"])
    assert _drops(recs) == 0
    assert _head_counts(recs, "conn_fork_midop") == 0
    return evs


def test_mysql_parent_then_child(servers, dump_dir):
    _mysql(servers, dump_dir, "parent-then-child", 4)


def test_mysql_child_only(servers, dump_dir):
    _mysql(servers, dump_dir, "child-only", 2)
