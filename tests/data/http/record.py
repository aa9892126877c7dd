#!/usr/bin/python3
"""record.py -- record real HTTP/1.1 byte streams for test_proto_http.c.

Starts uvicorn (a tiny FastAPI app) with --http h11 and --http httptools on
free loopback ports, puts a recording TCP proxy in front of each, drives it
with curl and httpx, and writes one fixture per client connection:

  NAME.cap      records, each "C <len> <t_ns>\\n" (client to server) or
                "S <len> <t_ns>\\n" (server to client), then <len> raw bytes,
                then "\\n"; t_ns is monotonic time since the first record.
  NAME.expect   one line per request the client made: "METHOD STATUS".

Run from anywhere: /usr/bin/python3 tests/data/http/record.py
Every process it starts is stopped by pid before it exits.
"""
import asyncio
import os
import shutil
import socket
import subprocess
import sys
import threading
import time

import httpx

HERE = os.path.dirname(os.path.abspath(__file__))

APP = r'''
from fastapi import FastAPI, Request, Response
from fastapi.responses import StreamingResponse

app = FastAPI()

@app.get("/fir/{fir_id}")
def get_fir(fir_id: str):
    return {"id": fir_id, "status": "open"}

@app.get("/health")
def health():
    return {"ok": True}

@app.post("/fir")
async def create(req: Request):
    body = await req.body()
    return {"received": len(body)}

@app.post("/upload")
async def upload(req: Request):
    n = 0
    async for chunk in req.stream():
        n += len(chunk)
    return {"received": n}

@app.delete("/fir/{fir_id}", status_code=204)
def delete(fir_id: str):
    return Response(status_code=204)

@app.get("/stream")
def stream():
    return StreamingResponse((f"line {i}\n" for i in range(5)),
                             media_type="text/plain")
'''


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class Proxy:
    """Accepts on a free port; each connection is relayed to the upstream
    port and recorded; the recording is taken by the next name given."""

    def __init__(self, upstream):
        self.upstream = upstream
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        self.lock = threading.Lock()
        self.done = []  # finished recordings, in accept order
        self.running = True
        threading.Thread(target=self.accept_loop, daemon=True).start()

    def accept_loop(self):
        while self.running:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            u = socket.create_connection(("127.0.0.1", self.upstream))
            rec = {"records": [], "t0": None, "open": 2}
            threading.Thread(target=self.pipe, args=(c, u, "C", rec),
                             daemon=True).start()
            threading.Thread(target=self.pipe, args=(u, c, "S", rec),
                             daemon=True).start()

    def pipe(self, src, dst, tag, rec):
        while True:
            try:
                data = src.recv(65536)
            except OSError:
                data = b""
            if not data:
                break
            with self.lock:
                now = time.monotonic_ns()
                if rec["t0"] is None:
                    rec["t0"] = now
                rec["records"].append((tag, now - rec["t0"], data))
            try:
                dst.sendall(data)
            except OSError:
                break
        try:
            dst.shutdown(socket.SHUT_WR)
        except OSError:
            pass
        with self.lock:
            rec["open"] -= 1
            if rec["open"] == 0:
                src.close()
                dst.close()
                self.done.append(rec)

    def take(self, count, timeout=10.0):
        """Wait for count finished connections and return them."""
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            with self.lock:
                if len(self.done) >= count:
                    got, self.done = self.done[:count], self.done[count:]
                    return got
            time.sleep(0.05)
        raise RuntimeError("proxy: connections did not finish")

    def close(self):
        self.running = False
        self.sock.close()


def save(name, rec, expect):
    with open(os.path.join(HERE, name + ".cap"), "wb") as f:
        for tag, t, data in rec["records"]:
            f.write(b"%s %d %d\n" % (tag.encode(), len(data), t))
            f.write(data)
            f.write(b"\n")
    with open(os.path.join(HERE, name + ".expect"), "w") as f:
        for method, status in expect:
            f.write(f"{method} {status}\n")
    print(f"  {name}: {len(rec['records'])} records, {len(expect)} requests")


