/*
 * load.c -- open dumps (files, or directories of them), check them, and
 * feed their events into a model on the wall clock.
 *
 * Each dump is opened and validated before any event is read, so that a
 * bad input fails fast and the capture's start (for relative --since) is
 * known.  Events are read chunk by chunk in sequence order
 * (pt_dump_chunk): each thread's events keep their order, which is all
 * the model needs (see model.c), and a chunk's texts are mapped to
 * operations once, through an array indexed by text id.  The
 * time-ordered merge (pt_dump_next) gives the same figures, several times
 * slower; it stays behind pt_load_opts.ordered to prove that.
 */
#include "grow.h"
#include "load.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "callsites.h"
#include "dump_reader.h"
#include "resources.h"

#define PROGRESS_MIN_BYTES (300ull << 20) /* "more than a few hundred MB" */
#define PROGRESS_EVERY	   (1u << 20)	  /* events between updates */

struct input {
	char *path;
	struct pt_dump *d;
	uint64_t size;
	int samples; /* a samples side file (resources.h), not a dump */
};

struct inputs {
	struct input *v;
	size_t n, cap;
};

static int push_input(struct inputs *in, const char *path, uint64_t size)
{
	if (PT_GROW(in->v, in->cap, in->n + 1) < 0)
		return -1;
	in->v[in->n].path = strdup(path);
	in->v[in->n].d = NULL;
	in->v[in->n].size = size;
	in->v[in->n].samples = resources_is_file(path);
	return in->v[in->n++].path ? 0 : -1;
}

static int has_magic(const char *path)
{
	char magic[PT_DUMP_MAGIC_LEN];
	FILE *f = fopen(path, "rb");
	if (!f)
		return 0;
	size_t n = fread(magic, 1, sizeof(magic), f);
	fclose(f);
	return n == sizeof(magic) && !memcmp(magic, PT_DUMP_MAGIC, n);
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The dumps and samples files in a directory, by name; other files are not
 * ours to judge, except that a `.pts` file must be a samples file. */
static int expand_dir(struct inputs *in, const char *dir)
{
	DIR *dp = opendir(dir);
	if (!dp) {
		fprintf(stderr, "perftap: %s: %s\n", dir, strerror(errno));
		return -1;
	}
	char **names = NULL;
	size_t n = 0;
	struct dirent *de;
	int rc = 0;
	while ((de = readdir(dp)) != NULL && rc == 0) {
		if (de->d_name[0] == '.')
			continue;
		char **nn = realloc(names, (n + 1) * sizeof(*nn));
		if (!nn ||
		    !(nn[n] = malloc(strlen(dir) + strlen(de->d_name) + 2))) {
			names = nn ? nn : names;
			rc = -1;
			break;
		}
		names = nn;
		sprintf(names[n++], "%s/%s", dir, de->d_name);
	}
	closedir(dp);
	if (n)
		qsort(names, n, sizeof(*names), cmp_str);
	size_t found = 0;
	for (size_t i = 0; i < n; i++) {
		struct stat st;
		size_t len = strlen(names[i]);
		int pts = len > 4 && !strcmp(names[i] + len - 4, ".pts");
		if (rc == 0 && !stat(names[i], &st) && S_ISREG(st.st_mode) &&
		    (pts || has_magic(names[i]))) {
			rc = push_input(in, names[i], (uint64_t)st.st_size);
			found++;
		}
		free(names[i]);
	}
	free(names);
	if (rc == 0 && !found) {
		fprintf(stderr, "perftap: %s: no perftap dumps in directory\n",
			dir);
		return -1;
	}
	return rc;
}

static int collect(struct inputs *in, char *const *paths, int n)
{
	for (int i = 0; i < n; i++) {
		struct stat st;
		if (stat(paths[i], &st) < 0) {
			fprintf(stderr, "perftap: %s: %s\n", paths[i],
				strerror(errno));
			return -1;
		}
		int rc = S_ISDIR(st.st_mode)
			     ? expand_dir(in, paths[i])
			     : push_input(in, paths[i], (uint64_t)st.st_size);
		if (rc < 0)
			return -1;
	}
	return 0;
}

int load_parse_time(const char *s, uint64_t *ns, int *relative)
{
	char *end;
	*relative = 0;
	if (s[0] == '@') {
		double v = strtod(s + 1, &end);
		*ns = (uint64_t)(v * 1e9);
		return end != s + 1 && !*end && v >= 0 ? 0 : -1;
	}
	struct tm tm;
	memset(&tm, 0, sizeof(tm));
	end = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm);
	if (end && (!*end || !strcmp(end, "Z"))) {
		*ns = (uint64_t)timegm(&tm) * 1000000000ull;
		return 0;
	}
	double v = strtod(s, &end);
	if (end == s || v < 0)
		return -1;
	double scale = 1e9;
	if (!strcmp(end, "ms"))
		scale = 1e6;
	else if (!strcmp(end, "m"))
		scale = 60e9;
	else if (!strcmp(end, "h"))
		scale = 3600e9;
	else if (*end && strcmp(end, "s"))
		return -1;
	*ns = (uint64_t)(v * scale);
	*relative = 1;
	return 0;
}

