/*
 * preload.c -- the shim core: start-up (settings, fd table), the lazy
 * dump writer, per-thread state, fork handling, connection lifecycle and
 * the sink that turns decoder output into dump records.  The interposed
 * symbols themselves are in hooks.c.
 *
 * Sections:
 *   1. state and saying things once
 *   2. the writer: lazy open, per-thread cursor, counters
 *   3. the decoder sink
 *   4. connection lifecycle (connect, accept, close, dup)
 *   5. bytes
 *   6. constructor, fork
 *
 * Rules: nothing here allocates or blocks once the constructor is done;
 * every lock is a try-lock (fdtab.h F2); errno is the hooks' business
 * (they save and restore it around every call into this file).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <netinet/in.h>
#include <unistd.h>

#include "op_event.h"
#include "config.h"
#include "normalize.h"
#include "preload.h"
#include "real.h"
#include "pyrt.h"
#include "request.h"
#include "task.h"
#include "sniff.h"
#include "spill.h"
#include "stack.h"
#include "sys.h"
#include "writer.h"

/* ---- 1. state and saying things once ---- */

struct pt_fdtab pt_fdtab;
int pt_writer_fd = -1;
__thread struct pt_thread_flags pt_tflags
    __attribute__((tls_model("initial-exec")));

/* Per-thread writer state.  The cursor (~3 KiB) lives in static TLS so
 * that no event ever allocates; the pthread key exists only to release
 * the cursor's chunk when the thread exits. */
struct pt_thread {
	uint32_t tid;
	uint32_t cursor_ready;
	uint32_t key_set;
	struct pt_writer_cursor cursor;
};
static __thread struct pt_thread pt_self
    __attribute__((tls_model("initial-exec")));

enum writer_state { W_CLOSED = 0, W_OPENING, W_OPEN, W_FAILED };

static struct pt_config cfg;
static struct pt_proto_options popts;
static struct pt_writer writer;
static int wstate;	    /* enum writer_state (atomic) */
static int said;	    /* the one stderr line was written (atomic) */
static uint32_t next_id;    /* connection ids (atomic) */
static pid_t my_pid;	    /* our pid: a vfork/clone child differs */
static uint32_t fork_midop; /* inherited mid-operation: counted at open */
static pthread_key_t thread_key;
static int key_ok;
static char exe_path[PATH_MAX];
static int saved_argc;
static char **saved_argv;
static int api_on; /* the client-API hooks may emit (setup succeeded) */

/* One line on stderr, once per process, then tracing off.  Called from
 * hooks too: no stdio, no malloc (strerrordesc_np is a table lookup). */
static void say_once(const char *what, int err)
{
	char line[PT_CONFIG_PATH_MAX + 256];
	int n;

	if (__atomic_exchange_n(&said, 1, __ATOMIC_RELAXED) || cfg.quiet)
		return;
	if (err)
		n = snprintf(line, sizeof(line),
			     "perftap: cannot write dumps in %s: %s; tracing "
			     "off\n",
			     what, strerrordesc_np(err));
	else
		n = snprintf(line, sizeof(line), "perftap: %s; tracing off\n",
			     what);
	if (n > 0) {
		size_t len =
		    (size_t)n < sizeof(line) ? (size_t)n : sizeof(line) - 1;
		pt_tflags.guard++;
		ssize_t w = pt_sys.write(2, line, len);
		(void)w;
		pt_tflags.guard--;
	}
}

/* Step aside: every fd reads as untracked from now on.  Slots in use are
 * abandoned (their memory stays mapped, so a hook in flight is safe). */
static void tracing_off(void)
{
	__atomic_store_n(&pt_fdtab.fd_cap, 0, __ATOMIC_RELEASE);
}

static uint32_t self_tid(void)
{
	if (!pt_self.tid)
		pt_self.tid = (uint32_t)syscall(SYS_gettid);
	return pt_self.tid;
}

/* In a vfork child (posix_spawn, Python's subprocess) the hooks run in
 * the parent's memory: they must change nothing.  A syscall, so only on
 * calls that change a tracked fd's state. */
static int foreign_process(void)
{
	return (pid_t)syscall(SYS_getpid) != my_pid;
}

/* ---- 2. the writer ---- */

/* Move the dump's fd far above the program's so that the program's own
 * numbering is unchanged and close loops rarely meet it. */
