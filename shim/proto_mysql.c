/*
 * proto_mysql.c -- MySQL/MariaDB client-protocol decoder: bytes of one
 * client connection in, one timed struct pt_op per command out.
 *
 * Sections:
 *   1. protocol constants and limits
 *   2. small parsers (little-endian, length-encoded integers, OK/ERR/EOF)
 *   3. statement table and text arena
 *   4. command queue and event emission
 *   5. handshake states
 *   6. response states (one function per state, one dispatch switch)
 *   7. client packets (commands, LOCAL INFILE data, auth data)
 *   8. the packet framer and the public functions
 *
 * Packets: a 3-byte little-endian payload length, a 1-byte sequence id,
 * the payload.  A payload of 0xFFFFFF bytes continues in the next packet;
 * the framer joins them into one logical payload and keeps only its first
 * bytes (head) plus, for COM_QUERY / COM_STMT_PREPARE, a bounded prefix of
 * the SQL.  Nothing else is stored: no rows, no passwords, no auth data.
 *
 * Sequence ids: every command starts at 0 and its response continues the
 * count (mod 256); LOCAL INFILE data and auth exchanges continue it too.
 * A mismatch means we lost the frame: PT_NOTE_DESYNC, decoding stops.
 *
 * Events: one per command with a response.  A response with several
 * result sets (SERVER_MORE_RESULTS_EXISTS: multi-statements, CALL) is one
 * event whose rows are the sum of all result-set rows and OK affected rows,
 * ending with the last packet of the last result.
 *
 * Note: after PT_FEED_STOPPED nothing is decoded again; a connection that
 * was refused (ERR instead of greeting, failed auth) is ignored silently.
 */
#include "proto_mysql.h"

#include <string.h>

#include "normalize.h"

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

static enum resp_class resp_class(uint8_t com)
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

/* Text of a command without SQL (dump_format.h: upper case, no COM_). */
static const char *com_name(uint8_t com)
{
	switch (com) {
	case COM_INIT_DB:
		return "INIT_DB";
	case COM_FIELD_LIST:
		return "FIELD_LIST";
	case COM_CREATE_DB:
		return "CREATE_DB";
	case COM_DROP_DB:
		return "DROP_DB";
	case COM_REFRESH:
		return "REFRESH";
	case COM_SHUTDOWN:
		return "SHUTDOWN";
	case COM_STATISTICS:
		return "STATISTICS";
	case COM_PROCESS_INFO:
		return "PROCESS_INFO";
	case COM_PROCESS_KILL:
		return "PROCESS_KILL";
	case COM_DEBUG:
		return "DEBUG";
	case COM_PING:
		return "PING";
	case COM_CHANGE_USER:
		return "CHANGE_USER";
	case COM_REGISTER_SLAVE:
		return "REGISTER_SLAVE";
	case COM_STMT_RESET:
		return "STMT_RESET";
	case COM_SET_OPTION:
		return "SET_OPTION";
	case COM_STMT_FETCH:
		return "STMT_FETCH";
	case COM_RESET_CONNECTION:
		return "RESET_CONNECTION";
	default:
		return "COMMAND";
	}
}

/* ---- 2. small parsers --------------------------------------------------- */

static uint32_t le16(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8;
}

static uint32_t le24(const uint8_t *p)
{
	return le16(p) | (uint32_t)p[2] << 16;
}

static uint32_t le32(const uint8_t *p)
{
	return le24(p) | (uint32_t)p[3] << 24;
}

/*
 * Length-encoded integer at p[*pos], p holding n bytes.  Returns 0 and
 * advances *pos, or -1 if the bytes run out or the prefix is not an
 * integer (0xFB is NULL, 0xFF is an ERR header).
 */
static int lenenc(const uint8_t *p, size_t n, size_t *pos, uint64_t *out)
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

/* ---- 3. statement table and text arena ---------------------------------- */

static int stmt_find(const struct proto_mysql *m, uint32_t id)
{
	for (unsigned i = 0; i < PROTO_MYSQL_STMT_MAX; i++)
		if (m->stmts[i].used && m->stmts[i].id == id)
			return (int)i;
	return -1;
}

static uint32_t stmt_tick(struct proto_mysql *m)
{
	if (++m->stmt_clock == 0) /* 0 marks a free slot */
		m->stmt_clock = 1;
	return m->stmt_clock;
}

/* Remember statement id's text; evicts the least recently used. */
static void stmt_put(struct proto_mysql *m, uint32_t id, const char *text,
		     size_t len, uint32_t flags)
{
	int slot = stmt_find(m, id);

	if (slot < 0) {
		uint32_t best = UINT32_MAX;
		for (unsigned i = 0; i < PROTO_MYSQL_STMT_MAX; i++) {
			if (m->stmts[i].used < best) {
				best = m->stmts[i].used;
				slot = (int)i;
			}
		}
	}
	struct proto_mysql_stmt *s = &m->stmts[slot];
	if (len > PROTO_MYSQL_STMT_TEXT - 1) {
		len = PROTO_MYSQL_STMT_TEXT - 1;
		flags |= PT_EV_TRUNCATED;
	}
	s->id = id;
	s->used = stmt_tick(m);
	s->len = (uint16_t)len;
	s->flags = (uint16_t)(flags & (PT_EV_TRUNCATED | PT_EV_RAW));
	memcpy(s->text, text, len);
	s->text[len] = '\0';
}

static void stmt_forget(struct proto_mysql *m, uint32_t id)
{
	int slot = stmt_find(m, id);

	if (slot >= 0)
		m->stmts[slot].used = 0;
}

/* The server drops every statement on RESET_CONNECTION / CHANGE_USER. */
static void stmt_clear(struct proto_mysql *m)
{
	for (unsigned i = 0; i < PROTO_MYSQL_STMT_MAX; i++)
		m->stmts[i].used = 0;
}

