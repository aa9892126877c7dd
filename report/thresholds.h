/*
 * thresholds.h -- k6-style thresholds: a JSON object mapping selectors
 * (select.h) to lists of expressions, e.g.
 *
 *   {"http GET /fir/{id}": ["p(95)<100ms", "p(99)<200ms", "rate>=50/s"],
 *    "cache fir:*": ["hit_rate>=0.8"]}
 *
 * Expression: AGGREGATE OP VALUE[UNIT].  Aggregates: avg (mean), min, max,
 * med, p(N), stddev, count, rate (per second of the capture window),
 * error_rate, hit_rate; for `process` selectors cpu (mean, of one core:
 * "cpu<80%"), cpu_max and rss (peak: "rss<2GB"), each the highest of the
 * processes matched.  OP: < <= > >= == !=.  Time units ms (default), s,
 * us; rates take an optional "/s"; ratios a number or a percentage.
 * When a selector matches several operations their samples are pooled.
 */
#ifndef PERFTAP_THRESHOLDS_H
#define PERFTAP_THRESHOLDS_H

#include <stddef.h>

#include "analysis.h"
#include "select.h"

enum pt_agg {
	PT_AGG_AVG = 0,
	PT_AGG_MIN,
	PT_AGG_MAX,
	PT_AGG_MED,
	PT_AGG_P,
	PT_AGG_STDDEV,
	PT_AGG_COUNT,
	PT_AGG_RATE,
	PT_AGG_ERROR_RATE,
	PT_AGG_HIT_RATE,
	PT_AGG_CPU,	/* process: mean CPU, fraction of one core */
	PT_AGG_CPU_MAX, /* process: highest CPU between two samples */
	PT_AGG_RSS,	/* process: peak resident set, bytes */
};

enum pt_cmp {
	PT_CMP_LT = 0,
	PT_CMP_LE,
	PT_CMP_GT,
	PT_CMP_GE,
	PT_CMP_EQ,
	PT_CMP_NE
};

/* How a measured value reads: ms, per second, a ratio, a count. */
enum pt_unit {
	PT_UNIT_MS = 0,
	PT_UNIT_PER_S,
	PT_UNIT_RATIO,
	PT_UNIT_COUNT,
	PT_UNIT_BYTES /* suffixes B, K/KB/KiB, M/MB/MiB, G/GB/GiB: powers of 1024 */
};

enum pt_th_status { PT_TH_PASS = 0, PT_TH_FAIL, PT_TH_NO_MATCH, PT_TH_NO_DATA };

struct pt_expr {
	enum pt_agg agg;
	double p; /* PT_AGG_P */
	enum pt_cmp cmp;
	double limit; /* in the unit below (ms for times) */
	enum pt_unit unit;
};

struct pt_threshold {
	char *selector, *expr;
	struct pt_selector sel;
	struct pt_expr e;
};

struct pt_thresholds {
	struct pt_threshold *items;
	size_t n;
};

struct pt_threshold_result {
	const struct pt_threshold *th;
	enum pt_th_status status;
	double measured; /* in th->e.unit */
	size_t matched;	 /* operations (or levels) pooled */
	uint64_t samples;
};

/* Parse one expression.  Returns 0 or -1 with a reason in err. */
int threshold_parse_expr(const char *s, struct pt_expr *e, char *err,
			 size_t errlen);

/* Parse a thresholds document / load it from a file.  Errors name the
 * selector or expression at fault. */
int thresholds_parse(const char *json, struct pt_thresholds *t, char *err,
		     size_t errlen);
int thresholds_load(const char *path, struct pt_thresholds *t, char *err,
		    size_t errlen);
void thresholds_free(struct pt_thresholds *t);

/* Evaluate every threshold on a; results go to a->thresholds (owned by the
 * caller: free() it).  NO_MATCH and NO_DATA count as failures unless
 * allow_missing.  Returns 0 or -1 when out of memory. */
int thresholds_eval(const struct pt_thresholds *t, struct pt_analysis *a,
		    int allow_missing);

const char *threshold_status_name(enum pt_th_status s);
const char *threshold_unit_suffix(enum pt_unit u);

#endif /* PERFTAP_THRESHOLDS_H */
