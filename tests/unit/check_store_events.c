/* Unit tests for store_events.c: leak, alert and pool events written in
 * one batch, a returned leak closing the right row, literals kept out of
 * the store, expiry by age. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "store_events.h"

static char dir[64];
static char path[128];

static void setup(void)
{
	snprintf(dir, sizeof(dir), "/tmp/check_store_events.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/store.db", dir);
}

static void teardown(void)
{
	char cmd[160];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	ck_assert_int_eq(system(cmd), 0);
}

static long long one(struct store *s, const char *sql)
{
	sqlite3_stmt *st;
	ck_assert_int_eq(sqlite3_prepare_v2(store_db(s), sql, -1, &st, NULL), SQLITE_OK);
	ck_assert_int_eq(sqlite3_step(st), SQLITE_ROW);
	long long n = sqlite3_column_type(st, 0) == SQLITE_NULL ? -1 : sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return n;
}

static struct event leak(enum event_kind kind, int64_t at, uint64_t server, uint32_t pid)
{
	struct event e;
	memset(&e, 0, sizeof(e));
	e.kind = kind;
	e.at_us = at;
	e.u.leak.server_id = server;
	e.u.leak.backend_pid = pid;
	e.u.leak.client_id = 7;
	e.u.leak.held_s = kind == EVENT_LEAK_SUSPECTED ? 61.5 : 90.25;
	snprintf(e.u.leak.database, sizeof(e.u.leak.database), "app");
	snprintf(e.u.leak.user, sizeof(e.u.leak.user), "web");
	snprintf(e.u.leak.state, sizeof(e.u.leak.state), "idle in transaction");
	snprintf(e.u.leak.statement, sizeof(e.u.leak.statement),
		 "UPDATE users SET password = 'hunter2' WHERE id = 42");
	return e;
}

START_TEST(test_batch_and_returned_leak)
{
	struct store *s = store_open(path, false, NULL, NULL);
	ck_assert_ptr_nonnull(s);
	struct event ev[6];
	ev[0] = leak(EVENT_LEAK_SUSPECTED, 1000, 3, 111);
	ev[1] = leak(EVENT_LEAK_SUSPECTED, 2000, 4, 222);
	memset(&ev[2], 0, sizeof(ev[2]));
	ev[2].kind = EVENT_ALERT;
	ev[2].at_us = 2500;
	ev[2].u.alert.firing = true;
	ev[2].u.alert.value = 100;
	ev[2].u.alert.threshold = 90;
	snprintf(ev[2].u.alert.alert, sizeof(ev[2].u.alert.alert), "pool_utilization");
	snprintf(ev[2].u.alert.detail, sizeof(ev[2].u.alert.detail), "C-7 holds S-3");
	memset(&ev[3], 0, sizeof(ev[3]));
	ev[3].kind = EVENT_POOL_SAMPLE;
	ev[3].at_us = 2600;
	ev[3].u.pool.sv_active = 5;
	ev[3].u.pool.cl_waiting = 2;
	ev[3].u.pool.maxwait_us = 1500000;
	/* S-4 comes back; S-3's is still held; a return without its
	 * suspected row (dropped from the queue) changes nothing */
	ev[4] = leak(EVENT_LEAK_RETURNED, 3000, 4, 222);
	ev[5] = leak(EVENT_LEAK_RETURNED, 3100, 9, 999);
	ck_assert_int_eq(store_events_write(s, ev, 6), 0);
	ck_assert_int_eq(one(s, "SELECT count(*) FROM leak_events"), 2);
	ck_assert_int_eq(one(s, "SELECT returned_at_us FROM leak_events WHERE server_id = 4"),
			 3000);
	ck_assert_int_eq(
		one(s, "SELECT returned_after_s * 100 FROM leak_events WHERE server_id = 4"), 9025);
	ck_assert_int_eq(one(s, "SELECT returned_at_us FROM leak_events WHERE server_id = 3"), -1);
	ck_assert_int_eq(one(s, "SELECT xact_start_us FROM leak_events WHERE server_id = 3"), -1);
	/* no literal reaches the store */
	ck_assert_int_eq(one(s, "SELECT count(*) FROM leak_events WHERE last_statement LIKE "
				"'%hunter2%' OR last_statement LIKE '%42%'"),
			 0);
	ck_assert_int_eq(one(s, "SELECT count(*) FROM leak_events WHERE last_statement = "
				"'UPDATE users SET password = $1 WHERE id = $2'"),
			 2);
	ck_assert_int_eq(one(s, "SELECT count(*) FROM alert_events WHERE alert = "
				"'pool_utilization' AND state = 'firing' AND value = 100 AND "
				"threshold = 90 AND detail = 'C-7 holds S-3'"),
			 1);
	ck_assert_int_eq(one(s, "SELECT maxwait_us FROM pool_samples WHERE sv_active = 5 AND "
				"cl_waiting = 2"),
			 1500000);

	/* a later checkout of the same server connection: only its own row */
	struct event again[2] = {leak(EVENT_LEAK_SUSPECTED, 4000, 4, 222),
				 leak(EVENT_LEAK_RETURNED, 5000, 4, 222)};
	ck_assert_int_eq(store_events_write(s, again, 2), 0);
	ck_assert_int_eq(one(s, "SELECT returned_at_us FROM leak_events WHERE at_us = 2000"), 3000);
	ck_assert_int_eq(one(s, "SELECT returned_at_us FROM leak_events WHERE at_us = 4000"), 5000);

	ck_assert_int_eq(store_events_leadership(s, "app", true), 0);
	ck_assert_int_eq(one(s, "SELECT leader FROM monitor_leadership WHERE dbname = 'app'"), 1);

	/* expiry by age: everything before 2550 goes */
	ck_assert_int_eq(store_events_expire(s, 2550, 1), 3);
	ck_assert_int_eq(one(s, "SELECT count(*) FROM leak_events"), 1);
	ck_assert_int_eq(one(s, "SELECT count(*) FROM alert_events"), 0);
	ck_assert_int_eq(one(s, "SELECT count(*) FROM pool_samples"), 1);
	ck_assert_int_eq(one(s, "SELECT count(*) FROM monitor_leadership"), 1);
	ck_assert_int_eq(store_events_write(s, NULL, 0), 0);
	store_close(s);
}
END_TEST

