/*
 * test_report_model.c -- grouping, cache-aside, concurrency, selectors,
 * thresholds and the JSON/CSV formats on in-memory events (no dumps).
 */
#include <cjson/cJSON.h>
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "analysis.h"
#include "format.h"
#include "select.h"
#include "thresholds.h"

#define MS 1000000ull

static void add(struct pt_model *m, uint8_t kind, const char *text,
		uint64_t start_ms, uint64_t dur_ms, uint8_t outcome,
		int32_t status, uint32_t tid, int hits, int misses)
{
	struct pt_read_event ev;
	memset(&ev, 0, sizeof(ev));
	ev.kind = kind;
	ev.outcome = outcome;
	ev.start_ns = start_ms * MS;
	ev.duration_ns = dur_ms * MS;
	ev.tid = tid;
	ev.status = status;
	ev.cache_hits = (uint16_t)hits;
	ev.cache_misses = (uint16_t)misses;
	ev.text = text;
	ev.text_len = (uint32_t)strlen(text);
	cr_assert_eq(model_add(m, &ev, start_ms * MS), 0);
}

static const struct pt_row *row(const struct pt_analysis *a, const char *key)
{
	for (size_t i = 0; i < a->nrows; i++)
		if (!strcmp(a->rows[i].key, key))
			return &a->rows[i];
	return NULL;
}

Test(model, groups_by_kind_and_text)
{
	struct pt_model m;
	struct pt_analysis a;
	model_init(&m);
	for (int i = 1; i <= 4; i++)
		add(&m, PT_KIND_HTTP_IN, "GET /fir/{id}", 1000 + i * 100,
		    (uint64_t)i * 10, PT_OUT_HTTP, i == 4 ? 503 : 200, 1, 0, 0);
	add(&m, PT_KIND_HTTP_IN, "GET /health", 2000, 1, PT_OUT_HTTP, 404, 1, 0,
	    0);
	add(&m, PT_KIND_MYSQL, "GET /fir/{id}", 2000, 5, PT_OUT_ERROR, 1062, 1,
	    0, 0);
	cr_assert_eq(analysis_build(&a, &m, PT_SORT_TOTAL), 0);
	cr_assert_eq(a.nrows, 3);
	const struct pt_row *r = row(&a, "http GET /fir/{id}");
	cr_assert_not_null(r);
	cr_assert_eq(r->count, 4);
	cr_assert_eq(r->errors, 1);
	cr_assert_eq(r->http_5xx, 1);
	cr_assert(fabs(r->st.p95 - 38.5 * MS) < 1);
	cr_assert(fabs(r->error_rate - 0.25) < 1e-12);
	const struct pt_row *h = row(&a, "http GET /health");
	cr_assert_eq(h->errors, 0);
	cr_assert_eq(h->http_4xx, 1);
	const struct pt_row *s = row(&a, "sql GET /fir/{id}");
	cr_assert_eq(s->errors, 1);
	cr_assert_eq(s->op->errs[0].code, 1062);
	/* share within HTTP: 100 of 101 ms */
	cr_assert(fabs(r->share - 100.0 / 101.0) < 1e-9);
	analysis_free(&a);
	model_free(&m);
}

Test(model, cache_reads_split_hits_and_misses)
{
	struct pt_model m;
	struct pt_analysis a;
	model_init(&m);
	add(&m, PT_KIND_REDIS, "GET fir:record:*", 0, 1, PT_OUT_OK, 0, 1, 1, 0);
	add(&m, PT_KIND_REDIS, "GET fir:record:*", 10, 1, PT_OUT_OK, 0, 1, 1,
	    0);
	add(&m, PT_KIND_REDIS, "GET fir:record:*", 20, 3, PT_OUT_OK, 0, 1, 0,
	    1);
	add(&m, PT_KIND_REDIS, "MGET fir:record:*", 30, 2, PT_OUT_OK, 0, 2, 3,
	    1);
	cr_assert_eq(analysis_build(&a, &m, PT_SORT_TOTAL), 0);
	const struct pt_row *g = row(&a, "redis GET fir:record:*");
	cr_assert_eq(g->hit.n, 2);
	cr_assert_eq(g->miss.n, 1);
	cr_assert(fabs(g->hit_rate - 2.0 / 3.0) < 1e-12);
	cr_assert_eq(a.ncache, 1);
	/* MGET counts per key: 2 + 3 hits, 1 + 1 misses */
	cr_assert_eq(a.cache[0].hits, 5);
	cr_assert_eq(a.cache[0].misses, 2);
	cr_assert(fabs(a.cache_hit_rate - 5.0 / 7.0) < 1e-12);
	analysis_free(&a);
	model_free(&m);
}

