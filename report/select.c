/*
 * select.c -- parse selectors and match them against operations.
 */
#include "select.h"

#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sql_class.h"

void selector_fold_placeholders(const char *text, char *out, size_t outcap)
{
	size_t o = 0;
	for (const char *p = text; *p && o + 1 < outcap; p++) {
		out[o++] = *p;
		if (*p == '{') {
			const char *close = strchr(p, '}');
			if (close && !memchr(p, '/', (size_t)(close - p)))
				p = close - 1; /* keep only the braces */
		}
	}
	out[o] = '\0';
}

static int parse_kind(const char *word, size_t len, struct pt_selector *out,
		      char *err, size_t errlen)
{
	static const struct {
		const char *name;
		enum pt_sel_kind kind;
	} plain[] = {{"http", PT_SEL_HTTP},
		     {"http_out", PT_SEL_HTTP_OUT},
		     {"sql", PT_SEL_SQL},
		     {"mysql", PT_SEL_SQL},
		     {"redis", PT_SEL_REDIS},
		     {"cache", PT_SEL_CACHE},
		     {"get_or_fetch", PT_SEL_GET_OR_FETCH},
		     {"sqlite", PT_SEL_SQLITE},
		     {"process", PT_SEL_PROCESS}};
	for (size_t i = 0; i < sizeof(plain) / sizeof(plain[0]); i++)
		if (strlen(plain[i].name) == len &&
		    !strncmp(word, plain[i].name, len)) {
			out->kind = plain[i].kind;
			return 0;
		}
	if (len > 4 && !strncmp(word, "sql:", 4)) {
		char name[32];
		snprintf(name, sizeof(name), "%.*s", (int)(len - 4), word + 4);
		out->kind = PT_SEL_SQL_CLASS;
		out->sql_class = sql_class_from_name(name);
		if (out->sql_class >= 0)
			return 0;
		snprintf(err, errlen, "unknown SQL class '%s'", name);
		return -1;
	}
	if (len >= 11 && !strncmp(word, "concurrency", 11)) {
		out->kind = PT_SEL_CONCURRENCY;
		if (len == 11 || (len == 13 && word[12] == '*'))
			return 0;
		char *end;
		long lv = strtol(word + 12, &end, 10);
		if (word[11] == ':' && end == word + len && lv > 0 &&
		    lv < 1000000) {
			out->level = (int)lv;
			return 0;
		}
	}
	snprintf(err, errlen, "unknown selector kind '%.*s'", (int)len, word);
	return -1;
}

/* Strip a trailing " hit" / " miss" for the kinds that have the split. */
static void parse_split(char *pat, struct pt_selector *out)
{
	size_t len = strlen(pat);
	if (out->kind == PT_SEL_HTTP) {
		/* Requests by cache outcome (requests.h): all reads hit, or
		 * some missed. */
		if (len >= 7 && !strcmp(pat + len - 7, " cached")) {
			out->split = PT_SPLIT_HIT;
			pat[len - 7] = '\0';
		} else if (len >= 9 && !strcmp(pat + len - 9, " uncached")) {
			out->split = PT_SPLIT_MISS;
			pat[len - 9] = '\0';
		}
		return;
	}
	if (out->kind != PT_SEL_REDIS && out->kind != PT_SEL_GET_OR_FETCH &&
	    out->kind != PT_SEL_CACHE)
		return;
	if (len >= 4 && !strcmp(pat + len - 4, " hit")) {
		out->split = PT_SPLIT_HIT;
		pat[len - 4] = '\0';
	} else if (len >= 5 && !strcmp(pat + len - 5, " miss")) {
		out->split = PT_SPLIT_MISS;
		pat[len - 5] = '\0';
	} else if (!strcmp(pat, "hit") || !strcmp(pat, "miss")) {
		out->split = pat[0] == 'h' ? PT_SPLIT_HIT : PT_SPLIT_MISS;
		pat[0] = '\0';
	}
}

int selector_parse(const char *s, struct pt_selector *out, char *err,
		   size_t errlen)
{
	memset(out, 0, sizeof(*out));
	out->split = -1;
	out->sql_class = -1;
	while (*s == ' ')
		s++;
	size_t wl = strcspn(s, " ");
	if (wl == 0) {
		snprintf(err, errlen, "empty selector");
		return -1;
	}
	if (parse_kind(s, wl, out, err, errlen) < 0)
		return -1;
	const char *rest = s + wl;
	while (*rest == ' ')
		rest++;
	char pat[PT_TEXT_MAX + 1];
	snprintf(pat, sizeof(pat), "%s", rest);
	size_t len = strlen(pat);
	while (len && pat[len - 1] == ' ')
		pat[--len] = '\0';
	parse_split(pat, out);
	if (out->kind == PT_SEL_CONCURRENCY && pat[0]) {
		snprintf(err, errlen, "concurrency selectors take no text");
		return -1;
	}
	selector_fold_placeholders(pat[0] ? pat : "*", out->pattern,
				   sizeof(out->pattern));
	return 0;
}

static int kind_matches(const struct pt_selector *sel, const struct pt_op *op)
{
	switch (sel->kind) {
	case PT_SEL_HTTP:
		return op->kind == PT_KIND_HTTP_IN;
	case PT_SEL_HTTP_OUT:
		return op->kind == PT_KIND_HTTP_OUT;
	case PT_SEL_SQL:
		return op->kind == PT_KIND_MYSQL;
	case PT_SEL_SQL_CLASS:
		return op->kind == PT_KIND_MYSQL &&
		       op->sql_class == sel->sql_class;
	case PT_SEL_REDIS:
		return op->kind == PT_KIND_REDIS;
	case PT_SEL_CACHE:
		return op->kind == PT_KIND_REDIS &&
		       (op->cache_hits || op->cache_misses);
	case PT_SEL_GET_OR_FETCH:
		return op->kind == PT_OPK_GET_OR_FETCH;
	case PT_SEL_SQLITE:
		return op->kind == PT_KIND_SQLITE;
	case PT_SEL_CONCURRENCY:
	case PT_SEL_PROCESS:
		return 0; /* levels and processes are not operations */
	}
	return 0;
}

int selector_match_process(const struct pt_selector *sel, int32_t pid,
			   const char *name)
{
	if (sel->kind != PT_SEL_PROCESS)
		return 0;
	char *end;
	long v = strtol(sel->pattern, &end, 10);
	if (end != sel->pattern && !*end)
		return v == pid;
	return fnmatch(sel->pattern, name, 0) == 0;
}

int selector_match_op(const struct pt_selector *sel, const struct pt_op *op,
		      int exact)
{
	if (!kind_matches(sel, op))
		return 0;
	const char *text = op->text;
	if (sel->kind == PT_SEL_CACHE) {
		const char *sp = strchr(text, ' ');
		text = sp ? sp + 1 : "";
	}
	char folded[PT_TEXT_MAX + 1];
	selector_fold_placeholders(text, folded, sizeof(folded));
	if (exact)
		return !strcmp(sel->pattern, folded);
	return fnmatch(sel->pattern, folded, 0) == 0;
}
