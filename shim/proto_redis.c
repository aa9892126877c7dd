/*
 * proto_redis.c -- Redis RESP2/RESP3 client-side decoder.
 *
 * Bytes the client sends (PT_DIR_OUT) are requests, bytes it receives
 * (PT_DIR_IN) are replies.  Requests are parsed into a FIFO of outstanding
 * entries; each complete top-level reply pairs with the oldest one and
 * becomes one struct pt_op.  Like hiredis read.c: pure, incremental (any
 * split of the stream gives the same events), strict integers with overflow
 * checks, a sticky error (PT_NOTE_DESYNC + PT_FEED_STOPPED) rather than a
 * guess: a wrong pairing is never produced.
 *
 * Sections:
 *   1. limits (the command table is redis_cmds.c)
 *   2. small helpers (integers, texts, the ring)
 *   3. request parser: one dispatch switch over per-state functions
 *   4. reply parser: likewise, plus the pairing of a finished reply
 *   5. public functions
 *
 * Choices (documented here because callers and reports rely on them):
 *   - Text: "COMMAND pattern" with the first key through
 *     pt_redis_key_pattern(); "CLIENT SETNAME" for two-word commands
 *     (the sub-command word only, never its arguments); no key for
 *     commands whose key position is unknown.  AUTH and HELLO arguments are
 *     never copied anywhere but a 32-byte scratch word that is not text.
 *   - rows: keys touched (1, or every key for DEL/MGET/EXISTS..., pairs for
 *     MSET); EXEC: commands queued; SUBSCRIBE: channels.
 *   - Cache: GET GETEX GETDEL HGET LINDEX ZSCORE: nil = miss, else hit;
 *     MGET HMGET per element; HGETALL SMEMBERS: empty = miss; EXISTS
 *     HEXISTS: the integer is the hits, the other keys misses.  Errors
 *     count neither.
 *   - MULTI and commands queued after it give no event; their +OK/+QUEUED
 *     replies are consumed.  EXEC gives one event, text "EXEC (CMD
 *     pattern; ...)" cut at PROTO_REDIS_TEXT_CAP (PT_EV_TRANSACTION, plus
 *     PT_EV_TRUNCATED when cut), rows = commands queued, timed from the
 *     first byte of MULTI to the last byte of EXEC's reply, bytes_out the
 *     whole transaction.  A WATCH-aborted EXEC (null reply) is PT_OUT_OK
 *     with cache counts 0.  DISCARD is an ordinary event.
 *   - EXEC's cache counts: each element of its array is counted as the
 *     queued command's own reply would be outside a transaction (same
 *     rules, same function), and summed, so that a dump's hits and misses
 *     equal Redis's keyspace_hits / keyspace_misses, which count reads
 *     inside EXEC too.  The queued commands' kinds wait in a FIFO of
 *     PROTO_REDIS_TX_KINDS shared by outstanding transactions; a queued
 *     command past it is not counted and the event has PT_EV_SATURATED.
 *     If the array's length differs from the commands queued (WATCH inside
 *     MULTI is answered at once, not queued), nothing is counted: a
 *     misaligned count would be wrong, a missing one is only incomplete.
 *   - A queued command that failed at run time (an error element: EXEC
 *     itself succeeds, the others ran) makes the EXEC event PT_OUT_ERROR
 *     with that first error's prefix as status: the transaction's work
 *     did not all happen, the application sees it fail (redis-py's
 *     execute() raises), and error_rate must show it.  The reads that
 *     succeeded beside it still count their hits and misses, as Redis
 *     counted them.  EXECABORT (refused at queue time) is the top-level
 *     error, with no cache counts.
 *   - SELECT n: the db is kept (proto_redis_db()), not put in the text.
 *   - Pub/sub: one event per (P|S)(UN)SUBSCRIBE command, ended by its last
 *     confirmation (one per channel; UNSUBSCRIBE with no channel: one per
 *     channel then subscribed, at least one).  RESP2 "message"/"pmessage"/
 *     "smessage" arrays while subscribed, and every RESP3 push that is not
 *     an awaited confirmation, are counted in pushes, never paired.
 *   - MONITOR: one event for the command itself (ended by its +OK); the
 *     lines streamed after it are counted in pushes, never paired, until
 *     RESET.
 *   - Deep pipelines: past the context's ring[] the FIFO moves into spill
 *     memory (options->spill), fourfold each time, up to RING_MAX.
 *     Requests past that (or past ring[] without a spill, or when the
 *     spill fails): counted in `untracked`, their replies eaten
 *     without an event, one PT_NOTE_QUEUE_FULL per request (value 1).
 *     A request arriving while untracked ones are outstanding is untracked
 *     too, so order is kept.
 *   - Not supported (desync): RESP3 streamed strings/aggregates ("$?",
 *     "*?"), which Redis itself never sends.  Inline quoting ("a b") is not
 *     unquoted: words split at blanks.
 *   - A partly sent request at close gives no event.
 */
#include "proto_redis.h"

#include <stddef.h>
#include <string.h>

#include "normalize.h"
#include "redis_cmds.h"

/* ---- 1. limits ----------------------------------------------------------- */

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

_Static_assert(PROTO_REDIS_TEXTS < NO_TEXT, "text slot ids are uint8_t");
_Static_assert(PROTO_REDIS_TEXT_CAP <= PT_TEXT_MAX, "text fits a record");
_Static_assert(RESP_FAST_DIGITS + 1 <= PROTO_REDIS_LINE,
	       "a fast-path length line fits rq_line");
_Static_assert(PROTO_REDIS_TX_KINDS <= UINT8_MAX, "EXEC's kinds kept: arg");
/* proto_redis_init clears all but ring[] and texts[]: they must sit
 * between the cleared parts. */
_Static_assert(offsetof(struct proto_redis, untracked) <
		       offsetof(struct proto_redis, ring) &&
		   offsetof(struct proto_redis, texts) <
		       offsetof(struct proto_redis, text_len),
	       "init's cleared ranges");
_Static_assert((PROTO_REDIS_RING & (PROTO_REDIS_RING - 1)) == 0,
	       "ring index wraps by mask");

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

/* Strict decimal: optional '-', at least one digit, nothing else, no
 * overflow.  0 on success. */
static int parse_i64(const char *s, size_t n, int64_t *out)
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

static char upper(char c)
{
	return (c >= 'a' && c <= 'z') ? (char)(c - 'a' + 'A') : c;
}

