/*
 * stack_client.c -- a C program whose operations come from known
 * functions, for the call-site tests (test_stacks.py): each SQL query is
 * issued by fetch_record() and each Redis command by cache_lookup(), both
 * kept out of line so that the report's native call site can name them.
 *
 *   stack_client N     N x (fetch_record, cache_lookup)
 *
 * Servers from PERFTAP_MYSQL_* and PERFTAP_REDIS_* (TCP).  stdout: "done".
 */
#include <hiredis.h>
#include <mysql.h>
#include <stdio.h>
#include <stdlib.h>

static const char *env_or(const char *name, const char *dflt)
{
	const char *v = getenv(name);
	return v && *v ? v : dflt;
}

__attribute__((noinline)) static int fetch_record(MYSQL *m)
{
	if (mysql_query(m, "SELECT 7 AS stk_c_fetch_record"))
		return -1;
	MYSQL_RES *res = mysql_store_result(m);
	if (!res)
		return -1;
	mysql_free_result(res);
	return 0;
}

__attribute__((noinline)) static int cache_lookup(redisContext *c)
{
	redisReply *r = redisCommand(c, "GET stk:c:lookup");
	if (!r)
		return -1;
	freeReplyObject(r);
	return 0;
}

int main(int argc, char **argv)
{
	int n = argc > 1 ? atoi(argv[1]) : 3;
	MYSQL *m = mysql_init(NULL);
	if (!m || !mysql_real_connect(
		      m, env_or("PERFTAP_MYSQL_HOST", "127.0.0.1"),
		      env_or("PERFTAP_MYSQL_USER", "root"),
		      env_or("PERFTAP_MYSQL_PASSWORD", ""),
		      env_or("PERFTAP_MYSQL_DB", "test"),
		      (unsigned)atoi(env_or("PERFTAP_MYSQL_PORT", "3306")),
		      NULL, 0)) {
		fprintf(stderr, "mysql: %s\n", m ? mysql_error(m) : "init");
		return 1;
	}
	redisContext *c =
	    redisConnect(env_or("PERFTAP_REDIS_HOST", "127.0.0.1"),
			 atoi(env_or("PERFTAP_REDIS_PORT", "6379")));
	if (!c || c->err) {
		fprintf(stderr, "redis: %s\n", c ? c->errstr : "alloc");
		return 1;
	}
	for (int i = 0; i < n; i++)
		if (fetch_record(m) < 0 || cache_lookup(c) < 0) {
			fprintf(stderr, "operation failed\n");
			return 1;
		}
	redisFree(c);
	mysql_close(m);
	puts("done");
	return 0;
}
