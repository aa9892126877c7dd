/*
 * proto_http.c -- HTTP/1.x decoder: request bytes and response bytes in,
 * one struct pt_op per request/response exchange out.
 *
 * Files:
 *   proto_http_int.h        limits, private enums, text helpers, the ring
 *   proto_http_head.c       heads: line collection, start lines, headers
 *   proto_http_exchange.c   the request ring and its texts (routes),
 *                           events and notes, what the end of a head
 *                           decides (body framing) and the end of a
 *                           message (pairing)
 *   proto_http.c            this file: the per-state functions (bodies,
 *                           chunks), the dispatch switch, the public API
 *
 * Sections:
 *   1. per-state functions and the dispatch switch
 *   2. public API
 *
 * Each direction has its own parser (struct proto_http_msg): requests on
 * one, responses on the other, so the two may interleave freely.  A request
 * is queued when its head is complete (its start time is the feed holding
 * its first byte); a response pairs with the oldest queued request, in
 * order (pipelining).  The request's body may still be arriving when its
 * response completes (a server answering early): the event is emitted with
 * the request bytes seen so far.
 *
 * Framing (RFC 9112 section 6): a response to HEAD, and 1xx / 204 / 304
 * responses, have no body; else Transfer-Encoding whose last coding is
 * chunked, else Content-Length, else (responses only) the body runs to the
 * connection's close.  A request with a non-chunked Transfer-Encoding, or
 * with two different Content-Lengths, cannot be framed: desync.  Interim 1xx
 * responses (100 Continue, 103 Early Hints) are counted in the exchange's
 * response bytes and do not complete it.
 *
 * Protocol switches: a 101 response, a 2xx response to CONNECT and the
 * HTTP/2 preface ("PRI * HTTP/2.0") complete what they answer, then note
 * PT_NOTE_UPGRADED and stop.  Bytes that follow a request asking for an
 * Upgrade and fail to parse are held (skipped) until its response says
 * whether the protocol switched: 101 -> upgraded, else desync.
 *
 * Anything else unparseable (bad request line, bad status line, bad chunk
 * size, a response with no request outstanding, a head over
 * HTTP_HEAD_MAX) notes PT_NOTE_DESYNC and stops: no event is ever paired
 * wrongly, and none is reported after a stop.
 *
 * Lines end with LF, an optional CR before it is dropped (RFC 9112 2.2
 * allows a recipient to accept a bare LF; h11 and httptools do).
 */
#include "proto_http_int.h"

#include "normalize.h"

/* ---- 1. per-state functions and the dispatch switch ---------------------- */

/* Each returns the bytes it consumed; 0 only when it changed state (or
 * stopped), so the feed loop always progresses. */

static size_t st_idle(struct proto_http *h, struct proto_http_msg *m,
		      const uint8_t *p, size_t n)
{
	size_t i = 0;

	while (i < n && (p[i] == '\r' || p[i] == '\n'))
		i++;
	if (i < n)
		http_message_begin(h, m);
	return i;
}

/*
 * Judge an unfinished start line by its first bytes, so that a stream that
 * is not HTTP (TLS, a binary protocol) stops at once rather than when a
 * LF happens to come: a request starts with a method token and a space, a
 * response with "HTTP/".
 */
static void start_line_prefix(struct proto_http *h, struct proto_http_msg *m,
			      const char *buf, size_t cap)
{
	size_t n = min_sz(m->line_len, cap), i;

	if (m == &h->resp) {
		if (memcmp(buf, "HTTP/", min_sz(n, 5)) != 0)
			http_fail(h, m, "bad status line");
		return;
	}
	for (i = 0; i < n && i <= PROTO_HTTP_METHOD; i++) {
		if (buf[i] == ' ' && i > 0)
			return;
		if (!is_tchar((unsigned char)buf[i])) {
			http_fail(h, m, "bad request line");
			return;
		}
	}
	if (i > PROTO_HTTP_METHOD)
		http_fail(h, m, "bad request line");
}

static size_t st_start_line(struct proto_http *h, struct proto_http_msg *m,
			    const uint8_t *p, size_t n)
{
	int req = m == &h->req;
	char *buf = req ? h->start_line : h->resp_line;
	size_t cap = req ? PROTO_HTTP_START_LINE : PROTO_HTTP_RESP_LINE;
	int done;
	size_t used = http_line_collect(m, buf, cap, p, n, head_room(m), &done);

	if (done < 0) {
		http_fail(h, m, "start line too long");
		return used;
	}
	msg_count(h, m, used);
	if (done == 0) {
		start_line_prefix(h, m, buf, cap);
		return used;
	}
	m->head_bytes += m->line_len + 1;
	if (req)
		http_request_line(h, m);
	else
		http_status_line(h, m);
	line_reset(m);
	return used;
}

