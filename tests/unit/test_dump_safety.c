/*
 * test_dump_safety.c -- where dumps may be written and what is never
 * overwritten: the directory checks, symlinks, name collisions, and a
 * forked child that must start its own file.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "dump_test_util.h"

static const char *dir;
static char sub[4096];

static void setup(void)
{
	dir = dumptest_mkdtemp();
	snprintf(sub, sizeof(sub), "%s/d", dir);
}

static void teardown(void)
{
	char p[4096];
	/* sub may hold files; clean one level deeper first. */
	dumptest_rmdir(sub);
	snprintf(p, sizeof(p), "%s/link", dir);
	unlink(p);
	dumptest_rmdir(dir);
}

TestSuite(dump_safety, .init = setup, .fini = teardown);

static int try_open(const char *d)
{
	struct pt_writer w;
	struct pt_writer_config cfg =
	    dumptest_config(d, 1 << 20, 4096, PT_MODE_STOP);
	int rc = pt_writer_open(&w, &cfg);
	if (rc == 0)
		pt_writer_close(&w);
	return rc;
}

Test(dump_safety, prepare_dir_creates_a_private_directory)
{
	struct stat st;
	cr_assert_eq(pt_writer_prepare_dir(sub), 0);
	cr_assert_eq(lstat(sub, &st), 0);
	cr_assert(S_ISDIR(st.st_mode));
	cr_assert_eq(st.st_mode & 0777, 0700);
	cr_assert_eq(pt_writer_prepare_dir(sub), 0, "existing dir is fine");
	cr_assert_eq(try_open(sub), 0);
}

Test(dump_safety, refuses_a_group_writable_directory)
{
	cr_assert_eq(mkdir(sub, 0700), 0);
	cr_assert_eq(chmod(sub, 0770), 0);
	cr_assert_eq(pt_writer_prepare_dir(sub), -EACCES);
	cr_assert_eq(try_open(sub), -EACCES);
	cr_assert_eq(chmod(sub, 0705), 0);
	cr_assert_eq(try_open(sub), -EACCES, "other bits count too");
}

Test(dump_safety, refuses_a_directory_owned_by_someone_else)
{
	cr_assert_eq(mkdir(sub, 0700), 0);
	cr_assert_eq(chown(sub, 65534, 65534), 0, "needs root");
	cr_assert_eq(pt_writer_prepare_dir(sub), -EACCES);
	cr_assert_eq(try_open(sub), -EACCES);
}

Test(dump_safety, refuses_a_symlinked_directory_and_a_plain_file)
{
	char link[4096];
	snprintf(link, sizeof(link), "%s/link", dir);
	cr_assert_eq(mkdir(sub, 0700), 0);
	cr_assert_eq(symlink(sub, link), 0);
	cr_assert_eq(try_open(link), -ENOTDIR);
	cr_assert_eq(pt_writer_prepare_dir(link), -ENOTDIR);
	char file[4200];
	snprintf(file, sizeof(file), "%s/plain", sub);
	cr_assert_eq(dumptest_spit(file, "x", 1), 0);
	cr_assert_eq(try_open(file), -ENOTDIR);
}

Test(dump_safety, symlink_planted_at_the_dump_name_is_never_followed)
{
	char victim[4096], planted[4096];
	struct pt_writer w;
	struct pt_writer_config cfg =
	    dumptest_config(dir, 1 << 20, 4096, PT_MODE_STOP);
	struct stat st;

	snprintf(victim, sizeof(victim), "%s/victim", dir);
	snprintf(planted, sizeof(planted), "%s/dumptest.%d.ptd", dir,
		 (int)getpid());
	cr_assert_eq(dumptest_spit(victim, "precious", 8), 0);
	cr_assert_eq(symlink(victim, planted), 0);
	cr_assert_eq(pt_writer_open(&w, &cfg), 0);
	cr_assert_str_neq(w.path, planted);
	pt_writer_close(&w);
	size_t len;
	uint8_t *buf = dumptest_slurp(victim, &len);
	cr_assert_eq(len, 8);
	cr_assert_arr_eq(buf, "precious", 8);
	free(buf);
	cr_assert_eq(lstat(planted, &st), 0);
	cr_assert(S_ISLNK(st.st_mode));
}

