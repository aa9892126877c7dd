"""test_dump_versions.py -- the reader still reads version 1 dumps.

tests/data/dumps/v1-python.ptd was written by the version 1 shim (commit
10137a7) under a Python client of Redis, MySQL and http.server;
v1-python.events.jsonl is what that version's `perftap events` printed for
it.  The current reader must print the same records, field for field, and
add no version 2 field to a version 1 dump."""
import json
import os
import subprocess

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BUILD = os.environ.get("PERFTAP_BUILD", os.path.join(REPO, "build"))
PERFTAP = os.path.join(BUILD, "perftap")
V1 = "tests/data/dumps/v1-python.ptd"


def events(path):
    p = subprocess.run([PERFTAP, "events", path], cwd=REPO,
                       capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, p.stderr
    return [json.loads(line) for line in p.stdout.splitlines()]


def test_v1_dump_reads_as_version_1_did():
    with open(os.path.join(REPO, "tests/data/dumps/v1-python.events.jsonl")) as f:
        want = [json.loads(line) for line in f]
    got = events(V1)
    assert len(got) == len(want) > 100
    for g, w in zip(got, want):
        assert g == w


def test_v1_dump_has_every_kind_it_recorded():
    kinds = {e["kind"] for e in events(V1) if e["type"] == "event"}
    assert kinds == {"redis", "mysql", "http_in", "http_out"}


def test_v1_dump_report_counts():
    p = subprocess.run([PERFTAP, "report", "--format", "json", V1], cwd=REPO,
                       capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, p.stderr
    assert '"events"' in p.stdout
    nev = sum(1 for e in events(V1) if e["type"] == "event")
    assert nev == 94
