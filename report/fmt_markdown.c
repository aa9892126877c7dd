/*
 * fmt_markdown.c -- a report for a CI job summary (GitHub-flavoured
 * Markdown tables).
 */
#include <string.h>

#include "baseline.h"
#include "fmt_conns.h"
#include "fmt_text_mysql.h"
#include "fmt_callsites.h"
#include "fmt_requests.h"
#include "fmt_resources.h"
#include "format.h"
#include "thresholds.h"

/* Table cells: `|` would end the cell, a newline the row. */
static void cell(FILE *out, const char *s)
{
	fputs("`", out);
	for (; *s; s++) {
		if (*s == '|')
			fputs("\\|", out);
		else if (*s == '\n' || *s == '`')
			fputc(' ', out);
		else
			fputc(*s, out);
	}
	fputs("`", out);
}

static void row(FILE *out, const struct pt_row *r)
{
	char v[6][16];
	const double x[6] = {r->st.mean, r->st.median, r->st.p95,
			     r->st.p99,	 r->st.max,    r->st.stddev};
	for (int i = 0; i < 6; i++)
		fmt_duration(x[i], v[i], sizeof(v[i]));
	fputs("| ", out);
	cell(out, fmt_row_label(r));
	if (r->op && r->op->full_scans)
		fputs(" (full table scan)", out);
	fprintf(out,
		" | %llu | %llu | %.2f%% | %.2f | %s | %s | %s | %s | %s | "
		"%s | %.1f%% |\n",
		(unsigned long long)r->count, (unsigned long long)r->errors,
		r->error_rate * 100, r->rate, v[0], v[1], v[2], v[3], v[4],
		v[5], r->share * 100);
}

static void table_head(FILE *out, const char *title)
{
	fprintf(out,
		"\n### %s\n\n| operation | count | errors | err%% | "
		"rate/s | mean | median | p95 | p99 | max | stddev | "
		"share |\n|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|\n",
		title);
}

static void tables(const struct pt_analysis *a, const struct pt_out_opts *o,
		   FILE *out)
{
	const int *kinds;
	size_t nk = analysis_kind_order(&kinds);
	for (size_t k = 0; k < nk; k++) {
		const struct pt_row *rows;
		size_t n = fmt_kind_rows(a, kinds[k], o->top, &rows);
		if (!n)
			continue;
		table_head(out, analysis_kind_title(kinds[k]));
		for (size_t i = 0; i < n; i++)
			row(out, &rows[i]);
	}
	if (a->nclasses_used) {
		table_head(out, "SQL by class");
		for (int c = 0; c < PT_SQL_CLASS_COUNT; c++)
			if (a->classes[c].count)
				row(out, &a->classes[c]);
	}
	if (a->nlevels) {
		table_head(out, "HTTP by concurrency level");
		for (size_t i = 0; i < a->nlevels; i++)
			row(out, &a->levels[i]);
	}
	if (a->ncache) {
		fprintf(out, "\n### Cache\n\n| key pattern | hits | misses | "
			     "hit rate |\n|---|--:|--:|--:|\n");
		for (size_t i = 0; i < a->ncache; i++) {
			fputs("| ", out);
			cell(out, a->cache[i].pattern);
			fprintf(out, " | %llu | %llu | %.1f%% |\n",
				(unsigned long long)a->cache[i].hits,
				(unsigned long long)a->cache[i].misses,
				a->cache[i].hit_rate * 100);
		}
	}
}

static void thresholds(const struct pt_analysis *a, FILE *out)
{
	if (!a->thresholds)
		return;
	fprintf(out,
		"\n### Thresholds: %zu of %zu failed\n\n| | selector | "
		"threshold | measured |\n|---|---|---|--:|\n",
		a->thresholds_failed, a->nthresholds);
	for (size_t i = 0; i < a->nthresholds; i++) {
		const struct pt_threshold_result *r = &a->thresholds[i];
		char v[32] = "-";
		if (r->status <= PT_TH_FAIL)
			fmt_threshold_value(r, r->measured, v, sizeof(v));
		fprintf(out, "| %s | ",
			r->status == PT_TH_PASS ? "pass" : "**FAIL**");
		cell(out, r->th->selector);
		fputs(" | ", out);
		cell(out, r->th->expr);
		fprintf(out, " | %s |\n",
			r->status == PT_TH_NO_MATCH  ? "no operation matched"
			: r->status == PT_TH_NO_DATA ? "no samples"
						     : v);
	}
}

