/* Unit tests for advisor/qshape.c and advisor/findings.c: LIMIT detection,
 * functions and casts over columns through aliases, CTEs, subqueries and
 * sublinks; each rule's threshold on both sides; the pooler-side rules on
 * a real store without a database; pglifeguard's own statements. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "advisor/findings.h"
#include "advisor/findings_internal.h"
#include "advisor/qshape.h"
#include "ownstmt.h"
#include "store.h"

static struct qshape *parse(const char *sql)
{
	char *err = NULL;
	struct qshape *q = qshape_parse(sql, &err);
	ck_assert_msg(q != NULL, "%s: %s", sql, err ? err : "");
	return q;
}

static void check_limit(const char *sql, enum qshape_kind kind, bool limit)
{
	struct qshape *q = parse(sql);
	ck_assert_msg(q->kind == kind, "%s: kind %d", sql, (int)q->kind);
	ck_assert_msg(q->has_limit == limit, "%s: has_limit %d", sql, q->has_limit);
	qshape_free(q);
}

START_TEST(test_limit)
{
	check_limit("SELECT * FROM t", QSHAPE_SELECT, false);
	check_limit("SELECT * FROM t ORDER BY a LIMIT $1", QSHAPE_SELECT, true);
	check_limit("SELECT * FROM t LIMIT $1 OFFSET $2", QSHAPE_SELECT, true);
	check_limit("SELECT * FROM t FETCH FIRST 5 ROWS ONLY", QSHAPE_SELECT, true);
	check_limit("SELECT * FROM t LIMIT ALL", QSHAPE_SELECT, false);
	/* a LIMIT inside does not bound the result */
	check_limit("WITH x AS (SELECT * FROM t LIMIT 5) SELECT * FROM x, u", QSHAPE_SELECT, false);
	check_limit("SELECT * FROM (SELECT * FROM t LIMIT 5) s JOIN u ON u.id = s.id",
		    QSHAPE_SELECT, false);
	check_limit("SELECT * FROM t WHERE id IN (SELECT id FROM u LIMIT 3)", QSHAPE_SELECT, false);
	/* one outside does, CTE or set operation around it */
	check_limit("WITH x AS (SELECT * FROM t) SELECT * FROM x LIMIT 10", QSHAPE_SELECT, true);
	check_limit("SELECT a FROM t UNION ALL SELECT a FROM u LIMIT 10", QSHAPE_SELECT, true);
	check_limit("(SELECT a FROM t LIMIT 1) UNION (SELECT a FROM u)", QSHAPE_SELECT, false);
	check_limit("VALUES ($1), ($2)", QSHAPE_SELECT, false);
	check_limit("SELECT * INTO t2 FROM t", QSHAPE_OTHER, false);
	check_limit("UPDATE t SET a = $1 WHERE b > $2", QSHAPE_UPDATE, false);
	check_limit("DELETE FROM t WHERE b > $1", QSHAPE_DELETE, false);
	check_limit("INSERT INTO t SELECT * FROM u LIMIT 5", QSHAPE_INSERT, false);
	check_limit("VACUUM t", QSHAPE_OTHER, false);
	char *err = NULL;
	ck_assert_ptr_null(qshape_parse("SELECT FROM WHERE", &err));
	ck_assert_ptr_nonnull(err);
	free(err);
}
END_TEST

/* wraps writes each wrap as "expr@schema.table|table2" joined by "; " */
static void wraps(const char *sql, const char *expected)
{
	struct qshape *q = parse(sql);
	char buf[1024] = "";
	for (size_t i = 0; i < q->nwraps; i++) {
		const struct qshape_wrap *w = &q->wraps[i];
		size_t len = strlen(buf);
		snprintf(buf + len, sizeof(buf) - len, "%s%s[%s%s:%s]@", i ? "; " : "", w->expr,
			 w->cast ? "cast " : "", w->func, w->column);
		for (size_t t = 0; t < w->ntables; t++) {
			len = strlen(buf);
			snprintf(buf + len, sizeof(buf) - len, "%s%s%s%s", t ? "|" : "",
				 w->tables[t].schema ? w->tables[t].schema : "",
				 w->tables[t].schema ? "." : "", w->tables[t].name);
		}
	}
	ck_assert_msg(!strcmp(buf, expected), "%s:\n got      %s\n expected %s", sql, buf,
		      expected);
	qshape_free(q);
}

