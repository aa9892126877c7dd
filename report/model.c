/*
 * model.c -- group events per operation, keep durations, detect
 * cache-aside sequences.
 *
 * Sections: growable arrays, the operation table (FNV-1a, open addressing;
 * loaders map their interned texts to operations themselves, see load.c),
 * error tallies and slowest samples, cache-aside, the public entry points.
 *
 * Order: everything here gives the same figures whatever the order of
 * events across threads, as long as each thread's events come in the
 * order it wrote them (the chunk-order pass of load.c relies on it).
 * Sums are exact integers, percentiles are order statistics, the slowest
 * samples break ties on time, and cache-aside state is kept per thread.
 */
#include "grow.h"
#include "callsites.h"
#include "model.h"

#include <stdlib.h>
#include <string.h>

#include "sql_class.h"
#include "stats.h"

#define PENDING_MIN 64 /* initial slots of the per-thread table */

/* Cache-aside state of one thread (or connection, when the thread is
 * unknown).  Entries are never removed, so probe chains stay whole. */
struct pt_pending {
	uint32_t tid;	/* 0 = empty slot */
	uint32_t op;	/* the GET miss's operation + 1; 0 = none pending */
	uint64_t start; /* the GET's start, wall clock */
};

/* Narrow to wide: every sample to 64 bits, capacity kept. */
static int samples_widen(struct pt_samples *s)
{
	size_t cap = s->cap ? s->cap : 64;
	uint64_t *nv = malloc(cap * sizeof(*nv));
	if (!nv)
		return -1;
	for (size_t i = 0; i < s->n; i++)
		nv[i] = s->v32[i];
	free(s->v32);
	s->v32 = NULL;
	s->v = nv;
	s->cap = cap;
	return 0;
}

/* Room for `more` samples, wide when `wide` (or already wide). */
static int samples_reserve(struct pt_samples *s, size_t more, int wide)
{
	if (wide && !s->v && samples_widen(s) < 0)
		return -1;
	if (s->n + more <= s->cap)
		return 0;
	size_t cap = s->cap ? s->cap : 64;
	while (cap < s->n + more)
		cap *= 2;
	if (s->v) {
		uint64_t *nv = realloc(s->v, cap * sizeof(*nv));
		if (!nv)
			return -1;
		s->v = nv;
	} else {
		uint32_t *nv = realloc(s->v32, cap * sizeof(*nv));
		if (!nv)
			return -1;
		s->v32 = nv;
	}
	s->cap = cap;
	return 0;
}

int samples_push(struct pt_samples *s, uint64_t v)
{
	int wide = s->v || v > UINT32_MAX;
	if ((s->n == s->cap || (wide && !s->v)) &&
	    samples_reserve(s, 1, wide) < 0)
		return -1;
	if (s->v)
		s->v[s->n++] = v;
	else
		s->v32[s->n++] = (uint32_t)v;
	return 0;
}

void samples_free(struct pt_samples *s)
{
	free(s->v);
	free(s->v32);
	memset(s, 0, sizeof(*s));
}

int samples_append(struct pt_samples *buf, const struct pt_samples *src)
{
	if (samples_reserve(buf, src->n, 1) < 0)
		return -1;
	if (src->v && src->n)
		memcpy(buf->v + buf->n, src->v, src->n * sizeof(*src->v));
	else
		for (size_t i = 0; i < src->n; i++)
			buf->v[buf->n + i] = src->v32[i];
	buf->n += src->n;
	return 0;
}

int samples_append_op(struct pt_samples *buf, const struct pt_op *op, int split)
{
	/* Wide even when empty: callers read buf->v. */
	if (samples_reserve(buf, 0, 1) < 0)
		return -1;
	for (int i = 0; i < PT_SPLIT_COUNT; i++) {
		if (split >= 0 && i != split)
			continue;
		if (samples_append(buf, &op->split[i]) < 0)
			return -1;
	}
	return 0;
}

