/*
 * test_proto_http.c -- the HTTP/1.x decoder on byte streams: framing,
 * pipelining, timing, text privacy, protocol switches, desync, every
 * split of every stream, and streams recorded from uvicorn (h11 and
 * httptools) talking to curl and httpx (tests/data/http/).
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "normalize.h"
#include "proto_http.h"

/* ---- harness ------------------------------------------------------------- */

#define MAX_EVENTS 256
#define MAX_NOTES  16
#define TEXT_CAP   (PT_TEXT_MAX + 1)

struct ev {
	struct pt_op op;
	char text[TEXT_CAP];
	int has_text;
};

struct col {
	struct ev ev[MAX_EVENTS];
	size_t n;
	enum pt_note notes[MAX_NOTES];
	uint64_t note_values[MAX_NOTES];
	size_t nnotes;
	size_t ops_after_stop; /* ops reported after a stopping note */
	int stop_noted;
};

static void col_op(void *arg, const struct pt_op *op)
{
	struct col *c = arg;
	struct ev *e;

	if (c->stop_noted)
		c->ops_after_stop++;
	cr_assert_lt(c->n, MAX_EVENTS, "too many events");
	e = &c->ev[c->n++];
	e->op = *op;
	e->has_text = op->text != NULL;
	cr_assert_leq(op->text_len, PT_TEXT_MAX);
	memcpy(e->text, op->text ? op->text : "", op->text_len);
	e->text[op->text_len] = '\0';
	e->op.text = NULL;
}

static void col_note(void *arg, enum pt_note note, const char *text,
		     size_t text_len, uint64_t value)
{
	struct col *c = arg;

	(void)text;
	(void)text_len;
	cr_assert_lt(c->nnotes, MAX_NOTES, "too many notes");
	c->notes[c->nnotes] = note;
	c->note_values[c->nnotes++] = value;
	if (note == PT_NOTE_DESYNC || note == PT_NOTE_UPGRADED)
		c->stop_noted = 1;
}

/* One feed: direction, bytes, time. */
struct seg {
	enum pt_dir dir;
	const char *s;
	size_t len; /* 0: strlen(s) */
	uint64_t t;
};

static size_t seg_len(const struct seg *s)
{
	return s->len ? s->len : strlen(s->s);
}

/* How a stream is fed: whole segments, each split at offset k, or one
 * byte at a time. */
enum feed_mode { WHOLE, SPLIT, BYTES };

struct run {
	struct proto_http h;
	struct col c;
	enum pt_feed_status last;
	int stopped_status; /* some feed returned PT_FEED_STOPPED */
};

static struct run *run_new(void)
{
	struct run *r = calloc(1, sizeof(*r));

	cr_assert_not_null(r);
	return r;
}

static void feed1(struct run *r, enum pt_dir dir, const char *p, size_t n,
		  uint64_t t)
{
	r->last = proto_http_feed(&r->h, dir, (const uint8_t *)p, n, t);
	if (r->last == PT_FEED_STOPPED)
		r->stopped_status = 1;
}

/* Forget what r collected (the event array is not cleared: it is big). */
static void run_reset(struct run *r)
{
	r->c.n = 0;
	r->c.nnotes = 0;
	r->c.ops_after_stop = 0;
	r->c.stop_noted = 0;
	r->last = PT_FEED_OK;
	r->stopped_status = 0;
}

/* Feed segs to r's decoder, fresh, of the given role, then close at
 * close_t (0: no close). */
static void run_into(struct run *r, enum pt_conn_role role,
		     const struct pt_proto_options *opt, const struct seg *segs,
		     size_t nsegs, enum feed_mode mode, size_t k,
		     uint64_t close_t)
{
	struct pt_sink sink = {col_op, col_note, &r->c};
	size_t i, j;

	run_reset(r);
	proto_http_init(&r->h, role, opt, &sink);
	for (i = 0; i < nsegs; i++) {
		const struct seg *s = &segs[i];
		size_t n = seg_len(s);

		if (mode == WHOLE || (mode == SPLIT && (k == 0 || k >= n))) {
			feed1(r, s->dir, s->s, n, s->t);
		} else if (mode == SPLIT) {
			feed1(r, s->dir, s->s, k, s->t);
			feed1(r, s->dir, s->s + k, n - k, s->t);
		} else {
			for (j = 0; j < n; j++)
				feed1(r, s->dir, s->s + j, 1, s->t);
		}
	}
	if (close_t)
		proto_http_close(&r->h, close_t);
}

/* The same on a new run; the caller frees it. */
static struct run *run_stream(enum pt_conn_role role,
			      const struct pt_proto_options *opt,
			      const struct seg *segs, size_t nsegs,
			      enum feed_mode mode, size_t k, uint64_t close_t)
{
	struct run *r = run_new();

	run_into(r, role, opt, segs, nsegs, mode, k, close_t);
	return r;
}

static struct run *server(const struct seg *segs, size_t nsegs)
{
	return run_stream(PT_ROLE_SERVER, NULL, segs, nsegs, WHOLE, 0, 0);
}

#define NSEGS(a) (sizeof(a) / sizeof((a)[0]))

/* "METHOD " + the normalizer's route for path (computed, never
 * hard-coded: the normalizer is another module's). */
static void expect_text(char *out, size_t cap, const char *method,
			const char *host, const char *path)
{
	char route[TEXT_CAP];

	int n;

	pt_http_route(path, strlen(path), NULL, route, sizeof(route));
	n = snprintf(out, cap, "%s %s%s", method, host ? host : "", route);
	cr_assert(n > 0 && (size_t)n < cap, "expected text too long");
}

static void check_ev(const struct col *c, size_t i, uint8_t kind, int status,
		     const char *method, const char *host, const char *path)
{
	char want[TEXT_CAP];

	cr_assert_lt(i, c->n, "event %zu missing (have %zu)", i, c->n);
	expect_text(want, sizeof(want), method, host, path);
	cr_expect_eq(c->ev[i].op.kind, kind, "event %zu kind", i);
	cr_expect_eq(c->ev[i].op.outcome, PT_OUT_HTTP, "event %zu outcome", i);
	cr_expect_eq(c->ev[i].op.status, status, "event %zu status %d", i,
		     c->ev[i].op.status);
	cr_expect_str_eq(c->ev[i].text, want, "event %zu text", i);
	cr_expect_eq(c->ev[i].op.rows, 0);
}

static void check_ev_in(const struct col *c, size_t i, int status,
			const char *method, const char *path)
{
	check_ev(c, i, PT_KIND_HTTP_IN, status, method, NULL, path);
}

static int ev_same(const struct ev *a, const struct ev *b)
{
	const struct pt_op *x = &a->op, *y = &b->op;

	return x->kind == y->kind && x->outcome == y->outcome &&
	       x->status == y->status && x->start_ns == y->start_ns &&
	       x->end_ns == y->end_ns && x->rows == y->rows &&
	       x->bytes_out == y->bytes_out && x->bytes_in == y->bytes_in &&
	       x->flags == y->flags && x->text_len == y->text_len &&
	       a->has_text == b->has_text && strcmp(a->text, b->text) == 0;
}

static void check_same_runs(const struct run *a, const struct run *b,
			    const char *how)
{
	size_t i;

	cr_assert_eq(a->c.n, b->c.n, "%s: %zu events, whole: %zu", how, b->c.n,
		     a->c.n);
	for (i = 0; i < a->c.n; i++)
		cr_assert(ev_same(&a->c.ev[i], &b->c.ev[i]),
			  "%s: event %zu differs ('%s' vs '%s')", how, i,
			  a->c.ev[i].text, b->c.ev[i].text);
	cr_assert_eq(a->c.nnotes, b->c.nnotes, "%s: notes", how);
	for (i = 0; i < a->c.nnotes; i++)
		cr_assert_eq(a->c.notes[i], b->c.notes[i], "%s: note %zu", how,
			     i);
	cr_assert_eq(a->stopped_status, b->stopped_status, "%s: status", how);
}

