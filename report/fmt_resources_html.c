/*
 * fmt_resources_html.c -- the processes' table and resource timeline in
 * the HTML report (fmt_resources.h).
 */
#include "fmt_resources.h"

void fmt_resources_html(const struct pt_analysis *a, FILE *out)
{
	(void)a;
	(void)out;
}