int samples_stats(struct pt_samples *s, struct pt_stats *st)
{
	if (s->v)
		stats_compute(s->v, s->n, st);
	else
		stats_compute_u32(s->v32, s->n, st);
	return 0;
}

size_t model_op_samples(const struct pt_op *op)
{
	size_t n = 0;
	for (int i = 0; i < PT_SPLIT_COUNT; i++)
		n += op->split[i].n;
	return n;
}

const char *model_kind_word(int kind)
{
	switch (kind) {
	case PT_KIND_HTTP_IN:
		return "http";
	case PT_KIND_HTTP_OUT:
		return "http_out";
	case PT_KIND_MYSQL:
		return "sql";
	case PT_KIND_REDIS:
		return "redis";
	case PT_KIND_SQLITE:
		return "sqlite";
	case PT_OPK_GET_OR_FETCH:
		return "get_or_fetch";
	default:
		return "unknown";
	}
}

static const char *key_pattern(const char *text)
{
	const char *sp = strchr(text, ' ');
	return sp ? sp + 1 : "";
}

static int cmd_is(const char *text, const char *const *cmds)
{
	size_t len = strcspn(text, " ");
	for (; *cmds; cmds++)
		if (strlen(*cmds) == len && !strncmp(text, *cmds, len))
			return 1;
	return 0;
}

static uint8_t cache_aside_role(const char *text)
{
	static const char *const reads[] = {"GET", "HGET", "HGETALL", NULL};
	static const char *const writes[] = {"SET",   "SETEX", "PSETEX", "HSET",
					     "HMSET", "SETNX", NULL};
	return cmd_is(text, reads) ? 1 : cmd_is(text, writes) ? 2 : 0;
}

static uint32_t hash_text(uint8_t kind, const char *t, size_t len)
{
	uint32_t h = 2166136261u ^ kind;
	for (size_t i = 0; i < len; i++) {
		h ^= (uint8_t)t[i];
		h *= 16777619u;
	}
	return h ? h : 1;
}

static int index_grow(struct pt_model *m)
{
	size_t cap = m->index_cap ? m->index_cap * 2 : 256;
	uint32_t *ix = calloc(cap, sizeof(*ix));
	if (!ix)
		return -1;
	for (size_t i = 0; i < m->nops; i++) {
		size_t at = m->ops[i].hash & (cap - 1);
		while (ix[at])
			at = (at + 1) & (cap - 1);
		ix[at] = (uint32_t)i + 1;
	}
	free(m->index);
	m->index = ix;
	m->index_cap = cap;
	return 0;
}

static struct pt_op *op_create(struct pt_model *m, uint8_t kind,
			       const char *text, size_t len, uint32_t h)
{
	if (PT_GROW(m->ops, m->capops, m->nops + 1) < 0)
		return NULL;
	/* Keep the index at most half full so probes stay short. */
	if ((m->nops + 1) * 2 > m->index_cap && index_grow(m) < 0)
		return NULL;
	struct pt_op *op = &m->ops[m->nops];
	memset(op, 0, sizeof(*op));
	op->text = strndup(text, len);
	if (!op->text)
		return NULL;
	op->kind = kind;
	op->hash = h;
	op->sql_class = kind == PT_KIND_MYSQL || kind == PT_KIND_SQLITE
			    ? (int8_t)sql_classify(op->text)
			    : -1;
	op->excluded = m->filter && !m->filter(op, m->filter_arg);
	op->ca_role = kind == PT_KIND_REDIS ? cache_aside_role(op->text) : 0;
	size_t at = h & (m->index_cap - 1);
	while (m->index[at])
		at = (at + 1) & (m->index_cap - 1);
	m->index[at] = (uint32_t)m->nops + 1;
	m->nops++;
	return op;
}

