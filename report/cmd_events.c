/*
 * cmd_events.c -- `perftap events DUMP...`: every record of every dump as
 * one JSON object per line, for scripts and integration tests.
 *
 * Per dump, first a {"type":"dump",...} line (header, drops and counters by
 * name, reading problems), then its records in completion order:
 * {"type":"event",...} and {"type":"conn",...}.  The field names are an
 * interface: tests and scripts parse them.
 *
 * 64-bit integers are written as exact decimal (cJSON raw values): a double
 * would round nanosecond wall-clock times.  Text is made valid UTF-8 (bad
 * bytes become U+FFFD) so that every line parses as JSON.
 */
#include <arpa/inet.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include <cJSON.h>

#include "task_join.h"
#include "commands.h"
#include "dump_reader.h"
#include "symbolize.h"

/* Longest line: text of PT_TEXT_MAX bytes, each at worst \u00XX (6) after
 * U+FFFD replacement (3 bytes), plus the other fields. */
#define EV_LINE_MAX (PT_TEXT_MAX * 6 * 3 + 4096)

static const char usage_text[] =
    "usage: perftap events [--help] DUMP...\n"
    "\n"
    "Print every record of each dump as one JSON object per line:\n"
    "first a \"dump\" object (header, drops, counters, problems), then\n"
    "\"event\" and \"conn\" objects in completion order.\n";

static void add_u64(cJSON *o, const char *name, uint64_t v)
{
	char buf[24];
	snprintf(buf, sizeof(buf), "%" PRIu64, v);
	cJSON_AddRawToObject(o, name, buf);
}

static void add_i64(cJSON *o, const char *name, int64_t v)
{
	char buf[24];
	snprintf(buf, sizeof(buf), "%" PRId64, v);
	cJSON_AddRawToObject(o, name, buf);
}

/* Length of the valid UTF-8 sequence at p (n bytes left), or 0. */
static size_t utf8_seq(const unsigned char *p, size_t n)
{
	size_t len;
	uint32_t cp, min;

	if (p[0] >= 0x01 && p[0] < 0x80)
		return 1;
	if ((p[0] & 0xe0) == 0xc0)
		len = 2, cp = p[0] & 0x1f, min = 0x80;
	else if ((p[0] & 0xf0) == 0xe0)
		len = 3, cp = p[0] & 0x0f, min = 0x800;
	else if ((p[0] & 0xf8) == 0xf0)
		len = 4, cp = p[0] & 0x07, min = 0x10000;
	else
		return 0;
	if (len > n)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (p[i] & 0x3f);
	}
	if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return len;
}

/* Copy text as valid UTF-8 with no NUL inside; out holds 3*len+1. */
static const char *utf8_clean(const char *text, size_t len, char *out)
{
	const unsigned char *p = (const unsigned char *)text;
	size_t o = 0;

	for (size_t i = 0; i < len;) {
		size_t n = utf8_seq(p + i, len - i);
		if (n) {
			memcpy(out + o, p + i, n);
			o += n;
			i += n;
		} else {
			memcpy(out + o, "\xef\xbf\xbd", 3); /* U+FFFD */
			o += 3;
			i++;
		}
	}
	out[o] = '\0';
	return out;
}

static void add_text(cJSON *o, const char *text, uint32_t len)
{
	static char clean[PT_TEXT_MAX * 3 + 1];
	if (len > PT_TEXT_MAX)
		len = PT_TEXT_MAX;
	cJSON_AddStringToObject(o, "text", utf8_clean(text, len, clean));
}

static const char *outcome_name(uint8_t o)
{
	static const char *const names[] = {"ok", "error", "http", "aborted"};
	return o < 4 ? names[o] : "unknown";
}

static const char *proto_name(uint8_t p)
{
	static const char *const names[] = {"unknown", "http", "mysql", "redis",
					    "sqlite"};
	return p < 5 ? names[p] : "unknown";
}

static const char *family_name(uint8_t f)
{
	switch (f) {
	case 0:
		return "none";
	case AF_INET:
		return "inet";
	case AF_INET6:
		return "inet6";
	case AF_UNIX:
		return "unix";
	default:
		return "other";
	}
}

