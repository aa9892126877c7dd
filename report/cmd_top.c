/*
 * cmd_top.c -- perftap top: watch a running capture.  Every interval the
 * dumps (a directory's are listed anew each time, so forked workers and
 * new processes join) are read again, read-only, through the same loader
 * as report, restricted to the last --window seconds, and the busiest
 * operations per kind are shown with count, rate, p50/p95/p99 and errors,
 * then the cache hit rate per key pattern and the drops.
 *
 * On a terminal the screen is redrawn in place (plain ANSI: clear and
 * home, nothing else is needed) and q or Ctrl-C quits; otherwise one
 * block per interval is printed, so that it can be logged.
 *
 * Note: each interval reads the dumps whole.  That costs about what
 * `perftap report` costs per interval (tens of ms for 100k events); an
 * incremental reader that keeps its place per chunk would be cheaper.
 */
#include <dirent.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "analysis.h"
#include "commands.h"
#include "format.h"
#include "load.h"

struct top_opts {
	double interval, window;
	enum pt_sort sort;
	size_t rows;
	long iterations; /* 0 = until q or a signal */
	char **inputs;
	int ninputs;
};

static volatile sig_atomic_t g_stop;

static void on_signal(int sig)
{
	(void)sig;
	g_stop = 1;
}

static void usage(FILE *out)
{
	fprintf(out,
		"usage: perftap top [options] DIR|DUMP...\n\n"
		"Watch a running capture: the busiest operations of the last "
		"seconds.\n\n"
		"  -d, --interval SECS   refresh every SECS (default 1)\n"
		"  -w, --window SECS     operations of the last SECS (default "
		"10)\n"
		"  -s, --sort KEY        count|p95|p99|errors|total (default "
		"count)\n"
		"  -n, --rows N          rows per kind (default 8)\n"
		"      --iterations N    stop after N refreshes\n\n"
		"On a terminal q or Ctrl-C quits; otherwise one block per "
		"interval.\nNever writes to the dumps.\n");
}

static int parse_sort(const char *s, enum pt_sort *out)
{
	static const struct {
		const char *name;
		enum pt_sort sort;
	} keys[] = {{"count", PT_SORT_COUNT},
		    {"p95", PT_SORT_P95},
		    {"p99", PT_SORT_P99},
		    {"errors", PT_SORT_ERRORS},
		    {"total", PT_SORT_TOTAL}};
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		if (!strcmp(s, keys[i].name)) {
			*out = keys[i].sort;
			return 0;
		}
	return -1;
}

static int bad(const char *opt, const char *arg)
{
	fprintf(stderr, "perftap: %s: bad value '%s'\n", opt, arg);
	return -1;
}

static int parse_args(struct top_opts *t, int argc, char **argv)
{
	static const struct option opts[] = {
	    {"interval", required_argument, 0, 'd'},
	    {"window", required_argument, 0, 'w'},
	    {"sort", required_argument, 0, 's'},
	    {"rows", required_argument, 0, 'n'},
	    {"iterations", required_argument, 0, 'I'},
	    {"help", no_argument, 0, 'h'},
	    {0, 0, 0, 0}};
	*t = (struct top_opts){1, 10, PT_SORT_COUNT, 8, 0, NULL, 0};
	int ch;
	char *end;
	optind = 1;
	while ((ch = getopt_long(argc, argv, "d:w:s:n:h", opts, NULL)) != -1) {
		switch (ch) {
		case 'd':
		case 'w': {
			double v = strtod(optarg, &end);
			if (end == optarg || *end || !(v >= 0.05 && v <= 86400))
				return bad(ch == 'd' ? "--interval"
						     : "--window",
					   optarg);
			*(ch == 'd' ? &t->interval : &t->window) = v;
			break;
		}
		case 's':
			if (parse_sort(optarg, &t->sort) < 0)
				return bad("--sort", optarg);
			break;
		case 'n':
		case 'I': {
			long v = strtol(optarg, &end, 10);
			if (end == optarg || *end || v < 1 || v > 1000000)
				return bad(ch == 'n' ? "--rows"
						     : "--iterations",
					   optarg);
			if (ch == 'n')
				t->rows = (size_t)v;
			else
				t->iterations = v;
			break;
		}
		case 'h':
			usage(stdout);
			return 1;
		default:
			fprintf(stderr, "perftap: top: bad option (see perftap "
					"top --help)\n");
			return -1;
		}
	}
	if (optind >= argc) {
		fprintf(stderr, "perftap: top: no dump or directory given\n");
		return -1;
	}
	t->inputs = argv + optind;
	t->ninputs = argc - optind;
	return 0;
}

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void print_kind(FILE *out, const struct pt_analysis *a, int kind,
		       const struct top_opts *t)
{
	const struct pt_row *rows;
	size_t n = fmt_kind_rows(a, kind, t->rows, &rows);
	if (!n)
		return;
	fprintf(out, "%-44s %7s %8s %7s %7s %7s %6s\n",
		analysis_kind_title(kind), "count", "rate/s", "p50", "p95",
		"p99", "errors");
	for (size_t i = 0; i < n; i++) {
		const struct pt_row *r = &rows[i];
		char p50[16], p95[16], p99[16];
		fmt_duration(r->st.median, p50, sizeof(p50));
		fmt_duration(r->st.p95, p95, sizeof(p95));
		fmt_duration(r->st.p99, p99, sizeof(p99));
		fprintf(out, "  %-42.42s %7llu %8.1f %7s %7s %7s %6llu\n",
			r->text, (unsigned long long)r->count,
			(double)r->count / t->window, p50, p95, p99,
			(unsigned long long)r->errors);
	}
}

