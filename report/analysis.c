/*
 * analysis.c -- turn a model into the rows and figures a report shows.
 *
 * Sections: rows per operation, rows per SQL class, cache per key pattern,
 * concurrency (in-flight at each request's start, levels, timeline),
 * ordering, the public entry points.
 */
#include "grow.h"
#include "analysis.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sql_class.h"

static const int kind_order[] = {PT_KIND_HTTP_IN,     PT_KIND_HTTP_OUT,
				 PT_KIND_MYSQL,	      PT_KIND_REDIS,
				 PT_OPK_GET_OR_FETCH, PT_KIND_SQLITE};

size_t analysis_kind_order(const int **kinds)
{
	*kinds = kind_order;
	return sizeof(kind_order) / sizeof(kind_order[0]);
}

const char *analysis_kind_title(int kind)
{
	switch (kind) {
	case PT_KIND_HTTP_IN:
		return "HTTP served (method, route)";
	case PT_KIND_HTTP_OUT:
		return "HTTP outbound (method, host/route)";
	case PT_KIND_MYSQL:
		return "SQL (fingerprint)";
	case PT_KIND_REDIS:
		return "Redis (command, key pattern)";
	case PT_OPK_GET_OR_FETCH:
		return "Cache-aside get_or_fetch (key pattern)";
	case PT_KIND_SQLITE:
		return "SQLite";
	default:
		return "Other";
	}
}

int analysis_level_of(uint64_t inflight)
{
	if (inflight <= 1)
		return 1;
	return (int)((inflight + 4) / 5 * 5);
}

static char *make_key(const char *word, const char *text)
{
	size_t len = strlen(word) + strlen(text) + 2;
	char *k = malloc(len);
	if (k)
		snprintf(k, len, "%s%s%s", word, *text ? " " : "", text);
	return k;
}

/* Stats over one op's samples; in place when they sit in one array. */
static int op_stats(struct pt_op *op, struct pt_stats *st)
{
	int nonempty = 0, which = 0;
	for (int i = 0; i < PT_SPLIT_COUNT; i++)
		if (op->split[i].n) {
			nonempty++;
			which = i;
		}
	if (nonempty <= 1)
		return samples_stats(&op->split[which], st);
	struct pt_samples buf = {0};
	if (samples_append_op(&buf, op, -1) < 0)
		return -1;
	stats_compute(buf.v, buf.n, st);
	samples_free(&buf);
	return 0;
}

static void fill_rates(struct pt_row *r, double window_s)
{
	r->rate = window_s > 0 ? (double)r->count / window_s : 0.0;
	r->error_rate = r->count ? (double)r->errors / (double)r->count : 0.0;
	uint64_t reads = r->cache_hits + r->cache_misses;
	r->hit_rate = reads ? (double)r->cache_hits / (double)reads : -1.0;
}

/* Most frequent error codes first, then by outcome and code: an order
 * that does not depend on which code the dumps showed first. */
static int cmp_err(const void *x, const void *y)
{
	const struct pt_err_count *a = x, *b = y;
	if (a->count != b->count)
		return a->count < b->count ? 1 : -1;
	if (a->outcome != b->outcome)
		return a->outcome < b->outcome ? -1 : 1;
	return (a->code > b->code) - (a->code < b->code);
}

static int op_row(struct pt_analysis *a, struct pt_op *op, struct pt_row *r)
{
	int nerr = 0;
	while (nerr < PT_ERR_SLOTS && op->errs[nerr].count)
		nerr++;
	qsort(op->errs, (size_t)nerr, sizeof(op->errs[0]), cmp_err);
	memset(r, 0, sizeof(*r));
	r->type = PT_ROW_OP;
	r->kind = op->kind;
	r->op = op;
	r->text = op->text;
	r->sql_class = op->sql_class;
	r->key = make_key(model_kind_word(op->kind), op->text);
	if (!r->key || op_stats(op, &r->st) < 0)
		return -1;
	r->has_split = op->kind == PT_OPK_GET_OR_FETCH || op->cache_hits ||
		       op->cache_misses;
	if (r->has_split) {
		if (samples_stats(&op->split[PT_SPLIT_HIT], &r->hit) < 0 ||
		    samples_stats(&op->split[PT_SPLIT_MISS], &r->miss) < 0)
			return -1;
	}
	r->count = r->st.n;
	r->errors = op->errors;
	r->http_4xx = op->http_4xx;
	r->http_5xx = op->http_5xx;
	r->cache_hits = op->cache_hits;
	r->cache_misses = op->cache_misses;
	fill_rates(r, a->window_s);
	return 0;
}

