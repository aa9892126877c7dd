/*
 * test_dump_corrupt.c -- the reader never trusts a byte: every single-byte
 * change and every truncation of a small valid dump is read without a
 * crash (ASan build included), and files that are not readable dumps are
 * refused with a clear one-line reason.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "dump_test_util.h"

/* Minimal layout: 4 KiB header, two 4 KiB chunks = a 12 KiB file. */
#define SMALL_MAX (4096u + 2 * 4096u)

static const char *dir;

static void setup(void)
{
	dir = dumptest_mkdtemp();
}

static void teardown(void)
{
	dumptest_rmdir(dir);
}

TestSuite(dump_corrupt, .init = setup, .fini = teardown, .timeout = 600);

/* Fill both chunks of a small stop-mode dump with strings, events and
 * connection records; returns the number of event + conn records. */
static uint64_t make_small_dump(char *path, size_t cap)
{
	struct pt_writer w;
	struct pt_writer_cursor c;
	struct pt_writer_config cfg =
	    dumptest_config(dir, SMALL_MAX, 4096, PT_MODE_STOP);
	char text[32];
	uint64_t n = 0;

	cr_assert_eq(pt_writer_open(&w, &cfg), 0);
	cr_assert_eq(w.header_size, 4096);
	pt_writer_cursor_init(&c, 7);
	for (uint64_t i = 0;; i++) {
		int rc;
		if (i % 10 == 3) {
			struct pt_conn_info ci = {.event = PT_CONN_OPEN,
						  .family = AF_INET,
						  .conn_id = (uint32_t)i,
						  .time_ns = i * 10,
						  .text = "srv",
						  .text_len = 3};
			rc = pt_writer_emit_conn(&w, &c, &ci);
		} else {
			snprintf(text, sizeof(text), "GET k%llu:*",
				 (unsigned long long)(i % 4));
			struct pt_event ev = dumptest_event(0, i * 10, text);
			rc = pt_writer_emit_event(&w, &c, &ev);
		}
		if (rc != 0)
			break;
		n++;
	}
	snprintf(path, cap, "%s", w.path);
	pt_writer_close(&w);
	return n;
}

struct walk {
	uint64_t n;
};

static int walk_cb(const struct pt_read_record *r, void *arg)
{
	struct walk *wk = arg;
	const char *t = r->type == PT_REC_EVENT ? r->ev.text : r->conn.text;
	uint32_t len =
	    r->type == PT_REC_EVENT ? r->ev.text_len : r->conn.text_len;
	cr_assert(r->type == PT_REC_EVENT || r->type == PT_REC_CONN);
	cr_assert_eq(t[len], '\0');
	cr_assert_leq(len, PT_TEXT_MAX);
	wk->n++;
	return 0;
}

/* Open whatever is at path now; it either opens with a reason or reads
 * consistently both ways.  Returns 1 when it opened. */
static int read_any(const char *path)
{
	char err[256] = "";
	struct pt_dump *d = pt_dump_open(path, err, sizeof(err));
	if (!d) {
		cr_assert_neq(err[0], '\0', "refusal without a reason");
		cr_assert_null(strchr(err, '\n'));
		return 0;
	}
	struct walk ordered = {0}, unordered = {0};
	struct pt_read_record r;
	while (pt_dump_next(d, &r))
		walk_cb(&r, &ordered);
	cr_assert_eq(pt_dump_foreach(d, walk_cb, &unordered), 0);
	cr_assert_eq(ordered.n, unordered.n);
	const struct pt_dump_info *in = pt_dump_info(d);
	cr_assert_leq(in->argc, 4096);
	pt_dump_close(d);
	return 1;
}

Test(dump_corrupt, every_single_byte_change_is_survived)
{
	char path[4096];
	size_t len;
	static const uint8_t values[] = {0x00, 0x01, 0x7f, 0x80, 0xff};

	make_small_dump(path, sizeof(path));
	uint8_t *orig = dumptest_slurp(path, &len);
	cr_assert_eq(len, SMALL_MAX);
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	cr_assert_geq(fd, 0);
	uint64_t opened = 0, tried = 0;
	for (size_t pos = 0; pos < len; pos++) {
		uint8_t vals[sizeof(values) + 1];
		memcpy(vals, values, sizeof(values));
		vals[sizeof(values)] = orig[pos] ^ 0xff;
		for (size_t v = 0; v < sizeof(vals); v++) {
			if (vals[v] == orig[pos])
				continue;
			cr_assert_eq(pwrite(fd, &vals[v], 1, pos), 1);
			opened += read_any(path);
			tried++;
		}
		cr_assert_eq(pwrite(fd, &orig[pos], 1, pos), 1);
	}
	close(fd);
	/* Most bytes are record payload: the dump must still open. */
	cr_assert_gt(opened, tried / 2);
	free(orig);
}

