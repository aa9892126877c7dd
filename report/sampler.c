/*
 * sampler.c -- resource samples of a process tree from /proc (sampler.h).
 *
 * Sections: reading /proc files, one process, the tree, the side file.
 */
#include "grow.h"
#include "sampler.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define PROC_FILE_MAX 8192 /* /proc/PID/status is about 1.5 KB */

/* ---- reading /proc files ---- */

/* The whole of a small /proc file, NUL-terminated.  Returns its length or
 * -errno. */
static ssize_t read_small(const char *path, char *buf, size_t cap)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	size_t len = 0;
	while (len + 1 < cap) {
		ssize_t n = read(fd, buf + len, cap - 1 - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			int e = errno;
			close(fd);
			return -e;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	close(fd);
	buf[len] = '\0';
	return (ssize_t)len;
}

/* The number after "key:" in a "key:\tvalue" file; 0 when absent. */
static uint64_t field_u64(const char *text, const char *key, int *found)
{
	size_t kl = strlen(key);
	for (const char *p = text; p && *p; p = strchr(p, '\n')) {
		if (*p == '\n')
			p++;
		if (!strncmp(p, key, kl) && p[kl] == ':') {
			*found = 1;
			return strtoull(p + kl + 1, NULL, 10);
		}
	}
	return 0;
}

/* /proc/PID/stat after the command name: ppid, utime, stime, threads.
 * Returns 0, -ESRCH for a zombie, -EINVAL when unparsable. */
static int parse_stat(const char *text, struct pt_proc_entry *e)
{
	const char *p = strrchr(text, ')'); /* the name may hold ')' */
	if (!p || p[1] != ' ')
		return -EINVAL;
	char state;
	unsigned long long utime, stime;
	long ppid, threads;
	/* state ppid pgrp session tty tpgid flags minflt cminflt majflt
	 * cmajflt utime stime cutime cstime priority nice num_threads */
	if (sscanf(p + 2,
		   "%c %ld %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu %*d "
		   "%*d %*d %*d %ld",
		   &state, &ppid, &utime, &stime, &threads) != 5)
		return -EINVAL;
	if (state == 'Z' || state == 'X')
		return -ESRCH;
	e->ppid = (int32_t)ppid;
	e->utime_ticks = utime;
	e->stime_ticks = stime;
	e->threads = threads > 0 ? (uint32_t)threads : 0;
	return 0;
}

static int read_stat(int32_t pid, struct pt_proc_entry *e)
{
	char path[64], buf[1024];
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	ssize_t n = read_small(path, buf, sizeof(buf));
	if (n < 0)
		return (int)n == -ENOENT ? -ESRCH : (int)n;
	e->pid = pid;
	return parse_stat(buf, e);
}

static uint32_t count_fds(int32_t pid)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/fd", (int)pid);
	DIR *d = opendir(path);
	if (!d)
		return 0;
	uint32_t n = 0;
	struct dirent *de;
	while ((de = readdir(d)) != NULL)
		n += de->d_name[0] != '.';
	closedir(d);
	return n > 0 ? n - 1 : 0; /* the directory's own fd */
}

/* ---- one process ---- */

static void fill_from_files(int32_t pid, struct pt_sample_record *out)
{
	char path[64], buf[PROC_FILE_MAX];
	int f = 0;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	if (read_small(path, buf, sizeof(buf)) > 0) {
		int rss = 0;
		out->rss_bytes = field_u64(buf, "VmRSS", &rss) * 1024;
		out->rss_peak_bytes = field_u64(buf, "VmHWM", &f) * 1024;
		out->vol_ctxsw = field_u64(buf, "voluntary_ctxt_switches", &f);
		out->invol_ctxsw =
		    field_u64(buf, "nonvoluntary_ctxt_switches", &f);
		if (rss)
			out->flags |= PT_SAMPLE_HAS_RSS;
	}
	snprintf(path, sizeof(path), "/proc/%d/io", (int)pid);
	if (read_small(path, buf, sizeof(buf)) > 0) {
		int io = 0;
		out->read_bytes = field_u64(buf, "read_bytes", &io);
		out->write_bytes = field_u64(buf, "write_bytes", &io);
		if (io)
			out->flags |= PT_SAMPLE_HAS_IO;
	}
	out->fds = count_fds(pid);
	snprintf(path, sizeof(path), "/proc/%d/comm", (int)pid);
	ssize_t n = read_small(path, buf, sizeof(out->comm));
	if (n > 0) {
		buf[strcspn(buf, "\n")] = '\0';
		memcpy(out->comm, buf, strlen(buf));
	}
}

