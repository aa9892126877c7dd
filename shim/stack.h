/*
 * stack.h -- call stacks for slow operations: which events qualify
 * (PERFTAP_STACKS, PERFTAP_STACK_MIN, PERFTAP_STACK_SAMPLE), and the
 * capture of the calling thread's native frames (libunwind, local) and
 * Python frames (pyframes), handed to the writer with the event.
 */
#ifndef PERFTAP_STACK_H
#define PERFTAP_STACK_H

#include <stdint.h>

#include "config.h"
#include "pyframes.h"
#include "writer.h"

/* Once, from the constructor: remember the settings and load libunwind
 * (dlopen RTLD_LOCAL, so that its _Unwind_* symbols never interpose the
 * host's).  No-op when stacks are off. */
void pt_stack_setup(const struct pt_config *cfg);

/* Threshold and mode as set up (read by pt_stack_qualifies). */
extern uint64_t pt_stack_min_ns;
extern int pt_stack_mode;

/* 1 if an event of this duration gets a stack.  A compare for the common
 * case; sampling costs a thread-local counter. */
int pt_stack_sampled(void);
static inline int pt_stack_qualifies(uint64_t duration_ns)
{
	if (pt_stack_mode == PT_STACKS_OFF)
		return 0;
	if (pt_stack_mode == PT_STACKS_ALL || duration_ns >= pt_stack_min_ns)
		return 1;
	return pt_stack_sampled();
}

/* A stack as captured: native return addresses, innermost first, and
 * Python frames as (code, offset), unresolved. */
struct pt_stack_capture {
	uint64_t native[PT_STACK_MAX_NATIVE];
	struct pyframe_raw py[PT_STACK_MAX_PYTHON];
	int n_native, n_python, fault;
	int coroutine; /* a Python frame is a coroutine's (or generator's) */
	uint64_t hash;
};

/*
 * asyncio clients.  A coroutine sends a query, then waits; its reply is
 * read by the event loop's callback (_read_ready, data_received), on a
 * stack that holds the loop and not the coroutine.  So for such a client
 * connection the stack is taken when the operation is sent, from inside
 * the task's step, and the operation is emitted with that one (conn.c
 * keeps one per recent send).  Python frames only: the native frames at
 * a send are the interpreter's own.
 *
 * The frames are resolved when the operation completes, a few ms later.
 * The coroutines of the chain are suspended then, not gone, so their code
 * objects live; a synchronous frame of the send (the driver's write) has
 * returned, but its code is a module's function, which lives as long as
 * the module.  Only a code object freed within the operation's lifetime
 * (code compiled at run time and dropped) whose memory then went to
 * another code object could name the wrong function; one freed and not
 * reused fails resolve's type check and is left unnamed.
 */

/* Stacks at send are wanted (PERFTAP_STACKS is not off and this is a
 * CPython whose frames can be read). */
int pt_stack_at_send_on(void);

/* Take the calling thread's Python frames into cap, at a send.  Returns 1
 * when there are any. */
int pt_stack_capture_send(struct pt_stack_capture *cap);

/* One call that completes many operations -- the read that brings a deep
 * pipeline's replies -- is one moment of one thread: every operation it
 * ends has the same stack.  The byte path keeps a batch on its own stack
 * for the span of one call, and the first qualifying event's capture
 * serves the rest (a 20,000-reply read captured once, not 20,000 times).
 * Owned by one connection's feed, which its lock keeps to one thread: a
 * signal handler's feed of another connection has its own batch. */
struct pt_stack_batch {
	int have;
	struct pt_stack_capture cap;
};

static inline void pt_stack_batch_init(struct pt_stack_batch *b)
{
	b->have = 0;
}

/* How one operation gets its stack. */
struct pt_op_stack {
	/* The call in progress (NULL outside a socket feed). */
	struct pt_stack_batch *batch;
	/* Taken at the operation's send (an asyncio client), or NULL. */
	const struct pt_stack_capture *sent;
	/* An asyncio client's operation whose send left no stack: the stack
	 * now is the event loop's, which names no caller, so it gets none
	 * (counted: PT_CNT_STACK_UNSENT). */
	int unsent;
};

/* Emit ev (a decoded operation) with its stack as how says. */
int pt_stack_emit_op(struct pt_writer *w, struct pt_writer_cursor *c,
		     const struct pt_event *ev, const struct pt_op_stack *how);

/* Capture the calling thread's stack (or take batch's, when it has one;
 * batch may be NULL) and emit ev with it. */
int pt_stack_emit_in(struct pt_writer *w, struct pt_writer_cursor *c,
		     const struct pt_event *ev, struct pt_stack_batch *batch);

static inline int pt_stack_emit(struct pt_writer *w, struct pt_writer_cursor *c,
				const struct pt_event *ev)
{
	return pt_stack_emit_in(w, c, ev, NULL);
}

/* For the benchmark: capture only (native and/or Python frames), return
 * the frame count. */
int pt_stack_capture_only(int native, int python);

#endif /* PERFTAP_STACK_H */
