/*
 * test_stats.c -- order statistics, summaries, histogram and the
 * Mann-Whitney U test against hand-computed values.
 */
#include <criterion/criterion.h>
#include <math.h>

#include "stats.h"

#define NEAR(a, b)                                                             \
	(fabs((double)(a) - (double)(b)) < 1e-9 * (1 + fabs((double)(b))))

Test(stats, percentile_of_one_value_is_that_value)
{
	uint64_t v[] = {42};
	cr_assert(NEAR(stats_percentile(v, 1, 95), 42));
	cr_assert(NEAR(stats_percentile(v, 1, 0), 42));
}

Test(stats, percentile_of_two_values_interpolates)
{
	uint64_t v[] = {20, 10};
	/* index 0.95 * 1 = 0.95: 10 + 0.95 * 10 */
	cr_assert(NEAR(stats_percentile(v, 2, 95), 19.5));
	uint64_t w[] = {20, 10};
	cr_assert(NEAR(stats_percentile(w, 2, 50), 15));
}

Test(stats, percentile_matches_afirgen_definition)
{
	uint64_t v[] = {40, 10, 30, 20};
	/* index 0.95 * 3 = 2.85: 30 + 0.85 * 10 */
	cr_assert(NEAR(stats_percentile(v, 4, 95), 38.5));
	uint64_t w[] = {40, 10, 30, 20};
	cr_assert(NEAR(stats_percentile(w, 4, 99), 39.7));
	uint64_t x[] = {40, 10, 30, 20};
	cr_assert(NEAR(stats_percentile(x, 4, 0), 10));
	uint64_t y[] = {40, 10, 30, 20};
	cr_assert(NEAR(stats_percentile(y, 4, 100), 40));
}

Test(stats, empty_array_gives_zero)
{
	struct pt_stats s;
	stats_compute(NULL, 0, &s);
	cr_assert_eq(s.n, 0);
	cr_assert(NEAR(stats_percentile(NULL, 0, 50), 0));
}

Test(stats, summary_of_one_to_hundred)
{
	uint64_t v[100];
	for (int i = 0; i < 100; i++)
		v[i] =
		    (uint64_t)(100 - i); /* reversed: order must not matter */
	struct pt_stats s;
	stats_compute(v, 100, &s);
	cr_assert_eq(s.n, 100);
	cr_assert(NEAR(s.min, 1));
	cr_assert(NEAR(s.max, 100));
	cr_assert(NEAR(s.mean, 50.5));
	cr_assert(NEAR(s.median, 50.5));
	cr_assert(NEAR(s.p90, 90.1));  /* index 89.1 */
	cr_assert(NEAR(s.p95, 95.05)); /* index 94.05 */
	cr_assert(NEAR(s.p99, 99.01)); /* index 98.01 */
	/* sample stdev of 1..100 = sqrt(100*101/12) */
	cr_assert(NEAR(s.stddev, sqrt(841.6666666666666)));
	cr_assert(NEAR(s.sum, 5050));
}

Test(stats, summary_with_many_ties_is_exact)
{
	uint64_t v[1000];
	for (int i = 0; i < 1000; i++)
		v[i] = i < 900 ? 5 : 7;
	struct pt_stats s;
	stats_compute(v, 1000, &s);
	cr_assert(NEAR(s.median, 5));
	cr_assert(NEAR(s.p90, 5.2)); /* index 899.1: 5 + 0.1 * 2 */
	cr_assert(NEAR(s.p99, 7));
}

Test(stats, stddev_of_one_value_is_zero)
{
	uint64_t v[] = {7};
	struct pt_stats s;
	stats_compute(v, 1, &s);
	cr_assert(NEAR(s.stddev, 0));
}

Test(stats, histogram_buckets_are_decades)
{
	cr_assert_eq(stats_hist_bucket(999), 0);
	cr_assert_eq(stats_hist_bucket(1000), 1);
	cr_assert_eq(stats_hist_bucket(2500000), 4); /* 2.5 ms */
	cr_assert_eq(stats_hist_bucket(100000000000ull), PT_HIST_BUCKETS - 1);
	cr_assert_str_eq(stats_hist_label(4), "1ms");
	uint64_t v[] = {500, 5000, 5000000};
	struct pt_stats s;
	stats_compute(v, 3, &s);
	cr_assert_eq(s.hist[0], 1);
	cr_assert_eq(s.hist[1], 1);
	cr_assert_eq(s.hist[4], 1);
}

