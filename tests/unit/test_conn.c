/*
 * test_conn.c -- the connection layer (conn.c) on real byte streams, as
 * the hooks hand them over: connect/accept, bytes in both directions split
 * at awkward boundaries, close.  Its host is a capture (events,
 * connection records, counters), so that sniffing, pairing and the sink
 * are checked without LD_PRELOAD or a dump.
 *
 * The fds are one end of a socketpair each: real stream sockets (conn.c
 * asks SO_TYPE), though no byte ever crosses them.
 */
#include <criterion/criterion.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "conn.h"
#include "writer.h"

#include "../wire/mysql_wire.h"

/* ---- the capture host ------------------------------------------------- */

#define MAX_EVENTS 64
#define TEXT_MAX   256

struct ev_copy {
	struct pt_event ev;
	char text[TEXT_MAX];
	const struct pt_stack_batch *batch; /* the feed's, as handed over */
};

struct conn_copy {
	struct pt_conn_info ci;
	char text[TEXT_MAX];
};

static struct capture {
	int nev, nconn;
	struct ev_copy ev[MAX_EVENTS];
	struct conn_copy conn[MAX_EVENTS];
	uint64_t counts[PT_CNT_COUNT];
	uint64_t drops[PT_DROP_CAUSE_COUNT];
} cap;

static struct pt_config cfg;
static struct pt_proto_options popts;
static uint64_t clock_ns;

static uint64_t fake_now(void)
{
	return clock_ns += 10; /* every reading later than the last */
}

static int always_ready(void)
{
	return 1;
}

static void keep_text(char *dst, const char *src, size_t n)
{
	if (n > TEXT_MAX - 1)
		n = TEXT_MAX - 1;
	if (src)
		memcpy(dst, src, n);
	dst[src ? n : 0] = '\0';
}

static void on_event(const struct pt_event *ev, const struct pt_op_stack *how)
{
	cr_assert_lt(cap.nev, MAX_EVENTS);
	struct ev_copy *e = &cap.ev[cap.nev++];
	e->ev = *ev;
	e->batch = how->batch;
	/* Not a CPython process: no send ever keeps a stack. */
	cr_assert_null(how->sent);
	cr_assert_eq(how->unsent, 0);
	keep_text(e->text, ev->text, ev->text_len);
	e->ev.text = e->text;
}

static void on_conn(const struct pt_conn_info *ci)
{
	cr_assert_lt(cap.nconn, MAX_EVENTS);
	struct conn_copy *c = &cap.conn[cap.nconn++];
	c->ci = *ci;
	keep_text(c->text, ci->text, ci->text_len);
}

static void on_count(enum pt_counter what)
{
	cap.counts[what]++;
}

static void on_drop(enum pt_drop_cause why)
{
	cap.drops[why]++;
}

static int never_foreign(void)
{
	return 0;
}

static const struct pt_conn_host host = {
    .cfg = &cfg,
    .popts = &popts,
    .now = fake_now,
    .ready = always_ready,
    .event = on_event,
    .conn = on_conn,
    .count = on_count,
    .drop = on_drop,
    .foreign = never_foreign,
};

static int peer_fd = -1;

static void setup(void)
{
	memset(&cap, 0, sizeof(cap));
	memset(&cfg, 0, sizeof(cfg));
	cr_assert_eq(pt_config_parse_ports("3306", &cfg.mysql_ports), 0);
	cr_assert_eq(pt_config_parse_ports("6379", &cfg.redis_ports), 0);
	clock_ns = 1000;
	conn_setup(&host);
	cr_assert_eq(conn_table_init(1024, 64), 0);
}

static void teardown(void)
{
	fdtab_destroy(&pt_fdtab);
	if (peer_fd >= 0)
		close(peer_fd);
	peer_fd = -1;
}

TestSuite(conn, .init = setup, .fini = teardown);

/* ---- connections and bytes -------------------------------------------- */

/* A stream socket to track (its peer is kept open until teardown). */
static int stream_fd(void)
{
	int sv[2];
	cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	if (peer_fd >= 0)
		close(peer_fd);
	peer_fd = sv[1];
	return sv[0];
}

