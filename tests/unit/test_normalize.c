/*
 * test_normalize.c -- SQL fingerprints, Redis key patterns, HTTP routes:
 * AFIRGen's own statements, keys and paths, every literal kind, truncated
 * input at every length (ASan watches the reads), canary literals that
 * must never come out, small output buffers, and random bytes.
 */
#include <criterion/criterion.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "normalize.h"

#define OUTCAP 1024

/* Fingerprint a C string into a static buffer (one per call site is not
 * needed: tests compare right away). */
static const char *fp(const char *sql)
{
	static char out[OUTCAP];
	size_t n = pt_sql_fingerprint(sql, strlen(sql), out, sizeof(out));
	cr_assert_eq(n, strlen(out), "returned length %zu, string %zu", n,
		     strlen(out));
	return out;
}

static const char *key(const char *k)
{
	static char out[OUTCAP];
	size_t n = pt_redis_key_pattern(k, strlen(k), out, sizeof(out));
	cr_assert_eq(n, strlen(out));
	return out;
}

static const char *route_t(const char *p, const struct pt_route_table *t)
{
	static char out[OUTCAP];
	size_t n = pt_http_route(p, strlen(p), t, out, sizeof(out));
	cr_assert_eq(n, strlen(out));
	return out;
}

static const char *route(const char *p)
{
	return route_t(p, NULL);
}

#define FP_EQ(sql, want)  cr_expect_str_eq(fp(sql), want, "sql: %s", sql)
#define KEY_EQ(k, want)	  cr_expect_str_eq(key(k), want, "key: %s", k)
#define ROUTE_EQ(p, want) cr_expect_str_eq(route(p), want, "path: %s", p)

/* Same fingerprint for two spellings of one query. */
static void same_fp(const char *a, const char *b)
{
	char fa[OUTCAP], fb[OUTCAP];
	pt_sql_fingerprint(a, strlen(a), fa, sizeof(fa));
	pt_sql_fingerprint(b, strlen(b), fb, sizeof(fb));
	cr_expect_str_eq(fa, fb, "\n  %s\n  %s", a, b);
}

/* Case-insensitive substring search (fingerprints are lower-cased). */
static int contains_ci(const char *hay, const char *needle)
{
	size_t n = strlen(needle);
	for (; *hay; hay++) {
		size_t i = 0;
		while (i < n && hay[i] && (hay[i] | 0x20) == (needle[i] | 0x20))
			i++;
		if (i == n)
			return 1;
	}
	return 0;
}

/* ---- SQL: the brief's and AFIRGen's statements ----------------------- */

Test(sql, point_select_by_fir_number_loses_the_fir_number)
{
	FP_EQ("SELECT * FROM fir_records WHERE "
	      "fir_number='FIR-1a2b3c4d-20260115093000'",
	      "select * from fir_records where fir_number=?");
}

Test(sql, keyset_pagination_loses_every_literal)
{
	FP_EQ("SELECT id, fir_number FROM fir_records WHERE created_at < "
	      "'2026-01-15 09:30:00' OR (created_at = '2026-01-15 09:30:00' "
	      "AND id < 1234) ORDER BY created_at DESC, id DESC LIMIT 21",
	      "select id,fir_number from fir_records where created_at<? or "
	      "(created_at=? and id<?) order by created_at desc,id desc "
	      "limit ?");
}

Test(sql, multi_row_insert_folds_to_values_plus)
{
	FP_EQ("INSERT INTO t (a,b) VALUES (1,'x'),(2,'y')",
	      "insert into t (a,b) values(?+)");
}

Test(sql, in_list_folds)
{
	FP_EQ("SELECT * FROM t WHERE id IN (1,2,3)",
	      "select * from t where id in(?+)");
}

Test(sql, fulltext_against_loses_its_text)
{
	FP_EQ("SELECT * FROM firs WHERE MATCH(description) AGAINST('canary "
	      "text' IN NATURAL LANGUAGE MODE)",
	      "select * from firs where match(description) against(? in "
	      "natural language mode)");
}

Test(sql, afirgen_driver_placeholders_become_question_marks)
{
	FP_EQ("SELECT * FROM fir_records WHERE fir_number=%s",
	      "select * from fir_records where fir_number=?");
	FP_EQ("SELECT * FROM t WHERE a=%(name)s AND b=:b AND c=$1 AND d=?",
	      "select * from t where a=? and b=? and c=? and d=?");
}

Test(sql, metrics_aggregation_keeps_functions_and_loses_numbers)
{
	FP_EQ("SELECT status, COUNT(*), AVG(TIMESTAMPDIFF(SECOND, created_at, "
	      "finalized_at)) FROM fir_records WHERE created_at >= NOW() - "
	      "INTERVAL 1 HOUR GROUP BY status",
	      "select status,count(*),avg(timestampdiff(second,created_at,"
	      "finalized_at)) from fir_records where created_at>=now() - "
	      "interval ? hour group by status");
}