Test(dump_corrupt, every_truncation_is_survived)
{
	char path[4096];
	size_t len;

	uint64_t records = make_small_dump(path, sizeof(path));
	uint8_t *orig = dumptest_slurp(path, &len);
	for (size_t cut = 0; cut <= len; cut++) {
		cr_assert_eq(dumptest_spit(path, orig, cut), 0);
		int opened = read_any(path);
		cr_assert_eq(opened, cut >= 4096, "cut at %zu", cut);
	}
	/* The whole file reads everything back. */
	struct pt_dump *d = dumptest_open(path);
	cr_assert_eq(dumptest_count_ordered(d), records);
	pt_dump_close(d);
	free(orig);
}

Test(dump_corrupt, a_damaged_commit_ends_only_its_own_chunk)
{
	char path[4096];
	size_t len;

	uint64_t records = make_small_dump(path, sizeof(path));
	uint8_t *buf = dumptest_slurp(path, &len);
	/* Chunk 0's first record is the string "GET k0:*" (32 bytes); the
	 * next is an event: give its commit word an odd size. */
	size_t at = 4096 + 64 + 32;
	cr_assert_eq(buf[at], sizeof(struct pt_event_record));
	buf[at] = sizeof(struct pt_event_record) + 1;
	cr_assert_eq(dumptest_spit(path, buf, len), 0);
	struct pt_dump *d = dumptest_open(path);
	cr_assert_eq(pt_dump_problems(d)->bad_records, 1);
	uint64_t n = dumptest_count_ordered(d);
	cr_assert_lt(n, records);
	cr_assert_gt(n, records / 3, "chunk 1 must still be read");
	pt_dump_close(d);
	free(buf);
}

static void expect_refusal(const char *path, const char *reason)
{
	char err[256] = "";
	struct pt_dump *d = pt_dump_open(path, err, sizeof(err));
	cr_assert_null(d);
	cr_assert_str_eq(err, reason);
}

Test(dump_corrupt, unreadable_files_are_refused_with_a_clear_reason)
{
	char path[4096], other[4096];
	size_t len;

	make_small_dump(path, sizeof(path));
	uint8_t *buf = dumptest_slurp(path, &len);
	struct pt_file_header *h = (void *)buf;
	snprintf(other, sizeof(other), "%s/other", dir);

	cr_assert_eq(dumptest_spit(other, "", 0), 0);
	expect_refusal(other, "empty file");
	cr_assert_eq(dumptest_spit(other, "hello, world\n", 13), 0);
	expect_refusal(other, "not a perftap dump");
	cr_assert_eq(dumptest_spit(other, buf, 100), 0);
	expect_refusal(other, "truncated header (100 of 504 bytes)");
	cr_assert_eq(dumptest_spit(other, buf, 2000), 0);
	expect_refusal(other, "truncated header (2000 of 4096 bytes)");

	h->version = PT_DUMP_VERSION + 1;
	cr_assert_eq(dumptest_spit(other, buf, len), 0);
	char newer[96];
	snprintf(newer, sizeof(newer),
		 "made by a newer perftap: format %d, this reads up to %d",
		 PT_DUMP_VERSION + 1, PT_DUMP_VERSION);
	expect_refusal(other, newer);
	h->version = 0;
	cr_assert_eq(dumptest_spit(other, buf, len), 0);
	expect_refusal(other, "damaged header: format version 0");
	h->version = PT_DUMP_VERSION;
	h->byte_order = __builtin_bswap32(PT_BYTE_ORDER_MARK);
	cr_assert_eq(dumptest_spit(other, buf, len), 0);
	expect_refusal(other, "written on a machine of the other byte order");
	h->byte_order = PT_BYTE_ORDER_MARK;
	memset(h->magic, 0, sizeof(h->magic));
	cr_assert_eq(dumptest_spit(other, buf, len), 0);
	expect_refusal(other, "incomplete header (the writer stopped before "
			      "finishing it)");
	snprintf(other, sizeof(other), "%s/missing", dir);
	expect_refusal(other, "No such file or directory");
	expect_refusal(dir, "not a regular file");
	free(buf);
}
