/*
 * test_api_mysql.c -- libmysqlclient calls to events (api_mysql.c) against
 * a fake connection: one event per statement, timed to the program's last
 * row (store_result, the last fetch_row of a use_result, free_result),
 * multi-statement results, prepared statements, errors, nesting, connect
 * and close records.
 */
#include <criterion/criterion.h>
#include <string.h>

#include "api_mysql.h"

/* One fake MYSQL and one fake MYSQL_STMT, driven by the test. */
static struct {
	unsigned field_count, err, stmt_field_count, stmt_err;
	unsigned long long affected, num_rows, stmt_rows;
	int more, fd, taken;
} f;
static int mysql_obj, stmt_obj, res_obj;

static unsigned f_field_count(void *m)
{
	(void)m;
	return f.field_count;
}
static unsigned long long f_affected(void *m)
{
	(void)m;
	return f.affected;
}
static unsigned long long f_num_rows(void *r)
{
	(void)r;
	return f.num_rows;
}
static unsigned f_err(void *m)
{
	(void)m;
	return f.err;
}
static char f_more(void *m)
{
	(void)m;
	return (char)(f.more > 0 ? f.more-- > 0 : 0);
}
static int f_socket(void *m)
{
	(void)m;
	return f.fd;
}
static const char *f_info(void *m)
{
	(void)m;
	return "10.11.0-MariaDB";
}
static unsigned long f_tid(void *m)
{
	(void)m;
	return 77;
}
static unsigned f_sfc(void *s)
{
	(void)s;
	return f.stmt_field_count;
}
static unsigned long long f_srows(void *s)
{
	(void)s;
	return f.stmt_rows;
}
static unsigned f_serr(void *s)
{
	(void)s;
	return f.stmt_err;
}
static const char *f_cipher(void *m)
{
	(void)m;
	return NULL;
}
static void f_take(int fd)
{
	f.taken = fd;
}

#define MAX_EV 64
static struct pt_event evs[MAX_EV];
static char texts[MAX_EV][PT_MYSQL_TEXT_MAX];
static struct pt_conn_info conns[8];
static int nev, nconn;
static uint32_t ids;

static void on_event(const struct pt_event *ev)
{
	cr_assert_lt(nev, MAX_EV);
	evs[nev] = *ev;
	memcpy(texts[nev], ev->text, ev->text_len);
	texts[nev][ev->text_len] = '\0';
	evs[nev].text = texts[nev];
	nev++;
}
static void on_conn(const struct pt_conn_info *ci)
{
	cr_assert_lt(nconn, 8);
	conns[nconn++] = *ci;
}
static void on_drop(enum pt_drop_cause why)
{
	(void)why;
}
static uint32_t on_id(void)
{
	return ++ids;
}

static void *connected(void)
{
	static const struct pt_mysql_fns fns = {
	    f_field_count, f_affected, f_num_rows, f_err, f_more,
	    f_socket,	   f_info,     f_tid,	   f_sfc, f_srows,
	    f_srows,	   f_serr,     f_cipher,
	};
	struct pt_api_out out = {on_event, on_conn, on_drop, on_id, 0, 0};
	memset(&f, 0, sizeof(f));
	f.fd = 9;
	f.taken = -1;
	nev = nconn = 0;
	api_mysql_init(&fns, &out, f_take);
	api_mysql_reset_all();
	struct pt_peer peer = {0};
	void *c = api_mysql_connect_begin(&mysql_obj);
	cr_assert_not_null(c);
	api_mysql_connect_end(c, 1, 100, 600, 9, &peer);
	return c;
}

Test(mysql_api, connect_is_a_record_and_an_event_and_takes_the_socket)
{
	connected();
	cr_assert_eq(f.taken, 9);
	cr_assert_eq(nconn, 1);
	cr_assert_eq(conns[0].auth_ns, 500);
	cr_assert_eq(conns[0].server_conn_id, 77);
	cr_assert_eq(nev, 1);
	cr_assert_str_eq(evs[0].text, "CONNECT");
	cr_assert_eq(evs[0].duration_ns, 500);
	cr_assert(evs[0].flags & PT_EV_API);
	api_mysql_close(&mysql_obj, 900);
	cr_assert_eq(nconn, 2);
	cr_assert_eq(conns[1].event, PT_CONN_CLOSE);
}

Test(mysql_api, nested_calls_on_one_connection_count_once)
{
	connected();
	void *c = api_mysql_enter(&mysql_obj);
	cr_assert_not_null(c);
	cr_assert_null(api_mysql_enter(&mysql_obj), "mysql_query inside");
	api_mysql_leave(c);
	cr_assert_not_null(api_mysql_enter(&mysql_obj));
}

Test(mysql_api, store_result_ends_the_statement)
{
	void *c = connected();
	f.field_count = 2;
	f.num_rows = 5;
	api_mysql_query(c, "SELECT a FROM t WHERE id = 3", 28, 0, 0, 1000,
			1100);
	cr_assert_eq(nev, 1, "pending until its rows are read");
	api_mysql_store(c, &res_obj, 1500);
	cr_assert_eq(nev, 2);
	cr_assert_str_eq(evs[1].text, "select a from t where id=?");
	cr_assert_eq(evs[1].rows, 5);
	cr_assert_eq(evs[1].duration_ns, 500);
	cr_assert(evs[1].flags & PT_EV_API);
}

