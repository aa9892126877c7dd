/*
 * task.c -- asyncio context keys (task.h).
 */
#include "task.h"
#include "pyrt.h"

static int enabled; /* written once, before any thread */

void task_enable(int on)
{
	enabled = on && pyrt_available();
}

int task_enabled(void)
{
	return enabled;
}

uint64_t task_key_now(void)
{
	return enabled ? (uint64_t)pyrt_context() : 0;
}

void task_note_send(struct pt_task_sends *s, uint64_t t)
{
	uint64_t key = task_key_now();
	uint32_t last = (s->at + PT_TASK_SENDS - 1) % PT_TASK_SENDS;
	if (s->t[last] == t) {
		/* One feed time, one op start: the same send. */
		s->key[last] = key;
		return;
	}
	s->t[s->at] = t;
	s->key[s->at] = key;
	s->at = (s->at + 1) % PT_TASK_SENDS;
}

uint64_t task_key_at(const struct pt_task_sends *s, uint64_t start_ns)
{
	if (!start_ns)
		return 0;
	for (int i = 0; i < PT_TASK_SENDS; i++)
		if (s->t[i] == start_ns)
			return s->key[i];
	return 0;
}
