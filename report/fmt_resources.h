/*
 * fmt_resources.h -- the per-process resources section (resources.h) in
 * the text, JSON, Markdown and HTML reports.
 */
#ifndef PERFTAP_FMT_RESOURCES_H
#define PERFTAP_FMT_RESOURCES_H

#include <cjson/cJSON.h>
#include <stdint.h>
#include <stdio.h>

#include "analysis.h"

/* "1.23 GiB": binary units, at most 10 characters. */
void fmt_bytes(uint64_t v, char *buf, size_t len);

void fmt_resources_text(const struct pt_analysis *a, FILE *out);
cJSON *fmt_resources_json(const struct pt_analysis *a);
void fmt_resources_markdown(const struct pt_analysis *a, FILE *out);
/* The table and the timeline (CPU and RSS against requests per second
 * and p95 latency, one time axis), as XHTML. */
void fmt_resources_html(const struct pt_analysis *a, FILE *out);

#endif /* PERFTAP_FMT_RESOURCES_H */
