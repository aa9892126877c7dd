/*
 * requests.c -- inbound requests with their own operations (requests.h).
 *
 * Sections:
 *   1. the log (filled while loading)
 *   2. grouping into requests
 *   3. per route: time per category, children, cache split, slowest
 */
#include <stdlib.h>
#include <string.h>

#include "grow.h"
#include "model.h"
#include "requests.h"
#include "stats.h"
#include "task_join.h"

/* ---- 1. the log ---- */

int requests_log_add(struct pt_requests_log *l, uint32_t proc, uint32_t op,
		     const struct pt_read_event *e, uint64_t start_rt)
{
	if (e->kind >= PT_KIND_COUNT)
		return 0;
	if (e->kind != PT_KIND_HTTP_IN) {
		l->children[e->kind]++;
		l->by_attr[e->kind][e->attr < PT_ATTR_SLOTS ? e->attr : 0]++;
	}
	if (!e->request_id && (!e->task_key || e->kind == PT_KIND_HTTP_IN))
		return 0;
	if (PT_GROW(l->v, l->cap, l->n + 1) < 0)
		return -1;
	struct pt_req_ev *x = &l->v[l->n++];
	memset(x, 0, sizeof(*x));
	x->rid = e->request_id;
	x->start = start_rt;
	x->dur = e->duration_ns;
	x->proc = proc;
	x->op = op;
	x->kind = e->kind;
	x->err = e->outcome == PT_OUT_HTTP ? e->status >= 500
					   : e->outcome != PT_OUT_OK;
	x->status = e->status;
	x->key = e->task_key;
	x->head_us = e->head_us;
	x->attr = e->attr < PT_ATTR_SLOTS ? e->attr : 0;
	if (e->kind == PT_KIND_REDIS && (e->cache_hits || e->cache_misses)) {
		x->cache_read = 1;
		x->miss = e->cache_misses > 0;
	}
	return 0;
}

void requests_log_free(struct pt_requests_log *l)
{
	free(l->v);
	memset(l, 0, sizeof(*l));
}

/* ---- 2. grouping ---- */

static int cmp_ev(const void *x, const void *y)
{
	const struct pt_req_ev *a = x, *b = y;
	if (a->proc != b->proc)
		return a->proc < b->proc ? -1 : 1;
	if (a->rid != b->rid)
		return a->rid < b->rid ? -1 : 1;
	/* The request itself first, then its children by start. */
	if ((a->kind == PT_KIND_HTTP_IN) != (b->kind == PT_KIND_HTTP_IN))
		return a->kind == PT_KIND_HTTP_IN ? -1 : 1;
	return a->start < b->start ? -1 : a->start > b->start;
}

static int cat_of(uint8_t kind)
{
	switch (kind) {
	case PT_KIND_MYSQL:
		return PT_CAT_SQL;
	case PT_KIND_REDIS:
		return PT_CAT_REDIS;
	case PT_KIND_HTTP_OUT:
		return PT_CAT_HTTP_OUT;
	case PT_KIND_SQLITE:
		return PT_CAT_SQLITE;
	default:
		return -1;
	}
}

/* Per-route working buffers while building. */
struct route_work {
	uint64_t *cat[PT_CAT_COUNT];
	uint64_t *lat[PT_REQ_CACHE_COUNT];
	size_t nlat[PT_REQ_CACHE_COUNT];
	size_t n, cap;
};

static struct pt_route_req *
route_of(struct pt_requests *r, struct route_work **w, size_t *cap, uint32_t op)
{
	for (size_t i = 0; i < r->nroutes; i++)
		if (r->routes[i].op == op)
			return &r->routes[i];
	if (r->nroutes == *cap) {
		size_t nc = *cap ? *cap * 2 : 16;
		struct pt_route_req *nr = realloc(r->routes, nc * sizeof(*nr));
		if (!nr)
			return NULL;
		r->routes = nr;
		struct route_work *nw = realloc(*w, nc * sizeof(*nw));
		if (!nw)
			return NULL;
		*w = nw;
		*cap = nc;
	}
	struct pt_route_req *rr = &r->routes[r->nroutes];
	memset(rr, 0, sizeof(*rr));
	memset(&(*w)[r->nroutes], 0, sizeof(**w));
	rr->op = op;
	r->nroutes++;
	return rr;
}

static int work_grow(struct route_work *w)
{
	if (w->n < w->cap)
		return 0;
	size_t nc = w->cap ? w->cap * 2 : 64;
	for (int c = 0; c < PT_CAT_COUNT; c++) {
		uint64_t *v = realloc(w->cat[c], nc * sizeof(*v));
		if (!v)
			return -1;
		w->cat[c] = v;
	}
	for (int c = 0; c < PT_REQ_CACHE_COUNT; c++) {
		uint64_t *v = realloc(w->lat[c], nc * sizeof(*v));
		if (!v)
			return -1;
		w->lat[c] = v;
	}
	w->cap = nc;
	return 0;
}

