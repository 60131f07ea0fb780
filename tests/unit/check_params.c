/* Unit tests for params.c: name lookup as PostgreSQL matches GUC names,
 * value ownership, and the exact SET statement built to bring a server's
 * session in line with what a client asked for. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "params.h"

/* build runs params_build_set into a buffer of OUTLEN bytes allocated to
 * that exact size (ASan catches any write past it). Returns the result;
 * *TEXT gets a copy of the output when it succeeded (caller frees). */
static int build(const struct params *want, const struct params *server, size_t outlen,
		 char **text)
{
	char *out = malloc(outlen ? outlen : 1);
	int n;

	ck_assert_ptr_nonnull(out);
	n = params_build_set(want, server, out, outlen);
	*text = NULL;
	if (n >= 0 && outlen > 0) {
		ck_assert_uint_lt((size_t)n, outlen);
		ck_assert_uint_eq(strlen(out), (size_t)n);
		*text = strdup(out);
	}
	free(out);
	return n;
}

/* expect_set asserts that the statement for WANT against SERVER is exactly
 * SQL, and that it needs exactly strlen(SQL) + 1 bytes: one byte less is
 * refused with -1. */
static void expect_set(const struct params *want, const struct params *server, const char *sql)
{
	size_t len = strlen(sql);
	char *text;

	ck_assert_int_eq(build(want, server, 4096, &text), (int)len);
	ck_assert_str_eq(text, sql);
	free(text);
	ck_assert_int_eq(build(want, server, len + 1, &text), (int)len);
	ck_assert_str_eq(text, sql);
	free(text);
	for (size_t outlen = 0; outlen <= len; outlen++) {
		ck_assert_msg(build(want, server, outlen, &text) == -1,
			      "%zu bytes cannot hold \"%s\"", outlen, sql);
		free(text);
	}
}

/* --- names -------------------------------------------------------------------- */

START_TEST(test_lookup_case_insensitive)
{
	ck_assert_int_eq(params_lookup("DateStyle"), PARAM_DATESTYLE);
	ck_assert_int_eq(params_lookup("datestyle"), PARAM_DATESTYLE);
	ck_assert_int_eq(params_lookup("DATESTYLE"), PARAM_DATESTYLE);
	ck_assert_int_eq(params_lookup("timezone"), PARAM_TIMEZONE);
	ck_assert_int_eq(params_lookup("TimeZone"), PARAM_TIMEZONE);
	ck_assert_int_eq(params_lookup("intervalstyle"), PARAM_INTERVALSTYLE);
	ck_assert_int_eq(params_lookup("Application_Name"), PARAM_APPLICATION_NAME);
	ck_assert_int_eq(params_lookup("client_encoding"), PARAM_CLIENT_ENCODING);
	ck_assert_int_eq(params_lookup("standard_conforming_strings"),
			 PARAM_STANDARD_CONFORMING_STRINGS);
}
END_TEST

START_TEST(test_lookup_unknown)
{
	ck_assert_int_eq(params_lookup("search_path"), -1);
	ck_assert_int_eq(params_lookup(""), -1);
	ck_assert_int_eq(params_lookup("date style"), -1);
	ck_assert_int_eq(params_lookup("DateStyle "), -1);
	ck_assert_int_eq(params_lookup("user"), -1);
}
END_TEST

START_TEST(test_names_canonical)
{
	/* as PostgreSQL spells them in ParameterStatus */
	ck_assert_str_eq(params_name(PARAM_APPLICATION_NAME), "application_name");
	ck_assert_str_eq(params_name(PARAM_CLIENT_ENCODING), "client_encoding");
	ck_assert_str_eq(params_name(PARAM_DATESTYLE), "DateStyle");
	ck_assert_str_eq(params_name(PARAM_TIMEZONE), "TimeZone");
	ck_assert_str_eq(params_name(PARAM_INTERVALSTYLE), "IntervalStyle");
	ck_assert_str_eq(params_name(PARAM_STANDARD_CONFORMING_STRINGS),
			 "standard_conforming_strings");
	ck_assert_str_eq(params_name(PARAM_EXTRA_FLOAT_DIGITS), "extra_float_digits");
	for (int i = 0; i < PARAM_COUNT; i++)
		ck_assert_int_eq(params_lookup(params_name(i)), i);
}
END_TEST

