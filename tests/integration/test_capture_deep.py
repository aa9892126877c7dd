"""test_capture_deep.py -- pipelines far deeper than a decoder's fixed
queue (1024 Redis commands, 8 MySQL commands): 100,000 Redis commands
written before any reply is read, redis-py pipelines of 10,000 (as
hiredis's throughput test), and 20,000 MySQL statements pipelined on one
socket.  Every command is an event (the queue spills into mmap'd memory,
shim/spill.c), no drop is counted, and the counts equal the servers' own
(INFO commandstats, SHOW GLOBAL STATUS)."""

import capture_truth as ct
import ptenv

# One thread, non-blocking: write while the socket takes bytes, read the
# replies as they come (so neither side's buffers ever deadlock), until
# every reply has arrived.  Replies are counted by their RESP type lines.
REDIS_RAW = r"""
import os, select, socket, sys
n = int(sys.argv[1])
s = socket.create_connection((os.environ["PERFTAP_REDIS_HOST"],
                              int(os.environ["PERFTAP_REDIS_PORT"])))
cmds = []
for i in range(n):
    if i % 2:
        k = b"deep:%d" % (i % 100)
        cmds.append(b"*2\r\n$3\r\nGET\r\n$%d\r\n%s\r\n" % (len(k), k))
    else:
        k, v = b"deep:%d" % (i % 100), b"%d" % i
        cmds.append(b"*3\r\n$3\r\nSET\r\n$%d\r\n%s\r\n$%d\r\n%s\r\n"
                    % (len(k), k, len(v), v))
data = memoryview(b"".join(cmds))
s.setblocking(False)
sent, got, buf = 0, 0, b""
while got < n:
    w = [s] if sent < len(data) else []
    r, wr, _ = select.select([s], w, [], 30)
    if not r and not wr:
        sys.exit("timed out: %d of %d replies" % (got, n))
    if wr:
        try:
            sent += s.send(data[sent:sent + 65536])
        except BlockingIOError:
            pass
    if r:
        chunk = s.recv(1 << 20)
        if not chunk:
            sys.exit("server closed")
        buf += chunk
        # Replies: +OK\r\n, $-1\r\n, $N\r\n<N bytes>\r\n
        i = 0
        while True:
            e = buf.find(b"\r\n", i)
            if e < 0:
                break
            if buf[i:i + 1] == b"$" and buf[i + 1:i + 2] != b"-":
                ln = int(buf[i + 1:e])
                if len(buf) < e + 2 + ln + 2:
                    break
                i = e + 2 + ln + 2
            else:
                i = e + 2
            got += 1
        buf = buf[i:]
s.close()
print(got)
"""

REDIS_PY_PIPELINES = r"""
import os, redis
r = redis.Redis(host=os.environ["PERFTAP_REDIS_HOST"],
                port=int(os.environ["PERFTAP_REDIS_PORT"]))
for rnd in range(3):
    p = r.pipeline(transaction=False)
    for i in range(10000):
        p.incr("deep:ctr") if i % 2 else p.get("deep:g:%d" % (i % 50))
    p.execute()
r.delete("deep:ctr")
r.close()
"""


def _drops(recs):
    head = [r for r in recs if r.get("type") == "dump"][0]
    return head["drops"]


def _redis_case(servers, dump_dir, argv):
    snap = ct.redis_snapshot(servers)
    p = ptenv.run_traced(argv, dump_dir, timeout=300)
    assert p.returncode == 0, ptenv.describe(p)
    recs = ptenv.read_events(dump_dir, timeout=300)
    evs = ct.redis_truth_after(servers, snap, recs)
    assert sum(_drops(recs).values()) == 0, _drops(recs)
    return evs


def test_redis_pipeline_of_100000_counted_exactly(servers, dump_dir):
    evs = _redis_case(servers, dump_dir,
                      [ptenv.PYTHON, "-c", REDIS_RAW, "100000"])
    assert len(evs) == 100000
    piped = sum(1 for e in evs if e["flags"] & 1)  # PT_EV_PIPELINED
    assert piped > 1024, piped


def test_redis_py_pipelines_of_10000(servers, dump_dir):
    evs = _redis_case(servers, dump_dir,
                      [ptenv.PYTHON, "-c", REDIS_PY_PIPELINES])
    assert len(evs) == 30001


