/*
 * test_api_redis.c -- hiredis calls to events (api_redis.c) without
 * hiredis: the test plays the context (its obuf, its fd) and hands over
 * replies built by hand.  One event per command, timed from the send to
 * the reply, the socket decoder's texts, classes and cache counts,
 * pipelines past the decoder's ring, MULTI/EXEC, bytes fed once, aborts at
 * free, failure and reconnect, and the slots given back.
 */
#include <criterion/criterion.h>
#include <hiredis/hiredis.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api_redis.h"

#define MAX_EV 4096
static struct pt_event evs[MAX_EV];
static char texts[MAX_EV][96];
static struct pt_conn_info conns[2048];
static int nev, nconn, ndrop, taken;
static uint32_t ids;
static long spill_live; /* bytes taken from the fake spill, not given back */
static int spill_gets;

static void on_event(const struct pt_event *ev)
{
	cr_assert_lt(nev, MAX_EV);
	evs[nev] = *ev;
	size_t n = ev->text_len < 95 ? ev->text_len : 95;
	memcpy(texts[nev], ev->text, n);
	texts[nev][n] = '\0';
	evs[nev].text = texts[nev];
	nev++;
}
static void on_conn(const struct pt_conn_info *ci)
{
	cr_assert_lt(nconn, 2048);
	conns[nconn++] = *ci;
}
static void on_drop(enum pt_drop_cause why)
{
	(void)why;
	ndrop++;
}
static uint32_t on_id(void)
{
	return ++ids;
}
static void f_take(int fd)
{
	taken = fd;
}
static void *spill_get(size_t n)
{
	spill_live += (long)n;
	spill_gets++;
	return malloc(n);
}
static void spill_put(void *p, size_t n)
{
	spill_live -= (long)n;
	free(p);
}
static const struct pt_spill fake_spill = {spill_get, spill_put};

/* The context, as far as api_redis.c sees it: an address, an fd, obuf. */
static int ctx_obj, other_obj;
static char obuf[1 << 18];
static size_t olen;

static void append(const char *cmd)
{
	size_t n = strlen(cmd);
	cr_assert_lt(olen + n, sizeof(obuf));
	memcpy(obuf + olen, cmd, n);
	olen += n;
}

static void *connected(void)
{
	struct pt_api_out out = {on_event, on_conn, on_drop, on_id, 0, 0};
	api_redis_init(&out, &fake_spill, f_take);
	api_redis_reset_all();
	nev = nconn = ndrop = spill_gets = 0;
	taken = -1;
	olen = 0;
	struct pt_peer peer = {.family = 2, .port = 6379};
	api_redis_connect(&ctx_obj, 7, &peer, NULL, 0, 100, 400);
	void *s = api_redis_find(&ctx_obj);
	cr_assert_not_null(s);
	nev = 0; /* the CONNECT event */
	return s;
}

/* hiredis's write: what it sent leaves obuf's front. */
static void written(void *s)
{
	olen = 0;
	api_redis_sent(s, olen);
}

static redisReply str_reply(const char *v)
{
	return (redisReply){
	    .type = REDIS_REPLY_STRING, .str = (char *)v, .len = strlen(v)};
}
static redisReply status_reply(int type, const char *v)
{
	return (redisReply){.type = type, .str = (char *)v, .len = strlen(v)};
}
static const redisReply nil_reply = {.type = REDIS_REPLY_NIL};

#define GET_USER_1 "*2\r\n$3\r\nGET\r\n$6\r\nuser:1\r\n"

