/*
 * format.h -- output formats behind one table of functions: a new format
 * is one new file and one line in format.c.
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

struct pt_format {
	const char *name;
	/* Returns 0, or -1 on a write error or out of memory. */
	int (*emit)(const struct pt_analysis *a, const struct pt_out_opts *o,
		    FILE *out);
};

const struct pt_format *format_find(const char *name);
/* "text|json|...|prometheus", for usage lines. */
const char *format_names(void);

int fmt_text_emit(const struct pt_analysis *a, const struct pt_out_opts *o,
		  FILE *out);
int fmt_json_emit(const struct pt_analysis *a, const struct pt_out_opts *o,
		  FILE *out);
int fmt_markdown_emit(const struct pt_analysis *a, const struct pt_out_opts *o,
		      FILE *out);
int fmt_junit_emit(const struct pt_analysis *a, const struct pt_out_opts *o,
		   FILE *out);
int fmt_csv_emit(const struct pt_analysis *a, const struct pt_out_opts *o,
		 FILE *out);
int fmt_html_emit(const struct pt_analysis *a, const struct pt_out_opts *o,
		  FILE *out);
int fmt_otlp_emit(const struct pt_analysis *a, const struct pt_out_opts *o,
		  FILE *out);
int fmt_prometheus_emit(const struct pt_analysis *a,
			const struct pt_out_opts *o, FILE *out);

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
