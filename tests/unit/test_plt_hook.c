/*
 * test_plt_hook.c -- plt_hook_install on a real loaded module.
 *
 * The victim is libcjson.so.1, which this binary links: cJSON_Version()
 * formats its version with sprintf, i.e. through libcjson's own GOT slot
 * for __sprintf_chk.  Debian builds it with full RELRO (-z now), so the
 * slot sits in a read-only page: the install must open and close it.
 */
#include <cjson/cJSON.h>
#include <criterion/criterion.h>
#include <dlfcn.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "plt_hook.h"

#define VICTIM "/libcjson.so.1"

static int fake_calls;

static int fake_sprintf_chk(char *s, int flag, size_t slen, const char *fmt,
			    ...)
{
	(void)flag;
	(void)fmt;
	fake_calls++;
	return snprintf(s, slen, "hooked");
}

/* Is the page holding addr mapped without write permission? */
static int page_read_only(const void *addr)
{
	FILE *f = fopen("/proc/self/maps", "r");
	char line[512];
	int ro = -1;
	cr_assert_not_null(f);
	while (fgets(line, sizeof(line), f)) {
		unsigned long lo, hi;
		char perms[5];
		if (sscanf(line, "%lx-%lx %4s", &lo, &hi, perms) == 3 &&
		    (uintptr_t)addr >= lo && (uintptr_t)addr < hi) {
			ro = perms[1] != 'w';
			break;
		}
	}
	fclose(f);
	return ro;
}

Test(plt_hook, replaces_one_modules_import_and_restores_it)
{
	char before[32];
	snprintf(before, sizeof(before), "%s", cJSON_Version());
	cr_assert_str_neq(before, "hooked");

	void **slot = NULL;
	cr_assert_eq(plt_hook_install(VICTIM, "__sprintf_chk",
				      (void *)fake_sprintf_chk, &slot),
		     0);
	cr_assert_not_null(slot);
	cr_assert_str_eq(cJSON_Version(), "hooked");
	cr_assert_eq(fake_calls, 1);
	/* Only the victim's slot changed: this binary's own sprintf is
	 * the real one. */
	char mine[16];
	sprintf(mine, "%d", 42);
	cr_assert_str_eq(mine, "42");
	cr_assert_eq(fake_calls, 1);
	/* Full RELRO: the page is read-only again after the store. */
	cr_assert_eq(page_read_only(slot), 1);

	void *real = dlsym(RTLD_DEFAULT, "__sprintf_chk");
	cr_assert_not_null(real);
	cr_assert_eq(plt_hook_install(VICTIM, "__sprintf_chk", real, NULL), 0);
	cr_assert_str_eq(cJSON_Version(), before);
	cr_assert_eq(fake_calls, 1);
}

Test(plt_hook, says_why_when_it_cannot)
{
	cr_assert_eq(plt_hook_install("/no-such-module.so.9", "strlen",
				      (void *)fake_sprintf_chk, NULL),
		     -PLT_HOOK_NO_MODULE);
	/* Loaded, but never imports it. */
	cr_assert_eq(plt_hook_install(VICTIM, "PyContext_CopyCurrent",
				      (void *)fake_sprintf_chk, NULL),
		     -PLT_HOOK_NO_IMPORT);
	cr_assert_str_neq(cJSON_Version(), "hooked");
	cr_assert_eq(fake_calls, 0);
}
