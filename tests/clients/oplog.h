/*
 * oplog.h -- the per-operation timing log the C test clients keep: each
 * operation's CLOCK_MONOTONIC start and wall time, measured around the
 * client-library call(s) that make it, and the thread that ran it.
 *
 * The integration tests match the shim's events to these by thread and by
 * time: every event of an operation must lie inside that operation's
 * [start, start + lat] and so last no longer than lat.  The log is printed
 * on stderr at the end ("op TID NAME START_NS LAT_NS" lines), so stdout
 * holds only what must be the same with and without the shim.
 *
 * No allocation while operations run: a fixed array filled through one
 * atomic index, shared by every thread.
 */
#ifndef PERFTAP_TEST_OPLOG_H
#define PERFTAP_TEST_OPLOG_H

#include <stdint.h>
#include <stdio.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

/* Enough for the largest workload (16 threads x a few thousand ops). */
#define OPLOG_MAX 200000

struct oplog_entry {
	uint64_t start, lat;
	uint32_t tid;
	const char *name; /* a string literal */
};

static struct oplog_entry oplog[OPLOG_MAX];
static uint32_t oplog_n;    /* atomic: next free entry */
static uint32_t oplog_lost; /* atomic: entries past OPLOG_MAX */

static inline uint64_t oplog_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* Record one operation that started at start (oplog_now()) and ends now. */
static inline void oplog_add(const char *name, uint64_t start)
{
	uint64_t end = oplog_now();
	/* Relaxed: each entry is written by one thread and read only after
	 * every thread has been joined. */
	uint32_t i = __atomic_fetch_add(&oplog_n, 1, __ATOMIC_RELAXED);
	if (i >= OPLOG_MAX) {
		__atomic_fetch_add(&oplog_lost, 1, __ATOMIC_RELAXED);
		return;
	}
	oplog[i].start = start;
	oplog[i].lat = end - start;
	oplog[i].tid = (uint32_t)syscall(SYS_gettid);
	oplog[i].name = name;
}

/* Print every entry on stderr (after all threads are joined). */
static inline void oplog_print(void)
{
	uint32_t n = oplog_n < OPLOG_MAX ? oplog_n : OPLOG_MAX;
	for (uint32_t i = 0; i < n; i++)
		fprintf(stderr, "op %u %s %llu %llu\n", oplog[i].tid,
			oplog[i].name, (unsigned long long)oplog[i].start,
			(unsigned long long)oplog[i].lat);
	if (oplog_lost)
		fprintf(stderr, "oplog lost %u\n", oplog_lost);
	fflush(stderr);
}

#endif /* PERFTAP_TEST_OPLOG_H */
