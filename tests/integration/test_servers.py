"""test_servers.py -- the private MariaDB and Redis of scripts/servers.sh
are the ones the other tests assume: right versions, reachable over TCP and
the Unix socket by the C clients and by Python, configured light, and the
ptenv helpers report what really happened."""

import os
import stat
import sys

import pytest

import ptenv


def test_env_file_names_every_setting_the_tests_read(servers):
    for key in ptenv.SERVER_KEYS:
        assert servers.get(key), f"{key} missing from {ptenv.ENV_FILE}"
    assert servers["PERFTAP_MYSQL_HOST"] == "127.0.0.1"
    assert servers["PERFTAP_REDIS_HOST"] == "127.0.0.1"
    for key in ("PERFTAP_MYSQL_SOCKET", "PERFTAP_REDIS_SOCKET"):
        mode = os.stat(servers[key]).st_mode
        assert stat.S_ISSOCK(mode), f"{servers[key]} is not a socket"


def test_c_clients_reach_both_servers_over_tcp_and_unix_socket(servers):
    ping = ptenv.CLIENTS / "server_ping"
    assert ping.is_file(), f"{ping} not built: run make build-tests"
    proc = ptenv.run_plain([ping], servers=servers)
    assert proc.returncode == 0, ptenv.describe(proc)
    oks = [line for line in proc.stdout.splitlines() if line.startswith("ok ")]
    assert len(oks) == 4, ptenv.describe(proc)


def test_c_client_reports_the_transport_that_fails(servers):
    # Proves the client can fail: a socket path that does not exist.
    ping = ptenv.CLIENTS / "server_ping"
    assert ping.is_file(), f"{ping} not built: run make build-tests"
    proc = ptenv.run_plain(
        [ping], servers=servers,
        env={"PERFTAP_REDIS_SOCKET": str(ptenv.SERVERS_DIR / "no.sock")})
    assert proc.returncode == 1, ptenv.describe(proc)
    assert "FAIL redis unix" in proc.stdout, ptenv.describe(proc)
    oks = [line for line in proc.stdout.splitlines() if line.startswith("ok ")]
    assert len(oks) == 3, ptenv.describe(proc)


@pytest.mark.parametrize("unix", [False, True], ids=["tcp", "unix"])
def test_mariadb_10_11_answers_as_the_test_user(servers, unix):
    conn = ptenv.mysql_connect(servers, unix=unix)
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT VERSION(), DATABASE(), CURRENT_USER(), 41 + 1")
            version, db, user, answer = cur.fetchone()
    finally:
        conn.close()
    assert version.startswith("10.11."), version
    assert "MariaDB" in version, version
    assert db == "perftap_test"
    assert user.startswith("perftap@"), user
    assert answer == 42


@pytest.mark.parametrize("unix", [False, True], ids=["tcp", "unix"])
def test_redis_7_answers(servers, unix):
    r = ptenv.redis_client(servers, unix=unix)
    try:
        assert r.ping() is True
        version = r.info("server")["redis_version"]
        key = f"perftap:test_servers:{os.getpid()}:{unix}"
        assert r.set(key, "v", ex=60) is True
        assert r.get(key) == b"v"
        r.delete(key)
    finally:
        r.close()
    assert version.startswith("7."), version


def test_mariadb_is_configured_light_and_loopback_only(servers):
    v = ptenv.mysql_variables(servers)
    assert v["bind_address"] == "127.0.0.1"
    assert v["port"] == servers["PERFTAP_MYSQL_PORT"]
    assert v["socket"] == servers["PERFTAP_MYSQL_SOCKET"]
    assert v["log_bin"] == "OFF"
    assert v["performance_schema"] == "OFF"
    assert v["character_set_server"] == "utf8mb4"
    assert v["local_infile"] == "ON"
    assert v["max_connections"] == "200"
    assert int(v["innodb_buffer_pool_size"]) == 64 * 1024 * 1024
    assert v["datadir"].rstrip("/").startswith(str(ptenv.SERVERS_DIR))


def test_redis_is_loopback_only_without_persistence(servers):
    r = ptenv.redis_client(servers)
    try:
        cfg = r.config_get("*")
    finally:
        r.close()
    assert cfg["bind"] == "127.0.0.1"
    assert cfg["port"] == servers["PERFTAP_REDIS_PORT"]
    assert cfg["save"] == ""
    assert cfg["appendonly"] == "no"
    assert cfg["unixsocket"] == servers["PERFTAP_REDIS_SOCKET"]
    assert cfg["unixsocketperm"] == "700"


