/*
 * fuzz_feed.h -- what the decoder fuzz targets share: cutting the input
 * into a sequence of (direction, chunk, time) feeds, and a sink that
 * checks every operation and note a decoder hands out.
 *
 * Input layout (after the target's own leading option bytes): a run of
 * records, each one control byte then its chunk.  Control byte c:
 *   bit 0       direction (PT_DIR_OUT / PT_DIR_IN)
 *   bits 1..7   k: chunk length k + 1 for k < 120, else (k - 119) * 256
 *               (long chunks reach the decoders' buffer limits)
 * The clock advances 1 + (c & 15) ns per feed, so it never goes back.
 * A record cut by the input's end takes what is left.
 *
 * Differential check: each target decodes the input twice, once cut as
 * above and once with every run of same-direction records joined into one
 * feed (fuzz_next_run), and the two must hand out the same operations and
 * notes (times aside: they follow the feeds).  A decoder whose result
 * depends on where read() happened to cut the stream is wrong.
 *
 * Invariants checked in the sink (abort() on a violation, which libFuzzer
 * reports as a crash):
 *   - no operation once a feed returned PT_FEED_STOPPED (close included,
 *     the decoders document "nothing after a stop");
 *   - first feed time <= start_ns <= end_ns <= the latest time passed in;
 *   - text is NULL only with text_len 0, holds no NUL, is at most
 *     PT_TEXT_MAX bytes; the same for note texts;
 *   - the event kind is one the decoder may report.
 */
#ifndef PERFTAP_FUZZ_FEED_H
#define PERFTAP_FUZZ_FEED_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto.h"

/* Say which invariant broke, then crash (libFuzzer keeps the input). */
#define FUZZ_FAIL(...)                                                         \
	do {                                                                   \
		fprintf(stderr, "invariant: " __VA_ARGS__);                    \
		fputc('\n', stderr);                                           \
		abort();                                                       \
	} while (0)

struct fuzz_state {
	uint64_t t0;	/* time of the first feed */
	uint64_t now;	/* latest time passed to the decoder */
	int stopped;	/* a feed returned PT_FEED_STOPPED */
	int tls_note;	/* PT_NOTE_TLS seen (MySQL may resume) */
	uint8_t kind_a; /* kinds the decoder may report */
	uint8_t kind_b;
	uint64_t ops;
	uint64_t digest; /* of every op and note, times excluded */
};

/* FNV-1a: order-sensitive digest of what the decoder handed out. */
static inline void fuzz_mix(struct fuzz_state *st, const void *p, size_t n)
{
	const uint8_t *b = p;
	uint64_t h = st->digest ? st->digest : 1469598103934665603ull;
	for (size_t i = 0; i < n; i++)
		h = (h ^ b[i]) * 1099511628211ull;
	st->digest = h;
}

static inline void fuzz_mix_op(struct fuzz_state *st, const struct pt_op *op)
{
	uint64_t f[] = {op->kind,	op->outcome,	  (uint64_t)op->status,
			op->rows,	op->bytes_out,	  op->bytes_in,
			op->cache_hits, op->cache_misses, op->flags,
			op->text_len};
	fuzz_mix(st, f, sizeof(f));
	if (op->text_len)
		fuzz_mix(st, op->text, op->text_len);
}

static inline void fuzz_check_text(const char *text, size_t len)
{
	if (text == NULL) {
		if (len != 0)
			FUZZ_FAIL("NULL text with length %zu", len);
		return;
	}
	if (len > PT_TEXT_MAX)
		FUZZ_FAIL("text of %zu bytes", len);
	if (memchr(text, '\0', len) != NULL)
		FUZZ_FAIL(
		    "NUL in text at %zu of %zu: %.*s",
		    (size_t)((const char *)memchr(text, '\0', len) - text), len,
		    (int)len, text);
}

static inline void fuzz_on_op(void *arg, const struct pt_op *op)
{
	struct fuzz_state *st = arg;
	if (st->stopped)
		FUZZ_FAIL("operation after PT_FEED_STOPPED");
	if (op->start_ns > op->end_ns || op->start_ns < st->t0 ||
	    op->end_ns > st->now)
		FUZZ_FAIL("times t0 %llu start %llu end %llu now %llu",
			  (unsigned long long)st->t0,
			  (unsigned long long)op->start_ns,
			  (unsigned long long)op->end_ns,
			  (unsigned long long)st->now);
	if (op->kind != st->kind_a && op->kind != st->kind_b)
		FUZZ_FAIL("kind %u", op->kind);
	fuzz_check_text(op->text, op->text_len);
	fuzz_mix_op(st, op);
	st->ops++;
}

static inline void fuzz_on_note(void *arg, enum pt_note note, const char *text,
				size_t text_len, uint64_t value)
{
	struct fuzz_state *st = arg;
	(void)value;
	if (note == PT_NOTE_TLS)
		st->tls_note = 1;
	fuzz_check_text(text, text_len);
	fuzz_mix(st, &note, sizeof(note));
}

/* Next feed from data[*pos..size): returns 0 at the end. */
static inline int fuzz_next_chunk(const uint8_t *data, size_t size, size_t *pos,
				  struct fuzz_state *st, enum pt_dir *dir,
				  const uint8_t **chunk, size_t *len)
{
	uint8_t c;
	size_t k, n;
	if (*pos >= size)
		return 0;
	c = data[(*pos)++];
	k = c >> 1;
	n = k < 120 ? k + 1 : (k - 119) * 256;
	if (n > size - *pos)
		n = size - *pos;
	*dir = (c & 1) ? PT_DIR_IN : PT_DIR_OUT;
	*chunk = data + *pos;
	*len = n;
	*pos += n;
	st->now += 1 + (c & 15);
	return 1;
}

/* Like fuzz_next_chunk, but every following record of the same direction
 * joins the feed: the same bytes in the same order, cut elsewhere.  The
 * feed is copied into buf (cap bytes; a longer run is cut there). */
static inline int fuzz_next_run(const uint8_t *data, size_t size, size_t *pos,
				struct fuzz_state *st, enum pt_dir *dir,
				uint8_t *buf, size_t cap, size_t *len)
{
	const uint8_t *chunk;
	size_t n, save;
	enum pt_dir d;
	*len = 0;
	if (!fuzz_next_chunk(data, size, pos, st, dir, &chunk, &n))
		return 0;
	memcpy(buf, chunk, n);
	*len = n;
	for (;;) {
		save = *pos;
		uint64_t now = st->now;
		if (!fuzz_next_chunk(data, size, pos, st, &d, &chunk, &n))
			break;
		if (d != *dir || *len + n > cap) {
			*pos = save;
			st->now = now;
			break;
		}
		memcpy(buf + *len, chunk, n);
		*len += n;
	}
	return 1;
}

/* The two passes' digests must match (see the top of this file). */
static inline void fuzz_check_same(const struct fuzz_state *a,
				   const struct fuzz_state *b)
{
	if (a->ops != b->ops || a->digest != b->digest)
		FUZZ_FAIL(
		    "chunking changed the result: %llu ops (digest "
		    "%016llx) as cut, %llu ops (%016llx) joined",
		    (unsigned long long)a->ops, (unsigned long long)a->digest,
		    (unsigned long long)b->ops, (unsigned long long)b->digest);
}

#endif /* PERFTAP_FUZZ_FEED_H */
