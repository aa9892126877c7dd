/*
 * proto_mysql_response.c -- the MySQL command phase, server side:
 * OK / ERR / EOF packets and the response states of the head command
 * (result sets, prepared-statement definitions, LOCAL INFILE, auth).
 *
 * Sections:
 *   1. OK, ERR and EOF packets
 *   2. response states (one function per state, one dispatch switch)
 */
#include "proto_mysql_int.h"

#include <string.h>

/* ---- 1. OK, ERR and EOF packets ---------------------------------------- */

/* ERR packet: 0xFF, code, ['#', SQLSTATE]. */
static int parse_err(struct proto_mysql *m, const struct proto_mysql_framer *f,
		     uint32_t *code)
{
	if (f->head_len < 3)
		return proto_mysql_desync(m, "short ERR packet");
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
		return proto_mysql_desync(m, "bad OK packet");
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

/* ---- 2. response states ---------------------------------------------------
 * Each takes the completed server payload of the head command. */

static int rs_error(struct proto_mysql *m, const struct proto_mysql_framer *f,
		    uint64_t now)
{
	uint32_t code;

	if (parse_err(m, f, &code) < 0)
		return -1;
	if (code == 0xFFFF) /* MariaDB progress report, not the reply */
		return 0;
	return proto_mysql_finish(m, now, PT_OUT_ERROR, (int32_t)code);
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
		proto_mysql_stmt_clear(m);
	if ((status & SERVER_MORE_RESULTS_EXISTS) &&
	    (com == COM_QUERY || resp_class(com) == RC_EXEC))
		return 0;
	return proto_mysql_finish(m, now, PT_OUT_OK, 0);
}

static int rs_column_count(struct proto_mysql *m,
			   const struct proto_mysql_framer *f, uint8_t com)
{
	size_t pos = 0;
	uint64_t ncols;

	if (lenenc(f->head, f->head_len, &pos, &ncols) < 0 || ncols == 0 ||
	    ncols > COLUMNS_MAX)
		return proto_mysql_desync(m, "bad column count");
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
		return proto_mysql_desync(m, "bad PREPARE_OK");
	uint32_t id = le32(f->head + 1), cols = le16(f->head + 5),
		 params = le16(f->head + 7);
	static const char prefix[] = "PREPARE ";
	if (c->text_off != TEXT_NONE && c->text_len >= sizeof(prefix) - 1)
		proto_mysql_stmt_put(
		    m, id, m->arena + c->text_off + sizeof(prefix) - 1,
		    c->text_len - (sizeof(prefix) - 1), c->flags);
	else
		proto_mysql_stmt_put(m, id, "", 0, PT_EV_TRUNCATED);
	m->last_stmt_id = id;
	m->cols_left = params ? params : cols;
	m->prep_cols = params ? cols : 0;
	if (m->cols_left == 0)
		return proto_mysql_finish(m, now, PT_OUT_OK, 0);
	m->rstate = RS_PREP_DEFS;
	return 0;
}

static int rs_first(struct proto_mysql *m, const struct proto_mysql_framer *f,
		    uint64_t now)
{
	uint8_t com = q_head(m)->com, h0 = f->head[0];
	enum resp_class rc = resp_class(com);

	if (rc == RC_STRING)
		return proto_mysql_finish(m, now, PT_OUT_OK, 0);
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
			return proto_mysql_desync(m,
						  "unexpected result header");
		return rs_column_count(m, f, com);
	case RC_PREPARE:
		if (h0 != 0x00)
			return proto_mysql_desync(
			    m, "unexpected PREPARE response");
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
			return proto_mysql_desync(
			    m, "unexpected CHANGE_USER response");
		m->rstate = RS_AUTH;
		return 0;
	default:
		if (h0 == 0x00)
			return rs_ok(m, f, now, com);
		if (h0 == 0xFE && f->total < EOF_MAX_LEN)
			return proto_mysql_finish(m, now, PT_OUT_OK, 0);
		return proto_mysql_desync(m, "unexpected response");
	}
}

static int rs_coldefs(struct proto_mysql *m, const struct proto_mysql_framer *f,
		      uint64_t now)
{
	if (f->head[0] == 0xFF)
		return rs_error(m, f, now);
	if (f->head[0] != COLDEF_FIRST)
		return proto_mysql_desync(m, "bad column definition");
	if (--m->cols_left == 0)
		m->rstate = m->eof_mode ? RS_COLDEFS_EOF : RS_ROWS;
	return 0;
}

static int rs_coldefs_eof(struct proto_mysql *m,
			  const struct proto_mysql_framer *f, uint64_t now)
{
	if (f->head[0] != 0xFE || f->total >= EOF_MAX_LEN)
		return proto_mysql_desync(
		    m, "missing EOF after column definitions");
	/* A cursor was opened: rows come with COM_STMT_FETCH. */
	if ((eof_status(f) & SERVER_STATUS_CURSOR_EXISTS) &&
	    resp_class(q_head(m)->com) == RC_EXEC)
		return proto_mysql_finish(m, now, PT_OUT_OK, 0);
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
		return proto_mysql_finish(m, now, PT_OUT_OK, 0);
	}
	/* binary rows (EXECUTE, FETCH) start with a 0x00 header */
	if (resp_class(com) != RC_RESULT && f->head[0] != 0x00)
		return proto_mysql_desync(m, "bad binary row");
	m->rows++;
	return 0;
}

static int rs_prep_defs(struct proto_mysql *m,
			const struct proto_mysql_framer *f, uint64_t now)
{
	if (f->head[0] != COLDEF_FIRST)
		return proto_mysql_desync(m, "bad PREPARE definition");
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
	return proto_mysql_finish(m, now, PT_OUT_OK, 0);
}

static int rs_prep_eof(struct proto_mysql *m,
		       const struct proto_mysql_framer *f, uint64_t now)
{
	if (f->head[0] != 0xFE || f->total >= EOF_MAX_LEN)
		return proto_mysql_desync(
		    m, "missing EOF after PREPARE definitions");
	if (m->prep_cols) {
		m->cols_left = m->prep_cols;
		m->prep_cols = 0;
		m->rstate = RS_PREP_DEFS;
		return 0;
	}
	return proto_mysql_finish(m, now, PT_OUT_OK, 0);
}

static int rs_fields(struct proto_mysql *m, const struct proto_mysql_framer *f,
		     uint64_t now)
{
	if (f->head[0] == 0xFF)
		return rs_error(m, f, now);
	if (is_terminator(m, f))
		return proto_mysql_finish(m, now, PT_OUT_OK, 0);
	if (f->head[0] != COLDEF_FIRST)
		return proto_mysql_desync(m, "bad field definition");
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
int proto_mysql_on_response(struct proto_mysql *m,
			    const struct proto_mysql_framer *f, uint64_t now)
{
	int rc = -2;

	if (f->total == 0)
		return proto_mysql_desync(m, "empty response packet");
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
			rc = proto_mysql_desync(
			    m, "server spoke during LOCAL INFILE");
		}
	}
	return rc;
}
