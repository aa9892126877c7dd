/*
 * cli.h -- what the report-family subcommands (report, check, baseline,
 * compare) share: one options struct, one parser, one pipeline
 * (dumps -> model -> analysis -> thresholds/baseline -> format).
 */
#ifndef PERFTAP_CLI_H
#define PERFTAP_CLI_H

#include <stddef.h>

#include "analysis.h"
#include "baseline.h"
#include "format.h"
#include "select.h"

/* Options a subcommand accepts, beyond the common ones. */
#define CLI_THRESHOLDS	(1u << 0) /* --thresholds FILE, --allow-missing */
#define CLI_BASELINE	(1u << 1) /* --baseline FILE, --limit, --alpha ... */
#define CLI_NEED_THRESH (1u << 2) /* --thresholds is mandatory */
#define CLI_NEED_OUTPUT (1u << 3) /* -o is mandatory */
#define CLI_NO_FORMAT	(1u << 4) /* writes its own file format */
#define CLI_STACKS	(1u << 5) /* --weight time|count, --native: folded */

struct pt_thresholds;

struct pt_cli {
	const char *cmd;
	unsigned flags;
	const struct pt_format *fmt;
	const char *output;
	const char *since, *until;
	struct pt_selector *filters;
	size_t nfilters;
	size_t top;
	enum pt_sort sort;
	const char *thresholds;
	int allow_missing;
	const char *baseline;
	int fail_on_regression;
	struct pt_compare_opts cmp;
	int verbose;
	int color;    /* -1 auto, 0 never, 1 always */
	int full;     /* check/compare: the operation tables too */
	int progress; /* 0 --no-progress, 1 auto, 2 --progress */
	int ordered;  /* --ordered-load (hidden): time-ordered merge */
	int stats;    /* --stats-memory (hidden): speed and memory, stderr */
	const char *callsite_skip; /* --callsite-skip REGEX; NULL default */
	int weight_count;	   /* stacks: --weight count (else time) */
	int stack_native;	   /* stacks: --native, native frames too */
	char **inputs;
	int ninputs;
	struct pt_charts *charts; /* HTML: built by cli_analyse */
	/* The --thresholds file as loaded by cli_analyse; the analysis's
	 * threshold results point into it, so it lives until cli_free. */
	struct pt_thresholds *rules;
};

/* Parse argv (argv[0] = the subcommand).  usage prints the command's own
 * help.  Returns 0 to go on, 1 when --help was printed (exit 0), -1 after
 * printing a one-line error (exit 2). */
int cli_parse(struct pt_cli *c, int argc, char **argv, unsigned flags,
	      void (*usage)(FILE *out));
void cli_free(struct pt_cli *c);

/* The common options' help text, for each command's usage. */
void cli_common_usage(FILE *out);

/* Load the inputs and build the analysis (with thresholds evaluated when
 * given).  Returns 0, or 2 after printing the problem. */
int cli_analyse(struct pt_cli *c, struct pt_model *m, struct pt_analysis *a);

/* Print a with the chosen format to -o or stdout.  Returns 0 or 2. */
int cli_emit(const struct pt_cli *c, const struct pt_analysis *a);

#endif /* PERFTAP_CLI_H */
