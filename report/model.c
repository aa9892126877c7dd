/*
 * model.c -- group events per operation, keep durations, detect
 * cache-aside sequences.
 *
 * Sections: growable arrays, the operation table (FNV-1a, open addressing,
 * with a pointer cache in front because the reader hands out the same
 * interned string pointer for every event of a chunk), error tallies and
 * slowest samples, cache-aside, the public entry points.
 */
#include "model.h"

#include <stdlib.h>
#include <string.h>

#include "sql_class.h"

#define TCACHE_SLOTS  1024 /* direct-mapped; a chunk rarely has more texts */
#define PENDING_SLOTS 1024

struct pt_text_cache {
	const char *text[TCACHE_SLOTS];
	uint8_t kind[TCACHE_SLOTS];
	uint32_t op[TCACHE_SLOTS];
};

/* A GET miss waiting for its SET, per thread. */
struct pt_pending {
	uint32_t tid;	/* 0 = empty */
	uint32_t op;	/* the GET's operation: its key pattern */
	uint64_t start; /* the GET's start, wall clock */
};

int samples_push(struct pt_samples *s, uint64_t v)
{
	if (s->n == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 64;
		uint64_t *nv = realloc(s->v, cap * sizeof(*nv));
		if (!nv)
			return -1;
		s->v = nv;
		s->cap = cap;
	}
	s->v[s->n++] = v;
	return 0;
}

void samples_free(struct pt_samples *s)
{
	free(s->v);
	memset(s, 0, sizeof(*s));
}

static int samples_reserve(struct pt_samples *s, size_t more)
{
	if (s->n + more <= s->cap)
		return 0;
	size_t cap = s->cap ? s->cap : 64;
	while (cap < s->n + more)
		cap *= 2;
	uint64_t *nv = realloc(s->v, cap * sizeof(*nv));
	if (!nv)
		return -1;
	s->v = nv;
	s->cap = cap;
	return 0;
}