/* ---- SQL: comments ------------------------------------------------------ */

Test(sql, comments_of_every_kind_vanish_with_their_secrets)
{
	const char *q = "/* secret1 */ SELECT a -- secret2\n, b # secret3\n"
			"FROM t /*! secret4 */ /*+ secret5 */ WHERE c = 1 -- ";
	const char *f = fp(q);
	cr_expect_str_eq(f, "select a,b from t where c=?");
	for (int i = 1; i <= 5; i++) {
		char w[32];
		snprintf(w, sizeof(w), "secret%d", i);
		cr_expect(!contains_ci(f, w), "%s leaked: %s", w, f);
	}
}

Test(sql, version_comment_keeps_nothing)
{
	FP_EQ("/*!40101 SET NAMES utf8mb4 */", "");
	FP_EQ("SELECT /*!40001 SQL_NO_CACHE */ a FROM t", "select a from t");
}

Test(sql, nested_comment_hides_everything_inside)
{
	FP_EQ("SELECT /* a /* b */ secret */ 1", "select ?");
}

Test(sql, unterminated_comment_runs_to_the_end)
{
	FP_EQ("SELECT 1 /* secret", "select ?");
	FP_EQ("SELECT 1 -- secret", "select ?");
}

Test(sql, double_dash_without_space_is_two_minus_signs)
{
	FP_EQ("SELECT a--1 FROM t", "select a - ? from t");
}

/* ---- SQL: literals --------------------------------------------------------
 */

Test(sql, strings_with_escapes_are_one_literal)
{
	FP_EQ("SELECT 'it\\'s', 'it''s', \"say \\\"hi\\\"\", \"a\"\"b\"",
	      "select ?,?,?,?");
	FP_EQ("SELECT 'a\\\\' , b FROM t", "select ?,b from t");
}

Test(sql, numbers_of_every_shape_are_literals)
{
	FP_EQ("SELECT 1, 12.5, .5, 1e10, 1.5E-3, 2e+4, 0x1F, 0b101, 123abc",
	      "select ?,?,?,?,?,?,?,?,?");
}

Test(sql, hex_bit_national_and_charset_strings_are_literals)
{
	FP_EQ("SELECT X'4142', x'41', B'01', b'1', N'abc', _utf8mb4'x', "
	      "_binary'y'",
	      "select ?,?,?,?,?,?,?");
}

Test(sql, null_true_false_are_literals)
{
	FP_EQ("SELECT NULL, TRUE, false FROM t WHERE a IS NULL",
	      "select ?,?,? from t where a is ?");
}

Test(sql, unary_minus_joins_its_literal_binary_minus_stays)
{
	FP_EQ("SELECT -5, - 5, a-5, a - -5, (-1), f(-2.5), a = -3 FROM t",
	      "select ?,?,a - ?,a - ?,(?),f(?),a=? from t");
	FP_EQ("SELECT a+1, +2 FROM t", "select a + ?,? from t");
}

Test(sql, unterminated_string_runs_to_the_end)
{
	FP_EQ("SELECT * FROM t WHERE a = 'FIR-secret",
	      "select * from t where a=?");
	FP_EQ("SELECT * FROM t WHERE a = \"secret\\",
	      "select * from t where a=?");
}

Test(sql, embedded_nul_bytes_separate_tokens)
{
	const char q[] = "SELECT\0a\0FROM t WHERE b='x\0y'";
	char out[OUTCAP];
	size_t n = pt_sql_fingerprint(q, sizeof(q) - 1, out, sizeof(out));
	cr_assert_eq(n, strlen(out));
	cr_expect_str_eq(out, "select a from t where b=?");
}

/* ---- SQL: identifiers and keywords --------------------------------------- */

Test(sql, keywords_and_identifiers_are_lower_cased)
{
	FP_EQ("SELECT Fir_Number FROM FIR_RECORDS",
	      "select fir_number from fir_records");
}

Test(sql, backquoted_names_lose_their_quotes)
{
	FP_EQ("SELECT `Fir`.`id` FROM `FIR` AS `Fir`",
	      "select fir.id from fir as fir");
	same_fp("select `id` from `fir_records`", "select id from fir_records");
}

Test(sql, unterminated_backquote_is_a_name_to_the_end)
{
	FP_EQ("SELECT `abc", "select abc");
}

Test(sql, numbered_table_suffixes_fold)
{
	FP_EQ("SELECT * FROM fir_2024", "select * from fir_?");
	FP_EQ("SELECT * FROM t_01 JOIN logs_2024_01 USING (id)",
	      "select * from t_? join logs_?_? using (id)");
	FP_EQ("SELECT * FROM t1 JOIN sha256 USING (id)",
	      "select * from t1 join sha256 using (id)");
}