/*
 * Reserve up to want bytes of contiguous arena for a new command's text.
 * Texts are freed in queue order, so the arena is a ring (text_ring.h)
 * whose oldest live piece is the first queued command's text.  Returns
 * the capacity granted (maybe less than want, maybe 0).
 */
static uint32_t arena_reserve(const struct proto_mysql *m, uint32_t want,
			      uint32_t *off)
{
	uint32_t oldest = TEXT_NONE;

	for (uint32_t i = 0; i < m->q_count && oldest == TEXT_NONE; i++)
		oldest = m->q[(m->q_head + i) & m->q_mask].text_off;
	return text_ring_reserve(&m->text, oldest, want, off);
}

/*
 * A spilled (deep) queue whose texts no longer fit: move the live texts,
 * in queue order, to the start of spill memory four times the size, and
 * point each command at its new place.  Rare (only past the fixed queue,
 * sizes quadruple), hence out of line.  Returns 0 or -1 (nothing changed).
 */
static __attribute__((noinline)) int arena_grow(struct proto_mysql *m)
{
	uint32_t size = m->text.size * 4, at = 0;

	if (size > PROTO_MYSQL_ARENA_SPILL_MAX || !m->spill)
		return -1;
	char *n = m->spill->get(size);
	if (!n)
		return -1;
	for (uint32_t i = 0; i < m->q_count; i++) {
		struct proto_mysql_cmd *c = &m->q[(m->q_head + i) & m->q_mask];
		if (c->text_off == TEXT_NONE)
			continue;
		memcpy(n + at, m->arena + c->text_off, c->text_len + 1u);
		c->text_off = at;
		at += c->text_len + 1u;
	}
	if (m->arena != m->arena0)
		m->spill->put(m->arena, m->text.size);
	m->arena = n;
	m->text.size = size;
	m->text.next = at;
	return 0;
}

/* arena_reserve, growing the arena when a deep pipeline filled it. */
static uint32_t arena_take(struct proto_mysql *m, uint32_t want, uint32_t *off)
{
	uint32_t cap = arena_reserve(m, want, off);

	if (cap < want && m->q != m->q0 && arena_grow(m) == 0)
		cap = arena_reserve(m, want, off);
	return cap;
}

/* ---- 4. command queue and event emission -------------------------------- */

/* The fixed queue is full: move it into spill memory (rare). */
static __attribute__((noinline)) int queue_grow(struct proto_mysql *m)
{
	void *q = m->q;

	if (pt_spill_ring_grow(m->spill, &q, &m->q_mask, &m->q_head, m->q_count,
			       sizeof(*m->q), m->q0,
			       PROTO_MYSQL_QUEUE_SPILL_MAX) < 0)
		return -1;
	m->q = q;
	return 0;
}

static struct proto_mysql_cmd *q_head(struct proto_mysql *m)
{
	return m->q_count ? &m->q[m->q_head] : NULL;
}

static int stop(struct proto_mysql *m, enum pt_note note, const char *why,
		uint64_t value)
{
	if (m->sink.note)
		m->sink.note(m->sink.arg, note, why, strlen(why), value);
	m->phase = PH_STOPPED;
	return -1;
}

static int desync(struct proto_mysql *m, const char *why)
{
	return stop(m, PT_NOTE_DESYNC, why, 0);
}

static void resp_reset(struct proto_mysql *m)
{
	m->rstate = RS_FIRST;
	m->rows = 0;
	m->bytes_in = 0;
	m->extra_out = 0;
	m->srv_status = 0;
	m->warnings = 0;
	m->cols_left = 0;
	m->prep_cols = 0;
	if (m->q_count)
		m->xseq = m->q[m->q_head].seq_next;
}

static void emit(struct proto_mysql *m, const struct proto_mysql_cmd *c,
		 uint64_t end_ns, uint8_t outcome, int32_t status)
{
	struct pt_op op;

	memset(&op, 0, sizeof(op));
	op.kind = PT_KIND_MYSQL;
	op.outcome = outcome;
	op.status = status;
	op.start_ns = c->start_ns;
	op.end_ns = end_ns;
	op.rows = m->rows;
	op.bytes_out = c->bytes_out + m->extra_out;
	op.bytes_in = m->bytes_in;
	op.flags = c->flags;
	op.server_status = m->srv_status;
	op.warnings = m->warnings;
	if (c->text_off != TEXT_NONE) {
		op.text = m->arena + c->text_off;
		op.text_len = c->text_len;
	}
	if (m->sink.op)
		m->sink.op(m->sink.arg, &op);
}

/* The head command's response is complete: report it, start the next. */
static int finish(struct proto_mysql *m, uint64_t now_ns, uint8_t outcome,
		  int32_t status)
{
	emit(m, q_head(m), now_ns, outcome, status);
	m->q_head = (m->q_head + 1) & m->q_mask;
	m->q_count--;
	resp_reset(m);
	return 0;
}

/* ---- 5. handshake states ------------------------------------------------- */

/* ERR packet: 0xFF, code, ['#', SQLSTATE]. */
static int parse_err(struct proto_mysql *m, const struct proto_mysql_framer *f,
		     uint32_t *code)
{
	if (f->head_len < 3)
		return desync(m, "short ERR packet");
	*code = le16(f->head + 1);
	m->last_error = (uint16_t)*code;
	m->last_sqlstate[0] = '\0';
	if (f->head_len >= 9 && f->head[3] == '#') {
		memcpy(m->last_sqlstate, f->head + 4, 5);
		m->last_sqlstate[5] = '\0';
	}
	return 0;
}

/* What the server said about a statement of the response: its status
 * flags (no index used ...) are OR'd over the results of a multi-result
 * response, its warning counts summed (saturating). */
