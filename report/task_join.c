/*
 * task_join.c -- asyncio attribution by context key (task_join.h).
 */
#include <stdlib.h>
#include <string.h>

#include "grow.h"
#include "perftap/dump_format.h"
#include "task_join.h"

int task_join_add(struct pt_task_join *j, uint64_t key, uint64_t from,
		  uint64_t to, uint64_t rid)
{
	if (!key || !rid || to < from)
		return 0;
	if (PT_GROW(j->v, j->cap, j->n + 1) < 0)
		return -1;
	j->v[j->n++] = (struct pt_task_req){key, from, to, rid, to};
	return 0;
}

static int cmp_req(const void *x, const void *y)
{
	const struct pt_task_req *a = x, *b = y;
	if (a->key != b->key)
		return a->key < b->key ? -1 : 1;
	return a->from < b->from ? -1 : a->from > b->from;
}

void task_join_seal(struct pt_task_join *j)
{
	if (!j->n)
		return;
	qsort(j->v, j->n, sizeof(j->v[0]), cmp_req);
	for (size_t i = 1; i < j->n; i++)
		if (j->v[i].key == j->v[i - 1].key &&
		    j->v[i - 1].maxto > j->v[i].maxto)
			j->v[i].maxto = j->v[i - 1].maxto;
}

/* Index one past the last entry with (key, from) <= (key, start). */
static size_t upper(const struct pt_task_join *j, uint64_t key, uint64_t start)
{
	size_t lo = 0, hi = j->n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		const struct pt_task_req *r = &j->v[mid];
		if (r->key < key || (r->key == key && r->from <= start))
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

uint64_t task_join_find(const struct pt_task_join *j, uint64_t key,
			uint64_t start, uint8_t *attr)
{
	int handoff = *attr == PT_ATTR_HANDOFF; /* the shim's word: a job */
	if (handoff)
		*attr = PT_ATTR_NONE; /* unless its task's request is found */
	if (!key || !j->n)
		return 0;
	uint64_t rid = 0;
	int found = 0;
	/* Walk back over the key's windows that began by start, while one
	 * of them (maxto) may still reach it. */
	for (size_t i = upper(j, key, start); i-- > 0;) {
		const struct pt_task_req *r = &j->v[i];
		if (r->key != key || r->maxto < start)
			break;
		if (r->to >= start) {
			found++;
			rid = r->rid;
		}
	}
	if (found == 1) {
		*attr = handoff ? PT_ATTR_HANDOFF : PT_ATTR_TASK;
		return rid;
	}
	if (found > 1)
		*attr = PT_ATTR_AMBIGUOUS;
	return 0;
}

void task_join_free(struct pt_task_join *j)
{
	free(j->v);
	memset(j, 0, sizeof(*j));
}
