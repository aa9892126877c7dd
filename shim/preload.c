/*
 * preload.c -- the shim core: start-up (settings, fd table), the lazy
 * dump writer, per-thread state and fork handling.  The interposed
 * symbols are in hooks*.c; connections, sniffing and the decoder sink in
 * conn.c, whose host (struct pt_conn_host) this file is.
 *
 * Sections:
 *   1. state and saying things once
 *   2. the writer: lazy open, per-thread cursor, counters, samples
 *   3. the connection layer's host
 *   4. constructor, fork
 *   5. counters for the hooks
 *   6. entry points for the client-API hooks
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
#include <unistd.h>

#include "conn.h"
#include "config.h"
#include "normalize.h"
#include "preload.h"
#include "real.h"
#include "pyrt.h"
#include "request.h"
#include "task.h"
#include "spill.h"
#include "stack.h"
#include "sys.h"
#include "writer.h"

/* ---- 1. state and saying things once ---- */

int pt_writer_fd = -1;

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

/* ---- 3. the connection layer's host ---- */

/* A decoded operation (conn.c has attributed it): with a stack if slow
 * enough, then maybe a resource sample. */
static void host_event(const struct pt_event *ev, const struct pt_op_stack *how)
{
	if (pt_stack_qualifies(ev->duration_ns))
		pt_stack_emit_op(&writer, cursor(), ev, how);
	else
		pt_writer_emit_event(&writer, cursor(), ev);
	sample_maybe(ev->start_ns + ev->duration_ns);
}

static void host_conn(const struct pt_conn_info *ci)
{
	pt_writer_emit_conn(&writer, cursor(), ci);
}

static uint64_t host_now(void)
{
	return pt_now();
}

static const struct pt_conn_host conn_host = {
    .cfg = &cfg,
    .popts = &popts,
    .now = host_now,
    .ready = writer_ready,
    .event = host_event,
    .conn = host_conn,
    .count = count,
    .drop = drop,
    .foreign = foreign_process,
};

/* ---- 4. constructor, fork ---- */

static void after_fork_child(void)
{
	pt_tls_after_fork(); /* before fdtab decides what goes on decoding */
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
	pyrt_init();	      /* dlsym: here, never on a hook's path */
	pt_stack_setup(&cfg); /* dlopen libunwind: likewise */
	task_enable(cfg.requests);
	pt_conn_task_setup(); /* dlsym, likewise */
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
	conn_setup(&conn_host);
	rc = conn_table_init(cap, PT_FDTAB_SLOTS_DEFAULT);
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

/* ---- 5. counters for the hooks ----
 * The client-API hooks (hooks_mysql.c, hooks_sqlite.c) count what they
 * drop through these. */

void pt_shim_count(enum pt_counter what)
{
	count(what);
}

void pt_shim_drop(enum pt_drop_cause why)
{
	drop(why);
}

/* ---- 6. entry points for the client-API hooks (hooks_sqlite.c ...) ----
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
	return conn_next_id();
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
