/*
 * fmt_json.c -- the machine-readable report (schema in report/FORMAT.md,
 * versioned by "perftap_report").  Times are in milliseconds, rates per
 * second, ratios in 0..1.
 */
#include <cjson/cJSON.h>

#include "fmt_conns.h"
#include <math.h>
#include <stdlib.h>
#include <time.h>

#include "baseline.h"
#include "fmt_requests.h"
#include "fmt_resources.h"
#include "fmt_callsites.h"
#include "format.h"
#include "thresholds.h"

#define PT_REPORT_SCHEMA 1

static void add_time(cJSON *o, const char *name, uint64_t ns)
{
	char buf[40];
	time_t t = (time_t)(ns / 1000000000ull);
	struct tm tm;
	gmtime_r(&t, &tm);
	size_t n = strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(buf + n, sizeof(buf) - n, ".%06uZ",
		 (unsigned)(ns % 1000000000ull / 1000));
	cJSON_AddStringToObject(o, name, buf);
}

/* JSON has no infinity: a change from zero is null. */
static void add_num(cJSON *o, const char *name, double v)
{
	if (isfinite(v))
		cJSON_AddNumberToObject(o, name, v);
	else
		cJSON_AddNullToObject(o, name);
}

static void add_stats(cJSON *o, const struct pt_stats *s)
{
	cJSON_AddNumberToObject(o, "min_ms", s->min / 1e6);
	cJSON_AddNumberToObject(o, "mean_ms", s->mean / 1e6);
	cJSON_AddNumberToObject(o, "median_ms", s->median / 1e6);
	cJSON_AddNumberToObject(o, "p90_ms", s->p90 / 1e6);
	cJSON_AddNumberToObject(o, "p95_ms", s->p95 / 1e6);
	cJSON_AddNumberToObject(o, "p99_ms", s->p99 / 1e6);
	cJSON_AddNumberToObject(o, "max_ms", s->max / 1e6);
	cJSON_AddNumberToObject(o, "stddev_ms", s->stddev / 1e6);
	cJSON_AddNumberToObject(o, "total_ms", s->sum / 1e6);
}

static cJSON *split_json(const struct pt_stats *s)
{
	cJSON *o = cJSON_CreateObject();
	cJSON_AddNumberToObject(o, "count", (double)s->n);
	add_stats(o, s);
	return o;
}

static void add_op_extras(cJSON *o, const struct pt_row *r)
{
	cJSON *h = cJSON_AddObjectToObject(o, "histogram");
	for (int b = 0; b < PT_HIST_BUCKETS; b++)
		cJSON_AddNumberToObject(h, stats_hist_label(b),
					(double)r->st.hist[b]);
	if (!r->op)
		return;
	cJSON *sl = cJSON_AddArrayToObject(o, "slowest");
	for (int i = 0; i < r->op->nslow; i++) {
		cJSON *s = cJSON_CreateObject();
		cJSON_AddNumberToObject(
		    s, "duration_ms", (double)r->op->slow[i].duration_ns / 1e6);
		add_time(s, "time", r->op->slow[i].start_rt_ns);
		cJSON_AddItemToArray(sl, s);
	}
	cJSON *er = cJSON_AddArrayToObject(o, "error_codes");
	static const char *const outcomes[] = {"ok", "error", "http",
					       "aborted"};
	for (int i = 0; i < PT_ERR_SLOTS && r->op->errs[i].count; i++) {
		const struct pt_err_count *e = &r->op->errs[i];
		cJSON *x = cJSON_CreateObject();
		cJSON_AddStringToObject(
		    x, "outcome", e->outcome < 4 ? outcomes[e->outcome] : "?");
		cJSON_AddNumberToObject(x, "code", e->code);
		cJSON_AddNumberToObject(x, "count", (double)e->count);
		cJSON_AddItemToArray(er, x);
	}
	cJSON_AddNumberToObject(o, "other_errors", (double)r->op->errs_other);
}

