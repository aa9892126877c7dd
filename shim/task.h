/*
 * task.h -- asyncio: which execution context an operation came from.
 *
 * An asyncio server runs every request's handler as a task, and a task's
 * steps run inside the task's own context (PyContext): tstate->context is
 * that object while the task runs, and no other code runs in it (a context
 * can be entered by one thread at a time, and the loop enters it only for
 * the task's own steps).  So the shim notes, as a key, the context that
 * sends each client operation's first byte, and the context that writes
 * each response's first byte; the report joins the two inside the
 * request's lifetime (report/task_join.c).  A context's address can be
 * reused once it is freed, which is why the join is bounded by the
 * request's own window, during which its task (hence its context) lives.
 *
 * Costs one pyrt_read per client send and per response, only in a CPython
 * process whose layout pyrt knows, only with PERFTAP_REQUESTS on.
 */
#ifndef PERFTAP_TASK_H
#define PERFTAP_TASK_H

#include <stdint.h>

/* Recent sends of one client connection: (feed time, context key).  An
 * operation's start_ns is the feed time of its first byte, so a lookup by
 * start_ns is exact; a pipeline deeper than the ring is left keyless. */
#define PT_TASK_SENDS 4

struct pt_task_sends {
	uint64_t t[PT_TASK_SENDS];
	uint64_t key[PT_TASK_SENDS];
	uint8_t has_stack[PT_TASK_SENDS]; /* the connection keeps the stack
					     this send was made from (conn.c) */
	uint32_t at;			  /* next slot to write */
};

/* On when attribution is on and pyrt can read this interpreter (set once,
 * from the constructor). */
void task_enable(int on);
int task_enabled(void);

/* The calling thread's context key now; 0 when none or disabled. */
uint64_t task_key_now(void);

/* The key a response is written with: the context of the task whose
 * coroutine is running; 0 when no coroutine runs (a key shared by many
 * requests, as uvloop's write flush has, must never be a request's). */
uint64_t task_response_key(void);

/* A client connection sends bytes at feed time t from context key (lock
 * held).  Returns the slot of a new send (its has_stack cleared), or -1
 * when t is the send just noted (one feed, several iovecs: the key is
 * updated). */
int task_note_send(struct pt_task_sends *s, uint64_t t, uint64_t key);

/* The slot of the send at exactly start_ns; -1 when not in the ring. */
int task_send_slot(const struct pt_task_sends *s, uint64_t start_ns);

/* The key of the send at exactly start_ns; 0 when not in the ring. */
uint64_t task_key_at(const struct pt_task_sends *s, uint64_t start_ns);

/* Is a coroutine executing on the calling thread (a task's step)? */
int task_in_coroutine(void);

/* On a thread-pool worker running an asyncio job (to_thread,
 * run_in_executor): the context key of the task awaiting the job; 0
 * otherwise (and, after one clean look, cheaply 0 forever on a thread
 * that is no pool worker). */
uint64_t task_handoff_key(void);

#endif /* PERFTAP_TASK_H */
