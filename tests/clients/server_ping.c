/*
 * server_ping.c -- check that the private MariaDB and Redis answer through
 * the real C client libraries (libmariadb, hiredis), over TCP and over the
 * Unix socket.
 *
 * Reads the PERFTAP_MYSQL_* and PERFTAP_REDIS_* variables that
 * scripts/servers.sh writes to its env file.  Runs every check, prints one
 * line per check ("ok ..." or "FAIL ...: why"), and exits 0 only if all
 * passed, 1 if any failed, 2 if a variable is missing.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <hiredis/hiredis.h>
#include <mysql.h>

struct settings {
	const char *mysql_host;
	unsigned mysql_port;
	const char *mysql_socket;
	const char *mysql_user;
	const char *mysql_password;
	const char *mysql_db;
	const char *redis_host;
	int redis_port;
	const char *redis_socket;
};

static int missing;

static const char *env_str(const char *name)
{
	const char *v = getenv(name);

	if (!v || !*v) {
		fprintf(stderr,
			"server_ping: %s is not set (source the env "
			"file of scripts/servers.sh)\n",
			name);
		missing = 1;
		return "";
	}
	return v;
}

static int env_port(const char *name)
{
	const char *v = env_str(name);
	char *end;
	long port;

	if (!*v)
		return 0;
	errno = 0;
	port = strtol(v, &end, 10);
	if (errno || *end || port <= 0 || port > 65535) {
		fprintf(stderr, "server_ping: %s=%s is not a port\n", name, v);
		missing = 1;
		return 0;
	}
	return (int)port;
}

static void settings_read(struct settings *s)
{
	s->mysql_host = env_str("PERFTAP_MYSQL_HOST");
	s->mysql_port = (unsigned)env_port("PERFTAP_MYSQL_PORT");
	s->mysql_socket = env_str("PERFTAP_MYSQL_SOCKET");
	s->mysql_user = env_str("PERFTAP_MYSQL_USER");
	s->mysql_password = env_str("PERFTAP_MYSQL_PASSWORD");
	s->mysql_db = env_str("PERFTAP_MYSQL_DB");
	s->redis_host = env_str("PERFTAP_REDIS_HOST");
	s->redis_port = env_port("PERFTAP_REDIS_PORT");
	s->redis_socket = env_str("PERFTAP_REDIS_SOCKET");
}

/* Connect (socket_path NULL: TCP), run SELECT 1, check the single value. */
static int mysql_check(const struct settings *s, const char *socket_path,
		       char *why, size_t why_len)
{
	MYSQL *db = mysql_init(NULL);
	unsigned int protocol =
	    socket_path ? MYSQL_PROTOCOL_SOCKET : MYSQL_PROTOCOL_TCP;
	unsigned int timeout = 5;
	MYSQL_RES *res;
	MYSQL_ROW row;
	int ok = 0;

	if (!db) {
		snprintf(why, why_len, "mysql_init: out of memory");
		return 0;
	}
	mysql_optionsv(db, MYSQL_OPT_PROTOCOL, &protocol);
	mysql_optionsv(db, MYSQL_OPT_CONNECT_TIMEOUT, &timeout);
	if (!mysql_real_connect(db, socket_path ? NULL : s->mysql_host,
				s->mysql_user, s->mysql_password, s->mysql_db,
				socket_path ? 0 : s->mysql_port, socket_path,
				0)) {
		snprintf(why, why_len, "connect: %s", mysql_error(db));
		goto out;
	}
	if (mysql_query(db, "SELECT 1")) {
		snprintf(why, why_len, "SELECT 1: %s", mysql_error(db));
		goto out;
	}
	res = mysql_store_result(db);
	if (!res) {
		snprintf(why, why_len, "SELECT 1: no result: %s",
			 mysql_error(db));
		goto out;
	}
	row = mysql_fetch_row(res);
	if (mysql_num_rows(res) != 1 || mysql_num_fields(res) != 1 || !row ||
	    !row[0] || strcmp(row[0], "1") != 0)
		snprintf(why, why_len, "SELECT 1 returned %s",
			 row && row[0] ? row[0] : "(nothing)");
	else
		ok = 1;
	mysql_free_result(res);
out:
	mysql_close(db);
	return ok;
}

