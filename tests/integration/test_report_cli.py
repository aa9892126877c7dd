"""test_report_cli.py -- perftap report/check/baseline/compare end to end,
on synthetic dumps written by bench/gen_dump (the real writer), no servers.

The build directory comes from PERFTAP_BUILD (default <repo>/build)."""
import csv
import io
import json
import os
import shutil
import subprocess

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BUILD = os.environ.get("PERFTAP_BUILD", os.path.join(REPO, "build"))
PERFTAP = os.path.join(BUILD, "perftap")
GEN = os.path.join(BUILD, "bench", "gen_dump")
THRESHOLDS = os.path.join(REPO, "baselines", "afirgen-thresholds.json")

pytestmark = pytest.mark.skipif(
    not (os.access(PERFTAP, os.X_OK) and os.access(GEN, os.X_OK)),
    reason="build perftap and bench/gen_dump first")


def run(*args, check=None):
    p = subprocess.run([PERFTAP, *args], capture_output=True, text=True,
                       timeout=120)
    assert p.returncode >= 0, "perftap crashed: %s" % p.stderr
    if check is not None:
        assert p.returncode == check, (p.returncode, p.stdout, p.stderr)
    return p


def gen(dirpath, *args):
    os.makedirs(dirpath, mode=0o700, exist_ok=True)
    p = subprocess.run([GEN, "-o", str(dirpath), *args], capture_output=True,
                       text=True, check=True, timeout=120)
    return p.stdout.strip()


@pytest.fixture(scope="module")
def dumps(tmp_path_factory):
    base = tmp_path_factory.mktemp("dumps")
    os.chmod(base, 0o700)
    d = {}
    d["a"] = gen(base / "a", "-n", "30000", "-s", "1")
    d["b"] = gen(base / "b", "-n", "20000", "-s", "2", "--start-offset", "5")
    d["dir"] = str(base / "both")
    os.makedirs(d["dir"], mode=0o700)
    shutil.copy(d["a"], d["dir"])
    shutil.copy(d["b"], d["dir"])
    d["base"] = gen(base / "base", "-n", "40000", "-s", "11", "--no-process")
    d["slow"] = gen(base / "slow", "-n", "40000", "-s", "12", "--no-process",
                    "--slow-op", "GET /fir/{id}", "--slow-factor", "1.2")
    d["shift"] = gen(base / "shift", "-n", "40000", "-s", "13", "--no-process",
                     "--scale", "1.02")
    d["jitter"] = gen(base / "jitter", "-n", "40000", "-s", "14",
                      "--no-process", "--jitter", "0.02")
    d["drops"] = gen(base / "drops", "-n", "2000", "-s", "3", "--drops", "7",
                     "--undecodable", "2")
    d["tmp"] = base
    return d


def report_json(*args):
    return json.loads(run("report", "--format", "json", *args, check=0).stdout)


def test_text_report_fits_100_columns_and_has_every_section(dumps):
    out = run("report", dumps["a"], check=0).stdout
    for line in out.splitlines():
        assert len(line) <= 100, line
    for title in ("HTTP served", "SQL (fingerprint)", "Redis", "SQL by class",
                  "Cache (reads", "Concurrency", "Latency histograms",
                  "slowest:", "get_or_fetch"):
        assert title in out, title
    assert "\033[" not in out  # not a tty: no colour


def test_json_report_has_documented_schema(dumps):
    doc = report_json(dumps["a"])
    assert doc["perftap_report"] == 1
    ov = doc["overview"]
    assert ov["events"] == 30000
    assert len(ov["processes"]) == 1 and ov["hosts"] == 1
    assert ov["window"]["seconds"] > 0
    kinds = {op["kind"] for op in doc["operations"]}
    assert {"http", "sql", "redis", "get_or_fetch"} <= kinds
    classes = {c["text"] for c in doc["sql_classes"]}
    assert {"point_select", "join", "aggregation", "pagination", "fulltext",
            "bulk_insert", "write", "transaction"} <= classes
    assert 0.7 < doc["cache"]["hit_rate"] < 0.95
    assert doc["concurrency"]["max_in_flight"] >= 1
    fir = [o for o in doc["operations"] if o["key"] == "http GET /fir/{id}"][0]
    assert fir["min_ms"] <= fir["median_ms"] <= fir["p95_ms"] <= fir["max_ms"]
    assert sum(fir["histogram"].values()) == fir["count"]


