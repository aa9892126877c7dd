/*
 * dump_reader.c -- read a perftap dump: validate it, then iterate its
 * committed records, unordered (chunk by chunk) or in completion order (a
 * k-way merge of the chunks).
 *
 * Sections:
 *   1. names for reports
 *   2. iteration: foreach, and the merge heap behind pt_dump_next
 *   3. public API (the chunk-order pass last)
 *
 * The rest of the reader, one job a file (private declarations in
 * dump_reader_int.h): dump_reader_validate.c checks the header and scans
 * the chunks at open, dump_reader_records.c decodes records.
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
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include "dump_reader_int.h"

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
    [PT_CNT_STACK_UNSENT] = "stack_unsent",
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

/* ---- 2. iteration ------------------------------------------------------ */

/* Move it to the first EVENT or CONN record at or after it->off; 0 when
 * the chunk has no more. */
static int iter_settle(const struct pt_dump *d, struct rd_iter *it)
{
	const struct rd_chunk *ch = &d->chunks[it->chunk];

	while (it->off < ch->end &&
	       rd_rec_at(d, ch, it->off, &it->size, &it->type) == RD_OK) {
		if (it->type == PT_REC_EVENT || it->type == PT_REC_CONN) {
			it->key = rd_rec_key(ch, it->off, it->type);
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

/* ---- 3. public API ----------------------------------------------------- */

/* Map path and check that it is at least a whole, known header. */
static int dump_map(struct pt_dump *d, const char *path, char *err,
		    size_t errlen)
{
	struct stat st;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st) < 0) {
		rd_say(err, errlen, "%s", strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	if (!S_ISREG(st.st_mode)) {
		rd_say(err, errlen, "not a regular file");
		close(fd);
		return -1;
	}
	d->size = (size_t)st.st_size;
	if (d->size == 0) {
		rd_say(err, errlen, "empty file");
		close(fd);
		return -1;
	}
	void *m = mmap(NULL, d->size, PROT_READ, MAP_SHARED, fd, 0);
	int e = errno;
	close(fd);
	if (m == MAP_FAILED) {
		rd_say(err, errlen, "%s", strerror(e));
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
		rd_say(err, errlen, "not a perftap dump");
	else
		rd_say(err, errlen, "truncated header (%zu of %zu bytes)",
		       d->size, sizeof(struct pt_file_header));
	return -1;
}

struct pt_dump *pt_dump_open(const char *path, char *err, size_t errlen)
{
	struct pt_dump *d = calloc(1, sizeof(*d));
	if (!d || !(d->path = strdup(path))) {
		rd_say(err, errlen, "out of memory");
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
	if (rd_header_validate(d, err, errlen) < 0)
		goto fail;
	if (rd_chunks_load(d) < 0) {
		rd_say(err, errlen, "out of memory");
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
	rd_rec_decode(d, ch, top->off, top->size, top->type, top->strings, out);
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
			rd_rec_decode(d, &d->chunks[i], it.off, it.size,
				      it.type, it.strings, &rec);
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
		d->vtext[id] = rd_rec_text(d, ch, id, id, &d->vlen[id]);
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
	rd_rec_copy(&cr, sizeof(cr), r, n);
	memset(&c, 0, sizeof(c));
	rd_decode_conn(&cr, &c);
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
			rd_rec_copy(&v->scratch, sizeof(v->scratch), r, n);
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
