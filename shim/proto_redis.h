/*
 * proto_redis.h -- Redis RESP2/RESP3 client-side decoder: request bytes
 * (PT_DIR_OUT) and reply bytes (PT_DIR_IN) in, one struct pt_op per command
 * out through a struct pt_sink.
 *
 * The context is fixed-size (no heap, no globals); the caller owns it and
 * keeps one per connection.  sizeof(struct proto_redis) is about 42 KiB
 * (a 1024-deep request ring of 24-byte entries, moved into spill memory
 * when a pipeline goes deeper, a 64-slot table of 256-byte
 * interned texts, a 32-deep reply nesting stack, a few small buffers).
 * Everything inside is private to proto_redis*.c; the fields are here only
 * so that callers can size and embed the context.
 *
 * Semantics (details in proto_redis.c's header comment):
 *   - text is "COMMAND key-pattern" (dump_format.h); two-word commands are
 *     "CLIENT SETNAME"; AUTH/HELLO arguments never reach any text;
 *   - MULTI and the commands queued after it produce no event of their
 *     own; EXEC produces one "EXEC (CMD pattern; ...)" event with
 *     PT_EV_TRANSACTION, rows = commands queued, timed from MULTI's first
 *     byte to the end of EXEC's reply, cache hits/misses summed over the
 *     queued reads' replies, and PT_OUT_ERROR when a queued command failed;
 *   - SELECT n keeps n in the context (proto_redis_db()); the text has no db;
 *   - pub/sub: one event per (P|S)(UN)SUBSCRIBE command, ended by its last
 *     confirmation; published messages and RESP3 pushes are counted
 *     (proto_redis_pushes()), never paired with a request;
 *   - MONITOR: one event; the streamed lines are counted as pushes.
 */
#ifndef PERFTAP_PROTO_REDIS_H
#define PERFTAP_PROTO_REDIS_H

#include <stddef.h>
#include <stdint.h>

#include "proto.h"

/* Outstanding (pipelined) requests held in the context itself.  Deeper
 * pipelines move the FIFO into spill memory (proto.h struct pt_spill,
 * growing fourfold) up to PROTO_REDIS_RING_MAX; beyond that, or without a
 * spill, a request is counted, its reply consumed without an event, and
 * PT_NOTE_QUEUE_FULL raised. */
#define PROTO_REDIS_RING     1024
#define PROTO_REDIS_RING_MAX (1u << 22) /* 4 M requests, 96 MiB */
/* Distinct texts alive at once per connection (shared by ring entries). */
#define PROTO_REDIS_TEXTS 64
/* Longest event text kept, NUL included (EXEC lists are cut here). */
#define PROTO_REDIS_TEXT_CAP 256
/* Reply nesting depth (arrays of maps of ...); deeper is a desync.  Redis
 * itself rarely nests beyond 4 (EXEC of XREAD); 32 leaves ample room. */
#define PROTO_REDIS_DEPTH 32
/* Bytes of one protocol line kept (type byte excluded): enough for any
 * length or integer, for an error's first word, and for "QUEUED". */
#define PROTO_REDIS_LINE 64
/* Queued commands remembered for EXEC's cache counts (their kinds, in a
 * FIFO shared by the transactions outstanding); past it a queued command's
 * reply is not counted and the EXEC event has PT_EV_SATURATED. */
#define PROTO_REDIS_TX_KINDS 64
/* Bytes kept of the command name, a sub-command and a key. */
#define PROTO_REDIS_WORD 32
#define PROTO_REDIS_KEY	 192

struct proto_redis_entry {
	uint64_t start_ns;
	uint32_t bytes_out;
	uint32_t rows;	 /* keys touched; EXEC: commands queued */
	uint16_t flags;	 /* PT_EV_* low bits + private marks */
	uint16_t expect; /* replies still expected (pub/sub confirmations) */
	uint8_t cmd;	 /* command id (private table) */
	uint8_t text;	 /* slot in texts[], or 0xff: none */
	uint8_t arg;	 /* HELLO: protocol asked for; EXEC: kinds kept */
	uint8_t pad0;
};

/* A queued command, as EXEC's reply element will be counted. */
struct proto_redis_kind {
	uint8_t cmd; /* command id */
	uint8_t pad0;
	uint16_t rows; /* keys (EXISTS: the misses are rows - hits) */
};

struct proto_redis_frame {
	int64_t left; /* elements still to read in this aggregate */
	uint8_t attr; /* 1: an attribute map, not part of the reply */
	uint8_t pad0[7];
};

struct proto_redis {
	const struct pt_sink *sink;
	int raw; /* options->raw: keep the raw key, cut at raw_max */
	uint32_t raw_max;
	int stopped; /* sticky: desync seen, feed nothing more */

	/* --- request side (PT_DIR_OUT) --- */
	int rq_state;
	int rq_cmd_id;	 /* 0 = unknown command */
	int64_t rq_argc; /* multibulk: arguments announced */
	int64_t rq_argi; /* index of the argument being read */
	int64_t rq_left; /* bytes left in the current bulk argument */
	int64_t rq_num;	 /* EVAL numkeys, SELECT db, HELLO protover */
	uint64_t rq_start_ns;
	uint64_t rq_bytes;
	uint32_t rq_line_len;
	uint32_t rq_flags; /* PT_EV_* gathered while parsing */
	int rq_in_word;	   /* inline: inside a word */
	int rq_cap_key;	   /* this argument is the key: keep its bytes */
	int rq_key_next;   /* XREAD: the argument after STREAMS is the key */
	int rq_have_key;
	int rq_key_cut;
	char rq_line[PROTO_REDIS_LINE];
	char rq_cmd[PROTO_REDIS_WORD];
	uint32_t rq_cmd_len;
	char rq_sub[PROTO_REDIS_WORD];
	uint32_t rq_sub_len;
	char
	    rq_arg[PROTO_REDIS_WORD]; /* current argument's head, upper-cased */
	uint32_t rq_arg_len;
	char rq_key[PROTO_REDIS_KEY];
	uint32_t rq_key_len;

