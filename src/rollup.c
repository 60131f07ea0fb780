/* Rollups of old samples into coarser intervals: each bucket is one short
 * write transaction (select the raw intervals, insert the sums under a new
 * interval, delete the raw rows), so readers (WAL) are never blocked and
 * the sampler waits at most one bucket's worth of work. */
#include "rollup.h"
#include <stdio.h>
#include "log.h"

static const char merge_sql[] =
	"INSERT INTO statement_samples SELECT %lld, queryid, userid, dbid, sum(calls),"
	" sum(total_exec_time),"
	" CASE WHEN sum(calls) > 0 THEN sum(total_exec_time) / sum(calls) ELSE 0 END,"
	" min(min_exec_time), max(max_exec_time), max(stddev_exec_time), sum(rows),"
	" sum(shared_blks_hit), sum(shared_blks_read), sum(shared_blks_dirtied),"
	" sum(shared_blks_written), sum(local_blks_hit), sum(local_blks_read),"
	" sum(local_blks_written), sum(temp_blks_read), sum(temp_blks_written),"
	" sum(blk_read_time), sum(blk_write_time), sum(wal_records), sum(wal_fpi),"
	" sum(wal_bytes), sum(plans), sum(total_plan_time)"
	" FROM statement_samples WHERE interval_id IN (SELECT id FROM rollup_ids)"
	" GROUP BY queryid, userid, dbid;"
	"INSERT INTO table_samples SELECT %lld, relid, sum(seq_scan), sum(seq_tup_read),"
	" sum(idx_scan), sum(idx_tup_fetch), sum(n_tup_ins), sum(n_tup_upd), sum(n_tup_del),"
	" sum(n_tup_hot_upd), sum(vacuum_count), sum(autovacuum_count), sum(analyze_count),"
	" sum(autoanalyze_count), max(n_live_tup), max(n_dead_tup), max(relation_size),"
	" max(total_size), max(indexes_size), max(last_vacuum_us), max(last_autovacuum_us),"
	" max(last_analyze_us), max(last_autoanalyze_us)"
	" FROM table_samples WHERE interval_id IN (SELECT id FROM rollup_ids) GROUP BY relid;"
	"INSERT INTO index_samples SELECT %lld, relid, sum(idx_scan), sum(idx_tup_read),"
	" sum(idx_tup_fetch), max(size)"
	" FROM index_samples WHERE interval_id IN (SELECT id FROM rollup_ids) GROUP BY relid;"
	"DELETE FROM statement_samples WHERE interval_id IN (SELECT id FROM rollup_ids);"
	"DELETE FROM table_samples WHERE interval_id IN (SELECT id FROM rollup_ids);"
	"DELETE FROM index_samples WHERE interval_id IN (SELECT id FROM rollup_ids);"
	"DELETE FROM sample_intervals WHERE id IN (SELECT id FROM rollup_ids);";

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

/* one_bucket rolls up the bucket of the oldest raw interval before CUTOFF;
 * returns 1, 0 when there is none, -1 on error (the transaction is the
 * caller's). */
static int one_bucket(sqlite3 *db, int64_t cutoff, int64_t bucket)
{
	sqlite3_stmt *pick = NULL, *ids = NULL;
	int rc = -1;
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
			       " AND start_us >= ?3 AND start_us < ?4",
			       -1, &ids, NULL) != SQLITE_OK) {
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
	if (sqlite3_step(ids) != SQLITE_DONE) {
		log_warning("store: rollup: %s", sqlite3_errmsg(db));
		goto done;
	}
	if (exec(db, "INSERT INTO sample_intervals (dbname, start_us, end_us, lost_data,"
		     " stats_reset, rollup) SELECT dbname, min(start_us), max(end_us),"
		     " max(lost_data), max(stats_reset), 1 FROM sample_intervals"
		     " WHERE id IN (SELECT id FROM rollup_ids) GROUP BY dbname") < 0)
		goto done;
	long long id = (long long)sqlite3_last_insert_rowid(db);
	char sql[sizeof(merge_sql) + 64];
	snprintf(sql, sizeof(sql), merge_sql, id, id, id);
	if (exec(db, sql) < 0)
		goto done;
	rc = 1;
done:
	sqlite3_finalize(pick);
	sqlite3_finalize(ids);
	return rc;
}

int64_t rollup_run(struct store *store, int64_t cutoff_us, int64_t bucket_us, int max_buckets)
{
	if (bucket_us <= 0 || cutoff_us <= 0)
		return 0;
	int64_t cutoff = cutoff_us - cutoff_us % bucket_us;
	int64_t total = 0;
	sqlite3 *db = store_db(store);
	while (total < max_buckets) {
		if (store_begin(store) < 0)
			return -1;
		int r = one_bucket(db, cutoff, bucket_us);
		if (r < 0) {
			store_rollback(store);
			return -1;
		}
		if (store_commit(store) < 0) {
			store_rollback(store);
			return -1;
		}
		if (r == 0)
			break;
		total++;
	}
	return total;
}