def test_csv_has_one_column_count(dumps):
    out = run("report", "--format", "csv", dumps["a"], check=0).stdout
    rows = list(csv.reader(io.StringIO(out)))
    assert rows[0][0] == "kind" and len(rows) > 10
    assert {len(r) for r in rows} == {len(rows[0])}


def test_markdown_has_tables(dumps):
    out = run("report", "--format", "markdown", dumps["a"], check=0).stdout
    assert out.startswith("## perftap report")
    assert "| operation | count |" in out


def test_junit_is_well_formed_xml(dumps, tmp_path):
    path = tmp_path / "junit.xml"
    p = run("check", "--thresholds", THRESHOLDS, "--format", "junit", "-o",
            str(path), dumps["a"])
    assert p.returncode == 1  # the AFIRGen rate targets fail on a light load
    if shutil.which("xmllint"):
        subprocess.run(["xmllint", "--noout", str(path)], check=True)
    text = path.read_text()
    assert text.count("<testcase") == len(
        [e for v in json.load(open(THRESHOLDS)).items()
         if not v[0].startswith("_") for e in v[1]])
    assert "<failure" in text and "measured" in text


def test_merging_is_exact_and_order_free(dumps):
    a = report_json(dumps["a"])
    b = report_json(dumps["b"])
    ab = report_json(dumps["a"], dumps["b"])
    ba = report_json(dumps["b"], dumps["a"])
    d = report_json(dumps["dir"])
    assert ab["overview"]["events"] == 50000
    assert len(ab["overview"]["processes"]) == 2

    def ops(doc):
        return {o["key"]: o for o in doc["operations"]}
    for key, op in ops(ab).items():
        assert ops(ba)[key] == op == ops(d)[key]
        parts = [ops(x)[key] for x in (a, b) if key in ops(x)]
        assert op["count"] == sum(p["count"] for p in parts)
        assert op["min_ms"] == min(p["min_ms"] for p in parts)
        assert op["max_ms"] == max(p["max_ms"] for p in parts)
        assert op["total_ms"] == pytest.approx(sum(p["total_ms"] for p in parts))


def test_check_exit_codes(dumps, tmp_path):
    ok = tmp_path / "ok.json"
    ok.write_text(json.dumps({"http GET /fir/{id}": ["p(95)<10s", "count>0"],
                              "cache fir:*": ["hit_rate>=0.5"]}))
    run("check", "--thresholds", str(ok), dumps["a"], check=0)
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"http GET /fir/{id}": ["p(95)<1us"]}))
    p = run("check", "--thresholds", str(bad), dumps["a"], check=1)
    assert "FAIL" in p.stdout and "measured" in p.stdout
    none = tmp_path / "none.json"
    none.write_text(json.dumps({"http GET /nothing": ["p(95)<1s"]}))
    p = run("check", "--thresholds", str(none), dumps["a"], check=1)
    assert "matches no operation" in p.stdout
    run("check", "--allow-missing", "--thresholds", str(none), dumps["a"],
        check=0)


@pytest.mark.parametrize("content, problem", [
    ("{", "not valid JSON"),
    ('{"http *": ["p95<1ms"]}', "unknown aggregate"),
    ('{"nope *": ["p(95)<1ms"]}', "unknown selector kind"),
    ('{"http *": ["hit_rate>1ms"]}', "does not fit"),
])
def test_bad_thresholds_exit_2_naming_the_file(dumps, tmp_path, content, problem):
    f = tmp_path / "t.json"
    f.write_text(content)
    p = run("check", "--thresholds", str(f), dumps["a"], check=2)
    assert p.stderr.count("\n") == 1
    assert str(f) in p.stderr and problem in p.stderr


def test_baseline_flags_a_planted_slowdown(dumps, tmp_path):
    base = tmp_path / "base.json"
    run("baseline", "save", "-o", str(base), dumps["base"], check=0)
    doc = json.load(open(base))
    assert doc["perftap_baseline"] == 1
    op = doc["operations"]["http GET /fir/{id}"]
    for field in ("test_name", "test_type", "iterations", "min_time_ms",
                  "max_time_ms", "mean_time_ms", "median_time_ms",
                  "p95_time_ms", "p99_time_ms", "std_dev_ms",
                  "throughput_ops_per_sec", "total_duration_sec",
                  "timestamp", "metadata", "sample_ms"):
        assert field in op, field
    assert 0 < len(op["sample_ms"]) <= 2000
    p = run("compare", "--baseline", str(base), "--format", "json",
            "--fail-on-regression", dumps["slow"], check=1)
    cmp = json.loads(p.stdout)["comparisons"]
    regs = {c["key"] for c in cmp if c["verdict"] == "regression"}
    assert "http GET /fir/{id}" in regs
    assert all("fir/{id}" in k or k.startswith("concurrency") for k in regs), regs


