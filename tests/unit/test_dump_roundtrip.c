/*
 * test_dump_roundtrip.c -- what the writer writes, the reader reads back:
 * every field of every record kind, the header, clamping and truncation,
 * interning, and the drops the writer counts itself (nested, too big).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "dump_test_util.h"

static const char *dir;

static void setup(void)
{
	dir = dumptest_mkdtemp();
}

static void teardown(void)
{
	dumptest_rmdir(dir);
}

TestSuite(dump_roundtrip, .init = setup, .fini = teardown);

static int next_rec(struct pt_dump *d, struct pt_read_record *r)
{
	int got = pt_dump_next(d, r);
	cr_assert_eq(got, 1, "record missing");
	return got;
}

Test(dump_roundtrip, header_fields_read_back)
{
	struct pt_writer w;
	char *const argv[] = {"prog", "", "--x=1 2", NULL};
	struct pt_writer_config cfg =
	    dumptest_config(dir, 1 << 20, 4096, PT_MODE_STOP);
	struct timespec before, after;
	char host[256] = "";

	cfg.argc = 3;
	cfg.argv = argv;
	cfg.flags = PT_HDR_RAW_TEXT;
	cfg.settings = "A=1\nB=two\n";
	clock_gettime(CLOCK_REALTIME, &before);
	cr_assert_eq(pt_writer_open(&w, &cfg), 0);
	clock_gettime(CLOCK_REALTIME, &after);
	pt_writer_close(&w);
	gethostname(host, sizeof(host) - 1);

	struct pt_dump *d = dumptest_open(w.path);
	const struct pt_dump_info *in = pt_dump_info(d);
	cr_assert_eq(in->version, PT_DUMP_VERSION);
	cr_assert_eq(in->pid, getpid());
	cr_assert_eq(in->ppid, getppid());
	cr_assert_str_eq(in->exe, "/usr/bin/dumptest");
	cr_assert_str_eq(in->host, host);
	cr_assert_str_eq(in->settings, "A=1\nB=two\n");
	cr_assert_eq(in->argc, 3);
	cr_assert_str_eq(in->argv, "prog");
	cr_assert_str_eq(in->argv + 5, "");
	cr_assert_str_eq(in->argv + 6, "--x=1 2");
	cr_assert_eq(in->flags, PT_HDR_RAW_TEXT);
	cr_assert_eq(in->mode, PT_MODE_STOP);
	cr_assert_eq(in->clock_id, CLOCK_MONOTONIC);
	cr_assert_eq(in->chunk_size, 4096);
	cr_assert_eq(in->max_size, 1 << 20);
	cr_assert_eq(in->chunk_slots, ((1 << 20) - 4096) / 4096);
	uint64_t b = before.tv_sec * 1000000000ull + before.tv_nsec;
	uint64_t a = after.tv_sec * 1000000000ull + after.tv_nsec;
	cr_assert(in->realtime_anchor_ns >= b && in->realtime_anchor_ns <= a);
	cr_assert_gt(in->monotonic_anchor_ns, 0);
	cr_assert_eq(in->chunks_used, 0);
	cr_assert_eq(dumptest_count_ordered(d), 0);
	pt_dump_close(d);
}

Test(dump_roundtrip, every_event_and_conn_field_read_back)
{
	struct pt_writer w;
	struct pt_writer_cursor c;
	struct pt_writer_config cfg =
	    dumptest_config(dir, 1 << 20, 4096, PT_MODE_WRAP);
	struct pt_conn_info ci = {
	    .event = PT_CONN_OPEN,
	    .role = PT_ROLE_CLIENT,
	    .proto = PT_PROTO_MYSQL,
	    .family = AF_INET6,
	    .port = 3306,
	    .conn_id = 7,
	    .server_conn_id = 99,
	    .time_ns = 1000,
	    .events = 12345678901ull,
	    .undecoded_bytes = 5,
	    .text = "10.11.6-MariaDB",
	    .text_len = 15,
	};
	struct pt_event ev = {
	    .kind = PT_KIND_REDIS,
	    .outcome = PT_OUT_ERROR,
	    .start_ns = 2000,
	    .duration_ns = 30,
	    .conn_id = 7,
	    .status = -PT_REDIS_ERR_WRONGTYPE,
	    .rows = 3,
	    .bytes_out = 40,
	    .bytes_in = 50,
	    .cache_hits = 2,
	    .cache_misses = 1,
	    .flags = PT_EV_PIPELINED | PT_EV_TLS,
	    .text = "GET fir:record:*",
	    .text_len = 16,
	};

	inet_pton(AF_INET6, "2001:db8::1", ci.addr);
	cr_assert_eq(pt_writer_open(&w, &cfg), 0);
	pt_writer_cursor_init(&c, 4242);
	cr_assert_eq(pt_writer_emit_conn(&w, &c, &ci), 0);
	cr_assert_eq(pt_writer_emit_event(&w, &c, &ev), 0);
	pt_writer_count(&w, PT_CNT_CONN_TLS);
	pt_writer_count_drop(&w, PT_DROP_DESYNC);
	pt_writer_close(&w);

	struct pt_dump *d = dumptest_open(w.path);
	struct pt_read_record r;
	next_rec(d, &r);
	cr_assert_eq(r.type, PT_REC_CONN);
	cr_assert_eq(r.chunk_seq, 0);
	cr_assert_eq(r.conn.event, PT_CONN_OPEN);
	cr_assert_eq(r.conn.role, PT_ROLE_CLIENT);
	cr_assert_eq(r.conn.proto, PT_PROTO_MYSQL);
	cr_assert_eq(r.conn.family, AF_INET6);
	cr_assert_eq(r.conn.port, 3306);
	cr_assert_arr_eq(r.conn.addr, ci.addr, 16);
	cr_assert_eq(r.conn.conn_id, 7);
	cr_assert_eq(r.conn.server_conn_id, 99);
	cr_assert_eq(r.conn.tid, 4242);
	cr_assert_eq(r.conn.time_ns, 1000);
	cr_assert_eq(r.conn.events, 12345678901ull);
	cr_assert_eq(r.conn.undecoded_bytes, 5);
	cr_assert_str_eq(r.conn.text, "10.11.6-MariaDB");
	cr_assert_eq(r.conn.text_len, 15);

	next_rec(d, &r);
	cr_assert_eq(r.type, PT_REC_EVENT);
	cr_assert_eq(r.ev.kind, PT_KIND_REDIS);
	cr_assert_eq(r.ev.outcome, PT_OUT_ERROR);
	cr_assert_eq(r.ev.start_ns, 2000);
	cr_assert_eq(r.ev.duration_ns, 30);
	cr_assert_eq(r.ev.tid, 4242);
	cr_assert_eq(r.ev.conn_id, 7);
	cr_assert_eq(r.ev.status, -PT_REDIS_ERR_WRONGTYPE);
	cr_assert_eq(r.ev.rows, 3);
	cr_assert_eq(r.ev.bytes_out, 40);
	cr_assert_eq(r.ev.bytes_in, 50);
	cr_assert_eq(r.ev.cache_hits, 2);
	cr_assert_eq(r.ev.cache_misses, 1);
	cr_assert_eq(r.ev.flags, PT_EV_PIPELINED | PT_EV_TLS);
	cr_assert_str_eq(r.ev.text, "GET fir:record:*");
	cr_assert_eq(r.ev.text_len, 16);
	cr_assert_eq(pt_dump_next(d, &r), 0);

	const struct pt_dump_info *in = pt_dump_info(d);
	cr_assert_eq(in->counters[PT_CNT_CONN_TLS], 1);
	cr_assert_eq(in->drops[PT_DROP_DESYNC], 1);
	cr_assert_eq(in->chunks_used, 1);
	const struct pt_dump_problems *p = pt_dump_problems(d);
	cr_assert_eq(p->bad_chunks + p->bad_records + p->unknown_records +
			 p->unresolved_text + p->partial_chunks,
		     0);
	pt_dump_close(d);
}

Test(dump_roundtrip, oversized_counters_saturate_and_long_text_is_cut)
{
	struct pt_writer w;
	struct pt_writer_cursor c;
	struct pt_writer_config cfg =
	    dumptest_config(dir, 1 << 20, 16384, PT_MODE_STOP);
	static char text[PT_TEXT_MAX + 100];

	memset(text, 'q', sizeof(text));
	/* A 2-byte UTF-8 character straddling the cut: it must go whole. */
	text[PT_TEXT_MAX - 1] = (char)0xc3;
	text[PT_TEXT_MAX] = (char)0xa9;
	struct pt_event ev = dumptest_event(1, 1, NULL);
	ev.rows = 1ull << 40;
	ev.text = text;
	ev.text_len = sizeof(text);
	struct pt_event ev2 = dumptest_event(1, 2, "short");
	ev2.cache_hits = 70000;

	cr_assert_eq(pt_writer_open(&w, &cfg), 0);
	pt_writer_cursor_init(&c, 1);
	cr_assert_eq(pt_writer_emit_event(&w, &c, &ev), 0);
	cr_assert_eq(pt_writer_emit_event(&w, &c, &ev2), 0);
	pt_writer_close(&w);

	struct pt_dump *d = dumptest_open(w.path);
	struct pt_read_record r;
	next_rec(d, &r);
	cr_assert_eq(r.ev.rows, UINT32_MAX);
	cr_assert_eq(r.ev.flags, PT_EV_SATURATED | PT_EV_TRUNCATED);
	cr_assert_eq(r.ev.text_len, PT_TEXT_MAX - 1);
	cr_assert_eq(strlen(r.ev.text), PT_TEXT_MAX - 1);
	next_rec(d, &r);
	cr_assert_eq(r.ev.cache_hits, UINT16_MAX);
	cr_assert_eq(r.ev.flags, PT_EV_SATURATED);
	cr_assert_str_eq(r.ev.text, "short");
	pt_dump_close(d);
}

