/*
 * hooks_sqlite.c -- the interposed libsqlite3 symbols, and nothing else.
 * Each hook calls the real function and hands what happened to
 * api_sqlite.c; errno is kept as the library left it.
 *
 * Resolution: the real functions are looked up at the first call, never
 * before, so a program without SQLite never touches a SQLite symbol, and
 * the shim does not link libsqlite3.  dlsym(RTLD_NEXT) finds a library in
 * the global scope; Python's _sqlite3 is dlopen'ed RTLD_LOCAL, so its
 * libsqlite3.so.0 is not there and is then taken by name with RTLD_NOLOAD
 * (it is loaded: its caller is).  The hook itself is reached because an
 * LD_PRELOAD object comes first in every lookup, also for libraries
 * dlopen'ed later.  If the library cannot be found the hook cannot call
 * it: it says so once and returns SQLITE_MISUSE (cannot happen while a
 * caller linked against libsqlite3 is loaded).
 *
 * Hooked: sqlite3_step, sqlite3_reset, sqlite3_finalize, sqlite3_exec,
 * sqlite3_close, sqlite3_close_v2, and sqlite3_prepare, _v2 and _v3 (to
 * report a failed prepare, and to tell SQLite's own statements from the
 * program's).  The open family and prepare16 need no hook: a statement's SQL
 * and database are read (sqlite3_sql, sqlite3_db_filename) at its first step,
 * which also covers sqlite3_prepare16; statements without SQL (SQLite's own
 * schema reads, stepped through the exported calls) are left out.
 */
#include <dlfcn.h>
#include <errno.h>
#include <stdint.h>
#include <unistd.h>

#include "api_sqlite.h"
#include "preload.h"
#include "sys.h"

#define PT_EXPORT	 __attribute__((visibility("default")))
#define PT_SQLITE_MISUSE 21

struct sqlite_real {
	int (*step)(void *);
	int (*reset)(void *);
	int (*finalize)(void *);
	int (*exec)(void *, const char *,
		    int (*)(void *, int, char **, char **), void *, char **);
	int (*close)(void *);
	int (*close_v2)(void *);
	int (*prepare)(void *, const char *, int, void **, const char **);
	int (*prepare_v2)(void *, const char *, int, void **, const char **);
	int (*prepare_v3)(void *, const char *, int, unsigned, void **,
			  const char **);
	struct pt_sqlite_fns fns;
};

static struct sqlite_real real;
static int resolved; /* 0 not yet, 1 done, -1 failed (atomic) */
/* Steps the exec hook saw inside one sqlite3_exec (per thread). */
static __thread uint32_t in_exec __attribute__((tls_model("initial-exec")));
/* > 0 while a step or prepare runs: statements SQLite steps inside them
 * (its schema reads) are its own, not the program's (per thread). */
static __thread uint32_t inside __attribute__((tls_model("initial-exec")));

static void *sym(void *lib, const char *name)
{
	void *p = dlsym(RTLD_NEXT, name);
	if (!p && lib)
		p = dlsym(lib, name);
	return p;
}

static void out_drop(enum pt_drop_cause why)
{
	pt_shim_drop(why);
}

/* Look every function up once; two threads racing store the same values. */
static __attribute__((noinline)) int resolve(void)
{
	pt_tflags.guard++;
	void *lib = dlopen("libsqlite3.so.0", RTLD_LAZY | RTLD_NOLOAD);
	struct sqlite_real r = {
	    .step = sym(lib, "sqlite3_step"),
	    .reset = sym(lib, "sqlite3_reset"),
	    .finalize = sym(lib, "sqlite3_finalize"),
	    .exec = sym(lib, "sqlite3_exec"),
	    .close = sym(lib, "sqlite3_close"),
	    .close_v2 = sym(lib, "sqlite3_close_v2"),
	    .prepare = sym(lib, "sqlite3_prepare"),
	    .prepare_v2 = sym(lib, "sqlite3_prepare_v2"),
	    .prepare_v3 = sym(lib, "sqlite3_prepare_v3"),
	    .fns =
		{
		    .sql = sym(lib, "sqlite3_sql"),
		    .db_handle = sym(lib, "sqlite3_db_handle"),
		    .db_filename = sym(lib, "sqlite3_db_filename"),
		    .stmt_status = sym(lib, "sqlite3_stmt_status"),
		    .changes = sym(lib, "sqlite3_changes"),
		    .column_count = sym(lib, "sqlite3_column_count"),
		},
	};
	/* The handle only pins a library that is loaded anyway. */
	int ok = r.step && r.reset && r.finalize && r.exec && r.close &&
		 r.close_v2 && r.prepare && r.prepare_v2 && r.prepare_v3 &&
		 r.fns.sql && r.fns.db_handle && r.fns.db_filename &&
		 r.fns.stmt_status && r.fns.changes && r.fns.column_count;
	if (ok) {
		real = r;
		uint32_t raw_max = 0;
		struct pt_api_out out = {
		    .event = pt_shim_emit_event,
		    .conn = pt_shim_emit_conn,
		    .drop = out_drop,
		    .conn_id = pt_shim_conn_id,
		};
		out.raw = pt_shim_raw(&raw_max);
		out.raw_max = raw_max;
		api_sqlite_init(&real.fns, &out);
	} else {
		static const char msg[] =
		    "perftap: libsqlite3 functions not found\n";
		ssize_t w = pt_sys.write(2, msg, sizeof(msg) - 1);
		(void)w;
	}
	__atomic_store_n(&resolved, ok ? 1 : -1, __ATOMIC_RELEASE);
	pt_tflags.guard--;
	return ok;
}

