/*
 * fuzz_dump_reader.c -- libFuzzer target for the dump reader: the input is
 * a dump file, as a crash, a bad disk or a hostile user might leave one.
 *
 * Built by `make fuzz-build`; run by `make fuzz` and, briefly, `make
 * test`.  Corpus tests/fuzz/corpus/dump (tests/fuzz/make_dump_seeds.c:
 * small v2 dumps with raw stack, module and sample records, one short and
 * one of an unknown type, which the reader must skip; and shim samples).
 *
 * The input is written to a memfd and opened through /proc/self/fd/N
 * (pt_dump_open takes a path and maps the file).  Then every record is
 * read three ways -- pt_dump_next (k-way merge, twice, with a rewind),
 * pt_dump_foreach and the chunk views -- and checked: every string is
 * NUL-terminated at its stated length (a NUL inside is
 * possible in a hand-made file; the length is what counts), the header strings
 * are readable, and the three ways agree on how many records there are.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "dump_reader.h"

struct tally {
	uint64_t events, conns;
};

static void check_record(const struct pt_read_record *r, struct tally *t)
{
	if (r->type == PT_REC_EVENT) {
		if (!r->ev.text || r->ev.text[r->ev.text_len] != '\0')
			abort(); /* not terminated at its length */
		t->events++;
	} else if (r->type == PT_REC_CONN) {
		if (!r->conn.text || r->conn.text[r->conn.text_len] != '\0')
			abort();
		t->conns++;
	} else {
		abort(); /* unknown types are to be skipped, not returned */
	}
}

/* Every event's stack and every module: texts terminated, counts bound. */
static void check_stacks(struct pt_dump *d)
{
	struct pt_read_record r;
	struct pt_read_stack st;
	const struct pt_read_module *mods;
	volatile size_t sink = 0;
	uint32_t n = pt_dump_modules(d, &mods);
	for (uint32_t i = 0; i < n; i++)
		sink += strlen(mods[i].path) + mods[i].build_id_len;
	pt_dump_rewind(d);
	while (pt_dump_next(d, &r)) {
		if (r.type != PT_REC_EVENT ||
		    !pt_dump_stack(d, r.chunk_seq, r.ev.stack_id, &st))
			continue;
		if (st.n_native > PT_STACK_MAX_NATIVE ||
		    st.n_python > PT_STACK_MAX_PYTHON)
			abort();
		for (uint32_t i = 0; i < st.n_native; i++)
			sink += st.native[i] & 1;
		for (uint32_t i = 0; i < st.n_python; i++)
			sink += strlen(st.py[i].func) + strlen(st.py[i].file);
	}
	(void)sink;
}

static int visit(const struct pt_read_record *r, void *arg)
{
	check_record(r, arg);
	return 0;
}

static void check_info(const struct pt_dump_info *in)
{
	const char *a = in->argv;
	volatile size_t sink = 0;
	if (!in->exe || !in->host || !in->settings)
		abort();
	sink += strlen(in->exe) + strlen(in->host) + strlen(in->settings);
	for (uint32_t i = 0; a && i < in->argc; i++) {
		size_t n = strlen(a);
		sink += n;
		a += n + 1;
	}
	(void)sink;
}

/* The chunk view's connection hook: text terminated at its length. */
static void view_conn(void *arg, const struct pt_read_conn *c)
{
	if (!c->text || c->text[c->text_len] != '\0')
		abort();
	++*(uint64_t *)arg;
}

static uint64_t chunk_events(struct pt_dump *d, uint64_t *conns)
{
	struct pt_chunk_view v;
	uint64_t n = 0;
	volatile size_t sink = 0;
	for (uint32_t i = 0; pt_dump_chunk(d, i, &v); i++) {
		const struct pt_event_record *r;
		v.on_conn = view_conn;
		v.conn_arg = conns;
		if (v.strings > v.nstrings)
			abort();
		while ((r = pt_chunk_next_event(&v)) != NULL) {
			if (v.strings > v.nstrings)
				abort();
			if (r->text_id <= v.strings) {
				if (v.text[r->text_id][v.text_len[r->text_id]])
					abort();
				sink += v.text_len[r->text_id];
			}
			n++;
		}
		pt_dump_chunk_release(d, i);
	}
	(void)sink;
	return n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char path[64], err[256];
	struct pt_read_record rec;
	struct tally a = {0}, b = {0}, c = {0};
	struct pt_dump *d;
	int fd = memfd_create("fuzz_dump", MFD_CLOEXEC);

	if (fd < 0)
		abort();
	if (size && write(fd, data, size) != (ssize_t)size)
		abort();
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	d = pt_dump_open(path, err, sizeof(err));
	if (!d) {
		if (memchr(err, '\0', sizeof(err)) == NULL || err[0] == '\0')
			abort(); /* a failure always says why */
		close(fd);
		return 0;
	}
	close(fd);
	check_info(pt_dump_info(d));
	while (pt_dump_next(d, &rec))
		check_record(&rec, &a);
	pt_dump_rewind(d);
	while (pt_dump_next(d, &rec))
		check_record(&rec, &b);
	pt_dump_foreach(d, visit, &c);
	if (a.events != b.events || a.conns != b.conns ||
	    a.events != c.events || a.conns != c.conns)
		abort();
	uint64_t view_conns = 0;
	if (chunk_events(d, &view_conns) != a.events || view_conns != a.conns)
		abort();
	size_t ns;
	const struct pt_sample_record *s = pt_dump_samples(d, &ns);
	for (size_t i = 0; i < ns; i++) /* only checked ones are handed out */
		if (pt_sample_check(&s[i], pt_dump_info(d)->pid) < 0)
			abort();
	check_stacks(d);
	pt_dump_close(d);
	return 0;
}
