/*
 * test_proto_redis.c -- the Redis RESP2/RESP3 decoder on byte streams:
 * every reply type, pairing, pipelines, transactions, pub/sub, RESP3
 * pushes, desync, and every stream split at every offset.
 */
#include <criterion/criterion.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "normalize.h"
#include "proto_redis.h"

/* ---- harness ------------------------------------------------------------ */

#define TEXT_CAP  512
#define MAX_NOTES 8

struct ev {
	struct pt_op op;
	char text[TEXT_CAP];
};

struct col {
	struct ev *ev;
	size_t n, cap;
	unsigned notes[MAX_NOTES]; /* per enum pt_note */
	uint64_t note_values[MAX_NOTES];
};

static void col_op(void *arg, const struct pt_op *op)
{
	struct col *c = arg;
	struct ev *e;

	if (c->n == c->cap) {
		c->cap = c->cap ? 2 * c->cap : 64;
		c->ev = realloc(c->ev, c->cap * sizeof(*c->ev));
		cr_assert(c->ev);
	}
	e = &c->ev[c->n++];
	memset(e, 0, sizeof(*e));
	e->op = *op;
	cr_assert(op->text_len < TEXT_CAP);
	if (op->text)
		memcpy(e->text, op->text, op->text_len);
	e->op.text = NULL; /* only valid during the callback */
}

static void col_note(void *arg, enum pt_note note, const char *text, size_t len,
		     uint64_t value)
{
	struct col *c = arg;

	(void)text;
	(void)len;
	cr_assert((unsigned)note < MAX_NOTES);
	c->notes[note]++;
	c->note_values[note] += value;
}

struct fx {
	struct proto_redis r;
	struct pt_sink sink;
	struct col col;
	enum pt_feed_status last;
};

static struct fx *fx_new(void)
{
	struct fx *f = calloc(1, sizeof(*f));

	cr_assert(f);
	f->sink.op = col_op;
	f->sink.note = col_note;
	f->sink.arg = &f->col;
	proto_redis_init(&f->r, NULL, &f->sink);
	return f;
}

static void fx_free(struct fx *f)
{
	free(f->col.ev);
	free(f);
}

static enum pt_feed_status feed(struct fx *f, enum pt_dir d, const char *s,
				size_t n, uint64_t now)
{
	f->last = proto_redis_feed(&f->r, d, (const uint8_t *)s, n, now);
	return f->last;
}

static enum pt_feed_status out(struct fx *f, const char *s, uint64_t now)
{
	return feed(f, PT_DIR_OUT, s, strlen(s), now);
}

static enum pt_feed_status in(struct fx *f, const char *s, uint64_t now)
{
	return feed(f, PT_DIR_IN, s, strlen(s), now);
}

/* "CMD pattern(key)", computed through the same normalizer. */
static const char *want(const char *cmd, const char *key)
{
	static char buf[4][TEXT_CAP];
	static int k;
	char *b = buf[k++ % 4];
	size_t n = (size_t)snprintf(b, TEXT_CAP, "%s", cmd);

	if (key) {
		b[n++] = ' ';
		pt_redis_key_pattern(key, strlen(key), b + n, TEXT_CAP - n);
	}
	return b;
}

/* ---- scripts: streams replayed whole, split, byte by byte -------------- */

struct chunk {
	enum pt_dir dir;
	const char *data;
	size_t len; /* 0: strlen(data) */
	uint64_t now;
};

#define SCRIPT_LEN(s) (sizeof(s) / sizeof((s)[0]))

static size_t chunk_len(const struct chunk *c)
{
	return c->len ? c->len : strlen(c->data);
}

/* split < 0: whole chunks; split == 0: byte by byte; else chunk `which` is
 * fed as [0, split) and [split, len). */
static struct fx *run_script(const struct chunk *s, size_t n, long split,
			     size_t which)
{
	struct fx *f = fx_new();

	for (size_t i = 0; i < n; i++) {
		size_t len = chunk_len(&s[i]);

		if (split == 0) {
			for (size_t b = 0; b < len; b++)
				feed(f, s[i].dir, s[i].data + b, 1, s[i].now);
		} else if (split > 0 && i == which && (size_t)split < len) {
			feed(f, s[i].dir, s[i].data, (size_t)split, s[i].now);
			feed(f, s[i].dir, s[i].data + split,
			     len - (size_t)split, s[i].now);
		} else {
			feed(f, s[i].dir, s[i].data, len, s[i].now);
		}
	}
	return f;
}

static void assert_same_events(const struct fx *a, const struct fx *b,
			       const char *how)
{
	cr_assert_eq(a->col.n, b->col.n, "%s: %zu events, whole gave %zu", how,
		     b->col.n, a->col.n);
	for (size_t i = 0; i < a->col.n; i++) {
		const struct pt_op *x = &a->col.ev[i].op, *y = &b->col.ev[i].op;

		cr_assert_str_eq(a->col.ev[i].text, b->col.ev[i].text,
				 "%s: event %zu", how, i);
		cr_assert(x->start_ns == y->start_ns && x->end_ns == y->end_ns,
			  "%s: event %zu timing", how, i);
		cr_assert(x->outcome == y->outcome && x->status == y->status,
			  "%s: event %zu outcome", how, i);
		cr_assert(x->rows == y->rows && x->flags == y->flags,
			  "%s: event %zu rows/flags", how, i);
		cr_assert(x->bytes_in == y->bytes_in &&
			      x->bytes_out == y->bytes_out,
			  "%s: event %zu bytes", how, i);
		cr_assert(x->cache_hits == y->cache_hits &&
			      x->cache_misses == y->cache_misses,
			  "%s: event %zu cache", how, i);
	}
	cr_assert_eq(a->r.pushes, b->r.pushes, "%s: pushes", how);
	cr_assert_eq(a->last, b->last, "%s: feed status", how);
}

/* Whole, byte by byte, and every chunk split at every offset: the same. */
static struct fx *check_all_splits(const struct chunk *s, size_t n)
{
	struct fx *whole = run_script(s, n, -1, 0);
	struct fx *f = run_script(s, n, 0, 0);

	assert_same_events(whole, f, "byte by byte");
	fx_free(f);
	for (size_t i = 0; i < n; i++)
		for (size_t k = 1; k < chunk_len(&s[i]); k++) {
			char how[64];

			snprintf(how, sizeof(how), "chunk %zu split at %zu", i,
				 k);
			f = run_script(s, n, (long)k, i);
			assert_same_events(whole, f, how);
			fx_free(f);
		}
	return whole;
}

/* ---- single commands ---------------------------------------------------- */

Test(resp, get_hit_is_one_timed_event_with_key_pattern)
{
	struct fx *f = fx_new();
	const char *req = "*2\r\n$3\r\nGET\r\n$13\r\nfir:record:42\r\n";

	cr_assert_eq(out(f, req, 100), PT_FEED_OK);
	cr_assert_eq(f->col.n, 0);
	cr_assert_eq(in(f, "$5\r\nhello\r\n", 250), PT_FEED_OK);
	cr_assert_eq(f->col.n, 1);
	cr_assert_str_eq(f->col.ev[0].text, want("GET", "fir:record:42"));
	cr_assert_eq(f->col.ev[0].op.kind, PT_KIND_REDIS);
	cr_assert_eq(f->col.ev[0].op.outcome, PT_OUT_OK);
	cr_assert_eq(f->col.ev[0].op.start_ns, 100);
	cr_assert_eq(f->col.ev[0].op.end_ns, 250);
	cr_assert_eq(f->col.ev[0].op.bytes_out, strlen(req));
	cr_assert_eq(f->col.ev[0].op.bytes_in, 11);
	cr_assert_eq(f->col.ev[0].op.cache_hits, 1);
	cr_assert_eq(f->col.ev[0].op.cache_misses, 0);
	cr_assert_eq(f->col.ev[0].op.rows, 1);
	cr_assert_eq(f->col.ev[0].op.flags, 0);
	fx_free(f);
}

Test(resp, get_nil_is_a_miss_in_resp2_and_resp3)
{
	struct fx *f = fx_new();

	out(f, "*2\r\n$3\r\nget\r\n$1\r\na\r\n*2\r\n$3\r\nget\r\n$1\r\nb\r\n",
	    1);
	in(f, "$-1\r\n_\r\n", 2);
	cr_assert_eq(f->col.n, 2);
	for (int i = 0; i < 2; i++) {
		cr_assert_eq(f->col.ev[i].op.cache_hits, 0);
		cr_assert_eq(f->col.ev[i].op.cache_misses, 1);
	}
	cr_assert_str_eq(f->col.ev[0].text, want("GET", "a"));
	cr_assert_str_eq(f->col.ev[1].text, want("GET", "b"));
	fx_free(f);
}

Test(resp, mget_counts_hits_and_misses_per_key)
{
	struct fx *f = fx_new();

	out(f, "*4\r\n$4\r\nMGET\r\n$3\r\nk:1\r\n$3\r\nk:2\r\n$3\r\nk:3\r\n",
	    1);
	in(f, "*3\r\n$1\r\nx\r\n$-1\r\n$0\r\n\r\n", 2);
	cr_assert_eq(f->col.n, 1);
	cr_assert_str_eq(f->col.ev[0].text, want("MGET", "k:1"));
	cr_assert_eq(f->col.ev[0].op.rows, 3);
	cr_assert_eq(f->col.ev[0].op.cache_hits, 2);
	cr_assert_eq(f->col.ev[0].op.cache_misses, 1);
	fx_free(f);
}

