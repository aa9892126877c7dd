"""capture_truth.py -- what the capture tests compare a dump with: the
servers' own counters turned into expectations, and the clients' own
per-operation timings.

    oplog(stderr)                 the "op TID NAME START LAT" lines the C
                                  clients (tests/clients/oplog.h) print
    assert_within_ops(evs, ops)   every event lies inside one operation of
                                  its thread, so its duration is bounded
                                  by the client's measured latency
    mysql_counts(evs)             Com_* / Questions the events account for
    assert_mysql_truth(...)       ... equal to SHOW GLOBAL STATUS deltas
    redis_words(records)          each Redis event's command word, counted
    redis_calls(evs)              commandstats calls the events account for
    assert_redis_truth(...)       ... equal to INFO commandstats and
                                  keyspace_hits / keyspace_misses deltas
    fresh_dir(parent, name)       a new private (0700) dump directory
"""

import bisect
import collections

import ptenv


# ------------------------------------------------------------ timings ---

def oplog(stderr):
    """{tid: [(start_ns, lat_ns, name), ...] sorted by start}."""
    ops = collections.defaultdict(list)
    for line in stderr.splitlines():
        parts = line.split()
        if len(parts) == 5 and parts[0] == "op":
            ops[int(parts[1])].append((int(parts[3]), int(parts[4]),
                                       parts[2]))
    assert "oplog lost" not in stderr, "client's operation log overflowed"
    for v in ops.values():
        v.sort()
    return dict(ops)


def assert_within_ops(evs, ops):
    """Each event of thread T lies within one operation T measured:
    op.start <= ev.start and ev.start + ev.duration <= op.start + op.lat
    (both clocks are CLOCK_MONOTONIC).  Returns {op index: events} per
    thread, for callers that check how many events each operation made."""
    assert evs, "no events to check"
    assert ops, "the client printed no operation log"
    per_op = collections.Counter()
    for ev in evs:
        mine = ops.get(ev["tid"])
        assert mine, f"event from a thread the client never timed: {ev}"
        starts = [o[0] for o in mine]
        i = bisect.bisect_right(starts, ev["start_ns"]) - 1
        assert i >= 0, f"event starts before the thread's first op: {ev}"
        start, lat, name = mine[i]
        end = ev["start_ns"] + ev["duration_ns"]
        assert end <= start + lat, (
            f"event outlasts the client's own measure of op #{i} {name} "
            f"(lat {lat} ns): {ev}")
        assert ev["duration_ns"] <= lat, (ev, lat)
        per_op[(ev["tid"], i)] += 1
    return per_op


# -------------------------------------------------------------- MySQL ---

# Statement (first words of the fingerprint) -> Com_* counter.
MYSQL_COM = (
    (("create", "table"), "Com_create_table"),
    (("drop", "table"), "Com_drop_table"),
    (("create", "database"), "Com_create_db"),
    (("create", "schema"), "Com_create_db"),
    (("drop", "database"), "Com_drop_db"),
    (("drop", "schema"), "Com_drop_db"),
    (("select",), "Com_select"),
    (("insert",), "Com_insert"),
    (("update",), "Com_update"),
    (("delete",), "Com_delete"),
    (("replace",), "Com_replace"),
    (("set",), "Com_set_option"),
    (("begin",), "Com_begin"),
    (("commit",), "Com_commit"),
    (("rollback",), "Com_rollback"),
)
MYSQL_CHECKED = sorted({c for _, c in MYSQL_COM})


def _com(stmt):
    words = stmt.strip().split()
    for prefix, com in MYSQL_COM:
        if tuple(words[:len(prefix)]) == prefix:
            return com
    return None


def mysql_counts(evs):
    """(Counter of Com_* counters, questions) that the mysql events
    account for.  A multi-statement event counts each statement; a
    PREPARE counts Com_stmt_prepare and no Question (MariaDB counts
    neither COM_STMT_PREPARE nor COM_STMT_CLOSE in Questions); an
    execute counts Com_stmt_execute, its statement's Com_* and a
    Question."""
    com = collections.Counter()
    questions = 0
    for ev in evs:
        text = ev["text"]
        if text == "CONNECT" and ev["flags"] & 128:  # PT_EV_API connect
            continue  # the handshake: no Question, no Com_*
        if text == "PING":
            continue  # MariaDB counts COM_PING in no Question
        if text.startswith("PREPARE "):
            com["Com_stmt_prepare"] += 1
            continue
        if ev["flags"] & 16:  # PT_EV_PREPARED
            com["Com_stmt_execute"] += 1
        stmts = [s for s in text.split(";") if s.strip()] or [text]
        for s in stmts:
            c = _com(s)
            if c:
                com[c] += 1
            questions += 1
    return com, questions