/* Feeding split at every offset of every segment, and byte by byte, gives
 * exactly the events of whole feeds. */
static void check_all_splits(enum pt_conn_role role,
			     const struct pt_proto_options *opt,
			     const struct seg *segs, size_t nsegs,
			     uint64_t close_t)
{
	struct run *whole, *r = run_new();
	size_t i, k, maxlen = 0;
	char how[64];

	whole = run_stream(role, opt, segs, nsegs, WHOLE, 0, close_t);
	for (i = 0; i < nsegs; i++)
		if (seg_len(&segs[i]) > maxlen)
			maxlen = seg_len(&segs[i]);
	for (k = 1; k < maxlen; k++) {
		run_into(r, role, opt, segs, nsegs, SPLIT, k, close_t);
		snprintf(how, sizeof(how), "split at %zu", k);
		check_same_runs(whole, r, how);
	}
	run_into(r, role, opt, segs, nsegs, BYTES, 0, close_t);
	check_same_runs(whole, r, "byte at a time");
	free(r);
	free(whole);
}

static int text_contains(const struct col *c, const char *needle)
{
	size_t i;

	for (i = 0; i < c->n; i++)
		if (strstr(c->ev[i].text, needle) != NULL)
			return 1;
	return 0;
}

/* ---- streams ------------------------------------------------------------- */

#define GET_A "GET /fir/1 HTTP/1.1\r\nHost: api:8000\r\n\r\n"
#define GET_B "GET /health HTTP/1.1\r\nHost: api:8000\r\n\r\n"
#define GET_C "GET /fir/2/content HTTP/1.1\r\nHost: api:8000\r\n\r\n"
#define OK_5                                                                   \
	"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Type: text/plain\r\n" \
	"\r\nhello"
#define OK_2 "HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n{}"
#define NF_0 "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n"

static const struct seg keepalive3[] = {
    {PT_DIR_IN, GET_A, 0, 100}, {PT_DIR_OUT, OK_5, 0, 150},
    {PT_DIR_IN, GET_B, 0, 200}, {PT_DIR_OUT, OK_2, 0, 260},
    {PT_DIR_IN, GET_C, 0, 300}, {PT_DIR_OUT, NF_0, 0, 370},
};

static const struct seg pipelined[] = {
    {PT_DIR_IN, GET_A GET_B GET_C, 0, 1000},
    {PT_DIR_OUT, OK_5, 0, 1100},
    {PT_DIR_OUT, OK_2 NF_0, 0, 1200},
};

#define POST_JSON                                                              \
	"POST /fir HTTP/1.1\r\nHost: api\r\nContent-Type: "                    \
	"application/json\r\n"                                                 \
	"Content-Length: 28\r\n\r\n{\"complaint\": \"CANARY-BODY\"}"
#define CREATED                                                                \
	"HTTP/1.1 201 Created\r\nContent-Length: 11\r\n\r\n{\"id\": 42}\n"

static const struct seg post_cl[] = {
    {PT_DIR_IN,
     "POST /fir HTTP/1.1\r\nHost: api\r\nContent-Type: "
     "application/json\r\nContent-Length: 28\r\n\r\n",
     0, 10},
    {PT_DIR_IN, "{\"complaint\": \"CANARY-BODY\"}", 0, 20},
    {PT_DIR_OUT, CREATED, 0, 30},
};

#define CHUNKED_REQ                                                            \
	"POST /upload?token=CANARY-QUERY HTTP/1.1\r\nHost: api\r\n"            \
	"Transfer-Encoding: chunked\r\n\r\n"                                   \
	"5;name=val\r\nhello\r\n"                                              \
	"A ; x=\"q\"\r\n0123456789\r\n"                                        \
	"0\r\nX-Checksum: CANARY-TRAILER\r\n\r\n"
#define CHUNKED_RESP                                                           \
	"HTTP/1.1 200 OK\r\ntransfer-encoding: gzip, Chunked\r\n\r\n"          \
	"3\r\nabc\r\n"                                                         \
	"10\r\n0123456789abcdef\r\n"                                           \
	"0\r\nServer-Timing: db;dur=53\r\n\r\n"

static const struct seg chunked[] = {
    {PT_DIR_IN, CHUNKED_REQ, 0, 10},
    {PT_DIR_OUT, CHUNKED_RESP, 0, 20},
    {PT_DIR_IN, GET_B, 0, 30},
    {PT_DIR_OUT, OK_2, 0, 40},
};

static const struct seg head_then_get[] = {
    {PT_DIR_IN, "HEAD /fir/1 HTTP/1.1\r\nHost: a\r\n\r\n", 0, 10},
    {PT_DIR_OUT, "HTTP/1.1 200 OK\r\nContent-Length: 1234\r\n\r\n", 0, 20},
    {PT_DIR_IN, GET_B, 0, 30},
    {PT_DIR_OUT, OK_2, 0, 40},
};

static const struct seg no_body_statuses[] = {
    {PT_DIR_IN, "DELETE /fir/1 HTTP/1.1\r\nHost: a\r\n\r\n", 0, 10},
    {PT_DIR_OUT, "HTTP/1.1 204 No Content\r\n\r\n", 0, 20},
    {PT_DIR_IN, "GET /fir/1 HTTP/1.1\r\nIf-None-Match: \"x\"\r\n\r\n", 0, 30},
    {PT_DIR_OUT, "HTTP/1.1 304 Not Modified\r\nETag: \"x\"\r\n\r\n", 0, 40},
    {PT_DIR_IN, GET_B, 0, 50},
    {PT_DIR_OUT, OK_2, 0, 60},
};

static const struct seg continue100[] = {
    {PT_DIR_IN,
     "PUT /fir/1 HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\n"
     "Content-Length: 4\r\n\r\n",
     0, 10},
    {PT_DIR_OUT, "HTTP/1.1 100 Continue\r\n\r\n", 0, 20},
    {PT_DIR_IN, "data", 0, 30},
    {PT_DIR_OUT, "HTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\n" OK_2, 0, 40},
};

static const struct seg conn_close[] = {
    {PT_DIR_IN, "GET /a HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n", 0,
     10},
    {PT_DIR_OUT,
     "HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nok", 0,
     20},
};

static const struct seg close_delimited[] = {
    {PT_DIR_IN, "GET /old HTTP/1.0\r\n\r\n", 0, 10},
    {PT_DIR_OUT, "HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\nsome ", 0,
     20},
    {PT_DIR_OUT, "body bytes", 0, 30},
};

static const struct seg upgrade_ws[] = {
    {PT_DIR_IN,
     "GET /ws HTTP/1.1\r\nHost: a\r\nConnection: Upgrade\r\n"
     "Upgrade: websocket\r\nSec-WebSocket-Key: x\r\n\r\n",
     0, 10},
    {PT_DIR_OUT,
     "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
     "Connection: Upgrade\r\n\r\n\x81\x05hello",
     0, 20},
    {PT_DIR_IN, "\x81\x85garbage frames", 0, 30},
};

#define H2_PREFACE "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n\x00\x00\x12\x04"
static const struct seg h2_preface[] = {
    {PT_DIR_IN, H2_PREFACE, sizeof(H2_PREFACE) - 1, 10},
};

/* ---- tests: framing ------------------------------------------------------ */

