/*
 * hooks.c -- the interposed symbols, and nothing else (LTTng-UST
 * lttng-ust-fd.c style).  Each hook calls the real function, keeps its
 * result and errno, and only when the fd is tracked hands the bytes to the
 * shim core (preload.c); errno is restored before returning, so the
 * program sees exactly what libc told it.
 *
 * An untracked fd costs one bounds check, one load (pt_mapped) and a tail
 * jump to the real function.  OUT hooks read the clock before the call,
 * and only for tracked fds (proto.h timing); IN hooks read it after.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "preload.h"
#include "real.h"

#define PT_EXPORT __attribute__((visibility("default")))

#ifndef CLOSE_RANGE_CLOEXEC
#define CLOSE_RANGE_CLOEXEC (1U << 2)
#endif

/* ---- reads ----
 * An unmapped fd (the overwhelming case) costs a bounds check, one load
 * and a tail jump to libc: no frame, no errno work.  A mapped fd goes out
 * of line (noinline keeps the hook's own code that short), calls the real
 * function there and checks pt_tracked() after it, as before.
 * Note: an fd unmapped when the call starts is never decoded, even if
 * another thread maps that number while the call blocks: the bytes
 * belong to the file that was open when the call began. */

static ssize_t after_in(int fd, const void *buf, ssize_t r)
{
	if (r > 0 && pt_tracked(fd)) {
		int e = errno;
		pt_conn_bytes(fd, PT_DIR_IN, buf, (size_t)r, 0);
		errno = e;
	}
	return r;
}

/* recv flags: MSG_PEEK bytes come again later (never decoded twice);
 * MSG_TRUNC on a stream socket discards bytes we never see. */
static ssize_t after_recv(int fd, const void *buf, ssize_t r, int flags)
{
	if (r <= 0 || !pt_tracked(fd) || (flags & MSG_PEEK))
		return r;
	int e = errno;
	if (flags & MSG_TRUNC)
		pt_conn_lost(fd);
	else
		pt_conn_bytes(fd, PT_DIR_IN, buf, (size_t)r, 0);
	errno = e;
	return r;
}

#define PT_SLOW __attribute__((noinline))

static PT_SLOW ssize_t read_mapped(int fd, void *buf, size_t n)
{
	return after_in(fd, buf, pt_real_read(fd, buf, n));
}

PT_EXPORT ssize_t read(int fd, void *buf, size_t n)
{
	if (__builtin_expect(pt_mapped(fd), 0))
		return read_mapped(fd, buf, n);
	return pt_real_read(fd, buf, n);
}

static PT_SLOW ssize_t read_chk_mapped(int fd, void *buf, size_t n,
				       size_t buflen)
{
	return after_in(fd, buf, pt_real_read_chk(fd, buf, n, buflen));
}

PT_EXPORT ssize_t __read_chk(int fd, void *buf, size_t n, size_t buflen)
{
	if (__builtin_expect(pt_mapped(fd), 0))
		return read_chk_mapped(fd, buf, n, buflen);
	return pt_real_read_chk(fd, buf, n, buflen);
}

static PT_SLOW ssize_t recv_mapped(int fd, void *buf, size_t n, int flags)
{
	return after_recv(fd, buf, pt_real_recv(fd, buf, n, flags), flags);
}

PT_EXPORT ssize_t recv(int fd, void *buf, size_t n, int flags)
{
	if (__builtin_expect(pt_mapped(fd), 0))
		return recv_mapped(fd, buf, n, flags);
	return pt_real_recv(fd, buf, n, flags);
}

static PT_SLOW ssize_t recv_chk_mapped(int fd, void *buf, size_t n,
				       size_t buflen, int flags)
{
	return after_recv(fd, buf, pt_real_recv_chk(fd, buf, n, buflen, flags),
			  flags);
}

PT_EXPORT ssize_t __recv_chk(int fd, void *buf, size_t n, size_t buflen,
			     int flags)
{
	if (__builtin_expect(pt_mapped(fd), 0))
		return recv_chk_mapped(fd, buf, n, buflen, flags);
	return pt_real_recv_chk(fd, buf, n, buflen, flags);
}

