/* pglifeguard-cli tables: tables by rows read in sequential scans over a
 * window, with writes, sizes and dead tuples, and the indexes that were not
 * scanned in it (unused-index candidates), from relations, table_samples
 * and index_samples. */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "cli.h"
#include "output.h"
#include "store.h"
#include "timeutil.h"

/* Tables seen in the window (relations.last_seen_us), with the sums of
 * their deltas over it; sizes and tuple counts are the latest values. */
static const char tables_sql[] =
	"WITH w AS (SELECT i.dbname, t.relid, sum(t.seq_scan) AS seq_scan,"
	"  sum(t.seq_tup_read) AS seq_tup_read, sum(t.idx_scan) AS idx_scan,"
	"  sum(t.idx_tup_fetch) AS idx_tup_fetch, sum(t.n_tup_ins) AS ins,"
	"  sum(t.n_tup_upd) AS upd, sum(t.n_tup_del) AS del, sum(t.n_tup_hot_upd) AS hot"
	"  FROM table_samples AS t JOIN sample_intervals AS i ON i.id = t.interval_id"
	"  WHERE i.end_us >= ?1 GROUP BY i.dbname, t.relid)"
	" SELECT r.dbname, r.schemaname, r.relname, r.relid,"
	" coalesce(w.seq_scan, 0), coalesce(w.seq_tup_read, 0), coalesce(w.idx_scan, 0),"
	" coalesce(w.idx_tup_fetch, 0), coalesce(w.ins, 0), coalesce(w.upd, 0),"
	" coalesce(w.del, 0), coalesce(w.hot, 0),"
	" r.n_live_tup, r.n_dead_tup, r.relation_size, r.total_size, r.indexes_size"
	" FROM relations AS r LEFT JOIN w ON w.dbname = r.dbname AND w.relid = r.relid"
	" WHERE r.kind = 't' AND r.last_seen_us >= ?1"
	" ORDER BY 6 DESC, 5 DESC, r.total_size DESC, r.dbname, r.schemaname, r.relname"
	" LIMIT ?2";

/* Indexes seen in the window, neither unique nor primary key, without a
 * sample row that scanned them in it; observed: from the window's start
 * (or the index's first sighting) to the database's last interval. */
static const char unused_sql[] =
	"SELECT r.dbname, r.schemaname, r.relname, tb.relname, r.relid, r.relation_size,"
	" r.indexdef, max(0, coalesce((SELECT max(i.end_us) FROM sample_intervals AS i"
	"  WHERE i.dbname = r.dbname AND i.end_us >= ?1), 0) - max(r.first_seen_us, ?1))"
	"  / 1000000"
	" FROM relations AS r"
	" LEFT JOIN relations AS tb ON tb.dbname = r.dbname AND tb.relid = r.table_relid"
	" WHERE r.kind = 'i' AND r.is_unique = 0 AND r.is_primary = 0 AND r.last_seen_us >= ?1"
	" AND NOT EXISTS (SELECT 1 FROM index_samples AS x"
	"  JOIN sample_intervals AS i ON i.id = x.interval_id"
	"  WHERE x.relid = r.relid AND i.dbname = r.dbname AND i.end_us >= ?1"
	"  AND x.idx_scan > 0)"
	" ORDER BY r.relation_size DESC, r.dbname, r.schemaname, r.relname LIMIT ?2";

static const char usage_line[] =
	"usage: pglifeguard-cli [-s STORE] tables [--since DURATION] [--limit N] [--json]\n";

static const char *text(sqlite3_stmt *st, int col)
{
	const char *s = (const char *)sqlite3_column_text(st, col);
	return s ? s : "";
}

/* qualified prints schema.name into BUF. */
static const char *qualified(char *buf, size_t size, const char *schema, const char *name)
{
	snprintf(buf, size, "%s.%s", schema, name);
	return buf;
}

/* human prints BYTES with a binary unit into BUF. */
static const char *human(char *buf, size_t size, long long bytes)
{
	static const char *const units[] = {"B", "kB", "MB", "GB", "TB"};
	double v = (double)bytes;
	int u = 0;
	while (v >= 1024.0 && u < 4) {
		v /= 1024.0;
		u++;
	}
	snprintf(buf, size, u ? "%.1f %s" : "%.0f %s", v, units[u]);
	return buf;
}

static void json_int_or_null(sqlite3_stmt *st, int col)
{
	if (sqlite3_column_type(st, col) == SQLITE_NULL)
		fputs("null", stdout);
	else
		printf("%lld", (long long)sqlite3_column_int64(st, col));
}