@pytest.mark.parametrize("which", ["shift", "jitter"])
def test_baseline_ignores_two_percent(dumps, tmp_path, which):
    base = tmp_path / "base.json"
    run("baseline", "save", "-o", str(base), dumps["base"], check=0)
    p = run("compare", "--baseline", str(base), "--format", "json",
            "--fail-on-regression", dumps[which], check=0)
    cmp = json.loads(p.stdout)["comparisons"]
    assert not [c for c in cmp if c["verdict"] == "regression"]
    assert [c for c in cmp if c["verdict"] == "unchanged"]


def test_compare_junit_and_limits(dumps, tmp_path):
    base = tmp_path / "base.json"
    run("baseline", "save", "-o", str(base), dumps["base"], check=0)
    out = tmp_path / "c.xml"
    run("compare", "--baseline", str(base), "--limit", "p95:10%",
        "--format", "junit", "-o", str(out), dumps["slow"], check=0)
    if shutil.which("xmllint"):
        subprocess.run(["xmllint", "--noout", str(out)], check=True)
    assert 'type="regression"' in out.read_text()
    run("compare", "--baseline", str(base), "--limit", "p42:1%",
        dumps["slow"], check=2)


def test_drops_and_undecodable_are_a_caveat_not_an_error(dumps):
    doc = report_json(dumps["drops"])
    assert doc["overview"]["drops"]["total"] == 7
    assert doc["overview"]["undecodable_connections"] == 2
    assert "dropped 7" in run("report", dumps["drops"], check=0).stdout


def test_window_filter_top_and_sort(dumps):
    full = report_json(dumps["a"])
    part = report_json("--since", "10s", "--until", "20s", dumps["a"])
    assert 0 < part["overview"]["events"] < full["overview"]["events"]
    sql = report_json("--filter", "sql", dumps["a"])
    assert {o["kind"] for o in sql["operations"]} == {"sql"}
    top = report_json("--top", "1", "--sort", "count", dumps["a"])
    http = [o for o in top["operations"] if o["kind"] == "http"]
    assert len(http) == 1
    assert http[0]["count"] == max(o["count"] for o in full["operations"]
                                   if o["kind"] == "http")


def _bad_dump(tmp_path, dumps, what):
    p = tmp_path / ("bad-" + what)
    if what == "text":
        p.write_text("hello, not a dump\n")
    elif what == "empty":
        p.write_bytes(b"")
    elif what == "truncated":
        p.write_bytes(open(dumps["a"], "rb").read()[:100])
    elif what == "newer":
        data = bytearray(open(dumps["a"], "rb").read())
        data[8:12] = (99).to_bytes(4, "little")
        p.write_bytes(bytes(data))
    elif what == "missing":
        pass
    elif what == "directory-without-dumps":
        p.mkdir()
        (p / "x.txt").write_text("x")
    return str(p)


@pytest.mark.parametrize("what", ["text", "empty", "truncated", "newer",
                                  "missing", "directory-without-dumps"])
def test_bad_dumps_exit_2_with_one_line(dumps, tmp_path, what):
    path = _bad_dump(tmp_path, dumps, what)
    p = run("report", path, check=2)
    assert p.stderr.count("\n") == 1, p.stderr
    assert p.stderr.startswith("perftap: " + path), p.stderr


@pytest.mark.parametrize("args, name", [
    (["report", "--format", "yaml"], "--format"),
    (["report", "--bogus"], "--bogus"),
    (["report", "--sort", "size"], "--sort"),
    (["report", "--since", "yesterday"], "--since"),
    (["report", "--top", "-3"], "--top"),
    (["check"], "--thresholds"),
    (["baseline", "save"], "-o"),
    (["compare"], "--baseline"),
    (["report", "--baseline", "x"], "--baseline"),
])
def test_bad_options_exit_2_naming_the_option(dumps, args, name):
    p = run(*args, dumps["a"], check=2)
    assert p.stderr.count("\n") == 1 and name in p.stderr, p.stderr


