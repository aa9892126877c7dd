/*
 * resources.c -- resource samples: the side file reader, the per-pid
 * series, and the per-process figures (resources.h).
 *
 * Sections: series, the side file, figures.
 */
#include "grow.h"
#include "resources.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "analysis.h"
#include "dump_reader.h"
#include "model.h"

#define SAMPLES_HEADER_MAX 65536u /* a header larger than this is garbage */
#define SAMPLES_RECORD_MAX 4096u  /* likewise for one record */
#define SAMPLES_FILE_MAX   (1ull << 34) /* 16 GiB: years of samples */

/* ---- series ---- */

static struct pt_proc_series *series_of(struct pt_model *m, int32_t pid)
{
	struct pt_model_series *s = &m->series;
	for (size_t i = s->n; i-- > 0;)
		if (s->v[i].pid == pid)
			return &s->v[i];
	if (PT_GROW(s->v, s->cap, s->n + 1) < 0)
		return NULL;
	struct pt_proc_series *ps = &s->v[s->n++];
	memset(ps, 0, sizeof(*ps));
	ps->pid = pid;
	return ps;
}

int resources_add(struct pt_model *m, const struct pt_sample_record *r,
		  uint64_t rt)
{
	struct pt_proc_series *ps = series_of(m, r->pid);
	if (!ps)
		return -1;
	if (PT_GROW(ps->v, ps->cap, ps->n + 1) < 0)
		return -1;
	ps->v[ps->n] = *r;
	ps->v[ps->n++].time_ns = rt;
	ps->supervised |= !!(r->flags & PT_SAMPLE_SUPERVISOR);
	return 0;
}

void resources_model_free(struct pt_model *m)
{
	for (size_t i = 0; i < m->series.n; i++)
		free(m->series.v[i].v);
	free(m->series.v);
	memset(&m->series, 0, sizeof(m->series));
}

/* ---- the side file ---- */

int resources_is_file(const char *path)
{
	char magic[PT_DUMP_MAGIC_LEN];
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	ssize_t n = read(fd, magic, sizeof(magic));
	close(fd);
	return n == (ssize_t)sizeof(magic) &&
	       !memcmp(magic, PT_SAMPLES_MAGIC, sizeof(magic));
}

static int header_check(const struct pt_samples_header *h, uint64_t size,
			char *err, size_t errlen)
{
	if (memcmp(h->magic, PT_SAMPLES_MAGIC, PT_DUMP_MAGIC_LEN)) {
		snprintf(err, errlen, "not a perftap samples file");
		return -1;
	}
	if (h->byte_order != PT_BYTE_ORDER_MARK) {
		snprintf(err, errlen, "samples file of the other byte order");
		return -1;
	}
	if (h->version == 0 || h->version > PT_SAMPLES_VERSION) {
		snprintf(err, errlen,
			 "samples file version %u (this perftap reads 1)",
			 h->version);
		return -1;
	}
	if (h->header_size < sizeof(*h) ||
	    h->header_size > SAMPLES_HEADER_MAX || h->header_size > size ||
	    h->record_size % 8u ||
	    h->record_size < sizeof(struct pt_sample_record) ||
	    h->record_size > SAMPLES_RECORD_MAX || h->root_pid <= 0 ||
	    h->supervisor_pid <= 0) {
		snprintf(err, errlen, "damaged samples file header");
		return -1;
	}
	return 0;
}

/* Every whole record after the header; a cut last one is ignored. */
static int read_records(struct pt_model *m, FILE *f,
			const struct pt_samples_header *h)
{
	uint8_t buf[SAMPLES_RECORD_MAX];
	uint64_t shift = h->realtime_anchor_ns - h->monotonic_anchor_ns;
	while (fread(buf, 1, h->record_size, f) == h->record_size) {
		struct pt_sample_record r;
		memcpy(&r, buf, sizeof(r));
		if (pt_commit_size(r.commit) != h->record_size ||
		    !(r.flags & PT_SAMPLE_SUPERVISOR) ||
		    pt_sample_check(&r, 0) < 0) {
			m->series.bad_samples++;
			continue;
		}
		/* Unsigned wrap, as for the dumps' events (load.c). */
		if (resources_add(m, &r, r.time_ns + shift) < 0)
			return -1;
	}
	return 0;
}

int resources_read_file(struct pt_model *m, const char *path, char *err,
			size_t errlen)
{
	FILE *f = fopen(path, "rb");
	struct stat st;
	if (!f || fstat(fileno(f), &st) < 0) {
		snprintf(err, errlen, "%s", strerror(errno));
		if (f)
			fclose(f);
		return -1;
	}
	struct pt_samples_header h;
	memset(&h, 0, sizeof(h));
	int rc = -1;
	if ((uint64_t)st.st_size > SAMPLES_FILE_MAX)
		snprintf(err, errlen, "samples file too large");
	else if (fread(&h, 1, sizeof(h), f) != sizeof(h))
		snprintf(err, errlen, "samples file cut short in its header");
	else if (header_check(&h, (uint64_t)st.st_size, err, errlen) == 0 &&
		 fseek(f, (long)h.header_size, SEEK_SET) == 0) {
		rc = read_records(m, f, &h);
		if (rc < 0)
			snprintf(err, errlen, "out of memory");
		else
			m->series.files++;
	}
	fclose(f);
	return rc;
}