static void note_status(struct proto_mysql *m, uint32_t status,
			uint32_t warnings)
{
	uint32_t w = (uint32_t)m->warnings + warnings;

	m->srv_status |= (uint16_t)status;
	m->warnings = (uint16_t)(w > 0xFFFFu ? 0xFFFFu : w);
}

/* OK packet (header 0x00, or 0xFE as a DEPRECATE_EOF terminator):
 * 0x00, affected rows, insert id, status 2, warnings 2 (4.1). */
static int parse_ok(struct proto_mysql *m, const struct proto_mysql_framer *f,
		    uint64_t *affected, uint32_t *status)
{
	size_t pos = 1;
	uint64_t insert_id;

	if (lenenc(f->head, f->head_len, &pos, affected) < 0 ||
	    lenenc(f->head, f->head_len, &pos, &insert_id) < 0)
		return desync(m, "bad OK packet");
	*status = 0;
	if (pos + 2 <= f->head_len)
		*status = le16(f->head + pos);
	note_status(m, *status,
		    pos + 4 <= f->head_len ? le16(f->head + pos + 2) : 0);
	return 0;
}

/* Classic EOF: 0xFE, warnings, status (4.1); or bare 0xFE (older). */
static uint32_t eof_status(const struct proto_mysql_framer *f)
{
	return f->head_len >= 5 ? le16(f->head + 3) : 0;
}

static uint32_t eof_warnings(const struct proto_mysql_framer *f)
{
	return f->head_len >= 5 ? le16(f->head + 1) : 0;
}

/* Is this 0xFE-led payload a result terminator rather than a row? */
static int is_terminator(const struct proto_mysql *m,
			 const struct proto_mysql_framer *f)
{
	if (f->head_len < 1 || f->head[0] != 0xFE)
		return 0;
	if (m->eof_mode)
		return f->total < EOF_MAX_LEN;
	/* DEPRECATE_EOF: an OK packet with header 0xFE; a row led by 0xFE
	 * has a value of >= 2^24 bytes, so its first packet is 0xFFFFFF. */
	return f->first_len < PKT_MAX;
}

static uint32_t terminator_status(struct proto_mysql *m,
				  const struct proto_mysql_framer *f, int *bad)
{
	uint64_t affected;
	uint32_t status;

	*bad = 0;
	if (m->eof_mode) {
		note_status(m, eof_status(f), eof_warnings(f));
		return eof_status(f);
	}
	if (parse_ok(m, f, &affected, &status) < 0)
		*bad = 1;
	return status;
}

static int on_greeting(struct proto_mysql *m, struct proto_mysql_framer *f)
{
	const uint8_t *h = f->head;
	size_t n = f->head_len, v = 1;

	if (n >= 1 && h[0] == 0xFF) { /* refused: too many connections... */
		m->phase = PH_IGNORE;
		return 0;
	}
	if (n < 1 || h[0] != 10)
		return desync(m, "not a protocol 10 greeting");
	while (v < n && h[v] != '\0')
		v++;
	/* version NUL, conn id 4, salt 8, filler 1, caps 2 */
	if (v + 1 + 4 + 8 + 1 + 2 > n)
		return desync(m, "short greeting");
	size_t p = v + 1;
	uint32_t conn_id = le32(h + p);
	p += 4 + 8 + 1;
	m->srv_caps = le16(h + p);
	p += 2;
	if (p + 1 + 2 + 2 <= n) /* charset, status, caps high */
		m->srv_caps |= le16(h + p + 3) << 16;
	p += 1 + 2 + 2 + 1 + 6; /* ... auth data length, filler */
	if (p + 4 <= n && !(m->srv_caps & CLIENT_MYSQL))
		m->srv_ext_caps = le32(h + p);
	if (m->sink.note)
		m->sink.note(m->sink.arg, PT_NOTE_SERVER_INFO,
			     (const char *)h + 1, v - 1, conn_id);
	memset(f->head, 0, n); /* the auth salt is never kept */
	f->head_len = 0;
	m->phase = PH_HS_RESPONSE;
	return 0;
}

static int on_hs_response(struct proto_mysql *m,
			  const struct proto_mysql_framer *f)
{
	const uint8_t *h = f->head;

	if (f->head_len < 4)
		return desync(m, "short handshake response");
	m->cli_caps = le32(h);
	if (!(m->cli_caps & CLIENT_PROTOCOL_41))
		return desync(m, "pre-4.1 client handshake");
	if (f->total < HS_RESPONSE_FIXED)
		return desync(m, "short handshake response");
	if ((m->cli_caps & CLIENT_SSL) && f->total == HS_RESPONSE_FIXED) {
		m->tls_wait = 1; /* xseq already names the next packet */
		return stop(m, PT_NOTE_TLS, "SSLRequest", 0);
	}
	if (!(m->cli_caps & CLIENT_MYSQL))
		m->cli_ext_caps = le32(h + 28);
	m->eof_mode =
	    !(m->srv_caps & m->cli_caps & CLIENT_DEPRECATE_EOF) ? 1 : 0;
	m->phase = PH_AUTH;
	return 0;
}

/* Auth exchange: client packets (auth data) are skipped unread; the
 * server's OK ends it, its ERR ends the connection. */
static int on_auth(struct proto_mysql *m, enum pt_dir dir,
		   const struct proto_mysql_framer *f, uint64_t now)
{
	if (dir == PT_DIR_OUT || f->head_len < 1)
		return 0;
	if (f->head[0] == 0xFF) {
		m->phase = PH_IGNORE;
		return 0;
	}
	if (f->head[0] != 0x00)
		return 0; /* auth switch / more data */
	if (m->sink.note && m->greet_ns && now >= m->greet_ns)
		m->sink.note(m->sink.arg, PT_NOTE_AUTH, NULL, 0,
			     now - m->greet_ns);
	if (m->srv_caps & m->cli_caps & CLIENT_COMPRESS)
		return stop(m, PT_NOTE_COMPRESSED, "compressed protocol", 0);
	m->phase = PH_COMMAND;
	return 0;
}