@pytest.mark.parametrize("cmd", [["report"], ["check"], ["baseline", "save"],
                                 ["compare"]])
def test_every_command_has_help(cmd):
    p = run(*cmd, "--help", check=0)
    assert p.stdout.startswith("usage: perftap " + cmd[0])


def test_bad_baseline_file_exit_2(dumps, tmp_path):
    f = tmp_path / "b.json"
    f.write_text('{"perftap_baseline": 7, "operations": {}}')
    p = run("compare", "--baseline", str(f), dumps["a"], check=2)
    assert "newer" in p.stderr and str(f) in p.stderr


# ---- load paths, window, progress ----------------------------------------

@pytest.mark.parametrize("which", ["a", "dir"])
def test_chunk_pass_gives_what_the_time_ordered_merge_gives(dumps, which):
    # 16 writer threads per dump: their chunks interleave in the file.
    for fmt in (["--format", "json"], ["-v"]):
        fast = run("report", *fmt, dumps[which], check=0).stdout
        slow = run("report", *fmt, "--ordered-load", dumps[which],
                   check=0).stdout
        assert fast == slow


def test_relative_window_counts_from_the_first_event(dumps):
    # Dump b's events start 5 s after its process (and header) started.
    first = report_json("--until", "1s", dumps["b"])
    assert first["overview"]["events"] > 0
    rest = report_json("--since", "1s", dumps["b"])
    full = report_json(dumps["b"])
    assert (first["overview"]["events"] + rest["overview"]["events"]
            == full["overview"]["events"])


def _run_on_pty(args):
    """Run perftap with stderr on a pseudo-terminal; returns what the
    terminal saw."""
    import pty
    master, slave = pty.openpty()
    try:
        p = subprocess.Popen([PERFTAP, *args], stdout=subprocess.DEVNULL,
                             stderr=slave)
        os.close(slave)
        seen = b""
        while True:
            try:
                chunk = os.read(master, 4096)
            except OSError:  # EIO: the child closed the terminal
                break
            if not chunk:
                break
            seen += chunk
        assert p.wait(timeout=120) == 0
    finally:
        os.close(master)
    return seen.decode(errors="replace")


def test_progress_line_on_a_terminal(dumps):
    seen = _run_on_pty(["report", "--progress", dumps["dir"]])
    assert "perftap: reading 1/2 dumps" in seen
    assert "perftap: reading 2/2 dumps" in seen
    # The line is wiped at the end: the last thing written is a return.
    assert seen.rstrip(" ").endswith("\r")


def test_no_progress_line_for_small_dumps_pipes_or_when_refused(dumps):
    assert "reading" not in _run_on_pty(["report", dumps["dir"]])
    assert "reading" not in _run_on_pty(["report", "--progress",
                                         "--no-progress", dumps["dir"]])
    p = run("report", "--progress", dumps["dir"], check=0)
    assert p.stderr == ""


# ---- HTML, OTLP, Prometheus ----------------------------------------------

def test_html_is_one_well_formed_self_contained_page(dumps, tmp_path):
    import xml.etree.ElementTree as ET
    out = tmp_path / "r.html"
    run("report", "--format", "html", "-o", str(out), dumps["a"], check=0)
    text = out.read_text()
    root = ET.fromstring(text.encode())  # XHTML: any XML parser reads it
    xhtml, svg = "{http://www.w3.org/1999/xhtml}", "{http://www.w3.org/2000/svg}"
    assert root.tag == xhtml + "html"
    assert len(list(root.iter(svg + "svg"))) > 20
    assert len(list(root.iter(svg + "rect"))) > 100
    titles = [h.text for h in root.iter(xhtml + "h2")]
    for t in ("SQL (fingerprint)", "Cache hit rate (key pattern)",
              "Requests in flight", "SQL by class"):
        assert t in titles, titles
    # Nothing to download: no script, stylesheet link, image or URL other
    # than the two namespace names.
    for tag in ("script", "link", "img", "iframe"):
        assert not list(root.iter(xhtml + tag)), tag
    urls = set(__import__("re").findall(r"https?://[^\"' )]+", text))
    assert urls <= {"http://www.w3.org/1999/xhtml",
                    "http://www.w3.org/2000/svg"}, urls
    if shutil.which("xmllint"):
        subprocess.run(["xmllint", "--noout", str(out)], check=True)


