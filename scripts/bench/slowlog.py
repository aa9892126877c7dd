#!/usr/bin/python3
"""slowlog.py -- turn the MySQL events of a perftap dump into a MariaDB slow
log of the same queries, for pt-query-digest (the report-speed anchor).

usage: perftap events DUMP | slowlog.py MAX_QUERIES > slow.log

Reads `perftap events` JSON lines on stdin, keeps the first MAX_QUERIES
MySQL events, puts a literal back in place of every `?` of each
fingerprint (numbers for ids and limits, quoted strings elsewhere, so that
pt-query-digest has real statements to fingerprint), and writes one slow
log entry per event with its real duration, in MariaDB 10.11's format.
Prints the number of entries written on stderr.
"""
import json
import sys
import time


def literal(i, prev):
    """A literal for the i-th placeholder; prev is the text before it."""
    tail = prev.rstrip().lower()
    if tail.endswith(("id =", "id <", "limit", "id >")) or "count" in tail[-12:]:
        return str(1000 + i * 7919 % 100000)
    return "'FIR-%08x-20260115%06d'" % (0x1A2B3C4D + i, i % 1000000)


def fill(text, n):
    parts = text.split("?")
    out = [parts[0]]
    for k, p in enumerate(parts[1:]):
        out.append(literal(n + k, "".join(out)))
        out.append(p)
    return "".join(out)


def main():
    limit = int(sys.argv[1])
    w = sys.stdout.write
    w("/usr/sbin/mariadbd, Version: 10.11.6-MariaDB-0+deb12u1-log (Debian 12). "
      "started with:\nTcp port: 3306  Unix socket: /run/mysqld/mysqld.sock\n"
      "Time                Id Command  Argument\n")
    n = 0
    anchor = None
    for line in sys.stdin:
        if n >= limit:
            break
        ev = json.loads(line)
        if ev.get("type") == "dump":
            anchor = (int(ev["realtime_anchor_ns"]), int(ev["monotonic_anchor_ns"]))
            continue
        if ev.get("type") != "event" or ev.get("kind") != "mysql":
            continue
        start = int(ev["start_ns"])
        wall = (anchor[0] + start - anchor[1]) / 1e9 if anchor else time.time()
        tm = time.gmtime(wall)
        dur = int(ev["duration_ns"]) / 1e9
        sql = fill(ev["text"], n)
        w("# Time: %s\n" % time.strftime("%y%m%d %H:%M:%S", tm))
        w("# User@Host: afirgen[afirgen] @ localhost [127.0.0.1]\n")
        w("# Thread_id: %d  Schema: afirgen  QC_hit: No\n" % int(ev["conn_id"]))
        w("# Query_time: %.6f  Lock_time: 0.000012  Rows_sent: %d  "
          "Rows_examined: %d\n" % (dur, int(ev["rows"]), int(ev["rows"])))
        w("# Rows_affected: 0  Bytes_sent: %d\n" % int(ev["bytes_in"]))
        w("SET timestamp=%d;\n%s;\n" % (int(wall), sql))
        n += 1
    sys.stderr.write("%d\n" % n)


if __name__ == "__main__":
    try:
        main()
    except BrokenPipeError:
        pass
