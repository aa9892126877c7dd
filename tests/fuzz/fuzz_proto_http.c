/*
 * fuzz_proto_http.c -- libFuzzer target for the HTTP/1.x decoder, server
 * and client side, with and without a route table.
 *
 * Built by `make fuzz-build`; run by `make fuzz` and, briefly, `make
 * test`.  Corpus tests/fuzz/corpus/http.
 *
 * Byte 0: options (bit 0 raw text, bit 1 client role, bit 2 route table,
 * bits 3..7 raw_max / 128).  The rest: feeds (fuzz_feed.h).  Checks the
 * sink invariants of fuzz_feed.h, the same operations whether the stream
 * is cut as given or joined, that close is idempotent and reports
 * nothing after a stop, and that feeds after close stop.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_feed.h"
#include "normalize.h"
#include "proto_http.h"

static struct proto_http ctx;
static struct pt_route_table *routes;

static const char route_text[] = "GET /fir/{id}\n/fir/{id}/content\n"
				 "/api/v1/health\n/report.{format}\n/\n";

static uint8_t joined[1 << 20];

/* One pass over the input: as cut (join == 0) or joined by direction. */
static void pass(const uint8_t *data, size_t size, int join,
		 struct fuzz_state *st)
{
	struct pt_sink sink = {fuzz_on_op, fuzz_on_note, st};
	struct pt_proto_options opt = {0};
	enum pt_conn_role role;
	size_t pos = 1;
	enum pt_dir dir;
	const uint8_t *chunk;
	size_t len;

	*st = (struct fuzz_state){.t0 = 1000, .now = 999};
	opt.raw = data[0] & 1;
	role = (data[0] & 2) ? PT_ROLE_CLIENT : PT_ROLE_SERVER;
	opt.routes = (data[0] & 4) ? routes : NULL;
	opt.raw_max = (uint32_t)(data[0] >> 3) * 128;
	st->kind_a = st->kind_b =
	    role == PT_ROLE_CLIENT ? PT_KIND_HTTP_OUT : PT_KIND_HTTP_IN;
	proto_http_init(&ctx, role, &opt, &sink);
	while (
	    join ? fuzz_next_run(data, size, &pos, st, &dir, joined,
				 sizeof(joined), &len) &&
		       (chunk = joined)
		 : fuzz_next_chunk(data, size, &pos, st, &dir, &chunk, &len)) {
		if (proto_http_feed(&ctx, dir, chunk, len, st->now) ==
		    PT_FEED_STOPPED)
			st->stopped = 1;
	}
	st->now++;
	proto_http_close(&ctx, st->now);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_state st, cut;

	if (size < 1)
		return 0;
	if (!routes)
		routes = pt_route_table_parse(route_text, strlen(route_text),
					      NULL, 0);
	pass(data, size, 0, &cut);
	pass(data, size, 1, &st);
	fuzz_check_same(&cut, &st);
	st.stopped = 1;
	proto_http_close(&ctx, st.now);
	if (proto_http_feed(&ctx, PT_DIR_IN, data, size, st.now) !=
	    PT_FEED_STOPPED)
		abort();
	return 0;
}
