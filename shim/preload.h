/*
 * preload.h -- what the hooks (hooks.c) need from the shim core
 * (preload.c): the fd table, the per-thread guard, and one entry point per
 * kind of call on a tracked fd.
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

#include "fdtab.h"
#include "proto.h"

/* Hidden: reached PC-relative by every hook, no GOT load. */
extern __attribute__((visibility("hidden"))) struct pt_fdtab pt_fdtab;

/* The dump file's descriptor, moved out of the program's way; -1 when
 * none.  close() and close_range() never close it for the program. */
extern int pt_writer_fd;

/* Per-thread state the hooks read (initial-exec TLS: a fixed offset from
 * the thread pointer, no call, no allocation). */
struct pt_thread_flags {
	uint32_t guard;	    /* > 0: the shim itself is running; hooks pass */
	uint32_t api_depth; /* > 0: a client-API hook decodes; sockets off */
};
extern __thread struct pt_thread_flags pt_tflags
    __attribute__((tls_model("initial-exec")));

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

/* Bytes moved on a tracked fd.  t: for OUT, the clock read just before
 * the call (used on client connections; server ones read the clock
 * after, proto.h); for IN, 0 (the clock is read now, after the call). */
void pt_conn_bytes(int fd, enum pt_dir dir, const void *buf, size_t n,
		   uint64_t t);
void pt_conn_iov(int fd, enum pt_dir dir, const struct iovec *iov, int cnt,
		 size_t n, uint64_t t);
/* n bytes sent from a file (sendfile): content not seen. */
void pt_conn_file_bytes(int fd, size_t n, uint64_t t);
/* Bytes were consumed without being seen (MSG_TRUNC on a stream). */
void pt_conn_lost(int fd);

/* now: clock before connect(); done: after it when it returned 0, else 0
 * (in progress: pt_on_connected or the first write ends it). */
void pt_on_connect(int fd, const struct sockaddr *a, socklen_t alen,
		   uint64_t now, uint64_t done);
/* getsockopt(SO_ERROR) said err on fd: a connect in progress completed
 * (0) or failed. */
void pt_on_connected(int fd, int err);
void pt_on_accept(int fd, const struct sockaddr *a, socklen_t alen);
void pt_on_close(int fd);
void pt_on_close_range(unsigned int first, unsigned int last);
void pt_on_dup(int oldfd, int newfd);

/* ---- for hooks_tls.c (TLS plaintext; TLS engineer) ---- */
/* What sniffing an undecided connection's next bytes came to. */
enum pt_sniff_step {
	PT_SNIFF_WAIT = 0, /* first bytes kept: judge with the next ones */
	PT_SNIFF_STOP,	   /* no decoder (counted), or the prefix stopped it */
	PT_SNIFF_FEED,	   /* c has a decoder (prefix fed): feed buf to it */
};
/* Sniff c (locked, undecided) as the socket path does. */
enum pt_sniff_step pt_conn_sniff_locked(struct pt_conn *c, enum pt_dir dir,
					const uint8_t *buf, size_t n,
					uint64_t t);
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
