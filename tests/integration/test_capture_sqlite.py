"""test_capture_sqlite.py -- SQLite through Python's sqlite3 module under
the shim (libsqlite3 reached through the dlopen'ed _sqlite3 extension).

Ground truth is the workload itself: it knows how many statements of each
kind it ran, and SQLite's own counters (total_changes) say how many rows
changed.  Every execution is one event, once; COMMIT is an event of its
own; a failing statement is an error event with SQLite's result code; the
database is named by its basename, never its path.  CPython's own
test_sqlite3 passes under the shim as it does without it."""

import os
import subprocess

import pytest

import ptenv

N_INS, N_SEL, N_UPD = 40, 25, 7

WORKLOAD = r"""
import os, sqlite3, sys
path = sys.argv[1]
if os.path.exists(path):  # run_same runs it twice
    os.unlink(path)
db = sqlite3.connect(path)
db.execute("CREATE TABLE IF NOT EXISTS sq_t (id INTEGER PRIMARY KEY, name TEXT, v INT)")
db.commit()
for i in range(%(ins)d):
    db.execute("INSERT INTO sq_t (name, v) VALUES (?, ?)", ("secret-%%d" %% i, i))
db.commit()
rows = 0
for i in range(%(sel)d):
    rows += len(db.execute("SELECT name FROM sq_t WHERE v >= ?", (i,)).fetchall())
with db:  # a transaction: BEGIN, updates, COMMIT
    for i in range(%(upd)d):
        db.execute("UPDATE sq_t SET name = 'x' WHERE id = ?", (i + 1,))
try:
    db.execute("SELECT * FROM sq_no_such_table")
except sqlite3.OperationalError as e:
    print("error", e)
try:
    db.execute("INSERT INTO sq_t (id, name, v) VALUES (1, 'dup', 0)")
except sqlite3.IntegrityError as e:
    print("integrity", e)
db.rollback()
print("rows", rows, "changes", db.total_changes)
db.close()
mem = sqlite3.connect(":memory:")
mem.execute("CREATE TABLE m (a)")
mem.executemany("INSERT INTO m VALUES (?)", [(i,) for i in range(5)])
print("mem", mem.execute("SELECT count(*) FROM m").fetchone()[0])
mem.close()
""" % {"ins": N_INS, "sel": N_SEL, "upd": N_UPD}


def by_text(evs):
    out = {}
    for e in evs:
        out.setdefault(e["text"], []).append(e)
    return out


@pytest.fixture
def traced(dump_dir, tmp_path):
    path = str(tmp_path / "home" / "alice" / "sessions.db")
    os.makedirs(os.path.dirname(path))
    proc = ptenv.run_same([ptenv.PYTHON, "-c", WORKLOAD, path], dump_dir)
    os.unlink(path)
    return proc, ptenv.read_events(dump_dir)


def test_counts_per_fingerprint_equal_the_workload(traced):
    proc, recs = traced
    evs = ptenv.events(recs, "sqlite")
    t = by_text(evs)
    assert len(t["insert into sq_t (name,v) values(?,?)"]) == N_INS
    sel = t["select name from sq_t where v>=?"]
    assert len(sel) == N_SEL
    # rows returned: the workload's own sum
    want_rows = int(proc.stdout.split("rows ")[1].split()[0])
    assert sum(e["rows"] for e in sel) == want_rows
    upd = t["update sq_t set name=? where id=?"]
    assert len(upd) == N_UPD and all(e["rows"] == 1 for e in upd)
    # Python opens a transaction before DML only: the inserts, the
    # updates, the failed insert (rolled back), the :memory: inserts
    # (closed uncommitted); commit() after the CREATE has nothing to
    # commit and sends nothing
    assert len(t["commit"]) == 2
    assert len(t["begin"]) == 4
    assert len(t["rollback"]) == 1
    assert len(t["insert into m values(?)"]) == 5
    assert len(t["select count(*) from m"]) == 1
    for e in evs:
        assert e["flags"] & 128  # PT_EV_API
    # no literal, no path
    for e in evs:
        assert "secret" not in e["text"] and "dup" not in e["text"]


def test_errors_carry_sqlite_result_codes(traced):
    _, recs = traced
    errs = ptenv.events(recs, "sqlite", outcome="error")
    codes = sorted((e["text"], e["status"]) for e in errs)
    # SQLITE_ERROR (1) at prepare, SQLITE_CONSTRAINT (19) at step
    assert codes == [("insert into sq_t (id,name,v) values(?,?,?)", 19),
                     ("select * from sq_no_such_table", 1)]


def test_database_is_its_basename(traced):
    _, recs = traced
    conns = [r for r in recs if r.get("type") == "conn" and r["proto"] == "sqlite"]
    opens = sorted(r["text"] for r in conns if r["event"] == "open")
    assert opens == [":memory:", "sessions.db"]
    closes = [r for r in conns if r["event"] == "close"]
    assert len(closes) == 2
    evs = ptenv.events(recs, "sqlite")
    assert sum(c["events"] for c in closes) == len(evs)


def test_full_scan_counters(traced):
    _, recs = traced
    t = by_text(ptenv.events(recs, "sqlite"))
    # v >= ? has no index: every execution steps the whole table
    assert all(e["scan_steps"] > 0 for e in t["select name from sq_t where v>=?"])
    # by primary key: no full scan
    assert all(e["scan_steps"] == 0 for e in t["update sq_t set name=? where id=?"])
    assert all(e["vm_steps"] > 0 for e in t["insert into sq_t (name,v) values(?,?)"])


