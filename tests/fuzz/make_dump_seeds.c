/*
 * make_dump_seeds.c -- small dumps for fuzz_dump_reader's seed corpus,
 * written by the real writer with the smallest chunks it allows, so that a
 * seed is a few pages rather than megabytes.
 *
 * Not built by make.  From the repository root:
 *   cc -std=c11 -D_GNU_SOURCE -Iinclude -Ishim tests/fuzz/make_dump_seeds.c \
 *     shim/writer.c shim/real.c -ldl -o build/make_dump_seeds
 *   build/make_dump_seeds DIR     (DIR: 0700, created if missing)
 * Writes four dumps: two threads in stop mode, a wrapped dump, one with
 * connection records and raw text, and one whose clock anchors and event
 * times sit at the ends of the 64-bit range (the load.c shift overflow of
 * issue 9).  Every event carries the v2 fields, and the first chunk of
 * each dump ends with raw records of the v2 types nothing writes yet
 * (stack, module, sample), one shorter than its struct and one of an
 * unknown type, so that the readers' skipping is fuzzed from the seeds.
 * Every eighth event is followed by a resource sample of the dump's own
 * process (PT_REC_SAMPLE, as the shim writes them); the raw one above
 * names another pid, which the reader counts as bad.  Also writes
 * samples.1.pts, a side file of `perftap record` (fuzz_report reads it).
 * A fifth dump holds the writer's own stack and module records (two call
 * sites, two modules, a frame that failed to read) in wrapping chunks.
 */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "writer.h"

static const char *const texts[] = {
    "select * from fir_records where fir_number=?",
    "GET fir:record:*",
    "GET /fir/{id}",
    "POST 127.0.0.1:8001/asr",
    "insert into t (a,b) values(?+)",
    ""};

/* Append one raw record of size bytes (header + body) at *off in chunk
 * ch, committed with the chunk's sequence number, if it fits. */
static void put_raw(uint8_t *ch, uint32_t chunk_size, uint32_t *off,
		    uint16_t type, const void *body, uint32_t size)
{
	const struct pt_chunk_header *h = (const void *)ch;
	struct pt_record_header rh = {0, type, 0};
	if (*off + size + 8 > chunk_size || size < sizeof(rh))
		return;
	memset(ch + *off, 0, size);
	if (body)
		memcpy(ch + *off, body, size);
	memcpy(ch + *off + 8, (const uint8_t *)&rh + 8, 4);
	rh.commit = pt_commit_word(size, h->seq);
	memcpy(ch + *off, &rh.commit, 8);
	*off += size;
}

/* v2 records nothing writes yet, after the last record of chunk 0. */
static void add_v2_records(struct pt_writer *w)
{
	uint8_t *ch = w->map + w->hdr->header_size;
	uint32_t off = sizeof(struct pt_chunk_header), size;
	uint64_t commit;
	for (;;) {
		memcpy(&commit, ch + off, 8);
		size = pt_commit_size(commit);
		if (commit == 0 || size < 8 || off + size > w->chunk_size)
			break;
		off += size;
	}
	struct {
		struct pt_stack_record s;
		uint64_t pc[2];
		struct pt_py_frame py[1];
	} st = {{0, PT_REC_STACK, 2, 1, 1, 0, 0},
		{0x401000, 0x402000},
		{{1, 1, 42, 0}}};
	struct pt_module_record mod = {0,	 PT_REC_MODULE, 4,
				       1,	 0x400000,	0x401000,
				       0x403000, {1, 2, 3, 4},	0};
	struct pt_sample_record smp = {.type = PT_REC_SAMPLE,
				       .pid = 1,
				       .time_ns = 1500,
				       .rss_bytes = 1u << 20,
				       .fds = 5,
				       .threads = 2};
	put_raw(ch, w->chunk_size, &off, PT_REC_MODULE, &mod, sizeof(mod));
	put_raw(ch, w->chunk_size, &off, PT_REC_STACK, &st, sizeof(st));
	put_raw(ch, w->chunk_size, &off, PT_REC_SAMPLE, &smp, sizeof(smp));
	put_raw(ch, w->chunk_size, &off, PT_REC_SAMPLE, &smp, 16); /* short */
	put_raw(ch, w->chunk_size, &off, 99, NULL, 24);		   /* unknown */
}

