/*
 * hooks_redis.c -- the interposed hiredis calls, and nothing else
 * (api_redis.h has the logic and says what is hooked and why).
 *
 * Hooked: redisConnect, redisConnectWithTimeout, redisConnectUnix,
 * redisConnectUnixWithTimeout (hiredis 0.14 has no redisConnectWithOptions;
 * the non-blocking connects return before the connection is made and stay
 * with the socket path), redisCommand, redisvCommand, redisCommandArgv,
 * redisGetReply, redisReconnect and redisFree.  Resolution as hooks_sqlite.c:
 * at the first call, with dlsym(RTLD_NEXT), else in libhiredis taken with
 * RTLD_NOLOAD; a program without hiredis never touches it.
 *
 * Nesting: hiredis reaches its own exported functions through its PLT
 * (objdump of libhiredis.so.0.14: redisCommand -> redisvCommand ->
 * redisvAppendCommand, then redisGetReply), so our hooks run inside each
 * other.  A per-thread depth makes only the outermost hook end a command
 * (feed its reply); the redisGetReply hook feeds obuf at every depth, since
 * that is where hiredis writes it, and each byte is fed once (api_redis.c
 * R2), so each command is counted once whoever sent it.  The calls block:
 * nothing is suspended across them with the depth raised.
 *
 * The context's fields (fd, err, flags, obuf, reader) are read as the
 * installed <hiredis/hiredis.h> lays them out, so contexts are measured
 * only when the real functions live in the library that header describes
 * (libhiredis.so.HIREDIS_SONAME, found with dladdr): hiredis 1.x moved
 * them, and a program with its own copy linked in (redis-benchmark) may
 * have any layout.  Otherwise every hook only calls the real function and
 * the socket path counts the commands.
 */
#include <dlfcn.h>
#include <errno.h>
#include <hiredis/hiredis.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>

#include "api_redis.h"
#include "preload.h"
#include "spill.h"

#define PT_EXPORT __attribute__((visibility("default")))
#define STR(x)	  #x
#define XSTR(x)	  STR(x)

struct redis_real {
	redisContext *(*connect)(const char *, int);
	redisContext *(*connect_tv)(const char *, int, const struct timeval);
	redisContext *(*unix_)(const char *);
	redisContext *(*unix_tv)(const char *, const struct timeval);
	void *(*vcommand)(redisContext *, const char *, va_list);
	void *(*command_argv)(redisContext *, int, const char **,
			      const size_t *);
	int (*get_reply)(redisContext *, void **);
	void (*free_)(redisContext *);
	int (*reconnect)(redisContext *);
};

static struct redis_real real;
static int resolved; /* 0 not yet, 1 done (atomic) */
/* 1: the real functions are in the library our header describes (written
 * before resolved's release store, read after its acquire load). */
static int layout_ok;
static __thread uint32_t depth __attribute__((tls_model("initial-exec")));

static void *sym(void *lib, const char *name)
{
	void *p = dlsym(RTLD_NEXT, name);
	if (!p && lib)
		p = dlsym(lib, name);
	return p;
}

static __attribute__((noinline)) int resolve(void)
{
	pt_tflags.guard++;
	static const char *const libs[] = {
	    "libhiredis.so.0.14", "libhiredis.so.1.1.0", "libhiredis.so.1.0.0"};
	void *lib = NULL;
	for (size_t i = 0; !lib && i < sizeof(libs) / sizeof(libs[0]); i++)
		lib = dlopen(libs[i], RTLD_LAZY | RTLD_NOLOAD);
	struct redis_real r;
	*(void **)&r.connect = sym(lib, "redisConnect");
	*(void **)&r.connect_tv = sym(lib, "redisConnectWithTimeout");
	*(void **)&r.unix_ = sym(lib, "redisConnectUnix");
	*(void **)&r.unix_tv = sym(lib, "redisConnectUnixWithTimeout");
	*(void **)&r.vcommand = sym(lib, "redisvCommand");
	*(void **)&r.command_argv = sym(lib, "redisCommandArgv");
	*(void **)&r.get_reply = sym(lib, "redisGetReply");
	*(void **)&r.free_ = sym(lib, "redisFree");
	*(void **)&r.reconnect = sym(lib, "redisReconnect");
	real = r;
	Dl_info di;
	layout_ok = r.get_reply && dladdr(*(void **)&r.get_reply, &di) &&
		    di.dli_fname &&
		    strstr(di.dli_fname, "libhiredis.so." XSTR(HIREDIS_SONAME));
	uint32_t raw_max = 0;
	struct pt_api_out out = {
	    .event = pt_shim_emit_event,
	    .conn = pt_shim_emit_conn,
	    .drop = pt_shim_drop,
	    .conn_id = pt_shim_conn_id,
	};
	out.raw = pt_shim_raw(&raw_max);
	out.raw_max = raw_max;
	api_redis_init(&out, &pt_spill_mmap, pt_shim_api_take_fd);
	__atomic_store_n(&resolved, 1, __ATOMIC_RELEASE);
	pt_tflags.guard--;
	return 1;
}

static inline int ready(void)
{
	if (__builtin_expect(__atomic_load_n(&resolved, __ATOMIC_ACQUIRE), 1))
		return 1;
	return resolve();
}

static inline int tracing(void)
{
	return pt_tflags.guard == 0 && depth == 0 && layout_ok &&
	       pt_shim_api_on();
}

static void connected(redisContext *c, uint64_t t0)
{
	uint64_t t1 = pt_now();
	int e = errno;
	pt_tflags.guard++;
	int ok = c && !c->err && (c->flags & REDIS_BLOCK);
	struct pt_peer peer;
	pt_peer_of_fd(ok ? c->fd : -1, &peer);
	api_redis_connect(ok ? c : NULL, ok ? c->fd : -1, &peer,
			  ok && c->reader ? c->reader->fn : NULL,
			  c ? c->err : REDIS_ERR_OOM, t0, t1);
	pt_tflags.guard--;
	errno = e;
}

