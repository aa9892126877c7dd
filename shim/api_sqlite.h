/*
 * api_sqlite.h -- SQLite statement executions as events: the logic behind
 * hooks_sqlite.c, testable without LD_PRELOAD or libsqlite3 (the library's
 * calls come through struct pt_sqlite_fns, the events leave through
 * struct pt_api_out).
 *
 * One event per execution: from a statement's first sqlite3_step() to
 * SQLITE_DONE, an error, sqlite3_reset() or sqlite3_finalize(), whichever
 * comes first.  Its text is the SQL fingerprint (raw SQL in raw mode); rows
 * are rows returned, or rows changed for a statement without columns; the
 * statement counters (sqlite3_stmt_status) of that execution go into
 * scan_steps, vm_steps, sorts and auto_indexes.  Each database handle is
 * one connection (PT_PROTO_SQLITE) whose text is the file's basename or
 * ":memory:".
 *
 * State: fixed tables keyed by the statement and database pointers (no
 * malloc, ever); a statement that finds no free slot is not reported and
 * is counted (PT_DROP_CONN_TABLE).
 */
#ifndef PERFTAP_API_SQLITE_H
#define PERFTAP_API_SQLITE_H

#include <stddef.h>
#include <stdint.h>

#include "writer.h"

/* SQLite's own values (sqlite3.h), so this file needs no SQLite header. */
#define PT_SQLITE_OK	       0
#define PT_SQLITE_ROW	       100
#define PT_SQLITE_DONE	       101
#define PT_SQLITE_ST_FULLSCAN  1
#define PT_SQLITE_ST_SORT      2
#define PT_SQLITE_ST_AUTOINDEX 3
#define PT_SQLITE_ST_VM_STEP   4

/* The library calls the logic needs (real functions, or a test's fakes). */
struct pt_sqlite_fns {
	const char *(*sql)(void *stmt);
	void *(*db_handle)(void *stmt);
	const char *(*db_filename)(void *db, const char *name);
	int (*stmt_status)(void *stmt, int op, int reset);
	int (*changes)(void *db);
	int (*column_count)(void *stmt);
};

/* Where events go: the shim's writer, or a test's recorder. */
struct pt_api_out {
	void (*event)(const struct pt_event *ev);
	void (*conn)(const struct pt_conn_info *ci);
	void (*drop)(enum pt_drop_cause why);
	uint32_t (*conn_id)(void); /* a fresh connection id */
	int raw;		   /* PERFTAP_RAW: raw SQL and full paths */
	uint32_t raw_max;
};

/* Statements tracked at once; Python keeps 128 per connection cached. */
#define PT_SQLITE_STMT_SLOTS 1024u
/* Open databases tracked at once. */
#define PT_SQLITE_DB_SLOTS 128u
/* Fingerprint kept per statement (longer ones are cut, PT_EV_TRUNCATED). */
#define PT_SQLITE_TEXT_MAX 480u

void api_sqlite_init(const struct pt_sqlite_fns *fns,
		     const struct pt_api_out *out);

/* Forget every statement and database (tests; a fork child keeps them). */
void api_sqlite_reset_all(void);

/* Around sqlite3_step(stmt): begin before it (t0: the clock), end after
 * it with its result rc and the clock t1.  begin returns the statement's
 * slot to hand to end (NULL: not reported). */
void *api_sqlite_step_begin(void *stmt, uint64_t t0);
void api_sqlite_step_end(void *slot, void *stmt, int rc, uint64_t t1);

/* Before sqlite3_reset / sqlite3_finalize: an execution in flight ends;
 * finalize also frees the statement's slot. */
void api_sqlite_reset(void *stmt, uint64_t now);
void api_sqlite_finalize(void *stmt, uint64_t now);

/* sqlite3_exec(db, sql) ran from t0 to t1 and returned rc; inner: the
 * statement steps it made that were seen (then those were the events). */
void api_sqlite_exec(void *db, const char *sql, int rc, uint64_t t0,
		     uint64_t t1, uint64_t inner);

/* sqlite3_prepare*(db, sql, nbytes) failed with rc: the error is the
 * program's, and one event (the statement never ran). */
void api_sqlite_prepare_failed(void *db, const char *sql, int nbytes, int rc,
			       uint64_t t0, uint64_t t1);

/* Before sqlite3_close / sqlite3_close_v2 with rc the result: the
 * database's connection record closes when rc is SQLITE_OK. */
void api_sqlite_close(void *db, int rc, uint64_t now);

#endif /* PERFTAP_API_SQLITE_H */
