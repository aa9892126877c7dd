/*
 * request.h -- which inbound HTTP request the current thread is serving.
 *
 * Every inbound request gets a process-unique id when its first byte is
 * read; an operation gets that id (PT_ATTR_THREAD) only when it runs on a
 * thread that read exactly one request still open (first byte in, last
 * byte of the response not yet out).  Anything less certain is left
 * unattributed with the reason (PT_ATTR_NONE / AMBIGUOUS / OTHER): an
 * operation given to the wrong request is a bug, one given to none is
 * counted.
 *
 * Per connection the caller keeps one word, `open`: the id of the request
 * in progress on that server connection, 0 when none (atomic; written by
 * the thread holding the connection's lock, read by any thread).
 */
#ifndef PERFTAP_REQUEST_H
#define PERFTAP_REQUEST_H

#include <stdint.h>

#include "perftap/dump_format.h"

/* PERFTAP_REQUESTS=off: no ids handed out, every op PT_ATTR_UNKNOWN. */
void request_enable(int on);

/* A request began on this thread (its first byte was just read) on the
 * server connection whose word is *open (0 on entry).  Stores the new id
 * in *open and returns it; 0 when attribution is off. */
uint64_t request_begin(uint64_t *open, uint64_t now_ns);

/* The request whose id *open holds ended (its response's last byte went
 * out, or its connection closed): returns that id and clears *open. */
uint64_t request_end(uint64_t *open);

/* The request an operation that started at start_ns and finished on this
 * thread now served, and how that was found (*attr). */
uint64_t request_current(uint64_t start_ns, uint8_t *attr);

/* ---- the connection layer's two call points ---- */
struct pt_conn;
struct pt_op;
struct pt_event;
/* After each feed of c (locked): a server HTTP request that just began
 * takes an id on this thread.  Returns 1 when this feed completed the
 * open request's head (task_create.h), else 0. */
int request_step(struct pt_conn *c, uint64_t now_ns);
/* Fill ev's request_id and attr for op, decoded on c (locked). */
void request_attribute(struct pt_conn *c, const struct pt_op *op,
		       struct pt_event *ev);

/* Fill ev's request_id, attr and task_key for an operation that ran on
 * this thread, whose first byte left from the context key (task.h; 0 =
 * none). */
void request_attribute_here(struct pt_event *ev, uint64_t key);

/* After fork, in the child: this thread serves nothing it knows of.  The
 * id counter is kept, so the child's ids never repeat ones it inherited. */
void request_after_fork(void);

#endif /* PERFTAP_REQUEST_H */
