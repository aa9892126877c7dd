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
#define PT_FORMAT_ENTRY(name, note) {#name, note, fmt_##name##_emit},
    PT_FORMATS(PT_FORMAT_ENTRY)
#undef PT_FORMAT_ENTRY
};
#define NFORMATS (sizeof(formats) / sizeof(formats[0]))

const struct pt_format *format_find(const char *name)
{
	for (size_t i = 0; i < NFORMATS; i++)
		if (!strcmp(name, formats[i].name))
			return &formats[i];
	if (!strcmp(name, "md"))
		return format_find("markdown");
	return NULL;
}

const char *format_names(void)
{
	/* ", text, json, ...": the literal without its first separator. */
#define PT_FORMAT_NAME(name, note) ", " #name
	static const char names[] = PT_FORMATS(PT_FORMAT_NAME);
#undef PT_FORMAT_NAME
	return names + 2;
}

size_t format_count(void)
{
	return NFORMATS;
}

const struct pt_format *format_at(size_t i)
{
	return i < NFORMATS ? &formats[i] : NULL;
}

/* Usage lines start with the option in 23 columns and stay within 78. */
#define USAGE_INDENT 23
#define USAGE_WIDTH  78

/* Print word (len bytes) at column *col, breaking the line before it
 * when it would pass USAGE_WIDTH. */
static void usage_word(FILE *out, const char *word, size_t len, size_t *col)
{
	if (*col > USAGE_INDENT && *col + 1 + len > USAGE_WIDTH) {
		fprintf(out, "\n%*s", USAGE_INDENT, "");
		*col = USAGE_INDENT;
	} else if (*col > USAGE_INDENT) {
		fputc(' ', out);
		(*col)++;
	}
	fwrite(word, 1, len, out);
	*col += len;
}

void format_usage(FILE *out)
{
	size_t col =
	    (size_t)fprintf(out, "%-*s", USAGE_INDENT, "  -f, --format FMT");
	for (size_t i = 0; i < NFORMATS; i++) {
		char item[128];
		snprintf(item, sizeof(item), "%s%s%s%s", formats[i].name,
			 *formats[i].note ? " " : "", formats[i].note,
			 i + 1 < NFORMATS ? "," : "");
		for (const char *w = item; *w;) {
			size_t n = strcspn(w, " ");
			usage_word(out, w, n, &col);
			w += n;
			w += strspn(w, " ");
		}
	}
	fputc('\n', out);
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