static char lower(char c)
{
	return (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
}

static int word_is(const char *w, size_t n, const char *lit)
{
	return strlen(lit) == n && memcmp(w, lit, n) == 0;
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
static int desync(struct proto_redis *r, const char *why, size_t left)
{
	r->stopped = 1;
	r->undecoded += left;
	if (r->sink && r->sink->note)
		r->sink->note(r->sink->arg, PT_NOTE_DESYNC, why, strlen(why),
			      0);
	return STEP_ERR;
}

/* Append s to buf (cap bytes with NUL); 1 if cut. */
static int text_put(char *buf, size_t cap, size_t *n, const char *s, size_t len)
{
	int cut = 0;

	if (*n + len > cap - 1) {
		len = cap - 1 - *n;
		cut = 1;
	}
	memcpy(buf + *n, s, len);
	*n += len;
	buf[*n] = '\0';
	return cut;
}

/* Find or add a text; NO_TEXT when every slot is held by an entry. */
static uint8_t text_intern(struct proto_redis *r, const char *s, size_t n)
{
	uint32_t i, k;

	/* The slot interned last, held or not (its bytes stay until the
	 * slot is reused): a connection mostly repeats one command. */
	i = r->text_last;
	if (i < PROTO_REDIS_TEXTS && r->text_len[i] == n &&
	    memcmp(r->texts[i], s, n) == 0) {
		r->text_refs[i]++;
		return (uint8_t)i;
	}
	for (i = 0; i < PROTO_REDIS_TEXTS; i++)
		if (r->text_refs[i] && r->text_len[i] == n &&
		    memcmp(r->texts[i], s, n) == 0) {
			r->text_refs[i]++;
			return (uint8_t)i;
		}
	for (k = 0; k < PROTO_REDIS_TEXTS; k++) {
		i = (r->text_clock + k) % PROTO_REDIS_TEXTS;
		if (r->text_refs[i] == 0) {
			memcpy(r->texts[i], s, n);
			r->texts[i][n] = '\0';
			r->text_len[i] = (uint16_t)n;
			r->text_refs[i] = 1;
			r->text_clock = i + 1;
			r->text_last = i;
			return (uint8_t)i;
		}
	}
	return NO_TEXT;
}

static struct proto_redis_entry *ring_head(struct proto_redis *r)
{
	return r->count ? &r->q[r->head] : NULL;
}

static void ring_pop(struct proto_redis *r)
{
	struct proto_redis_entry *e = &r->q[r->head];

	if (e->text != NO_TEXT && r->text_refs[e->text])
		r->text_refs[e->text]--;
	r->head = (r->head + 1) & r->q_mask;
	r->count--;
}

static void note_queue_full(struct proto_redis *r)
{
	static const char why[] = "redis: pipeline deeper than the ring";

	if (r->sink && r->sink->note)
		r->sink->note(r->sink->arg, PT_NOTE_QUEUE_FULL, why,
			      sizeof(why) - 1, 1);
}

/* The FIFO is full: move it into spill memory four times its size (a deep
 * pipeline; rare, so not inline in ring_push). */
static __attribute__((noinline)) int ring_grow(struct proto_redis *r)
{
	void *q = r->q;

	if (r->untracked ||
	    pt_spill_ring_grow(r->spill, &q, &r->q_mask, &r->head, r->count,
			       sizeof(*r->q), r->ring,
			       PROTO_REDIS_RING_MAX) < 0)
		return -1;
	r->q = q;
	return 0;
}

/* Queue a finished request; past the ring (or behind untracked ones) it is
 * only counted, expect replies' worth. */
static void ring_push(struct proto_redis *r, const struct proto_redis_entry *e,
		      const char *text, size_t text_len)
{
	struct proto_redis_entry *slot;

	if ((r->count > r->q_mask && ring_grow(r) < 0) || r->untracked) {
		r->untracked += e->expect == EXPECT_ALL ? 1 : e->expect;
		note_queue_full(r);
		return;
	}
	slot = &r->q[(r->head + r->count) & r->q_mask];
	*slot = *e;
	slot->text = text ? text_intern(r, text, text_len) : NO_TEXT;
	r->count++;
}

/* ---- 3. request parser --------------------------------------------------- */

/* Does argument argi need its head word (command, sub-command, keyword,
 * number)?  Only where rq_arg_end reads it; AUTH's arguments never do. */
static int rq_wants_word(const struct proto_redis *r)
{
	unsigned f = redis_cmd_flags(r->rq_cmd_id);

	if (r->rq_argi == 0)
		return 1;
	if (f & REDIS_CF_NOARGS)
		return 0;
	if (f & REDIS_CF_XREAD) /* BLOCK, STREAMS anywhere before the key */
		return 1;
	if (r->rq_argi == 1) { /* a sub-command, SELECT's db, HELLO's
				  protocol: never a plain key */
		int sp = redis_cmd_special(r->rq_cmd_id);
		return (f & REDIS_CF_SUBCMD) || sp == REDIS_SP_SELECT ||
		       sp == REDIS_SP_HELLO;
	}
	return (f & REDIS_CF_EVAL) && r->rq_argi == 2; /* numkeys */
}

static void rq_arg_begin(struct proto_redis *r)
{
	const struct redis_cmd *d = redis_cmd_of(r->rq_cmd_id);
	int key = 0;

	r->rq_arg_len = 0;
	if (r->rq_argi > 0 && d && !r->rq_have_key) {
		if (d->keypos && r->rq_argi == d->keypos)
			key = 1;
		if (r->rq_key_next)
			key = 1;
		if ((d->flags & REDIS_CF_EVAL) && r->rq_argi == 3 &&
		    r->rq_num > 0)
			key = 1;
	}
	r->rq_key_next = 0;
	r->rq_cap_key = key;
	if (key) {
		r->rq_key_len = 0;
		r->rq_key_cut = 0;
	}
}

static void rq_arg_bytes(struct proto_redis *r, const uint8_t *p, size_t n)
{
	uint32_t len = r->rq_arg_len;

	if (len < PROTO_REDIS_WORD && rq_wants_word(r)) {
		size_t k = PROTO_REDIS_WORD - len;
		if (k > n)
			k = n;
		for (size_t i = 0; i < k; i++)
			r->rq_arg[len + i] = upper((char)p[i]);
		r->rq_arg_len = len + (uint32_t)k;
	}
	if (r->rq_cap_key) {
		size_t room = PROTO_REDIS_KEY - r->rq_key_len;
		size_t k = n < room ? n : room;

		memcpy(r->rq_key + r->rq_key_len, p, k);
		r->rq_key_len += (uint32_t)k;
		if (k < n)
			r->rq_key_cut = 1;
	}
}

static void rq_arg_end(struct proto_redis *r)
{
	unsigned f;
	int sp;
	int64_t v;

	if (r->rq_argi == 0) {
		memcpy(r->rq_cmd, r->rq_arg, r->rq_arg_len);
		r->rq_cmd_len = r->rq_arg_len;
		r->rq_cmd_id = redis_cmd_lookup(r->rq_arg, r->rq_arg_len);
		if (redis_cmd_flags(r->rq_cmd_id) & REDIS_CF_BLOCK)
			r->rq_flags |= PT_EV_BLOCKING;
		return;
	}
	f = redis_cmd_flags(r->rq_cmd_id);
	sp = redis_cmd_special(r->rq_cmd_id);
	if (r->rq_cap_key)
		r->rq_have_key = 1;
	if (r->rq_argi == 1 && (f & REDIS_CF_SUBCMD)) {
		memcpy(r->rq_sub, r->rq_arg, r->rq_arg_len);
		r->rq_sub_len = r->rq_arg_len;
	}
	if ((f & REDIS_CF_XREAD) && !r->rq_have_key) {
		if (word_is(r->rq_arg, r->rq_arg_len, "BLOCK"))
			r->rq_flags |= PT_EV_BLOCKING;
		if (word_is(r->rq_arg, r->rq_arg_len, "STREAMS"))
			r->rq_key_next = 1;
	}
	if (((f & REDIS_CF_EVAL) && r->rq_argi == 2) ||
	    ((sp == REDIS_SP_SELECT || sp == REDIS_SP_HELLO) &&
	     r->rq_argi == 1))
		r->rq_num =
		    parse_i64(r->rq_arg, r->rq_arg_len, &v) == 0 ? v : -1;
}

/* Build "CMD [SUB] [pattern]" into out (PROTO_REDIS_TEXT_CAP). */
static size_t rq_text(struct proto_redis *r, char *out, int *cut)
{
	size_t n = 0;

	out[0] = '\0';
	*cut = r->rq_cmd_len == PROTO_REDIS_WORD;
	*cut |=
	    text_put(out, PROTO_REDIS_TEXT_CAP, &n, r->rq_cmd, r->rq_cmd_len);
	if (r->rq_sub_len) {
		*cut |= text_put(out, PROTO_REDIS_TEXT_CAP, &n, " ", 1);
		*cut |= text_put(out, PROTO_REDIS_TEXT_CAP, &n, r->rq_sub,
				 r->rq_sub_len);
	}
	if (r->rq_have_key) {
		size_t room, k;

		*cut |= text_put(out, PROTO_REDIS_TEXT_CAP, &n, " ", 1);
		room = PROTO_REDIS_TEXT_CAP - n;
		if (r->raw) {
			k = r->rq_key_len;
			if (k > r->raw_max)
				k = r->raw_max, *cut = 1;
			*cut |= text_put(out, PROTO_REDIS_TEXT_CAP, &n,
					 r->rq_key, k);
		} else if (room > 1) {
			k = pt_redis_key_pattern(r->rq_key, r->rq_key_len,
						 out + n, room);
			/* A pattern filling the room was probably cut. */
			*cut |= k == room - 1 && r->rq_key_len > 0;
			n += k;
		}
		*cut |= r->rq_key_cut;
	}
	/* Command words and keys are binary-safe; event texts hold no NUL
	 * (the report reads them as C strings). */
	for (size_t k = 0; k < n; k++)
		if (out[k] == '\0')
			out[k] = ' ';
	return n;
}

/* Append one queued command's text to the transaction's list. */
static void tx_append(struct proto_redis *r, const char *t, size_t n)
{
	size_t len = r->tx_len;

	if (r->tx_count > 0)
		r->tx_cut |=
		    text_put(r->tx_text, sizeof(r->tx_text), &len, "; ", 2);
	r->tx_cut |= text_put(r->tx_text, sizeof(r->tx_text), &len, t, n);
	r->tx_len = (uint32_t)len;
	r->tx_count++;
}

/* Remember a queued command's kind for EXEC's reply; past the FIFO it is
 * dropped (tx_close flags the EXEC). */
static void tx_keep_kind(struct proto_redis *r,
			 const struct proto_redis_entry *e)
{
	struct proto_redis_kind *k;

	if (r->kind_count == PROTO_REDIS_TX_KINDS)
		return;
	k = &r->kinds[(r->kind_head + r->kind_count) % PROTO_REDIS_TX_KINDS];
	k->cmd = e->cmd;
	k->rows = e->rows > UINT16_MAX ? UINT16_MAX : (uint16_t)e->rows;
	r->kind_count++;
	r->tx_kept++;
}

/* The open transaction's kinds (the FIFO's newest) will see no reply:
 * DISCARD, or an EXEC past the ring. */
static void tx_drop_kinds(struct proto_redis *r)
{
	r->kind_count -= r->tx_kept;
	r->tx_kept = 0;
}

/* EXEC closing a MULTI: rewrite the entry and its text. */
static size_t tx_close(struct proto_redis *r, struct proto_redis_entry *e,
		       char *out)
{
	size_t n = 0;
	int cut = r->tx_cut;

	cut |= text_put(out, PROTO_REDIS_TEXT_CAP, &n, "EXEC (", 6);
	cut |= text_put(out, PROTO_REDIS_TEXT_CAP, &n, r->tx_text, r->tx_len);
	cut |= text_put(out, PROTO_REDIS_TEXT_CAP, &n, ")", 1);
	e->start_ns = r->tx_start_ns;
	e->bytes_out = (uint32_t)(r->tx_bytes + e->bytes_out > UINT32_MAX
				      ? UINT32_MAX
				      : r->tx_bytes + e->bytes_out);
	e->rows = r->tx_count;
	e->flags = (uint16_t)((r->tx_flags & ENT_EV_MASK) | PT_EV_TRANSACTION |
			      (cut ? PT_EV_TRUNCATED : 0) |
			      (r->tx_kept < r->tx_count ? PT_EV_SATURATED : 0));
	e->arg = (uint8_t)r->tx_kept; /* <= PROTO_REDIS_TX_KINDS */
	r->tx_open = 0;
	return n;
}

static uint32_t rq_rows(const struct proto_redis *r, int64_t argc)
{
	unsigned f = redis_cmd_flags(r->rq_cmd_id);

	if (f & REDIS_CF_MULTIKEY)
		return (uint32_t)(argc - 1);
	if (f & REDIS_CF_PAIRS)
		return (uint32_t)((argc - 1) / 2);
	return r->rq_have_key ? 1 : 0;
}

/* The ring entry of the request just read (argc: its arguments, the
 * command included; cut: its text was cut). */
static void rq_entry(const struct proto_redis *r, int64_t argc, int cut,
		     struct proto_redis_entry *e)
{
	int sp = redis_cmd_special(r->rq_cmd_id);

	memset(e, 0, sizeof(*e));
	e->start_ns = r->rq_start_ns;
	e->bytes_out =
	    r->rq_bytes > UINT32_MAX ? UINT32_MAX : (uint32_t)r->rq_bytes;
	e->rows = rq_rows(r, argc);
	e->flags = (uint16_t)(r->rq_flags | (cut ? PT_EV_TRUNCATED : 0));
	e->expect = 1;
	e->cmd = (uint8_t)r->rq_cmd_id;
	if (sp == REDIS_SP_HELLO || sp == REDIS_SP_SELECT)
		e->arg =
		    r->rq_num >= 0 && r->rq_num <= 255 ? (uint8_t)r->rq_num : 0;
	if (sp == REDIS_SP_SELECT)
		e->rows = r->rq_num >= 0 && r->rq_num <= UINT32_MAX
			      ? (uint32_t)r->rq_num
			      : 0;
	if (sp == REDIS_SP_SUB || sp == REDIS_SP_UNSUB) {
		e->rows = argc > 1 ? (uint32_t)(argc - 1) : 0;
		e->expect =
		    argc > 1
			? (argc - 1 > 0xfffe ? 0xfffe : (uint16_t)(argc - 1))
			: (sp == REDIS_SP_UNSUB ? EXPECT_ALL : 1);
	}
}

/* MULTI, outside a transaction: one opens.  MULTI gives no event of its
 * own; the transaction's starts with its first byte. */
static void tx_begin(struct proto_redis *r, struct proto_redis_entry *e)
{
	r->tx_open = 1;
	r->tx_start_ns = e->start_ns;
	r->tx_bytes = r->rq_bytes;
	r->tx_count = 0;
	r->tx_len = 0;
	r->tx_cut = 0;
	r->tx_kept = 0;
	r->tx_text[0] = '\0';
	r->tx_flags = e->flags;
	e->flags |= ENT_SILENT;
	ring_push(r, e, NULL, 0);
}

/* A command queued inside the open transaction: no event; its text joins
 * EXEC's, its kind waits for its element of EXEC's reply. */
static void tx_queue(struct proto_redis *r, struct proto_redis_entry *e,
		     const char *text, size_t n)
{
	tx_append(r, text, n);
	tx_keep_kind(r, e);
	r->tx_bytes += r->rq_bytes;
	e->flags |= ENT_SILENT;
	ring_push(r, e, NULL, 0);
}

/* EXEC or DISCARD (sp) ends the open transaction, if any: EXEC's entry
 * becomes the transaction's (its text written into text, its length
 * returned); DISCARD forgets the queued kinds.  Any other command's text
 * length n is returned as it is. */
static size_t tx_end(struct proto_redis *r, int sp, struct proto_redis_entry *e,
		     char *text, size_t n)
{
	if (sp == REDIS_SP_EXEC && r->tx_open) {
		/* ring_push will only count it: its reply consumes no kinds */
		if (r->count == PROTO_REDIS_RING || r->untracked)
			tx_drop_kinds(r);
		n = tx_close(r, e, text);
	}
	if (sp == REDIS_SP_DISCARD && r->tx_open)
		tx_drop_kinds(r);
	if (sp == REDIS_SP_DISCARD)
		r->tx_open = 0;
	return n;
}

/* A whole request has been read (argc arguments): queue it. */
static void rq_done(struct proto_redis *r, int64_t argc)
{
	struct proto_redis_entry e;
	char text[PROTO_REDIS_TEXT_CAP];
	int cut, sp = redis_cmd_special(r->rq_cmd_id);
	size_t n = rq_text(r, text, &cut);

	rq_entry(r, argc, cut, &e);
	if (r->tx_open && sp != REDIS_SP_EXEC && sp != REDIS_SP_DISCARD &&
	    sp != REDIS_SP_MULTI)
		tx_queue(r, &e, text, n);
	else if (sp == REDIS_SP_MULTI && !r->tx_open)
		tx_begin(r, &e);
	else {
		n = tx_end(r, sp, &e, text, n);
		ring_push(r, &e, text, n);
	}
}

static void rq_reset(struct proto_redis *r)
{
	r->rq_state = RQ_START;
	r->rq_cmd_id = 0;
	r->rq_argc = r->rq_argi = r->rq_left = 0;
	r->rq_num = -1;
	r->rq_bytes = 0;
	r->rq_line_len = 0;
	r->rq_flags = 0;
	r->rq_in_word = r->rq_cap_key = r->rq_key_next = 0;
	r->rq_have_key = r->rq_key_cut = 0;
	r->rq_cmd_len = r->rq_sub_len = r->rq_arg_len = r->rq_key_len = 0;
}

/* Used k bytes of a request: past them, and counted in its size. */
static void rq_use(struct proto_redis *r, struct cursor *c, size_t k)
{
	c->p += k;
	c->n -= k;
	r->rq_bytes += k;
}

/* Read a "...\r\n" line into rq_line.  *used: bytes of c it takes; *done
 * set when the line is complete (without CRLF in rq_line).  -1 on a
 * malformed line.  Note: c is not advanced (the caller may desync with
 * all of it left). */
static int rq_take_line(struct proto_redis *r, const struct cursor *c,
			size_t *used, int *done)
{
	for (size_t i = 0; i < c->n; i++) {
		if (c->p[i] == '\n') {
			if (r->rq_line_len == 0 ||
			    r->rq_line[r->rq_line_len - 1] != '\r')
				return -1;
			r->rq_line_len--;
			*done = 1;
			*used = i + 1;
			return 0;
		}
		if (r->rq_line_len == PROTO_REDIS_LINE)
			return -1;
		r->rq_line[r->rq_line_len++] = (char)c->p[i];
	}
	*used = c->n;
	return 0;
}

static int rq_start(struct proto_redis *r, struct cursor *c, uint64_t now)
{
	uint8_t b = c->p[0];

	if (b == '\r' || b == '\n') { /* blank line between requests: */
		rq_use(r, c, 1);      /* Redis ignores it */
		return STEP_OK;
	}
	rq_reset(r);
	r->rq_start_ns = now;
	if (r->count || r->untracked)
		r->rq_flags |= PT_EV_PIPELINED;
	if (b == '*') {
		r->rq_state = RQ_MB_LINE;
		rq_use(r, c, 1);
		return STEP_OK;
	}
	r->rq_state = RQ_INLINE; /* the byte is the inline command's */
	return STEP_OK;
}

/* Digits of a whole "<digits>\r\n" line at p (at most RESP_FAST_DIGITS
 * of them, so no overflow): the bytes up to and with the LF, the value in
 * *v; 0 when the line is not whole or not that (the state machine reads
 * it then). */
static size_t rq_count_whole(const uint8_t *p, size_t n, uint64_t *v)
{
	size_t i = 0;
	uint64_t x = 0; /* a local: p may alias *v */

	while (i < n && i < RESP_FAST_DIGITS) {
		unsigned d = (unsigned)p[i] - '0';
		if (d > 9)
			break;
		x = x * 10 + d;
		i++;
	}
	*v = x;
	if (i == 0 || i + 2 > n || p[i] != '\r' || p[i + 1] != '\n')
		return 0;
	return i + 2;
}

static int rq_mb_line(struct proto_redis *r, struct cursor *c)
{
	int done = 0;
	size_t used, k;
	int64_t argc;
	uint64_t v;

	/* Fast path: the whole count line is here. */
	if (r->rq_line_len == 0 && (k = rq_count_whole(c->p, c->n, &v)) != 0 &&
	    v <= (uint64_t)RESP_ARGC_MAX) {
		r->rq_argc = (int64_t)v;
		r->rq_argi = 0;
		r->rq_state = v ? RQ_ARG_TYPE : RQ_START;
		rq_use(r, c, k);
		return STEP_OK;
	}
	if (rq_take_line(r, c, &used, &done))
		return desync(r, "redis: bad multibulk line", c->n);
	if (done && (parse_i64(r->rq_line, r->rq_line_len, &argc) ||
		     argc > RESP_ARGC_MAX))
		return desync(r, "redis: bad multibulk count", c->n);
	if (done &&
	    argc <= 0) { /* "*0": Redis reads nothing, replies nothing */
		r->rq_state = RQ_START;
	} else if (done) {
		r->rq_argc = argc;
		r->rq_argi = 0;
		r->rq_state = RQ_ARG_TYPE;
	}
	rq_use(r, c, used);
	return STEP_OK;
}

static int rq_arg_type(struct proto_redis *r, struct cursor *c)
{
	if (c->p[0] != '$')
		return desync(r, "redis: multibulk argument without '$'", c->n);
	r->rq_line_len = 0;
	r->rq_state = RQ_ARG_LINE;
	rq_use(r, c, 1);
	return STEP_OK;
}

static int rq_arg_line(struct proto_redis *r, struct cursor *c)
{
	int done = 0;
	size_t used;
	int64_t len;

	if (rq_take_line(r, c, &used, &done))
		return desync(r, "redis: bad argument length line", c->n);
	if (done) {
		if (parse_i64(r->rq_line, r->rq_line_len, &len) || len < 0 ||
		    len > RESP_BULK_MAX)
			return desync(r, "redis: bad argument length", c->n);
		r->rq_left = len;
		rq_arg_begin(r);
		r->rq_state = len ? RQ_ARG_DATA : RQ_ARG_CR;
	}
	rq_use(r, c, used);
	return STEP_OK;
}

static int rq_arg_data(struct proto_redis *r, struct cursor *c)
{
	size_t k = (int64_t)c->n < r->rq_left ? c->n : (size_t)r->rq_left;

	rq_arg_bytes(r, c->p, k);
	r->rq_left -= (int64_t)k;
	if (r->rq_left == 0)
		r->rq_state = RQ_ARG_CR;
	rq_use(r, c, k);
	return STEP_OK;
}

/* An argument's closing LF has been read and counted: end it, and the
 * request with it if it was the last. */
static void rq_arg_finish(struct proto_redis *r)
{
	rq_arg_end(r);
	if (++r->rq_argi == r->rq_argc) {
		rq_done(r, r->rq_argc);
		r->rq_state = RQ_START;
	} else {
		r->rq_state = RQ_ARG_TYPE;
	}
}

static int rq_arg_crlf(struct proto_redis *r, struct cursor *c)
{
	if (r->rq_state == RQ_ARG_CR) {
		if (c->p[0] != '\r')
			return desync(r, "redis: argument longer than said",
				      c->n);
		r->rq_state = RQ_ARG_LF;
		rq_use(r, c, 1);
		return STEP_OK;
	}
	if (c->p[0] != '\n')
		return desync(r, "redis: argument not ended by CRLF", c->n);
	rq_use(r, c, 1); /* counted before rq_done reads rq_bytes */
	rq_arg_finish(r);
	return STEP_OK;
}

/* Fast path (the usual case): a whole "$len\r\n<len bytes>\r\n" at c,
 * read as rq_arg_type, rq_arg_line, rq_arg_data and rq_arg_crlf would
 * read it, with the same effects, in one step.  Returns 0 (c untouched)
 * for anything else (split, malformed, a length of more than
 * RESP_FAST_DIGITS digits): the state machine then reads it, and gives
 * the same desync for a bad one.  Note: rq_line is not filled; it is only
 * read after being refilled. */
static int rq_arg_whole(struct proto_redis *r, struct cursor *c)
{
	const uint8_t *p = c->p;
	size_t n = c->n, i;
	uint64_t len;

	if (p[0] != '$')
		return 0;
	i = rq_count_whole(p + 1, n - 1, &len);
	if (i == 0 || len > (uint64_t)RESP_BULK_MAX)
		return 0;
	i += 1;
	if (len > n - i || n - i - len < 2 || p[i + len] != '\r' ||
	    p[i + len + 1] != '\n')
		return 0;
	r->rq_left = 0;
	rq_arg_begin(r);
	rq_arg_bytes(r, p + i, (size_t)len);
	rq_use(r, c, i + (size_t)len + 2); /* before rq_done reads rq_bytes */
	rq_arg_finish(r);
	return 1;
}

/* Inline command: words split at blanks, up to '\n' ('\r' is a blank). */
static int rq_inline(struct proto_redis *r, struct cursor *c)
{
	for (size_t i = 0; i < c->n; i++) {
		uint8_t b = c->p[i];
		int blank = b == ' ' || b == '\t' || b == '\r' || b == '\n';

		if (r->rq_bytes + i + 1 > RESP_INLINE_MAX)
			return desync(r, "redis: inline request too long",
				      c->n);
		if (blank && r->rq_in_word) {
			rq_arg_end(r);
			r->rq_argi++;
			r->rq_in_word = 0;
		} else if (!blank && !r->rq_in_word) {
			rq_arg_begin(r);
			r->rq_in_word = 1;
		}
		if (!blank)
			rq_arg_bytes(r, &b, 1);
		if (b == '\n') {
			rq_use(r, c, i + 1); /* before rq_done reads it */
			if (r->rq_argi > 0)
				rq_done(r, r->rq_argi);
			r->rq_state = RQ_START;
			return STEP_OK;
		}
	}
	rq_use(r, c, c->n);
	return STEP_OK;
}

/* One step of the request parser (c holds at least one byte). */
static int rq_step(struct proto_redis *r, struct cursor *c, uint64_t now)
{
	switch (r->rq_state) {
	case RQ_START:
		return rq_start(r, c, now);
	case RQ_MB_LINE:
		return rq_mb_line(r, c);
	case RQ_ARG_TYPE:
		return rq_arg_whole(r, c) ? STEP_OK : rq_arg_type(r, c);
	case RQ_ARG_LINE:
		return rq_arg_line(r, c);
	case RQ_ARG_DATA:
		return rq_arg_data(r, c);
	case RQ_ARG_CR:
	case RQ_ARG_LF:
		return rq_arg_crlf(r, c);
	case RQ_INLINE:
		return rq_inline(r, c);
	}
	return desync(r, "redis: bad request state", c->n);
}

static enum pt_feed_status rq_feed(struct proto_redis *r, const uint8_t *p,
				   size_t n, uint64_t now)
{
	struct cursor c = {p, n};

	while (c.n > 0)
		if (rq_step(r, &c, now) != STEP_OK)
			return PT_FEED_STOPPED;
	return PT_FEED_OK;
}

/* ---- 4. reply parser ----------------------------------------------------- */

/* Used k bytes of a reply: past them, and counted in its size. */
static void rp_use(struct proto_redis *r, struct cursor *c, size_t k)
{
	c->p += k;
	c->n -= k;
	r->rp_bytes += k;
}

static void rp_reset(struct proto_redis *r)
{
	r->rp_state = RP_TYPE;
	r->rp_depth = 0;
	r->rp_bytes = 0;
	r->rp_top = 0;
	r->rp_nil_top = 0;
	r->rp_hits = r->rp_misses = r->rp_elem1 = 0;
	r->rp_err = 0;
	r->rp_int_top = 0;
	r->rp_have_int3 = 0;
	r->rp_word_len = 0;
	r->rp_tx = 0;
	r->rp_tx_hits = r->rp_tx_misses = 0;
	r->rp_tx_err = 0;
}

static void emit(struct proto_redis *r, const struct proto_redis_entry *e,
		 struct pt_op *op)
{
	const struct redis_cmd *d = redis_cmd_of(e->cmd);

	op->kind = PT_KIND_REDIS;
	op->start_ns = e->start_ns;
	op->bytes_out = e->bytes_out;
	op->flags = e->flags & ENT_EV_MASK;
	if (r->raw)
		op->flags |= PT_EV_RAW;
	if (e->text != NO_TEXT) {
		op->text = r->texts[e->text];
		op->text_len = r->text_len[e->text];
	} else if (d) { /* every text slot busy: the command name at least */
		op->text = d->name;
		op->text_len = strlen(d->name);
		op->flags |= PT_EV_TRUNCATED;
	}
	if (r->sink && r->sink->op)
		r->sink->op(r->sink->arg, op);
}

/* Cache hits and misses of a successful reply to a read command. */
static void cache_count(const struct proto_redis *r, unsigned f, uint32_t rows,
			struct pt_op *op)
{
	redis_cache_rule(f, r->rp_top, r->rp_nil_top, r->rp_int_top, r->rp_hits,
			 r->rp_misses, rows, &op->cache_hits,
			 &op->cache_misses);
}

/* The head entry's reply is complete: report it and apply its effects. */
static void rp_finish_head(struct proto_redis *r, uint64_t now)
{
	struct proto_redis_entry *e = ring_head(r);
	struct pt_op op;
	int err = r->rp_top == '-' || r->rp_top == '!';
	int sp = redis_cmd_special(e->cmd);

	if (e->flags & ENT_SILENT) {
		ring_pop(r);
		return;
	}
	memset(&op, 0, sizeof(op));
	op.end_ns = now;
	op.bytes_in = r->rp_bytes;
	op.rows = e->rows;
	if (e->flags & PT_EV_TRANSACTION) { /* its kinds are the oldest */
		r->kind_head = (r->kind_head + e->arg) % PROTO_REDIS_TX_KINDS;
		r->kind_count -= e->arg;
	}
	if (err) {
		op.outcome = PT_OUT_ERROR;
		op.status = r->rp_err;
	} else if (r->rp_tx) {
		op.cache_hits = r->rp_tx_hits;
		op.cache_misses = r->rp_tx_misses;
		if (r->rp_tx_err) {
			op.outcome = PT_OUT_ERROR;
			op.status = r->rp_tx_err;
		}
	} else {
		cache_count(r, redis_cmd_flags(e->cmd), e->rows, &op);
		if (sp == REDIS_SP_SELECT)
			r->db = e->rows;
		if (sp == REDIS_SP_HELLO && e->arg)
			r->resp3 = e->arg == 3;
		if (sp == REDIS_SP_MONITOR)
			r->monitor = 1;
		if (sp == REDIS_SP_RESET) {
			r->monitor = 0;
			r->resp3 = 0;
			r->db = 0;
			memset(r->subs, 0, sizeof(r->subs));
		}
	}
	if (sp == REDIS_SP_SELECT)
		op.rows = 0;
	emit(r, e, &op);
	ring_pop(r);
}

/* Track subscriptions from a confirmation's count (its third element). */
static void subs_update(struct proto_redis *r, int word)
{
	int kind = word % 3;
	int64_t total, delta;

	if (!r->rp_have_int3)
		return;
	/* Channels and patterns share one count; shard channels their own. */
	total = kind == 2 ? r->subs[2] : r->subs[0] + r->subs[1];
	delta = r->rp_int3 - total;
	r->subs[kind] += delta;
	if (r->subs[kind] < 0)
		r->subs[kind] = 0;
}

/* A (un)subscribe confirmation for the head entry. */
static void rp_confirm(struct proto_redis *r, int word, uint64_t now)
{
	struct proto_redis_entry *e = ring_head(r);

	if (e->expect == EXPECT_ALL) {
		int64_t s = r->subs[word % 3];

		e->expect = s < 1 ? 1 : (s > 0xfffe ? 0xfffe : (uint16_t)s);
		if (e->rows == 0)
			e->rows = e->expect;
	}
	subs_update(r, word);
	if (--e->expect == 0)
		rp_finish_head(r, now);
}

static int subscribed(const struct proto_redis *r)
{
	return r->subs[0] + r->subs[1] + r->subs[2] > 0;
}

/* After MONITOR succeeded the server streams one "+<unix time> [db addr]
 * \"cmd\" ..." line per command it runs; replies to what the client still
 * sends (RESET, QUIT) never start with a digit. */
static int monitor_line(const struct proto_redis *r)
{
	return r->rp_top == '+' && r->rp_line_len > 0 && r->rp_line[0] >= '0' &&
	       r->rp_line[0] <= '9';
}

/* A whole top-level reply has been read: pair it (or count it). */
static int rp_reply_done(struct proto_redis *r, uint64_t now, size_t left)
{
	struct proto_redis_entry *e = ring_head(r);
	int word = redis_pubsub_word_of(r->rp_word, r->rp_word_len);
	int sp = e ? redis_cmd_special(e->cmd) : REDIS_SP_NONE;
	int head_sub = sp == REDIS_SP_SUB || sp == REDIS_SP_UNSUB;
	int conf = word >= REDIS_PS_SUB && word <= REDIS_PS_SUNSUB;

	if (r->monitor && monitor_line(r)) {
		r->pushes++; /* streamed, not a reply: no event, no failure */
		rp_reset(r);
		return 0;
	}
	if (r->rp_top == '>' || (r->rp_top == '*' && !r->resp3 && word >= 0)) {
		if (conf && head_sub) {
			rp_confirm(r, word, now);
			rp_reset(r);
			return 0;
		}
		if (r->rp_top == '>' ||
		    (word == REDIS_PS_MESSAGE && subscribed(r))) {
			if (conf)
				subs_update(r, word);
			r->pushes++;
			rp_reset(r);
			return 0;
		}
	}
	if (e) {
		rp_finish_head(r, now);
	} else if (r->untracked) {
		r->untracked--;
	} else {
		return desync(r, "redis: reply without a request", left);
	}
	rp_reset(r);
	return 0;
}

/* EXEC's array of n elements opens: count its elements if the head is a
 * transaction whose queued commands they answer one for one. */
static void rp_tx_begin(struct proto_redis *r, int64_t n)
{
	const struct proto_redis_entry *e = ring_head(r);

	r->rp_tx = e && (e->flags & PT_EV_TRANSACTION) && n == e->rows;
	r->rp_el_hits = r->rp_el_misses = 0;
	r->rp_el_int = 0;
}

/* Element i of EXEC's array ended: count it as its queued command's own
 * reply, unless it is an error (the first one is the event's status). */
static void rp_tx_elem(struct proto_redis *r, int nil)
{
	const struct proto_redis_entry *e = ring_head(r);
	uint32_t i = r->rp_elem1;
	uint8_t t = r->rp_el_type;

	if (e && i < e->arg && t != '-' && t != '!') {
		const struct proto_redis_kind *k =
		    &r->kinds[(r->kind_head + i) % PROTO_REDIS_TX_KINDS];

		redis_cache_rule(redis_cmd_flags(k->cmd), t, nil, r->rp_el_int,
				 r->rp_el_hits, r->rp_el_misses, k->rows,
				 &r->rp_tx_hits, &r->rp_tx_misses);
	}
	r->rp_el_hits = r->rp_el_misses = 0;
	r->rp_el_int = 0;
}

/* An error inside EXEC's array: keep the first one's prefix. */
static void rp_tx_error(struct proto_redis *r, const char *w, size_t n)
{
	if (r->rp_tx && r->rp_depth == 1 && !r->rp_tx_err)
		r->rp_tx_err = redis_error_of(w, n);
}

/* A value ended (nil: it was a null).  Climbs finished aggregates. */
static int rp_value_done(struct proto_redis *r, int nil, uint64_t now,
			 size_t left)
{
	for (;;) {
		struct proto_redis_frame *f;

		if (r->rp_depth == 0) {
			r->rp_nil_top = nil;
			return rp_reply_done(r, now, left);
		}
		f = &r->stack[r->rp_depth - 1];
		if (r->rp_tx && r->rp_depth == 2 && !f->attr) {
			if (nil)
				r->rp_el_misses++;
			else
				r->rp_el_hits++;
		}
		if (r->rp_depth == 1 && !f->attr) {
			if (r->rp_tx)
				rp_tx_elem(r, nil);
			r->rp_elem1++;
			if (nil)
				r->rp_misses++;
			else
				r->rp_hits++;
		}
		if (--f->left > 0)
			return 0;
		r->rp_depth--;
		nil = 0;
		if (f->attr) {
			/* An attribute annotates the next value; it is not
			 * one.  At the top, forget what it held. */
			if (r->rp_depth == 0) {
				r->rp_hits = r->rp_misses = r->rp_elem1 = 0;
				r->rp_word_len = 0;
				r->rp_have_int3 = 0;
			}
			return 0;
		}
	}
}

static int rp_is_type(uint8_t c)
{
	return strchr("+-:$*%~|>_#,(=!", c) != NULL && c != '\0';
}

static int rp_type(struct proto_redis *r, struct cursor *c)
{
	uint8_t t = c->p[0];

	if (!rp_is_type(t))
		return desync(r, "redis: bad reply type byte", c->n);
	r->rp_type = t;
	if (r->rp_depth == 0)
		r->rp_top = t;
	if (r->rp_depth == 1) /* an attribute's is overwritten by its value's */
		r->rp_el_type = t;
	r->rp_line_len = 0;
	r->rp_state = RP_LINE;
	rp_use(r, c, 1);
	return STEP_OK;
}

/* Lines that may be long: only their head is kept. */
static int rp_long_ok(uint8_t t)
{
	return t == '+' || t == '-' || t == '(' || t == ',';
}

static int rp_line(struct proto_redis *r, struct cursor *c)
{
	for (size_t i = 0; i < c->n; i++) {
		if (c->p[i] == '\r') {
			r->rp_state = RP_LF;
			rp_use(r, c, i + 1);
			return STEP_OK;
		}
		if (c->p[i] == '\n')
			return desync(r, "redis: reply line without CR", c->n);
		if (r->rp_line_len < PROTO_REDIS_LINE)
			r->rp_line[r->rp_line_len] = (char)c->p[i];
		else if (!rp_long_ok(r->rp_type))
			return desync(r, "redis: reply line too long", c->n);
		r->rp_line_len++;
	}
	rp_use(r, c, c->n);
	return STEP_OK;
}

/* First depth-1 element that is a string: keep it (pub/sub kind). */
static void rp_keep_word(struct proto_redis *r, const uint8_t *p, size_t n)
{
	if (r->rp_depth != 1 || r->rp_elem1 != 0 || r->stack[0].attr)
		return;
	for (size_t i = 0; i < n && r->rp_word_len < PROTO_REDIS_WORD; i++)
		r->rp_word[r->rp_word_len++] = lower((char)p[i]);
}

static int rp_check_simple(struct proto_redis *r, const char *s, size_t n)
{
	int64_t v;
	size_t i = 0;

	switch (r->rp_type) {
	case ':':
		if (parse_i64(s, n, &v))
			return -1;
		if (r->rp_depth == 0)
			r->rp_int_top = v;
		if (r->rp_depth == 1)
			r->rp_el_int = v;
		if (r->rp_depth == 1 && r->rp_elem1 == 2) {
			r->rp_int3 = v;
			r->rp_have_int3 = 1;
		}
		return 0;
	case '_':
		return n == 0 ? 0 : -1;
	case '#':
		return n == 1 && (s[0] == 't' || s[0] == 'f') ? 0 : -1;
	case '(':
		if (n > 0 && s[0] == '-')
			i = 1;
		if (i == n)
			return -1;
		for (; i < n; i++)
			if (s[i] < '0' || s[i] > '9')
				return -1;
		return 0;
	case ',':
		return n > 0 ? 0 : -1;
	}
	return 0;
}

/* Start an aggregate of n elements (maps and attributes: 2n). */
static int rp_open(struct proto_redis *r, int64_t n, uint64_t now, size_t left)
{
	int pair = r->rp_type == '%' || r->rp_type == '|';

	if (n == 0) {
		if (r->rp_type == '|')
			return STEP_OK; /* empty attribute: nothing to annotate
					 */
		return rp_value_done(r, 0, now, left);
	}
	if (r->rp_depth == PROTO_REDIS_DEPTH)
		return desync(r, "redis: reply nested too deep", left);
	if (r->rp_depth == 0 && r->rp_type == '*')
		rp_tx_begin(r, n);
	r->stack[r->rp_depth].left = pair ? 2 * n : n;
	r->stack[r->rp_depth].attr = r->rp_type == '|';
	r->rp_depth++;
	return STEP_OK;
}

/* The line after a type byte is complete (CRLF read). */
static int rp_line_done(struct proto_redis *r, uint64_t now, size_t left)
{
	size_t n = r->rp_line_len < PROTO_REDIS_LINE ? r->rp_line_len
						     : PROTO_REDIS_LINE;
	int64_t v;
	uint8_t t = r->rp_type;

	r->rp_state = RP_TYPE;
	if (strchr("$=!*%~|>", t)) {
		if (parse_i64(r->rp_line, n, &v))
			return desync(r, "redis: bad reply length", left);
		if (v == -1 && (t == '$' || t == '*'))
			return rp_value_done(r, 1, now, left);
		if (v < 0 ||
		    v > (t == '$' || t == '=' || t == '!' ? RESP_BULK_MAX
							  : RESP_AGG_MAX))
			return desync(r, "redis: bad reply length", left);
		if (t == '$' || t == '=' || t == '!') {
			r->rp_left = v;
			r->rp_line_len = 0;
			r->rp_state = v ? RP_BULK : RP_BULK_CR;
			return STEP_OK;
		}
		return rp_open(r, v, now, left);
	}
	if (rp_check_simple(r, r->rp_line, n))
		return desync(r, "redis: bad reply value", left);
	if (t == '-' && r->rp_depth == 0)
		r->rp_err = redis_error_of(r->rp_line, n);
	if (t == '-')
		rp_tx_error(r, r->rp_line, n);
	if (t == '+')
		rp_keep_word(r, (const uint8_t *)r->rp_line, n);
	return rp_value_done(r, t == '_', now, left);
}

static int rp_lf(struct proto_redis *r, struct cursor *c, uint64_t now)
{
	if (c->p[0] != '\n')
		return desync(r, "redis: reply line CR without LF", c->n);
	rp_use(r, c, 1); /* before the reply may be reported */
	return rp_line_done(r, now, c->n);
}

/* Bulk bytes: k of them at p (at most rp_left) are the value's. */
static void rp_bulk_bytes(struct proto_redis *r, const uint8_t *p, size_t k)
{
	rp_keep_word(r, p, k);
	/* A blob error's first word, for its status (or EXEC's). */
	if (r->rp_type == '!' && (r->rp_depth == 0 || r->rp_tx))
		for (size_t i = 0; i < k && r->rp_line_len < PROTO_REDIS_LINE;
		     i++)
			r->rp_line[r->rp_line_len++] = (char)p[i];
	r->rp_left -= (int64_t)k;
	if (r->rp_left == 0)
		r->rp_state = RP_BULK_CR;
}

static int rp_bulk(struct proto_redis *r, struct cursor *c)
{
	size_t k = (int64_t)c->n < r->rp_left ? c->n : (size_t)r->rp_left;

	rp_bulk_bytes(r, c->p, k);
	rp_use(r, c, k);
	return STEP_OK;
}

/* A bulk's closing LF has been read and counted (left: bytes after it). */
static int rp_bulk_end(struct proto_redis *r, uint64_t now, size_t left)
{
	r->rp_state = RP_TYPE;
	if (r->rp_type == '!' && r->rp_depth == 0)
		r->rp_err = redis_error_of(r->rp_line, r->rp_line_len);
	if (r->rp_type == '!')
		rp_tx_error(r, r->rp_line, r->rp_line_len);
	return rp_value_done(r, 0, now, left);
}

static int rp_bulk_crlf(struct proto_redis *r, struct cursor *c, uint64_t now)
{
	if (r->rp_state == RP_BULK_CR) {
		if (c->p[0] != '\r')
			return desync(r, "redis: bulk longer than said", c->n);
		r->rp_state = RP_BULK_LF;
		rp_use(r, c, 1);
		return STEP_OK;
	}
	if (c->p[0] != '\n')
		return desync(r, "redis: bulk not ended by CRLF", c->n);
	rp_use(r, c, 1); /* before the reply may be reported */
	return rp_bulk_end(r, now, c->n);
}

/* Fast path: the length of a whole "<type><line>\r\n" at c, at most
 * PROTO_REDIS_LINE bytes of line, which rp_line_whole reads as rp_type,
 * rp_line and rp_lf would read it, in one step.  0 for anything else
 * (split, long, malformed): the state machine then reads it, with the
 * same outcome. */
static size_t rp_line_whole_len(const struct cursor *c)
{
	const uint8_t *p = c->p;
	size_t n = c->n;
	size_t max =
	    n - 1 < PROTO_REDIS_LINE + 1 ? n - 1 : PROTO_REDIS_LINE + 1;
	size_t i = 0;

	while (i < max && p[1 + i] != '\r') {
		if (p[1 + i] == '\n')
			return 0;
		i++;
	}
	if (i == max || i + 3 > n || p[i + 2] != '\n')
		return 0;
	return i + 3;
}

static int rp_line_whole(struct proto_redis *r, struct cursor *c, size_t total,
			 uint64_t now)
{
	size_t line = total - 3; /* type byte, CR, LF */

	if (rp_type(r, c) != STEP_OK) /* the state machine's own desync */
		return STEP_ERR;
	memcpy(r->rp_line, c->p, line);
	r->rp_line_len = (uint32_t)line;
	rp_use(r, c, line + 2); /* before the reply may be reported */
	return rp_line_done(r, now, c->n);
}

/* Fast path: the rest of a bulk and its CRLF whole at c, read as rp_bulk
 * and rp_bulk_crlf would read them.  0 (c untouched) for anything else. */
static int rp_bulk_is_whole(const struct proto_redis *r, const struct cursor *c)
{
	size_t k;

	if (c->n < 2 || r->rp_left > (int64_t)(c->n - 2))
		return 0;
	k = (size_t)r->rp_left;
	return c->p[k] == '\r' && c->p[k + 1] == '\n';
}

static int rp_bulk_whole(struct proto_redis *r, struct cursor *c, uint64_t now)
{
	size_t k = (size_t)r->rp_left;

	rp_bulk_bytes(r, c->p, k);
	rp_use(r, c, k + 2); /* before the reply may be reported */
	return rp_bulk_end(r, now, c->n);
}

/* One step of the reply parser (c holds at least one byte). */
static int rp_step(struct proto_redis *r, struct cursor *c, uint64_t now)
{
	size_t whole;

	switch (r->rp_state) {
	case RP_TYPE:
		whole = rp_line_whole_len(c);
		return whole ? rp_line_whole(r, c, whole, now) : rp_type(r, c);
	case RP_LINE:
		return rp_line(r, c);
	case RP_LF:
		return rp_lf(r, c, now);
	case RP_BULK:
		return rp_bulk_is_whole(r, c) ? rp_bulk_whole(r, c, now)
					      : rp_bulk(r, c);
	case RP_BULK_CR:
	case RP_BULK_LF:
		return rp_bulk_crlf(r, c, now);
	}
	return desync(r, "redis: bad reply state", c->n);
}

static enum pt_feed_status rp_feed(struct proto_redis *r, const uint8_t *p,
				   size_t n, uint64_t now)
{
	struct cursor c = {p, n};

	while (c.n > 0)
		if (rp_step(r, &c, now) != STEP_OK)
			return PT_FEED_STOPPED;
	return PT_FEED_OK;
}

/* ---- 5. public functions ------------------------------------------------- */

/* Note: the ring and the text bodies (40 of the context's 42 KiB) are not
 * cleared: a ring slot is written before it is counted, a text before its
 * refcount is set.  A connection table of mostly idle slots thus only
 * touches the pages it uses. */
void proto_redis_init(struct proto_redis *r, const struct pt_proto_options *opt,
		      const struct pt_sink *sink)
{
	size_t lens = offsetof(struct proto_redis, text_len);

	memset(r, 0, offsetof(struct proto_redis, ring));
	memset((char *)r + lens, 0, sizeof(*r) - lens);
	r->sink = sink;
	r->q = r->ring;
	r->q_mask = PROTO_REDIS_RING - 1;
	r->spill = opt ? opt->spill : NULL;
	r->text_last = PROTO_REDIS_TEXTS;
	if (opt && opt->raw) {
		r->raw = 1;
		r->raw_max = opt->raw_max < PROTO_REDIS_TEXT_CAP
				 ? opt->raw_max
				 : PROTO_REDIS_TEXT_CAP;
	}
	rq_reset(r);
	rp_reset(r);
}

enum pt_feed_status proto_redis_feed(struct proto_redis *r, enum pt_dir dir,
				     const uint8_t *buf, size_t len,
				     uint64_t now_ns)
{
	if (r->stopped) {
		r->undecoded += len;
		return PT_FEED_STOPPED;
	}
	if (dir == PT_DIR_OUT)
		return rq_feed(r, buf, len, now_ns);
	return rp_feed(r, buf, len, now_ns);
}

void proto_redis_close(struct proto_redis *r, uint64_t now_ns)
{
	/* After a desync nothing is reported (as the other decoders): the
	 * replies may have come and gone undecoded, and an abort timed at
	 * the close could be hours late. */
	while (r->count && r->stopped) {
		r->rp_bytes = 0;
		ring_pop(r);
	}
	while (r->count) {
		struct proto_redis_entry *e = ring_head(r);
		struct pt_op op;

		if (!(e->flags & ENT_SILENT)) {
			memset(&op, 0, sizeof(op));
			op.outcome = PT_OUT_ABORTED;
			op.end_ns = now_ns;
			op.rows = e->rows;
			op.bytes_in = r->rp_bytes; /* head only: zeroed below */
			emit(r, e, &op);
		}
		ring_pop(r);
		r->rp_bytes = 0;
	}
	r->untracked = 0;
	r->kind_count = r->tx_kept = 0;
	r->stopped = 1;
	void *q = r->q;
	pt_spill_ring_free(r->spill, &q, &r->q_mask, sizeof(*r->q), r->ring,
			   PROTO_REDIS_RING);
	r->q = q;
	r->head = 0;
}

/* Inline: a word the table knows, ended by a blank or line end. */
static int sniff_inline(const uint8_t *buf, size_t len)
{
	char w[PROTO_REDIS_WORD];
	size_t n = 0;

	while (n < len && n < sizeof(w)) {
		uint8_t c = buf[n];

		/* "GET /path HTTP/1.1" is HTTP, not an inline GET */
		if (c == ' ' && n + 1 < len && buf[n + 1] == '/')
			return 0;
		if (c == ' ' || c == '\r' || c == '\n' || c == '\t')
			return n > 0 && redis_cmd_lookup(w, n) != 0;
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      c == '_'))
			return 0;
		w[n++] = upper((char)c);
	}
	return 0;
}

int proto_redis_sniff(const uint8_t *buf, size_t len)
{
	size_t i = 1;

	if (len == 0)
		return 0;
	if (buf[0] != '*')
		return sniff_inline(buf, len);
	/* "*N\r\n$": N of 1 to 10 digits, not starting with 0. */
	if (i >= len || buf[i] < '1' || buf[i] > '9')
		return 0;
	while (i < len && buf[i] >= '0' && buf[i] <= '9' && i <= 10)
		i++;
	if (i == len)
		return 1;
	if (buf[i] != '\r')
		return 0;
	if (++i == len)
		return 1;
	if (buf[i] != '\n')
		return 0;
	if (++i == len)
		return 1;
	return buf[i] == '$';
}

int proto_redis_idle(const struct proto_redis *r)
{
	return !r->stopped && !r->count && !r->untracked && !r->tx_open &&
	       r->rq_state == RQ_START && r->rp_state == RP_TYPE &&
	       r->rp_depth == 0;
}

int64_t proto_redis_db(const struct proto_redis *r)
{
	return r->db;
}

uint64_t proto_redis_pushes(const struct proto_redis *r)
{
	return r->pushes;
}
