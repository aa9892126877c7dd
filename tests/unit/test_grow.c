/*
 * test_grow.c -- the report's array growth (report/grow.h): capacity
 * doubles from PT_GROW_FIRST, contents survive, an overflowing request
 * fails with the array untouched.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>

#include <criterion/criterion.h>

#include "grow.h"

Test(grow, first_growth_takes_the_first_capacity)
{
	uint32_t *v = NULL;
	size_t cap = 0;

	cr_assert_eq(PT_GROW(v, cap, 1), 0);
	cr_assert_not_null(v);
	cr_assert_eq(cap, PT_GROW_FIRST);
	free(v);
}

Test(grow, enough_room_changes_nothing)
{
	uint32_t *v = NULL;
	size_t cap = 0;

	cr_assert_eq(PT_GROW(v, cap, 10), 0);
	uint32_t *before = v;
	cr_assert_eq(PT_GROW(v, cap, PT_GROW_FIRST), 0);
	cr_assert_eq(v, before);
	cr_assert_eq(cap, PT_GROW_FIRST);
	free(v);
}

Test(grow, capacity_doubles_until_it_holds_the_need_and_keeps_contents)
{
	uint64_t *v = NULL;
	size_t cap = 0, n = 0;

	for (; n < 5000; n++) {
		cr_assert_eq(PT_GROW(v, cap, n + 1), 0);
		v[n] = n * 7;
	}
	cr_assert_eq(cap, 8192, "16 doubled nine times");
	for (size_t i = 0; i < n; i++)
		cr_assert_eq(v[i], i * 7);
	/* One jump far past the capacity: the next power-of-two multiple. */
	cr_assert_eq(PT_GROW(v, cap, 40000), 0);
	cr_assert_eq(cap, 65536);
	cr_assert_eq(v[4999], 4999 * 7);
	free(v);
}

Test(grow, overflowing_size_fails_and_leaves_the_array)
{
	uint64_t *v = NULL;
	size_t cap = 0;

	cr_assert_eq(PT_GROW(v, cap, 4), 0);
	uint64_t *before = v;
	v[3] = 42;
	errno = 0;
	cr_assert_eq(PT_GROW(v, cap, SIZE_MAX / sizeof(*v) + 1), -1);
	cr_assert_eq(errno, ENOMEM);
	cr_assert_eq(v, before);
	cr_assert_eq(cap, PT_GROW_FIRST);
	cr_assert_eq(v[3], 42);
	free(v);
}
