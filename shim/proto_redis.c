/*
 * proto_redis.c -- Redis RESP2/RESP3 client-side decoder.
 *
 * Bytes the client sends (PT_DIR_OUT) are requests, bytes it receives
 * (PT_DIR_IN) are replies.  Requests are parsed into a FIFO of outstanding
 * entries; each complete top-level reply pairs with the oldest one and
 * becomes one struct pt_op.  Like hiredis read.c: pure, incremental (any
 * split of the stream gives the same events), strict integers with overflow
 * checks, a sticky error (PT_NOTE_DESYNC + PT_FEED_STOPPED) rather than a
 * guess: a wrong pairing is never produced.
 *
 * Files:
 *   proto_redis_int.h      limits, states and helpers the files share
 *   proto_redis_request.c  request parser, texts and the FIFO
 *   proto_redis_reply.c    reply parser and the pairing of a reply
 *   redis_cmds.c           the command table and its cache rules
 *   proto_redis.c          this file: the layout checks, public functions
 *
 * Sections:
 *   1. layout checks
 *   2. public functions
 *
 * Choices (documented here because callers and reports rely on them):
 *   - Text: "COMMAND pattern" with the first key through
 *     pt_redis_key_pattern(); "CLIENT SETNAME" for two-word commands
 *     (the sub-command word only, never its arguments); no key for
 *     commands whose key position is unknown.  AUTH and HELLO arguments are
 *     never copied anywhere but a 32-byte scratch word that is not text.
 *   - rows: keys touched (1, or every key for DEL/MGET/EXISTS..., pairs for
 *     MSET); EXEC: commands queued; SUBSCRIBE: channels.
 *   - Cache: GET GETEX GETDEL HGET LINDEX ZSCORE: nil = miss, else hit;
 *     MGET HMGET per element; HGETALL SMEMBERS: empty = miss; EXISTS
 *     HEXISTS: the integer is the hits, the other keys misses.  Errors
 *     count neither.
 *   - MULTI and commands queued after it give no event; their +OK/+QUEUED
 *     replies are consumed.  EXEC gives one event, text "EXEC (CMD
 *     pattern; ...)" cut at PROTO_REDIS_TEXT_CAP (PT_EV_TRANSACTION, plus
 *     PT_EV_TRUNCATED when cut), rows = commands queued, timed from the
 *     first byte of MULTI to the last byte of EXEC's reply, bytes_out the
 *     whole transaction.  A WATCH-aborted EXEC (null reply) is PT_OUT_OK
 *     with cache counts 0.  DISCARD is an ordinary event.
 *   - EXEC's cache counts: each element of its array is counted as the
 *     queued command's own reply would be outside a transaction (same
 *     rules, same function), and summed, so that a dump's hits and misses
 *     equal Redis's keyspace_hits / keyspace_misses, which count reads
 *     inside EXEC too.  The queued commands' kinds wait in a FIFO of
 *     PROTO_REDIS_TX_KINDS shared by outstanding transactions; a queued
 *     command past it is not counted and the event has PT_EV_SATURATED.
 *     If the array's length differs from the commands queued (WATCH inside
 *     MULTI is answered at once, not queued), nothing is counted: a
 *     misaligned count would be wrong, a missing one is only incomplete.
 *   - A queued command that failed at run time (an error element: EXEC
 *     itself succeeds, the others ran) makes the EXEC event PT_OUT_ERROR
 *     with that first error's prefix as status: the transaction's work
 *     did not all happen, the application sees it fail (redis-py's
 *     execute() raises), and error_rate must show it.  The reads that
 *     succeeded beside it still count their hits and misses, as Redis
 *     counted them.  EXECABORT (refused at queue time) is the top-level
 *     error, with no cache counts.
 *   - SELECT n: the db is kept (proto_redis_db()), not put in the text.
 *   - Pub/sub: one event per (P|S)(UN)SUBSCRIBE command, ended by its last
 *     confirmation (one per channel; UNSUBSCRIBE with no channel: one per
 *     channel then subscribed, at least one).  RESP2 "message"/"pmessage"/
 *     "smessage" arrays while subscribed, and every RESP3 push that is not
 *     an awaited confirmation, are counted in pushes, never paired.
 *   - MONITOR: one event for the command itself (ended by its +OK); the
 *     lines streamed after it are counted in pushes, never paired, until
 *     RESET.
 *   - Deep pipelines: past the context's ring[] the FIFO moves into spill
 *     memory (options->spill), fourfold each time, up to RING_MAX.
 *     Requests past that (or past ring[] without a spill, or when the
 *     spill fails): counted in `untracked`, their replies eaten
 *     without an event, one PT_NOTE_QUEUE_FULL per request (value 1).
 *     A request arriving while untracked ones are outstanding is untracked
 *     too, so order is kept.
 *   - Not supported (desync): RESP3 streamed strings/aggregates ("$?",
 *     "*?"), which Redis itself never sends.  Inline quoting ("a b") is not
 *     unquoted: words split at blanks.
 *   - A partly sent request at close gives no event.
 */
#include "proto_redis_int.h"

#include "redis_cmds.h"

/* ---- 1. layout checks ---------------------------------------------------- */

_Static_assert(PROTO_REDIS_TEXTS < NO_TEXT, "text slot ids are uint8_t");
_Static_assert(PROTO_REDIS_TEXT_CAP <= PT_TEXT_MAX, "text fits a record");
_Static_assert(RESP_FAST_DIGITS + 1 <= PROTO_REDIS_LINE,
	       "a fast-path length line fits rq_line");
