/*
 * fmt_text_mysql.c -- the text report's "what the MySQL server said"
 * sections: per fingerprint, calls run with no index / no good index
 * (the OK/EOF status flags), warnings, rows sent per call and bytes per
 * row; then "index suggestions", the fingerprints run without a (good)
 * index ranked by total time.
 */
#include <stdio.h>
#include <stdlib.h>

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

void fmt_text_mysql_emit(const struct pt_analysis *a, FILE *out)
{
	server_notes(a, out);
	index_suggestions(a, out);
}
