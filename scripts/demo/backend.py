"""backend.py -- an AFIRGen-shaped FastAPI service for the perftap demo.

From the outside it looks like AFIRGen (../shared/AFIRGEN.md): the same
endpoints, the fir_records schema, the cache keys and TTLs, model servers
over HTTP, sessions in SQLite.  Inside it is deliberately plain, so that what
perftap measures is the real cost of real drivers on real servers:

  MySQL   PyMySQL (pure Python, socket level) or MySQLdb (C, libmariadb),
          chosen by DEMO_DRIVER=pymysql|mysqldb, through a pool of 15.
  Redis   redis-py with a ConnectionPool (max 50), decode_responses=True,
          JSON values, cache-aside get_or_fetch with SETEX, invalidation by
          KEYS + DEL.
  Models  httpx.AsyncClient to the stub in model_stub.py.

Settings come from the environment (scripts/demo.sh sets them); the server
ports and sockets from build/servers/env.
"""

import asyncio
import hashlib
import json
import os
import queue
import sqlite3
import threading
import time
import uuid

import httpx
import redis
from fastapi import FastAPI, HTTPException
from pydantic import BaseModel

DRIVER = os.environ.get("DEMO_DRIVER", "pymysql")
MODEL_URL = os.environ.get("DEMO_MODEL_URL", "http://127.0.0.1:18001")
SESSIONS_DB = os.environ.get("DEMO_SESSIONS_DB", "/tmp/perftap-demo-sessions.db")
POOL_SIZE = 15  # AFIRGen's mysql-connector pool size
PROCESS_SLOTS = 15  # AFIRGen's semaphore on /process
SESSION_CACHE_TTL = 60.0  # AFIRGen's in-process session cache, seconds
VALIDATE_STEPS = 3  # the last step writes the FIR

TTL_RECORD = 3600
TTL_USER_LIST = 1800
TTL_STATS = 300
TTL_MODEL = 3600


def _mysql_params():
    return dict(
        host=os.environ["PERFTAP_MYSQL_HOST"],
        port=int(os.environ["PERFTAP_MYSQL_PORT"]),
        user=os.environ["PERFTAP_MYSQL_USER"],
        password=os.environ["PERFTAP_MYSQL_PASSWORD"],
        database=os.environ.get("DEMO_DB", "afirgen_demo"),
        charset="utf8mb4",
        autocommit=False,
    )


def _connect():
    p = _mysql_params()
    if DRIVER == "mysqldb":
        import MySQLdb
        import MySQLdb.cursors

        conn = MySQLdb.connect(
            host=p["host"], port=p["port"], user=p["user"],
            passwd=p["password"], db=p["database"], charset=p["charset"],
            autocommit=False, cursorclass=MySQLdb.cursors.DictCursor)
        return conn
    import pymysql

    return pymysql.connect(cursorclass=pymysql.cursors.DictCursor, **p)


class Pool:
    """A fixed pool of MySQL connections, as mysql-connector's pooling."""

    def __init__(self, size):
        self._q = queue.Queue()
        for _ in range(size):
            self._q.put(_connect())

    def run(self, fn):
        conn = self._q.get()
        try:
            result = fn(conn)
            conn.commit()
            return result
        except Exception:
            conn.rollback()
            raise
        finally:
            self._q.put(conn)


app = FastAPI(title="AFIRGen demo")
pool = None
cache = None
models = None
process_gate = asyncio.Semaphore(PROCESS_SLOTS)
_session_cache = {}
_session_lock = threading.Lock()


@app.on_event("startup")
async def startup():
    global pool, cache, models
    pool = await asyncio.to_thread(Pool, POOL_SIZE)
    cache = redis.Redis(connection_pool=redis.ConnectionPool(
        host=os.environ["PERFTAP_REDIS_HOST"],
        port=int(os.environ["PERFTAP_REDIS_PORT"]),
        max_connections=50, decode_responses=True))
    models = httpx.AsyncClient(base_url=MODEL_URL, timeout=180.0)


@app.on_event("shutdown")
async def shutdown():
    await models.aclose()


# --- cache -----------------------------------------------------------------

def get_or_fetch(key, ttl, fetch):
    """Cache-aside, as AFIRGen's CacheManager.get_or_fetch."""
    raw = cache.get(key)
    if raw is not None:
        return json.loads(raw)
    value = fetch()
    if value is not None:
        cache.setex(key, ttl, json.dumps(value, default=str))
    return value


def invalidate_lists():
    """AFIRGen drops list and stats caches with KEYS, then DEL."""
    keys = cache.keys("fir:list:*") + cache.keys("fir:stats:*")
    if keys:
        cache.delete(*keys)


# --- sessions (SQLite, with a 60 s in-process cache) --------------------------