def test_html_of_a_raw_capture_says_so(dumps, tmp_path):
    import xml.etree.ElementTree as ET
    gen(tmp_path / "x", "-n", "3000", "-s", "5", "--raw")
    path = next((tmp_path / "x").iterdir())
    out = run("report", "--format", "html", str(path), check=0).stdout
    ET.fromstring(out.encode())
    assert "RAW MODE" in out


OTLP_BOUNDS = [0.001, 0.01, 0.1, 1, 10, 100, 1000, 10000]


def test_otlp_lines_are_metrics_export_requests(dumps):
    doc = report_json(dumps["a"])
    lines = run("report", "--format", "otlp", dumps["a"],
                check=0).stdout.splitlines()
    assert len(lines) == len(doc["operations"])
    by_key = {}
    for line in lines:
        req = json.loads(line)
        (rm,) = req["resourceMetrics"]
        attrs = {a["key"]: a["value"]["stringValue"]
                 for a in rm["resource"]["attributes"]}
        assert attrs["service.name"] == "perftap"
        (sm,) = rm["scopeMetrics"]
        assert sm["scope"]["name"] == "perftap"
        metrics = {m["name"]: m for m in sm["metrics"]}
        hist = metrics["perftap.operation.duration"]
        assert hist["unit"] == "ms"
        assert hist["histogram"]["aggregationTemporality"] == 2
        (dp,) = hist["histogram"]["dataPoints"]
        assert dp["explicitBounds"] == OTLP_BOUNDS
        counts = [int(c) for c in dp["bucketCounts"]]
        assert len(counts) == len(OTLP_BOUNDS) + 1
        assert sum(counts) == int(dp["count"]) > 0
        assert dp["min"] <= dp["max"]
        assert int(dp["startTimeUnixNano"]) <= int(dp["timeUnixNano"])
        pattrs = {a["key"]: a["value"]["stringValue"]
                  for a in dp["attributes"]}
        errs = metrics["perftap.operation.errors"]["sum"]
        assert errs["isMonotonic"] is True
        (edp,) = errs["dataPoints"]
        key = pattrs["perftap.kind"] + " " + pattrs["perftap.operation"]
        by_key[key] = (int(dp["count"]), int(edp["asInt"]), dp["sum"])
    for op in doc["operations"]:
        count, errors, total = by_key[op["key"]]
        assert count == op["count"] and errors == op["errors"]
        assert abs(total - op["total_ms"]) <= 1e-6 * max(1, total)


PROM_NAME = r"[a-zA-Z_:][a-zA-Z0-9_:]*"
PROM_LABELS = (r"\{(?:[a-zA-Z_][a-zA-Z0-9_]*=\"(?:[^\"\\\n]|\\[\\\"n])*\""
               r"(?:,[a-zA-Z_][a-zA-Z0-9_]*=\"(?:[^\"\\\n]|\\[\\\"n])*\")*)?\}")
PROM_VALUE = r"(?:[-+]?(?:\d+\.?\d*(?:[eE][-+]?\d+)?|\.\d+)|NaN|[-+]Inf)"


def parse_prometheus(text):
    """A strict reader of the text exposition format 0.0.4: every sample
    belongs to the family declared just before it (HELP and TYPE first),
    each family appears once, no series twice.  Returns
    {family: (type, [(name, labels, value)])}."""
    import re
    sample_re = re.compile(r"^(%s)(%s)? (%s)$" % (PROM_NAME, PROM_LABELS,
                                                  PROM_VALUE))
    label_re = re.compile(r"([a-zA-Z_][a-zA-Z0-9_]*)=\"((?:[^\"\\]|\\.)*)\"")
    families, current, series = {}, None, set()
    assert text.endswith("\n")
    for line in text.split("\n")[:-1]:
        if line.startswith("# HELP "):
            name = line.split(" ")[2]
            assert re.fullmatch(PROM_NAME, name), line
            assert name not in families, "family twice: " + name
            families[name] = [None, []]
            current = name
            continue
        if line.startswith("# TYPE "):
            _, _, name, typ = line.split(" ")
            assert name == current and families[name][0] is None, line
            assert typ in ("counter", "gauge", "summary", "histogram",
                           "untyped"), line
            families[name][0] = typ
            continue
        assert not line.startswith("#") and line, repr(line)
        m = sample_re.match(line)
        assert m, "bad sample line: %r" % line
        name, labels, value = m.group(1), m.group(2) or "", m.group(3)
        typ = families[current][0]
        allowed = {current}
        if typ == "summary":
            allowed |= {current + "_sum", current + "_count"}
        assert name in allowed, (name, current)
        lab = dict(label_re.findall(labels))
        if typ == "summary":
            assert ("quantile" in lab) == (name == current), line
        key = (name, tuple(sorted(lab.items())))
        assert key not in series, "series twice: " + line
        series.add(key)
        families[current][1].append((name, lab, float(value)))
    return {k: tuple(v) for k, v in families.items()}