def test_redis_ground_truth_counts_calls_hits_and_misses(servers):
    ptenv.redis_reset_stats(servers)
    r = ptenv.redis_client(servers, unix=True)
    key = f"perftap:test_servers:gt:{os.getpid()}"
    try:
        r.set(key, "1", ex=60)
        r.get(key)          # hit
        r.get(key + ":no")  # miss
        r.get(key + ":no")  # miss
        r.mget([key, key + ":no"])  # one hit, one miss
        r.delete(key)
    finally:
        r.close()
    calls = ptenv.redis_commandstats(servers)
    assert calls.get("set") == 1
    assert calls.get("get") == 3
    assert calls.get("mget") == 1
    assert ptenv.redis_keyspace(servers) == (2, 3)


def test_mysql_ground_truth_counts_selects_and_prepared_statements(servers):
    before = ptenv.mysql_status(servers)
    conn = ptenv.mysql_connect(servers)
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT 1")
            cur.execute("SELECT 2")
            cur.execute("PREPARE s FROM 'SELECT ?'")
            cur.execute("SET @a = 3")
            cur.execute("EXECUTE s USING @a")
    finally:
        conn.close()
    d = ptenv.delta(before, ptenv.mysql_status(servers))
    assert d["Com_select"] == 3  # 2 + the prepared SELECT
    assert d["Com_prepare_sql"] == 1
    assert d["Com_execute_sql"] == 1
    assert d["Questions"] >= 5


def test_run_plain_has_no_shim_and_run_traced_has_it(servers, dump_dir):
    plain = ptenv.run_plain(["/usr/bin/env"], env={"LD_PRELOAD": None},
                            servers=servers)
    assert plain.returncode == 0, ptenv.describe(plain)
    assert "LD_PRELOAD=" not in plain.stdout
    assert f"PERFTAP_MYSQL_PORT={servers['PERFTAP_MYSQL_PORT']}\n" in plain.stdout

    traced = ptenv.run_traced(["/usr/bin/env"], dump_dir, servers=servers)
    # The shim must leave a trivial program's behaviour alone.
    assert traced.returncode == 0, ptenv.describe(traced)
    assert f"LD_PRELOAD={ptenv.LIB}\n" in traced.stdout
    assert f"PERFTAP_DIR={dump_dir}\n" in traced.stdout
    assert (f"PERFTAP_REDIS_PORTS=6379,{servers['PERFTAP_REDIS_PORT']}\n"
            in traced.stdout)


def test_dump_dir_is_private_and_empty(dump_dir):
    assert stat.S_IMODE(os.stat(dump_dir).st_mode) == 0o700
    assert list(dump_dir.iterdir()) == []


def test_read_events_parses_json_lines_and_reports_failure(tmp_path, dump_dir):
    # A stand-in for `perftap events`, so the parser is tested on its own.
    fake = tmp_path / "fake-perftap"
    fake.write_text(
        f"#!{sys.executable}\n"
        "import sys\n"
        "assert sys.argv[1] == 'events'\n"
        "if sys.argv[2].endswith('bad.ptd'):\n"
        "    print('perftap: bad.ptd: not a dump', file=sys.stderr)\n"
        "    sys.exit(2)\n"
        "print('{\"type\":\"dump\",\"pid\":1}')\n"
        "print('{\"type\":\"event\",\"kind\":\"redis\",\"outcome\":\"ok\"}')\n"
        "print('{\"type\":\"event\",\"kind\":\"mysql\",\"outcome\":\"ok\"}')\n")
    fake.chmod(0o755)
    assert ptenv.read_events(dump_dir, cmd=fake) == []  # no dump, no run
    (dump_dir / "a.ptd").write_bytes(b"")
    recs = ptenv.read_events(dump_dir, cmd=fake)
    assert [r["type"] for r in recs] == ["dump", "event", "event"]
    assert [e["kind"] for e in ptenv.events(recs, "redis")] == ["redis"]
    assert len(ptenv.events(recs, outcome="ok")) == 2
    (dump_dir / "a.ptd").unlink()
    (dump_dir / "bad.ptd").write_bytes(b"")
    with pytest.raises(AssertionError, match="not a dump"):
        ptenv.read_events(dump_dir, cmd=fake)