START_TEST(test_wrapped_columns)
{
	wraps("SELECT id FROM users WHERE lower(email) = $1", "lower(email)[lower:email]@users");
	wraps("SELECT id FROM users WHERE lower(email) = lower($1)",
	      "lower(email)[lower:email]@users");
	/* the function on the parameter side leaves the column alone */
	wraps("SELECT id FROM users WHERE email = lower($1)", "");
	wraps("SELECT * FROM ev WHERE created_at::date = $1",
	      "created_at::date[cast date:created_at]@ev");
	wraps("SELECT * FROM ev WHERE CAST(created_at AS date) = $1",
	      "created_at::date[cast date:created_at]@ev");
	wraps("SELECT * FROM ev WHERE created_at >= $1::timestamp AND created_at < $2::timestamp",
	      "");
	wraps("SELECT * FROM ev WHERE date_trunc($1, ts) = $2",
	      "date_trunc($1, ts)[date_trunc:ts]@ev");
	wraps("SELECT * FROM app.users WHERE upper(name) LIKE $1",
	      "upper(name)[upper:name]@app.users");
	/* in the select list or ORDER BY it does not keep an index from the WHERE */
	wraps("SELECT lower(email) FROM users WHERE id = $1 ORDER BY lower(name)", "");
	/* aliases and joins */
	wraps("SELECT * FROM users u JOIN orders o ON date(o.created_at) = $1 WHERE u.id = "
	      "o.user_id",
	      "date(o.created_at)[date:created_at]@orders");
	wraps("SELECT * FROM users u, orders o WHERE u.id = o.user_id AND lower(note) = $1",
	      "lower(note)[lower:note]@users|orders");
	wraps("SELECT * FROM public.users WHERE lower(public.users.email) = $1",
	      "lower(public.users.email)[lower:email]@public.users");
	wraps("UPDATE users SET seen = now() WHERE lower(email) = $1",
	      "lower(email)[lower:email]@users");
	wraps("DELETE FROM users u USING orders o WHERE o.user_id = u.id AND date(o.created_at) < "
	      "$1",
	      "date(o.created_at)[date:created_at]@orders");
}
END_TEST

START_TEST(test_ctes_and_subqueries)
{
	/* a CTE's column is not a table's; the CTE's own WHERE is walked */
	wraps("WITH r AS (SELECT * FROM users WHERE lower(email) = $1) "
	      "SELECT * FROM r WHERE lower(r.name) = $2 AND upper(name) = $3",
	      "lower(email)[lower:email]@users");
	/* a table named like a CTE, qualified by its schema, is the table */
	wraps("WITH users AS (SELECT 1 AS a) SELECT * FROM public.users WHERE lower(email) = $1",
	      "lower(email)[lower:email]@public.users");
	/* a subquery in FROM has its own level */
	wraps("SELECT * FROM (SELECT * FROM events WHERE date(ts) = $1) e WHERE upper(e.kind) = $2",
	      "date(ts)[date:ts]@events");
	/* sublinks: EXISTS, IN, scalar, correlated with the outer level */
	wraps("SELECT * FROM users u WHERE EXISTS (SELECT 1 FROM orders o WHERE o.user_id = u.id "
	      "AND lower(o.note) = $1)",
	      "lower(o.note)[lower:note]@orders");
	wraps("SELECT * FROM users u WHERE id IN (SELECT user_id FROM orders o WHERE "
	      "lower(u.email) = o.email)",
	      "lower(u.email)[lower:email]@users");
	wraps("SELECT (SELECT max(amount) FROM orders WHERE date(created_at) = $1) FROM users",
	      "date(created_at)[date:created_at]@orders");
	wraps("SELECT a FROM t WHERE lower(a) = $1 UNION SELECT b FROM u WHERE upper(b) = $2",
	      "lower(a)[lower:a]@t; upper(b)[upper:b]@u");
	wraps("INSERT INTO archive SELECT * FROM events WHERE date(ts) < $1",
	      "date(ts)[date:ts]@events");
	/* one expression twice is one wrap */
	wraps("SELECT * FROM users WHERE lower(email) = $1 OR lower(email) = $2",
	      "lower(email)[lower:email]@users");
	/* functions in FROM are not tables */
	wraps("SELECT * FROM generate_series(1, 3) g WHERE abs(g.g) = $1", "");
}
END_TEST