Test(resp, hmget_hgetall_exists_count_cache_outcomes)
{
	struct fx *f = fx_new();

	out(f, "*4\r\n$5\r\nHMGET\r\n$1\r\nh\r\n$1\r\na\r\n$1\r\nb\r\n", 1);
	in(f, "*2\r\n$-1\r\n$-1\r\n", 2);
	out(f, "*2\r\n$7\r\nHGETALL\r\n$1\r\nh\r\n", 3);
	in(f, "*0\r\n", 4);
	out(f, "*2\r\n$7\r\nHGETALL\r\n$1\r\ng\r\n", 5);
	in(f, "%1\r\n+f\r\n+v\r\n", 6);
	out(f, "*4\r\n$6\r\nEXISTS\r\n$1\r\na\r\n$1\r\nb\r\n$1\r\nc\r\n", 7);
	in(f, ":2\r\n", 8);
	out(f, "*2\r\n$3\r\nSET\r\n$1\r\na\r\n", 9);
	in(f, "+OK\r\n", 10);
	cr_assert_eq(f->col.n, 5);
	cr_assert_eq(f->col.ev[0].op.cache_misses, 2);
	cr_assert_eq(f->col.ev[0].op.cache_hits, 0);
	cr_assert_eq(f->col.ev[1].op.cache_misses, 1);
	cr_assert_eq(f->col.ev[1].op.cache_hits, 0);
	cr_assert_eq(f->col.ev[2].op.cache_misses, 0);
	cr_assert_eq(f->col.ev[2].op.cache_hits, 1);
	cr_assert_eq(f->col.ev[3].op.cache_hits, 2);
	cr_assert_eq(f->col.ev[3].op.cache_misses, 1);
	cr_assert_eq(f->col.ev[3].op.rows, 3);
	cr_assert_eq(f->col.ev[4].op.cache_hits + f->col.ev[4].op.cache_misses,
		     0, "SET is not a cache read");
	fx_free(f);
}

Test(resp, key_position_and_rows_follow_the_command)
{
	struct fx *f = fx_new();
	static const struct {
		const char *req, *cmd, *key;
		uint64_t rows;
	} cases[] = {
	    {"*4\r\n$5\r\nSETEX\r\n$4\r\nfir:\r\n$4\r\n3600\r\n$1\r\nv\r\n",
	     "SETEX", "fir:", 1},
	    {"*3\r\n$3\r\nDEL\r\n$1\r\na\r\n$1\r\nb\r\n", "DEL", "a", 2},
	    {"*5\r\n$4\r\nMSET\r\n$1\r\na\r\n$1\r\n1\r\n$1\r\nb\r\n$1\r\n2\r\n",
	     "MSET", "a", 2},
	    {"*2\r\n$4\r\nKEYS\r\n$6\r\nfir:l*\r\n", "KEYS", "fir:l*", 1},
	    {"*2\r\n$4\r\nSCAN\r\n$1\r\n0\r\n", "SCAN", NULL, 0},
	    {"*1\r\n$4\r\nPING\r\n", "PING", NULL, 0},
	    {"*3\r\n$7\r\nPUBLISH\r\n$4\r\nch:1\r\n$3\r\nmsg\r\n", "PUBLISH",
	     "ch:1", 1},
	    {"*3\r\n$6\r\nCLIENT\r\n$7\r\nsetname\r\n$3\r\nbob\r\n",
	     "CLIENT SETNAME", NULL, 0},
	    {"*3\r\n$6\r\nCONFIG\r\n$3\r\nGET\r\n$4\r\nsave\r\n", "CONFIG GET",
	     NULL, 0},
	    {"*5\r\n$4\r\nEVAL\r\n$6\r\nreturn\r\n$1\r\n1\r\n$3\r\nk:9\r\n$"
	     "1\r\nx\r\n",
	     "EVAL", "k:9", 1},
	    {"*4\r\n$5\r\nXREAD\r\n$7\r\nSTREAMS\r\n$2\r\ns1\r\n$1\r\n0\r\n",
	     "XREAD", "s1", 1},
	    {"*2\r\n$7\r\nFOO.BAR\r\n$3\r\nkey\r\n", "FOO.BAR", NULL, 0},
	};
	size_t n = sizeof(cases) / sizeof(cases[0]);

	for (size_t i = 0; i < n; i++) {
		out(f, cases[i].req, i);
		in(f, "+OK\r\n", i);
	}
	cr_assert_eq(f->col.n, n);
	for (size_t i = 0; i < n; i++) {
		cr_assert_str_eq(f->col.ev[i].text,
				 want(cases[i].cmd, cases[i].key), "case %zu",
				 i);
		cr_assert_eq(f->col.ev[i].op.rows, cases[i].rows, "case %zu",
			     i);
	}
	fx_free(f);
}

Test(resp, inline_commands_are_parsed)
{
	struct fx *f = fx_new();

	out(f, "PING\r\n", 1);
	out(f, "get  user:7 \r\n", 2);
	out(f, "\r\nEXISTS a b\n", 3);
	in(f, "+PONG\r\n$-1\r\n:1\r\n", 4);
	cr_assert_eq(f->col.n, 3);
	cr_assert_str_eq(f->col.ev[0].text, "PING");
	cr_assert_str_eq(f->col.ev[1].text, want("GET", "user:7"));
	cr_assert_eq(f->col.ev[1].op.start_ns, 2);
	cr_assert_eq(f->col.ev[1].op.cache_misses, 1);
	cr_assert_eq(f->col.ev[1].op.bytes_out, strlen("get  user:7 \r\n"));
	cr_assert_str_eq(f->col.ev[2].text, want("EXISTS", "a"));
	cr_assert_eq(f->col.ev[2].op.rows, 2);
	cr_assert_eq(f->col.ev[2].op.cache_hits, 1);
	fx_free(f);
}

/* ---- reply types ---------------------------------------------------- */

/* One GET per reply, each reply a different RESP2/RESP3 type. */
static const char *const every_reply[] = {
    "+OK\r\n",
    "-ERR unknown\r\n",
    ":-42\r\n",
    "$3\r\nfoo\r\n",
    "$0\r\n\r\n",
    "$-1\r\n",
    "*-1\r\n",
    "*0\r\n",
    "*2\r\n:1\r\n$1\r\nx\r\n",
    "%2\r\n+a\r\n:1\r\n+b\r\n*1\r\n_\r\n",
    "~2\r\n+a\r\n+b\r\n",
    "|1\r\n+ttl\r\n:3\r\n$2\r\nhi\r\n",
    "_\r\n",
    "#t\r\n",
    "#f\r\n",
    ",3.14\r\n",
    ",inf\r\n",
    "(3492890328409238509324850943850943825024385\r\n",
    "=15\r\ntxt:Some string\r\n",
    "!21\r\nSYNTAX invalid syntax\r\n",
    "*3\r\n%1\r\n+k\r\n~1\r\n*1\r\n#t\r\n|1\r\n+a\r\n+b\r\n:7\r\n=5\r\ntxt:"
    "x\r\n",
};

Test(resp, every_reply_type_pairs_with_its_request)
{
	struct fx *f = fx_new();
	size_t n = sizeof(every_reply) / sizeof(every_reply[0]);

	for (size_t i = 0; i < n; i++) {
		char key[16];
		char req[64];

		snprintf(key, sizeof(key), "k%zu", i);
		snprintf(req, sizeof(req), "*2\r\n$3\r\nGET\r\n$%zu\r\n%s\r\n",
			 strlen(key), key);
		cr_assert_eq(out(f, req, 10 * i), PT_FEED_OK);
		cr_assert_eq(in(f, every_reply[i], 10 * i + 5), PT_FEED_OK,
			     "reply %zu", i);
		cr_assert_eq(f->col.n, i + 1, "reply %zu", i);
		cr_assert_str_eq(f->col.ev[i].text, want("GET", key));
		cr_assert_eq(f->col.ev[i].op.bytes_in, strlen(every_reply[i]));
		cr_assert_eq(f->col.ev[i].op.end_ns, 10 * i + 5);
	}
	cr_assert_eq(f->col.ev[1].op.outcome, PT_OUT_ERROR);
	cr_assert_eq(f->col.ev[1].op.status, PT_REDIS_ERR_ERR);
	cr_assert_eq(f->col.ev[19].op.outcome, PT_OUT_ERROR);
	cr_assert_eq(f->col.ev[19].op.status, PT_REDIS_ERR_OTHER);
	/* nulls are misses, everything else a hit */
	cr_assert_eq(f->col.ev[5].op.cache_misses, 1);
	cr_assert_eq(f->col.ev[6].op.cache_misses, 1);
	cr_assert_eq(f->col.ev[12].op.cache_misses, 1);
	cr_assert_eq(f->col.ev[3].op.cache_hits, 1);
	cr_assert_eq(f->col.ev[11].op.cache_hits, 1, "attribute then value");
	cr_assert_eq(proto_redis_pushes(&f->r), 0);
	fx_free(f);
}

Test(resp, every_reply_type_gives_same_events_at_every_split)
{
	size_t n = sizeof(every_reply) / sizeof(every_reply[0]);
	struct chunk s[2 * sizeof(every_reply) / sizeof(every_reply[0])];

	for (size_t i = 0; i < n; i++) {
		s[2 * i] = (struct chunk){
		    PT_DIR_OUT, "*2\r\n$3\r\nGET\r\n$3\r\nabc\r\n", 0, 100 * i};
		s[2 * i + 1] =
		    (struct chunk){PT_DIR_IN, every_reply[i], 0, 100 * i + 50};
	}
	struct fx *f = check_all_splits(s, 2 * n);
	cr_assert_eq(f->col.n, n);
	fx_free(f);
}

static void nested(char *buf, size_t cap, int depth)
{
	size_t n = 0;

	for (int i = 0; i < depth; i++)
		n += (size_t)snprintf(buf + n, cap - n, "*1\r\n");
	snprintf(buf + n, cap - n, ":1\r\n");
}

Test(resp, nesting_to_the_stack_depth_parses)
{
	struct fx *f = fx_new();
	char buf[1024];

	nested(buf, sizeof(buf), PROTO_REDIS_DEPTH);
	out(f, "*1\r\n$4\r\nPING\r\n", 1);
	cr_assert_eq(in(f, buf, 2), PT_FEED_OK);
	cr_assert_eq(f->col.n, 1);
	cr_assert_eq(f->col.ev[0].op.bytes_in, strlen(buf));
	fx_free(f);
}

Test(resp, nesting_deeper_than_the_stack_desyncs)
{
	struct fx *f = fx_new();
	char buf[1024];

	nested(buf, sizeof(buf), PROTO_REDIS_DEPTH + 1);
	out(f, "*1\r\n$4\r\nPING\r\n", 1);
	cr_assert_eq(in(f, buf, 2), PT_FEED_STOPPED);
	cr_assert_eq(f->col.n, 0);
	cr_assert_eq(f->col.notes[PT_NOTE_DESYNC], 1);
	fx_free(f);
}

