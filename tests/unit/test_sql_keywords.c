/*
 * test_sql_keywords.c -- every word of sql_keywords.h's list is
 * recognised by the fingerprint, in any case, with the effect its class
 * gives it; a word one letter longer is an identifier; and the lookup
 * hash of the list is perfect (one probe per word).
 */
#include <stdio.h>
#include <string.h>

#include <criterion/criterion.h>

#include "normalize.h"
#include "sql_keywords.h"

static const struct {
	const char *w;
	enum kw kw;
} words[] = {
#define KW_ENTRY(w, what) {w, what},
    SQL_KEYWORDS(KW_ENTRY)
#undef KW_ENTRY
};
#define NWORDS (sizeof(words) / sizeof(words[0]))

static void fingerprint(const char *sql, char *out, size_t cap)
{
	pt_sql_fingerprint(sql, strlen(sql), out, cap);
}

static void upper(const char *w, char *out)
{
	size_t i = 0;
	for (; w[i]; i++)
		out[i] = (char)(w[i] - 'a' + 'A');
	out[i] = '\0';
}

/* A statement in which word w has its class's effect, and the
 * fingerprint that effect gives (spelt with the lower-case word). */
static void probe(enum kw kw, const char *w, const char *lw, char *in,
		  char *want, size_t cap)
{
	switch (kw) {
	case KW_OP: /* a sign after it starts a literal */
		snprintf(in, cap, "select x %s -1", w);
		snprintf(want, cap, "select x %s ?", lw);
		break;
	case KW_VALUE:
		snprintf(in, cap, "select %s", w);
		snprintf(want, cap, "select ?");
		break;
	case KW_ASC:
		snprintf(in, cap, "select a from t order by a %s", w);
		snprintf(want, cap, "select a from t order by a");
		break;
	case KW_LIMIT:
		snprintf(in, cap, "select a from t %s 5 offset 3", w);
		snprintf(want, cap, "select a from t limit ?,?");
		break;
	case KW_OFFSET:
		snprintf(in, cap, "select a from t limit 5 %s 3", w);
		snprintf(want, cap, "select a from t limit ?,?");
		break;
	case KW_IN:
		snprintf(in, cap, "select a from t where a %s (1,2,3)", w);
		snprintf(want, cap, "select a from t where a %s(?+)", lw);
		break;
	case KW_VALUES:
		snprintf(in, cap, "insert into t %s (1),(2)", w);
		snprintf(want, cap, "insert into t %s(?+)", lw);
		break;
	case KW_CALL:
		snprintf(in, cap, "%s p(1)", w);
		snprintf(want, cap, "%s p", lw);
		break;
	default:
		cr_assert_fail("%s: no class", w);
	}
}

Test(sql_keywords, every_listed_word_is_recognised_in_any_case)
{
	char in[128], want[128], out[128], up[KW_MAX + 1];

	cr_assert_gt(NWORDS, 40);
	for (size_t i = 0; i < NWORDS; i++) {
		probe(words[i].kw, words[i].w, words[i].w, in, want,
		      sizeof(in));
		fingerprint(in, out, sizeof(out));
		cr_expect_str_eq(out, want, "%s", in);
		upper(words[i].w, up);
		probe(words[i].kw, up, words[i].w, in, want, sizeof(in));
		fingerprint(in, out, sizeof(out));
		cr_expect_str_eq(out, want, "%s", in);
	}
}

Test(sql_keywords, a_word_one_letter_longer_is_an_identifier)
{
	char in[128], want[128], out[128];

	for (size_t i = 0; i < NWORDS; i++) {
		snprintf(in, sizeof(in), "select x %sx -1", words[i].w);
		snprintf(want, sizeof(want), "select x %sx - ?", words[i].w);
		fingerprint(in, out, sizeof(out));
		cr_expect_str_eq(out, want, "%s", in);
	}
}

Test(sql_keywords, each_word_is_listed_once)
{
	for (size_t i = 0; i < NWORDS; i++)
		for (size_t j = i + 1; j < NWORDS; j++)
			cr_expect_str_neq(words[i].w, words[j].w);
}

Test(sql_keywords, lookup_hash_of_the_list_is_perfect)
{
	cr_assert_eq(sql_keyword_probes(), 1,
		     "a word collides: pick a new KW_HASH_MUL");
}
