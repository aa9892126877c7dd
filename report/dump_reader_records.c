/*
 * dump_reader_records.c -- decode the records of a chunk: the size
 * and bounds checks shared by the scan at open and by iteration, events
 * and conns copied into their reader structs, strings, and the v2 stacks
 * and modules.
 *
 * Sections:
 *   1. record decoding
 *   2. stack records
 *   3. stacks and modules (v2)
 */
#include <string.h>

#include "dump_reader_int.h"

/* ---- 1. record decoding ------------------------------------------------ */

/* Sizes below which a known record type cannot be read. */
static uint32_t min_size(uint16_t type)
{
	switch (type) {
	case PT_REC_STRING:
		return sizeof(struct pt_string_record) + 1;
	case PT_REC_EVENT:
		return PT_EVENT_V1_SIZE; /* older, shorter records too */
	case PT_REC_CONN:
		return PT_CONN_V1_SIZE;
	case PT_REC_SAMPLE:
		return sizeof(struct pt_sample_record);
	default:
		return sizeof(struct pt_record_header);
	}
}

/*
 * The record at off of chunk ch (I4, I5): *size and *type on RD_OK.  A
 * string record is checked whole (length, NUL) here too.
 */
enum rd_status rd_rec_at(const struct pt_dump *d, const struct rd_chunk *ch,
			 uint32_t off, uint32_t *size, uint16_t *type)
{
	uint32_t csize = d->hdr.chunk_size;
	if (off + sizeof(struct pt_record_header) > csize)
		return RD_END;
	const struct pt_record_header *r = (const void *)(ch->base + off);
	/* Acquire: pairs with the writer's release of the commit word, for a
	 * dump that is still being written. */
	uint64_t commit = __atomic_load_n(&r->commit, __ATOMIC_ACQUIRE);
	if (commit == 0 || pt_commit_seq(commit) != (uint32_t)ch->seq)
		return RD_END;
	uint32_t n = pt_commit_size(commit);
	*type = r->type;
	if (n % 8u || n < min_size(r->type) || n > csize - off)
		return RD_BAD;
	if (r->type == PT_REC_STRING) {
		const struct pt_string_record *s = (const void *)r;
		if (s->len > PT_TEXT_MAX || sizeof(*s) + s->len + 1u > n ||
		    ((const char *)(s + 1))[s->len] != '\0')
			return RD_BAD;
	}
	*size = n;
	return RD_OK;
}

/* Text id -> string, given the strings passed so far in this chunk (I6). */
const char *rd_rec_text(const struct pt_dump *d, const struct rd_chunk *ch,
			uint32_t id, uint32_t strings, uint32_t *len)
{
	*len = 0;
	if (id == 0 || id > strings || id > ch->nstrings)
		return "";
	uint32_t off = d->str_off[ch->str_base + id - 1];
	const struct pt_string_record *s = (const void *)(ch->base + off);
	/* Re-checked: a live writer may have reused the chunk since open. */
	if (off + sizeof(*s) + s->len >= d->hdr.chunk_size ||
	    ((const char *)(s + 1))[s->len] != '\0')
		return "";
	*len = s->len;
	return (const char *)(s + 1);
}

void rd_decode_conn(const struct pt_conn_record *r, struct pt_read_conn *c)
{
	c->event = r->event;
	c->role = r->role;
	c->proto = r->proto;
	c->family = r->family;
	c->port = r->port;
	memcpy(c->addr, r->addr, sizeof(c->addr));
	c->conn_id = r->conn_id;
	c->server_conn_id = r->server_conn_id;
	c->tid = r->tid;
	c->time_ns = r->time_ns;
	c->events = r->events;
	c->undecoded_bytes = r->undecoded_bytes;
	c->connect_ns = r->connect_ns;
	c->auth_ns = r->auth_ns;
	c->conn_flags = r->conn_flags;
}

/* Copy a record of n bytes into a struct of want bytes: an older version's
 * shorter record reads its missing fields as zero; a newer, longer one is
 * cut to what this reader knows. */
void rd_rec_copy(void *dst, size_t want, const void *src, uint32_t n)
{
	size_t take = n < want ? n : want;
	memcpy(dst, src, take);
	memset((uint8_t *)dst + take, 0, want - take);
}