Test(resp, error_first_word_becomes_status)
{
	static const struct {
		const char *reply;
		int status;
	} cases[] = {
	    {"-ERR wrong number of arguments\r\n", PT_REDIS_ERR_ERR},
	    {"-WRONGTYPE Operation against a key\r\n", PT_REDIS_ERR_WRONGTYPE},
	    {"-MOVED 3999 127.0.0.1:6381\r\n", PT_REDIS_ERR_MOVED},
	    {"-ASK 3999 127.0.0.1:6381\r\n", PT_REDIS_ERR_ASK},
	    {"-NOSCRIPT No matching script\r\n", PT_REDIS_ERR_NOSCRIPT},
	    {"-BUSY Redis is busy\r\n", PT_REDIS_ERR_BUSY},
	    {"-READONLY You can't write\r\n", PT_REDIS_ERR_READONLY},
	    {"-NOAUTH Authentication required.\r\n", PT_REDIS_ERR_NOAUTH},
	    {"-NOPERM no permissions\r\n", PT_REDIS_ERR_NOPERM},
	    {"-OOM command not allowed\r\n", PT_REDIS_ERR_OOM},
	    {"-EXECABORT Transaction discarded\r\n", PT_REDIS_ERR_EXECABORT},
	    {"-LOADING Redis is loading\r\n", PT_REDIS_ERR_LOADING},
	    {"-WRONGPASS invalid username-password\r\n",
	     PT_REDIS_ERR_WRONGPASS},
	    {"-ERRX not a known prefix\r\n", PT_REDIS_ERR_OTHER},
	    {"-\r\n", PT_REDIS_ERR_OTHER},
	    {"!9\r\nNOAUTH no\r\n", PT_REDIS_ERR_NOAUTH},
	};
	size_t n = sizeof(cases) / sizeof(cases[0]);
	struct fx *f = fx_new();

	for (size_t i = 0; i < n; i++) {
		out(f, "*2\r\n$3\r\nGET\r\n$1\r\nk\r\n", i);
		in(f, cases[i].reply, i);
		cr_assert_eq(f->col.n, i + 1);
		cr_assert_eq(f->col.ev[i].op.outcome, PT_OUT_ERROR, "case %zu",
			     i);
		cr_assert_eq(f->col.ev[i].op.status, cases[i].status,
			     "case %zu", i);
		cr_assert_eq(f->col.ev[i].op.cache_hits +
				 f->col.ev[i].op.cache_misses,
			     0, "an error is neither hit nor miss");
	}
	fx_free(f);
}

/* ---- pipelines ---------------------------------------------------------- */

Test(resp, pipeline_of_1000_keeps_order)
{
	struct fx *f = fx_new();
	char *req = malloc(1000 * 64);
	size_t n = 0;

	cr_assert(req);
	for (int i = 0; i < 1000; i++)
		n += (size_t)sprintf(
		    req + n, "*2\r\n$3\r\nGET\r\n$12\r\nfir:record:%d\r\n",
		    i % 10);
	cr_assert_eq(feed(f, PT_DIR_OUT, req, n, 7), PT_FEED_OK);
	for (int i = 0; i < 1000; i++) {
		char rep[32];

		/* reply i: hit when i is even, else miss */
		snprintf(rep, sizeof(rep), i % 2 ? "$-1\r\n" : "$1\r\n%d\r\n",
			 i % 10);
		cr_assert_eq(in(f, rep, 1000 + (uint64_t)i), PT_FEED_OK);
	}
	cr_assert_eq(f->col.n, 1000);
	for (int i = 0; i < 1000; i++) {
		const struct pt_op *op = &f->col.ev[i].op;
		char key[32];

		snprintf(key, sizeof(key), "fir:record:%d", i % 10);
		cr_assert_str_eq(f->col.ev[i].text, want("GET", key));
		cr_assert_eq(op->start_ns, 7);
		cr_assert_eq(op->end_ns, 1000 + (uint64_t)i, "event %d", i);
		cr_assert_eq(op->cache_hits, i % 2 ? 0u : 1u, "event %d", i);
		cr_assert_eq(op->cache_misses, i % 2 ? 1u : 0u, "event %d", i);
		cr_assert_eq(!!(op->flags & PT_EV_PIPELINED), i > 0);
	}
	cr_assert_eq(f->col.notes[PT_NOTE_QUEUE_FULL], 0);
	free(req);
	fx_free(f);
}

Test(resp, queue_overflow_keeps_pairing_correct)
{
	struct fx *f = fx_new();
	const int extra = 6, total = PROTO_REDIS_RING + 6;

	for (int i = 0; i < total; i++)
		out(f, "*2\r\n$3\r\nGET\r\n$1\r\nk\r\n", 1);
	cr_assert_eq(f->col.notes[PT_NOTE_QUEUE_FULL], (unsigned)extra);
	cr_assert_eq(f->col.note_values[PT_NOTE_QUEUE_FULL], (uint64_t)extra);
	for (int i = 0; i < total; i++)
		cr_assert_eq(in(f, "$-1\r\n", 2), PT_FEED_OK);
	cr_assert_eq(f->col.n, PROTO_REDIS_RING);
	/* The next request pairs with its own reply, not a stale one. */
	out(f, "*2\r\n$3\r\nSET\r\n$1\r\nz\r\n", 3);
	in(f, "-WRONGTYPE x\r\n", 4);
	cr_assert_eq(f->col.n, PROTO_REDIS_RING + 1);
	cr_assert_str_eq(f->col.ev[PROTO_REDIS_RING].text, want("SET", "z"));
	cr_assert_eq(f->col.ev[PROTO_REDIS_RING].op.status,
		     PT_REDIS_ERR_WRONGTYPE);
	cr_assert_eq(f->col.ev[PROTO_REDIS_RING].op.start_ns, 3);
	/* and a reply too many still desyncs */
	cr_assert_eq(in(f, "+OK\r\n", 5), PT_FEED_STOPPED);
	fx_free(f);
}

Test(resp, request_behind_untracked_ones_stays_untracked)
{
	struct fx *f = fx_new();

	for (int i = 0; i < PROTO_REDIS_RING + 1; i++)
		out(f, "*1\r\n$4\r\nPING\r\n", 1);
	in(f, "+PONG\r\n", 2); /* a slot frees, one untracked remains */
	out(f, "*2\r\n$3\r\nGET\r\n$1\r\nq\r\n", 3);
	cr_assert_eq(f->col.notes[PT_NOTE_QUEUE_FULL], 2);
	for (int i = 0; i < PROTO_REDIS_RING + 1; i++)
		cr_assert_eq(in(f, "+PONG\r\n", 4), PT_FEED_OK);
	for (size_t i = 0; i < f->col.n; i++)
		cr_assert_str_eq(f->col.ev[i].text, "PING");
	cr_assert_eq(f->col.n, PROTO_REDIS_RING);
	fx_free(f);
}

Test(resp, distinct_texts_beyond_the_table_still_give_events)
{
	struct fx *f = fx_new();
	const int n = 3 * PROTO_REDIS_TEXTS;

	for (int i = 0; i < n; i++) {
		char req[64];

		snprintf(req, sizeof(req),
			 "*2\r\n$4\r\nINCR\r\n$4\r\nk%03d\r\n", i);
		out(f, req, (uint64_t)i);
	}
	for (int i = 0; i < n; i++)
		in(f, ":1\r\n", 1000);
	cr_assert_eq(f->col.n, (size_t)n);
	for (int i = 0; i < n; i++) {
		cr_assert(strncmp(f->col.ev[i].text, "INCR", 4) == 0);
		cr_assert_eq(f->col.ev[i].op.start_ns, (uint64_t)i);
	}
	fx_free(f);
}

/* ---- transactions, db, protocol switches -------------------------------- */

static const struct chunk tx_script[] = {
    {PT_DIR_OUT, "*1\r\n$5\r\nMULTI\r\n", 0, 10},
    {PT_DIR_OUT, "*3\r\n$3\r\nSET\r\n$5\r\nfir:1\r\n$1\r\nv\r\n", 0, 11},
    {PT_DIR_OUT, "*2\r\n$4\r\nINCR\r\n$3\r\nctr\r\n", 0, 12},
    {PT_DIR_OUT, "*1\r\n$4\r\nEXEC\r\n", 0, 13},
    {PT_DIR_IN, "+OK\r\n+QUEUED\r\n", 0, 20},
    {PT_DIR_IN, "+QUEUED\r\n*2\r\n+OK\r\n:1\r\n", 0, 30},
    {PT_DIR_OUT, "*2\r\n$3\r\nGET\r\n$5\r\nfir:1\r\n", 0, 40},
    {PT_DIR_IN, "$1\r\nv\r\n", 0, 50},
};

Test(resp, multi_exec_is_one_transaction_event)
{
	struct fx *f = run_script(tx_script, SCRIPT_LEN(tx_script), -1, 0);
	char text[TEXT_CAP];
	size_t bytes = 0;

	snprintf(text, sizeof(text), "EXEC (%s; %s)", want("SET", "fir:1"),
		 want("INCR", "ctr"));
	for (int i = 0; i < 4; i++)
		bytes += strlen(tx_script[i].data);
	cr_assert_eq(f->col.n, 2);
	cr_assert_str_eq(f->col.ev[0].text, text);
	cr_assert_eq(f->col.ev[0].op.flags & PT_EV_TRANSACTION,
		     PT_EV_TRANSACTION);
	cr_assert_eq(f->col.ev[0].op.rows, 2);
	cr_assert_eq(f->col.ev[0].op.start_ns, 10, "timed from MULTI");
	cr_assert_eq(f->col.ev[0].op.end_ns, 30);
	cr_assert_eq(f->col.ev[0].op.bytes_out, bytes);
	cr_assert_eq(f->col.ev[0].op.outcome, PT_OUT_OK);
	cr_assert_str_eq(f->col.ev[1].text, want("GET", "fir:1"));
	cr_assert_eq(f->col.ev[1].op.start_ns, 40);
	fx_free(f);
}

Test(resp, multi_exec_same_events_at_every_split)
{
	struct fx *f = check_all_splits(tx_script, SCRIPT_LEN(tx_script));

	cr_assert_eq(f->col.n, 2);
	fx_free(f);
}

