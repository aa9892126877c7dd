"""conftest.py -- pytest fixtures for the integration tests.

    servers       (session) the env file of scripts/servers.sh as a dict;
                  the test errors with "servers not started: run
                  scripts/servers.sh start" if it is missing, and if a
                  server does not answer.  Nothing is ever skipped.
    dump_dir      a fresh, empty 0700 directory for the shim's dumps
    redis_conn    a redis-py client (TCP) of the test Redis, closed after
    mysql_conn    a PyMySQL connection (TCP) to perftap_test, closed after

Everything else (run_traced, run_plain, read_events, events, ground truth
from the servers) is in ptenv.py: `import ptenv`.
"""

import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ptenv  # noqa: E402


def _check_answers(env):
    """Both servers answer on TCP; a clear message if not."""
    problems = []
    try:
        r = ptenv.redis_client(env, socket_connect_timeout=5)
        try:
            r.ping()
        finally:
            r.close()
    except Exception as e:  # any failure is the same news
        problems.append(f"Redis at {env['PERFTAP_REDIS_HOST']}:"
                        f"{env['PERFTAP_REDIS_PORT']}: {e}")
    try:
        ptenv.mysql_connect(env, connect_timeout=5).close()
    except Exception as e:
        problems.append(f"MariaDB at {env['PERFTAP_MYSQL_HOST']}:"
                        f"{env['PERFTAP_MYSQL_PORT']}: {e}")
    return problems


@pytest.fixture(scope="session")
def servers():
    try:
        env, why = ptenv.load_servers(), None
    except ptenv.ServersNotStarted as e:
        env, why = None, str(e)
    if why:  # outside the except: no "during handling of" noise
        pytest.fail(why, pytrace=False)
    problems = _check_answers(env)
    if problems:
        pytest.fail("servers not answering (scripts/servers.sh status): "
                    + "; ".join(problems), pytrace=False)
    return env


@pytest.fixture
def dump_dir(tmp_path):
    d = tmp_path / "dumps"
    d.mkdir(mode=0o700)
    os.chmod(d, 0o700)  # mkdir's mode is filtered by the umask
    return d


@pytest.fixture
def redis_conn(servers):
    r = ptenv.redis_client(servers)
    yield r
    r.close()


@pytest.fixture
def mysql_conn(servers):
    conn = ptenv.mysql_connect(servers)
    yield conn
    conn.close()