Test(http, get_keepalive_with_three_requests_gives_three_events)
{
	struct run *r = server(keepalive3, NSEGS(keepalive3));

	cr_assert_eq(r->c.n, 3);
	check_ev_in(&r->c, 0, 200, "GET", "/fir/1");
	check_ev_in(&r->c, 1, 200, "GET", "/health");
	check_ev_in(&r->c, 2, 404, "GET", "/fir/2/content");
	cr_expect_eq(r->c.ev[0].op.start_ns, 100);
	cr_expect_eq(r->c.ev[0].op.end_ns, 150);
	cr_expect_eq(r->c.ev[2].op.start_ns, 300);
	cr_expect_eq(r->c.ev[2].op.end_ns, 370);
	cr_expect_eq(r->c.ev[0].op.bytes_in, strlen(GET_A));
	cr_expect_eq(r->c.ev[0].op.bytes_out, strlen(OK_5));
	cr_expect_eq(r->c.ev[1].op.bytes_out, strlen(OK_2));
	cr_expect_eq(r->c.ev[0].op.flags & PT_EV_PIPELINED, 0);
	cr_expect_eq(r->c.nnotes, 0);
	cr_expect_eq(r->last, PT_FEED_OK);
	free(r);
}

Test(http, pipelined_requests_are_answered_in_order_each_timed_to_its_end)
{
	struct run *r = server(pipelined, NSEGS(pipelined));

	cr_assert_eq(r->c.n, 3);
	check_ev_in(&r->c, 0, 200, "GET", "/fir/1");
	check_ev_in(&r->c, 1, 200, "GET", "/health");
	check_ev_in(&r->c, 2, 404, "GET", "/fir/2/content");
	for (size_t i = 0; i < 3; i++)
		cr_expect_eq(r->c.ev[i].op.start_ns, 1000);
	cr_expect_eq(r->c.ev[0].op.end_ns, 1100);
	cr_expect_eq(r->c.ev[1].op.end_ns, 1200);
	cr_expect_eq(r->c.ev[2].op.end_ns, 1200);
	cr_expect_eq(r->c.ev[0].op.flags & PT_EV_PIPELINED, 0);
	cr_expect_neq(r->c.ev[1].op.flags & PT_EV_PIPELINED, 0);
	cr_expect_neq(r->c.ev[2].op.flags & PT_EV_PIPELINED, 0);
	cr_expect_eq(r->c.ev[1].op.bytes_in, strlen(GET_B));
	cr_expect_eq(r->c.ev[2].op.bytes_out, strlen(NF_0));
	free(r);
}

Test(http, post_with_content_length_body_counts_body_bytes)
{
	struct run *r = server(post_cl, NSEGS(post_cl));

	cr_assert_eq(r->c.n, 1);
	check_ev_in(&r->c, 0, 201, "POST", "/fir");
	cr_expect_eq(r->c.ev[0].op.bytes_in, strlen(POST_JSON));
	cr_expect_eq(r->c.ev[0].op.bytes_out, strlen(CREATED));
	cr_expect_eq(r->c.ev[0].op.start_ns, 10);
	cr_expect_eq(r->c.ev[0].op.end_ns, 30);
	free(r);
}

Test(http, chunked_request_and_chunked_response_with_trailers)
{
	struct run *r = server(chunked, NSEGS(chunked));

	cr_assert_eq(r->c.n, 2, "%zu events", r->c.n);
	check_ev_in(&r->c, 0, 200, "POST", "/upload");
	check_ev_in(&r->c, 1, 200, "GET", "/health");
	cr_expect_eq(r->c.ev[0].op.bytes_in, strlen(CHUNKED_REQ));
	cr_expect_eq(r->c.ev[0].op.bytes_out, strlen(CHUNKED_RESP));
	cr_expect_eq(r->c.ev[0].op.end_ns, 20);
	cr_expect_eq(r->c.nnotes, 0);
	free(r);
}

Test(http, head_response_with_content_length_has_no_body)
{
	struct run *r = server(head_then_get, NSEGS(head_then_get));

	cr_assert_eq(r->c.n, 2);
	check_ev_in(&r->c, 0, 200, "HEAD", "/fir/1");
	check_ev_in(&r->c, 1, 200, "GET", "/health");
	cr_expect_eq(r->c.ev[0].op.end_ns, 20);
	free(r);
}

Test(http, status_204_and_304_have_no_body)
{
	struct run *r = server(no_body_statuses, NSEGS(no_body_statuses));

	cr_assert_eq(r->c.n, 3);
	check_ev_in(&r->c, 0, 204, "DELETE", "/fir/1");
	check_ev_in(&r->c, 1, 304, "GET", "/fir/1");
	check_ev_in(&r->c, 2, 200, "GET", "/health");
	cr_expect_eq(r->c.ev[1].op.end_ns, 40);
	free(r);
}

Test(http, interim_100_continue_does_not_complete_the_request)
{
	struct run *r = server(continue100, NSEGS(continue100));

	cr_assert_eq(r->c.n, 1);
	check_ev_in(&r->c, 0, 200, "PUT", "/fir/1");
	cr_expect_eq(r->c.ev[0].op.start_ns, 10);
	cr_expect_eq(r->c.ev[0].op.end_ns, 40);
	cr_expect_eq(r->c.ev[0].op.bytes_in, strlen(continue100[0].s) + 4);
	cr_expect_eq(r->c.ev[0].op.bytes_out,
		     strlen(continue100[1].s) + strlen(continue100[3].s));
	free(r);
}

Test(http, connection_close_exchange_completes_before_close)
{
	struct run *r = server(conn_close, NSEGS(conn_close));

	cr_assert_eq(r->c.n, 1);
	check_ev_in(&r->c, 0, 200, "GET", "/a");
	proto_http_close(&r->h, 99);
	cr_expect_eq(r->c.n, 1, "close adds nothing");
	free(r);
}

Test(http, response_delimited_by_close_completes_at_close)
{
	struct run *r = server(close_delimited, NSEGS(close_delimited));

	cr_expect_eq(r->c.n, 0, "no event before the close");
	proto_http_close(&r->h, 500);
	cr_assert_eq(r->c.n, 1);
	check_ev_in(&r->c, 0, 200, "GET", "/old");
	/* ended by the feed holding the last byte, not by the close call */
	cr_expect_eq(r->c.ev[0].op.end_ns, 30);
	cr_expect_eq(r->c.ev[0].op.bytes_out, strlen(close_delimited[1].s) +
						  strlen(close_delimited[2].s));
	free(r);
}

Test(http, close_with_outstanding_requests_reports_them_aborted)
{
	static const struct seg s[] = {
	    {PT_DIR_IN, GET_A GET_B, 0, 10},
	    {PT_DIR_OUT, "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc", 0,
	     20},
	};
	struct run *r = server(s, NSEGS(s));

	cr_expect_eq(r->c.n, 0);
	proto_http_close(&r->h, 77);
	cr_assert_eq(r->c.n, 2);
	for (size_t i = 0; i < 2; i++) {
		cr_expect_eq(r->c.ev[i].op.outcome, PT_OUT_ABORTED);
		cr_expect_eq(r->c.ev[i].op.status, 0);
		cr_expect_eq(r->c.ev[i].op.end_ns, 77);
	}
	cr_expect_eq(r->c.ev[0].op.bytes_out, strlen(s[1].s));
	cr_expect_eq(r->c.ev[1].op.bytes_out, 0);
	cr_expect_eq(r->c.ev[1].op.bytes_in, strlen(GET_B));
	proto_http_close(&r->h, 88);
	cr_expect_eq(r->c.n, 2, "close is idempotent");
	free(r);
}

Test(http, bare_lf_line_endings_are_accepted)
{
	static const struct seg s[] = {
	    {PT_DIR_IN, "GET /lf HTTP/1.1\nHost: a\n\n", 0, 10},
	    {PT_DIR_OUT, "HTTP/1.1 200 OK\nContent-Length: 1\n\nx", 0, 20},
	};
	struct run *r = server(s, NSEGS(s));

	cr_assert_eq(r->c.n, 1);
	check_ev_in(&r->c, 0, 200, "GET", "/lf");
	free(r);
}

