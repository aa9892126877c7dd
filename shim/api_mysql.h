/*
 * api_mysql.h -- libmysqlclient (libmariadb) API calls as events: the logic
 * behind hooks_mysql.c, testable without LD_PRELOAD or libmariadb (the
 * library's accessors come through struct pt_mysql_fns, the events leave
 * through struct pt_api_out).
 *
 * One event per statement, from the call that sends it to the program's
 * last row: mysql_store_result(), or the last mysql_fetch_row() (or
 * mysql_free_result()) of a mysql_use_result(); a statement without a
 * result set ends with its query call.  Prepared statements: one
 * "PREPARE <fingerprint>" event per mysql_stmt_prepare, one event per
 * mysql_stmt_execute (PT_EV_PREPARED, the prepared SQL's fingerprint) to
 * mysql_stmt_store_result or the last mysql_stmt_fetch.  A connection is
 * one PT_PROTO_MYSQL connection record plus a "CONNECT" event timed around
 * mysql_real_connect (connect, TLS, authentication).  Every event carries
 * PT_EV_API, and PT_EV_TLS on a connection that negotiated TLS.
 *
 * No double count: a connection the API opened has its socket made passive
 * for good (out.take_fd), so the socket decoder never sees it; a
 * connection the shim did not see open (opened before tracing, or tables
 * full) is left to the socket path.  Calls libmariadb makes to its own
 * exported functions (mysql_query -> mysql_real_query) are told apart by a
 * per-connection depth: only the outermost call on a connection counts.
 *
 * State: fixed tables keyed by MYSQL * and MYSQL_STMT * (no malloc);
 * libmysqlclient serializes a connection, so a slot is used by one thread
 * at a time.
 */
#ifndef PERFTAP_API_MYSQL_H
#define PERFTAP_API_MYSQL_H

#include <stddef.h>
#include <stdint.h>

#include "peer.h"

#include "api_sqlite.h" /* struct pt_api_out */
#include "writer.h"

/* libmysqlclient's own values (mysql.h), so no MySQL header is needed. */
#define PT_MYSQL_FETCH_NO_DATA	100
#define PT_MYSQL_DATA_TRUNCATED 101

/* The library accessors the logic needs (real functions, or fakes). */
struct pt_mysql_fns {
	unsigned (*field_count)(void *mysql);
	unsigned long long (*affected_rows)(void *mysql);
	unsigned long long (*num_rows)(void *res);
	unsigned (*err)(void *mysql);
	char (*more_results)(void *mysql);
	int (*get_socket)(void *mysql);
	const char *(*server_info)(void *mysql);
	unsigned long (*thread_id)(void *mysql);
	unsigned (*stmt_field_count)(void *stmt);
	unsigned long long (*stmt_affected_rows)(void *stmt);
	unsigned long long (*stmt_num_rows)(void *stmt);
	unsigned (*stmt_err)(void *stmt);
	const char *(*ssl_cipher)(void *mysql); /* NULL: not TLS */
};

/* Connections and statements tracked at once. */
#define PT_MYSQL_CONN_SLOTS 512u
#define PT_MYSQL_STMT_SLOTS 2048u
/* Fingerprint kept per statement (longer: cut, PT_EV_TRUNCATED). */
#define PT_MYSQL_TEXT_MAX 480u

/* The peer of a connection, read by the hooks (getpeername). */
/* take_fd: make fd's socket decoding passive for good (preload.c). */
void api_mysql_init(const struct pt_mysql_fns *fns,
		    const struct pt_api_out *out, void (*take_fd)(int fd));
void api_mysql_reset_all(void);

/* The per-thread use_result being fetched (NULL: none): mysql_fetch_row's
 * hook compares its argument with it, nothing else, on every row. */
extern __thread void *api_mysql_cur_res
    __attribute__((tls_model("initial-exec")));

/* A connection's slot when it is tracked and no hook of it is on the
 * stack (then its depth is raised: leave it with api_mysql_leave); NULL:
 * call the real function and nothing else. */
void *api_mysql_enter(void *mysql);
void api_mysql_leave(void *conn);

/* mysql_real_connect: begin claims a slot (depth raised); end with the
 * result (ok), the clock around the call, the socket and its peer. */
void *api_mysql_connect_begin(void *mysql);
void api_mysql_connect_end(void *conn, int ok, uint64_t t0, uint64_t t1, int fd,
			   const struct pt_peer *peer);
/* Before mysql_close's real call. */
void api_mysql_close(void *mysql, uint64_t now);

/* A text query sent (and, unless only_sent, its reply read): failed is
 * the call's failure.  mysql_real_query / mysql_query / mysql_send_query. */
void api_mysql_query(void *conn, const char *sql, size_t len, int failed,
		     int only_sent, uint64_t t0, uint64_t t1);
/* mysql_read_query_result after a mysql_send_query. */
void api_mysql_read_result(void *conn, int failed, uint64_t t1);
/* mysql_store_result / mysql_use_result returned res. */
void api_mysql_store(void *conn, void *res, uint64_t t1);
void api_mysql_use(void *conn, void *res, uint64_t t1);
/* mysql_fetch_row(res) of the current use_result returned a row or not. */
void api_mysql_fetched(void *res, int row, uint64_t t1);
/* mysql_free_result(res) done at t1. */
void api_mysql_freed(void *res, uint64_t t1);
/* mysql_next_result returned rc (0 more, -1 none, > 0 error). */
void api_mysql_next(void *conn, int rc, uint64_t t1);
/* A command without a result set (COMMIT, PING ...): text is SQL to
 * fingerprint, or (sql == 0) an upper-case command name as is. */
void api_mysql_simple(void *conn, const char *text, int sql, int failed,
		      uint64_t t0, uint64_t t1);

/* Prepared statements: stmt_init(mysql) made stmt. */
void api_mysql_stmt_new(void *mysql, void *stmt);
/* The connection slot of stmt's connection, entered (see
 * api_mysql_enter); *slot gets the statement's slot. */
void *api_mysql_stmt_enter(void *stmt, void **slot);
void api_mysql_stmt_prepare(void *slot, const char *sql, size_t len, int failed,
			    uint64_t t0, uint64_t t1);
void api_mysql_stmt_execute(void *slot, int failed, uint64_t t0, uint64_t t1);
void api_mysql_stmt_store(void *slot, int failed, uint64_t t1);
/* mysql_stmt_fetch returned rc; 1 when slot's execution is pending. */
void api_mysql_stmt_fetch(void *slot, int rc, uint64_t t1);
/* stmt_free_result / stmt_reset (closing == 0) or stmt_close: a pending
 * execution ends; close frees the slot. */
void api_mysql_stmt_done(void *slot, int closing, uint64_t now);
/* After mysql_stmt_close: the statement's slot is free (its connection may
 * be gone already). */
void api_mysql_stmt_forget(void *stmt);

#endif /* PERFTAP_API_MYSQL_H */
