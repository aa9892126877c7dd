/*
 * dump_test_util.c -- helpers shared by the dump writer/reader tests.
 */
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "dump_test_util.h"

const char *dumptest_mkdtemp(void)
{
	static char dirs[4][64];
	static int next;
	char *d = dirs[next++ % 4];

	strcpy(d, "/tmp/ptdump.XXXXXX");
	cr_assert_not_null(mkdtemp(d), "mkdtemp");
	return d;
}

void dumptest_rmdir(const char *dir)
{
	DIR *dp = opendir(dir);
	struct dirent *e;
	char p[4096];

	if (!dp)
		return;
	while ((e = readdir(dp))) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		snprintf(p, sizeof(p), "%s/%s", dir, e->d_name);
		if (unlink(p) < 0)
			rmdir(p);
	}
	closedir(dp);
	rmdir(dir);
}

struct pt_writer_config dumptest_config(const char *dir, uint64_t max_size,
					uint32_t chunk_size,
					enum pt_limit_mode mode)
{
	static char *const argv[] = {"dumptest", "--flag", NULL};
	return (struct pt_writer_config){
	    .dir = dir,
	    .name_hint = "dumptest",
	    .max_size = max_size,
	    .chunk_size = chunk_size,
	    .mode = mode,
	    .exe = "/usr/bin/dumptest",
	    .argc = 2,
	    .argv = argv,
	    .settings = "PERFTAP_TEST=1\n",
	};
}

struct pt_event dumptest_event(uint32_t thread, uint64_t seq, const char *text)
{
	return (struct pt_event){
	    .kind = PT_KIND_MYSQL,
	    .outcome = PT_OUT_OK,
	    .start_ns = seq,
	    .duration_ns = 1,
	    .conn_id = thread,
	    .status = 0,
	    .rows = seq,
	    .bytes_out = thread,
	    .bytes_in = seq & 0xffffffffu,
	    .text = text,
	    .text_len = text ? strlen(text) : 0,
	};
}

uint8_t *dumptest_slurp(const char *path, size_t *len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct stat st;

	cr_assert(fd >= 0 && fstat(fd, &st) == 0, "open %s", path);
	uint8_t *buf = malloc(st.st_size + 1);
	cr_assert_not_null(buf);
	size_t got = 0;
	while (got < (size_t)st.st_size) {
		ssize_t n = read(fd, buf + got, st.st_size - got);
		cr_assert(n > 0, "read %s", path);
		got += n;
	}
	close(fd);
	buf[got] = '\0';
	*len = got;
	return buf;
}

int dumptest_spit(const char *path, const void *buf, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return -1;
	ssize_t n = len ? write(fd, buf, len) : 0;
	close(fd);
	return n == (ssize_t)len ? 0 : -1;
}

struct pt_dump *dumptest_open(const char *path)
{
	char err[256] = "";
	struct pt_dump *d = pt_dump_open(path, err, sizeof(err));
	cr_assert_not_null(d, "pt_dump_open(%s): %s", path, err);
	return d;
}

uint64_t dumptest_count_ordered(struct pt_dump *d)
{
	struct pt_read_record r;
	uint64_t n = 0;

	pt_dump_rewind(d);
	while (pt_dump_next(d, &r))
		n++;
	return n;
}

int dumptest_only_file(const char *dir, char *out, size_t cap)
{
	DIR *dp = opendir(dir);
	struct dirent *e;
	int n = 0;

	if (!dp)
		return -1;
	while ((e = readdir(dp))) {
		if (e->d_name[0] == '.')
			continue;
		if (n++ == 0)
			snprintf(out, cap, "%s/%s", dir, e->d_name);
	}
	closedir(dp);
	return n;
}
