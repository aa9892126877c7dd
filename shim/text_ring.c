/*
 * text_ring.c -- the decoders' text ring (text_ring.h): choosing where
 * the next variable-sized piece goes.
 */
#include "text_ring.h"

static uint32_t at_most(uint32_t have, uint32_t want)
{
	return have < want ? have : want;
}

uint32_t text_ring_reserve(const struct text_ring *r, uint32_t oldest,
			   uint32_t want, uint32_t *off)
{
	if (oldest == TEXT_RING_EMPTY) {
		*off = 0;
		return at_most(r->size, want);
	}
	if (r->next > oldest) { /* free: [next, size) and [0, oldest) */
		uint32_t end = r->size - r->next;
		if (end >= want || end >= oldest) {
			*off = r->next;
			return at_most(end, want);
		}
		*off = 0;
		return at_most(oldest, want);
	}
	/* Wrapped: free is [next, oldest); equal means full. */
	*off = r->next;
	return at_most(oldest - r->next, want);
}
