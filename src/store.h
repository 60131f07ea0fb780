/* The SQLite store: schema from sql/store.sql with migrations, writes of
 * one sampling interval per transaction, retention, read-only access for
 * pglifeguard-cli. One struct store is used by one thread. */
#ifndef PGLG_STORE_H
#define PGLG_STORE_H
#include <stdbool.h>
#include <stdint.h>
#include <sqlite3.h>

/* STORE_SCHEMA_VERSION is the version sql/store.sql plus the migrations
 * in store.c produce. */
#define STORE_SCHEMA_VERSION 5

struct store;

/* One row of statement_samples: deltas over the interval, except
 * min/max/stddev which are the cumulative values at its end. */
struct store_sample {
	int64_t queryid, userid, dbid;
	int64_t calls;
	double total_exec_time, min_exec_time, max_exec_time, stddev_exec_time;
	int64_t rows;
	int64_t shared_blks_hit, shared_blks_read, shared_blks_dirtied, shared_blks_written;
	int64_t local_blks_hit, local_blks_read, local_blks_written;
	int64_t temp_blks_read, temp_blks_written;
	double blk_read_time, blk_write_time;
	int64_t wal_records, wal_fpi, wal_bytes;
	int64_t plans;
	double total_plan_time;
};

enum store_error {
	STORE_OK = 0,
	STORE_MISSING, /* read-only open of a file that does not exist */
	STORE_FOREIGN, /* not SQLite, or SQLite without our schema_version */
	STORE_NEWER, /* written by a newer pglifeguard */
	STORE_IO, /* anything else SQLite reports */
};

/* store_open opens PATH. Read-write (READONLY false) creates the file if
 * needed, sets WAL mode, synchronous=NORMAL and a busy timeout, and applies
 * the schema or its migrations. Read-only never creates or changes the file.
 * Returns a store the caller closes with store_close, or NULL with *ERR set
 * to a message the caller frees and *CODE to the error class (ERR and CODE
 * may be NULL). */
struct store *store_open(const char *path, bool readonly, char **err, enum store_error *code)
	__attribute__((warn_unused_result));

/* store_close closes STORE; NULL is fine. */
void store_close(struct store *store);

/* store_db returns the SQLite handle, borrowed, for read queries (CLI). */
sqlite3 *store_db(struct store *store);

/* store_begin starts the write transaction of one interval; store_commit
 * ends it, store_rollback abandons it. Return 0 or -1 (logged). */
int store_begin(struct store *store) __attribute__((warn_unused_result));
int store_commit(struct store *store) __attribute__((warn_unused_result));
void store_rollback(struct store *store);

/* store_add_interval adds a sample_intervals row inside the transaction;
 * STATS_RESET may be NULL. Returns its id, or -1. */
int64_t store_add_interval(struct store *store, const char *dbname, int64_t start_us,
			   int64_t end_us, bool lost_data, const char *stats_reset);

/* store_add_sample adds one statement_samples row of interval INTERVAL_ID.
 * Returns 0 or -1. */
int store_add_sample(struct store *store, int64_t interval_id, const struct store_sample *s)
	__attribute__((warn_unused_result));

/* store_has_statement tells whether the text of (QUERYID, USERID, DBID) is
 * stored. */
bool store_has_statement(struct store *store, int64_t queryid, int64_t userid, int64_t dbid);

/* store_add_statement stores a statement's text once (a known key is left
 * alone); TEXT is borrowed. Returns 0 or -1. */
int store_add_statement(struct store *store, int64_t queryid, int64_t userid, int64_t dbid,
			const char *text, int64_t now_us) __attribute__((warn_unused_result));

/* store_expire deletes intervals that ended before CUTOFF_US and their
 * samples, at most BATCH intervals per transaction so that readers and the
 * writer are never held up long. Must be called outside a transaction.
 * Returns the number of intervals deleted, or -1. */
int64_t store_expire(struct store *store, int64_t cutoff_us, int batch);
#endif
