"""test_capture_redis_c.py -- hiredis (tests/clients/redis_client.c) and
redis-benchmark through the shim, over TCP and the Unix socket: the
dump's commands equal Redis's own INFO commandstats calls, its cache hits
and misses equal keyspace_hits / keyspace_misses, and the client's own
measured latency bounds every event (capture_truth.py).  hiredis's
commands come from its API (PT_EV_API, api_redis.c), each once; raw
socket RESP in the same program, and programs without hiredis, from the
socket decoder."""

import collections

import pytest

import capture_truth as ct
import ptenv

CLIENT = ptenv.CLIENTS / "redis_client"


API = 128  # PT_EV_API (dump_format.h)


def _run(servers, dump_dir, *args, unknown=(), check_keyspace=True,
         raw_socket=False):
    snap = ct.redis_snapshot(servers)
    p = ptenv.run_traced([CLIENT, *args], dump_dir, timeout=60)
    assert p.returncode == 0, ptenv.describe(p)
    recs = ptenv.read_events(dump_dir)
    evs = ct.redis_truth_after(servers, snap, recs, unknown=unknown,
                               check_keyspace=check_keyspace)
    # One CONNECT event (PT_EV_API, hooks_redis.c) per redisConnect, on
    # the API's connection id, inside the client's timed connect.
    ops = ct.oplog(p.stderr)
    connects = [e for e in evs if e["text"] == "CONNECT"]
    evs = [e for e in evs if e["text"] != "CONNECT"]
    assert connects and all(e["flags"] & 128 and e["duration_ns"] > 0
                            and e["outcome"] == "ok" for e in connects)
    ct.assert_within_ops(connects, ops)
    api = [e for e in evs if e["flags"] & API]
    assert {e["conn_id"] for e in connects} >= {e["conn_id"] for e in api}
    # Every command through hiredis's API (api_redis.c), none from the
    # socket decoder: counted once, equal to commandstats (checked above).
    # raw_socket: the program's own plain socket is the socket path's.
    assert api and (raw_socket or len(api) == len(evs)), "commands: API"
    per_op = ct.assert_within_ops(evs, ops)
    head = [r for r in recs if r.get("type") == "dump"][0]
    assert sum(head["drops"].values()) == 0, head["drops"]
    return p, evs, per_op


@pytest.mark.parametrize("mode", ["tcp", "unix"])
def test_hiredis_commands_match_commandstats_and_keyspace(servers,
                                                          dump_dir, mode):
    p, evs, per_op = _run(servers, dump_dir, mode, "commands", "25",
                          unknown=["nosuchcommand"])
    assert p.stdout == "commands: mget hits 75 deleted 51\n"
    assert set(per_op.values()) == {1}, "one event per redisCommand"
    errs = [(e["text"].split()[0], e["status"]) for e in evs
            if e["outcome"] == "error"]
    # PT_REDIS_ERR_ERR = 2, PT_REDIS_ERR_WRONGTYPE = 3 (dump_format.h)
    assert sorted(errs) == [("HINCRBY", 2), ("INCR", 3), ("LPUSH", 3),
                            ("NOSUCHCOMMAND", 2)], errs
    mget = [e for e in evs if e["text"].startswith("MGET")]
    assert all((e["cache_hits"], e["cache_misses"]) == (3, 1)
               for e in mget), mget


@pytest.mark.parametrize("mode", ["tcp", "unix"])
def test_hiredis_pipeline_of_1000_keeps_order(servers, dump_dir, mode):
    p, evs, per_op = _run(servers, dump_dir, mode, "pipeline1000")
    assert p.stdout == "pipeline: ok 500 values 500\n"
    # 1,000 events inside the first timed operation, 500 in the second.
    assert sorted(per_op.values()) == [500, 1000], per_op
    first = sorted((e for e in evs if not e["text"].startswith("DEL")),
                   key=lambda e: e["start_ns"])
    words = [e["text"].split()[0] for e in first]
    assert words == ["SET", "GET"] * 500
    gets = [e for e in first if e["text"].startswith("GET")]
    assert all(e["cache_hits"] == 1 for e in gets)
    assert sum(1 for e in evs if e["flags"] & 1) >= 998, "pipelined"


