"""test_capture_mysqldb.py -- MySQLdb (mysqlclient: the _mysql C extension,
dlopen'ed, linking libmariadb) through the libmysqlclient API hooks
(shim/hooks_mysql.c): every statement once, marked PT_EV_API, equal to
MariaDB's own Questions / Com_* deltas (capture_truth.py); a connection
with the compressed protocol counted exactly; a use_result cursor
(SSCursor) timed to its last row; connect events with their time.  The
socket decoder never sees these connections (no double count)."""

import re
import shutil
import subprocess

import pytest

import capture_truth as ct
import ptenv

API = 128  # PT_EV_API

WORKLOAD = r"""
import os, sys, time, MySQLdb, MySQLdb.cursors
unix, compress, n = sys.argv[1] == "unix", sys.argv[2] == "1", int(sys.argv[3])
kw = dict(user=os.environ["PERFTAP_MYSQL_USER"],
          passwd=os.environ["PERFTAP_MYSQL_PASSWORD"],
          db=os.environ["PERFTAP_MYSQL_DB"], charset="utf8mb4")
if unix:
    kw["unix_socket"] = os.environ["PERFTAP_MYSQL_SOCKET"]
else:
    kw["host"] = os.environ["PERFTAP_MYSQL_HOST"]
    kw["port"] = int(os.environ["PERFTAP_MYSQL_PORT"])
if compress:
    kw["compress"] = 1
c = MySQLdb.connect(**kw)
cur = c.cursor()
cur.execute("DROP TABLE IF EXISTS cdb_t")
cur.execute("CREATE TABLE cdb_t (id INT PRIMARY KEY, v TEXT)")
for i in range(n):
    cur.execute("INSERT INTO cdb_t VALUES (%s, %s)", (i, "v" * (i * 50)))
    cur.execute("SELECT v FROM cdb_t WHERE id = %s", (i,))
    assert len(cur.fetchall()[0][0]) == i * 50
cur.execute("UPDATE cdb_t SET v = 'x' WHERE id < %s", (n // 2,))
print("updated", cur.rowcount)
c.commit()
try:
    cur.execute("SELECT * FROM no_such_table")
except MySQLdb.Error as e:
    print("error", e.args[0])
ss = c.cursor(MySQLdb.cursors.SSCursor)
ss.execute("SELECT seq FROM seq_1_to_100")
t_sent = time.monotonic_ns()
rows, t_last = 0, t_sent
while ss.fetchone() is not None:
    t_last = time.monotonic_ns()
    rows += 1
    time.sleep(0.001)
ss.close()
print("ss rows", rows, "to_last_row_ns", t_last - t_sent)
cur.execute("DROP TABLE cdb_t")
c.close()
"""


def _run(servers, dump_dir, mode, compress, n=20):
    before = ptenv.mysql_status(servers)
    p = ptenv.run_traced([ptenv.PYTHON, "-c", WORKLOAD, mode, compress,
                          str(n)], dump_dir, timeout=60)
    assert p.returncode == 0, ptenv.describe(p)
    after = ptenv.mysql_status(servers)
    recs = ptenv.read_events(dump_dir)
    evs = ct.assert_mysql_truth(before, after, recs)
    return p, recs, evs


@pytest.mark.parametrize("mode,compress", [("tcp", "0"), ("unix", "0"),
                                           ("tcp", "1")])
def test_mysqldb_every_statement_once_through_the_api(servers, dump_dir,
                                                      mode, compress):
    p, recs, evs = _run(servers, dump_dir, mode, compress)
    m = re.fullmatch(r"updated 10\nerror 1146\n"
                     r"ss rows 100 to_last_row_ns (\d+)\n", p.stdout)
    assert m, p.stdout
    assert all(e["flags"] & API for e in evs), [
        e for e in evs if not e["flags"] & API]
    conns = ct.mysql_connections(recs)
    assert len(conns) == 1 and conns[0]["auth_ns"] > 0, conns
    connects = [e for e in evs if e["text"] == "CONNECT"]
    assert len(connects) == 1 and connects[0]["duration_ns"] > 0, connects
    work = [e for e in evs if "cdb_t" in e["text"]]
    # DROP IF EXISTS, CREATE, n x (INSERT, SELECT), UPDATE, DROP
    assert len(work) == 2 + 2 * 20 + 1 + 1, work
    sel = [e for e in work if e["text"].startswith("select v")]
    assert all(e["rows"] == 1 for e in sel), sel
    assert [e["status"] for e in evs if e["outcome"] == "error"] == [1146]
    # The SSCursor: one event, lasting at least to the client's last row.
    ss = [e for e in evs if e["text"].startswith("select seq")]
    assert len(ss) == 1 and ss[0]["rows"] == 100, ss
    assert ss[0]["duration_ns"] >= int(m.group(1)) >= 99 * 10**6, ss
    head = [r for r in recs if r.get("type") == "dump"][0]
    assert sum(head["drops"].values()) == 0, head["drops"]
    # The socket decoder saw the handshake negotiate compression (ground
    # truth that the protocol was compressed) and left it to the API.
    assert head["counters"]["conn_compressed"] == int(compress), head