Test(stats, mann_whitney_separated_samples_are_significant)
{
	double a[30], b[30];
	for (int i = 0; i < 30; i++) {
		a[i] = i;
		b[i] = 100 + i;
	}
	/* U = 0; z = (450 - 0.5) / sqrt(30*30*61/12) = 6.6845 */
	double p = stats_mann_whitney(a, 30, b, 30);
	cr_assert(p < 1e-9, "p = %g", p);
	cr_assert(NEAR(p, erfc(6.684466 / sqrt(2.0))) ||
		  fabs(p - erfc(6.684466 / sqrt(2.0))) < 1e-12);
}

Test(stats, mann_whitney_identical_samples_are_not)
{
	double a[40], b[40];
	for (int i = 0; i < 40; i++)
		a[i] = b[i] = i % 7;
	cr_assert(stats_mann_whitney(a, 40, b, 40) > 0.9);
	cr_assert(NEAR(stats_mann_whitney(a, 0, b, 40), 1.0));
}

Test(stats, mann_whitney_hand_computed_small_case)
{
	/* a = {1,2,3}, b = {4,5,6,7}: R_a = 6, U = 0, mu = 6,
	 * var = 3*4*8/12 = 8, z = (6 - 0.5)/sqrt(8) = 1.9445 */
	double a[] = {1, 2, 3}, b[] = {4, 5, 6, 7};
	double p = stats_mann_whitney(a, 3, b, 4);
	cr_assert(fabs(p - erfc(5.5 / sqrt(8.0) / sqrt(2.0))) < 1e-12, "p = %g",
		  p);
}

Test(stats, quantile_sample_keeps_extremes_and_is_bounded)
{
	uint64_t v[10001];
	for (int i = 0; i <= 10000; i++)
		v[i] = (uint64_t)(10000 - i);
	double out[101];
	size_t k = stats_quantile_sample(v, 10001, out, 101);
	cr_assert_eq(k, 101);
	cr_assert(NEAR(out[0], 0));
	cr_assert(NEAR(out[50], 5000));
	cr_assert(NEAR(out[100], 10000));
	uint64_t w[] = {3, 1, 2};
	k = stats_quantile_sample(w, 3, out, 101);
	cr_assert_eq(k, 3);
	cr_assert(NEAR(out[0], 1) && NEAR(out[2], 3));
}

static uint64_t lcg(uint64_t *s)
{
	*s = *s * 6364136223846793005ull + 1442695040888963407ull;
	return *s >> 20;
}

static int cmp_u64_test(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return (x > y) - (x < y);
}

Test(stats, radix_sort_matches_qsort_on_every_shape)
{
	/* Sizes around the insertion-sort cut-off, wide and narrow key
	 * ranges (one byte, or all 64 bits), many ties. */
	static const size_t sizes[] = {0, 1, 2, 47, 48, 49, 1000, 100000};
	static const uint64_t masks[] = {0xff, 0xffff00, ~0ull, 7};
	uint64_t seed = 1;
	for (size_t s = 0; s < sizeof(sizes) / sizeof(sizes[0]); s++)
		for (size_t k = 0; k < sizeof(masks) / sizeof(masks[0]); k++) {
			size_t n = sizes[s];
			uint64_t *a = malloc((n + 1) * sizeof(*a));
			uint64_t *b = malloc((n + 1) * sizeof(*b));
			for (size_t i = 0; i < n; i++)
				a[i] = b[i] =
				    (lcg(&seed) * 0x9e3779b97f4a7c15ull) &
				    masks[k];
			stats_sort_u64(a, n);
			qsort(b, n, sizeof(*b), cmp_u64_test);
			cr_assert(n == 0 || !memcmp(a, b, n * sizeof(*a)),
				  "n %zu mask %zu", n, k);
			free(a);
			free(b);
		}
}

Test(stats, pair_sort_orders_by_first_word_and_keeps_pairs)
{
	enum { N = 20000 };
	uint64_t *v = malloc(2 * N * sizeof(*v));
	uint64_t seed = 3, sum_before = 0, sum_after = 0;
	for (size_t i = 0; i < N; i++) {
		v[2 * i] = 1700000000000000000ull + lcg(&seed) % 1000000;
		v[2 * i + 1] = v[2 * i] * 3 + 1; /* payload tied to its key */
		sum_before += v[2 * i + 1];
	}
	stats_sort_pairs(v, N);
	for (size_t i = 0; i < N; i++) {
		cr_assert_eq(v[2 * i + 1], v[2 * i] * 3 + 1);
		if (i)
			cr_assert_leq(v[2 * (i - 1)], v[2 * i]);
		sum_after += v[2 * i + 1];
	}
	cr_assert_eq(sum_before, sum_after);
	free(v);
}
