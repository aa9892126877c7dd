/*
 * fmt_resources_html.c -- the processes in the HTML report
 * (fmt_resources.h): a timeline of CPU % and RSS per process above the
 * served requests per second and their p95 latency, all on one time axis
 * (the charts' buckets when there are events, else the samples' span),
 * then the table per process.
 *
 * Sections: the time axis, the panels, the table.
 */
#include <math.h>
#include <string.h>

#include "charts.h"
#include "fmt_resources.h"
#include "format.h"
#include "svg.h"

#define RT_W	 640
#define RT_LEFT	 64
#define RT_PANEL 80 /* height of each of the three panels */
#define RT_GAP	 22
#define RT_MAXP	 8    /* processes drawn (the busiest) */
#define RT_PTS	 4096 /* points per polyline, at most */

static const char *const palette[RT_MAXP] = {"#4a7ab5", "#d9822b", "#2e8b57",
					     "#c0392b", "#8a5cb5", "#7f6a00",
					     "#1b9aaa", "#555555"};

/* ---- the time axis ---- */

struct axis {
	double t0, t1; /* wall clock seconds */
};

static void axis_of(const struct pt_analysis *a, struct axis *ax)
{
	const struct pt_charts *c = a->charts;
	if (c && c->nbuckets) {
		ax->t0 = (double)c->t0 / 1e9;
		ax->t1 =
		    ax->t0 + (double)c->bucket_ns * (double)c->nbuckets / 1e9;
		return;
	}
	ax->t0 = INFINITY;
	ax->t1 = -INFINITY;
	for (size_t i = 0; i < a->nres; i++) {
		ax->t0 = fmin(ax->t0, (double)a->res[i].first_ns / 1e9);
		ax->t1 = fmax(ax->t1, (double)a->res[i].last_ns / 1e9);
	}
	if (!(ax->t1 > ax->t0))
		ax->t1 = ax->t0 + 1;
}

static void label_pct(double v, char *buf, size_t len)
{
	snprintf(buf, len, "%.0f%%", v * 100);
}

static void label_bytes(double v, char *buf, size_t len)
{
	fmt_bytes((uint64_t)v, buf, len);
}

static void label_rate(double v, char *buf, size_t len)
{
	snprintf(buf, len, "%.3g/s", v);
}

static void time_labels(FILE *out, const struct svg_plot *p)
{
	for (int i = 0; i <= 4; i++) {
		char buf[32];
		snprintf(buf, sizeof(buf), "%.3gs", (p->x1 - p->x0) * i / 4);
		svg_text(out, p->x + p->w * i / 4, p->y + p->h + 12,
			 i == 0	  ? "start"
			 : i == 4 ? "end"
				  : "middle",
			 buf);
	}
}

/* ---- the panels ---- */

/* Indexes of the busiest processes (by CPU time), at most RT_MAXP. */
static size_t busiest(const struct pt_analysis *a, size_t *idx)
{
	size_t n = 0;
	for (size_t i = 0; i < a->nres; i++) {
		size_t k = n < RT_MAXP ? n++ : RT_MAXP;
		if (k == RT_MAXP) {
			if (a->res[i].cpu_s <= a->res[idx[RT_MAXP - 1]].cpu_s)
				continue;
			k = RT_MAXP - 1;
		}
		idx[k] = i;
		for (; k > 0 && a->res[idx[k]].cpu_s > a->res[idx[k - 1]].cpu_s;
		     k--) {
			size_t t = idx[k];
			idx[k] = idx[k - 1];
			idx[k - 1] = t;
		}
	}
	return n;
}

/* CPU (what == 0, fraction of a core between samples) or RSS (1) of one
 * process as a polyline. */
