/*
 * test_sniff.c -- protocol choice by peer port and by first bytes, and the
 * decoder dispatch.
 */
#include <criterion/criterion.h>
#include <string.h>

#include "sniff.h"

static enum sniff_verdict judge(enum pt_conn_role role, enum pt_dir dir,
				const char *s, enum pt_proto *p)
{
	return sniff_by_bytes(role, dir, (const uint8_t *)s, strlen(s), p);
}

Test(sniff_port, default_and_configured_lists)
{
	struct pt_config cfg;
	memset(&cfg, 0, sizeof(cfg));
	cr_assert_eq(pt_config_parse_ports("3306,13306", &cfg.mysql_ports), 0);
	cr_assert_eq(pt_config_parse_ports("6379", &cfg.redis_ports), 0);
	cr_assert_eq(pt_config_parse_ports("8001", &cfg.http_ports), 0);
	cr_assert_eq(sniff_by_port(&cfg, 3306), PT_PROTO_MYSQL);
	cr_assert_eq(sniff_by_port(&cfg, 13306), PT_PROTO_MYSQL);
	cr_assert_eq(sniff_by_port(&cfg, 6379), PT_PROTO_REDIS);
	cr_assert_eq(sniff_by_port(&cfg, 8001), PT_PROTO_HTTP);
	cr_assert_eq(sniff_by_port(&cfg, 443), PT_PROTO_UNKNOWN);
}

Test(sniff_bytes, resp_request_out_is_redis)
{
	enum pt_proto p;
	cr_assert_eq(judge(PT_ROLE_CLIENT, PT_DIR_OUT,
			   "*2\r\n$3\r\nGET\r\n$1\r\nk\r\n", &p),
		     SNIFF_YES);
	cr_assert_eq(p, PT_PROTO_REDIS);
}

Test(sniff_bytes, http_request_out_is_http_not_inline_redis)
{
	enum pt_proto p;
	cr_assert_eq(judge(PT_ROLE_CLIENT, PT_DIR_OUT,
			   "GET /x HTTP/1.1\r\nHost: a\r\n\r\n", &p),
		     SNIFF_YES);
	cr_assert_eq(p, PT_PROTO_HTTP);
	cr_assert_eq(
	    judge(PT_ROLE_CLIENT, PT_DIR_OUT, "POST /asr HTTP/1.1\r\n", &p),
	    SNIFF_YES);
	cr_assert_eq(p, PT_PROTO_HTTP);
}

Test(sniff_bytes, mysql_greeting_in_is_mysql)
{
	static const uint8_t greet[] = {0x4a, 0,   0,	0,   0x0a,
					'1',  '1', '.', '0', 0};
	enum pt_proto p;
	cr_assert_eq(
	    sniff_by_bytes(PT_ROLE_CLIENT, PT_DIR_IN, greet, sizeof(greet), &p),
	    SNIFF_YES);
	cr_assert_eq(p, PT_PROTO_MYSQL);
	cr_assert_eq(sniff_by_bytes(PT_ROLE_CLIENT, PT_DIR_IN, greet, 3, &p),
		     SNIFF_MORE, "3 bytes cannot tell");
}

Test(sniff_bytes, server_speaking_first_on_accepted_socket_is_left_alone)
{
	static const uint8_t greet[] = {0x4a, 0, 0, 0, 0x0a, '1'};
	enum pt_proto p;
	cr_assert_eq(sniff_by_bytes(PT_ROLE_SERVER, PT_DIR_OUT, greet,
				    sizeof(greet), &p),
		     SNIFF_NO);
	cr_assert_eq(p, PT_PROTO_UNKNOWN);
}

Test(sniff_bytes, accepted_http_request_is_http_server)
{
	enum pt_proto p;
	cr_assert_eq(
	    judge(PT_ROLE_SERVER, PT_DIR_IN, "GET /fir/1 HTTP/1.1\r\n", &p),
	    SNIFF_YES);
	cr_assert_eq(p, PT_PROTO_HTTP);
	cr_assert_eq(
	    judge(PT_ROLE_SERVER, PT_DIR_IN, "*1\r\n$4\r\nPING\r\n", &p),
	    SNIFF_NO, "we are no Redis server");
}

Test(sniff_bytes, short_method_prefix_asks_for_more)
{
	enum pt_proto p;
	cr_assert_eq(judge(PT_ROLE_SERVER, PT_DIR_IN, "GE", &p), SNIFF_MORE);
	cr_assert_eq(judge(PT_ROLE_CLIENT, PT_DIR_OUT, "DEL", &p), SNIFF_MORE);
	cr_assert_eq(judge(PT_ROLE_CLIENT, PT_DIR_OUT, "", &p), SNIFF_MORE);
}

Test(sniff_bytes, other_protocols_are_no)
{
	enum pt_proto p;
	cr_assert_eq(
	    judge(PT_ROLE_CLIENT, PT_DIR_IN, "SSH-2.0-OpenSSH_9.2\r\n", &p),
	    SNIFF_NO);
	cr_assert_eq(judge(PT_ROLE_CLIENT, PT_DIR_OUT,
			   "\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03", &p),
		     SNIFF_NO, "TLS ClientHello");
	cr_assert_eq(
	    judge(PT_ROLE_SERVER, PT_DIR_IN, "HELO mail.example.org\r\n", &p),
	    SNIFF_NO);
}

