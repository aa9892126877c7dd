/*
 * proto_http.c -- HTTP/1.x decoder: request bytes and response bytes in,
 * one struct pt_op per request/response exchange out.
 *
 * Sections:
 *   1. limits and private enums
 *   2. text helpers (tokens, case-insensitive compare, strict numbers)
 *   3. the request ring and its texts
 *   4. events and notes
 *   5. bounded line collection
 *   6. start lines (request line, status line)
 *   7. header fields (framing headers only)
 *   8. end of a head: body framing; end of a message
 *   9. per-state functions and the dispatch switch
 *  10. public API
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
#include "proto_http.h"

#include <string.h>

#include "normalize.h"

/* ---- 1. limits and private enums ---------------------------------------- */

/* A message's start line + header section (+ trailer section) beyond this
 * is a desync: servers refuse far less (h11 16 KiB, nginx 8 KiB per line),
 * so a longer head means we are not looking at HTTP. */
#define HTTP_HEAD_MAX (64u * 1024)
/* A chunk-size line (size + extensions) beyond this is a desync: real
 * extensions are rare and short, and it bounds the bytes scanned. */
#define HTTP_CHUNK_LINE_MAX 4096u
/* Hex digits of a chunk size: 15 keeps the size below 2^60, so no
 * overflow check is needed and no real chunk is refused. */
#define HTTP_CHUNK_HEX_MAX 15u
/* Decimal digits of a Content-Length: 18 stays below 2^63. */
#define HTTP_CL_DIGITS_MAX 18u

enum http_state {
	HS_IDLE = 0,   /* between messages: CR/LF skipped, a byte starts one */
	HS_START_LINE, /* collecting the request line or status line */
	HS_HEADER,     /* collecting a header line */
	HS_BODY_LEN,   /* Content-Length body: `remaining` bytes left */
	HS_CHUNK_SIZE, /* collecting a chunk-size line */
	HS_CHUNK_DATA, /* `remaining` bytes of chunk data left */
	HS_CHUNK_END,  /* the CRLF after chunk data */
	HS_TRAILER,    /* trailer lines up to the empty line */
	HS_BODY_CLOSE, /* response body delimited by the connection's close */
	HS_HELD,       /* request bytes skipped while an upgrade is decided */
};

/* struct proto_http_req.bits */
#define REQ_HEAD    1u /* its response has no body */
#define REQ_CONNECT 2u /* a 2xx response opens a tunnel */
#define REQ_UPGRADE 4u /* a 101 response switches protocol */

enum http_hdr {
	H_OTHER = 0,
	H_CONTENT_LENGTH,
	H_TRANSFER_ENCODING,
	H_CONNECTION,
	H_UPGRADE,
	H_EXPECT,
	H_HOST,
};

/* ---- 2. text helpers ----------------------------------------------------- */

static size_t min_sz(size_t a, size_t b)
{
	return a < b ? a : b;
}

/* RFC 9110 5.6.2 tchar: ALPHA DIGIT and !#$%&'*+-.^_`|~ (a table: one
 * load per byte of every header name). */
#define TC_RANGE(a, b) [a... b] = 1
static const unsigned char tchar_table[256] = {
    TC_RANGE('a', 'z'), TC_RANGE('A', 'Z'), TC_RANGE('0', '9'), ['!'] = 1,
    ['#'] = 1,		['$'] = 1,	    ['%'] = 1,		['&'] = 1,
    ['\''] = 1,		['*'] = 1,	    ['+'] = 1,		['-'] = 1,
    ['.'] = 1,		['^'] = 1,	    ['_'] = 1,		['`'] = 1,
    ['|'] = 1,		['~'] = 1,
};
#undef TC_RANGE

static int is_tchar(unsigned char c)
{
	return tchar_table[c];
}

/* Length of the run of tchars at s[0..n): eight table loads per step
 * while eight bytes are left, then four, then byte by byte (the name of a
 * usual header is 4 to 16 bytes, and this runs once per header line). */
static size_t tchar_span(const char *s, size_t n)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t i = 0;

	while (i + 8 <= n && (tchar_table[u[i]] & tchar_table[u[i + 1]] &
			      tchar_table[u[i + 2]] & tchar_table[u[i + 3]] &
			      tchar_table[u[i + 4]] & tchar_table[u[i + 5]] &
			      tchar_table[u[i + 6]] & tchar_table[u[i + 7]]))
		i += 8;
	if (i + 4 <= n && (tchar_table[u[i]] & tchar_table[u[i + 1]] &
			   tchar_table[u[i + 2]] & tchar_table[u[i + 3]]))
		i += 4;
	while (i < n && tchar_table[u[i]])
		i++;
	return i;
}

static int is_ows(char c)
{
	return c == ' ' || c == '\t';
}