START_TEST(test_reported)
{
	/* the six PostgreSQL sends in ParameterStatus; extra_float_digits is
	 * only known from what the pooler SET */
	for (int i = 0; i < PARAM_COUNT; i++)
		ck_assert_int_eq(params_reported(i), i != PARAM_EXTRA_FLOAT_DIGITS);
}
END_TEST

/* --- values ------------------------------------------------------------------- */

START_TEST(test_set_copies_and_clears)
{
	struct params p = {{0}};
	char value[] = "psql";

	ck_assert(params_set(&p, PARAM_APPLICATION_NAME, value));
	ck_assert_ptr_ne(p.values[PARAM_APPLICATION_NAME], value);
	value[0] = 'X'; /* the copy does not follow the caller's buffer */
	ck_assert_str_eq(p.values[PARAM_APPLICATION_NAME], "psql");
	ck_assert(params_set(&p, PARAM_APPLICATION_NAME, "pgbench"));
	ck_assert_str_eq(p.values[PARAM_APPLICATION_NAME], "pgbench");
	ck_assert(params_set(&p, PARAM_APPLICATION_NAME, "pgbench"));
	ck_assert_str_eq(p.values[PARAM_APPLICATION_NAME], "pgbench");
	ck_assert(params_set(&p, PARAM_APPLICATION_NAME, NULL));
	ck_assert_ptr_null(p.values[PARAM_APPLICATION_NAME]);
	ck_assert(params_set(&p, PARAM_TIMEZONE, "UTC"));
	ck_assert(params_set(&p, PARAM_DATESTYLE, ""));
	ck_assert_str_eq(p.values[PARAM_DATESTYLE], "");
	params_clear(&p);
	for (int i = 0; i < PARAM_COUNT; i++)
		ck_assert_ptr_null(p.values[i]);
	params_clear(&p); /* twice is fine */
}
END_TEST

/* --- the SET statement ---------------------------------------------------------- */

START_TEST(test_build_nothing_when_equal)
{
	struct params want = {{0}}, server = {{0}};
	char *text;

	ck_assert(params_set(&want, PARAM_TIMEZONE, "UTC"));
	ck_assert(params_set(&want, PARAM_CLIENT_ENCODING, "UTF8"));
	ck_assert(params_set(&server, PARAM_TIMEZONE, "UTC"));
	ck_assert(params_set(&server, PARAM_CLIENT_ENCODING, "UTF8"));
	ck_assert(params_set(&server, PARAM_DATESTYLE, "ISO, MDY"));
	ck_assert_int_eq(build(&want, &server, 64, &text), 0);
	ck_assert_str_eq(text, "");
	free(text);
	/* with nothing to write, even an empty buffer is enough */
	ck_assert_int_eq(build(&want, &server, 0, &text), 0);
	params_clear(&want);
	params_clear(&server);
}
END_TEST

START_TEST(test_build_nothing_wanted)
{
	struct params want = {{0}}, server = {{0}};
	char *text;

	ck_assert(params_set(&server, PARAM_APPLICATION_NAME, "other"));
	ck_assert(params_set(&server, PARAM_TIMEZONE, "Asia/Tokyo"));
	ck_assert_int_eq(build(&want, &server, 64, &text), 0);
	ck_assert_str_eq(text, "");
	free(text);
	params_clear(&server);
}
END_TEST

START_TEST(test_build_only_differences)
{
	struct params want = {{0}}, server = {{0}};

	ck_assert(params_set(&want, PARAM_APPLICATION_NAME, "psql"));
	ck_assert(params_set(&want, PARAM_DATESTYLE, "ISO, MDY"));
	ck_assert(params_set(&want, PARAM_TIMEZONE, "UTC"));
	ck_assert(params_set(&want, PARAM_STANDARD_CONFORMING_STRINGS, "on"));
	ck_assert(params_set(&server, PARAM_APPLICATION_NAME, "psql"));
	ck_assert(params_set(&server, PARAM_TIMEZONE, "Europe/Paris"));
	ck_assert(params_set(&server, PARAM_STANDARD_CONFORMING_STRINGS, "on"));
	/* DateStyle: the server has none recorded, so it is set too; order is
	 * the parameter table's */
	expect_set(&want, &server, "SET DateStyle = E'ISO, MDY';SET TimeZone = E'UTC';");
	params_clear(&want);
	params_clear(&server);
}
END_TEST

