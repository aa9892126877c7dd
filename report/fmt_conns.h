/*
 * fmt_conns.h -- the connections section (conns.h) in each format.
 * Each prints nothing when no client connection was recorded.
 */
#ifndef PERFTAP_FMT_CONNS_H
#define PERFTAP_FMT_CONNS_H

#include <stdio.h>

#include "format.h"

struct cJSON;

void fmt_conns_text(const struct pt_analysis *a, FILE *out);
/* The "connections" array (never NULL unless out of memory). */
struct cJSON *fmt_conns_json(const struct pt_analysis *a);
void fmt_conns_markdown(const struct pt_analysis *a, FILE *out);
void fmt_conns_html(FILE *out, const struct pt_analysis *a,
		    const struct pt_out_opts *o);

#endif /* PERFTAP_FMT_CONNS_H */
