/* Unit tests for store_locks.c: a lock sample with its backends and edges
 * written in one transaction, NULLs where values are absent, the pooler
 * identity only for pglifeguard servers, and retention by age. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "store.h"
#include "store_locks.h"

static char dir[64];
static char path[128];

static void setup(void)
{
	snprintf(dir, sizeof(dir), "/tmp/check_store_locks.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/store.db", dir);
}

static void teardown(void)
{
	char cmd[160];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	ck_assert_int_eq(system(cmd), 0);
}

static long long count(struct store *s, const char *sql)
{
	sqlite3_stmt *st;
	ck_assert_int_eq(sqlite3_prepare_v2(store_db(s), sql, -1, &st, NULL), SQLITE_OK);
	ck_assert_int_eq(sqlite3_step(st), SQLITE_ROW);
	long long n = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return n;
}

static void write_chain(struct store *s, struct store_locks *sl, int64_t at)
{
	ck_assert_int_eq(store_begin(s), 0);
	int64_t id = store_locks_add_sample(sl, "lgtest", at, 1);
	ck_assert_int_ge(id, 1);
	struct store_lock_backend root = {.pid = 100,
					  .root_pid = 100,
					  .datname = "lgtest",
					  .usename = "app",
					  .state = "idle in transaction",
					  .query = "UPDATE t SET v = 1",
					  .has_client_port = true,
					  .client_port = -1,
					  .xact_start_us = at - 5000000,
					  .pooler_server_id = 7,
					  .pooler_client_id = 3,
					  .pooler_client_addr = "10.0.0.5",
					  .pooler_client_port = 40000,
					  .pooler_user = "app",
					  .pooler_database = "lgtest",
					  .pooler_application_name = "web"};
	struct store_lock_backend waiter = {.pid = 200,
					    .waiting = true,
					    .root_pid = 100,
					    .query = "UPDATE t SET v = 2",
					    .wait_start_us = at - 1000000,
					    .locktype = "transactionid",
					    .mode = "ShareLock",
					    .pooler_server_id =
						    8}; /* a pglifeguard server without a client */
	ck_assert_int_eq(store_locks_add_backend(sl, id, &root), 0);
	ck_assert_int_eq(store_locks_add_backend(sl, id, &waiter), 0);
	ck_assert_int_eq(store_locks_add_edge(sl, id, 200, 100), 0);
	ck_assert_int_eq(store_locks_add_edge(sl, id, 200, 100), 0); /* ignored */
	ck_assert_int_eq(store_commit(s), 0);
}

START_TEST(test_write_and_read_back)
{
	struct store *s = store_open(path, false, NULL, NULL);
	ck_assert_ptr_nonnull(s);
	struct store_locks *sl = store_locks_new(s);
	ck_assert_ptr_nonnull(sl);
	write_chain(s, sl, 10000000);
	ck_assert_int_eq(count(s, "SELECT count(*) FROM lock_samples WHERE waiters = 1"), 1);
	ck_assert_int_eq(count(s, "SELECT count(*) FROM lock_edges"), 1);
	ck_assert_int_eq(count(s, "SELECT client_port FROM lock_backends WHERE pid = 100"), -1);
	ck_assert_int_eq(count(s, "SELECT pooler_client_port FROM lock_backends WHERE pid = 100"),
			 40000);
	ck_assert_int_eq(count(s,
			       "SELECT count(*) FROM lock_backends WHERE pid = 100"
			       " AND pooler_application_name = 'web' AND pooler_client_id = 3"
			       " AND wait_start_us IS NULL AND locktype IS NULL AND NOT waiting"),
			 1);
	ck_assert_int_eq(count(s, "SELECT count(*) FROM lock_backends WHERE pid = 200"
				  " AND waiting AND root_pid = 100 AND mode = 'ShareLock'"
				  " AND client_port IS NULL AND pooler_client_id IS NULL"
				  " AND pooler_client_addr IS NULL AND pooler_server_id = 8"),
			 1);
	store_locks_free(sl);
	store_close(s);
}
END_TEST

START_TEST(test_expire)
{
	struct store *s = store_open(path, false, NULL, NULL);
	ck_assert_ptr_nonnull(s);
	struct store_locks *sl = store_locks_new(s);
	ck_assert_ptr_nonnull(sl);
	for (int i = 1; i <= 5; i++)
		write_chain(s, sl, i * 10000000LL);
	/* batches of 2: all three older samples go, with their rows */
	ck_assert_int_eq(store_locks_expire(s, 35000000, 2), 3);
	ck_assert_int_eq(count(s, "SELECT count(*) FROM lock_samples"), 2);
	ck_assert_int_eq(count(s, "SELECT min(at_us) FROM lock_samples"), 40000000);
	ck_assert_int_eq(count(s, "SELECT count(*) FROM lock_backends"), 4);
	ck_assert_int_eq(count(s, "SELECT count(*) FROM lock_edges"), 2);
	ck_assert_int_eq(store_locks_expire(s, 35000000, 2), 0);
	store_locks_free(sl);
	store_close(s);
}
END_TEST

static Suite *store_locks_suite(void)
{
	Suite *s = suite_create("store_locks");
	TCase *tc = tcase_create("store_locks");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_write_and_read_back);
	tcase_add_test(tc, test_expire);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(store_locks_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
