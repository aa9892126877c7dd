"""test_host_safety.py -- the program behaves exactly as without perftap:
same stdout and exit status, same errno after failing calls, fds closed
wholesale, fork, exec, vfork children, threads, signal handlers, and a
dump directory that cannot be used."""

import os

import pytest

import ptenv

PROBE = ptenv.CLIENTS / "shim_probe"


def _redis_events(dump_dir):
    return ptenv.events(ptenv.read_events(dump_dir), "redis")


def test_errno_after_failing_calls_is_unchanged(servers, dump_dir):
    t = ptenv.run_same([PROBE, "errno"], dump_dir)
    assert "connect refused: -1 ECONNREFUSED" in t.stdout
    assert "read closed fd: -1 EBADF" in t.stdout
    assert "recv nonblocking empty: -1 EAGAIN" in t.stdout
    assert "nonblocking connect: -1 EINPROGRESS" in t.stdout
    assert "errno-kept 1" in t.stdout
    assert t.stderr == ""
    # MSG_PEEK bytes are not decoded twice: one PING on that connection;
    # the non-blocking connection carried three.
    pings = [e for e in _redis_events(dump_dir) if e["text"] == "PING"]
    assert len(pings) == 4, pings


def test_program_closing_all_fds_keeps_working_and_recording(servers,
                                                             dump_dir):
    t = ptenv.run_same([PROBE, "closeall", "4"], dump_dir)
    assert "closeall: ok" in t.stdout
    assert "close_range: 0" in t.stdout
    # Four PINGs before close_range, four after on a new connection.
    assert len(_redis_events(dump_dir)) == 8
    assert len(ptenv.dumps(dump_dir)) == 1


def test_dup_aliases_share_the_connection(servers, dump_dir):
    t = ptenv.run_same([PROBE, "dup", "3"], dump_dir)
    assert "dup: ok" in t.stdout
    evs = _redis_events(dump_dir)
    assert len(evs) == 9
    assert len({e["conn_id"] for e in evs}) == 1


def test_bytewise_nonblocking_io_is_followed(servers, dump_dir):
    t = ptenv.run_same([PROBE, "bytewise", "5"], dump_dir)
    assert "bytewise: ok" in t.stdout
    assert [e["text"] for e in _redis_events(dump_dir)] == ["PING"] * 5


def test_fork_gives_one_dump_per_process(servers, dump_dir):
    t = ptenv.run_same([PROBE, "fork", "3"], dump_dir)
    assert "fork: ok" in t.stdout
    files = ptenv.dumps(dump_dir)
    assert len(files) == 2, files
    recs = ptenv.read_events(dump_dir)
    pids = {r["pid"] for r in ptenv.events(recs, "redis")}
    assert len(pids) == 2
    for pid in pids:
        assert len(ptenv.events(recs, "redis", pid=pid)) == 3


def test_exec_gives_a_second_dump_without_overwriting(servers, dump_dir):
    t = ptenv.run_same([PROBE, "exec", "2"], dump_dir)
    assert "pings: ok" in t.stdout
    files = ptenv.dumps(dump_dir)
    assert len(files) == 2, files
    recs = ptenv.read_events(dump_dir)
    heads = [r for r in recs if r.get("type") == "dump"]
    assert len({h["dump"] for h in heads}) == 2
    assert len(ptenv.events(recs, "redis")) == 4


SUBPROCESS_WORKLOAD = r"""
import os, subprocess, redis
r = redis.Redis(host=os.environ["PERFTAP_REDIS_HOST"],
                port=int(os.environ["PERFTAP_REDIS_PORT"]))
for i in range(5):
    r.set(f"hs:{i}", i)
    # vfork + close_range/close in the child: runs the hooks in our memory
    print(subprocess.run(["echo", str(i)], capture_output=True,
                         text=True).stdout.strip())
    print(r.get(f"hs:{i}"))
r.delete(*[f"hs:{i}" for i in range(5)])
"""


def test_vfork_children_leave_the_parent_tracked(servers, dump_dir):
    ptenv.redis_reset_stats(servers)
    ptenv.run_same([ptenv.PYTHON, "-c", SUBPROCESS_WORKLOAD], dump_dir)
    words = [e["text"].split()[0] for e in _redis_events(dump_dir)]
    # Two runs (plain, traced) hit Redis; the dump holds the traced one.
    assert words.count("SET") == 5 and words.count("GET") == 5, words
    assert words.count("DEL") == 1


THREADS_WORKLOAD = r"""
import os, threading, redis
def work(t):
    r = redis.Redis(host=os.environ["PERFTAP_REDIS_HOST"],
                    port=int(os.environ["PERFTAP_REDIS_PORT"]))
    for i in range(50):
        r.incr(f"th:{t}")
    r.delete(f"th:{t}")
    r.close()
ts = [threading.Thread(target=work, args=(t,)) for t in range(4)]
[t.start() for t in ts]
[t.join() for t in ts]
print("done")
"""


def test_threads_each_get_their_events(servers, dump_dir):
    t = ptenv.run_same([ptenv.PYTHON, "-c", THREADS_WORKLOAD], dump_dir)
    assert t.stdout == "done\n"
    evs = _redis_events(dump_dir)
    incr = [e for e in evs if e["text"].startswith("INCR")]
    assert len(incr) == 200
    assert len({e["tid"] for e in incr}) == 4


