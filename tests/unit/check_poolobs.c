/* Unit tests for the pure parts of poolobs.c and xactapp.c: checkout
 * percentiles of one interval's histogram, and the per-pool table of
 * transactions by application_name. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "poolobs.h"
#include "xactapp.h"

#define MS(x) ((usec_t)(x)*1000)

START_TEST(test_checkout_stats_empty)
{
	struct histogram h;
	int64_t n, p50, p95, p99, max;
	memset(&h, 0, sizeof(h));
	poolobs_checkout_stats(&h, &n, &p50, &p95, &p99, &max);
	ck_assert_int_eq(n, 0);
	ck_assert_int_eq(p50, -1);
	ck_assert_int_eq(p95, -1);
	ck_assert_int_eq(p99, -1);
	ck_assert_int_eq(max, -1);
}
END_TEST

START_TEST(test_checkout_stats_known_durations)
{
	struct histogram h;
	int64_t n, p50, p95, p99, max;
	memset(&h, 0, sizeof(h));
	/* 90 checkouts of about 0.2 s, 9 of 1 s, one of 3 s */
	for (int i = 0; i < 90; i++)
		histogram_record(&h, MS(195 + i % 10));
	for (int i = 0; i < 9; i++)
		histogram_record(&h, MS(1000));
	histogram_record(&h, MS(3000));
	poolobs_checkout_stats(&h, &n, &p50, &p95, &p99, &max);
	ck_assert_int_eq(n, 100);
	/* log buckets: within a quarter of a power of two */
	ck_assert_int_ge(p50, MS(160));
	ck_assert_int_le(p50, MS(262));
	ck_assert_int_ge(p95, MS(800));
	ck_assert_int_le(p95, MS(1050));
	ck_assert_int_ge(p99, MS(800));
	ck_assert_int_le(p99, MS(3000));
	ck_assert_int_eq(max, MS(3000));
	ck_assert_int_le(p50, p95);
	ck_assert_int_le(p95, p99);
	ck_assert_int_le(p99, max);
}
END_TEST

START_TEST(test_checkout_stats_single)
{
	struct histogram h;
	int64_t n, p50, p95, p99, max;
	memset(&h, 0, sizeof(h));
	histogram_record(&h, MS(1000));
	poolobs_checkout_stats(&h, &n, &p50, &p95, &p99, &max);
	ck_assert_int_eq(n, 1);
	ck_assert_int_eq(max, MS(1000));
	/* never above the longest */
	ck_assert_int_le(p99, MS(1000));
	ck_assert_int_ge(p50, MS(786));
}
END_TEST

START_TEST(test_xactapp_counts_by_name)
{
	static struct xactapp t;
	int hint_a = -1, hint_b = -1;
	memset(&t, 0, sizeof(t));
	struct xactapp_row *a = xactapp_row(&t, "web", &hint_a);
	struct xactapp_row *b = xactapp_row(&t, "batch", &hint_b);
	ck_assert_ptr_ne(a, b);
	ck_assert_ptr_eq(xactapp_row(&t, "web", &hint_b), a);
	ck_assert_ptr_eq(xactapp_row(&t, "web", NULL), a);
	ck_assert_ptr_eq(xactapp_row(&t, NULL, NULL), xactapp_row(&t, "", NULL));
	xactapp_xact_ended(a, MS(10));
	xactapp_xact_ended(a, MS(30));
	xactapp_idle(a, MS(5));
	xactapp_idle(a, MS(1500));
	xactapp_idle(b, MS(2));
	ck_assert_uint_eq(a->xacts, 2);
	ck_assert_uint_eq(a->xact_us, MS(40));
	ck_assert_uint_eq(a->xact_max_us, MS(30));
	ck_assert_uint_eq(a->idle_us, MS(1505));
	ck_assert_uint_eq(a->idle_max_us, MS(1500));
	ck_assert_uint_eq(b->xacts, 0);
	ck_assert_uint_eq(b->idle_max_us, MS(2));
	ck_assert_str_eq(a->name, "web");

	/* the next interval starts from zero; names in use stay */
	xactapp_next_interval(&t);
	ck_assert_uint_eq(a->xacts, 0);
	ck_assert_uint_eq(a->idle_max_us, 0);
	ck_assert(a->used);
	xactapp_xact_ended(a, MS(1));
	/* a name quiet for a whole interval gives its slot up */
	xactapp_next_interval(&t);
	ck_assert(a->used);
	ck_assert(!b->used);
}
END_TEST

START_TEST(test_xactapp_other_row)
{
	static struct xactapp t;
	char name[32];
	memset(&t, 0, sizeof(t));
	for (int i = 0; i < XACTAPP_NAMES; i++) {
		snprintf(name, sizeof(name), "app%d", i);
		xactapp_xact_ended(xactapp_row(&t, name, NULL), MS(1));
	}
	struct xactapp_row *o1 = xactapp_row(&t, "late1", NULL);
	struct xactapp_row *o2 = xactapp_row(&t, "late2", NULL);
	ck_assert_ptr_eq(o1, o2);
	ck_assert_str_eq(o1->name, XACTAPP_OTHER);
	xactapp_xact_ended(o1, MS(1));
	xactapp_xact_ended(o2, MS(1));
	ck_assert_uint_eq(o1->xacts, 2);
	/* known names still find their own row */
	ck_assert_str_eq(xactapp_row(&t, "app7", NULL)->name, "app7");
	/* a long name is cut, and still found */
	char longname[200];
	memset(longname, 'n', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	xactapp_next_interval(&t); /* app0..31 stay: they counted */
	ck_assert_ptr_eq(xactapp_row(&t, longname, NULL), o1);
}
END_TEST

START_TEST(test_xactapp_hint_follows_reuse)
{
	static struct xactapp t;
	int hint = -1;
	memset(&t, 0, sizeof(t));
	struct xactapp_row *a = xactapp_row(&t, "first", &hint);
	ck_assert_int_eq(hint, 0);
	xactapp_next_interval(&t); /* "first" counted nothing: slot freed */
	struct xactapp_row *b = xactapp_row(&t, "second", NULL);
	ck_assert_ptr_eq(a, b);
	/* the stale hint points at "second" now: "first" gets another slot */
	struct xactapp_row *c = xactapp_row(&t, "first", &hint);
	ck_assert_ptr_ne(c, b);
	ck_assert_str_eq(c->name, "first");
	ck_assert_int_eq(hint, 1);
}
END_TEST

static Suite *poolobs_suite(void)
{
	Suite *s = suite_create("poolobs");
	TCase *tc = tcase_create("poolobs");
	tcase_add_test(tc, test_checkout_stats_empty);
	tcase_add_test(tc, test_checkout_stats_known_durations);
	tcase_add_test(tc, test_checkout_stats_single);
	tcase_add_test(tc, test_xactapp_counts_by_name);
	tcase_add_test(tc, test_xactapp_other_row);
	tcase_add_test(tc, test_xactapp_hint_follows_reuse);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(poolobs_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
