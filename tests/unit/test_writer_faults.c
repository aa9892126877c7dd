/*
 * test_writer_faults.c -- the shim's own system calls failing (through
 * the pt_sys table, sys.h): no fd left (EMFILE), a full or failing disk
 * (ENOSPC, EIO on fallocate), no address space (mmap), a refused hint
 * (madvise).  Each time the writer does what writer.h documents: it
 * returns -errno, leaves the caller's errno alone, leaks no fd and leaves
 * no half-made file, counts the drop, and every record committed before
 * the fault is still in the dump.
 */
#include <dirent.h>
#include <errno.h>
#include <string.h>
#include <sys/mman.h>

#include <criterion/criterion.h>

#include "dump_test_util.h"
#include "fdtab.h"
#include "normalize.h"
#include "proto.h"
#include "spill.h"
#include "sys.h"

#define CHUNK	 4096u
#define SLOTS	 4u
#define MAX_SIZE (4096u + SLOTS * CHUNK)
/* Text-less events a 4 KiB chunk holds (see test_dump_limits.c). */
#define PER_CHUNK                                                              \
	((CHUNK - (uint32_t)sizeof(struct pt_chunk_header)) /                  \
	 (uint32_t)sizeof(struct pt_event_record))

static const char *dir;
static int fail_errno;	/* what the failing entries set */
static unsigned calls;	/* calls that reached a failing entry */
static unsigned unmaps; /* munmap calls seen by counting_munmap */

static void setup(void)
{
	dir = dumptest_mkdtemp();
	calls = unmaps = 0;
	fail_errno = 0;
}

static void teardown(void)
{
	pt_sys = pt_sys_real;
	dumptest_rmdir(dir);
}

TestSuite(writer_faults, .init = setup, .fini = teardown);

/* ---- failing entries ---- */

static int fail_open(const char *path, int flags, mode_t mode)
{
	(void)path, (void)flags, (void)mode;
	calls++;
	errno = fail_errno;
	return -1;
}

static int fail_openat(int dirfd, const char *path, int flags, mode_t mode)
{
	(void)dirfd, (void)path, (void)flags, (void)mode;
	calls++;
	errno = fail_errno;
	return -1;
}

static int fail_fallocate(int fd, int mode, off_t off, off_t len)
{
	(void)fd, (void)mode, (void)off, (void)len;
	calls++;
	errno = EOPNOTSUPP; /* so that the writer tries posix_fallocate */
	return -1;
}

static int fail_posix_fallocate(int fd, off_t off, off_t len)
{
	(void)fd, (void)off, (void)len;
	calls++;
	return fail_errno;
}

static void *fail_mmap(void *addr, size_t len, int prot, int flags, int fd,
		       off_t off)
{
	(void)addr, (void)len, (void)prot, (void)flags, (void)fd, (void)off;
	calls++;
	errno = ENOMEM;
	return MAP_FAILED;
}

/* The first mmap works, every later one fails. */
static void *second_mmap_fails(void *addr, size_t len, int prot, int flags,
			       int fd, off_t off)
{
	if (calls++ == 0)
		return mmap(addr, len, prot, flags, fd, off);
	errno = ENOMEM;
	return MAP_FAILED;
}

static int counting_munmap(void *addr, size_t len)
{
	unmaps++;
	return munmap(addr, len);
}

static int fail_madvise(void *addr, size_t len, int advice)
{
	(void)addr, (void)len, (void)advice;
	calls++;
	errno = EINVAL;
	return -1;
}

static FILE *fail_fopen(const char *path, const char *mode)
{
	(void)path, (void)mode;
	calls++;
	errno = fail_errno;
	return NULL;
}

/* ---- helpers ---- */

static int open_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	int n = 0;
	cr_assert_not_null(d);
	while (readdir(d))
		n++;
	closedir(d);
	return n;
}

static struct pt_writer_config small_config(enum pt_limit_mode mode)
{
	return dumptest_config(dir, MAX_SIZE, CHUNK, mode);
}

/* A failed open: the error is returned, the writer is inert, no fd is
 * left open and no file is left in the directory. */
static void expect_failed_open(int want)
{
	struct pt_writer w;
	struct pt_writer_config cfg = small_config(PT_MODE_STOP);
	char path[4096];
	int before = open_fds();

	cr_assert_eq(pt_writer_open(&w, &cfg), -want);
	cr_assert_eq(w.fd, -1);
	cr_assert_null(w.map);
	cr_assert_gt(calls, 0, "the injected fault was never reached");
	cr_assert_eq(open_fds(), before, "an fd leaked");
	cr_assert_eq(dumptest_only_file(dir, path, sizeof(path)), 0,
		     "a half-made dump was left behind");
}

/* The events in d are exactly seq 0..n-1 of thread 0, in order. */
static void expect_events(struct pt_dump *d, uint64_t n)
{
	struct pt_read_record r;
	uint64_t next = 0;

	pt_dump_rewind(d);
	while (pt_dump_next(d, &r)) {
		if (r.type != PT_REC_EVENT)
			continue;
		cr_assert_eq(r.ev.start_ns, next);
		next++;
	}
	cr_assert_eq(next, n);
}

static uint64_t emit_n(struct pt_writer *w, struct pt_writer_cursor *c,
		       uint64_t first, uint64_t n)
{
	uint64_t ok = 0;
	for (uint64_t i = first; i < first + n; i++) {
		struct pt_event ev = dumptest_event(0, i, NULL);
		ok += pt_writer_emit_event(w, c, &ev) == 0;
	}
	return ok;
}

