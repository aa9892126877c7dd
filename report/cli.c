/*
 * cli.c -- option parsing and the pipeline shared by report, check,
 * baseline save and compare.
 */
#include "cli.h"

#include "callsites.h"

#include <errno.h>
#include <getopt.h>
#include <sys/resource.h>
#include <time.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "charts.h"
#include "load.h"
#include "thresholds.h"

enum {
	OPT_SINCE = 256,
	OPT_UNTIL,
	OPT_FILTER,
	OPT_TOP,
	OPT_SORT,
	OPT_THRESHOLDS,
	OPT_ALLOW_MISSING,
	OPT_BASELINE,
	OPT_FAIL_ON_REGRESSION,
	OPT_LIMIT,
	OPT_ALPHA,
	OPT_MIN_SAMPLES,
	OPT_COLOR,
	OPT_FULL,
	OPT_PROGRESS,
	OPT_NO_PROGRESS,
	OPT_ORDERED, /* hidden: read through the time-ordered merge */
	OPT_STATS,   /* hidden: events/s and memory per event on stderr */
	OPT_CALLSITE_SKIP,
	OPT_WEIGHT,
	OPT_NATIVE,
};

static const struct option long_opts[] = {
    {"help", no_argument, NULL, 'h'},
    {"format", required_argument, NULL, 'f'},
    {"output", required_argument, NULL, 'o'},
    {"since", required_argument, NULL, OPT_SINCE},
    {"until", required_argument, NULL, OPT_UNTIL},
    {"filter", required_argument, NULL, OPT_FILTER},
    {"top", required_argument, NULL, OPT_TOP},
    {"sort", required_argument, NULL, OPT_SORT},
    {"verbose", no_argument, NULL, 'v'},
    {"color", required_argument, NULL, OPT_COLOR},
    {"full", no_argument, NULL, OPT_FULL},
    {"progress", no_argument, NULL, OPT_PROGRESS},
    {"no-progress", no_argument, NULL, OPT_NO_PROGRESS},
    {"ordered-load", no_argument, NULL, OPT_ORDERED},
    {"stats-memory", no_argument, NULL, OPT_STATS},
    {"callsite-skip", required_argument, NULL, OPT_CALLSITE_SKIP},
    {"weight", required_argument, NULL, OPT_WEIGHT},
    {"native", no_argument, NULL, OPT_NATIVE},
    {"thresholds", required_argument, NULL, OPT_THRESHOLDS},
    {"allow-missing", no_argument, NULL, OPT_ALLOW_MISSING},
    {"baseline", required_argument, NULL, OPT_BASELINE},
    {"fail-on-regression", no_argument, NULL, OPT_FAIL_ON_REGRESSION},
    {"limit", required_argument, NULL, OPT_LIMIT},
    {"alpha", required_argument, NULL, OPT_ALPHA},
    {"min-samples", required_argument, NULL, OPT_MIN_SAMPLES},
    {NULL, 0, NULL, 0}};

void cli_common_usage(FILE *out)
{
	format_usage(out);
	fprintf(
	    out,
	    "  -o, --output FILE    write there instead of stdout\n"
	    "      --since T        only events starting at or after T: an "
	    "offset from\n"
	    "                       the first event of all dumps (90s, 5m, 1h, "
	    "250ms),\n"
	    "                       @EPOCH, or YYYY-MM-DDTHH:MM:SS (UTC)\n"
	    "      --until T        only events starting before T (same "
	    "forms)\n"
	    "      --filter SEL     keep operations matching a selector, "
	    "e.g. 'sql',\n"
	    "                       'http GET /fir/*', 'redis * fir:*' "
	    "(repeatable)\n"
	    "      --top N          at most N rows per table\n"
	    "      --callsite-skip RE  frames whose file (Python) or module\n"
	    "                       (native) match RE are not call sites\n"
	    "                       (default: drivers, stdlib, libc ...)\n"
	    "      --sort KEY       total (time, default), count, p95, p99, "
	    "errors\n"
	    "      --color WHEN     auto (default: a tty without NO_COLOR), "
	    "always, never\n"
	    "      --progress       a progress line on a terminal (stderr) "
	    "whatever the\n"
	    "                       size; by default only above 300 MB of "
	    "dumps\n"
	    "      --no-progress    never a progress line\n"
	    "  -v, --verbose        more detail (unchanged comparisons, ...)\n"
	    "  -h, --help           this help\n");
}

static int bad(const char *opt, const char *fmt, const char *arg)
{
	fprintf(stderr, "perftap: %s: ", opt);
	fprintf(stderr, fmt, arg);
	fputc('\n', stderr);
	return -1;
}

