/*
 * test_proto_mysql.c -- the MySQL client-protocol decoder on hand-built
 * byte streams: handshake, commands, result sets in both EOF modes,
 * prepared statements, LOCAL INFILE, huge payloads, pipelining, desync.
 *
 * Every stream is also fed split in two at every byte offset and one byte
 * at a time; the ops must not change.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "normalize.h"
#include "proto_mysql.h"

#include "../wire/mysql_wire.h"

/* ---- protocol constants (builders: tests/wire/mysql_wire.h) ---------- */

#define CLIENT_MYSQL		(1u << 0)
#define CLIENT_COMPRESS		(1u << 5)
#define CLIENT_LOCAL_FILES	(1u << 7)
#define CLIENT_PROTOCOL_41	(1u << 9)
#define CLIENT_SSL		(1u << 11)
#define CLIENT_SECURE_CONN	(1u << 15)
#define CLIENT_MULTI_STATEMENTS (1u << 16)
#define CLIENT_MULTI_RESULTS	(1u << 17)
#define CLIENT_PLUGIN_AUTH	(1u << 19)
#define CLIENT_DEPRECATE_EOF	(1u << 24)
#define BASE_CAPS                                                              \
	(CLIENT_MYSQL | CLIENT_PROTOCOL_41 | CLIENT_SECURE_CONN |              \
	 CLIENT_MULTI_STATEMENTS | CLIENT_MULTI_RESULTS | CLIENT_PLUGIN_AUTH | \
	 CLIENT_LOCAL_FILES)
#define MORE_RESULTS   0x0008u
#define CURSOR_EXISTS  0x0040u
#define CACHE_METADATA (1u << 4)

static const char SALT[] = "SALTSALTSALTSALTSALT";
static const char PASSWORD[] = "Sup3rSecretPw";
static const char USER[] = "perftap_user";

static void greeting(struct buf *o, const char *version, uint32_t conn_id,
		     uint32_t caps, uint32_t ext)
{
	struct buf b = {0};
	put8(&b, 10);
	put(&b, version, strlen(version) + 1);
	put32(&b, conn_id);
	put(&b, SALT, 8);
	put8(&b, 0);
	put16(&b, caps & 0xffff);
	put8(&b, 33);
	put16(&b, 2);
	put16(&b, caps >> 16);
	put8(&b, 21);
	for (int i = 0; i < 6; i++)
		put8(&b, 0);
	put32(&b, ext);
	put(&b, SALT + 8, 13);
	put(&b, "mysql_native_password", 22);
	packet(o, 0, &b);
}

static void hs_response(struct buf *o, uint8_t seq, uint32_t caps, uint32_t ext)
{
	struct buf b = {0};
	put32(&b, caps);
	put32(&b, 1u << 24);
	put8(&b, 33);
	for (int i = 0; i < 19; i++)
		put8(&b, 0);
	put32(&b, ext);
	put(&b, USER, sizeof(USER));
	put_lenstr(&b, PASSWORD);
	put(&b, "mysql_native_password", 22);
	packet(o, seq, &b);
}

static void ok(struct buf *o, uint8_t seq, uint64_t affected, unsigned status)
{
	struct buf b = {0};
	put8(&b, 0);
	put_lenenc(&b, affected);
	put_lenenc(&b, 0);
	put16(&b, status | 2);
	put16(&b, 0);
	packet(o, seq, &b);
}

/* Result terminator: classic EOF or (deprecate) an OK with 0xFE. */
static void term(struct buf *o, uint8_t seq, int deprecate, unsigned status)
{
	struct buf b = {0};
	put8(&b, 0xfe);
	if (deprecate) {
		put_lenenc(&b, 0);
		put_lenenc(&b, 0);
	}
	if (!deprecate)
		put16(&b, 0);
	put16(&b, status | 2);
	if (deprecate)
		put16(&b, 0);
	packet(o, seq, &b);
}

static void err(struct buf *o, uint8_t seq, unsigned code, const char *state,
		const char *msg)
{
	struct buf b = {0};
	put8(&b, 0xff);
	put16(&b, code);
	put8(&b, '#');
	put(&b, state, 5);
	put_str(&b, msg);
	packet(o, seq, &b);
}

static void coldef(struct buf *o, uint8_t seq, const char *name)
{
	struct buf b = {0};
	put_lenstr(&b, "def");
	put_lenstr(&b, "db");
	put_lenstr(&b, "t");
	put_lenstr(&b, "t");
	put_lenstr(&b, name);
	put_lenstr(&b, name);
	put8(&b, 0x0c);
	put16(&b, 33);
	put32(&b, 255);
	put8(&b, 253);
	put16(&b, 0);
	put8(&b, 0);
	put16(&b, 0);
	packet(o, seq, &b);
}

static void textrow(struct buf *o, uint8_t seq, const char *v)
{
	struct buf b = {0};
	put_lenstr(&b, v);
	packet(o, seq, &b);
}

static void binrow(struct buf *o, uint8_t seq, uint32_t v)
{
	struct buf b = {0};
	put8(&b, 0);
	put8(&b, 0); /* null bitmap */
	put32(&b, v);
	packet(o, seq, &b);
}

static void colcount(struct buf *o, uint8_t seq, unsigned n)
{
	struct buf b = {0};
	put_lenenc(&b, n);
	packet(o, seq, &b);
}

static void cmd_sql(struct buf *o, uint8_t com, const char *sql)
{
	struct buf b = {0};
	put8(&b, com);
	put_str(&b, sql);
	packet(o, 0, &b);
}

static void cmd_id(struct buf *o, uint8_t com, uint32_t id)
{
	struct buf b = {0};
	put8(&b, com);
	put32(&b, id);
	if (com == 0x17) { /* EXECUTE: flags, iteration count */
		put8(&b, 0);
		put32(&b, 1);
	}
	if (com == 0x1c) /* FETCH: rows */
		put32(&b, 100);
	packet(o, 0, &b);
}

static void cmd0(struct buf *o, uint8_t com)
{
	struct buf b = {0};
	put8(&b, com);
	packet(o, 0, &b);
}

static void prepare_ok(struct buf *o, uint8_t seq, uint32_t id, unsigned cols,
		       unsigned params)
{
	struct buf b = {0};
	put8(&b, 0);
	put32(&b, id);
	put16(&b, cols);
	put16(&b, params);
	put8(&b, 0);
	put16(&b, 0);
	packet(o, seq, &b);
}

/* ---- streams and capture ------------------------------------------------- */

#define SEG_MAX 256

struct seg {
	enum pt_dir dir;
	uint64_t t;
	struct buf b;
};

struct stream {
	struct seg s[SEG_MAX];
	int n;
	uint64_t clock;
};

/* New segment in direction dir at the next clock tick (10, 20, ...). */
static struct buf *seg(struct stream *st, enum pt_dir dir)
{
	cr_assert_lt(st->n, SEG_MAX);
	struct seg *s = &st->s[st->n++];
	memset(s, 0, sizeof(*s));
	s->dir = dir;
	st->clock += 10;
	s->t = st->clock;
	return &s->b;
}

static struct buf *out(struct stream *st)
{
	return seg(st, PT_DIR_OUT);
}

static struct buf *in(struct stream *st)
{
	return seg(st, PT_DIR_IN);
}

static void stream_free(struct stream *st)
{
	for (int i = 0; i < st->n; i++)
		free(st->s[i].b.p);
}

#define OPS_MAX	  128
#define NOTES_MAX 16

struct cap_op {
	struct pt_op op;
	char text[PT_TEXT_MAX + 16];
};

struct cap {
	struct cap_op ops[OPS_MAX];
	int nops;
	enum pt_note notes[NOTES_MAX];
	char note_text[NOTES_MAX][256];
	uint64_t note_val[NOTES_MAX];
	int nnotes;
	int nauth;	  /* PT_NOTE_AUTH seen (kept apart from notes[]) */
	uint64_t auth_ns; /* its value */
	int last_status;
	int stopped; /* a stopping note was seen */
	int ops_after_stop;
};

static void on_op(void *arg, const struct pt_op *op)
{
	struct cap *c = arg;
	cr_assert_lt(c->nops, OPS_MAX);
	if (c->stopped)
		c->ops_after_stop++;
	struct cap_op *o = &c->ops[c->nops++];
	o->op = *op;
	cr_assert_leq(op->text_len, PT_TEXT_MAX);
	if (op->text)
		memcpy(o->text, op->text, op->text_len);
	o->text[op->text_len] = '\0';
	o->op.text = NULL;
}

static void on_note(void *arg, enum pt_note note, const char *text, size_t len,
		    uint64_t value)
{
	struct cap *c = arg;
	if (note == PT_NOTE_AUTH) { /* a fact, not a stop */
		c->nauth++;
		c->auth_ns = value;
		return;
	}
	cr_assert_lt(c->nnotes, NOTES_MAX);
	if (note != PT_NOTE_SERVER_INFO)
		c->stopped = 1;
	c->notes[c->nnotes] = note;
	cr_assert_lt(len, 256);
	memcpy(c->note_text[c->nnotes], text, len);
	c->note_text[c->nnotes][len] = '\0';
	c->note_val[c->nnotes++] = value;
}

