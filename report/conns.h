/*
 * conns.h -- connections per peer and per process: how many were opened,
 * reopened and closed, how long they lived, how many operations each
 * carried, connect and MySQL auth times, how many were open at once, and
 * the share of query time spent connecting.
 *
 * Built from the dump's connection records (PT_REC_CONN: open time with
 * connect_ns / auth_ns, close time) and the events that name them by
 * conn_id, one dump (= one process) at a time: conns_begin, then every
 * conn record and event, then conns_end folds the dump into its groups.
 * Only client connections to MySQL, Redis and HTTP servers are counted.
 */
#ifndef PERFTAP_CONNS_H
#define PERFTAP_CONNS_H

#include <stddef.h>
#include <stdint.h>

#include "dump_reader.h"

#define PT_CONNS_LABEL_MAX 112 /* "[v6 addr]:port" or "unix:/path" */

struct pt_conn_iv {
	uint64_t open_ns, close_ns; /* close_ns UINT64_MAX: still open */
};

/* One (process, peer): what the report shows. */
struct pt_conn_group {
	int32_t pid;
	char *exe;
	uint8_t proto; /* enum pt_proto */
	uint8_t family;
	uint16_t port;
	uint8_t addr[16];
	char label[PT_CONNS_LABEL_MAX];
	uint64_t opened, closed, reopened;
	uint64_t inherited; /* forked child's copies: not opened here */
	uint64_t failed;    /* non-blocking connects that failed */
	uint64_t ops;	    /* events on these connections */
	uint64_t query_ns;  /* their summed durations */
	uint64_t life_n, life_sum_ns, life_max_ns; /* closed ones */
	uint64_t open_max;			   /* open at once */
	double open_p95; /* p95 of the count open, seen at each open */
	uint64_t connect_n, auth_n;
	double connect_mean_ns, connect_p95_ns, connect_sum_ns;
	double auth_mean_ns, auth_p95_ns, auth_sum_ns;
	/* building (freed by conns_end) */
	struct pt_conn_iv *iv;
	uint64_t *connect, *auth;
	size_t niv, capiv;
};

struct pt_conn_entry; /* private: one connection of the current dump */

struct pt_conns {
	struct pt_conn_group *g;
	size_t ng, capg;
	/* the current dump */
	int32_t pid;
	char *exe;
	struct pt_conn_entry *tab; /* open addressing by conn_id */
	size_t ntab, captab;
	uint32_t last_id; /* one-entry cache for runs of events */
	struct pt_conn_entry *last;
	int oom;
};

void conns_init(struct pt_conns *cs);
void conns_free(struct pt_conns *cs);
/* A dump's records follow (its pid and executable; exe may be NULL). */
int conns_begin(struct pt_conns *cs, int32_t pid, const char *exe);
void conns_record(struct pt_conns *cs, const struct pt_read_conn *c);
void conns_event(struct pt_conns *cs, const struct pt_read_event *ev);
/* Fold the dump into its groups (sorted by pid, protocol, peer).  0 or -1
 * when out of memory. */
int conns_end(struct pt_conns *cs);

/* The plain sentence for a group, e.g. "MySQL 127.0.0.1:3306: 15
 * connections, 0 reopened, connect 0.9 ms, auth 1.2 ms; 0.0% of query
 * time spent connecting". */
void conns_sentence(const struct pt_conn_group *g, char *buf, size_t len);
/* "MySQL", "Redis", "HTTP". */
const char *conns_proto_name(int proto);
/* Share of query time spent connecting (connect + auth), 0..100. */
double conns_connect_share(const struct pt_conn_group *g);

#endif /* PERFTAP_CONNS_H */
