/*
 * fuzz_sql_diff.c -- differential libFuzzer target: pt_sql_fingerprint
 * against the implementation it replaced (ref_normalize_sql.c, kept
 * verbatim), byte for byte, at every output capacity the input picks.
 *
 * Not built by make.  With clang, from the repository root:
 *   clang -std=c11 -D_GNU_SOURCE -g -O1 \
 *     -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
 *     -Ishim -c tests/fuzz/ref_normalize_sql.c \
 *     -Dpt_sql_fingerprint=ref_sql_fingerprint -o build/ref_sql.o
 *   clang -std=c11 -D_GNU_SOURCE -g -O1 \
 *     -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
 *     -Ishim tests/fuzz/fuzz_sql_diff.c shim/normalize_sql.c build/ref_sql.o \
 *     -o build/fuzz_sql_diff
 *   build/fuzz_sql_diff -max_len=4096 -max_total_time=180 \
 *     -dict=tests/fuzz/sql.dict
 * (a seed corpus: the inputs of tests/data/normalize/sql.txt).
 *
 * Byte 0 picks the output capacity (1..255, or 2048 for 0): small
 * capacities cut the output mid-token, where a rewrite is most likely to
 * differ.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "normalize.h"

size_t ref_sql_fingerprint(const char *sql, size_t len, char *out,
			   size_t outcap);

#define DIFF_OUTCAP 2048

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char a[DIFF_OUTCAP + 1], b[DIFF_OUTCAP + 1];
	size_t cap, na, nb;

	if (size < 1)
		return 0;
	cap = data[0] ? data[0] : DIFF_OUTCAP;
	/* both buffers start equal, so bytes written past the result (the
	 * new code's 16-byte copies) do not count, only the result */
	na = pt_sql_fingerprint((const char *)data + 1, size - 1, a, cap);
	nb = ref_sql_fingerprint((const char *)data + 1, size - 1, b, cap);
	if (na != nb || memcmp(a, b, na + 1) != 0) {
		fprintf(stderr, "cap %zu\n new %zu: %s\n ref %zu: %s\n", cap,
			na, a, nb, b);
		abort();
	}
	return 0;
}
