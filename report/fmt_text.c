/*
 * fmt_text.c -- the terminal report: aligned columns within 100, a unit
 * chosen per value, colour only when asked (a tty without NO_COLOR).
 *
 * Sections: overview, operation tables, SQL classes, cache, concurrency,
 * details (histogram, slowest, errors), thresholds, comparisons.
 */
#include <string.h>
#include <time.h>

#include "baseline.h"
#include "fmt_requests.h"
#include "fmt_conns.h"
#include "fmt_resources.h"
#include "fmt_text_mysql.h"
#include "fmt_callsites.h"
#include "format.h"
#include "thresholds.h"

#define RED	   "\033[31m"
#define GREEN	   "\033[32m"
#define YELLOW	   "\033[33m"
#define BOLD	   "\033[1m"
#define RESET	   "\033[0m"
#define HIST_WIDTH 50 /* characters for the longest histogram bar */
#define NAME_WIDTH 99 /* an operation's own line: cut with "..." */

struct ctx {
	FILE *out;
	const struct pt_out_opts *o;
	const struct pt_analysis *a;
};

static const char *c_(const struct ctx *c, const char *code)
{
	return c->o->color ? code : "";
}

static void wall_time(uint64_t ns, char *buf, size_t len, int with_date)
{
	time_t t = (time_t)(ns / 1000000000ull);
	struct tm tm;
	gmtime_r(&t, &tm);
	size_t n = strftime(buf, len,
			    with_date ? "%Y-%m-%d %H:%M:%S" : "%H:%M:%S", &tm);
	snprintf(buf + n, len - n, ".%03uZ",
		 (unsigned)(ns % 1000000000ull / 1000000));
}

static void overview(const struct ctx *c)
{
	const struct pt_analysis *a = c->a;
	const struct pt_model *m = a->m;
	char t0[40], t1[40], n1[16], n2[16];
	fprintf(c->out, "%sperftap%s  %zu process%s on %zu host%s", c_(c, BOLD),
		c_(c, RESET), m->nprocs, m->nprocs == 1 ? "" : "es", a->nhosts,
		a->nhosts == 1 ? "" : "s");
	if (m->events) {
		wall_time(m->first_ns, t0, sizeof(t0), 1);
		wall_time(m->last_ns, t1, sizeof(t1), 0);
		fprintf(c->out, ", %s .. %s (%.1f s)", t0, t1, a->window_s);
	}
	fmt_count((double)m->events, n1, sizeof(n1));
	fmt_count(a->window_s > 0 ? (double)m->events / a->window_s : 0, n2,
		  sizeof(n2));
	fprintf(c->out, "\nevents %s (%s/s)", n1, n2);
	if (a->drops_total) {
		fprintf(c->out, ", %sdropped %llu%s:", c_(c, YELLOW),
			(unsigned long long)a->drops_total, c_(c, RESET));
		for (int d = 0; d < PT_DROP_CAUSE_COUNT; d++)
			if (m->drops[d])
				fprintf(
				    c->out, " %s %llu",
				    pt_drop_cause_name((enum pt_drop_cause)d),
				    (unsigned long long)m->drops[d]);
	} else {
		fprintf(c->out, ", no drops");
	}
	fprintf(c->out, ", undecodable connections %llu\n",
		(unsigned long long)a->undecodable);
	if (m->problems.bad_chunks || m->problems.bad_records)
		fprintf(c->out,
			"%snote:%s %llu damaged chunks and %llu damaged "
			"records were skipped\n",
			c_(c, YELLOW), c_(c, RESET),
			(unsigned long long)m->problems.bad_chunks,
			(unsigned long long)m->problems.bad_records);
	if (m->raw)
		fprintf(c->out,
			"%sWARNING: raw mode: texts are not redacted%s\n",
			c_(c, RED), c_(c, RESET));
}

static void header_row(const struct ctx *c)
{
	fprintf(c->out,
		"  %6s %6s %6s %6s %7s %7s %7s %7s %7s %7s %7s %7s %6s\n",
		"count", "errors", "err%", "rate/s", "min", "mean", "median",
		"p90", "p95", "p99", "max", "stddev", "share");
}