static void writer_fd_move(void)
{
	struct rlimit rl;
	long top = 1024;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY)
		top = (long)rl.rlim_cur;
	if (top > (1L << 20))
		top = 1L << 20;
	long want = top - 64 > 3 ? top - 64 : 3;
	int fd = pt_sys.fcntl(writer.fd, F_DUPFD_CLOEXEC, want);
	if (fd >= 0) {
		pt_sys.close(writer.fd);
		writer.fd = fd;
	}
	__atomic_store_n(&pt_writer_fd, writer.fd, __ATOMIC_RELAXED);
}

static int writer_open_now(void)
{
	struct pt_writer_config wc = {
	    .dir = cfg.dir,
	    .name_hint = program_invocation_short_name,
	    .max_size = cfg.max_size,
	    .chunk_size = cfg.chunk_size,
	    .mode = cfg.mode,
	    .flags = cfg.raw ? PT_HDR_RAW_TEXT : 0,
	    .exe = exe_path[0] ? exe_path : NULL,
	    .argc = saved_argc,
	    .argv = saved_argv,
	    .settings = cfg.settings,
	};
	pt_tflags.guard++;
	int rc = pt_writer_open(&writer, &wc);
	if (rc == 0)
		writer_fd_move();
	pt_tflags.guard--;
	return rc;
}

/* 1 when the writer is open.  The first caller opens it (a millisecond:
 * mkdir, open, fallocate, mmap).  Other threads wait for it, yielding, so
 * that their first events are not lost; the wait is bounded by the
 * opener's system calls and the opener takes no lock they could hold.  A
 * signal handler interrupting the opener (guard set) never waits: its
 * event is lost instead. */
static int writer_ready(void)
{
	int s = __atomic_load_n(&wstate, __ATOMIC_ACQUIRE);
	if (__builtin_expect(s == W_OPEN, 1))
		return 1;
	if (s == W_OPENING) {
		if (pt_tflags.guard)
			return 0;
		while ((s = __atomic_load_n(&wstate, __ATOMIC_ACQUIRE)) ==
		       W_OPENING)
			sched_yield();
		return s == W_OPEN;
	}
	if (s != W_CLOSED)
		return 0;
	int closed = W_CLOSED;
	if (!__atomic_compare_exchange_n(&wstate, &closed, W_OPENING, 0,
					 __ATOMIC_ACQUIRE, __ATOMIC_RELAXED))
		return writer_ready(); /* another thread won: wait for it */
	int rc = writer_open_now();
	if (rc < 0) {
		__atomic_store_n(&wstate, W_FAILED, __ATOMIC_RELEASE);
		tracing_off();
		say_once(cfg.dir, -rc);
		return 0;
	}
	/* Release: the writer's fields before anyone sees W_OPEN. */
	__atomic_store_n(&wstate, W_OPEN, __ATOMIC_RELEASE);
	for (; fork_midop; fork_midop--) /* a forked child's first open */
		pt_writer_count(&writer, PT_CNT_CONN_FORK_MIDOP);
	return 1;
}

static void thread_exit(void *arg)
{
	struct pt_thread *t = arg;
	if (__atomic_load_n(&wstate, __ATOMIC_ACQUIRE) == W_OPEN &&
	    t->cursor_ready)
		pt_writer_cursor_release(&writer, &t->cursor);
	t->cursor_ready = 0;
	t->key_set = 0;
}

static struct pt_writer_cursor *cursor(void)
{
	if (!pt_self.cursor_ready) {
		pt_writer_cursor_init(&pt_self.cursor, self_tid());
		pt_self.cursor_ready = 1;
	}
	if (!pt_self.key_set && key_ok) {
		/* Keys below PTHREAD_KEY_2NDLEVEL_SIZE (ours, created first
		 * thing in the constructor) need no allocation here. */
		pthread_setspecific(thread_key, &pt_self);
		pt_self.key_set = 1;
	}
	return &pt_self.cursor;
}

static void count(enum pt_counter what)
{
	if (writer_ready())
		pt_writer_count(&writer, what);
}

static void drop(enum pt_drop_cause why)
{
	if (writer_ready())
		pt_writer_count_drop(&writer, why);
}

static void emit_conn(struct pt_conn *c, uint8_t event, uint64_t now)
{
	if (!writer_ready())
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
	pt_writer_emit_conn(&writer, cursor(), &ci);
}

