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
 * Note: the report's buckets include their lower bound, OTLP's their upper
 * bound; a duration of exactly 1 ms lands one bucket higher here.
 */
#include <cjson/cJSON.h>
#include <inttypes.h>
#include <stdlib.h>

#include "format.h"

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
	return ferror(out) ? -1 : 0;
}