Test(sql, use_keeps_the_database_name)
{
	FP_EQ("USE afirgen", "use afirgen");
	FP_EQ("use `Shard_07`", "use shard_?");
}

Test(sql, call_drops_its_arguments)
{
	FP_EQ("CALL finalize_fir('FIR-1a2b3c4d-20260115093000', 42)",
	      "call finalize_fir");
	FP_EQ("call db.proc(1)", "call db.proc");
}

Test(sql, order_by_asc_is_the_default_and_is_dropped)
{
	same_fp("SELECT a FROM t ORDER BY a ASC, b DESC",
		"select a from t order by a, b desc");
}

/* ---- SQL: lists, limits, writes
 * ---------------------------------------------- */

Test(sql, in_list_folds_whatever_its_spacing_or_length)
{
	same_fp("select * from t where id in (1)",
		"SELECT * FROM t WHERE id IN ( 1 , 2 , 3 , 'x' )");
	FP_EQ("SELECT * FROM t WHERE id NOT IN (?, ?, ?)",
	      "select * from t where id not in(?+)");
	FP_EQ("SELECT * FROM t WHERE (a,b) IN ((1,2),(3,4))",
	      "select * from t where (a,b) in(?+)");
}

Test(sql, in_subquery_is_kept)
{
	FP_EQ("SELECT * FROM t WHERE id IN (SELECT fir_id FROM v WHERE x=1)",
	      "select * from t where id in(select fir_id from v where x=?)");
}

Test(sql, single_row_values_stays_one_row)
{
	FP_EQ("INSERT INTO t (a, b) VALUES (%s, %s)",
	      "insert into t (a,b) values(?,?)");
	FP_EQ("INSERT INTO t VALUE (1)", "insert into t value(?)");
}

Test(sql, rows_of_any_count_give_one_fingerprint)
{
	same_fp("INSERT INTO t VALUES (1,'a'),(2,'b')",
		"insert into t values (1,'a'), (2,'b'), (3, 'c'),(4,'d')");
}

Test(sql, rows_with_expressions_keep_the_first_and_mark_the_rest)
{
	FP_EQ("INSERT INTO t VALUES (1, NOW()), (2, NOW()), (3, NOW())",
	      "insert into t values(?,now()),...");
	same_fp("INSERT INTO t VALUES (1, NOW()), (2, NOW())",
		"INSERT INTO t VALUES (1, NOW()), (2, NOW()), (3, NOW())");
}

Test(sql, rows_skipped_hide_their_strings_and_comments)
{
	const char *f = fp("INSERT INTO t VALUES (1,'a'),('x)y', /* ) */ "
			   "'s3cret'),(3,'(')");
	cr_expect_str_eq(f, "insert into t values(?+)");
}

Test(sql, on_duplicate_key_update_keeps_values_function)
{
	FP_EQ("INSERT INTO t (a, b) VALUES (1, 2) ON DUPLICATE KEY UPDATE "
	      "a = VALUES(a), b = b + 1",
	      "insert into t (a,b) values(?,?) on duplicate key update "
	      "a=values(a),b=b + ?");
}

Test(sql, limit_offset_and_limit_comma_agree)
{
	FP_EQ("SELECT a FROM t LIMIT 10", "select a from t limit ?");
	FP_EQ("SELECT a FROM t LIMIT 20, 10", "select a from t limit ?,?");
	same_fp("SELECT a FROM t LIMIT 10 OFFSET 20",
		"SELECT a FROM t LIMIT 20, 10");
}

Test(sql, trailing_semicolons_are_dropped_inner_ones_kept)
{
	FP_EQ("SELECT 1;", "select ?");
	FP_EQ(";;SELECT 1;;", "select ?");
	FP_EQ("BEGIN; SELECT 1 ; COMMIT;", "begin; select ?; commit");
}

Test(sql, transaction_and_ddl_statements_pass_through_lower_cased)
{
	FP_EQ("START TRANSACTION", "start transaction");
	FP_EQ("CREATE TABLE t (a INT NOT NULL DEFAULT -1, b VARCHAR(100))",
	      "create table t (a int not ? default ?,b varchar(?))");
}

/* ---- SQL: spacing -----------------------------------------------------------
 */

Test(sql, spacing_variants_give_one_fingerprint)
{
	same_fp("SELECT a,b FROM t WHERE a=1 AND b IN(1,2)",
		"select  a ,\n b\tfrom t where a = 1 and b in ( 1, 2 )");
	same_fp("select count( * ) from t where x<>1 or y<=2 or z!=3",
		"SELECT COUNT(*) FROM t WHERE x <> 1 OR y <= 2 OR z != 3");
	same_fp("select t.a from t where t.b>=?", "SELECT t . a FROM t "
						  "WHERE t . b >= 5");
	same_fp("SELECT a*2 FROM t", "SELECT a * 2 FROM t");
}