/*
 * Resource samples (PERFTAP_SAMPLE_INTERVAL), so that a process under
 * plain LD_PRELOAD gets some without a thread or a timer signal: at most
 * one per interval, taken by a thread that has just written an event.
 * The event path pays one relaxed load and a compare; the thread that
 * wins the compare-exchange takes the sample (getrusage and a read of
 * /proc/self/statm through raw system calls, which no hook sees).
 * Relaxed is enough: next_sample_ns only rations samples, it orders no
 * other memory; a lost race means one sample fewer, never two at once.
 */
static uint64_t next_sample_ns;

/* The start of a /proc/self file into buf (NUL-terminated): its length,
 * or -1.  Raw system calls, which no hook sees. */
static long proc_self_read(const char *path, char *buf, size_t cap)
{
	long fd = syscall(SYS_openat, AT_FDCWD, path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	long n = syscall(SYS_read, fd, buf, cap - 1);
	syscall(SYS_close, fd);
	if (n <= 0)
		return -1;
	buf[n] = '\0';
	return n;
}

static uint64_t decimal(const char *p)
{
	uint64_t v = 0;
	for (; *p >= '0' && *p <= '9'; p++)
		v = v * 10 + (uint64_t)(*p - '0');
	return v;
}

static uint64_t statm_rss_pages(int *ok)
{
	char buf[128];
	*ok = 0;
	if (proc_self_read("/proc/self/statm", buf, sizeof(buf)) < 0)
		return 0;
	const char *p = strchr(buf, ' '); /* "size resident shared ..." */
	if (!p)
		return 0;
	*ok = 1;
	return decimal(p + 1);
}

/* VmHWM of /proc/self/status, in bytes; 0 when unreadable.  Not
 * getrusage's ru_maxrss: across execve Linux keeps the old image's peak
 * there, so a program forked from a large parent would report the
 * parent's. */
static uint64_t status_hwm_bytes(void)
{
	char buf[2048];
	if (proc_self_read("/proc/self/status", buf, sizeof(buf)) < 0)
		return 0;
	const char *p = strstr(buf, "\nVmHWM:");
	if (!p)
		return 0;
	for (p += 7; *p == ' ' || *p == '\t'; p++)
		;
	return decimal(p) * 1024; /* kB */
}

static uint64_t tv_ns(const struct timeval *tv)
{
	return (uint64_t)tv->tv_sec * 1000000000ull +
	       (uint64_t)tv->tv_usec * 1000ull;
}

static void sample_take(uint64_t now)
{
	struct rusage ru;
	if (getrusage(RUSAGE_SELF, &ru) < 0)
		return;
	struct pt_sample_record r = {.type = PT_REC_SAMPLE};
	int ok;
	uint64_t pages = statm_rss_pages(&ok);
	r.pid = (int32_t)syscall(SYS_getpid);
	r.time_ns = now;
	r.utime_ns = tv_ns(&ru.ru_utime);
	r.stime_ns = tv_ns(&ru.ru_stime);
	r.rss_bytes = pages * getauxval(AT_PAGESZ);
	r.rss_peak_bytes = status_hwm_bytes();
	r.vol_ctxsw = (uint64_t)ru.ru_nvcsw;
	r.invol_ctxsw = (uint64_t)ru.ru_nivcsw;
	r.flags = ok ? PT_SAMPLE_HAS_RSS : 0;
	prctl(PR_GET_NAME, r.comm, 0, 0, 0); /* 16 bytes, NUL-terminated */
	pt_writer_emit_sample(&writer, cursor(), &r);
}

/* After an event ending at now (clock_id) was written. */
static inline void sample_maybe(uint64_t now)
{
	uint64_t due = __atomic_load_n(&next_sample_ns, __ATOMIC_RELAXED);
	if (now < due || !cfg.sample_interval_ns)
		return;
	if (__atomic_compare_exchange_n(&next_sample_ns, &due,
					now + cfg.sample_interval_ns, 0,
					__ATOMIC_RELAXED, __ATOMIC_RELAXED))
		sample_take(now);
}

/* ---- 3. the decoder sink ---- */

static void sink_op(void *arg, const struct pt_op *op)
{
	struct pt_conn *c = arg;
	if (!c->opened) {
		emit_conn(c, PT_CONN_OPEN, c->open_ns);
		c->opened = 1;
	}
	c->events++;
	if (!writer_ready())
		return;
	struct pt_event ev = pt_op_to_event(op, c->conn_id);
	request_attribute(c, op, &ev);
	if (c->tls == PT_TLS_ON)
		ev.flags |= PT_EV_TLS;
	if (pt_stack_qualifies(ev.duration_ns))
		pt_stack_emit(&writer, cursor(), &ev);
	else
		pt_writer_emit_event(&writer, cursor(), &ev);
	sample_maybe(ev.start_ns + ev.duration_ns);
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
		count(PT_CNT_CONN_COMPRESSED);
		break;
	case PT_NOTE_UPGRADED:
		count(PT_CNT_CONN_UPGRADED);
		break;
	case PT_NOTE_DESYNC:
		count(PT_CNT_CONN_UNDECODABLE);
		drop(PT_DROP_DESYNC);
		break;
	case PT_NOTE_QUEUE_FULL:
		drop(PT_DROP_QUEUE_FULL);
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
	sniff_decoder_init(&c->dec, proto, c->role, &popts, &c->sink);
	count(PT_CNT_CONN_TRACKED);
}

/* Last fd gone (fdtab calls this with the lock held). */
static void conn_finalize(struct pt_conn *c)
{
	if (!c->decided)
		return;
	if (!fdtab_is_passive(c) && sniff_decoder_tls_wait(&c->dec, c->proto))
		count(PT_CNT_CONN_TLS); /* upgraded; no plaintext ever came */
	uint64_t now = pt_now();
	sniff_decoder_close(&c->dec, c->proto, now);
	if (c->req_open)
		request_end(&c->req_open);
	if (!c->opened) {
		emit_conn(c, PT_CONN_OPEN, c->open_ns);
		c->opened = 1;
	}
	emit_conn(c, PT_CONN_CLOSE, now);
}

/* ---- 4. connection lifecycle ---- */

static void peer_from(struct pt_conn *c, const struct sockaddr *a,
		      socklen_t alen)
{
	if (!a || alen < sizeof(sa_family_t))
		return;
	c->family = (uint8_t)a->sa_family;
	if (a->sa_family == AF_INET && alen >= sizeof(struct sockaddr_in)) {
		const struct sockaddr_in *in = (const void *)a;
		c->port = ntohs(in->sin_port);
		memcpy(c->addr, &in->sin_addr, 4);
	} else if (a->sa_family == AF_INET6 &&
		   alen >= sizeof(struct sockaddr_in6)) {
		const struct sockaddr_in6 *in6 = (const void *)a;
		c->port = ntohs(in6->sin6_port);
		memcpy(c->addr, &in6->sin6_addr, 16);
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
		drop(PT_DROP_CONN_TABLE);
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
	c->conn_id = __atomic_add_fetch(&next_id, 1, __ATOMIC_RELAXED);
	peer_from(c, a, alen);
	if (role == PT_ROLE_CLIENT &&
	    (c->family == AF_INET || c->family == AF_INET6)) {
		enum pt_proto p = sniff_by_port(&cfg, c->port);
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
	conn_new(fd, PT_ROLE_SERVER, a, alen, pt_now(), 0);
}

void pt_on_close(int fd)
{
	if (pt_tflags.guard || foreign_process())
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
	    first > max || foreign_process())
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
	if (pt_tflags.guard || oldfd == newfd || foreign_process())
		return;
	struct pt_conn *c = fdtab_lookup(&pt_fdtab, oldfd);
	struct pt_conn *prev = c ? fdtab_attach(&pt_fdtab, newfd, c)
				 : fdtab_detach(&pt_fdtab, newfd);
	if (prev)
		fdtab_unref(&pt_fdtab, prev);
}

/* ---- 5. bytes ---- */

/* Undecided connection: gather up to PT_SNIFF_BYTES first bytes, then
 * choose (socket bytes here, SSL plaintext in hooks_tls.c).  PT_SNIFF_FEED: the
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
		count(sniff_is_tls(c->role, dir, head, have + take)
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
		task_note_send(&c->sends, t);
	} else if (c->role == PT_ROLE_SERVER && c->req_open &&
		   !c->resp_seen) {
		c->resp_key = task_response_key();
		c->resp_seen = 1;
	}
}

static void conn_feed(struct pt_conn *c, enum pt_dir dir, const uint8_t *buf,
		      size_t n, uint64_t t)
{
	if (n == 0 || fdtab_is_passive(c))
		return;
	if (dir == PT_DIR_OUT && task_enabled())
		note_task(c, t);
	if (!c->decided) {
		enum pt_sniff_step s = conn_sniff(c, dir, buf, n, t);
		if (s == PT_SNIFF_STOP)
			fdtab_set_passive(c);
		if (s != PT_SNIFF_FEED)
			return;
	} else if (sniff_decoder_tls_wait(&c->dec, c->proto)) {
		/* Upgraded to TLS, and these bytes came past the SSL hooks:
		 * ciphertext, so the plaintext will not be seen. */
		count(PT_CNT_CONN_TLS);
		fdtab_set_passive(c);
		return;
	}
	/* A decoder stopped at a TLS upgrade stays live (see above);
	 * otherwise stopped means passive: later calls are cheap. */
	if (sniff_decoder_feed(&c->dec, c->proto, dir, buf, n, t) !=
		PT_FEED_OK &&
	    !sniff_decoder_tls_wait(&c->dec, c->proto))
		fdtab_set_passive(c);
	request_step(c, t);
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
		drop(PT_DROP_BUSY);
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
	uint64_t now = pt_now();
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
	return pt_now();
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
	conn_feed(c, dir, buf, n, t);
	fdtab_release(&pt_fdtab, c);
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
		drop(PT_DROP_DESYNC);
	fdtab_set_passive(c);
	fdtab_release(&pt_fdtab, c);
}

