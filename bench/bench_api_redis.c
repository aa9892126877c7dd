/*
 * bench_api_redis.c -- per-event cost of the hiredis API path
 * (api_redis.c): what the hooks add around one redisCommand (the context
 * lookup, two clock reads, the request fed from obuf to the context's RESP
 * decoder, the reply re-encoded and fed, the real writer into a real
 * dump), with no hiredis and no server: the figure is the shim's own work,
 * to set beside bench_event's socket-path "redis" figure (the same decoder
 * fed from socket bytes) and bench_api_mysql's.
 *
 * usage: bench_api_redis [--iterations N] [--repeat R] [--untracked]
 *
 * Prints, like bench_api:
 *   redis events=E ns_per_event median=M min=A max=B plain_ns=0
 * --untracked: the cost of a hooked call on a context the API does not
 * track (an async context's redisGetReply) while one other is tracked:
 *   redis-untracked events=E ns_per_event median=M min=A max=B plain_ns=0
 */
#include <hiredis/hiredis.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "api_redis.h"
#include "spill.h"
#include "writer.h"

static struct pt_writer w;
static struct pt_writer_cursor cur;
static uint64_t events;
static uint32_t ids;
static volatile uintptr_t sink; /* keeps the untracked lookups */

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

/* One GET with its bulk reply, as redisCommand's hooks see it. */
static double run(void *ctx, uint64_t n)
{
	static const char req[] = "*2\r\n$3\r\nGET\r\n$7\r\nuser:42\r\n";
	static const redisReply reply = {
	    .type = REDIS_REPLY_STRING, .str = "alice", .len = 5};
	uint64_t t0 = now_ns();
	for (uint64_t i = 0; i < n; i++) {
		void *s = api_redis_find(ctx);
		api_redis_send(s, 7, req, sizeof(req) - 1, now_ns());
		api_redis_sent(s, 0);
		api_redis_reply(s, &reply, NULL, 0, now_ns());
	}
	return (double)(now_ns() - t0) / (double)n;
}

/* The lookup a hook makes for a context it does not track. */
static double run_untracked(uint64_t n)
{
	static int others[64];
	uint64_t t0 = now_ns();
	for (uint64_t i = 0; i < n; i++)
		sink += (uintptr_t)api_redis_find(&others[i & 63]);
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
	int repeat = 5, untracked = 0;
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--iterations") && i + 1 < argc)
			iters = strtoull(argv[++i], NULL, 10);
		else if (!strcmp(argv[i], "--repeat") && i + 1 < argc)
			repeat = atoi(argv[++i]);
		else if (!strcmp(argv[i], "--untracked"))
			untracked = 1;
		else {
			fprintf(stderr, "usage: bench_api_redis [--iterations "
					"N] [--repeat R] [--untracked]\n");
			return 2;
		}
	}
	if (iters == 0 || repeat < 1 || repeat > 100)
		return 2;
	char dir[] = "/tmp/bench_api_redis.XXXXXX";
	if (!mkdtemp(dir)) {
		perror("bench_api_redis: mkdtemp");
		return 1;
	}
	struct pt_api_out out = {on_event, on_conn, on_drop, on_id, 0, 0};
	api_redis_init(&out, &pt_spill_mmap, take);
	static int ctx_obj;
	double extra[100];
	for (int r = 0; r < repeat; r++) {
		struct pt_writer_config wc = {.dir = dir,
					      .name_hint = "bench_api_redis"};
		if (pt_writer_open(&w, &wc) < 0) {
			fprintf(stderr,
				"bench_api_redis: cannot open a dump\n");
			return 1;
		}
		pt_writer_cursor_init(&cur, (uint32_t)getpid());
		api_redis_reset_all();
		api_redis_connect(&ctx_obj, 7, NULL, NULL, 0, now_ns(),
				  now_ns());
		events = 0;
		extra[r] =
		    untracked ? run_untracked(iters) : run(&ctx_obj, iters);
		pt_writer_cursor_release(&w, &cur);
		unlink(w.path);
		pt_writer_close(&w);
		if (!untracked && events != iters) {
			fprintf(stderr,
				"bench_api_redis: %llu events for %llu\n",
				(unsigned long long)events,
				(unsigned long long)iters);
			return 1;
		}
	}
	qsort(extra, (size_t)repeat, sizeof(extra[0]), cmp_double);
	printf("%s events=%llu ns_per_event median=%.1f min=%.1f max=%.1f "
	       "plain_ns=0\n",
	       untracked ? "redis-untracked" : "redis",
	       (unsigned long long)iters, extra[repeat / 2], extra[0],
	       extra[repeat - 1]);
	rmdir(dir);
	return 0;
}