struct pt_op *model_op(struct pt_model *m, uint8_t kind, const char *text,
		       size_t len)
{
	/* A name from a damaged file may hold a NUL: the name ends there, as
	 * the stored copy (strndup) does, so lookup and copy agree. */
	len = strnlen(text, len);
	uint32_t h = hash_text(kind, text, len);
	if (m->index_cap) {
		size_t at = h & (m->index_cap - 1);
		for (; m->index[at]; at = (at + 1) & (m->index_cap - 1)) {
			struct pt_op *op = &m->ops[m->index[at] - 1];
			if (op->hash == h && op->kind == kind &&
			    !strncmp(op->text, text, len) &&
			    op->text[len] == '\0')
				return op;
		}
	}
	return op_create(m, kind, text, len, h);
}

static void tally_error(struct pt_op *op, uint8_t outcome, int32_t code)
{
	for (int i = 0; i < PT_ERR_SLOTS; i++) {
		struct pt_err_count *e = &op->errs[i];
		if (e->count && e->outcome == outcome && e->code == code) {
			e->count++;
			return;
		}
		if (!e->count) {
			*e = (struct pt_err_count){outcome, code, 1};
			return;
		}
	}
	op->errs_other++;
}

static void keep_slowest(struct pt_op *op, uint64_t dur, uint64_t start)
{
	int at = op->nslow;
	if (op->nslow == PT_SLOWEST) {
		const struct pt_slow_sample *last = &op->slow[PT_SLOWEST - 1];
		if (dur < last->duration_ns ||
		    (dur == last->duration_ns && start >= last->start_rt_ns))
			return;
		at = PT_SLOWEST - 1;
	} else {
		op->nslow++;
	}
	/* Insertion into the short list, slowest first, the earlier first
	 * among equals (so that the list does not depend on event order). */
	while (at > 0 && (op->slow[at - 1].duration_ns < dur ||
			  (op->slow[at - 1].duration_ns == dur &&
			   op->slow[at - 1].start_rt_ns > start))) {
		op->slow[at] = op->slow[at - 1];
		at--;
	}
	op->slow[at] = (struct pt_slow_sample){dur, start};
}

/* Outcome bookkeeping: errors are failed operations, aborted ones, and
 * HTTP 5xx; 4xx are counted apart (a 404 for an unknown FIR is an answer,
 * not a failure). */
static void count_outcome(struct pt_op *op, const struct pt_read_event *ev)
{
	if (ev->outcome == PT_OUT_ERROR || ev->outcome == PT_OUT_ABORTED) {
		op->errors++;
		tally_error(op, ev->outcome, ev->status);
	} else if (ev->outcome == PT_OUT_HTTP && ev->status >= 400) {
		if (ev->status >= 500) {
			op->errors++;
			op->http_5xx++;
		} else {
			op->http_4xx++;
		}
		tally_error(op, ev->outcome, ev->status);
	}
}

static int pending_grow(struct pt_model *m)
{
	size_t cap = m->pending_cap ? m->pending_cap * 2 : PENDING_MIN;
	struct pt_pending *n = calloc(cap, sizeof(*n));
	if (!n)
		return -1;
	for (size_t i = 0; i < m->pending_cap; i++) {
		const struct pt_pending *p = &m->pending[i];
		if (!p->tid)
			continue;
		size_t at = (p->tid * 2654435761u) & (cap - 1);
		while (n[at].tid)
			at = (at + 1) & (cap - 1);
		n[at] = *p;
	}
	free(m->pending);
	m->pending = n;
	m->pending_cap = cap;
	return 0;
}

/* The thread's entry, made on first sight.  NULL when out of memory. */
static struct pt_pending *pending_slot(struct pt_model *m, uint32_t tid)
{
	if ((m->npending + 1) * 2 > m->pending_cap && pending_grow(m) < 0)
		return NULL;
	size_t mask = m->pending_cap - 1;
	size_t at = (tid * 2654435761u) & mask;
	while (m->pending[at].tid && m->pending[at].tid != tid)
		at = (at + 1) & mask;
	struct pt_pending *p = &m->pending[at];
	if (!p->tid) {
		p->tid = tid;
		m->npending++;
	}
	return p;
}

