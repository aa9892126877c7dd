/*
 * sampler.h -- resource samples of a process tree, read from /proc, for
 * `perftap record` (the supervisor).
 *
 * Design (issue 13, "Resources per process, over time"): the shim adds no
 * thread and no timer signal to the host.  Instead `perftap record` forks
 * the program, stays as its parent (a child subreaper, so that orphaned
 * grandchildren stay in its tree) and every interval reads, for every
 * process descended from it (found by scanning /proc for parent pids, so
 * forks and execs are included): CPU user and system time, RSS and its
 * peak (VmHWM), voluntary and involuntary context switches, storage read
 * and write bytes (/proc/PID/io), open fds and threads.  The samples go to
 * `samples.<supervisor pid>.pts` in the dump directory (layout: struct
 * pt_samples_header in dump_format.h), one write() per interval.  The
 * report merges them with the dumps by pid.
 *
 * Errors: -errno, never printed here; the caller says it once.
 */
#ifndef PERFTAP_SAMPLER_H
#define PERFTAP_SAMPLER_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "perftap/dump_format.h"

#define PT_SAMPLER_MAX_PROCS 4096 /* processes sampled per tick, at most */

struct pt_proc_entry {
	int32_t pid, ppid;
	uint64_t utime_ticks, stime_ticks;
	uint32_t threads;
	int keep; /* descends from the supervisor */
};

struct pt_sampler {
	int fd; /* the side file */
	int32_t self;
	long hz; /* clock ticks per second (utime, stime) */
	struct pt_proc_entry *procs;
	size_t nprocs, cap;
	struct pt_sample_record *out; /* one tick's records */
	int32_t *foreign; /* pids outside the tree, sorted (sampler.c) */
	size_t nforeign;
	uint64_t ticks, records;
	char path[4096];
};

/* Read one process's figures at time now_ns (CLOCK_MONOTONIC) from
 * /proc/pid.  Returns 0, or -errno (the process is gone, or a zombie:
 * -ESRCH). */
int sampler_read_proc(int32_t pid, uint64_t now_ns, long hz,
		      struct pt_sample_record *out);

/* Create the side file in dir for the tree of this process, root being
 * the program it started.  Returns 0 or -errno. */
int sampler_open(struct pt_sampler *s, const char *dir, int32_t root,
		 uint64_t interval_ns);

/* Sample every descendant of this process now and append the records.
 * Returns the number of processes sampled, or -errno. */
int sampler_tick(struct pt_sampler *s);

void sampler_close(struct pt_sampler *s);

#endif /* PERFTAP_SAMPLER_H */