PT_EXPORT redisContext *redisConnect(const char *ip, int port)
{
	if (!ready() || !real.connect)
		return NULL;
	if (!tracing())
		return real.connect(ip, port);
	uint64_t t0 = pt_now();
	depth++;
	redisContext *c = real.connect(ip, port);
	depth--;
	connected(c, t0);
	return c;
}

PT_EXPORT redisContext *redisConnectWithTimeout(const char *ip, int port,
						const struct timeval tv)
{
	if (!ready() || !real.connect_tv)
		return NULL;
	if (!tracing())
		return real.connect_tv(ip, port, tv);
	uint64_t t0 = pt_now();
	depth++;
	redisContext *c = real.connect_tv(ip, port, tv);
	depth--;
	connected(c, t0);
	return c;
}

PT_EXPORT redisContext *redisConnectUnix(const char *path)
{
	if (!ready() || !real.unix_)
		return NULL;
	if (!tracing())
		return real.unix_(path);
	uint64_t t0 = pt_now();
	depth++;
	redisContext *c = real.unix_(path);
	depth--;
	connected(c, t0);
	return c;
}

PT_EXPORT redisContext *redisConnectUnixWithTimeout(const char *path,
						    const struct timeval tv)
{
	if (!ready() || !real.unix_tv)
		return NULL;
	if (!tracing())
		return real.unix_tv(path, tv);
	uint64_t t0 = pt_now();
	depth++;
	redisContext *c = real.unix_tv(path, tv);
	depth--;
	connected(c, t0);
	return c;
}

/* ---- commands ---- */

/* The context failed for good: nothing more will come on it. */
static int broken(const redisContext *c)
{
	return c->err == REDIS_ERR_IO || c->err == REDIS_ERR_EOF ||
	       c->err == REDIS_ERR_PROTOCOL;
}

/* c's slot when the outermost command hook is to end its command. */
static inline void *outer_slot(redisContext *c)
{
	if (depth || pt_tflags.guard || !pt_shim_api_on())
		return NULL;
	return api_redis_find(c);
}

static void command_done(void *s, redisContext *c, const void *reply)
{
	uint64_t t1 = pt_now();
	int e = errno;
	api_redis_reply(s, reply, c->reader ? c->reader->fn : NULL, broken(c),
			t1);
	errno = e;
}

/* Both hooks' body: redisCommand calls it directly, not through the
 * exported redisvCommand (the shim never binds to its own symbols). */
static void *vcommand(redisContext *c, const char *fmt, va_list ap)
{
	if (!ready() || !real.vcommand)
		return NULL;
	void *s = outer_slot(c);
	if (!s)
		return real.vcommand(c, fmt, ap);
	depth++;
	void *r = real.vcommand(c, fmt, ap);
	depth--;
	command_done(s, c, r);
	return r;
}

PT_EXPORT void *redisvCommand(redisContext *c, const char *fmt, va_list ap)
{
	return vcommand(c, fmt, ap);
}

/* hiredis's own redisCommand is va_start, redisvCommand, va_end. */
PT_EXPORT void *redisCommand(redisContext *c, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	void *r = vcommand(c, fmt, ap);
	va_end(ap);
	return r;
}

PT_EXPORT void *redisCommandArgv(redisContext *c, int argc, const char **argv,
				 const size_t *argvlen)
{
	if (!ready() || !real.command_argv)
		return NULL;
	void *s = outer_slot(c);
	if (!s)
		return real.command_argv(c, argc, argv, argvlen);
	depth++;
	void *r = real.command_argv(c, argc, argv, argvlen);
	depth--;
	command_done(s, c, r);
	return r;
}

/* Sends what obuf holds (api_redis.h: the send point) at any depth; the
 * outermost call also ends the command its reply answers. */
PT_EXPORT int redisGetReply(redisContext *c, void **reply)
{
	if (!ready() || !real.get_reply)
		return REDIS_ERR;
	void *s =
	    pt_tflags.guard == 0 && pt_shim_api_on() ? api_redis_find(c) : NULL;
	if (!s)
		return real.get_reply(c, reply);
	api_redis_send(s, c->fd, c->obuf, sdslen(c->obuf), pt_now());
	int outer = depth == 0;
	/* reply NULL: hiredis 0.14 (the only one measured, see above)
	 * drops the reply unfreed; take it to see it, and drop it too. */
	void *mine = NULL;
	void **dst = reply || !outer ? reply : &mine;
	depth++;
	int rc = real.get_reply(c, dst);
	depth--;
	int e = errno;
	api_redis_sent(s, sdslen(c->obuf));
	if (outer)
		command_done(s, c, rc == REDIS_OK && dst ? *dst : NULL);
	errno = e;
	return rc;
}

PT_EXPORT void redisFree(redisContext *c)
{
	if (!ready() || !real.free_)
		return;
	if (c && pt_tflags.guard == 0) {
		int e = errno;
		api_redis_free(c, pt_now());
		errno = e;
	}
	real.free_(c);
}

/* The socket is closed and another made, most often with the same fd
 * number: the new one must be taken from the socket path before any byte
 * of it is decoded there. */
PT_EXPORT int redisReconnect(redisContext *c)
{
	if (!ready() || !real.reconnect)
		return REDIS_ERR;
	int rc = real.reconnect(c);
	if (pt_tflags.guard == 0) {
		int e = errno;
		void *s = api_redis_find(c);
		if (s)
			api_redis_reconnect(c, c->fd, rc == REDIS_OK && !c->err,
					    pt_now());
		errno = e;
	}
	return rc;
}
