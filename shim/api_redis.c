/*
 * api_redis.c -- hiredis's blocking API as events (api_redis.h).
 *
 * Sections:
 *   1. the context table
 *   2. the decoder's sink
 *   3. replies re-encoded as RESP
 *   4. the public calls
 *
 * Invariants of a slot (struct ctx_slot):
 *   R1. key is claimed by CAS from NULL or FREED to CLAIMING at connect,
 *       the slot filled, then key set to the context, release;
 *       api_redis_find reads key with acquire, so a slot found is a slot
 *       filled.  key becomes FREED, release, at redisFree (or a connect
 *       whose slot could not be filled), never NULL again: a probe stops
 *       at NULL, so that a miss (an untracked context) costs one or two
 *       loads, and FREED keeps the probe going to slots claimed past it.
 * Between the two the slot is used only by the thread the program lets use the
 * context (hiredis's rule). R2. fed <= the length of obuf when a hook runs: the
 * front fed bytes of obuf went to the decoder already, the rest has not. R3.
 * dec is spill memory of sizeof(struct proto_redis), taken at connect, given
 * back at free; once broken, nothing more is fed.
 */
#include <hiredis/hiredis.h>
#include <string.h>

#include "api_redis.h"
#include "op_event.h"
#include "proto_redis.h"

/* ---- 1. the context table ---- */

#define CLAIMING ((void *)1) /* R1: key while the slot is being filled */
#define FREED	 ((void *)2) /* R1: a slot given back */
/* Slots probed from a context's hash: past it the table counts as full.
 * Contexts are few (one per connection); 16 keeps a miss a few loads. */
#define PROBE 16u

struct ctx_slot {
	void *key; /* redisContext *; NULL = never used, FREED (R1) */
	uint32_t conn_id;
	int fd;
	int broken; /* R3 */
	size_t fed; /* R2 */
	uint64_t events;
	uint64_t connect_ns;
	const void *reply_fns;	   /* the reader's at connect */
	struct pt_peer peer; /* repeated in the close record */
	struct proto_redis *dec;   /* R3 */
	struct pt_sink sink;
};

static struct ctx_slot slots[PT_REDIS_CTX_SLOTS];
/* Slots in use: 0 lets a program with only untracked contexts (async)
 * skip the probe.  Relaxed: a stale value costs one probe, never a miss
 * of the caller's own context (it saw its own connect). */
static uint32_t live;
static struct pt_api_out out;
static const struct pt_spill *spill;
static void (*take_fd)(int fd);

static uint32_t ctx_hash(const void *ctx)
{
	uint64_t h = (uint64_t)(uintptr_t)ctx;
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdull; /* murmur3's finalizer: spreads malloc'd
				       pointers (16-byte aligned) */
	h ^= h >> 33;
	return (uint32_t)h & (PT_REDIS_CTX_SLOTS - 1);
}

static struct ctx_slot *ctx_find(const void *ctx)
{
	uint32_t h = ctx_hash(ctx);
	for (uint32_t i = 0; i < PROBE; i++) {
		struct ctx_slot *s = &slots[(h + i) & (PT_REDIS_CTX_SLOTS - 1)];
		void *k = __atomic_load_n(&s->key, __ATOMIC_ACQUIRE); /* R1 */
		if (k == ctx)
			return s;
		if (!k)
			break;
	}
	return NULL;
}

static struct ctx_slot *ctx_claim(const void *ctx)
{
	uint32_t h = ctx_hash(ctx);
	for (uint32_t i = 0; i < PROBE; i++) {
		struct ctx_slot *s = &slots[(h + i) & (PT_REDIS_CTX_SLOTS - 1)];
		void *k = __atomic_load_n(&s->key, __ATOMIC_RELAXED);
		if ((k == NULL || k == FREED) &&
		    __atomic_compare_exchange_n(&s->key, &k, CLAIMING, 0,
						__ATOMIC_ACQUIRE,
						__ATOMIC_RELAXED))
			return s;
	}
	return NULL;
}

static void ctx_release(struct ctx_slot *s)
{
	__atomic_sub_fetch(&live, 1, __ATOMIC_RELAXED);
	__atomic_store_n(&s->key, FREED, __ATOMIC_RELEASE); /* R1 */
}

/* ---- 2. the decoder's sink ---- */

static void sink_op(void *arg, const struct pt_op *op)
{
	struct ctx_slot *s = arg;
	struct pt_event ev = pt_op_to_event(op, s->conn_id);
	ev.flags |= PT_EV_API;
	s->events++;
	if (out.event)
		out.event(&ev);
}

static void sink_note(void *arg, enum pt_note note, const char *text,
		      size_t len, uint64_t value)
{
	(void)arg, (void)text, (void)len, (void)value;
	if (!out.drop)
		return;
	if (note == PT_NOTE_DESYNC)
		out.drop(PT_DROP_DESYNC);
	else if (note == PT_NOTE_QUEUE_FULL)
		out.drop(PT_DROP_QUEUE_FULL);
}

