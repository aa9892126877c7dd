/*
 * task_create.h -- asyncio: the task an inbound request's head created.
 *
 * task.h keys a request by the context that writes its response, which
 * needs the write to happen inside the request's task.  uvloop never does
 * that: a transport's small writes are queued and flushed at the end of
 * the loop iteration, outside every task.  What every asyncio server of
 * the uvicorn kind does instead is create the request's task in the
 * protocol callback that parsed the request's head (httptools'
 * on_headers_complete, h11's handle_events, both inside data_received):
 *
 *     read(fd) -> R's head complete      (the shim's read hook, conn.c)
 *     Protocol.data_received(data)       (same thread, same bytes)
 *       loop.create_task(cycle.run_asgi(app))
 *         Task.__init__ -> PyContext_CopyCurrent()  -> the task's context
 *
 * and the task's steps, and the jobs it hands to a pool, run in that
 * context (task_key_now, task_handoff_key).  So the context returned by
 * that copy is R's key.  The copy is seen by pointing _asyncio's import
 * of PyContext_CopyCurrent at a hook (plt_hook.h); the interpreter and
 * every other module keep calling the real one.
 *
 * A copy is R's only when all of these hold, else nothing is bound:
 *   C1. the last tracked feed on this thread was a read that completed
 *       R's head, with no other request open on R's connection (so the
 *       server starts R now, not after an earlier one: a pipelined
 *       request's task is made later, by the earlier request's task);
 *   C2. it is the first copy since that read (one shot: a task created
 *       next by the same callback is not R's);
 *   C3. no coroutine runs on the thread (a task created by a task, a
 *       background job, is not the request's);
 *   C4. a frame of `data_received` is among the innermost frames, and its
 *       `data` argument is a bytes object of exactly the read's length
 *       and first bytes (so the callback is parsing that very read, not
 *       one of another connection the shim does not track);
 *   C5. when the request's response is also written inside a task (h11,
 *       large uvloop writes), both keys agree (request.c): two different
 *       keys name no one task.
 * Cost: one TLS load per task created or done-callback added (the hook),
 * and per request head one walk of a few frames (pyframes, ~3 us).
 * CPython 3.11 only (task_enabled); the hook is installed the first time
 * a head is read and _asyncio is loaded.
 */
#ifndef PERFTAP_TASK_CREATE_H
#define PERFTAP_TASK_CREATE_H

#include <stddef.h>
#include <stdint.h>

/* Called on a binding (conn.c): the request req, read on fd from the
 * connection `conn` (an identity, compared, never dereferenced here), has
 * the task context key.  Takes the connection's lock itself. */
typedef void (*task_create_bind_fn)(int fd, const void *conn, uint64_t req,
				    uint64_t key);

/* From the constructor, after task_enable: on only when task_enabled()
 * and the interpreter exports PyContext_CopyCurrent. */
void task_create_enable(task_create_bind_fn bind);
int task_create_enabled(void);

/* After every tracked feed on this thread (connection lock held): a read
 * that completed request req's head (C1) gives buf/n, the read's bytes;
 * anything else passes req = 0 and forgets what was noted. */
void task_create_note(int fd, const void *conn, uint64_t req,
		      const uint8_t *buf, size_t n);

/* After the lock is released: install the hook if a head is noted and it
 * is not installed yet (retried at doubling intervals while _asyncio is
 * not loaded). */
void task_create_arm(void);

#endif /* PERFTAP_TASK_CREATE_H */
