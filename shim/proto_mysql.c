/*
 * proto_mysql.c -- MySQL/MariaDB client-protocol decoder: bytes of one
 * client connection in, one timed struct pt_op per command out.
 *
 * This file frames packets and holds the public functions; the rest of
 * the decoder, one job a file (private declarations in proto_mysql_int.h):
 *   proto_mysql_handshake.c  greeting, handshake response, auth exchange
 *   proto_mysql_command.c    client packets: commands and their text
 *   proto_mysql_response.c   OK / ERR / EOF and the response states
 *   proto_mysql_queue.c      statements, text arena, queue, events
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
#include "proto_mysql_int.h"

#include <string.h>

/* ---- the packet framer and the public functions ------------------------ */

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
		return proto_mysql_desync(m, "response without a command");
	if (dir == PT_DIR_IN && m->phase == PH_HS_RESPONSE)
		return proto_mysql_desync(
		    m, "server spoke before the handshake response");
	if (dir == PT_DIR_OUT && m->phase == PH_GREETING)
		return proto_mysql_desync(m,
					  "client spoke before the greeting");
	if (m->phase == PH_GREETING && len > GREETING_MAX)
		return proto_mysql_desync(m, "impossible greeting length");
	if (seq != want)
		return proto_mysql_desync(m, "bad sequence id");
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
		return proto_mysql_on_greeting(m, f);
	case PH_HS_RESPONSE:
		return proto_mysql_on_hs_response(m, f);
	case PH_AUTH:
		return proto_mysql_on_auth(m, dir, f, now);
	case PH_COMMAND:
		return dir == PT_DIR_OUT ? proto_mysql_on_client(m, f)
					 : proto_mysql_on_response(m, f, now);
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
		proto_mysql_desync(m, "bad direction");
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
			proto_mysql_finish(m, now_ns, PT_OUT_ABORTED, 0);
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
