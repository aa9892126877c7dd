"""test_connections.py -- the report's connections section against the
servers' own counters: a workload that opens N connections and reuses
them, and one that reconnects for every query, for MariaDB (PyMySQL) and
Redis (redis-py).  Counts must equal the server's deltas (`Connections`,
`total_connections_received`), read through one connection the test opened
before the workload (so that reading them adds nothing); connect times must
be positive and below the client's own measurement around its connect."""

import json

import ptenv

N_POOL = 4       # connections of the reusing workload
ROUNDS = 5       # queries per pooled connection
N_CHURN = 10     # queries of the reconnecting workload, one connection each

MYSQL_WORKLOAD = r"""
import json, os, sys, time, pymysql
unix = False
""" + ptenv.MYSQL_CONNECT_KW + r"""
mode, n, rounds = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
kw["connect_timeout"] = 10  # non-blocking connect, then getsockopt
took = []
def connect():
    t = time.perf_counter()
    c = pymysql.connect(**kw)
    took.append(int((time.perf_counter() - t) * 1e9))
    return c
threads = None
if mode == "pool":
    conns = [connect() for _ in range(n)]
    with conns[0].cursor() as cur:  # the server's view, all n open
        cur.execute("SHOW GLOBAL STATUS LIKE 'Threads_connected'")
        threads = int(cur.fetchone()[1])
    for r in range(rounds):
        for c in conns:
            with c.cursor() as cur:
                cur.execute("SELECT %s", (r,))
                cur.fetchall()
    for c in conns:
        c.close()
else:
    for i in range(n):
        c = connect()
        with c.cursor() as cur:
            cur.execute("SELECT %s", (i,))
            cur.fetchall()
        c.close()
print(json.dumps({"took": took, "threads": threads}))
"""

REDIS_WORKLOAD = r"""
import json, os, sys, time, redis
mode, n, rounds = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
host, port = os.environ["PERFTAP_REDIS_HOST"], int(os.environ["PERFTAP_REDIS_PORT"])
took = []
def connect(i):
    # even: blocking connect (no timeout); odd: non-blocking (a timeout)
    kw = {} if i % 2 == 0 else {"socket_connect_timeout": 5}
    t = time.perf_counter()
    # a single-connection client connects in its constructor
    r = redis.Redis(host=host, port=port, single_connection_client=True,
                    **kw)
    took.append(int((time.perf_counter() - t) * 1e9))
    return r
if mode == "pool":
    conns = [connect(i) for i in range(n)]
    for k in range(rounds):
        for r in conns:
            r.set("conns:k", k)
    for r in conns:
        r.close()
        r.connection_pool.disconnect()
else:
    for i in range(n):
        r = connect(i)
        r.get("conns:k")
        # close() alone hands the socket back to the client's pool, which
        # closes it only when collected: after the next connect
        r.close()
        r.connection_pool.disconnect()
print(json.dumps(took))
"""


def mysql_connections(conn):
    with conn.cursor() as cur:
        cur.execute("SHOW GLOBAL STATUS LIKE 'Connections'")
        return int(cur.fetchone()[1])


def redis_connections(r):
    return int(r.info("stats")["total_connections_received"])


def run(workload, mode, n, rounds, dump_dir):
    proc = ptenv.run_traced([ptenv.PYTHON, "-c", workload, mode, str(n),
                             str(rounds)], dump_dir, timeout=90)
    assert proc.returncode == 0, ptenv.describe(proc)
    return json.loads(proc.stdout.strip().splitlines()[-1])


def report_groups(dump_dir, proto):
    proc = ptenv.run_plain([str(ptenv.CMD), "report", "--format", "json",
                            *ptenv.dumps(dump_dir)])
    assert proc.returncode == 0, ptenv.describe(proc)
    doc = json.loads(proc.stdout)
    return [g for g in doc["connections"] if g["proto"] == proto]


