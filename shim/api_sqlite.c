/*
 * api_sqlite.c -- SQLite statement executions as events (api_sqlite.h).
 *
 * Sections:
 *   1. the statement and database tables
 *   2. text: fingerprint or raw SQL, database name
 *   3. ending an execution
 *   4. the entry points
 *
 * Invariants of a statement slot (struct stmt_slot):
 *   S1. key is claimed by CAS from 0 (the first step of a statement we do
 *       not know) and cleared, release, by finalize; a slot is used by the
 *       thread running its statement (SQLite serializes a connection).
 *   S2. text/len/flags are written once, at the claim, before running.
 *   S3. base_* hold the statement's cumulative counters at the start of the
 *       current execution, so an event carries only its own counts and the
 *       program's own sqlite3_stmt_status() readings are never reset.
 *   S4. SQLite steps its own statements through the exported calls but
 *       finalizes some inside the library, so a slot may outlive its
 *       statement: sql (sqlite3_sql, a fresh allocation per statement)
 *       tells a new statement at the same address from the old one.
 */
#include <string.h>
#include <strings.h>

#include "api_sqlite.h"
#include "normalize.h"

/* ---- 1. the statement and database tables ---- */

struct stmt_slot {
	void *key;	 /* sqlite3_stmt *; NULL = free */
	const char *sql; /* sqlite3_sql() when claimed (S4) */
	uint32_t conn_id;
	uint16_t len;
	uint8_t running;
	uint8_t changes_rows; /* INSERT/UPDATE/DELETE/REPLACE: rows changed */
	uint32_t flags;
	uint64_t start_ns, last_ns, rows;
	uint32_t base[4]; /* fullscan, sort, autoindex, vm_step */
	char text[PT_SQLITE_TEXT_MAX];
};

struct db_slot {
	void *key; /* sqlite3 *; NULL = free */
	uint32_t conn_id;
	uint64_t events;
};

static struct stmt_slot stmts[PT_SQLITE_STMT_SLOTS];
static struct db_slot dbs[PT_SQLITE_DB_SLOTS];
static struct pt_sqlite_fns fn;
static struct pt_api_out out;

/* Pointer hash (allocations are 8- or 16-aligned: drop the low bits). */
static uint32_t ptr_hash(const void *p)
{
	uint64_t v = (uint64_t)(uintptr_t)p >> 4;
	v *= 0x9e3779b97f4a7c15ull;
	return (uint32_t)(v >> 40);
}

/* Linear probing over at most this many slots keeps a miss cheap. */
#define PROBE_MAX 32u

static struct stmt_slot *stmt_find(void *stmt)
{
	uint32_t h = ptr_hash(stmt);
	for (uint32_t i = 0; i < PROBE_MAX; i++) {
		struct stmt_slot *s = &stmts[(h + i) % PT_SQLITE_STMT_SLOTS];
		if (__atomic_load_n(&s->key, __ATOMIC_ACQUIRE) == stmt)
			return s;
	}
	return NULL;
}

static struct stmt_slot *stmt_claim(void *stmt)
{
	uint32_t h = ptr_hash(stmt);
	for (uint32_t i = 0; i < PROBE_MAX; i++) {
		struct stmt_slot *s = &stmts[(h + i) % PT_SQLITE_STMT_SLOTS];
		void *free_key = NULL;
		/* Acquire: the previous owner's writes are done (S1). */
		if (__atomic_compare_exchange_n(&s->key, &free_key, stmt, 0,
						__ATOMIC_ACQUIRE,
						__ATOMIC_RELAXED))
			return s;
	}
	return NULL;
}

static struct db_slot *db_find(void *db, int claim)
{
	uint32_t h = ptr_hash(db);
	for (uint32_t i = 0; i < PROBE_MAX; i++) {
		struct db_slot *d = &dbs[(h + i) % PT_SQLITE_DB_SLOTS];
		void *k = __atomic_load_n(&d->key, __ATOMIC_ACQUIRE);
		if (k == db)
			return d;
		if (k == NULL && claim) {
			void *free_key = NULL;
			if (__atomic_compare_exchange_n(&d->key, &free_key, db,
							0, __ATOMIC_ACQUIRE,
							__ATOMIC_RELAXED))
				return d;
			if (free_key == db)
				return d;
		}
	}
	return NULL;
}

static void db_count(void *db)
{
	struct db_slot *d = db ? db_find(db, 0) : NULL;
	if (d)
		d->events++;
}

/* ---- 2. text ---- */

static const char *base_name(const char *path)
{
	const char *slash = strrchr(path, '/');
	return slash ? slash + 1 : path;
}

