/*
 * bench_dumpstat.c -- events and drops in dumps, for scripts/bench.sh:
 * one line per run of dumps given, summed over them.
 *
 * usage: bench_dumpstat DUMP...
 * prints: events=N drops=D drop_full=.. drop_wrapped=.. drop_other=..
 */
#include <stdio.h>

#include "dump_reader.h"

static int visit(const struct pt_read_record *rec, void *arg)
{
	if (rec->type == PT_REC_EVENT)
		(*(unsigned long long *)arg)++;
	return 0;
}

int main(int argc, char **argv)
{
	unsigned long long events = 0, drops = 0, full = 0, wrapped = 0;
	if (argc < 2) {
		fprintf(stderr, "usage: bench_dumpstat DUMP...\n");
		return 2;
	}
	for (int i = 1; i < argc; i++) {
		char err[256];
		struct pt_dump *d = pt_dump_open(argv[i], err, sizeof(err));
		if (!d) {
			fprintf(stderr, "bench_dumpstat: %s: %s\n", argv[i],
				err);
			return 2;
		}
		pt_dump_foreach(d, visit, &events);
		const struct pt_dump_info *inf = pt_dump_info(d);
		for (int c = 0; c < PT_DROP_CAUSE_COUNT; c++)
			drops += inf->drops[c];
		full += inf->drops[PT_DROP_FULL];
		wrapped += inf->drops[PT_DROP_WRAPPED];
		pt_dump_close(d);
	}
	printf("events=%llu drops=%llu drop_full=%llu drop_wrapped=%llu "
	       "drop_other=%llu\n",
	       events, drops, full, wrapped, drops - full - wrapped);
	return 0;
}