START_TEST(test_build_case_of_values_matters)
{
	/* values are compared exactly: "utc" and "UTC" are different strings
	 * to us, and the server normalizes what it is sent */
	struct params want = {{0}}, server = {{0}};

	ck_assert(params_set(&want, PARAM_TIMEZONE, "utc"));
	ck_assert(params_set(&server, PARAM_TIMEZONE, "UTC"));
	expect_set(&want, &server, "SET TimeZone = E'utc';");
	params_clear(&want);
	params_clear(&server);
}
END_TEST

START_TEST(test_build_every_param)
{
	struct params want = {{0}}, server = {{0}};

	ck_assert(params_set(&want, PARAM_APPLICATION_NAME, "a"));
	ck_assert(params_set(&want, PARAM_CLIENT_ENCODING, "LATIN1"));
	ck_assert(params_set(&want, PARAM_DATESTYLE, "German"));
	ck_assert(params_set(&want, PARAM_TIMEZONE, "UTC"));
	ck_assert(params_set(&want, PARAM_INTERVALSTYLE, "iso_8601"));
	ck_assert(params_set(&want, PARAM_STANDARD_CONFORMING_STRINGS, "off"));
	expect_set(&want, &server,
		   "SET application_name = E'a';"
		   "SET client_encoding = E'LATIN1';"
		   "SET DateStyle = E'German';"
		   "SET TimeZone = E'UTC';"
		   "SET IntervalStyle = E'iso_8601';"
		   "SET standard_conforming_strings = E'off';");
	params_clear(&want);
}
END_TEST

START_TEST(test_build_quoting)
{
	struct params want = {{0}}, server = {{0}};

	/* a quote and a backslash are each escaped with a backslash inside
	 * E'', which means the same whatever standard_conforming_strings is */
	ck_assert(params_set(&want, PARAM_APPLICATION_NAME, "it's a \\ test"));
	expect_set(&want, &server, "SET application_name = E'it\\'s a \\\\ test';");

	/* an attempt to end the literal and add a statement stays in it */
	ck_assert(params_set(&want, PARAM_APPLICATION_NAME, "x'; DROP TABLE t; --"));
	expect_set(&want, &server, "SET application_name = E'x\\'; DROP TABLE t; --';");

	/* a trailing backslash cannot escape the closing quote */
	ck_assert(params_set(&want, PARAM_APPLICATION_NAME, "ends\\"));
	expect_set(&want, &server, "SET application_name = E'ends\\\\';");

	ck_assert(params_set(&want, PARAM_APPLICATION_NAME, "''\\\\"));
	expect_set(&want, &server, "SET application_name = E'\\'\\'\\\\\\\\';");

	/* other bytes, UTF-8 included, pass through untouched */
	ck_assert(params_set(&want, PARAM_APPLICATION_NAME, "caf\xc3\xa9 \"q\" ;"));
	expect_set(&want, &server, "SET application_name = E'caf\xc3\xa9 \"q\" ;';");
	params_clear(&want);
}
END_TEST

START_TEST(test_build_empty_value)
{
	struct params want = {{0}}, server = {{0}};

	ck_assert(params_set(&want, PARAM_APPLICATION_NAME, ""));
	ck_assert(params_set(&server, PARAM_APPLICATION_NAME, "psql"));
	expect_set(&want, &server, "SET application_name = E'';");
	params_clear(&want);
	params_clear(&server);
}
END_TEST

