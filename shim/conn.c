/*
 * conn.c -- the connection layer (conn.h): connection lifecycle, the
 * decoder sink and the byte path, between the hooks and the decoders.
 * What it produces goes to its host (struct pt_conn_host: the writer in
 * the shim, a capture in the unit tests).
 *
 * Sections:
 *   1. state, the host
 *   2. the decoder sink
 *   3. connection lifecycle (connect, accept, close, dup)
 *   4. bytes
 *   5. TLS plaintext (from hooks_tls.c)
 */
#include "conn.h"

#include <stddef.h>
#include <string.h>
#include <sys/un.h>
#include <netinet/in.h>

#include "op_event.h"
#include "peer.h"
#include "real.h"
#include "request.h"
#include "sniff.h"
#include "stack.h"
#include "task.h"
#include "task_create.h"
#include "writer.h"

/* ---- 1. state, the host ---- */

struct pt_fdtab pt_fdtab;
__thread struct pt_thread_flags pt_tflags
    __attribute__((tls_model("initial-exec")));

static struct pt_conn_host host;
static uint32_t next_id; /* connection ids (atomic) */

uint32_t conn_next_id(void)
{
	/* Relaxed: an id only has to be unique, it orders nothing. */
	return __atomic_add_fetch(&next_id, 1, __ATOMIC_RELAXED);
}

void conn_setup(const struct pt_conn_host *h)
{
	host = *h;
}

/* ---- 2. the decoder sink ---- */

static void emit_conn(struct pt_conn *c, uint8_t event, uint64_t now)
{
	if (!host.ready())
		return;
	struct pt_conn_info ci = {
	    .event = event,
	    .role = c->role,
	    .proto = c->proto,
	    .family = c->family,
	    .port = c->port,
	    .conn_id = c->conn_id,
	    .server_conn_id = c->server_conn_id,
	    .time_ns = now,
	    .events = c->events,
	    .undecoded_bytes = c->undecoded,
	    .connect_ns = c->connect_ns,
	    .auth_ns = c->auth_ns,
	    .conn_flags = c->conn_flags,
	    .text = c->text_len ? c->text : NULL,
	    .text_len = c->text_len,
	};
	memcpy(ci.addr, c->addr, sizeof(ci.addr));
	host.conn(&ci);
}

/* ---- asyncio clients: the stack of a send (stack.h) ----
 *
 * A connection's sends come from one kind of code, mostly: an asyncio
 * driver's connections are used from tasks, a blocking driver's from
 * threads.  So the first send of a connection is looked at, and one in
 * SENDER_RECHECK after that while its sender looks plain; a connection
 * whose sends come from a coroutine keeps the stack of every send.
 */
enum pt_sender {
	PT_SENDER_UNKNOWN = 0, /* no send looked at yet */
	PT_SENDER_PLAIN,       /* sends come from plain (threaded) code */
	PT_SENDER_COROUTINE,   /* a send came from a coroutine */
};

#define SENDER_RECHECK 64

/* The send in ring slot `slot` was just noted (lock held). */
static void sent_stack_note(struct pt_conn *c, int slot)
{
	if (c->sender == PT_SENDER_PLAIN && ++c->sender_skip < SENDER_RECHECK)
		return;
	c->sender_skip = 0;
	struct pt_stack_capture *cap = &c->sent_stack[slot];
	if (!pt_stack_capture_send(cap)) {
		/* No Python frames (a C thread): the reply is read on this
		 * stack too.  Looked at again in SENDER_RECHECK sends. */
		if (c->sender == PT_SENDER_UNKNOWN)
			c->sender = PT_SENDER_PLAIN;
		return;
	}
	if (cap->coroutine)
		c->sender = PT_SENDER_COROUTINE;
	else if (c->sender != PT_SENDER_COROUTINE)
		c->sender = PT_SENDER_PLAIN;
	/* On a coroutine's connection every send's stack is the caller's,
	 * whoever completes the operation; on a plain one the reply is read
	 * on the sender's own stack, which the completion takes. */
	c->sends.has_stack[slot] = c->sender == PT_SENDER_COROUTINE;
}

