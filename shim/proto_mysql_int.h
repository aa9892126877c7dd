/*
 * proto_mysql_int.h -- what the files of the MySQL decoder share and
 * nobody else sees: protocol constants, decoder phases and response
 * states, the little-endian and length-encoded parsers, and the functions
 * one file of the decoder calls in another.
 *
 * The decoder's files, one job each:
 *   proto_mysql.c           packet framing and the public functions
 *   proto_mysql_queue.c     statement table, text arena, command queue,
 *                           event emission
 *   proto_mysql_handshake.c greeting, handshake response (TLS, compression),
 *                           auth exchange
 *   proto_mysql_response.c  OK / ERR / EOF packets and the response states
 *   proto_mysql_command.c   client packets: commands and their text
 *
 * Sections:
 *   1. protocol constants and limits
 *   2. small parsers (static inline: they run for every packet)
 *   3. functions shared between the decoder's files
 */
#ifndef PERFTAP_PROTO_MYSQL_INT_H
#define PERFTAP_PROTO_MYSQL_INT_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "proto_mysql.h"

/* ---- 1. protocol constants and limits ---------------------------------- */

#define PKT_MAX 0xFFFFFFu /* payload of this length continues */

/* Capability flags (client and server). */
#define CLIENT_MYSQL	     (1u << 0) /* unset by MariaDB: extended caps present */
#define CLIENT_COMPRESS	     (1u << 5)
#define CLIENT_LOCAL_FILES   (1u << 7)
#define CLIENT_PROTOCOL_41   (1u << 9)
#define CLIENT_SSL	     (1u << 11)
#define CLIENT_MULTI_RESULTS (1u << 17)
#define CLIENT_DEPRECATE_EOF (1u << 24)
/* MariaDB extended capabilities (bits 32.. of the 64-bit set). */
#define MARIADB_CACHE_METADATA (1u << 4) /* column count + metadata flag */

/* Server status flags. */
#define SERVER_MORE_RESULTS_EXISTS  0x0008u
#define SERVER_STATUS_CURSOR_EXISTS 0x0040u

/* Commands. */
enum {
	COM_QUIT = 0x01,
	COM_INIT_DB = 0x02,
	COM_QUERY = 0x03,
	COM_FIELD_LIST = 0x04,
	COM_CREATE_DB = 0x05,
	COM_DROP_DB = 0x06,
	COM_REFRESH = 0x07,
	COM_SHUTDOWN = 0x08,
	COM_STATISTICS = 0x09,
	COM_PROCESS_INFO = 0x0a,
	COM_PROCESS_KILL = 0x0c,
	COM_DEBUG = 0x0d,
	COM_PING = 0x0e,
	COM_CHANGE_USER = 0x11,
	COM_BINLOG_DUMP = 0x12,
	COM_REGISTER_SLAVE = 0x15,
	COM_STMT_PREPARE = 0x16,
	COM_STMT_EXECUTE = 0x17,
	COM_STMT_SEND_LONG_DATA = 0x18,
	COM_STMT_CLOSE = 0x19,
	COM_STMT_RESET = 0x1a,
	COM_SET_OPTION = 0x1b,
	COM_STMT_FETCH = 0x1c,
	COM_BINLOG_DUMP_GTID = 0x1e,
	COM_RESET_CONNECTION = 0x1f,
	COM_STMT_BULK_EXECUTE = 0xfa, /* MariaDB */
};

/* MariaDB's "the statement prepared last" (mariadb_stmt_execute_direct
 * pipelines PREPARE and EXECUTE with this id). */
#define STMT_ID_LAST 0xFFFFFFFFu
/* Longest greeting we accept: version strings are ~30 bytes, the fixed
 * fields ~45, the auth plugin name ~25; real greetings are ~100 bytes. */
#define GREETING_MAX 1024u
/* Fixed part of a protocol-41 handshake response; an SSLRequest is exactly
 * this long. */
#define HS_RESPONSE_FIXED 32u
/* Head bytes kept per payload.  Responses: the longest thing we parse is
 * an OK packet (1 + 9 + 9 + 2 + 2 = 23 bytes).  Commands: command byte +
 * statement id.  Auth: enough for an ERR header, and no more, so that auth
 * data never lands in the context. */
#define HEAD_RESPONSE 32u
#define HEAD_COMMAND  5u
#define HEAD_AUTH_IN  9u
/* MySQL and MariaDB allow at most 4096 columns per table / result. */
#define COLUMNS_MAX 4096u
/* Every column definition starts with its catalog, always "def". */
#define COLDEF_FIRST 0x03u
/* Classic EOF packets are shorter than this; a 0xFE-led packet at least
 * this long is a row whose first value has an 8-byte length prefix. */
#define EOF_MAX_LEN 9u

enum phase {
	PH_GREETING = 0, /* waiting for the server greeting */
	PH_HS_RESPONSE,	 /* waiting for the client handshake response */
	PH_AUTH,	 /* auth exchange until the server's OK / ERR */
	PH_COMMAND,	 /* command / response */
	PH_IGNORE,	 /* refused connection: ignore the rest */
	PH_STOPPED,	 /* gave up, a note said why */
};

/* Response state of the queue's head command. */
enum rstate {
	RS_FIRST = 0,	/* first packet of a (next) result */
	RS_COLDEFS,	/* column definitions, cols_left to go */
	RS_COLDEFS_EOF, /* classic EOF after the column definitions */
	RS_ROWS,	/* rows until EOF / OK terminator */
	RS_PREP_DEFS,	/* PREPARE: param or column definitions */
	RS_PREP_EOF,	/* PREPARE: EOF after a definition block */
	RS_FIELDS,	/* COM_FIELD_LIST: definitions until EOF */
	RS_INFILE,	/* LOCAL INFILE: client is sending the file */
	RS_AUTH,	/* COM_CHANGE_USER auth exchange */
};

