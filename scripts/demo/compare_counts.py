"""compare_counts.py -- check perftap's per-route HTTP counts against Locust's.

Usage: compare_counts.py LOCUST_STATS_CSV EVENTS_JSONL

Locust names each request by its route template and counts every request it
sent that got an answer or failed; perftap counts every request the backend
served.  They must agree route by route.  Prints both columns; exits 1 on
any mismatch.
"""

import csv
import json
import sys
from collections import Counter


def locust_counts(path):
    counts = Counter()
    with open(path, newline="") as f:
        for row in csv.DictReader(f):
            if row["Name"] == "Aggregated":
                continue
            counts["%s %s" % (row["Type"], row["Name"])] += int(row["Request Count"])
    return counts


def perftap_counts(path):
    counts = Counter()
    with open(path) as f:
        for line in f:
            ev = json.loads(line)
            if ev.get("type") == "event" and ev.get("kind") == "http_in":
                counts[ev["text"]] += 1
    return counts


def main():
    want = locust_counts(sys.argv[1])
    got = perftap_counts(sys.argv[2])
    print("%-44s %10s %10s" % ("route", "locust", "perftap"))
    bad = 0
    for route in sorted(set(want) | set(got)):
        mark = "" if want[route] == got[route] else "   <-- mismatch"
        bad += bool(mark)
        print("%-44s %10d %10d%s" % (route, want[route], got[route], mark))
    print("%-44s %10d %10d" % ("total", sum(want.values()), sum(got.values())))
    if bad:
        print("demo: %d route(s) differ between Locust and perftap" % bad, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
