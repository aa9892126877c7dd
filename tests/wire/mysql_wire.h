/*
 * mysql_wire.h -- build MySQL client/server protocol bytes by hand, for the
 * decoder's unit tests and the per-event benchmark (one copy of the
 * builders, so that both feed the decoder the same framing).
 *
 * Header-only (static inline): the unit tests and bench/ are separate
 * programs with no library in common but the shim's objects.  A buffer
 * grows on demand; running out of memory aborts, which in a test or a
 * benchmark is the right answer.
 */
#ifndef PERFTAP_TESTS_MYSQL_WIRE_H
#define PERFTAP_TESTS_MYSQL_WIRE_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

struct buf {
	uint8_t *p;
	size_t n, cap;
};

static inline void put(struct buf *b, const void *d, size_t n)
{
	if (n == 0)
		return;
	if (b->n + n > b->cap) {
		b->cap = (b->n + n) * 2 + 64;
		b->p = realloc(b->p, b->cap);
		if (!b->p)
			abort();
	}
	memcpy(b->p + b->n, d, n);
	b->n += n;
}

static inline void put8(struct buf *b, unsigned v)
{
	uint8_t c = (uint8_t)v;
	put(b, &c, 1);
}

static inline void put16(struct buf *b, unsigned v)
{
	put8(b, v & 0xff);
	put8(b, (v >> 8) & 0xff);
}

static inline void put32(struct buf *b, uint32_t v)
{
	put16(b, v & 0xffff);
	put16(b, v >> 16);
}

/* Length-encoded integer (protocol::LengthEncodedInteger). */
static inline void put_lenenc(struct buf *b, uint64_t v)
{
	if (v < 251) {
		put8(b, (unsigned)v);
	} else if (v < 0x10000) {
		put8(b, 0xfc);
		put16(b, (unsigned)v);
	} else if (v < 0x1000000) {
		put8(b, 0xfd);
		put16(b, v & 0xffff);
		put8(b, (unsigned)(v >> 16));
	} else {
		put8(b, 0xfe);
		put32(b, (uint32_t)v);
		put32(b, (uint32_t)(v >> 32));
	}
}

static inline void put_str(struct buf *b, const char *s)
{
	put(b, s, strlen(s));
}

static inline void put_lenstr(struct buf *b, const char *s)
{
	put_lenenc(b, strlen(s));
	put_str(b, s);
}

/* Append payload pl as one packet (payload < 16 MiB) with sequence id seq.
 * The payload buffer is consumed: freed and left empty for reuse. */
static inline void packet(struct buf *out, uint8_t seq, struct buf *pl)
{
	if (pl->n >= 0xFFFFFFu)
		abort(); /* a caller bug: split payloads are built by hand */
	put8(out, pl->n & 0xff);
	put8(out, (pl->n >> 8) & 0xff);
	put8(out, (pl->n >> 16) & 0xff);
	put8(out, seq);
	put(out, pl->p, pl->n);
	free(pl->p);
	*pl = (struct buf){0};
}

#endif /* PERFTAP_TESTS_MYSQL_WIRE_H */
