/*
 * history.c -- the history of runs in SQLite (see history.h).
 *
 * Sections: opening and checking the file; adding a run (through the
 * baseline's own record of the run, so the fields are the baseline's);
 * listing runs; an operation's trend; a baseline from the last runs.
 */
#include "history_html.h"
#include "history.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define HISTORY_APP_ID 0x70667470 /* "pftp": PRAGMA application_id */
#define HISTORY_SCHEMA 1

struct pt_history {
	sqlite3 *db;
};

static const char SCHEMA[] =
    "CREATE TABLE runs(id INTEGER PRIMARY KEY, time_ns INTEGER NOT NULL, "
    "label TEXT NOT NULL, host TEXT NOT NULL, events INTEGER NOT NULL, "
    "window_s REAL NOT NULL);"
    "CREATE TABLE ops(run INTEGER NOT NULL REFERENCES runs(id), "
    "key TEXT NOT NULL, mean REAL, median REAL, p95 REAL, p99 REAL, "
    "max REAL, iterations INTEGER, rate REAL, sample BLOB, "
    "PRIMARY KEY(run, key));"
    "PRAGMA application_id=1885762672;PRAGMA user_version=1;";

static int fail(char *err, size_t errlen, const char *what, sqlite3 *db)
{
	snprintf(err, errlen, "%s: %s", what, db ? sqlite3_errmsg(db) : "?");
	return -1;
}

static int pragma_int(sqlite3 *db, const char *sql, int *v)
{
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
		return -1;
	int rc = sqlite3_step(st);
	*v = rc == SQLITE_ROW ? sqlite3_column_int(st, 0) : 0;
	sqlite3_finalize(st);
	return rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : -1;
}

/* Ours, empty (then made ours), or refused. */
static int check_or_create(sqlite3 *db, int create, char *err, size_t errlen)
{
	int app, tables;
	/* Both reads in one snapshot: read apart, another process's schema
	 * could commit between them (tables, but no application id yet
	 * seen), and a history being made would look like a foreign file. */
	if (sqlite3_exec(db, "BEGIN", 0, 0, 0) != SQLITE_OK)
		return fail(err, errlen, "cannot read", db);
	if (pragma_int(db, "PRAGMA application_id", &app) < 0 ||
	    pragma_int(db, "SELECT count(*) FROM sqlite_master", &tables) < 0) {
		fail(err, errlen, "not a perftap history database", db);
		sqlite3_exec(db, "ROLLBACK", 0, 0, 0);
		return -1;
	}
	sqlite3_exec(db, "COMMIT", 0, 0, 0);
	if (app == HISTORY_APP_ID)
		return 0;
	if (app != 0 || tables != 0) {
		snprintf(err, errlen,
			 "not a perftap history database (an SQLite database "
			 "of another application)");
		return -1;
	}
	if (!create) {
		snprintf(err, errlen, "no runs recorded (empty database)");
		return -1;
	}
	if (sqlite3_exec(db, "BEGIN IMMEDIATE", 0, 0, 0) != SQLITE_OK)
		return fail(err, errlen, "cannot lock", db);
	/* Another process may have made it between our check and the lock. */
	if (pragma_int(db, "PRAGMA application_id", &app) == 0 &&
	    app == HISTORY_APP_ID)
		return sqlite3_exec(db, "COMMIT", 0, 0, 0) == SQLITE_OK
			   ? 0
			   : fail(err, errlen, "commit", db);
	if (sqlite3_exec(db, SCHEMA, 0, 0, 0) != SQLITE_OK ||
	    sqlite3_exec(db, "COMMIT", 0, 0, 0) != SQLITE_OK) {
		fail(err, errlen, "cannot create the history", db);
		sqlite3_exec(db, "ROLLBACK", 0, 0, 0);
		return -1;
	}
	return 0;
}

struct pt_history *history_open(const char *path, int create, char *err,
				size_t errlen)
{
	sqlite3 *db = NULL;
	int flags = SQLITE_OPEN_READWRITE | (create ? SQLITE_OPEN_CREATE : 0);
	if (sqlite3_open_v2(path, &db, flags, NULL) != SQLITE_OK) {
		fail(err, errlen, "cannot open", db);
		sqlite3_close(db);
		return NULL;
	}
	sqlite3_busy_timeout(db, HISTORY_BUSY_MS);
	struct pt_history *h = NULL;
	if (check_or_create(db, create, err, errlen) == 0 &&
	    (h = malloc(sizeof(*h))))
		h->db = db;
	else
		sqlite3_close(db);
	return h;
}

void history_close(struct pt_history *h)
{
	if (h) {
		sqlite3_close(h->db);
		free(h);
	}
}

