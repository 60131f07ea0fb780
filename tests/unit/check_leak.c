/* Unit tests for leak.c: the checkout bookkeeping driven by the messages a
 * client sends and the ReadyForQuery statuses it gets, and the leak rule on
 * the states and timestamps that result. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "leak.h"

#define SEC USEC_PER_SEC
/* monotonic times are never 0 (0 means "none"): tests start here */
#define T0 (1000 * SEC)

static void query(struct checkout *ck, const char *sql, usec_t now)
{
	leak_note_request(ck, 'Q', (const uint8_t *)sql, (uint32_t)strlen(sql) + 1,
			  (uint32_t)strlen(sql) + 5, now);
}

static bool suspected(const struct checkout *ck, bool busy, bool session, usec_t now)
{
	struct leak_view v = {.busy = busy, .session_mode = session, .now = now,
			      .threshold = 1 * SEC};
	return leak_suspected(ck, &v);
}

START_TEST(test_idle_in_transaction_flagged)
{
	struct checkout ck;
	leak_checkout_begin(&ck, T0 + 100 * SEC);
	query(&ck, "BEGIN", T0 + 100 * SEC);
	leak_note_ready(&ck, 'T', true, T0 + 100 * SEC + 1000);
	ck_assert(!suspected(&ck, false, false, T0 + 101 * SEC));
	ck_assert(suspected(&ck, false, false, T0 + 101 * SEC + 2000));
	ck_assert_uint_eq(ck.xact_statements, 1);
	ck_assert_int_eq(ck.xact_start, T0 + 100 * SEC);
	ck_assert_str_eq(leak_state_name(&ck, false), "idle in transaction");
}
END_TEST

START_TEST(test_failed_transaction_flagged)
{
	struct checkout ck;
	leak_checkout_begin(&ck, T0);
	query(&ck, "BEGIN", T0);
	leak_note_ready(&ck, 'T', true, T0 + 10);
	query(&ck, "SELECT 1/0", T0 + 20);
	leak_note_ready(&ck, 'E', true, T0 + 30);
	ck_assert(suspected(&ck, false, true, T0 + 30 + 2 * SEC));
	ck_assert(suspected(&ck, false, false, T0 + 30 + 2 * SEC));
	ck_assert_uint_eq(ck.xact_statements, 2);
}
END_TEST

START_TEST(test_running_query_not_flagged)
{
	struct checkout ck;
	leak_checkout_begin(&ck, T0);
	query(&ck, "BEGIN", T0);
	leak_note_ready(&ck, 'T', true, T0 + 10);
	query(&ck, "SELECT pg_sleep(10)", T0 + 20);
	/* in flight: 10 s later it is still not a leak */
	ck_assert(!suspected(&ck, true, false, T0 + 10 * SEC));
	ck_assert(!suspected(&ck, true, true, T0 + 10 * SEC));
	ck_assert_str_eq(leak_state_name(&ck, true), "active");
}
END_TEST

START_TEST(test_back_to_back_slow_queries)
{
	struct checkout ck;
	usec_t t = 0;
	leak_checkout_begin(&ck, T0 + t);
	query(&ck, "BEGIN", T0 + t);
	leak_note_ready(&ck, 'T', true, T0 + t);
	for (int i = 0; i < 5; i++) {
		query(&ck, "SELECT pg_sleep(2)", T0 + t + 1000);
		t += 2 * SEC;
		leak_note_ready(&ck, 'T', true, T0 + t);
		/* between two queries the client was quiet for 1 ms */
		ck_assert(!suspected(&ck, false, false, T0 + t + 1000));
	}
	ck_assert_int_ge(ck.exec_time, 9 * SEC);
	ck_assert_uint_eq(ck.xact_statements, 6);
}
END_TEST

START_TEST(test_transaction_mode_idle_not_flagged)
{
	struct checkout ck;
	leak_checkout_begin(&ck, T0);
	query(&ck, "SELECT 1", T0);
	leak_note_ready(&ck, 'I', true, T0 + 10);
	ck_assert(!suspected(&ck, false, false, T0 + 100 * SEC));
	ck_assert_int_eq(ck.xact_start, 0);
	ck_assert_uint_eq(ck.xact_statements, 0);
	ck_assert_uint_eq(ck.statements, 1);
}
END_TEST

START_TEST(test_session_mode_idle_flagged)
{
	struct checkout ck;
	leak_checkout_begin(&ck, T0);
	query(&ck, "SELECT 1", T0);
	leak_note_ready(&ck, 'I', true, T0 + 10);
	ck_assert(suspected(&ck, false, true, T0 + 2 * SEC));
	ck_assert(!suspected(&ck, false, true, T0 + SEC));
}
END_TEST

START_TEST(test_listen_session_not_flagged)
{
	struct checkout ck;
	leak_checkout_begin(&ck, T0);
	query(&ck, "  listen my_channel", T0);
	leak_note_ready(&ck, 'I', true, T0 + 10);
	query(&ck, "SELECT 1", T0 + 20);
	leak_note_ready(&ck, 'I', true, T0 + 30);
	ck_assert(ck.listen);
	ck_assert(!suspected(&ck, false, true, T0 + 100 * SEC));
	/* a transaction left open is a leak even so */
	query(&ck, "BEGIN", T0 + 40);
	leak_note_ready(&ck, 'T', true, T0 + 50);
	ck_assert(suspected(&ck, false, true, T0 + 100 * SEC));
}
END_TEST