Test(sniff_bytes, tls_client_hello_is_no_decoder_but_known_as_tls)
{
	/* TLS 1.2 record header, handshake type 1 (ClientHello). */
	static const uint8_t hello[] = {0x16, 0x03, 0x01, 0x02, 0x00, 0x01};
	enum pt_proto p;

	/* No decoder reads ciphertext, from either side that speaks first. */
	cr_assert_eq(sniff_by_bytes(PT_ROLE_CLIENT, PT_DIR_OUT, hello,
				    sizeof(hello), &p),
		     SNIFF_NO);
	cr_assert_eq(
	    sniff_by_bytes(PT_ROLE_SERVER, PT_DIR_IN, hello, sizeof(hello), &p),
	    SNIFF_NO);
	/* ...but it is TLS (asyncio SSLObject, uvicorn --ssl), for the
	 * counters: a client sending it, a server receiving it. */
	cr_assert(
	    sniff_is_tls(PT_ROLE_CLIENT, PT_DIR_OUT, hello, sizeof(hello)));
	cr_assert(
	    sniff_is_tls(PT_ROLE_SERVER, PT_DIR_IN, hello, sizeof(hello)));
	cr_assert(sniff_is_tls(PT_ROLE_SERVER, PT_DIR_IN, hello, 3),
		  "the record header is enough");
	/* Not the side that speaks first, too short, no TLS version, or
	 * not a handshake record. */
	cr_assert_not(
	    sniff_is_tls(PT_ROLE_CLIENT, PT_DIR_IN, hello, sizeof(hello)));
	cr_assert_not(
	    sniff_is_tls(PT_ROLE_SERVER, PT_DIR_OUT, hello, sizeof(hello)));
	cr_assert_not(sniff_is_tls(PT_ROLE_CLIENT, PT_DIR_OUT, hello, 2));
	static const uint8_t v35[] = {0x16, 0x03, 0x05, 0x00};
	cr_assert_not(sniff_is_tls(PT_ROLE_CLIENT, PT_DIR_OUT, v35, 4));
	static const uint8_t alert[] = {0x15, 0x03, 0x03, 0x00};
	cr_assert_not(sniff_is_tls(PT_ROLE_CLIENT, PT_DIR_OUT, alert, 4));
	cr_assert_not(sniff_is_tls(PT_ROLE_CLIENT, PT_DIR_OUT,
				   (const uint8_t *)"GET / HTTP/1.1\r\n", 16));
}

Test(sniff_bytes, every_prefix_of_a_request_is_yes_or_more_never_no)
{
	const char *req = "POST /model/asr HTTP/1.1\r\n";
	for (size_t n = 1; n <= strlen(req); n++) {
		enum pt_proto p;
		enum sniff_verdict v = sniff_by_bytes(
		    PT_ROLE_CLIENT, PT_DIR_OUT, (const uint8_t *)req, n, &p);
		cr_assert_neq(v, SNIFF_NO, "prefix of %zu bytes", n);
	}
}

Test(sniff_kind, kind_by_protocol_and_role)
{
	cr_assert_eq(sniff_kind(PT_PROTO_MYSQL, PT_ROLE_CLIENT), PT_KIND_MYSQL);
	cr_assert_eq(sniff_kind(PT_PROTO_REDIS, PT_ROLE_CLIENT), PT_KIND_REDIS);
	cr_assert_eq(sniff_kind(PT_PROTO_HTTP, PT_ROLE_SERVER),
		     PT_KIND_HTTP_IN);
	cr_assert_eq(sniff_kind(PT_PROTO_HTTP, PT_ROLE_CLIENT),
		     PT_KIND_HTTP_OUT);
	cr_assert_eq(sniff_kind(PT_PROTO_UNKNOWN, PT_ROLE_CLIENT),
		     PT_KIND_NONE);
}

/* Dispatch reaches the Redis decoder: a GET and its reply make one op. */
static int ops;
static char text[64];

static void on_op(void *arg, const struct pt_op *op)
{
	(void)arg;
	ops++;
	size_t n =
	    op->text_len < sizeof(text) - 1 ? op->text_len : sizeof(text) - 1;
	memcpy(text, op->text, n);
	text[n] = '\0';
}

Test(sniff_dispatch, redis_decoder_is_driven_through_the_union)
{
	static union pt_decoder d;
	struct pt_sink sink = {.op = on_op, .note = NULL, .arg = NULL};
	struct pt_proto_options opt = {0};
	const char *req = "*2\r\n$3\r\nGET\r\n$3\r\nkey\r\n";
	const char *rep = "$1\r\nv\r\n";

	cr_assert(sniff_supported(PT_PROTO_REDIS));
	sniff_decoder_init(&d, PT_PROTO_REDIS, PT_ROLE_CLIENT, &opt, &sink);
	cr_assert_eq(sniff_decoder_feed(&d, PT_PROTO_REDIS, PT_DIR_OUT,
					(const uint8_t *)req, strlen(req), 10),
		     PT_FEED_OK);
	cr_assert_eq(sniff_decoder_feed(&d, PT_PROTO_REDIS, PT_DIR_IN,
					(const uint8_t *)rep, strlen(rep), 20),
		     PT_FEED_OK);
	sniff_decoder_close(&d, PT_PROTO_REDIS, 30);
	cr_assert_eq(ops, 1);
	cr_assert_eq(strncmp(text, "GET", 3), 0, "%s", text);
}

Test(sniff_dispatch, unknown_protocol_feed_stops)
{
	static union pt_decoder d;
	cr_assert_not(sniff_supported(PT_PROTO_UNKNOWN));
	cr_assert_eq(sniff_decoder_feed(&d, PT_PROTO_UNKNOWN, PT_DIR_IN,
					(const uint8_t *)"x", 1, 0),
		     PT_FEED_STOPPED);
}
