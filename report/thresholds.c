/*
 * thresholds.c -- parse thresholds (cJSON) and evaluate them on an
 * analysis.
 *
 * Sections: expression parsing, document parsing, pooling the samples a
 * selector names, evaluation.
 */
#include "thresholds.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define THRESHOLDS_FILE_MAX (16u << 20) /* a hand-written file; be wary */

static const struct {
	const char *name;
	enum pt_agg agg;
} agg_names[] = {
    {"avg", PT_AGG_AVG},	   {"mean", PT_AGG_AVG},
    {"min", PT_AGG_MIN},	   {"max", PT_AGG_MAX},
    {"med", PT_AGG_MED},	   {"median", PT_AGG_MED},
    {"stddev", PT_AGG_STDDEV},	   {"count", PT_AGG_COUNT},
    {"rate", PT_AGG_RATE},	   {"error_rate", PT_AGG_ERROR_RATE},
    {"hit_rate", PT_AGG_HIT_RATE}, {"cpu_max", PT_AGG_CPU_MAX},
    {"cpu", PT_AGG_CPU},	   {"rss", PT_AGG_RSS}};

static enum pt_unit agg_unit(enum pt_agg a)
{
	switch (a) {
	case PT_AGG_COUNT:
		return PT_UNIT_COUNT;
	case PT_AGG_RATE:
		return PT_UNIT_PER_S;
	case PT_AGG_ERROR_RATE:
	case PT_AGG_HIT_RATE:
	case PT_AGG_CPU:
	case PT_AGG_CPU_MAX:
		return PT_UNIT_RATIO;
	case PT_AGG_RSS:
		return PT_UNIT_BYTES;
	default:
		return PT_UNIT_MS;
	}
}

static const char *parse_agg(const char *s, struct pt_expr *e, char *err,
			     size_t errlen)
{
	size_t len = strcspn(s, "<>=! ");
	if (len > 2 && s[0] == 'p' && s[1] == '(') {
		char *end;
		e->agg = PT_AGG_P;
		e->p = strtod(s + 2, &end);
		if (end != s + 2 && *end == ')' && e->p >= 0 && e->p <= 100)
			return end + 1;
		snprintf(err, errlen, "bad percentile in '%s'", s);
		return NULL;
	}
	for (size_t i = 0; i < sizeof(agg_names) / sizeof(agg_names[0]); i++)
		if (strlen(agg_names[i].name) == len &&
		    !strncmp(s, agg_names[i].name, len)) {
			e->agg = agg_names[i].agg;
			return s + len;
		}
	snprintf(err, errlen, "unknown aggregate '%.*s'", (int)len, s);
	return NULL;
}

static const char *parse_cmp(const char *s, struct pt_expr *e)
{
	static const struct {
		const char *op;
		enum pt_cmp cmp;
	} ops[] = {{"<=", PT_CMP_LE}, {">=", PT_CMP_GE}, {"==", PT_CMP_EQ},
		   {"!=", PT_CMP_NE}, {"<", PT_CMP_LT},	 {">", PT_CMP_GT},
		   {"=", PT_CMP_EQ}};
	for (size_t i = 0; i < sizeof(ops) / sizeof(ops[0]); i++) {
		size_t l = strlen(ops[i].op);
		if (!strncmp(s, ops[i].op, l)) {
			e->cmp = ops[i].cmp;
			return s + l;
		}
	}
	return NULL;
}

/* Scale the value by its unit suffix into the aggregate's unit. */
static int parse_unit(const char *u, struct pt_expr *e, char *err,
		      size_t errlen)
{
	while (*u == ' ')
		u++;
	if (e->unit == PT_UNIT_MS) {
		if (!*u || !strcmp(u, "ms"))
			return 0;
		if (!strcmp(u, "s")) {
			e->limit *= 1000.0;
			return 0;
		}
		if (!strcmp(u, "us") || !strcmp(u, "µs")) {
			e->limit /= 1000.0;
			return 0;
		}
	} else if (e->unit == PT_UNIT_PER_S) {
		if (!*u || !strcmp(u, "/s"))
			return 0;
		if (!strcmp(u, "/m") || !strcmp(u, "/min")) {
			e->limit /= 60.0;
			return 0;
		}
	} else if (e->unit == PT_UNIT_RATIO) {
		if (!*u)
			return 0;
		if (!strcmp(u, "%")) {
			e->limit /= 100.0;
			return 0;
		}
	} else if (e->unit == PT_UNIT_BYTES) {
		static const struct {
			const char *s;
			double f;
		} b[] = {{"", 1},
			 {"B", 1},
			 {"K", 1024.0},
			 {"KB", 1024.0},
			 {"KiB", 1024.0},
			 {"M", 1048576.0},
			 {"MB", 1048576.0},
			 {"MiB", 1048576.0},
			 {"G", 1073741824.0},
			 {"GB", 1073741824.0},
			 {"GiB", 1073741824.0}};
		for (size_t i = 0; i < sizeof(b) / sizeof(b[0]); i++)
			if (!strcmp(u, b[i].s)) {
				e->limit *= b[i].f;
				return 0;
			}
	} else if (!*u) {
		return 0;
	}
	snprintf(err, errlen, "unit '%s' does not fit this aggregate", u);
	return -1;
}