def _sessions():
    conn = sqlite3.connect(SESSIONS_DB, timeout=30)
    conn.execute("PRAGMA journal_mode=WAL")
    return conn


def session_read(session_id):
    now = time.monotonic()
    with _session_lock:
        hit = _session_cache.get(session_id)
        if hit and now - hit[0] < SESSION_CACHE_TTL:
            return hit[1]
    with _sessions() as db:
        row = db.execute("SELECT session_id, step, user_id, status FROM sessions"
                         " WHERE session_id = ?", (session_id,)).fetchone()
    value = None
    if row:
        value = dict(session_id=row[0], step=row[1], user_id=row[2], status=row[3])
    with _session_lock:
        _session_cache[session_id] = (now, value)
    return value


def session_step(session_id):
    with _sessions() as db:
        row = db.execute("SELECT step, user_id FROM sessions WHERE session_id = ?",
                         (session_id,)).fetchone()
        if row is None:
            return None
        step = row[0] + 1
        done = step >= VALIDATE_STEPS
        db.execute("UPDATE sessions SET step = ?, status = ? WHERE session_id = ?",
                   (0 if done else step, "validated" if done else "validating",
                    session_id))
    with _session_lock:
        _session_cache.pop(session_id, None)
    return dict(step=step, done=done, user_id=row[1])


def session_create(user_id):
    session_id = str(uuid.uuid4())
    with _sessions() as db:
        db.execute("INSERT INTO sessions (session_id, step, user_id, status)"
                   " VALUES (?, 0, ?, 'processing')", (session_id, user_id))
    return session_id


# --- repository (MySQL) -----------------------------------------------------

def fir_by_number(conn, fir_number):
    with conn.cursor() as cur:
        cur.execute("SELECT * FROM fir_records WHERE fir_number = %s", (fir_number,))
        return cur.fetchone()


def fir_violations(conn, fir_number):
    with conn.cursor() as cur:
        cur.execute("SELECT v.code, v.section FROM violations v"
                    " JOIN fir_records f ON v.fir_id = f.id"
                    " WHERE f.fir_number = %s ORDER BY v.id", (fir_number,))
        return list(cur.fetchall())


def fir_insert(conn, fir_number, session_id, user_id, complaint, content, codes):
    with conn.cursor() as cur:
        cur.execute("INSERT INTO fir_records (fir_number, session_id, user_id,"
                    " complaint_text, fir_content, violations_json, status)"
                    " VALUES (%s, %s, %s, %s, %s, %s, 'pending')",
                    (fir_number, session_id, user_id, complaint, content,
                     json.dumps(codes)))
        fir_id = cur.lastrowid
        cur.executemany("INSERT INTO violations (fir_id, code, section)"
                        " VALUES (%s, %s, %s)",
                        [(fir_id, code, "IPC " + code) for code in codes])
    return fir_id


def fir_page(conn, limit, cursor, user_id):
    """Keyset pagination, newest first, optionally for one user; plus COUNT."""
    where, args = [], []
    if user_id:
        where.append("user_id = %s")
        args.append(user_id)
    if cursor:
        created, last_id = cursor.split("|")
        where.append("(created_at < %s OR (created_at = %s AND id < %s))")
        args += [created, created, int(last_id)]
    sql = "SELECT id, fir_number, status, created_at FROM fir_records"
    if where:
        sql += " WHERE " + " AND ".join(where)
    sql += " ORDER BY created_at DESC, id DESC LIMIT %s"
    with conn.cursor() as cur:
        cur.execute(sql, args + [limit + 1])
        rows = list(cur.fetchall())
        if user_id:
            cur.execute("SELECT COUNT(*) AS n FROM fir_records WHERE user_id = %s",
                        (user_id,))
        else:
            cur.execute("SELECT COUNT(*) AS n FROM fir_records")
        total = cur.fetchone()["n"]
    return rows, total


def fir_stats(conn):
    with conn.cursor() as cur:
        cur.execute("SELECT status, COUNT(*) AS n,"
                    " AVG(TIMESTAMPDIFF(SECOND, created_at, finalized_at)) AS secs"
                    " FROM fir_records"
                    " WHERE created_at >= NOW() - INTERVAL 1 HOUR"
                    " GROUP BY status")
        return list(cur.fetchall())


def fir_search(conn, text, limit):
    with conn.cursor() as cur:
        cur.execute("SELECT fir_number FROM fir_records"
                    " WHERE MATCH(complaint_text) AGAINST(%s IN NATURAL LANGUAGE MODE)"
                    " LIMIT %s", (text, limit))
        return [r["fir_number"] for r in cur.fetchall()]


