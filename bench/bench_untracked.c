/*
 * bench_untracked.c -- what an untracked call costs: read/write on a pipe
 * and send/recv on a socketpair, the calls a preloaded program makes on
 * descriptors perftap does not decode.  Run it plain and with
 * LD_PRELOAD=libperftap.so (scripts/bench.sh alternates the two); the
 * difference is the hooks' fast path (fd lookup, one branch).
 *
 * usage: bench_untracked [--calls N] [--batches K]
 *
 * Each batch moves one byte N times through write+read (pipe) and
 * send+recv (socketpair); ns per call = batch time / (2 N).  The line
 * printed per kind gives the fastest batch (least disturbed by other
 * processes on a shared machine) and the median batch:
 *   pipe min_ns=M median_ns=D
 *   socket min_ns=M median_ns=D
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define BATCHES_MAX 200

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* One batch: n round trips of one byte; returns ns per call, or -1. */
static double batch(int wfd, int rfd, int sock, long n)
{
	char c = 'x';
	uint64_t t0 = now_ns();
	for (long i = 0; i < n; i++) {
		if (sock) {
			if (send(wfd, &c, 1, 0) != 1 ||
			    recv(rfd, &c, 1, 0) != 1)
				return -1;
		} else {
			if (write(wfd, &c, 1) != 1 || read(rfd, &c, 1) != 1)
				return -1;
		}
	}
	return (double)(now_ns() - t0) / (2.0 * (double)n);
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

static int measure(const char *name, int wfd, int rfd, int sock, long n, int k)
{
	double ns[BATCHES_MAX];
	batch(wfd, rfd, sock, n / 10 + 1); /* warm up */
	for (int i = 0; i < k; i++) {
		ns[i] = batch(wfd, rfd, sock, n);
		if (ns[i] < 0) {
			perror(name);
			return -1;
		}
	}
	qsort(ns, (size_t)k, sizeof(ns[0]), cmp_double);
	printf("%s min_ns=%.2f median_ns=%.2f\n", name, ns[0], ns[k / 2]);
	return 0;
}

int main(int argc, char **argv)
{
	long n = 200000;
	int k = 9;
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--calls") && i + 1 < argc)
			n = atol(argv[++i]);
		else if (!strcmp(argv[i], "--batches") && i + 1 < argc)
			k = atoi(argv[++i]);
		else {
			fprintf(stderr, "usage: bench_untracked [--calls N] "
					"[--batches K]\n");
			return 2;
		}
	}
	if (n < 1 || k < 1 || k > BATCHES_MAX)
		return 2;
	int p[2], s[2];
	if (pipe(p) < 0 || socketpair(AF_UNIX, SOCK_STREAM, 0, s) < 0) {
		perror("bench_untracked");
		return 1;
	}
	if (measure("pipe", p[1], p[0], 0, n, k) < 0 ||
	    measure("socket", s[0], s[1], 1, n, k) < 0)
		return 1;
	return 0;
}