static int child_count(struct pt_route_req *rr, uint32_t op)
{
	for (size_t i = 0; i < rr->nchildren; i++)
		if (rr->children[i].op == op) {
			rr->children[i].n++;
			return 0;
		}
	struct pt_req_child *c =
	    realloc(rr->children, (rr->nchildren + 1) * sizeof(*c));
	if (!c)
		return -1;
	rr->children = c;
	rr->children[rr->nchildren++] = (struct pt_req_child){op, 1};
	return 0;
}

/* Keep the PT_REQ_SLOWEST slowest requests, slowest first. */
static void slow_keep(struct pt_route_req *rr, const struct pt_req_ev *v,
		      struct pt_req_one one)
{
	uint64_t d = v[one.http].dur;
	int i = rr->nslow < PT_REQ_SLOWEST ? rr->nslow++ : PT_REQ_SLOWEST;
	while (i > 0 && v[rr->slow[i - 1].http].dur < d) {
		if (i < PT_REQ_SLOWEST)
			rr->slow[i] = rr->slow[i - 1];
		i--;
	}
	if (i < PT_REQ_SLOWEST)
		rr->slow[i] = one;
}

/* One request: v[h] is its HTTP_IN, children up to end. */
static int add_request(struct pt_requests *r, struct route_work *w,
		       struct pt_route_req *rr, size_t h, size_t end)
{
	const struct pt_req_ev *v = r->log->v;
	uint64_t t[PT_CAT_COUNT] = {0};
	int reads = 0, miss = 0;
	for (size_t i = h + 1; i < end; i++) {
		int c = cat_of(v[i].kind);
		if (c >= 0)
			t[c] += v[i].dur;
		reads += v[i].cache_read;
		miss |= v[i].miss;
		if (child_count(rr, v[i].op) < 0)
			return -1;
	}
	uint64_t busy = t[PT_CAT_SQL] + t[PT_CAT_REDIS] + t[PT_CAT_HTTP_OUT] +
			t[PT_CAT_SQLITE];
	/* Children that overlap (asyncio.gather) may sum past the request. */
	t[PT_CAT_REST] = v[h].dur > busy ? v[h].dur - busy : 0;
	if (work_grow(w) < 0)
		return -1;
	for (int c = 0; c < PT_CAT_COUNT; c++)
		w->cat[c][w->n] = t[c];
	w->n++;
	int k = !reads ? PT_REQ_NOCACHE
		: miss ? PT_REQ_UNCACHED
		       : PT_REQ_CACHED;
	w->lat[k][w->nlat[k]++] = v[h].dur;
	rr->by_cache[k]++;
	rr->requests++;
	slow_keep(rr, v, (struct pt_req_one){h, h + 1, end - h - 1});
	return 0;
}

/* ---- 3. per route ---- */

static int cmp_child(const void *x, const void *y)
{
	const struct pt_req_child *a = x, *b = y;
	return a->n < b->n   ? 1
	       : a->n > b->n ? -1
			     : (a->op > b->op) - (a->op < b->op);
}

static int cmp_route(const void *x, const void *y)
{
	const struct pt_route_req *a = x, *b = y;
	return a->requests < b->requests   ? 1
	       : a->requests > b->requests ? -1
					   : 0;
}

static void finish_routes(struct pt_requests *r, struct route_work *w)
{
	for (size_t i = 0; i < r->nroutes; i++) {
		struct pt_route_req *rr = &r->routes[i];
		for (int c = 0; c < PT_CAT_COUNT; c++)
			stats_compute(w[i].cat[c], w[i].n, &rr->cat[c]);
		for (int c = 0; c < PT_REQ_CACHE_COUNT; c++)
			stats_compute(w[i].lat[c], w[i].nlat[c],
				      &rr->cache_lat[c]);
		if (rr->nchildren)
			qsort(rr->children, rr->nchildren,
			      sizeof(*rr->children), cmp_child);
		for (int c = 0; c < PT_CAT_COUNT; c++)
			free(w[i].cat[c]);
		for (int c = 0; c < PT_REQ_CACHE_COUNT; c++)
			free(w[i].lat[c]);
	}
	if (r->nroutes)
		qsort(r->routes, r->nroutes, sizeof(*r->routes), cmp_route);
}

static int cmp_proc(const void *x, const void *y)
{
	const struct pt_req_ev *a = x, *b = y;
	return a->proc < b->proc ? -1 : a->proc > b->proc;
}

