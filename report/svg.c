/*
 * svg.c -- inline SVG primitives for the HTML report (see svg.h).
 */
#include "svg.h"

#include <math.h>

#include "format.h"

#define FONT_PX 10 /* axis labels */

double svg_px(const struct svg_plot *p, double v)
{
	double span = p->x1 > p->x0 ? p->x1 - p->x0 : 1;
	return p->x + (v - p->x0) / span * p->w;
}

double svg_py(const struct svg_plot *p, double v)
{
	double span = p->y1 > p->y0 ? p->y1 - p->y0 : 1;
	double f = (v - p->y0) / span;
	if (f < 0)
		f = 0;
	if (f > 1)
		f = 1;
	return p->y + p->h - f * p->h;
}

void svg_begin(FILE *out, int w, int h, const char *cls, const char *title)
{
	fprintf(out,
		"<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" "
		"height=\"%d\" viewBox=\"0 0 %d %d\" class=\"%s\" "
		"role=\"img\" font-family=\"sans-serif\" font-size=\"%d\">"
		"<title>",
		w, h, w, h, cls, FONT_PX);
	fmt_xml_escape(out, title, FMT_XML_CTL_MARK);
	fputs("</title>", out);
}

void svg_end(FILE *out)
{
	fputs("</svg>\n", out);
}

void svg_text(FILE *out, double x, double y, const char *anchor,
	      const char *text)
{
	fprintf(out, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"%s\">", x, y,
		anchor);
	fmt_xml_escape(out, text, FMT_XML_CTL_MARK);
	fputs("</text>", out);
}

void svg_frame(FILE *out, const struct svg_plot *p, int ngrid,
	       void (*label)(double v, char *buf, size_t len))
{
	fprintf(out,
		"<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" "
		"fill=\"#fafafa\" stroke=\"#bbb\"/>",
		p->x, p->y, p->w, p->h);
	for (int i = 1; i <= ngrid; i++) {
		double v = p->y0 + (p->y1 - p->y0) * i / ngrid;
		double y = svg_py(p, v);
		char buf[32];
		fprintf(out,
			"<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" "
			"stroke=\"#e4e4e4\"/>",
			p->x, y, p->x + p->w, y);
		label(v, buf, sizeof(buf));
		svg_text(out, p->x - 3, y + FONT_PX / 2.0 - 1, "end", buf);
	}
}

void svg_polyline(FILE *out, const struct svg_plot *p, const double *xs,
		  const double *ys, size_t n, const char *color,
		  const char *cls)
{
	int open = 0;
	for (size_t i = 0; i < n; i++) {
		if (!isfinite(ys[i])) {
			if (open)
				fputs("\"/>", out);
			open = 0;
			continue;
		}
		if (!open)
			fprintf(out,
				"<polyline class=\"%s\" fill=\"none\" "
				"stroke=\"%s\" stroke-width=\"1.5\" points=\"",
				cls, color);
		fprintf(out, "%s%.1f,%.1f", open ? " " : "", svg_px(p, xs[i]),
			svg_py(p, ys[i]));
		open = 1;
	}
	if (open)
		fputs("\"/>", out);
}

void svg_rect(FILE *out, double x, double y, double w, double h,
	      const char *fill, const char *title)
{
	fprintf(out,
		"<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" "
		"fill=\"%s\">",
		x, y, w, h, fill);
	if (title) {
		fputs("<title>", out);
		fmt_xml_escape(out, title, FMT_XML_CTL_MARK);
		fputs("</title>", out);
	}
	fputs("</rect>", out);
}

void svg_vline(FILE *out, const struct svg_plot *p, double v, const char *color,
	       const char *cls, const char *title)
{
	double x = svg_px(p, v);
	fprintf(out,
		"<line class=\"%s\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" "
		"y2=\"%.1f\" stroke=\"%s\" stroke-width=\"1.5\" "
		"stroke-dasharray=\"4 3\"><title>",
		cls, x, p->y, x, p->y + p->h, color);
	fmt_xml_escape(out, title, FMT_XML_CTL_MARK);
	fputs("</title></line>", out);
}
