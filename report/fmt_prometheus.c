/*
 * fmt_prometheus.c -- Prometheus text exposition format (version 0.0.4):
 * one summary per operation (perftap_operation_duration_seconds, with
 * quantiles 0.5 0.9 0.95 0.99, _sum and _count), error counters, cache hit
 * ratios per key pattern, and the capture's overview.  For a node
 * exporter's textfile collector or a push gateway.
 *
 * Every family is written whole (HELP, TYPE, then all its samples), as
 * the format requires; label values are escaped (\\ \" \n).
 */
#include <math.h>

#include "format.h"

static void label_value(FILE *out, const char *s)
{
	fputc('"', out);
	for (; *s; s++) {
		if (*s == '\\' || *s == '"')
			fputc('\\', out);
		if (*s == '\n')
			fputs("\\n", out);
		else
			fputc(*s, out);
	}
	fputc('"', out);
}

static void family(FILE *out, const char *name, const char *type,
		   const char *help)
{
	fprintf(out, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void op_labels(FILE *out, const struct pt_row *r, const char *extra_k,
		      const char *extra_v)
{
	fputs("{kind=", out);
	label_value(out, model_kind_word(r->kind));
	fputs(",operation=", out);
	label_value(out, r->text);
	if (r->sql_class >= 0) {
		fputs(",sql_class=", out);
		label_value(out, sql_class_name(r->sql_class));
	}
	if (extra_k) {
		fprintf(out, ",%s=", extra_k);
		label_value(out, extra_v);
	}
	fputc('}', out);
}

static void value(FILE *out, double v)
{
	if (isnan(v))
		fputs(" NaN\n", out);
	else
		fprintf(out, " %.9g\n", v);
}

/* Call fn on every operation row shown (per kind, at most top). */
#define FOR_ROWS(a, o, r, body)                                                \
	do {                                                                   \
		const int *kinds_;                                             \
		size_t nk_ = analysis_kind_order(&kinds_);                     \
		for (size_t k_ = 0; k_ < nk_; k_++) {                          \
			const struct pt_row *rows_;                            \
			size_t n_ =                                            \
			    fmt_kind_rows(a, kinds_[k_], (o)->top, &rows_);    \
			for (size_t i_ = 0; i_ < n_; i_++) {                   \
				const struct pt_row *r = &rows_[i_];           \
				body;                                          \
			}                                                      \
		}                                                              \
	} while (0)

static void durations(const struct pt_analysis *a, const struct pt_out_opts *o,
		      FILE *out)
{
	static const struct {
		const char *q;
		size_t off;
	} qs[] = {{"0.5", offsetof(struct pt_stats, median)},
		  {"0.9", offsetof(struct pt_stats, p90)},
		  {"0.95", offsetof(struct pt_stats, p95)},
		  {"0.99", offsetof(struct pt_stats, p99)}};
	const char *name = "perftap_operation_duration_seconds";
	family(out, name, "summary",
	       "Duration of each operation (exact quantiles).");
	FOR_ROWS(a, o, r, {
		for (size_t q = 0; q < sizeof(qs) / sizeof(qs[0]); q++) {
			double v =
			    *(const double *)((const char *)&r->st + qs[q].off);
			fputs(name, out);
			op_labels(out, r, "quantile", qs[q].q);
			value(out, v / 1e9);
		}
		fprintf(out, "%s_sum", name);
		op_labels(out, r, NULL, NULL);
		value(out, r->st.sum / 1e9);
		fprintf(out, "%s_count", name);
		op_labels(out, r, NULL, NULL);
		value(out, (double)r->count);
	});
}

static void counters(const struct pt_analysis *a, const struct pt_out_opts *o,
		     FILE *out)
{
	family(out, "perftap_operation_errors_total", "counter",
	       "Failed, aborted or HTTP 5xx operations.");
	FOR_ROWS(a, o, r, {
		fputs("perftap_operation_errors_total", out);
		op_labels(out, r, NULL, NULL);
		value(out, (double)r->errors);
	});
	family(out, "perftap_operation_cache_hit_ratio", "gauge",
	       "Cache reads that found every key, over all cache reads.");
	FOR_ROWS(a, o, r, {
		if (r->hit_rate < 0)
			continue;
		fputs("perftap_operation_cache_hit_ratio", out);
		op_labels(out, r, NULL, NULL);
		value(out, r->hit_rate);
	});
}

static void cache(const struct pt_analysis *a, FILE *out)
{
	static const char *const names[] = {"perftap_cache_hits_total",
					    "perftap_cache_misses_total",
					    "perftap_cache_hit_ratio"};
	static const char *const help[] = {
	    "Keys found by cache reads, per key pattern.",
	    "Keys missing (nil) in cache reads, per key pattern.",
	    "Hits over hits and misses, per key pattern."};
	for (int f = 0; f < 3; f++) {
		family(out, names[f], f < 2 ? "counter" : "gauge", help[f]);
		for (size_t i = 0; i < a->ncache; i++) {
			const struct pt_cache_row *c = &a->cache[i];
			fprintf(out, "%s{pattern=", names[f]);
			label_value(out, c->pattern);
			fputc('}', out);
			value(out, f == 0   ? (double)c->hits
				   : f == 1 ? (double)c->misses
					    : c->hit_rate);
		}
	}
}

static void overview(const struct pt_analysis *a, FILE *out)
{
	const struct pt_model *m = a->m;
	family(out, "perftap_events_total", "counter", "Events read.");
	fprintf(out, "perftap_events_total %llu\n",
		(unsigned long long)m->events);
	family(out, "perftap_dropped_events_total", "counter",
	       "Events the capture could not record.");
	fprintf(out, "perftap_dropped_events_total %llu\n",
		(unsigned long long)a->drops_total);
	family(out, "perftap_window_seconds", "gauge",
	       "From the first event's start to the last event's end.");
	fprintf(out, "perftap_window_seconds %.9g\n", a->window_s);
	family(out, "perftap_http_max_in_flight", "gauge",
	       "Most served HTTP requests in flight at once.");
	fprintf(out, "perftap_http_max_in_flight %u\n", a->conc.max_inflight);
	family(out, "perftap_http_p95_in_flight", "gauge",
	       "95th percentile of requests in flight at a request's start.");
	fprintf(out, "perftap_http_p95_in_flight %.9g\n", a->conc.p95_inflight);
}

int fmt_prometheus_emit(const struct pt_analysis *a,
			const struct pt_out_opts *o, FILE *out)
{
	durations(a, o, out);
	counters(a, o, out);
	cache(a, out);
	overview(a, out);
	return ferror(out) ? -1 : 0;
}
