/*
 * sys.c -- the shim's own libc calls (sys.h), filled with the real
 * functions: pt_real_* (real.h) for the symbols the shim interposes, so
 * that its own close/fcntl/fclose/write never run through hooks.c, and
 * libc itself for the rest.
 */
#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "real.h"
#include "sys.h"

/* open and openat are variadic in libc; the table's entries are not. */
static int sys_open(const char *path, int flags, mode_t mode)
{
	return open(path, flags, mode);
}

static int sys_openat(int dirfd, const char *path, int flags, mode_t mode)
{
	return openat(dirfd, path, flags, mode);
}

/* The interposed four: the real function (or its bootstrap syscall). */
static int sys_close(int fd)
{
	return pt_real_close(fd);
}

static int sys_fcntl(int fd, int cmd, long arg)
{
	return pt_real_fcntl(fd, cmd, (void *)arg);
}

static ssize_t sys_write(int fd, const void *buf, size_t n)
{
	return pt_real_write(fd, buf, n);
}

static int sys_fclose(FILE *f)
{
	return pt_real_fclose(f);
}

/* One entry a line. */
/* clang-format off */
#define PT_SYS_REAL_INIT                                                       \
	{                                                                      \
	    .open = sys_open,                                                  \
	    .openat = sys_openat,                                              \
	    .close = sys_close,                                                \
	    .fcntl = sys_fcntl,                                                \
	    .fstat = fstat,                                                    \
	    .mkdir = mkdir,                                                    \
	    .unlinkat = unlinkat,                                              \
	    .mmap = mmap,                                                      \
	    .munmap = munmap,                                                  \
	    .madvise = madvise,                                                \
	    .fallocate = fallocate,                                            \
	    .posix_fallocate = posix_fallocate,                                \
	    .write = sys_write,                                                \
	    .readlink = readlink,                                              \
	    .fopen = fopen,                                                    \
	    .fclose = sys_fclose,                                              \
	}
/* clang-format on */

const struct pt_sys pt_sys_real = PT_SYS_REAL_INIT;
struct pt_sys pt_sys = PT_SYS_REAL_INIT;
