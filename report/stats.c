/*
 * stats.c -- exact order statistics, summaries, histogram, Mann-Whitney U.
 *
 * Sections: selection (3-way quickselect), summaries, histogram, ranks and
 * the U test, bounded samples.
 *
 * Percentiles select rather than sort: several ascending selections, each
 * over the part of the array right of the previous one, cost O(n) where a
 * sort costs O(n log n), which is what keeps `perftap report` above five
 * million events per second.
 */
#include "stats.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/*
 * The selection and summary code, written once for 64-bit samples and once
 * for 32-bit ones (the model keeps durations under 4.29 s in 32 bits), by
 * a macro: T is the element type, S the name suffix.
 *
 * select_k rearranges v[lo..hi) so that v[k] holds the value it would hold
 * sorted, everything left of it <= and everything right of it >=: Hoare's
 * partition around a median of three, which splits runs of equal
 * durations (common: clock granularity) down the middle instead of
 * degrading to quadratic time, and moves fewer elements than a three-way
 * partition.  Small ranges finish by insertion.
 *
 * percentile_from restricts the search to v[from..n): the caller
 * guarantees that every element left of `from` is <= the answer.  It
 * returns the index of the lower order statistic through *pos.
 */
#define SELECT_SMALL 16

#define DEFINE_SELECT(T, S)                                                    \
	static void select_k_##S(T *v, size_t lo, size_t hi, size_t k)         \
	{                                                                      \
		while (hi - lo > SELECT_SMALL) {                               \
			size_t mid = lo + (hi - lo) / 2;                       \
			T t;                                                   \
			if (v[mid] < v[lo])                                    \
				t = v[mid], v[mid] = v[lo], v[lo] = t;         \
			if (v[hi - 1] < v[mid])                                \
				t = v[mid], v[mid] = v[hi - 1], v[hi - 1] = t; \
			if (v[mid] < v[lo])                                    \
				t = v[mid], v[mid] = v[lo], v[lo] = t;         \
			T pivot = v[mid];                                      \
			size_t i = lo - 1, j = hi;                             \
			for (;;) {                                             \
				do                                             \
					i++;                                   \
				while (v[i] < pivot);                          \
				do                                             \
					j--;                                   \
				while (v[j] > pivot);                          \
				if (i >= j)                                    \
					break;                                 \
				t = v[i], v[i] = v[j], v[j] = t;               \
			}                                                      \
			if (k <= j)                                            \
				hi = j + 1;                                    \
			else                                                   \
				lo = j + 1;                                    \
		}                                                              \
		for (size_t i = lo + 1; i < hi; i++) {                         \
			T x = v[i];                                            \
			size_t j = i;                                          \
			for (; j > lo && v[j - 1] > x; j--)                    \
				v[j] = v[j - 1];                               \
			v[j] = x;                                              \
		}                                                              \
	}                                                                      \
                                                                               \
	static T min_of_##S(const T *v, size_t lo, size_t hi)                  \
	{                                                                      \
		T m = v[lo];                                                   \
		for (size_t i = lo + 1; i < hi; i++)                           \
			m = v[i] < m ? v[i] : m;                               \
		return m;                                                      \
	}                                                                      \
                                                                               \
	static double percentile_from_##S(T *v, size_t n, double p,            \
					  size_t from, size_t *pos)            \
	{                                                                      \
		double idx = p / 100.0 * (double)(n - 1);                      \
		size_t k = (size_t)idx;                                        \
		if (k >= n)                                                    \
			k = n - 1;                                             \
		if (k < from)                                                  \
			from = 0; /* out of order request: search all */       \
		select_k_##S(v, from, n, k);                                   \
		*pos = k;                                                      \
		double lo = (double)v[k];                                      \
		double frac = idx - (double)k;                                 \
		if (frac <= 0.0 || k + 1 >= n)                                 \
			return lo;                                             \
		double hi = (double)min_of_##S(v, k + 1, n);                   \
		return lo + (hi - lo) * frac;                                  \
	}

DEFINE_SELECT(uint64_t, u64)
DEFINE_SELECT(uint32_t, u32)

double stats_percentile(uint64_t *v, size_t n, double p)
{
	size_t pos;
	if (n == 0)
		return 0.0;
	return percentile_from_u64(v, n, p, 0, &pos);
}

int stats_hist_bucket(uint64_t ns)
{
	/* One decade per bucket starting at 1us: bucket 0 is < 1us. */
	uint64_t edge = 1000;
	int b = 0;
	while (b < PT_HIST_BUCKETS - 1 && ns >= edge) {
		b++;
		edge *= 10;
	}
	return b;
}

