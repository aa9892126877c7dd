/*
 * model.h -- the events of one or more dumps, grouped per operation.
 *
 * An operation is (kind, normalized text).  Per event the model keeps only
 * what the statistics need: the duration (4 bytes under 4.29 s, else 8)
 * in its operation's growable array, and for served HTTP requests also the
 * interval (16 bytes) for the concurrency analysis.  Everything else is
 * per-operation counters, so memory is bounded by events * 8 (+16 per HTTP
 * request) plus per-operation state, and is about half that in practice.
 * Adding an event never calls malloc unless an array has to grow
 * (geometrically).
 */
#ifndef PERFTAP_MODEL_H
#define PERFTAP_MODEL_H

#include <stddef.h>
#include <stdint.h>

#include "conns.h"
#include "dump_reader.h"
#include "perftap/dump_format.h"
#include "requests.h"
#include "resources.h"

struct pt_callsites;

/* Operation kinds beyond enum pt_event_kind, made by the model itself. */
#define PT_OPK_GET_OR_FETCH 8 /* cache-aside sequence, text = key pattern */
#define PT_OPK_COUNT	    9

/* Which outcome of a cache read a duration belongs to. */
enum pt_split {
	PT_SPLIT_HIT = 0, /* every key found */
	PT_SPLIT_MISS,	  /* every key nil */
	PT_SPLIT_OTHER,	  /* not a cache read, an error, or mixed (MGET) */
	PT_SPLIT_COUNT
};

/*
 * Durations, ns.  Narrow (32 bits each) while every one fits, which is
 * under 4.29 s: most SQL, Redis and HTTP operations stay narrow all their
 * life, and cost 4 bytes an event.  The first longer one widens the array
 * to 64 bits.  Read through samples_append / samples_stats, which take
 * care of either form; buffers filled by samples_append are always wide,
 * so callers may read their v directly.
 */
struct pt_samples {
	uint64_t *v;   /* wide; NULL while narrow */
	uint32_t *v32; /* narrow */
	size_t n, cap;
};

#define PT_SLOWEST   5 /* slowest samples kept per operation */
#define PT_ERR_SLOTS 8 /* distinct error codes kept per operation */

struct pt_slow_sample {
	uint64_t duration_ns;
	uint64_t start_rt_ns; /* wall clock (CLOCK_REALTIME) */
};

struct pt_err_count {
	uint8_t outcome; /* enum pt_outcome */
	int32_t code;	 /* MySQL code, PT_REDIS_ERR_*, HTTP status, errno */
	uint64_t count;
};

struct pt_op {
	uint8_t kind;	  /* enum pt_event_kind or PT_OPK_* */
	int8_t sql_class; /* enum pt_sql_class for MySQL and SQLite, else -1 */
	uint8_t excluded; /* removed by --filter: counted nowhere */
	uint32_t hash;
	char *text;
	struct pt_samples split[PT_SPLIT_COUNT];
	uint64_t count, errors, http_4xx, http_5xx;
	uint64_t cache_hits, cache_misses; /* per key (MGET counts each) */
	struct pt_err_count errs[PT_ERR_SLOTS];
	uint64_t errs_other; /* errors whose code found no free slot */
	struct pt_slow_sample slow[PT_SLOWEST];
	int nslow;
	/* Cache-aside, worked out once per operation rather than per event:
	 * Redis read (1), write (2) or neither (0), and the get_or_fetch
	 * operation of its key pattern (index + 1; 0 = not made yet). */
	uint8_t ca_role;
	uint32_t gof;
	/* SQLite: executions that stepped through a whole table (a full
	 * scan), and the sums of the statement counters (api_sqlite.c). */
	uint64_t full_scans, scan_steps, sorts, auto_indexes;
	/* MySQL: what the server said (v2 events' OK/EOF status, warnings). */
	uint64_t no_index, no_good_index; /* calls with the flag set */
	uint64_t warnings, rows_sent, bytes_in;
};

