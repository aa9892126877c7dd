/*
 * fuzz_proto_redis.c -- libFuzzer target for the Redis (RESP2/RESP3)
 * decoder.
 *
 * Not built by make.  With clang, from the repository root:
 *   clang -std=c11 -D_GNU_SOURCE -g -O1 \
 *     -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
 *     -Iinclude -Ishim -I/usr/include/cjson tests/fuzz/fuzz_proto_redis.c \
 *     shim/proto_redis.c shim/normalize*.c -lcjson \
 *     -o build/fuzz_proto_redis
 *   build/fuzz_proto_redis -max_len=65536 -max_total_time=180 \
 *     tests/fuzz/corpus/redis
 *
 * Byte 0: options (bit 0 raw text, bits 1..7 raw_max / 32).  The rest:
 * feeds (fuzz_feed.h).  Checks the sink invariants of fuzz_feed.h, that
 * close after a stop reports nothing, and that feeds after close stop.
 */
#include <stdint.h>
#include <stdlib.h>

#include "fuzz_feed.h"
#include "proto_redis.h"

static struct proto_redis ctx;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_state st = {.t0 = 1000,
				.now = 999,
				.kind_a = PT_KIND_REDIS,
				.kind_b = PT_KIND_REDIS};
	struct pt_sink sink = {fuzz_on_op, fuzz_on_note, &st};
	struct pt_proto_options opt = {0};
	size_t pos = 1;
	enum pt_dir dir;
	const uint8_t *chunk;
	size_t len;

	if (size < 1)
		return 0;
	opt.raw = data[0] & 1;
	opt.raw_max = (uint32_t)(data[0] >> 1) * 32;
	proto_redis_init(&ctx, &opt, &sink);
	while (fuzz_next_chunk(data, size, &pos, &st, &dir, &chunk, &len)) {
		if (proto_redis_feed(&ctx, dir, chunk, len, st.now) ==
		    PT_FEED_STOPPED)
			st.stopped = 1;
	}
	st.now++;
	proto_redis_close(&ctx, st.now);
	st.stopped = 1;
	if (proto_redis_feed(&ctx, PT_DIR_IN, data, size, st.now) !=
	    PT_FEED_STOPPED)
		abort();
	proto_redis_close(&ctx, st.now);
	return 0;
}