Test(http, status_line_without_reason_phrase_is_accepted)
{
	static const struct seg s[] = {
	    {PT_DIR_IN, GET_B, 0, 10},
	    {PT_DIR_OUT, "HTTP/1.1 503\r\nContent-Length: 0\r\n\r\n", 0, 20},
	    {PT_DIR_IN, GET_B, 0, 30},
	    {PT_DIR_OUT, "HTTP/1.1 500 \r\nContent-Length: 0\r\n\r\n", 0, 40},
	};
	struct run *r = server(s, NSEGS(s));

	cr_assert_eq(r->c.n, 2);
	check_ev_in(&r->c, 0, 503, "GET", "/health");
	check_ev_in(&r->c, 1, 500, "GET", "/health");
	free(r);
}

Test(http, repeated_identical_content_length_is_accepted)
{
	static const struct seg s[] = {
	    {PT_DIR_IN,
	     "POST /x HTTP/1.1\r\nContent-Length: 3\r\n"
	     "content-length: 3, 3\r\n\r\nabc",
	     0, 10},
	    {PT_DIR_OUT, NF_0, 0, 20},
	};
	struct run *r = server(s, NSEGS(s));

	cr_assert_eq(r->c.n, 1);
	check_ev_in(&r->c, 0, 404, "POST", "/x");
	free(r);
}

/* ---- tests: protocol switches -------------------------------------------- */

Test(http, upgrade_101_reports_the_handshake_then_notes_upgraded)
{
	struct run *r = server(upgrade_ws, NSEGS(upgrade_ws));

	cr_assert_eq(r->c.n, 1);
	check_ev_in(&r->c, 0, 101, "GET", "/ws");
	cr_expect_eq(r->c.nnotes, 1);
	cr_expect_eq(r->c.notes[0], PT_NOTE_UPGRADED);
	cr_expect_eq(r->last, PT_FEED_STOPPED);
	cr_expect_eq(r->c.ops_after_stop, 0);
	proto_http_close(&r->h, 99);
	cr_expect_eq(r->c.n, 1);
	free(r);
}

Test(http, http2_prior_knowledge_preface_notes_upgraded)
{
	struct run *r = server(h2_preface, NSEGS(h2_preface));

	cr_expect_eq(r->c.n, 0);
	cr_assert_eq(r->c.nnotes, 1);
	cr_expect_eq(r->c.notes[0], PT_NOTE_UPGRADED);
	cr_expect_eq(r->last, PT_FEED_STOPPED);
	free(r);
}

Test(http, declined_upgrade_keeps_decoding_http)
{
	static const struct seg s[] = {
	    {PT_DIR_IN,
	     "GET /x HTTP/1.1\r\nConnection: Upgrade, HTTP2-Settings"
	     "\r\nUpgrade: h2c\r\nHTTP2-Settings: AAA\r\n\r\n",
	     0, 10},
	    {PT_DIR_OUT, OK_2, 0, 20},
	    {PT_DIR_IN, GET_B, 0, 30},
	    {PT_DIR_OUT, OK_2, 0, 40},
	};
	struct run *r = server(s, NSEGS(s));

	cr_assert_eq(r->c.n, 2);
	check_ev_in(&r->c, 0, 200, "GET", "/x");
	check_ev_in(&r->c, 1, 200, "GET", "/health");
	cr_expect_eq(r->c.nnotes, 0);
	free(r);
}

Test(http, h2c_upgrade_with_preface_sent_early_notes_upgraded)
{
	/* Client role: the request asks for h2c; bytes of the new protocol
	 * that fail to parse are held until the 101 decides. */
#define H2C_REQ                                                                \
	"GET / HTTP/1.1\r\nHost: m:8001\r\nConnection: Upgrade\r\n"            \
	"Upgrade: h2c\r\n\r\nPRI * HTTP/2.0\r\n\r\nSM\r\n\r\n\x00\x00\x00\x04"
	static const struct seg s[] = {
	    {PT_DIR_OUT, H2C_REQ, sizeof(H2C_REQ) - 1, 10},
	    {PT_DIR_IN, "HTTP/1.1 101 Switching Protocols\r\n\r\n", 0, 20},
	};
	struct run *r =
	    run_stream(PT_ROLE_CLIENT, NULL, s, NSEGS(s), WHOLE, 0, 0);

	cr_assert_eq(r->c.n, 1);
	check_ev(&r->c, 0, PT_KIND_HTTP_OUT, 101, "GET", "m:8001", "/");
	cr_assert_eq(r->c.nnotes, 1);
	cr_expect_eq(r->c.notes[0], PT_NOTE_UPGRADED);
	free(r);
}

Test(http, unparseable_bytes_after_declined_upgrade_desync)
{
	static const struct seg s[] = {
	    {PT_DIR_IN,
	     "GET /ws HTTP/1.1\r\nUpgrade: websocket\r\n\r\n"
	     "\x81\x85xxxx",
	     0, 10},
	    {PT_DIR_OUT,
	     "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n", 0, 20},
	};
	struct run *r = server(s, NSEGS(s));

	cr_assert_eq(r->c.n, 1);
	check_ev_in(&r->c, 0, 400, "GET", "/ws");
	cr_assert_eq(r->c.nnotes, 1);
	cr_expect_eq(r->c.notes[0], PT_NOTE_DESYNC);
	cr_expect_eq(r->last, PT_FEED_STOPPED);
	free(r);
}

Test(http, connect_2xx_opens_a_tunnel)
{
	static const struct seg s[] = {
	    {PT_DIR_OUT, "CONNECT db:443 HTTP/1.1\r\nHost: db:443\r\n\r\n", 0,
	     10},
	    {PT_DIR_IN, "HTTP/1.1 200 Connection established\r\n\r\n\x16\x03",
	     0, 20},
	};
	struct run *r =
	    run_stream(PT_ROLE_CLIENT, NULL, s, NSEGS(s), WHOLE, 0, 0);

	cr_assert_eq(r->c.n, 1);
	cr_expect_eq(r->c.ev[0].op.status, 200);
	cr_expect_eq(r->c.ev[0].op.kind, PT_KIND_HTTP_OUT);
	cr_assert_eq(r->c.nnotes, 1);
	cr_expect_eq(r->c.notes[0], PT_NOTE_UPGRADED);
	free(r);
}

/* ---- tests: text ----------------------------------------------------------
 */

Test(http, client_role_text_has_host_and_byte_directions_swap)
{
	static const struct seg s[] = {
	    {PT_DIR_OUT,
	     "POST /asr HTTP/1.1\r\nHost: 127.0.0.1:8002\r\n"
	     "Content-Length: 3\r\n\r\nabc",
	     0, 1000},
	    {PT_DIR_IN, OK_5, 0, 21000},
	};
	struct run *r =
	    run_stream(PT_ROLE_CLIENT, NULL, s, NSEGS(s), WHOLE, 0, 0);

	cr_assert_eq(r->c.n, 1);
	check_ev(&r->c, 0, PT_KIND_HTTP_OUT, 200, "POST", "127.0.0.1:8002",
		 "/asr");
	cr_expect_eq(r->c.ev[0].op.bytes_out, strlen(s[0].s));
	cr_expect_eq(r->c.ev[0].op.bytes_in, strlen(OK_5));
	cr_expect_eq(r->c.ev[0].op.start_ns, 1000);
	cr_expect_eq(r->c.ev[0].op.end_ns, 21000);
	free(r);
}

Test(http, client_absolute_form_target_names_the_host)
{
	static const struct seg s[] = {
	    {PT_DIR_OUT,
	     "GET http://proxy.example:8080/a/b?q=1 HTTP/1.1\r\n"
	     "Host: other\r\n\r\n",
	     0, 10},
	    {PT_DIR_IN, NF_0, 0, 20},
	};
	struct run *r =
	    run_stream(PT_ROLE_CLIENT, NULL, s, NSEGS(s), WHOLE, 0, 0);

	cr_assert_eq(r->c.n, 1);
	check_ev(&r->c, 0, PT_KIND_HTTP_OUT, 404, "GET", "proxy.example:8080",
		 "/a/b");
	free(r);
}

