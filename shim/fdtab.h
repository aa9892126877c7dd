/*
 * fdtab.h -- which file descriptors the shim tracks, and each tracked
 * connection's state.
 *
 * Two mmap'd arrays, made once at start-up (no malloc, ever):
 *   map[fd]   one 32-bit word per fd: 0 = untracked, else the slot index
 *             + 1 (low 16 bits) and the slot's generation (high 16 bits);
 *   slots[]   a pool of struct pt_conn, one per live connection, shared
 *             by every fd that aliases it (dup) through a reference count.
 * An untracked call costs one bounds check and one load of map[fd].
 *
 * Concurrency invariants (every field below `lock` belongs to the thread
 * holding the lock):
 *   F1. A slot is allocated by a CAS of `used` 0 -> 1 and handed back by a
 *       release store of 0, always by the thread that finalised it.
 *   F2. `lock` holds PT_CONN_BUSY while one thread (or a signal handler)
 *       feeds or finalises the connection.  Taking it is a CAS from 0;
 *       nobody ever waits for it: a hook that finds it held skips the
 *       bytes (PT_DROP_BUSY) and makes the connection passive.
 *   F3. When the last fd of a connection goes away, PT_CONN_DEAD is set.
 *       If the lock was free the closer takes it and finalises; if it was
 *       held, the holder finalises when it unlocks (fdtab_unlock returns
 *       1).  A dead slot can never be locked again.
 *   F4. `gen` changes at each allocation; a map word whose generation
 *       does not match the slot is stale (fd closed and the slot reused
 *       while a hook was between lookup and lock) and is ignored.
 *   F5. `passive` only goes 0 -> 1; hooks read it before anything else.
 */
#ifndef PERFTAP_FDTAB_H
#define PERFTAP_FDTAB_H

#include <stddef.h>
#include <stdint.h>

#include "perftap/dump_format.h"
#include "proto.h"
#include "stack.h"
#include "task.h"

#if __has_include("proto_mysql.h")
#include "proto_mysql.h"
#define PT_HAVE_MYSQL 1
#endif
#if __has_include("proto_redis.h")
#include "proto_redis.h"
#define PT_HAVE_REDIS 1
#endif
#if __has_include("proto_http.h")
#include "proto_http.h"
#define PT_HAVE_HTTP 1
#endif

/* Connections alive at once.  A backend keeps tens to hundreds; the pool
 * is virtual memory (MAP_NORESERVE) and only touched slots cost RSS. */
#define PT_FDTAB_SLOTS_DEFAULT 4096u
#define PT_FDTAB_SLOTS_MAX     65535u /* index + 1 must fit 16 bits */
/* Highest fd tracked + 1: RLIMIT_NOFILE's hard limit, capped (4 MiB of
 * address space for the map at the cap). */
#define PT_FDTAB_FD_CAP (1u << 20)
/* First bytes kept while a connection's protocol is undecided. */
#define PT_SNIFF_BYTES 16
/* Server version or Unix socket path kept for the connection record. */
#define PT_CONN_TEXT_MAX 108

#define PT_CONN_BUSY 1u
#define PT_CONN_DEAD 2u

union pt_decoder {
#ifdef PT_HAVE_MYSQL
	struct proto_mysql mysql;
#endif
#ifdef PT_HAVE_REDIS
	struct proto_redis redis;
#endif
#ifdef PT_HAVE_HTTP
	struct proto_http http;
#endif
	uint64_t none;
};

/* Whether a connection's stream is TLS plaintext seen by the SSL hooks
 * (hooks_tls.c); zeroed with the rest of the slot at allocation. */
enum pt_tls_state {
	PT_TLS_OFF = 0, /* no plaintext seen yet: socket bytes are the stream */
	PT_TLS_ON,	/* the stream is the plaintext; events get PT_EV_TLS */
	PT_TLS_STOPPED, /* plaintext is not decoded (desync, busy, fork...) */
};