/* Python frames of the seed stacks: two files, a few functions. */
static int seed_resolve(void *arg, uint32_t i, struct pt_frame_text *out)
{
	static const char *const funcs[] = {"repo_query", "Handler.get", "main",
					    "<module>"};
	(void)arg;
	out->func = funcs[i % 4];
	out->func_len = (uint32_t)strlen(out->func);
	out->file = i % 2 ? "/srv/app/views.py" : "/srv/app/repo.py";
	out->file_len = (uint32_t)strlen(out->file);
	out->line = 10 + i;
	return i == 5 ? -1 : 0; /* one frame that failed to read */
}

/* A stack dump: events with real stack and module records (the writer's
 * own, with two call sites and two modules) in small wrapping chunks. */
static int stacks(const char *dir)
{
	static struct pt_writer w;
	static struct pt_writer_cursor c;
	static const struct pt_module_info mods[] = {{"/usr/bin/seed",
						      13,
						      4,
						      {9, 8, 7, 6},
						      0x400000,
						      0x401000,
						      0x403000},
						     {"/usr/lib/libseed.so",
						      19,
						      0,
						      {0},
						      0x7f0000000000,
						      0x7f0000001000,
						      0x7f0000009000}};
	uint64_t native[2][4] = {{0x401010, 0x401234, 0x7f0000001100, 0x402000},
				 {0x401020, 0x7f0000002000, 0, 0}};
	struct pt_writer_config cfg = {.dir = dir,
				       .name_hint = "seed-stacks",
				       .max_size = 8192 + 3 * PT_CHUNK_MIN_SIZE,
				       .chunk_size = PT_CHUNK_MIN_SIZE,
				       .mode = PT_MODE_WRAP,
				       .exe = "/usr/bin/seed",
				       .settings = "PERFTAP_STACKS=all\n"};
	int rc = pt_writer_open(&w, &cfg);
	if (rc < 0)
		return rc;
	pt_writer_cursor_init(&c, 21);
	for (int i = 0; i < 40; i++) {
		struct pt_event ev = {.kind = PT_KIND_MYSQL,
				      .start_ns = 1000u + 10u * (unsigned)i,
				      .duration_ns = 2000000,
				      .text = texts[i % 2],
				      .text_len = strlen(texts[i % 2])};
		struct pt_stack st = {.hash = 1 + (uint64_t)(i % 2),
				      .native = native[i % 2],
				      .n_native = i % 2 ? 2 : 4,
				      .n_python = i % 2 ? 6 : 3,
				      .resolve = seed_resolve,
				      .modules = mods,
				      .n_modules = 2,
				      .modules_gen = 2};
		pt_writer_emit_event_stack(&w, &c, &ev, &st);
	}
	pt_writer_cursor_release(&w, &c);
	pt_writer_close(&w);
	return 0;
}

static int one(const char *dir, enum pt_limit_mode mode, int events, int conns,
	       uint32_t flags, int extreme)
{
	static struct pt_writer w;
	static struct pt_writer_cursor c[2];
	char *argv[] = {"seed", "--x", NULL};
	struct pt_writer_config cfg = {.dir = dir,
				       .name_hint = "seed",
				       .max_size = 8192 + 3 * PT_CHUNK_MIN_SIZE,
				       .chunk_size = PT_CHUNK_MIN_SIZE,
				       .mode = mode,
				       .flags = flags,
				       .exe = "/usr/bin/seed",
				       .argc = 2,
				       .argv = argv,
				       .settings = "PERFTAP_X=1\n"};
	int rc = pt_writer_open(&w, &cfg);
	if (rc < 0)
		return rc;
	pt_writer_cursor_init(&c[0], 11);
	pt_writer_cursor_init(&c[1], 12);
	for (int i = 0; i < events; i++) {
		const char *t = texts[i % 6];
		struct pt_event ev = {.kind = (uint8_t)(1 + i % 4),
				      .outcome = (uint8_t)(i % 4),
				      .start_ns = 1000u + 10u * (unsigned)i,
				      .duration_ns = (uint64_t)(i % 7) * 3,
				      .conn_id = (uint32_t)i % 3,
				      .status = i % 5 ? 0 : 500,
				      .rows = (uint64_t)i,
				      .request_id = (uint64_t)i / 2,
				      .server_status = (uint16_t)(i * 32),
				      .warnings = (uint16_t)(i % 3),
				      .scan_steps = (uint32_t)i * 7,
				      .vm_steps = (uint32_t)i * 11,
				      .sorts = (uint16_t)(i % 2),
				      .auto_indexes = (uint16_t)(i % 5 == 1),
				      .attr = (uint8_t)(i % 3),
				      .text = t,
				      .text_len = strlen(t)};
		if (extreme)
			ev.start_ns = 1796187073486168724ull + (uint64_t)i;
		pt_writer_emit_event(&w, &c[i & 1], &ev);
		if (i % 8 == 0) {
			struct pt_sample_record s = {
			    .pid = (int32_t)getpid(),
			    .flags = PT_SAMPLE_HAS_RSS,
			    .time_ns = ev.start_ns + 1,
			    .utime_ns = 1000000u * (uint64_t)i,
			    .stime_ns = 500000u * (uint64_t)i,
			    .rss_bytes = (4u << 20) + 4096u * (uint64_t)i,
			    .rss_peak_bytes = (5u << 20) + 4096u * (uint64_t)i,
			    .vol_ctxsw = (uint64_t)i,
			    .invol_ctxsw = (uint64_t)i / 2,
			    .comm = "seed"};
			pt_writer_emit_sample(&w, &c[i & 1], &s);
		}
		if (conns && i % 5 == 0) {
			struct pt_conn_info ci = {
			    .event = PT_CONN_OPEN,
			    .role = 1,
			    .proto = 1,
			    .port = 3306,
			    .conn_id = (uint32_t)i,
			    .time_ns = 1000u + 10u * i,
			    .connect_ns = 1000u + 10u * i,
			    .auth_ns = 5,
			    .conn_flags = i % 10 ? 0 : PT_CONNF_INHERITED,
			    .text = "10.11.6-MariaDB",
			    .text_len = 15};
			pt_writer_emit_conn(&w, &c[i & 1], &ci);
		}
	}
	add_v2_records(&w);
	if (extreme) { /* shift = INT64_MAX - 15: start_ns + shift overflows */
		w.hdr->monotonic_anchor_ns = 16;
		w.hdr->realtime_anchor_ns = 16 + 9223372036854775792ull;
	}
	pt_writer_cursor_release(&w, &c[0]);
	pt_writer_cursor_release(&w, &c[1]);
	pt_writer_close(&w);
	return 0;
}

