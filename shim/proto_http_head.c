/*
 * proto_http_head.c -- the heads of HTTP/1.x messages: lines collected
 * within bounds, the request line and the status line, and the header
 * fields that frame a message (Content-Length, Transfer-Encoding,
 * Connection, Upgrade, Expect, Host).  The decoder's rules are listed in
 * proto_http.c.
 *
 * Sections:
 *   1. bounded line collection
 *   2. start lines (request line, status line)
 *   3. header fields (framing headers only)
 */
#include "proto_http_int.h"

#include "normalize.h"

/* ---- 1. bounded line collection ------------------------------------------ */

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
size_t http_line_collect(struct proto_http_msg *m, char *buf, size_t cap,
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
void http_line_span(const struct proto_http_msg *m, size_t cap, size_t *len,
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

/* ---- 2. start lines ------------------------------------------------------ */

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
void http_request_line(struct proto_http *h, struct proto_http_msg *m)
{
	const char *l = h->start_line;
	size_t len, kept, i, total;
	char ver[9];

	http_line_span(m, PROTO_HTTP_START_LINE, &len, &kept);
	for (i = 0; i < kept && i < PROTO_HTTP_METHOD && is_tchar(l[i]); i++)
		;
	if (i == 0 || i >= kept || l[i] != ' ' || len < i + 1 + 1 + 9) {
		http_fail(h, m, "bad request line");
		return;
	}
	line_last(m, l, PROTO_HTTP_START_LINE, len, 9, ver);
	if (memcmp(ver, " HTTP/2.0", 9) == 0 && eq(l, i, "PRI")) {
		/* After an h2c Upgrade request, let its response decide. */
		if (h->upg_outstanding > 0)
			http_fail(h, m, "HTTP/2 preface before 101");
		else
			http_stop_note(h, PT_NOTE_UPGRADED, "HTTP/2 preface");
		return;
	}
	if (memcmp(ver, " HTTP/1.", 8) != 0 ||
	    (ver[8] != '0' && ver[8] != '1')) {
		http_fail(h, m, "bad request line");
		return;
	}
	h->method_len = (uint32_t)i;
	h->target_off = (uint32_t)i + 1;
	total = len - 9 - (i + 1);
	h->target_len = (uint32_t)min_sz(total, kept - (i + 1));
	h->target_cut = h->target_len < total;
	if (!target_clean(l + h->target_off, h->target_len)) {
		http_fail(h, m, "bad request target");
		return;
	}
	m->vminor = (uint8_t)(ver[8] - '0');
	m->state = HS_HEADER;
}

/* "HTTP/1.x SP 3DIGIT [SP reason]" */
void http_status_line(struct proto_http *h, struct proto_http_msg *m)
{
	const char *l = h->resp_line;
	size_t len, kept;

	http_line_span(m, PROTO_HTTP_RESP_LINE, &len, &kept);
	if (kept < 12 || memcmp(l, "HTTP/1.", 7) != 0 ||
	    (l[7] != '0' && l[7] != '1') || l[8] != ' ' || l[9] < '1' ||
	    l[9] > '9' || !is_digit(l[10]) || !is_digit(l[11]) ||
	    (len > 12 && l[12] != ' ')) {
		http_fail(h, m, "bad status line");
		return;
	}
	m->vminor = (uint8_t)(l[7] - '0');
	m->status =
	    (uint16_t)((l[9] - '0') * 100 + (l[10] - '0') * 10 + (l[11] - '0'));
	m->state = HS_HEADER;
}

/* ---- 3. header fields ---------------------------------------------------- */

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
			http_fail(h, m, "bad Content-Length");
			return;
		}
		m->has_cl = 1;
		m->content_length = n;
		return;
	}
	while (list_next(v, vl, &pos, &el, &el_len)) {
		if (parse_decimal(el, el_len, &n) != 0 ||
		    (m->has_cl && n != m->content_length)) {
			http_fail(h, m, "bad Content-Length");
			return;
		}
		m->has_cl = 1;
		m->content_length = n;
		any = 1;
	}
	if (!any)
		http_fail(h, m, "bad Content-Length");
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
		http_fail(h, m, "framing header too long");
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

/* A header line the name check refused: which failure it is (or, for a
 * long line with no colon in its kept bytes, none: a name longer than the
 * buffer is no framing header). */
static void header_bad_name(struct proto_http *h, struct proto_http_msg *m,
			    const char *buf, size_t kept, int over)
{
	if (memchr(buf, ':', kept) != NULL) {
		http_fail(h, m, "bad header name");
		return;
	}
	if (!over)
		http_fail(h, m, "bad header line");
	m->last_hdr = H_OTHER;
}

/*
 * One finished header line: len content bytes (CR before LF excluded), of
 * which the first kept are at buf; over: the line was longer than its
 * buffer.  buf is the line buffer, or the caller's bytes (fast path).
 */
void http_header_line_at(struct proto_http *h, struct proto_http_msg *m,
			 const char *buf, size_t len, size_t kept, int over)
{
	size_t nl;
	const char *v;
	enum http_hdr id;

	if (len == 0) {
		http_head_done(h, m);
		return;
	}
	if (is_ows(buf[0])) { /* obs-fold continues the previous field */
		if (m->last_hdr == H_CONTENT_LENGTH ||
		    m->last_hdr == H_TRANSFER_ENCODING)
			http_fail(h, m, "folded framing header");
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
void http_header_line(struct proto_http *h, struct proto_http_msg *m,
		      const char *buf, size_t cap)
{
	size_t len, kept;

	http_line_span(m, cap, &len, &kept);
	http_header_line_at(h, m, buf, len, kept, m->line_over);
}
