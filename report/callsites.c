/*
 * callsites.c -- per operation, the code that issued it (see callsites.h).
 *
 * Sections:
 *   1. the skip rule and the pick
 *   2. frame keys (distinct call site frames, strings copied)
 *   3. (op, key) entries
 *   4. public API
 */
#include "grow.h"
#include "callsites.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- 1. the skip rule and the pick ------------------------------------- */

static int skipped(const struct pt_callsites *cs, const char *path)
{
	return cs->have_skip && regexec(&cs->skip, path, 0, NULL, 0) == 0;
}

int callsites_pick(const struct pt_callsites *cs,
		   const struct pt_read_stack *st,
		   const struct pt_sym_frame *nat, int *native)
{
	*native = -1;
	for (uint32_t i = 0; i < st->n_python; i++)
		if (*st->py[i].file && !skipped(cs, st->py[i].file))
			return (int)i;
	if (st->n_python)
		return 0; /* all library code: the innermost frame */
	for (uint32_t i = 0; i < st->n_native; i++)
		if (*nat[i].module && !skipped(cs, nat[i].module)) {
			*native = (int)i;
			return -1;
		}
	if (st->n_native)
		*native = 0;
	return -1;
}

/* ---- 2. frame keys ------------------------------------------------------ */

static char *dup(const char *s)
{
	size_t n = strlen(s) + 1;
	char *p = malloc(n);
	if (p)
		memcpy(p, s, n);
	return p;
}

static uint32_t key_find(struct pt_callsites *cs, int native, const char *func,
			 const char *file, const char *module, uint32_t line)
{
	/* Linear: a program has tens of call sites, each looked up once per
	 * chunk (chunk_site caches the rest). */
	for (size_t i = 0; i < cs->nkeys; i++) {
		const struct pt_callsite *k = &cs->keys[i];
		if (k->native == native && k->line == line &&
		    !strcmp(k->func, func) && !strcmp(k->file, file) &&
		    !strcmp(k->module, module))
			return (uint32_t)i + 1;
	}
	if (PT_GROW(cs->keys, cs->capkeys, cs->nkeys + 1) < 0)
		return 0;
	struct pt_callsite *k = &cs->keys[cs->nkeys];
	memset(k, 0, sizeof(*k));
	k->native = native;
	k->line = line;
	k->func = dup(func);
	k->file = dup(file);
	k->module = dup(module);
	if (!k->func || !k->file || !k->module) {
		free((char *)k->func);
		free((char *)k->file);
		free((char *)k->module);
		return 0;
	}
	return (uint32_t)++cs->nkeys;
}

/* The key of stack id in chunk seq: 0 when there is none. */
static uint32_t stack_key(struct pt_callsites *cs, uint64_t seq, uint32_t id)
{
	struct pt_read_stack st;
	struct pt_sym_frame nat[PT_STACK_MAX_NATIVE];
	int ni;

	if (!pt_dump_stack(cs->d, seq, id, &st))
		return 0;
	cs->py_unknown += !!(st.flags & PT_STACK_PY_UNKNOWN);
	for (uint32_t i = 0; i < st.n_native; i++)
		if (!cs->sym || !pt_sym_lookup(cs->sym, st.native[i], &nat[i]))
			nat[i] = (struct pt_sym_frame){"", 0, "", "", 0};
	int pi = callsites_pick(cs, &st, nat, &ni);
	if (pi >= 0)
		return key_find(cs, 0, st.py[pi].func, st.py[pi].file, "",
				st.py[pi].line);
	if (ni < 0)
		return 0;
	char fn[64];
	const char *func = nat[ni].func;
	if (!*func) {
		snprintf(fn, sizeof(fn), "0x%llx",
			 (unsigned long long)nat[ni].offset);
		func = fn;
	}
	return key_find(cs, 1, func, nat[ni].file, nat[ni].module,
			nat[ni].line);
}

/* ---- 3. (op, key) entries ------------------------------------------------ */

static uint64_t hash64(uint64_t k)
{
	k ^= k >> 33;
	k *= 0xff51afd7ed558ccdull; /* murmur3 finalizer */
	k ^= k >> 33;
	return k;
}

