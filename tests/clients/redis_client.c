/*
 * redis_client.c -- a hiredis client for the capture tests: workloads
 * whose command counts (INFO commandstats) and cache hits and misses
 * (keyspace_hits / keyspace_misses) Redis itself keeps, each operation
 * timed around its API calls (oplog.h).
 *
 *   redis_client tcp|unix commands N     N x (SET, GET hit, GET miss, INCR,
 *                                        MGET 3 hits + 1 miss, HSET, HGET
 *                                        hit, HGET miss), errors, DEL
 *   redis_client tcp|unix pipeline1000   1,000 SET/GET appended, then the
 *                                        1,000 replies read: one operation
 *   redis_client tcp|unix multi N        N x MULTI, SET, INCR, GET hit, GET
 *                                        miss, MGET 1 hit + 1 miss, EXEC;
 *                                        then one MULTI, SET, LPUSH (fails:
 *                                        WRONGTYPE), GET hit, EXEC
 *   redis_client tcp|unix threads16 N    16 threads, one connection each,
 *                                        N x (INCR, GET) per thread
 *
 * Server from PERFTAP_REDIS_HOST, _PORT, _SOCKET.  stdout: results only
 * (the same with and without the shim); stderr: the operation log.  Exit 0
 * when every reply was as expected.
 */
#include <hiredis.h>
#include <stdarg.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "oplog.h"

#define THREADS	 16
#define PIPELINE 1000

static int use_unix;

static redisContext *rc_connect(void)
{
	redisContext *c;
	uint64_t t = oplog_now();
	if (use_unix) {
		const char *s = getenv("PERFTAP_REDIS_SOCKET");
		c = redisConnectUnix(s ? s : "/run/redis/redis.sock");
	} else {
		const char *h = getenv("PERFTAP_REDIS_HOST");
		const char *p = getenv("PERFTAP_REDIS_PORT");
		c = redisConnect(h ? h : "127.0.0.1", p ? atoi(p) : 6379);
	}
	oplog_add("connect", t);
	if (!c || c->err) {
		fprintf(stderr, "connect: %s\n", c ? c->errstr : "no memory");
		return NULL;
	}
	return c;
}

/* One command, timed.  Returns the reply (caller frees) or NULL. */
static redisReply *cmd(redisContext *c, const char *name, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	uint64_t t = oplog_now();
	redisReply *r = redisvCommand(c, fmt, ap);
	oplog_add(name, t);
	va_end(ap);
	return r;
}

/* A command whose reply's type must be `type`; 0 when it is. */
static int expect(redisContext *c, int type, const char *name, const char *fmt,
		  ...)
{
	va_list ap;
	va_start(ap, fmt);
	uint64_t t = oplog_now();
	redisReply *r = redisvCommand(c, fmt, ap);
	oplog_add(name, t);
	va_end(ap);
	int bad = !r || r->type != type;
	if (bad)
		printf("%s: unexpected reply type %d\n", name,
		       r ? r->type : -1);
	freeReplyObject(r);
	return bad;
}

