/*
 * hooks_redis.c -- the interposed hiredis connect calls, and nothing else
 * (api_redis.h says why commands stay with the socket decoder).
 *
 * Hooked: redisConnect, redisConnectWithTimeout, redisConnectUnix,
 * redisConnectUnixWithTimeout (hiredis 0.14 has no redisConnectWithOptions;
 * the non-blocking connects return before the connection is made and are
 * not timed).  Resolution as hooks_sqlite.c: at the first call, with
 * dlsym(RTLD_NEXT), else in libhiredis taken with RTLD_NOLOAD; a program
 * without hiredis never touches it.  A per-thread depth counts only the
 * outermost call when one connect calls another through the PLT (they
 * block: nothing is suspended across the call).
 */
#include <dlfcn.h>
#include <errno.h>
#include <hiredis/hiredis.h>
#include <stdint.h>
#include <sys/time.h>

#include "api_redis.h"
#include "preload.h"

#define PT_EXPORT __attribute__((visibility("default")))

struct redis_real {
	redisContext *(*connect)(const char *, int);
	redisContext *(*connect_tv)(const char *, int, const struct timeval);
	redisContext *(*unix_)(const char *);
	redisContext *(*unix_tv)(const char *, const struct timeval);
};

static struct redis_real real;
static int resolved; /* 0 not yet, 1 done (atomic) */
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
	real = r;
	uint32_t raw_max = 0;
	struct pt_api_out out = {
	    .event = pt_shim_emit_event,
	    .conn = pt_shim_emit_conn,
	    .conn_id = pt_shim_conn_id,
	};
	out.raw = pt_shim_raw(&raw_max);
	out.raw_max = raw_max;
	api_redis_init(&out);
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
	return pt_tflags.guard == 0 && depth == 0 && pt_shim_api_on();
}

static void connected(redisContext *c, uint64_t t0)
{
	uint64_t t1 = pt_now();
	int e = errno;
	int fd = c && !c->err ? c->fd : -1;
	api_redis_connect(fd >= 0 ? pt_shim_fd_conn_id(fd) : 0,
			  c ? c->err : REDIS_ERR_OOM, t0, t1);
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
