/*
 * sniff.c -- protocol choice (peer port, first bytes) and dispatch to the
 * chosen decoder.  See sniff.h for the rules.
 */
#include <string.h>

#include "sniff.h"

enum pt_proto sniff_by_port(const struct pt_config *cfg, uint16_t port)
{
	if (pt_port_list_has(&cfg->mysql_ports, port))
		return PT_PROTO_MYSQL;
	if (pt_port_list_has(&cfg->redis_ports, port))
		return PT_PROTO_REDIS;
	if (pt_port_list_has(&cfg->http_ports, port))
		return PT_PROTO_HTTP;
	return PT_PROTO_UNKNOWN;
}

int sniff_supported(enum pt_proto proto)
{
	switch (proto) {
#ifdef PT_HAVE_MYSQL
	case PT_PROTO_MYSQL:
		return 1;
#endif
#ifdef PT_HAVE_REDIS
	case PT_PROTO_REDIS:
		return 1;
#endif
#ifdef PT_HAVE_HTTP
	case PT_PROTO_HTTP:
		return 1;
#endif
	default:
		return 0;
	}
}

static int is_mysql(const uint8_t *b, size_t n)
{
#ifdef PT_HAVE_MYSQL
	return proto_mysql_sniff(b, n);
#else
	(void)b, (void)n;
	return 0;
#endif
}

static int is_redis(const uint8_t *b, size_t n)
{
#ifdef PT_HAVE_REDIS
	return proto_redis_sniff(b, n);
#else
	(void)b, (void)n;
	return 0;
#endif
}

static int is_http(const uint8_t *b, size_t n)
{
#ifdef PT_HAVE_HTTP
	return proto_http_sniff(b, n);
#else
	(void)b, (void)n;
	return 0;
#endif
}

/* Could these bytes still become a request once more arrive?  Method
 * tokens and RESP prefixes are short; a first read shorter than that is
 * rare but legal (a one-byte write). */
static int may_grow(const uint8_t *b, size_t n)
{
	static const char *const starts[] = {
	    "GET ",   "POST ",	  "PUT ",   "DELETE ", "HEAD ", "OPTIONS ",
	    "PATCH ", "CONNECT ", "TRACE ", "PRI ",    "*"};
	if (n >= PT_SNIFF_BYTES)
		return 0;
	for (size_t i = 0; i < sizeof(starts) / sizeof(starts[0]); i++) {
		size_t l = strlen(starts[i]);
		if (!memcmp(b, starts[i], n < l ? n : l))
			return 1;
	}
	return 0;
}

/* A TLS record header: content type 22 (handshake), protocol major 3,
 * minor 0 (SSL 3.0) to 4 (the highest a record layer names). */
#define TLS_HANDSHAKE	   0x16
#define TLS_MAJOR	   0x03
#define TLS_MINOR_MAX	   0x04
#define TLS_HEADER_SNIFFED 3

int sniff_is_tls(enum pt_conn_role role, enum pt_dir dir, const uint8_t *buf,
		 size_t len)
{
	int first =
	    role == PT_ROLE_SERVER ? dir == PT_DIR_IN : dir == PT_DIR_OUT;
	return first && len >= TLS_HEADER_SNIFFED && buf[0] == TLS_HANDSHAKE &&
	       buf[1] == TLS_MAJOR && buf[2] <= TLS_MINOR_MAX;
}

enum sniff_verdict sniff_by_bytes(enum pt_conn_role role, enum pt_dir dir,
				  const uint8_t *buf, size_t len,
				  enum pt_proto *proto)
{
	*proto = PT_PROTO_UNKNOWN;
	if (len == 0)
		return SNIFF_MORE;
	if (role == PT_ROLE_SERVER) {
		if (dir != PT_DIR_IN)
			return SNIFF_NO; /* the server spoke first */
		if (is_http(buf, len))
			return *proto = PT_PROTO_HTTP, SNIFF_YES;
		return may_grow(buf, len) && buf[0] != '*' ? SNIFF_MORE
							   : SNIFF_NO;
	}
	if (dir == PT_DIR_IN) {
		if (is_mysql(buf, len))
			return *proto = PT_PROTO_MYSQL, SNIFF_YES;
		/* A greeting needs 5 bytes: header + protocol 10. */
		if (len < 5 && (len < 4 || buf[3] == 0))
			return SNIFF_MORE;
		return SNIFF_NO;
	}
	/* Client, first bytes out.  RESP multibulk first: an inline Redis
	 * "GET key" and an HTTP "GET /path" share a prefix, and real HTTP
	 * requests never start with '*'. */
	if (buf[0] == '*' && is_redis(buf, len))
		return *proto = PT_PROTO_REDIS, SNIFF_YES;
	if (is_http(buf, len))
		return *proto = PT_PROTO_HTTP, SNIFF_YES;
	if (is_redis(buf, len))
		return *proto = PT_PROTO_REDIS, SNIFF_YES;
	return may_grow(buf, len) ? SNIFF_MORE : SNIFF_NO;
}