START_TEST(test_statement_thresholds)
{
	struct qshape *sel = parse("SELECT * FROM t"), *lim = parse("SELECT * FROM t LIMIT 5"),
		      *upd = parse("UPDATE t SET a = 1");
	struct findings_stmt s = {.calls = 10, .total_ms = 100, .blks_hit = 1000};
	ck_assert_uint_eq(findings_rate(&s, sel), 0);
	/* spill: blocks per call */
	s.temp_written = 10 * FINDINGS_SPILL_MIN_BLKS_PER_CALL - 1;
	ck_assert_uint_eq(findings_rate(&s, sel), 0);
	s.temp_written++;
	ck_assert_uint_eq(findings_rate(&s, sel), 1u << FINDING_TEMP_SPILL);
	s.temp_written = 0;
	/* cache: enough reads, and a low ratio */
	s.blks_read = FINDINGS_CACHE_MIN_READ_BLKS - 1;
	s.blks_hit = 0;
	ck_assert_uint_eq(findings_rate(&s, sel), 0);
	s.blks_read = FINDINGS_CACHE_MIN_READ_BLKS;
	ck_assert_uint_eq(findings_rate(&s, sel), 1u << FINDING_CACHE_MISS);
	s.blks_hit = (long long)(s.blks_read * FINDINGS_CACHE_MAX_HIT_RATIO /
				 (1 - FINDINGS_CACHE_MAX_HIT_RATIO)) +
		     1;
	ck_assert_uint_eq(findings_rate(&s, sel), 0);
	s.blks_hit = s.blks_read = 0;
	/* rows: without LIMIT from a lower threshold, many rows otherwise */
	s.rows = 10 * FINDINGS_NO_LIMIT_MIN_ROWS_PER_CALL - 1;
	ck_assert_uint_eq(findings_rate(&s, sel), 0);
	s.rows++;
	ck_assert_uint_eq(findings_rate(&s, sel), 1u << FINDING_NO_LIMIT);
	ck_assert_uint_eq(findings_rate(&s, lim), 0);
	ck_assert_uint_eq(findings_rate(&s, upd), 0);
	s.rows = 10 * FINDINGS_MANY_ROWS_MIN_ROWS_PER_CALL;
	ck_assert_uint_eq(findings_rate(&s, sel), 1u << FINDING_NO_LIMIT);
	ck_assert_uint_eq(findings_rate(&s, lim), 1u << FINDING_MANY_ROWS);
	ck_assert_uint_eq(findings_rate(&s, upd), 1u << FINDING_MANY_ROWS);
	ck_assert_uint_eq(findings_rate(&s, NULL), 1u << FINDING_MANY_ROWS);
	s.calls = 0;
	ck_assert_uint_eq(findings_rate(&s, upd), 0);
	qshape_free(sel);
	qshape_free(lim);
	qshape_free(upd);
}
END_TEST

START_TEST(test_work_mem)
{
	/* twice the spill, rounded up to a power of two MB */
	ck_assert_int_eq(findings_work_mem_mb(100 * 1024.0), 1);
	ck_assert_int_eq(findings_work_mem_mb(3 * 1024 * 1024.0), 8);
	ck_assert_int_eq(findings_work_mem_mb(6.5 * 1024 * 1024), 16);
	ck_assert_int_eq(findings_work_mem_mb(32 * 1024 * 1024.0), 64);
	ck_assert_int_eq(findings_work_mem_mb(512 * 1024 * 1024.0), 1024);
	ck_assert_int_eq(findings_work_mem_mb(600 * 1024 * 1024.0), 0);
}
END_TEST

START_TEST(test_xact_thresholds)
{
	ck_assert(!findings_long_xact(FINDINGS_LONG_XACT_US - 1));
	ck_assert(findings_long_xact(FINDINGS_LONG_XACT_US));
	/* too little idle time in all */
	ck_assert(!findings_idle(1000, FINDINGS_IDLE_MIN_US - 1, FINDINGS_IDLE_GAP_US * 10));
	/* a large share */
	ck_assert(findings_idle(4 * FINDINGS_IDLE_MIN_US, FINDINGS_IDLE_MIN_US, 1000));
	ck_assert(!findings_idle(5 * FINDINGS_IDLE_MIN_US, FINDINGS_IDLE_MIN_US, 1000));
	/* or one long gap */
	ck_assert(findings_idle(100 * FINDINGS_IDLE_MIN_US, FINDINGS_IDLE_MIN_US,
				FINDINGS_IDLE_GAP_US));
}
END_TEST

