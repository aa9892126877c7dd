/*
 * fuzz_report.c -- libFuzzer target for the whole of `perftap report`
 * past the reader: dump bytes through report/load.c, report/model.c, the
 * analysis and every output format.
 *
 * Built by `make fuzz` (see the Makefile); the input is a dump file, the
 * same corpus as fuzz_dump_reader.  The input is written to a memfd and
 * loaded through /proc/self/fd/N by load_inputs, as `perftap report DUMP`
 * does, twice: through the chunk views (what the command does) and
 * through the time-ordered merge (--ordered).  Checks, beyond "no crash,
 * no UB" (ASan, UBSan):
 *   - both ways load or both refuse, and agree on the events kept, the
 *     number of operations and every operation's count (load.c promises
 *     "the same figures");
 *   - analysis_build succeeds on whatever loaded;
 *   - a format (text verbose and not, json, markdown, junit, csv, html,
 *     otlp, prometheus) writes without an error, to /dev/null.
 *
 * Which format: one per input, picked by a hash of its bytes, so that an
 * execution pays for one writer instead of nine (the writers were two
 * thirds of an execution) and every mutation of an input can land on any
 * writer; across a smoke of thousands of executions each writer runs
 * hundreds of times.  PERFTAP_FUZZ_ALL_FORMATS=1 (set by `fuzz.sh replay`)
 * runs every writer on the one input, so a regression input is replayed
 * through all of them whichever writer it was found in.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "analysis.h"
#include "callsites.h"
#include "format.h"
#include "load.h"
#include "model.h"

static FILE *devnull;
static int all_formats; /* PERFTAP_FUZZ_ALL_FORMATS=1 */

static int load(struct pt_model *m, char *path, int ordered)
{
	struct pt_load_opts o = {NULL, NULL, 0, ordered};
	char *paths[] = {path};
	model_init(m);
	/* Call sites from the stacks (chunk-order load only: the ordered
	 * merge does not read them). */
	if (!ordered && (m->callsites = malloc(sizeof(*m->callsites))) &&
	    callsites_init(m->callsites, NULL, NULL, 0) < 0)
		abort();
	int rc = load_inputs(m, paths, 1, &o);
	if (m->callsites)
		callsites_seal(m->callsites);
	return rc;
}

static void check_same(const struct pt_model *a, const struct pt_model *b)
{
	if (a->events != b->events || a->nops != b->nops) {
		fprintf(stderr,
			"invariant: chunks %llu events %zu ops, "
			"ordered %llu events %zu ops\n",
			(unsigned long long)a->events, a->nops,
			(unsigned long long)b->events, b->nops);
		abort();
	}
	/* Operations are made in the order events are met, which differs
	 * between the two ways: compare the multiset of counts per kind. */
	uint64_t sa[256] = {0}, sb[256] = {0};
	for (size_t i = 0; i < a->nops; i++) {
		sa[a->ops[i].kind] += a->ops[i].count;
		sb[b->ops[i].kind] += b->ops[i].count;
	}
	if (memcmp(sa, sb, sizeof(sa)) != 0) {
		fprintf(stderr, "invariant: per-kind counts differ\n");
		abort();
	}
}

#define NFORMATS format_count()

/* Writer `which` of the format table, or NFORMATS for text (the first)
 * again with colour, every row and verbose. */
static void emit(const struct pt_analysis *a, size_t which)
{
	const struct pt_format *f = format_at(which % NFORMATS);
	struct pt_out_opts o = {10, 0, 0};
	if (!f)
		abort();
	if (which == NFORMATS)
		o = (struct pt_out_opts){0, 1, 1};
	if (f->emit(a, &o, devnull) < 0)
		abort();
	fflush(devnull);
}

/* FNV-1a: the same input always picks the same writer. */
static size_t pick_format(const uint8_t *data, size_t size)
{
	uint32_t h = 2166136261u;
	for (size_t i = 0; i < size; i++)
		h = (h ^ data[i]) * 16777619u;
	return h % (NFORMATS + 1);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char path[64];
	struct pt_model m, mo;
	struct pt_analysis a;
	int fd = memfd_create("fuzz_report", MFD_CLOEXEC);

	if (!devnull) {
		const char *all = getenv("PERFTAP_FUZZ_ALL_FORMATS");
		all_formats = all && *all == '1';
		if (!(devnull = fopen("/dev/null", "w")))
			abort();
	}
	if (fd < 0)
		abort();
	if (size && write(fd, data, size) != (ssize_t)size)
		abort();
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	int rc = load(&m, path, 0), rco = load(&mo, path, 1);
	close(fd);
	if ((rc < 0) != (rco < 0))
		abort(); /* one way refused what the other read */
	if (rc == 0) {
		check_same(&m, &mo);
		memset(&a, 0, sizeof(a));
		if (analysis_build(&a, &m, 0) < 0)
			abort();
		if (all_formats) {
			for (size_t i = 0; i <= NFORMATS; i++)
				emit(&a, i);
		} else {
			emit(&a, pick_format(data, size));
		}
		analysis_free(&a);
	}
	model_free(&m);
	model_free(&mo);
	return 0;
}