static int parse_sort(const char *s, enum pt_sort *out)
{
	static const char *const names[] = {"total", "count", "p95", "p99",
					    "errors"};
	for (int i = 0; i < 5; i++)
		if (!strcmp(s, names[i])) {
			*out = (enum pt_sort)i;
			return 0;
		}
	return -1;
}

static int add_filter(struct pt_cli *c, const char *s)
{
	char err[256];
	struct pt_selector *n =
	    realloc(c->filters, (c->nfilters + 1) * sizeof(*n));
	if (!n)
		return bad("--filter", "%s", "out of memory");
	c->filters = n;
	if (selector_parse(s, &c->filters[c->nfilters], err, sizeof(err)) < 0)
		return bad("--filter", "%s", err);
	if (c->filters[c->nfilters].kind == PT_SEL_PROCESS)
		return bad("--filter", "%s", "processes are not a filter");
	if (c->filters[c->nfilters].kind == PT_SEL_CONCURRENCY)
		return bad("--filter", "%s",
			   "concurrency levels are not a filter");
	c->nfilters++;
	return 0;
}

static int parse_number(const char *opt, const char *s, double lo, double hi,
			double *out)
{
	char *end;
	errno = 0;
	double v = strtod(s, &end);
	if (end == s || *end || errno || v < lo || v > hi)
		return bad(opt, "bad number '%s'", s);
	*out = v;
	return 0;
}

/* One option; returns 0, 1 (help), or -1. */
static int option(struct pt_cli *c, int ch, const char *arg,
		  void (*usage)(FILE *))
{
	double v;
	char err[256];
	switch (ch) {
	case 'h':
		usage(stdout);
		return 1;
	case 'f':
		c->fmt = format_find(arg);
		if (c->fmt)
			return 0;
		fprintf(stderr, "perftap: --format: unknown format '%s' (%s)\n",
			arg, format_names());
		return -1;
	case 'o':
		c->output = arg;
		return 0;
	case OPT_SINCE:
	case OPT_UNTIL: {
		uint64_t ns;
		int rel;
		if (load_parse_time(arg, &ns, &rel) < 0)
			return bad(ch == OPT_SINCE ? "--since" : "--until",
				   "bad time '%s'", arg);
		*(ch == OPT_SINCE ? &c->since : &c->until) = arg;
		return 0;
	}
	case OPT_FILTER:
		return add_filter(c, arg);
	case OPT_TOP:
		if (parse_number("--top", arg, 0, 1e9, &v) < 0)
			return -1;
		c->top = (size_t)v;
		return 0;
	case OPT_SORT:
		return parse_sort(arg, &c->sort) == 0
			   ? 0
			   : bad("--sort",
				 "unknown key '%s' (total, count, "
				 "p95, p99, errors)",
				 arg);
	case 'v':
		c->verbose = 1;
		return 0;
	case OPT_COLOR:
		c->color = !strcmp(arg, "always")  ? 1
			   : !strcmp(arg, "never") ? 0
			   : !strcmp(arg, "auto")  ? -1
						   : -2;
		return c->color == -2 ? bad("--color",
					    "expected auto, always "
					    "or never, not '%s'",
					    arg)
				      : 0;
	case OPT_FULL:
		c->full = 1;
		return 0;
	case OPT_PROGRESS:
	case OPT_NO_PROGRESS:
		c->progress = ch == OPT_PROGRESS ? 2 : 0;
		return 0;
	case OPT_ORDERED:
		c->ordered = 1;
		return 0;
	case OPT_STATS:
		c->stats = 1;
		return 0;
	case OPT_CALLSITE_SKIP:
		c->callsite_skip = arg;
		return 0;
	case OPT_WEIGHT:
		if (strcmp(arg, "time") && strcmp(arg, "count"))
			return bad("--weight",
				   "expected time or count, not '%s'", arg);
		c->weight_count = !strcmp(arg, "count");
		return 0;
	case OPT_NATIVE:
		c->stack_native = 1;
		return 0;
	case OPT_THRESHOLDS:
		c->thresholds = arg;
		return 0;
	case OPT_ALLOW_MISSING:
		c->allow_missing = 1;
		return 0;
	case OPT_BASELINE:
		c->baseline = arg;
		return 0;
	case OPT_FAIL_ON_REGRESSION:
		c->fail_on_regression = 1;
		return 0;
	case OPT_LIMIT:
		return compare_parse_limit(&c->cmp, arg, err, sizeof(err)) == 0
			   ? 0
			   : bad("--limit", "%s", err);
	case OPT_ALPHA:
		return parse_number("--alpha", arg, 1e-9, 0.5, &c->cmp.alpha);
	case OPT_MIN_SAMPLES:
		if (parse_number("--min-samples", arg, 2, 1e9, &v) < 0)
			return -1;
		c->cmp.min_samples = (size_t)v;
		return 0;
	default:
		return -1; /* getopt already said what */
	}
}

