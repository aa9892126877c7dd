/*
 * fmt_resources.c -- the per-process resources section (fmt_resources.h).
 *
 * Sections: cells, text, JSON, Markdown.  (HTML: fmt_resources_html.c.)
 */
#include "fmt_resources.h"

#include <stdio.h>
#include <string.h>

/* ---- cells ---- */

void fmt_bytes(uint64_t v, char *buf, size_t len)
{
	static const char *const units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
	double x = (double)v;
	int u = 0;
	while (x >= 1024.0 && u < 4) {
		x /= 1024.0;
		u++;
	}
	if (u == 0)
		snprintf(buf, len, "%llu B", (unsigned long long)v);
	else
		snprintf(buf, len, x >= 100 ? "%.0f %s" : "%.3g %s", x,
			 units[u]);
}

static void pct(double v, char *buf, size_t len)
{
	if (v < 0)
		snprintf(buf, len, "-");
	else
		snprintf(buf, len, "%.1f%%", v * 100.0);
}

static void opt_bytes(uint64_t v, char *buf, size_t len)
{
	if (v == UINT64_MAX)
		snprintf(buf, len, "-");
	else
		fmt_bytes(v, buf, len);
}

struct cells {
	char name[32], cpu[16], mean[16], max[16], rss[16], rd[16], wr[16];
	char cs[32], fds[16], thr[16];
};

static void cells_of(const struct pt_proc_res *r, struct cells *c)
{
	snprintf(c->name, sizeof(c->name), "%d %.20s", (int)r->pid,
		 r->name[0] ? r->name : "?");
	snprintf(c->cpu, sizeof(c->cpu), "%.2fs", r->cpu_s);
	pct(r->cpu_mean, c->mean, sizeof(c->mean));
	pct(r->cpu_max, c->max, sizeof(c->max));
	fmt_bytes(r->rss_peak, c->rss, sizeof(c->rss));
	opt_bytes(r->read_bytes, c->rd, sizeof(c->rd));
	opt_bytes(r->write_bytes, c->wr, sizeof(c->wr));
	snprintf(c->cs, sizeof(c->cs), "%llu/%llu",
		 (unsigned long long)r->vol_ctxsw,
		 (unsigned long long)r->invol_ctxsw);
	snprintf(c->fds, sizeof(c->fds), r->fds_max ? "%u" : "-", r->fds_max);
	snprintf(c->thr, sizeof(c->thr), r->threads_max ? "%u" : "-",
		 r->threads_max);
}

/* ---- text ---- */

void fmt_resources_text(const struct pt_analysis *a, FILE *out)
{
	if (!a->nres)
		return;
	fprintf(out,
		"\nProcesses (CPU %% of one core; samples every interval, "
		"%s):\n",
		a->m->series.files ? "perftap record" : "shim only");
	fprintf(out, "  %-24s %5s %8s %6s %6s %10s %10s %10s %13s %4s %4s\n",
		"pid name", "smpl", "cpu", "mean", "max", "peak rss", "read",
		"written", "ctxsw vol/inv", "fds", "thr");
	for (size_t i = 0; i < a->nres; i++) {
		struct cells c;
		cells_of(&a->res[i], &c);
		fprintf(out,
			"  %-24s %5zu %8s %6s %6s %10s %10s %10s %13s %4s "
			"%4s\n",
			c.name, a->res[i].nsamples, c.cpu, c.mean, c.max, c.rss,
			c.rd, c.wr, c.cs, c.fds, c.thr);
	}
	uint64_t bad = a->m->series.bad_samples + a->m->problems.bad_samples;
	if (bad)
		fprintf(out, "  note: %llu damaged samples were skipped\n",
			(unsigned long long)bad);
}

/* ---- JSON ---- */

static void add_u64(cJSON *o, const char *k, uint64_t v)
{
	if (v == UINT64_MAX)
		cJSON_AddNullToObject(o, k);
	else
		cJSON_AddNumberToObject(o, k, (double)v);
}