static void proc_line(FILE *out, const struct svg_plot *p,
		      const struct pt_proc_series *ps, int what,
		      const char *color)
{
	static double xs[RT_PTS], ys[RT_PTS];
	size_t n = 0;
	for (size_t i = what ? 0 : 1; i < ps->n && n < RT_PTS; i++) {
		const struct pt_sample_record *s = &ps->v[i];
		double t = (double)s->time_ns / 1e9;
		if (t < p->x0 || t > p->x1)
			continue;
		if (what) {
			ys[n] = (double)s->rss_bytes;
		} else {
			const struct pt_sample_record *q = &ps->v[i - 1];
			uint64_t c0 = q->utime_ns + q->stime_ns;
			uint64_t c1 = s->utime_ns + s->stime_ns;
			if (s->time_ns <= q->time_ns || c1 < c0)
				continue;
			ys[n] = (double)(c1 - c0) /
				(double)(s->time_ns - q->time_ns);
		}
		xs[n++] = t;
	}
	svg_polyline(out, p, xs, ys, n, color, what ? "rss" : "cpu");
}

static void legend(FILE *out, const struct pt_analysis *a, const size_t *idx,
		   size_t n, double y)
{
	for (size_t k = 0; k < n; k++) {
		char name[48];
		const struct pt_proc_res *r = &a->res[idx[k]];
		snprintf(name, sizeof(name), "%d %.16s", (int)r->pid, r->name);
		double x = RT_LEFT + (double)(k % 4) * 140;
		double yy = y + (double)(k / 4) * 12;
		svg_rect(out, x, yy - 7, 10, 3, palette[k], NULL);
		svg_text(out, x + 13, yy, "start", name);
	}
}

/* Requests per second (bars) and p95 (line) of the busiest served route:
 * the charts' first series, which they order by share of time. */
static void requests_panel(FILE *out, const struct pt_analysis *a,
			   struct svg_plot *p)
{
	const struct pt_charts *c = a->charts;
	const struct pt_series *s = c && c->nseries ? &c->series[0] : NULL;
	if (!s || !c->nbuckets) {
		svg_frame(out, p, 1, label_rate);
		svg_text(out, p->x + 4, p->y + 14, "start",
			 "no requests in these dumps");
		return;
	}
	double bucket_s = (double)c->bucket_ns / 1e9, peak = 0;
	double xs[CHART_BUCKETS], p95[CHART_BUCKETS];
	for (size_t b = 0; b < c->nbuckets; b++)
		peak = fmax(peak, s->count[b] / bucket_s);
	p->y1 = peak > 0 ? peak : 1;
	svg_frame(out, p, 2, label_rate);
	double w = p->w / (double)c->nbuckets;
	for (size_t b = 0; b < c->nbuckets; b++) {
		xs[b] = p->x0 + ((double)b + 0.5) * bucket_s;
		p95[b] = s->p95[b];
		if (!s->count[b])
			continue;
		char t[48];
		double rps = s->count[b] / bucket_s;
		snprintf(t, sizeof(t), "%.3g/s", rps);
		double y = svg_py(p, rps);
		svg_rect(out, p->x + (double)b * w, y, w > 2 ? w - 1 : w,
			 p->y + p->h - y, "#9bb7d4", t);
	}
	/* p95 on its own scale, right-hand labels. */
	struct svg_plot lp = *p;
	lp.y1 = s->max_ns > 0 ? s->max_ns * 1.1 : 1;
	svg_polyline(out, &lp, xs, p95, c->nbuckets, "#d9822b", "p95");
	char top[16], title[PT_TEXT_MAX + 64];
	fmt_duration(lp.y1, top, sizeof(top));
	svg_text(out, p->x + p->w, p->y - 3, "end", top);
	snprintf(title, sizeof(title), "%.60s: requests/s (bars), p95 (line)",
		 s->row && s->row->text ? s->row->text : "");
	svg_text(out, p->x + 4, p->y - 3, "start", title);
}