Test(mysql_api, use_result_runs_to_the_last_fetch)
{
	void *c = connected();
	f.field_count = 1;
	api_mysql_query(c, "SELECT 1", 8, 0, 0, 1000, 1100);
	api_mysql_use(c, &res_obj, 1200);
	for (int i = 0; i < 3; i++)
		api_mysql_fetched(&res_obj, 1, 2000 + (uint64_t)i);
	cr_assert_eq(nev, 1);
	api_mysql_fetched(&res_obj, 0, 9000);
	cr_assert_eq(nev, 2);
	cr_assert_eq(evs[1].rows, 3);
	cr_assert_eq(evs[1].duration_ns, 8000);
	api_mysql_freed(&res_obj, 9500);
	cr_assert_eq(nev, 2, "free after the last row adds nothing");
}

Test(mysql_api, use_result_freed_early_ends_at_the_free)
{
	void *c = connected();
	f.field_count = 1;
	api_mysql_query(c, "SELECT 1", 8, 0, 0, 1000, 1100);
	api_mysql_use(c, &res_obj, 1200);
	api_mysql_fetched(&res_obj, 1, 1300);
	api_mysql_freed(&res_obj, 4000);
	cr_assert_eq(nev, 2);
	cr_assert_eq(evs[1].rows, 1);
	cr_assert_eq(evs[1].duration_ns, 3000);
}

Test(mysql_api, statement_without_result_and_error)
{
	void *c = connected();
	f.affected = 4;
	api_mysql_query(c, "UPDATE t SET a = 1", 18, 0, 0, 10, 20);
	cr_assert_eq(nev, 2);
	cr_assert_eq(evs[1].rows, 4);
	f.err = 1146;
	api_mysql_query(c, "SELECT * FROM nope", 18, 1, 0, 30, 40);
	cr_assert_eq(nev, 3);
	cr_assert_eq(evs[2].outcome, PT_OUT_ERROR);
	cr_assert_eq(evs[2].status, 1146);
}

Test(mysql_api, send_query_then_read_result)
{
	void *c = connected();
	api_mysql_query(c, "DELETE FROM t", 13, 0, 1, 10, 20);
	cr_assert_eq(nev, 1);
	f.affected = 2;
	api_mysql_read_result(c, 0, 70);
	cr_assert_eq(nev, 2);
	cr_assert_eq(evs[1].duration_ns, 60);
	cr_assert_eq(evs[1].rows, 2);
}

Test(mysql_api, multi_statement_is_one_event_to_its_last_result)
{
	void *c = connected();
	f.field_count = 1;
	f.num_rows = 1;
	f.more = 2;
	api_mysql_query(c, "SELECT 1; SELECT 2; SELECT 3", 28, 0, 0, 10, 20);
	api_mysql_store(c, &res_obj, 30);
	api_mysql_next(c, 0, 40);
	api_mysql_store(c, &res_obj, 50);
	api_mysql_next(c, 0, 60);
	api_mysql_store(c, &res_obj, 70);
	cr_assert_eq(nev, 2);
	cr_assert_eq(evs[1].rows, 3);
	cr_assert_eq(evs[1].duration_ns, 60);
}

Test(mysql_api, prepared_statement_prepare_execute_fetch)
{
	connected();
	api_mysql_stmt_new(&mysql_obj, &stmt_obj);
	void *s = NULL;
	void *c = api_mysql_stmt_enter(&stmt_obj, &s);
	cr_assert_not_null(c);
	cr_assert_not_null(s);
	api_mysql_stmt_prepare(s, "SELECT v FROM t WHERE id = ?", 28, 0, 10,
			       20);
	cr_assert_eq(nev, 2);
	cr_assert_str_eq(evs[1].text, "PREPARE select v from t where id=?");
	f.stmt_field_count = 1;
	api_mysql_stmt_execute(s, 0, 100, 200);
	api_mysql_stmt_fetch(s, 0, 300);
	api_mysql_stmt_fetch(s, 0, 400);
	cr_assert_eq(nev, 2);
	api_mysql_stmt_fetch(s, PT_MYSQL_FETCH_NO_DATA, 500);
	cr_assert_eq(nev, 3);
	cr_assert_str_eq(evs[2].text, "select v from t where id=?");
	cr_assert(evs[2].flags & PT_EV_PREPARED);
	cr_assert_eq(evs[2].rows, 2);
	cr_assert_eq(evs[2].duration_ns, 400);
	/* An execution left unread ends at the close. */
	api_mysql_stmt_execute(s, 0, 600, 700);
	api_mysql_stmt_done(s, 1, 800);
	api_mysql_leave(c);
	api_mysql_stmt_forget(&stmt_obj);
	cr_assert_eq(nev, 4);
	cr_assert_null(api_mysql_stmt_enter(&stmt_obj, &s));
}

Test(mysql_api, second_connect_on_a_live_handle_leaves_it_tracked)
{
	connected();
	cr_assert_null(api_mysql_connect_begin(&mysql_obj));
	cr_assert_not_null(api_mysql_enter(&mysql_obj), "still ours");
}