/* ---- 6. constructor, fork ---- */

static void after_fork_child(void)
{
	my_pid = (pid_t)syscall(SYS_getpid);
	pt_self.tid = 0;
	pt_self.cursor_ready = 0;
	pt_self.key_set = 0; /* the child's thread is new to the key */
	fork_midop = fdtab_after_fork(&pt_fdtab);
	request_after_fork();
	int s = __atomic_load_n(&wstate, __ATOMIC_RELAXED);
	if (s == W_OPEN) {
		pt_tflags.guard++;
		pt_writer_forget_after_fork(&writer);
		pt_tflags.guard--;
	} else if (s == W_OPENING) {
		/* Another (now gone) thread was opening: its half-made
		 * writer is the parent's; forget it without touching it. */
		memset(&writer, 0, sizeof(writer));
		writer.fd = -1;
	}
	__atomic_store_n(&pt_writer_fd, -1, __ATOMIC_RELAXED);
	if (s != W_FAILED)
		__atomic_store_n(&wstate, W_CLOSED, __ATOMIC_RELEASE);
}

static const char *env_get(const char *name)
{
	return secure_getenv(name);
}

static int setup(void)
{
	char err[256];
	struct rlimit rl;

	if (getauxval(AT_SECURE))
		return -1; /* setuid/setgid: see config.c */
	int rc =
	    pt_config_load(&cfg, env_get, (unsigned)getuid(), err, sizeof(err));
	if (rc < 0) {
		say_once(err, 0);
		return -1;
	}
	if (cfg.disabled)
		return -1;
	request_enable(cfg.requests);
	pyrt_init(); /* dlsym: here, never on a hook's path */
	pt_stack_setup(&cfg); /* dlopen libunwind: likewise */
	task_enable(cfg.requests);
	popts.raw = cfg.raw;
	popts.raw_max = cfg.raw_max;
	popts.spill = &pt_spill_mmap; /* deep pipelines (spill.c) */
	if (cfg.routes[0]) {
		popts.routes =
		    pt_route_table_load(cfg.routes, err, sizeof(err));
		if (!popts.routes) {
			char msg[PT_CONFIG_PATH_MAX + 300];
			snprintf(msg, sizeof(msg), "PERFTAP_ROUTES: %s: %s",
				 cfg.routes, err);
			say_once(msg, 0);
			return -1;
		}
	}
	rc = pt_writer_prepare_dir(cfg.dir);
	if (rc < 0) {
		say_once(cfg.dir, -rc);
		return -1;
	}
	uint32_t cap = 65536;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0)
		cap = rl.rlim_max == RLIM_INFINITY ||
			      rl.rlim_max > PT_FDTAB_FD_CAP
			  ? PT_FDTAB_FD_CAP
			  : (uint32_t)rl.rlim_max;
	if (cap < 1024)
		cap = 1024;
	pt_fdtab.finalize = conn_finalize;
	rc = fdtab_init(&pt_fdtab, cap, PT_FDTAB_SLOTS_DEFAULT);
	pt_fdtab.finalize = conn_finalize;
	if (rc < 0) {
		say_once("cannot map the connection table", 0);
		return -1;
	}
	return 0;
}

