/*
 * hooks_tls.c -- OpenSSL interposition: the plaintext of SSL_read,
 * SSL_write, SSL_read_ex and SSL_write_ex is decoded in place of the
 * ciphertext the socket hooks would see.
 *
 * Sections:
 *   1. resolving the real OpenSSL functions (lazily: the program may not
 *      use OpenSSL at all, and Python loads it RTLD_LOCAL)
 *   2. the hooks
 *
 * How ciphertext is kept away from the decoders: every hooked SSL_* call
 * raises this thread's pt_tflags.api_depth around the real call, so the
 * socket hooks it reaches (read/recv/write/send on the SSL's fd) see an
 * untracked fd.  The handshake, shutdown and peek calls are hooked for that
 * reason only.  The plaintext goes to pt_tls_bytes (conn.c, section 5:
 * the per-connection TLS state, MySQL's SSLRequest, sniffing).
 *
 * Not covered: SSL objects whose BIO is not a socket (memory BIOs:
 * Python's asyncio SSL, SSLObject): SSL_get_rfd gives -1, the socket path
 * sees a ClientHello, counts PT_CNT_CONN_TLS and leaves the connection
 * alone.
 *
 * Rules as in hooks.c: return value and errno unchanged (OpenSSL reports
 * SSL_ERROR_SYSCALL through errno), no malloc after the one-time symbol
 * resolution, every lock a try-lock.
 */
#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include "preload.h"

#define PT_EXPORT __attribute__((visibility("default")))

typedef struct ssl_st SSL; /* opaque: the shim never links libssl */

/* ---- 1. resolving the real OpenSSL functions ---- */

enum tls_fn {
	F_READ,
	F_WRITE,
	F_READ_EX,
	F_WRITE_EX,
	F_PEEK,
	F_PEEK_EX,
	F_DO_HANDSHAKE,
	F_CONNECT,
	F_ACCEPT,
	F_SHUTDOWN,
	F_GET_RFD,
	F_GET_WFD,
	F_COUNT
};

static const char *const tls_names[F_COUNT] = {
    [F_READ] = "SSL_read",
    [F_WRITE] = "SSL_write",
    [F_READ_EX] = "SSL_read_ex",
    [F_WRITE_EX] = "SSL_write_ex",
    [F_PEEK] = "SSL_peek",
    [F_PEEK_EX] = "SSL_peek_ex",
    [F_DO_HANDSHAKE] = "SSL_do_handshake",
    [F_CONNECT] = "SSL_connect",
    [F_ACCEPT] = "SSL_accept",
    [F_SHUTDOWN] = "SSL_shutdown",
    [F_GET_RFD] = "SSL_get_rfd",
    [F_GET_WFD] = "SSL_get_wfd",
};

/* Filled once per name; a race fills it twice with the same value. */
static void *tls_real[F_COUNT];

/* Library names tried last, newest first. */
static const char *const tls_libs[] = {"libssl.so.3", "libssl.so.1.1",
				       "libssl.so"};

/* 1 if f is one of this library's own functions (a lookup that found
 * the hook again). */
static int is_self(void *f)
{
	Dl_info self, other;
	if (!dladdr((void *)is_self, &self) || !dladdr(f, &other))
		return 0;
	return self.dli_fbase == other.dli_fbase;
}

static void *sym_in(const char *lib, const char *name)
{
	void *h = dlopen(lib, RTLD_LAZY | RTLD_NOLOAD);
	if (!h)
		return NULL;
	void *f = dlsym(h, name);
	dlclose(h); /* RTLD_NOLOAD took a reference */
	return f && !is_self(f) ? f : NULL;
}

/* Where is the real `name`?  RTLD_NEXT first (a program linked with
 * libssl).  Note: RTLD_NEXT only searches the global scope, and Python's
 * _ssl module (with libssl) is dlopen'ed RTLD_LOCAL; then the library of
 * the caller is asked (its own dependency tree holds the libssl it was
 * bound to), then libssl by name. */