Test(sql, space_before_paren_follows_the_source)
{
	FP_EQ("INSERT INTO t(a) VALUES (1)", "insert into t(a) values(?)");
	FP_EQ("INSERT INTO t (a) VALUES (1)", "insert into t (a) values(?)");
}

Test(sql, fingerprint_of_a_fingerprint_is_stable)
{
	static const char *const corpus[] = {
	    "SELECT * FROM fir_records WHERE fir_number='FIR-1a2b3c4d-2026'",
	    "INSERT INTO t (a,b) VALUES (1,'x'),(2,'y')",
	    "INSERT INTO t VALUES (1, NOW()), (2, NOW())",
	    "SELECT * FROM t WHERE id IN (1,2,3) LIMIT 5 OFFSET 10",
	    "SELECT * FROM logs_2024_01 WHERE a = -1 AND b LIKE 'x%'",
	    "SELECT COUNT(*) FROM t WHERE x IS NOT NULL",
	    "CALL p(1)",
	    "UPDATE fir_records SET status='finalized', finalized_at=NOW() "
	    "WHERE fir_number=%s",
	    "select a from t; select b from u where c in (1)",
	    "SELECT `a b`, t.* FROM t WHERE a->>'$.x' = 1",
	};
	for (size_t i = 0; i < sizeof(corpus) / sizeof(corpus[0]); i++) {
		char a[OUTCAP], b[OUTCAP];
		size_t na = pt_sql_fingerprint(corpus[i], strlen(corpus[i]), a,
					       sizeof(a));
		size_t nb = pt_sql_fingerprint(a, na, b, sizeof(b));
		cr_expect_str_eq(a, b, "not stable: %s", corpus[i]);
		cr_expect_eq(na, nb);
	}
}

/* ---- SQL: truncation, canaries, small buffers
 * ------------------------------------ */

/* Statements whose every literal holds "zq" (and whose names never do):
 * no prefix of them may leak a byte of those literals. */
static const char *const canary_sql[] = {
    "SELECT * FROM fir_records WHERE fir_number='FIR-zq1a2b3c-20260115'",
    "INSERT INTO t (a,b) VALUES ('zqone', \"zqtwo\"), ('zq''x', 'zq\\'y')",
    "SELECT * FROM t WHERE MATCH(d) AGAINST('zq canary text' IN BOOLEAN "
    "MODE) /* zqcomment */ -- zqdash\n# zqhash\n",
    "UPDATE t SET a = X'7A71', b = _utf8mb4'zqname', c = N'zqn' WHERE "
    "id = 123456789",
    "SELECT /*! zqversion */ a FROM t WHERE b IN ('zq1', 'zq2') LIMIT 7",
    "CALL p('zqarg')",
};

/* Copy s[0..n) into a heap block of exactly n bytes, so that ASan catches
 * a read past len. */
static char *exact_copy(const char *s, size_t n)
{
	char *p = malloc(n ? n : 1);
	cr_assert_not_null(p);
	memcpy(p, s, n);
	return p;
}

Test(sql, every_prefix_normalizes_within_len_and_leaks_no_canary)
{
	for (size_t k = 0; k < sizeof(canary_sql) / sizeof(canary_sql[0]);
	     k++) {
		size_t len = strlen(canary_sql[k]);
		for (size_t n = 0; n <= len; n++) {
			char *in = exact_copy(canary_sql[k], n);
			char out[OUTCAP];
			size_t r = pt_sql_fingerprint(in, n, out, sizeof(out));
			cr_assert_eq(r, strlen(out));
			cr_assert(!contains_ci(out, "zq"),
				  "prefix %zu of #%zu leaks: %s", n, k, out);
			cr_assert(!contains_ci(out, "123"),
				  "prefix %zu of #%zu leaks a number: %s", n, k,
				  out);
			free(in);
		}
	}
}

Test(sql, small_outcap_cuts_and_terminates_and_never_writes_past_it)
{
	const char *q = canary_sql[0];
	char full[OUTCAP];
	size_t fn = pt_sql_fingerprint(q, strlen(q), full, sizeof(full));
	for (size_t cap = 1; cap <= fn + 2; cap++) {
		char buf[OUTCAP];
		memset(buf, 'X', sizeof(buf));
		size_t r = pt_sql_fingerprint(q, strlen(q), buf, cap);
		cr_assert_leq(r, cap - 1);
		cr_assert_eq(buf[r], '\0', "cap %zu", cap);
		cr_assert_eq(strlen(buf), r);
		cr_assert_eq(buf[cap], 'X', "wrote past cap %zu", cap);
		cr_assert_eq(memcmp(buf, full, r), 0, "cap %zu: %s", cap, buf);
	}
}

