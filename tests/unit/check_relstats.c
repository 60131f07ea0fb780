/* Unit tests for relstats.c: the delta rules for table and index counters
 * (differences, a counter that went backwards is a reset, gauges and times
 * taken as they are), which deltas are worth a sample row, and the expiry
 * of relations not seen since the retention cutoff. */
#include <check.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "relstats.h"

static struct relstats_row row(int64_t base)
{
	struct relstats_row r = {
		.kind = 't', .relid = 16384, .schemaname = "public", .relname = "t"};
	r.seq_scan = base + 1;
	r.seq_tup_read = base * 1000 + 2;
	r.idx_scan = base + 3;
	r.idx_tup_read = base + 4;
	r.idx_tup_fetch = base + 5;
	r.n_tup_ins = base + 6;
	r.n_tup_upd = base + 7;
	r.n_tup_del = base + 8;
	r.n_tup_hot_upd = base + 9;
	r.vacuum_count = base;
	r.autovacuum_count = base;
	r.analyze_count = base;
	r.autoanalyze_count = base;
	r.n_live_tup = 500 - base;
	r.n_dead_tup = 40 + base;
	r.relation_size = 8192 * (base + 1);
	r.total_size = 16384 * (base + 1);
	r.indexes_size = 8192;
	r.last_autovacuum_us = 1700000000000000LL + base;
	return r;
}

START_TEST(test_delta_subtracts_counters)
{
	struct relstats_row p = row(10), c = row(25), d;
	ck_assert(relstats_delta(&d, &c, &p));
	ck_assert_int_eq(d.seq_scan, 15);
	ck_assert_int_eq(d.seq_tup_read, 15000);
	ck_assert_int_eq(d.idx_scan, 15);
	ck_assert_int_eq(d.idx_tup_read, 15);
	ck_assert_int_eq(d.idx_tup_fetch, 15);
	ck_assert_int_eq(d.n_tup_ins, 15);
	ck_assert_int_eq(d.n_tup_upd, 15);
	ck_assert_int_eq(d.n_tup_del, 15);
	ck_assert_int_eq(d.n_tup_hot_upd, 15);
	ck_assert_int_eq(d.autovacuum_count, 15);
	/* gauges and times are the current values, even when they shrink */
	ck_assert_int_eq(d.n_live_tup, 475);
	ck_assert_int_eq(d.n_dead_tup, 65);
	ck_assert_int_eq(d.relation_size, 8192 * 26);
	ck_assert_int_eq(d.total_size, 16384 * 26);
	ck_assert_int_eq(d.last_autovacuum_us, 1700000000000025LL);
	ck_assert_int_eq(d.relid, 16384);
	ck_assert(relstats_active(&d));
}
END_TEST

START_TEST(test_backwards_counter_is_reset)
{
	static const size_t offsets[] = {
		offsetof(struct relstats_row, seq_scan),
		offsetof(struct relstats_row, seq_tup_read),
		offsetof(struct relstats_row, idx_scan),
		offsetof(struct relstats_row, idx_tup_read),
		offsetof(struct relstats_row, idx_tup_fetch),
		offsetof(struct relstats_row, n_tup_ins),
		offsetof(struct relstats_row, n_tup_upd),
		offsetof(struct relstats_row, n_tup_del),
		offsetof(struct relstats_row, n_tup_hot_upd),
		offsetof(struct relstats_row, vacuum_count),
		offsetof(struct relstats_row, autovacuum_count),
		offsetof(struct relstats_row, analyze_count),
		offsetof(struct relstats_row, autoanalyze_count),
	};
	for (size_t i = 0; i < sizeof(offsets) / sizeof(offsets[0]); i++) {
		struct relstats_row p = row(10), c = row(10), d;
		*(int64_t *)((char *)&c + offsets[i]) -= 1;
		ck_assert_msg(!relstats_delta(&d, &c, &p), "counter %zu", i);
	}
	/* pg_stat_reset(): everything back to zero */
	struct relstats_row p = row(10), c = {.kind = 't', .relid = 16384}, d;
	ck_assert(!relstats_delta(&d, &c, &p));
	/* a shrinking gauge is no reset */
	p = row(10);
	c = row(10);
	c.n_live_tup = 0;
	c.relation_size = 0;
	ck_assert(relstats_delta(&d, &c, &p));
	ck_assert_int_eq(d.n_live_tup, 0);
}
END_TEST

START_TEST(test_idle_delta_not_active)
{
	struct relstats_row p = row(10), c = row(10), d;
	c.n_dead_tup = 999; /* gauges alone do not make a row */
	ck_assert(relstats_delta(&d, &c, &p));
	ck_assert(!relstats_active(&d));
	ck_assert_int_eq(d.seq_scan, 0);
	c.n_tup_hot_upd++;
	ck_assert(relstats_delta(&d, &c, &p));
	ck_assert(relstats_active(&d));
	c = row(10);
	c.autoanalyze_count++;
	ck_assert(relstats_delta(&d, &c, &p));
	ck_assert(relstats_active(&d));
}
END_TEST

START_TEST(test_expire_relations)
{
	char dir[64], path[128], cmd[160];
	snprintf(dir, sizeof(dir), "/tmp/check_relstats.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/store.db", dir);
	struct store *s = store_open(path, false, NULL, NULL);
	ck_assert_ptr_nonnull(s);
	sqlite3 *db = store_db(s);
	ck_assert_int_eq(
		sqlite3_exec(db,
			     "INSERT INTO relations (dbname, relid, kind, schemaname, relname,"
			     " first_seen_us, last_seen_us) VALUES"
			     " ('a', 1, 't', 'public', 'old', 10, 100),"
			     " ('a', 2, 't', 'public', 'new', 10, 300),"
			     " ('b', 1, 'i', 'public', 'old_idx', 10, 199)",
			     NULL, NULL, NULL),
		SQLITE_OK);
	ck_assert_int_eq(relstats_expire(s, 200), 2);
	sqlite3_stmt *st;
	ck_assert_int_eq(sqlite3_prepare_v2(db, "SELECT group_concat(relname) FROM relations", -1,
					    &st, NULL),
			 SQLITE_OK);
	ck_assert_int_eq(sqlite3_step(st), SQLITE_ROW);
	ck_assert_str_eq((const char *)sqlite3_column_text(st, 0), "new");
	sqlite3_finalize(st);
	ck_assert_int_eq(relstats_expire(s, 200), 0);
	store_close(s);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	ck_assert_int_eq(system(cmd), 0);
}
END_TEST

int main(void)
{
	Suite *suite = suite_create("relstats");
	TCase *tc = tcase_create("relstats");
	tcase_add_test(tc, test_delta_subtracts_counters);
	tcase_add_test(tc, test_backwards_counter_is_reset);
	tcase_add_test(tc, test_idle_delta_not_active);
	tcase_add_test(tc, test_expire_relations);
	suite_add_tcase(suite, tc);
	SRunner *sr = srunner_create(suite);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