Test(model, get_miss_then_set_on_same_thread_is_get_or_fetch)
{
	struct pt_model m;
	struct pt_analysis a;
	model_init(&m);
	/* thread 1: miss at 100 (2 ms), SQL, SETEX at 110 ending 113 */
	add(&m, PT_KIND_REDIS, "GET fir:record:*", 100, 2, PT_OUT_OK, 0, 1, 0,
	    1);
	add(&m, PT_KIND_MYSQL, "select * from t where id = ?", 103, 6,
	    PT_OUT_OK, 0, 1, 0, 0);
	add(&m, PT_KIND_REDIS, "SETEX fir:record:*", 110, 3, PT_OUT_OK, 0, 1, 0,
	    0);
	/* thread 2: a hit */
	add(&m, PT_KIND_REDIS, "GET fir:record:*", 200, 1, PT_OUT_OK, 0, 2, 1,
	    0);
	/* thread 3: miss, then a SET of another pattern: no sequence */
	add(&m, PT_KIND_REDIS, "GET fir:record:*", 300, 1, PT_OUT_OK, 0, 3, 0,
	    1);
	add(&m, PT_KIND_REDIS, "SETEX fir:user:*", 305, 1, PT_OUT_OK, 0, 3, 0,
	    0);
	cr_assert_eq(analysis_build(&a, &m, PT_SORT_TOTAL), 0);
	const struct pt_row *g = row(&a, "get_or_fetch fir:record:*");
	cr_assert_not_null(g);
	cr_assert_eq(g->count, 2);
	cr_assert_eq(g->miss.n, 1);
	cr_assert(fabs(g->miss.max - 13.0 * MS) < 1); /* 100 -> 113 */
	cr_assert_eq(g->hit.n, 1);
	analysis_free(&a);
	model_free(&m);
}

Test(model, concurrency_levels_count_in_flight_at_start)
{
	struct pt_model m;
	struct pt_analysis a;
	model_init(&m);
	/* one alone, then 6 overlapping */
	add(&m, PT_KIND_HTTP_IN, "GET /a", 0, 10, PT_OUT_HTTP, 200, 1, 0, 0);
	for (int i = 0; i < 6; i++)
		add(&m, PT_KIND_HTTP_IN, "GET /a", 100 + (uint64_t)i, 50,
		    PT_OUT_HTTP, i == 5 ? 500 : 200, 1, 0, 0);
	cr_assert_eq(analysis_build(&a, &m, PT_SORT_TOTAL), 0);
	cr_assert_eq(a.conc.max_inflight, 6);
	cr_assert_eq(a.nlevels, 3); /* 1 (two requests), 5 (2..5), 10 (6) */
	cr_assert_eq(a.levels[0].level, 1);
	cr_assert_eq(a.levels[0].count, 2);
	cr_assert_eq(a.levels[1].level, 5);
	cr_assert_eq(a.levels[1].count, 4);
	cr_assert_eq(a.levels[2].level, 10);
	cr_assert_eq(a.levels[2].errors, 1);
	cr_assert_eq(analysis_level_of(15), 15);
	cr_assert_eq(analysis_level_of(16), 20);
	analysis_free(&a);
	model_free(&m);
}

Test(select, placeholders_match_whatever_their_name)
{
	struct pt_selector s;
	char err[128];
	cr_assert_eq(
	    selector_parse("http GET /fir/{fir_number}", &s, err, sizeof(err)),
	    0);
	struct pt_op op = {.kind = PT_KIND_HTTP_IN, .text = "GET /fir/{id}"};
	cr_assert(selector_match_op(&s, &op, 1));
	struct pt_op other = {.kind = PT_KIND_HTTP_IN,
			      .text = "GET /fir/{id}/content"};
	cr_assert_not(selector_match_op(&s, &other, 0));
	cr_assert_eq(
	    selector_parse("redis GET fir:* hit", &s, err, sizeof(err)), 0);
	cr_assert_eq(s.split, PT_SPLIT_HIT);
	cr_assert_eq(selector_parse("concurrency:15", &s, err, sizeof(err)), 0);
	cr_assert_eq(s.level, 15);
	cr_assert_eq(selector_parse("sql:nope", &s, err, sizeof(err)), -1);
	cr_assert_eq(selector_parse("bogus x", &s, err, sizeof(err)), -1);
	cr_assert(strstr(err, "bogus"));
}