Test(resp, execabort_and_discard)
{
	struct fx *f = fx_new();

	out(f, "*1\r\n$5\r\nMULTI\r\n*1\r\n$5\r\nNOPE!\r\n*1\r\n$4\r\nEXEC\r\n",
	    1);
	in(f,
	   "+OK\r\n-ERR unknown command 'NOPE!'\r\n-EXECABORT Transaction "
	   "discarded\r\n",
	   2);
	out(f,
	    "*1\r\n$5\r\nMULTI\r\n*2\r\n$4\r\nINCR\r\n$1\r\nc\r\n*1\r\n$"
	    "7\r\nDISCARD\r\n",
	    3);
	in(f, "+OK\r\n+QUEUED\r\n+OK\r\n", 4);
	out(f, "*1\r\n$4\r\nPING\r\n", 5);
	in(f, "+PONG\r\n", 6);
	cr_assert_eq(f->col.n, 3);
	cr_assert_eq(f->col.ev[0].op.outcome, PT_OUT_ERROR);
	cr_assert_eq(f->col.ev[0].op.status, PT_REDIS_ERR_EXECABORT);
	cr_assert_str_eq(f->col.ev[0].text, "EXEC (NOPE!)");
	cr_assert_str_eq(f->col.ev[1].text, "DISCARD");
	cr_assert_eq(f->col.ev[1].op.start_ns, 3);
	cr_assert_str_eq(f->col.ev[2].text, "PING");
	cr_assert_eq(f->col.ev[2].op.flags & PT_EV_TRANSACTION, 0);
	fx_free(f);
}

Test(resp, long_transaction_text_is_cut_and_flagged)
{
	struct fx *f = fx_new();

	out(f, "*1\r\n$5\r\nMULTI\r\n", 1);
	for (int i = 0; i < 100; i++)
		out(f, "*2\r\n$4\r\nINCR\r\n$10\r\ncounter:ab\r\n", 1);
	out(f, "*1\r\n$4\r\nEXEC\r\n", 1);
	in(f, "+OK\r\n", 2);
	for (int i = 0; i < 100; i++)
		in(f, "+QUEUED\r\n", 2);
	in(f, "*-1\r\n", 3);
	cr_assert_eq(f->col.n, 1);
	cr_assert_eq(f->col.ev[0].op.rows, 100);
	cr_assert(f->col.ev[0].op.flags & PT_EV_TRUNCATED);
	cr_assert(strlen(f->col.ev[0].text) < PROTO_REDIS_TEXT_CAP);
	cr_assert(strncmp(f->col.ev[0].text, "EXEC (INCR", 10) == 0);
	fx_free(f);
}

/* EXEC's cache outcome: each element of its array counted as its queued
 * command's own reply would be, summed; an error element makes the EXEC an
 * error with the first error's prefix, the other reads still count. */
static const struct chunk tx_cache_script[] = {
    {PT_DIR_OUT, "*1\r\n$5\r\nMULTI\r\n", 0, 10},
    {PT_DIR_OUT,
     "*3\r\n$3\r\nSET\r\n$5\r\nfir:1\r\n$1\r\nv\r\n"
     "*2\r\n$3\r\nGET\r\n$5\r\nfir:1\r\n"
     "*2\r\n$3\r\nGET\r\n$5\r\nfir:2\r\n",
     0, 11},
    {PT_DIR_OUT,
     "*4\r\n$4\r\nMGET\r\n$5\r\nfir:1\r\n$5\r\nfir:3\r\n$5\r\nfir:4\r\n"
     "*3\r\n$5\r\nLPUSH\r\n$5\r\nfir:1\r\n$1\r\nx\r\n"
     "*2\r\n$4\r\nINCR\r\n$5\r\nfir:1\r\n"
     "*1\r\n$4\r\nEXEC\r\n",
     0, 12},
    {PT_DIR_IN, "+OK\r\n+QUEUED\r\n+QUEUED\r\n+QUEUED\r\n", 0, 20},
    {PT_DIR_IN, "+QUEUED\r\n+QUEUED\r\n+QUEUED\r\n", 0, 21},
    {PT_DIR_IN,
     "*6\r\n+OK\r\n$1\r\nv\r\n$-1\r\n*3\r\n$1\r\nv\r\n$-1\r\n$2\r\nww\r\n"
     "-WRONGTYPE Operation against a key holding the wrong kind of "
     "value\r\n-ERR value is not an integer or out of range\r\n",
     0, 30},
    {PT_DIR_OUT, "*2\r\n$3\r\nGET\r\n$5\r\nfir:9\r\n", 0, 40},
    {PT_DIR_IN, "$-1\r\n", 0, 50},
};

Test(resp, exec_counts_queued_reads_and_is_an_error_if_one_failed)
{
	struct fx *f =
	    check_all_splits(tx_cache_script, SCRIPT_LEN(tx_cache_script));
	const struct pt_op *ex = &f->col.ev[0].op;

	cr_assert_eq(f->col.n, 2);
	cr_assert(strncmp(f->col.ev[0].text, "EXEC (SET", 9) == 0, "%s",
		  f->col.ev[0].text);
	cr_assert_eq(ex->rows, 6);
	/* GET hit, GET miss, MGET 2 hits 1 miss; SET, LPUSH, INCR nothing */
	cr_assert_eq(ex->cache_hits, 3);
	cr_assert_eq(ex->cache_misses, 2);
	cr_assert_eq(ex->outcome, PT_OUT_ERROR);
	cr_assert_eq(ex->status, PT_REDIS_ERR_WRONGTYPE, "the first error");
	cr_assert_eq(ex->flags, PT_EV_TRANSACTION);
	cr_assert_eq(ex->start_ns, 10);
	cr_assert_eq(ex->end_ns, 30);
	/* the next command is counted on its own again */
	cr_assert_str_eq(f->col.ev[1].text, want("GET", "fir:9"));
	cr_assert_eq(f->col.ev[1].op.cache_misses, 1);
	cr_assert_eq(f->col.ev[1].op.cache_hits, 0);
	fx_free(f);
}

/* RESP3 elements: nulls as '_', an attribute before an element, an empty
 * map (HGETALL miss), EXISTS' integer, a blob error; the EXEC is OK when
 * no element is an error. */
static const struct chunk tx_resp3_script[] = {
    {PT_DIR_OUT,
     "*1\r\n$5\r\nMULTI\r\n*2\r\n$3\r\nGET\r\n$1\r\na\r\n"
     "*2\r\n$3\r\nGET\r\n$1\r\nb\r\n*2\r\n$7\r\nHGETALL\r\n$1\r\nh\r\n"
     "*4\r\n$6\r\nEXISTS\r\n$1\r\na\r\n$1\r\nb\r\n$1\r\nc\r\n"
     "*3\r\n$5\r\nHMGET\r\n$1\r\nh\r\n$1\r\nf\r\n*1\r\n$4\r\nEXEC\r\n",
     0, 1},
    {PT_DIR_IN,
     "+OK\r\n+QUEUED\r\n+QUEUED\r\n+QUEUED\r\n+QUEUED\r\n+QUEUED\r\n"
     "*5\r\n_\r\n|1\r\n+ttl\r\n:5\r\n$1\r\nv\r\n%0\r\n:1\r\n*1\r\n_\r\n",
     0, 2},
    {PT_DIR_OUT,
     "*1\r\n$5\r\nMULTI\r\n*2\r\n$3\r\nGET\r\n$1\r\na\r\n"
     "*2\r\n$4\r\nEVAL\r\n$1\r\nx\r\n*2\r\n$3\r\nGET\r\n$1\r\nb\r\n"
     "*1\r\n$4\r\nEXEC\r\n",
     0, 3},
    {PT_DIR_IN,
     "+OK\r\n+QUEUED\r\n+QUEUED\r\n+QUEUED\r\n"
     "*3\r\n$1\r\nv\r\n!12\r\nNOSCRIPT bad\r\n_\r\n",
     0, 4},
};

Test(resp, exec_counts_resp3_elements_attributes_and_blob_errors)
{
	struct fx *f =
	    check_all_splits(tx_resp3_script, SCRIPT_LEN(tx_resp3_script));

	cr_assert_eq(f->col.n, 2);
	/* GET miss, GET hit (its attribute is not an element), HGETALL {}
	 * miss, EXISTS 1 of 3, HMGET [nil] */
	cr_assert_eq(f->col.ev[0].op.cache_hits, 2);
	cr_assert_eq(f->col.ev[0].op.cache_misses, 5);
	cr_assert_eq(f->col.ev[0].op.outcome, PT_OUT_OK);
	cr_assert_eq(f->col.ev[0].op.status, 0);
	cr_assert_eq(f->col.ev[0].op.rows, 5);
	cr_assert_eq(f->col.ev[1].op.cache_hits, 1);
	cr_assert_eq(f->col.ev[1].op.cache_misses, 1);
	cr_assert_eq(f->col.ev[1].op.outcome, PT_OUT_ERROR);
	cr_assert_eq(f->col.ev[1].op.status, PT_REDIS_ERR_NOSCRIPT);
	fx_free(f);
}

/* Transactions sent back to back share the kinds FIFO: an EXECABORT, a
 * DISCARD and a WATCH-aborted EXEC each give their kinds back, so every
 * later EXEC counts its own commands. */
