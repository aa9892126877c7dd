/*
 * sql_class.c -- classify SQL fingerprints by shape.
 *
 * Works on the fingerprint alone (no schema), so "by key" is a heuristic:
 * a select whose whole WHERE clause is one `column = ?` is taken as a
 * lookup by a unique key (AFIRGen's `WHERE fir_number = %s`); any other
 * filtered select counts as an indexed select.  The order of the tests
 * matters: a full-text join is full-text, a paginated aggregation is an
 * aggregation.
 */
#include "sql_class.h"

#include <ctype.h>
#include <string.h>
#include <strings.h>

static const char *const class_names[PT_SQL_CLASS_COUNT] = {
    "point_select", "indexed_select", "join",	     "aggregation",
    "pagination",   "fulltext",	      "bulk_insert", "write",
    "ddl",	    "transaction",    "other"};

static int is_word_char(char c)
{
	return isalnum((unsigned char)c) || c == '_';
}

/* Position of word w in s as a whole word (case-insensitive), or NULL. */
static const char *find_word(const char *s, const char *w)
{
	size_t wl = strlen(w);
	for (const char *p = s; (p = strcasestr(p, w)) != NULL; p++) {
		int left = p == s || !is_word_char(p[-1]);
		int right = !is_word_char(p[wl]);
		if (left && right)
			return p;
	}
	return NULL;
}

static const char *skip_space(const char *s)
{
	while (*s == ' ' || *s == '\t' || *s == '\n' || *s == '(')
		s++;
	return s;
}

static int starts_with_word(const char *s, const char *w)
{
	size_t wl = strlen(w);
	return !strncasecmp(s, w, wl) && !is_word_char(s[wl]);
}

static int is_transaction(const char *s)
{
	static const char *const words[] = {
	    "begin",   "commit", "rollback",	     "savepoint",
	    "release", "xa",	 "start transaction"};
	for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++)
		if (starts_with_word(s, words[i]))
			return 1;
	return starts_with_word(s, "set") && find_word(s, "autocommit");
}

static int is_ddl(const char *s)
{
	static const char *const words[] = {"create", "alter", "drop",
					    "truncate", "rename"};
	for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++)
		if (starts_with_word(s, words[i]))
			return 1;
	return 0;
}

/* Several VALUES rows, in whichever way the fingerprint folded them. */
static int has_multi_row_values(const char *s)
{
	const char *v = find_word(s, "values");
	if (!v)
		v = find_word(s, "value");
	if (!v)
		return 0;
	return strstr(v, "),(") || strstr(v, "), (") || strstr(v, "?+") ||
	       strstr(v, "...") || strstr(v, "/*multi*/");
}

static int has_aggregate(const char *s)
{
	static const char *const fns[] = {"count", "sum", "avg",
					  "min",   "max", "group_concat"};
	for (size_t i = 0; i < sizeof(fns) / sizeof(fns[0]); i++) {
		const char *p = find_word(s, fns[i]);
		if (p) {
			p += strlen(fns[i]);
			while (*p == ' ')
				p++;
			if (*p == '(')
				return 1;
		}
	}
	return find_word(s, "group by") != NULL;
}

static int is_column_char(char c)
{
	return is_word_char(c) || c == '.' || c == '`';
}

/* The first ORDER BY column, without table prefix or quotes, into col. */
static int order_column(const char *order, char *col, size_t cap)
{
	const char *p = order + 8; /* "order by" */
	while (*p == ' ' || *p == '(')
		p++;
	const char *start = p, *name = p;
	while (is_column_char(*p)) {
		if (*p == '.')
			name = p + 1;
		p++;
	}
	if (*name == '`')
		name++;
	size_t n = (size_t)(p - name);
	if (n && name[n - 1] == '`')
		n--;
	if (p == start || n == 0 || n >= cap)
		return 0;
	memcpy(col, name, n);
	col[n] = '\0';
	return 1;
}

/* Does where (up to end) compare col to a parameter with < > <= >=,
 * alone or in a row comparison: `created_at < ?`, `(created_at, id) < (?,
 * ?)`, `f.created_at <= ?`? */
