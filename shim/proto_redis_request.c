/*
 * proto_redis_request.c -- the request side of the Redis decoder: RESP
 * multibulk and inline commands the client sends, parsed into entries of
 * the FIFO that replies pair with (the command table is redis_cmds.c; the
 * decoder's choices are listed in proto_redis.c).
 *
 * Sections:
 *   1. words, texts and the FIFO (interning, growth into spill memory, push)
 *   2. request parser: one dispatch switch over per-state functions
 */
#include "proto_redis_int.h"

#include "normalize.h"
#include "redis_cmds.h"

/* ---- 1. words, texts and the FIFO ---------------------------------------- */

static int word_is(const char *w, size_t n, const char *lit)
{
	return strlen(lit) == n && memcmp(w, lit, n) == 0;
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

/* ---- 2. request parser --------------------------------------------------- */

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

void redis_rq_reset(struct proto_redis *r)
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
	redis_rq_reset(r);
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

enum pt_feed_status redis_rq_feed(struct proto_redis *r, const uint8_t *p,
				  size_t n, uint64_t now)
{
	struct cursor c = {p, n};

	while (c.n > 0)
		if (rq_step(r, &c, now) != STEP_OK)
			return PT_FEED_STOPPED;
	return PT_FEED_OK;
}