/* What the MySQL server said about a fingerprint's calls (v2 events). */
static void add_mysql_notes(cJSON *o, const struct pt_op *op)
{
	double n = (double)op->count;
	cJSON_AddNumberToObject(o, "no_index", (double)op->no_index);
	cJSON_AddNumberToObject(o, "no_index_pct", 100.0 * op->no_index / n);
	cJSON_AddNumberToObject(o, "no_good_index", (double)op->no_good_index);
	cJSON_AddNumberToObject(o, "no_good_index_pct",
				100.0 * op->no_good_index / n);
	cJSON_AddNumberToObject(o, "warnings", (double)op->warnings);
	cJSON_AddNumberToObject(o, "rows_sent", (double)op->rows_sent);
	cJSON_AddNumberToObject(o, "rows_per_call", op->rows_sent / n);
	cJSON_AddNumberToObject(o, "bytes_per_row",
				op->rows_sent ? (double)op->bytes_in /
						    (double)op->rows_sent
					      : 0.0);
}

static cJSON *row_json(const struct pt_row *r)
{
	cJSON *o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "kind", model_kind_word(r->kind));
	cJSON_AddStringToObject(o, "key", r->key);
	cJSON_AddStringToObject(o, "text", r->text);
	if (r->sql_class >= 0)
		cJSON_AddStringToObject(o, "sql_class",
					sql_class_name(r->sql_class));
	cJSON_AddNumberToObject(o, "count", (double)r->count);
	cJSON_AddNumberToObject(o, "errors", (double)r->errors);
	cJSON_AddNumberToObject(o, "error_rate", r->error_rate);
	cJSON_AddNumberToObject(o, "http_4xx", (double)r->http_4xx);
	cJSON_AddNumberToObject(o, "http_5xx", (double)r->http_5xx);
	cJSON_AddNumberToObject(o, "rate_per_sec", r->rate);
	add_stats(o, &r->st);
	cJSON_AddNumberToObject(o, "share", r->share);
	if (r->kind == PT_KIND_SQLITE && r->op) {
		cJSON_AddNumberToObject(o, "full_scans",
					(double)r->op->full_scans);
		cJSON_AddNumberToObject(o, "scan_steps",
					(double)r->op->scan_steps);
		cJSON_AddNumberToObject(o, "sorts", (double)r->op->sorts);
		cJSON_AddNumberToObject(o, "auto_indexes",
					(double)r->op->auto_indexes);
	}
	if (r->kind == PT_KIND_MYSQL && r->op && r->op->count)
		add_mysql_notes(o, r->op);
	if (r->has_split) {
		cJSON *c = cJSON_AddObjectToObject(o, "cache");
		cJSON_AddNumberToObject(c, "hits", (double)r->cache_hits);
		cJSON_AddNumberToObject(c, "misses", (double)r->cache_misses);
		if (r->hit_rate >= 0)
			cJSON_AddNumberToObject(c, "hit_rate", r->hit_rate);
		else
			cJSON_AddNullToObject(c, "hit_rate");
		cJSON_AddItemToObject(c, "hit", split_json(&r->hit));
		cJSON_AddItemToObject(c, "miss", split_json(&r->miss));
	}
	add_op_extras(o, r);
	return o;
}

static cJSON *overview_json(const struct pt_analysis *a)
{
	const struct pt_model *m = a->m;
	cJSON *o = cJSON_CreateObject();
	cJSON *ps = cJSON_AddArrayToObject(o, "processes");
	for (size_t i = 0; i < m->nprocs; i++) {
		cJSON *p = cJSON_CreateObject();
		cJSON_AddStringToObject(p, "path", m->procs[i].path);
		cJSON_AddNumberToObject(p, "pid", m->procs[i].pid);
		cJSON_AddStringToObject(p, "host", m->procs[i].host);
		cJSON_AddStringToObject(p, "exe", m->procs[i].exe);
		cJSON_AddNumberToObject(p, "events",
					(double)m->procs[i].events);
		cJSON_AddBoolToObject(p, "raw_text", m->procs[i].raw);
		cJSON_AddItemToArray(ps, p);
	}
	cJSON_AddNumberToObject(o, "hosts", (double)a->nhosts);
	cJSON *w = cJSON_AddObjectToObject(o, "window");
	if (m->events) {
		add_time(w, "start", m->first_ns);
		add_time(w, "end", m->last_ns);
	}
	cJSON_AddNumberToObject(w, "seconds", a->window_s);
	cJSON_AddNumberToObject(o, "events", (double)m->events);
	cJSON_AddNumberToObject(
	    o, "throughput_per_sec",
	    a->window_s > 0 ? (double)m->events / a->window_s : 0);
	cJSON *d = cJSON_AddObjectToObject(o, "drops");
	cJSON_AddNumberToObject(d, "total", (double)a->drops_total);
	for (int i = 0; i < PT_DROP_CAUSE_COUNT; i++)
		if (m->drops[i])
			cJSON_AddNumberToObject(
			    d, pt_drop_cause_name((enum pt_drop_cause)i),
			    (double)m->drops[i]);
	cJSON *cn = cJSON_AddObjectToObject(o, "connections");
	for (int i = 0; i < PT_CNT_COUNT; i++)
		if (m->counters[i])
			cJSON_AddNumberToObject(
			    cn, pt_counter_name((enum pt_counter)i),
			    (double)m->counters[i]);
	cJSON_AddNumberToObject(o, "undecodable_connections",
				(double)a->undecodable);
	cJSON_AddBoolToObject(o, "raw_mode", m->raw);
	cJSON *pr = cJSON_AddObjectToObject(o, "skipped");
	cJSON_AddNumberToObject(pr, "bad_chunks",
				(double)m->problems.bad_chunks);
	cJSON_AddNumberToObject(pr, "bad_records",
				(double)m->problems.bad_records);
	cJSON_AddNumberToObject(pr, "partial_chunks",
				(double)m->problems.partial_chunks);
	return o;
}