Test(redis_api, connect_is_a_record_and_an_event_and_takes_the_socket)
{
	struct pt_api_out out = {on_event, on_conn, on_drop, on_id, 0, 0};
	api_redis_init(&out, &fake_spill, f_take);
	api_redis_reset_all();
	nev = nconn = 0;
	taken = -1;
	api_redis_connect(&ctx_obj, 7, NULL, NULL, 0, 100, 400);
	cr_assert_eq(taken, 7);
	cr_assert_eq(nconn, 1);
	cr_assert_eq(conns[0].event, PT_CONN_OPEN);
	cr_assert_eq(conns[0].proto, PT_PROTO_REDIS);
	cr_assert_eq(nev, 1);
	cr_assert_str_eq(evs[0].text, "CONNECT");
	cr_assert_eq(evs[0].duration_ns, 300);
	cr_assert_eq(evs[0].conn_id, conns[0].conn_id);
	cr_assert(evs[0].flags & PT_EV_API);
	cr_assert_not_null(api_redis_find(&ctx_obj));
	cr_assert_null(api_redis_find(&other_obj), "another context");
	api_redis_free(&ctx_obj, 900);
	cr_assert_eq(nconn, 2);
	cr_assert_eq(conns[1].event, PT_CONN_CLOSE);
	cr_assert_null(api_redis_find(&ctx_obj));
	cr_assert_eq(spill_live, 0, "decoder memory given back");
}

Test(redis_api, failed_connect_is_an_error_event_and_tracks_nothing)
{
	struct pt_api_out out = {on_event, on_conn, on_drop, on_id, 0, 0};
	api_redis_init(&out, &fake_spill, f_take);
	api_redis_reset_all();
	nev = nconn = 0;
	taken = -1;
	api_redis_connect(NULL, -1, NULL, NULL, REDIS_ERR_IO, 100, 400);
	cr_assert_eq(nev, 1);
	cr_assert_eq(evs[0].outcome, PT_OUT_ERROR);
	cr_assert_eq(nconn, 0);
	cr_assert_eq(taken, -1, "the socket path keeps nothing it had");
	cr_assert_null(api_redis_find(&ctx_obj));
}

Test(redis_api, command_is_one_event_from_send_to_reply)
{
	void *s = connected();
	append(GET_USER_1);
	api_redis_send(s, 7, obuf, olen, 1000);
	written(s);
	redisReply r = str_reply("alice");
	api_redis_reply(s, &r, NULL, 0, 1500);
	cr_assert_eq(nev, 1);
	cr_assert_str_eq(evs[0].text, "GET user:*");
	cr_assert_eq(evs[0].start_ns, 1000);
	cr_assert_eq(evs[0].duration_ns, 500);
	cr_assert_eq(evs[0].outcome, PT_OUT_OK);
	cr_assert_eq(evs[0].cache_hits, 1);
	cr_assert_eq(evs[0].cache_misses, 0);
	cr_assert(evs[0].flags & PT_EV_API);
	cr_assert_eq(evs[0].conn_id, conns[0].conn_id);
}

Test(redis_api, nil_is_a_miss_and_mget_counts_per_key)
{
	void *s = connected();
	append(GET_USER_1);
	append("*4\r\n$4\r\nMGET\r\n$1\r\na\r\n$1\r\nb\r\n$1\r\nc\r\n");
	api_redis_send(s, 7, obuf, olen, 10);
	written(s);
	api_redis_reply(s, &nil_reply, NULL, 0, 20);
	redisReply a = str_reply("1"), c = str_reply("3");
	redisReply *el[] = {&a, (redisReply *)&nil_reply, &c};
	redisReply arr = {
	    .type = REDIS_REPLY_ARRAY, .elements = 3, .element = el};
	api_redis_reply(s, &arr, NULL, 0, 30);
	cr_assert_eq(nev, 2);
	cr_assert_eq(evs[0].cache_misses, 1);
	cr_assert_eq(evs[0].cache_hits, 0);
	cr_assert_str_eq(evs[1].text, "MGET a");
	cr_assert_eq(evs[1].cache_hits, 2);
	cr_assert_eq(evs[1].cache_misses, 1);
	cr_assert_eq(evs[1].rows, 3);
}

Test(redis_api, error_reply_is_an_error_with_its_class)
{
	void *s = connected();
	append("*3\r\n$5\r\nLPUSH\r\n$6\r\nuser:1\r\n$1\r\nx\r\n");
	api_redis_send(s, 7, obuf, olen, 10);
	written(s);
	redisReply r = status_reply(REDIS_REPLY_ERROR,
				    "WRONGTYPE Operation against a key holding "
				    "the wrong kind of value");
	api_redis_reply(s, &r, NULL, 0, 20);
	cr_assert_eq(nev, 1);
	cr_assert_eq(evs[0].outcome, PT_OUT_ERROR);
	cr_assert_eq(evs[0].status, PT_REDIS_ERR_WRONGTYPE);
}