struct pt_interval {
	uint64_t start, end; /* wall clock ns; end's top bit: PT_IV_ERROR */
};

/* The request failed.  Kept in the end time's top bit (wall clock ns reach
 * 2^63 in 2262) so that a request costs 16 bytes, not 24. */
#define PT_IV_ERROR   (1ull << 63)
#define PT_IV_END(iv) ((iv)->end & ~PT_IV_ERROR)

struct pt_proc_info {
	char *path, *host, *exe;
	int32_t pid;
	uint64_t events;
	int raw;
};

/* Decides whether an operation is kept (--filter); NULL keeps all. */
typedef int (*pt_op_filter_fn)(const struct pt_op *op, void *arg);

struct pt_pending;

struct pt_model {
	struct pt_op *ops;
	size_t nops, capops;
	uint32_t *index; /* open addressing: op index + 1, 0 = empty */
	size_t index_cap;
	struct pt_interval *http;
	size_t nhttp, caphttp;
	struct pt_proc_info *procs;
	size_t nprocs, capprocs;
	uint64_t drops[PT_DROP_CAUSE_COUNT];
	uint64_t counters[PT_CNT_COUNT];
	struct pt_dump_problems problems;
	uint64_t events;   /* events kept */
	uint64_t first_ns; /* earliest start, wall clock */
	uint64_t last_ns;  /* latest end */
	int raw;	   /* some dump holds raw (unredacted) text */
	pt_op_filter_fn filter;
	void *filter_arg;
	struct pt_pending *pending; /* cache-aside: per thread, see model.c */
	size_t npending, pending_cap;
	int oom; /* an allocation failed: results wrong */
	/* Optional: told of every event kept, by operation index, for what
	 * needs time order (charts.c: latency over time).  NULL = none. */
	void (*observe)(void *arg, size_t op, uint64_t start_rt,
			uint64_t duration_ns);
	void *observe_arg;
	struct pt_requests_log rlog; /* events with a request id */
	struct pt_conns conns;	     /* connections per peer (load.c) */
	struct pt_model_series series; /* resource samples (resources.h) */
	struct pt_callsites *callsites; /* stacks -> call sites; NULL none,
					   owned (callsites.h) */
};

void model_init(struct pt_model *m);
void model_free(struct pt_model *m);

/* A new process's events follow: resets per-process state (thread ids and
 * string pointers mean nothing across dumps).  Strings are copied. */
int model_begin_process(struct pt_model *m, const char *path, const char *host,
			const char *exe, int32_t pid, int raw);

/* Add one event whose start is start_rt (wall clock ns).  Returns 0, or
 * -1 when out of memory. */
int model_add(struct pt_model *m, const struct pt_read_event *ev,
	      uint64_t start_rt);

/* model_add with the operation already found (model_op), for a loader
 * that maps its texts to operations itself.  ev->text is not read. */
int model_add_op(struct pt_model *m, struct pt_op *op,
		 const struct pt_read_event *ev, uint64_t start_rt);

/* Find or create the operation (kind, text).  NULL when out of memory. */
struct pt_op *model_op(struct pt_model *m, uint8_t kind, const char *text,
		       size_t len);

/* Total samples of an op over all splits. */
size_t model_op_samples(const struct pt_op *op);

/* Append op's samples (the given split, or all when split < 0) to buf.
 * Returns 0 or -1 when out of memory. */
int samples_append_op(struct pt_samples *buf, const struct pt_op *op,
		      int split);
int samples_push(struct pt_samples *s, uint64_t v);
/* Append src to buf (made wide).  0 or -1. */
int samples_append(struct pt_samples *buf, const struct pt_samples *src);
/* stats_compute over s, narrow or wide (reorders s).  0 or -1. */
struct pt_stats;
int samples_stats(struct pt_samples *s, struct pt_stats *st);
void samples_free(struct pt_samples *s);

/* "http", "http_out", "sql", "redis", "sqlite", "get_or_fetch". */
const char *model_kind_word(int kind);

#endif /* PERFTAP_MODEL_H */
