/*
 * fmt_text_mysql.h -- the text report's MySQL server notes and index
 * suggestions (fmt_text_mysql.c).
 */
#ifndef PERFTAP_FMT_TEXT_MYSQL_H
#define PERFTAP_FMT_TEXT_MYSQL_H

#include <stdio.h>

#include "analysis.h"

void fmt_text_mysql_emit(const struct pt_analysis *a, FILE *out);

/* Whether fingerprint fp is a SELECT, and if so the first table after its
 * FROM into table (backticks dropped) and whether its select list takes
 * every column (`*` or `t.*`).  Returns 1, or 0 when fp is not a SELECT
 * with a FROM. */
int fmt_mysql_select_table(const char *fp, char *table, size_t len, int *star);

/* Bytes per row sent of a fingerprint's calls (0 without rows). */
double fmt_mysql_bytes_per_row(const struct pt_op *op);

/* Calls f for each table read both by `SELECT *` and by selective
 * fingerprints: first (head = 1) once per table, then each of its SELECT
 * fingerprints (star ones first).  Returns the tables found. */
typedef void (*fmt_star_fn)(void *arg, const char *table,
			    const struct pt_row *r, int star, int head);
size_t fmt_mysql_star_pairs(const struct pt_analysis *a, fmt_star_fn f,
			    void *arg);

#endif /* PERFTAP_FMT_TEXT_MYSQL_H */