static const struct chunk tx_pipeline_script[] = {
    {PT_DIR_OUT,
     "*1\r\n$5\r\nMULTI\r\n*2\r\n$3\r\nGET\r\n$1\r\na\r\n"
     "*1\r\n$4\r\nNOPE\r\n*1\r\n$4\r\nEXEC\r\n"
     "*1\r\n$5\r\nMULTI\r\n*2\r\n$3\r\nGET\r\n$1\r\nb\r\n"
     "*1\r\n$7\r\nDISCARD\r\n"
     "*1\r\n$5\r\nMULTI\r\n*2\r\n$3\r\nGET\r\n$1\r\nw\r\n"
     "*1\r\n$4\r\nEXEC\r\n"
     "*1\r\n$5\r\nMULTI\r\n*3\r\n$3\r\nSET\r\n$1\r\nc\r\n$1\r\nv\r\n"
     "*2\r\n$3\r\nGET\r\n$1\r\nc\r\n*1\r\n$4\r\nEXEC\r\n"
     "*1\r\n$5\r\nMULTI\r\n*2\r\n$3\r\nGET\r\n$1\r\nd\r\n"
     "*3\r\n$4\r\nMGET\r\n$1\r\nd\r\n$1\r\ne\r\n*1\r\n$4\r\nEXEC\r\n",
     0, 1},
    {PT_DIR_IN,
     "+OK\r\n+QUEUED\r\n-ERR unknown command 'NOPE'\r\n"
     "-EXECABORT Transaction discarded\r\n"
     "+OK\r\n+QUEUED\r\n+OK\r\n"
     "+OK\r\n+QUEUED\r\n*-1\r\n",
     0, 2},
    {PT_DIR_IN,
     "+OK\r\n+QUEUED\r\n+QUEUED\r\n*2\r\n+OK\r\n$1\r\nv\r\n"
     "+OK\r\n+QUEUED\r\n+QUEUED\r\n*2\r\n$-1\r\n*2\r\n$-1\r\n$1\r\nx\r\n",
     0, 3},
};

Test(resp, pipelined_transactions_each_count_their_own_reads)
{
	struct fx *f = check_all_splits(tx_pipeline_script,
					SCRIPT_LEN(tx_pipeline_script));
	static const struct {
		const char *text;
		int outcome;
		uint32_t hits, misses;
	} w[] = {
	    {"EXEC (GET a; NOPE)", PT_OUT_ERROR, 0, 0},
	    {"DISCARD", PT_OUT_OK, 0, 0},
	    {"EXEC (GET w)", PT_OUT_OK, 0, 0},
	    {"EXEC (SET c; GET c)", PT_OUT_OK, 1, 0},
	    {"EXEC (GET d; MGET d)", PT_OUT_OK, 1, 2},
	};

	cr_assert_eq(f->col.n, 5);
	for (size_t i = 0; i < 5; i++) {
		const struct pt_op *op = &f->col.ev[i].op;

		cr_assert_str_eq(f->col.ev[i].text, w[i].text, "event %zu: %s",
				 i, f->col.ev[i].text);
		cr_assert_eq(op->outcome, w[i].outcome, "event %zu", i);
		cr_assert_eq(op->cache_hits, w[i].hits, "event %zu", i);
		cr_assert_eq(op->cache_misses, w[i].misses, "event %zu", i);
	}
	cr_assert_eq(f->col.ev[0].op.status, PT_REDIS_ERR_EXECABORT);
	fx_free(f);
}

/* n queued GETs, all hits. */
static struct fx *tx_of_gets(int n)
{
	struct fx *f = fx_new();

	out(f, "*1\r\n$5\r\nMULTI\r\n", 1);
	for (int i = 0; i < n; i++)
		out(f, "*2\r\n$3\r\nGET\r\n$1\r\nk\r\n", 1);
	out(f, "*1\r\n$4\r\nEXEC\r\n", 1);
	in(f, "+OK\r\n", 2);
	for (int i = 0; i < n; i++)
		in(f, "+QUEUED\r\n", 2);
	cr_assert_eq(f->col.n, 0);
	{
		char head[32];

		snprintf(head, sizeof(head), "*%d\r\n", n);
		in(f, head, 3);
	}
	for (int i = 0; i < n; i++)
		in(f, "$1\r\nv\r\n", 3);
	cr_assert_eq(f->col.n, 1);
	cr_assert_eq(f->col.ev[0].op.rows, (uint64_t)n);
	return f;
}

Test(resp, exec_counts_up_to_the_kinds_kept_then_flags)
{
	struct fx *f = tx_of_gets(PROTO_REDIS_TX_KINDS);

	cr_assert_eq(f->col.ev[0].op.cache_hits, PROTO_REDIS_TX_KINDS);
	cr_assert_eq(f->col.ev[0].op.flags & PT_EV_SATURATED, 0);
	fx_free(f);
	f = tx_of_gets(PROTO_REDIS_TX_KINDS + 6);
	cr_assert_eq(f->col.ev[0].op.cache_hits, PROTO_REDIS_TX_KINDS,
		     "the 6 past the FIFO are not counted");
	cr_assert_eq(f->col.ev[0].op.cache_misses, 0);
	cr_assert(f->col.ev[0].op.flags & PT_EV_SATURATED);
	/* the FIFO is whole again for the next transaction */
	out(f, "*1\r\n$5\r\nMULTI\r\n*2\r\n$3\r\nGET\r\n$1\r\nk\r\n", 4);
	out(f, "*1\r\n$4\r\nEXEC\r\n", 4);
	in(f, "+OK\r\n+QUEUED\r\n*1\r\n$-1\r\n", 5);
	cr_assert_eq(f->col.n, 2);
	cr_assert_eq(f->col.ev[1].op.cache_misses, 1);
	cr_assert_eq(f->col.ev[1].op.flags & PT_EV_SATURATED, 0);
	fx_free(f);
}

Test(resp, exec_array_not_matching_the_queue_counts_nothing)
{
	struct fx *f = fx_new();

	/* WATCH inside MULTI is refused at once, not queued: EXEC's array
	 * has two elements for the decoder's three queued commands, and
	 * pairing them in order would count INCR's 1 as GET's hit. */
	out(f,
	    "*1\r\n$5\r\nMULTI\r\n*2\r\n$5\r\nWATCH\r\n$1\r\nk\r\n"
	    "*2\r\n$3\r\nGET\r\n$1\r\nk\r\n*2\r\n$4\r\nINCR\r\n$1\r\nc\r\n"
	    "*1\r\n$4\r\nEXEC\r\n",
	    1);
	in(f,
	   "+OK\r\n-ERR WATCH inside MULTI is not allowed\r\n+QUEUED\r\n"
	   "+QUEUED\r\n*2\r\n$-1\r\n:1\r\n",
	   2);
	cr_assert_eq(f->col.n, 1);
	cr_assert_eq(f->col.ev[0].op.rows, 3);
	cr_assert_eq(f->col.ev[0].op.cache_hits, 0);
	cr_assert_eq(f->col.ev[0].op.cache_misses, 0);
	cr_assert_eq(f->col.ev[0].op.outcome, PT_OUT_OK);
	fx_free(f);
}

Test(resp, exec_past_the_ring_gives_its_kinds_back)
{
	struct fx *f = fx_new();

	for (int i = 0; i < PROTO_REDIS_RING; i++)
		out(f, "*1\r\n$4\r\nPING\r\n", 1);
	/* untracked: a SET whose kind must not linger in the FIFO */
	out(f,
	    "*1\r\n$5\r\nMULTI\r\n*3\r\n$3\r\nSET\r\n$1\r\na\r\n$1\r\nv\r\n"
	    "*1\r\n$4\r\nEXEC\r\n",
	    2);
	for (int i = 0; i < PROTO_REDIS_RING; i++)
		in(f, "+PONG\r\n", 3);
	in(f, "+OK\r\n+QUEUED\r\n*1\r\n+OK\r\n", 4);
	cr_assert_eq(f->col.n, PROTO_REDIS_RING);
	out(f,
	    "*1\r\n$5\r\nMULTI\r\n*2\r\n$3\r\nGET\r\n$1\r\nb\r\n"
	    "*1\r\n$4\r\nEXEC\r\n",
	    5);
	in(f, "+OK\r\n+QUEUED\r\n*1\r\n$-1\r\n", 6);
	cr_assert_eq(f->col.n, PROTO_REDIS_RING + 1);
	cr_assert_eq(f->col.ev[PROTO_REDIS_RING].op.cache_misses, 1);
	cr_assert_eq(f->col.ev[PROTO_REDIS_RING].op.cache_hits, 0);
	fx_free(f);
}

Test(resp, select_keeps_the_db_number)
{
	struct fx *f = fx_new();

	cr_assert_eq(proto_redis_db(&f->r), 0);
	out(f, "*2\r\n$6\r\nSELECT\r\n$1\r\n3\r\n", 1);
	in(f, "+OK\r\n", 2);
	cr_assert_eq(proto_redis_db(&f->r), 3);
	out(f, "SELECT 99\r\n", 3);
	in(f, "-ERR DB index is out of range\r\n", 4);
	cr_assert_eq(proto_redis_db(&f->r), 3, "a failed SELECT keeps the db");
	cr_assert_eq(f->col.n, 2);
	cr_assert_str_eq(f->col.ev[0].text, "SELECT");
	cr_assert_eq(f->col.ev[0].op.rows, 0);
	fx_free(f);
}

Test(resp, blocking_commands_are_flagged)
{
	struct fx *f = fx_new();

	out(f, "*3\r\n$5\r\nBLPOP\r\n$1\r\nq\r\n$1\r\n0\r\n", 1);
	out(f,
	    "*6\r\n$5\r\nXREAD\r\n$5\r\nBLOCK\r\n$1\r\n0\r\n$7\r\nSTREAMS\r\n$"
	    "2\r\ns1\r\n$1\r\n$\r\n",
	    2);
	out(f, "*3\r\n$4\r\nWAIT\r\n$1\r\n1\r\n$1\r\n0\r\n", 3);
	out(f, "*2\r\n$3\r\nGET\r\n$1\r\nq\r\n", 4);
	in(f, "*2\r\n$1\r\nq\r\n$1\r\nx\r\n*-1\r\n:0\r\n$-1\r\n", 5);
	cr_assert_eq(f->col.n, 4);
	for (int i = 0; i < 3; i++)
		cr_assert(f->col.ev[i].op.flags & PT_EV_BLOCKING, "event %d",
			  i);
	cr_assert_eq(f->col.ev[3].op.flags & PT_EV_BLOCKING, 0);
	cr_assert_str_eq(f->col.ev[1].text, want("XREAD", "s1"));
	cr_assert_eq(f->col.ev[0].op.flags & PT_EV_PIPELINED, 0);
	cr_assert(f->col.ev[3].op.flags & PT_EV_PIPELINED);
	fx_free(f);
}

