/*
 * charts.c -- statistics for the HTML report's charts (see charts.h):
 * the event recorder, the choice of operations, per-bucket percentiles
 * and the fine latency histogram.
 */
#include "grow.h"
#include "charts.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "select.h"
#include "thresholds.h"

#define ROUTES_MAX 6 /* served routes charted, by share of time */
#define SLOW_MAX   3 /* slowest SQL, Redis, outbound HTTP ops each */

static void observe(void *arg, size_t op, uint64_t start, uint64_t dur)
{
	struct pt_chart_recorder *r = arg;
	if (r->oom)
		return;
	if (PT_GROW(r->ev, r->cap, r->n + 1) < 0) {
		r->oom = 1;
		return;
	}
	r->ev[r->n++] = (struct pt_chart_event){start, dur, (uint32_t)op};
}

void charts_record(struct pt_chart_recorder *r, struct pt_model *m)
{
	memset(r, 0, sizeof(*r));
	m->observe = observe;
	m->observe_arg = r;
}

void charts_recorder_free(struct pt_chart_recorder *r)
{
	free(r->ev);
	memset(r, 0, sizeof(*r));
}

int charts_bin(uint64_t ns)
{
	if (ns < CHART_MIN_NS)
		return 0;
	int b = (int)floor(log10((double)ns / CHART_MIN_NS) *
			   CHART_BINS_PER_DECADE);
	return b >= CHART_BINS ? CHART_BINS - 1 : b;
}

double charts_bin_low(int b)
{
	return CHART_MIN_NS * pow(10.0, (double)b / CHART_BINS_PER_DECADE);
}

static int chosen(const struct pt_charts *c, const struct pt_row *r)
{
	for (size_t i = 0; i < c->nseries; i++)
		if (c->series[i].row == r)
			return 1;
	return 0;
}

/* Up to max rows of kind, taking the highest p95 first (HTTP routes: in
 * the analysis's order, share of time). */
static void choose_kind(struct pt_charts *c, const struct pt_analysis *a,
			int kind, size_t max, int by_p95)
{
	for (size_t k = 0; k < max && c->nseries < CHART_SERIES_MAX; k++) {
		const struct pt_row *best = NULL;
		for (size_t i = 0; i < a->nrows; i++) {
			const struct pt_row *r = &a->rows[i];
			if (r->kind != kind || !r->op || !r->count ||
			    chosen(c, r))
				continue;
			if (!best || (by_p95 && r->st.p95 > best->st.p95))
				best = r;
			if (!by_p95)
				break;
		}
		if (!best)
			return;
		c->series[c->nseries++].row = best;
	}
}

/* The tightest latency limit of a threshold that names this row. */
static void find_threshold(struct pt_series *s, const struct pt_analysis *a)
{
	s->threshold_ns = -1;
	for (size_t i = 0; i < a->nthresholds; i++) {
		const struct pt_threshold *th = a->thresholds[i].th;
		enum pt_agg g = th->e.agg;
		if (th->e.unit != PT_UNIT_MS ||
		    (g != PT_AGG_P && g != PT_AGG_MED && g != PT_AGG_AVG &&
		     g != PT_AGG_MAX) ||
		    !selector_match_op(&th->sel, s->row->op, 0))
			continue;
		double ns = th->e.limit * 1e6;
		if (s->threshold_ns < 0 || ns < s->threshold_ns) {
			s->threshold_ns = ns;
			s->threshold_expr = th->expr;
		}
	}
}

static size_t bucket_of(const struct pt_charts *c, uint64_t start)
{
	size_t b = start > c->t0 ? (size_t)((start - c->t0) / c->bucket_ns) : 0;
	return b >= c->nbuckets ? c->nbuckets - 1 : b;
}

/* Percentiles per bucket of one series: its durations gathered bucket by
 * bucket into tmp (counts already known). */
static void bucket_percentiles(struct pt_charts *c, struct pt_series *s,
			       uint32_t op, const struct pt_chart_recorder *r,
			       uint64_t *tmp)
{
	size_t off[CHART_BUCKETS + 1] = {0}, fill[CHART_BUCKETS];
	for (size_t b = 0; b < c->nbuckets; b++)
		off[b + 1] = off[b] + s->count[b];
	memcpy(fill, off, sizeof(fill));
	for (size_t i = 0; i < r->n; i++)
		if (r->ev[i].op == op)
			tmp[fill[bucket_of(c, r->ev[i].start)]++] =
			    r->ev[i].dur;
	for (size_t b = 0; b < c->nbuckets; b++) {
		size_t n = s->count[b];
		uint64_t *v = tmp + off[b];
		s->p50[b] = n ? stats_percentile(v, n, 50) : NAN;
		s->p95[b] = n ? stats_percentile(v, n, 95) : NAN;
		s->p99[b] = n ? stats_percentile(v, n, 99) : NAN;
		if (n && s->p99[b] > s->max_ns)
			s->max_ns = s->p99[b];
	}
}

int charts_build(struct pt_charts *c, const struct pt_analysis *a,
		 const struct pt_chart_recorder *r)
{
	memset(c, 0, sizeof(*c));
	if (r->oom)
		return -1;
	uint64_t span =
	    a->m->last_ns > a->m->first_ns ? a->m->last_ns - a->m->first_ns : 1;
	c->t0 = a->m->first_ns;
	c->nbuckets = CHART_BUCKETS;
	c->bucket_ns = (span + CHART_BUCKETS - 1) / CHART_BUCKETS;
	if (!c->bucket_ns)
		c->bucket_ns = 1;
	choose_kind(c, a, PT_KIND_HTTP_IN, ROUTES_MAX, 0);
	choose_kind(c, a, PT_KIND_MYSQL, SLOW_MAX, 1);
	choose_kind(c, a, PT_KIND_REDIS, SLOW_MAX, 1);
	choose_kind(c, a, PT_KIND_HTTP_OUT, SLOW_MAX, 1);
	size_t most = 0;
	for (size_t k = 0; k < c->nseries; k++) {
		struct pt_series *s = &c->series[k];
		uint32_t op = (uint32_t)(s->row->op - a->m->ops);
		for (size_t i = 0; i < r->n; i++)
			if (r->ev[i].op == op) {
				s->count[bucket_of(c, r->ev[i].start)]++;
				s->hist[charts_bin(r->ev[i].dur)]++;
			}
		size_t n = 0;
		for (size_t b = 0; b < c->nbuckets; b++)
			n += s->count[b];
		if (n > most)
			most = n;
		find_threshold(s, a);
	}
	uint64_t *tmp = malloc((most ? most : 1) * sizeof(*tmp));
	if (!tmp)
		return -1;
	for (size_t k = 0; k < c->nseries; k++)
		bucket_percentiles(c, &c->series[k],
				   (uint32_t)(c->series[k].row->op - a->m->ops),
				   r, tmp);
	free(tmp);
	return 0;
}