static void print_block(FILE *out, const struct pt_analysis *a,
			const struct top_opts *t)
{
	time_t now = time(NULL);
	char when[32];
	strftime(when, sizeof(when), "%H:%M:%S", localtime(&now));
	fprintf(out,
		"perftap top  %s  last %.0fs  %llu events  %zu process(es)  "
		"drops %llu  undecodable %llu\n\n",
		when, t->window, (unsigned long long)a->m->events, a->m->nprocs,
		(unsigned long long)a->drops_total,
		(unsigned long long)a->undecodable);
	const int *kinds;
	size_t nk = analysis_kind_order(&kinds);
	for (size_t k = 0; k < nk; k++)
		print_kind(out, a, kinds[k], t);
	if (a->ncache) {
		fprintf(out, "%-44s %7s %8s %9s\n", "Cache (key pattern)",
			"hits", "misses", "hit rate");
		for (size_t i = 0; i < a->ncache && i < t->rows; i++)
			fprintf(out, "  %-42.42s %7llu %8llu %8.1f%%\n",
				a->cache[i].pattern,
				(unsigned long long)a->cache[i].hits,
				(unsigned long long)a->cache[i].misses,
				a->cache[i].hit_rate * 100);
	}
	if (!a->m->events)
		fputs("(no operations in the window yet)\n", out);
}

/* A directory with no dump in it yet (the capture has not started, or
 * its processes have not written): waited for, not an error. */
static int dir_without_dumps(const char *path)
{
	struct stat st;
	if (stat(path, &st) < 0 || !S_ISDIR(st.st_mode))
		return 0;
	DIR *d = opendir(path);
	if (!d)
		return 0;
	int none = 1;
	struct dirent *e;
	while (none && (e = readdir(d))) {
		size_t n = strlen(e->d_name);
		none = !(n > 4 && !strcmp(e->d_name + n - 4, ".ptd"));
	}
	closedir(d);
	return none;
}

/* One refresh: read the inputs again, last window seconds only. */
static int refresh(const struct top_opts *t, int tty)
{
	char *ready[t->ninputs];
	int n = 0;
	for (int i = 0; i < t->ninputs; i++)
		if (!dir_without_dumps(t->inputs[i]))
			ready[n++] = t->inputs[i];
	struct pt_model m;
	struct pt_analysis a;
	char since[48];
	snprintf(since, sizeof(since), "@%.3f",
		 (double)now_ns() / 1e9 - t->window);
	struct pt_load_opts lo = {since, NULL, 0, 0};
	model_init(&m);
	memset(&a, 0, sizeof(a));
	int rc = (n ? load_inputs(&m, ready, n, &lo) : 0) < 0 ? 2 : 0;
	if (!rc && analysis_build(&a, &m, t->sort) < 0) {
		fprintf(stderr, "perftap: top: out of memory\n");
		rc = 2;
	}
	if (!rc) {
		if (tty)
			fputs("\033[H\033[2J", stdout);
		print_block(stdout, &a, t);
		if (!tty)
			fputs("\n", stdout);
		fflush(stdout);
	}
	analysis_free(&a);
	model_free(&m);
	return rc;
}

/* Wait one interval; on a terminal, return early with 1 on q. */
static int wait_interval(double secs, int tty)
{
	struct pollfd p = {0, POLLIN, 0};
	int ms = (int)(secs * 1000);
	if (!tty) {
		struct timespec ts = {(time_t)secs,
				      (long)((secs - (time_t)secs) * 1e9)};
		nanosleep(&ts, NULL);
		return 0;
	}
	if (poll(&p, 1, ms) > 0 && (p.revents & POLLIN)) {
		char c;
		if (read(0, &c, 1) == 1 && (c == 'q' || c == 'Q'))
			return 1;
	}
	return 0;
}

int cmd_top(int argc, char **argv)
{
	struct top_opts t;
	int rc = parse_args(&t, argc, argv);
	if (rc)
		return rc > 0 ? 0 : 2;
	int tty = isatty(1) && isatty(0);
	struct termios saved, raw;
	if (tty && tcgetattr(0, &saved) == 0) {
		raw = saved;
		raw.c_lflag &= ~(tcflag_t)(ICANON | ECHO);
		tcsetattr(0, TCSANOW, &raw);
	} else {
		tty = 0;
	}
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	for (long i = 0; !g_stop && (!t.iterations || i < t.iterations); i++) {
		/* Bad input stops top at once; later a dump being created
		 * as it is read is retried at the next refresh. */
		if ((rc = refresh(&t, tty)) != 0 && i == 0)
			break;
		if (t.iterations && i + 1 == t.iterations)
			break;
		if (wait_interval(t.interval, tty))
			break;
	}
	if (tty)
		tcsetattr(0, TCSANOW, &saved);
	return rc;
}