_Static_assert(PROTO_REDIS_TX_KINDS <= UINT8_MAX, "EXEC's kinds kept: arg");
/* proto_redis_init clears all but ring[] and texts[]: they must sit
 * between the cleared parts. */
_Static_assert(offsetof(struct proto_redis, untracked) <
		       offsetof(struct proto_redis, ring) &&
		   offsetof(struct proto_redis, texts) <
		       offsetof(struct proto_redis, text_len),
	       "init's cleared ranges");
_Static_assert((PROTO_REDIS_RING & (PROTO_REDIS_RING - 1)) == 0,
	       "ring index wraps by mask");

/* ---- 2. public functions ------------------------------------------------- */

/* Note: the ring and the text bodies (40 of the context's 42 KiB) are not
 * cleared: a ring slot is written before it is counted, a text before its
 * refcount is set.  A connection table of mostly idle slots thus only
 * touches the pages it uses. */
void proto_redis_init(struct proto_redis *r, const struct pt_proto_options *opt,
		      const struct pt_sink *sink)
{
	size_t lens = offsetof(struct proto_redis, text_len);

	memset(r, 0, offsetof(struct proto_redis, ring));
	memset((char *)r + lens, 0, sizeof(*r) - lens);
	r->sink = sink;
	r->q = r->ring;
	r->q_mask = PROTO_REDIS_RING - 1;
	r->spill = opt ? opt->spill : NULL;
	r->text_last = PROTO_REDIS_TEXTS;
	if (opt && opt->raw) {
		r->raw = 1;
		r->raw_max = opt->raw_max < PROTO_REDIS_TEXT_CAP
				 ? opt->raw_max
				 : PROTO_REDIS_TEXT_CAP;
	}
	redis_rq_reset(r);
	redis_rp_reset(r);
}

enum pt_feed_status proto_redis_feed(struct proto_redis *r, enum pt_dir dir,
				     const uint8_t *buf, size_t len,
				     uint64_t now_ns)
{
	if (r->stopped) {
		r->undecoded += len;
		return PT_FEED_STOPPED;
	}
	if (dir == PT_DIR_OUT)
		return redis_rq_feed(r, buf, len, now_ns);
	return redis_rp_feed(r, buf, len, now_ns);
}

void proto_redis_close(struct proto_redis *r, uint64_t now_ns)
{
	/* After a desync nothing is reported (as the other decoders): the
	 * replies may have come and gone undecoded, and an abort timed at
	 * the close could be hours late. */
	while (r->count && r->stopped) {
		r->rp_bytes = 0;
		ring_pop(r);
	}
	while (r->count) {
		struct proto_redis_entry *e = ring_head(r);
		struct pt_op op;

		if (!(e->flags & ENT_SILENT)) {
			memset(&op, 0, sizeof(op));
			op.outcome = PT_OUT_ABORTED;
			op.end_ns = now_ns;
			op.rows = e->rows;
			op.bytes_in = r->rp_bytes; /* head only: zeroed below */
			redis_emit(r, e, &op);
		}
		ring_pop(r);
		r->rp_bytes = 0;
	}
	r->untracked = 0;
	r->kind_count = r->tx_kept = 0;
	r->stopped = 1;
	void *q = r->q;
	pt_spill_ring_free(r->spill, &q, &r->q_mask, sizeof(*r->q), r->ring,
			   PROTO_REDIS_RING);
	r->q = q;
	r->head = 0;
}

/* Inline: a word the table knows, ended by a blank or line end. */
static int sniff_inline(const uint8_t *buf, size_t len)
{
	char w[PROTO_REDIS_WORD];
	size_t n = 0;

	while (n < len && n < sizeof(w)) {
		uint8_t c = buf[n];

		/* "GET /path HTTP/1.1" is HTTP, not an inline GET */
		if (c == ' ' && n + 1 < len && buf[n + 1] == '/')
			return 0;
		if (c == ' ' || c == '\r' || c == '\n' || c == '\t')
			return n > 0 && redis_cmd_lookup(w, n) != 0;
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      c == '_'))
			return 0;
		w[n++] = upper((char)c);
	}
	return 0;
}

int proto_redis_sniff(const uint8_t *buf, size_t len)
{
	size_t i = 1;

	if (len == 0)
		return 0;
	if (buf[0] != '*')
		return sniff_inline(buf, len);
	/* "*N\r\n$": N of 1 to 10 digits, not starting with 0. */
	if (i >= len || buf[i] < '1' || buf[i] > '9')
		return 0;
	while (i < len && buf[i] >= '0' && buf[i] <= '9' && i <= 10)
		i++;
	if (i == len)
		return 1;
	if (buf[i] != '\r')
		return 0;
	if (++i == len)
		return 1;
	if (buf[i] != '\n')
		return 0;
	if (++i == len)
		return 1;
	return buf[i] == '$';
}

int proto_redis_idle(const struct proto_redis *r)
{
	return !r->stopped && !r->count && !r->untracked && !r->tx_open &&
	       r->rq_state == RQ_START && r->rp_state == RP_TYPE &&
	       r->rp_depth == 0;
}

int64_t proto_redis_db(const struct proto_redis *r)
{
	return r->db;
}

uint64_t proto_redis_pushes(const struct proto_redis *r)
{
	return r->pushes;
}
