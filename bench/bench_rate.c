/*
 * bench_rate.c -- how many events per second the writer takes without a
 * drop at the default dump size, and what happens past the size limit.
 *
 * usage: bench_rate -o DIR [--rate R | --max] [--seconds S] [--threads T]
 *                   [--mode wrap|stop] [--max-size BYTES]
 *
 * T threads (default 1) emit AFIRGen-like events (a mix of Redis, MySQL
 * and HTTP texts, as the shim writes them) through the real writer, at R
 * events per second in total (paced against CLOCK_MONOTONIC every 64
 * events), or as fast as they can with --max, for S seconds.  The dump
 * uses the shim's defaults (256 MiB, 1 MiB chunks, wrap) unless told
 * otherwise.  Then the dump is read back with the report's reader and one
 * line is printed:
 *
 *   rate_target=R rate_achieved=A emitted=E emit_errors=X read=N
 *   drops=D drop_full=.. drop_wrapped=.. drop_no_chunk=.. ... capacity=C
 *   ns_per_emit=P window_s=W
 *
 * capacity is the number of events of this mix the file holds; window_s is
 * the span of time the events read back cover.  The dump is deleted.
 */
#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "dump_reader.h"
#include "writer.h"

#define THREADS_MAX 64
/* Pace check interval: a clock read per 64 events keeps pacing cost
 * under a nanosecond per event. */
#define PACE_EVERY 64

static const struct {
	uint8_t kind;
	const char *text;
} mix[] = {
    {PT_KIND_HTTP_IN, "GET /fir/{id}"},
    {PT_KIND_REDIS, "GET fir:record:*"},
    {PT_KIND_MYSQL, "select * from fir_records where fir_number = ?"},
    {PT_KIND_REDIS, "SETEX fir:record:*"},
    {PT_KIND_HTTP_IN, "GET /session/{id}/status"},
    {PT_KIND_REDIS, "GET session:*"},
    {PT_KIND_MYSQL, "select count(*) from fir_records"},
    {PT_KIND_HTTP_OUT, "POST 127.0.0.1:8001/inference"},
};
#define MIX_N (sizeof(mix) / sizeof(mix[0]))

struct shared {
	struct pt_writer w;
	double rate_per_thread; /* 0: as fast as possible */
	uint64_t start_ns, end_ns;
};

struct worker {
	pthread_t th;
	struct shared *sh;
	uint64_t emitted, errors;
};

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void *work(void *arg)
{
	struct worker *wk = arg;
	struct shared *sh = wk->sh;
	struct pt_writer_cursor *cur = calloc(1, sizeof(*cur));
	if (!cur)
		return NULL;
	pt_writer_cursor_init(cur, (uint32_t)syscall(SYS_gettid));
	uint64_t t = now_ns(), n = 0;
	while (t < sh->end_ns) {
		for (int i = 0; i < PACE_EVERY; i++, n++) {
			unsigned k = (unsigned)(n % MIX_N);
			struct pt_event ev = {
			    .kind = mix[k].kind,
			    .outcome = PT_OUT_OK,
			    .start_ns = t,
			    .duration_ns = 250000,
			    .conn_id = 7,
			    .rows = 1,
			    .bytes_out = 64,
			    .bytes_in = 200,
			    .cache_hits = 1,
			    .text = mix[k].text,
			    .text_len = strlen(mix[k].text),
			};
			if (pt_writer_emit_event(&sh->w, cur, &ev) < 0)
				wk->errors++;
		}
		t = now_ns();
		if (sh->rate_per_thread > 0) {
			/* Ahead of schedule: sleep until the next event is
			 * due (coarse sleeps, then the loop re-checks). */
			double due = (double)sh->start_ns +
				     (double)n * 1e9 / sh->rate_per_thread;
			if ((double)t < due) {
				double gap = due - (double)t;
				struct timespec ts = {
				    .tv_sec = (time_t)(gap / 1e9),
				    .tv_nsec =
					(long)((uint64_t)gap % 1000000000ull)};
				nanosleep(&ts, NULL);
				t = now_ns();
			}
		}
	}
	wk->emitted = n;
	pt_writer_cursor_release(&sh->w, cur);
	free(cur);
	return NULL;
}

struct readback {
	uint64_t events, first, last;
};

static int visit(const struct pt_read_record *rec, void *arg)
{
	struct readback *rb = arg;
	if (rec->type != PT_REC_EVENT)
		return 0;
	rb->events++;
	uint64_t t = rec->ev.start_ns;
	if (!rb->first || t < rb->first)
		rb->first = t;
	if (t > rb->last)
		rb->last = t;
	return 0;
}

static void usage(void)
{
	fprintf(stderr, "usage: bench_rate -o DIR [--rate R | --max] "
			"[--seconds S] [--threads T]\n"
			"                  [--mode wrap|stop] [--max-size "
			"BYTES]\n");
}

