/*
 * test_dump_chunks.c -- the chunk-order pass of the reader
 * (pt_dump_chunk / pt_chunk_next_event): every event once, chunks in
 * sequence order, each thread's events in the order it wrote them, texts
 * resolved through the chunk's table, and a released chunk reads the same
 * again (its pages come back from the page cache).
 */
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "dump_test_util.h"

#define THREADS	   5
#define PER_THREAD 3000u

static const char *const texts[] = {"GET k:*", "SET k:*",
				    "select * from t where id = ?"};

/* Threads take turns at random so that their chunks interleave. */
static void write_dump(const char *dir)
{
	struct pt_writer w;
	struct pt_writer_cursor c[THREADS];
	struct pt_writer_config cfg =
	    dumptest_config(dir, 16ull << 20, 4096, PT_MODE_STOP);
	uint32_t next[THREADS] = {0};
	uint64_t rng = 5;
	cr_assert_eq(pt_writer_open(&w, &cfg), 0);
	for (int t = 0; t < THREADS; t++)
		pt_writer_cursor_init(&c[t], 500u + (uint32_t)t);
	for (uint32_t left = THREADS * PER_THREAD; left;) {
		rng = rng * 6364136223846793005ull + 1;
		int t = (int)((rng >> 33) % THREADS);
		if (next[t] == PER_THREAD)
			continue;
		uint32_t i = next[t]++;
		struct pt_event ev =
		    dumptest_event((uint32_t)t, i, i % 7 ? texts[i % 3] : NULL);
		cr_assert_eq(pt_writer_emit_event(&w, &c[t], &ev), 0);
		left--;
	}
	for (int t = 0; t < THREADS; t++)
		pt_writer_cursor_release(&w, &c[t]);
	pt_writer_close(&w);
}

struct seen {
	uint32_t next[THREADS];
	uint64_t events, chunks;
	uint64_t text_sum; /* lengths of the texts read */
};

static void read_all(struct pt_dump *d, struct seen *s, int release)
{
	struct pt_chunk_view v;
	uint64_t last_seq = 0;
	memset(s, 0, sizeof(*s));
	for (uint32_t i = 0; pt_dump_chunk(d, i, &v) > 0; i++) {
		cr_assert(i == 0 || v.seq > last_seq, "chunks out of order");
		last_seq = v.seq;
		s->chunks++;
		const struct pt_event_record *r;
		while ((r = pt_chunk_next_event(&v)) != NULL) {
			uint32_t t = r->conn_id, seq = (uint32_t)r->rows;
			cr_assert_lt(t, THREADS);
			cr_assert_eq(seq, s->next[t], "thread %u: %u after %u",
				     t, seq, s->next[t]);
			s->next[t]++;
			s->events++;
			cr_assert_leq(r->text_id, v.strings);
			const char *want = seq % 7 ? texts[seq % 3] : "";
			cr_assert_str_eq(v.text[r->text_id], want);
			cr_assert_eq(v.text_len[r->text_id], strlen(want));
			s->text_sum += v.text_len[r->text_id];
		}
		if (release)
			pt_dump_chunk_release(d, i);
	}
}

Test(dump_chunks, every_event_once_in_each_threads_order)
{
	const char *dir = dumptest_mkdtemp();
	char path[4096];
	write_dump(dir);
	cr_assert_eq(dumptest_only_file(dir, path, sizeof(path)), 1);
	struct pt_dump *d = dumptest_open(path);
	struct seen a, b;
	read_all(d, &a, 1);
	cr_assert_eq(a.events, THREADS * PER_THREAD);
	for (int t = 0; t < THREADS; t++)
		cr_assert_eq(a.next[t], PER_THREAD);
	cr_assert_gt(a.chunks, 2 * THREADS); /* they did interleave */
	/* Released chunks read back the same. */
	read_all(d, &b, 0);
	cr_assert_eq(memcmp(&a, &b, sizeof(a)), 0);
	cr_assert_eq(b.events, dumptest_count_ordered(d));
	const struct pt_dump_info *info = pt_dump_info(d);
	cr_assert_eq(info->first_event_ns, 0); /* dumptest_event: start = seq */
	pt_dump_close(d);
	dumptest_rmdir(dir);
}

Test(dump_chunks, past_the_last_chunk_there_is_none)
{
	const char *dir = dumptest_mkdtemp();
	char path[4096];
	write_dump(dir);
	cr_assert_eq(dumptest_only_file(dir, path, sizeof(path)), 1);
	struct pt_dump *d = dumptest_open(path);
	struct pt_chunk_view v;
	uint32_t n = 0;
	while (pt_dump_chunk(d, n, &v) > 0)
		n++;
	cr_assert_gt(n, 0);
	cr_assert_eq(pt_dump_chunk(d, n + 1000, &v), 0);
	cr_assert_null(pt_chunk_next_event(&v));
	pt_dump_chunk_release(d, n + 1000); /* ignored, no crash */
	pt_dump_close(d);
	dumptest_rmdir(dir);
}
