"""test_pyrt_probe.py -- shim/pyrt.c and shim/pyframes.c inside a live
CPython 3.11: the probe library (tests/probes/pyrt_probe.c, whose build
checks pyrt's offsets against Python's own headers) walks the calling
thread's frames with the GIL released (ctypes.CDLL) and must name the same
functions, files and lines as the interpreter itself, in the main thread,
in other threads, through generators and coroutines, and never fault.
"""

import subprocess

import ptenv

PROBE = ptenv.BUILD / "probes" / "pyrt_probe.so"

# The probe walks the caller's frames; ours() compares them with the
# interpreter's own view (sys._getframe), innermost first.  The walk stops
# at 64 frames: a deeper stack compares its innermost 63.
OURS = r'''
import ctypes, sys

lib = ctypes.CDLL(sys.argv[1])
assert lib.probe_init() == 3, "pyrt not READY"
lib.probe_faults.restype = ctypes.c_ulong
lib.probe_guess_hits.restype = ctypes.c_ulong

def ours():
    buf = ctypes.create_string_buffer(1 << 20)
    n = lib.probe_stack(buf, len(buf))
    got = [l.split("|") for l in buf.value.decode().splitlines()]
    assert n == len(got), (n, got)
    want, f = [], sys._getframe(1)
    while f:
        want.append([f.f_code.co_qualname, f.f_code.co_filename, str(f.f_lineno)])
        f = f.f_back
    # got[0] is ours() itself, at the probe_stack line.
    assert got[0][0] == "ours", got
    assert len(got) == 64 or len(got) - 1 == len(want), (got, want)
    assert got[1:] == want[:len(got) - 1], (got, want)
    return len(got)
'''

PROGRAM = OURS + r'''
import asyncio, threading

class Repo:
    def find(self):
        return ours()

def helper(depth):
    if depth == 0:
        return Repo().find()
    return helper(depth - 1)

def gen():
    yield ours()

async def coro():
    await asyncio.sleep(0)
    return ours()

results = [helper(3), helper(40), next(gen()), asyncio.run(coro())]
t = threading.Thread(target=lambda: results.append(helper(5)))
t.start(); t.join()
assert lib.probe_faults() == 0, lib.probe_faults()
print("ok", results)
'''


def _run_probe_program(tmp_path, program):
    """Run program with the probe; its stdout after "ok "."""
    assert PROBE.exists(), "make build-tests builds the probe"
    script = tmp_path / "walk.py"
    script.write_text(program)
    proc = subprocess.run([ptenv.PYTHON, str(script), str(PROBE)],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stdout.startswith("ok"), proc.stdout
    return proc.stdout[3:]


def test_probe_names_every_frame_like_the_interpreter(tmp_path):
    counts = eval(_run_probe_program(tmp_path, PROGRAM))
    assert counts[1] > 40  # deep stacks are walked whole



# The walk guesses where this thread's frames are from the last walk (one
# system call instead of two); a guess must never change the answer.  The
# sequence repeats call sites (the guess holds), goes a few frames deeper
# and shallower (it holds or is refused), recurses far enough to spill the
# data stack into new chunks and back (the guessed window is then unmapped:
# refused without a counted fault), and walks generator frames, which live
# outside the data stack (copied along with the guess).
GUESS_PROGRAM = OURS + r'''

def down(n, leaf, pad=None):
    # pad: locals make each frame bigger, so that deep recursion spills
    # the data stack into new chunks sooner
    a = b = c = d = e = pad
    if n == 0:
        return leaf()
    return down(n - 1, leaf, pad)

def gen(n):
    yield down(n, ours)

walks = 0
for depth in (3, 3, 3, 4, 2, 3, 10, 1, 30, 30, 0, 700, 700, 5, 5, 900, 3, 3):
    down(depth, ours)
    walks += 1
for depth in (2, 2, 2, 50, 50):
    next(gen(depth))
    walks += 1
print("ok", walks, lib.probe_guess_hits(), lib.probe_faults())
'''


def test_guessed_walk_names_the_same_frames(tmp_path):
    out = _run_probe_program(tmp_path, GUESS_PROGRAM)
    walks, hits, faults = map(int, out.split())
    # Every repeated call site after its first walk can hit (8 repeats);
    # a guess that never held would leave the fast path untested.
    assert hits >= 8, (walks, hits)
    assert hits < walks
    assert faults == 0
