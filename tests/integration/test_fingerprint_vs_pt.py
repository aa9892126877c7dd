"""test_fingerprint_vs_pt.py -- pt_sql_fingerprint agrees with Percona's
pt-fingerprint where the two mean the same thing.

The C fingerprint is built from shim/normalize_sql.c into a throw-away
shared object (the shim itself exports nothing but its hooks) and called
through ctypes.  Spacing is compared with all whitespace removed: pt keeps
the source's spacing, perftap makes it canonical (normalize_sql.c header).

Left out on purpose, because the two disagree by design: single-row VALUES
(perftap keeps `values(?,?)`), `limit ?,?` and OFFSET (pt folds to
`limit ?`), names with digits (pt turns t1 into t?), hex literals (pt
leaves `?f` of 0x1F), TRUE/FALSE (this pt keeps them), `use db`, `%s`
placeholders (pt keeps them), doubled quotes 'it''s' (pt gives `??`).
Needs no server; needs pt-fingerprint (percona-toolkit) and gcc.
"""

import ctypes
import os
import shutil
import subprocess
import tempfile

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))

CORPUS = [
    "SELECT * FROM fir_records WHERE fir_number='FIR-1a2b3c4d-20260115093000'",
    "SELECT id, fir_number FROM fir_records WHERE created_at < "
    "'2026-01-15 09:30:00' OR (created_at = '2026-01-15 09:30:00' AND "
    "id < 1234) ORDER BY created_at DESC, id DESC",
    "INSERT INTO t (a,b) VALUES (1,'x'),(2,'y')",
    "INSERT INTO fir_records (fir_number, status) VALUES ('FIR-a', "
    "'pending'), ('FIR-b', 'pending'), ('FIR-c', 'pending')",
    "SELECT * FROM t WHERE id IN (1,2,3)",
    "SELECT * FROM t WHERE id IN ( 'a' , 'b' )",
    "SELECT * FROM firs WHERE MATCH(description) AGAINST('canary text' "
    "IN NATURAL LANGUAGE MODE)",
    "SELECT a FROM t WHERE b IS NULL",
    "SELECT /* secret */ a FROM t -- secret",
    "SELECT a FROM t # secret\nWHERE b = 'x'",
    "UPDATE fir_records SET status = 'finalized', finalized_at = NOW() "
    "WHERE fir_number = 'FIR-1a2b3c4d-20260115093000'",
    "DELETE FROM t WHERE id = 42",
    "SELECT status, COUNT(*) FROM fir_records GROUP BY status",
    "SELECT a FROM t ORDER BY a ASC, b DESC",
    "CALL finalize_fir('FIR-1', 42)",
    "SELECT \"double quoted\" FROM t",
    "SELECT a FROM t WHERE c = 'it\\'s'",
    "SELECT a FROM t WHERE b = 1.5 AND c = -3",
]


def _strip(s):
    return "".join(s.split())


@pytest.fixture(scope="module")
def fingerprint():
    if not shutil.which("pt-fingerprint"):
        pytest.fail("pt-fingerprint not found: apt-get install "
                    "percona-toolkit")
    tmp = tempfile.mkdtemp(prefix="perftap-fp-")
    so = os.path.join(tmp, "libfp.so")
    subprocess.run(["gcc", "-std=c11", "-O2", "-shared", "-fPIC",
                    "-fvisibility=default", "-I", os.path.join(ROOT, "shim"),
                    os.path.join(ROOT, "shim", "normalize_sql.c"),
                    "-o", so], check=True)
    lib = ctypes.CDLL(so)
    lib.pt_sql_fingerprint.restype = ctypes.c_size_t
    lib.pt_sql_fingerprint.argtypes = [ctypes.c_char_p, ctypes.c_size_t,
                                       ctypes.c_char_p, ctypes.c_size_t]

    def fp(sql):
        raw = sql.encode()
        out = ctypes.create_string_buffer(4096)
        n = lib.pt_sql_fingerprint(raw, len(raw), out, len(out))
        return out.raw[:n].decode()

    yield fp
    shutil.rmtree(tmp)


def _pt(sql):
    # pt-fingerprint --query prints the fingerprint and exits 1 (3.5.x):
    # judge it by its output.
    r = subprocess.run(["pt-fingerprint", "--query", sql],
                       capture_output=True, text=True)
    assert r.stdout.strip(), f"pt-fingerprint said nothing: {r.stderr}"
    return r.stdout


@pytest.mark.parametrize("sql", CORPUS)
def test_fingerprint_matches_pt_fingerprint_up_to_spacing(fingerprint, sql):
    assert _strip(fingerprint(sql)) == _strip(_pt(sql))
