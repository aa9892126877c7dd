/*
 * real.c -- real_<name> pointers to the functions the shim interposes,
 * resolved with dlsym(RTLD_NEXT), and the raw-syscall path used before
 * (and while) they are resolved.  See real.h.
 *
 * Sections: pointers and resolver; wrappers (real function or syscall).
 */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "real.h"

/* ---- pointers and resolver ---- */

#define PT_REAL_DEF(ret, name, args) ret(*real_##name) args;
PT_REAL_LIST(PT_REAL_DEF)
#undef PT_REAL_DEF

/* Set once every pointer has been looked up (some may stay NULL: a libc
 * without close_range).  Relaxed is enough: a thread that sees 0 resolves
 * again, which is harmless (dlsym is thread-safe and idempotent). */
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
#define PT_REAL_RESOLVE(ret, name, args)                                       \
	__atomic_store_n(&real_##name, (ret(*) args)dlsym(RTLD_NEXT, #name),   \
			 __ATOMIC_RELEASE);
	PT_REAL_LIST(PT_REAL_RESOLVE)
#undef PT_REAL_RESOLVE
	errno = saved;
	resolving = 0;
	__atomic_store_n(&resolved, 1, __ATOMIC_RELEASE);
}

/* The pointer if known; else resolve (unless this thread is resolving)
 * and try again.  NULL means: use the syscall. */