static cJSON *cache_json(const struct pt_analysis *a)
{
	cJSON *o = cJSON_CreateObject();
	cJSON_AddNumberToObject(o, "hits", (double)a->cache_hits);
	cJSON_AddNumberToObject(o, "misses", (double)a->cache_misses);
	if (a->cache_hit_rate >= 0)
		cJSON_AddNumberToObject(o, "hit_rate", a->cache_hit_rate);
	else
		cJSON_AddNullToObject(o, "hit_rate");
	cJSON *ps = cJSON_AddArrayToObject(o, "patterns");
	for (size_t i = 0; i < a->ncache; i++) {
		const struct pt_cache_row *c = &a->cache[i];
		cJSON *p = cJSON_CreateObject();
		cJSON_AddStringToObject(p, "pattern", c->pattern);
		cJSON_AddNumberToObject(p, "hits", (double)c->hits);
		cJSON_AddNumberToObject(p, "misses", (double)c->misses);
		cJSON_AddNumberToObject(p, "hit_rate", c->hit_rate);
		cJSON_AddItemToObject(p, "hit", split_json(&c->hit));
		cJSON_AddItemToObject(p, "miss", split_json(&c->miss));
		cJSON_AddItemToArray(ps, p);
	}
	return o;
}

static cJSON *concurrency_json(const struct pt_analysis *a)
{
	const struct pt_concurrency *k = &a->conc;
	cJSON *o = cJSON_CreateObject();
	cJSON_AddNumberToObject(o, "requests", (double)k->requests);
	cJSON_AddNumberToObject(o, "max_in_flight", k->max_inflight);
	cJSON_AddNumberToObject(o, "p95_in_flight", k->p95_inflight);
	cJSON_AddNumberToObject(o, "bucket_sec", (double)k->bucket_ns / 1e9);
	cJSON *t = cJSON_AddArrayToObject(o, "max_in_flight_over_time");
	for (size_t i = 0; i < k->nbuckets; i++)
		cJSON_AddItemToArray(t, cJSON_CreateNumber(k->bucket_max[i]));
	cJSON *lv = cJSON_AddArrayToObject(o, "levels");
	for (size_t i = 0; i < a->nlevels; i++) {
		cJSON *r = row_json(&a->levels[i]);
		cJSON_AddNumberToObject(r, "level", a->levels[i].level);
		cJSON_AddItemToArray(lv, r);
	}
	return o;
}

