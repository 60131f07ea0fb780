/* Unit tests for histogram.c: bucket bounds, recording, quantiles and the
 * Prometheus export. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "histogram.h"

START_TEST(test_bucket_bounds_contain_value)
{
	/* every value lands in a bucket whose (lower, upper] holds it */
	uint64_t samples[] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 15, 16, 17, 31, 32, 33, 100, 999,
			      1000, 1024, 1025, 65535, 65536, 1000000, 3600000000ULL,
			      (1ULL << 32) - 1, 1ULL << 32};
	for (size_t i = 0; i < sizeof(samples) / sizeof(samples[0]); i++) {
		uint64_t v = samples[i];
		int b = histogram_bucket(v);
		ck_assert_int_ge(b, 0);
		ck_assert_int_lt(b, HISTOGRAM_BUCKETS - 1);
		ck_assert_msg(histogram_bucket_upper(b) >= v, "upper of %d below %llu", b,
			      (unsigned long long)v);
		if (v > 0)
			ck_assert_msg(histogram_bucket_lower(b) < v, "lower of %d not below %llu", b,
				      (unsigned long long)v);
	}
	ck_assert_int_eq(histogram_bucket(0), 0);
	ck_assert_int_eq(histogram_bucket((1ULL << 32) + 1), HISTOGRAM_BUCKETS - 1);
	ck_assert_int_eq(histogram_bucket(UINT64_MAX), HISTOGRAM_BUCKETS - 1);
}
END_TEST

START_TEST(test_buckets_contiguous_and_monotonic)
{
	for (int i = 1; i < HISTOGRAM_BUCKETS; i++) {
		ck_assert_uint_eq(histogram_bucket_lower(i), histogram_bucket_upper(i - 1));
		ck_assert_uint_gt(histogram_bucket_upper(i), histogram_bucket_lower(i));
		/* both ends of a bucket map back to it */
		if (i < HISTOGRAM_BUCKETS - 1) {
			ck_assert_int_eq(histogram_bucket(histogram_bucket_upper(i)), i);
			ck_assert_int_eq(histogram_bucket(histogram_bucket_lower(i) + 1), i);
		}
	}
}
END_TEST

START_TEST(test_powers_of_two_are_bounds)
{
	for (int k = 0; k <= HISTOGRAM_MAX_EXP; k++) {
		uint64_t p = 1ULL << k;
		ck_assert_uint_eq(histogram_bucket_upper(histogram_bucket(p)), p);
	}
}
END_TEST

START_TEST(test_relative_width)
{
	/* above the linear start a bucket is at most a quarter of its lower bound wide */
	for (int i = 1 + HISTOGRAM_SUB; i < HISTOGRAM_BUCKETS - 1; i++) {
		uint64_t lo = histogram_bucket_lower(i), hi = histogram_bucket_upper(i);
		ck_assert_uint_le((hi - lo) * HISTOGRAM_SUB, lo);
	}
}
END_TEST

START_TEST(test_record_count_sum_max)
{
	struct histogram h = {0};
	histogram_record(&h, 10);
	histogram_record(&h, 20);
	histogram_record(&h, -5);
	ck_assert_uint_eq(h.count, 3);
	ck_assert_uint_eq(h.sum, 30);
	ck_assert_uint_eq(h.max, 20);
	ck_assert_uint_eq(h.buckets[0], 1);
	ck_assert_uint_eq(h.buckets[histogram_bucket(10)], 1);
	ck_assert_uint_eq(histogram_count_le(&h, 16), 2);
	ck_assert_uint_eq(histogram_count_le(&h, 32), 3);
	ck_assert_uint_eq(histogram_count_le(&h, 0), 1);
}
END_TEST

START_TEST(test_quantiles)
{
	struct histogram h = {0};
	ck_assert(histogram_quantile(&h, 0.5) == 0);
	/* 1..10000 us: the estimate stays within a bucket's width (25%) */
	for (int v = 1; v <= 10000; v++)
		histogram_record(&h, v);
	double qs[] = {0.1, 0.5, 0.9, 0.99};
	for (size_t i = 0; i < 4; i++) {
		double want = qs[i] * 10000, got = histogram_quantile(&h, qs[i]);
		ck_assert_msg(got >= want * 0.8 && got <= want * 1.25, "q%.2f: %f, want ~%f", qs[i],
			      got, want);
	}
	ck_assert(histogram_quantile(&h, 1.0) == 10000);
	ck_assert(histogram_quantile(&h, 2.0) == 10000);
	ck_assert(histogram_quantile(&h, 0.0) <= 1);

	/* one value: every quantile is near it, never above the maximum */
	struct histogram one = {0};
	histogram_record(&one, 1500);
	ck_assert(histogram_quantile(&one, 0.5) <= 1500);
	ck_assert(histogram_quantile(&one, 0.5) > 1500 * 0.75);
	ck_assert(histogram_quantile(&one, 0.99) <= 1500);
}
END_TEST

