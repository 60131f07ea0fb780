/* Unit tests for paramconv.c: each converted type's binary format to the
 * text PostgreSQL prints, with edge values, and what stays unknown. */
#include <check.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "paramconv.h"

/* is converts the LEN bytes at DATA of type OID and checks the text
 * (NULL: not converted). */
static void is(uint32_t oid, const void *data, size_t len, const char *want)
{
	size_t n = 12345;
	char *got = paramconv_text(oid, data, len, &n);
	if (!want) {
		ck_assert_msg(!got, "oid %u: expected nothing, got %s", oid, got);
		return;
	}
	ck_assert_msg(got, "oid %u: expected %s, got nothing", oid, want);
	ck_assert_str_eq(got, want);
	ck_assert_uint_eq(n, strlen(want));
	free(got);
}

#define IS(oid, want, ...)                                                                         \
	do {                                                                                       \
		static const uint8_t b_[] = {__VA_ARGS__};                                         \
		is(oid, b_, sizeof(b_), want);                                                     \
	} while (0)

START_TEST(test_integers)
{
	IS(PARAMCONV_INT2, "0", 0, 0);
	IS(PARAMCONV_INT2, "-32768", 0x80, 0);
	IS(PARAMCONV_INT2, "32767", 0x7f, 0xff);
	IS(PARAMCONV_INT4, "42", 0, 0, 0, 42);
	IS(PARAMCONV_INT4, "-1", 0xff, 0xff, 0xff, 0xff);
	IS(PARAMCONV_INT4, "-2147483648", 0x80, 0, 0, 0);
	IS(PARAMCONV_INT8, "-9223372036854775808", 0x80, 0, 0, 0, 0, 0, 0, 0);
	IS(PARAMCONV_INT8, "9223372036854775807", 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff);
	IS(PARAMCONV_INT8, "4294967296", 0, 0, 0, 1, 0, 0, 0, 0);
	IS(PARAMCONV_OID, "4294967295", 0xff, 0xff, 0xff, 0xff);
	/* a wrong length is not that type */
	IS(PARAMCONV_INT4, NULL, 0, 0, 42);
	IS(PARAMCONV_INT8, NULL, 0, 0, 0, 42);
	IS(PARAMCONV_INT2, NULL, 0);
}
END_TEST

START_TEST(test_bool)
{
	IS(PARAMCONV_BOOL, "true", 1);
	IS(PARAMCONV_BOOL, "false", 0);
	IS(PARAMCONV_BOOL, NULL, 2);
	IS(PARAMCONV_BOOL, NULL, 0, 1);
}
END_TEST

START_TEST(test_floats)
{
	IS(PARAMCONV_FLOAT8, "1.5", 0x3f, 0xf8, 0, 0, 0, 0, 0, 0);
	IS(PARAMCONV_FLOAT8, "0.10000000000000001", 0x3f, 0xb9, 0x99, 0x99, 0x99, 0x99, 0x99, 0x9a);
	IS(PARAMCONV_FLOAT8, "-0", 0x80, 0, 0, 0, 0, 0, 0, 0);
	IS(PARAMCONV_FLOAT8, "1.0000000000000001e+300", 0x7e, 0x37, 0xe4, 0x3c, 0x88, 0x00, 0x75,
	   0x9c);
	IS(PARAMCONV_FLOAT8, "NaN", 0x7f, 0xf8, 0, 0, 0, 0, 0, 0);
	IS(PARAMCONV_FLOAT8, "Infinity", 0x7f, 0xf0, 0, 0, 0, 0, 0, 0);
	IS(PARAMCONV_FLOAT8, "-Infinity", 0xff, 0xf0, 0, 0, 0, 0, 0, 0);
	IS(PARAMCONV_FLOAT4, "1.5", 0x3f, 0xc0, 0, 0);
	IS(PARAMCONV_FLOAT4, "0.100000001", 0x3d, 0xcc, 0xcc, 0xcd);
	IS(PARAMCONV_FLOAT4, "-Infinity", 0xff, 0x80, 0, 0);
	IS(PARAMCONV_FLOAT4, "NaN", 0x7f, 0xc0, 0, 0);
	IS(PARAMCONV_FLOAT4, NULL, 0x3f, 0xf8, 0, 0, 0, 0, 0, 0);
}
END_TEST