Test(resp, auth_arguments_never_appear_in_any_text)
{
	struct fx *f = fx_new();

	out(f, "*2\r\n$4\r\nAUTH\r\n$9\r\nsecret-pw\r\n", 1);
	out(f, "*3\r\n$4\r\nAUTH\r\n$7\r\nsecretu\r\n$9\r\nsecret-pw\r\n", 1);
	out(f, "AUTH secret-pw\r\n", 1);
	out(f,
	    "*5\r\n$5\r\nHELLO\r\n$1\r\n2\r\n$4\r\nAUTH\r\n$7\r\nsecretu\r\n$"
	    "9\r\nsecret-pw\r\n",
	    1);
	out(f,
	    "*4\r\n$6\r\nCONFIG\r\n$3\r\nSET\r\n$11\r\nrequirepass\r\n$"
	    "9\r\nsecret-pw\r\n",
	    1);
	in(f,
	   "+OK\r\n-WRONGPASS x\r\n+OK\r\n%1\r\n+server\r\n+redis\r\n+OK\r\n",
	   2);
	cr_assert_eq(f->col.n, 5);
	for (size_t i = 0; i < f->col.n; i++)
		cr_assert_null(strstr(f->col.ev[i].text, "secret"), "%s",
			       f->col.ev[i].text);
	cr_assert_str_eq(f->col.ev[0].text, "AUTH");
	cr_assert_str_eq(f->col.ev[3].text, "HELLO");
	cr_assert_str_eq(f->col.ev[4].text, "CONFIG SET");
	cr_assert_eq(f->col.ev[1].op.status, PT_REDIS_ERR_WRONGPASS);
	fx_free(f);
}

/* ---- pub/sub and pushes ------------------------------------------------- */

static const struct chunk sub2_script[] = {
    {PT_DIR_OUT, "*3\r\n$9\r\nSUBSCRIBE\r\n$2\r\nc1\r\n$2\r\nc2\r\n", 0, 10},
    {PT_DIR_IN, "*3\r\n$9\r\nsubscribe\r\n$2\r\nc1\r\n:1\r\n", 0, 20},
    {PT_DIR_IN,
     "*3\r\n$7\r\nmessage\r\n$2\r\nc1\r\n$2\r\nhi\r\n"
     "*3\r\n$9\r\nsubscribe\r\n$2\r\nc2\r\n:2\r\n",
     0, 30},
    {PT_DIR_OUT, "*2\r\n$10\r\nPSUBSCRIBE\r\n$2\r\np*\r\n", 0, 40},
    {PT_DIR_IN,
     "*3\r\n$7\r\nmessage\r\n$2\r\nc2\r\n$2\r\nyo\r\n"
     "*3\r\n$10\r\npsubscribe\r\n$2\r\np*\r\n:3\r\n"
     "*4\r\n$8\r\npmessage\r\n$2\r\np*\r\n$2\r\npq\r\n$1\r\nz\r\n",
     0, 50},
    {PT_DIR_OUT, "*1\r\n$4\r\nPING\r\n", 0, 60},
    {PT_DIR_IN, "*3\r\n$7\r\nmessage\r\n$2\r\nc1\r\n$1\r\na\r\n", 0, 65},
    {PT_DIR_IN, "*2\r\n$4\r\npong\r\n$0\r\n\r\n", 0, 70},
    {PT_DIR_OUT, "*1\r\n$11\r\nUNSUBSCRIBE\r\n", 0, 80},
    {PT_DIR_IN,
     "*3\r\n$11\r\nunsubscribe\r\n$2\r\nc1\r\n:2\r\n"
     "*4\r\n$8\r\npmessage\r\n$2\r\np*\r\n$2\r\npq\r\n$1\r\nz\r\n"
     "*3\r\n$11\r\nunsubscribe\r\n$2\r\nc2\r\n:1\r\n",
     0, 90},
    {PT_DIR_OUT, "*1\r\n$12\r\nPUNSUBSCRIBE\r\n", 0, 100},
    {PT_DIR_IN, "*3\r\n$12\r\npunsubscribe\r\n$2\r\np*\r\n:0\r\n", 0, 110},
    {PT_DIR_OUT, "*2\r\n$6\r\nLRANGE\r\n$1\r\nl\r\n", 0, 120},
    {PT_DIR_IN, "*3\r\n$7\r\nmessage\r\n$1\r\na\r\n$1\r\nb\r\n", 0, 130},
};

Test(resp, subscribe_mode_resp2_messages_are_not_paired)
{
	struct fx *f = run_script(sub2_script, SCRIPT_LEN(sub2_script), -1, 0);

	cr_assert_eq(f->last, PT_FEED_OK);
	cr_assert_eq(f->col.n, 6);
	cr_assert_str_eq(f->col.ev[0].text, "SUBSCRIBE");
	cr_assert_eq(f->col.ev[0].op.start_ns, 10);
	cr_assert_eq(f->col.ev[0].op.end_ns, 30, "ends at last confirmation");
	cr_assert_eq(f->col.ev[0].op.rows, 2);
	cr_assert_str_eq(f->col.ev[1].text, "PSUBSCRIBE");
	cr_assert_eq(f->col.ev[1].op.end_ns, 50);
	cr_assert_str_eq(f->col.ev[2].text, "PING");
	cr_assert_eq(f->col.ev[2].op.end_ns, 70);
	cr_assert_str_eq(f->col.ev[3].text, "UNSUBSCRIBE");
	cr_assert_eq(f->col.ev[3].op.end_ns, 90);
	cr_assert_eq(f->col.ev[3].op.rows, 2);
	cr_assert_str_eq(f->col.ev[4].text, "PUNSUBSCRIBE");
	/* after the last unsubscribe an array saying "message" is data */
	cr_assert_str_eq(f->col.ev[5].text, want("LRANGE", "l"));
	cr_assert_eq(f->col.ev[5].op.end_ns, 130);
	cr_assert_eq(proto_redis_pushes(&f->r), 5);
	fx_free(f);
}

Test(resp, subscribe_mode_same_events_at_every_split)
{
	struct fx *f = check_all_splits(sub2_script, SCRIPT_LEN(sub2_script));

	cr_assert_eq(f->col.n, 6);
	fx_free(f);
}

static const struct chunk resp3_script[] = {
    {PT_DIR_OUT, "*2\r\n$5\r\nHELLO\r\n$1\r\n3\r\n", 0, 1},
    {PT_DIR_IN, "%2\r\n$6\r\nserver\r\n$5\r\nredis\r\n$5\r\nproto\r\n:3\r\n", 0,
     2},
    {PT_DIR_OUT, "*2\r\n$9\r\nSUBSCRIBE\r\n$2\r\nc1\r\n", 0, 3},
    {PT_DIR_OUT, "*2\r\n$3\r\nGET\r\n$1\r\nk\r\n", 0, 4},
    {PT_DIR_IN, ">3\r\n$9\r\nsubscribe\r\n$2\r\nc1\r\n:1\r\n", 0, 5},
    {PT_DIR_IN, ">3\r\n$7\r\nmessage\r\n$2\r\nc1\r\n$1\r\nx\r\n", 0, 6},
    {PT_DIR_IN, "$1\r\nv\r\n", 0, 7},
    {PT_DIR_OUT, "*2\r\n$3\r\nGET\r\n$1\r\nm\r\n", 0, 8},
    {PT_DIR_IN,
     ">2\r\n$10\r\ninvalidate\r\n*1\r\n$1\r\nk\r\n_\r\n"
     ">3\r\n$7\r\nmessage\r\n$2\r\nc1\r\n$1\r\ny\r\n",
     0, 9},
    {PT_DIR_OUT, "*2\r\n$6\r\nLRANGE\r\n$1\r\nl\r\n", 0, 10},
    {PT_DIR_IN, "*3\r\n$7\r\nmessage\r\n$1\r\na\r\n$1\r\nb\r\n", 0, 11},
};

Test(resp, resp3_pushes_between_replies_are_never_paired)
{
	struct fx *f =
	    run_script(resp3_script, SCRIPT_LEN(resp3_script), -1, 0);

	cr_assert_eq(f->last, PT_FEED_OK);
	cr_assert_eq(f->col.n, 5);
	cr_assert_str_eq(f->col.ev[0].text, "HELLO");
	cr_assert_str_eq(f->col.ev[1].text, "SUBSCRIBE");
	cr_assert_eq(f->col.ev[1].op.end_ns, 5);
	cr_assert_str_eq(f->col.ev[2].text, want("GET", "k"));
	cr_assert_eq(f->col.ev[2].op.end_ns, 7);
	cr_assert_eq(f->col.ev[2].op.cache_hits, 1);
	cr_assert_str_eq(f->col.ev[3].text, want("GET", "m"));
	cr_assert_eq(f->col.ev[3].op.end_ns, 9);
	cr_assert_eq(f->col.ev[3].op.cache_misses, 1);
	/* RESP3 while subscribed: arrays are replies, not messages */
	cr_assert_str_eq(f->col.ev[4].text, want("LRANGE", "l"));
	cr_assert_eq(proto_redis_pushes(&f->r), 3);
	fx_free(f);
}

Test(resp, resp3_same_events_at_every_split)
{
	struct fx *f = check_all_splits(resp3_script, SCRIPT_LEN(resp3_script));

	cr_assert_eq(f->col.n, 5);
	fx_free(f);
}

/* ---- desync, close, sniff ----------------------------------------------- */

Test(resp, garbage_replies_desync_and_stop)
{
	static const char *const bad[] = {
	    "?oops\r\n", "$abc\r\n",	   "$99999999999999999999\r\n",
	    "$-2\r\n",	 "$3\r\nabcd\r\n", "*-2\r\n",
	    ":12x\r\n",	 ":\r\n",	   "#x\r\n",
	    "_x\r\n",	 "+OK\n",	   "+OK\rX",
	    "%-1\r\n",	 "$?\r\n",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct fx *f = fx_new();

		out(f, "*2\r\n$3\r\nGET\r\n$1\r\nk\r\n", 1);
		cr_assert_eq(in(f, bad[i], 2), PT_FEED_STOPPED, "case %zu", i);
		cr_assert_eq(f->col.notes[PT_NOTE_DESYNC], 1, "case %zu", i);
		cr_assert_eq(f->col.n, 0, "case %zu", i);
		cr_assert_eq(in(f, "+OK\r\n", 3), PT_FEED_STOPPED);
		cr_assert_eq(f->col.notes[PT_NOTE_DESYNC], 1, "said once");
		fx_free(f);
	}
}