/* Found by tests/fuzz/fuzz_proto_http.c: a Host value holding a NUL (or
 * any control byte) went into the event text whole. */
Test(http, client_host_is_cut_at_a_control_byte)
{
	static const char req[] = "GET /health HTTP/1.1\r\n"
				  "Host: 127.0\0.0.1:80\x01x\r\n\r\n";
	static const struct seg s[] = {
	    {PT_DIR_OUT, req, sizeof(req) - 1, 10},
	    {PT_DIR_IN, NF_0, 0, 20},
	};
	struct run *r =
	    run_stream(PT_ROLE_CLIENT, NULL, s, NSEGS(s), WHOLE, 0, 0);

	cr_assert_eq(r->c.n, 1);
	cr_expect_null(memchr(r->c.ev[0].text, '\0', r->c.ev[0].op.text_len));
	check_ev(&r->c, 0, PT_KIND_HTTP_OUT, 404, "GET", "127.0", "/health");
	cr_expect(r->c.ev[0].op.flags & PT_EV_TRUNCATED);
	free(r);
}

Test(http, client_without_host_header_has_route_only)
{
	static const struct seg s[] = {
	    {PT_DIR_OUT, "GET /v HTTP/1.0\r\n\r\n", 0, 10},
	    {PT_DIR_IN, "HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n", 0, 20},
	};
	struct run *r =
	    run_stream(PT_ROLE_CLIENT, NULL, s, NSEGS(s), WHOLE, 0, 0);

	cr_assert_eq(r->c.n, 1);
	check_ev(&r->c, 0, PT_KIND_HTTP_OUT, 200, "GET", NULL, "/v");
	free(r);
}

Test(http, query_string_never_reaches_the_text)
{
	static const struct seg s[] = {
	    {PT_DIR_IN, "GET /search?name=CANARY-QUERY&x=1 HTTP/1.1\r\n\r\n", 0,
	     10},
	    {PT_DIR_OUT, NF_0, 0, 20},
	    {PT_DIR_IN, "GET /p#CANARY-FRAG HTTP/1.1\r\n\r\n", 0, 30},
	    {PT_DIR_OUT, NF_0, 0, 40},
	};
	struct run *r = server(s, NSEGS(s));

	cr_assert_eq(r->c.n, 2);
	check_ev_in(&r->c, 0, 404, "GET", "/search");
	check_ev_in(&r->c, 1, 404, "GET", "/p");
	cr_expect_not(text_contains(&r->c, "CANARY"));
	cr_expect_not(text_contains(&r->c, "?"));
	free(r);
}

Test(http, header_values_and_bodies_never_reach_the_text)
{
	static const struct seg s[] = {
	    {PT_DIR_OUT,
	     "POST /fir HTTP/1.1\r\nHost: m:8001\r\n"
	     "Authorization: Bearer CANARY-AUTH\r\n"
	     "Cookie: s=CANARY-COOKIE\r\nContent-Length: 11\r\n\r\n"
	     "CANARY-BODY",
	     0, 10},
	    {PT_DIR_IN,
	     "HTTP/1.1 200 OK\r\nSet-Cookie: CANARY-SET\r\n"
	     "Transfer-Encoding: chunked\r\n\r\n"
	     "b\r\nCANARY-RESP\r\n0\r\nX-T: CANARY-TRAILER\r\n\r\n",
	     0, 20},
	};
	struct run *r =
	    run_stream(PT_ROLE_CLIENT, NULL, s, NSEGS(s), WHOLE, 0, 0);
	struct run *srv;

	cr_assert_eq(r->c.n, 1);
	cr_expect_not(text_contains(&r->c, "CANARY"), "'%s'", r->c.ev[0].text);
	free(r);
	srv = server(chunked, NSEGS(chunked));
	cr_assert_eq(srv->c.n, 2);
	cr_expect_not(text_contains(&srv->c, "CANARY"));
	free(srv);
}

Test(http, raw_mode_keeps_the_target_cut_at_raw_max)
{
	static const struct seg s[] = {
	    {PT_DIR_IN, "GET /search?q=abcdef HTTP/1.1\r\n\r\n", 0, 10},
	    {PT_DIR_OUT, NF_0, 0, 20},
	    {PT_DIR_IN, "GET /a?b HTTP/1.1\r\n\r\n", 0, 30},
	    {PT_DIR_OUT, NF_0, 0, 40},
	};
	struct pt_proto_options opt = {.raw = 1, .raw_max = 12};
	struct run *r =
	    run_stream(PT_ROLE_SERVER, &opt, s, NSEGS(s), WHOLE, 0, 0);

	cr_assert_eq(r->c.n, 2);
	cr_expect_str_eq(r->c.ev[0].text, "GET /search?q=ab");
	cr_expect_neq(r->c.ev[0].op.flags & PT_EV_RAW, 0);
	cr_expect_neq(r->c.ev[0].op.flags & PT_EV_TRUNCATED, 0);
	cr_expect_str_eq(r->c.ev[1].text, "GET /a?b");
	cr_expect_neq(r->c.ev[1].op.flags & PT_EV_RAW, 0);
	cr_expect_eq(r->c.ev[1].op.flags & PT_EV_TRUNCATED, 0);
	free(r);
}

Test(http, normalized_text_is_never_flagged_raw)
{
	struct run *r = server(keepalive3, NSEGS(keepalive3));

	cr_assert_eq(r->c.n, 3);
	for (size_t i = 0; i < 3; i++)
		cr_expect_eq(
		    r->c.ev[i].op.flags & (PT_EV_RAW | PT_EV_TRUNCATED), 0);
	free(r);
}

Test(http, target_longer_than_the_line_buffer_is_cut_and_flagged)
{
	static char req[PROTO_HTTP_START_LINE * 2 + 64];
	struct seg s[2] = {
	    {PT_DIR_IN, req, 0, 10},
	    {PT_DIR_OUT, NF_0, 0, 20},
	};
	struct pt_proto_options raw = {.raw = 1};
	struct run *r;
	size_t n;

	strcpy(req, "GET /");
	n = strlen(req);
	memset(req + n, 'a', PROTO_HTTP_START_LINE * 2);
	strcpy(req + n + PROTO_HTTP_START_LINE * 2, " HTTP/1.1\r\n\r\n");
	r = run_stream(PT_ROLE_SERVER, &raw, s, NSEGS(s), WHOLE, 0, 0);
	cr_assert_eq(r->c.n, 1);
	cr_expect_eq(r->c.ev[0].op.status, 404);
	cr_expect_neq(r->c.ev[0].op.flags & PT_EV_TRUNCATED, 0);
	cr_expect_eq(strncmp(r->c.ev[0].text, "GET /aaa", 8), 0);
	cr_expect_leq(r->c.ev[0].op.text_len, PT_TEXT_MAX);
	cr_expect_eq(r->c.ev[0].op.bytes_in, strlen(req));
	free(r);
}

/* ---- tests: desync --------------------------------------------------------
 */

static void check_desync(const struct seg *s, size_t nsegs, size_t events)
{
	struct run *r = server(s, nsegs);

	cr_expect_eq(r->c.n, events, "%zu events before the desync", r->c.n);
	cr_assert_geq(r->c.nnotes, 1, "no note");
	cr_expect_eq(r->c.notes[r->c.nnotes - 1], PT_NOTE_DESYNC);
	cr_expect_eq(r->last, PT_FEED_STOPPED);
	cr_expect_eq(r->c.ops_after_stop, 0);
	/* sticky: nothing more, whatever comes */
	feed1(r, PT_DIR_IN, GET_A, strlen(GET_A), 1000);
	feed1(r, PT_DIR_OUT, OK_2, strlen(OK_2), 1001);
	cr_expect_eq(r->last, PT_FEED_STOPPED);
	proto_http_close(&r->h, 1002);
	cr_expect_eq(r->c.n, events, "events after the desync");
	free(r);
}

