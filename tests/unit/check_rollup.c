/* Unit tests for rollup.c: sums, means, minima and maxima of rolled-up
 * statement, table and index samples equal those of the raw intervals they
 * replace; buckets per database; the cutoff rounded to a bucket; no window
 * counts a sample twice; batches; retention of rolled-up intervals. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "rollup.h"
#include "store.h"

#define SEC 1000000LL
#define HOUR (3600 * SEC)
#define T0 (100 * HOUR) /* a bucket boundary */

static char dir[64];
static char path[128];
static struct store *s;

static void setup(void)
{
	snprintf(dir, sizeof(dir), "/tmp/check_rollup.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/store.db", dir);
	char *err = NULL;
	s = store_open(path, false, &err, NULL);
	ck_assert_msg(s != NULL, "%s", err ? err : "?");
}

static void teardown(void)
{
	store_close(s);
	char cmd[160];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	ck_assert_int_eq(system(cmd), 0);
}

static double num(const char *sql)
{
	sqlite3_stmt *st;
	ck_assert_msg(sqlite3_prepare_v2(store_db(s), sql, -1, &st, NULL) == SQLITE_OK, "%s: %s",
		      sql, sqlite3_errmsg(store_db(s)));
	ck_assert_int_eq(sqlite3_step(st), SQLITE_ROW);
	double v = sqlite3_column_double(st, 0);
	sqlite3_finalize(st);
	return v;
}

static void exec(const char *sql)
{
	ck_assert_msg(sqlite3_exec(store_db(s), sql, NULL, NULL, NULL) == SQLITE_OK, "%s: %s", sql,
		      sqlite3_errmsg(store_db(s)));
}

/* fill writes N 10-second intervals of DB from START: statement key 1
 * in each (calls 1..3), key 2 in every other one, a table and an index
 * sample in each; interval LOST (if >= 0) is marked lost_data. */
static void fill(const char *db, long long start, int n, int lost)
{
	for (int i = 0; i < n; i++) {
		ck_assert_int_eq(store_begin(s), 0);
		long long b = start + i * 10 * SEC;
		int64_t id = store_add_interval(s, db, b, b + 10 * SEC, i == lost, NULL);
		ck_assert_int_ge(id, 1);
		struct store_sample x = {.queryid = 1, .userid = 10, .dbid = 5};
		x.calls = i % 3 + 1;
		x.total_exec_time = 2.0 * (double)x.calls + 0.25;
		x.min_exec_time = 5.0 - i * 0.001;
		x.max_exec_time = 1.0 + i * 0.01;
		x.stddev_exec_time = 0.5;
		x.rows = 7 * x.calls;
		x.shared_blks_hit = 100;
		x.wal_bytes = 1000 + i;
		ck_assert_int_eq(store_add_sample(s, id, &x), 0);
		if (i % 2 == 0) {
			x.queryid = 2;
			x.calls = 1;
			x.total_exec_time = 1.0;
			ck_assert_int_eq(store_add_sample(s, id, &x), 0);
		}
		char sql[512];
		snprintf(sql, sizeof(sql),
			 "INSERT INTO table_samples VALUES (%lld, 16384, 1, 1000, 2, 3, 4, 5, 6, 7,"
			 " 0, %d, 0, 0, %d, 10, 8192, 16384, 8192, NULL, %lld, NULL, NULL);"
			 "INSERT INTO index_samples VALUES (%lld, 16390, %d, 2, 2, %d)",
			 (long long)id, i == 5, 1000 + i, b, (long long)id, i % 2, 8192 + i);
		exec(sql);
		ck_assert_int_eq(store_commit(s), 0);
	}
}

static const char *const sums[] = {
	"SELECT sum(calls) FROM statement_samples",
	"SELECT sum(total_exec_time) FROM statement_samples",
	"SELECT sum(rows) FROM statement_samples",
	"SELECT sum(shared_blks_hit) FROM statement_samples",
	"SELECT sum(wal_bytes) FROM statement_samples",
	"SELECT count(DISTINCT queryid) FROM statement_samples",
	"SELECT sum(seq_scan) + sum(seq_tup_read) + sum(n_tup_ins) + sum(autovacuum_count) "
	"FROM table_samples",
	"SELECT sum(idx_scan) + sum(idx_tup_read) FROM index_samples",
	"SELECT sum(lost_data) > 0 FROM sample_intervals",
	"SELECT min(min_exec_time) FROM statement_samples",
	"SELECT max(max_exec_time) FROM statement_samples",
	"SELECT max(n_live_tup) FROM table_samples",
	"SELECT max(last_autovacuum_us) FROM table_samples",
	"SELECT max(size) FROM index_samples",
	"SELECT min(start_us) FROM sample_intervals",
	"SELECT max(end_us) FROM sample_intervals",
};
#define NSUMS (sizeof(sums) / sizeof(sums[0]))

