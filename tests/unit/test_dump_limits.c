/*
 * test_dump_limits.c -- the size limit: stop mode keeps the oldest chunks,
 * wrap mode the newest; live chunks are never taken; disk failures drop.
 * Every drop counter and the surviving window are computed from the
 * layout: 4 KiB chunks hold (4096 - 64) / 96 = 42 text-less events
 * (a 64-byte chunk header, 96-byte version 2 event records).
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>

#include <criterion/criterion.h>

#include "dump_test_util.h"
#include "sys.h"

#define CHUNK	   4096u
#define SLOTS	   8u
#define EVENT_SIZE ((uint32_t)sizeof(struct pt_event_record))
#define PER_CHUNK                                                              \
	((CHUNK - (uint32_t)sizeof(struct pt_chunk_header)) / EVENT_SIZE)
#define MAX_SIZE (4096u + SLOTS * CHUNK)

static const char *dir;

static void setup(void)
{
	dir = dumptest_mkdtemp();
}

static void teardown(void)
{
	pt_sys = pt_sys_real;
	dumptest_rmdir(dir);
}

TestSuite(dump_limits, .init = setup, .fini = teardown);

static void open_small(struct pt_writer *w, enum pt_limit_mode mode)
{
	struct pt_writer_config cfg =
	    dumptest_config(dir, MAX_SIZE, CHUNK, mode);
	cr_assert_eq(pt_writer_open(w, &cfg), 0);
	cr_assert_eq(w->chunk_slots, SLOTS);
}

/* Emit events seq first..first+n-1 on c; returns how many succeeded. */
static uint64_t emit_range(struct pt_writer *w, struct pt_writer_cursor *c,
			   uint32_t thread, uint64_t first, uint64_t n)
{
	uint64_t ok = 0;
	for (uint64_t i = first; i < first + n; i++) {
		struct pt_event ev = dumptest_event(thread, i, NULL);
		ok += pt_writer_emit_event(w, c, &ev) == 0;
	}
	return ok;
}

/* The events of thread `thread` in the dump must be exactly seq
 * first..first+n-1, in order. */
static void expect_window(struct pt_dump *d, uint32_t thread, uint64_t first,
			  uint64_t n)
{
	struct pt_read_record r;
	uint64_t next = first;

	pt_dump_rewind(d);
	while (pt_dump_next(d, &r)) {
		cr_assert_eq(r.type, PT_REC_EVENT);
		if (r.ev.conn_id != thread)
			continue;
		cr_assert_eq(r.ev.start_ns, next,
			     "thread %u: got %llu want %llu", thread,
			     (unsigned long long)r.ev.start_ns,
			     (unsigned long long)next);
		next++;
	}
	cr_assert_eq(next, first + n);
}

Test(dump_limits, stop_mode_keeps_oldest_and_counts_the_rest_as_full)
{
	struct pt_writer w;
	struct pt_writer_cursor c;
	const uint64_t total = PER_CHUNK * SLOTS + 100;

	open_small(&w, PT_MODE_STOP);
	pt_writer_cursor_init(&c, 1);
	cr_assert_eq(emit_range(&w, &c, 0, 0, total), PER_CHUNK * SLOTS);
	pt_writer_close(&w);

	struct pt_dump *d = dumptest_open(w.path);
	cr_assert_eq(pt_dump_info(d)->drops[PT_DROP_FULL], 100);
	cr_assert_eq(pt_dump_info(d)->drops[PT_DROP_WRAPPED], 0);
	cr_assert_eq(pt_dump_info(d)->chunks_used, SLOTS);
	expect_window(d, 0, 0, PER_CHUNK * SLOTS);
	pt_dump_close(d);
}

Test(dump_limits, wrap_mode_keeps_newest_chunks_and_counts_overwritten)
{
	struct pt_writer w;
	struct pt_writer_cursor c;
	/* 20 full chunks and 10 events in the 21st: the last 8 chunks
	 * survive, 7 full ones and the partial one. */
	const uint64_t total = PER_CHUNK * 20 + 10;
	const uint64_t kept = PER_CHUNK * 7 + 10;

	open_small(&w, PT_MODE_WRAP);
	pt_writer_cursor_init(&c, 1);
	cr_assert_eq(emit_range(&w, &c, 0, 0, total), total);
	pt_writer_close(&w);

	struct pt_dump *d = dumptest_open(w.path);
	cr_assert_eq(pt_dump_info(d)->drops[PT_DROP_WRAPPED], total - kept);
	cr_assert_eq(pt_dump_info(d)->drops[PT_DROP_FULL], 0);
	cr_assert_eq(pt_dump_info(d)->chunks_used, 21);
	expect_window(d, 0, total - kept, kept);
	pt_dump_close(d);
}

/* A holds slot 0 open with one event while B writes 21 chunks: B skips
 * slot 0 every round (tickets 8 and 16), so B's chunks are tickets
 * 1-7, 9-15, 17-23 and only its last 7 survive next to A's event. */