/* Check that reply r is a status or string equal to want. */
static int reply_is(const redisReply *r, const char *want)
{
	return r &&
	       (r->type == REDIS_REPLY_STATUS ||
		r->type == REDIS_REPLY_STRING) &&
	       r->len == strlen(want) && memcmp(r->str, want, r->len) == 0;
}

static int redis_roundtrip(redisContext *c, const char *key, char *why,
			   size_t why_len)
{
	char value[64];
	redisReply *r;
	int ok;

	r = redisCommand(c, "PING");
	ok = reply_is(r, "PONG");
	if (!ok)
		snprintf(why, why_len, "PING: %s",
			 r ? (r->str ? r->str : "unexpected reply")
			   : c->errstr);
	freeReplyObject(r);
	if (!ok)
		return 0;

	snprintf(value, sizeof(value), "v-%ld", (long)getpid());
	r = redisCommand(c, "SET %s %s EX 60", key, value);
	ok = reply_is(r, "OK");
	if (!ok)
		snprintf(why, why_len, "SET: %s",
			 r ? (r->str ? r->str : "unexpected reply")
			   : c->errstr);
	freeReplyObject(r);
	if (!ok)
		return 0;

	r = redisCommand(c, "GET %s", key);
	ok = reply_is(r, value);
	if (!ok)
		snprintf(why, why_len, "GET returned %s",
			 r ? (r->str ? r->str : "nil") : c->errstr);
	freeReplyObject(r);
	if (ok) {
		r = redisCommand(c, "DEL %s", key);
		freeReplyObject(r);
	}
	return ok;
}

static int redis_check(const struct settings *s, int use_socket, char *why,
		       size_t why_len)
{
	struct timeval timeout = {5, 0};
	redisContext *c;
	char key[64];
	int ok;

	c = use_socket ? redisConnectUnixWithTimeout(s->redis_socket, timeout)
		       : redisConnectWithTimeout(s->redis_host, s->redis_port,
						 timeout);
	if (!c) {
		snprintf(why, why_len, "connect: out of memory");
		return 0;
	}
	if (c->err) {
		snprintf(why, why_len, "connect: %s", c->errstr);
		redisFree(c);
		return 0;
	}
	snprintf(key, sizeof(key), "perftap:server_ping:%s:%ld",
		 use_socket ? "unix" : "tcp", (long)getpid());
	ok = redis_roundtrip(c, key, why, why_len);
	redisFree(c);
	return ok;
}

static int report(const char *what, int ok, const char *why)
{
	if (ok)
		printf("ok   %s\n", what);
	else
		printf("FAIL %s: %s\n", what, why);
	return ok ? 0 : 1;
}

int main(void)
{
	struct settings s;
	char why[512], what[PATH_MAX + 64];
	int failed = 0;

	settings_read(&s);
	if (missing)
		return 2;

	why[0] = '\0';
	snprintf(what, sizeof(what), "mysql tcp %s:%u", s.mysql_host,
		 s.mysql_port);
	failed += report(what, mysql_check(&s, NULL, why, sizeof(why)), why);
	why[0] = '\0';
	snprintf(what, sizeof(what), "mysql unix %s", s.mysql_socket);
	failed += report(
	    what, mysql_check(&s, s.mysql_socket, why, sizeof(why)), why);
	why[0] = '\0';
	snprintf(what, sizeof(what), "redis tcp %s:%d", s.redis_host,
		 s.redis_port);
	failed += report(what, redis_check(&s, 0, why, sizeof(why)), why);
	why[0] = '\0';
	snprintf(what, sizeof(what), "redis unix %s", s.redis_socket);
	failed += report(what, redis_check(&s, 1, why, sizeof(why)), why);

	mysql_library_end();
	if (failed)
		printf("server_ping: %d of 4 checks failed\n", failed);
	return failed ? 1 : 0;
}