static int index_grow(struct pt_callsites *cs)
{
	size_t cap = cs->index_cap ? cs->index_cap * 2 : 256;
	uint32_t *ix = calloc(cap, sizeof(*ix));
	uint64_t *ik = calloc(cap, sizeof(*ik));
	if (!ix || !ik) {
		free(ix);
		free(ik);
		return -1;
	}
	for (size_t i = 0; i < cs->index_cap; i++) {
		if (!cs->index[i])
			continue;
		size_t j = hash64(cs->index_key[i]) & (cap - 1);
		while (ix[j])
			j = (j + 1) & (cap - 1);
		ix[j] = cs->index[i];
		ik[j] = cs->index_key[i];
	}
	free(cs->index);
	free(cs->index_key);
	cs->index = ix;
	cs->index_key = ik;
	cs->index_cap = cap;
	return 0;
}

static struct pt_callsite *entry(struct pt_callsites *cs, uint32_t op,
				 uint32_t key)
{
	if ((cs->n + 1) * 2 > cs->index_cap && index_grow(cs) < 0)
		return NULL;
	uint64_t k = (uint64_t)op << 32 | key;
	size_t j = hash64(k) & (cs->index_cap - 1);
	for (; cs->index[j]; j = (j + 1) & (cs->index_cap - 1))
		if (cs->index_key[j] == k)
			return &cs->v[cs->index[j] - 1];
	if (PT_GROW(cs->v, cs->cap, cs->n + 1) < 0)
		return NULL;
	struct pt_callsite *e = &cs->v[cs->n];
	*e = cs->keys[key - 1]; /* strings shared with the key */
	e->op = op;
	e->count = e->total_ns = 0;
	cs->index[j] = (uint32_t)++cs->n;
	cs->index_key[j] = k;
	return e;
}

/* ---- 3b. folded stacks (perftap stacks) ------------------------------- */

/* Append one frame; a frame must not hold the separator (';') or a line
 * end.  Spaces are fine: the weight is after the last one. */
static void fold_put(char *buf, size_t cap, size_t *len, const char *s)
{
	if (*len && *len + 1 < cap)
		buf[(*len)++] = ';';
	for (; *s && *len + 1 < cap; s++)
		buf[(*len)++] = *s == ';' || *s == '\n' ? ':' : *s;
	buf[*len] = '\0';
}

/* Root first: native frames (outermost first) when asked, then Python
 * frames, outermost first, as "func (file:line)". */
static char *fold_stack(struct pt_callsites *cs, uint64_t seq, uint32_t id)
{
	struct pt_read_stack st;
	static char buf[64 * 1024];
	char frame[700];
	size_t len = 0;

	if (!pt_dump_stack(cs->d, seq, id, &st))
		return NULL;
	buf[0] = '\0';
	if (cs->folded_native || !st.n_python)
		for (uint32_t i = st.n_native; i-- > 0;) {
			struct pt_sym_frame f;
			if (cs->sym &&
			    pt_sym_lookup(cs->sym, st.native[i], &f) && *f.func)
				snprintf(frame, sizeof(frame), "%s", f.func);
			else
				snprintf(frame, sizeof(frame), "0x%llx",
					 (unsigned long long)st.native[i]);
			fold_put(buf, sizeof(buf), &len, frame);
		}
	for (uint32_t i = st.n_python; i-- > 0;) {
		const char *b = strrchr(st.py[i].file, '/');
		snprintf(frame, sizeof(frame), "%s (%s:%u)", st.py[i].func,
			 b ? b + 1 : st.py[i].file, st.py[i].line);
		fold_put(buf, sizeof(buf), &len, frame);
	}
	return dup(buf);
}

static uint32_t str_hash(const char *s)
{
	uint32_t h = 2166136261u; /* FNV-1a */
	for (; *s; s++)
		h = (h ^ (uint8_t)*s) * 16777619u;
	return h;
}

