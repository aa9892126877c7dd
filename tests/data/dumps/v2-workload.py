"""v2-workload.py -- the Python program recorded into v2-python.ptd.

tests/data/dumps/v2-python.ptd was written by the version 2 shim (commit
fce7644, the last version 2 writer) under this script; v2-python.events.jsonl
is what that commit's `perftap events` printed for it (run from the
repository root, so that each record's "dump" is the path the test gives).

How it was made (a worktree at fce7644, `make -j2` there, the private
servers of scripts/servers.sh on ports 13419 and 16419):

    PERFTAP_SERVERS_DIR=/tmp/srv-v2dump PERFTAP_MYSQL_PORT=13419 \\
        PERFTAP_REDIS_PORT=16419 scripts/servers.sh start
    cp tests/data/dumps/v2-workload.py /tmp/v2-workload.py
    cd /tmp && PERFTAP_STACKS=all PERFTAP_SAMPLE_INTERVAL=100ms \\
        PERFTAP_CHUNK_SIZE=16384 PERFTAP_DIR=/tmp/v2dump \\
        LD_PRELOAD=/work/wt/v2dump/build/libperftap.so \\
        /usr/bin/python3 /tmp/v2-workload.py
    cp /tmp/v2dump/python3.*.ptd tests/data/dumps/v2-python.ptd
    build/perftap events tests/data/dumps/v2-python.ptd \\
        > tests/data/dumps/v2-python.events.jsonl

It talks only to 127.0.0.1: Redis (SET, GET hit and miss, a pipeline,
INCR, DEL), MariaDB through PyMySQL (DDL, INSERTs, SELECTs, one deliberately
slow SELECT SLEEP(0.01), one query with a warning and one failing query), an
sqlite3 file (the sqlite3 module, which the shim hooks through libsqlite3),
and a threaded http.server in this process, called three times over one
keep-alive http.client connection (each request does a Redis GET in the
server's thread, so that event carries the request's id).  Short sleeps
between the phases let the shim's own resource sampler
(PERFTAP_SAMPLE_INTERVAL; there is no `perftap record` parent) add sample
records to the dump.  PERFTAP_CHUNK_SIZE=16384 keeps the file small (4
chunks); with 8192 or 12288 some events were written without their stack
(a stack and its module table did not fit the room left in a chunk).  The
native frames `perftap events` prints are symbolized at read time from the
binaries on disk (build-id checked), so their "func", "file" and "line"
depend on this machine's python3.11 and libc.
No secrets: the user and password are the test servers' (perftap/perftap).
"""
import http.client
import http.server
import os
import shutil
import sqlite3
import threading
import time

import pymysql
import redis

HOST = "127.0.0.1"
MYSQL_PORT = int(os.environ.get("PERFTAP_MYSQL_PORT", "13419"))
REDIS_PORT = int(os.environ.get("PERFTAP_REDIS_PORT", "16419"))
HTTP_PORT = int(os.environ.get("V2_HTTP_PORT", "18419"))


def redis_phase(r):
    r.set("fir:record:1001", "open")
    r.set("fir:record:1002", "closed")
    assert r.get("fir:record:1001") == b"open"
    assert r.get("fir:record:9999") is None  # a miss
    p = r.pipeline(transaction=False)
    for i in range(5):
        p.set("session:%d" % i, "x")
    for i in range(5):
        p.get("session:%d" % i)
    p.execute()
    r.incr("counter:visits")
    r.delete("fir:record:1002")


def mysql_phase():
    db = pymysql.connect(host=HOST, port=MYSQL_PORT, user="perftap",
                         password="perftap", database="perftap_test",
                         autocommit=True)
    with db.cursor() as c:
        c.execute("DROP TABLE IF EXISTS v2_items")
        c.execute("CREATE TABLE v2_items (id INT PRIMARY KEY, "
                  "name VARCHAR(32), qty INT)")
        for i in range(1, 6):
            c.execute("INSERT INTO v2_items VALUES (%s, %s, %s)",
                      (i, "item%d" % i, i * 10))
        c.execute("SELECT id, name, qty FROM v2_items WHERE qty > %s", (15,))
        assert len(c.fetchall()) == 4
        c.execute("SELECT COUNT(*) FROM v2_items")
        c.execute("UPDATE v2_items SET qty = qty + 1 WHERE id IN (1, 2, 3)")
        c.execute("SELECT SLEEP(0.01)")  # the slow one
        c.execute("SELECT CAST('abc' AS SIGNED)")  # one warning
        try:
            c.execute("SELECT * FROM v2_no_such_table")
        except pymysql.err.ProgrammingError:
            pass  # an error reply
        c.execute("DROP TABLE v2_items")
    db.close()


def sqlite_phase(path):
    db = sqlite3.connect(path)
    db.execute("CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT)")
    db.executemany("INSERT INTO notes (body) VALUES (?)",
                   [("a",), ("b",), ("c",)])
    db.commit()
    rows = db.execute("SELECT id, body FROM notes WHERE id >= ?",
                      (2,)).fetchall()
    assert len(rows) == 2
    db.close()


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self):
        r = self.server.redis
        hit = r.get("fir:record:1001")
        body = b"found\n" if hit else b"missing\n"
        self.send_response(200 if self.path.startswith("/fir/") else 404)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


def http_phase(r):
    srv = http.server.ThreadingHTTPServer((HOST, HTTP_PORT), Handler)
    srv.daemon_threads = True
    srv.redis = r
    t = threading.Thread(target=srv.serve_forever, daemon=True)
    t.start()
    # One keep-alive connection: one server thread, so one more chunk.
    c = http.client.HTTPConnection(HOST, HTTP_PORT, timeout=10)
    for path in ("/fir/1001", "/fir/1002", "/nothing/here"):
        c.request("GET", path)
        resp = c.getresponse()
        resp.read()
    c.close()
    srv.shutdown()
    srv.server_close()


def main():
    r = redis.Redis(host=HOST, port=REDIS_PORT, db=0)
    redis_phase(r)
    time.sleep(0.12)
    mysql_phase()
    time.sleep(0.12)
    d = "/tmp/v2work-sqlite"  # a fixed path: the dump may name the file
    shutil.rmtree(d, ignore_errors=True)
    os.mkdir(d)
    try:
        sqlite_phase(os.path.join(d, "notes.db"))
    finally:
        shutil.rmtree(d, ignore_errors=True)
    time.sleep(0.12)
    http_phase(r)
    r.close()


if __name__ == "__main__":
    main()