START_TEST(test_overflow_quantile)
{
	struct histogram h = {0};
	histogram_record(&h, (usec_t)1 << 40);
	ck_assert_uint_eq(h.buckets[HISTOGRAM_BUCKETS - 1], 1);
	double q = histogram_quantile(&h, 0.5);
	ck_assert(q >= (double)(1ULL << 32) && q <= (double)(1ULL << 40));
}
END_TEST

START_TEST(test_merge)
{
	struct histogram a = {0}, b = {0};
	histogram_record(&a, 5);
	histogram_record(&b, 7000);
	histogram_record(&b, 3);
	histogram_merge(&a, &b);
	ck_assert_uint_eq(a.count, 3);
	ck_assert_uint_eq(a.sum, 7008);
	ck_assert_uint_eq(a.max, 7000);
	ck_assert_uint_eq(histogram_count_le(&a, 8), 2);
}
END_TEST

static char *export(const struct histogram *h, const char *labels)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	ck_assert_ptr_nonnull(f);
	histogram_write_prometheus(h, "x_seconds", labels, f);
	fclose(f);
	return buf;
}

START_TEST(test_prometheus_export)
{
	struct histogram h = {0};
	histogram_record(&h, 1);       /* le 0.000001 */
	histogram_record(&h, 3);       /* le 0.000004 */
	histogram_record(&h, 1500000); /* 1.5 s: le 2.097152 */
	char *text = export(&h, "database=\"d\",user=\"u\"");

	ck_assert_ptr_nonnull(strstr(text, "x_seconds_bucket{database=\"d\",user=\"u\",le=\"0.000001\"} 1\n"));
	ck_assert_ptr_nonnull(strstr(text, "x_seconds_bucket{database=\"d\",user=\"u\",le=\"0.000002\"} 1\n"));
	ck_assert_ptr_nonnull(strstr(text, "x_seconds_bucket{database=\"d\",user=\"u\",le=\"0.000004\"} 2\n"));
	ck_assert_ptr_nonnull(strstr(text, "le=\"1.048576\"} 2\n"));
	ck_assert_ptr_nonnull(strstr(text, "le=\"2.097152\"} 3\n"));
	ck_assert_ptr_nonnull(strstr(text, "le=\"4294.967296\"} 3\n"));
	ck_assert_ptr_nonnull(strstr(text, "le=\"+Inf\"} 3\n"));
	ck_assert_ptr_nonnull(strstr(text, "x_seconds_sum{database=\"d\",user=\"u\"} 1.500004\n"));
	ck_assert_ptr_nonnull(strstr(text, "x_seconds_count{database=\"d\",user=\"u\"} 3\n"));
	/* 33 powers of two and +Inf */
	int lines = 0;
	for (char *p = text; (p = strstr(p, "_bucket{")); p++)
		lines++;
	ck_assert_int_eq(lines, HISTOGRAM_MAX_EXP + 2);
	free(text);

	struct histogram empty = {0};
	text = export(&empty, "");
	ck_assert_ptr_nonnull(strstr(text, "x_seconds_bucket{le=\"0.000001\"} 0\n"));
	ck_assert_ptr_nonnull(strstr(text, "x_seconds_sum 0\n"));
	ck_assert_ptr_nonnull(strstr(text, "x_seconds_count 0\n"));
	free(text);
}
END_TEST

static Suite *histogram_suite(void)
{
	Suite *s = suite_create("histogram");
	TCase *tc = tcase_create("buckets");
	tcase_add_test(tc, test_bucket_bounds_contain_value);
	tcase_add_test(tc, test_buckets_contiguous_and_monotonic);
	tcase_add_test(tc, test_powers_of_two_are_bounds);
	tcase_add_test(tc, test_relative_width);
	suite_add_tcase(s, tc);

	tc = tcase_create("values");
	tcase_add_test(tc, test_record_count_sum_max);
	tcase_add_test(tc, test_quantiles);
	tcase_add_test(tc, test_overflow_quantile);
	tcase_add_test(tc, test_merge);
	tcase_add_test(tc, test_prometheus_export);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(histogram_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
