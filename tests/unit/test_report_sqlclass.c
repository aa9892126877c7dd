/*
 * test_report_sqlclass.c -- SQL fingerprints into the AFIRGen classes.
 */
#include <criterion/criterion.h>

#include "sql_class.h"

static void expect(const char *fp, enum pt_sql_class c)
{
	enum pt_sql_class got = sql_classify(fp);
	cr_expect_eq(got, c, "%s: got %s, want %s", fp, sql_class_name(got),
		     sql_class_name(c));
}

Test(sql_class, select_by_one_key_is_a_point_select)
{
	expect("select * from fir_records where fir_number = ?",
	       PT_SQL_POINT_SELECT);
	expect("select * from t where id=? limit ?", PT_SQL_POINT_SELECT);
	expect("PREPARE select a from t where id = ?", PT_SQL_POINT_SELECT);
}

Test(sql_class, other_filters_are_indexed_selects)
{
	expect("select * from t where user_id = ? and status = ?",
	       PT_SQL_INDEXED_SELECT);
	expect("select * from t where id in (?+)", PT_SQL_INDEXED_SELECT);
}

Test(sql_class, shapes_win_in_order)
{
	expect("select a from f join v on v.fid = f.id where f.u = ?",
	       PT_SQL_JOIN);
	expect("select count(*) from fir_records", PT_SQL_AGGREGATION);
	expect("select status, avg(x) from t group by status",
	       PT_SQL_AGGREGATION);
	expect("select id from t where match (a, b) against (? in natural "
	       "language mode)",
	       PT_SQL_FULLTEXT);
	expect("select * from t where created_at < ? or (created_at = ? and "
	       "id < ?) order by created_at desc, id desc limit ?",
	       PT_SQL_PAGINATION);
	expect("select * from t order by id limit ? offset ?",
	       PT_SQL_PAGINATION);
	expect("select * from t limit ?, ?", PT_SQL_PAGINATION);
	expect("select * from t", PT_SQL_OTHER);
}

Test(sql_class, ordered_limit_without_where_is_a_first_page)
{
	expect("select id,fir_number,status,created_at from fir_records "
	       "order by created_at desc,id desc limit ?",
	       PT_SQL_PAGINATION);
	expect("select * from t order by id limit ?", PT_SQL_PAGINATION);
	/* A limit alone is no page: no order to continue from. */
	expect("select * from t limit ?", PT_SQL_OTHER);
	/* An order without a limit reads the whole table. */
	expect("select * from t order by id", PT_SQL_OTHER);
}

Test(sql_class, keyset_compares_the_order_column_to_a_parameter)
{
	expect("select * from t where id > ? order by id limit ?",
	       PT_SQL_PAGINATION);
	expect("select * from t where t.created_at <= ? order by "
	       "t.created_at desc limit ?",
	       PT_SQL_PAGINATION);
	expect("select * from t where (created_at, id) < (?, ?) order by "
	       "created_at desc, id desc limit ?",
	       PT_SQL_PAGINATION);
	expect("select * from t where user_id = ? and `seq` > ? order by "
	       "`seq` limit ?",
	       PT_SQL_PAGINATION);
	/* A range on another column is a filter, not a page boundary. */
	expect("select * from t where age > ? order by name limit ?",
	       PT_SQL_INDEXED_SELECT);
	/* The newest rows of one user: a filtered select. */
	expect("select * from t where user_id = ? order by created_at desc "
	       "limit ?",
	       PT_SQL_INDEXED_SELECT);
	/* A column whose name ends like the order column does not count. */
	expect("select * from t where other_id > ? order by id limit ?",
	       PT_SQL_INDEXED_SELECT);
}

Test(sql_class, offset_forms_are_pagination_with_or_without_where)
{
	expect("select * from t where user_id = ? order by id limit ?, ?",
	       PT_SQL_PAGINATION);
	expect("select * from t where user_id = ? limit ? offset ?",
	       PT_SQL_PAGINATION);
}

Test(sql_class, writes_ddl_and_transactions)
{
	expect("insert into t (a, b) values (?, ?)", PT_SQL_WRITE);
	expect("insert into t (a, b) values (?, ?),(?, ?)", PT_SQL_BULK_INSERT);
	expect("insert into t (a) values (?+)", PT_SQL_BULK_INSERT);
	expect("insert into t select * from u", PT_SQL_WRITE);
	expect("update t set a = ? where id = ?", PT_SQL_WRITE);
	expect("delete from t where id = ?", PT_SQL_WRITE);
	expect("create table t (id int)", PT_SQL_DDL);
	expect("alter table t add column c int", PT_SQL_DDL);
	expect("begin", PT_SQL_TRANSACTION);
	expect("start transaction", PT_SQL_TRANSACTION);
	expect("commit", PT_SQL_TRANSACTION);
	expect("rollback", PT_SQL_TRANSACTION);
	expect("set autocommit = ?", PT_SQL_TRANSACTION);
	expect("PING", PT_SQL_OTHER);
	expect("set names ?", PT_SQL_OTHER);
}

Test(sql_class, names_round_trip)
{
	for (int c = 0; c < PT_SQL_CLASS_COUNT; c++)
		cr_assert_eq(sql_class_from_name(sql_class_name(c)), c);
	cr_assert_eq(sql_class_from_name("nope"), -1);
	cr_assert_null(sql_class_name(PT_SQL_CLASS_COUNT));
}