/* Print o as one line and free it. */
static void emit_line(cJSON *o)
{
	static char line[EV_LINE_MAX];
	if (cJSON_PrintPreallocated(o, line, sizeof(line), 0)) {
		fputs(line, stdout);
		putchar('\n');
	}
	cJSON_Delete(o);
}

static cJSON *record_base(const char *type, const struct pt_dump *d)
{
	cJSON *o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "type", type);
	cJSON_AddStringToObject(o, "dump", pt_dump_path(d));
	add_i64(o, "pid", pt_dump_info(d)->pid);
	return o;
}

/* "stack": {"python": [innermost first], "native": [...]} */
static void add_stack(cJSON *o, const struct pt_dump *d, struct pt_sym *sym,
		      uint64_t chunk_seq, uint32_t id)
{
	struct pt_read_stack st;
	if (!id || !pt_dump_stack(d, chunk_seq, id, &st))
		return;
	cJSON *so = cJSON_AddObjectToObject(o, "stack");
	cJSON *py = cJSON_AddArrayToObject(so, "python");
	for (uint32_t i = 0; i < st.n_python; i++) {
		cJSON *f = cJSON_CreateObject();
		add_text(f, st.py[i].func, (uint32_t)strlen(st.py[i].func));
		cJSON_AddItemToObject(f, "func",
				      cJSON_DetachItemFromObject(f, "text"));
		add_text(f, st.py[i].file, (uint32_t)strlen(st.py[i].file));
		cJSON_AddItemToObject(f, "file",
				      cJSON_DetachItemFromObject(f, "text"));
		add_u64(f, "line", st.py[i].line);
		cJSON_AddItemToArray(py, f);
	}
	cJSON *nat = cJSON_AddArrayToObject(so, "native");
	for (uint32_t i = 0; i < st.n_native; i++) {
		cJSON *f = cJSON_CreateObject();
		struct pt_sym_frame sf;
		add_u64(f, "addr", st.native[i]);
		if (sym && pt_sym_lookup(sym, st.native[i], &sf)) {
			cJSON_AddStringToObject(f, "module", sf.module);
			add_u64(f, "offset", sf.offset);
			cJSON_AddStringToObject(f, "func", sf.func);
			if (*sf.file) {
				cJSON_AddStringToObject(f, "file", sf.file);
				add_u64(f, "line", sf.line);
			}
		}
		cJSON_AddItemToArray(nat, f);
	}
	add_u64(so, "flags", st.flags);
}

static void print_event(const struct pt_dump *d, const struct pt_read_event *e,
			struct pt_sym *sym, uint64_t chunk_seq)
{
	cJSON *o = record_base("event", d);
	cJSON_AddStringToObject(o, "kind", pt_kind_name(e->kind));
	cJSON_AddStringToObject(o, "outcome", outcome_name(e->outcome));
	add_i64(o, "status", e->status);
	add_u64(o, "start_ns", e->start_ns);
	add_u64(o, "duration_ns", e->duration_ns);
	add_u64(o, "tid", e->tid);
	add_u64(o, "conn_id", e->conn_id);
	add_u64(o, "rows", e->rows);
	add_u64(o, "bytes_out", e->bytes_out);
	add_u64(o, "bytes_in", e->bytes_in);
	add_u64(o, "cache_hits", e->cache_hits);
	add_u64(o, "cache_misses", e->cache_misses);
	add_u64(o, "flags", e->flags);
	add_text(o, e->text, e->text_len);
	if (pt_dump_info(d)->version >= 2) {
		add_u64(o, "request_id", e->request_id);
		cJSON_AddStringToObject(o, "attribution",
					pt_attribution_name(e->attr));
		add_u64(o, "stack_id", e->stack_id);
		add_u64(o, "server_status", e->server_status);
		add_u64(o, "warnings", e->warnings);
		add_u64(o, "scan_steps", e->scan_steps);
		add_u64(o, "vm_steps", e->vm_steps);
		add_u64(o, "sorts", e->sorts);
		add_u64(o, "auto_indexes", e->auto_indexes);
		if (e->task_key)
			add_u64(o, "task_key", e->task_key);
		if (e->kind == PT_KIND_HTTP_IN && e->head_us != UINT32_MAX)
			add_u64(o, "head_us", e->head_us);
		add_stack(o, d, sym, chunk_seq, e->stack_id);
	}
	emit_line(o);
}