static struct pt_folded *fold_entry(struct pt_callsites *cs, const char *line)
{
	if ((cs->nfv + 1) * 2 > cs->fold_cap) {
		size_t cap = cs->fold_cap ? cs->fold_cap * 2 : 256;
		uint32_t *ix = calloc(cap, sizeof(*ix));
		if (!ix)
			return NULL;
		for (size_t i = 0; i < cs->nfv; i++) {
			size_t j = str_hash(cs->fv[i].line) & (cap - 1);
			while (ix[j])
				j = (j + 1) & (cap - 1);
			ix[j] = (uint32_t)i + 1;
		}
		free(cs->fold_index);
		cs->fold_index = ix;
		cs->fold_cap = cap;
	}
	size_t j = str_hash(line) & (cs->fold_cap - 1);
	for (; cs->fold_index[j]; j = (j + 1) & (cs->fold_cap - 1))
		if (!strcmp(cs->fv[cs->fold_index[j] - 1].line, line))
			return &cs->fv[cs->fold_index[j] - 1];
	if (PT_GROW(cs->fv, cs->capfv, cs->nfv + 1) < 0)
		return NULL;
	struct pt_folded *e = &cs->fv[cs->nfv];
	if (!(e->line = dup(line)))
		return NULL;
	e->count = e->total_ns = 0;
	cs->fold_index[j] = (uint32_t)++cs->nfv;
	return e;
}

static void fold_add(struct pt_callsites *cs, uint32_t op, uint32_t stack_id,
		     uint64_t seq, uint64_t duration_ns)
{
	if (!cs->chunk_fold[stack_id] &&
	    !(cs->chunk_fold[stack_id] = fold_stack(cs, seq, stack_id)))
		return;
	static char line[64 * 1024 + PT_TEXT_MAX + 16];
	size_t len = strlen(cs->chunk_fold[stack_id]);
	memcpy(line, cs->chunk_fold[stack_id], len + 1); /* already folded */
	fold_put(line, sizeof(line), &len,
		 cs->label ? cs->label(op, cs->label_arg) : "op");
	struct pt_folded *e = fold_entry(cs, line);
	if (!e) {
		cs->oom = 1;
		return;
	}
	e->count++;
	e->total_ns += duration_ns;
}

void callsites_fold_labels(struct pt_callsites *cs, pt_callsites_label_fn fn,
			   void *arg)
{
	cs->label = fn;
	cs->label_arg = arg;
}

static void fold_chunk_reset(struct pt_callsites *cs, size_t upto)
{
	if (!cs->chunk_fold)
		return;
	for (size_t i = 0; i < upto; i++) {
		free(cs->chunk_fold[i]);
		cs->chunk_fold[i] = NULL;
	}
}

/* ---- 4. public API ------------------------------------------------------ */

int callsites_init(struct pt_callsites *cs, const char *skip, char *err,
		   size_t errlen)
{
	memset(cs, 0, sizeof(*cs));
	if (skip && !*skip)
		return 0; /* empty: skip nothing */
	int rc = regcomp(&cs->skip, skip ? skip : PT_CALLSITE_SKIP_DEFAULT,
			 REG_EXTENDED | REG_NOSUB);
	if (rc) {
		char msg[128];
		regerror(rc, &cs->skip, msg, sizeof(msg));
		snprintf(err, errlen, "--callsite-skip: %s", msg);
		return -1;
	}
	cs->have_skip = 1;
	return 0;
}

void callsites_free(struct pt_callsites *cs)
{
	callsites_end_dump(cs);
	if (cs->have_skip)
		regfree(&cs->skip);
	for (size_t i = 0; i < cs->nkeys; i++) {
		free((char *)cs->keys[i].func);
		free((char *)cs->keys[i].file);
		free((char *)cs->keys[i].module);
	}
	free(cs->keys);
	free(cs->v);
	free(cs->index);
	free(cs->index_key);
	free(cs->chunk_site);
	fold_chunk_reset(cs, cs->chunk_cap);
	free(cs->chunk_fold);
	for (size_t i = 0; i < cs->nfv; i++)
		free(cs->fv[i].line);
	free(cs->fv);
	free(cs->fold_index);
	memset(cs, 0, sizeof(*cs));
}

