/*
 * bench_event.c -- per-event cost of the shim's work on a tracked
 * connection: realistic byte streams of each protocol fed through the
 * decoder (which fingerprints / patterns / routes the text) and a sink that
 * writes each operation into a real dump with the real writer, exactly as
 * shim/preload.c's sink does.  Hooks, fd lookup and the clock are not in
 * the loop unless --clock is given (then two clock reads per operation, as
 * the shim does: one per send, one per receive).
 *
 * usage: bench_event [--iterations N] [--repeat R] [--clock]
 *                    [redis|mysql|http|all]
 *
 * Prints one line per protocol:
 *   PROTO events=E ns_per_event median=M min=A max=B
 * (median, min, max over R repeats, each a fresh decoder and dump).  For
 * instructions per event run it under valgrind --tool=callgrind with two
 * iteration counts and divide the difference (scripts/bench.sh does), so
 * that set-up cost cancels out.
 *
 * The streams (built here, byte-exact protocol):
 *   redis  GET fir:record:FIR-<hex>-<date> -> a 180-byte bulk reply
 *   mysql  COM_QUERY "SELECT ... FROM fir_records WHERE fir_number = 'FIR-
 *          ...'" -> 4 column definitions, 1 text row, OK (DEPRECATE_EOF,
 *          as MariaDB 10.11 with libmariadb)
 *   http   (server side, as uvicorn) GET /fir/FIR-... with 5 headers ->
 *          200 with a 160-byte JSON body
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "op_event.h"
#include "proto_http.h"
#include "proto_mysql.h"
#include "proto_redis.h"
#include "writer.h"

#include "../tests/wire/mysql_wire.h"

/* Distinct literals per stream: ids differ from event to event, as in real
 * traffic, while the normalized text stays the same. */
#define VARIANTS 16

/* ---- the streams ---------------------------------------------------- */

struct stream {
	struct buf setup_in, setup_out, setup_in2; /* MySQL login */
	struct buf req[VARIANTS], rep[VARIANTS];
	enum pt_dir req_dir, rep_dir;
};

static void fir_id(char *out, size_t cap, int v)
{
	snprintf(out, cap, "FIR-%08x-2026011509%04d", 0x1a2b3c4du + v * 7919,
		 1000 + v);
}

static void redis_streams(struct stream *s)
{
	static const char json[] =
	    "{\"fir_number\":\"%s\",\"status\":\"finalized\",\"user_id\":"
	    "\"u-4711\",\"created_at\":\"2026-01-15T09:30:00Z\",\"sections\":"
	    "[\"379\",\"411\"],\"police_station\":\"PS Central\"}";
	s->req_dir = PT_DIR_OUT;
	s->rep_dir = PT_DIR_IN;
	for (int v = 0; v < VARIANTS; v++) {
		char id[64], key[96], val[512], line[640];
		fir_id(id, sizeof(id), v);
		snprintf(key, sizeof(key), "fir:record:%s", id);
		snprintf(line, sizeof(line),
			 "*2\r\n$3\r\nGET\r\n$%zu\r\n%s\r\n", strlen(key), key);
		put_str(&s->req[v], line);
		snprintf(val, sizeof(val), json, id);
		snprintf(line, sizeof(line), "$%zu\r\n%s\r\n", strlen(val),
			 val);
		put_str(&s->rep[v], line);
	}
}

#define CLIENT_MYSQL	     (1u << 0)
#define CLIENT_LOCAL_FILES   (1u << 7)
#define CLIENT_PROTOCOL_41   (1u << 9)
#define CLIENT_SECURE_CONN   (1u << 15)
#define CLIENT_MULTI_RESULTS (1u << 17)
#define CLIENT_PLUGIN_AUTH   (1u << 19)
#define CLIENT_DEPRECATE_EOF (1u << 24)
#define MYSQL_CAPS                                                             \
	(CLIENT_MYSQL | CLIENT_LOCAL_FILES | CLIENT_PROTOCOL_41 |              \
	 CLIENT_SECURE_CONN | CLIENT_MULTI_RESULTS | CLIENT_PLUGIN_AUTH |      \
	 CLIENT_DEPRECATE_EOF)

static void mysql_login(struct stream *s)
{
	static const char salt[] = "SALTSALTSALTSALTSALT";
	struct buf b = {0};
	put8(&b, 10);
	put(&b, "10.11.6-MariaDB-0+deb12u1", 26);
	put32(&b, 42);
	put(&b, salt, 8);
	put8(&b, 0);
	put16(&b, MYSQL_CAPS & 0xffff);
	put8(&b, 33);
	put16(&b, 2);
	put16(&b, MYSQL_CAPS >> 16);
	put8(&b, 21);
	for (int i = 0; i < 6; i++)
		put8(&b, 0);
	put32(&b, 0);
	put(&b, salt + 8, 13);
	put(&b, "mysql_native_password", 22);
	packet(&s->setup_in, 0, &b);

	b.n = 0;
	put32(&b, MYSQL_CAPS);
	put32(&b, 1u << 24);
	put8(&b, 33);
	for (int i = 0; i < 19; i++)
		put8(&b, 0);
	put32(&b, 0);
	put(&b, "afirgen", 8);
	put8(&b, 20);
	put(&b, "01234567890123456789", 20);
	put(&b, "mysql_native_password", 22);
	packet(&s->setup_out, 1, &b);

	b.n = 0; /* OK */
	put8(&b, 0);
	put8(&b, 0);
	put8(&b, 0);
	put16(&b, 2);
	put16(&b, 0);
	packet(&s->setup_in2, 2, &b);
}