static void add_ratio(cJSON *o, const char *k, double v)
{
	if (v < 0)
		cJSON_AddNullToObject(o, k);
	else
		cJSON_AddNumberToObject(o, k, v);
}

static cJSON *series_json(const struct pt_proc_series *ps)
{
	cJSON *arr = cJSON_CreateArray();
	for (size_t i = 0; i < ps->n; i++) {
		const struct pt_sample_record *s = &ps->v[i];
		cJSON *o = cJSON_CreateObject();
		cJSON_AddNumberToObject(o, "t", (double)s->time_ns / 1e9);
		cJSON_AddNumberToObject(
		    o, "cpu_s", (double)(s->utime_ns + s->stime_ns) / 1e9);
		cJSON_AddNumberToObject(o, "rss_bytes", (double)s->rss_bytes);
		cJSON_AddItemToArray(arr, o);
	}
	return arr;
}

cJSON *fmt_resources_json(const struct pt_analysis *a)
{
	cJSON *arr = cJSON_CreateArray();
	for (size_t i = 0; i < a->nres; i++) {
		const struct pt_proc_res *r = &a->res[i];
		cJSON *o = cJSON_CreateObject();
		cJSON_AddNumberToObject(o, "pid", r->pid);
		cJSON_AddStringToObject(o, "name", r->name);
		cJSON_AddStringToObject(o, "source",
					r->supervised ? "record" : "shim");
		cJSON_AddNumberToObject(o, "samples", (double)r->nsamples);
		cJSON_AddNumberToObject(o, "first", (double)r->first_ns / 1e9);
		cJSON_AddNumberToObject(o, "last", (double)r->last_ns / 1e9);
		cJSON_AddNumberToObject(o, "cpu_s", r->cpu_s);
		cJSON_AddNumberToObject(o, "user_s", r->user_s);
		cJSON_AddNumberToObject(o, "system_s", r->sys_s);
		add_ratio(o, "cpu_mean", r->cpu_mean);
		add_ratio(o, "cpu_max", r->cpu_max);
		cJSON_AddNumberToObject(o, "rss_peak_bytes",
					(double)r->rss_peak);
		cJSON_AddNumberToObject(o, "rss_last_bytes",
					(double)r->rss_last);
		add_u64(o, "read_bytes", r->read_bytes);
		add_u64(o, "write_bytes", r->write_bytes);
		cJSON_AddNumberToObject(o, "voluntary_ctxsw",
					(double)r->vol_ctxsw);
		cJSON_AddNumberToObject(o, "involuntary_ctxsw",
					(double)r->invol_ctxsw);
		add_u64(o, "fds_max", r->fds_max ? r->fds_max : UINT64_MAX);
		add_u64(o, "threads_max",
			r->threads_max ? r->threads_max : UINT64_MAX);
		cJSON_AddItemToObject(o, "series", series_json(r->series));
		cJSON_AddItemToArray(arr, o);
	}
	return arr;
}

/* ---- Markdown ---- */

void fmt_resources_markdown(const struct pt_analysis *a, FILE *out)
{
	if (!a->nres)
		return;
	fprintf(out, "\n## Processes\n\n"
		     "| pid | name | samples | CPU time | mean CPU | max CPU | "
		     "peak RSS | read | written | ctx switches vol/invol | "
		     "fds | threads |\n"
		     "|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
		     "---:|\n");
	for (size_t i = 0; i < a->nres; i++) {
		struct cells c;
		const struct pt_proc_res *r = &a->res[i];
		cells_of(r, &c);
		/* Names are exe basenames: escape the table's own bar. */
		fprintf(out, "| %d | ", (int)r->pid);
		for (const char *p = r->name; *p; p++)
			fprintf(out, *p == '|' ? "\\|" : "%c", *p);
		fprintf(out,
			" | %zu | %s | %s | %s | %s | %s | %s | %s | %s | %s "
			"|\n",
			r->nsamples, c.cpu, c.mean, c.max, c.rss, c.rd, c.wr,
			c.cs, c.fds, c.thr);
	}
}
