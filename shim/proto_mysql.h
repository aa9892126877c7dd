/*
 * proto_mysql.h -- MySQL/MariaDB client-protocol decoder: the client side of
 * one connection, bytes in, one timed struct pt_op per command out.
 *
 * PT_DIR_OUT = client->server bytes, PT_DIR_IN = server->client bytes.
 *
 * The context is fixed size (sizeof(struct proto_mysql) < 48 KiB, checked
 * at compile time); its queue points into itself until a deep pipeline
 * moves it into spill memory (options->spill), which proto_mysql_close()
 * gives back.  proto_mysql_init() must run before the first feed.  The fields
 * are private to proto_mysql*.c; they are spelled out here only so that callers
 * can embed the context.
 *
 * Events (see proto_mysql.c for the details):
 *   - one event per command with a response, from the feed holding the
 *     command's first byte to the feed holding the response's last byte;
 *   - a multi-statement / CALL with several result sets (SERVER_MORE_
 *     RESULTS_EXISTS) is ONE event; rows = rows of every result set plus
 *     the affected rows of every OK packet;
 *   - COM_QUIT, COM_STMT_CLOSE, COM_STMT_SEND_LONG_DATA produce no event;
 *   - COM_STMT_EXECUTE carries the prepared statement's text and
 *     PT_EV_PREPARED ("EXECUTE ?" when the statement is unknown).
 * Notes: PT_NOTE_SERVER_INFO (text = server version, value = connection
 * id), PT_NOTE_TLS, PT_NOTE_COMPRESSED, PT_NOTE_DESYNC (text = why),
 * PT_NOTE_QUEUE_FULL (value = commands outstanding); each of the last four
 * ends decoding (PT_FEED_STOPPED): past the queue limit (the fixed queue
 * without a spill, or QUEUE_SPILL_MAX) responses could no longer be
 * paired, so the decoder stops rather than guess.  After
 * PT_NOTE_TLS the caller may feed the TLS plaintext instead, after
 * proto_mysql_resume_tls().  A server that refuses the connection (ERR
 * instead of a greeting, failed login) is ignored quietly: no note.
 */
#ifndef PERFTAP_PROTO_MYSQL_H
#define PERFTAP_PROTO_MYSQL_H

#include <stddef.h>
#include <stdint.h>

#include "proto.h"
#include "text_ring.h"

/* Bytes of a statement's SQL kept for fingerprinting; longer statements
 * are fingerprinted on this prefix and flagged PT_EV_TRUNCATED. */
#define PROTO_MYSQL_SQL_MAX 4096u
/* Commands sent and not yet answered, held in the context.  MySQL clients
 * rarely pipeline; async connectors and MariaDB's execute_direct send two,
 * a bulk loader thousands: past this the queue moves into spill memory
 * (proto.h struct pt_spill, growing fourfold) up to QUEUE_SPILL_MAX, and
 * so does the text arena, up to ARENA_SPILL_MAX. */
#define PROTO_MYSQL_QUEUE_MAX	    8u
#define PROTO_MYSQL_QUEUE_SPILL_MAX (1u << 22) /* 4 M commands, 128 MiB */
/* Text of queued commands (normalized), shared ring.  Large enough for one
 * maximal text (PT_TEXT_MAX + NUL) plus smaller pipelined companions. */
#define PROTO_MYSQL_ARENA_SIZE	    8192u
#define PROTO_MYSQL_ARENA_SPILL_MAX (1u << 28) /* 256 MiB */
/* Prepared statements remembered per connection, and the bytes of text
 * kept for each (NUL included): 64 x 512 = 32 KiB, the bulk of the
 * context.  Least recently used is evicted. */
#define PROTO_MYSQL_STMT_MAX  64u
#define PROTO_MYSQL_STMT_TEXT 512u
/* First bytes of each packet payload kept for parsing.  The longest we
 * parse is the server greeting (version string + fixed fields). */
#define PROTO_MYSQL_HEAD_MAX 256u

/* One direction's packet framer (private). */
struct proto_mysql_framer {
	uint8_t hdr[4];	    /* packet header being gathered */
	uint8_t hdr_have;   /* bytes of hdr gathered */
	uint8_t in_payload; /* 1 while payload bytes of a packet are due */
	uint8_t cont;	    /* 1 if the current packet is 0xFFFFFF long */
	uint8_t seq;	    /* sequence id of the current packet */
	uint8_t started;    /* 1 once a logical payload has begun */
	uint8_t is_cmd;	    /* 1 if this payload is a new client command */
	uint8_t pad[2];
	uint32_t left;	    /* payload bytes of this packet still due */
	uint32_t first_len; /* length of the payload's first packet */
	uint32_t head_len;  /* bytes in head */
	uint32_t head_want; /* bytes of head to keep for this payload */
	uint32_t npackets;  /* physical packets of this payload */
	uint64_t total;	    /* logical payload length so far */
	uint64_t start_ns;  /* feed holding the payload's first byte */
	uint8_t head[PROTO_MYSQL_HEAD_MAX];
};

/* One command awaiting its response (private). */
struct proto_mysql_cmd {
	uint64_t start_ns;
	uint64_t bytes_out;
	uint32_t text_off; /* in arena */
	uint32_t text_len; /* NUL excluded; arena use is text_len + 1 */
	uint32_t flags;	   /* PT_EV_* */
	uint8_t com;	   /* command byte */
	uint8_t seq_next;  /* first sequence id of the response */
	uint8_t pad[2];
};

