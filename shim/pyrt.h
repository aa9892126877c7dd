/*
 * pyrt.h -- access to the CPython runtime of the host process, from the
 * shim, without the GIL: is this CPython and which version, the calling
 * thread's PyThreadState, the struct offsets of a known layout, and a
 * fault-safe read of interpreter memory.
 *
 * Contract for every user (stack capture, request attribution):
 *   - Never dereference a pointer taken from interpreter memory directly:
 *     copy through pyrt_read() (process_vm_readv on this process, as the
 *     echion sampler does), which turns a stale or wild pointer into
 *     -EFAULT and a counted fault instead of a crash.  errno is preserved.
 *   - Never take the GIL, run Python code or touch a reference count.
 *   - pyrt_offsets() is NULL unless the running version's layout is known
 *     (CPython 3.11 today); then only native information may be used.
 *
 * pyrt_init() runs once from the shim's constructor (it calls dlsym, which
 * may allocate); every other function is async-signal-safe and allocates
 * nothing.
 */
#ifndef PERFTAP_PYRT_H
#define PERFTAP_PYRT_H

#include <stddef.h>
#include <stdint.h>

enum pyrt_state {
	PYRT_NONE = 0,	  /* not a CPython process (or pyrt_init not run) */
	PYRT_UNKNOWN = 1, /* CPython, but no layout for its version */
	PYRT_NOREAD = 2,  /* CPython 3.11, but process_vm_readv refused */
	PYRT_READY = 3,	  /* layout known, reads work */
};

/*
 * Byte offsets into CPython's structures, for one version and ABI
 * (x86_64/aarch64 LP64, release build).  Names: <struct>_<field>.  The
 * 3.11 values are checked against the real headers by the pyrt probe
 * (tests/probes/pyrt_probe.c, static assertions with Py_BUILD_CORE).
 */
struct pyrt_offsets {
	uint32_t version_hex; /* PY_VERSION_HEX of the layout (0x030b0000) */
	/* PyObject / PyVarObject */
	uint16_t ob_type, ob_size;
	/* PyThreadState */
	uint16_t ts_interp, ts_cframe, ts_thread_id, ts_native_thread_id;
	uint16_t ts_context, ts_datastack_chunk, ts_datastack_top;
	/* _PyStackChunk */
	uint16_t chunk_data;
	/* _PyCFrame */
	uint16_t cframe_current_frame, cframe_previous;
	/* _PyInterpreterFrame */
	uint16_t if_func, if_code, if_previous, if_prev_instr, if_owner;
	uint16_t if_size; /* bytes worth one read: the specials + linkage */
	/* PyCodeObject */
	uint16_t code_flags, code_firstlineno, code_filename, code_name;
	uint16_t code_qualname, code_linetable, code_firsttraceable;
	uint16_t code_code; /* co_code_adaptive: first code unit */
	/* PyASCIIObject / PyCompactUnicodeObject */
	uint16_t str_length, str_state, str_ascii_data, str_compact_data;
	/* PyBytesObject */
	uint16_t bytes_sval;
	/* PyContext (contextvars); PyHamtObject */
	uint16_t ctx_prev, ctx_vars, ctx_entered, hamt_root, hamt_count;
};

/* _PyInterpreterFrame.owner of a frame embedded in a generator or
 * coroutine object (3.11's FRAME_OWNED_BY_GENERATOR). */
#define PYRT_FRAME_OWNED_BY_GENERATOR 1

/* Addresses of the type objects a reader checks ob_type against, so that
 * a stale pointer that still reads is not taken for a code object or a
 * str.  All 0 unless pyrt_available(). */
struct pyrt_types {
	uintptr_t code;	 /* &PyCode_Type */
	uintptr_t str;	 /* &PyUnicode_Type */
	uintptr_t bytes; /* &PyBytes_Type */
};

/* Find out whether the process is CPython, which version, and whether
 * self-reads work.  Idempotent; call from a constructor (dlsym). */
void pyrt_init(void);

/* In a fork child: the cached pid names the parent.  pyrt_init()
 * registers this with pthread_atfork; exposed for callers that fork by
 * other means. */
void pyrt_after_fork(void);

enum pyrt_state pyrt_state(void);

/* 1 when pyrt_state() == PYRT_READY: the layout is known and reads work. */
int pyrt_available(void);

/* PY_VERSION_HEX of the running interpreter (Py_Version, or parsed from
 * Py_GetVersion()); 0 when not CPython. */
uint32_t pyrt_version(void);

/* The layout of the running version; NULL unless pyrt_available(). */
const struct pyrt_offsets *pyrt_offsets(void);

/* The type objects of the running interpreter (zeros unless available). */
const struct pyrt_types *pyrt_types(void);

/* The calling thread's PyThreadState (as an address to read through
 * pyrt_read, never to dereference), found through the GILState
 * thread-local (PyGILState_GetThisThreadState): it is set for a thread
 * that runs Python code even while the thread has released the GIL around
 * a system call, unlike the "current" thread state.  0 when the thread has
 * none or pyrt is not available. */
uintptr_t pyrt_thread_state(void);

/* The execution context (PyContext address) the calling thread runs in
 * now: tstate->context, read fault-safely (one pyrt_read).  A key, never
 * to be dereferenced: the report compares keys.  0 when the thread has no
 * thread state or no context yet, or pyrt is not available. */
uintptr_t pyrt_context(void);

/* Copy len bytes at address src of this process into dst.  Returns 0, or
 * -EFAULT (counted in pyrt_faults()) when any byte is unreadable; dst is
 * then undefined.  errno is unchanged. */
int pyrt_read(void *dst, uintptr_t src, size_t len);

/* Read one pointer-sized word. */
int pyrt_read_ptr(uintptr_t src, uintptr_t *out);

/* Several copies in one system call: spans[i].len bytes at spans[i].src
 * into spans[i].dst, in order.  Returns how many leading spans arrived
 * whole (n when all did), or -EFAULT when not even the first did.  Counts
 * nothing: a caller that reads a guessed address (see pyframes.c) misses
 * without a stale pointer being involved; pyrt_count_fault() is for the
 * caller that decides a miss was a fault. */
#define PYRT_SPANS_MAX 8
struct pyrt_span {
	void *dst;
	uintptr_t src;
	size_t len;
};
int pyrt_readv(const struct pyrt_span *spans, int n);
void pyrt_count_fault(void);

/* Copy the text of a str object at addr as UTF-8 into buf (NUL-terminated,
 * cut at cap - 1 bytes on a character boundary).  Compact strings only
 * (every identifier, qualname and file name is).  Returns the length, or
 * -EFAULT, or -EINVAL (not a str, or not compact). */
int pyrt_read_str(uintptr_t addr, char *buf, size_t cap);

/* The source line of byte offset addr (code units * 2) in a 3.11
 * co_linetable (the "location table" of PEP 657), given co_firstlineno.
 * Pure.  Returns the line, or -1 when the instruction has no line or the
 * table ends first. */
int pyrt_linetable_line(const uint8_t *table, size_t len, int firstlineno,
			int addr);

/* Reads that faulted since start (process-wide). */
uint64_t pyrt_faults(void);

#endif /* PERFTAP_PYRT_H */
