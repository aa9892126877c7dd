/*
 * record_corpus.c -- record the expected outputs of the normalizer corpus.
 *
 * Reads escaped inputs (gen_corpus.py), one a line, on stdin and writes
 * "input<TAB>output" lines (both escaped: `\\`, `\xHH` for bytes outside
 * printable ASCII) for tests/unit/test_normalize_corpus.c.  Run it against
 * the implementation the corpus is to pin down:
 *
 *   cc -std=c11 -D_GNU_SOURCE -O1 -I../../../shim -I/usr/include/cjson \
 *     record_corpus.c ../../../shim/normalize*.c -lcjson -o /tmp/record
 *   python3 gen_corpus.py sql | /tmp/record sql > sql.txt
 *   (likewise keys > keys.txt, routes > routes.txt)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "normalize.h"

#define LINE_MAX_ 65536
#define OUT_CAP 2048

static size_t unescape(const char *s, char *out)
{
	size_t n = 0;
	while (*s) {
		if (s[0] == '\\' && s[1] == '\\') {
			out[n++] = '\\';
			s += 2;
		} else if (s[0] == '\\' && s[1] == 'x') {
			char h[3] = {s[2], s[3], 0};
			out[n++] = (char)strtoul(h, NULL, 16);
			s += 4;
		} else {
			out[n++] = *s++;
		}
	}
	return n;
}

static void escape(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c == '\\')
			fputs("\\\\", stdout);
		else if (c >= 0x20 && c < 0x7f)
			putchar(c);
		else
			printf("\\x%02x", c);
	}
}

int main(int argc, char **argv)
{
	static char line[LINE_MAX_], in[LINE_MAX_], out[OUT_CAP];
	const char *what = argc > 1 ? argv[1] : "sql";

	while (fgets(line, sizeof(line), stdin)) {
		size_t l = strcspn(line, "\n");
		size_t n, r;
		line[l] = '\0';
		n = unescape(line, in);
		if (strcmp(what, "keys") == 0)
			r = pt_redis_key_pattern(in, n, out, sizeof(out));
		else if (strcmp(what, "routes") == 0)
			r = pt_http_route(in, n, NULL, out, sizeof(out));
		else
			r = pt_sql_fingerprint(in, n, out, sizeof(out));
		escape(in, n);
		putchar('\t');
		escape(out, r);
		putchar('\n');
	}
	return 0;
}