void sniff_decoder_init(union pt_decoder *d, enum pt_proto proto,
			enum pt_conn_role role,
			const struct pt_proto_options *opt,
			const struct pt_sink *sink)
{
	(void)d, (void)role, (void)opt, (void)sink;
	switch (proto) {
#ifdef PT_HAVE_MYSQL
	case PT_PROTO_MYSQL:
		proto_mysql_init(&d->mysql, opt, sink);
		break;
#endif
#ifdef PT_HAVE_REDIS
	case PT_PROTO_REDIS:
		proto_redis_init(&d->redis, opt, sink);
		break;
#endif
#ifdef PT_HAVE_HTTP
	case PT_PROTO_HTTP:
		proto_http_init(&d->http, role, opt, sink);
		break;
#endif
	default:
		break;
	}
}

enum pt_feed_status sniff_decoder_feed(union pt_decoder *d, enum pt_proto proto,
				       enum pt_dir dir, const uint8_t *buf,
				       size_t len, uint64_t now_ns)
{
	(void)d, (void)dir, (void)buf, (void)len, (void)now_ns;
	switch (proto) {
#ifdef PT_HAVE_MYSQL
	case PT_PROTO_MYSQL:
		return proto_mysql_feed(&d->mysql, dir, buf, len, now_ns);
#endif
#ifdef PT_HAVE_REDIS
	case PT_PROTO_REDIS:
		return proto_redis_feed(&d->redis, dir, buf, len, now_ns);
#endif
#ifdef PT_HAVE_HTTP
	case PT_PROTO_HTTP:
		return proto_http_feed(&d->http, dir, buf, len, now_ns);
#endif
	default:
		return PT_FEED_STOPPED;
	}
}

int sniff_decoder_idle(const union pt_decoder *d, enum pt_proto proto)
{
	switch (proto) {
#ifdef PT_HAVE_MYSQL
	case PT_PROTO_MYSQL:
		return proto_mysql_idle(&d->mysql);
#endif
#ifdef PT_HAVE_REDIS
	case PT_PROTO_REDIS:
		return proto_redis_idle(&d->redis);
#endif
	default: /* HTTP: a child's requests are not followed (yet) */
		(void)d;
		return 0;
	}
}

void sniff_decoder_close(union pt_decoder *d, enum pt_proto proto,
			 uint64_t now_ns)
{
	(void)d, (void)now_ns;
	switch (proto) {
#ifdef PT_HAVE_MYSQL
	case PT_PROTO_MYSQL:
		proto_mysql_close(&d->mysql, now_ns);
		break;
#endif
#ifdef PT_HAVE_REDIS
	case PT_PROTO_REDIS:
		proto_redis_close(&d->redis, now_ns);
		break;
#endif
#ifdef PT_HAVE_HTTP
	case PT_PROTO_HTTP:
		proto_http_close(&d->http, now_ns);
		break;
#endif
	default:
		break;
	}
}

enum pt_event_kind sniff_kind(enum pt_proto proto, enum pt_conn_role role)
{
	switch (proto) {
	case PT_PROTO_MYSQL:
		return PT_KIND_MYSQL;
	case PT_PROTO_REDIS:
		return PT_KIND_REDIS;
	case PT_PROTO_HTTP:
		return role == PT_ROLE_SERVER ? PT_KIND_HTTP_IN
					      : PT_KIND_HTTP_OUT;
	default:
		return PT_KIND_NONE;
	}
}