/* Start s's decoder afresh (connect, redisReconnect). */
static void slot_start(struct ctx_slot *s, int fd)
{
	struct pt_proto_options opt = {
	    .raw = out.raw,
	    .raw_max = out.raw_max,
	    .spill = spill,
	};
	s->sink = (struct pt_sink){sink_op, sink_note, s};
	proto_redis_init(s->dec, &opt, &s->sink);
	s->fd = fd;
	s->fed = 0;
	s->broken = 0;
	if (fd >= 0 && take_fd)
		take_fd(fd);
}

/* ---- 3. replies re-encoded as RESP ---- */

/* hiredis keeps nesting to 9 levels (read.c); beyond 32 the decoder
 * would call it a desync anyway. */
#define ENC_DEPTH 32
/* Payloads longer than this go to the decoder as they are, uncopied. */
#define ENC_DIRECT 128

struct enc {
	struct proto_redis *dec;
	uint64_t t;
	size_t n;
	char buf[512];
};

static void enc_flush(struct enc *e)
{
	if (e->n)
		proto_redis_feed(e->dec, PT_DIR_IN, (const uint8_t *)e->buf,
				 e->n, e->t);
	e->n = 0;
}

static void enc_put(struct enc *e, const void *p, size_t len)
{
	if (len > sizeof(e->buf) - e->n)
		enc_flush(e);
	if (len >= ENC_DIRECT) {
		enc_flush(e);
		proto_redis_feed(e->dec, PT_DIR_IN, p, len, e->t);
		return;
	}
	memcpy(e->buf + e->n, p, len);
	e->n += len;
}

/* A header line: the type byte, a number, CRLF. */
static void enc_num(struct enc *e, char type, long long v)
{
	char tmp[24];
	size_t i = sizeof(tmp);
	unsigned long long u =
	    v < 0 ? 0ull - (unsigned long long)v : (unsigned long long)v;
	tmp[--i] = '\n';
	tmp[--i] = '\r';
	do
		tmp[--i] = (char)('0' + u % 10);
	while (u /= 10);
	if (v < 0)
		tmp[--i] = '-';
	tmp[--i] = type;
	enc_put(e, tmp + i, sizeof(tmp) - i);
}

static void enc_line(struct enc *e, char type, const char *s, size_t len)
{
	enc_put(e, &type, 1);
	enc_put(e, s, len);
	enc_put(e, "\r\n", 2);
}

static void enc_reply(struct enc *e, const redisReply *r, int depth)
{
	switch (r->type) {
	case REDIS_REPLY_STRING:
		enc_num(e, '$', (long long)r->len);
		enc_put(e, r->str, r->len);
		enc_put(e, "\r\n", 2);
		return;
	case REDIS_REPLY_STATUS:
		enc_line(e, '+', r->str, r->len);
		return;
	case REDIS_REPLY_ERROR:
		enc_line(e, '-', r->str, r->len);
		return;
	case REDIS_REPLY_INTEGER:
		enc_num(e, ':', r->integer);
		return;
	case REDIS_REPLY_ARRAY:
		if (depth >= ENC_DEPTH)
			break;
		enc_num(e, '*', (long long)r->elements);
		for (size_t i = 0; i < r->elements; i++)
			enc_reply(e, r->element[i], depth + 1);
		return;
	case REDIS_REPLY_NIL:
		enc_put(e, "$-1\r\n", 5);
		return;
	}
	/* Not a RESP2 type hiredis 0.14 makes: a null keeps the pairing. */
	enc_put(e, "$-1\r\n", 5);
}

/* ---- 4. the public calls ---- */

void api_redis_init(const struct pt_api_out *o, const struct pt_spill *sp,
		    void (*take)(int fd))
{
	out = *o;
	spill = sp;
	take_fd = take;
}

void api_redis_reset_all(void)
{
	for (uint32_t i = 0; i < PT_REDIS_CTX_SLOTS; i++) {
		struct ctx_slot *s = &slots[i];
		void *k = __atomic_load_n(&s->key, __ATOMIC_ACQUIRE);
		if (k && k != CLAIMING && k != FREED)
			api_redis_free(k, 0);
		/* Tests only, one thread: the table as new (R1). */
		__atomic_store_n(&s->key, NULL, __ATOMIC_RELAXED);
	}
}

static void emit_connect(uint32_t conn_id, int err, uint64_t t0, uint64_t t1)
{
	static const char text[] = "CONNECT";
	struct pt_event ev = {
	    .kind = PT_KIND_REDIS,
	    .outcome = err ? PT_OUT_ERROR : PT_OUT_OK,
	    .start_ns = t0,
	    .duration_ns = t1 > t0 ? t1 - t0 : 0,
	    .conn_id = conn_id,
	    .status = err ? PT_REDIS_ERR_OTHER : 0,
	    .flags = PT_EV_API,
	    .text = text,
	    .text_len = sizeof(text) - 1,
	};
	if (out.event)
		out.event(&ev);
}