/* How a command is answered. */
enum resp_class {
	RC_GENERIC = 0, /* OK, ERR or EOF */
	RC_NONE,	/* no response at all */
	RC_RESULT,	/* text result sets / OK / ERR / LOCAL INFILE */
	RC_EXEC,	/* binary result sets / OK / ERR */
	RC_PREPARE,	/* PREPARE_OK + definitions, or ERR */
	RC_FETCH,	/* binary rows + terminator, or ERR */
	RC_FIELDS,	/* column definitions + EOF, or ERR */
	RC_STRING,	/* one plain string packet (COM_STATISTICS) */
	RC_AUTH,	/* OK / ERR after an auth exchange */
	RC_STREAM,	/* replication stream: not decoded */
};

#define TEXT_NONE TEXT_RING_EMPTY /* command has no arena text */

static inline enum resp_class resp_class(uint8_t com)
{
	switch (com) {
	case COM_QUIT:
	case COM_STMT_CLOSE:
	case COM_STMT_SEND_LONG_DATA:
		return RC_NONE;
	case COM_QUERY:
	case COM_PROCESS_INFO:
		return RC_RESULT;
	case COM_STMT_EXECUTE:
	case COM_STMT_BULK_EXECUTE:
		return RC_EXEC;
	case COM_STMT_PREPARE:
		return RC_PREPARE;
	case COM_STMT_FETCH:
		return RC_FETCH;
	case COM_FIELD_LIST:
		return RC_FIELDS;
	case COM_STATISTICS:
		return RC_STRING;
	case COM_CHANGE_USER:
		return RC_AUTH;
	case COM_BINLOG_DUMP:
	case COM_BINLOG_DUMP_GTID:
		return RC_STREAM;
	default:
		return RC_GENERIC;
	}
}

static inline uint32_t le16(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8;
}

static inline uint32_t le24(const uint8_t *p)
{
	return le16(p) | (uint32_t)p[2] << 16;
}

static inline uint32_t le32(const uint8_t *p)
{
	return le24(p) | (uint32_t)p[3] << 24;
}

/*
 * Length-encoded integer at p[*pos], p holding n bytes.  Returns 0 and
 * advances *pos, or -1 if the bytes run out or the prefix is not an
 * integer (0xFB is NULL, 0xFF is an ERR header).
 */
static inline int lenenc(const uint8_t *p, size_t n, size_t *pos, uint64_t *out)
{
	size_t i = *pos, w;
	uint64_t v = 0;

	if (i >= n)
		return -1;
	switch (p[i]) {
	case 0xFB:
	case 0xFF:
		return -1;
	case 0xFC:
		w = 2;
		break;
	case 0xFD:
		w = 3;
		break;
	case 0xFE:
		w = 8;
		break;
	default:
		*out = p[i];
		*pos = i + 1;
		return 0;
	}
	if (n - i - 1 < w)
		return -1;
	for (size_t k = w; k > 0; k--)
		v = v << 8 | p[i + k];
	*out = v;
	*pos = i + 1 + w;
	return 0;
}

/* The command whose response is being decoded, or NULL. */
static inline struct proto_mysql_cmd *q_head(struct proto_mysql *m)
{
	return m->q_count ? &m->q[m->q_head] : NULL;
}

/* ---- 3. functions shared between the decoder's files ------------------- */

/* Give up on the connection: the note says why, nothing is decoded again.
 * Inline so that every caller sees the -1 (flow analysis of the callers'
 * out-parameters depends on it). */
static inline int proto_mysql_stop(struct proto_mysql *m, enum pt_note note,
				   const char *why, uint64_t value)
{
	if (m->sink.note)
		m->sink.note(m->sink.arg, note, why, strlen(why), value);
	m->phase = PH_STOPPED;
	return -1;
}

static inline int proto_mysql_desync(struct proto_mysql *m, const char *why)
{
	return proto_mysql_stop(m, PT_NOTE_DESYNC, why, 0);
}

/* proto_mysql_queue.c: statement table and text arena. */
int proto_mysql_stmt_find(const struct proto_mysql *m, uint32_t id);
uint32_t proto_mysql_stmt_tick(struct proto_mysql *m);
void proto_mysql_stmt_put(struct proto_mysql *m, uint32_t id, const char *text,
			  size_t len, uint32_t flags);
void proto_mysql_stmt_forget(struct proto_mysql *m, uint32_t id);
void proto_mysql_stmt_clear(struct proto_mysql *m);
uint32_t proto_mysql_arena_take(struct proto_mysql *m, uint32_t want,
				uint32_t *off);

/* proto_mysql_queue.c: command queue and event emission. */
int proto_mysql_queue_grow(struct proto_mysql *m);
void proto_mysql_resp_reset(struct proto_mysql *m);
int proto_mysql_finish(struct proto_mysql *m, uint64_t now_ns, uint8_t outcome,
		       int32_t status);

/* proto_mysql_handshake.c: the phases before the first command. */
int proto_mysql_on_greeting(struct proto_mysql *m,
			    struct proto_mysql_framer *f);
int proto_mysql_on_hs_response(struct proto_mysql *m,
			       const struct proto_mysql_framer *f);
int proto_mysql_on_auth(struct proto_mysql *m, enum pt_dir dir,
			const struct proto_mysql_framer *f, uint64_t now);

/* proto_mysql_response.c: a complete server payload in the command phase. */
int proto_mysql_on_response(struct proto_mysql *m,
			    const struct proto_mysql_framer *f, uint64_t now);

/* proto_mysql_command.c: a complete client payload in the command phase. */
int proto_mysql_on_client(struct proto_mysql *m,
			  const struct proto_mysql_framer *f);

#endif
