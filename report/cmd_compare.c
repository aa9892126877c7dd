/*
 * cmd_compare.c -- `perftap compare`: this run against a saved baseline;
 * regressions, improvements, noise, operations new and gone.
 */
#include <stdio.h>

#include "cli.h"
#include "commands.h"

static void usage(FILE *out)
{
	fprintf(
	    out,
	    "usage: perftap compare --baseline FILE [options] DUMP|DIR...\n\n"
	    "Compare each operation with a baseline saved by 'perftap "
	    "baseline save'.\nA change is a regression only when it is worse "
	    "than its limit AND the\nMann-Whitney U test (two-sided, normal "
	    "approximation with tie\ncorrection) finds it significant; past "
	    "the limit but not significant is\nnoise; too few samples on "
	    "either side is insufficient data.\n\noptions:\n"
	    "      --baseline FILE      the saved baseline (required)\n"
	    "      --limit AGG:PCT      limit per aggregate (mean, median, "
	    "p95, p99, max),\n"
	    "                           e.g. mean:5%% (default), p95:10%% "
	    "(repeatable)\n"
	    "      --alpha A            significance level (default 0.05)\n"
	    "      --min-samples N      samples needed on each side "
	    "(default 20)\n"
	    "      --fail-on-regression exit 1 when a regression is found\n"
	    "      --full               print the operation tables too\n");
	cli_common_usage(out);
	fprintf(out, "\nExit status: 0 done (or no regression), 1 regression "
		     "with\n--fail-on-regression, 2 bad input or usage.\n");
}

int cmd_compare(int argc, char **argv)
{
	struct pt_cli c;
	struct pt_model m;
	struct pt_analysis a;
	struct pt_baseline b;
	char err[512];
	int rc = cli_parse(&c, argc, argv, CLI_BASELINE, usage);
	if (rc)
		return rc > 0 ? 0 : 2;
	if (baseline_load(c.baseline, &b, err, sizeof(err)) < 0) {
		fprintf(stderr, "perftap: %s: %s\n", c.baseline, err);
		cli_free(&c);
		return 2;
	}
	model_init(&m);
	rc = cli_analyse(&c, &m, &a);
	if (rc == 0) {
		a.show_operations = c.full;
		a.baseline_path = c.baseline;
		if (baseline_compare(&b, &a, &c.cmp) < 0) {
			fprintf(stderr, "perftap: compare: out of memory\n");
			rc = 2;
		} else {
			rc = cli_emit(&c, &a);
		}
		if (rc == 0 && c.fail_on_regression && a.regressions)
			rc = 1;
	}
	analysis_free(&a);
	model_free(&m);
	baseline_free(&b);
	cli_free(&c);
	return rc;
}