static PT_SLOW ssize_t recvfrom_mapped(int fd, void *buf, size_t n, int flags,
				       struct sockaddr *a, socklen_t *alen)
{
	return after_recv(fd, buf, pt_real_recvfrom(fd, buf, n, flags, a, alen),
			  flags);
}

PT_EXPORT ssize_t recvfrom(int fd, void *buf, size_t n, int flags,
			   struct sockaddr *a, socklen_t *alen)
{
	if (__builtin_expect(pt_mapped(fd), 0))
		return recvfrom_mapped(fd, buf, n, flags, a, alen);
	return pt_real_recvfrom(fd, buf, n, flags, a, alen);
}

static PT_SLOW ssize_t recvfrom_chk_mapped(int fd, void *buf, size_t n,
					   size_t buflen, int flags,
					   struct sockaddr *a, socklen_t *alen)
{
	return after_recv(
	    fd, buf, pt_real_recvfrom_chk(fd, buf, n, buflen, flags, a, alen),
	    flags);
}

PT_EXPORT ssize_t __recvfrom_chk(int fd, void *buf, size_t n, size_t buflen,
				 int flags, struct sockaddr *a, socklen_t *alen)
{
	if (__builtin_expect(pt_mapped(fd), 0))
		return recvfrom_chk_mapped(fd, buf, n, buflen, flags, a, alen);
	return pt_real_recvfrom_chk(fd, buf, n, buflen, flags, a, alen);
}

static PT_SLOW ssize_t readv_mapped(int fd, const struct iovec *iov, int cnt)
{
	ssize_t r = pt_real_readv(fd, iov, cnt);
	if (r > 0 && pt_tracked(fd)) {
		int e = errno;
		pt_conn_iov(fd, PT_DIR_IN, iov, cnt, (size_t)r, 0);
		errno = e;
	}
	return r;
}

PT_EXPORT ssize_t readv(int fd, const struct iovec *iov, int cnt)
{
	if (__builtin_expect(pt_mapped(fd), 0))
		return readv_mapped(fd, iov, cnt);
	return pt_real_readv(fd, iov, cnt);
}

static PT_SLOW ssize_t recvmsg_mapped(int fd, struct msghdr *m, int flags)
{
	ssize_t r = pt_real_recvmsg(fd, m, flags);
	if (r <= 0 || !pt_tracked(fd) || (flags & MSG_PEEK))
		return r;
	int e = errno;
	if (flags & MSG_TRUNC)
		pt_conn_lost(fd);
	else
		pt_conn_iov(fd, PT_DIR_IN, m->msg_iov, (int)m->msg_iovlen,
			    (size_t)r, 0);
	errno = e;
	return r;
}

PT_EXPORT ssize_t recvmsg(int fd, struct msghdr *m, int flags)
{
	if (__builtin_expect(pt_mapped(fd), 0))
		return recvmsg_mapped(fd, m, flags);
	return pt_real_recvmsg(fd, m, flags);
}

/* ---- writes ----
 * As reads: an unmapped fd jumps straight to libc.  A tracked one reads
 * the clock before the call (client timing, proto.h). */

static PT_SLOW ssize_t write_mapped(int fd, const void *buf, size_t n)
{
	if (!pt_tracked(fd))
		return pt_real_write(fd, buf, n);
	uint64_t t = pt_now();
	ssize_t r = pt_real_write(fd, buf, n);
	if (r > 0) {
		int e = errno;
		pt_conn_bytes(fd, PT_DIR_OUT, buf, (size_t)r, t);
		errno = e;
	}
	return r;
}

PT_EXPORT ssize_t write(int fd, const void *buf, size_t n)
{
	if (__builtin_expect(pt_mapped(fd), 0))
		return write_mapped(fd, buf, n);
	return pt_real_write(fd, buf, n);
}

