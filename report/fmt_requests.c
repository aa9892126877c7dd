/*
 * fmt_requests.c -- the per-request sections every format shares: the
 * breakdown of each route's time (requests.h), the cached/uncached split,
 * the slowest requests' waterfalls, and the unattributed operations.
 * Text, Markdown and HTML print from here; JSON builds a cJSON object.
 */
#include <stdio.h>
#include <string.h>

#include "fmt_requests.h"
#include "model.h"

static const char *op_text(const struct pt_analysis *a, uint32_t op)
{
	return op < a->m->nops ? a->m->ops[op].text : "?";
}

static const char *kind_word(int kind)
{
	return model_kind_word(kind);
}

static void dur(double ns, char *b, size_t n)
{
	fmt_duration(ns, b, n);
}

/* ---- unattributed: always shown ---- */

static void unattributed_text(const struct pt_analysis *a, FILE *out)
{
	const struct pt_requests_log *l = &a->m->rlog;
	const struct pt_requests *r = &a->req;
	fprintf(out,
		"\nRequest attribution: %llu of %llu child operations "
		"attributed",
		(unsigned long long)r->attributed,
		(unsigned long long)r->children);
	if (!r->recorded) {
		fprintf(out, " (not recorded in these dumps)\n");
		return;
	}
	fputc('\n', out);
	fprintf(out, "  %-10s %9s %9s %9s %9s %9s %7s\n", "kind", "ops",
		"attrib.", "none", "ambig.", "other", "unattr");
	for (int k = PT_KIND_HTTP_OUT; k < PT_KIND_COUNT; k++) {
		uint64_t n = l->children[k];
		if (!n)
			continue;
		const uint64_t *b = l->by_attr[k];
		uint64_t att =
		    b[PT_ATTR_THREAD] + b[PT_ATTR_TASK] + b[PT_ATTR_HANDOFF];
		fprintf(
		    out, "  %-10s %9llu %9llu %9llu %9llu %9llu %6.1f%%\n",
		    kind_word(k), (unsigned long long)n,
		    (unsigned long long)att,
		    (unsigned long long)b[PT_ATTR_NONE],
		    (unsigned long long)b[PT_ATTR_AMBIGUOUS],
		    (unsigned long long)(b[PT_ATTR_OTHER] + b[PT_ATTR_UNKNOWN]),
		    100.0 * (double)(n - att) / (double)n);
	}
}

/* ---- per route ---- */

static void route_text(const struct pt_analysis *a,
		       const struct pt_route_req *rr, size_t top, FILE *out)
{
	char m[16], p[16];
	fprintf(out, "%.80s  (%llu requests)\n", op_text(a, rr->op),
		(unsigned long long)rr->requests);
	fprintf(out, "  %-16s", "per request");
	for (int c = 0; c < PT_CAT_COUNT; c++)
		fprintf(out, " %9s", requests_cat_name(c));
	fprintf(out, "\n  %-16s", "mean");
	for (int c = 0; c < PT_CAT_COUNT; c++) {
		dur(rr->cat[c].mean, m, sizeof(m));
		fprintf(out, " %9s", m);
	}
	fprintf(out, "\n  %-16s", "p95");
	for (int c = 0; c < PT_CAT_COUNT; c++) {
		dur(rr->cat[c].p95, p, sizeof(p));
		fprintf(out, " %9s", p);
	}
	fputc('\n', out);
	size_t nc = top && rr->nchildren > top ? top : rr->nchildren;
	for (size_t i = 0; i < nc; i++) {
		const struct pt_req_child *ch = &rr->children[i];
		const struct pt_op *op = &a->m->ops[ch->op];
		fprintf(out, "  %6.2f x %s %.80s\n",
			(double)ch->n / (double)rr->requests,
			kind_word(op->kind), op->text);
	}
	static const char *names[] = {"cached", "uncached", "no cache read"};
	for (int k = 0; k < PT_REQ_CACHE_COUNT; k++) {
		if (!rr->by_cache[k] ||
		    (k == PT_REQ_NOCACHE && rr->by_cache[k] == rr->requests))
			continue;
		dur(rr->cache_lat[k].mean, m, sizeof(m));
		dur(rr->cache_lat[k].p95, p, sizeof(p));
		fprintf(out, "  %-14s %6llu requests, mean %s, p95 %s\n",
			names[k], (unsigned long long)rr->by_cache[k], m, p);
	}
}