static int client_tcp(uint16_t port)
{
	int fd = stream_fd();
	struct sockaddr_in in = {.sin_family = AF_INET,
				 .sin_port = htons(port)};
	in.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	pt_on_connect(fd, (struct sockaddr *)&in, sizeof(in), fake_now(),
		      fake_now());
	return fd;
}

static int client_unix(const char *path)
{
	int fd = stream_fd();
	struct sockaddr_un un = {.sun_family = AF_UNIX};
	snprintf(un.sun_path, sizeof(un.sun_path), "%s", path);
	pt_on_connect(fd, (struct sockaddr *)&un, sizeof(un), fake_now(),
		      fake_now());
	return fd;
}

static int server_tcp(void)
{
	int fd = stream_fd();
	struct sockaddr_in in = {.sin_family = AF_INET,
				 .sin_port = htons(54321)};
	pt_on_accept(fd, (struct sockaddr *)&in, sizeof(in));
	return fd;
}

static void out_at(int fd, const void *p, size_t n)
{
	pt_conn_bytes(fd, PT_DIR_OUT, p, n, fake_now());
}

static void in_at(int fd, const void *p, size_t n)
{
	pt_conn_bytes(fd, PT_DIR_IN, p, n, 0);
}

/* Feed s in pieces of at most `piece` bytes (one call each). */
static void feed(int fd, enum pt_dir dir, const void *s, size_t n, size_t piece)
{
	const uint8_t *p = s;
	while (n > 0) {
		size_t k = n < piece ? n : piece;
		if (dir == PT_DIR_OUT)
			out_at(fd, p, k);
		else
			in_at(fd, p, k);
		p += k;
		n -= k;
	}
}

/* Feed s split in two at off. */
static void feed_split(int fd, enum pt_dir dir, const char *s, size_t off)
{
	size_t n = strlen(s);
	if (off > 0)
		feed(fd, dir, s, off, off);
	if (n > off)
		feed(fd, dir, s + off, n - off, n - off);
}

static int passive(int fd)
{
	struct pt_conn *c = fdtab_lookup(&pt_fdtab, fd);
	return c == NULL || fdtab_is_passive(c);
}

static void expect_ev(int i, uint8_t kind, const char *text, uint8_t outcome,
		      int32_t status)
{
	cr_assert_lt(i, cap.nev, "event %d missing (%d events)", i, cap.nev);
	const struct pt_event *e = &cap.ev[i].ev;
	cr_assert_eq(e->kind, kind, "event %d: kind %u", i, e->kind);
	cr_assert_str_eq(cap.ev[i].text, text, "event %d", i);
	cr_assert_eq(e->outcome, outcome, "event %d (%s): outcome %u", i, text,
		     e->outcome);
	cr_assert_eq(e->status, status, "event %d (%s): status %d", i, text,
		     e->status);
}

/* ---- Redis ------------------------------------------------------------ */

static const char REDIS_REQ[] = "*2\r\n$3\r\nGET\r\n$6\r\nuser:1\r\n"
				"*3\r\n$3\r\nSET\r\n$6\r\nuser:2\r\n$1\r\nx\r\n"
				"*2\r\n$4\r\nINCR\r\n$4\r\nhits\r\n";
static const char REDIS_REP[] = "$-1\r\n+OK\r\n-WRONGTYPE Operation "
				"against a key\r\n";

static void expect_redis_pipeline(void)
{
	cr_assert_eq(cap.nev, 3);
	expect_ev(0, PT_KIND_REDIS, "GET user:*", PT_OUT_OK, 0);
	expect_ev(1, PT_KIND_REDIS, "SET user:*", PT_OUT_OK, 0);
	expect_ev(2, PT_KIND_REDIS, "INCR hits", PT_OUT_ERROR,
		  PT_REDIS_ERR_WRONGTYPE);
	cr_assert_eq(cap.ev[0].ev.cache_misses, 1);
	cr_assert_eq(cap.ev[0].ev.cache_hits, 0);
	cr_assert(cap.ev[1].ev.flags & PT_EV_PIPELINED);
	cr_assert_eq(cap.ev[0].ev.conn_id, cap.ev[2].ev.conn_id);
}