static struct proto_mysql M; /* 46 KiB: not on the stack */
static struct pt_proto_options OPT;

static void start(struct cap *c)
{
	struct pt_sink sink = {on_op, on_note, c};
	memset(c, 0, sizeof(*c));
	proto_mysql_init(&M, &OPT, &sink);
}

static void feed(struct cap *c, enum pt_dir d, const uint8_t *p, size_t n,
		 uint64_t t)
{
	c->last_status = proto_mysql_feed(&M, d, p, n, t);
}

/* Mode 0: one feed per segment; mode 1: split segment `which` at `at`;
 * mode 2: one byte per feed. */
static void run(const struct stream *st, struct cap *c, int mode, int which,
		size_t at)
{
	start(c);
	for (int i = 0; i < st->n; i++) {
		const struct seg *s = &st->s[i];
		if (mode == 2) {
			for (size_t k = 0; k < s->b.n; k++)
				feed(c, s->dir, s->b.p + k, 1, s->t);
		} else if (mode == 1 && i == which) {
			feed(c, s->dir, s->b.p, at, s->t);
			feed(c, s->dir, s->b.p + at, s->b.n - at, s->t);
		} else {
			feed(c, s->dir, s->b.p, s->b.n, s->t);
		}
	}
}

static void same(const struct cap *a, const struct cap *b, const char *how)
{
	cr_assert_eq(a->nops, b->nops, "%s: %d ops vs %d", how, a->nops,
		     b->nops);
	for (int i = 0; i < a->nops; i++) {
		const struct pt_op *x = &a->ops[i].op, *y = &b->ops[i].op;
		cr_assert(
		    x->kind == y->kind && x->outcome == y->outcome &&
			x->status == y->status && x->start_ns == y->start_ns &&
			x->end_ns == y->end_ns && x->rows == y->rows &&
			x->bytes_out == y->bytes_out &&
			x->bytes_in == y->bytes_in && x->flags == y->flags &&
			x->text_len == y->text_len,
		    "%s: op %d differs", how, i);
		cr_assert_str_eq(a->ops[i].text, b->ops[i].text, "%s: op %d",
				 how, i);
	}
	cr_assert_eq(a->nnotes, b->nnotes, "%s: notes", how);
	for (int i = 0; i < a->nnotes; i++) {
		cr_assert_eq(a->notes[i], b->notes[i], "%s", how);
		cr_assert_eq(a->note_val[i], b->note_val[i], "%s", how);
		cr_assert_str_eq(a->note_text[i], b->note_text[i], "%s", how);
	}
	cr_assert_eq(a->last_status, b->last_status, "%s: status", how);
}

static struct cap WHOLE, OTHER;

/* Feed st whole, then split at every offset and byte by byte; the ops
 * must be identical.  Returns the whole-feed capture. */
static const struct cap *check(const struct stream *st)
{
	run(st, &WHOLE, 0, 0, 0);
	for (int i = 0; i < st->n; i++) {
		for (size_t at = 1; at < st->s[i].b.n; at++) {
			run(st, &OTHER, 1, i, at);
			same(&WHOLE, &OTHER, "split");
		}
	}
	run(st, &OTHER, 2, 0, 0);
	same(&WHOLE, &OTHER, "bytewise");
	run(st, &WHOLE, 0, 0, 0);
	return &WHOLE;
}

static const char *fp(const char *sql)
{
	static char outbuf[PT_TEXT_MAX + 1];
	pt_sql_fingerprint(sql, strlen(sql), outbuf, sizeof(outbuf));
	return outbuf;
}

/* Greeting + handshake response + OK, as the segments 10, 20, 30. */
static void login(struct stream *st, uint32_t cli_caps)
{
	greeting(
	    in(st), "10.11.6-MariaDB-0+deb12u1", 42,
	    BASE_CAPS | CLIENT_DEPRECATE_EOF | CLIENT_SSL | CLIENT_COMPRESS, 0);
	hs_response(out(st), 1, cli_caps, 0);
	ok(in(st), 2, 0, 0);
}

static int has_bytes(const void *hay, size_t n, const char *needle)
{
	size_t k = strlen(needle);
	for (size_t i = 0; i + k <= n; i++)
		if (memcmp((const char *)hay + i, needle, k) == 0)
			return 1;
	return 0;
}

/* ---- tests: handshake -------------------------------------------------- */

Test(mysql, handshake_reports_version_and_conn_id_never_the_password)
{
	struct stream st = {0};
	login(&st, BASE_CAPS);
	cmd0(out(&st), 0x0e);
	ok(in(&st), 1, 0, 0);
	const struct cap *c = check(&st);

	cr_assert_eq(c->nnotes, 1);
	cr_assert_eq(c->notes[0], PT_NOTE_SERVER_INFO);
	cr_assert_str_eq(c->note_text[0], "10.11.6-MariaDB-0+deb12u1");
	cr_assert_eq(c->note_val[0], 42);
	/* authenticated: greeting at t=10 to the handshake's OK at t=30 */
	cr_assert_eq(c->nauth, 1);
	cr_assert_eq(c->auth_ns, 20);
	cr_assert_eq(c->nops, 1);
	cr_assert_str_eq(c->ops[0].text, "PING");
	for (int i = 0; i < c->nops; i++) {
		cr_assert_not(has_bytes(c->ops[i].text, strlen(c->ops[i].text),
					PASSWORD));
		cr_assert_not(
		    has_bytes(c->ops[i].text, strlen(c->ops[i].text), USER));
	}
	/* nor anywhere in the decoder's memory: no password, user or salt */
	cr_assert_not(has_bytes(&M, sizeof(M), PASSWORD));
	cr_assert_not(has_bytes(&M, sizeof(M), USER));
	cr_assert_not(has_bytes(&M, sizeof(M), "SALTSALT"));
	stream_free(&st);
}

Test(mysql, ssl_request_stops_with_tls_note)
{
	struct stream st = {0};
	greeting(in(&st), "8.0.36", 7, BASE_CAPS | CLIENT_SSL, 0);
	struct buf b = {0};
	put32(&b, BASE_CAPS | CLIENT_SSL);
	put32(&b, 1u << 24);
	put8(&b, 33);
	for (int i = 0; i < 23; i++)
		put8(&b, 0);
	packet(out(&st), 1, &b);
	put_str(in(&st), "\x16\x03\x01 TLS handshake bytes");
	const struct cap *c = check(&st);

	cr_assert_eq(c->nnotes, 2);
	cr_assert_eq(c->notes[1], PT_NOTE_TLS);
	cr_assert_eq(c->nops, 0);
	cr_assert_eq(c->last_status, PT_FEED_STOPPED);
	stream_free(&st);
}

Test(mysql, tls_plaintext_resumes_after_ssl_request)
{
	struct stream st = {0};
	greeting(in(&st), "8.0.36", 7, BASE_CAPS | CLIENT_SSL, 0);
	struct buf b = {0};
	put32(&b, BASE_CAPS | CLIENT_SSL);
	put32(&b, 1u << 24);
	put8(&b, 33);
	for (int i = 0; i < 23; i++)
		put8(&b, 0);
	packet(out(&st), 1, &b);
	struct cap *c = &WHOLE;
	run(&st, c, 0, 0, 0);
	cr_assert_eq(c->notes[c->nnotes - 1], PT_NOTE_TLS);
	cr_assert_eq(proto_mysql_resume_tls(&M), 0);
	cr_assert_eq(proto_mysql_resume_tls(&M), -1);

	struct stream pt = {0}; /* the plaintext inside TLS */
	hs_response(out(&pt), 2, BASE_CAPS | CLIENT_SSL, 0);
	ok(in(&pt), 3, 0, 0);
	cmd0(out(&pt), 0x0e);
	ok(in(&pt), 1, 0, 0);
	for (int i = 0; i < pt.n; i++)
		feed(c, pt.s[i].dir, pt.s[i].b.p, pt.s[i].b.n, pt.s[i].t);
	cr_assert_eq(c->last_status, PT_FEED_OK);
	cr_assert_eq(c->nops, 1);
	cr_assert_str_eq(c->ops[0].text, "PING");
	stream_free(&st);
	stream_free(&pt);
}

Test(mysql, resume_tls_refused_unless_stopped_at_ssl_request)
{
	struct stream st = {0};
	login(&st, BASE_CAPS);
	run(&st, &WHOLE, 0, 0, 0);
	cr_assert_eq(proto_mysql_resume_tls(&M), -1);
	put_str(out(&st), "garbage!");
	run(&st, &WHOLE, 0, 0, 0);
	cr_assert_eq(WHOLE.last_status, PT_FEED_STOPPED);
	cr_assert_eq(proto_mysql_resume_tls(&M), -1);
	stream_free(&st);
}

Test(mysql, sequence_ids_wrap_in_long_results)
{
	struct stream st = {0};
	login(&st, BASE_CAPS);
	cmd_sql(out(&st), 0x03, "select a from t");
	struct buf *b = in(&st);
	uint8_t s = 1;
	colcount(b, s++, 1);
	coldef(b, s++, "a");
	term(b, s++, 0, 0);
	for (int i = 0; i < 600; i++)
		textrow(b, s++, "r");
	term(b, s++, 0, 0);
	run(&st, &WHOLE, 0, 0, 0);
	run(&st, &OTHER, 2, 0, 0);
	same(&WHOLE, &OTHER, "bytewise");

	cr_assert_eq(WHOLE.nops, 1);
	cr_assert_eq(WHOLE.ops[0].op.rows, 600);
	stream_free(&st);
}

