/*
 * hooks_mysql.c -- the interposed libmysqlclient (libmariadb) symbols, and
 * nothing else.  Each hook calls the real function and hands what happened
 * to api_mysql.c; errno is kept as the library left it.
 *
 * Resolution: as hooks_sqlite.c.  The real functions are looked up at the
 * first call (a program without libmariadb never touches them), with
 * dlvsym(RTLD_NEXT, name, "libmysqlclient_18") (libmariadb exports the
 * MySQL API with that version, which MySQLdb and C programs bind to), else
 * unversioned, else in libmariadb.so.3 taken with RTLD_NOLOAD (MySQLdb's
 * _mysql is dlopen'ed RTLD_LOCAL, out of RTLD_NEXT's reach).  Our hooks
 * are unversioned definitions, which the dynamic linker lets satisfy a
 * versioned reference; an LD_PRELOAD object comes first in every lookup.
 *
 * Not hooked: the non-blocking mysql_*_start / mysql_*_cont calls, and no
 * need to.  libmariadb runs the blocking call inside a coroutine
 * (my_context) that yields to the program at every EAGAIN, and reaches
 * mysql_real_connect, mysql_real_query, mysql_store_result and friends
 * through its own PLT there: our hooks run, suspended mid-call while the
 * program waits, so an operation's time runs from its _start to the _cont
 * that finishes it (tests: mysql_client nonblock).  This is why no
 * per-thread state is held across a real call: the nesting depth is per
 * connection, right even when the program resumes the operation from
 * another thread.
 */
#include <dlfcn.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "api_mysql.h"
#include "preload.h"
#include "sys.h"

#define PT_EXPORT __attribute__((visibility("default")))
#define CR_ERR	  2000 /* CR_UNKNOWN_ERROR: only when libmariadb is absent */

typedef void *(*connect_fn)(void *, const char *, const char *, const char *,
			    const char *, unsigned, const char *,
			    unsigned long);

struct mysql_real {
	connect_fn real_connect;
	int (*real_query)(void *, const char *, unsigned long);
	int (*query)(void *, const char *);
	int (*send_query)(void *, const char *, unsigned long);
	char (*read_query_result)(void *);
	void *(*store_result)(void *);
	void *(*use_result)(void *);
	char **(*fetch_row)(void *);
	void (*free_result)(void *);
	int (*next_result)(void *);
	void (*close)(void *);
	char (*autocommit)(void *, char);
	char (*commit)(void *);
	char (*rollback)(void *);
	int (*select_db)(void *, const char *);
	int (*ping)(void *);
	int (*set_character_set)(void *, const char *);
	char (*change_user)(void *, const char *, const char *, const char *);
	int (*reset_connection)(void *);
	void *(*stmt_init)(void *);
	int (*stmt_prepare)(void *, const char *, unsigned long);
	int (*stmt_execute)(void *);
	int (*stmt_fetch)(void *);
	int (*stmt_store_result)(void *);
	char (*stmt_free_result)(void *);
	char (*stmt_reset)(void *);
	char (*stmt_close)(void *);
	struct pt_mysql_fns fns;
};

static struct mysql_real real;
static int resolved; /* 0 not yet, 1 done (atomic) */
/* 1 when every function and accessor was found: only then are calls
 * reported.  A library lacking some (libmysqlclient.so.21 has no
 * mysql_get_socket) is passed through, each hook calling its own real
 * function; one the library lacks returns an error (the program could
 * not have called it without the shim either). */
static int api_ok;

static void *sym(void *lib, const char *name)
{
	static const char ver[] = "libmysqlclient_18";
	void *p = dlvsym(RTLD_NEXT, name, ver);
	if (!p)
		p = dlsym(RTLD_NEXT, name);
	if (!p && lib) {
		p = dlvsym(lib, name, ver);
		if (!p)
			p = dlsym(lib, name);
	}
	return p;
}

static void out_drop(enum pt_drop_cause why)
{
	pt_shim_drop(why);
}

