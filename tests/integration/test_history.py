"""test_history.py -- perftap history add/show/trend and compare
--against-history on synthetic dumps (bench/gen_dump): what is stored is
what the report measured, concurrent adds all land, a corrupt or foreign
file is one line and exit 2.  No servers."""
import json
import os
import sqlite3
import subprocess

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BUILD = os.environ.get("PERFTAP_BUILD", os.path.join(REPO, "build"))
PERFTAP = os.path.join(BUILD, "perftap")
GEN = os.path.join(BUILD, "bench", "gen_dump")
KEY = "http GET /fir/{id}"

pytestmark = pytest.mark.skipif(
    not (os.access(PERFTAP, os.X_OK) and os.access(GEN, os.X_OK)),
    reason="build perftap and bench/gen_dump first")


def run(*args, check=0):
    p = subprocess.run([PERFTAP, *args], capture_output=True, text=True,
                       timeout=120)
    assert p.returncode == check, (args, p.returncode, p.stdout, p.stderr)
    return p


@pytest.fixture(scope="module")
def dumps(tmp_path_factory):
    base = tmp_path_factory.mktemp("hist")
    os.chmod(base, 0o700)
    d = {}
    for name, seed, extra in (("a", 1, []), ("b", 2, []),
                              ("slow", 3, ["--slow-op", "GET /fir/{id}",
                                           "--slow-factor", "1.5"])):
        p = base / name
        os.makedirs(p, mode=0o700)
        d[name] = subprocess.run(
            [GEN, "-o", str(p), "-n", "20000", "-s", str(seed),
             "--no-process", *extra], capture_output=True, text=True,
            check=True, timeout=120).stdout.strip()
    d["tmp"] = base
    return d


def report_row(dump, key):
    rep = json.loads(run("report", "--format", "json", dump).stdout)
    for kind in rep["operations"].values() if isinstance(
            rep["operations"], dict) else [rep["operations"]]:
        for r in kind:
            if r.get("key") == key:
                return r
    raise AssertionError("no row " + key)


def test_add_show_trend_store_what_the_report_measured(dumps, tmp_path):
    db = str(tmp_path / "h.db")
    assert "run 1 " in run("history", "add", "--db", db, "--label", "first",
                           dumps["a"]).stdout
    run("history", "add", "--db", db, "--label", "second", dumps["b"])
    runs = json.loads(run("history", "show", "--db", db, "--format",
                          "json").stdout)
    assert [r["label"] for r in runs] == ["first", "second"]
    assert all(r["events"] == 20000 and r["host"] for r in runs)
    text = run("history", "show", "--db", db).stdout
    assert "first" in text and "second" in text
    trend = json.loads(run("history", "trend", "--db", db, "--format", "json",
                           KEY).stdout)
    assert [r["label"] for r in trend["runs"]] == ["first", "second"]
    base = json.loads(open(run_baseline(dumps["a"], tmp_path)).read())
    op = base["operations"][KEY]
    got = trend["runs"][0]
    for field, name in (("p50_ms", "median"), ("p95_ms", "p95"),
                        ("p99_ms", "p99")):
        want = [v for k, v in op.items() if name in k.lower()]
        assert want and abs(got[field] - want[0]) < 1e-9, (field, op)
    assert got["rate"] > 0
    assert KEY in run("history", "trend", "--db", db, "--last", "1",
                      KEY).stdout
    one = json.loads(run("history", "trend", "--db", db, "--last", "1",
                         "--format", "json", KEY).stdout)
    assert [r["label"] for r in one["runs"]] == ["second"]
    p = run("history", "trend", "--db", db, "no such op", check=2)
    assert len(p.stderr.splitlines()) == 1


