/* pglifeguard-cli: SVG line charts and HTML escaping for the report. */
#include "svg.h"
#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MARGIN_LEFT 64
#define MARGIN_RIGHT 16
#define MARGIN_TOP 12
#define MARGIN_BOTTOM 36
#define LEGEND_LINE 18

static const char *const palette[] = {"#1f77b4", "#d62728", "#2ca02c", "#ff7f0e",
				      "#9467bd", "#8c564b", "#e377c2", "#17becf"};

const char *svg_color(size_t i)
{
	return palette[i % (sizeof(palette) / sizeof(palette[0]))];
}

void svg_scale_nice(double lo, double hi, int ticks, struct svg_scale *s)
{
	if (!(lo <= hi) || !isfinite(lo) || !isfinite(hi)) {
		lo = 0;
		hi = 1;
	}
	if (lo > 0)
		lo = 0;
	if (ticks < 1)
		ticks = 1;
	if (hi == lo)
		hi = lo + 1;
	double raw = (hi - lo) / ticks;
	double mag = pow(10, floor(log10(raw)));
	double f = raw / mag, step;
	if (f <= 1)
		step = mag;
	else if (f <= 2)
		step = 2 * mag;
	else if (f <= 5)
		step = 5 * mag;
	else
		step = 10 * mag;
	s->step = step;
	s->lo = floor(lo / step) * step;
	s->hi = ceil(hi / step) * step;
	if (s->hi <= s->lo)
		s->hi = s->lo + step;
}

double svg_map(double v, double lo, double hi, double p0, double p1)
{
	if (hi == lo)
		return (p0 + p1) / 2;
	return p0 + (v - lo) * (p1 - p0) / (hi - lo);
}

size_t svg_escape(FILE *out, const char *s, size_t max)
{
	if (!s)
		return 0;
	const unsigned char *p = (const unsigned char *)s;
	size_t n = 0;
	bool space = false;
	for (; *p; p++) {
		if (*p == ' ' || *p == '\n' || *p == '\t' || *p == '\r') {
			space = n > 0;
			continue;
		}
		if (max && n >= max && (*p & 0xc0) != 0x80) {
			fputs("...", out);
			break;
		}
		if (space) {
			fputc(' ', out);
			n++;
			space = false;
		}
		switch (*p) {
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
			fputs("&#39;", out);
			break;
		default:
			fputc(*p < 0x20 ? ' ' : *p, out);
		}
		n++;
	}
	return (size_t)(p - (const unsigned char *)s);
}

static double plot_x0(void)
{
	return MARGIN_LEFT;
}
static double plot_x1(const struct svg_chart *c)
{
	return c->width - MARGIN_RIGHT;
}
static double plot_y0(const struct svg_chart *c)
{
	return c->height - MARGIN_BOTTOM;
}
static double plot_y1(void)
{
	return MARGIN_TOP;
}

/* y_pixel maps value V onto chart C's value axis YS. */
static double y_pixel(const struct svg_chart *c, const struct svg_scale *ys, double v)
{
	if (c->log_y)
		v = v > 0 ? log10(v) : ys->lo;
	return svg_map(v, ys->lo, ys->hi, plot_y0(c), plot_y1());
}

void svg_points(FILE *out, const struct svg_chart *c, const struct svg_scale *ys, const double *x,
		const double *y, size_t n)
{
	for (size_t i = 0; i < n; i++)
		fprintf(out, "%s%.2f,%.2f", i ? " " : "",
			svg_map(x[i], c->x_lo, c->x_hi, plot_x0(), plot_x1(c)),
			y_pixel(c, ys, y[i]));
}

static void time_label(FILE *out, double us, bool with_date)
{
	time_t t = (time_t)(us / 1e6);
	struct tm tm;
	char buf[32];
	gmtime_r(&t, &tm);
	strftime(buf, sizeof(buf), with_date ? "%m-%d %H:%M" : "%H:%M:%S", &tm);
	fputs(buf, out);
}

/* frame writes the opening <svg> with room for NLEGEND legend lines, the
 * value grid and labels of YS, the time axis and both axis titles. */
