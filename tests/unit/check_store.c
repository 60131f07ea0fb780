/* Unit tests for store.c: creating a store in a temp directory, writing an
 * interval, reopening it read-only, retention, and the errors for missing
 * and foreign files. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "store.h"

static char dir[64];
static char path[128];

static void setup(void)
{
	snprintf(dir, sizeof(dir), "/tmp/check_store.XXXXXX");
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

static void write_interval(struct store *s, int64_t start, int64_t end, int64_t calls)
{
	ck_assert_int_eq(store_begin(s), 0);
	int64_t id = store_add_interval(s, "lgtest", start, end, false, "2026-01-01");
	ck_assert_int_ge(id, 1);
	struct store_sample x = { .queryid = -42, .userid = 10, .dbid = 5, .calls = calls,
				  .total_exec_time = 2.5, .rows = 7, .shared_blks_hit = 3 };
	ck_assert_int_eq(store_add_sample(s, id, &x), 0);
	if (!store_has_statement(s, -42, 10, 5))
		ck_assert_int_eq(store_add_statement(s, -42, 10, 5, "SELECT $1", end), 0);
	ck_assert_int_eq(store_commit(s), 0);
}

START_TEST(test_create_write_reopen)
{
	enum store_error code;
	char *err = NULL;
	struct store *s = store_open(path, false, &err, &code);
	ck_assert_msg(s != NULL, "%s", err ? err : "?");
	ck_assert_int_eq(count(s, "SELECT version FROM schema_version"), STORE_SCHEMA_VERSION);
	write_interval(s, 1000, 2000, 4);
	write_interval(s, 2000, 3000, 6);
	ck_assert(store_has_statement(s, -42, 10, 5));
	ck_assert(!store_has_statement(s, -42, 11, 5));

	/* a reader while the writer is open (WAL) */
	struct store *r = store_open(path, true, &err, &code);
	ck_assert_msg(r != NULL, "%s", err ? err : "?");
	ck_assert_int_eq(count(r, "SELECT sum(calls) FROM statement_samples"), 10);
	ck_assert_int_eq(count(r, "SELECT count(*) FROM statements"), 1);
	ck_assert_int_eq(count(r, "SELECT count(*) FROM pragma_journal_mode WHERE "
				  "journal_mode = 'wal'"),
			 1);
	store_close(r);
	store_close(s);

	/* reopening read-write keeps the data and the version */
	s = store_open(path, false, &err, &code);
	ck_assert_ptr_nonnull(s);
	ck_assert_int_eq(count(s, "SELECT count(*) FROM sample_intervals"), 2);
	store_close(s);
}
END_TEST

START_TEST(test_retention)
{
	struct store *s = store_open(path, false, NULL, NULL);
	ck_assert_ptr_nonnull(s);
	for (int i = 0; i < 25; i++)
		write_interval(s, i * 10, i * 10 + 10, 1);
	/* intervals ending before 105: the first ten; batches of 3 */
	ck_assert_int_eq(store_expire(s, 105, 3), 10);
	ck_assert_int_eq(count(s, "SELECT count(*) FROM sample_intervals"), 15);
	ck_assert_int_eq(count(s, "SELECT count(*) FROM statement_samples"), 15);
	ck_assert_int_eq(count(s, "SELECT min(end_us) FROM sample_intervals"), 110);
	ck_assert_int_eq(store_expire(s, 105, 3), 0);
	store_close(s);
}
END_TEST

START_TEST(test_missing_and_foreign)
{
	enum store_error code;
	char *err = NULL;
	ck_assert_ptr_null(store_open(path, true, &err, &code));
	ck_assert_int_eq(code, STORE_MISSING);
	ck_assert_ptr_nonnull(strstr(err, "does not exist"));
	free(err);
	/* a read-only open never creates the file */
	ck_assert_int_ne(access(path, F_OK), 0);

	FILE *f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	fputs("this is not a database, just some text that is long enough to matter\n", f);
	for (int i = 0; i < 100; i++)
		fputs("0123456789abcdef0123456789abcdef0123456789abcdef\n", f);
	fclose(f);
	ck_assert_ptr_null(store_open(path, true, &err, &code));
	ck_assert_int_eq(code, STORE_FOREIGN);
	ck_assert_ptr_nonnull(strstr(err, "not a pglifeguard store"));
	free(err);
	ck_assert_ptr_null(store_open(path, false, &err, &code));
	ck_assert_int_eq(code, STORE_FOREIGN);
	free(err);

	/* SQLite, but someone else's */
	unlink(path);
	sqlite3 *db;
	ck_assert_int_eq(sqlite3_open(path, &db), SQLITE_OK);
	ck_assert_int_eq(sqlite3_exec(db, "CREATE TABLE t (x)", NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
	ck_assert_ptr_null(store_open(path, true, &err, &code));
	ck_assert_int_eq(code, STORE_FOREIGN);
	free(err);
	ck_assert_ptr_null(store_open(path, false, &err, &code));
	ck_assert_int_eq(code, STORE_FOREIGN);
	free(err);
}
END_TEST

static Suite *store_suite(void)
{
	Suite *s = suite_create("store");
	TCase *tc = tcase_create("store");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_create_write_reopen);
	tcase_add_test(tc, test_retention);
	tcase_add_test(tc, test_missing_and_foreign);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(store_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