/* Texts cycle through more distinct strings than the intern table holds,
 * so it resets; every event must still resolve to its own text. */
Test(dump_roundtrip, interned_texts_resolve_after_table_reset)
{
	struct pt_writer w;
	struct pt_writer_cursor c;
	struct pt_writer_config cfg =
	    dumptest_config(dir, 64 << 20, 1 << 20, PT_MODE_STOP);
	char text[64];
	enum { N = 20000, DISTINCT = 1000 };

	cr_assert_eq(pt_writer_open(&w, &cfg), 0);
	pt_writer_cursor_init(&c, 1);
	for (uint64_t i = 0; i < N; i++) {
		snprintf(text, sizeof(text), "select %llu from t",
			 (unsigned long long)(i * 7919 % DISTINCT));
		struct pt_event ev = dumptest_event(0, i, text);
		cr_assert_eq(pt_writer_emit_event(&w, &c, &ev), 0);
	}
	pt_writer_close(&w);

	struct pt_dump *d = dumptest_open(w.path);
	struct pt_read_record r;
	for (uint64_t i = 0; i < N; i++) {
		next_rec(d, &r);
		snprintf(text, sizeof(text), "select %llu from t",
			 (unsigned long long)(i * 7919 % DISTINCT));
		cr_assert_eq(r.ev.start_ns, i);
		cr_assert_str_eq(r.ev.text, text);
	}
	cr_assert_eq(pt_dump_next(d, &r), 0);
	cr_assert_eq(pt_dump_problems(d)->unresolved_text, 0);
	pt_dump_close(d);
}

