"""stacks_workload.py -- issued under the shim by test_stacks.py: each SQL
query, Redis command and outbound HTTP call comes from a known function at
a line marked `# site:NAME`, some through the shared helpers repo_query
and cache_get (a repository layer).  The test finds the lines with
inspect, never by number.  Usage: stacks_workload.py HTTP_PORT"""

import os
import sys

import httpx
import MySQLdb
import pymysql
import redis

ROUNDS = 3


def repo_query(conn, sql, args=None):
    cur = conn.cursor()
    cur.execute(sql, args)  # site:repo_query
    return cur.fetchall()


def cache_get(r, key):
    return r.get(key)  # site:cache_get


def pymysql_direct(conn):
    cur = conn.cursor()
    cur.execute("SELECT %s AS stk_pymysql_direct", (1,))  # site:pymysql_direct
    return cur.fetchall()


def pymysql_layered(conn):
    return repo_query(conn, "SELECT %s AS stk_pymysql_layered", (2,))


def mysqldb_direct(conn):
    cur = conn.cursor()
    cur.execute("SELECT %s AS stk_mysqldb_direct", (3,))  # site:mysqldb_direct
    return cur.fetchall()


def mysqldb_layered(conn):
    return repo_query(conn, "SELECT %s AS stk_mysqldb_layered", (4,))


def redis_direct(r):
    r.set("stk:direct:1", "v")  # site:redis_direct


def redis_layered(r):
    return cache_get(r, "stk:layered:1")


def http_direct(client, base):
    return client.get(base + "/stk/direct").status_code  # site:http_direct


def main():
    port = int(sys.argv[1])
    env = os.environ
    my = dict(user=env["PERFTAP_MYSQL_USER"],
              password=env["PERFTAP_MYSQL_PASSWORD"],
              database=env["PERFTAP_MYSQL_DB"],
              host=env["PERFTAP_MYSQL_HOST"],
              port=int(env["PERFTAP_MYSQL_PORT"]))
    pm = pymysql.connect(**my)
    md = MySQLdb.connect(**my)
    r = redis.Redis(host=env["PERFTAP_REDIS_HOST"],
                    port=int(env["PERFTAP_REDIS_PORT"]))
    client = httpx.Client()
    base = "http://127.0.0.1:%d" % port
    for _ in range(ROUNDS):
        pymysql_direct(pm)
        pymysql_layered(pm)
        mysqldb_direct(md)
        mysqldb_layered(md)
        redis_direct(r)
        redis_layered(r)
        http_direct(client, base)
    client.close()
    pm.close()
    md.close()
    print("done")


if __name__ == "__main__":
    main()