START_TEST(test_rewrites_and_matches)
{
	char *s = findings_any_rewrite("SELECT * FROM items WHERE id = $1");
	ck_assert_str_eq(s, "SELECT * FROM items WHERE id = ANY($1)");
	free(s);
	s = findings_any_rewrite("SELECT name FROM items WHERE id = $12 FOR UPDATE");
	ck_assert_str_eq(s, "SELECT name FROM items WHERE id = ANY($12) FOR UPDATE");
	free(s);
	ck_assert_ptr_null(findings_any_rewrite("SELECT * FROM i WHERE a = $1 AND b = $2"));
	ck_assert_ptr_null(findings_any_rewrite("SELECT * FROM i WHERE a > $1"));

	struct qshape *q = parse("SELECT * FROM u WHERE lower(email) = $1 AND created::date = $2");
	ck_assert_uint_eq(q->nwraps, 2);
	ck_assert(findings_index_matches("lower(email)", &q->wraps[0]));
	ck_assert(findings_index_matches("lower((email)::text)", &q->wraps[0]));
	ck_assert(!findings_index_matches("upper(email)", &q->wraps[0]));
	ck_assert(!findings_index_matches("lower(emails)", &q->wraps[0]));
	ck_assert(findings_index_matches("(created::date)", &q->wraps[1]));
	ck_assert(findings_index_matches("date(created)", &q->wraps[1]));
	ck_assert(!findings_index_matches("date(updated)", &q->wraps[1]));
	qshape_free(q);
}
END_TEST

START_TEST(test_own_statements)
{
	ck_assert(ownstmt_is_own("-- Sampler: every counter of pg_stat_statements\nSELECT 1"));
	ck_assert(ownstmt_is_own("\n-- Lock sampler: every backend\nSELECT 1"));
	ck_assert(ownstmt_is_own("-- Advisor: indexes of a column\nSELECT 1"));
	ck_assert(ownstmt_is_own(
		"SELECT pg_try_advisory_lock($1), pg_has_role($2, $3), current_user"));
	ck_assert(!ownstmt_is_own("SELECT pg_try_advisory_lock($1)"));
	ck_assert(!ownstmt_is_own("SELECT * FROM t -- Sampler:"));
	ck_assert(!ownstmt_is_own(NULL));
}
END_TEST

static void exec(sqlite3 *db, const char *sql)
{
	char *err = NULL;
	ck_assert_msg(sqlite3_exec(db, sql, NULL, NULL, &err) == SQLITE_OK, "%s: %s", sql, err);
}