def conn_opens(dump_dir, proto):
    recs = ptenv.read_events(dump_dir)
    opens = [r for r in recs if r.get("type") == "conn"
             and r["event"] == "open" and r["proto"] == proto
             and r["role"] == "client"]
    return sorted(opens, key=lambda r: r["conn_id"])


def check_times(opens, took, with_auth):
    assert len(opens) == len(took)
    for rec, client_ns in zip(opens, took):  # both in connect order
        assert rec["connect_ns"] > 0, rec
        spent = rec["connect_ns"] + (rec["auth_ns"] if with_auth else 0)
        assert spent < client_ns, (rec, client_ns)
        if with_auth:
            assert rec["auth_ns"] > 0, rec


def threads_connected(conn):
    with conn.cursor() as cur:
        cur.execute("SHOW GLOBAL STATUS LIKE 'Threads_connected'")
        return int(cur.fetchone()[1])


def check_mysql(servers, mysql_conn, dump_dir, mode, n, rounds):
    before = mysql_connections(mysql_conn)
    idle = threads_connected(mysql_conn)  # this test's own, and any other
    out = run(MYSQL_WORKLOAD, mode, n, rounds, dump_dir)
    took = out["took"]
    opened = mysql_connections(mysql_conn) - before
    assert opened == n
    port = servers["PERFTAP_MYSQL_PORT"]
    groups = [g for g in report_groups(dump_dir, "MySQL")
              if g["peer"].endswith(":" + port)]
    assert len(groups) == 1, groups
    g = groups[0]
    assert g["opened"] == opened and g["closed"] == opened
    assert g["connect_count"] == opened and g["auth_count"] == opened
    assert g["summary"].startswith(f"MySQL {g['peer']}: {opened} connections")
    check_times(conn_opens(dump_dir, "mysql"), took, with_auth=True)
    if out["threads"] is not None:  # open at once, as the server saw it
        assert g["open_at_once_max"] == out["threads"] - idle
    return g


def check_redis(servers, redis_conn, dump_dir, mode, n, rounds):
    redis_conn.ping()  # connected before the first reading
    before = redis_connections(redis_conn)
    took = run(REDIS_WORKLOAD, mode, n, rounds, dump_dir)
    opened = redis_connections(redis_conn) - before
    assert opened == n
    groups = report_groups(dump_dir, "Redis")
    assert len(groups) == 1, groups
    g = groups[0]
    assert g["opened"] == opened and g["closed"] == opened
    assert g["connect_count"] == opened and g["auth_count"] == 0
    check_times(conn_opens(dump_dir, "redis"), took, with_auth=False)
    return g


def test_mysql_pool_reuses_its_connections(servers, mysql_conn, dump_dir):
    g = check_mysql(servers, mysql_conn, dump_dir, "pool", N_POOL, ROUNDS)
    assert g["reopened"] == 0
    assert g["open_at_once_max"] == N_POOL
    assert g["operations"] >= N_POOL * ROUNDS
    assert g["ops_per_connection"] >= ROUNDS


def test_mysql_reconnect_per_query_shows_churn(servers, mysql_conn,
                                               dump_dir):
    g = check_mysql(servers, mysql_conn, dump_dir, "churn", N_CHURN, 0)
    assert g["reopened"] == N_CHURN - 1
    assert g["open_at_once_max"] == 1
    assert g["connecting_share_pct"] > 0


def test_redis_pool_reuses_its_connections(servers, redis_conn, dump_dir):
    g = check_redis(servers, redis_conn, dump_dir, "pool", N_POOL, ROUNDS)
    assert g["reopened"] == 0
    assert g["open_at_once_max"] == N_POOL
    assert g["operations"] == N_POOL * ROUNDS


def test_redis_reconnect_per_query_shows_churn(servers, redis_conn,
                                               dump_dir):
    g = check_redis(servers, redis_conn, dump_dir, "churn", N_CHURN, 0)
    assert g["reopened"] == N_CHURN - 1
    assert g["open_at_once_max"] == 1
    assert g["operations"] == N_CHURN