__attribute__((constructor)) static void pt_init(int argc, char **argv)
{
	pt_tflags.guard++;
	/* The key first, so that it is one of the first 32 and
	 * pthread_setspecific never allocates (see cursor()). */
	key_ok = pthread_key_create(&thread_key, thread_exit) == 0;
	real_resolve();
	my_pid = (pid_t)syscall(SYS_getpid);
	saved_argc = argc;
	saved_argv = argv;
	ssize_t n =
	    pt_sys.readlink("/proc/self/exe", exe_path, sizeof(exe_path) - 1);
	exe_path[n > 0 ? n : 0] = '\0';
	if (setup() == 0) {
		pthread_atfork(NULL, NULL, after_fork_child);
		__atomic_store_n(&api_on, 1, __ATOMIC_RELEASE);
	}
	pt_tflags.guard--;
}

/* ---- 7. entry points for hooks_tls.c (TLS plaintext; TLS engineer) ----
 * hooks_tls.c feeds a connection's SSL plaintext itself (it holds the
 * slot's lock); these give it the pieces of sections 2 and 3 it needs. */

enum pt_sniff_step pt_conn_sniff_locked(struct pt_conn *c, enum pt_dir dir,
					const uint8_t *buf, size_t n,
					uint64_t t)
{
	return conn_sniff(c, dir, buf, n, t);
}

