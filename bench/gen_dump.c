/*
 * gen_dump.c -- write a synthetic perftap dump with the real writer: an
 * AFIRGen-like mix of served requests, cache-aside reads, SQL of every
 * class and model-server calls, reproducible from a seed.
 *
 * usage: gen_dump -o DIR [-n EVENTS] [-s SEED] [--duration SEC]
 *                 [--threads N] [--slow-op TEXT --slow-factor F]
 *                 [--scale F] [--jitter F] [--start-offset SEC]
 *                 [--drops N] [--undecodable N] [--raw] [--no-process]
 *
 * Each worker thread serves one request at a time (a request takes the
 * earliest free worker), so a thread's events are written in completion
 * order as the shim writes them, and the in-flight count varies between
 * 1 and --threads.  Prints the dump's path.
 *
 *   --slow-op TEXT --slow-factor F  multiply the durations of the
 *                       operation whose text is TEXT (e.g. "GET /fir/{id}")
 *   --scale F           multiply every duration by F (a systematic shift)
 *   --jitter F          multiply each duration by a uniform factor in
 *                       [1-F, 1+F] (noise with an unchanged mean)
 */
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "writer.h"

#define MAX_THREADS 64

struct gen {
	struct pt_writer w;
	struct pt_writer_cursor *cur; /* one per worker */
	uint64_t rng;
	uint64_t left; /* events still to write */
	const char *slow_op;
	double slow_factor, scale, jitter;
	int no_process;
};

static uint64_t rnd(struct gen *g)
{
	/* xorshift64*: fast, and the same stream for the same seed. */
	g->rng ^= g->rng >> 12;
	g->rng ^= g->rng << 25;
	g->rng ^= g->rng >> 27;
	return g->rng * 2685821657736338717ull;
}

static double uniform(struct gen *g)
{
	return (double)(rnd(g) >> 11) / 9007199254740992.0;
}

/* Log-normal around median_us with shape sigma. */
static uint64_t lognormal(struct gen *g, double median_us, double sigma)
{
	double u1 = uniform(g), u2 = uniform(g);
	double z = sqrt(-2.0 * log(u1 + 1e-300)) * cos(2 * M_PI * u2);
	return (uint64_t)(median_us * 1000.0 * exp(sigma * z));
}

static uint64_t adjust(struct gen *g, const char *text, uint64_t d)
{
	double f = g->scale;
	if (g->slow_op && !strcmp(text, g->slow_op))
		f *= g->slow_factor;
	if (g->jitter > 0)
		f *= 1.0 + g->jitter * (2.0 * uniform(g) - 1.0);
	return (uint64_t)((double)d * f);
}

/* Emit one event starting at *t; advances *t past it.  Returns its
 * duration. */
static uint64_t emit(struct gen *g, int th, uint64_t *t, uint8_t kind,
		     const char *text, uint64_t dur, uint8_t outcome,
		     int32_t status, int hits, int misses)
{
	if (!g->left)
		return 0;
	dur = adjust(g, text, dur);
	struct pt_event ev = {
	    .kind = kind,
	    .outcome = outcome,
	    .start_ns = *t,
	    .duration_ns = dur,
	    .conn_id = 1000u + (uint32_t)th * 4 + kind,
	    .status = status,
	    .rows = 1,
	    .bytes_out = 100,
	    .bytes_in = 200,
	    .cache_hits = (uint32_t)hits,
	    .cache_misses = (uint32_t)misses,
	    .text = text,
	    .text_len = strlen(text),
	};
	pt_writer_emit_event(&g->w, &g->cur[th], &ev);
	g->left--;
	*t += dur + 20000; /* 20 us between a thread's operations */
	return dur;
}

static void fir_get(struct gen *g, int th, uint64_t *t)
{
	if (uniform(g) < 0.85) {
		emit(g, th, t, PT_KIND_REDIS, "GET fir:record:*",
		     lognormal(g, 300, 0.3), PT_OUT_OK, 0, 1, 0);
		return;
	}
	emit(g, th, t, PT_KIND_REDIS, "GET fir:record:*",
	     lognormal(g, 250, 0.3), PT_OUT_OK, 0, 0, 1);
	emit(g, th, t, PT_KIND_MYSQL,
	     "select * from fir_records where fir_number = ?",
	     lognormal(g, 1500, 0.4), PT_OUT_OK, 0, 0, 0);
	emit(g, th, t, PT_KIND_REDIS, "SETEX fir:record:*",
	     lognormal(g, 350, 0.3), PT_OUT_OK, 0, 0, 0);
}

static void list_firs(struct gen *g, int th, uint64_t *t)
{
	emit(g, th, t, PT_KIND_MYSQL,
	     "select id, fir_number, status, created_at from fir_records "
	     "where created_at < ? or (created_at = ? and id < ?) order by "
	     "created_at desc, id desc limit ?",
	     lognormal(g, 4000, 0.4), PT_OUT_OK, 0, 0, 0);
	emit(g, th, t, PT_KIND_MYSQL, "select count(*) from fir_records",
	     lognormal(g, 2500, 0.3), PT_OUT_OK, 0, 0, 0);
}