void callsites_begin_dump(struct pt_callsites *cs, struct pt_dump *d)
{
	const struct pt_read_module *mods;
	uint32_t n = pt_dump_modules(d, &mods);
	cs->d = d;
	cs->sym = n ? pt_sym_open(mods, n) : NULL;
	cs->chunk_seq = UINT64_MAX;
}

void callsites_end_dump(struct pt_callsites *cs)
{
	fold_chunk_reset(cs, cs->chunk_cap);
	cs->chunk_seq = UINT64_MAX;
	pt_sym_close(cs->sym);
	cs->sym = NULL;
	cs->d = NULL;
}

void callsites_add(struct pt_callsites *cs, uint32_t op, uint64_t chunk_seq,
		   uint32_t stack_id, uint64_t duration_ns)
{
	if (!cs->d || !stack_id || stack_id > (1u << 24))
		return;
	if (chunk_seq != cs->chunk_seq) {
		cs->chunk_seq = chunk_seq;
		if (cs->chunk_site)
			memset(cs->chunk_site, 0,
			       cs->chunk_cap * sizeof(*cs->chunk_site));
		fold_chunk_reset(cs, cs->chunk_cap);
	}
	if (stack_id >= cs->chunk_cap) {
		/* Grow only for an id the chunk really holds: the per-chunk
		 * tables are cleared at every chunk change, so an id taken
		 * from a hostile event (up to 2^24) would otherwise cost
		 * megabytes of clearing per chunk. */
		struct pt_read_stack st;
		if (!pt_dump_stack(cs->d, chunk_seq, stack_id, &st))
			return;
		size_t cap = cs->chunk_cap ? cs->chunk_cap : 64;
		while (cap <= stack_id)
			cap *= 2;
		uint32_t *p = realloc(cs->chunk_site, cap * sizeof(*p));
		if (!p) {
			cs->oom = 1;
			return;
		}
		memset(p + cs->chunk_cap, 0,
		       (cap - cs->chunk_cap) * sizeof(*p));
		cs->chunk_site = p;
		char **f = realloc(cs->chunk_fold, cap * sizeof(*f));
		if (!f) {
			cs->oom = 1;
			return;
		}
		memset(f + cs->chunk_cap, 0,
		       (cap - cs->chunk_cap) * sizeof(*f));
		cs->chunk_fold = f;
		cs->chunk_cap = cap;
	}
	if (cs->folded)
		fold_add(cs, op, stack_id, chunk_seq, duration_ns);
	uint32_t key = cs->chunk_site[stack_id];
	if (!key) {
		key = stack_key(cs, chunk_seq, stack_id);
		if (!key)
			return;
		cs->chunk_site[stack_id] = key;
	}
	struct pt_callsite *e = entry(cs, op, key);
	if (!e) {
		cs->oom = 1;
		return;
	}
	cs->stacked++;
	e->count++;
	e->total_ns += duration_ns;
}

static int site_cmp(const void *a, const void *b)
{
	const struct pt_callsite *x = a, *y = b;
	if (x->op != y->op)
		return x->op < y->op ? -1 : 1;
	if (x->total_ns != y->total_ns)
		return x->total_ns > y->total_ns ? -1 : 1;
	return x->count > y->count ? -1 : x->count < y->count;
}

void callsites_seal(struct pt_callsites *cs)
{
	if (cs->n)
		qsort(cs->v, cs->n, sizeof(*cs->v), site_cmp);
	cs->sealed = 1;
}

size_t callsites_of(const struct pt_callsites *cs, uint32_t op,
		    const struct pt_callsite **first)
{
	size_t lo = 0, hi = cs->n;
	*first = NULL;
	if (!cs->sealed || !cs->n)
		return 0;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (cs->v[mid].op < op)
			lo = mid + 1;
		else
			hi = mid;
	}
	size_t end = lo;
	while (end < cs->n && cs->v[end].op == op)
		end++;
	*first = cs->v + lo;
	return end - lo;
}
