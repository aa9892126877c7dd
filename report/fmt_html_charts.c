/*
 * fmt_html_charts.c -- the HTML page's charts section: per charted
 * operation (charts.h), p50/p95/p99 over time above requests per second
 * on the same time axis, and beside it the latency distribution
 * (CHART_BINS_PER_DECADE bins a decade) with the threshold's limit.
 * Only prints: the figures come from charts_build.
 */
#include <math.h>

#include "charts.h"
#include "fmt_html.h"
#include "svg.h"

#define TS_W   560 /* time chart */
#define TS_H   190
#define LAT_H  110 /* latency panel within it */
#define RPS_H  40
#define DIST_W 340
#define LEFT   52 /* room for the value axis labels */

static void label_dur(double v, char *buf, size_t len)
{
	fmt_duration(v, buf, len);
}

static void label_rate(double v, char *buf, size_t len)
{
	snprintf(buf, len, "%.3g/s", v);
}

static void label_count(double v, char *buf, size_t len)
{
	snprintf(buf, len, "%.0f", v);
}

static void time_axis(FILE *out, const struct pt_charts *c,
		      const struct svg_plot *p)
{
	double span = (double)c->bucket_ns * (double)c->nbuckets / 1e9;
	for (int i = 0; i <= 4; i++) {
		char buf[32];
		snprintf(buf, sizeof(buf), "%.3gs", span * i / 4);
		svg_text(out, p->x + p->w * i / 4, p->y + p->h + 12,
			 i == 0	  ? "start"
			 : i == 4 ? "end"
				  : "middle",
			 buf);
	}
}

static void legend(FILE *out, double x, double y)
{
	static const struct {
		const char *name, *color;
	} keys[] = {{"p50", "#4a7ab5"}, {"p95", "#d9822b"}, {"p99", "#c0392b"}};
	for (int i = 0; i < 3; i++) {
		svg_rect(out, x + i * 50, y - 7, 10, 3, keys[i].color, NULL);
		svg_text(out, x + i * 50 + 13, y, "start", keys[i].name);
	}
}

static void time_chart(FILE *out, const struct pt_charts *c,
		       const struct pt_series *s)
{
	double xs[CHART_BUCKETS], rps[CHART_BUCKETS], peak = 0;
	double bucket_s = (double)c->bucket_ns / 1e9;
	for (size_t b = 0; b < c->nbuckets; b++) {
		xs[b] = (double)b + 0.5;
		rps[b] = s->count[b] / bucket_s;
		if (rps[b] > peak)
			peak = rps[b];
	}
	double top = s->max_ns > 0 ? s->max_ns * 1.1 : 1;
	if (s->threshold_ns > 0 && s->threshold_ns > top &&
	    s->threshold_ns < top * 3)
		top = s->threshold_ns * 1.05;
	struct svg_plot lat = {
	    LEFT, 14, TS_W - LEFT - 8, LAT_H, 0, (double)c->nbuckets, 0, top};
	struct svg_plot rp = {
	    LEFT, 14 + LAT_H + 8,      lat.w, RPS_H,
	    0,	  (double)c->nbuckets, 0,     peak > 0 ? peak : 1};
	svg_begin(out, TS_W, TS_H, "latency-time",
		  "latency over time and requests per second");
	legend(out, LEFT, 10);
	svg_frame(out, &lat, 4, label_dur);
	svg_polyline(out, &lat, xs, s->p50, c->nbuckets, "#4a7ab5", "p50");
	svg_polyline(out, &lat, xs, s->p95, c->nbuckets, "#d9822b", "p95");
	svg_polyline(out, &lat, xs, s->p99, c->nbuckets, "#c0392b", "p99");
	if (s->threshold_ns > 0 && s->threshold_ns <= top) {
		double y = svg_py(&lat, s->threshold_ns);
		fprintf(out,
			"<line class=\"threshold\" x1=\"%.1f\" y1=\"%.1f\" "
			"x2=\"%.1f\" y2=\"%.1f\" stroke=\"#b00\" "
			"stroke-dasharray=\"4 3\"/>",
			lat.x, y, lat.x + lat.w, y);
	}
	svg_frame(out, &rp, 1, label_rate);
	fputs("<g class=\"rps\">", out);
	double w = rp.w / (double)c->nbuckets;
	for (size_t b = 0; b < c->nbuckets; b++) {
		if (!s->count[b])
			continue;
		char t[48];
		snprintf(t, sizeof(t), "%.3g/s (%u)", rps[b], s->count[b]);
		double y = svg_py(&rp, rps[b]);
		svg_rect(out, rp.x + b * w, y, w > 2 ? w - 1 : w,
			 rp.y + rp.h - y, "#9bb7d4", t);
	}
	fputs("</g>", out);
	time_axis(out, c, &rp);
	svg_end(out);
}

