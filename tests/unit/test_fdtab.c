/*
 * test_fdtab.c -- the fd table: slot allocation, reuse, the try-lock,
 * dup aliasing and deferred finalisation.
 */
#include <criterion/criterion.h>
#include <string.h>

#include "fdtab.h"

static struct pt_fdtab t;
static int finalized;
static struct pt_conn *last_final;

static void on_final(struct pt_conn *c)
{
	finalized++;
	last_final = c;
}

static void setup(void)
{
	finalized = 0;
	last_final = NULL;
	cr_assert_eq(fdtab_init(&t, 64, 4), 0);
	t.finalize = on_final;
}

static void teardown(void)
{
	fdtab_destroy(&t);
}

/* A new connection on fd, published and unlocked. */
static struct pt_conn *open_conn(int fd)
{
	struct pt_conn *c = fdtab_alloc(&t);
	cr_assert_not_null(c);
	cr_assert_null(fdtab_attach(&t, fd, c));
	fdtab_release(&t, c);
	return c;
}

TestSuite(fdtab, .init = setup, .fini = teardown);

Test(fdtab, untracked_fd_looks_up_null)
{
	cr_assert_null(fdtab_lookup(&t, 5));
	cr_assert_null(fdtab_lookup(&t, -1));
	cr_assert_null(fdtab_lookup(&t, 64));
	cr_assert_null(fdtab_lookup(&t, 1 << 30));
}

Test(fdtab, attach_then_lookup_finds_the_slot)
{
	struct pt_conn *c = open_conn(7);
	cr_assert_eq(fdtab_lookup(&t, 7), c);
	cr_assert_eq(fdtab_max_fd(&t), 7);
	cr_assert_eq(fdtab_live(&t), 1);
}

Test(fdtab, alloc_returns_locked_zeroed_slot)
{
	struct pt_conn *c = fdtab_alloc(&t);
	cr_assert_not_null(c);
	cr_assert_eq(c->conn_id, 0);
	cr_assert_eq(c->bytes_in, 0);
	cr_assert_eq(fdtab_trylock(c), 0, "alloc hands the slot locked");
	fdtab_free(&t, c);
	cr_assert_eq(fdtab_live(&t), 0);
}

Test(fdtab, pool_exhaustion_gives_null_and_free_slot_is_reused)
{
	struct pt_conn *c[4];
	for (int i = 0; i < 4; i++)
		c[i] = open_conn(10 + i);
	cr_assert_null(fdtab_alloc(&t));
	struct pt_conn *d = fdtab_detach(&t, 11);
	cr_assert_eq(d, c[1]);
	fdtab_unref(&t, d);
	cr_assert_eq(finalized, 1);
	struct pt_conn *again = fdtab_alloc(&t);
	cr_assert_eq(again, c[1], "the freed slot is the lowest free one");
	fdtab_free(&t, again);
}

Test(fdtab, close_finalises_once_and_unmaps)
{
	struct pt_conn *c = open_conn(3);
	struct pt_conn *d = fdtab_detach(&t, 3);
	cr_assert_eq(d, c);
	fdtab_unref(&t, d);
	cr_assert_eq(finalized, 1);
	cr_assert_eq(last_final, c);
	cr_assert_null(fdtab_lookup(&t, 3));
	cr_assert_null(fdtab_detach(&t, 3), "a second close finds nothing");
	cr_assert_eq(fdtab_live(&t), 0);
}

Test(fdtab, reused_fd_number_is_a_new_connection)
{
	struct pt_conn *c = open_conn(9);
	uint32_t gen = c->gen;
	fdtab_unref(&t, fdtab_detach(&t, 9));
	struct pt_conn *n = open_conn(9);
	cr_assert_eq(n, c, "same slot");
	cr_assert_neq(n->gen, gen, "but a new generation");
}

Test(fdtab, attach_over_a_live_fd_returns_the_old_connection)
{
	struct pt_conn *a = open_conn(4);
	struct pt_conn *b = fdtab_alloc(&t);
	struct pt_conn *prev = fdtab_attach(&t, 4, b);
	cr_assert_eq(prev, a);
	fdtab_unref(&t, prev);
	fdtab_release(&t, b);
	cr_assert_eq(finalized, 1);
	cr_assert_eq(last_final, a);
	cr_assert_eq(fdtab_lookup(&t, 4), b);
}

Test(fdtab, dup_alias_keeps_connection_until_last_close)
{
	struct pt_conn *c = open_conn(5);
	cr_assert_null(fdtab_attach(&t, 6, c)); /* dup(5) -> 6 */
	cr_assert_eq(c->refs, 2);
	fdtab_unref(&t, fdtab_detach(&t, 5));
	cr_assert_eq(finalized, 0, "the alias still holds it");
	cr_assert_eq(fdtab_lookup(&t, 6), c);
	fdtab_unref(&t, fdtab_detach(&t, 6));
	cr_assert_eq(finalized, 1);
	cr_assert_eq(fdtab_live(&t), 0);
}

