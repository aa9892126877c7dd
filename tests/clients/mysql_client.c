/*
 * mysql_client.c -- a libmariadb client for the capture tests: real
 * workloads whose statement counts MariaDB itself keeps (Questions,
 * Com_*), each operation timed around its API calls (oplog.h).
 *
 *   mysql_client tcp|unix text N       N x (INSERT, SELECT by id, UPDATE)
 *   mysql_client tcp|unix prepared N   the same through server-side
 *                                      prepared statements
 *   mysql_client tcp|unix multi N      N multi-statement queries of 3
 *   mysql_client tcp|unix blob20m      a 20 MiB LONGBLOB written through a
 *                                      prepared statement and read back
 *   mysql_client tcp|unix errors       failing statements, then a good one
 *   mysql_client tcp|unix threads16 N  16 threads, one connection each,
 *                                      N x (INSERT, SELECT) per thread
 *   mysql_client tcp|unix compress N   text over MYSQL_OPT_COMPRESS
 *   mysql_client tcp|unix nonblock N   own connection, MYSQL_OPT_NONBLOCK:
 *                                      N x SELECT through the _start/_cont
 *                                      calls, waiting in poll()
 *   mysql_client tcp|unix slowfetch N  one SELECT of N rows read with
 *                                      mysql_use_result, 1 ms per row;
 *                                      stdout: the time from the query's
 *                                      return to the last row's
 *
 * Server from PERFTAP_MYSQL_HOST, _PORT, _SOCKET, _USER, _PASSWORD, _DB.
 * stdout: results only (the same with and without the shim); stderr: the
 * operation log.  Exit 0 when every result was as expected.
 */
#include <errno.h>
#include <mysql.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "oplog.h"

#define THREADS	   16
#define BLOB_BYTES (20u * 1024 * 1024)

static int use_unix;
static int use_compress;

static const char *env_or(const char *name, const char *dflt)
{
	const char *v = getenv(name);
	return v && *v ? v : dflt;
}

static MYSQL *db_connect(unsigned long flags)
{
	MYSQL *m = mysql_init(NULL);
	if (!m)
		return NULL;
	const char *host = env_or("PERFTAP_MYSQL_HOST", "127.0.0.1");
	unsigned port = (unsigned)atoi(env_or("PERFTAP_MYSQL_PORT", "3306"));
	const char *sock = NULL;
	if (use_unix) {
		host = "localhost";
		sock =
		    env_or("PERFTAP_MYSQL_SOCKET", "/run/mysqld/mysqld.sock");
		port = 0;
	}
	unsigned proto = use_unix ? MYSQL_PROTOCOL_SOCKET : MYSQL_PROTOCOL_TCP;
	mysql_optionsv(m, MYSQL_OPT_PROTOCOL, &proto);
	unsigned long maxp = 64ul * 1024 * 1024;
	mysql_optionsv(m, MYSQL_OPT_MAX_ALLOWED_PACKET, &maxp);
	if (use_compress)
		mysql_optionsv(m, MYSQL_OPT_COMPRESS, NULL);
	uint64_t t = oplog_now();
	MYSQL *ok = mysql_real_connect(
	    m, host, env_or("PERFTAP_MYSQL_USER", "root"),
	    env_or("PERFTAP_MYSQL_PASSWORD", ""),
	    env_or("PERFTAP_MYSQL_DB", "test"), port, sock, flags);
	oplog_add("connect", t);
	if (!ok) {
		fprintf(stderr, "connect: %s\n", mysql_error(m));
		mysql_close(m);
		return NULL;
	}
	return m;
}

/* One text statement, its result (if any) read and freed: one operation.
 * Returns the error number (0 = ok); *rows gets rows read or affected. */
static unsigned query(MYSQL *m, const char *name, const char *sql,
		      unsigned long long *rows)
{
	uint64_t t = oplog_now();
	unsigned err = 0;
	unsigned long long n = 0;
	if (mysql_real_query(m, sql, strlen(sql)) != 0) {
		err = mysql_errno(m);
	} else {
		MYSQL_RES *res = mysql_store_result(m);
		if (res) {
			n = mysql_num_rows(res);
			mysql_free_result(res);
		} else if (mysql_field_count(m) == 0) {
			n = mysql_affected_rows(m);
		} else {
			err = mysql_errno(m);
		}
	}
	oplog_add(name, t);
	if (rows)
		*rows = n;
	return err;
}