Test(conn, redis_by_port_pipeline_split_at_every_offset_pairs_in_order)
{
	for (size_t off = 0; off <= strlen(REDIS_REQ); off++) {
		memset(&cap, 0, sizeof(cap));
		int fd = client_tcp(6379);
		feed_split(fd, PT_DIR_OUT, REDIS_REQ, off);
		feed_split(fd, PT_DIR_IN, REDIS_REP,
			   off % (strlen(REDIS_REP) + 1));
		expect_redis_pipeline();
		/* Replies ended by one read share that read's stack batch
		 * (off 0: all three in one call). */
		for (int i = 0; i < cap.nev; i++)
			cr_assert_not_null(cap.ev[i].batch, "at %zu", off);
		if (off % (strlen(REDIS_REP) + 1) == 0)
			cr_assert(cap.ev[0].batch == cap.ev[2].batch);
		pt_on_close(fd);
		close(fd);
		cr_assert_eq(cap.counts[PT_CNT_CONN_TRACKED], 1, "at %zu", off);
		/* open then close, the close with the events counted */
		cr_assert_eq(cap.nconn, 2, "at %zu", off);
		cr_assert_eq(cap.conn[0].ci.event, PT_CONN_OPEN);
		cr_assert_eq(cap.conn[1].ci.event, PT_CONN_CLOSE);
		cr_assert_eq(cap.conn[1].ci.events, 3);
		cr_assert_eq(cap.conn[1].ci.proto, PT_PROTO_REDIS);
		cr_assert_eq(cap.conn[1].ci.port, 6379);
	}
}

Test(conn, redis_one_byte_at_a_time_both_directions)
{
	int fd = client_tcp(6379);
	feed(fd, PT_DIR_OUT, REDIS_REQ, strlen(REDIS_REQ), 1);
	feed(fd, PT_DIR_IN, REDIS_REP, strlen(REDIS_REP), 1);
	expect_redis_pipeline();
	pt_on_close(fd);
	close(fd);
}

Test(conn, redis_on_a_unix_socket_is_sniffed_from_a_split_first_write)
{
	static const char ping[] = "*1\r\n$4\r\nPING\r\n";
	int fd = client_unix("/run/redis/redis.sock");

	cr_assert_eq(cap.counts[PT_CNT_CONN_TRACKED], 0, "no port to go by");
	out_at(fd, ping, 2); /* "*1": judged on a prefix, the rest fed */
	out_at(fd, ping + 2, strlen(ping) - 2);
	cr_assert_eq(cap.counts[PT_CNT_CONN_TRACKED], 1);
	in_at(fd, "+PONG\r\n", 7);
	pt_on_close(fd);
	close(fd);
	cr_assert_eq(cap.nev, 1);
	expect_ev(0, PT_KIND_REDIS, "PING", PT_OUT_OK, 0);
	cr_assert_eq(cap.ev[0].ev.bytes_out, strlen(ping));
	cr_assert_eq(cap.ev[0].ev.bytes_in, 7);
	cr_assert_eq(cap.nconn, 2);
	cr_assert_str_eq(cap.conn[1].text, "/run/redis/redis.sock");
	cr_assert_eq(cap.conn[1].ci.proto, PT_PROTO_REDIS);
}

