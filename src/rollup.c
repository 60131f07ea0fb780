/* Rollups of old samples into coarser intervals. Each write transaction
 * takes at most batch_intervals raw intervals of one database and bucket
 * (oldest first), merges their samples into the bucket's rollup interval
 * (created by the first batch, extended by the next ones) and deletes
 * them, so readers (WAL) are never blocked and the sampler, which shares
 * the monitor thread, waits at most one small batch. */
#include "rollup.h"
#include <stdio.h>
#include <stdlib.h>
#include "log.h"

/* How each sample table merges: KEYS identify a row within an interval;
 * SUMS add up, MINS and MAXS keep the extreme (NULL = unknown). */
struct merge {
	const char *table, *keys;
	const char *const *sums, *const *mins, *const *maxs;
};

static const char *const stmt_sums[] = {"calls",
					"total_exec_time",
					"rows",
					"shared_blks_hit",
					"shared_blks_read",
					"shared_blks_dirtied",
					"shared_blks_written",
					"local_blks_hit",
					"local_blks_read",
					"local_blks_written",
					"temp_blks_read",
					"temp_blks_written",
					"blk_read_time",
					"blk_write_time",
					"wal_records",
					"wal_fpi",
					"wal_bytes",
					"plans",
					"total_plan_time",
					NULL};
static const char *const stmt_mins[] = {"min_exec_time", NULL};
/* mean_exec_time is recomputed from the sums after the merge */
static const char *const stmt_maxs[] = {"max_exec_time", "stddev_exec_time", "mean_exec_time",
					NULL};
static const char *const table_sums[] = {"seq_scan",
					 "seq_tup_read",
					 "idx_scan",
					 "idx_tup_fetch",
					 "n_tup_ins",
					 "n_tup_upd",
					 "n_tup_del",
					 "n_tup_hot_upd",
					 "vacuum_count",
					 "autovacuum_count",
					 "analyze_count",
					 "autoanalyze_count",
					 NULL};
static const char *const table_maxs[] = {"n_live_tup",          "n_dead_tup",
					 "relation_size",       "total_size",
					 "indexes_size",        "last_vacuum_us",
					 "last_autovacuum_us",  "last_analyze_us",
					 "last_autoanalyze_us", NULL};
static const char *const index_sums[] = {"idx_scan", "idx_tup_read", "idx_tup_fetch", NULL};
static const char *const index_maxs[] = {"size", NULL};
static const char *const none[] = {NULL};

static const struct merge merges[] = {
	{"statement_samples", "queryid, userid, dbid", stmt_sums, stmt_mins, stmt_maxs},
	{"table_samples", "relid", table_sums, none, table_maxs},
	{"index_samples", "relid", index_sums, none, index_maxs},
};

/* merge_sql returns, in memory the caller frees, the upsert that adds the
 * samples of the intervals in rollup_ids to interval TARGET. */
static char *merge_sql(const struct merge *m, long long target)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	if (!f)
		return NULL;
	const char *const *lists[3] = {m->sums, m->mins, m->maxs};
	static const char *const agg[3] = {"sum", "min", "max"};
	static const char *const pick[3] = {NULL, "min", "max"};
	fprintf(f, "INSERT INTO %s (interval_id, %s", m->table, m->keys);
	for (int l = 0; l < 3; l++)
		for (const char *const *c = lists[l]; *c; c++)
			fprintf(f, ", %s", *c);
	fprintf(f, ") SELECT %lld, %s", target, m->keys);
	for (int l = 0; l < 3; l++)
		for (const char *const *c = lists[l]; *c; c++)
			fprintf(f, ", %s(%s)", agg[l], *c);
	fprintf(f,
		" FROM %s WHERE interval_id IN (SELECT id FROM rollup_ids) GROUP BY %s"
		" ON CONFLICT (interval_id, %s) DO UPDATE SET ",
		m->table, m->keys, m->keys);
	const char *sep = "";
	for (int l = 0; l < 3; l++)
		for (const char *const *c = lists[l]; *c; c++, sep = ", ") {
			if (l == 0)
				fprintf(f, "%s%s = %s + excluded.%s", sep, *c, *c, *c);
			else /* the scalar min()/max() are NULL if either side is */
				fprintf(f,
					"%s%s = %s(coalesce(%s, excluded.%s), "
					"coalesce(excluded.%s, %s))",
					sep, *c, pick[l], *c, *c, *c, *c);
		}
	fprintf(f, "; DELETE FROM %s WHERE interval_id IN (SELECT id FROM rollup_ids);", m->table);
	if (fclose(f) != 0) {
		free(buf);
		return NULL;
	}
	return buf;
}

static int exec(sqlite3 *db, const char *sql)
{
	char *msg = NULL;
	if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK) {
		log_warning("store: rollup: %s", msg ? msg : sqlite3_errmsg(db));
		sqlite3_free(msg);
		return -1;
	}
	return 0;
}

static int64_t one_int(sqlite3 *db, sqlite3_stmt *st, int64_t none_value)
{
	int rc = sqlite3_step(st);
	int64_t v = rc == SQLITE_ROW && sqlite3_column_type(st, 0) != SQLITE_NULL
			    ? sqlite3_column_int64(st, 0)
			    : none_value;
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		log_warning("store: rollup: %s", sqlite3_errmsg(db));
	return rc == SQLITE_ROW || rc == SQLITE_DONE ? v : -2;
}

/* one_batch merges up to BATCH raw intervals of the bucket of the oldest
 * raw interval ended by CUTOFF; returns how many, 0 when there are none,
 * -1 on error (the transaction is the caller's). */
