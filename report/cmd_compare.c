/*
 * cmd_compare.c -- `perftap compare`: this run against a saved baseline;
 * regressions, improvements, noise, operations new and gone.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "commands.h"
#include "history.h"

/* --against-history N [--db FILE]: taken out of argv before the common
 * parser sees it, which then gets --baseline DBFILE to satisfy its
 * required option.  Returns the new argc, or -1 after a message. */
static int take_history(int argc, char **argv, char **out, long *n,
			const char **db)
{
	int k = 3; /* argv[0], then room for --baseline DBFILE */
	*n = 0;
	*db = "perftap-history.db";
	for (int i = 1; i < argc; i++) {
		int more = i + 1 < argc;
		if (!strcmp(argv[i], "--against-history") && more) {
			char *end;
			*n = strtol(argv[++i], &end, 10);
			if (end == argv[i] || *end || *n < 1) {
				fprintf(stderr,
					"perftap: --against-history: bad "
					"value '%s'\n",
					argv[i]);
				return -1;
			}
		} else if (!strcmp(argv[i], "--db") && more) {
			*db = argv[++i];
		} else {
			out[k++] = argv[i];
		}
	}
	out[k] = NULL;
	if (!*n) { /* no history: argv as given */
		out[2] = argv[0];
		memmove(out, out + 2, (size_t)(k - 1) * sizeof(*out));
		return k - 2;
	}
	out[0] = argv[0];
	out[1] = "--baseline";
	out[2] = (char *)*db;
	return k;
}

static int load_base(const struct pt_cli *c, long hist_n, const char *db,
		     struct pt_baseline *b)
{
	char err[512];
	if (!hist_n) {
		if (baseline_load(c->baseline, b, err, sizeof(err)) == 0)
			return 0;
		fprintf(stderr, "perftap: %s: %s\n", c->baseline, err);
		return -1;
	}
	struct pt_history *h = history_open(db, 0, err, sizeof(err));
	int rc =
	    h ? history_baseline(h, (size_t)hist_n, b, err, sizeof(err)) : -1;
	history_close(h);
	if (rc < 0)
		fprintf(stderr, "perftap: %s: %s\n", db, err);
	return rc;
}

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
	    "      --baseline FILE      the saved baseline (required, or:)\n"
	    "      --against-history N  the last N runs of the history "
	    "database\n"
	    "                           (--db FILE, default "
	    "perftap-history.db):\n"
	    "                           per operation the runs' aggregates "
	    "averaged\n"
	    "                           and their samples pooled, same rule\n"
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
	long hist_n;
	const char *db;
	char **args = malloc((size_t)(argc + 3) * sizeof(*args));
	if (!args)
		return 2;
	int nargs = take_history(argc, argv, args, &hist_n, &db);
	int rc =
	    nargs < 0 ? -1 : cli_parse(&c, nargs, args, CLI_BASELINE, usage);
	if (rc) {
		free(args);
		return rc > 0 ? 0 : 2;
	}
	if (load_base(&c, hist_n, db, &b) < 0) {
		cli_free(&c);
		free(args);
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
	comparisons_free(&a);
	analysis_free(&a);
	model_free(&m);
	baseline_free(&b);
	cli_free(&c);
	free(args);
	return rc;
}
