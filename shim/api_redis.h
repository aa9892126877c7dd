/*
 * api_redis.h -- hiredis's blocking API as events: the logic behind
 * hooks_redis.c, testable without libhiredis (the hooks hand over the
 * context's output buffer and the replies; events leave through
 * struct pt_api_out).
 *
 * A context opened by a hooked redisConnect* is the API's: one connection
 * record (PT_PROTO_REDIS) plus a "CONNECT" event timed around the call, and
 * its socket made passive for good (take_fd), so the socket decoder never
 * counts it twice.  A context the hooks did not see open (opened before
 * tracing, a non-blocking or async connect, tables full) stays with the
 * socket path.
 *
 * Commands are not decoded twice over: each tracked context owns a
 * proto_redis decoder (proto_redis.h) fed with the very RESP bytes hiredis
 * sends (its output buffer, obuf) and with each reply it hands the program,
 * re-encoded as RESP.  So the command table, key patterns, error classes,
 * GET hits and misses, MULTI/EXEC and pub/sub are exactly the socket
 * decoder's, and the decoder's FIFO (spilled to the shim's spill memory past
 * 1,024) pairs a pipeline's replies in order.  Every event gets PT_EV_API.
 *
 * Timing: a command is "sent" when the redisGetReply that writes it starts:
 * redisAppendCommand* only fills obuf, and hiredis writes obuf in the next
 * redisGetReply (redisCommand's own, or the program's first one after its
 * appends; if a reply is already buffered then, hiredis writes a little
 * later, and the command's time includes the program's handling of that
 * reply).  It ends when redisGetReply (or the outermost redisCommand*)
 * returns its reply.  That is the time the program waited for it.
 *
 * Not hooked, and why:
 *   - redisAppendCommand, redisvAppendCommand, redisAppendCommandArgv,
 *     redisAppendFormattedCommand: they only fill obuf, which is read where
 *     it is sent; a hook there would cost a call per command for nothing.
 *   - the async API (redisAsync*): its replies reach the program in its own
 *     callbacks, run from its own event loop; timing a command to its
 *     callback would mean replacing the program's callback and privdata
 *     with ours (a record per command: a malloc in a hook).  Its contexts
 *     connect non-blocking, unseen here, so the socket decoder counts them,
 *     with the same timing points (the write, the read of the reply).
 *     redisProcessCallbacks calls redisGetReply through hiredis's PLT: on
 *     an untracked context that costs one table probe.
 *
 * State: a fixed table keyed by redisContext * (no malloc); each slot's
 * decoder lives in spill memory taken at connect and given back at
 * redisFree.  hiredis lets one thread use a context at a time, so a slot
 * is used by one thread at a time.
 */
#ifndef PERFTAP_API_REDIS_H
#define PERFTAP_API_REDIS_H

#include <stddef.h>
#include <stdint.h>

#include "peer.h"

#include "api_sqlite.h" /* struct pt_api_out */
#include "proto.h"	/* struct pt_spill */

struct redisReply;

/* Contexts tracked at once (past it: left to the socket path, counted). */
#define PT_REDIS_CTX_SLOTS 1024u

/* The peer of a connection, read by the hooks (getpeername). */
/* spill: memory for the decoders; take_fd: make fd's socket decoding
 * passive for good (preload.c). */
void api_redis_init(const struct pt_api_out *out, const struct pt_spill *spill,
		    void (*take_fd)(int fd));
/* Forget every context, the table as new (tests, one thread). */
void api_redis_reset_all(void);

/* A redisConnect* call ran from t0 to t1; err: the context's err (0 ok);
 * ctx, fd, peer: the context made (NULL, -1 when it failed); reply_fns:
 * its reader's reply-object functions (c->reader->fn), hiredis's own at
 * connect.  A context that connected gets a slot (unless the table or the
 * spill is out). */
void api_redis_connect(void *ctx, int fd, const struct pt_peer *peer,
		       const void *reply_fns, int err, uint64_t t0,
		       uint64_t t1);

/* The tracked context's slot; NULL (fast) when ctx is not tracked. */
void *api_redis_find(void *ctx);

/* Before redisGetReply: obuf[0, len) is what hiredis has yet to write, fd
 * the context's socket now (a redisReconnect changes it).  The bytes not
 * yet fed are sent at now. */
void api_redis_send(void *slot, int fd, const char *obuf, size_t len,
		    uint64_t now);
/* After it: obuf holds len bytes (hiredis dropped what it wrote). */
void api_redis_sent(void *slot, size_t len);

/* The program got reply (NULL: none) at t1, made by the reader functions
 * reply_fns (other than at connect: not a redisReply; the context is
 * measured no more).  broken: the context failed for good (I/O error,
 * EOF, protocol error): what is outstanding aborts. */
void api_redis_reply(void *slot, const struct redisReply *reply,
		     const void *reply_fns, int broken, uint64_t t1);

/* After redisReconnect(ctx) returned ok (1) or not, fd its new socket
 * (often the old number again): what was outstanding aborts; the new
 * socket is taken, or the slot marked broken. */
void api_redis_reconnect(void *ctx, int fd, int ok, uint64_t now);

/* Before redisFree(ctx): what is outstanding aborts, the slot is free. */
void api_redis_free(void *ctx, uint64_t now);

#endif /* PERFTAP_API_REDIS_H */