/*
 * Fast path of st_header: the header (or trailer) lines that lie whole in
 * p, each parsed where it lies.  A head usually arrives in one read; this
 * skips, per line, the copy into the line buffer, the tail bookkeeping and
 * a trip through the dispatch switch.  It takes a line only when the line
 * starts at p[0] (nothing of it collected yet), its LF is in p and it fits
 * the head's room; anything else is left to http_line_collect().  Each line
 * goes through the same http_header_line_at() with the same len, kept and
 * over as the collected path computes, so both give the same events (the
 * tests feeding every stream split at every offset check it).  Returns
 * the bytes consumed (0: no whole line at p).
 */
static size_t header_lines_whole(struct proto_http *h, struct proto_http_msg *m,
				 const uint8_t *p, size_t n, size_t cap)
{
	size_t used = 0;

	while (m->line_len == 0 && used < n && !h->stopped &&
	       (m->state == HS_HEADER || m->state == HS_TRAILER)) {
		const uint8_t *l = p + used;
		const uint8_t *lf = memchr(l, '\n', n - used);
		size_t take, len;

		if (lf == NULL)
			break;
		take = (size_t)(lf - l); /* CR included, as line_len */
		if (take + 1 > head_room(m))
			break;
		used += take + 1;
		msg_count(h, m, take + 1);
		m->head_bytes += (uint32_t)take + 1;
		len = take > 0 && l[take - 1] == '\r' ? take - 1 : take;
		if (m->state == HS_TRAILER) {
			if (len == 0)
				http_message_done(h, m);
			continue;
		}
		http_header_line_at(h, m, (const char *)l, len,
				    min_sz(len, cap), take > cap);
	}
	return used;
}

/* Header lines, and trailer lines (trailer: content ignored). */
static size_t st_header(struct proto_http *h, struct proto_http_msg *m,
			const uint8_t *p, size_t n)
{
	int req = m == &h->req;
	char *buf = req ? h->hdr_line : h->resp_line;
	size_t cap = req ? PROTO_HTTP_HDR_LINE : PROTO_HTTP_RESP_LINE;
	int done;
	size_t used = header_lines_whole(h, m, p, n, cap);

	if (used > 0)
		return used;
	used = http_line_collect(m, buf, cap, p, n, head_room(m), &done);

	if (done < 0) {
		http_fail(h, m, "header section too long");
		return used;
	}
	msg_count(h, m, used);
	if (done == 0)
		return used;
	m->head_bytes += m->line_len + 1;
	if (m->state == HS_TRAILER) {
		size_t len, kept;

		http_line_span(m, cap, &len, &kept);
		line_reset(m);
		if (len == 0)
			http_message_done(h, m);
		return used;
	}
	http_header_line(h, m, buf, cap);
	if (m->state == HS_HEADER)
		line_reset(m);
	return used;
}

/* Content-Length body, and chunk data. */
static size_t st_body(struct proto_http *h, struct proto_http_msg *m,
		      const uint8_t *p, size_t n)
{
	size_t k = (size_t)(m->remaining < n ? m->remaining : n);

	(void)p;
	msg_count(h, m, k);
	m->remaining -= k;
	if (m->remaining > 0)
		return k;
	if (m->state == HS_CHUNK_DATA) {
		m->state = HS_CHUNK_END;
		line_reset(m);
	} else {
		http_message_done(h, m);
	}
	return k;
}

/* "1a2b[ ;ext=val]" */
static void chunk_size_line(struct proto_http *h, struct proto_http_msg *m,
			    const char *buf, size_t cap)
{
	size_t len, kept, i;
	uint64_t size = 0;

	http_line_span(m, cap, &len, &kept);
	for (i = 0; i < kept && hex_value(buf[i]) >= 0; i++) {
		if (i == HTTP_CHUNK_HEX_MAX) {
			http_fail(h, m, "chunk size too large");
			return;
		}
		size = size * 16 + (uint64_t)hex_value(buf[i]);
	}
	if (i == 0) {
		http_fail(h, m, "bad chunk size");
		return;
	}
	while (i < kept && is_ows(buf[i]))
		i++;
	if (i < kept && buf[i] != ';') {
		http_fail(h, m, "bad chunk size");
		return;
	}
	line_reset(m);
	if (size == 0) {
		m->head_bytes = 0; /* the trailer section gets its own limit */
		m->state = HS_TRAILER;
		return;
	}
	m->remaining = size;
	m->state = HS_CHUNK_DATA;
}