static void mysql_coldef(struct buf *o, uint8_t seq, const char *name)
{
	struct buf b = {0};
	put_lenstr(&b, "def");
	put_lenstr(&b, "afirgen");
	put_lenstr(&b, "fir_records");
	put_lenstr(&b, "fir_records");
	put_lenstr(&b, name);
	put_lenstr(&b, name);
	put8(&b, 0x0c);
	put16(&b, 33);
	put32(&b, 1020);
	put8(&b, 253);
	put16(&b, 0);
	put8(&b, 0);
	put16(&b, 0);
	packet(o, seq, &b);
}

static void mysql_streams(struct stream *s)
{
	static const char *const cols[] = {"id", "fir_number", "status",
					   "created_at"};
	s->req_dir = PT_DIR_OUT;
	s->rep_dir = PT_DIR_IN;
	mysql_login(s);
	for (int v = 0; v < VARIANTS; v++) {
		char id[64], sql[512];
		fir_id(id, sizeof(id), v);
		snprintf(sql, sizeof(sql),
			 "SELECT id, fir_number, status, created_at FROM "
			 "fir_records WHERE fir_number = '%s'",
			 id);
		struct buf b = {0};
		put8(&b, 0x03); /* COM_QUERY */
		put_str(&b, sql);
		packet(&s->req[v], 0, &b);

		struct buf *o = &s->rep[v];
		b.n = 0;
		put8(&b, 4); /* column count */
		packet(o, 1, &b);
		for (int c = 0; c < 4; c++)
			mysql_coldef(o, (uint8_t)(2 + c), cols[c]);
		b.n = 0; /* one text row */
		char num[16];
		snprintf(num, sizeof(num), "%d", 1000 + v);
		put_lenstr(&b, num);
		put_lenstr(&b, id);
		put_lenstr(&b, "finalized");
		put_lenstr(&b, "2026-01-15 09:30:00");
		packet(o, 6, &b);
		b.n = 0; /* OK with 0xFE header ends the result set */
		put8(&b, 0xfe);
		put8(&b, 0);
		put8(&b, 0);
		put16(&b, 2);
		put16(&b, 0);
		packet(o, 7, &b);
	}
}

static void http_streams(struct stream *s)
{
	static const char body[] =
	    "{\"fir_number\":\"%s\",\"status\":\"finalized\",\"user_id\":"
	    "\"u-4711\",\"created_at\":\"2026-01-15T09:30:00Z\","
	    "\"sections\":[\"379\",\"411\"]}";
	s->req_dir = PT_DIR_IN; /* server side */
	s->rep_dir = PT_DIR_OUT;
	for (int v = 0; v < VARIANTS; v++) {
		char id[64], line[1024], js[512];
		fir_id(id, sizeof(id), v);
		snprintf(line, sizeof(line),
			 "GET /fir/%s HTTP/1.1\r\nHost: 127.0.0.1:8000\r\n"
			 "User-Agent: python-httpx/0.26.0\r\nAccept: */*\r\n"
			 "Accept-Encoding: gzip, deflate\r\n"
			 "Connection: keep-alive\r\n\r\n",
			 id);
		put_str(&s->req[v], line);
		snprintf(js, sizeof(js), body, id);
		snprintf(line, sizeof(line),
			 "HTTP/1.1 200 OK\r\ndate: Thu, 15 Jan 2026 09:30:00 "
			 "GMT\r\nserver: uvicorn\r\ncontent-length: %zu\r\n"
			 "content-type: application/json\r\n\r\n%s",
			 strlen(js), js);
		put_str(&s->rep[v], line);
	}
}

/* ---- the sink: as shim/preload.c's sink_op ---------------------------- */

struct bench {
	struct pt_writer w;
	struct pt_writer_cursor cur;
	uint64_t events;
	uint64_t dropped;
};

static void sink_op(void *arg, const struct pt_op *op)
{
	struct bench *b = arg;
	struct pt_event ev = pt_op_to_event(op, 1);
	b->events++;
	if (pt_writer_emit_event(&b->w, &b->cur, &ev) < 0)
		b->dropped++;
}

/* ---- the loop ----------------------------------------------------- */

enum proto_id { P_REDIS, P_MYSQL, P_HTTP, P_COUNT };
static const char *const proto_names[P_COUNT] = {"redis", "mysql", "http"};

union decoder {
	struct proto_redis redis;
	struct proto_mysql mysql;
	struct proto_http http;
};

