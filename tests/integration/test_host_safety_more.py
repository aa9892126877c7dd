"""test_host_safety_more.py -- more of "the program behaves exactly as
without perftap": the C clients' workloads print the same and exit the
same with and without the shim; fcntl(F_DUPFD) copies; an fd closed
behind the shim's back (fclose, raw close(2)) and its number reused; a
blocking read interrupted by signals (EINTR); a full disk; a setuid
program."""

import os
import shutil
import subprocess
import tempfile

import pytest

import capture_truth as ct
import ptenv

PROBE = ptenv.CLIENTS / "shim_probe"


def _head(recs):
    heads = [r for r in recs if r.get("type") == "dump"]
    assert len(heads) == 1, heads
    return heads[0]


@pytest.mark.parametrize("argv", [
    ["redis_client", "tcp", "commands", "10"],
    ["redis_client", "unix", "pipeline1000"],
    ["redis_client", "tcp", "multi", "5"],
    ["redis_client", "tcp", "threads16", "20"],
    ["mysql_client", "tcp", "text", "10"],
    ["mysql_client", "unix", "prepared", "10"],
    ["mysql_client", "tcp", "multi", "5"],
    ["mysql_client", "unix", "errors"],
    ["mysql_client", "tcp", "threads16", "10"],
], ids=lambda a: "-".join(a))
def test_c_client_workloads_print_the_same_with_and_without(servers,
                                                            dump_dir, argv):
    t = ptenv.run_same([ptenv.CLIENTS / argv[0], *argv[1:]], dump_dir)
    assert t.returncode == 0, ptenv.describe(t)
    recs = ptenv.read_events(dump_dir)
    assert ptenv.events(recs), "the traced run was recorded"
    assert sum(_head(recs)["drops"].values()) == 0


def test_fcntl_dupfd_copies_share_the_connection(servers, dump_dir):
    t = ptenv.run_same([PROBE, "fcntldup", "3"], dump_dir)
    assert t.stdout == "fcntldup: ok\n"
    evs = ptenv.events(ptenv.read_events(dump_dir), "redis")
    # Before fcntl was hooked the copies were untracked: no event at all.
    assert [e["text"] for e in evs] == ["PING"] * 6
    assert len({e["conn_id"] for e in evs}) == 1


def test_fd_closed_behind_the_shim_and_reused_is_not_decoded(servers,
                                                             dump_dir):
    t = ptenv.run_same([PROBE, "reuse", "3"], dump_dir)
    assert t.stdout == ("file reused the number: 1\n"
                        "socket reused the number: 1\nreuse: ok\n")
    recs = ptenv.read_events(dump_dir)
    evs = ptenv.events(recs, "redis")
    # The file and the UDP socket carried a RESP PING and its reply;
    # decoded as the stale connection's they made phantom events.
    assert [e["text"] for e in evs] == ["PING"] * 6, evs
    assert len({e["conn_id"] for e in evs}) == 2
    assert _head(recs)["counters"]["conn_undecodable"] == 0


def test_eintr_is_returned_and_the_stream_still_followed(servers,
                                                         dump_dir):
    t = ptenv.run_same([PROBE, "eintr", "3"], dump_dir)
    assert t.stdout == "eintr seen: 1\neintr: ok\n"
    evs = ptenv.events(ptenv.read_events(dump_dir), "redis")
    assert [e["text"] for e in evs] == ["BLPOP probe:eintr"] * 3 + ["PING"]
    assert all(e["outcome"] == "ok" for e in evs)
    # Each BLPOP waited its 50 ms timeout across the interrupted reads.
    assert all(e["duration_ns"] >= 50_000_000 for e in evs[:3]), evs


@pytest.fixture
def tiny_fs():
    """A 256 KiB tmpfs: room for a dump's header, not for its chunks."""
    d = tempfile.mkdtemp(prefix="perftap-full.")
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=256k,mode=0700",
                    "tmpfs", d], check=True)
    try:
        yield d
    finally:
        subprocess.run(["umount", d], check=True)
        os.rmdir(d)


