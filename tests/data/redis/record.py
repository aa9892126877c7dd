#!/usr/bin/python3
"""record.py -- record real Redis client byte streams as decoder fixtures.

Starts a private redis-server and a logging TCP proxy on free loopback
ports (checked: the server answering is the one started here), and drives redis-py, redis-cli and raw sockets through the
proxy.  Each recorded connection becomes <name>.resp here:

    perftap-resp-fixture v1 events=N pushes=M\n
    then records: "> LEN\n" (client to server) or "< LEN\n" (server to
    client), LEN bytes, "\n"; each record is one recv() the proxy saw.

events is the number of events the decoder must give (the commands this
script sent, minus MULTI and the commands queued in a transaction, which
the decoder folds into one EXEC event); pushes the pub/sub messages.
Run: /usr/bin/python3 tests/data/redis/record.py   (stops its server)
"""
import os
import socket
import subprocess
import sys
import threading
import time

import redis

HERE = os.path.dirname(os.path.abspath(__file__))


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


# Free ports picked at start: never talk to someone else's server.
RPORT, PPORT = free_port(), free_port()


class Proxy:
    def __init__(self):
        self.ls = socket.socket()
        self.ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.ls.bind(("127.0.0.1", PPORT))
        self.ls.listen(16)
        self.conns = []  # list of (log list, done event)
        self.lock = threading.Lock()
        threading.Thread(target=self.accept, daemon=True).start()

    def accept(self):
        while True:
            c, _ = self.ls.accept()
            s = socket.create_connection(("127.0.0.1", RPORT))
            log, done = [], threading.Event()
            with self.lock:
                self.conns.append((log, done))
            lk = threading.Lock()
            left = [2]

            def pump(src, dst, tag):
                while True:
                    try:
                        b = src.recv(65536)
                    except OSError:
                        b = b""
                    if not b:
                        break
                    with lk:  # log before forwarding: order is causal
                        log.append((tag, b))
                    dst.sendall(b)
                try:
                    dst.shutdown(socket.SHUT_WR)
                except OSError:
                    pass
                with lk:
                    left[0] -= 1
                    if left[0] == 0:
                        done.set()

            threading.Thread(target=pump, args=(c, s, ">"), daemon=True).start()
            threading.Thread(target=pump, args=(s, c, "<"), daemon=True).start()

    def take(self, n_before):
        """Wait for connections opened after n_before to finish."""
        with self.lock:
            new = self.conns[n_before:]
        for _, done in new:
            done.wait(10)
        return [log for log, _ in new]

    def count(self):
        with self.lock:
            return len(self.conns)


def save(name, log, events, pushes=0):
    path = os.path.join(HERE, name + ".resp")
    with open(path, "wb") as f:
        f.write(b"perftap-resp-fixture v1 events=%d pushes=%d\n" % (events, pushes))
        for tag, b in log:
            f.write(b"%s %d\n" % (tag.encode(), len(b)))
            f.write(b)
            f.write(b"\n")
    print("wrote", path, len(log), "records", events, "events")


def scenario(proxy, name, fn):
    """Record the busiest connection fn opened (redis-py may open an idle
    one besides the one its pipeline uses)."""
    n = proxy.count()
    events, pushes = fn()
    logs = proxy.take(n)
    save(name, max(logs, key=lambda log: sum(len(b) for _, b in log)),
         events, pushes)


def redispy_basic():
    r = redis.Redis(host="127.0.0.1", port=PPORT, single_connection_client=True)
    n = 0
    r.setex("fir:record:FIR-1a2b3c4d-20260115093000", 3600, '{"a": 1}'); n += 1
    r.get("fir:record:FIR-1a2b3c4d-20260115093000"); n += 1
    r.get("fir:record:FIR-ffffffff-20260115093000"); n += 1
    r.mget(["fir:record:FIR-1a2b3c4d-20260115093000", "fir:record:nope", "x"]); n += 1
    r.hset("fir:user:42", mapping={"a": "1", "b": "2"}); n += 1
    r.hgetall("fir:user:42"); n += 1
    r.hgetall("fir:user:43"); n += 1
    r.hmget("fir:user:42", ["a", "zz"]); n += 1
    r.exists("fir:user:42", "fir:user:43"); n += 1
    r.incr("fir:stats:count"); n += 1
    r.expire("fir:stats:count", 300); n += 1
    r.ttl("fir:stats:count"); n += 1
    r.keys("fir:list:*"); n += 1
    r.delete("fir:user:42", "fir:stats:count"); n += 1
    r.lpush("q", "a", "b"); n += 1
    r.lrange("q", 0, -1); n += 1
    r.blpop(["q"], timeout=1); n += 1
    r.zadd("z", {"m": 1.5}); n += 1
    r.zscore("z", "m"); n += 1
    try:
        r.lpush("fir:record:FIR-1a2b3c4d-20260115093000", "x")
    except redis.ResponseError:
        pass
    n += 1
    r.execute_command("SELECT", 1); n += 1
    r.execute_command("SELECT", 0); n += 1
    r.ping(); n += 1
    r.info(); n += 1
    r.client_setname("afirgen"); n += 1
    r.config_get("maxmemory"); n += 1
    r.dbsize(); n += 1
    r.close()
    return n, 0