Test(mysql, compression_stops_after_handshake_ok)
{
	struct stream st = {0};
	login(&st, BASE_CAPS | CLIENT_COMPRESS);
	put_str(out(&st), "\x0b\x00\x00\x00\x00\x00\x00compressed");
	const struct cap *c = check(&st);

	cr_assert_eq(c->nnotes, 2);
	cr_assert_eq(c->notes[1], PT_NOTE_COMPRESSED);
	cr_assert_eq(c->nops, 0);
	cr_assert_eq(c->last_status, PT_FEED_STOPPED);
	stream_free(&st);
}

Test(mysql, auth_switch_and_more_data_reach_command_phase)
{
	struct stream st = {0};
	greeting(in(&st), "8.0.36", 9, BASE_CAPS | CLIENT_DEPRECATE_EOF, 0);
	hs_response(out(&st), 1, BASE_CAPS, 0);
	struct buf b = {0};
	put8(&b, 0xfe);
	put(&b, "caching_sha2_password", 22);
	put_str(&b, SALT);
	packet(in(&st), 2, &b);
	struct buf a = {0};
	put_str(&a, PASSWORD);
	packet(out(&st), 3, &a);
	struct buf md = {0};
	put8(&md, 0x01);
	put8(&md, 0x03); /* fast auth success: the server goes on */
	packet(in(&st), 4, &md);
	ok(in(&st), 5, 0, 0);
	cmd_sql(out(&st), 0x03, "select 1");
	colcount(in(&st), 1, 1);
	coldef(in(&st), 2, "1");
	term(in(&st), 3, 0, 0);
	textrow(in(&st), 4, "1");
	term(in(&st), 5, 0, 0);
	const struct cap *c = check(&st);

	cr_assert_eq(c->nops, 1);
	cr_assert_eq(c->ops[0].op.rows, 1);
	cr_assert_eq(c->ops[0].op.outcome, PT_OUT_OK);
	cr_assert_not(has_bytes(&M, sizeof(M), PASSWORD));
	stream_free(&st);
}

Test(mysql, err_instead_of_greeting_is_ignored_quietly)
{
	struct stream st = {0};
	err(in(&st), 0, 1040, "08004", "Too many connections");
	const struct cap *c = check(&st);

	cr_assert_eq(c->nops, 0);
	cr_assert_eq(c->nnotes, 0);
	cr_assert_eq(c->last_status, PT_FEED_OK);
	stream_free(&st);
}

/* ---- tests: queries --------------------------------------------------------
 */

Test(mysql, query_ok_reports_affected_rows_and_bytes)
{
	for (int dep = 0; dep < 2; dep++) {
		struct stream st = {0};
		login(&st, BASE_CAPS | (dep ? CLIENT_DEPRECATE_EOF : 0));
		cmd_sql(out(&st), 0x03, "delete from t");
		ok(in(&st), 1, 300, 0);
		const struct cap *c = check(&st);

		cr_assert_eq(c->nops, 1);
		const struct pt_op *op = &c->ops[0].op;
		cr_assert_eq(op->kind, PT_KIND_MYSQL);
		cr_assert_eq(op->outcome, PT_OUT_OK);
		cr_assert_eq(op->rows, 300);
		cr_assert_eq(op->start_ns, 40);
		cr_assert_eq(op->end_ns, 50);
		cr_assert_eq(op->bytes_out, 4 + 1 + 13);
		cr_assert_eq(op->bytes_in, st.s[4].b.n);
		cr_assert_str_eq(c->ops[0].text, fp("delete from t"));
		cr_assert_eq(op->flags, 0);
		stream_free(&st);
	}
}

Test(mysql, query_err_reports_code_and_sqlstate)
{
	struct stream st = {0};
	login(&st, BASE_CAPS);
	cmd_sql(out(&st), 0x03, "select * from nosuch");
	err(in(&st), 1, 1146, "42S02", "Table 'db.nosuch' doesn't exist");
	const struct cap *c = check(&st);

	cr_assert_eq(c->nops, 1);
	cr_assert_eq(c->ops[0].op.outcome, PT_OUT_ERROR);
	cr_assert_eq(c->ops[0].op.status, 1146);
	const char *state;
	cr_assert_eq(proto_mysql_last_error(&M, &state), 1146);
	cr_assert_str_eq(state, "42S02");
	stream_free(&st);
}

static void result_set(struct stream *st, int dep, int nrows)
{
	struct buf *b = in(st);
	uint8_t s = 1;
	colcount(b, s++, 2);
	coldef(b, s++, "id");
	coldef(b, s++, "name");
	if (!dep)
		term(b, s++, 0, 0);
	for (int i = 0; i < nrows; i++)
		textrow(b, s++, "value");
	term(b, s++, dep, 0);
}

Test(mysql, result_set_rows_counted_in_both_eof_modes)
{
	for (int dep = 0; dep < 2; dep++) {
		struct stream st = {0};
		login(&st, BASE_CAPS | (dep ? CLIENT_DEPRECATE_EOF : 0));
		cmd_sql(out(&st), 0x03, "select id, name from t");
		result_set(&st, dep, 5);
		cmd0(out(&st), 0x0e);
		ok(in(&st), 1, 0, 0);
		const struct cap *c = check(&st);

		cr_assert_eq(c->nops, 2, "dep=%d", dep);
		cr_assert_eq(c->ops[0].op.rows, 5);
		cr_assert_eq(c->ops[0].op.outcome, PT_OUT_OK);
		cr_assert_eq(c->ops[0].op.bytes_in, st.s[4].b.n);
		cr_assert_str_eq(c->ops[1].text, "PING");
		stream_free(&st);
	}
}

Test(mysql, fe_led_row_of_nine_bytes_is_a_row_in_eof_mode)
{
	struct stream st = {0};
	login(&st, BASE_CAPS);
	cmd_sql(out(&st), 0x03, "select big from t");
	struct buf *b = in(&st);
	colcount(b, 1, 1);
	coldef(b, 2, "big");
	term(b, 3, 0, 0);
	struct buf r = {0};
	put8(&r, 0xfe); /* value length in 8 bytes: 0 */
	put32(&r, 0);
	put32(&r, 0);
	cr_assert_eq(r.n, 9);
	packet(b, 4, &r);
	term(b, 5, 0, 0);
	const struct cap *c = check(&st);

	cr_assert_eq(c->nops, 1);
	cr_assert_eq(c->ops[0].op.rows, 1);
	stream_free(&st);
}

Test(mysql, long_fe_ok_terminator_ends_result_in_deprecate_eof_mode)
{
	struct stream st = {0};
	login(&st, BASE_CAPS | CLIENT_DEPRECATE_EOF);
	cmd_sql(out(&st), 0x03, "select a from t");
	struct buf *b = in(&st);
	colcount(b, 1, 1);
	coldef(b, 2, "a");
	textrow(b, 3, "x");
	struct buf t = {0}; /* OK with 0xFE header and session-track info */
	put8(&t, 0xfe);
	put_lenenc(&t, 0);
	put_lenenc(&t, 0);
	put16(&t, 2);
	put16(&t, 0);
	put_lenstr(&t, "some info text longer than nine bytes");
	packet(b, 4, &t);
	cmd0(out(&st), 0x0e);
	ok(in(&st), 1, 0, 0);
	const struct cap *c = check(&st);

	cr_assert_eq(c->nops, 2);
	cr_assert_eq(c->ops[0].op.rows, 1);
	stream_free(&st);
}

Test(mysql, multi_statement_is_one_event_with_rows_summed)
{
	for (int dep = 0; dep < 2; dep++) {
		struct stream st = {0};
		login(&st, BASE_CAPS | (dep ? CLIENT_DEPRECATE_EOF : 0));
		cmd_sql(out(&st), 0x03,
			"select a from t; update t set a = a; select b from u");
		struct buf *b = in(&st);
		uint8_t s = 1;
		colcount(b, s++, 1);
		coldef(b, s++, "a");
		if (!dep)
			term(b, s++, 0, 0);
		textrow(b, s++, "1");
		textrow(b, s++, "2");
		term(b, s++, dep, MORE_RESULTS);
		ok(in(&st), s++, 7, MORE_RESULTS);
		b = in(&st);
		colcount(b, s++, 1);
		coldef(b, s++, "b");
		if (!dep)
			term(b, s++, 0, 0);
		textrow(b, s++, "3");
		term(b, s++, dep, 0);
		const struct cap *c = check(&st);

		cr_assert_eq(c->nops, 1);
		cr_assert_eq(c->ops[0].op.rows, 2 + 7 + 1);
		cr_assert_eq(c->ops[0].op.end_ns, st.s[6].t);
		cr_assert_eq(c->ops[0].op.bytes_in,
			     st.s[4].b.n + st.s[5].b.n + st.s[6].b.n);
		stream_free(&st);
	}
}

