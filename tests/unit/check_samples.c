/* Unit tests for samples.c: the JSON of param_samples.params, the check of
 * its parameter count, fingerprints and substitution into the text. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "advisor/samples.h"

START_TEST(test_parse)
{
	struct samples_one s;
	ck_assert_int_eq(samples_parse("[\"42\", null, \"O'Brien\"]", 3, &s), 0);
	ck_assert_int_eq(s.n, 3);
	ck_assert_str_eq(s.values[0], "42");
	ck_assert_ptr_null(s.values[1]);
	ck_assert_str_eq(s.values[2], "O'Brien");
	samples_one_free(&s);
	ck_assert_int_eq(samples_parse("[]", 0, &s), 0);
	ck_assert_int_eq(s.n, 0);
	samples_one_free(&s);
	ck_assert_int_eq(samples_parse("[\"\\u00e9t\\u00e9\"]", 1, &s), 0);
	ck_assert_str_eq(s.values[0], "\xc3\xa9t\xc3\xa9");
	samples_one_free(&s);
}
END_TEST

START_TEST(test_parse_rejects)
{
	struct samples_one s;
	/* the count must match: an IN list of another length has the same
	 * fingerprint */
	ck_assert_int_eq(samples_parse("[\"1\", \"2\"]", 3, &s), -1);
	ck_assert_int_eq(samples_parse("[\"1\", \"2\", \"3\", \"4\"]", 3, &s), -1);
	ck_assert_int_eq(s.n, 0);
	ck_assert_ptr_null(s.values);
	/* text values only: what the pooler writes */
	ck_assert_int_eq(samples_parse("[1]", 1, &s), -1);
	ck_assert_int_eq(samples_parse("[\"a\", [\"b\"]]", 2, &s), -1);
	ck_assert_int_eq(samples_parse("{\"a\": \"1\"}", 1, &s), -1);
	ck_assert_int_eq(samples_parse("[\"1\"", 1, &s), -1);
	ck_assert_int_eq(samples_parse("", 0, &s), -1);
	ck_assert_int_eq(samples_parse(NULL, 0, &s), -1);
}
END_TEST

START_TEST(test_same)
{
	struct samples_one a, b, c;
	ck_assert_int_eq(samples_parse("[\"1\", null]", 2, &a), 0);
	ck_assert_int_eq(samples_parse("[\"1\", null]", 2, &b), 0);
	ck_assert_int_eq(samples_parse("[\"1\", \"\"]", 2, &c), 0);
	ck_assert(samples_same(&a, &b));
	ck_assert(!samples_same(&a, &c));
	samples_one_free(&a);
	samples_one_free(&b);
	samples_one_free(&c);
}
END_TEST

START_TEST(test_fingerprint)
{
	/* the pg_stat_statements text and a client's literals agree */
	char *a = samples_fingerprint("SELECT id FROM t WHERE a = $1 AND b IN ($2, $3) LIMIT $4");
	char *b = samples_fingerprint("select id from t where a = 'x' and b in (1, 2) limit 10");
	char *c = samples_fingerprint("SELECT id FROM t WHERE a = $1");
	ck_assert_ptr_nonnull(a);
	ck_assert_int_eq(strlen(a), 16);
	ck_assert_str_eq(a, b);
	ck_assert_str_ne(a, c);
	ck_assert_ptr_null(samples_fingerprint("SELEC nothing"));
	free(a);
	free(b);
	free(c);
}
END_TEST

START_TEST(test_bind)
{
	PGconn *conn = PQconnectStart("dbname=none host=/nonexistent");
	char *err = NULL;
	struct candidates_stmt *st =
		candidates_parse("SELECT id FROM t WHERE a = $1 AND b = $2 LIMIT $3", &err);
	ck_assert_ptr_nonnull(st);
	struct samples_one s;
	ck_assert_int_eq(samples_parse("[\"O'Brien\", null, \"10\"]", 3, &s), 0);
	char *text =
		samples_bind(conn, st, "SELECT id FROM t WHERE a = $1 AND b = $2 LIMIT $3", &s);
	ck_assert_ptr_nonnull(text);
	ck_assert_str_eq(text, "SELECT id FROM t WHERE a = 'O''Brien' AND b = NULL LIMIT '10'");
	free(text);
	samples_one_free(&s);
	/* a sample of another parameter count is not substituted */
	ck_assert_int_eq(samples_parse("[\"1\", \"2\"]", 2, &s), 0);
	ck_assert_ptr_null(
		samples_bind(conn, st, "SELECT id FROM t WHERE a = $1 AND b = $2 LIMIT $3", &s));
	samples_one_free(&s);
	candidates_stmt_free(st);
	PQfinish(conn);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("samples");
	TCase *tc = tcase_create("core");
	tcase_add_test(tc, test_parse);
	tcase_add_test(tc, test_parse_rejects);
	tcase_add_test(tc, test_same);
	tcase_add_test(tc, test_fingerprint);
	tcase_add_test(tc, test_bind);
	suite_add_tcase(s, tc);
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
