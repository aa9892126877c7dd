/*
 * test_dump_threads.c -- many threads, one dump, no lock: every event is
 * read back exactly once, in each thread's order, and the ordered pass is
 * sorted by completion time.
 */
#include <pthread.h>
#include <stdlib.h>
#include <time.h>

#include <criterion/criterion.h>

#include "dump_test_util.h"

#define THREADS		8
#define PER_THREAD	1000000u
#define WRAP_PER_THREAD 200000u

static const char *dir;

static void setup(void)
{
	dir = dumptest_mkdtemp();
}

static void teardown(void)
{
	dumptest_rmdir(dir);
}

TestSuite(dump_threads, .init = setup, .fini = teardown, .timeout = 600);

struct worker {
	pthread_t th;
	struct pt_writer *w;
	uint32_t index;
	uint32_t events;
	uint64_t failed;
};

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

/* Events carry (thread index in conn_id, sequence in rows); a few texts
 * so that interning runs too. */
static void *worker_run(void *arg)
{
	static const char *const texts[] = {"GET k:*", "SET k:*",
					    "select * from t where id = ?"};
	struct worker *wk = arg;
	struct pt_writer_cursor c;

	pt_writer_cursor_init(&c, 1000 + wk->index);
	for (uint32_t i = 0; i < wk->events; i++) {
		struct pt_event ev = dumptest_event(wk->index, i, texts[i % 3]);
		ev.start_ns = now_ns();
		ev.duration_ns = i % 5;
		ev.rows = i;
		wk->failed += pt_writer_emit_event(wk->w, &c, &ev) != 0;
	}
	pt_writer_cursor_release(wk->w, &c);
	return NULL;
}

struct seen {
	uint64_t next[THREADS];
	uint64_t records;
};

static int check_cb(const struct pt_read_record *r, void *arg)
{
	struct seen *s = arg;
	cr_assert_eq(r->type, PT_REC_EVENT);
	cr_assert_lt(r->ev.conn_id, THREADS);
	cr_assert_eq(r->ev.rows, s->next[r->ev.conn_id]);
	s->next[r->ev.conn_id]++;
	s->records++;
	return 0;
}

Test(dump_threads, eight_threads_million_events_each_read_exactly_once)
{
	struct pt_writer w;
	struct pt_writer_config cfg =
	    dumptest_config(dir, 1ull << 30, 0, PT_MODE_STOP);
	struct worker wk[THREADS];

	cr_assert_eq(pt_writer_open(&w, &cfg), 0);
	for (uint32_t i = 0; i < THREADS; i++) {
		wk[i] =
		    (struct worker){.w = &w, .index = i, .events = PER_THREAD};
		cr_assert_eq(
		    pthread_create(&wk[i].th, NULL, worker_run, &wk[i]), 0);
	}
	for (uint32_t i = 0; i < THREADS; i++) {
		pthread_join(wk[i].th, NULL);
		cr_assert_eq(wk[i].failed, 0);
	}
	pt_writer_close(&w);

	struct pt_dump *d = dumptest_open(w.path);
	const struct pt_dump_info *in = pt_dump_info(d);
	for (int i = 0; i < PT_DROP_CAUSE_COUNT; i++)
		cr_assert_eq(in->drops[i], 0, "drops[%d]", i);

	/* Ordered: each thread's own sequence in order, and completion
	 * times never go back. */
	struct seen s = {{0}, 0};
	struct pt_read_record r;
	uint64_t last_end = 0;
	while (pt_dump_next(d, &r)) {
		check_cb(&r, &s);
		uint64_t end = r.ev.start_ns + r.ev.duration_ns;
		cr_assert_geq(end, last_end);
		last_end = end;
	}
	for (int i = 0; i < THREADS; i++)
		cr_assert_eq(s.next[i], PER_THREAD, "thread %d", i);

	/* Unordered: the same records. */
	struct seen u = {{0}, 0};
	cr_assert_eq(pt_dump_foreach(d, check_cb, &u), 0);
	cr_assert_eq(u.records, (uint64_t)THREADS * PER_THREAD);
	const struct pt_dump_problems *p = pt_dump_problems(d);
	cr_assert_eq(p->bad_chunks + p->bad_records + p->unresolved_text, 0);
	pt_dump_close(d);
}

/* Wrap mode under contention: threads race for slots.  Whatever survives
 * is in each thread's order, and kept + wrapped + no_chunk == written. */
Test(dump_threads, wrap_race_keeps_order_and_accounts_every_event)
{
	struct pt_writer w;
	struct pt_writer_config cfg =
	    dumptest_config(dir, 4096 + 64 * 4096, 4096, PT_MODE_WRAP);
	struct worker wk[THREADS];

	cr_assert_eq(pt_writer_open(&w, &cfg), 0);
	for (uint32_t i = 0; i < THREADS; i++) {
		wk[i] = (struct worker){
		    .w = &w, .index = i, .events = WRAP_PER_THREAD};
		cr_assert_eq(
		    pthread_create(&wk[i].th, NULL, worker_run, &wk[i]), 0);
	}
	uint64_t failed = 0;
	for (uint32_t i = 0; i < THREADS; i++) {
		pthread_join(wk[i].th, NULL);
		failed += wk[i].failed;
	}
	pt_writer_close(&w);

	struct pt_dump *d = dumptest_open(w.path);
	const struct pt_dump_info *in = pt_dump_info(d);
	struct pt_read_record r;
	uint64_t next[THREADS] = {0}, kept = 0;
	while (pt_dump_next(d, &r)) {
		uint32_t t = r.ev.conn_id;
		cr_assert_lt(t, THREADS);
		cr_assert_geq(r.ev.rows, next[t], "thread %u went back", t);
		next[t] = r.ev.rows + 1;
		kept++;
	}
	cr_assert_gt(kept, 0);
	cr_assert_leq(kept, 64 * ((4096 - 64) / 64));
	cr_assert_eq(in->drops[PT_DROP_NO_CHUNK], failed);
	cr_assert_eq(kept + in->drops[PT_DROP_WRAPPED] + failed,
		     (uint64_t)THREADS * WRAP_PER_THREAD);
	pt_dump_close(d);
}