#define LOOK(field, name)                                                      \
	do {                                                                   \
		*(void **)&r.field = sym(lib, name);                           \
		ok = ok && r.field != NULL;                                    \
	} while (0)

/* Look every function up once; two threads racing store the same values. */
static __attribute__((noinline)) int resolve(void)
{
	pt_tflags.guard++;
	/* Loaded RTLD_LOCAL (a dlopen'ed extension): out of RTLD_NEXT's
	 * reach, taken by name; the handle only pins a loaded library. */
	static const char *const libs[] = {
	    "libmariadb.so.3", "libmysqlclient.so.21", "libmysqlclient.so.20",
	    "libmysqlclient.so.18"};
	void *lib = NULL;
	for (size_t i = 0; !lib && i < sizeof(libs) / sizeof(libs[0]); i++)
		lib = dlopen(libs[i], RTLD_LAZY | RTLD_NOLOAD);
	struct mysql_real r;
	int ok = 1;
	LOOK(real_connect, "mysql_real_connect");
	LOOK(real_query, "mysql_real_query");
	LOOK(query, "mysql_query");
	LOOK(send_query, "mysql_send_query");
	LOOK(read_query_result, "mysql_read_query_result");
	LOOK(store_result, "mysql_store_result");
	LOOK(use_result, "mysql_use_result");
	LOOK(fetch_row, "mysql_fetch_row");
	LOOK(free_result, "mysql_free_result");
	LOOK(next_result, "mysql_next_result");
	LOOK(close, "mysql_close");
	LOOK(autocommit, "mysql_autocommit");
	LOOK(commit, "mysql_commit");
	LOOK(rollback, "mysql_rollback");
	LOOK(select_db, "mysql_select_db");
	LOOK(ping, "mysql_ping");
	LOOK(set_character_set, "mysql_set_character_set");
	LOOK(change_user, "mysql_change_user");
	LOOK(reset_connection, "mysql_reset_connection");
	LOOK(stmt_init, "mysql_stmt_init");
	LOOK(stmt_prepare, "mysql_stmt_prepare");
	LOOK(stmt_execute, "mysql_stmt_execute");
	LOOK(stmt_fetch, "mysql_stmt_fetch");
	LOOK(stmt_store_result, "mysql_stmt_store_result");
	LOOK(stmt_free_result, "mysql_stmt_free_result");
	LOOK(stmt_reset, "mysql_stmt_reset");
	LOOK(stmt_close, "mysql_stmt_close");
	LOOK(fns.field_count, "mysql_field_count");
	LOOK(fns.affected_rows, "mysql_affected_rows");
	LOOK(fns.num_rows, "mysql_num_rows");
	LOOK(fns.err, "mysql_errno");
	LOOK(fns.more_results, "mysql_more_results");
	LOOK(fns.get_socket, "mysql_get_socket");
	LOOK(fns.server_info, "mysql_get_server_info");
	LOOK(fns.thread_id, "mysql_thread_id");
	LOOK(fns.stmt_field_count, "mysql_stmt_field_count");
	LOOK(fns.stmt_affected_rows, "mysql_stmt_affected_rows");
	LOOK(fns.stmt_num_rows, "mysql_stmt_num_rows");
	LOOK(fns.stmt_err, "mysql_stmt_errno");
	LOOK(fns.ssl_cipher, "mysql_get_ssl_cipher");
	real = r;
	if (ok) {
		uint32_t raw_max = 0;
		struct pt_api_out out = {
		    .event = pt_shim_emit_event,
		    .conn = pt_shim_emit_conn,
		    .drop = out_drop,
		    .conn_id = pt_shim_conn_id,
		};
		out.raw = pt_shim_raw(&raw_max);
		out.raw_max = raw_max;
		api_mysql_init(&real.fns, &out, pt_shim_api_take_fd);
	} else {
		static const char msg[] =
		    "perftap: libmysqlclient functions not found\n";
		ssize_t w = pt_sys.write(2, msg, sizeof(msg) - 1);
		(void)w;
	}
	api_ok = ok;
	__atomic_store_n(&resolved, 1, __ATOMIC_RELEASE);
	pt_tflags.guard--;
	return 1;
}