static double row_rate(const struct pt_analysis *a, const char *key)
{
	for (size_t i = 0; i < a->nrows; i++)
		if (a->rows[i].key && !strcmp(a->rows[i].key, key))
			return a->rows[i].rate;
	return 0;
}

/* The run as baseline_save records it, read back. */
static int run_as_baseline(const struct pt_analysis *a, struct pt_baseline *b,
			   char *err, size_t errlen)
{
	char tmp[] = "/tmp/perftap-history-XXXXXX";
	int fd = mkstemp(tmp);
	if (fd < 0) {
		snprintf(err, errlen, "cannot make a temporary file");
		return -1;
	}
	close(fd);
	int rc = baseline_save(a, tmp, err, errlen) < 0 ||
			 baseline_load(tmp, b, err, errlen) < 0
		     ? -1
		     : 0;
	unlink(tmp);
	return rc;
}

static int insert_ops(struct pt_history *h, int64_t run,
		      const struct pt_baseline *b, const struct pt_analysis *a)
{
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(h->db,
			       "INSERT INTO ops VALUES(?,?,?,?,?,?,?,?,?,?)",
			       -1, &st, NULL) != SQLITE_OK)
		return -1;
	int rc = 0;
	for (size_t i = 0; i < b->n && !rc; i++) {
		const struct pt_baseline_op *op = &b->ops[i];
		sqlite3_bind_int64(st, 1, run);
		sqlite3_bind_text(st, 2, op->key, -1, SQLITE_STATIC);
		for (int g = 0; g < PT_BA_COUNT; g++)
			sqlite3_bind_double(st, 3 + g, op->v[g]);
		sqlite3_bind_int64(st, 8, (sqlite3_int64)op->iterations);
		sqlite3_bind_double(st, 9, row_rate(a, op->key));
		sqlite3_bind_blob(st, 10, op->sample,
				  (int)(op->nsample * sizeof(double)),
				  SQLITE_STATIC);
		rc = sqlite3_step(st) == SQLITE_DONE ? 0 : -1;
		sqlite3_reset(st);
	}
	sqlite3_finalize(st);
	return rc;
}

int64_t history_add(struct pt_history *h, const struct pt_analysis *a,
		    const char *label, char *err, size_t errlen)
{
	struct pt_baseline b;
	if (run_as_baseline(a, &b, err, errlen) < 0)
		return -1;
	char host[256] = "";
	if (a->m->nprocs && a->m->procs[0].host)
		snprintf(host, sizeof(host), "%s", a->m->procs[0].host);
	else
		gethostname(host, sizeof(host) - 1);
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	sqlite3_stmt *st = NULL;
	int64_t run = -1;
	if (sqlite3_exec(h->db, "BEGIN IMMEDIATE", 0, 0, 0) != SQLITE_OK) {
		fail(err, errlen, "cannot lock", h->db);
		goto out;
	}
	if (sqlite3_prepare_v2(h->db,
			       "INSERT INTO runs(time_ns,label,host,events,"
			       "window_s) VALUES(?,?,?,?,?)",
			       -1, &st, NULL) != SQLITE_OK)
		goto rollback;
	sqlite3_bind_int64(st, 1,
			   (sqlite3_int64)ts.tv_sec * 1000000000 + ts.tv_nsec);
	sqlite3_bind_text(st, 2, label ? label : "", -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, host, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 4, (sqlite3_int64)a->m->events);
	sqlite3_bind_double(st, 5, a->window_s);
	if (sqlite3_step(st) != SQLITE_DONE)
		goto rollback;
	run = sqlite3_last_insert_rowid(h->db);
	if (insert_ops(h, run, &b, a) < 0 ||
	    sqlite3_exec(h->db, "COMMIT", 0, 0, 0) != SQLITE_OK)
		goto rollback;
	goto out;
rollback:
	fail(err, errlen, "cannot store the run", h->db);
	sqlite3_exec(h->db, "ROLLBACK", 0, 0, 0);
	run = -1;
out:
	sqlite3_finalize(st);
	baseline_free(&b);
	return run;
}

