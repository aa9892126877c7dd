/*
 * sniff.h -- which protocol a connection speaks, and the one place that
 * dispatches to the chosen decoder (so hooks and preload never switch on
 * the protocol themselves).
 *
 * Choice, in order:
 *   1. client connections (connect): the peer port, from the configured
 *      lists (MySQL 3306, Redis 6379 by default, HTTP none);
 *   2. otherwise the first bytes: a MySQL greeting arriving IN before the
 *      client sent anything; a RESP request or an HTTP request going OUT;
 *   3. accepted connections are HTTP servers when their first IN bytes are
 *      an HTTP request; anything else is left alone.
 */
#ifndef PERFTAP_SNIFF_H
#define PERFTAP_SNIFF_H

#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "fdtab.h"
#include "proto.h"

/* Protocol for a client connection to this peer port, or
 * PT_PROTO_UNKNOWN (decide by bytes). */
enum pt_proto sniff_by_port(const struct pt_config *cfg, uint16_t port);

/* Verdict on the first bytes a connection carried. */
enum sniff_verdict {
	SNIFF_NO = 0, /* not a protocol we decode: leave the connection */
	SNIFF_MORE,   /* too few bytes to tell: keep them and wait */
	SNIFF_YES,    /* *proto says which */
};

/* role: who we are; dir: where the bytes went.  Never reads past len. */
enum sniff_verdict sniff_by_bytes(enum pt_conn_role role, enum pt_dir dir,
				  const uint8_t *buf, size_t len,
				  enum pt_proto *proto);

/* 1 if these first bytes open a TLS handshake (a ClientHello record:
 * 0x16, version 3.0 to 3.4) from the side that speaks first (client OUT,
 * server IN).  sniff_by_bytes says SNIFF_NO for them (no decoder reads
 * ciphertext); this tells the caller why, for the counters. */
int sniff_is_tls(enum pt_conn_role role, enum pt_dir dir, const uint8_t *buf,
		 size_t len);

/* 1 if a decoder for proto is built in. */
int sniff_supported(enum pt_proto proto);

/* Decoder dispatch over the union in struct pt_conn. */
void sniff_decoder_init(union pt_decoder *d, enum pt_proto proto,
			enum pt_conn_role role,
			const struct pt_proto_options *opt,
			const struct pt_sink *sink);
enum pt_feed_status sniff_decoder_feed(union pt_decoder *d, enum pt_proto proto,
				       enum pt_dir dir, const uint8_t *buf,
				       size_t len, uint64_t now_ns);
void sniff_decoder_close(union pt_decoder *d, enum pt_proto proto,
			 uint64_t now_ns);
/* 1 if the decoder is between operations (MySQL and Redis; HTTP: 0), so a
 * forked child can go on decoding its copy from a clean frame boundary. */
int sniff_decoder_idle(const union pt_decoder *d, enum pt_proto proto);

/* 1 if the decoder stopped at a TLS upgrade and may resume on the
 * plaintext (MySQL's SSLRequest): the socket bytes that follow are
 * ciphertext.  Inline: preload.c asks on every decided feed. */
static inline int sniff_decoder_tls_wait(const union pt_decoder *d,
					 enum pt_proto proto)
{
#ifdef PT_HAVE_MYSQL
	return proto == PT_PROTO_MYSQL && d->mysql.tls_wait;
#else
	(void)d, (void)proto;
	return 0;
#endif
}

/* Event kind a connection's decoder emits (for counts in tests). */
enum pt_event_kind sniff_kind(enum pt_proto proto, enum pt_conn_role role);

#endif /* PERFTAP_SNIFF_H */