Test(redis_api, integer_and_status_replies_end_their_commands)
{
	void *s = connected();
	append("*2\r\n$4\r\nINCR\r\n$3\r\nctr\r\n");
	append("*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\nv\r\n");
	api_redis_send(s, 7, obuf, olen, 10);
	written(s);
	redisReply i = {.type = REDIS_REPLY_INTEGER, .integer = -12345678901};
	api_redis_reply(s, &i, NULL, 0, 20);
	redisReply ok = status_reply(REDIS_REPLY_STATUS, "OK");
	api_redis_reply(s, &ok, NULL, 0, 30);
	cr_assert_eq(nev, 2);
	cr_assert_str_eq(evs[0].text, "INCR ctr");
	cr_assert_str_eq(evs[1].text, "SET k");
	cr_assert_eq(evs[1].duration_ns, 20);
	cr_assert_eq(evs[1].outcome, PT_OUT_OK);
}

Test(redis_api, bytes_not_yet_written_are_fed_once)
{
	void *s = connected();
	append(GET_USER_1);
	append(GET_USER_1);
	/* A reply was already buffered: hiredis wrote nothing, and the next
	 * redisGetReply sees the same obuf plus one more command. */
	api_redis_send(s, 7, obuf, olen, 10);
	api_redis_sent(s, olen);
	append(GET_USER_1);
	api_redis_send(s, 7, obuf, olen, 50);
	written(s);
	for (int k = 0; k < 3; k++) {
		redisReply r = str_reply("v");
		api_redis_reply(s, &r, NULL, 0, 100 + (uint64_t)k);
	}
	cr_assert_eq(nev, 3, "three commands, not five");
	cr_assert_eq(evs[0].start_ns, 10);
	cr_assert_eq(evs[2].start_ns, 50, "sent at the call that saw it");
}

Test(redis_api, partial_write_feeds_only_what_is_new)
{
	void *s = connected();
	append(GET_USER_1);
	api_redis_send(s, 7, obuf, olen, 10);
	/* hiredis wrote 5 bytes and dropped them from obuf's front. */
	memmove(obuf, obuf + 5, olen - 5);
	olen -= 5;
	api_redis_sent(s, olen);
	append(GET_USER_1);
	api_redis_send(s, 7, obuf, olen, 20);
	written(s);
	redisReply r = str_reply("v");
	api_redis_reply(s, &r, NULL, 0, 30);
	api_redis_reply(s, &r, NULL, 0, 40);
	cr_assert_eq(nev, 2);
	cr_assert_str_eq(evs[0].text, "GET user:*");
	cr_assert_str_eq(evs[1].text, "GET user:*");
	cr_assert_eq(ndrop, 0, "no desync");
}

Test(redis_api, pipeline_of_3000_keeps_order_past_the_ring)
{
	void *s = connected();
	enum { N = 3000 };
	for (int i = 0; i < N; i++) {
		char cmd[64];
		if (i % 2)
			snprintf(cmd, sizeof(cmd),
				 "*2\r\n$3\r\nGET\r\n$%d\r\np:%d\r\n",
				 i < 10	    ? 3
				 : i < 100  ? 4
				 : i < 1000 ? 5
					    : 6,
				 i);
		else
			snprintf(cmd, sizeof(cmd),
				 "*2\r\n$4\r\nINCR\r\n$%d\r\nq:%d\r\n",
				 i < 10	    ? 3
				 : i < 100  ? 4
				 : i < 1000 ? 5
					    : 6,
				 i);
		append(cmd);
	}
	int gets = spill_gets;
	api_redis_send(s, 7, obuf, olen, 1000);
	written(s);
	cr_assert_gt(spill_gets, gets, "the FIFO went into spill memory");
	for (int i = 0; i < N; i++) {
		redisReply r = i % 2 ? str_reply("v")
				     : (redisReply){.type = REDIS_REPLY_INTEGER,
						    .integer = i};
		api_redis_reply(s, &r, NULL, 0, 2000 + (uint64_t)i);
	}
	cr_assert_eq(nev, N);
	for (int i = 0; i < N; i++) {
		cr_assert_str_eq(evs[i].text, i % 2 ? "GET p:*" : "INCR q:*",
				 "event %d", i);
		cr_assert_eq(evs[i].duration_ns, 1000 + (uint64_t)i);
	}
	api_redis_free(&ctx_obj, 9000);
	cr_assert_eq(spill_live, 0, "ring and decoder given back");
}