/* A side file of `perftap record`: three samples of two processes. */
static int side_file(const char *dir)
{
	char path[4200];
	snprintf(path, sizeof(path), "%s/samples.1.pts", dir);
	FILE *f = fopen(path, "wb");
	if (!f)
		return -1;
	struct pt_samples_header h = {
	    .version = PT_SAMPLES_VERSION,
	    .byte_order = PT_BYTE_ORDER_MARK,
	    .header_size = sizeof(h),
	    .record_size = sizeof(struct pt_sample_record),
	    .interval_ns = 1000000000u,
	    .realtime_anchor_ns = 1796187073000000000ull,
	    .monotonic_anchor_ns = 1000,
	    .supervisor_pid = 1,
	    .root_pid = 2};
	memcpy(h.magic, PT_SAMPLES_MAGIC, PT_DUMP_MAGIC_LEN);
	fwrite(&h, sizeof(h), 1, f);
	for (int i = 0; i < 3; i++) {
		struct pt_sample_record s = {
		    .commit = sizeof(s),
		    .type = PT_REC_SAMPLE,
		    .flags = PT_SAMPLE_SUPERVISOR | PT_SAMPLE_HAS_IO |
			     PT_SAMPLE_HAS_FDS | PT_SAMPLE_HAS_RSS,
		    .pid = 2 + (i == 2),
		    .time_ns = 1000 + 1000000000ull * (uint64_t)i,
		    .utime_ns = 300000000ull * (uint64_t)i,
		    .stime_ns = 100000000ull * (uint64_t)i,
		    .rss_bytes = 8u << 20,
		    .rss_peak_bytes = 9u << 20,
		    .read_bytes = 4096,
		    .write_bytes = 8192u * (uint64_t)i,
		    .fds = 6,
		    .threads = 3,
		    .comm = "python3"};
		fwrite(&s, sizeof(s), 1, f);
	}
	return fclose(f);
}

int main(int argc, char **argv)
{
	if (argc < 2 || pt_writer_prepare_dir(argv[1]) < 0) {
		fprintf(stderr, "usage: make_dump_seeds DIR\n");
		return 2;
	}
	if (one(argv[1], PT_MODE_STOP, 40, 0, 0, 0) < 0 ||
	    one(argv[1], PT_MODE_WRAP, 600, 0, 0, 0) < 0 ||
	    one(argv[1], PT_MODE_STOP, 60, 1, PT_HDR_RAW_TEXT, 0) < 0 ||
	    one(argv[1], PT_MODE_STOP, 12, 1, 0, 1) < 0 || side_file(argv[1]) ||
	    stacks(argv[1]) < 0)
		return 1;
	return 0;
}