#define TLS_HELLO "\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03"

Test(http, garbage_desyncs_and_nothing_is_reported_after)
{
	static const struct seg s[] = {
	    {PT_DIR_IN, GET_A, 0, 10},
	    {PT_DIR_OUT, OK_2, 0, 20},
	    {PT_DIR_IN, TLS_HELLO, sizeof(TLS_HELLO) - 1, 30},
	};
	check_desync(s, NSEGS(s), 1);
}

Test(http, bad_status_line_desyncs)
{
	static const struct seg s[] = {
	    {PT_DIR_IN, GET_A, 0, 10},
	    {PT_DIR_OUT, "HTTP/1.1 2x0 OK\r\n\r\n", 0, 20},
	};
	check_desync(s, NSEGS(s), 0);
}

Test(http, response_without_a_request_desyncs)
{
	static const struct seg s[] = {
	    {PT_DIR_IN, GET_A, 0, 10},
	    {PT_DIR_OUT, OK_2, 0, 20},
	    {PT_DIR_OUT, OK_2, 0, 30},
	};
	check_desync(s, NSEGS(s), 1);
}

Test(http, bad_chunk_size_desyncs)
{
	static const struct seg s[] = {
	    {PT_DIR_IN,
	     "POST /c HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
	     "zz\r\n",
	     0, 10},
	};
	check_desync(s, NSEGS(s), 0);
}

Test(http, chunk_size_with_too_many_digits_desyncs)
{
	static const struct seg s[] = {
	    {PT_DIR_IN, GET_A, 0, 10},
	    {PT_DIR_OUT,
	     "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
	     "10000000000000000\r\n",
	     0, 20},
	};
	check_desync(s, NSEGS(s), 0);
}

Test(http, missing_crlf_after_chunk_data_desyncs)
{
	static const struct seg s[] = {
	    {PT_DIR_IN,
	     "POST /c HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
	     "2\r\nabX\r\n0\r\n\r\n",
	     0, 10},
	};
	check_desync(s, NSEGS(s), 0);
}

Test(http, conflicting_content_lengths_desync)
{
	static const struct seg s[] = {
	    {PT_DIR_IN,
	     "POST /x HTTP/1.1\r\nContent-Length: 3\r\n"
	     "Content-Length: 4\r\n\r\nabcd",
	     0, 10},
	};
	check_desync(s, NSEGS(s), 0);
}

Test(http, non_numeric_content_length_desyncs)
{
	static const struct seg s[] = {
	    {PT_DIR_IN, "POST /x HTTP/1.1\r\nContent-Length: +3\r\n\r\nabc", 0,
	     10},
	};
	check_desync(s, NSEGS(s), 0);
}

Test(http, request_with_non_chunked_transfer_coding_desyncs)
{
	static const struct seg s[] = {
	    {PT_DIR_IN,
	     "POST /x HTTP/1.1\r\nTransfer-Encoding: chunked, gzip"
	     "\r\n\r\nabc",
	     0, 10},
	};
	check_desync(s, NSEGS(s), 0);
}

Test(http, http_0_9_and_unknown_versions_desync)
{
	static const struct seg s09[] = {{PT_DIR_IN, "GET /\r\n", 0, 10}};
	static const struct seg s3[] = {
	    {PT_DIR_IN, "GET / HTTP/3.0\r\n\r\n", 0, 10}};

	check_desync(s09, NSEGS(s09), 0);
	check_desync(s3, NSEGS(s3), 0);
}

Test(http, header_section_over_the_limit_desyncs)
{
	size_t n = 70 * 1024, off;
	char *req = malloc(n + 64);
	struct seg s[1] = {{PT_DIR_IN, req, 0, 10}};

	cr_assert_not_null(req);
	strcpy(req, "GET / HTTP/1.1\r\n");
	off = strlen(req);
	while (off + 16 < n) {
		memcpy(req + off, "X-Pad: 12345678\r\n", 17);
		off += 17;
	}
	req[off] = '\0';
	check_desync(s, NSEGS(s), 0);
	free(req);
}

Test(http, header_line_without_colon_desyncs)
{
	static const struct seg s[] = {
	    {PT_DIR_IN, "GET / HTTP/1.1\r\nno colon here\r\n\r\n", 0, 10},
	};
	check_desync(s, NSEGS(s), 0);
}

/* ---- tests: limits --------------------------------------------------------
 */

Test(http, requests_beyond_the_ring_are_counted_and_skipped_in_order)
{
	size_t nreq = PROTO_HTTP_RING + 6, i;
	struct run *r = run_new();
	struct pt_sink sink = {col_op, col_note, &r->c};
	char rsp[64];

	proto_http_init(&r->h, PT_ROLE_SERVER, NULL, &sink);
	for (i = 0; i < nreq; i++)
		feed1(r, PT_DIR_IN, GET_B, strlen(GET_B), 10);
	cr_expect_eq(r->c.nnotes, 6);
	cr_expect_eq(r->c.notes[0], PT_NOTE_QUEUE_FULL);
	cr_expect_eq(r->c.note_values[5], 6);
	for (i = 0; i < nreq; i++) {
		/* status encodes the response number */
		snprintf(rsp, sizeof(rsp),
			 "HTTP/1.1 %zu OK\r\nContent-Length: 0\r\n\r\n",
			 200 + i);
		feed1(r, PT_DIR_OUT, rsp, strlen(rsp), 20 + i);
	}
	cr_assert_eq(r->c.n, PROTO_HTTP_RING);
	for (i = 0; i < PROTO_HTTP_RING; i++)
		cr_expect_eq(r->c.ev[i].op.status, (int)(200 + i));
	cr_expect_eq(r->last, PT_FEED_OK);
	free(r);
}

Test(http, many_sequential_requests_recycle_the_text_arena)
{
	struct run *r = run_new();
	struct pt_sink sink = {col_op, col_note, &r->c};
	struct pt_proto_options raw = {.raw = 1};
	char req[600];
	size_t i, n = 0;

	/* raw text: its length is known whatever the normalizer does */
	proto_http_init(&r->h, PT_ROLE_SERVER, &raw, &sink);
	for (i = 0; i < 200; i++) {
		size_t plen = 1 + (i * 37) % 500;

		memcpy(req, "GET /", 5);
		memset(req + 5, 'a' + (char)(i % 26), plen);
		strcpy(req + 5 + plen, " HTTP/1.1\r\n\r\n");
		feed1(r, PT_DIR_IN, req, strlen(req), i);
		if (i % 3 == 2) { /* three outstanding at a time */
			for (int j = 0; j < 3; j++)
				feed1(r, PT_DIR_OUT, NF_0, strlen(NF_0), i);
			cr_assert_eq(r->c.n, 3);
			for (n = 0; n < 3; n++) {
				size_t q = i - 2 + n; /* request number */

				cr_assert_eq(r->c.ev[n].op.text_len,
					     4 + 1 + 1 + (q * 37) % 500);
				cr_assert_eq(r->c.ev[n].text[5],
					     'a' + (char)(q % 26));
			}
			r->c.n = n = 0;
		}
	}
	free(r);
}

