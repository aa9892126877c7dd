/*
 * dump_reader.h -- read a perftap dump: validate it, then iterate its
 * committed records.
 *
 * The reader maps the file read-only and checks every length and offset
 * against the file before use (dump_format.h, invariants I1-I6).  Records
 * that cannot be trusted are counted in struct pt_dump_problems, never
 * returned.  A file that cannot be read at all makes pt_dump_open() fail with
 * a one-line message naming the problem (the caller prefixes the path).
 */
#ifndef PERFTAP_DUMP_READER_H
#define PERFTAP_DUMP_READER_H

#include <stddef.h>
#include <stdint.h>

#include "perftap/dump_format.h"

/* A record as handed to the caller.  Strings point into the mapping and are
 * NUL-terminated; they live as long as the pt_dump. */
struct pt_read_event {
	uint8_t kind, outcome;
	uint64_t start_ns, duration_ns;
	uint32_t tid, conn_id;
	int32_t status;
	uint32_t rows, bytes_out, bytes_in;
	uint16_t cache_hits, cache_misses;
	uint32_t flags;
	const char *text; /* "" when the event has none */
	uint32_t text_len;
	/* v2 (zero in a v1 dump) */
	uint64_t request_id;
	uint32_t stack_id; /* in its chunk; resolve with the chunk's stacks */
	uint16_t server_status, warnings;
	uint32_t scan_steps, vm_steps;
	uint16_t sorts, auto_indexes;
	uint8_t attr;
	uint64_t task_key; /* asyncio context key (0 none) */
	uint32_t head_us;  /* HTTP_IN: head arrival, us */
};

struct pt_read_conn {
	uint8_t event, role, proto, family;
	uint16_t port;
	uint8_t addr[16];
	uint32_t conn_id, server_conn_id, tid;
	uint64_t time_ns, events, undecoded_bytes;
	uint64_t connect_ns, auth_ns; /* v2; 0 = unknown */
	uint32_t conn_flags;	      /* v2: PT_CONNF_* */
	const char *text;
	uint32_t text_len;
};

struct pt_read_record {
	uint16_t type; /* PT_REC_EVENT or PT_REC_CONN */
	uint64_t chunk_seq;
	union {
		struct pt_read_event ev;
		struct pt_read_conn conn;
	};
};

/* What could not be read; none of it makes the dump unusable. */
struct pt_dump_problems {
	uint64_t bad_chunks;  /* slot with bad magic/state/seq */
	uint64_t bad_records; /* size or bounds wrong: rest of chunk skipped */
	uint64_t unknown_records; /* types this reader does not know: skipped */
	uint64_t unresolved_text; /* text_id with no string in its chunk */
	uint64_t partial_chunks;  /* slot cut short by the file's end */
	uint64_t bad_samples; /* v2 sample records with impossible fields */
	uint64_t bad_stacks;	  /* v2: stack/module record that does not
				     add up (sizes, ids): skipped */
	uint64_t unresolved_stacks; /* stack_id with no stack in its chunk */
};

/* v2: a call stack, innermost frame first.  Texts point into the mapping. */
struct pt_read_frame {
	const char *func, *file; /* "" when unknown */
	uint32_t line;
};

struct pt_read_stack {
	uint16_t flags; /* PT_STACK_* */
	uint32_t n_native, n_python;
	const uint64_t *native; /* return addresses */
	struct pt_read_frame py[PT_STACK_MAX_PYTHON];
};

/* v2: a module mapped into the recorded process (deduplicated by load
 * address and path across the dump's chunks). */
struct pt_read_module {
	const char *path;
	uint64_t base, lo, hi;
	uint8_t build_id[20];
	uint16_t build_id_len;
};

struct pt_dump_info {
	uint32_t version;
	int32_t pid, ppid;
	uint32_t flags; /* PT_HDR_* */
	uint32_t mode;
	uint32_t clock_id;
	uint64_t max_size;
	uint32_t chunk_size, chunk_slots;
	uint64_t realtime_anchor_ns, monotonic_anchor_ns;
	const char *exe, *host, *settings; /* "" when absent */
	uint32_t argc;
	const char *argv; /* argc NUL-separated strings */
	uint64_t drops[PT_DROP_CAUSE_COUNT];
	uint64_t counters[PT_CNT_COUNT];
	uint64_t chunks_used;	 /* chunk tickets handed out */
	uint64_t first_event_ns; /* earliest event start (clock_id), found by
				    the scan at open; UINT64_MAX: no event */
};

struct pt_dump; /* opaque */

/* Open and validate path.  On failure returns NULL and writes a one-line
 * reason (no path, no newline) to err. */
struct pt_dump *pt_dump_open(const char *path, char *err, size_t errlen);
void pt_dump_close(struct pt_dump *d);

const struct pt_dump_info *pt_dump_info(const struct pt_dump *d);
const struct pt_dump_problems *pt_dump_problems(const struct pt_dump *d);
const char *pt_dump_path(const struct pt_dump *d);
/* v2: the dump's valid PT_REC_SAMPLE records (shim samples), in file
 * order; they live as long as the pt_dump. */