/* Where op's stack comes from: on a coroutine's connection, its send's. */
static void sent_stack_of(struct pt_conn *c, const struct pt_op *op,
			  struct pt_op_stack *how)
{
	if (c->role != PT_ROLE_CLIENT || c->sender != PT_SENDER_COROUTINE)
		return;
	int slot = task_send_slot(&c->sends, op->start_ns);
	if (slot >= 0 && c->sends.has_stack[slot])
		how->sent = &c->sent_stack[slot];
	else
		how->unsent = 1;
}

static void sink_op(void *arg, const struct pt_op *op)
{
	struct pt_conn *c = arg;
	if (!c->opened) {
		emit_conn(c, PT_CONN_OPEN, c->open_ns);
		c->opened = 1;
	}
	c->events++;
	if (!host.ready())
		return;
	struct pt_event ev = pt_op_to_event(op, c->conn_id);
	request_attribute(c, op, &ev);
	if (c->tls == PT_TLS_ON)
		ev.flags |= PT_EV_TLS;
	struct pt_op_stack how = {.batch = c->stack_batch};
	sent_stack_of(c, op, &how);
	host.event(&ev, &how);
}

static void sink_note(void *arg, enum pt_note note, const char *text,
		      size_t len, uint64_t value)
{
	struct pt_conn *c = arg;
	switch (note) {
	case PT_NOTE_SERVER_INFO:
		if (len > sizeof(c->text) - 1)
			len = sizeof(c->text) - 1;
		if (text)
			memcpy(c->text, text, len);
		c->text[len] = '\0';
		c->text_len = (uint32_t)len;
		c->server_conn_id = (uint32_t)value;
		return;
	case PT_NOTE_TLS:
		/* Stopped, not passive: the SSL hooks may resume it with
		 * the plaintext; ciphertext reaching conn_feed counts it. */
		return;
	case PT_NOTE_COMPRESSED:
		host.count(PT_CNT_CONN_COMPRESSED);
		break;
	case PT_NOTE_UPGRADED:
		host.count(PT_CNT_CONN_UPGRADED);
		break;
	case PT_NOTE_DESYNC:
		host.count(PT_CNT_CONN_UNDECODABLE);
		host.drop(PT_DROP_DESYNC);
		break;
	case PT_NOTE_QUEUE_FULL:
		host.drop(PT_DROP_QUEUE_FULL);
		return;
	case PT_NOTE_AUTH:
		c->auth_ns = value ? value : 1;
		return;
	default:
		return;
	}
	fdtab_set_passive(c); /* decoding stopped: later calls are cheap */
}

/* Give c its decoder (lock held). */
static void conn_decide(struct pt_conn *c, enum pt_proto proto)
{
	c->proto = (uint8_t)proto;
	c->decided = 1;
	c->sink.op = sink_op;
	c->sink.note = sink_note;
	c->sink.arg = c;
	sniff_decoder_init(&c->dec, proto, c->role, host.popts, &c->sink);
	host.count(PT_CNT_CONN_TRACKED);
}

/* Last fd gone (fdtab calls this with the lock held). */
static void conn_finalize(struct pt_conn *c)
{
	if (!c->decided)
		return;
	if (!fdtab_is_passive(c) && sniff_decoder_tls_wait(&c->dec, c->proto))
		host.count(
		    PT_CNT_CONN_TLS); /* upgraded; no plaintext ever came */
	uint64_t now = host.now();
	sniff_decoder_close(&c->dec, c->proto, now);
	if (c->req_open)
		request_end(&c->req_open);
	if (!c->opened) {
		emit_conn(c, PT_CONN_OPEN, c->open_ns);
		c->opened = 1;
	}
	emit_conn(c, PT_CONN_CLOSE, now);
}

int conn_table_init(uint32_t fd_cap, uint32_t nslots)
{
	int rc = fdtab_init(&pt_fdtab, fd_cap, nslots);
	/* After init, which clears the table; in the constructor, before
	 * any hook can find a slot to finalize. */
	pt_fdtab.finalize = conn_finalize;
	return rc;
}

