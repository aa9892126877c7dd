#!/usr/bin/python3
"""gen_corpus.py -- generate the SQL, key and route inputs of the
normalizer's differential corpus (tests/data/normalize/*.txt).

Seeded, so the same inputs come out on every run.  The expected outputs
were recorded from the implementation that the corpus guards (see
record_corpus.c); a rewrite must reproduce them byte for byte.

usage: gen_corpus.py sql|keys|routes > inputs (one escaped input a line)
"""
import random
import sys

R = random.Random(20260115)

KW = ["SELECT", "select", "FROM", "from", "WHERE", "where", "AND", "and",
      "OR", "IN", "in", "NOT", "NULL", "null", "TRUE", "False", "VALUES",
      "values", "VALUE", "LIMIT", "limit", "OFFSET", "offset", "ASC", "asc",
      "DESC", "CALL", "call", "USE", "INSERT", "INTO", "UPDATE", "SET",
      "DELETE", "ORDER", "BY", "GROUP", "HAVING", "JOIN", "ON", "AS", "IS",
      "LIKE", "BETWEEN", "CASE", "WHEN", "THEN", "ELSE", "END", "INTERVAL",
      "DISTINCT", "UNION", "ALL", "EXISTS", "DIV", "MOD", "XOR", "REGEXP",
      "RLIKE", "ANY", "SOME", "RETURN", "ESCAPE", "DEFAULT", "MATCH",
      "AGAINST", "COUNT", "NOW", "intervals", "Limits", "nulls", "inn"]
IDENT = ["fir_records", "FIR_Records", "fir_number", "id", "created_at",
         "status", "t", "t1", "t_01", "logs_2024_01", "a_1_22_333", "sha256",
         "x", "b", "n", "_utf8mb4", "_binary", "fir_?", "$col", "@var",
         "@@session.x", "caf\u00e9", "a$b", "X", "B", "N", "e", "E", "_",
         "a_", "a__1", "A_B_C", "descr"]
LIT = ["1", "42", "-5", "+2", "12.5", ".5", "1e10", "1.5E-3", "2e+4",
       "0x1F", "0b101", "123abc", "1.", "1e", "1e+", "'x'", "'it''s'",
       "'it\\'s'", "\"dq\"", "\"a\"\"b\"", "X'4142'", "x'41'", "B'01'",
       "N'abc'", "_utf8mb4'x'", "'FIR-1a2b3c4d-20260115093000'",
       "'2026-01-15 09:30:00'", "?", "%s", "%d", "%(name)s", "%(x", ":name",
       ":1", "$1", "$", "%", "'unterminated", "\"unterm", "''", "'a\\\\'"]
PUNCT = ["(", ")", ",", ";", ";;", ".", "=", "<", ">", "<=", ">=", "<>",
         "!=", "<=>", ":=", "<<", ">>", "||", "&&", "|", "&", "->", "->>",
         "+", "-", "*", "/", "%", "!", "~", "^", "{", "}", "[", "]", "--",
         "- -", "\\"]
GAPS = [" ", " ", " ", "  ", "\n", "\t", "", "", "/* c */", "/*! v */",
        "/* a /* b */ c */", "-- x\n", "--\n", "# h\n", "\r\n", "\x00",
        "\x01", "\x7f"]
TAILS = ["", "", "", ";", " ;", "/* open", "-- tail", "'open", "`open",
         "(", "/*"]

TEMPLATES = [
    "SELECT * FROM fir_records WHERE fir_number={s}",
    "SELECT id, fir_number FROM fir_records WHERE created_at < {s} OR "
    "(created_at = {s} AND id < {n}) ORDER BY created_at DESC, id DESC "
    "LIMIT {n}",
    "INSERT INTO fir_records (fir_number, complainant, description, status, "
    "created_at, updated_at, police_station) VALUES ({s}, {s}, {s}, {s}, "
    "{s}, {s}, {s})",
    "INSERT INTO t (a,b) VALUES {rows}",
    "SELECT * FROM t WHERE id IN ({list})",
    "SELECT * FROM t WHERE id NOT IN ({list}) LIMIT {n} OFFSET {n}",
    "UPDATE fir_records SET status={s}, finalized_at=NOW() WHERE "
    "fir_number={s}",
    "SELECT status, COUNT(*), AVG(TIMESTAMPDIFF(SECOND, created_at, "
    "finalized_at)) FROM fir_records WHERE created_at >= NOW() - "
    "INTERVAL {n} HOUR GROUP BY status",
    "SELECT * FROM firs WHERE MATCH(description) AGAINST({s} IN NATURAL "
    "LANGUAGE MODE)",
    "CALL finalize_fir({s}, {n})",
    "DELETE FROM sessions WHERE expires_at < {s} LIMIT {n}",
    "SELECT a FROM t LIMIT {n}, {n}",
    "INSERT INTO t VALUES ({n}, NOW()), ({n}, NOW())",
    "INSERT INTO t (a, b) VALUES ({n}, {n}) ON DUPLICATE KEY UPDATE a = "
    "VALUES(a), b = b + {n}",
    "SELECT `Fir`.`id` FROM `FIR_{n}` AS `Fir` WHERE x = -{n}",
    "BEGIN; SELECT {n} ; COMMIT;",
    "USE shard_{n}",
    "SELECT * FROM logs_{n}_{n} WHERE a = {s} AND b LIKE {s} ESCAPE {s}",
]