static int64_t one_batch(sqlite3 *db, int64_t cutoff, int64_t bucket, int batch)
{
	sqlite3_stmt *pick = NULL, *ids = NULL, *target = NULL;
	int64_t rc = -1;
	if (exec(db, "CREATE TEMP TABLE IF NOT EXISTS rollup_ids (id INTEGER PRIMARY KEY);"
		     "DELETE FROM rollup_ids") < 0)
		return -1;
	if (sqlite3_prepare_v2(db,
			       "SELECT dbname, start_us / ?2 FROM sample_intervals"
			       " WHERE rollup = 0 AND end_us <= ?1 ORDER BY end_us LIMIT 1",
			       -1, &pick, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(db,
			       "INSERT INTO rollup_ids SELECT id FROM sample_intervals"
			       " WHERE rollup = 0 AND end_us <= ?2 AND dbname = ?1"
			       " AND start_us >= ?3 AND start_us < ?4 ORDER BY end_us LIMIT ?5",
			       -1, &ids, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(db,
			       "SELECT id FROM sample_intervals WHERE rollup = 1 AND dbname = ?1"
			       " AND start_us >= ?2 AND start_us < ?3 ORDER BY end_us DESC LIMIT 1",
			       -1, &target, NULL) != SQLITE_OK) {
		log_warning("store: rollup: %s", sqlite3_errmsg(db));
		goto done;
	}
	sqlite3_bind_int64(pick, 1, cutoff);
	sqlite3_bind_int64(pick, 2, bucket);
	int step = sqlite3_step(pick);
	if (step == SQLITE_DONE) {
		rc = 0;
		goto done;
	}
	if (step != SQLITE_ROW) {
		log_warning("store: rollup: %s", sqlite3_errmsg(db));
		goto done;
	}
	int64_t b = sqlite3_column_int64(pick, 1);
	sqlite3_bind_value(ids, 1, sqlite3_column_value(pick, 0));
	sqlite3_bind_int64(ids, 2, cutoff);
	sqlite3_bind_int64(ids, 3, b * bucket);
	sqlite3_bind_int64(ids, 4, (b + 1) * bucket);
	sqlite3_bind_int(ids, 5, batch);
	if (sqlite3_step(ids) != SQLITE_DONE) {
		log_warning("store: rollup: %s", sqlite3_errmsg(db));
		goto done;
	}
	int64_t n = sqlite3_changes(db);
	sqlite3_bind_value(target, 1, sqlite3_column_value(pick, 0));
	sqlite3_bind_int64(target, 2, b * bucket);
	sqlite3_bind_int64(target, 3, (b + 1) * bucket);
	int64_t id = one_int(db, target, -1);
	if (id == -2)
		goto done;
	char sql[768];
	if (id < 0) {
		if (exec(db, "INSERT INTO sample_intervals (dbname, start_us, end_us, lost_data,"
			     " stats_reset, rollup) SELECT dbname, min(start_us), max(end_us),"
			     " max(lost_data), max(stats_reset), 1 FROM sample_intervals"
			     " WHERE id IN (SELECT id FROM rollup_ids) GROUP BY dbname") < 0)
			goto done;
		id = sqlite3_last_insert_rowid(db);
	} else {
		snprintf(sql, sizeof(sql),
			 "UPDATE sample_intervals SET"
			 " start_us = min(start_us, (SELECT min(start_us) FROM sample_intervals"
			 "  WHERE id IN (SELECT id FROM rollup_ids))),"
			 " end_us = max(end_us, (SELECT max(end_us) FROM sample_intervals"
			 "  WHERE id IN (SELECT id FROM rollup_ids))),"
			 " lost_data = max(lost_data, (SELECT max(lost_data) FROM sample_intervals"
			 "  WHERE id IN (SELECT id FROM rollup_ids))),"
			 " stats_reset = coalesce((SELECT max(stats_reset) FROM sample_intervals"
			 "  WHERE id IN (SELECT id FROM rollup_ids)), stats_reset)"
			 " WHERE id = %lld",
			 (long long)id);
		if (exec(db, sql) < 0)
			goto done;
	}
	for (size_t i = 0; i < sizeof(merges) / sizeof(merges[0]); i++) {
		char *m = merge_sql(&merges[i], (long long)id);
		if (!m || exec(db, m) < 0) {
			free(m);
			goto done;
		}
		free(m);
	}
	snprintf(sql, sizeof(sql),
		 "UPDATE statement_samples SET mean_exec_time = CASE WHEN calls > 0"
		 " THEN total_exec_time / calls ELSE 0 END WHERE interval_id = %lld;"
		 "DELETE FROM sample_intervals WHERE id IN (SELECT id FROM rollup_ids)",
		 (long long)id);
	if (exec(db, sql) < 0)
		goto done;
	rc = n;
done:
	sqlite3_finalize(pick);
	sqlite3_finalize(ids);
	sqlite3_finalize(target);
	return rc;
}

int64_t rollup_run(struct store *store, int64_t cutoff_us, int64_t bucket_us, int batch_intervals,
		   int max_batches)
{
	if (bucket_us <= 0 || cutoff_us <= 0 || batch_intervals < 1)
		return 0;
	int64_t cutoff = cutoff_us - cutoff_us % bucket_us;
	int64_t total = 0;
	sqlite3 *db = store_db(store);
	for (int i = 0; i < max_batches; i++) {
		if (store_begin(store) < 0)
			return -1;
		int64_t n = one_batch(db, cutoff, bucket_us, batch_intervals);
		if (n < 0) {
			store_rollback(store);
			return -1;
		}
		if (store_commit(store) < 0) {
			store_rollback(store);
			return -1;
		}
		if (n == 0)
			break;
		total += n;
	}
	return total;
}