static void *tls_lookup(const char *name, const void *caller)
{
	void *f = dlsym(RTLD_NEXT, name);
	if (f && !is_self(f))
		return f;
	Dl_info info;
	if (caller && dladdr(caller, &info) && info.dli_fname &&
	    info.dli_fname[0] && (f = sym_in(info.dli_fname, name)))
		return f;
	for (size_t i = 0; i < sizeof(tls_libs) / sizeof(tls_libs[0]); i++)
		if ((f = sym_in(tls_libs[i], name)))
			return f;
	return NULL;
}

/* The real function, resolving it on first use.  The shim's guard is
 * raised while dlopen/dlsym run (they may read files, allocate). */
static void *tls_fn(enum tls_fn which, const void *caller)
{
	void *f = __atomic_load_n(&tls_real[which], __ATOMIC_ACQUIRE);
	if (__builtin_expect(f != NULL, 1))
		return f;
	int e = errno;
	pt_tflags.guard++;
	f = tls_lookup(tls_names[which], caller);
	pt_tflags.guard--;
	errno = e;
	/* Release: the pointer is a complete value; nothing else to order. */
	if (f)
		__atomic_store_n(&tls_real[which], f, __ATOMIC_RELEASE);
	return f;
}

typedef int (*ssl_io_fn)(SSL *, void *, int);
typedef int (*ssl_wio_fn)(SSL *, const void *, int);
typedef int (*ssl_io_ex_fn)(SSL *, void *, size_t, size_t *);
typedef int (*ssl_wio_ex_fn)(SSL *, const void *, size_t, size_t *);
typedef int (*ssl_int_fn)(SSL *);
typedef int (*ssl_fd_fn)(const SSL *);

static int ssl_fd(SSL *s, enum tls_fn which, const void *caller)
{
	if (__builtin_expect(!pt_tracing_on(), 0))
		return -1; /* tracing off: not even the call */
	ssl_fd_fn f = (ssl_fd_fn)tls_fn(which, caller);
	return f ? f(s) : -1;
}

/* ---- 2. the hooks ----
 *
 * A real function that cannot be found (no libssl anywhere: a caller made
 * up the symbol) is reported as OpenSSL's generic failure, -1 / 0, with
 * errno ENOSYS rather than crashing. */

#define TLS_REAL(type, which, caller) ((type)tls_fn((which), (caller)))

PT_EXPORT int SSL_write(SSL *s, const void *buf, int num)
{
	const void *caller = __builtin_return_address(0);
	ssl_wio_fn f = TLS_REAL(ssl_wio_fn, F_WRITE, caller);
	if (!f)
		return errno = ENOSYS, -1;
	int fd = ssl_fd(s, F_GET_WFD, caller);
	int on = fd >= 0 && pt_tls_tracked(fd);
	uint64_t t = on ? pt_now() : 0;
	pt_tflags.api_depth++;
	int r = f(s, buf, num);
	pt_tflags.api_depth--;
	if (on && r > 0) {
		int e = errno;
		pt_tls_bytes(fd, PT_DIR_OUT, buf, (size_t)r, t);
		errno = e;
	}
	return r;
}

PT_EXPORT int SSL_write_ex(SSL *s, const void *buf, size_t num, size_t *written)
{
	const void *caller = __builtin_return_address(0);
	ssl_wio_ex_fn f = TLS_REAL(ssl_wio_ex_fn, F_WRITE_EX, caller);
	if (!f)
		return errno = ENOSYS, 0;
	int fd = ssl_fd(s, F_GET_WFD, caller);
	int on = fd >= 0 && pt_tls_tracked(fd);
	uint64_t t = on ? pt_now() : 0;
	pt_tflags.api_depth++;
	int r = f(s, buf, num, written);
	pt_tflags.api_depth--;
	if (on && r == 1 && written && *written > 0) {
		int e = errno;
		pt_tls_bytes(fd, PT_DIR_OUT, buf, *written, t);
		errno = e;
	}
	return r;
}