/* ---- 6. response states ---------------------------------------------------
 * Each takes the completed server payload of the head command. */

static int rs_error(struct proto_mysql *m, const struct proto_mysql_framer *f,
		    uint64_t now)
{
	uint32_t code;

	if (parse_err(m, f, &code) < 0)
		return -1;
	if (code == 0xFFFF) /* MariaDB progress report, not the reply */
		return 0;
	return finish(m, now, PT_OUT_ERROR, (int32_t)code);
}

/* An OK ends the command unless more results follow. */
static int rs_ok(struct proto_mysql *m, const struct proto_mysql_framer *f,
		 uint64_t now, uint8_t com)
{
	uint64_t affected;
	uint32_t status;

	if (parse_ok(m, f, &affected, &status) < 0)
		return -1;
	m->rows += affected;
	if (com == COM_RESET_CONNECTION || com == COM_CHANGE_USER)
		stmt_clear(m);
	if ((status & SERVER_MORE_RESULTS_EXISTS) &&
	    (com == COM_QUERY || resp_class(com) == RC_EXEC))
		return 0;
	return finish(m, now, PT_OUT_OK, 0);
}

static int rs_column_count(struct proto_mysql *m,
			   const struct proto_mysql_framer *f, uint8_t com)
{
	size_t pos = 0;
	uint64_t ncols;

	if (lenenc(f->head, f->head_len, &pos, &ncols) < 0 || ncols == 0 ||
	    ncols > COLUMNS_MAX)
		return desync(m, "bad column count");
	m->cols_left = (uint32_t)ncols;
	m->rstate = RS_COLDEFS;
	/* MariaDB metadata cache: a flag byte says whether definitions follow.
	 * If not, the classic EOF that ends them is still sent (as MariaDB
	 * 10.11 does, recorded in tests/data/mysql/libmariadb_ps.txt). */
	if ((m->srv_ext_caps & m->cli_ext_caps & MARIADB_CACHE_METADATA) &&
	    resp_class(com) == RC_EXEC && pos < f->head_len &&
	    f->head[pos] == 0) {
		m->cols_left = 0;
		m->rstate = m->eof_mode ? RS_COLDEFS_EOF : RS_ROWS;
	}
	return 0;
}

static int rs_prepare_ok(struct proto_mysql *m,
			 const struct proto_mysql_framer *f, uint64_t now)
{
	const struct proto_mysql_cmd *c = q_head(m);
	/* 0x00, stmt id 4, columns 2, params 2, filler 1, warnings 2 */
	if (f->total < 12 || f->head_len < 12)
		return desync(m, "bad PREPARE_OK");
	uint32_t id = le32(f->head + 1), cols = le16(f->head + 5),
		 params = le16(f->head + 7);
	static const char prefix[] = "PREPARE ";
	if (c->text_off != TEXT_NONE && c->text_len >= sizeof(prefix) - 1)
		stmt_put(m, id, m->arena + c->text_off + sizeof(prefix) - 1,
			 c->text_len - (sizeof(prefix) - 1), c->flags);
	else
		stmt_put(m, id, "", 0, PT_EV_TRUNCATED);
	m->last_stmt_id = id;
	m->cols_left = params ? params : cols;
	m->prep_cols = params ? cols : 0;
	if (m->cols_left == 0)
		return finish(m, now, PT_OUT_OK, 0);
	m->rstate = RS_PREP_DEFS;
	return 0;
}

static int rs_first(struct proto_mysql *m, const struct proto_mysql_framer *f,
		    uint64_t now)
{
	uint8_t com = q_head(m)->com, h0 = f->head[0];
	enum resp_class rc = resp_class(com);

	if (rc == RC_STRING)
		return finish(m, now, PT_OUT_OK, 0);
	if (h0 == 0xFF)
		return rs_error(m, f, now);
	switch (rc) {
	case RC_RESULT:
	case RC_EXEC:
		if (h0 == 0x00)
			return rs_ok(m, f, now, com);
		if (h0 == 0xFB && com == COM_QUERY && m->q_count == 1) {
			m->rstate = RS_INFILE;
			return 0;
		}
		if (h0 == 0xFB || h0 == 0xFE)
			return desync(m, "unexpected result header");
		return rs_column_count(m, f, com);
	case RC_PREPARE:
		if (h0 != 0x00)
			return desync(m, "unexpected PREPARE response");
		return rs_prepare_ok(m, f, now);
	case RC_FETCH:
		m->rstate = RS_ROWS;
		return -2; /* handled as a row-state packet */
	case RC_FIELDS:
		m->rstate = RS_FIELDS;
		return -2;
	case RC_AUTH:
		if (h0 == 0x00)
			return rs_ok(m, f, now, com);
		if (h0 != 0xFE && h0 != 0x01)
			return desync(m, "unexpected CHANGE_USER response");
		m->rstate = RS_AUTH;
		return 0;
	default:
		if (h0 == 0x00)
			return rs_ok(m, f, now, com);
		if (h0 == 0xFE && f->total < EOF_MAX_LEN)
			return finish(m, now, PT_OUT_OK, 0);
		return desync(m, "unexpected response");
	}
}

static int rs_coldefs(struct proto_mysql *m, const struct proto_mysql_framer *f,
		      uint64_t now)
{
	if (f->head[0] == 0xFF)
		return rs_error(m, f, now);
	if (f->head[0] != COLDEF_FIRST)
		return desync(m, "bad column definition");
	if (--m->cols_left == 0)
		m->rstate = m->eof_mode ? RS_COLDEFS_EOF : RS_ROWS;
	return 0;
}