/* Same text every time: one string record per chunk, so far fewer chunks
 * than a string per event would need. */
Test(dump_roundtrip, repeated_text_is_stored_once_per_chunk)
{
	struct pt_writer w;
	struct pt_writer_cursor c;
	struct pt_writer_config cfg =
	    dumptest_config(dir, 1 << 20, 4096, PT_MODE_STOP);
	/* One 24-byte string, then as many 112-byte events as fit in
	 * 4096 - 64: 35 per chunk. */
	enum {
		PER_CHUNK = (4096 - sizeof(struct pt_chunk_header) - 24) /
			    sizeof(struct pt_event_record),
		N = PER_CHUNK * 3
	};
	cr_assert_eq(PER_CHUNK, 35);

	cr_assert_eq(pt_writer_open(&w, &cfg), 0);
	pt_writer_cursor_init(&c, 1);
	for (uint64_t i = 0; i < N; i++) {
		struct pt_event ev = dumptest_event(0, i, "PING");
		cr_assert_eq(pt_writer_emit_event(&w, &c, &ev), 0);
	}
	pt_writer_close(&w);
	struct pt_dump *d = dumptest_open(w.path);
	cr_assert_eq(pt_dump_info(d)->chunks_used, 3);
	cr_assert_eq(dumptest_count_ordered(d), N);
	pt_dump_close(d);
}

Test(dump_roundtrip, emit_while_nested_is_dropped_and_counted)
{
	struct pt_writer w;
	struct pt_writer_cursor c;
	struct pt_writer_config cfg =
	    dumptest_config(dir, 1 << 20, 4096, PT_MODE_WRAP);
	struct pt_event ev = dumptest_event(0, 1, "x");

	cr_assert_eq(pt_writer_open(&w, &cfg), 0);
	pt_writer_cursor_init(&c, 1);
	cr_assert_eq(pt_writer_emit_event(&w, &c, &ev), 0);
	c.nesting = 1; /* as if a signal arrived mid-emit */
	cr_assert_lt(pt_writer_emit_event(&w, &c, &ev), 0);
	struct pt_conn_info ci = {.event = PT_CONN_OPEN};
	cr_assert_lt(pt_writer_emit_conn(&w, &c, &ci), 0);
	c.nesting = 0;
	cr_assert_eq(pt_writer_emit_event(&w, &c, &ev), 0);
	pt_writer_close(&w);

	struct pt_dump *d = dumptest_open(w.path);
	cr_assert_eq(pt_dump_info(d)->drops[PT_DROP_NESTED], 2);
	cr_assert_eq(dumptest_count_ordered(d), 2);
	pt_dump_close(d);
}

