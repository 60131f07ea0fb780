/* Unit tests for the report's chart primitives (src/cli/svg.c). */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "svg.h"

/* capture runs svg_escape into a string the caller frees. */
static char *escaped(const char *s, size_t max)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	ck_assert_ptr_nonnull(f);
	svg_escape(f, s, max);
	fclose(f);
	return buf;
}

START_TEST(test_escape_markup)
{
	char *e = escaped("SELECT '<b>' & \"x\" FROM t WHERE a < $1 AND b > 2", 0);
	ck_assert_str_eq(e, "SELECT &#39;&lt;b&gt;&#39; &amp; &quot;x&quot; FROM t WHERE a &lt; $1 "
			    "AND b &gt; 2");
	free(e);
	e = escaped("</script><svg onload=alert(1)>", 0);
	ck_assert_ptr_null(strchr(e, '<'));
	ck_assert_ptr_null(strchr(e, '>'));
	free(e);
	e = escaped(NULL, 0);
	ck_assert_str_eq(e, "");
	free(e);
}
END_TEST

START_TEST(test_escape_whitespace_and_cut)
{
	char *e = escaped("  SELECT\n\t1,\r\n  2  ", 0);
	ck_assert_str_eq(e, "SELECT 1, 2");
	free(e);
	e = escaped("abcdefgh", 4);
	ck_assert_str_eq(e, "abcd...");
	free(e);
	/* "é" is two bytes: the cut waits for the end of the sequence */
	e = escaped("abc\xc3\xa9xyz", 4);
	ck_assert_str_eq(e, "abc\xc3\xa9...");
	free(e);
	e = escaped("abcd", 4);
	ck_assert_str_eq(e, "abcd");
	free(e);
	/* control bytes never reach the page */
	e = escaped("a\x01"
		    "b",
		    0);
	ck_assert_str_eq(e, "a b");
	free(e);
}
END_TEST

START_TEST(test_scale_nice)
{
	struct svg_scale s;
	svg_scale_nice(0, 97, 5, &s);
	ck_assert_double_eq(s.lo, 0);
	ck_assert_double_eq(s.step, 20);
	ck_assert_double_eq(s.hi, 100);
	svg_scale_nice(3, 7, 5, &s); /* counts start at zero */
	ck_assert_double_eq(s.lo, 0);
	ck_assert_double_eq(s.step, 2);
	ck_assert_double_eq(s.hi, 8);
	svg_scale_nice(0, 0, 5, &s); /* all zero: still a usable axis */
	ck_assert(s.hi > s.lo);
	ck_assert(s.step > 0);
	svg_scale_nice(0, 0.0042, 4, &s);
	ck_assert_double_eq_tol(s.step, 0.002, 1e-12);
	ck_assert_double_eq_tol(s.hi, 0.006, 1e-12);
	svg_scale_nice(-12, 30, 4, &s);
	ck_assert_double_eq(s.step, 20);
	ck_assert_double_eq(s.lo, -20);
	ck_assert_double_eq(s.hi, 40);
	svg_scale_nice(5, 1, 5, &s); /* nonsense in, sane axis out */
	ck_assert(s.hi > s.lo);
}
END_TEST

START_TEST(test_map)
{
	ck_assert_double_eq(svg_map(5, 0, 10, 100, 200), 150);
	ck_assert_double_eq(svg_map(0, 0, 10, 300, 20), 300); /* y grows downwards */
	ck_assert_double_eq(svg_map(10, 0, 10, 300, 20), 20);
	ck_assert_double_eq(svg_map(7, 3, 3, 0, 100), 50);
}
END_TEST

START_TEST(test_points)
{
	/* plot area: x 64..(200-16)=184, y (100-36)=64..12 */
	struct svg_chart c = {200, 100, 1000, 2000, "v"};
	struct svg_scale ys = {0, 10, 5};
	double x[] = {1000, 1500, 2000}, y[] = {0, 5, 10};
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	svg_points(f, &c, &ys, x, y, 3);
	fclose(f);
	ck_assert_str_eq(buf, "64.00,64.00 124.00,38.00 184.00,12.00");
	free(buf);
}
END_TEST

START_TEST(test_line_chart)
{
	struct svg_chart c = {400, 200, 0, 60e6, "a<b"};
	double x[] = {0, 30e6, 60e6}, y[] = {1, 4, 2}, x1[] = {30e6}, y1[] = {3};
	struct svg_series s[] = {{"first & <one>", x, y, 3}, {"single", x1, y1, 1}};
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	svg_line_chart(f, &c, s, 2);
	fclose(f);
	ck_assert_ptr_nonnull(strstr(buf, "<svg "));
	ck_assert_ptr_nonnull(strstr(buf, "</svg>\n"));
	ck_assert_ptr_nonnull(strstr(buf, "<polyline "));
	ck_assert_ptr_nonnull(strstr(buf, "<circle ")); /* the one-point series */
	ck_assert_ptr_nonnull(strstr(buf, ">first &amp; &lt;one&gt;</text>"));
	ck_assert_ptr_nonnull(strstr(buf, ">a&lt;b</text>"));
	ck_assert_ptr_null(strstr(buf, "<one>"));
	ck_assert_ptr_nonnull(strstr(buf, ">00:00:30</text>")); /* a time label */
	ck_assert_ptr_nonnull(strstr(buf, ">4</text>")); /* a value tick */
	free(buf);
}
END_TEST