Test(conn, redis_desync_counts_once_and_makes_the_connection_passive)
{
	int fd = client_tcp(6379);
	feed_split(fd, PT_DIR_OUT, "*1\r\n$4\r\nPING\r\n", 5);
	in_at(fd, "+PONG\r\n", 7);
	in_at(fd, "+EXTRA\r\n", 8); /* a reply nothing asked for */
	cr_assert(passive(fd));
	cr_assert_eq(cap.counts[PT_CNT_CONN_UNDECODABLE], 1);
	cr_assert_eq(cap.drops[PT_DROP_DESYNC], 1);
	/* later bytes are not decoded: no event, nothing counted twice */
	feed_split(fd, PT_DIR_OUT, "*1\r\n$4\r\nPING\r\n", 3);
	in_at(fd, "+PONG\r\n", 7);
	cr_assert_eq(cap.nev, 1);
	expect_ev(0, PT_KIND_REDIS, "PING", PT_OUT_OK, 0);
	cr_assert_eq(cap.counts[PT_CNT_CONN_UNDECODABLE], 1);
	pt_on_close(fd);
	close(fd);
	cr_assert_eq(cap.conn[cap.nconn - 1].ci.event, PT_CONN_CLOSE);
	cr_assert_eq(cap.conn[cap.nconn - 1].ci.events, 1);
}

Test(conn, requests_outstanding_at_close_end_aborted)
{
	int fd = client_tcp(6379);
	out_at(fd, "*2\r\n$3\r\nGET\r\n$1\r\nk\r\n", 20);
	pt_on_close(fd);
	close(fd);
	cr_assert_eq(cap.nev, 1);
	expect_ev(0, PT_KIND_REDIS, "GET k", PT_OUT_ABORTED, 0);
}

/* ---- MySQL ------------------------------------------------------------ */

#define CAPS 0x000ea285u /* protocol 41, secure conn, plugin auth ... */

static void my_greeting(struct buf *o)
{
	static const char salt[] = "SALTSALTSALTSALTSALT";
	struct buf b = {0};
	put8(&b, 10);
	put(&b, "10.11.6-MariaDB", 16); /* NUL-terminated */
	put32(&b, 42);
	put(&b, salt, 8);
	put8(&b, 0);
	put16(&b, CAPS & 0xffff);
	put8(&b, 33);
	put16(&b, 2);
	put16(&b, CAPS >> 16);
	put8(&b, 21);
	for (int i = 0; i < 10; i++)
		put8(&b, 0);
	put(&b, salt + 8, 13);
	put(&b, "mysql_native_password", 22);
	packet(o, 0, &b);
}

static void my_login(struct buf *o)
{
	struct buf b = {0};
	put32(&b, CAPS);
	put32(&b, 1u << 24);
	put8(&b, 33);
	for (int i = 0; i < 23; i++)
		put8(&b, 0);
	put(&b, "app", 4);
	put_lenstr(&b, "secret-password");
	put(&b, "mysql_native_password", 22);
	packet(o, 1, &b);
}

static void my_ok(struct buf *o, uint8_t seq, uint64_t affected)
{
	struct buf b = {0};
	put8(&b, 0);
	put_lenenc(&b, affected);
	put_lenenc(&b, 0);
	put16(&b, 2); /* autocommit */
	put16(&b, 0);
	packet(o, seq, &b);
}

static void my_err(struct buf *o, uint8_t seq, unsigned code)
{
	struct buf b = {0};
	put8(&b, 0xff);
	put16(&b, code);
	put(&b, "#42S22", 6);
	put_str(&b, "Unknown column");
	packet(o, seq, &b);
}

static void my_query(struct buf *o, const char *sql)
{
	struct buf b = {0};
	put8(&b, 3); /* COM_QUERY */
	put(&b, sql, strlen(sql));
	packet(o, 0, &b);
}

/* The MySQL session, each message fed in pieces of `piece` bytes. */
static void mysql_session(int fd, size_t piece)
{
	struct buf m[7] = {{0}};
	my_greeting(&m[0]);
	my_login(&m[1]);
	my_ok(&m[2], 2, 0);
	my_query(&m[3], "INSERT INTO fir (id, state) VALUES (17, 'open')");
	my_ok(&m[4], 1, 1);
	my_query(&m[5], "SELECT nope FROM fir WHERE id = 9");
	my_err(&m[6], 1, 1054);
	for (int i = 0; i < 7; i++) {
		/* greeting, OK and ERR come in; the rest goes out */
		enum pt_dir dir = i == 0 || i == 2 || i == 4 || i == 6
				      ? PT_DIR_IN
				      : PT_DIR_OUT;
		feed(fd, dir, m[i].p, m[i].n, piece ? piece : m[i].n);
		free(m[i].p);
	}
}

