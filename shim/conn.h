/*
 * conn.h -- the connection layer: connection lifecycle (connect, accept,
 * close, dup), the byte path (sniffing an undecided connection, feeding
 * its decoder) and the sink that turns decoder output into events.
 *
 * The hooks (hooks*.c, through preload.h) call the entry points below with
 * an fd; this layer finds the connection in the fd table, decodes, and
 * hands what it produced to its host: struct pt_conn_host, which preload.c
 * fills with the dump writer and a unit test with a capture.  It never
 * reaches the writer, the settings or the clock any other way, so that it
 * runs unchanged without LD_PRELOAD.
 *
 * Rules: no allocation, no blocking (every lock is a try-lock, fdtab.h
 * F2); errno is the hooks' business (they save and restore it).
 */
#ifndef PERFTAP_CONN_H
#define PERFTAP_CONN_H

#include <stdint.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include "config.h"
#include "fdtab.h"
#include "proto.h"

struct pt_event;
struct pt_conn_info;

/* Hidden: reached PC-relative by every hook, no GOT load. */
extern __attribute__((visibility("hidden"))) struct pt_fdtab pt_fdtab;

/* Per-thread state the hooks read (initial-exec TLS: a fixed offset from
 * the thread pointer, no call, no allocation). */
struct pt_thread_flags {
	uint32_t guard;	    /* > 0: the shim itself is running; hooks pass */
	uint32_t api_depth; /* > 0: a client-API hook decodes; sockets off */
};
extern __thread struct pt_thread_flags pt_tflags
    __attribute__((tls_model("initial-exec")));

/* What the connection layer needs from its host.  Every member is set
 * (conn_setup copies the struct); the callbacks run with the connection's
 * lock held and must neither block nor call back into this layer. */
struct pt_conn_host {
	const struct pt_config *cfg;	      /* ports that decide a client */
	const struct pt_proto_options *popts; /* every decoder's options */
	uint64_t (*now)(void);		      /* CLOCK_MONOTONIC ns */
	/* 1 when records can be written now; 0: this one is lost. */
	int (*ready)(void);
	/* One decoded operation (attributed, flagged), and one connection
	 * record; called only after ready() said 1.  how: where its stack
	 * comes from, should it get one (stack.h). */
	void (*event)(const struct pt_event *ev, const struct pt_op_stack *how);
	void (*conn)(const struct pt_conn_info *ci);
	/* Dump counters (the host checks it can write them). */
	void (*count)(enum pt_counter what);
	void (*drop)(enum pt_drop_cause why);
	/* 1 in a vfork child, which shares the parent's memory: fd state
	 * must not change (close and dup are then ignored). */
	int (*foreign)(void);
};

/* Before conn_table_init: the hooks call in only for fds the table maps
 * (pt_mapped, pt_tracked), and pt_on_connect/accept track nothing while
 * it is unmapped, so the host is never called unset. */
void conn_setup(const struct pt_conn_host *host);

/* Map pt_fdtab (fd_cap fds, nslots connections), finalizing connections
 * through this layer.  0 or -errno. */
int conn_table_init(uint32_t fd_cap, uint32_t nslots);

/* A fresh connection id (ids are shared with the client-API hooks). */
uint32_t conn_next_id(void);

/* Bytes moved on a tracked fd.  t: for OUT, the clock read just before
 * the call (used on client connections; server ones read the clock
 * after, proto.h); for IN, 0 (the clock is read now, after the call). */
void pt_conn_bytes(int fd, enum pt_dir dir, const void *buf, size_t n,
		   uint64_t t);
void pt_conn_iov(int fd, enum pt_dir dir, const struct iovec *iov, int cnt,
		 size_t n, uint64_t t);
/* n bytes sent from a file (sendfile): content not seen. */
void pt_conn_file_bytes(int fd, size_t n, uint64_t t);

/* From the constructor, after task_enable: let the asyncio task-creation
 * hook (task_create.h) bind requests of these connections. */
void pt_conn_task_setup(void);
/* Bytes were consumed without being seen (MSG_TRUNC on a stream). */
void pt_conn_lost(int fd);

/* now: clock before connect(); done: after it when it returned 0, else 0
 * (in progress: pt_on_connected or the first write ends it).  Only
 * stream sockets of AF_INET, AF_INET6 and AF_UNIX are tracked. */
void pt_on_connect(int fd, const struct sockaddr *a, socklen_t alen,
		   uint64_t now, uint64_t done);
/* getsockopt(SO_ERROR) said err on fd: a connect in progress completed
 * (0) or failed. */
void pt_on_connected(int fd, int err);
void pt_on_accept(int fd, const struct sockaddr *a, socklen_t alen);
void pt_on_close(int fd);
void pt_on_close_range(unsigned int first, unsigned int last);
void pt_on_dup(int oldfd, int newfd);

/* n plaintext bytes moved through SSL on fd (hooks_tls.c; conn.c section
 * 5).  t: for OUT, the clock before the call (client timing, proto.h); 0
 * otherwise. */
void pt_tls_bytes(int fd, enum pt_dir dir, const void *buf, size_t n,
		  uint64_t t);
/* In a forked child, before fdtab_after_fork: the parent's TLS streams
 * are not decoded (the child's socket bytes would be ciphertext, its
 * plaintext a stream joined midway). */
void pt_tls_after_fork(void);

#endif /* PERFTAP_CONN_H */