static void frame(FILE *out, const struct svg_chart *c, const struct svg_scale *ys, size_t nlegend)
{
	int total_h = c->height + (int)nlegend * LEGEND_LINE + 4;
	fprintf(out,
		"<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" "
		"viewBox=\"0 0 %d %d\" font-family=\"sans-serif\" font-size=\"11\">\n",
		c->width, total_h, c->width, total_h);
	/* value axis: grid lines and labels */
	for (double v = ys->lo; v <= ys->hi + ys->step / 2; v += ys->step) {
		double y = svg_map(v, ys->lo, ys->hi, plot_y0(c), plot_y1());
		fprintf(out,
			"<line x1=\"%.2f\" y1=\"%.2f\" x2=\"%.2f\" y2=\"%.2f\" stroke=\"#ddd\"/>"
			"<text x=\"%.2f\" y=\"%.2f\" text-anchor=\"end\">%g</text>\n",
			plot_x0(), y, plot_x1(c), y, plot_x0() - 4, y + 4,
			c->log_y                   ? pow(10, round(v))
			: fabs(v) < ys->step / 1e6 ? 0
						   : v);
	}
	/* time axis: five labels, the date too when the window spans days */
	bool with_date = c->x_hi - c->x_lo > 86400e6;
	for (int i = 0; i <= 4; i++) {
		double t = c->x_lo + (c->x_hi - c->x_lo) * i / 4;
		double x = svg_map(t, c->x_lo, c->x_hi, plot_x0(), plot_x1(c));
		fprintf(out,
			"<line x1=\"%.2f\" y1=\"%.2f\" x2=\"%.2f\" y2=\"%.2f\" stroke=\"#999\"/>"
			"<text x=\"%.2f\" y=\"%.2f\" text-anchor=\"%s\">",
			x, plot_y0(c), x, plot_y0(c) + 4, x, plot_y0(c) + 16,
			i == 0   ? "start"
			: i == 4 ? "end"
				 : "middle");
		time_label(out, t, with_date);
		fputs("</text>\n", out);
	}
	fprintf(out,
		"<text x=\"12\" y=\"%.2f\" transform=\"rotate(-90 12 %.2f)\" "
		"text-anchor=\"middle\">",
		(plot_y0(c) + plot_y1()) / 2, (plot_y0(c) + plot_y1()) / 2);
	svg_escape(out, c->y_label, 0);
	fprintf(out,
		"</text>\n<text x=\"%.2f\" y=\"%.2f\" text-anchor=\"middle\">time (UTC)</text>\n",
		(plot_x0() + plot_x1(c)) / 2, plot_y0(c) + 30);
}

/* axes draws both axis lines: after the data, so that areas do not hide
 * them. */
static void axes(FILE *out, const struct svg_chart *c)
{
	fprintf(out,
		"<line x1=\"%.2f\" y1=\"%.2f\" x2=\"%.2f\" y2=\"%.2f\" stroke=\"#333\"/>"
		"<line x1=\"%.2f\" y1=\"%.2f\" x2=\"%.2f\" y2=\"%.2f\" stroke=\"#333\"/>\n",
		plot_x0(), plot_y0(c), plot_x1(c), plot_y0(c), plot_x0(), plot_y0(c), plot_x0(),
		plot_y1());
}

/* legend writes legend line I: a swatch of series I's color, NAME. */
static void legend(FILE *out, const struct svg_chart *c, size_t i, const char *name)
{
	double ly = c->height + 4 + (double)i * LEGEND_LINE;
	fprintf(out,
		"<rect x=\"%.2f\" y=\"%.2f\" width=\"12\" height=\"10\" fill=\"%s\"/>"
		"<text x=\"%.2f\" y=\"%.2f\">",
		plot_x0(), ly, svg_color(i), plot_x0() + 18, ly + 9);
	svg_escape(out, name, 110);
	fputs("</text>\n", out);
}

