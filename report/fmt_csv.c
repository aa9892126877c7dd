/*
 * fmt_csv.c -- one row per operation (and per SQL class and concurrency
 * level, told apart by `kind`), RFC 4180 quoting, times in ms.
 */
#include "format.h"

#define CSV_COLUMNS 27

static void quoted(FILE *out, const char *s)
{
	fputc('"', out);
	for (; *s; s++) {
		if (*s == '"')
			fputc('"', out);
		fputc(*s, out);
	}
	fputc('"', out);
}

/* What the MySQL server said (per fingerprint; empty for other rows):
 * no_index, no_index_pct, no_good_index, no_good_index_pct, warnings,
 * rows_per_call, bytes_per_row. */
static void mysql_cells(FILE *out, const struct pt_row *r)
{
	const struct pt_op *op = r->op;
	if (r->type != PT_ROW_OP || r->kind != PT_KIND_MYSQL || !op ||
	    !op->count) {
		fputs(",,,,,,,", out);
		return;
	}
	double n = (double)op->count;
	fprintf(out, ",%llu,%.6g,%llu,%.6g,%llu,%.6g,%.6g",
		(unsigned long long)op->no_index, 100.0 * op->no_index / n,
		(unsigned long long)op->no_good_index,
		100.0 * op->no_good_index / n, (unsigned long long)op->warnings,
		op->rows_sent / n,
		op->rows_sent ? (double)op->bytes_in / op->rows_sent : 0.0);
}

static void row(FILE *out, const char *kind, const struct pt_row *r)
{
	const struct pt_stats *s = &r->st;
	quoted(out, kind);
	fputc(',', out);
	quoted(out, r->text);
	fputc(',', out);
	quoted(out, r->sql_class >= 0 ? sql_class_name(r->sql_class) : "");
	fprintf(out,
		",%llu,%llu,%.6g,%.6g,%.6f,%.6f,%.6f,%.6f,%.6f,%.6f,%.6f,"
		"%.6f,%.6g,%llu,%llu,",
		(unsigned long long)r->count, (unsigned long long)r->errors,
		r->error_rate, r->rate, s->min / 1e6, s->mean / 1e6,
		s->median / 1e6, s->p90 / 1e6, s->p95 / 1e6, s->p99 / 1e6,
		s->max / 1e6, s->stddev / 1e6, r->share,
		(unsigned long long)r->cache_hits,
		(unsigned long long)r->cache_misses);
	if (r->hit_rate >= 0)
		fprintf(out, "%.6g", r->hit_rate);
	fputc(',', out);
	if (r->kind == PT_KIND_SQLITE && r->op)
		fprintf(out, "%llu", (unsigned long long)r->op->full_scans);
	mysql_cells(out, r);
	fputs("\r\n", out);
}

int fmt_csv_emit(const struct pt_analysis *a, const struct pt_out_opts *o,
		 FILE *out)
{
	/* CSV_COLUMNS names, in order. */
	fputs("kind,operation,sql_class,count,errors,error_rate,rate_per_sec,"
	      "min_ms,mean_ms,median_ms,p90_ms,p95_ms,p99_ms,max_ms,stddev_ms,"
	      "share,cache_hits,cache_misses,hit_rate,full_scans,no_index,"
	      "no_index_pct,no_good_index,no_good_index_pct,warnings,"
	      "rows_per_call,bytes_per_row\r\n",
	      out);
	const int *kinds;
	size_t nk = analysis_kind_order(&kinds);
	for (size_t k = 0; k < nk; k++) {
		const struct pt_row *rows;
		size_t n = fmt_kind_rows(a, kinds[k], o->top, &rows);
		for (size_t i = 0; i < n; i++)
			row(out, model_kind_word(kinds[k]), &rows[i]);
	}
	for (int c = 0; c < PT_SQL_CLASS_COUNT; c++)
		if (a->classes[c].count)
			row(out, "sql_class", &a->classes[c]);
	for (size_t i = 0; i < a->nlevels; i++)
		row(out, "concurrency", &a->levels[i]);
	return ferror(out) ? -1 : 0;
}