/* ---- 3. connection lifecycle ---- */

static void peer_from(struct pt_conn *c, const struct sockaddr *a,
		      socklen_t alen)
{
	if (!a || alen < sizeof(sa_family_t))
		return;
	struct pt_peer p;
	pt_peer_from(&p, a, alen);
	c->family = p.family;
	if (p.family == AF_INET || p.family == AF_INET6) {
		c->port = p.port;
		memcpy(c->addr, p.addr, sizeof(c->addr));
	} else if (a->sa_family == AF_UNIX) {
		const struct sockaddr_un *un = (const void *)a;
		size_t max = alen - offsetof(struct sockaddr_un, sun_path);
		size_t n = strnlen(un->sun_path, max);
		if (n > sizeof(c->text) - 1)
			n = sizeof(c->text) - 1;
		memcpy(c->text, un->sun_path, n);
		c->text[n] = '\0';
		c->text_len = (uint32_t)n;
	}
}

static int is_stream(int fd)
{
	int type = 0;
	socklen_t len = sizeof(type);
	return pt_real_getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) == 0 &&
	       type == SOCK_STREAM;
}

static int family_ok(const struct sockaddr *a, socklen_t alen)
{
	if (!a || alen < sizeof(sa_family_t))
		return 0;
	return a->sa_family == AF_INET || a->sa_family == AF_INET6 ||
	       a->sa_family == AF_UNIX;
}

/* A new connection on fd: slot, peer, maybe a decoder, then publish.
 * done: when a client's connect() returned 0 (connect time = done - now);
 * 0 while it is in progress (connect_done / first write end it). */
static void conn_new(int fd, enum pt_conn_role role, const struct sockaddr *a,
		     socklen_t alen, uint64_t now, uint64_t done)
{
	struct pt_conn *c = fdtab_alloc(&pt_fdtab);
	if (!c) {
		host.drop(PT_DROP_CONN_TABLE);
		struct pt_conn *old = fdtab_detach(&pt_fdtab, fd);
		if (old)
			fdtab_unref(&pt_fdtab, old);
		return;
	}
	c->role = (uint8_t)role;
	c->open_ns = now;
	if (role == PT_ROLE_CLIENT && done)
		c->connect_ns = done > now ? done - now : 1;
	else if (role == PT_ROLE_CLIENT)
		c->connect_start = now;
	c->conn_id = conn_next_id();
	peer_from(c, a, alen);
	if (role == PT_ROLE_CLIENT &&
	    (c->family == AF_INET || c->family == AF_INET6)) {
		enum pt_proto p = sniff_by_port(host.cfg, c->port);
		if (p != PT_PROTO_UNKNOWN && sniff_supported(p))
			conn_decide(c, p);
	}
	struct pt_conn *old = fdtab_attach(&pt_fdtab, fd, c);
	if (old) /* fd reused without a close we saw (fclose, syscall) */
		fdtab_unref(&pt_fdtab, old);
	fdtab_release(&pt_fdtab, c);
}

void pt_on_connect(int fd, const struct sockaddr *a, socklen_t alen,
		   uint64_t now, uint64_t done)
{
	if (pt_tflags.guard ||
	    !__atomic_load_n(&pt_fdtab.fd_cap, __ATOMIC_RELAXED))
		return;
	if (!family_ok(a, alen) || !is_stream(fd))
		return;
	conn_new(fd, PT_ROLE_CLIENT, a, alen, now, done);
}

void pt_on_accept(int fd, const struct sockaddr *a, socklen_t alen)
{
	struct sockaddr_storage ss;

	if (pt_tflags.guard ||
	    !__atomic_load_n(&pt_fdtab.fd_cap, __ATOMIC_RELAXED))
		return;
	if (!a || !family_ok(a, alen)) {
		socklen_t len = sizeof(ss);
		memset(&ss, 0, sizeof(ss));
		if (getpeername(fd, (struct sockaddr *)&ss, &len) < 0 ||
		    !family_ok((struct sockaddr *)&ss, len)) {
			/* Unnamed Unix peer: still a candidate. */
			ss.ss_family = AF_UNIX;
			len = sizeof(sa_family_t);
		}
		a = (struct sockaddr *)&ss;
		alen = len;
	}
	conn_new(fd, PT_ROLE_SERVER, a, alen, host.now(), 0);
}

