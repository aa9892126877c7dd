"""ptenv.py -- helpers shared by the integration tests: where things are,
how to run a program with and without the shim, how to read what it
recorded, and ground truth from the servers themselves.

Import it from a test (`import ptenv`); conftest.py puts this folder on
sys.path and wraps the common parts as fixtures (`servers`, `dump_dir`).

Paths:
    REPO     the repository root
    BUILD    $PERFTAP_BUILD (relative: from REPO) or REPO/build
    LIB      BUILD/libperftap.so        CMD      BUILD/perftap
    CLIENTS  BUILD/clients              PYTHON   /usr/bin/python3
    SERVERS_DIR, ENV_FILE   where scripts/servers.sh keeps its servers

Servers: `load_servers()` parses ENV_FILE into a dict of PERFTAP_* strings
(PERFTAP_MYSQL_HOST, _PORT, _SOCKET, _USER, _PASSWORD, _DB,
PERFTAP_REDIS_HOST, _PORT, _SOCKET).  Every helper that talks to a server
takes that dict.

Running: run_traced(argv, dump_dir) / run_plain(argv) return a
CompletedProcess; run_same(argv, dump_dir) runs both and asserts the same
exit and stdout; traced_env(dump_dir) / plain_env() give the same
environments for Popen.  MYSQL_CONNECT_KW is workload code (for `python3
-c`) that builds the connect arguments from that environment.  read_events(dump_dir) parses `perftap events`;
events(records, kind, field=value) filters; describe(proc) formats a run
for an assertion message.

Ground truth comes from this process, which is never preloaded: the
counters the servers keep (INFO commandstats / stats, SHOW GLOBAL STATUS),
read through redis-py and PyMySQL.  Note: reading them is itself traffic
(SHOW GLOBAL STATUS counts as a Question, INFO as a Redis call), so compare
with `delta()` over a known workload rather than with absolute values.
"""

import json
import os
import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def _from_repo(p):
    p = Path(p)
    return p if p.is_absolute() else REPO / p


BUILD = _from_repo(os.environ.get("PERFTAP_BUILD") or "build")
LIB = BUILD / "libperftap.so"
CMD = BUILD / "perftap"
CLIENTS = BUILD / "clients"
PYTHON = "/usr/bin/python3"
# Same rule as scripts/servers.sh.
SERVERS_DIR = _from_repo(os.environ.get("PERFTAP_SERVERS_DIR") or BUILD / "servers")
ENV_FILE = SERVERS_DIR / "env"

DEFAULT_TIMEOUT = 120  # seconds; a hung child fails its test, not the run

SERVER_KEYS = (
    "PERFTAP_MYSQL_HOST", "PERFTAP_MYSQL_PORT", "PERFTAP_MYSQL_SOCKET",
    "PERFTAP_MYSQL_USER", "PERFTAP_MYSQL_PASSWORD", "PERFTAP_MYSQL_DB",
    "PERFTAP_REDIS_HOST", "PERFTAP_REDIS_PORT", "PERFTAP_REDIS_SOCKET",
)


class ServersNotStarted(RuntimeError):
    pass


# ------------------------------------------------------------- servers ---

def load_servers(path=None):
    """The env file of scripts/servers.sh as a dict of strings.

    Raises ServersNotStarted if it is missing or incomplete."""
    path = Path(path) if path else ENV_FILE
    if not path.is_file():
        raise ServersNotStarted(
            f"servers not started: run scripts/servers.sh start "
            f"(no {path})")
    env = {}
    for line in path.read_text().splitlines():
        line = line.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        key, value = line.split("=", 1)
        env[key.strip()] = value.strip().strip("'\"")
    missing = [k for k in SERVER_KEYS if not env.get(k)]
    if missing:
        raise ServersNotStarted(
            f"servers not started: {path} lacks {', '.join(missing)}; "
            f"run scripts/servers.sh start")
    return env


def _servers_or_none():
    try:
        return load_servers()
    except ServersNotStarted:
        return None


# --------------------------------------------------------- subprocesses ---

def _child_env(env, servers):
    """os.environ, minus any LD_PRELOAD, plus the server settings, plus env.
    (Private; use plain_env or traced_env.)"""
    child = dict(os.environ)
    child.pop("LD_PRELOAD", None)
    if servers is None:
        servers = _servers_or_none()
    if servers:
        child.update(servers)
    if env:
        for k, v in env.items():
            if v is None:
                child.pop(k, None)
            else:
                child[k] = str(v)
    return child