START_TEST(test_numeric)
{
	/* ndigits, weight, sign, dscale, then base-10000 digits */
	IS(PARAMCONV_NUMERIC, "0", 0, 0, 0, 0, 0, 0, 0, 0);
	IS(PARAMCONV_NUMERIC, "0.00", 0, 0, 0, 0, 0, 0, 0, 2);
	IS(PARAMCONV_NUMERIC, "-123.45", 0, 2, 0, 0, 0x40, 0, 0, 2, 0, 123, 0x11, 0x94);
	IS(PARAMCONV_NUMERIC, "0.500", 0, 1, 0xff, 0xff, 0, 0, 0, 3, 0x13, 0x88);
	/* 1e-20: one digit 0001 at weight -5 */
	IS(PARAMCONV_NUMERIC, "0.00000000000000000001", 0, 1, 0xff, 0xfb, 0, 0, 0, 20, 0, 1);
	IS(PARAMCONV_NUMERIC, "-0.00000000000000000001", 0, 1, 0xff, 0xfb, 0x40, 0, 0, 20, 0, 1);
	/* 1e20: trailing zero digits are left out */
	IS(PARAMCONV_NUMERIC, "100000000000000000000", 0, 1, 0, 5, 0, 0, 0, 0, 0, 1);
	/* 123456789012345678901234567890.5 */
	IS(PARAMCONV_NUMERIC, "123456789012345678901234567890.5", 0, 9, 0, 7, 0, 0, 0, 1, 0, 12,
	   0x0d, 0x80, 0x1e, 0xd2, 0x04, 0xd2, 0x16, 0x2e, 0x23, 0x34, 0x0d, 0x80, 0x1e, 0xd2, 0x13,
	   0x88);
	/* 10000.0001 */
	IS(PARAMCONV_NUMERIC, "10000.0001", 0, 3, 0, 1, 0, 0, 0, 4, 0, 1, 0, 0, 0, 1);
	IS(PARAMCONV_NUMERIC, "NaN", 0, 0, 0, 0, 0xc0, 0, 0, 0);
	IS(PARAMCONV_NUMERIC, "Infinity", 0, 0, 0, 0, 0xd0, 0, 0, 0);
	IS(PARAMCONV_NUMERIC, "-Infinity", 0, 0, 0, 0, 0xf0, 0, 0, 0);
	/* malformed: a digit over 9999, a bad sign, a short body */
	IS(PARAMCONV_NUMERIC, NULL, 0, 1, 0, 0, 0, 0, 0, 0, 0x27, 0x10);
	IS(PARAMCONV_NUMERIC, NULL, 0, 0, 0, 0, 0x12, 0x34, 0, 0);
	IS(PARAMCONV_NUMERIC, NULL, 0, 2, 0, 0, 0, 0, 0, 0, 0, 1);
	IS(PARAMCONV_NUMERIC, NULL, 0, 0, 0);
}
END_TEST

START_TEST(test_text_uuid)
{
	is(PARAMCONV_TEXT, "h\xc3\xa9llo", 6, "h\xc3\xa9llo");
	is(PARAMCONV_VARCHAR, "", 0, "");
	is(PARAMCONV_BPCHAR, "ab ", 3, "ab ");
	is(PARAMCONV_NAME, "pg_class", 8, "pg_class");
	is(PARAMCONV_TEXT, "a\0b", 3, NULL);
	IS(PARAMCONV_UUID, "12345678-9abc-def0-0123-456789abcdef", 0x12, 0x34, 0x56, 0x78, 0x9a,
	   0xbc, 0xde, 0xf0, 0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef);
	IS(PARAMCONV_UUID, NULL, 0x12, 0x34);
}
END_TEST