def test_hiredis_multi_exec_is_one_transaction_event(servers, dump_dir):
    # Keyspace compared (the default): the GETs and MGETs inside EXEC hit
    # and miss, and their EXEC event carries those hits and misses.
    p, evs, per_op = _run(servers, dump_dir, "tcp", "multi", "10")
    assert p.stdout == "multi: exec 10 errors 1\n"
    ex = [e for e in evs if e["text"].startswith("EXEC")]
    assert len(ex) == 11, ex
    assert all(e["flags"] & 32 for e in ex), "PT_EV_TRANSACTION"
    ok = [e for e in ex if e["outcome"] == "ok"]
    assert len(ok) == 10, ex
    assert all(e["text"] ==
               "EXEC (SET capc:tx:*; INCR capc:tx:*; GET capc:tx:*; "
               "GET capc:txmiss:*; MGET capc:tx:*)" and e["rows"] == 5
               for e in ok), ok
    # GET hit, GET miss, MGET 1 hit + 1 miss
    assert all((e["cache_hits"], e["cache_misses"]) == (2, 2)
               for e in ok), ok
    # A queued LPUSH failed (WRONGTYPE, PT_REDIS_ERR_WRONGTYPE = 3) inside
    # an EXEC that Redis answered: the transaction is an error, and its
    # GET still counts its hit.
    err = [e for e in ex if e["outcome"] != "ok"]
    assert [(e["text"], e["outcome"], e["status"], e["cache_hits"],
             e["cache_misses"]) for e in err] == [
        ("EXEC (SET capc:txerr:*; LPUSH capc:txerr:*; GET capc:txerr:*)",
         "error", 3, 1, 0)], err
    assert set(per_op.values()) == {1}, "one event per timed operation"


def test_hiredis_16_threads_share_the_process(servers, dump_dir):
    p, evs, _ = _run(servers, dump_dir, "tcp", "threads16", "100")
    assert p.stdout == "threads: 16 ok 1\n"
    assert len(evs) == 16 * (2 * 100 + 1)
    assert len({e["tid"] for e in evs}) == 16
    assert len({e["conn_id"] for e in evs}) == 16


@pytest.mark.parametrize("mode", ["tcp", "unix"])
def test_hiredis_argv_and_formatted_pipeline(servers, dump_dir, mode):
    p, evs, per_op = _run(servers, dump_dir, mode, "argv", "20")
    assert p.stdout == "argv: ok 1\n"
    # argv, preformatted, argv appended; one reply read with reply NULL.
    # All three are sent by the first redisGetReply: one start time.
    starts = collections.Counter(e["start_ns"] for e in evs)
    pipe = [e for e in evs if starts[e["start_ns"]] == 3]
    assert sorted(e["text"] for e in pipe) == [
        "GET capc:argv:*", "GET capc:argv:*", "GET capc:argvmiss:*"], pipe
    assert sorted(per_op.values()) == [1] * (20 * 4 + 1) + [3], per_op
    errs = [(e["text"], e["status"]) for e in evs if e["outcome"] == "error"]
    assert errs == [("LPUSH capc:argv:*", 3)], errs  # WRONGTYPE


@pytest.mark.parametrize("mode", ["tcp", "unix"])
def test_hiredis_subscribe_counts_as_the_socket_decoder(servers, dump_dir,
                                                        mode):
    # One event per (UN)SUBSCRIBE; the messages read with redisGetReply
    # are pushes, no events of their own (as on the socket path).
    p, evs, per_op = _run(servers, dump_dir, mode, "subscribe", "7")
    assert p.stdout == "subscribe: messages 7\n"
    words = sorted(e["text"].split()[0] for e in evs)
    assert words == ["PUBLISH"] * 7 + ["SUBSCRIBE", "UNSUBSCRIBE"], words
    assert all(e["outcome"] == "ok" for e in evs), evs
    assert set(per_op.values()) == {1}, per_op


