/* pglifeguard-cli alerts: alerts that fired or resolved, from the store's
 * alert_events, with who held the pool when they fired. */
#include <stdio.h>
#include "cli.h"
#include "clifmt.h"

static const char alerts_sql[] =
	"SELECT id, strftime('%Y-%m-%dT%H:%M:%SZ', at_us / 1000000, 'unixepoch') AS at, at_us, "
	"alert, state, database, username AS user, value, threshold, detail "
	"FROM alert_events WHERE at_us >= ?1 ORDER BY at_us, id";

static void alert_row(sqlite3_stmt *st)
{
	char pool[140];
	const char *db = (const char *)sqlite3_column_text(st, 5);
	const char *user = (const char *)sqlite3_column_text(st, 6);
	if (db && db[0])
		snprintf(pool, sizeof(pool), "%s/%s", db, user ? user : "");
	else
		snprintf(pool, sizeof(pool), "(pooler)");
	const char *detail = (const char *)sqlite3_column_text(st, 9);
	printf("%-20s %-18s %-8s %-24s %10g %10g  %s\n", (const char *)sqlite3_column_text(st, 1),
	       (const char *)sqlite3_column_text(st, 3), (const char *)sqlite3_column_text(st, 4),
	       pool, sqlite3_column_double(st, 7), sqlite3_column_double(st, 8),
	       detail ? detail : "");
}

int cli_alerts(const char *store_path, int argc, char **argv)
{
	char header[256];
	snprintf(header, sizeof(header), "%-20s %-18s %-8s %-24s %10s %10s  %s", "at (UTC)",
		 "alert", "state", "pool", "value", "threshold", "detail");
	return clifmt_events(store_path, argc, argv, "alerts", alerts_sql, "alerts", header,
			     alert_row);
}