Test(fdtab, busy_slot_is_not_acquired_and_reports_busy)
{
	int busy = 0;
	struct pt_conn *c = open_conn(8);
	struct pt_conn *held = fdtab_acquire(&t, 8, &busy);
	cr_assert_eq(held, c);
	cr_assert_eq(busy, 0);
	/* A signal handler on the same thread, or another thread. */
	cr_assert_null(fdtab_acquire(&t, 8, &busy));
	cr_assert_eq(busy, 1);
	fdtab_release(&t, held);
	cr_assert_eq(fdtab_acquire(&t, 8, &busy), c);
	fdtab_release(&t, c);
}

Test(fdtab, passive_connection_is_neither_acquired_nor_busy)
{
	int busy = 1;
	struct pt_conn *c = open_conn(8);
	fdtab_set_passive(c);
	cr_assert_null(fdtab_acquire(&t, 8, &busy));
	cr_assert_eq(busy, 0);
	cr_assert_eq(fdtab_lookup(&t, 8), c, "still mapped: close frees it");
}

Test(fdtab, close_while_locked_defers_finalisation_to_the_holder)
{
	int busy;
	struct pt_conn *c = open_conn(12);
	struct pt_conn *held = fdtab_acquire(&t, 12, &busy);
	cr_assert_eq(held, c);
	/* The holder is interrupted; the handler closes the fd. */
	fdtab_unref(&t, fdtab_detach(&t, 12));
	cr_assert_eq(finalized, 0, "never finalised under the holder's feet");
	cr_assert_eq(fdtab_live(&t), 1);
	cr_assert_eq(fdtab_trylock(c), 0, "a dying slot cannot be locked");
	fdtab_release(&t, held);
	cr_assert_eq(finalized, 1, "the holder finalises on release");
	cr_assert_eq(fdtab_live(&t), 0);
}

Test(fdtab, stale_map_word_is_ignored)
{
	int busy;
	struct pt_conn *c = open_conn(2);
	uint32_t word = t.map[2];
	fdtab_unref(&t, fdtab_detach(&t, 2));
	struct pt_conn *n = open_conn(20); /* same slot, new generation */
	cr_assert_eq(n, c);
	t.map[2] = word; /* a hook that loaded the old word */
	cr_assert_null(fdtab_acquire(&t, 2, &busy));
	cr_assert_eq(busy, 0);
	cr_assert_eq(fdtab_acquire(&t, 20, &busy), n, "left unlocked");
	fdtab_release(&t, n);
	t.map[2] = 0;
}

Test(fdtab, after_fork_makes_inherited_connections_passive_and_unlocked)
{
	int busy;
	struct pt_conn *a = open_conn(3);
	struct pt_conn *b = open_conn(4);
	a->decided = 1;
	a->opened = 1;
	cr_assert_eq(fdtab_acquire(&t, 4, &busy), b); /* held by a thread */
	fdtab_after_fork(&t);
	cr_assert(fdtab_is_passive(a));
	cr_assert(fdtab_is_passive(b));
	cr_assert_eq(a->decided, 0, "the parent's decoder is not closed");
	cr_assert_eq(a->opened, 0);
	cr_assert(fdtab_trylock(b), "the vanished holder's lock is gone");
	fdtab_release(&t, b);
	fdtab_unref(&t, fdtab_detach(&t, 3));
	cr_assert_eq(fdtab_live(&t), 1);
}

Test(fdtab, out_of_range_attach_is_ignored)
{
	struct pt_conn *c = fdtab_alloc(&t);
	cr_assert_null(fdtab_attach(&t, 64, c));
	cr_assert_null(fdtab_attach(&t, -1, c));
	cr_assert_eq(c->refs, 0);
	fdtab_free(&t, c);
}

Test(fdtab_init, clamps_and_rejects_zero_sizes)
{
	struct pt_fdtab x;
	cr_assert_lt(fdtab_init(&x, 0, 4), 0);
	cr_assert_eq(x.fd_cap, 0);
	cr_assert_null(fdtab_lookup(&x, 0));
	cr_assert_eq(fdtab_init(&x, 1u << 30, 100000), 0);
	cr_assert_eq(x.fd_cap, PT_FDTAB_FD_CAP);
	cr_assert_eq(x.nslots, PT_FDTAB_SLOTS_MAX);
	fdtab_destroy(&x);
}

Test(fdtab, after_fork_keeps_an_idle_redis_connection_decoding)
{
	struct pt_conn *a = open_conn(3);
	struct pt_conn *b = open_conn(4);
	static const uint8_t ping[] = "*1\r\n$4\r\nPING\r\n";
	a->decided = b->decided = 1;
	a->proto = b->proto = PT_PROTO_REDIS;
	a->opened = 1;
	proto_redis_init(&a->dec.redis, NULL, NULL);
	proto_redis_init(&b->dec.redis, NULL, NULL);
	/* b has a PING outstanding: the parent's reply may reach the child */
	proto_redis_feed(&b->dec.redis, PT_DIR_OUT, ping, sizeof(ping) - 1, 1);
	cr_assert_eq(fdtab_after_fork(&t), 1, "one mid-operation");
	cr_assert_not(fdtab_is_passive(a));
	cr_assert_eq(a->decided, 1);
	cr_assert_eq(a->opened, 0, "the child writes its own open record");
	cr_assert(fdtab_is_passive(b));
	cr_assert_eq(b->decided, 0);
}