static void expect_mysql_session(void)
{
	cr_assert_eq(cap.nev, 2);
	cr_assert_eq(cap.ev[0].ev.kind, PT_KIND_MYSQL);
	cr_assert_eq(cap.ev[0].ev.outcome, PT_OUT_OK);
	cr_assert_eq(cap.ev[0].ev.rows, 1);
	/* fingerprints: literals gone, the text normalized */
	cr_assert_str_eq(cap.ev[0].text,
			 "insert into fir (id,state) values(?,?)");
	expect_ev(1, PT_KIND_MYSQL, "select nope from fir where id=?",
		  PT_OUT_ERROR, 1054);
}

Test(conn, mysql_handshake_and_queries_in_every_piece_size)
{
	static const size_t pieces[] = {0, 1, 2, 3, 4, 5, 7, 13};
	for (size_t k = 0; k < sizeof(pieces) / sizeof(pieces[0]); k++) {
		memset(&cap, 0, sizeof(cap));
		int fd = client_tcp(3306);
		mysql_session(fd, pieces[k]);
		expect_mysql_session();
		pt_on_close(fd);
		close(fd);
		/* the greeting's version and thread id reach the records */
		cr_assert_eq(cap.nconn, 2, "piece %zu", pieces[k]);
		cr_assert_str_eq(cap.conn[1].text, "10.11.6-MariaDB");
		cr_assert_eq(cap.conn[1].ci.server_conn_id, 42);
		cr_assert_neq(cap.conn[1].ci.auth_ns, 0);
		cr_assert_eq(cap.conn[1].ci.proto, PT_PROTO_MYSQL);
	}
}

/* ---- HTTP ------------------------------------------------------------- */

Test(conn, accepted_http_is_sniffed_and_keepalive_requests_pair)
{
	static const char req[] = "GET /fir/42?token=abc HTTP/1.1\r\n"
				  "Host: x\r\n\r\n"
				  "POST /fir HTTP/1.1\r\nHost: x\r\n"
				  "Content-Length: 2\r\n\r\n{}";
	static const char rep1[] = "HTTP/1.1 404 Not Found\r\n"
				   "Content-Length: 0\r\n\r\n";
	static const char rep2[] = "HTTP/1.1 201 Created\r\n"
				   "Content-Length: 5\r\n\r\nhello";
	size_t n = strlen(req);

	for (size_t off = 1; off < n; off += 3) {
		memset(&cap, 0, sizeof(cap));
		int fd = server_tcp();
		feed_split(fd, PT_DIR_IN, req, off);
		feed_split(fd, PT_DIR_OUT, rep1, off % strlen(rep1));
		feed_split(fd, PT_DIR_OUT, rep2, off % strlen(rep2));
		pt_on_close(fd);
		close(fd);
		cr_assert_eq(cap.nev, 2, "at %zu", off);
		expect_ev(0, PT_KIND_HTTP_IN, "GET /fir/{id}", PT_OUT_HTTP,
			  404);
		expect_ev(1, PT_KIND_HTTP_IN, "POST /fir", PT_OUT_HTTP, 201);
		cr_assert_null(strstr(cap.ev[0].text, "token"));
		cr_assert_eq(cap.conn[1].ci.proto, PT_PROTO_HTTP);
		cr_assert_eq(cap.conn[1].ci.role, PT_ROLE_SERVER);
	}
}

/* ---- lifecycle -------------------------------------------------------- */

Test(conn, unknown_protocol_is_counted_and_left_alone)
{
	int fd = client_unix("/tmp/some.sock");
	out_at(fd, "xyzzy: not a protocol\n", 22);
	cr_assert(passive(fd));
	cr_assert_eq(cap.counts[PT_CNT_CONN_UNKNOWN], 1);
	cr_assert_eq(cap.counts[PT_CNT_CONN_TRACKED], 0);
	pt_on_close(fd);
	close(fd);
	cr_assert_eq(cap.nev, 0);
	cr_assert_eq(cap.nconn, 0, "an undecided connection writes no record");
}