static void print_conn(const struct pt_dump *d, const struct pt_read_conn *c)
{
	char addr[INET6_ADDRSTRLEN] = "";
	cJSON *o = record_base("conn", d);

	if (c->family == AF_INET || c->family == AF_INET6)
		inet_ntop(c->family, c->addr, addr, sizeof(addr));
	cJSON_AddStringToObject(o, "event",
				c->event == PT_CONN_OPEN    ? "open"
				: c->event == PT_CONN_CLOSE ? "close"
							    : "unknown");
	cJSON_AddStringToObject(o, "role",
				c->role == PT_ROLE_CLIENT   ? "client"
				: c->role == PT_ROLE_SERVER ? "server"
							    : "unknown");
	cJSON_AddStringToObject(o, "proto", proto_name(c->proto));
	cJSON_AddStringToObject(o, "family", family_name(c->family));
	cJSON_AddStringToObject(o, "addr", addr);
	add_u64(o, "port", c->port);
	add_u64(o, "conn_id", c->conn_id);
	add_u64(o, "server_conn_id", c->server_conn_id);
	add_u64(o, "tid", c->tid);
	add_u64(o, "time_ns", c->time_ns);
	add_u64(o, "events", c->events);
	add_u64(o, "undecoded_bytes", c->undecoded_bytes);
	if (pt_dump_info(d)->version >= 2) {
		add_u64(o, "connect_ns", c->connect_ns);
		add_u64(o, "auth_ns", c->auth_ns);
		cJSON_AddBoolToObject(o, "inherited",
				      !!(c->conn_flags & PT_CONNF_INHERITED));
	}
	add_text(o, c->text, c->text_len);
	emit_line(o);
}

/* The dump version that brought counter i (1: there from the start). */
static uint32_t counter_since(int i)
{
	if (i >= PT_CNT_STACK_UNSENT)
		return 3;
	return i >= PT_CNT_CONN_FORK_MIDOP ? 2 : 1;
}

/* drops, counters and problems of the dump line. */
static void add_tallies(cJSON *o, const struct pt_dump *d)
{
	const struct pt_dump_info *in = pt_dump_info(d);
	const struct pt_dump_problems *p = pt_dump_problems(d);
	cJSON *drops = cJSON_AddObjectToObject(o, "drops");
	cJSON *cnt = cJSON_AddObjectToObject(o, "counters");
	cJSON *pr = cJSON_AddObjectToObject(o, "problems");
	char name[32];

	for (int i = 0; i < PT_DROP_CAUSE_COUNT; i++) {
		const char *n = pt_drop_cause_name(i);
		if (!strcmp(n, "unknown")) {
			if (!in->drops[i])
				continue;
			snprintf(name, sizeof(name), "cause_%d", i);
			n = name;
		}
		add_u64(drops, n, in->drops[i]);
	}
	for (int i = 0; i < PT_CNT_COUNT; i++) {
		const char *n = pt_counter_name(i);
		/* An older writer had no such counter: its slot says
		 * nothing, so an older dump prints as it always did. */
		if (in->version < counter_since(i) && !in->counters[i])
			continue;
		if (!strcmp(n, "unknown")) {
			if (!in->counters[i])
				continue;
			snprintf(name, sizeof(name), "counter_%d", i);
			n = name;
		}
		add_u64(cnt, n, in->counters[i]);
	}
	add_u64(pr, "bad_chunks", p->bad_chunks);
	add_u64(pr, "bad_records", p->bad_records);
	add_u64(pr, "unknown_records", p->unknown_records);
	add_u64(pr, "unresolved_text", p->unresolved_text);
	add_u64(pr, "partial_chunks", p->partial_chunks);
	if (pt_dump_info(d)->version >= 2) {
		add_u64(pr, "bad_stacks", p->bad_stacks);
		add_u64(pr, "unresolved_stacks", p->unresolved_stacks);
	}
}