static PT_SLOW ssize_t send_mapped(int fd, const void *buf, size_t n, int flags)
{
	if (!pt_tracked(fd))
		return pt_real_send(fd, buf, n, flags);
	uint64_t t = pt_now();
	ssize_t r = pt_real_send(fd, buf, n, flags);
	if (r > 0) {
		int e = errno;
		pt_conn_bytes(fd, PT_DIR_OUT, buf, (size_t)r, t);
		errno = e;
	}
	return r;
}

PT_EXPORT ssize_t send(int fd, const void *buf, size_t n, int flags)
{
	if (__builtin_expect(pt_mapped(fd), 0))
		return send_mapped(fd, buf, n, flags);
	return pt_real_send(fd, buf, n, flags);
}

static PT_SLOW ssize_t sendto_mapped(int fd, const void *buf, size_t n,
				     int flags, const struct sockaddr *a,
				     socklen_t alen)
{
	if (!pt_tracked(fd))
		return pt_real_sendto(fd, buf, n, flags, a, alen);
	uint64_t t = pt_now();
	ssize_t r = pt_real_sendto(fd, buf, n, flags, a, alen);
	if (r > 0) {
		int e = errno;
		pt_conn_bytes(fd, PT_DIR_OUT, buf, (size_t)r, t);
		errno = e;
	}
	return r;
}

PT_EXPORT ssize_t sendto(int fd, const void *buf, size_t n, int flags,
			 const struct sockaddr *a, socklen_t alen)
{
	if (__builtin_expect(pt_mapped(fd), 0))
		return sendto_mapped(fd, buf, n, flags, a, alen);
	return pt_real_sendto(fd, buf, n, flags, a, alen);
}

static PT_SLOW ssize_t writev_mapped(int fd, const struct iovec *iov, int cnt)
{
	if (!pt_tracked(fd))
		return pt_real_writev(fd, iov, cnt);
	uint64_t t = pt_now();
	ssize_t r = pt_real_writev(fd, iov, cnt);
	if (r > 0) {
		int e = errno;
		pt_conn_iov(fd, PT_DIR_OUT, iov, cnt, (size_t)r, t);
		errno = e;
	}
	return r;
}

PT_EXPORT ssize_t writev(int fd, const struct iovec *iov, int cnt)
{
	if (__builtin_expect(pt_mapped(fd), 0))
		return writev_mapped(fd, iov, cnt);
	return pt_real_writev(fd, iov, cnt);
}

static PT_SLOW ssize_t sendmsg_mapped(int fd, const struct msghdr *m, int flags)
{
	if (!pt_tracked(fd))
		return pt_real_sendmsg(fd, m, flags);
	uint64_t t = pt_now();
	ssize_t r = pt_real_sendmsg(fd, m, flags);
	if (r > 0) {
		int e = errno;
		pt_conn_iov(fd, PT_DIR_OUT, m->msg_iov, (int)m->msg_iovlen,
			    (size_t)r, t);
		errno = e;
	}
	return r;
}

PT_EXPORT ssize_t sendmsg(int fd, const struct msghdr *m, int flags)
{
	if (__builtin_expect(pt_mapped(fd), 0))
		return sendmsg_mapped(fd, m, flags);
	return pt_real_sendmsg(fd, m, flags);
}

/* sendfile and sendfile64 are one function on LP64; programs built with
 * _FILE_OFFSET_BITS=64 call the second name, so both are interposed. */
static PT_SLOW ssize_t sendfile_mapped(int out, int in, off_t *off, size_t n)
{
	if (!pt_tracked(out))
		return pt_real_sendfile(out, in, off, n);
	uint64_t t = pt_now();
	ssize_t r = pt_real_sendfile(out, in, off, n);
	if (r > 0) {
		int e = errno;
		pt_conn_file_bytes(out, (size_t)r, t);
		errno = e;
	}
	return r;
}

static inline ssize_t hook_sendfile(int out, int in, off_t *off, size_t n)
{
	if (__builtin_expect(pt_mapped(out), 0))
		return sendfile_mapped(out, in, off, n);
	return pt_real_sendfile(out, in, off, n);
}