/* Fill out from the EVENT or CONN record of size bytes at off. */
void rd_rec_decode(const struct pt_dump *d, const struct rd_chunk *ch,
		   uint32_t off, uint32_t size, uint16_t type, uint32_t strings,
		   struct pt_read_record *out)
{
	const uint8_t *p = ch->base + off;
	out->type = type;
	out->chunk_seq = ch->seq;
	if (type == PT_REC_EVENT) {
		struct pt_event_record rr;
		const struct pt_event_record *r = &rr;
		rd_rec_copy(&rr, sizeof(rr), p, size);
		pt_event_record_decode(r, &out->ev);
		out->ev.text =
		    rd_rec_text(d, ch, r->text_id, strings, &out->ev.text_len);
	} else {
		struct pt_conn_record rr;
		const struct pt_conn_record *r = &rr;
		rd_rec_copy(&rr, sizeof(rr), p, size);
		rd_decode_conn(r, &out->conn);
		out->conn.text = rd_rec_text(d, ch, r->text_id, strings,
					     &out->conn.text_len);
	}
}

/* Completion time: the merge key. */
uint64_t rd_rec_key(const struct rd_chunk *ch, uint32_t off, uint16_t type)
{
	const uint8_t *p = ch->base + off;
	if (type == PT_REC_CONN)
		return ((const struct pt_conn_record *)p)->time_ns;
	const struct pt_event_record *r = (const void *)p;
	uint64_t end = r->start_ns + r->duration_ns;
	return end < r->start_ns ? UINT64_MAX : end;
}

/* ---- 2. stack records ------------------------------------------------- */

/* The index in d->stk of stack id of chunk ch, found so far; NULL none.
 * Ids increase within a chunk (stack_ok), so a binary search. */
const struct rd_stack *rd_chunk_stack_at(const struct pt_dump *d,
					 const struct rd_chunk *ch, uint32_t id)
{
	if (!ch->nstacks)
		return NULL;
	const struct rd_stack *s = d->stk + ch->stk_base;
	uint32_t lo = 0, hi = ch->nstacks;
	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;
		if (s[mid].id < id)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < ch->nstacks && s[lo].id == id ? &s[lo] : NULL;
}

/* A stack record of size bytes adds up: counts within limits, frames
 * inside the record, ids increasing, names interned before it (I7). */
int rd_stack_ok(const struct rd_chunk *ch, const uint8_t *p, uint32_t size,
		uint32_t last_id)
{
	const struct pt_stack_record *r = (const void *)p;
	if (size < sizeof(*r) || r->n_native > PT_STACK_MAX_NATIVE ||
	    r->n_python > PT_STACK_MAX_PYTHON || r->id <= last_id ||
	    sizeof(*r) + 8u * r->n_native +
		    sizeof(struct pt_py_frame) * r->n_python >
		size)
		return 0;
	const struct pt_py_frame *f =
	    (const void *)(p + sizeof(*r) + 8u * r->n_native);
	for (uint32_t i = 0; i < r->n_python; i++)
		if (f[i].func_id > ch->nstrings || f[i].file_id > ch->nstrings)
			return 0;
	return 1;
}

/* ---- 3. stacks and modules (v2) ---------------------------------------- */

static const struct rd_chunk *chunk_by_seq(const struct pt_dump *d,
					   uint64_t seq)
{
	uint32_t lo = 0, hi = d->nchunks;
	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;
		if (d->chunks[mid].seq < seq)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < d->nchunks && d->chunks[lo].seq == seq ? &d->chunks[lo]
							   : NULL;
}

int pt_dump_stack(const struct pt_dump *d, uint64_t chunk_seq, uint32_t id,
		  struct pt_read_stack *out)
{
	const struct rd_chunk *ch = id ? chunk_by_seq(d, chunk_seq) : NULL;
	const struct rd_stack *s = ch ? rd_chunk_stack_at(d, ch, id) : NULL;
	if (!s)
		return 0;
	const uint8_t *p = ch->base + s->off;
	const struct pt_stack_record *r = (const void *)p;
	/* Re-checked: a live writer may have reused the chunk since open. */
	uint32_t size = pt_commit_size(r->commit);
	if (size > d->hdr.chunk_size - s->off || !rd_stack_ok(ch, p, size, 0))
		return 0;
	out->flags = r->flags;
	out->n_native = r->n_native;
	out->n_python = r->n_python;
	out->native = (const uint64_t *)(p + sizeof(*r));
	const struct pt_py_frame *f =
	    (const void *)(p + sizeof(*r) + 8u * r->n_native);
	for (uint32_t i = 0; i < r->n_python; i++) {
		uint32_t len;
		out->py[i].func =
		    rd_rec_text(d, ch, f[i].func_id, ch->nstrings, &len);
		out->py[i].file =
		    rd_rec_text(d, ch, f[i].file_id, ch->nstrings, &len);
		out->py[i].line = f[i].line;
	}
	return 1;
}

uint32_t pt_dump_modules(const struct pt_dump *d,
			 const struct pt_read_module **out)
{
	*out = d->mods;
	return d->nmods;
}