/* Schema 5: N+1 repeats (literals stripped), transactions by application
 * and checkout percentiles (NULL when no checkout ended). */
START_TEST(test_repeats_xacts_and_checkouts)
{
	struct store *s = store_open(path, false, NULL, NULL);
	ck_assert_ptr_nonnull(s);
	struct event ev[4];
	memset(ev, 0, sizeof(ev));
	ev[0].kind = EVENT_REPEAT;
	ev[0].at_us = 1000;
	ev[0].u.repeat.xact = true;
	ev[0].u.repeat.executions = 25;
	ev[0].u.repeat.total_us = 5000;
	ev[0].u.repeat.scope_us = 9000;
	snprintf(ev[0].u.repeat.database, sizeof(ev[0].u.repeat.database), "app");
	snprintf(ev[0].u.repeat.user, sizeof(ev[0].u.repeat.user), "web");
	snprintf(ev[0].u.repeat.addr, sizeof(ev[0].u.repeat.addr), "10.0.0.9");
	snprintf(ev[0].u.repeat.application_name, sizeof(ev[0].u.repeat.application_name),
		 "orders");
	snprintf(ev[0].u.repeat.statement, sizeof(ev[0].u.repeat.statement),
		 "SELECT * FROM users WHERE email = 'alice@example.com'");
	ev[1].kind = EVENT_XACT_SAMPLE;
	ev[1].at_us = 2000;
	ev[1].u.xact.xacts = 3;
	ev[1].u.xact.xact_us = 300;
	ev[1].u.xact.xact_max_us = 200;
	ev[1].u.xact.idle_us = 1600000;
	ev[1].u.xact.idle_max_us = 1500000;
	snprintf(ev[1].u.xact.application_name, sizeof(ev[1].u.xact.application_name), "orders");
	ev[2].kind = EVENT_POOL_SAMPLE;
	ev[2].at_us = 2000;
	ev[2].u.pool.checkouts = 0;
	ev[2].u.pool.checkout_p50_us = -1;
	ev[3].kind = EVENT_POOL_SAMPLE;
	ev[3].at_us = 3000;
	ev[3].u.pool.checkouts = 10;
	ev[3].u.pool.checkout_p50_us = 200000;
	ev[3].u.pool.checkout_p95_us = 900000;
	ev[3].u.pool.checkout_p99_us = 990000;
	ev[3].u.pool.checkout_max_us = 1000000;
	ck_assert_int_eq(store_events_write(s, ev, 4), 0);

	ck_assert_int_eq(one(s, "SELECT count(*) FROM repeat_events WHERE scope = 'transaction' "
				"AND executions = 25 AND total_us = 5000 AND scope_us = 9000 AND "
				"application_name = 'orders' AND client_addr = '10.0.0.9' AND "
				"database = 'app' AND username = 'web'"),
			 1);
	ck_assert_int_eq(one(s, "SELECT count(*) FROM repeat_events WHERE statement = "
				"'SELECT * FROM users WHERE email = $1'"),
			 1);
	ck_assert_int_eq(one(s, "SELECT count(*) FROM repeat_events WHERE statement LIKE "
				"'%alice%'"),
			 0);
	ck_assert_int_eq(one(s, "SELECT idle_max_us FROM xact_samples WHERE application_name = "
				"'orders' AND xacts = 3 AND xact_us = 300 AND xact_max_us = 200 "
				"AND idle_us = 1600000"),
			 1500000);
	ck_assert_int_eq(one(s, "SELECT checkouts FROM pool_samples WHERE at_us = 2000"), 0);
	/* -1: NULL */
	ck_assert_int_eq(one(s, "SELECT checkout_p50_us FROM pool_samples WHERE at_us = 2000"), -1);
	ck_assert_int_eq(one(s, "SELECT checkout_max_us FROM pool_samples WHERE at_us = 2000"), -1);
	ck_assert_int_eq(one(s, "SELECT checkout_p95_us FROM pool_samples WHERE at_us = 3000 "
				"AND checkouts = 10 AND checkout_p50_us = 200000 AND "
				"checkout_p99_us = 990000 AND checkout_max_us = 1000000"),
			 900000);
	store_close(s);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("store_events");
	TCase *tc = tcase_create("events");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_batch_and_returned_leak);
	tcase_add_test(tc, test_repeats_xacts_and_checkouts);
	suite_add_tcase(s, tc);
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