const struct pt_sample_record *pt_dump_samples(const struct pt_dump *d,
					       size_t *n);
/* Is a sample record's content possible?  pid > 0: it must be that
 * process's.  0 or -1 (skip it and count it). */
int pt_sample_check(const struct pt_sample_record *r, int32_t pid);

/* Iterate committed records in completion order (start + duration for
 * events, time for connection records) across chunks, by a k-way merge of
 * the chunks (each chunk is already in order: one thread wrote it).  Ties
 * keep chunk order, so each thread's records come in the order it wrote
 * them.  Returns 1 and fills *out, 0 at the end. */
void pt_dump_rewind(struct pt_dump *d);
int pt_dump_next(struct pt_dump *d, struct pt_read_record *out);

/* Fast unordered pass, chunk by chunk (for statistics that do not need
 * time order).  The callback returns non-zero to stop. */
typedef int (*pt_dump_visit_fn)(const struct pt_read_record *rec, void *arg);
int pt_dump_foreach(struct pt_dump *d, pt_dump_visit_fn fn, void *arg);

/*
 * Chunk-order pass: the fast way to read every event.  Chunks come in
 * sequence order, so each thread's records keep the order it wrote them
 * (all that per-thread pairing such as cache-aside needs); records inside
 * a chunk come as written.  Event records are handed out as they lie in
 * the mapping, no copy, and each chunk's strings are resolved once, so a
 * caller can map (chunk, text id) to its own state with an array.
 *
 *   struct pt_chunk_view v;
 *   for (uint32_t i = 0; pt_dump_chunk(d, i, &v) > 0; i++) {
 *           const struct pt_event_record *r;
 *           while ((r = pt_chunk_next_event(&v)) != NULL)
 *                   ... text r->text_id, valid when <= v.strings ...
 *           pt_dump_chunk_release(d, i);
 *   }
 */
struct pt_chunk_view {
	uint64_t seq;
	uint32_t nstrings; /* strings in the chunk (ids 1..nstrings) */
	uint32_t strings;  /* strings passed so far: ids above are unknown */
	const char *const *text; /* text[id], id 0..nstrings; text[0] = "" */
	const uint32_t *text_len;
	/* Optional, set after pt_dump_chunk (which clears it): told of each
	 * connection record as pt_chunk_next_event passes it (text resolved
	 * when its string came before it). */
	void (*on_conn)(void *arg, const struct pt_read_conn *c);
	void *conn_arg;
	/* private */
	const uint8_t *base;
	uint32_t off, end, csize;
	struct pt_event_record scratch; /* a v1 event, widened */
};

/* Chunk i (0 .. chunks-1, sequence order) into *v: 1, or 0 when i is past
 * the last, or -1 when out of memory.  The view's tables live until the
 * next call or pt_dump_close. */
int pt_dump_chunk(struct pt_dump *d, uint32_t i, struct pt_chunk_view *v);
/* The next committed event record of the chunk; NULL at its end. */
const struct pt_event_record *pt_chunk_next_event(struct pt_chunk_view *v);

/* An event record's figures into *e (text and text_len untouched: the
 * caller resolves text ids).  Inline: called once per event on the load
 * path. */
static inline void pt_event_record_decode(const struct pt_event_record *r,
					  struct pt_read_event *e)
{
	e->kind = r->kind;
	e->outcome = r->outcome;
	e->start_ns = r->start_ns;
	e->duration_ns = r->duration_ns;
	e->tid = r->tid;
	e->conn_id = r->conn_id;
	e->status = r->status;
	e->rows = r->rows;
	e->bytes_out = r->bytes_out;
	e->bytes_in = r->bytes_in;
	e->cache_hits = r->cache_hits;
	e->cache_misses = r->cache_misses;
	e->flags = r->flags;
	e->request_id = r->request_id;
	e->stack_id = r->stack_id;
	e->server_status = r->server_status;
	e->warnings = r->warnings;
	e->scan_steps = r->scan_steps;
	e->vm_steps = r->vm_steps;
	e->sorts = r->sorts;
	e->auto_indexes = r->auto_indexes;
	e->attr = r->attr;
	e->task_key = r->task_key;
	e->head_us = r->head_us;
}
/* Done with chunk i: drop its pages from this process's mapping (they stay
 * in the page cache), so that reading a dump does not grow the resident
 * set by the dump's size. */
void pt_dump_chunk_release(struct pt_dump *d, uint32_t i);

/* The stack `id` of the chunk whose sequence number is chunk_seq: 1 and
 * *out, or 0 (no such stack; a bad id is counted at open). */
int pt_dump_stack(const struct pt_dump *d, uint64_t chunk_seq, uint32_t id,
		  struct pt_read_stack *out);

/* Every module recorded in the dump; returns the count. */
uint32_t pt_dump_modules(const struct pt_dump *d,
			 const struct pt_read_module **out);

/* Names for reports. */
const char *pt_drop_cause_name(enum pt_drop_cause cause);
const char *pt_counter_name(enum pt_counter counter);
const char *pt_kind_name(enum pt_event_kind kind);
const char *pt_attribution_name(enum pt_attribution a);

#endif /* PERFTAP_DUMP_READER_H */