Test(dump_safety, second_open_with_the_same_pid_never_overwrites)
{
	struct pt_writer w1, w2;
	struct pt_writer_cursor c;
	struct pt_writer_config cfg =
	    dumptest_config(dir, 1 << 20, 4096, PT_MODE_STOP);
	struct stat st;

	cr_assert_eq(pt_writer_open(&w1, &cfg), 0);
	pt_writer_cursor_init(&c, 1);
	for (int i = 0; i < 100; i++) {
		struct pt_event ev = dumptest_event(1, i, "first");
		cr_assert_eq(pt_writer_emit_event(&w1, &c, &ev), 0);
	}
	pt_writer_close(&w1);
	size_t len1, len1b;
	uint8_t *before = dumptest_slurp(w1.path, &len1);

	cr_assert_eq(pt_writer_open(&w2, &cfg), 0);
	cr_assert_str_neq(w1.path, w2.path);
	cr_assert_eq(stat(w2.path, &st), 0);
	cr_assert_eq(st.st_mode & 0777, 0600);
	pt_writer_cursor_init(&c, 2);
	struct pt_event ev = dumptest_event(2, 0, "second");
	cr_assert_eq(pt_writer_emit_event(&w2, &c, &ev), 0);
	pt_writer_close(&w2);

	uint8_t *after = dumptest_slurp(w1.path, &len1b);
	cr_assert_eq(len1, len1b);
	cr_assert_arr_eq(before, after, len1);
	free(before);
	free(after);
	struct pt_dump *d = dumptest_open(w2.path);
	cr_assert_eq(dumptest_count_ordered(d), 1);
	pt_dump_close(d);
}

/* The child runs without Criterion's asserts: its exit code says which
 * step failed. */
static int child_run(struct pt_writer *w, struct pt_writer_cursor *c,
		     const struct pt_writer_config *cfg)
{
	pt_writer_forget_after_fork(w);
	if (pt_writer_open(w, cfg) != 0)
		return 10;
	for (int i = 0; i < 5; i++) {
		struct pt_event ev = dumptest_event(9, 1000 + i, "child");
		if (pt_writer_emit_event(w, c, &ev) != 0)
			return 11;
	}
	pt_writer_close(w);
	return 0;
}

Test(dump_safety, forked_child_writes_its_own_dump_and_leaves_the_parents)
{
	struct pt_writer w;
	struct pt_writer_cursor c;
	struct pt_writer_config cfg =
	    dumptest_config(dir, 1 << 20, 4096, PT_MODE_WRAP);
	char parent_path[4096], child_path[4096];

	cr_assert_eq(pt_writer_open(&w, &cfg), 0);
	snprintf(parent_path, sizeof(parent_path), "%s", w.path);
	pt_writer_cursor_init(&c, 1);
	for (int i = 0; i < 10; i++) {
		struct pt_event ev = dumptest_event(1, i, "parent");
		cr_assert_eq(pt_writer_emit_event(&w, &c, &ev), 0);
	}
	size_t len, len2;
	uint8_t *before = dumptest_slurp(parent_path, &len);

	pid_t pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0)
		_exit(child_run(&w, &c, &cfg));
	int status;
	cr_assert_eq(waitpid(pid, &status, 0), pid);
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0,
		  "child status %d", status);

	uint8_t *after = dumptest_slurp(parent_path, &len2);
	cr_assert_eq(len, len2);
	cr_assert_arr_eq(before, after, len, "child wrote into parent's dump");
	free(before);
	free(after);
	struct pt_event ev = dumptest_event(1, 10, "parent");
	cr_assert_eq(pt_writer_emit_event(&w, &c, &ev), 0);
	pt_writer_close(&w);

	struct pt_dump *d = dumptest_open(parent_path);
	cr_assert_eq(dumptest_count_ordered(d), 11);
	pt_dump_close(d);
	snprintf(child_path, sizeof(child_path), "%s/dumptest.%d.ptd", dir,
		 (int)pid);
	d = dumptest_open(child_path);
	cr_assert_eq(pt_dump_info(d)->pid, pid);
	cr_assert_eq(pt_dump_info(d)->ppid, getpid());
	struct pt_read_record r;
	uint64_t n = 0;
	while (pt_dump_next(d, &r)) {
		cr_assert_eq(r.ev.start_ns, 1000 + n);
		cr_assert_str_eq(r.ev.text, "child");
		n++;
	}
	cr_assert_eq(n, 5);
	pt_dump_close(d);
}

Test(dump_safety, writer_after_close_refuses_instead_of_touching_memory)
{
	struct pt_writer w;
	struct pt_writer_cursor c;
	struct pt_writer_config cfg =
	    dumptest_config(dir, 1 << 20, 4096, PT_MODE_WRAP);
	struct pt_event ev = dumptest_event(1, 0, NULL);

	cr_assert_eq(pt_writer_open(&w, &cfg), 0);
	pt_writer_cursor_init(&c, 1);
	cr_assert_eq(pt_writer_emit_event(&w, &c, &ev), 0);
	pt_writer_close(&w);
	cr_assert_eq(pt_writer_emit_event(&w, &c, &ev), -EBADF);
	pt_writer_count_drop(&w, PT_DROP_BUSY); /* must not crash */
}
