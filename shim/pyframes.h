/*
 * pyframes.h -- the calling thread's CPython frames, read through pyrt
 * (fault-safe, no GIL, no refcount, no Python code).
 *
 * Two steps, so that a stack already interned in the current chunk costs
 * only the walk: pyframes_walk() records each frame's identity (code
 * object address and byte offset of its current instruction);
 * pyframes_resolve() turns one identity into qualname, file and line,
 * through a process-wide cache keyed by code object.
 */
#ifndef PERFTAP_PYFRAMES_H
#define PERFTAP_PYFRAMES_H

#include <stddef.h>
#include <stdint.h>

struct pyframe_raw {
	uintptr_t code; /* PyCodeObject address */
	int32_t addr;	/* byte offset of the current instruction */
	uint8_t gen;	/* the frame is a coroutine's or a generator's */
};

/* Longest texts kept per frame (longer ones are cut). */
#define PYFRAME_QUAL_MAX 128
#define PYFRAME_FILE_MAX 256

struct pyframe_text {
	char qual[PYFRAME_QUAL_MAX];
	char file[PYFRAME_FILE_MAX];
	uint16_t qual_len, file_len;
	int32_t line; /* -1 = unknown */
};

/* Walk the calling thread's frames, innermost first, into out[max].
 * Returns the number of frames; *fault is set when a read failed (the
 * frames before it are kept).  0 frames when the thread runs no Python or
 * pyrt is not available. */
int pyframes_walk(struct pyframe_raw *out, int max, int *fault);

/* The same, with each frame's first nlocals locals (localsplus[0..]: a
 * function's arguments come first, `self` of a method at 0) in
 * locals[i * nlocals ...], as addresses to read through pyrt_read.  A
 * local not yet bound reads as 0.  nlocals is at most PYFRAMES_LOCALS_MAX. */
#define PYFRAMES_LOCALS_MAX 2
int pyframes_walk_locals(struct pyframe_raw *out, uintptr_t *locals,
			 int nlocals, int max, int *fault);

/* Walks on the calling thread that found the last walk's addresses still
 * right, and so took one system call instead of two (for tests and
 * benchmarks). */
uint64_t pyframes_guess_hits(void);

/* Names for one frame.  Returns 0, or -EFAULT / -EINVAL (the object at
 * code is not a live code object). */
int pyframes_resolve(const struct pyframe_raw *f, struct pyframe_text *out);

#endif /* PERFTAP_PYFRAMES_H */