Test(dump_limits, wrap_mode_never_takes_a_chunk_with_a_live_owner)
{
	struct pt_writer w;
	struct pt_writer_cursor a, b;
	const uint64_t total = PER_CHUNK * 20 + 10;
	const uint64_t kept = PER_CHUNK * 6 + 10;

	open_small(&w, PT_MODE_WRAP);
	pt_writer_cursor_init(&a, 1);
	pt_writer_cursor_init(&b, 2);
	cr_assert_eq(emit_range(&w, &a, 1, 0, 1), 1);
	cr_assert_eq(emit_range(&w, &b, 2, 0, total), total);
	pt_writer_close(&w);

	struct pt_dump *d = dumptest_open(w.path);
	cr_assert_eq(pt_dump_info(d)->drops[PT_DROP_WRAPPED], total - kept);
	cr_assert_eq(pt_dump_info(d)->drops[PT_DROP_NO_CHUNK], 0);
	cr_assert_eq(pt_dump_info(d)->chunks_used, 24);
	expect_window(d, 1, 0, 1);
	expect_window(d, 2, total - kept, kept);
	pt_dump_close(d);
}

Test(dump_limits, wrap_mode_drops_as_no_chunk_when_every_slot_is_live)
{
	struct pt_writer w;
	struct pt_writer_cursor c[SLOTS + 1];

	open_small(&w, PT_MODE_WRAP);
	for (uint32_t i = 0; i <= SLOTS; i++)
		pt_writer_cursor_init(&c[i], i + 1);
	for (uint32_t i = 0; i < SLOTS; i++)
		cr_assert_eq(emit_range(&w, &c[i], i, 0, 1), 1);
	struct pt_event ev = dumptest_event(SLOTS, 0, NULL);
	cr_assert_eq(pt_writer_emit_event(&w, &c[SLOTS], &ev), -EBUSY);
	for (uint32_t i = 0; i < SLOTS; i++)
		pt_writer_cursor_release(&w, &c[i]);
	/* Now every slot is closed: the next claim reuses one. */
	cr_assert_eq(pt_writer_emit_event(&w, &c[SLOTS], &ev), 0);
	pt_writer_close(&w);

	struct pt_dump *d = dumptest_open(w.path);
	cr_assert_eq(pt_dump_info(d)->drops[PT_DROP_NO_CHUNK], 1);
	cr_assert_eq(pt_dump_info(d)->drops[PT_DROP_WRAPPED], 1);
	cr_assert_eq(dumptest_count_ordered(d), SLOTS);
	pt_dump_close(d);
}

static int fail_fallocate(int fd, int mode, off_t off, off_t len)
{
	(void)fd, (void)mode, (void)off, (void)len;
	errno = EOPNOTSUPP;
	return -1;
}

static int posix_calls;

static int fail_posix_fallocate(int fd, off_t off, off_t len)
{
	(void)fd, (void)off, (void)len;
	posix_calls++;
	return ENOSPC;
}

static int counting_posix_fallocate(int fd, off_t off, off_t len)
{
	posix_calls++;
	return posix_fallocate(fd, off, len);
}

Test(dump_limits, disk_full_drops_as_disk_and_recovers_with_space)
{
	struct pt_writer w;
	struct pt_writer_cursor c;

	open_small(&w, PT_MODE_STOP);
	pt_writer_cursor_init(&c, 1);
	pt_sys.fallocate = fail_fallocate;
	pt_sys.posix_fallocate = fail_posix_fallocate;
	struct pt_event ev = dumptest_event(0, 0, NULL);
	errno = 1234;
	cr_assert_eq(pt_writer_emit_event(&w, &c, &ev), -ENOSPC);
	cr_assert_eq(errno, 1234, "the host's errno must survive");
	cr_assert_eq(posix_calls, 1);
	/* fallocate unsupported, posix_fallocate works: the fallback. */
	pt_sys.posix_fallocate = counting_posix_fallocate;
	cr_assert_eq(emit_range(&w, &c, 0, 1, 5), 5);
	cr_assert_eq(posix_calls, 2);
	pt_writer_close(&w);

	struct pt_dump *d = dumptest_open(w.path);
	cr_assert_eq(pt_dump_info(d)->drops[PT_DROP_DISK], 1);
	expect_window(d, 0, 1, 5);
	pt_dump_close(d);
}

Test(dump_limits, writer_refuses_sizes_that_cannot_hold_a_chunk)
{
	struct pt_writer w;
	struct pt_writer_config cfg =
	    dumptest_config(dir, 4096 + 4096, 5000, PT_MODE_STOP);
	cr_assert_eq(pt_writer_open(&w, &cfg), -EINVAL);
	cfg.chunk_size = 4096;
	cfg.max_size = 4096 + 4095;
	cr_assert_eq(pt_writer_open(&w, &cfg), -EINVAL);
	cfg.max_size = 4096 + 4096;
	cr_assert_eq(pt_writer_open(&w, &cfg), 0);
	cr_assert_eq(w.chunk_slots, 1);
	pt_writer_close(&w);
}
