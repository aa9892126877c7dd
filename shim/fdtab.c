/*
 * fdtab.c -- the fd -> connection table and the pool of connection slots
 * (invariants F1-F5 in fdtab.h).  No malloc: both arrays are anonymous
 * mappings made once, which also survive a program that closes every fd.
 */
#include <errno.h>
#include <stddef.h>
#include <string.h>
#include <sys/mman.h>

#include "debug.h"
#include "fdtab.h"
#include "sniff.h"
#include "sys.h"

static uint32_t map_word(const struct pt_conn *c)
{
	return (c->index + 1) | (c->gen << 16);
}

static void *map_anon(size_t bytes)
{
	void *p =
	    pt_sys.mmap(NULL, bytes, PROT_READ | PROT_WRITE,
			MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	return p == MAP_FAILED ? NULL : p;
}

int fdtab_init(struct pt_fdtab *t, uint32_t fd_cap, uint32_t nslots)
{
	memset(t, 0, sizeof(*t));
	if (fd_cap > PT_FDTAB_FD_CAP)
		fd_cap = PT_FDTAB_FD_CAP;
	if (nslots > PT_FDTAB_SLOTS_MAX)
		nslots = PT_FDTAB_SLOTS_MAX;
	if (fd_cap == 0 || nslots == 0)
		return -EINVAL;
	t->map_bytes = (size_t)fd_cap * sizeof(uint32_t);
	t->slots_bytes = (size_t)nslots * sizeof(struct pt_conn);
	t->map = map_anon(t->map_bytes);
	t->slots = map_anon(t->slots_bytes);
	if (!t->map || !t->slots) {
		int err = errno;
		fdtab_destroy(t);
		return -err;
	}
	for (uint32_t i = 0; i < nslots; i++)
		t->slots[i].index = i;
	t->nslots = nslots;
	/* Release: a hook that sees fd_cap != 0 sees mapped arrays. */
	__atomic_store_n(&t->fd_cap, fd_cap, __ATOMIC_RELEASE);
	return 0;
}

void fdtab_destroy(struct pt_fdtab *t)
{
	__atomic_store_n(&t->fd_cap, 0, __ATOMIC_RELEASE);
	if (t->map)
		pt_sys.munmap(t->map, t->map_bytes);
	if (t->slots)
		pt_sys.munmap(t->slots, t->slots_bytes);
	memset(t, 0, sizeof(*t));
}

struct pt_conn *fdtab_alloc(struct pt_fdtab *t)
{
	/* Lowest free slot first, so that the pages in use stay few. */
	for (uint32_t i = 0; i < t->nslots; i++) {
		struct pt_conn *c = &t->slots[i];
		uint32_t zero = 0;
		if (__atomic_load_n(&c->used, __ATOMIC_RELAXED))
			continue;
		/* Acquire: the previous tenant's writes (before its release
		 * store of 0 in fdtab_free) are done. */
		if (!__atomic_compare_exchange_n(&c->used, &zero, 1, 0,
						 __ATOMIC_ACQUIRE,
						 __ATOMIC_RELAXED))
			continue;
		uint32_t gen = (c->gen + 1) & 0xffffu;
		memset(&c->conn_id, 0,
		       offsetof(struct pt_conn, dec) -
			   offsetof(struct pt_conn, conn_id));
		c->gen = gen ? gen : 1;
		/* F4: a new generation, never 0 (0 is no map word's). */
		PT_DEBUG_ASSERT(c->gen != 0 && c->gen <= 0xffffu);
		__atomic_store_n(&c->refs, 0, __ATOMIC_RELAXED);
		__atomic_store_n(&c->passive, 0, __ATOMIC_RELAXED);
		__atomic_store_n(&c->lock, PT_CONN_BUSY, __ATOMIC_RELAXED);
		return c;
	}
	return NULL;
}

struct pt_conn *fdtab_attach(struct pt_fdtab *t, int fd, struct pt_conn *c)
{
	uint32_t cap = __atomic_load_n(&t->fd_cap, __ATOMIC_RELAXED);
	if (fd < 0 || (unsigned)fd >= cap)
		return NULL;
	/* F1: only an allocated slot is ever published. */
	PT_DEBUG_ASSERT(__atomic_load_n(&c->used, __ATOMIC_RELAXED) == 1);
	__atomic_add_fetch(&c->refs, 1, __ATOMIC_RELAXED);
	uint32_t max = __atomic_load_n(&t->max_fd, __ATOMIC_RELAXED);
	while ((unsigned)fd > max &&
	       !__atomic_compare_exchange_n(&t->max_fd, &max, (uint32_t)fd, 1,
					    __ATOMIC_RELAXED, __ATOMIC_RELAXED))
		;
	/* Release: publishes the slot's fields to fdtab_lookup (acquire). */
	uint32_t old =
	    __atomic_exchange_n(&t->map[fd], map_word(c), __ATOMIC_ACQ_REL);
	if (old == 0)
		return NULL;
	struct pt_conn *prev = &t->slots[(old & 0xffffu) - 1];
	return prev->gen == (old >> 16) ? prev : NULL;
}

struct pt_conn *fdtab_detach(struct pt_fdtab *t, int fd)
{
	uint32_t cap = __atomic_load_n(&t->fd_cap, __ATOMIC_RELAXED);
	if (fd < 0 || (unsigned)fd >= cap)
		return NULL;
	if (__atomic_load_n(&t->map[fd], __ATOMIC_RELAXED) == 0)
		return NULL; /* the common case: no write, no cache miss */
	uint32_t old = __atomic_exchange_n(&t->map[fd], 0, __ATOMIC_ACQ_REL);
	if (old == 0)
		return NULL;
	struct pt_conn *c = &t->slots[(old & 0xffffu) - 1];
	return c->gen == (old >> 16) ? c : NULL;
}

int fdtab_trylock(struct pt_conn *c)
{
	uint32_t zero = 0;
	/* Acquire: see the previous holder's writes to the owned fields. */
	return __atomic_compare_exchange_n(&c->lock, &zero, PT_CONN_BUSY, 0,
					   __ATOMIC_ACQUIRE, __ATOMIC_RELAXED);
}

static void finalize_and_free(struct pt_fdtab *t, struct pt_conn *c)
{
	/* F3: the finaliser holds a dead connection's lock. */
	PT_DEBUG_ASSERT(__atomic_load_n(&c->lock, __ATOMIC_RELAXED) ==
			(PT_CONN_BUSY | PT_CONN_DEAD));
	if (t->finalize)
		t->finalize(c);
	fdtab_free(t, c);
}

void fdtab_release(struct pt_fdtab *t, struct pt_conn *c)
{
	uint32_t busy = PT_CONN_BUSY;
	/* F2: only the holder releases. */
	PT_DEBUG_ASSERT(__atomic_load_n(&c->lock, __ATOMIC_RELAXED) &
			PT_CONN_BUSY);
	/* Release: our writes to the owned fields before the next holder. */
	if (__atomic_compare_exchange_n(&c->lock, &busy, 0, 0, __ATOMIC_RELEASE,
					__ATOMIC_ACQUIRE))
		return;
	/* DEAD was set while we held it (F3): we finalise. */
	finalize_and_free(t, c);
}

void fdtab_unref(struct pt_fdtab *t, struct pt_conn *c)
{
	if (__atomic_sub_fetch(&c->refs, 1, __ATOMIC_ACQ_REL) != 0)
		return;
	uint32_t old = __atomic_load_n(&c->lock, __ATOMIC_RELAXED);
	for (;;) {
		uint32_t want = (old & PT_CONN_BUSY)
				    ? old | PT_CONN_DEAD
				    : PT_CONN_BUSY | PT_CONN_DEAD;
		if (__atomic_compare_exchange_n(&c->lock, &old, want, 1,
						__ATOMIC_ACQ_REL,
						__ATOMIC_RELAXED))
			break;
	}
	if (!(old & PT_CONN_BUSY))
		finalize_and_free(t, c); /* we took it */
}

static struct pt_conn *acquire(struct pt_fdtab *t, int fd, int *busy,
			       int passive_too)
{
	uint32_t cap = __atomic_load_n(&t->fd_cap, __ATOMIC_RELAXED);
	*busy = 0;
	if ((unsigned)fd >= cap)
		return NULL;
	uint32_t w = __atomic_load_n(&t->map[fd], __ATOMIC_ACQUIRE);
	if (w == 0)
		return NULL;
	struct pt_conn *c = &t->slots[(w & 0xffffu) - 1];
	if (!passive_too && fdtab_is_passive(c))
		return NULL;
	if (!fdtab_trylock(c)) {
		uint32_t l = __atomic_load_n(&c->lock, __ATOMIC_RELAXED);
		*busy = !(l & PT_CONN_DEAD);
		return NULL;
	}
	if (c->gen == (w >> 16) &&
	    __atomic_load_n(&t->map[fd], __ATOMIC_RELAXED) == w)
		return c;
	/* Stale: the fd moved on between the load and the lock; the slot
	 * is another connection's now (or free: then used is 0 and our
	 * release below leaves it as fdtab_free did). */
	fdtab_release(t, c);
	return NULL;
}

struct pt_conn *fdtab_acquire(struct pt_fdtab *t, int fd, int *busy)
{
	return acquire(t, fd, busy, 0);
}

struct pt_conn *fdtab_acquire_any(struct pt_fdtab *t, int fd, int *busy)
{
	return acquire(t, fd, busy, 1);
}

void fdtab_free(struct pt_fdtab *t, struct pt_conn *c)
{
	(void)t;
	/* F1: freed once, by the thread holding the slot's lock. */
	PT_DEBUG_ASSERT(__atomic_load_n(&c->used, __ATOMIC_RELAXED) == 1);
	PT_DEBUG_ASSERT(__atomic_load_n(&c->lock, __ATOMIC_RELAXED) &
			PT_CONN_BUSY);
	__atomic_store_n(&c->lock, 0, __ATOMIC_RELAXED);
	__atomic_store_n(&c->refs, 0, __ATOMIC_RELAXED);
	/* Release: everything we wrote is done before the slot is reused. */
	__atomic_store_n(&c->used, 0, __ATOMIC_RELEASE);
}

uint32_t fdtab_max_fd(const struct pt_fdtab *t)
{
	return __atomic_load_n(&t->max_fd, __ATOMIC_RELAXED);
}

/* In the child: may c's copy of the decoder go on?  Only between
 * operations (the next bytes the child sends start a frame) and on the
 * socket stream itself (TLS plaintext: hooks_tls.c stops it). */
static int fork_keeps(const struct pt_conn *c)
{
	return c->decided && !__atomic_load_n(&c->passive, __ATOMIC_RELAXED) &&
	       c->tls != PT_TLS_ON &&
	       sniff_decoder_idle(&c->dec, (enum pt_proto)c->proto);
}

uint32_t fdtab_after_fork(struct pt_fdtab *t)
{
	uint32_t midop = 0;

	for (uint32_t i = 0; i < t->nslots; i++) {
		struct pt_conn *c = &t->slots[i];
		if (!__atomic_load_n(&c->used, __ATOMIC_RELAXED))
			continue;
		/* The copy of the connection is the child's: its events go to
		 * the child's dump, under an open record of its own. */
		c->opened = 0;
		c->events = 0;
		/* ... opened and connected by the parent, not by the child */
		c->conn_flags |= PT_CONNF_INHERITED;
		c->connect_start = c->connect_ns = c->auth_ns = 0;
		if (!fork_keeps(c)) {
			/* Mid-operation (or undecided, HTTP, TLS): the parent's
			 * frame may continue in the child's stream. */
			midop +=
			    c->decided &&
			    !__atomic_load_n(&c->passive, __ATOMIC_RELAXED);
			c->decided = 0;
			__atomic_store_n(&c->passive, 1, __ATOMIC_RELAXED);
		}
		if (__atomic_load_n(&c->lock, __ATOMIC_RELAXED) & PT_CONN_DEAD)
			fdtab_free(t, c); /* no fd left: its closer is gone */
		else
			__atomic_store_n(&c->lock, 0, __ATOMIC_RELAXED);
	}
	return midop;
}

uint32_t fdtab_live(const struct pt_fdtab *t)
{
	uint32_t n = 0;
	for (uint32_t i = 0; i < t->nslots; i++)
		n += __atomic_load_n(&t->slots[i].used, __ATOMIC_RELAXED);
	return n;
}
