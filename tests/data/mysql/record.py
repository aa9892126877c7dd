#!/usr/bin/python3
"""record.py -- record a MySQL client session as a perftap fixture.

Usage: record.py OUT.txt LISTEN_PORT UPSTREAM_HOST UPSTREAM_PORT

Accepts ONE client connection on 127.0.0.1:LISTEN_PORT, relays it to the
server, and writes every chunk as it was received, in arrival order:
    > hex      client -> server bytes (PT_DIR_OUT)
    < hex      server -> client bytes (PT_DIR_IN)
Lines starting with # are comments.  Exits when either side closes.
Only for fixtures against a private test server: the bytes include the
handshake (user name, password scramble), so never record real accounts.
"""
import select
import socket
import sys


def main():
    out, lport, uhost, uport = sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4])
    ls = socket.socket()
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind(("127.0.0.1", lport))
    ls.listen(1)
    print("ready", flush=True)
    cli, _ = ls.accept()
    srv = socket.create_connection((uhost, uport))
    with open(out, "w") as f:
        f.write("# recorded by tests/data/mysql/record.py\n")
        open_ = True
        while open_:
            r, _, _ = select.select([cli, srv], [], [])
            for s in r:
                data = s.recv(65536)
                if not data:
                    open_ = False
                    break
                if s is cli:
                    f.write("> " + data.hex() + "\n")
                    srv.sendall(data)
                else:
                    f.write("< " + data.hex() + "\n")
                    cli.sendall(data)
    cli.close()
    srv.close()


if __name__ == "__main__":
    main()