def test_text_report_says_it_plainly(servers, mysql_conn, dump_dir):
    check_mysql(servers, mysql_conn, dump_dir, "churn", 3, 0)
    proc = ptenv.run_plain([str(ptenv.CMD), "report",
                            *ptenv.dumps(dump_dir)])
    assert proc.returncode == 0, ptenv.describe(proc)
    port = servers["PERFTAP_MYSQL_PORT"]
    line = [s for s in proc.stdout.splitlines()
            if s.strip().startswith("MySQL ") and f":{port}: " in s]
    assert len(line) == 1, proc.stdout
    assert "3 connections, 2 reopened, connect " in line[0]
    assert ", auth " in line[0] and "of query time spent connecting" in line[0]


def test_markdown_and_html_have_the_section(servers, mysql_conn, dump_dir):
    import xml.etree.ElementTree as ET
    check_mysql(servers, mysql_conn, dump_dir, "churn", 2, 0)
    files = ptenv.dumps(dump_dir)
    md = ptenv.run_plain([str(ptenv.CMD), "report", "--format", "markdown",
                          *files])
    assert md.returncode == 0, ptenv.describe(md)
    assert "### Connections" in md.stdout
    assert ": 2 connections, 1 reopened, connect " in md.stdout
    html = ptenv.run_plain([str(ptenv.CMD), "report", "--format", "html",
                            *files])
    assert html.returncode == 0, ptenv.describe(html)
    root = ET.fromstring(html.stdout)  # XHTML: well-formed XML
    text = "".join(root.itertext())
    assert "Connections" in text and "2 connections, 1 reopened" in text


UNIX_WORKLOAD = r"""
import json, os, time, redis
took = []
for i in range(3):
    t = time.perf_counter()
    r = redis.Redis(unix_socket_path=os.environ["PERFTAP_REDIS_SOCKET"],
                    single_connection_client=True)
    took.append(int((time.perf_counter() - t) * 1e9))
    r.ping()
    r.close()
    r.connection_pool.disconnect()
print(json.dumps(took))
"""


def test_unix_socket_connect_is_immediate(servers, redis_conn, dump_dir):
    redis_conn.ping()
    before = redis_connections(redis_conn)
    proc = ptenv.run_traced([ptenv.PYTHON, "-c", UNIX_WORKLOAD], dump_dir,
                            timeout=60)
    assert proc.returncode == 0, ptenv.describe(proc)
    took = json.loads(proc.stdout.strip().splitlines()[-1])
    assert redis_connections(redis_conn) - before == 3
    groups = report_groups(dump_dir, "Redis")
    assert len(groups) == 1, groups
    g = groups[0]
    assert g["peer"] == "unix:" + servers["PERFTAP_REDIS_SOCKET"]
    assert g["opened"] == 3 and g["reopened"] == 2
    # the connect() call's own duration: positive, below the client's
    check_times(conn_opens(dump_dir, "redis"), took, with_auth=False)


HTTP_WORKLOAD = r"""
import http.server, json, threading, time, urllib.request
peers = set()
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        peers.add(self.client_address)  # one per connection accepted
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")
    def log_message(self, *a):
        pass
s = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
threading.Thread(target=s.serve_forever, daemon=True).start()
for i in range(5):
    urllib.request.urlopen("http://127.0.0.1:%d/x/%d" % (s.server_address[1], i),
                           timeout=5).read()
s.shutdown()
print(json.dumps({"port": s.server_address[1], "accepted": len(peers)}))
"""


def test_outbound_http_connections_per_host(dump_dir):
    proc = ptenv.run_traced([ptenv.PYTHON, "-c", HTTP_WORKLOAD], dump_dir,
                            timeout=60)
    assert proc.returncode == 0, ptenv.describe(proc)
    truth = json.loads(proc.stdout.strip().splitlines()[-1])
    groups = report_groups(dump_dir, "HTTP")
    assert [g["peer"] for g in groups] == [f"127.0.0.1:{truth['port']}"]
    g = groups[0]
    assert g["opened"] == truth["accepted"] == 5
    assert g["reopened"] == 4 and g["operations"] == 5
    assert g["connect_count"] == 5 and g["connect_mean_ms"] > 0


