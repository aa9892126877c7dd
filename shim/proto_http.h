/*
 * proto_http.h -- HTTP/1.x decoder, server side and client side: socket
 * bytes in both directions, one struct pt_op per request/response pair out
 * through a struct pt_sink.
 *
 * Roles:
 *   PT_ROLE_SERVER  this process accepted the connection: requests come IN
 *                   (PT_DIR_IN), responses go OUT; events PT_KIND_HTTP_IN,
 *                   text "METHOD /route", bytes_in = request bytes,
 *                   bytes_out = response bytes.
 *   PT_ROLE_CLIENT  this process connected: requests go OUT, responses come
 *                   IN; events PT_KIND_HTTP_OUT, text "METHOD
 * host[:port]/route" (host from the Host header, or an absolute-form target),
 *                   bytes_out = request bytes, bytes_in = response bytes.
 *
 * Every event has outcome PT_OUT_HTTP and status = the final status code
 * (or PT_OUT_ABORTED, status 0, when the connection closed first), rows 0.
 * Only the method, the route (query string and fragment dropped, then
 * pt_http_route()), the status and byte counts are reported: header values
 * (but Host, client side) and bodies never reach any text.  With
 * options->raw the text keeps the raw target (path + query) cut at raw_max,
 * flagged PT_EV_RAW.
 *
 * The context is fixed-size (no heap, no globals); the caller owns it and
 * keeps one per connection.  sizeof(struct proto_http) is about 24 KiB: a
 * 16 KiB text arena shared by the outstanding requests, a 64-deep request
 * ring of 32-byte entries, a 4 KiB request-line buffer, small header-line
 * buffers.  Everything inside is private to proto_http*.c; the fields are
 * here only so that callers can size and embed the context.
 */
#ifndef PERFTAP_PROTO_HTTP_H
#define PERFTAP_PROTO_HTTP_H

#include <stddef.h>
#include <stdint.h>

#include "proto.h"
#include "text_ring.h"

/* Outstanding (pipelined) requests tracked per connection.  Browsers and
 * HTTP clients pipeline a handful at most; beyond this a request is
 * counted, its response consumed without an event, and PT_NOTE_QUEUE_FULL
 * raised. */
#define PROTO_HTTP_RING 64
/* Bytes of event text kept for all outstanding requests together.  Texts
 * are allocated in FIFO order around this ring; typical texts are under
 * 64 bytes, so 64 outstanding requests fit several times over, and one
 * text of PT_TEXT_MAX always fits. */
#define PROTO_HTTP_ARENA (16u * 1024)
/* Bytes kept of the request line: enough for PT_TEXT_MAX of raw target.
 * A longer target is cut (PT_EV_TRUNCATED); the line is still parsed. */
#define PROTO_HTTP_START_LINE 4096u
/* Bytes kept of one request header line: Host (<= 255 + ":65535") and the
 * framing headers fit; longer framing headers are a desync, a longer Host
 * is cut. */
#define PROTO_HTTP_HDR_LINE 512u
/* Bytes kept of one response line (status line or header): the framing
 * headers fit; status lines are parsed from their first bytes. */
#define PROTO_HTTP_RESP_LINE 256u
/* Host value kept for client-side text: a DNS name (255) + ":65535". */
#define PROTO_HTTP_HOST 264u
/* Longest method token accepted ("OPTIONS" is 7, WebDAV's longest is 16). */
#define PROTO_HTTP_METHOD 20u
/* Last bytes of an over-long line, kept to read its end (the version at
 * the end of a request line, the CR before LF). */
#define PROTO_HTTP_TAIL 16u

/* One outstanding request (private). */
struct proto_http_req {
	uint64_t seq;	   /* request number on this connection */
	uint64_t start_ns; /* feed holding the request's first byte */
	uint64_t bytes;	   /* request bytes so far */
	uint16_t text_off; /* text in arena[] */
	uint16_t text_len;
	uint16_t flags; /* PT_EV_* (PIPELINED, TRUNCATED, RAW) */
	uint8_t bits;	/* private: HEAD, CONNECT, Upgrade asked */
	uint8_t pad0;
};