static int must(MYSQL *m, const char *name, const char *sql)
{
	unsigned e = query(m, name, sql, NULL);
	if (e)
		printf("%s failed: %u\n", name, e);
	return e ? 1 : 0;
}

static int setup_table(MYSQL *m, const char *table, const char *cols)
{
	char sql[256];
	snprintf(sql, sizeof(sql), "DROP TABLE IF EXISTS %s", table);
	int rc = must(m, "drop", sql);
	snprintf(sql, sizeof(sql), "CREATE TABLE %s (%s)", table, cols);
	return rc | must(m, "create", sql);
}

static int do_text(MYSQL *m, int n)
{
	char sql[256];
	unsigned long long rows, sel = 0, upd = 0;
	int rc = setup_table(m, "capc_text", "id INT PRIMARY KEY, v TEXT");
	for (int i = 0; i < n && !rc; i++) {
		snprintf(sql, sizeof(sql),
			 "INSERT INTO capc_text VALUES (%d, REPEAT('v', %d))",
			 i, i * 37);
		rc |= must(m, "insert", sql);
		snprintf(sql, sizeof(sql),
			 "SELECT v FROM capc_text WHERE id = %d", i);
		rc |= query(m, "select", sql, &rows) != 0;
		sel += rows;
		snprintf(sql, sizeof(sql),
			 "UPDATE capc_text SET v = 'x' WHERE id = %d", i);
		rc |= query(m, "update", sql, &rows) != 0;
		upd += rows;
	}
	rc |= query(m, "delete", "DELETE FROM capc_text", &rows) != 0;
	printf("text: selected %llu updated %llu deleted %llu\n", sel, upd,
	       rows);
	return rc;
}

static int do_prepared(MYSQL *m, int n)
{
	int rc = setup_table(m, "capc_prep", "id INT PRIMARY KEY, v INT");
	const char *ins = "INSERT INTO capc_prep VALUES (?, ?)";
	const char *sel = "SELECT v FROM capc_prep WHERE id = ?";
	MYSQL_STMT *si = mysql_stmt_init(m), *ss = mysql_stmt_init(m);
	uint64_t t = oplog_now();
	rc |= mysql_stmt_prepare(si, ins, strlen(ins)) != 0;
	oplog_add("prepare", t);
	t = oplog_now();
	rc |= mysql_stmt_prepare(ss, sel, strlen(sel)) != 0;
	oplog_add("prepare", t);
	if (rc) {
		printf("prepare failed: %s\n", mysql_error(m));
		return 1;
	}
	int id = 0, v = 0, out = 0;
	long long sum = 0;
	MYSQL_BIND pb[2], ob[1];
	memset(pb, 0, sizeof(pb));
	memset(ob, 0, sizeof(ob));
	pb[0].buffer_type = pb[1].buffer_type = MYSQL_TYPE_LONG;
	pb[0].buffer = &id;
	pb[1].buffer = &v;
	ob[0].buffer_type = MYSQL_TYPE_LONG;
	ob[0].buffer = &out;
	rc |= mysql_stmt_bind_param(si, pb) != 0;
	rc |= mysql_stmt_bind_param(ss, pb) != 0;
	rc |= mysql_stmt_bind_result(ss, ob) != 0;
	for (int i = 0; i < n && !rc; i++) {
		id = i;
		v = i * 3;
		t = oplog_now();
		rc |= mysql_stmt_execute(si) != 0;
		oplog_add("execute", t);
		t = oplog_now();
		rc |= mysql_stmt_execute(ss) != 0;
		rc |= mysql_stmt_store_result(ss) != 0;
		while (!rc && mysql_stmt_fetch(ss) == 0)
			sum += out;
		mysql_stmt_free_result(ss);
		oplog_add("execute", t);
	}
	if (rc)
		printf("execute failed: %s\n", mysql_error(m));
	mysql_stmt_close(si); /* COM_STMT_CLOSE: no reply */
	mysql_stmt_close(ss);
	unsigned long long rows;
	rc |= query(m, "delete", "DELETE FROM capc_prep", &rows) != 0;
	printf("prepared: sum %lld deleted %llu\n", sum, rows);
	return rc;
}