Test(sql, outcap_zero_writes_nothing)
{
	char c = 'X';
	cr_expect_eq(pt_sql_fingerprint("SELECT 1", 8, &c, 0), 0);
	cr_expect_eq(c, 'X');
	cr_expect_eq(pt_redis_key_pattern("a:1", 3, &c, 0), 0);
	cr_expect_eq(pt_http_route("/a/1", 4, NULL, &c, 0), 0);
	cr_expect_eq(c, 'X');
}

Test(sql, folded_lists_cut_by_outcap_still_terminate)
{
	const char *q = "SELECT * FROM t WHERE id IN (1,2,3,4,5,6,7,8,9,10)";
	for (size_t cap = 1; cap < 40; cap++) {
		char buf[64];
		memset(buf, 'X', sizeof(buf));
		size_t r = pt_sql_fingerprint(q, strlen(q), buf, cap);
		cr_assert_leq(r, cap - 1);
		cr_assert_eq(strlen(buf), r);
		cr_assert_eq(buf[cap], 'X');
	}
}

Test(sql, numbered_names_cut_by_outcap_never_write_past_it)
{
	const char *q = "select a_1_22_333 from logs_2024_01_02";
	char full[OUTCAP];
	size_t fn = pt_sql_fingerprint(q, strlen(q), full, sizeof(full));
	for (size_t cap = 1; cap <= fn + 1; cap++) {
		char buf[64];
		memset(buf, 'X', sizeof(buf));
		size_t r = pt_sql_fingerprint(q, strlen(q), buf, cap);
		cr_assert_leq(r, cap - 1);
		cr_assert_eq(strlen(buf), r, "cap %zu", cap);
		cr_assert_eq(buf[cap], 'X', "wrote past cap %zu", cap);
	}
	cr_expect_str_eq(full, "select a_?_?_? from logs_?_?_?");
}

Test(sql, null_input_gives_empty_output)
{
	char out[8] = "junk";
	cr_expect_eq(pt_sql_fingerprint(NULL, 10, out, sizeof(out)), 0);
	cr_expect_str_eq(out, "");
}

/* ---- random bytes (seeded, reproducible)
 * ------------------------------------------ */

static uint64_t rng_next(uint64_t *s)
{
	/* xorshift64*: fixed seed, same bytes on every run */
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * 2685821657736338717ull;
}

/* Random bytes biased towards the characters the lexers care about. */
static size_t random_input(uint64_t *s, char *buf, size_t cap)
{
	static const char special[] = "'\"`\\/*-#(),;:%$?.=<>!+ \n\t0123a_@{}";
	size_t n = rng_next(s) % cap;
	for (size_t i = 0; i < n; i++) {
		uint64_t r = rng_next(s);
		buf[i] = (r & 1) ? special[(r >> 8) % (sizeof(special) - 1)]
				 : (char)(r >> 16);
	}
	return n;
}

Test(fuzz, ten_thousand_random_inputs_never_crash_and_always_terminate)
{
	uint64_t seed = 0x9e3779b97f4a7c15ull;
	char in[300], out[128];
	for (int i = 0; i < 10000; i++) {
		size_t n = random_input(&seed, in, sizeof(in));
		char *exact = exact_copy(in, n);
		size_t cap = 1 + rng_next(&seed) % sizeof(out);
		size_t r;

		r = pt_sql_fingerprint(exact, n, out, cap);
		cr_assert_leq(r, cap - 1);
		cr_assert_eq(strlen(out), r, "sql input %d", i);
		r = pt_redis_key_pattern(exact, n, out, cap);
		cr_assert_leq(r, cap - 1);
		cr_assert_eq(strlen(out), r, "key input %d", i);
		r = pt_http_route(exact, n, NULL, out, cap);
		cr_assert_leq(r, cap - 1);
		cr_assert_eq(strlen(out), r, "route input %d", i);
		free(exact);
	}
}

Test(fuzz, random_text_around_a_string_literal_never_leaks_it)
{
	uint64_t seed = 42;
	char in[400], out[OUTCAP];
	for (int i = 0; i < 2000; i++) {
		/* no quote, comment or escape before the literal: those would
		 * make it something else than a literal */
		size_t n = random_input(&seed, in, 150);
		for (size_t k = 0; k < n; k++)
			if (strchr("'\"`#-/\\", in[k]) || in[k] == '\0')
				in[k] = ' ';
		static const char lit[] = " 'zqsecret'";
		memcpy(in + n, lit, sizeof(lit) - 1);
		n += sizeof(lit) - 1;
		n += random_input(&seed, in + n, 100);
		pt_sql_fingerprint(in, n, out, sizeof(out));
		cr_assert(!contains_ci(out, "zqsecret"), "input %d: %s", i,
			  out);
	}
}

