#!/usr/bin/python3
"""scenario_pymysql.py PORT -- the PyMySQL session recorded in pymysql.txt.

PyMySQL (pure Python) negotiates classic EOF packets.  Run through
record.py against scripts/servers.sh's MariaDB (user perftap/perftap).
"""
import os
import sys

import pymysql
from pymysql.constants import CLIENT

port = int(sys.argv[1])
csv = "/tmp/perftap_infile.csv"
with open(csv, "w") as f:
    f.write("1,alpha\n2,beta\n3,gamma\n")
c = pymysql.connect(host="127.0.0.1", port=port, user="perftap",
                    password="perftap", database="perftap_test",
                    client_flag=CLIENT.MULTI_STATEMENTS, local_infile=True,
                    autocommit=True)
cur = c.cursor()
cur.execute("drop table if exists fx")                          # 1 OK
cur.execute("create table fx (id int primary key, name varchar(20))")  # 2
cur.execute("insert into fx values (10, 'x'), (11, 'y')")       # 3 OK rows 2
cur.execute("select id, name from fx order by id")              # 4 rows 2
cur.fetchall()
try:
    cur.execute("select * from nosuch_table")                   # 5 ERR 1146
except pymysql.MySQLError:
    pass
cur.execute("load data local infile '%s' into table fx "
            "fields terminated by ','" % csv)                   # 6 OK rows 3
cur.execute("select 1; update fx set name = 'z' where id = 1; "
            "select id from fx")                                # 7 multi
while cur.nextset():
    pass
c.ping(reconnect=False)                                         # 8 PING
c.select_db("perftap_test")                                     # 9 INIT_DB
cur.execute("select repeat('a', 300) as big")                   # 10 rows 1
cur.fetchall()
c.close()                                                       # QUIT
os.unlink(csv)