static int is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static int hex_value(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static char lower(char c)
{
	return (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
}

/* s[0..len) equals the lower-case literal lit, ignoring case. */
static int ieq(const char *s, size_t len, const char *lit)
{
	size_t i;

	for (i = 0; i < len; i++)
		if (lit[i] == '\0' || lower(s[i]) != lit[i])
			return 0;
	return lit[i] == '\0';
}

static int eq(const char *s, size_t len, const char *lit)
{
	return strlen(lit) == len && memcmp(s, lit, len) == 0;
}

/* Unaligned loads (memcpy of a constant size compiles to one move). */
static uint64_t load8(const char *s)
{
	uint64_t v;

	memcpy(&v, s, 8);
	return v;
}

static uint32_t load4(const char *s)
{
	uint32_t v;

	memcpy(&v, s, 4);
	return v;
}

/* Strip optional whitespace from both ends of *s[0..*len). */
static void trim_ows(const char **s, size_t *len)
{
	while (*len && is_ows(**s)) {
		(*s)++;
		(*len)--;
	}
	while (*len && is_ows((*s)[*len - 1]))
		(*len)--;
}

/*
 * Next element of a comma-separated list in v[*pos..len), trimmed, with
 * any ";parameters" cut off.  Returns 0 when the list is exhausted.  Empty
 * elements (", ,") are skipped, as RFC 9110 5.6.1 asks.
 */
static int list_next(const char *v, size_t len, size_t *pos, const char **el,
		     size_t *el_len)
{
	while (*pos < len) {
		const char *s = v + *pos;
		const char *comma = memchr(s, ',', len - *pos);
		size_t n = comma ? (size_t)(comma - s) : len - *pos;
		const char *semi = memchr(s, ';', n);

		*pos += n + (comma ? 1 : 0);
		*el = s;
		*el_len = semi ? (size_t)(semi - s) : n;
		trim_ows(el, el_len);
		if (*el_len)
			return 1;
	}
	return 0;
}

/* Strict decimal: 1..HTTP_CL_DIGITS_MAX digits, nothing else. */
static int parse_decimal(const char *s, size_t len, uint64_t *out)
{
	uint64_t v = 0;
	size_t i;

	if (len == 0 || len > HTTP_CL_DIGITS_MAX)
		return -1;
	for (i = 0; i < len; i++) {
		if (!is_digit(s[i]))
			return -1;
		v = v * 10 + (uint64_t)(s[i] - '0');
	}
	*out = v;
	return 0;
}

/* ---- 3. the request ring and its texts ----------------------------------- */

static struct proto_http_req *ring_at(struct proto_http *h, uint32_t i)
{
	return &h->ring[(h->ring_head + i) % PROTO_HTTP_RING];
}

static void ring_pop(struct proto_http *h)
{
	h->ring_head = (h->ring_head + 1) % PROTO_HTTP_RING;
	h->ring_count--;
}

/* The first queued request's text: where the live texts start. */
static uint32_t oldest_text(struct proto_http *h)
{
	for (uint32_t i = 0; i < h->ring_count; i++) {
		const struct proto_http_req *e = ring_at(h, i);
		if (e->text_len)
			return e->text_off;
	}
	return TEXT_RING_EMPTY;
}

/* Texts live in arena[] in the order of their requests (text_ring.h):
 * the offset and size of the largest contiguous free space, at most
 * want. */
static uint32_t arena_reserve(struct proto_http *h, uint32_t want,
			      uint32_t *off)
{
	return text_ring_reserve(&h->text, oldest_text(h), want, off);
}

/* The queued request the response being parsed answers, or NULL when that
 * request was not queued (ring full). */
static struct proto_http_req *resp_entry(struct proto_http *h)
{
	struct proto_http_req *e;

	if (h->ring_count == 0)
		return NULL;
	e = ring_at(h, 0);
	return e->seq == h->resp_count ? e : NULL;
}

/*
 * Split a request target into the host it names (absolute-form
 * "http://host:port/p", authority-form "host:port" of CONNECT) and its
 * path + query (origin-form "/p?q", asterisk-form "*").
 */
static void target_split(const char *t, size_t tl, const char **host,
			 size_t *hl, const char **path, size_t *pl)
{
	const char *sep, *end;
	size_t i;

	*host = NULL;
	*hl = 0;
	*path = t;
	*pl = tl;
	if (tl == 0 || t[0] == '/' || t[0] == '*')
		return;
	sep = memmem(t, tl, "://", 3);
	if (sep == NULL) { /* authority-form */
		*host = t;
		*hl = tl;
		*pl = 0;
		return;
	}
	*host = sep + 3;
	end = t + tl;
	for (i = 0; *host + i < end; i++)
		if (strchr("/?#", (*host)[i]) != NULL)
			break;
	*hl = i;
	*path = *host + i;
	*pl = (size_t)(end - *path);
}

/* Write the event text of the request just parsed into the arena:
 * "METHOD /route" (server) or "METHOD host/route" (client). */
static void text_make(struct proto_http *h, struct proto_http_req *e)
{
	const char *t = h->start_line + h->target_off;
	const char *host, *path;
	size_t hl, pl, n, room, k;
	uint32_t off, cap;
	int cut = h->target_cut;
	char *out;

	target_split(t, h->target_len, &host, &hl, &path, &pl);
	if (h->role == PT_ROLE_SERVER) {
		hl = 0;
	} else if (hl == 0) {
		host = h->host;
		hl = h->host_len;
		cut |= h->host_cut;
	}
	cap = arena_reserve(h, PT_TEXT_MAX + 1, &off); /* +1: route's NUL */
	e->text_off = (uint16_t)off;
	e->text_len = 0;
	if (cap < h->method_len + 2) {
		e->flags |= PT_EV_TRUNCATED;
		return;
	}
	out = h->arena + off;
	memcpy(out, h->start_line, h->method_len);
	n = h->method_len;
	out[n++] = ' ';
	k = min_sz(hl, cap - 1 - n);
	if (k > 0) /* host may be NULL when hl is 0 */
		memcpy(out + n, host, k);
	n += k;
	cut |= k < hl;
	room = cap - n; /* >= 1 */
	if (h->raw) {
		size_t lim = h->raw_max ? h->raw_max : PT_TEXT_MAX;

		k = min_sz(min_sz(pl, lim), room - 1);
		memcpy(out + n, path, k);
		n += k;
		cut |= k < pl;
		e->flags |= PT_EV_RAW;
	} else if (room > 1) {
		/* The query string and fragment never reach the normalizer:
		 * the path ends at the first `?` or `#`. */
		const char *q = memchr(path, '?', pl);
		size_t plen = q ? (size_t)(q - path) : pl;
		const char *f = memchr(path, '#', plen);

		if (f)
			plen = (size_t)(f - path);
		k = pt_http_route(path, plen, h->routes, out + n, room);
		n += k;
		cut |= plen > 0 && k + 1 >= room;
	}
	if (cut)
		e->flags |= PT_EV_TRUNCATED;
	e->text_len = (uint16_t)n;
	text_ring_commit(&h->text, off, (uint32_t)n);
}

/* ---- 4. events and notes ------------------------------------------------- */

static void stop_note(struct proto_http *h, enum pt_note note, const char *why)
{
	if (h->stopped)
		return;
	h->stopped = 1;
	if (h->sink.note)
		h->sink.note(h->sink.arg, note, why, strlen(why), 0);
}

/*
 * The parser of m cannot go on.  Request bytes after a request that asked
 * for a protocol switch may be the new protocol: hold them until the
 * response decides (section 8, response_final).
 */
static void fail(struct proto_http *h, struct proto_http_msg *m,
		 const char *why)
{
	if (m == &h->req && h->upg_outstanding > 0) {
		m->state = HS_HELD;
		h->held = 1;
		return;
	}
	stop_note(h, PT_NOTE_DESYNC, why);
}

static void emit(struct proto_http *h, const struct proto_http_req *e,
		 uint8_t outcome, int32_t status, uint64_t resp_bytes,
		 uint64_t end_ns)
{
	struct pt_op op;

	memset(&op, 0, sizeof(op));
	op.outcome = outcome;
	op.status = status;
	op.start_ns = e->start_ns;
	op.end_ns = end_ns;
	if (h->role == PT_ROLE_SERVER) {
		op.kind = PT_KIND_HTTP_IN;
		op.bytes_in = e->bytes;
		op.bytes_out = resp_bytes;
	} else {
		op.kind = PT_KIND_HTTP_OUT;
		op.bytes_out = e->bytes;
		op.bytes_in = resp_bytes;
	}
	op.flags = e->flags;
	op.text = e->text_len ? h->arena + e->text_off : NULL;
	op.text_len = e->text_len;
	if (h->sink.op)
		h->sink.op(h->sink.arg, &op);
}

/* Account k bytes to the message m; a queued request's entry follows. */
static void msg_count(struct proto_http *h, struct proto_http_msg *m, size_t k)
{
	struct proto_http_req *e;

	m->bytes += k;
	m->last_ns = h->now_ns;
	if (m != &h->req || !m->queued || h->ring_count == 0)
		return;
	e = ring_at(h, h->ring_count - 1);
	if (e->seq == h->cur_seq) /* else already answered and popped */
		e->bytes = m->bytes;
}

/* Forget a head's framing facts (after a 1xx, the final head follows). */
static void msg_reset_head(struct proto_http_msg *m)
{
	m->line_len = 0;
	m->line_over = 0;
	m->has_cl = m->te_seen = m->chunked = m->upgrade = 0;
	m->conn_close = m->expect = m->host_seen = m->last_hdr = 0;
	m->head_bytes = 0;
	m->remaining = 0;
	m->content_length = 0;
	m->status = 0;
}

static void msg_reset(struct proto_http_msg *m)
{
	memset(m, 0, sizeof(*m));
	m->state = HS_IDLE;
}

/* ---- 5. bounded line collection ------------------------------------------ */

/* Keep the last PROTO_HTTP_TAIL bytes of the line, right-aligned. */
static void tail_push(struct proto_http_msg *m, const uint8_t *p, size_t k)
{
	if (k >= PROTO_HTTP_TAIL) {
		memcpy(m->tail, p + k - PROTO_HTTP_TAIL, PROTO_HTTP_TAIL);
		return;
	}
	memmove(m->tail, m->tail + k, PROTO_HTTP_TAIL - k);
	memcpy(m->tail + PROTO_HTTP_TAIL - k, p, k);
}

/*
 * Collect the current line from p[0..n) into buf (first cap bytes kept,
 * the rest only counted, the tail kept).  Returns bytes consumed; *done is
 * 1 when the LF was among them, 0 when more is needed, -1 when the line
 * (LF included) would exceed limit bytes.
 */
static size_t line_collect(struct proto_http_msg *m, char *buf, size_t cap,
			   const uint8_t *p, size_t n, size_t limit, int *done)
{
	const uint8_t *lf = memchr(p, '\n', n);
	size_t take = lf ? (size_t)(lf - p) : n;

	*done = 0;
	if (m->line_len + take + (lf ? 1 : 0) > limit) {
		*done = -1;
		return n;
	}
	if (m->line_len < cap)
		memcpy(buf + m->line_len, p, min_sz(take, cap - m->line_len));
	if (m->line_len + take > cap)
		m->line_over = 1;
	tail_push(m, p, take);
	m->line_len += (uint32_t)take;
	if (lf == NULL)
		return take;
	*done = 1;
	return take + 1;
}

/* The finished line's content (CR before LF excluded): *len bytes, of
 * which the first *kept are in the buffer. */
static void line_span(const struct proto_http_msg *m, size_t cap, size_t *len,
		      size_t *kept)
{
	size_t l = m->line_len;

	if (l && m->tail[PROTO_HTTP_TAIL - 1] == '\r')
		l--;
	*len = l;
	*kept = min_sz(l, cap);
}

/* Copy the last k (< PROTO_HTTP_TAIL) content bytes of the line to out. */
static void line_last(const struct proto_http_msg *m, const char *buf,
		      size_t cap, size_t len, size_t k, char *out)
{
	size_t cr = m->line_len - len;

	if (len <= cap)
		memcpy(out, buf + len - k, k);
	else
		memcpy(out, m->tail + PROTO_HTTP_TAIL - cr - k, k);
}

static void line_reset(struct proto_http_msg *m)
{
	m->line_len = 0;
	m->line_over = 0;
}

/* Room left for the head's lines. */
static size_t head_room(const struct proto_http_msg *m)
{
	return HTTP_HEAD_MAX - m->head_bytes;
}

/* ---- 6. start lines ------------------------------------------------------ */

/*
 * No byte of t[0..n) is a control byte, a space or DEL.  Eight bytes per
 * step with the usual "has a byte below k" bit trick: for any word,
 * (x - 0x21 each) & ~x & 0x80 each is non-zero exactly when some byte is
 * below 0x21 (a borrow can only add flags above a byte truly below; it
 * never creates the first one), and x ^ 0x7f each turns DEL into 0.
 */
static int target_clean(const char *t, size_t n)
{
	const uint64_t ones = 0x0101010101010101ull, highs = ones * 0x80;
	size_t i = 0;

	for (; i + 8 <= n; i += 8) {
		uint64_t x = load8(t + i), d = x ^ (ones * 0x7f);

		if (((x - ones * 0x21) & ~x & highs) ||
		    ((d - ones) & ~d & highs))
			return 0;
	}
	for (; i < n; i++)
		if ((unsigned char)t[i] <= ' ' || t[i] == 0x7f)
			return 0;
	return 1;
}

/* "METHOD SP request-target SP HTTP/1.x"; the target is kept in place in
 * start_line for text_make. */
static void request_line(struct proto_http *h, struct proto_http_msg *m)
{
	const char *l = h->start_line;
	size_t len, kept, i, total;
	char ver[9];

	line_span(m, PROTO_HTTP_START_LINE, &len, &kept);
	for (i = 0; i < kept && i < PROTO_HTTP_METHOD && is_tchar(l[i]); i++)
		;
	if (i == 0 || i >= kept || l[i] != ' ' || len < i + 1 + 1 + 9) {
		fail(h, m, "bad request line");
		return;
	}
	line_last(m, l, PROTO_HTTP_START_LINE, len, 9, ver);
	if (memcmp(ver, " HTTP/2.0", 9) == 0 && eq(l, i, "PRI")) {
		/* After an h2c Upgrade request, let its response decide. */
		if (h->upg_outstanding > 0)
			fail(h, m, "HTTP/2 preface before 101");
		else
			stop_note(h, PT_NOTE_UPGRADED, "HTTP/2 preface");
		return;
	}
	if (memcmp(ver, " HTTP/1.", 8) != 0 ||
	    (ver[8] != '0' && ver[8] != '1')) {
		fail(h, m, "bad request line");
		return;
	}
	h->method_len = (uint32_t)i;
	h->target_off = (uint32_t)i + 1;
	total = len - 9 - (i + 1);
	h->target_len = (uint32_t)min_sz(total, kept - (i + 1));
	h->target_cut = h->target_len < total;
	if (!target_clean(l + h->target_off, h->target_len)) {
		fail(h, m, "bad request target");
		return;
	}
	m->vminor = (uint8_t)(ver[8] - '0');
	m->state = HS_HEADER;
}

/* "HTTP/1.x SP 3DIGIT [SP reason]" */
static void status_line(struct proto_http *h, struct proto_http_msg *m)
{
	const char *l = h->resp_line;
	size_t len, kept;

	line_span(m, PROTO_HTTP_RESP_LINE, &len, &kept);
	if (kept < 12 || memcmp(l, "HTTP/1.", 7) != 0 ||
	    (l[7] != '0' && l[7] != '1') || l[8] != ' ' || l[9] < '1' ||
	    l[9] > '9' || !is_digit(l[10]) || !is_digit(l[11]) ||
	    (len > 12 && l[12] != ' ')) {
		fail(h, m, "bad status line");
		return;
	}
	m->vminor = (uint8_t)(l[7] - '0');
	m->status =
	    (uint16_t)((l[9] - '0') * 100 + (l[10] - '0') * 10 + (l[11] - '0'));
	m->state = HS_HEADER;
}

/* ---- 7. header fields ---------------------------------------------------- */

/*
 * name[0..len) equals the lower-case literal lit of the same length
 * (4 <= len), ignoring case: whole words (the last one overlapping the one
 * before) compared with 0x20 set in every byte.  Note: only for a name
 * already checked to be tchars.  Among tchars, setting 0x20 maps exactly
 * A-Z to a-z and leaves the rest alone; the literals are letters and `-`,
 * which no other tchar reaches (only 0x0D would, and it is no tchar).
 */
static int name_ieq(const char *name, size_t len, const char *lit)
{
	const uint64_t low8 = 0x2020202020202020ull;
	const uint32_t low4 = 0x20202020u;
	size_t i;

	if (len < 8)
		return (load4(name) | low4) == load4(lit) &&
		       (load4(name + len - 4) | low4) == load4(lit + len - 4);
	for (i = 0; i + 8 <= len; i += 8)
		if ((load8(name + i) | low8) != load8(lit + i))
			return 0;
	return i == len ||
	       (load8(name + len - 8) | low8) == load8(lit + len - 8);
}

/* By length first: most names (User-Agent, Accept, Date, ...) are
 * dismissed without comparing a byte.  name is all tchars. */
static enum http_hdr header_id(const char *name, size_t len)
{
	switch (len) {
	case 14:
		return name_ieq(name, len, "content-length") ? H_CONTENT_LENGTH
							     : H_OTHER;
	case 17:
		return name_ieq(name, len, "transfer-encoding")
			   ? H_TRANSFER_ENCODING
			   : H_OTHER;
	case 10:
		return name_ieq(name, len, "connection") ? H_CONNECTION
							 : H_OTHER;
	case 7:
		return name_ieq(name, len, "upgrade") ? H_UPGRADE : H_OTHER;
	case 6:
		return name_ieq(name, len, "expect") ? H_EXPECT : H_OTHER;
	case 4:
		return name_ieq(name, len, "host") ? H_HOST : H_OTHER;
	}
	return H_OTHER;
}

/* Content-Length: a number, or a list of the same number (RFC 9110 8.6);
 * a value differing from an earlier one is a desync. */
static void content_length(struct proto_http *h, struct proto_http_msg *m,
			   const char *v, size_t vl)
{
	const char *el;
	size_t el_len, pos = 0;
	uint64_t n;
	int any = 0;

	/* The usual value, one number, is the list of one element it would
	 * give (v is trimmed, and holds no `,` or `;`). */
	if (parse_decimal(v, vl, &n) == 0) {
		if (m->has_cl && n != m->content_length) {
			fail(h, m, "bad Content-Length");
			return;
		}
		m->has_cl = 1;
		m->content_length = n;
		return;
	}
	while (list_next(v, vl, &pos, &el, &el_len)) {
		if (parse_decimal(el, el_len, &n) != 0 ||
		    (m->has_cl && n != m->content_length)) {
			fail(h, m, "bad Content-Length");
			return;
		}
		m->has_cl = 1;
		m->content_length = n;
		any = 1;
	}
	if (!any)
		fail(h, m, "bad Content-Length");
}

/* The last coding decides; later headers continue the list. */
static void transfer_encoding(struct proto_http_msg *m, const char *v,
			      size_t vl)
{
	const char *el;
	size_t el_len, pos = 0;

	while (list_next(v, vl, &pos, &el, &el_len)) {
		m->te_seen = 1;
		m->chunked = ieq(el, el_len, "chunked");
	}
}

static void connection_tokens(struct proto_http_msg *m, const char *v,
			      size_t vl)
{
	const char *el;
	size_t el_len, pos = 0, i;

	/* The usual value is one token ("keep-alive"): with no `,` or `;`
	 * the list is that token alone (v is trimmed). */
	for (i = 0; i < vl && v[i] != ',' && v[i] != ';'; i++)
		;
	if (i == vl) {
		if (ieq(v, vl, "close"))
			m->conn_close = 1;
		return;
	}
	while (list_next(v, vl, &pos, &el, &el_len))
		if (ieq(el, el_len, "close"))
			m->conn_close = 1;
}

/* Host (client text only): the first one, cut at PROTO_HTTP_HOST. */
static void host_value(struct proto_http *h, struct proto_http_msg *m,
		       const char *v, size_t vl, int over)
{
	if (m != &h->req || m->host_seen)
		return;
	m->host_seen = 1;
	/* A host name holds no blank or control byte: cut at the first one,
	 * so that no NUL or line break reaches the event text. */
	for (size_t i = 0; i < vl; i++)
		if ((unsigned char)v[i] <= ' ' || v[i] == 0x7f) {
			vl = i;
			over = 1;
			break;
		}
	h->host_len = (uint32_t)min_sz(vl, PROTO_HTTP_HOST);
	memcpy(h->host, v, h->host_len);
	h->host_cut = over || h->host_len < vl;
}

static void header_field(struct proto_http *h, struct proto_http_msg *m,
			 enum http_hdr id, const char *v, size_t vl, int over)
{
	if (over && (id == H_CONTENT_LENGTH || id == H_TRANSFER_ENCODING)) {
		fail(h, m, "framing header too long");
		return;
	}
	switch (id) {
	case H_CONTENT_LENGTH:
		content_length(h, m, v, vl);
		break;
	case H_TRANSFER_ENCODING:
		transfer_encoding(m, v, vl);
		break;
	case H_CONNECTION:
		connection_tokens(m, v, vl);
		break;
	case H_UPGRADE:
		m->upgrade = vl > 0;
		break;
	case H_EXPECT:
		m->expect = ieq(v, vl, "100-continue");
		break;
	case H_HOST:
		host_value(h, m, v, vl, over);
		break;
	case H_OTHER:
		break;
	}
}

static void head_done(struct proto_http *h, struct proto_http_msg *m);

/* A header line the name check refused: which failure it is (or, for a
 * long line with no colon in its kept bytes, none: a name longer than the
 * buffer is no framing header). */
static void header_bad_name(struct proto_http *h, struct proto_http_msg *m,
			    const char *buf, size_t kept, int over)
{
	if (memchr(buf, ':', kept) != NULL) {
		fail(h, m, "bad header name");
		return;
	}
	if (!over)
		fail(h, m, "bad header line");
	m->last_hdr = H_OTHER;
}

/*
 * One finished header line: len content bytes (CR before LF excluded), of
 * which the first kept are at buf; over: the line was longer than its
 * buffer.  buf is the line buffer, or the caller's bytes (fast path).
 */
static void header_line_at(struct proto_http *h, struct proto_http_msg *m,
			   const char *buf, size_t len, size_t kept, int over)
{
	size_t nl;
	const char *v;
	enum http_hdr id;

	if (len == 0) {
		head_done(h, m);
		return;
	}
	if (is_ows(buf[0])) { /* obs-fold continues the previous field */
		if (m->last_hdr == H_CONTENT_LENGTH ||
		    m->last_hdr == H_TRANSFER_ENCODING)
			fail(h, m, "folded framing header");
		return;
	}
	/* The name is all tchars up to the colon: one pass finds the colon
	 * and checks the name (the usual line); anything else is sorted out
	 * by header_bad_name(). */
	nl = tchar_span(buf, kept);
	if (nl == kept || buf[nl] != ':' || nl == 0) {
		header_bad_name(h, m, buf, kept, over);
		return;
	}
	id = header_id(buf, nl);
	m->last_hdr = (uint8_t)id;
	if (id == H_OTHER) /* its value is never looked at */
		return;
	v = buf + nl + 1;
	kept -= nl + 1;
	trim_ows(&v, &kept);
	header_field(h, m, id, v, kept, over);
}

/* One finished header line collected in buf (its first cap bytes). */
static void header_line(struct proto_http *h, struct proto_http_msg *m,
			const char *buf, size_t cap)
{
	size_t len, kept;

	line_span(m, cap, &len, &kept);
	header_line_at(h, m, buf, len, kept, m->line_over);
}

/* ---- 8. ends of heads and messages --------------------------------------- */

/* Queue the request whose head just ended (or count it, ring full). */
static void request_queue(struct proto_http *h, struct proto_http_msg *m,
			  uint8_t bits)
{
	struct proto_http_req *e;
	int pipelined = h->resp_count < h->req_count;

	h->cur_seq = h->req_count++;
	if (h->ring_count == PROTO_HTTP_RING) {
		h->dropped++;
		/* Without its entry its response cannot be framed. */
		if (bits) {
			stop_note(h, PT_NOTE_DESYNC,
				  "unqueued special request");
			return;
		}
		if (h->sink.note)
			h->sink.note(h->sink.arg, PT_NOTE_QUEUE_FULL,
				     "request ring full", 17, h->dropped);
		return;
	}
	e = ring_at(h, h->ring_count++);
	memset(e, 0, sizeof(*e));
	e->seq = h->cur_seq;
	e->start_ns = m->start_ns;
	e->bytes = m->bytes;
	e->bits = bits;
	e->flags = pipelined ? PT_EV_PIPELINED : 0;
	text_make(h, e);
	if (bits & (REQ_CONNECT | REQ_UPGRADE))
		h->upg_outstanding++;
	m->queued = 1;
}

static void request_done(struct proto_http *h, struct proto_http_msg *m)
{
	(void)h;
	msg_reset(m);
}

/* The final response of the oldest exchange ended at end_ns: report it.
 * switching: the protocol changes after it (the caller notes and stops). */
static void response_final(struct proto_http *h, struct proto_http_msg *m,
			   uint64_t end_ns, int switching)
{
	struct proto_http_req *e = resp_entry(h);
	uint8_t bits = 0;

	if (e != NULL) {
		bits = e->bits;
		emit(h, e, PT_OUT_HTTP, m->status, m->bytes, end_ns);
		ring_pop(h);
	}
	h->resp_count++;
	if (bits & (REQ_CONNECT | REQ_UPGRADE))
		h->upg_outstanding--;
	msg_reset(m);
	if (!switching && h->held && h->upg_outstanding == 0)
		stop_note(h, PT_NOTE_DESYNC, "bad request after upgrade");
}

static void request_head_done(struct proto_http *h, struct proto_http_msg *m)
{
	const char *meth = h->start_line;
	uint8_t bits = 0;

	if (eq(meth, h->method_len, "HEAD"))
		bits |= REQ_HEAD;
	if (eq(meth, h->method_len, "CONNECT"))
		bits |= REQ_CONNECT;
	if (m->upgrade)
		bits |= REQ_UPGRADE;
	if (m->te_seen && !m->chunked) {
		fail(h, m, "request transfer coding");
		return;
	}
	request_queue(h, m, bits);
	if (h->stopped)
		return;
	line_reset(m);
	if (m->te_seen) {
		m->state = HS_CHUNK_SIZE;
	} else if (m->has_cl && m->content_length > 0) {
		m->remaining = m->content_length;
		m->state = HS_BODY_LEN;
	} else {
		request_done(h, m);
	}
}

static void response_head_done(struct proto_http *h, struct proto_http_msg *m)
{
	struct proto_http_req *e = resp_entry(h);
	uint8_t bits = e ? e->bits : 0;
	uint16_t st = m->status;

	line_reset(m);
	if (st == 101 || ((bits & REQ_CONNECT) && st / 100 == 2)) {
		response_final(h, m, h->now_ns, 1);
		stop_note(h, PT_NOTE_UPGRADED,
			  st == 101 ? "101 Switching Protocols"
				    : "CONNECT tunnel");
		return;
	}
	if (st < 200) { /* interim: the same exchange goes on */
		msg_reset_head(m);
		m->interim = 1;
		m->state = HS_IDLE;
		return;
	}
	if ((bits & REQ_HEAD) || st == 204 || st == 304)
		response_final(h, m, h->now_ns, 0);
	else if (m->te_seen)
		m->state = m->chunked ? HS_CHUNK_SIZE : HS_BODY_CLOSE;
	else if (m->has_cl && m->content_length > 0) {
		m->remaining = m->content_length;
		m->state = HS_BODY_LEN;
	} else if (m->has_cl)
		response_final(h, m, h->now_ns, 0);
	else
		m->state = HS_BODY_CLOSE;
}

static void head_done(struct proto_http *h, struct proto_http_msg *m)
{
	if (m == &h->req)
		request_head_done(h, m);
	else
		response_head_done(h, m);
}

/* The body (or trailers) of m ended. */
static void message_done(struct proto_http *h, struct proto_http_msg *m)
{
	if (m == &h->req)
		request_done(h, m);
	else
		response_final(h, m, h->now_ns, 0);
}

/* The first byte of a message (not CR/LF) is in this feed. */
static void message_begin(struct proto_http *h, struct proto_http_msg *m)
{
	if (m == &h->resp) {
		if (h->resp_count >= h->req_count) {
			stop_note(h, PT_NOTE_DESYNC,
				  "response without a request");
			return;
		}
		if (!m->interim) {
			m->start_ns = h->now_ns;
			m->bytes = 0;
		}
	} else {
		m->start_ns = h->now_ns;
		m->bytes = 0;
		h->host_len = 0;
		h->host_cut = 0;
	}
	m->in_msg = 1;
	line_reset(m);
	m->state = HS_START_LINE;
}

/* ---- 9. per-state functions and the dispatch switch ---------------------- */

/* Each returns the bytes it consumed; 0 only when it changed state (or
 * stopped), so the feed loop always progresses. */

static size_t st_idle(struct proto_http *h, struct proto_http_msg *m,
		      const uint8_t *p, size_t n)
{
	size_t i = 0;

	while (i < n && (p[i] == '\r' || p[i] == '\n'))
		i++;
	if (i < n)
		message_begin(h, m);
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
			fail(h, m, "bad status line");
		return;
	}
	for (i = 0; i < n && i <= PROTO_HTTP_METHOD; i++) {
		if (buf[i] == ' ' && i > 0)
			return;
		if (!is_tchar((unsigned char)buf[i])) {
			fail(h, m, "bad request line");
			return;
		}
	}
	if (i > PROTO_HTTP_METHOD)
		fail(h, m, "bad request line");
}

static size_t st_start_line(struct proto_http *h, struct proto_http_msg *m,
			    const uint8_t *p, size_t n)
{
	int req = m == &h->req;
	char *buf = req ? h->start_line : h->resp_line;
	size_t cap = req ? PROTO_HTTP_START_LINE : PROTO_HTTP_RESP_LINE;
	int done;
	size_t used = line_collect(m, buf, cap, p, n, head_room(m), &done);

	if (done < 0) {
		fail(h, m, "start line too long");
		return used;
	}
	msg_count(h, m, used);
	if (done == 0) {
		start_line_prefix(h, m, buf, cap);
		return used;
	}
	m->head_bytes += m->line_len + 1;
	if (req)
		request_line(h, m);
	else
		status_line(h, m);
	line_reset(m);
	return used;
}

/*
 * Fast path of st_header: the header (or trailer) lines that lie whole in
 * p, each parsed where it lies.  A head usually arrives in one read; this
 * skips, per line, the copy into the line buffer, the tail bookkeeping and
 * a trip through the dispatch switch.  It takes a line only when the line
 * starts at p[0] (nothing of it collected yet), its LF is in p and it fits
 * the head's room; anything else is left to line_collect().  Each line
 * goes through the same header_line_at() with the same len, kept and
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
				message_done(h, m);
			continue;
		}
		header_line_at(h, m, (const char *)l, len, min_sz(len, cap),
			       take > cap);
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
	used = line_collect(m, buf, cap, p, n, head_room(m), &done);

	if (done < 0) {
		fail(h, m, "header section too long");
		return used;
	}
	msg_count(h, m, used);
	if (done == 0)
		return used;
	m->head_bytes += m->line_len + 1;
	if (m->state == HS_TRAILER) {
		size_t len, kept;

		line_span(m, cap, &len, &kept);
		line_reset(m);
		if (len == 0)
			message_done(h, m);
		return used;
	}
	header_line(h, m, buf, cap);
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
		message_done(h, m);
	}
	return k;
}

/* "1a2b[ ;ext=val]" */
static void chunk_size_line(struct proto_http *h, struct proto_http_msg *m,
			    const char *buf, size_t cap)
{
	size_t len, kept, i;
	uint64_t size = 0;

	line_span(m, cap, &len, &kept);
	for (i = 0; i < kept && hex_value(buf[i]) >= 0; i++) {
		if (i == HTTP_CHUNK_HEX_MAX) {
			fail(h, m, "chunk size too large");
			return;
		}
		size = size * 16 + (uint64_t)hex_value(buf[i]);
	}
	if (i == 0) {
		fail(h, m, "bad chunk size");
		return;
	}
	while (i < kept && is_ows(buf[i]))
		i++;
	if (i < kept && buf[i] != ';') {
		fail(h, m, "bad chunk size");
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
	    line_collect(m, buf, cap, p, n, HTTP_CHUNK_LINE_MAX, &done);

	if (done < 0) {
		fail(h, m, "chunk size line too long");
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
		fail(h, m, "bad chunk end");
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
	stop_note(h, PT_NOTE_DESYNC, "bad decoder state");
	return n;
}

/* ---- 10. public API ------------------------------------------------------ */

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
		response_final(h, m, m->last_ns, 0);
	while (!h->stopped && h->ring_count > 0) {
		struct proto_http_req *e = ring_at(h, 0);
		uint64_t rb = 0;

		if (e->seq == h->resp_count && m->in_msg)
			rb = m->bytes;
		emit(h, e, PT_OUT_ABORTED, 0, rb, now_ns);
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
