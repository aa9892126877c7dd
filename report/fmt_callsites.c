/*
 * fmt_callsites.c -- the "Call sites" section (see fmt_callsites.h).
 */
#include "fmt_callsites.h"

#include <string.h>

#include "callsites.h"
#include "dump_reader.h"
#include "format.h"

static size_t row_sites(const struct pt_analysis *a, const struct pt_row *r,
			const struct pt_callsite **first, uint64_t *stacked_ns,
			uint64_t *stacked)
{
	const struct pt_model *m = a->m;
	*stacked_ns = *stacked = 0;
	if (!m->callsites || r->type != PT_ROW_OP || !r->op)
		return 0;
	size_t n =
	    callsites_of(m->callsites, (uint32_t)(r->op - m->ops), first);
	for (size_t i = 0; i < n; i++) {
		*stacked_ns += (*first)[i].total_ns;
		*stacked += (*first)[i].count;
	}
	return n;
}

/* "func (file:line)", or for a native frame without a file "func (module)". */
static void site_where(const struct pt_callsite *s, char *buf, size_t len)
{
	if (*s->file)
		snprintf(buf, len, "%s:%u", s->file, s->line);
	else
		snprintf(buf, len, "%s", *s->module ? s->module : "?");
}

void fmt_callsites_text(const struct pt_analysis *a, size_t top, FILE *out)
{
	int header = 0;
	size_t shown = 0;
	for (size_t i = 0; i < a->nrows && (!top || shown < top); i++) {
		const struct pt_row *r = &a->rows[i];
		const struct pt_callsite *s;
		uint64_t ns, cnt;
		size_t n = row_sites(a, r, &s, &ns, &cnt);
		if (!n)
			continue;
		if (!header) {
			fprintf(out, "\nCall sites (innermost frame of the "
				     "program's own code)\n");
			if (a->m->callsites->py_unknown)
				fprintf(out,
					"  Python frames not read (a CPython "
					"version without a known layout): "
					"native frames only\n");
			uint64_t unsent = a->m->counters[PT_CNT_STACK_UNSENT];
			if (unsent)
				fprintf(out,
					"  %llu asyncio client operations have "
					"no stack: their send's was not kept\n",
					(unsigned long long)unsent);
			header = 1;
		}
		shown++;
		fprintf(out, "  %s %s  (%llu of %llu calls with a stack)\n",
			pt_kind_name(r->kind), r->text, (unsigned long long)cnt,
			(unsigned long long)r->count);
		for (size_t k = 0; k < n && k < PT_CALLSITES_SHOWN; k++) {
			char where[600], total[16];
			site_where(&s[k], where, sizeof(where));
			fmt_duration((double)s[k].total_ns, total,
				     sizeof(total));
			fprintf(out, "    %5.1f%%  %6llu  %-6s  %s  %s\n",
				ns ? 100.0 * (double)s[k].total_ns / (double)ns
				   : 0.0,
				(unsigned long long)s[k].count, total,
				s[k].func, where);
		}
		if (n > PT_CALLSITES_SHOWN)
			fprintf(out, "    ... %zu more\n",
				n - PT_CALLSITES_SHOWN);
	}
}

void fmt_callsites_markdown(const struct pt_analysis *a, size_t top, FILE *out)
{
	int header = 0;
	size_t shown = 0;
	for (size_t i = 0; i < a->nrows && (!top || shown < top); i++) {
		const struct pt_row *r = &a->rows[i];
		const struct pt_callsite *s;
		uint64_t ns, cnt;
		size_t n = row_sites(a, r, &s, &ns, &cnt);
		if (!n)
			continue;
		if (!header) {
			fprintf(out, "\n## Call sites\n\n| Operation | Share | "
				     "Calls | Function | Where |\n"
				     "|---|---:|---:|---|---|\n");
			header = 1;
		}
		shown++;
		for (size_t k = 0; k < n && k < PT_CALLSITES_SHOWN; k++) {
			char where[600];
			site_where(&s[k], where, sizeof(where));
			fprintf(
			    out, "| `%s %s` | %.1f%% | %llu | `%s` | `%s` |\n",
			    pt_kind_name(r->kind), r->text,
			    ns ? 100.0 * (double)s[k].total_ns / (double)ns
			       : 0.0,
			    (unsigned long long)s[k].count, s[k].func, where);
		}
	}
}