/* Terminator carrying a warning count: classic EOF or (deprecate) OK. */
static void term_w(struct buf *o, uint8_t seq, int deprecate, unsigned status,
		   unsigned warnings)
{
	struct buf b = {0};
	put8(&b, 0xfe);
	if (deprecate) {
		put_lenenc(&b, 0);
		put_lenenc(&b, 0);
		put16(&b, status | 2);
		put16(&b, warnings);
	} else {
		put16(&b, warnings);
		put16(&b, status | 2);
	}
	packet(o, seq, &b);
}

static void ok_w(struct buf *o, uint8_t seq, uint64_t affected, unsigned status,
		 unsigned warnings)
{
	struct buf b = {0};
	put8(&b, 0);
	put_lenenc(&b, affected);
	put_lenenc(&b, 0);
	put16(&b, status | 2);
	put16(&b, warnings);
	packet(o, seq, &b);
}

Test(mysql, result_terminator_gives_index_flags_and_warnings)
{
	for (int dep = 0; dep < 2; dep++) {
		struct stream st = {0};
		login(&st, BASE_CAPS | (dep ? CLIENT_DEPRECATE_EOF : 0));
		cmd_sql(out(&st), 0x03, "select a from t where b = 1");
		struct buf *b = in(&st);
		uint8_t s = 1;
		colcount(b, s++, 1);
		coldef(b, s++, "a");
		if (!dep)
			term(b, s++, 0, 0);
		textrow(b, s++, "1");
		term_w(b, s++, dep, PT_MYSQL_NO_INDEX_USED, 3);
		/* the next statement starts clean */
		cmd_sql(out(&st), 0x03, "select a from t where a = 1");
		result_set(&st, dep, 1);
		const struct cap *c = check(&st);

		cr_assert_eq(c->nops, 2, "dep=%d", dep);
		cr_assert(c->ops[0].op.server_status & PT_MYSQL_NO_INDEX_USED);
		cr_assert_not(c->ops[0].op.server_status &
			      PT_MYSQL_NO_GOOD_INDEX_USED);
		cr_assert_eq(c->ops[0].op.warnings, 3);
		cr_assert_not(
		    c->ops[1].op.server_status &
		    (PT_MYSQL_NO_INDEX_USED | PT_MYSQL_NO_GOOD_INDEX_USED));
		cr_assert_eq(c->ops[1].op.warnings, 0);
		stream_free(&st);
	}
}

Test(mysql, ok_gives_warnings_and_multi_results_combine)
{
	struct stream st = {0};
	login(&st, BASE_CAPS);
	cmd_sql(out(&st), 0x03, "insert into t values ('x')");
	ok_w(in(&st), 1, 1, 0, 2);
	cmd_sql(out(&st), 0x03, "select a from t; update t set a = a");
	struct buf *b = in(&st);
	uint8_t s = 1;
	colcount(b, s++, 1);
	coldef(b, s++, "a");
	term_w(b, s++, 0, 0, 9); /* after definitions: not the statement's */
	textrow(b, s++, "1");
	term_w(b, s++, 0, MORE_RESULTS | PT_MYSQL_NO_GOOD_INDEX_USED, 1);
	ok_w(in(&st), s++, 4, 0, 5);
	const struct cap *c = check(&st);

	cr_assert_eq(c->nops, 2);
	cr_assert_eq(c->ops[0].op.warnings, 2);
	cr_assert_eq(c->ops[0].op.server_status & PT_MYSQL_NO_INDEX_USED, 0);
	cr_assert_eq(c->ops[1].op.warnings, 1 + 5);
	cr_assert(c->ops[1].op.server_status & PT_MYSQL_NO_GOOD_INDEX_USED);
	stream_free(&st);
}

Test(mysql, warning_counts_saturate)
{
	struct stream st = {0};
	login(&st, BASE_CAPS);
	cmd_sql(out(&st), 0x03, "update t set a = 1; update t set a = 2");
	ok_w(in(&st), 1, 0, MORE_RESULTS, 0xFFF0);
	ok_w(in(&st), 2, 0, 0, 0x20);
	const struct cap *c = check(&st);

	cr_assert_eq(c->nops, 1);
	cr_assert_eq(c->ops[0].op.warnings, 0xFFFF);
	stream_free(&st);
}

Test(mysql, error_in_the_middle_of_rows_ends_the_command)
{
	struct stream st = {0};
	login(&st, BASE_CAPS);
	cmd_sql(out(&st), 0x03, "select a from t");
	struct buf *b = in(&st);
	colcount(b, 1, 1);
	coldef(b, 2, "a");
	term(b, 3, 0, 0);
	textrow(b, 4, "1");
	err(b, 5, 1317, "70100", "Query execution was interrupted");
	cmd0(out(&st), 0x0e);
	ok(in(&st), 1, 0, 0);
	const struct cap *c = check(&st);

	cr_assert_eq(c->nops, 2);
	cr_assert_eq(c->ops[0].op.outcome, PT_OUT_ERROR);
	cr_assert_eq(c->ops[0].op.status, 1317);
	cr_assert_eq(c->ops[0].op.rows, 1);
	stream_free(&st);
}

Test(mysql, progress_report_is_not_the_reply)
{
	struct stream st = {0};
	login(&st, BASE_CAPS);
	cmd_sql(out(&st), 0x03, "alter table t engine=innodb");
	struct buf p = {0};
	put8(&p, 0xff);
	put16(&p, 0xffff);
	put8(&p, 1);
	put8(&p, 1);
	put8(&p, 2);
	put8(&p, 0x10);
	put8(&p, 0x27);
	put8(&p, 0);
	put_lenstr(&p, "copy");
	packet(in(&st), 1, &p);
	ok(in(&st), 2, 0, 0);
	const struct cap *c = check(&st);

	cr_assert_eq(c->nops, 1);
	cr_assert_eq(c->ops[0].op.outcome, PT_OUT_OK);
	cr_assert_eq(c->ops[0].op.end_ns, st.s[5].t);
	stream_free(&st);
}

Test(mysql, timing_runs_from_command_feed_to_last_reply_feed)
{
	struct stream st = {0};
	login(&st, BASE_CAPS);
	/* command split over two feeds, reply over three */
	struct buf q = {0};
	cmd_sql(&q, 0x03, "select a from t");
	put(out(&st), q.p, 6);
	put(out(&st), q.p + 6, q.n - 6);
	struct buf r = {0};
	colcount(&r, 1, 1);
	coldef(&r, 2, "a");
	term(&r, 3, 0, 0);
	textrow(&r, 4, "1");
	size_t cut = r.n;
	term(&r, 5, 0, 0);
	put(in(&st), r.p, 3);
	put(in(&st), r.p + 3, cut - 3 + 2);
	put(in(&st), r.p + cut + 2, r.n - cut - 2);
	free(q.p);
	free(r.p);
	const struct cap *c = check(&st);

	cr_assert_eq(c->nops, 1);
	cr_assert_eq(c->ops[0].op.start_ns, st.s[3].t);
	cr_assert_eq(c->ops[0].op.end_ns, st.s[7].t);
	cr_assert_eq(c->ops[0].op.bytes_in, r.n);
	stream_free(&st);
}

Test(mysql, simple_commands_have_their_names)
{
	struct stream st = {0};
	login(&st, BASE_CAPS);
	cmd_sql(out(&st), 0x02, "other_db");
	ok(in(&st), 1, 0, 0);
	cmd0(out(&st), 0x1f);
	ok(in(&st), 1, 0, 0);
	cmd0(out(&st), 0x09);
	struct buf s = {0};
	put_str(&s, "Uptime: 10  Threads: 1  Questions: 5");
	packet(in(&st), 1, &s);
	struct buf so = {0};
	put8(&so, 0x1b);
	put16(&so, 1);
	packet(out(&st), 0, &so);
	term(in(&st), 1, 0, 0);
	cmd0(out(&st), 0x01); /* QUIT: no event */
	const struct cap *c = check(&st);

	cr_assert_eq(c->nops, 4);
	cr_assert_str_eq(c->ops[0].text, "INIT_DB");
	cr_assert_str_eq(c->ops[1].text, "RESET_CONNECTION");
	cr_assert_str_eq(c->ops[2].text, "STATISTICS");
	cr_assert_str_eq(c->ops[3].text, "SET_OPTION");
	for (int i = 0; i < 4; i++)
		cr_assert_eq(c->ops[i].op.outcome, PT_OUT_OK);
	stream_free(&st);
}

Test(mysql, change_user_with_auth_switch_never_keeps_credentials)
{
	struct stream st = {0};
	login(&st, BASE_CAPS);
	struct buf cu = {0};
	put8(&cu, 0x11);
	put(&cu, USER, sizeof(USER));
	put_lenstr(&cu, PASSWORD);
	packet(out(&st), 0, &cu);
	struct buf sw = {0};
	put8(&sw, 0xfe);
	put(&sw, "mysql_native_password", 22);
	put(&sw, SALT, 21);
	packet(in(&st), 1, &sw);
	struct buf a = {0};
	put_str(&a, PASSWORD);
	packet(out(&st), 2, &a);
	ok(in(&st), 3, 0, 0);
	cmd0(out(&st), 0x0e);
	ok(in(&st), 1, 0, 0);
	const struct cap *c = check(&st);

	cr_assert_eq(c->nops, 2);
	cr_assert_str_eq(c->ops[0].text, "CHANGE_USER");
	cr_assert_eq(c->ops[0].op.start_ns, st.s[3].t);
	cr_assert_eq(c->ops[0].op.end_ns, st.s[6].t);
	cr_assert_eq(c->ops[0].op.bytes_out, st.s[3].b.n + st.s[5].b.n);
	cr_assert_str_eq(c->ops[1].text, "PING");
	cr_assert_not(has_bytes(&M, sizeof(M), PASSWORD));
	cr_assert_not(has_bytes(&M, sizeof(M), USER));
	stream_free(&st);
}