static void fill_record(const struct pt_proc_entry *e, uint64_t now_ns, long hz,
			struct pt_sample_record *out)
{
	memset(out, 0, sizeof(*out));
	out->commit = sizeof(*out);
	out->type = PT_REC_SAMPLE;
	out->flags = PT_SAMPLE_SUPERVISOR | PT_SAMPLE_HAS_FDS;
	out->pid = e->pid;
	out->time_ns = now_ns;
	out->utime_ns = e->utime_ticks * (1000000000ull / (uint64_t)hz);
	out->stime_ns = e->stime_ticks * (1000000000ull / (uint64_t)hz);
	out->threads = e->threads;
	fill_from_files(e->pid, out);
}

static long ticks_per_sec(void)
{
	long hz = sysconf(_SC_CLK_TCK);
	return hz > 0 && hz <= 1000000000L ? hz : 100;
}

int sampler_read_proc(int32_t pid, uint64_t now_ns, long hz,
		      struct pt_sample_record *out)
{
	struct pt_proc_entry e;
	int rc = read_stat(pid, &e);
	if (rc < 0)
		return rc;
	fill_record(&e, now_ns, hz > 0 ? hz : ticks_per_sec(), out);
	return 0;
}

/* ---- the tree ---- */

static int procs_push(struct pt_sampler *s, const struct pt_proc_entry *e)
{
	if (PT_GROW(s->procs, s->cap, s->nprocs + 1) < 0)
		return -ENOMEM;
	s->procs[s->nprocs++] = *e;
	return 0;
}

static int cmp_i32(const void *a, const void *b)
{
	int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;
	return x < y ? -1 : x > y;
}

static int is_foreign(const struct pt_sampler *s, int32_t pid)
{
	return s->nforeign && bsearch(&pid, s->foreign, s->nforeign,
				      sizeof(*s->foreign), cmp_i32) != NULL;
}

/* Mark the processes that descend from s->self: repeat until nothing
 * changes (the depth of the tree passes; a handful in practice). */
static void mark_tree(struct pt_sampler *s)
{
	for (int changed = 1; changed;) {
		changed = 0;
		for (size_t i = 0; i < s->nprocs; i++) {
			struct pt_proc_entry *e = &s->procs[i];
			if (e->keep)
				continue;
			int up = e->ppid == s->self;
			for (size_t j = 0; !up && j < s->nprocs; j++)
				up = s->procs[j].keep &&
				     s->procs[j].pid == e->ppid;
			if (up)
				e->keep = changed = 1;
		}
	}
}

/* The processes seen that are not ours, sorted, for the next scan.  A
 * process outside the tree never joins it (only new processes do; an
 * orphan of ours comes to us, the subreaper, and was ours already), so
 * its /proc/PID/stat need not be read again while the pid stays listed;
 * a pid missing from one scan is forgotten, so a reused pid is read. */
static int remember_foreign(struct pt_sampler *s, const int32_t *still,
			    size_t nstill)
{
	size_t n = nstill;
	for (size_t i = 0; i < s->nprocs; i++)
		n += !s->procs[i].keep;
	int32_t *v = malloc((n ? n : 1) * sizeof(*v));
	if (!v)
		return -ENOMEM;
	memcpy(v, still, nstill * sizeof(*v));
	n = nstill;
	for (size_t i = 0; i < s->nprocs; i++)
		if (!s->procs[i].keep)
			v[n++] = s->procs[i].pid;
	qsort(v, n, sizeof(*v), cmp_i32);
	free(s->foreign);
	s->foreign = v;
	s->nforeign = n;
	return 0;
}

