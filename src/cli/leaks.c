/* pglifeguard-cli leaks: suspected connection leaks the pooler flagged,
 * from the store's leak_events, with when (and whether) they came back. */
#include <stdio.h>
#include "cli.h"
#include "clifmt.h"

#define ISO(col) "strftime('%Y-%m-%dT%H:%M:%SZ', " col " / 1000000, 'unixepoch')"

static const char leaks_sql[] = "SELECT id, " ISO(
	"at_us") " AS at, at_us, database, username AS user, client_id, "
		 "client_addr, client_port, application_name, server_id, backend_pid, state, "
		 "held_s, "
		 "idle_s, xact_start_us, xact_statements, last_statement, statement_truncated, "
		 "returned_at_us, returned_after_s "
		 "FROM leak_events WHERE at_us >= ?1 ORDER BY at_us, id";

static void leak_row(sqlite3_stmt *st)
{
	char client[160];
	snprintf(client, sizeof(client), "C-%lld %s:%d", (long long)sqlite3_column_int64(st, 5),
		 (const char *)sqlite3_column_text(st, 6), sqlite3_column_int(st, 7));
	char returned[32];
	if (sqlite3_column_type(st, 19) == SQLITE_NULL)
		snprintf(returned, sizeof(returned), "held");
	else
		snprintf(returned, sizeof(returned), "%.1f", sqlite3_column_double(st, 19));
	const char *stmt = (const char *)sqlite3_column_text(st, 16);
	printf("%-20s %-24s %-26s %-16s %-22s %8.1f %8.1f %8s  %s%s\n",
	       (const char *)sqlite3_column_text(st, 1), (const char *)sqlite3_column_text(st, 3),
	       client, (const char *)sqlite3_column_text(st, 8),
	       (const char *)sqlite3_column_text(st, 11), sqlite3_column_double(st, 12),
	       sqlite3_column_double(st, 13), returned, stmt ? stmt : "(none)",
	       sqlite3_column_int(st, 17) ? " (truncated)" : "");
}

int cli_leaks(const char *store_path, int argc, char **argv)
{
	char header[256];
	snprintf(header, sizeof(header), "%-20s %-24s %-26s %-16s %-22s %8s %8s %8s  %s",
		 "at (UTC)", "database", "client", "application_name", "state", "held_s", "idle_s",
		 "back_s", "last statement");
	return clifmt_events(store_path, argc, argv, "leaks", leaks_sql, "leaks", header, leak_row);
}
