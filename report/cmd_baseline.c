/*
 * cmd_baseline.c -- `perftap baseline save -o FILE DUMP...`: keep a run's
 * statistics (and a bounded sample per operation) for `compare`.
 */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "commands.h"

static void usage(FILE *out)
{
	fprintf(
	    out,
	    "usage: perftap baseline save -o FILE [options] DUMP|DIR...\n\n"
	    "Write a baseline: per operation (and per SQL class and "
	    "concurrency\nlevel) the AFIRGen suite's fields (mean_time_ms, "
	    "median_time_ms,\np95_time_ms, p99_time_ms, std_dev_ms, "
	    "throughput_ops_per_sec, ...) and\nsample_ms, up to 2000 evenly "
	    "spaced order statistics for the\nsignificance test of perftap "
	    "compare.\n\noptions:\n"
	    "  -o, --output FILE    the baseline to write (required)\n");
	cli_common_usage(out);
}

int cmd_baseline(int argc, char **argv)
{
	if (argc < 2 || strcmp(argv[1], "save")) {
		if (argc >= 2 &&
		    (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
			usage(stdout);
			return 0;
		}
		fprintf(stderr, "perftap: baseline: expected 'save' (see "
				"perftap baseline --help)\n");
		return 2;
	}
	struct pt_cli c;
	struct pt_model m;
	struct pt_analysis a;
	int rc = cli_parse(&c, argc - 1, argv + 1,
			   CLI_NEED_OUTPUT | CLI_NO_FORMAT, usage);
	if (rc)
		return rc > 0 ? 0 : 2;
	model_init(&m);
	rc = cli_analyse(&c, &m, &a);
	if (rc == 0) {
		char err[256];
		if (baseline_save(&a, c.output, err, sizeof(err)) < 0) {
			fprintf(stderr, "perftap: %s: %s\n", c.output, err);
			rc = 2;
		} else {
			printf("perftap: baseline of %zu operations from %llu "
			       "events written to %s\n",
			       a.nrows + a.nclasses_used + a.nlevels,
			       (unsigned long long)m.events, c.output);
		}
	}
	analysis_free(&a);
	model_free(&m);
	cli_free(&c);
	return rc;
}