static void stats_row(const struct ctx *c, const struct pt_row *r)
{
	char v[8][16], cnt[16], err[16], rate[16];
	const double x[8] = {r->st.min, r->st.mean, r->st.median, r->st.p90,
			     r->st.p95, r->st.p99,  r->st.max,	  r->st.stddev};
	for (int i = 0; i < 8; i++)
		fmt_duration(x[i], v[i], sizeof(v[i]));
	fmt_count((double)r->count, cnt, sizeof(cnt));
	fmt_count((double)r->errors, err, sizeof(err));
	snprintf(rate, sizeof(rate), r->rate >= 100 ? "%.0f" : "%.2f", r->rate);
	if (r->rate >= 1e6)
		fmt_count(r->rate, rate, sizeof(rate));
	fprintf(c->out,
		"  %6s %s%6s%s %5.1f%% %6s %7s %7s %7s %7s %7s %7s %7s %7s "
		"%5.1f%%\n",
		cnt, r->errors ? c_(c, RED) : "", err,
		r->errors ? c_(c, RESET) : "", r->error_rate * 100, rate, v[0],
		v[1], v[2], v[3], v[4], v[5], v[6], v[7], r->share * 100);
}

static void name_line(const struct ctx *c, const char *name)
{
	size_t len = strlen(name);
	if (len <= NAME_WIDTH)
		fprintf(c->out, "%s%s%s\n", c_(c, BOLD), name, c_(c, RESET));
	else
		fprintf(c->out, "%s%.*s...%s\n", c_(c, BOLD), NAME_WIDTH - 3,
			name, c_(c, RESET));
}

static void split_line(const struct ctx *c, const struct pt_row *r)
{
	char hp[16], mp[16], hm[16], mm[16];
	fmt_duration(r->hit.p95, hp, sizeof(hp));
	fmt_duration(r->miss.p95, mp, sizeof(mp));
	fmt_duration(r->hit.mean, hm, sizeof(hm));
	fmt_duration(r->miss.mean, mm, sizeof(mm));
	fprintf(c->out, "    hits %llu", (unsigned long long)r->hit.n);
	if (r->hit_rate >= 0)
		fprintf(c->out, " (hit rate %.1f%%)", r->hit_rate * 100);
	fprintf(c->out, ": mean %s p95 %s;  misses %llu: mean %s p95 %s\n", hm,
		hp, (unsigned long long)r->miss.n, mm, mp);
}

/* SQLite fingerprints that step through whole tables: the index to add. */
static void scans_line(const struct ctx *c, const struct pt_row *r)
{
	const struct pt_op *op = r->op;
	if (!op || !op->full_scans)
		return;
	fprintf(c->out,
		"    full table scan: %llu of %llu executions (%llu rows "
		"stepped)\n",
		(unsigned long long)op->full_scans,
		(unsigned long long)op->count,
		(unsigned long long)op->scan_steps);
}

static void errors_line(const struct ctx *c, const struct pt_row *r)
{
	const struct pt_op *op = r->op;
	if (!op || !op->errs[0].count)
		return;
	fprintf(c->out, "    errors:");
	for (int i = 0; i < PT_ERR_SLOTS && op->errs[i].count; i++) {
		const struct pt_err_count *e = &op->errs[i];
		const char *what = e->outcome == PT_OUT_HTTP	  ? "HTTP "
				   : e->outcome == PT_OUT_ABORTED ? "aborted "
				   : r->kind == PT_KIND_MYSQL	  ? "MySQL "
				   : r->kind == PT_KIND_REDIS	  ? "Redis#"
				   : r->kind == PT_KIND_SQLITE	  ? "SQLite "
								  : "code ";
		fprintf(c->out, " %s%d x%llu", what, e->code,
			(unsigned long long)e->count);
	}
	if (op->errs_other)
		fprintf(c->out, " other x%llu",
			(unsigned long long)op->errs_other);
	fprintf(c->out, "\n");
}

static void table(const struct ctx *c, int kind)
{
	const struct pt_row *rows;
	size_t shown = fmt_kind_rows(c->a, kind, c->o->top, &rows);
	size_t all = fmt_kind_rows(c->a, kind, 0, &rows);
	if (!all)
		return;
	fprintf(c->out, "\n%s%s%s: %zu operation%s", c_(c, BOLD),
		analysis_kind_title(kind), c_(c, RESET), all,
		all == 1 ? "" : "s");
	if (shown < all)
		fprintf(c->out, " (top %zu shown)", shown);
	fprintf(c->out, "\n");
	header_row(c);
	for (size_t i = 0; i < shown; i++) {
		name_line(c, fmt_row_label(&rows[i]));
		stats_row(c, &rows[i]);
		if (rows[i].has_split)
			split_line(c, &rows[i]);
		errors_line(c, &rows[i]);
		scans_line(c, &rows[i]);
	}
}