static void print_dump(const struct pt_dump *d)
{
	const struct pt_dump_info *in = pt_dump_info(d);
	cJSON *o = record_base("dump", d);
	cJSON *argv = cJSON_AddArrayToObject(o, "argv");
	const char *a = in->argv;

	add_u64(o, "version", in->version);
	add_i64(o, "ppid", in->ppid);
	cJSON_AddStringToObject(o, "exe", in->exe);
	for (uint32_t i = 0; i < in->argc; i++, a += strlen(a) + 1)
		cJSON_AddItemToArray(argv, cJSON_CreateString(a));
	cJSON_AddStringToObject(o, "host", in->host);
	cJSON_AddStringToObject(o, "settings", in->settings);
	add_u64(o, "flags", in->flags);
	cJSON_AddBoolToObject(o, "raw", !!(in->flags & PT_HDR_RAW_TEXT));
	cJSON_AddStringToObject(o, "mode",
				in->mode == PT_MODE_STOP ? "stop" : "wrap");
	add_u64(o, "clock_id", in->clock_id);
	add_u64(o, "realtime_anchor_ns", in->realtime_anchor_ns);
	add_u64(o, "monotonic_anchor_ns", in->monotonic_anchor_ns);
	add_u64(o, "max_size", in->max_size);
	add_u64(o, "chunk_size", in->chunk_size);
	add_u64(o, "chunk_slots", in->chunk_slots);
	add_u64(o, "chunks_used", in->chunks_used);
	add_tallies(o, d);
	emit_line(o);
}

static int events_one(const char *path)
{
	char err[256];
	struct pt_read_record rec;
	struct pt_dump *d = pt_dump_open(path, err, sizeof(err));

	if (!d) {
		fflush(stdout);
		fprintf(stderr, "perftap: %s: %s\n", path, err);
		return 2;
	}
	/* First pass: the requests asyncio operations join (task_join.h). */
	struct pt_task_join join = {0};
	while (pt_dump_next(d, &rec))
		if (rec.type == PT_REC_EVENT &&
		    rec.ev.kind == PT_KIND_HTTP_IN &&
		    task_join_add_http(&join, rec.ev.task_key, rec.ev.start_ns,
				       rec.ev.duration_ns, rec.ev.head_us,
				       rec.ev.request_id) < 0) {
			fflush(stdout);
			fprintf(stderr, "perftap: %s: out of memory\n", path);
			task_join_free(&join);
			pt_dump_close(d);
			return 2;
		}
	task_join_seal(&join);
	pt_dump_rewind(d);
	print_dump(d);
	const struct pt_read_module *mods;
	uint32_t nmods = pt_dump_modules(d, &mods);
	struct pt_sym *sym = nmods ? pt_sym_open(mods, nmods) : NULL;
	while (pt_dump_next(d, &rec)) {
		if (rec.type == PT_REC_EVENT &&
		    rec.ev.kind != PT_KIND_HTTP_IN && !rec.ev.request_id)
			rec.ev.request_id =
			    task_join_find(&join, rec.ev.task_key,
					   rec.ev.start_ns, &rec.ev.attr);
		if (rec.type == PT_REC_EVENT)
			print_event(d, &rec.ev, sym, rec.chunk_seq);
		else
			print_conn(d, &rec.conn);
	}
	task_join_free(&join);
	pt_sym_close(sym);
	pt_dump_close(d);
	return 0;
}

int cmd_events(int argc, char **argv)
{
	static const struct option opts[] = {{"help", no_argument, NULL, 'h'},
					     {NULL, 0, NULL, 0}};
	int c, rc = 0;

	optind = 1;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		if (c == 'h') {
			fputs(usage_text, stdout);
			return 0;
		}
		fputs(usage_text, stderr);
		return 2;
	}
	if (optind >= argc) {
		fputs(usage_text, stderr);
		return 2;
	}
	for (int i = optind; i < argc; i++)
		if (events_one(argv[i]))
			rc = 2;
	if (fflush(stdout) != 0) {
		fprintf(stderr, "perftap: events: cannot write output\n");
		rc = 2;
	}
	return rc;
}