/* 1 when the real functions are there; tracing may still be off. */
static inline int ready(void)
{
	int r = __atomic_load_n(&resolved, __ATOMIC_ACQUIRE);
	if (__builtin_expect(r == 1, 1))
		return 1;
	return r == 0 ? resolve() : 0;
}

static inline int tracing(void)
{
	return pt_tflags.guard == 0 && inside == 0 && pt_shim_api_on();
}

PT_EXPORT int sqlite3_step(void *stmt)
{
	if (!ready())
		return PT_SQLITE_MISUSE;
	if (!tracing())
		return real.step(stmt);
	int e = errno;
	void *slot = api_sqlite_step_begin(stmt, pt_now());
	errno = e;
	inside++;
	int rc = real.step(stmt);
	inside--;
	uint64_t t1 = pt_now();
	e = errno;
	in_exec += slot != NULL;
	api_sqlite_step_end(slot, stmt, rc, t1);
	errno = e;
	return rc;
}

PT_EXPORT int sqlite3_reset(void *stmt)
{
	if (!ready())
		return PT_SQLITE_MISUSE;
	if (tracing()) {
		int e = errno;
		api_sqlite_reset(stmt, 0);
		errno = e;
	}
	return real.reset(stmt);
}

PT_EXPORT int sqlite3_finalize(void *stmt)
{
	if (!ready())
		return PT_SQLITE_MISUSE;
	if (tracing()) {
		int e = errno;
		api_sqlite_finalize(stmt, 0);
		errno = e;
	}
	return real.finalize(stmt);
}

PT_EXPORT int sqlite3_exec(void *db, const char *sql,
			   int (*cb)(void *, int, char **, char **), void *arg,
			   char **err)
{
	if (!ready())
		return PT_SQLITE_MISUSE;
	if (!tracing())
		return real.exec(db, sql, cb, arg, err);
	uint32_t before = in_exec;
	uint64_t t0 = pt_now();
	int rc = real.exec(db, sql, cb, arg, err);
	uint64_t t1 = pt_now();
	int e = errno;
	api_sqlite_exec(db, sql, rc, t0, t1, in_exec - before);
	errno = e;
	return rc;
}

static int close_common(int (*fn)(void *), void *db)
{
	if (!tracing())
		return fn(db);
	int rc = fn(db);
	int e = errno;
	api_sqlite_close(db, rc, pt_now());
	errno = e;
	return rc;
}

PT_EXPORT int sqlite3_close(void *db)
{
	if (!ready())
		return PT_SQLITE_MISUSE;
	return close_common(real.close, db);
}

PT_EXPORT int sqlite3_close_v2(void *db)
{
	if (!ready())
		return PT_SQLITE_MISUSE;
	return close_common(real.close_v2, db);
}

/* A prepare: SQLite may step its own schema statements inside it (not
 * reported: `inside`); a failure is reported as the program's error. */
static void prepare_after(void *db, const char *sql, int n, int rc, uint64_t t0)
{
	if (rc == PT_SQLITE_OK || !t0)
		return;
	int e = errno;
	api_sqlite_prepare_failed(db, sql, n, rc, t0, pt_now());
	errno = e;
}

PT_EXPORT int sqlite3_prepare(void *db, const char *sql, int n, void **st,
			      const char **tail)
{
	if (!ready())
		return PT_SQLITE_MISUSE;
	uint64_t t0 = tracing() ? pt_now() : 0;
	inside++;
	int rc = real.prepare(db, sql, n, st, tail);
	inside--;
	prepare_after(db, sql, n, rc, t0);
	return rc;
}

PT_EXPORT int sqlite3_prepare_v2(void *db, const char *sql, int n, void **st,
				 const char **tail)
{
	if (!ready())
		return PT_SQLITE_MISUSE;
	uint64_t t0 = tracing() ? pt_now() : 0;
	inside++;
	int rc = real.prepare_v2(db, sql, n, st, tail);
	inside--;
	prepare_after(db, sql, n, rc, t0);
	return rc;
}

PT_EXPORT int sqlite3_prepare_v3(void *db, const char *sql, int n,
				 unsigned flags, void **st, const char **tail)
{
	if (!ready())
		return PT_SQLITE_MISUSE;
	uint64_t t0 = tracing() ? pt_now() : 0;
	inside++;
	int rc = real.prepare_v3(db, sql, n, flags, st, tail);
	inside--;
	prepare_after(db, sql, n, rc, t0);
	return rc;
}
