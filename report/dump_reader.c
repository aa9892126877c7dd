/*
 * dump_reader.c -- read a perftap dump: validate it, then iterate its
 * committed records, unordered (chunk by chunk) or in completion order (a
 * k-way merge of the chunks).
 *
 * Sections:
 *   1. names for reports
 *   2. header validation (every refusal has a one-line reason)
 *   3. record decoding, shared by validation and iteration
 *   4. chunk scan at open: problems counted, string offsets indexed
 *   5. iteration: foreach, and the merge heap behind pt_dump_next
 *   6. public API (the chunk-order pass last)
 *
 * Trust: the file may be damaged, or still being written (a live process
 * in wrap mode may reuse a chunk under our feet).  So the scan at open
 * counts problems once, and iteration re-checks every size and offset it
 * uses -- a handful of compares per record -- and simply ends a chunk at
 * anything it cannot trust.  Nothing is allocated per record: the string
 * offsets of every chunk are gathered once at open.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "grow.h"
#include "dump_reader.h"

/* Sanity bounds for header fields, so that a damaged header can never ask
 * for absurd arithmetic. */
#define RD_HEADER_SIZE_MAX (16u * 1024 * 1024)
#define RD_CHUNK_SIZE_MAX  (1024u * 1024 * 1024)

struct rd_chunk {
	const uint8_t *base; /* chunk start in the mapping */
	uint64_t seq;
	uint32_t end;	   /* offset where the scan at open stopped */
	uint32_t nstrings; /* strings found at open */
	uint64_t str_base; /* first of them in pt_dump.str_off */
	uint32_t nstacks;  /* v2: valid stacks found at open */
	uint64_t stk_base; /* first of them in pt_dump.stk */
};

/* A valid stack record: its id in the chunk and its offset. */
struct rd_stack {
	uint32_t id, off;
};

/* A chunk's iteration state: the merge heap holds these. */
struct rd_iter {
	uint64_t key;	  /* completion time of the current record */
	uint32_t chunk;	  /* index in pt_dump.chunks (seq order) */
	uint32_t off;	  /* offset of the current record */
	uint32_t strings; /* strings passed so far in this chunk */
	uint32_t size;	  /* of the current record */
	uint16_t type;	  /* of the current record */
};

struct pt_dump {
	char *path;
	const uint8_t *map;
	size_t size;
	struct pt_file_header hdr; /* snapshot: a live writer changes it */
	struct pt_dump_info info;
	struct pt_dump_problems problems;
	struct rd_chunk *chunks;
	uint32_t nchunks;
	uint32_t *str_off;
	uint64_t nstr, capstr;
	struct rd_stack *stk;
	uint64_t nstk, capstk;
	struct pt_read_module *mods;
	uint32_t nmods, capmods;
	struct rd_iter *heap;
	uint32_t heap_len;
	int heap_built;
	const char **vtext; /* the chunk view's string table */
	uint32_t *vlen;
	uint32_t vcap;
	struct pt_sample_record *samples; /* v2: PT_REC_SAMPLE, valid ones */
	size_t nsamples, capsamples;
};

/* ---- 1. names ---------------------------------------------------------- */

static const char *const drop_names[] = {
    [PT_DROP_FULL] = "full",
    [PT_DROP_WRAPPED] = "wrapped",
    [PT_DROP_NO_CHUNK] = "no_chunk",
    [PT_DROP_DISK] = "disk",
    [PT_DROP_NESTED] = "nested",
    [PT_DROP_TOO_BIG] = "too_big",
    [PT_DROP_CONN_TABLE] = "conn_table",
    [PT_DROP_BUSY] = "busy",
    [PT_DROP_DESYNC] = "desync",
    [PT_DROP_QUEUE_FULL] = "queue_full",
};

static const char *const counter_names[] = {
    [PT_CNT_CONN_TRACKED] = "conn_tracked",
    [PT_CNT_CONN_UNDECODABLE] = "conn_undecodable",
    [PT_CNT_CONN_TLS] = "conn_tls",
    [PT_CNT_CONN_COMPRESSED] = "conn_compressed",
    [PT_CNT_CONN_UPGRADED] = "conn_upgraded",
    [PT_CNT_CONN_UNKNOWN] = "conn_unknown",
    [PT_CNT_CONN_FORK_MIDOP] = "conn_fork_midop",
};