struct window {
	uint64_t since, until; /* wall clock; until 0 = open */
};

static int window_resolve(const struct pt_load_opts *o, uint64_t start,
			  struct window *w)
{
	const char *spec[2] = {o->since, o->until};
	uint64_t *dst[2] = {&w->since, &w->until};
	w->since = w->until = 0;
	for (int i = 0; i < 2; i++) {
		int rel;
		if (!spec[i])
			continue;
		if (load_parse_time(spec[i], dst[i], &rel) < 0) {
			fprintf(stderr, "perftap: %s: bad time '%s'\n",
				i ? "--until" : "--since", spec[i]);
			return -1;
		}
		if (rel)
			*dst[i] += start;
	}
	return 0;
}

static void progress(const struct inputs *in, size_t i, uint64_t done,
		     uint64_t total)
{
	fprintf(stderr, "\rperftap: reading %zu/%zu dumps, %llu/%llu MB", i + 1,
		in->n, (unsigned long long)(done >> 20),
		(unsigned long long)(total >> 20));
}

/* (chunk, text id) -> operation, for the chunk being read. */
struct text_map {
	struct {
		uint32_t op; /* index + 1; 0 = not looked up yet */
		uint8_t kind;
	} * v;
	uint32_t cap;
};

static int map_reset(struct text_map *tm, uint32_t n)
{
	if (n > tm->cap) {
		void *v = realloc(tm->v, n * sizeof(*tm->v));
		if (!v)
			return -1;
		tm->v = v;
		tm->cap = n;
	}
	memset(tm->v, 0, n * sizeof(*tm->v));
	return 0;
}

static struct pt_op *map_op(struct pt_model *m, struct text_map *tm,
			    const struct pt_chunk_view *v, uint32_t id,
			    uint8_t kind)
{
	if (id > v->strings) /* named before its string: no text (I6) */
		return model_op(m, kind, "", 0);
	if (tm->v[id].op && tm->v[id].kind == kind)
		return &m->ops[tm->v[id].op - 1];
	struct pt_op *op = model_op(m, kind, v->text[id], v->text_len[id]);
	if (op) {
		tm->v[id].op = (uint32_t)(op - m->ops) + 1;
		tm->v[id].kind = kind;
	}
	return op;
}

