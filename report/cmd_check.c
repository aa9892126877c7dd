/*
 * cmd_check.c -- `perftap check`: evaluate thresholds, exit 1 if any
 * fails (the CI gate).
 */
#include <stdio.h>

#include "cli.h"
#include "commands.h"

static void usage(FILE *out)
{
	fprintf(
	    out,
	    "usage: perftap check --thresholds FILE [options] DUMP|DIR...\n\n"
	    "Evaluate k6-style thresholds on the dumps and print one "
	    "pass/fail line\nper threshold with the measured value.\n\n"
	    "Thresholds file: a JSON object, selector -> expressions:\n"
	    "  {\"http GET /fir/{id}\": [\"p(95)<100ms\", \"rate>=50/s\"],\n"
	    "   \"sql:point_select\": [\"p(95)<50ms\"],\n"
	    "   \"redis GET fir:record:* hit\": [\"p(95)<5ms\"],\n"
	    "   \"cache fir:*\": [\"hit_rate>=0.8\"],\n"
	    "   \"concurrency:15\": [\"p(95)<500ms\", \"error_rate<0.01\"]}\n"
	    "Aggregates: avg min max med p(N) stddev count rate error_rate "
	    "hit_rate;\nunits ms (default) s us, /s for rates, %% for "
	    "ratios.  Selector kinds:\nhttp, http_out, sql, sql:CLASS, "
	    "redis, cache, get_or_fetch, concurrency:N.\nA selector that "
	    "matches several operations pools their samples.\n"
	    "Processes (resource samples): \"process NAME|PID\": "
	    "[\"cpu<80%%\", "
	    "\"rss<2GB\"];\ncpu (mean), cpu_max, rss (peak; B K M G), the "
	    "highest of those matched.\n\noptions:\n"
	    "      --thresholds FILE  the thresholds (required)\n"
	    "      --allow-missing    a selector matching nothing is "
	    "reported but passes\n"
	    "      --full             print the operation tables too\n");
	cli_common_usage(out);
	fprintf(out, "\nExit status: 0 all thresholds hold, 1 one failed (or "
		     "matched nothing),\n2 bad input or usage.\n");
}

int cmd_check(int argc, char **argv)
{
	struct pt_cli c;
	struct pt_model m;
	struct pt_analysis a;
	int rc =
	    cli_parse(&c, argc, argv, CLI_THRESHOLDS | CLI_NEED_THRESH, usage);
	if (rc)
		return rc > 0 ? 0 : 2;
	model_init(&m);
	rc = cli_analyse(&c, &m, &a);
	if (rc == 0) {
		a.show_operations = c.full;
		rc = cli_emit(&c, &a);
		if (rc == 0 && a.thresholds_failed)
			rc = 1;
	}
	analysis_free(&a);
	model_free(&m);
	cli_free(&c);
	return rc;
}