FORK_WORKLOAD = r"""
import json, os, sys, pymysql
unix = False
""" + ptenv.MYSQL_CONNECT_KW + r"""
c = pymysql.connect(**kw)
with c.cursor() as cur:
    cur.execute("SELECT 1")
    cur.fetchall()
pid = os.fork()
if pid == 0:  # the child goes on with the inherited connection
    with c.cursor() as cur:
        for i in range(3):
            cur.execute("SELECT %s", (i,))
            cur.fetchall()
    os._exit(0)
os.waitpid(pid, 0)
print(json.dumps({"child": pid}))
"""


def test_forked_child_inherits_without_opening(servers, mysql_conn,
                                               dump_dir):
    before = mysql_connections(mysql_conn)
    proc = ptenv.run_traced([ptenv.PYTHON, "-c", FORK_WORKLOAD], dump_dir,
                            timeout=60)
    assert proc.returncode == 0, ptenv.describe(proc)
    child = json.loads(proc.stdout.strip().splitlines()[-1])["child"]
    assert mysql_connections(mysql_conn) - before == 1
    port = servers["PERFTAP_MYSQL_PORT"]
    groups = {g["pid"]: g for g in report_groups(dump_dir, "MySQL")
              if g["peer"].endswith(":" + port)}
    assert child in groups and len(groups) == 2, groups
    kid = groups.pop(child)
    parent = next(iter(groups.values()))
    assert parent["opened"] == 1 and parent["inherited"] == 0
    assert parent["connect_count"] == 1 and parent["auth_count"] == 1
    assert kid["opened"] == 0 and kid["inherited"] == 1
    assert kid["connect_count"] == 0 and kid["auth_count"] == 0
    assert kid["operations"] == 3
    assert "0 connections (+1 inherited)" in kid["summary"]


FAIL_WORKLOAD = r"""
import json, os, socket, sys, pymysql
unix = False
""" + ptenv.MYSQL_CONNECT_KW + r"""
closed = int(sys.argv[1])
try:  # non-blocking connect (a timeout), refused: SO_ERROR says so
    pymysql.connect(**dict(kw, port=closed, connect_timeout=5))
    refused = False
except pymysql.err.OperationalError:
    refused = True
c = pymysql.connect(**kw)
c.close()
print(json.dumps({"refused": refused}))
"""


def test_failed_connect_is_not_a_connection(servers, mysql_conn, dump_dir):
    s = __import__("socket").socket()
    s.bind(("127.0.0.1", 0))
    closed = s.getsockname()[1]
    s.close()  # nobody listens there now
    before = mysql_connections(mysql_conn)
    ports = f"{servers['PERFTAP_MYSQL_PORT']},{closed}"
    proc = ptenv.run_traced([ptenv.PYTHON, "-c", FAIL_WORKLOAD, str(closed)],
                            dump_dir, env={"PERFTAP_MYSQL_PORTS": ports},
                            timeout=60)
    assert proc.returncode == 0, ptenv.describe(proc)
    assert json.loads(proc.stdout.strip().splitlines()[-1])["refused"]
    assert mysql_connections(mysql_conn) - before == 1
    groups = {g["peer"]: g for g in report_groups(dump_dir, "MySQL")}
    bad = groups.get(f"127.0.0.1:{closed}")
    good = groups[f"127.0.0.1:{servers['PERFTAP_MYSQL_PORT']}"]
    assert good["opened"] == 1 and good["failed_connects"] == 0
    assert bad is not None, groups  # tracked, flagged failed, not opened
    assert bad["opened"] == 0 and bad["failed_connects"] == 1