/* The database's connection record: opened at its first statement. */
static uint32_t db_conn(void *db, uint64_t now)
{
	if (!db)
		return 0;
	struct db_slot *d = db_find(db, 0);
	if (d)
		return d->conn_id;
	d = db_find(db, 1);
	if (!d) {
		out.drop(PT_DROP_CONN_TABLE);
		return 0;
	}
	d->conn_id = out.conn_id();
	d->events = 0;
	const char *path = fn.db_filename(db, "main");
	const char *name = path && path[0] ? path : ":memory:";
	if (!out.raw)
		name = base_name(name);
	struct pt_conn_info ci = {
	    .event = PT_CONN_OPEN,
	    .role = PT_ROLE_CLIENT,
	    .proto = PT_PROTO_SQLITE,
	    .conn_id = d->conn_id,
	    .time_ns = now,
	    .text = name,
	    .text_len = strlen(name),
	};
	out.conn(&ci);
	return d->conn_id;
}

static void slot_text(struct stmt_slot *s, const char *sql)
{
	size_t n = sql ? strlen(sql) : 0;
	s->flags = PT_EV_API;
	if (out.raw) {
		size_t max = out.raw_max < sizeof(s->text) - 1
				 ? out.raw_max
				 : sizeof(s->text) - 1;
		if (n > max) {
			n = max;
			s->flags |= PT_EV_TRUNCATED;
		}
		memcpy(s->text, sql, n);
		s->flags |= PT_EV_RAW;
	} else {
		if (n > PT_TEXT_MAX) {
			n = PT_TEXT_MAX;
			s->flags |= PT_EV_TRUNCATED;
		}
		n = n ? pt_sql_fingerprint(sql, n, s->text, sizeof(s->text))
		      : 0;
		if (n >= sizeof(s->text) - 1)
			s->flags |= PT_EV_TRUNCATED;
	}
	s->len = (uint16_t)n;
}

/* sqlite3_changes() is only this statement's for INSERT, UPDATE, DELETE
 * and REPLACE (COMMIT or CREATE leave the previous figure there). */
static int is_dml(const char *sql)
{
	while (*sql == ' ' || *sql == '\t' || *sql == '\n' || *sql == '\r')
		sql++;
	static const char *const verbs[] = {"insert", "update", "delete",
					    "replace"};
	for (size_t i = 0; i < sizeof(verbs) / sizeof(verbs[0]); i++)
		if (strncasecmp(sql, verbs[i], strlen(verbs[i])) == 0)
			return 1;
	return 0;
}

/* ---- 3. ending an execution ---- */

static const int counter_ops[4] = {PT_SQLITE_ST_FULLSCAN, PT_SQLITE_ST_SORT,
				   PT_SQLITE_ST_AUTOINDEX,
				   PT_SQLITE_ST_VM_STEP};

static void counters_now(void *stmt, uint32_t now[4])
{
	for (int i = 0; i < 4; i++)
		now[i] = (uint32_t)fn.stmt_status(stmt, counter_ops[i], 0);
}

/* rc: the last step's result (SQLITE_DONE, an error, or SQLITE_ROW when
 * the program stopped early by reset or finalize). */
static void exec_end(struct stmt_slot *s, void *stmt, int rc)
{
	uint32_t now[4];
	counters_now(stmt, now);
	uint64_t rows = s->rows;
	if (s->changes_rows && rc == PT_SQLITE_DONE)
		rows = (uint64_t)fn.changes(fn.db_handle(stmt));
	int ok = rc == PT_SQLITE_DONE || rc == PT_SQLITE_ROW;
	struct pt_event ev = {
	    .kind = PT_KIND_SQLITE,
	    .outcome = ok ? PT_OUT_OK : PT_OUT_ERROR,
	    .start_ns = s->start_ns,
	    .duration_ns =
		s->last_ns > s->start_ns ? s->last_ns - s->start_ns : 0,
	    .conn_id = s->conn_id,
	    .status = ok ? 0 : rc,
	    .rows = rows,
	    .flags = s->flags,
	    .text = s->text,
	    .text_len = s->len,
	    .scan_steps = now[0] - s->base[0],
	    .sorts = now[1] - s->base[1],
	    .auto_indexes = now[2] - s->base[2],
	    .vm_steps = now[3] - s->base[3],
	};
	s->running = 0;
	db_count(fn.db_handle(stmt));
	out.event(&ev);
}

/* ---- 4. the entry points ---- */

void api_sqlite_init(const struct pt_sqlite_fns *fns,
		     const struct pt_api_out *o)
{
	fn = *fns;
	out = *o;
}

void api_sqlite_reset_all(void)
{
	memset(stmts, 0, sizeof(stmts));
	memset(dbs, 0, sizeof(dbs));
}

/* A statement's slot, (re)initialized when the statement is new to us or
 * its address now holds another statement (S4).  NULL: not reported (no
 * SQL: SQLite's own schema statements) or no free slot (counted). */