static void waterfall_text(const struct pt_analysis *a,
			   const struct pt_route_req *rr, FILE *out)
{
	const struct pt_req_ev *v = a->req.log->v;
	char d[16], o[16];
	for (int s = 0; s < rr->nslow; s++) {
		const struct pt_req_one *q = &rr->slow[s];
		dur((double)v[q->http].dur, d, sizeof(d));
		fprintf(out, "  slowest #%d: %s, %zu operations\n", s + 1, d,
			q->n);
		for (size_t i = q->first; i < q->first + q->n; i++) {
			double off = (double)(v[i].start - v[q->http].start);
			dur(off > 0 ? off : 0, o, sizeof(o));
			dur((double)v[i].dur, d, sizeof(d));
			fprintf(out, "    +%-7s %7s  %s %.70s\n", o, d,
				kind_word(v[i].kind), op_text(a, v[i].op));
		}
	}
}

void fmt_requests_text(const struct pt_analysis *a, size_t top, FILE *out)
{
	const struct pt_requests *r = &a->req;
	if (r->nroutes) {
		fprintf(out, "\nRequests by route: where the time goes, "
			     "operations per request, cache outcome, "
			     "slowest\n");
		for (size_t i = 0; i < r->nroutes; i++) {
			route_text(a, &r->routes[i], top, out);
			waterfall_text(a, &r->routes[i], out);
		}
	}
	unattributed_text(a, out);
}

/* ---- Markdown ---- */

void fmt_requests_markdown(const struct pt_analysis *a, FILE *out)
{
	const struct pt_requests *r = &a->req;
	char b[PT_CAT_COUNT][2][16];
	fprintf(out, "\n## Requests by route\n\n| route | requests |");
	for (int c = 0; c < PT_CAT_COUNT; c++)
		fprintf(out, " %s mean | %s p95 |", requests_cat_name(c),
			requests_cat_name(c));
	fprintf(out, " cached | uncached |\n|---|---:|");
	for (int c = 0; c < PT_CAT_COUNT; c++)
		fprintf(out, "---:|---:|");
	fprintf(out, "---:|---:|\n");
	for (size_t i = 0; i < r->nroutes; i++) {
		const struct pt_route_req *rr = &r->routes[i];
		fprintf(out, "| `%s` | %llu |", op_text(a, rr->op),
			(unsigned long long)rr->requests);
		for (int c = 0; c < PT_CAT_COUNT; c++) {
			dur(rr->cat[c].mean, b[c][0], 16);
			dur(rr->cat[c].p95, b[c][1], 16);
			fprintf(out, " %s | %s |", b[c][0], b[c][1]);
		}
		fprintf(out, " %llu | %llu |\n",
			(unsigned long long)rr->by_cache[PT_REQ_CACHED],
			(unsigned long long)rr->by_cache[PT_REQ_UNCACHED]);
	}
	fprintf(out,
		"\nChild operations attributed to a request: %llu of "
		"%llu%s\n",
		(unsigned long long)r->attributed,
		(unsigned long long)r->children,
		r->recorded ? "" : " (not recorded in these dumps)");
}

/* ---- HTML: bars on a time axis ---- */

void fmt_requests_html(const struct pt_analysis *a, FILE *out)
{
	const struct pt_requests *r = &a->req;
	const struct pt_req_ev *v = r->log ? r->log->v : NULL;
	fprintf(out,
		"<h2>Requests by route</h2>\n<p>Child operations "
		"attributed to a request: %llu of %llu%s</p>\n",
		(unsigned long long)r->attributed,
		(unsigned long long)r->children,
		r->recorded ? "" : " (not recorded in these dumps)");
	for (size_t i = 0; i < r->nroutes; i++) {
		const struct pt_route_req *rr = &r->routes[i];
		fprintf(out, "<h3>");
		fmt_xml_escape(out, op_text(a, rr->op), 0);
		fprintf(out, " (%llu requests)</h3>\n",
			(unsigned long long)rr->requests);
		for (int s = 0; s < rr->nslow; s++) {
			const struct pt_req_one *q = &rr->slow[s];
			double total =
			    (double)(v[q->http].dur ? v[q->http].dur : 1);
			char d[16];
			dur((double)v[q->http].dur, d, sizeof(d));
			fprintf(out,
				"<div class=\"wf\"><div>slowest #%d: %s"
				"</div>\n",
				s + 1, d);
			for (size_t k = q->first; k < q->first + q->n; k++) {
				double off =
				    (double)(v[k].start - v[q->http].start);
				double l = 100.0 * (off > 0 ? off : 0) / total;
				double w = 100.0 * (double)v[k].dur / total;
				if (l > 100)
					l = 100;
				if (w < 0.3)
					w = 0.3;
				fprintf(out, "<div style=\"position:relative;"
					     "height:14px\"><div title=\"");
				fmt_xml_escape(out, op_text(a, v[k].op), 0);
				fprintf(out,
					"\" style=\"position:absolute;left:"
					"%.2f%%;width:%.2f%%;height:12px;"
					"background:#4a7\"></div></div>\n",
					l, w);
			}
			fprintf(out, "</div>\n");
		}
	}
}

/* ---- JSON ---- */

