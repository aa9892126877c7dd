/*
 * fuzz_sniff.c -- libFuzzer target for protocol sniffing (shim/sniff.c
 * and the proto_*_sniff functions) and the decoder dispatch behind it.
 *
 * Built by `make fuzz-build`.  Byte 0: bit 0 direction (PT_DIR_IN if
 * set), bit 1 role (server if set).  The rest: a connection's first bytes.
 * Every prefix of up to 64 bytes is sniffed from an exact-size copy (ASan
 * catches a read past len), then the whole input.  Checks:
 *   - verdicts and protocols are in range; YES names a decoder that is
 *     built in; a TLS ClientHello is never YES;
 *   - the proto_*_sniff functions answer 0 or 1;
 *   - on YES the decoder of that protocol takes the whole input through
 *     sniff_decoder_init/feed/close, as the preload path does.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_feed.h"
#include "sniff.h"

static union pt_decoder dec;

static void check_bool(int v)
{
	if (v != 0 && v != 1)
		FUZZ_FAIL("sniff function returned %d", v);
}

static enum sniff_verdict sniff_copy(enum pt_conn_role role, enum pt_dir dir,
				     const uint8_t *data, size_t n,
				     enum pt_proto *proto)
{
	uint8_t *buf = malloc(n ? n : 1);
	if (!buf)
		abort();
	memcpy(buf, data, n);
	*proto = PT_PROTO_UNKNOWN;
	enum sniff_verdict v = sniff_by_bytes(role, dir, buf, n, proto);
	int tls = sniff_is_tls(role, dir, buf, n);
	check_bool(tls);
	check_bool(proto_http_sniff(buf, n));
	check_bool(proto_mysql_sniff(buf, n));
	check_bool(proto_redis_sniff(buf, n));
	free(buf);
	if (v != SNIFF_NO && v != SNIFF_MORE && v != SNIFF_YES)
		FUZZ_FAIL("verdict %d", (int)v);
	if (v == SNIFF_YES && (tls || !sniff_supported(*proto)))
		FUZZ_FAIL("YES for proto %d (tls %d)", (int)*proto, tls);
	return v;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_state st = {.t0 = 1000, .now = 1000};
	struct pt_sink sink = {fuzz_on_op, fuzz_on_note, &st};
	struct pt_proto_options opt = {0};
	enum pt_proto proto;

	if (size < 1)
		return 0;
	enum pt_dir dir = (data[0] & 1) ? PT_DIR_IN : PT_DIR_OUT;
	enum pt_conn_role role =
	    (data[0] & 2) ? PT_ROLE_SERVER : PT_ROLE_CLIENT;
	data++, size--;
	for (size_t n = 0; n <= size && n <= 64; n++)
		sniff_copy(role, dir, data, n, &proto);
	if (sniff_copy(role, dir, data, size, &proto) != SNIFF_YES)
		return 0;
	st.kind_a = st.kind_b = (uint8_t)sniff_kind(proto, role);
	sniff_decoder_init(&dec, proto, role, &opt, &sink);
	st.now++;
	if (sniff_decoder_feed(&dec, proto, dir, data, size, st.now) ==
	    PT_FEED_STOPPED)
		st.stopped = 1;
	st.now++;
	sniff_decoder_close(&dec, proto, st.now);
	return 0;
}