static int compares_to_param(const char *where, const char *end,
			     const char *col)
{
	size_t cl = strlen(col);
	for (const char *p = where; p < end && (p = strcasestr(p, col)); p++) {
		if (p >= end)
			break;
		if ((p > where && (is_word_char(p[-1]) && p[-1] != '.')) ||
		    is_word_char(p[cl]))
			continue;
		const char *q = p + cl;
		/* The rest of a row value: `, id)`. */
		while (q < end && (is_column_char(*q) || *q == ' ' ||
				   *q == ',' || *q == ')'))
			q++;
		if (q >= end || (*q != '<' && *q != '>'))
			continue;
		q++;
		while (q < end && (*q == '=' || *q == ' ' || *q == '('))
			q++;
		if (q < end && *q == '?')
			return 1;
	}
	return 0;
}

/*
 * Pagination: offset (LIMIT ?, ? or OFFSET), keyset (ORDER BY + LIMIT and
 * a WHERE comparing the first ORDER BY column to a parameter: the next
 * page after a seen key), or the first page of either (ORDER BY + LIMIT
 * and no WHERE at all: "the newest N rows of a big table").
 */
static int is_pagination(const char *s, const char *where)
{
	const char *limit = find_word(s, "limit");
	if (!limit)
		return 0;
	if (find_word(limit, "offset") || strchr(limit, ','))
		return 1;
	const char *order = find_word(s, "order by");
	if (!order || order > limit)
		return 0;
	if (!where)
		return 1;
	char col[128];
	return where < order && order_column(order, col, sizeof(col)) &&
	       compares_to_param(where, order, col);
}

/* The WHERE clause is exactly one `column = ?` (an optional limit after). */
static int is_point(const char *where)
{
	const char *p = where + 5;
	while (*p == ' ')
		p++;
	const char *col = p;
	while (is_word_char(*p) || *p == '.' || *p == '`')
		p++;
	if (p == col)
		return 0;
	while (*p == ' ')
		p++;
	if (*p++ != '=')
		return 0;
	while (*p == ' ')
		p++;
	if (*p++ != '?')
		return 0;
	while (*p == ' ' || *p == ';')
		p++;
	return *p == '\0' || starts_with_word(p, "limit") ||
	       starts_with_word(p, "for");
}

static enum pt_sql_class classify_select(const char *s)
{
	const char *where = find_word(s, "where");
	if (find_word(s, "match") && find_word(s, "against"))
		return PT_SQL_FULLTEXT;
	if (find_word(s, "join"))
		return PT_SQL_JOIN;
	if (has_aggregate(s))
		return PT_SQL_AGGREGATION;
	if (is_pagination(s, where))
		return PT_SQL_PAGINATION;
	if (!where)
		return PT_SQL_OTHER;
	return is_point(where) ? PT_SQL_POINT_SELECT : PT_SQL_INDEXED_SELECT;
}

enum pt_sql_class sql_classify(const char *fp)
{
	const char *s = skip_space(fp);
	if (starts_with_word(s, "prepare"))
		s = skip_space(s + 7);
	if (is_transaction(s))
		return PT_SQL_TRANSACTION;
	if (is_ddl(s))
		return PT_SQL_DDL;
	if (starts_with_word(s, "insert") || starts_with_word(s, "replace")) {
		if (find_word(s, "select"))
			return PT_SQL_WRITE;
		return has_multi_row_values(s) ? PT_SQL_BULK_INSERT
					       : PT_SQL_WRITE;
	}
	if (starts_with_word(s, "update") || starts_with_word(s, "delete"))
		return PT_SQL_WRITE;
	if (starts_with_word(s, "select") || starts_with_word(s, "with"))
		return classify_select(s);
	return PT_SQL_OTHER;
}

const char *sql_class_name(enum pt_sql_class c)
{
	return (unsigned)c < PT_SQL_CLASS_COUNT ? class_names[c] : NULL;
}

int sql_class_from_name(const char *name)
{
	for (int i = 0; i < PT_SQL_CLASS_COUNT; i++)
		if (!strcmp(name, class_names[i]))
			return i;
	return -1;
}