@pytest.mark.parametrize("test", ["oltp_read_only", "oltp_read_write"])
def test_sysbench_counts_equal_server_no_double_count(servers, dump_dir,
                                                      test):
    """sysbench (libmariadb: mysql_stmt_execute for its statements,
    mysql_real_query for BEGIN/COMMIT) under the shim: the dump's
    statements equal the server's Com_* / Questions deltas, every one an
    API event (the socket decoder never counts them a second time)."""
    sb = shutil.which("sysbench")
    if not sb:
        pytest.skip("sysbench not installed")
    args = [f"--mysql-host={servers['PERFTAP_MYSQL_HOST']}",
            f"--mysql-port={servers['PERFTAP_MYSQL_PORT']}",
            f"--mysql-user={servers['PERFTAP_MYSQL_USER']}",
            f"--mysql-password={servers['PERFTAP_MYSQL_PASSWORD']}",
            f"--mysql-db={servers['PERFTAP_MYSQL_DB']}",
            "--tables=1", "--table-size=200"]
    plain = ptenv.plain_env()
    subprocess.run([sb, test, *args, "cleanup"], env=plain,
                   capture_output=True, timeout=60)
    prep = subprocess.run([sb, test, *args, "prepare"], env=plain,
                          capture_output=True, text=True, timeout=60)
    assert prep.returncode == 0, prep.stderr
    try:
        before = ptenv.mysql_status(servers)
        p = ptenv.run_traced([sb, test, *args, "--threads=2",
                              "--events=100", "--time=0",
                              "--report-interval=0", "run"], dump_dir,
                             timeout=120)
        assert p.returncode == 0, ptenv.describe(p)
        after = ptenv.mysql_status(servers)
    finally:
        subprocess.run([sb, test, *args, "cleanup"], env=plain,
                       capture_output=True, timeout=60)
    recs = ptenv.read_events(dump_dir)
    evs = ct.assert_mysql_truth(before, after, recs)
    assert all(e["flags"] & API for e in evs), [
        e for e in evs if not e["flags"] & API]
    execs = [e for e in evs if e["flags"] & 16]
    # 100 transactions of 10 point selects and 4 range selects at least
    assert len(execs) >= 100 * 14, len(execs)
    # Two writers on 200 rows may deadlock (sysbench retries): those are
    # the server's errors, carried with their codes.
    assert all(e["outcome"] == "ok" or e["status"] in (1213, 1205)
               for e in evs), [e for e in evs if e["outcome"] != "ok"]


MIXED = r"""
import os, MySQLdb, pymysql
kw = dict(user=os.environ["PERFTAP_MYSQL_USER"],
          password=os.environ["PERFTAP_MYSQL_PASSWORD"],
          database=os.environ["PERFTAP_MYSQL_DB"],
          host=os.environ["PERFTAP_MYSQL_HOST"],
          port=int(os.environ["PERFTAP_MYSQL_PORT"]))
a = MySQLdb.connect(**kw)          # libmariadb: the API hooks
b = pymysql.connect(autocommit=True, **kw)  # pure Python: socket bytes
ca, cb = a.cursor(), b.cursor()
for i in range(15):
    ca.execute("SELECT %s AS from_mysqldb", (i,))
    ca.fetchall()
    cb.execute("SELECT %s AS from_pymysql", (i,))
    cb.fetchall()
a.close()
b.close()
"""


def test_api_and_socket_connections_in_one_process_each_counted_once(
        servers, dump_dir):
    """One process, a MySQLdb and a PyMySQL connection to the same server,
    interleaved: the first is counted through the API, the second through
    its socket bytes, each statement once (Questions / Com_select)."""
    before = ptenv.mysql_status(servers)
    p = ptenv.run_traced([ptenv.PYTHON, "-c", MIXED], dump_dir, timeout=60)
    assert p.returncode == 0, ptenv.describe(p)
    after = ptenv.mysql_status(servers)
    recs = ptenv.read_events(dump_dir)
    evs = ct.assert_mysql_truth(before, after, recs)
    api = [e for e in evs if "from_mysqldb" in e["text"]]
    sock = [e for e in evs if "from_pymysql" in e["text"]]
    assert len(api) == 15 and all(e["flags"] & API for e in api), api
    assert len(sock) == 15, sock
    assert not any(e["flags"] & API for e in sock), sock
    assert all(e["bytes_in"] > 0 for e in sock), sock
    assert len({e["conn_id"] for e in api + sock}) == 2


RESET = r"""
import os, MySQLdb
kw = dict(user=os.environ["PERFTAP_MYSQL_USER"],
          passwd=os.environ["PERFTAP_MYSQL_PASSWORD"],
          db=os.environ["PERFTAP_MYSQL_DB"],
          host=os.environ["PERFTAP_MYSQL_HOST"],
          port=int(os.environ["PERFTAP_MYSQL_PORT"]))
c = MySQLdb.connect(**kw)
c.ping()
c.select_db(kw["db"])
c.change_user(kw["user"], kw["passwd"], kw["db"])
cur = c.cursor()
cur.execute("SELECT 1")
print(cur.fetchall())
c.close()
"""


def test_mysqldb_commands_without_sql_are_events(servers, dump_dir):
    """mysql_ping, mysql_select_db, mysql_change_user: commands the socket
    decoder would have seen, one API event each (the socket is off)."""
    before = ptenv.mysql_status(servers)
    p = ptenv.run_traced([ptenv.PYTHON, "-c", RESET], dump_dir, timeout=60)
    assert p.returncode == 0, ptenv.describe(p)
    after = ptenv.mysql_status(servers)
    recs = ptenv.read_events(dump_dir)
    evs = ct.assert_mysql_truth(before, after, recs)
    texts = [e["text"] for e in evs]
    for t in ("PING", "INIT_DB", "CHANGE_USER", "select ?"):
        assert texts.count(t) == 1, texts
    assert all(e["flags"] & API for e in evs), evs