/* One multi-statement query and all its results: one operation. */
static int do_multi(MYSQL *m, int n)
{
	int rc = setup_table(m, "capc_multi", "id INT PRIMARY KEY, v INT");
	char sql[256];
	unsigned long long results = 0;
	for (int i = 0; i < n && !rc; i++) {
		snprintf(sql, sizeof(sql),
			 "INSERT INTO capc_multi VALUES (%d, %d); "
			 "SELECT v FROM capc_multi WHERE id = %d; "
			 "UPDATE capc_multi SET v = v + 1 WHERE id = %d",
			 i, i, i, i);
		uint64_t t = oplog_now();
		if (mysql_real_query(m, sql, strlen(sql)) != 0) {
			rc = 1;
		} else {
			int status;
			do {
				MYSQL_RES *res = mysql_store_result(m);
				if (res)
					mysql_free_result(res);
				results++;
				status = mysql_next_result(m);
			} while (status == 0);
			rc |= status > 0;
		}
		oplog_add("multi", t);
	}
	if (rc)
		printf("multi failed: %s\n", mysql_error(m));
	rc |= must(m, "delete", "DELETE FROM capc_multi");
	printf("multi: results %llu\n", results);
	return rc;
}

static int do_blob(MYSQL *m)
{
	int rc = setup_table(m, "capc_blob", "id INT PRIMARY KEY, b LONGBLOB");
	char *blob = malloc(BLOB_BYTES);
	if (!blob)
		return 1;
	uint32_t x = 12345, sum_out = 0, sum_in = 0;
	for (size_t i = 0; i < BLOB_BYTES; i++) {
		x = x * 1103515245u + 12345u;
		blob[i] = (char)(x >> 16);
		sum_out = sum_out * 31 + (uint8_t)blob[i];
	}
	const char *ins = "INSERT INTO capc_blob VALUES (1, ?)";
	MYSQL_STMT *st = mysql_stmt_init(m);
	uint64_t t = oplog_now();
	rc |= mysql_stmt_prepare(st, ins, strlen(ins)) != 0;
	oplog_add("prepare", t);
	MYSQL_BIND b;
	memset(&b, 0, sizeof(b));
	unsigned long len = BLOB_BYTES;
	b.buffer_type = MYSQL_TYPE_LONG_BLOB;
	b.buffer = blob;
	b.buffer_length = BLOB_BYTES;
	b.length = &len;
	rc |= mysql_stmt_bind_param(st, &b) != 0;
	t = oplog_now();
	rc |= mysql_stmt_execute(st) != 0;
	oplog_add("execute", t);
	if (rc)
		printf("blob insert failed: %s\n", mysql_error(m));
	mysql_stmt_close(st);
	memset(blob, 0, BLOB_BYTES);

	const char *sel = "SELECT b FROM capc_blob WHERE id = 1";
	size_t got = 0;
	t = oplog_now();
	if (mysql_real_query(m, sel, strlen(sel)) == 0) {
		MYSQL_RES *res = mysql_store_result(m);
		MYSQL_ROW row = res ? mysql_fetch_row(res) : NULL;
		unsigned long *lens = row ? mysql_fetch_lengths(res) : NULL;
		if (lens) {
			got = lens[0];
			for (size_t i = 0; i < got; i++)
				sum_in = sum_in * 31 + (uint8_t)row[0][i];
		}
		if (res)
			mysql_free_result(res);
	}
	oplog_add("select", t);
	free(blob);
	rc |= must(m, "drop", "DROP TABLE capc_blob");
	printf("blob: sent %u got %zu same %d\n", BLOB_BYTES, got,
	       got == BLOB_BYTES && sum_in == sum_out);
	return rc || got != BLOB_BYTES || sum_in != sum_out;
}

