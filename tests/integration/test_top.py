"""test_top.py -- perftap top against a live capture: a process under the
shim issues Redis commands against the test Redis (and forks a worker
midway, whose new dump top must pick up); top runs under tmux and its
screen must show the operations and change as they run; q quits.  Plain
mode (stdout not a terminal) prints one block per interval.  top never
writes to the dumps."""
import hashlib
import os
import shutil
import subprocess
import sys
import time

import pytest

import ptenv

PERFTAP = os.path.join(os.environ.get("PERFTAP_BUILD", str(ptenv.BUILD)
                                      if hasattr(ptenv, "BUILD") else "build"),
                       "perftap")

CLIENT = r"""
import os, sys, time, redis
r = redis.Redis(host="127.0.0.1", port=int(os.environ["PERFTAP_REDIS_PORT"]))
forked = False
t0 = time.time()
while time.time() - t0 < float(sys.argv[1]):
    for i in range(20):
        r.set("fir:record:%d" % i, "x")
        r.get("fir:record:%d" % i)
        r.get("fir:missing:%d" % i)
    if not forked and time.time() - t0 > 2:
        forked = True
        if os.fork() == 0:
            # The worker: its own connection, its own command, its own dump.
            w = redis.Redis(host="127.0.0.1",
                            port=int(os.environ["PERFTAP_REDIS_PORT"]))
            while time.time() - t0 < float(sys.argv[1]):
                w.incr("fir:counter:worker")
                time.sleep(0.01)
            os._exit(0)
    time.sleep(0.05)
"""


def perftap():
    p = os.path.abspath(PERFTAP)
    if not os.access(p, os.X_OK):
        pytest.skip("build perftap first")
    return p


def start_client(servers, dump_dir, secs):
    env = ptenv.traced_env(dump_dir, servers=servers)
    return subprocess.Popen(["/usr/bin/python3", "-c", CLIENT, str(secs)],
                            env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE)


def tmux(*args):
    return subprocess.run(["tmux", *args], capture_output=True, text=True,
                          timeout=30)


def screen(name):
    return tmux("capture-pane", "-p", "-t", name).stdout


def wait_for(pred, secs=20):
    end = time.monotonic() + secs
    while time.monotonic() < end:
        v = pred()
        if v:
            return v
        time.sleep(0.2)
    return None


def digest(d):
    return {f: hashlib.sha256(open(os.path.join(d, f), "rb").read()).hexdigest()
            for f in sorted(os.listdir(d))}


@pytest.mark.skipif(not shutil.which("tmux"), reason="no tmux")
def test_top_under_tmux_shows_live_operations_and_updates(servers, dump_dir):
    top = perftap()
    client = start_client(servers, dump_dir, 25)
    name = "perftap-top-%d" % os.getpid()
    try:
        r = tmux("new-session", "-d", "-s", name, "-x", "150", "-y", "50",
                 "%s top -d 0.5 -w 5 %s" % (top, dump_dir))
        assert r.returncode == 0, r.stderr
        first = wait_for(lambda: (lambda s: s if "GET fir:record:*" in s
                                  else None)(screen(name)))
        assert first, screen(name)
        assert "SET fir:record:*" in first
        assert "perftap top" in first and "Redis" in first
        assert "fir:record:*" in first.split("Cache (key pattern)")[1]
        # The forked worker's dump appears later and is followed.
        later = wait_for(lambda: (lambda s: s if "fir:counter:worker"
                                  in s else None)(screen(name)))
        assert later, screen(name)
        # The screen changes from refresh to refresh (clock and counts).
        a = screen(name)
        b = wait_for(lambda: (lambda s: s if s != a else None)(screen(name)))
        assert b and b.splitlines()[0] != a.splitlines()[0]
        tmux("send-keys", "-t", name, "q")
        assert wait_for(lambda: tmux("has-session", "-t", name).returncode
                        != 0, 10), "q did not quit"
    finally:
        tmux("kill-session", "-t", name)
        client.kill()
        client.wait()


def test_top_plain_mode_prints_one_block_per_interval(servers, dump_dir):
    top = perftap()
    client = start_client(servers, dump_dir, 6)
    try:
        assert wait_for(lambda: os.listdir(dump_dir) and
                        subprocess.run([top, "top", "--iterations", "1", "-w",
                                        "5", str(dump_dir)],
                                       capture_output=True, text=True,
                                       timeout=60).stdout.count("GET ") > 0)
        p = subprocess.run([top, "top", "--iterations", "3", "-d", "0.3",
                            "-w", "5", "--sort", "p99", str(dump_dir)],
                           capture_output=True, text=True, timeout=60)
        assert p.returncode == 0, p.stderr
        assert p.stdout.count("perftap top ") == 3, p.stdout
        assert "\033[" not in p.stdout  # no screen control when logged
        for block in p.stdout.split("perftap top ")[1:]:
            assert "GET fir:record:*" in block
    finally:
        client.wait()
    # Finished capture: top reads it and leaves every byte as it was.
    before = digest(dump_dir)
    p = subprocess.run([top, "top", "--iterations", "2", "-d", "0.1", "-w",
                        "86400", str(dump_dir)], capture_output=True,
                       text=True, timeout=60)
    assert p.returncode == 0 and "GET fir:record:*" in p.stdout
    assert digest(dump_dir) == before


def test_top_bad_input_is_one_line_and_exit_2(tmp_path):
    top = perftap()
    bad = tmp_path / "not-a-dump"
    bad.write_text("hello")
    for args in ([str(tmp_path / "missing")], [str(bad)],
                 ["--sort", "nope", str(tmp_path)], []):
        p = subprocess.run([top, "top", "--iterations", "1", *args],
                           capture_output=True, text=True, timeout=60)
        assert p.returncode == 2, (args, p.stdout, p.stderr)
        assert len(p.stderr.splitlines()) == 1 and \
            p.stderr.startswith("perftap: "), p.stderr