static cJSON *thresholds_json(const struct pt_analysis *a)
{
	cJSON *arr = cJSON_CreateArray();
	for (size_t i = 0; i < a->nthresholds; i++) {
		const struct pt_threshold_result *r = &a->thresholds[i];
		cJSON *o = cJSON_CreateObject();
		cJSON_AddStringToObject(o, "selector", r->th->selector);
		cJSON_AddStringToObject(o, "expression", r->th->expr);
		cJSON_AddStringToObject(o, "status",
					threshold_status_name(r->status));
		if (r->status == PT_TH_PASS || r->status == PT_TH_FAIL)
			add_num(o, "measured", r->measured);
		else
			cJSON_AddNullToObject(o, "measured");
		cJSON_AddNumberToObject(o, "limit", r->th->e.limit);
		static const char *const units[] = {"ms", "per_sec", "ratio",
						    "count", "bytes"};
		cJSON_AddStringToObject(o, "unit", units[r->th->e.unit]);
		cJSON_AddNumberToObject(o, "matched", (double)r->matched);
		cJSON_AddNumberToObject(o, "samples", (double)r->samples);
		cJSON_AddItemToArray(arr, o);
	}
	return arr;
}

static cJSON *comparisons_json(const struct pt_analysis *a)
{
	cJSON *arr = cJSON_CreateArray();
	for (size_t i = 0; i < a->ncomparisons; i++) {
		const struct pt_comparison *k = &a->comparisons[i];
		cJSON *o = cJSON_CreateObject();
		cJSON_AddStringToObject(o, "key", k->key);
		cJSON_AddStringToObject(o, "aggregate",
					baseline_agg_name(k->agg));
		cJSON_AddStringToObject(o, "verdict", verdict_name(k->verdict));
		add_num(o, "base_ms", k->base);
		add_num(o, "current_ms", k->cur);
		add_num(o, "change", k->change);
		add_num(o, "limit", k->limit);
		add_num(o, "p_value", k->p_value);
		cJSON_AddNumberToObject(o, "n_base", (double)k->n_base);
		cJSON_AddNumberToObject(o, "n_current", (double)k->n_cur);
		cJSON_AddItemToArray(arr, o);
	}
	return arr;
}

static void add_tables(cJSON *doc, const struct pt_analysis *a,
		       const struct pt_out_opts *o)
{
	cJSON *ops = cJSON_AddArrayToObject(doc, "operations");
	const int *kinds;
	size_t nk = analysis_kind_order(&kinds);
	for (size_t k = 0; k < nk; k++) {
		const struct pt_row *rows;
		size_t n = fmt_kind_rows(a, kinds[k], o->top, &rows);
		for (size_t i = 0; i < n; i++)
			cJSON_AddItemToArray(ops, row_json(&rows[i]));
	}
	cJSON *cl = cJSON_AddArrayToObject(doc, "sql_classes");
	for (int c = 0; c < PT_SQL_CLASS_COUNT; c++)
		if (a->classes[c].count)
			cJSON_AddItemToArray(cl, row_json(&a->classes[c]));
	cJSON_AddItemToObject(doc, "cache", cache_json(a));
	cJSON_AddItemToObject(doc, "concurrency", concurrency_json(a));
}

int fmt_json_emit(const struct pt_analysis *a, const struct pt_out_opts *o,
		  FILE *out)
{
	cJSON *doc = cJSON_CreateObject();
	cJSON_AddNumberToObject(doc, "perftap_report", PT_REPORT_SCHEMA);
	cJSON_AddItemToObject(doc, "overview", overview_json(a));
	if (a->show_operations)
		add_tables(doc, a, o);
	if (a->show_operations)
		cJSON_AddItemToObject(doc, "requests", fmt_requests_json(a));
	if (a->show_operations)
		cJSON_AddItemToObject(doc, "connections", fmt_conns_json(a));
	if (a->show_operations)
		cJSON_AddItemToObject(doc, "processes", fmt_resources_json(a));
	if (a->show_operations)
		cJSON_AddItemToObject(doc, "call_sites", fmt_callsites_json(a));
	cJSON_AddItemToObject(doc, "thresholds", thresholds_json(a));
	cJSON_AddItemToObject(doc, "comparisons", comparisons_json(a));
	cJSON *s = cJSON_AddObjectToObject(doc, "summary");
	cJSON_AddNumberToObject(s, "thresholds", (double)a->nthresholds);
	cJSON_AddNumberToObject(s, "thresholds_failed",
				(double)a->thresholds_failed);
	cJSON_AddNumberToObject(s, "regressions", (double)a->regressions);
	char *text = cJSON_Print(doc);
	cJSON_Delete(doc);
	if (!text)
		return -1;
	int rc = fputs(text, out) < 0 || fputc('\n', out) < 0 ? -1 : 0;
	free(text);
	return rc;
}
