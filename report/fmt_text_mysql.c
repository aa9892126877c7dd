/*
 * fmt_text_mysql.c -- the text report's "what the MySQL server said"
 * sections: per fingerprint, calls run with no index / no good index
 * (the OK/EOF status flags), warnings, rows sent per call and bytes per
 * row; then "index suggestions", the fingerprints run without a (good)
 * index ranked by total time.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fmt_text_mysql.h"
#include "sql_class.h"

#define TEXT_COLS 96 /* the text report fits 100 columns */

static double pct(uint64_t part, uint64_t all)
{
	return all ? 100.0 * (double)part / (double)all : 0.0;
}

static int by_total_desc(const void *x, const void *y)
{
	const struct pt_row *a = *(const struct pt_row *const *)x,
			    *b = *(const struct pt_row *const *)y;
	return a->st.sum < b->st.sum ? 1 : a->st.sum > b->st.sum ? -1 : 0;
}

static void server_notes(const struct pt_analysis *a, FILE *out)
{
	int head = 0;
	for (size_t i = 0; i < a->nrows; i++) {
		const struct pt_row *r = &a->rows[i];
		const struct pt_op *op = r->op;
		if (r->type != PT_ROW_OP || r->kind != PT_KIND_MYSQL || !op ||
		    !op->count)
			continue;
		if (!head++)
			fprintf(out, "\nMySQL server notes per fingerprint\n"
				     "  no index       no good index  warnings"
				     "  rows/call  bytes/row\n");
		fprintf(out, "%.*s\n", TEXT_COLS, r->text);
		fprintf(out,
			"  %5llu %5.1f%%  %5llu %5.1f%%  %9llu  %9.1f  %9.1f\n",
			(unsigned long long)op->no_index,
			pct(op->no_index, op->count),
			(unsigned long long)op->no_good_index,
			pct(op->no_good_index, op->count),
			(unsigned long long)op->warnings,
			(double)op->rows_sent / (double)op->count,
			op->rows_sent
			    ? (double)op->bytes_in / (double)op->rows_sent
			    : 0.0);
	}
}

static void index_suggestions(const struct pt_analysis *a, FILE *out)
{
	const struct pt_row **v = malloc(a->nrows * sizeof(*v) + 1);
	size_t n = 0;
	if (!v)
		return;
	for (size_t i = 0; i < a->nrows; i++) {
		const struct pt_row *r = &a->rows[i];
		if (r->type == PT_ROW_OP && r->kind == PT_KIND_MYSQL && r->op &&
		    (r->op->no_index || r->op->no_good_index))
			v[n++] = r;
	}
	qsort(v, n, sizeof(*v), by_total_desc);
	if (n)
		fprintf(out, "\nIndex suggestions (run without a (good) index,"
			     " by total time)\n");
	for (size_t i = 0; i < n; i++) {
		const struct pt_op *op = v[i]->op;
		fprintf(out,
			"  %8.1f ms  %-12s %llu calls, %llu no index, %llu no "
			"good index\n    %.*s\n",
			v[i]->st.sum / 1e6,
			op->sql_class >= 0 ? sql_class_name(op->sql_class)
					   : "-",
			(unsigned long long)op->count,
			(unsigned long long)op->no_index,
			(unsigned long long)op->no_good_index, TEXT_COLS,
			v[i]->text);
	}
	free(v);
}

/* ---- SELECT * against selective columns ---- */

#define TABLE_MAX 96

int fmt_mysql_select_table(const char *fp, char *table, size_t len, int *star)
{
	if (strncmp(fp, "select ", 7) != 0 || len == 0)
		return 0;
	const char *list = fp + 7, *from = strstr(list, " from ");
	if (!from)
		return 0;
	/* the select list: items split at commas, outside parentheses */
	*star = 0;
	const char *item = list;
	int depth = 0;
	for (const char *p = list; p <= from; p++) {
		if (*p == '(')
			depth++;
		else if (*p == ')' && depth)
			depth--;
		if ((*p == ',' && !depth) || p == from) {
			const char *e = p;
			while (item < e && *item == ' ')
				item++;
			while (e > item && e[-1] == ' ')
				e--;
			if (e > item && e[-1] == '*' &&
			    (e - item == 1 || e[-2] == '.'))
				*star = 1;
			item = p + 1;
		}
	}
	const char *t = from + 6;
	size_t n = 0;
	for (; *t && *t != ' ' && *t != ',' && *t != '(' && *t != ';'; t++)
		if (*t != '`' && n + 1 < len)
			table[n++] = *t;
	table[n] = '\0';
	return n > 0;
}

double fmt_mysql_bytes_per_row(const struct pt_op *op)
{
	return op->rows_sent ? (double)op->bytes_in / (double)op->rows_sent
			     : 0.0;
}

struct sel {
	const struct pt_row *r;
	char table[TABLE_MAX];
	int star;
};

static int by_table_star(const void *x, const void *y)
{
	const struct sel *a = x, *b = y;
	int c = strcmp(a->table, b->table);
	if (c)
		return c;
	if (a->star != b->star)
		return b->star - a->star;
	return a->r->st.sum < b->r->st.sum ? 1 : a->r->st.sum > b->r->st.sum;
}

size_t fmt_mysql_star_pairs(const struct pt_analysis *a, fmt_star_fn f,
			    void *arg)
{
	struct sel *v = malloc(a->nrows * sizeof(*v) + 1);
	size_t n = 0, tables = 0;
	if (!v)
		return 0;
	for (size_t i = 0; i < a->nrows; i++) {
		const struct pt_row *r = &a->rows[i];
		if (r->type != PT_ROW_OP || r->kind != PT_KIND_MYSQL ||
		    !r->op || !r->op->count || !r->op->rows_sent)
			continue;
		if (fmt_mysql_select_table(r->text, v[n].table, TABLE_MAX,
					   &v[n].star)) {
			v[n].r = r;
			n++;
		}
	}
	qsort(v, n, sizeof(*v), by_table_star);
	for (size_t i = 0; i < n;) {
		size_t j = i, stars = 0;
		while (j < n && !strcmp(v[j].table, v[i].table))
			stars += v[j++].star;
		if (stars && stars < j - i) {
			tables++;
			f(arg, v[i].table, NULL, 0, 1);
			for (size_t k = i; k < j; k++)
				f(arg, v[k].table, v[k].r, v[k].star, 0);
		}
		i = j;
	}
	free(v);
	return tables;
}

static void star_text(void *arg, const char *table, const struct pt_row *r,
		      int star, int head)
{
	FILE *out = arg;
	if (head) {
		fprintf(out, "  table %s\n", table);
		return;
	}
	fprintf(out, "    %-10s %9.1f bytes/row  %8llu calls  %.*s\n",
		star ? "SELECT *" : "selective", fmt_mysql_bytes_per_row(r->op),
		(unsigned long long)r->op->count, TEXT_COLS - 51, r->text);
}

static void star_count(void *arg, const char *table, const struct pt_row *r,
		       int star, int head)
{
	(void)arg, (void)table, (void)r, (void)star, (void)head;
}

static void star_comparison(const struct pt_analysis *a, FILE *out)
{
	/* a first pass only to know whether there is anything to say */
	size_t n = fmt_mysql_star_pairs(a, star_count, NULL);
	if (!n)
		return;
	fprintf(out, "\nSELECT * against selective columns (same table, bytes"
		     " per row sent)\n");
	fmt_mysql_star_pairs(a, star_text, out);
}

void fmt_text_mysql_emit(const struct pt_analysis *a, FILE *out)
{
	server_notes(a, out);
	index_suggestions(a, out);
	star_comparison(a, out);
}
