/*
 * cmd_record.c -- `perftap record`: run a program with the shim preloaded.
 *
 *   perftap record [-o DIR] [options] [--] PROGRAM [ARGS...]
 *
 * Sets PERFTAP_* and LD_PRELOAD (libperftap.so found in $PERFTAP_LIB, next
 * to this binary, or in ../lib beside it).  The dump directory defaults to
 * ./perftap-out and is made absolute, so that a program that changes
 * directory still writes there.
 *
 * With a sample interval (PERFTAP_SAMPLE_INTERVAL / --sample-interval,
 * default 1s) it forks PROGRAM and supervises it: it stays its parent (and
 * a child subreaper), samples every process of the tree from /proc each
 * interval into the dump directory (sampler.h), forwards the signals sent
 * to it (not those the terminal sends the whole group), and exits as
 * PROGRAM did (its code, or the same signal); if it is killed (SIGKILL),
 * PROGRAM gets SIGKILL too (PR_SET_PDEATHSIG), as when they were one.  With 0
 * it only execs PROGRAM, which then keeps this process's pid.
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "commands.h"
#include "config.h"
#include "sampler.h"

#define RECORD_DIR_DEFAULT "perftap-out"

static void usage(FILE *out)
{
	fprintf(
	    out,
	    "usage: perftap record [-o DIR] [options] [--] PROGRAM "
	    "[ARGS...]\n\n"
	    "Run PROGRAM with libperftap.so preloaded; dumps go to DIR.\n\n"
	    "  -o, --output DIR       dump directory (default "
	    "./" RECORD_DIR_DEFAULT ")\n"
	    "  -s, --max-size SIZE    size limit per dump, e.g. 256M\n"
	    "  -m, --mode wrap|stop   at the limit: keep newest or oldest\n"
	    "      --chunk-size SIZE  per-thread slab, e.g. 1M\n"
	    "      --raw              keep raw text (not redacted)\n"
	    "      --raw-max N        bytes of raw text kept per event\n"
	    "      --routes FILE      HTTP route templates\n"
	    "      --mysql-ports L    ports decoded as MySQL (default "
	    "3306)\n"
	    "      --redis-ports L    ports decoded as Redis (default "
	    "6379)\n"
	    "      --http-ports L     ports decoded as HTTP (default none)\n"
	    "      --sample-interval T  CPU/memory samples of the process\n"
	    "                         tree every T (default 1s; 0 = off)\n"
	    "      --stacks off|slow|all  record call stacks with slow "
	    "(default)\n"
	    "                         or all events\n"
	    "      --stack-min DUR    slow threshold for stacks (default 1ms)\n"
	    "      --stack-sample N   also stacks for 1 in N faster events\n"
	    "  -q, --quiet            the shim never writes to stderr\n"
	    "  -h, --help             this text\n");
}

/* libperftap.so: $PERFTAP_LIB, beside /proc/self/exe, or ../lib/. */
static int find_lib(char *out, size_t cap)
{
	const char *env = getenv("PERFTAP_LIB");
	char self[PATH_MAX];
	static const char *const rel[] = {"libperftap.so",
					  "../lib/libperftap.so"};

	if (env && *env) {
		if (access(env, R_OK) != 0)
			return -errno;
		snprintf(out, cap, "%s", env);
		return 0;
	}
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n <= 0)
		return -ENOENT;
	self[n] = '\0';
	char *slash = strrchr(self, '/');
	if (!slash)
		return -ENOENT;
	slash[1] = '\0';
	for (size_t i = 0; i < sizeof(rel) / sizeof(rel[0]); i++) {
		char cand[PATH_MAX * 2];
		snprintf(cand, sizeof(cand), "%s%s", self, rel[i]);
		char *real = realpath(cand, NULL);
		if (real && access(real, R_OK) == 0) {
			snprintf(out, cap, "%s", real);
			free(real);
			return 0;
		}
		free(real);
	}
	return -ENOENT;
}

