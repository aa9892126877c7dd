/*
 * test_api_sqlite.c -- SQLite executions to events (api_sqlite.c) against
 * fake statements: one event per execution, rows, result codes, counters
 * per execution, the statement table's reuse and overflow, database names.
 */
#include <criterion/criterion.h>
#include <string.h>

#include "api_sqlite.h"

struct fake_db {
	const char *path;
	int changes;
};

struct fake_stmt {
	const char *sql;
	struct fake_db *db;
	int columns;
	int counters[5];
};

static const char *f_sql(void *s)
{
	return ((struct fake_stmt *)s)->sql;
}
static void *f_db(void *s)
{
	return ((struct fake_stmt *)s)->db;
}
static const char *f_file(void *db, const char *name)
{
	(void)name;
	return ((struct fake_db *)db)->path;
}
static int f_status(void *s, int op, int reset)
{
	cr_assert_eq(reset, 0, "the program's counters are never reset");
	return ((struct fake_stmt *)s)->counters[op];
}
static int f_changes(void *db)
{
	return ((struct fake_db *)db)->changes;
}
static int f_cols(void *s)
{
	return ((struct fake_stmt *)s)->columns;
}

#define MAX_EV 2048
static struct pt_event evs[MAX_EV];
static char texts[MAX_EV][PT_SQLITE_TEXT_MAX];
static int nev, nconn, ndrop;
static struct pt_conn_info conns[8];
static char conn_text[8][256];
static uint32_t ids;

static void on_event(const struct pt_event *ev)
{
	cr_assert_lt(nev, MAX_EV);
	evs[nev] = *ev;
	memcpy(texts[nev], ev->text, ev->text_len);
	texts[nev][ev->text_len] = '\0';
	nev++;
}
static void on_conn(const struct pt_conn_info *ci)
{
	conns[nconn] = *ci;
	if (ci->text) {
		memcpy(conn_text[nconn], ci->text, ci->text_len);
		conn_text[nconn][ci->text_len] = '\0';
	}
	nconn++;
}
static void on_drop(enum pt_drop_cause why)
{
	cr_assert_eq(why, PT_DROP_CONN_TABLE);
	ndrop++;
}
static uint32_t on_id(void)
{
	return ++ids;
}

static void setup_raw(int raw)
{
	struct pt_sqlite_fns fns = {f_sql,    f_db,	 f_file,
				    f_status, f_changes, f_cols};
	struct pt_api_out out = {on_event, on_conn, on_drop, on_id, raw, 64};
	api_sqlite_init(&fns, &out);
	api_sqlite_reset_all();
	nev = nconn = ndrop = 0;
	ids = 0;
}
static void setup(void)
{
	setup_raw(0);
}

/* One sqlite3_step as the hook drives it. */
static void step(struct fake_stmt *s, int rc, uint64_t t0, uint64_t t1)
{
	void *slot = api_sqlite_step_begin(s, t0);
	s->counters[PT_SQLITE_ST_VM_STEP] += 10;
	api_sqlite_step_end(slot, s, rc, t1);
}

static struct fake_db home = {"/home/alice/app/sessions.db", 0};

TestSuite(api_sqlite, .init = setup);

Test(api_sqlite, rows_to_done_are_one_event_timed_first_to_last_step)
{
	struct fake_stmt s = {"SELECT * FROM t WHERE id = 42", &home, 2, {0}};
	step(&s, PT_SQLITE_ROW, 100, 110);
	step(&s, PT_SQLITE_ROW, 200, 210);
	cr_assert_eq(nev, 0);
	step(&s, PT_SQLITE_DONE, 300, 350);
	cr_assert_eq(nev, 1);
	cr_assert_str_eq(texts[0], "select * from t where id=?");
	cr_assert_eq(evs[0].kind, PT_KIND_SQLITE);
	cr_assert_eq(evs[0].rows, 2);
	cr_assert_eq(evs[0].start_ns, 100);
	cr_assert_eq(evs[0].duration_ns, 250);
	cr_assert_eq(evs[0].outcome, PT_OUT_OK);
	cr_assert(evs[0].flags & PT_EV_API);
	cr_assert_eq(evs[0].vm_steps, 30);
}

Test(api_sqlite, counters_are_per_execution)
{
	struct fake_stmt s = {"select a from t", &home, 1, {0}};
	s.counters[PT_SQLITE_ST_FULLSCAN] = 5; /* from before we saw it */
	step(&s, PT_SQLITE_ROW, 1, 2);
	s.counters[PT_SQLITE_ST_FULLSCAN] += 7;
	s.counters[PT_SQLITE_ST_SORT] += 1;
	step(&s, PT_SQLITE_DONE, 3, 4);
	api_sqlite_reset(&s, 5);
	s.counters[PT_SQLITE_ST_SORT] += 4; /* between executions: not ours */
	void *slot = api_sqlite_step_begin(&s, 6);
	s.counters[PT_SQLITE_ST_AUTOINDEX] += 2;
	api_sqlite_step_end(slot, &s, PT_SQLITE_DONE, 7);
	cr_assert_eq(nev, 2);
	cr_assert_eq(evs[0].scan_steps, 7);
	cr_assert_eq(evs[0].sorts, 1);
	cr_assert_eq(evs[0].vm_steps, 20);
	cr_assert_eq(evs[1].scan_steps, 0);
	cr_assert_eq(evs[1].sorts, 0);
	cr_assert_eq(evs[1].auto_indexes, 2);
}

