/* Unit tests for verify.c's pure part: the execution time and the index
 * used, read from EXPLAIN (ANALYZE, FORMAT JSON) output. */
#include <check.h>
#include <stdlib.h>

#include "advisor/verify.h"

static const char plan_with_index[] =
	"[\n  {\n    \"Plan\": {\n      \"Node Type\": \"Index Scan\",\n"
	"      \"Index Name\": \"pglifeguard_verify\",\n      \"Total Cost\": 8.3\n    },\n"
	"    \"Planning Time\": 0.120,\n    \"Triggers\": [\n    ],\n"
	"    \"Execution Time\": 0.045\n  }\n]";

START_TEST(test_execution_ms)
{
	bool uses = false;
	ck_assert_double_eq_tol(verify_execution_ms(plan_with_index, VERIFY_INDEX_NAME, &uses),
				0.045, 1e-9);
	ck_assert(uses);
	ck_assert_double_eq_tol(verify_execution_ms(plan_with_index, "other_idx", &uses), 0.045,
				1e-9);
	ck_assert(!uses);
	/* an integer number of milliseconds */
	ck_assert_double_eq_tol(
		verify_execution_ms("[{\"Plan\": {}, \"Execution Time\": 12}]", NULL, NULL), 12,
		1e-9);
}
END_TEST

START_TEST(test_execution_ms_bad)
{
	bool uses = true;
	/* EXPLAIN without ANALYZE has no execution time */
	ck_assert(verify_execution_ms("[{\"Plan\": {\"Index Name\": \"pglifeguard_verify\"}}]",
				      VERIFY_INDEX_NAME, &uses) < 0);
	ck_assert(!uses);
	ck_assert(verify_execution_ms("[]", NULL, NULL) < 0);
	ck_assert(verify_execution_ms("not json", NULL, NULL) < 0);
	ck_assert(verify_execution_ms("[{\"Execution Time\": \"1\"}]", NULL, NULL) < 0);
	ck_assert(verify_execution_ms(NULL, NULL, NULL) < 0);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("verify");
	TCase *tc = tcase_create("core");
	tcase_add_test(tc, test_execution_ms);
	tcase_add_test(tc, test_execution_ms_bad);
	suite_add_tcase(s, tc);
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
