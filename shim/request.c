/*
 * request.c -- which inbound HTTP request the current thread is serving
 * (thread-per-request servers: threaded http.server, gunicorn sync and
 * gthread workers, WSGI servers).
 *
 * Rule: known or nothing.  A thread's operation belongs to request R only
 * when this thread read R's first byte, R is still open (its connection's
 * word still holds R's id), the thread has never had two requests open at
 * once (an event loop, a select()-based server: it multiplexes, so which
 * request an op serves cannot be told from the thread), and the op began
 * after R did.
 *
 * Invariants:
 *   R1. Ids come from one counter, process-wide, never reused: an id seen
 *       in a connection's word is that request's and no other's, even
 *       after the slot is reused by another connection.
 *   R2. *open is written only by the thread holding that connection's
 *       lock (request_begin / request_end); other threads only load it.
 *   R3. tls.open points into the connection table, which is mapped once
 *       and never unmapped (fdtab.h), so a stale pointer still reads a
 *       word -- never a fault -- and R1 makes the comparison exact.
 */
#include <stdint.h>

#include "fdtab.h"
#include "proto.h"
#include "request.h"
#include "writer.h"

/* Per-thread state (initial-exec TLS: fixed offset, no allocation). */
struct request_thread {
	const uint64_t *open; /* word of the connection whose request we read */
	uint64_t id;	      /* that request's id; 0 none */
	uint64_t begin_ns;    /* its first byte */
	uint32_t multiplex;   /* sticky: two requests open at once seen */
};
static __thread struct request_thread tls
    __attribute__((tls_model("initial-exec")));

static uint64_t next_id; /* atomic: the last id given out (R1) */
static int enabled = 1;	 /* written once, before any thread */

void request_enable(int on)
{
	enabled = on;
}

uint64_t request_begin(uint64_t *open, uint64_t now_ns)
{
	if (!enabled)
		return 0;
	/* Relaxed: uniqueness is all the counter gives; nothing else is
	 * published through it. */
	uint64_t id = __atomic_add_fetch(&next_id, 1, __ATOMIC_RELAXED);
	if (tls.id && tls.open != open &&
	    __atomic_load_n(tls.open, __ATOMIC_RELAXED) == tls.id)
		tls.multiplex = 1; /* another request of ours is still open */
	/* Relaxed: readers on other threads compare the word with an id
	 * they got on their own thread (R1); no other data rides on it. */
	__atomic_store_n(open, id, __ATOMIC_RELAXED);
	tls.open = open;
	tls.id = id;
	tls.begin_ns = now_ns;
	return id;
}

uint64_t request_end(uint64_t *open)
{
	uint64_t id = __atomic_load_n(open, __ATOMIC_RELAXED);
	__atomic_store_n(open, 0, __ATOMIC_RELAXED);
	if (tls.open == open && tls.id == id)
		tls.id = 0;
	return id;
}

uint64_t request_current(uint64_t start_ns, uint8_t *attr)
{
	if (!enabled) {
		*attr = PT_ATTR_UNKNOWN;
		return 0;
	}
	if (tls.id == 0 ||
	    __atomic_load_n(tls.open, __ATOMIC_RELAXED) != tls.id) {
		tls.id = 0; /* ended on another thread, or never began */
		*attr = PT_ATTR_NONE;
		return 0;
	}
	if (tls.multiplex || start_ns < tls.begin_ns) {
		*attr = PT_ATTR_AMBIGUOUS;
		return 0;
	}
	*attr = PT_ATTR_THREAD;
	return tls.id;
}

void request_after_fork(void)
{
	tls.id = 0;
	tls.open = 0;
	tls.multiplex = 0;
}

int request_step(struct pt_conn *c, uint64_t now_ns)
{
	if (c->role != PT_ROLE_SERVER || c->proto != PT_PROTO_HTTP ||
	    !c->decided)
		return 0;
	if (c->req_open) {
		if (c->head_ns || !proto_http_request_head_seen(&c->dec.http))
			return 0;
		c->head_ns = now_ns;
		return 1;
	}
	if (proto_http_request_open(&c->dec.http) &&
	    request_begin(&c->req_open, now_ns)) {
		c->resp_seen = 0;
		c->resp_key = 0;
		c->create_key = 0;
		c->head_ns =
		    proto_http_request_head_seen(&c->dec.http) ? now_ns : 0;
		return c->head_ns != 0;
	}
	return 0;
}

/* The request's head arrived head_ns - start_ns after its first byte. */
static uint32_t head_us(uint64_t start_ns, uint64_t head_ns)
{
	if (!head_ns || head_ns < start_ns)
		return UINT32_MAX;
	uint64_t us = (head_ns - start_ns) / 1000;
	return us < UINT32_MAX ? (uint32_t)us : UINT32_MAX;
}

/* The request's context key: the task that wrote its response (task.h)
 * or the one its head created (task_create.h); two different keys name
 * no one task (task_create.h C5). */
static uint64_t request_key(const struct pt_conn *c)
{
	uint64_t wrote = c->resp_seen ? c->resp_key : 0;
	uint64_t made = c->create_key;
	if (wrote && made && wrote != made)
		return 0;
	return wrote ? wrote : made;
}

void request_attribute(struct pt_conn *c, const struct pt_op *op,
		       struct pt_event *ev)
{
	if (op->kind == PT_KIND_HTTP_IN) {
		/* The request's own event: its id, whichever thread wrote
		 * the last byte (attr stays UNKNOWN: not an attribution). */
		ev->request_id = c->req_open ? request_end(&c->req_open) : 0;
		ev->head_us = head_us(op->start_ns, c->head_ns);
		if (ev->request_id)
			ev->task_key = request_key(c);
		c->head_ns = 0;
		c->resp_seen = 0;
		return;
	}
	request_attribute_here(ev, c->role == PT_ROLE_CLIENT
				       ? task_key_at(&c->sends, op->start_ns)
				       : 0);
}

void request_attribute_here(struct pt_event *ev, uint64_t key)
{
	ev->task_key = key;
	if (!key) {
		ev->request_id = request_current(ev->start_ns, &ev->attr);
		return;
	}
	/* Sent from an entered context: an event loop's task or handle, or
	 * a pool job.  The thread is no guide there (a loop serves many
	 * requests, and a background task's op is no open request's); the
	 * report joins the key with a request (task_join.h).  A job's thread
	 * runs in a copy of the task's context: find the task itself. */
	ev->attr = PT_ATTR_NONE;
	uint64_t k = task_handoff_key();
	if (k) {
		ev->task_key = k;
		ev->attr = PT_ATTR_HANDOFF;
	}
}