struct pt_stack_batch;

struct pt_conn {
	uint32_t used;	  /* F1 (atomic) */
	uint32_t lock;	  /* F2, F3 (atomic) */
	uint32_t refs;	  /* fds mapped here (atomic) */
	uint32_t passive; /* F5 (atomic) */
	uint32_t gen;	  /* F4: written at allocation, before publication */
	uint32_t index;	  /* position in the pool, fixed */
	/* --- owned by the lock holder --- */
	uint32_t conn_id;
	uint8_t role;	 /* enum pt_conn_role */
	uint8_t proto;	 /* enum pt_proto; UNKNOWN while undecided */
	uint8_t family;	 /* AF_* of the peer */
	uint8_t decided; /* protocol chosen and decoder initialised */
	uint8_t opened;	 /* PT_CONN_OPEN record written */
	uint8_t sniff_len;
	uint8_t sniff_dir; /* direction of the bytes in sniff[] */
	uint8_t tls;	   /* enum pt_tls_state */
	uint16_t port;	   /* peer port, host order */
	uint8_t addr[16];
	uint64_t open_ns;
	uint64_t connect_start; /* non-blocking connect() in progress since */
	uint64_t connect_ns;	/* connect() to writable; 0 = unknown */
	uint64_t auth_ns;	/* MySQL greeting to the handshake's OK */
	uint32_t conn_flags;	/* PT_CONNF_* for its records */
	uint64_t bytes_in, bytes_out;
	uint64_t events;
	uint64_t undecoded;
	uint64_t req_open; /* server: id of the request in progress, 0 none;
			     written by the lock holder, loaded by any
			     thread (request.h) */
	/* asyncio context keys (task.h) */
	struct pt_task_sends sends; /* client: recent sends */
	uint64_t resp_key;	    /* server: who wrote the response's first
				       byte (valid when resp_seen) */
	uint64_t create_key;	    /* server: the task its head created
				       (task_create.h); 0 none */
	uint64_t head_ns;	    /* server: the request's head complete */
	uint8_t resp_seen;
	/* client: who sends on it (enum pt_sender, conn.c), and sends left
	 * until a plain sender is looked at again */
	uint8_t sender;
	uint8_t sender_skip;
	/* The feed in progress keeps one stack for every operation it ends
	 * (stack.h); NULL outside conn_feed. */
	struct pt_stack_batch *stack_batch;
	uint32_t server_conn_id;
	uint32_t text_len;
	char text[PT_CONN_TEXT_MAX]; /* server version or socket path */
	uint8_t sniff[PT_SNIFF_BYTES];
	struct pt_sink sink; /* the decoder keeps a pointer to it */
	union pt_decoder dec;
	/* client, asyncio (stack.h): the stack of each send in the ring
	 * sends, valid where sends.has_stack says so.  Last, and outside the
	 * allocation's clearing: 5 KiB no new connection needs zeroed. */
	struct pt_stack_capture sent_stack[PT_TASK_SENDS];
};

struct pt_fdtab {
	uint32_t *map;	 /* fd_cap words */
	uint32_t fd_cap; /* 0 until init: every fd untracked */
	struct pt_conn *slots;
	uint32_t nslots;
	uint32_t max_fd; /* highest fd ever attached (atomic) */
	size_t map_bytes, slots_bytes;
	/* Called with the lock held when a connection's last fd is gone
	 * (decoder close, close record); the slot is freed right after.
	 * May be NULL. */
	void (*finalize)(struct pt_conn *c);
};

/* Map both arrays.  fd_cap and nslots are clamped to the maxima above.
 * Returns 0 or -errno (the table then tracks nothing). */
int fdtab_init(struct pt_fdtab *t, uint32_t fd_cap, uint32_t nslots);

/* Unmap (tests; the shim never unmaps: a late hook must still find it). */
void fdtab_destroy(struct pt_fdtab *t);