def mysql_connections(records):
    """MySQL connections the dumps saw open."""
    return [r for r in records if r.get("type") == "conn"
            and r["event"] == "open" and r["proto"] == "mysql"]


def assert_mysql_truth(before, after, records, extra_conns=0):
    """SHOW GLOBAL STATUS deltas equal what the dump's mysql events account
    for.  Questions also holds the `after` SHOW itself, the COM_QUIT of the
    `before` connection, and one COM_QUIT per traced connection (COM_QUIT
    has no reply, so no event); extra_conns adds untraced ones."""
    d = ptenv.delta(before, after)
    evs = ptenv.events(records, "mysql")
    com, questions = mysql_counts(evs)
    conns = len(mysql_connections(records)) + extra_conns
    assert questions == d["Questions"] - 2 - conns, (
        f"events account for {questions} questions, server counted "
        f"{d['Questions']} - 2 - {conns} connections", dict(com))
    for c in MYSQL_CHECKED + ["Com_stmt_prepare", "Com_stmt_execute"]:
        want = d.get(c, 0) - (1 if c == "Com_show_status" else 0)
        assert com[c] == want, (c, dict(com), {k: v for k, v in d.items()
                                             if k.startswith("Com_") and v})
    return evs


# -------------------------------------------------------------- Redis ---

def redis_words(records):
    """Counter of the lower-case command word of every Redis event."""
    words = collections.Counter()
    for ev in ptenv.events(records, "redis"):
        words[ev["text"].split(" ", 1)[0].lower()] += 1
    return words


def redis_calls(evs):
    """Counter of lower-case commands, as INFO commandstats counts them:
    an EXEC event stands for MULTI, its queued commands and EXEC."""
    calls = collections.Counter()
    for ev in evs:
        text = ev["text"]
        if text == "CONNECT" and ev["flags"] & 128:  # PT_EV_API connect
            continue  # redisConnect*: no command
        word = text.split(" ", 1)[0].lower()
        calls[word] += 1
        if ev["flags"] & 32 and "(" in text:  # PT_EV_TRANSACTION
            calls["multi"] += 1
            inner = text[text.index("(") + 1:text.rindex(")")]
            for part in inner.split(";"):
                if part.strip():
                    calls[part.split()[0].lower()] += 1
    return calls


def assert_redis_truth(cs_before, cs_after, ks_before, ks_after, records,
                       unknown=(), check_keyspace=True):
    """commandstats deltas (INFO excluded) equal the events' commands;
    keyspace hits and misses equal the events' cache_hits/cache_misses.
    `unknown`: commands the events name that Redis rejected as unknown
    (not in commandstats)."""
    evs = ptenv.events(records, "redis")
    seen = redis_calls(evs)
    for u in unknown:
        assert seen.pop(u, 0) >= 1, (u, seen)
    truth = collections.Counter()
    for k, v in ptenv.delta(cs_before, cs_after).items():
        if v and k != "info":  # "config|get" is "CONFIG ..." in a dump
            truth[k.split("|", 1)[0]] += v
    truth = dict(truth)
    assert dict(seen) == truth, (dict(seen), truth)
    if check_keyspace:
        hits = sum(e["cache_hits"] for e in evs)
        misses = sum(e["cache_misses"] for e in evs)
        assert (hits, misses) == (ks_after[0] - ks_before[0],
                                  ks_after[1] - ks_before[1]), (
            (hits, misses), ks_before, ks_after)
    return evs


def redis_snapshot(servers):
    """(commandstats, (hits, misses)) after a CONFIG RESETSTAT."""
    ptenv.redis_reset_stats(servers)
    return ptenv.redis_commandstats(servers), ptenv.redis_keyspace(servers)


def redis_truth_after(servers, snap, records, **kw):
    cs, ks = snap
    return assert_redis_truth(cs, ptenv.redis_commandstats(servers), ks,
                              ptenv.redis_keyspace(servers), records, **kw)


def fresh_dir(parent, name):
    d = parent / name
    d.mkdir(mode=0o700)
    d.chmod(0o700)
    return d
