"""test_capture_mysql_c.py -- libmariadb (tests/clients/mysql_client.c)
and mysqlslap through the shim, over TCP and the Unix socket: the dump's
statements equal MariaDB's own Questions / Com_* deltas, and the client's
own measured latency bounds every event (capture_truth.py).  The client
links libmariadb, so its statements come from the libmysqlclient API hooks
(shim/hooks_mysql.c: PT_EV_API, one CONNECT event per connection) and its
sockets are never decoded; mysqlslap is the same library."""

import re
import shutil

import pytest

import capture_truth as ct
import ptenv

CLIENT = ptenv.CLIENTS / "mysql_client"
API = 128  # PT_EV_API


@pytest.fixture(scope="module")
def big_packets(servers):
    """The 20 MiB blob needs max_allowed_packet above 16 MiB (a global:
    it applies to connections made after it is set)."""
    conn = ptenv.mysql_connect(servers)
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT @@GLOBAL.max_allowed_packet")
            old = cur.fetchone()[0]
            cur.execute("SET GLOBAL max_allowed_packet = 67108864")
        yield
        with conn.cursor() as cur:
            cur.execute(f"SET GLOBAL max_allowed_packet = {int(old)}")
    finally:
        conn.close()


def _run(servers, dump_dir, *args, env=None, timeout=60):
    before = ptenv.mysql_status(servers)
    p = ptenv.run_traced([CLIENT, *args], dump_dir, env=env,
                         timeout=timeout)
    assert p.returncode == 0, ptenv.describe(p)
    after = ptenv.mysql_status(servers)
    recs = ptenv.read_events(dump_dir)
    evs = ct.assert_mysql_truth(before, after, recs)
    per_op = ct.assert_within_ops(evs, ct.oplog(p.stderr))
    # Through the API only: no event from the socket decoder.
    assert all(e["flags"] & API for e in evs), [
        e for e in evs if not e["flags"] & API]
    conns = ct.mysql_connections(recs)
    connects = [e for e in evs if e["text"] == "CONNECT"]
    assert len(connects) == len(conns), (connects, conns)
    assert all(e["duration_ns"] > 0 and e["outcome"] == "ok"
               for e in connects), connects
    assert all(c["auth_ns"] > 0 for c in conns), conns
    evs = [e for e in evs if e["text"] != "CONNECT"]
    return p, recs, evs, per_op


@pytest.mark.parametrize("mode", ["tcp", "unix"])
def test_libmariadb_text_queries_match_server_counts(servers, dump_dir,
                                                     mode):
    p, _, evs, per_op = _run(servers, dump_dir, mode, "text", "20")
    assert p.stdout == "text: selected 20 updated 20 deleted 20\n"
    assert len(evs) == 2 + 3 * 20 + 1
    assert set(per_op.values()) == {1}, "one event per query"
    sel = [e for e in evs if e["text"].startswith("select")]
    assert all(e["rows"] == 1 and e["outcome"] == "ok" for e in sel), sel
    upd = [e for e in evs if e["text"].startswith("update")]
    assert len(upd) == 20 and all(e["rows"] == 1 for e in upd), upd


@pytest.mark.parametrize("mode", ["tcp", "unix"])
def test_libmariadb_compressed_connection_counted_through_api(
        servers, dump_dir, mode):
    """MYSQL_OPT_COMPRESS: the socket decoder cannot read it (counted and
    skipped); the API hooks count every statement, equal to the server's
    Questions / Com_* deltas (checked in _run)."""
    p, recs, evs, per_op = _run(servers, dump_dir, mode, "compress", "20")
    assert p.stdout == "text: selected 20 updated 20 deleted 20\n"
    assert len(evs) == 2 + 3 * 20 + 1
    assert set(per_op.values()) == {1}, "one event per query"
    head = [r for r in recs if r.get("type") == "dump"][0]
    assert sum(head["drops"].values()) == 0, head["drops"]
    # The socket decoder saw the handshake negotiate compression (so the
    # protocol really was compressed) and left the connection to the API.
    assert head["counters"]["conn_compressed"] == 1, head["counters"]


@pytest.mark.parametrize("mode", ["tcp", "unix"])
def test_libmariadb_nonblocking_calls_counted_once(servers, dump_dir, mode):
    """MYSQL_OPT_NONBLOCK: libmariadb runs the blocking calls (reached
    through its PLT: our hooks) in a coroutine that yields to the program
    at every wait; each statement is still one API event, inside the
    program's own measure from _start to the _cont that finished it."""
    p, _, evs, per_op = _run(servers, dump_dir, mode, "nonblock", "20")
    assert p.stdout == "nonblock: rows 20\n"
    sel = [e for e in evs if e["text"].startswith("select")]
    assert len(sel) == 20 and all(e["rows"] == 1 for e in sel), sel