static void timeline(FILE *out, const struct pt_analysis *a)
{
	size_t idx[RT_MAXP];
	size_t n = busiest(a, idx);
	struct axis ax;
	axis_of(a, &ax);
	double cpu_top = 1.0;
	uint64_t rss_top = 1;
	for (size_t k = 0; k < n; k++) {
		cpu_top = fmax(cpu_top, a->res[idx[k]].cpu_max * 1.05);
		if (a->res[idx[k]].rss_peak > rss_top)
			rss_top = a->res[idx[k]].rss_peak;
	}
	double legend_h = 14.0 * (double)((n + 3) / 4);
	double y = 6 + legend_h + 8;
	struct svg_plot cpu = {RT_LEFT,	 y,	 RT_W - RT_LEFT - 12,
			       RT_PANEL, ax.t0,	 ax.t1,
			       0,	 cpu_top};
	struct svg_plot rss = cpu, req = cpu;
	rss.y = cpu.y + RT_PANEL + RT_GAP;
	rss.y1 = (double)rss_top * 1.05;
	req.y = rss.y + RT_PANEL + RT_GAP;
	int h = (int)(req.y + RT_PANEL + 18);
	svg_begin(out, RT_W, h, "resources-time",
		  "CPU and RSS per process, requests per second and p95 "
		  "latency, over time");
	legend(out, a, idx, n, 14);
	svg_frame(out, &cpu, 2, label_pct);
	svg_text(out, cpu.x + 4, cpu.y - 3, "start", "CPU (of one core)");
	svg_frame(out, &rss, 2, label_bytes);
	svg_text(out, rss.x + 4, rss.y - 3, "start", "resident set (RSS)");
	for (size_t k = 0; k < n; k++) {
		proc_line(out, &cpu, a->res[idx[k]].series, 0, palette[k]);
		proc_line(out, &rss, a->res[idx[k]].series, 1, palette[k]);
	}
	requests_panel(out, a, &req);
	time_labels(out, &req);
	svg_end(out);
}

/* ---- the table ---- */

static void td(FILE *out, const char *s)
{
	fputs("<td>", out);
	fmt_xml_escape(out, s, 0);
	fputs("</td>", out);
}

void fmt_resources_html(const struct pt_analysis *a, FILE *out)
{
	if (!a->nres)
		return;
	fputs("<h2>Processes: CPU and memory over time</h2>\n", out);
	timeline(out, a);
	fputs("\n<table><tr><th>pid</th><th>name</th><th>samples</th>"
	      "<th>CPU time</th><th>mean CPU</th><th>max CPU</th>"
	      "<th>peak RSS</th><th>read</th><th>written</th>"
	      "<th>ctx switches vol/invol</th><th>fds</th><th>threads</th>"
	      "</tr>\n",
	      out);
	for (size_t i = 0; i < a->nres; i++) {
		const struct pt_proc_res *r = &a->res[i];
		char b[12][32];
		snprintf(b[0], sizeof(b[0]), "%d", (int)r->pid);
		snprintf(b[1], sizeof(b[1]), "%zu", r->nsamples);
		snprintf(b[2], sizeof(b[2]), "%.2f s", r->cpu_s);
		label_pct(r->cpu_mean, b[3], sizeof(b[3]));
		label_pct(r->cpu_max, b[4], sizeof(b[4]));
		if (r->cpu_mean < 0)
			strcpy(b[3], "-");
		if (r->cpu_max < 0)
			strcpy(b[4], "-");
		fmt_bytes(r->rss_peak, b[5], sizeof(b[5]));
		if (r->read_bytes == UINT64_MAX) {
			strcpy(b[6], "-");
			strcpy(b[7], "-");
		} else {
			fmt_bytes(r->read_bytes, b[6], sizeof(b[6]));
			fmt_bytes(r->write_bytes, b[7], sizeof(b[7]));
		}
		snprintf(b[8], sizeof(b[8]), "%llu/%llu",
			 (unsigned long long)r->vol_ctxsw,
			 (unsigned long long)r->invol_ctxsw);
		snprintf(b[9], sizeof(b[9]), r->fds_max ? "%u" : "-",
			 r->fds_max);
		snprintf(b[10], sizeof(b[10]), r->threads_max ? "%u" : "-",
			 r->threads_max);
		fputs("<tr>", out);
		td(out, b[0]);
		td(out, r->name);
		for (int k = 1; k <= 10; k++)
			td(out, b[k]);
		fputs("</tr>\n", out);
	}
	fputs("</table>\n", out);
}
