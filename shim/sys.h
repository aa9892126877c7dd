/*
 * sys.h -- the table of libc calls the shim makes for itself (SQLite
 * os_unix.c's aSyscall[]): every file, mapping and stderr call of the
 * writer, the fd table, the spill, the route loader and the start-up code
 * goes through `pt_sys`, so that
 *   - the shim never calls its own exported hooks (close, fcntl, fclose,
 *     write): those entries are the real functions (real.h), and
 *     `objdump -R libperftap.so` shows no relocation to the library's own
 *     symbols (tests/integration/test_host_safety_more.py checks it);
 *   - unit tests can replace an entry to inject EMFILE, ENOSPC, EIO, a
 *     short write or a failed mmap, and restore it from `pt_sys_real`.
 *
 * Every entry follows its libc contract (-1 and errno, MAP_FAILED, NULL;
 * posix_fallocate returns the error number).
 *
 * Threading: the shim only reads the table; tests write it while no
 * other thread runs.  An entry is one load and one indirect call, paid
 * only off the per-event path (open, chunk claims, start-up).
 */
#ifndef PERFTAP_SYS_H
#define PERFTAP_SYS_H

#include <stddef.h>
#include <stdio.h>
#include <sys/stat.h>
#include <sys/types.h>

struct pt_sys {
	int (*open)(const char *path, int flags, mode_t mode);
	int (*openat)(int dirfd, const char *path, int flags, mode_t mode);
	int (*close)(int fd);
	int (*fcntl)(int fd, int cmd, long arg);
	int (*fstat)(int fd, struct stat *st);
	int (*mkdir)(const char *path, mode_t mode);
	int (*unlinkat)(int dirfd, const char *path, int flags);
	void *(*mmap)(void *addr, size_t len, int prot, int flags, int fd,
		      off_t off);
	int (*munmap)(void *addr, size_t len);
	int (*madvise)(void *addr, size_t len, int advice);
	int (*fallocate)(int fd, int mode, off_t off, off_t len);
	int (*posix_fallocate)(int fd, off_t off, off_t len);
	ssize_t (*write)(int fd, const void *buf, size_t n);
	ssize_t (*readlink)(const char *path, char *buf, size_t cap);
	FILE *(*fopen)(const char *path, const char *mode);
	int (*fclose)(FILE *f);
};

/* The table in use, and the real functions (to restore an entry). */
extern struct pt_sys pt_sys;
extern const struct pt_sys pt_sys_real;

#endif /* PERFTAP_SYS_H */