Test(http, long_pipelined_texts_share_the_arena_and_are_cut_not_corrupted)
{
	/* 12 raw texts of ~4000 bytes outstanding at once: more than the
	 * arena holds; each text is whole, cut (flagged), or absent
	 * (flagged), and always a prefix of what was sent. */
	enum { NREQ = 12, PLEN = 4000 };
	struct pt_proto_options raw = {.raw = 1};
	struct run *r = run_new();
	struct pt_sink sink = {col_op, col_note, &r->c};
	static char req[PLEN + 64], want[NREQ][PLEN + 16];
	size_t i, whole = 0;

	proto_http_init(&r->h, PT_ROLE_SERVER, &raw, &sink);
	for (i = 0; i < NREQ; i++) {
		memcpy(req, "GET /", 5);
		memset(req + 5, 'a' + (char)i, PLEN);
		strcpy(req + 5 + PLEN, " HTTP/1.1\r\n\r\n");
		memcpy(want[i], req, 5 + PLEN);
		want[i][5 + PLEN] = '\0';
		feed1(r, PT_DIR_IN, req, strlen(req), 10 + i);
	}
	for (i = 0; i < NREQ; i++)
		feed1(r, PT_DIR_OUT, NF_0, strlen(NF_0), 100 + i);
	cr_assert_eq(r->c.n, NREQ);
	for (i = 0; i < NREQ; i++) {
		const struct ev *e = &r->c.ev[i];

		cr_expect_eq(e->op.status, 404);
		cr_expect_eq(e->op.end_ns, 100 + i);
		cr_expect_eq(strncmp(e->text, want[i], e->op.text_len), 0,
			     "text %zu is not a prefix of its request", i);
		if (e->op.text_len == 5 + PLEN)
			whole++;
		else
			cr_expect_neq(e->op.flags & PT_EV_TRUNCATED, 0,
				      "text %zu cut but not flagged", i);
	}
	cr_expect_geq(whole, PROTO_HTTP_ARENA / (PLEN + 5) - 1);
	cr_expect_lt(whole, NREQ, "the arena cannot hold them all");
	free(r);
}

Test(http, early_response_before_the_request_body_ends_pairs_correctly)
{
	static const struct seg s[] = {
	    {PT_DIR_IN, "POST /big HTTP/1.1\r\nContent-Length: 10\r\n\r\nabc",
	     0, 10},
	    {PT_DIR_OUT, "HTTP/1.1 413 Too Large\r\nContent-Length: 0\r\n\r\n",
	     0, 20},
	    {PT_DIR_IN, "defghij" GET_B, 0, 30},
	    {PT_DIR_OUT, OK_2, 0, 40},
	};
	struct run *r = server(s, NSEGS(s));

	cr_assert_eq(r->c.n, 2);
	check_ev_in(&r->c, 0, 413, "POST", "/big");
	cr_expect_eq(r->c.ev[0].op.bytes_in, strlen(s[0].s));
	check_ev_in(&r->c, 1, 200, "GET", "/health");
	cr_expect_eq(r->c.ev[1].op.start_ns, 30);
	cr_expect_eq(r->c.ev[1].op.bytes_in, strlen(GET_B));
	cr_expect_eq(r->c.nnotes, 0);
	free(r);
}

/* ---- tests: every split ---------------------------------------------------
 */

Test(http, every_split_and_byte_at_a_time_gives_identical_events)
{
	struct pt_proto_options raw = {.raw = 1, .raw_max = 64};

	check_all_splits(PT_ROLE_SERVER, NULL, keepalive3, NSEGS(keepalive3),
			 0);
	check_all_splits(PT_ROLE_SERVER, NULL, pipelined, NSEGS(pipelined), 0);
	check_all_splits(PT_ROLE_SERVER, NULL, post_cl, NSEGS(post_cl), 0);
	check_all_splits(PT_ROLE_SERVER, NULL, chunked, NSEGS(chunked), 0);
	check_all_splits(PT_ROLE_SERVER, &raw, chunked, NSEGS(chunked), 0);
	check_all_splits(PT_ROLE_SERVER, NULL, head_then_get,
			 NSEGS(head_then_get), 0);
	check_all_splits(PT_ROLE_SERVER, NULL, no_body_statuses,
			 NSEGS(no_body_statuses), 0);
	check_all_splits(PT_ROLE_SERVER, NULL, continue100, NSEGS(continue100),
			 0);
	check_all_splits(PT_ROLE_SERVER, NULL, conn_close, NSEGS(conn_close),
			 50);
	check_all_splits(PT_ROLE_SERVER, NULL, close_delimited,
			 NSEGS(close_delimited), 50);
	check_all_splits(PT_ROLE_SERVER, NULL, upgrade_ws, NSEGS(upgrade_ws),
			 50);
	check_all_splits(PT_ROLE_SERVER, NULL, h2_preface, NSEGS(h2_preface),
			 0);
}

Test(http, every_split_of_a_desync_gives_the_same_note)
{
	static const struct seg s[] = {
	    {PT_DIR_IN, GET_A, 0, 10},
	    {PT_DIR_OUT, OK_5, 0, 20},
	    {PT_DIR_IN,
	     "GET /x HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
	     "5\r\nabcde\r\nQ\r\n",
	     0, 30},
	};
	check_all_splits(PT_ROLE_SERVER, NULL, s, NSEGS(s), 40);
}

/* ---- tests: sniff ---------------------------------------------------------
 */

Test(http, sniff_accepts_methods_followed_by_a_space)
{
	static const char *yes[] = {
	    "GET / HTTP/1.1", "POST /",	       "PUT /",	  "DELETE /",
	    "HEAD /",	      "OPTIONS *",     "PATCH /", "CONNECT h:1",
	    "TRACE /",	      "PRI * HTTP/2.0"};
	static const char *no[] = {"GET",
				   "GE",
				   "get / HTTP/1.1",
				   "GETX /",
				   "HTTP/1.1 200",
				   "*1\r\n",
				   "\x0a"
				   "5.5",
				   "",
				   "POST"};

	for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++)
		cr_expect_eq(
		    proto_http_sniff((const uint8_t *)yes[i], strlen(yes[i])),
		    1, "%s", yes[i]);
	for (size_t i = 0; i < sizeof(no) / sizeof(no[0]); i++)
		cr_expect_eq(
		    proto_http_sniff((const uint8_t *)no[i], strlen(no[i])), 0,
		    "%s", no[i]);
}

Test(http, context_is_bounded)
{
	cr_expect_lt(sizeof(struct proto_http), 32 * 1024);
}

/* ---- tests: recorded streams (tests/data/http/, see record.py there) ----- */

#define FIX_MAX_SEGS 256
#define FIX_MAX_REQS 64

struct fixture {
	char name[128];
	char *data; /* the .cap file */
	struct seg segs[FIX_MAX_SEGS];
	char tags[FIX_MAX_SEGS]; /* 'C' client to server, 'S' back */
	size_t nsegs;
	uint64_t bytes_c, bytes_s;
	char methods[FIX_MAX_REQS][16];
	int status[FIX_MAX_REQS];
	size_t nreqs;
};

static int dir_has_fixtures(const char *dir)
{
	char probe[600];
	FILE *f;

	snprintf(probe, sizeof(probe), "%s/h11_curl_head.cap", dir);
	f = fopen(probe, "rb");
	if (f)
		fclose(f);
	return f != NULL;
}

/* tests/data/http: $PERFTAP_TEST_DATA/http, else found from this file's
 * path (tests run from the repository root), else from the binary's
 * directory upwards (build/.../tests/test_proto_http). */
static void fixture_dir(char *out, size_t cap)
{
	const char *env = getenv("PERFTAP_TEST_DATA");
	const char *slash = strrchr(__FILE__, '/');
	char exe[400];
	ssize_t n;

	if (env) {
		snprintf(out, cap, "%s/http", env);
		return;
	}
	snprintf(out, cap, "%.*s/../data/http",
		 slash ? (int)(slash - __FILE__) : 1, slash ? __FILE__ : ".");
	if (dir_has_fixtures(out))
		return;
	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	cr_assert_gt(n, 0);
	exe[n] = '\0';
	for (int up = 0; up < 8; up++) {
		char *s = strrchr(exe, '/');

		if (s == NULL)
			break;
		*s = '\0';
		snprintf(out, cap, "%s/tests/data/http", exe);
		if (dir_has_fixtures(out))
			return;
	}
	cr_assert_fail("tests/data/http not found; set PERFTAP_TEST_DATA");
}

