/*
 * preload.h -- what the hooks (hooks*.c) need from the shim core: the
 * fd table, the per-thread guard and one entry point per kind of call on
 * a tracked fd (conn.h), the clock, and preload.c's writer glue.
 *
 * The hooks call pt_mapped(fd) first: one bounds check and one load of
 * the fd's map word for an untracked fd (the overwhelming case), nothing
 * else; only a mapped fd goes on to pt_tracked(), out of line.
 */
#ifndef PERFTAP_PRELOAD_H
#define PERFTAP_PRELOAD_H

#include <stdint.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>

#include "conn.h" /* the entry points the hooks call */
#include "fdtab.h"
#include "proto.h"

/* The dump file's descriptor, moved out of the program's way; -1 when
 * none.  close() and close_range() never close it for the program. */
extern int pt_writer_fd;

static inline uint64_t pt_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* Non-zero when calls on fd must be decoded. */
static inline int pt_tracked(int fd)
{
	struct pt_conn *c = fdtab_lookup(&pt_fdtab, fd);
	if (__builtin_expect(c == NULL, 1))
		return 0;
	if (fdtab_is_passive(c))
		return 0;
	return pt_tflags.guard == 0 && pt_tflags.api_depth == 0;
}

/* Non-zero when fd maps to a connection slot at all (passive included):
 * its close must release the slot. */
static inline int pt_mapped(int fd)
{
	return fdtab_word(&pt_fdtab, fd) != 0;
}

/* 0 once tracing is off (or before the fd table is mapped). */
static inline int pt_tracing_on(void)
{
	return __atomic_load_n(&pt_fdtab.fd_cap, __ATOMIC_RELAXED) != 0;
}

/* Non-zero when SSL plaintext on fd may be decoded by this call: the fd
 * maps to a slot (passive included: conn.c feeds plaintext past it), and
 * neither the shim nor a client-API hook is running on this thread (an
 * API hook decodes the operation itself). */
static inline int pt_tls_tracked(int fd)
{
	return fdtab_lookup(&pt_fdtab, fd) != NULL && pt_tflags.guard == 0 &&
	       pt_tflags.api_depth == 0;
}

/* ---- for the hooks of hooks_mysql.c, hooks_sqlite.c ---- */
/* Bump a dump counter / drop counter (no-op without a writer). */
void pt_shim_count(enum pt_counter what);
void pt_shim_drop(enum pt_drop_cause why);

/* ---- for the client-API hooks (hooks_sqlite.c ...) ---- */
struct pt_event;
struct pt_conn_info;
/* 1 when tracing is on (setup done, writer not failed). */
int pt_shim_api_on(void);
void pt_shim_emit_event(const struct pt_event *ev);
void pt_shim_emit_conn(const struct pt_conn_info *ci);
uint32_t pt_shim_conn_id(void); /* a fresh connection id */
int pt_shim_raw(uint32_t *raw_max);
/* A client API (hooks_mysql.c) drives the connection on fd: its socket
 * bytes are never decoded from now on (no double count). */
void pt_shim_api_take_fd(int fd);
/* The connection id the socket path gave fd's connection; 0: none. */
uint32_t pt_shim_fd_conn_id(int fd);

#endif /* PERFTAP_PRELOAD_H */