/* ---- tests: prepared statements ------------------------------------------ */

static void prepare(struct stream *st, int dep, const char *sql, uint32_t id,
		    unsigned cols, unsigned params)
{
	cmd_sql(out(st), 0x16, sql);
	struct buf *b = in(st);
	uint8_t s = 1;
	prepare_ok(b, s++, id, cols, params);
	for (unsigned i = 0; i < params; i++)
		coldef(b, s++, "?");
	if (params && !dep)
		term(b, s++, 0, 0);
	for (unsigned i = 0; i < cols; i++)
		coldef(b, s++, "c");
	if (cols && !dep)
		term(b, s++, 0, 0);
}

static void exec_rows(struct stream *st, int dep, uint32_t id, int nrows)
{
	cmd_id(out(st), 0x17, id);
	struct buf *b = in(st);
	uint8_t s = 1;
	colcount(b, s++, 1);
	coldef(b, s++, "c");
	if (!dep)
		term(b, s++, 0, 0);
	for (int i = 0; i < nrows; i++)
		binrow(b, s++, (uint32_t)i);
	term(b, s++, dep, 0);
}

Test(mysql, execute_reports_prepared_sql)
{
	static const char sql[] = "select c from t where id = ? and k = ?";
	for (int dep = 0; dep < 2; dep++) {
		struct stream st = {0};
		login(&st, BASE_CAPS | (dep ? CLIENT_DEPRECATE_EOF : 0));
		prepare(&st, dep, sql, 5, 1, 2);
		exec_rows(&st, dep, 5, 3);
		cmd_id(out(&st), 0x1a, 5); /* STMT_RESET */
		ok(in(&st), 1, 0, 0);
		cmd_id(out(&st), 0x19, 5); /* STMT_CLOSE: no event */
		exec_rows(&st, dep, 5, 1); /* now unknown */
		const struct cap *c = check(&st);

		cr_assert_eq(c->nops, 4);
		char want[PT_TEXT_MAX + 16];
		snprintf(want, sizeof(want), "PREPARE %s", fp(sql));
		cr_assert_str_eq(c->ops[0].text, want);
		cr_assert_eq(c->ops[0].op.flags & PT_EV_PREPARED, 0);
		cr_assert_str_eq(c->ops[1].text, fp(sql));
		cr_assert(c->ops[1].op.flags & PT_EV_PREPARED);
		cr_assert_eq(c->ops[1].op.rows, 3);
		cr_assert_str_eq(c->ops[2].text, "STMT_RESET");
		cr_assert_str_eq(c->ops[3].text, "EXECUTE ?");
		cr_assert(c->ops[3].op.flags & PT_EV_PREPARED);
		stream_free(&st);
	}
}

Test(mysql, execute_ok_without_result_set)
{
	struct stream st = {0};
	login(&st, BASE_CAPS);
	prepare(&st, 0, "update t set a = ? where id = ?", 1, 0, 2);
	cmd_id(out(&st), 0x17, 1);
	ok(in(&st), 1, 1, 0);
	const struct cap *c = check(&st);

	cr_assert_eq(c->nops, 2);
	cr_assert_eq(c->ops[1].op.rows, 1);
	cr_assert_str_eq(c->ops[1].text, fp("update t set a = ? where id = ?"));
	stream_free(&st);
}

Test(mysql, cursor_execute_then_fetch)
{
	struct stream st = {0};
	login(&st, BASE_CAPS);
	prepare(&st, 0, "select c from t", 2, 1, 0);
	cmd_id(out(&st), 0x17, 2);
	struct buf *b = in(&st);
	colcount(b, 1, 1);
	coldef(b, 2, "c");
	term(b, 3, 0, CURSOR_EXISTS);
	cmd_id(out(&st), 0x1c, 2);
	b = in(&st);
	binrow(b, 1, 1);
	binrow(b, 2, 2);
	term(b, 3, 0, CURSOR_EXISTS);
	cmd_id(out(&st), 0x1c, 2);
	term(in(&st), 1, 0, 0x80); /* last row sent */
	const struct cap *c = check(&st);

	cr_assert_eq(c->nops, 4);
	cr_assert_eq(c->ops[1].op.rows, 0);
	cr_assert_str_eq(c->ops[2].text, "STMT_FETCH");
	cr_assert_eq(c->ops[2].op.rows, 2);
	cr_assert_eq(c->ops[3].op.rows, 0);
	stream_free(&st);
}

Test(mysql, mariadb_execute_direct_uses_pipelined_prepare)
{
	static const char sql[] = "select c from t where id = ?";
	struct stream st = {0};
	login(&st, BASE_CAPS);
	struct buf *o = out(&st);
	cmd_sql(o, 0x16, sql);
	cmd_id(o, 0x17, 0xFFFFFFFFu);
	struct buf *b = in(&st);
	prepare_ok(b, 1, 9, 1, 1);
	coldef(b, 2, "?");
	term(b, 3, 0, 0);
	coldef(b, 4, "c");
	term(b, 5, 0, 0);
	colcount(b, 1, 1);
	coldef(b, 2, "c");
	term(b, 3, 0, 0);
	binrow(b, 4, 1);
	term(b, 5, 0, 0);
	cmd_id(out(&st), 0x17, 9);
	ok(in(&st), 1, 0, 0);
	const struct cap *c = check(&st);

	cr_assert_eq(c->nops, 3);
	cr_assert_str_eq(c->ops[1].text, fp(sql));
	cr_assert(c->ops[1].op.flags & PT_EV_PIPELINED);
	cr_assert_eq(c->ops[1].op.rows, 1);
	cr_assert_str_eq(c->ops[2].text, fp(sql));
	stream_free(&st);
}

Test(mysql, metadata_cache_skips_column_definitions)
{
	struct stream st = {0};
	greeting(in(&st), "11.0.2-MariaDB", 3, BASE_CAPS & ~CLIENT_MYSQL,
		 CACHE_METADATA);
	hs_response(out(&st), 1, BASE_CAPS & ~CLIENT_MYSQL, CACHE_METADATA);
	ok(in(&st), 2, 0, 0);
	prepare(&st, 0, "select c from t", 4, 1, 0);
	cmd_id(out(&st), 0x17, 4);
	struct buf *b = in(&st);
	struct buf cc = {0};
	put_lenenc(&cc, 1);
	put8(&cc, 0); /* metadata does not follow, its EOF does */
	packet(b, 1, &cc);
	term(b, 2, 0, 0);
	binrow(b, 3, 1);
	term(b, 4, 0, 0);
	const struct cap *c = check(&st);

	cr_assert_eq(c->nops, 2);
	cr_assert_eq(c->ops[1].op.rows, 1);
	cr_assert_eq(c->nnotes, 1);
	stream_free(&st);
}

Test(mysql, statement_table_evicts_least_recently_used)
{
	struct stream st = {0};
	login(&st, BASE_CAPS | CLIENT_DEPRECATE_EOF);
	char sql[64];
	for (uint32_t id = 1; id <= 64; id++) {
		snprintf(sql, sizeof(sql), "select c%u from t", id);
		prepare(&st, 1, sql, id, 0, 0);
	}
	cmd_id(out(&st), 0x17, 1); /* statement 1 is now the freshest */
	ok(in(&st), 1, 0, 0);
	prepare(&st, 1, "select c65 from t", 65, 0, 0); /* evicts 2 */
	for (uint32_t id = 1; id <= 3; id++) {
		cmd_id(out(&st), 0x17, id);
		ok(in(&st), 1, 0, 0);
	}
	cmd_id(out(&st), 0x17, 65);
	ok(in(&st), 1, 0, 0);
	run(&st, &WHOLE, 0, 0, 0);

	cr_assert_eq(WHOLE.nops, 64 + 1 + 1 + 4);
	const struct cap_op *e = &WHOLE.ops[66];
	cr_assert_str_eq(e[0].text, fp("select c1 from t"));
	cr_assert_str_eq(e[1].text, "EXECUTE ?");
	cr_assert_str_eq(e[2].text, fp("select c3 from t"));
	cr_assert_str_eq(e[3].text, fp("select c65 from t"));
	stream_free(&st);
}

Test(mysql, reset_connection_forgets_statements)
{
	struct stream st = {0};
	login(&st, BASE_CAPS);
	prepare(&st, 0, "select 1", 1, 0, 0);
	cmd0(out(&st), 0x1f);
	ok(in(&st), 1, 0, 0);
	cmd_id(out(&st), 0x17, 1);
	err(in(&st), 1, 1243, "HY000", "Unknown prepared statement handler");
	const struct cap *c = check(&st);

	cr_assert_eq(c->nops, 3);
	cr_assert_str_eq(c->ops[2].text, "EXECUTE ?");
	cr_assert_eq(c->ops[2].op.status, 1243);
	stream_free(&st);
}