void api_redis_connect(void *ctx, int fd, const struct pt_peer *peer,
		       const void *reply_fns, int err, uint64_t t0, uint64_t t1)
{
	uint32_t id = out.conn_id ? out.conn_id() : 0;
	if (err || !ctx) {
		emit_connect(0, 1, t0, t1);
		return;
	}
	/* A context the program freed without redisFree, its address
	 * reused: the old slot is stale. */
	if (ctx_find(ctx))
		api_redis_free(ctx, t0);
	struct ctx_slot *s = ctx_claim(ctx);
	void *dec = s && spill ? spill->get(sizeof(struct proto_redis)) : NULL;
	if (!dec) {
		/* Left to the socket path: its commands still count. */
		if (s)
			__atomic_store_n(&s->key, FREED, __ATOMIC_RELEASE);
		if (out.drop)
			out.drop(PT_DROP_CONN_TABLE);
		emit_connect(id, 0, t0, t1);
		return;
	}
	s->dec = dec;
	s->conn_id = id;
	s->events = 1;
	s->connect_ns = t1 > t0 ? t1 - t0 : 1;
	s->reply_fns = reply_fns;
	memset(&s->peer, 0, sizeof(s->peer));
	if (peer)
		s->peer = *peer;
	slot_start(s, fd);
	struct pt_conn_info ci = {
	    .event = PT_CONN_OPEN,
	    .role = PT_ROLE_CLIENT,
	    .proto = PT_PROTO_REDIS,
	    .conn_id = id,
	    .family = s->peer.family,
	    .port = s->peer.port,
	    .time_ns = t0,
	    .connect_ns = s->connect_ns,
	};
	memcpy(ci.addr, s->peer.addr, sizeof(ci.addr));
	if (out.conn)
		out.conn(&ci);
	emit_connect(id, 0, t0, t1);
	__atomic_add_fetch(&live, 1, __ATOMIC_RELAXED);
	__atomic_store_n(&s->key, ctx, __ATOMIC_RELEASE); /* R1 */
}

void *api_redis_find(void *ctx)
{
	if (__builtin_expect(__atomic_load_n(&live, __ATOMIC_RELAXED) == 0, 1))
		return NULL;
	return ctx ? ctx_find(ctx) : NULL;
}

void api_redis_send(void *slot, int fd, const char *obuf, size_t len,
		    uint64_t now)
{
	struct ctx_slot *s = slot;
	if (fd != s->fd) {
		/* redisReconnect: a new socket, an empty obuf; what was
		 * outstanding on the old one will never be answered. */
		proto_redis_close(s->dec, now);
		slot_start(s, fd);
	}
	if (s->broken)
		return;
	if (len < s->fed) /* R2: obuf written behind our back */
		s->fed = len;
	if (len > s->fed)
		proto_redis_feed(s->dec, PT_DIR_OUT,
				 (const uint8_t *)obuf + s->fed, len - s->fed,
				 now);
	s->fed = len;
}

void api_redis_sent(void *slot, size_t len)
{
	struct ctx_slot *s = slot;
	/* hiredis drops what it wrote from obuf's front: what is left was
	 * fed already (R2). */
	if (len < s->fed)
		s->fed = len;
}

void api_redis_reply(void *slot, const struct redisReply *reply,
		     const void *reply_fns, int broken, uint64_t t1)
{
	struct ctx_slot *s = slot;
	if (s->broken)
		return;
	if (reply_fns != s->reply_fns) {
		/* Not a redisReply: reading it could fault.  What is
		 * outstanding aborts, the rest is not measured. */
		broken = 1;
		reply = NULL;
	}
	if (reply) {
		struct enc e = {.dec = s->dec, .t = t1};
		enc_reply(&e, reply, 0);
		enc_flush(&e);
	}
	if (broken) {
		proto_redis_close(s->dec, t1);
		s->broken = 1;
	}
}

void api_redis_reconnect(void *ctx, int fd, int ok, uint64_t now)
{
	struct ctx_slot *s = api_redis_find(ctx);
	if (!s)
		return;
	proto_redis_close(s->dec, now);
	slot_start(s, ok ? fd : -1);
	s->broken = !ok;
}

void api_redis_free(void *ctx, uint64_t now)
{
	struct ctx_slot *s = ctx ? api_redis_find(ctx) : NULL;
	if (!s)
		return;
	proto_redis_close(s->dec, now);
	struct pt_conn_info ci = {
	    .event = PT_CONN_CLOSE,
	    .role = PT_ROLE_CLIENT,
	    .proto = PT_PROTO_REDIS,
	    .family = s->peer.family,
	    .port = s->peer.port,
	    .conn_id = s->conn_id,
	    .time_ns = now,
	    .events = s->events,
	    .connect_ns = s->connect_ns,
	};
	memcpy(ci.addr, s->peer.addr, sizeof(ci.addr));
	if (out.conn)
		out.conn(&ci);
	spill->put(s->dec, sizeof(struct proto_redis));
	s->dec = NULL;
	ctx_release(s);
}
