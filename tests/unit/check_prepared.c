/* Unit tests for prepared.c's recognition of the SQL statements that change
 * a client's prepared statement names: DEALLOCATE name, DEALLOCATE ALL and
 * DISCARD ALL, in any case, with PREPARE, quoted names and semicolons, and
 * what must not be mistaken for them. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "prepared.h"

static enum sql_kind classify(const char *sql, char *name, size_t size)
{
	name[0] = '\0';
	return ps_classify_sql(sql, strlen(sql), name, size);
}

START_TEST(test_deallocate_name)
{
	char name[64];
	ck_assert_int_eq(classify("DEALLOCATE s1", name, sizeof(name)), SQL_DEALLOCATE);
	ck_assert_str_eq(name, "s1");
	ck_assert_int_eq(classify("  deallocate prepare _pg3_0 ;", name, sizeof(name)),
			 SQL_DEALLOCATE);
	ck_assert_str_eq(name, "_pg3_0");
	/* unquoted identifiers fold to lower case, quoted ones keep theirs */
	ck_assert_int_eq(classify("DEALLOCATE MyStmt", name, sizeof(name)), SQL_DEALLOCATE);
	ck_assert_str_eq(name, "mystmt");
	ck_assert_int_eq(classify("DEALLOCATE \"My \"\"odd\"\" one\"", name, sizeof(name)),
			 SQL_DEALLOCATE);
	ck_assert_str_eq(name, "My \"odd\" one");
	/* the NUL that ends a Query body is not part of the text */
	ck_assert_int_eq(ps_classify_sql("DEALLOCATE x\0", 13, name, sizeof(name)), SQL_DEALLOCATE);
	ck_assert_str_eq(name, "x");
}
END_TEST

START_TEST(test_all)
{
	char name[64];
	ck_assert_int_eq(classify("DEALLOCATE ALL", name, sizeof(name)), SQL_DEALLOCATE_ALL);
	ck_assert_int_eq(classify("deallocate prepare all;", name, sizeof(name)),
			 SQL_DEALLOCATE_ALL);
	ck_assert_int_eq(classify("DISCARD ALL", name, sizeof(name)), SQL_DISCARD_ALL);
	ck_assert_int_eq(classify("discard all ;\n", name, sizeof(name)), SQL_DISCARD_ALL);
	/* a statement named "all" needs quotes, and is then a name */
	ck_assert_int_eq(classify("DEALLOCATE \"ALL\"", name, sizeof(name)), SQL_DEALLOCATE);
	ck_assert_str_eq(name, "ALL");
}
END_TEST

START_TEST(test_others)
{
	char name[8];
	const char *others[] = {
		"SELECT 1",
		"DEALLOCATE",
		"DEALLOCATE a b",
		"DEALLOCATE a; SELECT 1",
		"DEALLOCATEx a",
		"DISCARD PLANS",
		"DISCARD ALL; SELECT 1",
		"DISCARD TEMP",
		"DEALLOCATE \"unterminated",
		"DEALLOCATE name_longer_than_buffer",
		"",
	};
	for (size_t i = 0; i < sizeof(others) / sizeof(others[0]); i++)
		ck_assert_msg(classify(others[i], name, sizeof(name)) == SQL_OTHER, "%s",
			      others[i]);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("prepared");
	TCase *tc = tcase_create("classify");
	tcase_add_test(tc, test_deallocate_name);
	tcase_add_test(tc, test_all);
	tcase_add_test(tc, test_others);
	suite_add_tcase(s, tc);
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
