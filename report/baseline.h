/*
 * baseline.h -- save a run's per-operation statistics, and compare a run
 * against a saved one.
 *
 * File: {"perftap_baseline": 1, "metadata": {...}, "operations": {KEY:
 * {AFIRGen suite fields..., "sample_ms": [...]}}}, KEY a selector
 * (select.h).  sample_ms is a bounded, deterministic sample: evenly spaced
 * order statistics of the operation's durations (PT_BASELINE_SAMPLE
 * values at most), which keeps the distribution's shape for the
 * significance test.
 *
 * A change is a regression only when it is worse than its limit (default
 * mean 5%) and the Mann-Whitney U test finds the two samples different
 * (alpha 0.05), with at least min_samples on each side; a change past the
 * limit that is not significant is noise.
 */
#ifndef PERFTAP_BASELINE_H
#define PERFTAP_BASELINE_H

#include <stddef.h>
#include <stdint.h>

#include "analysis.h"

#define PT_BASELINE_VERSION 1
#define PT_BASELINE_SAMPLE  2000

enum pt_base_agg {
	PT_BA_MEAN = 0,
	PT_BA_MEDIAN,
	PT_BA_P95,
	PT_BA_P99,
	PT_BA_MAX,
	PT_BA_COUNT
};

struct pt_baseline_op {
	char *key;
	double v[PT_BA_COUNT]; /* ms, by enum pt_base_agg */
	uint64_t iterations;
	double *sample; /* ms */
	size_t nsample;
};

struct pt_baseline {
	struct pt_baseline_op *ops;
	size_t n;
	char *created; /* metadata.created, for the report */
};

struct pt_compare_opts {
	double limit[PT_BA_COUNT]; /* fraction; < 0 = not checked */
	double alpha;
	size_t min_samples;
};

enum pt_verdict {
	PT_V_UNCHANGED = 0, /* within the limit */
	PT_V_REGRESSION,    /* worse past the limit, significant */
	PT_V_IMPROVEMENT,   /* better past the limit, significant */
	PT_V_NOISE,	    /* past the limit, not significant */
	PT_V_INSUFFICIENT,  /* past the limit, too few samples to tell */
	PT_V_NEW,	    /* operation absent from the baseline */
	PT_V_GONE	    /* operation absent from this run */
};

struct pt_comparison {
	char *key;
	enum pt_base_agg agg;
	enum pt_verdict verdict;
	double base, cur; /* ms */
	double change;	  /* (cur - base) / base */
	double limit;	  /* fraction */
	double p_value;	  /* 1 when not tested */
	uint64_t n_base, n_cur;
};

void compare_opts_default(struct pt_compare_opts *o);

/* "mean:5%", "p95:10%" (also "p95=0.1").  Returns 0 or -1 with a reason. */
int compare_parse_limit(struct pt_compare_opts *o, const char *s, char *err,
			size_t errlen);

/* Write the baseline of a to path.  Returns 0 or -1 with a reason. */
int baseline_save(const struct pt_analysis *a, const char *path, char *err,
		  size_t errlen);
int baseline_load(const char *path, struct pt_baseline *b, char *err,
		  size_t errlen);
void baseline_free(struct pt_baseline *b);

/* Compare a with b; results go to a->comparisons (caller frees with
 * comparisons_free). */
int baseline_compare(const struct pt_baseline *b, struct pt_analysis *a,
		     const struct pt_compare_opts *o);
void comparisons_free(struct pt_analysis *a);

const char *baseline_agg_name(enum pt_base_agg agg);
const char *verdict_name(enum pt_verdict v);

#endif /* PERFTAP_BASELINE_H */
