/*
 * test_samples.c -- resource samples: the writer's PT_REC_SAMPLE records
 * read back (and the impossible ones skipped and counted), the interval
 * setting, the /proc sampler on this very process, and the side file
 * through the report's loader.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "analysis.h"
#include "config.h"
#include "dump_test_util.h"
#include "load.h"
#include "model.h"
#include "resources.h"
#include "sampler.h"
#include "thresholds.h"

static const char *dir;

static void setup(void)
{
	dir = dumptest_mkdtemp();
}

static void teardown(void)
{
	dumptest_rmdir(dir);
}

TestSuite(samples, .init = setup, .fini = teardown);

static struct pt_sample_record sample(int32_t pid, uint64_t t, uint64_t cpu)
{
	struct pt_sample_record r;
	memset(&r, 0, sizeof(r));
	r.pid = pid;
	r.time_ns = t;
	r.utime_ns = cpu;
	r.stime_ns = cpu / 2;
	r.rss_bytes = 10u << 20;
	r.rss_peak_bytes = 12u << 20;
	r.vol_ctxsw = 7;
	r.invol_ctxsw = 3;
	r.flags = PT_SAMPLE_HAS_RSS;
	memcpy(r.comm, "worker", 6);
	return r;
}

Test(samples, writer_records_read_back_and_bad_ones_are_counted)
{
	struct pt_writer w;
	struct pt_writer_config cfg =
	    dumptest_config(dir, 1 << 20, 4096, PT_MODE_STOP);
	cr_assert_eq(pt_writer_open(&w, &cfg), 0);
	struct pt_writer_cursor c;
	pt_writer_cursor_init(&c, 1);
	int32_t pid = (int32_t)getpid();
	struct pt_sample_record a = sample(pid, 1000, 5000000);
	struct pt_sample_record b = sample(pid, 2000, 9000000);
	struct pt_sample_record other = sample(pid + 1, 3000, 1); /* foreign */
	struct pt_sample_record junk = sample(pid, 4000, 1ull << 63);
	cr_assert_eq(pt_writer_emit_sample(&w, &c, &a), 0);
	struct pt_event ev = dumptest_event(1, 1, "GET /x");
	cr_assert_eq(pt_writer_emit_event(&w, &c, &ev), 0);
	cr_assert_eq(pt_writer_emit_sample(&w, &c, &b), 0);
	cr_assert_eq(pt_writer_emit_sample(&w, &c, &other), 0);
	cr_assert_eq(pt_writer_emit_sample(&w, &c, &junk), 0);
	pt_writer_close(&w);

	struct pt_dump *d = dumptest_open(w.path);
	size_t n;
	const struct pt_sample_record *s = pt_dump_samples(d, &n);
	cr_assert_eq(n, 2);
	cr_assert_eq(s[0].time_ns, 1000);
	cr_assert_eq(s[1].utime_ns, 9000000);
	cr_assert_eq(s[1].rss_peak_bytes, 12u << 20);
	cr_assert_str_eq(s[1].comm, "worker");
	cr_assert_eq(pt_dump_problems(d)->bad_samples, 2);
	cr_assert_eq(pt_dump_problems(d)->unknown_records, 0);
	cr_assert_eq(dumptest_count_ordered(d), 1); /* the event only */
	pt_dump_close(d);
}

Test(samples, interval_setting_parses_and_refuses)
{
	uint64_t ns;
	cr_assert_eq(pt_config_parse_interval("1s", &ns), 0);
	cr_assert_eq(ns, 1000000000ull);
	cr_assert_eq(pt_config_parse_interval("250ms", &ns), 0);
	cr_assert_eq(ns, 250000000ull);
	cr_assert_eq(pt_config_parse_interval("2", &ns), 0);
	cr_assert_eq(ns, 2000000000ull);
	cr_assert_eq(pt_config_parse_interval("0", &ns), 0);
	cr_assert_eq(ns, 0);
	cr_assert_lt(pt_config_parse_interval("5ms", &ns), 0); /* < 10 ms */
	cr_assert_lt(pt_config_parse_interval("2h", &ns), 0);
	cr_assert_lt(pt_config_parse_interval("3601", &ns), 0);
	cr_assert_lt(pt_config_parse_interval("-1", &ns), 0);
	cr_assert_lt(pt_config_parse_interval("", &ns), 0);
	cr_assert_lt(pt_config_parse_interval("99999999999999999999", &ns), 0);
}