/* ---- opening ---- */

Test(writer_faults, no_fd_for_the_dump_file_returns_emfile)
{
	fail_errno = EMFILE;
	pt_sys.openat = fail_openat;
	expect_failed_open(EMFILE);
}

Test(writer_faults, no_fd_for_the_directory_returns_emfile)
{
	fail_errno = EMFILE;
	pt_sys.open = fail_open;
	expect_failed_open(EMFILE);
	cr_assert_eq(pt_writer_prepare_dir(dir), -EMFILE);
}

Test(writer_faults, header_space_refused_returns_eio_and_unlinks)
{
	fail_errno = EIO;
	pt_sys.fallocate = fail_fallocate;
	pt_sys.posix_fallocate = fail_posix_fallocate;
	expect_failed_open(EIO);
}

Test(writer_faults, mapping_refused_returns_enomem_and_unlinks)
{
	pt_sys.mmap = fail_mmap;
	expect_failed_open(ENOMEM);
}

/* ---- claiming chunks ---- */

/* Wrap and stop: a disk that fills up after a chunk's worth of events
 * drops the next one as PT_DROP_DISK with the error it got, keeps the
 * caller's errno, and loses none of the committed events; with space
 * back, the writer goes on. */
static void disk_fails_between_chunks(enum pt_limit_mode mode, int err)
{
	struct pt_writer w;
	struct pt_writer_cursor c;
	struct pt_writer_config cfg = small_config(mode);

	cr_assert_eq(pt_writer_open(&w, &cfg), 0);
	pt_writer_cursor_init(&c, 1);
	cr_assert_eq(emit_n(&w, &c, 0, PER_CHUNK), PER_CHUNK);

	fail_errno = err;
	pt_sys.fallocate = fail_fallocate;
	pt_sys.posix_fallocate = fail_posix_fallocate;
	struct pt_event ev = dumptest_event(0, PER_CHUNK, NULL);
	errno = 4321;
	cr_assert_eq(pt_writer_emit_event(&w, &c, &ev), -err);
	cr_assert_eq(errno, 4321, "the host's errno must survive");
	cr_assert_eq(calls, 2, "fallocate, then posix_fallocate");

	pt_sys = pt_sys_real;
	cr_assert_eq(emit_n(&w, &c, PER_CHUNK, 3), 3);
	pt_writer_close(&w);

	struct pt_dump *d = dumptest_open(w.path);
	cr_assert_eq(pt_dump_info(d)->drops[PT_DROP_DISK], 1);
	expect_events(d, PER_CHUNK + 3);
	pt_dump_close(d);
}

Test(writer_faults, enospc_at_a_wrap_claim_drops_one_and_keeps_committed)
{
	disk_fails_between_chunks(PT_MODE_WRAP, ENOSPC);
}

Test(writer_faults, eio_at_a_stop_claim_drops_one_and_keeps_committed)
{
	disk_fails_between_chunks(PT_MODE_STOP, EIO);
}

Test(writer_faults, refused_prefault_hint_changes_nothing)
{
	struct pt_writer w;
	struct pt_writer_cursor c;
	struct pt_writer_config cfg = small_config(PT_MODE_STOP);

	pt_sys.madvise = fail_madvise;
	cr_assert_eq(pt_writer_open(&w, &cfg), 0);
	pt_writer_cursor_init(&c, 1);
	errno = 77;
	cr_assert_eq(emit_n(&w, &c, 0, 2 * PER_CHUNK), 2 * PER_CHUNK);
	cr_assert_eq(errno, 77);
	pt_writer_close(&w);
#ifdef MADV_POPULATE_WRITE
	cr_assert_eq(calls, 2, "one hint per claimed chunk");
#endif
	struct pt_dump *d = dumptest_open(w.path);
	cr_assert_eq(pt_dump_info(d)->drops[PT_DROP_DISK], 0);
	expect_events(d, 2 * PER_CHUNK);
	pt_dump_close(d);
}

/* ---- the fd table, the spill, the route file ---- */

Test(writer_faults, fd_table_without_memory_tracks_nothing_and_unmaps)
{
	struct pt_fdtab t;

	pt_sys.mmap = second_mmap_fails;
	pt_sys.munmap = counting_munmap;
	cr_assert_eq(fdtab_init(&t, 1024, 16), -ENOMEM);
	cr_assert_eq(unmaps, 1, "the first array must be given back");
	cr_assert_eq(fdtab_word(&t, 3), 0);
	cr_assert_null(fdtab_lookup(&t, 3));
}

Test(writer_faults, spill_without_memory_keeps_the_fixed_ring)
{
	uint32_t fixed[4] = {10, 11, 12, 13};
	void *ring = fixed;
	uint32_t mask = 3, head = 1;

	pt_sys.mmap = fail_mmap;
	cr_assert_eq(pt_spill_ring_grow(&pt_spill_mmap, &ring, &mask, &head, 4,
					sizeof(uint32_t), fixed, 1024),
		     -1);
	cr_assert_eq(ring, (void *)fixed);
	cr_assert_eq(mask, 3);
	cr_assert_eq(head, 1);
	cr_assert_eq(calls, 1);
}

Test(writer_faults, route_file_without_fd_names_the_error)
{
	char err[256] = "";

	fail_errno = EMFILE;
	pt_sys.fopen = fail_fopen;
	cr_assert_null(pt_route_table_load("/etc/hostname", err, sizeof(err)));
	cr_assert_eq(calls, 1);
	cr_assert_not_null(strstr(err, strerror(EMFILE)), "err: %s", err);
}
