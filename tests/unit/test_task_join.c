/*
 * test_task_join.c -- report/task_join.c: an asyncio operation joins the
 * request whose response its context wrote, inside that request's window,
 * and nothing else; and shim/task.c's send ring finds an op's send.
 */
#include <criterion/criterion.h>
#include <stdint.h>

#include "perftap/dump_format.h"
#include "task.h"
#include "task_join.h"

static struct pt_task_join j;

static void add(uint64_t key, uint64_t from, uint64_t to, uint64_t rid)
{
	cr_assert_eq(task_join_add(&j, key, from, to, rid), 0);
}

static void done(void)
{
	task_join_free(&j);
}

TestSuite(task_join, .fini = done);

Test(task_join, op_inside_its_requests_window_joins_it)
{
	add(0xA0, 100, 200, 7);
	add(0xB0, 100, 200, 8);
	task_join_seal(&j);
	uint8_t attr = PT_ATTR_NONE;
	cr_assert_eq(task_join_find(&j, 0xA0, 150, &attr), 7);
	cr_assert_eq(attr, PT_ATTR_TASK);
	attr = PT_ATTR_NONE;
	cr_assert_eq(task_join_find(&j, 0xB0, 100, &attr), 8);
	cr_assert_eq(task_join_find(&j, 0xB0, 200, &attr), 8);
}

Test(task_join, outside_the_window_or_another_key_joins_nothing)
{
	add(0xA0, 100, 200, 7);
	task_join_seal(&j);
	uint8_t attr = PT_ATTR_NONE;
	/* Before the head: the context may have been another task's. */
	cr_assert_eq(task_join_find(&j, 0xA0, 99, &attr), 0);
	cr_assert_eq(task_join_find(&j, 0xA0, 201, &attr), 0);
	cr_assert_eq(task_join_find(&j, 0xC0, 150, &attr), 0);
	cr_assert_eq(task_join_find(&j, 0, 150, &attr), 0);
	cr_assert_eq(attr, PT_ATTR_NONE);
}

Test(task_join, a_reused_address_joins_each_window_to_its_own_request)
{
	/* The same context address, freed and reused by a later task. */
	for (uint64_t i = 0; i < 100; i++)
		add(0xA0, 1000 * i, 1000 * i + 500, i + 1);
	add(0xA0 + 8, 0, 1000000, 999); /* a long request, another key */
	task_join_seal(&j);
	for (uint64_t i = 0; i < 100; i++) {
		uint8_t attr = PT_ATTR_NONE;
		cr_assert_eq(task_join_find(&j, 0xA0, 1000 * i + 250, &attr),
			     i + 1);
		cr_assert_eq(task_join_find(&j, 0xA0, 1000 * i + 750, &attr),
			     0);
	}
}

Test(task_join, overlapping_windows_of_one_key_are_ambiguous)
{
	/* Two requests answered from one shared context: no one request. */
	add(0xA0, 100, 10000, 1);
	add(0xA0, 200, 300, 2);
	add(0xA0, 5000, 6000, 3);
	task_join_seal(&j);
	uint8_t attr = PT_ATTR_NONE;
	cr_assert_eq(task_join_find(&j, 0xA0, 250, &attr), 0);
	cr_assert_eq(attr, PT_ATTR_AMBIGUOUS);
	/* The long window, found walking back past the short ones. */
	attr = PT_ATTR_NONE;
	cr_assert_eq(task_join_find(&j, 0xA0, 7000, &attr), 1);
	attr = PT_ATTR_NONE;
	cr_assert_eq(task_join_find(&j, 0xA0, 5500, &attr), 0);
	cr_assert_eq(attr, PT_ATTR_AMBIGUOUS);
}

Test(task_join, a_handoff_keeps_its_word_or_becomes_none)
{
	add(0xA0, 100, 200, 7);
	task_join_seal(&j);
	uint8_t attr = PT_ATTR_HANDOFF;
	cr_assert_eq(task_join_find(&j, 0xA0, 150, &attr), 7);
	cr_assert_eq(attr, PT_ATTR_HANDOFF);
	attr = PT_ATTR_HANDOFF;
	cr_assert_eq(task_join_find(&j, 0xA0, 300, &attr), 0);
	cr_assert_eq(attr, PT_ATTR_NONE); /* never counted as attributed */
}

Test(task_join, http_window_opens_after_the_head_rounded_up)
{
	/* First byte at 1000 ns, head 2 us later, last byte at 9000 ns. */
	cr_assert_eq(task_join_add_http(&j, 0xA0, 1000, 8000, 2, 5), 0);
	cr_assert_eq(task_join_add_http(&j, 0xB0, 1000, 8000, UINT32_MAX, 6),
		     0);
	task_join_seal(&j);
	uint8_t attr = PT_ATTR_NONE;
	cr_assert_eq(task_join_find(&j, 0xA0, 3999, &attr), 0);
	cr_assert_eq(task_join_find(&j, 0xA0, 4000, &attr), 5);
	cr_assert_eq(task_join_find(&j, 0xA0, 9000, &attr), 5);
	/* Head time unknown: no window, nothing joins. */
	cr_assert_eq(task_join_find(&j, 0xB0, 5000, &attr), 0);
}

Test(task_ring, an_op_finds_the_send_that_started_it)
{
	struct pt_task_sends s = {0};
	cr_assert_eq(task_note_send(&s, 10, 0xA0), 0);
	/* One feed, two iovecs: the same send, its key updated. */
	cr_assert_eq(task_note_send(&s, 10, 0xA1), -1);
	cr_assert_eq(task_note_send(&s, 20, 0xB0), 1);
	cr_assert_eq(s.at, 2);
	cr_assert_eq(task_key_at(&s, 10), 0xA1);
	cr_assert_eq(task_key_at(&s, 20), 0xB0);
	cr_assert_eq(task_send_slot(&s, 20), 1);
	cr_assert_eq(task_key_at(&s, 15), 0);
	cr_assert_eq(task_send_slot(&s, 15), -1);
	s.has_stack[0] = 1; /* as conn.c marks a send's kept stack */
	for (uint64_t t = 30; t < 30 + PT_TASK_SENDS; t++)
		task_note_send(&s, t, 0xC0);
	cr_assert_eq(task_key_at(&s, 10), 0); /* overwritten: keyless */
	cr_assert_eq(task_send_slot(&s, 10), -1);
	/* A slot's new send does not inherit the old send's stack. */
	cr_assert_eq(s.has_stack[task_send_slot(&s, 32)], 0);
	cr_assert_eq(task_key_at(&s, 0), 0);
}