static cJSON *route_json(const struct pt_analysis *a,
			 const struct pt_route_req *rr)
{
	static const char *names[] = {"cached", "uncached", "no_cache_read"};
	cJSON *o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "route", op_text(a, rr->op));
	cJSON_AddNumberToObject(o, "requests", (double)rr->requests);
	cJSON *t = cJSON_AddObjectToObject(o, "time_per_request_ms");
	for (int c = 0; c < PT_CAT_COUNT; c++) {
		cJSON *x = cJSON_AddObjectToObject(t, requests_cat_name(c));
		cJSON_AddNumberToObject(x, "mean", rr->cat[c].mean / 1e6);
		cJSON_AddNumberToObject(x, "p95", rr->cat[c].p95 / 1e6);
	}
	cJSON *ch = cJSON_AddArrayToObject(o, "operations_per_request");
	for (size_t i = 0; i < rr->nchildren; i++) {
		const struct pt_op *op = &a->m->ops[rr->children[i].op];
		cJSON *x = cJSON_CreateObject();
		cJSON_AddStringToObject(x, "kind", kind_word(op->kind));
		cJSON_AddStringToObject(x, "text", op->text);
		cJSON_AddNumberToObject(x, "per_request",
					(double)rr->children[i].n /
					    (double)rr->requests);
		cJSON_AddItemToArray(ch, x);
	}
	cJSON *c = cJSON_AddObjectToObject(o, "cache");
	for (int k = 0; k < PT_REQ_CACHE_COUNT; k++) {
		cJSON *x = cJSON_AddObjectToObject(c, names[k]);
		cJSON_AddNumberToObject(x, "requests", (double)rr->by_cache[k]);
		cJSON_AddNumberToObject(x, "mean_ms",
					rr->cache_lat[k].mean / 1e6);
		cJSON_AddNumberToObject(x, "p95_ms",
					rr->cache_lat[k].p95 / 1e6);
	}
	const struct pt_req_ev *v = a->req.log->v;
	cJSON *sl = cJSON_AddArrayToObject(o, "slowest");
	for (int s = 0; s < rr->nslow; s++) {
		const struct pt_req_one *q = &rr->slow[s];
		cJSON *x = cJSON_CreateObject();
		cJSON_AddNumberToObject(x, "duration_ms", v[q->http].dur / 1e6);
		cJSON *w = cJSON_AddArrayToObject(x, "waterfall");
		for (size_t i = q->first; i < q->first + q->n; i++) {
			cJSON *e = cJSON_CreateObject();
			double off = (double)(v[i].start - v[q->http].start);
			cJSON_AddStringToObject(e, "kind",
						kind_word(v[i].kind));
			cJSON_AddStringToObject(e, "text", op_text(a, v[i].op));
			cJSON_AddNumberToObject(e, "offset_ms",
						(off > 0 ? off : 0) / 1e6);
			cJSON_AddNumberToObject(e, "duration_ms",
						v[i].dur / 1e6);
			cJSON_AddItemToArray(w, e);
		}
		cJSON_AddItemToArray(sl, x);
	}
	return o;
}

cJSON *fmt_requests_json(const struct pt_analysis *a)
{
	const struct pt_requests *r = &a->req;
	const struct pt_requests_log *l = &a->m->rlog;
	cJSON *o = cJSON_CreateObject();
	cJSON *routes = cJSON_AddArrayToObject(o, "routes");
	for (size_t i = 0; i < r->nroutes; i++)
		cJSON_AddItemToArray(routes, route_json(a, &r->routes[i]));
	cJSON *u = cJSON_AddObjectToObject(o, "attribution");
	cJSON_AddBoolToObject(u, "recorded", r->recorded);
	cJSON_AddNumberToObject(u, "child_operations", (double)r->children);
	cJSON_AddNumberToObject(u, "attributed", (double)r->attributed);
	cJSON *k = cJSON_AddObjectToObject(u, "by_kind");
	for (int i = PT_KIND_HTTP_OUT; i < PT_KIND_COUNT; i++) {
		if (!l->children[i])
			continue;
		const uint64_t *b = l->by_attr[i];
		cJSON *x = cJSON_AddObjectToObject(k, kind_word(i));
		uint64_t att =
		    b[PT_ATTR_THREAD] + b[PT_ATTR_TASK] + b[PT_ATTR_HANDOFF];
		cJSON_AddNumberToObject(x, "operations",
					(double)l->children[i]);
		cJSON_AddNumberToObject(x, "attributed", (double)att);
		cJSON_AddNumberToObject(x, "unattributed",
					(double)(l->children[i] - att));
		cJSON_AddNumberToObject(x, "unattributed_share",
					(double)(l->children[i] - att) /
					    (double)l->children[i]);
		for (int t = 0; t < PT_ATTR_SLOTS; t++)
			if (b[t])
				cJSON_AddNumberToObject(
				    x, pt_attribution_name(t), (double)b[t]);
	}
	return o;
}
