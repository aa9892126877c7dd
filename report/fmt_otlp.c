/*
 * fmt_otlp.c -- OpenTelemetry metrics as JSON lines: one line per
 * operation, each line a whole ExportMetricsServiceRequest in the OTLP/JSON
 * encoding (what an OpenTelemetry collector's file or HTTP receiver takes).
 *
 * Per operation: a cumulative histogram "perftap.operation.duration" (ms;
 * count, sum, min, max and the report's decade buckets as explicit bounds
 * 0.001 .. 10000 ms) and a monotonic sum "perftap.operation.errors".  The
 * data point's attributes name the operation (perftap.kind,
 * perftap.operation, perftap.sql_class); the resource names the capture
 * (service.name "perftap", host.name when every dump came from one host).
 * 64-bit integers are strings, as the OTLP/JSON mapping requires.
 *
 * Then one line per inbound request that carries an id (requests.h): an
 * ExportTraceServiceRequest whose trace holds the request as a SERVER
 * span and each operation attributed to it as a CLIENT child, with the
 * OpenTelemetry semantic-convention names (http.request.method,
 * http.route, http.response.status_code, db.system, db.query.text,
 * db.operation.name).  Trace and span ids are derived from (pid, request
 * id): stable across runs of the report.
 *
 * Note: the report's buckets include their lower bound, OTLP's their upper
 * bound; a duration of exactly 1 ms lands one bucket higher here.
 */
#include <cjson/cJSON.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "format.h"
#include "model.h"
#include "requests.h"

static void attr(cJSON *list, const char *key, const char *val)
{
	cJSON *a = cJSON_CreateObject();
	cJSON_AddStringToObject(a, "key", key);
	cJSON *v = cJSON_AddObjectToObject(a, "value");
	cJSON_AddStringToObject(v, "stringValue", val);
	cJSON_AddItemToArray(list, a);
}

static void add_u64(cJSON *o, const char *name, uint64_t v)
{
	char buf[24];
	snprintf(buf, sizeof(buf), "%" PRIu64, v);
	cJSON_AddStringToObject(o, name, buf);
}

static cJSON *point(const struct pt_analysis *a, const struct pt_row *r)
{
	cJSON *p = cJSON_CreateObject();
	cJSON *attrs = cJSON_AddArrayToObject(p, "attributes");
	attr(attrs, "perftap.kind", model_kind_word(r->kind));
	attr(attrs, "perftap.operation", r->text);
	if (r->sql_class >= 0)
		attr(attrs, "perftap.sql_class", sql_class_name(r->sql_class));
	add_u64(p, "startTimeUnixNano", a->m->events ? a->m->first_ns : 0);
	add_u64(p, "timeUnixNano", a->m->last_ns);
	return p;
}

static cJSON *duration_metric(const struct pt_analysis *a,
			      const struct pt_row *r)
{
	cJSON *m = cJSON_CreateObject();
	cJSON_AddStringToObject(m, "name", "perftap.operation.duration");
	cJSON_AddStringToObject(m, "unit", "ms");
	cJSON_AddStringToObject(m, "description",
				"Duration of the operation, as measured by "
				"perftap");
	cJSON *h = cJSON_AddObjectToObject(m, "histogram");
	cJSON_AddNumberToObject(h, "aggregationTemporality", 2); /* cumul. */
	cJSON *pts = cJSON_AddArrayToObject(h, "dataPoints");
	cJSON *p = point(a, r);
	add_u64(p, "count", r->count);
	cJSON_AddNumberToObject(p, "sum", r->st.sum / 1e6);
	cJSON_AddNumberToObject(p, "min", r->st.min / 1e6);
	cJSON_AddNumberToObject(p, "max", r->st.max / 1e6);
	cJSON *counts = cJSON_AddArrayToObject(p, "bucketCounts");
	cJSON *bounds = cJSON_AddArrayToObject(p, "explicitBounds");
	double edge = 0.001; /* 1 us in ms: the first decade's edge */
	for (int b = 0; b < PT_HIST_BUCKETS; b++) {
		char buf[24];
		snprintf(buf, sizeof(buf), "%" PRIu64, r->st.hist[b]);
		cJSON_AddItemToArray(counts, cJSON_CreateString(buf));
		if (b + 1 < PT_HIST_BUCKETS) {
			cJSON_AddItemToArray(bounds, cJSON_CreateNumber(edge));
			edge *= 10;
		}
	}
	cJSON_AddItemToArray(pts, p);
	return m;
}