/* ---- tests: LOCAL INFILE and huge payloads ----------------------------------
 */

Test(mysql, local_infile_data_is_counted_not_kept)
{
	struct stream st = {0};
	login(&st, BASE_CAPS);
	cmd_sql(out(&st), 0x03, "load data local infile 'x.csv' into table t");
	struct buf fr = {0};
	put8(&fr, 0xfb);
	put_str(&fr, "x.csv");
	packet(in(&st), 1, &fr);
	struct buf *o = out(&st);
	struct buf d1 = {0}, d2 = {0}, d3 = {0};
	put_str(&d1, "1,SECRETROWDATA\n");
	packet(o, 2, &d1);
	put_str(&d2, "2,more\n");
	packet(o, 3, &d2);
	packet(o, 4, &d3);
	ok(in(&st), 5, 2, 0);
	cmd0(out(&st), 0x0e);
	ok(in(&st), 1, 0, 0);
	const struct cap *c = check(&st);

	cr_assert_eq(c->nops, 2);
	cr_assert_eq(c->ops[0].op.rows, 2);
	cr_assert_eq(c->ops[0].op.outcome, PT_OUT_OK);
	cr_assert_eq(c->ops[0].op.end_ns, st.s[6].t);
	cr_assert_eq(c->ops[0].op.bytes_out, st.s[3].b.n + st.s[5].b.n);
	cr_assert_eq(c->ops[0].op.bytes_in, st.s[4].b.n + st.s[6].b.n);
	cr_assert_not(has_bytes(&M, sizeof(M), "SECRETROWDATA"));
	stream_free(&st);
}

Test(mysql, twenty_mib_query_streams_and_is_truncated)
{
	struct stream st = {0};
	login(&st, BASE_CAPS);
	struct cap *c = &WHOLE;
	start(c);
	for (int i = 0; i < st.n; i++)
		feed(c, st.s[i].dir, st.s[i].b.p, st.s[i].b.n, st.s[i].t);

	/* payload: 0x03 + "select 'xxxx...'" of 20 MiB, in 0xFFFFFF packets */
	const size_t total = 20u << 20;
	static uint8_t chunk[65536];
	memset(chunk, 'x', sizeof(chunk));
	size_t sent = 0;
	uint8_t seq = 0;
	uint64_t wire = 0;
	char prefix[PROTO_MYSQL_SQL_MAX + 1];
	while (sent <= total) {
		size_t len = total - sent < 0xFFFFFF ? total - sent : 0xFFFFFF;
		uint8_t h[4] = {len & 0xff, (len >> 8) & 0xff, len >> 16,
				seq++};
		feed(c, PT_DIR_OUT, h, 4, 100);
		wire += 4 + len;
		for (size_t k = 0; k < len;) {
			size_t n = len - k < 4093 ? len - k : 4093;
			if (sent + k == 0) {
				static const uint8_t q[] = "\x03select '";
				feed(c, PT_DIR_OUT, q, 9, 100);
				n = 9;
			} else {
				feed(c, PT_DIR_OUT, chunk, n, 100);
			}
			k += n;
		}
		sent += len;
		if (len < 0xFFFFFF)
			break;
	}
	cr_assert_eq(sent, total);
	ok(in(&st), seq, 1, 0);
	const struct seg *r = &st.s[st.n - 1];
	feed(c, PT_DIR_IN, r->b.p, r->b.n, 200);

	cr_assert_eq(c->nops, 1);
	cr_assert_eq(c->ops[0].op.bytes_out, wire);
	cr_assert_eq(c->ops[0].op.start_ns, 100);
	cr_assert_eq(c->ops[0].op.end_ns, 200);
	cr_assert(c->ops[0].op.flags & PT_EV_TRUNCATED);
	memcpy(prefix, "select '", 8);
	memset(prefix + 8, 'x', sizeof(prefix) - 9);
	prefix[PROTO_MYSQL_SQL_MAX] = '\0';
	cr_assert_str_eq(c->ops[0].text, fp(prefix));
	stream_free(&st);
}

Test(mysql, big_row_split_across_packets_is_one_row)
{
	struct stream st = {0};
	login(&st, BASE_CAPS | CLIENT_DEPRECATE_EOF);
	cmd_sql(out(&st), 0x03, "select blob from t");
	struct buf *b = in(&st);
	colcount(b, 1, 1);
	coldef(b, 2, "blob");
	run(&st, &WHOLE, 0, 0, 0);
	/* a 17 MiB value led by 0xFE (8-byte length): two packets */
	const size_t vlen = 17u << 20, plen = vlen + 9;
	uint8_t h[4] = {0xff, 0xff, 0xff, 3};
	feed(&WHOLE, PT_DIR_IN, h, 4, 300);
	uint8_t lead[9] = {0xfe, 0, 0, 0x10, 1, 0, 0, 0, 0};
	feed(&WHOLE, PT_DIR_IN, lead, 9, 300);
	static uint8_t z[1 << 16];
	size_t done = 9;
	while (done < 0xFFFFFF) {
		size_t n =
		    0xFFFFFF - done < sizeof(z) ? 0xFFFFFF - done : sizeof(z);
		feed(&WHOLE, PT_DIR_IN, z, n, 300);
		done += n;
	}
	size_t rest = plen - 0xFFFFFF;
	uint8_t h2[4] = {rest & 0xff, (rest >> 8) & 0xff, rest >> 16, 4};
	feed(&WHOLE, PT_DIR_IN, h2, 4, 300);
	for (done = 0; done < rest;) {
		size_t n = rest - done < sizeof(z) ? rest - done : sizeof(z);
		feed(&WHOLE, PT_DIR_IN, z, n, 300);
		done += n;
	}
	cr_assert_eq(WHOLE.nops, 0);
	struct buf t = {0};
	term(&t, 5, 1, 0);
	feed(&WHOLE, PT_DIR_IN, t.p, t.n, 400);
	free(t.p);

	cr_assert_eq(WHOLE.nops, 1);
	cr_assert_eq(WHOLE.ops[0].op.rows, 1);
	cr_assert_eq(WHOLE.ops[0].op.end_ns, 400);
	cr_assert_eq(WHOLE.last_status, PT_FEED_OK);
	stream_free(&st);
}

/* ---- tests: pipelining, close, desync
 * ---------------------------------------- */

Test(mysql, pipelined_commands_keep_order)
{
	struct stream st = {0};
	login(&st, BASE_CAPS);
	struct buf *o = out(&st);
	cmd_sql(o, 0x03, "select a from t");
	cmd0(o, 0x0e);
	cmd_sql(out(&st), 0x03, "delete from u");
	result_set(&st, 0, 2);
	ok(in(&st), 1, 0, 0);
	ok(in(&st), 1, 4, 0);
	const struct cap *c = check(&st);

	cr_assert_eq(c->nops, 3);
	cr_assert_str_eq(c->ops[0].text, fp("select a from t"));
	cr_assert_eq(c->ops[0].op.flags & PT_EV_PIPELINED, 0);
	cr_assert_eq(c->ops[0].op.rows, 2);
	cr_assert_str_eq(c->ops[1].text, "PING");
	cr_assert(c->ops[1].op.flags & PT_EV_PIPELINED);
	cr_assert_eq(c->ops[1].op.start_ns, st.s[3].t);
	cr_assert_eq(c->ops[1].op.end_ns, st.s[6].t);
	cr_assert_str_eq(c->ops[2].text, fp("delete from u"));
	cr_assert_eq(c->ops[2].op.start_ns, st.s[4].t);
	cr_assert_eq(c->ops[2].op.rows, 4);
	stream_free(&st);
}

Test(mysql, queue_overflow_stops_with_note)
{
	struct stream st = {0};
	login(&st, BASE_CAPS);
	for (unsigned i = 0; i <= PROTO_MYSQL_QUEUE_MAX; i++)
		cmd0(out(&st), 0x0e);
	ok(in(&st), 1, 0, 0);
	const struct cap *c = check(&st);

	cr_assert_eq(c->nops, 0);
	cr_assert_eq(c->notes[c->nnotes - 1], PT_NOTE_QUEUE_FULL);
	cr_assert_eq(c->note_val[c->nnotes - 1], PROTO_MYSQL_QUEUE_MAX);
	cr_assert_eq(c->last_status, PT_FEED_STOPPED);
	stream_free(&st);
}

Test(mysql, close_reports_outstanding_commands_aborted)
{
	struct stream st = {0};
	login(&st, BASE_CAPS);
	cmd_sql(out(&st), 0x03, "select sleep(100)");
	struct buf *b = in(&st);
	colcount(b, 1, 1);
	coldef(b, 2, "s");
	term(b, 3, 0, 0);
	textrow(b, 4, "0");
	const struct cap *c = check(&st);
	cr_assert_eq(c->nops, 0);
	proto_mysql_close(&M, 999);

	cr_assert_eq(WHOLE.nops, 1);
	cr_assert_eq(WHOLE.ops[0].op.outcome, PT_OUT_ABORTED);
	cr_assert_eq(WHOLE.ops[0].op.start_ns, st.s[3].t);
	cr_assert_eq(WHOLE.ops[0].op.end_ns, 999);
	cr_assert_eq(WHOLE.ops[0].op.rows, 1);
	cr_assert_eq(proto_mysql_feed(&M, PT_DIR_IN, b->p, 1, 1000),
		     PT_FEED_STOPPED);
	stream_free(&st);
}