static struct stmt_slot *slot_for(void *stmt, uint64_t now)
{
	const char *sql = fn.sql(stmt);
	struct stmt_slot *s = stmt_find(stmt);
	if (s && s->sql == sql)
		return s;
	if (!sql) {
		if (s)
			__atomic_store_n(&s->key, NULL, __ATOMIC_RELEASE);
		return NULL;
	}
	if (!s && !(s = stmt_claim(stmt))) {
		out.drop(PT_DROP_CONN_TABLE);
		return NULL;
	}
	s->sql = sql;
	s->running = 0;
	s->conn_id = db_conn(fn.db_handle(stmt), now);
	slot_text(s, sql);
	s->changes_rows = fn.column_count(stmt) == 0 && is_dml(sql);
	return s;
}

void *api_sqlite_step_begin(void *stmt, uint64_t t0)
{
	struct stmt_slot *s = stmt ? slot_for(stmt, t0) : NULL;
	if (s && !s->running) {
		s->running = 1;
		s->start_ns = t0;
		s->rows = 0;
		counters_now(stmt, s->base); /* S3 */
	}
	return s;
}

void api_sqlite_step_end(void *slot, void *stmt, int rc, uint64_t t1)
{
	struct stmt_slot *s = slot;
	if (!s)
		return;
	s->last_ns = t1;
	if (rc == PT_SQLITE_ROW) {
		s->rows++;
		return;
	}
	exec_end(s, stmt, rc);
}

void api_sqlite_reset(void *stmt, uint64_t now)
{
	struct stmt_slot *s = stmt ? stmt_find(stmt) : NULL;
	(void)now;
	if (s && s->running)
		exec_end(s, stmt, PT_SQLITE_ROW);
}

void api_sqlite_finalize(void *stmt, uint64_t now)
{
	struct stmt_slot *s = stmt ? stmt_find(stmt) : NULL;
	(void)now;
	if (!s)
		return;
	if (s->running)
		exec_end(s, stmt, PT_SQLITE_ROW);
	__atomic_store_n(&s->key, NULL, __ATOMIC_RELEASE); /* S1 */
}

void api_sqlite_exec(void *db, const char *sql, int rc, uint64_t t0,
		     uint64_t t1, uint64_t inner)
{
	if (inner || !sql)
		return; /* its statements were seen one by one */
	struct stmt_slot tmp;
	tmp.conn_id = db_conn(db, t0);
	slot_text(&tmp, sql);
	struct pt_event ev = {
	    .kind = PT_KIND_SQLITE,
	    .outcome = rc == PT_SQLITE_OK ? PT_OUT_OK : PT_OUT_ERROR,
	    .start_ns = t0,
	    .duration_ns = t1 > t0 ? t1 - t0 : 0,
	    .conn_id = tmp.conn_id,
	    .status = rc,
	    .flags = tmp.flags,
	    .text = tmp.text,
	    .text_len = tmp.len,
	};
	db_count(db);
	out.event(&ev);
}

void api_sqlite_prepare_failed(void *db, const char *sql, int nbytes, int rc,
			       uint64_t t0, uint64_t t1)
{
	if (!sql)
		return;
	struct stmt_slot tmp;
	size_t n = nbytes < 0 ? strlen(sql) : strnlen(sql, (size_t)nbytes);
	char buf[PT_SQLITE_TEXT_MAX];
	if (n > sizeof(buf) - 1)
		n = sizeof(buf) - 1;
	memcpy(buf, sql, n);
	buf[n] = '\0';
	tmp.conn_id = db_conn(db, t0);
	slot_text(&tmp, buf);
	struct pt_event ev = {
	    .kind = PT_KIND_SQLITE,
	    .outcome = PT_OUT_ERROR,
	    .start_ns = t0,
	    .duration_ns = t1 > t0 ? t1 - t0 : 0,
	    .conn_id = tmp.conn_id,
	    .status = rc,
	    .flags = tmp.flags,
	    .text = tmp.text,
	    .text_len = tmp.len,
	};
	db_count(db);
	out.event(&ev);
}

void api_sqlite_close(void *db, int rc, uint64_t now)
{
	if (!db || rc != PT_SQLITE_OK)
		return;
	struct db_slot *d = db_find(db, 0);
	if (!d)
		return;
	struct pt_conn_info ci = {
	    .event = PT_CONN_CLOSE,
	    .role = PT_ROLE_CLIENT,
	    .proto = PT_PROTO_SQLITE,
	    .conn_id = d->conn_id,
	    .time_ns = now,
	    .events = d->events,
	};
	out.conn(&ci);
	__atomic_store_n(&d->key, NULL, __ATOMIC_RELEASE);
}