void svg_line_chart(FILE *out, const struct svg_chart *c, const struct svg_series *series, size_t n)
{
	double lo = 0, hi = 0;
	bool any = false;
	for (size_t i = 0; i < n; i++)
		for (size_t j = 0; j < series[i].n; j++) {
			double v = series[i].y[j];
			if (isnan(v) || (c->log_y && !(v > 0)))
				continue;
			if (!any || v < lo)
				lo = v;
			if (!any || v > hi)
				hi = v;
			any = true;
		}
	struct svg_scale ys;
	if (c->log_y) {
		ys.lo = any ? floor(log10(lo)) : 0;
		ys.hi = any ? ceil(log10(hi)) : 1;
		if (ys.hi <= ys.lo)
			ys.hi = ys.lo + 1;
		ys.step = 1;
	} else
		svg_scale_nice(lo, hi, 5, &ys);
	frame(out, c, &ys, n);
	axes(out, c);
	for (size_t i = 0; i < n; i++) {
		const struct svg_series *s = &series[i];
		/* earlier series drawn wider: a line that coincides with a later
		 * one still shows along its edges */
		size_t under = n - 1 - i < 3 ? n - 1 - i : 3;
		/* one polyline per run of values between NaNs (gaps) */
		for (size_t a = 0; a < s->n;) {
			if (isnan(s->y[a])) {
				a++;
				continue;
			}
			size_t b = a;
			while (b < s->n && !isnan(s->y[b]))
				b++;
			if (b - a == 1)
				fprintf(out,
					"<circle cx=\"%.2f\" cy=\"%.2f\" r=\"3\" fill=\"%s\"/>\n",
					svg_map(s->x[a], c->x_lo, c->x_hi, plot_x0(), plot_x1(c)),
					y_pixel(c, &ys, s->y[a]), svg_color(i));
			else {
				fprintf(out,
					"<polyline fill=\"none\" stroke=\"%s\" "
					"stroke-width=\"%.1f\" "
					"stroke-linejoin=\"round\" points=\"",
					svg_color(i), 1.6 + 1.6 * (double)under);
				svg_points(out, c, &ys, s->x + a, s->y + a, b - a);
				fputs("\"/>\n", out);
			}
			a = b;
		}
		legend(out, c, i, s->name);
	}
	fputs("</svg>\n", out);
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

size_t svg_stack(const struct svg_series *series, size_t n, double **x_out, double **y_out)
{
	*x_out = *y_out = NULL;
	size_t total = 0;
	for (size_t i = 0; i < n; i++)
		total += series[i].n;
	if (!n || !total)
		return 0;
	double *x = malloc(total * sizeof(*x));
	if (!x)
		return 0;
	size_t m = 0;
	for (size_t i = 0; i < n; i++)
		for (size_t j = 0; j < series[i].n; j++)
			x[m++] = series[i].x[j];
	qsort(x, m, sizeof(*x), cmp_double);
	size_t u = 0;
	for (size_t j = 0; j < m; j++)
		if (!u || x[j] != x[u - 1])
			x[u++] = x[j];
	double *y = calloc(n * u, sizeof(*y));
	if (!y) {
		free(x);
		return 0;
	}
	for (size_t i = 0; i < n; i++) {
		/* both ascending: one merge pass per series */
		size_t k = 0;
		for (size_t j = 0; j < series[i].n; j++) {
			while (k < u && x[k] < series[i].x[j])
				k++;
			if (k < u && x[k] == series[i].x[j] && !isnan(series[i].y[j]))
				y[i * u + k] += series[i].y[j];
		}
		if (i)
			for (k = 0; k < u; k++)
				y[i * u + k] += y[(i - 1) * u + k];
	}
	*x_out = x;
	*y_out = y;
	return u;
}

void svg_area_chart(FILE *out, const struct svg_chart *c, const struct svg_series *series, size_t n)
{
	double *x, *y;
	size_t u = svg_stack(series, n, &x, &y);
	double hi = 0;
	for (size_t k = 0; u && k < u; k++)
		if (y[(n - 1) * u + k] > hi)
			hi = y[(n - 1) * u + k];
	struct svg_scale ys;
	svg_scale_nice(0, hi, 5, &ys);
	frame(out, c, &ys, n);
	for (size_t i = 0; i < n && u; i++) {
		/* band i: its top edge left to right, the band below's top edge
		 * (or the zero line) right to left */
		fprintf(out,
			"<polygon fill=\"%s\" stroke=\"#fff\" stroke-width=\"0.5\" "
			"points=\"",
			svg_color(i));
		svg_points(out, c, &ys, x, y + i * u, u);
		for (size_t k = u; k-- > 0;) {
			double below = i ? y[(i - 1) * u + k] : 0;
			fprintf(out, " %.2f,%.2f",
				svg_map(x[k], c->x_lo, c->x_hi, plot_x0(), plot_x1(c)),
				svg_map(below, ys.lo, ys.hi, plot_y0(c), plot_y1()));
		}
		fputs("\"/>\n", out);
	}
	axes(out, c);
	for (size_t i = 0; i < n; i++)
		legend(out, c, i, series[i].name);
	fputs("</svg>\n", out);
	free(x);
	free(y);
}