void pt_on_close(int fd)
{
	if (pt_tflags.guard || host.foreign())
		return;
	struct pt_conn *c = fdtab_detach(&pt_fdtab, fd);
	if (c)
		fdtab_unref(&pt_fdtab, c);
}

void pt_on_close_range(unsigned int first, unsigned int last)
{
	uint32_t max = fdtab_max_fd(&pt_fdtab);
	if (pt_tflags.guard ||
	    !__atomic_load_n(&pt_fdtab.fd_cap, __ATOMIC_RELAXED) ||
	    first > max || host.foreign())
		return;
	if (last > max)
		last = max;
	for (unsigned int fd = first; fd <= last; fd++) {
		struct pt_conn *c = fdtab_detach(&pt_fdtab, (int)fd);
		if (c)
			fdtab_unref(&pt_fdtab, c);
	}
}

void pt_on_dup(int oldfd, int newfd)
{
	if (pt_tflags.guard || oldfd == newfd || host.foreign())
		return;
	struct pt_conn *c = fdtab_lookup(&pt_fdtab, oldfd);
	struct pt_conn *prev = c ? fdtab_attach(&pt_fdtab, newfd, c)
				 : fdtab_detach(&pt_fdtab, newfd);
	if (prev)
		fdtab_unref(&pt_fdtab, prev);
}

/* ---- 4. bytes ---- */

/* What sniffing an undecided connection's next bytes came to. */
enum pt_sniff_step {
	PT_SNIFF_WAIT = 0, /* first bytes kept: judge with the next ones */
	PT_SNIFF_STOP,	   /* no decoder (counted), or the prefix stopped it */
	PT_SNIFF_FEED,	   /* c has a decoder (prefix fed): feed buf to it */
};

/* Undecided connection: gather up to PT_SNIFF_BYTES first bytes, then
 * choose (socket bytes, and SSL plaintext: section 5).  PT_SNIFF_FEED: the
 * caller feeds buf next; PT_SNIFF_STOP: the caller stops decoding c (no
 * protocol, counted here, or the prefix stopped the decoder). */
static enum pt_sniff_step conn_sniff(struct pt_conn *c, enum pt_dir dir,
				     const uint8_t *buf, size_t n, uint64_t t)
{
	uint8_t head[PT_SNIFF_BYTES];
	size_t have = c->sniff_len;

	if (have && c->sniff_dir != dir)
		have = 0; /* the other side spoke: judge on these bytes */
	memcpy(head, c->sniff, have);
	size_t take = n < sizeof(head) - have ? n : sizeof(head) - have;
	memcpy(head + have, buf, take);

	enum pt_proto p;
	enum sniff_verdict v =
	    sniff_by_bytes(c->role, dir, head, have + take, &p);
	if (v == SNIFF_MORE && take == n && have + take < sizeof(head)) {
		memcpy(c->sniff, head, have + take);
		c->sniff_len = (uint8_t)(have + take);
		c->sniff_dir = (uint8_t)dir;
		return PT_SNIFF_WAIT;
	}
	if (v != SNIFF_YES || !sniff_supported(p)) {
		/* A ClientHello: TLS whose plaintext is not seen here (a
		 * memory BIO, a TLS library the SSL hooks do not cover). */
		host.count(sniff_is_tls(c->role, dir, head, have + take)
			       ? PT_CNT_CONN_TLS
			       : PT_CNT_CONN_UNKNOWN);
		return PT_SNIFF_STOP;
	}
	conn_decide(c, p);
	if (have && sniff_decoder_feed(&c->dec, c->proto, dir, c->sniff, have,
				       t) != PT_FEED_OK)
		return PT_SNIFF_STOP;
	return PT_SNIFF_FEED;
}

/* asyncio (task.h): which context sends this request, or writes this
 * response's first byte.  Before the bytes are fed: a response written in
 * one call ends (and is attributed) inside the feed. */