int main(int argc, char **argv)
{
	static const struct option lo[] = {{"rate", 1, 0, 'r'},
					   {"max", 0, 0, 'M'},
					   {"seconds", 1, 0, 's'},
					   {"threads", 1, 0, 't'},
					   {"mode", 1, 0, 'm'},
					   {"max-size", 1, 0, 'S'},
					   {0, 0, 0, 0}};
	const char *dir = NULL;
	double rate = 200000, seconds = 5;
	int threads = 1, ch;
	uint64_t max_size = 0;
	enum pt_limit_mode mode = PT_MODE_WRAP;
	while ((ch = getopt_long(argc, argv, "o:", lo, NULL)) != -1) {
		switch (ch) {
		case 'o':
			dir = optarg;
			break;
		case 'r':
			rate = atof(optarg);
			break;
		case 'M':
			rate = 0;
			break;
		case 's':
			seconds = atof(optarg);
			break;
		case 't':
			threads = atoi(optarg);
			break;
		case 'm':
			mode = strcmp(optarg, "stop") ? PT_MODE_WRAP
						      : PT_MODE_STOP;
			break;
		case 'S':
			max_size = strtoull(optarg, NULL, 10);
			break;
		default:
			usage();
			return 2;
		}
	}
	if (!dir || threads < 1 || threads > THREADS_MAX || seconds <= 0 ||
	    rate < 0) {
		usage();
		return 2;
	}
	static struct shared sh;
	struct pt_writer_config wc = {.dir = dir,
				      .name_hint = "bench_rate",
				      .max_size = max_size,
				      .mode = mode};
	int rc = pt_writer_open(&sh.w, &wc);
	if (rc < 0) {
		fprintf(stderr, "bench_rate: %s: %s\n", dir, strerror(-rc));
		return 1;
	}
	sh.rate_per_thread = rate / threads;
	sh.start_ns = now_ns();
	sh.end_ns = sh.start_ns + (uint64_t)(seconds * 1e9);
	static struct worker wk[THREADS_MAX];
	for (int i = 0; i < threads; i++) {
		wk[i].sh = &sh;
		if (pthread_create(&wk[i].th, NULL, work, &wk[i]) != 0) {
			fprintf(stderr, "bench_rate: pthread_create failed\n");
			return 1;
		}
	}
	uint64_t emitted = 0, errors = 0;
	for (int i = 0; i < threads; i++) {
		pthread_join(wk[i].th, NULL);
		emitted += wk[i].emitted;
		errors += wk[i].errors;
	}
	double took = (double)(now_ns() - sh.start_ns) / 1e9;
	uint32_t chunk = sh.w.chunk_size, slots = sh.w.chunk_slots;
	char path[sizeof(sh.w.path)];
	memcpy(path, sh.w.path, sizeof(path));
	pt_writer_close(&sh.w);

	char err[256];
	struct pt_dump *d = pt_dump_open(path, err, sizeof(err));
	if (!d) {
		fprintf(stderr, "bench_rate: %s: %s\n", path, err);
		return 1;
	}
	struct readback rb = {0};
	pt_dump_foreach(d, visit, &rb);
	const struct pt_dump_info *inf = pt_dump_info(d);
	uint64_t drops = 0;
	for (int i = 0; i < PT_DROP_CAUSE_COUNT; i++)
		drops += inf->drops[i];
	/* Events of this mix one chunk holds, from what was read back: each
	 * event record is 64 bytes, plus one string per text per chunk. */
	uint64_t per_chunk = (chunk - sizeof(struct pt_chunk_header)) /
			     sizeof(struct pt_event_record);
	printf("rate_target=%.0f rate_achieved=%.0f emitted=%llu "
	       "emit_errors=%llu read=%llu drops=%llu drop_full=%llu "
	       "drop_wrapped=%llu drop_no_chunk=%llu drop_other=%llu "
	       "capacity=%llu ns_per_emit=%.1f window_s=%.2f threads=%d "
	       "mode=%s\n",
	       rate, (double)emitted / took, (unsigned long long)emitted,
	       (unsigned long long)errors, (unsigned long long)rb.events,
	       (unsigned long long)drops,
	       (unsigned long long)inf->drops[PT_DROP_FULL],
	       (unsigned long long)inf->drops[PT_DROP_WRAPPED],
	       (unsigned long long)inf->drops[PT_DROP_NO_CHUNK],
	       (unsigned long long)(drops - inf->drops[PT_DROP_FULL] -
				    inf->drops[PT_DROP_WRAPPED] -
				    inf->drops[PT_DROP_NO_CHUNK]),
	       (unsigned long long)(per_chunk * slots),
	       took * 1e9 * threads / (double)(emitted ? emitted : 1),
	       (double)(rb.last - rb.first) / 1e9, threads,
	       mode == PT_MODE_STOP ? "stop" : "wrap");
	pt_dump_close(d);
	unlink(path);
	return 0;
}
