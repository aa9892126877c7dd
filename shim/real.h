/*
 * real.h -- the real libc functions behind each hook: real_<name> pointers
 * filled by dlsym(RTLD_NEXT) in one resolver (uftrace), called from the
 * constructor and lazily by the first hook that finds a pointer NULL.
 *
 * Bootstrap: dlsym may allocate, and an allocator or another preloaded
 * library may call read/write/close while it runs, before any pointer is
 * set.  Such calls, and any call made while this thread is inside the
 * resolver (a thread-local guard), go straight to the kernel with
 * syscall(2), which sets errno the way libc does.
 *
 * Use: PT_REAL(read)(fd, buf, n) is never valid while a pointer may be
 * NULL; call pt_real_read(...) etc. (below), which pick the right path.
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
	X(int, fclose, (FILE *))

#define PT_REAL_DECL(ret, name, args) extern ret(*real_##name) args;
PT_REAL_LIST(PT_REAL_DECL)
#undef PT_REAL_DECL

/* Resolve every pointer (idempotent; cheap once done).  Safe to call from
 * any thread; a call made while this thread is already resolving returns
 * at once, leaving the pointers as they are. */
void real_resolve(void);

/* 1 while this thread is inside real_resolve() (dlsym). */
int real_resolving(void);

/* One wrapper per hooked function: the real function when known, else the
 * raw system call. */
ssize_t pt_real_read(int fd, void *buf, size_t n);
ssize_t pt_real_write(int fd, const void *buf, size_t n);
ssize_t pt_real_readv(int fd, const struct iovec *iov, int cnt);
ssize_t pt_real_writev(int fd, const struct iovec *iov, int cnt);
ssize_t pt_real_send(int fd, const void *buf, size_t n, int flags);
ssize_t pt_real_recv(int fd, void *buf, size_t n, int flags);
ssize_t pt_real_sendto(int fd, const void *buf, size_t n, int flags,
		       const struct sockaddr *a, socklen_t alen);
ssize_t pt_real_recvfrom(int fd, void *buf, size_t n, int flags,
			 struct sockaddr *a, socklen_t *alen);
ssize_t pt_real_sendmsg(int fd, const struct msghdr *m, int flags);
ssize_t pt_real_recvmsg(int fd, struct msghdr *m, int flags);
ssize_t pt_real_sendfile(int out, int in, off_t *off, size_t n);
ssize_t pt_real_read_chk(int fd, void *buf, size_t n, size_t buflen);
ssize_t pt_real_recv_chk(int fd, void *buf, size_t n, size_t buflen, int flags);
ssize_t pt_real_recvfrom_chk(int fd, void *buf, size_t n, size_t buflen,
			     int flags, struct sockaddr *a, socklen_t *alen);
int pt_real_connect(int fd, const struct sockaddr *a, socklen_t alen);
int pt_real_accept(int fd, struct sockaddr *a, socklen_t *alen);
int pt_real_accept4(int fd, struct sockaddr *a, socklen_t *alen, int flags);
int pt_real_close(int fd);
int pt_real_dup(int fd);
int pt_real_dup2(int fd, int fd2);
int pt_real_dup3(int fd, int fd2, int flags);
int pt_real_close_range(unsigned int first, unsigned int last, int flags);
/* fcntl with its one optional argument as a word (every command takes an
 * int, a pointer or nothing; glibc reads it the same way). */
int pt_real_fcntl(int fd, int cmd, void *arg);
int pt_real_fcntl64(int fd, int cmd, void *arg);
int pt_real_socket(int domain, int type, int proto);
/* No system call stands in for fclose: before the pointer is known (only
 * inside dlsym) it fails with EBADF and leaves the stream alone. */
int pt_real_fclose(FILE *f);

#endif /* PERFTAP_REAL_H */
