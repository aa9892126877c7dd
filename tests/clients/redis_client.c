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
 *   redis_client tcp|unix argv N         N x redisCommandArgv (SET, GET hit,
 *                                        GET miss); a pipeline of
 *                                        redisAppendCommandArgv and
 *                                        redisAppendFormattedCommand, one
 *                                        reply read with redisGetReply(c,
 *                                        NULL); an error; DEL
 *   redis_client tcp|unix subscribe N    SUBSCRIBE on one connection, N
 *                                        PUBLISH on another, the N messages
 *                                        read with redisGetReply, then
 *                                        UNSUBSCRIBE
 *   redis_client tcp|unix reconnect N    N x (SET, redisReconnect, GET hit),
 *                                        then DEL
 *   redis_client tcp|unix async N        the async API, driven by a poll()
 *                                        loop of its own: N x (SET, GET
 *                                        hit, GET miss), then DEL
 *   redis_client tcp|unix mixed N        N x (INCR, GET miss) through
 *                                        hiredis on one connection and N x
 *                                        (SET, GET hit) in raw RESP on a
 *                                        plain socket of its own
 *
 * Server from PERFTAP_REDIS_HOST, _PORT, _SOCKET.  stdout: results only
 * (the same with and without the shim); stderr: the operation log.  Exit 0
 * when every reply was as expected.
 */
#include <async.h>
#include <hiredis.h>
#include <poll.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

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

/* An argv command whose reply's type must be `type`; 0 when it is. */
static int expect_argv(redisContext *c, int type, const char *name, int argc,
		       const char **argv)
{
	uint64_t t = oplog_now();
	redisReply *r = redisCommandArgv(c, argc, argv, NULL);
	oplog_add(name, t);
	int bad = !r || r->type != type;
	if (bad)
		printf("%s: unexpected reply type %d\n", name,
		       r ? r->type : -1);
	freeReplyObject(r);
	return bad;
}

static int do_argv(redisContext *c, int n)
{
	int bad = 0;
	char key[64], miss[64];
	for (int i = 0; i < n; i++) {
		snprintf(key, sizeof(key), "capc:argv:%d", i);
		snprintf(miss, sizeof(miss), "capc:argvmiss:%d", i);
		const char *set[] = {"SET", key, "v"};
		const char *get[] = {"GET", key};
		const char *get_miss[] = {"GET", miss};
		bad |= expect_argv(c, REDIS_REPLY_STATUS, "set", 3, set);
		bad |= expect_argv(c, REDIS_REPLY_STRING, "get", 2, get);
		bad |= expect_argv(c, REDIS_REPLY_NIL, "get", 2, get_miss);
	}
	/* A pipeline: argv, preformatted, argv; the middle reply is read
	 * with reply == NULL (hiredis frees it). */
	uint64_t t = oplog_now();
	const char *get0[] = {"GET", "capc:argv:0"};
	static const char formatted[] =
	    "*2\r\n$3\r\nGET\r\n$15\r\ncapc:argvmiss:0\r\n";
	bad |= redisAppendCommandArgv(c, 2, get0, NULL) != REDIS_OK;
	bad |= redisAppendFormattedCommand(c, formatted,
					   sizeof(formatted) - 1) != REDIS_OK;
	bad |= redisAppendCommandArgv(c, 2, get0, NULL) != REDIS_OK;
	void *v = NULL;
	bad |= redisGetReply(c, &v) != REDIS_OK || !v ||
	       ((redisReply *)v)->type != REDIS_REPLY_STRING;
	freeReplyObject(v);
	bad |= redisGetReply(c, NULL) != REDIS_OK;
	v = NULL;
	bad |= redisGetReply(c, &v) != REDIS_OK || !v ||
	       ((redisReply *)v)->type != REDIS_REPLY_STRING;
	freeReplyObject(v);
	oplog_add("pipeline", t);
	const char *lpush[] = {"LPUSH", "capc:argv:0", "x"};
	bad |= expect_argv(c, REDIS_REPLY_ERROR, "lpush", 3, lpush);
	for (int i = 0; i < n; i++) {
		snprintf(key, sizeof(key), "capc:argv:%d", i);
		const char *del[] = {"DEL", key};
		bad |= expect_argv(c, REDIS_REPLY_INTEGER, "del", 2, del);
	}
	printf("argv: ok %d\n", !bad);
	return bad;
}

