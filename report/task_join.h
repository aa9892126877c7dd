/*
 * task_join.h -- asyncio attribution, done by the reader: an operation
 * whose context key (shim/task.h) equals the key of the context that
 * wrote a request's response belongs to that request, when it started
 * inside the request's window: from the end of the request's head (its
 * task is created after the head is parsed) to the response's last byte.
 *
 * Why this is exact: during that window the request's task is alive, so
 * its context is, and no other live object has that address; only the
 * task's own steps run in it.  An operation started earlier or later
 * than the window, or by a context that two overlapping windows share,
 * is left unattributed (AMBIGUOUS for the latter).
 *
 * One join per process: keys and times are that process's.
 */
#ifndef PERFTAP_TASK_JOIN_H
#define PERFTAP_TASK_JOIN_H

#include <stddef.h>
#include <stdint.h>

struct pt_task_req {
	uint64_t key, from, to, rid;
	uint64_t maxto; /* max of `to` over its key's entries up to here */
};

struct pt_task_join {
	struct pt_task_req *v;
	size_t n, cap;
};

/* A request with its response writer's key and window [from, to].
 * Requests with key 0 are ignored.  0, or -1 when out of memory. */
int task_join_add(struct pt_task_join *j, uint64_t key, uint64_t from,
		  uint64_t to, uint64_t rid);

/* An HTTP_IN event's request: first byte at start, head read head_us
 * later (rounded up: the window never opens early), last byte out at
 * start + dur.  An unknown head time (UINT32_MAX) adds nothing. */
static inline int task_join_add_http(struct pt_task_join *j, uint64_t key,
				     uint64_t start, uint64_t dur,
				     uint32_t head_us, uint64_t rid)
{
	if (head_us == UINT32_MAX)
		return 0;
	return task_join_add(j, key, start + ((uint64_t)head_us + 1) * 1000,
			     start + dur, rid);
}

/* After the last add, before any find. */
void task_join_seal(struct pt_task_join *j);

/* The request an operation with key that started at start served: its id
 * with *attr = PT_ATTR_TASK (PT_ATTR_HANDOFF kept for a thread-pool job's
 * operation); 0 with *attr = PT_ATTR_AMBIGUOUS when two windows of that
 * key hold start; 0 when none, *attr then untouched (a HANDOFF becomes
 * NONE: its task served no request seen). */
uint64_t task_join_find(const struct pt_task_join *j, uint64_t key,
			uint64_t start, uint8_t *attr);

void task_join_free(struct pt_task_join *j);

#endif /* PERFTAP_TASK_JOIN_H */
