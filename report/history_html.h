/*
 * history_html.h -- `perftap history trend --format html`: one
 * operation's p50/p95/p99 and rate over the last runs as a self-contained
 * page (inline SVG, no script), next to the same figures as a table.
 */
#ifndef PERFTAP_HISTORY_HTML_H
#define PERFTAP_HISTORY_HTML_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

struct pt_trend_point {
	int64_t run;
	char time[32]; /* ISO 8601, UTC */
	char label[64];
	double p50_ms, p95_ms, p99_ms, rate;
};

/* The page for key over pts[0..n) (oldest first).  0, or -1 on a write
 * error. */
int history_trend_html(FILE *out, const char *key,
		       const struct pt_trend_point *pts, size_t n);

#endif /* PERFTAP_HISTORY_HTML_H */