static int class_rows(struct pt_analysis *a)
{
	struct pt_samples buf = {0};
	for (int c = 0; c < PT_SQL_CLASS_COUNT; c++) {
		struct pt_row *r = &a->classes[c];
		memset(r, 0, sizeof(*r));
		r->type = PT_ROW_SQL_CLASS;
		r->kind = PT_KIND_MYSQL;
		r->sql_class = c;
		r->text = sql_class_name(c);
		size_t len = strlen(r->text) + 5;
		r->key = malloc(len);
		if (!r->key)
			return -1;
		snprintf(r->key, len, "sql:%s", r->text);
		buf.n = 0;
		for (size_t i = 0; i < a->m->nops; i++) {
			const struct pt_op *op = &a->m->ops[i];
			if (op->excluded || op->kind != PT_KIND_MYSQL ||
			    op->sql_class != c)
				continue;
			if (samples_append_op(&buf, op, -1) < 0)
				return -1;
			r->errors += op->errors;
		}
		stats_compute(buf.v, buf.n, &r->st);
		r->count = buf.n;
		if (r->count)
			a->nclasses_used++;
		fill_rates(r, a->window_s);
	}
	samples_free(&buf);
	return 0;
}

static struct pt_cache_row *cache_find(struct pt_analysis *a, const char *pat)
{
	for (size_t i = 0; i < a->ncache; i++)
		if (!strcmp(a->cache[i].pattern, pat))
			return &a->cache[i];
	return NULL;
}

static int cache_latency(struct pt_analysis *a, struct pt_cache_row *c)
{
	struct pt_samples bufs[2] = {{0}, {0}};
	for (size_t i = 0; i < a->m->nops; i++) {
		const struct pt_op *op = &a->m->ops[i];
		const char *sp = strchr(op->text, ' ');
		if (op->excluded || op->kind != PT_KIND_REDIS || !sp ||
		    strcmp(sp + 1, c->pattern))
			continue;
		if (samples_append_op(&bufs[0], op, PT_SPLIT_HIT) < 0 ||
		    samples_append_op(&bufs[1], op, PT_SPLIT_MISS) < 0)
			return -1;
	}
	stats_compute(bufs[0].v, bufs[0].n, &c->hit);
	stats_compute(bufs[1].v, bufs[1].n, &c->miss);
	samples_free(&bufs[0]);
	samples_free(&bufs[1]);
	return 0;
}

/* Most read patterns first, then by name (not by first appearance). */
static int cmp_cache(const void *x, const void *y)
{
	const struct pt_cache_row *a = x, *b = y;
	uint64_t ra = a->hits + a->misses, rb = b->hits + b->misses;
	if (ra != rb)
		return ra < rb ? 1 : -1;
	return strcmp(a->pattern, b->pattern);
}

static int cache_rows(struct pt_analysis *a)
{
	a->cache = calloc(a->m->nops + 1, sizeof(*a->cache));
	if (!a->cache)
		return -1;
	for (size_t i = 0; i < a->m->nops; i++) {
		const struct pt_op *op = &a->m->ops[i];
		if (op->excluded || op->kind != PT_KIND_REDIS ||
		    !(op->cache_hits || op->cache_misses))
			continue;
		const char *sp = strchr(op->text, ' ');
		const char *pat = sp ? sp + 1 : "";
		struct pt_cache_row *c = cache_find(a, pat);
		if (!c) {
			c = &a->cache[a->ncache++];
			c->pattern = strdup(pat);
			if (!c->pattern)
				return -1;
		}
		c->hits += op->cache_hits;
		c->misses += op->cache_misses;
		a->cache_hits += op->cache_hits;
		a->cache_misses += op->cache_misses;
	}
	qsort(a->cache, a->ncache, sizeof(*a->cache), cmp_cache);
	for (size_t i = 0; i < a->ncache; i++) {
		struct pt_cache_row *c = &a->cache[i];
		c->hit_rate = (double)c->hits / (double)(c->hits + c->misses);
		if (cache_latency(a, c) < 0)
			return -1;
	}
	uint64_t reads = a->cache_hits + a->cache_misses;
	a->cache_hit_rate = reads ? (double)a->cache_hits / (double)reads : -1;
	return 0;
}

/*
 * Concurrency, in two sweeps over the requests in start order, each with a
 * min-heap of the end times of the requests in flight: memory in
 * proportion to the most requests in flight, not to the requests.
 */