Test(redis_api, multi_exec_is_one_transaction_event)
{
	void *s = connected();
	append("*1\r\n$5\r\nMULTI\r\n");
	append("*3\r\n$3\r\nSET\r\n$5\r\ntx:12\r\n$1\r\n1\r\n");
	append("*2\r\n$3\r\nGET\r\n$5\r\ntx:12\r\n");
	append("*2\r\n$3\r\nGET\r\n$5\r\nno:12\r\n");
	append("*1\r\n$4\r\nEXEC\r\n");
	api_redis_send(s, 7, obuf, olen, 10);
	written(s);
	redisReply ok = status_reply(REDIS_REPLY_STATUS, "OK");
	redisReply q = status_reply(REDIS_REPLY_STATUS, "QUEUED");
	api_redis_reply(s, &ok, NULL, 0, 20);
	for (int k = 0; k < 3; k++)
		api_redis_reply(s, &q, NULL, 0, 30);
	cr_assert_eq(nev, 0, "MULTI and queued commands: no event");
	redisReply v = str_reply("1");
	redisReply *el[] = {&ok, &v, (redisReply *)&nil_reply};
	redisReply arr = {
	    .type = REDIS_REPLY_ARRAY, .elements = 3, .element = el};
	api_redis_reply(s, &arr, NULL, 0, 90);
	cr_assert_eq(nev, 1);
	cr_assert_str_eq(evs[0].text, "EXEC (SET tx:*; GET tx:*; GET no:*)");
	cr_assert(evs[0].flags & PT_EV_TRANSACTION);
	cr_assert(evs[0].flags & PT_EV_API);
	cr_assert_eq(evs[0].rows, 3);
	cr_assert_eq(evs[0].cache_hits, 1);
	cr_assert_eq(evs[0].cache_misses, 1);
	cr_assert_eq(evs[0].duration_ns, 80, "from MULTI's send to EXEC's");
}

Test(redis_api, free_aborts_what_is_outstanding)
{
	void *s = connected();
	append(GET_USER_1);
	append(GET_USER_1);
	api_redis_send(s, 7, obuf, olen, 10);
	written(s);
	redisReply r = str_reply("v");
	api_redis_reply(s, &r, NULL, 0, 20);
	api_redis_free(&ctx_obj, 70);
	cr_assert_eq(nev, 2);
	cr_assert_eq(evs[1].outcome, PT_OUT_ABORTED);
	cr_assert_eq(evs[1].duration_ns, 60);
	cr_assert_null(api_redis_find(&ctx_obj));
	/* The close names the peer as the open did: one connection, one
	 * peer in the report. */
	cr_assert_eq(nconn, 2);
	cr_assert_eq(conns[1].event, PT_CONN_CLOSE);
	cr_assert_eq(conns[1].port, 6379);
	cr_assert_eq(conns[1].family, conns[0].family);
	cr_assert_eq(conns[1].connect_ns, 300);
	cr_assert_eq(conns[1].events, 3, "CONNECT and its two commands");
	cr_assert_eq(spill_live, 0);
}

Test(redis_api, appended_but_never_sent_is_no_event)
{
	void *s = connected();
	(void)s;
	append(GET_USER_1);
	api_redis_free(&ctx_obj, 70);
	cr_assert_eq(nev, 0);
}

Test(redis_api, broken_context_aborts_and_feeds_nothing_more)
{
	void *s = connected();
	append(GET_USER_1);
	api_redis_send(s, 7, obuf, olen, 10);
	written(s);
	api_redis_reply(s, NULL, NULL, 1, 40);
	cr_assert_eq(nev, 1);
	cr_assert_eq(evs[0].outcome, PT_OUT_ABORTED);
	append(GET_USER_1);
	api_redis_send(s, 7, obuf, olen, 50);
	redisReply r = str_reply("v");
	api_redis_reply(s, &r, NULL, 0, 60);
	cr_assert_eq(nev, 1);
}

