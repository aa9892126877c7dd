/*
 * real.c -- real_<name> pointers to the functions the shim interposes,
 * resolved with dlsym(RTLD_NEXT), and the raw-syscall path used before
 * (and while) they are resolved.  See real.h.
 *
 * Sections: 1. pointers and resolver; 2. stubs (real function or
 * syscall), where each pointer starts.
 */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "real.h"

/* ---- 1. pointers and resolver ---- */

/* Each pointer starts at its stub (section 2): never NULL, so callers
 * need no test. */
#define PT_BOOT_DECL(ret, name, args) static ret boot_##name args;
PT_REAL_LIST(PT_BOOT_DECL)
#undef PT_BOOT_DECL

#define PT_REAL_DEF(ret, name, args) ret(*real_##name) args = boot_##name;
PT_REAL_LIST(PT_REAL_DEF)
#undef PT_REAL_DEF

/* Set once every pointer has been looked up (a symbol libc lacks keeps
 * its stub).  A thread that sees 0 resolves again, which is harmless
 * (dlsym is thread-safe and idempotent). */
static int resolved;

/* This thread is inside dlsym: any hook it reaches takes the syscall
 * path.  Initial-exec: no allocation, no lock on first access. */
static __thread int resolving __attribute__((tls_model("initial-exec")));

int real_resolving(void)
{
	return resolving;
}