static int rs_coldefs_eof(struct proto_mysql *m,
			  const struct proto_mysql_framer *f, uint64_t now)
{
	if (f->head[0] != 0xFE || f->total >= EOF_MAX_LEN)
		return desync(m, "missing EOF after column definitions");
	/* A cursor was opened: rows come with COM_STMT_FETCH. */
	if ((eof_status(f) & SERVER_STATUS_CURSOR_EXISTS) &&
	    resp_class(q_head(m)->com) == RC_EXEC)
		return finish(m, now, PT_OUT_OK, 0);
	m->rstate = RS_ROWS;
	return 0;
}

static int rs_rows(struct proto_mysql *m, const struct proto_mysql_framer *f,
		   uint64_t now)
{
	uint8_t com = q_head(m)->com;
	int bad;

	if (f->head[0] == 0xFF)
		return rs_error(m, f, now);
	if (is_terminator(m, f)) {
		uint32_t status = terminator_status(m, f, &bad);
		if (bad)
			return -1;
		if ((status & SERVER_MORE_RESULTS_EXISTS) &&
		    com != COM_STMT_FETCH) {
			m->rstate = RS_FIRST;
			return 0;
		}
		return finish(m, now, PT_OUT_OK, 0);
	}
	/* binary rows (EXECUTE, FETCH) start with a 0x00 header */
	if (resp_class(com) != RC_RESULT && f->head[0] != 0x00)
		return desync(m, "bad binary row");
	m->rows++;
	return 0;
}

static int rs_prep_defs(struct proto_mysql *m,
			const struct proto_mysql_framer *f, uint64_t now)
{
	if (f->head[0] != COLDEF_FIRST)
		return desync(m, "bad PREPARE definition");
	if (--m->cols_left)
		return 0;
	if (m->eof_mode) {
		m->rstate = RS_PREP_EOF;
		return 0;
	}
	if (m->prep_cols) {
		m->cols_left = m->prep_cols;
		m->prep_cols = 0;
		return 0;
	}
	return finish(m, now, PT_OUT_OK, 0);
}

static int rs_prep_eof(struct proto_mysql *m,
		       const struct proto_mysql_framer *f, uint64_t now)
{
	if (f->head[0] != 0xFE || f->total >= EOF_MAX_LEN)
		return desync(m, "missing EOF after PREPARE definitions");
	if (m->prep_cols) {
		m->cols_left = m->prep_cols;
		m->prep_cols = 0;
		m->rstate = RS_PREP_DEFS;
		return 0;
	}
	return finish(m, now, PT_OUT_OK, 0);
}

static int rs_fields(struct proto_mysql *m, const struct proto_mysql_framer *f,
		     uint64_t now)
{
	if (f->head[0] == 0xFF)
		return rs_error(m, f, now);
	if (is_terminator(m, f))
		return finish(m, now, PT_OUT_OK, 0);
	if (f->head[0] != COLDEF_FIRST)
		return desync(m, "bad field definition");
	return 0;
}

static int rs_auth(struct proto_mysql *m, const struct proto_mysql_framer *f,
		   uint64_t now)
{
	if (f->head[0] == 0xFF)
		return rs_error(m, f, now);
	if (f->head[0] == 0x00)
		return rs_ok(m, f, now, COM_CHANGE_USER);
	return 0; /* auth switch / more data: the client answers */
}

/* A complete server payload while commands are outstanding. */
static int on_response(struct proto_mysql *m,
		       const struct proto_mysql_framer *f, uint64_t now)
{
	int rc = -2;

	if (f->total == 0)
		return desync(m, "empty response packet");
	while (rc == -2) {
		switch (m->rstate) {
		case RS_FIRST:
			rc = rs_first(m, f, now);
			break;
		case RS_COLDEFS:
			rc = rs_coldefs(m, f, now);
			break;
		case RS_COLDEFS_EOF:
			rc = rs_coldefs_eof(m, f, now);
			break;
		case RS_ROWS:
			rc = rs_rows(m, f, now);
			break;
		case RS_PREP_DEFS:
			rc = rs_prep_defs(m, f, now);
			break;
		case RS_PREP_EOF:
			rc = rs_prep_eof(m, f, now);
			break;
		case RS_FIELDS:
			rc = rs_fields(m, f, now);
			break;
		case RS_AUTH:
			rc = rs_auth(m, f, now);
			break;
		default: /* RS_INFILE: the server must wait for the file */
			rc = desync(m, "server spoke during LOCAL INFILE");
		}
	}
	return rc;
}

/* ---- 7. client packets ----------------------------------------------------
 */

/* Write a command's text: prefix + fingerprint (or raw SQL) of m->sql. */
static void text_sql(struct proto_mysql *m, struct proto_mysql_cmd *c,
		     const char *prefix)
{
	size_t plen = strlen(prefix), n;
	uint32_t off, cap = arena_take(m, PT_TEXT_MAX + 1, &off);
	char *out = m->arena + off;

	if (cap == 0) {
		c->flags |= PT_EV_TRUNCATED;
		return;
	}
	if (plen > cap - 1u)
		plen = cap - 1u;
	memcpy(out, prefix, plen);
	size_t room = cap - plen; /* >= 1, NUL included */
	if (m->raw) {
		n = m->sql_len < m->raw_max ? m->sql_len : m->raw_max;
		if (n > room - 1)
			n = room - 1;
		memcpy(out + plen, m->sql, n);
		/* Event texts hold no NUL (the report reads C strings); SQL
		 * treats a NUL outside quotes as a blank. */
		for (size_t k = plen; k < plen + n; k++)
			if (out[k] == '\0')
				out[k] = ' ';
		out[plen + n] = '\0';
		c->flags |= PT_EV_RAW;
		if (n < m->sql_total)
			c->flags |= PT_EV_TRUNCATED;
	} else {
		n = pt_sql_fingerprint(m->sql, m->sql_len, out + plen, room);
		if (m->sql_total > m->sql_len || n + 1 >= room)
			c->flags |= PT_EV_TRUNCATED;
	}
	c->text_off = off;
	c->text_len = (uint32_t)(plen + n);
	text_ring_commit(&m->text, off, c->text_len + 1);
}