Test(samples, proc_sampler_reads_this_process_like_getrusage)
{
	struct pt_sample_record r;
	struct rusage ru;
	cr_assert_eq(sampler_read_proc((int32_t)getpid(), 1, 0, &r), 0);
	getrusage(RUSAGE_SELF, &ru);
	cr_assert_eq(r.pid, getpid());
	cr_assert(r.flags & PT_SAMPLE_SUPERVISOR);
	cr_assert(r.flags & PT_SAMPLE_HAS_RSS);
	cr_assert_gt(r.rss_bytes, 0);
	/* VmHWM and ru_maxrss are the same high-water mark, though the
	 * kernel folds the latter in lazily: a MiB apart at most. */
	uint64_t maxrss = (uint64_t)ru.ru_maxrss * 1024;
	cr_assert(r.rss_peak_bytes <= maxrss + (1u << 20) &&
		      r.rss_peak_bytes + (1u << 20) >= maxrss,
		  "%llu vs %llu", (unsigned long long)r.rss_peak_bytes,
		  (unsigned long long)maxrss);
	cr_assert_geq(r.threads, 1);
	cr_assert_geq(r.fds, 3);
	cr_assert_gt(r.comm[0], 0);
	cr_assert_eq(sampler_read_proc(0x7ffffff0, 1, 0, &r), -ESRCH);
}

static void write_side_file(const char *path, const void *hdr, size_t hlen,
			    const struct pt_sample_record *r, size_t n)
{
	FILE *f = fopen(path, "wb");
	cr_assert_not_null(f);
	fwrite(hdr, 1, hlen, f);
	fwrite(r, sizeof(*r), n, f);
	fwrite(r, 1, 20, f); /* a record cut short: ignored */
	fclose(f);
}

static struct pt_samples_header side_header(void)
{
	struct pt_samples_header h;
	memset(&h, 0, sizeof(h));
	memcpy(h.magic, PT_SAMPLES_MAGIC, PT_DUMP_MAGIC_LEN);
	h.version = PT_SAMPLES_VERSION;
	h.byte_order = PT_BYTE_ORDER_MARK;
	h.header_size = sizeof(h);
	h.record_size = sizeof(struct pt_sample_record);
	h.realtime_anchor_ns = 1000000000000ull;
	h.monotonic_anchor_ns = 0;
	h.supervisor_pid = 10;
	h.root_pid = 11;
	return h;
}

