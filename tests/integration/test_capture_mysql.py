"""test_capture_mysql.py -- MySQL traffic through the shim: PyMySQL over
TCP and over the Unix socket; statement counts in the dump match what
MariaDB itself counted (Questions, Com_*)."""

import collections

import ptenv

WORKLOAD = r"""
import os, sys, pymysql
unix = sys.argv[1] == "unix"
n = int(sys.argv[2])
""" + ptenv.MYSQL_CONNECT_KW + r"""
c = pymysql.connect(**kw)
cur = c.cursor()
cur.execute("DROP TABLE IF EXISTS cap_t")
cur.execute("CREATE TABLE cap_t (id INT PRIMARY KEY, v TEXT)")
cur.execute("DELETE FROM cap_t")
for i in range(n):
    cur.execute("INSERT INTO cap_t VALUES (%s, %s)", (i, "v" * (i * 50)))
    cur.execute("SELECT v FROM cap_t WHERE id = %s", (i,))
    print(len(cur.fetchall()[0][0]))
cur.execute("UPDATE cap_t SET v = 'x' WHERE id < %s", (n // 2,))
print(cur.rowcount)
try:
    cur.execute("SELECT * FROM no_such_table")
except Exception as e:
    print("error", e.args[0])
c.close()
"""

# Statement class -> the Com_* counter MariaDB keeps for it.
COM = {"select": "Com_select", "insert": "Com_insert",
       "update": "Com_update", "delete": "Com_delete",
       "create": "Com_create_table", "drop": "Com_drop_table"}


def _run(servers, dump_dir, mode, n, env=None):
    before = ptenv.mysql_status(servers)
    traced = ptenv.run_traced([ptenv.PYTHON, "-c", WORKLOAD, mode, str(n)],
                              dump_dir, env=env, timeout=60)
    assert traced.returncode == 0, ptenv.describe(traced)
    after = ptenv.mysql_status(servers)
    d = ptenv.delta(before, after)
    evs = ptenv.events(ptenv.read_events(dump_dir), "mysql")
    words = collections.Counter(e["text"].split(" ", 1)[0] for e in evs)
    # Questions also holds the `before` SHOW GLOBAL STATUS, the COM_QUIT
    # of its connection and the workload's own COM_QUIT (MariaDB counts
    # COM_QUIT, which has no reply and so no event).
    assert sum(words[w] for w in COM) == d["Questions"] - 3, (words, d)
    for word, com in COM.items():
        assert words[word] == d[com], (word, words, d)
    return evs, traced


def test_pymysql_tcp_counts_match_server_status(servers, dump_dir):
    evs, _ = _run(servers, dump_dir, "tcp", 10)
    errors = [e for e in evs if e["outcome"] == "error"]
    assert [e["status"] for e in errors] == [1146]
    upd = [e for e in evs if e["text"].startswith("update")]
    assert upd and upd[0]["rows"] == 5, upd


def test_pymysql_unix_socket_counts_match_server_status(servers, dump_dir):
    # No port: the greeting is recognised from its first bytes.
    _run(servers, dump_dir, "unix", 10)


def test_mysql_sniffed_without_port_list(servers, dump_dir):
    _run(servers, dump_dir, "tcp", 3, env={"PERFTAP_MYSQL_PORTS": ""})


def test_mysql_connection_record_has_server_version(servers, dump_dir):
    _run(servers, dump_dir, "tcp", 1)
    recs = ptenv.read_events(dump_dir)
    opens = [r for r in recs if r.get("type") == "conn"
             and r["event"] == "open" and r["proto"] == "mysql"]
    assert len(opens) == 1, opens
    assert "MariaDB" in opens[0]["text"], opens[0]
    assert opens[0]["server_conn_id"] > 0
