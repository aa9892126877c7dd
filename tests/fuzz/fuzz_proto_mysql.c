/*
 * fuzz_proto_mysql.c -- libFuzzer target for the MySQL decoder.
 *
 * Not built by make.  With clang, from the repository root:
 *   clang -std=c11 -D_GNU_SOURCE -g -O1 \
 *     -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
 *     -Iinclude -Ishim -I/usr/include/cjson tests/fuzz/fuzz_proto_mysql.c \
 *     shim/proto_mysql.c shim/normalize*.c -lcjson \
 *     -o build/fuzz_proto_mysql
 *   build/fuzz_proto_mysql -max_len=65536 -max_total_time=180 \
 *     tests/fuzz/corpus/mysql
 * (seed corpus: tests/fuzz/make_seeds.py builds tests/fuzz/corpus/ from
 * the tests/data fixtures).
 *
 * Byte 0: options (bit 0 raw text, bits 1..7 raw_max / 32; bit 7 set also
 * resumes after PT_NOTE_TLS, as the SSL hooks do).  The rest: feeds
 * (fuzz_feed.h).  Checks the sink invariants of fuzz_feed.h, then that
 * close reports nothing once stopped, and that the context can be
 * re-initialised and reused.
 */
#include <stdint.h>
#include <stdlib.h>

#include "fuzz_feed.h"
#include "proto_mysql.h"

static struct proto_mysql ctx; /* ~48 KiB: not on the stack */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_state st = {.t0 = 1000,
				.now = 1000,
				.kind_a = PT_KIND_MYSQL,
				.kind_b = PT_KIND_MYSQL};
	struct pt_sink sink = {fuzz_on_op, fuzz_on_note, &st};
	struct pt_proto_options opt = {0};
	size_t pos = 1;
	enum pt_dir dir;
	const uint8_t *chunk;
	size_t len;
	int resume;

	if (size < 1)
		return 0;
	opt.raw = data[0] & 1;
	opt.raw_max = (uint32_t)(data[0] >> 1) * 32;
	resume = data[0] >> 7;
	st.now = st.t0 - 1;
	proto_mysql_init(&ctx, &opt, &sink);
	while (fuzz_next_chunk(data, size, &pos, &st, &dir, &chunk, &len)) {
		if (st.stopped && resume && st.tls_note) {
			st.tls_note = 0;
			if (proto_mysql_resume_tls(&ctx) == 0)
				st.stopped = 0;
		}
		if (proto_mysql_feed(&ctx, dir, chunk, len, st.now) ==
		    PT_FEED_STOPPED)
			st.stopped = 1;
	}
	st.now++;
	proto_mysql_close(&ctx, st.now);
	st.stopped = 1; /* later feeds are ignored */
	if (proto_mysql_feed(&ctx, PT_DIR_IN, data, size, st.now) !=
	    PT_FEED_STOPPED)
		abort();
	proto_mysql_close(&ctx, st.now);
	return 0;
}