START_TEST(test_rollup_preserves_sums)
{
	fill("a", T0, 720, 100); /* two hours */
	fill("b", T0, 360, -1); /* one hour */
	double before[NSUMS];
	for (size_t i = 0; i < NSUMS; i++)
		before[i] = num(sums[i]);
	ck_assert_int_eq((int)num("SELECT count(*) FROM sample_intervals"), 1080);
	/* the cutoff is rounded down to T0 + 2h: every interval ended by then */
	ck_assert_int_eq(rollup_run(s, T0 + 2 * HOUR + 5 * SEC, HOUR, 1000, 100), 1080);
	for (size_t i = 0; i < NSUMS; i++)
		ck_assert_msg(num(sums[i]) == before[i], "%s: %f before, %f after", sums[i],
			      before[i], num(sums[i]));
	ck_assert_int_eq((int)num("SELECT count(*) FROM sample_intervals"), 3);
	ck_assert_int_eq((int)num("SELECT count(*) FROM sample_intervals WHERE rollup = 1"), 3);
	ck_assert_int_eq((int)num("SELECT count(*) FROM sample_intervals WHERE dbname = 'a' AND "
				  "lost_data = 1"),
			 1);
	/* per bucket: one row per key, mean recomputed from the sums */
	ck_assert_int_eq((int)num("SELECT count(*) FROM statement_samples"), 6);
	ck_assert_int_eq((int)num("SELECT count(*) FROM table_samples"), 3);
	ck_assert_int_eq((int)num("SELECT count(*) FROM index_samples"), 3);
	ck_assert_int_eq((int)num("SELECT count(*) FROM statement_samples WHERE "
				  "abs(mean_exec_time - total_exec_time / calls) > 1e-9"),
			 0);
	/* hour 1 of a: 360 intervals, calls 1,2,3 repeating = 720 calls */
	ck_assert_int_eq((int)num("SELECT s.calls FROM statement_samples s JOIN sample_intervals "
				  "i ON i.id = s.interval_id WHERE i.dbname = 'a' AND "
				  "s.queryid = 1 ORDER BY i.start_us LIMIT 1"),
			 720);
	ck_assert_int_eq((int)num("SELECT min(start_us) = 360000000000 AND "
				  "max(end_us) = 360000000000 + 3600000000 FROM sample_intervals "
				  "WHERE dbname = 'b'"),
			 1);
	/* nothing left to do */
	ck_assert_int_eq(rollup_run(s, T0 + 2 * HOUR + 5 * SEC, HOUR, 1000, 100), 0);
}
END_TEST

START_TEST(test_cutoff_and_windows)
{
	fill("a", T0, 720, -1);
	double calls = num("SELECT sum(calls) FROM statement_samples");
	/* T0 + 1h30 rounds down to T0 + 1h: only the first hour is rolled up */
	ck_assert_int_eq(rollup_run(s, T0 + HOUR + 30 * 60 * SEC, HOUR, 1000, 100), 360);
	ck_assert_int_eq((int)num("SELECT count(*) FROM sample_intervals WHERE rollup = 0"), 360);
	ck_assert_int_eq((int)num("SELECT count(*) FROM sample_intervals WHERE rollup = 0 "
				  "AND start_us < 360000000000 + 3600000000"),
			 0);
	/* any window, as top reads it (end_us >= from), sums without double counting */
	const char *window = "SELECT sum(s.calls) FROM statement_samples s JOIN "
			     "sample_intervals i ON i.id = s.interval_id WHERE i.end_us >= %lld";
	char sql[256];
	snprintf(sql, sizeof(sql), window, (long long)T0);
	ck_assert(num(sql) == calls);
	/* intervals of one database never overlap */
	ck_assert_int_eq((int)num("SELECT count(*) FROM sample_intervals x JOIN sample_intervals "
				  "y ON x.dbname = y.dbname AND x.id <> y.id AND "
				  "x.start_us < y.end_us AND y.start_us < x.end_us"),
			 0);
	/* the second hour, later */
	ck_assert_int_eq(rollup_run(s, T0 + 3 * HOUR, HOUR, 1000, 100), 360);
	ck_assert(num(sql) == calls);
	ck_assert_int_eq((int)num("SELECT count(*) FROM sample_intervals"), 2);
}
END_TEST