/* Give operations logged with a task key their request, per process
 * (task_join.h), recount their attribution, and drop those that found
 * none.  0, or -1 when out of memory. */
static int join_tasks(struct pt_requests_log *l)
{
	int pending = 0;
	for (size_t i = 0; i < l->n && !pending; i++)
		pending = !l->v[i].rid;
	if (!pending)
		return 0;
	qsort(l->v, l->n, sizeof(*l->v), cmp_proc);
	size_t keep = 0;
	for (size_t i = 0; i < l->n;) {
		size_t end = i;
		struct pt_task_join j = {0};
		for (; end < l->n && l->v[end].proc == l->v[i].proc; end++) {
			const struct pt_req_ev *x = &l->v[end];
			if (x->kind == PT_KIND_HTTP_IN &&
			    task_join_add_http(&j, x->key, x->start, x->dur,
					       x->head_us, x->rid) < 0) {
				task_join_free(&j);
				return -1;
			}
		}
		task_join_seal(&j);
		for (; i < end; i++) {
			struct pt_req_ev x = l->v[i];
			if (!x.rid) {
				uint8_t attr = x.attr;
				x.rid = task_join_find(&j, x.key, x.start, &attr);
				l->by_attr[x.kind][x.attr]--;
				l->by_attr[x.kind][attr]++;
				x.attr = attr;
			}
			if (x.rid)
				l->v[keep++] = x;
		}
		task_join_free(&j);
	}
	l->n = keep;
	return 0;
}

int requests_build(struct pt_requests *r, struct pt_model *m)
{
	memset(r, 0, sizeof(*r));
	r->m = m;
	r->log = &m->rlog;
	struct pt_requests_log *l = r->log;
	if (join_tasks(l) < 0)
		return -1;
	for (int k = 0; k < PT_KIND_COUNT; k++) {
		r->children += l->children[k];
		r->attributed += l->by_attr[k][PT_ATTR_THREAD] +
				 l->by_attr[k][PT_ATTR_TASK] +
				 l->by_attr[k][PT_ATTR_HANDOFF];
		r->recorded |= l->children[k] != l->by_attr[k][PT_ATTR_UNKNOWN];
	}
	if (l->n)
		qsort(l->v, l->n, sizeof(*l->v), cmp_ev);
	struct route_work *w = NULL;
	size_t cap = 0;
	int rc = 0;
	for (size_t i = 0; i < l->n && rc == 0;) {
		size_t end = i + 1;
		while (end < l->n && l->v[end].proc == l->v[i].proc &&
		       l->v[end].rid == l->v[i].rid)
			end++;
		if (l->v[i].kind == PT_KIND_HTTP_IN) {
			struct pt_route_req *rr =
			    route_of(r, &w, &cap, l->v[i].op);
			rc = rr ? add_request(r, &w[rr - r->routes], rr, i, end)
				: -1;
			r->requests++;
		}
		i = end;
	}
	if (rc == 0)
		finish_routes(r, w);
	free(w);
	return rc;
}

void requests_free(struct pt_requests *r)
{
	for (size_t i = 0; i < r->nroutes; i++)
		free(r->routes[i].children);
	free(r->routes);
	memset(r, 0, sizeof(*r));
}

int requests_route_samples(const struct pt_requests *r, uint32_t op,
			   enum pt_req_cache which, uint64_t **out, size_t *n)
{
	const struct pt_requests_log *l = r->log;
	*out = NULL;
	*n = 0;
	if (!l || !l->n)
		return 0;
	uint64_t *v = malloc(l->n * sizeof(*v));
	if (!v)
		return -1;
	for (size_t i = 0; i < l->n;) {
		size_t end = i + 1;
		int reads = 0, miss = 0;
		while (end < l->n && l->v[end].proc == l->v[i].proc &&
		       l->v[end].rid == l->v[i].rid) {
			reads += l->v[end].cache_read;
			miss |= l->v[end].miss;
			end++;
		}
		int k = !reads ? PT_REQ_NOCACHE
			: miss ? PT_REQ_UNCACHED
			       : PT_REQ_CACHED;
		if (l->v[i].kind == PT_KIND_HTTP_IN && l->v[i].op == op &&
		    k == (int)which)
			v[(*n)++] = l->v[i].dur;
		i = end;
	}
	*out = v;
	return 0;
}

const char *requests_cat_name(enum pt_req_cat c)
{
	static const char *names[PT_CAT_COUNT] = {"sql", "redis", "http_out",
						  "sqlite", "rest"};
	return c < PT_CAT_COUNT ? names[c] : "?";
}
