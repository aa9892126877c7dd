/*
 * fmt_html.c -- one self-contained HTML page with charts: inline CSS and
 * inline SVG (thresholds and regressions first, latency over time and
 * distributions per operation, share-of-time bars, hit rate bars,
 * requests in flight over time), no script, no external asset.
 *
 * The page is a list of sections (sections[] below); a section in a file
 * of its own is declared in fmt_html.h.
 *
 * The page is XHTML (well-formed XML served as HTML), so that any XML
 * parser can check it; every text from a dump goes through esc().
 */
#include <math.h>

#include "baseline.h"
#include "fmt_conns.h"
#include "fmt_html.h"
#include "fmt_callsites.h"
#include "fmt_requests.h"
#include "fmt_resources.h"
#include "format.h"
#include "thresholds.h"

#define BAR_W  120 /* px: share and hit-rate bars */
#define HIST_W 9 * 12
#define HIST_H 24
#define TL_W   600
#define TL_H   80

/* Control characters (not XML 1.0) show as '?'. */
static void esc(FILE *out, const char *s)
{
	fmt_xml_escape(out, s, FMT_XML_CTL_MARK);
}

static void bar(FILE *out, double frac, const char *color)
{
	if (frac < 0)
		frac = 0;
	if (frac > 1)
		frac = 1;
	fprintf(out,
		"<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" "
		"height=\"12\"><rect width=\"%d\" height=\"12\" "
		"fill=\"#eee\"/><rect width=\"%.1f\" height=\"12\" "
		"fill=\"%s\"/></svg>",
		BAR_W, BAR_W, frac * BAR_W, color);
}

/* The decade histogram as nine bars, scaled to the fullest. */
static void histogram(FILE *out, const struct pt_stats *s)
{
	uint64_t max = 1;
	for (int b = 0; b < PT_HIST_BUCKETS; b++)
		if (s->hist[b] > max)
			max = s->hist[b];
	fprintf(out,
		"<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" "
		"height=\"%d\">",
		HIST_W, HIST_H);
	for (int b = 0; b < PT_HIST_BUCKETS; b++) {
		double h = (double)s->hist[b] / (double)max * HIST_H;
		fprintf(out,
			"<rect x=\"%d\" y=\"%.1f\" width=\"10\" "
			"height=\"%.1f\" fill=\"#4a7ab5\"><title>",
			b * 12, HIST_H - h, h);
		esc(out, stats_hist_label(b));
		fprintf(out, ": %llu</title></rect>",
			(unsigned long long)s->hist[b]);
	}
	fputs("</svg>", out);
}

static void td_dur(FILE *out, double ns)
{
	char buf[32];
	fmt_duration(ns, buf, sizeof(buf));
	fprintf(out, "<td class=\"n\">%s</td>", buf);
}

static void row(FILE *out, const struct pt_row *r)
{
	fputs("<tr><td class=\"t\">", out);
	esc(out, fmt_row_label(r));
	if (r->op && r->op->full_scans)
		fputs(" <b>(full table scan)</b>", out);
	fprintf(out, "</td><td class=\"n\">%llu</td><td class=\"n\">%llu</td>",
		(unsigned long long)r->count, (unsigned long long)r->errors);
	td_dur(out, r->st.mean);
	td_dur(out, r->st.median);
	td_dur(out, r->st.p95);
	td_dur(out, r->st.p99);
	td_dur(out, r->st.max);
	fputs("<td>", out);
	bar(out, r->share, "#d9822b");
	fprintf(out, " %.1f%%</td><td>", r->share * 100);
	histogram(out, &r->st);
	fputs("</td></tr>\n", out);
}

static void table(FILE *out, const char *title, const struct pt_row *rows,
		  size_t n, size_t stride)
{
	fputs("<h2>", out);
	esc(out, title);
	fputs("</h2>\n<table><tr><th>operation</th><th>count</th>"
	      "<th>errors</th><th>mean</th><th>median</th><th>p95</th>"
	      "<th>p99</th><th>max</th><th>share of time</th>"
	      "<th>histogram (&lt;1us .. 10s+)</th></tr>\n",
	      out);
	for (size_t i = 0; i < n; i++)
		row(out,
		    (const struct pt_row *)((const char *)rows + i * stride));
	fputs("</table>\n", out);
}

