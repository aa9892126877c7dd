/*
 * cmd_report.c -- `perftap report`: every table for one or more dumps.
 */
#include <stdio.h>

#include "cli.h"
#include "commands.h"

static void usage(FILE *out)
{
	fprintf(
	    out,
	    "usage: perftap report [options] DUMP|DIR...\n\n"
	    "Statistics per operation from one or more dumps (many "
	    "processes, many\nhosts), merged exactly: HTTP by method and "
	    "route, outbound HTTP by host\nand route, SQL by fingerprint and "
	    "by class, Redis by command and key\npattern with hit rates, "
	    "cache-aside sequences, concurrency levels,\nhistograms, slowest "
	    "samples and errors.\n\noptions:\n");
	cli_common_usage(out);
	fprintf(
	    out,
	    "      --thresholds FILE  also evaluate thresholds (see perftap "
	    "check)\n"
	    "      --allow-missing    a selector matching nothing is not a "
	    "failure\n\n"
	    "Exit status: 0 the report was written (whatever the "
	    "thresholds say),\n2 bad input or usage.\n");
}

int cmd_report(int argc, char **argv)
{
	struct pt_cli c;
	struct pt_model m;
	struct pt_analysis a;
	int rc = cli_parse(&c, argc, argv, CLI_THRESHOLDS, usage);
	if (rc)
		return rc > 0 ? 0 : 2;
	model_init(&m);
	rc = cli_analyse(&c, &m, &a);
	if (rc == 0)
		rc = cli_emit(&c, &a);
	analysis_free(&a);
	model_free(&m);
	cli_free(&c);
	return rc;
}