/* Every event of one chunk into the model; the count through *seen. */
static int read_chunk(struct pt_model *m, struct pt_chunk_view *v,
		      struct text_map *tm, uint64_t shift,
		      const struct window *w, uint64_t *seen)
{
	const struct pt_event_record *r;
	struct pt_read_event ev;
	memset(&ev, 0, sizeof(ev));
	if (map_reset(tm, v->nstrings + 1) < 0)
		return -1;
	while ((r = pt_chunk_next_event(v)) != NULL) {
		uint64_t rt = r->start_ns + shift;
		if ((w->since && rt < w->since) || (w->until && rt >= w->until))
			continue;
		if (r->kind == PT_KIND_NONE || r->kind >= PT_KIND_COUNT)
			continue;
		struct pt_op *op = map_op(m, tm, v, r->text_id, r->kind);
		pt_event_record_decode(r, &ev);
		if (!op || model_add_op(m, op, &ev, rt) < 0)
			return -1;
		conns_event(&m->conns, &ev);
		if (r->stack_id && m->callsites && !op->excluded)
			callsites_add(m->callsites, (uint32_t)(op - m->ops),
				      v->seq, r->stack_id, r->duration_ns);
		++*seen;
	}
	return 0;
}

/* The time-ordered merge: the same figures, slower (tests compare). */
static int read_ordered(struct pt_model *m, struct pt_dump *d, uint64_t shift,
			const struct window *w)
{
	struct pt_read_record rec;
	while (pt_dump_next(d, &rec)) {
		if (rec.type == PT_REC_CONN)
			conns_record(&m->conns, &rec.conn);
		if (rec.type != PT_REC_EVENT)
			continue;
		uint64_t rt = rec.ev.start_ns + shift;
		if ((w->since && rt < w->since) || (w->until && rt >= w->until))
			continue;
		if (model_add(m, &rec.ev, rt) < 0)
			return -1;
		conns_event(&m->conns, &rec.ev);
	}
	return 0;
}

static void on_conn(void *arg, const struct pt_read_conn *c)
{
	conns_record(arg, c);
}

static int read_events(struct pt_model *m, struct input *it,
		       const struct window *w, const struct pt_load_opts *o,
		       int show, const struct inputs *in, size_t idx,
		       uint64_t done, uint64_t total)
{
	const struct pt_dump_info *info = pt_dump_info(it->d);
	/* Monotonic to wall clock, through the header's pair of anchors.
	 * Unsigned: the shift may be "negative" and start_ns comes from the
	 * file, so the sum wraps modulo 2^64 (the two's-complement result a
	 * sane dump gets) instead of overflowing a signed type (UB). */
	uint64_t shift = info->realtime_anchor_ns - info->monotonic_anchor_ns;
	if (o->ordered)
		return read_ordered(m, it->d, shift, w);
	struct text_map tm = {0};
	struct pt_chunk_view v;
	uint64_t seen = 0, last = 0;
	int rc = 0;
	for (uint32_t c = 0; rc == 0; c++) {
		int got = pt_dump_chunk(it->d, c, &v);
		if (got <= 0) {
			rc = got;
			break;
		}
		v.on_conn = on_conn;
		v.conn_arg = &m->conns;
		rc = read_chunk(m, &v, &tm, shift, w, &seen);
		pt_dump_chunk_release(it->d, c);
		if (show && seen - last >= PROGRESS_EVERY) {
			last = seen;
			progress(in, idx,
				 done + (uint64_t)(c + 1) * info->chunk_size,
				 total);
		}
	}
	free(tm.v);
	return rc;
}

/* The shim's samples of this dump, on the wall clock. */
static int read_samples(struct pt_model *m, struct input *it)
{
	const struct pt_dump_info *info = pt_dump_info(it->d);
	uint64_t shift = info->realtime_anchor_ns - info->monotonic_anchor_ns;
	size_t n;
	const struct pt_sample_record *r = pt_dump_samples(it->d, &n);
	for (size_t i = 0; i < n; i++)
		if (resources_add(m, &r[i], r[i].time_ns + shift) < 0)
			return -1;
	return 0;
}

