/*
 * test_dump_events.c -- `perftap events`: one JSON object per line with
 * the field names scripts rely on, exact 64-bit integers, valid UTF-8,
 * and `perftap: FILE: problem` with exit 2 for unreadable input.
 */
#include <arpa/inet.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cJSON.h>
#include <criterion/criterion.h>

#include "commands.h"
#include "dump_test_util.h"

static const char *dir;

static void setup(void)
{
	dir = dumptest_mkdtemp();
}

static void teardown(void)
{
	dumptest_rmdir(dir);
}

TestSuite(dump_events, .init = setup, .fini = teardown);

/* Run cmd_events with stdout and stderr captured into files in dir. */
static int run_events(int argc, char **argv, char **out, char **err)
{
	char opath[4096], epath[4096];
	size_t len;

	snprintf(opath, sizeof(opath), "%s/out", dir);
	snprintf(epath, sizeof(epath), "%s/err", dir);
	fflush(stdout);
	fflush(stderr);
	int so = dup(1), se = dup(2);
	int fo = open(opath, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	int fe = open(epath, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	dup2(fo, 1);
	dup2(fe, 2);
	int rc = cmd_events(argc, argv);
	fflush(stdout);
	fflush(stderr);
	dup2(so, 1);
	dup2(se, 2);
	close(so), close(se), close(fo), close(fe);
	*out = (char *)dumptest_slurp(opath, &len);
	(*out)[len] = '\0';
	*err = (char *)dumptest_slurp(epath, &len);
	(*err)[len] = '\0';
	unlink(opath);
	unlink(epath);
	return rc;
}

static cJSON *next_line(char **cursor)
{
	char *nl = strchr(*cursor, '\n');
	cr_assert_not_null(nl, "line missing");
	*nl = '\0';
	cJSON *o = cJSON_Parse(*cursor);
	cr_assert_not_null(o, "not JSON: %s", *cursor);
	*cursor = nl + 1;
	return o;
}

static const char *str_of(const cJSON *o, const char *k)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
	cr_assert(cJSON_IsString(v), "field %s", k);
	return v->valuestring;
}

static double num_of(const cJSON *o, const char *k)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
	cr_assert(cJSON_IsNumber(v), "field %s", k);
	return v->valuedouble;
}

static char *write_dump(void)
{
	static char path[4096];
	struct pt_writer w;
	struct pt_writer_cursor c;
	struct pt_writer_config cfg =
	    dumptest_config(dir, 1 << 20, 4096, PT_MODE_WRAP);
	struct pt_conn_info ci = {.event = PT_CONN_CLOSE,
				  .role = PT_ROLE_SERVER,
				  .proto = PT_PROTO_HTTP,
				  .family = AF_INET,
				  .port = 8000,
				  .conn_id = 3,
				  .time_ns = 100,
				  .events = 2};
	struct pt_event ev = dumptest_event(3, 50, "GET /fir/{id} \xff");
	ev.outcome = PT_OUT_HTTP;
	ev.status = 404;
	ev.kind = PT_KIND_HTTP_IN;

	inet_pton(AF_INET, "192.0.2.7", ci.addr);
	cr_assert_eq(pt_writer_open(&w, &cfg), 0);
	pt_writer_cursor_init(&c, 11);
	cr_assert_eq(pt_writer_emit_event(&w, &c, &ev), 0);
	cr_assert_eq(pt_writer_emit_conn(&w, &c, &ci), 0);
	pt_writer_count_drop(&w, PT_DROP_WRAPPED);
	snprintf(path, sizeof(path), "%s", w.path);
	pt_writer_close(&w);
	return path;
}

