"""bench_stack.py -- the cost of a call stack per event (PERFTAP_STACKS):
capture only (native frames with libunwind, Python frames with pyframes)
at 10 and 30 Python frames, and the whole emit of an event with its stack
(interned: a hot call site) beside the same event without one.  Runs
inside /usr/bin/python3 through build/probes/stack_probe.so.

    /usr/bin/python3 bench/bench_stack.py [BUILD]

Prints one "name value" line per figure (ns per event); scripts/bench.sh
collects them.  Figures only, never a test."""

import ctypes
import sys
import tempfile
from pathlib import Path

ITERS = 20000
build = Path(sys.argv[1] if len(sys.argv) > 1 else "build")
lib = ctypes.CDLL(str(build / "probes" / "stack_probe.so"))
lib.probe_capture_ns.restype = ctypes.c_double
lib.probe_emit_ns.restype = ctypes.c_double
lib.probe_plain_emit_ns.restype = ctypes.c_double
lib.probe_selfread_ns.restype = ctypes.c_double
d = tempfile.mkdtemp(prefix="pt-bench-stack-")
assert lib.probe_stack_init(d.encode()) == 3, "pyrt not ready"


def at_depth(n, f):
    """Call f with n Python frames on the stack (this one included)."""
    if n <= 1:
        return f()
    return at_depth(n - 1, f)


def best(f, rounds=5):
    return min(f() for _ in range(rounds))


def measure(frames):
    # the interpreter itself adds <module> and measure/best/lambda frames:
    # at_depth adds the rest, so that the walk sees `frames` frames
    base = 4
    out = {}
    nf = ctypes.c_int()
    for name, nat, py in (("python", 0, 1), ("native", 1, 0),
                          ("both", 1, 1)):
        ns = best(lambda: at_depth(
            frames - base,
            lambda: lib.probe_capture_ns(nat, py, ITERS, ctypes.byref(nf))))
        out[name] = (ns, nf.value)
    out["emit"] = (best(lambda: at_depth(
        frames - base, lambda: lib.probe_emit_ns(ITERS))), 0)
    return out


plain = best(lambda: lib.probe_plain_emit_ns(ITERS))
print("stack_event_plain_ns %.0f" % plain)
# the floor: one fault-safe read (process_vm_readv); a walk makes one
print("stack_selfread_ns %.0f" % best(lambda: lib.probe_selfread_ns(ITERS)))
for frames in (10, 30):
    for name, (ns, n) in measure(frames).items():
        print("stack_%s_%d_ns %.0f%s" % (name, frames, ns,
                                         " frames=%d" % n if n else ""))
