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