START_TEST(test_dates_timestamps)
{
	IS(PARAMCONV_DATE, "2000-01-01", 0, 0, 0, 0);
	IS(PARAMCONV_DATE, "2000-02-29", 0, 0, 0, 59);
	IS(PARAMCONV_DATE, "1999-12-31", 0xff, 0xff, 0xff, 0xff);
	IS(PARAMCONV_DATE, "1970-01-01", 0xff, 0xff, 0xd5, 0x33); /* -10957 */
	IS(PARAMCONV_DATE, "0001-01-01", 0xff, 0xf4, 0xdb, 0xf9); /* -730119 */
	IS(PARAMCONV_DATE, "0001-12-31 BC", 0xff, 0xf4, 0xdb, 0xf8);
	IS(PARAMCONV_DATE, "4714-11-24 BC", 0xff, 0xda, 0x97, 0xa7); /* -2451545 */
	IS(PARAMCONV_DATE, "infinity", 0x7f, 0xff, 0xff, 0xff);
	IS(PARAMCONV_DATE, "-infinity", 0x80, 0, 0, 0);
	IS(PARAMCONV_TIMESTAMP, "2000-01-01 00:00:00", 0, 0, 0, 0, 0, 0, 0, 0);
	/* -0.5 s */
	IS(PARAMCONV_TIMESTAMP, "1999-12-31 23:59:59.5", 0xff, 0xff, 0xff, 0xff, 0xff, 0xf8, 0x5e,
	   0xe0);
	/* 2026-11-23 17:31:17.000123 = 848770277000123 us */
	IS(PARAMCONV_TIMESTAMP, "2026-11-23 17:31:17.000123", 0, 0x03, 0x03, 0xf3, 0xba, 0xdb, 0x43,
	   0xbb);
	IS(PARAMCONV_TIMESTAMPTZ, "2000-01-01 00:00:01+00", 0, 0, 0, 0, 0, 0x0f, 0x42, 0x40);
	/* before year 1: the zone, then BC, as PostgreSQL prints it */
	IS(PARAMCONV_TIMESTAMPTZ, "0001-12-31 23:00:00+00 BC", 0xff, 0x1f, 0xe2, 0xfe, 0xef, 0x08,
	   0xbc, 0x00);
	IS(PARAMCONV_TIMESTAMP, "0001-12-31 23:00:00 BC", 0xff, 0x1f, 0xe2, 0xfe, 0xef, 0x08, 0xbc,
	   0x00);
	IS(PARAMCONV_TIMESTAMPTZ, "infinity", 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff);
	IS(PARAMCONV_TIMESTAMP, "-infinity", 0x80, 0, 0, 0, 0, 0, 0, 0);
	IS(PARAMCONV_TIMESTAMP, NULL, 0, 0, 0, 0);
}
END_TEST

START_TEST(test_unknown_types)
{
	ck_assert(!paramconv_supported(0));
	ck_assert(!paramconv_supported(17)); /* bytea */
	ck_assert(!paramconv_supported(114)); /* json */
	ck_assert(paramconv_supported(PARAMCONV_NUMERIC));
	IS(0, NULL, 0, 0, 0, 42);
	IS(17, NULL, 1, 2, 3);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("paramconv");
	TCase *tc = tcase_create("paramconv");
	tcase_add_test(tc, test_integers);
	tcase_add_test(tc, test_bool);
	tcase_add_test(tc, test_floats);
	tcase_add_test(tc, test_numeric);
	tcase_add_test(tc, test_text_uuid);
	tcase_add_test(tc, test_dates_timestamps);
	tcase_add_test(tc, test_unknown_types);
	suite_add_tcase(s, tc);
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