static const char *const kind_names[] = {
    [PT_KIND_NONE] = "none",	     [PT_KIND_HTTP_IN] = "http_in",
    [PT_KIND_HTTP_OUT] = "http_out", [PT_KIND_MYSQL] = "mysql",
    [PT_KIND_REDIS] = "redis",	     [PT_KIND_SQLITE] = "sqlite",
};

#define NAME_OF(table, i)                                                      \
	((unsigned)(i) < sizeof(table) / sizeof(table[0]) && table[i]          \
	     ? table[i]                                                        \
	     : NULL)

/* ---- 2. header validation ---------------------------------------------- */

static void say(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;
	if (!err || !errlen)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

/* A header string: [off, off+len] inside the header area, NUL at len.
 * (0, 0) means absent. */
static const char *header_string(const struct pt_dump *d, uint32_t off,
				 uint32_t len, int *ok)
{
	const struct pt_file_header *h = &d->hdr;
	if (off == 0 && len == 0)
		return "";
	if (off < sizeof(*h) || off >= h->header_size ||
	    len >= h->header_size - off || d->map[off + len] != '\0') {
		*ok = 0;
		return "";
	}
	return (const char *)d->map + off;
}

/* argv: argc NUL-terminated strings filling exactly argv_len bytes. */
static int header_argv_ok(const struct pt_dump *d)
{
	const struct pt_file_header *h = &d->hdr;
	if (h->argc == 0)
		return h->argv_len == 0;
	if (h->argv_off < sizeof(*h) || h->argv_off >= h->header_size ||
	    h->argv_len > h->header_size - h->argv_off)
		return 0;
	const uint8_t *p = d->map + h->argv_off;
	uint32_t nuls = 0;
	for (uint32_t i = 0; i < h->argv_len; i++)
		nuls += p[i] == '\0';
	return h->argv_len > 0 && p[h->argv_len - 1] == '\0' && nuls == h->argc;
}

/* Magic, byte order, version: what kind of file is this at all? */
static int header_identity(const struct pt_dump *d, char *err, size_t errlen)
{
	static const uint8_t zero[PT_DUMP_MAGIC_LEN];
	const struct pt_file_header *h = &d->hdr;

	if (!memcmp(d->map, zero, PT_DUMP_MAGIC_LEN) && d->size >= sizeof(*h)) {
		say(err, errlen,
		    "incomplete header (the writer stopped before finishing "
		    "it)");
		return -1;
	}
	if (memcmp(d->map, PT_DUMP_MAGIC, PT_DUMP_MAGIC_LEN)) {
		say(err, errlen, "not a perftap dump");
		return -1;
	}
	if (d->size < sizeof(*h)) {
		say(err, errlen, "truncated header (%zu of %zu bytes)", d->size,
		    sizeof(*h));
		return -1;
	}
	if (h->byte_order == __builtin_bswap32(PT_BYTE_ORDER_MARK)) {
		say(err, errlen,
		    "written on a machine of the other byte order");
		return -1;
	}
	if (h->byte_order != PT_BYTE_ORDER_MARK) {
		say(err, errlen, "damaged header: bad byte-order mark");
		return -1;
	}
	if (h->version > PT_DUMP_VERSION) {
		say(err, errlen,
		    "made by a newer perftap: format %u, this reads up to %u",
		    h->version, PT_DUMP_VERSION);
		return -1;
	}
	if (h->version < PT_DUMP_VERSION_MIN) {
		say(err, errlen, "damaged header: format version %u",
		    h->version);
		return -1;
	}
	return 0;
}

/* Sizes and layout (I1, I2) and the mode. */
static int header_geometry(const struct pt_dump *d, char *err, size_t errlen)
{
	const struct pt_file_header *h = &d->hdr;

	if (h->header_size < sizeof(*h) || h->header_size % 4096u ||
	    h->header_size > RD_HEADER_SIZE_MAX) {
		say(err, errlen, "damaged header: header size %u",
		    h->header_size);
		return -1;
	}
	if (d->size < h->header_size) {
		say(err, errlen, "truncated header (%zu of %u bytes)", d->size,
		    h->header_size);
		return -1;
	}
	if (h->chunk_size < PT_CHUNK_MIN_SIZE || h->chunk_size % 4096u ||
	    h->chunk_size > RD_CHUNK_SIZE_MAX) {
		say(err, errlen, "damaged header: chunk size %u",
		    h->chunk_size);
		return -1;
	}
	if (h->max_size < h->header_size || h->chunk_slots == 0 ||
	    (h->max_size - h->header_size) / h->chunk_size != h->chunk_slots) {
		say(err, errlen,
		    "damaged header: size limit %llu does not match %u chunks",
		    (unsigned long long)h->max_size, h->chunk_slots);
		return -1;
	}
	if (h->mode != PT_MODE_WRAP && h->mode != PT_MODE_STOP) {
		say(err, errlen, "damaged header: mode %u", h->mode);
		return -1;
	}
	return 0;
}

static int header_validate(struct pt_dump *d, char *err, size_t errlen)
{
	const struct pt_file_header *h = &d->hdr;
	struct pt_dump_info *in = &d->info;
	int ok = 1;

	if (header_identity(d, err, errlen) || header_geometry(d, err, errlen))
		return -1;
	in->exe = header_string(d, h->exe_off, h->exe_len, &ok);
	in->host = header_string(d, h->host_off, h->host_len, &ok);
	in->settings = header_string(d, h->settings_off, h->settings_len, &ok);
	if (!ok || !header_argv_ok(d)) {
		say(err, errlen, "damaged header: string out of bounds");
		return -1;
	}
	in->argv = h->argc ? (const char *)d->map + h->argv_off : "";
	in->argc = h->argc;
	in->version = h->version;
	in->pid = h->pid;
	in->ppid = h->ppid;
	in->flags = h->flags;
	in->mode = h->mode;
	in->clock_id = h->clock_id;
	in->max_size = h->max_size;
	in->chunk_size = h->chunk_size;
	in->chunk_slots = h->chunk_slots;
	in->realtime_anchor_ns = h->realtime_anchor_ns;
	in->monotonic_anchor_ns = h->monotonic_anchor_ns;
	memcpy(in->drops, h->drops, sizeof(in->drops));
	memcpy(in->counters, h->counters, sizeof(in->counters));
	in->chunks_used = h->next_chunk_seq;
	return 0;
}

/* ---- 3. record decoding ------------------------------------------------ */

enum rd_status {
	RD_OK,	/* a committed record of `size` bytes */
	RD_END, /* zero or foreign commit word, or end of chunk: normal */
	RD_BAD, /* committed, but its size or contents are impossible */
};

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
static enum rd_status rec_at(const struct pt_dump *d, const struct rd_chunk *ch,
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
static const char *rec_text(const struct pt_dump *d, const struct rd_chunk *ch,
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

static void decode_conn(const struct pt_conn_record *r, struct pt_read_conn *c)
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
static void rec_copy(void *dst, size_t want, const void *src, uint32_t n)
{
	size_t take = n < want ? n : want;
	memcpy(dst, src, take);
	memset((uint8_t *)dst + take, 0, want - take);
}

/* Fill out from the EVENT or CONN record of size bytes at off. */
static void rec_decode(const struct pt_dump *d, const struct rd_chunk *ch,
		       uint32_t off, uint32_t size, uint16_t type,
		       uint32_t strings, struct pt_read_record *out)
{
	const uint8_t *p = ch->base + off;
	out->type = type;
	out->chunk_seq = ch->seq;
	if (type == PT_REC_EVENT) {
		struct pt_event_record rr;
		const struct pt_event_record *r = &rr;
		rec_copy(&rr, sizeof(rr), p, size);
		pt_event_record_decode(r, &out->ev);
		out->ev.text =
		    rec_text(d, ch, r->text_id, strings, &out->ev.text_len);
	} else {
		struct pt_conn_record rr;
		const struct pt_conn_record *r = &rr;
		rec_copy(&rr, sizeof(rr), p, size);
		decode_conn(r, &out->conn);
		out->conn.text =
		    rec_text(d, ch, r->text_id, strings, &out->conn.text_len);
	}
}

/* Completion time: the merge key. */
static uint64_t rec_key(const struct rd_chunk *ch, uint32_t off, uint16_t type)
{
	const uint8_t *p = ch->base + off;
	if (type == PT_REC_CONN)
		return ((const struct pt_conn_record *)p)->time_ns;
	const struct pt_event_record *r = (const void *)p;
	uint64_t end = r->start_ns + r->duration_ns;
	return end < r->start_ns ? UINT64_MAX : end;
}

/* ---- 4. chunk scan at open --------------------------------------------- */

static int str_push(struct pt_dump *d, uint32_t off)
{
	if (d->nstr == d->capstr) {
		uint64_t cap = d->capstr ? d->capstr * 2 : 1024;
		uint32_t *p = realloc(d->str_off, cap * sizeof(*p));
		if (!p)
			return -1;
		d->str_off = p;
		d->capstr = cap;
	}
	d->str_off[d->nstr++] = off;
	return 0;
}

static int stk_push(struct pt_dump *d, uint32_t id, uint32_t off)
{
	if (d->nstk == d->capstk) {
		uint64_t cap = d->capstk ? d->capstk * 2 : 256;
		struct rd_stack *p = realloc(d->stk, cap * sizeof(*p));
		if (!p)
			return -1;
		d->stk = p;
		d->capstk = cap;
	}
	d->stk[d->nstk++] = (struct rd_stack){id, off};
	return 0;
}

/* The index in d->stk of stack id of chunk ch, found so far; NULL none.
 * Ids increase within a chunk (stack_ok), so a binary search. */
static const struct rd_stack *
chunk_stack_at(const struct pt_dump *d, const struct rd_chunk *ch, uint32_t id)
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
static int stack_ok(const struct rd_chunk *ch, const uint8_t *p, uint32_t size,
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

/* Add a module record (already size-checked) unless known. */
static int module_add(struct pt_dump *d, const struct rd_chunk *ch,
		      const struct pt_module_record *m)
{
	uint32_t len;
	const char *path = rec_text(d, ch, m->path_id, ch->nstrings, &len);
	for (uint32_t i = 0; i < d->nmods; i++)
		if (d->mods[i].base == m->base &&
		    !strcmp(d->mods[i].path, path))
			return 0;
	if (d->nmods == d->capmods) {
		uint32_t cap = d->capmods ? d->capmods * 2 : 64;
		struct pt_read_module *p = realloc(d->mods, cap * sizeof(*p));
		if (!p)
			return -1;
		d->mods = p;
		d->capmods = cap;
	}
	struct pt_read_module *o = &d->mods[d->nmods++];
	o->path = path;
	o->base = m->base;
	o->lo = m->lo;
	o->hi = m->hi;
	o->build_id_len = m->build_id_len;
	memcpy(o->build_id, m->build_id, sizeof(o->build_id));
	return 0;
}

/* v2 records of the scan: stacks indexed, modules collected; a record
 * that does not add up is skipped and counted, the chunk goes on. */
static int scan_v2(struct pt_dump *d, struct rd_chunk *ch, uint32_t off,
		   uint32_t size, uint16_t type)
{
	const uint8_t *p = ch->base + off;
	if (type == PT_REC_STACK) {
		uint32_t last = ch->nstacks ? d->stk[d->nstk - 1].id : 0;
		if (!stack_ok(ch, p, size, last)) {
			d->problems.bad_stacks++;
			return 0;
		}
		if (stk_push(d, ((const struct pt_stack_record *)p)->id, off) <
		    0)
			return -1;
		ch->nstacks++;
		return 0;
	}
	const struct pt_module_record *m = (const void *)p;
	if (size < sizeof(*m) || m->build_id_len > sizeof(m->build_id) ||
	    m->path_id == 0 || m->path_id > ch->nstrings || m->lo > m->hi) {
		d->problems.bad_stacks++;
		return 0;
	}
	return module_add(d, ch, m);
}

/* Is the chunk header of slot sane (magic, state, seq)?  1 = read it,
 * 0 = unused or mid-claim (nothing committed there), -1 = damaged. */
static int chunk_header_ok(const struct pt_dump *d, uint64_t slot,
			   const struct pt_chunk_header *ch)
{
	const struct pt_file_header *h = &d->hdr;
	/* Acquire: pairs with the writer's release of OPEN (live dump). */
	uint32_t state = __atomic_load_n(&ch->state, __ATOMIC_ACQUIRE);

	if (state == PT_CHUNK_CLAIMING ||
	    (state == PT_CHUNK_FREE && ch->magic == 0))
		return 0;
	if (ch->magic != PT_CHUNK_MAGIC ||
	    (state != PT_CHUNK_OPEN && state != PT_CHUNK_CLOSED))
		return -1;
	uint64_t want =
	    h->mode == PT_MODE_STOP ? ch->seq : ch->seq % h->chunk_slots;
	/* The live ticket count, not the snapshot: a running writer may have
	 * claimed this chunk after we copied the header.  Relaxed: a bound
	 * only; the chunk's state load above orders its contents. */
	const struct pt_file_header *live = (const void *)d->map;
	uint64_t tickets =
	    __atomic_load_n(&live->next_chunk_seq, __ATOMIC_RELAXED);
	if (want != slot || ch->seq >= tickets)
		return -1;
	return 1;
}

/* Keep a sample record that passes pt_sample_check; count the rest. */
static int sample_push(struct pt_dump *d, const uint8_t *p)
{
	struct pt_sample_record r;
	memcpy(&r, p, sizeof(r));
	if (pt_sample_check(&r, d->info.pid) < 0) {
		d->problems.bad_samples++;
		return 0;
	}
	if (PT_GROW(d->samples, d->capsamples, d->nsamples + 1) < 0)
		return -1;
	d->samples[d->nsamples++] = r;
	return 0;
}

/* Walk one chunk's records once: count problems, index its strings. */
static int chunk_scan(struct pt_dump *d, struct rd_chunk *ch)
{
	uint32_t off = sizeof(struct pt_chunk_header), size;
	uint16_t type;
	enum rd_status st;

	ch->str_base = d->nstr;
	ch->nstrings = 0;
	ch->stk_base = d->nstk;
	ch->nstacks = 0;
	while ((st = rec_at(d, ch, off, &size, &type)) == RD_OK) {
		const uint8_t *p = ch->base + off;
		if (type == PT_REC_STRING) {
			const struct pt_string_record *s = (const void *)p;
			if (s->id != ch->nstrings + 1) { /* I6 */
				st = RD_BAD;
				break;
			}
			if (str_push(d, off) < 0)
				return -1;
			ch->nstrings++;
		} else if (type == PT_REC_EVENT || type == PT_REC_CONN) {
			uint32_t id =
			    type == PT_REC_EVENT
				? ((const struct pt_event_record *)p)->text_id
				: ((const struct pt_conn_record *)p)->text_id;
			if (type == PT_REC_EVENT) {
				uint64_t t = ((const struct pt_event_record *)p)
						 ->start_ns;
				if (t < d->info.first_event_ns)
					d->info.first_event_ns = t;
				uint32_t sid =
				    size >= sizeof(struct pt_event_record)
					? ((const struct pt_event_record *)p)
					      ->stack_id
					: 0;
				d->problems.unresolved_stacks +=
				    sid && !chunk_stack_at(d, ch, sid);
			}
			d->problems.unresolved_text += id > ch->nstrings;
		} else if (type == PT_REC_SAMPLE) {
			if (sample_push(d, p) < 0)
				return -1;
		} else if (type == PT_REC_STACK || type == PT_REC_MODULE) {
			if (scan_v2(d, ch, off, size, type) < 0)
				return -1;
		} else {
			d->problems.unknown_records++;
		}
		off += size;
	}
	d->problems.bad_records += st == RD_BAD;
	ch->end = off;
	return 0;
}

static int chunk_cmp(const void *a, const void *b)
{
	const struct rd_chunk *x = a, *y = b;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* Find every readable chunk (I3), scan it, sort them by seq. */
static int chunks_load(struct pt_dump *d)
{
	const struct pt_file_header *h = &d->hdr;
	uint64_t body = d->size - h->header_size;
	uint64_t slots = body / h->chunk_size;

	d->info.first_event_ns = UINT64_MAX;
	if (slots > h->chunk_slots)
		slots = h->chunk_slots;
	else if (body % h->chunk_size)
		d->problems.partial_chunks++;
	d->chunks = calloc(slots ? slots : 1, sizeof(*d->chunks));
	d->heap = calloc(slots ? slots : 1, sizeof(*d->heap));
	if (!d->chunks || !d->heap)
		return -1;
	for (uint64_t k = 0; k < slots; k++) {
		const uint8_t *base =
		    d->map + h->header_size + k * h->chunk_size;
		const struct pt_chunk_header *chh = (const void *)base;
		int ok = chunk_header_ok(d, k, chh);
		d->problems.bad_chunks += ok < 0;
		if (ok <= 0)
			continue;
		struct rd_chunk *ch = &d->chunks[d->nchunks++];
		ch->base = base;
		ch->seq = chh->seq;
		if (chunk_scan(d, ch) < 0)
			return -1;
		/* Read-only mapping: let the scanned pages go from this
		 * process (they stay cached), so that opening a dump does not
		 * hold its whole size resident. */
		madvise((void *)base, h->chunk_size, MADV_DONTNEED);
	}
	qsort(d->chunks, d->nchunks, sizeof(*d->chunks), chunk_cmp);
	return 0;
}

/* ---- 5. iteration ------------------------------------------------------ */

/* Move it to the first EVENT or CONN record at or after it->off; 0 when
 * the chunk has no more. */
static int iter_settle(const struct pt_dump *d, struct rd_iter *it)
{
	const struct rd_chunk *ch = &d->chunks[it->chunk];

	while (it->off < ch->end &&
	       rec_at(d, ch, it->off, &it->size, &it->type) == RD_OK) {
		if (it->type == PT_REC_EVENT || it->type == PT_REC_CONN) {
			it->key = rec_key(ch, it->off, it->type);
			return 1;
		}
		if (it->type == PT_REC_STRING) {
			const struct pt_string_record *s =
			    (const void *)(ch->base + it->off);
			if (s->id != it->strings + 1)
				return 0;
			it->strings++;
		}
		it->off += it->size;
	}
	return 0;
}

static int iter_less(const struct rd_iter *a, const struct rd_iter *b)
{
	return a->key < b->key || (a->key == b->key && a->chunk < b->chunk);
}

static void heap_down(struct rd_iter *h, uint32_t n, uint32_t i)
{
	struct rd_iter x = h[i];
	for (;;) {
		uint32_t c = 2 * i + 1;
		if (c >= n)
			break;
		if (c + 1 < n && iter_less(&h[c + 1], &h[c]))
			c++;
		if (!iter_less(&h[c], &x))
			break;
		h[i] = h[c];
		i = c;
	}
	h[i] = x;
}

static void heap_build(struct pt_dump *d)
{
	d->heap_len = 0;
	for (uint32_t i = 0; i < d->nchunks; i++) {
		struct rd_iter it = {.chunk = i,
				     .off = sizeof(struct pt_chunk_header)};
		if (iter_settle(d, &it))
			d->heap[d->heap_len++] = it;
	}
	for (uint32_t i = d->heap_len / 2; i-- > 0;)
		heap_down(d->heap, d->heap_len, i);
	d->heap_built = 1;
}

/* ---- 6. public API ----------------------------------------------------- */

/* Map path and check that it is at least a whole, known header. */
static int dump_map(struct pt_dump *d, const char *path, char *err,
		    size_t errlen)
{
	struct stat st;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st) < 0) {
		say(err, errlen, "%s", strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	if (!S_ISREG(st.st_mode)) {
		say(err, errlen, "not a regular file");
		close(fd);
		return -1;
	}
	d->size = (size_t)st.st_size;
	if (d->size == 0) {
		say(err, errlen, "empty file");
		close(fd);
		return -1;
	}
	void *m = mmap(NULL, d->size, PROT_READ, MAP_SHARED, fd, 0);
	int e = errno;
	close(fd);
	if (m == MAP_FAILED) {
		say(err, errlen, "%s", strerror(e));
		return -1;
	}
	d->map = m;
	return 0;
}

/* Files shorter than the fixed header: a cut dump, or something else. */
static int dump_short(const struct pt_dump *d, char *err, size_t errlen)
{
	size_t n = d->size < PT_DUMP_MAGIC_LEN ? d->size : PT_DUMP_MAGIC_LEN;
	if (memcmp(d->map, PT_DUMP_MAGIC, n))
		say(err, errlen, "not a perftap dump");
	else
		say(err, errlen, "truncated header (%zu of %zu bytes)", d->size,
		    sizeof(struct pt_file_header));
	return -1;
}

struct pt_dump *pt_dump_open(const char *path, char *err, size_t errlen)
{
	struct pt_dump *d = calloc(1, sizeof(*d));
	if (!d || !(d->path = strdup(path))) {
		say(err, errlen, "out of memory");
		free(d);
		return NULL;
	}
	if (dump_map(d, path, err, errlen) < 0)
		goto fail;
	if (d->size < sizeof(d->hdr)) {
		dump_short(d, err, errlen);
		goto fail;
	}
	memcpy(&d->hdr, d->map, sizeof(d->hdr));
	if (header_validate(d, err, errlen) < 0)
		goto fail;
	if (chunks_load(d) < 0) {
		say(err, errlen, "out of memory");
		goto fail;
	}
	return d;
fail:
	pt_dump_close(d);
	return NULL;
}

void pt_dump_close(struct pt_dump *d)
{
	if (!d)
		return;
	if (d->map)
		munmap((void *)d->map, d->size);
	free(d->chunks);
	free(d->heap);
	free(d->str_off);
	free(d->stk);
	free(d->mods);
	free(d->vtext);
	free(d->vlen);
	free(d->samples);
	free(d->path);
	free(d);
}

const struct pt_dump_info *pt_dump_info(const struct pt_dump *d)
{
	return &d->info;
}

const struct pt_dump_problems *pt_dump_problems(const struct pt_dump *d)
{
	return &d->problems;
}

const struct pt_sample_record *pt_dump_samples(const struct pt_dump *d,
					       size_t *n)
{
	*n = d->nsamples;
	return d->samples;
}

int pt_sample_check(const struct pt_sample_record *r, int32_t pid)
{
	/* Cumulative figures below 2^62 (146 years of CPU in ns, 4 EiB):
	 * anything larger is garbage, and the report may add them safely. */
	const uint64_t lim = 1ull << 62;
	if (r->type != PT_REC_SAMPLE || r->pid <= 0 ||
	    (pid > 0 && r->pid != pid) || r->time_ns == 0)
		return -1;
	if (r->utime_ns >= lim || r->stime_ns >= lim || r->rss_bytes >= lim ||
	    r->rss_peak_bytes >= lim || r->vol_ctxsw >= lim ||
	    r->invol_ctxsw >= lim || r->read_bytes >= lim ||
	    r->write_bytes >= lim || r->time_ns >= lim)
		return -1;
	return 0;
}

const char *pt_dump_path(const struct pt_dump *d)
{
	return d->path;
}

void pt_dump_rewind(struct pt_dump *d)
{
	d->heap_built = 0;
	d->heap_len = 0;
}

int pt_dump_next(struct pt_dump *d, struct pt_read_record *out)
{
	if (!d->heap_built)
		heap_build(d);
	if (d->heap_len == 0)
		return 0;
	struct rd_iter *top = &d->heap[0];
	const struct rd_chunk *ch = &d->chunks[top->chunk];
	rec_decode(d, ch, top->off, top->size, top->type, top->strings, out);
	top->off += top->size;
	if (!iter_settle(d, top))
		d->heap[0] = d->heap[--d->heap_len];
	heap_down(d->heap, d->heap_len, 0);
	return 1;
}

int pt_dump_foreach(struct pt_dump *d, pt_dump_visit_fn fn, void *arg)
{
	struct pt_read_record rec;

	for (uint32_t i = 0; i < d->nchunks; i++) {
		struct rd_iter it = {.chunk = i,
				     .off = sizeof(struct pt_chunk_header)};
		while (iter_settle(d, &it)) {
			rec_decode(d, &d->chunks[i], it.off, it.size, it.type,
				   it.strings, &rec);
			int rc = fn(&rec, arg);
			if (rc)
				return rc;
			it.off += it.size;
		}
	}
	return 0;
}

/* The view's string table: every string of the chunk, checked once. */
static int view_strings(struct pt_dump *d, const struct rd_chunk *ch)
{
	if (ch->nstrings + 1 > d->vcap) {
		uint32_t cap = ch->nstrings + 1 > 64 ? ch->nstrings + 1 : 64;
		const char **t = realloc(d->vtext, cap * sizeof(*t));
		if (t)
			d->vtext = t;
		uint32_t *l = realloc(d->vlen, cap * sizeof(*l));
		if (l)
			d->vlen = l;
		if (!t || !l)
			return -1;
		d->vcap = cap;
	}
	d->vtext[0] = "";
	d->vlen[0] = 0;
	for (uint32_t id = 1; id <= ch->nstrings; id++)
		d->vtext[id] = rec_text(d, ch, id, id, &d->vlen[id]);
	return 0;
}

int pt_dump_chunk(struct pt_dump *d, uint32_t i, struct pt_chunk_view *v)
{
	memset(v, 0, sizeof(*v));
	if (i >= d->nchunks)
		return 0;
	const struct rd_chunk *ch = &d->chunks[i];
	v->seq = ch->seq;
	v->base = ch->base;
	v->off = sizeof(struct pt_chunk_header);
	v->end = ch->end;
	v->csize = d->hdr.chunk_size;
	if (view_strings(d, ch) < 0) {
		v->end = v->off;
		return -1;
	}
	v->nstrings = ch->nstrings;
	v->text = d->vtext;
	v->text_len = d->vlen;
	return 1;
}

/* A connection record passed by pt_chunk_next_event, to v->on_conn. */
static void view_conn(struct pt_chunk_view *v, const void *r, uint32_t n)
{
	struct pt_conn_record cr;
	struct pt_read_conn c;
	rec_copy(&cr, sizeof(cr), r, n);
	memset(&c, 0, sizeof(c));
	decode_conn(&cr, &c);
	c.text = "";
	if (cr.text_id && cr.text_id <= v->strings && v->text) {
		c.text = v->text[cr.text_id];
		c.text_len = v->text_len[cr.text_id];
	}
	v->on_conn(v->conn_arg, &c);
}

/*
 * The checks of rec_at, inlined: this loop is the report's hot path (one
 * pass per event).  Note: it stops where the scan at open stopped (end),
 * so a record committed since then by a live writer is not read, exactly
 * as with pt_dump_next.
 */
const struct pt_event_record *pt_chunk_next_event(struct pt_chunk_view *v)
{
	while (v->off + sizeof(struct pt_record_header) <= v->end) {
		const struct pt_record_header *r =
		    (const void *)(v->base + v->off);
		/* Acquire: pairs with the writer's release (live dump). */
		uint64_t commit = __atomic_load_n(&r->commit, __ATOMIC_ACQUIRE);
		uint32_t n = pt_commit_size(commit);
		if (commit == 0 || pt_commit_seq(commit) != (uint32_t)v->seq ||
		    n % 8u || n < sizeof(*r) || n > v->csize - v->off) {
			v->end = v->off;
			return NULL;
		}
		v->off += n;
		if (r->type == PT_REC_EVENT) {
			if (n < PT_EVENT_V1_SIZE)
				break;
			if (n >= sizeof(struct pt_event_record))
				return (const void *)r;
			/* An older version's shorter record: its missing
			 * fields read as zero. */
			rec_copy(&v->scratch, sizeof(v->scratch), r, n);
			return &v->scratch;
		}
		if (r->type == PT_REC_STRING) {
			const struct pt_string_record *s = (const void *)r;
			if (n < sizeof(*s) + 1 || s->id != v->strings + 1)
				break;
			v->strings++;
		} else if (r->type == PT_REC_CONN && n < PT_CONN_V1_SIZE) {
			break;
		} else if (r->type == PT_REC_CONN && v->on_conn) {
			view_conn(v, r, n);
		}
	}
	v->end = v->off;
	return NULL;
}

void pt_dump_chunk_release(struct pt_dump *d, uint32_t i)
{
	if (i >= d->nchunks)
		return;
	/* Read-only shared mapping: dropping the pages loses nothing. */
	madvise((void *)d->chunks[i].base, d->hdr.chunk_size, MADV_DONTNEED);
}

const char *pt_drop_cause_name(enum pt_drop_cause cause)
{
	const char *n = NAME_OF(drop_names, cause);
	return n ? n : "unknown";
}

const char *pt_counter_name(enum pt_counter counter)
{
	const char *n = NAME_OF(counter_names, counter);
	return n ? n : "unknown";
}

static const char *const attribution_names[] = {
    [PT_ATTR_UNKNOWN] = "unknown", [PT_ATTR_NONE] = "none",
    [PT_ATTR_THREAD] = "thread",   [PT_ATTR_TASK] = "task",
    [PT_ATTR_HANDOFF] = "handoff", [PT_ATTR_AMBIGUOUS] = "ambiguous",
    [PT_ATTR_OTHER] = "other",
};

const char *pt_attribution_name(enum pt_attribution a)
{
	const char *n = NAME_OF(attribution_names, a);
	return n ? n : "unknown";
}

const char *pt_kind_name(enum pt_event_kind kind)
{
	const char *n = NAME_OF(kind_names, kind);
	return n ? n : "unknown";
}

/* ---- 8. stacks and modules (v2) ---------------------------------------- */

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
	const struct rd_stack *s = ch ? chunk_stack_at(d, ch, id) : NULL;
	if (!s)
		return 0;
	const uint8_t *p = ch->base + s->off;
	const struct pt_stack_record *r = (const void *)p;
	/* Re-checked: a live writer may have reused the chunk since open. */
	uint32_t size = pt_commit_size(r->commit);
	if (size > d->hdr.chunk_size - s->off || !stack_ok(ch, p, size, 0))
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
		    rec_text(d, ch, f[i].func_id, ch->nstrings, &len);
		out->py[i].file =
		    rec_text(d, ch, f[i].file_id, ch->nstrings, &len);
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
