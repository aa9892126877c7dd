/*
 * proto_http_exchange.c -- the HTTP decoder's exchanges: the ring of
 * queued requests and their texts (method and route), the events and
 * notes it reports, what the end of a head decides (RFC 9112 section 6
 * framing, protocol switches, interim responses) and the end of a message
 * (a response paired with the oldest request).  The decoder's rules are
 * listed in proto_http.c.
 *
 * Sections:
 *   1. the request ring's texts
 *   2. events and notes
 *   3. ends of heads and messages
 */
#include "proto_http_int.h"

#include "normalize.h"

/* ---- 1. the request ring's texts ----------------------------------------- */

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

/* ---- 2. events and notes ------------------------------------------------- */

void http_stop_note(struct proto_http *h, enum pt_note note, const char *why)
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
 * response decides (section 3, http_response_final).
 */
void http_fail(struct proto_http *h, struct proto_http_msg *m, const char *why)
{
	if (m == &h->req && h->upg_outstanding > 0) {
		m->state = HS_HELD;
		h->held = 1;
		return;
	}
	http_stop_note(h, PT_NOTE_DESYNC, why);
}

void http_emit(struct proto_http *h, const struct proto_http_req *e,
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
/* ---- 3. ends of heads and messages --------------------------------------- */

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
			http_stop_note(h, PT_NOTE_DESYNC,
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
void http_response_final(struct proto_http *h, struct proto_http_msg *m,
			 uint64_t end_ns, int switching)
{
	struct proto_http_req *e = resp_entry(h);
	uint8_t bits = 0;

	if (e != NULL) {
		bits = e->bits;
		http_emit(h, e, PT_OUT_HTTP, m->status, m->bytes, end_ns);
		ring_pop(h);
	}
	h->resp_count++;
	if (bits & (REQ_CONNECT | REQ_UPGRADE))
		h->upg_outstanding--;
	msg_reset(m);
	if (!switching && h->held && h->upg_outstanding == 0)
		http_stop_note(h, PT_NOTE_DESYNC, "bad request after upgrade");
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
		http_fail(h, m, "request transfer coding");
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
		http_response_final(h, m, h->now_ns, 1);
		http_stop_note(h, PT_NOTE_UPGRADED,
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
		http_response_final(h, m, h->now_ns, 0);
	else if (m->te_seen)
		m->state = m->chunked ? HS_CHUNK_SIZE : HS_BODY_CLOSE;
	else if (m->has_cl && m->content_length > 0) {
		m->remaining = m->content_length;
		m->state = HS_BODY_LEN;
	} else if (m->has_cl)
		http_response_final(h, m, h->now_ns, 0);
	else
		m->state = HS_BODY_CLOSE;
}

void http_head_done(struct proto_http *h, struct proto_http_msg *m)
{
	if (m == &h->req)
		request_head_done(h, m);
	else
		response_head_done(h, m);
}

/* The body (or trailers) of m ended. */
void http_message_done(struct proto_http *h, struct proto_http_msg *m)
{
	if (m == &h->req)
		request_done(h, m);
	else
		http_response_final(h, m, h->now_ns, 0);
}

/* The first byte of a message (not CR/LF) is in this feed. */
void http_message_begin(struct proto_http *h, struct proto_http_msg *m)
{
	if (m == &h->resp) {
		if (h->resp_count >= h->req_count) {
			http_stop_note(h, PT_NOTE_DESYNC,
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