static int setenv_checked(const char *name, const char *value)
{
	if (setenv(name, value, 1) == 0)
		return 0;
	fprintf(stderr, "perftap: record: cannot set %s: %s\n", name,
		strerror(errno));
	return -1;
}

/* Prepend lib to LD_PRELOAD, keeping what was there. */
static int set_preload(const char *lib)
{
	const char *old = getenv("LD_PRELOAD");
	if (!old || !*old)
		return setenv_checked("LD_PRELOAD", lib);
	size_t len = strlen(lib) + strlen(old) + 2;
	char *v = malloc(len);
	if (!v)
		return -1;
	snprintf(v, len, "%s:%s", lib, old);
	int rc = setenv_checked("LD_PRELOAD", v);
	free(v);
	return rc;
}

static int make_dir(const char *dir, char *abs, size_t cap)
{
	if (mkdir(dir, 0700) < 0 && errno != EEXIST) {
		fprintf(stderr, "perftap: %s: %s\n", dir, strerror(errno));
		return -1;
	}
	char *r = realpath(dir, NULL);
	if (!r) {
		fprintf(stderr, "perftap: %s: %s\n", dir, strerror(errno));
		return -1;
	}
	snprintf(abs, cap, "%s", r);
	free(r);
	return 0;
}

struct opt_env {
	int id;
	const char *var;
};

enum {
	OPT_CHUNK = 256,
	OPT_RAW,
	OPT_RAW_MAX,
	OPT_ROUTES,
	OPT_MYSQL,
	OPT_REDIS,
	OPT_HTTP,
	OPT_SAMPLE,
	OPT_STACKS,
	OPT_STACK_MIN,
	OPT_STACK_SAMPLE
};

/* Options that map one-to-one on a variable, validated as the shim
 * would, so that a typo fails here rather than in the program. */
static int check_value(int id, const char *v)
{
	uint64_t n;
	struct pt_port_list l;

	switch (id) {
	case 's':
	case OPT_CHUNK:
	case OPT_RAW_MAX:
		return pt_config_parse_size(v, &n);
	case 'm':
		return strcmp(v, "wrap") && strcmp(v, "stop") ? -EINVAL : 0;
	case OPT_MYSQL:
	case OPT_REDIS:
	case OPT_HTTP:
		return pt_config_parse_ports(v, &l);
	case OPT_SAMPLE:
		return pt_config_parse_interval(v, &n);
	case OPT_STACKS:
		return strcmp(v, "off") && strcmp(v, "slow") && strcmp(v, "all")
			   ? -EINVAL
			   : 0;
	case OPT_STACK_MIN:
		return pt_config_parse_duration(v, &n) < 0 ? -EINVAL : 0;
	case OPT_STACK_SAMPLE: /* a count, as the shim reads it */
		return *v && strspn(v, "0123456789") == strlen(v) &&
			       strlen(v) <= 9
			   ? 0
			   : -EINVAL;
	default:
		return 0;
	}
}

static int run_program(char **args)
{
	execvp(args[0], args);
	fprintf(stderr, "perftap: %s: %s\n", args[0], strerror(errno));
	return errno == ENOENT ? 127 : 126;
}

/* Signals passed on to the program when someone sends them to us. */
static const int forwarded[] = {SIGINT,	 SIGTERM, SIGHUP,
				SIGQUIT, SIGUSR1, SIGUSR2};

static uint64_t mono_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* Exit as the program did: its code, or the signal that ended it. */
static int exit_like(int status)
{
	if (WIFSIGNALED(status)) {
		int sig = WTERMSIG(status);
		signal(sig, SIG_DFL);
		sigset_t set;
		sigemptyset(&set);
		sigaddset(&set, sig);
		sigprocmask(SIG_UNBLOCK, &set, NULL);
		raise(sig);
		return 128 + sig;
	}
	return WIFEXITED(status) ? WEXITSTATUS(status) : 1;
}