def redispy_pipeline():
    r = redis.Redis(host="127.0.0.1", port=PPORT, single_connection_client=True)
    p = r.pipeline(transaction=False)
    n = 0
    for i in range(500):
        if i % 3 == 0:
            p.set("fir:record:%d" % i, "v" * (i % 50))
        else:
            p.get("fir:record:%d" % (i - 1))
        n += 1
    p.execute()
    r.close()
    return n, 0


def redispy_transaction():
    r = redis.Redis(host="127.0.0.1", port=PPORT, single_connection_client=True)
    n = 0
    p = r.pipeline(transaction=True)
    p.setex("fir:record:1", 3600, "x").get("fir:record:1").incr("c").delete("c")
    p.execute()
    n += 1  # MULTI + 4 queued + EXEC: one event
    p = r.pipeline(transaction=True)
    p.set("a", "1").lpush("a", "x")  # WRONGTYPE inside EXEC's reply
    try:
        p.execute()
    except redis.ResponseError:
        pass
    n += 1
    r.get("a"); n += 1
    r.close()
    return n, 0


def redispy_pubsub():
    r = redis.Redis(host="127.0.0.1", port=PPORT)
    pub = redis.Redis(host="127.0.0.1", port=RPORT)  # direct: not recorded
    ps = r.pubsub()
    n, msgs = 0, 0
    ps.subscribe("c1", "c2"); n += 1
    ps.psubscribe("fir:*"); n += 1

    def drain(k):
        got = 0
        deadline = time.time() + 5
        while got < k and time.time() < deadline:
            m = ps.get_message(timeout=0.5)
            if m and m["type"] in ("message", "pmessage"):
                got += 1
        return got

    drain(0)
    for i in range(5):
        pub.publish("c1", "hello %d" % i)
        pub.publish("fir:new", "x")
    msgs += drain(10)
    ps.ping(); n += 1
    pub.publish("c2", "y")
    msgs += drain(1)
    ps.unsubscribe(); n += 1
    ps.punsubscribe(); n += 1
    for _ in range(6):
        ps.get_message(timeout=0.2)
    ps.close()
    pub.close()
    return n, msgs


def rawsock(cmds_bytes, wait_for=None, pause=0.2):
    s = socket.create_connection(("127.0.0.1", PPORT))
    for b in cmds_bytes:
        if callable(b):
            b()
            continue
        s.sendall(b)
        time.sleep(pause)
    s.shutdown(socket.SHUT_WR)
    while s.recv(65536):
        pass
    s.close()


def raw_inline():
    rawsock([b"PING\r\n", b"SET fir:record:7 hello\r\n", b"GET fir:record:7\r\n",
             b"get nope\r\nEXISTS fir:record:7 nope\r\n", b"DEL fir:record:7\n",
             b"FOO bar\r\n"])
    return 7, 0


def raw_resp3_pubsub():
    pub = redis.Redis(host="127.0.0.1", port=RPORT)

    def publish():
        time.sleep(0.2)
        pub.publish("c9", "m1")
        pub.publish("c9", "m2")

    def enc(*a):
        out = b"*%d\r\n" % len(a)
        for x in a:
            x = x.encode() if isinstance(x, str) else x
            out += b"$%d\r\n%s\r\n" % (len(x), x)
        return out

    rawsock([enc("HELLO", "3"), enc("SET", "k", "v"), enc("SUBSCRIBE", "c9"),
             publish, enc("GET", "k"), enc("PING"), enc("HGETALL", "none"),
             enc("UNSUBSCRIBE"), enc("GET", "missing")])
    pub.close()
    return 8, 2


def rediscli_resp3():
    cmds = b"SET fir:record:1 x\nGET fir:record:1\nGET fir:record:2\nHSET h a 1\n" \
           b"HGETALL h\nZADD z 1 a 2 b\nZRANGE z 0 -1 WITHSCORES\nINCRBYFLOAT f 1.5\n" \
           b"SMEMBERS s\nSADD s a\nSMEMBERS s\nDEL h z f s\n"
    subprocess.run(["redis-cli", "-3", "-h", "127.0.0.1", "-p", str(PPORT)],
                   input=cmds, stdout=subprocess.DEVNULL, check=True)
    # + the HELLO 3 and COMMAND DOCS (a 170 KiB nested map) redis-cli sends
    return 12 + 2, 0


def main():
    srv = subprocess.Popen(["redis-server", "--port", str(RPORT), "--bind", "127.0.0.1",
                            "--save", "", "--appendonly", "no", "--daemonize", "no"],
                           stdout=subprocess.DEVNULL)
    try:
        for _ in range(50):
            try:
                redis.Redis(port=RPORT).ping()
                break
            except redis.ConnectionError:
                time.sleep(0.1)
        # Ours, not a server someone else started on that port.
        pid = redis.Redis(port=RPORT).info("server")["process_id"]
        if pid != srv.pid:
            raise SystemExit("port %d answered by pid %d, not ours" % (RPORT, pid))
        proxy = Proxy()
        scenario(proxy, "redispy_basic", redispy_basic)
        scenario(proxy, "redispy_pipeline", redispy_pipeline)
        scenario(proxy, "redispy_transaction", redispy_transaction)
        scenario(proxy, "redispy_pubsub", redispy_pubsub)
        scenario(proxy, "raw_inline", raw_inline)
        scenario(proxy, "raw_resp3_pubsub", raw_resp3_pubsub)
        scenario(proxy, "rediscli_resp3", rediscli_resp3)
    finally:
        srv.terminate()
        srv.wait()


if __name__ == "__main__":
    sys.exit(main())