def test_full_disk_leaves_the_program_alone_and_counts_drops(servers,
                                                             tiny_fs):
    argv = [ptenv.CLIENTS / "redis_client", "tcp", "commands", "5"]
    plain = ptenv.run_plain(argv)
    snap = ct.redis_snapshot(servers)
    traced = ptenv.run_traced(argv, tiny_fs)
    assert traced.returncode == plain.returncode == 0
    assert traced.stdout == plain.stdout
    cs_after = ptenv.redis_commandstats(servers)
    ops = sum(v for k, v in ptenv.delta(snap[0], cs_after).items()
              if k != "info") + 1  # NOSUCHCOMMAND: not in commandstats
    recs = ptenv.read_events(tiny_fs)
    head = _head(recs)
    lines = [ln for ln in traced.stderr.splitlines()
             if not ln.startswith("op ")]
    # Either said once on stderr, or every lost event counted.
    assert (len(lines) == 1 and lines[0].startswith("perftap:")) or (
        lines == [] and head["drops"]["disk"] >= ops
        and not ptenv.events(recs)), (lines, head["drops"])


def test_setuid_program_ignores_the_settings(servers, dump_dir):
    """ld.so preloads into a setuid program only a set-user-ID library
    from a system directory, named without a slash; the shim is then
    loaded but must ignore PERFTAP_* (secure_getenv / AT_SECURE)."""
    libdir = "/usr/lib/x86_64-linux-gnu"
    name = f"libperftap-captest-{os.getpid()}.so"
    work = tempfile.mkdtemp(prefix="perftap-suid.")
    os.chmod(work, 0o755)
    out = os.path.join(work, "dumps")
    os.mkdir(out, 0o700)
    os.chown(out, 65534, 65534)
    probe = os.path.join(work, "shim_probe")
    shutil.copy(PROBE, probe)
    shutil.copy(ptenv.LIB, os.path.join(libdir, name))
    try:
        os.chmod(os.path.join(libdir, name), 0o4755)
        # LD_PRELOAD for the probe only (setpriv itself starts as root
        # and would refuse the nobody-owned directory, correctly).
        run = ["setpriv", "--reuid=65534", "--regid=65534",
               "--clear-groups", "env", f"LD_PRELOAD={name}", probe]
        env = ptenv.traced_env(out, env={"LD_PRELOAD": None})
        # Control: not setuid, the same user -- the settings are obeyed.
        os.chmod(probe, 0o755)
        p = subprocess.run(run + ["pings", "2"], env=env,
                           capture_output=True, text=True, timeout=60)
        assert p.returncode == 0 and p.stdout == "pings: ok\n", p
        assert p.stderr == "", p.stderr
        assert len(os.listdir(out)) == 1, "control run wrote its dump"
        for f in os.listdir(out):
            os.unlink(os.path.join(out, f))
        # setuid root, run by nobody: AT_SECURE.  Loaded, and silent.
        os.chmod(probe, 0o4755)
        p = subprocess.run(run + ["loaded"], env=env, capture_output=True,
                           text=True, timeout=60)
        assert p.stdout == "perftap mapped: 1\n", p
        p = subprocess.run(run + ["pings", "2"], env=env,
                           capture_output=True, text=True, timeout=60)
        assert p.returncode == 0 and p.stdout == "pings: ok\n", p
        assert p.stderr == "", p.stderr
        assert os.listdir(out) == [], "settings ignored: no dump"
    finally:
        os.unlink(os.path.join(libdir, name))
        shutil.rmtree(work)