/* Room for len bytes of c's text (cut if the arena is short), or NULL.
 * The arena may move: a source inside it must be found after this. */
static char *text_room(struct proto_mysql *m, struct proto_mysql_cmd *c,
		       size_t *len)
{
	uint32_t off, cap = arena_take(m, (uint32_t)*len + 1, &off);

	if (cap == 0) {
		c->flags |= PT_EV_TRUNCATED;
		return NULL;
	}
	if (*len > cap - 1u) {
		*len = cap - 1u;
		c->flags |= PT_EV_TRUNCATED;
	}
	m->arena[off + *len] = '\0';
	c->text_off = off;
	c->text_len = (uint32_t)*len;
	text_ring_commit(&m->text, off, (uint32_t)*len + 1);
	return m->arena + off;
}

/* text is never inside the arena (see text_execute). */
static void text_copy(struct proto_mysql *m, struct proto_mysql_cmd *c,
		      const char *text, size_t len)
{
	char *out = text_room(m, c, &len);

	if (out)
		memcpy(out, text, len);
}

/* EXECUTE: the text of the prepared statement, or "EXECUTE ?". */
static void text_execute(struct proto_mysql *m, struct proto_mysql_cmd *c,
			 uint32_t id)
{
	static const char prefix[] = "PREPARE ";
	const size_t pl = sizeof(prefix) - 1;

	c->flags |= PT_EV_PREPARED;
	if (id == STMT_ID_LAST) {
		/* pipelined PREPARE still queued? its text is in the arena */
		for (uint32_t i = m->q_count; i > 0; i--) {
			const struct proto_mysql_cmd *p =
			    &m->q[(m->q_head + i - 1) & m->q_mask];
			if (p->com != COM_STMT_PREPARE)
				continue;
			if (p->text_off == TEXT_NONE || p->text_len < pl)
				break;
			c->flags |= p->flags & (PT_EV_TRUNCATED | PT_EV_RAW);
			size_t len = p->text_len - pl;
			char *out = text_room(m, c, &len);
			if (out) /* p's text is where the arena now has it */
				memmove(out, m->arena + p->text_off + pl, len);
			return;
		}
		id = m->last_stmt_id;
	}
	int s = stmt_find(m, id);
	if (s < 0) {
		text_copy(m, c, "EXECUTE ?", 9);
		return;
	}
	m->stmts[s].used = stmt_tick(m);
	c->flags |= m->stmts[s].flags;
	text_copy(m, c, m->stmts[s].text, m->stmts[s].len);
}

static void text_for(struct proto_mysql *m, struct proto_mysql_cmd *c,
		     const struct proto_mysql_framer *f)
{
	switch (c->com) {
	case COM_QUERY:
		text_sql(m, c, "");
		break;
	case COM_STMT_PREPARE:
		text_sql(m, c, "PREPARE ");
		break;
	case COM_STMT_EXECUTE:
	case COM_STMT_BULK_EXECUTE:
		text_execute(m, c, f->head_len >= 5 ? le32(f->head + 1) : 0);
		break;
	default: {
		const char *name = com_name(c->com);
		text_copy(m, c, name, strlen(name));
	}
	}
}

/* A complete client command: queue it (or handle a response-less one). */
static int on_command(struct proto_mysql *m, const struct proto_mysql_framer *f)
{
	if (f->total == 0)
		return desync(m, "empty command");
	uint8_t com = f->head[0];
	switch (resp_class(com)) {
	case RC_NONE:
		if (com == COM_STMT_CLOSE && f->head_len >= 5)
			stmt_forget(m, le32(f->head + 1));
		return 0;
	case RC_STREAM:
		return desync(m, "replication stream not decoded");
	default:
		break;
	}
	if (m->q_count > m->q_mask && queue_grow(m) < 0)
		return stop(m, PT_NOTE_QUEUE_FULL,
			    "too many pipelined commands", m->q_count);
	struct proto_mysql_cmd *c = &m->q[(m->q_head + m->q_count) & m->q_mask];
	memset(c, 0, sizeof(*c));
	c->com = com;
	c->start_ns = f->start_ns;
	c->bytes_out = 4ull * f->npackets + f->total;
	c->seq_next = (uint8_t)(f->seq + 1);
	c->text_off = TEXT_NONE;
	if (m->q_count)
		c->flags |= PT_EV_PIPELINED;
	text_for(m, c, f);
	if (++m->q_count == 1)
		resp_reset(m);
	return 0;
}

/* A complete client payload in the command phase. */
static int on_client(struct proto_mysql *m, const struct proto_mysql_framer *f)
{
	if (f->is_cmd)
		return on_command(m, f);
	/* LOCAL INFILE data (an empty packet ends the file) or auth data */
	if (m->rstate == RS_INFILE && f->total == 0)
		m->rstate = RS_FIRST;
	return 0;
}

/* ---- 8. the packet framer and the public functions ---------------------- */

/* Does the next client payload belong to the head command's exchange? */
static int out_in_exchange(const struct proto_mysql *m)
{
	return m->phase != PH_COMMAND ||
	       (m->q_count && (m->rstate == RS_INFILE || m->rstate == RS_AUTH));
}