/* Reap every child that ended; 1 when the program itself did. */
static int reap(pid_t child, int *status)
{
	int st, done = 0;
	pid_t p;
	while ((p = waitpid(-1, &st, WNOHANG)) > 0)
		if (p == child) {
			*status = st;
			done = 1;
		}
	return done;
}

/*
 * Fork the program and sample its tree until it ends.  The signals we
 * wait for are blocked and taken with sigtimedwait, so the loop needs no
 * handler; the child gets the original mask back before exec.
 */
static int supervise(char **args, const char *dir, uint64_t interval)
{
	sigset_t set, old;
	sigemptyset(&set);
	sigaddset(&set, SIGCHLD);
	for (size_t i = 0; i < sizeof(forwarded) / sizeof(forwarded[0]); i++)
		sigaddset(&set, forwarded[i]);
	sigprocmask(SIG_BLOCK, &set, &old);
	/* Orphaned grandchildren (double forks, daemons) come to us and stay
	 * in the sampled tree. */
	prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
	pid_t parent = getpid();
	pid_t child = fork();
	if (child < 0) {
		fprintf(stderr, "perftap: record: fork: %s\n", strerror(errno));
		return 2;
	}
	if (child == 0) {
		/* `kill -9` of record ends the program as it did when record
		 * was the program (exec): the parent-death signal, set before
		 * exec and checked against a parent gone already. */
		prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
		if (getppid() != parent)
			_exit(137);
		sigprocmask(SIG_SETMASK, &old, NULL);
		_exit(run_program(args));
	}
	struct pt_sampler s;
	int rc = sampler_open(&s, dir, (int32_t)child, interval);
	if (rc < 0)
		fprintf(stderr, "perftap: %s/samples.%d.pts: %s (no samples)\n",
			dir, (int)getpid(), strerror(-rc));
	int sampling = rc == 0, status = 0;
	uint64_t next = mono_ns();
	for (;;) {
		uint64_t now = mono_ns();
		if (now >= next) {
			if (sampling && sampler_tick(&s) < 0)
				sampling = 0; /* disk full ...: run on */
			next += interval;
			/* We were stopped: no catch-up burst. */
			if (next <= now)
				next = now + interval;
			continue;
		}
		struct timespec to = {(time_t)((next - now) / 1000000000ull),
				      (long)((next - now) % 1000000000ull)};
		siginfo_t si;
		int sig = sigtimedwait(&set, &si, &to);
		if (sig == SIGCHLD) {
			if (reap(child, &status))
				break;
		} else if (sig > 0 && si.si_code != SI_KERNEL &&
			   si.si_pid != child) {
			/* Sent to us (kill, a service manager); a terminal's
			 * ^C (SI_KERNEL) reached the program already. */
			kill(child, sig);
		}
	}
	if (sampling)
		sampler_close(&s);
	return exit_like(status);
}

