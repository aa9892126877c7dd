/*
 * spill.c -- memory for decoder queues that outgrow their fixed part.
 *
 * A connection that pipelines deeper than a decoder's fixed queue (1024
 * Redis commands, 8 MySQL commands) would otherwise lose the requests past
 * it.  Instead the queue moves into memory the connection layer hands
 * over through struct pt_spill (proto.h), growing fourfold each time, so a
 * 100,000-command pipeline costs five or six calls, not one per request;
 * a shallow pipeline never gets here.
 *
 * Sections:
 *   1. the shim's spill: anonymous private mmap (no malloc in a hook; a
 *      forked child gets its own copy of every queue, as of the rest of
 *      the connection table)
 *   2. FIFO ring growth shared by the decoders (pure: memory only through
 *      the callbacks)
 */
#include <string.h>
#include <sys/mman.h>

#include "proto.h"
#include "spill.h"
#include "sys.h"

/* ---- 1. the shim's spill ---- */

static void *spill_mmap_get(size_t bytes)
{
	void *p =
	    pt_sys.mmap(NULL, bytes, PROT_READ | PROT_WRITE,
			MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	return p == MAP_FAILED ? NULL : p;
}

static void spill_mmap_put(void *p, size_t bytes)
{
	pt_sys.munmap(p, bytes);
}

const struct pt_spill pt_spill_mmap = {spill_mmap_get, spill_mmap_put};

/* ---- 2. FIFO ring growth ---- */

int pt_spill_ring_grow(const struct pt_spill *s, void **ring, uint32_t *mask,
		       uint32_t *head, uint32_t count, size_t esize,
		       const void *fixed, uint32_t max)
{
	uint32_t cap = *mask + 1;

	if (!s || cap >= max)
		return -1;
	uint32_t ncap = cap * 4 < max ? cap * 4 : max;
	char *n = s->get((size_t)ncap * esize);
	if (!n)
		return -1;
	/* In order: [head, cap) then [0, rest). */
	uint32_t first = cap - *head < count ? cap - *head : count;
	const char *old = *ring;
	memcpy(n, old + (size_t)*head * esize, (size_t)first * esize);
	memcpy(n + (size_t)first * esize, old, (size_t)(count - first) * esize);
	if (*ring != fixed)
		s->put(*ring, (size_t)cap * esize);
	*ring = n;
	*mask = ncap - 1;
	*head = 0;
	return 0;
}

void pt_spill_ring_free(const struct pt_spill *s, void **ring, uint32_t *mask,
			size_t esize, void *fixed, uint32_t fixed_cap)
{
	if (*ring != fixed && s)
		s->put(*ring, (size_t)(*mask + 1) * esize);
	*ring = fixed;
	*mask = fixed_cap - 1;
}
