/* suggest --verify: build a suggested index for real inside one
 * transaction, EXPLAIN ANALYZE the statements it helps before and after
 * with their sampled parameters, and roll everything back. Blocking libpq,
 * for pglifeguard-cli. */
#ifndef PGLG_VERIFY_H
#define PGLG_VERIFY_H
#include <libpq-fe.h>
#include <stdbool.h>
#include <stddef.h>
#include "advisor/advisor.h"

/* VERIFY_INDEX_NAME: the name the index is built under, to find it in plans. */
#define VERIFY_INDEX_NAME "pglifeguard_verify"

struct verify_options {
	int timeout_ms; /* statement_timeout of each EXPLAIN ANALYZE */
	int build_timeout_ms; /* statement_timeout of the CREATE INDEX */
	int lock_timeout_ms; /* lock_timeout of every statement */
};

/* One helped statement, measured or not (NOTE says why). */
struct verify_stmt {
	bool measured;
	char *note; /* why it was not measured, or NULL */
	int runs; /* parameter sets measured (0: a statement without parameters) */
	bool drawn; /* no samples: the values come from one row of the table */
	double before_ms, after_ms; /* mean execution time over the runs */
	bool uses_index; /* some plan with the index built uses it */
	bool writes; /* UPDATE or DELETE: run, then rolled back */
};

struct verify_result {
	char *error; /* the suggestion could not be verified, or NULL */
	bool lock_timeout; /* ... because another session held a conflicting lock */
	double build_ms; /* CREATE INDEX, measured by the client */
	long long index_bytes; /* its real size */
	struct verify_stmt *stmts; /* one per helped statement of the suggestion */
	size_t nstmts;
};

/* verify_suggestion verifies suggestion S (borrowed) on CONN (borrowed;
 * idle, outside a transaction block) and fills *OUT, freed with
 * verify_result_free. Everything runs in one transaction that is rolled
 * back: no index, no row change and no session state is left behind.
 * Returns 0, or -1 with OUT->error set (a lock it could not get within
 * O->lock_timeout_ms, a failed build, a lost connection). */
int verify_suggestion(PGconn *conn, const struct advisor_suggestion *s,
		      const struct verify_options *o, struct verify_result *out);

void verify_result_free(struct verify_result *r);

/* verify_execution_ms returns the "Execution Time" of EXPLAIN (ANALYZE,
 * FORMAT JSON) output PLAN, or -1; *USES tells whether index NAME appears
 * in it. Pure: exposed for tests. */
double verify_execution_ms(const char *plan, const char *name, bool *uses);
#endif
