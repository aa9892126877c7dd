/*
 * bench_normalize.c -- cost of the normalizers on AFIRGen's own text: SQL
 * fingerprints, Redis key patterns and HTTP routes, per call and per input
 * byte.
 *
 * usage: bench_normalize [--iterations N] [--repeat R] [NAME...]
 *
 * Prints one line per input:
 *   NAME bytes=B ns_per_call median=M min=A ns_per_byte=M/B
 * (median and min over R repeats of N calls each).  Wall-clock figures on
 * a shared machine are noisy; for a stable figure run it under
 *   valgrind --tool=callgrind bench_normalize --iterations N NAME
 * with two values of N and divide the difference in instructions by the
 * difference in N (set-up cost cancels out).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "normalize.h"

enum which { W_SQL, W_KEY, W_ROUTE };

struct input {
	const char *name;
	enum which fn;
	const char *text;
};

static const struct input inputs[] = {
    {"sql_point_select", W_SQL,
     "SELECT * FROM fir_records WHERE fir_number = "
     "'FIR-1a2b3c4d-20260115093000'"},
    {"sql_keyset", W_SQL,
     "SELECT id, fir_number, status, created_at FROM fir_records WHERE "
     "created_at < '2026-01-15 09:30:00' OR (created_at = '2026-01-15 "
     "09:30:00' AND id < 1234) ORDER BY created_at DESC, id DESC LIMIT 21"},
    {"sql_insert_7", W_SQL,
     "INSERT INTO fir_records (fir_number, complainant_name, description, "
     "status, created_at, updated_at, police_station) VALUES "
     "('FIR-1a2b3c4d-20260115093000', 'Ravi Kumar', 'Phone stolen near the "
     "bus stand at 9pm', 'draft', '2026-01-15 09:30:00', '2026-01-15 "
     "09:30:00', 'PS-Central-12')"},
    {"sql_metrics", W_SQL,
     "SELECT status, COUNT(*), AVG(TIMESTAMPDIFF(SECOND, created_at, "
     "finalized_at)) FROM fir_records WHERE created_at >= NOW() - INTERVAL "
     "1 HOUR GROUP BY status"},
    {"sql_update_pyformat", W_SQL,
     "UPDATE fir_records SET status=%s, finalized_at=NOW() WHERE "
     "fir_number=%s"},
    {"sql_in_list", W_SQL,
     "SELECT fir_number, status FROM fir_records WHERE id IN (101, 102, "
     "103, 104, 105, 106, 107, 108, 109, 110)"},
    {"key_record", W_KEY, "fir:record:FIR-1a2b3c4d-20260115093000"},
    {"key_stats", W_KEY, "fir:stats:count_by_status"},
    {"key_session", W_KEY, "session:8f14e45fceea167a5a36dedd4bea2543"},
    {"route_fir_content", W_ROUTE,
     "/fir/FIR-1a2b3c4d-20260115093000/content?format=json"},
    {"route_health", W_ROUTE, "/health"},
    {"route_list", W_ROUTE, "/api/v1/firs?status=draft&limit=20&offset=40"},
};

static double now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

static size_t run(const struct input *in, long iterations)
{
	char out[1024];
	size_t len = strlen(in->text), sum = 0;
	for (long i = 0; i < iterations; i++) {
		/* the asm keeps the compiler from hoisting the pure call */
		__asm__ volatile("" ::: "memory");
		switch (in->fn) {
		case W_SQL:
			sum +=
			    pt_sql_fingerprint(in->text, len, out, sizeof(out));
			break;
		case W_KEY:
			sum += pt_redis_key_pattern(in->text, len, out,
						    sizeof(out));
			break;
		case W_ROUTE:
			sum += pt_http_route(in->text, len, NULL, out,
					     sizeof(out));
			break;
		}
	}
	return sum;
}

static int selected(const char *name, int argc, char **argv, int first)
{
	if (first >= argc)
		return 1;
	for (int i = first; i < argc; i++)
		if (strcmp(argv[i], name) == 0 ||
		    (strcmp(argv[i], "sql") == 0 &&
		     strncmp(name, "sql", 3) == 0) ||
		    (strcmp(argv[i], "key") == 0 &&
		     strncmp(name, "key", 3) == 0) ||
		    (strcmp(argv[i], "route") == 0 &&
		     strncmp(name, "route", 5) == 0))
			return 1;
	return 0;
}

int main(int argc, char **argv)
{
	long iterations = 200000;
	int repeat = 7, first = 1;
	volatile size_t sink = 0;

	while (first < argc && strncmp(argv[first], "--", 2) == 0) {
		if (first + 1 >= argc) {
			fprintf(stderr, "bench_normalize: %s needs a value\n",
				argv[first]);
			return 2;
		}
		if (strcmp(argv[first], "--iterations") == 0)
			iterations = atol(argv[first + 1]);
		else if (strcmp(argv[first], "--repeat") == 0)
			repeat = atoi(argv[first + 1]);
		else {
			fprintf(stderr, "usage: bench_normalize [--iterations "
					"N] [--repeat R] [NAME...]\n");
			return 2;
		}
		first += 2;
	}
	if (iterations < 1 || repeat < 1 || repeat > 100) {
		fprintf(stderr, "bench_normalize: bad --iterations/--repeat\n");
		return 2;
	}
	for (size_t k = 0; k < sizeof(inputs) / sizeof(inputs[0]); k++) {
		const struct input *in = &inputs[k];
		double t[100];
		size_t len = strlen(in->text);
		if (!selected(in->name, argc, argv, first))
			continue;
		for (int r = 0; r < repeat; r++) {
			double a = now_ns();
			sink += run(in, iterations);
			t[r] = (now_ns() - a) / (double)iterations;
		}
		qsort(t, (size_t)repeat, sizeof(t[0]), cmp_double);
		printf("%-20s bytes=%-4zu ns_per_call median=%.1f min=%.1f "
		       "ns_per_byte=%.2f\n",
		       in->name, len, t[repeat / 2], t[0],
		       t[repeat / 2] / (double)len);
	}
	return sink == 0; /* never true: keeps the calls */
}