/* the store rules, without a database: statements and pooler rows */
START_TEST(test_run_on_store)
{
	char dir[] = "/tmp/check_findings.XXXXXX", path[64];
	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/store.db", dir);
	struct store *st = store_open(path, false, NULL, NULL);
	ck_assert_ptr_nonnull(st);
	sqlite3 *db = store_db(st);
	exec(db, "INSERT INTO sample_intervals (id, dbname, start_us, end_us) VALUES "
		 "(1, 'app', 1000, 2000), (2, 'app', 10, 20)");
	/* queryid 1: spills; 2: reads without LIMIT; 3: pglifeguard's own;
	 * 4: old (interval 2 is before the window); 5: fine */
	exec(db,
	     "INSERT INTO statements VALUES (1, 10, 5, 'SELECT count(DISTINCT a) FROM t', 0),"
	     " (2, 10, 5, 'SELECT * FROM t', 0),"
	     " (3, 10, 5, '-- Sampler: x\nSELECT * FROM pg_stat_statements', 0),"
	     " (4, 10, 5, 'UPDATE t SET a = $1', 0), (5, 10, 5, 'SELECT a FROM t LIMIT $1', 0)");
	exec(db,
	     "INSERT INTO statement_samples (interval_id, queryid, userid, dbid, calls,"
	     " total_exec_time, mean_exec_time, rows, shared_blks_hit, shared_blks_read,"
	     " shared_blks_dirtied, shared_blks_written, local_blks_hit, local_blks_read,"
	     " local_blks_written, temp_blks_read, temp_blks_written, blk_read_time,"
	     " blk_write_time, wal_records, wal_fpi, wal_bytes, plans, total_plan_time) VALUES"
	     " (1, 1, 10, 5, 4, 400, 100, 4, 10, 0, 0, 0, 0, 0, 0, 0, 2048, 0, 0, 0, 0, 0, 0, 0),"
	     " (1, 2, 10, 5, 2, 50, 25, 6000, 10, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0),"
	     " (1, 3, 10, 5, 2, 50, 25, 90000, 10, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0),"
	     " (2, 4, 10, 5, 2, 50, 25, 90000, 10, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0),"
	     " (1, 5, 10, 5, 2, 50, 25, 20, 10, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)");
	/* n+1: 5 transactions of 12 (found), 4 of 50 (too few), 9 of 3 (too few each) */
	exec(db, "WITH RECURSIVE g(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM g WHERE i < 9)"
		 " INSERT INTO repeat_events (at_us, database, username, application_name,"
		 " client_addr, scope, statement, executions, total_us, scope_us)"
		 " SELECT 1500, 'app', 'u', 'shop', '127.0.0.1', 'transaction',"
		 " 'SELECT * FROM item WHERE id = $1', 12, 6000, 10000 FROM g WHERE i <= 5"
		 " UNION ALL SELECT 1500, 'app', 'u', 'shop', '', 'transaction',"
		 " 'SELECT * FROM price WHERE id = $1', 50, 6000, 10000 FROM g WHERE i <= 4"
		 " UNION ALL SELECT 1500, 'app', 'u', 'shop', '', 'transaction',"
		 " 'SELECT * FROM tax WHERE id = $1', 3, 600, 1000 FROM g");
	/* billing: one 6 s transaction; web: idle 40% of the time; api: fine */
	exec(db, "INSERT INTO xact_samples VALUES"
		 " (1500, 'app', 'u', 'billing', 10, 7000000, 6000000, 0, 0),"
		 " (1600, 'app', 'u', 'web', 100, 3000000, 90000, 1200000, 50000),"
		 " (1600, 'app', 'u', 'api', 100, 9000000, 1000000, 100000, 50000),"
		 " (10, 'app', 'u', 'old', 1, 60000000, 60000000, 50000000, 50000000)");
	struct findings_options opt = {.from_us = 1000, .timeout_ms = 1000};
	struct finding *f = NULL;
	size_t n = 0;
	char *err = NULL;
	ck_assert_int_eq(findings_run(db, NULL, &opt, &f, &n, &err), 0);
	char got[1024] = "";
	for (size_t i = 0; i < n; i++) {
		size_t len = strlen(got);
		snprintf(got + len, sizeof(got) - len, "%s%s %s", i ? "; " : "",
			 finding_kind_name(f[i].kind), f[i].subject);
		ck_assert_str_eq(f[i].database, "app");
		ck_assert(f[i].evidence && *f[i].evidence && f[i].fix && *f[i].fix);
		if (i)
			ck_assert(f[i - 1].impact_ms >= f[i].impact_ms);
	}
	/* most impact first: 6 s of long transactions, 1.2 s idle, 400 ms of
	 * spilling, 50 ms without LIMIT, 30 ms of N+1 */
	ck_assert_str_eq(got, "long_transactions billing; idle_in_transaction web; "
			      "temp_spill SELECT count(DISTINCT a) FROM t; "
			      "large_result_without_limit SELECT * FROM t; "
			      "n_plus_one SELECT * FROM item WHERE id = $1");
	ck_assert_ptr_nonnull(strstr(f[2].evidence, "4.0 MB to temp files per call"));
	ck_assert_ptr_nonnull(strstr(f[2].fix, "work_mem = '8MB'"));
	ck_assert_ptr_nonnull(strstr(f[4].fix, "WHERE id = ANY($1)"));
	ck_assert_ptr_nonnull(strstr(f[4].evidence, "12 times per transaction"));
	findings_free(f, n);
	store_close(st);
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	ck_assert_int_eq(system(cmd), 0);
}
END_TEST

static Suite *findings_suite(void)
{
	Suite *s = suite_create("findings");
	TCase *tc = tcase_create("findings");

	tcase_add_test(tc, test_limit);
	tcase_add_test(tc, test_wrapped_columns);
	tcase_add_test(tc, test_ctes_and_subqueries);
	tcase_add_test(tc, test_statement_thresholds);
	tcase_add_test(tc, test_work_mem);
	tcase_add_test(tc, test_xact_thresholds);
	tcase_add_test(tc, test_rewrites_and_matches);
	tcase_add_test(tc, test_own_statements);
	tcase_add_test(tc, test_run_on_store);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(findings_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
