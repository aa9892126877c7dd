"""test_mysql_select_star.py -- the MySQL server notes in every format, and
"SELECT * against selective columns": on a real MariaDB with a wide table,
`SELECT *` and a selective fingerprint of the same table are shown side by
side with their bytes per row; rows per call equal the client's row counts;
the no-index share of a query on an unindexed column is 100%, on the
primary key 0%."""

import csv
import io
import json

import ptenv

CALLS = 5
ROWS = 8
WIDE_COLS = 16
WORKLOAD = r"""
import json, os, pymysql
unix = False
""" + ptenv.MYSQL_CONNECT_KW + r"""
c = pymysql.connect(**kw)
cur = c.cursor()
cur.execute("DROP TABLE IF EXISTS star_wide")
cols = ", ".join("c%d VARCHAR(64)" % i for i in range(COLS))
cur.execute("CREATE TABLE star_wide (id INT PRIMARY KEY, tag INT, " + cols + ")")
for i in range(200):
    cur.execute("INSERT INTO star_wide VALUES (%s, %s, " +
                ", ".join(["%s"] * COLS) + ")",
                [i, i % 25] + ["v%02d" % i + "x" * 60] * COLS)
out = {"star_rows": [], "sel_rows": [], "star_bytes": 0, "sel_bytes": 0}
for k in range(CALLS):
    cur.execute("SELECT * FROM star_wide WHERE id < %s", (ROWS,))
    rows = cur.fetchall()
    out["star_rows"].append(len(rows))
    out["star_bytes"] += sum(len(str(v)) for r in rows for v in r)
    cur.execute("SELECT id, c0 FROM star_wide WHERE tag = %s", (k,))
    rows = cur.fetchall()
    out["sel_rows"].append(len(rows))
    out["sel_bytes"] += sum(len(str(v)) for r in rows for v in r)
print(json.dumps(out))
c.close()
""".replace("COLS)", "%d)" % WIDE_COLS).replace("range(COLS)", "range(%d)" % WIDE_COLS) \
   .replace("range(CALLS)", "range(%d)" % CALLS).replace("(ROWS,)", "(%d,)" % ROWS)

STAR = "select * from star_wide where id<?"
SEL = "select id,c0 from star_wide where tag=?"


def report(dump_dir, fmt):
    proc = ptenv.run_plain([str(ptenv.CMD), "report", "--format", fmt,
                            *ptenv.dumps(dump_dir)])
    assert proc.returncode == 0, ptenv.describe(proc)
    return proc.stdout


def test_select_star_beside_selective_columns(servers, dump_dir):
    traced = ptenv.run_traced([ptenv.PYTHON, "-c", WORKLOAD], dump_dir,
                              timeout=90)
    assert traced.returncode == 0, ptenv.describe(traced)
    truth = json.loads(traced.stdout.strip().splitlines()[-1])
    assert truth["star_rows"] == [ROWS] * CALLS
    sel_rows = sum(truth["sel_rows"])
    assert sel_rows == 8 * CALLS  # 200 rows, tag = i % 25

    doc = json.loads(report(dump_dir, "json"))
    rows = {r["text"]: r for r in doc["operations"] if r["kind"] == "sql"}
    assert STAR in rows and SEL in rows, list(rows)
    star, sel = rows[STAR], rows[SEL]
    assert star["count"] == CALLS and sel["count"] == CALLS
    assert star["rows_per_call"] == ROWS
    assert sel["rows_per_call"] == sel_rows / CALLS
    assert star["no_index_pct"] == 0 and sel["no_index_pct"] == 100
    assert star["warnings"] == 0 and sel["warnings"] == 0
    # Bytes per row on the wire cover at least the values the client got
    # (plus packet headers and length prefixes); a wide row is many times
    # a two-column one.
    assert star["bytes_per_row"] >= truth["star_bytes"] / (ROWS * CALLS)
    assert sel["bytes_per_row"] >= truth["sel_bytes"] / sel_rows
    assert star["bytes_per_row"] > 5 * sel["bytes_per_row"]

    text = report(dump_dir, "text")
    part = text.split("SELECT * against selective columns", 1)[1]
    block = part.split("\n\n", 1)[0]
    lines = block.splitlines()
    head = [i for i, s in enumerate(lines) if s.strip() == "table star_wide"]
    assert head, block
    mine = lines[head[0] + 1:head[0] + 3]
    assert mine[0].split()[:2] == ["SELECT", "*"] and STAR in mine[0]
    assert mine[1].split()[0] == "selective" and SEL in mine[1]
    assert float(mine[0].split()[2]) == round(star["bytes_per_row"], 1)

    md = report(dump_dir, "markdown")
    assert "### MySQL server notes" in md
    assert "#### SELECT * against selective columns" in md
    assert f"| star_wide | SELECT * | `{STAR}` | {CALLS} |" in md

    table = list(csv.DictReader(io.StringIO(report(dump_dir, "csv"))))
    by = {r["operation"]: r for r in table if r["kind"] == "sql"}
    assert float(by[SEL]["no_index_pct"]) == 100
    assert float(by[STAR]["no_index_pct"]) == 0
    assert float(by[STAR]["rows_per_call"]) == ROWS
    assert by[STAR]["warnings"] == "0"
    assert all(r["no_index"] == "" for r in table if r["kind"] != "sql")