/* Parser state of one direction (private). */
struct proto_http_msg {
	uint8_t state;	     /* private enum */
	uint8_t in_msg;	     /* first byte of the current message seen */
	uint8_t interim;     /* response: after a 1xx, same exchange */
	uint8_t line_over;   /* current line longer than its buffer */
	uint8_t has_cl;	     /* Content-Length seen */
	uint8_t te_seen;     /* Transfer-Encoding seen */
	uint8_t chunked;     /* last transfer coding is chunked */
	uint8_t upgrade;     /* Upgrade header present */
	uint8_t conn_close;  /* Connection: close */
	uint8_t expect;	     /* Expect: 100-continue */
	uint8_t host_seen;   /* Host header taken */
	uint8_t last_hdr;    /* id of the previous header (obs-fold check) */
	uint8_t queued;	     /* request: entry pushed for this message */
	uint8_t vminor;	     /* HTTP/1.x minor version */
	uint16_t status;     /* response: status code */
	uint32_t line_len;   /* bytes of the current line so far (LF excl.) */
	uint32_t head_bytes; /* start line + headers (+ trailers) so far */
	uint64_t remaining;  /* body / chunk bytes left */
	uint64_t content_length;
	uint64_t bytes; /* bytes of the current message (exchange) */
	uint64_t start_ns;
	uint64_t last_ns; /* feed holding the latest byte */
	char tail[PROTO_HTTP_TAIL];
};

struct proto_http {
	struct pt_sink sink; /* copied at init */
	const struct pt_route_table *routes;
	int raw;
	uint32_t raw_max;
	uint8_t role;	 /* enum pt_conn_role */
	uint8_t stopped; /* sticky: desync / upgrade / closed */
	uint8_t held;	 /* request bytes unparseable while an upgrade pends */
	uint8_t pad0;
	uint32_t upg_outstanding; /* queued requests that may switch protocol */
	uint64_t now_ns;	  /* now_ns of the feed being decoded */
	uint64_t req_count;	  /* requests seen (queued or dropped) */
	uint64_t resp_count;	  /* final responses seen */
	uint64_t dropped;	  /* requests not queued (ring full) */
	uint64_t cur_seq;	  /* seq of the request being parsed */

	struct proto_http_msg req;  /* request direction */
	struct proto_http_msg resp; /* response direction */

	/* Request ring, FIFO: [ring_head, ring_head + ring_count). */
	struct proto_http_req ring[PROTO_HTTP_RING];
	uint32_t ring_head, ring_count;

	/* Where texts go in arena[] (the oldest is the first queued request
	 * with a text). */
	struct text_ring text;

	uint32_t method_len;
	uint32_t target_len; /* bytes of target kept in start_line */
	uint32_t target_off; /* offset of the target in start_line */
	uint32_t host_len;
	uint8_t target_cut; /* target longer than kept */
	uint8_t host_cut;
	uint8_t pad1[2];
	char start_line[PROTO_HTTP_START_LINE];
	char hdr_line[PROTO_HTTP_HDR_LINE];
	char resp_line[PROTO_HTTP_RESP_LINE];
	char host[PROTO_HTTP_HOST];
	char arena[PROTO_HTTP_ARENA];
};

/* Reset h for a new connection.  opt may be NULL (normalized text, no
 * route table); the sink is copied; opt->routes must outlive h. */
void proto_http_init(struct proto_http *h, enum pt_conn_role role,
		     const struct pt_proto_options *opt,
		     const struct pt_sink *sink);

/* Decode len bytes that went in direction dir; now_ns per proto.h.  Any
 * split of the stream into feeds gives the same events (timing aside).
 * Returns PT_FEED_STOPPED, after a PT_NOTE_UPGRADED (101, CONNECT tunnel,
 * HTTP/2 preface) or PT_NOTE_DESYNC, and for every later feed. */
enum pt_feed_status proto_http_feed(struct proto_http *h, enum pt_dir dir,
				    const uint8_t *buf, size_t len,
				    uint64_t now_ns);

/* 1 while a request is in progress: its first byte seen, its final
 * response not yet complete (request.c asks after every server feed). */
/* The open request's head has been read whole (it is queued). */
static inline int proto_http_request_head_seen(const struct proto_http *h)
{
	return !h->stopped && h->ring_count > 0;
}

static inline int proto_http_request_open(const struct proto_http *h)
{
	return !h->stopped && (h->ring_count > 0 || h->req.in_msg);
}

/* The connection closed.  A response delimited by close completes here
 * (ended at the feed holding its last byte); every other outstanding
 * request becomes a PT_OUT_ABORTED event ended at now_ns.  Nothing is
 * reported after a stop.  Idempotent. */
void proto_http_close(struct proto_http *h, uint64_t now_ns);

/* 1 if buf starts a request: an HTTP/1.x method token (GET, POST, PUT,
 * DELETE, HEAD, OPTIONS, PATCH, CONNECT, TRACE) followed by a space, or
 * the HTTP/2 preface's "PRI " (the decoder then notes PT_NOTE_UPGRADED).
 * 0 otherwise, also when len is too short to tell. */
int proto_http_sniff(const uint8_t *buf, size_t len);

#endif /* PERFTAP_PROTO_HTTP_H */