void real_resolve(void)
{
	if (__atomic_load_n(&resolved, __ATOMIC_ACQUIRE) || resolving)
		return;
	resolving = 1;
	int saved = errno;
	void *p;
	/* Release: a thread that loads the new pointer (PT_REAL, acquire)
	 * sees everything dlsym set up before it. */
#define PT_REAL_RESOLVE(ret, name, args)                                       \
	p = dlsym(RTLD_NEXT, #name);                                           \
	if (p)                                                                 \
		__atomic_store_n(&real_##name, (ret(*) args)p,                 \
				 __ATOMIC_RELEASE);
	PT_REAL_LIST(PT_REAL_RESOLVE)
#undef PT_REAL_RESOLVE
	errno = saved;
	resolving = 0;
	__atomic_store_n(&resolved, 1, __ATOMIC_RELEASE);
}

/* In a stub: resolve (unless this thread is resolving), then the real
 * function if it is known now, else NULL: use the syscall. */
#define PT_GET(name)                                                           \
	__extension__({                                                        \
		real_resolve();                                                \
		__typeof__(real_##name) f_ =                                   \
		    __atomic_load_n(&real_##name, __ATOMIC_ACQUIRE);           \
		f_ == boot_##name ? NULL : f_;                                 \
	})

/* ---- 2. stubs (real function or syscall) ---- */

static ssize_t boot_read(int fd, void *buf, size_t n)
{
	__typeof__(real_read) f = PT_GET(read);
	return f ? f(fd, buf, n) : syscall(SYS_read, fd, buf, n);
}

static ssize_t boot_write(int fd, const void *buf, size_t n)
{
	__typeof__(real_write) f = PT_GET(write);
	return f ? f(fd, buf, n) : syscall(SYS_write, fd, buf, n);
}

static ssize_t boot_readv(int fd, const struct iovec *iov, int cnt)
{
	__typeof__(real_readv) f = PT_GET(readv);
	return f ? f(fd, iov, cnt) : syscall(SYS_readv, fd, iov, cnt);
}

static ssize_t boot_writev(int fd, const struct iovec *iov, int cnt)
{
	__typeof__(real_writev) f = PT_GET(writev);
	return f ? f(fd, iov, cnt) : syscall(SYS_writev, fd, iov, cnt);
}

static ssize_t boot_send(int fd, const void *buf, size_t n, int flags)
{
	__typeof__(real_send) f = PT_GET(send);
	return f ? f(fd, buf, n, flags)
		 : syscall(SYS_sendto, fd, buf, n, flags, NULL, 0);
}

static ssize_t boot_recv(int fd, void *buf, size_t n, int flags)
{
	__typeof__(real_recv) f = PT_GET(recv);
	return f ? f(fd, buf, n, flags)
		 : syscall(SYS_recvfrom, fd, buf, n, flags, NULL, NULL);
}

static ssize_t boot_sendto(int fd, const void *buf, size_t n, int flags,
			   const struct sockaddr *a, socklen_t alen)
{
	__typeof__(real_sendto) f = PT_GET(sendto);
	return f ? f(fd, buf, n, flags, a, alen)
		 : syscall(SYS_sendto, fd, buf, n, flags, a, alen);
}

static ssize_t boot_recvfrom(int fd, void *buf, size_t n, int flags,
			     struct sockaddr *a, socklen_t *alen)
{
	__typeof__(real_recvfrom) f = PT_GET(recvfrom);
	return f ? f(fd, buf, n, flags, a, alen)
		 : syscall(SYS_recvfrom, fd, buf, n, flags, a, alen);
}

static ssize_t boot_sendmsg(int fd, const struct msghdr *m, int flags)
{
	__typeof__(real_sendmsg) f = PT_GET(sendmsg);
	return f ? f(fd, m, flags) : syscall(SYS_sendmsg, fd, m, flags);
}

static ssize_t boot_recvmsg(int fd, struct msghdr *m, int flags)
{
	__typeof__(real_recvmsg) f = PT_GET(recvmsg);
	return f ? f(fd, m, flags) : syscall(SYS_recvmsg, fd, m, flags);
}

static ssize_t boot_sendfile(int out, int in, off_t *off, size_t n)
{
	__typeof__(real_sendfile) f = PT_GET(sendfile);
	return f ? f(out, in, off, n) : syscall(SYS_sendfile, out, in, off, n);
}

static ssize_t boot___read_chk(int fd, void *buf, size_t n, size_t buflen)
{
	__typeof__(real___read_chk) f = PT_GET(__read_chk);
	if (f)
		return f(fd, buf, n, buflen);
	return syscall(SYS_read, fd, buf, n < buflen ? n : buflen);
}

static ssize_t boot___recv_chk(int fd, void *buf, size_t n, size_t buflen,
			       int flags)
{
	__typeof__(real___recv_chk) f = PT_GET(__recv_chk);
	if (f)
		return f(fd, buf, n, buflen, flags);
	return syscall(SYS_recvfrom, fd, buf, n < buflen ? n : buflen, flags,
		       NULL, NULL);
}

static ssize_t boot___recvfrom_chk(int fd, void *buf, size_t n, size_t buflen,
				   int flags, struct sockaddr *a,
				   socklen_t *alen)
{
	__typeof__(real___recvfrom_chk) f = PT_GET(__recvfrom_chk);
	if (f)
		return f(fd, buf, n, buflen, flags, a, alen);
	return syscall(SYS_recvfrom, fd, buf, n < buflen ? n : buflen, flags, a,
		       alen);
}

static int boot_connect(int fd, const struct sockaddr *a, socklen_t alen)
{
	__typeof__(real_connect) f = PT_GET(connect);
	return f ? f(fd, a, alen) : (int)syscall(SYS_connect, fd, a, alen);
}

static int boot_accept(int fd, struct sockaddr *a, socklen_t *alen)
{
	__typeof__(real_accept) f = PT_GET(accept);
	return f ? f(fd, a, alen) : (int)syscall(SYS_accept4, fd, a, alen, 0);
}

static int boot_accept4(int fd, struct sockaddr *a, socklen_t *alen, int flags)
{
	__typeof__(real_accept4) f = PT_GET(accept4);
	return f ? f(fd, a, alen, flags)
		 : (int)syscall(SYS_accept4, fd, a, alen, flags);
}

static int boot_close(int fd)
{
	__typeof__(real_close) f = PT_GET(close);
	return f ? f(fd) : (int)syscall(SYS_close, fd);
}

static int boot_dup(int fd)
{
	__typeof__(real_dup) f = PT_GET(dup);
	return f ? f(fd) : (int)syscall(SYS_dup, fd);
}

static int boot_dup2(int fd, int fd2)
{
	__typeof__(real_dup2) f = PT_GET(dup2);
	if (f)
		return f(fd, fd2);
	if (fd == fd2) /* dup3 refuses equal fds; dup2 checks validity */
		return syscall(SYS_fcntl, fd, F_GETFD) < 0 ? -1 : fd;
	return (int)syscall(SYS_dup3, fd, fd2, 0);
}

static int boot_dup3(int fd, int fd2, int flags)
{
	__typeof__(real_dup3) f = PT_GET(dup3);
	return f ? f(fd, fd2, flags) : (int)syscall(SYS_dup3, fd, fd2, flags);
}

static int boot_close_range(unsigned int first, unsigned int last, int flags)
{
	__typeof__(real_close_range) f = PT_GET(close_range);
#ifdef SYS_close_range
	return f ? f(first, last, flags)
		 : (int)syscall(SYS_close_range, first, last, flags);
#else
	if (f)
		return f(first, last, flags);
	errno = ENOSYS;
	return -1;
#endif
}

/* fcntl's stubs have its variadic type; the optional argument is read as
 * one word, as glibc does. */
static int boot_fcntl(int fd, int cmd, ...)
{
	va_list ap;
	va_start(ap, cmd);
	void *arg = va_arg(ap, void *);
	va_end(ap);
	__typeof__(real_fcntl) f = PT_GET(fcntl);
	return f ? f(fd, cmd, arg) : (int)syscall(SYS_fcntl, fd, cmd, arg);
}

static int boot_fcntl64(int fd, int cmd, ...)
{
	va_list ap;
	va_start(ap, cmd);
	void *arg = va_arg(ap, void *);
	va_end(ap);
	__typeof__(real_fcntl64) f = PT_GET(fcntl64);
	return f ? f(fd, cmd, arg) : pt_real_fcntl(fd, cmd, arg);
}

static int boot_socket(int domain, int type, int proto)
{
	__typeof__(real_socket) f = PT_GET(socket);
	return f ? f(domain, type, proto)
		 : (int)syscall(SYS_socket, domain, type, proto);
}

static int boot_getsockopt(int fd, int level, int name, void *val,
			   socklen_t *len)
{
	__typeof__(real_getsockopt) f = PT_GET(getsockopt);
	return f ? f(fd, level, name, val, len)
		 : (int)syscall(SYS_getsockopt, fd, level, name, val, len);
}

static int boot_fclose(FILE *fp)
{
	__typeof__(real_fclose) f = PT_GET(fclose);
	if (f)
		return f(fp);
	errno = EBADF;
	return EOF;
}