/* 1 once the real functions were looked up (each may still be NULL). */
static inline int ready(void)
{
	int r = __atomic_load_n(&resolved, __ATOMIC_ACQUIRE);
	if (__builtin_expect(r == 1, 1))
		return 1;
	return resolve();
}

static inline int tracing(void)
{
	return pt_tflags.guard == 0 && api_ok && pt_shim_api_on();
}

/* The connection's slot, entered, when this call is to be reported. */
static inline void *enter(void *m)
{
	return tracing() ? api_mysql_enter(m) : NULL;
}

PT_EXPORT void *mysql_real_connect(void *m, const char *host, const char *user,
				   const char *pw, const char *db,
				   unsigned port, const char *sock,
				   unsigned long flags)
{
	if (!ready() || !real.real_connect)
		return NULL;
	void *c = tracing() ? api_mysql_connect_begin(m) : NULL;
	if (!c)
		return real.real_connect(m, host, user, pw, db, port, sock,
					 flags);
	uint64_t t0 = pt_now();
	/* The socket decoder sees the handshake (nothing of it is an
	 * event) and is then taken off the socket: no per-thread state is
	 * held across the call (it may be suspended in a coroutine, see
	 * above). */
	void *r = real.real_connect(m, host, user, pw, db, port, sock, flags);
	uint64_t t1 = pt_now();
	int e = errno;
	pt_tflags.guard++;
	int fd = r ? real.fns.get_socket(m) : -1;
	struct pt_peer peer;
	pt_peer_of_fd(fd, &peer);
	pt_tflags.guard--;
	api_mysql_connect_end(c, r != NULL, t0, t1, fd, &peer);
	errno = e;
	return r;
}

PT_EXPORT void mysql_close(void *m)
{
	if (!ready() || !real.close)
		return;
	if (m && tracing()) {
		int e = errno;
		api_mysql_close(m, pt_now());
		errno = e;
	}
	real.close(m);
}

static int query_common(void *m, const char *q, unsigned long n, int mode)
{
	void *c = enter(m);
	if (!c)
		return mode == 0   ? real.real_query(m, q, n)
		       : mode == 1 ? real.query(m, q)
				   : real.send_query(m, q, n);
	uint64_t t0 = pt_now();
	int rc = mode == 0   ? real.real_query(m, q, n)
		 : mode == 1 ? real.query(m, q)
			     : real.send_query(m, q, n);
	uint64_t t1 = pt_now();
	int e = errno;
	if (mode == 1)
		n = q ? strlen(q) : 0;
	api_mysql_query(c, q, n, rc != 0, mode == 2, t0, t1);
	api_mysql_leave(c);
	errno = e;
	return rc;
}

PT_EXPORT int mysql_real_query(void *m, const char *q, unsigned long n)
{
	if (!ready() || !real.real_query)
		return CR_ERR;
	return query_common(m, q, n, 0);
}

PT_EXPORT int mysql_query(void *m, const char *q)
{
	if (!ready() || !real.query)
		return CR_ERR;
	return query_common(m, q, 0, 1);
}

PT_EXPORT int mysql_send_query(void *m, const char *q, unsigned long n)
{
	if (!ready() || !real.send_query)
		return CR_ERR;
	return query_common(m, q, n, 2);
}

PT_EXPORT char mysql_read_query_result(void *m)
{
	if (!ready() || !real.read_query_result)
		return 1;
	void *c = enter(m);
	if (!c)
		return real.read_query_result(m);
	char rc = real.read_query_result(m);
	int e = errno;
	api_mysql_read_result(c, rc != 0, pt_now());
	api_mysql_leave(c);
	errno = e;
	return rc;
}

