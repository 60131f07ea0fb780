/* Unit tests for sessionstate.c: each kind of statement that leaves session
 * state is found, the transaction-scoped and tracked forms are not, through
 * comments, any case, several statements and truncated text. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "sessionstate.h"

#define BIT(k) SESSIONSTATE_BIT(SESSIONSTATE_##k)

static unsigned scan(const char *sql)
{
	return sessionstate_scan(sql, strlen(sql), false, true);
}

START_TEST(test_each_kind)
{
	ck_assert_uint_eq(scan("SET search_path = app, public"), BIT(SET));
	ck_assert_uint_eq(scan("set session statement_timeout to 5"), BIT(SET));
	ck_assert_uint_eq(scan("SET ROLE reporting"), BIT(SET));
	ck_assert_uint_eq(scan("SET SESSION AUTHORIZATION bob"), BIT(SET));
	ck_assert_uint_eq(scan("SET myapp.tenant = '42'"), BIT(SET));
	ck_assert_uint_eq(scan("RESET search_path"), BIT(RESET));
	ck_assert_uint_eq(scan("LISTEN jobs"), BIT(LISTEN));
	ck_assert_uint_eq(scan("PREPARE q(int) AS SELECT $1"), BIT(PREPARE));
	ck_assert_uint_eq(scan("SELECT pg_advisory_lock(1)"), BIT(ADVISORY_LOCK));
	ck_assert_uint_eq(scan("select PG_TRY_ADVISORY_LOCK (1, 2)"), BIT(ADVISORY_LOCK));
	ck_assert_uint_eq(scan("CREATE TEMP TABLE t (a int)"), BIT(TEMP));
	ck_assert_uint_eq(scan("create temporary table t as select 1"), BIT(TEMP));
	ck_assert_uint_eq(scan("CREATE LOCAL TEMPORARY SEQUENCE s"), BIT(TEMP));
	ck_assert_uint_eq(scan("CREATE OR REPLACE TEMP VIEW v AS SELECT 1"), BIT(TEMP));
	ck_assert_uint_eq(scan("DECLARE c NO SCROLL CURSOR WITH HOLD FOR SELECT 1"),
			  BIT(HOLD_CURSOR));
	ck_assert_uint_eq(scan("LOAD 'auto_explain'"), BIT(LOAD));
}
END_TEST

START_TEST(test_harmless_forms)
{
	ck_assert_uint_eq(scan("SET LOCAL search_path = x"), 0);
	ck_assert_uint_eq(scan("SET TRANSACTION ISOLATION LEVEL SERIALIZABLE"), 0);
	ck_assert_uint_eq(scan("SET CONSTRAINTS ALL DEFERRED"), 0);
	ck_assert_uint_eq(scan("SET application_name = 'x'"), 0);
	ck_assert_uint_eq(scan("set DATESTYLE to ISO"), 0);
	ck_assert_uint_eq(scan("SET \"TimeZone\" = 'UTC'"), 0);
	ck_assert_uint_eq(scan("SET TIME ZONE 'UTC'"), 0);
	ck_assert_uint_eq(scan("SET NAMES 'UTF8'"), 0);
	ck_assert_uint_eq(scan("SET SESSION client_encoding = 'UTF8'"), 0);
	ck_assert_uint_eq(scan("SET extra_float_digits = 3"), 0);
	ck_assert_uint_eq(scan("SET standard_conforming_strings = on"), 0);
	ck_assert_uint_eq(scan("SET IntervalStyle = postgres"), 0);
	ck_assert_uint_eq(scan("RESET ALL"), 0);
	ck_assert_uint_eq(scan("RESET timezone"), 0);
	ck_assert_uint_eq(scan("SELECT pg_advisory_xact_lock(1)"), 0);
	ck_assert_uint_eq(scan("SELECT pg_try_advisory_xact_lock(1)"), 0);
	ck_assert_uint_eq(scan("SELECT pg_advisory_unlock(1)"), 0);
	ck_assert_uint_eq(scan("SELECT * FROM t WHERE a = 1"), 0);
	ck_assert_uint_eq(scan("EXECUTE q(1)"), 0);
	ck_assert_uint_eq(scan("DEALLOCATE q"), 0);
	ck_assert_uint_eq(scan("PREPARE TRANSACTION 'gid'"), 0);
	ck_assert_uint_eq(scan("CREATE TABLE temp (a int)"), 0);
	ck_assert_uint_eq(scan("DECLARE c CURSOR FOR SELECT 'WITH HOLD'"), 0);
	ck_assert_uint_eq(scan("UNLISTEN *"), 0);
	ck_assert_uint_eq(scan("SELECT 'LISTEN x; SET a = 1'"), 0);
	ck_assert_uint_eq(scan("SELECT $$; LISTEN x$$"), 0);
	ck_assert_uint_eq(scan("SELECT $t$ ; LOAD 'x' $t$"), 0);
	ck_assert_uint_eq(scan("SELECT \"pg_advisory_lock\"(1)"), 0);
	ck_assert_uint_eq(scan("SELECT settings FROM listen"), 0);
	ck_assert_uint_eq(scan(""), 0);
	ck_assert_uint_eq(scan("  ;; "), 0);
}
END_TEST

START_TEST(test_advisory_lock_in_transaction)
{
	const char *sql = "SELECT pg_advisory_lock(7)";
	ck_assert_uint_eq(sessionstate_scan(sql, strlen(sql), true, true), 0);
	ck_assert_uint_eq(scan("BEGIN; SELECT pg_advisory_lock(7); COMMIT"), 0);
	ck_assert_uint_eq(scan("START TRANSACTION; SELECT 1; COMMIT; SELECT pg_advisory_lock(7)"),
			  BIT(ADVISORY_LOCK));
	sql = "ROLLBACK TO SAVEPOINT a; SELECT pg_advisory_lock(7)";
	ck_assert_uint_eq(sessionstate_scan(sql, strlen(sql), true, true), 0);
	sql = "COMMIT; SELECT pg_advisory_lock(7)";
	ck_assert_uint_eq(sessionstate_scan(sql, strlen(sql), true, true), BIT(ADVISORY_LOCK));
}
END_TEST

START_TEST(test_comments_and_case)
{
	ck_assert_uint_eq(scan("-- set up\n  /* a /* nested */ comment */ sEt search_path TO x"),
			  BIT(SET));
	ck_assert_uint_eq(scan("\t\n LiStEn\tchan"), BIT(LISTEN));
	ck_assert_uint_eq(scan("/* SET a = 1 */ SELECT 1 -- LISTEN x"), 0);
	ck_assert_uint_eq(scan("SET /* LOCAL */ work_mem = '1MB'"), BIT(SET));
	ck_assert_uint_eq(scan("SET -- x\n LOCAL work_mem = '1MB'"), 0);
	ck_assert_uint_eq(scan("/* unterminated SET a = 1"), 0);
}
END_TEST