PT_EXPORT int SSL_read(SSL *s, void *buf, int num)
{
	const void *caller = __builtin_return_address(0);
	ssl_io_fn f = TLS_REAL(ssl_io_fn, F_READ, caller);
	if (!f)
		return errno = ENOSYS, -1;
	int outer = pt_tflags.api_depth == 0;
	pt_tflags.api_depth++;
	int r = f(s, buf, num);
	pt_tflags.api_depth--;
	if (r > 0 && outer) {
		int e = errno;
		int fd = ssl_fd(s, F_GET_RFD, caller);
		if (fd >= 0 && pt_tls_tracked(fd))
			pt_tls_bytes(fd, PT_DIR_IN, buf, (size_t)r, 0);
		errno = e;
	}
	return r;
}

PT_EXPORT int SSL_read_ex(SSL *s, void *buf, size_t num, size_t *readbytes)
{
	const void *caller = __builtin_return_address(0);
	ssl_io_ex_fn f = TLS_REAL(ssl_io_ex_fn, F_READ_EX, caller);
	if (!f)
		return errno = ENOSYS, 0;
	int outer = pt_tflags.api_depth == 0;
	pt_tflags.api_depth++;
	int r = f(s, buf, num, readbytes);
	pt_tflags.api_depth--;
	if (r == 1 && outer && readbytes && *readbytes > 0) {
		int e = errno;
		int fd = ssl_fd(s, F_GET_RFD, caller);
		if (fd >= 0 && pt_tls_tracked(fd))
			pt_tls_bytes(fd, PT_DIR_IN, buf, *readbytes, 0);
		errno = e;
	}
	return r;
}

/* Calls whose socket traffic is handshake, alerts or records read ahead:
 * ciphertext only, hidden from the socket hooks, nothing decoded. */
static int guarded(enum tls_fn which, SSL *s, const void *caller)
{
	ssl_int_fn f = TLS_REAL(ssl_int_fn, which, caller);
	if (!f)
		return errno = ENOSYS, -1;
	pt_tflags.api_depth++;
	int r = f(s);
	pt_tflags.api_depth--;
	return r;
}

PT_EXPORT int SSL_do_handshake(SSL *s)
{
	return guarded(F_DO_HANDSHAKE, s, __builtin_return_address(0));
}

PT_EXPORT int SSL_connect(SSL *s)
{
	return guarded(F_CONNECT, s, __builtin_return_address(0));
}

PT_EXPORT int SSL_accept(SSL *s)
{
	return guarded(F_ACCEPT, s, __builtin_return_address(0));
}

PT_EXPORT int SSL_shutdown(SSL *s)
{
	return guarded(F_SHUTDOWN, s, __builtin_return_address(0));
}

/* Peeked plaintext comes again from SSL_read: never decoded here. */
PT_EXPORT int SSL_peek(SSL *s, void *buf, int num)
{
	const void *caller = __builtin_return_address(0);
	ssl_io_fn f = TLS_REAL(ssl_io_fn, F_PEEK, caller);
	if (!f)
		return errno = ENOSYS, -1;
	pt_tflags.api_depth++;
	int r = f(s, buf, num);
	pt_tflags.api_depth--;
	return r;
}

PT_EXPORT int SSL_peek_ex(SSL *s, void *buf, size_t num, size_t *readbytes)
{
	const void *caller = __builtin_return_address(0);
	ssl_io_ex_fn f = TLS_REAL(ssl_io_ex_fn, F_PEEK_EX, caller);
	if (!f)
		return errno = ENOSYS, 0;
	pt_tflags.api_depth++;
	int r = f(s, buf, num, readbytes);
	pt_tflags.api_depth--;
	return r;
}
