/*
 * stats.h -- exact order statistics and summaries over arrays of durations,
 * a log-scale histogram, and the Mann-Whitney U test used by `compare`.
 *
 * Pure functions: no I/O, no globals.  Durations are uint64_t nanoseconds;
 * results are doubles in nanoseconds unless a name says otherwise.
 */
#ifndef PERFTAP_STATS_H
#define PERFTAP_STATS_H

#include <stddef.h>
#include <stdint.h>

/* Log-scale buckets as pt-query-digest prints them: <1us, 1us, 10us, ...
 * 10s+ (each bucket is one decade). */
#define PT_HIST_BUCKETS 9

struct pt_stats {
	uint64_t n;
	double min, max, mean, median, p90, p95, p99, stddev, sum;
	uint64_t hist[PT_HIST_BUCKETS];
};

/* The p-th percentile (0..100) of v[0..n), linear interpolation at index
 * p/100*(n-1) (the AFIRGen suite's definition).  Reorders v (selection,
 * not a full sort).  n == 0 gives 0. */
double stats_percentile(uint64_t *v, size_t n, double p);

/* Everything in struct pt_stats.  Reorders v.  stddev is the sample
 * standard deviation (n-1), 0 when n < 2, as Python's statistics.stdev. */
void stats_compute(uint64_t *v, size_t n, struct pt_stats *out);
/* The same over 32-bit durations (the model's narrow samples). */
void stats_compute_u32(uint32_t *v, size_t n, struct pt_stats *out);

/* Bucket index of one duration in the log-scale histogram. */
int stats_hist_bucket(uint64_t ns);
/* Label of bucket b ("<1us", "1us", "10us", ... "10s+"). */
const char *stats_hist_label(int b);

/* Two-sided Mann-Whitney U test with the normal approximation, tie
 * correction and continuity correction.  a and b are not modified.
 * Returns the p-value (1 when either side is empty or all values tie). */
double stats_mann_whitney(const double *a, size_t na, const double *b,
			  size_t nb);

/* Evenly spaced order statistics: k values from v[0..n) (sorted copy), the
 * minimum and the maximum included, so that a bounded sample keeps the
 * distribution's shape.  Writes min(n, k) values to out and returns that
 * count.  Sorts v. */
size_t stats_quantile_sample(uint64_t *v, size_t n, double *out, size_t k);

/* Sort ascending (used where a full order is needed).  In place, no
 * allocation. */
void stats_sort_u64(uint64_t *v, size_t n);
/* Sort n pairs of words (v[2i], v[2i+1]) by the first word, in place. */
void stats_sort_pairs(uint64_t *v, size_t n);

#endif /* PERFTAP_STATS_H */