/* The subscriber reads messages the publisher's PUBLISHes send it: pushes,
 * counted as the socket decoder counts them, never events of their own. */
static int do_subscribe(redisContext *sub, int n)
{
	redisContext *pub = rc_connect();
	if (!pub)
		return 1;
	int bad = 0;
	uint64_t t = oplog_now();
	redisReply *r = redisCommand(sub, "SUBSCRIBE capc:chan:1");
	oplog_add("subscribe", t);
	bad |= !r || r->type != REDIS_REPLY_ARRAY;
	freeReplyObject(r);
	long got = 0;
	for (int i = 0; i < n; i++) {
		bad |= expect(pub, REDIS_REPLY_INTEGER, "publish",
			      "PUBLISH capc:chan:1 m%d", i);
		void *v = NULL;
		if (redisGetReply(sub, &v) != REDIS_OK) {
			bad = 1;
			break;
		}
		r = v;
		got += r->type == REDIS_REPLY_ARRAY && r->elements == 3 &&
		       !strcmp(r->element[0]->str, "message");
		freeReplyObject(r);
	}
	t = oplog_now();
	r = redisCommand(sub, "UNSUBSCRIBE capc:chan:1");
	oplog_add("unsubscribe", t);
	bad |= !r || r->type != REDIS_REPLY_ARRAY;
	freeReplyObject(r);
	redisFree(pub);
	printf("subscribe: messages %ld\n", got);
	return bad || got != n;
}

/* A plain socket to the server, no hiredis (the socket path's). */
static int raw_connect(void)
{
	int fd;
	if (use_unix) {
		const char *p = getenv("PERFTAP_REDIS_SOCKET");
		struct sockaddr_un a = {.sun_family = AF_UNIX};
		snprintf(a.sun_path, sizeof(a.sun_path), "%s",
			 p ? p : "/run/redis/redis.sock");
		fd = socket(AF_UNIX, SOCK_STREAM, 0);
		if (fd >= 0 && connect(fd, (void *)&a, sizeof(a)) == 0)
			return fd;
	} else {
		const char *p = getenv("PERFTAP_REDIS_PORT");
		struct sockaddr_in a = {.sin_family = AF_INET,
					.sin_port = htons(p ? atoi(p) : 6379),
					.sin_addr.s_addr =
					    htonl(INADDR_LOOPBACK)};
		fd = socket(AF_INET, SOCK_STREAM, 0);
		if (fd >= 0 && connect(fd, (void *)&a, sizeof(a)) == 0)
			return fd;
	}
	if (fd >= 0)
		close(fd);
	return -1;
}

/* Send req on fd, read exactly the reply `want`; 0 when it came. */
static int raw_command(int fd, const char *name, const char *req,
		       const char *want)
{
	char buf[128];
	size_t n = strlen(want), got = 0;
	uint64_t t = oplog_now();
	if (write(fd, req, strlen(req)) != (ssize_t)strlen(req))
		return 1;
	while (got < n) {
		ssize_t k = read(fd, buf + got, n - got);
		if (k <= 0)
			return 1;
		got += (size_t)k;
	}
	oplog_add(name, t);
	return memcmp(buf, want, n) != 0;
}

/* redisReconnect closes the socket and opens another, most often on the
 * same fd number: its commands must still be counted once. */
static int do_reconnect(redisContext *c, int n)
{
	int bad = 0;
	for (int i = 0; i < n; i++) {
		bad |= expect(c, REDIS_REPLY_STATUS, "set",
			      "SET capc:reco:%d v", i);
		bad |= redisReconnect(c) != REDIS_OK;
		bad |=
		    expect(c, REDIS_REPLY_STRING, "get", "GET capc:reco:%d", i);
	}
	for (int i = 0; i < n; i++)
		bad |= expect(c, REDIS_REPLY_INTEGER, "del", "DEL capc:reco:%d",
			      i);
	printf("reconnect: ok %d\n", !bad);
	return bad;
}