def test_report_shows_sqlite_and_flags_full_scans(traced, dump_dir):
    import csv
    import io
    import json
    dumps = [str(p) for p in dump_dir.iterdir()]
    run = lambda *a: subprocess.run([str(ptenv.CMD), "report", *a, *dumps],
                                    capture_output=True, text=True)
    text = run().stdout
    assert "SQLite:" in text
    scan = "select name from sq_t where v>=?"
    block = text.split(scan + "\n", 1)[1].split("\n")[:3]
    assert any("full table scan: %d of %d" % (N_SEL, N_SEL) in l
               for l in block), text
    assert "errors: SQLite 19 x1" in text
    doc = json.loads(run("--format", "json").stdout)
    rows = [r for sec in json.dumps(doc) and [doc] for r in _json_rows(sec)]
    sq = {r["text"]: r for r in rows if r.get("full_scans") is not None}
    assert sq[scan]["full_scans"] == N_SEL and sq[scan]["count"] == N_SEL
    assert sq["update sq_t set name=? where id=?"]["full_scans"] == 0
    assert "select" in sq[scan]["sql_class"]  # classified as MySQL SQL is
    md = run("--format", "markdown").stdout
    assert "`%s` (full table scan)" % scan in md
    assert "(full table scan)</b>" in run("--format", "html").stdout
    table = list(csv.DictReader(io.StringIO(run("--format", "csv").stdout)))
    by = {(r["kind"], r["operation"]): r for r in table}
    assert by[("sqlite", scan)]["full_scans"] == str(N_SEL)
    assert by[("sqlite", scan)]["count"] == str(N_SEL)


def _json_rows(node):
    """Every object with a "text" and a "count" anywhere in the report."""
    if isinstance(node, dict):
        if "text" in node and "count" in node:
            yield node
        for v in node.values():
            yield from _json_rows(v)
    elif isinstance(node, list):
        for v in node:
            yield from _json_rows(v)


def test_raw_mode_keeps_sql_and_path(dump_dir, tmp_path):
    path = str(tmp_path / "raw.db")
    ptenv.run_same([ptenv.PYTHON, "-c", WORKLOAD, path], dump_dir,
                   env={"PERFTAP_RAW": "1"})
    recs = ptenv.read_events(dump_dir)
    texts = {e["text"] for e in ptenv.events(recs, "sqlite")}
    assert "INSERT INTO sq_t (name, v) VALUES (?, ?)" in texts
    opens = [r["text"] for r in recs if r.get("type") == "conn"
             and r["proto"] == "sqlite" and r["event"] == "open"]
    assert path in opens


def test_program_without_sqlite_resolves_nothing(dump_dir):
    # The hooks are never called, so nothing of libsqlite3 is loaded.
    code = "import sys; print(open('/proc/self/maps').read().count('libsqlite3'))"
    proc = ptenv.run_traced([ptenv.PYTHON, "-c", code], dump_dir)
    assert proc.returncode == 0 and proc.stdout.strip() == "0"


def _cpython_sqlite_tests():
    """CPython 3.11's Lib/test/test_sqlite3.  Debian 12 leaves it out of
    libpython3.11-testsuite, so a CPython 3.11 source tree on the machine
    (pyenv's) is used when there is one."""
    import glob
    for d in ["/usr/lib/python3.11/test/test_sqlite3"] + sorted(
            glob.glob(os.path.expanduser(
                "~/.pyenv/versions/3.11*/lib/python3.11/test/test_sqlite3"))):
        if os.path.isfile(os.path.join(d, "test_dbapi.py")):
            return d
    return None


def _unittest_outcome(proc):
    """The set of failing tests and the number run, without timings."""
    lines = proc.stderr.splitlines()
    bad = sorted(l for l in lines if l.startswith(("ERROR:", "FAIL:")))
    ran = [l.split(" in ")[0] for l in lines if l.startswith("Ran ")]
    return bad, ran


def test_cpython_test_sqlite3_passes_under_the_shim(dump_dir, tmp_path):
    src = _cpython_sqlite_tests()
    if not src:
        pytest.skip("no CPython 3.11 test_sqlite3 on this machine "
                    "(Debian 12 does not package it)")
    # As a plain package: its __init__ wants to live inside Lib/test.
    pkg = tmp_path / "sq"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    for f in glob_py(src):
        text = open(f).read().replace("from .util import", "from sq.util import")
        text = text.replace("from test_sqlite3.", "from sq.")
        (pkg / os.path.basename(f)).write_text(text)
    argv = [ptenv.PYTHON, "-m", "unittest", "discover", "-s", str(pkg),
            "-t", str(tmp_path)]
    plain = ptenv.run_plain(argv, timeout=600, cwd=str(tmp_path))
    traced = ptenv.run_traced(argv, dump_dir, timeout=600, cwd=str(tmp_path))
    p_bad, p_ran = _unittest_outcome(plain)
    t_bad, t_ran = _unittest_outcome(traced)
    assert p_ran and p_ran == t_ran, ptenv.describe(plain) + ptenv.describe(traced)
    assert t_bad == p_bad, ptenv.describe(traced)
    assert int(t_ran[0].split()[1]) > 200
    recs = ptenv.read_events(dump_dir)
    assert len(ptenv.events(recs, "sqlite")) > 1000


def glob_py(d):
    import glob
    return sorted(f for f in glob.glob(os.path.join(d, "*.py"))
                  if not os.path.basename(f).startswith("__"))
