"""test_capture_tls.py -- TLS traffic through the shim: the plaintext of
SSL_read/SSL_write (libmariadb, redis-cli) and SSL_read_ex/SSL_write_ex
(Python's ssl: redis-py rediss://, PyMySQL with ssl, urllib/httpx over
https, http.server wrapped in ssl) is decoded; the ciphertext is not.

The module starts its own TLS servers on free loopback ports (a
self-signed certificate made with the openssl command): a Redis with
--tls-port only, a MariaDB with --ssl-cert/--ssl-key, and per test a
Python HTTPS server.  Counts in the dump must equal the servers' own
counts (INFO commandstats, Com_select, the HTTPS server's request log),
every event must carry the TLS flag, nothing may be counted undecodable,
and the program's output must be the same with and without the shim."""

import collections
import os
import signal
import socket
import subprocess
import sys
import time

import pytest

import capture_truth as ct
import ptenv

PT_EV_TLS = 1 << 8


# ------------------------------------------------------------ servers ---

def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait(check, what, log, timeout=60):
    deadline = time.monotonic() + timeout
    err = None
    while time.monotonic() < deadline:
        try:
            check()
            return
        except Exception as e:  # not up yet
            err = e
            time.sleep(0.2)
    text = log.read_text() if log.is_file() else ""
    raise RuntimeError(f"{what} did not start: {err}\n{text[-2000:]}")


def _stop(pid):
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    for _ in range(150):
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.1)
    os.kill(pid, signal.SIGKILL)