# asyncio under the shim's task attribution (shim/task.c reads the
# interpreter's tasks, futures and work items while they change): tasks
# cancelled while their to_thread job still runs, jobs on fresh pool
# threads, pools shut down (their threads exit) while other threads keep
# going, and Redis on the loop thread; the program prints the same.
ASYNCIO_CHURN = r"""
import asyncio, os, threading, time, concurrent.futures
import redis, redis.asyncio as aredis
H, P = os.environ["PERFTAP_REDIS_HOST"], int(os.environ["PERFTAP_REDIS_PORT"])
R = redis.Redis(host=H, port=P)
def job(i, pause):
    time.sleep(pause)
    return R.incr("churn:%d" % (i % 7))
async def one(i, ar):
    try:
        await asyncio.wait_for(asyncio.to_thread(job, i, 0.02 * (1 + i % 3)),
                               timeout=0.01 if i % 5 == 0 else 5)
        got = "done"
    except asyncio.TimeoutError:
        got = "cancelled"
    await ar.get("churn:%d" % (i % 7))
    return got
async def main():
    R.delete(*["churn:%d" % k for k in range(7)])
    ar = aredis.Redis(host=H, port=P)
    for rnd in range(3):
        loop = asyncio.get_running_loop()
        pool = concurrent.futures.ThreadPoolExecutor(max_workers=4 + rnd)
        loop.set_default_executor(pool)
        res = await asyncio.gather(*(one(i, ar) for i in range(40)))
        print(rnd, res.count("done"), res.count("cancelled"))
        pool.shutdown(wait=True)   # its threads exit
    await ar.close()
    time.sleep(0.2)                # abandoned jobs finish their INCRs
    # How many ran depends on timing (a job cancelled while queued never
    # runs): told on stderr, which run_same does not compare.
    import sys
    print(sum(int(R.get("churn:%d" % k) or 0) for k in range(7)),
          file=sys.stderr)
asyncio.run(main())
"""


# stacks=all: every send on the loop's Redis connection also has its
# Python frames taken (shim/stack.h, asyncio clients), tasks cancelled
# between a send and its reply included.
@pytest.mark.parametrize("stacks", ["slow", "all"])
def test_asyncio_cancellation_and_pool_churn_print_the_same(servers,
                                                           dump_dir, stacks):
    t = ptenv.run_same([ptenv.PYTHON, "-c", ASYNCIO_CHURN], dump_dir,
                       env={"PERFTAP_STACKS": stacks}, timeout=120)
    assert t.returncode == 0, ptenv.describe(t)
    ran = int(t.stderr.split()[-1])
    assert 96 <= ran <= 120, ptenv.describe(t)  # 24 cancelled at most
    recs = ptenv.read_events(dump_dir)
    incr = [e for e in ptenv.events(recs, "redis")
            if e["text"].upper().startswith("INCR")]
    assert len(incr) == ran  # every job's INCR, awaited or not, once
    assert sum(_head(recs)["drops"].values()) == 0
    if stacks == "all":
        gets = [e for e in ptenv.events(recs, "redis")
                if e["text"].upper().startswith("GET")]
        funcs = [[f["func"] for f in e["stack"]["python"]] for e in gets]
        # the loop's 120 GETs carry the awaiting coroutine, `one`; the 7
        # blocking ones at the end, main's
        assert sum("one" in f for f in funcs) == 120, funcs
        assert sum("main" in f and "one" not in f for f in funcs) == 7
        assert len(gets) == 127


def _dynamic_symbols(args):
    out = subprocess.run(args, check=True, capture_output=True,
                         text=True).stdout
    return out.splitlines()


def test_shim_never_calls_its_own_exported_hooks():
    """Every libc call the shim makes for itself goes through pt_sys
    (shim/sys.h), whose entries are the real functions: no relocation of
    libperftap.so may bind to a symbol the library itself defines (a
    close@@Base, fcntl64@@Base, fclose@@Base, write@@Base would be the
    shim's own call running through its hooks)."""
    assert shutil.which("objdump") and shutil.which("nm"), \
        "binutils not installed: scripts/install-deps.sh installs it"
    defined = set()
    for line in _dynamic_symbols(["nm", "-D", "--defined-only",
                                  str(ptenv.LIB)]):
        parts = line.split()
        if len(parts) == 3:
            defined.add(parts[2].split("@")[0])
    assert {"close", "fcntl64", "fclose", "write"} <= defined, \
        "the hooks this test is about are no longer exported"
    self_bound = []
    for line in _dynamic_symbols(["objdump", "-R", str(ptenv.LIB)]):
        parts = line.split()
        if len(parts) != 3 or not parts[1].startswith("R_"):
            continue
        name = parts[2].split("@")[0].split("+")[0]
        if name in defined:
            self_bound.append(parts[2])
    assert self_bound == []