static uint32_t head_want(const struct proto_mysql *m, enum pt_dir dir)
{
	switch (m->phase) {
	case PH_GREETING:
		return PROTO_MYSQL_HEAD_MAX;
	case PH_HS_RESPONSE:
		return HS_RESPONSE_FIXED;
	case PH_AUTH:
		return dir == PT_DIR_IN ? HEAD_AUTH_IN : 0;
	default:
		if (dir == PT_DIR_IN)
			return m->rstate == RS_AUTH ? HEAD_AUTH_IN
						    : HEAD_RESPONSE;
		return out_in_exchange(m) ? 0 : HEAD_COMMAND;
	}
}

/* Start of a logical payload in direction dir. */
static void payload_begin(struct proto_mysql *m, struct proto_mysql_framer *f,
			  enum pt_dir dir, uint64_t now)
{
	f->started = 1;
	f->start_ns = now;
	f->total = 0;
	f->npackets = 0;
	f->head_len = 0;
	f->head_want = head_want(m, dir);
	f->is_cmd = dir == PT_DIR_OUT && !out_in_exchange(m);
	if (f->is_cmd) {
		m->sql_len = 0;
		m->sql_total = 0;
	}
}

/* A packet header arrived: check its sequence id and length. */
static int packet_begin(struct proto_mysql *m, struct proto_mysql_framer *f,
			enum pt_dir dir)
{
	uint32_t len = le24(f->hdr);
	uint8_t seq = f->hdr[3], want;

	if (f->npackets)
		want = (uint8_t)(f->seq + 1);
	else if (f->is_cmd)
		want = 0;
	else
		want = m->xseq;
	if (dir == PT_DIR_IN && m->phase == PH_COMMAND && m->q_count == 0)
		return desync(m, "response without a command");
	if (dir == PT_DIR_IN && m->phase == PH_HS_RESPONSE)
		return desync(m, "server spoke before the handshake response");
	if (dir == PT_DIR_OUT && m->phase == PH_GREETING)
		return desync(m, "client spoke before the greeting");
	if (m->phase == PH_GREETING && len > GREETING_MAX)
		return desync(m, "impossible greeting length");
	if (seq != want)
		return desync(m, "bad sequence id");
	f->seq = seq;
	if (f->npackets++ == 0)
		f->first_len = len;
	f->left = len;
	f->cont = len == PKT_MAX;
	f->in_payload = 1;
	if (!f->is_cmd)
		m->xseq = (uint8_t)(seq + 1);
	if (m->phase == PH_COMMAND && dir == PT_DIR_IN)
		m->bytes_in += 4u + len;
	else if (m->phase == PH_COMMAND && !f->is_cmd)
		m->extra_out += 4u + len;
	return 0;
}

/* Payload bytes: keep the head and the SQL prefix, nothing else. */
static void payload_bytes(struct proto_mysql *m, struct proto_mysql_framer *f,
			  const uint8_t *p, size_t n)
{
	uint64_t off = f->total;

	if (off == 0 && f->is_cmd && resp_class(p[0]) == RC_AUTH)
		f->head_want = 1; /* CHANGE_USER carries credentials */
	if (off < f->head_want) {
		size_t k = f->head_want - off < n ? f->head_want - off : n;
		memcpy(f->head + off, p, k);
		f->head_len = (uint32_t)(off + k);
	}
	if (f->is_cmd && f->head_len >= 1 &&
	    (f->head[0] == COM_QUERY || f->head[0] == COM_STMT_PREPARE)) {
		size_t skip = off == 0 ? 1 : 0; /* the command byte */
		size_t k = n - skip;
		m->sql_total += k;
		if (k > PROTO_MYSQL_SQL_MAX - m->sql_len)
			k = PROTO_MYSQL_SQL_MAX - m->sql_len;
		memcpy(m->sql + m->sql_len, p + skip, k);
		m->sql_len += (uint32_t)k;
	}
	f->total += n;
}

/* A logical payload is complete: hand it to the current phase. */
static int payload_done(struct proto_mysql *m, struct proto_mysql_framer *f,
			enum pt_dir dir, uint64_t now)
{
	f->started = 0;
	switch (m->phase) {
	case PH_GREETING:
		m->greet_ns = f->start_ns ? f->start_ns : now;
		return on_greeting(m, f);
	case PH_HS_RESPONSE:
		return on_hs_response(m, f);
	case PH_AUTH:
		return on_auth(m, dir, f, now);
	case PH_COMMAND:
		return dir == PT_DIR_OUT ? on_client(m, f)
					 : on_response(m, f, now);
	default:
		return 0;
	}
}

/* Fast path for the bulk of a result set: whole server packets in buf
 * (header and payload, one physical packet each) that are column
 * definitions or rows, consumed as the framer and rs_coldefs / rs_rows
 * would, without gathering a header or a head.  Stops (returning the
 * bytes used) at the first packet that is anything else: split, empty,
 * 0xFFFFFF long, out of sequence, an ERR, a 0xFE (terminator or long row),
 * a bad definition or binary row; the framer reads that one, with the same
 * outcome.  Note: the framer's head, total and npackets are left as the
 * last slow packet set them; they are only read for a payload the framer
 * gathered itself. */
static size_t packets_whole(struct proto_mysql *m, struct proto_mysql_framer *f,
			    const uint8_t *p, size_t n)
{
	size_t used = 0;
	int text;

	if (m->phase != PH_COMMAND || m->q_count == 0 ||
	    (m->rstate != RS_ROWS && m->rstate != RS_COLDEFS))
		return 0;
	text = resp_class(q_head(m)->com) == RC_RESULT;
	while (n - used >= 5) {
		uint32_t len = le24(p + used);
		uint8_t seq = p[used + 3], h0 = p[used + 4];

		if (len == 0 || len >= PKT_MAX || len > n - used - 4 ||
		    seq != m->xseq)
			break;
		if (m->rstate == RS_ROWS && h0 != 0xFF && h0 != 0xFE &&
		    (text || h0 == 0x00)) {
			m->rows++;
		} else if (m->rstate == RS_COLDEFS && h0 == COLDEF_FIRST) {
			if (--m->cols_left == 0)
				m->rstate =
				    m->eof_mode ? RS_COLDEFS_EOF : RS_ROWS;
		} else {
			break;
		}
		f->seq = seq;
		m->xseq = (uint8_t)(seq + 1);
		m->bytes_in += 4u + len;
		used += 4u + len;
	}
	return used;
}