static char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf;
	long n;

	cr_assert_not_null(f, "cannot open %s", path);
	cr_assert_eq(fseek(f, 0, SEEK_END), 0);
	n = ftell(f);
	cr_assert_geq(n, 0);
	rewind(f);
	buf = malloc((size_t)n + 1);
	cr_assert_not_null(buf);
	cr_assert_eq(fread(buf, 1, (size_t)n, f), (size_t)n);
	buf[n] = '\0';
	fclose(f);
	*len = (size_t)n;
	return buf;
}

static struct fixture *fixture_load(const char *dir, const char *name)
{
	struct fixture *fx = calloc(1, sizeof(*fx));
	char path[700];
	size_t len, off = 0;
	char *exp, *line, *save = NULL;

	cr_assert_not_null(fx);
	snprintf(fx->name, sizeof(fx->name), "%s", name);
	snprintf(path, sizeof(path), "%s/%s.cap", dir, name);
	fx->data = slurp(path, &len);
	while (off < len) {
		char tag;
		size_t n;
		unsigned long long t;
		int used = 0;

		cr_assert_lt(fx->nsegs, FIX_MAX_SEGS, "%s: too many", name);
		cr_assert_eq(sscanf(fx->data + off, "%c %zu %llu\n%n", &tag, &n,
				    &t, &used),
			     3, "%s: bad record at %zu", name, off);
		cr_assert(tag == 'C' || tag == 'S');
		off += (size_t)used;
		cr_assert_leq(off + n + 1, len, "%s: short record", name);
		fx->tags[fx->nsegs] = tag;
		fx->segs[fx->nsegs].s = fx->data + off;
		fx->segs[fx->nsegs].len = n;
		fx->segs[fx->nsegs].t = 1000 + (uint64_t)t;
		fx->nsegs++;
		if (tag == 'C')
			fx->bytes_c += n;
		else
			fx->bytes_s += n;
		off += n + 1;
	}
	snprintf(path, sizeof(path), "%s/%s.expect", dir, name);
	exp = slurp(path, &len);
	for (line = strtok_r(exp, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		cr_assert_lt(fx->nreqs, FIX_MAX_REQS);
		cr_assert_eq(sscanf(line, "%15s %d", fx->methods[fx->nreqs],
				    &fx->status[fx->nreqs]),
			     2);
		fx->nreqs++;
	}
	free(exp);
	cr_assert_gt(fx->nreqs, 0, "%s: no requests", name);
	return fx;
}

static void fixture_free(struct fixture *fx)
{
	free(fx->data);
	free(fx);
}

/* The fixture's segments, directed for a decoder of the given role. */
static void fixture_direct(struct fixture *fx, enum pt_conn_role role)
{
	for (size_t i = 0; i < fx->nsegs; i++) {
		int c = fx->tags[i] == 'C';

		if (role == PT_ROLE_SERVER)
			fx->segs[i].dir = c ? PT_DIR_IN : PT_DIR_OUT;
		else
			fx->segs[i].dir = c ? PT_DIR_OUT : PT_DIR_IN;
	}
}

static void fixture_check(struct fixture *fx, enum pt_conn_role role)
{
	uint64_t close_t = fx->segs[fx->nsegs - 1].t + 1;
	uint64_t req_bytes = 0, resp_bytes = 0;
	struct run *r;
	size_t i;

	fixture_direct(fx, role);
	r = run_stream(role, NULL, fx->segs, fx->nsegs, WHOLE, 0, close_t);
	cr_assert_eq(r->c.nnotes, 0, "%s: note %d", fx->name,
		     r->c.nnotes ? (int)r->c.notes[0] : 0);
	cr_assert_eq(r->c.n, fx->nreqs, "%s: %zu events, %zu requests",
		     fx->name, r->c.n, fx->nreqs);
	for (i = 0; i < r->c.n; i++) {
		const struct ev *e = &r->c.ev[i];
		size_t ml = strlen(fx->methods[i]);

		cr_expect_eq(e->op.kind, role == PT_ROLE_SERVER
					     ? PT_KIND_HTTP_IN
					     : PT_KIND_HTTP_OUT);
		cr_expect_eq(e->op.outcome, PT_OUT_HTTP, "%s: %zu", fx->name,
			     i);
		cr_expect_eq(e->op.status, fx->status[i], "%s: %zu: %d",
			     fx->name, i, e->op.status);
		cr_expect(strncmp(e->text, fx->methods[i], ml) == 0 &&
			      e->text[ml] == ' ',
			  "%s: %zu: '%s'", fx->name, i, e->text);
		if (role == PT_ROLE_CLIENT)
			cr_expect(strncmp(e->text + ml + 1, "127.0.0.1:", 10) ==
				      0,
				  "%s: no host: '%s'", fx->name, e->text);
		cr_expect_leq(e->op.start_ns, e->op.end_ns);
		if (role == PT_ROLE_SERVER) {
			req_bytes += e->op.bytes_in;
			resp_bytes += e->op.bytes_out;
		} else {
			req_bytes += e->op.bytes_out;
			resp_bytes += e->op.bytes_in;
		}
	}
	/* every byte of the stream belongs to exactly one exchange */
	cr_expect_eq(req_bytes, fx->bytes_c, "%s: request bytes", fx->name);
	cr_expect_eq(resp_bytes, fx->bytes_s, "%s: response bytes", fx->name);
	cr_expect_not(text_contains(&r->c, "CANARY"), "%s", fx->name);
	cr_expect_not(text_contains(&r->c, "?"), "%s: query", fx->name);
	free(r);
	check_all_splits(role, NULL, fx->segs, fx->nsegs, close_t);
}

static const char *const fixtures[] = {
    "curl_keepalive",	   "curl_post_json",	  "curl_head",
    "curl_chunked_expect", "curl_204_404_stream", "curl_http10_stream",
    "httpx_session",
};

static void replay_all(const char *server_impl, enum pt_conn_role role)
{
	char dir[600], name[128];

	fixture_dir(dir, sizeof(dir));
	for (size_t i = 0; i < sizeof(fixtures) / sizeof(fixtures[0]); i++) {
		struct fixture *fx;

		snprintf(name, sizeof(name), "%s_%s", server_impl, fixtures[i]);
		fx = fixture_load(dir, name);
		fixture_check(fx, role);
		fixture_free(fx);
	}
}

Test(http_recorded, uvicorn_h11_streams_decode_as_the_server_saw_them)
{
	replay_all("h11", PT_ROLE_SERVER);
}

Test(http_recorded, uvicorn_httptools_streams_decode_as_the_server_saw_them)
{
	replay_all("httptools", PT_ROLE_SERVER);
}

Test(http_recorded, uvicorn_h11_streams_decode_as_the_client_saw_them)
{
	replay_all("h11", PT_ROLE_CLIENT);
}

Test(http_recorded, uvicorn_httptools_streams_decode_as_the_client_saw_them)
{
	replay_all("httptools", PT_ROLE_CLIENT);
}

Test(http_recorded, close_delimited_stream_completes_at_the_last_byte)
{
	char dir[600];
	struct fixture *fx;
	struct run *r;

	fixture_dir(dir, sizeof(dir));
	fx = fixture_load(dir, "h11_curl_http10_stream");
	fixture_direct(fx, PT_ROLE_SERVER);
	r = run_stream(PT_ROLE_SERVER, NULL, fx->segs, fx->nsegs, WHOLE, 0, 0);
	cr_expect_eq(r->c.n, 0, "not before the close");
	proto_http_close(&r->h, fx->segs[fx->nsegs - 1].t + 5000);
	cr_assert_eq(r->c.n, 1);
	cr_expect_eq(r->c.ev[0].op.end_ns, fx->segs[fx->nsegs - 1].t);
	cr_expect_eq(r->c.ev[0].op.start_ns, fx->segs[0].t);
	free(r);
	fixture_free(fx);
}