static union decoder dec; /* ~48 KiB: not on the stack */
static struct bench bench;

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static enum pt_feed_status feed(enum proto_id p, enum pt_dir d,
				const struct buf *b, uint64_t t)
{
	switch (p) {
	case P_REDIS:
		return proto_redis_feed(&dec.redis, d, b->p, b->n, t);
	case P_MYSQL:
		return proto_mysql_feed(&dec.mysql, d, b->p, b->n, t);
	default:
		return proto_http_feed(&dec.http, d, b->p, b->n, t);
	}
}

/* One repeat: fresh dump, fresh decoder, n operations.  Returns ns per
 * event, or a negative number on failure. */
static double run_once(enum proto_id p, const struct stream *s, uint64_t n,
		       int with_clock, const char *dir)
{
	static const struct pt_sink sink = {sink_op, NULL, &bench};
	struct pt_writer_config wc = {.dir = dir, .name_hint = "bench_event"};
	memset(&bench, 0, sizeof(bench));
	int rc = pt_writer_open(&bench.w, &wc);
	if (rc < 0) {
		fprintf(stderr, "bench_event: %s: %s\n", dir, strerror(-rc));
		return -1;
	}
	pt_writer_cursor_init(&bench.cur, (uint32_t)getpid());
	struct pt_sink sk = sink;
	sk.arg = &bench;
	if (p == P_REDIS)
		proto_redis_init(&dec.redis, NULL, &sk);
	else if (p == P_MYSQL)
		proto_mysql_init(&dec.mysql, NULL, &sk);
	else
		proto_http_init(&dec.http, PT_ROLE_SERVER, NULL, &sk);
	uint64_t t = 1000;
	if (p == P_MYSQL) {
		feed(p, PT_DIR_IN, &s->setup_in, t++);
		feed(p, PT_DIR_OUT, &s->setup_out, t++);
		feed(p, PT_DIR_IN, &s->setup_in2, t++);
	}
	uint64_t t0 = now_ns();
	for (uint64_t i = 0; i < n; i++) {
		int v = (int)(i % VARIANTS);
		uint64_t a = with_clock ? now_ns() : t;
		feed(p, s->req_dir, &s->req[v], a);
		uint64_t z = with_clock ? now_ns() : t + 20000;
		feed(p, s->rep_dir, &s->rep[v], z);
		t += 40000;
	}
	uint64_t t1 = now_ns();
	uint64_t events = bench.events, dropped = bench.dropped;
	pt_writer_cursor_release(&bench.w, &bench.cur);
	char path[sizeof(bench.w.path)];
	memcpy(path, bench.w.path, sizeof(path));
	pt_writer_close(&bench.w);
	unlink(path);
	if (events != n) {
		fprintf(stderr, "bench_event: %s: %llu events for %llu ops\n",
			proto_names[p], (unsigned long long)events,
			(unsigned long long)n);
		return -1;
	}
	if (dropped)
		fprintf(stderr, "bench_event: %s: %llu events dropped\n",
			proto_names[p], (unsigned long long)dropped);
	return (double)(t1 - t0) / (double)n;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
	uint64_t iters = 1000000;
	int repeat = 5, with_clock = 0;
	const char *which = "all";
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--iterations") && i + 1 < argc)
			iters = strtoull(argv[++i], NULL, 10);
		else if (!strcmp(argv[i], "--repeat") && i + 1 < argc)
			repeat = atoi(argv[++i]);
		else if (!strcmp(argv[i], "--clock"))
			with_clock = 1;
		else if (argv[i][0] != '-')
			which = argv[i];
		else {
			fprintf(stderr, "usage: bench_event [--iterations N] "
					"[--repeat R] [--clock] "
					"[redis|mysql|http|all]\n");
			return 2;
		}
	}
	if (iters == 0 || repeat < 1 || repeat > 100)
		return 2;
	char dir[] = "/tmp/bench_event.XXXXXX";
	if (!mkdtemp(dir)) {
		perror("bench_event: mkdtemp");
		return 1;
	}
	static struct stream streams[P_COUNT];
	redis_streams(&streams[P_REDIS]);
	mysql_streams(&streams[P_MYSQL]);
	http_streams(&streams[P_HTTP]);
	int status = 0;
	for (int p = 0; p < P_COUNT; p++) {
		if (strcmp(which, "all") && strcmp(which, proto_names[p]))
			continue;
		double ns[100];
		for (int r = 0; r < repeat; r++) {
			ns[r] = run_once((enum proto_id)p, &streams[p], iters,
					 with_clock, dir);
			if (ns[r] < 0) {
				status = 1;
				break;
			}
		}
		if (status)
			break;
		qsort(ns, (size_t)repeat, sizeof(ns[0]), cmp_double);
		printf("%s events=%llu ns_per_event median=%.1f min=%.1f "
		       "max=%.1f%s\n",
		       proto_names[p], (unsigned long long)iters,
		       ns[repeat / 2], ns[0], ns[repeat - 1],
		       with_clock ? " clock=yes" : "");
		fflush(stdout);
	}
	rmdir(dir);
	return status;
}