START_TEST(test_small_batches_merge)
{
	fill("a", T0, 720, 300);
	fill("b", T0, 100, -1);
	double before[NSUMS];
	for (size_t i = 0; i < NSUMS; i++)
		before[i] = num(sums[i]);
	/* 7 intervals per transaction, 5 transactions: 35 */
	ck_assert_int_eq(rollup_run(s, T0 + 2 * HOUR, HOUR, 7, 5), 35);
	/* oldest first across databases: a and b take turns, each has its rollup */
	ck_assert_int_eq((int)num("SELECT count(*) FROM sample_intervals WHERE rollup = 1"), 2);
	ck_assert_int_eq((int)num("SELECT count(*) FROM sample_intervals x JOIN sample_intervals "
				  "y ON x.dbname = y.dbname AND x.id <> y.id AND "
				  "x.start_us < y.end_us AND y.start_us < x.end_us"),
			 0);
	for (size_t i = 0; i < NSUMS; i++)
		ck_assert_msg(num(sums[i]) == before[i], "%s: %f before, %f after", sums[i],
			      before[i], num(sums[i]));
	/* the rest, in batches of 7: same rows as one big batch would give */
	ck_assert_int_eq(rollup_run(s, T0 + 2 * HOUR, HOUR, 7, 10000), 820 - 35);
	for (size_t i = 0; i < NSUMS; i++)
		ck_assert_msg(num(sums[i]) == before[i], "%s: %f before, %f after", sums[i],
			      before[i], num(sums[i]));
	ck_assert_int_eq((int)num("SELECT count(*) FROM sample_intervals"), 3);
	ck_assert_int_eq((int)num("SELECT count(*) FROM statement_samples"), 6);
	ck_assert_int_eq((int)num("SELECT count(*) FROM statement_samples WHERE "
				  "abs(mean_exec_time - total_exec_time / calls) > 1e-9"),
			 0);
	ck_assert_int_eq((int)num("SELECT lost_data FROM sample_intervals WHERE dbname = 'a' "
				  "ORDER BY start_us LIMIT 1"),
			 1);
	ck_assert_int_eq(
		(int)num("SELECT min(start_us) = 360000000000 AND max(end_us) = "
			 "360000000000 + 7200000000 FROM sample_intervals WHERE dbname = 'a'"),
		1);
}
END_TEST

START_TEST(test_batches_and_expiry)
{
	fill("a", T0, 720, -1);
	ck_assert_int_eq(rollup_run(s, T0 + 2 * HOUR, HOUR, 1000, 1), 360);
	ck_assert_int_eq(rollup_run(s, T0 + 2 * HOUR, HOUR, 1000, 1), 360);
	ck_assert_int_eq(rollup_run(s, T0 + 2 * HOUR, HOUR, 1000, 1), 0);
	ck_assert_int_eq(rollup_run(s, T0 + 2 * HOUR, 0, 1000, 1), 0);
	/* retention removes rolled-up intervals with all their samples */
	ck_assert_int_eq(store_expire(s, T0 + HOUR + SEC, 10), 1);
	ck_assert_int_eq((int)num("SELECT count(*) FROM sample_intervals"), 1);
	ck_assert_int_eq((int)num("SELECT count(*) FROM table_samples WHERE interval_id NOT IN "
				  "(SELECT id FROM sample_intervals)"),
			 0);
	ck_assert_int_eq((int)num("SELECT count(*) FROM index_samples WHERE interval_id NOT IN "
				  "(SELECT id FROM sample_intervals)"),
			 0);
	ck_assert_int_eq((int)num("SELECT count(*) FROM statement_samples WHERE interval_id NOT "
				  "IN (SELECT id FROM sample_intervals)"),
			 0);
	ck_assert_int_eq(store_expire(s, T0 + 3 * HOUR, 10), 1);
	ck_assert_int_eq((int)num("SELECT count(*) FROM statement_samples"), 0);
	ck_assert_int_eq((int)num("SELECT count(*) FROM table_samples"), 0);
}
END_TEST

int main(void)
{
	Suite *suite = suite_create("rollup");
	TCase *tc = tcase_create("rollup");
	tcase_set_timeout(tc, 60);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_rollup_preserves_sums);
	tcase_add_test(tc, test_cutoff_and_windows);
	tcase_add_test(tc, test_small_batches_merge);
	tcase_add_test(tc, test_batches_and_expiry);
	suite_add_tcase(suite, tc);
	SRunner *sr = srunner_create(suite);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