Test(dump_events, prints_dump_event_and_conn_lines_with_named_fields)
{
	char *path = write_dump();
	char *argv[] = {"events", path, NULL};
	char *out, *err;

	cr_assert_eq(run_events(2, argv, &out, &err), 0);
	cr_assert_str_eq(err, "");
	char *cur = out;
	cJSON *d = next_line(&cur);
	cr_assert_str_eq(str_of(d, "type"), "dump");
	cr_assert_str_eq(str_of(d, "dump"), path);
	cr_assert_eq(num_of(d, "pid"), getpid());
	cr_assert_str_eq(str_of(d, "mode"), "wrap");
	cr_assert_str_eq(str_of(d, "exe"), "/usr/bin/dumptest");
	const cJSON *drops = cJSON_GetObjectItemCaseSensitive(d, "drops");
	cr_assert_eq(num_of(drops, "wrapped"), 1);
	cr_assert_eq(num_of(drops, "full"), 0);
	const cJSON *pr = cJSON_GetObjectItemCaseSensitive(d, "problems");
	cr_assert_eq(num_of(pr, "bad_records"), 0);
	/* Exact: the raw text of the anchor is the integer itself. */
	struct pt_dump *pd = dumptest_open(path);
	char want[32];
	snprintf(want, sizeof(want), "\"realtime_anchor_ns\":%llu,",
		 (unsigned long long)pt_dump_info(pd)->realtime_anchor_ns);
	pt_dump_close(pd);
	cr_assert_not_null(strstr(out, want));
	cJSON_Delete(d);

	cJSON *e = next_line(&cur);
	cr_assert_str_eq(str_of(e, "type"), "event");
	cr_assert_str_eq(str_of(e, "kind"), "http_in");
	cr_assert_str_eq(str_of(e, "outcome"), "http");
	cr_assert_eq(num_of(e, "status"), 404);
	cr_assert_eq(num_of(e, "start_ns"), 50);
	cr_assert_eq(num_of(e, "duration_ns"), 1);
	cr_assert_eq(num_of(e, "tid"), 11);
	cr_assert_eq(num_of(e, "conn_id"), 3);
	cr_assert_eq(num_of(e, "rows"), 50);
	cr_assert_eq(num_of(e, "bytes_out"), 3);
	cr_assert_eq(num_of(e, "bytes_in"), 50);
	cr_assert_eq(num_of(e, "cache_hits"), 0);
	cr_assert_eq(num_of(e, "cache_misses"), 0);
	cr_assert_eq(num_of(e, "flags"), 0);
	cr_assert_str_eq(str_of(e, "text"), "GET /fir/{id} \xef\xbf\xbd");
	cJSON_Delete(e);

	cJSON *c = next_line(&cur);
	cr_assert_str_eq(str_of(c, "type"), "conn");
	cr_assert_str_eq(str_of(c, "event"), "close");
	cr_assert_str_eq(str_of(c, "role"), "server");
	cr_assert_str_eq(str_of(c, "proto"), "http");
	cr_assert_str_eq(str_of(c, "family"), "inet");
	cr_assert_str_eq(str_of(c, "addr"), "192.0.2.7");
	cr_assert_eq(num_of(c, "port"), 8000);
	cr_assert_eq(num_of(c, "time_ns"), 100);
	cr_assert_eq(num_of(c, "events"), 2);
	cr_assert_str_eq(str_of(c, "text"), "");
	cJSON_Delete(c);
	cr_assert_str_eq(cur, "");
	free(out);
	free(err);
}

Test(dump_events, unreadable_dump_is_named_on_stderr_with_exit_2)
{
	char bad[4096];
	char *out, *err, *good = write_dump();
	snprintf(bad, sizeof(bad), "%s/bad", dir);
	cr_assert_eq(dumptest_spit(bad, "nope", 4), 0);
	char *argv[] = {"events", bad, good, NULL};

	cr_assert_eq(run_events(3, argv, &out, &err), 2);
	char want[4200];
	snprintf(want, sizeof(want), "perftap: %s: not a perftap dump\n", bad);
	cr_assert_str_eq(err, want);
	cr_assert_not_null(strstr(out, "\"type\":\"dump\""),
			   "the good dump is still printed");
	free(out);
	free(err);
}

Test(dump_events, help_goes_to_stdout_and_no_dump_is_a_usage_error)
{
	char *out, *err;
	char *help[] = {"events", "--help", NULL};
	cr_assert_eq(run_events(2, help, &out, &err), 0);
	cr_assert_not_null(strstr(out, "usage: perftap events"));
	cr_assert_str_eq(err, "");
	free(out);
	free(err);
	char *none[] = {"events", NULL};
	cr_assert_eq(run_events(1, none, &out, &err), 2);
	cr_assert_str_eq(out, "");
	cr_assert_not_null(strstr(err, "usage: perftap events"));
	free(out);
	free(err);
}