Test(mysql, quit_leaves_nothing_to_abort)
{
	struct stream st = {0};
	login(&st, BASE_CAPS);
	cmd0(out(&st), 0x01);
	check(&st);
	proto_mysql_close(&M, 5);
	cr_assert_eq(WHOLE.nops, 0);
	stream_free(&st);
}

Test(mysql, garbage_desyncs_and_stops)
{
	struct stream st = {0};
	login(&st, BASE_CAPS);
	put_str(out(&st), "GET / HTTP/1.1\r\nHost: x\r\n\r\n");
	cmd0(out(&st), 0x0e);
	ok(in(&st), 1, 0, 0);
	const struct cap *c = check(&st);

	cr_assert_eq(c->nops, 0);
	cr_assert_eq(c->notes[c->nnotes - 1], PT_NOTE_DESYNC);
	cr_assert_eq(c->last_status, PT_FEED_STOPPED);
	stream_free(&st);
}

Test(mysql, bad_sequence_id_desyncs)
{
	struct stream st = {0};
	login(&st, BASE_CAPS);
	cmd0(out(&st), 0x0e);
	ok(in(&st), 2, 0, 0); /* should be 1 */
	const struct cap *c = check(&st);

	cr_assert_eq(c->nops, 0);
	cr_assert_eq(c->notes[c->nnotes - 1], PT_NOTE_DESYNC);
	cr_assert_str_eq(c->note_text[c->nnotes - 1], "bad sequence id");
	stream_free(&st);
}

Test(mysql, response_without_command_desyncs)
{
	struct stream st = {0};
	login(&st, BASE_CAPS);
	ok(in(&st), 1, 0, 0);
	const struct cap *c = check(&st);

	cr_assert_eq(c->nops, 0);
	cr_assert_eq(c->notes[c->nnotes - 1], PT_NOTE_DESYNC);
	stream_free(&st);
}

Test(mysql, bad_column_count_desyncs)
{
	struct stream st = {0};
	login(&st, BASE_CAPS);
	cmd_sql(out(&st), 0x03, "select 1");
	colcount(in(&st), 1, 5000);
	const struct cap *c = check(&st);

	cr_assert_eq(c->nops, 0);
	cr_assert_eq(c->notes[c->nnotes - 1], PT_NOTE_DESYNC);
	proto_mysql_close(&M, 10);
	cr_assert_eq(WHOLE.nops, 0, "no aborted op after a desync");
	stream_free(&st);
}

/* ---- tests: text options --------------------------------------------------
 */

Test(mysql, raw_mode_keeps_sql_cut_at_raw_max)
{
	struct stream st = {0};
	login(&st, BASE_CAPS);
	cmd_sql(out(&st), 0x03, "SELECT name FROM t WHERE id = 12345");
	ok(in(&st), 1, 0, 0);
	OPT.raw = 1;
	OPT.raw_max = 16;
	const struct cap *c = check(&st);
	OPT.raw = 0;
	OPT.raw_max = 0;

	cr_assert_eq(c->nops, 1);
	cr_assert_str_eq(c->ops[0].text, "SELECT name FROM");
	cr_assert(c->ops[0].op.flags & PT_EV_RAW);
	cr_assert(c->ops[0].op.flags & PT_EV_TRUNCATED);
	stream_free(&st);
}

/* Found by tests/fuzz/fuzz_proto_mysql.c: raw text copied a NUL of the
 * statement into the event, which the report reads as a C string. */
Test(mysql, raw_mode_text_holds_no_nul_byte)
{
	static const char sql[] = "SELECT 'a\0b' FROM t";
	struct stream st = {0};
	struct buf b = {0};
	login(&st, BASE_CAPS);
	put8(&b, 0x03);
	put(&b, sql, sizeof(sql) - 1);
	packet(out(&st), 0, &b); /* frees b.p */
	ok(in(&st), 1, 0, 0);
	OPT.raw = 1;
	const struct cap *c = check(&st);
	OPT.raw = 0;

	cr_assert_eq(c->nops, 1);
	cr_assert_eq(c->ops[0].op.text_len, sizeof(sql) - 1);
	cr_expect_null(memchr(c->ops[0].text, '\0', c->ops[0].op.text_len));
	cr_expect_str_eq(c->ops[0].text, "SELECT 'a b' FROM t");
	stream_free(&st);
}

Test(mysql, sniff_accepts_greetings_only)
{
	struct buf g = {0};
	greeting(&g, "10.11.6-MariaDB", 1, BASE_CAPS, 0);
	cr_assert_eq(proto_mysql_sniff(g.p, g.n), 1);
	cr_assert_eq(proto_mysql_sniff(g.p, 8), 1);
	cr_assert_eq(proto_mysql_sniff(g.p, 4), 0);
	cr_assert_eq(proto_mysql_sniff((const uint8_t *)"+OK\r\n", 5), 0);
	cr_assert_eq(proto_mysql_sniff((const uint8_t *)"HTTP/1.1 200", 12), 0);
	g.p[6] = 0x01; /* control byte in the version */
	cr_assert_eq(proto_mysql_sniff(g.p, g.n), 0);
	free(g.p);
}

/* ---- tests: sessions recorded from MariaDB 10.11 (tests/data/mysql) ------ */

/* Load a record.py fixture: one segment per recorded chunk, clock 10, 20.. */
static void load_fixture(struct stream *st, const char *name)
{
	char path[512];
	const char *slash = strrchr(__FILE__, '/');
	int dirlen = slash ? (int)(slash - __FILE__) : 1;
	snprintf(path, sizeof(path), "%.*s/../data/mysql/%s", dirlen,
		 slash ? __FILE__ : ".", name);
	FILE *f = fopen(path, "r");
	cr_assert_not_null(f, "cannot open %s (run from the repository root)",
			   path);
	static char line[1 << 20];
	while (fgets(line, sizeof(line), f)) {
		if (line[0] != '>' && line[0] != '<')
			continue;
		struct buf *b = line[0] == '>' ? out(st) : in(st);
		for (char *p = line + 2; p[0] && p[1] && p[0] != '\n'; p += 2) {
			unsigned x;
			cr_assert_eq(sscanf(p, "%2x", &x), 1);
			put8(b, x);
		}
	}
	fclose(f);
	cr_assert_gt(st->n, 2);
}

struct want {
	const char *sql;  /* fingerprinted through pt_sql_fingerprint */
	const char *text; /* or the literal text */
	int outcome, status;
	uint64_t rows;
	uint32_t flags;
};

static void expect(const struct cap *c, const struct want *w, int n)
{
	cr_assert_eq(c->nops, n, "%d ops, want %d", c->nops, n);
	for (int i = 0; i < n; i++) {
		const struct cap_op *o = &c->ops[i];
		char t[PT_TEXT_MAX + 16];
		if (w[i].sql && w[i].text)
			snprintf(t, sizeof(t), "%s%s", w[i].text, fp(w[i].sql));
		else
			snprintf(t, sizeof(t), "%s",
				 w[i].sql ? fp(w[i].sql) : w[i].text);
		cr_assert_str_eq(o->text, t, "op %d", i);
		cr_assert_eq(o->op.outcome, w[i].outcome, "op %d", i);
		cr_assert_eq(o->op.status, w[i].status, "op %d", i);
		cr_assert_eq(o->op.rows, w[i].rows, "op %d rows %llu", i,
			     (unsigned long long)o->op.rows);
		cr_assert_eq(o->op.flags, w[i].flags, "op %d flags", i);
		cr_assert_leq(o->op.start_ns, o->op.end_ns);
	}
}

Test(mysql_fixture, pymysql_session)
{
	static const struct want w[] = {
	    {"drop table if exists fx", NULL, 0, 0, 0, 0},
	    {"create table fx (id int primary key, name varchar(20))", NULL, 0,
	     0, 0, 0},
	    {"insert into fx values (10, 'x'), (11, 'y')", NULL, 0, 0, 2, 0},
	    {"select id, name from fx order by id", NULL, 0, 0, 2, 0},
	    {"select * from nosuch_table", NULL, PT_OUT_ERROR, 1146, 0, 0},
	    {"load data local infile '/tmp/perftap_infile.csv' into table "
	     "fx fields terminated by ','",
	     NULL, 0, 0, 3, 0},
	    {"select 1; update fx set name = 'z' where id = 1; select id "
	     "from fx",
	     NULL, 0, 0, 1 + 1 + 5, 0},
	    {NULL, "PING", 0, 0, 0, 0},
	    {NULL, "INIT_DB", 0, 0, 0, 0},
	    {"select repeat('a', 300) as big", NULL, 0, 0, 1, 0},
	};
	struct stream st = {0};
	load_fixture(&st, "pymysql.txt");
	const struct cap *c = check(&st);

	cr_assert_eq(c->notes[0], PT_NOTE_SERVER_INFO);
	cr_assert_str_eq(c->note_text[0], "5.5.5-10.11.19-MariaDB-0+deb12u1");
	cr_assert_eq(c->nnotes, 1);
	expect(c, w, sizeof(w) / sizeof(w[0]));
	/* LOAD DATA: the file went out mid-command and is counted there */
	cr_assert_gt(c->ops[5].op.bytes_out, 4 + 1 + 80 + 4 + 24);
	proto_mysql_close(&M, 1);
	cr_assert_eq(WHOLE.nops, 10, "QUIT leaves nothing outstanding");
	stream_free(&st);
}

