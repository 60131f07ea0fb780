/* pglifeguard's own statements: see ownstmt.h. The prefixes are those of
 * the files in sql/ and of the queries in sampler.c. */
#include "ownstmt.h"
#include <string.h>

static const char *const prefixes[] = {
	"-- Sampler:",
	"-- Lock sampler:",
	OWNSTMT_ADVISOR_PREFIX,
};

/* the leadership query of sampler.c once pg_stat_statements has replaced
 * its lock key with $1 */
static const char leadership[] = "SELECT pg_try_advisory_lock(";
static const char leadership_rest[] = "), pg_has_role(";

bool ownstmt_is_own(const char *query)
{
	if (!query)
		return false;
	while (*query == ' ' || *query == '\n' || *query == '\t' || *query == '\r')
		query++;
	for (size_t i = 0; i < sizeof(prefixes) / sizeof(prefixes[0]); i++)
		if (!strncmp(query, prefixes[i], strlen(prefixes[i])))
			return true;
	return !strncmp(query, leadership, sizeof(leadership) - 1) &&
	       strstr(query, leadership_rest) != NULL;
}

static void own_fn(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
	(void)argc;
	sqlite3_result_int(ctx, ownstmt_is_own((const char *)sqlite3_value_text(argv[0])));
}

int ownstmt_register(sqlite3 *db)
{
	return sqlite3_create_function(db, "pglg_own_statement", 1,
				       SQLITE_UTF8 | SQLITE_DETERMINISTIC, NULL, own_fn, NULL,
				       NULL) == SQLITE_OK
		       ? 0
		       : -1;
}