Test(thresholds, expressions_parse_with_units)
{
	struct pt_expr e;
	char err[128];
	cr_assert_eq(threshold_parse_expr("p(95)<100ms", &e, err, sizeof(err)),
		     0);
	cr_assert_eq(e.agg, PT_AGG_P);
	cr_assert(e.p == 95 && e.limit == 100 && e.cmp == PT_CMP_LT);
	cr_assert_eq(threshold_parse_expr("avg<=1.5s", &e, err, sizeof(err)),
		     0);
	cr_assert(e.limit == 1500);
	cr_assert_eq(threshold_parse_expr("med<250us", &e, err, sizeof(err)),
		     0);
	cr_assert(fabs(e.limit - 0.25) < 1e-12);
	cr_assert_eq(threshold_parse_expr("rate>=50/s", &e, err, sizeof(err)),
		     0);
	cr_assert(e.limit == 50 && e.cmp == PT_CMP_GE);
	cr_assert_eq(
	    threshold_parse_expr("hit_rate>=80%", &e, err, sizeof(err)), 0);
	cr_assert(fabs(e.limit - 0.8) < 1e-12);
	cr_assert_eq(threshold_parse_expr("p99<1", &e, err, sizeof(err)), -1);
	cr_assert(strstr(err, "unknown aggregate"));
	cr_assert_eq(
	    threshold_parse_expr("hit_rate>=5ms", &e, err, sizeof(err)), -1);
	cr_assert_eq(threshold_parse_expr("avg<", &e, err, sizeof(err)), -1);
}

Test(thresholds, bad_documents_name_the_problem)
{
	struct pt_thresholds t;
	char err[256];
	cr_assert_eq(thresholds_parse("{", &t, err, sizeof(err)), -1);
	cr_assert(strstr(err, "JSON"));
	cr_assert_eq(thresholds_parse("[1]", &t, err, sizeof(err)), -1);
	cr_assert_eq(
	    thresholds_parse("{\"http *\": [\"foo<1\"]}", &t, err, sizeof(err)),
	    -1);
	cr_assert(strstr(err, "foo"));
	cr_assert_eq(
	    thresholds_parse("{\"http *\": [3]}", &t, err, sizeof(err)), -1);
}

Test(thresholds, evaluate_pass_fail_and_no_match)
{
	struct pt_model m;
	struct pt_analysis a;
	struct pt_thresholds t;
	char err[256];
	model_init(&m);
	for (int i = 1; i <= 100; i++)
		add(&m, PT_KIND_HTTP_IN, "GET /fir/{id}", (uint64_t)i * 100,
		    (uint64_t)i, PT_OUT_HTTP, 200, 1, 0, 0);
	add(&m, PT_KIND_REDIS, "GET fir:record:*", 0, 1, PT_OUT_OK, 0, 2, 1, 0);
	add(&m, PT_KIND_REDIS, "GET fir:record:*", 5, 1, PT_OUT_OK, 0, 2, 0, 1);
	cr_assert_eq(thresholds_parse(
			 "{\"http GET /fir/{fir_number}\": [\"p(95)<96ms\", "
			 "\"p(95)<95ms\", \"count==100\", \"error_rate<0.01\"],"
			 "\"cache fir:*\": [\"hit_rate>=0.8\"],"
			 "\"sql:join\": [\"p(95)<1ms\"]}",
			 &t, err, sizeof(err)),
		     0, "%s", err);
	cr_assert_eq(analysis_build(&a, &m, PT_SORT_TOTAL), 0);
	cr_assert_eq(thresholds_eval(&t, &a, 0), 0);
	cr_assert_eq(a.nthresholds, 6);
	cr_assert_eq(a.thresholds[0].status, PT_TH_PASS); /* 95.05 < 96 */
	cr_assert(fabs(a.thresholds[0].measured - 95.05) < 1e-9);
	cr_assert_eq(a.thresholds[1].status, PT_TH_FAIL);
	cr_assert_eq(a.thresholds[2].status, PT_TH_PASS);
	cr_assert_eq(a.thresholds[3].status, PT_TH_PASS);
	cr_assert_eq(a.thresholds[4].status, PT_TH_FAIL); /* 0.5 */
	cr_assert_eq(a.thresholds[5].status, PT_TH_NO_MATCH);
	cr_assert_eq(a.thresholds_failed, 3);
	free(a.thresholds);
	a.thresholds = NULL;
	cr_assert_eq(thresholds_eval(&t, &a, 1), 0);
	cr_assert_eq(a.thresholds_failed, 2);
	analysis_free(&a);
	thresholds_free(&t);
	model_free(&m);
}

