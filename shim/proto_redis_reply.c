/*
 * proto_redis_reply.c -- the reply side of the Redis decoder: RESP2/RESP3
 * replies parsed incrementally, each complete top-level reply paired with
 * the FIFO's oldest request and reported as one struct pt_op, with the
 * state replies change: cache counts, MULTI/EXEC, pub/sub, MONITOR, SELECT
 * (the decoder's choices are listed in proto_redis.c).
 *
 * Sections:
 *   1. reply parser: one dispatch switch over per-state functions, plus
 *      the pairing of a finished reply
 */
#include "proto_redis_int.h"

#include "redis_cmds.h"

/* ---- 1. reply parser ----------------------------------------------------- */

/* Used k bytes of a reply: past them, and counted in its size. */
static void rp_use(struct proto_redis *r, struct cursor *c, size_t k)
{
	c->p += k;
	c->n -= k;
	r->rp_bytes += k;
}

void redis_rp_reset(struct proto_redis *r)
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

void redis_emit(struct proto_redis *r, const struct proto_redis_entry *e,
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
	redis_emit(r, e, &op);
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
		redis_rp_reset(r);
		return 0;
	}
	if (r->rp_top == '>' || (r->rp_top == '*' && !r->resp3 && word >= 0)) {
		if (conf && head_sub) {
			rp_confirm(r, word, now);
			redis_rp_reset(r);
			return 0;
		}
		if (r->rp_top == '>' ||
		    (word == REDIS_PS_MESSAGE && subscribed(r))) {
			if (conf)
				subs_update(r, word);
			r->pushes++;
			redis_rp_reset(r);
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
	redis_rp_reset(r);
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

enum pt_feed_status redis_rp_feed(struct proto_redis *r, const uint8_t *p,
				  size_t n, uint64_t now)
{
	struct cursor c = {p, n};

	while (c.n > 0)
		if (rp_step(r, &c, now) != STEP_OK)
			return PT_FEED_STOPPED;
	return PT_FEED_OK;
}