int threshold_parse_expr(const char *s, struct pt_expr *e, char *err,
			 size_t errlen)
{
	memset(e, 0, sizeof(*e));
	while (*s == ' ')
		s++;
	const char *p = parse_agg(s, e, err, errlen);
	if (!p)
		return -1;
	e->unit = agg_unit(e->agg);
	while (*p == ' ')
		p++;
	const char *q = parse_cmp(p, e);
	if (!q) {
		snprintf(err, errlen, "expected < <= > >= == != in '%s'", s);
		return -1;
	}
	char *end;
	errno = 0;
	e->limit = strtod(q, &end);
	if (end == q || errno) {
		snprintf(err, errlen, "expected a number in '%s'", s);
		return -1;
	}
	return parse_unit(end, e, err, errlen);
}

static int add_item(struct pt_thresholds *t, const char *sel, const char *ex,
		    char *err, size_t errlen)
{
	struct pt_threshold *n = realloc(t->items, (t->n + 1) * sizeof(*n));
	if (!n) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	t->items = n;
	struct pt_threshold *th = &t->items[t->n];
	memset(th, 0, sizeof(*th));
	char why[256];
	if (selector_parse(sel, &th->sel, why, sizeof(why)) < 0) {
		snprintf(err, errlen, "selector \"%s\": %s", sel, why);
		return -1;
	}
	if (threshold_parse_expr(ex, &th->e, why, sizeof(why)) < 0) {
		snprintf(err, errlen, "\"%s\": %s", sel, why);
		return -1;
	}
	int res_agg = th->e.agg == PT_AGG_CPU || th->e.agg == PT_AGG_CPU_MAX ||
		      th->e.agg == PT_AGG_RSS;
	if (res_agg != (th->sel.kind == PT_SEL_PROCESS)) {
		snprintf(err, errlen,
			 res_agg ? "\"%s\": cpu, cpu_max and rss need a "
				   "process selector"
				 : "\"%s\": process selectors take cpu, "
				   "cpu_max or rss",
			 sel);
		return -1;
	}
	th->selector = strdup(sel);
	th->expr = strdup(ex);
	if (!th->selector || !th->expr) {
		free(th->selector);
		free(th->expr);
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	t->n++;
	return 0;
}

static int parse_entry(const cJSON *it, struct pt_thresholds *t, char *err,
		       size_t errlen)
{
	if (cJSON_IsString(it))
		return add_item(t, it->string, it->valuestring, err, errlen);
	if (!cJSON_IsArray(it)) {
		snprintf(err, errlen, "\"%s\": expected a list of expressions",
			 it->string);
		return -1;
	}
	const cJSON *ex;
	cJSON_ArrayForEach(ex, it)
	{
		/* k6 also allows {"threshold": "...", "abortOnFail": ...}. */
		const cJSON *s =
		    cJSON_IsObject(ex)
			? cJSON_GetObjectItemCaseSensitive(ex, "threshold")
			: ex;
		if (!cJSON_IsString(s)) {
			snprintf(err, errlen, "\"%s\": expressions are strings",
				 it->string);
			return -1;
		}
		if (add_item(t, it->string, s->valuestring, err, errlen) < 0)
			return -1;
	}
	return 0;
}

int thresholds_parse(const char *json, struct pt_thresholds *t, char *err,
		     size_t errlen)
{
	memset(t, 0, sizeof(*t));
	cJSON *doc = cJSON_Parse(json);
	if (!doc) {
		snprintf(err, errlen, "not valid JSON");
		return -1;
	}
	/* Either the object itself or {"thresholds": {...}} beside comments. */
	const cJSON *root = cJSON_GetObjectItemCaseSensitive(doc, "thresholds");
	if (!cJSON_IsObject(root))
		root = doc;
	int rc = 0;
	if (!cJSON_IsObject(root)) {
		snprintf(err, errlen, "expected a JSON object of selectors");
		rc = -1;
	}
	const cJSON *it;
	const cJSON *walk = rc == 0 ? root : NULL;
	cJSON_ArrayForEach(it, walk)
	{
		if (it->string[0] == '_' || !strcmp(it->string, "$comment"))
			continue; /* documentation keys */
		if ((rc = parse_entry(it, t, err, errlen)) < 0)
			break;
	}
	cJSON_Delete(doc);
	if (rc < 0)
		thresholds_free(t);
	return rc;
}

int thresholds_load(const char *path, struct pt_thresholds *t, char *err,
		    size_t errlen)
{
	FILE *f = fopen(path, "rb");
	if (!f) {
		snprintf(err, errlen, "%s", strerror(errno));
		return -1;
	}
	char *buf = malloc(THRESHOLDS_FILE_MAX + 1);
	size_t n = buf ? fread(buf, 1, THRESHOLDS_FILE_MAX + 1, f) : 0;
	int bad = ferror(f);
	fclose(f);
	if (!buf || bad || n > THRESHOLDS_FILE_MAX) {
		free(buf);
		snprintf(err, errlen, "%s",
			 !buf  ? "out of memory"
			 : bad ? "read error"
			       : "too large for a thresholds file");
		return -1;
	}
	buf[n] = '\0';
	int rc = thresholds_parse(buf, t, err, errlen);
	free(buf);
	return rc;
}

void thresholds_free(struct pt_thresholds *t)
{
	for (size_t i = 0; i < t->n; i++) {
		free(t->items[i].selector);
		free(t->items[i].expr);
	}
	free(t->items);
	memset(t, 0, sizeof(*t));
}

struct pool {
	struct pt_samples buf;
	uint64_t count, errors, hits, misses;
	size_t matched;
};

static int pool_op(struct pool *p, const struct pt_op *op, int split)
{
	p->matched++;
	p->count += split < 0 ? op->count : op->split[split].n;
	if (split < 0)
		p->errors += op->errors;
	p->hits += op->cache_hits;
	p->misses += op->cache_misses;
	return samples_append_op(&p->buf, op, split);
}

/* Served requests of op with one cache outcome (requests.h). */
static int pool_requests(struct pool *p, const struct pt_analysis *a,
			 const struct pt_op *op, int split)
{
	uint64_t *v;
	size_t n;
	enum pt_req_cache which =
	    split == PT_SPLIT_HIT ? PT_REQ_CACHED : PT_REQ_UNCACHED;
	if (requests_route_samples(&a->req, (uint32_t)(op - a->m->ops), which,
				   &v, &n) < 0)
		return -1;
	p->matched++;
	p->count += n;
	/* Wide, as measure_time reads p->buf.v directly. */
	struct pt_samples src = {.v = v, .n = n, .cap = n};
	int rc = n ? samples_append(&p->buf, &src) : 0;
	free(v);
	return rc;
}

static int pool_ops(struct pool *p, const struct pt_analysis *a,
		    const struct pt_selector *sel)
{
	const struct pt_model *m = a->m;
	for (int exact = 1; exact >= 0 && !p->matched; exact--)
		for (size_t i = 0; i < m->nops; i++) {
			const struct pt_op *op = &m->ops[i];
			if (op->excluded || !selector_match_op(sel, op, exact))
				continue;
			if (sel->kind == PT_SEL_HTTP && sel->split >= 0) {
				if (pool_requests(p, a, op, sel->split) < 0)
					return -1;
				continue;
			}
			if (pool_op(p, op, sel->split) < 0)
				return -1;
		}
	return 0;
}

static int pool_levels(struct pool *p, const struct pt_analysis *a,
		       const struct pt_selector *sel)
{
	for (size_t i = 0; i < a->nlevels; i++) {
		const struct pt_row *r = &a->levels[i];
		if (sel->level && sel->level != r->level)
			continue;
		p->matched++;
		p->count += r->count;
		p->errors += r->errors;
		if (analysis_row_samples(a, r, -1, &p->buf) < 0)
			return -1;
	}
	return 0;
}

static int measure_time(const struct pt_expr *e, struct pool *p, double *v)
{
	if (!p->buf.n)
		return -1;
	struct pt_stats st;
	if (e->agg == PT_AGG_P) {
		*v = stats_percentile(p->buf.v, p->buf.n, e->p) / 1e6;
		return 0;
	}
	stats_compute(p->buf.v, p->buf.n, &st);
	switch (e->agg) {
	case PT_AGG_MIN:
		*v = st.min;
		break;
	case PT_AGG_MAX:
		*v = st.max;
		break;
	case PT_AGG_MED:
		*v = st.median;
		break;
	case PT_AGG_STDDEV:
		*v = st.stddev;
		break;
	default:
		*v = st.mean;
	}
	*v /= 1e6;
	return 0;
}

/* The measured value, or -1 when the pool has nothing to measure. */
static int measure(const struct pt_expr *e, struct pool *p, double window_s,
		   double *v)
{
	switch (e->agg) {
	case PT_AGG_COUNT:
		*v = (double)p->count;
		return 0;
	case PT_AGG_RATE:
		*v = window_s > 0 ? (double)p->count / window_s : 0.0;
		return 0;
	case PT_AGG_ERROR_RATE:
		if (!p->count)
			return -1;
		*v = (double)p->errors / (double)p->count;
		return 0;
	case PT_AGG_HIT_RATE:
		if (!(p->hits + p->misses))
			return -1;
		*v = (double)p->hits / (double)(p->hits + p->misses);
		return 0;
	default:
		return measure_time(e, p, v);
	}
}

static int holds(const struct pt_expr *e, double v)
{
	switch (e->cmp) {
	case PT_CMP_LT:
		return v < e->limit;
	case PT_CMP_LE:
		return v <= e->limit;
	case PT_CMP_GT:
		return v > e->limit;
	case PT_CMP_GE:
		return v >= e->limit;
	case PT_CMP_EQ:
		return v == e->limit;
	default:
		return v != e->limit;
	}
}

/* The highest value of the matched processes (the worst, for the "<"
 * limits these take).  A process without the figure (one sample: no CPU
 * rate) does not count. */
static void eval_process(const struct pt_threshold *th,
			 const struct pt_analysis *a,
			 struct pt_threshold_result *r)
{
	int have = 0;
	for (size_t i = 0; i < a->nres; i++) {
		const struct pt_proc_res *p = &a->res[i];
		if (!selector_match_process(&th->sel, p->pid, p->name))
			continue;
		r->matched++;
		r->samples += p->nsamples;
		double v = th->e.agg == PT_AGG_CPU	 ? p->cpu_mean
			   : th->e.agg == PT_AGG_CPU_MAX ? p->cpu_max
							 : (double)p->rss_peak;
		if (v < 0)
			continue;
		if (!have || v > r->measured)
			r->measured = v;
		have = 1;
	}
	r->status = !r->matched			 ? PT_TH_NO_MATCH
		    : !have			 ? PT_TH_NO_DATA
		    : holds(&th->e, r->measured) ? PT_TH_PASS
						 : PT_TH_FAIL;
}

static int eval_one(const struct pt_threshold *th, struct pt_analysis *a,
		    struct pt_threshold_result *r)
{
	struct pool p;
	memset(&p, 0, sizeof(p));
	memset(r, 0, sizeof(*r));
	r->th = th;
	if (th->sel.kind == PT_SEL_PROCESS) {
		eval_process(th, a, r);
		return 0;
	}
	int rc = th->sel.kind == PT_SEL_CONCURRENCY
		     ? pool_levels(&p, a, &th->sel)
		     : pool_ops(&p, a, &th->sel);
	if (rc == 0) {
		r->matched = p.matched;
		r->samples = p.count;
		if (!p.matched)
			r->status = PT_TH_NO_MATCH;
		else if (measure(&th->e, &p, a->window_s, &r->measured) < 0)
			r->status = PT_TH_NO_DATA;
		else
			r->status = holds(&th->e, r->measured) ? PT_TH_PASS
							       : PT_TH_FAIL;
	}
	samples_free(&p.buf);
	return rc;
}

int thresholds_eval(const struct pt_thresholds *t, struct pt_analysis *a,
		    int allow_missing)
{
	struct pt_threshold_result *res = calloc(t->n + 1, sizeof(*res));
	if (!res)
		return -1;
	a->thresholds = res;
	a->nthresholds = t->n;
	a->thresholds_failed = 0;
	for (size_t i = 0; i < t->n; i++) {
		if (eval_one(&t->items[i], a, &res[i]) < 0)
			return -1;
		enum pt_th_status s = res[i].status;
		if (s == PT_TH_FAIL || (!allow_missing && s != PT_TH_PASS))
			a->thresholds_failed++;
	}
	return 0;
}

const char *threshold_status_name(enum pt_th_status s)
{
	static const char *const names[] = {"pass", "fail", "no_match",
					    "no_data"};
	return (unsigned)s < 4 ? names[s] : "?";
}

const char *threshold_unit_suffix(enum pt_unit u)
{
	static const char *const names[] = {"ms", "/s", "", "", "B"};
	return (unsigned)u < 5 ? names[u] : "";
}