static int print_tables(sqlite3_stmt *st, bool json)
{
	static const char *const counters[] = {"seq_scan",      "seq_tup_read", "idx_scan",
					       "idx_tup_fetch", "n_tup_ins",    "n_tup_upd",
					       "n_tup_del",     "n_tup_hot_upd"};
	static const char *const gauges[] = {"n_live_tup", "n_dead_tup", "relation_size",
					     "total_size", "indexes_size"};
	int step, n = 0;
	if (json)
		fputs("\"tables\": [", stdout);
	else
		printf("%10s %14s %10s %12s %10s %10s %10s  %-12s %s\n", "seq_scan", "seq_tup_read",
		       "idx_scan", "writes", "live", "dead", "total_size", "database", "table");
	while ((step = sqlite3_step(st)) == SQLITE_ROW) {
		if (json) {
			printf("%s\n  {\"database\": ", n ? "," : "");
			cli_json_string(stdout, text(st, 0));
			fputs(", \"schema\": ", stdout);
			cli_json_string(stdout, text(st, 1));
			fputs(", \"table\": ", stdout);
			cli_json_string(stdout, text(st, 2));
			printf(", \"relid\": %lld", (long long)sqlite3_column_int64(st, 3));
			for (int i = 0; i < 8; i++)
				printf(", \"%s\": %lld", counters[i],
				       (long long)sqlite3_column_int64(st, 4 + i));
			for (int i = 0; i < 5; i++) {
				printf(", \"%s\": ", gauges[i]);
				json_int_or_null(st, 12 + i);
			}
			putchar('}');
		} else {
			char name[256], size[32];
			long long writes = sqlite3_column_int64(st, 8) +
					   sqlite3_column_int64(st, 9) +
					   sqlite3_column_int64(st, 10);
			printf("%10lld %14lld %10lld %12lld %10lld %10lld %10s  %-12s %s\n",
			       (long long)sqlite3_column_int64(st, 4),
			       (long long)sqlite3_column_int64(st, 5),
			       (long long)sqlite3_column_int64(st, 6), writes,
			       (long long)sqlite3_column_int64(st, 12),
			       (long long)sqlite3_column_int64(st, 13),
			       human(size, sizeof(size), sqlite3_column_int64(st, 15)), text(st, 0),
			       qualified(name, sizeof(name), text(st, 1), text(st, 2)));
		}
		n++;
	}
	if (step != SQLITE_DONE)
		return -1;
	if (json)
		printf("%s]", n ? "\n" : "");
	else if (!n)
		puts("(no table sampled in the window)");
	return 0;
}

static int print_unused(sqlite3_stmt *st, bool json)
{
	int step, n = 0;
	if (json)
		fputs(", \"unused_indexes\": [", stdout);
	else
		printf("\nindexes not scanned in the window (not unique, not primary key):\n"
		       "%10s %10s  %-12s %-30s %s\n",
		       "size", "observed", "database", "index", "table");
	while ((step = sqlite3_step(st)) == SQLITE_ROW) {
		if (json) {
			printf("%s\n  {\"database\": ", n ? "," : "");
			cli_json_string(stdout, text(st, 0));
			fputs(", \"schema\": ", stdout);
			cli_json_string(stdout, text(st, 1));
			fputs(", \"index\": ", stdout);
			cli_json_string(stdout, text(st, 2));
			fputs(", \"table\": ", stdout);
			cli_json_string(stdout, text(st, 3));
			printf(", \"relid\": %lld, \"size\": ",
			       (long long)sqlite3_column_int64(st, 4));
			json_int_or_null(st, 5);
			fputs(", \"indexdef\": ", stdout);
			cli_json_string(stdout, text(st, 6));
			printf(", \"observed_seconds\": %lld}",
			       (long long)sqlite3_column_int64(st, 7));
		} else {
			char name[256], table[256], size[32], seen[32];
			snprintf(seen, sizeof(seen), "%llds",
				 (long long)sqlite3_column_int64(st, 7));
			printf("%10s %10s  %-12s %-30s %s\n",
			       human(size, sizeof(size), sqlite3_column_int64(st, 5)), seen,
			       text(st, 0), qualified(name, sizeof(name), text(st, 1), text(st, 2)),
			       qualified(table, sizeof(table), text(st, 1), text(st, 3)));
		}
		n++;
	}
	if (step != SQLITE_DONE)
		return -1;
	if (json)
		printf("%s]", n ? "\n" : "");
	else if (!n)
		puts("(none)");
	return 0;
}

int cli_tables(const char *store_path, int argc, char **argv)
{
	usec_t since = 3600 * USEC_PER_SEC;
	long limit = 20;
	bool json = false;
	int opt = cli_window_options("tables", usage_line, argc, argv, &since, &limit, &json);
	if (opt >= 0)
		return opt;
	struct store *store = cli_open_store(store_path);
	if (!store)
		return CLI_STORE;
	sqlite3 *db = store_db(store);
	usec_t from = timeutil_wall() - since;
	sqlite3_stmt *tb = NULL, *ix = NULL;
	int rc = CLI_STORE;
	long long intervals, lost;
	if (sqlite3_prepare_v2(db, tables_sql, -1, &tb, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(db, unused_sql, -1, &ix, NULL) != SQLITE_OK ||
	    cli_window_intervals(db, from, &intervals, &lost) < 0)
		goto fail;
	sqlite3_bind_int64(tb, 1, from);
	sqlite3_bind_int64(tb, 2, limit);
	sqlite3_bind_int64(ix, 1, from);
	sqlite3_bind_int64(ix, 2, limit);
	if (json)
		printf("{\"since_seconds\": %lld, \"intervals\": %lld, \"lost_data_intervals\": "
		       "%lld, ",
		       (long long)(since / USEC_PER_SEC), intervals, lost);
	if (print_tables(tb, json) < 0 || print_unused(ix, json) < 0)
		goto fail;
	if (json)
		puts("}");
	rc = CLI_OK;
	goto done;
fail:
	fflush(stdout);
	fprintf(stderr, "pglifeguard-cli: cannot read store %s: %s\n", store_path,
		sqlite3_errmsg(db));
done:
	sqlite3_finalize(tb);
	sqlite3_finalize(ix);
	store_close(store);
	return rc;
}
