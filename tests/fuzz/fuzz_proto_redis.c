/*
 * fuzz_proto_redis.c -- libFuzzer target for the Redis (RESP2/RESP3)
 * decoder.
 *
 * Built by `make fuzz-build`; run by `make fuzz` (scripts/fuzz.sh, which
 * passes -max_len) and, briefly, by `make test`.  Corpus:
 * tests/fuzz/corpus/redis.
 *
 * Byte 0: options (bit 0 raw text, bits 1..7 raw_max / 32).  The rest:
 * feeds (fuzz_feed.h).  Checks the sink invariants of fuzz_feed.h, the
 * same operations whether the stream is cut as given or joined, that
 * close after a stop reports nothing, and that feeds after close stop.
 */
#include <stdint.h>
#include <stdlib.h>

#include "fuzz_feed.h"
#include "proto_redis.h"

static struct proto_redis ctx;
static uint8_t joined[1 << 20];

/* One pass over the input: as cut (joined == 0) or joined by direction. */
static void pass(const uint8_t *data, size_t size, int join,
		 struct fuzz_state *st)
{
	struct pt_sink sink = {fuzz_on_op, fuzz_on_note, st};
	struct pt_proto_options opt = {0};
	size_t pos = 1;
	enum pt_dir dir;
	const uint8_t *chunk;
	size_t len;

	*st = (struct fuzz_state){.t0 = 1000,
				  .now = 999,
				  .kind_a = PT_KIND_REDIS,
				  .kind_b = PT_KIND_REDIS};
	opt.raw = data[0] & 1;
	opt.raw_max = (uint32_t)(data[0] >> 1) * 32;
	proto_redis_init(&ctx, &opt, &sink);
	while (
	    join ? fuzz_next_run(data, size, &pos, st, &dir, joined,
				 sizeof(joined), &len) &&
		       (chunk = joined)
		 : fuzz_next_chunk(data, size, &pos, st, &dir, &chunk, &len)) {
		if (proto_redis_feed(&ctx, dir, chunk, len, st->now) ==
		    PT_FEED_STOPPED)
			st->stopped = 1;
	}
	st->now++;
	proto_redis_close(&ctx, st->now);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_state st, cut;

	if (size < 1)
		return 0;
	pass(data, size, 0, &cut);
	pass(data, size, 1, &st);
	fuzz_check_same(&cut, &st);
	st.stopped = 1; /* closed: nothing more, a second close included */
	proto_redis_close(&ctx, st.now);
	if (proto_redis_feed(&ctx, PT_DIR_IN, data, size, st.now) !=
	    PT_FEED_STOPPED)
		abort();
	proto_redis_close(&ctx, st.now);
	return 0;
}
