/*
 * test_report_dumps.c -- the report on real dumps: written with the shim's
 * writer (several threads, small chunks), read by load.c into the model.
 * The chunk-order pass must give exactly what the time-ordered merge
 * gives; cache-aside pairs must survive chunk boundaries; --since/--until
 * count from the first event.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analysis.h"
#include "dump_test_util.h"
#include "format.h"
#include "load.h"

#define MS	   1000000ull
#define T0	   (1000ull * 1000 * MS) /* monotonic start of the events */
#define CHUNK	   4096u		 /* about 50 events per chunk */
#define NTHREADS   6
#define PER_THREAD 700

struct mix {
	struct pt_writer w;
	struct pt_writer_cursor cur[NTHREADS];
	uint64_t t[NTHREADS]; /* next start, per thread */
	uint64_t rng;
	uint64_t written, miss_pairs, hits;
};

static uint64_t next_rand(struct mix *x)
{
	x->rng = x->rng * 6364136223846793005ull + 1442695040888963407ull;
	return x->rng >> 33;
}

static void emit_as(struct mix *x, int th, uint8_t kind, uint8_t outcome,
		    const char *text, uint64_t dur, int hits, int misses,
		    int32_t status)
{
	struct pt_event ev = {
	    .kind = kind,
	    .outcome = outcome,
	    .start_ns = x->t[th],
	    .duration_ns = dur,
	    .conn_id = 10u + (uint32_t)th,
	    .status = status,
	    .cache_hits = (uint32_t)hits,
	    .cache_misses = (uint32_t)misses,
	    .text = text,
	    .text_len = strlen(text),
	};
	cr_assert_eq(pt_writer_emit_event(&x->w, &x->cur[th], &ev), 0);
	x->t[th] += dur + 1000;
	x->written++;
}

static void emit(struct mix *x, int th, uint8_t kind, const char *text,
		 uint64_t dur, int hits, int misses, int32_t status)
{
	emit_as(x, th, kind, kind == PT_KIND_HTTP_IN ? PT_OUT_HTTP : PT_OUT_OK,
		text, dur, hits, misses, status);
}

/* One unit of work on thread th: a request, or a cache-aside sequence.
 * Odd threads read a second key pattern and fail with their own error
 * codes, so that what is seen first depends on the order of reading. */
static void step(struct mix *x, int th)
{
	uint64_t r = next_rand(x);
	uint64_t dur = (r % 5000 + 1) * 1000; /* 1us .. 5ms, many ties */
	if (r % 11 == 0) {
		emit_as(x, th, PT_KIND_MYSQL, PT_OUT_ERROR,
			"insert into t values (?)", dur, 0, 0,
			th % 2 ? 1062 : 1213 + (int32_t)(r % 3));
		return;
	}
	if (th % 2 && r % 7 == 0) {
		emit(x, th, PT_KIND_REDIS, "GET fir:stats:*", dur, r % 2,
		     1 - (int)(r % 2), 0);
		x->hits += r % 2;
		return;
	}
	switch (r % 4) {
	case 0:
		emit(x, th, PT_KIND_HTTP_IN, "GET /fir/{id}", dur * 3, 0, 0,
		     r % 50 ? 200 : 503);
		break;
	case 1:
		emit(x, th, PT_KIND_MYSQL, "select * from t where id = ?", dur,
		     0, 0, 0);
		break;
	case 2:
		emit(x, th, PT_KIND_REDIS, "GET fir:record:*", dur, 1, 0, 0);
		x->hits++;
		break;
	default:
		emit(x, th, PT_KIND_REDIS, "GET fir:record:*", dur, 0, 1, 0);
		emit(x, th, PT_KIND_MYSQL, "select * from t where id = ?", dur,
		     0, 0, 0);
		emit(x, th, PT_KIND_REDIS, "SETEX fir:record:*", dur / 2, 0, 0,
		     0);
		x->miss_pairs++;
	}
}

/* A dump of NTHREADS threads taking turns at random, so that their small
 * chunks interleave in the file. */
static void write_mix(const char *dir, struct mix *x, uint64_t seed)
{
	memset(x, 0, sizeof(*x));
	x->rng = seed;
	struct pt_writer_config cfg =
	    dumptest_config(dir, 64ull << 20, CHUNK, PT_MODE_STOP);
	cr_assert_eq(pt_writer_open(&x->w, &cfg), 0);
	for (int i = 0; i < NTHREADS; i++) {
		pt_writer_cursor_init(&x->cur[i], 100u + (uint32_t)i);
		x->t[i] = T0 + (uint64_t)i * 7 * MS;
	}
	for (int k = 0; k < NTHREADS * PER_THREAD; k++)
		step(x, (int)(next_rand(x) % NTHREADS));
	for (int i = 0; i < NTHREADS; i++)
		pt_writer_cursor_release(&x->w, &x->cur[i]);
	pt_writer_close(&x->w);
}

