/* The index advisor: the statements that cost the most time in the store
 * window, their candidates (candidates.c) filtered with the live catalog
 * and pg_stats, verified with hypopg on plans with the parameter values the
 * pooler sampled (samples.c) or else generic plans, weighed against the
 * table's writes, merged and ranked by estimated time saved; plus unused
 * and redundant indexes. Runs in pglifeguard-cli (blocking libpq). */
#ifndef PGLG_ADVISOR_H
#define PGLG_ADVISOR_H
#include <libpq-fe.h>
#include <sqlite3.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "advisor/samples.h"

/* ADVISOR_MIN_GAIN: a candidate is kept when the planner's cost of a
 * statement drops at least this many times with it. */
#define ADVISOR_MIN_GAIN 2.0
/* ADVISOR_MIN_PAGES: tables smaller than this (8 kB pages) are tiny: a
 * sequential scan of them is cheap. */
#define ADVISOR_MIN_PAGES 10
/* ADVISOR_MAX_SELECTIVITY: equality predicates estimated (pg_stats) to
 * match a larger fraction of the rows are left to a sequential scan. */
#define ADVISOR_MAX_SELECTIVITY 0.2
/* ADVISOR_RARE_FREQ: a value of a low-cardinality column is rare (a
 * partial index candidate) below this frequency in pg_stats. */
#define ADVISOR_RARE_FREQ 0.05
/* ADVISOR_WRITE_RATIO: no index on a table written (INSERT, UPDATE,
 * DELETE calls in the window) more than this many times as often as the
 * statements the index helps are run. */
#define ADVISOR_WRITE_RATIO 10.0
/* ADVISOR_EXTRA_KEY_GAIN: of the indexes verified for one statement, the
 * one with the fewest key columns whose cost is within this factor of the
 * cheapest is kept: an extra key column must make the plan cheaper. */
#define ADVISOR_EXTRA_KEY_GAIN 1.01
/* ADVISOR_MIN_CALLS, ADVISOR_MIN_SHARE: a statement run fewer times than
 * ADVISOR_MIN_CALLS in the window that also takes less than this share of
 * the window's statement time gets no index: whatever it saves is
 * negligible next to the index's upkeep. */
#define ADVISOR_MIN_CALLS 5
#define ADVISOR_MIN_SHARE 0.01
/* ADVISOR_LIMIT_GUESS: the value a LIMIT $n parameter is planned with. */
#define ADVISOR_LIMIT_GUESS "100"

struct advisor_options {
	int64_t from_us; /* window start, wall clock */
	long max_statements; /* most expensive statements considered */
	int timeout_ms; /* statement_timeout of every advisor statement */
	bool analyze; /* ANALYZE a table that has never been analyzed */
};

struct advisor_helped {
	int64_t queryid;
	char *query;
	long long calls;
	double total_ms;
	double cost_before, cost_after;
	bool sampled; /* the costs are the mean of plans with SAMPLES; else generic */
	struct samples_set samples; /* the statement's sampled parameters, if any */
};

struct advisor_suggestion {
	char *table; /* schema-qualified, quoted */
	char *key; /* "a, lower(b)" */
	char *where; /* partial index predicate, or NULL */
	char *create_sql; /* CREATE INDEX CONCURRENTLY ... */
	char *build_sql; /* CREATE INDEX ... (in a transaction, for --verify) */
	double size_bytes; /* hypopg_relation_size */
	double saved_ms; /* sum of total_ms * (1 - after / before) */
	long long read_calls, write_calls;
	struct advisor_helped *helped;
	size_t nhelped;
};

struct advisor_rejected {
	char *table;
	char *key;
	char *where;
	char *reason;
	int64_t queryid;
};

/* An existing index worth dropping: unused (COVERED_BY NULL) or redundant
 * with COVERED_BY. */
struct advisor_index {
	char *index;
	char *table;
	char *definition;
	char *covered_by;
	long long size_bytes;
	long long scans;
};

struct advisor_result {
	char *database;
	long statements; /* statements in the window */
	long analyzed; /* of those, parsed and planned */
	struct advisor_suggestion *suggestions;
	size_t nsuggestions;
	struct advisor_rejected *rejected;
	size_t nrejected;
	struct advisor_index *unused;
	size_t nunused;
	struct advisor_index *redundant;
	size_t nredundant;
	char **analyzed_tables; /* tables this run ran ANALYZE on */
	size_t nanalyzed_tables;
};

/* advisor_run reads the window from DB (the store, borrowed) for the
 * database CONN (borrowed; the caller's superuser or owner connection)
 * is connected to, checks candidates there with hypopg (creating the
 * extension if it is missing), and fills *OUT, which the caller frees
 * with advisor_result_free. Returns 0, or -1 with *ERR set to a message
 * the caller frees. Every statement it sends runs under
 * OPTIONS->timeout_ms; it leaves no hypothetical index behind. */
int advisor_run(PGconn *conn, sqlite3 *db, const struct advisor_options *options,
		struct advisor_result *out, char **err) __attribute__((warn_unused_result));

void advisor_result_free(struct advisor_result *result);
#endif