struct end_heap {
	uint64_t *v;
	size_t n, cap;
};

static int heap_push(struct end_heap *h, uint64_t x)
{
	if (PT_GROW(h->v, h->cap, h->n + 1) < 0)
		return -1;
	size_t i = h->n++;
	while (i > 0 && h->v[(i - 1) / 2] > x) {
		h->v[i] = h->v[(i - 1) / 2];
		i = (i - 1) / 2;
	}
	h->v[i] = x;
	return 0;
}

static uint64_t heap_pop(struct end_heap *h)
{
	uint64_t top = h->v[0], x = h->v[--h->n];
	size_t i = 0;
	for (;;) {
		size_t c = 2 * i + 1;
		if (c >= h->n)
			break;
		if (c + 1 < h->n && h->v[c + 1] < h->v[c])
			c++;
		if (h->v[c] >= x)
			break;
		h->v[i] = h->v[c];
		i = c;
	}
	if (h->n)
		h->v[i] = x;
	return top;
}

/* One step of the timeline: in flight becomes now at time t. */
static void timeline_at(struct pt_analysis *a, size_t *cur, uint32_t before,
			uint32_t now, uint64_t t)
{
	struct pt_concurrency *c = &a->conc;
	size_t k = (size_t)((t - a->m->first_ns) / c->bucket_ns);
	if (k >= c->nbuckets)
		k = c->nbuckets - 1;
	for (; *cur < k; ++*cur) /* carry the count into later buckets */
		if (c->bucket_max[*cur + 1] < before)
			c->bucket_max[*cur + 1] = before;
	if (now > c->bucket_max[k])
		c->bucket_max[k] = now;
}

/* Max in flight per bucket: a request that spans a bucket counts in it
 * even when nothing starts there.  An end at a start's time comes first. */
static int timeline(struct pt_analysis *a)
{
	struct pt_concurrency *c = &a->conc;
	struct pt_model *m = a->m;
	uint64_t span = m->last_ns > m->first_ns ? m->last_ns - m->first_ns : 1;
	uint64_t b = 1000000000ull; /* whole seconds while they fit */
	while (span / b >= PT_TIMELINE_MAX)
		b *= 2;
	c->bucket_ns = b;
	c->nbuckets = (size_t)(span / b) + 1;
	if (c->nbuckets > PT_TIMELINE_MAX)
		c->nbuckets = PT_TIMELINE_MAX;
	struct end_heap h = {0};
	uint32_t now = 0;
	size_t cur = 0;
	for (size_t i = 0; i < m->nhttp; i++) {
		uint64_t t = m->http[i].start;
		while (h.n && h.v[0] <= t) {
			uint64_t e = heap_pop(&h);
			timeline_at(a, &cur, now, now - 1, e);
			now--;
		}
		if (heap_push(&h, PT_IV_END(&m->http[i])) < 0) {
			free(h.v);
			return -1;
		}
		timeline_at(a, &cur, now, now + 1, t);
		now++;
	}
	while (h.n) {
		uint64_t e = heap_pop(&h);
		timeline_at(a, &cur, now, now - 1, e);
		now--;
	}
	free(h.v);
	return 0;
}

/* Make room for level slot `slot` (and its error count). */
static int level_slot(struct pt_analysis *a, size_t slot)
{
	if (slot < a->nlevel_slots)
		return 0;
	size_t n = slot + 1;
	struct pt_samples *ls = realloc(a->level_samples, n * sizeof(*ls));
	if (ls)
		a->level_samples = ls;
	uint64_t *le = realloc(a->levels_errors, n * sizeof(*le));
	if (le)
		a->levels_errors = le;
	if (!ls || !le)
		return -1;
	for (size_t i = a->nlevel_slots; i < n; i++) {
		memset(&ls[i], 0, sizeof(ls[i]));
		le[i] = 0;
	}
	a->nlevel_slots = n;
	return 0;
}

/* Requests in flight at request i's start: started at or before it,
 * minus ended at or before it (the request itself included).  Each
 * request's duration goes to its level's samples; counts[k] tallies the
 * requests that started with k in flight. */