/* The live processes of the machine: /proc/N/stat of each one not known
 * to be foreign, then mark those that descend from s->self.  A process
 * that appears or goes mid-scan is taken or missed as it falls; the next
 * tick sees it right. */
static int scan_tree(struct pt_sampler *s)
{
	DIR *d = opendir("/proc");
	if (!d)
		return -errno;
	struct dirent *de;
	int32_t *still =
	    malloc((s->nforeign ? s->nforeign : 1) * sizeof(*still));
	size_t nstill = 0;
	int rc = still ? 0 : -ENOMEM;
	s->nprocs = 0;
	while (rc == 0 && (de = readdir(d)) != NULL) {
		char *end;
		long pid = strtol(de->d_name, &end, 10);
		struct pt_proc_entry e;
		if (*end || pid <= 0 || pid > INT32_MAX)
			continue;
		if (is_foreign(s, (int32_t)pid)) {
			if (nstill < s->nforeign)
				still[nstill++] = (int32_t)pid;
			continue;
		}
		if (read_stat((int32_t)pid, &e) < 0)
			continue;
		e.keep = 0;
		rc = procs_push(s, &e);
	}
	closedir(d);
	if (rc == 0) {
		mark_tree(s);
		rc = remember_foreign(s, still, nstill);
	}
	free(still);
	return rc;
}

/* ---- the side file ---- */

static uint64_t clock_ns(clockid_t id)
{
	struct timespec ts;
	clock_gettime(id, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static int write_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;
	while (len) {
		ssize_t n = write(fd, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

int sampler_open(struct pt_sampler *s, const char *dir, int32_t root,
		 uint64_t interval_ns)
{
	memset(s, 0, sizeof(*s));
	s->self = (int32_t)getpid();
	s->hz = ticks_per_sec();
	snprintf(s->path, sizeof(s->path), "%s/samples.%d.pts", dir,
		 (int)s->self);
	s->fd = open(s->path,
		     O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC |
			 O_APPEND,
		     0600);
	if (s->fd < 0)
		return -errno;
	struct pt_samples_header h;
	memset(&h, 0, sizeof(h));
	memcpy(h.magic, PT_SAMPLES_MAGIC, PT_DUMP_MAGIC_LEN);
	h.version = PT_SAMPLES_VERSION;
	h.byte_order = PT_BYTE_ORDER_MARK;
	h.header_size = sizeof(h);
	h.record_size = sizeof(struct pt_sample_record);
	h.interval_ns = interval_ns;
	h.realtime_anchor_ns = clock_ns(CLOCK_REALTIME);
	h.monotonic_anchor_ns = clock_ns(CLOCK_MONOTONIC);
	h.supervisor_pid = s->self;
	h.root_pid = root;
	int rc = write_all(s->fd, &h, sizeof(h));
	if (rc < 0) {
		sampler_close(s);
		return rc;
	}
	return 0;
}

int sampler_tick(struct pt_sampler *s)
{
	int rc = scan_tree(s);
	if (rc < 0)
		return rc;
	uint64_t now = clock_ns(CLOCK_MONOTONIC);
	size_t n = 0;
	free(s->out);
	s->out = calloc(s->nprocs ? s->nprocs : 1, sizeof(*s->out));
	if (!s->out)
		return -ENOMEM;
	for (size_t i = 0; i < s->nprocs && n < PT_SAMPLER_MAX_PROCS; i++)
		if (s->procs[i].keep)
			fill_record(&s->procs[i], now, s->hz, &s->out[n++]);
	s->ticks++;
	s->records += n;
	if (n && (rc = write_all(s->fd, s->out, n * sizeof(*s->out))) < 0)
		return rc;
	return (int)n;
}

void sampler_close(struct pt_sampler *s)
{
	if (s->fd >= 0)
		close(s->fd);
	s->fd = -1;
	free(s->procs);
	free(s->out);
	free(s->foreign);
	s->procs = NULL;
	s->out = NULL;
	s->foreign = NULL;
}
