/*
 * history.h -- the history of runs in an SQLite database: per run its
 * time, label and host, and per operation the baseline's fields
 * (baseline.h: mean, median, p95, p99, max in ms, iterations, and the
 * bounded sample the significance test needs) plus its rate.
 *
 * Several processes may add runs at once: each add is one IMMEDIATE
 * transaction and waits up to HISTORY_BUSY_MS for the lock.  A file that
 * is not SQLite, or an SQLite database that is not a perftap history
 * (another application_id, or tables without ours), is refused.
 */
#ifndef PERFTAP_HISTORY_H
#define PERFTAP_HISTORY_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "analysis.h"
#include "baseline.h"

#define HISTORY_BUSY_MS 30000 /* CI jobs finishing together */

struct pt_history;

/* Open (creating when absent) the database at path.  NULL with a
 * one-line reason in err. */
struct pt_history *history_open(const char *path, int create, char *err,
				size_t errlen);
void history_close(struct pt_history *h);

/* Store a run: a's operations (as baseline_save would write them).
 * Returns the run id, or -1 with a reason. */
int64_t history_add(struct pt_history *h, const struct pt_analysis *a,
		    const char *label, char *err, size_t errlen);

/* One line per run, newest last, to out (text or JSON). */
int history_show(struct pt_history *h, FILE *out, int json, char *err,
		 size_t errlen);

/* The operation key's p50/p95/p99 and rate over the last n runs. */
int history_trend(struct pt_history *h, const char *key, size_t n,
		  const char *format, FILE *out, char *err, size_t errlen);

/* A baseline from the last n runs: per operation, each aggregate is the
 * mean of the runs' values and the sample is the runs' samples pooled;
 * compare's rule (limit and Mann-Whitney) then applies unchanged. */
int history_baseline(struct pt_history *h, size_t n, struct pt_baseline *b,
		     char *err, size_t errlen);

#endif /* PERFTAP_HISTORY_H */