static int inflight_sweep(struct pt_analysis *a, uint64_t **counts,
			  size_t *ncounts)
{
	struct pt_model *m = a->m;
	struct end_heap h = {0};
	size_t s = 0, n = m->nhttp;
	int rc = 0;
	for (size_t i = 0; i < n && rc == 0; i++) {
		uint64_t t = m->http[i].start;
		while (s < n && m->http[s].start <= t && rc == 0)
			rc = heap_push(&h, PT_IV_END(&m->http[s++]));
		if (rc)
			break;
		while (h.n && h.v[0] <= t)
			heap_pop(&h);
		uint32_t in = (uint32_t)h.n;
		if (in >= *ncounts) {
			uint64_t *nc = realloc(*counts, (in + 1) * sizeof(*nc));
			if (!nc) {
				rc = -1;
				break;
			}
			memset(nc + *ncounts, 0,
			       (in + 1 - *ncounts) * sizeof(*nc));
			*counts = nc;
			*ncounts = in + 1;
		}
		(*counts)[in]++;
		int lv = analysis_level_of(in);
		size_t slot = lv == 1 ? 0 : (size_t)lv / 5; /* 5k -> k */
		const struct pt_interval *iv = &m->http[i];
		rc = level_slot(a, slot);
		if (rc == 0)
			rc = samples_push(&a->level_samples[slot],
					  PT_IV_END(iv) - iv->start);
		if (rc == 0 && (iv->end & PT_IV_ERROR))
			a->levels_errors[slot]++;
	}
	free(h.v);
	return rc == 0 && *ncounts ? 0 : -1;
}

/* Exact p-th percentile over the requests (as stats_percentile) from the
 * tallies of in-flight counts. */
static double counts_percentile(const uint64_t *cnt, size_t ncnt, uint64_t n,
				double p)
{
	double idx = p / 100.0 * (double)(n - 1);
	uint64_t k = (uint64_t)idx, seen = 0;
	double lo = -1, hi = -1;
	for (size_t v = 0; v < ncnt && hi < 0; v++) {
		if (lo < 0 && k < seen + cnt[v])
			lo = (double)v;
		if (lo >= 0 && k + 1 < seen + cnt[v])
			hi = (double)v;
		seen += cnt[v];
	}
	double frac = idx - (double)k;
	return frac > 0 && hi >= 0 ? lo + (hi - lo) * frac : lo;
}

static int level_rows(struct pt_analysis *a)
{
	a->levels = calloc(a->nlevel_slots + 1, sizeof(*a->levels));
	if (!a->levels)
		return -1;
	for (size_t s = 0; s < a->nlevel_slots; s++) {
		struct pt_samples *smp = &a->level_samples[s];
		if (!smp->n)
			continue;
		struct pt_row *r = &a->levels[a->nlevels++];
		r->type = PT_ROW_LEVEL;
		r->kind = PT_KIND_HTTP_IN;
		r->level = s == 0 ? 1 : (int)s * 5;
		r->sql_class = -1;
		char key[32];
		snprintf(key, sizeof(key), "concurrency:%d", r->level);
		r->key = strdup(key);
		if (!r->key)
			return -1;
		r->text = r->key + 12;
		if (samples_stats(smp, &r->st) < 0)
			return -1;
		r->count = smp->n;
		r->errors = a->levels_errors[s];
		fill_rates(r, a->window_s);
	}
	return 0;
}

static int concurrency(struct pt_analysis *a)
{
	struct pt_model *m = a->m;
	size_t n = m->nhttp;
	a->conc.requests = n;
	if (!n)
		return 0;
	stats_sort_pairs(&m->http[0].start, n);
	uint64_t *counts = NULL;
	size_t ncounts = 0;
	int rc = inflight_sweep(a, &counts, &ncounts);
	if (rc == 0) {
		a->conc.max_inflight = (uint32_t)(ncounts - 1);
		a->conc.p95_inflight =
		    counts_percentile(counts, ncounts, n, 95);
		rc = timeline(a);
	}
	free(counts);
	return rc == 0 ? level_rows(a) : -1;
}

static enum pt_sort g_sort; /* qsort has no context argument in C11 */

static double sort_value(const struct pt_row *r)
{
	switch (g_sort) {
	case PT_SORT_COUNT:
		return (double)r->count;
	case PT_SORT_P95:
		return r->st.p95;
	case PT_SORT_P99:
		return r->st.p99;
	case PT_SORT_ERRORS:
		return (double)r->errors;
	default:
		return r->st.sum;
	}
}

static int kind_rank(int kind)
{
	for (size_t i = 0; i < sizeof(kind_order) / sizeof(kind_order[0]); i++)
		if (kind_order[i] == kind)
			return (int)i;
	return 99;
}

