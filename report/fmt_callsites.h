/*
 * fmt_callsites.h -- the "Call sites" section of the report (callsites.h):
 * per operation, the program's code that issued it, with count and share
 * of the time of its events that carry a stack.
 */
#ifndef PERFTAP_FMT_CALLSITES_H
#define PERFTAP_FMT_CALLSITES_H

#include <stdio.h>

#include <cJSON.h>

#include "analysis.h"

/* At most this many call sites per operation in text and Markdown. */
#define PT_CALLSITES_SHOWN 5

void fmt_callsites_text(const struct pt_analysis *a, size_t top, FILE *out);
void fmt_callsites_markdown(const struct pt_analysis *a, size_t top, FILE *out);
/* A <h2> section and one table (XML-escaped). */
void fmt_callsites_html(const struct pt_analysis *a, size_t top, FILE *out);
/* [{"kind","operation","stacks","sites":[{...}]}] */
cJSON *fmt_callsites_json(const struct pt_analysis *a);

#endif /* PERFTAP_FMT_CALLSITES_H */