/* The get_or_fetch operation of op's key pattern, made on first use. */
static struct pt_op *gof_op(struct pt_model *m, size_t opi)
{
	if (!m->ops[opi].gof) {
		const char *pat = key_pattern(m->ops[opi].text);
		struct pt_op *g =
		    model_op(m, PT_OPK_GET_OR_FETCH, pat, strlen(pat));
		if (!g)
			return NULL;
		m->ops[opi].gof = (uint32_t)(g - m->ops) + 1; /* ops moved */
	}
	return &m->ops[m->ops[opi].gof - 1];
}

/* Cache-aside: a read that missed, then a write of the same key pattern on
 * the same thread, is one get_or_fetch miss timed from the read's start to
 * the write's end; a read that hit is a get_or_fetch hit. */
static int track_cache_aside(struct pt_model *m, size_t opi,
			     const struct pt_read_event *ev, uint64_t start)
{
	uint8_t role = m->ops[opi].ca_role;
	if (!role || ev->outcome != PT_OUT_OK ||
	    (role == 1 && !ev->cache_hits && !ev->cache_misses))
		return 0;
	uint32_t tid = ev->tid ? ev->tid : ev->conn_id | 0x80000000u;
	struct pt_pending *p = pending_slot(m, tid);
	if (!p)
		return -1;
	if (role == 1 && ev->cache_misses) {
		p->op = (uint32_t)opi + 1;
		p->start = start;
		return 0;
	}
	uint32_t pend = p->op;
	uint64_t begin = p->start;
	if (role == 2 && !pend)
		return 0;
	p->op = 0;
	if (role == 2 && strcmp(key_pattern(m->ops[pend - 1].text),
				key_pattern(m->ops[opi].text)))
		return 0;
	struct pt_op *g = gof_op(m, opi);
	if (!g)
		return -1;
	if (g->excluded)
		return 0;
	g->count++;
	if (role == 1)
		return samples_push(&g->split[PT_SPLIT_HIT], ev->duration_ns);
	uint64_t end = start + ev->duration_ns;
	return samples_push(&g->split[PT_SPLIT_MISS],
			    end > begin ? end - begin : 0);
}

static int add_to_op(struct pt_model *m, struct pt_op *op,
		     const struct pt_read_event *ev, uint64_t start)
{
	int split = PT_SPLIT_OTHER;
	if (ev->outcome == PT_OUT_OK && (ev->cache_hits || ev->cache_misses)) {
		op->cache_hits += ev->cache_hits;
		op->cache_misses += ev->cache_misses;
		if (!ev->cache_misses)
			split = PT_SPLIT_HIT;
		else if (!ev->cache_hits)
			split = PT_SPLIT_MISS;
	}
	op->count++;
	count_outcome(op, ev);
	if (ev->kind == PT_KIND_SQLITE) {
		op->full_scans += ev->scan_steps > 0;
		op->scan_steps += ev->scan_steps;
		op->sorts += ev->sorts;
		op->auto_indexes += ev->auto_indexes;
	} else if (ev->kind == PT_KIND_MYSQL) {
		op->no_index += !!(ev->server_status & PT_MYSQL_NO_INDEX_USED);
		op->no_good_index +=
		    !!(ev->server_status & PT_MYSQL_NO_GOOD_INDEX_USED);
		op->warnings += ev->warnings;
		op->rows_sent += ev->rows;
		op->bytes_in += ev->bytes_in;
	}
	keep_slowest(op, ev->duration_ns, start);
	if (samples_push(&op->split[split], ev->duration_ns) < 0)
		return -1;
	if (ev->kind == PT_KIND_HTTP_IN) {
		if (m->nhttp == m->caphttp) {
			size_t cap = m->caphttp ? m->caphttp * 2 : 256;
			struct pt_interval *n =
			    realloc(m->http, cap * sizeof(*n));
			if (!n)
				return -1;
			m->http = n;
			m->caphttp = cap;
		}
		uint64_t end = start + ev->duration_ns;
		int failed = ev->outcome == PT_OUT_ERROR ||
			     ev->outcome == PT_OUT_ABORTED ||
			     (ev->outcome == PT_OUT_HTTP && ev->status >= 500);
		m->http[m->nhttp++] = (struct pt_interval){
		    start, end | (failed ? PT_IV_ERROR : 0)};
	}
	return 0;
}