Test(dump_roundtrip, record_larger_than_a_chunk_is_dropped_as_too_big)
{
	struct pt_writer w;
	struct pt_writer_cursor c;
	struct pt_writer_config cfg =
	    dumptest_config(dir, 1 << 20, 4096, PT_MODE_STOP);
	static char text[PT_TEXT_MAX];

	memset(text, 'a', sizeof(text));
	struct pt_event ev = dumptest_event(0, 1, NULL);
	ev.text = text;
	ev.text_len = sizeof(text);
	cr_assert_eq(pt_writer_open(&w, &cfg), 0);
	pt_writer_cursor_init(&c, 1);
	cr_assert_eq(pt_writer_emit_event(&w, &c, &ev), -E2BIG);
	ev.text_len = 4096 - 64 - sizeof(struct pt_event_record) -
		      17; /* exactly fills the chunk */
	cr_assert_eq(pt_writer_emit_event(&w, &c, &ev), 0);
	pt_writer_close(&w);

	struct pt_dump *d = dumptest_open(w.path);
	cr_assert_eq(pt_dump_info(d)->drops[PT_DROP_TOO_BIG], 1);
	struct pt_read_record r;
	next_rec(d, &r);
	cr_assert_eq(r.ev.text_len,
		     4096 - 64 - sizeof(struct pt_event_record) - 17);
	pt_dump_close(d);
}

static int count_cb(const struct pt_read_record *r, void *arg)
{
	uint64_t *n = arg;
	n[r->type == PT_REC_EVENT ? 0 : 1]++;
	return 0;
}

/* Two threads' cursors interleaved in time: the ordered pass is sorted by
 * completion and the unordered pass sees the same records. */
Test(dump_roundtrip, ordered_pass_merges_chunks_by_completion_time)
{
	struct pt_writer w;
	struct pt_writer_cursor a, b;
	struct pt_writer_config cfg =
	    dumptest_config(dir, 1 << 20, 4096, PT_MODE_STOP);

	cr_assert_eq(pt_writer_open(&w, &cfg), 0);
	pt_writer_cursor_init(&a, 1);
	pt_writer_cursor_init(&b, 2);
	for (uint64_t i = 0; i < 500; i++) {
		struct pt_event ev = dumptest_event(i % 2, i * 10, NULL);
		ev.duration_ns = i % 2 ? 3 : 17; /* b's events end sooner */
		cr_assert_eq(pt_writer_emit_event(&w, i % 2 ? &b : &a, &ev), 0);
	}
	pt_writer_close(&w);

	struct pt_dump *d = dumptest_open(w.path);
	struct pt_read_record r;
	uint64_t last = 0, n = 0, counts[2] = {0, 0};
	while (pt_dump_next(d, &r)) {
		uint64_t end = r.ev.start_ns + r.ev.duration_ns;
		cr_assert_geq(end, last);
		last = end;
		n++;
	}
	cr_assert_eq(n, 500);
	cr_assert_eq(pt_dump_foreach(d, count_cb, counts), 0);
	cr_assert_eq(counts[0], 500);
	cr_assert_eq(counts[1], 0);
	pt_dump_close(d);
}

Test(dump_roundtrip, names_for_reports)
{
	cr_assert_str_eq(pt_kind_name(PT_KIND_MYSQL), "mysql");
	cr_assert_str_eq(pt_kind_name(PT_KIND_HTTP_IN), "http_in");
	cr_assert_str_eq(pt_kind_name(99), "unknown");
	cr_assert_str_eq(pt_drop_cause_name(PT_DROP_WRAPPED), "wrapped");
	cr_assert_str_eq(pt_drop_cause_name(PT_DROP_QUEUE_FULL), "queue_full");
	cr_assert_str_eq(pt_drop_cause_name(15), "unknown");
	cr_assert_str_eq(pt_counter_name(PT_CNT_CONN_TLS), "conn_tls");
	cr_assert_str_eq(pt_counter_name(PT_CNT_COUNT), "unknown");
}
