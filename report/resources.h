/*
 * resources.h -- the processes' CPU and memory over time: samples from the
 * dumps (PT_REC_SAMPLE, taken by the shim) and from `perftap record`'s
 * side files (samples.*.pts, see sampler.h), merged by pid, and the
 * per-process figures the report shows.
 *
 * Merging: a pid with any supervisor sample uses only those (they are
 * taken on time and carry I/O, fds and threads); otherwise its shim
 * samples.  Cumulative counters are since the process started, so CPU
 * time is the last sample's user + system; CPU % is the change between
 * samples over the time between them (100% = one core busy).
 */
#ifndef PERFTAP_RESOURCES_H
#define PERFTAP_RESOURCES_H

#include <stddef.h>
#include <stdint.h>

#include "perftap/dump_format.h"

struct pt_model;
struct pt_analysis;

/* One process's samples, time_ns on the wall clock. */
struct pt_proc_series {
	int32_t pid;
	int supervised; /* some sample came from `perftap record` */
	struct pt_sample_record *v;
	size_t n, cap;
};

struct pt_model_series {
	struct pt_proc_series *v;
	size_t n, cap;
	uint64_t files;	      /* side files read */
	uint64_t bad_samples; /* side-file records skipped */
};

/* What the report shows per process. */
struct pt_proc_res {
	int32_t pid;
	const char *name; /* exe basename from a dump of that pid, or "" */
	int supervised;
	size_t nsamples;
	uint64_t first_ns, last_ns;  /* wall clock of the first/last sample */
	double cpu_s, user_s, sys_s; /* cumulative, at the last sample */
	double cpu_mean, cpu_max; /* fractions of one core; -1: < 2 samples */
	uint64_t rss_peak, rss_last;
	uint64_t read_bytes, write_bytes; /* -1 (UINT64_MAX): not known */
	uint64_t vol_ctxsw, invol_ctxsw;
	uint32_t fds_max, threads_max; /* 0: not known */
	const struct pt_proc_series *series;
};

/* Add one sample (already checked) whose time is rt on the wall clock. */
int resources_add(struct pt_model *m, const struct pt_sample_record *r,
		  uint64_t rt);

/* Is path a samples side file (by its magic)? */
int resources_is_file(const char *path);

/* Read a side file into m.  A file that is not a readable samples file:
 * -1 with a one-line reason in err; bad records are skipped and counted. */
int resources_read_file(struct pt_model *m, const char *path, char *err,
			size_t errlen);

/* Per-process figures into a->res (sorted by pid).  0 or -1 (memory). */
int resources_build(struct pt_analysis *a);

void resources_model_free(struct pt_model *m);

#endif /* PERFTAP_RESOURCES_H */
