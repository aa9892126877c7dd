/*
 * scenario_ps.c -- the libmariadb session recorded in libmariadb_ps.txt:
 * server-side prepared statements (binary protocol), a cursor with
 * fetches, mariadb_stmt_execute_direct, a multi-result CALL.
 *
 * Build: gcc -o /tmp/scenario_ps scenario_ps.c $(pkg-config --cflags --libs libmariadb)
 * Run:   /tmp/scenario_ps PORT   (through record.py)
 */
#include <mysql.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void die(MYSQL *m, const char *what)
{
	fprintf(stderr, "%s: %s\n", what, mysql_error(m));
	exit(1);
}

static void q(MYSQL *m, const char *sql)
{
	if (mysql_query(m, sql))
		die(m, sql);
	do {
		MYSQL_RES *r = mysql_store_result(m);
		if (r)
			mysql_free_result(r);
	} while (mysql_next_result(m) == 0);
}

int main(int argc, char **argv)
{
	MYSQL *m = mysql_init(NULL);
	if (!mysql_real_connect(m, "127.0.0.1", "perftap", "perftap",
				"perftap_test", (unsigned)atoi(argv[1]), NULL,
				CLIENT_MULTI_STATEMENTS | CLIENT_MULTI_RESULTS))
		die(m, "connect");
	q(m, "drop table if exists ps");
	q(m, "create table ps (id int primary key, v varchar(10))");
	q(m, "insert into ps values (1,'a'),(2,'b'),(3,'c')");
	q(m, "drop procedure if exists p2");
	q(m, "create procedure p2() begin select 1; select id from ps; end");

	/* prepare with a param and a column; execute; rows 2 */
	MYSQL_STMT *s = mysql_stmt_init(m);
	const char *sql = "select id, v from ps where id >= ?";
	if (mysql_stmt_prepare(s, sql, strlen(sql)))
		die(m, "prepare");
	int id = 2;
	MYSQL_BIND b;
	memset(&b, 0, sizeof(b));
	b.buffer_type = MYSQL_TYPE_LONG;
	b.buffer = &id;
	mysql_stmt_bind_param(s, &b);
	if (mysql_stmt_execute(s) || mysql_stmt_store_result(s))
		die(m, "execute");
	mysql_stmt_free_result(s);
	mysql_stmt_reset(s); /* COM_STMT_RESET */

	/* cursor: execute opens it, two fetches of 2 rows */
	unsigned long ct = CURSOR_TYPE_READ_ONLY, pre = 2;
	mysql_stmt_attr_set(s, STMT_ATTR_CURSOR_TYPE, &ct);
	mysql_stmt_attr_set(s, STMT_ATTR_PREFETCH_ROWS, &pre);
	id = 1;
	if (mysql_stmt_execute(s))
		die(m, "execute cursor");
	while (mysql_stmt_fetch(s) == 0)
		;
	mysql_stmt_close(s); /* COM_STMT_CLOSE */

	/* execute_direct: PREPARE + EXECUTE(-1) pipelined, then CLOSE */
	s = mysql_stmt_init(m);
	const char *upd = "update ps set v = 'z' where id = 3";
	if (mariadb_stmt_execute_direct(s, upd, strlen(upd)))
		die(m, "execute_direct");
	mysql_stmt_close(s);

	/* CALL through a prepared statement: two result sets + OK */
	s = mysql_stmt_init(m);
	const char *call = "call p2()";
	if (mysql_stmt_prepare(s, call, strlen(call)) || mysql_stmt_execute(s))
		die(m, "call");
	do {
		mysql_stmt_store_result(s);
		mysql_stmt_free_result(s);
	} while (mysql_stmt_next_result(s) == 0);
	mysql_stmt_close(s);
	mysql_ping(m);
	mysql_close(m);
	return 0;
}
