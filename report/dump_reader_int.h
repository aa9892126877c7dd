/*
 * dump_reader_int.h -- what the dump reader's files share and its
 * callers never see: the reader's state and the functions one file calls
 * in another.
 *
 * The reader's files, one job each:
 *   dump_reader.c          open, iteration (foreach, the merge behind
 *                          pt_dump_next), the chunk-order pass, names
 *   dump_reader_validate.c header validation and the chunk scan at open
 *   dump_reader_records.c  record decoding: events, conns, strings,
 *                          stacks, modules
 *
 * Sections:
 *   1. the reader's state
 *   2. functions shared between the reader's files
 */
#ifndef PERFTAP_DUMP_READER_INT_H
#define PERFTAP_DUMP_READER_INT_H

#include <stddef.h>
#include <stdint.h>

#include "dump_reader.h"

/* ---- 1. the reader's state --------------------------------------------- */

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

enum rd_status {
	RD_OK,	/* a committed record of `size` bytes */
	RD_END, /* zero or foreign commit word, or end of chunk: normal */
	RD_BAD, /* committed, but its size or contents are impossible */
};

/* ---- 2. functions shared between the reader's files -------------------- */

/* dump_reader_validate.c; rd_say writes a refusal's one-line reason into
 * err, when the caller gave one. */
void rd_say(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
int rd_header_validate(struct pt_dump *d, char *err, size_t errlen);
int rd_chunks_load(struct pt_dump *d);

/* dump_reader_records.c */
enum rd_status rd_rec_at(const struct pt_dump *d, const struct rd_chunk *ch,
			 uint32_t off, uint32_t *size, uint16_t *type);
const char *rd_rec_text(const struct pt_dump *d, const struct rd_chunk *ch,
			uint32_t id, uint32_t strings, uint32_t *len);
void rd_decode_conn(const struct pt_conn_record *r, struct pt_read_conn *c);
void rd_rec_copy(void *dst, size_t want, const void *src, uint32_t n);
void rd_rec_decode(const struct pt_dump *d, const struct rd_chunk *ch,
		   uint32_t off, uint32_t size, uint16_t type, uint32_t strings,
		   struct pt_read_record *out);
uint64_t rd_rec_key(const struct rd_chunk *ch, uint32_t off, uint16_t type);
const struct rd_stack *rd_chunk_stack_at(const struct pt_dump *d,
					 const struct rd_chunk *ch,
					 uint32_t id);
int rd_stack_ok(const struct rd_chunk *ch, const uint8_t *p, uint32_t size,
		uint32_t last_id);

#endif
