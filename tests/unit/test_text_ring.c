/*
 * test_text_ring.c -- the decoders' text ring: where a new piece goes,
 * how much it may take, and (against a model FIFO) that a granted piece
 * never overlaps a live one, whatever the sizes.
 */
#include <stdint.h>

#include <criterion/criterion.h>

#include "text_ring.h"

Test(text_ring, empty_ring_grants_from_the_start_at_most_its_size)
{
	struct text_ring r;
	uint32_t off = 99;

	text_ring_init(&r, 100);
	cr_assert_eq(text_ring_reserve(&r, TEXT_RING_EMPTY, 40, &off), 40);
	cr_assert_eq(off, 0);
	cr_assert_eq(text_ring_reserve(&r, TEXT_RING_EMPTY, 500, &off), 100);
	/* Stale next (everything freed): still from the start. */
	r.next = 70;
	cr_assert_eq(text_ring_reserve(&r, TEXT_RING_EMPTY, 50, &off), 50);
	cr_assert_eq(off, 0);
}

Test(text_ring, pieces_follow_each_other_then_wrap_to_the_larger_start)
{
	struct text_ring r;
	uint32_t off;

	text_ring_init(&r, 100);
	cr_assert_eq(text_ring_reserve(&r, TEXT_RING_EMPTY, 30, &off), 30);
	text_ring_commit(&r, off, 30);
	cr_assert_eq(text_ring_reserve(&r, 0, 30, &off), 30);
	cr_assert_eq(off, 30);
	text_ring_commit(&r, off, 30);
	cr_assert_eq(text_ring_reserve(&r, 0, 30, &off), 30);
	cr_assert_eq(off, 60);
	text_ring_commit(&r, off, 30); /* next = 90: 10 left at the end */
	/* The first piece left (oldest at 30): the 30 bytes at the start
	 * beat the 10 at the end, and the piece does not wrap. */
	cr_assert_eq(text_ring_reserve(&r, 30, 25, &off), 25);
	cr_assert_eq(off, 0);
	text_ring_commit(&r, off, 25);
	cr_assert_eq(r.next, 25);
	/* Wrapped: only [25, 30) is free now. */
	cr_assert_eq(text_ring_reserve(&r, 30, 25, &off), 5);
	cr_assert_eq(off, 25);
}

Test(text_ring, short_end_is_used_when_the_start_is_no_larger)
{
	struct text_ring r = {.size = 100, .next = 90};
	uint32_t off;

	/* Live from 8: 10 at the end, 8 at the start: the end, cut. */
	cr_assert_eq(text_ring_reserve(&r, 8, 25, &off), 10);
	cr_assert_eq(off, 90);
}

Test(text_ring, full_ring_grants_nothing)
{
	struct text_ring r = {.size = 100, .next = 40};
	uint32_t off;

	cr_assert_eq(text_ring_reserve(&r, 40, 10, &off), 0);
}

Test(text_ring, an_empty_commit_keeps_next)
{
	struct text_ring r = {.size = 100, .next = 40};

	text_ring_commit(&r, 70, 0);
	cr_assert_eq(r.next, 40);
	text_ring_commit(&r, 70, 5);
	cr_assert_eq(r.next, 75);
}

/* A FIFO of live pieces, as a decoder's queue holds them. */
#define SIZE  1000u
#define DEPTH 64u

struct piece {
	uint32_t off, len;
};

Test(text_ring, granted_pieces_never_overlap_live_ones)
{
	struct text_ring r;
	struct piece q[DEPTH];
	uint32_t head = 0, count = 0, seed = 12345, granted_total = 0;
	uint8_t owner[SIZE];

	text_ring_init(&r, SIZE);
	for (uint32_t i = 0; i < SIZE; i++)
		owner[i] = 0;
	for (int step = 0; step < 200000; step++) {
		seed = seed * 1103515245u + 12345u;
		int push =
		    count == 0 || (count < DEPTH && (seed >> 16) % 3 != 0);
		if (!push) {
			struct piece *p = &q[head];
			for (uint32_t b = 0; b < p->len; b++)
				owner[p->off + b] = 0;
			head = (head + 1) % DEPTH;
			count--;
			continue;
		}
		uint32_t want = 1 + (seed >> 8) % 300, off;
		uint32_t oldest = count ? q[head].off : TEXT_RING_EMPTY;
		uint32_t got = text_ring_reserve(&r, oldest, want, &off);
		cr_assert_leq(got, want);
		if (got == 0)
			continue; /* the decoder drops the text; no piece */
		cr_assert_leq(off + got, SIZE, "a piece never wraps");
		for (uint32_t b = 0; b < got; b++) {
			cr_assert_eq(owner[off + b], 0,
				     "step %d: byte %u is live", step, off + b);
			owner[off + b] = 1;
		}
		text_ring_commit(&r, off, got);
		q[(head + count) % DEPTH] = (struct piece){off, got};
		count++;
		granted_total += got;
	}
	cr_assert_gt(granted_total, 1000000u, "the ring must be reused");
}