Test(mysql_fixture, libmariadb_prepared_cursor_direct_call)
{
	static const char sel[] = "select id, v from ps where id >= ?";
	static const char upd[] = "update ps set v = 'z' where id = 3";
	static const struct want w[] = {
	    {"drop table if exists ps", NULL, 0, 0, 0, 0},
	    {"create table ps (id int primary key, v varchar(10))", NULL, 0, 0,
	     0, 0},
	    {"insert into ps values (1,'a'),(2,'b'),(3,'c')", NULL, 0, 0, 3, 0},
	    {"drop procedure if exists p2", NULL, 0, 0, 0, 0},
	    {"create procedure p2() begin select 1; select id from ps; end",
	     NULL, 0, 0, 0, 0},
	    {sel, "PREPARE ", 0, 0, 0, 0},
	    {sel, NULL, 0, 0, 2, PT_EV_PREPARED},
	    {NULL, "STMT_RESET", 0, 0, 0, 0},
	    {sel, NULL, 0, 0, 0, PT_EV_PREPARED}, /* opens a cursor */
	    {NULL, "STMT_FETCH", 0, 0, 2, 0},
	    {NULL, "STMT_FETCH", 0, 0, 1, 0},
	    {upd, "PREPARE ", 0, 0, 0, 0},
	    {upd, NULL, 0, 0, 1, PT_EV_PREPARED | PT_EV_PIPELINED},
	    {"call p2()", "PREPARE ", 0, 0, 0, 0},
	    {"call p2()", NULL, 0, 0, 1 + 3, PT_EV_PREPARED},
	    {NULL, "PING", 0, 0, 0, 0},
	};
	struct stream st = {0};
	load_fixture(&st, "libmariadb_ps.txt");
	const struct cap *c = check(&st);

	cr_assert_eq(c->nnotes, 1);
	expect(c, w, sizeof(w) / sizeof(w[0]));
	stream_free(&st);
}

Test(mysql_fixture, mariadb_cli_text_results)
{
	static const struct want w[] = {
	    {"select id, v from ps", NULL, 0, 0, 3, 0},
	    {"show warnings", NULL, 0, 0, 0, 0},
	    {"select count(*) from information_schema.columns", NULL, 0, 0, 1,
	     0},
	};
	struct stream st = {0};
	load_fixture(&st, "cli_session.txt");
	const struct cap *c = check(&st);

	expect(c, w, sizeof(w) / sizeof(w[0]));
	stream_free(&st);
}

Test(mysql_fixture, mariadb_cli_compress_stops)
{
	struct stream st = {0};
	load_fixture(&st, "cli_compress.txt");
	const struct cap *c = check(&st);

	cr_assert_eq(c->nops, 0);
	cr_assert_eq(c->nnotes, 2);
	cr_assert_eq(c->notes[1], PT_NOTE_COMPRESSED);
	cr_assert_eq(c->last_status, PT_FEED_STOPPED);
	stream_free(&st);
}

Test(mysql_fixture, flipped_bytes_never_pair_after_a_desync)
{
	struct stream st = {0};
	load_fixture(&st, "libmariadb_ps.txt");
	run(&st, &WHOLE, 0, 0, 0);
	const int clean = WHOLE.nops;
	int desyncs = 0;
	for (int i = 0; i < st.n; i++) {
		for (size_t k = 0; k < st.s[i].b.n; k++) {
			st.s[i].b.p[k] ^= 0xA5;
			run(&st, &OTHER, 0, 0, 0);
			st.s[i].b.p[k] ^= 0xA5;
			cr_assert_eq(OTHER.ops_after_stop, 0);
			cr_assert_leq(OTHER.nops, clean + 1);
			desyncs += OTHER.stopped;
		}
	}
	cr_assert_gt(desyncs, 0, "some flips must be caught");
	stream_free(&st);
}

Test(mysql, pipelined_long_texts_share_the_arena_without_corruption)
{
	enum { N = 6, LEN = 3000 };
	static char sql[N][LEN + 1];
	struct stream st = {0};
	login(&st, BASE_CAPS);
	for (int i = 0; i < N; i++) {
		memcpy(sql[i], "select ", 7);
		memset(sql[i] + 7, 'a' + i, LEN - 7);
		sql[i][LEN] = '\0';
	}
	/* 4 outstanding, 2 answered, 2 more sent: the ring wraps */
	for (int i = 0; i < 4; i++)
		cmd_sql(out(&st), 0x03, sql[i]);
	ok(in(&st), 1, 0, 0);
	ok(in(&st), 1, 0, 0);
	for (int i = 4; i < N; i++)
		cmd_sql(out(&st), 0x03, sql[i]);
	for (int i = 2; i < N; i++)
		ok(in(&st), 1, (uint64_t)i, 0);
	run(&st, &WHOLE, 0, 0, 0);

	cr_assert_eq(WHOLE.nops, N);
	int full = 0;
	for (int i = 0; i < N; i++) {
		const struct cap_op *o = &WHOLE.ops[i];
		char want[PT_TEXT_MAX + 1];
		snprintf(want, sizeof(want), "%s", fp(sql[i]));
		cr_assert_leq(o->op.text_len, strlen(want));
		cr_assert_eq(memcmp(o->text, want, o->op.text_len), 0,
			     "op %d text corrupted", i);
		if (o->op.text_len == strlen(want))
			full++;
		else
			cr_assert(o->op.flags & PT_EV_TRUNCATED, "op %d", i);
	}
	cr_assert_geq(full, 3);
	stream_free(&st);
}

/* ---- deep pipelines: queue and arena move into spill memory ---- */

static size_t spill_live;

static void *spill_get(size_t n)
{
	spill_live += n;
	return malloc(n);
}

static void spill_put(void *p, size_t n)
{
	spill_live -= n;
	free(p);
}

static const struct pt_spill test_spill = {spill_get, spill_put};

struct deep_cap {
	int n, bad_text, aborted, notes;
	uint64_t rows;
};

static void deep_op(void *arg, const struct pt_op *op)
{
	struct deep_cap *d = arg;
	const char *w = d->n % 2 ? fp("update t set a = 1 where id = 7")
				 : fp("select a from t where id = 5");
	if (op->text_len != strlen(w) || memcmp(op->text, w, op->text_len))
		d->bad_text++;
	d->aborted += op->outcome == PT_OUT_ABORTED;
	d->rows += op->rows;
	d->n++;
}

static void deep_note(void *arg, enum pt_note note, const char *text,
		      size_t len, uint64_t value)
{
	(void)text, (void)len, (void)value;
	((struct deep_cap *)arg)->notes +=
	    note != PT_NOTE_SERVER_INFO && note != PT_NOTE_AUTH;
}

static void feed_steps(const struct seg *s, size_t step)
{
	for (size_t at = 0; at < s->b.n; at += step)
		proto_mysql_feed(&M, s->dir, s->b.p + at,
				 s->b.n - at < step ? s->b.n - at : step, s->t);
}

/* depth queries sent before any reply, replies withheld for the last
 * `unanswered` (aborted at close). */
static void deep_mysql(int depth, int unanswered, size_t step)
{
	struct stream st = {0};
	struct deep_cap d = {0};
	struct pt_sink sink = {deep_op, deep_note, &d};
	struct pt_proto_options opt = {.spill = &test_spill};

	login(&st, BASE_CAPS);
	struct buf *o = out(&st), *i = in(&st);
	for (int k = 0; k < depth; k++) {
		cmd_sql(o, 0x03,
			k % 2 ? "UPDATE t SET a = 1 WHERE id = 7"
			      : "SELECT a FROM t WHERE id = 5");
		if (k < depth - unanswered)
			ok(i, 1, 1, 0);
	}
	spill_live = 0;
	proto_mysql_init(&M, &opt, &sink);
	for (int k = 0; k < st.n; k++)
		feed_steps(&st.s[k], step);
	cr_assert_eq(d.notes, 0);
	cr_assert_eq(d.n, depth - unanswered);
	cr_assert_gt(spill_live, 0, "the queue spilled");
	proto_mysql_close(&M, 99);
	cr_assert_eq(d.n, depth);
	cr_assert_eq(d.aborted, unanswered);
	cr_assert_eq(d.bad_text, 0);
	cr_assert_eq(d.rows, (uint64_t)(depth - unanswered));
	cr_assert_eq(spill_live, 0, "close gives the spill back");
	stream_free(&st);
}

Test(mysql, pipeline_of_100000_queries_counted_whole)
{
	deep_mysql(100000, 0, 65536);
}

Test(mysql, deep_pipeline_split_at_odd_offsets)
{
	deep_mysql(3000, 0, 7);
	deep_mysql(PROTO_MYSQL_QUEUE_MAX + 1, 0, 1);
	deep_mysql(5000, 1234, 13);
}