/* ---- figures ---- */

static int cmp_time(const void *a, const void *b)
{
	const struct pt_sample_record *x = a, *y = b;
	return x->time_ns < y->time_ns ? -1 : x->time_ns > y->time_ns;
}

static int cmp_pid(const void *a, const void *b)
{
	const struct pt_proc_res *x = a, *y = b;
	return x->pid < y->pid ? -1 : x->pid > y->pid;
}

/* The process's name from its last sample (comm), else the exe's basename
 * of the last dump of that pid (after an exec). */
static const char *name_of(const struct pt_model *m, struct pt_proc_series *ps)
{
	int32_t pid = ps->pid;
	struct pt_sample_record *last = &ps->v[ps->n - 1];
	last->comm[sizeof(last->comm) - 1] = '\0'; /* from the file */
	if (last->comm[0])
		return last->comm;
	const char *name = "";
	for (size_t i = 0; i < m->nprocs; i++)
		if (m->procs[i].pid == pid && m->procs[i].exe) {
			const char *s = strrchr(m->procs[i].exe, '/');
			name = s ? s + 1 : m->procs[i].exe;
		}
	return name;
}

/* Keep only supervisor samples in a supervised series; sort by time. */
static void series_settle(struct pt_proc_series *ps)
{
	if (ps->supervised) {
		size_t k = 0;
		for (size_t i = 0; i < ps->n; i++)
			if (ps->v[i].flags & PT_SAMPLE_SUPERVISOR)
				ps->v[k++] = ps->v[i];
		ps->n = k;
	}
	qsort(ps->v, ps->n, sizeof(*ps->v), cmp_time);
}

static uint64_t cpu_of(const struct pt_sample_record *r)
{
	return r->utime_ns + r->stime_ns;
}

static void figures(const struct pt_proc_series *ps, struct pt_proc_res *r)
{
	const struct pt_sample_record *v = ps->v, *last = &v[ps->n - 1];
	memset(r, 0, sizeof(*r));
	r->pid = ps->pid;
	r->supervised = ps->supervised;
	r->series = ps;
	r->nsamples = ps->n;
	r->first_ns = v[0].time_ns;
	r->last_ns = last->time_ns;
	r->user_s = (double)last->utime_ns / 1e9;
	r->sys_s = (double)last->stime_ns / 1e9;
	r->cpu_s = r->user_s + r->sys_s;
	r->cpu_mean = r->cpu_max = -1;
	r->rss_last = last->rss_bytes;
	r->read_bytes = r->write_bytes = UINT64_MAX;
	r->vol_ctxsw = last->vol_ctxsw;
	r->invol_ctxsw = last->invol_ctxsw;
	for (size_t i = 0; i < ps->n; i++) {
		const struct pt_sample_record *s = &v[i];
		if (s->rss_peak_bytes > r->rss_peak)
			r->rss_peak = s->rss_peak_bytes;
		if (s->rss_bytes > r->rss_peak)
			r->rss_peak = s->rss_bytes;
		if (s->flags & PT_SAMPLE_HAS_IO) {
			r->read_bytes = s->read_bytes;
			r->write_bytes = s->write_bytes;
		}
		if ((s->flags & PT_SAMPLE_HAS_FDS) && s->fds > r->fds_max)
			r->fds_max = s->fds;
		if ((s->flags & PT_SAMPLE_HAS_FDS) &&
		    s->threads > r->threads_max)
			r->threads_max = s->threads;
		if (i == 0 || s->time_ns <= v[i - 1].time_ns ||
		    cpu_of(s) < cpu_of(&v[i - 1]))
			continue;
		double c = (double)(cpu_of(s) - cpu_of(&v[i - 1])) /
			   (double)(s->time_ns - v[i - 1].time_ns);
		if (c > r->cpu_max)
			r->cpu_max = c;
	}
	if (last->time_ns > v[0].time_ns && cpu_of(last) >= cpu_of(&v[0]))
		r->cpu_mean = (double)(cpu_of(last) - cpu_of(&v[0])) /
			      (double)(last->time_ns - v[0].time_ns);
}

int resources_build(struct pt_analysis *a)
{
	struct pt_model_series *s = &a->m->series;
	a->nres = 0;
	a->res = calloc(s->n + 1, sizeof(*a->res));
	if (!a->res)
		return -1;
	for (size_t i = 0; i < s->n; i++) {
		series_settle(&s->v[i]);
		if (!s->v[i].n)
			continue;
		figures(&s->v[i], &a->res[a->nres]);
		a->res[a->nres++].name = name_of(a->m, &s->v[i]);
	}
	qsort(a->res, a->nres, sizeof(*a->res), cmp_pid);
	return 0;
}
