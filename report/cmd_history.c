/*
 * cmd_history.c -- perftap history add|show|trend: runs kept in an SQLite
 * database (history.h), for trends across runs and for compare
 * --against-history.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analysis.h"
#include "commands.h"
#include "history.h"
#include "load.h"

#define DEFAULT_DB "perftap-history.db"

struct hist_opts {
	const char *db, *label, *format;
	long last;
};

static void usage(FILE *out)
{
	fprintf(
	    out,
	    "usage: perftap history add [--db FILE] [--label L] DUMP|DIR...\n"
	    "       perftap history show [--db FILE] [--format text|json]\n"
	    "       perftap history trend [--db FILE] [--last N] "
	    "[--format text|json|html] KEY\n\n"
	    "add stores the run's per-operation summary (the baseline's "
	    "fields and\nsample, and the rate) with its time, label and "
	    "host; show lists the runs;\ntrend prints one operation's "
	    "p50/p95/p99 and rate over the last N runs\n(default 20). KEY "
	    "is an operation as the report names it, e.g.\n'http GET "
	    "/fir/{id}'.  --db defaults to " DEFAULT_DB ".\n");
}

static int parse(struct hist_opts *o, int argc, char **argv)
{
	static const struct option opts[] = {
	    {"db", required_argument, 0, 'D'},
	    {"label", required_argument, 0, 'l'},
	    {"format", required_argument, 0, 'f'},
	    {"last", required_argument, 0, 'n'},
	    {"help", no_argument, 0, 'h'},
	    {0, 0, 0, 0}};
	*o = (struct hist_opts){DEFAULT_DB, "", "text", 20};
	int ch;
	optind = 1;
	while ((ch = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		char *end;
		switch (ch) {
		case 'D':
			o->db = optarg;
			break;
		case 'l':
			o->label = optarg;
			break;
		case 'f':
			if (strcmp(optarg, "text") && strcmp(optarg, "json") &&
			    strcmp(optarg, "html")) {
				fprintf(stderr,
					"perftap: --format: '%s' is not text, "
					"json or html\n",
					optarg);
				return -1;
			}
			o->format = optarg;
			break;
		case 'n':
			o->last = strtol(optarg, &end, 10);
			if (end == optarg || *end || o->last < 1) {
				fprintf(stderr,
					"perftap: --last: bad value '%s'\n",
					optarg);
				return -1;
			}
			break;
		case 'h':
			usage(stdout);
			return 1;
		default:
			fprintf(stderr, "perftap: history: bad option (see "
					"perftap history --help)\n");
			return -1;
		}
	}
	return 0;
}

static int add(const struct hist_opts *o, char **inputs, int n)
{
	if (n < 1) {
		fprintf(stderr, "perftap: history add: no dump given\n");
		return 2;
	}
	struct pt_model m;
	struct pt_analysis a;
	struct pt_load_opts lo = {0};
	char err[512];
	model_init(&m);
	memset(&a, 0, sizeof(a));
	int rc = 0;
	if (load_inputs(&m, inputs, n, &lo) < 0) {
		rc = 2;
	} else if (analysis_build(&a, &m, PT_SORT_TOTAL) < 0) {
		fprintf(stderr, "perftap: history: out of memory\n");
		rc = 2;
	} else {
		struct pt_history *h = history_open(o->db, 1, err, sizeof(err));
		int64_t run =
		    h ? history_add(h, &a, o->label, err, sizeof(err)) : -1;
		if (run < 0) {
			fprintf(stderr, "perftap: %s: %s\n", o->db, err);
			rc = 2;
		} else {
			printf("run %lld added to %s\n", (long long)run, o->db);
		}
		history_close(h);
	}
	analysis_free(&a);
	model_free(&m);
	return rc;
}

int cmd_history(int argc, char **argv)
{
	if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
		usage(argc < 2 ? stderr : stdout);
		return argc < 2 ? 2 : 0;
	}
	const char *sub = argv[1];
	struct hist_opts o;
	int rc = parse(&o, argc - 1, argv + 1);
	if (rc)
		return rc > 0 ? 0 : 2;
	char **rest = argv + 1 + optind;
	int nrest = argc - 1 - optind;
	if (!strcmp(sub, "add"))
		return add(&o, rest, nrest);
	if (strcmp(sub, "show") && strcmp(sub, "trend")) {
		fprintf(stderr,
			"perftap: history: unknown '%s' (add, show, "
			"trend)\n",
			sub);
		return 2;
	}
	if (!strcmp(sub, "trend") && nrest != 1) {
		fprintf(stderr, "perftap: history trend: one KEY expected\n");
		return 2;
	}
	char err[512];
	struct pt_history *h = history_open(o.db, 0, err, sizeof(err));
	if (!h || (!strcmp(sub, "show")
		       ? history_show(h, stdout, !strcmp(o.format, "json"), err,
				      sizeof(err))
		       : history_trend(h, rest[0], (size_t)o.last, o.format,
				       stdout, err, sizeof(err))) < 0) {
		fprintf(stderr, "perftap: %s: %s\n", o.db, err);
		rc = 2;
	}
	history_close(h);
	return rc;
}