static void *result_common(void *m, int use)
{
	void *c = enter(m);
	if (!c)
		return use ? real.use_result(m) : real.store_result(m);
	void *res = use ? real.use_result(m) : real.store_result(m);
	int e = errno;
	if (use)
		api_mysql_use(c, res, pt_now());
	else
		api_mysql_store(c, res, pt_now());
	api_mysql_leave(c);
	errno = e;
	return res;
}

PT_EXPORT void *mysql_store_result(void *m)
{
	if (!ready() || !real.store_result)
		return NULL;
	return result_common(m, 0);
}

PT_EXPORT void *mysql_use_result(void *m)
{
	if (!ready() || !real.use_result)
		return NULL;
	return result_common(m, 1);
}

/* Every row: one TLS compare unless this is a use_result being fetched. */
PT_EXPORT char **mysql_fetch_row(void *res)
{
	if (!ready() || !real.fetch_row)
		return NULL;
	char **row = real.fetch_row(res);
	if (__builtin_expect(res == api_mysql_cur_res && res != NULL, 0)) {
		int e = errno;
		api_mysql_fetched(res, row != NULL, pt_now());
		errno = e;
	}
	return row;
}

PT_EXPORT void mysql_free_result(void *res)
{
	if (!ready() || !real.free_result)
		return;
	real.free_result(res);
	if (res == api_mysql_cur_res && res != NULL) {
		int e = errno;
		api_mysql_freed(res, pt_now());
		errno = e;
	}
}

PT_EXPORT int mysql_next_result(void *m)
{
	if (!ready() || !real.next_result)
		return CR_ERR;
	void *c = enter(m);
	if (!c)
		return real.next_result(m);
	int rc = real.next_result(m);
	int e = errno;
	api_mysql_next(c, rc, pt_now());
	api_mysql_leave(c);
	errno = e;
	return rc;
}

/* Commands without a result set; text: SQL (sql = 1) or a command name. */
#define SIMPLE(call, text, sql, failed_expr)                                   \
	do {                                                                   \
		void *c = enter(m);                                            \
		if (!c)                                                        \
			return call;                                           \
		uint64_t t0 = pt_now();                                        \
		__typeof__(call) rc = call;                                    \
		uint64_t t1 = pt_now();                                        \
		int e = errno;                                                 \
		api_mysql_simple(c, text, sql, failed_expr, t0, t1);           \
		api_mysql_leave(c);                                            \
		errno = e;                                                     \
		return rc;                                                     \
	} while (0)

PT_EXPORT char mysql_autocommit(void *m, char mode)
{
	if (!ready() || !real.autocommit)
		return 1;
	SIMPLE(real.autocommit(m, mode),
	       mode ? "SET autocommit=1" : "SET autocommit=0", 1, rc != 0);
}

PT_EXPORT char mysql_commit(void *m)
{
	if (!ready() || !real.commit)
		return 1;
	SIMPLE(real.commit(m), "COMMIT", 1, rc != 0);
}

PT_EXPORT char mysql_rollback(void *m)
{
	if (!ready() || !real.rollback)
		return 1;
	SIMPLE(real.rollback(m), "ROLLBACK", 1, rc != 0);
}

PT_EXPORT int mysql_select_db(void *m, const char *db)
{
	if (!ready() || !real.select_db)
		return CR_ERR;
	SIMPLE(real.select_db(m, db), "INIT_DB", 0, rc != 0);
}

PT_EXPORT int mysql_ping(void *m)
{
	if (!ready() || !real.ping)
		return CR_ERR;
	SIMPLE(real.ping(m), "PING", 0, rc != 0);
}

PT_EXPORT int mysql_set_character_set(void *m, const char *cs)
{
	if (!ready() || !real.set_character_set)
		return CR_ERR;
	char sql[96];
	snprintf(sql, sizeof(sql), "SET NAMES %.64s", cs ? cs : "");
	SIMPLE(real.set_character_set(m, cs), sql, 1, rc != 0);
}

PT_EXPORT char mysql_change_user(void *m, const char *user, const char *pw,
				 const char *db)
{
	if (!ready() || !real.change_user)
		return 1;
	SIMPLE(real.change_user(m, user, pw, db), "CHANGE_USER", 0, rc != 0);
}