static int do_errors(MYSQL *m)
{
	int rc = setup_table(m, "capc_err", "id INT PRIMARY KEY");
	rc |= must(m, "insert", "INSERT INTO capc_err VALUES (1)");
	printf("syntax: %u\n", query(m, "bad", "SELEC 1", NULL));
	printf("no table: %u\n",
	       query(m, "select", "SELECT * FROM capc_no_such_table", NULL));
	printf("duplicate: %u\n",
	       query(m, "insert", "INSERT INTO capc_err VALUES (1)", NULL));
	printf("unknown column: %u\n",
	       query(m, "select", "SELECT nope FROM capc_err", NULL));
	MYSQL_STMT *st = mysql_stmt_init(m);
	const char *bad = "SELECT * FROM capc_no_such_table WHERE id = ?";
	uint64_t t = oplog_now();
	int prc = mysql_stmt_prepare(st, bad, strlen(bad));
	oplog_add("prepare", t);
	printf("prepare no table: %d %u\n", prc != 0, mysql_stmt_errno(st));
	mysql_stmt_close(st);
	unsigned long long rows;
	rc |= query(m, "select", "SELECT id FROM capc_err", &rows) != 0;
	printf("after errors: rows %llu\n", rows);
	rc |= must(m, "drop", "DROP TABLE capc_err");
	return rc;
}

/* N rows through mysql_use_result, the program slow at each row. */
static int do_slowfetch(MYSQL *m, int n)
{
	char sql[128];
	snprintf(sql, sizeof(sql), "SELECT seq FROM seq_1_to_%d", n);
	uint64_t t = oplog_now();
	if (mysql_real_query(m, sql, strlen(sql)) != 0)
		return 1;
	uint64_t t_sent = oplog_now();
	MYSQL_RES *res = mysql_use_result(m);
	if (!res)
		return 1;
	int rows = 0;
	uint64_t t_last = t_sent;
	struct timespec ms = {0, 1000000};
	while (mysql_fetch_row(res)) {
		t_last = oplog_now();
		rows++;
		nanosleep(&ms, NULL);
	}
	mysql_free_result(res);
	oplog_add("slowfetch", t);
	printf("slowfetch: rows %d to_last_row_ns %llu\n", rows,
	       (unsigned long long)(t_last - t_sent));
	return rows != n;
}

/* Wait for what a _start/_cont call asked for (MYSQL_WAIT_*). */
static int nb_wait(MYSQL *m, int status)
{
	struct pollfd p = {.fd = mysql_get_socket(m)};
	if (status & MYSQL_WAIT_READ)
		p.events |= POLLIN;
	if (status & MYSQL_WAIT_WRITE)
		p.events |= POLLOUT;
	if (status & MYSQL_WAIT_EXCEPT)
		p.events |= POLLPRI;
	int n = poll(&p, 1, 10000);
	int r = 0;
	if (n == 0)
		return MYSQL_WAIT_TIMEOUT;
	if (p.revents & POLLIN)
		r |= MYSQL_WAIT_READ;
	if (p.revents & POLLOUT)
		r |= MYSQL_WAIT_WRITE;
	if (p.revents & POLLPRI)
		r |= MYSQL_WAIT_EXCEPT;
	return r ? r : MYSQL_WAIT_READ;
}

static int do_nonblock(int n)
{
	MYSQL *m = mysql_init(NULL);
	MYSQL *ret = NULL;
	mysql_options(m, MYSQL_OPT_NONBLOCK, 0);
	unsigned proto = use_unix ? MYSQL_PROTOCOL_SOCKET : MYSQL_PROTOCOL_TCP;
	mysql_optionsv(m, MYSQL_OPT_PROTOCOL, &proto);
	uint64_t t = oplog_now();
	int st = mysql_real_connect_start(
	    &ret, m,
	    use_unix ? "localhost" : env_or("PERFTAP_MYSQL_HOST", "127.0.0.1"),
	    env_or("PERFTAP_MYSQL_USER", "root"),
	    env_or("PERFTAP_MYSQL_PASSWORD", ""),
	    env_or("PERFTAP_MYSQL_DB", "test"),
	    use_unix ? 0 : (unsigned)atoi(env_or("PERFTAP_MYSQL_PORT", "3306")),
	    use_unix ? env_or("PERFTAP_MYSQL_SOCKET", "/run/mysqld/mysqld.sock")
		     : NULL,
	    0);
	while (st)
		st = mysql_real_connect_cont(&ret, m, nb_wait(m, st));
	oplog_add("connect", t);
	if (!ret)
		return 1;
	int rows = 0;
	for (int i = 0; i < n; i++) {
		char sql[64];
		snprintf(sql, sizeof(sql), "SELECT %d", i);
		int err = 0;
		t = oplog_now();
		st = mysql_real_query_start(&err, m, sql, strlen(sql));
		while (st)
			st = mysql_real_query_cont(&err, m, nb_wait(m, st));
		if (err)
			return 1;
		MYSQL_RES *res = NULL;
		st = mysql_store_result_start(&res, m);
		while (st)
			st = mysql_store_result_cont(&res, m, nb_wait(m, st));
		oplog_add("select", t);
		if (!res)
			return 1;
		rows += (int)mysql_num_rows(res);
		mysql_free_result(res);
	}
	t = oplog_now();
	st = mysql_close_start(m);
	while (st)
		st = mysql_close_cont(m, nb_wait(m, st));
	oplog_add("close", t);
	printf("nonblock: rows %d\n", rows);
	return rows != n;
}

