/*
 * format.c -- the table of output formats and helpers they share.
 */
#include "format.h"

#include <math.h>
#include <string.h>

#include "baseline.h"
#include "fmt_resources.h"
#include "thresholds.h"

static const struct pt_format formats[] = {
    {"text", fmt_text_emit},	     {"json", fmt_json_emit},
    {"markdown", fmt_markdown_emit}, {"junit", fmt_junit_emit},
    {"csv", fmt_csv_emit},	     {"html", fmt_html_emit},
    {"otlp", fmt_otlp_emit},	     {"prometheus", fmt_prometheus_emit}};

const struct pt_format *format_find(const char *name)
{
	for (size_t i = 0; i < sizeof(formats) / sizeof(formats[0]); i++)
		if (!strcmp(name, formats[i].name))
			return &formats[i];
	if (!strcmp(name, "md"))
		return format_find("markdown");
	return NULL;
}

const char *format_names(void)
{
	return "text|json|markdown|junit|csv|html|otlp|prometheus";
}

void fmt_duration(double ns, char *buf, size_t len)
{
	static const struct {
		double scale;
		const char *unit;
	} units[] = {{1e9, "s"}, {1e6, "ms"}, {1e3, "us"}};
	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
		double v = ns / units[i].scale;
		if (v < 1.0)
			continue;
		/* Three significant digits, never more than 6 characters. */
		int decimals = v >= 100 ? 0 : v >= 10 ? 1 : 2;
		if (units[i].unit[1] == '\0' && v >= 1000)
			decimals = 0;
		snprintf(buf, len, "%.*f%s", decimals, v, units[i].unit);
		return;
	}
	snprintf(buf, len, "%.0fns", ns);
}

void fmt_count(double v, char *buf, size_t len)
{
	if (v < 10000)
		snprintf(buf, len, v == floor(v) ? "%.0f" : "%.1f", v);
	else if (v < 1e6)
		snprintf(buf, len, "%.1fk", v / 1e3);
	else if (v < 1e9)
		snprintf(buf, len, "%.2fM", v / 1e6);
	else
		snprintf(buf, len, "%.2fG", v / 1e9);
}

void fmt_threshold_value(const struct pt_threshold_result *r, double v,
			 char *buf, size_t len)
{
	switch (r->th->e.unit) {
	case PT_UNIT_MS:
		fmt_duration(v * 1e6, buf, len);
		break;
	case PT_UNIT_PER_S:
		snprintf(buf, len, "%.4g/s", v);
		break;
	case PT_UNIT_RATIO:
		snprintf(buf, len, "%.4g%%", v * 100.0);
		break;
	case PT_UNIT_BYTES:
		fmt_bytes((uint64_t)v, buf, len);
		break;
	default:
		snprintf(buf, len, "%.0f", v);
	}
}

const char *fmt_row_label(const struct pt_row *r)
{
	return r->type == PT_ROW_OP ? r->text : r->key;
}

size_t fmt_kind_rows(const struct pt_analysis *a, int kind, size_t top,
		     const struct pt_row **first)
{
	size_t i = 0;
	while (i < a->nrows && a->rows[i].kind != kind)
		i++;
	size_t j = i;
	while (j < a->nrows && a->rows[j].kind == kind)
		j++;
	*first = i < a->nrows ? &a->rows[i] : NULL;
	size_t n = j - i;
	return top && n > top ? top : n;
}

void fmt_comparison_cells(const struct pt_comparison *k,
			  struct fmt_cmp_cells *c)
{
	strcpy(c->base, "-");
	strcpy(c->now, "-");
	strcpy(c->change, "-");
	if (k->verdict != PT_V_NEW)
		fmt_duration(k->base * 1e6, c->base, sizeof(c->base));
	if (k->verdict != PT_V_GONE)
		fmt_duration(k->cur * 1e6, c->now, sizeof(c->now));
	if (k->verdict < PT_V_NEW && isfinite(k->change))
		snprintf(c->change, sizeof(c->change), "%+.1f%%",
			 k->change * 100);
}

void fmt_xml_escape(FILE *out, const char *s, unsigned flags)
{
	for (; *s; s++) {
		switch (*s) {
		case '&':
			fputs("&amp;", out);
			break;
		case '<':
			fputs("&lt;", out);
			break;
		case '>':
			fputs("&gt;", out);
			break;
		case '"':
			fputs("&quot;", out);
			break;
		case '\'':
			if (flags & FMT_XML_APOS)
				fputs("&apos;", out);
			else
				fputc(*s, out);
			break;
		default:
			if ((unsigned char)*s >= 0x20 || *s == '\t')
				fputc(*s, out);
			else if (flags & FMT_XML_CTL_MARK)
				fputc('?', out);
		}
	}
}