/* The nonempty range of bins, widened to whole decades for the axis. */
static void dist_range(const struct pt_series *s, double thr, int *lo, int *hi)
{
	*lo = CHART_BINS;
	*hi = -1;
	for (int b = 0; b < CHART_BINS; b++)
		if (s->hist[b]) {
			if (b < *lo)
				*lo = b;
			*hi = b;
		}
	if (thr > 0) {
		int t = charts_bin((uint64_t)thr);
		*lo = t < *lo ? t : *lo;
		*hi = t > *hi ? t : *hi;
	}
	*lo -= *lo % CHART_BINS_PER_DECADE;
	*hi += CHART_BINS_PER_DECADE - *hi % CHART_BINS_PER_DECADE - 1;
	if (*hi >= CHART_BINS)
		*hi = CHART_BINS - 1;
}

static void dist_chart(FILE *out, const struct pt_series *s)
{
	int lo, hi;
	uint64_t max = 1;
	dist_range(s, s->threshold_ns, &lo, &hi);
	for (int b = lo; b <= hi; b++)
		if (s->hist[b] > max)
			max = s->hist[b];
	struct svg_plot p = {LEFT,
			     14,
			     DIST_W - LEFT - 12,
			     LAT_H + RPS_H + 8,
			     (double)lo,
			     (double)hi + 1,
			     0,
			     (double)max};
	svg_begin(out, DIST_W, TS_H, "dist", "latency distribution");
	svg_text(out, LEFT, 10, "start", "latency distribution (count)");
	svg_frame(out, &p, 4, label_count);
	double w = p.w / (hi - lo + 1);
	for (int b = lo; b <= hi; b++) {
		char t[64], l[16], u[16];
		fmt_duration(charts_bin_low(b), l, sizeof(l));
		fmt_duration(charts_bin_low(b + 1), u, sizeof(u));
		snprintf(t, sizeof(t), "%s..%s: %llu", l, u,
			 (unsigned long long)s->hist[b]);
		double y = svg_py(&p, (double)s->hist[b]);
		if (s->hist[b])
			svg_rect(out, svg_px(&p, b), y, w > 2 ? w - 1 : w,
				 p.y + p.h - y, "#4a7ab5", t);
		if ((b - lo) % CHART_BINS_PER_DECADE == 0)
			svg_text(out, svg_px(&p, b), p.y + p.h + 12, "middle",
				 l);
	}
	if (s->threshold_ns > 0) {
		double x = lo + log10(s->threshold_ns / charts_bin_low(lo)) *
				    CHART_BINS_PER_DECADE;
		svg_vline(out, &p, x, "#b00", "threshold", s->threshold_expr);
	}
	svg_end(out);
}

void html_section_charts(FILE *out, const struct pt_analysis *a,
			 const struct pt_out_opts *o)
{
	(void)o;
	const struct pt_charts *c = a->charts;
	if (!c || !c->nseries)
		return;
	fprintf(out,
		"<h2>Latency over time</h2>\n<p>p50/p95/p99 and requests "
		"per second in buckets of %.3g s; the distribution has %d "
		"bins a decade; a dashed red line is a threshold's limit."
		"</p>\n",
		(double)c->bucket_ns / 1e9, CHART_BINS_PER_DECADE);
	for (size_t i = 0; i < c->nseries; i++) {
		const struct pt_series *s = &c->series[i];
		fputs("<div class=\"chart\"><h3>", out);
		fmt_xml_escape(out, s->row->key, FMT_XML_CTL_MARK);
		fputs("</h3>", out);
		time_chart(out, c, s);
		dist_chart(out, s);
		fputs("</div>\n", out);
	}
}
