/*
 * stack_probe.c -- shim/stack.c inside a live CPython, for the stack
 * capture benchmark (bench/bench_stack.py): capture only (native frames
 * with libunwind, Python frames with pyframes) and the whole emit of an
 * event with its stack into a real dump, at whatever depth the calling
 * Python code has set up.  Figures only: no test asserts on time.
 */
#include <stdint.h>
#include <string.h>
#include <time.h>

#include "config.h"
#include "pyrt.h"
#include "stack.h"
#include "writer.h"

static struct pt_writer w;
static struct pt_writer_cursor c;

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* pyrt and libunwind ready, a dump in dir.  Returns pyrt's state or
 * -errno. */
__attribute__((visibility("default"))) int probe_stack_init(const char *dir)
{
	struct pt_config cfg;
	memset(&cfg, 0, sizeof(cfg));
	cfg.stacks = PT_STACKS_ALL;
	pyrt_init();
	pt_stack_setup(&cfg);
	struct pt_writer_config wc = {.dir = dir, .name_hint = "bench-stack"};
	int rc = pt_writer_open(&w, &wc);
	if (rc < 0)
		return rc;
	pt_writer_cursor_init(&c, 1);
	return (int)pyrt_state();
}

/* Mean ns per capture; *frames gets the frame count of the last one. */
__attribute__((visibility("default"))) double
probe_capture_ns(int native, int python, int iters, int *frames)
{
	uint64_t t0 = now_ns();
	for (int k = 0; k < iters; k++)
		*frames = pt_stack_capture_only(native, python);
	return (double)(now_ns() - t0) / iters;
}

/* Mean ns per fault-safe self-read of 8 bytes (one process_vm_readv):
 * the floor under any Python walk, which needs at least one. */
__attribute__((visibility("default"))) double probe_selfread_ns(int iters)
{
	uint64_t src = 42, word = 0, sink = 0;
	uint64_t t0 = now_ns();
	for (int k = 0; k < iters; k++) {
		pyrt_read(&word, (uintptr_t)&src, sizeof(src));
		sink += word;
	}
	double ns = (double)(now_ns() - t0) / iters;
	__asm__ volatile("" : : "r"(sink)); /* the reads are not elided */
	return ns;
}

/* Mean ns per event emitted with its stack (the stack interned after
 * the first: the hot call site's cost). */
__attribute__((visibility("default"))) double probe_emit_ns(int iters)
{
	struct pt_event ev = {.kind = PT_KIND_REDIS,
			      .duration_ns = 2000000,
			      .text = "GET bench:*",
			      .text_len = 11};
	pt_stack_emit(&w, &c, &ev);
	uint64_t t0 = now_ns();
	for (int k = 0; k < iters; k++)
		pt_stack_emit(&w, &c, &ev);
	return (double)(now_ns() - t0) / iters;
}

/* The same events without a stack, for the side-by-side figure. */
__attribute__((visibility("default"))) double probe_plain_emit_ns(int iters)
{
	struct pt_event ev = {.kind = PT_KIND_REDIS,
			      .duration_ns = 2000000,
			      .text = "GET bench:*",
			      .text_len = 11};
	uint64_t t0 = now_ns();
	for (int k = 0; k < iters; k++)
		pt_writer_emit_event(&w, &c, &ev);
	return (double)(now_ns() - t0) / iters;
}
