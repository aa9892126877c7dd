/*
 * fuzz_normalize.c -- libFuzzer target for the three normalizers and the
 * route-table parser.
 *
 * Built by `make fuzz-build` (with -fno-sanitize-recover=undefined, like
 * every target); run by `make fuzz` and, briefly, `make test`.
 *
 * Checks, beyond "no crash, no read past size" (ASan): every output is
 * NUL-terminated within its capacity, its returned length is its string
 * length, and a string literal planted after the input never comes out of
 * the fingerprint whole.  Route tables are parsed from the input after its
 * first byte (so a seed can start with '{' there: an OpenAPI document) and
 * from the input wrapped as the one path of an OpenAPI document; a table
 * refused always says why in err, NUL-terminated, and a table accepted
 * counts at least one template.
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

static struct pt_route_table *parse_checked(const char *text, size_t len)
{
	char err[256];
	memset(err, 'x', sizeof(err));
	struct pt_route_table *t =
	    pt_route_table_parse(text, len, err, sizeof(err));
	if (!memchr(err, '\0', sizeof(err)))
		abort(); /* err not terminated */
	if (!t && err[0] == '\0')
		abort(); /* refused without a reason */
	(void)pt_route_table_count(t);
	/* a tiny err buffer must stay terminated too */
	char small[4] = "xxx";
	struct pt_route_table *u = pt_route_table_parse(text, len, small, 1);
	if (small[0] != '\0' || (u == NULL) != (t == NULL))
		abort();
	pt_route_table_free(u);
	return t;
}

static void route_tables(const char *in, size_t size, char *out, size_t cap)
{
	static char doc[8192];
	struct pt_route_table *t;
	if (size < 1)
		return;
	t = parse_checked(in + 1, size - 1);
	if (t) {
		check(pt_http_route("/fir/12/content", 15, t, out, cap), out,
		      cap);
		pt_route_table_free(t);
	}
	/* the input as a path template inside an OpenAPI document */
	static const char head[] = "{\"openapi\":\"3.0.0\",\"paths\":{\"";
	static const char tail[] = "\":{\"get\":{}}}}";
	if (size - 1 + sizeof(head) + sizeof(tail) > sizeof(doc))
		return;
	size_t n = 0;
	memcpy(doc, head, sizeof(head) - 1);
	n += sizeof(head) - 1;
	memcpy(doc + n, in + 1, size - 1);
	n += size - 1;
	memcpy(doc + n, tail, sizeof(tail) - 1);
	n += sizeof(tail) - 1;
	t = parse_checked(doc, n);
	if (t) {
		check(pt_http_route(in + 1, size - 1, t, out, cap), out, cap);
		pt_route_table_free(t);
	}
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

	route_tables(in, size, out, cap);

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