/* The whole JSON report of dir, read one way or the other. */
static char *report(const char *dir, int ordered, const char *since,
		    const char *until, uint64_t *events)
{
	struct pt_model m;
	struct pt_analysis a;
	char *paths[] = {(char *)dir};
	struct pt_load_opts lo = {since, until, 0, ordered};
	model_init(&m);
	cr_assert_eq(load_inputs(&m, paths, 1, &lo), 0);
	cr_assert_eq(analysis_build(&a, &m, PT_SORT_TOTAL), 0);
	*events = m.events;
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	cr_assert_not_null(f);
	struct pt_out_opts o = {0, 0, 1};
	cr_assert_eq(format_find("json")->emit(&a, &o, f), 0);
	fclose(f);
	analysis_free(&a);
	model_free(&m);
	return buf;
}

static const struct pt_op *find_op(const struct pt_model *m, int kind,
				   const char *text)
{
	for (size_t i = 0; i < m->nops; i++)
		if (m->ops[i].kind == kind && !strcmp(m->ops[i].text, text))
			return &m->ops[i];
	return NULL;
}

Test(report_dumps, chunk_pass_equals_the_time_ordered_merge)
{
	const char *dir = dumptest_mkdtemp();
	struct mix x;
	write_mix(dir, &x, 42);
	uint64_t n_chunks = 0, n_merge = 0;
	char *a = report(dir, 0, NULL, NULL, &n_chunks);
	char *b = report(dir, 1, NULL, NULL, &n_merge);
	cr_assert_eq(n_chunks, x.written);
	cr_assert_eq(n_merge, x.written);
	cr_assert_str_eq(a, b);
	free(a);
	free(b);
	dumptest_rmdir(dir);
}

Test(report_dumps, every_cache_aside_pair_is_found_across_chunks)
{
	const char *dir = dumptest_mkdtemp();
	struct mix x;
	write_mix(dir, &x, 7);
	/* Far more chunks than threads: many pairs straddle two chunks. */
	cr_assert_gt(x.written * 64 / CHUNK, 4 * NTHREADS);
	struct pt_model m;
	char *paths[] = {(char *)dir};
	struct pt_load_opts lo = {NULL, NULL, 0, 0};
	model_init(&m);
	cr_assert_eq(load_inputs(&m, paths, 1, &lo), 0);
	const struct pt_op *g =
	    find_op(&m, PT_OPK_GET_OR_FETCH, "fir:record:*");
	cr_assert_not_null(g);
	cr_assert_eq(g->split[PT_SPLIT_MISS].n, x.miss_pairs);
	const struct pt_op *g2 =
	    find_op(&m, PT_OPK_GET_OR_FETCH, "fir:stats:*");
	cr_assert_not_null(g2);
	cr_assert_eq(g->split[PT_SPLIT_HIT].n + g2->split[PT_SPLIT_HIT].n,
		     x.hits);
	const struct pt_op *h = find_op(&m, PT_KIND_HTTP_IN, "GET /fir/{id}");
	cr_assert_not_null(h);
	cr_assert_eq(m.nhttp, h->count);
	model_free(&m);
	dumptest_rmdir(dir);
}

Test(report_dumps, relative_window_counts_from_the_first_event)
{
	const char *dir = dumptest_mkdtemp();
	struct mix x;
	write_mix(dir, &x, 9);
	/* The writer's clock anchors say when the process started: now,
	 * far from T0.  An offset must count from T0 (the first event). */
	uint64_t all = 0, none = 0, part = 0;
	free(report(dir, 0, NULL, NULL, &all));
	free(report(dir, 0, "0s", "1ms", &none));
	free(report(dir, 0, "0s", "60s", &part));
	cr_assert_eq(none, 1); /* only thread 0's first event, at T0 */
	cr_assert_eq(part, all);
	uint64_t late = 0, early = 0;
	free(report(dir, 0, "1s", NULL, &late));
	free(report(dir, 0, NULL, "1s", &early));
	cr_assert_gt(late, 0);
	cr_assert_gt(early, 0);
	cr_assert_eq(late + early, all);
	dumptest_rmdir(dir);
}