static void cache(FILE *out, const struct pt_analysis *a)
{
	if (!a->ncache)
		return;
	fputs("<h2>Cache hit rate (key pattern)</h2>\n<table><tr>"
	      "<th>pattern</th><th>hits</th><th>misses</th><th>hit rate</th>"
	      "</tr>\n",
	      out);
	for (size_t i = 0; i < a->ncache; i++) {
		const struct pt_cache_row *c = &a->cache[i];
		fputs("<tr><td class=\"t\">", out);
		esc(out, c->pattern);
		fprintf(out,
			"</td><td class=\"n\">%llu</td><td class=\"n\">%llu"
			"</td><td>",
			(unsigned long long)c->hits,
			(unsigned long long)c->misses);
		bar(out, c->hit_rate, "#3c9a5f");
		fprintf(out, " %.1f%%</td></tr>\n", c->hit_rate * 100);
	}
	fputs("</table>\n", out);
}

static void timeline(FILE *out, const struct pt_analysis *a)
{
	const struct pt_concurrency *c = &a->conc;
	if (!c->requests)
		return;
	fprintf(out,
		"<h2>Requests in flight</h2>\n<p>max %u, p95 %.1f, buckets "
		"of %.3g s</p>\n<svg xmlns=\"http://www.w3.org/2000/svg\" "
		"width=\"%d\" height=\"%d\">",
		c->max_inflight, c->p95_inflight, (double)c->bucket_ns / 1e9,
		TL_W, TL_H);
	double w = (double)TL_W / (double)(c->nbuckets ? c->nbuckets : 1);
	for (size_t i = 0; i < c->nbuckets; i++) {
		double h = c->max_inflight ? (double)c->bucket_max[i] /
						 c->max_inflight * TL_H
					   : 0;
		fprintf(out,
			"<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" "
			"height=\"%.1f\" fill=\"#8a5cb5\"><title>%u</title>"
			"</rect>",
			(double)i * w, TL_H - h, w > 2 ? w - 1 : w, h,
			c->bucket_max[i]);
	}
	fputs("</svg>\n", out);
	table(out, "HTTP by concurrency level", a->levels, a->nlevels,
	      sizeof(*a->levels));
}

static void thresholds(FILE *out, const struct pt_analysis *a,
		       const struct pt_out_opts *o)
{
	(void)o;
	if (!a->nthresholds)
		return;
	fprintf(out,
		"<h2>Thresholds</h2>\n<p>%zu of %zu failed.</p>\n<table "
		"class=\"thresholds\"><tr><th>selector</th><th>threshold</th>"
		"<th>measured</th><th>samples</th><th>result</th></tr>\n",
		a->thresholds_failed, a->nthresholds);
	for (size_t i = 0; i < a->nthresholds; i++) {
		const struct pt_threshold_result *r = &a->thresholds[i];
		char v[32] = "-";
		if (r->status == PT_TH_PASS || r->status == PT_TH_FAIL)
			fmt_threshold_value(r, r->measured, v, sizeof(v));
		fprintf(out, "<tr class=\"%s\"><td class=\"t\">",
			r->status == PT_TH_FAIL ? "fail" : "pass");
		esc(out, r->th->selector);
		fputs("</td><td class=\"t\">", out);
		esc(out, r->th->expr);
		fprintf(out,
			"</td><td class=\"n\">%s</td><td class=\"n\">%llu"
			"</td><td class=\"v\">%s</td></tr>\n",
			v, (unsigned long long)r->samples,
			threshold_status_name(r->status));
	}
	fputs("</table>\n", out);
}

/* Against a baseline: one row per operation and aggregate, regressions
 * in red, the change as a bar from the middle (left faster, right
 * slower, +-50% at the ends). */
static void comparisons(FILE *out, const struct pt_analysis *a,
			const struct pt_out_opts *o)
{
	(void)o;
	if (!a->ncomparisons)
		return;
	fputs("<h2>Against the baseline</h2>\n<table><tr><th>operation</th>"
	      "<th>aggregate</th><th>baseline</th><th>now</th><th>change</th>"
	      "<th>verdict</th></tr>\n",
	      out);
	for (size_t i = 0; i < a->ncomparisons; i++) {
		const struct pt_comparison *k = &a->comparisons[i];
		fprintf(out, "<tr class=\"%s\"><td class=\"t\">",
			k->verdict == PT_V_REGRESSION ? "fail" : "pass");
		esc(out, k->key);
		fprintf(out, "</td><td>%s</td>", baseline_agg_name(k->agg));
		td_dur(out, k->base * 1e6);
		td_dur(out, k->cur * 1e6);
		double c = isfinite(k->change) ? k->change : 0;
		double w = fabs(c) > 0.5 ? BAR_W / 2.0 : fabs(c) * BAR_W;
		fprintf(out,
			"<td><svg xmlns=\"http://www.w3.org/2000/svg\" "
			"width=\"%d\" height=\"12\"><rect width=\"%d\" "
			"height=\"12\" fill=\"#eee\"/><rect x=\"%.1f\" "
			"width=\"%.1f\" height=\"12\" fill=\"%s\"/></svg> "
			"%+.1f%%</td><td>%s</td></tr>\n",
			BAR_W, BAR_W, c < 0 ? BAR_W / 2.0 - w : BAR_W / 2.0, w,
			c > 0 ? "#c0392b" : "#3c9a5f", c * 100,
			verdict_name(k->verdict));
	}
	fputs("</table>\n", out);
}