struct worker {
	int index, n, rc;
};

static void *thread_main(void *arg)
{
	struct worker *w = arg;
	mysql_thread_init();
	MYSQL *m = db_connect(0);
	if (!m) {
		w->rc = 1;
		mysql_thread_end();
		return NULL;
	}
	char sql[256];
	unsigned long long rows, sel = 0;
	for (int i = 0; i < w->n && !w->rc; i++) {
		int id = w->index * 100000 + i;
		snprintf(sql, sizeof(sql),
			 "INSERT INTO capc_thr VALUES (%d, %d)", id, i);
		w->rc |= query(m, "insert", sql, NULL) != 0;
		snprintf(sql, sizeof(sql),
			 "SELECT v FROM capc_thr WHERE id = %d", id);
		w->rc |= query(m, "select", sql, &rows) != 0;
		sel += rows;
	}
	w->rc |= sel != (unsigned long long)w->n;
	mysql_close(m);
	mysql_thread_end();
	return NULL;
}

static int do_threads(MYSQL *m, int n)
{
	int rc = setup_table(m, "capc_thr", "id INT PRIMARY KEY, v INT");
	pthread_t th[THREADS];
	struct worker w[THREADS];
	for (int i = 0; i < THREADS; i++) {
		w[i] = (struct worker){.index = i, .n = n};
		if (pthread_create(&th[i], NULL, thread_main, &w[i]) != 0)
			return 1;
	}
	for (int i = 0; i < THREADS; i++) {
		pthread_join(th[i], NULL);
		rc |= w[i].rc;
	}
	unsigned long long rows;
	rc |= query(m, "select", "SELECT COUNT(*) FROM capc_thr", &rows) != 0;
	rc |= must(m, "drop", "DROP TABLE capc_thr");
	printf("threads: %d ok %d\n", THREADS, !rc);
	return rc;
}

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc < 3) {
		fprintf(stderr, "usage: mysql_client tcp|unix WORKLOAD [N]\n");
		return 2;
	}
	use_unix = !strcmp(argv[1], "unix");
	const char *what = argv[2];
	use_compress = !strcmp(what, "compress");
	int n = argc > 3 ? atoi(argv[3]) : 10;
	if (mysql_library_init(0, NULL, NULL))
		return 2;
	MYSQL *m =
	    db_connect(!strcmp(what, "multi") ? CLIENT_MULTI_STATEMENTS : 0);
	if (!m)
		return 3;
	int rc;
	if (!strcmp(what, "text") || use_compress)
		rc = do_text(m, n);
	else if (!strcmp(what, "prepared"))
		rc = do_prepared(m, n);
	else if (!strcmp(what, "multi"))
		rc = do_multi(m, n);
	else if (!strcmp(what, "blob20m"))
		rc = do_blob(m);
	else if (!strcmp(what, "errors"))
		rc = do_errors(m);
	else if (!strcmp(what, "threads16"))
		rc = do_threads(m, n);
	else if (!strcmp(what, "nonblock"))
		rc = do_nonblock(n);
	else if (!strcmp(what, "slowfetch"))
		rc = do_slowfetch(m, n);
	else
		rc = 2;
	mysql_close(m);
	mysql_library_end();
	oplog_print();
	return rc;
}