static void validate(struct gen *g, int th, uint64_t *t)
{
	emit(g, th, t, PT_KIND_MYSQL, "begin", lognormal(g, 200, 0.2),
	     PT_OUT_OK, 0, 0, 0);
	int dup = uniform(g) < 0.01;
	emit(g, th, t, PT_KIND_MYSQL,
	     "insert into fir_records (fir_number, session_id, user_id, "
	     "complaint_text, fir_content, violations_json, status) values "
	     "(?, ?, ?, ?, ?, ?, ?)",
	     lognormal(g, 3000, 0.4), dup ? PT_OUT_ERROR : PT_OUT_OK,
	     dup ? 1062 : 0, 0, 0);
	emit(g, th, t, PT_KIND_MYSQL, dup ? "rollback" : "commit",
	     lognormal(g, 800, 0.3), PT_OUT_OK, 0, 0, 0);
	if (uniform(g) < 0.1)
		emit(g, th, t, PT_KIND_MYSQL,
		     "insert into violations (fir_id, section, description) "
		     "values (?, ?, ?),(?, ?, ?)",
		     lognormal(g, 5000, 0.4), PT_OUT_OK, 0, 0, 0);
}

static void metrics(struct gen *g, int th, uint64_t *t)
{
	if (uniform(g) < 0.7) {
		emit(g, th, t, PT_KIND_REDIS, "GET fir:stats:count_by_status",
		     lognormal(g, 280, 0.3), PT_OUT_OK, 0, 1, 0);
		return;
	}
	emit(g, th, t, PT_KIND_REDIS, "GET fir:stats:count_by_status",
	     lognormal(g, 260, 0.3), PT_OUT_OK, 0, 0, 1);
	emit(g, th, t, PT_KIND_MYSQL,
	     "select status, count(*), avg(timestampdiff(second, created_at, "
	     "finalized_at)) from fir_records where created_at > ? group by "
	     "status",
	     lognormal(g, 9000, 0.5), PT_OUT_OK, 0, 0, 0);
	emit(g, th, t, PT_KIND_REDIS, "SETEX fir:stats:count_by_status",
	     lognormal(g, 330, 0.3), PT_OUT_OK, 0, 0, 0);
}

static void search(struct gen *g, int th, uint64_t *t)
{
	emit(g, th, t, PT_KIND_MYSQL,
	     "select f.id, f.fir_number from firs f join violations v on "
	     "v.fir_id = f.id where f.user_id = ?",
	     lognormal(g, 6000, 0.4), PT_OUT_OK, 0, 0, 0);
	emit(g, th, t, PT_KIND_MYSQL,
	     "select id, fir_number from fir_records where match "
	     "(complaint_text, fir_content) against (? in natural language "
	     "mode)",
	     lognormal(g, 15000, 0.5), PT_OUT_OK, 0, 0, 0);
}

/* One served request on worker th starting at t0; returns its end. */
static uint64_t request(struct gen *g, int th, uint64_t t0)
{
	static const char *const routes[] = {
	    "GET /fir/{id}",  "GET /session/{id}/status",
	    "GET /list_firs", "POST /validate",
	    "GET /metrics",   "GET /search",
	    "POST /process",  "GET /fir/{id}/content"};
	static const double mix[] = {0.40, 0.55,  0.65, 0.85,
				     0.90, 0.945, 0.95, 1.0};
	double u = uniform(g);
	int r = 0;
	while (u > mix[r])
		r++;
	uint64_t t = t0 + 50000;
	if (r == 0 || r == 7)
		fir_get(g, th, &t);
	else if (r == 2)
		list_firs(g, th, &t);
	else if (r == 3)
		validate(g, th, &t);
	else if (r == 4)
		metrics(g, th, &t);
	else if (r == 5)
		search(g, th, &t);
	else if (r == 6 && !g->no_process)
		emit(g, th, &t, PT_KIND_HTTP_OUT,
		     "POST 127.0.0.1:8001/inference", lognormal(g, 12e6, 0.15),
		     PT_OUT_HTTP, 200, 0, 0);
	t += lognormal(g, 800, 0.3); /* framework overhead */
	int fail = uniform(g) < 0.005;
	uint64_t t_req = t0;
	emit(g, th, &t_req, PT_KIND_HTTP_IN, routes[r], t - t0, PT_OUT_HTTP,
	     fail ? 500 : 200, 0, 0);
	return t0 + (t - t0);
}

struct opts {
	const char *dir, *slow_op;
	uint64_t events, seed, drops, undecodable;
	double duration, slow_factor, scale, jitter, offset;
	int threads, raw, no_process;
};

