/*
 * proto_http_int.h -- what the files of the HTTP/1.x decoder share and
 * nothing else may use: limits, private enums, the text helpers, the
 * request ring's accessors, and the functions one file calls in another.
 * The API is proto_http.h.
 *
 * Sections:
 *   1. limits and private enums
 *   2. text helpers (tokens, case-insensitive compare, strict numbers)
 *   3. the request ring and message state (small, called per byte run)
 *   4. across files
 */
#ifndef PERFTAP_PROTO_HTTP_INT_H
#define PERFTAP_PROTO_HTTP_INT_H

#include <string.h>

#include "proto_http.h"

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

/* static inline: every file of the decoder calls these per byte run; a
 * call across files would cost what the single file never paid. */

static inline size_t min_sz(size_t a, size_t b)
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

static inline int is_tchar(unsigned char c)
{
	return tchar_table[c];
}

/* Length of the run of tchars at s[0..n): eight table loads per step
 * while eight bytes are left, then four, then byte by byte (the name of a
 * usual header is 4 to 16 bytes, and this runs once per header line). */
static inline size_t tchar_span(const char *s, size_t n)
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

static inline int is_ows(char c)
{
	return c == ' ' || c == '\t';
}

static inline int is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static inline int hex_value(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static inline char lower(char c)
{
	return (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
}

/* s[0..len) equals the lower-case literal lit, ignoring case. */
static inline int ieq(const char *s, size_t len, const char *lit)
{
	size_t i;

	for (i = 0; i < len; i++)
		if (lit[i] == '\0' || lower(s[i]) != lit[i])
			return 0;
	return lit[i] == '\0';
}

static inline int eq(const char *s, size_t len, const char *lit)
{
	return strlen(lit) == len && memcmp(s, lit, len) == 0;
}

/* Unaligned loads (memcpy of a constant size compiles to one move). */
static inline uint64_t load8(const char *s)
{
	uint64_t v;

	memcpy(&v, s, 8);
	return v;
}

static inline uint32_t load4(const char *s)
{
	uint32_t v;

	memcpy(&v, s, 4);
	return v;
}

/* Strip optional whitespace from both ends of *s[0..*len). */
static inline void trim_ows(const char **s, size_t *len)
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
static inline int list_next(const char *v, size_t len, size_t *pos,
			    const char **el, size_t *el_len)
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
static inline int parse_decimal(const char *s, size_t len, uint64_t *out)
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

/* ---- 3. the request ring and message state ------------------------------- */

static inline struct proto_http_req *ring_at(struct proto_http *h, uint32_t i)
{
	return &h->ring[(h->ring_head + i) % PROTO_HTTP_RING];
}

static inline void ring_pop(struct proto_http *h)
{
	h->ring_head = (h->ring_head + 1) % PROTO_HTTP_RING;
	h->ring_count--;
}

/* Account k bytes to the message m; a queued request's entry follows. */
static inline void msg_count(struct proto_http *h, struct proto_http_msg *m,
			     size_t k)
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

static inline void msg_reset(struct proto_http_msg *m)
{
	memset(m, 0, sizeof(*m));
	m->state = HS_IDLE;
}

static inline void line_reset(struct proto_http_msg *m)
{
	m->line_len = 0;
	m->line_over = 0;
}

/* Room left for the head's lines. */
static inline size_t head_room(const struct proto_http_msg *m)
{
	return HTTP_HEAD_MAX - m->head_bytes;
}

/* ---- 4. across files ----------------------------------------------------- */

/* proto_http_exchange.c: texts, events, notes, ends of heads and messages. */
void http_stop_note(struct proto_http *h, enum pt_note note, const char *why);
void http_fail(struct proto_http *h, struct proto_http_msg *m, const char *why);
void http_emit(struct proto_http *h, const struct proto_http_req *e,
	       uint8_t outcome, int32_t status, uint64_t resp_bytes,
	       uint64_t end_ns);
void http_response_final(struct proto_http *h, struct proto_http_msg *m,
			 uint64_t end_ns, int switching);
void http_head_done(struct proto_http *h, struct proto_http_msg *m);
void http_message_done(struct proto_http *h, struct proto_http_msg *m);
void http_message_begin(struct proto_http *h, struct proto_http_msg *m);

/* proto_http_head.c: line collection, start lines, header fields. */
size_t http_line_collect(struct proto_http_msg *m, char *buf, size_t cap,
			 const uint8_t *p, size_t n, size_t limit, int *done);
void http_line_span(const struct proto_http_msg *m, size_t cap, size_t *len,
		    size_t *kept);
void http_request_line(struct proto_http *h, struct proto_http_msg *m);
void http_status_line(struct proto_http *h, struct proto_http_msg *m);
void http_header_line_at(struct proto_http *h, struct proto_http_msg *m,
			 const char *buf, size_t len, size_t kept, int over);
void http_header_line(struct proto_http *h, struct proto_http_msg *m,
		      const char *buf, size_t cap);

#endif
