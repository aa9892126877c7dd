"""austin_workload.py -- run under the shim by test_stacks_austin.py while
austin samples it: each operation is slow (50 ms on the server's side, so
that a 1 ms sampler sees it in flight many times over) and is issued from a
known function, some through the helper layer.  Prints "ready", waits for
a line on stdin (the sampler has attached), runs, prints "done".
Usage: austin_workload.py HTTP_PORT"""

import os
import sys

import httpx
import MySQLdb
import pymysql
import redis

ROUNDS = 8
EMPTY_LIST = "stk:austin:empty"


def slow_query(conn, sql):
    cur = conn.cursor()
    cur.execute(sql)
    return cur.fetchall()


def pymysql_sleep(conn):
    return slow_query(conn, "SELECT SLEEP(0.05) AS stk_austin_pymysql")


def mysqldb_sleep(conn):
    cur = conn.cursor()
    cur.execute("SELECT SLEEP(0.05) AS stk_austin_mysqldb")
    return cur.fetchall()


def redis_block(r):
    return r.blpop([EMPTY_LIST], timeout=0.05)


def http_slow(client, base):
    return client.get(base + "/stk/austin/slow").status_code


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
    r.delete(EMPTY_LIST)
    client = httpx.Client()
    base = "http://127.0.0.1:%d" % port
    print("ready", flush=True)
    sys.stdin.readline()
    for _ in range(ROUNDS):
        pymysql_sleep(pm)
        mysqldb_sleep(md)
        redis_block(r)
        http_slow(client, base)
    client.close()
    pm.close()
    md.close()
    print("done", flush=True)


if __name__ == "__main__":
    main()
