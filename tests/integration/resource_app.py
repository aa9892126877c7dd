"""resource_app.py -- a small HTTP server whose CPU and memory use is
known, for test_resources.py.  Not a test itself.

    resource_app.py [WORKERS]

Listens on 127.0.0.1, an ephemeral port, and prints "PORT PID" (then, with
WORKERS > 0, one "worker PID" line per forked worker that shares the
listening socket: a prefork server).  Routes:

    GET /burn?ms=N    burn N ms of CPU in this process, then answer
    GET /alloc?mb=N   allocate and touch N MiB, kept until exit
    GET /hello        answer at once
    GET /quit         answer, then exit (every worker, with WORKERS > 0)
"""

import os
import sys
import time
from http.server import BaseHTTPRequestHandler, HTTPServer
from urllib.parse import parse_qs, urlparse

KEEP = []


class Handler(BaseHTTPRequestHandler):
    def log_message(self, *a):
        pass

    def do_GET(self):
        u = urlparse(self.path)
        q = {k: int(v[0]) for k, v in parse_qs(u.query).items()}
        if u.path == "/burn":
            end = time.process_time() + q.get("ms", 100) / 1000.0
            x = 0
            while time.process_time() < end:
                x += 1
        elif u.path == "/alloc":
            b = bytearray(q.get("mb", 1) << 20)
            for i in range(0, len(b), 4096):
                b[i] = 1
            KEEP.append(b)
        body = b"ok %d\n" % os.getpid()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(body)
        self.wfile.flush()
        if u.path == "/quit":
            self.server.quit = True


def serve(srv):
    srv.quit = False
    while not srv.quit:
        srv.handle_request()


def main():
    workers = int(sys.argv[1]) if len(sys.argv) > 1 else 0
    srv = HTTPServer(("127.0.0.1", 0), Handler)
    print(srv.server_address[1], os.getpid(), flush=True)
    if not workers:
        serve(srv)
        return
    pids = []
    for _ in range(workers):
        pid = os.fork()
        if pid == 0:
            serve(srv)
            os._exit(0)
        pids.append(pid)
        print("worker", pid, flush=True)
    srv.socket.close()
    for pid in pids:
        os.waitpid(pid, 0)


if __name__ == "__main__":
    main()
