/*
 * baseline.c -- baseline files (cJSON) and the regression test.
 *
 * Sections: limits, writing, reading, comparing.
 */
#include "grow.h"
#include "baseline.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define BASELINE_FILE_MAX (256u << 20)

static const char *const agg_names[PT_BA_COUNT] = {"mean", "median", "p95",
						   "p99", "max"};
/* The AFIRGen suite's field for each aggregate. */
static const char *const agg_fields[PT_BA_COUNT] = {
    "mean_time_ms", "median_time_ms", "p95_time_ms", "p99_time_ms",
    "max_time_ms"};

const char *baseline_agg_name(enum pt_base_agg agg)
{
	return (unsigned)agg < PT_BA_COUNT ? agg_names[agg] : "?";
}

const char *verdict_name(enum pt_verdict v)
{
	static const char *const names[] = {
	    "unchanged",	 "regression", "improvement", "noise",
	    "insufficient_data", "new",	       "gone"};
	return (unsigned)v <= PT_V_GONE ? names[v] : "?";
}

void compare_opts_default(struct pt_compare_opts *o)
{
	for (int i = 0; i < PT_BA_COUNT; i++)
		o->limit[i] = -1.0;
	o->limit[PT_BA_MEAN] = 0.05; /* the AFIRGen suite's rule */
	o->alpha = 0.05;
	o->min_samples = 20; /* below this the normal approximation lies */
}

int compare_parse_limit(struct pt_compare_opts *o, const char *s, char *err,
			size_t errlen)
{
	size_t len = strcspn(s, ":=");
	for (int i = 0; i < PT_BA_COUNT; i++) {
		if (strlen(agg_names[i]) != len ||
		    strncmp(s, agg_names[i], len))
			continue;
		char *end;
		double v = strtod(s + len + 1, &end);
		if (s[len] && end != s + len + 1 && v >= 0) {
			if (*end == '%') {
				v /= 100.0;
				end++;
			}
			if (!*end) {
				o->limit[i] = v;
				return 0;
			}
		}
		snprintf(err, errlen, "bad limit '%s' (expected e.g. %s:5%%)",
			 s, agg_names[i]);
		return -1;
	}
	snprintf(err, errlen,
		 "unknown aggregate in '%s' (mean, median, p95, "
		 "p99, max)",
		 s);
	return -1;
}

