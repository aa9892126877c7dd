/*
 * fmt_html.h -- the sections of the HTML page (fmt_html.c) that live in
 * files of their own.  A section prints nothing when it has nothing to
 * show; a new one is one function here and one line in fmt_html.c's
 * section list.
 */
#ifndef PERFTAP_FMT_HTML_H
#define PERFTAP_FMT_HTML_H

#include <stdio.h>

#include "format.h"

/* Latency over time with requests per second, and the latency
 * distribution, per charted operation (fmt_html_charts.c). */
void html_section_charts(FILE *out, const struct pt_analysis *a,
			 const struct pt_out_opts *o);

#endif /* PERFTAP_FMT_HTML_H */
