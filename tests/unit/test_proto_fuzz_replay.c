/*
 * test_proto_fuzz_replay.c -- replay the inputs with which the fuzz
 * targets (tests/fuzz/fuzz_proto_*.c) once broke a decoder, kept in
 * tests/data/fuzz-regressions/{mysql,redis,http}/, and check the same
 * invariants as the targets (tests/fuzz/fuzz_feed.h): no operation after
 * PT_FEED_STOPPED, start <= end within the times fed, texts NUL-free and
 * at most PT_TEXT_MAX.  Each input has a focused test beside its decoder's
 * other tests as well; this one keeps the exact bytes the fuzzer found.
 */
#include <criterion/criterion.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "proto_http.h"
#include "proto_mysql.h"
#include "proto_redis.h"

struct replay {
	uint64_t t0, now;
	int stopped;
	size_t ops;
};

static void on_op(void *arg, const struct pt_op *op)
{
	struct replay *r = arg;
	cr_assert(!r->stopped, "operation after PT_FEED_STOPPED");
	cr_assert_leq(op->start_ns, op->end_ns);
	cr_assert_geq(op->start_ns, r->t0);
	cr_assert_leq(op->end_ns, r->now);
	cr_assert_leq(op->text_len, PT_TEXT_MAX);
	if (op->text)
		cr_assert_null(memchr(op->text, '\0', op->text_len),
			       "NUL in text: %.*s", (int)op->text_len,
			       op->text);
	else
		cr_assert_eq(op->text_len, 0);
	r->ops++;
}

/* One decoder behind three calls, as the fuzz targets drive it. */
struct decoder {
	const char *dir;
	void (*init)(const uint8_t opt, const struct pt_sink *sink);
	enum pt_feed_status (*feed)(enum pt_dir d, const uint8_t *p, size_t n,
				    uint64_t t);
	void (*close)(uint64_t t);
};

static struct proto_mysql M;
static struct proto_redis R;
static struct proto_http H;

static void my_init(uint8_t o, const struct pt_sink *s)
{
	struct pt_proto_options opt = {.raw = o & 1, .raw_max = (o >> 1) * 32u};
	proto_mysql_init(&M, &opt, s);
}
static enum pt_feed_status my_feed(enum pt_dir d, const uint8_t *p, size_t n,
				   uint64_t t)
{
	return proto_mysql_feed(&M, d, p, n, t);
}
static void my_close(uint64_t t)
{
	proto_mysql_close(&M, t);
}
static void rd_init(uint8_t o, const struct pt_sink *s)
{
	struct pt_proto_options opt = {.raw = o & 1, .raw_max = (o >> 1) * 32u};
	proto_redis_init(&R, &opt, s);
}
static enum pt_feed_status rd_feed(enum pt_dir d, const uint8_t *p, size_t n,
				   uint64_t t)
{
	return proto_redis_feed(&R, d, p, n, t);
}
static void rd_close(uint64_t t)
{
	proto_redis_close(&R, t);
}
static void ht_init(uint8_t o, const struct pt_sink *s)
{
	struct pt_proto_options opt = {.raw = o & 1,
				       .raw_max = (o >> 3) * 128u};
	proto_http_init(&H, (o & 2) ? PT_ROLE_CLIENT : PT_ROLE_SERVER, &opt, s);
}
static enum pt_feed_status ht_feed(enum pt_dir d, const uint8_t *p, size_t n,
				   uint64_t t)
{
	return proto_http_feed(&H, d, p, n, t);
}
static void ht_close(uint64_t t)
{
	proto_http_close(&H, t);
}

/* tests/data/fuzz-regressions/SUB from this file's path, or from
 * $PERFTAP_TEST_DATA. */
static void data_dir(const char *sub, char *out, size_t cap)
{
	const char *env = getenv("PERFTAP_TEST_DATA");
	const char *slash = strrchr(__FILE__, '/');
	if (env)
		snprintf(out, cap, "%s/fuzz-regressions/%s", env, sub);
	else
		snprintf(out, cap, "%.*s/../data/fuzz-regressions/%s",
			 slash ? (int)(slash - __FILE__) : 1,
			 slash ? __FILE__ : ".", sub);
}

/* The fuzz_feed.h layout: option byte, then (control byte, chunk)s. */
static void replay_one(const struct decoder *d, const uint8_t *p, size_t n)
{
	struct replay r = {.t0 = 1000, .now = 999};
	struct pt_sink sink = {on_op, NULL, &r};
	size_t pos = 1;

	cr_assert_gt(n, 0);
	d->init(p[0], &sink);
	while (pos < n) {
		uint8_t c = p[pos++];
		size_t k = c >> 1, len = k < 120 ? k + 1 : (k - 119) * 256;
		if (len > n - pos)
			len = n - pos;
		r.now += 1 + (c & 15);
		if (d->feed((c & 1) ? PT_DIR_IN : PT_DIR_OUT, p + pos, len,
			    r.now) == PT_FEED_STOPPED)
			r.stopped = 1;
		pos += len;
	}
	r.now++;
	d->close(r.now);
}

static size_t replay_dir(const struct decoder *d)
{
	char dir[600], path[900];
	size_t files = 0;
	DIR *dp;
	struct dirent *e;

	data_dir(d->dir, dir, sizeof(dir));
	dp = opendir(dir);
	cr_assert_not_null(dp, "%s", dir);
	while ((e = readdir(dp)) != NULL) {
		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		FILE *f = fopen(path, "rb");
		cr_assert_not_null(f, "%s", path);
		static uint8_t buf[1 << 20];
		size_t n = fread(buf, 1, sizeof(buf), f);
		fclose(f);
		replay_one(d, buf, n);
		files++;
	}
	closedir(dp);
	return files;
}

Test(fuzz_replay, mysql_inputs_keep_the_invariants)
{
	struct decoder d = {"mysql", my_init, my_feed, my_close};
	cr_expect_geq(replay_dir(&d), 1);
}

Test(fuzz_replay, redis_inputs_keep_the_invariants)
{
	struct decoder d = {"redis", rd_init, rd_feed, rd_close};
	cr_expect_geq(replay_dir(&d), 2);
}

Test(fuzz_replay, http_inputs_keep_the_invariants)
{
	struct decoder d = {"http", ht_init, ht_feed, ht_close};
	cr_expect_geq(replay_dir(&d), 1);
}
