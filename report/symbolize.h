/*
 * symbolize.h -- native frames of a dump's stacks to names (libdwfl).
 *
 * One symbolizer per dump (one process's address space).  Strings it
 * returns live until pt_sym_close (or, for module paths, the dump).
 */
#ifndef PERFTAP_SYMBOLIZE_H
#define PERFTAP_SYMBOLIZE_H

#include <stdint.h>

#include "dump_reader.h"

struct pt_sym_frame {
	const char *module; /* path; "" when no recorded module holds it */
	uint64_t offset;    /* address - module load address */
	const char *func;   /* "" unknown */
	const char *file;   /* "" without debug info */
	uint32_t line;
};

struct pt_sym;

/* NULL when out of memory. */
struct pt_sym *pt_sym_open(const struct pt_read_module *mods, uint32_t n);

/* Symbolize a return address.  Returns 1 when a module holds it, else 0
 * (out is still filled with empty strings). */
int pt_sym_lookup(struct pt_sym *s, uint64_t ret_addr,
		  struct pt_sym_frame *out);

void pt_sym_close(struct pt_sym *s);

#endif /* PERFTAP_SYMBOLIZE_H */