# MySQL: log in with PyMySQL, then take its socket and pipeline raw
# COM_QUERY packets the same way (one thread, non-blocking), counting the
# OK / ERR packets that answer them.
MYSQL_RAW = r"""
import os, select, struct, sys
import pymysql
n = int(sys.argv[1])
c = pymysql.connect(host=os.environ["PERFTAP_MYSQL_HOST"],
                    port=int(os.environ["PERFTAP_MYSQL_PORT"]),
                    user=os.environ["PERFTAP_MYSQL_USER"],
                    password=os.environ["PERFTAP_MYSQL_PASSWORD"],
                    database=os.environ["PERFTAP_MYSQL_DB"], autocommit=True)
s = c._sock
pk = []
for i in range(n):
    sql = (b"SET @deep = %d" % i) if i % 2 else b"DO %d" % i
    body = b"\x03" + sql
    pk.append(struct.pack("<I", len(body))[:3] + b"\x00" + body)
data = memoryview(b"".join(pk))
s.setblocking(False)
sent, got, errs, buf = 0, 0, 0, b""
while got < n:
    w = [s] if sent < len(data) else []
    r, wr, _ = select.select([s], w, [], 30)
    if not r and not wr:
        sys.exit("timed out: %d of %d replies" % (got, n))
    if wr:
        try:
            sent += s.send(data[sent:sent + 65536])
        except BlockingIOError:
            pass
    if r:
        chunk = s.recv(1 << 20)
        if not chunk:
            sys.exit("server closed")
        buf += chunk
        i = 0
        while len(buf) - i >= 4:
            ln = int.from_bytes(buf[i:i + 3], "little")
            if len(buf) - i < 4 + ln:
                break
            errs += buf[i + 4] == 0xFF
            got += 1
            i += 4 + ln
        buf = buf[i:]
s.setblocking(True)
c.close()
print(got, errs)
"""


def test_mysql_pipeline_of_20000_counted_exactly(servers, dump_dir):
    before = ptenv.mysql_status(servers)
    p = ptenv.run_traced([ptenv.PYTHON, "-c", MYSQL_RAW, "20000"], dump_dir,
                         timeout=300)
    assert p.returncode == 0, ptenv.describe(p)
    assert p.stdout.split() == ["20000", "0"], p.stdout
    after = ptenv.mysql_status(servers)
    recs = ptenv.read_events(dump_dir, timeout=300)
    evs = ct.assert_mysql_truth(before, after, recs)
    assert sum(_drops(recs).values()) == 0, _drops(recs)
    piped = [e for e in evs if e["flags"] & 1]  # PT_EV_PIPELINED
    assert len(piped) > 8, len(piped)
    assert ptenv.delta(before, after)["Com_set_option"] == 10000


# MONITOR (issue 9 section 4): the MONITOR command is one event, the lines
# it streams are neither events nor failures, and the other connection's
# commands still equal commandstats.
MONITOR = r"""
import os, redis
kw = dict(host=os.environ["PERFTAP_REDIS_HOST"],
          port=int(os.environ["PERFTAP_REDIS_PORT"]))
watcher, worker = redis.Redis(**kw), redis.Redis(**kw)
seen = 0
with watcher.monitor() as m:
    for i in range(50):
        worker.set("mon:%d" % i, i)
        worker.get("mon:%d" % i)
    worker.delete(*["mon:%d" % i for i in range(50)])
    while seen < 101:
        if m.next_command()["command"].startswith(("SET", "GET", "DEL")):
            seen += 1
print(seen)
"""


def test_monitor_stream_is_neither_ops_nor_failures(servers, dump_dir):
    evs = _redis_case(servers, dump_dir, [ptenv.PYTHON, "-c", MONITOR])
    mon = [e for e in evs if e["text"] == "MONITOR"]
    assert len(mon) == 1 and mon[0]["outcome"] == "ok", mon
    recs = ptenv.read_events(dump_dir)
    conns = [r for r in recs if r.get("type") == "conn"
             and r["event"] == "close" and r["proto"] == "redis"]
    assert len(conns) == 2, conns
