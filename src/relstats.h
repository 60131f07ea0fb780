/* Table and index statistics of one database (pg_stat_user_tables,
 * pg_stat_user_indexes, sizes): snapshots read from the sampler's query,
 * per-interval deltas with the same reset rules as pg_stat_statements, and
 * their rows in the store (relations, table_samples, index_samples). */
#ifndef PGLG_RELSTATS_H
#define PGLG_RELSTATS_H
#include <libpq-fe.h>
#include <stdbool.h>
#include <stdint.h>
#include "store.h"
#include "timeutil.h"

/* One relation of a snapshot: counters are cumulative in a snapshot and
 * per-interval in a delta; gauges are values at the snapshot's time. Times
 * are microseconds since the epoch, 0 when never. The strings point into
 * the PGresult the snapshot keeps. */
struct relstats_row {
	char kind; /* 't' table, 'i' index */
	int64_t relid, table_relid;
	const char *schemaname, *relname, *indexdef;
	bool is_unique, is_primary;
	/* counters */
	int64_t seq_scan, seq_tup_read, idx_scan, idx_tup_read, idx_tup_fetch;
	int64_t n_tup_ins, n_tup_upd, n_tup_del, n_tup_hot_upd;
	int64_t vacuum_count, autovacuum_count, analyze_count, autoanalyze_count;
	/* gauges */
	int64_t n_live_tup, n_dead_tup, relation_size, total_size, indexes_size;
	int64_t last_vacuum_us, last_autovacuum_us, last_analyze_us, last_autoanalyze_us;
	bool dirty; /* new or changed since the previous snapshot: its relations row is stale */
};

struct relstats;

/* relstats_new returns an empty state the caller frees with relstats_free,
 * or NULL when out of memory. */
struct relstats *relstats_new(void);

/* relstats_free frees RS and its prepared statements; NULL is fine. */
void relstats_free(struct relstats *rs);

/* relstats_read takes ownership of RES (the result of sql_relstats_sample)
 * as the snapshot at wall-clock time AT, and computes the deltas since the
 * previous snapshot. Returns false (RES freed, previous snapshot kept) when
 * the result has an unexpected shape or memory runs out. */
bool relstats_read(struct relstats *rs, PGresult *res, usec_t at);

/* relstats_ready tells whether deltas are waiting to be written; *START
 * and *END receive the interval they cover, *LOST whether some relation's
 * counters went backwards (its row is left out). */
bool relstats_ready(const struct relstats *rs, usec_t *start, usec_t *end, bool *lost);

/* relstats_write writes the waiting deltas into interval INTERVAL_ID of
 * database DBNAME and the relations rows that changed (all of them once a
 * minute, which keeps last_seen_us fresh), inside the caller's transaction
 * on STORE (borrowed). Deltas are consumed either way. Returns 0 or -1
 * (logged). */
int relstats_write(struct relstats *rs, struct store *store, int64_t interval_id,
		   const char *dbname) __attribute__((warn_unused_result));

/* relstats_discard drops the waiting deltas (a tick that wrote nothing). */
void relstats_discard(struct relstats *rs);

/* relstats_expire deletes the relations of STORE not seen since CUTOFF_US
 * (dropped tables and indexes), in autocommit. Returns how many, or -1. */
int64_t relstats_expire(struct store *store, int64_t cutoff_us);

/* relstats_delta sets D to CUR minus PREV for the counters and to CUR for
 * everything else. Returns false when a counter went backwards (a stats
 * reset of the relation or the database): no delta can be trusted. */
bool relstats_delta(struct relstats_row *d, const struct relstats_row *cur,
		    const struct relstats_row *prev);

/* relstats_active tells whether delta D moved any counter, i.e. whether it
 * is worth a sample row. */
bool relstats_active(const struct relstats_row *d);
#endif