void proto_mysql_init(struct proto_mysql *m, const struct pt_proto_options *opt,
		      const struct pt_sink *sink)
{
	memset(m, 0, sizeof(*m));
	if (sink)
		m->sink = *sink;
	if (opt && opt->raw) {
		m->raw = 1;
		m->raw_max = opt->raw_max;
		if (m->raw_max == 0 || m->raw_max > PT_TEXT_MAX)
			m->raw_max = PT_TEXT_MAX;
	}
	m->phase = PH_GREETING;
	m->eof_mode = 1;
	m->q = m->q0;
	m->q_mask = PROTO_MYSQL_QUEUE_MAX - 1;
	m->arena = m->arena0;
	text_ring_init(&m->text, PROTO_MYSQL_ARENA_SIZE);
	m->spill = opt ? opt->spill : NULL;
}

enum pt_feed_status proto_mysql_feed(struct proto_mysql *m, enum pt_dir dir,
				     const uint8_t *buf, size_t len,
				     uint64_t now_ns)
{
	size_t i = 0;

	if (m->phase == PH_STOPPED)
		return PT_FEED_STOPPED;
	if (dir != PT_DIR_OUT && dir != PT_DIR_IN) {
		desync(m, "bad direction");
		return PT_FEED_STOPPED;
	}
	struct proto_mysql_framer *f = &m->fr[dir];
	while (i < len && m->phase < PH_IGNORE) {
		if (!f->in_payload) {
			if (!f->started && dir == PT_DIR_IN && !f->hdr_have) {
				i += packets_whole(m, f, buf + i, len - i);
				if (i == len)
					break;
			}
			if (!f->started)
				payload_begin(m, f, dir, now_ns);
			if (f->hdr_have == 0 && len - i >= 4) {
				/* the usual case, a whole header: one fixed
				 * 4-byte copy instead of a memcpy call */
				memcpy(f->hdr, buf + i, 4);
				i += 4;
			} else {
				size_t k = 4u - f->hdr_have;
				if (k > len - i)
					k = len - i;
				memcpy(f->hdr + f->hdr_have, buf + i, k);
				f->hdr_have = (uint8_t)(f->hdr_have + k);
				i += k;
				if (f->hdr_have < 4)
					break;
				f->hdr_have = 0;
			}
			if (packet_begin(m, f, dir) < 0)
				break;
		}
		size_t k = f->left < len - i ? f->left : len - i;
		if (k) {
			payload_bytes(m, f, buf + i, k);
			f->left -= (uint32_t)k;
			i += k;
		}
		if (f->left)
			break;
		f->in_payload = 0;
		if (!f->cont && payload_done(m, f, dir, now_ns) < 0)
			break;
	}
	return m->phase == PH_STOPPED ? PT_FEED_STOPPED : PT_FEED_OK;
}

void proto_mysql_close(struct proto_mysql *m, uint64_t now_ns)
{
	if (m->phase == PH_COMMAND) {
		while (m->q_count)
			finish(m, now_ns, PT_OUT_ABORTED, 0);
	}
	m->phase = PH_STOPPED;
	m->q_count = m->q_head = 0;
	void *q = m->q;
	pt_spill_ring_free(m->spill, &q, &m->q_mask, sizeof(*m->q), m->q0,
			   PROTO_MYSQL_QUEUE_MAX);
	m->q = q;
	if (m->arena != m->arena0)
		m->spill->put(m->arena, m->text.size);
	m->arena = m->arena0;
	text_ring_init(&m->text, PROTO_MYSQL_ARENA_SIZE);
}

int proto_mysql_idle(const struct proto_mysql *m)
{
	for (int d = 0; d < 2; d++)
		if (m->fr[d].hdr_have || m->fr[d].in_payload ||
		    m->fr[d].started)
			return 0;
	return m->phase == PH_COMMAND && m->q_count == 0;
}

int proto_mysql_resume_tls(struct proto_mysql *m)
{
	if (m->phase != PH_STOPPED || !m->tls_wait)
		return -1;
	m->tls_wait = 0;
	memset(m->fr, 0, sizeof(m->fr));
	m->phase = PH_HS_RESPONSE;
	return 0;
}

int proto_mysql_sniff(const uint8_t *buf, size_t len)
{
	if (len < 5)
		return 0;
	uint32_t plen = le24(buf);
	/* protocol byte, version >= 1 char + NUL, conn id, salt, filler, caps
	 */
	if (buf[3] != 0 || buf[4] != 10 || plen < 1 + 2 + 4 + 8 + 1 + 2 ||
	    plen > GREETING_MAX)
		return 0;
	for (size_t i = 5; i < len && i < 4u + plen; i++) {
		if (buf[i] == '\0')
			return i > 5;
		if (buf[i] < 0x20 || buf[i] > 0x7e)
			return 0;
	}
	return 1;
}

uint16_t proto_mysql_last_error(const struct proto_mysql *m,
				const char **sqlstate)
{
	if (sqlstate)
		*sqlstate = m->last_sqlstate;
	return m->last_error;
}

_Static_assert(sizeof(struct proto_mysql) < 48 * 1024,
	       "proto_mysql context must stay under 48 KiB");
