/*
 * test_dump_stacks.c -- stacks in the dump (I7): the writer interns a
 * stack once per chunk with its strings and modules, so that every chunk
 * still resolves its stacks after a wrap; the reader hands them back
 * exactly, and a stack that does not fit leaves the event without one.
 */
#include <stdio.h>
#include <string.h>

#include <criterion/criterion.h>

#include "dump_test_util.h"

static const char *dir;

static void setup(void)
{
	dir = dumptest_mkdtemp();
}

static void teardown(void)
{
	dumptest_rmdir(dir);
}

TestSuite(dump_stacks, .init = setup, .fini = teardown);

static int resolves;

/* Frame i of stack `arg` (0 or 1): "f<arg>_<i>" in "/app/m<i%2>.py". */
static int resolve(void *arg, uint32_t i, struct pt_frame_text *out)
{
	static char fn[32], file[32];
	resolves++;
	snprintf(fn, sizeof(fn), "f%d_%u", (int)(intptr_t)arg, i);
	snprintf(file, sizeof(file), "/app/m%u.py", i % 2);
	out->func = fn;
	out->func_len = (uint32_t)strlen(fn);
	out->file = file;
	out->file_len = (uint32_t)strlen(file);
	out->line = 100 * (uint32_t)(intptr_t)arg + i;
	return 0;
}

static const struct pt_module_info mods[] = {
    {"/usr/bin/app", 12, 2, {0xab, 0xcd}, 0x400000, 0x401000, 0x402000}};
static const uint64_t native[2][3] = {{0x401100, 0x401200, 0x401300},
				      {0x401400, 0x401500, 0x401600}};

static struct pt_stack stack_of(int which)
{
	struct pt_stack st = {.hash = 7 + (uint64_t)which,
			      .native = native[which],
			      .n_native = 3,
			      .n_python = 4,
			      .resolve = resolve,
			      .arg = (void *)(intptr_t)which,
			      .modules = mods,
			      .n_modules = 1,
			      .modules_gen = 1};
	return st;
}

/* Every event's stack resolves to what was captured for it. */
static uint64_t check_all(struct pt_dump *d)
{
	struct pt_read_record r;
	struct pt_read_stack st;
	uint64_t n = 0;
	pt_dump_rewind(d);
	while (pt_dump_next(d, &r)) {
		if (r.type != PT_REC_EVENT)
			continue;
		int which = (int)(r.ev.rows % 2);
		cr_assert(pt_dump_stack(d, r.chunk_seq, r.ev.stack_id, &st));
		cr_assert_eq(st.n_native, 3);
		cr_assert_eq(st.n_python, 4);
		for (uint32_t i = 0; i < 3; i++)
			cr_assert_eq(st.native[i], native[which][i]);
		for (uint32_t i = 0; i < 4; i++) {
			char fn[32];
			snprintf(fn, sizeof(fn), "f%d_%u", which, i);
			cr_assert_str_eq(st.py[i].func, fn);
			cr_assert_str_eq(st.py[i].file,
					 i % 2 ? "/app/m1.py" : "/app/m0.py");
			cr_assert_eq(st.py[i].line, 100u * (uint32_t)which + i);
		}
		n++;
	}
	return n;
}

Test(dump_stacks, each_chunk_resolves_its_stacks_after_a_wrap)
{
	struct pt_writer w;
	struct pt_writer_cursor c;
	struct pt_writer_config cfg =
	    dumptest_config(dir, 8192 + 3 * 4096, 4096, PT_MODE_WRAP);
	cr_assert_eq(pt_writer_open(&w, &cfg), 0);
	pt_writer_cursor_init(&c, 1);
	resolves = 0;
	enum { N = 400 };
	for (uint64_t i = 0; i < N; i++) {
		struct pt_event ev = dumptest_event(0, i, "GET k:*");
		ev.rows = i;
		struct pt_stack st = stack_of((int)(i % 2));
		cr_assert_eq(pt_writer_emit_event_stack(&w, &c, &ev, &st), 0);
	}
	pt_writer_close(&w);
	struct pt_dump *d = dumptest_open(w.path);
	const struct pt_dump_info *in = pt_dump_info(d);
	cr_assert_gt(in->chunks_used, 3, "the dump wrapped");
	/* Resolved once per stack per chunk, not per event. */
	cr_assert_eq(resolves, (int)in->chunks_used * 2 * 4);
	uint64_t n = check_all(d);
	cr_assert_gt(n, 0);
	cr_assert_eq(pt_dump_problems(d)->bad_stacks, 0);
	cr_assert_eq(pt_dump_problems(d)->unresolved_stacks, 0);
	const struct pt_read_module *m;
	cr_assert_eq(pt_dump_modules(d, &m), 1);
	cr_assert_str_eq(m[0].path, "/usr/bin/app");
	cr_assert_eq(m[0].base, 0x400000);
	cr_assert_eq(m[0].build_id_len, 2);
	cr_assert_eq(m[0].build_id[1], 0xcd);
	pt_dump_close(d);
}

Test(dump_stacks, hot_call_site_costs_one_event_record)
{
	struct pt_writer w;
	struct pt_writer_cursor c;
	struct pt_writer_config cfg =
	    dumptest_config(dir, 1 << 20, 1 << 16, PT_MODE_STOP);
	cr_assert_eq(pt_writer_open(&w, &cfg), 0);
	pt_writer_cursor_init(&c, 1);
	struct pt_event ev = dumptest_event(0, 0, "GET k:*");
	struct pt_stack st = stack_of(0);
	cr_assert_eq(pt_writer_emit_event_stack(&w, &c, &ev, &st), 0);
	uint32_t after_first = c.offset;
	for (int i = 0; i < 10; i++)
		cr_assert_eq(pt_writer_emit_event_stack(&w, &c, &ev, &st), 0);
	cr_assert_eq(c.offset - after_first,
		     10 * sizeof(struct pt_event_record));
	pt_writer_close(&w);
}

Test(dump_stacks, stack_too_big_for_a_chunk_leaves_the_event_without)
{
	struct pt_writer w;
	struct pt_writer_cursor c;
	struct pt_writer_config cfg =
	    dumptest_config(dir, 1 << 20, 4096, PT_MODE_STOP);
	cr_assert_eq(pt_writer_open(&w, &cfg), 0);
	pt_writer_cursor_init(&c, 1);
	struct pt_event ev = dumptest_event(0, 0, "GET k:*");
	struct pt_stack st = stack_of(0);
	st.n_python = PT_STACK_MAX_PYTHON; /* worst case > 4 KiB */
	st.native = NULL;
	st.n_native = 0;
	cr_assert_eq(pt_writer_emit_event_stack(&w, &c, &ev, &st), 0);
	pt_writer_close(&w);
	struct pt_dump *d = dumptest_open(w.path);
	struct pt_read_record r;
	cr_assert(pt_dump_next(d, &r));
	cr_assert_eq(r.type, PT_REC_EVENT);
	cr_assert_eq(r.ev.stack_id, 0);
	pt_dump_close(d);
}
