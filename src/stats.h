/* Statistics for SHOW STATS and friends: per-database totals summed from
 * the pools' counters, and averages over the last stats_period, refreshed
 * by a periodic timer of the loop. */
#ifndef PGLG_STATS_H
#define PGLG_STATS_H

#include <stdint.h>

struct loop;
struct pool;
struct database;

/* One set of counters. As totals: counts, bytes and microseconds since
 * start. As averages (PgBouncer's meanings): counts and bytes per second
 * over the last stats_period; xact_time per transaction, query_time per
 * query and wait_time per server assignment of that period, in
 * microseconds. */
struct stats_counters {
	uint64_t server_assignments;
	uint64_t xact_count;
	uint64_t query_count;
	uint64_t bytes_in; /* received from clients */
	uint64_t bytes_out; /* sent to clients */
	uint64_t xact_time;
	uint64_t query_time;
	uint64_t wait_time;
	uint64_t client_parse_count; /* named Parse messages from clients */
	uint64_t server_parse_count; /* Parse messages the pooler sent to servers */
	uint64_t bind_count; /* Bind messages of named statements */
};

/* ErrorResponses counted by SQLSTATE class (the code's first two
 * characters). A pool sees few distinct classes: the first
 * STATS_ERROR_CLASSES get their own counter, later ones and errors
 * without a readable code count under "??". */
#define STATS_ERROR_CLASSES 16

struct stats_errors {
	int n;
	char cls[STATS_ERROR_CLASSES][2];
	uint64_t count[STATS_ERROR_CLASSES];
	uint64_t unknown; /* class "??" */
};

/* stats_count_error counts one error of class CLS (two characters, not
 * terminated) in E; CLS NULL: class unknown. O(STATS_ERROR_CLASSES), no
 * allocation. */
void stats_count_error(struct stats_errors *e, const char *cls);

/* stats_start arms LOOP's stats_period timer. Returns 0, or -1 when out of
 * memory (logged). */
int stats_start(struct loop *loop);

/* stats_stop stops the timer and frees what stats_start allocated. */
void stats_stop(struct loop *loop);

/* stats_pool_add adds POOL's counters to *SUM. */
void stats_pool_add(const struct pool *pool, struct stats_counters *sum);

/* stats_totals fills *OUT with the totals of DB (every database when DB is
 * NULL). */
void stats_totals(struct loop *loop, const struct database *db, struct stats_counters *out);

/* stats_averages fills *OUT with the averages of DB (every database when
 * NULL) over the last complete stats_period; zeros before the first one. */
void stats_averages(struct loop *loop, const struct database *db, struct stats_counters *out);

/* stats_refresh closes the current period now: the averages then describe
 * the time since the previous refresh. The timer calls it; so may tests. */
void stats_refresh(struct loop *loop);

#endif