/* ---- Redis keys
 * ------------------------------------------------------------------ */

Test(key, afirgen_keys_become_their_patterns)
{
	KEY_EQ("fir:record:FIR-1a2b3c4d-20260115093000", "fir:record:*");
	KEY_EQ("fir:user:user_42:limit:10", "fir:user:*:limit:*");
	KEY_EQ("fir:stats:count_by_status", "fir:stats:count_by_status");
	KEY_EQ("model_responses:gguf:response:"
	       "9f86d081884c7d659a2feaa0c55ad015",
	       "model_responses:gguf:response:*");
}

Test(key, keys_glob_star_is_kept)
{
	KEY_EQ("fir:list:*", "fir:list:*");
	KEY_EQ("fir:*", "fir:*");
}

Test(key, uuid_hash_token_email_are_ids)
{
	KEY_EQ("session:550e8400-e29b-41d4-a716-446655440000", "session:*");
	KEY_EQ("h:da39a3ee5e6b4b0d3255bfef95601890afd80709", "h:*");
	KEY_EQ("h:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852"
	       "b855",
	       "h:*");
	KEY_EQ("tok:eyJhbGciOiJIUzI1NiJ9", "tok:*");
	KEY_EQ("tok:dGhpc2lzYXRva2VuZm9yeW91", "tok:*");
	KEY_EQ("mail:asha.k@example.in:prefs", "mail:*:prefs");
	KEY_EQ("crc:deadbee1", "crc:*");
}

Test(key, numbers_dates_and_glued_numbers_are_ids)
{
	KEY_EQ("a:12345", "a:*");
	KEY_EQ("a:7", "a:*");
	KEY_EQ("a:-3", "a:*");
	KEY_EQ("a:2026-01-15", "a:*");
	KEY_EQ("a:10.0.0.1", "a:*");
	KEY_EQ("a:user1234", "a:*");
	KEY_EQ("a:page-2", "a:*");
}

Test(key, namespace_words_with_few_digits_stay)
{
	KEY_EQ("cache:v1:sha256:utf8mb4:oauth2", "cache:v1:sha256:utf8mb4:"
						 "oauth2");
	KEY_EQ("api.example.com:health", "api.example.com:health");
}

Test(key, a_word_after_an_id_taking_word_is_an_id)
{
	KEY_EQ("fir:user:alice:limit:10", "fir:user:*:limit:*");
	KEY_EQ("session:abc", "session:*");
	KEY_EQ("fir:owner:alice", "fir:owner:alice");
}

Test(key, runs_of_ids_fold_to_one_star)
{
	KEY_EQ("fir:list:2026-01-15 09:30:00:20", "fir:list:*");
	KEY_EQ("a:1:2:3:b", "a:*:b");
	KEY_EQ("a:*:123", "a:*");
}

Test(key, slash_and_pipe_also_separate)
{
	KEY_EQ("url|/fir/FIR-1a2b3c4d-20260115093000/content",
	       "url|/fir/*/content");
}

Test(key, non_ascii_and_control_bytes_are_ids)
{
	const char k[] = "name:\xe0\xa4\xb0\xe0\xa4\xbe\xe0\xa4\xae:x\0y:z";
	char out[64];
	size_t n = pt_redis_key_pattern(k, sizeof(k) - 1, out, sizeof(out));
	cr_assert_eq(n, strlen(out));
	cr_expect_str_eq(out, "name:*:z");
}

Test(key, empty_parts_are_kept)
{
	KEY_EQ("", "");
	KEY_EQ("a::b:", "a::b:");
}

Test(key, small_outcap_cuts_and_terminates)
{
	const char *k = "fir:user:user_42:limit:10";
	for (size_t cap = 1; cap < 24; cap++) {
		char buf[32];
		memset(buf, 'X', sizeof(buf));
		size_t r = pt_redis_key_pattern(k, strlen(k), buf, cap);
		cr_assert_leq(r, cap - 1);
		cr_assert_eq(strlen(buf), r);
		cr_assert_eq(buf[cap], 'X');
	}
}

Test(key, pattern_of_a_pattern_is_stable)
{
	KEY_EQ("fir:user:*:limit:*", "fir:user:*:limit:*");
	KEY_EQ("model_responses:gguf:response:*",
	       "model_responses:gguf:response:*");
}

Test(segment, classification_of_single_segments)
{
	cr_expect(pt_segment_is_id("FIR-1a2b3c4d-20260115093000", 27));
	cr_expect(pt_segment_is_id("user_42", 7));
	cr_expect(!pt_segment_is_id("v1", 2));
	cr_expect(!pt_segment_is_id("list_firs", 9));
	cr_expect(!pt_segment_is_id("count_by_status", 15));
	cr_expect(!pt_segment_is_id("", 0));
	cr_expect(pt_segment_is_id("%41", 3));
	cr_expect(pt_segment_takes_id("Session", 7));
	cr_expect(!pt_segment_takes_id("fir", 3));
}