static void note_task(struct pt_conn *c, uint64_t t)
{
	if (c->role == PT_ROLE_CLIENT) {
		int slot = task_note_send(&c->sends, t, task_key_now());
		if (slot >= 0 && pt_stack_at_send_on())
			sent_stack_note(c, slot);
	} else if (c->role == PT_ROLE_SERVER && c->req_open && !c->resp_seen &&
		   task_enabled()) {
		c->resp_key = task_response_key();
		c->resp_seen = 1;
	}
}

/* Feed n bytes of c in direction dir.  Returns 1 when they completed a
 * request's head (request_step), else 0. */
static int conn_feed(struct pt_conn *c, enum pt_dir dir, const uint8_t *buf,
		     size_t n, uint64_t t)
{
	if (n == 0 || fdtab_is_passive(c))
		return 0;
	if (task_create_enabled()) /* C1: only the feed just made counts */
		task_create_note(-1, NULL, 0, NULL, 0);
	if (dir == PT_DIR_OUT && (task_enabled() || pt_stack_at_send_on()))
		note_task(c, t);
	if (!c->decided) {
		enum pt_sniff_step s = conn_sniff(c, dir, buf, n, t);
		if (s == PT_SNIFF_STOP)
			fdtab_set_passive(c);
		if (s != PT_SNIFF_FEED)
			return 0;
	} else if (sniff_decoder_tls_wait(&c->dec, c->proto)) {
		/* Upgraded to TLS, and these bytes came past the SSL hooks:
		 * ciphertext, so the plaintext will not be seen. */
		host.count(PT_CNT_CONN_TLS);
		fdtab_set_passive(c);
		return 0;
	}
	/* A decoder stopped at a TLS upgrade stays live (see above);
	 * otherwise stopped means passive: later calls are cheap. */
	struct pt_stack_batch batch;
	pt_stack_batch_init(&batch);
	c->stack_batch = &batch;
	enum pt_feed_status fs =
	    sniff_decoder_feed(&c->dec, c->proto, dir, buf, n, t);
	c->stack_batch = NULL;
	if (fs != PT_FEED_OK && !sniff_decoder_tls_wait(&c->dec, c->proto))
		fdtab_set_passive(c);
	return request_step(c, t);
}

/* Lock the connection at fd, or count why not. */
static struct pt_conn *conn_get(int fd)
{
	int busy;
	struct pt_conn *c = fdtab_acquire(&pt_fdtab, fd, &busy);
	if (!c && busy) {
		/* Another thread, or this thread interrupted by a signal
		 * handler, holds it: skip, never wait; the stream now has a
		 * hole, so decoding stops. */
		struct pt_conn *l = fdtab_lookup(&pt_fdtab, fd);
		if (l)
			fdtab_set_passive(l);
		host.drop(PT_DROP_BUSY);
	}
	return c;
}

/* A connect in progress ends (lock held): the first sign the program saw
 * it writable. */
static void connect_end(struct pt_conn *c, uint64_t now)
{
	if (!c->connect_start)
		return;
	c->connect_ns = now > c->connect_start ? now - c->connect_start : 1;
	c->connect_start = 0;
}

void pt_on_connected(int fd, int err)
{
	uint64_t now = host.now();
	struct pt_conn *c = conn_get(fd);
	if (!c)
		return;
	if (err && c->connect_start) {
		c->conn_flags |= PT_CONNF_FAILED;
		c->connect_start = 0;
	}
	connect_end(c, now);
	fdtab_release(&pt_fdtab, c);
}

static uint64_t feed_time(const struct pt_conn *c, enum pt_dir dir, uint64_t t)
{
	if (dir == PT_DIR_OUT && c->role == PT_ROLE_CLIENT && t)
		return t;
	return host.now();
}