/* Options the command does not take are refused by name. */
static int allowed(const struct pt_cli *c, int ch)
{
	if (ch == OPT_THRESHOLDS || ch == OPT_ALLOW_MISSING)
		return c->flags & CLI_THRESHOLDS;
	if (ch >= OPT_BASELINE && ch <= OPT_MIN_SAMPLES)
		return c->flags & CLI_BASELINE;
	if (ch == 'f')
		return !(c->flags & CLI_NO_FORMAT);
	if (ch == OPT_WEIGHT || ch == OPT_NATIVE)
		return c->flags & CLI_STACKS;
	return 1;
}

static int check_required(struct pt_cli *c)
{
	if ((c->flags & CLI_NEED_THRESH) && !c->thresholds)
		return bad("--thresholds", "%s",
			   "required (a thresholds "
			   "JSON file)");
	if ((c->flags & CLI_NEED_OUTPUT) && !c->output)
		return bad("-o", "%s", "required (the baseline file to write)");
	if ((c->flags & CLI_BASELINE) && !c->baseline)
		return bad("--baseline", "%s", "required (a saved baseline)");
	if (c->ninputs == 0) {
		fprintf(stderr,
			"perftap: %s: no dump given (see perftap %s "
			"--help)\n",
			c->cmd, c->cmd);
		return -1;
	}
	return 0;
}

int cli_parse(struct pt_cli *c, int argc, char **argv, unsigned flags,
	      void (*usage)(FILE *out))
{
	memset(c, 0, sizeof(*c));
	c->cmd = argv[0];
	c->flags = flags;
	c->fmt = format_find("text");
	c->color = -1;
	c->progress = 1;
	compare_opts_default(&c->cmp);
	optind = 1;
	opterr = 0; /* our own one-line messages */
	int ch, li = -1;
	while ((ch = getopt_long(argc, argv, "+hf:o:v", long_opts, &li)) !=
	       -1) {
		if (ch == '?' || ch == ':' || !allowed(c, ch)) {
			char name[64];
			if (li >= 0 && ch != '?')
				snprintf(name, sizeof(name), "--%s",
					 long_opts[li].name);
			else
				snprintf(name, sizeof(name), "%s",
					 argv[optind - 1]);
			const char *o = name;
			if (ch == ':' || (ch == '?' && optopt))
				fprintf(stderr, "perftap: %s: %s\n", o,
					ch == ':' ? "needs a value"
						  : "unknown option");
			else
				fprintf(stderr,
					"perftap: %s: not an option of "
					"'perftap %s'\n",
					o, c->cmd);
			return -1;
		}
		int rc = option(c, ch, optarg, usage);
		if (rc)
			return rc;
		li = -1;
	}
	c->inputs = argv + optind;
	c->ninputs = argc - optind;
	return check_required(c);
}

void cli_free(struct pt_cli *c)
{
	free(c->filters);
	c->filters = NULL;
	free(c->charts);
	c->charts = NULL;
	if (c->rules) {
		thresholds_free(c->rules);
		free(c->rules);
		c->rules = NULL;
	}
}

static int keep_op(const struct pt_op *op, void *arg)
{
	const struct pt_cli *c = arg;
	for (size_t i = 0; i < c->nfilters; i++)
		if (selector_match_op(&c->filters[i], op, 0))
			return 1;
	return 0;
}

/* A field of /proc/self/status, in kB; 0 when absent. */
static unsigned long long status_kb(const char *field)
{
	char line[256];
	unsigned long long v = 0;
	size_t len = strlen(field);
	FILE *f = fopen("/proc/self/status", "r");
	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, field, len) && line[len] == ':') {
			v = strtoull(line + len + 1, NULL, 10);
			break;
		}
	fclose(f);
	return v;
}

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/*
 * --stats-memory: how fast the dumps were read and what the report keeps
 * per event.  The reader drops each chunk's pages once read, so the peak
 * resident set (VmHWM) less the resident set before reading is the
 * report's own memory (anonymous), give or take one chunk.
 */
/* CPU seconds (user + system) of this process: steadier than the wall
 * clock on a shared machine. */