int samples_append_op(struct pt_samples *buf, const struct pt_op *op, int split)
{
	for (int i = 0; i < PT_SPLIT_COUNT; i++) {
		if (split >= 0 && i != split)
			continue;
		const struct pt_samples *s = &op->split[i];
		if (samples_reserve(buf, s->n) < 0)
			return -1;
		if (s->n)
			memcpy(buf->v + buf->n, s->v, s->n * sizeof(*s->v));
		buf->n += s->n;
	}
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
	if (m->nops == m->capops) {
		size_t cap = m->capops ? m->capops * 2 : 64;
		struct pt_op *n = realloc(m->ops, cap * sizeof(*n));
		if (!n)
			return NULL;
		m->ops = n;
		m->capops = cap;
	}
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
	op->sql_class =
	    kind == PT_KIND_MYSQL ? (int8_t)sql_classify(op->text) : -1;
	op->excluded = m->filter && !m->filter(op, m->filter_arg);
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

/* The op of an event, through the pointer cache. */
static struct pt_op *event_op(struct pt_model *m,
			      const struct pt_read_event *ev)
{
	struct pt_text_cache *c = m->tcache;
	size_t slot = ((uintptr_t)ev->text >> 3) & (TCACHE_SLOTS - 1);
	if (c->text[slot] == ev->text && c->kind[slot] == ev->kind)
		return &m->ops[c->op[slot]];
	struct pt_op *op = model_op(m, ev->kind, ev->text, ev->text_len);
	if (!op)
		return NULL;
	c->text[slot] = ev->text;
	c->kind[slot] = ev->kind;
	c->op[slot] = (uint32_t)(op - m->ops);
	return op;
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
		if (dur <= op->slow[PT_SLOWEST - 1].duration_ns)
			return;
		at = PT_SLOWEST - 1;
	} else {
		op->nslow++;
	}
	/* Insertion into the short list, slowest first. */
	while (at > 0 && op->slow[at - 1].duration_ns < dur) {
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

static struct pt_pending *pending_slot(struct pt_model *m, uint32_t tid)
{
	size_t at = (tid * 2654435761u) & (PENDING_SLOTS - 1);
	for (size_t i = 0; i < PENDING_SLOTS; i++) {
		struct pt_pending *p =
		    &m->pending[(at + i) & (PENDING_SLOTS - 1)];
		if (p->tid == tid || p->tid == 0)
			return p;
	}
	return NULL; /* more live threads than slots: sequence not tracked */
}

/* Cache-aside: a read that missed, then a write of the same key pattern on
 * the same thread, is one get_or_fetch miss timed from the read's start to
 * the write's end; a read that hit is a get_or_fetch hit. */
static int track_cache_aside(struct pt_model *m, struct pt_op *op,
			     const struct pt_read_event *ev, uint64_t start)
{
	static const char *const reads[] = {"GET", "HGET", "HGETALL", NULL};
	static const char *const writes[] = {"SET",   "SETEX", "PSETEX", "HSET",
					     "HMSET", "SETNX", NULL};
	uint32_t tid = ev->tid ? ev->tid : ev->conn_id | 0x80000000u;
	struct pt_pending *p = pending_slot(m, tid);
	if (!p || ev->outcome != PT_OUT_OK)
		return 0;
	const char *pat = key_pattern(op->text);
	if (cmd_is(op->text, reads) && (ev->cache_hits || ev->cache_misses)) {
		if (ev->cache_misses == 0) {
			p->tid = 0;
			struct pt_op *g =
			    model_op(m, PT_OPK_GET_OR_FETCH, pat, strlen(pat));
			if (!g)
				return -1;
			if (g->excluded)
				return 0;
			g->count++;
			return samples_push(&g->split[PT_SPLIT_HIT],
					    ev->duration_ns);
		}
		*p = (struct pt_pending){tid, (uint32_t)(op - m->ops), start};
		return 0;
	}
	if (p->tid != tid || !cmd_is(op->text, writes))
		return 0;
	p->tid = 0;
	if (strcmp(key_pattern(m->ops[p->op].text), pat))
		return 0;
	uint64_t begin = p->start;
	struct pt_op *g = model_op(m, PT_OPK_GET_OR_FETCH, pat, strlen(pat));
	if (!g)
		return -1;
	if (g->excluded)
		return 0;
	g->count++;
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
	free(m->tcache);
	memset(m, 0, sizeof(*m));
}

int model_begin_process(struct pt_model *m, const char *path, const char *host,
			const char *exe, int32_t pid, int raw)
{
	if (!m->pending)
		m->pending = calloc(PENDING_SLOTS, sizeof(*m->pending));
	if (!m->tcache)
		m->tcache = calloc(1, sizeof(*m->tcache));
	if (!m->pending || !m->tcache)
		return -1;
	memset(m->pending, 0, PENDING_SLOTS * sizeof(*m->pending));
	memset(m->tcache, 0, sizeof(*m->tcache));
	if (m->nprocs == m->capprocs) {
		size_t cap = m->capprocs ? m->capprocs * 2 : 8;
		struct pt_proc_info *n = realloc(m->procs, cap * sizeof(*n));
		if (!n)
			return -1;
		m->procs = n;
		m->capprocs = cap;
	}
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

int model_add(struct pt_model *m, const struct pt_read_event *ev,
	      uint64_t start_rt)
{
	if (!m->tcache && model_begin_process(m, "", "", "", 0, 0) < 0)
		return -1;
	if (ev->kind == PT_KIND_NONE || ev->kind >= PT_KIND_COUNT)
		return 0;
	struct pt_op *op = event_op(m, ev);
	if (!op) {
		m->oom = 1;
		return -1;
	}
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
	    (ev->kind == PT_KIND_REDIS &&
	     track_cache_aside(m, op, ev, start_rt) < 0)) {
		m->oom = 1;
		return -1;
	}
	return 0;
}