static void iso_time(uint64_t ns, char *buf, size_t len)
{
	time_t t = (time_t)(ns / 1000000000ull);
	struct tm tm;
	gmtime_r(&t, &tm);
	strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static const char *row_type_name(const struct pt_row *r)
{
	if (r->type == PT_ROW_SQL_CLASS)
		return "sql_class";
	if (r->type == PT_ROW_LEVEL)
		return "concurrency";
	return model_kind_word(r->kind);
}

static cJSON *row_json(const struct pt_analysis *a, const struct pt_row *r,
		       const char *stamp)
{
	cJSON *o = cJSON_CreateObject();
	const struct pt_stats *s = &r->st;
	uint64_t ok = r->count - r->errors;
	cJSON_AddStringToObject(o, "test_name", r->key);
	cJSON_AddStringToObject(o, "test_type", row_type_name(r));
	cJSON_AddNumberToObject(o, "iterations", (double)r->count);
	cJSON_AddNumberToObject(o, "min_time_ms", s->min / 1e6);
	cJSON_AddNumberToObject(o, "max_time_ms", s->max / 1e6);
	cJSON_AddNumberToObject(o, "mean_time_ms", s->mean / 1e6);
	cJSON_AddNumberToObject(o, "median_time_ms", s->median / 1e6);
	cJSON_AddNumberToObject(o, "p95_time_ms", s->p95 / 1e6);
	cJSON_AddNumberToObject(o, "p99_time_ms", s->p99 / 1e6);
	cJSON_AddNumberToObject(o, "std_dev_ms", s->stddev / 1e6);
	cJSON_AddNumberToObject(o, "throughput_ops_per_sec",
				a->window_s > 0 ? (double)ok / a->window_s : 0);
	cJSON_AddNumberToObject(o, "total_duration_sec", a->window_s);
	cJSON_AddStringToObject(o, "timestamp", stamp);
	cJSON *md = cJSON_AddObjectToObject(o, "metadata");
	cJSON_AddNumberToObject(md, "p90_time_ms", s->p90 / 1e6);
	cJSON_AddNumberToObject(md, "errors", (double)r->errors);
	cJSON_AddNumberToObject(md, "error_rate", r->error_rate);
	if (r->hit_rate >= 0)
		cJSON_AddNumberToObject(md, "hit_rate", r->hit_rate);
	return o;
}

static int add_sample(const struct pt_analysis *a, const struct pt_row *r,
		      cJSON *o)
{
	struct pt_samples buf = {0};
	double *q = malloc(PT_BASELINE_SAMPLE * sizeof(*q));
	if (!q || analysis_row_samples(a, r, -1, &buf) < 0) {
		free(q);
		samples_free(&buf);
		return -1;
	}
	size_t k = stats_quantile_sample(buf.v, buf.n, q, PT_BASELINE_SAMPLE);
	cJSON *arr = cJSON_AddArrayToObject(o, "sample_ms");
	for (size_t i = 0; i < k; i++)
		cJSON_AddItemToArray(arr, cJSON_CreateNumber(q[i] / 1e6));
	free(q);
	samples_free(&buf);
	return 0;
}

static cJSON *metadata_json(const struct pt_analysis *a)
{
	char t[64];
	cJSON *md = cJSON_CreateObject();
	iso_time((uint64_t)time(NULL) * 1000000000ull, t, sizeof(t));
	cJSON_AddStringToObject(md, "created", t);
	cJSON_AddStringToObject(md, "tool", "perftap");
	if (a->m->events) {
		iso_time(a->m->first_ns, t, sizeof(t));
		cJSON_AddStringToObject(md, "window_start", t);
		iso_time(a->m->last_ns, t, sizeof(t));
		cJSON_AddStringToObject(md, "window_end", t);
	}
	cJSON_AddNumberToObject(md, "window_sec", a->window_s);
	cJSON_AddNumberToObject(md, "events", (double)a->m->events);
	cJSON_AddNumberToObject(md, "drops", (double)a->drops_total);
	cJSON_AddBoolToObject(md, "raw_text", a->m->raw);
	cJSON *procs = cJSON_AddArrayToObject(md, "processes");
	for (size_t i = 0; i < a->m->nprocs; i++) {
		const struct pt_proc_info *p = &a->m->procs[i];
		cJSON *po = cJSON_CreateObject();
		cJSON_AddNumberToObject(po, "pid", p->pid);
		cJSON_AddStringToObject(po, "host", p->host);
		cJSON_AddStringToObject(po, "exe", p->exe);
		cJSON_AddItemToArray(procs, po);
	}
	return md;
}

static int add_row(const struct pt_analysis *a, const struct pt_row *r,
		   cJSON *ops, const char *stamp)
{
	if (!r->count)
		return 0;
	cJSON *o = row_json(a, r, stamp);
	if (!o || add_sample(a, r, o) < 0) {
		cJSON_Delete(o);
		return -1;
	}
	cJSON_AddItemToObject(ops, r->key, o);
	return 0;
}

int baseline_save(const struct pt_analysis *a, const char *path, char *err,
		  size_t errlen)
{
	char stamp[64];
	iso_time(a->m->events ? a->m->first_ns : 0, stamp, sizeof(stamp));
	cJSON *doc = cJSON_CreateObject();
	cJSON_AddNumberToObject(doc, "perftap_baseline", PT_BASELINE_VERSION);
	cJSON_AddItemToObject(doc, "metadata", metadata_json(a));
	cJSON *ops = cJSON_AddObjectToObject(doc, "operations");
	int rc = 0;
	for (size_t i = 0; i < a->nrows && rc == 0; i++)
		rc = add_row(a, &a->rows[i], ops, stamp);
	for (int c = 0; c < PT_SQL_CLASS_COUNT && rc == 0; c++)
		rc = add_row(a, &a->classes[c], ops, stamp);
	for (size_t i = 0; i < a->nlevels && rc == 0; i++)
		rc = add_row(a, &a->levels[i], ops, stamp);
	char *text = rc == 0 ? cJSON_Print(doc) : NULL;
	cJSON_Delete(doc);
	if (!text) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	FILE *f = fopen(path, "w");
	if (!f || fputs(text, f) < 0 || fputc('\n', f) < 0 || fclose(f)) {
		snprintf(err, errlen, "%s", strerror(errno));
		if (f)
			fclose(f);
		free(text);
		return -1;
	}
	free(text);
	return 0;
}

static char *slurp(const char *path, char *err, size_t errlen)
{
	FILE *f = fopen(path, "rb");
	if (!f) {
		snprintf(err, errlen, "%s", strerror(errno));
		return NULL;
	}
	fseek(f, 0, SEEK_END);
	long size = ftell(f);
	fseek(f, 0, SEEK_SET);
	if (size < 0 || (unsigned long)size > BASELINE_FILE_MAX) {
		fclose(f);
		snprintf(err, errlen, "not a regular file of sane size");
		return NULL;
	}
	char *buf = malloc((size_t)size + 1);
	size_t n = buf ? fread(buf, 1, (size_t)size, f) : 0;
	fclose(f);
	if (!buf || n != (size_t)size) {
		free(buf);
		snprintf(err, errlen, "read error");
		return NULL;
	}
	buf[n] = '\0';
	return buf;
}

static int load_op(const cJSON *o, struct pt_baseline_op *op, char *err,
		   size_t errlen)
{
	memset(op, 0, sizeof(*op));
	if (!cJSON_IsObject(o)) {
		snprintf(err, errlen, "operation \"%s\" is not an object",
			 o->string);
		return -1;
	}
	op->key = strdup(o->string);
	for (int i = 0; i < PT_BA_COUNT; i++) {
		const cJSON *v =
		    cJSON_GetObjectItemCaseSensitive(o, agg_fields[i]);
		if (!cJSON_IsNumber(v)) {
			snprintf(err, errlen, "\"%s\": missing %s", o->string,
				 agg_fields[i]);
			return -1;
		}
		op->v[i] = v->valuedouble;
	}
	const cJSON *it = cJSON_GetObjectItemCaseSensitive(o, "iterations");
	op->iterations = cJSON_IsNumber(it) && it->valuedouble > 0
			     ? (uint64_t)it->valuedouble
			     : 0;
	const cJSON *smp = cJSON_GetObjectItemCaseSensitive(o, "sample_ms");
	int n = cJSON_IsArray(smp) ? cJSON_GetArraySize(smp) : 0;
	op->sample = malloc(((size_t)n + 1) * sizeof(double));
	if (!op->key || !op->sample) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	const cJSON *x;
	cJSON_ArrayForEach(x, smp)
	{
		if (cJSON_IsNumber(x))
			op->sample[op->nsample++] = x->valuedouble;
	}
	return 0;
}

static int load_doc(const cJSON *doc, struct pt_baseline *b, char *err,
		    size_t errlen)
{
	const cJSON *ver =
	    cJSON_GetObjectItemCaseSensitive(doc, "perftap_baseline");
	if (!cJSON_IsNumber(ver)) {
		snprintf(err, errlen, "not a perftap baseline");
		return -1;
	}
	if (ver->valuedouble > PT_BASELINE_VERSION) {
		snprintf(err, errlen,
			 "baseline version %d is newer than this "
			 "perftap reads (%d)",
			 ver->valueint, PT_BASELINE_VERSION);
		return -1;
	}
	const cJSON *md = cJSON_GetObjectItemCaseSensitive(doc, "metadata");
	const cJSON *cr = cJSON_GetObjectItemCaseSensitive(md, "created");
	if (cJSON_IsString(cr))
		b->created = strdup(cr->valuestring);
	const cJSON *ops = cJSON_GetObjectItemCaseSensitive(doc, "operations");
	if (!cJSON_IsObject(ops)) {
		snprintf(err, errlen, "no \"operations\" object");
		return -1;
	}
	b->ops = calloc((size_t)cJSON_GetArraySize(ops) + 1, sizeof(*b->ops));
	if (!b->ops) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	const cJSON *o;
	cJSON_ArrayForEach(o, ops)
	{
		if (load_op(o, &b->ops[b->n++], err, errlen) < 0)
			return -1;
	}
	return 0;
}

int baseline_load(const char *path, struct pt_baseline *b, char *err,
		  size_t errlen)
{
	memset(b, 0, sizeof(*b));
	char *text = slurp(path, err, errlen);
	if (!text)
		return -1;
	cJSON *doc = cJSON_Parse(text);
	free(text);
	if (!doc) {
		snprintf(err, errlen, "not valid JSON");
		return -1;
	}
	int rc = load_doc(doc, b, err, errlen);
	cJSON_Delete(doc);
	if (rc < 0)
		baseline_free(b);
	return rc;
}

void baseline_free(struct pt_baseline *b)
{
	for (size_t i = 0; i < b->n; i++) {
		free(b->ops[i].key);
		free(b->ops[i].sample);
	}
	free(b->ops);
	free(b->created);
	memset(b, 0, sizeof(*b));
}

struct cmp_list {
	struct pt_comparison *v;
	size_t n, cap;
};

static struct pt_comparison *cmp_push(struct cmp_list *l, const char *key)
{
	if (PT_GROW(l->v, l->cap, l->n + 1) < 0)
		return NULL;
	struct pt_comparison *c = &l->v[l->n];
	memset(c, 0, sizeof(*c));
	c->key = strdup(key);
	c->p_value = 1.0;
	if (!c->key)
		return NULL;
	l->n++;
	return c;
}

static double row_value(const struct pt_row *r, enum pt_base_agg agg)
{
	const double v[PT_BA_COUNT] = {r->st.mean, r->st.median, r->st.p95,
				       r->st.p99, r->st.max};
	return v[agg] / 1e6;
}

static enum pt_verdict judge(struct pt_comparison *c, const double *bs,
			     size_t nb, const double *cs, size_t nc,
			     const struct pt_compare_opts *o)
{
	if (fabs(c->change) <= c->limit)
		return PT_V_UNCHANGED;
	if (nb < o->min_samples || nc < o->min_samples)
		return PT_V_INSUFFICIENT;
	c->p_value = stats_mann_whitney(bs, nb, cs, nc);
	if (c->p_value >= o->alpha)
		return PT_V_NOISE;
	return c->change > 0 ? PT_V_REGRESSION : PT_V_IMPROVEMENT;
}

static int compare_row(struct cmp_list *l, const struct pt_analysis *a,
		       const struct pt_row *r, const struct pt_baseline_op *bo,
		       const struct pt_compare_opts *o)
{
	struct pt_samples buf = {0};
	double *cur = malloc(PT_BASELINE_SAMPLE * sizeof(*cur));
	int rc = -1;
	if (!cur || analysis_row_samples(a, r, -1, &buf) < 0)
		goto out;
	size_t nc =
	    stats_quantile_sample(buf.v, buf.n, cur, PT_BASELINE_SAMPLE);
	for (size_t i = 0; i < nc; i++)
		cur[i] /= 1e6; /* the baseline's samples are in ms */
	for (int g = 0; g < PT_BA_COUNT; g++) {
		if (o->limit[g] < 0)
			continue;
		struct pt_comparison *c = cmp_push(l, r->key);
		if (!c)
			goto out;
		c->agg = (enum pt_base_agg)g;
		c->base = bo->v[g];
		c->cur = row_value(r, c->agg);
		c->limit = o->limit[g];
		c->n_base = bo->nsample;
		c->n_cur = nc;
		c->change = c->base > 0	 ? (c->cur - c->base) / c->base
			    : c->cur > 0 ? INFINITY
					 : 0.0;
		c->verdict = judge(c, bo->sample, bo->nsample, cur, nc, o);
	}
	rc = 0;
out:
	free(cur);
	samples_free(&buf);
	return rc;
}

static const struct pt_baseline_op *find_op(const struct pt_baseline *b,
					    const char *key)
{
	for (size_t i = 0; i < b->n; i++)
		if (!strcmp(b->ops[i].key, key))
			return &b->ops[i];
	return NULL;
}

static int compare_one(struct cmp_list *l, const struct pt_analysis *a,
		       const struct pt_row *r, const struct pt_baseline *b,
		       const struct pt_compare_opts *o, uint8_t *seen)
{
	if (!r->count)
		return 0;
	const struct pt_baseline_op *bo = find_op(b, r->key);
	if (!bo) {
		struct pt_comparison *c = cmp_push(l, r->key);
		if (!c)
			return -1;
		c->verdict = PT_V_NEW;
		c->cur = row_value(r, PT_BA_MEAN);
		c->n_cur = r->count;
		return 0;
	}
	seen[bo - b->ops] = 1;
	return compare_row(l, a, r, bo, o);
}

int baseline_compare(const struct pt_baseline *b, struct pt_analysis *a,
		     const struct pt_compare_opts *o)
{
	struct cmp_list l = {0};
	uint8_t *seen = calloc(b->n + 1, 1);
	int rc = seen ? 0 : -1;
	for (size_t i = 0; i < a->nrows && rc == 0; i++)
		rc = compare_one(&l, a, &a->rows[i], b, o, seen);
	/* SQL classes and concurrency levels are mixtures whose make-up
	 * follows the traffic mix: a shift in the mix moves them without any
	 * operation getting slower, so only operations are tested.  They stay
	 * in the baseline file for the AFIRGen tooling. */
	for (size_t i = 0; i < b->n && rc == 0; i++) {
		if (seen[i] || !strncmp(b->ops[i].key, "sql:", 4) ||
		    !strncmp(b->ops[i].key, "concurrency:", 12))
			continue;
		struct pt_comparison *c = cmp_push(&l, b->ops[i].key);
		if (!c)
			rc = -1;
		else {
			c->verdict = PT_V_GONE;
			c->base = b->ops[i].v[PT_BA_MEAN];
			c->n_base = b->ops[i].iterations;
		}
	}
	free(seen);
	a->comparisons = l.v;
	a->ncomparisons = l.n;
	a->regressions = 0;
	for (size_t i = 0; i < l.n; i++)
		if (l.v[i].verdict == PT_V_REGRESSION)
			a->regressions++;
	return rc;
}

void comparisons_free(struct pt_analysis *a)
{
	for (size_t i = 0; i < a->ncomparisons; i++)
		free(a->comparisons[i].key);
	free(a->comparisons);
	a->comparisons = NULL;
	a->ncomparisons = 0;
}