static int read_dump(struct pt_model *m, struct input *it,
		     const struct window *w, const struct pt_load_opts *o,
		     int show, const struct inputs *in, size_t idx,
		     uint64_t done, uint64_t total)
{
	const struct pt_dump_info *info = pt_dump_info(it->d);
	if (model_begin_process(m, it->path, info->host, info->exe, info->pid,
				!!(info->flags & PT_HDR_RAW_TEXT)) < 0)
		return -1;
	for (int c = 0; c < PT_DROP_CAUSE_COUNT; c++)
		m->drops[c] += info->drops[c];
	for (int c = 0; c < PT_CNT_COUNT; c++)
		m->counters[c] += info->counters[c];
	if (m->callsites)
		callsites_begin_dump(m->callsites, it->d);
	int rc = conns_begin(&m->conns, info->pid, info->exe) < 0 ||
			 read_events(m, it, w, o, show, in, idx, done,
				     total) < 0 ||
			 conns_end(&m->conns) < 0 || read_samples(m, it) < 0
		     ? -1
		     : 0;
	if (m->callsites)
		callsites_end_dump(m->callsites);
	if (rc < 0)
		return -1;
	const struct pt_dump_problems *pr = pt_dump_problems(it->d);
	m->problems.bad_chunks += pr->bad_chunks;
	m->problems.bad_records += pr->bad_records;
	m->problems.unknown_records += pr->unknown_records;
	m->problems.unresolved_text += pr->unresolved_text;
	m->problems.partial_chunks += pr->partial_chunks;
	m->problems.bad_samples += pr->bad_samples;
	return 0;
}

static void inputs_free(struct inputs *in)
{
	for (size_t i = 0; i < in->n; i++) {
		if (in->v[i].d)
			pt_dump_close(in->v[i].d);
		free(in->v[i].path);
	}
	free(in->v);
}

static int open_all(struct inputs *in, uint64_t *start, uint64_t *total)
{
	*start = UINT64_MAX;
	*total = 0;
	for (size_t i = 0; i < in->n; i++) {
		char err[256];
		if (in->v[i].samples)
			continue;
		in->v[i].d = pt_dump_open(in->v[i].path, err, sizeof(err));
		if (!in->v[i].d) {
			fprintf(stderr, "perftap: %s: %s\n", in->v[i].path,
				err);
			return -1;
		}
		/* Relative times count from the first event of all dumps:
		 * the start of the window the report shows, not the moment
		 * the process started (which may be long before traffic). */
		const struct pt_dump_info *info = pt_dump_info(in->v[i].d);
		if (info->first_event_ns != UINT64_MAX) {
			uint64_t t = info->first_event_ns +
				     info->realtime_anchor_ns -
				     info->monotonic_anchor_ns;
			if (t < *start)
				*start = t;
		}
		*total += in->v[i].size;
	}
	return 0;
}

int load_inputs(struct pt_model *m, char *const *paths, int n,
		const struct pt_load_opts *o)
{
	struct inputs in = {0};
	uint64_t start = 0, total = 0, done = 0;
	struct window w;
	int rc = collect(&in, paths, n);
	if (rc == 0)
		rc = open_all(&in, &start, &total);
	if (rc == 0)
		rc = window_resolve(o, start == UINT64_MAX ? 0 : start, &w);
	int show = o->progress && isatty(2) &&
		   (o->progress > 1 || total > PROGRESS_MIN_BYTES);
	for (size_t i = 0; i < in.n && rc == 0; i++) {
		if (in.v[i].samples) {
			char err[256];
			rc = resources_read_file(m, in.v[i].path, err,
						 sizeof(err));
			if (rc < 0)
				fprintf(stderr, "perftap: %s: %s\n",
					in.v[i].path, err);
			continue;
		}
		if (show)
			progress(&in, i, done, total);
		if (read_dump(m, &in.v[i], &w, o, show, &in, i, done, total) <
		    0) {
			fprintf(stderr, "perftap: %s: out of memory\n",
				in.v[i].path);
			rc = -1;
		}
		/* Release each mapping once read: only the model stays. */
		pt_dump_close(in.v[i].d);
		in.v[i].d = NULL;
		done += in.v[i].size;
	}
	if (show)
		fprintf(stderr, "\r%60s\r", "");
	inputs_free(&in);
	return rc;
}