PT_EXPORT ssize_t pt_hook_sendfile(int out, int in, off_t *off,
				   size_t n) __asm__("sendfile");
PT_EXPORT ssize_t pt_hook_sendfile64(int out, int in, off_t *off,
				     size_t n) __asm__("sendfile64");

ssize_t pt_hook_sendfile(int out, int in, off_t *off, size_t n)
{
	return hook_sendfile(out, in, off, n);
}

ssize_t pt_hook_sendfile64(int out, int in, off_t *off, size_t n)
{
	return hook_sendfile(out, in, off, n);
}

/* ---- connections ---- */

PT_EXPORT int connect(int fd, const struct sockaddr *a, socklen_t alen)
{
	uint64_t t = pt_now();
	int r = pt_real_connect(fd, a, alen);
	int e = errno;
	/* EINPROGRESS (non-blocking) and EINTR both leave the connection
	 * being established: the program will use the fd. */
	if (r == 0 || e == EINPROGRESS || e == EINTR) {
		pt_on_connect(fd, a, alen, t, r == 0 ? pt_now() : 0);
		errno = e;
	}
	return r;
}

/* getsockopt(SO_ERROR) is how a program learns that a non-blocking
 * connect completed (0) or failed (CPython sockets with a timeout, asyncio,
 * libmariadb): it ends the connect time.  Any other fd or option: straight
 * to libc. */
static PT_SLOW int getsockopt_mapped(int fd, int level, int name, void *val,
				     socklen_t *len)
{
	int r = pt_real_getsockopt(fd, level, name, val, len);
	if (r == 0 && level == SOL_SOCKET && name == SO_ERROR && val && len &&
	    *len >= (socklen_t)sizeof(int) && pt_tracked(fd)) {
		int e = errno;
		pt_on_connected(fd, *(const int *)val);
		errno = e;
	}
	return r;
}

PT_EXPORT int getsockopt(int fd, int level, int name, void *val, socklen_t *len)
{
	if (__builtin_expect(pt_mapped(fd), 0))
		return getsockopt_mapped(fd, level, name, val, len);
	return pt_real_getsockopt(fd, level, name, val, len);
}

PT_EXPORT int accept(int fd, struct sockaddr *a, socklen_t *alen)
{
	int r = pt_real_accept(fd, a, alen);
	if (r >= 0) {
		int e = errno;
		pt_on_accept(r, a, alen ? *alen : 0);
		errno = e;
	}
	return r;
}

PT_EXPORT int accept4(int fd, struct sockaddr *a, socklen_t *alen, int flags)
{
	int r = pt_real_accept4(fd, a, alen, flags);
	if (r >= 0) {
		int e = errno;
		pt_on_accept(r, a, alen ? *alen : 0);
		errno = e;
	}
	return r;
}

/* The slot goes before the fd: once the kernel frees the number, another
 * thread's accept may reuse it. */
PT_EXPORT int close(int fd)
{
	if (__builtin_expect(fd == pt_writer_fd, 0) && !pt_tflags.guard) {
		/* The dump's own fd: without perftap this number would not be
		 * open, so the program gets what it would have got. */
		errno = EBADF;
		return -1;
	}
	if (__builtin_expect(pt_mapped(fd), 0)) {
		int e = errno;
		pt_on_close(fd);
		errno = e;
	}
	return pt_real_close(fd);
}

PT_EXPORT int close_range(unsigned int first, unsigned int last, int flags)
{
	int w = pt_writer_fd;
	int r;

	if (w < 0 || (unsigned)w < first || (unsigned)w > last ||
	    (flags & CLOSE_RANGE_CLOEXEC) || pt_tflags.guard) {
		r = pt_real_close_range(first, last, flags);
	} else {
		/* Close around the dump's fd, keeping the program's view. */
		r = 0;
		if ((unsigned)w > first)
			r = pt_real_close_range(first, (unsigned)w - 1, flags);
		if (r == 0 && (unsigned)w < last)
			r = pt_real_close_range((unsigned)w + 1, last, flags);
	}
	if (r == 0 && !(flags & CLOSE_RANGE_CLOEXEC)) {
		int e = errno;
		pt_on_close_range(first, last);
		errno = e;
	}
	return r;
}

