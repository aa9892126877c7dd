/*
 * analysis.h -- everything a report shows, computed from a model before
 * any printing: one row per operation, per SQL class and per concurrency
 * level, cache hit rates per key pattern, in-flight requests over time,
 * and the overview.  Output formats only read this structure.
 */
#ifndef PERFTAP_ANALYSIS_H
#define PERFTAP_ANALYSIS_H

#include <stddef.h>
#include <stdint.h>

#include "model.h"
#include "sql_class.h"
#include "stats.h"

enum pt_row_type { PT_ROW_OP = 0, PT_ROW_SQL_CLASS, PT_ROW_LEVEL };

enum pt_sort {
	PT_SORT_TOTAL = 0, /* share of total time */
	PT_SORT_COUNT,
	PT_SORT_P95,
	PT_SORT_P99,
	PT_SORT_ERRORS
};

struct pt_row {
	enum pt_row_type type;
	int kind;  /* op kind; PT_KIND_MYSQL for classes; HTTP_IN levels */
	char *key; /* selector naming the row: "http GET /fir/{id}" */
	const char *text;	/* operation text, class name, or level */
	const struct pt_op *op; /* PT_ROW_OP only */
	int sql_class; /* PT_ROW_SQL_CLASS, or an SQL op's class; else -1 */
	int level;     /* PT_ROW_LEVEL */
	struct pt_stats st;
	int has_split; /* cache reads and get_or_fetch: hit/miss stats */
	struct pt_stats hit, miss;
	uint64_t count, errors, http_4xx, http_5xx;
	uint64_t cache_hits, cache_misses;
	double rate;	   /* count per second of the window */
	double error_rate; /* errors / count */
	double hit_rate; /* hits / (hits + misses); -1 when not a cache read */
	double share;	 /* of the total time of its kind (0..1) */
};

struct pt_cache_row {
	char *pattern;
	uint64_t hits, misses;
	double hit_rate;
	struct pt_stats hit, miss; /* latency of reads that hit / missed */
};

#define PT_TIMELINE_MAX 60 /* buckets of in-flight requests over time */

struct pt_concurrency {
	uint64_t requests;
	uint32_t max_inflight;
	double p95_inflight; /* over request starts */
	uint64_t bucket_ns;
	size_t nbuckets;
	uint32_t bucket_max[PT_TIMELINE_MAX];
};

struct pt_threshold_result;
struct pt_comparison;
struct pt_charts;

struct pt_analysis {
	struct pt_model *m;
	double window_s; /* last end - first start, seconds */
	size_t nhosts;
	uint64_t drops_total, undecodable;
	struct pt_row *rows; /* grouped by kind, sorted within */
	size_t nrows;
	struct pt_row classes[PT_SQL_CLASS_COUNT]; /* in class order */
	size_t nclasses_used;
	struct pt_row *levels;
	size_t nlevels;
	struct pt_samples *level_samples; /* per level slot (1, 5, 10 ...) */
	uint64_t *levels_errors;	  /* per level slot */
	size_t nlevel_slots;
	struct pt_cache_row *cache;
	size_t ncache;
	uint64_t cache_hits, cache_misses;
	double cache_hit_rate; /* -1 when no cache reads */
	struct pt_concurrency conc;
	/* Filled by the subcommands that evaluate them, which also free
	 * what they attach: thresholds_eval's results point into the
	 * thresholds the CLI's options own (struct pt_cli, cli_free);
	 * baseline_compare's comparisons go with comparisons_free. */
	struct pt_threshold_result *thresholds;
	size_t nthresholds, thresholds_failed;
	struct pt_comparison *comparisons;
	size_t ncomparisons, regressions;
	struct pt_requests req; /* per-request breakdown (requests.h) */
	const char *baseline_path;
	int show_operations; /* report: the tables; check/compare: not */
	const struct pt_charts *charts; /* HTML only (charts.h); NULL = none */
	struct pt_proc_res *res; /* per process, by pid (resources.h) */
	size_t nres;
};

/* Compute everything from m (reorders the model's sample arrays).
 * Returns 0 or -1 when out of memory. */
int analysis_build(struct pt_analysis *a, struct pt_model *m,
		   enum pt_sort sort);
void analysis_free(struct pt_analysis *a);

/* The samples behind a row (all, or one split), appended to buf. */
int analysis_row_samples(const struct pt_analysis *a, const struct pt_row *r,
			 int split, struct pt_samples *buf);

/* Concurrency level of a request that started with n in flight:
 * 1, then the next multiple of 5 (the AFIRGen suite's levels). */
int analysis_level_of(uint64_t inflight);

/* Human name of a kind's table: "HTTP served", "SQL", ... */
const char *analysis_kind_title(int kind);

/* Order in which kinds are shown; returns the count. */
size_t analysis_kind_order(const int **kinds);

#endif /* PERFTAP_ANALYSIS_H */
