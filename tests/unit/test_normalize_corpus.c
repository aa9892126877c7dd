/*
 * test_normalize_corpus.c -- the normalizers against recorded outputs:
 * 2,000 SQL statements, 1,200 Redis keys and 1,200 paths (AFIRGen's
 * queries with varied literals, spacing and case; token soups of every
 * lexical corner; noise bytes), each with the output the implementation
 * gave when the corpus was recorded (tests/data/normalize/, see
 * gen_corpus.py and record_corpus.c there).  A faster rewrite must give
 * the same bytes: the fingerprint is a grouping key, and a baseline saved
 * before the rewrite must still compare.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "normalize.h"

#define LINE_CAP 65536
#define OUT_CAP	 2048

static int file_exists(const char *path)
{
	FILE *f = fopen(path, "rb");
	if (f)
		fclose(f);
	return f != NULL;
}

/* tests/data/normalize/NAME: $PERFTAP_TEST_DATA/normalize, else found from
 * this file's path (tests run from the repository root), else from the
 * binary's directory upwards. */
static void corpus_path(const char *name, char *out, size_t cap)
{
	const char *env = getenv("PERFTAP_TEST_DATA");
	const char *slash = strrchr(__FILE__, '/');
	char exe[400];
	ssize_t n;

	if (env) {
		snprintf(out, cap, "%s/normalize/%s", env, name);
		return;
	}
	snprintf(out, cap, "%.*s/../data/normalize/%s",
		 slash ? (int)(slash - __FILE__) : 1, slash ? __FILE__ : ".",
		 name);
	if (file_exists(out))
		return;
	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	cr_assert_gt(n, 0);
	exe[n] = '\0';
	for (int up = 0; up < 8; up++) {
		char *s = strrchr(exe, '/');
		if (s == NULL)
			break;
		*s = '\0';
		snprintf(out, cap, "%s/tests/data/normalize/%s", exe, name);
		if (file_exists(out))
			return;
	}
	cr_assert_fail("tests/data/normalize not found; set PERFTAP_TEST_DATA");
}

static int hex_val(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* Undo record_corpus.c's escaping of s[0..n) into out; -1 if malformed. */
static long unescape(const char *s, size_t n, char *out)
{
	size_t o = 0;
	for (size_t i = 0; i < n; i++) {
		if (s[i] != '\\') {
			out[o++] = s[i];
		} else if (i + 1 < n && s[i + 1] == '\\') {
			out[o++] = '\\';
			i++;
		} else if (i + 3 < n && s[i + 1] == 'x' &&
			   hex_val(s[i + 2]) >= 0 && hex_val(s[i + 3]) >= 0) {
			out[o++] =
			    (char)(hex_val(s[i + 2]) * 16 + hex_val(s[i + 3]));
			i += 3;
		} else {
			return -1;
		}
	}
	return (long)o;
}

typedef size_t (*norm_fn)(const char *in, size_t len, char *out, size_t outcap);

static size_t route_no_table(const char *in, size_t len, char *out,
			     size_t outcap)
{
	return pt_http_route(in, len, NULL, out, outcap);
}

/* Run fn over every line of the corpus NAME; returns the lines checked.
 * Each input is copied to a heap block of its exact size, so that the
 * sanitizer build also catches a read past len. */
static size_t replay(const char *name, norm_fn fn)
{
	static char line[LINE_CAP], in[LINE_CAP], want[LINE_CAP];
	char path[600], out[OUT_CAP];
	size_t lines = 0, failures = 0;
	FILE *f;

	corpus_path(name, path, sizeof(path));
	f = fopen(path, "rb");
	cr_assert_not_null(f, "%s", path);
	while (fgets(line, sizeof(line), f)) {
		size_t l = strcspn(line, "\n");
		char *tab = memchr(line, '\t', l);
		long in_n, want_n;

		cr_assert_not_null(tab, "%s:%zu: no tab", name, lines + 1);
		in_n = unescape(line, (size_t)(tab - line), in);
		want_n = unescape(tab + 1, l - (size_t)(tab + 1 - line), want);
		cr_assert(in_n >= 0 && want_n >= 0, "%s:%zu: bad escape", name,
			  lines + 1);
		lines++;

		char *exact = malloc(in_n ? (size_t)in_n : 1);
		cr_assert_not_null(exact);
		memcpy(exact, in, (size_t)in_n);
		size_t r = fn(exact, (size_t)in_n, out, sizeof(out));
		free(exact);
		if (r != (size_t)want_n || memcmp(out, want, r) != 0) {
			want[want_n] = '\0';
			cr_expect_fail("%s:%zu: input  %.*s\n  want %s\n  got  "
				       "%s",
				       name, lines, (int)(tab - line), line,
				       want, out);
			if (++failures >= 20)
				break;
		}
	}
	fclose(f);
	return lines;
}

Test(corpus, sql_fingerprints_match_the_recorded_2000)
{
	cr_expect_eq(replay("sql.txt", pt_sql_fingerprint), 2000);
}

Test(corpus, key_patterns_match_the_recorded_1200)
{
	cr_expect_eq(replay("keys.txt", pt_redis_key_pattern), 1200);
}

Test(corpus, routes_match_the_recorded_1200)
{
	cr_expect_eq(replay("routes.txt", route_no_table), 1200);
}