void fmt_callsites_html(const struct pt_analysis *a, size_t top, FILE *out)
{
	int header = 0;
	size_t shown = 0;
	for (size_t i = 0; i < a->nrows && (!top || shown < top); i++) {
		const struct pt_row *r = &a->rows[i];
		const struct pt_callsite *s;
		uint64_t ns, cnt;
		size_t n = row_sites(a, r, &s, &ns, &cnt);
		if (!n)
			continue;
		if (!header) {
			fputs("<h2>Call sites</h2>\n<table><tr><th>operation"
			      "</th><th>share</th><th>calls</th><th>function"
			      "</th><th>where</th></tr>\n",
			      out);
			header = 1;
		}
		shown++;
		for (size_t k = 0; k < n && k < PT_CALLSITES_SHOWN; k++) {
			char where[600], op[PT_TEXT_MAX + 32];
			site_where(&s[k], where, sizeof(where));
			snprintf(op, sizeof(op), "%s %s", pt_kind_name(r->kind),
				 r->text);
			fputs("<tr><td>", out);
			fmt_xml_escape(out, op, FMT_XML_CTL_MARK);
			fprintf(out, "</td><td>%.1f%%</td><td>%llu</td><td>",
				ns ? 100.0 * (double)s[k].total_ns / (double)ns
				   : 0.0,
				(unsigned long long)s[k].count);
			fmt_xml_escape(out, s[k].func, FMT_XML_CTL_MARK);
			fputs("</td><td>", out);
			fmt_xml_escape(out, where, FMT_XML_CTL_MARK);
			fputs("</td></tr>\n", out);
		}
	}
	if (header)
		fputs("</table>\n", out);
}

cJSON *fmt_callsites_json(const struct pt_analysis *a)
{
	cJSON *arr = cJSON_CreateArray();
	for (size_t i = 0; i < a->nrows; i++) {
		const struct pt_row *r = &a->rows[i];
		const struct pt_callsite *s;
		uint64_t ns, cnt;
		size_t n = row_sites(a, r, &s, &ns, &cnt);
		if (!n)
			continue;
		cJSON *o = cJSON_CreateObject();
		cJSON_AddStringToObject(o, "kind", pt_kind_name(r->kind));
		cJSON_AddStringToObject(o, "operation", r->text);
		cJSON_AddStringToObject(o, "key", r->key);
		cJSON_AddNumberToObject(o, "calls", (double)r->count);
		cJSON_AddNumberToObject(o, "stacks", (double)cnt);
		cJSON *sites = cJSON_AddArrayToObject(o, "sites");
		for (size_t k = 0; k < n; k++) {
			cJSON *j = cJSON_CreateObject();
			cJSON_AddStringToObject(j, "function", s[k].func);
			cJSON_AddStringToObject(j, "file", s[k].file);
			cJSON_AddNumberToObject(j, "line", s[k].line);
			cJSON_AddBoolToObject(j, "native", s[k].native);
			if (s[k].native)
				cJSON_AddStringToObject(j, "module",
							s[k].module);
			cJSON_AddNumberToObject(j, "count", (double)s[k].count);
			cJSON_AddNumberToObject(j, "total_ns",
						(double)s[k].total_ns);
			cJSON_AddNumberToObject(
			    j, "share",
			    ns ? (double)s[k].total_ns / (double)ns : 0.0);
			cJSON_AddItemToArray(sites, j);
		}
		cJSON_AddItemToArray(arr, o);
	}
	return arr;
}