def test_prometheus_text_parses_and_matches_the_report(dumps):
    doc = report_json(dumps["a"])
    fam = parse_prometheus(run("report", "--format", "prometheus", dumps["a"],
                               check=0).stdout)
    typ, samples = fam["perftap_operation_duration_seconds"]
    assert typ == "summary"
    counts = {(l["kind"], l["operation"]): v for n, l, v in samples
              if n.endswith("_count")}
    p95 = {(l["kind"], l["operation"]): v for n, l, v in samples
           if l.get("quantile") == "0.95"}
    for op in doc["operations"]:
        k = (op["kind"], op["text"])
        assert counts[k] == op["count"]
        assert abs(p95[k] - op["p95_ms"] / 1000) <= 1e-8 * max(1, p95[k])
    quantiles = {l["quantile"] for n, l, v in samples if "quantile" in l}
    assert quantiles == {"0.5", "0.9", "0.95", "0.99"}
    errs = {(l["kind"], l["operation"]): v
            for n, l, v in fam["perftap_operation_errors_total"][1]}
    assert sum(errs.values()) == sum(o["errors"] for o in doc["operations"])
    hit = {l["pattern"]: v for n, l, v in fam["perftap_cache_hit_ratio"][1]}
    for p in doc["cache"]["patterns"]:
        assert abs(hit[p["pattern"]] - p["hit_rate"]) < 1e-8
    assert fam["perftap_events_total"][1][0][2] == doc["overview"]["events"]


def test_prometheus_checker_refuses_bad_text():
    good = "# HELP x_total h\n# TYPE x_total counter\nx_total{a=\"1\"} 3\n"
    parse_prometheus(good)
    for bad in (good.replace("} 3", "} three"),
                good + "x_total{a=\"1\"} 4\n",           # series twice
                good + "y 1\n",                          # undeclared family
                good.replace("{a=\"1\"}", "{a=1}"),      # unquoted label
                good.rstrip("\n")):                      # no final newline
        with pytest.raises(AssertionError):
            parse_prometheus(bad)


def test_html_shows_thresholds_and_regressions(dumps, tmp_path):
    import xml.etree.ElementTree as ET
    base = tmp_path / "base.json"
    run("baseline", "save", "-o", str(base), dumps["base"], check=0)
    out = run("compare", "--baseline", str(base), "--limit", "p95:10%",
              "--format", "html", dumps["slow"], check=0).stdout
    root = ET.fromstring(out.encode())
    x = "{http://www.w3.org/1999/xhtml}"
    rows = [tr for tr in root.iter(x + "tr") if tr.get("class") == "fail"]
    texts = ["".join(tr.itertext()) for tr in rows]
    assert any("GET /fir/{id}" in t and "regression" in t for t in texts), \
        texts
    out = run("check", "--thresholds", THRESHOLDS, "--format", "html",
              dumps["a"]).stdout
    root = ET.fromstring(out.encode())
    assert [h.text for h in root.iter(x + "h2")] == ["Thresholds"]
    table = [t for t in root.iter(x + "table") if t.get("class") == "thresholds"]
    assert len(table) == 1 and len(list(table[0].iter(x + "tr"))) > 1


def test_stats_memory_line_for_the_bench(dumps):
    p = run("report", "--stats-memory", "-o", os.devnull, dumps["a"], check=0)
    lines = [l for l in p.stderr.splitlines() if l.startswith("perftap: stats:")]
    assert len(lines) == 2, p.stderr
    fields = dict(kv.split("=", 1) for kv in lines[1].split()[2:])
    assert fields["phase"] == "load+analysis"
    assert int(fields["events"]) == report_json(dumps["a"])["overview"]["events"]
    assert float(fields["events_per_cpu_s"]) > 0
    assert float(fields["bytes_per_event"]) >= 0
    assert int(fields["operations"]) > 10