static void comparisons(const struct pt_analysis *a, FILE *out)
{
	if (!a->comparisons)
		return;
	fprintf(out,
		"\n### Compared with baseline: %zu regression%s\n\n"
		"| verdict | operation | stat | base | now | change | p |\n"
		"|---|---|---|--:|--:|--:|--:|\n",
		a->regressions, a->regressions == 1 ? "" : "s");
	for (size_t i = 0; i < a->ncomparisons; i++) {
		const struct pt_comparison *k = &a->comparisons[i];
		struct fmt_cmp_cells cc;
		fmt_comparison_cells(k, &cc);
		fprintf(out, "| %s | ",
			k->verdict == PT_V_REGRESSION
			    ? "**regression**"
			    : verdict_name(k->verdict));
		cell(out, k->key);
		fprintf(out, " | %s | %s | %s | %s | %.3g |\n",
			baseline_agg_name(k->agg), cc.base, cc.now, cc.change,
			k->p_value);
	}
}

static void star_row(void *arg, const char *table, const struct pt_row *r,
		     int star, int head)
{
	FILE *out = arg;
	if (head || !out) /* !out: the counting pass */
		return;
	fprintf(out, "| %s | %s | ", table, star ? "SELECT *" : "selective");
	cell(out, r->text);
	fprintf(out, " | %llu | %.1f |\n", (unsigned long long)r->op->count,
		fmt_mysql_bytes_per_row(r->op));
}

/* What the MySQL server said per fingerprint, then SELECT * against the
 * same table's selective fingerprints. */
static void mysql_notes(const struct pt_analysis *a, FILE *out)
{
	int head = 0;
	for (size_t i = 0; i < a->nrows; i++) {
		const struct pt_row *r = &a->rows[i];
		const struct pt_op *op = r->op;
		if (r->type != PT_ROW_OP || r->kind != PT_KIND_MYSQL || !op ||
		    !op->count)
			continue;
		if (!head++)
			fputs("\n### MySQL server notes\n\n| fingerprint | "
			      "calls | no index | no index % | no good index | "
			      "no good index % | warnings | rows/call | "
			      "bytes/row |\n|---|--:|--:|--:|--:|--:|--:|--:|"
			      "--:|\n",
			      out);
		double n = (double)op->count;
		fputs("| ", out);
		cell(out, r->text);
		fprintf(out,
			" | %llu | %llu | %.1f%% | %llu | %.1f%% | %llu | %.1f "
			"| %.1f |\n",
			(unsigned long long)op->count,
			(unsigned long long)op->no_index,
			100.0 * op->no_index / n,
			(unsigned long long)op->no_good_index,
			100.0 * op->no_good_index / n,
			(unsigned long long)op->warnings, op->rows_sent / n,
			fmt_mysql_bytes_per_row(op));
	}
	if (!fmt_mysql_star_pairs(a, star_row, NULL))
		return;
	fputs("\n#### SELECT * against selective columns\n\n| table | "
	      "select list | fingerprint | calls | bytes/row |\n"
	      "|---|---|---|--:|--:|\n",
	      out);
	fmt_mysql_star_pairs(a, star_row, out);
}

int fmt_markdown_emit(const struct pt_analysis *a, const struct pt_out_opts *o,
		      FILE *out)
{
	const struct pt_model *m = a->m;
	fprintf(out,
		"## perftap report\n\n- processes: %zu on %zu host%s\n"
		"- window: %.1f s\n- events: %llu (%.1f/s)\n"
		"- drops: %llu\n- undecodable connections: %llu\n",
		m->nprocs, a->nhosts, a->nhosts == 1 ? "" : "s", a->window_s,
		(unsigned long long)m->events,
		a->window_s > 0 ? (double)m->events / a->window_s : 0.0,
		(unsigned long long)a->drops_total,
		(unsigned long long)a->undecodable);
	if (m->raw)
		fprintf(out, "\n> **Warning:** raw mode: texts are not "
			     "redacted.\n");
	if (a->show_operations)
		tables(a, o, out);
	if (a->show_operations)
		fmt_requests_markdown(a, out);
	if (a->show_operations)
		mysql_notes(a, out);
	if (a->show_operations)
		fmt_conns_markdown(a, out);
	if (a->show_operations)
		fmt_resources_markdown(a, out);
	if (a->show_operations)
		fmt_callsites_markdown(a, o->top, out);
	thresholds(a, out);
	comparisons(a, out);
	return ferror(out) ? -1 : 0;
}
