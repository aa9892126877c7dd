/*
 * proto_mysql_queue.c -- the MySQL decoder's memory: prepared
 * statements and their text, the arena holding command text, the queue of
 * commands awaiting a response, and the event each one becomes.
 *
 * Sections:
 *   1. statement table and text arena
 *   2. command queue and event emission
 */
#include "proto_mysql_int.h"

#include <string.h>

/* ---- 1. statement table and text arena ---------------------------------- */

int proto_mysql_stmt_find(const struct proto_mysql *m, uint32_t id)
{
	for (unsigned i = 0; i < PROTO_MYSQL_STMT_MAX; i++)
		if (m->stmts[i].used && m->stmts[i].id == id)
			return (int)i;
	return -1;
}

uint32_t proto_mysql_stmt_tick(struct proto_mysql *m)
{
	if (++m->stmt_clock == 0) /* 0 marks a free slot */
		m->stmt_clock = 1;
	return m->stmt_clock;
}

/* Remember statement id's text; evicts the least recently used. */
void proto_mysql_stmt_put(struct proto_mysql *m, uint32_t id, const char *text,
			  size_t len, uint32_t flags)
{
	int slot = proto_mysql_stmt_find(m, id);

	if (slot < 0) {
		uint32_t best = UINT32_MAX;
		for (unsigned i = 0; i < PROTO_MYSQL_STMT_MAX; i++) {
			if (m->stmts[i].used < best) {
				best = m->stmts[i].used;
				slot = (int)i;
			}
		}
	}
	struct proto_mysql_stmt *s = &m->stmts[slot];
	if (len > PROTO_MYSQL_STMT_TEXT - 1) {
		len = PROTO_MYSQL_STMT_TEXT - 1;
		flags |= PT_EV_TRUNCATED;
	}
	s->id = id;
	s->used = proto_mysql_stmt_tick(m);
	s->len = (uint16_t)len;
	s->flags = (uint16_t)(flags & (PT_EV_TRUNCATED | PT_EV_RAW));
	memcpy(s->text, text, len);
	s->text[len] = '\0';
}

void proto_mysql_stmt_forget(struct proto_mysql *m, uint32_t id)
{
	int slot = proto_mysql_stmt_find(m, id);

	if (slot >= 0)
		m->stmts[slot].used = 0;
}

/* The server drops every statement on RESET_CONNECTION / CHANGE_USER. */
void proto_mysql_stmt_clear(struct proto_mysql *m)
{
	for (unsigned i = 0; i < PROTO_MYSQL_STMT_MAX; i++)
		m->stmts[i].used = 0;
}

/*
 * Reserve up to want bytes of contiguous arena for a new command's text.
 * Texts are freed in queue order, so the arena is a ring (text_ring.h)
 * whose oldest live piece is the first queued command's text.  Returns
 * the capacity granted (maybe less than want, maybe 0).
 */
static uint32_t arena_reserve(const struct proto_mysql *m, uint32_t want,
			      uint32_t *off)
{
	uint32_t oldest = TEXT_NONE;

	for (uint32_t i = 0; i < m->q_count && oldest == TEXT_NONE; i++)
		oldest = m->q[(m->q_head + i) & m->q_mask].text_off;
	return text_ring_reserve(&m->text, oldest, want, off);
}

/*
 * A spilled (deep) queue whose texts no longer fit: move the live texts,
 * in queue order, to the start of spill memory four times the size, and
 * point each command at its new place.  Rare (only past the fixed queue,
 * sizes quadruple), hence out of line.  Returns 0 or -1 (nothing changed).
 */
static __attribute__((noinline)) int arena_grow(struct proto_mysql *m)
{
	uint32_t size = m->text.size * 4, at = 0;

	if (size > PROTO_MYSQL_ARENA_SPILL_MAX || !m->spill)
		return -1;
	char *n = m->spill->get(size);
	if (!n)
		return -1;
	for (uint32_t i = 0; i < m->q_count; i++) {
		struct proto_mysql_cmd *c = &m->q[(m->q_head + i) & m->q_mask];
		if (c->text_off == TEXT_NONE)
			continue;
		memcpy(n + at, m->arena + c->text_off, c->text_len + 1u);
		c->text_off = at;
		at += c->text_len + 1u;
	}
	if (m->arena != m->arena0)
		m->spill->put(m->arena, m->text.size);
	m->arena = n;
	m->text.size = size;
	m->text.next = at;
	return 0;
}

/* arena_reserve, growing the arena when a deep pipeline filled it. */
uint32_t proto_mysql_arena_take(struct proto_mysql *m, uint32_t want,
				uint32_t *off)
{
	uint32_t cap = arena_reserve(m, want, off);

	if (cap < want && m->q != m->q0 && arena_grow(m) == 0)
		cap = arena_reserve(m, want, off);
	return cap;
}

/* ---- 2. command queue and event emission -------------------------------- */

/* The fixed queue is full: move it into spill memory (rare). */
__attribute__((noinline)) int proto_mysql_queue_grow(struct proto_mysql *m)
{
	void *q = m->q;

	if (pt_spill_ring_grow(m->spill, &q, &m->q_mask, &m->q_head, m->q_count,
			       sizeof(*m->q), m->q0,
			       PROTO_MYSQL_QUEUE_SPILL_MAX) < 0)
		return -1;
	m->q = q;
	return 0;
}

void proto_mysql_resp_reset(struct proto_mysql *m)
{
	m->rstate = RS_FIRST;
	m->rows = 0;
	m->bytes_in = 0;
	m->extra_out = 0;
	m->srv_status = 0;
	m->warnings = 0;
	m->cols_left = 0;
	m->prep_cols = 0;
	if (m->q_count)
		m->xseq = m->q[m->q_head].seq_next;
}

static void emit(struct proto_mysql *m, const struct proto_mysql_cmd *c,
		 uint64_t end_ns, uint8_t outcome, int32_t status)
{
	struct pt_op op;

	memset(&op, 0, sizeof(op));
	op.kind = PT_KIND_MYSQL;
	op.outcome = outcome;
	op.status = status;
	op.start_ns = c->start_ns;
	op.end_ns = end_ns;
	op.rows = m->rows;
	op.bytes_out = c->bytes_out + m->extra_out;
	op.bytes_in = m->bytes_in;
	op.flags = c->flags;
	op.server_status = m->srv_status;
	op.warnings = m->warnings;
	if (c->text_off != TEXT_NONE) {
		op.text = m->arena + c->text_off;
		op.text_len = c->text_len;
	}
	if (m->sink.op)
		m->sink.op(m->sink.arg, &op);
}

/* The head command's response is complete: report it, start the next. */
int proto_mysql_finish(struct proto_mysql *m, uint64_t now_ns, uint8_t outcome,
		       int32_t status)
{
	emit(m, q_head(m), now_ns, outcome, status);
	m->q_head = (m->q_head + 1) & m->q_mask;
	m->q_count--;
	proto_mysql_resp_reset(m);
	return 0;
}