def curl(args):
    """Run curl (one connection, reused for every URL); the status codes."""
    argv = ["curl", "-s", "-w", "\\n%{http_code}\\n"]
    for a in args:
        if a.startswith("http://"):
            argv += ["-o", "/dev/null"]
        argv.append(a)
    out = subprocess.run(argv, check=True, capture_output=True,
                         text=True).stdout
    return [int(x) for x in out.split()]


def scenarios_curl(base, proxy, tag):
    codes = curl([f"{base}/fir/FIR-1a2b", f"{base}/health",
                  f"{base}/fir/7?secret=CANARY-QUERY"])
    save(f"{tag}_curl_keepalive", proxy.take(1)[0],
         [("GET", c) for c in codes])

    codes = curl(["-X", "POST", "-H", "Content-Type: application/json",
                  "-d", '{"complaint": "CANARY-BODY"}', f"{base}/fir"])
    save(f"{tag}_curl_post_json", proxy.take(1)[0], [("POST", codes[0])])

    codes = curl(["-I", f"{base}/health"])
    save(f"{tag}_curl_head", proxy.take(1)[0], [("HEAD", codes[0])])

    codes = curl(["-X", "POST", "-H", "Transfer-Encoding: chunked",
                  "-H", "Expect: 100-continue", "--data-binary",
                  "@" + os.path.abspath(__file__), f"{base}/upload"])
    save(f"{tag}_curl_chunked_expect", proxy.take(1)[0],
         [("POST", codes[0])])

    codes = curl(["-X", "DELETE", f"{base}/fir/9", f"{base}/nope",
                  f"{base}/stream"])
    save(f"{tag}_curl_204_404_stream", proxy.take(1)[0],
         [("DELETE", codes[0]), ("DELETE", codes[1]), ("DELETE", codes[2])])

    codes = curl(["--http1.0", f"{base}/stream"])
    save(f"{tag}_curl_http10_stream", proxy.take(1)[0], [("GET", codes[0])])


async def httpx_session(base):
    expect = []

    async def upload_body():
        for i in range(4):
            yield b"part %d CANARY-BODY\n" % i

    async with httpx.AsyncClient(base_url=base,
                                 headers={"Authorization":
                                          "Bearer CANARY-AUTH"}) as c:
        for path in ("/fir/FIR-1", "/health", "/fir/FIR-2"):
            r = await c.get(path)
            expect.append(("GET", r.status_code))
        r = await c.post("/fir", json={"complaint": "CANARY-BODY"})
        expect.append(("POST", r.status_code))
        r = await c.post("/upload", content=upload_body())
        expect.append(("POST", r.status_code))
        r = await c.get("/stream")
        expect.append(("GET", r.status_code))
        r = await c.delete("/fir/3")
        expect.append(("DELETE", r.status_code))
        r = await c.get("/missing")
        expect.append(("GET", r.status_code))
    return expect


def run_server(mode):
    port = free_port()
    env = dict(os.environ, PYTHONPATH=os.path.join(HERE, ".app"),
               PYTHONDONTWRITEBYTECODE="1")
    p = subprocess.Popen(["/usr/bin/python3", "-m", "uvicorn", "app:app",
                          "--host", "127.0.0.1", "--port", str(port),
                          "--http", mode, "--log-level", "warning"],
                         env=env)
    for _ in range(100):
        try:
            socket.create_connection(("127.0.0.1", port)).close()
            return p, port
        except OSError:
            time.sleep(0.1)
    p.terminate()
    raise RuntimeError(f"uvicorn --http {mode} did not start")


def main():
    appdir = os.path.join(HERE, ".app")
    os.makedirs(appdir, exist_ok=True)
    with open(os.path.join(appdir, "app.py"), "w") as f:
        f.write(APP)
    for mode in ("h11", "httptools"):
        print(f"uvicorn --http {mode}")
        server, port = run_server(mode)
        proxy = Proxy(port)
        try:
            base = f"http://127.0.0.1:{proxy.port}"
            scenarios_curl(base, proxy, mode)
            expect = asyncio.run(httpx_session(base))
            save(f"{mode}_httpx_session", proxy.take(1)[0], expect)
        finally:
            proxy.close()
            os.kill(server.pid, 15)
            server.wait(timeout=10)
    shutil.rmtree(appdir)


if __name__ == "__main__":
    sys.exit(main())
