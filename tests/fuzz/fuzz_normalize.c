/*
 * fuzz_normalize.c -- libFuzzer target for the three normalizers and the
 * route-table parser.
 *
 * Not built by make.  With clang:
 *   clang -std=c11 -D_GNU_SOURCE -g -O1 \
 *     -fsanitize=fuzzer,address,undefined -Ishim -I/usr/include/cjson \
 *     tests/fuzz/fuzz_normalize.c shim/normalize*.c -lcjson \
 *     -o build/fuzz_normalize
 *   build/fuzz_normalize -max_len=4096 -max_total_time=60
 *
 * Checks, beyond "no crash, no read past size" (ASan): every output is
 * NUL-terminated within its capacity, its returned length is its string
 * length, and a string literal planted after the input never comes out of
 * the fingerprint whole.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "normalize.h"

#define FUZZ_OUTCAP 512

static void check(size_t r, const char *out, size_t cap)
{
	if (r > cap - 1 || out[r] != '\0' || strlen(out) != r)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char out[FUZZ_OUTCAP];
	const char *in = (const char *)data;
	/* the first byte picks a small output capacity now and then */
	size_t cap =
	    size > 0 && data[0] < 16 ? (size_t)data[0] + 1 : sizeof(out);

	check(pt_sql_fingerprint(in, size, out, cap), out, cap);
	check(pt_redis_key_pattern(in, size, out, cap), out, cap);
	check(pt_http_route(in, size, NULL, out, cap), out, cap);

	struct pt_route_table *t = pt_route_table_parse(in, size, NULL, 0);
	if (t) {
		static const char *const paths[] = {"/", "/fir/x", "/a/b/c",
						    "/fir/1/content?x"};
		for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++)
			check(pt_http_route(paths[i], strlen(paths[i]), t, out,
					    cap),
			      out, cap);
		check(pt_http_route(in, size, t, out, cap), out, cap);
		pt_route_table_free(t);
	}

	/* A canary literal after text free of quotes, comments, escapes and
	 * of the letter z (so that the text cannot spell the canary itself)
	 * must become `?`. */
	if (size < 1024) {
		char buf[1100];
		size_t n = 0;
		static const char lit[] = " 'zqcanary' ";
		for (size_t i = 0; i < size; i++)
			buf[n++] =
			    strchr("'\"`#-/\\%:zZ", in[i]) || in[i] == '\0'
				? ' '
				: in[i];
		memcpy(buf + n, lit, sizeof(lit) - 1);
		n += sizeof(lit) - 1;
		pt_sql_fingerprint(buf, n, out, sizeof(out));
		if (strstr(out, "zqcanary"))
			abort();
	}
	return 0;
}
