/*
 * proto.h -- what every protocol decoder shares: the direction of bytes,
 * the operation it reports, and the sink it reports to.
 *
 * Decoders are pure (STYLE.md, hiredis read.c): bytes in, operations out
 * through a callback.  They never touch a file descriptor, never allocate,
 * never read a clock (the caller passes now_ns with every feed), and keep
 * all their state in a fixed-size context the caller owns.
 *
 * Timing convention (DESIGN.md): the caller passes, with each feed,
 *   client connection, PT_DIR_OUT: the time just before the send call;
 *   client connection, PT_DIR_IN : the time just after the recv returned;
 *   server connection, both      : the time just after the call returned.
 * A client operation then runs from the feed holding its request's first
 * byte to the feed holding its reply's last byte; a server request from the
 * feed holding its first byte to the feed holding its response's last byte.
 */
#ifndef PERFTAP_PROTO_H
#define PERFTAP_PROTO_H

#include <stddef.h>
#include <stdint.h>

#include "perftap/dump_format.h"

enum pt_dir {
	PT_DIR_OUT = 0, /* bytes this process sent */
	PT_DIR_IN = 1,	/* bytes this process received */
};

/* One finished operation, valid only during the callback. */
struct pt_op {
	uint8_t kind;	 /* enum pt_event_kind */
	uint8_t outcome; /* enum pt_outcome */
	int32_t status;
	uint64_t start_ns, end_ns;
	uint64_t rows; /* rows returned/affected, or keys */
	uint64_t bytes_out, bytes_in;
	uint32_t cache_hits, cache_misses;
	uint32_t flags;		/* PT_EV_* */
	uint16_t server_status; /* MySQL: OK/EOF status flags (PT_MYSQL_*) */
	uint16_t warnings;	/* MySQL: warnings the server raised */
	const char *text; /* normalized text (dump_format.h); may be NULL */
	size_t text_len;
};

/* Facts about a connection that are not operations. */
enum pt_note {
	PT_NOTE_SERVER_INFO =
	    1,		    /* text = server version, value = server conn id */
	PT_NOTE_TLS,	    /* connection upgraded to TLS: decoding stops */
	PT_NOTE_COMPRESSED, /* MySQL compression: decoding stops */
	PT_NOTE_UPGRADED,   /* HTTP Upgrade or HTTP/2: decoding stops */
	PT_NOTE_DESYNC,	    /* frame boundary lost: decoding stops */
	PT_NOTE_QUEUE_FULL, /* a request could not be queued: value = count */
	PT_NOTE_AUTH,	    /* MySQL: authenticated; value = ns from the
			       greeting to the OK that ended the handshake */
};

struct pt_sink {
	void (*op)(void *arg, const struct pt_op *op);
	void (*note)(void *arg, enum pt_note note, const char *text,
		     size_t text_len, uint64_t value); /* may be NULL */
	void *arg;
};

/* Memory for a queue that outgrew its fixed part (a deep pipeline).  The
 * connection layer supplies it (shim/spill.c: mmap, taken rarely since a
 * decoder grows its queue fourfold each time); the decoder itself never
 * allocates.  get returns bytes of fresh memory or NULL (the decoder then
 * behaves as without a spill); put gives back exactly what get returned.
 * Private anonymous memory: a forked child owns its own copy. */
struct pt_spill {
	void *(*get)(size_t bytes);
	void (*put)(void *p, size_t bytes);
};

/* Grow a FIFO ring of esize-byte entries (count of them from *head, index
 * wrapping by *mask) into spill memory of cap * 4 entries, at most max:
 * entries are copied in order to the start, the old memory is given back
 * unless it is fixed (the decoder's own array).  Returns 0, or -1 with
 * nothing changed (no spill, at max, or get failed). */
int pt_spill_ring_grow(const struct pt_spill *s, void **ring, uint32_t *mask,
		       uint32_t *head, uint32_t count, size_t esize,
		       const void *fixed, uint32_t max);

/* Give back a ring's spill memory (if any) and point it at fixed again. */
void pt_spill_ring_free(const struct pt_spill *s, void **ring, uint32_t *mask,
			size_t esize, void *fixed, uint32_t fixed_cap);

/* Options every decoder honours. */
struct pt_proto_options {
	int raw;	  /* PERFTAP_RAW=1: keep raw text, cut at raw_max */
	uint32_t raw_max; /* bytes of raw text kept (<= PT_TEXT_MAX) */
	const struct pt_route_table
	    *routes; /* HTTP route templates; may be NULL */
	/* Memory for deep pipelines; NULL: fixed queues only (as deep as
	 * each decoder's header says). */
	const struct pt_spill *spill;
};

/* What a decoder's feed says about the stream. */
enum pt_feed_status {
	PT_FEED_OK = 0,	 /* keep feeding */
	PT_FEED_STOPPED, /* decoder gave up (desync, TLS, compressed,
			    upgraded, MySQL queue full); a note said why;
			    feed no more */
};

#endif /* PERFTAP_PROTO_H */
