/*
 * proto_mysql_handshake.c -- the MySQL connection phase: server
 * greeting, client handshake response (where TLS and compression are
 * negotiated), and the auth exchange up to the server's OK or ERR.
 */
#include "proto_mysql_int.h"

#include <string.h>

/* Server greeting (protocol 10): the server's capabilities, and its version
 * and connection id as PT_NOTE_SERVER_INFO; an ERR instead means the
 * connection was refused and is ignored. */
int proto_mysql_on_greeting(struct proto_mysql *m, struct proto_mysql_framer *f)
{
	const uint8_t *h = f->head;
	size_t n = f->head_len, v = 1;

	if (n >= 1 && h[0] == 0xFF) { /* refused: too many connections... */
		m->phase = PH_IGNORE;
		return 0;
	}
	if (n < 1 || h[0] != 10)
		return proto_mysql_desync(m, "not a protocol 10 greeting");
	while (v < n && h[v] != '\0')
		v++;
	/* version NUL, conn id 4, salt 8, filler 1, caps 2 */
	if (v + 1 + 4 + 8 + 1 + 2 > n)
		return proto_mysql_desync(m, "short greeting");
	size_t p = v + 1;
	uint32_t conn_id = le32(h + p);
	p += 4 + 8 + 1;
	m->srv_caps = le16(h + p);
	p += 2;
	if (p + 1 + 2 + 2 <= n) /* charset, status, caps high */
		m->srv_caps |= le16(h + p + 3) << 16;
	p += 1 + 2 + 2 + 1 + 6; /* ... auth data length, filler */
	if (p + 4 <= n && !(m->srv_caps & CLIENT_MYSQL))
		m->srv_ext_caps = le32(h + p);
	if (m->sink.note)
		m->sink.note(m->sink.arg, PT_NOTE_SERVER_INFO,
			     (const char *)h + 1, v - 1, conn_id);
	memset(f->head, 0, n); /* the auth salt is never kept */
	f->head_len = 0;
	m->phase = PH_HS_RESPONSE;
	return 0;
}

int proto_mysql_on_hs_response(struct proto_mysql *m,
			       const struct proto_mysql_framer *f)
{
	const uint8_t *h = f->head;

	if (f->head_len < 4)
		return proto_mysql_desync(m, "short handshake response");
	m->cli_caps = le32(h);
	if (!(m->cli_caps & CLIENT_PROTOCOL_41))
		return proto_mysql_desync(m, "pre-4.1 client handshake");
	if (f->total < HS_RESPONSE_FIXED)
		return proto_mysql_desync(m, "short handshake response");
	if ((m->cli_caps & CLIENT_SSL) && f->total == HS_RESPONSE_FIXED) {
		m->tls_wait = 1; /* xseq already names the next packet */
		return proto_mysql_stop(m, PT_NOTE_TLS, "SSLRequest", 0);
	}
	if (!(m->cli_caps & CLIENT_MYSQL))
		m->cli_ext_caps = le32(h + 28);
	m->eof_mode =
	    !(m->srv_caps & m->cli_caps & CLIENT_DEPRECATE_EOF) ? 1 : 0;
	m->phase = PH_AUTH;
	return 0;
}

/* Auth exchange: client packets (auth data) are skipped unread; the
 * server's OK ends it, its ERR ends the connection. */
int proto_mysql_on_auth(struct proto_mysql *m, enum pt_dir dir,
			const struct proto_mysql_framer *f, uint64_t now)
{
	if (dir == PT_DIR_OUT || f->head_len < 1)
		return 0;
	if (f->head[0] == 0xFF) {
		m->phase = PH_IGNORE;
		return 0;
	}
	if (f->head[0] != 0x00)
		return 0; /* auth switch / more data */
	if (m->sink.note && m->greet_ns && now >= m->greet_ns)
		m->sink.note(m->sink.arg, PT_NOTE_AUTH, NULL, 0,
			     now - m->greet_ns);
	if (m->srv_caps & m->cli_caps & CLIENT_COMPRESS)
		return proto_mysql_stop(m, PT_NOTE_COMPRESSED,
					"compressed protocol", 0);
	m->phase = PH_COMMAND;
	return 0;
}
