/*
 * fmt_requests.h -- the per-request sections of every format
 * (fmt_requests.c).
 */
#ifndef PERFTAP_FMT_REQUESTS_H
#define PERFTAP_FMT_REQUESTS_H

#include <stdio.h>

#include <cjson/cJSON.h>

#include "format.h"

void fmt_requests_text(const struct pt_analysis *a, size_t top, FILE *out);
void fmt_requests_markdown(const struct pt_analysis *a, FILE *out);
void fmt_requests_html(const struct pt_analysis *a, FILE *out);
cJSON *fmt_requests_json(const struct pt_analysis *a);

#endif /* PERFTAP_FMT_REQUESTS_H */