int cmd_record(int argc, char **argv)
{
	static const struct option longopts[] = {
	    {"output", required_argument, NULL, 'o'},
	    {"max-size", required_argument, NULL, 's'},
	    {"mode", required_argument, NULL, 'm'},
	    {"chunk-size", required_argument, NULL, OPT_CHUNK},
	    {"raw", no_argument, NULL, OPT_RAW},
	    {"raw-max", required_argument, NULL, OPT_RAW_MAX},
	    {"routes", required_argument, NULL, OPT_ROUTES},
	    {"mysql-ports", required_argument, NULL, OPT_MYSQL},
	    {"redis-ports", required_argument, NULL, OPT_REDIS},
	    {"http-ports", required_argument, NULL, OPT_HTTP},
	    {"sample-interval", required_argument, NULL, OPT_SAMPLE},
	    {"stacks", required_argument, NULL, OPT_STACKS},
	    {"stack-min", required_argument, NULL, OPT_STACK_MIN},
	    {"stack-sample", required_argument, NULL, OPT_STACK_SAMPLE},
	    {"quiet", no_argument, NULL, 'q'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0}};
	static const struct opt_env vars[] = {
	    {'s', "PERFTAP_MAX_SIZE"},
	    {'m', "PERFTAP_MODE"},
	    {OPT_CHUNK, "PERFTAP_CHUNK_SIZE"},
	    {OPT_RAW_MAX, "PERFTAP_RAW_MAX"},
	    {OPT_ROUTES, "PERFTAP_ROUTES"},
	    {OPT_MYSQL, "PERFTAP_MYSQL_PORTS"},
	    {OPT_REDIS, "PERFTAP_REDIS_PORTS"},
	    {OPT_HTTP, "PERFTAP_HTTP_PORTS"},
	    {OPT_SAMPLE, "PERFTAP_SAMPLE_INTERVAL"},
	    {OPT_STACKS, "PERFTAP_STACKS"},
	    {OPT_STACK_MIN, "PERFTAP_STACK_MIN"},
	    {OPT_STACK_SAMPLE, "PERFTAP_STACK_SAMPLE"},
	};
	const char *dir = RECORD_DIR_DEFAULT;
	char abs[PATH_MAX], lib[PATH_MAX];
	int c;

	optind = 1;
	opterr = 0;
	/* '+': stop at the program's name, its options are its own. */
	while ((c = getopt_long(argc, argv, "+o:s:m:qh", longopts, NULL)) !=
	       -1) {
		if (c == 'h') {
			usage(stdout);
			return 0;
		}
		if (c == '?' || c == ':') {
			fprintf(stderr, "perftap: record: bad option '%s'\n",
				argv[optind - 1]);
			usage(stderr);
			return 2;
		}
		if (c == 'o') {
			dir = optarg;
		} else if (c == 'q') {
			if (setenv_checked("PERFTAP_QUIET", "1") < 0)
				return 2;
		} else if (c == OPT_RAW) {
			if (setenv_checked("PERFTAP_RAW", "1") < 0)
				return 2;
		} else {
			if (check_value(c, optarg) < 0) {
				const char *name = "?";
				for (size_t i = 0; longopts[i].name; i++)
					if (longopts[i].val == c)
						name = longopts[i].name;
				fprintf(stderr,
					"perftap: record: bad value '%s' for "
					"--%s\n",
					optarg, name);
				return 2;
			}
			for (size_t i = 0; i < sizeof(vars) / sizeof(vars[0]);
			     i++)
				if (vars[i].id == c &&
				    setenv_checked(vars[i].var, optarg) < 0)
					return 2;
		}
	}
	if (optind >= argc) {
		fprintf(stderr, "perftap: record: no program to run\n");
		usage(stderr);
		return 2;
	}
	int rc = find_lib(lib, sizeof(lib));
	if (rc < 0) {
		fprintf(stderr,
			"perftap: libperftap.so: %s (set PERFTAP_LIB to its "
			"path)\n",
			strerror(-rc));
		return 2;
	}
	if (make_dir(dir, abs, sizeof(abs)) < 0)
		return 2;
	if (setenv_checked("PERFTAP_DIR", abs) < 0 || set_preload(lib) < 0)
		return 2;
	unsetenv("PERFTAP_DISABLE");
	uint64_t interval = PT_CONFIG_SAMPLE_DEFAULT_NS;
	const char *iv = getenv("PERFTAP_SAMPLE_INTERVAL");
	if (iv && pt_config_parse_interval(iv, &interval) < 0) {
		fprintf(stderr,
			"perftap: record: bad PERFTAP_SAMPLE_INTERVAL '%s'\n",
			iv);
		return 2;
	}
	if (interval)
		return supervise(argv + optind, abs, interval);
	return run_program(argv + optind);
}