/* fd's map word: 0 when untracked (or out of range, or before init).
 * The fast path every hook takes: one bounds check and one load. */
static inline uint32_t fdtab_word(const struct pt_fdtab *t, int fd)
{
	/* Acquire: pairs with the release store in fdtab_init, so a
	 * non-zero cap comes with the mapped arrays (a plain load on
	 * x86-64). */
	uint32_t cap = __atomic_load_n(&t->fd_cap, __ATOMIC_ACQUIRE);
	if ((unsigned)fd >= cap)
		return 0;
	/* Acquire: pairs with the release store in fdtab_attach, so the
	 * slot's fields written before publication are visible. */
	return __atomic_load_n(&t->map[fd], __ATOMIC_ACQUIRE);
}

/* The connection mapped at fd, unlocked, or NULL (untracked, stale). */
static inline struct pt_conn *fdtab_lookup(const struct pt_fdtab *t, int fd)
{
	uint32_t w = fdtab_word(t, fd);
	if (w == 0)
		return NULL;
	return &t->slots[(w & 0xffffu) - 1];
}

/* A free slot, already locked by the caller, with every field before
 * `dec` zeroed, a new generation, refs 0.  NULL when the pool is full. */
struct pt_conn *fdtab_alloc(struct pt_fdtab *t);

/* Map fd to c (refs + 1).  If fd was mapped to a connection, that one is
 * returned: the caller must fdtab_unref() it (the fd was reused without a
 * close the shim saw).  -1 / out-of-range fds are ignored. */
struct pt_conn *fdtab_attach(struct pt_fdtab *t, int fd, struct pt_conn *c);

/* Unmap fd; returns the connection it pointed to (or NULL). */
struct pt_conn *fdtab_detach(struct pt_fdtab *t, int fd);

/* Drop one reference.  On the last one the connection dies (F3): it is
 * finalised and freed here if its lock was free, else by the holder's
 * fdtab_release(). */
void fdtab_unref(struct pt_fdtab *t, struct pt_conn *c);

/* The connection at fd, locked, or NULL.  *busy is set to 1 when the fd is
 * tracked and live but the lock was held by someone else.  A passive,
 * dead or stale connection gives NULL with *busy = 0. */
struct pt_conn *fdtab_acquire(struct pt_fdtab *t, int fd, int *busy);
/* The same, passive connections included (to change what a stopped
 * decoder left behind). */
struct pt_conn *fdtab_acquire_any(struct pt_fdtab *t, int fd, int *busy);

/* Take / release the lock.  fdtab_release finalises and frees the
 * connection when it died while held (F3). */
int fdtab_trylock(struct pt_conn *c);
void fdtab_release(struct pt_fdtab *t, struct pt_conn *c);

/* Stop decoding (F5). */
static inline void fdtab_set_passive(struct pt_conn *c)
{
	__atomic_store_n(&c->passive, 1, __ATOMIC_RELAXED);
}

static inline int fdtab_is_passive(const struct pt_conn *c)
{
	return __atomic_load_n(&c->passive, __ATOMIC_RELAXED);
}

/* Return a slot to the pool without finalising it (the caller holds its
 * lock and no fd maps to it: a connection abandoned before it was
 * published). */
void fdtab_free(struct pt_fdtab *t, struct pt_conn *c);

/* Highest fd ever attached, for close_range without scanning the map. */
uint32_t fdtab_max_fd(const struct pt_fdtab *t);

/* Forked child (single thread): every inherited connection is unlocked
 * (a lock a vanished thread held).  A MySQL or Redis connection whose
 * decoder is between operations goes on being decoded, the child's copy
 * into the child's dump (a new open record); any other becomes passive.
 * Returns how many decoded connections were mid-operation (now passive). */
uint32_t fdtab_after_fork(struct pt_fdtab *t);

/* Live slots, for tests. */
uint32_t fdtab_live(const struct pt_fdtab *t);

#endif /* PERFTAP_FDTAB_H */
