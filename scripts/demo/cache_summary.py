"""cache_summary.py -- what the AFIRGen team wanted to prove: how much a
cache hit saves on a FIR read, and how often the cache hits.

Usage: cache_summary.py REPORT_JSON

Reads perftap's JSON report (report/FORMAT.md) and prints, per key pattern,
the hit rate, and for the cache-aside reads (get_or_fetch: GET, then on a
miss the database and SETEX) the latency with and without a hit.
"""

import json
import sys


def ms(value):
    return "%8.3f ms" % value if value is not None else "%11s" % "-"


def main():
    with open(sys.argv[1]) as f:
        report = json.load(f)
    cache = report["cache"]
    print("Cache hit rate per key pattern (nil reply = miss):")
    for p in cache["patterns"]:
        rate = p["hit_rate"]
        print("  %-36s %6d hits %6d misses  %s" % (
            p["pattern"], p["hits"], p["misses"],
            "%5.1f%%" % (100 * rate) if rate is not None else "    -"))
    if cache["hit_rate"] is not None:
        print("  %-36s %6d hits %6d misses  %5.1f%%" % (
            "overall", cache["hits"], cache["misses"], 100 * cache["hit_rate"]))
    print()
    print("Cached versus uncached reads (get_or_fetch, GET to SETEX):")
    print("  %-36s %11s %11s %11s %11s" % ("key pattern", "hit mean", "hit p95",
                                          "miss mean", "miss p95"))
    for op in report["operations"]:
        if op["kind"] != "get_or_fetch":
            continue
        hit, miss = op["cache"]["hit"], op["cache"]["miss"]
        print("  %-36s %s %s %s %s" % (
            op["text"], ms(hit.get("mean_ms")), ms(hit.get("p95_ms")),
            ms(miss.get("mean_ms")), ms(miss.get("p95_ms"))))
    return 0


if __name__ == "__main__":
    sys.exit(main())
