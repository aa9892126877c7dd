#!/usr/bin/python3
"""make_seeds.py -- seed corpora for the decoder fuzz targets, from the
recorded fixtures of tests/data/{mysql,redis,http}.

Each fixture becomes one input in the fuzz_feed.h layout: an option byte,
then (control byte, chunk) records, every recorded read/write cut into
pieces of at most 120 bytes.  Dump seeds (fuzz_dump_reader) come from
tests/fuzz/make_dump_seeds.c instead (small chunks, a few pages each).

usage: tests/fuzz/make_seeds.py OUTDIR
  -> OUTDIR/{mysql,redis,http}/
"""
import glob
import os
import re
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
DATA = os.path.join(HERE, "..", "data")


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
        write(outdir, "mysql", base, encode(0, c))
        write(outdir, "mysql", "raw-" + base, encode(0xff, c))
    for p in glob.glob(os.path.join(DATA, "redis", "*.resp")):
        c = framed_chunks(p, rb"([<>]) (\d+)$", b">")
        base = os.path.basename(p)
        write(outdir, "redis", base, encode(0, c))
        write(outdir, "redis", "raw-" + base, encode(0x81, c))
    for p in glob.glob(os.path.join(DATA, "http", "*.cap")):
        base = os.path.basename(p)
        c = framed_chunks(p, rb"([CS]) (\d+) \d+$", b"C")
        # server role: client bytes come IN; client role: they go OUT
        server = [(1 - d, b) for d, b in c]
        write(outdir, "http", "srv-" + base, encode(0x04, server))
        write(outdir, "http", "cli-" + base, encode(0x02, c))
        write(outdir, "http", "raw-" + base, encode(0xf9, server))


if __name__ == "__main__":
    main()