static int parse(int argc, char **argv, struct opts *o)
{
	static const struct option lo[] = {
	    {"duration", 1, 0, 'd'},	 {"threads", 1, 0, 't'},
	    {"slow-op", 1, 0, 'S'},	 {"slow-factor", 1, 0, 'F'},
	    {"scale", 1, 0, 'k'},	 {"jitter", 1, 0, 'j'},
	    {"start-offset", 1, 0, 'O'}, {"drops", 1, 0, 'D'},
	    {"undecodable", 1, 0, 'U'},	 {"raw", 0, 0, 'R'},
	    {"no-process", 0, 0, 'P'},	 {0, 0, 0, 0}};
	*o = (struct opts){.events = 10000,
			   .seed = 1,
			   .duration = 60,
			   .slow_factor = 1,
			   .scale = 1,
			   .threads = 16};
	int ch;
	while ((ch = getopt_long(argc, argv, "o:n:s:", lo, NULL)) != -1) {
		switch (ch) {
		case 'o':
			o->dir = optarg;
			break;
		case 'n':
			o->events = strtoull(optarg, NULL, 10);
			break;
		case 's':
			o->seed = strtoull(optarg, NULL, 10);
			break;
		case 'd':
			o->duration = atof(optarg);
			break;
		case 't':
			o->threads = atoi(optarg);
			break;
		case 'S':
			o->slow_op = optarg;
			break;
		case 'F':
			o->slow_factor = atof(optarg);
			break;
		case 'k':
			o->scale = atof(optarg);
			break;
		case 'j':
			o->jitter = atof(optarg);
			break;
		case 'O':
			o->offset = atof(optarg);
			break;
		case 'D':
			o->drops = strtoull(optarg, NULL, 10);
			break;
		case 'U':
			o->undecodable = strtoull(optarg, NULL, 10);
			break;
		case 'R':
			o->raw = 1;
			break;
		case 'P':
			o->no_process = 1;
			break;
		default:
			return -1;
		}
	}
	if (!o->dir || o->threads < 1 || o->threads > MAX_THREADS ||
	    o->duration <= 0) {
		fprintf(stderr, "usage: gen_dump -o DIR [-n EVENTS] [-s SEED] "
				"[--duration SEC] [--threads N]\n  [--slow-op "
				"TEXT --slow-factor F] [--scale F] [--jitter F]"
				"\n  [--start-offset SEC] [--drops N] "
				"[--undecodable N] [--raw] [--no-process]\n");
		return -1;
	}
	return 0;
}

static void generate(struct gen *g, const struct opts *o, uint64_t t0)
{
	uint64_t free_at[MAX_THREADS];
	for (int i = 0; i < o->threads; i++)
		free_at[i] = t0;
	/* Mean events per request is about 3; spread requests evenly. */
	double gap = o->duration * 1e9 / ((double)o->events / 3.0 + 1);
	double arrival = (double)t0;
	while (g->left) {
		arrival += -log(uniform(g) + 1e-12) * gap;
		int best = 0;
		for (int i = 1; i < o->threads; i++)
			if (free_at[i] < free_at[best])
				best = i;
		uint64_t start = (uint64_t)arrival;
		if (free_at[best] > start)
			start = free_at[best];
		free_at[best] = request(g, best, start) + 1000;
	}
}

int main(int argc, char **argv)
{
	struct opts o;
	if (parse(argc, argv, &o) < 0)
		return 2;
	static struct gen g;
	g.rng = o.seed * 0x9E3779B97F4A7C15ull + 1;
	g.left = o.events;
	g.slow_op = o.slow_op;
	g.slow_factor = o.slow_factor;
	g.scale = o.scale;
	g.jitter = o.jitter;
	g.no_process = o.no_process;
	struct pt_writer_config cfg = {.dir = o.dir,
				       .name_hint = "gen_dump",
				       .max_size =
					   o.events * 96 + (64ull << 20),
				       .mode = PT_MODE_STOP,
				       .flags = o.raw ? PT_HDR_RAW_TEXT : 0,
				       .exe = "/usr/bin/gen_dump",
				       .argc = argc,
				       .argv = argv,
				       .settings = "PERFTAP_SYNTHETIC=1\n"};
	int rc = pt_writer_open(&g.w, &cfg);
	if (rc < 0) {
		fprintf(stderr, "gen_dump: %s: %s\n", o.dir, strerror(-rc));
		return 1;
	}
	g.cur = calloc((size_t)o.threads, sizeof(*g.cur));
	if (!g.cur)
		return 1;
	for (int i = 0; i < o.threads; i++)
		pt_writer_cursor_init(&g.cur[i], 100u + (uint32_t)i);
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	uint64_t t0 = (uint64_t)ts.tv_sec * 1000000000ull +
		      (uint64_t)ts.tv_nsec + (uint64_t)(o.offset * 1e9);
	generate(&g, &o, t0);
	for (uint64_t i = 0; i < o.drops; i++)
		pt_writer_count_drop(&g.w, PT_DROP_FULL);
	for (uint64_t i = 0; i < o.undecodable; i++)
		pt_writer_count(&g.w, PT_CNT_CONN_UNDECODABLE);
	for (int i = 0; i < o.threads; i++)
		pt_writer_cursor_release(&g.w, &g.cur[i]);
	printf("%s\n", g.w.path);
	pt_writer_close(&g.w);
	free(g.cur);
	return 0;
}