Test(conn, dup_keeps_the_connection_until_its_last_fd_closes)
{
	int fd = client_tcp(6379);
	int fd2 = dup(fd);
	cr_assert_geq(fd2, 0);
	pt_on_dup(fd, fd2);
	out_at(fd, "*1\r\n$4\r\nPING\r\n", 14);
	pt_on_close(fd);
	cr_assert_eq(cap.nconn, 0, "still open through fd2");
	in_at(fd2, "+PONG\r\n", 7);
	pt_on_close(fd2);
	close(fd);
	close(fd2);
	cr_assert_eq(cap.nev, 1);
	expect_ev(0, PT_KIND_REDIS, "PING", PT_OUT_OK, 0);
	cr_assert_eq(cap.nconn, 2);
	cr_assert_eq(cap.conn[1].ci.event, PT_CONN_CLOSE);
}

Test(conn, the_shims_own_calls_are_not_tracked)
{
	pt_tflags.guard++;
	int fd = client_tcp(6379);
	pt_tflags.guard--;
	cr_assert_null(fdtab_lookup(&pt_fdtab, fd));
	out_at(fd, "*1\r\n$4\r\nPING\r\n", 14);
	cr_assert_eq(cap.nev, 0);
	cr_assert_eq(cap.counts[PT_CNT_CONN_TRACKED], 0);
	close(fd);
}

Test(conn, connect_time_runs_to_the_first_write_when_in_progress)
{
	int fd = stream_fd();
	struct sockaddr_in in = {.sin_family = AF_INET,
				 .sin_port = htons(6379)};
	pt_on_connect(fd, (struct sockaddr *)&in, sizeof(in), 5000, 0);
	clock_ns = 5990; /* the write's own clock reading is 6000 */
	out_at(fd, "*1\r\n$4\r\nPING\r\n", 14);
	in_at(fd, "+PONG\r\n", 7);
	pt_on_close(fd);
	close(fd);
	cr_assert_eq(cap.nconn, 2);
	cr_assert_eq(cap.conn[1].ci.connect_ns, 1000);
}

/* ---- TLS plaintext (what hooks_tls.c hands over) ----------------------- */

#define CLIENT_SSL (1u << 11)

static void my_ssl_request(struct buf *o)
{
	struct buf b = {0};
	put32(&b, CAPS | CLIENT_SSL);
	put32(&b, 1u << 24);
	put8(&b, 33);
	for (int i = 0; i < 23; i++)
		put8(&b, 0);
	packet(o, 1, &b);
}

/* Greeting and SSLRequest in clear on the socket, as libmariadb sends
 * them before its TLS handshake. */
static int mysql_up_to_tls(void)
{
	struct buf g = {0}, r = {0};
	int fd = client_tcp(3306);

	my_greeting(&g);
	my_ssl_request(&r);
	in_at(fd, g.p, g.n);
	out_at(fd, r.p, r.n);
	free(g.p);
	free(r.p);
	cr_assert_not(passive(fd), "left live for the plaintext");
	return fd;
}

static void tls_msg(int fd, enum pt_dir dir, struct buf *m, size_t piece)
{
	for (size_t i = 0; i < m->n; i += piece)
		pt_tls_bytes(fd, dir, m->p + i,
			     m->n - i < piece ? m->n - i : piece,
			     dir == PT_DIR_OUT ? fake_now() : 0);
	free(m->p);
	*m = (struct buf){0};
}

