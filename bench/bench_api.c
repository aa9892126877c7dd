/*
 * bench_api.c -- per-event cost of the client-API path (api_sqlite.c):
 * a real in-memory SQLite point select (bind, step to the row, step to
 * SQLITE_DONE, reset) run plain and then with what the hooks add around
 * each step (two clock reads, the statement-table lookup, the statement
 * counters, the real writer into a real dump).  The difference per
 * execution is the shim's cost per API event, to set beside bench_event's
 * socket-path figures.
 *
 * usage: bench_api [--iterations N] [--repeat R]
 *
 * Prints, like bench_event:
 *   sqlite events=E ns_per_event median=M min=A max=B plain_ns=P
 * where ns_per_event is (traced - plain) per execution.
 */
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "api_sqlite.h"
#include "writer.h"

static struct pt_writer w;
static struct pt_writer_cursor cur;
static uint64_t events;
static uint32_t ids;

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void on_event(const struct pt_event *ev)
{
	if (pt_writer_emit_event(&w, &cur, ev) == 0)
		events++;
}
static void on_conn(const struct pt_conn_info *ci)
{
	pt_writer_emit_conn(&w, &cur, ci);
}
static void on_drop(enum pt_drop_cause why)
{
	pt_writer_count_drop(&w, why);
}
static uint32_t on_id(void)
{
	return ++ids;
}

/* The real library's calls, with the hooks' types. */
static const char *x_sql(void *s)
{
	return sqlite3_sql(s);
}
static void *x_db(void *s)
{
	return sqlite3_db_handle(s);
}
static const char *x_file(void *db, const char *n)
{
	return sqlite3_db_filename(db, n);
}
static int x_status(void *s, int op, int reset)
{
	return sqlite3_stmt_status(s, op, reset);
}
static int x_changes(void *db)
{
	return sqlite3_changes(db);
}
static int x_cols(void *s)
{
	return sqlite3_column_count(s);
}

/* n executions of stmt; traced: with the hooks' work around each step. */
static double run(sqlite3_stmt *st, uint64_t n, int traced)
{
	uint64_t t0 = now_ns();
	for (uint64_t i = 0; i < n; i++) {
		sqlite3_bind_int(st, 1, (int)(i % 100) + 1);
		for (int k = 0; k < 2; k++) {
			if (!traced) {
				sqlite3_step(st);
				continue;
			}
			void *slot = api_sqlite_step_begin(st, now_ns());
			int rc = sqlite3_step(st);
			api_sqlite_step_end(slot, st, rc, now_ns());
		}
		if (traced)
			api_sqlite_reset(st, 0);
		sqlite3_reset(st);
	}
	return (double)(now_ns() - t0) / (double)n;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

static sqlite3_stmt *setup_db(sqlite3 **db)
{
	sqlite3_stmt *st = NULL;
	if (sqlite3_open(":memory:", db) != SQLITE_OK ||
	    sqlite3_exec(*db,
			 "CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT);"
			 "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT "
			 "x + 1 FROM c WHERE x < 100) INSERT INTO t SELECT x, "
			 "'value ' || x FROM c;",
			 NULL, NULL, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(*db, "SELECT v FROM t WHERE id = ?", -1, &st,
			       NULL) != SQLITE_OK)
		return NULL;
	return st;
}

int main(int argc, char **argv)
{
	uint64_t iters = 300000;
	int repeat = 5;
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--iterations") && i + 1 < argc)
			iters = strtoull(argv[++i], NULL, 10);
		else if (!strcmp(argv[i], "--repeat") && i + 1 < argc)
			repeat = atoi(argv[++i]);
		else {
			fprintf(stderr, "usage: bench_api [--iterations N] "
					"[--repeat R]\n");
			return 2;
		}
	}
	if (iters == 0 || repeat < 1 || repeat > 100)
		return 2;
	char dir[] = "/tmp/bench_api.XXXXXX";
	if (!mkdtemp(dir)) {
		perror("bench_api: mkdtemp");
		return 1;
	}
	sqlite3 *db;
	sqlite3_stmt *st = setup_db(&db);
	if (!st) {
		fprintf(stderr, "bench_api: sqlite set-up failed\n");
		return 1;
	}
	struct pt_sqlite_fns fns = {x_sql,    x_db,	 x_file,
				    x_status, x_changes, x_cols};
	struct pt_api_out out = {on_event, on_conn, on_drop, on_id, 0, 0};
	api_sqlite_init(&fns, &out);
	double extra[100], plain[100];
	for (int r = 0; r < repeat; r++) {
		struct pt_writer_config wc = {.dir = dir,
					      .name_hint = "bench_api"};
		if (pt_writer_open(&w, &wc) < 0) {
			fprintf(stderr, "bench_api: cannot open a dump\n");
			return 1;
		}
		pt_writer_cursor_init(&cur, (uint32_t)getpid());
		api_sqlite_reset_all();
		events = 0;
		plain[r] = run(st, iters, 0);
		double traced = run(st, iters, 1);
		extra[r] = traced - plain[r];
		pt_writer_cursor_release(&w, &cur);
		unlink(w.path);
		pt_writer_close(&w);
		if (events != iters) {
			fprintf(stderr, "bench_api: %llu events for %llu\n",
				(unsigned long long)events,
				(unsigned long long)iters);
			return 1;
		}
	}
	qsort(extra, (size_t)repeat, sizeof(extra[0]), cmp_double);
	qsort(plain, (size_t)repeat, sizeof(plain[0]), cmp_double);
	printf("sqlite events=%llu ns_per_event median=%.1f min=%.1f max=%.1f "
	       "plain_ns=%.1f\n",
	       (unsigned long long)iters, extra[repeat / 2], extra[0],
	       extra[repeat - 1], plain[repeat / 2]);
	sqlite3_finalize(st);
	sqlite3_close(db);
	rmdir(dir);
	return 0;
}
