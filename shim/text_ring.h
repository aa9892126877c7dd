/*
 * text_ring.h -- where a decoder keeps the event texts of its queued
 * requests: one buffer used as a ring of variable-sized pieces, freed in
 * queue order (the HTTP request ring, the MySQL command queue).
 *
 * A piece never wraps: when the space at the end is too small (and
 * smaller than the space at the start), the next piece starts at 0 and
 * the end stays unused until the ring passes it.  The ring keeps only
 * where the next piece goes; the caller's queue knows where the oldest
 * live piece starts (the first queued request with a text), so nothing
 * here has to be told when a request leaves.  The bytes are the
 * caller's buffer: this is offsets only (no pointer into the decoder,
 * which is copied by fork and may move into spill memory).
 */
#ifndef PERFTAP_TEXT_RING_H
#define PERFTAP_TEXT_RING_H

#include <stdint.h>

/* `oldest` when no queued request has a text. */
#define TEXT_RING_EMPTY 0xFFFFFFFFu

struct text_ring {
	uint32_t size; /* bytes in the caller's buffer */
	uint32_t next; /* where the piece after the newest one would go */
};

static inline void text_ring_init(struct text_ring *r, uint32_t size)
{
	r->size = size;
	r->next = 0;
}

/* The largest contiguous free space, at most want bytes: its offset in
 * *off, its size returned (maybe less than want, maybe 0).  oldest is the
 * offset of the oldest live piece, or TEXT_RING_EMPTY.  Every live piece
 * is at least one byte, so next == oldest means full. */
uint32_t text_ring_reserve(const struct text_ring *r, uint32_t oldest,
			   uint32_t want, uint32_t *off);

/* The piece [off, off + len) from text_ring_reserve is now live (len 0:
 * nothing was used). */
static inline void text_ring_commit(struct text_ring *r, uint32_t off,
				    uint32_t len)
{
	if (len)
		r->next = off + len;
}

#endif /* PERFTAP_TEXT_RING_H */