Test(api_sqlite, reset_or_finalize_mid_rows_ends_the_execution_once)
{
	struct fake_stmt s = {"select a from t", &home, 1, {0}};
	step(&s, PT_SQLITE_ROW, 1, 2);
	api_sqlite_reset(&s, 3);
	api_sqlite_reset(&s, 4); /* nothing running: nothing */
	step(&s, PT_SQLITE_ROW, 5, 6);
	step(&s, PT_SQLITE_ROW, 7, 8);
	api_sqlite_finalize(&s, 9);
	cr_assert_eq(nev, 2);
	cr_assert_eq(evs[0].rows, 1);
	cr_assert_eq(evs[1].rows, 2);
	cr_assert_eq(evs[1].outcome, PT_OUT_OK);
}

Test(api_sqlite, dml_reports_rows_changed_other_statements_not)
{
	struct fake_db db = {"x.db", 3};
	struct fake_stmt u = {"UPDATE t SET a = 1 WHERE b > 2", &db, 0, {0}};
	struct fake_stmt c = {"COMMIT", &db, 0, {0}};
	step(&u, PT_SQLITE_DONE, 1, 2);
	step(&c, PT_SQLITE_DONE, 3, 4);
	cr_assert_eq(nev, 2);
	cr_assert_eq(evs[0].rows, 3);
	cr_assert_str_eq(texts[1], "commit");
	cr_assert_eq(evs[1].rows, 0, "COMMIT: sqlite3_changes is stale");
}

Test(api_sqlite, an_error_is_the_result_code)
{
	struct fake_stmt s = {"insert into t values (1)", &home, 0, {0}};
	step(&s, 19 /* SQLITE_CONSTRAINT */, 1, 2);
	cr_assert_eq(nev, 1);
	cr_assert_eq(evs[0].outcome, PT_OUT_ERROR);
	cr_assert_eq(evs[0].status, 19);
	api_sqlite_prepare_failed(&home, "select * from nosuch where a='x'", -1,
				  1, 5, 9);
	cr_assert_eq(nev, 2);
	cr_assert_str_eq(texts[1], "select * from nosuch where a=?");
	cr_assert_eq(evs[1].status, 1);
	cr_assert_eq(evs[1].duration_ns, 4);
}

Test(api_sqlite, statements_without_sql_are_sqlites_own)
{
	struct fake_stmt s = {NULL, &home, 1, {0}};
	step(&s, PT_SQLITE_DONE, 1, 2);
	cr_assert_eq(nev, 0);
	cr_assert_eq(ndrop, 0);
}

Test(api_sqlite, a_new_statement_at_an_old_address_gets_its_own_text)
{
	struct fake_stmt s = {"select 1", &home, 1, {0}};
	step(&s, PT_SQLITE_DONE, 1, 2);
	/* finalized inside the library: no finalize seen */
	s.sql = "select 2 from u";
	s.columns = 1;
	step(&s, PT_SQLITE_DONE, 3, 4);
	cr_assert_eq(nev, 2);
	cr_assert_str_eq(texts[1], "select ? from u");
}

Test(api_sqlite, database_is_one_connection_named_by_basename)
{
	struct fake_db mem = {"", 0};
	struct fake_stmt a = {"select 1", &home, 1, {0}};
	struct fake_stmt b = {"select 2", &home, 1, {0}};
	struct fake_stmt m = {"select 3", &mem, 1, {0}};
	step(&a, PT_SQLITE_DONE, 1, 2);
	step(&b, PT_SQLITE_DONE, 1, 2);
	step(&m, PT_SQLITE_DONE, 1, 2);
	cr_assert_eq(nconn, 2);
	cr_assert_str_eq(conn_text[0], "sessions.db");
	cr_assert_eq(conns[0].proto, PT_PROTO_SQLITE);
	cr_assert_str_eq(conn_text[1], ":memory:");
	cr_assert_eq(evs[0].conn_id, evs[1].conn_id);
	cr_assert_neq(evs[0].conn_id, evs[2].conn_id);
	api_sqlite_close(&home, 5 /* SQLITE_BUSY: still open */, 3);
	cr_assert_eq(nconn, 2);
	api_sqlite_close(&home, PT_SQLITE_OK, 3);
	cr_assert_eq(nconn, 3);
	cr_assert_eq(conns[2].event, PT_CONN_CLOSE);
	cr_assert_eq(conns[2].events, 2);
}

Test(api_sqlite, raw_mode_keeps_sql_and_path, .init = NULL)
{
	setup_raw(1);
	struct fake_stmt s = {
	    "SELECT * FROM t WHERE name = 'bob'", &home, 1, {0}};
	step(&s, PT_SQLITE_DONE, 1, 2);
	cr_assert_str_eq(texts[0], "SELECT * FROM t WHERE name = 'bob'");
	cr_assert(evs[0].flags & PT_EV_RAW);
	cr_assert_str_eq(conn_text[0], home.path);
}

Test(api_sqlite, exec_is_one_event_unless_its_statements_were_seen)
{
	api_sqlite_exec(&home, "PRAGMA journal_mode = WAL", PT_SQLITE_OK, 10,
			20, 0);
	api_sqlite_exec(&home, "create table t (a)", PT_SQLITE_OK, 10, 20, 1);
	cr_assert_eq(nev, 1);
	cr_assert_eq(evs[0].duration_ns, 10);
}

Test(api_sqlite, a_full_table_is_counted_never_overwritten)
{
	static struct fake_stmt many[PT_SQLITE_STMT_SLOTS + 64];
	for (size_t i = 0; i < sizeof(many) / sizeof(many[0]); i++) {
		many[i] = (struct fake_stmt){"select 1", &home, 1, {0}};
		step(&many[i], PT_SQLITE_ROW, 1, 2);
	}
	cr_assert_gt(ndrop, 0);
	for (size_t i = 0; i < sizeof(many) / sizeof(many[0]); i++)
		api_sqlite_finalize(&many[i], 3);
	cr_assert_eq((size_t)nev + (size_t)ndrop,
		     sizeof(many) / sizeof(many[0]));
}
