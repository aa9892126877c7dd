/*
 * fuzz_proto_mysql.c -- libFuzzer target for the MySQL decoder.
 *
 * Built by `make fuzz-build`; run by `make fuzz` and, briefly, `make
 * test`.  Corpus tests/fuzz/corpus/mysql (tests/fuzz/make_seeds.py, from
 * the tests/data fixtures).
 *
 * Byte 0: options (bit 0 raw text, bits 1..7 raw_max / 32; bit 7 set also
 * resumes after PT_NOTE_TLS, as the SSL hooks do).  The rest: feeds
 * (fuzz_feed.h).  Checks the sink invariants of fuzz_feed.h, the same
 * operations whether the stream is cut as given or joined (unless it
 * resumed after TLS, where the cut decides the resume point), then that
 * close reports nothing once stopped, and that the context can be
 * re-initialised and reused.
 */
#include <stdint.h>
#include <stdlib.h>

#include "fuzz_feed.h"
#include "proto_mysql.h"

static struct proto_mysql ctx; /* ~48 KiB: not on the stack */

static uint8_t joined[1 << 20];

/* One pass over the input: as cut (join == 0) or joined by direction.
 * Returns 1 if it resumed after TLS (the resume point depends on the
 * cut, so the passes are not compared then). */
static int pass(const uint8_t *data, size_t size, int join,
		struct fuzz_state *st)
{
	struct pt_sink sink = {fuzz_on_op, fuzz_on_note, st};
	struct pt_proto_options opt = {0};
	size_t pos = 1;
	enum pt_dir dir;
	const uint8_t *chunk;
	size_t len;
	int resume, resumed = 0;

	*st = (struct fuzz_state){.t0 = 1000,
				  .now = 999,
				  .kind_a = PT_KIND_MYSQL,
				  .kind_b = PT_KIND_MYSQL};
	opt.raw = data[0] & 1;
	opt.raw_max = (uint32_t)(data[0] >> 1) * 32;
	resume = data[0] >> 7;
	proto_mysql_init(&ctx, &opt, &sink);
	while (
	    join ? fuzz_next_run(data, size, &pos, st, &dir, joined,
				 sizeof(joined), &len) &&
		       (chunk = joined)
		 : fuzz_next_chunk(data, size, &pos, st, &dir, &chunk, &len)) {
		if (st->stopped && resume && st->tls_note) {
			st->tls_note = 0;
			if (proto_mysql_resume_tls(&ctx) == 0) {
				st->stopped = 0;
				resumed = 1;
			}
		}
		if (proto_mysql_feed(&ctx, dir, chunk, len, st->now) ==
		    PT_FEED_STOPPED)
			st->stopped = 1;
	}
	st->now++;
	proto_mysql_close(&ctx, st->now);
	return resumed;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_state st, cut;

	if (size < 1)
		return 0;
	int resumed = pass(data, size, 0, &cut);
	resumed |= pass(data, size, 1, &st);
	if (!resumed)
		fuzz_check_same(&cut, &st);
	st.stopped = 1; /* later feeds are ignored */
	if (proto_mysql_feed(&ctx, PT_DIR_IN, data, size, st.now) !=
	    PT_FEED_STOPPED)
		abort();
	proto_mysql_close(&ctx, st.now);
	return 0;
}