static void classes(const struct ctx *c)
{
	if (!c->a->nclasses_used)
		return;
	fprintf(c->out, "\n%sSQL by class%s\n", c_(c, BOLD), c_(c, RESET));
	header_row(c);
	for (int k = 0; k < PT_SQL_CLASS_COUNT; k++) {
		const struct pt_row *r = &c->a->classes[k];
		if (!r->count)
			continue;
		name_line(c, r->key);
		stats_row(c, r);
	}
}

static void cache(const struct ctx *c)
{
	const struct pt_analysis *a = c->a;
	if (!a->ncache)
		return;
	fprintf(c->out, "\n%sCache (reads by key pattern; nil is a miss)%s\n",
		c_(c, BOLD), c_(c, RESET));
	fprintf(c->out, "  %-44s %8s %8s %7s %9s %9s\n", "key pattern", "hits",
		"misses", "hit%", "hit p95", "miss p95");
	for (size_t i = 0; i < a->ncache; i++) {
		const struct pt_cache_row *r = &a->cache[i];
		char h[16], m[16], hp[16], mp[16];
		fmt_count((double)r->hits, h, sizeof(h));
		fmt_count((double)r->misses, m, sizeof(m));
		fmt_duration(r->hit.p95, hp, sizeof(hp));
		fmt_duration(r->miss.p95, mp, sizeof(mp));
		fprintf(c->out, "  %-44.44s %8s %8s %6.1f%% %9s %9s\n",
			r->pattern, h, m, r->hit_rate * 100,
			r->hit.n ? hp : "-", r->miss.n ? mp : "-");
	}
	fprintf(c->out, "  %-44s %8llu %8llu %6.1f%%\n", "overall",
		(unsigned long long)a->cache_hits,
		(unsigned long long)a->cache_misses, a->cache_hit_rate * 100);
}

static void concurrency(const struct ctx *c)
{
	const struct pt_concurrency *k = &c->a->conc;
	if (!k->requests)
		return;
	fprintf(c->out,
		"\n%sConcurrency%s (HTTP requests in flight): max %u, "
		"p95 %.1f\n",
		c_(c, BOLD), c_(c, RESET), k->max_inflight, k->p95_inflight);
	fprintf(c->out,
		"  max in flight per %.0f s:", (double)k->bucket_ns / 1e9);
	int col = 27;
	for (size_t i = 0; i < k->nbuckets; i++) {
		if (col > 94) {
			fprintf(c->out, "\n   ");
			col = 3;
		}
		col += fprintf(c->out, " %u", k->bucket_max[i]);
	}
	fprintf(c->out, "\n");
	header_row(c);
	for (size_t i = 0; i < c->a->nlevels; i++) {
		name_line(c, c->a->levels[i].key);
		stats_row(c, &c->a->levels[i]);
	}
}

static void histogram(const struct ctx *c, const struct pt_row *r)
{
	int lo = 0, hi = PT_HIST_BUCKETS - 1;
	uint64_t peak = 0;
	while (lo < hi && !r->st.hist[lo])
		lo++;
	while (hi > lo && !r->st.hist[hi])
		hi--;
	for (int b = lo; b <= hi; b++)
		if (r->st.hist[b] > peak)
			peak = r->st.hist[b];
	for (int b = lo; b <= hi && peak; b++) {
		int w = (int)((r->st.hist[b] * HIST_WIDTH + peak - 1) / peak);
		fprintf(c->out, "    %6s %8llu ", stats_hist_label(b),
			(unsigned long long)r->st.hist[b]);
		for (int i = 0; i < w; i++)
			fputc('#', c->out);
		fputc('\n', c->out);
	}
}

static void slowest(const struct ctx *c, const struct pt_row *r)
{
	if (!r->op || !r->op->nslow)
		return;
	fprintf(c->out, "    slowest:");
	for (int i = 0; i < r->op->nslow; i++) {
		char d[16], t[40];
		fmt_duration((double)r->op->slow[i].duration_ns, d, sizeof(d));
		wall_time(r->op->slow[i].start_rt_ns, t, sizeof(t), 0);
		fprintf(c->out, "%s %s at %s", i ? "," : "", d, t);
		if (i == 2 && r->op->nslow > 3) {
			fprintf(c->out, ",\n             ");
			i++;
			fmt_duration((double)r->op->slow[i].duration_ns, d,
				     sizeof(d));
			wall_time(r->op->slow[i].start_rt_ns, t, sizeof(t), 0);
			fprintf(c->out, " %s at %s", d, t);
		}
	}
	fprintf(c->out, "\n");
}

