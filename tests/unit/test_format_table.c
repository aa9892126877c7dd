/*
 * test_format_table.c -- the output formats' one table (format.h
 * PT_FORMATS): every entry is found by its name, named in the error
 * message's list and in the usage, in table order, and writes a report
 * of an empty analysis without failing.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "analysis.h"
#include "format.h"
#include "model.h"

Test(format_table, every_format_is_found_by_its_name)
{
	cr_assert_eq(format_count(), 8);
	for (size_t i = 0; i < format_count(); i++)
		cr_expect_eq(format_find(format_at(i)->name), format_at(i),
			     "%s", format_at(i)->name);
	cr_assert_eq(format_find("md"), format_find("markdown"));
	cr_assert_null(format_find("nope"));
	cr_assert_null(format_at(format_count()));
	cr_assert_str_eq(format_at(0)->name, "text", "text is the default");
}

Test(format_table, names_list_every_format_in_table_order)
{
	char want[256] = "";
	for (size_t i = 0; i < format_count(); i++) {
		if (i)
			strcat(want, ", ");
		strcat(want, format_at(i)->name);
	}
	cr_assert_str_eq(format_names(), want);
}

Test(format_table, usage_names_every_format_with_its_note)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *out = open_memstream(&buf, &len);
	format_usage(out);
	fclose(out);
	cr_assert(strncmp(buf, "  -f, --format FMT     text (default),", 38) ==
		      0,
		  "%s", buf);
	const char *at = buf;
	for (size_t i = 0; i < format_count(); i++) {
		const char *p = strstr(at, format_at(i)->name);
		cr_assert_not_null(p, "%s missing or out of order",
				   format_at(i)->name);
		at = p;
	}
	for (const char *line = buf; *line;) {
		size_t n = strcspn(line, "\n");
		cr_expect_leq(n, 78, "line too wide: %.*s", (int)n, line);
		line += n + (line[n] == '\n');
	}
	cr_assert_not_null(strstr(buf, "inline SVG charts"));
	free(buf);
}

Test(format_table, every_format_writes_an_empty_analysis)
{
	struct pt_model m;
	struct pt_analysis a;
	model_init(&m);
	cr_assert_eq(analysis_build(&a, &m, PT_SORT_TOTAL), 0);
	for (size_t i = 0; i < format_count(); i++) {
		char *buf = NULL;
		size_t len = 0;
		FILE *out = open_memstream(&buf, &len);
		struct pt_out_opts o = {0, 0, 0};
		cr_expect_eq(format_at(i)->emit(&a, &o, out), 0, "%s",
			     format_at(i)->name);
		fclose(out);
		free(buf);
	}
	analysis_free(&a);
	model_free(&m);
}
