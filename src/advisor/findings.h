/* Query suggestions ("findings"): statements and applications whose
 * behaviour costs time that no index fixes, each with its evidence and a
 * concrete fix, read from the store (pg_stat_statements samples and what
 * the pooler saw) and, when a connection is given, the live catalog.
 * Runs in pglifeguard-cli (blocking libpq). */
#ifndef PGLG_FINDINGS_H
#define PGLG_FINDINGS_H
#include <libpq-fe.h>
#include <sqlite3.h>
#include <stddef.h>
#include <stdint.h>

enum finding_kind {
	FINDING_REPEATED = 0, /* N+1: one single-row statement run many times per transaction */
	FINDING_TEMP_SPILL, /* sorts or hashes spilling to temp files */
	FINDING_CACHE_MISS, /* low shared buffer hit ratio */
	FINDING_NO_LIMIT, /* large result sets without LIMIT */
	FINDING_MANY_ROWS, /* high rows per call */
	FINDING_DEFEATED_INDEX, /* a function or cast on an indexed column */
	FINDING_LONG_XACT, /* long transactions, by application_name */
	FINDING_IDLE_IN_XACT, /* idle in transaction, by application_name */
};

/* Thresholds; pglifeguard-cli(1) describes each rule. A block is 8 kB. */
/* temp_spill: temp file blocks written per call (1 MB) */
#define FINDINGS_SPILL_MIN_BLKS_PER_CALL 128
/* temp_spill: the suggested work_mem is the spill per call times this
 * (a sort or hash in memory takes more room than its temp file), rounded
 * up to a power of two megabytes, at most FINDINGS_WORK_MEM_MAX_MB */
#define FINDINGS_SPILL_MEMORY_FACTOR 2
#define FINDINGS_WORK_MEM_MAX_MB 1024
/* low_cache_hit_ratio: blocks read from outside shared_buffers in the
 * window (about 78 MB), and the hit ratio below which it is reported */
#define FINDINGS_CACHE_MIN_READ_BLKS 10000
#define FINDINGS_CACHE_MAX_HIT_RATIO 0.90
/* large_result_without_limit: rows per call of a SELECT without LIMIT */
#define FINDINGS_NO_LIMIT_MIN_ROWS_PER_CALL 1000
/* many_rows_per_call: rows returned or changed per call, any other statement */
#define FINDINGS_MANY_ROWS_MIN_ROWS_PER_CALL 5000
/* function_on_indexed_column: tables smaller than this (8 MB) are read
 * whole anyway */
#define FINDINGS_DEFEATED_MIN_PAGES 1000
/* n_plus_one: executions of one statement in one transaction, in at least
 * this many transactions */
#define FINDINGS_REPEAT_MIN_EXECUTIONS 10
#define FINDINGS_REPEAT_MIN_XACTS 5
/* long_transactions: the longest transaction of an application_name */
#define FINDINGS_LONG_XACT_US (5 * 1000000LL)
/* idle_in_transaction: idle time of an application_name's transactions in
 * the window, and either its share of their time or the longest gap */
#define FINDINGS_IDLE_MIN_US (1000000LL)
#define FINDINGS_IDLE_MIN_SHARE 0.25
#define FINDINGS_IDLE_GAP_US (1000000LL)

struct finding {
	enum finding_kind kind;
	int64_t queryid; /* 0: not about one pg_stat_statements entry */
	char *database;
	char *subject; /* the statement ($n for constants), or the application_name */
	char *evidence; /* what was measured, with the numbers */
	char *fix; /* the concrete change */
	double impact_ms; /* time at stake in the window; findings are ranked by it */
};

struct findings_options {
	int64_t from_us; /* window start, wall clock */
	int timeout_ms; /* statement_timeout of catalog queries */
};

/* finding_kind_name returns the stable name of KIND for JSON and tables
 * ("n_plus_one", "temp_spill", ...). */
const char *finding_kind_name(enum finding_kind kind);

/* findings_run reads the window from DB (the store, borrowed) and, when
 * CONN (borrowed) is not NULL, checks the database it is connected to
 * (checks that need it are skipped otherwise). On success returns 0 and
 * sets *OUT to *N findings, most impact first, that the caller frees with
 * findings_free; on failure returns -1 with *ERR set to a message the
 * caller frees. */
int findings_run(sqlite3 *db, PGconn *conn, const struct findings_options *options,
		 struct finding **out, size_t *n, char **err) __attribute__((warn_unused_result));

void findings_free(struct finding *findings, size_t n);
#endif