static cJSON *errors_metric(const struct pt_analysis *a, const struct pt_row *r)
{
	cJSON *m = cJSON_CreateObject();
	cJSON_AddStringToObject(m, "name", "perftap.operation.errors");
	cJSON_AddStringToObject(m, "unit", "1");
	cJSON *s = cJSON_AddObjectToObject(m, "sum");
	cJSON_AddNumberToObject(s, "aggregationTemporality", 2);
	cJSON_AddBoolToObject(s, "isMonotonic", 1);
	cJSON *pts = cJSON_AddArrayToObject(s, "dataPoints");
	cJSON *p = point(a, r);
	add_u64(p, "asInt", r->errors);
	cJSON_AddItemToArray(pts, p);
	return m;
}

static cJSON *request(const struct pt_analysis *a, const struct pt_row *r)
{
	cJSON *doc = cJSON_CreateObject();
	cJSON *rms = cJSON_AddArrayToObject(doc, "resourceMetrics");
	cJSON *rm = cJSON_CreateObject();
	cJSON_AddItemToArray(rms, rm);
	cJSON *res = cJSON_AddObjectToObject(rm, "resource");
	cJSON *attrs = cJSON_AddArrayToObject(res, "attributes");
	attr(attrs, "service.name", "perftap");
	if (a->nhosts == 1 && a->m->nprocs)
		attr(attrs, "host.name", a->m->procs[0].host);
	cJSON *sms = cJSON_AddArrayToObject(rm, "scopeMetrics");
	cJSON *sm = cJSON_CreateObject();
	cJSON_AddItemToArray(sms, sm);
	cJSON *scope = cJSON_AddObjectToObject(sm, "scope");
	cJSON_AddStringToObject(scope, "name", "perftap");
	cJSON *ms = cJSON_AddArrayToObject(sm, "metrics");
	cJSON_AddItemToArray(ms, duration_metric(a, r));
	cJSON_AddItemToArray(ms, errors_metric(a, r));
	return doc;
}

/* splitmix64: spreads (pid, id) over the id space. */
static uint64_t mix(uint64_t x)
{
	x += 0x9e3779b97f4a7c15ull;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
	return x ^ (x >> 31);
}

static void hex_id(char *buf, size_t len, uint64_t a, uint64_t b, int wide)
{
	if (wide)
		snprintf(buf, len, "%016" PRIx64 "%016" PRIx64, a, b);
	else
		snprintf(buf, len, "%016" PRIx64, a);
}

static void time_attr(cJSON *span, const char *key, uint64_t ns)
{
	char b[24];
	snprintf(b, sizeof(b), "%" PRIu64, ns);
	cJSON_AddStringToObject(span, key, b);
}

static void int_attr(cJSON *list, const char *key, int64_t v)
{
	cJSON *a = cJSON_CreateObject();
	cJSON_AddStringToObject(a, "key", key);
	cJSON *val = cJSON_AddObjectToObject(a, "value");
	char b[24];
	snprintf(b, sizeof(b), "%" PRId64, v);
	cJSON_AddStringToObject(val, "intValue", b);
	cJSON_AddItemToArray(list, a);
}

/* The semantic-convention attributes of one event. */
static void span_attrs(cJSON *list, const struct pt_req_ev *e, const char *text)
{
	char method[24];
	size_t ml = strcspn(text, " ");
	snprintf(method, sizeof(method), "%.*s", (int)(ml < 20 ? ml : 20),
		 text);
	const char *rest = text[ml] ? text + ml + 1 : "";
	switch (e->kind) {
	case PT_KIND_HTTP_IN:
		attr(list, "http.request.method", method);
		attr(list, "http.route", rest);
		int_attr(list, "http.response.status_code", e->status);
		break;
	case PT_KIND_HTTP_OUT:
		attr(list, "http.request.method", method);
		attr(list, "url.full", rest);
		int_attr(list, "http.response.status_code", e->status);
		break;
	case PT_KIND_MYSQL:
		attr(list, "db.system", "mysql");
		attr(list, "db.query.text", text);
		break;
	case PT_KIND_REDIS:
		attr(list, "db.system", "redis");
		attr(list, "db.operation.name", method);
		attr(list, "db.query.text", text);
		break;
	case PT_KIND_SQLITE:
		attr(list, "db.system", "sqlite");
		attr(list, "db.query.text", text);
		break;
	}
}