START_TEST(test_multi_statement)
{
	ck_assert_uint_eq(scan("SELECT 1; SET work_mem = '64MB'; LISTEN a"),
			  BIT(SET) | BIT(LISTEN));
	ck_assert_uint_eq(scan("BEGIN; SET LOCAL work_mem = '1MB'; SELECT 1; COMMIT;"), 0);
	ck_assert_uint_eq(scan("SELECT 1;CREATE TEMP TABLE t(a int);PREPARE p AS SELECT 1"),
			  BIT(TEMP) | BIT(PREPARE));
	/* only statement starts count: SET inside a statement is not one */
	ck_assert_uint_eq(scan("UPDATE t SET a = 1"), 0);
	ck_assert_uint_eq(scan("ALTER ROLE bob SET search_path = x"), 0);
}
END_TEST

START_TEST(test_truncated_text)
{
	/* a word cut at the end of a truncated copy is not trusted */
	const char *sql = "SELECT 1; SET application_na";
	ck_assert_uint_eq(sessionstate_scan(sql, strlen(sql), false, false), 0);
	sql = "SELECT 1; SET search_path = a, b";
	ck_assert_uint_eq(sessionstate_scan(sql, strlen(sql), false, false), BIT(SET));
	sql = "SELECT 1; LISTE";
	ck_assert_uint_eq(sessionstate_scan(sql, strlen(sql), false, false), 0);
	sql = "SELECT 'unterminated; LISTEN x";
	ck_assert_uint_eq(sessionstate_scan(sql, strlen(sql), false, false), 0);
	/* only LEN bytes are read */
	sql = "SELECT 1; LISTEN x";
	ck_assert_uint_eq(sessionstate_scan(sql, 9, false, true), 0);
	ck_assert_uint_eq(sessionstate_scan(sql, strlen(sql), false, true), BIT(LISTEN));
	/* not NUL-terminated: a copy without one */
	char buf[6];
	memcpy(buf, "LOAD x", 6);
	ck_assert_uint_eq(sessionstate_scan(buf, sizeof(buf), false, true), BIT(LOAD));
}
END_TEST

