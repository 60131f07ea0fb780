/* pglifeguard-cli: chart primitives for the HTML report: HTML escaping,
 * axis scales, SVG line and stacked area charts, written straight to a FILE. */
#ifndef PGLG_CLI_SVG_H
#define PGLG_CLI_SVG_H
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

/* A value axis: from lo to hi in steps of step (lo and hi are multiples of
 * step). */
struct svg_scale {
	double lo, hi, step;
};

/* svg_scale_nice fills *S with a scale covering [LO, HI] in about TICKS
 * steps of 1, 2 or 5 times a power of ten. LO == HI (a flat series) gets
 * a scale of one step around it; a scale never starts above 0 when LO >= 0
 * so that bars and counts are read from zero. */
void svg_scale_nice(double lo, double hi, int ticks, struct svg_scale *s);

/* svg_map maps V in [LO, HI] linearly onto [P0, P1]; LO == HI maps to
 * the middle. */
double svg_map(double v, double lo, double hi, double p0, double p1);

/* svg_escape writes S to OUT escaped for HTML text and attribute values
 * (& < > " '), runs of white space as one space, cut after MAX bytes (0:
 * no limit) with "..." but never inside a UTF-8 sequence. NULL writes
 * nothing. Returns the bytes of S consumed. */
size_t svg_escape(FILE *out, const char *s, size_t max);

/* One line of a chart: N points (X[i], Y[i]), X ascending; borrowed. */
struct svg_series {
	const char *name;
	const double *x;
	const double *y;
	size_t n;
};

/* A line chart WIDTH x HEIGHT pixels (plot and axes; the legend adds
 * below), X from X_LO to X_HI in microseconds since the epoch (labels in
 * UTC), Y_LABEL on the value axis. LOG_Y (line charts only): the value
 * axis is logarithmic, whole powers of ten from the decade of the
 * smallest positive value to that of the largest; a value <= 0 sits on
 * the bottom. */
struct svg_chart {
	int width, height;
	double x_lo, x_hi;
	const char *y_label;
	bool log_y;
};

/* svg_points writes the "points" of one polyline: x,y pairs in pixels of
 * chart C with value scale YS (on a LOG_Y chart, YS is in decades: log10
 * of the values), two decimals, space separated. */
void svg_points(FILE *out, const struct svg_chart *c, const struct svg_scale *ys, const double *x,
		const double *y, size_t n);

/* svg_line_chart writes one <svg> element: axes, ticks, time labels, one
 * polyline per series (a dot where a series has a single point) and a
 * legend with the series' names (escaped). A NaN value is a gap: the line
 * stops there and starts again at the next value. Borrows everything. */
void svg_line_chart(FILE *out, const struct svg_chart *c, const struct svg_series *series,
		    size_t n);

/* svg_stack puts N series on one time grid, the union of their X values
 * (ascending, each once), a series without a point at some X counting 0
 * there (NaN counts 0 too), and sums them up: row I of *Y_OUT (N rows of
 * the returned count) is series 0 to I added. Sets *X_OUT and *Y_OUT to
 * memory the caller frees (NULL and 0 returned when there is no point or
 * no memory). */
size_t svg_stack(const struct svg_series *series, size_t n, double **x_out, double **y_out);

/* svg_area_chart writes one <svg> element like svg_line_chart, but the
 * series are stacked (svg_stack) into filled bands, series 0 at the
 * bottom; the value axis reads the sum. Borrows everything. */
void svg_area_chart(FILE *out, const struct svg_chart *c, const struct svg_series *series,
		    size_t n);

/* svg_color returns the color of series I (a fixed palette, cycling). */
const char *svg_color(size_t i);
#endif
