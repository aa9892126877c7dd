/*
 * format.h -- output formats behind one table of functions: a new format
 * is one new file (fmt_NAME.c defining fmt_NAME_emit) and one line in
 * PT_FORMATS below, which makes its prototype, its table entry, its name
 * in the usage and error messages, and the fuzzer's list.
 *
 * A format prints an analysis (analysis.h) as it stands: the operation
 * tables when show_operations is set, thresholds when evaluated,
 * comparisons when a baseline was compared.
 */
#ifndef PERFTAP_FORMAT_H
#define PERFTAP_FORMAT_H

#include <stddef.h>
#include <stdio.h>

#include "analysis.h"

struct pt_out_opts {
	size_t top;  /* rows per table; 0 = all */
	int color;   /* ANSI colour (text only) */
	int verbose; /* text: histograms and slowest samples for every row */
};

/* X(name, note): every format, in the order --help lists them; note is
 * what the usage says after the name ("" for nothing). */
#define PT_FORMATS(X)                                                          \
	X(text, "(default)")                                                   \
	X(json, "")                                                            \
	X(markdown, "")                                                        \
	X(junit, "")                                                           \
	X(csv, "")                                                             \
	X(html, "(one page, inline SVG charts)")                               \
	X(otlp, "(OTLP/JSON lines, one per operation)")                        \
	X(prometheus, "(text format)")

struct pt_format {
	const char *name;
	const char *note;
	/* Returns 0, or -1 on a write error or out of memory. */
	int (*emit)(const struct pt_analysis *a, const struct pt_out_opts *o,
		    FILE *out);
};

/* The format called name ("md" is markdown), or NULL. */
const struct pt_format *format_find(const char *name);
/* "text, json, ..., prometheus", for error messages. */
const char *format_names(void);
/* The table itself: format_at(i) for i < format_count(), in PT_FORMATS
 * order. */
size_t format_count(void);
const struct pt_format *format_at(size_t i);
/* The usage's lines for -f: every name with its note, wrapped. */
void format_usage(FILE *out);

#define PT_FORMAT_DECL(name, note)                                             \
	int fmt_##name##_emit(const struct pt_analysis *a,                     \
			      const struct pt_out_opts *o, FILE *out);
PT_FORMATS(PT_FORMAT_DECL)
#undef PT_FORMAT_DECL

/* Shared helpers (format.c). */

/* A duration in ns with a unit picked for its magnitude, at most 6
 * characters: "850ns", "12.3us", "3.42ms", "123ms", "1.23s", "123s". */
void fmt_duration(double ns, char *buf, size_t len);

/* 1234567 -> "1.23M"; at most 6 characters. */
void fmt_count(double v, char *buf, size_t len);

/* The measured value and limit of a threshold, with its unit. */
struct pt_threshold_result;
void fmt_threshold_value(const struct pt_threshold_result *r, double v,
			 char *buf, size_t len);

/* "sql:join" for a class row, the key otherwise. */
const char *fmt_row_label(const struct pt_row *r);

/* Rows of one kind, at most top of them: iterate with this. */
size_t fmt_kind_rows(const struct pt_analysis *a, int kind, size_t top,
		     const struct pt_row **first);

/* The base, now and change cells of a baseline comparison, "-" where the
 * verdict has none (base of a new key, now of a gone one, a change that
 * is not finite). */
struct pt_comparison;
struct fmt_cmp_cells {
	char base[16], now[16], change[16];
};
void fmt_comparison_cells(const struct pt_comparison *k,
			  struct fmt_cmp_cells *c);

/* s as XML (and HTML) text or attribute value: & < > " always escaped.
 * Control characters other than tab are not allowed in XML 1.0: dropped,
 * or replaced by '?' with FMT_XML_CTL_MARK. */
#define FMT_XML_APOS	 1u /* also ' as &apos; */
#define FMT_XML_CTL_MARK 2u
void fmt_xml_escape(FILE *out, const char *s, unsigned flags);

#endif /* PERFTAP_FORMAT_H */