Test(redis_api, reconnect_takes_the_new_socket_and_starts_afresh)
{
	void *s = connected();
	append(GET_USER_1);
	api_redis_send(s, 7, obuf, olen, 10);
	written(s);
	/* redisReconnect: new fd, the old command's reply never comes. */
	append(GET_USER_1);
	api_redis_send(s, 8, obuf, olen, 50);
	written(s);
	cr_assert_eq(taken, 8);
	cr_assert_eq(nev, 1);
	cr_assert_eq(evs[0].outcome, PT_OUT_ABORTED);
	redisReply r = str_reply("v");
	api_redis_reply(s, &r, NULL, 0, 60);
	cr_assert_eq(nev, 2);
	cr_assert_eq(evs[1].outcome, PT_OUT_OK);
	cr_assert_eq(evs[1].start_ns, 50);
}

Test(redis_api, contexts_are_told_apart)
{
	void *s = connected();
	struct pt_peer peer = {0};
	api_redis_connect(&other_obj, 9, &peer, NULL, 0, 100, 200);
	void *o = api_redis_find(&other_obj);
	cr_assert_not_null(o);
	cr_assert_neq(o, s);
	nev = 0;
	append(GET_USER_1);
	api_redis_send(o, 9, obuf, olen, 10);
	written(o);
	redisReply r = str_reply("v");
	api_redis_reply(o, &r, NULL, 0, 20);
	cr_assert_eq(nev, 1);
	cr_assert_eq(evs[0].conn_id, conns[1].conn_id);
	cr_assert_neq(evs[0].conn_id, conns[0].conn_id);
	api_redis_free(&other_obj, 30);
	cr_assert_not_null(api_redis_find(&ctx_obj), "the other stays");
}

Test(redis_api, a_freed_slot_hides_no_context_claimed_past_it)
{
	/* 600 contexts in 1,024 slots: many probe past a neighbour's slot;
	 * freeing every other one must leave the rest found (R1). */
	enum { N = 600 };
	static char many[N];
	static int was[N];
	connected();
	int tracked = 0;
	for (int i = 0; i < N; i++) {
		api_redis_connect(&many[i], 100 + i, NULL, NULL, 0, 1, 2);
		was[i] = api_redis_find(&many[i]) != NULL;
		tracked += was[i];
	}
	cr_assert_gt(tracked, N * 9 / 10, "the probe window holds most");
	for (int i = 0; i < N; i += 2)
		api_redis_free(&many[i], 3);
	for (int i = 0; i < N; i++) {
		if (i % 2 == 0)
			cr_assert_null(api_redis_find(&many[i]), "%d freed", i);
		else if (was[i])
			cr_assert_not_null(api_redis_find(&many[i]),
					   "%d still tracked", i);
	}
	/* A new context takes a freed slot. */
	static char again;
	api_redis_connect(&again, 5, NULL, NULL, 0, 1, 2);
	cr_assert_not_null(api_redis_find(&again));
}

Test(redis_api, replies_from_another_readers_functions_are_never_read)
{
	/* The program replaced c->reader->fn: its replies are not
	 * redisReply objects.  Nothing is read from them; what is
	 * outstanding aborts and the context is measured no more. */
	static int other_fns;
	void *s = connected();
	append(GET_USER_1);
	api_redis_send(s, 7, obuf, olen, 10);
	written(s);
	redisReply bogus = {.type = REDIS_REPLY_STRING,
			    .str = NULL,
			    .len = 1u << 30}; /* would fault if read */
	api_redis_reply(s, &bogus, &other_fns, 0, 20);
	cr_assert_eq(nev, 1);
	cr_assert_eq(evs[0].outcome, PT_OUT_ABORTED);
	append(GET_USER_1);
	api_redis_send(s, 7, obuf, olen, 30);
	redisReply r = str_reply("v");
	api_redis_reply(s, &r, NULL, 0, 40);
	cr_assert_eq(nev, 1);
}
