/*
 * dump_reader_validate.c -- trust nothing in a dump until checked:
 * the header (every refusal has a one-line reason), then each chunk,
 * scanned once at open -- problems counted, string offsets, stacks,
 * modules and samples indexed so that iteration allocates nothing.
 *
 * Sections:
 *   1. header validation
 *   2. chunk scan at open
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "dump_reader_int.h"
#include "grow.h"

/* ---- 1. header validation ---------------------------------------------- */

void rd_say(char *err, size_t errlen, const char *fmt, ...)
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
		rd_say(err, errlen,
		       "incomplete header (the writer stopped before finishing "
		       "it)");
		return -1;
	}
	if (memcmp(d->map, PT_DUMP_MAGIC, PT_DUMP_MAGIC_LEN)) {
		rd_say(err, errlen, "not a perftap dump");
		return -1;
	}
	if (d->size < sizeof(*h)) {
		rd_say(err, errlen, "truncated header (%zu of %zu bytes)",
		       d->size, sizeof(*h));
		return -1;
	}
	if (h->byte_order == __builtin_bswap32(PT_BYTE_ORDER_MARK)) {
		rd_say(err, errlen,
		       "written on a machine of the other byte order");
		return -1;
	}
	if (h->byte_order != PT_BYTE_ORDER_MARK) {
		rd_say(err, errlen, "damaged header: bad byte-order mark");
		return -1;
	}
	if (h->version > PT_DUMP_VERSION) {
		rd_say(
		    err, errlen,
		    "made by a newer perftap: format %u, this reads up to %u",
		    h->version, PT_DUMP_VERSION);
		return -1;
	}
	if (h->version < PT_DUMP_VERSION_MIN) {
		rd_say(err, errlen, "damaged header: format version %u",
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
		rd_say(err, errlen, "damaged header: header size %u",
		       h->header_size);
		return -1;
	}
	if (d->size < h->header_size) {
		rd_say(err, errlen, "truncated header (%zu of %u bytes)",
		       d->size, h->header_size);
		return -1;
	}
	if (h->chunk_size < PT_CHUNK_MIN_SIZE || h->chunk_size % 4096u ||
	    h->chunk_size > RD_CHUNK_SIZE_MAX) {
		rd_say(err, errlen, "damaged header: chunk size %u",
		       h->chunk_size);
		return -1;
	}
	if (h->max_size < h->header_size || h->chunk_slots == 0 ||
	    (h->max_size - h->header_size) / h->chunk_size != h->chunk_slots) {
		rd_say(
		    err, errlen,
		    "damaged header: size limit %llu does not match %u chunks",
		    (unsigned long long)h->max_size, h->chunk_slots);
		return -1;
	}
	if (h->mode != PT_MODE_WRAP && h->mode != PT_MODE_STOP) {
		rd_say(err, errlen, "damaged header: mode %u", h->mode);
		return -1;
	}
	return 0;
}

int rd_header_validate(struct pt_dump *d, char *err, size_t errlen)
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
		rd_say(err, errlen, "damaged header: string out of bounds");
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

/* ---- 2. chunk scan at open --------------------------------------------- */

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

/* Add a module record (already size-checked) unless known. */
static int module_add(struct pt_dump *d, const struct rd_chunk *ch,
		      const struct pt_module_record *m)
{
	uint32_t len;
	const char *path = rd_rec_text(d, ch, m->path_id, ch->nstrings, &len);
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
		if (!rd_stack_ok(ch, p, size, last)) {
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
	while ((st = rd_rec_at(d, ch, off, &size, &type)) == RD_OK) {
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
				    sid && !rd_chunk_stack_at(d, ch, sid);
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
int rd_chunks_load(struct pt_dump *d)
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