void pt_conn_bytes(int fd, enum pt_dir dir, const void *buf, size_t n,
		   uint64_t t)
{
	struct pt_conn *c = conn_get(fd);
	if (!c)
		return;
	t = feed_time(c, dir, t);
	if (dir == PT_DIR_IN) {
		c->bytes_in += n;
	} else {
		c->bytes_out += n;
		connect_end(c, t); /* written: it was connected */
	}
	int head = conn_feed(c, dir, buf, n, t);
	if (!task_create_enabled()) {
		fdtab_release(&pt_fdtab, c);
		return;
	}
	/* One read, one buffer: the bytes data_received will be given
	 * (task_create.h C1, C4).  A readv's are never noted. */
	if (head && dir == PT_DIR_IN)
		task_create_note(fd, c, c->req_open, buf, n);
	fdtab_release(&pt_fdtab, c);
	task_create_arm();
}

/* task_create.h: request req's head, read on fd from conn, created the
 * task whose context is key. */
static void conn_task_created(int fd, const void *conn, uint64_t req,
			      uint64_t key)
{
	int busy;
	struct pt_conn *c = fdtab_acquire(&pt_fdtab, fd, &busy);
	if (!c)
		return; /* busy: the binding is lost, never waited for */
	if (c == conn && c->req_open == req && !c->create_key)
		c->create_key = key;
	fdtab_release(&pt_fdtab, c);
}

void pt_conn_task_setup(void)
{
	task_create_enable(conn_task_created);
}

void pt_conn_iov(int fd, enum pt_dir dir, const struct iovec *iov, int cnt,
		 size_t n, uint64_t t)
{
	struct pt_conn *c = conn_get(fd);
	if (!c)
		return;
	t = feed_time(c, dir, t);
	if (dir == PT_DIR_OUT)
		connect_end(c, t);
	for (int i = 0; i < cnt && n > 0; i++) {
		size_t len = iov[i].iov_len < n ? iov[i].iov_len : n;
		if (dir == PT_DIR_IN)
			c->bytes_in += len;
		else
			c->bytes_out += len;
		conn_feed(c, dir, iov[i].iov_base, len, t);
		n -= len;
	}
	fdtab_release(&pt_fdtab, c);
}

/* sendfile: the bytes came from a file and were never in our memory.  An
 * HTTP decoder only counts body bytes, so zeros stand in for them; if
 * the file held more than body (headers), the decoder desyncs and says
 * so.  Other protocols cannot be followed: stop decoding. */
void pt_conn_file_bytes(int fd, size_t n, uint64_t t)
{
	static const uint8_t zeros[4096];
	struct pt_conn *c = conn_get(fd);
	if (!c)
		return;
	t = feed_time(c, PT_DIR_OUT, t);
	c->bytes_out += n;
	if (c->decided && c->proto == PT_PROTO_HTTP) {
		while (n > 0 && !fdtab_is_passive(c)) {
			size_t k = n < sizeof(zeros) ? n : sizeof(zeros);
			conn_feed(c, PT_DIR_OUT, zeros, k, t);
			n -= k;
		}
	} else {
		c->undecoded += n;
		fdtab_set_passive(c);
	}
	fdtab_release(&pt_fdtab, c);
}

void pt_conn_lost(int fd)
{
	struct pt_conn *c = conn_get(fd);
	if (!c)
		return;
	if (c->decided)
		host.drop(PT_DROP_DESYNC);
	fdtab_set_passive(c);
	fdtab_release(&pt_fdtab, c);
}

/* ---- 5. TLS plaintext ----
 *
 * hooks_tls.c hands over what SSL_read/SSL_write moved, in place of the
 * ciphertext the socket hooks would see (they see the fd as untracked
 * while an SSL call runs).  c->tls (enum pt_tls_state, fdtab.h) is read
 * and written only by the holder of the slot's lock (fdtab.h F2); a
 * reused slot starts at PT_TLS_OFF.  Once plaintext has been seen the
 * slot is made passive, so that stray socket calls outside OpenSSL are
 * ignored, and the plaintext is fed past the passive flag.
 *
 * Cases:
 *   - MySQL: the SSLRequest goes in clear through send(); the decoder
 *     stops with PT_NOTE_TLS (slot left live, sink_note).  The first
 *     plaintext resumes it (proto_mysql_resume_tls) and feeds the
 *     handshake response and every command after it.  Ciphertext reaching
 *     the socket path first means the plaintext is not seen: conn_feed
 *     counts PT_CNT_CONN_TLS then.
 *   - A port-decided connection (rediss:// on a Redis port): the decoder
 *     has seen nothing (the ClientHello went through SSL_do_handshake),
 *     so the plaintext starts the stream.
 *   - An undecided connection (HTTPS client or server, TLS on an unknown
 *     port): the plaintext is sniffed like socket bytes.
 * Events from plaintext carry PT_EV_TLS (sink_op). */