START_TEST(test_line_chart_gap)
{
	struct svg_chart c = {400, 200, 0, 60e6, "ms"};
	double x[] = {0, 10e6, 20e6, 30e6, 40e6, 50e6}, y[] = {1, 2, NAN, 3, NAN, 4};
	struct svg_series s[] = {{"p50", x, y, 6}};
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	svg_line_chart(f, &c, s, 1);
	fclose(f);
	/* 1-2 a line, 3 and 4 alone: dots; no NaN leaks into coordinates */
	const char *p = strstr(buf, "<polyline ");
	ck_assert_ptr_nonnull(p);
	ck_assert_ptr_null(strstr(p + 1, "<polyline "));
	p = strstr(buf, "<circle ");
	ck_assert_ptr_nonnull(p);
	ck_assert_ptr_nonnull(strstr(p + 1, "<circle "));
	ck_assert_ptr_null(strstr(buf, "nan"));
	ck_assert_ptr_nonnull(strstr(buf, ">4</text>")); /* the scale ignores NaN */
	free(buf);
}
END_TEST

START_TEST(test_line_chart_log)
{
	/* plot area: y (200-36)=164 (bottom) .. 12 (top); 0.5 to 250: decades
	 * 0.1 .. 1000, four of them, 38 pixels each */
	struct svg_chart c = {400, 200, 0, 60e6, "ms", true};
	double x[] = {0, 30e6, 60e6}, y[] = {0.5, 1, 250}, x1[] = {30e6}, y1[] = {0};
	struct svg_series s[] = {{"p50", x, y, 3}, {"zero", x1, y1, 1}};
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	svg_line_chart(f, &c, s, 2);
	fclose(f);
	ck_assert_ptr_nonnull(strstr(buf, ">0.1</text>"));
	ck_assert_ptr_nonnull(strstr(buf, ">1</text>"));
	ck_assert_ptr_nonnull(strstr(buf, ">1000</text>"));
	ck_assert_ptr_null(strstr(buf, ">10000</text>"));
	/* 1 ms: one decade above the bottom */
	ck_assert_ptr_nonnull(strstr(buf, " 224.00,126.00 "));
	/* 0 cannot be drawn on a log axis: it sits on the bottom */
	ck_assert_ptr_nonnull(strstr(buf, "cy=\"164.00\""));
	ck_assert_ptr_null(strstr(buf, "nan"));
	ck_assert_ptr_null(strstr(buf, "inf"));
	free(buf);
}
END_TEST

START_TEST(test_stack)
{
	/* a: at 10, 20, 30; b: at 20, 40 (missing points count 0) */
	double xa[] = {10, 20, 30}, ya[] = {1, 2, 3}, xb[] = {20, 40}, yb[] = {5, 7};
	struct svg_series s[] = {{"a", xa, ya, 3}, {"b", xb, yb, 2}};
	double *x, *y;
	size_t u = svg_stack(s, 2, &x, &y);
	ck_assert_uint_eq(u, 4);
	double want_x[] = {10, 20, 30, 40}, want_y[] = {1, 2, 3, 0, 1, 7, 3, 7};
	for (size_t k = 0; k < 4; k++)
		ck_assert_double_eq(x[k], want_x[k]);
	for (size_t k = 0; k < 8; k++)
		ck_assert_double_eq(y[k], want_y[k]);
	free(x);
	free(y);
	ck_assert_uint_eq(svg_stack(s, 0, &x, &y), 0);
	ck_assert_ptr_null(x);
}
END_TEST

START_TEST(test_area_chart)
{
	struct svg_chart c = {400, 200, 0, 60e6, "ms per interval"};
	double x[] = {0, 30e6, 60e6}, y1[] = {1, 4, 2}, y2[] = {5, 4, 3};
	struct svg_series s[] = {{"one", x, y1, 3}, {"<two>", x, y2, 3}};
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	svg_area_chart(f, &c, s, 2);
	fclose(f);
	const char *p = strstr(buf, "<polygon ");
	ck_assert_ptr_nonnull(p);
	ck_assert_ptr_nonnull(strstr(p + 1, "<polygon "));
	ck_assert_ptr_nonnull(strstr(buf, ">&lt;two&gt;</text>"));
	/* the axis reads the sum: 8 at 30 s, the top tick (4 alone is not) */
	ck_assert_ptr_nonnull(strstr(buf, ">8</text>"));
	ck_assert_ptr_nonnull(strstr(buf, ">ms per interval</text>"));
	free(buf);
}
END_TEST

static Suite *svg_suite(void)
{
	Suite *s = suite_create("svg");
	TCase *tc = tcase_create("escape");
	tcase_add_test(tc, test_escape_markup);
	tcase_add_test(tc, test_escape_whitespace_and_cut);
	suite_add_tcase(s, tc);
	tc = tcase_create("chart");
	tcase_add_test(tc, test_scale_nice);
	tcase_add_test(tc, test_map);
	tcase_add_test(tc, test_points);
	tcase_add_test(tc, test_line_chart);
	tcase_add_test(tc, test_line_chart_gap);
	tcase_add_test(tc, test_line_chart_log);
	tcase_add_test(tc, test_stack);
	tcase_add_test(tc, test_area_chart);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(svg_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