START_TEST(test_threshold_off)
{
	struct checkout ck;
	struct leak_view v = {.busy = false, .session_mode = true, .now = T0 + 1000 * SEC,
			      .threshold = 0};
	leak_checkout_begin(&ck, T0);
	query(&ck, "BEGIN", T0);
	leak_note_ready(&ck, 'T', true, T0);
	ck_assert(!leak_suspected(&ck, &v));
}
END_TEST

START_TEST(test_client_message_resets_quiet)
{
	struct checkout ck;
	leak_checkout_begin(&ck, T0);
	query(&ck, "BEGIN", T0);
	leak_note_ready(&ck, 'T', true, T0);
	/* Parse without Sync yet: the client is talking */
	const uint8_t parse[] = "s1\0SELECT $1\0\0";
	leak_note_request(&ck, 'P', parse, sizeof(parse), sizeof(parse) + 4, T0 + 900000);
	ck_assert(!suspected(&ck, false, false, T0 + SEC + 500000));
	ck_assert_str_eq(ck.stmt, "SELECT $1");
}
END_TEST

START_TEST(test_idle_time_accounting)
{
	struct checkout ck;
	leak_checkout_begin(&ck, T0);
	query(&ck, "BEGIN", T0);
	leak_note_ready(&ck, 'T', true, T0 + 100);
	query(&ck, "SELECT 1", T0 + 3 * SEC);
	leak_note_ready(&ck, 'T', true, T0 + 3 * SEC + 200);
	ck_assert_int_eq(ck.exec_time, 300);
	ck_assert_int_eq(ck.idle_xact_time, 3 * SEC - 100);
}
END_TEST

START_TEST(test_statement_copy_bounded)
{
	struct checkout ck;
	char big[1000];
	memset(big, 'x', sizeof(big));
	memcpy(big, "SELECT ", 7);
	leak_checkout_begin(&ck, 0);
	/* only part of the message has arrived: no NUL in sight */
	leak_note_request(&ck, 'Q', (const uint8_t *)big, 300, 5000, 0);
	ck_assert_uint_eq(strlen(ck.stmt), LEAK_STMT_LEN);
	ck_assert_uint_eq(ck.stmt_len, LEAK_STMT_LEN);
	/* a truncated Parse with no end to its name copies nothing */
	leak_note_request(&ck, 'P', (const uint8_t *)big, 20, 5000, 0);
	ck_assert_uint_eq(ck.stmt_len, LEAK_STMT_LEN);
}
END_TEST

START_TEST(test_is_listen)
{
	ck_assert(leak_is_listen("LISTEN x", 8));
	ck_assert(leak_is_listen("select 1; listen x", 18));
	ck_assert(leak_is_listen("listen", 6));
	ck_assert(!leak_is_listen("select listen_addr", 18));
	ck_assert(!leak_is_listen("listener", 8));
	ck_assert(!leak_is_listen("UNLISTEN *", 10));
}
END_TEST

START_TEST(test_scrub_and_normalize)
{
	char out[128];
	leak_scrub_literals("SELECT * FROM t1 WHERE a = 'it''s' AND b = 42.5 AND c = 'unterminated",
			    out, sizeof(out));
	ck_assert_str_eq(out, "SELECT * FROM t1 WHERE a = ? AND b = ? AND c = ?");
	leak_normalize("UPDATE accounts SET balance = 10 WHERE id = 'abc'", out, sizeof(out));
	ck_assert_str_eq(out, "UPDATE accounts SET balance = $1 WHERE id = $2");
	leak_normalize("SELECT * FROM t WHERE x = 'trunc", out, sizeof(out));
	ck_assert_str_eq(out, "SELECT * FROM t WHERE x = ?");
	leak_scrub_literals("SELECT 1", out, 4);
	ck_assert_str_eq(out, "SEL");
}
END_TEST

static Suite *leak_suite(void)
{
	Suite *s = suite_create("leak");
	TCase *tc = tcase_create("rule");

	tcase_add_test(tc, test_idle_in_transaction_flagged);
	tcase_add_test(tc, test_failed_transaction_flagged);
	tcase_add_test(tc, test_running_query_not_flagged);
	tcase_add_test(tc, test_back_to_back_slow_queries);
	tcase_add_test(tc, test_transaction_mode_idle_not_flagged);
	tcase_add_test(tc, test_session_mode_idle_flagged);
	tcase_add_test(tc, test_listen_session_not_flagged);
	tcase_add_test(tc, test_threshold_off);
	tcase_add_test(tc, test_client_message_resets_quiet);
	tcase_add_test(tc, test_idle_time_accounting);
	suite_add_tcase(s, tc);
	tc = tcase_create("text");
	tcase_add_test(tc, test_statement_copy_bounded);
	tcase_add_test(tc, test_is_listen);
	tcase_add_test(tc, test_scrub_and_normalize);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(leak_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