PT_EXPORT int mysql_reset_connection(void *m)
{
	if (!ready() || !real.reset_connection)
		return 1;
	SIMPLE(real.reset_connection(m), "RESET_CONNECTION", 0, rc != 0);
}

PT_EXPORT void *mysql_stmt_init(void *m)
{
	if (!ready() || !real.stmt_init)
		return NULL;
	void *st = real.stmt_init(m);
	if (st && tracing()) {
		int e = errno;
		api_mysql_stmt_new(m, st);
		errno = e;
	}
	return st;
}

PT_EXPORT int mysql_stmt_prepare(void *st, const char *q, unsigned long n)
{
	if (!ready() || !real.stmt_prepare)
		return 1;
	void *s = NULL;
	void *c = tracing() ? api_mysql_stmt_enter(st, &s) : NULL;
	if (!c)
		return real.stmt_prepare(st, q, n);
	uint64_t t0 = pt_now();
	int rc = real.stmt_prepare(st, q, n);
	uint64_t t1 = pt_now();
	int e = errno;
	api_mysql_stmt_prepare(s, q, n, rc != 0, t0, t1);
	api_mysql_leave(c);
	errno = e;
	return rc;
}

PT_EXPORT int mysql_stmt_execute(void *st)
{
	if (!ready() || !real.stmt_execute)
		return 1;
	void *s = NULL;
	void *c = tracing() ? api_mysql_stmt_enter(st, &s) : NULL;
	if (!c)
		return real.stmt_execute(st);
	uint64_t t0 = pt_now();
	int rc = real.stmt_execute(st);
	uint64_t t1 = pt_now();
	int e = errno;
	api_mysql_stmt_execute(s, rc != 0, t0, t1);
	api_mysql_leave(c);
	errno = e;
	return rc;
}

PT_EXPORT int mysql_stmt_store_result(void *st)
{
	if (!ready() || !real.stmt_store_result)
		return 1;
	void *s = NULL;
	void *c = tracing() ? api_mysql_stmt_enter(st, &s) : NULL;
	if (!c)
		return real.stmt_store_result(st);
	int rc = real.stmt_store_result(st);
	int e = errno;
	api_mysql_stmt_store(s, rc != 0, pt_now());
	api_mysql_leave(c);
	errno = e;
	return rc;
}

PT_EXPORT int mysql_stmt_fetch(void *st)
{
	if (!ready() || !real.stmt_fetch)
		return 1;
	void *s = NULL;
	void *c = tracing() ? api_mysql_stmt_enter(st, &s) : NULL;
	if (!c)
		return real.stmt_fetch(st);
	int rc = real.stmt_fetch(st);
	int e = errno;
	api_mysql_stmt_fetch(s, rc, pt_now());
	api_mysql_leave(c);
	errno = e;
	return rc;
}

/* stmt_free_result, stmt_reset, stmt_close: a pending execution ends. */
static char stmt_end(void *st, char (*fn)(void *), int closing)
{
	void *s = NULL;
	void *c = tracing() ? api_mysql_stmt_enter(st, &s) : NULL;
	if (c) {
		int e = errno;
		api_mysql_stmt_done(s, 0, pt_now());
		errno = e;
		api_mysql_leave(c);
	}
	if (closing) {
		int e = errno;
		api_mysql_stmt_forget(st);
		errno = e;
	}
	return fn(st);
}

PT_EXPORT char mysql_stmt_free_result(void *st)
{
	if (!ready() || !real.stmt_free_result)
		return 1;
	return stmt_end(st, real.stmt_free_result, 0);
}

PT_EXPORT char mysql_stmt_reset(void *st)
{
	if (!ready() || !real.stmt_reset)
		return 1;
	return stmt_end(st, real.stmt_reset, 0);
}

PT_EXPORT char mysql_stmt_close(void *st)
{
	if (!ready() || !real.stmt_close)
		return 1;
	return stmt_end(st, real.stmt_close, 1);
}