static char *emit_to_string(const struct pt_format *f,
			    const struct pt_analysis *a)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *out = open_memstream(&buf, &len);
	struct pt_out_opts o = {0, 0, 0};
	cr_assert_eq(f->emit(a, &o, out), 0);
	fclose(out);
	return buf;
}

Test(formats, json_parses_back_with_version_and_rows)
{
	struct pt_model m;
	struct pt_analysis a;
	model_init(&m);
	add(&m, PT_KIND_HTTP_IN, "GET /a \"q\"", 0, 3, PT_OUT_HTTP, 200, 1, 0,
	    0);
	add(&m, PT_KIND_MYSQL, "select 1", 1, 1, PT_OUT_OK, 0, 1, 0, 0);
	cr_assert_eq(analysis_build(&a, &m, PT_SORT_TOTAL), 0);
	char *text = emit_to_string(format_find("json"), &a);
	cJSON *doc = cJSON_Parse(text);
	cr_assert_not_null(doc, "%s", text);
	cr_assert_eq(cJSON_GetObjectItem(doc, "perftap_report")->valueint, 1);
	cJSON *ops = cJSON_GetObjectItem(doc, "operations");
	cr_assert_eq(cJSON_GetArraySize(ops), 2);
	cJSON *first = cJSON_GetArrayItem(ops, 0);
	cr_assert_str_eq(cJSON_GetObjectItem(first, "text")->valuestring,
			 "GET /a \"q\"");
	cr_assert(fabs(cJSON_GetObjectItem(first, "p95_ms")->valuedouble - 3) <
		  1e-9);
	cJSON_Delete(doc);
	free(text);
	analysis_free(&a);
	model_free(&m);
}

Test(formats, csv_rows_have_one_column_count)
{
	struct pt_model m;
	struct pt_analysis a;
	model_init(&m);
	add(&m, PT_KIND_MYSQL, "select a, b from t where x = ?", 0, 3,
	    PT_OUT_OK, 0, 1, 0, 0);
	add(&m, PT_KIND_REDIS, "GET k:*", 0, 3, PT_OUT_OK, 0, 1, 1, 0);
	cr_assert_eq(analysis_build(&a, &m, PT_SORT_TOTAL), 0);
	char *text = emit_to_string(format_find("csv"), &a);
	int lines = 0;
	for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n")) {
		int cols = 1, quoted = 0;
		for (char *p = line; *p; p++) {
			if (*p == '"')
				quoted = !quoted;
			else if (*p == ',' && !quoted)
				cols++;
		}
		cr_assert_eq(cols, 27, "line %d: %s", lines, line);
		lines++;
	}
	/* header; sql, redis, and get_or_fetch (the GET hit); 1 SQL class */
	cr_assert_eq(lines, 1 + 3 + 1);
	free(text);
	analysis_free(&a);
	model_free(&m);
}

Test(formats, durations_pick_a_unit_per_magnitude)
{
	char b[16];
	fmt_duration(850, b, sizeof(b));
	cr_assert_str_eq(b, "850ns");
	fmt_duration(12345, b, sizeof(b));
	cr_assert_str_eq(b, "12.3us");
	fmt_duration(3.4201e6, b, sizeof(b));
	cr_assert_str_eq(b, "3.42ms");
	fmt_duration(123.4e6, b, sizeof(b));
	cr_assert_str_eq(b, "123ms");
	fmt_duration(12.3456e9, b, sizeof(b));
	cr_assert_str_eq(b, "12.3s");
}