#define PT_GET(name)                                                           \
	__extension__({                                                        \
		__typeof__(real_##name) f_ =                                   \
		    __atomic_load_n(&real_##name, __ATOMIC_ACQUIRE);           \
		if (!f_ && !resolving &&                                       \
		    !__atomic_load_n(&resolved, __ATOMIC_ACQUIRE)) {           \
			real_resolve();                                        \
			f_ = __atomic_load_n(&real_##name, __ATOMIC_ACQUIRE);  \
		}                                                              \
		f_;                                                            \
	})

/* ---- wrappers ---- */

ssize_t pt_real_read(int fd, void *buf, size_t n)
{
	__typeof__(real_read) f = PT_GET(read);
	return f ? f(fd, buf, n) : syscall(SYS_read, fd, buf, n);
}

ssize_t pt_real_write(int fd, const void *buf, size_t n)
{
	__typeof__(real_write) f = PT_GET(write);
	return f ? f(fd, buf, n) : syscall(SYS_write, fd, buf, n);
}

ssize_t pt_real_readv(int fd, const struct iovec *iov, int cnt)
{
	__typeof__(real_readv) f = PT_GET(readv);
	return f ? f(fd, iov, cnt) : syscall(SYS_readv, fd, iov, cnt);
}

ssize_t pt_real_writev(int fd, const struct iovec *iov, int cnt)
{
	__typeof__(real_writev) f = PT_GET(writev);
	return f ? f(fd, iov, cnt) : syscall(SYS_writev, fd, iov, cnt);
}

ssize_t pt_real_send(int fd, const void *buf, size_t n, int flags)
{
	__typeof__(real_send) f = PT_GET(send);
	return f ? f(fd, buf, n, flags)
		 : syscall(SYS_sendto, fd, buf, n, flags, NULL, 0);
}

ssize_t pt_real_recv(int fd, void *buf, size_t n, int flags)
{
	__typeof__(real_recv) f = PT_GET(recv);
	return f ? f(fd, buf, n, flags)
		 : syscall(SYS_recvfrom, fd, buf, n, flags, NULL, NULL);
}

ssize_t pt_real_sendto(int fd, const void *buf, size_t n, int flags,
		       const struct sockaddr *a, socklen_t alen)
{
	__typeof__(real_sendto) f = PT_GET(sendto);
	return f ? f(fd, buf, n, flags, a, alen)
		 : syscall(SYS_sendto, fd, buf, n, flags, a, alen);
}

ssize_t pt_real_recvfrom(int fd, void *buf, size_t n, int flags,
			 struct sockaddr *a, socklen_t *alen)
{
	__typeof__(real_recvfrom) f = PT_GET(recvfrom);
	return f ? f(fd, buf, n, flags, a, alen)
		 : syscall(SYS_recvfrom, fd, buf, n, flags, a, alen);
}

ssize_t pt_real_sendmsg(int fd, const struct msghdr *m, int flags)
{
	__typeof__(real_sendmsg) f = PT_GET(sendmsg);
	return f ? f(fd, m, flags) : syscall(SYS_sendmsg, fd, m, flags);
}

ssize_t pt_real_recvmsg(int fd, struct msghdr *m, int flags)
{
	__typeof__(real_recvmsg) f = PT_GET(recvmsg);
	return f ? f(fd, m, flags) : syscall(SYS_recvmsg, fd, m, flags);
}

ssize_t pt_real_sendfile(int out, int in, off_t *off, size_t n)
{
	__typeof__(real_sendfile) f = PT_GET(sendfile);
	return f ? f(out, in, off, n) : syscall(SYS_sendfile, out, in, off, n);
}

ssize_t pt_real_read_chk(int fd, void *buf, size_t n, size_t buflen)
{
	__typeof__(real___read_chk) f = PT_GET(__read_chk);
	if (f)
		return f(fd, buf, n, buflen);
	return syscall(SYS_read, fd, buf, n < buflen ? n : buflen);
}

ssize_t pt_real_recv_chk(int fd, void *buf, size_t n, size_t buflen, int flags)
{
	__typeof__(real___recv_chk) f = PT_GET(__recv_chk);
	if (f)
		return f(fd, buf, n, buflen, flags);
	return syscall(SYS_recvfrom, fd, buf, n < buflen ? n : buflen, flags,
		       NULL, NULL);
}

ssize_t pt_real_recvfrom_chk(int fd, void *buf, size_t n, size_t buflen,
			     int flags, struct sockaddr *a, socklen_t *alen)
{
	__typeof__(real___recvfrom_chk) f = PT_GET(__recvfrom_chk);
	if (f)
		return f(fd, buf, n, buflen, flags, a, alen);
	return syscall(SYS_recvfrom, fd, buf, n < buflen ? n : buflen, flags, a,
		       alen);
}

int pt_real_connect(int fd, const struct sockaddr *a, socklen_t alen)
{
	__typeof__(real_connect) f = PT_GET(connect);
	return f ? f(fd, a, alen) : (int)syscall(SYS_connect, fd, a, alen);
}

int pt_real_accept(int fd, struct sockaddr *a, socklen_t *alen)
{
	__typeof__(real_accept) f = PT_GET(accept);
	return f ? f(fd, a, alen) : (int)syscall(SYS_accept4, fd, a, alen, 0);
}

int pt_real_accept4(int fd, struct sockaddr *a, socklen_t *alen, int flags)
{
	__typeof__(real_accept4) f = PT_GET(accept4);
	return f ? f(fd, a, alen, flags)
		 : (int)syscall(SYS_accept4, fd, a, alen, flags);
}

int pt_real_close(int fd)
{
	__typeof__(real_close) f = PT_GET(close);
	return f ? f(fd) : (int)syscall(SYS_close, fd);
}

int pt_real_dup(int fd)
{
	__typeof__(real_dup) f = PT_GET(dup);
	return f ? f(fd) : (int)syscall(SYS_dup, fd);
}

int pt_real_dup2(int fd, int fd2)
{
	__typeof__(real_dup2) f = PT_GET(dup2);
	if (f)
		return f(fd, fd2);
	if (fd == fd2) /* dup3 refuses equal fds; dup2 checks validity */
		return syscall(SYS_fcntl, fd, F_GETFD) < 0 ? -1 : fd;
	return (int)syscall(SYS_dup3, fd, fd2, 0);
}

int pt_real_dup3(int fd, int fd2, int flags)
{
	__typeof__(real_dup3) f = PT_GET(dup3);
	return f ? f(fd, fd2, flags) : (int)syscall(SYS_dup3, fd, fd2, flags);
}

int pt_real_close_range(unsigned int first, unsigned int last, int flags)
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

int pt_real_fcntl(int fd, int cmd, void *arg)
{
	__typeof__(real_fcntl) f = PT_GET(fcntl);
	return f ? f(fd, cmd, arg) : (int)syscall(SYS_fcntl, fd, cmd, arg);
}

int pt_real_fcntl64(int fd, int cmd, void *arg)
{
	__typeof__(real_fcntl64) f = PT_GET(fcntl64);
	return f ? f(fd, cmd, arg) : pt_real_fcntl(fd, cmd, arg);
}

int pt_real_socket(int domain, int type, int proto)
{
	__typeof__(real_socket) f = PT_GET(socket);
	return f ? f(domain, type, proto)
		 : (int)syscall(SYS_socket, domain, type, proto);
}

int pt_real_fclose(FILE *fp)
{
	__typeof__(real_fclose) f = PT_GET(fclose);
	if (f)
		return f(fp);
	errno = EBADF;
	return EOF;
}
