/*
 * svg.h -- inline SVG primitives for the HTML report: a plot area that
 * maps data to pixels, lines that break at missing values, bars, axis
 * labels.  Output is well-formed XML; texts go through fmt_xml_escape.
 */
#ifndef PERFTAP_SVG_H
#define PERFTAP_SVG_H

#include <stddef.h>
#include <stdio.h>

/* A rectangle of the picture (px) showing [x0, x1] x [y0, y1]. */
struct svg_plot {
	double x, y, w, h;
	double x0, x1, y0, y1;
};

double svg_px(const struct svg_plot *p, double v);
double svg_py(const struct svg_plot *p, double v);

/* <svg> of w x h px with a class and a title (its accessible name). */
void svg_begin(FILE *out, int w, int h, const char *cls, const char *title);
void svg_end(FILE *out);
/* The plot area's border and n horizontal grid lines with labels. */
void svg_frame(FILE *out, const struct svg_plot *p, int ngrid,
	       void (*label)(double v, char *buf, size_t len));
/* ys[i] at xs[i]; a NaN ends one polyline and the next value starts
 * another. */
void svg_polyline(FILE *out, const struct svg_plot *p, const double *xs,
		  const double *ys, size_t n, const char *color,
		  const char *cls);
void svg_rect(FILE *out, double x, double y, double w, double h,
	      const char *fill, const char *title);
/* anchor: "start", "middle" or "end". */
void svg_text(FILE *out, double x, double y, const char *anchor,
	      const char *text);
/* A vertical line at data x v across the plot, dashed. */
void svg_vline(FILE *out, const struct svg_plot *p, double v, const char *color,
	       const char *cls, const char *title);

#endif /* PERFTAP_SVG_H */
