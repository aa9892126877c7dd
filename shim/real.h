/*
 * real.h -- the real libc functions behind each hook: real_<name> pointers
 * filled by dlsym(RTLD_NEXT) in one resolver (uftrace), called from the
 * constructor and lazily by the first hook that finds a pointer NULL.
 *
 * Bootstrap: every pointer starts at a stub in real.c (never NULL), so
 * the hot path is one load and one indirect call with no test.  A stub
 * resolves (unless this thread is already inside the resolver: dlsym may
 * allocate, and an allocator or another preloaded library may call
 * read/write/close while it runs) and calls the real function if it is
 * known by then, else goes straight to the kernel with syscall(2), which
 * sets errno the way libc does.  A symbol libc lacks (close_range on an
 * old glibc) keeps its stub, and so its syscall, for good.
 *
 * Use: call pt_real_read(...) etc. (below).
 */
#ifndef PERFTAP_REAL_H
#define PERFTAP_REAL_H

#include <stddef.h>
#include <stdio.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/uio.h>

#define PT_REAL_LIST(X)                                                        \
	X(int, connect, (int, const struct sockaddr *, socklen_t))             \
	X(int, accept, (int, struct sockaddr *, socklen_t *))                  \
	X(int, accept4, (int, struct sockaddr *, socklen_t *, int))            \
	X(int, close, (int))                                                   \
	X(ssize_t, read, (int, void *, size_t))                                \
	X(ssize_t, write, (int, const void *, size_t))                         \
	X(ssize_t, readv, (int, const struct iovec *, int))                    \
	X(ssize_t, writev, (int, const struct iovec *, int))                   \
	X(ssize_t, send, (int, const void *, size_t, int))                     \
	X(ssize_t, recv, (int, void *, size_t, int))                           \
	X(ssize_t, sendto,                                                     \
	  (int, const void *, size_t, int, const struct sockaddr *,            \
	   socklen_t))                                                         \
	X(ssize_t, recvfrom,                                                   \
	  (int, void *, size_t, int, struct sockaddr *, socklen_t *))          \
	X(ssize_t, sendmsg, (int, const struct msghdr *, int))                 \
	X(ssize_t, recvmsg, (int, struct msghdr *, int))                       \
	X(ssize_t, sendfile, (int, int, off_t *, size_t))                      \
	X(ssize_t, __read_chk, (int, void *, size_t, size_t))                  \
	X(ssize_t, __recv_chk, (int, void *, size_t, size_t, int))             \
	X(ssize_t, __recvfrom_chk,                                             \
	  (int, void *, size_t, size_t, int, struct sockaddr *, socklen_t *))  \
	X(int, dup, (int))                                                     \
	X(int, dup2, (int, int))                                               \
	X(int, dup3, (int, int, int))                                          \
	X(int, close_range, (unsigned int, unsigned int, int))                 \
	X(int, fcntl, (int, int, ...))                                         \
	X(int, fcntl64, (int, int, ...))                                       \
	X(int, socket, (int, int, int))                                        \
	X(int, getsockopt, (int, int, int, void *, socklen_t *))               \
	X(int, fclose, (FILE *))