/* One prepared statement (private). */
struct proto_mysql_stmt {
	uint32_t id;
	uint32_t used;	/* LRU stamp; 0 = free slot */
	uint16_t len;	/* NUL excluded */
	uint16_t flags; /* PT_EV_TRUNCATED / PT_EV_RAW of the text */
	char text[PROTO_MYSQL_STMT_TEXT];
};

struct proto_mysql {
	struct pt_sink sink;
	int raw; /* options copied at init */
	uint32_t raw_max;
	uint8_t phase;	  /* private enum */
	uint8_t rstate;	  /* response state of the queue head */
	uint8_t xseq;	  /* next sequence id of the current exchange */
	uint8_t eof_mode; /* 1: classic EOF packets; 0: CLIENT_DEPRECATE_EOF */
	uint8_t
	    tls_wait; /* stopped at an SSLRequest; may resume on plaintext */
	uint8_t pad0[3];
	uint32_t srv_caps, cli_caps;	     /* capability flags */
	uint32_t srv_ext_caps, cli_ext_caps; /* MariaDB extended capabilities */
	uint32_t cols_left;    /* column / param definitions still due */
	uint32_t prep_cols;    /* PREPARE: column definitions after params */
	uint32_t prep_id;      /* PREPARE: statement id from PREPARE_OK */
	uint32_t stmt_clock;   /* LRU clock */
	uint32_t last_stmt_id; /* for MariaDB's "last prepared" id 0xFFFFFFFF */
	uint32_t q_head, q_count;
	uint64_t rows;	       /* rows of the response so far */
	uint64_t bytes_in;     /* response bytes so far */
	uint64_t extra_out;    /* LOCAL INFILE / auth bytes sent mid-response */
	uint64_t sql_total;    /* SQL bytes of the command being received */
	uint32_t sql_len;      /* bytes kept in sql */
	uint16_t last_error;   /* last ERR code seen (0 = none) */
	char last_sqlstate[6]; /* last ERR SQLSTATE, NUL-terminated */

	/* What the server said about the statement (OK/EOF, proto.h). */
	uint16_t srv_status; /* status flags of the response, OR'd */
	uint16_t warnings;   /* warning counts of the response, summed */
	uint64_t greet_ns;   /* when the greeting arrived (auth time) */

	struct proto_mysql_framer fr[2]; /* by enum pt_dir */
	/* The queue and the arena: the context's own arrays, or spill
	 * memory once a pipeline outgrew them (given back at close). */
	struct proto_mysql_cmd *q;
	uint32_t q_mask;       /* entries in q - 1 (a power of two) */
	struct text_ring text; /* where texts go in arena (and its size) */
	char *arena;
	const struct pt_spill *spill; /* NULL: fixed queue only */
	struct proto_mysql_cmd q0[PROTO_MYSQL_QUEUE_MAX];
	char sql[PROTO_MYSQL_SQL_MAX];
	char arena0[PROTO_MYSQL_ARENA_SIZE];
	struct proto_mysql_stmt stmts[PROTO_MYSQL_STMT_MAX];
};

/* Reset m for a new connection; opt and sink are copied (opt may be
 * NULL: normalized text). */
void proto_mysql_init(struct proto_mysql *m, const struct pt_proto_options *opt,
		      const struct pt_sink *sink);

/* Decode len bytes travelling in direction dir, read or written at now_ns.
 * Bytes may be split anywhere.  Returns PT_FEED_STOPPED once decoding has
 * ended (a note said why); later feeds are ignored and return the same. */
enum pt_feed_status proto_mysql_feed(struct proto_mysql *m, enum pt_dir dir,
				     const uint8_t *buf, size_t len,
				     uint64_t now_ns);

/* The connection closed at now_ns: every command still awaiting its
 * response is reported with PT_OUT_ABORTED (rows and bytes so far).  A
 * command whose bytes were not all sent is not reported, nor is anything
 * after the decoder stopped.  Later feeds are ignored; m may be
 * re-initialised. */
void proto_mysql_close(struct proto_mysql *m, uint64_t now_ns);

/* After PT_NOTE_TLS: the caller will now feed the connection's TLS
 * plaintext (SSL_read / SSL_write hooks), which continues with the full
 * handshake response.  Returns 0 and resumes decoding, or -1 (nothing
 * changed) if m did not stop at an SSLRequest. */
int proto_mysql_resume_tls(struct proto_mysql *m);

/* 1 if these first server bytes look like a MySQL greeting (protocol 10),
 * 0 if not.  Needs at least 5 bytes; checks the version string as far as
 * buf goes. */
int proto_mysql_sniff(const uint8_t *buf, size_t len);

/* 1 if m is logged in and between commands: nothing outstanding, no
 * packet half read in either direction (a forked child may then go on
 * decoding its copy). */
int proto_mysql_idle(const struct proto_mysql *m);

/* Last ERR packet seen: code and SQLSTATE ("" if none).  For tests and
 * diagnostics. */
uint16_t proto_mysql_last_error(const struct proto_mysql *m,
				const char **sqlstate);

#endif /* PERFTAP_PROTO_MYSQL_H */
