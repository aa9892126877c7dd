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

/* Capture the calling thread's stack and emit ev with it. */
int pt_stack_emit(struct pt_writer *w, struct pt_writer_cursor *c,
		  const struct pt_event *ev);

/* For the benchmark: capture only (native and/or Python frames), return
 * the frame count. */
int pt_stack_capture_only(int native, int python);

#endif /* PERFTAP_STACK_H */
