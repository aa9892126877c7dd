/*
 * callsites.h -- per operation, the code that issued it: the innermost
 * frame of the program's own code in each event's stack, with count and
 * time.
 *
 * The rule: walk the Python frames innermost first and take the first
 * whose file does not match the skip pattern (driver packages under
 * site-packages/dist-packages, the standard library, frozen modules);
 * without Python frames, the native frames likewise, matched on their
 * module path (libc, the client libraries, the interpreter).  The user
 * replaces the pattern with --callsite-skip REGEX (POSIX extended).
 */
#ifndef PERFTAP_CALLSITES_H
#define PERFTAP_CALLSITES_H

#include <regex.h>
#include <stddef.h>
#include <stdint.h>

#include "dump_reader.h"
#include "symbolize.h"

#define PT_CALLSITE_SKIP_DEFAULT                                               \
	"/(site|dist)-packages/|^/usr/(local/)?lib/python3[.0-9]*/|^<frozen "  \
	"|/(libc|libm|libpthread|ld-linux[^/]*|libmariadb|libmysqlclient|"     \
	"libhiredis|libssl|libcrypto|libpython[^/]*|libsqlite3|libperftap|"    \
	"libunwind|libz|libffi|libexpat)\\.so|/python3(\\.[0-9]+)?$"

typedef const char *(*pt_callsites_label_fn)(uint32_t op, void *arg);

struct pt_callsite {
	uint32_t op; /* index in the model's ops */
	int native;  /* a native frame (no Python frame qualified) */
	const char *func, *file, *module; /* copied; "" unknown */
	uint32_t line;
	uint64_t count, total_ns;
};

struct pt_callsites {
	regex_t skip;
	int have_skip;
	struct pt_callsite *v;
	size_t n, cap;
	uint32_t *index; /* (op, frame key) -> v index + 1 */
	size_t index_cap;
	uint64_t *index_key;
	/* per dump / per chunk state */
	struct pt_dump *d;
	struct pt_sym *sym;
	uint64_t chunk_seq;
	uint32_t *chunk_site; /* stack id -> frame key + 1 (this chunk) */
	size_t chunk_cap;
	/* frame keys: distinct (func, file, line, module) */
	struct pt_callsite *keys;
	size_t nkeys, capkeys;
	uint64_t stacked;    /* events with a stack seen */
	uint64_t py_unknown; /* stacks of a CPython whose frames were not
				read (PT_STACK_PY_UNKNOWN) */
	int sealed, oom;
	/* `perftap stacks`: folded stacks, "root;...;leaf;OPERATION" */
	int folded;	   /* collect them */
	int folded_native; /* native frames too, not only Python's */
	char **chunk_fold; /* stack id -> folded frames (this chunk) */
	struct pt_folded *fv;
	size_t nfv, capfv;
	uint32_t *fold_index; /* line hash -> fv index + 1 */
	size_t fold_cap;
	pt_callsites_label_fn label;
	void *label_arg;
};

struct pt_folded {
	char *line; /* frames;operation */
	uint64_t count, total_ns;
};

/* skip: NULL for the default.  Returns 0, or -1 with a message in err. */
int callsites_init(struct pt_callsites *cs, const char *skip, char *err,
		   size_t errlen);
void callsites_free(struct pt_callsites *cs);

/* Events of dump d follow (its modules symbolize native frames). */
void callsites_begin_dump(struct pt_callsites *cs, struct pt_dump *d);
void callsites_end_dump(struct pt_callsites *cs);

/* One event of operation op with stack stack_id of chunk chunk_seq. */
void callsites_add(struct pt_callsites *cs, uint32_t op, uint64_t chunk_seq,
		   uint32_t stack_id, uint64_t duration_ns);

/* After the last event: sort by operation, then time (desc). */
void callsites_seal(struct pt_callsites *cs);

/* The call sites of op, most time first; returns how many. */
size_t callsites_of(const struct pt_callsites *cs, uint32_t op,
		    const struct pt_callsite **first);

/* Label of operation op for the folded leaf ("KIND TEXT"); set before
 * events arrive (none: "op"). */
void callsites_fold_labels(struct pt_callsites *cs, pt_callsites_label_fn fn,
			   void *arg);

/* Pick the call site frame of one stack (exposed for `perftap stacks`
 * and tests): returns the Python frame index, or -1 with *native set to
 * the native frame index (-1: none). */
int callsites_pick(const struct pt_callsites *cs,
		   const struct pt_read_stack *st,
		   const struct pt_sym_frame *nat, int *native);

#endif /* PERFTAP_CALLSITES_H */
