/*
 * load.h -- dumps and directories of dumps into a model: the only place
 * the report touches the dump reader.
 */
#ifndef PERFTAP_LOAD_H
#define PERFTAP_LOAD_H

#include <stdint.h>

#include "model.h"

struct pt_load_opts {
	const char *since, *until; /* time window specs, NULL = open */
	int progress; /* progress line on a tty: 0 never, 1 when the inputs
			 exceed PROGRESS_MIN_BYTES, 2 whatever their size */
	int ordered;  /* read through the time-ordered merge (slower, same
			 figures: for tests) */
};

/* Parse a --since/--until spec.  Forms: an offset from the first event of
 * all inputs ("90s", "5m", "1h", "250ms", plain seconds), an epoch
 * ("@1767000000"), or UTC "YYYY-MM-DDTHH:MM:SS[Z]".  Sets *relative when it is
 * an offset. Returns 0 or -1. */
int load_parse_time(const char *s, uint64_t *ns, int *relative);

/* Read every path (a dump, or a directory whose dump files are all read)
 * into m.  On a bad input prints `perftap: PATH: problem` and returns -1. */
int load_inputs(struct pt_model *m, char *const *paths, int n,
		const struct pt_load_opts *o);

#endif /* PERFTAP_LOAD_H */