	/* MULTI ... EXEC being sent */
	int tx_open;
	uint64_t tx_start_ns;
	uint64_t tx_bytes;
	uint32_t tx_count;
	uint32_t tx_flags;
	uint32_t tx_len;
	int tx_cut;
	char tx_text[PROTO_REDIS_TEXT_CAP];
	uint32_t tx_kept; /* kinds[] entries of the open transaction */
	/* FIFO of queued commands' kinds, oldest transaction first */
	uint32_t kind_head, kind_count;
	struct proto_redis_kind kinds[PROTO_REDIS_TX_KINDS];

	/* --- the FIFO of outstanding requests --- */
	uint32_t head, count;
	uint64_t untracked; /* requests past the ring: replies eaten silently */
	struct proto_redis_entry *q;  /* ring[], or spill memory once deeper */
	uint32_t q_mask;	      /* entries in q - 1 (a power of two) */
	const struct pt_spill *spill; /* NULL: ring[] only */
	/* init leaves ring[] and texts[] as found (only used parts are read) */
	struct proto_redis_entry ring[PROTO_REDIS_RING];

	/* interned texts, shared by ring entries (refcounted) */
	char texts[PROTO_REDIS_TEXTS][PROTO_REDIS_TEXT_CAP];
	uint16_t text_len[PROTO_REDIS_TEXTS];
	uint32_t text_refs[PROTO_REDIS_TEXTS]; /* up to RING_MAX each */
	uint32_t text_clock;
	uint32_t text_last; /* slot interned last; PROTO_REDIS_TEXTS: none */

	/* --- reply side (PT_DIR_IN) --- */
	int rp_state;
	uint8_t rp_type; /* type byte of the value being read */
	uint8_t rp_top;	 /* type byte of the top-level reply */
	int rp_depth;
	int64_t rp_left; /* bulk bytes left */
	uint64_t rp_bytes;
	uint32_t rp_line_len;
	int rp_nil_top;		     /* top-level reply is a null */
	uint32_t rp_hits, rp_misses; /* depth-1 elements: non-nil / nil */
	uint32_t rp_elem1;	     /* depth-1 elements completed */
	int32_t rp_err;		     /* enum pt_redis_error, top-level error */
	int64_t rp_int_top;	     /* top-level integer reply */
	int64_t rp_int3;	     /* third depth-1 element, if an integer */
	/* EXEC's array, counted per element by its queued command's kind */
	int rp_tx;			   /* counting this reply's elements */
	uint32_t rp_tx_hits, rp_tx_misses; /* summed over the elements */
	int32_t rp_tx_err;		   /* first element error's prefix */
	uint8_t rp_el_type;		   /* type byte of the element */
	uint32_t rp_el_hits, rp_el_misses; /* its depth-2 values */
	int64_t rp_el_int;		   /* its value, if an integer */
	int rp_have_int3;
	char rp_word[PROTO_REDIS_WORD]; /* first depth-1 string, lower-cased */
	uint32_t rp_word_len;
	char rp_line[PROTO_REDIS_LINE];
	struct proto_redis_frame stack[PROTO_REDIS_DEPTH];

	/* --- connection facts --- */
	int resp3;	    /* HELLO 3 succeeded */
	int monitor;	    /* MONITOR succeeded: lines streamed are pushes */
	int64_t db;	    /* SELECT n succeeded (0 at start) */
	int64_t subs[3];    /* channels, patterns, shard channels subscribed */
	uint64_t pushes;    /* messages / pushes not paired with a request */
	uint64_t undecoded; /* bytes not decoded after a desync */
};

void proto_redis_init(struct proto_redis *r, const struct pt_proto_options *opt,
		      const struct pt_sink *sink);

/* Feed bytes seen in one direction at now_ns (proto.h timing convention).
 * Returns PT_FEED_STOPPED once after a desync (PT_NOTE_DESYNC raised) and on
 * every later call. */
enum pt_feed_status proto_redis_feed(struct proto_redis *r, enum pt_dir dir,
				     const uint8_t *buf, size_t len,
				     uint64_t now_ns);

/* The connection closed: every outstanding request becomes an event with
 * outcome PT_OUT_ABORTED ending at now_ns. */
void proto_redis_close(struct proto_redis *r, uint64_t now_ns);

/* 1 if these first client bytes look like a RESP request: a multibulk
 * prefix "*N\r\n$" (or a consistent prefix of one), or an inline command
 * word the decoder knows (PING, HELLO, AUTH, SELECT, GET ...) followed by a
 * space or line end.  0 otherwise. */
int proto_redis_sniff(const uint8_t *buf, size_t len);

/* 1 if r is between operations: nothing outstanding, no request or reply
 * half read, no transaction open, decoding not stopped (a forked child
 * may then go on decoding its copy). */
int proto_redis_idle(const struct proto_redis *r);

/* Connection facts, for notes and tests. */
int64_t proto_redis_db(const struct proto_redis *r);
uint64_t proto_redis_pushes(const struct proto_redis *r);

#endif /* PERFTAP_PROTO_REDIS_H */
