"""test_mysql_server_notes.py -- what MariaDB says about each statement in
the OK/EOF that ends it: the no-index flag against the server's own
Select_scan delta, warnings against SHOW WARNINGS, rows sent against the
client's row counts; and the report's index suggestions."""

import json

import ptenv

N = 6
WORKLOAD = r"""
import json, os, sys, pymysql
unix = False
""" + ptenv.MYSQL_CONNECT_KW + r"""
c = pymysql.connect(**kw)
cur = c.cursor()
cur.execute("DROP TABLE IF EXISTS notes_t")
cur.execute("CREATE TABLE notes_t (a INT, b INT, s VARCHAR(4), KEY ka (a))")
cur.execute("INSERT INTO notes_t VALUES " +
            ",".join("(%d, %d, 'x')" % (i, i % 3) for i in range(200)))
out = {"rows_a": [], "rows_b": [], "warn": []}
for i in range(N):
    cur.execute("SELECT a, b FROM notes_t WHERE a = %s", (i,))
    out["rows_a"].append(len(cur.fetchall()))
for i in range(N):
    cur.execute("SELECT a, b FROM notes_t WHERE b = %s", (i % 3,))
    out["rows_b"].append(len(cur.fetchall()))
for i in range(N):
    cur.execute("SELECT CAST('1x' AS INT) + %s, CAST('2y' AS INT)", (i,))
    cur.fetchall()
    cur.execute("SHOW WARNINGS")
    out["warn"].append(len(cur.fetchall()))
print(json.dumps(out))
c.close()
""".replace("N = None", "").replace("range(N)", "range(%d)" % N)


def test_no_index_flags_warnings_and_rows_match_the_server(servers,
                                                           dump_dir):
    before = ptenv.mysql_status(servers)
    traced = ptenv.run_traced([ptenv.PYTHON, "-c", WORKLOAD], dump_dir,
                              timeout=60)
    assert traced.returncode == 0, ptenv.describe(traced)
    d = ptenv.delta(before, ptenv.mysql_status(servers))
    truth = json.loads(traced.stdout.strip().splitlines()[-1])
    evs = ptenv.events(ptenv.read_events(dump_dir), "mysql")

    def sel(col):
        return [e for e in evs
                if e["text"].startswith("select a,b from notes_t where "
                                        + col)]

    on_a, on_b = sel("a"), sel("b")
    assert len(on_a) == N and len(on_b) == N
    no_idx = [e for e in evs if e["server_status"] & 0x20]
    assert not [e for e in on_a if e["server_status"] & 0x30]
    assert all(e["server_status"] & 0x20 for e in on_b)
    # Every full scan the server counted is one flagged event (the SHOW
    # WARNINGS and the before/after SHOW STATUS scan too).
    assert len(no_idx) == d["Select_scan"] + d["Select_full_join"] - 1, \
        (len(no_idx), d["Select_scan"], d["Select_full_join"])
    assert [e["rows"] for e in on_a] == truth["rows_a"]
    assert [e["rows"] for e in on_b] == truth["rows_b"]
    casts = [e for e in evs if e["text"].startswith("select cast")]
    assert [e["warnings"] for e in casts] == truth["warn"]
    assert all(w > 0 for w in truth["warn"])

    rep = ptenv.run_plain([str(ptenv.CMD), "report",
                           *ptenv.dumps(dump_dir)])
    assert rep.returncode == 0, ptenv.describe(rep)
    text = rep.stdout
    assert "Index suggestions" in text
    sugg = text.split("Index suggestions", 1)[1].split("\n\n", 1)[0]
    assert "where b=?" in sugg and "where a=?" not in sugg, sugg