const char *stats_hist_label(int b)
{
	static const char *const labels[PT_HIST_BUCKETS] = {
	    "<1us", "1us",   "10us", "100us", "1ms",
	    "10ms", "100ms", "1s",   "10s+"};
	return b >= 0 && b < PT_HIST_BUCKETS ? labels[b] : "?";
}

/* Integer sums are exact and so independent of the order of v: a merge
 * of dumps gives bit-for-bit the figures of one dump of the union.  The
 * squared deviations are taken around the rounded mean q and corrected:
 * sum (v-m)^2 = sum (v-q)^2 - n (m-q)^2. */
__extension__ typedef unsigned __int128 pt_u128;

/* One decade per bucket from 1 us: how many edges (1us, 10us, ...) v
 * reaches, at most PT_HIST_BUCKETS - 1. */
static int hist_bucket_fast(uint64_t v)
{
	return (v >= 1000ull) + (v >= 10000ull) + (v >= 100000ull) +
	       (v >= 1000000ull) + (v >= 10000000ull) + (v >= 100000000ull) +
	       (v >= 1000000000ull) + (v >= 10000000000ull);
}

#define DEFINE_MOMENTS(T, S)                                                   \
	static void moments_##S(const T *v, size_t n, struct pt_stats *out)    \
	{                                                                      \
		pt_u128 sum = 0;                                               \
		T mn = v[0], mx = v[0];                                        \
		for (size_t i = 0; i < n; i++) {                               \
			sum += v[i];                                           \
			mn = v[i] < mn ? v[i] : mn;                            \
			mx = v[i] > mx ? v[i] : mx;                            \
			out->hist[hist_bucket_fast(v[i])]++;                   \
		}                                                              \
		out->sum = (double)sum;                                        \
		out->min = (double)mn;                                         \
		out->max = (double)mx;                                         \
		out->mean = (double)sum / (double)n;                           \
		uint64_t q = (uint64_t)(sum / n);                              \
		pt_u128 ss = 0;                                                \
		for (size_t i = 0; i < n; i++) {                               \
			uint64_t d = v[i] > q ? v[i] - q : q - v[i];           \
			ss += (pt_u128)d * d;                                  \
		}                                                              \
		double off = out->mean - (double)q;                            \
		double var = n > 1 ? ((double)ss - (double)n * off * off) /    \
					 (double)(n - 1)                       \
				   : 0.0;                                      \
		out->stddev = var > 0 ? sqrt(var) : 0.0;                       \
	}                                                                      \
                                                                               \
	static void compute_##S(T *v, size_t n, struct pt_stats *out)          \
	{                                                                      \
		memset(out, 0, sizeof(*out));                                  \
		out->n = n;                                                    \
		if (n == 0)                                                    \
			return;                                                \
		moments_##S(v, n, out);                                        \
		size_t pos = 0;                                                \
		out->median = percentile_from_##S(v, n, 50, 0, &pos);          \
		out->p90 = percentile_from_##S(v, n, 90, pos, &pos);           \
		out->p95 = percentile_from_##S(v, n, 95, pos, &pos);           \
		out->p99 = percentile_from_##S(v, n, 99, pos, &pos);           \
	}

DEFINE_MOMENTS(uint64_t, u64)
DEFINE_MOMENTS(uint32_t, u32)

void stats_compute(uint64_t *v, size_t n, struct pt_stats *out)
{
	compute_u64(v, n, out);
}

void stats_compute_u32(uint32_t *v, size_t n, struct pt_stats *out)
{
	compute_u32(v, n, out);
}

/*
 * In-place MSD radix sort (American flag sort) over elements of W
 * uint64_t words keyed by the first: O(n) passes of one byte each, from
 * the highest byte in which keys differ, no buffer, so that sorting the
 * millions of request times of a big dump neither allocates (qsort's merge
 * sort would take a copy) nor calls a comparator per step.
 */
#define RADIX_SMALL 48 /* below this, insertion sort is faster */

static void insertion_w(uint64_t *v, size_t n, size_t w)
{
	for (size_t i = 1; i < n; i++) {
		uint64_t x[2] = {v[i * w], w > 1 ? v[i * w + 1] : 0};
		size_t j = i;
		while (j > 0 && v[(j - 1) * w] > x[0]) {
			memcpy(&v[j * w], &v[(j - 1) * w], w * sizeof(*v));
			j--;
		}
		memcpy(&v[j * w], x, w * sizeof(*v));
	}
}