def test_trend_as_html_is_a_chart_of_the_runs(dumps, tmp_path):
    """--format html: one well-formed, self-contained page whose chart has
    a p50, p95 and p99 line through one point per run and a rate bar per
    run, and whose table holds the JSON trend's figures."""
    import xml.etree.ElementTree as ET
    db = str(tmp_path / "h.db")
    for label in ("a", "b", "slow"):
        run("history", "add", "--db", db, "--label", label, dumps[label])
    page = run("history", "trend", "--db", db, "--format", "html",
               KEY).stdout
    # Self-contained: nothing fetched, nothing run.
    assert "<script" not in page and "src=" not in page and "href=" not in page
    root = ET.fromstring(page.split("\n", 1)[1])  # after the doctype
    ns = {"s": "http://www.w3.org/2000/svg"}
    svg = root.find(".//s:svg", ns)
    if svg is None:
        svg = root.find(".//svg")
    assert svg is not None
    lines = {pl.get("class"): pl.get("points").split()
             for pl in svg.iter() if pl.tag.endswith("polyline")}
    assert set(lines) == {"p50", "p95", "p99"}
    assert all(len(v) == 3 for v in lines.values())
    # The slow run's p95 is the highest point of its line (SVG y grows
    # downward: the smallest y).
    ys = [float(pt.split(",")[1]) for pt in lines["p95"]]
    assert ys[2] == min(ys)
    bars = [r for r in svg.iter() if r.tag.endswith("rect")
            and "run" in "".join(r.itertext())]
    assert len(bars) == 3
    trend = json.loads(run("history", "trend", "--db", db, "--format",
                           "json", KEY).stdout)
    cells = [td.text for td in root.iter("td")]
    for r in trend["runs"]:
        assert f"{r['p95_ms']:.3f}" in cells
    run("history", "trend", "--db", db, "--format", "svg", KEY, check=2)


def run_baseline(dump, tmp_path):
    out = str(tmp_path / "b.json")
    run("baseline", "save", "-o", out, dump)
    return out


def test_eight_concurrent_adds_all_land(dumps, tmp_path):
    db = str(tmp_path / "c.db")
    procs = [subprocess.Popen([PERFTAP, "history", "add", "--db", db,
                               "--label", "job%d" % i, dumps["a"]],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True) for i in range(8)]
    for p in procs:
        out, err = p.communicate(timeout=120)
        assert p.returncode == 0, err
    con = sqlite3.connect(db)
    labels = sorted(r[0] for r in con.execute("SELECT label FROM runs"))
    assert labels == ["job%d" % i for i in range(8)]
    per_run = {r[0] for r in con.execute(
        "SELECT count(*) FROM ops GROUP BY run")}
    assert len(per_run) == 1 and per_run.pop() > 10  # every run whole
    con.close()


def test_corrupt_or_foreign_database_is_one_line_exit_2(dumps, tmp_path):
    corrupt = tmp_path / "corrupt.db"
    corrupt.write_bytes(b"this is not sqlite at all" * 100)
    foreign = tmp_path / "foreign.db"
    con = sqlite3.connect(str(foreign))
    con.execute("CREATE TABLE customers(id, name)")
    con.commit()
    con.close()
    for db in (corrupt, foreign):
        before = db.read_bytes()
        for args in (["add", "--db", str(db), dumps["a"]],
                     ["show", "--db", str(db)],
                     ["trend", "--db", str(db), KEY]):
            p = run("history", *args, check=2)
            lines = p.stderr.splitlines()
            assert len(lines) == 1 and lines[0].startswith(
                "perftap: %s: not a perftap history database" % db), lines
        assert db.read_bytes() == before  # left as it was
    p = run("compare", "--against-history", "3", "--db", str(corrupt),
            dumps["a"], check=2)
    assert len(p.stderr.splitlines()) == 1


def test_compare_against_history_uses_compares_rule(dumps, tmp_path):
    db = str(tmp_path / "h.db")
    for d in ("a", "b"):
        run("history", "add", "--db", db, dumps[d])
    out = run("compare", "--against-history", "2", "--db", db, "--limit",
              "p95:10%", "--format", "json", dumps["slow"]).stdout
    doc = json.loads(out)
    text = json.dumps(doc)
    assert "regression" in text and KEY in text
    same = json.loads(run("compare", "--against-history", "2", "--db", db,
                          "--limit", "p95:10%", "--format", "json",
                          dumps["a"]).stdout)
    assert '"regression"' not in json.dumps(same)
    # The history as a baseline gives the same verdicts as a baseline file
    # made from the same single run.
    db1 = str(tmp_path / "one.db")
    run("history", "add", "--db", db1, dumps["a"])
    bl = run_baseline(dumps["a"], tmp_path)
    via_file = run("compare", "--baseline", bl, "--limit", "p95:10%",
                   dumps["slow"]).stdout
    via_hist = run("compare", "--against-history", "1", "--db", db1,
                   "--limit", "p95:10%", dumps["slow"]).stdout
    strip = lambda s: [l for l in s.splitlines() if "Compared with" not in l]
    assert strip(via_file) == strip(via_hist)