Test(samples, side_file_gives_cpu_rates_and_peaks)
{
	char path[4200];
	snprintf(path, sizeof(path), "%s/samples.10.pts", dir);
	struct pt_samples_header h = side_header();
	struct pt_sample_record r[4];
	/* 1 s apart: 0.2 s, then 0.9 s of CPU, then idle. */
	uint64_t cpu[4] = {0, 200000000, 1100000000, 1100000000};
	for (int i = 0; i < 4; i++) {
		r[i] = sample(11, 1000000000ull * (uint64_t)(i + 1), 0);
		r[i].utime_ns = cpu[i];
		r[i].stime_ns = 0;
		r[i].commit = sizeof(r[i]);
		r[i].type = PT_REC_SAMPLE;
		r[i].flags |=
		    PT_SAMPLE_SUPERVISOR | PT_SAMPLE_HAS_IO | PT_SAMPLE_HAS_FDS;
		r[i].fds = (uint32_t)(5 + i);
		r[i].threads = 2;
		r[i].write_bytes = 4096u * (uint64_t)i;
	}
	r[2].rss_peak_bytes = 300u << 20;
	write_side_file(path, &h, sizeof(h), r, 4);

	struct pt_model m;
	model_init(&m);
	char *inputs[] = {(char *)dir};
	struct pt_load_opts lo;
	memset(&lo, 0, sizeof(lo));
	cr_assert_eq(load_inputs(&m, inputs, 1, &lo), 0);
	struct pt_analysis a;
	cr_assert_eq(analysis_build(&a, &m, PT_SORT_TOTAL), 0);
	cr_assert_eq(a.nres, 1);
	const struct pt_proc_res *p = &a.res[0];
	cr_assert_eq(p->pid, 11);
	cr_assert_eq(p->nsamples, 4);
	cr_assert_float_eq(p->cpu_s, 1.1, 1e-9);
	cr_assert_float_eq(p->cpu_max, 0.9, 1e-9);
	cr_assert_float_eq(p->cpu_mean, 1.1 / 3.0, 1e-9);
	cr_assert_eq(p->rss_peak, 300u << 20);
	cr_assert_eq(p->write_bytes, 3 * 4096u);
	cr_assert_eq(p->fds_max, 8);
	cr_assert_eq(p->first_ns, 1000000000000ull + 1000000000ull);
	cr_assert_str_eq(p->name, "worker");
	analysis_free(&a);
	model_free(&m);
}

Test(samples, side_file_headers_that_cannot_be_trusted_are_refused)
{
	char path[4200], err[256];
	snprintf(path, sizeof(path), "%s/samples.1.pts", dir);
	struct pt_sample_record r = sample(11, 5, 5);
	for (int k = 0; k < 5; k++) {
		struct pt_samples_header h = side_header();
		if (k == 0)
			h.version = 2;
		else if (k == 1)
			h.byte_order = 0x04030201u;
		else if (k == 2)
			h.record_size = 12;
		else if (k == 3)
			h.header_size = 1u << 30;
		else
			h.magic[0] = 'X';
		write_side_file(path, &h, sizeof(h), &r, 1);
		struct pt_model m;
		model_init(&m);
		err[0] = '\0';
		cr_assert_lt(resources_read_file(&m, path, err, sizeof(err)), 0,
			     "case %d", k);
		cr_assert(err[0] && !strchr(err, '\n'), "case %d", k);
		model_free(&m);
	}
}

Test(samples, process_thresholds_parse_and_pair_with_their_selectors)
{
	struct pt_thresholds t;
	char err[256];
	cr_assert_eq(thresholds_parse("{\"process python3\": [\"cpu<80%\", "
				      "\"rss<2GB\", \"cpu_max<=1.5\"]}",
				      &t, err, sizeof(err)),
		     0, "%s", err);
	cr_assert_eq(t.n, 3);
	cr_assert_eq(t.items[0].e.agg, PT_AGG_CPU);
	cr_assert_float_eq(t.items[0].e.limit, 0.8, 1e-12);
	cr_assert_eq(t.items[1].e.unit, PT_UNIT_BYTES);
	cr_assert_float_eq(t.items[1].e.limit, 2147483648.0, 1e-3);
	cr_assert_eq(t.items[2].e.agg, PT_AGG_CPU_MAX);
	thresholds_free(&t);
	static const char *const bad[] = {
	    "{\"process *\": [\"p(95)<10ms\"]}",
	    "{\"http GET /x\": [\"cpu<80%\"]}",
	    "{\"process *\": [\"rss<2parsecs\"]}",
	    "{\"process *\": [\"cpu<80ms\"]}",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = '\0';
		cr_assert_lt(thresholds_parse(bad[i], &t, err, sizeof(err)), 0,
			     "%s", bad[i]);
		cr_assert(err[0], "%s", bad[i]);
		thresholds_free(&t);
	}
}