def fir_finalize(conn, fir_number):
    with conn.cursor() as cur:
        cur.execute("UPDATE fir_records SET status = 'finalized', finalized_at = NOW()"
                    " WHERE fir_number = %s", (fir_number,))
        return cur.rowcount


def db(fn, *args):
    return asyncio.to_thread(pool.run, lambda conn: fn(conn, *args))


# --- endpoints ------------------------------------------------------------------

class ProcessRequest(BaseModel):
    user_id: str
    complaint_text: str
    kind: str = "text"  # text | audio | image


class ValidateRequest(BaseModel):
    session_id: str
    complaint_text: str = ""


class AuthenticateRequest(BaseModel):
    fir_number: str


@app.post("/process")
async def process(req: ProcessRequest):
    async with process_gate:
        session_id = await asyncio.to_thread(session_create, req.user_id)
        text = req.complaint_text
        if req.kind in ("audio", "image"):
            path = "/asr" if req.kind == "audio" else "/ocr"
            r = await models.post(path, json={"data": text},
                                  timeout=180.0 if path == "/asr" else 120.0)
            r.raise_for_status()
        digest = hashlib.sha256(text.encode()).hexdigest()
        key = "model_responses:gguf:response:" + digest
        cached = await asyncio.to_thread(cache.get, key)
        if cached is None:
            r = await models.post("/inference", json={"prompt": text})
            r.raise_for_status()
            await asyncio.to_thread(cache.setex, key, TTL_MODEL, r.text)
    return {"session_id": session_id, "cached": cached is not None}


@app.post("/validate")
async def validate(req: ValidateRequest):
    state = await asyncio.to_thread(session_step, req.session_id)
    if state is None:
        raise HTTPException(404, "no such session")
    if not state["done"]:
        return {"step": state["step"], "done": False}
    fir_number = "FIR-%s-%s" % (uuid.uuid4().hex[:8], time.strftime("%Y%m%d%H%M%S"))
    codes = ["%03d" % (100 + i * 37 % 400) for i in range(3)]
    await db(fir_insert, fir_number, req.session_id, state["user_id"],
             req.complaint_text, "FIR content for " + req.complaint_text, codes)
    await asyncio.to_thread(invalidate_lists)
    return {"step": state["step"], "done": True, "fir_number": fir_number}


@app.get("/session/{session_id}/status")
async def session_status(session_id: str):
    state = await asyncio.to_thread(session_read, session_id)
    if state is None:
        raise HTTPException(404, "no such session")
    return state


def _fir_cached(fir_number):
    return get_or_fetch("fir:record:" + fir_number, TTL_RECORD,
                        lambda: pool.run(lambda c: fir_by_number(c, fir_number)))


@app.get("/fir/{fir_number}")
async def fir(fir_number: str):
    record = await asyncio.to_thread(_fir_cached, fir_number)
    if record is None:
        raise HTTPException(404, "no such FIR")
    return {k: record[k] for k in ("fir_number", "status", "user_id", "created_at")}


@app.get("/fir/{fir_number}/content")
async def fir_content(fir_number: str):
    record = await asyncio.to_thread(_fir_cached, fir_number)
    if record is None:
        raise HTTPException(404, "no such FIR")
    violations = await db(fir_violations, fir_number)
    return {"fir_number": fir_number, "content": record["fir_content"],
            "violations": violations}


@app.get("/list_firs")
async def list_firs(limit: int = 20, cursor: str = "", user_id: str = ""):
    limit = max(1, min(limit, 100))

    def fetch():
        rows, total = pool.run(lambda c: fir_page(c, limit, cursor, user_id))
        return {"items": rows[:limit], "total": total,
                "next": ("%s|%d" % (rows[limit - 1]["created_at"], rows[limit - 1]["id"])
                         if len(rows) > limit else None)}

    if cursor:
        return await asyncio.to_thread(fetch)
    key = ("fir:user:%s:limit:%d" % (user_id, limit)) if user_id else \
        "fir:list:limit:%d" % limit
    return await asyncio.to_thread(get_or_fetch, key, TTL_USER_LIST, fetch)


@app.get("/metrics")
async def metrics():
    return await asyncio.to_thread(
        get_or_fetch, "fir:stats:count_by_status", TTL_STATS,
        lambda: pool.run(fir_stats))


@app.get("/search")
async def search(q: str, limit: int = 10):
    return {"results": await db(fir_search, q, max(1, min(limit, 50)))}


@app.post("/authenticate")
async def authenticate(req: AuthenticateRequest):
    changed = await db(fir_finalize, req.fir_number)
    await asyncio.to_thread(cache.delete, "fir:record:" + req.fir_number)
    return {"fir_number": req.fir_number, "status": "finalized",
            "changed": changed}


@app.get("/health")
async def health():
    return {"status": "ok", "driver": DRIVER}