@pytest.fixture(scope="module")
def tls(tmp_path_factory):
    """Certificate, TLS Redis and TLS MariaDB: a dict of their settings."""
    top = tmp_path_factory.mktemp("tls-servers")
    cert, key = top / "cert.pem", top / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes",
         "-keyout", key, "-out", cert, "-days", "2", "-subj", "/CN=localhost",
         "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost"],
        check=True, capture_output=True)
    procs = []
    env = {"cert": str(cert), "key": str(key)}
    try:
        # Redis: TLS only (--port 0), clients need no certificate.
        rdir = top / "redis"
        rdir.mkdir()
        env["redis_port"] = _free_port()
        rlog = rdir / "log"
        procs.append(subprocess.Popen(
            ["redis-server", "--port", "0",
             "--tls-port", str(env["redis_port"]), "--bind", "127.0.0.1",
             "--tls-cert-file", cert, "--tls-key-file", key,
             "--tls-ca-cert-file", cert, "--tls-auth-clients", "no",
             "--dir", rdir, "--save", "", "--appendonly", "no",
             "--logfile", rlog],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        _wait(lambda: _redis(env).ping(), "TLS Redis", rlog)

        # MariaDB: a fresh datadir, TLS offered (not required).
        mdir = top / "mariadb"
        (mdir / "data").mkdir(parents=True)
        (mdir / "tmp").mkdir()
        mlog = mdir / "log"
        subprocess.run(
            ["mariadb-install-db", "--no-defaults", "--user=root",
             f"--datadir={mdir / 'data'}", "--skip-test-db",
             "--auth-root-authentication-method=normal"],
            check=True, capture_output=True, timeout=120)
        env["mysql_port"] = _free_port()
        env["mysql_socket"] = str(mdir / "sock")
        procs.append(subprocess.Popen(
            ["mariadbd", "--no-defaults", "--user=root",
             f"--datadir={mdir / 'data'}", f"--tmpdir={mdir / 'tmp'}",
             f"--socket={env['mysql_socket']}",
             f"--port={env['mysql_port']}", "--bind-address=127.0.0.1",
             f"--log-error={mlog}", "--skip-log-bin",
             "--performance-schema=OFF", "--skip-name-resolve",
             "--innodb-buffer-pool-size=32M",
             f"--ssl-cert={cert}", f"--ssl-key={key}", f"--ssl-ca={cert}"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))

        def root():
            import pymysql
            return pymysql.connect(unix_socket=env["mysql_socket"],
                                   user="root", connect_timeout=5,
                                   autocommit=True)
        _wait(lambda: root().close(), "TLS MariaDB", mlog)
        c = root()
        with c.cursor() as cur:
            cur.execute("CREATE USER 'pt'@'127.0.0.1' IDENTIFIED BY 'pt'")
            cur.execute("GRANT ALL ON *.* TO 'pt'@'127.0.0.1'")
            cur.execute("CREATE DATABASE tlsdb")
            cur.execute("SHOW VARIABLES LIKE 'have_ssl'")
            assert cur.fetchall()[0][1] == "YES"
        c.close()
        yield env
    finally:
        for p in procs:
            _stop(p.pid)
            p.wait(timeout=60)


def _redis(env):
    import redis
    return redis.Redis(host="127.0.0.1", port=env["redis_port"], ssl=True,
                       ssl_cert_reqs=None, socket_timeout=10)


def _commandstats(env):
    r = _redis(env)
    try:
        r.config_resetstat()
        return {k[len("cmdstat_"):]: v["calls"]
                for k, v in r.info("commandstats").items()}
    finally:
        r.close()


def _commandstats_after(env):
    r = _redis(env)
    try:
        return {k[len("cmdstat_"):]: v["calls"]
                for k, v in r.info("commandstats").items()
                if k not in ("cmdstat_info", "cmdstat_config|resetstat")}
    finally:
        r.close()


def _mysql_status(env):
    """SHOW GLOBAL STATUS over the Unix socket (no TLS, not traced)."""
    import pymysql
    c = pymysql.connect(unix_socket=env["mysql_socket"], user="root",
                        autocommit=True)
    try:
        with c.cursor() as cur:
            cur.execute("SHOW GLOBAL STATUS")
            return {k: ptenv._number(v) for k, v in cur.fetchall()}
    finally:
        c.close()


# ------------------------------------------------------------ helpers ---

def _run_both(argv, dump_dir, env):
    """The program's output with and without the shim, and the records."""
    plain = ptenv.run_plain(argv, env=env, timeout=60)
    assert plain.returncode == 0, ptenv.describe(plain)
    traced = ptenv.run_traced(argv, dump_dir, env=env, timeout=60)
    assert traced.returncode == 0, ptenv.describe(traced)
    assert traced.stdout == plain.stdout
    assert traced.stderr == plain.stderr
    return traced


def _run_traced(argv, dump_dir, env):
    traced = ptenv.run_traced(argv, dump_dir, env=env, timeout=60)
    assert traced.returncode == 0, ptenv.describe(traced)
    return traced


def _clean(records):
    """The dump holds no sign of ciphertext reaching a decoder."""
    heads = [r for r in records if r["type"] == "dump"]
    assert heads
    for h in heads:
        assert h["counters"]["conn_undecodable"] == 0, h["counters"]
        assert h["counters"]["conn_unknown"] == 0, h["counters"]
        assert sum(h["drops"].values()) == 0, h["drops"]


def _all_tls(evs):
    assert evs
    for e in evs:
        assert e["flags"] & PT_EV_TLS, e
        assert e["duration_ns"] > 0, e
        if not e["flags"] & 128:  # API events (libmariadb): no bytes
            assert e["bytes_out"] > 0 and e["bytes_in"] > 0, e


# -------------------------------------------------------------- redis ---

REDIS_WORKLOAD = r"""
import sys, redis
r = redis.Redis(host="127.0.0.1", port=int(sys.argv[1]), ssl=True,
                ssl_cert_reqs=None)
n = int(sys.argv[2])
out = []
for i in range(n):
    r.set(f"tls:item:{i}", "x" * i)
    out.append(r.get(f"tls:item:{i}"))
    out.append(r.get(f"tls:missing:{i}"))
    r.incr("tls:counter")
out.append(r.mget([f"tls:item:{i}" for i in range(3)] + ["tls:nope"]))
p = r.pipeline(transaction=False)
for i in range(5):
    p.exists(f"tls:item:{i}")
out.append(p.execute())
r.delete(*[f"tls:item:{i}" for i in range(n)], "tls:counter")
print(out)
r.close()
"""


def _redis_case(tls, dump_dir, argv, env):
    _commandstats(tls)  # reset
    _run_traced(argv, dump_dir, env)
    truth = {k: v for k, v in _commandstats_after(tls).items() if v}
    recs = ptenv.read_events(dump_dir)
    assert dict(ct.redis_words(recs)) == truth
    _all_tls(ptenv.events(recs, "redis"))
    _clean(recs)
    return recs


def test_rediss_redis_py_by_port_counts_match_commandstats(tls, dump_dir):
    port = str(tls["redis_port"])
    recs = _redis_case(tls, dump_dir,
                       [ptenv.PYTHON, "-c", REDIS_WORKLOAD, port, "20"],
                       {"PERFTAP_REDIS_PORTS": port})
    gets = ptenv.events(recs, "redis", text="GET tls:missing:*")
    assert len(gets) == 20 and all(g["cache_misses"] == 1 for g in gets)
    hits = ptenv.events(recs, "redis", text="GET tls:item:*")
    assert len(hits) == 20 and all(g["cache_hits"] == 1 for g in hits)


def test_rediss_sniffed_from_plaintext_without_port_list(tls, dump_dir):
    port = str(tls["redis_port"])
    _redis_case(tls, dump_dir,
                [ptenv.PYTHON, "-c", REDIS_WORKLOAD, port, "5"],
                {"PERFTAP_REDIS_PORTS": ""})


def test_redis_cli_tls_uses_ssl_read_write(tls, dump_dir):
    port = str(tls["redis_port"])
    argv = ["redis-cli", "--tls", "--insecure", "-h", "127.0.0.1", "-p",
            port, "set", "tls:cli", "v"]
    recs = _redis_case(tls, dump_dir, argv, {"PERFTAP_REDIS_PORTS": port})
    assert len(ptenv.events(recs, "redis", text="SET tls:cli")) == 1


def test_redis_tls_output_identical_with_and_without_shim(tls, dump_dir):
    port = str(tls["redis_port"])
    _run_both([ptenv.PYTHON, "-c", REDIS_WORKLOAD, port, "10"], dump_dir,
              {"PERFTAP_REDIS_PORTS": port})
    _all_tls(ptenv.events(ptenv.read_events(dump_dir), "redis"))


# -------------------------------------------------------------- mysql ---

MYSQL_WORKLOAD = r"""
import sys, ssl
driver, port, n = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
kw = dict(host="127.0.0.1", port=port, user="pt", password="pt",
          database="tlsdb", autocommit=True)
if driver == "pymysql":
    import pymysql as db
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    kw["ssl"] = ctx
else:
    import MySQLdb as db
    kw["ssl"] = {"ca": sys.argv[4]}
c = db.connect(**kw)
cur = c.cursor()
cur.execute("SHOW SESSION STATUS LIKE 'Ssl_version'")
print("tls", cur.fetchall()[0][1].startswith("TLS"))
cur.execute("CREATE TABLE IF NOT EXISTS t (id INT PRIMARY KEY, v TEXT)")
cur.execute("DELETE FROM t")
for i in range(n):
    cur.execute("INSERT INTO t VALUES (%s, %s)", (i, "v" * (i * 300)))
    cur.execute("SELECT v FROM t WHERE id = %s", (i,))
    print(len(cur.fetchall()[0][0]))
cur.execute("SELECT id FROM t WHERE id < %s", (n // 2,))
print(len(cur.fetchall()))
try:
    cur.execute("SELECT * FROM no_such_table")
except Exception as e:
    print("error", e.args[0])
c.close()
"""


@pytest.mark.parametrize("driver", ["pymysql", "mysqldb"])
def test_mysql_tls_counts_match_com_counters(tls, dump_dir, driver):
    port = str(tls["mysql_port"])
    argv = [ptenv.PYTHON, "-c", MYSQL_WORKLOAD, driver, port, "12",
            tls["cert"]]
    env = {"PERFTAP_MYSQL_PORTS": port}
    before = _mysql_status(tls)
    traced = _run_traced(argv, dump_dir, env)
    after = _mysql_status(tls)
    d = ptenv.delta(before, after)
    assert "tls True" in traced.stdout, traced.stdout
    assert "error 1146" in traced.stdout, traced.stdout
    recs = ptenv.read_events(dump_dir)
    evs = ptenv.events(recs, "mysql")
    words = collections.Counter(e["text"].split(" ", 1)[0] for e in evs)
    # The `after` SHOW GLOBAL STATUS is counted by the server, not traced.
    assert words["select"] == d["Com_select"], (words, d)
    assert words["insert"] == d["Com_insert"] == 12, (words, d)
    assert words["delete"] == d["Com_delete"] == 1, (words, d)
    assert words["show"] == d["Com_show_status"] - 1, (words, d)
    _all_tls(evs)
    errs = ptenv.events(recs, "mysql", outcome="error")
    assert [e["status"] for e in errs] == [1146], errs
    big = ptenv.events(recs, "mysql", text="select v from t where id=?")
    assert len(big) == 12
    if driver == "mysqldb":  # libmariadb: its API hooks, no byte counts
        assert all(e["flags"] & 128 for e in evs), evs
        assert big[-1]["rows"] == 1, big[-1]
    else:
        assert big[-1]["bytes_in"] > 11 * 300, big[-1]  # result decoded
    conns = [r for r in recs if r["type"] == "conn" and r["event"] == "open"]
    assert len(conns) == 1 and conns[0]["server_conn_id"] > 0, conns
    _clean_mysql(recs)
    _tls_upgrade_counted_as_tracked(recs)


def _clean_mysql(records):
    heads = [r for r in records if r["type"] == "dump"]
    for h in heads:
        assert h["counters"]["conn_undecodable"] == 0, h["counters"]
        assert sum(h["drops"].values()) == 0, h["drops"]


def _tls_upgrade_counted_as_tracked(records):
    """The one connection upgraded to TLS and its plaintext was decoded:
    tracked, not counted as TLS whose plaintext went unseen."""
    heads = [r for r in records if r["type"] == "dump"]
    assert heads
    total = collections.Counter()
    for h in heads:
        total.update(h["counters"])
    assert total["conn_tracked"] == 1, total
    assert total["conn_tls"] == 0, total


def test_mysql_tls_sniffed_by_greeting_without_port_list(tls, dump_dir):
    port = str(tls["mysql_port"])
    argv = [ptenv.PYTHON, "-c", MYSQL_WORKLOAD, "pymysql", port, "3",
            tls["cert"]]
    _run_traced(argv, dump_dir, {"PERFTAP_MYSQL_PORTS": ""})
    recs = ptenv.read_events(dump_dir)
    evs = ptenv.events(recs, "mysql")
    assert len([e for e in evs if e["text"].startswith("insert")]) == 3
    _all_tls(evs)
    _tls_upgrade_counted_as_tracked(recs)


@pytest.mark.parametrize("driver", ["pymysql", "mysqldb"])
def test_mysql_tls_output_identical_with_and_without_shim(tls, dump_dir,
                                                          driver):
    port = str(tls["mysql_port"])
    _run_both([ptenv.PYTHON, "-c", MYSQL_WORKLOAD, driver, port, "5",
               tls["cert"]], dump_dir, {"PERFTAP_MYSQL_PORTS": port})
    _all_tls(ptenv.events(ptenv.read_events(dump_dir), "mysql"))


# -------------------------------------------------------------- https ---

HTTPS_SERVER = r"""
import http.server, ssl, sys
cert, key, log = sys.argv[1], sys.argv[2], sys.argv[3]

class H(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def _reply(self, body, status=200):
        with open(log, "a") as f:
            f.write(f"{self.command} {self.path}\n")
        self.send_response(status)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def do_GET(self):
        if self.path.startswith("/missing"):
            self._reply(b"no", 404)
        else:
            self._reply(b"x" * 5000)
    def do_POST(self):
        n = int(self.headers["Content-Length"])
        self._reply(self.rfile.read(n)[::-1])
    def log_message(self, *a):
        pass

srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain(cert, key)
srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
print(srv.server_address[1], flush=True)
srv.serve_forever()
"""

HTTPS_CLIENT = r"""
import ssl, sys, urllib.request, urllib.error
port, n, lib = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
base = f"https://127.0.0.1:{port}"
out = []
if lib == "urllib":
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    for i in range(n):
        with urllib.request.urlopen(f"{base}/item/{i}", context=ctx) as r:
            out.append(len(r.read()))
        req = urllib.request.Request(f"{base}/echo", data=b"abc%d" % i)
        with urllib.request.urlopen(req, context=ctx) as r:
            out.append(r.read())
    try:
        urllib.request.urlopen(f"{base}/missing", context=ctx)
    except urllib.error.HTTPError as e:
        out.append((e.code, e.read()))
else:
    import httpx
    with httpx.Client(verify=False, http2=False) as c:
        for i in range(n):
            out.append(len(c.get(f"{base}/item/{i}").content))
            out.append(c.post(f"{base}/echo", content=b"abc%d" % i).content)
        out.append(c.get(f"{base}/missing").status_code)
print(out)
"""


@pytest.fixture
def https_server(tls, tmp_path, request):
    """Start the HTTPS server, traced (into its own dump dir) or not.
    Yields (port, request log path, dump dir or None)."""
    traced = getattr(request, "param", False)
    log = tmp_path / "requests.log"
    argv = [ptenv.PYTHON, "-c", HTTPS_SERVER, tls["cert"], tls["key"],
            str(log)]
    ddir = None
    if traced:
        ddir = tmp_path / "server-dumps"
        ddir.mkdir(mode=0o700)
        ddir.chmod(0o700)
        env = ptenv.traced_env(ddir)
    else:
        env = ptenv.plain_env()
    p = subprocess.Popen(argv, env=env, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True)
    try:
        port = int(p.stdout.readline())
        yield port, log, ddir
    finally:
        p.send_signal(signal.SIGTERM)
        p.wait(timeout=30)


def _logged(log):
    return log.read_text().splitlines() if log.is_file() else []


@pytest.mark.parametrize("lib", ["urllib", "httpx"])
def test_https_client_requests_decoded(https_server, dump_dir, lib):
    port, log, _ = https_server
    _run_traced([ptenv.PYTHON, "-c", HTTPS_CLIENT, str(port), "6", lib],
                dump_dir, {})
    served = _logged(log)
    assert len(served) == 13, served
    recs = ptenv.read_events(dump_dir)
    evs = ptenv.events(recs, "http_out")
    assert len(evs) == len(served), (evs, served)
    statuses = collections.Counter(e["status"] for e in evs)
    assert statuses == {200: 12, 404: 1}, statuses
    methods = collections.Counter(e["text"].split(" ", 1)[0] for e in evs)
    assert methods == {"GET": 7, "POST": 6}, methods
    _all_tls(evs)
    big = [e for e in evs if e["text"].startswith("GET")
           and e["status"] == 200]
    assert all(e["bytes_in"] >= 5000 for e in big), big
    _clean(recs)


@pytest.mark.parametrize("https_server", [True], indirect=True)
def test_https_server_requests_decoded(https_server):
    port, log, ddir = https_server
    proc = ptenv.run_plain([ptenv.PYTHON, "-c", HTTPS_CLIENT, str(port),
                            "5", "urllib"], timeout=60)
    assert proc.returncode == 0, ptenv.describe(proc)
    served = _logged(log)
    assert len(served) == 11, served
    # The server is still running: its committed records are on disk.
    deadline = time.monotonic() + 10
    while True:
        recs = ptenv.read_events(ddir)
        evs = ptenv.events(recs, "http_in")
        if len(evs) >= len(served) or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    assert len(evs) == len(served), (evs, served)
    statuses = collections.Counter(e["status"] for e in evs)
    assert statuses == {200: 10, 404: 1}, statuses
    _all_tls(evs)
    _clean(recs)


def test_https_client_output_identical_with_and_without_shim(https_server,
                                                             dump_dir):
    port, _, _ = https_server
    _run_both([ptenv.PYTHON, "-c", HTTPS_CLIENT, str(port), "3", "urllib"],
              dump_dir, {})
    _all_tls(ptenv.events(ptenv.read_events(dump_dir), "http_out"))


def test_tls_client_without_tracing_dir_is_untouched(tls, tmp_path):
    # PERFTAP_DIR unusable: the shim steps aside; SSL calls still work.
    port = str(tls["redis_port"])
    bad = tmp_path / "not-a-dir"
    bad.write_text("")
    proc = ptenv.run_traced([ptenv.PYTHON, "-c", REDIS_WORKLOAD, port, "3"],
                            bad, env={"PERFTAP_QUIET": "1"}, timeout=60)
    plain = ptenv.run_plain([ptenv.PYTHON, "-c", REDIS_WORKLOAD, port, "3"],
                            timeout=60)
    assert proc.returncode == 0 and plain.returncode == 0, (
        ptenv.describe(proc))
    assert proc.stdout == plain.stdout


if __name__ == "__main__":
    sys.exit(pytest.main([__file__, "-v"]))