static void radix_w(uint64_t *v, size_t n, size_t w, int shift)
{
	if (n < RADIX_SMALL) {
		insertion_w(v, n, w);
		return;
	}
	size_t count[256] = {0}, head[256], tail[256];
	for (size_t i = 0; i < n; i++)
		count[(v[i * w] >> shift) & 255]++;
	size_t at = 0;
	for (int b = 0; b < 256; b++) {
		head[b] = at;
		at += count[b];
		tail[b] = at;
	}
	for (int b = 0; b < 256; b++) {
		while (head[b] < tail[b]) {
			uint64_t x[2] = {v[head[b] * w],
					 w > 1 ? v[head[b] * w + 1] : 0};
			int d = (int)((x[0] >> shift) & 255);
			/* Follow the cycle until an element lands in b. */
			while (d != b) {
				size_t to = head[d]++;
				uint64_t y[2] = {v[to * w],
						 w > 1 ? v[to * w + 1] : 0};
				memcpy(&v[to * w], x, w * sizeof(*v));
				x[0] = y[0];
				x[1] = y[1];
				d = (int)((x[0] >> shift) & 255);
			}
			memcpy(&v[head[b] * w], x, w * sizeof(*v));
			head[b]++;
		}
	}
	if (shift == 0)
		return;
	size_t start = 0;
	for (int b = 0; b < 256; b++) {
		if (count[b] > 1)
			radix_w(v + start * w, count[b], w, shift - 8);
		start += count[b];
	}
}

static void sort_words(uint64_t *v, size_t n, size_t w)
{
	if (n < 2)
		return;
	uint64_t lo = v[0], hi = v[0];
	for (size_t i = 1; i < n; i++) {
		lo = v[i * w] < lo ? v[i * w] : lo;
		hi = v[i * w] > hi ? v[i * w] : hi;
	}
	if (lo == hi)
		return;
	/* Bytes above the highest differing bit are the same in every key. */
	int top = 63 - __builtin_clzll(lo ^ hi);
	radix_w(v, n, w, top / 8 * 8);
}

void stats_sort_u64(uint64_t *v, size_t n)
{
	sort_words(v, n, 1);
}

void stats_sort_pairs(uint64_t *v, size_t n)
{
	sort_words(v, n, 2);
}

size_t stats_quantile_sample(uint64_t *v, size_t n, double *out, size_t k)
{
	if (n == 0 || k == 0)
		return 0;
	stats_sort_u64(v, n);
	if (n <= k) {
		for (size_t i = 0; i < n; i++)
			out[i] = (double)v[i];
		return n;
	}
	if (k == 1) {
		out[0] = (double)v[n / 2];
		return 1;
	}
	for (size_t i = 0; i < k; i++) {
		size_t at =
		    (size_t)((double)i * (double)(n - 1) / (double)(k - 1) +
			     0.5);
		out[i] = (double)v[at < n ? at : n - 1];
	}
	return k;
}

struct ranked {
	double v;
	int group;
};

static int cmp_ranked(const void *a, const void *b)
{
	double x = ((const struct ranked *)a)->v;
	double y = ((const struct ranked *)b)->v;
	return (x > y) - (x < y);
}

double stats_mann_whitney(const double *a, size_t na, const double *b,
			  size_t nb)
{
	size_t n = na + nb;
	if (na == 0 || nb == 0)
		return 1.0;
	struct ranked *r = malloc(n * sizeof(*r));
	if (!r)
		return 1.0;
	for (size_t i = 0; i < na; i++)
		r[i] = (struct ranked){a[i], 0};
	for (size_t i = 0; i < nb; i++)
		r[na + i] = (struct ranked){b[i], 1};
	qsort(r, n, sizeof(*r), cmp_ranked);
	double rank_a = 0.0, ties = 0.0;
	for (size_t i = 0; i < n;) {
		size_t j = i;
		while (j < n && r[j].v == r[i].v)
			j++;
		double t = (double)(j - i);
		double avg = ((double)i + 1.0 + (double)j) / 2.0;
		for (size_t q = i; q < j; q++)
			if (r[q].group == 0)
				rank_a += avg;
		ties += t * t * t - t;
		i = j;
	}
	free(r);
	double n1 = (double)na, n2 = (double)nb, nn = (double)n;
	double u = rank_a - n1 * (n1 + 1.0) / 2.0;
	double mu = n1 * n2 / 2.0;
	double var = n1 * n2 / 12.0 * ((nn + 1.0) - ties / (nn * (nn - 1.0)));
	if (var <= 0.0)
		return 1.0;
	double z = (fabs(u - mu) - 0.5) / sqrt(var);
	if (z < 0.0)
		z = 0.0;
	return erfc(z / sqrt(2.0));
}