static int do_mixed(redisContext *c, int n)
{
	int fd = raw_connect();
	if (fd < 0)
		return 1;
	int bad = 0;
	for (int i = 0; i < n; i++) {
		bad |= expect(c, REDIS_REPLY_INTEGER, "incr",
			      "INCR capc:mixed:ctr");
		bad |= raw_command(fd, "set",
				   "*3\r\n$3\r\nSET\r\n$14\r\ncapc:mixed:raw"
				   "\r\n$1\r\nv\r\n",
				   "+OK\r\n");
		bad |=
		    expect(c, REDIS_REPLY_NIL, "get", "GET capc:mixed:%d", i);
		bad |= raw_command(fd, "get",
				   "*2\r\n$3\r\nGET\r\n$14\r\ncapc:mixed:raw"
				   "\r\n",
				   "$1\r\nv\r\n");
	}
	bad |= raw_command(fd, "del",
			   "*3\r\n$3\r\nDEL\r\n$14\r\ncapc:mixed:raw\r\n"
			   "$14\r\ncapc:mixed:ctr\r\n",
			   ":2\r\n");
	close(fd);
	printf("mixed: ok %d\n", !bad);
	return bad;
}

/* The async API without an event library: the loop is ours, as a
 * program's would be. */
static long async_replies, async_bad;

static void on_async_reply(redisAsyncContext *ac, void *r, void *want)
{
	(void)ac;
	redisReply *reply = r;
	async_replies++;
	async_bad |= !reply || reply->type != (int)(intptr_t)want;
}

static int do_async(int n)
{
	redisAsyncContext *ac;
	if (use_unix) {
		const char *s = getenv("PERFTAP_REDIS_SOCKET");
		ac = redisAsyncConnectUnix(s ? s : "/run/redis/redis.sock");
	} else {
		const char *h = getenv("PERFTAP_REDIS_HOST");
		const char *p = getenv("PERFTAP_REDIS_PORT");
		ac = redisAsyncConnect(h ? h : "127.0.0.1", p ? atoi(p) : 6379);
	}
	if (!ac || ac->err)
		return 1;
	long sent = 0;
	uint64_t t = oplog_now();
	for (int i = 0; i < n; i++) {
		sent += redisAsyncCommand(ac, on_async_reply,
					  (void *)(intptr_t)REDIS_REPLY_STATUS,
					  "SET capc:async:%d v", i) == REDIS_OK;
		sent += redisAsyncCommand(ac, on_async_reply,
					  (void *)(intptr_t)REDIS_REPLY_STRING,
					  "GET capc:async:%d", i) == REDIS_OK;
		sent +=
		    redisAsyncCommand(ac, on_async_reply,
				      (void *)(intptr_t)REDIS_REPLY_NIL,
				      "GET capc:asyncmiss:%d", i) == REDIS_OK;
	}
	for (int i = 0; i < n; i++)
		sent += redisAsyncCommand(ac, on_async_reply,
					  (void *)(intptr_t)REDIS_REPLY_INTEGER,
					  "DEL capc:async:%d", i) == REDIS_OK;
	while (async_replies < sent && !ac->err) {
		struct pollfd pfd = {.fd = ac->c.fd, .events = POLLIN};
		if (sdslen(ac->c.obuf) || !(ac->c.flags & REDIS_CONNECTED))
			pfd.events |= POLLOUT;
		if (poll(&pfd, 1, 5000) <= 0)
			break;
		if (pfd.revents & POLLOUT)
			redisAsyncHandleWrite(ac);
		if (pfd.revents & (POLLIN | POLLHUP | POLLERR))
			redisAsyncHandleRead(ac);
	}
	oplog_add("async", t);
	int bad = async_bad || async_replies != sent || sent != 4L * n;
	redisAsyncFree(ac);
	printf("async: replies %ld ok %d\n", async_replies, !bad);
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
	} else if (!strcmp(what, "async")) {
		bad = do_async(n);
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
		else if (!strcmp(what, "argv"))
			bad = do_argv(c, n);
		else if (!strcmp(what, "subscribe"))
			bad = do_subscribe(c, n);
		else if (!strcmp(what, "reconnect"))
			bad = do_reconnect(c, n);
		else if (!strcmp(what, "mixed"))
			bad = do_mixed(c, n);
		else
			bad = 2;
		redisFree(c);
	}
	oplog_print();
	return bad;
}