@pytest.mark.parametrize("mode", ["tcp", "unix"])
def test_hiredis_and_a_raw_socket_are_each_counted_once(servers, dump_dir,
                                                        mode):
    p, evs, per_op = _run(servers, dump_dir, mode, "mixed", "25",
                          raw_socket=True)
    assert p.stdout == "mixed: ok 1\n"
    api = [e for e in evs if e["flags"] & API]
    raw = [e for e in evs if not e["flags"] & API]
    assert sorted(e["text"].split()[0] for e in api) == (
        ["GET"] * 25 + ["INCR"] * 25), "hiredis: its own commands only"
    assert sorted(e["text"].split()[0] for e in raw) == (
        ["DEL"] + ["GET"] * 25 + ["SET"] * 25), "the plain socket's"
    assert len({e["conn_id"] for e in api}) == 1
    assert len({e["conn_id"] for e in raw}) == 1
    assert {e["conn_id"] for e in api}.isdisjoint(e["conn_id"] for e in raw)
    # GET misses through the API, hits on the raw socket
    assert all(e["cache_misses"] == 1 for e in api if e["text"][:3] == "GET")
    assert all(e["cache_hits"] == 1 for e in raw if e["text"][:3] == "GET")
    assert set(per_op.values()) == {1}, per_op
    # Each connection opens and closes once, naming the same peer.
    conns = [r for r in ptenv.read_events(dump_dir) if r["type"] == "conn"
             and r["proto"] == "redis"]
    ids = {e["conn_id"] for e in evs}
    for cid in ids:
        mine = [(r["event"], r["family"], r["port"]) for r in conns
                if r["conn_id"] == cid]
        fam = "unix" if mode == "unix" else "inet"
        port = 0 if mode == "unix" else int(servers["PERFTAP_REDIS_PORT"])
        assert mine == [("open", fam, port), ("close", fam, port)], mine


def test_hiredis_reconnect_counts_the_new_socket_once(servers, dump_dir):
    # The new socket mostly reuses the old fd number: taken from the
    # socket path again before its first byte (commandstats equal).
    p, evs, per_op = _run(servers, dump_dir, "tcp", "reconnect", "10")
    assert p.stdout == "reconnect: ok 1\n"
    assert sorted(e["text"].split()[0] for e in evs) == (
        ["DEL"] * 10 + ["GET"] * 10 + ["SET"] * 10)
    assert all(e["outcome"] == "ok" for e in evs)
    assert set(per_op.values()) == {1}, per_op


@pytest.mark.parametrize("mode", ["tcp", "unix"])
def test_hiredis_async_is_left_to_the_socket_decoder(servers, dump_dir,
                                                     mode):
    # api_redis.h: the async API is not hooked; its non-blocking connect
    # leaves the socket to the socket path, which counts each command once
    # (hiredis's redisProcessCallbacks calls redisGetReply on an
    # untracked context: passed through).
    snap = ct.redis_snapshot(servers)
    p = ptenv.run_traced([CLIENT, mode, "async", "30"], dump_dir,
                         timeout=60)
    assert p.returncode == 0, ptenv.describe(p)
    assert p.stdout == "async: replies 120 ok 1\n"
    evs = ct.redis_truth_after(servers, snap, ptenv.read_events(dump_dir))
    assert len(evs) == 120 and not any(e["flags"] & API for e in evs)
    assert not any(e["text"] == "CONNECT" for e in evs)


def test_program_without_hiredis_is_the_socket_paths(servers, dump_dir):
    # redis-py: no hiredis in the process, no PT_EV_API, counts equal.
    import test_capture_redis as py
    snap = ct.redis_snapshot(servers)
    p = ptenv.run_traced([ptenv.PYTHON, "-c", py.WORKLOAD, "tcp", "10"],
                         dump_dir, timeout=60)
    assert p.returncode == 0, ptenv.describe(p)
    evs = ct.redis_truth_after(servers, snap, ptenv.read_events(dump_dir))
    assert len(evs) > 40 and not any(e["flags"] & API for e in evs)


@pytest.mark.parametrize("pipeline", ["1", "16"])
def test_redis_benchmark_counts_match_commandstats(servers, dump_dir,
                                                   pipeline):
    snap = ct.redis_snapshot(servers)
    argv = ["redis-benchmark", "-h", servers["PERFTAP_REDIS_HOST"],
            "-p", servers["PERFTAP_REDIS_PORT"], "-n", "2000", "-c", "8",
            "-P", pipeline, "-t", "set,get,incr,lpush,mset", "-q"]
    p = ptenv.run_traced(argv, dump_dir, timeout=60)
    assert p.returncode == 0, ptenv.describe(p)
    recs = ptenv.read_events(dump_dir)
    evs = ct.redis_truth_after(servers, snap, recs)
    calls = ct.redis_calls(evs)
    for cmd in ("set", "get", "incr", "lpush", "mset"):
        assert calls[cmd] == 2000, calls
    r = ptenv.redis_client(servers)
    try:
        r.delete("key:__rand_int__", "counter:__rand_int__", "mylist")
    finally:
        r.close()