def _run(argv, child_env, timeout, input, cwd):
    argv = [str(a) for a in argv]
    return subprocess.run(
        argv, env=child_env, cwd=cwd, input=input, timeout=timeout,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def traced_env(dump_dir, env=None, servers=None):
    """The environment run_traced gives its child (for Popen users).

    The shim decodes connections to the test servers' ports by port, as it
    would 3306/6379 in production; pass env={"PERFTAP_MYSQL_PORTS": ""} to
    test first-byte sniffing instead.  A value of None in env removes the
    variable."""
    if not LIB.is_file():
        raise FileNotFoundError(f"{LIB} not built: run make build-tests")
    if servers is None:
        servers = _servers_or_none()
    settings = {"LD_PRELOAD": str(LIB), "PERFTAP_DIR": str(dump_dir)}
    if servers:
        settings["PERFTAP_MYSQL_PORTS"] = f"3306,{servers['PERFTAP_MYSQL_PORT']}"
        settings["PERFTAP_REDIS_PORTS"] = f"6379,{servers['PERFTAP_REDIS_PORT']}"
    settings.update(env or {})
    return _child_env(settings, servers)


def run_traced(argv, dump_dir, env=None, timeout=DEFAULT_TIMEOUT,
               input=None, cwd=None, servers=None):
    """Run argv with LD_PRELOAD=LIB and PERFTAP_DIR=dump_dir.

    The child also gets the server settings (PERFTAP_MYSQL_PORT, ...) from
    the env file when it exists, and `env` on top.  Returns the
    CompletedProcess (text stdout/stderr captured); never raises on a
    non-zero exit, raises subprocess.TimeoutExpired after `timeout`."""
    return _run(argv, traced_env(dump_dir, env, servers), timeout, input, cwd)


def plain_env(env=None, servers=None):
    """The environment run_plain gives its child (for Popen users): no
    LD_PRELOAD, no PERFTAP_DIR unless env sets it, server settings, env."""
    child = _child_env(env, servers)
    if not (env and "PERFTAP_DIR" in env):
        child.pop("PERFTAP_DIR", None)
    return child


def run_plain(argv, env=None, timeout=DEFAULT_TIMEOUT, input=None,
              cwd=None, servers=None):
    """run_traced without the shim (no LD_PRELOAD, no PERFTAP_DIR)."""
    return _run(argv, plain_env(env, servers), timeout, input, cwd)


def describe(proc):
    """A CompletedProcess as text for an assertion message."""
    return (f"$ {' '.join(map(str, proc.args))}\nexit {proc.returncode}\n"
            f"--- stdout\n{proc.stdout}--- stderr\n{proc.stderr}")


def run_same(argv, dump_dir, env=None, timeout=60):
    """Run argv plain and traced; both must print the same and exit the
    same.  Returns the traced run."""
    plain = run_plain(argv, env=env, timeout=timeout)
    traced = run_traced(argv, dump_dir, env=env, timeout=timeout)
    assert traced.returncode == plain.returncode, (
        describe(plain) + describe(traced))
    assert traced.stdout == plain.stdout, describe(plain) + describe(traced)
    return traced


# ---------------------------------------------------------------- dumps ---

def dumps(dump_dir):
    """The dump files in dump_dir, sorted."""
    return sorted(Path(dump_dir).glob("*.ptd"))


def read_events(dump_dir, args=(), cmd=None, timeout=DEFAULT_TIMEOUT):
    """Every record of every dump in dump_dir, as dicts.

    Runs `perftap events [args] FILE...` and parses its JSON lines
    (objects with "type": "event", "conn" or "dump").  Returns [] when
    there is no dump.  Raises AssertionError with the command's output if
    it fails or prints a line that is not a JSON object."""
    files = dumps(dump_dir)
    if not files:
        return []
    cmd = str(cmd or CMD)
    proc = run_plain([cmd, "events", *args, *files], timeout=timeout)
    if proc.returncode != 0:
        raise AssertionError("perftap events failed\n" + describe(proc))
    records = []
    for n, line in enumerate(proc.stdout.splitlines(), 1):
        if not line.strip():
            continue
        try:
            rec = json.loads(line)
        except json.JSONDecodeError as e:
            raise AssertionError(
                f"perftap events: line {n} is not JSON ({e}): {line!r}")
        if not isinstance(rec, dict):
            raise AssertionError(
                f"perftap events: line {n} is not an object: {line!r}")
        records.append(rec)
    return records


def events(records, kind=None, **match):
    """The "event" records, optionally of one kind and with field values
    equal to `match` (e.g. events(recs, "redis", outcome="ok"))."""
    out = []
    for r in records:
        if r.get("type") != "event":
            continue
        if kind is not None and r.get("kind") != kind:
            continue
        if all(r.get(k) == v for k, v in match.items()):
            out.append(r)
    return out


# ---------------------------------------------------------- ground truth ---

def delta(before, after):
    """after - before for every numeric key of two counter dicts."""
    out = {}
    for k, v in after.items():
        b = before.get(k, 0)
        if isinstance(v, (int, float)) and isinstance(b, (int, float)):
            out[k] = v - b
    return out


def redis_client(servers, unix=False, **kw):
    """A redis-py client of the test server (TCP, or the Unix socket)."""
    import redis
    kw.setdefault("socket_timeout", 10)
    if unix:
        return redis.Redis(unix_socket_path=servers["PERFTAP_REDIS_SOCKET"],
                           **kw)
    return redis.Redis(host=servers["PERFTAP_REDIS_HOST"],
                       port=int(servers["PERFTAP_REDIS_PORT"]), **kw)


def redis_commandstats(servers):
    """{command: calls} from INFO commandstats, lower-case names
    ("get", "set", "client|setname"); INFO itself is counted by Redis."""
    r = redis_client(servers)
    try:
        info = r.info("commandstats")
    finally:
        r.close()
    out = {}
    for key, val in info.items():
        name = key[len("cmdstat_"):] if key.startswith("cmdstat_") else key
        calls = val.get("calls") if isinstance(val, dict) else None
        if calls is None and isinstance(val, str):  # "calls=3,usec=..."
            fields = dict(f.split("=", 1) for f in val.split(",") if "=" in f)
            calls = fields.get("calls")
        if calls is not None:
            out[name.lower()] = int(calls)
    return out


def redis_keyspace(servers):
    """(keyspace_hits, keyspace_misses) from INFO stats."""
    r = redis_client(servers)
    try:
        info = r.info("stats")
    finally:
        r.close()
    return int(info["keyspace_hits"]), int(info["keyspace_misses"])


def redis_reset_stats(servers):
    """CONFIG RESETSTAT: commandstats and keyspace hits/misses back to 0."""
    r = redis_client(servers)
    try:
        r.config_resetstat()
    finally:
        r.close()


# Workload code: `kw`, the PyMySQL / MySQLdb connect arguments for the
# test server, from the child's environment (run_traced and run_plain set
# PERFTAP_MYSQL_*).  Needs `os` imported and `unix` set (Unix socket or TCP).
MYSQL_CONNECT_KW = r"""
kw = dict(user=os.environ["PERFTAP_MYSQL_USER"],
          password=os.environ["PERFTAP_MYSQL_PASSWORD"],
          database=os.environ["PERFTAP_MYSQL_DB"], autocommit=True)
if unix:
    kw["unix_socket"] = os.environ["PERFTAP_MYSQL_SOCKET"]
else:
    kw.update(host=os.environ["PERFTAP_MYSQL_HOST"],
              port=int(os.environ["PERFTAP_MYSQL_PORT"]))
"""


def mysql_connect(servers, unix=False, **kw):
    """A PyMySQL connection as the test user to the test database."""
    import pymysql
    args = dict(user=servers["PERFTAP_MYSQL_USER"],
                password=servers["PERFTAP_MYSQL_PASSWORD"],
                database=servers["PERFTAP_MYSQL_DB"],
                connect_timeout=10, autocommit=True, charset="utf8mb4")
    if unix:
        args["unix_socket"] = servers["PERFTAP_MYSQL_SOCKET"]
    else:
        args["host"] = servers["PERFTAP_MYSQL_HOST"]
        args["port"] = int(servers["PERFTAP_MYSQL_PORT"])
    args.update(kw)
    return pymysql.connect(**args)


def _number(v):
    try:
        return int(v)
    except (TypeError, ValueError):
        try:
            return float(v)
        except (TypeError, ValueError):
            return v


def mysql_status(servers):
    """SHOW GLOBAL STATUS as {name: value} (numbers as int/float), e.g.
    Questions, Com_select, Com_stmt_execute, Com_stmt_prepare.  The SHOW
    itself adds 1 to Questions and to Com_show_status."""
    conn = mysql_connect(servers)
    try:
        with conn.cursor() as cur:
            cur.execute("SHOW GLOBAL STATUS")
            return {name: _number(value) for name, value in cur.fetchall()}
    finally:
        conn.close()


def mysql_variables(servers):
    """SHOW GLOBAL VARIABLES as {name: value} (strings)."""
    conn = mysql_connect(servers)
    try:
        with conn.cursor() as cur:
            cur.execute("SHOW GLOBAL VARIABLES")
            return dict(cur.fetchall())
    finally:
        conn.close()
