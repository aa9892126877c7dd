/*
 * fmt_text_mysql.h -- the text report's MySQL server notes and index
 * suggestions (fmt_text_mysql.c).
 */
#ifndef PERFTAP_FMT_TEXT_MYSQL_H
#define PERFTAP_FMT_TEXT_MYSQL_H

#include <stdio.h>

#include "analysis.h"

void fmt_text_mysql_emit(const struct pt_analysis *a, FILE *out);

#endif /* PERFTAP_FMT_TEXT_MYSQL_H */