void pt_shim_count(enum pt_counter what)
{
	count(what);
}

void pt_shim_drop(enum pt_drop_cause why)
{
	drop(why);
}

/* ---- 8. entry points for the client-API hooks (hooks_sqlite.c ...) ----
 * They build whole events themselves (api_*.c) and only need the writer. */

int pt_shim_api_on(void)
{
	return __atomic_load_n(&api_on, __ATOMIC_ACQUIRE) &&
	       __atomic_load_n(&wstate, __ATOMIC_RELAXED) != W_FAILED;
}

void pt_shim_emit_event(const struct pt_event *ev)
{
	if (!writer_ready())
		return;
	/* Client-API events (SQLite) run on the calling thread: attributed
	 * by that thread, or its task's context. */
	struct pt_event e = *ev;
	request_attribute_here(&e, task_key_now());
	if (pt_stack_qualifies(e.duration_ns))
		pt_stack_emit(&writer, cursor(), &e);
	else
		pt_writer_emit_event(&writer, cursor(), &e);
	sample_maybe(ev->start_ns + ev->duration_ns);
}

void pt_shim_emit_conn(const struct pt_conn_info *ci)
{
	if (writer_ready())
		pt_writer_emit_conn(&writer, cursor(), ci);
}

uint32_t pt_shim_conn_id(void)
{
	return __atomic_add_fetch(&next_id, 1, __ATOMIC_RELAXED);
}

int pt_shim_raw(uint32_t *raw_max)
{
	*raw_max = cfg.raw_max;
	return cfg.raw;
}

void pt_shim_api_take_fd(int fd)
{
	/* Passive slots too: a decoder stopped by the handshake (compressed
	 * protocol) is still to be forgotten. */
	int busy;
	struct pt_conn *c = fdtab_acquire_any(&pt_fdtab, fd, &busy);
	if (!c) {
		struct pt_conn *l = busy ? fdtab_lookup(&pt_fdtab, fd) : NULL;
		if (l)
			fdtab_set_passive(l); /* busy: at least stop decoding */
		return;
	}
	fdtab_set_passive(c);
	c->tls = PT_TLS_STOPPED; /* nor its TLS plaintext */
	/* Decoded so far without a record written (the handshake): forget
	 * it, so that the connection is the API's alone. */
	if (c->decided && !c->opened)
		c->decided = 0;
	fdtab_release(&pt_fdtab, c);
}

uint32_t pt_shim_fd_conn_id(int fd)
{
	const struct pt_conn *c = fdtab_lookup(&pt_fdtab, fd);
	return c ? c->conn_id : 0;
}