/* Hidden: the library's own data, reached PC-relative (no GOT load). */
#define PT_REAL_DECL(ret, name, args)                                          \
	extern __attribute__((visibility("hidden"))) ret(*real_##name) args;
PT_REAL_LIST(PT_REAL_DECL)
#undef PT_REAL_DECL

/* Resolve every pointer (idempotent; cheap once done).  Safe to call from
 * any thread; a call made while this thread is already resolving returns
 * at once, leaving the pointers as they are. */
void real_resolve(void);

/* 1 while this thread is inside real_resolve() (dlsym). */
int real_resolving(void);

/* The pointer, never NULL.  Acquire pairs with the resolver's release
 * store (a plain load on x86-64); the function it points to is code, so
 * either value is safe to call at any moment. */
#define PT_REAL(name) __atomic_load_n(&real_##name, __ATOMIC_ACQUIRE)

/* One wrapper per hooked function: the real function when known, else
 * the raw system call (through the bootstrap stub the pointer holds until
 * then).  Inline: an untracked call is one load and one indirect jump. */
static inline ssize_t pt_real_read(int fd, void *buf, size_t n)
{
	return PT_REAL(read)(fd, buf, n);
}

static inline ssize_t pt_real_write(int fd, const void *buf, size_t n)
{
	return PT_REAL(write)(fd, buf, n);
}

static inline ssize_t pt_real_readv(int fd, const struct iovec *iov, int cnt)
{
	return PT_REAL(readv)(fd, iov, cnt);
}

static inline ssize_t pt_real_writev(int fd, const struct iovec *iov, int cnt)
{
	return PT_REAL(writev)(fd, iov, cnt);
}

static inline ssize_t pt_real_send(int fd, const void *buf, size_t n, int flags)
{
	return PT_REAL(send)(fd, buf, n, flags);
}

static inline ssize_t pt_real_recv(int fd, void *buf, size_t n, int flags)
{
	return PT_REAL(recv)(fd, buf, n, flags);
}

static inline ssize_t pt_real_sendto(int fd, const void *buf, size_t n,
				     int flags, const struct sockaddr *a,
				     socklen_t alen)
{
	return PT_REAL(sendto)(fd, buf, n, flags, a, alen);
}

static inline ssize_t pt_real_recvfrom(int fd, void *buf, size_t n, int flags,
				       struct sockaddr *a, socklen_t *alen)
{
	return PT_REAL(recvfrom)(fd, buf, n, flags, a, alen);
}

static inline ssize_t pt_real_sendmsg(int fd, const struct msghdr *m, int flags)
{
	return PT_REAL(sendmsg)(fd, m, flags);
}

static inline ssize_t pt_real_recvmsg(int fd, struct msghdr *m, int flags)
{
	return PT_REAL(recvmsg)(fd, m, flags);
}

static inline ssize_t pt_real_sendfile(int out, int in, off_t *off, size_t n)
{
	return PT_REAL(sendfile)(out, in, off, n);
}

static inline ssize_t pt_real_read_chk(int fd, void *buf, size_t n,
				       size_t buflen)
{
	return PT_REAL(__read_chk)(fd, buf, n, buflen);
}

static inline ssize_t pt_real_recv_chk(int fd, void *buf, size_t n,
				       size_t buflen, int flags)
{
	return PT_REAL(__recv_chk)(fd, buf, n, buflen, flags);
}

static inline ssize_t pt_real_recvfrom_chk(int fd, void *buf, size_t n,
					   size_t buflen, int flags,
					   struct sockaddr *a, socklen_t *alen)
{
	return PT_REAL(__recvfrom_chk)(fd, buf, n, buflen, flags, a, alen);
}

static inline int pt_real_connect(int fd, const struct sockaddr *a,
				  socklen_t alen)
{
	return PT_REAL(connect)(fd, a, alen);
}

static inline int pt_real_accept(int fd, struct sockaddr *a, socklen_t *alen)
{
	return PT_REAL(accept)(fd, a, alen);
}

static inline int pt_real_accept4(int fd, struct sockaddr *a, socklen_t *alen,
				  int flags)
{
	return PT_REAL(accept4)(fd, a, alen, flags);
}

static inline int pt_real_close(int fd)
{
	return PT_REAL(close)(fd);
}

static inline int pt_real_dup(int fd)
{
	return PT_REAL(dup)(fd);
}

static inline int pt_real_dup2(int fd, int fd2)
{
	return PT_REAL(dup2)(fd, fd2);
}

static inline int pt_real_dup3(int fd, int fd2, int flags)
{
	return PT_REAL(dup3)(fd, fd2, flags);
}

static inline int pt_real_close_range(unsigned int first, unsigned int last,
				      int flags)
{
	return PT_REAL(close_range)(first, last, flags);
}

/* fcntl with its one optional argument as a word (every command takes an
 * int, a pointer or nothing; glibc reads it the same way). */
static inline int pt_real_fcntl(int fd, int cmd, void *arg)
{
	return PT_REAL(fcntl)(fd, cmd, arg);
}

static inline int pt_real_fcntl64(int fd, int cmd, void *arg)
{
	return PT_REAL(fcntl64)(fd, cmd, arg);
}

static inline int pt_real_socket(int domain, int type, int proto)
{
	return PT_REAL(socket)(domain, type, proto);
}

static inline int pt_real_getsockopt(int fd, int level, int name, void *val,
				     socklen_t *len)
{
	return PT_REAL(getsockopt)(fd, level, name, val, len);
}

/* No system call stands in for fclose: before the pointer is known (only
 * inside dlsym) it fails with EBADF and leaves the stream alone. */
static inline int pt_real_fclose(FILE *f)
{
	return PT_REAL(fclose)(f);
}

#endif /* PERFTAP_REAL_H */
