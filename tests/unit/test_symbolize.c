/*
 * test_symbolize.c -- native addresses to function names through libdwfl,
 * and the address cache in front of it: a cached answer is the answer
 * libdwfl gave, for addresses asked once and many times, past the cache's
 * growth, and for addresses no module holds.
 */
#include <criterion/criterion.h>
#include <link.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "dump_reader.h"
#include "symbolize.h"

/* The test binary itself as one recorded module, the way the shim records
 * it: path, load address and its executable range. */
static char self_path[4096];
static struct pt_read_module self_mod;

static int find_self(struct dl_phdr_info *info, size_t size, void *arg)
{
	(void)size;
	(void)arg;
	if (info->dlpi_name[0])
		return 0; /* the main program has no name here */
	uint64_t lo = UINT64_MAX, hi = 0;
	for (int i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
		if (ph->p_type != PT_LOAD || !(ph->p_flags & PF_X))
			continue;
		uint64_t a = info->dlpi_addr + ph->p_vaddr;
		if (a < lo)
			lo = a;
		if (a + ph->p_memsz > hi)
			hi = a + ph->p_memsz;
	}
	self_mod.base = info->dlpi_addr;
	self_mod.lo = lo;
	self_mod.hi = hi;
	return 1;
}

static struct pt_sym *open_self(void)
{
	ssize_t n = readlink("/proc/self/exe", self_path, sizeof(self_path) - 1);
	cr_assert(n > 0);
	self_path[n] = 0;
	self_mod.path = self_path;
	cr_assert(dl_iterate_phdr(find_self, NULL) == 1);
	struct pt_sym *s = pt_sym_open(&self_mod, 1);
	cr_assert_not_null(s);
	return s;
}

__attribute__((noinline)) int symbolize_target_one(int x)
{
	return x * 3 + 1;
}

__attribute__((noinline)) int symbolize_target_two(int x)
{
	return x * 5 + 2;
}

/* A return address inside f: lookups look one byte back. */
static uint64_t inside(int (*f)(int))
{
	return (uint64_t)(uintptr_t)f + 2;
}

Test(symbolize, names_functions_and_repeats_the_same_answer)
{
	struct pt_sym *s = open_self();
	struct pt_sym_frame a, b;
	for (int round = 0; round < 3; round++) {
		cr_assert(pt_sym_lookup(s, inside(symbolize_target_one), &a));
		cr_assert_str_eq(a.func, "symbolize_target_one");
		cr_assert_str_eq(a.module, self_path);
		cr_assert(pt_sym_lookup(s, inside(symbolize_target_two), &b));
		cr_assert_str_eq(b.func, "symbolize_target_two");
		cr_assert_eq(a.offset, inside(symbolize_target_one) - self_mod.base);
	}
	pt_sym_close(s);
}

Test(symbolize, cache_growth_keeps_every_answer)
{
	struct pt_sym *s = open_self();
	/* 3,000 distinct addresses across the program's code: more than the
	 * cache's first size, so it grows (rehashes) on the way. */
	enum { N = 3000 };
	static struct pt_sym_frame first[N];
	static char names[N][128];
	uint64_t span = self_mod.hi - self_mod.lo;
	for (int i = 0; i < N; i++) {
		uint64_t a = self_mod.lo + 1 + (span - 2) * (uint64_t)i / N;
		pt_sym_lookup(s, a, &first[i]);
		snprintf(names[i], sizeof(names[i]), "%s", first[i].func);
	}
	for (int i = N - 1; i >= 0; i--) {
		struct pt_sym_frame f;
		uint64_t a = self_mod.lo + 1 + (span - 2) * (uint64_t)i / N;
		pt_sym_lookup(s, a, &f);
		cr_assert_str_eq(f.func, names[i], "address %d", i);
		cr_assert_eq(f.offset, first[i].offset);
		cr_assert_eq(f.line, first[i].line);
	}
	pt_sym_close(s);
}

Test(symbolize, address_outside_every_module_is_unknown)
{
	struct pt_sym *s = open_self();
	struct pt_sym_frame f;
	for (int round = 0; round < 2; round++) {
		cr_assert_eq(pt_sym_lookup(s, 16, &f), 0);
		cr_assert_str_eq(f.module, "");
		cr_assert_str_eq(f.func, "");
	}
	cr_assert_eq(pt_sym_lookup(s, 0, &f), 0);
	pt_sym_close(s);
}