static int cmp_rows(const void *x, const void *y)
{
	const struct pt_row *a = x, *b = y;
	int ka = kind_rank(a->kind), kb = kind_rank(b->kind);
	if (ka != kb)
		return ka - kb;
	double va = sort_value(a), vb = sort_value(b);
	if (va != vb)
		return va < vb ? 1 : -1;
	return strcmp(a->key, b->key);
}

static void shares(struct pt_analysis *a)
{
	double total[PT_OPK_COUNT + 1] = {0};
	for (size_t i = 0; i < a->nrows; i++)
		total[a->rows[i].kind] += a->rows[i].st.sum;
	for (size_t i = 0; i < a->nrows; i++) {
		struct pt_row *r = &a->rows[i];
		r->share = total[r->kind] > 0 ? r->st.sum / total[r->kind] : 0;
	}
	for (size_t i = 0; i < a->nlevels; i++)
		a->levels[i].share =
		    total[PT_KIND_HTTP_IN] > 0
			? a->levels[i].st.sum / total[PT_KIND_HTTP_IN]
			: 0;
	for (int c = 0; c < PT_SQL_CLASS_COUNT; c++)
		a->classes[c].share =
		    total[PT_KIND_MYSQL] > 0
			? a->classes[c].st.sum / total[PT_KIND_MYSQL]
			: 0;
}

static void overview(struct pt_analysis *a)
{
	struct pt_model *m = a->m;
	a->window_s = m->last_ns > m->first_ns && m->events
			  ? (double)(m->last_ns - m->first_ns) / 1e9
			  : 0.0;
	for (size_t i = 0; i < m->nprocs; i++) {
		size_t j = 0;
		while (j < i && strcmp(m->procs[j].host, m->procs[i].host))
			j++;
		if (j == i)
			a->nhosts++;
	}
	for (int d = 0; d < PT_DROP_CAUSE_COUNT; d++)
		a->drops_total += m->drops[d];
	a->undecodable = m->counters[PT_CNT_CONN_UNDECODABLE];
}

int analysis_build(struct pt_analysis *a, struct pt_model *m, enum pt_sort sort)
{
	memset(a, 0, sizeof(*a));
	a->m = m;
	a->show_operations = 1;
	overview(a);
	a->rows = calloc(m->nops + 1, sizeof(*a->rows));
	if (!a->rows)
		return -1;
	for (size_t i = 0; i < m->nops; i++) {
		struct pt_op *op = &m->ops[i];
		if (op->excluded || model_op_samples(op) == 0)
			continue;
		if (op_row(a, op, &a->rows[a->nrows++]) < 0)
			return -1;
	}
	if (class_rows(a) < 0 || cache_rows(a) < 0 || concurrency(a) < 0 ||
	    requests_build(&a->req, m) < 0 || resources_build(a) < 0)
		return -1;
	shares(a);
	g_sort = sort;
	qsort(a->rows, a->nrows, sizeof(*a->rows), cmp_rows);
	return 0;
}

void analysis_free(struct pt_analysis *a)
{
	requests_free(&a->req);
	for (size_t i = 0; i < a->nrows; i++)
		free(a->rows[i].key);
	for (int c = 0; c < PT_SQL_CLASS_COUNT; c++)
		free(a->classes[c].key);
	for (size_t i = 0; i < a->nlevels; i++)
		free(a->levels[i].key);
	for (size_t s = 0; s < a->nlevel_slots; s++)
		samples_free(&a->level_samples[s]);
	for (size_t i = 0; i < a->ncache; i++)
		free(a->cache[i].pattern);
	free(a->rows);
	free(a->levels);
	free(a->levels_errors);
	free(a->level_samples);
	free(a->cache);
	free(a->res);
	free(a->thresholds);
	memset(a, 0, sizeof(*a));
}

int analysis_row_samples(const struct pt_analysis *a, const struct pt_row *r,
			 int split, struct pt_samples *buf)
{
	if (r->type == PT_ROW_OP)
		return samples_append_op(buf, r->op, split);
	if (r->type == PT_ROW_LEVEL) {
		size_t s = r->level == 1 ? 0 : (size_t)r->level / 5;
		return samples_append(buf, &a->level_samples[s]);
	}
	for (size_t i = 0; i < a->m->nops; i++) {
		const struct pt_op *op = &a->m->ops[i];
		if (!op->excluded && op->kind == PT_KIND_MYSQL &&
		    op->sql_class == r->sql_class &&
		    samples_append_op(buf, op, split) < 0)
			return -1;
	}
	return 0;
}
