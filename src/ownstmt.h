/* pglifeguard's own statements (the sampler's, the lock sampler's, the
 * monitor's leadership query, the advisor's catalog queries) as
 * pg_stat_statements records them: what top and the advisor leave out. */
#ifndef PGLG_OWNSTMT_H
#define PGLG_OWNSTMT_H
#include <sqlite3.h>
#include <stdbool.h>

/* The comment that starts every catalog query of query suggestions. */
#define OWNSTMT_ADVISOR_PREFIX "-- Advisor:"

/* ownstmt_is_own says whether QUERY (a pg_stat_statements text, borrowed;
 * NULL is not ours) was sent by pglifeguard itself. Pure. */
bool ownstmt_is_own(const char *query);

/* ownstmt_register adds the SQL function pglg_own_statement(text), 1 for
 * pglifeguard's own statements and 0 otherwise (NULL too), to DB; returns
 * 0, or -1 when SQLite refuses. */
int ownstmt_register(sqlite3 *db) __attribute__((warn_unused_result));
#endif
