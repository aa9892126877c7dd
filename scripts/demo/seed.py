"""seed.py -- create the demo schema and fill it with synthetic FIRs.

Usage: seed.py OUT_JSON [N_FIRS]

No real personal data: names, places and complaints are made up.  Every
complaint carries a unique canary token, and OUT_JSON lists the canaries
together with the FIR numbers, user ids and session ids the load generator
uses, so a test can prove that none of them reaches a perftap dump.
"""

import json
import os
import random
import sqlite3
import sys
import time

import pymysql

SCHEMA = [
    "DROP TABLE IF EXISTS violations",
    "DROP TABLE IF EXISTS fir_records",
    """CREATE TABLE fir_records (
        id INT AUTO_INCREMENT PRIMARY KEY,
        fir_number VARCHAR(100) NOT NULL UNIQUE,
        session_id VARCHAR(100),
        user_id VARCHAR(100),
        complaint_text TEXT,
        fir_content TEXT,
        violations_json LONGTEXT,
        status ENUM('pending','finalized') NOT NULL DEFAULT 'pending',
        finalized_at DATETIME NULL,
        created_at DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
        INDEX idx_session (session_id),
        INDEX idx_status (status),
        INDEX idx_created (created_at),
        INDEX idx_user (user_id),
        INDEX idx_user_created (user_id, created_at),
        INDEX idx_status_created (status, created_at),
        FULLTEXT INDEX ft_complaint (complaint_text),
        FULLTEXT INDEX ft_content (fir_content)
    ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4""",
    """CREATE TABLE violations (
        id INT AUTO_INCREMENT PRIMARY KEY,
        fir_id INT NOT NULL,
        code VARCHAR(16) NOT NULL,
        section VARCHAR(64) NOT NULL,
        INDEX idx_fir (fir_id)
    ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4""",
]

WORDS = ("theft bicycle market stolen phone wallet night bus station assault "
         "neighbour dispute fraud online payment cheque forged vehicle parked "
         "window broken house burglary jewellery missing gold chain").split()


def main():
    out_path = sys.argv[1]
    n_firs = int(sys.argv[2]) if len(sys.argv) > 2 else 3000
    rng = random.Random(20260115)
    env = os.environ
    db_name = env.get("DEMO_DB", "afirgen_demo")
    conn = pymysql.connect(host=env["PERFTAP_MYSQL_HOST"],
                           port=int(env["PERFTAP_MYSQL_PORT"]),
                           user=env["PERFTAP_MYSQL_USER"],
                           password=env["PERFTAP_MYSQL_PASSWORD"],
                           charset="utf8mb4", autocommit=True)
    with conn.cursor() as cur:
        cur.execute("CREATE DATABASE IF NOT EXISTS %s CHARACTER SET utf8mb4" % db_name)
        cur.execute("USE %s" % db_name)
        for stmt in SCHEMA:
            cur.execute(stmt)

    firs, users, canaries = [], ["user%05d" % i for i in range(200)], []
    now = time.time()
    rows = []
    for i in range(n_firs):
        stamp = time.strftime("%Y%m%d%H%M%S", time.gmtime(now - i * 37))
        fir = "FIR-%08x-%s" % (rng.getrandbits(32), stamp)
        canary = "cnry%012x" % rng.getrandbits(48)
        words = " ".join(rng.choice(WORDS) for _ in range(12))
        created = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(now - i * 37))
        rows.append((fir, "seed-session-%d" % i, rng.choice(users),
                     "%s %s" % (words, canary), "Drafted FIR: " + words,
                     "[]", created))
        firs.append(fir)
        canaries.append(canary)
    with conn.cursor() as cur:
        cur.execute("USE %s" % db_name)
        for at in range(0, len(rows), 500):
            cur.executemany(
                "INSERT INTO fir_records (fir_number, session_id, user_id,"
                " complaint_text, fir_content, violations_json, created_at)"
                " VALUES (%s, %s, %s, %s, %s, %s, %s)", rows[at:at + 500])
        cur.execute("INSERT INTO violations (fir_id, code, section)"
                    " SELECT id, '379', 'IPC 379' FROM fir_records")
    conn.close()

    sessions_db = env.get("DEMO_SESSIONS_DB", "/tmp/perftap-demo-sessions.db")
    for suffix in ("", "-wal", "-shm"):
        if os.path.exists(sessions_db + suffix):
            os.unlink(sessions_db + suffix)
    sessions = ["%08x-%04x-4%03x-a%03x-%012x" % (
        rng.getrandbits(32), rng.getrandbits(16), rng.getrandbits(12),
        rng.getrandbits(12), rng.getrandbits(48)) for _ in range(400)]
    with sqlite3.connect(sessions_db) as sq:
        sq.execute("CREATE TABLE sessions (session_id TEXT PRIMARY KEY,"
                   " step INTEGER, user_id TEXT, status TEXT)")
        sq.executemany("INSERT INTO sessions VALUES (?, 0, ?, 'validating')",
                       [(s, rng.choice(users)) for s in sessions])

    with open(out_path, "w") as f:
        json.dump({"firs": firs, "users": users, "sessions": sessions,
                   "canaries": canaries}, f)
    print("seed: %d FIRs, %d sessions, %d users" % (len(firs), len(sessions), len(users)))


if __name__ == "__main__":
    main()