static size_t st_chunk_size(struct proto_http *h, struct proto_http_msg *m,
			    const uint8_t *p, size_t n)
{
	int req = m == &h->req;
	char *buf = req ? h->hdr_line : h->resp_line;
	size_t cap = req ? PROTO_HTTP_HDR_LINE : PROTO_HTTP_RESP_LINE;
	int done;
	size_t used =
	    http_line_collect(m, buf, cap, p, n, HTTP_CHUNK_LINE_MAX, &done);

	if (done < 0) {
		http_fail(h, m, "chunk size line too long");
		return used;
	}
	msg_count(h, m, used);
	if (done == 1)
		chunk_size_line(h, m, buf, cap);
	return used;
}

/* CRLF (or a bare LF) after chunk data; line_len counts the CR. */
static size_t st_chunk_end(struct proto_http *h, struct proto_http_msg *m,
			   const uint8_t *p, size_t n)
{
	(void)n;
	if (p[0] == '\r' && m->line_len == 0) {
		m->line_len = 1;
	} else if (p[0] == '\n') {
		line_reset(m);
		m->state = HS_CHUNK_SIZE;
	} else {
		http_fail(h, m, "bad chunk end");
		return 1;
	}
	msg_count(h, m, 1);
	return 1;
}

static size_t st_body_close(struct proto_http *h, struct proto_http_msg *m,
			    const uint8_t *p, size_t n)
{
	(void)p;
	msg_count(h, m, n);
	return n;
}

static size_t http_step(struct proto_http *h, struct proto_http_msg *m,
			const uint8_t *p, size_t n)
{
	switch ((enum http_state)m->state) {
	case HS_IDLE:
		return st_idle(h, m, p, n);
	case HS_START_LINE:
		return st_start_line(h, m, p, n);
	case HS_HEADER:
	case HS_TRAILER:
		return st_header(h, m, p, n);
	case HS_BODY_LEN:
	case HS_CHUNK_DATA:
		return st_body(h, m, p, n);
	case HS_CHUNK_SIZE:
		return st_chunk_size(h, m, p, n);
	case HS_CHUNK_END:
		return st_chunk_end(h, m, p, n);
	case HS_BODY_CLOSE:
		return st_body_close(h, m, p, n);
	case HS_HELD:
		return n;
	}
	http_stop_note(h, PT_NOTE_DESYNC, "bad decoder state");
	return n;
}

/* ---- 2. public API ------------------------------------------------------- */

void proto_http_init(struct proto_http *h, enum pt_conn_role role,
		     const struct pt_proto_options *opt,
		     const struct pt_sink *sink)
{
	memset(h, 0, sizeof(*h));
	text_ring_init(&h->text, PROTO_HTTP_ARENA);
	h->role = (uint8_t)role;
	if (sink)
		h->sink = *sink;
	if (opt) {
		h->raw = opt->raw;
		h->raw_max = opt->raw_max;
		h->routes = opt->routes;
	}
	msg_reset(&h->req);
	msg_reset(&h->resp);
}

enum pt_feed_status proto_http_feed(struct proto_http *h, enum pt_dir dir,
				    const uint8_t *buf, size_t len,
				    uint64_t now_ns)
{
	enum pt_dir req_dir =
	    h->role == PT_ROLE_SERVER ? PT_DIR_IN : PT_DIR_OUT;
	struct proto_http_msg *m = dir == req_dir ? &h->req : &h->resp;
	size_t off = 0;

	if (h->stopped)
		return PT_FEED_STOPPED;
	h->now_ns = now_ns;
	while (off < len && !h->stopped)
		off += http_step(h, m, buf + off, len - off);
	return h->stopped ? PT_FEED_STOPPED : PT_FEED_OK;
}

void proto_http_close(struct proto_http *h, uint64_t now_ns)
{
	struct proto_http_msg *m = &h->resp;

	if (h->stopped)
		return;
	h->now_ns = now_ns;
	if (m->state == HS_BODY_CLOSE)
		http_response_final(h, m, m->last_ns, 0);
	while (!h->stopped && h->ring_count > 0) {
		struct proto_http_req *e = ring_at(h, 0);
		uint64_t rb = 0;

		if (e->seq == h->resp_count && m->in_msg)
			rb = m->bytes;
		http_emit(h, e, PT_OUT_ABORTED, 0, rb, now_ns);
		ring_pop(h);
		h->resp_count++;
		msg_reset(m);
	}
	h->stopped = 1;
}

int proto_http_sniff(const uint8_t *buf, size_t len)
{
	static const char *const starts[] = {
	    "GET ",	"POST ",  "PUT ",     "DELETE ", "HEAD ",
	    "OPTIONS ", "PATCH ", "CONNECT ", "TRACE ",	 "PRI ",
	};
	size_t i;

	for (i = 0; i < sizeof(starts) / sizeof(starts[0]); i++) {
		size_t n = strlen(starts[i]);

		if (len >= n && memcmp(buf, starts[i], n) == 0)
			return 1;
	}
	return 0;
}
