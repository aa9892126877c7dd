/*
 * proto_mysql_command.c -- the MySQL command phase, client side:
 * each command is queued with the text its event will carry (SQL
 * fingerprint, prepared statement, or the command's name).
 *
 * Sections:
 *   1. command names
 *   2. client packets (commands, LOCAL INFILE data, auth data)
 */
#include <string.h>

#include "normalize.h"
#include "proto_mysql_int.h"

/* ---- 1. command names ---------------------------------------------------- */

/* Text of a command without SQL (dump_format.h: upper case, no COM_). */
static const char *com_name(uint8_t com)
{
	switch (com) {
	case COM_INIT_DB:
		return "INIT_DB";
	case COM_FIELD_LIST:
		return "FIELD_LIST";
	case COM_CREATE_DB:
		return "CREATE_DB";
	case COM_DROP_DB:
		return "DROP_DB";
	case COM_REFRESH:
		return "REFRESH";
	case COM_SHUTDOWN:
		return "SHUTDOWN";
	case COM_STATISTICS:
		return "STATISTICS";
	case COM_PROCESS_INFO:
		return "PROCESS_INFO";
	case COM_PROCESS_KILL:
		return "PROCESS_KILL";
	case COM_DEBUG:
		return "DEBUG";
	case COM_PING:
		return "PING";
	case COM_CHANGE_USER:
		return "CHANGE_USER";
	case COM_REGISTER_SLAVE:
		return "REGISTER_SLAVE";
	case COM_STMT_RESET:
		return "STMT_RESET";
	case COM_SET_OPTION:
		return "SET_OPTION";
	case COM_STMT_FETCH:
		return "STMT_FETCH";
	case COM_RESET_CONNECTION:
		return "RESET_CONNECTION";
	default:
		return "COMMAND";
	}
}

/* ---- 2. client packets ----------------------------------------------------
 */

/* Write a command's text: prefix + fingerprint (or raw SQL) of m->sql. */
static void text_sql(struct proto_mysql *m, struct proto_mysql_cmd *c,
		     const char *prefix)
{
	size_t plen = strlen(prefix), n;
	uint32_t off, cap = proto_mysql_arena_take(m, PT_TEXT_MAX + 1, &off);
	char *out = m->arena + off;

	if (cap == 0) {
		c->flags |= PT_EV_TRUNCATED;
		return;
	}
	if (plen > cap - 1u)
		plen = cap - 1u;
	memcpy(out, prefix, plen);
	size_t room = cap - plen; /* >= 1, NUL included */
	if (m->raw) {
		n = m->sql_len < m->raw_max ? m->sql_len : m->raw_max;
		if (n > room - 1)
			n = room - 1;
		memcpy(out + plen, m->sql, n);
		/* Event texts hold no NUL (the report reads C strings); SQL
		 * treats a NUL outside quotes as a blank. */
		for (size_t k = plen; k < plen + n; k++)
			if (out[k] == '\0')
				out[k] = ' ';
		out[plen + n] = '\0';
		c->flags |= PT_EV_RAW;
		if (n < m->sql_total)
			c->flags |= PT_EV_TRUNCATED;
	} else {
		n = pt_sql_fingerprint(m->sql, m->sql_len, out + plen, room);
		if (m->sql_total > m->sql_len || n + 1 >= room)
			c->flags |= PT_EV_TRUNCATED;
	}
	c->text_off = off;
	c->text_len = (uint32_t)(plen + n);
	text_ring_commit(&m->text, off, c->text_len + 1);
}

/* Room for len bytes of c's text (cut if the arena is short), or NULL.
 * The arena may move: a source inside it must be found after this. */
static char *text_room(struct proto_mysql *m, struct proto_mysql_cmd *c,
		       size_t *len)
{
	uint32_t off, cap = proto_mysql_arena_take(m, (uint32_t)*len + 1, &off);

	if (cap == 0) {
		c->flags |= PT_EV_TRUNCATED;
		return NULL;
	}
	if (*len > cap - 1u) {
		*len = cap - 1u;
		c->flags |= PT_EV_TRUNCATED;
	}
	m->arena[off + *len] = '\0';
	c->text_off = off;
	c->text_len = (uint32_t)*len;
	text_ring_commit(&m->text, off, (uint32_t)*len + 1);
	return m->arena + off;
}