/* First plaintext on c: does the TLS layer take the stream over? */
static enum pt_tls_state tls_begin(struct pt_conn *c)
{
#ifdef PT_HAVE_MYSQL
	/* Stopped at the SSLRequest (slot left live for this): the
	 * plaintext continues it. */
	if (c->decided && c->proto == PT_PROTO_MYSQL &&
	    proto_mysql_resume_tls(&c->dec.mysql) == 0) {
		fdtab_set_passive(c); /* the socket hooks leave it alone */
		return PT_TLS_ON;
	}
#endif
	if (c->decided && fdtab_is_passive(c))
		return PT_TLS_STOPPED; /* desync, busy drop... earlier */
	/* Decided by port with nothing fed (the handshake went through the
	 * SSL hooks), or undecided: a ClientHello sniffed as unknown leaves
	 * an undecided passive slot, and its plaintext is sniffed afresh. */
	c->sniff_len = 0;
	fdtab_set_passive(c); /* the socket hooks leave it alone from now */
	return PT_TLS_ON;
}

/* Undecided: choose a protocol from the plaintext's first bytes, as
 * conn_feed does with socket bytes.  1 when c has a decoder and buf
 * should be fed. */
static int tls_sniff(struct pt_conn *c, enum pt_dir dir, const uint8_t *buf,
		     size_t n, uint64_t t)
{
	enum pt_sniff_step s = conn_sniff(c, dir, buf, n, t);
	if (s == PT_SNIFF_STOP)
		c->tls = PT_TLS_STOPPED;
	return s == PT_SNIFF_FEED;
}

void pt_tls_bytes(int fd, enum pt_dir dir, const void *buf, size_t n,
		  uint64_t t)
{
	/* Passive slots too: plaintext is fed past the passive flag. */
	int busy;
	struct pt_conn *c = fdtab_acquire_any(&pt_fdtab, fd, &busy);
	if (!c) {
		if (busy) /* the plaintext stream now has a hole */
			host.drop(PT_DROP_BUSY);
		return;
	}
	enum pt_tls_state s = (enum pt_tls_state)c->tls;
	if (s == PT_TLS_OFF) {
		s = tls_begin(c);
		c->tls = (uint8_t)s;
	}
	if (s == PT_TLS_ON) {
		if (!(dir == PT_DIR_OUT && c->role == PT_ROLE_CLIENT && t))
			t = host.now();
		if (dir == PT_DIR_IN)
			c->bytes_in += n;
		else
			c->bytes_out += n;
		if ((c->decided || tls_sniff(c, dir, buf, n, t)) &&
		    sniff_decoder_feed(&c->dec, c->proto, dir, buf, n, t) !=
			PT_FEED_OK)
			c->tls = PT_TLS_STOPPED;
	}
	fdtab_release(&pt_fdtab, c);
}

/* Note: a forked child must not decode its parent's TLS streams (fdtab
 * keeps only idle socket-stream connections decoding; without this, the
 * first SSL_read would start a fresh decoder mid-stream). */
void pt_tls_after_fork(void)
{
	for (uint32_t i = 0; i < pt_fdtab.nslots && i < PT_FDTAB_SLOTS_MAX;
	     i++) {
		struct pt_conn *c = &pt_fdtab.slots[i];
		if (!__atomic_load_n(&c->used, __ATOMIC_RELAXED))
			continue;
		if (c->tls == PT_TLS_ON) /* socket bytes are ciphertext */
			fdtab_set_passive(c);
		c->tls = PT_TLS_STOPPED;
	}
}