START_TEST(test_build_null_want_skipped)
{
	struct params want = {{0}}, server = {{0}};

	/* only TimeZone is wanted; the server's other values stay as they are */
	ck_assert(params_set(&want, PARAM_TIMEZONE, "UTC"));
	ck_assert(params_set(&server, PARAM_APPLICATION_NAME, "leftover"));
	ck_assert(params_set(&server, PARAM_DATESTYLE, "SQL, DMY"));
	ck_assert(params_set(&server, PARAM_TIMEZONE, "GMT"));
	expect_set(&want, &server, "SET TimeZone = E'UTC';");
	params_clear(&want);
	params_clear(&server);
}
END_TEST

START_TEST(test_build_unreported_set_and_reset)
{
	struct params want = {{0}}, server = {{0}};
	char *text;

	/* JDBC's extra_float_digits travels like the others */
	ck_assert(params_set(&want, PARAM_EXTRA_FLOAT_DIGITS, "3"));
	expect_set(&want, &server, "SET extra_float_digits = E'3';");
	ck_assert(params_set(&server, PARAM_EXTRA_FLOAT_DIGITS, "3"));
	ck_assert_int_eq(build(&want, &server, 64, &text), 0); /* already so */
	ck_assert_str_eq(text, "");
	free(text);

	/* a client that did not ask for it must not inherit the previous
	 * client's value: the server never reports a change, so it is reset */
	ck_assert(params_set(&want, PARAM_EXTRA_FLOAT_DIGITS, NULL));
	expect_set(&want, &server, "RESET extra_float_digits;");

	/* mixed with a SET, in table order, with the same exact size bound */
	ck_assert(params_set(&want, PARAM_TIMEZONE, "UTC"));
	expect_set(&want, &server, "SET TimeZone = E'UTC';RESET extra_float_digits;");

	/* a reported parameter left unset by WANT is not reset */
	ck_assert(params_set(&server, PARAM_APPLICATION_NAME, "previous"));
	expect_set(&want, &server, "SET TimeZone = E'UTC';RESET extra_float_digits;");
	params_clear(&want);
	params_clear(&server);
}
END_TEST

START_TEST(test_build_too_small)
{
	struct params want = {{0}}, server = {{0}};
	char *long_value = malloc(3000);
	char *text;

	ck_assert_ptr_nonnull(long_value);
	memset(long_value, 'v', 2999);
	long_value[2999] = '\0';
	ck_assert(params_set(&want, PARAM_APPLICATION_NAME, long_value));
	/* the size client.c uses cannot hold it: refused, never truncated */
	ck_assert_int_eq(build(&want, &server, 2048, &text), -1);
	ck_assert_ptr_null(text);
	/* escapes count: 1000 quotes need 2000 bytes inside the literal */
	memset(long_value, '\'', 1000);
	long_value[1000] = '\0';
	ck_assert(params_set(&want, PARAM_APPLICATION_NAME, long_value));
	ck_assert_int_eq(build(&want, &server, 2000, &text), -1);
	ck_assert_int_eq(build(&want, &server, 4096, &text),
			 (int)strlen("SET application_name = E'';") + 2000);
	free(text);
	free(long_value);
	params_clear(&want);
}
END_TEST

static Suite *params_suite(void)
{
	Suite *s = suite_create("params");
	TCase *tc;

	tc = tcase_create("names");
	tcase_add_test(tc, test_lookup_case_insensitive);
	tcase_add_test(tc, test_lookup_unknown);
	tcase_add_test(tc, test_names_canonical);
	tcase_add_test(tc, test_reported);
	tcase_add_test(tc, test_set_copies_and_clears);
	suite_add_tcase(s, tc);

	tc = tcase_create("build_set");
	tcase_add_test(tc, test_build_nothing_when_equal);
	tcase_add_test(tc, test_build_nothing_wanted);
	tcase_add_test(tc, test_build_only_differences);
	tcase_add_test(tc, test_build_case_of_values_matters);
	tcase_add_test(tc, test_build_every_param);
	tcase_add_test(tc, test_build_quoting);
	tcase_add_test(tc, test_build_empty_value);
	tcase_add_test(tc, test_build_null_want_skipped);
	tcase_add_test(tc, test_build_unreported_set_and_reset);
	tcase_add_test(tc, test_build_too_small);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(params_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
