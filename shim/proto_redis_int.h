/*
 * proto_redis_int.h -- what the files of the Redis decoder share and
 * nothing else may use: limits, the parsers' states, the cursor, the
 * small helpers both parsers call, and the functions one file calls in
 * another.  The API is proto_redis.h.
 *
 * Sections:
 *   1. limits and states
 *   2. small helpers (integers, letters, the cursor, desync, the ring's head)
 *   3. across files (request parser, reply parser, public functions)
 */
#ifndef PERFTAP_PROTO_REDIS_INT_H
#define PERFTAP_PROTO_REDIS_INT_H

#include <stddef.h>
#include <string.h>

#include "proto_redis.h"

/* ---- 1. limits and states ------------------------------------------------ */

/* Redis' own limits: proto-max-bulk-len defaults to 512 MiB but may be
 * raised; 4 GiB bounds any sane configuration and keeps sums in int64. */
#define RESP_BULK_MAX (1LL << 32)
/* Multibulk argument count: Redis refuses more than 1024*1024*1024... in
 * practice clients send far fewer; 2^31 keeps counters in range. */
#define RESP_ARGC_MAX (1LL << 31)
/* Elements of one aggregate reply (maps count twice). */
#define RESP_AGG_MAX (1LL << 32)
/* Redis refuses inline requests longer than 64 KiB (PROTO_INLINE_MAX_SIZE). */
#define RESP_INLINE_MAX (64 * 1024)
/* Longest length line the request fast path reads itself: parse_i64 needs
 * no overflow check up to 18 digits, and the digits plus CR fit rq_line
 * (so the state machine would have accepted the same line). */
#define RESP_FAST_DIGITS 18

#define NO_TEXT 0xff
/* Entry flag bits above the PT_EV_* ones (which use bits 0-8). */
#define ENT_SILENT  (1u << 15) /* MULTI or a queued command: no event */
#define ENT_EV_MASK 0x01ffu
/* expect value: UNSUBSCRIBE without channels, resolved at its first
 * confirmation from the subscription count. */
#define EXPECT_ALL 0xffff

enum rq_state {
	RQ_START = 0, /* between requests */
	RQ_MB_LINE,   /* "*N" line, after the '*' */
	RQ_ARG_TYPE,  /* expecting '$' */
	RQ_ARG_LINE,  /* "$len" line, after the '$' */
	RQ_ARG_DATA,  /* argument bytes */
	RQ_ARG_CR,    /* "\r\n" after the argument */
	RQ_ARG_LF,
	RQ_INLINE, /* inline command, up to '\n' */
};

enum rp_state {
	RP_TYPE = 0, /* expecting a type byte */
	RP_LINE,     /* the rest of the line, up to '\r' */
	RP_LF,	     /* '\n' after the line's '\r' */
	RP_BULK,     /* bulk bytes */
	RP_BULK_CR,  /* "\r\n" after the bulk */
	RP_BULK_LF,
};

/* ---- 2. small helpers ---------------------------------------------------- */

/* static inline: both parsers call these on every byte run; a call across
 * files would cost what the single file never paid. */

/* Strict decimal: optional '-', at least one digit, nothing else, no
 * overflow.  0 on success. */
static inline int parse_i64(const char *s, size_t n, int64_t *out)
{
	size_t i = 0;
	int neg = 0;
	uint64_t v = 0;
	/* INT64_MAX + 1 for the negative side. */
	const uint64_t lim = (uint64_t)INT64_MAX + 1;

	if (n > 0 && s[0] == '-') {
		neg = 1;
		i = 1;
	}
	if (i == n)
		return -1;
	/* Up to 18 digits cannot overflow: no per-digit check (the usual
	 * case: lengths and counts). */
	if (n - i <= 18) {
		for (; i < n; i++) {
			unsigned d = (unsigned)(unsigned char)s[i] - '0';
			if (d > 9)
				return -1;
			v = v * 10 + d;
		}
		*out = neg ? -(int64_t)v : (int64_t)v;
		return 0;
	}
	for (; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		if (v > (lim - (uint64_t)(s[i] - '0')) / 10)
			return -1;
		v = v * 10 + (uint64_t)(s[i] - '0');
	}
	if (!neg && v > (uint64_t)INT64_MAX)
		return -1;
	*out = neg ? (int64_t)(0 - v) : (int64_t)v;
	return 0;
}

static inline char upper(char c)
{
	return (c >= 'a' && c <= 'z') ? (char)(c - 'a' + 'A') : c;
}

static inline char lower(char c)
{
	return (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
}

/* The step functions of both parsers work as hiredis read.c's: each reads
 * from a cursor over the bytes still to decode, advances it past the bytes
 * it used (counting them in the request's or reply's size as it goes, so
 * that an operation ended inside a step has its size whole), and returns
 * STEP_OK, or STEP_ERR after a desync. */
struct cursor {
	const uint8_t *p;
	size_t n; /* bytes left at p */
};

enum step_status { STEP_OK = 0, STEP_ERR = -1 };

/* Stop decoding for good: what is left is counted, never guessed at. */
static inline int desync(struct proto_redis *r, const char *why, size_t left)
{
	r->stopped = 1;
	r->undecoded += left;
	if (r->sink && r->sink->note)
		r->sink->note(r->sink->arg, PT_NOTE_DESYNC, why, strlen(why),
			      0);
	return STEP_ERR;
}

static inline struct proto_redis_entry *ring_head(struct proto_redis *r)
{
	return r->count ? &r->q[r->head] : NULL;
}

static inline void ring_pop(struct proto_redis *r)
{
	struct proto_redis_entry *e = &r->q[r->head];

	if (e->text != NO_TEXT && r->text_refs[e->text])
		r->text_refs[e->text]--;
	r->head = (r->head + 1) & r->q_mask;
	r->count--;
}

/* ---- 3. across files ----------------------------------------------------- */

/* proto_redis_request.c: requests (PT_DIR_OUT) into the FIFO. */
void redis_rq_reset(struct proto_redis *r);
enum pt_feed_status redis_rq_feed(struct proto_redis *r, const uint8_t *p,
				  size_t n, uint64_t now);

/* proto_redis_reply.c: replies (PT_DIR_IN) paired with the FIFO's head. */
void redis_rp_reset(struct proto_redis *r);
enum pt_feed_status redis_rp_feed(struct proto_redis *r, const uint8_t *p,
				  size_t n, uint64_t now);
/* Hand op, filled from entry e, to the sink (also for close's aborts). */
void redis_emit(struct proto_redis *r, const struct proto_redis_entry *e,
		struct pt_op *op);

#endif