static cJSON *span(const struct pt_analysis *a, const struct pt_req_ev *e,
		   const char *trace, const char *id, const char *parent)
{
	const char *text = e->op < a->m->nops ? a->m->ops[e->op].text : "";
	cJSON *s = cJSON_CreateObject();
	cJSON_AddStringToObject(s, "traceId", trace);
	cJSON_AddStringToObject(s, "spanId", id);
	if (parent)
		cJSON_AddStringToObject(s, "parentSpanId", parent);
	cJSON_AddStringToObject(s, "name", text);
	cJSON_AddNumberToObject(s, "kind", parent ? 3 : 2); /* CLIENT, SERVER */
	time_attr(s, "startTimeUnixNano", e->start);
	time_attr(s, "endTimeUnixNano", e->start + e->dur);
	span_attrs(cJSON_AddArrayToObject(s, "attributes"), e, text);
	cJSON *st = cJSON_AddObjectToObject(s, "status");
	cJSON_AddNumberToObject(st, "code", e->err ? 2 : 0);
	return s;
}

/* One request, v[h] and its children [h + 1, end), as one trace. */
static int trace_line(const struct pt_analysis *a, size_t h, size_t end,
		      FILE *out)
{
	const struct pt_req_ev *v = a->req.log->v;
	const struct pt_model *m = a->m;
	int32_t pid = v[h].proc < m->nprocs ? m->procs[v[h].proc].pid : 0;
	uint64_t k = mix(((uint64_t)(uint32_t)pid << 40) ^ v[h].rid);
	char trace[40], root[20], child[20];
	hex_id(trace, sizeof(trace), k, mix(k), 1);
	hex_id(root, sizeof(root), mix(k ^ 1), 0, 0);
	cJSON *doc = cJSON_CreateObject();
	cJSON *rs = cJSON_CreateObject();
	cJSON_AddItemToArray(cJSON_AddArrayToObject(doc, "resourceSpans"), rs);
	cJSON *res = cJSON_AddObjectToObject(rs, "resource");
	cJSON *ra = cJSON_AddArrayToObject(res, "attributes");
	attr(ra, "service.name", "perftap");
	int_attr(ra, "process.pid", pid);
	cJSON *ss = cJSON_CreateObject();
	cJSON_AddItemToArray(cJSON_AddArrayToObject(rs, "scopeSpans"), ss);
	cJSON_AddStringToObject(cJSON_AddObjectToObject(ss, "scope"), "name",
				"perftap");
	cJSON *spans = cJSON_AddArrayToObject(ss, "spans");
	cJSON_AddItemToArray(spans, span(a, &v[h], trace, root, NULL));
	for (size_t i = h + 1; i < end; i++) {
		hex_id(child, sizeof(child), mix(k ^ (i - h + 1)), 0, 0);
		cJSON_AddItemToArray(spans, span(a, &v[i], trace, child, root));
	}
	char *s = cJSON_PrintUnformatted(doc);
	cJSON_Delete(doc);
	if (!s)
		return -1;
	fputs(s, out);
	fputc('\n', out);
	free(s);
	return 0;
}

static int traces(const struct pt_analysis *a, FILE *out)
{
	const struct pt_requests_log *l = a->req.log;
	if (!l)
		return 0;
	for (size_t i = 0; i < l->n;) {
		size_t end = i + 1;
		while (end < l->n && l->v[end].proc == l->v[i].proc &&
		       l->v[end].rid == l->v[i].rid)
			end++;
		if (l->v[i].kind == PT_KIND_HTTP_IN &&
		    trace_line(a, i, end, out) < 0)
			return -1;
		i = end;
	}
	return 0;
}

int fmt_otlp_emit(const struct pt_analysis *a, const struct pt_out_opts *o,
		  FILE *out)
{
	const int *kinds;
	size_t nk = analysis_kind_order(&kinds);
	for (size_t k = 0; k < nk; k++) {
		const struct pt_row *rows;
		size_t n = fmt_kind_rows(a, kinds[k], o->top, &rows);
		for (size_t i = 0; i < n; i++) {
			cJSON *doc = request(a, &rows[i]);
			char *s = doc ? cJSON_PrintUnformatted(doc) : NULL;
			cJSON_Delete(doc);
			if (!s)
				return -1;
			fputs(s, out);
			fputc('\n', out);
			free(s);
		}
	}
	if (a->show_operations && traces(a, out) < 0)
		return -1;
	return ferror(out) ? -1 : 0;
}
