/*
 * bench_api_mysql.c -- per-event cost of the libmysqlclient API path
 * (api_mysql.c): what the hooks add around one text query and its stored
 * result (the connection lookup, two clock reads, the fingerprint, the
 * result bookkeeping, the real writer into a real dump), with the
 * library's accessors stubbed (no server: the figure is the shim's own
 * work, to set beside bench_event's socket-path figures and bench_api's
 * SQLite ones).
 *
 * usage: bench_api_mysql [--iterations N] [--repeat R]
 *
 * Prints, like bench_api:
 *   mysql events=E ns_per_event median=M min=A max=B plain_ns=0
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "api_mysql.h"
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
static void take(int fd)
{
	(void)fd;
}

/* Stubs with the accessors' types: a one-row result set. */
static unsigned one(void *p)
{
	(void)p;
	return 1;
}
static unsigned zero(void *p)
{
	(void)p;
	return 0;
}
static unsigned long long one_ll(void *p)
{
	(void)p;
	return 1;
}
static char no(void *p)
{
	(void)p;
	return 0;
}
static int sock(void *p)
{
	(void)p;
	return 7;
}
static const char *ver(void *p)
{
	(void)p;
	return "10.11-bench";
}
static const char *no_tls(void *p)
{
	(void)p;
	return NULL;
}
static unsigned long tid(void *p)
{
	(void)p;
	return 1;
}

static double run(void *mysql, uint64_t n)
{
	static const char sql[] = "SELECT v FROM t WHERE id = 42";
	static int res_obj;
	uint64_t t0 = now_ns();
	for (uint64_t i = 0; i < n; i++) {
		void *c = api_mysql_enter(mysql);
		uint64_t a = now_ns();
		uint64_t b = now_ns();
		api_mysql_query(c, sql, sizeof(sql) - 1, 0, 0, a, b);
		api_mysql_store(c, &res_obj, now_ns());
		api_mysql_leave(c);
	}
	return (double)(now_ns() - t0) / (double)n;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
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
			fprintf(stderr, "usage: bench_api_mysql [--iterations "
					"N] [--repeat R]\n");
			return 2;
		}
	}
	if (iters == 0 || repeat < 1 || repeat > 100)
		return 2;
	char dir[] = "/tmp/bench_api_mysql.XXXXXX";
	if (!mkdtemp(dir)) {
		perror("bench_api_mysql: mkdtemp");
		return 1;
	}
	struct pt_mysql_fns fns = {
	    .field_count = one,
	    .affected_rows = one_ll,
	    .num_rows = one_ll,
	    .err = zero,
	    .more_results = no,
	    .get_socket = sock,
	    .server_info = ver,
	    .thread_id = tid,
	    .stmt_field_count = one,
	    .stmt_affected_rows = one_ll,
	    .stmt_num_rows = one_ll,
	    .stmt_err = zero,
	    .ssl_cipher = no_tls,
	};
	struct pt_api_out out = {on_event, on_conn, on_drop, on_id, 0, 0};
	api_mysql_init(&fns, &out, take);
	static int mysql_obj;
	double extra[100];
	for (int r = 0; r < repeat; r++) {
		struct pt_writer_config wc = {.dir = dir,
					      .name_hint = "bench_api_mysql"};
		if (pt_writer_open(&w, &wc) < 0) {
			fprintf(stderr,
				"bench_api_mysql: cannot open a dump\n");
			return 1;
		}
		pt_writer_cursor_init(&cur, (uint32_t)getpid());
		api_mysql_reset_all();
		struct pt_peer peer = {0};
		void *c = api_mysql_connect_begin(&mysql_obj);
		api_mysql_connect_end(c, 1, now_ns(), now_ns(), 7, &peer);
		events = 0;
		extra[r] = run(&mysql_obj, iters);
		pt_writer_cursor_release(&w, &cur);
		unlink(w.path);
		pt_writer_close(&w);
		if (events != iters) {
			fprintf(stderr,
				"bench_api_mysql: %llu events for %llu\n",
				(unsigned long long)events,
				(unsigned long long)iters);
			return 1;
		}
	}
	qsort(extra, (size_t)repeat, sizeof(extra[0]), cmp_double);
	printf("mysql events=%llu ns_per_event median=%.1f min=%.1f max=%.1f "
	       "plain_ns=0\n",
	       (unsigned long long)iters, extra[repeat / 2], extra[0],
	       extra[repeat - 1]);
	rmdir(dir);
	return 0;
}