void model_init(struct pt_model *m)
{
	memset(m, 0, sizeof(*m));
	m->first_ns = UINT64_MAX;
}

void model_free(struct pt_model *m)
{
	if (m->callsites) {
		callsites_free(m->callsites);
		free(m->callsites);
		m->callsites = NULL;
	}
	requests_log_free(&m->rlog);
	conns_free(&m->conns);
	resources_model_free(m);
	for (size_t i = 0; i < m->nops; i++) {
		free(m->ops[i].text);
		for (int s = 0; s < PT_SPLIT_COUNT; s++)
			samples_free(&m->ops[i].split[s]);
	}
	for (size_t i = 0; i < m->nprocs; i++) {
		free(m->procs[i].path);
		free(m->procs[i].host);
		free(m->procs[i].exe);
	}
	free(m->ops);
	free(m->index);
	free(m->http);
	free(m->procs);
	free(m->pending);
	memset(m, 0, sizeof(*m));
}

int model_begin_process(struct pt_model *m, const char *path, const char *host,
			const char *exe, int32_t pid, int raw)
{
	/* Thread ids mean nothing across processes. */
	if (m->pending)
		memset(m->pending, 0, m->pending_cap * sizeof(*m->pending));
	m->npending = 0;
	if (PT_GROW(m->procs, m->capprocs, m->nprocs + 1) < 0)
		return -1;
	struct pt_proc_info *p = &m->procs[m->nprocs++];
	p->path = strdup(path ? path : "");
	p->host = strdup(host ? host : "");
	p->exe = strdup(exe ? exe : "");
	p->pid = pid;
	p->events = 0;
	p->raw = raw;
	m->raw |= raw;
	return p->path && p->host && p->exe ? 0 : -1;
}

int model_add_op(struct pt_model *m, struct pt_op *op,
		 const struct pt_read_event *ev, uint64_t start_rt)
{
	if (op->excluded)
		return 0;
	m->events++;
	if (m->nprocs)
		m->procs[m->nprocs - 1].events++;
	if (start_rt < m->first_ns)
		m->first_ns = start_rt;
	if (start_rt + ev->duration_ns > m->last_ns)
		m->last_ns = start_rt + ev->duration_ns;
	if (add_to_op(m, op, ev, start_rt) < 0 ||
	    requests_log_add(&m->rlog,
			     (uint32_t)(m->nprocs ? m->nprocs - 1 : 0),
			     (uint32_t)(op - m->ops), ev, start_rt) < 0 ||
	    (op->ca_role &&
	     track_cache_aside(m, (size_t)(op - m->ops), ev, start_rt) < 0)) {
		m->oom = 1;
		return -1;
	}
	if (m->observe)
		m->observe(m->observe_arg, (size_t)(op - m->ops), start_rt,
			   ev->duration_ns);
	return 0;
}

int model_add(struct pt_model *m, const struct pt_read_event *ev,
	      uint64_t start_rt)
{
	if (!m->nprocs && model_begin_process(m, "", "", "", 0, 0) < 0)
		return -1;
	if (ev->kind == PT_KIND_NONE || ev->kind >= PT_KIND_COUNT)
		return 0;
	struct pt_op *op = model_op(m, ev->kind, ev->text, ev->text_len);
	if (!op) {
		m->oom = 1;
		return -1;
	}
	return model_add_op(m, op, ev, start_rt);
}