static double cpu_s(void)
{
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	return (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
	       (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

static void stats_line(const char *phase, const struct pt_model *m, double t0,
		       double c0, unsigned long long rss0)
{
	double dt = now_s() - t0, dc = cpu_s() - c0;
	unsigned long long hwm = status_kb("VmHWM");
	unsigned long long peak = hwm > rss0 ? (hwm - rss0) * 1024 : 0;
	double n = m->events ? (double)m->events : 1.0;
	/* key=value, so that scripts/bench.sh can pick fields out. */
	fprintf(stderr,
		"perftap: stats: phase=%s events=%llu wall_s=%.3f cpu_s=%.3f "
		"events_per_s=%.0f events_per_cpu_s=%.0f peak_bytes=%llu "
		"bytes_per_event=%.2f rss_anon_kb=%llu operations=%zu\n",
		phase, (unsigned long long)m->events, dt, dc,
		dt > 0 ? (double)m->events / dt : 0.0,
		dc > 0 ? (double)m->events / dc : 0.0, peak, (double)peak / n,
		status_kb("RssAnon"), m->nops);
}

int cli_analyse(struct pt_cli *c, struct pt_model *m, struct pt_analysis *a)
{
	struct pt_thresholds th = {0};
	char err[512];
	memset(a, 0, sizeof(*a));
	/* Bad thresholds fail before minutes of reading. */
	if (c->thresholds &&
	    thresholds_load(c->thresholds, &th, err, sizeof(err)) < 0) {
		fprintf(stderr, "perftap: %s: %s\n", c->thresholds, err);
		return 2;
	}
	if (c->nfilters) {
		m->filter = keep_op;
		m->filter_arg = c;
	}
	struct pt_load_opts lo = {c->since, c->until, c->progress, c->ordered};
	struct pt_chart_recorder rec = {0};
	int want_charts = c->fmt == format_find("html");
	if (want_charts)
		charts_record(&rec, m);
	if (!m->callsites && (m->callsites = malloc(sizeof(*m->callsites))) &&
	    callsites_init(m->callsites, c->callsite_skip, err, sizeof(err)) <
		0) {
		fprintf(stderr, "perftap: %s\n", err);
		free(m->callsites);
		m->callsites = NULL;
		return 2;
	}
	if (m->callsites && (c->flags & CLI_STACKS)) {
		m->callsites->folded = 1;
		m->callsites->folded_native = c->stack_native;
	}
	int rc = 0;
	unsigned long long rss0 = c->stats ? status_kb("VmRSS") : 0;
	double t0 = c->stats ? now_s() : 0, c0 = c->stats ? cpu_s() : 0;
	if (load_inputs(m, c->inputs, c->ninputs, &lo) < 0)
		rc = 2;
	else if (m->callsites)
		callsites_seal(m->callsites);
	if (rc)
		;
	else if (c->stats)
		stats_line("load", m, t0, c0, rss0);
	if (rc)
		;
	else if (analysis_build(a, m, c->sort) < 0 ||
		 (c->thresholds &&
		  thresholds_eval(&th, a, c->allow_missing) < 0)) {
		fprintf(stderr, "perftap: %s: out of memory\n", c->cmd);
		rc = 2;
	} else if (want_charts && !(c->charts = malloc(sizeof(*c->charts)))) {
		fprintf(stderr, "perftap: %s: out of memory\n", c->cmd);
		rc = 2;
	} else if (want_charts && charts_build(c->charts, a, &rec) < 0) {
		fprintf(stderr, "perftap: %s: out of memory\n", c->cmd);
		rc = 2;
	} else if (c->stats) {
		stats_line("load+analysis", m, t0, c0, rss0);
	}
	if (want_charts) {
		m->observe = NULL;
		charts_recorder_free(&rec);
		if (rc == 0)
			a->charts = c->charts;
	}
	/* The results point at the thresholds: keep them until cli_free. */
	if (rc == 0 && c->thresholds) {
		struct pt_thresholds *keep = malloc(sizeof(*keep));
		if (keep) {
			*keep = th;
			c->rules = keep;
			return 0;
		}
		rc = 2;
	}
	thresholds_free(&th);
	return rc;
}

int cli_emit(const struct pt_cli *c, const struct pt_analysis *a)
{
	FILE *out = stdout;
	if (c->output && !(out = fopen(c->output, "w"))) {
		fprintf(stderr, "perftap: %s: %s\n", c->output,
			strerror(errno));
		return 2;
	}
	struct pt_out_opts o = {c->top, c->color == 1, c->verbose};
	if (c->color == -1)
		o.color = !c->output && isatty(1) && !getenv("NO_COLOR") &&
			  c->fmt == format_find("text");
	int rc = c->fmt->emit(a, &o, out);
	if (fflush(out) != 0)
		rc = -1;
	if (out != stdout && fclose(out) != 0)
		rc = -1;
	if (rc < 0) {
		fprintf(stderr, "perftap: %s: write error\n",
			c->output ? c->output : "stdout");
		return 2;
	}
	return 0;
}
