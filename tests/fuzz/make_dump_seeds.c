/*
 * make_dump_seeds.c -- small dumps for fuzz_dump_reader's seed corpus,
 * written by the real writer with the smallest chunks it allows, so that a
 * seed is a few pages rather than megabytes.
 *
 * Not built by make.  From the repository root:
 *   cc -std=c11 -D_GNU_SOURCE -Iinclude -Ishim tests/fuzz/make_dump_seeds.c \
 *     shim/writer.c shim/real.c -ldl -o build/make_dump_seeds
 *   build/make_dump_seeds DIR     (DIR: 0700, created if missing)
 * Writes three dumps: two threads in stop mode, a wrapped dump, and one
 * with connection records and raw text.
 */
#include <stdio.h>
#include <string.h>

#include "writer.h"

static const char *const texts[] = {
    "select * from fir_records where fir_number=?",
    "GET fir:record:*",
    "GET /fir/{id}",
    "POST 127.0.0.1:8001/asr",
    "insert into t (a,b) values(?+)",
    ""};

static int one(const char *dir, enum pt_limit_mode mode, int events, int conns,
	       uint32_t flags)
{
	static struct pt_writer w;
	static struct pt_writer_cursor c[2];
	char *argv[] = {"seed", "--x", NULL};
	struct pt_writer_config cfg = {.dir = dir,
				       .name_hint = "seed",
				       .max_size = 8192 + 3 * PT_CHUNK_MIN_SIZE,
				       .chunk_size = PT_CHUNK_MIN_SIZE,
				       .mode = mode,
				       .flags = flags,
				       .exe = "/usr/bin/seed",
				       .argc = 2,
				       .argv = argv,
				       .settings = "PERFTAP_X=1\n"};
	int rc = pt_writer_open(&w, &cfg);
	if (rc < 0)
		return rc;
	pt_writer_cursor_init(&c[0], 11);
	pt_writer_cursor_init(&c[1], 12);
	for (int i = 0; i < events; i++) {
		const char *t = texts[i % 6];
		struct pt_event ev = {.kind = (uint8_t)(1 + i % 4),
				      .outcome = (uint8_t)(i % 4),
				      .start_ns = 1000u + 10u * (unsigned)i,
				      .duration_ns = (uint64_t)(i % 7) * 3,
				      .conn_id = (uint32_t)i % 3,
				      .status = i % 5 ? 0 : 500,
				      .rows = (uint64_t)i,
				      .text = t,
				      .text_len = strlen(t)};
		pt_writer_emit_event(&w, &c[i & 1], &ev);
		if (conns && i % 5 == 0) {
			struct pt_conn_info ci = {.event = PT_CONN_OPEN,
						  .role = 1,
						  .proto = 1,
						  .port = 3306,
						  .conn_id = (uint32_t)i,
						  .time_ns = 1000u + 10u * i,
						  .text = "10.11.6-MariaDB",
						  .text_len = 15};
			pt_writer_emit_conn(&w, &c[i & 1], &ci);
		}
	}
	return 0;
}

int main(int argc, char **argv)
{
	if (argc < 2 || pt_writer_prepare_dir(argv[1]) < 0) {
		fprintf(stderr, "usage: make_dump_seeds DIR\n");
		return 2;
	}
	if (one(argv[1], PT_MODE_STOP, 40, 0, 0) < 0 ||
	    one(argv[1], PT_MODE_WRAP, 600, 0, 0) < 0 ||
	    one(argv[1], PT_MODE_STOP, 60, 1, PT_HDR_RAW_TEXT) < 0)
		return 1;
	return 0;
}