static void head(FILE *out, const struct pt_analysis *a)
{
	fputs(
	    "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<!DOCTYPE html>\n"
	    "<html xmlns=\"http://www.w3.org/1999/xhtml\"><head>"
	    "<meta charset=\"UTF-8\"/><title>perftap report</title>\n"
	    "<style>body{font:14px sans-serif;margin:2em}"
	    "table{border-collapse:collapse;margin-bottom:1em}"
	    "td,th{border-bottom:1px solid #ddd;padding:2px 8px}"
	    "td.n{text-align:right}td.t{font-family:monospace;"
	    "max-width:40em;overflow-wrap:anywhere}.fail{color:#b00}"
	    ".raw{background:#fdd;padding:4px}div.chart{margin-bottom:1em}"
	    "h3{font-size:14px;font-family:monospace;margin:.5em 0 0}"
	    "svg.latency-time,svg.dist{margin-right:1em}</style></head><body>\n"
	    "<h1>perftap report</h1>\n",
	    out);
	if (a->m->raw)
		fputs("<p class=\"raw\">RAW MODE: this capture holds "
		      "unredacted text.</p>\n",
		      out);
	char buf[32];
	fmt_count((double)a->m->events, buf, sizeof(buf));
	fprintf(out,
		"<p>%s events from %zu process(es) on %zu host(s) over "
		"%.3f s; %llu dropped.</p>\n",
		buf, a->m->nprocs, a->nhosts, a->window_s,
		(unsigned long long)a->drops_total);
}

static void operations(FILE *out, const struct pt_analysis *a,
		       const struct pt_out_opts *o)
{
	if (!a->show_operations)
		return;
	const int *kinds;
	size_t nk = analysis_kind_order(&kinds);
	for (size_t k = 0; k < nk; k++) {
		const struct pt_row *rows;
		size_t n = fmt_kind_rows(a, kinds[k], o->top, &rows);
		if (n)
			table(out, analysis_kind_title(kinds[k]), rows, n,
			      sizeof(*rows));
	}
	struct pt_row cls[PT_SQL_CLASS_COUNT];
	size_t nc = 0;
	for (int c = 0; c < PT_SQL_CLASS_COUNT; c++)
		if (a->classes[c].count)
			cls[nc++] = a->classes[c];
	if (nc)
		table(out, "SQL by class", cls, nc, sizeof(*cls));
	cache(out, a);
	timeline(out, a);
}

/* Per-route breakdown and waterfalls (fmt_requests.c). */
static void requests(FILE *out, const struct pt_analysis *a,
		     const struct pt_out_opts *o)
{
	if (a->show_operations)
		fmt_requests_html(a, out);
	if (a->show_operations)
		fmt_callsites_html(a, o->top, out);
}

static void charts(FILE *out, const struct pt_analysis *a,
		   const struct pt_out_opts *o)
{
	if (a->show_operations)
		html_section_charts(out, a, o);
}

static void processes(FILE *out, const struct pt_analysis *a,
		      const struct pt_out_opts *o)
{
	(void)o;
	if (a->show_operations)
		fmt_resources_html(a, out);
}

/* The page, top to bottom: verdicts first, then pictures, then tables. */
static void (*const sections[])(FILE *, const struct pt_analysis *,
				const struct pt_out_opts *) = {
    thresholds,
    comparisons,
    charts,
    processes,
    operations,
    requests,
    fmt_conns_html,
};

int fmt_html_emit(const struct pt_analysis *a, const struct pt_out_opts *o,
		  FILE *out)
{
	head(out, a);
	for (size_t i = 0; i < sizeof(sections) / sizeof(sections[0]); i++)
		sections[i](out, a, o);
	fputs("</body></html>\n", out);
	return ferror(out) ? -1 : 0;
}