SIGNAL_WORKLOAD = r"""
import os, signal, redis
host, port = os.environ["PERFTAP_REDIS_HOST"], int(os.environ["PERFTAP_REDIS_PORT"])
main = redis.Redis(host=host, port=port)
other = redis.Redis(host=host, port=port)
other.ping()
fired = 0
def handler(sig, frame):
    global fired
    fired += 1
    other.incr("sig:handler")
signal.signal(signal.SIGALRM, handler)
signal.setitimer(signal.ITIMER_REAL, 0.001, 0.001)
n = 0
while fired < 20:
    main.incr("sig:main")
    n += 1
signal.setitimer(signal.ITIMER_REAL, 0, 0)
print("ok", int(main.get("sig:main")) == n)
main.delete("sig:main", "sig:handler")
"""


def test_signal_handler_using_another_connection_never_deadlocks(
        servers, dump_dir):
    t = ptenv.run_same([ptenv.PYTHON, "-c", SIGNAL_WORKLOAD], dump_dir)
    assert t.stdout == "ok True\n"
    assert any(e["text"].startswith("INCR")
               for e in _redis_events(dump_dir))


def test_unusable_dump_dir_says_so_once_and_steps_aside(servers, tmp_path):
    not_a_dir = tmp_path / "file"
    not_a_dir.write_text("")
    env = {"PERFTAP_DIR": str(not_a_dir)}
    plain = ptenv.run_plain([PROBE, "dup", "2"], env=env)
    traced = ptenv.run_traced([PROBE, "dup", "2"], str(not_a_dir), env=env)
    assert traced.returncode == plain.returncode == 0
    assert traced.stdout == plain.stdout
    lines = traced.stderr.splitlines()
    assert len(lines) == 1, traced.stderr
    assert lines[0].startswith(f"perftap: cannot write dumps in {not_a_dir}")
    assert lines[0].endswith("; tracing off")


def test_group_writable_dump_dir_is_refused(servers, tmp_path):
    d = tmp_path / "open"
    d.mkdir()
    os.chmod(d, 0o777)
    traced = ptenv.run_traced([PROBE, "pings", "1"], d)
    assert traced.returncode == 0 and traced.stdout == "pings: ok\n"
    assert traced.stderr.count("perftap: cannot write dumps in") == 1
    assert list(d.iterdir()) == []


def test_quiet_suppresses_the_line(servers, tmp_path):
    f = tmp_path / "file"
    f.write_text("")
    traced = ptenv.run_traced([PROBE, "pings", "1"], f,
                              env={"PERFTAP_QUIET": "1"})
    assert traced.returncode == 0 and traced.stderr == ""


@pytest.mark.parametrize("var,value", [("PERFTAP_MAX_SIZE", "lots"),
                                       ("PERFTAP_MODE", "ring"),
                                       ("PERFTAP_REDIS_PORTS", "99999")])
def test_bad_setting_says_so_once_and_steps_aside(servers, dump_dir, var,
                                                  value):
    traced = ptenv.run_traced([PROBE, "pings", "1"], dump_dir,
                              env={var: value})
    assert traced.returncode == 0 and traced.stdout == "pings: ok\n"
    lines = traced.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"perftap: {var}:"), lines
    assert ptenv.dumps(dump_dir) == []


def test_disable_does_nothing(servers, dump_dir):
    traced = ptenv.run_traced([PROBE, "pings", "2"], dump_dir,
                              env={"PERFTAP_DISABLE": "1"})
    assert traced.returncode == 0 and traced.stderr == ""
    assert ptenv.dumps(dump_dir) == []


def test_untracked_program_leaves_no_dump(dump_dir):
    t = ptenv.run_same(["ls", "/"], dump_dir)
    assert t.stderr == ""
    assert ptenv.dumps(dump_dir) == []


def test_record_command_runs_the_program_with_the_shim(servers, tmp_path):
    out = tmp_path / "rec"
    env = {"PERFTAP_LIB": str(ptenv.LIB)}
    p = ptenv.run_plain([ptenv.CMD, "record", "-o", out, "--redis-ports",
                         servers["PERFTAP_REDIS_PORT"], "--", PROBE,
                         "pings", "3"], env=env)
    assert p.returncode == 0, ptenv.describe(p)
    assert p.stdout == "pings: ok\n"
    assert len(ptenv.events(ptenv.read_events(out), "redis")) == 3
    assert (os.stat(out).st_mode & 0o777) == 0o700


def test_record_command_reports_a_missing_program(tmp_path):
    p = ptenv.run_plain([ptenv.CMD, "record", "-o", tmp_path / "r", "--",
                         "/nonexistent/prog"])
    assert p.returncode == 127
    assert p.stderr.startswith("perftap: /nonexistent/prog:")


def test_record_command_rejects_bad_values(tmp_path):
    p = ptenv.run_plain([ptenv.CMD, "record", "--max-size", "huge", "--",
                         "true"])
    assert p.returncode == 2
    assert "--max-size" in p.stderr