def test_libmariadb_use_result_duration_runs_to_last_row(servers,
                                                         dump_dir):
    """mysql_use_result + slow mysql_fetch_row: the event lasts at least
    the client's own time from the query's return to its last row."""
    p, _, evs, _ = _run(servers, dump_dir, "tcp", "slowfetch", "200")
    m = re.fullmatch(r"slowfetch: rows 200 to_last_row_ns (\d+)\n",
                     p.stdout)
    assert m, p.stdout
    to_last = int(m.group(1))
    assert to_last >= 199 * 10**6  # 1 ms sleep per row
    sel = [e for e in evs if e["text"].startswith("select seq")]
    assert len(sel) == 1, evs
    assert sel[0]["rows"] == 200, sel
    assert sel[0]["duration_ns"] >= to_last, (sel, to_last)


@pytest.mark.parametrize("mode", ["tcp", "unix"])
def test_libmariadb_prepared_statements_match_server_counts(servers,
                                                            dump_dir, mode):
    p, _, evs, _ = _run(servers, dump_dir, mode, "prepared", "15")
    assert p.stdout == "prepared: sum 315 deleted 15\n"
    execs = [e for e in evs if e["flags"] & 16]
    assert len(execs) == 30
    assert {e["text"] for e in execs} == {
        "insert into capc_prep values(?,?)",
        "select v from capc_prep where id=?"}
    assert len([e for e in evs if e["text"].startswith("PREPARE ")]) == 2


def test_libmariadb_multi_statements_count_each_statement(servers,
                                                          dump_dir):
    p, _, evs, _ = _run(servers, dump_dir, "tcp", "multi", "10")
    assert p.stdout == "multi: results 30\n"
    multi = [e for e in evs if e["text"].count(";") == 2]
    assert len(multi) == 10, evs


def test_libmariadb_20mib_blob_round_trip(servers, dump_dir, big_packets):
    p, _, evs, _ = _run(servers, dump_dir, "tcp", "blob20m")
    assert p.stdout == "blob: sent 20971520 got 20971520 same 1\n"
    ins = [e for e in evs if e["flags"] & 16]
    sel = [e for e in evs if e["text"].startswith("select b")]
    assert len(ins) == 1 and len(sel) == 1, evs
    # More than one 16 MiB packet each way, one operation each.
    assert sel[0]["rows"] == 1 and ins[0]["rows"] == 1, (ins, sel)
    assert all(e["outcome"] == "ok" for e in evs)


def test_libmariadb_errors_carry_server_error_codes(servers, dump_dir):
    p, _, evs, _ = _run(servers, dump_dir, "unix", "errors")
    codes = [int(x) for x in re.findall(r": (?:1 )?(\d{4})$", p.stdout,
                                        re.M)]
    assert codes == [1064, 1146, 1062, 1054, 1146], p.stdout
    errs = [e["status"] for e in evs if e["outcome"] == "error"]
    assert errs == codes, evs
    assert p.stdout.endswith("after errors: rows 1\n")


def test_libmariadb_16_threads_each_connection_counted(servers, dump_dir):
    p, recs, evs, _ = _run(servers, dump_dir, "tcp", "threads16", "40")
    assert p.stdout == "threads: 16 ok 1\n"
    assert len(ct.mysql_connections(recs)) == 17
    work = [e for e in evs if "capc_thr values" in e["text"]
            or "capc_thr where" in e["text"]]
    assert len(work) == 16 * 40 * 2
    assert len({e["tid"] for e in work}) == 16
    assert len({e["conn_id"] for e in work}) == 16
    head = [r for r in recs if r.get("type") == "dump"][0]
    assert sum(head["drops"].values()) == 0, head["drops"]


def test_mysqlslap_counts_match_server(servers, dump_dir):
    slap = shutil.which("mariadb-slap") or shutil.which("mysqlslap")
    assert slap, "mysqlslap is installed with mariadb-client"
    before = ptenv.mysql_status(servers)
    argv = [slap, "-h", servers["PERFTAP_MYSQL_HOST"],
            "-P", servers["PERFTAP_MYSQL_PORT"], "--protocol=tcp",
            "-u", servers["PERFTAP_MYSQL_USER"],
            f"-p{servers['PERFTAP_MYSQL_PASSWORD']}",
            "--create-schema=capc_slap", "--auto-generate-sql",
            "--auto-generate-sql-load-type=mixed", "--concurrency=4",
            "--number-of-queries=200", "--iterations=1", "--silent"]
    p = ptenv.run_traced(argv, dump_dir, timeout=60)
    assert p.returncode == 0, ptenv.describe(p)
    after = ptenv.mysql_status(servers)
    recs = ptenv.read_events(dump_dir)
    evs = ct.assert_mysql_truth(before, after, recs)
    assert len({e["tid"] for e in evs}) >= 4, "4 client threads"
    assert ct.mysql_counts(evs)[0]["Com_insert"] > 0