/* ---- HTTP routes
 * --------------------------------------------------------------------- */

Test(route, afirgen_paths_become_routes)
{
	ROUTE_EQ("/fir/FIR-1a2b3c4d-20260115093000", "/fir/{id}");
	ROUTE_EQ("/fir/FIR-1a2b3c4d-20260115093000/content",
		 "/fir/{id}/content");
	ROUTE_EQ("/session/3f2c9a4e-8b1d-4c2a-9e7f-0a1b2c3d4e5f/status",
		 "/session/{id}/status");
	ROUTE_EQ("/list_firs?limit=20&cursor=abc", "/list_firs");
	ROUTE_EQ("/health", "/health");
	ROUTE_EQ("/metrics", "/metrics");
	ROUTE_EQ("/process", "/process");
}

Test(route, query_and_fragment_are_dropped)
{
	ROUTE_EQ("/fir/x?token=s3cret#frag", "/fir/x");
	ROUTE_EQ("/a#b?c", "/a");
	ROUTE_EQ("/?q=1", "/");
}

Test(route, version_and_api_words_stay)
{
	ROUTE_EQ("/api/v1/fir/123", "/api/v1/fir/{id}");
	ROUTE_EQ("/v2/list_firs", "/v2/list_firs");
}

Test(route, percent_encoded_and_unicode_segments_are_ids)
{
	ROUTE_EQ("/search/ram%20kumar", "/search/{id}");
	ROUTE_EQ("/search/\xe0\xa4\xb0\xe0\xa4\xbe\xe0\xa4\xae/x",
		 "/search/{id}/x");
}

Test(route, long_segments_and_user_words_are_ids)
{
	ROUTE_EQ("/doc/abcdefghijabcdefghijabcdefghijabcdefghij", "/doc/{id}");
	ROUTE_EQ("/users/alice/profile", "/users/{id}/profile");
}

Test(route, absolute_url_loses_scheme_and_host)
{
	ROUTE_EQ("http://127.0.0.1:8001/inference", "/inference");
	ROUTE_EQ("https://models.local", "/");
}

Test(route, question_mark_inside_the_authority_never_reads_past_len)
{
	static const char p[] = "http://h?x/fir/1";
	struct pt_route_table *t =
	    pt_route_table_parse("/fir/{n}\n", 9, NULL, 0);
	cr_assert_not_null(t);
	for (size_t n = 0; n <= sizeof(p) - 1; n++) {
		char *in = exact_copy(p, n);
		char out[64];
		size_t r = pt_http_route(in, n, t, out, sizeof(out));
		cr_assert_eq(strlen(out), r);
		r = pt_http_route(in, n, NULL, out, sizeof(out));
		cr_assert_eq(strlen(out), r);
		free(in);
	}
	cr_expect_str_eq(route_t(p, t), "/");
	pt_route_table_free(t);
}

Test(route, route_of_a_route_is_stable)
{
	ROUTE_EQ("/fir/{id}/content", "/fir/{id}/content");
}

Test(route, small_outcap_cuts_and_terminates)
{
	const char *p = "/fir/FIR-1a2b3c4d-20260115093000/content";
	for (size_t cap = 1; cap < 24; cap++) {
		char buf[32];
		memset(buf, 'X', sizeof(buf));
		size_t r = pt_http_route(p, strlen(p), NULL, buf, cap);
		cr_assert_leq(r, cap - 1);
		cr_assert_eq(strlen(buf), r);
		cr_assert_eq(buf[cap], 'X');
	}
}

/* ---- route tables
 * -------------------------------------------------------------------- */

static const char routes_text[] = "# AFIRGen routes\n"
				  "\n"
				  "/fir/{fir_number}\n"
				  "GET /fir/{fir_number}/content\n"
				  "  /session/{session_id}/status  \r\n"
				  "/fir/latest\n"
				  "/list_firs\n"
				  "/report.{format}\n";

Test(route_table, text_templates_win_over_heuristics)
{
	char err[128];
	struct pt_route_table *t = pt_route_table_parse(
	    routes_text, sizeof(routes_text) - 1, err, sizeof(err));
	cr_assert_not_null(t, "%s", err);
	cr_expect_eq(pt_route_table_count(t), 6);
	cr_expect_str_eq(route_t("/fir/FIR-1a2b3c4d-20260115093000", t),
			 "/fir/{fir_number}");
	cr_expect_str_eq(route_t("/fir/abc/content?x=1", t),
			 "/fir/{fir_number}/content");
	cr_expect_str_eq(route_t("/session/s1/status", t),
			 "/session/{session_id}/status");
	cr_expect_str_eq(route_t("/report.csv", t), "/report.{format}");
	cr_expect_str_eq(route_t("/fir/42/other", t), "/fir/{id}/other");
	cr_expect_str_eq(route_t("/fir/", t), "/fir/");
	pt_route_table_free(t);
}

