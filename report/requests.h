/*
 * requests.h -- each inbound request with its own operations: where a
 * route's time goes (SQL, Redis, outbound HTTP, SQLite, the rest),
 * requests split by cache outcome, the slowest requests' waterfalls, and
 * how many operations were left unattributed, per kind.
 *
 * The model (model.c) logs every event that carries a request id into a
 * pt_requests_log while loading; requests_build groups the log into
 * requests once every dump is read.  Ids are per process: a request is
 * (process, id).
 */
#ifndef PERFTAP_REQUESTS_H
#define PERFTAP_REQUESTS_H

#include <stddef.h>
#include <stdint.h>

#include "dump_reader.h"
#include "perftap/dump_format.h"
#include "stats.h"

/* One logged event: request_id != 0, or an operation with a task key. */
struct pt_req_ev {
	uint64_t rid;
	uint64_t start, dur; /* wall clock ns */
	uint32_t proc;	     /* model process index */
	uint32_t op;	     /* model op index */
	uint8_t kind;
	uint8_t cache_read; /* a Redis read with hits or misses */
	uint8_t miss;	    /* ... with at least one miss */
	uint8_t err;
	int32_t status; /* HTTP status for HTTP_IN / HTTP_OUT */
	/* asyncio: joined by requests_build (task_join.h) */
	uint64_t key;	 /* task_key; an op logged with rid 0 waits on it */
	uint32_t head_us; /* HTTP_IN */
	uint8_t attr;	 /* as recorded */
};

#define PT_ATTR_SLOTS 8

struct pt_requests_log {
	struct pt_req_ev *v;
	size_t n, cap;
	/* Child operations (not HTTP_IN) by kind, and by attribution. */
	uint64_t children[PT_KIND_COUNT];
	uint64_t by_attr[PT_KIND_COUNT][PT_ATTR_SLOTS];
};

/* Where a request's time goes. */
enum pt_req_cat {
	PT_CAT_SQL = 0,
	PT_CAT_REDIS,
	PT_CAT_HTTP_OUT,
	PT_CAT_SQLITE,
	PT_CAT_REST, /* in the process: the request minus its children */
	PT_CAT_COUNT
};

/* Cache outcome of a request: its Redis reads. */
enum pt_req_cache {
	PT_REQ_CACHED = 0, /* every cache read hit */
	PT_REQ_UNCACHED,   /* some read missed */
	PT_REQ_NOCACHE,	   /* no cache read */
	PT_REQ_CACHE_COUNT
};

struct pt_req_child {
	uint32_t op;
	uint64_t n; /* over all requests of the route */
};

#define PT_REQ_SLOWEST 3

/* One request: its HTTP_IN event and children at [first, first + n). */
struct pt_req_one {
	size_t http; /* index in the log of the HTTP_IN event */
	size_t first, n;
};

struct pt_route_req {
	uint32_t op; /* the route (HTTP_IN op index) */
	uint64_t requests;
	struct pt_stats cat[PT_CAT_COUNT]; /* time per request */
	struct pt_req_child *children;	   /* sorted: most per request first */
	size_t nchildren;
	uint64_t by_cache[PT_REQ_CACHE_COUNT];
	struct pt_stats cache_lat[PT_REQ_CACHE_COUNT]; /* request latency */
	struct pt_req_one slow[PT_REQ_SLOWEST];
	int nslow;
};

struct pt_model;

struct pt_requests {
	const struct pt_model *m;
	struct pt_requests_log *log; /* sorted by (proc, rid, start) */
	struct pt_route_req *routes; /* by requests, most first */
	size_t nroutes;
	uint64_t requests;	       /* HTTP_IN events with an id */
	uint64_t children, attributed; /* child ops; those with a request */
	int recorded; /* some event says how it was attributed */
};

/* Log one event (model.c calls this for every event kept). */
int requests_log_add(struct pt_requests_log *l, uint32_t proc, uint32_t op,
		     const struct pt_read_event *e, uint64_t start_rt);
void requests_log_free(struct pt_requests_log *l);

/* Group the model's log.  0, or -1 when out of memory. */
int requests_build(struct pt_requests *r, struct pt_model *m);
void requests_free(struct pt_requests *r);

/* Latency samples of the route op's requests with one cache outcome into
 * *v (malloc'd, caller frees), their count in *n.  0 or -1. */
int requests_route_samples(const struct pt_requests *r, uint32_t op,
			   enum pt_req_cache which, uint64_t **v, size_t *n);

/* "sql", "redis", "http_out", "sqlite", "rest". */
const char *requests_cat_name(enum pt_req_cat c);

#endif /* PERFTAP_REQUESTS_H */