def lit_s():
    return R.choice(["'%s'" % R.choice(["FIR-1a2b", "x", "it''s", "a b c",
                                        "2026-01-15"]), "%s", "?",
                     "\"dq\"", ":v", "$2", "%(name)s", "NULL"])


def lit_n():
    return R.choice(["1", "20", "1234", "-3", "%s", "?", "0x10", "1e3"])


def fill(t):
    out = []
    i = 0
    while i < len(t):
        if t.startswith("{s}", i):
            out.append(lit_s()); i += 3
        elif t.startswith("{n}", i):
            out.append(lit_n()); i += 3
        elif t.startswith("{list}", i):
            out.append(", ".join(R.choice([lit_s, lit_n])()
                                 for _ in range(R.randint(1, 8)))); i += 6
        elif t.startswith("{rows}", i):
            rows = []
            for _ in range(R.randint(1, 5)):
                rows.append("(%s, %s)" % (lit_n(), R.choice(
                    [lit_s(), "NOW()", "(1)", "DEFAULT"])))
            out.append(R.choice([",", ", ", " , "]).join(rows)); i += 6
        else:
            out.append(t[i]); i += 1
    return "".join(out)


def respace(s):
    """Vary spacing and case of a filled template."""
    out = []
    for ch in s:
        if ch == " " and R.random() < 0.3:
            out.append(R.choice(GAPS[:8]))
        elif ch in "(),=<" and R.random() < 0.2:
            out.append(R.choice([" ", ""]) + ch + R.choice([" ", ""]))
        else:
            out.append(ch)
    s = "".join(out)
    r = R.random()
    return s.upper() if r < 0.15 else s.lower() if r < 0.3 else s


def soup():
    toks = []
    for _ in range(R.randint(1, 30)):
        r = R.random()
        pool = KW if r < 0.3 else IDENT if r < 0.5 else LIT if r < 0.75 \
            else PUNCT
        toks.append(R.choice(pool))
        toks.append(R.choice(GAPS))
    return "".join(toks) + R.choice(TAILS)


def noise():
    alphabet = "'\"`\\/*-#(),;:%$?.=<>!+ \n\t0123aeEx_@{}INVLUO"
    return "".join(R.choice(alphabet) if R.random() < 0.8 else
                   chr(R.randint(0, 255)) for _ in range(R.randint(0, 80)))


def sql():
    for _ in range(700):
        yield respace(fill(R.choice(TEMPLATES)))
    for _ in range(1000):
        yield soup()
    for _ in range(300):
        yield noise()


SEGS = ["fir", "record", "records", "user", "session", "stats", "count",
        "FIR-1a2b3c4d-20260115093000", "42", "user_42", "page-2", "v1",
        "sha256", "deadbee1", "DEADBEEF", "alice", "a@b.com", "x%20y",
        "2026-01-15 09", "30", "00", "*", "", "gguf", "model_responses",
        "aGVsbG8gd29ybGQhISE", "550e8400-e29b-41d4-a716-446655440000",
        "list_firs", "uid", "token", "caf\u00e9", "a.b-c_d", "1.5", "-5",
        "0123456789abcdef0123456789abcdef01234567", "{id}", "Users", "ID"]


def keys():
    for _ in range(1000):
        n = R.randint(1, 7)
        parts = []
        for i in range(n):
            parts.append(R.choice(SEGS))
            if i + 1 < n:
                parts.append(R.choice([":", ":", ":", "/", "|"]))
        yield "".join(parts)
    for _ in range(200):
        yield noise()


def routes():
    for _ in range(1000):
        n = R.randint(0, 6)
        p = R.choice(["", "", "http://host:8080", "https://a.b", "x://"])
        for _ in range(n):
            p += "/" + R.choice(SEGS + ["api", "v1", "health", "fir",
                                        "content", "report.json"])
        if R.random() < 0.2:
            p += "/"
        if R.random() < 0.3:
            p += R.choice(["?x=1", "?secret=FIR-1", "#frag", "?a#b"])
        yield p or "/"
    for _ in range(200):
        yield noise()


def esc(s):
    b = s.encode("utf-8", "surrogatepass") if isinstance(s, str) else s
    out = []
    for c in b:
        if c == 0x5c:
            out.append("\\\\")
        elif 0x20 <= c < 0x7f:
            out.append(chr(c))
        else:
            out.append("\\x%02x" % c)
    return "".join(out)


if __name__ == "__main__":
    gen = {"sql": sql, "keys": keys, "routes": routes}[sys.argv[1]]
    for s in gen():
        # noise() may hold chars >= 0x80 as code points: encode as latin-1
        # bytes so that every byte value appears
        if any(ord(ch) > 0xff for ch in s):
            print(esc(s))
        else:
            print(esc(s.encode("latin-1")))