static void iso(int64_t ns, char *buf, size_t len)
{
	time_t t = (time_t)(ns / 1000000000);
	struct tm tm;
	gmtime_r(&t, &tm);
	strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

int history_show(struct pt_history *h, FILE *out, int json, char *err,
		 size_t errlen)
{
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(
		h->db,
		"SELECT r.id, r.time_ns, r.label, r.host, "
		"r.events, r.window_s, (SELECT count(*) FROM ops "
		"WHERE run = r.id) FROM runs r ORDER BY r.id",
		-1, &st, NULL) != SQLITE_OK)
		return fail(err, errlen, "cannot read the runs", h->db);
	cJSON *arr = json ? cJSON_CreateArray() : NULL;
	if (!json)
		fprintf(out, "%5s  %-20s  %-16s  %-16s  %9s  %8s  %4s\n", "run",
			"time", "label", "host", "events", "window", "ops");
	int rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		char when[32];
		iso(sqlite3_column_int64(st, 1), when, sizeof(when));
		const char *label = (const char *)sqlite3_column_text(st, 2);
		const char *host = (const char *)sqlite3_column_text(st, 3);
		if (json) {
			cJSON *o = cJSON_CreateObject();
			cJSON_AddNumberToObject(o, "run",
						sqlite3_column_double(st, 0));
			cJSON_AddStringToObject(o, "time", when);
			cJSON_AddStringToObject(o, "label", label);
			cJSON_AddStringToObject(o, "host", host);
			cJSON_AddNumberToObject(o, "events",
						sqlite3_column_double(st, 4));
			cJSON_AddNumberToObject(o, "window_s",
						sqlite3_column_double(st, 5));
			cJSON_AddNumberToObject(o, "operations",
						sqlite3_column_double(st, 6));
			cJSON_AddItemToArray(arr, o);
		} else {
			fprintf(out,
				"%5lld  %-20s  %-16.16s  %-16.16s  %9lld  "
				"%7.1fs  %4d\n",
				(long long)sqlite3_column_int64(st, 0), when,
				label, host,
				(long long)sqlite3_column_int64(st, 4),
				sqlite3_column_double(st, 5),
				sqlite3_column_int(st, 6));
		}
	}
	sqlite3_finalize(st);
	if (json) {
		char *s = cJSON_Print(arr);
		if (s)
			fprintf(out, "%s\n", s);
		free(s);
		cJSON_Delete(arr);
	}
	return rc == SQLITE_DONE ? 0 : fail(err, errlen, "read", h->db);
}

/* The last n runs' values of one key, oldest first. */
static const char TREND_SQL[] =
    "SELECT * FROM (SELECT r.id, r.time_ns, r.label, o.median, o.p95, "
    "o.p99, o.rate, o.iterations FROM ops o JOIN runs r ON r.id = o.run "
    "WHERE o.key = ? ORDER BY r.id DESC LIMIT ?) ORDER BY id";

int history_trend(struct pt_history *h, const char *key, size_t n,
		  const char *format, FILE *out, char *err, size_t errlen)
{
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(h->db, TREND_SQL, -1, &st, NULL) != SQLITE_OK)
		return fail(err, errlen, "cannot read the runs", h->db);
	sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, (sqlite3_int64)n);
	int json = !strcmp(format, "json"), html = !strcmp(format, "html");
	int rows = 0, rc;
	cJSON *arr = cJSON_CreateArray();
	struct pt_trend_point *pts = html ? calloc(n ? n : 1, sizeof(*pts))
					  : NULL;
	if (html && !pts) {
		sqlite3_finalize(st);
		cJSON_Delete(arr);
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	if (!json && !html)
		fprintf(out, "%s\n%5s  %-20s  %-16s  %9s  %9s  %9s  %9s\n", key,
			"run", "time", "label", "p50 ms", "p95 ms", "p99 ms",
			"rate/s");
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		char when[32];
		iso(sqlite3_column_int64(st, 1), when, sizeof(when));
		const char *label = (const char *)sqlite3_column_text(st, 2);
		double v[4];
		for (int i = 0; i < 4; i++)
			v[i] = sqlite3_column_double(st, 3 + i);
		rows++;
		if (html) {
			if ((size_t)rows > n)
				continue;
			struct pt_trend_point *t = &pts[rows - 1];
			t->run = sqlite3_column_int64(st, 0);
			snprintf(t->time, sizeof(t->time), "%s", when);
			snprintf(t->label, sizeof(t->label), "%s",
				 label ? label : "");
			t->p50_ms = v[0];
			t->p95_ms = v[1];
			t->p99_ms = v[2];
			t->rate = v[3];
		} else if (json) {
			cJSON *o = cJSON_CreateObject();
			cJSON_AddNumberToObject(o, "run",
						sqlite3_column_double(st, 0));
			cJSON_AddStringToObject(o, "time", when);
			cJSON_AddStringToObject(o, "label", label);
			cJSON_AddNumberToObject(o, "p50_ms", v[0]);
			cJSON_AddNumberToObject(o, "p95_ms", v[1]);
			cJSON_AddNumberToObject(o, "p99_ms", v[2]);
			cJSON_AddNumberToObject(o, "rate", v[3]);
			cJSON_AddItemToArray(arr, o);
		} else {
			fprintf(out,
				"%5lld  %-20s  %-16.16s  %9.3f  %9.3f  %9.3f  "
				"%9.2f\n",
				(long long)sqlite3_column_int64(st, 0), when,
				label, v[0], v[1], v[2], v[3]);
		}
	}
	sqlite3_finalize(st);
	if (json) {
		cJSON *doc = cJSON_CreateObject();
		cJSON_AddStringToObject(doc, "key", key);
		cJSON_AddItemToObject(doc, "runs", arr);
		char *s = cJSON_Print(doc);
		if (s)
			fprintf(out, "%s\n", s);
		free(s);
		cJSON_Delete(doc);
	} else {
		cJSON_Delete(arr);
	}
	if (html && rc == SQLITE_DONE && rows &&
	    history_trend_html(out, key, pts, (size_t)rows) < 0) {
		free(pts);
		snprintf(err, errlen, "write error");
		return -1;
	}
	free(pts);
	if (rc != SQLITE_DONE)
		return fail(err, errlen, "read", h->db);
	if (!rows) {
		snprintf(err, errlen, "no run has operation '%s'", key);
		return -1;
	}
	return 0;
}