PT_EXPORT int dup(int fd)
{
	int r = pt_real_dup(fd);
	if (r >= 0 && __builtin_expect(pt_mapped(fd), 0)) {
		int e = errno;
		pt_on_dup(fd, r);
		errno = e;
	}
	return r;
}

PT_EXPORT int dup2(int fd, int fd2)
{
	int r = pt_real_dup2(fd, fd2);
	if (r >= 0 && fd != fd2 &&
	    __builtin_expect(pt_mapped(fd) || pt_mapped(fd2), 0)) {
		int e = errno;
		pt_on_dup(fd, fd2);
		errno = e;
	}
	return r;
}

PT_EXPORT int dup3(int fd, int fd2, int flags)
{
	int r = pt_real_dup3(fd, fd2, flags);
	if (r >= 0 && __builtin_expect(pt_mapped(fd) || pt_mapped(fd2), 0)) {
		int e = errno;
		pt_on_dup(fd, fd2);
		errno = e;
	}
	return r;
}

/* fcntl(F_DUPFD / F_DUPFD_CLOEXEC) is a dup: the copy shares the
 * connection.  fcntl64 is the name programs built with
 * _FILE_OFFSET_BITS=64 call (glibc >= 2.28), so both are interposed.  The
 * optional argument is read as one word, as glibc does. */
static int hook_fcntl(int fd, int cmd, void *arg, int is64)
{
	int r =
	    is64 ? pt_real_fcntl64(fd, cmd, arg) : pt_real_fcntl(fd, cmd, arg);
	if (r >= 0 && (cmd == F_DUPFD || cmd == F_DUPFD_CLOEXEC) &&
	    __builtin_expect(pt_mapped(fd) || pt_mapped(r), 0)) {
		int e = errno;
		pt_on_dup(fd, r);
		errno = e;
	}
	return r;
}

/* Asm labels, as for sendfile: with _FILE_OFFSET_BITS=64 <fcntl.h>
 * renames fcntl to fcntl64, and both symbols must exist. */
PT_EXPORT int pt_hook_fcntl(int fd, int cmd, ...) __asm__("fcntl");
PT_EXPORT int pt_hook_fcntl64(int fd, int cmd, ...) __asm__("fcntl64");

int pt_hook_fcntl(int fd, int cmd, ...)
{
	va_list ap;
	va_start(ap, cmd);
	void *arg = va_arg(ap, void *);
	va_end(ap);
	return hook_fcntl(fd, cmd, arg, 0);
}

int pt_hook_fcntl64(int fd, int cmd, ...)
{
	va_list ap;
	va_start(ap, cmd);
	void *arg = va_arg(ap, void *);
	va_end(ap);
	return hook_fcntl(fd, cmd, arg, 1);
}

/* A new socket is never a tracked connection: if its number still maps
 * to one, that fd was closed where no hook saw it (a raw close(2)), and
 * the stale slot goes now.  One load for the usual untracked number. */
PT_EXPORT int socket(int domain, int type, int proto)
{
	int r = pt_real_socket(domain, type, proto);
	if (r >= 0 && __builtin_expect(pt_mapped(r), 0)) {
		int e = errno;
		pt_on_close(r);
		errno = e;
	}
	return r;
}

/* fclose closes its fd inside libc, where close() is not interposed: a
 * stream over a tracked socket (fdopen) would leave the slot behind for
 * whatever reuses the number.  The slot goes first, as in close(). */
PT_EXPORT int fclose(FILE *f)
{
	if (f) {
		int e = errno;
		int fd = fileno_unlocked(f); /* EBADF for memory streams */
		if (fd >= 0 && __builtin_expect(pt_mapped(fd), 0))
			pt_on_close(fd);
		errno = e;
	}
	return pt_real_fclose(f);
}