/* The fast path never hides what the tokenizer finds. */
START_TEST(test_fast_path_agrees)
{
	ck_assert_uint_eq(scan("SELECT abalance FROM pgbench_accounts WHERE aid = 1;"), 0);
	ck_assert_uint_eq(scan("  select 1 ;  \n"), 0);
	ck_assert_uint_eq(scan("(SELECT 1)"), 0);
	ck_assert_uint_eq(scan("\"set\" "), 0);
	ck_assert_uint_eq(scan("SELECT PG_ADVISORY_LOCK(1)"), BIT(ADVISORY_LOCK));
	ck_assert_uint_eq(scan("select pg_try_Advisory_lock(2)"), BIT(ADVISORY_LOCK));
	ck_assert_uint_eq(scan("SELECT 'advisory'"), 0);
	ck_assert_uint_eq(scan("/* x */ SET work_mem = '1MB'"), BIT(SET));
	ck_assert_uint_eq(scan("-- x\nLISTEN c"), BIT(LISTEN));
	ck_assert_uint_eq(scan("SELECT 1; SET work_mem = '1MB'"), BIT(SET));
	ck_assert_uint_eq(scan("SELECT ';'; LISTEN c"), BIT(LISTEN));
	ck_assert_uint_eq(scan("SELECT ';'"), 0);
	ck_assert_uint_eq(scan("\tDeClArE c CURSOR WITH HOLD FOR SELECT 1"), BIT(HOLD_CURSOR));
	ck_assert_uint_eq(scan("create temp table t (a int);"), BIT(TEMP));
	ck_assert_uint_eq(scan("PREPARE p AS SELECT 1"), BIT(PREPARE));
	ck_assert_uint_eq(scan("RESET work_mem"), BIT(RESET));
	ck_assert_uint_eq(scan("LOAD 'x'"), BIT(LOAD));
	ck_assert_uint_eq(scan("settings"), 0);
	ck_assert_uint_eq(scan(""), 0);
}
END_TEST

START_TEST(test_format)
{
	char out[128];

	sessionstate_format(0, out, sizeof(out));
	ck_assert_str_eq(out, "");
	sessionstate_format(BIT(SET) | BIT(ADVISORY_LOCK) | BIT(LOAD), out, sizeof(out));
	ck_assert_str_eq(out, "set,advisory_lock,load");
	sessionstate_format(BIT(SET) | BIT(LISTEN), out, 6);
	ck_assert_str_eq(out, "set");
	ck_assert_str_eq(sessionstate_kind_name(SESSIONSTATE_HOLD_CURSOR), "hold_cursor");
}
END_TEST

static Suite *sessionstate_suite(void)
{
	Suite *s = suite_create("sessionstate");
	TCase *tc = tcase_create("scan");

	tcase_add_test(tc, test_each_kind);
	tcase_add_test(tc, test_harmless_forms);
	tcase_add_test(tc, test_advisory_lock_in_transaction);
	tcase_add_test(tc, test_comments_and_case);
	tcase_add_test(tc, test_multi_statement);
	tcase_add_test(tc, test_truncated_text);
	tcase_add_test(tc, test_format);
	tcase_add_test(tc, test_fast_path_agrees);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(sessionstate_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