static int do_commands(redisContext *c, int n)
{
	int bad = 0;
	long hits = 0;
	for (int i = 0; i < n; i++) {
		bad |= expect(c, REDIS_REPLY_STATUS, "set",
			      "SET capc:item:%d %d", i, i);
		bad |=
		    expect(c, REDIS_REPLY_STRING, "get", "GET capc:item:%d", i);
		bad |=
		    expect(c, REDIS_REPLY_NIL, "get", "GET capc:missing:%d", i);
		bad |= expect(c, REDIS_REPLY_INTEGER, "incr", "INCR capc:ctr");
		redisReply *r = cmd(c, "mget",
				    "MGET capc:item:%d capc:item:0 capc:ctr "
				    "capc:nope",
				    i);
		if (r && r->type == REDIS_REPLY_ARRAY && r->elements == 4)
			for (size_t k = 0; k < 4; k++)
				hits += r->element[k]->type != REDIS_REPLY_NIL;
		else
			bad = 1;
		freeReplyObject(r);
		bad |= expect(c, REDIS_REPLY_INTEGER, "hset",
			      "HSET capc:hash:%d f v%d", i, i);
		bad |= expect(c, REDIS_REPLY_STRING, "hget",
			      "HGET capc:hash:%d f", i);
		bad |= expect(c, REDIS_REPLY_NIL, "hget",
			      "HGET capc:nohash:%d f", i);
	}
	/* Errors: wrong types, a non-integer, an unknown command. */
	bad |= expect(c, REDIS_REPLY_ERROR, "lpush", "LPUSH capc:item:0 x");
	bad |= expect(c, REDIS_REPLY_ERROR, "incr", "INCR capc:hash:0");
	bad |=
	    expect(c, REDIS_REPLY_ERROR, "hincrby", "HINCRBY capc:hash:0 f 1");
	bad |= expect(c, REDIS_REPLY_ERROR, "nosuch", "NOSUCHCOMMAND a");
	redisReply *r = cmd(c, "del", "DEL capc:ctr");
	long deleted = r && r->type == REDIS_REPLY_INTEGER ? r->integer : -1;
	freeReplyObject(r);
	for (int i = 0; i < n; i++) {
		r = cmd(c, "del", "DEL capc:item:%d capc:hash:%d", i, i);
		deleted += r && r->type == REDIS_REPLY_INTEGER ? r->integer : 0;
		freeReplyObject(r);
	}
	printf("commands: mget hits %ld deleted %ld\n", hits, deleted);
	return bad;
}

static int do_pipeline(redisContext *c)
{
	int bad = 0;
	long values = 0, oks = 0;
	uint64_t t = oplog_now();
	for (int i = 0; i < PIPELINE; i++) {
		if (i % 2 == 0)
			redisAppendCommand(c, "SET capc:p:%d %d", i, i);
		else
			redisAppendCommand(c, "GET capc:p:%d", i - 1);
	}
	for (int i = 0; i < PIPELINE; i++) {
		void *v = NULL;
		if (redisGetReply(c, &v) != REDIS_OK) {
			bad = 1;
			break;
		}
		redisReply *r = v;
		oks += r->type == REDIS_REPLY_STATUS;
		if (r->type == REDIS_REPLY_STRING && atoi(r->str) == i - 1)
			values++;
		freeReplyObject(r);
	}
	oplog_add("pipeline", t);
	/* Clean up, in one more pipeline of DELs. */
	t = oplog_now();
	for (int i = 0; i < PIPELINE; i += 2)
		redisAppendCommand(c, "DEL capc:p:%d", i);
	for (int i = 0; i < PIPELINE; i += 2) {
		void *v = NULL;
		if (redisGetReply(c, &v) != REDIS_OK) {
			bad = 1;
			break;
		}
		freeReplyObject(v);
	}
	oplog_add("pipeline", t);
	printf("pipeline: ok %ld values %ld\n", oks, values);
	return bad || oks != PIPELINE / 2 || values != PIPELINE / 2;
}

/* A reply of the expected type (no timing); 0 when it is. */
static int untimed(redisContext *c, int type, const char *fmt, int i)
{
	redisReply *r = redisCommand(c, fmt, i);
	int bad = !r || r->type != type;
	freeReplyObject(r);
	return bad;
}

/* EXEC's reply: an array of `n` whose element k has type `type`. */
static int exec_ok(const redisReply *r, size_t n, size_t k, int type)
{
	return r && r->type == REDIS_REPLY_ARRAY && r->elements == n &&
	       r->element[k]->type == type;
}

/* A transaction whose LPUSH fails inside EXEC (EXEC itself succeeds):
 * 1 when its reply was [OK, WRONGTYPE error, "v"]. */
static int multi_with_error(redisContext *c, int i, int *bad)
{
	uint64_t t = oplog_now();
	*bad |= untimed(c, REDIS_REPLY_STATUS, "MULTI", i);
	*bad |= untimed(c, REDIS_REPLY_STATUS, "SET capc:txerr:%d v", i);
	*bad |= untimed(c, REDIS_REPLY_STATUS, "LPUSH capc:txerr:%d x", i);
	*bad |= untimed(c, REDIS_REPLY_STATUS, "GET capc:txerr:%d", i);
	redisReply *r = redisCommand(c, "EXEC");
	oplog_add("transaction", t);
	int ok = exec_ok(r, 3, 1, REDIS_REPLY_ERROR) &&
		 !strncmp(r->element[1]->str, "WRONGTYPE", 9) &&
		 r->element[2]->type == REDIS_REPLY_STRING;
	freeReplyObject(r);
	*bad |= !ok;
	*bad |= expect(c, REDIS_REPLY_INTEGER, "del", "DEL capc:txerr:%d", i);
	return ok;
}

