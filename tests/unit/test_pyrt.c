/*
 * test_pyrt.c -- pyrt's fault-safe read and the 3.11 location table
 * decoder, without a Python interpreter (the probe test covers a live one).
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdint.h>
#include <sys/mman.h>
#include <unistd.h>

#include "pyrt.h"

Test(pyrt, not_cpython_is_none)
{
	pyrt_init();
	cr_expect_eq(pyrt_state(), PYRT_NONE);
	cr_expect_eq(pyrt_available(), 0);
	cr_expect_null(pyrt_offsets());
	cr_expect_eq(pyrt_thread_state(), 0);
}

Test(pyrt, read_copies_readable_memory)
{
	pyrt_init();
	uint64_t src[4] = {1, 2, 3, 0xdeadbeef}, dst[4] = {0};
	cr_assert_eq(pyrt_read(dst, (uintptr_t)src, sizeof(src)), 0);
	cr_expect_eq(dst[3], 0xdeadbeef);
}

Test(pyrt, unmapped_page_is_efault_counted_errno_kept)
{
	pyrt_init();
	long page = sysconf(_SC_PAGESIZE);
	uint8_t *p = mmap(NULL, (size_t)page * 2, PROT_READ | PROT_WRITE,
			  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	cr_assert_neq(p, MAP_FAILED);
	cr_assert_eq(mprotect(p + page, (size_t)page, PROT_NONE), 0);
	uint8_t dst[64];
	uint64_t before = pyrt_faults();
	errno = 1234;
	/* Straddles into the inaccessible page: partial copy is a fault. */
	cr_expect_eq(pyrt_read(dst, (uintptr_t)(p + page - 16), 32), -EFAULT);
	cr_expect_eq(pyrt_read(dst, 0, 8), -EFAULT);
	cr_expect_eq(pyrt_read(dst, UINTPTR_MAX - 4, 8), -EFAULT);
	cr_expect_eq(errno, 1234);
	cr_expect_eq(pyrt_faults(), before + 3);
	cr_expect_eq(pyrt_read(dst, (uintptr_t)(p + page - 16), 16), 0);
	munmap(p, (size_t)page * 2);
}

static int hexval(char c)
{
	return c <= '9' ? c - '0' : c - 'a' + 10;
}

/* co_linetable of a 3.11 function and its co_lines(), from CPython. */
Test(pyrt, linetable_matches_co_lines)
{
	const char *hex =
	    "8000d80809884189058041d80708f000010522d80c21d00c219d05986199089c08"
	    "d00c21d10c21d40c218801dd0b0e887189368c36d80809f103010c0af00001050"
	    "a";
	static const int want[][3] = {
	    {0, 2, 1},	 {2, 4, 2},   {4, 6, 2},    {6, 10, 2},	  {10, 12, 2},
	    {12, 14, 3}, {14, 16, 3}, {16, 18, 4},  {18, 20, 4},  {20, 32, 4},
	    {32, 34, 4}, {34, 38, 4}, {38, 48, 4},  {48, 50, 4},  {50, 54, 4},
	    {54, 64, 4}, {64, 66, 4}, {66, 78, 5},  {78, 80, 5},  {80, 84, 5},
	    {84, 94, 5}, {94, 96, 6}, {96, 100, 5}, {100, 102, 5}};
	uint8_t t[128];
	size_t n = strlen(hex) / 2;
	for (size_t i = 0; i < n; i++)
		t[i] =
		    (uint8_t)(hexval(hex[2 * i]) << 4 | hexval(hex[2 * i + 1]));
	for (size_t k = 0; k < sizeof(want) / sizeof(want[0]); k++)
		for (int a = want[k][0]; a < want[k][1]; a += 2)
			cr_expect_eq(pyrt_linetable_line(t, n, 1, a),
				     want[k][2], "addr %d", a);
	cr_expect_eq(pyrt_linetable_line(t, n, 1, 102), -1);
	cr_expect_eq(pyrt_linetable_line(t, 3, 1, 90), -1, "cut table");
	cr_expect_eq(pyrt_linetable_line(t, n, 7, -2), 7, "before first");
}
