/*
 * pyrt_probe.c -- a ctypes-loadable library over shim/pyrt.c and
 * shim/pyframes.c, so that a live CPython can check them: it walks the
 * calling thread's frames (ctypes.CDLL releases the GIL around the call,
 * as the socket module does) and prints "qualname|file|line" lines.
 * Built with Python's internal headers only to check pyrt's 3.11 offsets
 * at compile time; pyrt itself never includes them.
 */
#define Py_BUILD_CORE 1
#include <Python.h>
#include <internal/pycore_code.h>
#include <internal/pycore_context.h>
#include <internal/pycore_frame.h>
#include <internal/pycore_hamt.h>
#include <internal/pycore_pystate.h>
#include <stddef.h>
#include <stdio.h>

#include "pyframes.h"
#include "pyrt.h"

#define CHECK(field, type, member)                                             \
	_Static_assert(offsetof(type, member) == (field), #type "." #member)

CHECK(16, PyThreadState, interp);
CHECK(56, PyThreadState, cframe);
CHECK(152, PyThreadState, thread_id);
CHECK(160, PyThreadState, native_thread_id);
CHECK(224, PyThreadState, context);
CHECK(296, PyThreadState, datastack_chunk);
CHECK(304, PyThreadState, datastack_top);
CHECK(24, _PyStackChunk, data);
CHECK(8, _PyCFrame, current_frame);
CHECK(16, _PyCFrame, previous);
CHECK(32, _PyInterpreterFrame, f_code);
CHECK(48, _PyInterpreterFrame, previous);
CHECK(56, _PyInterpreterFrame, prev_instr);
CHECK(69, _PyInterpreterFrame, owner);
CHECK(48, PyCodeObject, co_flags);
CHECK(72, PyCodeObject, co_firstlineno);
CHECK(112, PyCodeObject, co_filename);
CHECK(120, PyCodeObject, co_name);
CHECK(128, PyCodeObject, co_qualname);
CHECK(136, PyCodeObject, co_linetable);
CHECK(168, PyCodeObject, _co_firsttraceable);
CHECK(184, PyCodeObject, co_code_adaptive);
CHECK(16, PyASCIIObject, length);
CHECK(32, PyASCIIObject, state);
_Static_assert(sizeof(PyASCIIObject) == 48, "ascii data offset");
_Static_assert(sizeof(PyCompactUnicodeObject) == 72, "compact data offset");
CHECK(32, PyBytesObject, ob_sval);
CHECK(16, PyContext, ctx_prev);
CHECK(24, PyContext, ctx_vars);
CHECK(40, PyContext, ctx_entered);
CHECK(16, PyHamtObject, h_root);
CHECK(32, PyHamtObject, h_count);

__attribute__((visibility("default"))) int probe_init(void)
{
	pyrt_init();
	return (int)pyrt_state();
}

__attribute__((visibility("default"))) unsigned long probe_faults(void)
{
	return (unsigned long)pyrt_faults();
}

__attribute__((visibility("default"))) unsigned long probe_guess_hits(void)
{
	return (unsigned long)pyframes_guess_hits();
}

/* Frames of the calling thread, innermost first; returns the count or -1
 * on a fault. */
__attribute__((visibility("default"))) int probe_stack(char *out, size_t cap)
{
	struct pyframe_raw raw[64];
	int fault, n = pyframes_walk(raw, 64, &fault);
	size_t pos = 0;
	out[0] = '\0';
	for (int i = 0; i < n; i++) {
		struct pyframe_text t;
		if (pyframes_resolve(&raw[i], &t) < 0)
			return -1;
		int w = snprintf(out + pos, cap - pos, "%s|%s|%d\n", t.qual,
				 t.file, (int)t.line);
		if (w < 0 || (size_t)w >= cap - pos)
			break;
		pos += (size_t)w;
	}
	return fault ? -1 : n;
}

#include <time.h>

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Mean ns per walk (resolve = 0) or walk + resolve of every frame
 * (resolve = 1) of the calling thread, over iters rounds (for figures
 * only; tests never assert on time). */
__attribute__((visibility("default"))) double probe_cost(int iters, int resolve)
{
	struct pyframe_raw raw[64];
	struct pyframe_text t;
	int fault;
	uint64_t t0 = now_ns();
	for (int k = 0; k < iters; k++) {
		int n = pyframes_walk(raw, 64, &fault);
		for (int i = 0; resolve && i < n; i++)
			pyframes_resolve(&raw[i], &t);
	}
	return (double)(now_ns() - t0) / iters;
}