/* text is never inside the arena (see text_execute). */
static void text_copy(struct proto_mysql *m, struct proto_mysql_cmd *c,
		      const char *text, size_t len)
{
	char *out = text_room(m, c, &len);

	if (out)
		memcpy(out, text, len);
}

/* EXECUTE: the text of the prepared statement, or "EXECUTE ?". */
static void text_execute(struct proto_mysql *m, struct proto_mysql_cmd *c,
			 uint32_t id)
{
	static const char prefix[] = "PREPARE ";
	const size_t pl = sizeof(prefix) - 1;

	c->flags |= PT_EV_PREPARED;
	if (id == STMT_ID_LAST) {
		/* pipelined PREPARE still queued? its text is in the arena */
		for (uint32_t i = m->q_count; i > 0; i--) {
			const struct proto_mysql_cmd *p =
			    &m->q[(m->q_head + i - 1) & m->q_mask];
			if (p->com != COM_STMT_PREPARE)
				continue;
			if (p->text_off == TEXT_NONE || p->text_len < pl)
				break;
			c->flags |= p->flags & (PT_EV_TRUNCATED | PT_EV_RAW);
			size_t len = p->text_len - pl;
			char *out = text_room(m, c, &len);
			if (out) /* p's text is where the arena now has it */
				memmove(out, m->arena + p->text_off + pl, len);
			return;
		}
		id = m->last_stmt_id;
	}
	int s = proto_mysql_stmt_find(m, id);
	if (s < 0) {
		text_copy(m, c, "EXECUTE ?", 9);
		return;
	}
	m->stmts[s].used = proto_mysql_stmt_tick(m);
	c->flags |= m->stmts[s].flags;
	text_copy(m, c, m->stmts[s].text, m->stmts[s].len);
}

static void text_for(struct proto_mysql *m, struct proto_mysql_cmd *c,
		     const struct proto_mysql_framer *f)
{
	switch (c->com) {
	case COM_QUERY:
		text_sql(m, c, "");
		break;
	case COM_STMT_PREPARE:
		text_sql(m, c, "PREPARE ");
		break;
	case COM_STMT_EXECUTE:
	case COM_STMT_BULK_EXECUTE:
		text_execute(m, c, f->head_len >= 5 ? le32(f->head + 1) : 0);
		break;
	default: {
		const char *name = com_name(c->com);
		text_copy(m, c, name, strlen(name));
	}
	}
}

/* A complete client command: queue it (or handle a response-less one). */
static int on_command(struct proto_mysql *m, const struct proto_mysql_framer *f)
{
	if (f->total == 0)
		return proto_mysql_desync(m, "empty command");
	uint8_t com = f->head[0];
	switch (resp_class(com)) {
	case RC_NONE:
		if (com == COM_STMT_CLOSE && f->head_len >= 5)
			proto_mysql_stmt_forget(m, le32(f->head + 1));
		return 0;
	case RC_STREAM:
		return proto_mysql_desync(m, "replication stream not decoded");
	default:
		break;
	}
	if (m->q_count > m->q_mask && proto_mysql_queue_grow(m) < 0)
		return proto_mysql_stop(m, PT_NOTE_QUEUE_FULL,
					"too many pipelined commands",
					m->q_count);
	struct proto_mysql_cmd *c = &m->q[(m->q_head + m->q_count) & m->q_mask];
	memset(c, 0, sizeof(*c));
	c->com = com;
	c->start_ns = f->start_ns;
	c->bytes_out = 4ull * f->npackets + f->total;
	c->seq_next = (uint8_t)(f->seq + 1);
	c->text_off = TEXT_NONE;
	if (m->q_count)
		c->flags |= PT_EV_PIPELINED;
	text_for(m, c, f);
	if (++m->q_count == 1)
		proto_mysql_resp_reset(m);
	return 0;
}

/* A complete client payload in the command phase. */
int proto_mysql_on_client(struct proto_mysql *m,
			  const struct proto_mysql_framer *f)
{
	if (f->is_cmd)
		return on_command(m, f);
	/* LOCAL INFILE data (an empty packet ends the file) or auth data */
	if (m->rstate == RS_INFILE && f->total == 0)
		m->rstate = RS_FIRST;
	return 0;
}