Test(resp, garbage_requests_desync_and_stop)
{
	static const char *const bad[] = {
	    "*2\r\n+GET\r\n",
	    "*x\r\n",
	    "*2\r\n$-1\r\n",
	    "*1\r\n$3\r\nGETX\r\n",
	    "*99999999999999999999\r\n",
	    "*1\n",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct fx *f = fx_new();

		cr_assert_eq(out(f, bad[i], 1), PT_FEED_STOPPED, "case %zu", i);
		cr_assert_eq(f->col.notes[PT_NOTE_DESYNC], 1, "case %zu", i);
		fx_free(f);
	}
}

Test(resp, reply_without_request_desyncs)
{
	struct fx *f = fx_new();

	cr_assert_eq(in(f, "+OK\r\n", 1), PT_FEED_STOPPED);
	cr_assert_eq(f->col.notes[PT_NOTE_DESYNC], 1);
	cr_assert_eq(f->col.n, 0);
	fx_free(f);
}

Test(resp, close_with_outstanding_requests_aborts_them)
{
	struct fx *f = fx_new();

	out(f, "*2\r\n$3\r\nGET\r\n$1\r\na\r\n*2\r\n$3\r\nGET\r\n$1\r\nb\r\n",
	    5);
	out(f, "*1\r\n$5\r\nMULTI\r\n*2\r\n$4\r\nINCR\r\n$1\r\nc\r\n", 6);
	in(f, "$3\r\nab", 7);
	proto_redis_close(&f->r, 9);
	cr_assert_eq(f->col.n, 2, "MULTI and queued commands give no event");
	cr_assert_str_eq(f->col.ev[0].text, want("GET", "a"));
	cr_assert_str_eq(f->col.ev[1].text, want("GET", "b"));
	for (int i = 0; i < 2; i++) {
		cr_assert_eq(f->col.ev[i].op.outcome, PT_OUT_ABORTED);
		cr_assert_eq(f->col.ev[i].op.start_ns, 5);
		cr_assert_eq(f->col.ev[i].op.end_ns, 9);
	}
	cr_assert_eq(f->col.ev[0].op.bytes_in, 6, "partial reply counted");
	cr_assert_eq(f->col.ev[1].op.bytes_in, 0);
	fx_free(f);
}