Test(conn, mysql_plaintext_after_ssl_request_resumes_the_decoder)
{
	for (size_t piece = 1; piece <= 64; piece *= 4) {
		memset(&cap, 0, sizeof(cap));
		int fd = mysql_up_to_tls();
		struct buf m = {0};
		my_login(&m);
		m.p[3] = 2; /* after the SSLRequest, the login is packet 2 */
		tls_msg(fd, PT_DIR_OUT, &m, piece);
		my_ok(&m, 3, 0);
		tls_msg(fd, PT_DIR_IN, &m, piece);
		my_query(&m, "UPDATE fir SET state = 'closed' WHERE id = 3");
		tls_msg(fd, PT_DIR_OUT, &m, piece);
		my_ok(&m, 1, 1);
		tls_msg(fd, PT_DIR_IN, &m, piece);
		cr_assert(passive(fd), "socket bytes are ciphertext now");
		pt_on_close(fd);
		close(fd);
		cr_assert_eq(cap.nev, 1, "piece %zu", piece);
		expect_ev(0, PT_KIND_MYSQL, "update fir set state=? where id=?",
			  PT_OUT_OK, 0);
		cr_assert(cap.ev[0].ev.flags & PT_EV_TLS);
		cr_assert_eq(cap.counts[PT_CNT_CONN_TRACKED], 1);
		cr_assert_eq(cap.counts[PT_CNT_CONN_TLS], 0);
	}
}

Test(conn, ciphertext_on_the_socket_after_ssl_request_is_counted_as_tls)
{
	static const uint8_t hello[] = {0x16, 0x03, 0x01, 0x00, 0x05,
					1,    2,    3,	  4,	5};
	int fd = mysql_up_to_tls();
	out_at(fd, hello, sizeof(hello));
	cr_assert(passive(fd));
	cr_assert_eq(cap.counts[PT_CNT_CONN_TLS], 1);
	pt_tls_bytes(fd, PT_DIR_OUT, "\x03SELECT 1", 9, fake_now());
	pt_on_close(fd);
	close(fd);
	cr_assert_eq(cap.nev, 0, "late plaintext joins no stream");
}

Test(conn, redis_by_port_over_tls_starts_with_the_plaintext)
{
	int fd = client_tcp(6379);
	pt_tls_bytes(fd, PT_DIR_OUT, "*1\r\n$4\r\nPING\r\n", 14, fake_now());
	pt_tls_bytes(fd, PT_DIR_IN, "+PO", 3, 0);
	pt_tls_bytes(fd, PT_DIR_IN, "NG\r\n", 4, 0);
	pt_on_close(fd);
	close(fd);
	cr_assert_eq(cap.nev, 1);
	expect_ev(0, PT_KIND_REDIS, "PING", PT_OUT_OK, 0);
	cr_assert(cap.ev[0].ev.flags & PT_EV_TLS);
}

Test(conn, https_server_plaintext_is_sniffed)
{
	static const char req[] = "GET /health HTTP/1.1\r\nHost: x\r\n\r\n";
	static const char rep[] = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n"
				  "\r\nok";
	int fd = server_tcp();
	pt_tls_bytes(fd, PT_DIR_IN, req, 3, 0); /* "GET": sniffing waits */
	pt_tls_bytes(fd, PT_DIR_IN, req + 3, strlen(req) - 3, 0);
	pt_tls_bytes(fd, PT_DIR_OUT, rep, strlen(rep), fake_now());
	pt_on_close(fd);
	close(fd);
	cr_assert_eq(cap.nev, 1);
	expect_ev(0, PT_KIND_HTTP_IN, "GET /health", PT_OUT_HTTP, 200);
	cr_assert(cap.ev[0].ev.flags & PT_EV_TLS);
}

Test(conn, a_forked_child_stops_decoding_the_parents_tls_streams)
{
	int fd = client_tcp(6379);
	pt_tls_bytes(fd, PT_DIR_OUT, "*1\r\n$4\r\nPING\r\n", 14, fake_now());
	pt_tls_after_fork(); /* as in the child: the reply is the parent's */
	pt_tls_bytes(fd, PT_DIR_IN, "+PONG\r\n", 7, 0);
	pt_tls_bytes(fd, PT_DIR_OUT, "*1\r\n$4\r\nPING\r\n", 14, fake_now());
	cr_assert(passive(fd));
	pt_on_close(fd);
	close(fd);
	/* the PING sent before the fork ends aborted at close, no other */
	cr_assert_eq(cap.nev, 1);
	expect_ev(0, PT_KIND_REDIS, "PING", PT_OUT_ABORTED, 0);
}
