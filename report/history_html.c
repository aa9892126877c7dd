/*
 * history_html.c -- one operation's trend over runs as a page
 * (history_html.h): p50/p95/p99 lines over the runs, the rate as bars
 * below them on the same run axis, then the figures as a table.
 */
#include <stdio.h>
#include <stdlib.h>

#include "format.h"
#include "history_html.h"
#include "svg.h"

#define W      720
#define LEFT   64
#define LAT_H  200
#define RATE_H 60
#define H      (14 + LAT_H + 8 + RATE_H + 26)

static void label_ms(double v, char *buf, size_t len)
{
	fmt_duration(v * 1e6, buf, len); /* ms -> ns */
}

static void label_rate(double v, char *buf, size_t len)
{
	snprintf(buf, len, "%.3g/s", v);
}

static int chart(FILE *out, const struct pt_trend_point *pts, size_t n)
{
	double *xs = malloc(4 * n * sizeof(*xs)), top = 0, peak = 0;
	if (!xs)
		return -1;
	double *p50 = xs + n, *p95 = xs + 2 * n, *p99 = xs + 3 * n;
	for (size_t i = 0; i < n; i++) {
		xs[i] = (double)i + 0.5;
		p50[i] = pts[i].p50_ms;
		p95[i] = pts[i].p95_ms;
		p99[i] = pts[i].p99_ms;
		if (p99[i] > top)
			top = p99[i];
		if (p95[i] > top)
			top = p95[i];
		if (pts[i].rate > peak)
			peak = pts[i].rate;
	}
	struct svg_plot lat = {LEFT,	  14, W - LEFT - 8,	      LAT_H, 0,
			       (double)n, 0,  top > 0 ? top * 1.1 : 1};
	struct svg_plot rp = {LEFT, 14 + LAT_H + 8, lat.w, RATE_H,
			      0,    (double)n,	    0,	   peak > 0 ? peak : 1};
	svg_begin(out, W, H, "trend", "p50, p95 and p99 over the runs");
	svg_frame(out, &lat, 4, label_ms);
	svg_polyline(out, &lat, xs, p50, n, "#4a7ab5", "p50");
	svg_polyline(out, &lat, xs, p95, n, "#d9822b", "p95");
	svg_polyline(out, &lat, xs, p99, n, "#c0392b", "p99");
	svg_frame(out, &rp, 1, label_rate);
	double w = rp.w / (double)n;
	fputs("<g class=\"rate\">", out);
	for (size_t i = 0; i < n; i++) {
		char t[64];
		snprintf(t, sizeof(t), "run %lld: %.3g/s",
			 (long long)pts[i].run, pts[i].rate);
		double y = svg_py(&rp, pts[i].rate);
		svg_rect(out, rp.x + (double)i * w, y, w > 2 ? w - 1 : w,
			 rp.y + rp.h - y, "#9bb7d4", t);
	}
	fputs("</g>", out);
	for (size_t i = 0; i < n; i++) {
		char t[24];
		snprintf(t, sizeof(t), "%lld", (long long)pts[i].run);
		if (n <= 20 || i % (n / 10 + 1) == 0)
			svg_text(out, svg_px(&rp, xs[i]), rp.y + rp.h + 14,
				 "middle", t);
	}
	svg_end(out);
	free(xs);
	return 0;
}

int history_trend_html(FILE *out, const char *key,
		       const struct pt_trend_point *pts, size_t n)
{
	fputs("<!DOCTYPE html>\n<html lang=\"en\"><head><meta "
	      "charset=\"utf-8\"/><title>perftap trend: ",
	      out);
	fmt_xml_escape(out, key, 0);
	fputs("</title><style>body{font:14px sans-serif;margin:1.5em}"
	      "table{border-collapse:collapse}td,th{padding:2px 8px;"
	      "border-bottom:1px solid #ddd;text-align:right}"
	      "td:nth-child(2),td:nth-child(3){text-align:left}</style>"
	      "</head><body><h1>",
	      out);
	fmt_xml_escape(out, key, 0);
	fprintf(out,
		"</h1><p>p50 (blue), p95 (orange), p99 (red) over the "
		"last %zu runs; the rate below.</p>",
		n);
	if (n && chart(out, pts, n) < 0)
		return -1;
	fputs("<table class=\"runs\"><tr><th>run</th><th>time</th>"
	      "<th>label</th><th>p50 ms</th><th>p95 ms</th><th>p99 ms</th>"
	      "<th>rate/s</th></tr>",
	      out);
	for (size_t i = 0; i < n; i++) {
		fprintf(out, "<tr><td>%lld</td><td>%s</td><td>",
			(long long)pts[i].run, pts[i].time);
		fmt_xml_escape(out, pts[i].label, 0);
		fprintf(out,
			"</td><td>%.3f</td><td>%.3f</td><td>%.3f</td>"
			"<td>%.2f</td></tr>",
			pts[i].p50_ms, pts[i].p95_ms, pts[i].p99_ms,
			pts[i].rate);
	}
	fputs("</table></body></html>\n", out);
	return ferror(out) ? -1 : 0;
}
