/*
 * charts.h -- the statistics behind the HTML report's charts, computed
 * apart from printing: per chosen operation, p50/p95/p99 and requests per
 * second in time buckets over the run, and a log-scale latency histogram
 * with CHART_BINS_PER_DECADE bins a decade, with the latency threshold
 * that applies to it.
 *
 * Time order is not in the model (its samples are sorted by the
 * statistics), so a recorder is hung on the model while it loads
 * (model.observe) and keeps (operation, start, duration) per event.
 */
#ifndef PERFTAP_CHARTS_H
#define PERFTAP_CHARTS_H

#include <stddef.h>
#include <stdint.h>

#include "analysis.h"

#define CHART_BUCKETS	      60 /* time buckets over the run */
#define CHART_BINS_PER_DECADE 5
#define CHART_MIN_NS	      1000ull /* first bin starts at 1 us */
#define CHART_DECADES	      8	      /* 1 us .. 100 s */
#define CHART_BINS	      (CHART_BINS_PER_DECADE * CHART_DECADES)
#define CHART_SERIES_MAX      16

struct pt_chart_event {
	uint64_t start, dur;
	uint32_t op;
};

struct pt_chart_recorder {
	struct pt_chart_event *ev;
	size_t n, cap;
	int oom;
};

struct pt_series {
	const struct pt_row *row;
	uint32_t count[CHART_BUCKETS]; /* events starting in the bucket */
	double p50[CHART_BUCKETS], p95[CHART_BUCKETS], p99[CHART_BUCKETS];
	uint64_t hist[CHART_BINS]; /* below 1 us in 0, above 100 s in last */
	double max_ns;		   /* largest bucket p99 */
	double threshold_ns; /* latency limit of a threshold on it; <0 none */
	const char *threshold_expr;
};

struct pt_charts {
	uint64_t t0, bucket_ns; /* bucket b starts at t0 + b * bucket_ns */
	size_t nbuckets;
	struct pt_series series[CHART_SERIES_MAX];
	size_t nseries;
};

/* Hang r on m (before loading) so that it sees every event kept. */
void charts_record(struct pt_chart_recorder *r, struct pt_model *m);
void charts_recorder_free(struct pt_chart_recorder *r);

/* Choose the operations (HTTP routes by share of time, then the slowest
 * SQL, Redis and outbound HTTP by p95) and compute their series from the
 * recorder.  Reads a->thresholds when evaluated.  0 or -1 (memory). */
int charts_build(struct pt_charts *c, const struct pt_analysis *a,
		 const struct pt_chart_recorder *r);

/* Bin of a duration, and the lower edge of bin b, ns. */
int charts_bin(uint64_t ns);
double charts_bin_low(int b);

#endif /* PERFTAP_CHARTS_H */