/* MULTI .. EXEC is one operation: the shim's EXEC event spans it.  The
 * reads inside hit and miss (keyspace_hits / keyspace_misses count them). */
static int do_multi(redisContext *c, int n)
{
	int bad = 0;
	long execs = 0;
	for (int i = 0; i < n; i++) {
		uint64_t t = oplog_now();
		bad |= untimed(c, REDIS_REPLY_STATUS, "MULTI", i);
		bad |= untimed(c, REDIS_REPLY_STATUS, "SET capc:tx:%d 1", i);
		bad |= untimed(c, REDIS_REPLY_STATUS, "INCR capc:tx:%d", i);
		bad |= untimed(c, REDIS_REPLY_STATUS, "GET capc:tx:%d", i);
		bad |= untimed(c, REDIS_REPLY_STATUS, "GET capc:txmiss:%d", i);
		redisReply *r =
		    redisCommand(c, "MGET capc:tx:%d capc:txmiss:%d", i, i);
		bad |= !r || r->type != REDIS_REPLY_STATUS;
		freeReplyObject(r);
		r = redisCommand(c, "EXEC");
		oplog_add("transaction", t);
		if (exec_ok(r, 5, 2, REDIS_REPLY_STRING) &&
		    atoi(r->element[2]->str) == 2 &&
		    r->element[3]->type == REDIS_REPLY_NIL &&
		    exec_ok(r->element[4], 2, 1, REDIS_REPLY_NIL))
			execs++;
		else
			bad = 1;
		freeReplyObject(r);
		bad |=
		    expect(c, REDIS_REPLY_INTEGER, "del", "DEL capc:tx:%d", i);
	}
	int errors = multi_with_error(c, n, &bad);
	printf("multi: exec %ld errors %d\n", execs, errors);
	return bad;
}

struct worker {
	int index, n, bad;
};

static void *thread_main(void *arg)
{
	struct worker *w = arg;
	redisContext *c = rc_connect();
	if (!c) {
		w->bad = 1;
		return NULL;
	}
	for (int i = 0; i < w->n; i++) {
		w->bad |= expect(c, REDIS_REPLY_INTEGER, "incr",
				 "INCR capc:thr:%d", w->index);
		redisReply *r = cmd(c, "get", "GET capc:thr:%d", w->index);
		w->bad |= !r || r->type != REDIS_REPLY_STRING ||
			  atoi(r->str) != i + 1;
		freeReplyObject(r);
	}
	w->bad |=
	    expect(c, REDIS_REPLY_INTEGER, "del", "DEL capc:thr:%d", w->index);
	redisFree(c);
	return NULL;
}

static int do_threads(int n)
{
	pthread_t th[THREADS];
	struct worker w[THREADS];
	int bad = 0;
	for (int i = 0; i < THREADS; i++) {
		w[i] = (struct worker){.index = i, .n = n};
		if (pthread_create(&th[i], NULL, thread_main, &w[i]) != 0)
			return 1;
	}
	for (int i = 0; i < THREADS; i++) {
		pthread_join(th[i], NULL);
		bad |= w[i].bad;
	}
	printf("threads: %d ok %d\n", THREADS, !bad);
	return bad;
}

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc < 3) {
		fprintf(stderr, "usage: redis_client tcp|unix WORKLOAD [N]\n");
		return 2;
	}
	use_unix = !strcmp(argv[1], "unix");
	const char *what = argv[2];
	int n = argc > 3 ? atoi(argv[3]) : 10;
	int bad;
	if (!strcmp(what, "threads16")) {
		bad = do_threads(n);
	} else {
		redisContext *c = rc_connect();
		if (!c)
			return 3;
		if (!strcmp(what, "commands"))
			bad = do_commands(c, n);
		else if (!strcmp(what, "pipeline1000"))
			bad = do_pipeline(c);
		else if (!strcmp(what, "multi"))
			bad = do_multi(c, n);
		else
			bad = 2;
		redisFree(c);
	}
	oplog_print();
	return bad;
}