Test(route_table, literal_template_beats_parameter)
{
	struct pt_route_table *t =
	    pt_route_table_parse(routes_text, sizeof(routes_text) - 1, NULL, 0);
	cr_assert_not_null(t);
	cr_expect_str_eq(route_t("/fir/latest", t), "/fir/latest");
	pt_route_table_free(t);
}

Test(route_table, fewer_parameters_then_longer_text_wins)
{
	const char txt[] = "/{a}/{b}\n/x/{b}\n/{a}/y\n/x/{long_name}\n";
	struct pt_route_table *t =
	    pt_route_table_parse(txt, sizeof(txt) - 1, NULL, 0);
	cr_assert_not_null(t);
	cr_expect_str_eq(route_t("/x/1", t), "/x/{long_name}");
	cr_expect_str_eq(route_t("/q/y", t), "/{a}/y");
	cr_expect_str_eq(route_t("/q/r", t), "/{a}/{b}");
	cr_expect_str_eq(route_t("/q", t), "/q");
	pt_route_table_free(t);
}

static const char openapi_json[] =
    "{\"openapi\":\"3.1.0\",\"info\":{\"title\":\"AFIRGen\"},"
    "\"paths\":{"
    "\"/process\":{\"post\":{}},"
    "\"/fir/{fir_number}\":{\"get\":{}},"
    "\"/fir/{fir_number}/content\":{\"get\":{}},"
    "\"/session/{session_id}/status\":{\"get\":{}},"
    "\"/list_firs\":{\"get\":{}}}}";

Test(route_table, openapi_paths_are_templates)
{
	char err[128];
	struct pt_route_table *t = pt_route_table_parse(
	    openapi_json, sizeof(openapi_json) - 1, err, sizeof(err));
	cr_assert_not_null(t, "%s", err);
	cr_expect_eq(pt_route_table_count(t), 5);
	cr_expect_str_eq(route_t("/fir/FIR-1/content", t),
			 "/fir/{fir_number}/content");
	cr_expect_str_eq(route_t("/session/whatever/status", t),
			 "/session/{session_id}/status");
	cr_expect_str_eq(route_t("/list_firs?limit=5", t), "/list_firs");
	pt_route_table_free(t);
}

Test(route_table, bad_sources_are_refused_with_a_reason)
{
	char err[128];
	cr_expect_null(
	    pt_route_table_parse("{\"paths\":", 9, err, sizeof(err)));
	cr_expect(strlen(err) > 0);
	cr_expect_null(
	    pt_route_table_parse("{\"info\":{}}", 11, err, sizeof(err)));
	cr_expect(strstr(err, "paths") != NULL, "%s", err);
	cr_expect_null(
	    pt_route_table_parse("# nothing\n\n", 11, err, sizeof(err)));
	cr_expect_null(
	    pt_route_table_parse("/ok\nGET nothing\n", 16, err, sizeof(err)));
	cr_expect(strstr(err, "line 2") != NULL, "%s", err);
	cr_expect_null(pt_route_table_parse("/a\0b\n", 5, err, sizeof(err)));
	cr_expect(strstr(err, "line 1") != NULL, "%s", err);
	cr_expect_null(pt_route_table_parse(NULL, 0, NULL, 0));
}

Test(route_table, load_reads_a_file_and_reports_a_missing_one)
{
	char path[] = "/tmp/test_normalize_routesXXXXXX";
	int fd = mkstemp(path);
	cr_assert_geq(fd, 0);
	cr_assert_eq(write(fd, routes_text, sizeof(routes_text) - 1),
		     (ssize_t)(sizeof(routes_text) - 1));
	close(fd);
	char err[256];
	struct pt_route_table *t = pt_route_table_load(path, err, sizeof(err));
	unlink(path);
	cr_assert_not_null(t, "%s", err);
	cr_expect_eq(pt_route_table_count(t), 6);
	pt_route_table_free(t);
	cr_expect_null(
	    pt_route_table_load("/nonexistent/routes", err, sizeof(err)));
	cr_expect(strlen(err) > 0);
	pt_route_table_free(NULL);
}

Test(route_table, template_output_is_cut_by_outcap)
{
	struct pt_route_table *t =
	    pt_route_table_parse(routes_text, sizeof(routes_text) - 1, NULL, 0);
	char buf[8];
	memset(buf, 'X', sizeof(buf));
	size_t r = pt_http_route("/fir/abc/content", 16, t, buf, 6);
	cr_expect_eq(r, 5);
	cr_expect_str_eq(buf, "/fir/");
	cr_expect_eq(buf[6], 'X');
	pt_route_table_free(t);
}
