#!/usr/bin/python3
"""make_seeds.py -- seed corpora for the decoder fuzz targets, from the
recorded fixtures of tests/data/{mysql,redis,http}.

Each fixture becomes one input in the fuzz_feed.h layout: an option byte,
then (control byte, chunk) records, every recorded read/write cut into
pieces of at most 120 bytes.  Dump seeds (fuzz_dump_reader) come from
tests/fuzz/make_dump_seeds.c instead (small chunks, a few pages each).

Seeds stay small: a fixture longer than SEED_MAX bytes is cut at record
boundaries into several seeds (a 174 KB redis-cli capture as one seed was
over -max_len and ran the Redis target at ~3,000 executions/s).  Also
writes seeds for fuzz_normalize (SQL, keys, paths, route tables, OpenAPI
JSON) and fuzz_sniff (first bytes of each capture, either direction).

usage: tests/fuzz/make_seeds.py OUTDIR
  -> OUTDIR/{mysql,redis,http,normalize,sniff}/   (the committed corpus is
     tests/fuzz/corpus; dump seeds: make_dump_seeds.c into OUTDIR/dump)
"""
import glob
import os
import re
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
DATA = os.path.join(HERE, "..", "data")


SEED_MAX = 4096
SEEDS_PER_FIXTURE = 6


def pieces(chunks):
    """chunks cut into runs whose encoding stays under SEED_MAX."""
    out, cur, size = [], [], 0
    for d, b in chunks:
        n = len(b) + (len(b) + 119) // 120
        if cur and size + n > SEED_MAX:
            out.append(cur)
            cur, size = [], 0
        cur.append((d, b[:SEED_MAX - 64]))
        size += n
    if cur:
        out.append(cur)
    return out[:SEEDS_PER_FIXTURE]


def write_split(outdir, sub, name, opt, chunks):
    parts = pieces(chunks)
    for i, part in enumerate(parts):
        suffix = "" if len(parts) == 1 else ".%d" % i
        write(outdir, sub, name + suffix, encode(opt, part))


def encode(opt, chunks):
    out = bytearray([opt])
    for d, b in chunks:  # d: 0 out, 1 in
        for i in range(0, max(len(b), 1), 120):
            piece = b[i:i + 120]
            if not piece:
                continue
            out.append(((len(piece) - 1) << 1) | d)
            out += piece
    return bytes(out)


def mysql_chunks(path):
    chunks = []
    for line in open(path):
        m = re.match(r"([<>]) ([0-9a-fA-F]+)\s*$", line)
        if m:
            chunks.append((1 if m.group(1) == "<" else 0,
                           bytes.fromhex(m.group(2))))
    return chunks


def framed_chunks(path, head, out_mark):
    """'MARK N ...' header lines each followed by N bytes and a newline."""
    data = open(path, "rb").read()
    pos, chunks = 0, []
    while pos < len(data):
        nl = data.find(b"\n", pos)
        if nl < 0:
            break
        m = re.match(head, data[pos:nl])
        pos = nl + 1
        if not m:
            continue
        n = int(m.group(2))
        chunks.append((0 if m.group(1) == out_mark else 1,
                       data[pos:pos + n]))
        pos += n + 1
    return chunks


def write(outdir, sub, name, blob):
    d = os.path.join(outdir, sub)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(blob)


def main():
    outdir = sys.argv[1]
    for p in glob.glob(os.path.join(DATA, "mysql", "*.txt")):
        c = mysql_chunks(p)
        base = os.path.basename(p)
        write_split(outdir, "mysql", base, 0, c)
        write_split(outdir, "mysql", "raw-" + base, 0xff, c)
        sniff_seeds(outdir, base, c)
    for p in glob.glob(os.path.join(DATA, "redis", "*.resp")):
        c = framed_chunks(p, rb"([<>]) (\d+)$", b">")
        base = os.path.basename(p)
        write_split(outdir, "redis", base, 0, c)
        write_split(outdir, "redis", "raw-" + base, 0x81, c)
        sniff_seeds(outdir, base, c)
    for p in glob.glob(os.path.join(DATA, "http", "*.cap")):
        base = os.path.basename(p)
        c = framed_chunks(p, rb"([CS]) (\d+) \d+$", b"C")
        # server role: client bytes come IN; client role: they go OUT
        server = [(1 - d, b) for d, b in c]
        write_split(outdir, "http", "srv-" + base, 0x04, server)
        write_split(outdir, "http", "cli-" + base, 0x02, c)
        write_split(outdir, "http", "raw-" + base, 0xf9, server)
        sniff_seeds(outdir, base, c)
    normalize_seeds(outdir)


def sniff_seeds(outdir, base, chunks):
    """fuzz_sniff input: byte 0 direction and role, then the first bytes
    the sniffer would see (the first chunk of each direction)."""
    for d in (0, 1):
        first = next((b for dd, b in chunks if dd == d), None)
        if first:
            write(outdir, "sniff", "%s.%d" % (base, d),
                  bytes([d]) + first[:512])


def normalize_seeds(outdir):
    """fuzz_normalize input: byte 0 picks the mode (see the target), the
    rest is text.  A few lines of each recorded corpus, route tables and
    OpenAPI documents, good and broken."""
    n = 0
    for name, mode in (("sql.txt", 0x40), ("keys.txt", 0x41),
                       ("routes.txt", 0x42)):
        lines = open(os.path.join(DATA, "normalize", name), "rb").read()
        for line in lines.splitlines()[:40:4]:
            write(outdir, "normalize", "%s.%d" % (name, n),
                  bytes([mode]) + line[:1024])
            n += 1
    tables = [b"/fir/{id}\n/fir/{id}/content\n/a/{x}/b/{y}\n",
              b"/fir/{id\n/{}\n//\n/a/{x}/{x}\n",
              b'{"openapi":"3.0.0","paths":{"/fir/{id}":{"get":{}},'
              b'"/fir/{id}/content":{},"/items/{item_id}":{}}}',
              b'{"openapi":"3.0.0","paths":{"/a/{":{}}}',
              b'{"openapi":"3.0.0","paths":[1,2]}',
              b'{"swagger":"2.0","paths":{"/x/{y}":null}}',
              b'{"openapi":']
    for i, t in enumerate(tables):
        write(outdir, "normalize", "routes.%d" % i, bytes([0x43]) + t)


if __name__ == "__main__":
    main()
