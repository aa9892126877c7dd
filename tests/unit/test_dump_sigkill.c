/*
 * test_dump_sigkill.c -- SIGKILL at any instant loses nothing committed:
 * a child writes events as fast as it can and reports each sequence
 * number on a pipe right after its commit; the parent kills it at a
 * random moment and then finds every reported event in the dump, and no
 * record that is not a whole, valid event.
 */
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "dump_test_util.h"

#define ROUNDS	   20
#define MAX_EVENTS 400000u

static const char *dir;

static void setup(void)
{
	dir = dumptest_mkdtemp();
}

static void teardown(void)
{
	dumptest_rmdir(dir);
}

TestSuite(dump_sigkill, .init = setup, .fini = teardown, .timeout = 300);

static const char *text_of(uint64_t seq, char *buf, size_t cap)
{
	snprintf(buf, cap, "k%llu", (unsigned long long)(seq % 5));
	return buf;
}

static void child_write(const char *path, int fd, enum pt_limit_mode mode)
{
	struct pt_writer w;
	struct pt_writer_cursor c;
	struct pt_writer_config cfg =
	    dumptest_config(path, 64u << 20, 4096, mode);
	char text[16];

	/* A deep pipe, so the child is rarely blocked in write() and the
	 * kill lands anywhere in the emit path, chunk claims included. */
	fcntl(fd, F_SETPIPE_SZ, 1 << 20);
	if (pt_writer_open(&w, &cfg) != 0)
		_exit(10);
	pt_writer_cursor_init(&c, 1);
	for (uint64_t seq = 0; seq < MAX_EVENTS; seq++) {
		struct pt_event ev =
		    dumptest_event(0, seq, text_of(seq, text, sizeof(text)));
		if (pt_writer_emit_event(&w, &c, &ev) != 0)
			_exit(11);
		if (write(fd, &seq, sizeof(seq)) != sizeof(seq))
			_exit(12);
	}
	pause();
	_exit(0);
}

/* Read sequence numbers until `target` were seen, kill, drain; returns
 * how many were reported in all. */
static uint64_t parent_watch(pid_t pid, int fd, uint64_t target,
			     unsigned delay_us)
{
	uint64_t seq, n = 0;
	int killed = 0;

	for (;;) {
		ssize_t got = read(fd, &seq, sizeof(seq));
		if (got == 0)
			break;
		cr_assert_eq(got, sizeof(seq));
		cr_assert_eq(seq, n, "pipe order");
		n++;
		if (!killed && n >= target) {
			/* The child runs on while we sleep: a random instant.
			 */
			usleep(delay_us);
			kill(pid, SIGKILL);
			killed = 1;
		}
	}
	int status;
	cr_assert_eq(waitpid(pid, &status, 0), pid);
	cr_assert(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL,
		  "child ended otherwise: %d", status);
	return n;
}

/* Every record is a whole event of the child's, seq 0, 1, 2 ... */
static uint64_t check_dump(const char *sub)
{
	char path[4096], text[16];
	struct pt_read_record r;
	uint64_t n = 0;

	cr_assert_eq(dumptest_only_file(sub, path, sizeof(path)), 1);
	struct pt_dump *d = dumptest_open(path);
	while (pt_dump_next(d, &r)) {
		cr_assert_eq(r.type, PT_REC_EVENT);
		cr_assert_eq(r.ev.start_ns, n, "seq");
		cr_assert_eq(r.ev.rows, n);
		cr_assert_eq(r.ev.kind, PT_KIND_MYSQL);
		cr_assert_eq(r.ev.duration_ns, 1);
		cr_assert_eq(r.ev.tid, 1);
		cr_assert_str_eq(r.ev.text, text_of(n, text, sizeof(text)));
		n++;
	}
	const struct pt_dump_problems *p = pt_dump_problems(d);
	cr_assert_eq(p->bad_chunks + p->bad_records + p->unresolved_text +
			 p->partial_chunks,
		     0);
	pt_dump_close(d);
	return n;
}

Test(dump_sigkill, kill_at_random_moments_keeps_every_committed_event)
{
	unsigned seed = (unsigned)time(NULL);
	srand(seed);
	cr_log_info("seed %u", seed);
	for (int round = 0; round < ROUNDS; round++) {
		char sub[4096];
		int fds[2];
		snprintf(sub, sizeof(sub), "%s/r%d", dir, round);
		cr_assert_eq(pt_writer_prepare_dir(sub), 0);
		cr_assert_eq(pipe(fds), 0);
		pid_t pid = fork();
		cr_assert_geq(pid, 0);
		if (pid == 0) {
			close(fds[0]);
			child_write(sub, fds[1],
				    round % 2 ? PT_MODE_WRAP : PT_MODE_STOP);
		}
		close(fds[1]);
		uint64_t target = 1 + (uint64_t)rand() % 50000;
		uint64_t reported =
		    parent_watch(pid, fds[0], target, (unsigned)rand() % 2000);
		close(fds[0]);
		uint64_t found = check_dump(sub);
		cr_assert_geq(found, reported, "round %d (seed %u)", round,
			      seed);
		dumptest_rmdir(sub);
	}
}