static void details(const struct ctx *c)
{
	const int *kinds;
	size_t nk = analysis_kind_order(&kinds);
	fprintf(c->out, "\n%sLatency histograms and slowest samples%s\n",
		c_(c, BOLD), c_(c, RESET));
	for (size_t k = 0; k < nk; k++) {
		const struct pt_row *rows;
		size_t n = fmt_kind_rows(c->a, kinds[k], c->o->top, &rows);
		for (size_t i = 0; i < n; i++) {
			fprintf(c->out, "  %s%.96s%s\n", c_(c, BOLD),
				rows[i].key, c_(c, RESET));
			histogram(c, &rows[i]);
			slowest(c, &rows[i]);
		}
	}
}

static void thresholds(const struct ctx *c)
{
	const struct pt_analysis *a = c->a;
	if (!a->thresholds)
		return;
	fprintf(c->out, "\n%sThresholds%s: %zu of %zu failed\n", c_(c, BOLD),
		c_(c, RESET), a->thresholds_failed, a->nthresholds);
	for (size_t i = 0; i < a->nthresholds; i++) {
		const struct pt_threshold_result *r = &a->thresholds[i];
		char v[32];
		int ok = r->status == PT_TH_PASS;
		const char *tag = ok				? "PASS"
				  : r->status == PT_TH_FAIL	? "FAIL"
				  : r->status == PT_TH_NO_MATCH ? "NONE"
								: "NODATA";
		fprintf(c->out, "  %s%-6s%s %-44.44s %-16s ",
			c_(c, ok ? GREEN : RED), tag, c_(c, RESET),
			r->th->selector, r->th->expr);
		if (r->status == PT_TH_NO_MATCH)
			fprintf(c->out, "matches no operation\n");
		else if (r->status == PT_TH_NO_DATA)
			fprintf(c->out, "no samples\n");
		else {
			fmt_threshold_value(r, r->measured, v, sizeof(v));
			fprintf(c->out, "measured %s%s\n", v,
				r->matched > 1 ? " (pooled)" : "");
		}
	}
}

static void comparisons(const struct ctx *c)
{
	const struct pt_analysis *a = c->a;
	if (!a->comparisons)
		return;
	fprintf(c->out, "\n%sCompared with %s%s: %zu regression%s\n",
		c_(c, BOLD), a->baseline_path ? a->baseline_path : "baseline",
		c_(c, RESET), a->regressions, a->regressions == 1 ? "" : "s");
	fprintf(c->out, "  %-11s %-6s %8s %8s %8s %7s  %s\n", "verdict", "stat",
		"base", "now", "change", "p", "operation");
	for (size_t i = 0; i < a->ncomparisons; i++) {
		const struct pt_comparison *k = &a->comparisons[i];
		if (k->verdict == PT_V_UNCHANGED && !c->o->verbose)
			continue;
		struct fmt_cmp_cells cc;
		char p[16] = "-";
		fmt_comparison_cells(k, &cc);
		if (k->p_value < 1.0)
			snprintf(p, sizeof(p), "%.3g", k->p_value);
		const char *col = k->verdict == PT_V_REGRESSION	   ? RED
				  : k->verdict == PT_V_IMPROVEMENT ? GREEN
								   : YELLOW;
		fprintf(c->out, "  %s%-11.11s%s %-6s %8s %8s %8s %7s  %.50s\n",
			c_(c, col), verdict_name(k->verdict), c_(c, RESET),
			baseline_agg_name(k->agg), cc.base, cc.now, cc.change,
			p, k->key);
	}
}

int fmt_text_emit(const struct pt_analysis *a, const struct pt_out_opts *o,
		  FILE *out)
{
	struct ctx c = {out, o, a};
	overview(&c);
	if (a->show_operations) {
		const int *kinds;
		size_t nk = analysis_kind_order(&kinds);
		for (size_t k = 0; k < nk; k++)
			table(&c, kinds[k]);
		classes(&c);
		cache(&c);
		concurrency(&c);
		fmt_text_mysql_emit(a, out);
		fmt_conns_text(a, out);
		if (a->nrows)
			details(&c);
		fmt_requests_text(a, o->top, out);
		fmt_resources_text(a, out);
		fmt_callsites_text(a, o->top, out);
	}
	thresholds(&c);
	comparisons(&c);
	return ferror(out) ? -1 : 0;
}