Test(resp, sniff_accepts_resp_requests_only)
{
	static const struct {
		const char *s;
		int want;
	} cases[] = {
	    {"*2\r\n$3\r\nGET\r\n", 1},
	    {"*1", 1},
	    {"*12\r\n", 1},
	    {"PING\r\n", 1},
	    {"hello 3\r\n", 1},
	    {"AUTH x\r\n", 1},
	    {"GET k\r\n", 1},
	    {"", 0},
	    {"*", 0},
	    {"*0\r\n", 0},
	    {"*2\r\n:", 0},
	    {"*2x", 0},
	    {"GET /index.html HTTP/1.1\r\n", 0}, /* HTTP, not inline GET */
	    {"POST / HTTP/1.1\r\n", 0},
	    {"\x0a\x35\x2e", 0},
	    {"PING", 0},
	    {"WHATEVER x\r\n", 0},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		cr_assert_eq(proto_redis_sniff((const uint8_t *)cases[i].s,
					       strlen(cases[i].s)),
			     cases[i].want, "case %zu: %s", i, cases[i].s);
}

/* The ring and text bodies are left as found by init: garbage there must
 * not matter. */
Test(resp, init_over_garbage_behaves_like_init_over_zeros)
{
	struct fx *f = fx_new();

	memset(&f->r, 0xa5, sizeof(f->r));
	proto_redis_init(&f->r, NULL, &f->sink);
	out(f, "*2\r\n$3\r\nGET\r\n$1\r\na\r\n", 1);
	in(f, "$1\r\nx\r\n", 2);
	cr_assert_eq(f->col.n, 1);
	cr_assert_str_eq(f->col.ev[0].text, want("GET", "a"));
	cr_assert_eq(f->col.ev[0].op.cache_hits, 1);
	cr_assert_eq(proto_redis_db(&f->r), 0);
	fx_free(f);
}

Test(resp, raw_mode_keeps_the_key_cut_at_raw_max)
{
	struct pt_proto_options opt = {.raw = 1, .raw_max = 8};
	struct fx *f = fx_new();

	proto_redis_init(&f->r, &opt, &f->sink);
	out(f, "*2\r\n$3\r\nGET\r\n$13\r\nfir:record:42\r\n", 1);
	in(f, "$-1\r\n", 2);
	cr_assert_eq(f->col.n, 1);
	cr_assert_str_eq(f->col.ev[0].text, "GET fir:reco");
	cr_assert(f->col.ev[0].op.flags & PT_EV_RAW);
	cr_assert(f->col.ev[0].op.flags & PT_EV_TRUNCATED);
	fx_free(f);
}

/* Found by tests/fuzz/fuzz_proto_redis.c: keys and command words are
 * binary-safe, and a NUL of theirs reached the event text (which the
 * report reads as a C string), raw mode or not. */
Test(resp, nul_bytes_of_command_and_key_never_reach_the_text)
{
	static const char get[] = "*2\r\n$4\r\nG\0ET\r\n$3\r\nk\0y\r\n";
	struct pt_proto_options raw = {.raw = 1, .raw_max = 64};
	for (int mode = 0; mode < 2; mode++) {
		struct fx *f = fx_new();
		if (mode)
			proto_redis_init(&f->r, &raw, &f->sink);
		feed(f, PT_DIR_OUT, get, sizeof(get) - 1, 1);
		in(f, "$-1\r\n", 2);
		cr_assert_eq(f->col.n, 1, "mode %d", mode);
		cr_expect_gt(f->col.ev[0].op.text_len, 0);
		cr_expect_null(
		    memchr(f->col.ev[0].text, '\0', f->col.ev[0].op.text_len),
		    "mode %d: NUL in the text", mode);
		fx_free(f);
	}
}

/* Found by tests/fuzz/fuzz_proto_redis.c: after a desync, close turned
 * the requests still queued into aborted events timed at the close
 * (perhaps hours later); the MySQL and HTTP decoders report nothing
 * after a stop, and neither does this one now. */
Test(resp, close_after_a_desync_reports_nothing)
{
	struct fx *f = fx_new();

	out(f, "*2\r\n$3\r\nGET\r\n$1\r\nk\r\n", 1);
	out(f, "*2\r\n$3\r\nGET\r\n$1\r\nj\r\n", 2);
	cr_assert_eq(in(f, "?oops\r\n", 3), PT_FEED_STOPPED);
	proto_redis_close(&f->r, 1000000);
	cr_expect_eq(f->col.n, 0);
	fx_free(f);
}

/* Without a desync, close still reports what is outstanding. */
Test(resp, close_reports_outstanding_requests_as_aborted)
{
	struct fx *f = fx_new();

	out(f, "*2\r\n$3\r\nGET\r\n$1\r\nk\r\n", 1);
	proto_redis_close(&f->r, 50);
	cr_assert_eq(f->col.n, 1);
	cr_expect_eq(f->col.ev[0].op.outcome, PT_OUT_ABORTED);
	cr_expect_eq(f->col.ev[0].op.end_ns, 50);
	fx_free(f);
}

/* ---- recorded streams (tests/data/redis/record.py) --------------------- */

struct fixture {
	struct chunk *c;
	size_t n;
	char *data;
	unsigned long events, pushes;
};

/* Fixtures live beside this file's directory: tests/data/redis/. */
static struct fixture load_fixture(const char *name)
{
	struct fixture fx = {0};
	char path[1024];
	const char *src = getenv("PERFTAP_SRCDIR");
	FILE *fp;
	long size;
	size_t off;
	int k;

	if (src)
		snprintf(path, sizeof(path), "%s/tests/data/redis/%s.resp", src,
			 name);
	else
		snprintf(path, sizeof(path), "%.*s/../data/redis/%s.resp",
			 (int)(strrchr(__FILE__, '/') - __FILE__), __FILE__,
			 name);
	fp = fopen(path, "rb");
	cr_assert(fp, "cannot open %s (set PERFTAP_SRCDIR)", path);
	fseek(fp, 0, SEEK_END);
	size = ftell(fp);
	fseek(fp, 0, SEEK_SET);
	fx.data = malloc((size_t)size + 1);
	cr_assert(fx.data);
	cr_assert_eq(fread(fx.data, 1, (size_t)size, fp), (size_t)size);
	fclose(fp);
	fx.data[size] = '\0';
	cr_assert_eq(sscanf(fx.data,
			    "perftap-resp-fixture v1 events=%lu pushes=%lu\n%n",
			    &fx.events, &fx.pushes, &k),
		     2);
	off = (size_t)k;
	fx.c = calloc((size_t)size, sizeof(*fx.c)); /* records < bytes */
	cr_assert(fx.c);
	while (off < (size_t)size) {
		char tag;
		size_t len;

		char *nl = memchr(fx.data + off, '\n', (size_t)size - off);

		/* scanf's "\n" would eat leading blanks of the data too */
		cr_assert(nl);
		cr_assert_eq(sscanf(fx.data + off, "%c %zu", &tag, &len), 2);
		off = (size_t)(nl - fx.data) + 1;
		cr_assert(off + len + 1 <= (size_t)size);
		fx.c[fx.n] = (struct chunk){tag == '>' ? PT_DIR_OUT : PT_DIR_IN,
					    fx.data + off, len,
					    1000 * (uint64_t)(fx.n + 1)};
		fx.n++;
		off += len + 1;
	}
	return fx;
}

static void replay_fixture(const char *name, const char *secret)
{
	struct fixture fx = load_fixture(name);
	struct fx *whole = run_script(fx.c, fx.n, -1, 0);
	struct fx *bytes = run_script(fx.c, fx.n, 0, 0);

	cr_assert_eq(whole->last, PT_FEED_OK, "%s: desync", name);
	cr_assert_eq(whole->col.notes[PT_NOTE_DESYNC], 0);
	cr_assert_eq(whole->col.notes[PT_NOTE_QUEUE_FULL], 0);
	cr_assert_eq(whole->col.n, fx.events, "%s: %zu events, want %lu", name,
		     whole->col.n, fx.events);
	cr_assert_eq(proto_redis_pushes(&whole->r), fx.pushes, "%s: pushes",
		     name);
	for (size_t i = 0; i < whole->col.n; i++) {
		cr_assert(whole->col.ev[i].op.start_ns <
			      whole->col.ev[i].op.end_ns,
			  "%s: event %zu", name, i);
		cr_assert(whole->col.ev[i].text[0] != '\0');
		if (secret)
			cr_assert_null(strstr(whole->col.ev[i].text, secret),
				       "%s: %s", name, whole->col.ev[i].text);
	}
	assert_same_events(whole, bytes, name);
	cr_assert_eq(fx.c[0].dir, PT_DIR_OUT);
	cr_assert_eq(
	    proto_redis_sniff((const uint8_t *)fx.c[0].data, fx.c[0].len), 1,
	    "%s: first client bytes sniff as RESP", name);
	proto_redis_close(&whole->r, 1);
	cr_assert_eq(whole->col.n, fx.events, "nothing left outstanding");
	fx_free(whole);
	fx_free(bytes);
	free(fx.c);
	free(fx.data);
}

Test(recorded, redis_py_commands_give_one_event_each)
{
	replay_fixture("redispy_basic", "afirgen");
}

Test(recorded, redis_py_pipeline_of_500_gives_500_events)
{
	replay_fixture("redispy_pipeline", NULL);
}

Test(recorded, redis_py_transactions_give_one_event_each)
{
	replay_fixture("redispy_transaction", NULL);
}

Test(recorded, redis_py_pubsub_counts_messages_not_events)
{
	replay_fixture("redispy_pubsub", "hello");
}

Test(recorded, inline_commands_on_a_real_server)
{
	replay_fixture("raw_inline", "hello");
}

Test(recorded, resp3_pubsub_with_pushes_between_replies)
{
	replay_fixture("raw_resp3_pubsub", "m1");
}

Test(recorded, redis_cli_resp3_with_command_docs)
{
	replay_fixture("rediscli_resp3", NULL);
}

/* Every recorded stream with one byte changed: the decoder either goes on
 * or stops with a note, never crashes (ASan/UBSan build), and never reports
 * more events than there are reply lines. */
static size_t in_lines(const struct fixture *fx)
{
	size_t n = 0;

	for (size_t i = 0; i < fx->n; i++)
		if (fx->c[i].dir == PT_DIR_IN)
			for (size_t k = 0; k < fx->c[i].len; k++)
				n += fx->c[i].data[k] == '\n';
	return n;
}

Test(recorded, corrupted_streams_stop_cleanly)
{
	static const char *const names[] = {
	    "redispy_basic", "redispy_transaction", "redispy_pubsub",
	    "raw_inline",    "raw_resp3_pubsub",
	};
	uint32_t seed = 12345;

	for (size_t f = 0; f < sizeof(names) / sizeof(names[0]); f++) {
		struct fixture fx = load_fixture(names[f]);

		for (int round = 0; round < 200; round++) {
			size_t i, k;
			char saved;
			struct fx *run;

			seed = seed * 1103515245u + 12345u;
			i = (seed >> 8) % fx.n;
			k = (seed >> 4) % fx.c[i].len;
			saved = fx.c[i].data[k];
			fx.data[fx.c[i].data + k - fx.data] =
			    (char)(seed >> 24);
			run = run_script(fx.c, fx.n, -1, 0);
			if (run->last == PT_FEED_STOPPED)
				cr_assert_eq(run->col.notes[PT_NOTE_DESYNC], 1);
			/* each event needs a reply line of its own */
			cr_assert(run->col.n <= in_lines(&fx), "%s round %d",
				  names[f], round);
			fx.data[fx.c[i].data + k - fx.data] = saved;
			fx_free(run);
		}
		free(fx.c);
		free(fx.data);
	}
}

Test(resp, random_bytes_never_crash_and_stop_with_a_note)
{
	uint32_t seed = 7;

	for (int round = 0; round < 500; round++) {
		struct fx *f = fx_new();
		uint8_t buf[256];
		/* RESP-ish alphabet so the parser gets past the first byte */
		static const char alpha[] = "*$+-:%~|>_#,(=!\r\n0123456789-?aZ";

		for (int side = 0; side < 4; side++) {
			for (size_t i = 0; i < sizeof(buf); i++) {
				seed = seed * 1103515245u + 12345u;
				buf[i] = (uint8_t)
				    alpha[(seed >> 16) % (sizeof(alpha) - 1)];
			}
			feed(f, side % 2 ? PT_DIR_IN : PT_DIR_OUT,
			     (const char *)buf, sizeof(buf), (uint64_t)side);
		}
		if (f->last == PT_FEED_STOPPED)
			cr_assert_eq(f->col.notes[PT_NOTE_DESYNC], 1);
		proto_redis_close(&f->r, 9);
		fx_free(f);
	}
}

/* ---- deep pipelines: the FIFO moves into spill memory ---- */

static size_t spill_live, spill_gets;

static void *spill_get(size_t n)
{
	spill_gets++;
	spill_live += n;
	return malloc(n);
}

static void spill_put(void *p, size_t n)
{
	spill_live -= n;
	free(p);
}

static const struct pt_spill test_spill = {spill_get, spill_put};

/* Feed s in pieces of `step` bytes (the last one shorter). */
static void feed_split(struct fx *f, enum pt_dir d, const char *s, size_t n,
		       size_t step, uint64_t now)
{
	for (size_t at = 0; at < n; at += step)
		feed(f, d, s + at, n - at < step ? n - at : step, now);
}

static void deep_pipeline(int depth, size_t out_step, size_t in_step)
{
	static const char get[] = "*2\r\n$3\r\nGET\r\n$1\r\nk\r\n";
	static const char nil[] = "$-1\r\n", hit[] = "$1\r\nv\r\n";
	const size_t gl = sizeof(get) - 1;
	struct pt_proto_options opt = {.spill = &test_spill};
	struct fx *f = fx_new();
	char *req = malloc(gl * (size_t)depth),
	     *rep = malloc(8 * (size_t)depth);
	size_t rn = 0;

	proto_redis_init(&f->r, &opt, &f->sink);
	spill_live = spill_gets = 0;
	for (int i = 0; i < depth; i++) {
		memcpy(req + gl * (size_t)i, get, gl);
		const char *r = i % 3 ? nil : hit;
		memcpy(rep + rn, r, strlen(r));
		rn += strlen(r);
	}
	feed_split(f, PT_DIR_OUT, req, gl * (size_t)depth, out_step, 1);
	cr_assert_eq(f->col.notes[PT_NOTE_QUEUE_FULL], 0);
	cr_assert_gt(spill_gets, 0);
	feed_split(f, PT_DIR_IN, rep, rn, in_step, 2);
	cr_assert_eq(f->last, PT_FEED_OK);
	cr_assert_eq(f->col.n, (size_t)depth);
	for (int i = 0; i < depth; i += 997) {
		cr_assert_str_eq(f->col.ev[i].text, want("GET", "k"));
		cr_assert_eq(f->col.ev[i].op.cache_hits, i % 3 ? 0u : 1u);
	}
	/* Pairing continues past the drained deep queue. */
	out(f, "*2\r\n$3\r\nSET\r\n$1\r\nz\r\n", 3);
	in(f, "+OK\r\n", 4);
	cr_assert_eq(f->col.n, (size_t)depth + 1);
	cr_assert_str_eq(f->col.ev[depth].text, want("SET", "z"));
	proto_redis_close(&f->r, 5);
	cr_assert_eq(spill_live, 0, "close gives the spill back");
	free(req);
	free(rep);
	fx_free(f);
}

Test(resp, pipeline_of_100000_is_counted_whole)
{
	deep_pipeline(100000, 4096, 4096);
}

Test(resp, deep_pipeline_split_at_odd_offsets)
{
	deep_pipeline(5000, 7, 3);
	deep_pipeline(PROTO_REDIS_RING + 1, 1, 1);
}

Test(resp, deep_pipeline_aborted_at_close_releases_spill)
{
	struct pt_proto_options opt = {.spill = &test_spill};
	struct fx *f = fx_new();

	proto_redis_init(&f->r, &opt, &f->sink);
	spill_live = 0;
	for (int i = 0; i < 3 * PROTO_REDIS_RING; i++)
		out(f, "*1\r\n$4\r\nPING\r\n", 1);
	in(f, "+PONG\r\n", 2);
	proto_redis_close(&f->r, 9);
	cr_assert_eq(f->col.n, 3 * PROTO_REDIS_RING);
	cr_assert_eq(f->col.ev[1].op.outcome, PT_OUT_ABORTED);
	cr_assert_eq(spill_live, 0);
	fx_free(f);
}

Test(resp, monitor_stream_is_pushes_not_replies)
{
	struct fx *f = fx_new();

	out(f, "*1\r\n$7\r\nMONITOR\r\n", 1);
	in(f, "+OK\r\n", 2);
	cr_assert_eq(f->col.n, 1);
	cr_assert_str_eq(f->col.ev[0].text, "MONITOR");
	in(f, "+1700000000.123456 [0 127.0.0.1:5000] \"get\" \"k\"\r\n", 3);
	feed_split(f, PT_DIR_IN,
		   "+1700000001.5 [0 unix:/tmp/r.sock] \"set\" \"a\" \"b\"\r\n"
		   "+1700000002.5 [0 lua] \"ping\"\r\n",
		   80, 5, 4);
	cr_assert_eq(f->last, PT_FEED_OK);
	cr_assert_eq(f->col.n, 1);
	cr_assert_eq(proto_redis_pushes(&f->r), 3);
	out(f, "*1\r\n$5\r\nRESET\r\n", 5);
	in(f, "+1700000003.5 [0 127.0.0.1:5000] \"get\" \"k\"\r\n+RESET\r\n",
	   6);
	cr_assert_eq(f->col.n, 2);
	cr_assert_str_eq(f->col.ev[1].text, "RESET");
	cr_assert_eq(proto_redis_pushes(&f->r), 4);
	/* out of monitor mode: a stray line is a desync again */
	cr_assert_eq(in(f, "+1700000004.5 x\r\n", 7), PT_FEED_STOPPED);
	cr_assert_eq(f->col.notes[PT_NOTE_DESYNC], 1);
	fx_free(f);
}