/* Add one run's row to op: aggregates summed (divided by the runs
 * afterwards), samples pooled. */
static int pool_row(struct pt_baseline_op *op, sqlite3_stmt *st)
{
	for (int g = 0; g < PT_BA_COUNT; g++)
		op->v[g] += sqlite3_column_double(st, 1 + g);
	op->iterations += (uint64_t)sqlite3_column_int64(st, 6);
	size_t add = (size_t)sqlite3_column_bytes(st, 7) / sizeof(double);
	if (!add)
		return 0;
	double *p = realloc(op->sample, (op->nsample + add) * sizeof(double));
	if (!p)
		return -1;
	memcpy(p + op->nsample, sqlite3_column_blob(st, 7),
	       add * sizeof(double));
	op->sample = p;
	op->nsample += add;
	return 0;
}

int history_baseline(struct pt_history *h, size_t n, struct pt_baseline *b,
		     char *err, size_t errlen)
{
	memset(b, 0, sizeof(*b));
	sqlite3_stmt *st;
	int runs = 0;
	if (pragma_int(h->db, "SELECT count(*) FROM runs", &runs) < 0)
		return fail(err, errlen, "cannot read the runs", h->db);
	if (!runs) {
		snprintf(err, errlen, "no runs recorded");
		return -1;
	}
	if ((size_t)runs > n)
		runs = (int)n;
	if (sqlite3_prepare_v2(h->db,
			       "SELECT key, mean, median, p95, p99, max, "
			       "iterations, sample FROM ops WHERE run IN "
			       "(SELECT id FROM runs ORDER BY id DESC LIMIT ?) "
			       "ORDER BY key",
			       -1, &st, NULL) != SQLITE_OK)
		return fail(err, errlen, "cannot read the runs", h->db);
	sqlite3_bind_int(st, 1, runs);
	int rc = SQLITE_DONE, oom = 0;
	size_t *nruns = NULL; /* per op: runs that have it */
	while (!oom && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		const char *key = (const char *)sqlite3_column_text(st, 0);
		if (!b->n || strcmp(b->ops[b->n - 1].key, key)) {
			void *p = realloc(b->ops, (b->n + 1) * sizeof(*b->ops));
			if (!p) {
				oom = 1;
				break;
			}
			b->ops = p;
			memset(&b->ops[b->n], 0, sizeof(*b->ops));
			if (!(p = realloc(nruns,
					  (b->n + 1) * sizeof(*nruns)))) {
				oom = 1;
				break;
			}
			nruns = p;
			nruns[b->n] = 0;
			if (!(b->ops[b->n].key = strdup(key))) {
				oom = 1;
				break;
			}
			b->n++;
		}
		oom = pool_row(&b->ops[b->n - 1], st) < 0;
		nruns[b->n - 1]++;
	}
	sqlite3_finalize(st);
	/* An operation missing from some runs averages over those that
	 * have it. */
	for (size_t i = 0; !oom && i < b->n; i++)
		for (int g = 0; g < PT_BA_COUNT; g++)
			b->ops[i].v[g] /= (double)nruns[i];
	free(nruns);
	if (!oom && rc != SQLITE_DONE && rc != SQLITE_ROW) {
		baseline_free(b);
		return fail(err, errlen, "read", h->db);
	}
	if (oom) {
		baseline_free(b);
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	return 0;
}
